//! The evidence below a failing HelmRelease, gathered against the in-process simulated
//! cluster running the demo: staging/redis fails to install (its image tag does not exist),
//! its StatefulSet has 0/1 ready, and its pods (written through the API here, with the
//! status the kubelet reports) are in ImagePullBackOff with Warning events. Also: what the
//! gathering sends (GETs and LISTs, a handful), a missing permission as a finding, a failing
//! source's Secret, and the time it takes for a release with 20 pods.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fluxdeck::actions::evidence::gather;
use fluxdeck::actions::writer::Reader;
use fluxdeck::domain::evidence::{Aspect, Evidence};
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::kube::client;
use fluxdeck::kube::discovery::Discovery;
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::faults::ForbiddenRule;
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::server::read_access_log;
use fluxdeck::sim::store::ObjKey;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const IMAGE: &str = "docker.io/bitnami/redis:1.0";

struct Fixture {
    cluster: SimCluster,
    dir: tempfile::TempDir,
    client: kube::Client,
    reader: Reader,
}

fn redis() -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis")
}

/// The demo with staging/redis stalled (its install retries used up).
async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cluster = SimCluster::start(SimOptions {
        scenario: concat!(env!("CARGO_MANIFEST_DIR"), "/src/sim/scenarios/demo.yaml").into(),
        speed: 60.0,
        access_log: Some(dir.path().join("access.log")),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let stalled = controllers::wait_for(&cluster.store, WAIT, |s| {
        s.get(&ids::helmreleases(), &ObjKey::new("staging", "redis"))
            .is_some_and(|o| conditions::is_true(&o, "Stalled"))
            && s.get(
                &ids::statefulsets(),
                &ObjKey::new("staging", "redis-master"),
            )
            .is_some()
    })
    .await;
    assert!(stalled, "staging/redis never stalled");
    let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let reader = Reader::new(
        conn.client.clone(),
        Arc::new(Discovery::new(conn.client.clone())),
    );
    Fixture {
        cluster,
        dir,
        client: conn.client.clone(),
        reader,
    }
}

/// The status the kubelet reports for a pod whose image cannot be pulled.
fn image_pull_status() -> Value {
    json!({
        "phase": "Pending",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2026-11-22T06:38:02Z"},
            {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-22T06:38:00Z"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
             "message": "containers with unready status: [redis]", "lastTransitionTime": "2026-11-22T06:38:00Z"},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
             "message": "containers with unready status: [redis]", "lastTransitionTime": "2026-11-22T06:38:00Z"},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-22T06:38:00Z"}
        ],
        "hostIP": "10.0.0.5", "podIP": "10.244.1.7", "startTime": "2026-11-22T06:38:00Z",
        "qosClass": "BestEffort",
        "containerStatuses": [{
            "name": "redis", "image": IMAGE, "imageID": "", "ready": false, "started": false,
            "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff",
                                  "message": format!("Back-off pulling image \"{IMAGE}\"")}},
            "lastState": {}
        }]
    })
}

impl Fixture {
    /// A pod of staging/redis-master as its controller would create it, then its status
    /// written through the status subresource as the kubelet does.
    async fn pod(&self, name: &str) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), "staging");
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "staging",
                         "labels": {"app.kubernetes.io/instance": "redis",
                                    "statefulset.kubernetes.io/pod-name": name},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                              "name": "redis-master", "uid": "sts-uid",
                                              "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"containers": [{"name": "redis", "image": IMAGE}]}
        }))
        .unwrap();
        // The simulated StatefulSet controller may have made this pod already.
        match api.create(&PostParams::default(), &pod).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("creating pod {name}: {e}"),
        }
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": image_pull_status()})),
        )
        .await
        .unwrap();
    }

    async fn event(&self, pod: &str, reason: &str, message: &str, count: i32, last: &str) {
        let api: Api<Event> = Api::namespaced(self.client.clone(), "staging");
        let ev: Event = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{pod}.{}", reason.to_lowercase()), "namespace": "staging"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "staging",
                               "name": pod, "fieldPath": "spec.containers{redis}"},
            "type": "Warning", "reason": reason, "message": message, "count": count,
            "firstTimestamp": "2026-11-22T06:38:05Z", "lastTimestamp": last,
            "source": {"component": "kubelet", "host": "node-1"}
        }))
        .unwrap();
        api.create(&PostParams::default(), &ev).await.unwrap();
    }

    async fn gather(&self) -> Evidence {
        gather(&self.reader, &redis(), Timestamp::now())
            .await
            .unwrap()
    }

    /// The requests sent since `from` (index in the access log), as `METHOD path`.
    fn requests_since(&self, from: usize) -> Vec<String> {
        read_access_log(&self.dir.path().join("access.log"))
            .unwrap()
            .into_iter()
            .skip(from)
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }

    fn log_len(&self) -> usize {
        read_access_log(&self.dir.path().join("access.log"))
            .unwrap()
            .len()
    }
}

