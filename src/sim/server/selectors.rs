//! Label and field selectors as a real API server parses them: `=`, `==`, `!=`, `in`,
//! `notin`, `key`, `!key` (and `>`/`<` on integers) for labels; `=`, `==`, `!=` on a fixed set
//! of fields. A comma means AND.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Exists,
    NotExists,
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Gt(i64),
    Lt(i64),
}

#[derive(Clone, Debug, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

fn valid_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
    });
    name_ok && prefix_ok
}

fn valid_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Split on commas that are not inside parentheses.
fn split_terms(s: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced parentheses in selector {s:?}"));
                }
            }
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced parentheses in selector {s:?}"));
    }
    out.push(&s[start..]);
    Ok(out)
}

fn parse_set(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set of values, got {s:?}"))?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    if let Some(bad) = values.iter().find(|v| !valid_value(v)) {
        return Err(format!("invalid label value: {bad:?}"));
    }
    Ok(values)
}

fn parse_term(t: &str) -> Result<Requirement, String> {
    let t = t.trim();
    if t.is_empty() {
        return Err("found empty requirement in selector".to_string());
    }
    let key_err = |k: &str| format!("invalid label key {k:?}");
    if let Some(k) = t.strip_prefix('!') {
        let k = k.trim();
        return if valid_key(k) {
            Ok(Requirement {
                key: k.to_string(),
                op: Op::NotExists,
            })
        } else {
            Err(key_err(k))
        };
    }
    // Set-based: `key in (..)`, `key notin (..)`.
    let mut words = t.splitn(2, char::is_whitespace);
    let first = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start();
    for (kw, notin) in [("in", false), ("notin", true)] {
        if let Some(set) = rest.strip_prefix(kw)
            && set.trim_start().starts_with('(')
        {
            if !valid_key(first) {
                return Err(key_err(first));
            }
            let values = parse_set(set)?;
            let op = if notin {
                Op::NotIn(values)
            } else {
                Op::In(values)
            };
            return Ok(Requirement {
                key: first.to_string(),
                op,
            });
        }
    }
    for (sym, kind) in [("==", 0), ("!=", 1), ("=", 0), (">", 2), ("<", 3)] {
        if let Some((k, v)) = t.split_once(sym) {
            let (k, v) = (k.trim(), v.trim());
            if !valid_key(k) {
                return Err(key_err(k));
            }
            let op = match kind {
                0 | 1 => {
                    if !valid_value(v) {
                        return Err(format!("invalid label value: {v:?}"));
                    }
                    if kind == 0 {
                        Op::Eq(v.to_string())
                    } else {
                        Op::NotEq(v.to_string())
                    }
                }
                _ => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("for '{sym}' the value must be an integer: {v:?}"))?;
                    if kind == 2 { Op::Gt(n) } else { Op::Lt(n) }
                }
            };
            return Ok(Requirement {
                key: k.to_string(),
                op,
            });
        }
    }
    if valid_key(t) {
        Ok(Requirement {
            key: t.to_string(),
            op: Op::Exists,
        })
    } else {
        Err(format!("unable to parse requirement: {t:?}"))
    }
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        split_terms(s)?
            .into_iter()
            .map(parse_term)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an object's labels match.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        self.0.iter().all(|r| {
            let v = labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str);
            match &r.op {
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
                Op::Eq(x) => v == Some(x.as_str()),
                Op::NotEq(x) => v != Some(x.as_str()),
                Op::In(set) => v.is_some_and(|v| set.iter().any(|x| x == v)),
                Op::NotIn(set) => v.is_none_or(|v| !set.iter().any(|x| x == v)),
                Op::Gt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Op::Lt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }
}

/// A parsed field selector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// The fields a resource can be selected by.
fn supported_field(plural: &str, field: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || match plural {
            "events" => {
                matches!(
                    field,
                    "involvedObject.kind"
                        | "involvedObject.name"
                        | "involvedObject.namespace"
                        | "involvedObject.uid"
                        | "involvedObject.apiVersion"
                        | "involvedObject.resourceVersion"
                        | "involvedObject.fieldPath"
                        | "reason"
                        | "reportingComponent"
                        | "source"
                        | "type"
                )
            }
            "secrets" => field == "type",
            "pods" => matches!(field, "spec.nodeName" | "status.phase"),
            _ => false,
        }
}

