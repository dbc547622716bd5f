//! source-controller: GitRepository, OCIRepository, HelmRepository (OCI type is static),
//! HelmChart and Bucket get an artifact (revision format per kind), conditions
//! Ready/ArtifactInStorage, observedGeneration and lastHandledReconcileAt. A scenario can make
//! a source fail and recover, and publish new revisions (commits).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Ctx;
use super::conditions::{self as c, s};
use super::events::{self, Kind};
use super::queue::Work;
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, ResourceId, WriteOpts, WritePart};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
const STORAGE: &str = "http://source-controller.flux-system.svc.cluster.local.";

/// Per-source simulated state: commit counters and active failures.
#[derive(Default)]
pub struct SourceState {
    commits: HashMap<(ResourceId, ObjKey), u64>,
    failures: HashMap<(ResourceId, ObjKey), (String, String)>,
}

impl SourceState {
    pub fn commit(&mut self, res: &ResourceId, key: &ObjKey) {
        *self.commits.entry((res.clone(), key.clone())).or_default() += 1;
    }
    pub fn fail(&mut self, res: &ResourceId, key: &ObjKey, reason: &str, message: &str) {
        self.failures.insert(
            (res.clone(), key.clone()),
            (reason.to_string(), message.to_string()),
        );
    }
    pub fn recover(&mut self, res: &ResourceId, key: &ObjKey) {
        self.failures.remove(&(res.clone(), key.clone()));
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The name of the chart a HelmChart refers to (`./charts/app` → `app`).
pub fn chart_name(chart: &str) -> &str {
    chart
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(chart)
}

impl Ctx {
    fn source_revision(&self, res: &ResourceId, key: &ObjKey, obj: &Value) -> String {
        let n = self
            .sources
            .commits
            .get(&(res.clone(), key.clone()))
            .copied()
            .unwrap_or(0);
        let h = sha256_hex(&format!(
            "{}/{}/{}/{n}",
            res.plural, key.namespace, key.name
        ));
        if *res == ids::gitrepositories() {
            let tag = s(obj, "/spec/ref/tag");
            let branch = s(obj, "/spec/ref/branch");
            let name = if !tag.is_empty() {
                tag
            } else if !branch.is_empty() {
                branch
            } else {
                "main"
            };
            format!("{name}@sha1:{}", &h[..40])
        } else if *res == ids::ocirepositories() {
            let tag = s(obj, "/spec/ref/tag");
            format!("{}@sha256:{h}", if tag.is_empty() { "latest" } else { tag })
        } else {
            format!("sha256:{h}")
        }
    }

    pub(crate) fn reconcile_source(&mut self, res: &ResourceId, key: &ObjKey) {
        let Some(obj) = self.store.get(res, key) else {
            return;
        };
        if c::suspended(&obj) || obj.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let interval = self.clock.scaled_str(
            obj.pointer("/spec/interval").and_then(Value::as_str),
            DEFAULT_INTERVAL,
        );
        let work = Work::Source(res.clone(), key.clone());
        if *res == ids::helmrepositories() && s(&obj, "/spec/type") == "oci" {
            // Static: source-controller resets the whole status.
            let _ = self
                .store
                .modify(res, key, WritePart::Status, WriteOpts::default(), |cur| {
                    let mut n = cur.clone();
                    n["status"] = json!({});
                    Ok(Some(n))
                });
            return;
        }
        let generation = c::generation(&obj);
        let failure = self
            .sources
            .failures
            .get(&(res.clone(), key.clone()))
            .cloned();
        let mut st = c::status_of(&obj);
        st.insert("observedGeneration".into(), json!(generation));
        if let Some(t) = c::annotation(&obj, "reconcile.fluxcd.io/requestedAt") {
            st.insert("lastHandledReconcileAt".into(), json!(t));
        }
        let (artifact, chart_info) = if *res == ids::helmcharts() {
            match self.helmchart_artifact(&obj) {
                Ok((a, info)) => (Some(a), Some(info)),
                Err((reason, message)) => {
                    self.source_failed(&obj, res, key, st, &reason, &message, generation);
                    self.queue.push_after(work, interval);
                    return;
                }
            }
        } else {
            (None, None)
        };
        if let Some((reason, message)) = failure {
            self.source_failed(&obj, res, key, st, &reason, &message, generation);
            self.queue.push_after(work, interval);
            return;
        }
        let artifact = artifact.unwrap_or_else(|| {
            let rev = self.source_revision(res, key, &obj);
            let kind_dir = res.plural.trim_end_matches("ies").trim_end_matches('s');
            let kind_dir = if *res == ids::gitrepositories() {
                "gitrepository"
            } else if *res == ids::ocirepositories() {
                "ocirepository"
            } else if *res == ids::helmrepositories() {
                "helmrepository"
            } else {
                kind_dir
            };
            let digest = sha256_hex(&rev);
            let file = if *res == ids::helmrepositories() {
                format!("index-{}.yaml", &digest[..16])
            } else {
                format!("{}.tar.gz", &digest[..16])
            };
            let path = format!("{kind_dir}/{}/{}/{file}", key.namespace, key.name);
            json!({"revision": rev, "digest": format!("sha256:{digest}"),
                   "path": path, "url": format!("{STORAGE}/{path}"), "size": 4096 + (digest.len() as i64) * 37})
        });
        let rev = artifact["revision"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let old_rev = s(&obj, "/status/artifact/revision").to_string();
        let mut artifact = artifact;
        if old_rev == rev
            && let Some(t) = obj.pointer("/status/artifact/lastUpdateTime")
        {
            artifact["lastUpdateTime"] = t.clone();
        }
        if artifact.get("lastUpdateTime").is_none() {
            artifact["lastUpdateTime"] = json!(super::clock::now());
        }
        st.insert(
            "url".into(),
            json!(format!(
                "{STORAGE}/{}",
                s(&artifact, "/path")
                    .rsplit_once('/')
                    .map_or("", |(d, _)| d)
            )),
        );
        st.insert("artifact".into(), artifact);
        let (reason, message) = match &chart_info {
            Some((reason, message, extra)) => {
                for (k, v) in extra {
                    st.insert(k.clone(), v.clone());
                }
                (reason.clone(), message.clone())
            }
            None => (
                "Succeeded".to_string(),
                format!("stored artifact for revision '{rev}'"),
            ),
        };
        c::set(&mut st, "Ready", "True", &reason, &message, generation);
        c::set(
            &mut st,
            "ArtifactInStorage",
            "True",
            &reason,
            &message,
            generation,
        );
        for t in ["FetchFailed", "Reconciling", "Stalled", "BuildFailed"] {
            c::remove(&mut st, t);
        }
        let was_ready = c::is_true(&obj, "Ready");
        let _ = self.write_status(res, key, st);
        if old_rev != rev || !was_ready {
            let reason = if chart_info.is_some() {
                reason.as_str()
            } else {
                "NewArtifact"
            };
            self.events.emit(
                &self.store,
                &obj,
                Kind::Normal,
                reason,
                &message,
                events::SOURCE,
                Map::new(),
            );
        }
        self.queue.push_after(work, interval);
    }

    #[allow(clippy::too_many_arguments)]
    fn source_failed(
        &mut self,
        obj: &Value,
        res: &ResourceId,
        key: &ObjKey,
        mut st: Map<String, Value>,
        reason: &str,
        message: &str,
        generation: i64,
    ) {
        c::set(&mut st, "Ready", "False", reason, message, generation);
        c::set(&mut st, "FetchFailed", "True", reason, message, generation);
        let was = c::get(obj, "Ready").map(|x| x["message"].clone());
        let _ = self.write_status(res, key, st);
        if was != Some(json!(message)) {
            self.events.emit(
                &self.store,
                obj,
                Kind::Warning,
                reason,
                message,
                events::SOURCE,
                Map::new(),
            );
        }
    }

    /// A HelmChart's artifact from its source and the scenario's charts, or the failure.
    #[allow(clippy::type_complexity)]
    fn helmchart_artifact(
        &mut self,
        obj: &Value,
    ) -> Result<(Value, (String, String, Vec<(String, Value)>)), (String, String)> {
        let ns = s(obj, "/metadata/namespace").to_string();
        let name = s(obj, "/metadata/name").to_string();
        let kind = s(obj, "/spec/sourceRef/kind").to_string();
        let src_name = s(obj, "/spec/sourceRef/name").to_string();
        let res = match kind.as_str() {
            "HelmRepository" => ids::helmrepositories(),
            "GitRepository" => ids::gitrepositories(),
            "Bucket" => ids::buckets(),
            other => {
                return Err((
                    "InvalidSource".into(),
                    format!("unsupported source kind '{other}'"),
                ));
            }
        };
        let src_key = ObjKey::new(&ns, &src_name);
        self.watch(
            &Work::Source(ids::helmcharts(), ObjKey::new(&ns, &name)),
            vec![(res.clone(), src_key.clone())],
        );
        let fail_reason = if kind == "HelmRepository" {
            "ChartPullFailed"
        } else {
            "ChartPackageFailed"
        };
        let Some(src) = self.store.get(&res, &src_key) else {
            return Err((
                fail_reason.into(),
                format!(
                    "failed to get source: {}.source.toolkit.fluxcd.io \"{src_name}\" not found",
                    res.plural
                ),
            ));
        };
        let oci_repo = kind == "HelmRepository" && s(&src, "/spec/type") == "oci";
        if !oci_repo && !c::is_true(&src, "Ready") {
            return Err((
                fail_reason.into(),
                format!("failed to get source: {kind} '{ns}/{src_name}' is not ready"),
            ));
        }
        let chart = s(obj, "/spec/chart");
        let cname = chart_name(chart).to_string();
        let range = s(obj, "/spec/version");
        let range = if kind == "HelmRepository" { range } else { "*" };
        let Some(spec) = self.scenario.chart(&cname, range).cloned() else {
            return Err((
                fail_reason.into(),
                format!(
                    "invalid chart reference: failed to get chart version for remote reference: no '{cname}' chart with version matching '{range}' found"
                ),
            ));
        };
        let ver = spec.version.clone();
        let path = format!("helmchart/{ns}/{name}/{cname}-{ver}.tgz");
        let digest = sha256_hex(&format!("{path}/{}", s(&src, "/status/artifact/revision")));
        let artifact = json!({"revision": ver, "digest": format!("sha256:{digest}"), "path": path,
                              "url": format!("{STORAGE}/{path}"), "size": 10_240});
        let (reason, message) = if kind == "HelmRepository" {
            (
                "ChartPullSucceeded",
                format!("pulled '{cname}' chart with version '{ver}'"),
            )
        } else {
            (
                "ChartPackageSucceeded",
                format!("packaged '{cname}' chart with version '{ver}'"),
            )
        };
        let mut extra = vec![("observedChartName".to_string(), json!(cname))];
        let src_rev = s(&src, "/status/artifact/revision");
        if !src_rev.is_empty() {
            extra.push(("observedSourceArtifactRevision".to_string(), json!(src_rev)));
        }
        Ok((artifact, (reason.to_string(), message, extra)))
    }

    /// Write `status` unless nothing changed.
    pub(crate) fn write_status(
        &self,
        res: &ResourceId,
        key: &ObjKey,
        st: Map<String, Value>,
    ) -> Result<(), crate::sim::store::StoreError> {
        self.store
            .modify(res, key, WritePart::Status, WriteOpts::default(), |cur| {
                if cur.get("status") == Some(&Value::Object(st.clone())) {
                    return Ok(None);
                }
                let mut n = cur.clone();
                n["status"] = Value::Object(st);
                Ok(Some(n))
            })
            .map(|_| ())
    }
}
