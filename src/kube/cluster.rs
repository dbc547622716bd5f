//! Everything fluxdeck watches in one cluster: a watch per served Flux kind, lazy watches
//! for managed objects per (kind, namespace), and the domain [`Snapshot`] assembled from
//! their stores. Each store keeps one form per object, converted by its watch when the
//! object arrives ([`super::store`]); a snapshot only shares them. A malformed object
//! becomes an error line instead of breaking its whole kind.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::Client;

use super::discovery::{Discovery, DiscoveryError, Resolved};
use super::store::{Conversions, Entry, Form, Stored};
use super::watch::{self, Notifier, Reflector, WatchKey, WatchState};
use crate::domain::flux::{FluxKind, ObjectKey, ObjectKind};
use crate::domain::secrets;
use crate::domain::tree::Snapshot;

pub use crate::domain::tree::Scope;

/// The watches of one cluster (one context and namespace choice).
pub struct ClusterWatch {
    client: Client,
    discovery: Arc<Discovery>,
    notifier: Notifier,
    namespace: Option<String>,
    flux: Vec<(FluxKind, Reflector)>,
    managed: BTreeMap<Scope, Reflector>,
    /// Objects converted into their stored form so far, by every watch.
    conversions: Conversions,
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

impl ClusterWatch {
    /// Resolve the Flux kinds and start their reflectors. Kinds the server does not serve are
    /// reported as [`WatchState::NotInstalled`] through the notifier.
    pub async fn start(
        client: Client,
        namespace: Option<String>,
        notifier: Notifier,
    ) -> Result<ClusterWatch, DiscoveryError> {
        let discovery = Arc::new(Discovery::new(client.clone()));
        let conversions = Conversions::default();
        let mut flux = Vec::new();
        for kind in FluxKind::ALL {
            let key = WatchKey::new(kind.group(), kind.as_str(), namespace.as_deref());
            match discovery
                .resolve(kind.group(), kind.as_str(), kind.versions())
                .await?
            {
                Resolved::Served { resource, .. } => {
                    let r = watch::spawn(
                        client.clone(),
                        resource,
                        namespace.as_deref(),
                        key,
                        notifier.clone(),
                        Form::Flux(kind),
                        conversions.clone(),
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
            conversions,
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

    /// How many objects the watches have converted into their stored form so far.
    pub fn conversions(&self) -> u64 {
        self.conversions.get()
    }

    /// How many objects the stores hold (each in one form).
    pub fn stored_objects(&self) -> usize {
        let flux: usize = self.flux.iter().map(|(_, r)| r.store.len()).sum();
        let managed: usize = self.managed.values().map(|r| r.store.len()).sum();
        flux + managed
    }

    /// The stored form of an object, if a watch holds it.
    pub fn stored(&self, key: &ObjectKey) -> Option<Arc<Entry>> {
        let ns = key.namespace.as_str();
        match key.flux_kind() {
            Some(k) => self
                .flux
                .iter()
                .filter(|(kind, _)| *kind == k)
                .find_map(|(_, r)| r.store.get(ns, &key.name)),
            None => self
                .managed
                .iter()
                .filter(|((kind, _), _)| *kind == key.kind)
                .find_map(|(_, r)| r.store.get(ns, &key.name)),
        }
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
            self.managed.remove(&s);
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
                let r = watch::spawn(
                    self.client.clone(),
                    resource,
                    ns,
                    key,
                    self.notifier.clone(),
                    Form::Managed,
                    self.conversions.clone(),
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

    /// Build the domain snapshot from the stores: the objects are shared, not converted
    /// (their watches did that when they arrived). Returns the objects that could not be read.
    pub fn snapshot(&mut self, now: Timestamp) -> (Snapshot, Vec<String>) {
        let mut snap = Snapshot::new(now);
        let mut errors = Vec::new();
        for (kind, r) in &self.flux {
            // A store that held a complete list is loaded, even while its watch reconnects
            // (the header marks it stale).
            if self.notifier.has_listed(&r.key) {
                snap.mark_loaded(ObjectKind::Flux(*kind), self.namespace.as_deref());
            }
            snap.flux.reserve(r.store.len());
            r.store.for_each(|ns, name, e| match (&e.object, &e.key) {
                (Ok(Stored::Flux(f)), Some(key)) => {
                    snap.flux.insert(key.clone(), f.clone());
                }
                (Ok(_), _) => {}
                (Err(e), _) => errors.push(format!("{}/{ns}/{name}: {e}", kind.as_str())),
            });
        }
        for ((kind, ns), r) in &self.managed {
            if self.notifier.has_listed(&r.key) {
                snap.mark_loaded(kind.clone(), ns.as_deref());
            }
            r.store.for_each(|ons, name, e| match (&e.object, &e.key) {
                (Ok(Stored::Managed(v)), Some(key)) => {
                    snap.managed.insert(key.clone(), v.clone());
                }
                (Ok(_), _) => {}
                (Err(e), _) => errors.push(format!("{}/{ons}/{name}: {e}", kind.kind())),
            });
        }
        errors.sort();
        (snap, errors)
    }
}

/// The stores against the simulated cluster: one shared form per object, conversions counted.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::Duration;

    use kube::Api;
    use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
    use serde_json::{Value, json};

    use super::*;
    use crate::kube::test_sim::{configmaps, deps_cluster};

    /// Wait (at most 60 s) until `pred` holds.
    async fn until(what: &str, w: &ClusterWatch, pred: impl Fn(&ClusterWatch) -> bool) {
        let wait = async {
            while !pred(w) {
                let _ =
                    tokio::time::timeout(Duration::from_millis(100), w.notifier().notified()).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .is_err()
        {
            panic!(
                "timed out waiting for {what}: {} stored, {} conversions",
                w.stored_objects(),
                w.conversions()
            );
        }
    }

    fn config_map(name: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "quiet"},
            "data": {"k": "v"},
        }))
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_shares_the_one_stored_form_of_each_object() {
        let (sim, client) = deps_cluster().await;
        let mut w = ClusterWatch::start(client, None, Notifier::new())
            .await
            .unwrap();
        until("the Flux lists", &w, |w| {
            w.is_synced() && w.stored_objects() > 0
        })
        .await;
        let (snap, errors) = w.snapshot(Timestamp::now());
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!snap.flux.is_empty());
        for (key, obj) in &snap.flux {
            // The store may have moved on (the controllers run): compare the same version.
            let Some(entry) = w.stored(key) else { continue };
            if entry.resource_version != obj.metadata().resource_version.clone().unwrap_or_default()
            {
                continue;
            }
            let Ok(Stored::Flux(stored)) = &entry.object else {
                panic!("{key}: not stored typed: {entry:?}")
            };
            assert!(Arc::ptr_eq(stored, obj), "{key}: the snapshot holds a copy");
            // The store and this snapshot: no cache keeps another reference or copy.
            assert_eq!(Arc::strong_count(obj), 2, "{key}");
        }
        sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_converts_only_the_changed_objects() {
        let (sim, client) = deps_cluster().await;
        let cms = configmaps();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "quiet", &cms);
        for i in 0..40 {
            api.create(&PostParams::default(), &config_map(&format!("cm-{i}")))
                .await
                .unwrap();
        }
        // Flux watches in a namespace without Flux objects, so only the ConfigMaps change.
        let mut w = ClusterWatch::start(client, Some("quiet".into()), Notifier::new())
            .await
            .unwrap();
        let scope: Scope = (ObjectKind::new("", "ConfigMap"), Some("quiet".into()));
        w.set_managed_scopes(&BTreeSet::from([scope])).await;
        until("the ConfigMaps listed", &w, |w| w.stored_objects() == 40).await;
        assert_eq!(w.conversions(), 40, "each listed object converted once");

        // Snapshots share the stored forms: nothing is converted again.
        for _ in 0..3 {
            let (snap, _) = w.snapshot(Timestamp::now());
            assert_eq!(snap.managed.len(), 40);
        }
        assert_eq!(w.conversions(), 40);
        let version = |v: &Value| {
            v["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (snap, _) = w.snapshot(Timestamp::now());
        let listed: BTreeSet<String> = snap.managed.values().map(|v| version(v)).collect();

        // A burst of 10 changes to 5 objects converts 10 times, not the 40 objects again.
        for round in 0..2 {
            for i in 0..5 {
                let patch = json!({"data": {"k": format!("v{round}")}});
                api.patch(
                    &format!("cm-{i}"),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .unwrap();
            }
        }
        until("the burst", &w, |w| w.conversions() >= 50).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(w.conversions(), 50);
        let (snap, _) = w.snapshot(Timestamp::now());
        // The stored form keeps no `data`: the changed objects have new versions.
        let changed = snap
            .managed
            .values()
            .filter(|v| !listed.contains(&version(v)))
            .count();
        assert_eq!(changed, 5);
        assert_eq!(w.conversions(), 50);
        sim.shutdown().await;
    }
}
