//! JSON Patch (RFC 6902) generation the way helm-controller computes drift: object keys in
//! sorted order; arrays compared index by index with surplus source entries removed at the
//! first index past the shorter length and surplus target entries appended with `/-`; and
//! "rationalization": when the operations produced for one object or array are longer (as
//! JSON) than a single `replace` of it, that one `replace` is used instead.

use serde_json::Value;

/// The kind of a patch operation (the generator emits no move/copy/test).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Replace => "replace",
            Self::Remove => "remove",
        }
    }
}

/// One operation: its kind, its JSON pointer, and the value for add/replace.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub kind: OpKind,
    pub path: String,
    pub value: Option<Value>,
}

impl Op {
    /// Bytes the operation takes as compact JSON (`{"op":"…","path":"…","value":…}`).
    fn json_len(&self) -> usize {
        const BASE: usize = r#"{"op":"","path":""}"#.len();
        const VALUE_FIELD: usize = r#","value":"#.len();
        BASE + self.kind.as_str().len()
            + self.path.len()
            + self
                .value
                .as_ref()
                .map_or(0, |v| VALUE_FIELD + value_len(v))
    }

    /// As a `json_patch` operation, to apply it.
    pub fn to_patch_op(&self) -> Result<json_patch::PatchOperation, String> {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), Value::from(self.kind.as_str()));
        o.insert("path".into(), Value::from(self.path.clone()));
        if let Some(v) = &self.value {
            o.insert("value".into(), v.clone());
        }
        serde_json::from_value(Value::Object(o))
            .map_err(|e| format!("invalid patch operation: {e}"))
    }
}

/// Length of a value as compact JSON, counting the characters Go's encoder escapes for HTML
/// safety (`<`, `>`, `&` become `\u003c`…, U+2028/U+2029 become `\u2028`…) at their escaped size.
fn value_len(v: &Value) -> usize {
    fn str_extra(s: &str) -> usize {
        s.chars()
            .map(|c| match c {
                '<' | '>' | '&' => 5,
                '\u{2028}' | '\u{2029}' => 3,
                _ => 0,
            })
            .sum()
    }
    fn extra(v: &Value) -> usize {
        match v {
            Value::String(s) => str_extra(s),
            Value::Array(a) => a.iter().map(extra).sum(),
            Value::Object(m) => m.iter().map(|(k, v)| str_extra(k) + extra(v)).sum(),
            _ => 0,
        }
    }
    serde_json::to_string(v).map_or(0, |s| s.len()) + extra(v)
}

fn patch_len(ops: &[Op]) -> usize {
    ops.iter().map(Op::json_len).sum::<usize>() + ops.len().saturating_sub(1)
}

