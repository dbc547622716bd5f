//! Readiness of managed objects, as Flux's kstatus computes it (flux-facts §9), over plain
//! JSON objects. Jobs use Flux's stricter reader (a running Job is in progress).

use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// kstatus result states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KStatus {
    InProgress,
    Failed,
    Current,
    Terminating,
    NotFound,
    Unknown,
}

/// A computed status with its reason and message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KStatusResult {
    pub status: KStatus,
    pub reason: String,
    pub message: String,
}

impl KStatusResult {
    fn new(status: KStatus, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.to_string(),
            message: message.into(),
        }
    }

    fn current(message: impl Into<String>) -> Self {
        Self::new(KStatus::Current, "Current", message)
    }

    fn in_progress(reason: &str, message: impl Into<String>) -> Self {
        Self::new(KStatus::InProgress, reason, message)
    }

    fn failed(reason: &str, message: impl Into<String>) -> Self {
        Self::new(KStatus::Failed, reason, message)
    }
}

/// How long an unschedulable Pod counts as in progress before it is failed.
const UNSCHEDULABLE_GRACE_SECONDS: i64 = 15;

fn int(obj: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(obj, |v, k| v.get(k))?.as_i64()
}

fn string<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(obj, |v, k| v.get(k))?.as_str()
}

fn conditions(obj: &Value) -> &[Value] {
    obj.get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The condition of this type: `(status, reason, message)`.
fn condition<'a>(obj: &'a Value, type_: &str) -> Option<(&'a str, &'a str, &'a str)> {
    conditions(obj)
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        .map(|c| {
            let field = |k| c.get(k).and_then(Value::as_str).unwrap_or("");
            (field("status"), field("reason"), field("message"))
        })
}

fn condition_is(obj: &Value, type_: &str, status: &str) -> bool {
    condition(obj, type_).is_some_and(|(s, _, _)| s == status)
}

/// Compute the kstatus of an object. `now` is only used for the Pod unschedulable grace time.
pub fn compute(obj: &Value, now: Timestamp) -> KStatusResult {
    if obj
        .get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
    {
        return KStatusResult::new(
            KStatus::Terminating,
            "Terminating",
            "Resource scheduled for deletion",
        );
    }
    let kind = string(obj, &["kind"]).unwrap_or("");
    let group = string(obj, &["apiVersion"])
        .and_then(|av| av.rsplit_once('/'))
        .map(|(g, _)| g)
        .unwrap_or("");
    if let (Some(g), Some(o)) = (
        int(obj, &["metadata", "generation"]),
        int(obj, &["status", "observedGeneration"]),
    ) && g != o
    {
        return KStatusResult::in_progress(
            "LatestGenerationNotObserved",
            format!("{kind} generation is {g}, but latest observed generation is {o}"),
        );
    }
    if let Some(("True", reason, message)) = condition(obj, "Reconciling") {
        return KStatusResult::in_progress(reason, message);
    }
    if let Some(("True", reason, message)) = condition(obj, "Stalled") {
        return KStatusResult::failed(reason, message);
    }
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps" | "extensions", "DaemonSet") => daemon_set(obj),
        ("apps" | "extensions", "ReplicaSet") => replica_set(obj),
        ("", "Pod") => pod(obj, now),
        ("batch", "Job") => job(obj),
        ("", "Service") => service(obj),
        ("", "PersistentVolumeClaim") => pvc(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(obj),
        ("", "Secret" | "ConfigMap") | ("batch", "CronJob") | ("policy", "PodDisruptionBudget") => {
            KStatusResult::current("Resource is always ready")
        }
        _ => generic(obj),
    }
}

fn generic(obj: &Value) -> KStatusResult {
    match condition(obj, "Ready") {
        Some(("True", _, message)) => KStatusResult::current(message),
        Some((_, reason, message)) => KStatusResult::in_progress(reason, message),
        None => KStatusResult::current("Resource is current"),
    }
}

