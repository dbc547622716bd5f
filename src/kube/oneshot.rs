//! Load a complete snapshot once (for `fluxdeck tree`, `status` and `why`): start the
//! watches, wait until each has listed, add the managed objects the inventories name, and
//! return the snapshot. A list that fails (after a few seconds of retries for transient
//! errors), is forbidden or gets no answer in time is an error: a one-shot report never
//! presents what it could not read as an empty or healthy cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::time::Instant;

use super::client::Connection;
use super::cluster::{ClusterWatch, Scope};
use super::discovery::{Discovery, DiscoveryError, Resolved};
use super::watch::{Notifier, WatchKey, WatchState};
use crate::domain::flux::ObjectKind;
use crate::domain::secrets;
use crate::domain::tree::Snapshot;

/// How long a list may keep failing (5xx, timeouts, dropped connections) while the watcher
/// retries it, before the report gives up.
pub const RETRY_LIMIT: Duration = Duration::from_secs(5);
/// How long to wait for a list that gets no answer at all.
pub const LIST_LIMIT: Duration = Duration::from_secs(10);
/// How often the waits look at the watches when nothing wakes them.
const POLL: Duration = Duration::from_millis(200);

/// Why a list could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListFailure {
    /// The server answered 403.
    Forbidden,
    /// The list kept failing for [`RETRY_LIMIT`]; the last error.
    Failed(String),
    /// No answer within [`LIST_LIMIT`].
    NoAnswer,
}

/// One list that could not be read, with what it needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedList {
    /// `helmreleases.helm.toolkit.fluxcd.io` (plural and group; plural alone for core kinds).
    pub resource: String,
    pub namespace: Option<String>,
    /// Whether the kind is namespaced (`false`: cluster-scoped).
    pub namespaced: bool,
    pub failure: ListFailure,
}

impl std::fmt::Display for FailedList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scope = match (&self.namespace, self.namespaced) {
            (_, false) => "(cluster-scoped)".to_string(),
            (Some(ns), true) => format!("in namespace {ns}"),
            (None, true) => "in all namespaces".to_string(),
        };
        match &self.failure {
            ListFailure::Forbidden => write!(
                f,
                "forbidden: cannot list {} {scope} (needs list, watch)",
                self.resource
            ),
            ListFailure::Failed(error) => write!(
                f,
                "cannot list {} {scope}: still failing after {} s: {error}",
                self.resource,
                RETRY_LIMIT.as_secs()
            ),
            ListFailure::NoAnswer => write!(
                f,
                "cannot list {} {scope}: no answer within {} s",
                self.resource,
                LIST_LIMIT.as_secs()
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error("could not read everything the report needs:\n  {}", join(.0))]
    Incomplete(Vec<FailedList>),
}

fn join(failures: &[FailedList]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Every managed (non-Flux) scope named by an inventory in the snapshot, but Secrets, which are
/// never watched.
pub fn inventory_scopes(snap: &Snapshot) -> BTreeSet<Scope> {
    let mut scopes = BTreeSet::new();
    for obj in snap.flux.values() {
        if let Some(inv) = obj.inventory() {
            for r in inv.refs() {
                let kind = ObjectKind::new(&r.group, &r.kind);
                if kind.flux().is_some() || !secrets::is_watchable(&kind) {
                    continue;
                }
                let ns = (!r.namespace.is_empty()).then(|| r.namespace.clone());
                scopes.insert((kind, ns));
            }
        }
    }
    scopes
}

/// What the waits have seen so far.
#[derive(Default)]
struct Progress {
    /// Watches whose first list completed (their store holds the whole list), even if the
    /// watch failed afterwards.
    listed: BTreeSet<WatchKey>,
    /// When each watch was first seen failing.
    failing_since: BTreeMap<WatchKey, Instant>,
}

/// Where one watch stands for a one-shot report.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Listed, or not served (nothing to list).
    Done,
    /// Still listing or retrying.
    Waiting,
    Failed(ListFailure),
}

/// Decide one watch. `failing_for` is how long it has been failing, `waited` how long the
/// wait has run.
fn verdict(
    listed: bool,
    state: &WatchState,
    failing_for: Option<Duration>,
    waited: Duration,
) -> Verdict {
    if listed {
        return Verdict::Done;
    }
    match state {
        WatchState::Connected | WatchState::NotInstalled => Verdict::Done,
        WatchState::Forbidden { .. } => Verdict::Failed(ListFailure::Forbidden),
        WatchState::Connecting if waited >= LIST_LIMIT => Verdict::Failed(ListFailure::NoAnswer),
        WatchState::Connecting => Verdict::Waiting,
        WatchState::Reconnecting { error, .. } => {
            if failing_for.unwrap_or_default() >= RETRY_LIMIT || waited >= LIST_LIMIT {
                Verdict::Failed(ListFailure::Failed(error.clone()))
            } else {
                Verdict::Waiting
            }
        }
    }
}

