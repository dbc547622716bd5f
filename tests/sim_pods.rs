//! Pods of the simulated cluster over HTTP: the demo's staging/redis pod in ImagePullBackOff
//! with the kubelet's messages and events, Deployments scaled up and down and rolled, a
//! crashing and an unschedulable pod, and the real kubectl listing and describing them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_server.rs"]
mod sim_server;
#[path = "common/skip.rs"]
mod skip;

use std::sync::Arc;

use fluxdeck::sim::controllers::{self, ControllerOptions, ControllersHandle};
use fluxdeck::sim::kubeconfig::write_kubeconfig;
use fluxdeck::sim::registry::FluxApiLevel;
use fluxdeck::sim::scenario::{self, Scenario};
use fluxdeck::sim::store::Store;
use serde_json::{Value, json};
use sim_server::{Sim, WAIT};

async fn boot(sc: Scenario, speed: f64) -> (Sim, ControllersHandle) {
    let store = Store::new();
    scenario::seed(&store, &sc).unwrap();
    let sim = Sim::start_with(FluxApiLevel::Current, store).await;
    let h = controllers::start(sim.store.clone(), Arc::new(sc), ControllerOptions { speed });
    (sim, h)
}

/// GET a path; `None` on 404.
async fn get(sim: &Sim, path: &str) -> Option<Value> {
    let r = sim.get(path).await;
    match r.status {
        200 => Some(r.json()),
        404 => None,
        s => panic!("GET {path}: {s} {}", r.body),
    }
}

async fn list(sim: &Sim, path: &str) -> Vec<Value> {
    get(sim, path).await.unwrap()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Poll `f` until it returns `Some`, within the tests' bound.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let found = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(v) = f().await {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn send(sim: &Sim, method: &str, path: &str, ctype: &str, body: &Value) -> Value {
    let r = sim
        .request(
            method,
            path,
            &[("Content-Type", ctype)],
            body.to_string().as_bytes(),
        )
        .await;
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {} {}",
        r.status,
        r.body
    );
    r.json()
}

fn waiting(pod: &Value) -> (String, String) {
    let w = &pod["status"]["containerStatuses"][0]["state"]["waiting"];
    (
        w["reason"].as_str().unwrap_or_default().to_string(),
        w["message"].as_str().unwrap_or_default().to_string(),
    )
}

fn pod_events(events: &[Value], pod: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["involvedObject"]["name"] == pod && e["involvedObject"]["kind"] == "Pod")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_redis_pod_is_in_image_pull_back_off_with_the_kubelets_events() {
    let (sim, _h) = boot(scenario::load("demo").unwrap(), 120.0).await;
    let path = "/api/v1/namespaces/staging/pods/redis-master-0";
    let pod = eventually("redis-master-0 in ImagePullBackOff", || async {
        get(&sim, path)
            .await
            .filter(|p| waiting(p).0 == "ImagePullBackOff")
    })
    .await;
    assert_eq!(
        waiting(&pod).1,
        "Back-off pulling image \"docker.io/bitnami/redis:1.0\""
    );
    assert_eq!(pod["status"]["phase"], "Pending");
    let cs = &pod["status"]["containerStatuses"][0];
    assert_eq!(cs["ready"], false);
    assert_eq!(cs["image"], "docker.io/bitnami/redis:1.0");
    assert_eq!(cs["restartCount"], 0);
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "StatefulSet");
    assert_eq!(owner["name"], "redis-master");
    assert_eq!(owner["controller"], true);
    let sts = get(
        &sim,
        "/apis/apps/v1/namespaces/staging/statefulsets/redis-master",
    )
    .await
    .unwrap();
    assert_eq!(owner["uid"], sts["metadata"]["uid"]);
    let ready = pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .cloned()
        .unwrap();
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "ContainersNotReady");
    // The StatefulSet's selector finds the pod.
    let sel = "app.kubernetes.io%2Finstance%3Dredis";
    let found = list(
        &sim,
        &format!("/api/v1/namespaces/staging/pods?labelSelector={sel}"),
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["metadata"]["name"], "redis-master-0");
    assert_eq!(sts["status"]["readyReplicas"], 0);

    // The kubelet's events, counted as they repeat.
    let events = eventually("repeated pull failures", || async {
        let evs = list(&sim, "/api/v1/namespaces/staging/events").await;
        let evs = pod_events(&evs, "redis-master-0");
        evs.iter()
            .any(|e| e["message"] == "Error: ImagePullBackOff" && e["count"].as_i64() >= Some(2))
            .then_some(evs)
    })
    .await;
    let find = |msg: &str| {
        events
            .iter()
            .find(|e| e["message"] == msg)
            .unwrap_or_else(|| panic!("no event {msg:?} in {events:#?}"))
            .clone()
    };
    let failed = find(
        "Failed to pull image \"docker.io/bitnami/redis:1.0\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/bitnami/redis:1.0\": failed to resolve reference \"docker.io/bitnami/redis:1.0\": docker.io/bitnami/redis:1.0: not found",
    );
    assert_eq!(failed["type"], "Warning");
    assert_eq!(failed["reason"], "Failed");
    assert_eq!(failed["source"]["component"], "kubelet");
    assert_eq!(
        failed["involvedObject"]["fieldPath"],
        "spec.containers{redis}"
    );
    assert_eq!(failed["involvedObject"]["uid"], pod["metadata"]["uid"]);
    assert_eq!(find("Error: ErrImagePull")["type"], "Warning");
    let backoff = find("Back-off pulling image \"docker.io/bitnami/redis:1.0\"");
    assert_eq!(backoff["reason"], "BackOff");
    assert_eq!(backoff["type"], "Normal");
    assert_eq!(find("Error: ImagePullBackOff")["reason"], "Failed");
    let scheduled = find("Successfully assigned staging/redis-master-0 to sim-node-1");
    assert_eq!(scheduled["reason"], "Scheduled");
    assert_eq!(scheduled["source"]["component"], "default-scheduler");
}

