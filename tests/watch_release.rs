//! Releasing a managed-object watch is real: the watch stream on the API server ends, its
//! health entry goes (and the listener is woken to say so), and the next snapshot no longer
//! holds its objects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_server.rs"]
mod sim_server;

use std::collections::BTreeSet;
use std::time::Duration;

use fluxdeck::domain::flux::{FluxKind, ObjectKey, ObjectKind};
use fluxdeck::kube::cluster::ClusterWatch;
use fluxdeck::kube::watch::{Notifier, WatchKey};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::store::WriteOpts;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use sim_server::{Sim, WAIT};

/// Wait (at most [`WAIT`]) until `pred` holds, woken by the notifier or every 50 ms.
async fn until(what: &str, notifier: &Notifier, mut pred: impl FnMut() -> bool) {
    let wait = async {
        while !pred() {
            let _ = tokio::time::timeout(Duration::from_millis(50), notifier.notified()).await;
        }
    };
    if tokio::time::timeout(WAIT, wait).await.is_err() {
        panic!("timed out waiting for {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_scope_stops_its_watch_and_drops_its_objects() {
    let sim = Sim::start().await;
    sim.store
        .create(
            &ids::configmaps(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "one", "namespace": "quiet"}, "data": {"k": "v"}}),
            WriteOpts::default(),
        )
        .unwrap();
    let notifier = Notifier::new();
    let mut watch = ClusterWatch::start(sim.client(), None, notifier.clone())
        .await
        .unwrap();
    until("the Flux kinds listed", &notifier, || watch.is_synced()).await;
    // Every Flux kind is served: one watch stream each.
    let flux_streams = FluxKind::ALL.len();
    until("the Flux watch streams", &notifier, || {
        sim.store.subscribers() == flux_streams
    })
    .await;

    let scope = (ObjectKind::new("", "ConfigMap"), Some("quiet".to_string()));
    let key = WatchKey::new("", "ConfigMap", Some("quiet"));
    let object = ObjectKey::new("", "ConfigMap", "quiet", "one");
    watch
        .set_managed_scopes(&BTreeSet::from([scope.clone()]))
        .await;
    until("the ConfigMaps listed", &notifier, || {
        notifier.has_listed(&key)
    })
    .await;
    until("the ConfigMap watch stream", &notifier, || {
        sim.store.subscribers() == flux_streams + 1
    })
    .await;
    let (snap, _) = watch.snapshot(Timestamp::now());
    assert!(snap.managed.contains_key(&object));
    assert!(snap.is_loaded(&object));
    // Start from nothing pending: what changed so far is taken (and not needed), and a
    // wake-up left from it is used up (a timeout of zero polls once; whether one was left
    // does not matter), so the wake-up asserted below can only come from the release.
    let _ = notifier.drain();
    let _ = tokio::time::timeout(Duration::ZERO, notifier.notified()).await;

    // Released: gone from the health at once, and the listener is woken to say so.
    watch.set_managed_scopes(&BTreeSet::new()).await;
    assert!(!notifier.health().contains_key(&key));
    tokio::time::timeout(Duration::ZERO, notifier.notified())
        .await
        .expect("releasing a watch wakes the listener");
    let drained = notifier.drain();
    let health = drained.health.expect("the health changed");
    assert!(!health.contains_key(&key), "{health:?}");
    // The next snapshot has neither its objects nor its scope.
    let (snap, _) = watch.snapshot(Timestamp::now());
    assert!(!snap.managed.contains_key(&object));
    assert!(!snap.is_loaded(&object));
    // The watch task stopped: its connection is closed, and the server ends the stream when
    // it next writes to it (an event for it; otherwise the next bookmark).
    let mut n = 0;
    until("the ConfigMap watch stream to end", &notifier, || {
        n += 1;
        sim.store
            .create(
                &ids::configmaps(),
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": format!("more-{n}"), "namespace": "quiet"}}),
                WriteOpts::default(),
            )
            .unwrap();
        sim.store.subscribers() == flux_streams
    })
    .await;
}