fn texts(e: &Evidence) -> Vec<String> {
    e.findings.iter().map(|f| f.text()).collect()
}

#[tokio::test]
async fn a_stalled_release_down_to_its_pod_in_image_pull_backoff() {
    let fx = start().await;
    fx.pod("redis-master-0").await;
    fx.event(
        "redis-master-0",
        "Failed",
        &format!(
            "Failed to pull image \"{IMAGE}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{IMAGE}\": failed to resolve reference \"{IMAGE}\": {IMAGE}: not found"
        ),
        7,
        "2026-11-22T06:44:00Z",
    )
    .await;
    fx.event(
        "redis-master-0",
        "BackOff",
        &format!("Back-off pulling image \"{IMAGE}\""),
        40,
        "2026-11-22T06:45:00Z",
    )
    .await;

    let before = fx.log_len();
    let ev = fx.gather().await;
    let lines = texts(&ev);
    assert!(
        lines[0].starts_with("HelmRelease staging/redis RetriesExceeded: Failed to install after"),
        "{lines:#?}"
    );
    let remediation = ev
        .findings
        .iter()
        .find(|f| f.aspect == Aspect::Remediation)
        .expect("a remediation line");
    assert_eq!(remediation.state, "retries exhausted", "{lines:#?}");
    assert!(remediation.message.contains("reconcile.fluxcd.io/resetAt"));
    let record = ev
        .findings
        .iter()
        .find(|f| f.aspect == Aspect::Record)
        .expect("the latest release record");
    assert_eq!(record.state, "failed", "{lines:#?}");
    assert!(record.subject.name.starts_with("redis.v"), "{lines:#?}");
    let sts = lines
        .iter()
        .position(|l| l == "StatefulSet staging/redis-master Ready 0/1")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let pod = lines
        .iter()
        .position(|l| {
            l == &format!(
                "Pod staging/redis-master-0 ImagePullBackOff: Back-off pulling image \"{IMAGE}\""
            )
        })
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(sts < pod, "the most specific last: {lines:#?}");
    assert!(
        lines[pod + 1..]
            .iter()
            .any(|l| l.starts_with("Pod staging/redis-master-0 Warning Failed (x")),
        "{lines:#?}"
    );
    assert_eq!(
        ev.chain(false).unwrap(),
        format!(
            "HelmRelease staging/redis RetriesExceeded → StatefulSet staging/redis-master Ready 0/1 → Pod staging/redis-master-0 ImagePullBackOff: Back-off pulling image \"{IMAGE}\""
        )
    );

    // GETs only, and a handful: the release, its records, the workload, its pods, the
    // namespace's Warning events (plus discovery).
    let sent = fx.requests_since(before);
    assert!(sent.iter().all(|r| r.starts_with("GET ")), "{sent:#?}");
    let data: Vec<&String> = sent.iter().filter(|r| r.contains("/namespaces/")).collect();
    assert_eq!(data.len(), 5, "{data:#?}");
    assert!(
        sent.iter()
            .any(|r| r.contains("/api/v1/namespaces/staging/pods?")
                && r.contains("labelSelector=app.kubernetes.io%2Finstance%3Dredis")),
        "{sent:#?}"
    );
    assert!(
        sent.iter()
            .any(|r| r.contains("/api/v1/namespaces/staging/events?")
                && r.contains("fieldSelector=type%3DWarning")),
        "{sent:#?}"
    );
    drop(fx.cluster);
}

