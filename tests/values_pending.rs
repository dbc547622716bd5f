//! The `values pending` mark against the in-process simulated cluster running the demo
//! scenario: after start the only release marked is default/legacy-app (installed with
//! values that its suspended spec no longer has); a ConfigMap edit that Flux has not applied (the
//! HelmRelease suspended) marks grade-api on its tree row and in its details, without
//! touching problems mode or the counts; undoing the edit clears it; a namespace switch
//! restarts the check. The executor runs the check with a short period; every wait is on
//! messages, bounded, never a sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/scenario.rs"]
mod scenario;

use std::collections::BTreeSet;
use std::time::Duration;

use crossterm::event::KeyCode;
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::{AppState, update};
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::kube::client::{self, Connection};
use fluxdeck::runtime::executor::{Executor, ExecutorOptions};
use fluxdeck::runtime::values_check::CheckOptions;
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::store::ObjKey;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use tokio::sync::mpsc;

mod app_support;
use app_support::init;

const WAIT: Duration = Duration::from_secs(120);

fn grade_api() -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "grade-api", "grade-api")
}

/// Installed with `message: legacy`, then suspended with no values in its spec: its values
/// are pending from the start (and stay so: it is suspended).
fn legacy_app() -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "default", "legacy-app")
}

struct Live {
    conn: Connection,
    executor: Executor,
    rx: mpsc::Receiver<Msg>,
    state: AppState,
    /// Every HelmRelease that was ever marked.
    ever_marked: BTreeSet<ObjectKey>,
}

