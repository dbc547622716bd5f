//! The `values pending` check: for each HelmRelease of the current snapshot, whether the
//! values helm-controller would pass to Helm now (`spec.values` plus `valuesFrom`, composed
//! with [`values::compose`]) differ from the `config` of the deployed release.
//!
//! It runs in a task of its own, fed the executor's snapshots, and answers with
//! [`Msg::ValuesPending`] deltas; nothing of it runs on the UI task. Cheap first:
//!
//! 1. Compose the desired values (reading the ConfigMaps and Secrets `valuesFrom` names; a
//!    HelmRelease without `valuesFrom` costs no request).
//! 2. If their digest equals the `configDigest` of the deployed entry of `status.history`,
//!    the release is in sync: no storage record is read.
//! 3. Otherwise read the deployed storage record (label selector
//!    `owner=helm,name=<release>,status=deployed` in the storage namespace, the newest one
//!    decoded) and compare structurally with [`values::same`]. The real controller's digests
//!    come from go-yaml and need not match ours byte for byte, so a digest mismatch alone never
//!    marks a release.
//!
//! A release is checked again when what the comparison depends on changes (its generation,
//! the deployed entry of its history, its release name or storage namespace), and, when it
//! has `valuesFrom`, periodically (an edited ConfigMap does not touch the HelmRelease), each
//! release at its own phase of the period so the requests spread out. The verdict of a
//! structural comparison is kept with what was compared, so an unchanged release costs no
//! storage read. At most [`CheckOptions::concurrency`] releases are checked at once, each
//! sending one request at a time. A release that cannot be checked (forbidden, a missing
//! reference, a corrupt record) is unknown: it never gets the mark, and each distinct
//! problem is logged once. Only GETs and LISTs are sent, so read-only sessions check too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::actions::diffs::fetch_sources;
use crate::actions::writer::Reader;
use crate::app::msg::Msg;
use crate::domain::flux::{self as names, FluxObject, HelmRelease, ObjectKey};
use crate::domain::helm_history::meta_from_labels;
use crate::domain::helm_storage::{config_digest, decode_release};
use crate::domain::tree::Snapshot;
use crate::domain::values::{self, Sources};

/// How often releases with `valuesFrom` are checked again.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);
/// Releases checked at once (each sends one request at a time).
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Deltas found while checks are still running are sent at least this often.
const FLUSH: Duration = Duration::from_millis(250);
/// Distinct problems remembered for logging once (beyond that, new ones are not logged).
const LOGGED_PROBLEMS: usize = 1000;

/// How the check runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Period of the re-check of releases with `valuesFrom`.
    pub period: Duration,
    /// Releases checked at once.
    pub concurrency: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            period: DEFAULT_PERIOD,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// The outcome of checking one HelmRelease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The desired values equal the deployed `config`.
    InSync,
    /// The desired values differ from the `config` of this deployed revision.
    Pending { revision: i64 },
    /// No release record is deployed (never installed, or every attempt failed).
    NotDeployed,
    /// Cannot tell (a request failed or was forbidden, a reference is missing, a record is
    /// corrupt): never marked.
    Unknown(String),
}

impl Verdict {
    /// The deployed revision the desired values differ from, when they do.
    pub fn pending(&self) -> Option<i64> {
        match self {
            Verdict::Pending { revision } => Some(*revision),
            _ => None,
        }
    }

    /// Whether the same comparison gives the same verdict (not so for a failed read).
    fn reusable(&self) -> bool {
        !matches!(self, Verdict::Unknown(_))
    }
}

/// The deployed record as read from storage.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployed {
    pub revision: i64,
    pub config: Map<String, Value>,
}

/// What a structural comparison was made of: the same inputs give the same verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compared {
    /// Digest of the desired values.
    pub desired: String,
    /// The deployed entry of `status.history` (version, configDigest), if any.
    pub deployed: Option<(i64, Option<String>)>,
    pub release: String,
    pub storage_namespace: String,
}

