//! Workloads and their pods, as kube-controller-manager runs them: a Deployment gets a
//! ReplicaSet `<name>-<pod-template-hash>` whose pods are `<replicaset>-<5 chars>`; a
//! StatefulSet gets `<name>-0` … `<name>-<n-1>`, created in order; a DaemonSet one pod per
//! node its selector allows; a Job one pod that runs to completion. Pods carry the
//! template's labels (so the workload's selector finds them) and an owner reference to
//! their controller, are replaced when the template changes and deleted when scaled down or
//! when the workload goes away. Each workload's status (replica counts, observedGeneration,
//! conditions) follows its pods; a Deployment whose rollout does not finish reports
//! `ProgressDeadlineExceeded` after its `progressDeadlineSeconds`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Ctx;
use super::conditions::{self as c, s};
use super::pods::{self, Failure, NODES, PodRec};
use super::queue::Work;
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, ResourceId, StoreError, WriteOpts, WritePart};

/// The outcome of a controller's own write: an object deleted meanwhile (its workload went
/// away) needs nothing more; anything else is a bug in the simulation, logged.
fn settle<T>(result: Result<T, StoreError>, what: &str) {
    match result {
        Ok(_) | Err(StoreError::NotFound { .. }) => {}
        Err(e) => tracing::warn!(error = %e, "simulated workload controller: {what}"),
    }
}

/// Nominal time from a workload change to its pods being ready.
pub const ROLLOUT_DELAY: Duration = pods::POD_START;

/// The ReplicaSet resource.
fn replicasets() -> ResourceId {
    ResourceId::new("apps", "replicasets")
}

/// What the controllers keep per workload.
#[derive(Default)]
struct Owned {
    /// The workload's uid: a workload re-created under the same name starts afresh.
    uid: String,
    pods: Vec<PodRec>,
    /// A Deployment's ReplicaSets, oldest first: (name, template hash).
    replicasets: Vec<(String, String)>,
    /// A StatefulSet's current revision (the one its pods ran before an update).
    current_revision: String,
}

/// The workloads' pods and rollout progress.
#[derive(Default)]
pub struct WorkloadState {
    /// When each (Deployment, generation) was first seen not progressed.
    progress_since: HashMap<(ResourceId, ObjKey, i64), Instant>,
    owned: HashMap<(ResourceId, ObjKey), Owned>,
    /// The workload each pod belongs to.
    pod_owner: HashMap<ObjKey, (ResourceId, ObjKey)>,
    serial: u64,
}

impl WorkloadState {
    /// The workload to wake when one of its pods was deleted by someone else.
    pub(crate) fn pod_deleted(&mut self, pod: &ObjKey) -> Option<(ResourceId, ObjKey)> {
        let owner = self.pod_owner.remove(pod)?;
        if let Some(o) = self.owned.get_mut(&owner) {
            o.pods.retain(|p| p.key != *pod);
        }
        Some(owner)
    }

