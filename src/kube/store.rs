//! The one stored form of each watched object. A watch converts every object it receives
//! once, in its own task, into the form the tree, details, why view and diffs read (a typed
//! [`FluxObject`] for Flux kinds; for a managed object its JSON pruned to the paths its
//! readers read, [`managed::KEPT`]) and keeps only that: no JSON copy beside the typed one,
//! no `metadata.managedFields` and no last-applied annotation (which repeats the whole
//! object). Full objects for the YAML view are fetched when shown.
//!
//! Objects arrive as the JSON text the API server wrote ([`decode`]): a Flux object is
//! decoded once, straight into its typed struct, with no `DynamicObject` or `Value` between.
//!
//! An object whose resourceVersion did not change is not converted again (a relist after a
//! reconnect reuses what the store holds). [`Conversions`] counts the conversions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kube::core::ApiResource;
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::flux::{FluxKind, FluxObject, ObjectKey};
use crate::domain::tree;
use crate::kube::managed;

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

/// What the store reads of an object's JSON text before deciding whether to convert it: its
/// namespace, name and resourceVersion. Everything else is skipped, not decoded.
#[derive(Debug, Default)]
pub(crate) struct Head {
    /// (namespace, name); empty strings when absent.
    key: (String, String),
    pub(crate) resource_version: Option<String>,
}

