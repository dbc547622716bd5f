//! Everything fluxdeck watches in one cluster: a reflector per served Flux kind, lazy
//! reflectors for managed objects per (kind, namespace), and the conversion of their stores
//! into the domain [`Snapshot`]. Objects are converted once per resourceVersion; a malformed
//! object becomes an error line instead of breaking its whole kind.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::core::{ApiResource, DynamicObject};
use serde_json::Value;

use super::discovery::{Discovery, DiscoveryError, Resolved};
use super::watch::{self, Notifier, Reflector, WatchKey, WatchState};
use crate::domain::flux::{FluxKind, FluxObject, ObjectKind};
use crate::domain::secrets;
use crate::domain::tree::Snapshot;

/// A managed-object scope: a kind (not a Flux kind) in a namespace (`None` = all / cluster).
pub type Scope = (ObjectKind, Option<String>);

/// What an object from a store became, for the resourceVersion it had. Flux objects keep
/// only their typed form (the JSON is in the reflector's store already), managed objects
/// their JSON.
struct Converted {
    resource_version: String,
    form: Form,
}

enum Form {
    Flux(Result<Arc<FluxObject>, String>),
    Managed(Result<Arc<Value>, String>),
}

/// The watches of one cluster (one context and namespace choice).
pub struct ClusterWatch {
    client: Client,
    discovery: Arc<Discovery>,
    notifier: Notifier,
    namespace: Option<String>,
    flux: Vec<(FluxKind, Reflector<DynamicObject>)>,
    managed: BTreeMap<Scope, Reflector<DynamicObject>>,
    /// Conversion cache by (watch, namespace, name).
    cache: HashMap<(WatchKey, String, String), Converted>,
}

/// Resolve the kind of a managed scope (discovery, cached per group-version).
pub async fn resolve_scope(
    discovery: &Discovery,
    scope: &Scope,
) -> Result<Resolved, DiscoveryError> {
    discovery
        .resolve(scope.0.group(), scope.0.kind(), &[])
        .await
}

fn uid_key(o: &DynamicObject) -> (String, String, String) {
    (
        o.metadata.namespace.clone().unwrap_or_default(),
        o.metadata.name.clone().unwrap_or_default(),
        o.metadata.resource_version.clone().unwrap_or_default(),
    )
}

fn to_value(o: &DynamicObject, ar: &ApiResource) -> Result<Value, String> {
    let mut v = serde_json::to_value(o).map_err(|e| e.to_string())?;
    if let Some(m) = v.as_object_mut() {
        m.entry("apiVersion")
            .or_insert_with(|| Value::String(ar.api_version.clone()));
        m.entry("kind")
            .or_insert_with(|| Value::String(ar.kind.clone()));
    }
    Ok(v)
}

