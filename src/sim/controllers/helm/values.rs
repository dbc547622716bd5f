//! Values composition: the ConfigMaps and Secrets a HelmRelease's `valuesFrom` names are read
//! from the store, and [`crate::domain::values::compose`] does what helm-controller's
//! `ChartValuesFromReferences` does, so the simulated controller and fluxdeck agree by
//! construction.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::domain::flux::{HelmRelease, HelmReleaseSpec};
use crate::domain::values::{self, Sources};
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, Store};

/// The string data of a ConfigMap.
fn config_map_data(obj: &Value) -> BTreeMap<String, String> {
    obj.get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

/// The data of a Secret, base64-decoded (bytes that are not UTF-8 are kept lossily, as the
/// controller passes bytes through); `stringData` is merged over `data` as the API server
/// does on write.
fn secret_data(obj: &Value) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = obj
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let bytes = STANDARD.decode(v.as_str()?).ok()?;
            Some((k.clone(), String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect();
    for (k, v) in obj
        .get("stringData")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(s) = v.as_str() {
            out.insert(k.clone(), s.to_string());
        }
    }
    out
}

/// The composed user values of a HelmRelease, or the ValuesError message.
pub fn compose(store: &Store, namespace: &str, spec: &Value) -> Result<Map<String, Value>, String> {
    let spec: HelmReleaseSpec = serde_json::from_value(spec.clone())
        .map_err(|e| format!("invalid HelmRelease spec: {e}"))?;
    let hr = HelmRelease {
        spec,
        ..HelmRelease::default()
    };
    let mut sources = Sources::default();
    for (kind, name) in values::references(&hr) {
        let key = ObjKey::new(namespace, &name);
        if kind == "Secret" {
            if let Some(obj) = store.get(&ids::secrets(), &key) {
                sources.secrets.insert(name, secret_data(&obj));
            }
        } else if let Some(obj) = store.get(&ids::configmaps(), &key) {
            sources.config_maps.insert(name, config_map_data(&obj));
        }
    }
    values::compose(namespace, &hr, &sources).map(|c| c.values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::store::WriteOpts;
    use serde_json::json;

    #[test]
    fn composes_from_the_store_in_order_with_target_path_and_optional() {
        let store = Store::new();
        store
            .create(
                &ids::configmaps(),
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "cfg", "namespace": "a"},
                       "data": {"values.yaml": "replicaCount: 2\nx: {y: 1}\n", "host": "db.local"}}),
                WriteOpts::default(),
            )
            .unwrap();
        store
            .create(
                &ids::secrets(),
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "creds", "namespace": "a"},
                       "data": {"values.yaml": STANDARD.encode("db: {password: s3cret}\n")}}),
                WriteOpts::default(),
            )
            .unwrap();
        let spec = json!({
            "values": {"x": {"z": 2}, "db": {"host": "inline"}},
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "cfg"},
                {"kind": "Secret", "name": "nope", "optional": true},
                {"kind": "Secret", "name": "creds"},
                {"kind": "ConfigMap", "name": "cfg", "valuesKey": "host", "targetPath": "db.host"}
            ]
        });
        let v = compose(&store, "a", &spec).unwrap();
        // The Secret's `db` map is merged with the inline one into a new map before the
        // targetPath is set, so the inline `db.host` merged last still wins.
        assert_eq!(
            Value::Object(v),
            json!({"replicaCount": 2, "x": {"y": 1, "z": 2},
                   "db": {"host": "inline", "password": "s3cret"}})
        );
        let spec = json!({
            "values": {"db": {"host": "inline"}},
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "cfg", "valuesKey": "host", "targetPath": "db.host"}
            ]
        });
        let v = compose(&store, "a", &spec).unwrap();
        assert_eq!(Value::Object(v), json!({"db": {"host": "db.local"}}));
        let bad = json!({"valuesFrom": [{"kind": "Secret", "name": "missing"}]});
        assert_eq!(
            compose(&store, "a", &bad).unwrap_err(),
            "could not resolve Secret chart values reference 'a/missing' with key 'values.yaml': secrets \"missing\" not found"
        );
    }
}
