//! Rollback against the in-process simulated cluster: the Flux-safe run (suspend, record,
//! objects, records) as the real helm client reads it, the same Helm steps without suspend
//! undone by helm-controller, and a change between plan and run aborting. The sim's access
//! log shows exactly what was sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/skip.rs"]
mod skip;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fluxdeck::actions::history;
use fluxdeck::actions::rollback::{self, Progress};
use fluxdeck::actions::writer::{ActionError, Writer};
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::domain::helm_history::split_manifest;
use fluxdeck::domain::helm_storage::{Release, ReleaseStatus};
use fluxdeck::kube::client;
use fluxdeck::kube::discovery::Discovery;
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::kubeconfig::write_kubeconfig;
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::server::read_access_log;
use fluxdeck::sim::store::{ObjKey, Store, WriteOpts, WritePart};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

struct Fixture {
    cluster: SimCluster,
    dir: tempfile::TempDir,
    writer: Writer,
}

fn scenario() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios/rollback-prune.yaml")
        .to_string_lossy()
        .into_owned()
}

fn web() -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "apps", "web")
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cluster = SimCluster::start(SimOptions {
        scenario: scenario(),
        speed: 60.0,
        access_log: Some(dir.path().join("access.log")),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    // Settled: the HelmRelease is Ready with its seeded history.
    let ready = controllers::wait_for(&cluster.store, WAIT, |s| {
        s.get(&ids::helmreleases(), &ObjKey::new("apps", "web"))
            .is_some_and(|o| conditions::is_true(&o, "Ready"))
    })
    .await;
    assert!(ready, "apps/web never became Ready");
    let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let discovery = Arc::new(Discovery::new(conn.client.clone()));
    let writer = Writer::for_session(conn.client.clone(), discovery, None).unwrap();
    Fixture {
        cluster,
        dir,
        writer,
    }
}

impl Fixture {
    fn store(&self) -> &Store {
        &self.cluster.store
    }

    /// Non-GET requests, as `METHOD path`.
    fn writes(&self) -> Vec<String> {
        read_access_log(&self.dir.path().join("access.log"))
            .unwrap()
            .into_iter()
            .filter(|e| e.method != "GET")
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }

    fn record(&self, version: i64) -> Option<Release> {
        use base64::Engine;
        let s = self.store().get(
            &ids::secrets(),
            &ObjKey::new("apps", &format!("sh.helm.release.v1.web.v{version}")),
        )?;
        let helm = base64::engine::general_purpose::STANDARD
            .decode(s["data"]["release"].as_str().unwrap())
            .unwrap();
        Some(fluxdeck::domain::helm_storage::decode_release(&helm).unwrap())
    }

    fn get(&self, res: &fluxdeck::sim::store::ResourceId, name: &str) -> Option<Arc<Value>> {
        self.store().get(res, &ObjKey::new("apps", name))
    }
}

/// Every field of `want` is in `live` with the same value.
fn contains(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| contains(lv, v))),
        // Live list items carry the API server's defaults on top of what was applied.
        (Value::Array(l), Value::Array(w)) => {
            l.len() == w.len() && l.iter().zip(w).all(|(lv, wv)| contains(lv, wv))
        }
        _ => live == want,
    }
}