impl Live {
    async fn start(cluster: &SimCluster) -> Live {
        let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
            .await
            .unwrap();
        let (tx, rx) = mpsc::channel(256);
        let executor = Executor::spawn_with(
            conn.clone(),
            ExecutorOptions {
                namespace: None,
                // Read-only: the check sends only GETs and LISTs.
                read_only: Some(fluxdeck::config::ReadOnlyReason::Flag),
                config: Default::default(),
                kubeconfig: Default::default(),
                secret_values: fluxdeck::domain::secrets::SecretValues::Hidden,
                ascii: false,
                audit: fluxdeck::actions::audit::Audit::to_file(&std::env::temp_dir().join(
                    format!("fluxdeck-values-pending-audit-{}.log", std::process::id()),
                )),
            },
            CheckOptions {
                period: Duration::from_millis(400),
                concurrency: 4,
            },
            tx,
        );
        Live {
            conn,
            executor,
            rx,
            state: AppState::new(init(160, 48)),
            ever_marked: BTreeSet::new(),
        }
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            self.executor.send(e);
        }
    }

    fn handle(&mut self, msg: Msg) {
        if let Msg::ValuesPending(delta) = &msg {
            self.ever_marked.extend(
                delta
                    .iter()
                    .filter(|(_, p)| p.is_some())
                    .map(|(k, _)| k.clone()),
            );
        }
        let fx = update(&mut self.state, msg);
        self.apply(fx);
    }

    /// Handle messages until `pick` accepts one (which is handled too); at most [`WAIT`].
    async fn until_msg(&mut self, what: &str, pick: impl Fn(&Msg, &AppState) -> bool) {
        let wait = async {
            loop {
                let msg = self.rx.recv().await.expect("the executor is running");
                let done = pick(&msg, &self.state);
                self.handle(msg);
                if done {
                    return;
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    /// Handle messages until `pred` holds for the state; at most [`WAIT`].
    async fn until(&mut self, what: &str, pred: impl Fn(&AppState) -> bool) {
        let wait = async {
            while !pred(&self.state) {
                let msg = self.rx.recv().await.expect("the executor is running");
                self.handle(msg);
            }
        };
        if tokio::time::timeout(WAIT, wait).await.is_err() {
            panic!(
                "timed out waiting for {what}; marks {:?}\nscreen:\n{}",
                self.state.values_pending,
                app_support::screen(&self.state)
            );
        }
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            let fx = app_support::ch(&mut self.state, c);
            self.apply(fx);
        }
    }

    fn press(&mut self, code: KeyCode) {
        let fx = app_support::press(&mut self.state, code);
        self.apply(fx);
    }
}

async fn merge_patch(client: &kube::Client, ns: &str, ar: &ApiResource, name: &str, patch: Value) {
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, ar)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
}

async fn set_values_yaml(client: &kube::Client, text: &str) {
    Api::<ConfigMap>::namespaced(client.clone(), "grade-api")
        .patch(
            "grade-api-values",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"values.yaml": text}})),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configmap_edit_flux_has_not_applied_marks_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = SimCluster::start(SimOptions {
        scenario: scenario::demo_first_step(dir.path()),
        speed: 60.0,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let settled = controllers::wait_for(&cluster.store, WAIT, |s| {
        let ready = |ns: &str, name: &str| {
            s.get(&ids::helmreleases(), &ObjKey::new(ns, name))
                .is_some_and(|o| conditions::is_true(&o, "Ready"))
        };
        ready("default", "backend") && ready("grade-api", "grade-api")
    })
    .await;
    assert!(settled, "the demo never settled");
    let mut live = Live::start(&cluster).await;

    // After start, once every release was checked: only legacy-app is pending, against its
    // one deployed revision.
    live.until_msg("the first pass of the check", |m, _| {
        matches!(m, Msg::ValuesPending(_))
    })
    .await;
    assert_eq!(
        live.state.values_pending,
        [(legacy_app(), 1)].into(),
        "{:?}",
        live.state.values_pending
    );
    live.until("grade-api in the tree", |s| {
        s.snapshot
            .as_ref()
            .is_some_and(|snap| snap.flux.contains_key(&grade_api()))
    })
    .await;
    live.keys("/grade-api");
    live.press(KeyCode::Enter);
    assert!(
        !app_support::screen(&live.state).contains("values pending"),
        "{}",
        app_support::screen(&live.state)
    );

    // Flux applies nothing meanwhile: the HelmRelease and the Kustomization that applies the
    // ConfigMap are suspended. Then the ConfigMap is edited.
    let client = live.conn.client.clone();
    let helmreleases = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ));
    let kustomizations = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
    ));
    merge_patch(
        &client,
        "flux-system",
        &kustomizations,
        "apps",
        json!({"spec": {"suspend": true}}),
    )
    .await;
    merge_patch(
        &client,
        "grade-api",
        &helmreleases,
        "grade-api",
        json!({"spec": {"suspend": true}}),
    )
    .await;
    live.until("grade-api suspended in the snapshot", |s| {
        s.snapshot
            .as_ref()
            .and_then(|snap| snap.flux.get(&grade_api()))
            .is_some_and(|o| o.suspended())
    })
    .await;
    let counts = live.state.flux_counts;
    set_values_yaml(&client, "replicaCount: 4\nimage:\n  tag: 0.3.0\n").await;

    // The periodic check finds it. The mark is not a failure: counts stay as they were.
    live.until_msg("grade-api marked", |m, _| match m {
        Msg::ValuesPending(d) => d.get(&grade_api()).is_some_and(Option::is_some),
        _ => false,
    })
    .await;
    let revision = live.state.values_pending[&grade_api()];
    assert!(revision >= 1);
    assert_eq!(live.state.flux_counts, counts);
    assert_eq!(
        live.ever_marked,
        BTreeSet::from([grade_api(), legacy_app()]),
        "no other release was ever marked"
    );

    // The row shows the badge; the details say which revision and how to see the diff.
    app_support::select(
        &mut live.state,
        FluxKind::HelmRelease,
        "grade-api",
        "grade-api",
    );
    let screen = app_support::screen(&live.state);
    let row = screen
        .lines()
        .find(|l| l.contains("HelmRelease grade-api/grade-api"))
        .unwrap_or_else(|| panic!("no grade-api row:\n{screen}"));
    assert!(row.contains("[values pending]"), "{row}");
    let fx = app_support::press(&mut live.state, KeyCode::Enter);
    live.apply(fx);
    let screen = app_support::screen(&live.state);
    assert!(
        screen.contains(&format!(
            "values pending: desired values differ from deployed rev {revision}"
        )),
        "{screen}"
    );
    // Problems mode does not show it for its pending values.
    assert!(
        !live.state.problems,
        "problems mode was not switched on by the test"
    );

    // The edit undone: the mark goes at the next check.
    set_values_yaml(&client, "replicaCount: 2\nimage:\n  tag: 0.3.0\n").await;
    live.until("grade-api unmarked", |s| {
        !s.values_pending.contains_key(&grade_api())
    })
    .await;
    assert!(!app_support::screen(&live.state).contains("[values pending]"));

    // Edited again, then a namespace switch: the check restarts with the new watches and
    // marks grade-api again.
    set_values_yaml(&client, "replicaCount: 5\nimage:\n  tag: 0.3.0\n").await;
    live.until("grade-api marked again", |s| {
        s.values_pending.contains_key(&grade_api())
    })
    .await;
    live.apply(vec![Effect::SwitchNamespace(Some("grade-api".into()))]);
    live.until_msg("the switch", |m, _| matches!(m, Msg::Switched { .. }))
        .await;
    assert!(
        live.state.values_pending.is_empty(),
        "marks are cleared on a switch"
    );
    live.until("grade-api marked by the new check", |s| {
        s.values_pending.contains_key(&grade_api())
    })
    .await;
    assert_eq!(
        live.state.values_pending.keys().collect::<Vec<_>>(),
        [&grade_api()],
        "only the namespace switched to is checked"
    );
    cluster.shutdown().await;
}