/// A check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub verdict: Verdict,
    /// What a structural comparison was made of (`None` when none was made).
    pub compared: Option<Compared>,
    /// Requests sent.
    pub requests: usize,
    /// Whether the deployed storage record was read.
    pub read_storage: bool,
}

/// What the check reads from the cluster.
pub trait Cluster: Clone + Send + Sync + 'static {
    /// The ConfigMaps and Secrets the HelmRelease's `valuesFrom` names (those that exist).
    fn sources(&self, hr: &HelmRelease) -> impl Future<Output = Result<Sources, String>> + Send;

    /// The newest record with status `deployed` of `release` in `storage_namespace`;
    /// `Ok(None)` when there is none.
    fn deployed(
        &self,
        storage_namespace: &str,
        release: &str,
    ) -> impl Future<Output = Result<Option<Deployed>, String>> + Send;
}

impl Cluster for Reader {
    async fn sources(&self, hr: &HelmRelease) -> Result<Sources, String> {
        fetch_sources(self, hr).await.map_err(|e| e.to_string())
    }

    async fn deployed(
        &self,
        storage_namespace: &str,
        release: &str,
    ) -> Result<Option<Deployed>, String> {
        let selector = format!("owner=helm,name={release},status=deployed");
        let secrets = self
            .list_secrets(storage_namespace, &selector)
            .await
            .map_err(|e| e.to_string())?;
        // Only the newest is decoded.
        let newest = secrets
            .into_iter()
            .filter_map(|s| {
                let name = s.metadata.name.clone().unwrap_or_default();
                let labels = s.metadata.labels.clone().unwrap_or_default();
                meta_from_labels(&name, &labels, release).map(|m| (m, s))
            })
            .max_by_key(|(m, _)| m.version);
        let Some((meta, secret)) = newest else {
            return Ok(None);
        };
        let data = secret
            .data
            .as_ref()
            .and_then(|d| d.get("release"))
            .ok_or_else(|| format!("{} has no data.release", meta.secret))?;
        let rel = decode_release(&data.0).map_err(|e| format!("{}: {e}", meta.secret))?;
        Ok(Some(Deployed {
            revision: meta.version,
            config: rel.config,
        }))
    }
}

/// The deployed entry of `status.history` (the newest with status `deployed`): its version
/// and `configDigest`.
pub fn deployed_entry(hr: &HelmRelease) -> Option<(i64, Option<String>)> {
    hr.status
        .as_ref()?
        .history
        .iter()
        .filter(|s| s.status == "deployed")
        .max_by_key(|s| s.version)
        .map(|s| (s.version, s.config_digest.clone()))
}

/// The first, cheap step: the desired values' digest against the deployed entry's. `None`
/// when the digests are equal (in sync, nothing to read); otherwise what a structural
/// comparison has to be made of.
pub fn quick(hr: &HelmRelease, desired: &Map<String, Value>) -> Option<Compared> {
    let digest = config_digest(desired);
    let deployed = deployed_entry(hr);
    if let Some((_, Some(d))) = &deployed
        && *d == digest
    {
        return None;
    }
    Some(Compared {
        desired: digest,
        deployed,
        release: names::release_name(hr),
        storage_namespace: names::storage_namespace(hr),
    })
}

/// The structural comparison of the desired values with the deployed record.
pub fn compare(desired: &Map<String, Value>, deployed: Option<&Deployed>) -> Verdict {
    match deployed {
        None => Verdict::NotDeployed,
        Some(d) => {
            let same = values::same(
                &Value::Object(desired.clone()),
                &Value::Object(d.config.clone()),
            );
            if same {
                Verdict::InSync
            } else {
                Verdict::Pending {
                    revision: d.revision,
                }
            }
        }
    }
}

