//! HelmRelease values (flux-facts §8): the user-supplied values helm-controller composes from
//! `valuesFrom` and `spec.values` ([`compose`], with the origin of every value), Helm's
//! coalesce over chart defaults ([`coalesce`]), structural comparison ([`same`]), a sorted
//! YAML rendering whose lines know which value they show ([`yaml_lines`]) and masking of
//! values that came from Secrets ([`mask`]).

mod merge;
mod render;
mod strvals;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::domain::flux::{HelmRelease, ValuesReference};

pub use merge::{coalesce, same};
pub use render::{YamlLine, mask, yaml_lines};

use strvals::{MapRef, Mode, SetParser, map_from, map_to, merge_maps, new_map};

/// The key read when a reference names none.
pub const DEFAULT_VALUES_KEY: &str = "values.yaml";

/// The ConfigMaps and Secrets of a HelmRelease's namespace that its valuesFrom name, as read:
/// name -> data (Secret data already base64-decoded; a value that is not UTF-8 is an error
/// at read time). A name absent from the map = the object does not exist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `spec.values`.
    Inline,
    /// A `valuesFrom` entry merged at the root.
    Ref {
        kind: String,
        name: String,
        key: String,
    },
    /// A `valuesFrom` entry set at a `targetPath`.
    TargetPath {
        kind: String,
        name: String,
        key: String,
        path: String,
    },
}

impl Origin {
    /// Whether the value came from a Secret.
    pub fn is_secret(&self) -> bool {
        match self {
            Origin::Inline => false,
            Origin::Ref { kind, .. } | Origin::TargetPath { kind, .. } => kind == "Secret",
        }
    }

    /// `spec.values`, `ConfigMap/app-values[values.yaml]`,
    /// `Secret/db[password] → database.password`.
    pub fn label(&self) -> String {
        match self {
            Origin::Inline => "spec.values".to_string(),
            Origin::Ref { kind, name, key } => format!("{kind}/{name}[{key}]"),
            Origin::TargetPath {
                kind,
                name,
                key,
                path,
            } => format!("{kind}/{name}[{key}] → {path}"),
        }
    }
}

/// The user-supplied values of a HelmRelease, as helm-controller passes them to Helm.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Composed {
    pub values: Map<String, Value>,
    /// JSON pointer -> origin of the layer that last set it. Leaves are recorded (a list as a
    /// whole, plus the items a `targetPath` set inside it); an empty map is a leaf.
    pub origins: BTreeMap<String, Origin>,
    /// The `valuesFrom` entries that were read (skipped optional ones not counted).
    pub refs: usize,
}

impl Composed {
    /// The origin of the value at this JSON pointer (longest recorded prefix).
    pub fn origin_of(&self, pointer: &str) -> Option<&Origin> {
        let mut p = pointer;
        loop {
            if let Some(o) = self.origins.get(p) {
                return Some(o);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// "spec.values + 2 valuesFrom", "spec.values", "1 valuesFrom", "no values".
    pub fn describe(&self) -> String {
        let inline = self.origins.values().any(|o| *o == Origin::Inline);
        match (inline, self.refs) {
            (true, 0) => "spec.values".to_string(),
            (true, n) => format!("spec.values + {n} valuesFrom"),
            (false, 0) => "no values".to_string(),
            (false, n) => format!("{n} valuesFrom"),
        }
    }

    /// JSON pointers whose value came from a Secret.
    pub fn secret_pointers(&self) -> Vec<String> {
        self.origins
            .iter()
            .filter(|(_, o)| o.is_secret())
            .map(|(p, _)| p.clone())
            .collect()
    }
}

fn values_key(r: &ValuesReference) -> &str {
    r.values_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .unwrap_or(DEFAULT_VALUES_KEY)
}

fn is_supported(kind: &str) -> bool {
    kind == "ConfigMap" || kind == "Secret"
}

/// The (kind, name) pairs to read, in order, deduplicated.
pub fn references(hr: &HelmRelease) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in &hr.spec.values_from {
        if !is_supported(&r.kind) {
            continue;
        }
        let pair = (r.kind.clone(), r.name.clone());
        if seen.insert(pair.clone()) {
            out.push(pair);
        }
    }
    out
}

/// fluxcd/pkg `ErrValuesReference` as text.
fn reference_error(namespace: &str, r: &ValuesReference, reason: &str) -> String {
    let mut s = String::from("could not resolve");
    if r.optional {
        s.push_str(" optional");
    }
    if !r.kind.is_empty() {
        s.push(' ');
        s.push_str(&r.kind);
    }
    s.push_str(&format!(
        " chart values reference '{namespace}/{}' with key '{}': {reason}",
        r.name,
        values_key(r)
    ));
    s
}

/// The API server's NotFound message for a ConfigMap or Secret.
fn not_found(kind: &str, name: &str) -> String {
    let resource = if kind == "Secret" {
        "secrets"
    } else {
        "configmaps"
    };
    format!("{resource} \"{name}\" not found")
}

/// Helm's `ReadValues` of a referenced key: YAML (a document that is empty or null is an
/// empty map); anything but a map is an error.
fn read_values(data: &str) -> Result<Map<String, Value>, String> {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(data)
        .map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))?;
    doc.apply_merge()
        .map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))?;
    match yaml_to_json(doc)? {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type chartutil.Values",
            go_json_type(&other)
        )),
    }
}