/// Wait until every watch has listed, is not served, or has failed. Returns the failures.
async fn wait_listed(notifier: &Notifier, progress: &mut Progress) -> Vec<(WatchKey, ListFailure)> {
    let start = Instant::now();
    loop {
        progress.listed.extend(notifier.drain().changed);
        let now = Instant::now();
        let mut waiting = false;
        let mut failures = Vec::new();
        for (key, state) in notifier.health() {
            if matches!(state, WatchState::Reconnecting { .. }) {
                progress.failing_since.entry(key.clone()).or_insert(now);
            }
            let failing_for = progress
                .failing_since
                .get(&key)
                .map(|t| now.saturating_duration_since(*t));
            let listed = progress.listed.contains(&key);
            match verdict(listed, &state, failing_for, now - start) {
                Verdict::Done => {
                    if state == WatchState::Connected {
                        progress.listed.insert(key);
                    }
                }
                Verdict::Waiting => waiting = true,
                Verdict::Failed(f) => failures.push((key, f)),
            }
        }
        if !waiting {
            return failures;
        }
        let _ = tokio::time::timeout(POLL, notifier.notified()).await;
    }
}

/// Name the failed lists by resource (plural.group), as RBAC rules do.
async fn describe(
    discovery: &Discovery,
    failures: Vec<(WatchKey, ListFailure)>,
) -> Vec<FailedList> {
    let mut out = Vec::new();
    for (key, failure) in failures {
        let (plural, namespaced) = match discovery.resolve(&key.group, &key.kind, &[]).await {
            Ok(Resolved::Served {
                resource,
                namespaced,
            }) => (resource.plural, namespaced),
            _ => (format!("{}s", key.kind.to_lowercase()), true),
        };
        let resource = if key.group.is_empty() {
            plural
        } else {
            format!("{plural}.{}", key.group)
        };
        out.push(FailedList {
            resource,
            namespace: key.namespace,
            namespaced,
            failure,
        });
    }
    out
}

/// Whether a discovery error is worth retrying: no answer, or a server-side error.
fn transient(e: &DiscoveryError) -> bool {
    e.code.is_none_or(|c| c >= 500 || c == 429)
}

/// Start the watches, retrying transient discovery errors for up to [`RETRY_LIMIT`].
async fn start(conn: &Connection, namespace: Option<String>) -> Result<ClusterWatch, LoadError> {
    let give_up = Instant::now() + RETRY_LIMIT;
    let mut pause = Duration::from_millis(250);
    loop {
        match ClusterWatch::start(conn.client.clone(), namespace.clone(), Notifier::new()).await {
            Ok(cw) => return Ok(cw),
            Err(e) if transient(&e) && Instant::now() + pause < give_up => {
                tracing::debug!(error = %e, "discovery failed; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Load the Flux objects, and with `managed` also the objects their inventories name.
/// Returns the snapshot and warnings (objects that could not be read, Flux APIs that are not
/// installed). Any list that failed or was forbidden is an error.
pub async fn load(
    conn: &Connection,
    namespace: Option<String>,
    managed: bool,
) -> Result<(Snapshot, Vec<String>), LoadError> {
    let mut cw = start(conn, namespace).await?;
    let notifier = cw.notifier().clone();
    let mut progress = Progress::default();
    let mut failures = wait_listed(&notifier, &mut progress).await;
    if failures.is_empty() && managed {
        let (snap, _) = cw.snapshot(Timestamp::now());
        cw.set_managed_scopes(&inventory_scopes(&snap)).await;
        failures = wait_listed(&notifier, &mut progress).await;
    }
    if !failures.is_empty() {
        return Err(LoadError::Incomplete(
            describe(&cw.discovery(), failures).await,
        ));
    }
    let (snap, mut errors) = cw.snapshot(Timestamp::now());
    for (k, s) in notifier.health() {
        if s == WatchState::NotInstalled && (k.kind == "HelmRelease" || k.kind == "Kustomization") {
            errors.push(format!("{} API not installed", k.kind))
        }
    }
    Ok((snap, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconnecting() -> WatchState {
        WatchState::Reconnecting {
            since: Timestamp::UNIX_EPOCH,
            error: "500".into(),
        }
    }

    #[test]
    fn a_watch_that_is_retrying_is_not_listed() {
        let s = Duration::from_secs;
        assert_eq!(
            verdict(false, &reconnecting(), Some(s(1)), s(1)),
            Verdict::Waiting
        );
        assert_eq!(
            verdict(false, &reconnecting(), Some(RETRY_LIMIT), s(6)),
            Verdict::Failed(ListFailure::Failed("500".into()))
        );
        // Listed before the watch failed: the store holds the whole list.
        assert_eq!(
            verdict(true, &reconnecting(), Some(s(9)), s(9)),
            Verdict::Done
        );
        assert_eq!(
            verdict(false, &WatchState::Connecting, None, LIST_LIMIT),
            Verdict::Failed(ListFailure::NoAnswer)
        );
        assert_eq!(
            verdict(
                false,
                &WatchState::Forbidden {
                    message: String::new()
                },
                None,
                s(0)
            ),
            Verdict::Failed(ListFailure::Forbidden)
        );
        assert_eq!(
            verdict(false, &WatchState::NotInstalled, None, s(0)),
            Verdict::Done
        );
    }

    #[test]
    fn failures_name_resource_namespace_and_permission() {
        let f = FailedList {
            resource: "helmreleases.helm.toolkit.fluxcd.io".into(),
            namespace: Some("staging".into()),
            namespaced: true,
            failure: ListFailure::Forbidden,
        };
        assert_eq!(
            f.to_string(),
            "forbidden: cannot list helmreleases.helm.toolkit.fluxcd.io in namespace staging (needs list, watch)"
        );
    }
}
