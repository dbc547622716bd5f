//! Workload status, as kube-controller-manager would report it: Deployments, StatefulSets,
//! DaemonSets and Jobs get replicas/ready/updated/available counts, observedGeneration and
//! conditions shortly after they change. A container image the scenario marks as bad never
//! becomes available; a Deployment then reports ProgressDeadlineExceeded after its deadline.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::Ctx;
use super::conditions::{self as c, s};
use super::queue::Work;
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, ResourceId, WriteOpts, WritePart};

/// Nominal time a rollout takes.
pub const ROLLOUT_DELAY: Duration = Duration::from_secs(10);

/// When each (object, generation) with a bad image was first seen.
#[derive(Default)]
pub struct WorkloadState {
    bad_since: HashMap<(ResourceId, ObjKey, i64), Instant>,
}

fn images(obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in [
        "/spec/template/spec/containers",
        "/spec/template/spec/initContainers",
    ] {
        if let Some(a) = obj.pointer(p).and_then(Value::as_array) {
            out.extend(
                a.iter()
                    .filter_map(|c| c["image"].as_str().map(String::from)),
            );
        }
    }
    out
}

fn short_hash(obj: &Value) -> String {
    let t = obj
        .pointer("/spec/template")
        .map(|v| v.to_string())
        .unwrap_or_default();
    hex::encode(Sha256::digest(t.as_bytes()))[..10].to_string()
}

/// Whether a workload is ready the way Helm's wait (kstatus) sees it.
pub fn is_ready(res: &ResourceId, obj: &Value) -> bool {
    if c::observed_generation(obj) != c::generation(obj) {
        return false;
    }
    let n = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    if *res == ids::deployments() {
        n("/status/availableReplicas") >= replicas
            && n("/status/updatedReplicas") >= replicas
            && c::is_true(obj, "Available")
    } else if *res == ids::statefulsets() {
        n("/status/readyReplicas") >= replicas
    } else if *res == ids::daemonsets() {
        n("/status/numberAvailable") >= n("/status/desiredNumberScheduled")
            && obj.pointer("/status/desiredNumberScheduled").is_some()
    } else if *res == ids::jobs() {
        c::is_true(obj, "Complete")
    } else {
        true
    }
}

fn cond(type_: &str, st: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": type_, "status": st, "reason": reason, "message": message,
           "lastTransitionTime": now, "lastUpdateTime": now})
}

impl Ctx {
    pub(crate) fn reconcile_workload(&mut self, res: &ResourceId, key: &ObjKey) {
        let Some(obj) = self.store.get(res, key) else {
            return;
        };
        let generation = c::generation(&obj);
        let bad = images(&obj).iter().any(|i| self.scenario.is_bad_image(i));
        let replicas = obj
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let name = s(&obj, "/metadata/name").to_string();
        let hash = short_hash(&obj);
        let now = super::clock::now();
        let ok = if bad { 0 } else { replicas };
        let status = if *res == ids::deployments() {
            let rs = format!("{name}-{hash}");
            let deadline = obj
                .pointer("/spec/progressDeadlineSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(600);
            let progressing = if bad {
                let since = *self
                    .workloads
                    .bad_since
                    .entry((res.clone(), key.clone(), generation))
                    .or_insert_with(Instant::now);
                let due = since + self.clock.scaled(Duration::from_secs(deadline));
                if Instant::now() >= due {
                    cond(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        &format!("ReplicaSet \"{rs}\" has timed out progressing."),
                        &now,
                    )
                } else {
                    self.queue.push_after(
                        Work::Workload(res.clone(), key.clone()),
                        due - Instant::now(),
                    );
                    cond(
                        "Progressing",
                        "True",
                        "ReplicaSetUpdated",
                        &format!("ReplicaSet \"{rs}\" is progressing."),
                        &now,
                    )
                }
            } else {
                cond(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{rs}\" has successfully progressed."),
                    &now,
                )
            };
            let available = if bad {
                cond(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    &now,
                )
            } else {
                cond(
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    &now,
                )
            };
            let mut st = json!({"observedGeneration": generation, "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": ok, "availableReplicas": ok,
                "conditions": [available, progressing]});
            if bad {
                st["unavailableReplicas"] = json!(replicas);
            }
            st
        } else if *res == ids::statefulsets() {
            let revision = format!("{name}-{hash}");
            json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": ok,
                   "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": ok,
                   "currentRevision": revision, "updateRevision": revision, "collisionCount": 0})
        } else if *res == ids::daemonsets() {
            json!({"observedGeneration": generation, "desiredNumberScheduled": 1,
                   "currentNumberScheduled": 1, "updatedNumberScheduled": 1,
                   "numberReady": ok.min(1), "numberAvailable": ok.min(1),
                   "numberUnavailable": if bad { 1 } else { 0 }, "numberMisscheduled": 0})
        } else if *res == ids::jobs() {
            if bad {
                json!({"active": 1, "ready": 0, "startTime": now})
            } else {
                json!({"startTime": now, "completionTime": now, "succeeded": 1, "ready": 0,
                       "conditions": [
                           {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now, "lastTransitionTime": now},
                           {"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}]})
            }
        } else {
            return;
        };
        let _ = self
            .store
            .modify(res, key, WritePart::Status, WriteOpts::default(), |cur| {
                // Keep transition times when nothing but time changed.
                if let (Some(old), Some(new)) = (cur.get("status"), Some(&status))
                    && strip_times(old) == strip_times(new)
                {
                    return Ok(None);
                }
                let mut n = cur.clone();
                n["status"] = status.clone();
                Ok(Some(n))
            });
    }
}

fn strip_times(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.ends_with("Time") && !k.ends_with("Timestamp"))
                .map(|(k, v)| (k.clone(), strip_times(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_times).collect()),
        other => other.clone(),
    }
}
