//! The one stored form of each watched object. A watch converts every object it receives
//! once, in its own task, into the form the tree, details, why view and diffs read (a typed
//! [`FluxObject`] for Flux kinds; for a managed object its JSON pruned to the paths its
//! readers read, [`managed::KEPT`]) and keeps only that: no JSON copy beside the typed one,
//! no `metadata.managedFields` and no last-applied annotation (which repeats the whole
//! object). Full objects for the YAML view are fetched when shown.
//!
//! An object whose resourceVersion did not change is not converted again (a relist after a
//! reconnect reuses what the store holds). [`Conversions`] counts the conversions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kube::core::{ApiResource, DynamicObject};
use parking_lot::RwLock;
use serde_json::Value;

use crate::domain::flux::{FluxKind, FluxObject, ObjectKey};
use crate::domain::tree;
use crate::kube::managed;

/// The annotation `kubectl apply` leaves: the whole object again, as a string.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What a watch turns its objects into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A typed Flux object of this kind.
    Flux(FluxKind),
    /// The JSON of a managed (non-Flux) object, pruned to what its readers read.
    Managed,
}

/// An object in its stored form.
#[derive(Clone, Debug)]
pub enum Stored {
    Flux(Arc<FluxObject>),
    Managed(Arc<Value>),
}

/// One object of a store: its form for the resourceVersion it had, or why it could not be
/// read (shown as an error line instead of breaking its whole kind).
#[derive(Debug)]
pub struct Entry {
    pub resource_version: String,
    pub object: Result<Stored, String>,
    /// The object's identity, made once here: every snapshot, graph and tree built from this
    /// entry shares its strings. `None` when the object could not be read or has no name.
    pub key: Option<ObjectKey>,
}

/// Objects by (namespace, name).
type Objects = HashMap<(String, String), Arc<Entry>>;

/// The objects of one watch, shared between the watch task (the only writer) and the
/// snapshot. Cloning is cheap (the same store).
#[derive(Clone, Default)]
pub struct ObjectStore {
    objects: Arc<RwLock<Objects>>,
}

/// How many objects were converted into their stored form (shared by every watch of a
/// cluster). A burst of N watch events converts N objects, not the estate.
#[derive(Clone, Debug, Default)]
pub struct Conversions(Arc<AtomicU64>);

impl Conversions {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn key_of(o: &DynamicObject) -> (String, String) {
    (
        o.metadata.namespace.clone().unwrap_or_default(),
        o.metadata.name.clone().unwrap_or_default(),
    )
}

/// Drop what no view reads and what makes objects large: `metadata.managedFields` and the
/// last-applied annotation.
fn strip(o: &mut DynamicObject) {
    o.metadata.managed_fields = None;
    if let Some(a) = o.metadata.annotations.as_mut() {
        a.remove(LAST_APPLIED);
        if a.is_empty() {
            o.metadata.annotations = None;
        }
    }
}

/// The object as plain JSON, moving its content (only the metadata is serialised).
fn into_value(o: DynamicObject, ar: &ApiResource) -> Result<Value, String> {
    let DynamicObject {
        types,
        metadata,
        data,
    } = o;
    let map = match data {
        Value::Object(m) => m,
        Value::Null => serde_json::Map::new(),
        other => return Err(format!("object content is not a map: {other}")),
    };
    let (api_version, kind) = match types {
        Some(t) => (t.api_version, t.kind),
        None => (ar.api_version.clone(), ar.kind.clone()),
    };
    let metadata = serde_json::to_value(metadata).map_err(|e| e.to_string())?;
    let mut out = serde_json::Map::with_capacity(map.len() + 3);
    out.insert("apiVersion".into(), Value::String(api_version));
    out.insert("kind".into(), Value::String(kind));
    out.insert("metadata".into(), metadata);
    for (k, v) in map {
        if !out.contains_key(&k) {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out))
}

/// Convert one object from the API server into its stored form.
pub fn convert(mut o: DynamicObject, form: Form, ar: &ApiResource) -> Result<Stored, String> {
    strip(&mut o);
    if matches!(form, Form::Flux(_)) {
        // No view reads a Flux object's uid (a managed object keeps only what `managed::KEPT`
        // lists).
        o.metadata.uid = None;
    }
    let value = into_value(o, ar)?;
    match form {
        Form::Flux(kind) => FluxObject::from_value_as(kind, value)
            .map(|f| Stored::Flux(Arc::new(f)))
            .map_err(|e| e.to_string()),
        Form::Managed => Ok(Stored::Managed(Arc::new(managed::prune(value)))),
    }
}

impl ObjectStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many objects the store holds.
    pub fn len(&self) -> usize {
        self.objects.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.read().is_empty()
    }

