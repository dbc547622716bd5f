//! Helm actions of the simulated helm-controller: install and upgrade (pending record,
//! apply objects, wait for workloads until the scaled timeout), success and failure
//! bookkeeping, remediation (uninstall after a failed install, rollback after a failed
//! upgrade), unlocking stale pending records, and seeding past revisions from a scenario.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{Desired, Inflight, render, retries, storage};
use crate::domain::helm_storage::{
    Chart, ChartFile, ChartMetadata, Info, Release, ReleaseStatus, config_digest,
};
use crate::domain::inventory::format_id;
use crate::sim::controllers::Ctx;
use crate::sim::controllers::conditions::{self as c, s};
use crate::sim::controllers::events::{self, Kind};
use crate::sim::controllers::queue::Work;
use crate::sim::controllers::{clock, is_workload, workloads};
use crate::sim::registry::ids;
use crate::sim::scenario::{ChartSpec, object_identity};
use crate::sim::store::{ObjKey, StoreError};

/// Add the metadata helm-controller and Helm put on rendered objects.
pub(crate) fn with_helm_metadata(mut o: Value, d: &Desired) -> Value {
    if let Ok((_, k)) = object_identity(&json!({"apiVersion": o["apiVersion"], "kind": o["kind"],
        "metadata": {"name": o["metadata"]["name"], "namespace": "x"}}))
        && !k.namespace.is_empty()
        && o.pointer("/metadata/namespace").is_none()
    {
        o["metadata"]["namespace"] = json!(d.namespace);
    }
    if !o["metadata"]["labels"].is_object() {
        o["metadata"]["labels"] = json!({});
    }
    o["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"] = json!(d.key.name);
    o["metadata"]["labels"]["helm.toolkit.fluxcd.io/namespace"] = json!(d.key.namespace);
    o["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
    if !o["metadata"]["annotations"].is_object() {
        o["metadata"]["annotations"] = json!({});
    }
    o["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!(d.name);
    o["metadata"]["annotations"]["meta.helm.sh/release-namespace"] = json!(d.namespace);
    o
}

/// Event annotations helm-controller sets.
pub(crate) fn event_annotations(rel: &Release) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "helm.toolkit.fluxcd.io/revision".into(),
        json!(rel.chart.metadata.version),
    );
    m.insert(
        "helm.toolkit.fluxcd.io/token".into(),
        json!(config_digest(&rel.config)),
    );
    if !rel.chart.metadata.app_version.is_empty() {
        m.insert(
            "helm.toolkit.fluxcd.io/app-version".into(),
            json!(rel.chart.metadata.app_version),
        );
    }
    m
}

/// `info.description` of a failed install (`Release "<name>" failed: <err>`) or upgrade
/// (`Upgrade "<name>" failed: <err>`), as Helm writes them.
pub(super) fn failure_description(name: &str, upgrade: bool, err: &str) -> String {
    if upgrade {
        format!("Upgrade \"{name}\" failed: {err}")
    } else {
        format!("Release \"{name}\" failed: {err}")
    }
}

pub(super) fn build_release(
    chart: &ChartSpec,
    name: &str,
    ns: &str,
    version: i64,
    config: &Map<String, Value>,
) -> Result<Release, String> {
    let computed = render::coalesce(&chart.values, config);
    let r = render::render(chart, name, ns, &computed)?;
    let now = Utc::now().fixed_offset();
    Ok(Release {
        name: name.to_string(),
        namespace: ns.to_string(),
        version,
        info: Info {
            first_deployed: Some(now),
            last_deployed: Some(now),
            ..Default::default()
        },
        chart: Chart {
            metadata: ChartMetadata {
                name: chart.name.clone(),
                version: chart.version.clone(),
                app_version: chart.app_version.clone(),
                api_version: "v2".into(),
                description: chart.description.clone(),
                type_: "application".into(),
                extra: Map::new(),
            },
            templates: chart
                .templates
                .iter()
                .map(|t| ChartFile {
                    name: t.name.clone(),
                    data: STANDARD.encode(&t.content),
                })
                .collect(),
            values: chart.values.clone(),
            ..Default::default()
        },
        config: config.clone(),
        manifest: r.manifest,
        hooks: vec![],
        apply_method: Some("ssa".into()),
    })
}

