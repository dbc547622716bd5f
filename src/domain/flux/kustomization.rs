//! Kustomization (`kustomize.toolkit.fluxcd.io`, flux-facts §2).

use std::collections::BTreeMap;

use arcstr::ArcStr;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, CrossNamespaceSourceReference, DependencyReference, KubeConfigReference,
    ResourceInventory, exact, lenient_time, shared_text_opt,
};
use super::meta::Meta;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Kustomization {
    /// Shared between objects of a kind.
    #[serde(deserialize_with = "shared_text_opt")]
    pub api_version: Option<ArcStr>,
    #[serde(deserialize_with = "shared_text_opt")]
    pub kind: Option<ArcStr>,
    pub metadata: Meta,
    pub spec: KustomizationSpec,
    pub status: Option<KustomizationStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KustomizationSpec {
    pub source_ref: CrossNamespaceSourceReference,
    pub path: Option<String>,
    pub interval: String,
    pub retry_interval: Option<String>,
    pub timeout: Option<String>,
    pub prune: bool,
    pub wait: bool,
    pub force: bool,
    pub suspend: bool,
    #[serde(deserialize_with = "exact")]
    pub depends_on: Vec<DependencyReference>,
    pub target_namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub service_account_name: Option<String>,
    pub deletion_policy: Option<String>,
    /// `{secretRef}` or `{configMapRef}`: the Kustomization applies to a remote cluster.
    pub kube_config: Option<Box<KubeConfigReference>>,
    #[serde(deserialize_with = "exact")]
    pub health_checks: Vec<CrossNamespaceSourceReference>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// `None` when absent; the CRD default is -1 (never reconciled).
    pub observed_generation: Option<i64>,
    #[serde(deserialize_with = "exact")]
    pub conditions: Vec<Condition>,
    pub last_applied_revision: Option<String>,
    pub last_applied_origin_revision: Option<String>,
    pub last_attempted_revision: Option<String>,
    pub last_handled_reconcile_at: Option<String>,
    pub inventory: Option<ResourceInventory>,
    #[serde(deserialize_with = "exact")]
    pub history: Vec<KustomizationHistoryEntry>,
}

/// `status.history[]` (kustomize-controller ≥ v1.7), newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KustomizationHistoryEntry {
    pub digest: String,
    #[serde(deserialize_with = "lenient_time")]
    pub first_reconciled: Option<Time>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_reconciled: Option<Time>,
    pub last_reconciled_duration: Option<String>,
    pub last_reconciled_status: String,
    pub total_reconciliations: i64,
    pub metadata: BTreeMap<String, String>,
}
