//! Flux controller behaviour of the simulated cluster: source-controller, kustomize-controller,
//! helm-controller, workload status (the part of kube-controller-manager Flux waits on) and the
//! scenario timeline. One engine task reads every store change, decides which object it
//! concerns (indexed by key, never by scanning), and runs at most one reconcile per object
//! at a time from a deduplicated work queue with timers.

pub mod clock;
pub mod conditions;
pub mod events;
pub mod helm;
mod kustomize;
pub mod pods;
mod queue;
mod sources;
mod timeline;
pub mod workloads;

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::task::JoinHandle;

use super::registry::ids;
use super::scenario::Scenario;
use super::store::{ChangeEvent, EventType, ObjKey, ResourceId, Store};
use clock::Clock;
use queue::{Queue, Work};

/// The reason of the conditions of an object whose spec the controller cannot read.
pub const INVALID_SPEC: &str = "InvalidSpec";

/// Options of the simulated controllers.
#[derive(Clone, Copy, Debug)]
pub struct ControllerOptions {
    /// Compresses intervals and timeouts: real = nominal / speed.
    pub speed: f64,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        Self { speed: 30.0 }
    }
}

/// The running controllers; dropping it (or [`ControllersHandle::stop`]) stops them.
pub struct ControllersHandle {
    task: Option<JoinHandle<()>>,
}

