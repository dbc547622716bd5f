//! [`Meta`]: what fluxdeck reads of a Flux object's `metadata`, kept compactly. Kubernetes'
//! `ObjectMeta` holds every field in place (360 bytes) and its labels in a B-tree (a
//! 500-byte node for two labels); at thousands of stored objects that was a fifth of the
//! memory. Fields fluxdeck does not read (uid, owner references, finalizers, managed
//! fields) are not kept, nor the last-applied annotation, which repeats the whole object;
//! the YAML view fetches the whole object.

use std::collections::BTreeMap;
use std::fmt;

use arcstr::ArcStr;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::common::{lenient_time, shared_text_opt};
use super::kinds::shared;

/// The metadata of a stored Flux object. Field names and types follow `ObjectMeta`; absent
/// fields are left out when serialised (as the API server does), so expressions such as
/// `has(self.metadata.annotations)` see what the server sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One copy per namespace for all objects in it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "shared_text_opt"
    )]
    pub namespace: Option<ArcStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_time"
    )]
    pub creation_timestamp: Option<Time>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_time"
    )]
    pub deletion_timestamp: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Without [`LAST_APPLIED`]; `None` when no other annotation is left.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "annotations"
    )]
    pub annotations: Option<Labels>,
}

/// The annotation in which `kubectl apply` keeps the whole object again, as a string (a
/// Secret's data included). Stored metadata does not keep it.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Annotations without [`LAST_APPLIED`] (its text is skipped, not copied); none left is
/// `None`, as if the object had no annotations.
fn annotations<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Labels>, D::Error> {
    let pairs = d.deserialize_option(OptionalPairs {
        skip: Some(LAST_APPLIED),
    })?;
    Ok(pairs.filter(|a| !a.is_empty()))
}

/// Labels or annotations: key/value pairs sorted by key, in one allocation (keys shared
/// between objects: every object of a kind carries the same few).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Box<[(ArcStr, ArcStr)]>);

impl Labels {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let sorted: BTreeMap<ArcStr, ArcStr> = iter
            .into_iter()
            .map(|(k, v)| (shared(k.as_ref()), ArcStr::from(v.as_ref())))
            .collect();
        Labels(sorted.into_iter().collect())
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k.as_str(), v.as_str())?;
        }
        map.end()
    }
}

/// Reads a map of strings into [`Labels`], leaving out the key `skip` (a null value reads
/// as empty).
struct Pairs {
    skip: Option<&'static str>,
}

impl<'de> Visitor<'de> for Pairs {
    type Value = Labels;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of strings")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if self.skip == Some(k.as_str()) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let v = map.next_value::<Option<String>>()?;
            pairs.push((k, v.unwrap_or_default()));
        }
        Ok(pairs.into_iter().collect())
    }
}

/// [`Pairs`] of an optional map (null is `None`).
struct OptionalPairs {
    skip: Option<&'static str>,
}

impl<'de> Visitor<'de> for OptionalPairs {
    type Value = Option<Labels>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of strings or null")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(Pairs { skip: self.skip }).map(Some)
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(Pairs { skip: None })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn reads_and_writes_what_object_meta_would() {
        let value = json!({
            "name": "podinfo", "namespace": "apps", "generation": 3,
            "resourceVersion": "42", "creationTimestamp": "2026-08-01T10:00:00Z",
            "labels": {"b": "2", "a": "1"},
            "annotations": {"reconcile.fluxcd.io/requestedAt": "now"},
            "uid": "u-1", "finalizers": ["finalizers.fluxcd.io"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u"}],
        });
        let meta: Meta = serde_json::from_value(value).unwrap();
        assert_eq!(meta.name.as_deref(), Some("podinfo"));
        assert_eq!(meta.namespace.as_deref(), Some("apps"));
        assert_eq!(meta.generation, Some(3));
        let labels = meta.labels.as_ref().unwrap();
        assert_eq!(labels.get("a"), Some("1"));
        assert_eq!(labels.get("b"), Some("2"));
        assert_eq!(labels.get("c"), None);
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            json!({
                "name": "podinfo", "namespace": "apps", "generation": 3,
                "resourceVersion": "42", "creationTimestamp": "2026-08-01T10:00:00Z",
                "labels": {"a": "1", "b": "2"},
                "annotations": {"reconcile.fluxcd.io/requestedAt": "now"},
            })
        );
    }

    #[test]
    fn absent_fields_stay_absent_and_a_bad_time_loses_only_itself() {
        let meta: Meta = serde_json::from_value(json!({
            "name": "x", "creationTimestamp": "yesterday", "labels": {"k": null}
        }))
        .unwrap();
        assert_eq!(meta.creation_timestamp, None);
        assert_eq!(meta.labels.as_ref().unwrap().get("k"), Some(""));
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            json!({"name": "x", "labels": {"k": ""}})
        );
    }

    #[test]
    fn namespaces_and_label_keys_are_shared_between_objects() {
        let a: Meta =
            serde_json::from_value(json!({"namespace": "team-a", "labels": {"app": "1"}})).unwrap();
        let b: Meta =
            serde_json::from_value(json!({"namespace": "team-a", "labels": {"app": "2"}})).unwrap();
        let (na, nb) = (a.namespace.unwrap(), b.namespace.unwrap());
        assert!(ArcStr::ptr_eq(&na, &nb));
        let key = |m: &Option<Labels>| m.as_ref().unwrap().0[0].0.clone();
        assert!(ArcStr::ptr_eq(&key(&a.labels), &key(&b.labels)));
    }

    #[test]
    fn the_last_applied_annotation_is_not_kept() {
        let meta: Meta = serde_json::from_value(json!({
            "annotations": {LAST_APPLIED: "{\"the\": \"whole object\"}", "team": "db"},
        }))
        .unwrap();
        let annotations = meta.annotations.unwrap();
        assert_eq!(annotations.iter().collect::<Vec<_>>(), [("team", "db")]);
        // Nothing else left, or nothing at all: no annotations, as if none were sent.
        for none in [json!({LAST_APPLIED: "{}"}), json!({}), Value::Null] {
            let meta: Meta = serde_json::from_value(json!({"annotations": none})).unwrap();
            assert_eq!(meta.annotations, None, "{none}");
        }
        // Labels keep every key.
        let meta: Meta = serde_json::from_value(json!({"labels": {LAST_APPLIED: "x"}})).unwrap();
        assert_eq!(meta.labels.unwrap().get(LAST_APPLIED), Some("x"));
    }
}