fn deployment(name: &str, replicas: i64, annotations: Value, resources: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {"containers": [{"name": "app", "image": "ghcr.io/example/app:1.0",
                                          "resources": resources}]}
            }
        }
    })
}

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const MERGE: &str = "application/merge-patch+json";

async fn pods_of(sim: &Sim, app: &str) -> Vec<Value> {
    list(
        sim,
        &format!("/api/v1/namespaces/default/pods?labelSelector=app%3D{app}"),
    )
    .await
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Wait until the app has exactly `n` pods, all ready and from one ReplicaSet; returns them.
async fn settled(sim: &Sim, app: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} ready pods of {app}"), || async {
        let pods = pods_of(sim, app).await;
        let d = get(sim, &format!("{DEPLOYS}/{app}")).await?;
        let done = pods.len() == n
            && pods.iter().all(is_ready)
            && d["status"]["readyReplicas"] == n
            && d["status"]["replicas"] == n
            && d["status"]["updatedReplicas"] == n;
        done.then_some(pods)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_scale_roll_and_go_away_with_their_pods() {
    let (sim, _h) = boot(Scenario::default(), 300.0).await;
    send(
        &sim,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment("web", 2, json!({}), json!({})),
    )
    .await;
    let pods = settled(&sim, "web", 2).await;
    let rs_name = pods[0]["metadata"]["ownerReferences"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rs_name.starts_with("web-"), "{rs_name}");
    let hash = pods[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(rs_name, format!("web-{hash}"));
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap();
        let suffix = name.strip_prefix(&format!("{rs_name}-")).unwrap();
        assert_eq!(suffix.len(), 5, "{name}");
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(p["status"]["phase"], "Running");
        let cs = &p["status"]["containerStatuses"][0];
        assert!(cs["state"]["running"].is_object());
        assert!(
            cs["imageID"]
                .as_str()
                .unwrap()
                .starts_with("ghcr.io/example/app@sha256:")
        );
    }
    let rs = get(
        &sim,
        &format!("/apis/apps/v1/namespaces/default/replicasets/{rs_name}"),
    )
    .await
    .unwrap();
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["name"], "web");
    let d = get(&sim, &format!("{DEPLOYS}/web")).await.unwrap();
    let conds = d["status"]["conditions"].as_array().unwrap();
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True")
    );
    assert!(
        conds
            .iter()
            .any(|c| c["reason"] == "NewReplicaSetAvailable")
    );

    // Scale up, then down.
    send(
        &sim,
        "PATCH",
        &format!("{DEPLOYS}/web"),
        MERGE,
        &json!({"spec": {"replicas": 4}}),
    )
    .await;
    settled(&sim, "web", 4).await;
    send(
        &sim,
        "PATCH",
        &format!("{DEPLOYS}/web"),
        MERGE,
        &json!({"spec": {"replicas": 1}}),
    )
    .await;
    let one = settled(&sim, "web", 1).await;
    assert_eq!(
        one[0]["metadata"]["ownerReferences"][0]["name"],
        rs_name.as_str()
    );

    // A template change rolls the pods onto a new ReplicaSet.
    send(
        &sim,
        "PATCH",
        &format!("{DEPLOYS}/web"),
        MERGE,
        &json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "ghcr.io/example/app:1.1"}]}}}}),
    )
    .await;
    let rolled = eventually("the pods on a new ReplicaSet", || async {
        let pods = settled(&sim, "web", 1).await;
        (pods[0]["metadata"]["ownerReferences"][0]["name"] != rs_name.as_str()).then_some(pods)
    })
    .await;
    assert_eq!(
        rolled[0]["status"]["containerStatuses"][0]["image"],
        "ghcr.io/example/app:1.1"
    );

    // Deleting the Deployment removes its ReplicaSets and pods.
    let r = sim
        .request("DELETE", &format!("{DEPLOYS}/web"), &[], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    eventually("no pods and no ReplicaSets left", || async {
        let rs = list(&sim, "/apis/apps/v1/namespaces/default/replicasets").await;
        (pods_of(&sim, "web").await.is_empty() && rs.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pod_is_replaced() {
    let (sim, _h) = boot(Scenario::default(), 300.0).await;
    send(
        &sim,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment("api", 1, json!({}), json!({})),
    )
    .await;
    let first = settled(&sim, "api", 1).await;
    let name = first[0]["metadata"]["name"].as_str().unwrap().to_string();
    let r = sim
        .request(
            "DELETE",
            &format!("/api/v1/namespaces/default/pods/{name}"),
            &[],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    eventually("a replacement pod", || async {
        let pods = settled(&sim, "api", 1).await;
        (pods[0]["metadata"]["name"] != name.as_str()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_and_unschedulable_pods() {
    let (sim, _h) = boot(Scenario::default(), 600.0).await;
    send(
        &sim,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment(
            "crash",
            1,
            json!({"sim.fluxdeck.io/exit-code": "1"}),
            json!({}),
        ),
    )
    .await;
    send(
        &sim,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment("huge", 1, json!({}), json!({"requests": {"cpu": "64"}})),
    )
    .await;
    let crashed = eventually("CrashLoopBackOff with restarts", || async {
        pods_of(&sim, "crash").await.into_iter().find(|p| {
            waiting(p).0 == "CrashLoopBackOff"
                && p["status"]["containerStatuses"][0]["restartCount"].as_i64() >= Some(2)
        })
    })
    .await;
    let cs = &crashed["status"]["containerStatuses"][0];
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
    assert_eq!(crashed["status"]["phase"], "Running");
    let pod = crashed["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        waiting(&crashed)
            .1
            .contains("restarting failed container=app")
    );
    let evs = list(&sim, "/api/v1/namespaces/default/events").await;
    let backoff = pod_events(&evs, &pod)
        .into_iter()
        .find(|e| e["reason"] == "BackOff")
        .unwrap();
    assert_eq!(backoff["type"], "Warning");
    assert!(backoff["message"].as_str().unwrap().starts_with(&format!(
        "Back-off restarting failed container app in pod {pod}_default("
    )));

    let pending = eventually("the unschedulable pod", || async {
        pods_of(&sim, "huge").await.into_iter().next()
    })
    .await;
    assert_eq!(pending["status"]["phase"], "Pending");
    let sched = &pending["status"]["conditions"][0];
    assert_eq!(sched["type"], "PodScheduled");
    assert_eq!(sched["status"], "False");
    assert_eq!(sched["reason"], "Unschedulable");
    assert_eq!(
        sched["message"],
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    assert!(pending["spec"].get("nodeName").is_none());
    let name = pending["metadata"]["name"].as_str().unwrap();
    let evs = list(&sim, "/api/v1/namespaces/default/events").await;
    let failed = pod_events(&evs, name)
        .into_iter()
        .find(|e| e["reason"] == "FailedScheduling")
        .unwrap();
    assert_eq!(failed["type"], "Warning");
    assert_eq!(failed["source"]["component"], "default-scheduler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_and_describes_the_pods() {
    let (sim, _h) = boot(scenario::load("demo").unwrap(), 120.0).await;
    let Some(bin) = skip::client_or_skip("kubectl") else {
        return;
    };
    let kubeconfig = sim.dir.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, &sim.handle.url()).unwrap();
    let home = sim.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |args: &[&str]| {
        let mut c = tokio::process::Command::new(&bin);
        c.args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .env("HOME", &home)
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let what = format!("{args:?}");
        async move {
            let out = tokio::time::timeout(WAIT, c.output())
                .await
                .unwrap()
                .unwrap();
            assert!(
                out.status.success(),
                "kubectl {what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).to_string()
        }
    };
    let path = "/api/v1/namespaces/staging/pods/redis-master-0";
    eventually("redis-master-0 in ImagePullBackOff", || async {
        get(&sim, path)
            .await
            .filter(|p| waiting(p).0 == "ImagePullBackOff")
    })
    .await;
    let out = run(&["get", "pods", "-n", "staging"]).await;
    let line = out
        .lines()
        .find(|l| l.starts_with("redis-master-0 "))
        .unwrap_or_else(|| panic!("no redis-master-0 in:\n{out}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[1], "0/1", "{out}");
    assert!(
        ["ImagePullBackOff", "ErrImagePull"].contains(&cells[2]),
        "{out}"
    );
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.lines().next().unwrap().contains("STATUS"), "{out}");
    let out = run(&["describe", "pod", "redis-master-0", "-n", "staging"]).await;
    assert!(
        out.contains("Controlled By:  StatefulSet/redis-master"),
        "{out}"
    );
    assert!(out.contains("Node:"), "{out}");
    assert!(out.contains("sim-node-1"), "{out}");
    assert!(
        out.contains("Failed to pull image \"docker.io/bitnami/redis:1.0\""),
        "{out}"
    );
    let out = run(&["get", "events", "-n", "staging"]).await;
    assert!(out.contains("pod/redis-master-0"), "{out}");
    assert!(out.contains("Error: ImagePullBackOff"), "{out}");
    let out = run(&["get", "statefulsets,deployments", "-n", "staging"]).await;
    assert!(out.contains("statefulset.apps/redis-master"), "{out}");
    assert!(out.contains("0/1"), "{out}");
}
