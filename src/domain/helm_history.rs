//! The history of a Helm release and a rollback's pure parts: record facts read from the
//! storage Secret labels (no decoding), the rows of a history table, the default rollback
//! target (like helm-controller's `Previous()`), the record a rollback writes (Helm 4
//! `rollback.go`, flux-facts §6.1 step 5), and the split of release manifests into the
//! objects to apply, to delete and to keep (`helm.sh/resource-policy: keep`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::helm_storage::{Release, ReleaseStatus};

/// What the labels of one storage Secret say (`version`, `status`), without decoding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    pub version: i64,
    pub status: ReleaseStatus,
    /// The Secret's name.
    pub secret: String,
}

/// Read a record's version and status from its Secret labels; `None` when it is not a
/// record of `release` (wrong `owner`/`name`, or no numeric `version`).
pub fn meta_from_labels(
    secret: &str,
    labels: &BTreeMap<String, String>,
    release: &str,
) -> Option<RecordMeta> {
    if labels.get("owner").map(String::as_str) != Some("helm")
        || labels.get("name").map(String::as_str) != Some(release)
    {
        return None;
    }
    let version = labels.get("version")?.parse().ok()?;
    let status = labels
        .get("status")
        .and_then(|s| serde_json::from_value(json!(s)).ok())
        .unwrap_or_default();
    Some(RecordMeta {
        version,
        status,
        secret: secret.to_string(),
    })
}

/// The highest version.
pub fn latest(metas: &[RecordMeta]) -> Option<&RecordMeta> {
    metas.iter().max_by_key(|m| m.version)
}

/// The revision that is live: the newest `deployed` record, else the latest.
pub fn current(metas: &[RecordMeta]) -> Option<i64> {
    metas
        .iter()
        .filter(|m| m.status == ReleaseStatus::Deployed)
        .map(|m| m.version)
        .max()
        .or_else(|| latest(metas).map(|m| m.version))
}

/// The default rollback target: the newest `deployed` or `superseded` record older than the
/// latest (helm-controller's `Previous()`).
pub fn default_target(metas: &[RecordMeta]) -> Option<i64> {
    let latest = latest(metas)?.version;
    metas
        .iter()
        .filter(|m| m.version < latest)
        .filter(|m| {
            matches!(
                m.status,
                ReleaseStatus::Deployed | ReleaseStatus::Superseded
            )
        })
        .map(|m| m.version)
        .max()
}

/// Why a rollback target cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("release {0} has no records")]
    NoRecords(String),
    #[error("release {release} has no revision {version}")]
    Missing { release: String, version: i64 },
    #[error("revision {0} is the latest: there is nothing to roll back")]
    IsLatest(i64),
    #[error(
        "release {0} has no deployed or superseded revision older than the latest: name one with --to"
    )]
    NoDefault(String),
    #[error("the latest revision {0} is {1}: another operation holds the release")]
    Locked(i64, ReleaseStatus),
}

/// The target: `requested`, else [`default_target`]. The latest record must not be pending
/// (another install, upgrade or rollback is running).
pub fn choose_target(
    release: &str,
    metas: &[RecordMeta],
    requested: Option<i64>,
) -> Result<i64, TargetError> {
    let latest = latest(metas).ok_or_else(|| TargetError::NoRecords(release.to_string()))?;
    if latest.status.is_pending() {
        return Err(TargetError::Locked(latest.version, latest.status));
    }
    match requested {
        Some(v) if v == latest.version => Err(TargetError::IsLatest(v)),
        Some(v) if metas.iter().any(|m| m.version == v) => Ok(v),
        Some(v) => Err(TargetError::Missing {
            release: release.to_string(),
            version: v,
        }),
        None => default_target(metas).ok_or_else(|| TargetError::NoDefault(release.to_string())),
    }
}

/// One row of a history table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    pub revision: i64,
    pub status: String,
    /// `<chart>-<version>`, as `helm history` writes it; empty when the record could not be
    /// decoded.
    pub chart: String,
    pub app_version: String,
    /// `info.last_deployed`, RFC 3339.
    pub updated: String,
    pub description: String,
    /// The live revision (see [`current`]).
    pub current: bool,
    /// `status.history` of the HelmRelease still has a snapshot of it.
    pub in_status_history: bool,
}

