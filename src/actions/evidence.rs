//! Gathering the evidence below a root cause, on demand and with GETs and LISTs only
//! ([`Reader`]): for a HelmRelease its latest release record (only that one decoded), the
//! workloads it manages (its inventory, else the record's manifest), their pods (one LIST per
//! workload with its selector) and the Warning events of the namespace (one LIST per
//! namespace); for a Kustomization its inventory's workloads; for a source whether its
//! `secretRef` Secret exists (metadata only). What cannot be read for lack of a permission
//! becomes a finding naming the permission, not a failure of the whole evidence.

use std::collections::BTreeMap;

use futures::future::join_all;
use k8s_openapi::jiff::Timestamp;
use kube::core::ApiResource;
use serde_json::Value;

use super::history;
use super::writer::{ActionError, Reader, label};
use crate::domain::evidence::{self, Evidence, Finding, ReleaseRecord, Subject};
use crate::domain::flux::{self as names, FluxKind, HelmRelease, ObjectKey};
use crate::domain::helm_history::split_manifest;
use crate::domain::inventory::parse_id;

/// At most this many workloads are looked at below one object.
const MAX_WORKLOADS: usize = 30;

/// A workload to look at: its apiVersion, kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    api_version: String,
    kind: String,
    namespace: String,
    name: String,
}

/// The evidence that explains why `key` fails. Errors only when the object itself cannot be
/// read; everything below it that cannot be read is a finding.
pub async fn gather(
    reader: &Reader,
    key: &ObjectKey,
    now: Timestamp,
) -> Result<Evidence, ActionError> {
    let obj = match reader.get(key).await {
        Ok(v) => v,
        Err(ActionError::Forbidden(m)) => {
            return Ok(Evidence {
                findings: vec![evidence::missing_permission(
                    Subject::of_key(key),
                    &format!("forbidden: {m}"),
                    0,
                )],
            });
        }
        Err(e) => return Err(e),
    };
    let mut findings = Vec::new();
    match key.flux_kind() {
        Some(FluxKind::HelmRelease) => {
            let (record, manifest, problem) = latest_record(reader, &obj).await;
            findings.extend(evidence::helm_release(&obj, record.as_ref()));
            findings.extend(problem);
            let mut targets = inventory_targets(&obj);
            if targets.is_empty() {
                targets = manifest_targets(&manifest, &release_namespace(&obj));
            }
            findings.extend(below(reader, targets, now).await);
        }
        Some(FluxKind::Kustomization) => {
            findings.extend(evidence::flux_status(&obj));
            findings.extend(below(reader, inventory_targets(&obj), now).await);
        }
        Some(_) => {
            let secret = secret_ref(&obj);
            let exists = match &secret {
                None => None,
                Some(name) => match secret_exists(reader, &key.namespace, name).await {
                    Ok(b) => Some(b),
                    Err(e) => {
                        findings.extend(evidence::source(&obj, None));
                        findings.push(evidence::missing_permission(
                            Subject::new("Secret", &key.namespace, name),
                            &e.to_string(),
                            1,
                        ));
                        return Ok(Evidence { findings });
                    }
                },
            };
            findings.extend(evidence::source(&obj, exists));
        }
        None => {
            return Err(ActionError::Unsupported(format!(
                "{} is not a Flux object: no evidence is gathered for it",
                label(key)
            )));
        }
    }
    Ok(Evidence { findings })
}

fn release_namespace(obj: &Value) -> String {
    serde_json::from_value::<HelmRelease>(obj.clone())
        .map(|hr| names::release_namespace(&hr))
        .unwrap_or_default()
}

