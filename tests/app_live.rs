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
use fluxdeck::domain::secrets::SecretValues;
use fluxdeck::domain::tree::Node;
use fluxdeck::kube::cluster::ClusterWatch;
use fluxdeck::kube::watch::Notifier;
use fluxdeck::kube::{client, fetch, oneshot};
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
            match e {
                Effect::WatchScopes(scopes) => self.watch.set_managed_scopes(&scopes).await,
                Effect::FetchYaml(key) => {
                    let discovery = self.watch.discovery();
                    let result =
                        fetch::yaml(self.watch.client(), &discovery, &key, SecretValues::Hidden)
                            .await;
                    let fx = update(&mut self.state, Msg::Yaml { key, result });
                    assert!(fx.is_empty(), "{fx:?}");
                }
                _ => {}
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

    async fn press(&mut self, code: crossterm::event::KeyCode) {
        let fx = app_support::press(&mut self.state, code);
        self.apply(fx).await;
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

/// A Kustomization whose inventory names a Secret (and a ConfigMap beside it).
const SECRET_SCENARIO: &str = r#"
name: secret-in-inventory
objects:
  - apiVersion: source.toolkit.fluxcd.io/v1
    kind: GitRepository
    metadata: {name: fleet, namespace: flux-system}
    spec: {interval: 1m, url: "https://git.example.com/fleet", ref: {branch: main}}
  - apiVersion: kustomize.toolkit.fluxcd.io/v1
    kind: Kustomization
    metadata: {name: apps, namespace: flux-system}
    spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: fleet}}
kustomizations:
  flux-system/apps:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings, namespace: apps}
      data: {mode: demo}
    - apiVersion: v1
      kind: Secret
      metadata: {name: db-credentials, namespace: apps}
      type: Opaque
      stringData: {password: correct-horse-battery}
"#;

/// The requests of the access log that read Secrets.
fn secret_requests(log: &std::path::Path) -> Vec<String> {
    fluxdeck::sim::server::read_access_log(log)
        .unwrap()
        .into_iter()
        .filter(|e| e.path.contains("/secrets"))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// Secrets named by an inventory are shown without being listed or watched; the YAML view
/// reads the one Secret (a single GET) and shows no value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_secrets_are_not_watched_and_their_yaml_hides_values() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(&scenario, SECRET_SCENARIO).unwrap();
    let log = dir.path().join("access.log");
    let cluster = SimCluster::start(SimOptions {
        scenario: scenario.display().to_string(),
        speed: 60.0,
        access_log: Some(log.clone()),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let mut live = Live::start(&cluster).await;

    // The ConfigMap beside it is watched and live; the Secret has a row that claims nothing.
    live.until(
        "the ConfigMap live and the Secret shown as not watched",
        |s| {
            health(s, "ConfigMap/apps/settings") == Some(Health::Ready)
                && node(s, "Secret/apps/db-credentials").is_some_and(|n| {
                    n.health.health == Health::Unknown && n.health.reason == "NotWatched"
                })
        },
    )
    .await;
    assert_eq!(
        live.state.shown_tree().totals().failing(),
        0,
        "the Secret is not counted as a problem"
    );
    // `fluxdeck tree` loads the inventories' scopes the same way.
    let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let (snap, errors) = oneshot::load(&conn, None, true).await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        snap.managed
            .keys()
            .any(|k| k.to_string() == "ConfigMap/apps/settings"),
        "managed objects were loaded"
    );
    let configmaps = fluxdeck::sim::server::read_access_log(&log)
        .unwrap()
        .into_iter()
        .filter(|e| e.path.starts_with("/api/v1/namespaces/apps/configmaps"))
        .count();
    assert!(configmaps >= 2, "the ConfigMaps were listed (TUI and tree)");
    assert_eq!(
        secret_requests(&log),
        Vec::<String>::new(),
        "no list or watch of Secrets"
    );

    // The YAML view of the Secret: one GET, values hidden, keys kept.
    live.keys("/db-credentials").await;
    live.press(crossterm::event::KeyCode::Enter).await;
    live.press(crossterm::event::KeyCode::Home).await;
    let want = Some("Secret/apps/db-credentials".to_string());
    for _ in 0..live.state.rows.len() {
        if live.state.selected_key().map(ToString::to_string) == want {
            break;
        }
        live.keys("j").await;
    }
    assert_eq!(live.state.selected_key().map(ToString::to_string), want);
    live.keys("y").await;
    let screen = app_support::screen(&live.state);
    assert!(screen.contains("password: <hidden, 21 bytes>"), "{screen}");
    assert!(!screen.contains("correct-horse"), "{screen}");
    let yaml = match &live.state.overlay {
        Some(fluxdeck::app::state::Overlay::Yaml(v)) => format!("{:?}", v.content),
        _ => panic!("no YAML view:\n{screen}"),
    };
    assert!(
        !yaml.contains("correct-horse") && !yaml.contains("Y29ycmVjdC1ob3Jz"),
        "{yaml}"
    );
    assert_eq!(
        secret_requests(&log),
        vec!["GET /api/v1/namespaces/apps/secrets/db-credentials".to_string()]
    );

    cluster.shutdown().await;
}
