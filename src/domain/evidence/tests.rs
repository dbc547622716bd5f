//! The evidence model on objects as the API server and the kubelet report them.

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::*;

fn now() -> Timestamp {
    "2026-11-22T07:00:00Z".parse().unwrap()
}

fn failing_redis() -> Value {
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "redis", "namespace": "staging", "generation": 1},
        "spec": {"interval": "10m", "install": {"remediation": {"retries": 2}},
                 "chart": {"spec": {"chart": "redis", "sourceRef": {"kind": "HelmRepository", "name": "bitnami"}}}},
        "status": {
            "observedGeneration": 1, "installFailures": 3, "failures": 3,
            "lastAttemptedReleaseAction": "install",
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "RetriesExceeded",
                 "message": "Failed to install after 3 attempt(s)"},
                {"type": "Stalled", "status": "True", "reason": "RetriesExceeded",
                 "message": "Failed to install after 3 attempt(s)"},
                {"type": "Released", "status": "False", "reason": "InstallFailed",
                 "message": "Helm install failed for release staging/redis with chart redis@19.0.1: context deadline exceeded"}
            ]
        }
    })
}

fn statefulset() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "redis-master", "namespace": "staging", "generation": 1},
        "spec": {"replicas": 1, "serviceName": "redis-headless",
                 "selector": {"matchLabels": {"app.kubernetes.io/name": "redis",
                                              "app.kubernetes.io/component": "master"}}},
        "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0,
                   "currentReplicas": 1, "updatedReplicas": 1,
                   "currentRevision": "redis-master-5c9d", "updateRevision": "redis-master-5c9d"}
    })
}

/// A pod as the kubelet reports one whose image tag does not exist.
fn image_pull_pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "staging",
                     "creationTimestamp": "2026-11-22T06:38:00Z",
                     "labels": {"app.kubernetes.io/name": "redis",
                                "app.kubernetes.io/component": "master",
                                "statefulset.kubernetes.io/pod-name": name},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                          "name": "redis-master", "controller": true}]},
        "spec": {"containers": [{"name": "redis", "image": "docker.io/bitnami/redis:1.0"}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [redis]"},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [redis]"},
                {"type": "PodScheduled", "status": "True"}
            ],
            "containerStatuses": [{
                "name": "redis", "image": "docker.io/bitnami/redis:1.0", "imageID": "",
                "ready": false, "started": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff",
                    "message": "Back-off pulling image \"docker.io/bitnami/redis:1.0\""}},
                "lastState": {}
            }],
            "qosClass": "BestEffort", "hostIP": "10.0.0.5", "podIP": "10.244.1.7",
            "startTime": "2026-11-22T06:38:00Z"
        }
    })
}

fn crash_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-7d4b9c-x2x9z", "namespace": "apps",
                     "labels": {"app": "api", "pod-template-hash": "7d4b9c"}},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                            "message": "containers with unready status: [api]"}],
            "containerStatuses": [{
                "name": "api", "ready": false, "restartCount": 14,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                    "message": "back-off 5m0s restarting failed container=api pod=api-7d4b9c-x2x9z_apps(1b2c)"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-11-22T06:54:00Z", "finishedAt": "2026-11-22T06:54:01Z"}}
            }]
        }
    })
}

fn unschedulable_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-7d4b9c-q8r2k", "namespace": "apps",
                     "creationTimestamp": "2026-11-22T06:30:00Z",
                     "labels": {"app": "api", "pod-template-hash": "7d4b9c"}},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."}],
            "qosClass": "Burstable"
        }
    })
}

fn deployment_deadline() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "apps", "generation": 2},
        "spec": {"replicas": 2, "progressDeadlineSeconds": 600,
                 "selector": {"matchLabels": {"app": "api"},
                              "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["batch"]}]}},
        "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
                   "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 2,
                   "conditions": [
                       {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                        "message": "Deployment does not have minimum availability."},
                       {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                        "message": "ReplicaSet \"api-7d4b9c\" has timed out progressing."}]}
    })
}