fn go_json_type(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// YAML to JSON the way sigs.k8s.io/yaml converts: scalar keys become strings.
fn yaml_to_json(v: serde_yaml::Value) -> Result<Value, String> {
    Ok(match v {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| {
                        format!("error converting YAML to JSON: json: unsupported value: {f}")
                    })?
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        serde_yaml::Value::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Null => "null".to_string(),
                    _ => {
                        return Err(
                            "error converting YAML to JSON: unsupported map key type".to_string()
                        );
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => yaml_to_json(t.value)?,
    })
}

fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Every leaf of a map as (pointer, value): scalars, lists and empty maps.
fn leaves(prefix: &str, m: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (k, v) in m {
        let p = format!("{prefix}/{}", pointer_segment(k));
        match v {
            Value::Object(inner) if !inner.is_empty() => leaves(&p, inner, out),
            other => out.push((p, other.clone())),
        }
    }
}

/// The origins while composing.
#[derive(Default)]
struct Origins {
    map: BTreeMap<String, Origin>,
    /// targetPath values written into nodes shared with the inline values: merging the
    /// inline values brings them back, still theirs.
    in_inline: BTreeMap<String, Origin>,
}

impl Origins {
    fn record(&mut self, pointer: &str, origin: Origin) {
        let below = format!("{pointer}/");
        self.map.retain(|p, _| !p.starts_with(&below));
        self.map.insert(pointer.to_string(), origin);
    }

    fn record_layer(&mut self, layer: &Map<String, Value>, origin: &Origin) {
        let mut found = Vec::new();
        leaves("", layer, &mut found);
        for (p, _) in found {
            self.record(&p, origin.clone());
        }
    }

    fn record_inline(&mut self, inline: &Map<String, Value>) {
        self.record_layer(inline, &Origin::Inline);
        let root = Value::Object(inline.clone());
        let kept: Vec<(String, Origin)> = self
            .in_inline
            .iter()
            .filter(|(p, _)| root.pointer(p).is_some())
            .map(|(p, o)| (p.clone(), o.clone()))
            .collect();
        for (p, o) in kept {
            self.record(&p, o);
        }
    }

    /// Drop what no longer names a leaf of `values`.
    fn prune(&mut self, values: &Map<String, Value>) {
        let root = Value::Object(values.clone());
        self.map.retain(|p, _| match root.pointer(p) {
            None => false,
            Some(Value::Object(m)) => m.is_empty(),
            Some(_) => true,
        });
    }
}

/// helm-controller's ChartValuesFromReferences; Err = the controller's error message.
pub fn compose(namespace: &str, hr: &HelmRelease, sources: &Sources) -> Result<Composed, String> {
    // The controller reads spec.values as a map and ignores anything else.
    let inline_value = match hr.spec.values.as_ref().map(|v| v.to_value()) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let inline: MapRef = map_from(&inline_value);
    let mut result: MapRef = new_map();
    let mut origins = Origins::default();
    let mut refs = 0usize;
    // Objects found missing once stay missing for the rest of the list (the controller
    // reads each object once per reconcile).
    let mut missing: BTreeSet<(String, String)> = BTreeSet::new();

    for r in &hr.spec.values_from {
        if !is_supported(&r.kind) {
            return Err(reference_error(
                namespace,
                r,
                "unsupported values reference kind",
            ));
        }
        let key = values_key(r).to_string();
        let objects = if r.kind == "Secret" {
            &sources.secrets
        } else {
            &sources.config_maps
        };
        let ident = (r.kind.clone(), r.name.clone());
        let Some(data) = objects.get(&r.name) else {
            if r.optional {
                missing.insert(ident);
                continue;
            }
            let reason = if missing.contains(&ident) {
                "resource not found".to_string()
            } else {
                not_found(&r.kind, &r.name)
            };
            return Err(reference_error(namespace, r, &reason));
        };
        let Some(raw) = data.get(&key) else {
            if r.optional {
                continue;
            }
            return Err(reference_error(namespace, r, "key not found"));
        };
        refs += 1;
        match r.target_path.as_deref().filter(|t| !t.is_empty()) {
            Some(path) => {
                result = merge_maps(&result, &inline);
                origins.record_inline(&map_to(&inline));
                let (line, mode) = if r.literal {
                    (format!("{path}={raw}"), Mode::Literal)
                } else {
                    let single = raw.starts_with('\'') && raw.ends_with('\'');
                    let double = raw.starts_with('"') && raw.ends_with('"');
                    if single || double {
                        let trimmed = raw.trim_matches(['\'', '"']);
                        (format!("{path}={trimmed}"), Mode::String)
                    } else {
                        (format!("{path}={raw}"), Mode::Typed)
                    }
                };
                let mut parser = SetParser::new(&line, mode);
                parser
                    .parse_into(&result)
                    .map_err(|e| reference_error(namespace, r, &e))?;
                let origin = Origin::TargetPath {
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                    key: key.clone(),
                    path: path.to_string(),
                };
                let now = Value::Object(map_to(&result));
                let inline_now = Value::Object(map_to(&inline));
                for p in &parser.written {
                    origins.record(p, origin.clone());
                    if let (Some(a), Some(b)) = (now.pointer(p), inline_now.pointer(p))
                        && a == b
                    {
                        origins.in_inline.insert(p.clone(), origin.clone());
                    }
                }
                if let Value::Object(m) = &now {
                    origins.prune(m);
                }
            }
            None => {
                let layer = read_values(raw).map_err(|e| reference_error(namespace, r, &e))?;
                result = merge_maps(&result, &map_from(&layer));
                origins.record_layer(
                    &layer,
                    &Origin::Ref {
                        kind: r.kind.clone(),
                        name: r.name.clone(),
                        key: key.clone(),
                    },
                );
                origins.prune(&map_to(&result));
            }
        }
    }
    result = merge_maps(&result, &inline);
    origins.record_inline(&map_to(&inline));
    let values = map_to(&result);
    origins.prune(&values);
    Ok(Composed {
        values,
        origins: origins.map,
        refs,
    })
}

#[cfg(test)]
mod tests;
