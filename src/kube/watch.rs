//! Watches and their health. Each watch keeps an [`ObjectStore`] of its objects in their one
//! stored form, converted in the watch's own task as they arrive (a relist after a
//! disconnect removes objects deleted meanwhile), and reports changes to a [`Notifier`] that
//! coalesces bursts: the UI loop wakes once and reads what changed.
//! Health comes from typed errors (HTTP status codes), never from message text.
//!
//! Lists and watches are kube's own requests and calls, but their objects are taken as the
//! JSON text the API server wrote ([`RawValue`]) and decoded once, by the store, into their
//! stored form: no `DynamicObject` in between. (A watch event's object can be taken as text
//! because the API server writes an event's `type` before its `object`: see the tests.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::core::{ApiResource, DynamicObject, ObjectList, Request};
use kube::{Client, Resource};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::store::{Conversions, Form, Head, ObjectStore, StoreWriter};

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
    /// Watches whose store holds a complete list (possibly stale since).
    listed: BTreeSet<WatchKey>,
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

    /// A list of `key` completed: its store holds every object (and changed).
    fn listed(&self, key: &WatchKey) {
        let mut p = self.pending.lock();
        p.listed.insert(key.clone());
        p.changed.insert(key.clone());
        drop(p);
        self.wake.notify_one();
    }

    /// Whether the store of `key` has held a complete list (it may be stale since: see the
    /// watch's health).
    pub fn has_listed(&self, key: &WatchKey) -> bool {
        self.pending.lock().listed.contains(key)
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

    /// Forget a watch (it was stopped). Wakes the listener: the health shown and the next
    /// snapshot (which no longer holds the watch's objects) follow at once.
    pub fn remove(&self, key: &WatchKey) {
        let mut p = self.pending.lock();
        let removed = p.health.remove(key).is_some();
        if removed {
            p.health_changed = true;
        }
        p.changed.remove(key);
        p.listed.remove(key);
        drop(p);
        if removed {
            self.wake.notify_one();
        }
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

/// The HTTP status code of a client error, when the server answered with one.
fn status_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Health after a failed list or watch, by HTTP status code (`None` = keep the current one).
fn state_for(code: Option<u16>, error: String, previous: &WatchState) -> WatchState {
    match code {
        Some(403) => WatchState::Forbidden { message: error },
        Some(404) => WatchState::NotInstalled,
        _ => match previous {
            WatchState::Reconnecting { since, .. } => WatchState::Reconnecting {
                since: *since,
                error,
            },
            _ => WatchState::Reconnecting {
                since: Timestamp::now(),
                error,
            },
        },
    }
}

/// Waits between retries: doubling from [`BACKOFF_MIN`] to [`BACKOFF_MAX`], reset once the
/// server answers again.
pub(crate) struct Backoff {
    next: Duration,
}

/// First wait after a failure.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Longest wait between retries.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Objects per list page (the API server's pagination).
const PAGE: u32 = 500;
/// How long the server keeps one watch request open before the client renews it.
const WATCH_TIMEOUT_SECONDS: u32 = 290;

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { next: BACKOFF_MIN }
    }

    fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }

    /// The wait before the next attempt (with up to a quarter of random jitter, so many
    /// watches failing together do not retry together).
    pub(crate) fn next(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        let jitter = base.mul_f64(rand::random::<f64>() * 0.25);
        base + jitter
    }
}

/// One page of a list of `request`'s resource, each object as the JSON text the server
/// wrote (what `Api::list` sends, without decoding the objects).
async fn list_page(
    client: &Client,
    request: &Request,
    params: &ListParams,
) -> Result<ObjectList<Box<RawValue>>, kube::Error> {
    let mut req = request.list(params).map_err(kube::Error::BuildRequest)?;
    req.extensions_mut().insert("list");
    client.request::<ObjectList<Box<RawValue>>>(req).await
}

/// The events of a watch of `request`'s resource from `rv`, each object as the JSON text the
/// server wrote (what `Api::watch` sends, without decoding the objects).
async fn watch_events(
    client: &Client,
    request: &Request,
    params: &WatchParams,
    rv: &str,
) -> Result<
    impl futures::Stream<Item = Result<WatchEvent<Box<RawValue>>, kube::Error>> + use<>,
    kube::Error,
