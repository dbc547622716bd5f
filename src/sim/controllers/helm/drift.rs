//! Drift detection and correction (helm-controller §7): the desired objects of the latest
//! record are merged onto the live ones as a server-side apply dry-run would, and
//! [`domain::drift`](crate::domain::drift) compares the result with the live object (ignore
//! rules, exclusion, the controller's JSON patches and summary lines).

use serde_json::Value;

use crate::domain::drift::{self as model, ObjectDrift};
use crate::domain::flux::DriftIgnoreRule;
use crate::sim::controllers::conditions::{deep_merge, s};
use crate::sim::scenario::object_identity;
use crate::sim::store::{Store, WriteOpts, WritePart};

/// What correcting one object does.
enum Fix {
    /// Missing from the cluster: create it.
    Create,
    /// Changed: apply the JSON patch from live to desired.
    Patch(json_patch::Patch),
    /// Excluded: reported, never touched.
    Leave,
}

/// One object's drift.
pub struct Drift {
    pub object: Value,
    /// The controller's summary line (`… changed (…)`, `… removed`, `… excluded`).
    pub line: String,
    fix: Fix,
}

/// The result of a server-side apply dry-run of `desired` over `live`: the object the API
/// server would store.
fn dry_run_apply(live: &Value, desired: &Value) -> Value {
    let mut dry = live.clone();
    deep_merge(&mut dry, desired);
    dry
}

/// Compare desired objects with the live cluster. Empty when nothing drifted; otherwise
/// every changed, removed and excluded object, in manifest order (as the controller's
/// summary lists them). An object whose ignore rules do not compile is skipped.
pub fn detect(store: &Store, desired: &[Value], rules: &Value) -> Vec<Drift> {
    let rules: Vec<DriftIgnoreRule> = serde_json::from_value(rules.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for d in desired {
        let Ok((res, key)) = object_identity(d) else {
            continue;
        };
        let live = store.get(&res, &key).map(|l| (*l).clone());
        let dry = live.as_ref().map(|l| dry_run_apply(l, d));
        let Ok(report) = model::compare(d, dry.as_ref(), live.as_ref(), &rules) else {
            continue;
        };
        let fix = match &report.drift {
            ObjectDrift::None => continue,
            ObjectDrift::Excluded => Fix::Leave,
            ObjectDrift::Removed => Fix::Create,
            ObjectDrift::Changed { .. } => match report.patch() {
                Ok(p) => Fix::Patch(p),
                Err(_) => continue,
            },
        };
        out.push(Drift {
            object: d.clone(),
            line: report.line(),
            fix,
        });
    }
    if out.iter().all(|x| matches!(x.fix, Fix::Leave)) {
        out.clear();
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
        let kind = s(&d.object, "/kind");
        let name = if key.namespace.is_empty() {
            format!("{kind}/{}", key.name)
        } else {
            format!("{kind}/{}/{}", key.namespace, key.name)
        };
        let r = match &d.fix {
            Fix::Leave => continue,
            Fix::Create => store
                .create(&res, d.object.clone(), WriteOpts::default())
                .map(|_| format!("{name} created")),
            Fix::Patch(p) => store
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
