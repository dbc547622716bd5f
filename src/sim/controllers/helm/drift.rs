//! Drift detection and correction (helm-controller §7): the desired objects of the latest
//! record are merged onto the live ones as a server-side apply dry-run would, ignored JSON
//! pointers are removed from both, and a JSON patch from live to desired is counted.

use regex::Regex;
use serde_json::{Value, json};

use crate::sim::controllers::conditions::s;
use crate::sim::scenario::object_identity;
use crate::sim::server::merge::apply_merge;
use crate::sim::store::{Store, WriteOpts, WritePart};

/// One object's drift.
pub struct Drift {
    pub object: Value,
    pub line: String,
    /// `None` when the object is missing from the cluster.
    pub patch: Option<json_patch::Patch>,
}

fn matches(pattern: Option<&str>, value: &str) -> bool {
    match pattern {
        None | Some("") => true,
        Some(p) => Regex::new(&format!("^(?:{p})$")).is_ok_and(|r| r.is_match(value)),
    }
}

fn ignored_paths(rules: &Value, obj: &Value) -> Vec<String> {
    let api = s(obj, "/apiVersion");
    let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
    let mut out = Vec::new();
    for r in rules.as_array().into_iter().flatten() {
        let t = r.get("target");
        let f = |k: &str| t.and_then(|t| t.get(k)).and_then(Value::as_str);
        if matches(f("group"), group)
            && matches(f("version"), version)
            && matches(f("kind"), s(obj, "/kind"))
            && matches(f("name"), s(obj, "/metadata/name"))
            && matches(f("namespace"), s(obj, "/metadata/namespace"))
        {
            out.extend(
                r["paths"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(String::from)),
            );
        }
    }
    out
}

fn remove_pointer(v: &mut Value, ptr: &str) {
    if let Some((parent, last)) = ptr.rsplit_once('/') {
        let last = last.replace("~1", "/").replace("~0", "~");
        let target = if parent.is_empty() {
            Some(&mut *v)
        } else {
            v.pointer_mut(parent)
        };
        match target {
            Some(Value::Object(m)) => {
                m.remove(&last);
            }
            Some(Value::Array(a)) => {
                if let Ok(i) = last.parse::<usize>()
                    && i < a.len()
                {
                    a.remove(i);
                }
            }
            _ => {}
        }
    }
}

fn body(v: &Value) -> Value {
    let mut b = v.clone();
    if let Some(m) = b.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    b
}

fn meta_part(v: &Value) -> Value {
    json!({"metadata": {
        "labels": v.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
        "annotations": v.pointer("/metadata/annotations").cloned().unwrap_or(json!({}))}})
}

/// Compare desired objects with the live cluster.
pub fn detect(store: &Store, desired: &[Value], rules: &Value) -> Vec<Drift> {
    let mut out = Vec::new();
    for d in desired {
        if s(d, "/metadata/labels/helm.toolkit.fluxcd.io~1driftDetection")
            .eq_ignore_ascii_case("disabled")
        {
            continue;
        }
        let Ok((res, key)) = object_identity(d) else {
            continue;
        };
        let kind = s(d, "/kind");
        let name = if key.namespace.is_empty() {
            format!("{kind}/{}", key.name)
        } else {
            format!("{kind}/{}/{}", key.namespace, key.name)
        };
        let Some(live) = store.get(&res, &key) else {
            out.push(Drift {
                object: d.clone(),
                line: format!("{name} removed"),
                patch: None,
            });
            continue;
        };
        let mut dry = apply_merge(&live, d);
        let mut live_c = (*live).clone();
        let paths = ignored_paths(rules, d);
        if paths.iter().any(String::is_empty) {
            continue;
        }
        for p in &paths {
            remove_pointer(&mut dry, p);
            remove_pointer(&mut live_c, p);
        }
        let mut ops: Vec<json_patch::PatchOperation> =
            json_patch::diff(&meta_part(&live_c), &meta_part(&dry))
                .0
                .into_iter()
                .filter(|o| !matches!(o, json_patch::PatchOperation::Remove(_)))
                .collect();
        ops.extend(json_patch::diff(&body(&live_c), &body(&dry)).0);
        if ops.is_empty() {
            continue;
        }
        let (mut a, mut c, mut r) = (0, 0, 0);
        for o in &ops {
            match o {
                json_patch::PatchOperation::Add(_) => a += 1,
                json_patch::PatchOperation::Remove(_) => r += 1,
                _ => c += 1,
            }
        }
        out.push(Drift {
            object: d.clone(),
            line: format!("{name} changed ({a} additions, {c} changes, {r} removals)"),
            patch: Some(json_patch::Patch(ops)),
        });
    }
    out
}

/// Correct drift: create missing objects, apply the patch to changed ones. Returns the
/// `<Kind>/<ns>/<name> created|configured` lines and the errors.
pub fn correct(store: &Store, drifts: &[Drift]) -> (Vec<String>, Vec<String>) {
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for d in drifts {
        let Ok((res, key)) = object_identity(&d.object) else {
            continue;
        };
        let name = format!("{}/{}/{}", s(&d.object, "/kind"), key.namespace, key.name);
        let r = match &d.patch {
            None => store
                .create(&res, d.object.clone(), WriteOpts::default())
                .map(|_| format!("{name} created")),
            Some(p) => store
                .modify(&res, &key, WritePart::Main, WriteOpts::default(), |cur| {
                    let mut n = cur.clone();
                    json_patch::patch(&mut n, p)
                        .map_err(|e| crate::sim::store::StoreError::Invalid(e.to_string()))?;
                    Ok(Some(n))
                })
                .map(|_| format!("{name} configured")),
        };
        match r {
            Ok(l) => done.push(l),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    (done, errors)
}
