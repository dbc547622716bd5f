//! Cost of gathering the evidence below one failing HelmRelease (`cargo bench --bench
//! evidence`): the demo on the in-process simulated cluster with staging/redis stalled (its
//! image tag does not exist), 20 pods of its StatefulSet in ImagePullBackOff (written through
//! the API with the status the kubelet reports), each with a Warning event; then
//! `actions::evidence::gather` as the executor runs it for `w`, the details pane and
//! `fluxdeck why` (a task of its own, never the UI task), over a real kube client and HTTP.
//! Reports wall time (median, p90, max over the runs), the requests one gathering sends and
//! the findings; nothing asserts on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use fluxdeck::actions::evidence::gather;
use fluxdeck::actions::writer::Reader;
use fluxdeck::domain::evidence::Aspect;
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::kube::client;
use fluxdeck::kube::discovery::Discovery;
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::server::read_access_log;
use fluxdeck::sim::store::ObjKey;

const IMAGE: &str = "docker.io/bitnami/redis:1.0";
const PODS: usize = 20;
const RUNS: usize = 50;

fn pod_status() -> Value {
    json!({
        "phase": "Pending",
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
             "message": "containers with unready status: [redis]"},
            {"type": "PodScheduled", "status": "True"}
        ],
        "containerStatuses": [{
            "name": "redis", "image": IMAGE, "imageID": "", "ready": false, "started": false,
            "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff",
                                  "message": format!("Back-off pulling image \"{IMAGE}\"")}}
        }]
    })
}

async fn add_pod(client: &kube::Client, name: &str) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "staging");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "staging",
                     "labels": {"app.kubernetes.io/instance": "redis",
                                "statefulset.kubernetes.io/pod-name": name},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                          "name": "redis-master", "uid": "sts-uid",
                                          "controller": true}]},
        "spec": {"containers": [{"name": "redis", "image": IMAGE}]}
    }))?;
    match api.create(&PostParams::default(), &pod).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(anyhow!("creating pod {name}: {e}")),
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": pod_status()})),
    )
    .await?;
    let events: Api<Event> = Api::namespaced(client.clone(), "staging");
    let ev: Event = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.bench-failed"), "namespace": "staging"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "staging", "name": name},
        "type": "Warning", "reason": "Failed", "count": 3,
        "message": format!("Failed to pull image \"{IMAGE}\": not found"),
        "lastTimestamp": "2026-11-22T06:44:00Z"
    }))?;
    match events.create(&PostParams::default(), &ev).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(anyhow!("creating event for {name}: {e}")),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("access.log");
    let cluster = SimCluster::start(SimOptions {
        scenario: concat!(env!("CARGO_MANIFEST_DIR"), "/src/sim/scenarios/demo.yaml").into(),
        speed: 60.0,
        access_log: Some(log.clone()),
        ..SimOptions::default()
    })
    .await?;
    let stalled = controllers::wait_for(&cluster.store, Duration::from_secs(120), |s| {
        s.get(&ids::helmreleases(), &ObjKey::new("staging", "redis"))
            .is_some_and(|o| conditions::is_true(&o, "Stalled"))
            && s.get(
                &ids::statefulsets(),
                &ObjKey::new("staging", "redis-master"),
            )
            .is_some()
    })
    .await;
    if !stalled {
        return Err(anyhow!("staging/redis never stalled"));
    }
    let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .context("connecting to the simulated cluster")?;
    let client = conn.client.clone();
    let reader = Reader::new(client.clone(), Arc::new(Discovery::new(client.clone())));
    for i in 0..PODS {
        add_pod(&client, &format!("redis-master-{i}")).await?;
    }
    let key = ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis");
    // The first gathering resolves the API discovery, as the session's first `w` does.
    let first_start = Instant::now();
    let first = gather(&reader, &key, Timestamp::now())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let first_time = first_start.elapsed();
    let pods = first
        .findings
        .iter()
        .filter(|f| f.subject.kind == "Pod" && f.aspect == Aspect::State)
        .count();
    let before = read_access_log(&log)?.len();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let ev = gather(&reader, &key, Timestamp::now())
            .await
            .map_err(|e| anyhow!("{e}"))?;
        times.push(t.elapsed());
        if ev.findings.len() != first.findings.len() {
            return Err(anyhow!("the findings changed between runs"));
        }
    }
    let requests = (read_access_log(&log)?.len() - before) / RUNS;
    times.sort();
    println!("| measurement | value | target |");
    println!("|---|---:|---|");
    println!(
        "| gather, one failing release with {PODS} pods (median of {RUNS}) | {:.2?} | ≤ 100 ms |",
        percentile(&times, 0.5)
    );
    println!(
        "| p90 / max | {:.2?} / {:.2?} | |",
        percentile(&times, 0.9),
        times[times.len() - 1]
    );
    println!("| first gathering (API discovery included) | {first_time:.2?} | |");
    println!(
        "| findings / pods in ImagePullBackOff / requests per gathering | {} / {pods} / {requests} | |",
        first.findings.len()
    );
    drop(cluster);
    Ok(())
}
