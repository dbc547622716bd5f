//! HelmRelease (`helm.toolkit.fluxcd.io`, flux-facts §3).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{
    Condition, CrossNamespaceSourceReference, DependencyReference, ResourceInventory, lenient_time,
};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmRelease {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub metadata: ObjectMeta,
    pub spec: HelmReleaseSpec,
    pub status: Option<HelmReleaseStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    pub interval: String,
    /// Template for the generated HelmChart (exactly one of `chart` / `chart_ref`).
    pub chart: Option<HelmChartTemplate>,
    /// `{kind: OCIRepository|HelmChart|ExternalArtifact, name, namespace?}`.
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    pub release_name: Option<String>,
    pub target_namespace: Option<String>,
    pub storage_namespace: Option<String>,
    pub depends_on: Vec<DependencyReference>,
    pub values: Option<Value>,
    pub values_from: Vec<ValuesReference>,
    pub suspend: bool,
    pub timeout: Option<String>,
    pub max_history: Option<i64>,
    pub service_account_name: Option<String>,
    pub kube_config: Option<Value>,
    pub drift_detection: Option<DriftDetection>,
    pub install: Option<Install>,
    pub upgrade: Option<Upgrade>,
    pub test: Option<Value>,
    pub rollback: Option<Value>,
    pub uninstall: Option<Value>,
    pub post_renderers: Vec<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmChartTemplate {
    pub metadata: Option<Value>,
    pub spec: HelmChartTemplateSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    pub chart: String,
    /// Semver range; `None` means `*`.
    pub version: Option<String>,
    pub source_ref: CrossNamespaceSourceReference,
    pub interval: Option<String>,
    pub reconcile_strategy: Option<String>,
    pub values_files: Vec<String>,
    pub ignore_missing_values_files: bool,
    pub verify: Option<Value>,
}

/// `valuesFrom[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ValuesReference {
    pub kind: String,
    pub name: String,
    pub values_key: Option<String>,
    pub target_path: Option<String>,
    pub optional: bool,
    pub literal: bool,
}

/// `driftDetection`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftDetection {
    /// `enabled`, `warn` or `disabled` (the default when absent).
    pub mode: Option<String>,
    pub ignore: Vec<DriftIgnoreRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftIgnoreRule {
    pub paths: Vec<String>,
    pub target: Option<DriftIgnoreTarget>,
}

/// Target selector of an ignore rule; the string fields are anchored regular expressions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftIgnoreTarget {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub annotation_selector: Option<String>,
    pub label_selector: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Install {
    pub timeout: Option<String>,
    pub remediation: Option<InstallRemediation>,
    /// `Skip`, `Create` (default) or `CreateReplace`.
    pub crds: Option<String>,
    pub create_namespace: bool,
    pub disable_wait: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InstallRemediation {
    /// Negative = unlimited.
    pub retries: i64,
    pub ignore_test_failures: Option<bool>,
    pub remediate_last_failure: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Upgrade {
    pub timeout: Option<String>,
    pub remediation: Option<UpgradeRemediation>,
    /// `Skip` (default), `Create` or `CreateReplace`.
    pub crds: Option<String>,
    pub force: bool,
    pub preserve_values: bool,
    pub cleanup_on_fail: bool,
    pub disable_wait: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UpgradeRemediation {
    pub retries: i64,
    pub ignore_test_failures: Option<bool>,
    /// Defaults to true when `retries > 0`.
    pub remediate_last_failure: Option<bool>,
    /// `rollback` (default) or `uninstall`.
    pub strategy: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// `None` when absent; the CRD default is -1 (never reconciled).
    pub observed_generation: Option<i64>,
    pub last_attempted_generation: Option<i64>,
    pub last_attempted_revision: Option<String>,
    pub last_attempted_revision_digest: Option<String>,
    pub last_attempted_config_digest: Option<String>,
    pub last_attempted_values_checksum: Option<String>,
    pub last_attempted_release_action: Option<String>,
    pub last_attempted_release_action_duration: Option<String>,
    pub last_release_revision: Option<i64>,
    pub failures: i64,
    pub install_failures: i64,
    pub upgrade_failures: i64,
    /// `<namespace>/<name>` of the generated HelmChart.
    pub helm_chart: Option<String>,
    pub storage_namespace: Option<String>,
    pub last_handled_reconcile_at: Option<String>,
    pub last_handled_force_at: Option<String>,
    pub last_handled_reset_at: Option<String>,
    pub inventory: Option<ResourceInventory>,
    /// Newest first.
    pub history: Vec<Snapshot>,
    pub conditions: Vec<Condition>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HelmReleaseStatus {
    /// The latest snapshot (highest Helm revision).
    pub fn latest(&self) -> Option<&Snapshot> {
        self.history.iter().max_by_key(|s| s.version)
    }
}

/// `status.history[]`: one observed Helm release record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Snapshot {
    /// `v2` for snapshots written by helm-controller ≥ v1.5.
    pub api_version: Option<String>,
    pub digest: String,
    pub name: String,
    pub namespace: String,
    pub version: i64,
    pub status: String,
    pub action: Option<String>,
    pub chart_name: String,
    pub chart_version: String,
    pub app_version: Option<String>,
    pub config_digest: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub first_deployed: Option<Time>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_deployed: Option<Time>,
    #[serde(deserialize_with = "lenient_time")]
    pub deleted: Option<Time>,
    pub test_hooks: Option<BTreeMap<String, TestHookStatus>>,
    pub oci_digest: Option<String>,
}

impl Snapshot {
    /// `<namespace>/<name>.v<version>` as used in controller messages.
    pub fn full_release_name(&self) -> String {
        format!("{}/{}.v{}", self.namespace, self.name, self.version)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TestHookStatus {
    #[serde(deserialize_with = "lenient_time")]
    pub last_started: Option<Time>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_completed: Option<Time>,
    pub phase: Option<String>,
}
