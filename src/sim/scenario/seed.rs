//! Seeding: the namespaces and objects a scenario starts with, plus past Helm revisions
//! turned into real storage records, managed objects and HelmRelease status.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Scenario, ScenarioError, object_identity, parse_ns_name};
use crate::sim::controllers::helm::seed_history;
use crate::sim::registry::ids;
use crate::sim::store::{Store, StoreError};

fn invalid(s: &Scenario, message: String) -> ScenarioError {
    ScenarioError::Invalid {
        origin: s.name.clone(),
        message,
    }
}

/// Create the scenario's initial objects in the store.
pub fn seed(store: &Store, scenario: &Scenario) -> Result<(), ScenarioError> {
    let mut namespaces = BTreeSet::new();
    namespaces.insert("default".to_string());
    namespaces.insert("kube-system".to_string());
    for o in scenario
        .objects
        .iter()
        .chain(scenario.kustomizations.values().flatten())
    {
        if let Some(ns) = o.pointer("/metadata/namespace").and_then(Value::as_str) {
            namespaces.insert(ns.to_string());
        }
    }
    for ns in namespaces {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                         "status": {"phase": "Active"}});
        match store.create(&ids::namespaces(), obj, Default::default()) {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for o in &scenario.objects {
        let (res, _) = object_identity(o).map_err(|m| invalid(scenario, m))?;
        store.upsert(&res, o.clone())?;
    }
    for (hr_ref, hist) in &scenario.releases {
        let key = parse_ns_name(hr_ref).map_err(|m| invalid(scenario, m))?;
        let hr = match store.get(&ids::helmreleases(), &key) {
            Some(h) => (*h).clone(),
            None => {
                let (ks, obj) = scenario
                    .kustomizations
                    .iter()
                    .find_map(|(ks, objs)| {
                        objs.iter()
                            .find(|o| {
                                o["kind"] == "HelmRelease"
                                    && o.pointer("/metadata/namespace").and_then(Value::as_str)
                                        == Some(&key.namespace)
                                    && o.pointer("/metadata/name").and_then(Value::as_str)
                                        == Some(&key.name)
                            })
                            .map(|o| (ks.clone(), o.clone()))
                    })
                    .ok_or_else(|| {
                        invalid(
                            scenario,
                            format!("releases: HelmRelease {hr_ref} is not defined"),
                        )
                    })?;
                let ks = parse_ns_name(&ks).map_err(|m| invalid(scenario, m))?;
                let mut obj = obj;
                if !obj["metadata"]["labels"].is_object() {
                    obj["metadata"]["labels"] = json!({});
                }
                obj["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] = json!(ks.name);
                obj["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/namespace"] =
                    json!(ks.namespace);
                (*store.upsert(&ids::helmreleases(), obj)?).clone()
            }
        };
        seed_history(store, scenario, &hr, &hist.revisions).map_err(|m| invalid(scenario, m))?;
        seed_helm_chart(store, &hr)?;
    }
    Ok(())
}

/// The HelmChart helm-controller generated when it installed a seeded release, so a release
/// that is suspended afterwards still has its source chain.
fn seed_helm_chart(store: &Store, hr: &Value) -> Result<(), ScenarioError> {
    let Some(spec) = hr.pointer("/spec/chart/spec") else {
        return Ok(());
    };
    let hr_ns = hr
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let hr_name = hr
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut spec = spec.clone();
    let ns = spec
        .pointer("/sourceRef/namespace")
        .and_then(Value::as_str)
        .unwrap_or(hr_ns)
        .to_string();
    if let Some(r) = spec.get_mut("sourceRef").and_then(Value::as_object_mut) {
        r.remove("namespace");
        r.remove("apiVersion");
    }
    // The chart interval defaults to the HelmRelease's.
    if spec.get("interval").is_none() {
        spec["interval"] = hr
            .pointer("/spec/interval")
            .cloned()
            .unwrap_or(json!("10m"));
    }
    let chart = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
        "metadata": {"name": format!("{hr_ns}-{hr_name}"), "namespace": ns, "labels": {
            "helm.toolkit.fluxcd.io/name": hr_name, "helm.toolkit.fluxcd.io/namespace": hr_ns}},
        "spec": spec});
    match store.create(&ids::helmcharts(), chart, Default::default()) {
        Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
