//! Drift of a Helm release's objects against the cluster, computed as helm-controller does
//! (flux-facts §7): ignore rules select JSON pointers per object, the
//! `helm.toolkit.fluxcd.io/driftDetection: disabled` label or annotation excludes an object,
//! and a server-side apply dry-run result is compared with the live object through two JSON
//! patches — labels and annotations (additions and changes only) and the body without
//! `metadata` and `status` (all operations). The counts and the summary text are the
//! controller's.
//!
//! [`compare_approximate`] serves when no dry-run is possible: only the fields the manifest
//! object sets are compared.

mod jsondiff;

#[cfg(test)]
mod tests;

use regex::Regex;
use serde_json::{Map, Value};

use crate::domain::flux::{DriftIgnoreRule, DriftIgnoreTarget};
use crate::domain::label_selector::LabelSelector;

pub use jsondiff::{Op, OpKind};

/// Label or annotation that excludes an object from drift detection.
pub const DRIFT_DETECTION_KEY: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// The value of [`DRIFT_DETECTION_KEY`] that excludes (compared case-insensitively).
pub const DRIFT_DETECTION_DISABLED: &str = "disabled";

/// Metadata fields the API server sets; removed from both sides of a comparison so that the
/// side-by-side shows only what the release controls.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The drift of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectDrift {
    None,
    /// Counts of the JSON patch operations `add`, `replace` and `remove`.
    Changed {
        additions: usize,
        changes: usize,
        removals: usize,
    },
    /// Missing from the cluster.
    Removed,
    /// Excluded by label/annotation or by an ignore rule for the whole object.
    Excluded,
}

impl ObjectDrift {
    /// Whether this counts as drift (changed or removed).
    pub fn is_drift(&self) -> bool {
        matches!(self, Self::Changed { .. } | Self::Removed)
    }
}

/// One object's comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectReport {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub drift: ObjectDrift,
    /// Normalized live object (status and server-set metadata removed, ignored pointers
    /// removed); None when missing. In approximate mode only the fields the manifest sets.
    pub live: Option<Value>,
    /// Normalized desired object (dry-run result, or in approximate mode the manifest object).
    pub desired: Value,
    /// The JSON patch ops live -> desired (for the details), e.g. `replace /spec/replicas`.
    pub ops: Vec<String>,
}

impl ObjectReport {
    /// `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    /// The controller's summary line for this object.
    pub fn line(&self) -> String {
        let id = self.id();
        match &self.drift {
            ObjectDrift::None => format!("{id} unchanged"),
            ObjectDrift::Removed => format!("{id} removed"),
            ObjectDrift::Excluded => format!("{id} excluded"),
            ObjectDrift::Changed {
                additions,
                changes,
                removals,
            } => format!(
                "{id} changed ({additions} additions, {changes} changes, {removals} removals)"
            ),
        }
    }

    /// The JSON patch that turns the live object into the desired one (what drift correction
    /// applies). Empty unless the object changed. The paths are those of the live object only
    /// for reports from [`compare`]; in approximate mode lists matched by name may be
    /// reordered.
    pub fn patch(&self) -> Result<json_patch::Patch, String> {
        match (&self.drift, &self.live) {
            (ObjectDrift::Changed { .. }, Some(live)) => {
                json_patch_of(&patch_ops(live, &self.desired))
            }
            _ => Ok(json_patch::Patch(Vec::new())),
        }
    }
}

/// Ops as a `json_patch::Patch`.
pub fn json_patch_of(ops: &[Op]) -> Result<json_patch::Patch, String> {
    ops.iter()
        .map(Op::to_patch_op)
        .collect::<Result<Vec<_>, _>>()
        .map(json_patch::Patch)
}

fn anchored(field: &str, pattern: Option<&str>) -> Result<Option<Regex>, String> {
    match pattern {
        None | Some("") => Ok(None),
        Some(p) => Regex::new(&format!("^(?:{p})$"))
            .map(Some)
            .map_err(|e| format!("invalid {field} regex {p:?}: {e}")),
    }
}

fn selector(field: &str, s: Option<&str>) -> Result<Option<LabelSelector>, String> {
    match s {
        None | Some("") => Ok(None),
        Some(s) => LabelSelector::parse(s)
            .map(Some)
            .map_err(|e| format!("invalid {field} selector {s:?}: {e}")),
    }
}

