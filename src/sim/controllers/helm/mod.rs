//! helm-controller: HelmChart template, dependsOn, source chain, values, release state
//! (Absent, Locked, Unmanaged, Failed, OutOfSync, Drifted, InSync), install/upgrade with
//! wait and timeout, remediation (uninstall / rollback), retries, drift detection and
//! correction, reconcile/force/reset tokens, suspend.

pub mod drift;
mod release;
pub mod render;
mod seed;
pub mod storage;
mod sync;
pub mod values;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Ctx;
use super::conditions::{self as c, s};
use super::events::{self, Kind};
use super::queue::Work;
use crate::domain::helm_storage::{ReleaseStatus, config_digest, observation_digest};
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, ResourceId};

pub use seed::seed_history;

/// Nominal delay before a changed managed object is checked for drift.
pub const DRIFT_CHECK_DELAY: Duration = Duration::from_secs(5);
/// Nominal delay before `driftDetection.mode: enabled` corrects drift.
pub const DRIFT_CORRECT_DELAY: Duration = Duration::from_secs(30);
const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(30);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// An install or upgrade waiting for its workloads.
#[derive(Clone, Debug)]
pub struct Inflight {
    pub upgrade: bool,
    pub version: i64,
    pub deadline: Instant,
    pub started: Instant,
    pub objects: Vec<(ResourceId, ObjKey)>,
}

/// In-memory state of the simulated helm-controller.
#[derive(Default)]
pub struct HelmState {
    pub inflight: HashMap<ObjKey, Inflight>,
    own: HashMap<(ResourceId, ObjKey), String>,
    releases: HashMap<(String, String), HashSet<ObjKey>>,
    drift_due: HashMap<ObjKey, Instant>,
    steps: HashMap<usize, usize>,
}

