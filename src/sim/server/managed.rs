//! `metadata.managedFields`: which field manager owns which fields, as `FieldsV1` sets:
//! object fields as `f:NAME`, items of keyed lists as `k:{"name":"x"}` (with `.` for the
//! item itself), values of set lists as `v:VALUE`; atomic lists and scalars are leaves.
//! Server-side apply uses them to drop fields a manager applied before and no longer
//! applies (unless another manager owns them too), to find conflicts with other managers,
//! and to move ownership of changed fields to whoever changed them.

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::merge::{ListType, item_key, list_type, matches_key};
use crate::sim::defaults::Kind;

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

fn skipped(path: &[String], key: &str) -> bool {
    match path {
        [] => key == "apiVersion" || key == "kind",
        [m] => m == "metadata" && SERVER_META.contains(&key),
        _ => false,
    }
}

fn key_entry(key: &Map<String, Value>) -> String {
    format!("k:{}", Value::Object(key.clone()))
}

/// The field set of a (partial) object of `kind`.
pub fn fields_v1(obj: &Value, kind: Option<Kind>) -> Value {
    let mut path = Vec::new();
    let set = subtree(kind, &mut path, obj);
    if set.as_object().is_some_and(Map::is_empty) || !obj.is_object() {
        return json!({});
    }
    set
}

fn subtree(kind: Option<Kind>, path: &mut Vec<String>, v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if skipped(path, k) {
                    continue;
                }
                path.push(k.clone());
                let sub = subtree(kind, path, v);
                path.pop();
                if path.is_empty() && k == "metadata" && sub.as_object().is_some_and(Map::is_empty)
                {
                    continue;
                }
                out.insert(format!("f:{k}"), sub);
            }
            Value::Object(out)
        }
        Value::Array(items) => match list_type(kind, path) {
            ListType::Atomic => json!({}),
            ListType::Set => Value::Object(
                items
                    .iter()
                    .map(|i| (format!("v:{i}"), json!({})))
                    .collect(),
            ),
            ListType::Map(keys) => {
                let mut out = Map::new();
                for item in items {
                    let mut sub = subtree(kind, path, item);
                    if let Some(m) = sub.as_object_mut() {
                        m.insert(".".into(), json!({}));
                    }
                    out.insert(key_entry(&item_key(item, keys)), sub);
                }
                Value::Object(out)
            }
        },
        _ => json!({}),
    }
}

fn is_leaf(v: &Value) -> bool {
    v.as_object().is_none_or(Map::is_empty)
}

fn parse_key(entry: &str) -> Option<Map<String, Value>> {
    serde_json::from_str::<Map<String, Value>>(entry.strip_prefix("k:")?).ok()
}

/// Remove from `obj` the fields in `prev` that are not in `next`, unless `others` (the
/// fields of all other managers) has them. All three are field sets.
pub fn remove_dropped(obj: &mut Value, prev: &Value, next: &Value, others: &Value) {
    let Some(prev) = prev.as_object() else {
        return;
    };
    let empty = Map::new();
    let next = next.as_object().unwrap_or(&empty);
    let others = others.as_object().unwrap_or(&empty);
    for (fk, sub) in prev {
        let nsub = next.get(fk);
        let osub = others.get(fk);
        if let Some(key) = fk.strip_prefix("f:") {
            let Some(map) = obj.as_object_mut() else {
                continue;
            };
            match (nsub, osub) {
                (None, None) if key != "metadata" => {
                    map.remove(key);
                }
                (None, Some(o)) if is_leaf(o) => {}
                _ => {
                    if !is_leaf(sub)
                        && let Some(child) = map.get_mut(key)
                    {
                        remove_dropped(
                            child,
                            sub,
                            nsub.unwrap_or(&Value::Null),
                            osub.unwrap_or(&Value::Null),
                        );
                    }
                }
            }
        } else if fk.starts_with("k:") {
            let (Some(key), Some(list)) = (parse_key(fk), obj.as_array_mut()) else {
                continue;
            };
            let Some(i) = list.iter().position(|x| matches_key(x, &key)) else {
                continue;
            };
            if nsub.is_none() && osub.is_none() {
                list.remove(i);
            } else {
                remove_dropped(
                    &mut list[i],
                    sub,
                    nsub.unwrap_or(&Value::Null),
                    osub.unwrap_or(&Value::Null),
                );
            }
        } else if let Some(v) = fk.strip_prefix("v:") {
            let (Ok(v), Some(list)) = (serde_json::from_str::<Value>(v), obj.as_array_mut()) else {
                continue;
            };
            if nsub.is_none() && osub.is_none() {
                list.retain(|x| *x != v);
            }
        }
    }
}