/// A compiled rule target.
struct Target {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

impl Target {
    fn compile(t: &DriftIgnoreTarget) -> Result<Self, String> {
        Ok(Self {
            group: anchored("group", t.group.as_deref())?,
            version: anchored("version", t.version.as_deref())?,
            kind: anchored("kind", t.kind.as_deref())?,
            name: anchored("name", t.name.as_deref())?,
            namespace: anchored("namespace", t.namespace.as_deref())?,
            labels: selector("label", t.label_selector.as_deref())?,
            annotations: selector("annotation", t.annotation_selector.as_deref())?,
        })
    }

    fn matches(&self, obj: &Value) -> bool {
        let api = str_at(obj, "/apiVersion");
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
        let is = |r: &Option<Regex>, v: &str| r.as_ref().is_none_or(|r| r.is_match(v));
        let meta = |k: &str| {
            obj.pointer(&format!("/metadata/{k}"))
                .and_then(Value::as_object)
        };
        is(&self.namespace, str_at(obj, "/metadata/namespace"))
            && is(&self.name, str_at(obj, "/metadata/name"))
            && is(&self.group, group)
            && is(&self.version, version)
            && is(&self.kind, str_at(obj, "/kind"))
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches_map(meta("labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches_map(meta("annotations")))
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

/// Ignore rules (driftDetection.ignore) that apply to an object; Err on a bad regex/selector.
/// The paths of every matching rule, in rule order; a rule without target matches all.
pub fn ignored_pointers(rules: &[DriftIgnoreRule], obj: &Value) -> Result<Vec<String>, String> {
    let compiled = rules
        .iter()
        .map(|r| r.target.as_ref().map(Target::compile).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rules
        .iter()
        .zip(compiled)
        .filter(|(_, t)| t.as_ref().is_none_or(|t| t.matches(obj)))
        .flat_map(|(r, _)| r.paths.iter().cloned())
        .collect())
}

/// Whether the label or annotation [`DRIFT_DETECTION_KEY`] is `disabled` (any case).
fn disabled_in_metadata(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|m| {
        obj.pointer(&format!("/metadata/{m}"))
            .and_then(|v| v.get(DRIFT_DETECTION_KEY))
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(DRIFT_DETECTION_DISABLED))
    })
}

/// Excluded by label/annotation helm.toolkit.fluxcd.io/driftDetection: disabled (desired or
/// live), or by an ignore rule with path "".
pub fn is_excluded(desired: &Value, live: Option<&Value>, ignored: &[String]) -> bool {
    disabled_in_metadata(desired)
        || live.is_some_and(disabled_in_metadata)
        || ignored.iter().any(String::is_empty)
}

/// A copy without `status` and without the metadata the API server sets.
pub fn normalize(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.shift_remove("status");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for k in SERVER_METADATA {
                meta.shift_remove(*k);
            }
        }
    }
    v
}

/// Remove the value at a JSON pointer (RFC 6901, `~1` = `/`, `~0` = `~`). A path that does
/// not exist is not an error (as the controller applies its removals); a pointer that does
/// not start with `/`, or that indexes an array with something other than an integer, is.
/// Negative indices count from the end of an array.
pub fn remove_pointer(v: &mut Value, ptr: &str) -> Result<(), String> {
    if ptr.is_empty() {
        return Ok(());
    }
    let Some(rest) = ptr.strip_prefix('/') else {
        return Err(format!("invalid JSON pointer {ptr:?}: must start with '/'"));
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return Ok(());
    };
    let mut cur = v;
    for t in parents {
        let next = match cur {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(()),
        }
    }
    match cur {
        Value::Object(m) => {
            m.shift_remove(last);
        }
        Value::Array(a) => {
            let i: i64 = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?} in JSON pointer {ptr:?}"))?;
            let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
            let i = if i < 0 { i + len } else { i };
            if (0..len).contains(&i)
                && let Ok(i) = usize::try_from(i)
            {
                a.remove(i);
            }
        }
        _ => {}
    }
    Ok(())
}