/// A row from the labels and, when it could be decoded, the record.
pub fn row(
    meta: &RecordMeta,
    record: Option<&Release>,
    current: Option<i64>,
    snapshot_versions: &BTreeSet<i64>,
) -> HistoryRow {
    let (chart, app_version, updated, description) = match record {
        Some(r) => (
            format!("{}-{}", r.chart.metadata.name, r.chart.metadata.version),
            r.chart.metadata.app_version.clone(),
            r.info
                .last_deployed
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            r.info.description.clone(),
        ),
        None => Default::default(),
    };
    HistoryRow {
        revision: meta.version,
        status: meta.status.as_str().to_string(),
        chart,
        app_version,
        updated,
        description,
        current: current == Some(meta.version),
        in_status_history: snapshot_versions.contains(&meta.version),
    }
}

/// The record a rollback to `target` creates on top of `latest` (flux-facts §6.1 step 5):
/// version latest+1; chart, config, manifest, hooks and notes of the target; first deployed
/// of the latest; status `pending-rollback`, description `Rollback to N`, the rollback
/// revision and the target's apply method (`ssa` when it has none: the rollback applies
/// server-side).
pub fn rollback_record(latest: &Release, target: &Release, now: DateTime<FixedOffset>) -> Release {
    let mut r = target.clone();
    r.version = latest.version + 1;
    r.name = latest.name.clone();
    r.namespace = latest.namespace.clone();
    r.info.first_deployed = latest.info.first_deployed.or(target.info.first_deployed);
    r.info.last_deployed = Some(now);
    r.info.deleted = None;
    r.info.status = ReleaseStatus::PendingRollback;
    r.info.description = format!("Rollback to {}", target.version);
    r.info.rollback_revision = Some(target.version);
    r.apply_method = Some(
        target
            .apply_method
            .clone()
            .unwrap_or_else(|| "ssa".to_string()),
    );
    r
}

/// `info.description` of a rollback that failed, as Helm writes it.
pub fn rollback_failure_description(name: &str, err: &str) -> String {
    format!("Rollback \"{name}\" failed: {err}")
}

/// One object of a release manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` as written in the manifest.
    pub namespace: Option<String>,
    pub value: Value,
}

impl ManifestObject {
    /// The API group (`""` for core).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    pub fn version(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or(self.api_version.as_str(), |(_, v)| v)
    }

    /// Annotated `helm.sh/resource-policy: keep`: Helm never deletes it.
    pub fn keep(&self) -> bool {
        self.value
            .pointer("/metadata/annotations/helm.sh~1resource-policy")
            .and_then(Value::as_str)
            .is_some_and(|p| p.trim() == "keep")
    }

    /// The object's identity once namespace-less namespaced objects are put in `release_ns`.
    pub fn id(&self, namespaced: bool, release_ns: &str) -> ObjectId {
        let namespace = if namespaced {
            self.namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| release_ns.to_string())
        } else {
            String::new()
        };
        ObjectId {
            group: self.group().to_string(),
            kind: self.kind.clone(),
            namespace,
            name: self.name.clone(),
        }
    }
}

/// Identity of a live object: group, kind, namespace (empty when cluster-scoped), name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        if self.namespace.is_empty() {
            write!(f, "{kind}/{}", self.name)
        } else {
            write!(f, "{kind}/{}/{}", self.namespace, self.name)
        }
    }
}

/// Split a release manifest (`---`-separated YAML documents with `# Source:` comments)
/// into its objects. Empty documents are skipped; a document that is not an object with
/// apiVersion, kind and metadata.name is an error naming its position.
pub fn split_manifest(manifest: &str) -> Result<Vec<ManifestObject>, String> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(manifest).enumerate() {
        let value =
            Value::deserialize(doc).map_err(|e| format!("manifest document {}: {e}", i + 1))?;
        if value.is_null() {
            continue;
        }
        let s = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_string);
        let (Some(api_version), Some(kind), Some(name)) =
            (s("/apiVersion"), s("/kind"), s("/metadata/name"))
        else {
            return Err(format!(
                "manifest document {} has no apiVersion, kind or metadata.name",
                i + 1
            ));
        };
        let namespace = s("/metadata/namespace");
        out.push(ManifestObject {
            api_version,
            kind,
            name,
            namespace,
            value,
        });
    }
    Ok(out)
}

