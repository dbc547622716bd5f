//! Table-driven health tests over the YAML fixtures in `tests/fixtures/domain/`.

use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::domain::fixtures::{by_name, load};
use crate::domain::flux::FluxObject;

fn now() -> Timestamp {
    "2026-08-01T12:00:00Z".parse().unwrap()
}

#[test]
fn flux_objects_follow_the_precedence_rules() {
    let objects = load("flux-health.yaml");
    let cases = [
        ("ks-ready", Health::Ready, "ReconciliationSucceeded"),
        ("ks-suspended", Health::Suspended, "Suspended"),
        ("ks-deleting", Health::Deleting, "Deleting"),
        ("ks-stalled", Health::Failed, "AccessDenied"),
        ("ks-reconciling", Health::Reconciling, "Progressing"),
        ("ks-build-failed", Health::Failed, "BuildFailed"),
        ("ks-health-failed", Health::Failed, "HealthCheckFailed"),
        ("ks-blocked", Health::Blocked, "DependencyNotReady"),
        ("ks-stale-ready", Health::Pending, "GenerationNotObserved"),
        ("ks-fresh", Health::Pending, "GenerationNotObserved"),
        ("ks-no-status", Health::Unknown, "NoStatus"),
        ("hr-ready", Health::Ready, "UpgradeSucceeded"),
        ("hr-upgrade-failed", Health::Failed, "UpgradeFailed"),
        ("hr-retries-exceeded", Health::Failed, "RetriesExceeded"),
        ("hr-blocked", Health::Blocked, "DependencyNotReady"),
        ("hr-drifted", Health::Drifted, "DriftDetected"),
        ("hr-no-drift", Health::Ready, "InstallSucceeded"),
        ("hr-remediated", Health::Failed, "RollbackSucceeded"),
        ("hr-source-not-ready", Health::Failed, "SourceNotReady"),
        ("hr-stale-failure", Health::Pending, "GenerationNotObserved"),
        ("hr-progressing", Health::Reconciling, "Progressing"),
        ("git-ready", Health::Ready, "Succeeded"),
        ("git-auth-failed", Health::Failed, "GitOperationFailed"),
        ("helmrepo-oci", Health::Ready, "Static"),
        ("helmrepo-no-ready", Health::Unknown, "NoReadyCondition"),
    ];
    assert_eq!(
        cases.len(),
        objects.len(),
        "every fixture object has a case"
    );
    for (name, health, reason) in cases {
        let obj = FluxObject::from_value(by_name(&objects, name).clone()).unwrap();
        let info = flux_health(&obj);
        assert_eq!(
            (info.health, info.reason.as_str()),
            (health, reason),
            "{name}"
        );
    }
}

#[test]
fn flux_health_carries_message_and_since() {
    let objects = load("flux-health.yaml");
    let get = |name| flux_health(&FluxObject::from_value(by_name(&objects, name).clone()).unwrap());
    let failed = get("ks-build-failed");
    assert_eq!(
        failed.first_line(),
        "kustomize build failed: accumulating resources"
    );
    assert_eq!(failed.age_seconds(now()), Some(2 * 3600));
    let blocked = get("hr-blocked");
    assert_eq!(blocked.message, "dependency 'apps/redis' is not ready");
    let fresh = get("ks-fresh");
    assert_eq!(fresh.message, "Not reconciled yet");
    assert_eq!(fresh.age_seconds(now()), Some(3 * 3600));
    let drifted = get("hr-drifted");
    assert!(
        drifted
            .message
            .starts_with("Cluster state of release apps/hr-drifted.v1")
    );
    assert!(drifted.is_problem());
    assert!(!get("ks-suspended").is_problem());
}

#[test]
fn managed_objects_follow_kstatus() {
    let objects = load("managed-health.yaml");
    let cases = [
        ("deploy-available", Health::Ready, "Current"),
        ("deploy-rolling", Health::Reconciling, "LessUpdated"),
        (
            "deploy-deadline",
            Health::Failed,
            "ProgressDeadlineExceeded",
        ),
        (
            "deploy-unobserved",
            Health::Pending,
            "LatestGenerationNotObserved",
        ),
        ("deploy-terminating", Health::Deleting, "Terminating"),
        ("sts-ready", Health::Ready, "Current"),
        ("sts-less-ready", Health::Reconciling, "LessReady"),
        ("sts-revision", Health::Reconciling, "RevisionMismatch"),
        ("ds-ready", Health::Ready, "Current"),
        ("ds-updating", Health::Reconciling, "LessUpdated"),
        ("rs-ready", Health::Ready, "Current"),
        ("pod-running", Health::Ready, "Current"),
        ("pod-crashloop", Health::Failed, "ContainerCrashLooping"),
        ("pod-unschedulable", Health::Failed, "PodUnschedulable"),
        ("pod-unschedulable-new", Health::Pending, "PodUnschedulable"),
        ("pod-succeeded", Health::Ready, "Current"),
        ("job-complete", Health::Ready, "Current"),
        ("job-running", Health::Reconciling, "JobInProgress"),
        ("job-not-started", Health::Pending, "JobNotStarted"),
        ("job-failed", Health::Failed, "BackoffLimitExceeded"),
        ("svc-clusterip", Health::Ready, "Current"),
        ("svc-lb-pending", Health::Reconciling, "NoIPAssigned"),
        ("pvc-bound", Health::Ready, "Current"),
        ("pvc-pending", Health::Pending, "NotBound"),
        ("crd-established", Health::Ready, "Current"),
        ("crd-conflict", Health::Failed, "ListKindConflict"),
        ("cm-any", Health::Ready, "Current"),
        ("cron-any", Health::Ready, "Current"),
        ("cert-not-ready", Health::Reconciling, "Issuing"),
        ("cert-ready", Health::Ready, "Current"),
        ("widget-plain", Health::Ready, "Current"),
        ("widget-stalled", Health::Failed, "InvalidSpec"),
    ];
    assert_eq!(
        cases.len(),
        objects.len(),
        "every fixture object has a case"
    );
    for (name, health, reason) in cases {
        let info = managed_health(by_name(&objects, name), now());
        assert_eq!(
            (info.health, info.reason.as_str()),
            (health, reason),
            "{name}: {info:?}"
        );
    }
}

#[test]
fn managed_messages_match_kstatus() {
    let objects = load("managed-health.yaml");
    let msg = |name| managed_health(by_name(&objects, name), now()).message;
    assert_eq!(
        msg("deploy-available"),
        "Deployment is available. Replicas: 2"
    );
    assert_eq!(msg("deploy-rolling"), "Updated: 1/3");
    assert_eq!(
        msg("deploy-unobserved"),
        "Deployment generation is 5, but latest observed generation is 4"
    );
    assert_eq!(msg("sts-less-ready"), "Ready: 1/3");
    assert_eq!(msg("pod-crashloop"), "Containers in CrashLoop state: web");
    assert_eq!(
        msg("pod-unschedulable"),
        "0/3 nodes are available: 3 Insufficient memory."
    );
    let since = managed_health(by_name(&objects, "deploy-available"), now()).since;
    assert_eq!(
        since.map(|t| t.0.to_string()),
        Some("2026-08-01T10:00:00Z".into())
    );
}

#[test]
fn placeholders_for_missing_objects() {
    assert!(HealthInfo::not_loaded().is_not_loaded());
    assert!(!HealthInfo::not_loaded().is_problem());
    assert!(HealthInfo::not_found().is_problem());
    assert_eq!(HealthInfo::not_found().health, Health::Unknown);
}