/// Check one HelmRelease. `cached` is the previous structural comparison of this release and
/// its verdict: when the comparison would be made of the same inputs, its verdict is reused
/// and no storage record is read.
pub async fn check<C: Cluster>(
    cluster: &C,
    hr: &HelmRelease,
    cached: Option<&(Compared, Verdict)>,
) -> Checked {
    let mut requests = 0;
    let refs = values::references(hr);
    let sources = if refs.is_empty() {
        Sources::default()
    } else {
        requests += refs.len();
        match cluster.sources(hr).await {
            Ok(s) => s,
            Err(e) => {
                return Checked {
                    verdict: Verdict::Unknown(e),
                    compared: None,
                    requests,
                    read_storage: false,
                };
            }
        }
    };
    let namespace = hr.metadata.namespace.as_deref().unwrap_or_default();
    let desired = match values::compose(namespace, hr, &sources) {
        Ok(c) => c.values,
        Err(e) => {
            return Checked {
                verdict: Verdict::Unknown(e),
                compared: None,
                requests,
                read_storage: false,
            };
        }
    };
    let Some(compared) = quick(hr, &desired) else {
        return Checked {
            verdict: Verdict::InSync,
            compared: None,
            requests,
            read_storage: false,
        };
    };
    if let Some((c, v)) = cached
        && *c == compared
        && v.reusable()
    {
        return Checked {
            verdict: v.clone(),
            compared: Some(compared),
            requests,
            read_storage: false,
        };
    }
    requests += 1;
    let verdict = match cluster
        .deployed(&compared.storage_namespace, &compared.release)
        .await
    {
        Ok(d) => compare(&desired, d.as_ref()),
        Err(e) => Verdict::Unknown(e),
    };
    Checked {
        verdict,
        compared: Some(compared),
        requests,
        read_storage: true,
    }
}

/// What a release's check depends on besides its `valuesFrom` sources: when it changes, the
/// release is checked again.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint {
    generation: Option<i64>,
    deployed: Option<(i64, Option<String>)>,
    release: String,
    storage_namespace: String,
}

impl Fingerprint {
    fn of(hr: &HelmRelease) -> Fingerprint {
        Fingerprint {
            generation: hr.metadata.generation,
            deployed: deployed_entry(hr),
            release: names::release_name(hr),
            storage_namespace: names::storage_namespace(hr),
        }
    }
}

/// A release to check: its key, the object and its previous comparison.
type Job = (ObjectKey, Arc<HelmRelease>, Option<(Compared, Verdict)>);

/// One release as the checker knows it.
struct Entry {
    hr: Arc<HelmRelease>,
    fingerprint: Fingerprint,
    has_refs: bool,
    /// When to check next (`None`: only when it changes).
    due: Option<Instant>,
    running: bool,
    /// The last structural comparison and its verdict.
    cached: Option<(Compared, Verdict)>,
    /// The deployed revision the mark was last reported against.
    reported: Option<i64>,
}

/// Counters of the checker (for the benchmark and the log).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub checks: u64,
    pub requests: u64,
    pub storage_reads: u64,
}

/// The state of the check of one cluster and namespace.
struct Checker {
    options: CheckOptions,
    start: Instant,
    entries: HashMap<ObjectKey, Entry>,
    /// Marks changed since the last message.
    delta: BTreeMap<ObjectKey, Option<i64>>,
    last_flush: Instant,
    logged: HashSet<String>,
    stats: Stats,
}

/// A finished check.
struct Done {
    key: ObjectKey,
    checked: Checked,
}

impl Checker {
    fn new(options: CheckOptions) -> Checker {
        let now = Instant::now();
        Checker {
            options: CheckOptions {
                period: options.period.max(Duration::from_millis(10)),
                concurrency: options.concurrency.max(1),
            },
            start: now,
            entries: HashMap::new(),
            delta: BTreeMap::new(),
            last_flush: now,
            logged: HashSet::new(),
            stats: Stats::default(),
        }
    }

