//! kustomize-controller: checks the source and dependsOn (rules of the real controller;
//! `readyExpr` cannot be evaluated here and such entries are skipped), applies the objects
//! the scenario lists for the Kustomization with the ownership labels, prunes what left,
//! and records inventory, revisions, history, conditions and events.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Ctx;
use super::conditions::{self as c, s};
use super::events::{self, Kind};
use super::queue::Work;
use crate::domain::inventory::{format_id, parse_id};
use crate::sim::registry::ids;
use crate::sim::scenario::{Scenario, object_identity, parse_ns_name, resource_for_kind};
use crate::sim::store::{ObjKey, ResourceId, Store, StoreError, WriteOpts, WritePart};

const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(30);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

/// The objects each Kustomization applies (changed by timeline commits).
pub struct KsState {
    pub content: BTreeMap<ObjKey, Vec<Value>>,
}

impl KsState {
    pub fn new(scenario: &Scenario) -> Self {
        let content = scenario
            .kustomizations
            .iter()
            .filter_map(|(k, v)| parse_ns_name(k).ok().map(|key| (key, v.clone())))
            .collect();
        Self { content }
    }
}

/// Apply an object like server-side apply by another owner would: desired fields win,
/// maps merge, fields the desired object does not set stay (status is never touched).
pub fn apply(store: &Store, obj: &Value) -> Result<(bool, ResourceId, ObjKey), StoreError> {
    let (res, key) = object_identity(obj).map_err(StoreError::Invalid)?;
    let Some(cur) = store.get(&res, &key) else {
        store.create(&res, obj.clone(), WriteOpts::default())?;
        return Ok((true, res, key));
    };
    let mut merged = (*cur).clone();
    let mut desired = obj.clone();
    if let Some(m) = desired.as_object_mut() {
        m.remove("status");
    }
    c::deep_merge(&mut merged, &desired);
    let new = store.modify(&res, &key, WritePart::Main, WriteOpts::default(), |_| {
        Ok(Some(merged))
    })?;
    Ok((
        new.pointer("/metadata/resourceVersion") != cur.pointer("/metadata/resourceVersion"),
        res,
        key,
    ))
}

fn version_of(api_version: &str) -> &str {
    api_version.rsplit('/').next().unwrap_or(api_version)
}