#[allow(clippy::too_many_arguments)]
fn event(
    kind: &str,
    ns: &str,
    name: &str,
    type_: &str,
    reason: &str,
    message: &str,
    last: &str,
    count: i64,
) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.{reason}{last}"), "namespace": ns},
        "involvedObject": {"kind": kind, "namespace": ns, "name": name},
        "type": type_, "reason": reason, "message": message,
        "count": count, "lastTimestamp": last, "firstTimestamp": "2026-11-22T06:38:00Z"
    })
}

fn texts(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(Finding::text).collect()
}

#[test]
fn helm_release_status_remediation_and_record() {
    let record = ReleaseRecord {
        name: "redis".into(),
        namespace: "staging".into(),
        version: 1,
        status: "failed".into(),
        description: "Release \"redis\" failed: context deadline exceeded".into(),
    };
    let f = helm_release(&failing_redis(), Some(&record));
    assert_eq!(
        texts(&f),
        [
            "HelmRelease staging/redis RetriesExceeded: Failed to install after 3 attempt(s)",
            "HelmRelease staging/redis retries exhausted: install failed 3 time(s), 0 of 2 retries \
             left; it is not tried again until the spec changes (generation, chart version or \
             values) or a reset is requested (reconcile.fluxcd.io/resetAt)",
            "Release staging/redis.v1 failed: Release \"redis\" failed: context deadline exceeded",
        ]
    );
    assert_eq!(f[0].level, Level::Error);
    assert_eq!(f[2].aspect, Aspect::Record);
}

#[test]
fn remediation_counts_retries_left_and_unlimited() {
    let mut hr: HelmRelease = serde_json::from_value(failing_redis()).unwrap();
    let r = remediation(&hr).unwrap();
    assert!(r.exhausted());
    hr.status.as_mut().unwrap().install_failures = 1;
    let r = remediation(&hr).unwrap();
    assert!(!r.exhausted());
    assert_eq!(r.text(), "install failed 1 time(s), 2 of 2 retries left");
    hr.status.as_mut().unwrap().install_failures = 2;
    assert_eq!(
        remediation(&hr).unwrap().text(),
        "install failed 2 time(s), 1 of 2 retries left"
    );
    hr.spec
        .install
        .as_mut()
        .unwrap()
        .remediation
        .as_mut()
        .unwrap()
        .retries = -1;
    assert_eq!(
        remediation(&hr).unwrap().text(),
        "install failed 2 time(s), retries unlimited"
    );
    // An upgrade without remediation: one failure uses it up.
    let status = hr.status.as_mut().unwrap();
    status.last_attempted_release_action = Some("upgrade".into());
    status.upgrade_failures = 1;
    let r = remediation(&hr).unwrap();
    assert_eq!(r.action, "upgrade");
    assert!(r.exhausted());
    assert!(
        r.text().starts_with("upgrade failed 1 time(s), no retries"),
        "{}",
        r.text()
    );
    hr.status.as_mut().unwrap().upgrade_failures = 0;
    assert_eq!(remediation(&hr), None, "no failures, nothing to say");
}

#[test]
fn a_ready_helm_release_has_no_status_finding() {
    let mut hr = failing_redis();
    hr["status"] = json!({"conditions": [{"type": "Ready", "status": "True",
        "reason": "InstallSucceeded", "message": "Helm install succeeded"}]});
    assert!(helm_release(&hr, None).is_empty());
}