    /// Take in the HelmReleases of a new snapshot: new and changed ones are due now, gone
    /// ones lose their mark.
    fn on_snapshot(&mut self, snap: &Snapshot) {
        let now = Instant::now();
        let mut seen = HashSet::with_capacity(self.entries.len());
        for (key, obj) in &snap.flux {
            let FluxObject::HelmRelease(hr) = &**obj else {
                continue;
            };
            seen.insert(key);
            match self.entries.get_mut(key) {
                Some(e) if Arc::ptr_eq(&e.hr, hr) => {}
                Some(e) => {
                    let fingerprint = Fingerprint::of(hr);
                    let has_refs = !hr.spec.values_from.is_empty();
                    if fingerprint != e.fingerprint
                        || has_refs != e.has_refs
                        || e.hr.spec != hr.spec
                    {
                        e.due = Some(now);
                    }
                    e.hr = hr.clone();
                    e.fingerprint = fingerprint;
                    e.has_refs = has_refs;
                }
                None => {
                    self.entries.insert(
                        key.clone(),
                        Entry {
                            hr: hr.clone(),
                            fingerprint: Fingerprint::of(hr),
                            has_refs: !hr.spec.values_from.is_empty(),
                            due: Some(now),
                            running: false,
                            cached: None,
                            reported: None,
                        },
                    );
                }
            }
        }
        let gone: Vec<ObjectKey> = self
            .entries
            .keys()
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(e) = self.entries.remove(&key)
                && e.reported.is_some()
            {
                self.delta.insert(key, None);
            }
        }
    }

    /// The next periodic check of `key` after a check at `at`: at the release's own phase of
    /// the period, at least half a period later (so releases spread over the period).
    fn periodic(&self, key: &ObjectKey, at: Instant) -> Instant {
        let period = self.options.period.as_nanos().max(1);
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        let phase = u128::from(h.finish()) % period;
        let earliest = (at + self.options.period / 2)
            .saturating_duration_since(self.start)
            .as_nanos();
        let n = earliest.saturating_sub(phase).div_ceil(period);
        let offset = phase + n * period;
        self.start + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
    }

    fn on_done(&mut self, done: Done) {
        let now = Instant::now();
        self.stats.checks += 1;
        self.stats.requests += done.checked.requests as u64;
        self.stats.storage_reads += u64::from(done.checked.read_storage);
        let next_periodic = self.periodic(&done.key, now);
        let period = self.options.period;
        let Some(e) = self.entries.get_mut(&done.key) else {
            return;
        };
        e.running = false;
        let verdict = done.checked.verdict;
        if let Verdict::Unknown(problem) = &verdict {
            if self.logged.len() < LOGGED_PROBLEMS && self.logged.insert(problem.clone()) {
                tracing::warn!(release = %done.key, problem = %problem, "cannot tell whether values are pending");
            }
            // Tried again a period later (or when it changes).
            if e.due.is_none() {
                e.due = Some(now + period);
            }
        } else if e.due.is_none() && e.has_refs {
            e.due = Some(next_periodic);
        }
        if let Some(c) = done.checked.compared {
            e.cached = Some((c, verdict.clone()));
        }
        let pending = verdict.pending();
        if pending != e.reported {
            e.reported = pending;
            self.delta.insert(done.key, pending);
        }
    }

    /// Releases to check now, oldest due first, at most `room`.
    fn take_due(&mut self, room: usize) -> Vec<Job> {
        if room == 0 {
            return Vec::new();
        }
        let now = Instant::now();
        let mut due: Vec<(Instant, &ObjectKey)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.running)
            .filter_map(|(k, e)| e.due.filter(|d| *d <= now).map(|d| (d, k)))
            .collect();
        if due.len() > room {
            due.select_nth_unstable(room - 1);
            due.truncate(room);
        }
        let keys: Vec<ObjectKey> = due.into_iter().map(|(_, k)| k.clone()).collect();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(e) = self.entries.get_mut(&key) {
                e.running = true;
                e.due = None;
                out.push((key, e.hr.clone(), e.cached.clone()));
            }
        }
        out
    }

    /// When the next release falls due (`None`: none is scheduled).
    fn next_due(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|e| !e.running)
            .filter_map(|e| e.due)
            .min()
    }

    /// The marks changed since the last message, if it is time to send them.
    fn take_delta(&mut self, idle: bool) -> Option<BTreeMap<ObjectKey, Option<i64>>> {
        if self.delta.is_empty() || (!idle && self.last_flush.elapsed() < FLUSH) {
            return None;
        }
        self.last_flush = Instant::now();
        Some(std::mem::take(&mut self.delta))
    }
}

