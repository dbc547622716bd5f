//! Label selectors in Kubernetes syntax, as the API server (and `labels.Parse`) reads them:
//! `=`, `==`, `!=`, `in (…)`, `notin (…)`, `key`, `!key`, and `>`/`<` on integers. A comma
//! means AND. Used for list requests and for the `labelSelector`/`annotationSelector` of
//! drift ignore rules (which match annotations with the same syntax).

use serde_json::{Map, Value};

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
        self.matches_map(obj.pointer("/metadata/labels").and_then(Value::as_object))
    }

    /// Whether a set of key/value pairs (labels or annotations; absent = empty) matches.
    /// Values that are not strings count as absent.
    pub fn matches_map(&self, labels: Option<&Map<String, Value>>) -> bool {
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
    fn matches_a_plain_map() {
        let sel = LabelSelector::parse("a=b,!c").unwrap();
        let m = json!({"a": "b"});
        assert!(sel.matches_map(m.as_object()));
        assert!(!sel.matches_map(json!({"a": "b", "c": "x"}).as_object()));
        assert!(!sel.matches_map(None));
        assert!(LabelSelector::parse("!c").unwrap().matches_map(None));
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
        fn equality_selector_matches_own_label(k in "[a-z][a-z0-9]{0,8}", v in "[a-z0-9]{0,8}") {
            let o = obj(json!({k.clone(): v.clone()}));
            let sel = LabelSelector::parse(&format!("{k}={v}")).unwrap();
            prop_assert!(sel.matches(&o));
            let sel = LabelSelector::parse(&format!("{k}!={v}")).unwrap();
            prop_assert!(!sel.matches(&o));
        }
    }
}
