//! Integration: the app on live watches of the in-process simulated cluster. What its
//! controllers do (and what a user writes with a plain client) reaches the app state through
//! real HTTP watches, the notifier and snapshots, as in the TUI's event loop. Waits are bounded
//! and on messages, never sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::{AppState, update};
use fluxdeck::domain::health::Health;
use fluxdeck::domain::tree::Node;
use fluxdeck::kube::client;
use fluxdeck::kube::cluster::ClusterWatch;
use fluxdeck::kube::watch::Notifier;
use fluxdeck::runtime::event_loop::health_msg;
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};

mod app_support;
use app_support::init;

/// The TUI's event loop without the terminal: watch changes become snapshots and health
/// messages; the effects the app asks for (managed-object watches) are carried out.
struct Live {
    watch: ClusterWatch,
    notifier: Notifier,
    state: AppState,
}

impl Live {
    async fn start(cluster: &SimCluster) -> Live {
        let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
            .await
            .unwrap();
        let notifier = Notifier::new();
        let watch = ClusterWatch::start(conn.client.clone(), None, notifier.clone())
            .await
            .unwrap();
        Live {
            watch,
            notifier,
            state: AppState::new(init(160, 48)),
        }
    }

    async fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            if let Effect::WatchScopes(scopes) = e {
                self.watch.set_managed_scopes(&scopes).await;
            }
        }
    }

    /// Handle notifications until `pred` holds for the app state (at most 120 s).
    async fn until(&mut self, what: &str, pred: impl Fn(&AppState) -> bool) {
        let wait = async {
            loop {
                if pred(&self.state) {
                    return;
                }
                self.notifier.notified().await;
                let drained = self.notifier.drain();
                if let Some(h) = drained.health {
                    let fx = update(&mut self.state, health_msg(&h));
                    self.apply(fx).await;
                }
                let (snap, errors) = self.watch.snapshot(Timestamp::now());
                assert!(errors.is_empty(), "{errors:?}");
                let fx = update(&mut self.state, Msg::Snapshot(Arc::new(snap)));
                self.apply(fx).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(120), wait)
            .await
            .is_err()
        {
            let mut labels = Vec::new();
            all_labels(&self.state.shown_tree().roots, &mut labels);
            panic!(
                "timed out waiting for {what}; objects:\n{}\nscreen:\n{}",
                labels.join("\n"),
                app_support::screen(&self.state)
            );
        }
    }

    async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            let fx = app_support::ch(&mut self.state, c);
            self.apply(fx).await;
        }
    }
}

fn all_labels(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        out.push(format!("{} {:?} {}", n.label(), n.health.health, n.message));
        all_labels(&n.children, out);
    }
}

fn find<'a>(nodes: &'a [Node], label: &str) -> Option<&'a Node> {
    for n in nodes {
        if n.key.is_some() && n.label() == label {
            return Some(n);
        }
        if let Some(found) = find(&n.children, label) {
            return Some(found);
        }
    }
    None
}

/// The node for `label` (e.g. `HelmRelease/staging/redis`) in the tree the app shows.
fn node<'a>(state: &'a AppState, label: &str) -> Option<&'a Node> {
    find(&state.shown_tree().roots, label)
}

fn health(state: &AppState, label: &str) -> Option<Health> {
    node(state, label).map(|n| n.health.health)
}

fn helmreleases() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_changes_reach_the_app_state() {
    let cluster = SimCluster::start(SimOptions {
        scenario: "demo".into(),
        speed: 60.0,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let mut live = Live::start(&cluster).await;

    // The controllers install staging/redis, which fails; its dependent is blocked by it.
    live.until("staging/redis out of retries", |s| {
        node(s, "HelmRelease/staging/redis").is_some_and(|n| {
            n.health.health == Health::Failed && n.health.reason == "RetriesExceeded"
        })
    })
    .await;
    live.until("staging/backend blocked by it", |s| {
        node(s, "HelmRelease/staging/backend").is_some_and(|n| {
            n.health.health == Health::Blocked
                && n.message
                    .starts_with("Blocked by staging/redis: RetriesExceeded")
        })
    })
    .await;
    let redis = node(&live.state, "HelmRelease/staging/redis").unwrap();
    assert_eq!(redis.blocks, 1, "staging/redis blocks staging/backend");
    assert_eq!(
        health(&live.state, "HelmRelease/loop/backend"),
        Some(Health::Cycle)
    );

    // Managed objects are watched once their subtree is shown: the filter opens grafana's.
    live.keys("/grafana").await;
    live.until("grafana's Deployment, live", |s| {
        health(s, "Deployment/default/grafana") == Some(Health::Ready)
    })
    .await;
    let fx = app_support::press(&mut live.state, crossterm::event::KeyCode::Esc);
    live.apply(fx).await;
    assert!(!live.state.is_narrowed(), "Esc clears the filter");

    // A user suspends a HelmRelease with a plain client: the tree shows it.
    let api: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(live.watch.client(), "default", &helmreleases());
    api.patch(
        "grafana",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    live.until("grafana suspended", |s| {
        health(s, "HelmRelease/default/grafana") == Some(Health::Suspended)
    })
    .await;

    // A deleted HelmRelease goes (through its finalizer); its Kustomization applies it again
    // and the cycle is back.
    let loop_api: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(live.watch.client(), "loop", &helmreleases());
    loop_api
        .delete("redis", &DeleteParams::default())
        .await
        .unwrap();
    live.until("loop/redis deleted", |s| {
        // Still listed in its Kustomization's inventory, so shown as not found.
        node(s, "HelmRelease/loop/redis").is_some_and(|n| n.health.reason == "NotFound")
    })
    .await;
    live.until("loop/redis applied again, the cycle back", |s| {
        health(s, "HelmRelease/loop/redis") == Some(Health::Cycle)
            && health(s, "HelmRelease/loop/backend") == Some(Health::Cycle)
    })
    .await;

    cluster.shutdown().await;
}
