//! [`Snapshot`]: the plain data a tree is built from.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arcstr::ArcStr;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::domain::flux::{FluxKind, FluxObject, GroupKind, ObjectKey, ObjectKind};

/// A managed-object watch scope as the app asks for it and the runtime starts it: a kind in
/// a namespace (`None`: all namespaces, or a cluster-scoped kind).
pub type Scope = (ObjectKind, Option<String>);

/// A watched scope: a kind in one namespace, or in all namespaces (`namespace: None`, also
/// used for cluster-scoped kinds).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoadedScope {
    pub kind: ObjectKind,
    pub namespace: Option<ArcStr>,
}

/// Everything the tree needs, as plain data.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Every Flux object by identity (shared with the runtime's conversion cache, so a
    /// snapshot does not copy the objects).
    pub flux: HashMap<ObjectKey, Arc<FluxObject>>,
    /// Managed (non-Flux) objects by identity.
    pub managed: HashMap<ObjectKey, Arc<Value>>,
    /// Which kinds/namespaces are watched: an object outside them is "not loaded", inside
    /// them and absent it is "not found".
    pub loaded: HashSet<LoadedScope>,
    /// For HelmReleases without `status.inventory`: the objects in the manifest of the latest
    /// Helm release record (namespace-less namespaced objects already given the release
    /// namespace).
    pub helm_manifests: HashMap<ObjectKey, Vec<ObjectKey>>,
    /// The time ages are computed against.
    pub now: Timestamp,
}

impl Snapshot {
    pub fn new(now: Timestamp) -> Self {
        Self {
            flux: HashMap::new(),
            managed: HashMap::new(),
            loaded: HashSet::new(),
            helm_manifests: HashMap::new(),
            now,
        }
    }

    pub fn insert_flux(&mut self, obj: impl Into<Arc<FluxObject>>) {
        let obj = obj.into();
        self.flux.insert(obj.key(), obj);
    }

    /// Insert a managed object; its key is read from `apiVersion`, `kind` and `metadata`.
    /// Returns the key, or `None` when the object lacks a kind or name.
    pub fn insert_managed(&mut self, obj: Arc<Value>) -> Option<ObjectKey> {
        let key = key_of(&obj)?;
        self.managed.insert(key.clone(), obj);
        Some(key)
    }

    /// Record that a kind is watched in a namespace (`None`: all namespaces / cluster-wide).
    pub fn mark_loaded(&mut self, kind: ObjectKind, namespace: Option<&str>) {
        self.loaded.insert(LoadedScope {
            kind,
            namespace: namespace.map(ArcStr::from),
        });
    }

    /// Record that every Flux kind is watched in all namespaces.
    pub fn mark_flux_loaded(&mut self) {
        for k in FluxKind::ALL {
            self.mark_loaded(ObjectKind::Flux(k), None);
        }
    }

    /// Whether any Flux kind has been listed (before that, "no Flux objects" would be a guess).
    pub fn any_flux_loaded(&self) -> bool {
        self.loaded.iter().any(|s| s.kind.flux().is_some())
    }

    pub fn is_loaded(&self, key: &ObjectKey) -> bool {
        let all = LoadedScope {
            kind: key.kind.clone(),
            namespace: None,
        };
        if self.loaded.contains(&all) {
            return true;
        }
        let ns = LoadedScope {
            kind: key.kind.clone(),
            namespace: Some(key.namespace.clone()),
        };
        self.loaded.contains(&ns)
    }

    /// A snapshot of a complete set of objects (a file, a fixture, a full list): Flux kinds
    /// become typed objects, the rest managed objects, and every kind seen (plus all Flux
    /// kinds) counts as loaded everywhere. Objects that cannot be read are returned as errors
    /// beside the snapshot.
    pub fn from_objects(
        objects: impl IntoIterator<Item = Value>,
        now: Timestamp,
    ) -> (Self, Vec<String>) {
        let mut snap = Snapshot::new(now);
        let mut errors = Vec::new();
        snap.mark_flux_loaded();
        for obj in objects {
            let Some(key) = key_of(&obj) else {
                errors.push("object without kind or name".to_string());
                continue;
            };
            snap.mark_loaded(key.kind.clone(), None);
            if key.flux_kind().is_some() {
                match FluxObject::from_value(obj) {
                    Ok(o) => snap.insert_flux(o),
                    Err(e) => errors.push(format!("{key}: {e}")),
                }
            } else {
                snap.managed.insert(key, Arc::new(obj));
            }
        }
        (snap, errors)
    }
}

/// The identity of a JSON object.
pub fn key_of(obj: &Value) -> Option<ObjectKey> {
    let kind = obj.get("kind")?.as_str().filter(|k| !k.is_empty())?;
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let meta = obj.get("metadata")?;
    let name = meta.get("name")?.as_str().filter(|n| !n.is_empty())?;
    let namespace = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
    Some(ObjectKey::new(
        GroupKind::group_of_api_version(api_version),
        kind,
        namespace,
        name,
    ))
}
