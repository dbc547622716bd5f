//! Types shared by the Flux kinds: conditions, references, artifacts, inventories, and a
//! lenient time parser (a malformed timestamp loses only that field, never the object).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::inventory::{InventoryRef, parse_id};

/// Condition type names used by Flux (flux-facts §2.2, §3.4, §11).
pub mod condition_types {
    pub const READY: &str = "Ready";
    pub const RECONCILING: &str = "Reconciling";
    pub const STALLED: &str = "Stalled";
    pub const HEALTHY: &str = "Healthy";
    pub const RELEASED: &str = "Released";
    pub const TEST_SUCCESS: &str = "TestSuccess";
    pub const REMEDIATED: &str = "Remediated";
    pub const DRIFTED: &str = "Drifted";
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
    pub const FETCH_FAILED: &str = "FetchFailed";
}

/// Parse an optional RFC 3339 timestamp; anything else (empty, wrong type) becomes `None`.
pub(crate) fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value
        .as_ref()
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(Time))
}

/// A `metav1.Condition`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    #[serde(deserialize_with = "lenient_time")]
    pub last_transition_time: Option<Time>,
    pub observed_generation: Option<i64>,
}

impl Condition {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }

    pub fn is_false(&self) -> bool {
        self.status == "False"
    }

    /// The first line of the message.
    pub fn first_line(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// Find a condition by type.
pub(crate) fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// `{apiVersion?, kind, name, namespace?}` (Kustomization sourceRef, chart sourceRef, chartRef).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// `dependsOn[]` entry: `{name, namespace?, readyExpr?}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DependencyReference {
    pub name: String,
    pub namespace: Option<String>,
    pub ready_expr: Option<String>,
}

impl DependencyReference {
    /// The dependency namespace, defaulting to the dependent's.
    pub fn namespace_or<'a>(&'a self, default: &'a str) -> &'a str {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => default,
        }
    }
}

/// `{name}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LocalObjectReference {
    pub name: String,
}

/// A source artifact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Artifact {
    pub revision: String,
    pub digest: Option<String>,
    pub path: String,
    pub url: String,
    pub size: Option<i64>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_update_time: Option<Time>,
    pub metadata: BTreeMap<String, String>,
}

/// One `status.inventory.entries[]` item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceRef {
    pub id: String,
    pub v: String,
}

/// `status.inventory`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceInventory {
    pub entries: Vec<ResourceRef>,
}

impl ResourceInventory {
    /// The parsed entries in stored order; malformed ids are skipped.
    pub fn refs(&self) -> impl Iterator<Item = InventoryRef> + '_ {
        self.entries.iter().filter_map(|e| parse_id(&e.id, &e.v))
    }
}
