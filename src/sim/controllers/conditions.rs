//! Status helpers shared by the controllers: Kubernetes conditions (kept in a stable
//! order, lastTransitionTime only moves when the status changes) and small JSON accessors.

use serde_json::{Map, Value, json};

use super::clock;

/// Set a condition on `status.conditions`.
pub fn set(
    status: &mut Map<String, Value>,
    type_: &str,
    st: &str,
    reason: &str,
    message: &str,
    generation: i64,
) {
    let conds = status.entry("conditions").or_insert_with(|| json!([]));
    if !conds.is_array() {
        *conds = json!([]);
    }
    let Some(arr) = conds.as_array_mut() else {
        return;
    };
    let now = clock::now();
    if let Some(c) = arr.iter_mut().find(|c| c["type"] == type_) {
        let changed = c["status"] != st;
        let ltt = if changed {
            json!(now)
        } else {
            c.get("lastTransitionTime").cloned().unwrap_or(json!(now))
        };
        *c = json!({"type": type_, "status": st, "observedGeneration": generation,
                    "lastTransitionTime": ltt, "reason": reason, "message": message});
    } else {
        arr.push(
            json!({"type": type_, "status": st, "observedGeneration": generation,
                        "lastTransitionTime": now, "reason": reason, "message": message}),
        );
    }
    // Ready first, then Reconciling and Stalled, then the others in insertion order.
    let rank = |c: &Value| match c["type"].as_str() {
        Some("Ready") => 0,
        Some("Reconciling") => 1,
        Some("Stalled") => 2,
        _ => 3,
    };
    arr.sort_by_key(rank);
}

/// Remove a condition.
pub fn remove(status: &mut Map<String, Value>, type_: &str) {
    if let Some(arr) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        arr.retain(|c| c["type"] != type_);
    }
}

/// A condition of an object (`obj.status.conditions[type=..]`).
pub fn get<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Whether the condition is `True`.
pub fn is_true(obj: &Value, type_: &str) -> bool {
    get(obj, type_).is_some_and(|c| c["status"] == "True")
}

/// A string at a JSON pointer ("" when absent).
pub fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `metadata.generation` (1 when absent).
pub fn generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// `status.observedGeneration` (-1 when absent).
pub fn observed_generation(obj: &Value) -> i64 {
    obj.pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(-1)
}

/// The object's status as a map (empty when absent).
pub fn status_of(obj: &Value) -> Map<String, Value> {
    obj.get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// An annotation value.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// A label value.
pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/labels")?.get(key)?.as_str()
}

/// `spec.suspend == true`.
pub fn suspended(obj: &Value) -> bool {
    obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)
}

/// Deep merge `patch` into `base`: maps merge recursively, anything else replaces.
pub fn deep_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(bv) if bv.is_object() && v.is_object() => deep_merge(bv, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_keep_transition_time_and_order() {
        let mut st = Map::new();
        set(&mut st, "Released", "True", "InstallSucceeded", "m", 1);
        set(&mut st, "Ready", "True", "InstallSucceeded", "m", 1);
        let obj = json!({"status": st.clone()});
        assert_eq!(obj["status"]["conditions"][0]["type"], "Ready");
        let t0 = get(&obj, "Ready").unwrap()["lastTransitionTime"].clone();
        set(&mut st, "Ready", "True", "UpgradeSucceeded", "m2", 2);
        let obj = json!({"status": st.clone()});
        assert_eq!(get(&obj, "Ready").unwrap()["lastTransitionTime"], t0);
        assert_eq!(get(&obj, "Ready").unwrap()["reason"], "UpgradeSucceeded");
        remove(&mut st, "Released");
        assert!(get(&json!({"status": st}), "Released").is_none());
    }

    #[test]
    fn merge_is_deep_for_maps_only() {
        let mut a = json!({"a": {"x": 1, "y": [1, 2]}, "b": 1});
        deep_merge(&mut a, &json!({"a": {"y": [3]}, "c": 2}));
        assert_eq!(a, json!({"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}));
    }
}
