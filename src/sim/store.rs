//! The simulated cluster's object store: JSON objects per resource, one global increasing
//! resourceVersion, Kubernetes object semantics (uid, generation, finalizers, status
//! subresource) and a retained event window that feeds watches.
//!
//! Both the HTTP server and the simulated controllers go through this type; nothing else
//! holds objects. Writes are serialised by one lock and every change is broadcast in order.
//! Every create and update is defaulted here ([`super::defaults`]), whoever writes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::defaults;

/// How many change events the store keeps for watches that start from an older version.
pub const DEFAULT_RETAINED_EVENTS: usize = 50_000;
/// Capacity of the live fan-out channel; a watcher that falls further behind is ended
/// with `410 Gone` and must relist, as on a real API server.
const BROADCAST_CAPACITY: usize = 65_536;

/// A resource (group + plural), independent of the version it is served under: all versions
/// of a kind share one storage, like CRD versions without conversion webhooks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    pub group: String,
    pub plural: String,
}

impl ResourceId {
    pub fn new(group: &str, plural: &str) -> Self {
        Self {
            group: group.to_string(),
            plural: plural.to_string(),
        }
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.plural)
        } else {
            write!(f, "{}.{}", self.plural, self.group)
        }
    }
}

/// Namespace ("" for cluster-scoped objects) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, in global resourceVersion order.
#[derive(Clone, Debug)]
pub struct ChangeEvent {
    pub rv: u64,
    pub kind: EventType,
    pub resource: ResourceId,
    pub namespace: String,
    pub object: Arc<Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    #[error(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { resource: String, name: String },
    #[error("{0}")]
    Invalid(String),
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
}

/// Which part of an object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritePart {
    /// The main resource: everything but `status` (status is kept from the stored object).
    Main,
    /// The status subresource: only `status` changes.
    Status,
    /// Both (used when a resource has no status subresource).
    All,
}

/// Options common to write verbs.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOpts {
    /// `dryRun=All`: compute and return the result, store nothing.
    pub dry_run: bool,
}

struct Inner {
    rv: u64,
    objects: HashMap<ResourceId, BTreeMap<ObjKey, Arc<Value>>>,
    history: VecDeque<Arc<ChangeEvent>>,
    retained: usize,
    /// Events at or below this version have left the retained window.
    compacted_rv: u64,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<ChangeEvent>>,
}

/// A watch started at some resourceVersion: first the retained events after it, then live ones.
pub struct WatchStart {
    pub backlog: Vec<Arc<ChangeEvent>>,
    pub live: broadcast::Receiver<Arc<ChangeEvent>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// The parts of an object that count as its spec for `metadata.generation`.
fn spec_part(obj: &Value) -> Map<String, Value> {
    let mut m = obj.as_object().cloned().unwrap_or_default();
    for k in ["metadata", "status", "apiVersion", "kind"] {
        m.remove(k);
    }
    m
}

fn has_finalizers(obj: &Value) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

fn set_meta(obj: &mut Value, field: &str, v: Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(field.to_string(), v);
    }
}

impl Store {
    pub fn new() -> Self {
        Self::with_retained(DEFAULT_RETAINED_EVENTS)
    }