#[test]
fn statefulset_with_its_image_pull_pod_and_events() {
    let pods = vec![
        image_pull_pod("redis-master-0"),
        // Another release's pod in the namespace: not selected.
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "other-0", "namespace": "staging",
                            "labels": {"app.kubernetes.io/name": "other"}},
               "status": {"phase": "Pending"}}),
    ];
    let events = vec![
        event(
            "Pod",
            "staging",
            "redis-master-0",
            "Normal",
            "Pulling",
            "Pulling image \"docker.io/bitnami/redis:1.0\"",
            "2026-11-22T06:59:00Z",
            7,
        ),
        event(
            "Pod",
            "staging",
            "redis-master-0",
            "Warning",
            "Failed",
            "Failed to pull image \"docker.io/bitnami/redis:1.0\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/bitnami/redis:1.0\": failed to resolve reference \"docker.io/bitnami/redis:1.0\": docker.io/bitnami/redis:1.0: not found",
            "2026-11-22T06:59:00Z",
            7,
        ),
        event(
            "Pod",
            "staging",
            "redis-master-0",
            "Warning",
            "BackOff",
            "Back-off pulling image \"docker.io/bitnami/redis:1.0\"",
            "2026-11-22T06:59:30Z",
            40,
        ),
        event(
            "Pod",
            "staging",
            "redis-master-0",
            "Warning",
            "Failed",
            "Error: ImagePullBackOff",
            "2026-11-22T06:58:00Z",
            40,
        ),
    ];
    let f = managed(&statefulset(), &pods, &events, now());
    assert_eq!(
        texts(&f),
        [
            "StatefulSet staging/redis-master Ready 0/1",
            "Pod staging/redis-master-0 ImagePullBackOff: Back-off pulling image \"docker.io/bitnami/redis:1.0\"",
            "Pod staging/redis-master-0 Warning BackOff (x40): Back-off pulling image \"docker.io/bitnami/redis:1.0\"",
            "Pod staging/redis-master-0 Warning Failed (x7): Failed to pull image \"docker.io/bitnami/redis:1.0\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/bitnami/redis:1.0\": failed to resolve reference \"docker.io/bitnami/redis:1.0\": docker.io/bitnami/redis:1.0: not found",
        ]
    );
    assert_eq!(f.iter().map(|f| f.depth).collect::<Vec<_>>(), [1, 2, 2, 2]);
    let mut ev = Evidence {
        findings: helm_release(&failing_redis(), None),
    };
    ev.findings.extend(f);
    assert_eq!(
        ev.chain(false).unwrap(),
        "HelmRelease staging/redis RetriesExceeded → StatefulSet staging/redis-master Ready 0/1 \
         → Pod staging/redis-master-0 ImagePullBackOff: Back-off pulling image \
         \"docker.io/bitnami/redis:1.0\""
    );
    assert!(ev.chain(true).unwrap().contains(" -> Pod "));
}

#[test]
fn deployment_past_its_deadline_with_crashing_and_unschedulable_pods() {
    let pods = vec![unschedulable_pod(), crash_pod()];
    let f = managed(&deployment_deadline(), &pods, &[], now());
    assert_eq!(
        texts(&f),
        [
            "Deployment apps/api ProgressDeadlineExceeded: ReplicaSet \"api-7d4b9c\" has timed out progressing.",
            "Pod apps/api-7d4b9c-q8r2k Unschedulable: 0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
            "Pod apps/api-7d4b9c-x2x9z CrashLoopBackOff, exit code 1, 14 restarts: back-off 5m0s restarting failed container=api pod=api-7d4b9c-x2x9z_apps(1b2c)",
        ]
    );
    assert_eq!(f[0].level, Level::Error);
}

#[test]
fn a_ready_workload_has_no_evidence_and_ready_pods_are_skipped() {
    let mut sts = statefulset();
    sts["status"]["readyReplicas"] = json!(1);
    assert!(managed(&sts, &[image_pull_pod("redis-master-0")], &[], now()).is_empty());
    let mut ready = image_pull_pod("redis-master-0");
    ready["status"]["phase"] = json!("Running");
    ready["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
    assert_eq!(pod(&ready), None);
    let mut done = crash_pod();
    done["status"]["phase"] = json!("Succeeded");
    assert_eq!(pod(&done), None);
}

#[test]
fn terminated_containers_and_plain_pending_pods() {
    let mut p = crash_pod();
    p["status"]["phase"] = json!("Failed");
    p["status"]["containerStatuses"][0]["state"] =
        json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
    p["status"]["containerStatuses"][0]["restartCount"] = json!(1);
    assert_eq!(
        pod(&p).unwrap().text(),
        "Pod apps/api-7d4b9c-x2x9z OOMKilled, exit code 137, 1 restart"
    );
    let pending = json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "a"},
        "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False",
        "reason": "ContainersNotReady", "message": "containers with unready status: [c]"}],
        "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
    assert_eq!(
        pod(&pending).unwrap().text(),
        "Pod a/p Pending, ContainersNotReady: containers with unready status: [c]"
    );
}

