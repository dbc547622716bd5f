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
//!
//! Once every release of the first snapshot with HelmReleases was checked, a message is sent
//! even when no mark changed (an empty map): the marks shown are then complete.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::actions::diffs::fetch_sources;
use crate::actions::history::newest_record;
use crate::actions::writer::Reader;
use crate::app::msg::Msg;
use crate::domain::flux::{self as names, FluxObject, HelmRelease, ObjectKey};
use crate::domain::helm_storage::config_digest;
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
        let Some(record) = newest_record(self, storage_namespace, release, "status=deployed")
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        Ok(Some(Deployed {
            revision: record.meta.version,
            config: record.release()?.config.clone(),
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
    /// The releases with a `due` time, soonest first.
    queue: BTreeSet<(Instant, ObjectKey)>,
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
            queue: BTreeSet::new(),
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
        let mut changed = Vec::new();
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
                        changed.push(key.clone());
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
                            due: None,
                            running: false,
                            cached: None,
                            reported: None,
                        },
                    );
                    changed.push(key.clone());
                }
            }
        }
        let gone: Vec<ObjectKey> = self
            .entries
            .keys()
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for key in changed {
            self.schedule(&key, Some(now));
        }
        for key in gone {
            self.schedule(&key, None);
            if let Some(e) = self.entries.remove(&key)
                && e.reported.is_some()
            {
                self.delta.insert(key, None);
            }
        }
    }

    /// Set when `key` is checked next (`None`: only when it changes).
    fn schedule(&mut self, key: &ObjectKey, at: Option<Instant>) {
        let Some(e) = self.entries.get_mut(key) else {
            return;
        };
        if let Some(old) = e.due.take() {
            self.queue.remove(&(old, key.clone()));
        }
        e.due = at;
        if let Some(at) = at {
            self.queue.insert((at, key.clone()));
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
        // Changed while it was checked: due again already.
        let next = if e.due.is_some() {
            None
        } else if matches!(verdict, Verdict::Unknown(_)) {
            // Tried again a period later (or when it changes).
            Some(now + period)
        } else if e.has_refs {
            Some(next_periodic)
        } else {
            None
        };
        if let Verdict::Unknown(problem) = &verdict
            && self.logged.len() < LOGGED_PROBLEMS
            && self.logged.insert(problem.clone())
        {
            tracing::warn!(release = %done.key, problem = %problem, "cannot tell whether values are pending");
        }
        if let Some(c) = done.checked.compared {
            e.cached = Some((c, verdict.clone()));
        }
        let pending = verdict.pending();
        if pending != e.reported {
            e.reported = pending;
            self.delta.insert(done.key.clone(), pending);
        }
        if next.is_some() {
            self.schedule(&done.key, next);
        }
    }

    /// Releases to check now, soonest due first, at most `room`.
    fn take_due(&mut self, room: usize) -> Vec<Job> {
        let now = Instant::now();
        let keys: Vec<(Instant, ObjectKey)> = self
            .queue
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter(|(_, k)| self.entries.get(k).is_some_and(|e| !e.running))
            .take(room)
            .cloned()
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for (at, key) in keys {
            self.queue.remove(&(at, key.clone()));
            if let Some(e) = self.entries.get_mut(&key) {
                e.running = true;
                e.due = None;
                out.push((key, e.hr.clone(), e.cached.clone()));
            }
        }
        out
    }

    /// Whether no release is due now.
    fn nothing_due(&self) -> bool {
        let now = Instant::now();
        self.next_due().is_none_or(|d| d > now)
    }

    /// When the next release that is not being checked falls due (`None`: none is
    /// scheduled).
    fn next_due(&self) -> Option<Instant> {
        self.queue
            .iter()
            .find(|(_, k)| self.entries.get(k).is_some_and(|e| !e.running))
            .map(|(at, _)| *at)
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
    let mut first_pass = false;
    loop {
        for (key, hr, cached) in checker.take_due(checker.options.concurrency - running.len()) {
            let cluster = cluster.clone();
            running.spawn(async move {
                let checked = check(&cluster, &hr, cached.as_ref()).await;
                Done { key, checked }
            });
        }
        let idle = running.is_empty();
        let delta = if !first_pass && idle && checker.stats.checks > 0 && checker.nothing_due() {
            // The first pass is done: said once, even when nothing is pending.
            first_pass = true;
            checker.last_flush = Instant::now();
            Some(std::mem::take(&mut checker.delta))
        } else {
            checker.take_delta(idle)
        };
        if let Some(delta) = delta
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;

    /// A cluster in memory that counts what is read.
    #[derive(Clone, Default)]
    struct Fake {
        sources: Sources,
        deployed: Option<Result<Option<Deployed>, String>>,
        source_reads: Arc<AtomicUsize>,
        storage_reads: Arc<AtomicUsize>,
    }

    impl Cluster for Fake {
        async fn sources(&self, _hr: &HelmRelease) -> Result<Sources, String> {
            self.source_reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.sources.clone())
        }

        async fn deployed(&self, _ns: &str, _release: &str) -> Result<Option<Deployed>, String> {
            self.storage_reads.fetch_add(1, Ordering::SeqCst);
            self.deployed.clone().unwrap_or(Ok(None))
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    /// A HelmRelease with these inline values and valuesFrom, deployed at revision 3 with
    /// this configDigest in its history.
    fn hr(values: Value, values_from: Value, digest: Option<&str>) -> HelmRelease {
        let mut v = json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "api", "namespace": "apps", "generation": 2},
            "spec": {"interval": "10m", "values": values, "valuesFrom": values_from},
            "status": {"history": [
                {"name": "api", "namespace": "apps", "version": 4, "status": "failed",
                 "chartName": "api", "chartVersion": "1.0.0", "digest": "",
                 "configDigest": "sha256:failed"},
                {"name": "api", "namespace": "apps", "version": 3, "status": "deployed",
                 "chartName": "api", "chartVersion": "1.0.0", "digest": ""}
            ]}
        });
        if let Some(d) = digest {
            v["status"]["history"][1]["configDigest"] = json!(d);
        }
        serde_json::from_value(v).unwrap()
    }

    fn deployed(config: Value) -> Option<Result<Option<Deployed>, String>> {
        Some(Ok(Some(Deployed {
            revision: 3,
            config: map(config),
        })))
    }

    #[tokio::test]
    async fn equal_digests_are_in_sync_without_reading_storage() {
        let values = json!({"replicaCount": 2, "image": {"tag": "1.0"}});
        let digest = config_digest(&map(values.clone()));
        let fake = Fake {
            deployed: deployed(json!({"replicaCount": 9})),
            ..Fake::default()
        };
        let c = check(&fake, &hr(values, json!([]), Some(&digest)), None).await;
        assert_eq!(c.verdict, Verdict::InSync);
        assert!(!c.read_storage);
        assert_eq!(c.requests, 0);
        assert_eq!(fake.storage_reads.load(Ordering::SeqCst), 0);
        assert_eq!(fake.source_reads.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_digest_mismatch_is_compared_structurally() {
        // The controller's digest (go-yaml) differs from ours, the values are the same: in
        // sync, numbers equal by value.
        let fake = Fake {
            deployed: deployed(json!({"replicaCount": 2.0})),
            ..Fake::default()
        };
        let h = hr(
            json!({"replicaCount": 2}),
            json!([]),
            Some("sha256:go-yaml"),
        );
        let c = check(&fake, &h, None).await;
        assert_eq!(c.verdict, Verdict::InSync);
        assert!(c.read_storage);
        assert_eq!(c.requests, 1);
        let compared = c.compared.unwrap();
        assert_eq!(compared.deployed, Some((3, Some("sha256:go-yaml".into()))));
        assert_eq!(compared.release, "api");
        assert_eq!(compared.storage_namespace, "apps");

        // Different values: pending against the deployed revision.
        let fake = Fake {
            deployed: deployed(json!({"replicaCount": 3})),
            ..Fake::default()
        };
        let c = check(&fake, &h, None).await;
        assert_eq!(c.verdict, Verdict::Pending { revision: 3 });
        assert_eq!(c.verdict.pending(), Some(3));

        // The same comparison again reuses the verdict: no storage read.
        let cached = (c.compared.clone().unwrap(), c.verdict.clone());
        let again = check(&fake, &h, Some(&cached)).await;
        assert_eq!(again.verdict, Verdict::Pending { revision: 3 });
        assert!(!again.read_storage);
        assert_eq!(fake.storage_reads.load(Ordering::SeqCst), 1);

        // Other desired values: compared again.
        let h2 = hr(
            json!({"replicaCount": 3}),
            json!([]),
            Some("sha256:go-yaml"),
        );
        let c = check(&fake, &h2, Some(&cached)).await;
        assert_eq!(c.verdict, Verdict::InSync);
        assert_eq!(fake.storage_reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn no_deployed_entry_reads_storage_and_no_record_is_not_deployed() {
        let fake = Fake::default();
        let c = check(&fake, &hr(json!({"a": 1}), json!([]), None), None).await;
        assert_eq!(c.verdict, Verdict::NotDeployed);
        assert!(c.read_storage);
        assert_eq!(c.verdict.pending(), None);
    }

    #[tokio::test]
    async fn a_compose_error_is_unknown_and_reads_no_storage() {
        let fake = Fake {
            deployed: deployed(json!({"a": 2})),
            ..Fake::default()
        };
        let h = hr(
            json!({"a": 1}),
            json!([{"kind": "ConfigMap", "name": "missing"}]),
            Some("sha256:x"),
        );
        let c = check(&fake, &h, None).await;
        let Verdict::Unknown(problem) = &c.verdict else {
            panic!("{:?}", c.verdict)
        };
        assert!(problem.contains("missing"), "{problem}");
        assert_eq!(c.verdict.pending(), None);
        assert!(!c.read_storage);
        assert_eq!(fake.storage_reads.load(Ordering::SeqCst), 0);
        assert_eq!(fake.source_reads.load(Ordering::SeqCst), 1);
        assert_eq!(c.requests, 1);
    }

    #[tokio::test]
    async fn a_forbidden_storage_read_is_unknown_and_not_reused() {
        let fake = Fake {
            deployed: Some(Err(
                "forbidden: cannot list secrets in namespace apps".into()
            )),
            ..Fake::default()
        };
        let h = hr(json!({"a": 1}), json!([]), Some("sha256:x"));
        let c = check(&fake, &h, None).await;
        assert!(matches!(c.verdict, Verdict::Unknown(_)));
        let cached = (c.compared.clone().unwrap(), c.verdict.clone());
        let _ = check(&fake, &h, Some(&cached)).await;
        assert_eq!(fake.storage_reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn values_from_a_config_map_are_composed_before_comparing() {
        let mut sources = Sources::default();
        sources.config_maps.insert(
            "api-values".into(),
            [("values.yaml".to_string(), "replicaCount: 4\n".to_string())].into(),
        );
        let fake = Fake {
            sources,
            deployed: deployed(json!({"replicaCount": 2, "debug": true})),
            ..Fake::default()
        };
        let h = hr(
            json!({"debug": true}),
            json!([{"kind": "ConfigMap", "name": "api-values"}]),
            Some(&config_digest(&map(
                json!({"replicaCount": 2, "debug": true}),
            ))),
        );
        let c = check(&fake, &h, None).await;
        assert_eq!(c.verdict, Verdict::Pending { revision: 3 });
        assert_eq!(c.requests, 2);
    }

    #[test]
    fn the_deployed_entry_is_the_newest_deployed_one() {
        let h = hr(json!({}), json!([]), Some("sha256:d"));
        assert_eq!(deployed_entry(&h), Some((3, Some("sha256:d".into()))));
        let mut none = h.clone();
        none.status = None;
        assert_eq!(deployed_entry(&none), None);
        // Empty desired values and an empty deployed digest: in sync at once.
        let empty = hr(json!({}), json!([]), Some(&config_digest(&Map::new())));
        assert_eq!(quick(&empty, &Map::new()), None);
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey::flux(crate::domain::flux::FluxKind::HelmRelease, "apps", name)
    }

    #[tokio::test]
    async fn periodic_checks_fall_at_each_release_phase() {
        let period = Duration::from_secs(60);
        let checker = Checker::new(CheckOptions {
            period,
            concurrency: 4,
        });
        let mut seconds = HashSet::new();
        for i in 0..50 {
            let k = key(&format!("r{i}"));
            let at = checker.start + Duration::from_secs(7);
            let due = checker.periodic(&k, at);
            assert!(due >= at + period / 2, "{i}");
            assert!(due < at + period * 3 / 2, "{i}");
            // The same phase each period.
            let later = checker.periodic(&k, due);
            assert_eq!(later - due, period);
            seconds.insert((due - checker.start).as_secs() % 60);
        }
        assert!(seconds.len() > 20, "spread over the period: {seconds:?}");
    }

    fn snapshot(hrs: &[(&str, HelmRelease)]) -> Snapshot {
        let mut s = Snapshot::new(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        for (name, h) in hrs {
            let mut h = h.clone();
            h.metadata.name = Some((*name).to_string());
            s.insert_flux(FluxObject::HelmRelease(Arc::new(h)));
        }
        s
    }

    #[tokio::test]
    async fn the_checker_reschedules_only_what_changed_and_clears_gone_marks() {
        let mut checker = Checker::new(CheckOptions::default());
        let plain = hr(json!({"a": 1}), json!([]), Some("sha256:x"));
        let from = hr(
            json!({}),
            json!([{"kind": "ConfigMap", "name": "v"}]),
            Some("sha256:x"),
        );
        let snap = snapshot(&[("plain", plain.clone()), ("from", from.clone())]);
        checker.on_snapshot(&snap);
        let jobs = checker.take_due(1);
        assert_eq!(jobs.len(), 1, "bounded by the room given");
        let mut jobs2 = checker.take_due(4);
        jobs2.extend(jobs);
        assert_eq!(jobs2.len(), 2);
        assert!(
            checker.take_due(4).is_empty(),
            "running ones are not taken again"
        );
        for (k, _, _) in jobs2 {
            checker.on_done(Done {
                key: k,
                checked: Checked {
                    verdict: Verdict::Pending { revision: 3 },
                    compared: None,
                    requests: 1,
                    read_storage: true,
                },
            });
        }
        let delta = checker.take_delta(true).unwrap();
        assert_eq!(delta.values().collect::<Vec<_>>(), [&Some(3), &Some(3)]);
        // Without valuesFrom: checked again only when it changes; with: periodically.
        assert!(checker.entries[&key("plain")].due.is_none());
        assert!(checker.entries[&key("from")].due.is_some());

        // The same objects again (a status-only change): nothing is due.
        let mut touched = plain.clone();
        touched.metadata.resource_version = Some("99".into());
        checker.on_snapshot(&snapshot(&[("plain", touched), ("from", from.clone())]));
        assert!(checker.take_due(4).is_empty());

        // A new generation: due now.
        let mut changed = plain.clone();
        changed.metadata.generation = Some(3);
        checker.on_snapshot(&snapshot(&[("plain", changed), ("from", from)]));
        let jobs = checker.take_due(4);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].0, key("plain"));

        // Gone: its mark goes.
        checker.on_snapshot(&snapshot(&[("plain", plain)]));
        let delta = checker.take_delta(true).unwrap();
        assert_eq!(delta, BTreeMap::from([(key("from"), None)]));
        assert_eq!(checker.stats.checks, 2);
        assert_eq!(checker.stats.storage_reads, 2);
    }

    #[tokio::test]
    async fn unknown_is_never_marked_and_is_tried_again_a_period_later() {
        let mut checker = Checker::new(CheckOptions::default());
        let plain = hr(json!({"a": 1}), json!([]), Some("sha256:x"));
        checker.on_snapshot(&snapshot(&[("plain", plain)]));
        let jobs = checker.take_due(4);
        checker.on_done(Done {
            key: jobs[0].0.clone(),
            checked: Checked {
                verdict: Verdict::Unknown("forbidden".into()),
                compared: None,
                requests: 1,
                read_storage: true,
            },
        });
        assert!(checker.take_delta(true).is_none(), "no mark, no message");
        let due = checker.entries[&key("plain")].due.unwrap();
        let wait = due - Instant::now();
        assert!(
            wait > DEFAULT_PERIOD / 2 && wait <= DEFAULT_PERIOD,
            "{wait:?}"
        );
        assert_eq!(checker.logged.len(), 1);
    }
}
