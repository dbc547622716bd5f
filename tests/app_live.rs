//! Integration: the app on live watches of the in-process simulated cluster. What its
//! controllers do (and what a user writes with a plain client) reaches the app state through
//! real HTTP watches, the notifier and snapshots, as in the TUI's event loop. Waits are bounded
//! and on messages, never sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use fluxdeck::app::msg::{Effect, Msg, WatchStatus};
use fluxdeck::app::{AppState, update};
use fluxdeck::domain::flux::ObjectKey;
use fluxdeck::domain::health::Health;
use fluxdeck::domain::tree::Node;
use fluxdeck::kube::client::{self, Connection};
use fluxdeck::kube::oneshot;
use fluxdeck::runtime::executor::{Executor, ExecutorOptions};
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use tokio::sync::mpsc;

mod app_support;
use app_support::init;

/// The TUI without the terminal: the real executor (watches, snapshots, fetches, switches)
/// answering the app's effects with messages, as in the event loop.
struct Live {
    conn: Connection,
    executor: Executor,
    rx: mpsc::Receiver<Msg>,
    state: AppState,
}

impl Live {
    async fn start(cluster: &SimCluster) -> Live {
        let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
            .await
            .unwrap();
        let (tx, rx) = mpsc::channel(256);
        let executor = Executor::spawn(
            conn.clone(),
            ExecutorOptions {
                namespace: None,
                read_only: None,
                config: Default::default(),
                kubeconfig: Default::default(),
                secret_values: fluxdeck::domain::secrets::SecretValues::Hidden,
                ascii: false,
                audit: fluxdeck::actions::audit::Audit::to_file(&std::env::temp_dir().join(
                    format!("fluxdeck-app-live-audit-{}.log", std::process::id()),
                )),
            },
            tx,
        );
        Live {
            conn,
            executor,
            rx,
            state: AppState::new(init(160, 48)),
        }
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            self.executor.send(e);
        }
    }

    /// Feed one message to the app and its effects to the executor.
    fn handle(&mut self, msg: Msg) {
        let fx = update(&mut self.state, msg);
        self.apply(fx);
    }

    /// Handle messages until `pred` holds for the app state (at most 120 s).
    async fn until(&mut self, what: &str, pred: impl Fn(&AppState) -> bool) {
        let wait = async {
            loop {
                if pred(&self.state) {
                    return;
                }
                let msg = self.rx.recv().await.expect("the executor is running");
                if let Msg::DecodeErrors(errors) = &msg {
                    assert!(errors.is_empty(), "{errors:?}");
                }
                self.handle(msg);
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

    /// The next message that `pick` accepts (others are handled as usual), at most 60 s.
    async fn next_msg<T>(&mut self, what: &str, pick: impl Fn(&Msg) -> Option<T>) -> T {
        let wait = async {
            loop {
                let msg = self.rx.recv().await.expect("the executor is running");
                if let Some(t) = pick(&msg) {
                    return t;
                }
                self.handle(msg);
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    async fn press(&mut self, code: crossterm::event::KeyCode) {
        let fx = app_support::press(&mut self.state, code);
        self.apply(fx);
    }

    async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            let fx = app_support::ch(&mut self.state, c);
            self.apply(fx);
        }
    }
}

fn all_labels(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        out.push(format!(
            "{} {:?} {}",
            n.label(),
            n.health.health,
            n.message()
        ));
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
                && n.message()
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
    live.apply(fx);
    assert!(!live.state.is_narrowed(), "Esc clears the filter");

    // A user suspends a HelmRelease with a plain client: the tree shows it.
    let api: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(live.conn.client.clone(), "default", &helmreleases());
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
        kube::Api::namespaced_with(live.conn.client.clone(), "loop", &helmreleases());
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

fn hr_key(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new("helm.toolkit.fluxcd.io", "HelmRelease", ns, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_failing_at_start_is_retried_and_shown() {
    let cluster = SimCluster::start(SimOptions {
        scenario: "deps".into(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    // Every discovery request fails while the session starts.
    cluster.faults.update(|f| f.discovery_error_rate = 1.0);
    let mut live = Live::start(&cluster).await;
    live.until("discovery shown as reconnecting", |s| {
        s.watch.iter().any(|(scope, status)| {
            scope.kind == "API discovery" && matches!(status, WatchStatus::Reconnecting { .. })
        })
    })
    .await;
    // The header says so once the grace period for a short reconnect is over.
    let since = live
        .state
        .watch
        .values()
        .find_map(|status| match status {
            WatchStatus::Reconnecting { since, .. } => Some(*since),
            _ => None,
        })
        .unwrap();
    let after_grace = since
        + k8s_openapi::jiff::SignedDuration::from_secs(
            fluxdeck::app::state::RECONNECT_GRACE_SECONDS,
        );
    live.handle(Msg::Tick(after_grace));
    assert!(
        app_support::screen(&live.state).contains("reconnecting"),
        "the header says so:\n{}",
        app_support::screen(&live.state)
    );
    // The server recovers: discovery is retried and the tree arrives.
    cluster.faults.update(|f| f.discovery_error_rate = 0.0);
    live.until("the tree after discovery succeeded", |s| {
        s.snapshot.is_some() && node(s, "HelmRelease/apps/a").is_some()
    })
    .await;
    live.until("every watch connected", |s| {
        !s.watch.is_empty()
            && s.watch
                .values()
                .all(|w| matches!(w, WatchStatus::Connected | WatchStatus::NotInstalled))
    })
    .await;
    assert!(
        !live.state.watch.keys().any(|s| s.kind == "API discovery"),
        "discovery is no longer reported once it succeeded"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_of_repeated_fetches_is_answered() {
    let cluster = SimCluster::start(SimOptions {
        scenario: "demo".into(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let mut live = Live::start(&cluster).await;
    live.until("the tree", |s| {
        node(s, "HelmRelease/staging/redis").is_some()
    })
    .await;
    // Slow answers, and the cursor moves over ten releases with the details pane open.
    cluster.faults.update(|f| f.latency_ms = 300);
    let keys: Vec<ObjectKey> = (0..10)
        .map(|i| hr_key("staging", &format!("r{i}")))
        .collect();
    for k in &keys {
        live.executor.send(Effect::FetchEvents(k.clone()));
    }
    let last = keys.last().unwrap().clone();
    let first = live
        .next_msg("the Events answer", |m| match m {
            Msg::Events { key, .. } => Some(key.clone()),
            _ => None,
        })
        .await;
    assert_eq!(first, last, "the first answer is for the newest request");
    // Ask once more for the same object: no answer for an older request arrives before it.
    live.executor.send(Effect::FetchEvents(last.clone()));
    let second = live
        .next_msg("the second Events answer", |m| match m {
            Msg::Events { key, .. } => Some(key.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        second, last,
        "older requests were cancelled, never answered"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switches_happen_in_the_background_and_failures_name_the_target() {
    let cluster = SimCluster::start(SimOptions {
        scenario: "demo".into(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let mut live = Live::start(&cluster).await;
    live.until("the tree", |s| {
        node(s, "HelmRelease/staging/redis").is_some()
    })
    .await;
    // A context that does not exist: the switch fails, naming it; the tree stays.
    live.executor
        .send(Effect::SwitchContext("no-such-context".into()));
    let (context, result) = live
        .next_msg("the failed switch", |m| match m {
            Msg::Switched {
                context, result, ..
            } => Some((context.clone(), result.clone())),
            _ => None,
        })
        .await;
    assert_eq!(context, "no-such-context");
    assert!(result.is_err());
    assert!(node(&live.state, "HelmRelease/staging/redis").is_some());

    // A namespace switch on a slow server: the old tree stays until the new one is up.
    cluster.faults.update(|f| f.latency_ms = 200);
    live.keys(":ns default").await;
    let fx = app_support::press(&mut live.state, crossterm::event::KeyCode::Enter);
    live.apply(fx);
    assert!(
        node(&live.state, "HelmRelease/staging/redis").is_some(),
        "the old view stays while switching"
    );
    live.until("namespace default shown", |s| {
        s.namespace.as_deref() == Some("default")
            && node(s, "HelmRelease/default/grafana").is_some()
            && node(s, "HelmRelease/staging/redis").is_none()
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
    live.until("the Secret's YAML", |s| {
        app_support::screen(s).contains("password:")
    })
    .await;
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