fn labels_and_annotations(v: &Value) -> Value {
    let mut meta = Map::new();
    for k in ["annotations", "labels"] {
        if let Some(x) = v.pointer(&format!("/metadata/{k}")) {
            meta.insert(k.to_string(), x.clone());
        }
    }
    let mut out = Map::new();
    if !meta.is_empty() {
        out.insert("metadata".to_string(), Value::Object(meta));
    }
    Value::Object(out)
}

fn body(v: &Value) -> Value {
    let mut b = v.clone();
    if let Some(m) = b.as_object_mut() {
        m.shift_remove("metadata");
        m.shift_remove("status");
    }
    b
}

/// The controller's patch from live to desired: labels and annotations (add and replace
/// only, so labels other controllers add are not drift), then the body without `metadata`
/// and `status` (all operations).
pub fn patch_ops(live: &Value, desired: &Value) -> Vec<Op> {
    let mut ops: Vec<Op> = jsondiff::compare(
        &labels_and_annotations(live),
        &labels_and_annotations(desired),
    )
    .into_iter()
    .filter(|o| o.kind != OpKind::Remove)
    .collect();
    ops.extend(jsondiff::compare(&body(live), &body(desired)));
    ops
}

fn report(
    desired: &Value,
    drift: ObjectDrift,
    live: Option<Value>,
    shown: Value,
    ops: &[Op],
) -> ObjectReport {
    let namespace = str_at(desired, "/metadata/namespace");
    ObjectReport {
        kind: str_at(desired, "/kind").to_string(),
        namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
        name: str_at(desired, "/metadata/name").to_string(),
        drift,
        live,
        desired: shown,
        ops: ops
            .iter()
            .map(|o| {
                let path = if o.path.is_empty() { "\"\"" } else { &o.path };
                format!("{} {path}", o.kind.as_str())
            })
            .collect(),
    }
}

fn counted(ops: &[Op]) -> ObjectDrift {
    if ops.is_empty() {
        return ObjectDrift::None;
    }
    let n = |k: OpKind| ops.iter().filter(|o| o.kind == k).count();
    ObjectDrift::Changed {
        additions: n(OpKind::Add),
        changes: n(OpKind::Replace),
        removals: n(OpKind::Remove),
    }
}

/// Both sides normalized and with the ignored pointers removed, then compared.
fn finish(
    desired: &Value,
    mut live: Value,
    mut shown: Value,
    ignored: &[String],
) -> Result<ObjectReport, String> {
    for p in ignored {
        remove_pointer(&mut shown, p)?;
        remove_pointer(&mut live, p)?;
    }
    let ops = patch_ops(&live, &shown);
    Ok(report(desired, counted(&ops), Some(live), shown, &ops))
}

/// The outcome before any comparison: excluded or missing.
fn early(desired: &Value, live: Option<&Value>, ignored: &[String]) -> Option<ObjectReport> {
    if is_excluded(desired, live, ignored) {
        return Some(report(
            desired,
            ObjectDrift::Excluded,
            live.map(normalize),
            normalize(desired),
            &[],
        ));
    }
    if live.is_none() {
        return Some(report(
            desired,
            ObjectDrift::Removed,
            None,
            normalize(desired),
            &[],
        ));
    }
    None
}

/// Compare the dry-run result with the live object, as the controller does. A dry-run
/// result without `metadata.resourceVersion` (or no dry-run, or no live object) means the
/// object is missing from the cluster: [`ObjectDrift::Removed`].
pub fn compare(
    desired: &Value,
    dry_run: Option<&Value>,
    live: Option<&Value>,
    rules: &[DriftIgnoreRule],
) -> Result<ObjectReport, String> {
    let ignored = ignored_pointers(rules, desired)?;
    if let Some(r) = early(desired, live, &ignored) {
        return Ok(r);
    }
    let exists = dry_run.filter(|d| !str_at(d, "/metadata/resourceVersion").is_empty());
    match (exists, live) {
        (Some(dry), Some(live)) => finish(desired, normalize(live), normalize(dry), &ignored),
        _ => Ok(report(
            desired,
            ObjectDrift::Removed,
            live.map(normalize),
            normalize(desired),
            &[],
        )),
    }
}