/// The union of two field sets.
pub fn union(a: &Value, b: &Value) -> Value {
    let mut out = a.as_object().cloned().unwrap_or_default();
    for (k, bv) in b.as_object().into_iter().flatten() {
        let merged = match out.get(k) {
            Some(av) => union(av, bv),
            None => bv.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Value::Object(out)
}

/// `a` without the fields of `b`.
pub fn subtract(a: &Value, b: &Value) -> Value {
    let mut out = Map::new();
    for (k, av) in a.as_object().into_iter().flatten() {
        match b.get(k) {
            None => {
                out.insert(k.clone(), av.clone());
            }
            Some(bv) if is_leaf(bv) => {}
            Some(_) if is_leaf(av) => {
                out.insert(k.clone(), av.clone());
            }
            Some(bv) => {
                let rest = subtract(av, bv);
                if !is_leaf(&rest) {
                    out.insert(k.clone(), rest);
                }
            }
        }
    }
    Value::Object(out)
}

/// The fields in both sets.
pub fn intersect(a: &Value, b: &Value) -> Value {
    let mut out = Map::new();
    for (k, av) in a.as_object().into_iter().flatten() {
        let Some(bv) = b.get(k) else {
            continue;
        };
        if is_leaf(av) || is_leaf(bv) {
            out.insert(k.clone(), json!({}));
        } else {
            let both = intersect(av, bv);
            if !is_leaf(&both) {
                out.insert(k.clone(), both);
            }
        }
    }
    Value::Object(out)
}

/// The leaf paths of a field set, written as the API server writes them in conflict
/// messages: `.spec.replicas`, `.spec.template.spec.containers[name="app"].image`.
pub fn paths(set: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_paths(set, String::new(), &mut out);
    out
}

fn collect_paths(set: &Value, prefix: String, out: &mut Vec<String>) {
    let Some(m) = set.as_object() else {
        return;
    };
    if m.is_empty() {
        if !prefix.is_empty() {
            out.push(prefix);
        }
        return;
    }
    for (k, v) in m {
        let p = if k == "." {
            if !prefix.is_empty() {
                out.push(prefix.clone());
            }
            continue;
        } else if let Some(f) = k.strip_prefix("f:") {
            format!("{prefix}.{f}")
        } else if let Some(key) = parse_key(k) {
            let parts: Vec<String> = key.iter().map(|(f, v)| format!("{f}={v}")).collect();
            format!("{prefix}[{}]", parts.join(","))
        } else if let Some(v) = k.strip_prefix("v:") {
            format!("{prefix}[={v}]")
        } else {
            format!("{prefix}.{k}")
        };
        collect_paths(v, p, out);
    }
}

/// The fields that differ between two versions of an object (added, changed or removed).
pub fn changed_fields(before: &Value, after: &Value, kind: Option<Kind>) -> Value {
    let mut path = Vec::new();
    changed_at(kind, &mut path, before, after).unwrap_or_else(|| json!({}))
}

fn changed_at(kind: Option<Kind>, path: &mut Vec<String>, b: &Value, a: &Value) -> Option<Value> {
    if b == a {
        return None;
    }
    match (b, a) {
        (Value::Object(bm), Value::Object(am)) => {
            let mut out = Map::new();
            for k in bm.keys().chain(am.keys().filter(|k| !bm.contains_key(*k))) {
                if skipped(path, k) || (path.is_empty() && k == "status") {
                    continue;
                }
                path.push(k.clone());
                let c = changed_at(
                    kind,
                    path,
                    bm.get(k).unwrap_or(&Value::Null),
                    am.get(k).unwrap_or(&Value::Null),
                );
                path.pop();
                if let Some(c) = c {
                    out.insert(format!("f:{k}"), c);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (Value::Array(bl), Value::Array(al)) => match list_type(kind, path) {
            ListType::Atomic => Some(json!({})),
            ListType::Set => {
                let mut out = Map::new();
                for v in al.iter().filter(|v| !bl.contains(v)) {
                    out.insert(format!("v:{v}"), json!({}));
                }
                for v in bl.iter().filter(|v| !al.contains(v)) {
                    out.insert(format!("v:{v}"), json!({}));
                }
                Some(Value::Object(out))
            }
            ListType::Map(keys) => {
                let mut out = Map::new();
                for item in al {
                    let key = item_key(item, keys);
                    let old = bl.iter().find(|x| matches_key(x, &key));
                    let c = match old {
                        None => {
                            let mut sub = subtree(kind, path, item);
                            if let Some(m) = sub.as_object_mut() {
                                m.insert(".".into(), json!({}));
                            }
                            Some(sub)
                        }
                        Some(o) => changed_at(kind, path, o, item),
                    };
                    if let Some(c) = c {
                        out.insert(key_entry(&key), c);
                    }
                }
                for item in bl {
                    let key = item_key(item, keys);
                    if !al.iter().any(|x| matches_key(x, &key)) {
                        out.insert(key_entry(&key), json!({".": {}}));
                    }
                }
                Some(Value::Object(out))
            }
        },
        (Value::Null, v @ Value::Object(_)) => {
            let sub = subtree(kind, path, v);
            Some(if is_leaf(&sub) { json!({}) } else { sub })
        }
        _ => Some(json!({})),
    }
}

fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn entry_fields(e: &Value) -> &Value {
    e.get("fieldsV1").unwrap_or(&Value::Null)
}

/// The union of the fields of every manager but this one (with this operation and
/// subresource).
pub fn others_fields(
    obj: &Value,
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
) -> Value {
    entries(obj)
        .iter()
        .filter(|e| !is_entry(e, manager, operation, subresource))
        .fold(json!({}), |acc, e| union(&acc, entry_fields(e)))
}

/// How the API server names a manager in conflict messages.
fn describe(e: &Value) -> String {
    let s = |f: &str| e.get(f).and_then(Value::as_str).unwrap_or_default();
    let mut out = format!("{:?}", s("manager"));
    if !s("subresource").is_empty() {
        out.push_str(&format!(" with subresource {:?}", s("subresource")));
    }
    if s("operation") == "Update" {
        out.push_str(&format!(" using {}", s("apiVersion")));
        if !s("time").is_empty() {
            out.push_str(&format!(" at {}", s("time")));
        }
    }
    out
}

/// The conflict message of an apply that would change `changed` fields other managers own;
/// `None` when there is no conflict.
pub fn conflict_message(
    obj: &Value,
    changed: &Value,
    manager: &str,
    subresource: Option<&str>,
) -> Option<String> {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for e in entries(obj) {
        if is_entry(&e, manager, "Apply", subresource) {
            continue;
        }
        let p = paths(&intersect(changed, entry_fields(&e)));
        if !p.is_empty() {
            found.push((describe(&e), p));
        }
    }
    let total: usize = found.iter().map(|(_, p)| p.len()).sum();
    match found.as_slice() {
        [] => None,
        [(m, p)] if p.len() == 1 => Some(format!(
            "Apply failed with 1 conflict: conflict with {m}: {}",
            p[0]
        )),
        _ => {
            found.sort();
            let mut lines = Vec::new();
            for (m, ps) in &found {
                lines.push(format!("conflicts with {m}"));
                lines.extend(ps.iter().map(|p| format!("- {p}")));
            }
            Some(format!(
                "Apply failed with {total} conflicts: {}",
                lines.join("\n")
            ))
        }
    }
}

/// Take `fields` away from every manager but this one; entries left empty are dropped.
pub fn take_ownership(
    obj: &mut Value,
    fields: &Value,
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
) {
    if is_leaf(fields) {
        return;
    }
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(Value::Array(list)) = meta.get_mut("managedFields") else {
        return;
    };
    for e in list.iter_mut() {
        if is_entry(e, manager, operation, subresource) {
            continue;
        }
        let rest = subtract(entry_fields(e), fields);
        e["fieldsV1"] = rest;
    }
    list.retain(|e| !is_leaf(entry_fields(e)));
}

/// Record an update (PUT or a non-apply patch) by `manager`: it gets the fields it changed
/// (added to what it had), and the other managers lose them.
pub fn record_update(
    obj: &mut Value,
    before: &Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    kind: Option<Kind>,
) {
    let changed = changed_fields(before, obj, kind);
    let mut owned = previous_fields(before, manager, "Update", subresource)
        .cloned()
        .unwrap_or_else(|| json!({}));
    owned = union(&owned, &changed);
    take_ownership(obj, &changed, manager, "Update", subresource);
    if is_leaf(&owned) && previous_fields(obj, manager, "Update", subresource).is_none() {
        return;
    }
    record(obj, manager, "Update", api_version, subresource, owned);
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
        let f1 = fields_v1(&applied1, None);
        assert_eq!(f1["f:metadata"]["f:labels"]["f:y"], json!({}));
        assert!(f1["f:metadata"].get("f:name").is_none());
        let mut obj = json!({"metadata": {"name": "a", "labels": {"x": "1", "y": "2", "z": "3"}},
            "data": {"a": "1", "b": "2", "c": "3"}});
        remove_dropped(&mut obj, &f1, &fields_v1(&applied2, None), &json!({}));
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