impl ControllersHandle {
    /// Whether the controllers' task is still running (it ends only when stopped, or by a
    /// panic).
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    pub fn stop(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for ControllersHandle {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Start the controllers on the current tokio runtime.
pub fn start(
    store: Arc<Store>,
    scenario: Arc<Scenario>,
    opts: ControllerOptions,
) -> ControllersHandle {
    let rx = store.subscribe();
    let mut ctx = Ctx::new(store, scenario, Clock::new(opts.speed));
    ctx.enqueue_everything();
    ctx.schedule_timeline();
    let task = tokio::spawn(async move { ctx.run(rx).await });
    ControllersHandle { task: Some(task) }
}

/// Wait until `pred` holds over the store, re-checking after every change; `false` when
/// `timeout` passes first.
#[must_use = "a wait that times out returns false; assert it"]
pub async fn wait_for<F>(store: &Store, timeout: Duration, mut pred: F) -> bool
where
    F: FnMut(&Store) -> bool,
{
    let mut rx = store.subscribe();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if pred(store) {
            return true;
        }
        // Also re-check periodically: predicates may depend on time passing.
        let tick = tokio::time::Instant::now() + Duration::from_millis(200);
        match tokio::time::timeout_at(deadline.min(tick), rx.recv()).await {
            Ok(Ok(_)) | Ok(Err(_)) => while rx.try_recv().is_ok() {},
            Err(_) if tokio::time::Instant::now() >= deadline => return pred(store),
            Err(_) => {}
        }
    }
}

/// What kind of Flux object a resource is.
pub(crate) fn is_source(res: &ResourceId) -> bool {
    res.group == "source.toolkit.fluxcd.io"
}

pub(crate) fn is_workload(res: &ResourceId) -> bool {
    *res == ids::deployments()
        || *res == ids::statefulsets()
        || *res == ids::daemonsets()
        || *res == ids::jobs()
}

/// Shared state of the engine. The per-concern modules add `impl Ctx` blocks.
pub(crate) struct Ctx {
    pub store: Arc<Store>,
    pub scenario: Arc<Scenario>,
    pub clock: Clock,
    pub queue: Queue,
    pub events: events::Recorder,
    /// Last seen trigger fingerprint per object (generation, labels, annotations, deletion).
    fingerprints: HashMap<(ResourceId, ObjKey), u64>,
    /// Last seen readiness signature of Flux objects (to wake up dependents and users).
    signatures: HashMap<(ResourceId, ObjKey), u64>,
    /// Objects to wake when an object's readiness changes: sources → KS/HR/HelmChart,
    /// dependencies → dependents.
    watchers: HashMap<(ResourceId, ObjKey), HashSet<Work>>,
    /// What each watcher registered, to drop stale entries when its spec changes.
    registered: HashMap<Work, Vec<(ResourceId, ObjKey)>>,
    pub sources: sources::SourceState,
    pub kustomize: kustomize::KsState,
    pub helm: helm::HelmState,
    pub workloads: workloads::WorkloadState,
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

fn fingerprint(obj: &Value) -> u64 {
    let m = obj.get("metadata");
    let part = |k: &str| {
        m.and_then(|m| m.get(k))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    hash_of(&(
        part("generation"),
        part("labels"),
        part("annotations"),
        part("deletionTimestamp"),
    ))
}

fn signature(obj: &Value) -> u64 {
    let ready = conditions::get(obj, "Ready").map(|c| c["status"].to_string());
    hash_of(&(
        ready,
        obj.pointer("/status/observedGeneration")
            .map(|v| v.to_string()),
        obj.pointer("/status/artifact/revision")
            .map(|v| v.to_string()),
        obj.pointer("/status/lastAppliedRevision")
            .map(|v| v.to_string()),
        conditions::generation(obj),
    ))
}

impl Ctx {
    fn new(store: Arc<Store>, scenario: Arc<Scenario>, clock: Clock) -> Self {
        let kustomize = kustomize::KsState::new(&scenario);
        Self {
            store,
            scenario,
            clock,
            queue: Queue::default(),
            events: events::Recorder::new(5_000),
            fingerprints: HashMap::new(),
            signatures: HashMap::new(),
            watchers: HashMap::new(),
            registered: HashMap::new(),
            sources: sources::SourceState::default(),
            kustomize,
            helm: helm::HelmState::default(),
            workloads: workloads::WorkloadState::default(),
        }
    }

    fn enqueue_everything(&mut self) {
        let kinds = [
            ids::gitrepositories(),
            ids::ocirepositories(),
            ids::helmrepositories(),
            ids::helmcharts(),
            ids::buckets(),
            ids::kustomizations(),
            ids::helmreleases(),
            ids::deployments(),
            ids::statefulsets(),
            ids::daemonsets(),
            ids::jobs(),
        ];
        for res in kinds {
            let (items, _) = self.store.list(&res, None);
            for obj in items {
                let ev = ChangeEvent {
                    rv: 0,
                    kind: EventType::Added,
                    resource: res.clone(),
                    namespace: conditions::s(&obj, "/metadata/namespace").to_string(),
                    object: obj,
                };
                self.on_change(&ev);
            }
        }
    }

    /// Register `who` to be woken when `target`'s readiness changes.
    pub(crate) fn watch(&mut self, who: &Work, targets: Vec<(ResourceId, ObjKey)>) {
        if let Some(old) = self.registered.remove(who) {
            for t in old {
                if let Some(set) = self.watchers.get_mut(&t) {
                    set.remove(who);
                }
            }
        }
        for t in &targets {
            self.watchers
                .entry(t.clone())
                .or_default()
                .insert(who.clone());
        }
        self.registered.insert(who.clone(), targets);
    }

    fn on_change(&mut self, ev: &ChangeEvent) {
        let obj = &ev.object;
        let key = ObjKey::new(
            conditions::s(obj, "/metadata/namespace"),
            conditions::s(obj, "/metadata/name"),
        );
        let id = (ev.resource.clone(), key.clone());
        let deleted = ev.kind == EventType::Deleted;
        let spec_changed = if deleted {
            self.fingerprints.remove(&id);
            true
        } else {
            let fp = fingerprint(obj);
            self.fingerprints.insert(id.clone(), fp) != Some(fp)
        };
        let res = &ev.resource;
        let is_flux =
            is_source(res) || *res == ids::kustomizations() || *res == ids::helmreleases();
        if is_flux {
            let sig = signature(obj);
            let sig_changed = deleted || self.signatures.insert(id.clone(), sig) != Some(sig);
            if deleted {
                self.signatures.remove(&id);
            }
            if sig_changed && let Some(ws) = self.watchers.get(&id) {
                let ws: Vec<Work> = ws.iter().cloned().collect();
                for w in ws {
                    self.queue.push_now(w);
                }
            }
            if spec_changed {
                let w = if *res == ids::kustomizations() {
                    Work::Ks(key.clone())
                } else if *res == ids::helmreleases() {
                    Work::Hr(key.clone())
                } else {
                    Work::Source(res.clone(), key.clone())
                };
                self.queue.push_now(w);
            }
            return;
        }
        if is_workload(res) && spec_changed {
            self.queue
                .push_now(Work::Workload(res.clone(), key.clone()));
        }
        // A pod someone else deleted: its workload replaces it.
        if *res == ids::pods() {
            if deleted && let Some((r, k)) = self.workloads.pod_deleted(&key) {
                self.queue.push_now(Work::Workload(r, k));
            }
            return;
        }
        if *res == ids::events()
            || *res == ids::namespaces()
            || *res == ResourceId::new("apps", "replicasets")
        {
            return;
        }
        // Objects a HelmRelease manages: wake it for waits and drift detection.
        if let (Some(name), Some(ns)) = (
            conditions::label(obj, "helm.toolkit.fluxcd.io/name"),
            conditions::label(obj, "helm.toolkit.fluxcd.io/namespace"),
        ) && *res != ids::helmcharts()
        {
            let hr = ObjKey::new(ns, name);
            if self.helm.waiting(&hr) {
                self.queue.push_now(Work::Hr(hr));
            } else if spec_changed && !self.helm.is_own_write(res, &key, obj) {
                let delay = self.clock.scaled(helm::DRIFT_CHECK_DELAY);
                self.queue.push_after(Work::Hr(hr), delay);
            }
            return;
        }
        // Helm storage written by someone else (e.g. a manual rollback).
        if *res == ids::secrets()
            && conditions::label(obj, "owner") == Some("helm")
            && spec_changed
            && !self.helm.is_own_write(res, &key, obj)
            && let Some(rel) = conditions::label(obj, "name")
        {
            for hr in self.helm.releases_named(&ev.namespace, rel) {
                let delay = self.clock.scaled(helm::DRIFT_CHECK_DELAY);
                self.queue.push_after(Work::Hr(hr), delay);
            }
            return;
        }
        // Values sources labelled for watching.
        if (*res == ids::configmaps() || *res == ids::secrets())
            && spec_changed
            && conditions::label(obj, "reconcile.fluxcd.io/watch") == Some("Enabled")
        {
            let ws: Vec<Work> = self
                .watchers
                .get(&id)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            for w in ws {
                self.queue.push_now(w);
            }
        }
    }

    fn run_work(&mut self, w: Work) {
        let flux = match &w {
            Work::Source(res, key) => Some((res.clone(), key, events::SOURCE)),
            Work::Ks(key) => Some((ids::kustomizations(), key, events::KUSTOMIZE)),
            Work::Hr(key) => Some((ids::helmreleases(), key, events::HELM)),
            Work::Workload(..) | Work::Step(_) => None,
        };
        if let Some((res, key, component)) = flux
            && self.stalled_on_invalid_spec(&res, key, component)
        {
            return;
        }
        match w {
            Work::Source(res, key) => self.reconcile_source(&res, &key),
            Work::Ks(key) => self.reconcile_kustomization(&key),
            Work::Hr(key) => self.reconcile_helmrelease(&key),
            Work::Workload(res, key) => self.reconcile_workload(&res, &key),
            Work::Step(i) => self.run_step(i),
        }
    }

    /// A Flux object whose spec holds a duration the controller cannot read (longer than Go's
    /// `time.Duration`, or not a duration) is not reconciled: it gets `Ready=False` and
    /// `Stalled=True` with reason `InvalidSpec` and the parse error, and waits for a spec
    /// change. Returns whether that happened.
    fn stalled_on_invalid_spec(&mut self, res: &ResourceId, key: &ObjKey, component: &str) -> bool {
        let Some(obj) = self.store.get(res, key) else {
            return false;
        };
        let Some(message) = clock::invalid_duration(&obj) else {
            return false;
        };
        if conditions::suspended(&obj) || obj.pointer("/metadata/deletionTimestamp").is_some() {
            return true;
        }
        let generation = conditions::generation(&obj);
        let mut st = conditions::status_of(&obj);
        let was = conditions::is_true(&obj, "Stalled");
        conditions::set(
            &mut st,
            "Ready",
            "False",
            INVALID_SPEC,
            &message,
            generation,
        );
        conditions::set(
            &mut st,
            "Stalled",
            "True",
            INVALID_SPEC,
            &message,
            generation,
        );
        conditions::remove(&mut st, "Reconciling");
        st.insert("observedGeneration".into(), serde_json::json!(generation));
        if let Err(e) = self.write_status(res, key, st) {
            tracing::warn!("writing the status of {}/{}: {e}", key.namespace, key.name);
        }
        if !was {
            self.events.emit(
                &self.store,
                &obj,
                events::Kind::Warning,
                INVALID_SPEC,
                &message,
                component,
                serde_json::Map::new(),
            );
        }
        true
    }

    async fn run(&mut self, mut rx: tokio::sync::broadcast::Receiver<Arc<ChangeEvent>>) {
        let mut since_yield = 0u32;
        loop {
            loop {
                match rx.try_recv() {
                    Ok(ev) => self.on_change(&ev),
                    Err(TryRecvError::Lagged(_)) => {
                        self.fingerprints.clear();
                        self.enqueue_everything();
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => return,
                }
            }
            self.queue.promote_due(tokio::time::Instant::now());
            if let Some(w) = self.queue.pop() {
                self.run_work(w);
                since_yield += 1;
                if since_yield >= 32 {
                    since_yield = 0;
                    tokio::task::yield_now().await;
                }
                continue;
            }
            let next = self.queue.next_due();
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(ev) => self.on_change(&ev),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        self.fingerprints.clear();
                        self.enqueue_everything();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = async {
                    match next {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
        }
    }
}