#[derive(Deserialize)]
struct HeadText {
    #[serde(default)]
    metadata: Option<HeadMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeadMeta {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    resource_version: Option<String>,
}

impl Head {
    /// The head of an object's JSON text. Text without a readable identity (not an object,
    /// or metadata of the wrong types) gives an empty one: its conversion reports why.
    pub(crate) fn read(text: &str) -> Head {
        let meta = serde_json::from_str::<HeadText>(text)
            .ok()
            .and_then(|h| h.metadata);
        match meta {
            Some(m) => Head {
                key: (m.namespace.unwrap_or_default(), m.name.unwrap_or_default()),
                resource_version: m.resource_version,
            },
            None => Head::default(),
        }
    }
}

/// Convert one object, as the API server wrote it (JSON text), into its stored form,
/// decoding it once: a Flux kind straight into its typed struct (whose metadata keeps
/// neither managed fields nor the last-applied annotation), a managed object into JSON
/// pruned to [`managed::KEPT`] (which keeps neither). Items of a list that leave out
/// `apiVersion` and `kind` get the watched resource's.
pub fn decode(text: &str, form: Form, ar: &ApiResource) -> Result<Stored, String> {
    match form {
        Form::Flux(kind) => FluxObject::from_str_as(kind, text)
            .map(|f| Stored::Flux(Arc::new(f.with_types_or(&ar.api_version, &ar.kind))))
            .map_err(|e| e.to_string()),
        Form::Managed => {
            let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let Value::Object(mut map) = value else {
                // Named by its JSON type only: the value itself may be anything, of any size.
                let what = match value {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    Value::Null | Value::Object(_) => "null",
                };
                return Err(format!("object is not a map but {what}"));
            };
            let typed = ["apiVersion", "kind"]
                .iter()
                .all(|k| map.get(*k).is_some_and(Value::is_string));
            if !typed {
                map.insert("apiVersion".into(), Value::String(ar.api_version.clone()));
                map.insert("kind".into(), Value::String(ar.kind.clone()));
            }
            Ok(Stored::Managed(Arc::new(managed::prune(Value::Object(
                map,
            )))))
        }
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

    /// The stored entry for the object `text` whose head is `head`: the one already held
    /// when its resourceVersion is the same, else a new conversion.
    fn entry(&self, head: &Head, text: &str) -> Arc<Entry> {
        let rv = head.resource_version.clone().unwrap_or_default();
        if !rv.is_empty()
            && let Some(held) = self.store.objects.read().get(&head.key)
            && held.resource_version == rv
        {
            return held.clone();
        }
        self.conversions.add();
        let object = decode(text, self.form, &self.resource);
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

    /// An object of the list in progress (its JSON text and head).
    pub(crate) fn listed(&mut self, head: Head, text: &str) {
        let e = self.entry(&head, text);
        self.listing
            .get_or_insert_with(Objects::new)
            .insert(head.key, e);
    }

    /// The list is complete: it replaces the store (objects deleted meanwhile disappear).
    pub(crate) fn end_list(&mut self) {
        let listed = self.listing.take().unwrap_or_default();
        *self.store.objects.write() = listed;
    }

    /// An object was added or modified (its JSON text and head).
    pub(crate) fn apply(&mut self, head: Head, text: &str) {
        let e = self.entry(&head, text);
        self.store.objects.write().insert(head.key, e);
    }

    /// An object was deleted.
    pub(crate) fn delete(&mut self, head: &Head) {
        self.store.objects.write().remove(&head.key);
    }
}

/// The stored form as it was made before objects were decoded from their text: each object
/// decoded into a `DynamicObject`, its metadata stripped and serialised back into a `Value`,
/// then read again ([`before::convert`]). Kept to show that [`decode`] stores the same.
#[cfg(test)]
pub(crate) mod before {
    use std::sync::Arc;

    use kube::core::{ApiResource, DynamicObject};
    use serde_json::Value;

    use super::{Form, Stored};
    use crate::domain::flux::FluxObject;
    use crate::kube::managed;

    use crate::domain::flux::LAST_APPLIED;

    fn strip(o: &mut DynamicObject) {
        o.metadata.managed_fields = None;
        if let Some(a) = o.metadata.annotations.as_mut() {
            a.remove(LAST_APPLIED);
            if a.is_empty() {
                o.metadata.annotations = None;
            }
        }
    }

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

    /// One object from the API server (decoded as a `DynamicObject`) in its stored form.
    pub(crate) fn convert(
        mut o: DynamicObject,
        form: Form,
        ar: &ApiResource,
    ) -> Result<Stored, String> {
        strip(&mut o);
        if matches!(form, Form::Flux(_)) {
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

    /// The stored form of `text` as [`decode`](super::decode) makes it and as it was made
    /// before are equal, and so are the identity and version the store keys it by.
    #[allow(clippy::panic, clippy::unwrap_used)]
    pub(crate) fn assert_same(text: &str, form: Form, ar: &ApiResource) {
        let new = super::decode(text, form, ar);
        let o: DynamicObject = serde_json::from_str(text).unwrap();
        let head = super::Head::read(text);
        assert_eq!(head.resource_version, o.metadata.resource_version);
        assert_eq!(
            head.key,
            (
                o.metadata.namespace.clone().unwrap_or_default(),
                o.metadata.name.clone().unwrap_or_default()
            )
        );
        let old = convert(o, form, ar);
        match (&new, &old) {
            (Ok(Stored::Flux(a)), Ok(Stored::Flux(b))) => {
                assert_eq!(a, b, "stored differently: {text}")
            }
            (Ok(Stored::Managed(a)), Ok(Stored::Managed(b))) => {
                assert_eq!(a, b, "stored differently: {text}")
            }
            _ => panic!("stored differently: {text}\nnow: {new:?}\nbefore: {old:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use kube::core::GroupVersionKind;
    use serde_json::json;

    use super::*;
    use crate::domain::flux::LAST_APPLIED;

    fn helmreleases() -> ApiResource {
        ApiResource::from_gvk(&GroupVersionKind::gvk(
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
        ))
    }

    fn hr(name: &str, rv: &str) -> String {
        json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {
                "name": name, "namespace": "apps", "resourceVersion": rv,
                "uid": "0b5c7c1e-1111-2222-3333-444455556666",
                "annotations": {
                    LAST_APPLIED: "{\"the\":\"whole object\"}",
                    "reconcile.fluxcd.io/requestedAt": "now",
                },
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            },
            "spec": {"interval": "5m", "values": {"replicaCount": 2}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        })
        .to_string()
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

    fn apply(w: &mut StoreWriter, text: &str) {
        w.apply(Head::read(text), text);
    }

    fn listed(w: &mut StoreWriter, text: &str) {
        w.listed(Head::read(text), text);
    }

    #[test]
    fn one_typed_form_without_managed_fields_or_last_applied() {
        let (store, mut w, conversions) = writer();
        apply(&mut w, &hr("a", "1"));
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
            listed(&mut w, &hr(&format!("hr-{i}"), "1"));
        }
        assert!(
            store.is_empty(),
            "the store changes when the list is complete"
        );
        w.end_list();
        assert_eq!((store.len(), conversions.get()), (10, 10));
        // The same version again (a relist, a repeated event): nothing converted.
        apply(&mut w, &hr("hr-3", "1"));
        w.begin_list();
        for i in 0..10 {
            listed(&mut w, &hr(&format!("hr-{i}"), "1"));
        }
        w.end_list();
        assert_eq!(conversions.get(), 10);
        // Two objects change: two conversions.
        apply(&mut w, &hr("hr-1", "2"));
        apply(&mut w, &hr("hr-2", "2"));
        assert_eq!(conversions.get(), 12);
        assert_eq!(store.get("apps", "hr-1").unwrap().resource_version, "2");
        // A relist without hr-9 drops it.
        w.begin_list();
        for i in 0..9 {
            let rv = if i == 1 || i == 2 { "2" } else { "1" };
            listed(&mut w, &hr(&format!("hr-{i}"), rv));
        }
        w.end_list();
        assert_eq!((store.len(), conversions.get()), (9, 12));
        w.delete(&Head::read(&hr("hr-0", "1")));
        assert_eq!(store.len(), 8);
    }

    #[test]
    fn an_unreadable_object_is_an_error_entry_under_its_name() {
        let (store, mut w, conversions) = writer();
        let bad = json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "bad", "namespace": "apps", "resourceVersion": "1"},
            "spec": {"interval": 5},
        })
        .to_string();
        apply(&mut w, &bad);
        let e = store.get("apps", "bad").unwrap();
        let Err(error) = &e.object else {
            panic!("read: {e:?}")
        };
        assert!(error.contains("HelmRelease"), "{error}");
        assert_eq!((e.resource_version.as_str(), e.key.is_none()), ("1", true));
        // The same version again is not read again; a fixed one replaces the error.
        apply(&mut w, &bad);
        assert_eq!(conversions.get(), 1);
        apply(&mut w, &hr("bad", "2"));
        assert!(store.get("apps", "bad").unwrap().object.is_ok());
    }

    /// Text that is not an object at all still gets an entry (an error, under no name).
    #[test]
    fn text_that_is_not_an_object_is_an_error_entry() {
        let (store, mut w, _) = writer();
        apply(&mut w, "[1, 2]");
        let e = store.get("", "").unwrap();
        assert!(e.object.is_err(), "{e:?}");
        let managed = ObjectStore::new();
        let mut w = StoreWriter::new(
            managed.clone(),
            Form::Managed,
            helmreleases(),
            Conversions::default(),
        );
        apply(&mut w, "\"text\"");
        let e = managed.get("", "").unwrap();
        let error = e.object.as_ref().unwrap_err();
        assert_eq!(error, "object is not a map but a string");
        // A large value is named by its type, not copied into the message.
        let big = format!("[{}1]", "1,".repeat(100_000));
        apply(&mut w, &big);
        let e = managed.get("", "").unwrap();
        assert_eq!(
            e.object.as_ref().unwrap_err(),
            "object is not a map but an array"
        );
    }

    #[test]
    fn managed_objects_keep_their_json_without_managed_fields() {
        let store = ObjectStore::new();
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"));
        let mut w = StoreWriter::new(store.clone(), Form::Managed, ar, Conversions::default());
        // The items of a list of a built-in kind come without apiVersion and kind.
        let d = json!({
            "metadata": {"name": "web", "namespace": "apps", "resourceVersion": "4",
                         "managedFields": [{"manager": "helm"}]},
            "spec": {"replicas": 2},
        })
        .to_string();
        apply(&mut w, &d);
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

    #[test]
    fn stored_as_before_with_or_without_types_and_annotations() {
        let hrs = helmreleases();
        before::assert_same(&hr("a", "1"), Form::Flux(FluxKind::HelmRelease), &hrs);
        let bare = json!({
            "metadata": {"name": "a", "namespace": "apps", "resourceVersion": "1",
                         "annotations": {LAST_APPLIED: "{}"}, "labels": {}},
            "spec": {"interval": "5m"},
        })
        .to_string();
        before::assert_same(&bare, Form::Flux(FluxKind::HelmRelease), &hrs);
        before::assert_same(&bare, Form::Managed, &hrs);
        let Ok(Stored::Flux(o)) = decode(&bare, Form::Flux(FluxKind::HelmRelease), &hrs) else {
            panic!()
        };
        let meta = o.metadata();
        assert_eq!(meta.annotations, None, "only last-applied: no annotations");
        assert_eq!(meta.labels.as_ref().map(|l| l.len()), Some(0));
        let FluxObject::HelmRelease(h) = &*o else {
            panic!()
        };
        assert_eq!(
            (h.api_version.as_deref(), h.kind.as_deref()),
            (Some("helm.toolkit.fluxcd.io/v2"), Some("HelmRelease"))
        );
    }
}