#[tokio::test]
async fn gathering_for_a_release_with_20_pods() {
    let fx = start().await;
    for i in 0..20 {
        fx.pod(&format!("redis-master-{i}")).await;
    }
    // Warm discovery once, as a session has.
    let ev = fx.gather().await;
    let pods = ev
        .findings
        .iter()
        .filter(|f| f.subject.kind == "Pod" && f.aspect == Aspect::State)
        .count();
    assert_eq!(pods, 20, "{:#?}", texts(&ev));
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let again = fx.gather().await;
        times.push(t.elapsed());
        // The same findings; the simulated kubelet may move redis-master-0 between
        // ErrImagePull and ImagePullBackOff and count its events up meanwhile.
        let shape = |e: &Evidence| {
            let mut shape: Vec<_> = e
                .findings
                .iter()
                .map(|f| (f.subject.clone(), f.aspect))
                .collect();
            shape.dedup();
            shape
        };
        assert_eq!(shape(&again), shape(&ev), "{:#?}", texts(&again));
    }
    times.sort();
    // Reported, not asserted: timings depend on the machine.
    eprintln!(
        "evidence for one release with 20 pods: median {:?}, max {:?}",
        times[2], times[4]
    );
    drop(fx.cluster);
}

#[tokio::test]
async fn a_missing_permission_is_a_finding() {
    let fx = start().await;
    fx.pod("redis-master-0").await;
    fx.cluster.faults.update(|f| {
        f.forbidden.push(ForbiddenRule {
            resource: "pods".into(),
            namespace: Some("staging".into()),
            verbs: vec!["list".into()],
        });
        f.forbidden.push(ForbiddenRule {
            resource: "secrets".into(),
            namespace: Some("staging".into()),
            verbs: vec!["list".into()],
        });
    });
    let ev = fx.gather().await;
    let lines = texts(&ev);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Pod staging/ not readable")
                && l.contains("list pods in namespace staging")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("release records not read")
            && l.contains("secrets in namespace staging")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "StatefulSet staging/redis-master Ready 0/1"),
        "the rest is still there: {lines:#?}"
    );
    drop(fx.cluster);
}

#[tokio::test]
async fn why_and_status_json_carry_the_evidence() {
    let fx = start().await;
    fx.pod("redis-master-0").await;
    let kubeconfig = fx.dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fx.cluster.kubeconfig_yaml()).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"));
        cmd.arg("--kubeconfig").arg(&kubeconfig).args(args);
        cmd.env("NO_COLOR", "1");
        cmd
    };
    let out = run(&["why", "hr/staging/backend"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("\nEvidence (HelmRelease/staging/redis)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "StatefulSet staging/redis-master Ready 0/1 → Pod staging/redis-master-0 ImagePullBackOff"
        ),
        "{text}"
    );
    // The pod's finding, followed only by the Warning events of the pod.
    let pod_line = format!(
        "✗ Pod staging/redis-master-0 ImagePullBackOff: Back-off pulling image \"{IMAGE}\""
    );
    let at = text
        .lines()
        .position(|l| l.trim() == pod_line)
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        text.lines()
            .skip(at + 1)
            .filter(|l| !l.trim().is_empty())
            .all(|l| l.contains("Pod staging/redis-master-0 Warning")),
        "{text}"
    );

    let out = run(&["status", "-o", "json"]).output().await.unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let redis = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "HelmRelease" && o["namespace"] == "staging" && o["name"] == "redis")
        .unwrap();
    let findings = redis["evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("{redis}"));
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "Pod" && f["state"] == "ImagePullBackOff"),
        "{redis}"
    );
    let backend = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["namespace"] == "staging" && o["name"] == "backend")
        .unwrap();
    assert!(
        backend.get("evidence").is_none(),
        "only failing roots: {backend}"
    );
    drop(fx.cluster);
}