fn deployment(obj: &Value) -> KStatusResult {
    let mut progressing = int(obj, &["spec", "progressDeadlineSeconds"]).is_none();
    let mut available = false;
    for c in conditions(obj) {
        let field = |k| c.get(k).and_then(Value::as_str).unwrap_or("");
        match field("type") {
            "Progressing" => {
                if field("reason") == "ProgressDeadlineExceeded" {
                    return KStatusResult::failed(
                        "ProgressDeadlineExceeded",
                        "Progress deadline exceeded",
                    );
                }
                if field("status") == "True" && field("reason") == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" => available = field("status") == "True",
            _ => {}
        }
    }
    let spec = int(obj, &["spec", "replicas"]).unwrap_or(1);
    let replicas = int(obj, &["status", "replicas"]).unwrap_or(0);
    let updated = int(obj, &["status", "updatedReplicas"]).unwrap_or(0);
    let ready = int(obj, &["status", "readyReplicas"]).unwrap_or(0);
    let avail = int(obj, &["status", "availableReplicas"]).unwrap_or(0);
    if spec > replicas {
        return KStatusResult::in_progress("LessReplicas", format!("Replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return KStatusResult::in_progress("LessUpdated", format!("Updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return KStatusResult::in_progress(
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        );
    }
    if updated > avail {
        return KStatusResult::in_progress(
            "LessAvailable",
            format!("Available: {avail}/{updated}"),
        );
    }
    if spec > ready {
        return KStatusResult::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if !progressing {
        return KStatusResult::in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available");
    }
    if !available {
        return KStatusResult::in_progress("DeploymentNotAvailable", "Deployment not Available");
    }
    KStatusResult::current(format!("Deployment is available. Replicas: {replicas}"))
}

fn stateful_set(obj: &Value) -> KStatusResult {
    if string(obj, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return KStatusResult::current("StatefulSet is using the OnDelete update strategy");
    }
    let spec = int(obj, &["spec", "replicas"]).unwrap_or(1);
    let replicas = int(obj, &["status", "replicas"]).unwrap_or(0);
    let ready = int(obj, &["status", "readyReplicas"]).unwrap_or(0);
    let current = int(obj, &["status", "currentReplicas"]).unwrap_or(0);
    let updated = int(obj, &["status", "updatedReplicas"]).unwrap_or(0);
    if spec > replicas {
        return KStatusResult::in_progress("LessReplicas", format!("Replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return KStatusResult::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return KStatusResult::in_progress(
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        );
    }
    if let Some(partition) = int(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    ) {
        if updated < spec - partition {
            return KStatusResult::in_progress(
                "PartitionRollout",
                format!("updated: {updated}/{}", spec - partition),
            );
        }
        return KStatusResult::current(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > current {
        return KStatusResult::in_progress("LessCurrent", format!("current: {current}/{spec}"));
    }
    let current_rev = string(obj, &["status", "currentRevision"]).unwrap_or("");
    let update_rev = string(obj, &["status", "updateRevision"]).unwrap_or("");
    if current_rev != update_rev {
        return KStatusResult::in_progress(
            "RevisionMismatch",
            format!("Waiting for updated revision {update_rev} to match current {current_rev}"),
        );
    }
    KStatusResult::current(format!(
        "All replicas scheduled as expected. Replicas: {replicas}"
    ))
}

fn daemon_set(obj: &Value) -> KStatusResult {
    if int(obj, &["metadata", "generation"]).is_none() {
        return KStatusResult::in_progress("NoGeneration", "DaemonSet has no generation");
    }
    if int(obj, &["status", "observedGeneration"]).is_none() {
        return KStatusResult::in_progress(
            "NoObservedGeneration",
            "DaemonSet status has no observed generation",
        );
    }
    let Some(desired) = int(obj, &["status", "desiredNumberScheduled"]) else {
        return KStatusResult::in_progress(
            "NoDesiredNumber",
            "Missing .status.desiredNumberScheduled",
        );
    };
    let checks = [
        ("currentNumberScheduled", "LessCurrent", "Current"),
        ("updatedNumberScheduled", "LessUpdated", "Updated"),
        ("numberAvailable", "LessAvailable", "Available"),
        ("numberReady", "LessReady", "Ready"),
    ];
    for (field, reason, label) in checks {
        let n = int(obj, &["status", field]).unwrap_or(0);
        if desired > n {
            return KStatusResult::in_progress(reason, format!("{label}: {n}/{desired}"));
        }
    }
    KStatusResult::current(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    ))
}

fn replica_set(obj: &Value) -> KStatusResult {
    if condition_is(obj, "ReplicaFailure", "True") {
        return KStatusResult::in_progress(
            "ReplicaFailure",
            "Replica Failure condition. Check Pods",
        );
    }
    let spec = int(obj, &["spec", "replicas"]).unwrap_or(1);
    let replicas = int(obj, &["status", "replicas"]).unwrap_or(0);
    let checks = [
        ("fullyLabeledReplicas", "LessLabelled", "Labelled"),
        ("availableReplicas", "LessAvailable", "Available"),
        ("readyReplicas", "LessReady", "Ready"),
    ];
    for (field, reason, label) in checks {
        let n = int(obj, &["status", field]).unwrap_or(0);
        if spec > n {
            return KStatusResult::in_progress(reason, format!("{label}: {n}/{spec}"));
        }
    }
    if replicas > spec {
        return KStatusResult::in_progress(
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        );
    }
    KStatusResult::current(format!("ReplicaSet is available. Replicas: {replicas}"))
}

fn pod(obj: &Value, now: Timestamp) -> KStatusResult {
    match string(obj, &["status", "phase"]).unwrap_or("") {
        "Succeeded" => KStatusResult::current("Pod has completed successfully"),
        "Failed" => KStatusResult::current("Pod has completed, but not successfully"),
        "Running" => {
            if condition_is(obj, "Ready", "True") {
                return KStatusResult::current("Pod is Ready");
            }
            let crashing: Vec<&str> = obj
                .get("status")
                .and_then(|s| s.get("containerStatuses"))
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter(|c| string(c, &["state", "waiting", "reason"]) == Some("CrashLoopBackOff"))
                .map(|c| string(c, &["name"]).unwrap_or(""))
                .collect();
            if !crashing.is_empty() {
                return KStatusResult::failed(
                    "ContainerCrashLooping",
                    format!("Containers in CrashLoop state: {}", crashing.join(",")),
                );
            }
            KStatusResult::in_progress("PodRunningNotReady", "Pod is running but is not Ready")
        }
        "Pending" => {
            if let Some(("False", "Unschedulable", message)) = condition(obj, "PodScheduled") {
                let created = string(obj, &["metadata", "creationTimestamp"])
                    .and_then(|s| s.parse::<Timestamp>().ok());
                let past_grace = created
                    .is_some_and(|c| now.as_second() - c.as_second() > UNSCHEDULABLE_GRACE_SECONDS);
                if past_grace {
                    return KStatusResult::failed("PodUnschedulable", message);
                }
                return KStatusResult::in_progress("PodUnschedulable", message);
            }
            KStatusResult::in_progress("PodNotReady", "Pod is pending")
        }
        _ => KStatusResult::in_progress("PodNotReady", "Pod phase not available"),
    }
}

/// Flux's Job reader (`runtime/statusreaders/job.go`).
fn job(obj: &Value) -> KStatusResult {
    if obj
        .get("spec")
        .and_then(|s| s.get("suspend"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        return KStatusResult::current("Job is suspended");
    }
    let succeeded = int(obj, &["status", "succeeded"]).unwrap_or(0);
    let failed = int(obj, &["status", "failed"]).unwrap_or(0);
    let active = int(obj, &["status", "active"]).unwrap_or(0);
    if condition_is(obj, "Complete", "True") {
        return KStatusResult::current(format!("Job Completed. succeeded: {succeeded}"));
    }
    if let Some(("True", reason, message)) = condition(obj, "Failed") {
        let reason = if reason.is_empty() {
            "JobFailed"
        } else {
            reason
        };
        return KStatusResult::failed(reason, format!("Job Failed. failed: {failed}. {message}"));
    }
    if string(obj, &["status", "startTime"]).is_none() {
        return KStatusResult::in_progress("JobNotStarted", "Job not started");
    }
    KStatusResult::in_progress(
        "JobInProgress",
        format!("Job in progress. success: {succeeded}, active: {active}, failed: {failed}"),
    )
}

fn service(obj: &Value) -> KStatusResult {
    let lb = string(obj, &["spec", "type"]) == Some("LoadBalancer");
    let ip = string(obj, &["spec", "clusterIP"]).unwrap_or("");
    if lb && ip.is_empty() {
        return KStatusResult::in_progress("NoIPAssigned", "ClusterIP not set");
    }
    KStatusResult::current("Service is ready")
}

fn pvc(obj: &Value) -> KStatusResult {
    match string(obj, &["status", "phase"]) {
        Some("Bound") => KStatusResult::current("PVC is Bound"),
        phase => KStatusResult::in_progress(
            "NotBound",
            format!("PVC is not Bound. phase: {}", phase.unwrap_or("")),
        ),
    }
}

fn crd(obj: &Value) -> KStatusResult {
    if let Some(("False", reason, message)) = condition(obj, "NamesAccepted") {
        return KStatusResult::failed(reason, message);
    }
    match condition(obj, "Established") {
        Some(("False", reason, message)) if reason != "Installing" => {
            KStatusResult::failed(reason, message)
        }
        Some(("True", _, _)) => KStatusResult::current("CRD is established"),
        _ => KStatusResult::in_progress("Installing", "Install in progress"),
    }
}