#[test]
fn selectors_from_match_labels_and_expressions() {
    assert_eq!(
        selector(&deployment_deadline()).unwrap(),
        "app=api,tier notin (batch)"
    );
    let w = json!({"spec": {"selector": {"matchExpressions": [
        {"key": "a", "operator": "In", "values": ["x", "y"]},
        {"key": "b", "operator": "Exists"},
        {"key": "c", "operator": "DoesNotExist"}]}}});
    assert_eq!(selector(&w).unwrap(), "a in (x,y),b,!c");
    assert_eq!(selector(&json!({"spec": {}})), None);
    let bad =
        json!({"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}});
    assert_eq!(selector(&bad), None);
    // A pod in another namespace with the same labels is not the workload's.
    let mut elsewhere = crash_pod();
    elsewhere["metadata"]["namespace"] = json!("other");
    assert!(pods_of(&deployment_deadline(), &[elsewhere]).is_empty());
}

#[test]
fn events_are_the_newest_warnings_of_the_subject_only() {
    let s = Subject::new("Deployment", "apps", "api");
    let events = vec![
        event(
            "Deployment",
            "apps",
            "api",
            "Warning",
            "A",
            "old",
            "2026-11-22T06:00:00Z",
            1,
        ),
        event(
            "Deployment",
            "apps",
            "api",
            "Warning",
            "B",
            "newer",
            "2026-11-22T06:10:00Z",
            1,
        ),
        event(
            "Deployment",
            "apps",
            "api",
            "Warning",
            "C",
            "newest",
            "2026-11-22T06:20:00Z",
            1,
        ),
        event(
            "Deployment",
            "apps",
            "api",
            "Normal",
            "D",
            "normal",
            "2026-11-22T06:30:00Z",
            1,
        ),
        event(
            "Deployment",
            "apps",
            "web",
            "Warning",
            "E",
            "other",
            "2026-11-22T06:40:00Z",
            1,
        ),
    ];
    let f = warnings(&s, &events, 1);
    assert_eq!(
        texts(&f),
        [
            "Deployment apps/api Warning C: newest",
            "Deployment apps/api Warning B: newer"
        ]
    );
}

#[test]
fn kustomization_and_source_status() {
    let ks = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "HealthCheckFailed",
            "message": "health check failed after 5m0s: timeout waiting for: [Deployment/apps/api status: 'Failed']"}]}});
    assert_eq!(
        flux_status(&ks).unwrap().text(),
        "Kustomization flux-system/apps HealthCheckFailed: health check failed after 5m0s: timeout waiting for: [Deployment/apps/api status: 'Failed']"
    );
    let repo = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "prometheus-community", "namespace": "flux-system"},
        "spec": {"url": "https://x", "secretRef": {"name": "prom-auth"}},
        "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "AuthenticationFailed",
            "message": "failed to fetch index: 401 Unauthorized"}]}});
    assert_eq!(
        texts(&source(&repo, Some(false))),
        [
            "HelmRepository flux-system/prometheus-community AuthenticationFailed: failed to fetch index: 401 Unauthorized",
            "Secret flux-system/prom-auth not found: referenced by spec.secretRef",
        ]
    );
    assert_eq!(source(&repo, Some(true))[1].state, "exists");
    assert_eq!(source(&repo, None).len(), 1, "existence unknown: no line");
}

#[test]
fn messages_are_one_line_and_json_names_every_field() {
    let f = missing_permission(
        Subject::new("Pod", "staging", ""),
        "list pods in namespace staging\nsecond",
        2,
    );
    assert_eq!(f.message, "list pods in namespace staging");
    let j = f.json();
    assert_eq!(j["kind"], "Pod");
    assert_eq!(j["level"], "warning");
    assert_eq!(j["depth"], 2);
}