impl ClusterWatch {
    /// Resolve the Flux kinds and start their reflectors. Kinds the server does not serve are
    /// reported as [`WatchState::NotInstalled`] through the notifier.
    pub async fn start(
        client: Client,
        namespace: Option<String>,
        notifier: Notifier,
    ) -> Result<ClusterWatch, DiscoveryError> {
        let discovery = Arc::new(Discovery::new(client.clone()));
        let mut flux = Vec::new();
        for kind in FluxKind::ALL {
            let key = WatchKey::new(kind.group(), kind.as_str(), namespace.as_deref());
            match discovery
                .resolve(kind.group(), kind.as_str(), kind.versions())
                .await?
            {
                Resolved::Served { resource, .. } => {
                    let r = watch::spawn::<DynamicObject>(
                        client.clone(),
                        resource,
                        namespace.as_deref(),
                        key,
                        notifier.clone(),
                    );
                    flux.push((kind, r));
                }
                Resolved::NotInstalled => notifier.report(&key, WatchState::NotInstalled),
            }
        }
        Ok(ClusterWatch {
            client,
            discovery,
            notifier,
            namespace,
            flux,
            managed: BTreeMap::new(),
            cache: HashMap::new(),
        })
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    pub fn discovery(&self) -> Arc<Discovery> {
        self.discovery.clone()
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Watch exactly these managed scopes: start the missing ones, release the others.
    /// Resolving a new kind may ask the API server (discovery); the executor does the same in
    /// steps ([`Self::retain_scopes`], [`Self::add_scope`]) to keep that off its loop.
    pub async fn set_managed_scopes(&mut self, scopes: &BTreeSet<Scope>) {
        for scope in self.retain_scopes(scopes) {
            let resolved = resolve_scope(&self.discovery, &scope).await;
            self.add_scope(scope, resolved);
        }
    }

    /// Release the managed watches not in `scopes`; returns the scopes still to start.
    pub fn retain_scopes(&mut self, scopes: &BTreeSet<Scope>) -> Vec<Scope> {
        let stale: Vec<Scope> = self
            .managed
            .keys()
            .filter(|s| !scopes.contains(*s))
            .cloned()
            .collect();
        for s in stale {
            if let Some(r) = self.managed.remove(&s) {
                self.cache.retain(|(k, _, _), _| *k != r.key);
            }
        }
        // Secrets are never watched (domain::secrets): one is read when it is shown.
        scopes
            .iter()
            .filter(|s| {
                !self.managed.contains_key(*s)
                    && s.0.flux().is_none()
                    && secrets::is_watchable(&s.0)
            })
            .cloned()
            .collect()
    }

    /// Start the watch of one managed scope once its kind is resolved (or report why not).
    pub fn add_scope(&mut self, scope: Scope, resolved: Result<Resolved, DiscoveryError>) {
        if self.managed.contains_key(&scope) {
            return;
        }
        let (kind, ns) = &scope;
        let key = WatchKey::new(kind.group(), kind.kind(), ns.as_deref());
        match resolved {
            Ok(Resolved::Served {
                resource,
                namespaced,
            }) => {
                let ns = if namespaced { ns.as_deref() } else { None };
                let r = watch::spawn::<DynamicObject>(
                    self.client.clone(),
                    resource,
                    ns,
                    key,
                    self.notifier.clone(),
                );
                self.managed.insert(scope, r);
            }
            Ok(Resolved::NotInstalled) => self.notifier.report(&key, WatchState::NotInstalled),
            Err(e) => self.notifier.report(
                &key,
                match e.code {
                    Some(403) => WatchState::Forbidden {
                        message: e.to_string(),
                    },
                    _ => WatchState::Reconnecting {
                        since: Timestamp::now(),
                        error: e.to_string(),
                    },
                },
            ),
        }
    }

    /// Whether every watch has finished its first list (or cannot: not installed, forbidden).
    pub fn is_synced(&self) -> bool {
        self.notifier
            .health()
            .values()
            .all(|s| !matches!(s, WatchState::Connecting))
    }

    /// Build the domain snapshot from the stores. Returns the objects that could not be read.
    pub fn snapshot(&mut self, now: Timestamp) -> (Snapshot, Vec<String>) {
        let mut snap = Snapshot::new(now);
        let mut errors = Vec::new();
        let mut seen: BTreeSet<(WatchKey, String, String)> = BTreeSet::new();
        for (kind, r) in &self.flux {
            let ar = &r.resource;
            // A store that held a complete list is loaded, even while its watch reconnects
            // (the header marks it stale).
            if self.notifier.has_listed(&r.key) {
                snap.mark_loaded(ObjectKind::Flux(*kind), self.namespace.as_deref());
            }
            for o in r.store.state() {
                let (ns, name, rv) = uid_key(&o);
                let ck = (r.key.clone(), ns, name);
                let entry = self.cache.get(&ck);
                let fresh = entry.is_some_and(|c| c.resource_version == rv);
                if !fresh {
                    let flux = to_value(&o, ar).and_then(|v| {
                        FluxObject::from_value_as(*kind, v)
                            .map(Arc::new)
                            .map_err(|e| e.to_string())
                    });
                    self.cache.insert(
                        ck.clone(),
                        Converted {
                            resource_version: rv,
                            form: Form::Flux(flux),
                        },
                    );
                }
                if let Some(c) = self.cache.get(&ck) {
                    match &c.form {
                        Form::Flux(Ok(f)) => snap.insert_flux(f.clone()),
                        Form::Flux(Err(e)) => {
                            errors.push(format!("{}/{}/{}: {e}", kind.as_str(), ck.1, ck.2))
                        }
                        Form::Managed(_) => {}
                    }
                }
                seen.insert(ck);
            }
        }
        for ((kind, ns), r) in &self.managed {
            let ar = &r.resource;
            if self.notifier.has_listed(&r.key) {
                snap.mark_loaded(kind.clone(), ns.as_deref());
            }
            for o in r.store.state() {
                let (ons, name, rv) = uid_key(&o);
                let ck = (r.key.clone(), ons, name);
                let fresh = self
                    .cache
                    .get(&ck)
                    .is_some_and(|c| c.resource_version == rv);
                if !fresh {
                    self.cache.insert(
                        ck.clone(),
                        Converted {
                            resource_version: rv,
                            form: Form::Managed(to_value(&o, ar).map(Arc::new)),
                        },
                    );
                }
                if let Some(c) = self.cache.get(&ck) {
                    match &c.form {
                        Form::Managed(Ok(v)) => {
                            snap.insert_managed(v.clone());
                        }
                        Form::Managed(Err(e)) => {
                            errors.push(format!("{}/{}/{}: {e}", kind.kind(), ck.1, ck.2))
                        }
                        Form::Flux(_) => {}
                    }
                }
                seen.insert(ck);
            }
        }
        self.cache.retain(|k, _| seen.contains(k));
        errors.sort();
        (snap, errors)
    }
}
