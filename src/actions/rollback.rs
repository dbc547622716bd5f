//! A Flux-safe rollback of a HelmRelease (flux-facts §6.3 "Native"): check that nothing
//! changed since the plan, suspend the HelmRelease (else helm-controller upgrades back on its
//! next reconcile), then do what Helm 4's rollback does (§6.1): create the record
//! `Rollback to N` as `pending-rollback`, server-side apply the target's objects as
//! `helm-controller`, delete the objects the target does not have (unless
//! `helm.sh/resource-policy: keep`), and mark the new record `deployed` and the previously
//! deployed ones `superseded`. Hooks are not run. The HelmRelease stays suspended.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use kube::core::ApiResource;

use super::history::{self, History};
use super::intent::PlanToken;
use super::patch;
use super::writer::{ActionError, Reader, Writer, label};
use crate::domain::flux::ObjectKey;
use crate::domain::helm_history::{
    self, ManifestObject, ObjectId, Ownership, object_to_apply, rollback_failure_description,
    rollback_record,
};
use crate::domain::helm_storage::{
    Release, ReleaseStatus, SECRET_TYPE, encode_release, secret_name, storage_labels,
};

/// What a rollback will do, shown before it runs; [`run`] checks that it still holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub target: ObjectKey,
    pub release_name: String,
    pub release_namespace: String,
    pub storage_namespace: String,
    /// The HelmRelease's resourceVersion when planned.
    pub hr_resource_version: String,
    pub latest: i64,
    pub latest_status: ReleaseStatus,
    /// The revision rolled back to.
    pub to: i64,
    /// `<chart>@<version>` of the latest and of the target.
    pub latest_chart: String,
    pub to_chart: String,
    pub already_suspended: bool,
}

impl Plan {
    /// What the run checks against: the HelmRelease's resourceVersion and the latest record.
    pub fn token(&self) -> PlanToken {
        PlanToken {
            hr_resource_version: self.hr_resource_version.clone(),
            latest: self.latest,
            latest_status: self.latest_status,
        }
    }

    /// The plan as it was when `token` was taken: [`run`] aborts when the cluster moved on.
    pub fn with_token(mut self, token: &PlanToken) -> Plan {
        self.hr_resource_version = token.hr_resource_version.clone();
        self.latest = token.latest;
        self.latest_status = token.latest_status;
        self
    }

    /// The steps, one line each, for the confirmation.
    pub fn steps(&self) -> Vec<String> {
        let suspend = if self.already_suspended {
            "1. HelmRelease already suspended: no patch".to_string()
        } else {
            format!(
                "1. suspend {}: JSON merge patch {} (field manager {})",
                label(&self.target),
                patch::suspend(),
                patch::FIELD_MANAGER
            )
        };
        vec![
            suspend,
            format!(
                "2. create release record {} in namespace {}: revision {} \"Rollback to {}\" (pending-rollback), chart and values of revision {}",
                secret_name(&self.release_name, self.latest + 1),
                self.storage_namespace,
                self.latest + 1,
                self.to,
                self.to
            ),
            format!(
                "3. server-side apply the objects of revision {} (field manager helm-controller, conflicts forced) in namespace {}; delete those only revision {} has, unless annotated helm.sh/resource-policy: keep",
                self.to, self.release_namespace, self.latest
            ),
            format!(
                "4. mark revision {} deployed and the previously deployed revision superseded; the HelmRelease stays suspended",
                self.latest + 1
            ),
        ]
    }
}

/// Make the plan: the target is `to`, else the newest deployed/superseded revision older than
/// the latest.
pub async fn plan(reader: &Reader, key: &ObjectKey, to: Option<i64>) -> Result<Plan, ActionError> {
    let h = history::load(reader, key).await?;
    plan_from(&h, to)
}

pub fn plan_from(h: &History, to: Option<i64>) -> Result<Plan, ActionError> {
    let metas = h.metas();
    let to = helm_history::choose_target(&h.release_name, &metas, to)
        .map_err(|e| ActionError::Unsupported(e.to_string()))?;
    let latest = h.latest().ok_or_else(|| {
        ActionError::Unsupported(format!("release {} has no records", h.release_name))
    })?;
    let chart = |v: i64| {
        h.record(v)
            .and_then(|r| r.release().ok())
            .map(Release::chart_ref)
            .unwrap_or_default()
    };
    Ok(Plan {
        target: h.key.clone(),
        release_name: h.release_name.clone(),
        release_namespace: h.release_namespace.clone(),
        storage_namespace: h.storage_namespace.clone(),
        hr_resource_version: h.hr_resource_version.clone(),
        latest: latest.meta.version,
        latest_status: latest.meta.status,
        to,
        latest_chart: chart(latest.meta.version),
        to_chart: chart(to),
        already_suspended: h.suspended(),
    })
}

