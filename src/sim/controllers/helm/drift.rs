//! Drift detection and correction (helm-controller §7): the desired objects of the latest
//! record are merged onto the live ones as a server-side apply dry-run would, and
//! [`domain::drift`](crate::domain::drift) compares the result with the live object (ignore
//! rules, exclusion, the controller's JSON patches and summary lines).

use serde_json::Value;

use crate::domain::drift::{self as model, ObjectDrift};
use crate::domain::flux::DriftIgnoreRule;
use crate::sim::controllers::conditions::s;
use crate::sim::scenario::object_identity;
use crate::sim::server::merge::apply_merge;
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
    apply_merge(live, desired)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sim::registry::ids;
    use crate::sim::store::ObjKey;

    fn deployment(name: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1"}]}}}})
    }

    fn lines(d: &[Drift]) -> Vec<&str> {
        d.iter().map(|x| x.line.as_str()).collect()
    }

    #[test]
    fn detects_corrects_and_leaves_excluded_objects_alone() {
        let store = Store::new();
        let mut excluded = deployment("pinned", 1);
        excluded["metadata"]["annotations"] =
            json!({"helm.toolkit.fluxcd.io/driftDetection": "Disabled"});
        for (obj, replicas) in [(deployment("web", 1), 3), (excluded.clone(), 5)] {
            let mut live = obj.clone();
            live["spec"]["replicas"] = json!(replicas);
            store
                .create(&ids::deployments(), live, WriteOpts::default())
                .unwrap();
        }
        let desired = [
            deployment("web", 1),
            excluded.clone(),
            deployment("gone", 1),
        ];
        let drifts = detect(&store, &desired, &Value::Null);
        assert_eq!(
            lines(&drifts),
            [
                "Deployment/apps/web changed (0 additions, 1 changes, 0 removals)",
                "Deployment/apps/pinned excluded",
                "Deployment/apps/gone removed",
            ]
        );
        let (done, errors) = correct(&store, &drifts);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            done,
            [
                "Deployment/apps/web configured",
                "Deployment/apps/gone created"
            ]
        );
        let get = |n: &str| {
            store
                .get(&ids::deployments(), &ObjKey::new("apps", n))
                .unwrap()
        };
        assert_eq!(get("web")["spec"]["replicas"], 1);
        assert_eq!(get("pinned")["spec"]["replicas"], 5);
        assert!(
            detect(&store, &desired, &Value::Null).is_empty(),
            "only excluded left"
        );
        // An ignore rule hides the change.
        store
            .modify(
                &ids::deployments(),
                &ObjKey::new("apps", "web"),
                WritePart::Main,
                WriteOpts::default(),
                |cur| {
                    let mut n = cur.clone();
                    n["spec"]["replicas"] = json!(7);
                    Ok(Some(n))
                },
            )
            .unwrap();
        let rules = json!([{"paths": ["/spec/replicas"], "target": {"kind": "Deploy.*"}}]);
        assert!(detect(&store, &desired, &rules).is_empty());
        assert_eq!(detect(&store, &desired, &Value::Null).len(), 2);
    }
}
