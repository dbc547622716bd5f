#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every object of every embedded scenario, and the status the controllers write for Flux
//! kinds, validates against the real Flux CRD schemas (`../shared/crds`: skipped with a notice
//! when absent, failed when `FLUXDECK_REQUIRE_CRDS=1`).

#[path = "common/skip.rs"]
mod skip;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fluxdeck::sim::controllers::{self, ControllerOptions, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::scenario::{self, Scenario};
use fluxdeck::sim::store::Store;
use serde_json::Value;

/// (group, kind) → openAPIV3Schema of the storage version.
fn load_schemas() -> Option<HashMap<(String, String), Value>> {
    let schemas = read_schemas();
    if schemas.is_none() {
        skip::skip_or_fail(
            "scenario objects against the Flux CRD schemas",
            "../shared/crds not found beside the checkout",
            skip::REQUIRE_CRDS,
        );
    }
    schemas
}

fn read_schemas() -> Option<HashMap<(String, String), Value>> {
    // `../shared/crds` from the repository root; a worktree sits one level deeper.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let entries = ["../shared/crds", "../../shared/crds"]
        .iter()
        .find_map(|p| std::fs::read_dir(root.join(p)).ok())?;
    let mut out = HashMap::new();
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: Value = match serde::Deserialize::deserialize(doc) {
                Ok(v) => v,
                Err(_) => continue,
            };
            let group = v["spec"]["group"].as_str().unwrap_or_default().to_string();
            let kind = v["spec"]["names"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            for ver in v["spec"]["versions"].as_array().into_iter().flatten() {
                if ver["storage"] == true {
                    out.insert(
                        (group.clone(), kind.clone()),
                        ver["schema"]["openAPIV3Schema"].clone(),
                    );
                }
            }
        }
    }
    Some(out)
}

/// A small OpenAPI v3 validator: type, properties, required, enum, pattern, items,
/// additionalProperties and x-kubernetes-preserve-unknown-fields.
fn validate(schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if v.is_null() && schema["nullable"] == true {
        return;
    }
    if schema["x-kubernetes-int-or-string"] == true {
        if !(v.is_i64() || v.is_u64() || v.is_string()) {
            errs.push(format!("{path}: expected int-or-string"));
        }
        return;
    }
    let ty = schema["type"].as_str().unwrap_or("");
    let ok = match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    };
    if !ok {
        errs.push(format!("{path}: expected {ty}, got {v}"));
        return;
    }
    if let Some(en) = schema["enum"].as_array()
        && !en.contains(v)
    {
        errs.push(format!("{path}: {v} not in enum {en:?}"));
    }
    if let (Some(p), Some(s)) = (schema["pattern"].as_str(), v.as_str())
        && let Ok(re) = regex::Regex::new(p)
        && !re.is_match(s)
    {
        errs.push(format!("{path}: '{s}' does not match {p}"));
    }
    if let Some(obj) = v.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                errs.push(format!("{path}: missing required {r}"));
            }
        }
        let props = schema["properties"].as_object();
        for (k, val) in obj {
            let p = format!("{path}.{k}");
            if let Some(ps) = props.and_then(|m| m.get(k)) {
                validate(ps, val, &p, errs);
            } else if schema["additionalProperties"].is_object() {
                validate(&schema["additionalProperties"], val, &p, errs);
            } else if props.is_some()
                && schema["x-kubernetes-preserve-unknown-fields"] != true
                && !path.is_empty()
            {
                errs.push(format!("{p}: unknown field"));
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), schema.get("items")) {
        for (i, x) in a.iter().enumerate() {
            validate(items, x, &format!("{path}[{i}]"), errs);
        }
    }
}

fn check(schemas: &HashMap<(String, String), Value>, obj: &Value, errs: &mut Vec<String>) -> bool {
    let api = obj["apiVersion"].as_str().unwrap_or_default();
    let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_string();
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let Some(schema) = schemas.get(&(group, kind.clone())) else {
        return false;
    };
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
    }
    let name = format!(
        "{kind}/{}",
        obj["metadata"]["name"].as_str().unwrap_or_default()
    );
    validate(schema, &o, &name, errs);
    true
}

fn all_objects(s: &Scenario) -> Vec<Value> {
    s.objects
        .iter()
        .chain(s.kustomizations.values().flatten())
        .cloned()
        .collect()
}

#[test]
fn scenario_objects_match_the_crds() {
    let Some(schemas) = load_schemas() else {
        return;
    };
    let mut names: Vec<String> = Scenario::names().into_iter().map(String::from).collect();
    names.push("scale:hr=50,ks=5".into());
    let mut checked = 0;
    let mut errs = Vec::new();
    for n in names {
        for o in all_objects(&scenario::load(&n).unwrap()) {
            if check(&schemas, &o, &mut errs) {
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} Flux objects checked");
    assert!(errs.is_empty(), "{errs:#?}");
}

#[tokio::test]
async fn controller_written_flux_objects_match_the_crds() {
    let Some(schemas) = load_schemas() else {
        return;
    };
    for name in ["demo", "rollback", "drift"] {
        let sc = scenario::load(name).unwrap();
        let store = Arc::new(Store::new());
        scenario::seed(&store, &sc).unwrap();
        let _h = controllers::start(
            store.clone(),
            Arc::new(sc),
            ControllerOptions { speed: 600.0 },
        );
        let settled = controllers::wait_for(&store, Duration::from_secs(30), |s| {
            s.list(&ids::helmreleases(), None)
                .0
                .iter()
                .filter(|h| !conditions::suspended(h))
                .all(|h| conditions::get(h, "Ready").is_some())
        })
        .await;
        let without_ready: Vec<String> = store
            .list(&ids::helmreleases(), None)
            .0
            .iter()
            .filter(|h| !conditions::suspended(h) && conditions::get(h, "Ready").is_none())
            .map(|h| {
                format!(
                    "{}/{}",
                    h["metadata"]["namespace"].as_str().unwrap_or_default(),
                    h["metadata"]["name"].as_str().unwrap_or_default()
                )
            })
            .collect();
        assert!(
            settled,
            "{name}: every unsuspended HelmRelease should get a Ready condition; still without: {without_ready:?}"
        );
        let mut errs = Vec::new();
        let mut checked = 0;
        for res in [
            ids::gitrepositories(),
            ids::helmrepositories(),
            ids::helmcharts(),
            ids::kustomizations(),
            ids::helmreleases(),
        ] {
            for o in store.list(&res, None).0 {
                if check(&schemas, &o, &mut errs) {
                    checked += 1;
                }
            }
        }
        assert!(checked > 0, "{name}: no Flux object matched a CRD schema");
        assert!(errs.is_empty(), "{name}: {errs:#?}");
    }
}

#[test]
fn the_validator_rejects_bad_objects() {
    let Some(schemas) = load_schemas() else {
        return;
    };
    let bad = serde_json::json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "x"}, "spec": {"interval": 5, "bogus": true,
        "driftDetection": {"mode": "sometimes"}}});
    let mut errs = Vec::new();
    assert!(check(&schemas, &bad, &mut errs));
    assert!(errs.iter().any(|e| e.contains("spec.interval")), "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("spec.bogus")), "{errs:?}");
    assert!(
        errs.iter().any(|e| e.contains("driftDetection.mode")),
        "{errs:?}"
    );
}
