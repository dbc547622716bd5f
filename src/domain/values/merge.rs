//! Helm's coalesce of user values over chart defaults, and structural equality.

use serde_json::{Map, Value};

/// Helm's coalesce of user config over chart defaults (computed values).
///
/// Maps merge recursively; for scalars and lists the user value wins; a `null` user value
/// deletes the default's key; a `null` default the user does not set is dropped.
pub fn coalesce(defaults: &Map<String, Value>, config: &Map<String, Value>) -> Map<String, Value> {
    let mut out = config.clone();
    coalesce_into(&mut out, defaults);
    out
}

fn coalesce_into(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (key, default) in src {
        match dst.get_mut(key) {
            Some(Value::Null) => {
                dst.remove(key);
            }
            Some(Value::Object(user)) => {
                if let Value::Object(d) = default {
                    coalesce_into(user, d);
                }
            }
            Some(_) => {}
            None => match default {
                Value::Null => {}
                Value::Object(d) => {
                    let mut copy = Map::new();
                    coalesce_into(&mut copy, d);
                    dst.insert(key.clone(), Value::Object(copy));
                }
                other => {
                    dst.insert(key.clone(), other.clone());
                }
            },
        }
    }
}

/// Structural equality, numbers equal by value (1 == 1.0).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i == j
            } else if let (Some(i), Some(j)) = (x.as_u64(), y.as_u64()) {
                i == j
            } else {
                match (x.as_f64(), y.as_f64()) {
                    (Some(i), Some(j)) => i == j,
                    _ => false,
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(i, j)| same(i, j))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
