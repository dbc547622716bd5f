#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The simulated Flux controllers against the in-process store, scenario by scenario.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fluxdeck::domain::helm_storage::{ReleaseStatus, decode_release};
use fluxdeck::sim::controllers::{self, ControllerOptions, ControllersHandle, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::scenario;
use fluxdeck::sim::store::{ObjKey, ResourceId, Store, WriteOpts, WritePart};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn boot(name: &str, speed: f64) -> (Arc<Store>, ControllersHandle) {
    let sc = scenario::load(name).unwrap();
    let store = Arc::new(Store::new());
    scenario::seed(&store, &sc).unwrap();
    let h = controllers::start(store.clone(), Arc::new(sc), ControllerOptions { speed });
    (store, h)
}

fn get(store: &Store, res: &ResourceId, ns: &str, name: &str) -> Option<Arc<Value>> {
    store.get(res, &ObjKey::new(ns, name))
}

fn cond(store: &Store, res: &ResourceId, ns: &str, name: &str, t: &str) -> Option<Value> {
    get(store, res, ns, name).and_then(|o| conditions::get(&o, t).cloned())
}

async fn wait_cond(
    store: &Store,
    res: &ResourceId,
    ns: &str,
    name: &str,
    t: &str,
    status: &str,
    reason: &str,
) -> Value {
    let ok = controllers::wait_for(store, WAIT, |s| {
        cond(s, res, ns, name, t).is_some_and(|c| c["status"] == status && c["reason"] == reason)
    })
    .await;
    let c = cond(store, res, ns, name, t);
    assert!(
        ok,
        "{ns}/{name}: {t} never became {status}/{reason}; now {c:?}"
    );
    c.unwrap()
}

async fn wait_msg(store: &Store, ns: &str, name: &str, t: &str, msg: &str) {
    let ok = controllers::wait_for(store, WAIT, |s| {
        cond(s, &ids::helmreleases(), ns, name, t).is_some_and(|c| c["message"] == msg)
    })
    .await;
    let c = cond(store, &ids::helmreleases(), ns, name, t);
    assert!(ok, "{ns}/{name}: {t} never had message {msg:?}; now {c:?}");
}

fn release_of(
    store: &Store,
    ns: &str,
    name: &str,
    v: i64,
) -> fluxdeck::domain::helm_storage::Release {
    let s = get(
        store,
        &ids::secrets(),
        ns,
        &format!("sh.helm.release.v1.{name}.v{v}"),
    )
    .expect("record");
    assert_eq!(s["type"], "helm.sh/release.v1");
    let helm_b64 = STANDARD
        .decode(s["data"]["release"].as_str().unwrap())
        .unwrap();
    decode_release(&helm_b64).unwrap()
}

#[tokio::test]
async fn demo_sources_kustomizations_and_installs() {
    let (store, _h) = boot("demo", 300.0);
    let git = ids::gitrepositories();
    let c = wait_cond(
        &store,
        &git,
        "flux-system",
        "flux-system",
        "Ready",
        "True",
        "Succeeded",
    )
    .await;
    let gr = get(&store, &git, "flux-system", "flux-system").unwrap();
    let rev = gr["status"]["artifact"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rev.starts_with("main@sha1:") && rev.len() == "main@sha1:".len() + 40);
    assert_eq!(
        c["message"],
        format!("stored artifact for revision '{rev}'")
    );
    // Root KS inventory and labels.
    let ks = ids::kustomizations();
    wait_cond(
        &store,
        &ks,
        "flux-system",
        "flux-system",
        "Ready",
        "True",
        "ReconciliationSucceeded",
    )
    .await;
    let root = get(&store, &ks, "flux-system", "flux-system").unwrap();
    let inv: Vec<&str> = root["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(inv.contains(&"flux-system_apps_kustomize.toolkit.fluxcd.io_Kustomization"));
    assert!(inv.contains(&"flux-system_podinfo_source.toolkit.fluxcd.io_HelmRepository"));
    assert_eq!(root["status"]["lastAppliedRevision"], rev.as_str());
    let apps = get(&store, &ks, "flux-system", "apps").unwrap();
    assert_eq!(
        apps["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "flux-system"
    );
    // OCI HelmRepository is static.
    let ok = controllers::wait_for(&store, WAIT, |s| {
        get(s, &ids::helmrepositories(), "flux-system", "podinfo")
            .is_some_and(|o| o["status"] == json!({}))
    })
    .await;
    assert!(
        ok,
        "the OCI HelmRepository flux-system/podinfo never had an empty status; now {:?}",
        get(&store, &ids::helmrepositories(), "flux-system", "podinfo")
            .map(|o| o["status"].clone())
    );
    // redis installs; storage record decodes.
    let hr = ids::helmreleases();
    let c = wait_cond(
        &store,
        &hr,
        "default",
        "redis",
        "Ready",
        "True",
        "InstallSucceeded",
    )
    .await;
    assert_eq!(
        c["message"],
        "Helm install succeeded for release default/redis.v1 with chart redis@19.0.1"
    );
    let rel = release_of(&store, "default", "redis", 1);
    assert_eq!(rel.info.status, ReleaseStatus::Deployed);
    assert_eq!(rel.info.description, "Install complete");
    assert_eq!(rel.config["auth"]["enabled"], false);
    let redis = get(&store, &hr, "default", "redis").unwrap();
    assert_eq!(redis["status"]["history"][0]["status"], "deployed");
    assert_eq!(redis["status"]["helmChart"], "flux-system/default-redis");
    let sts = get(&store, &ids::statefulsets(), "default", "redis-master").unwrap();
    assert_eq!(
        sts["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
        "redis"
    );
    assert_eq!(
        sts["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(
        sts["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "redis"
    );
    // Backend keeps its seeded history (4 revisions, v4 deployed) and gets drift warned.
    let r4 = release_of(&store, "default", "backend", 4);
    assert_eq!(r4.info.status, ReleaseStatus::Deployed);
    assert_eq!(
        release_of(&store, "default", "backend", 3).info.status,
        ReleaseStatus::Superseded
    );
    // Loop and staging/backend are blocked.
    let c = wait_cond(
        &store,
        &hr,
        "loop",
        "backend",
        "Ready",
        "False",
        "DependencyNotReady",
    )
    .await;
    assert_eq!(c["message"], "dependency 'loop/redis' is not ready");
    // The suspended release keeps the status of its one install: never reconciled again.
    let legacy = get(&store, &hr, "default", "legacy-app").unwrap();
    assert_eq!(legacy["status"]["history"].as_array().unwrap().len(), 1);
    let ready = cond(&store, &hr, "default", "legacy-app", "Ready").unwrap();
    assert_eq!(ready["reason"], "InstallSucceeded");
    assert!(cond(&store, &hr, "default", "legacy-app", "Reconciling").is_none());
    // grade-api composes values with a targetPath, and installs once postgres is ready.
    wait_cond(
        &store,
        &hr,
        "grade-api",
        "grade-api",
        "Ready",
        "True",
        "InstallSucceeded",
    )
    .await;
    let rel = release_of(&store, "grade-api", "grade-api", 1);
    assert_eq!(
        rel.config["database"]["host"],
        "postgres.grade-api.svc.cluster.local"
    );
    // Events exist with the right reasons and sources.
    let (evs, _) = store.list(&ids::events(), Some("default"));
    assert!(evs.iter().any(|e| e["reason"] == "InstallSucceeded"
        && e["source"]["component"] == "helm-controller"
        && e["involvedObject"]["name"] == "redis"));
}

#[tokio::test]
async fn staging_redis_exhausts_retries_and_blocks_backend() {
    let (store, _h) = boot("demo", 600.0);
    let hr = ids::helmreleases();
    let c = wait_cond(
        &store,
        &hr,
        "staging",
        "redis",
        "Stalled",
        "True",
        "RetriesExceeded",
    )
    .await;
    assert_eq!(c["message"], "Failed to install after 3 attempt(s)");
    let r = cond(&store, &hr, "staging", "backend", "Ready").unwrap();
    assert_eq!(r["reason"], "DependencyNotReady");
    assert_eq!(r["message"], "dependency 'staging/redis' is not ready");
}

#[tokio::test]
async fn drift_warn_and_enabled_with_ignore_rule() {
    let (store, _h) = boot("drift", 600.0);
    let hr = ids::helmreleases();
    wait_cond(
        &store,
        &hr,
        "apps",
        "warned",
        "Ready",
        "True",
        "InstallSucceeded",
    )
    .await;
    wait_cond(
        &store,
        &hr,
        "apps",
        "corrected",
        "Ready",
        "True",
        "InstallSucceeded",
    )
    .await;
    for name in ["warned", "corrected"] {
        store
            .modify(
                &ids::deployments(),
                &ObjKey::new("apps", name),
                WritePart::Main,
                WriteOpts::default(),
                |cur| {
                    let mut n = cur.clone();
                    n["spec"]["replicas"] = json!(4);
                    n["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] =
                        json!("edited");
                    Ok(Some(n))
                },
            )
            .unwrap();
    }
    let c = wait_cond(
        &store,
        &hr,
        "apps",
        "warned",
        "Drifted",
        "True",
        "DriftDetected",
    )
    .await;
    assert_eq!(
        c["message"],
        "Cluster state of release apps/warned.v1 has drifted from the desired state:\nDeployment/apps/warned changed (0 additions, 2 changes, 0 removals)"
    );
    // enabled: corrected, replicas ignored.
    let ok = controllers::wait_for(&store, WAIT, |s| {
        get(s, &ids::deployments(), "apps", "corrected").is_some_and(|d| {
            d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "hello"
        })
    })
    .await;
    assert!(
        ok,
        "drift of Deployment apps/corrected was not corrected (env value back to \"hello\"); now {:?}",
        get(&store, &ids::deployments(), "apps", "corrected")
            .map(|d| d["spec"]["template"]["spec"]["containers"][0]["env"].clone())
    );
    let d = get(&store, &ids::deployments(), "apps", "corrected").unwrap();
    assert_eq!(d["spec"]["replicas"], 4, "ignored path must stay");
    let (evs, _) = store.list(&ids::events(), Some("apps"));
    assert!(evs.iter().any(|e| e["reason"] == "DriftCorrected"));
    // warn mode leaves the object alone.
    assert_eq!(
        get(&store, &ids::deployments(), "apps", "warned").unwrap()["spec"]["replicas"],
        4
    );
}

fn patch_hr(store: &Store, ns: &str, name: &str, f: impl FnOnce(&mut Value)) {
    store
        .modify(
            &ids::helmreleases(),
            &ObjKey::new(ns, name),
            WritePart::Main,
            WriteOpts::default(),
            |cur| {
                let mut n = cur.clone();
                f(&mut n);
                Ok(Some(n))
            },
        )
        .unwrap();
}

#[tokio::test]
async fn upgrade_supersedes_and_failed_upgrade_rolls_back() {
    let (store, _h) = boot("rollback", 600.0);
    let hr = ids::helmreleases();
    // Seeded: v3 deployed, in sync.
    assert_eq!(
        release_of(&store, "apps", "web", 3).info.status,
        ReleaseStatus::Deployed
    );
    patch_hr(&store, "apps", "web", |n| {
        n["spec"]["values"]["message"] = json!("v4")
    });
    wait_msg(
        &store,
        "apps",
        "web",
        "Ready",
        "Helm upgrade succeeded for release apps/web.v4 with chart app@1.0.0",
    )
    .await;
    assert_eq!(
        release_of(&store, "apps", "web", 3).info.status,
        ReleaseStatus::Superseded
    );
    assert_eq!(
        release_of(&store, "apps", "web", 4).info.description,
        "Upgrade complete"
    );
    // A bad image: the upgrade times out and is rolled back to v4.
    patch_hr(&store, "apps", "web", |n| {
        n["spec"]["values"]["image"] = json!({"tag": "broken"})
    });
    let c = wait_cond(
        &store,
        &hr,
        "apps",
        "web",
        "Remediated",
        "True",
        "RollbackSucceeded",
    )
    .await;
    assert_eq!(
        c["message"],
        "Helm rollback to previous release apps/web.v4 with chart app@1.0.0 succeeded"
    );
    assert_eq!(
        cond(&store, &hr, "apps", "web", "Ready").unwrap()["status"],
        "False"
    );
    let failed = release_of(&store, "apps", "web", 5);
    assert_eq!(failed.info.status, ReleaseStatus::Failed);
    assert!(
        failed
            .info
            .description
            .ends_with("context deadline exceeded")
    );
    let rb = release_of(&store, "apps", "web", 6);
    assert_eq!(rb.info.description, "Rollback to 4");
    let obj = get(&store, &hr, "apps", "web").unwrap();
    assert_eq!(obj["status"]["history"][0]["action"], "rollback");
    // Retries exhausted after the next attempt.
    let c = wait_cond(
        &store,
        &hr,
        "apps",
        "web",
        "Stalled",
        "True",
        "RetriesExceeded",
    )
    .await;
    assert_eq!(c["message"], "Failed to upgrade after 2 attempt(s)");
}

#[tokio::test]
async fn values_error_message() {
    let (store, _h) = boot("values", 600.0);
    let hr = ids::helmreleases();
    let c = wait_cond(
        &store,
        &hr,
        "apps",
        "broken",
        "Ready",
        "False",
        "ValuesError",
    )
    .await;
    assert_eq!(
        c["message"],
        "could not resolve Secret chart values reference 'apps/app-secret' with key 'values.yaml': secrets \"app-secret\" not found"
    );
    wait_cond(
        &store,
        &hr,
        "apps",
        "composed",
        "Ready",
        "True",
        "InstallSucceeded",
    )
    .await;
    let rel = release_of(&store, "apps", "composed", 1);
    assert_eq!(rel.config["image"]["tag"], "1.0.1");
    assert_eq!(rel.config["message"], "inline");
    assert_eq!(rel.config["replicaCount"], 2);
}

#[tokio::test]
async fn requested_at_suspend_resume_and_manual_rollback() {
    let (store, _h) = boot("rollback", 600.0);
    let hr = ids::helmreleases();
    patch_hr(&store, "apps", "web", |n| {
        n["metadata"]["annotations"] = json!({"reconcile.fluxcd.io/requestedAt": "t1"})
    });
    let handled = controllers::wait_for(&store, WAIT, |s| {
        get(s, &hr, "apps", "web").unwrap()["status"]["lastHandledReconcileAt"] == "t1"
    })
    .await;
    assert!(
        handled,
        "apps/web never handled the reconcile request t1; status now {:?}",
        get(&store, &hr, "apps", "web").map(|o| o["status"].clone())
    );
    // Suspend, then a manual rollback (a record the controller did not write): left alone.
    patch_hr(&store, "apps", "web", |n| {
        n["spec"]["suspend"] = json!(true)
    });
    let mut manual = release_of(&store, "apps", "web", 2);
    manual.version = 4;
    manual.info.description = "Rollback to 2".into();
    manual.info.status = ReleaseStatus::Deployed;
    let helm_b64 = fluxdeck::domain::helm_storage::encode_release(&manual).unwrap();
    store
        .create(
            &ids::secrets(),
            json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                   "metadata": {"name": "sh.helm.release.v1.web.v4", "namespace": "apps",
                                "labels": {"owner": "helm", "name": "web", "version": "4", "status": "deployed"}},
                   "data": {"release": STANDARD.encode(helm_b64)}}),
            WriteOpts::default(),
        )
        .unwrap();
    patch_hr(&store, "apps", "web", |n| {
        n["metadata"]["annotations"] = json!({"reconcile.fluxcd.io/requestedAt": "t2"})
    });
    // While suspended nothing is handled.
    let handled = controllers::wait_for(&store, Duration::from_millis(500), |s| {
        get(s, &hr, "apps", "web").unwrap()["status"]["lastHandledReconcileAt"] == "t2"
    })
    .await;
    assert!(!handled, "a suspended HelmRelease must not reconcile");
    // Resume: the unmanaged record is upgraded back to the desired state as v5.
    patch_hr(&store, "apps", "web", |n| {
        n["spec"].as_object_mut().unwrap().remove("suspend");
    });
    wait_msg(
        &store,
        "apps",
        "web",
        "Ready",
        "Helm upgrade succeeded for release apps/web.v5 with chart app@1.0.0",
    )
    .await;
    assert_eq!(release_of(&store, "apps", "web", 5).config["message"], "v3");
}

#[tokio::test]
async fn workloads_get_status_and_bad_images_never_become_available() {
    let (store, _h) = boot("failing-install", 600.0);
    let ok = controllers::wait_for(&store, WAIT, |s| {
        get(s, &ids::deployments(), "apps", "failing").is_some_and(|d| {
            conditions::get(&d, "Progressing")
                .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
        })
    })
    .await;
    assert!(
        ok,
        "Deployment apps/failing never reported ProgressDeadlineExceeded; status now {:?}",
        get(&store, &ids::deployments(), "apps", "failing").map(|d| d["status"].clone())
    );
    let d = get(&store, &ids::deployments(), "apps", "failing").unwrap();
    assert_eq!(d["status"]["availableReplicas"], 0);
    assert_eq!(conditions::get(&d, "Available").unwrap()["status"], "False");
    let hr = ids::helmreleases();
    let c = wait_cond(
        &store,
        &hr,
        "apps",
        "failing",
        "Stalled",
        "True",
        "RetriesExceeded",
    )
    .await;
    assert_eq!(c["message"], "Failed to install after 2 attempt(s)");
    let (evs, _) = store.list(&ids::events(), Some("apps"));
    assert!(evs.iter().any(|e| {
        e["reason"] == "InstallFailed"
            && e["type"] == "Warning"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("\n\nLast Helm logs:\n\n")
    }));
}

#[tokio::test]
async fn source_failure_and_recovery() {
    let (store, _h) = boot("source-failure", 200.0);
    let git = ids::gitrepositories();
    let c = wait_cond(
        &store,
        &git,
        "flux-system",
        "fleet",
        "Ready",
        "False",
        "AuthenticationFailed",
    )
    .await;
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("authentication required")
    );
    wait_cond(
        &store,
        &git,
        "flux-system",
        "fleet",
        "Ready",
        "True",
        "Succeeded",
    )
    .await;
    let ks = wait_cond(
        &store,
        &ids::kustomizations(),
        "flux-system",
        "apps",
        "Ready",
        "True",
        "ReconciliationSucceeded",
    )
    .await;
    assert!(
        ks["message"]
            .as_str()
            .unwrap()
            .starts_with("Applied revision: main@sha1:")
    );
}

#[tokio::test]
async fn scale_seeds_and_reconciles() {
    let sc = scenario::load("scale:hr=500,ks=50").unwrap();
    let store = Arc::new(Store::new());
    scenario::seed(&store, &sc).unwrap();
    let _h = controllers::start(
        store.clone(),
        Arc::new(sc),
        ControllerOptions { speed: 20.0 },
    );
    let ok = controllers::wait_for(&store, Duration::from_secs(60), |s| {
        s.list(&ids::helmreleases(), None)
            .0
            .iter()
            .filter(|h| conditions::is_true(h, "Ready"))
            .count()
            > 400
    })
    .await;
    let (hrs, _) = store.list(&ids::helmreleases(), None);
    let ready = hrs
        .iter()
        .filter(|h| conditions::is_true(h, "Ready"))
        .count();
    let reasons: std::collections::BTreeMap<String, usize> =
        hrs.iter().fold(Default::default(), |mut m, h| {
            *m.entry(
                conditions::get(h, "Ready")
                    .map(|c| format!("{}", c["reason"]))
                    .unwrap_or_default(),
            )
            .or_default() += 1;
            m
        });
    assert!(
        ok,
        "most generated HelmReleases should become ready: {ready}/{} {reasons:?}",
        hrs.len()
    );
}

/// A duration the CRD pattern lets through but Go's `time.Duration` cannot hold: the object
/// gets Ready=False / Stalled=True with the parse error instead of taking the controllers
/// down, and the controllers go on with the other objects.
#[tokio::test]
async fn absurd_interval_stalls_that_object_only() {
    let (store, h) = boot("rollback", 600.0);
    let hr = ids::helmreleases();
    patch_hr(&store, "apps", "web", |n| {
        n["spec"]["interval"] = json!("99999999999999999999h")
    });
    let expected = "spec.interval: time: invalid duration \"99999999999999999999h\"";
    let ready = wait_cond(&store, &hr, "apps", "web", "Ready", "False", "InvalidSpec").await;
    assert_eq!(ready["message"], expected);
    let stalled = wait_cond(&store, &hr, "apps", "web", "Stalled", "True", "InvalidSpec").await;
    assert_eq!(stalled["message"], expected);

    // Another HelmRelease created afterwards is installed: the controllers still run.
    let mut other = (*get(&store, &hr, "apps", "web").unwrap()).clone();
    other["metadata"] = json!({"name": "other", "namespace": "apps"});
    other["spec"]["interval"] = json!("10m");
    other.as_object_mut().unwrap().remove("status");
    store.create(&hr, other, WriteOpts::default()).unwrap();
    wait_cond(
        &store,
        &hr,
        "apps",
        "other",
        "Ready",
        "True",
        "InstallSucceeded",
    )
    .await;

    // A valid interval again: web is reconciled and the stall is gone.
    patch_hr(&store, "apps", "web", |n| {
        n["spec"]["interval"] = json!("10m")
    });
    let ok = controllers::wait_for(&store, WAIT, |s| {
        cond(s, &hr, "apps", "web", "Ready").is_some_and(|c| c["status"] == "True")
            && cond(s, &hr, "apps", "web", "Stalled").is_none()
    })
    .await;
    assert!(
        ok,
        "web never recovered: {:?}",
        get(&store, &hr, "apps", "web").map(|o| o["status"].clone())
    );
    assert!(h.is_running(), "the controllers are still running");
}
