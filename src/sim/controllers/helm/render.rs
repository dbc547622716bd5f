//! Chart rendering for the simulated helm-controller. Templates are YAML text with tiny
//! placeholders: `{{ .Values.a.b }}`, `{{ .Release.Name }}`, `{{ .Release.Namespace }}`,
//! `{{ .Chart.Name }}`, `{{ .Chart.Version }}`, `{{ .Chart.AppVersion }}`, optionally piped
//! through `| quote` or `| default <literal>`. Maps and lists render as JSON (valid YAML);
//! a missing value renders as nothing.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::sim::scenario::ChartSpec;

/// Coalesce user values over chart defaults (maps merge, user wins, `null` deletes).
pub fn coalesce(defaults: &Map<String, Value>, user: &Map<String, Value>) -> Map<String, Value> {
    let mut out = defaults.clone();
    for (k, v) in user {
        match (out.get_mut(k), v) {
            (_, Value::Null) => {
                out.remove(k);
            }
            (Some(Value::Object(d)), Value::Object(u)) => {
                let merged = coalesce(d, u);
                *d = merged;
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

fn placeholder() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{\{-?\s*([^}]*?)\s*-?\}\}").ok())
        .as_ref()
}

fn lookup<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut cur: Option<&Value> = None;
    for (i, part) in path.split('.').filter(|p| !p.is_empty()).enumerate() {
        cur = if i == 0 {
            root.get(part)
        } else {
            cur?.get(part)
        };
        cur?;
    }
    cur
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The rendered release: the manifest text (`---\n# Source: <chart>/<template>\n...`) and
/// the objects, with namespace-less objects left as they are.
pub struct Rendered {
    pub manifest: String,
    pub objects: Vec<Value>,
}

/// Render a chart with computed values.
pub fn render(
    chart: &ChartSpec,
    release_name: &str,
    release_ns: &str,
    values: &Map<String, Value>,
) -> Result<Rendered, String> {
    let mut manifest = String::new();
    let mut objects = Vec::new();
    for t in &chart.templates {
        let Some(re) = placeholder() else {
            return Err("template engine unavailable".to_string());
        };
        let text = re.replace_all(&t.content, |caps: &regex::Captures<'_>| {
            let expr = caps.get(1).map_or("", |m| m.as_str());
            let mut parts = expr.split('|').map(str::trim);
            let head = parts.next().unwrap_or_default();
            let mut val: Option<Value> = if let Some(p) = head.strip_prefix(".Values.") {
                lookup(values, p).cloned()
            } else {
                match head {
                    ".Release.Name" => Some(Value::String(release_name.into())),
                    ".Release.Namespace" => Some(Value::String(release_ns.into())),
                    ".Chart.Name" => Some(Value::String(chart.name.clone())),
                    ".Chart.Version" => Some(Value::String(chart.version.clone())),
                    ".Chart.AppVersion" => Some(Value::String(chart.app_version.clone())),
                    _ => None,
                }
            };
            let mut quote = false;
            for f in parts {
                if f == "quote" {
                    quote = true;
                } else if let Some(d) = f.strip_prefix("default ")
                    && val.as_ref().is_none_or(|v| v.is_null() || v == "")
                {
                    let d = d.trim().trim_matches('"');
                    val = Some(serde_yaml::from_str(d).unwrap_or(Value::String(d.into())));
                }
            }
            let v = val.unwrap_or(Value::Null);
            if quote {
                Value::String(scalar(&v)).to_string()
            } else {
                scalar(&v)
            }
        });
        let body = text.trim_end();
        manifest.push_str(&format!(
            "---\n# Source: {}/{}\n{body}\n",
            chart.name, t.name
        ));
        for doc in body.split("\n---") {
            let parsed: Value = serde_yaml::from_str(doc)
                .map_err(|e| format!("YAML parse error on {}/{}: {e}", chart.name, t.name))?;
            if parsed.is_object() {
                objects.push(parsed);
            }
        }
    }
    Ok(Rendered { manifest, objects })
}

/// Split a stored manifest back into objects.
pub fn manifest_objects(manifest: &str) -> Vec<Value> {
    manifest
        .split("\n---")
        .filter_map(|doc| serde_yaml::from_str::<Value>(doc.trim_start_matches("---")).ok())
        .filter(Value::is_object)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::TemplateSpec;
    use serde_json::json;

    #[test]
    fn renders_placeholders() {
        let chart = ChartSpec {
            name: "app".into(),
            version: "1.0.0".into(),
            app_version: "1.0".into(),
            templates: vec![TemplateSpec {
                name: "templates/cm.yaml".into(),
                content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  n: {{ .Values.n | quote }}\n  m: {{ .Values.missing | default \"x\" }}\n  obj: '{{ .Values.obj }}'\n".into(),
            }],
            ..Default::default()
        };
        let vals = json!({"n": 3, "obj": {"a": 1}})
            .as_object()
            .unwrap()
            .clone();
        let r = render(&chart, "rel", "ns", &vals).unwrap();
        assert_eq!(r.objects[0]["metadata"]["name"], "rel");
        assert_eq!(r.objects[0]["data"]["n"], "3");
        assert_eq!(r.objects[0]["data"]["m"], "x");
        assert!(
            r.manifest
                .starts_with("---\n# Source: app/templates/cm.yaml\n")
        );
        assert_eq!(manifest_objects(&r.manifest), r.objects);
    }

    #[test]
    fn coalesce_user_wins_and_null_deletes() {
        let d = json!({"a": {"x": 1, "y": 2}, "b": 1})
            .as_object()
            .unwrap()
            .clone();
        let u = json!({"a": {"x": 5, "y": null}})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            Value::Object(coalesce(&d, &u)),
            json!({"a": {"x": 5}, "b": 1})
        );
    }
}
