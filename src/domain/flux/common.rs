//! Types shared by the Flux kinds: conditions, references, artifacts, inventories, and a
//! lenient time parser (a malformed timestamp loses only that field, never the object).

use arcstr::ArcStr;
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

/// A list that holds exactly its elements. Read from JSON text its length is not known in
/// advance and the list grows in steps (room for four where one arrived); a stored object
/// keeps no such room (read from a `Value`, the length is known).
pub(crate) fn exact<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let mut items = Vec::<T>::deserialize(d)?;
    items.shrink_to_fit();
    Ok(items)
}

/// A string most objects repeat (a condition type, a kind, an API version): one copy for all.
pub(crate) fn shared_text<'de, D: Deserializer<'de>>(d: D) -> Result<ArcStr, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map_or_else(ArcStr::new, |s| super::kinds::shared(&s)))
}

/// An optional string most objects repeat: one copy for all.
pub(crate) fn shared_text_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ArcStr>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| super::kinds::shared(&s)))
}

/// A `metav1.Condition`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    /// Shared between objects (a handful of types exist).
    #[serde(rename = "type", deserialize_with = "shared_text")]
    pub type_: ArcStr,
    /// `True`, `False` or `Unknown` (shared between objects).
    #[serde(deserialize_with = "shared_text")]
    pub status: ArcStr,
    pub reason: ArcStr,
    pub message: ArcStr,
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

/// A source artifact: what the dependency checks and views read (its revision and digest;
/// not its storage path, URL, size or metadata).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Artifact {
    pub revision: String,
    pub digest: Option<String>,
}

/// One `status.inventory.entries[]` item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceRef {
    pub id: String,
    /// The API version (shared: a handful of values).
    #[serde(deserialize_with = "shared_text")]
    pub v: ArcStr,
}

/// `status.inventory`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceInventory {
    #[serde(deserialize_with = "exact")]
    pub entries: Vec<ResourceRef>,
}

impl ResourceInventory {
    /// The parsed entries in stored order; malformed ids are skipped.
    pub fn refs(&self) -> impl Iterator<Item = InventoryRef> + '_ {
        self.entries.iter().filter_map(|e| parse_id(&e.id, &e.v))
    }
}

/// `spec.kubeConfig`: the object applies to a remote cluster through this reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeConfigReference {
    pub secret_ref: Option<KubeConfigSecretRef>,
    pub config_map_ref: Option<LocalObjectReference>,
}

/// `spec.kubeConfig.secretRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeConfigSecretRef {
    pub name: String,
    pub key: Option<String>,
}

/// A list of which only the length is kept (a post-renderer's patches). Reads any list (or
/// nothing); written back as that many nulls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Option::<Vec<serde::de::IgnoredAny>>::deserialize(d)?;
        Ok(Count(items.map_or(0, |v| v.len())))
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(std::iter::repeat_n((), self.0))
    }
}

/// Arbitrary JSON kept as compact text (a HelmRelease's `spec.values`): one allocation
/// instead of a tree of maps, parsed again when read. Reads any JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Values(Box<str>);

impl Values {
    /// The value as JSON (`Null` if the text cannot be read, which cannot happen for text
    /// this type wrote).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&serde_json::Value> for Values {
    fn from(v: &serde_json::Value) -> Self {
        Values(v.to_string().into_boxed_str())
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Values::from(&value))
    }
}

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}
