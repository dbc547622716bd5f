//! The release history of a HelmRelease, read from its Helm storage Secrets (label selector
//! `owner=helm,name=<release>` in the storage namespace). Version and status come from the
//! labels; a record is decoded only when its chart, values, manifest or description are
//! asked for, and then once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use super::rollback::{Plan, plan_from};
use super::writer::{ActionError, Reader, label};
use crate::domain::flux::{self as names, HelmRelease, ObjectKey};
use crate::domain::helm_history::{self, HistoryRow, RecordMeta};
use crate::domain::helm_storage::{Release, decode_release};

/// One storage record: its label facts, and the record decoded on first use.
pub struct Record {
    pub meta: RecordMeta,
    /// The Secret as read (for conditional updates: its resourceVersion).
    pub secret: Secret,
    decoded: OnceLock<Result<Release, String>>,
}

impl Record {
    fn new(meta: RecordMeta, secret: Secret) -> Record {
        Record {
            meta,
            secret,
            decoded: OnceLock::new(),
        }
    }

    /// The decoded record (decoded once).
    pub fn release(&self) -> Result<&Release, String> {
        self.decoded
            .get_or_init(|| {
                let data = self
                    .secret
                    .data
                    .as_ref()
                    .and_then(|d| d.get("release"))
                    .ok_or_else(|| format!("{} has no data.release", self.meta.secret))?;
                decode_release(&data.0).map_err(|e| format!("{}: {e}", self.meta.secret))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn resource_version(&self) -> &str {
        self.secret
            .metadata
            .resource_version
            .as_deref()
            .unwrap_or("")
    }

    /// Whether the record was decoded (for tests of laziness).
    pub fn is_decoded(&self) -> bool {
        self.decoded.get().is_some()
    }
}

/// A HelmRelease and its release records, oldest first.
pub struct History {
    pub key: ObjectKey,
    pub hr: HelmRelease,
    pub hr_resource_version: String,
    pub release_name: String,
    pub release_namespace: String,
    pub storage_namespace: String,
    pub records: Vec<Record>,
}

impl History {
    pub fn metas(&self) -> Vec<RecordMeta> {
        self.records.iter().map(|r| r.meta.clone()).collect()
    }

    pub fn record(&self, version: i64) -> Option<&Record> {
        self.records.iter().find(|r| r.meta.version == version)
    }

    pub fn latest(&self) -> Option<&Record> {
        self.records.last()
    }

    pub fn suspended(&self) -> bool {
        self.hr.spec.suspend
    }

    /// The revisions `status.history` has snapshots of.
    pub fn snapshot_versions(&self) -> BTreeSet<i64> {
        self.hr
            .status
            .as_ref()
            .map(|s| s.history.iter().map(|h| h.version).collect())
            .unwrap_or_default()
    }

    /// The table rows, oldest first (every record decoded: at most maxHistory of them).
    pub fn rows(&self) -> Vec<HistoryRow> {
        let metas = self.metas();
        let current = helm_history::current(&metas);
        let snaps = self.snapshot_versions();
        self.records
            .iter()
            .map(|r| helm_history::row(&r.meta, r.release().ok(), current, &snaps))
            .collect()
    }
}

/// What the history view shows, and what a rollback from it needs: the rows, each
/// revision's values (YAML, sorted keys) and manifest for the preview, and the plan of a
/// rollback to each revision that can be a target. Read with GETs only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryData {
    pub key: ObjectKey,
    pub release_name: String,
    pub release_namespace: String,
    pub storage_namespace: String,
    /// Oldest first.
    pub rows: Vec<HistoryRow>,
    /// The live revision.
    pub current: Option<i64>,
    /// The newest deployed/superseded revision older than the latest.
    pub default_target: Option<i64>,
    pub values: BTreeMap<i64, String>,
    pub manifests: BTreeMap<i64, String>,
    /// A rollback plan per revision that can be a target.
    pub plans: BTreeMap<i64, Plan>,
}

impl HistoryData {
    pub fn from_history(h: &History) -> HistoryData {
        let metas = h.metas();
        let mut values = BTreeMap::new();
        let mut manifests = BTreeMap::new();
        let mut plans = BTreeMap::new();
        for r in &h.records {
            let v = r.meta.version;
            if let Ok(rel) = r.release() {
                values.insert(
                    v,
                    crate::domain::diff::yaml(&Value::Object(rel.config.clone())),
                );
                manifests.insert(v, rel.manifest.clone());
            }
            if let Ok(plan) = plan_from(h, Some(v)) {
                plans.insert(v, plan);
            }
        }
        HistoryData {
            key: h.key.clone(),
            release_name: h.release_name.clone(),
            release_namespace: h.release_namespace.clone(),
            storage_namespace: h.storage_namespace.clone(),
            rows: h.rows(),
            current: helm_history::current(&metas),
            default_target: helm_history::default_target(&metas),
            values,
            manifests,
            plans,
        }
    }
}

/// The newest storage record of `release` whose labels also match `selector` (e.g.
/// `status=deployed`; empty for any), read with one LIST; nothing is decoded until
/// [`Record::release`] is called.
pub async fn newest_record(
    reader: &Reader,
    storage_namespace: &str,
    release: &str,
    selector: &str,
) -> Result<Option<Record>, ActionError> {
    let mut labels = format!("owner=helm,name={release}");
    if !selector.is_empty() {
        labels = format!("{labels},{selector}");
    }
    let secrets = reader.list_secrets(storage_namespace, &labels).await?;
    Ok(secrets
        .into_iter()
        .filter_map(|s| {
            let name = s.metadata.name.clone().unwrap_or_default();
            let labels = s.metadata.labels.clone().unwrap_or_default();
            helm_history::meta_from_labels(&name, &labels, release).map(|m| Record::new(m, s))
        })
        .max_by_key(|r| r.meta.version))
}

/// Read a HelmRelease and the labels of its release records.
pub async fn load(reader: &Reader, key: &ObjectKey) -> Result<History, ActionError> {
    if key.kind.kind() != "HelmRelease" {
        return Err(ActionError::Unsupported(format!(
            "{} has no Helm release history: only a HelmRelease has one",
            label(key)
        )));
    }
    let value = reader.get(key).await?;
    let hr_resource_version = value
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let hr: HelmRelease = serde_json::from_value(value)
        .map_err(|e| ActionError::Api(format!("{} cannot be read: {e}", label(key))))?;
    let release_name = names::release_name(&hr);
    let storage_namespace = names::storage_namespace(&hr);
    let release_namespace = names::release_namespace(&hr);
    let secrets = reader
        .list_secrets(
            &storage_namespace,
            &format!("owner=helm,name={release_name}"),
        )
        .await?;
    let mut by_version = BTreeMap::new();
    for s in secrets {
        let name = s.metadata.name.clone().unwrap_or_default();
        let labels = s.metadata.labels.clone().unwrap_or_default();
        if let Some(meta) = helm_history::meta_from_labels(&name, &labels, &release_name) {
            by_version.insert(meta.version, Record::new(meta, s));
        }
    }
    Ok(History {
        key: key.clone(),
        hr,
        hr_resource_version,
        release_name,
        release_namespace,
        storage_namespace,
        records: by_version.into_values().collect(),
    })
}
