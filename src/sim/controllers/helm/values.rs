//! Values composition as helm-controller does it (`ChartValuesFromReferences`): valuesFrom
//! ConfigMaps/Secrets in order (valuesKey, targetPath, optional), then inline values on top,
//! with targetPath values winning over inline values at the same path.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::sim::controllers::conditions::deep_merge;
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, Store};

/// A `--set`-style scalar: integers, booleans and null are typed, the rest are strings.
fn typed(raw: &str) -> Value {
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| {
            Value::String(raw.trim_matches('"').trim_matches('\'').to_string())
        }),
    }
}

/// Split a target path on dots, honouring `\.` escapes.
fn path_parts(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                if let Some(last) = parts.last_mut() {
                    last.push('.');
                }
            }
            '.' => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

fn set_path(root: &mut Map<String, Value>, path: &[String], v: Value) {
    let Some((last, head)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for p in head {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Some(m) = entry.as_object_mut() else {
            return;
        };
        cur = m;
    }
    cur.insert(last.clone(), v);
}

fn has_path(root: &Map<String, Value>, path: &[String]) -> bool {
    let mut cur = Value::Object(root.clone());
    for p in path {
        match cur.get(p) {
            Some(v) => cur = v.clone(),
            None => return false,
        }
    }
    true
}

/// The composed user values of a HelmRelease, or the ValuesError message.
pub fn compose(store: &Store, namespace: &str, spec: &Value) -> Result<Map<String, Value>, String> {
    let mut result = Value::Object(Map::new());
    let inline = spec
        .get("values")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let mut target_sets: Vec<(Vec<String>, Value)> = Vec::new();
    for r in spec
        .get("valuesFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = r["kind"].as_str().unwrap_or_default();
        let name = r["name"].as_str().unwrap_or_default();
        let key = r["valuesKey"].as_str().unwrap_or("values.yaml");
        let optional = r["optional"].as_bool() == Some(true);
        let res = match kind {
            "ConfigMap" => ids::configmaps(),
            "Secret" => ids::secrets(),
            other => return Err(format!("unsupported values reference kind '{other}'")),
        };
        let not_found = |what: &str| {
            format!(
                "could not resolve {kind} chart values reference '{namespace}/{name}' with key '{key}': {what}"
            )
        };
        let Some(obj) = store.get(&res, &ObjKey::new(namespace, name)) else {
            if optional {
                continue;
            }
            return Err(not_found("resource not found"));
        };
        let data = if kind == "Secret" {
            obj.pointer("/data")
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .and_then(|b| STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .or_else(|| {
                    obj.pointer("/stringData")
                        .and_then(|d| d.get(key))
                        .and_then(Value::as_str)
                        .map(String::from)
                })
        } else {
            obj.pointer("/data")
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .map(String::from)
        };
        let Some(data) = data else {
            if optional {
                continue;
            }
            return Err(not_found("key not found"));
        };
        match r["targetPath"].as_str().filter(|t| !t.is_empty()) {
            Some(tp) => {
                deep_merge(&mut result, &inline);
                let path = path_parts(tp);
                let v = if r["literal"].as_bool() == Some(true) {
                    Value::String(data.clone())
                } else {
                    typed(data.trim())
                };
                if let Some(m) = result.as_object_mut() {
                    set_path(m, &path, v.clone());
                }
                target_sets.push((path, v));
            }
            None => {
                let parsed: Value = serde_yaml::from_str(&data).map_err(|e| {
                    format!("failed to read values data from {kind} '{namespace}/{name}' with key '{key}': {e}")
                })?;
                if !parsed.is_null() {
                    if !parsed.is_object() {
                        return Err(format!(
                            "failed to merge value from {kind} '{namespace}/{name}' with key '{key}': not a map"
                        ));
                    }
                    deep_merge(&mut result, &parsed);
                }
            }
        }
    }
    deep_merge(&mut result, &inline);
    if let (Some(m), Some(inl)) = (result.as_object_mut(), inline.as_object()) {
        for (path, v) in target_sets {
            if has_path(inl, &path) {
                set_path(m, &path, v);
            }
        }
    }
    Ok(match result {
        Value::Object(m) => m,
        _ => Map::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::store::WriteOpts;
    use serde_json::json;

    #[test]
    fn composes_in_order_with_target_path_and_optional() {
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
        let spec = json!({
            "values": {"x": {"z": 2}, "db": {"host": "inline"}},
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "cfg"},
                {"kind": "Secret", "name": "nope", "optional": true},
                {"kind": "ConfigMap", "name": "cfg", "valuesKey": "host", "targetPath": "db.host"}
            ]
        });
        let v = compose(&store, "a", &spec).unwrap();
        assert_eq!(
            Value::Object(v),
            json!({"replicaCount": 2, "x": {"y": 1, "z": 2}, "db": {"host": "db.local"}})
        );
        let bad = json!({"valuesFrom": [{"kind": "Secret", "name": "creds"}]});
        assert_eq!(
            compose(&store, "a", &bad).unwrap_err(),
            "could not resolve Secret chart values reference 'a/creds' with key 'values.yaml': resource not found"
        );
    }
}
