//! Label and field selectors as a real API server parses them. Label selectors are the
//! domain's ([`LabelSelector`]); field selectors take `=`, `==`, `!=` on a fixed set of fields
//! per resource. A comma means AND.

use serde_json::Value;

pub use crate::domain::label_selector::LabelSelector;

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
        fn field_selector_never_panics(s in "\\PC{0,60}") {
            if let Ok(sel) = FieldSelector::parse(&s, "events") {
                let _ = sel.matches(&json!({}));
            }
        }
    }
}