/// Apply a release's objects, delete those of `previous` that are gone; returns the
/// applied objects' ids and inventory entries.
#[allow(clippy::type_complexity)]
fn apply_objects(
    ctx: &mut Ctx,
    d: &Desired,
    rel: &Release,
    previous: Option<&Release>,
) -> Result<(Vec<(crate::sim::store::ResourceId, ObjKey)>, Vec<Value>), StoreError> {
    let objs: Vec<Value> = render::manifest_objects(&rel.manifest)
        .into_iter()
        .map(|o| with_helm_metadata(o, d))
        .collect();
    let mut ids_out = Vec::new();
    let mut entries = Vec::new();
    for o in &objs {
        let (_, res, key) = crate::sim::controllers::kustomize::apply(&ctx.store, o)?;
        if let Some(live) = ctx.store.get(&res, &key) {
            ctx.helm.note_own(&res, &live);
        }
        let api = s(o, "/apiVersion");
        entries.push(
            json!({"id": format_id(&key.namespace, &key.name, &res.group, s(o, "/kind")),
                            "v": api.rsplit('/').next().unwrap_or(api)}),
        );
        ids_out.push((res, key));
    }
    if let Some(p) = previous {
        for o in render::manifest_objects(&p.manifest)
            .into_iter()
            .map(|o| with_helm_metadata(o, d))
        {
            if let Ok((res, key)) = object_identity(&o)
                && !ids_out.contains(&(res.clone(), key.clone()))
            {
                let _ = ctx.store.delete(&res, &key, Default::default());
            }
        }
    }
    Ok((ids_out, entries))
}

impl Ctx {
    /// Write a record; a new one first makes room within `spec.maxHistory`, like Helm.
    fn save(&mut self, d: &Desired, rel: &Release, create: bool) {
        if create {
            storage::make_room(
                &self.store,
                &d.storage_ns,
                &d.name,
                storage::max_history(&d.hr),
            );
        }
        if let Ok(sec) = storage::write(&self.store, &d.storage_ns, rel, create) {
            self.helm.note_own(&ids::secrets(), &sec);
        }
    }

    /// Start an install (`upgrade == false`) or upgrade: pending record, objects, wait.
    pub(super) fn start_action(&mut self, d: &Desired, mut st: Map<String, Value>, upgrade: bool) {
        let recs = storage::records(&self.store, &d.storage_ns, &d.name);
        let previous = recs.values().next_back().cloned();
        let version = previous.as_ref().map_or(1, |p| p.version + 1);
        let action = if upgrade { "upgrade" } else { "install" };
        let mut rel = match build_release(&d.chart, &d.name, &d.namespace, version, &d.config) {
            Ok(r) => r,
            Err(e) => {
                c::set(
                    &mut st,
                    "Ready",
                    "False",
                    "ArtifactFailed",
                    &format!("Could not load chart: {e}"),
                    d.generation,
                );
                let _ = self.write_status(&ids::helmreleases(), &d.key, st);
                return;
            }
        };
        if let Some(first) = previous.as_ref().and_then(|p| p.info.first_deployed) {
            rel.info.first_deployed = Some(first);
        }
        rel.info.status = if upgrade {
            ReleaseStatus::PendingUpgrade
        } else {
            ReleaseStatus::PendingInstall
        };
        rel.info.description = if upgrade {
            "Preparing upgrade".into()
        } else {
            "Initial install underway".into()
        };
        self.save(d, &rel, true);
        let objects = match apply_objects(self, d, &rel, previous.as_ref()) {
            Ok((objs, entries)) => {
                st.insert("inventory".into(), json!({"entries": entries}));
                objs
            }
            Err(e) => {
                return self.finish_failure(d, st, rel, upgrade, &e.to_string());
            }
        };
        let msg = format!(
            "Running '{action}' action with timeout of {}",
            clock::format_duration(d.timeout)
        );
        c::set(
            &mut st,
            "Reconciling",
            "True",
            "Progressing",
            &msg,
            d.generation,
        );
        c::set(
            &mut st,
            "Ready",
            "Unknown",
            "Progressing",
            &msg,
            d.generation,
        );
        st.insert("lastAttemptedReleaseAction".into(), json!(action));
        let _ = self.write_status(&ids::helmreleases(), &d.key, st);
        let now = Instant::now();
        let deadline = now + self.clock.scaled(d.timeout);
        let disable_wait =
            d.hr.pointer(&format!("/spec/{action}/disableWait"))
                .and_then(Value::as_bool)
                == Some(true);
        self.helm.inflight.insert(
            d.key.clone(),
            Inflight {
                upgrade,
                version,
                deadline: if disable_wait { now } else { deadline },
                started: now,
                objects,
            },
        );
        self.queue.push_now(Work::Hr(d.key.clone()));
    }

