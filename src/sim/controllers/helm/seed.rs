//! Seeding past Helm revisions of a HelmRelease from a scenario: storage records, the newest
//! revision's objects, and the status helm-controller would have written.

use serde_json::{Map, Value, json};

use super::release::{build_release, failure_description, with_helm_metadata};
use super::{Desired, render, storage};
use crate::domain::helm_storage::{Release, ReleaseStatus, config_digest};
use crate::domain::inventory::format_id;
use crate::sim::controllers::conditions::{self as c, s};
use crate::sim::registry::ids;
use crate::sim::scenario::Scenario;
use crate::sim::store::{ObjKey, Store};

/// Seed past revisions of a HelmRelease: storage records (older superseded or failed, the
/// newest deployed), the newest revision's objects, and the status the controller would
/// have written.
pub fn seed_history(
    store: &Store,
    scenario: &Scenario,
    hr: &Value,
    revisions: &[crate::sim::scenario::RevisionSpec],
) -> Result<(), String> {
    let key = ObjKey::new(s(hr, "/metadata/namespace"), s(hr, "/metadata/name"));
    let name = super::release_name(hr);
    let ns = super::release_namespace(hr);
    let storage_ns = super::storage_namespace(hr);
    let chart_name =
        crate::sim::controllers::sources::chart_name(s(hr, "/spec/chart/spec/chart")).to_string();
    let mut history = Vec::new();
    let mut last: Option<(Release, Desired)> = None;
    let total = revisions.len();
    for (i, rv) in revisions.iter().enumerate() {
        let range = rv
            .chart_version
            .clone()
            .unwrap_or_else(|| s(hr, "/spec/chart/spec/version").to_string());
        let chart = scenario
            .chart(&chart_name, &range)
            .cloned()
            .ok_or_else(|| format!("no chart '{chart_name}' for {}/{}", key.namespace, key.name))?;
        let mut rel = build_release(&chart, &name, &ns, i as i64 + 1, &rv.values)?;
        let newest = i + 1 == total;
        rel.info.status = if rv.failed {
            ReleaseStatus::Failed
        } else if newest {
            ReleaseStatus::Deployed
        } else {
            ReleaseStatus::Superseded
        };
        rel.info.description = if rv.failed {
            failure_description(&name, i > 0, "context deadline exceeded")
        } else if i == 0 {
            "Install complete".into()
        } else {
            "Upgrade complete".into()
        };
        storage::make_room(store, &storage_ns, &name, storage::max_history(hr));
        storage::write(store, &storage_ns, &rel, true).map_err(|e| e.to_string())?;
        history.insert(
            0,
            storage::snapshot(&rel, if i == 0 { "install" } else { "upgrade" }),
        );
        let d = Desired {
            key: key.clone(),
            hr: hr.clone(),
            generation: c::generation(hr),
            name: name.clone(),
            namespace: ns.clone(),
            storage_ns: storage_ns.clone(),
            chart,
            config: rv.values.clone(),
            timeout: super::DEFAULT_TIMEOUT,
        };
        last = Some((rel, d));
    }
    let Some((rel, d)) = last else {
        return Ok(());
    };
    let mut entries = Vec::new();
    for o in render::manifest_objects(&rel.manifest)
        .into_iter()
        .map(|o| with_helm_metadata(o, &d))
    {
        let (_, res, k) =
            crate::sim::controllers::kustomize::apply(store, &o).map_err(|e| e.to_string())?;
        let api = s(&o, "/apiVersion");
        entries.push(json!({"id": format_id(&k.namespace, &k.name, &res.group, s(&o, "/kind")), "v": api.rsplit('/').next().unwrap_or(api)}));
    }
    let recs = storage::records(store, &storage_ns, &name);
    storage::refresh_history(&mut history, &recs);
    let generation = c::generation(hr);
    let (reason, verb) = if rel.version == 1 {
        ("InstallSucceeded", "install")
    } else {
        ("UpgradeSucceeded", "upgrade")
    };
    let msg = format!(
        "Helm {verb} succeeded for release {} with chart {}",
        rel.full_name(),
        rel.chart_ref()
    );
    let mut st = Map::new();
    c::set(&mut st, "Ready", "True", reason, &msg, generation);
    c::set(&mut st, "Released", "True", reason, &msg, generation);
    let hc = super::helmchart_key(hr);
    st.insert("observedGeneration".into(), json!(generation));
    st.insert("lastAttemptedGeneration".into(), json!(generation));
    st.insert(
        "lastAttemptedRevision".into(),
        json!(rel.chart.metadata.version),
    );
    st.insert(
        "lastAttemptedConfigDigest".into(),
        json!(config_digest(&rel.config)),
    );
    st.insert(
        "lastAttemptedReleaseAction".into(),
        json!(if rel.version == 1 {
            "install"
        } else {
            "upgrade"
        }),
    );
    st.insert(
        "helmChart".into(),
        json!(format!("{}/{}", hc.namespace, hc.name)),
    );
    st.insert("storageNamespace".into(), json!(storage_ns));
    st.insert("history".into(), Value::Array(history));
    st.insert("inventory".into(), json!({"entries": entries}));
    store
        .modify(
            &ids::helmreleases(),
            &key,
            crate::sim::store::WritePart::Status,
            Default::default(),
            |cur| {
                let mut n = cur.clone();
                n["status"] = Value::Object(st);
                Ok(Some(n))
            },
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}