/// The running check; dropping it stops it.
pub struct ValuesCheck {
    snapshots: watch::Sender<Option<Arc<Snapshot>>>,
    task: JoinHandle<()>,
}

impl ValuesCheck {
    /// Start checking with `cluster`; marks arrive on `out` as [`Msg::ValuesPending`].
    pub fn spawn<C: Cluster>(cluster: C, options: CheckOptions, out: mpsc::Sender<Msg>) -> Self {
        let (snapshots, rx) = watch::channel(None);
        let task = tokio::spawn(run(cluster, options, rx, out));
        ValuesCheck { snapshots, task }
    }

    /// The newest snapshot (only the newest is looked at).
    pub fn update(&self, snap: Arc<Snapshot>) {
        self.snapshots.send_replace(Some(snap));
    }
}

impl Drop for ValuesCheck {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run<C: Cluster>(
    cluster: C,
    options: CheckOptions,
    mut snapshots: watch::Receiver<Option<Arc<Snapshot>>>,
    out: mpsc::Sender<Msg>,
) {
    let mut checker = Checker::new(options);
    let mut running: JoinSet<Done> = JoinSet::new();
    let far = Instant::now() + Duration::from_secs(3600 * 24 * 365);
    let mut open = true;
    loop {
        for (key, hr, cached) in checker.take_due(checker.options.concurrency - running.len()) {
            let cluster = cluster.clone();
            running.spawn(async move {
                let checked = check(&cluster, &hr, cached.as_ref()).await;
                Done { key, checked }
            });
        }
        if let Some(delta) = checker.take_delta(running.is_empty())
            && out.send(Msg::ValuesPending(delta)).await.is_err()
        {
            return;
        }
        let wake = if running.len() < checker.options.concurrency {
            checker.next_due().unwrap_or(far)
        } else {
            far
        };
        let flush = if checker.delta.is_empty() {
            far
        } else {
            checker.last_flush + FLUSH
        };
        tokio::select! {
            changed = snapshots.changed(), if open => {
                if changed.is_err() {
                    open = false;
                    continue;
                }
                let snap = snapshots.borrow_and_update().clone();
                if let Some(snap) = snap {
                    checker.on_snapshot(&snap);
                }
            }
            Some(done) = running.join_next(), if !running.is_empty() => {
                match done {
                    Ok(done) => checker.on_done(done),
                    Err(e) => tracing::error!(error = %e, "a values check failed"),
                }
            }
            _ = tokio::time::sleep_until(wake.min(flush)) => {}
        }
        if !open && running.is_empty() && checker.next_due().is_none() {
            tracing::debug!(stats = ?checker.stats, "values check stopped");
            return;
        }
    }
}

/// Check every HelmRelease of `snap` once (`concurrency` at a time) and return each
/// verdict and the counters: one full pass, as the benchmark measures it.
pub async fn check_all<C: Cluster>(
    cluster: &C,
    snap: &Snapshot,
    concurrency: usize,
) -> (BTreeMap<ObjectKey, Verdict>, Stats) {
    let mut stats = Stats::default();
    let mut verdicts = BTreeMap::new();
    let mut running: JoinSet<(ObjectKey, Checked)> = JoinSet::new();
    let mut todo = snap.flux.iter().filter_map(|(k, o)| match &**o {
        FluxObject::HelmRelease(hr) => Some((k.clone(), hr.clone())),
        _ => None,
    });
    loop {
        while running.len() < concurrency.max(1) {
            let Some((key, hr)) = todo.next() else { break };
            let cluster = cluster.clone();
            running.spawn(async move {
                let checked = check(&cluster, &hr, None).await;
                (key, checked)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        if let Ok((key, checked)) = done {
            stats.checks += 1;
            stats.requests += checked.requests as u64;
            stats.storage_reads += u64::from(checked.read_storage);
            verdicts.insert(key, checked.verdict);
        }
    }
    (verdicts, stats)
}