impl Ctx {
    pub(crate) fn reconcile_kustomization(&mut self, key: &ObjKey) {
        let res = ids::kustomizations();
        let Some(ks) = self.store.get(&res, key) else {
            return;
        };
        if c::suspended(&ks) || ks.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let started = Instant::now();
        let work = Work::Ks(key.clone());
        let generation = c::generation(&ks);
        let interval_str = s(&ks, "/spec/interval").to_string();
        let interval = self.clock.scaled_str(Some(&interval_str), DEFAULT_INTERVAL);
        let retry = self.clock.scaled_str(
            ks.pointer("/spec/retryInterval").and_then(Value::as_str),
            super::clock::parse_duration(&interval_str).unwrap_or(DEFAULT_INTERVAL),
        );
        let mut st = c::status_of(&ks);
        if let Some(t) = c::annotation(&ks, "reconcile.fluxcd.io/requestedAt") {
            st.insert("lastHandledReconcileAt".into(), json!(t));
        }
        // Source.
        let src_kind = s(&ks, "/spec/sourceRef/kind").to_string();
        let src_name = s(&ks, "/spec/sourceRef/name").to_string();
        let src_ns = match s(&ks, "/spec/sourceRef/namespace") {
            "" => key.namespace.clone(),
            n => n.to_string(),
        };
        let src_res = resource_for_kind(&src_kind).map(|(r, _)| r);
        let src_key = ObjKey::new(&src_ns, &src_name);
        let mut watched = Vec::new();
        if let Some(r) = &src_res {
            watched.push((r.clone(), src_key.clone()));
        }
        let deps: Vec<(ObjKey, bool)> = ks
            .pointer("/spec/dependsOn")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|d| {
                        let ns = d["namespace"].as_str().unwrap_or(&key.namespace);
                        (
                            ObjKey::new(ns, d["name"].as_str().unwrap_or_default()),
                            d.get("readyExpr").is_some(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        watched.extend(deps.iter().map(|(k, _)| (res.clone(), k.clone())));
        self.watch(&work, watched);
        let src = src_res.as_ref().and_then(|r| self.store.get(r, &src_key));
        let revision = src
            .as_ref()
            .map(|o| s(o, "/status/artifact/revision").to_string())
            .unwrap_or_default();
        let fail = |ctx: &mut Ctx,
                    mut st: Map<String, Value>,
                    reason: &str,
                    msg: &str,
                    event: Kind,
                    again: Duration| {
            c::set(&mut st, "Ready", "False", reason, msg, generation);
            c::remove(&mut st, "Reconciling");
            let before = c::get(&ks, "Ready").map(|x| x["message"].clone());
            let _ = ctx.write_status(&res, key, st);
            if before != Some(json!(msg)) || event == Kind::Warning {
                let text = if reason == "DependencyNotReady" {
                    format!(
                        "Dependencies do not meet ready condition, retrying in {}",
                        super::clock::format_duration(DEPENDENCY_REQUEUE)
                    )
                } else {
                    msg.to_string()
                };
                ctx.events.emit(
                    &ctx.store,
                    &ks,
                    event,
                    reason,
                    &text,
                    events::KUSTOMIZE,
                    Map::new(),
                );
            }
            ctx.queue.push_after(Work::Ks(key.clone()), again);
        };
        match &src {
            None => {
                let msg = format!(
                    "unable to get source '{src_ns}/{src_name}': {}.source.toolkit.fluxcd.io \"{src_name}\" not found",
                    src_res
                        .map(|r| r.plural)
                        .unwrap_or_else(|| src_kind.to_lowercase())
                );
                return fail(self, st, "ArtifactFailed", &msg, Kind::Warning, retry);
            }
            Some(_) if revision.is_empty() => {
                let msg = format!(
                    "Source artifact not found, retrying in {}",
                    super::clock::format_duration(DEPENDENCY_REQUEUE)
                );
                return fail(
                    self,
                    st,
                    "ArtifactFailed",
                    &msg,
                    Kind::Normal,
                    self.clock.scaled(DEPENDENCY_REQUEUE),
                );
            }
            _ => {}
        }
        // Dependencies (first unready one is reported).
        for (dep, has_expr) in &deps {
            if *has_expr {
                continue;
            }
            let msg = match self.store.get(&res, dep) {
                None => Some(format!(
                    "dependency '{}/{}' not found: kustomizations.kustomize.toolkit.fluxcd.io \"{}\" not found",
                    dep.namespace, dep.name, dep.name
                )),
                Some(d) => {
                    let observed = d
                        .pointer("/status/conditions")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty())
                        && c::generation(&d) == c::observed_generation(&d);
                    if !observed || !c::is_true(&d, "Ready") {
                        Some(format!(
                            "dependency '{}/{}' is not ready",
                            dep.namespace, dep.name
                        ))
                    } else {
                        let same_source = s(&d, "/spec/sourceRef/kind") == src_kind
                            && s(&d, "/spec/sourceRef/name") == src_name
                            && (match s(&d, "/spec/sourceRef/namespace") {
                                "" => dep.namespace.as_str(),
                                n => n,
                            }) == src_ns;
                        if same_source && s(&d, "/status/lastAppliedRevision") != revision {
                            Some(format!(
                                "dependency '{}/{}' revision is not up to date",
                                dep.namespace, dep.name
                            ))
                        } else {
                            None
                        }
                    }
                }
            };
            if let Some(msg) = msg {
                return fail(
                    self,
                    st,
                    "DependencyNotReady",
                    &msg,
                    Kind::Normal,
                    self.clock.scaled(DEPENDENCY_REQUEUE),
                );
            }
        }
        // Apply.
        st.insert("lastAttemptedRevision".into(), json!(revision));
        let objects = self.kustomize.content.get(key).cloned().unwrap_or_default();
        let target_ns = s(&ks, "/spec/targetNamespace").to_string();
        let mut entries = Vec::new();
        let mut changes = Vec::new();
        let mut keep = HashSet::new();
        for mut o in objects {
            let labels = o
                .pointer_mut("/metadata")
                .and_then(Value::as_object_mut)
                .map(|m| m.entry("labels").or_insert_with(|| json!({})));
            if let Some(l) = labels.and_then(Value::as_object_mut) {
                l.insert("kustomize.toolkit.fluxcd.io/name".into(), json!(key.name));
                l.insert(
                    "kustomize.toolkit.fluxcd.io/namespace".into(),
                    json!(key.namespace),
                );
            }
            if !target_ns.is_empty()
                && let Ok((_, k)) = object_identity(&o)
                && !k.namespace.is_empty()
            {
                o["metadata"]["namespace"] = json!(target_ns);
            }
            let kind = s(&o, "/kind").to_string();
            let api = s(&o, "/apiVersion").to_string();
            match apply(&self.store, &o) {
                Ok((changed, r, k)) => {
                    let id = format_id(&k.namespace, &k.name, &r.group, &kind);
                    if changed {
                        let ns_part = if k.namespace.is_empty() {
                            String::new()
                        } else {
                            format!("{}/", k.namespace)
                        };
                        changes.push(format!("{kind}/{ns_part}{} configured", k.name));
                    }
                    keep.insert(id.clone());
                    entries.push(json!({"id": id, "v": version_of(&api)}));
                }
                Err(e) => {
                    let msg = format!("{kind}/{} apply failed: {e}", s(&o, "/metadata/name"));
                    return fail(self, st, "ReconciliationFailed", &msg, Kind::Warning, retry);
                }
            }
        }
        // Prune what left the inventory.
        if ks.pointer("/spec/prune").and_then(Value::as_bool) == Some(true)
            && let Some(old) = ks
                .pointer("/status/inventory/entries")
                .and_then(Value::as_array)
        {
            for e in old {
                let id = e["id"].as_str().unwrap_or_default();
                if keep.contains(id) {
                    continue;
                }
                if let Some(r) = parse_id(id, e["v"].as_str().unwrap_or("v1"))
                    && let Some((rid, _)) = resource_for_kind(&r.kind)
                    && self
                        .store
                        .delete(
                            &rid,
                            &ObjKey::new(&r.namespace, &r.name),
                            WriteOpts::default(),
                        )
                        .is_ok()
                {
                    changes.push(format!("{}/{}/{} deleted", r.kind, r.namespace, r.name));
                }
            }
        }
        let msg = format!("Applied revision: {revision}");
        c::set(
            &mut st,
            "Ready",
            "True",
            "ReconciliationSucceeded",
            &msg,
            generation,
        );
        c::remove(&mut st, "Reconciling");
        c::remove(&mut st, "Stalled");
        st.insert("observedGeneration".into(), json!(generation));
        st.insert("lastAppliedRevision".into(), json!(revision));
        st.insert("inventory".into(), json!({"entries": entries}));
        let elapsed = self.clock.nominal(started.elapsed());
        let digest = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(Value::Array(entries).to_string()))
        );
        let now = super::clock::now();
        let mut history: Vec<Value> = st
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let dur = super::clock::format_duration(Duration::from_millis(elapsed.as_millis() as u64));
        match history.iter_mut().find(|h| {
            h["digest"] == digest.as_str() && h["lastReconciledStatus"] == "ReconciliationSucceeded"
        }) {
            Some(h) => {
                h["lastReconciled"] = json!(now);
                h["lastReconciledDuration"] = json!(dur);
                h["totalReconciliations"] =
                    json!(h["totalReconciliations"].as_i64().unwrap_or(0) + 1);
            }
            None => {
                history.insert(0, json!({"digest": digest, "firstReconciled": now, "lastReconciled": now,
                    "lastReconciledDuration": dur, "lastReconciledStatus": "ReconciliationSucceeded",
                    "totalReconciliations": 1, "metadata": {"revision": revision}}));
                history.truncate(5);
            }
        }
        let changed_revision = s(&ks, "/status/lastAppliedRevision") != revision
            || !c::is_true(&ks, "Ready")
            || c::observed_generation(&ks) != generation;
        if changed_revision || !changes.is_empty() {
            st.insert("history".into(), Value::Array(history));
        }
        let _ = self.write_status(&res, key, st);
        let mut ann = Map::new();
        ann.insert(
            "kustomize.toolkit.fluxcd.io/revision".into(),
            json!(revision),
        );
        if !changes.is_empty() {
            self.events.emit(
                &self.store,
                &ks,
                Kind::Normal,
                "Progressing",
                &changes.join("\n"),
                events::KUSTOMIZE,
                ann.clone(),
            );
        }
        if changed_revision || !changes.is_empty() {
            let text = format!("Reconciliation finished in {dur}, next run in {interval_str}");
            self.events.emit(
                &self.store,
                &ks,
                Kind::Normal,
                "ReconciliationSucceeded",
                &text,
                events::KUSTOMIZE,
                ann,
            );
        }
        self.queue.push_after(work, interval);
    }
}