> {
    let mut req = request
        .watch(params, rv)
        .map_err(kube::Error::BuildRequest)?;
    req.extensions_mut().insert("watch");
    client.request_events::<Box<RawValue>>(req).await
}

/// One watch's connection to the API server, feeding its store and reporting health.
/// Health is exact: `Connected` once a list returned or a watch request was answered (the
/// stream is open), `Reconnecting` from the first failure until then, with the last error.
struct WatchTask {
    client: Client,
    /// The requests of the watched resource (in its namespace, or all).
    request: Request,
    writer: StoreWriter,
    key: WatchKey,
    notifier: Notifier,
    state: WatchState,
}

/// Why a list or watch ended.
enum Ended {
    /// The resourceVersion expired (410 Gone): list again.
    Gone,
    /// The request failed: retry after a backoff.
    Failed(Option<u16>, String),
    /// The server closed the stream normally (its timeout): watch again at once.
    Closed,
}

impl WatchTask {
    fn set(&mut self, state: WatchState) {
        if self.state != state {
            self.state = state.clone();
            self.notifier.report(&self.key, state);
        }
    }

    /// List every object (page by page) into the store; the store is replaced at the end, so
    /// objects deleted while the watch was down disappear. Returns the list's resourceVersion.
    async fn list(&mut self) -> Result<String, Ended> {
        let mut params = ListParams::default().limit(PAGE);
        self.writer.begin_list();
        loop {
            let page = list_page(&self.client, &self.request, &params)
                .await
                .map_err(|e| {
                    if status_code(&e) == Some(410) {
                        Ended::Gone
                    } else {
                        Ended::Failed(status_code(&e), super::client::error_chain(&e))
                    }
                })?;
            let rv = page.metadata.resource_version.clone().unwrap_or_default();
            let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
            for obj in &page.items {
                let text = obj.get();
                self.writer.listed(Head::read(text), text);
            }
            match next {
                Some(token) => params = params.continue_token(&token),
                None => {
                    self.writer.end_list();
                    return Ok(rv);
                }
            }
        }
    }

