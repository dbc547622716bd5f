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
    controllers::wait_for(&store, WAIT, |s| {
        get(s, &ids::helmrepositories(), "flux-system", "podinfo")
            .is_some_and(|o| o["status"] == json!({}))
    })
    .await;
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
    // Suspended release is never touched.
    assert!(
        get(&store, &hr, "default", "legacy-app")
            .unwrap()
            .get("status")
            .is_none()
    );
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
    assert!(ok, "drift was not corrected");
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