    /// Check a waiting install/upgrade.
    pub(super) fn check_inflight(&mut self, key: &ObjKey, hr: &Value) {
        let Some(op) = self.helm.inflight.get(key).cloned() else {
            return;
        };
        let d = match self.desired_for_inflight(key, hr) {
            Some(d) => d,
            None => {
                self.helm.inflight.remove(key);
                return;
            }
        };
        let recs = storage::records(&self.store, &d.storage_ns, &d.name);
        let Some(rel) = recs.get(&op.version).cloned() else {
            self.helm.inflight.remove(key);
            return;
        };
        let disable_wait = op.deadline <= op.started;
        let not_ready: Vec<&(crate::sim::store::ResourceId, ObjKey)> = op
            .objects
            .iter()
            .filter(|(r, k)| {
                is_workload(r)
                    && !self
                        .store
                        .get(r, k)
                        .is_some_and(|o| workloads::is_ready(r, &o))
            })
            .collect();
        let st = c::status_of(hr);
        if not_ready.is_empty() || disable_wait {
            self.helm.inflight.remove(key);
            let took = self.clock.nominal(op.started.elapsed());
            let mut st = st;
            st.insert(
                "lastAttemptedReleaseActionDuration".into(),
                json!(clock::format_duration(took)),
            );
            return self.finish_success(&d, st, rel, op.upgrade, &recs);
        }
        if Instant::now() >= op.deadline {
            self.helm.inflight.remove(key);
            let (r, k) = not_ready[0];
            let kind = crate::sim::registry::builtin(crate::sim::registry::FluxApiLevel::Current)
                .into_iter()
                .find(|t| t.id() == *r)
                .map(|t| t.kind)
                .unwrap_or_default();
            let err = format!(
                "resource not ready, name: {}, kind: {kind}, status: InProgress\ncontext deadline exceeded",
                k.name
            );
            return self.finish_failure(&d, st, rel, op.upgrade, &err);
        }
        self.queue
            .push_after(Work::Hr(key.clone()), op.deadline - Instant::now());
    }

    fn desired_for_inflight(&self, key: &ObjKey, hr: &Value) -> Option<Desired> {
        let name = super::release_name(hr);
        let storage_ns = super::storage_namespace(hr);
        let recs = storage::records(&self.store, &storage_ns, &name);
        let latest = recs.values().next_back()?;
        let chart = self
            .scenario
            .chart(&latest.chart.metadata.name, &latest.chart.metadata.version)?
            .clone();
        Some(Desired {
            key: key.clone(),
            hr: hr.clone(),
            generation: c::generation(hr),
            name,
            namespace: super::release_namespace(hr),
            storage_ns,
            chart,
            config: latest.config.clone(),
            timeout: super::DEFAULT_TIMEOUT,
        })
    }

    fn finish_success(
        &mut self,
        d: &Desired,
        mut st: Map<String, Value>,
        mut rel: Release,
        upgrade: bool,
        recs: &BTreeMap<i64, Release>,
    ) {
        for old in recs
            .values()
            .filter(|r| r.version != rel.version && r.info.status == ReleaseStatus::Deployed)
        {
            let mut o = old.clone();
            o.info.status = ReleaseStatus::Superseded;
            self.save(d, &o, false);
        }
        rel.info.status = ReleaseStatus::Deployed;
        rel.info.description = if upgrade {
            "Upgrade complete".into()
        } else {
            "Install complete".into()
        };
        self.save(d, &rel, false);
        let recs = storage::records(&self.store, &d.storage_ns, &d.name);
        let action = if upgrade { "upgrade" } else { "install" };
        let mut history: Vec<Value> = st
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        history.retain(|h| h["version"].as_i64() != Some(rel.version));
        history.insert(0, storage::snapshot(&rel, action));
        storage::refresh_history(&mut history, &recs);
        st.insert("history".into(), Value::Array(history));
        let (reason, verb) = if upgrade {
            ("UpgradeSucceeded", "upgrade")
        } else {
            ("InstallSucceeded", "install")
        };
        let msg = format!(
            "Helm {verb} succeeded for release {} with chart {}",
            rel.full_name(),
            rel.chart_ref()
        );
        c::set(&mut st, "Released", "True", reason, &msg, d.generation);
        c::set(&mut st, "Ready", "True", reason, &msg, d.generation);
        for t in ["Reconciling", "Stalled", "Remediated"] {
            c::remove(&mut st, t);
        }
        let mode = s(&d.hr, "/spec/driftDetection/mode");
        if mode == "warn" || mode == "enabled" {
            c::set(
                &mut st,
                "Drifted",
                "False",
                "NoDriftDetected",
                "No drift detected against the cluster state",
                d.generation,
            );
        }
        st.insert("observedGeneration".into(), json!(d.generation));
        let _ = self.write_status(&ids::helmreleases(), &d.key, st);
        let hr = self
            .store
            .get(&ids::helmreleases(), &d.key)
            .map(|h| (*h).clone())
            .unwrap_or_else(|| d.hr.clone());
        self.events.emit(
            &self.store,
            &hr,
            Kind::Normal,
            reason,
            &msg,
            events::HELM,
            event_annotations(&rel),
        );
    }