/// Escape one reference token of a JSON pointer (RFC 6901).
pub fn escape_token(t: &str) -> String {
    t.replace('~', "~0").replace('/', "~1")
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The operations that turn `src` into `tgt`.
pub fn compare(src: &Value, tgt: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    diff("", src, tgt, &mut ops);
    ops
}

fn diff(ptr: &str, src: &Value, tgt: &Value, ops: &mut Vec<Op>) {
    if !same_type(src, tgt) {
        // Incomparable values; at the root the whole document is replaced with an add.
        let kind = if ptr.is_empty() {
            OpKind::Add
        } else {
            OpKind::Replace
        };
        ops.push(Op {
            kind,
            path: ptr.to_string(),
            value: Some(tgt.clone()),
        });
        return;
    }
    if src == tgt {
        return;
    }
    let start = ops.len();
    match (src, tgt) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a
                .keys()
                .chain(b.keys().filter(|k| !a.contains_key(*k)))
                .collect();
            keys.sort();
            for k in keys {
                let p = format!("{ptr}/{}", escape_token(k));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&p, x, y, ops),
                    (Some(_), None) => ops.push(Op {
                        kind: OpKind::Remove,
                        path: p,
                        value: None,
                    }),
                    (None, Some(y)) => ops.push(Op {
                        kind: OpKind::Add,
                        path: p,
                        value: Some(y.clone()),
                    }),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let common = a.len().min(b.len());
            for _ in common..a.len() {
                ops.push(Op {
                    kind: OpKind::Remove,
                    path: format!("{ptr}/{common}"),
                    value: None,
                });
            }
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                diff(&format!("{ptr}/{i}"), x, y, ops);
            }
            for y in &b[common..] {
                ops.push(Op {
                    kind: OpKind::Add,
                    path: format!("{ptr}/-"),
                    value: Some(y.clone()),
                });
            }
        }
        _ => {
            ops.push(Op {
                kind: OpKind::Replace,
                path: ptr.to_string(),
                value: Some(tgt.clone()),
            });
            return;
        }
    }
    if ops.len() > start {
        let replace = Op {
            kind: OpKind::Replace,
            path: ptr.to_string(),
            value: Some(tgt.clone()),
        };
        if patch_len(&ops[start..]) > replace.json_len() {
            ops.truncate(start);
            ops.push(replace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn show(ops: &[Op]) -> Vec<String> {
        ops.iter()
            .map(|o| format!("{} {}", o.kind.as_str(), o.path))
            .collect()
    }

    #[test]
    fn objects_in_sorted_key_order() {
        let ops = compare(
            &json!({"b": 1, "a": {"x": 1, "keep": "a long value that is not worth repeating"}, "c": 3}),
            &json!({"a": {"x": 2, "keep": "a long value that is not worth repeating"}, "b": 1, "d": 4}),
        );
        assert_eq!(show(&ops), ["replace /a/x", "remove /c", "add /d"]);
    }

    #[test]
    fn arrays_remove_at_the_cut_and_append_with_dash() {
        let long = "a long string that keeps rationalization away from this array";
        let ops = compare(&json!({"a": [long, 1, 2, 3]}), &json!({"a": [long, 9]}));
        assert_eq!(show(&ops), ["remove /a/2", "remove /a/2", "replace /a/1"]);
        let mut doc = json!({"a": [long, 1, 2, 3]});
        let p: Vec<_> = ops.iter().map(|o| o.to_patch_op().unwrap()).collect();
        json_patch::patch(&mut doc, &p).unwrap();
        assert_eq!(doc, json!({"a": [long, 9]}));
        let ops = compare(&json!({"a": [long]}), &json!({"a": [long, 1, 2]}));
        assert_eq!(show(&ops), ["add /a/-", "add /a/-"]);
    }

    #[test]
    fn rationalizes_many_small_changes_into_one_replace() {
        let ops = compare(
            &json!({"a": {"c": {"1": 1, "2": 2, "3": 3}}}),
            &json!({"a": {"c": {"x": 1, "y": 2, "z": 3}}}),
        );
        assert_eq!(show(&ops), ["replace /a/c"]);
        let ops = compare(&json!([1, 2, 3, 4, 5, 6]), &json!([6, 5, 4, 3, 2, 1]));
        assert_eq!(show(&ops), ["replace "]);
    }

    #[test]
    fn type_changes_replace_and_root_mismatch_adds() {
        assert_eq!(
            show(&compare(&json!({"a": 1}), &json!({"a": "1"}))),
            ["replace /a"]
        );
        assert_eq!(show(&compare(&json!({"a": 1}), &json!([1]))), ["add "]);
        assert!(compare(&json!({"a": [1]}), &json!({"a": [1]})).is_empty());
    }

    #[test]
    fn keys_are_escaped() {
        let ops = compare(
            &json!({"a/b": 1, "keep": "x".repeat(40)}),
            &json!({"a/b": 2, "keep": "x".repeat(40)}),
        );
        assert_eq!(show(&ops), ["replace /a~1b"]);
        assert_eq!(escape_token("~x/"), "~0x~1");
    }

    #[test]
    fn go_html_escapes_count_in_lengths() {
        assert_eq!(value_len(&json!("<&>")), 2 + 18);
        assert_eq!(value_len(&json!({"a": 1})), 7);
    }
}