/// Who owns the release's objects: Helm's ownership metadata and helm-controller's origin
/// labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ownership {
    pub release_name: String,
    pub release_namespace: String,
    /// The HelmRelease (namespace, name).
    pub helm_release: (String, String),
}

/// The object to apply: the namespace set for namespaced objects without one, Helm's
/// ownership label and annotations, helm-controller's origin labels; `status` dropped.
pub fn object_to_apply(obj: &ManifestObject, namespaced: bool, owner: &Ownership) -> Value {
    let mut v = obj.value.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    let id = obj.id(namespaced, &owner.release_namespace);
    let meta = &mut v["metadata"];
    if namespaced {
        meta["namespace"] = json!(id.namespace);
    }
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    meta["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
    meta["labels"]["helm.toolkit.fluxcd.io/name"] = json!(owner.helm_release.1);
    meta["labels"]["helm.toolkit.fluxcd.io/namespace"] = json!(owner.helm_release.0);
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    meta["annotations"]["meta.helm.sh/release-name"] = json!(owner.release_name);
    meta["annotations"]["meta.helm.sh/release-namespace"] = json!(owner.release_namespace);
    v
}

/// The objects of the current manifest that the target does not have, split into those to
/// delete and those kept by `helm.sh/resource-policy: keep`. `ids` gives each object's
/// identity (namespace defaulting needs to know whether its kind is namespaced).
pub fn removed<'a>(
    current: &'a [ManifestObject],
    target: &[ManifestObject],
    id: impl Fn(&ManifestObject) -> ObjectId,
) -> (Vec<&'a ManifestObject>, Vec<&'a ManifestObject>) {
    let wanted: BTreeSet<ObjectId> = target.iter().map(&id).collect();
    let mut seen = BTreeSet::new();
    let gone = current
        .iter()
        .filter(|o| {
            let i = id(o);
            !wanted.contains(&i) && seen.insert(i)
        })
        .collect::<Vec<_>>();
    gone.into_iter().partition(|o| !o.keep())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::helm_storage::{Chart, ChartMetadata, Info};

    fn meta(version: i64, status: ReleaseStatus) -> RecordMeta {
        RecordMeta {
            version,
            status,
            secret: format!("sh.helm.release.v1.web.v{version}"),
        }
    }

    #[test]
    fn labels_give_version_and_status() {
        let labels: BTreeMap<String, String> = [
            ("owner", "helm"),
            ("name", "web"),
            ("version", "7"),
            ("status", "pending-rollback"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let m = meta_from_labels("s", &labels, "web").unwrap();
        assert_eq!(m.version, 7);
        assert_eq!(m.status, ReleaseStatus::PendingRollback);
        assert!(meta_from_labels("s", &labels, "other").is_none());
        let mut bad = labels.clone();
        bad.insert("version".into(), "x".into());
        assert!(meta_from_labels("s", &bad, "web").is_none());
        bad.insert("version".into(), "1".into());
        bad.insert("owner".into(), "someone".into());
        assert!(meta_from_labels("s", &bad, "web").is_none());
    }

    #[test]
    fn default_target_is_the_newest_successful_before_the_latest() {
        use ReleaseStatus::*;
        let h = [
            meta(3, Superseded),
            meta(4, Failed),
            meta(5, Superseded),
            meta(6, Failed),
            meta(7, Deployed),
        ];
        assert_eq!(default_target(&h), Some(5));
        assert_eq!(current(&h), Some(7));
        // A failed latest: the deployed one before it.
        let h = [meta(1, Superseded), meta(2, Deployed), meta(3, Failed)];
        assert_eq!(default_target(&h), Some(2));
        assert_eq!(current(&h), Some(2));
        // Only failures before the latest: no default.
        let h = [meta(1, Failed), meta(2, Deployed)];
        assert_eq!(default_target(&h), None);
        assert!(matches!(
            choose_target("web", &h, None),
            Err(TargetError::NoDefault(_))
        ));
        // Order of the input does not matter.
        let h = [meta(2, Superseded), meta(3, Deployed), meta(1, Superseded)];
        assert_eq!(default_target(&h), Some(2));
    }

    #[test]
    fn requested_targets_must_exist_and_not_be_the_latest() {
        use ReleaseStatus::*;
        let h = [meta(1, Superseded), meta(2, Failed), meta(3, Deployed)];
        assert_eq!(choose_target("web", &h, Some(2)), Ok(2));
        assert_eq!(choose_target("web", &h, None), Ok(1));
        assert_eq!(
            choose_target("web", &h, Some(3)),
            Err(TargetError::IsLatest(3))
        );
        assert_eq!(
            choose_target("web", &h, Some(9)).unwrap_err().to_string(),
            "release web has no revision 9"
        );
        assert!(matches!(
            choose_target("web", &[], None),
            Err(TargetError::NoRecords(_))
        ));
        let locked = [meta(1, Superseded), meta(2, PendingUpgrade)];
        assert_eq!(
            choose_target("web", &locked, Some(1)),
            Err(TargetError::Locked(2, PendingUpgrade))
        );
    }

    fn release(version: i64, chart_version: &str, manifest: &str) -> Release {
        Release {
            name: "web".into(),
            namespace: "apps".into(),
            version,
            info: Info {
                first_deployed: Some(
                    DateTime::parse_from_rfc3339(&format!("2026-01-0{version}T00:00:00Z")).unwrap(),
                ),
                last_deployed: Some(
                    DateTime::parse_from_rfc3339(&format!("2026-01-0{version}T01:00:00Z")).unwrap(),
                ),
                description: "Upgrade complete".into(),
                status: ReleaseStatus::Superseded,
                notes: format!("notes {version}"),
                ..Default::default()
            },
            chart: Chart {
                metadata: ChartMetadata {
                    name: "app".into(),
                    version: chart_version.into(),
                    app_version: chart_version.into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            config: json!({"replicaCount": version})
                .as_object()
                .unwrap()
                .clone(),
            manifest: manifest.into(),
            hooks: vec![json!({"name": format!("hook{version}")})],
            apply_method: Some("ssa".into()),
        }
    }

    #[test]
    fn the_rollback_record_copies_the_target_on_top_of_the_latest() {
        let target = release(2, "1.0.0", "m2");
        let mut latest = release(4, "2.0.0", "m4");
        latest.info.first_deployed =
            Some(DateTime::parse_from_rfc3339("2025-12-01T00:00:00Z").unwrap());
        let now = DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z").unwrap();
        let r = rollback_record(&latest, &target, now);
        assert_eq!(r.version, 5);
        assert_eq!(r.name, "web");
        assert_eq!(r.namespace, "apps");
        assert_eq!(r.chart, target.chart);
        assert_eq!(r.config, target.config);
        assert_eq!(r.manifest, "m2");
        assert_eq!(r.hooks, target.hooks);
        assert_eq!(r.info.notes, "notes 2");
        assert_eq!(r.info.first_deployed, latest.info.first_deployed);
        assert_eq!(r.info.last_deployed, Some(now));
        assert_eq!(r.info.status, ReleaseStatus::PendingRollback);
        assert_eq!(r.info.description, "Rollback to 2");
        assert_eq!(r.info.rollback_revision, Some(2));
        assert_eq!(r.apply_method.as_deref(), Some("ssa"));
        assert_eq!(
            rollback_failure_description("web", "boom"),
            "Rollback \"web\" failed: boom"
        );
    }

    const CURRENT: &str = "---\n# Source: app/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: other\n---\n# Source: app/templates/kept.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    helm.sh/resource-policy: keep\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: web-reader\n";
    const TARGET: &str = "---\n# Source: app/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  replicas: 1\n---\n# Source: app/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\n";

    fn namespaced(o: &ManifestObject) -> bool {
        o.kind != "ClusterRole"
    }

    #[test]
    fn manifests_split_into_objects() {
        let objs = split_manifest(CURRENT).unwrap();
        let names: Vec<(&str, &str, Option<&str>)> = objs
            .iter()
            .map(|o| (o.kind.as_str(), o.name.as_str(), o.namespace.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("Deployment", "web", None),
                ("ConfigMap", "extra", Some("other")),
                ("ConfigMap", "kept", None),
                ("ClusterRole", "web-reader", None),
            ]
        );
        assert_eq!(objs[0].group(), "apps");
        assert_eq!(objs[0].version(), "v1");
        assert_eq!(objs[1].group(), "");
        assert_eq!(objs[3].group(), "rbac.authorization.k8s.io");
        assert_eq!(split_manifest("").unwrap(), vec![]);
        assert_eq!(split_manifest("---\n---\n").unwrap(), vec![]);
        assert!(
            split_manifest("---\nkind: ConfigMap\n")
                .unwrap_err()
                .contains("document 1")
        );
    }

    #[test]
    fn namespace_less_namespaced_objects_go_to_the_release_namespace() {
        let objs = split_manifest(CURRENT).unwrap();
        let owner = Ownership {
            release_name: "web".into(),
            release_namespace: "apps".into(),
            helm_release: ("flux-system".into(), "web".into()),
        };
        let d = object_to_apply(&objs[0], true, &owner);
        assert_eq!(d["metadata"]["namespace"], "apps");
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
        assert_eq!(
            d["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
            "web"
        );
        assert_eq!(
            d["metadata"]["labels"]["helm.toolkit.fluxcd.io/namespace"],
            "flux-system"
        );
        assert_eq!(
            d["metadata"]["annotations"]["meta.helm.sh/release-name"],
            "web"
        );
        assert_eq!(
            d["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
            "apps"
        );
        assert_eq!(d["spec"]["replicas"], 2);
        // An explicit namespace stays; cluster-scoped objects get none.
        let d = object_to_apply(&objs[1], true, &owner);
        assert_eq!(d["metadata"]["namespace"], "other");
        let d = object_to_apply(&objs[3], false, &owner);
        assert!(d["metadata"].get("namespace").is_none());
        assert_eq!(objs[3].id(false, "apps").namespace, "");
        assert_eq!(
            objs[0].id(true, "apps").to_string(),
            "Deployment.apps/apps/web"
        );
        // Existing annotations are kept.
        let d = object_to_apply(&objs[2], true, &owner);
        assert_eq!(
            d["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
    }

    #[test]
    fn objects_gone_from_the_target_are_deleted_unless_kept() {
        let current = split_manifest(CURRENT).unwrap();
        let target = split_manifest(TARGET).unwrap();
        let (delete, keep) = removed(&current, &target, |o| o.id(namespaced(o), "apps"));
        let names = |v: &[&ManifestObject]| v.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
        // The Deployment is in both (namespace-less = the release namespace).
        assert_eq!(names(&delete), ["extra", "web-reader"]);
        assert_eq!(names(&keep), ["kept"]);
        assert!(keep[0].keep());
        assert!(!delete[0].keep());
        // In another release namespace the Deployment differs from the target's `apps` one.
        let (delete, _) = removed(&current, &target, |o| o.id(namespaced(o), "prod"));
        assert!(names(&delete).contains(&"web".to_string()));
    }

    #[test]
    fn rows_mark_current_and_status_history() {
        let m = meta(2, ReleaseStatus::Superseded);
        let r = release(2, "1.0.0", "");
        let snaps: BTreeSet<i64> = [2, 3].into();
        let row = row(&m, Some(&r), Some(3), &snaps);
        assert_eq!(row.chart, "app-1.0.0");
        assert_eq!(row.updated, "2026-01-02T01:00:00Z");
        assert_eq!(row.status, "superseded");
        assert!(!row.current);
        assert!(row.in_status_history);
        let bare = super::row(&m, None, Some(2), &BTreeSet::new());
        assert!(bare.current && !bare.in_status_history && bare.chart.is_empty());
    }
}