impl FieldSelector {
    /// Parse a field selector for a resource (by plural); unknown fields are errors.
    pub fn parse(s: &str, plural: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        let mut out = Vec::new();
        for term in s.split(',') {
            let (field, eq, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!("invalid selector: {term:?}; can't understand it"));
            };
            let field = field.trim();
            if !supported_field(plural, field) {
                return Err(format!("field label not supported: {field}"));
            }
            out.push((field.to_string(), eq, value.trim().to_string()));
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name an equality term on `metadata.name` asks for.
    pub fn name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, eq, _)| *eq && f == "metadata.name")
            .map(|(_, _, v)| v.as_str())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, want)| {
            let got = field_value(obj, field);
            (got == *want) == *eq
        })
    }
}

fn field_value(obj: &Value, field: &str) -> String {
    let v = if field == "source" {
        obj.pointer("/source/component")
    } else {
        let mut cur = Some(obj);
        for part in field.split('.') {
            cur = cur.and_then(|c| c.get(part));
        }
        cur
    };
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "n", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn label_selectors() {
        let o = obj(json!({"owner": "helm", "name": "web", "n": "5"}));
        let yes = [
            "",
            "owner=helm",
            "owner==helm,name=web",
            "owner!=x",
            "owner in (helm, x)",
            "name notin (db)",
            "owner",
            "!missing",
            "n>3",
            "n<6",
            "missing notin (a)",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&o), "{s}");
        }
        let no = [
            "owner=x",
            "owner in (a,b)",
            "name notin (web)",
            "missing",
            "!owner",
            "n>5",
            "owner=helm,name=db",
        ];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&o), "{s}");
        }
        for bad in ["a=(", "=x", "a in (b", "a>x", ",", "a b c", "a=b c", "-x=1"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_selectors() {
        let ev = json!({"metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {"kind": "HelmRelease", "name": "web", "namespace": "ns", "uid": "u1"},
            "reason": "Ready", "type": "Normal", "source": {"component": "helm-controller"}});
        let yes = [
            "metadata.name=e",
            "involvedObject.kind=HelmRelease,involvedObject.name==web",
            "involvedObject.uid!=u2",
            "source=helm-controller",
            "type=Normal",
        ];
        for s in yes {
            assert!(
                FieldSelector::parse(s, "events").unwrap().matches(&ev),
                "{s}"
            );
        }
        assert!(
            !FieldSelector::parse("involvedObject.name=db", "events")
                .unwrap()
                .matches(&ev)
        );
        assert!(FieldSelector::parse("involvedObject.name=x", "configmaps").is_err());
        assert!(FieldSelector::parse("spec.x=1", "configmaps").is_err());
        assert!(FieldSelector::parse("metadata.name", "configmaps").is_err());
        assert_eq!(
            FieldSelector::parse("metadata.name=a", "configmaps")
                .unwrap()
                .name(),
            Some("a")
        );
    }

    proptest! {
        #[test]
        fn label_selector_never_panics(s in "\\PC{0,60}") {
            if let Ok(sel) = LabelSelector::parse(&s) {
                let _ = sel.matches(&obj(json!({"a": "b"})));
            }
        }

        #[test]
        fn label_selector_grammar(s in "[a-z!=(), ]{0,30}|[a-z]{1,5}( in | notin )\\([a-z,]{0,10}\\)") {
            let _ = LabelSelector::parse(&s);
        }

        #[test]
        fn field_selector_never_panics(s in "\\PC{0,60}") {
            if let Ok(sel) = FieldSelector::parse(&s, "events") {
                let _ = sel.matches(&json!({}));
            }
        }

        #[test]
        fn equality_selector_matches_own_label(k in "[a-z][a-z0-9]{0,8}", v in "[a-z0-9]{0,8}") {
            let o = obj(json!({k.clone(): v.clone()}));
            let sel = LabelSelector::parse(&format!("{k}={v}")).unwrap();
            prop_assert!(sel.matches(&o));
            let sel = LabelSelector::parse(&format!("{k}!={v}")).unwrap();
            prop_assert!(!sel.matches(&o));
        }
    }
}