    fn finish_failure(
        &mut self,
        d: &Desired,
        mut st: Map<String, Value>,
        mut rel: Release,
        upgrade: bool,
        err: &str,
    ) {
        rel.info.status = ReleaseStatus::Failed;
        rel.info.description = failure_description(&rel.name, upgrade, err);
        self.save(d, &rel, false);
        let recs = storage::records(&self.store, &d.storage_ns, &d.name);
        let (action, reason) = if upgrade {
            ("upgrade", "UpgradeFailed")
        } else {
            ("install", "InstallFailed")
        };
        let msg = format!(
            "Helm {action} failed for release {}/{} with chart {}: {err}",
            d.namespace,
            d.name,
            d.chart_ref()
        );
        let bump = |st: &mut Map<String, Value>, k: &str| {
            let n = st.get(k).and_then(Value::as_i64).unwrap_or(0) + 1;
            st.insert(k.into(), json!(n));
        };
        bump(&mut st, "failures");
        bump(&mut st, &format!("{action}Failures"));
        let mut history: Vec<Value> = st
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        history.retain(|h| h["version"].as_i64() != Some(rel.version));
        history.insert(0, storage::snapshot(&rel, action));
        storage::refresh_history(&mut history, &recs);
        st.insert("history".into(), Value::Array(history));
        c::set(&mut st, "Released", "False", reason, &msg, d.generation);
        c::set(&mut st, "Ready", "False", reason, &msg, d.generation);
        let logs = format!(
            "{msg}\n\nLast Helm logs:\n\nbeginning wait for resources with timeout of {}\n{err}",
            clock::format_duration(d.timeout)
        );
        self.events.emit(
            &self.store,
            &d.hr,
            Kind::Warning,
            reason,
            &logs,
            events::HELM,
            event_annotations(&rel),
        );
        self.remediate(d, st, &recs, false);
    }

