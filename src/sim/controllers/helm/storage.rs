//! Helm release records in Secret storage for the simulated helm-controller: list, read,
//! write (both base64 layers), make room for a new record within maxHistory, and the `status.history` snapshots.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::domain::helm_storage::{
    Release, ReleaseStatus, SECRET_TYPE, config_digest, decode_release, encode_release,
    observation_digest, secret_name, storage_labels,
};
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, Store, StoreError};

/// All records of a release, by version.
pub fn records(store: &Store, storage_ns: &str, release: &str) -> BTreeMap<i64, Release> {
    let (items, _) = store.list(&ids::secrets(), Some(storage_ns));
    let mut out = BTreeMap::new();
    for s in items {
        let labels = s.pointer("/metadata/labels");
        let l = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        if l("owner") != Some("helm") || l("name") != Some(release) {
            continue;
        }
        let Some(data) = s.pointer("/data/release").and_then(Value::as_str) else {
            continue;
        };
        if let Ok(helm_b64) = STANDARD.decode(data)
            && let Ok(r) = decode_release(&helm_b64)
        {
            out.insert(r.version, r);
        }
    }
    out
}

/// Write (create or replace) a record; returns the stored Secret.
pub fn write(
    store: &Store,
    storage_ns: &str,
    rel: &Release,
    create: bool,
) -> Result<std::sync::Arc<Value>, StoreError> {
    let helm_b64 = encode_release(rel).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let now = super::super::clock::unix_now();
    let labels = if create {
        storage_labels(rel, Some(now), None)
    } else {
        storage_labels(rel, None, Some(now))
    };
    let name = secret_name(&rel.name, rel.version);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": SECRET_TYPE,
        "metadata": {"name": name, "namespace": storage_ns, "labels": labels},
        "data": {"release": STANDARD.encode(helm_b64.as_bytes())},
    });
    store.upsert(&ids::secrets(), secret)
}

/// Delete a record.
pub fn delete(store: &Store, storage_ns: &str, name: &str, version: i64) {
    let _ = store.delete(
        &ids::secrets(),
        &ObjKey::new(storage_ns, &secret_name(name, version)),
        Default::default(),
    );
}

/// The `spec.maxHistory` of a HelmRelease (default 5; 0 = unlimited).
pub fn max_history(hr: &Value) -> i64 {
    hr.pointer("/spec/maxHistory")
        .and_then(Value::as_i64)
        .unwrap_or(5)
}

/// Make room for one more record, as Helm's storage does before every Create when a max
/// history is set: delete the oldest records until at most `max_history - 1` remain, never
/// the newest `deployed` one. `max_history <= 0` means unlimited.
pub fn make_room(store: &Store, storage_ns: &str, name: &str, max_history: i64) {
    if max_history <= 0 {
        return;
    }
    let keep = max_history - 1;
    let recs = records(store, storage_ns, name);
    let deployed = recs
        .values()
        .rev()
        .find(|r| r.info.status == ReleaseStatus::Deployed)
        .map(|r| r.version);
    let mut remaining = recs.len() as i64;
    for v in recs.keys() {
        if remaining <= keep {
            break;
        }
        if Some(*v) != deployed {
            delete(store, storage_ns, name, *v);
            remaining -= 1;
        }
    }
}

/// A `status.history` snapshot of a record.
pub fn snapshot(rel: &Release, action: &str) -> Value {
    let t = |x: &crate::domain::helm_storage::HelmTime| {
        x.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    json!({
        "apiVersion": "v2",
        "digest": observation_digest(rel),
        "name": rel.name,
        "namespace": rel.namespace,
        "version": rel.version,
        "status": rel.info.status.as_str(),
        "action": action,
        "chartName": rel.chart.metadata.name,
        "chartVersion": rel.chart.metadata.version,
        "appVersion": rel.chart.metadata.app_version,
        "configDigest": config_digest(&rel.config),
        "firstDeployed": t(&rel.info.first_deployed),
        "lastDeployed": t(&rel.info.last_deployed),
    })
}

/// Refresh status and digest of snapshots from the records, and apply the retention rule:
/// keep the newest and everything back to the previous deployed/superseded one.
pub fn refresh_history(history: &mut Vec<Value>, recs: &BTreeMap<i64, Release>) {
    for h in history.iter_mut() {
        if let Some(r) = h["version"].as_i64().and_then(|v| recs.get(&v)) {
            h["status"] = json!(r.info.status.as_str());
            h["digest"] = json!(observation_digest(r));
        }
    }
    let cut = history
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, h)| h["status"] == "deployed" || h["status"] == "superseded")
        .map(|(i, _)| i + 1);
    if let Some(n) = cut {
        history.truncate(n);
    }
    history.truncate(10);
}