/// What a rollback reports while it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    Suspended,
    RecordCreated {
        version: i64,
    },
    Applied(String),
    Deleted(String),
    /// Not in the target, kept by `helm.sh/resource-policy: keep`.
    Kept(String),
    /// The new record is deployed, the previous deployed ones superseded.
    Recorded {
        version: i64,
    },
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::Suspended => write!(f, "suspended the HelmRelease"),
            Progress::RecordCreated { version } => {
                write!(f, "created release record v{version} (pending-rollback)")
            }
            Progress::Applied(o) => write!(f, "applied {o}"),
            Progress::Deleted(o) => write!(f, "deleted {o}"),
            Progress::Kept(o) => write!(f, "kept {o} (helm.sh/resource-policy: keep)"),
            Progress::Recorded { version } => write!(f, "revision {version} deployed"),
        }
    }
}

/// How a rollback that ran ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    /// The revision the rollback wrote.
    pub version: i64,
    pub message: String,
    pub applied: Vec<String>,
    pub deleted: Vec<String>,
    pub kept: Vec<String>,
}

/// An object of a manifest with how to reach its kind.
struct Resolved {
    obj: ManifestObject,
    resource: ApiResource,
    namespaced: bool,
}

impl Resolved {
    fn id(&self, release_ns: &str) -> ObjectId {
        self.obj.id(self.namespaced, release_ns)
    }
}

/// Everything steps c–e need, read and checked before anything is written.
pub struct Prepared {
    latest: Release,
    target: Release,
    current_objects: Vec<Resolved>,
    target_objects: Vec<Resolved>,
    /// Records labelled `deployed` (to supersede), with their Secrets.
    deployed: Vec<(Release, Secret)>,
    owner: Ownership,
    storage_namespace: String,
}

async fn resolve_all(reader: &Reader, manifest: &str) -> Result<Vec<Resolved>, ActionError> {
    let objs = helm_history::split_manifest(manifest).map_err(ActionError::Unsupported)?;
    let mut out = Vec::with_capacity(objs.len());
    for obj in objs {
        let (resource, namespaced) = reader.resolve(&obj.api_version, &obj.kind).await?;
        out.push(Resolved {
            obj,
            resource,
            namespaced,
        });
    }
    Ok(out)
}

/// Decode the latest and target records and resolve their objects' kinds.
pub async fn prepare(reader: &Reader, h: &History, to: i64) -> Result<Prepared, ActionError> {
    let decode = |v: i64| -> Result<Release, ActionError> {
        h.record(v)
            .ok_or_else(|| {
                ActionError::Unsupported(format!("release {} has no revision {v}", h.release_name))
            })?
            .release()
            .cloned()
            .map_err(ActionError::Api)
    };
    let latest_v = h.latest().map(|r| r.meta.version).ok_or_else(|| {
        ActionError::Unsupported(format!("release {} has no records", h.release_name))
    })?;
    let latest = decode(latest_v)?;
    let target = decode(to)?;
    // Helm builds the current objects from the record that is live.
    let metas = h.metas();
    let current = match helm_history::current(&metas) {
        Some(v) if v != latest_v => decode(v)?,
        _ => latest.clone(),
    };
    let mut deployed = Vec::new();
    for r in &h.records {
        if r.meta.status == ReleaseStatus::Deployed {
            deployed.push((
                r.release().cloned().map_err(ActionError::Api)?,
                r.secret.clone(),
            ));
        }
    }
    Ok(Prepared {
        current_objects: resolve_all(reader, &current.manifest).await?,
        target_objects: resolve_all(reader, &target.manifest).await?,
        latest,
        target,
        deployed,
        owner: Ownership {
            release_name: h.release_name.clone(),
            release_namespace: h.release_namespace.clone(),
            helm_release: (h.key.namespace.to_string(), h.key.name.to_string()),
        },
        storage_namespace: h.storage_namespace.clone(),
    })
}

/// A record as Helm's Secret driver stores it.
fn record_secret(
    rel: &Release,
    namespace: &str,
    created: Option<i64>,
    modified: Option<i64>,
    resource_version: Option<String>,
) -> Result<Secret, ActionError> {
    let helm_b64 = encode_release(rel).map_err(|e| ActionError::Api(e.to_string()))?;
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(&rel.name, rel.version)),
            namespace: Some(namespace.to_string()),
            labels: Some(storage_labels(rel, created, modified)),
            resource_version,
            ..ObjectMeta::default()
        },
        type_: Some(SECRET_TYPE.to_string()),
        data: Some(BTreeMap::from([(
            "release".to_string(),
            ByteString(helm_b64.into_bytes()),
        )])),
        ..Secret::default()
    })
}