/// Approximate: only the fields the manifest object sets are compared.
///
/// The live object is projected onto the manifest's fields: maps recursively, lists whole,
/// except lists whose items are all maps with a `name`, whose items are matched by name (a
/// manifest item missing from the live list shows as `null` there). Everything else in the
/// live object is left out, so nothing else is marked.
pub fn compare_approximate(
    desired: &Value,
    live: Option<&Value>,
    rules: &[DriftIgnoreRule],
) -> Result<ObjectReport, String> {
    let ignored = ignored_pointers(rules, desired)?;
    if let Some(r) = early(desired, live, &ignored) {
        return Ok(r);
    }
    let shown = normalize(desired);
    let live = live.map(normalize).unwrap_or(Value::Null);
    let projected = project(&live, &shown);
    finish(desired, projected, shown, &ignored)
}

fn item_name(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// `live` restricted to the fields `desired` sets.
fn project(live: &Value, desired: &Value) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => Value::Object(
            d.iter()
                .filter_map(|(k, dv)| l.get(k).map(|lv| (k.clone(), project(lv, dv))))
                .collect(),
        ),
        (Value::Array(l), Value::Array(d))
            if !d.is_empty() && d.iter().all(|x| x.is_object() && item_name(x).is_some()) =>
        {
            Value::Array(
                d.iter()
                    .map(|dv| {
                        l.iter()
                            .find(|lv| lv.is_object() && item_name(lv) == item_name(dv))
                            .map_or(Value::Null, |lv| project(lv, dv))
                    })
                    .collect(),
            )
        }
        _ => live.clone(),
    }
}

/// "Cluster state of release ns/name.vN has drifted from the desired state:\n<lines>" with a
/// line for every changed, removed or excluded object; None when nothing drifted.
pub fn summary(release: &str, reports: &[ObjectReport]) -> Option<String> {
    if !reports.iter().any(|r| r.drift.is_drift()) {
        return None;
    }
    let lines: Vec<String> = reports
        .iter()
        .filter(|r| r.drift != ObjectDrift::None)
        .map(ObjectReport::line)
        .collect();
    Some(format!(
        "Cluster state of release {release} has drifted from the desired state:\n{}",
        lines.join("\n")
    ))
}

/// One object line of a drift summary (the `Drifted` condition's message): the object's
/// kind, namespace (empty when cluster-scoped) and name, and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriftedObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `changed (0 additions, 1 changes, 0 removals)`, `removed` or `excluded`.
    pub what: String,
}

impl DriftedObject {
    /// Changed or removed (an excluded object did not drift).
    pub fn drifted(&self) -> bool {
        !self.what.starts_with("excluded")
    }
}

/// The object lines of a drift summary: `<Kind>/<ns>/<name> <what>` or, cluster-scoped,
/// `<Kind>/<name> <what>`; the preamble and anything else are skipped.
pub fn drifted_objects(message: &str) -> Vec<DriftedObject> {
    message
        .lines()
        .filter_map(|line| {
            let (id, what) = line.trim().split_once(' ')?;
            let what = what.trim();
            let known = ["changed", "removed", "excluded"];
            if !known.iter().any(|k| what.starts_with(k)) {
                return None;
            }
            let parts: Vec<&str> = id.split('/').collect();
            let (kind, namespace, name) = match parts.as_slice() {
                [kind, ns, name] => (*kind, *ns, *name),
                [kind, name] => (*kind, "", *name),
                _ => return None,
            };
            if kind.is_empty() || name.is_empty() {
                return None;
            }
            Some(DriftedObject {
                kind: kind.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
                what: what.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod summary_lines {
    use super::*;

    #[test]
    fn object_lines_of_a_drift_summary() {
        let message = "Cluster state of release apps/web.v3 has drifted from the desired state:\n\
                       Deployment/apps/web changed (0 additions, 2 changes, 1 removals)\n\
                       ConfigMap/apps/web-config removed\n\
                       ClusterRole/web-reader excluded\n\
                       something else entirely";
        let found = drifted_objects(message);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found[0],
            DriftedObject {
                kind: "Deployment".into(),
                namespace: "apps".into(),
                name: "web".into(),
                what: "changed (0 additions, 2 changes, 1 removals)".into(),
            }
        );
        assert!(found[0].drifted() && found[1].drifted());
        assert_eq!(found[1].what, "removed");
        assert_eq!(
            (found[2].namespace.as_str(), found[2].drifted()),
            ("", false)
        );
        assert!(drifted_objects("No drift detected against the cluster state").is_empty());
    }
}