async fn helm(bin: &Path, dir: &Path, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new(bin)
            .args(args)
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .env("HELM_CACHE_HOME", dir.join("cache"))
            .env("HELM_CONFIG_HOME", dir.join("config"))
            .env("HELM_DATA_HOME", dir.join("data"))
            .env("HOME", dir)
            .env_remove("HELM_DRIVER")
            .env_remove("HELM_NAMESPACE")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("helm timed out")
    .unwrap();
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_suspends_and_helm_reads_the_new_revision() {
    let f = start().await;
    let plan = rollback::plan(f.writer.reader(), &web(), None)
        .await
        .unwrap();
    assert_eq!((plan.latest, plan.to), (2, 1), "{plan:?}");
    assert_eq!(plan.to_chart, "app@1.0.0");
    assert!(f.writes().is_empty(), "planning only reads");

    let mut seen = Vec::new();
    let outcome = rollback::run(&f.writer, &plan, &mut |p| seen.push(p))
        .await
        .unwrap();
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.version, 3);
    assert_eq!(seen.first(), Some(&Progress::Suspended));
    assert_eq!(seen.last(), Some(&Progress::Recorded { version: 3 }));
    assert_eq!(outcome.deleted, ["ConfigMap/apps/web-extra"]);
    assert_eq!(outcome.kept, ["ConfigMap/apps/web-kept"]);
    assert_eq!(
        outcome.applied,
        ["Deployment.apps/apps/web", "Service/apps/web"]
    );

    // Exactly these writes, in this order.
    let writes = f.writes();
    let expected = [
        "PATCH /apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases/web?&fieldManager=flux-client-side-apply",
        "POST /api/v1/namespaces/apps/secrets?",
        "PATCH /apis/apps/v1/namespaces/apps/deployments/web?&fieldManager=helm-controller&force=true",
        "PATCH /api/v1/namespaces/apps/services/web?&fieldManager=helm-controller&force=true",
        "DELETE /api/v1/namespaces/apps/configmaps/web-extra?",
        "PUT /api/v1/namespaces/apps/secrets/sh.helm.release.v1.web.v2?",
        "PUT /api/v1/namespaces/apps/secrets/sh.helm.release.v1.web.v3?",
    ];
    assert_eq!(writes.len(), expected.len(), "{writes:#?}");
    for (w, e) in writes.iter().zip(expected) {
        let (wm, wp) = w.split_once(' ').unwrap();
        let (em, ep) = e.split_once(' ').unwrap();
        assert_eq!(wm, em, "{writes:#?}");
        let (ep_path, ep_query) = ep.split_once('?').unwrap();
        assert!(wp.starts_with(ep_path), "{w} vs {e}");
        for q in ep_query.split('&').filter(|q| !q.is_empty()) {
            assert!(wp.contains(q), "{w} lacks {q}");
        }
    }

    // The records: v3 "Rollback to 1" deployed with revision 1's chart, values, manifest.
    let (v1, v2, v3) = (
        f.record(1).unwrap(),
        f.record(2).unwrap(),
        f.record(3).unwrap(),
    );
    assert_eq!(v3.info.status, ReleaseStatus::Deployed);
    assert_eq!(v3.info.description, "Rollback to 1");
    assert_eq!(v3.info.rollback_revision, Some(1));
    assert_eq!(v2.info.status, ReleaseStatus::Superseded);
    assert_eq!(
        (v3.config.clone(), v3.chart.clone()),
        (v1.config.clone(), v1.chart.clone())
    );
    assert_eq!(v3.manifest, v1.manifest);

    // The live objects are revision 1's; the removed ConfigMap is gone, the kept one stays.
    for o in split_manifest(&v1.manifest).unwrap() {
        let res = if o.kind == "Deployment" {
            ids::deployments()
        } else {
            ids::services()
        };
        let live = f.get(&res, &o.name).unwrap();
        let mut want = o.value.clone();
        want["metadata"] = json!({"name": o.name, "namespace": "apps",
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "apps"}});
        assert!(contains(&live, &want), "{}: {live:#}", o.name);
    }
    assert!(f.get(&ids::configmaps(), "web-extra").is_none());
    assert!(f.get(&ids::configmaps(), "web-kept").is_some());

    // The HelmRelease is suspended, so helm-controller leaves the rollback alone.
    let hr = f.get(&ids::helmreleases(), "web").unwrap();
    assert_eq!(hr["spec"]["suspend"], true);

    // The real helm client agrees.
    let Some(bin) = skip::client_or_skip("helm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_kubeconfig(&dir.path().join("kubeconfig"), &f.cluster.url()).unwrap();
    let h: Value = serde_json::from_str(
        &helm(
            &bin,
            dir.path(),
            &["history", "web", "-n", "apps", "-o", "json"],
        )
        .await,
    )
    .unwrap();
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[2]["revision"], 3);
    assert_eq!(h[2]["status"], "deployed");
    assert_eq!(h[2]["description"], "Rollback to 1");
    assert_eq!(h[2]["chart"], "app-1.0.0");
    assert_eq!(h[1]["status"], "superseded");
    let values = |rev: &'static str| {
        let dir = dir.path().to_path_buf();
        let bin = bin.clone();
        async move {
            helm(
                &bin,
                &dir,
                &[
                    "get",
                    "values",
                    "web",
                    "-n",
                    "apps",
                    "--revision",
                    rev,
                    "-o",
                    "json",
                ],
            )
            .await
        }
    };
    assert_eq!(values("3").await, values("1").await);
    assert!(values("3").await.contains("\"v1\""));
    let manifest = |rev: &'static str| {
        let dir = dir.path().to_path_buf();
        let bin = bin.clone();
        async move {
            helm(
                &bin,
                &dir,
                &["get", "manifest", "web", "-n", "apps", "--revision", rev],
            )
            .await
        }
    };
    assert_eq!(manifest("3").await, manifest("1").await);
    assert_ne!(manifest("3").await, manifest("2").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_suspend_helm_controller_upgrades_back() {
    let f = start().await;
    let h = history::load(f.writer.reader(), &web()).await.unwrap();
    assert!(!h.suspended());
    let prepared = rollback::prepare(f.writer.reader(), &h, 1).await.unwrap();
    let outcome = rollback::release_steps(
        &f.writer,
        &prepared,
        chrono::Utc::now().fixed_offset(),
        &mut |_| {},
    )
    .await
    .unwrap();
    // Not suspended, helm-controller may act on the new record between its creation and its
    // update to deployed; the update then meets a newer record (409) and says so. Either way
    // the objects of revision 1 were applied.
    assert!(
        outcome.ok
            || outcome
                .message
                .contains("the release records could not be updated"),
        "{outcome:?}"
    );
    assert!(!f.writes().iter().any(|w| w.contains("helmreleases")));
    // helm-controller sees a record it did not write and upgrades back to the desired state.
    let undone = controllers::wait_for(f.store(), WAIT, |s| {
        let hr = s.get(&ids::helmreleases(), &ObjKey::new("apps", "web"));
        let latest_v = hr
            .as_ref()
            .and_then(|o| o.pointer("/status/history/0/version"))
            .and_then(Value::as_i64);
        latest_v == Some(4) && hr.is_some_and(|o| conditions::is_true(&o, "Ready"))
    })
    .await;
    assert!(undone, "no upgrade after the unsuspended rollback");
    let v4 = f.record(4).unwrap();
    assert_eq!(v4.info.status, ReleaseStatus::Deployed);
    assert_eq!(v4.info.description, "Upgrade complete");
    assert_eq!(v4.chart.metadata.version, "2.0.0");
    let v3 = f.record(3).unwrap().info.status;
    if outcome.ok {
        assert_eq!(v3, ReleaseStatus::Superseded);
    } else {
        // The rollback lost the race for its record and marked it failed after the
        // controller had already moved on.
        assert!(
            matches!(v3, ReleaseStatus::Superseded | ReleaseStatus::Failed),
            "{v3:?}"
        );
    }
    assert!(
        f.get(&ids::configmaps(), "web-extra").is_some(),
        "recreated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_after_the_plan_aborts_and_sends_nothing() {
    let f = start().await;
    let plan = rollback::plan(f.writer.reader(), &web(), Some(1))
        .await
        .unwrap();
    f.store()
        .modify(
            &ids::helmreleases(),
            &ObjKey::new("apps", "web"),
            WritePart::Main,
            WriteOpts::default(),
            |cur| {
                let mut n = cur.clone();
                n["metadata"]["annotations"] = json!({"example.com/touched": "yes"});
                Ok(Some(n))
            },
        )
        .unwrap();
    let err = rollback::run(&f.writer, &plan, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Changed(_)), "{err}");
    assert!(err.to_string().contains("changed since the plan"), "{err}");
    assert!(f.writes().is_empty(), "{:?}", f.writes());
    assert!(f.record(3).is_none());
    // A target that does not exist is refused when planning.
    let err = rollback::plan(f.writer.reader(), &web(), Some(7))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "release web has no revision 7");
    // Without permission to list Secrets, the error names it.
    f.cluster.faults.update(|spec| {
        spec.forbidden.push(fluxdeck::sim::faults::ForbiddenRule {
            resource: "secrets".into(),
            namespace: Some("apps".into()),
            verbs: vec!["list".into()],
        })
    });
    let err = history::load(f.writer.reader(), &web())
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "forbidden: cannot list secrets in namespace apps"
    );
    assert!(f.writes().is_empty(), "{:?}", f.writes());
}

/// The TUI's path: a rollback intent carries the preview's plan token. When the release moved
/// on since the preview and the target revision is gone, the answer says the release changed
/// (not that the revision does not exist), and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_for_a_revision_gone_since_the_preview_says_the_release_changed() {
    use fluxdeck::actions::intent::{Intent, PlanToken};
    let f = start().await;
    let plan = rollback::plan(f.writer.reader(), &web(), Some(1))
        .await
        .unwrap();
    // The preview was made when revision 7 was the latest and revision 6 existed.
    let token = PlanToken {
        hr_resource_version: plan.hr_resource_version.clone(),
        latest: 7,
        latest_status: ReleaseStatus::Deployed,
    };
    let intent = Intent::Rollback {
        target: web(),
        to: 6,
        plan_token: token,
    };
    let err = fluxdeck::actions::run::run(&f.writer, &intent, Duration::from_secs(30), &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Changed(_)), "{err}");
    assert!(
        err.to_string()
            .contains("changed since the preview (latest revision 7 deployed"),
        "{err}"
    );
    assert!(f.writes().is_empty(), "{:?}", f.writes());
}