impl HelmState {
    pub fn waiting(&self, hr: &ObjKey) -> bool {
        self.inflight.contains_key(hr)
    }
    /// Whether this version of the object was written by the helm-controller itself.
    pub fn is_own_write(&self, res: &ResourceId, key: &ObjKey, obj: &Value) -> bool {
        self.own
            .get(&(res.clone(), key.clone()))
            .map(String::as_str)
            == obj
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
    }
    pub fn note_own(&mut self, res: &ResourceId, obj: &Value) {
        let key = ObjKey::new(s(obj, "/metadata/namespace"), s(obj, "/metadata/name"));
        self.own.insert(
            (res.clone(), key),
            s(obj, "/metadata/resourceVersion").to_string(),
        );
    }
    pub fn releases_named(&self, storage_ns: &str, release: &str) -> Vec<ObjKey> {
        self.releases
            .get(&(storage_ns.to_string(), release.to_string()))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
    /// How often timeline step `i` fired before (and count this firing).
    pub fn step_fired(&mut self, i: usize) -> usize {
        let n = self.steps.entry(i).or_default();
        let before = *n;
        *n += 1;
        before
    }
}

/// Release name per §3.2 (shortened above 53 characters).
pub fn release_name(hr: &Value) -> String {
    let name = s(hr, "/metadata/name");
    let full = match (s(hr, "/spec/releaseName"), s(hr, "/spec/targetNamespace")) {
        (r, _) if !r.is_empty() => r.to_string(),
        (_, t) if !t.is_empty() => format!("{t}-{name}"),
        _ => name.to_string(),
    };
    if full.len() > 53 {
        use sha2::Digest;
        let h = hex::encode(sha2::Sha256::digest(full.as_bytes()));
        format!("{}-{}", &full[..40], &h[..12])
    } else {
        full
    }
}

pub(crate) fn release_namespace(hr: &Value) -> String {
    match s(hr, "/spec/targetNamespace") {
        "" => s(hr, "/metadata/namespace").to_string(),
        t => t.to_string(),
    }
}

pub(crate) fn storage_namespace(hr: &Value) -> String {
    match s(hr, "/spec/storageNamespace") {
        "" => s(hr, "/metadata/namespace").to_string(),
        t => t.to_string(),
    }
}

/// The generated HelmChart (`namespace`, `name`) of an HR using `spec.chart`.
pub(crate) fn helmchart_key(hr: &Value) -> ObjKey {
    let ns = s(hr, "/metadata/namespace");
    let src_ns = match s(hr, "/spec/chart/spec/sourceRef/namespace") {
        "" => ns,
        n => n,
    };
    ObjKey::new(src_ns, &format!("{ns}-{}", s(hr, "/metadata/name")))
}

fn retries(hr: &Value, action: &str) -> i64 {
    hr.pointer(&format!("/spec/{action}/remediation/retries"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Everything a run needs about the HR and its desired release.
pub(crate) struct Desired {
    pub key: ObjKey,
    pub hr: Value,
    pub generation: i64,
    pub name: String,
    pub namespace: String,
    pub storage_ns: String,
    pub chart: crate::sim::scenario::ChartSpec,
    pub config: Map<String, Value>,
    pub timeout: Duration,
}

impl Desired {
    pub fn chart_ref(&self) -> String {
        format!("{}@{}", self.chart.name, self.chart.version)
    }
}

impl Ctx {
    pub(crate) fn reconcile_helmrelease(&mut self, key: &ObjKey) {
        let res = ids::helmreleases();
        let Some(hr) = self.store.get(&res, key) else {
            self.helm.inflight.remove(key);
            return;
        };
        let hr = (*hr).clone();
        if c::suspended(&hr) || hr.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let rel_name = release_name(&hr);
        let storage_ns = storage_namespace(&hr);
        self.helm
            .releases
            .entry((storage_ns.clone(), rel_name.clone()))
            .or_default()
            .insert(key.clone());
        if self.helm.inflight.contains_key(key) {
            self.check_inflight(key, &hr);
            return;
        }
        let work = Work::Hr(key.clone());
        let generation = c::generation(&hr);
        let interval = self.clock.scaled_str(
            hr.pointer("/spec/interval").and_then(Value::as_str),
            DEFAULT_INTERVAL,
        );
        let mut st = c::status_of(&hr);
        let requested = c::annotation(&hr, "reconcile.fluxcd.io/requestedAt").map(String::from);
        let force_token = c::annotation(&hr, "reconcile.fluxcd.io/forceAt").map(String::from);
        let reset_token = c::annotation(&hr, "reconcile.fluxcd.io/resetAt").map(String::from);
        let new_request = requested.is_some()
            && requested.as_deref() != st.get("lastHandledReconcileAt").and_then(Value::as_str);
        let force = new_request
            && force_token.is_some()
            && force_token == requested
            && force_token.as_deref() != st.get("lastHandledForceAt").and_then(Value::as_str);
        let reset = new_request
            && reset_token.is_some()
            && reset_token == requested
            && reset_token.as_deref() != st.get("lastHandledResetAt").and_then(Value::as_str);
        if let Some(t) = &requested {
            st.insert("lastHandledReconcileAt".into(), json!(t));
        }
        if let Some(t) = &force_token {
            st.insert("lastHandledForceAt".into(), json!(t));
        }
        if let Some(t) = &reset_token {
            st.insert("lastHandledResetAt".into(), json!(t));
        }
        // The HelmChart template.
        let mut watched = Vec::new();
        let (src_res, src_key, src_kind) = if hr.pointer("/spec/chart").is_some() {
            let hc_key = helmchart_key(&hr);
            let tpl = &hr["spec"]["chart"];
            let mut spec = tpl["spec"].clone();
            if spec.get("interval").is_none() {
                spec["interval"] = hr["spec"]["interval"].clone();
            }
            if let Some(m) = spec.as_object_mut() {
                m.entry("version").or_insert(json!("*"));
                m.entry("reconcileStrategy")
                    .or_insert(json!("ChartVersion"));
                if let Some(r) = m.get_mut("sourceRef").and_then(Value::as_object_mut) {
                    r.remove("namespace");
                    r.remove("apiVersion");
                }
            }
            let mut labels = tpl
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or(json!({}));
            labels["helm.toolkit.fluxcd.io/name"] = json!(key.name);
            labels["helm.toolkit.fluxcd.io/namespace"] = json!(key.namespace);
            let api = if s(&hr, "/apiVersion").ends_with("v2") {
                "source.toolkit.fluxcd.io/v1"
            } else {
                "source.toolkit.fluxcd.io/v1beta2"
            };
            let obj = json!({"apiVersion": api, "kind": "HelmChart",
                "metadata": {"name": hc_key.name, "namespace": hc_key.namespace, "labels": labels},
                "spec": spec});
            let _ = super::kustomize::apply(&self.store, &obj);
            st.insert(
                "helmChart".into(),
                json!(format!("{}/{}", hc_key.namespace, hc_key.name)),
            );
            (ids::helmcharts(), hc_key, "HelmChart".to_string())
        } else {
            let kind = s(&hr, "/spec/chartRef/kind").to_string();
            let ns = match s(&hr, "/spec/chartRef/namespace") {
                "" => key.namespace.as_str(),
                n => n,
            };
            let r = if kind == "HelmChart" {
                ids::helmcharts()
            } else {
                ids::ocirepositories()
            };
            (r, ObjKey::new(ns, s(&hr, "/spec/chartRef/name")), kind)
        };
        watched.push((src_res.clone(), src_key.clone()));
        let deps: Vec<ObjKey> = hr
            .pointer("/spec/dependsOn")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|d| d.get("readyExpr").is_none())
                    .map(|d| {
                        ObjKey::new(
                            d["namespace"].as_str().unwrap_or(&key.namespace),
                            d["name"].as_str().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        watched.extend(deps.iter().map(|d| (res.clone(), d.clone())));
        for vf in hr
            .pointer("/spec/valuesFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = if vf["kind"] == "Secret" {
                ids::secrets()
            } else {
                ids::configmaps()
            };
            watched.push((
                r,
                ObjKey::new(&key.namespace, vf["name"].as_str().unwrap_or_default()),
            ));
        }
        self.watch(&work, watched);
        // Dependencies.
        for d in &deps {
            let msg = match self.store.get(&res, d) {
                None => Some(format!(
                    "unable to get '{}/{}' dependency: helmreleases.helm.toolkit.fluxcd.io \"{}\" not found",
                    d.namespace, d.name, d.name
                )),
                Some(dep)
                    if c::generation(&dep) != c::observed_generation(&dep)
                        || !c::is_true(&dep, "Ready") =>
                {
                    Some(format!(
                        "dependency '{}/{}' is not ready",
                        d.namespace, d.name
                    ))
                }
                Some(_) => None,
            };
            if let Some(msg) = msg {
                c::set(
                    &mut st,
                    "Ready",
                    "False",
                    "DependencyNotReady",
                    &msg,
                    generation,
                );
                c::set(
                    &mut st,
                    "Reconciling",
                    "True",
                    "Progressing",
                    "Fulfilling prerequisites",
                    generation,
                );
                return self.hr_blocked(
                    &hr,
                    key,
                    st,
                    "DependencyNotReady",
                    &msg,
                    Kind::Normal,
                    self.clock.scaled(DEPENDENCY_REQUEUE),
                );
            }
        }
        // Source.
        let src = self.store.get(&src_res, &src_key);
        let Some(src) = src else {
            let msg = format!(
                "could not get Source object: {}.source.toolkit.fluxcd.io \"{}\" not found",
                src_res.plural, src_key.name
            );
            c::set(
                &mut st,
                "Ready",
                "False",
                "ArtifactFailed",
                &msg,
                generation,
            );
            return self.hr_blocked(
                &hr,
                key,
                st,
                "ArtifactFailed",
                &msg,
                Kind::Warning,
                self.clock.scaled(DEPENDENCY_REQUEUE),
            );
        };
        let src_ready =
            c::is_true(&src, "Ready") && c::generation(&src) == c::observed_generation(&src);
        let revision = s(&src, "/status/artifact/revision").to_string();
        if !src_ready || revision.is_empty() {
            let why = if c::generation(&src) != c::observed_generation(&src)
                && src.get("status").is_some()
            {
                "latest generation of object has not been reconciled".to_string()
            } else if let Some(cond) = c::get(&src, "Ready").filter(|x| x["status"] != "True") {
                s(cond, "/message").to_string()
            } else {
                "does not have an artifact".to_string()
            };
            let msg = format!(
                "{src_kind} '{}/{}' is not ready: {why}",
                src_key.namespace, src_key.name
            );
            c::set(
                &mut st,
                "Ready",
                "False",
                "SourceNotReady",
                &msg,
                generation,
            );
            return self.hr_blocked(
                &hr,
                key,
                st,
                "SourceNotReady",
                &msg,
                Kind::Normal,
                self.clock.scaled(DEPENDENCY_REQUEUE),
            );
        }
        // Values.
        let config = match values::compose(&self.store, &key.namespace, &hr["spec"]) {
            Ok(v) => v,
            Err(msg) => {
                c::set(&mut st, "Ready", "False", "ValuesError", &msg, generation);
                return self.hr_blocked(&hr, key, st, "ValuesError", &msg, Kind::Warning, interval);
            }
        };
        // Chart.
        let chart_name = if src_kind == "HelmChart" {
            super::sources::chart_name(s(&src, "/spec/chart")).to_string()
        } else {
            s(&src, "/spec/url")
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let version = if src_kind == "HelmChart" {
            revision.clone()
        } else {
            s(&src, "/spec/ref/tag").to_string()
        };
        let Some(chart) = self.scenario.chart(&chart_name, &version).cloned() else {
            let msg =
                format!("Could not load chart: chart '{chart_name}' version '{version}' not found");
            c::set(
                &mut st,
                "Ready",
                "False",
                "ArtifactFailed",
                &msg,
                generation,
            );
            return self.hr_blocked(
                &hr,
                key,
                st,
                "ArtifactFailed",
                &msg,
                Kind::Warning,
                interval,
            );
        };
        let timeout = hr
            .pointer("/spec/timeout")
            .and_then(Value::as_str)
            .and_then(super::clock::parse_duration)
            .unwrap_or(DEFAULT_TIMEOUT);
        let d = Desired {
            key: key.clone(),
            generation,
            name: rel_name,
            namespace: release_namespace(&hr),
            storage_ns,
            chart,
            config,
            timeout,
            hr: hr.clone(),
        };
        // Failure counters.
        let cfg_digest = config_digest(&d.config);
        let changed = st.get("lastAttemptedGeneration").and_then(Value::as_i64) != Some(generation)
            || st.get("lastAttemptedRevision").and_then(Value::as_str)
                != Some(d.chart.version.as_str())
            || st.get("lastAttemptedConfigDigest").and_then(Value::as_str)
                != Some(cfg_digest.as_str());
        if changed || reset {
            for k in ["failures", "installFailures", "upgradeFailures"] {
                st.remove(k);
            }
            c::remove(&mut st, "Stalled");
        }
        st.insert("lastAttemptedGeneration".into(), json!(generation));
        st.insert("lastAttemptedRevision".into(), json!(d.chart.version));
        st.insert("lastAttemptedConfigDigest".into(), json!(cfg_digest));
        st.insert("storageNamespace".into(), json!(d.storage_ns));
        self.decide(&d, st, force);
        self.queue.push_after(work, interval);
    }

    #[allow(clippy::too_many_arguments)]
    fn hr_blocked(
        &mut self,
        hr: &Value,
        key: &ObjKey,
        st: Map<String, Value>,
        reason: &str,
        msg: &str,
        kind: Kind,
        again: Duration,
    ) {
        let before = c::get(hr, "Ready").map(|x| x["message"].clone());
        let _ = self.write_status(&ids::helmreleases(), key, st);
        if before != Some(json!(msg)) {
            self.events
                .emit(&self.store, hr, kind, reason, msg, events::HELM, Map::new());
        }
        self.queue.push_after(Work::Hr(key.clone()), again);
    }

    /// Determine the release state and run the action.
    fn decide(&mut self, d: &Desired, mut st: Map<String, Value>, force: bool) {
        let recs = storage::records(&self.store, &d.storage_ns, &d.name);
        let latest = recs.values().next_back().cloned();
        let history: Vec<Value> = st
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let n = |k: &str, st: &Map<String, Value>| st.get(k).and_then(Value::as_i64).unwrap_or(0);
        let Some(latest) = latest.filter(|l| l.info.status != ReleaseStatus::Uninstalled) else {
            if n("installFailures", &st) > retries(&d.hr, "install") && !force {
                return self.stalled(d, st, "install");
            }
            return self.start_action(d, st, false);
        };
        if latest.info.status.is_pending() {
            return self.unlock(d, st, latest);
        }
        let observed = history.first().is_some_and(|h| {
            h["version"].as_i64() == Some(latest.version)
                && h["digest"].as_str() == Some(observation_digest(&latest).as_str())
        });
        if !observed {
            st.insert("history".into(), json!([]));
            return self.start_action(d, st, true);
        }
        if latest.info.status == ReleaseStatus::Failed {
            return self.remediate(d, st, &recs, force);
        }
        let out_of_sync = latest.chart.metadata.name != d.chart.name
            || latest.chart.metadata.version != d.chart.version
            || config_digest(&latest.config) != config_digest(&d.config);
        if out_of_sync || force {
            if n("upgradeFailures", &st) > retries(&d.hr, "upgrade") && !force {
                return self.stalled(d, st, "upgrade");
            }
            return self.start_action(d, st, true);
        }
        self.in_sync(d, st, &latest);
    }

    fn stalled(&mut self, d: &Desired, mut st: Map<String, Value>, action: &str) {
        let count = st
            .get(&format!("{action}Failures"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let msg = format!("Failed to {action} after {count} attempt(s)");
        let was = c::is_true(&d.hr, "Stalled");
        c::set(
            &mut st,
            "Stalled",
            "True",
            "RetriesExceeded",
            &msg,
            d.generation,
        );
        c::remove(&mut st, "Reconciling");
        st.insert("observedGeneration".into(), json!(d.generation));
        let _ = self.write_status(&ids::helmreleases(), &d.key, st);
        if !was {
            self.events.emit(
                &self.store,
                &d.hr,
                Kind::Warning,
                "RetriesExceeded",
                &msg,
                events::HELM,
                Map::new(),
            );
        }
    }
}