    /// Number of pods the simulation runs.
    pub fn pod_count(&self) -> usize {
        self.pod_owner.len()
    }
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
        // kstatus: every replica updated, no old one left, every updated one available.
        let updated = n("/status/updatedReplicas");
        updated >= replicas
            && n("/status/replicas") <= updated
            && n("/status/availableReplicas") >= updated
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

fn owner_ref(api_version: &str, kind: &str, obj: &Value) -> Value {
    json!([{"apiVersion": api_version, "kind": kind, "name": s(obj, "/metadata/name"),
            "uid": s(obj, "/metadata/uid"), "controller": true, "blockOwnerDeletion": true}])
}

fn labels_of(template: &Value) -> Map<String, Value> {
    template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `maxUnavailable` of a Deployment for `replicas` (a count or a percentage, rounded down).
fn max_unavailable(obj: &Value, replicas: i64) -> i64 {
    if s(obj, "/spec/strategy/type") == "Recreate" {
        return replicas;
    }
    match obj.pointer("/spec/strategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(p)) => p
            .strip_suffix('%')
            .and_then(|p| p.parse::<i64>().ok())
            .map_or(0, |p| replicas * p / 100),
        _ => replicas * 25 / 100,
    }
}

/// How a pod is placed and named.
struct NewPod {
    name: String,
    generate_name: Option<String>,
    ordinal: Option<u32>,
    node: usize,
    labels: Map<String, Value>,
    owner: Value,
    completes: bool,
}

impl Ctx {
    pub(crate) fn reconcile_workload(&mut self, res: &ResourceId, key: &ObjKey) {
        let id = (res.clone(), key.clone());
        let obj = self
            .store
            .get(res, key)
            .filter(|o| o.pointer("/metadata/deletionTimestamp").is_none());
        let Some(obj) = obj else {
            self.remove_workload(&id);
            return;
        };
        let uid = s(&obj, "/metadata/uid").to_string();
        if self.workloads.owned.get(&id).is_some_and(|o| o.uid != uid) {
            self.remove_workload(&id);
        }
        let mut owned = self.workloads.owned.remove(&id).unwrap_or_default();
        owned.uid = uid;
        let template = obj
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(Value::Null);
        let revision = pods::template_hash(&template);
        let failure = pods::failure_of(&self.scenario, &template);
        let replicas = obj
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0);
        // Pods first move on (a pod that became ready lets a rollout proceed), then the
        // controller acts, then what changed is written.
        let now = Instant::now();
        let mut events = Vec::new();
        for p in owned.pods.iter_mut() {
            let evs = p.advance(now, &self.clock);
            if !evs.is_empty() {
                events.push((p.clone(), evs));
            }
        }
        for (p, evs) in events {
            self.pod_events(&p, &evs);
        }
        if *res == ids::deployments() {
            self.sync_deployment(&obj, &mut owned, &template, &revision, &failure, replicas);
        } else if *res == ids::statefulsets() {
            self.sync_statefulset(&obj, &mut owned, &template, &revision, &failure, replicas);
        } else if *res == ids::daemonsets() {
            self.sync_daemonset(&obj, &mut owned, &template, &revision, &failure);
        } else if *res == ids::jobs() {
            self.sync_job(&obj, &mut owned, &template, &revision, &failure);
        } else {
            return;
        }
        self.write_pods(&mut owned);
        let status = self.workload_status(res, key, &obj, &owned, &revision, replicas);
        if *res == ids::deployments() {
            self.sync_replicaset_status(&obj, &owned);
        }
        let next = owned.pods.iter().filter_map(|p| p.next).min();
        self.workloads.owned.insert(id, owned);
        if let Some(next) = next {
            self.queue.push_after(
                Work::Workload(res.clone(), key.clone()),
                next.saturating_duration_since(Instant::now()),
            );
        }
        let written = self
            .store
            .modify(res, key, WritePart::Status, WriteOpts::default(), |cur| {
                // Keep transition times when nothing but time changed.
                if let Some(old) = cur.get("status")
                    && strip_times(old) == strip_times(&status)
                {
                    return Ok(None);
                }
                let mut n = cur.clone();
                n["status"] = status.clone();
                Ok(Some(n))
            });
        settle(written, "writing a workload's status");
    }

    /// Write the status of the pods whose state changed.
    fn write_pods(&mut self, owned: &mut Owned) {
        for p in owned.pods.iter_mut().filter(|p| p.dirty) {
            p.dirty = false;
            let spec = self
                .store
                .get(&ids::pods(), &p.key)
                .and_then(|o| o.get("spec").cloned())
                .unwrap_or(Value::Null);
            let status = p.status(&spec);
            let written = self.store.modify(
                &ids::pods(),
                &p.key,
                WritePart::Status,
                WriteOpts::default(),
                |cur| {
                    let mut n = cur.clone();
                    n["status"] = status.clone();
                    Ok(Some(n))
                },
            );
            settle(written, "writing a pod's status");
        }
    }

    fn pod_events(&mut self, p: &PodRec, events: &[pods::PodEvent]) {
        if events.is_empty() {
            return;
        }
        let involved = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": p.key.name, "namespace": p.key.namespace, "uid": p.uid}});
        for ev in events {
            self.events
                .emit_pod(&self.store, &involved, ev, NODES[p.node]);
        }
    }

    /// Delete a workload's pods (and a Deployment's ReplicaSets), as the garbage collector
    /// does once their owner is gone.
    fn remove_workload(&mut self, id: &(ResourceId, ObjKey)) {
        let Some(owned) = self.workloads.owned.remove(id) else {
            return;
        };
        for p in owned.pods {
            self.delete_pod(&p.key);
        }
        for (rs, _) in owned.replicasets {
            self.delete_replicaset(&id.1.namespace, &rs);
        }
        self.workloads
            .progress_since
            .retain(|(r, k, _), _| (r, k) != (&id.0, &id.1));
    }

    fn delete_replicaset(&mut self, namespace: &str, name: &str) {
        settle(
            self.store.delete(
                &replicasets(),
                &ObjKey::new(namespace, name),
                WriteOpts::default(),
            ),
            "deleting a ReplicaSet",
        );
    }

    fn delete_pod(&mut self, key: &ObjKey) {
        self.workloads.pod_owner.remove(key);
        settle(
            self.store.delete(&ids::pods(), key, WriteOpts::default()),
            "deleting a pod",
        );
    }

    /// Create a pod from `template`; `None` when the store refuses it.
    fn create_pod(
        &mut self,
        workload: (&ResourceId, &ObjKey),
        template: &Value,
        revision: &str,
        failure: &Failure,
        new: NewPod,
    ) -> Option<PodRec> {
        let ns = workload.1.namespace.clone();
        let key = ObjKey::new(&ns, &new.name);
        let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
        let failure = failure.clone();
        let placed = !matches!(failure, Failure::Unschedulable { .. });
        if placed {
            spec["nodeName"] = json!(NODES[new.node]);
        }
        if new.ordinal.is_some() {
            spec["hostname"] = json!(new.name);
        }
        let (mut rec, events) = PodRec::new(
            key.clone(),
            revision.to_string(),
            new.ordinal,
            new.node,
            failure,
            new.completes,
            &self.clock,
        );
        let mut meta = json!({"name": new.name, "namespace": ns, "labels": new.labels,
                              "ownerReferences": new.owner});
        if let Some(g) = new.generate_name {
            meta["generateName"] = json!(g);
        }
        if let Some(a) = template.pointer("/metadata/annotations") {
            meta["annotations"] = a.clone();
        }
        let status = rec.status(&spec);
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
                         "status": status});
        let created = self
            .store
            .create(&ids::pods(), pod, WriteOpts::default())
            .ok()?;
        rec.uid = s(&created, "/metadata/uid").to_string();
        self.workloads
            .pod_owner
            .insert(key, (workload.0.clone(), workload.1.clone()));
        self.pod_events(&rec, &events);
        Some(rec)
    }

    fn next_suffix(&mut self, seed: &str) -> String {
        self.workloads.serial += 1;
        pods::name_suffix(&format!("{seed}/{}", self.workloads.serial))
    }

    fn node_for(&self, name: &str) -> usize {
        pods::name_suffix(name)
            .bytes()
            .map(usize::from)
            .sum::<usize>()
            % NODES.len()
    }

    fn sync_deployment(
        &mut self,
        obj: &Value,
        owned: &mut Owned,
        template: &Value,
        revision: &str,
        failure: &Failure,
        replicas: i64,
    ) {
        let res = ids::deployments();
        let key = ObjKey::new(s(obj, "/metadata/namespace"), s(obj, "/metadata/name"));
        let rs_name = format!("{}-{revision}", key.name);
        let rs_key = ObjKey::new(&key.namespace, &rs_name);
        let mut pod_labels = labels_of(template);
        pod_labels.insert("pod-template-hash".into(), json!(revision));
        let rs = match self.store.get(&replicasets(), &rs_key) {
            Some(rs) => rs,
            None => {
                let mut selector = obj.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                selector["matchLabels"]["pod-template-hash"] = json!(revision);
                let mut t = template.clone();
                t["metadata"]["labels"] = Value::Object(pod_labels.clone());
                let number = owned.replicasets.len() + 1;
                let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": rs_name, "namespace": key.namespace,
                        "labels": pod_labels,
                        "annotations": {
                            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                            "deployment.kubernetes.io/max-replicas": replicas.to_string(),
                            "deployment.kubernetes.io/revision": number.to_string()},
                        "ownerReferences": owner_ref("apps/v1", "Deployment", obj)},
                    "spec": {"replicas": replicas, "selector": selector, "template": t}});
                match self.store.create(&replicasets(), rs, WriteOpts::default()) {
                    Ok(rs) => rs,
                    Err(_) => return,
                }
            }
        };
        if !owned.replicasets.iter().any(|(n, _)| *n == rs_name) {
            owned.replicasets.retain(|(_, h)| h != revision);
            owned
                .replicasets
                .push((rs_name.clone(), revision.to_string()));
        }
        let current: Vec<usize> = (0..owned.pods.len())
            .filter(|&i| owned.pods[i].revision == revision)
            .collect();
        let have = current.len() as i64;
        if have > replicas {
            // Scale down: unready pods first, then the newest.
            let mut victims: Vec<usize> = current.clone();
            victims.sort_by_key(|&i| (owned.pods[i].ready(), std::cmp::Reverse(i)));
            let drop: BTreeSet<usize> = victims
                .into_iter()
                .take((have - replicas) as usize)
                .collect();
            self.drop_pods(owned, |i, _| drop.contains(&i));
        }
        for _ in have..replicas {
            let suffix = self.next_suffix(s(&rs, "/metadata/uid"));
            let name = format!("{rs_name}-{suffix}");
            let new = NewPod {
                node: self.node_for(&name),
                name,
                generate_name: Some(format!("{rs_name}-")),
                ordinal: None,
                labels: pod_labels.clone(),
                owner: owner_ref("apps/v1", "ReplicaSet", &rs),
                completes: false,
            };
            if let Some(p) = self.create_pod((&res, &key), template, revision, failure, new) {
                owned.pods.push(p);
            }
        }
        // Old pods go once the new ones are ready (at once with Recreate).
        let ready_new = owned
            .pods
            .iter()
            .filter(|p| p.revision == revision && p.ready())
            .count() as i64;
        if ready_new >= replicas || s(obj, "/spec/strategy/type") == "Recreate" {
            self.drop_pods(owned, |_, p| p.revision != revision);
        }
        // Old ReplicaSets beyond the history limit go.
        let limit = obj
            .pointer("/spec/revisionHistoryLimit")
            .and_then(Value::as_u64)
            .unwrap_or(10) as usize;
        let old: Vec<(String, String)> = owned
            .replicasets
            .iter()
            .filter(|(_, h)| h != revision && !owned.pods.iter().any(|p| p.revision == *h))
            .cloned()
            .collect();
        for (name, hash) in old.iter().take(old.len().saturating_sub(limit)) {
            self.delete_replicaset(&key.namespace, name);
            owned.replicasets.retain(|(_, h)| h != hash);
        }
    }

    /// Delete the pods `pred` selects.
    fn drop_pods<F>(&mut self, owned: &mut Owned, pred: F)
    where
        F: Fn(usize, &PodRec) -> bool,
    {
        let mut keep = Vec::with_capacity(owned.pods.len());
        for (i, p) in std::mem::take(&mut owned.pods).into_iter().enumerate() {
            if pred(i, &p) {
                self.delete_pod(&p.key);
            } else {
                keep.push(p);
            }
        }
        owned.pods = keep;
    }

    fn sync_replicaset_status(&mut self, obj: &Value, owned: &Owned) {
        let ns = s(obj, "/metadata/namespace");
        for (name, hash) in &owned.replicasets {
            let pods: Vec<&PodRec> = owned.pods.iter().filter(|p| p.revision == *hash).collect();
            let n = pods.len();
            let ready = pods.iter().filter(|p| p.ready()).count();
            let written = self.store.modify(
                &replicasets(),
                &ObjKey::new(ns, name),
                WritePart::All,
                WriteOpts::default(),
                |cur| {
                    let status = json!({"replicas": n, "fullyLabeledReplicas": n,
                        "readyReplicas": ready, "availableReplicas": ready,
                        "observedGeneration": c::generation(cur)});
                    if cur.pointer("/spec/replicas") == Some(&json!(n))
                        && cur.get("status") == Some(&status)
                    {
                        return Ok(None);
                    }
                    let mut v = cur.clone();
                    v["spec"]["replicas"] = json!(n);
                    v["status"] = status;
                    Ok(Some(v))
                },
            );
            settle(written, "writing a ReplicaSet's status");
        }
    }

    fn sync_statefulset(
        &mut self,
        obj: &Value,
        owned: &mut Owned,
        template: &Value,
        revision: &str,
        failure: &Failure,
        replicas: i64,
    ) {
        let res = ids::statefulsets();
        let key = ObjKey::new(s(obj, "/metadata/namespace"), s(obj, "/metadata/name"));
        let update_revision = format!("{}-{revision}", key.name);
        if owned.current_revision.is_empty() {
            owned.current_revision = update_revision.clone();
        }
        let parallel = s(obj, "/spec/podManagementPolicy") == "Parallel";
        let replicas = u32::try_from(replicas).unwrap_or(0);
        // Scale down: ordinals at or above replicas go.
        self.drop_pods(owned, |_, p| p.ordinal.is_none_or(|o| o >= replicas));
        // Update: replace pods of another revision, highest ordinal first; a ready pod only
        // once every other pod is ready.
        let all_ready = owned.pods.iter().all(PodRec::ready);
        let stale = owned
            .pods
            .iter()
            .filter(|p| p.revision != revision)
            .filter(|p| !p.ready() || all_ready)
            .max_by_key(|p| p.ordinal)
            .map(|p| p.key.clone());
        if let Some(stale) = stale {
            self.drop_pods(owned, |_, p| p.key == stale);
        }
        let service = s(obj, "/spec/serviceName").to_string();
        for i in 0..replicas {
            if owned.pods.iter().any(|p| p.ordinal == Some(i)) {
                continue;
            }
            let lower_ready = owned
                .pods
                .iter()
                .filter(|p| p.ordinal.is_some_and(|o| o < i))
                .filter(|p| p.ready())
                .count() as u32;
            if !parallel && lower_ready < i {
                break;
            }
            let name = format!("{}-{i}", key.name);
            let mut labels = labels_of(template);
            labels.insert("apps.kubernetes.io/pod-index".into(), json!(i.to_string()));
            labels.insert(
                "controller-revision-hash".into(),
                json!(update_revision.clone()),
            );
            labels.insert("statefulset.kubernetes.io/pod-name".into(), json!(name));
            let new = NewPod {
                node: self.node_for(&name),
                name,
                generate_name: None,
                ordinal: Some(i),
                labels,
                owner: owner_ref("apps/v1", "StatefulSet", obj),
                completes: false,
            };
            let mut t = template.clone();
            if !service.is_empty() {
                t["spec"]["subdomain"] = json!(service);
            }
            if let Some(p) = self.create_pod((&res, &key), &t, revision, failure, new) {
                owned.pods.push(p);
            }
        }
        owned.pods.sort_by_key(|p| p.ordinal);
        if owned.pods.len() == replicas as usize
            && owned.pods.iter().all(|p| p.revision == revision)
        {
            owned.current_revision = update_revision;
        }
    }

    fn sync_daemonset(
        &mut self,
        obj: &Value,
        owned: &mut Owned,
        template: &Value,
        revision: &str,
        failure: &Failure,
    ) {
        let res = ids::daemonsets();
        let key = ObjKey::new(s(obj, "/metadata/namespace"), s(obj, "/metadata/name"));
        let spec = template.get("spec").cloned().unwrap_or(Value::Null);
        let nodes: Vec<usize> = (0..NODES.len())
            .filter(|&n| pods::node_matches(&spec, NODES[n]))
            .collect();
        self.drop_pods(owned, |_, p| {
            !nodes.contains(&p.node) || p.revision != revision
        });
        for n in nodes {
            if owned.pods.iter().any(|p| p.node == n) {
                continue;
            }
            let suffix = self.next_suffix(s(obj, "/metadata/uid"));
            let name = format!("{}-{suffix}", key.name);
            let mut labels = labels_of(template);
            labels.insert("controller-revision-hash".into(), json!(revision));
            labels.insert(
                "pod-template-generation".into(),
                json!(c::generation(obj).to_string()),
            );
            // The DaemonSet pins each pod to its node, so it is never unschedulable for
            // want of a node.
            let new = NewPod {
                node: n,
                name,
                generate_name: Some(format!("{}-", key.name)),
                ordinal: None,
                labels,
                owner: owner_ref("apps/v1", "DaemonSet", obj),
                completes: false,
            };
            if let Some(p) = self.create_pod((&res, &key), template, revision, failure, new) {
                owned.pods.push(p);
            }
        }
    }

    fn sync_job(
        &mut self,
        obj: &Value,
        owned: &mut Owned,
        template: &Value,
        revision: &str,
        failure: &Failure,
    ) {
        let res = ids::jobs();
        let key = ObjKey::new(s(obj, "/metadata/namespace"), s(obj, "/metadata/name"));
        if !owned.pods.is_empty()
            || obj.get("spec").and_then(|s| s.get("suspend")) == Some(&json!(true))
        {
            return;
        }
        let suffix = self.next_suffix(s(obj, "/metadata/uid"));
        let name = format!("{}-{suffix}", key.name);
        let new = NewPod {
            node: self.node_for(&name),
            name,
            generate_name: Some(format!("{}-", key.name)),
            ordinal: None,
            labels: labels_of(template),
            owner: owner_ref("batch/v1", "Job", obj),
            completes: true,
        };
        if let Some(p) = self.create_pod((&res, &key), template, revision, failure, new) {
            owned.pods.push(p);
        }
    }

    fn workload_status(
        &mut self,
        res: &ResourceId,
        key: &ObjKey,
        obj: &Value,
        owned: &Owned,
        revision: &str,
        replicas: i64,
    ) -> Value {
        let generation = c::generation(obj);
        let now = super::clock::now();
        let total = owned.pods.len() as i64;
        let ready = owned.pods.iter().filter(|p| p.ready()).count() as i64;
        let updated = owned.pods.iter().filter(|p| p.revision == revision).count() as i64;
        let name = s(obj, "/metadata/name");
        if *res == ids::deployments() {
            let rs = format!("{name}-{revision}");
            let updated_ready = owned
                .pods
                .iter()
                .filter(|p| p.revision == revision && p.ready())
                .count() as i64;
            let complete = updated == replicas && updated_ready == replicas && total == replicas;
            let deadline = obj
                .pointer("/spec/progressDeadlineSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(600);
            let id = (res.clone(), key.clone(), generation);
            let progressing = if complete {
                self.workloads.progress_since.remove(&id);
                cond(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{rs}\" has successfully progressed."),
                    &now,
                )
            } else {
                let since = *self
                    .workloads
                    .progress_since
                    .entry(id)
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
            };
            let available = if ready >= replicas - max_unavailable(obj, replicas) {
                cond(
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    &now,
                )
            } else {
                cond(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    &now,
                )
            };
            let mut st = json!({"observedGeneration": generation, "replicas": total,
                "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
                "conditions": [available, progressing]});
            if total > ready {
                st["unavailableReplicas"] = json!(total - ready);
            }
            st
        } else if *res == ids::statefulsets() {
            let update_revision = format!("{name}-{revision}");
            let current = if owned.current_revision == update_revision {
                updated
            } else {
                total - updated
            };
            json!({"observedGeneration": generation, "replicas": total, "readyReplicas": ready,
                   "currentReplicas": current, "updatedReplicas": updated,
                   "availableReplicas": ready, "currentRevision": owned.current_revision,
                   "updateRevision": update_revision, "collisionCount": 0})
        } else if *res == ids::daemonsets() {
            let spec = obj
                .pointer("/spec/template/spec")
                .cloned()
                .unwrap_or(Value::Null);
            let desired = NODES
                .iter()
                .filter(|n| pods::node_matches(&spec, n))
                .count() as i64;
            json!({"observedGeneration": generation, "desiredNumberScheduled": desired,
                   "currentNumberScheduled": total, "updatedNumberScheduled": updated,
                   "numberReady": ready, "numberAvailable": ready,
                   "numberUnavailable": desired - ready, "numberMisscheduled": 0})
        } else {
            let succeeded = owned.pods.iter().filter(|p| !p.active()).count() as i64;
            let active = total - succeeded;
            let start = obj
                .pointer("/status/startTime")
                .cloned()
                .unwrap_or_else(|| json!(now));
            if succeeded > 0 {
                let done = obj
                    .pointer("/status/completionTime")
                    .cloned()
                    .unwrap_or_else(|| json!(now));
                json!({"startTime": start, "completionTime": done, "succeeded": succeeded,
                       "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                       "conditions": [
                           {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": done, "lastTransitionTime": done},
                           {"type": "Complete", "status": "True", "lastProbeTime": done, "lastTransitionTime": done}]})
            } else {
                json!({"startTime": start, "active": active, "ready": ready, "terminating": 0,
                       "uncountedTerminatedPods": {}})
            }
        }
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