    /// Remediation after a failed release, or Stalled when retries are exhausted.
    pub(super) fn remediate(
        &mut self,
        d: &Desired,
        mut st: Map<String, Value>,
        recs: &BTreeMap<i64, Release>,
        force: bool,
    ) {
        let upgrade =
            st.get("lastAttemptedReleaseAction").and_then(Value::as_str) == Some("upgrade");
        let action = if upgrade { "upgrade" } else { "install" };
        let failures = st
            .get(&format!("{action}Failures"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let max = retries(&d.hr, action);
        if force {
            return self.start_action(d, st, true);
        }
        let remediate_last =
            d.hr.pointer("/spec/upgrade/remediation/remediateLastFailure")
                .and_then(Value::as_bool)
                .unwrap_or(max > 0);
        if failures > max && !(upgrade && remediate_last && failures == max + 1) {
            return self.stalled(d, st, action);
        }
        let Some(failed) = recs.values().next_back().cloned() else {
            return;
        };
        let retry = self.clock.scaled_str(
            d.hr.pointer(&format!("/spec/{action}/strategy/retryInterval"))
                .and_then(Value::as_str),
            std::time::Duration::from_secs(10),
        );
        if !upgrade {
            // Install remediation: uninstall.
            for o in render::manifest_objects(&failed.manifest)
                .into_iter()
                .map(|o| with_helm_metadata(o, d))
            {
                if let Ok((r, k)) = object_identity(&o) {
                    let _ = self.store.delete(&r, &k, Default::default());
                }
            }
            for v in recs.keys() {
                storage::delete(&self.store, &d.storage_ns, &d.name, *v);
            }
            let msg = format!(
                "Helm uninstall remediation for release {} with chart {} succeeded",
                failed.full_name(),
                failed.chart_ref()
            );
            c::set(
                &mut st,
                "Remediated",
                "True",
                "UninstallSucceeded",
                &msg,
                d.generation,
            );
            c::set(
                &mut st,
                "Ready",
                "False",
                "UninstallSucceeded",
                &msg,
                d.generation,
            );
            c::remove(&mut st, "Reconciling");
            let _ = self.write_status(&ids::helmreleases(), &d.key, st);
            self.events.emit(
                &self.store,
                &d.hr,
                Kind::Normal,
                "UninstallSucceeded",
                &msg,
                events::HELM,
                event_annotations(&failed),
            );
            self.queue.push_after(Work::Hr(d.key.clone()), retry);
            return;
        }
        // Upgrade remediation: roll back to the previous successful release.
        let history: Vec<Value> = st
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let target = history
            .iter()
            .skip(1)
            .find(|h| h["status"] == "deployed" || h["status"] == "superseded")
            .and_then(|h| h["version"].as_i64())
            .and_then(|v| recs.get(&v).cloned());
        let Some(target) = target else {
            let msg = "Failed to perform remediation: missing target release for rollback";
            c::set(
                &mut st,
                "Stalled",
                "True",
                "MissingRollbackTarget",
                msg,
                d.generation,
            );
            c::remove(&mut st, "Reconciling");
            let _ = self.write_status(&ids::helmreleases(), &d.key, st);
            return;
        };
        let mut rb = target.clone();
        rb.version = failed.version + 1;
        rb.info.first_deployed = failed.info.first_deployed;
        rb.info.last_deployed = Some(Utc::now().fixed_offset());
        rb.info.status = ReleaseStatus::PendingRollback;
        rb.info.description = format!("Rollback to {}", target.version);
        rb.info.rollback_revision = Some(target.version);
        self.save(d, &rb, true);
        let _ = apply_objects(self, d, &rb, Some(&failed));
        for old in storage::records(&self.store, &d.storage_ns, &d.name)
            .values()
            .filter(|r| r.version != rb.version && r.info.status == ReleaseStatus::Deployed)
        {
            let mut o = old.clone();
            o.info.status = ReleaseStatus::Superseded;
            self.save(d, &o, false);
        }
        rb.info.status = ReleaseStatus::Deployed;
        self.save(d, &rb, false);
        let recs = storage::records(&self.store, &d.storage_ns, &d.name);
        let mut history = history;
        history.insert(0, storage::snapshot(&rb, "rollback"));
        storage::refresh_history(&mut history, &recs);
        st.insert("history".into(), Value::Array(history));
        let msg = format!(
            "Helm rollback to previous release {} with chart {} succeeded",
            target.full_name(),
            target.chart_ref()
        );
        c::set(
            &mut st,
            "Remediated",
            "True",
            "RollbackSucceeded",
            &msg,
            d.generation,
        );
        c::set(
            &mut st,
            "Ready",
            "False",
            "RollbackSucceeded",
            &msg,
            d.generation,
        );
        c::remove(&mut st, "Reconciling");
        let _ = self.write_status(&ids::helmreleases(), &d.key, st);
        self.events.emit(
            &self.store,
            &d.hr,
            Kind::Normal,
            "RollbackSucceeded",
            &msg,
            events::HELM,
            event_annotations(&rb),
        );
        self.queue.push_after(Work::Hr(d.key.clone()), retry);
    }

    /// A stale `pending-*` record: mark it failed.
    pub(super) fn unlock(&mut self, d: &Desired, mut st: Map<String, Value>, mut rel: Release) {
        let pending = rel.info.status;
        rel.info.status = ReleaseStatus::Failed;
        rel.info.description = format!("Release unlocked from stale '{pending}' state");
        self.save(d, &rel, false);
        let msg = format!(
            "Unlocked Helm release {} with chart {} in {pending} state",
            rel.full_name(),
            rel.chart_ref()
        );
        c::set(
            &mut st,
            "Released",
            "False",
            "PendingRelease",
            &msg,
            d.generation,
        );
        let _ = self.write_status(&ids::helmreleases(), &d.key, st);
        self.queue.push_now(Work::Hr(d.key.clone()));
    }
}