    /// Call `f` with every object (the store is read-locked meanwhile: keep `f` short).
    pub fn for_each(&self, mut f: impl FnMut(&str, &str, &Entry)) {
        for ((ns, name), e) in self.objects.read().iter() {
            f(ns, name, e);
        }
    }

    /// The entry of an object, if the store holds it.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<Entry>> {
        self.objects
            .read()
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }
}

/// The writing side of a store, owned by its watch task.
pub(crate) struct StoreWriter {
    store: ObjectStore,
    form: Form,
    resource: ApiResource,
    conversions: Conversions,
    /// A list in progress: the objects listed so far (the store keeps the previous ones
    /// until the list completes).
    listing: Option<Objects>,
}

impl StoreWriter {
    pub(crate) fn new(
        store: ObjectStore,
        form: Form,
        resource: ApiResource,
        conversions: Conversions,
    ) -> Self {
        Self {
            store,
            form,
            resource,
            conversions,
            listing: None,
        }
    }

    /// The stored entry for `o`: the one already held when its resourceVersion is the same,
    /// else a new conversion.
    fn entry(&self, o: DynamicObject, key: &(String, String)) -> Arc<Entry> {
        let rv = o.metadata.resource_version.clone().unwrap_or_default();
        if !rv.is_empty()
            && let Some(held) = self.store.objects.read().get(key)
            && held.resource_version == rv
        {
            return held.clone();
        }
        self.conversions.add();
        let object = convert(o, self.form, &self.resource);
        let key = match &object {
            Ok(Stored::Flux(f)) => Some(f.key()),
            Ok(Stored::Managed(v)) => tree::key_of(v),
            Err(_) => None,
        };
        Arc::new(Entry {
            resource_version: rv,
            object,
            key,
        })
    }

    /// A list begins.
    pub(crate) fn begin_list(&mut self) {
        self.listing = Some(Objects::new());
    }

    /// An object of the list in progress.
    pub(crate) fn listed(&mut self, o: DynamicObject) {
        let key = key_of(&o);
        let e = self.entry(o, &key);
        self.listing.get_or_insert_with(Objects::new).insert(key, e);
    }

    /// The list is complete: it replaces the store (objects deleted meanwhile disappear).
    pub(crate) fn end_list(&mut self) {
        let listed = self.listing.take().unwrap_or_default();
        *self.store.objects.write() = listed;
    }

    /// An object was added or modified.
    pub(crate) fn apply(&mut self, o: DynamicObject) {
        let key = key_of(&o);
        let e = self.entry(o, &key);
        self.store.objects.write().insert(key, e);
    }