    /// A store that keeps `retained` events for watches from older versions.
    pub fn with_retained(retained: usize) -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: HashMap::new(),
                history: VecDeque::new(),
                retained: retained.max(1),
                compacted_rv: 1,
            }),
            tx,
        }
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.inner.lock().rv
    }

    /// The oldest version a watch (or a list continuation) may start from; older ones have
    /// left the retained window and get `410 Gone`.
    pub fn compacted_rv(&self) -> u64 {
        self.inner.lock().compacted_rv
    }

    /// Drops all retained events, so any watch from an older version gets `410 Gone`.
    pub fn compact(&self) {
        let mut inner = self.inner.lock();
        inner.history.clear();
        inner.compacted_rv = inner.rv;
    }

    pub fn get(&self, res: &ResourceId, key: &ObjKey) -> Option<Arc<Value>> {
        self.inner.lock().objects.get(res)?.get(key).cloned()
    }

    /// All objects of a resource (in one namespace when given), sorted by namespace and name,
    /// with the list's resourceVersion.
    pub fn list(&self, res: &ResourceId, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let inner = self.inner.lock();
        let items = match inner.objects.get(res) {
            None => Vec::new(),
            Some(map) => match namespace {
                None => map.values().cloned().collect(),
                Some(ns) => map
                    .range(ObjKey::new(ns, "")..)
                    .take_while(|(k, _)| k.namespace == ns)
                    .map(|(_, v)| v.clone())
                    .collect(),
            },
        };
        (items, inner.rv)
    }

    /// Number of objects of a resource.
    pub fn count(&self, res: &ResourceId) -> usize {
        self.inner.lock().objects.get(res).map_or(0, BTreeMap::len)
    }

    /// Subscribe to every change after `after_rv` (or only new ones when `None`).
    pub fn watch(&self, after_rv: Option<u64>) -> Result<WatchStart, StoreError> {
        let inner = self.inner.lock();
        let live = self.tx.subscribe();
        let backlog = match after_rv {
            None => Vec::new(),
            Some(rv) if rv >= inner.rv => Vec::new(),
            Some(rv) if rv < inner.compacted_rv => {
                return Err(StoreError::Gone {
                    requested: rv,
                    oldest: inner.compacted_rv,
                });
            }
            Some(rv) => inner
                .history
                .iter()
                .filter(|e| e.rv > rv)
                .cloned()
                .collect(),
        };
        Ok(WatchStart { backlog, live })
    }

    /// How many live subscriptions there are: open watch streams and in-process controllers.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Subscribe to live changes only (for in-process controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeEvent>> {
        self.tx.subscribe()
    }

    fn emit(&self, inner: &mut Inner, kind: EventType, res: &ResourceId, obj: Arc<Value>) {
        let ev = Arc::new(ChangeEvent {
            rv: inner.rv,
            kind,
            resource: res.clone(),
            namespace: meta_str(&obj, "namespace").unwrap_or_default().to_string(),
            object: obj,
        });
        inner.history.push_back(ev.clone());
        while inner.history.len() > inner.retained {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted_rv = old.rv;
            }
        }
        // No receivers is fine: nobody watches yet.
        let _ = self.tx.send(ev);
    }

    fn key_of(obj: &Value) -> Result<ObjKey, StoreError> {
        let name = meta_str(obj, "name").unwrap_or_default();
        if name.is_empty() {
            return Err(StoreError::Invalid(
                "metadata.name: Required value: name is required".to_string(),
            ));
        }
        Ok(ObjKey::new(
            meta_str(obj, "namespace").unwrap_or_default(),
            name,
        ))
    }

    /// Create an object. Sets uid, creationTimestamp, generation and resourceVersion.
    pub fn create(
        &self,
        res: &ResourceId,
        mut obj: Value,
        opts: WriteOpts,
    ) -> Result<Arc<Value>, StoreError> {
        if !obj.is_object() {
            return Err(StoreError::Invalid("object must be a JSON object".into()));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let key = Self::key_of(&obj)?;
        let mut inner = self.inner.lock();
        if inner.objects.get(res).is_some_and(|m| m.contains_key(&key)) {
            return Err(StoreError::AlreadyExists {
                resource: res.to_string(),
                name: key.name,
            });
        }
        let rv = inner.rv + 1;
        set_meta(&mut obj, "uid", json!(uuid::Uuid::new_v4().to_string()));
        set_meta(&mut obj, "creationTimestamp", json!(now_rfc3339()));
        set_meta(&mut obj, "generation", json!(1));
        set_meta(&mut obj, "resourceVersion", json!(rv.to_string()));
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("deletionTimestamp");
        }
        defaults::apply(&res.group, &res.plural, &mut obj, None);
        if opts.dry_run {
            // Nothing is committed, so there is no resourceVersion to report.
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
            }
            return Ok(Arc::new(obj));
        }
        let obj = Arc::new(obj);
        inner.rv = rv;
        inner
            .objects
            .entry(res.clone())
            .or_default()
            .insert(key, obj.clone());
        self.emit(&mut inner, EventType::Added, res, obj.clone());
        Ok(obj)
    }

    /// Replace an object (PUT). `expected_rv` is the client's resourceVersion precondition;
    /// a stale one is a conflict. `part` says which part may change.
    pub fn update(
        &self,
        res: &ResourceId,
        obj: Value,
        expected_rv: Option<&str>,
        part: WritePart,
        opts: WriteOpts,
    ) -> Result<Arc<Value>, StoreError> {
        let key = Self::key_of(&obj)?;
        let mut inner = self.inner.lock();
        let current = inner
            .objects
            .get(res)
            .and_then(|m| m.get(&key))
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                resource: res.to_string(),
                name: key.name.clone(),
            })?;
        if let Some(rv) = expected_rv
            && !rv.is_empty()
            && Some(rv) != meta_str(&current, "resourceVersion")
        {
            return Err(StoreError::Conflict {
                resource: res.to_string(),
                name: key.name,
            });
        }
        let merged = merge_parts(&current, obj, part);
        self.commit(&mut inner, res, key, &current, merged, opts)
    }

    /// Read-modify-write under the store lock (for the simulated controllers and patches).
    /// `f` gets a copy of the current object; returning `Ok(None)` means "no change".
    pub fn modify<F>(
        &self,
        res: &ResourceId,
        key: &ObjKey,
        part: WritePart,
        opts: WriteOpts,
        f: F,
    ) -> Result<Arc<Value>, StoreError>
    where
        F: FnOnce(&Value) -> Result<Option<Value>, StoreError>,
    {
        let mut inner = self.inner.lock();
        let current = inner
            .objects
            .get(res)
            .and_then(|m| m.get(key))
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                resource: res.to_string(),
                name: key.name.clone(),
            })?;
        let Some(new) = f(&current)? else {
            return Ok(current);
        };
        if Self::key_of(&new)? != *key {
            return Err(StoreError::Invalid(
                "metadata.name and metadata.namespace may not change".to_string(),
            ));
        }
        let merged = merge_parts(&current, new, part);
        self.commit(&mut inner, res, key.clone(), &current, merged, opts)
    }

    fn commit(
        &self,
        inner: &mut Inner,
        res: &ResourceId,
        key: ObjKey,
        current: &Arc<Value>,
        mut new: Value,
        opts: WriteOpts,
    ) -> Result<Arc<Value>, StoreError> {
        defaults::apply(&res.group, &res.plural, &mut new, Some(current));
        // Identity fields always come from the stored object.
        for f in ["uid", "creationTimestamp", "deletionTimestamp"] {
            match current.get("metadata").and_then(|m| m.get(f)) {
                Some(v) => set_meta(&mut new, f, v.clone()),
                None => {
                    if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.remove(f);
                    }
                }
            }
        }
        let generation = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let generation = if spec_part(current) != spec_part(&new) {
            generation + 1
        } else {
            generation
        };
        set_meta(&mut new, "generation", json!(generation));
        set_meta(
            &mut new,
            "resourceVersion",
            current
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null),
        );
        if new == **current {
            return Ok(current.clone());
        }
        if opts.dry_run {
            // Nothing is committed: the answer keeps the stored resourceVersion.
            return Ok(Arc::new(new));
        }
        let rv = inner.rv + 1;
        set_meta(&mut new, "resourceVersion", json!(rv.to_string()));
        let new = Arc::new(new);
        inner.rv = rv;
        // An object being deleted goes away once its last finalizer is removed.
        if is_deleting(&new) && !has_finalizers(&new) {
            if let Some(m) = inner.objects.get_mut(res) {
                m.remove(&key);
            }
            self.emit(inner, EventType::Deleted, res, new.clone());
            return Ok(new);
        }
        inner
            .objects
            .entry(res.clone())
            .or_default()
            .insert(key, new.clone());
        self.emit(inner, EventType::Modified, res, new.clone());
        Ok(new)
    }

    /// Delete an object: with finalizers it only gets a deletionTimestamp.
    pub fn delete(
        &self,
        res: &ResourceId,
        key: &ObjKey,
        opts: WriteOpts,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.inner.lock();
        let current = inner
            .objects
            .get(res)
            .and_then(|m| m.get(key))
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                resource: res.to_string(),
                name: key.name.clone(),
            })?;
        let rv = inner.rv + 1;
        let mut obj = (*current).clone();
        set_meta(&mut obj, "resourceVersion", json!(rv.to_string()));
        if has_finalizers(&current) {
            if is_deleting(&current) {
                return Ok(current);
            }
            set_meta(&mut obj, "deletionTimestamp", json!(now_rfc3339()));
            let obj = Arc::new(obj);
            if opts.dry_run {
                return Ok(obj);
            }
            inner.rv = rv;
            inner
                .objects
                .entry(res.clone())
                .or_default()
                .insert(key.clone(), obj.clone());
            self.emit(&mut inner, EventType::Modified, res, obj.clone());
            return Ok(obj);
        }
        let obj = Arc::new(obj);
        if opts.dry_run {
            return Ok(obj);
        }
        inner.rv = rv;
        if let Some(m) = inner.objects.get_mut(res) {
            m.remove(key);
        }
        self.emit(&mut inner, EventType::Deleted, res, obj.clone());
        Ok(obj)
    }

    /// Create the object, or replace its main part if it exists (used by scenario loading
    /// and by controllers that "apply" objects).
    pub fn upsert(&self, res: &ResourceId, obj: Value) -> Result<Arc<Value>, StoreError> {
        let key = Self::key_of(&obj)?;
        if self.get(res, &key).is_none() {
            match self.create(res, obj.clone(), WriteOpts::default()) {
                Err(StoreError::AlreadyExists { .. }) => {}
                other => return other,
            }
        }
        self.modify(res, &key, WritePart::Main, WriteOpts::default(), |cur| {
            let mut new = obj.clone();
            if let Some(rv) = cur.pointer("/metadata/resourceVersion") {
                set_meta(&mut new, "resourceVersion", rv.clone());
            }
            Ok(Some(new))
        })
    }
}

