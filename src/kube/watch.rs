//! Reflector-backed watches and their health. Each watch keeps a kube-runtime reflector store
//! (a relist after a disconnect removes objects deleted meanwhile) and reports changes to a
//! [`Notifier`] that coalesces bursts: the UI loop wakes once and reads what changed.
//! Health comes from typed errors (HTTP status codes), never from message text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// What a watch covers: a kind (its display name) and a namespace (`None` = all namespaces).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchKey {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
}

impl WatchKey {
    pub fn new(group: &str, kind: &str, namespace: Option<&str>) -> Self {
        Self {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
        }
    }
}

/// Health of one watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchState {
    /// Listing for the first time.
    Connecting,
    /// Listed and watching.
    Connected,
    /// The stream failed; the reflector keeps the last known objects (stale) and retries.
    Reconnecting { since: Timestamp, error: String },
    /// The server said 403.
    Forbidden { message: String },
    /// The kind is not served (CRD missing).
    NotInstalled,
}

impl WatchState {
    pub fn is_stale(&self) -> bool {
        matches!(self, WatchState::Reconnecting { .. })
    }
}

#[derive(Default)]
struct Pending {
    changed: BTreeSet<WatchKey>,
    health: BTreeMap<WatchKey, WatchState>,
    health_changed: bool,
}

/// Shared between watch tasks and the UI loop: which watches changed since the last drain,
/// and the health of every watch. Bursts of events set the same flags, so they coalesce.
#[derive(Clone, Default)]
pub struct Notifier {
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
}

/// What changed since the last [`Notifier::drain`].
#[derive(Debug, Default)]
pub struct Drained {
    pub changed: BTreeSet<WatchKey>,
    /// The health of every watch, when any of them changed.
    pub health: Option<BTreeMap<WatchKey, WatchState>>,
}

impl Drained {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.health.is_none()
    }
}

impl Notifier {
    pub fn new() -> Self {
        Self::default()
    }

    fn changed(&self, key: &WatchKey) {
        let mut p = self.pending.lock();
        if p.changed.insert(key.clone()) {
            drop(p);
            self.wake.notify_one();
        }
    }

    pub fn report(&self, key: &WatchKey, state: WatchState) {
        let mut p = self.pending.lock();
        if p.health.get(key) != Some(&state) {
            p.health.insert(key.clone(), state);
            p.health_changed = true;
            drop(p);
            self.wake.notify_one();
        }
    }

    /// Forget a watch (it was stopped).
    pub fn remove(&self, key: &WatchKey) {
        let mut p = self.pending.lock();
        if p.health.remove(key).is_some() {
            p.health_changed = true;
        }
        p.changed.remove(key);
    }

    /// Wait until something changed.
    pub async fn notified(&self) {
        self.wake.notified().await;
    }

    /// Take what changed.
    pub fn drain(&self) -> Drained {
        let mut p = self.pending.lock();
        let changed = std::mem::take(&mut p.changed);
        let health = if p.health_changed {
            p.health_changed = false;
            Some(p.health.clone())
        } else {
            None
        };
        Drained { changed, health }
    }

    /// The current health of every watch.
    pub fn health(&self) -> BTreeMap<WatchKey, WatchState> {
        self.pending.lock().health.clone()
    }
}

/// Health after a watcher error, by HTTP status code.
fn state_for(err: &watcher::Error, previous: Option<&WatchState>) -> Option<WatchState> {
    let code = match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
        watcher::Error::WatchError(s) => Some(s.code),
        _ => None,
    };
    match code {
        // Expired resourceVersion: the watcher relists on its own; nothing to show.
        Some(410) => None,
        Some(403) => Some(WatchState::Forbidden {
            message: err.to_string(),
        }),
        Some(404) => Some(WatchState::NotInstalled),
        _ => Some(match previous {
            Some(WatchState::Reconnecting { since, .. }) => WatchState::Reconnecting {
                since: *since,
                error: err.to_string(),
            },
            _ => WatchState::Reconnecting {
                since: Timestamp::now(),
                error: err.to_string(),
            },
        }),
    }
}

/// A running reflector: its store and the task feeding it (aborted on drop).
pub struct Reflector<K: Resource + 'static>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    pub key: WatchKey,
    pub resource: ApiResource,
    pub store: Store<K>,
    task: JoinHandle<()>,
    notifier: Notifier,
}

impl<K: Resource + 'static> Drop for Reflector<K>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    fn drop(&mut self) {
        self.task.abort();
        self.notifier.remove(&self.key);
    }
}

/// Start a reflector for objects of `resource` (in `namespace`, or all).
pub fn spawn<K>(
    client: Client,
    resource: ApiResource,
    namespace: Option<&str>,
    key: WatchKey,
    notifier: Notifier,
) -> Reflector<K>
where
    K: Resource<DynamicType = ApiResource, Scope = kube::core::DynamicResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    };
    let writer = reflector::store::Writer::new(resource.clone());
    let reader = writer.as_reader();
    let task_key = key.clone();
    let task_notifier = notifier.clone();
    notifier.report(&key, WatchState::Connecting);
    let task = tokio::spawn(async move {
        let stream = watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .reflect(writer);
        futures::pin_mut!(stream);
        let mut state = WatchState::Connecting;
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => {
                    let settled =
                        matches!(ev, Event::InitDone | Event::Apply(_) | Event::Delete(_));
                    if settled && state != WatchState::Connected {
                        state = WatchState::Connected;
                        task_notifier.report(&task_key, state.clone());
                    }
                    if !matches!(ev, Event::Init | Event::InitApply(_)) {
                        task_notifier.changed(&task_key);
                    }
                }
                Err(err) => {
                    tracing::warn!(watch = ?task_key, error = %err, "watch error");
                    if let Some(next) = state_for(&err, Some(&state)) {
                        state = next;
                        task_notifier.report(&task_key, state.clone());
                    }
                }
            }
        }
    });
    Reflector {
        key,
        resource,
        store: reader,
        task,
        notifier,
    }
}
