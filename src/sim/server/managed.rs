//! `metadata.managedFields`: which field manager wrote which fields, with a simplified
//! `FieldsV1` set (object keys as `f:NAME`; lists and scalars are leaves). Server-side apply
//! uses it to drop fields a manager applied before and no longer applies.

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// Metadata fields that belong to the server or identify the object; never in a field set.
const SERVER_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The field set of a (partial) object.
pub fn fields_v1(obj: &Value) -> Value {
    let Some(map) = obj.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for (k, v) in map {
        if k == "apiVersion" || k == "kind" {
            continue;
        }
        if k == "metadata" {
            let mut meta = Map::new();
            if let Some(m) = v.as_object() {
                for (mk, mv) in m {
                    if !SERVER_META.contains(&mk.as_str()) {
                        meta.insert(format!("f:{mk}"), subtree(mv));
                    }
                }
            }
            if !meta.is_empty() {
                out.insert("f:metadata".into(), Value::Object(meta));
            }
            continue;
        }
        out.insert(format!("f:{k}"), subtree(v));
    }
    Value::Object(out)
}

fn subtree(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (format!("f:{k}"), subtree(v)))
                .collect(),
        ),
        _ => json!({}),
    }
}

/// Remove from `obj` the fields in `prev` that are not in `next` (both field sets).
pub fn remove_dropped(obj: &mut Value, prev: &Value, next: &Value) {
    let (Some(prev), Some(obj)) = (prev.as_object(), obj.as_object_mut()) else {
        return;
    };
    let next = next.as_object();
    for (fk, sub) in prev {
        let Some(key) = fk.strip_prefix("f:") else {
            continue;
        };
        match next.and_then(|n| n.get(fk)) {
            None => {
                if key != "metadata" {
                    obj.remove(key);
                } else if let Some(m) = obj.get_mut("metadata") {
                    remove_dropped(m, sub, &json!({}));
                }
            }
            Some(nsub) => {
                let sub_has_children = sub.as_object().is_some_and(|m| !m.is_empty());
                if sub_has_children && let Some(child) = obj.get_mut(key) {
                    remove_dropped(child, sub, nsub);
                }
            }
        }
    }
}

/// The field set a manager last recorded with `operation` (and subresource).
pub fn previous_fields<'a>(
    obj: &'a Value,
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| is_entry(e, manager, operation, subresource))?
        .get("fieldsV1")
}

fn is_entry(e: &Value, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
    e.get("manager").and_then(Value::as_str) == Some(manager)
        && e.get("operation").and_then(Value::as_str) == Some(operation)
        && e.get("subresource").and_then(Value::as_str) == subresource
}

/// Record (replace) a manager's entry in `obj`'s managedFields.
pub fn record(
    obj: &mut Value,
    manager: &str,
    operation: &str,
    api_version: &str,
    subresource: Option<&str>,
    fields: Value,
) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let mut entries: Vec<Value> = meta
        .get("managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    entries.retain(|e| !is_entry(e, manager, operation, subresource));
    let mut entry = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    });
    if let Some(s) = subresource {
        entry["subresource"] = json!(s);
    }
    entries.push(entry);
    meta.insert("managedFields".into(), Value::Array(entries));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_sets_and_dropping() {
        let applied1 = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"x": "1", "y": "2"}},
            "data": {"a": "1", "b": "2"}});
        let applied2 = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"a": "1"}});
        let f1 = fields_v1(&applied1);
        assert_eq!(f1["f:metadata"]["f:labels"]["f:y"], json!({}));
        assert!(f1["f:metadata"].get("f:name").is_none());
        let mut obj = json!({"metadata": {"name": "a", "labels": {"x": "1", "y": "2", "z": "3"}},
            "data": {"a": "1", "b": "2", "c": "3"}});
        remove_dropped(&mut obj, &f1, &fields_v1(&applied2));
        assert_eq!(obj["data"], json!({"a": "1", "c": "3"}));
        assert_eq!(obj["metadata"]["labels"], json!({"x": "1", "z": "3"}));
        assert_eq!(obj["metadata"]["name"], "a");
    }

    #[test]
    fn record_replaces_the_managers_entry() {
        let mut obj = json!({"metadata": {"name": "a"}});
        record(&mut obj, "m", "Apply", "v1", None, json!({"f:data": {}}));
        record(&mut obj, "m", "Apply", "v1", None, json!({"f:spec": {}}));
        record(&mut obj, "m", "Update", "v1", None, json!({}));
        let entries = obj["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            previous_fields(&obj, "m", "Apply", None),
            Some(&json!({"f:spec": {}}))
        );
    }
}