    /// An object was deleted.
    pub(crate) fn delete(&mut self, o: &DynamicObject) {
        self.store.objects.write().remove(&key_of(o));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use kube::core::GroupVersionKind;
    use serde_json::json;

    use super::*;

    fn helmreleases() -> ApiResource {
        ApiResource::from_gvk(&GroupVersionKind::gvk(
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
        ))
    }

    fn hr(name: &str, rv: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {
                "name": name, "namespace": "apps", "resourceVersion": rv,
                "annotations": {
                    LAST_APPLIED: "{\"the\":\"whole object\"}",
                    "reconcile.fluxcd.io/requestedAt": "now",
                },
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            },
            "spec": {"interval": "5m", "values": {"replicaCount": 2}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }))
        .unwrap()
    }

    fn writer() -> (ObjectStore, StoreWriter, Conversions) {
        let store = ObjectStore::new();
        let conversions = Conversions::default();
        let w = StoreWriter::new(
            store.clone(),
            Form::Flux(FluxKind::HelmRelease),
            helmreleases(),
            conversions.clone(),
        );
        (store, w, conversions)
    }

    #[test]
    fn one_typed_form_without_managed_fields_or_last_applied() {
        let (store, mut w, conversions) = writer();
        w.apply(hr("a", "1"));
        assert_eq!(store.len(), 1);
        assert_eq!(conversions.get(), 1);
        let e = store.get("apps", "a").unwrap();
        let Ok(Stored::Flux(obj)) = &e.object else {
            panic!("not a typed Flux object: {e:?}")
        };
        // The typed metadata has no place for managed fields; annotations are kept.
        let meta = obj.metadata();
        let annotations = meta.annotations.as_ref().unwrap();
        assert_eq!(annotations.get(LAST_APPLIED), None);
        assert_eq!(
            annotations.get("reconcile.fluxcd.io/requestedAt"),
            Some("now")
        );
        let FluxObject::HelmRelease(h) = &**obj else {
            panic!("not a HelmRelease")
        };
        assert_eq!(
            h.spec.values.as_ref().map(|v| v.to_value()),
            Some(json!({"replicaCount": 2}))
        );
        assert_eq!(h.kind.as_deref(), Some("HelmRelease"));
    }

    #[test]
    fn only_changed_objects_are_converted() {
        let (store, mut w, conversions) = writer();
        w.begin_list();
        for i in 0..10 {
            w.listed(hr(&format!("hr-{i}"), "1"));
        }
        assert!(
            store.is_empty(),
            "the store changes when the list is complete"
        );
        w.end_list();
        assert_eq!((store.len(), conversions.get()), (10, 10));
        // The same version again (a relist, a repeated event): nothing converted.
        w.apply(hr("hr-3", "1"));
        w.begin_list();
        for i in 0..10 {
            w.listed(hr(&format!("hr-{i}"), "1"));
        }
        w.end_list();
        assert_eq!(conversions.get(), 10);
        // Two objects change: two conversions.
        w.apply(hr("hr-1", "2"));
        w.apply(hr("hr-2", "2"));
        assert_eq!(conversions.get(), 12);
        assert_eq!(store.get("apps", "hr-1").unwrap().resource_version, "2");
        // A relist without hr-9 drops it.
        w.begin_list();
        for i in 0..9 {
            w.listed(hr(
                &format!("hr-{i}"),
                if i == 1 || i == 2 { "2" } else { "1" },
            ));
        }
        w.end_list();
        assert_eq!((store.len(), conversions.get()), (9, 12));
        w.delete(&hr("hr-0", "1"));
        assert_eq!(store.len(), 8);
    }

    #[test]
    fn an_unreadable_object_is_an_error_entry() {
        let (store, mut w, _) = writer();
        let bad: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "bad", "namespace": "apps", "resourceVersion": "1"},
            "spec": {"interval": 5},
        }))
        .unwrap();
        w.apply(bad);
        assert!(store.get("apps", "bad").unwrap().object.is_err());
    }

    #[test]
    fn managed_objects_keep_their_json_without_managed_fields() {
        let store = ObjectStore::new();
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"));
        let mut w = StoreWriter::new(store.clone(), Form::Managed, ar, Conversions::default());
        let d: DynamicObject = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "apps", "resourceVersion": "4",
                         "managedFields": [{"manager": "helm"}]},
            "spec": {"replicas": 2},
        }))
        .unwrap();
        w.apply(d);
        let e = store.get("apps", "web").unwrap();
        let Ok(Stored::Managed(v)) = &e.object else {
            panic!("{e:?}")
        };
        assert_eq!(v["apiVersion"], "apps/v1");
        assert_eq!(v["kind"], "Deployment");
        assert_eq!(v["spec"]["replicas"], 2);
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(v["metadata"]["resourceVersion"], "4");
    }
}