/// Combine the stored object and a new one according to which part may change.
fn merge_parts(current: &Value, mut new: Value, part: WritePart) -> Value {
    match part {
        WritePart::All => new,
        WritePart::Main => {
            if let Some(m) = new.as_object_mut() {
                match current.get("status") {
                    Some(s) => {
                        m.insert("status".into(), s.clone());
                    }
                    None => {
                        m.remove("status");
                    }
                }
            }
            new
        }
        WritePart::Status => {
            let mut out = current.clone();
            if let Some(m) = out.as_object_mut() {
                match new.as_object_mut().and_then(|n| n.remove("status")) {
                    Some(s) => {
                        m.insert("status".into(), s);
                    }
                    None => {
                        m.remove("status");
                    }
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(name: &str, data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "default"}, "data": {"k": data}})
    }

    fn cms() -> ResourceId {
        ResourceId::new("", "configmaps")
    }

    #[test]
    fn create_assigns_identity_and_versions_increase() {
        let s = Store::new();
        let a = s
            .create(&cms(), cm("a", "1"), WriteOpts::default())
            .unwrap();
        let b = s
            .create(&cms(), cm("b", "1"), WriteOpts::default())
            .unwrap();
        let rva: u64 = meta_str(&a, "resourceVersion").unwrap().parse().unwrap();
        let rvb: u64 = meta_str(&b, "resourceVersion").unwrap().parse().unwrap();
        assert!(rvb > rva);
        assert!(meta_str(&a, "uid").is_some());
        assert_eq!(
            s.create(&cms(), cm("a", "2"), WriteOpts::default()),
            Err(StoreError::AlreadyExists {
                resource: "configmaps".into(),
                name: "a".into()
            })
        );
    }

    #[test]
    fn stale_update_conflicts_and_generation_tracks_spec() {
        let s = Store::new();
        let a = s
            .create(&cms(), cm("a", "1"), WriteOpts::default())
            .unwrap();
        let rv = meta_str(&a, "resourceVersion").unwrap().to_string();
        let b = s
            .update(
                &cms(),
                cm("a", "2"),
                Some(&rv),
                WritePart::Main,
                WriteOpts::default(),
            )
            .unwrap();
        assert_eq!(b["metadata"]["generation"], 2);
        let err = s.update(
            &cms(),
            cm("a", "3"),
            Some(&rv),
            WritePart::Main,
            WriteOpts::default(),
        );
        assert!(matches!(err, Err(StoreError::Conflict { .. })));
    }

    #[test]
    fn status_writes_only_touch_status() {
        let s = Store::new();
        let hr = ResourceId::new("helm.toolkit.fluxcd.io", "helmreleases");
        let obj = json!({"metadata": {"name": "x", "namespace": "d"}, "spec": {"a": 1}});
        s.create(&hr, obj, WriteOpts::default()).unwrap();
        let with_status = json!({"metadata": {"name": "x", "namespace": "d"}, "spec": {"a": 2}, "status": {"ok": true}});
        let r = s
            .update(
                &hr,
                with_status.clone(),
                None,
                WritePart::Status,
                WriteOpts::default(),
            )
            .unwrap();
        assert_eq!(r["spec"]["a"], 1);
        assert_eq!(r["status"]["ok"], true);
        assert_eq!(r["metadata"]["generation"], 1);
        let r = s
            .update(
                &hr,
                json!({"metadata": {"name": "x", "namespace": "d"}, "spec": {"a": 3}}),
                None,
                WritePart::Main,
                WriteOpts::default(),
            )
            .unwrap();
        assert_eq!(r["spec"]["a"], 3);
        assert_eq!(r["status"]["ok"], true);
        assert_eq!(r["metadata"]["generation"], 2);
    }

    #[test]
    fn dry_run_stores_nothing() {
        let s = Store::new();
        let rv0 = s.resource_version();
        s.create(&cms(), cm("a", "1"), WriteOpts { dry_run: true })
            .unwrap();
        assert!(s.get(&cms(), &ObjKey::new("default", "a")).is_none());
        assert_eq!(s.resource_version(), rv0);
    }

    #[test]
    fn finalizers_delay_deletion() {
        let s = Store::new();
        let mut obj = cm("a", "1");
        obj["metadata"]["finalizers"] = json!(["x"]);
        s.create(&cms(), obj, WriteOpts::default()).unwrap();
        let key = ObjKey::new("default", "a");
        let d = s.delete(&cms(), &key, WriteOpts::default()).unwrap();
        assert!(is_deleting(&d));
        assert!(s.get(&cms(), &key).is_some());
        s.modify(&cms(), &key, WritePart::Main, WriteOpts::default(), |cur| {
            let mut n = cur.clone();
            n["metadata"]["finalizers"] = json!([]);
            Ok(Some(n))
        })
        .unwrap();
        assert!(s.get(&cms(), &key).is_none());
    }

    #[test]
    fn watch_replays_backlog_and_reports_gone() {
        let s = Store::with_retained(2);
        let a = s
            .create(&cms(), cm("a", "1"), WriteOpts::default())
            .unwrap();
        let rv: u64 = meta_str(&a, "resourceVersion").unwrap().parse().unwrap();
        s.create(&cms(), cm("b", "1"), WriteOpts::default())
            .unwrap();
        let w = s.watch(Some(rv)).unwrap();
        assert_eq!(w.backlog.len(), 1);
        s.create(&cms(), cm("c", "1"), WriteOpts::default())
            .unwrap();
        s.create(&cms(), cm("d", "1"), WriteOpts::default())
            .unwrap();
        assert!(matches!(s.watch(Some(rv)), Err(StoreError::Gone { .. })));
    }

    #[test]
    fn list_by_namespace() {
        let s = Store::new();
        s.create(&cms(), cm("a", "1"), WriteOpts::default())
            .unwrap();
        let mut other = cm("b", "1");
        other["metadata"]["namespace"] = json!("zzz");
        s.create(&cms(), other, WriteOpts::default()).unwrap();
        assert_eq!(s.list(&cms(), Some("default")).0.len(), 1);
        assert_eq!(s.list(&cms(), None).0.len(), 2);
        assert_eq!(s.list(&cms(), Some("nope")).0.len(), 0);
    }
}