    /// Watch from `rv` until the stream ends; `rv` follows every event and bookmark.
    async fn watch(&mut self, rv: &mut String, backoff: &mut Backoff) -> Ended {
        // Bookmarks keep `rv` current on quiet kinds, so a resumed watch rarely needs a relist.
        let params = WatchParams {
            bookmarks: true,
            ..WatchParams::default()
        }
        .timeout(WATCH_TIMEOUT_SECONDS);
        let stream = match watch_events(&self.client, &self.request, &params, rv).await {
            Ok(s) => s,
            Err(e) if status_code(&e) == Some(410) => return Ended::Gone,
            Err(e) => return Ended::Failed(status_code(&e), super::client::error_chain(&e)),
        };
        // The server answered the watch request: the stream is open and the store is current
        // again (a resumed stream replays what changed since `rv`).
        self.set(WatchState::Connected);
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(WatchEvent::Added(obj)) | Ok(WatchEvent::Modified(obj)) => {
                    let text = obj.get();
                    let head = Head::read(text);
                    if let Some(v) = &head.resource_version {
                        v.clone_into(rv);
                    }
                    self.writer.apply(head, text);
                    self.notifier.changed(&self.key);
                    backoff.reset();
                }
                Ok(WatchEvent::Deleted(obj)) => {
                    let head = Head::read(obj.get());
                    if let Some(v) = &head.resource_version {
                        v.clone_into(rv);
                    }
                    self.writer.delete(&head);
                    self.notifier.changed(&self.key);
                    backoff.reset();
                }
                Ok(WatchEvent::Bookmark(b)) => {
                    *rv = b.metadata.resource_version;
                    backoff.reset();
                }
                Ok(WatchEvent::Error(s)) if s.code == 410 => return Ended::Gone,
                Ok(WatchEvent::Error(s)) => return Ended::Failed(Some(s.code), s.message),
                Err(e) => return Ended::Failed(status_code(&e), super::client::error_chain(&e)),
            }
        }
        Ended::Closed
    }

    async fn run(mut self) {
        let mut backoff = Backoff::new();
        let mut rv: Option<String> = None;
        loop {
            let ended = match rv.as_mut() {
                None => match self.list().await {
                    Ok(v) => {
                        rv = Some(v);
                        self.notifier.listed(&self.key);
                        self.set(WatchState::Connected);
                        backoff.reset();
                        continue;
                    }
                    Err(ended) => ended,
                },
                Some(v) => self.watch(v, &mut backoff).await,
            };
            match ended {
                Ended::Gone => rv = None,
                Ended::Closed => {}
                Ended::Failed(code, error) => {
                    tracing::warn!(watch = ?self.key, code, error = %error, "watch error");
                    let next = state_for(code, error, &self.state);
                    self.set(next);
                    // After a failure the store is confirmed by a new list, not by resuming
                    // from the last resourceVersion: a server that came back with other state
                    // (restored, or a different server behind the same address) may accept
                    // an old version and stay silent about everything that changed.
                    rv = None;
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
    }
}

/// A running watch: its store and the task feeding it (aborted on drop).
pub struct Reflector {
    pub key: WatchKey,
    pub store: ObjectStore,
    task: JoinHandle<()>,
    notifier: Notifier,
}

impl Drop for Reflector {
    fn drop(&mut self) {
        self.task.abort();
        self.notifier.remove(&self.key);
    }
}

/// Start a watch of objects of `resource` (in `namespace`, or all), stored as `form`;
/// every conversion is counted in `conversions`.
pub fn spawn(
    client: Client,
    resource: ApiResource,
    namespace: Option<&str>,
    key: WatchKey,
    notifier: Notifier,
    form: Form,
    conversions: Conversions,
) -> Reflector {
    let request = Request::new(DynamicObject::url_path(&resource, namespace));
    let store = ObjectStore::new();
    let writer = StoreWriter::new(store.clone(), form, resource, conversions);
    notifier.report(&key, WatchState::Connecting);
    let task = tokio::spawn(
        WatchTask {
            client,
            request,
            writer,
            key: key.clone(),
            notifier: notifier.clone(),
            state: WatchState::Connecting,
        }
        .run(),
    );
    Reflector {
        key,
        store,
        task,
        notifier,
    }
}

/// The watch itself, driven through the simulated API server's faults.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use kube::Api;
    use kube::api::{DynamicObject, PostParams};
    use kube::core::GroupVersionKind;
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::flux::FluxKind;
    use crate::kube::store::before;
    use crate::kube::test_sim::{configmaps, connected, deps, deps_cluster};
    use crate::sim::cluster::{SimCluster, SimOptions};
    use crate::sim::registry::ids;
    use crate::sim::store::WriteOpts;

    struct Fixture {
        cluster: SimCluster,
        client: Client,
        notifier: Notifier,
        key: WatchKey,
    }

    async fn fixture() -> Fixture {
        let (cluster, client) = deps_cluster().await;
        Fixture {
            cluster,
            client,
            notifier: Notifier::new(),
            key: WatchKey::new("", "ConfigMap", Some("quiet")),
        }
    }

    impl Fixture {
        fn spawn(&self) -> Reflector {
            spawn(
                self.client.clone(),
                configmaps(),
                Some("quiet"),
                self.key.clone(),
                self.notifier.clone(),
                Form::Managed,
                Conversions::default(),
            )
        }

        fn state(&self) -> Option<WatchState> {
            self.notifier.health().get(&self.key).cloned()
        }

        /// Wait (at most 60 s) until the watch's state satisfies `pred`.
        async fn until(&self, what: &str, pred: impl Fn(&WatchState) -> bool) {
            let wait = async {
                loop {
                    if self.state().as_ref().is_some_and(&pred) {
                        return;
                    }
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), self.notifier.notified())
                            .await;
                }
            };
            if tokio::time::timeout(Duration::from_secs(60), wait)
                .await
                .is_err()
            {
                panic!("timed out waiting for {what}; state: {:?}", self.state());
            }
        }

        async fn create(&self, name: &str) {
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), "quiet", &configmaps());
            let obj: DynamicObject = serde_json::from_value(serde_json::json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "quiet"},
                "data": {"k": "v"},
            }))
            .unwrap();
            api.create(&PostParams::default(), &obj).await.unwrap();
        }
    }

    fn names(r: &Reflector) -> Vec<String> {
        let mut n: Vec<String> = Vec::new();
        r.store.for_each(|_, name, _| n.push(name.to_string()));
        n.sort();
        n
    }

    fn is_connected(s: &WatchState) -> bool {
        *s == WatchState::Connected
    }

    fn is_reconnecting(s: &WatchState) -> bool {
        matches!(s, WatchState::Reconnecting { .. })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_quiet_watch_is_connected_again_after_the_server_comes_back() {
        let f = fixture().await;
        f.create("one").await;
        let r = f.spawn();
        f.until("the first list", is_connected).await;
        assert!(f.notifier.has_listed(&f.key));
        assert_eq!(names(&r), ["one"]);

        f.cluster.server.stop_listener().await;
        f.until("reconnecting while the server is away", is_reconnecting)
            .await;
        let Some(WatchState::Reconnecting { error, .. }) = f.state() else {
            unreachable!()
        };
        assert!(!error.is_empty(), "the last error is kept");
        assert_eq!(names(&r), ["one"], "the last known objects are kept");

        // Nothing changes in the namespace: the resumed stream alone says it is connected.
        f.cluster.server.restart_listener().await.unwrap();
        f.until("connected again without any event", is_connected)
            .await;
        assert_eq!(names(&r), ["one"]);
        f.cluster.shutdown().await;
    }

    /// A different server comes back at the same address (its resourceVersions start again):
    /// the watch lists again instead of resuming, so the store shows the new server's objects.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_comes_back_with_other_state_is_listed_again() {
        let f = fixture().await;
        for i in 0..20 {
            f.create(&format!("old-{i}")).await;
        }
        let r = f.spawn();
        f.until("the first list", is_connected).await;
        assert_eq!(names(&r).len(), 20);
        let addr = f.cluster.server.addr();
        f.cluster.server.stop_listener().await;
        f.until("reconnecting", is_reconnecting).await;
        // Another cluster on the same address, with one ConfigMap of its own.
        let (other, client) = connected(SimOptions {
            listen: addr,
            ..deps()
        })
        .await;
        let api: Api<DynamicObject> = Api::namespaced_with(client, "quiet", &configmaps());
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "new", "namespace": "quiet"},
        }))
        .unwrap();
        api.create(&PostParams::default(), &obj).await.unwrap();
        let wait = async {
            while names(&r) != ["new"] {
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), f.notifier.notified()).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .is_err()
        {
            panic!("the store kept the old server's objects: {:?}", names(&r));
        }
        f.until("connected", is_connected).await;
        other.shutdown().await;
        f.cluster.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_before_the_first_list_are_retried_until_it_succeeds() {
        let f = fixture().await;
        f.create("one").await;
        f.cluster.faults.update(|s| s.error_rate = 1.0);
        let r = f.spawn();
        f.until("reconnecting on 500s", is_reconnecting).await;
        let Some(WatchState::Reconnecting { error, .. }) = f.state() else {
            unreachable!()
        };
        assert!(error.contains("500"), "{error}");
        assert!(!f.notifier.has_listed(&f.key), "nothing was listed");

        f.cluster.faults.update(|s| s.error_rate = 0.0);
        f.until("connected once the server answers", is_connected)
            .await;
        assert!(f.notifier.has_listed(&f.key));
        assert_eq!(names(&r), ["one"]);
        f.cluster.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_versions_and_dropped_streams_relist_and_lose_nothing() {
        let f = fixture().await;
        let r = f.spawn();
        f.until("the first list", is_connected).await;
        // Every watch is answered with 410 Gone and streams close every second: the watch
        // relists, and what was created meanwhile arrives.
        f.cluster.faults.update(|s| {
            s.watch_gone = true;
            s.close_watches_every_seconds = Some(1);
        });
        f.create("two").await;
        let wait = async {
            while names(&r) != ["two"] {
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), f.notifier.notified()).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("the object created during the faults is listed");
        f.cluster.faults.update(|s| {
            s.watch_gone = false;
            s.close_watches_every_seconds = None;
            s.latency_ms = 300;
        });
        f.create("three").await;
        let wait = async {
            while names(&r) != ["three", "two"] {
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), f.notifier.notified()).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("the object created with latency arrives");
        f.until("connected with latency", is_connected).await;
        f.cluster.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_forbidden_list_says_forbidden() {
        let f = fixture().await;
        f.cluster.faults.update(|s| {
            s.forbidden = vec![crate::sim::faults::ForbiddenRule {
                resource: "configmaps".into(),
                namespace: Some("quiet".into()),
                verbs: Vec::new(),
            }];
        });
        let _r = f.spawn();
        f.until("forbidden", |s| matches!(s, WatchState::Forbidden { .. }))
            .await;
        assert!(!f.notifier.has_listed(&f.key));
        f.cluster.shutdown().await;
    }

    /// Every object the simulated API server of `scenario` lists (every served type, Flux
    /// kinds typed, the others managed), read at a few moments as the controllers change
    /// them, is stored as before. Returns how many objects of each kind were compared.
    async fn sim_objects_stored_as_before(scenario: &str) -> BTreeMap<String, usize> {
        let (cluster, client) = connected(SimOptions {
            scenario: scenario.into(),
            ..SimOptions::default()
        })
        .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while cluster.store.count(&ids::pods()) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no pods in {scenario}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut kinds = BTreeMap::new();
        for round in 0..4 {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            for t in cluster.registry.all() {
                if !t.verbs.iter().any(|v| v == "list") {
                    continue;
                }
                let gvk = GroupVersionKind::gvk(&t.group, t.preferred_version(), &t.kind);
                let ar = ApiResource::from_gvk_with_plural(&gvk, &t.plural);
                let form = match FluxKind::from_group_kind(&t.group, &t.kind) {
                    Some(kind) => Form::Flux(kind),
                    None => Form::Managed,
                };
                let request = Request::new(DynamicObject::url_path(&ar, None));
                let page = list_page(&client, &request, &ListParams::default())
                    .await
                    .unwrap();
                for obj in &page.items {
                    before::assert_same(obj.get(), form, &ar);
                }
                *kinds.entry(t.kind.clone()).or_default() += page.items.len();
            }
        }
        cluster.shutdown().await;
        kinds
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn demo_objects_are_stored_as_before() {
        let kinds = sim_objects_stored_as_before("demo").await;
        for k in [
            "Kustomization",
            "HelmRelease",
            "GitRepository",
            "HelmRepository",
            "HelmChart",
            "Deployment",
            "ConfigMap",
            "Pod",
        ] {
            assert!(kinds.get(k).is_some_and(|n| *n > 0), "no {k}: {kinds:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scale_objects_are_stored_as_before() {
        let kinds = sim_objects_stored_as_before("scale:hr=50,ks=5").await;
        assert!(kinds["HelmRelease"] >= 4 * 50, "{kinds:?}");
        assert!(kinds["Kustomization"] >= 4 * 5, "{kinds:?}");
    }

    /// The API server writes a watch event's `type` before its `object` (Go's
    /// `metav1.WatchEvent`), so kube's `WatchEvent` hands over the object as its text. With
    /// the object first, serde would have to buffer it, and a `RawValue` cannot be read
    /// from the buffer: the event would not decode at all.
    #[test]
    fn a_watch_event_object_is_text_when_its_type_comes_first() {
        let object = r#"{"metadata":{"name":"a","resourceVersion":"7"},"spec":{"x":[1,2]}}"#;
        let line = format!(r#"{{"type":"MODIFIED","object":{object}}}"#);
        let event: WatchEvent<Box<RawValue>> = serde_json::from_str(&line).unwrap();
        let WatchEvent::Modified(text) = event else {
            panic!("{event:?}")
        };
        assert_eq!(text.get(), object);
        let reversed = format!(r#"{{"object":{object},"type":"MODIFIED"}}"#);
        assert!(serde_json::from_str::<WatchEvent<Box<RawValue>>>(&reversed).is_err());
        // Bookmarks and errors decode as before.
        let bookmark = r#"{"type":"BOOKMARK","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"resourceVersion":"9"}}}"#;
        assert!(matches!(
            serde_json::from_str::<WatchEvent<Box<RawValue>>>(bookmark).unwrap(),
            WatchEvent::Bookmark(b) if b.metadata.resource_version == "9"
        ));
        let gone = r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old","reason":"Expired","code":410}}"#;
        assert!(matches!(
            serde_json::from_str::<WatchEvent<Box<RawValue>>>(gone).unwrap(),
            WatchEvent::Error(s) if s.code == 410
        ));
    }

    /// The simulated API server's events arrive with each object as the text it wrote.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn watch_events_from_the_server_carry_their_objects_as_text() {
        let f = fixture().await;
        let request = Request::new(DynamicObject::url_path(&configmaps(), Some("quiet")));
        let page = list_page(&f.client, &request, &ListParams::default())
            .await
            .unwrap();
        let rv = page.metadata.resource_version.unwrap();
        let params = WatchParams::default().timeout(10);
        let stream = watch_events(&f.client, &request, &params, &rv)
            .await
            .unwrap();
        futures::pin_mut!(stream);
        f.create("one").await;
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("an event")
            .expect("the stream is open")
            .expect("the event decodes");
        let WatchEvent::Added(text) = event else {
            panic!("{event:?}")
        };
        let v: Value = serde_json::from_str(text.get()).unwrap();
        assert_eq!(v["metadata"]["name"], "one");
        assert_eq!(v["data"], json!({"k": "v"}));
        f.cluster.shutdown().await;
    }

    fn helmreleases() -> ApiResource {
        ApiResource::from_gvk(&GroupVersionKind::gvk(
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
        ))
    }

    /// A suspended HelmRelease in `quiet` (the simulated controller leaves it alone) with
    /// `patch` merged into it.
    fn create_release(cluster: &SimCluster, name: &str, patch: Value) {
        let mut hr = json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "quiet"},
            "spec": {"interval": "5m", "suspend": true,
                     "chart": {"spec": {"chart": "app",
                                        "sourceRef": {"kind": "HelmRepository", "name": "x"}}}},
        });
        json_patch::merge(&mut hr, &patch);
        cluster
            .store
            .create(&ids::helmreleases(), hr, WriteOpts::default())
            .unwrap();
    }

    /// A malformed object never breaks its kind: in a list page and in a watch event, it is
    /// an error entry under its name, and every other object is stored. (One of them has
    /// metadata a `DynamicObject` cannot hold: the whole list used to fail on it.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_malformed_object_is_an_error_entry_in_a_list_and_in_a_watch() {
        let f = fixture().await;
        for i in 0..3 {
            create_release(&f.cluster, &format!("good-{i}"), json!({}));
        }
        create_release(&f.cluster, "bad-spec", json!({"spec": {"interval": 5}}));
        create_release(
            &f.cluster,
            "bad-labels",
            json!({"metadata": {"labels": {"replicas": 3}}}),
        );
        let key = WatchKey::new("helm.toolkit.fluxcd.io", "HelmRelease", Some("quiet"));
        let conversions = Conversions::default();
        let r = spawn(
            f.client.clone(),
            helmreleases(),
            Some("quiet"),
            key.clone(),
            f.notifier.clone(),
            Form::Flux(FluxKind::HelmRelease),
            conversions.clone(),
        );
        let f = Fixture { key, ..f };
        f.until("the first list", is_connected).await;
        assert!(f.notifier.has_listed(&f.key));
        let entries = |r: &Reflector| {
            let mut out: Vec<(String, bool)> = Vec::new();
            r.store.for_each(|ns, name, e| {
                assert_eq!(ns, "quiet");
                assert!(!e.resource_version.is_empty());
                out.push((name.to_string(), e.object.is_ok()));
            });
            out.sort();
            out
        };
        let ok = |n: &str| (n.to_string(), true);
        let bad = |n: &str| (n.to_string(), false);
        assert_eq!(
            entries(&r),
            [
                bad("bad-labels"),
                bad("bad-spec"),
                ok("good-0"),
                ok("good-1"),
                ok("good-2")
            ]
        );
        assert_eq!(conversions.get(), 5);

        create_release(
            &f.cluster,
            "bad-event",
            json!({"spec": {"dependsOn": "one"}}),
        );
        create_release(&f.cluster, "good-3", json!({}));
        let wait = async {
            while r.store.len() < 7 {
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), f.notifier.notified()).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("both new objects arrive");
        assert!(r.store.get("quiet", "bad-event").unwrap().object.is_err());
        assert!(r.store.get("quiet", "good-3").unwrap().object.is_ok());
        assert_eq!(f.state(), Some(WatchState::Connected), "the watch went on");
        assert_eq!(conversions.get(), 7);
        f.cluster.shutdown().await;
    }
}