/// Steps c–e (the Helm part), without suspending: on its own this is NOT Flux-safe —
/// helm-controller upgrades back on its next reconcile. [`run`] suspends first.
pub async fn release_steps(
    writer: &Writer,
    p: &Prepared,
    now: DateTime<FixedOffset>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Outcome, ActionError> {
    let unix = now.timestamp();
    let mut rel = rollback_record(&p.latest, &p.target, now);
    let created = writer
        .create_secret(&record_secret(
            &rel,
            &p.storage_namespace,
            Some(unix),
            None,
            None,
        )?)
        .await?;
    progress(Progress::RecordCreated {
        version: rel.version,
    });
    let mut out = Outcome {
        version: rel.version,
        ..Outcome::default()
    };
    let ns = p.owner.release_namespace.as_str();
    let mut failure = None;
    for o in &p.target_objects {
        let desired = object_to_apply(&o.obj, o.namespaced, &p.owner);
        match writer.apply(&o.resource, o.namespaced, &desired).await {
            Ok(_) => {
                let id = o.id(ns).to_string();
                progress(Progress::Applied(id.clone()));
                out.applied.push(id);
            }
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    if failure.is_none() {
        let current: Vec<ManifestObject> =
            p.current_objects.iter().map(|r| r.obj.clone()).collect();
        let target: Vec<ManifestObject> = p.target_objects.iter().map(|r| r.obj.clone()).collect();
        // Whether a kind is namespaced, as discovery said for either manifest.
        let namespaced = |o: &ManifestObject| {
            p.current_objects
                .iter()
                .chain(&p.target_objects)
                .find(|r| r.obj.api_version == o.api_version && r.obj.kind == o.kind)
                .is_some_and(|r| r.namespaced)
        };
        let (delete, keep) = helm_history::removed(&current, &target, |o| o.id(namespaced(o), ns));
        for o in keep {
            let id = o.id(namespaced(o), ns).to_string();
            progress(Progress::Kept(id.clone()));
            out.kept.push(id);
        }
        for o in delete {
            let Some(r) = p.current_objects.iter().find(|r| r.obj == *o) else {
                continue;
            };
            let id = r.id(ns);
            match writer
                .delete(&r.resource, r.namespaced, &id.namespace, &id.name)
                .await
            {
                Ok(_) => {
                    progress(Progress::Deleted(id.to_string()));
                    out.deleted.push(id.to_string());
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
    }
    // Record the result: the new record deployed (or failed), the previously deployed ones
    // superseded, as Helm does in both cases.
    rel.info.status = if failure.is_some() {
        ReleaseStatus::Failed
    } else {
        ReleaseStatus::Deployed
    };
    if let Some(err) = &failure {
        rel.info.description = rollback_failure_description(&rel.name, err);
    }
    let mut record_errors = Vec::new();
    for (old, secret) in &p.deployed {
        let mut old = old.clone();
        old.info.status = ReleaseStatus::Superseded;
        let s = record_secret(
            &old,
            &p.storage_namespace,
            None,
            Some(unix),
            secret.metadata.resource_version.clone(),
        )?;
        if let Err(e) = writer.replace_secret(&s).await {
            record_errors.push(e.to_string());
        }
    }
    let s = record_secret(
        &rel,
        &p.storage_namespace,
        None,
        Some(unix),
        created.metadata.resource_version.clone(),
    )?;
    if let Err(e) = writer.replace_secret(&s).await {
        record_errors.push(e.to_string());
    }
    let applied = if out.applied.is_empty() {
        "nothing".to_string()
    } else {
        out.applied.join(", ")
    };
    match (&failure, record_errors.is_empty()) {
        (None, true) => {
            progress(Progress::Recorded {
                version: rel.version,
            });
            out.ok = true;
            out.message = format!(
                "rolled back {} to revision {} as revision {} ({})",
                rel.name,
                p.target.version,
                rel.version,
                p.target.chart_ref()
            );
        }
        (Some(err), _) => {
            out.message = format!(
                "{}; applied before the failure: {applied}{}",
                rollback_failure_description(&rel.name, err),
                if record_errors.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; recording the failure failed too: {}",
                        record_errors.join("; ")
                    )
                }
            );
        }
        (None, false) => {
            out.message = format!(
                "objects of revision {} applied ({applied}), but the release records could not be updated: {}",
                p.target.version,
                record_errors.join("; ")
            );
        }
    }
    Ok(out)
}

/// Run a planned rollback: (a) re-read the HelmRelease and the records and abort when either
/// changed since the plan; read and check everything steps c–e need; (b) suspend; (c–e)
/// [`release_steps`]. `Err` when it could not start (nothing written, or only the suspend
/// when the later error came from the API); `Ok` with the outcome once the record exists.
pub async fn run(
    writer: &Writer,
    plan: &Plan,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Outcome, ActionError> {
    let reader = writer.reader();
    let h = history::load(reader, &plan.target).await?;
    if h.hr_resource_version != plan.hr_resource_version {
        return Err(ActionError::Changed(format!(
            "{} changed since the plan (resourceVersion {} → {}): look again and retry",
            label(&plan.target),
            plan.hr_resource_version,
            h.hr_resource_version
        )));
    }
    let latest = h.latest().map(|r| (r.meta.version, r.meta.status));
    if latest != Some((plan.latest, plan.latest_status)) {
        return Err(ActionError::Changed(format!(
            "release {} changed since the plan (latest revision {} {} → {}): look again and retry",
            plan.release_name,
            plan.latest,
            plan.latest_status,
            latest.map_or("none".to_string(), |(v, s)| format!("{v} {s}"))
        )));
    }
    let prepared = prepare(reader, &h, plan.to).await?;
    if !h.suspended() {
        writer.merge_patch(&plan.target, &patch::suspend()).await?;
        progress(Progress::Suspended);
    }
    release_steps(writer, &prepared, Utc::now().fixed_offset(), progress).await
}