fn secret_ref(obj: &Value) -> Option<String> {
    obj.pointer("/spec/secretRef/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

async fn secret_exists(reader: &Reader, ns: &str, name: &str) -> Result<bool, ActionError> {
    let (resource, _) = reader.resolve("v1", "Secret").await?;
    reader.exists(&resource, ns, name).await
}

/// The latest release record of a HelmRelease (only it decoded) and its manifest; a
/// finding when it could not be read.
async fn latest_record(
    reader: &Reader,
    obj: &Value,
) -> (Option<ReleaseRecord>, String, Option<Finding>) {
    let Ok(hr) = serde_json::from_value::<HelmRelease>(obj.clone()) else {
        return (None, String::new(), None);
    };
    let release = names::release_name(&hr);
    let storage = names::storage_namespace(&hr);
    let record = match history::newest_record(reader, &storage, &release, "").await {
        Ok(Some(r)) => r,
        Ok(None) => return (None, String::new(), None),
        Err(e) => {
            let f = evidence::missing_permission(
                Subject::new("Release", &storage, &release),
                &format!("release records not read: {e}"),
                0,
            );
            return (None, String::new(), Some(f));
        }
    };
    match record.release() {
        Ok(rel) => (
            Some(ReleaseRecord {
                name: rel.name.clone(),
                namespace: rel.namespace.clone(),
                version: rel.version,
                status: rel.info.status.as_str().to_string(),
                description: rel.info.description.clone(),
            }),
            rel.manifest.clone(),
            None,
        ),
        Err(e) => {
            let f = evidence::missing_permission(
                Subject::new("Secret", &storage, &record.meta.secret),
                &format!("release record cannot be decoded: {e}"),
                0,
            );
            (None, String::new(), Some(f))
        }
    }
}

/// The workloads a Flux object's `status.inventory` lists.
fn inventory_targets(obj: &Value) -> Vec<Target> {
    let entries = obj
        .pointer("/status/inventory/entries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    entries
        .iter()
        .filter_map(|e| {
            parse_id(
                e.get("id").and_then(Value::as_str)?,
                e.get("v").and_then(Value::as_str).unwrap_or("v1"),
            )
        })
        .filter(|r| evidence::is_workload(&r.group, &r.kind))
        .map(|r| Target {
            api_version: r.api_version(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        })
        .take(MAX_WORKLOADS)
        .collect()
}

/// The workloads in a release manifest (namespace-less objects in the release namespace).
fn manifest_targets(manifest: &str, release_ns: &str) -> Vec<Target> {
    split_manifest(manifest)
        .unwrap_or_default()
        .into_iter()
        .filter(|o| evidence::is_workload(o.group(), &o.kind))
        .map(|o| Target {
            namespace: o
                .namespace
                .clone()
                .unwrap_or_else(|| release_ns.to_string()),
            api_version: o.api_version,
            kind: o.kind,
            name: o.name,
        })
        .take(MAX_WORKLOADS)
        .collect()
}

/// The evidence of each target that is not ready: read concurrently, one GET per workload,
/// one pod LIST per workload that is not ready, one Warning event LIST per namespace.
async fn below(reader: &Reader, targets: Vec<Target>, now: Timestamp) -> Vec<Finding> {
    let reads = join_all(targets.iter().map(|t| read_workload(reader, t))).await;
    let mut failing = Vec::new();
    let mut findings = Vec::new();
    for (t, read) in targets.iter().zip(reads) {
        match read {
            Ok(Some(obj)) => {
                if evidence::workload(&obj, now).is_some() {
                    failing.push((t, obj));
                }
            }
            Ok(None) => findings.push(evidence::missing_permission(
                Subject::new(&t.kind, &t.namespace, &t.name),
                "not found in the cluster",
                1,
            )),
            Err(e) => findings.push(evidence::missing_permission(
                Subject::new(&t.kind, &t.namespace, &t.name),
                &e.to_string(),
                1,
            )),
        }
    }
    if failing.is_empty() {
        return findings;
    }
    let namespaces: Vec<String> = {
        let mut ns: Vec<String> = failing.iter().map(|(t, _)| t.namespace.clone()).collect();
        ns.sort();
        ns.dedup();
        ns
    };
    let (pods, events) = futures::join!(
        join_all(failing.iter().map(|(_, obj)| list_pods(reader, obj))),
        join_all(namespaces.iter().map(|ns| list_warnings(reader, ns))),
    );
    let mut events_by_ns: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (ns, read) in namespaces.iter().zip(events) {
        match read {
            Ok(list) => {
                events_by_ns.insert(ns, list);
            }
            Err(e) => findings.push(evidence::missing_permission(
                Subject::new("Event", ns, ""),
                &format!("Warning events not read: {e}"),
                1,
            )),
        }
    }
    for ((t, obj), pods) in failing.iter().zip(pods) {
        let events = events_by_ns
            .get(t.namespace.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let (pods, problem) = match pods {
            Ok(p) => (p, None),
            Err(e) => (
                Vec::new(),
                Some(evidence::missing_permission(
                    Subject::new("Pod", &t.namespace, ""),
                    &format!("pods of {} {} not read: {e}", t.kind, t.name),
                    2,
                )),
            ),
        };
        findings.extend(evidence::managed(obj, &pods, events, now));
        findings.extend(problem);
    }
    findings
}

async fn read_workload(reader: &Reader, t: &Target) -> Result<Option<Value>, ActionError> {
    let (resource, namespaced) = reader.resolve(&t.api_version, &t.kind).await?;
    let mut obj = reader
        .get_object(&resource, namespaced, &t.namespace, &t.name)
        .await?;
    if let Some(Value::Object(m)) = obj.as_mut() {
        m.entry("apiVersion")
            .or_insert_with(|| t.api_version.clone().into());
        m.entry("kind").or_insert_with(|| t.kind.clone().into());
    }
    Ok(obj)
}

async fn core(reader: &Reader, kind: &str) -> Result<ApiResource, ActionError> {
    reader.resolve("v1", kind).await.map(|(r, _)| r)
}

async fn list_pods(reader: &Reader, workload: &Value) -> Result<Vec<Value>, ActionError> {
    let Some(selector) = evidence::selector(workload) else {
        return Ok(Vec::new());
    };
    let ns = workload
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let resource = core(reader, "Pod").await?;
    reader.list(&resource, ns, Some(&selector), None).await
}

async fn list_warnings(reader: &Reader, ns: &str) -> Result<Vec<Value>, ActionError> {
    let resource = core(reader, "Event").await?;
    reader.list(&resource, ns, None, Some("type=Warning")).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inventory_targets_are_the_workloads() {
        let obj = json!({"status": {"inventory": {"entries": [
            {"id": "staging_redis-master_apps_StatefulSet", "v": "v1"},
            {"id": "staging_redis__Service", "v": "v1"},
            {"id": "staging_migrate_batch_Job", "v": "v1"},
            {"id": "garbage", "v": "v1"}]}}});
        let t = inventory_targets(&obj);
        assert_eq!(
            t.iter()
                .map(|t| format!("{} {} {}/{}", t.api_version, t.kind, t.namespace, t.name))
                .collect::<Vec<_>>(),
            [
                "apps/v1 StatefulSet staging/redis-master",
                "batch/v1 Job staging/migrate"
            ]
        );
    }

    #[test]
    fn manifest_targets_take_the_release_namespace() {
        let manifest = "---\n# Source: redis/templates/sts.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis-master\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: redis\n";
        let t = manifest_targets(manifest, "staging");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].namespace, "staging");
        assert_eq!(t[0].kind, "StatefulSet");
    }
}
