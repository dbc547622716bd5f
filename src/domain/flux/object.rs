//! [`FluxObject`]: any of the typed Flux kinds behind one set of accessors, so health and
//! tree code is written once.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::common::{
    Condition, CrossNamespaceSourceReference, DependencyReference, ResourceInventory,
    condition_types, find,
};
use super::helmrelease::HelmRelease;
use super::kinds::{FluxKind, GroupKind, ObjectKey, SOURCE_GROUP, shared};
use super::kustomization::Kustomization;
use super::meta::Meta;
use super::names::helm_chart_key;
use super::sources::{
    Bucket, GitRepository, HelmChart, HelmRepository, OCIRepository, SourceStatus,
};

/// One Flux object of any supported kind. Cloning is cheap (the objects are shared).
#[derive(Clone, Debug, PartialEq)]
pub enum FluxObject {
    Kustomization(Arc<Kustomization>),
    HelmRelease(Arc<HelmRelease>),
    GitRepository(Arc<GitRepository>),
    OCIRepository(Arc<OCIRepository>),
    HelmRepository(Arc<HelmRepository>),
    HelmChart(Arc<HelmChart>),
    Bucket(Arc<Bucket>),
}

/// Why a JSON object could not be read as a Flux object.
#[derive(Debug, thiserror::Error)]
pub enum FluxObjectError {
    #[error("not a Flux kind: apiVersion {api_version:?}, kind {kind:?}")]
    UnknownKind { api_version: String, kind: String },
    #[error("cannot read {kind}: {source}")]
    Decode {
        kind: FluxKind,
        #[source]
        source: serde_json::Error,
    },
}

static NO_CONDITIONS: [Condition; 0] = [];
static NO_DEPENDENCIES: [DependencyReference; 0] = [];

fn source_status(status: &Option<SourceStatus>) -> Option<&SourceStatus> {
    status.as_ref()
}

/// Resolve a source reference: group from `apiVersion` (default source group), namespace
/// defaulting to the referrer's.
fn source_key(r: &CrossNamespaceSourceReference, default_ns: &str) -> Option<ObjectKey> {
    if r.kind.is_empty() || r.name.is_empty() {
        return None;
    }
    let group = match r.api_version.as_deref() {
        Some(av) if !av.is_empty() => GroupKind::group_of_api_version(av),
        _ => SOURCE_GROUP,
    };
    let ns = match r.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => ns,
        _ => default_ns,
    };
    Some(ObjectKey::new(group, &r.kind, ns, &r.name))
}

macro_rules! each {
    ($self:expr, $o:ident => $body:expr) => {
        match $self {
            FluxObject::Kustomization($o) => $body,
            FluxObject::HelmRelease($o) => $body,
            FluxObject::GitRepository($o) => $body,
            FluxObject::OCIRepository($o) => $body,
            FluxObject::HelmRepository($o) => $body,
            FluxObject::HelmChart($o) => $body,
            FluxObject::Bucket($o) => $body,
        }
    };
}

impl FluxObject {
    /// Read a JSON object, taking the kind from its `apiVersion` group and `kind`.
    pub fn from_value(value: Value) -> Result<FluxObject, FluxObjectError> {
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let kind_name = value.get("kind").and_then(Value::as_str).unwrap_or("");
        let group = GroupKind::group_of_api_version(&api_version);
        match FluxKind::from_group_kind(group, kind_name) {
            Some(kind) => FluxObject::from_value_as(kind, value),
            None => Err(FluxObjectError::UnknownKind {
                kind: kind_name.to_string(),
                api_version,
            }),
        }
    }

    /// Read a JSON object as the given kind (unknown fields tolerated, missing ones default).
    pub fn from_value_as(kind: FluxKind, value: Value) -> Result<FluxObject, FluxObjectError> {
        Self::read_as(kind, value).map_err(|source| FluxObjectError::Decode { kind, source })
    }

    /// Read a JSON text as the given kind, straight into its typed struct (unknown fields
    /// skipped, missing ones default): what [`Self::from_value_as`] gives for the same object,
    /// without building a `Value` first.
    pub fn from_str_as(kind: FluxKind, text: &str) -> Result<FluxObject, FluxObjectError> {
        let mut de = serde_json::Deserializer::from_str(text);
        Self::read_as(kind, &mut de)
            .and_then(|o| de.end().map(|()| o))
            .map_err(|source| FluxObjectError::Decode { kind, source })
    }

    /// Read one object of `kind` from any JSON deserializer.
    fn read_as<'de, D: Deserializer<'de>>(kind: FluxKind, d: D) -> Result<FluxObject, D::Error> {
        Ok(match kind {
            FluxKind::Kustomization => {
                FluxObject::Kustomization(Arc::new(Deserialize::deserialize(d)?))
            }
            FluxKind::HelmRelease => {
                FluxObject::HelmRelease(Arc::new(Deserialize::deserialize(d)?))
            }
            FluxKind::GitRepository => {
                FluxObject::GitRepository(Arc::new(Deserialize::deserialize(d)?))
            }
            FluxKind::OCIRepository => {
                FluxObject::OCIRepository(Arc::new(Deserialize::deserialize(d)?))
            }
            FluxKind::HelmRepository => {
                FluxObject::HelmRepository(Arc::new(Deserialize::deserialize(d)?))
            }
            FluxKind::HelmChart => FluxObject::HelmChart(Arc::new(Deserialize::deserialize(d)?)),
            FluxKind::Bucket => FluxObject::Bucket(Arc::new(Deserialize::deserialize(d)?)),
        })
    }

    /// The object with this `apiVersion` and `kind` unless it has both already (the items
    /// of a list may leave them out). Copies the object only if it is shared.
    pub fn with_types_or(mut self, api_version: &str, kind: &str) -> FluxObject {
        each!(&mut self, o => {
            if o.api_version.is_none() || o.kind.is_none() {
                let o = Arc::make_mut(o);
                o.api_version = Some(shared(api_version));
                o.kind = Some(shared(kind));
            }
        });
        self
    }

    pub fn kind(&self) -> FluxKind {
        match self {
            FluxObject::Kustomization(_) => FluxKind::Kustomization,
            FluxObject::HelmRelease(_) => FluxKind::HelmRelease,
            FluxObject::GitRepository(_) => FluxKind::GitRepository,
            FluxObject::OCIRepository(_) => FluxKind::OCIRepository,
            FluxObject::HelmRepository(_) => FluxKind::HelmRepository,
            FluxObject::HelmChart(_) => FluxKind::HelmChart,
            FluxObject::Bucket(_) => FluxKind::Bucket,
        }
    }

    pub fn metadata(&self) -> &Meta {
        each!(self, o => &o.metadata)
    }

    pub fn namespace(&self) -> &str {
        self.metadata().namespace.as_deref().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey::flux(self.kind(), self.namespace(), self.name())
    }

    /// Whether the object has a status at all (an OCI HelmRepository's is reset to empty).
    pub fn has_status(&self) -> bool {
        match self {
            FluxObject::Kustomization(o) => o.status.is_some(),
            FluxObject::HelmRelease(o) => o.status.is_some(),
            FluxObject::GitRepository(o) => o.status.is_some(),
            FluxObject::OCIRepository(o) => o.status.is_some(),
            FluxObject::HelmRepository(o) => o.status.is_some(),
            FluxObject::HelmChart(o) => o.status.is_some(),
            FluxObject::Bucket(o) => o.status.is_some(),
        }
    }

    pub fn conditions(&self) -> &[Condition] {
        let conditions = match self {
            FluxObject::Kustomization(o) => o.status.as_ref().map(|s| &s.conditions[..]),
            FluxObject::HelmRelease(o) => o.status.as_ref().map(|s| &s.conditions[..]),
            FluxObject::GitRepository(o) => source_status(&o.status).map(|s| &s.conditions[..]),
            FluxObject::OCIRepository(o) => source_status(&o.status).map(|s| &s.conditions[..]),
            FluxObject::HelmRepository(o) => source_status(&o.status).map(|s| &s.conditions[..]),
            FluxObject::HelmChart(o) => source_status(&o.status).map(|s| &s.conditions[..]),
            FluxObject::Bucket(o) => source_status(&o.status).map(|s| &s.conditions[..]),
        };
        conditions.unwrap_or(&NO_CONDITIONS)
    }

    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        find(self.conditions(), type_)
    }

    /// The `Ready` condition.
    pub fn ready(&self) -> Option<&Condition> {
        self.condition(condition_types::READY)
    }

    pub fn suspended(&self) -> bool {
        match self {
            FluxObject::Kustomization(o) => o.spec.suspend,
            FluxObject::HelmRelease(o) => o.spec.suspend,
            FluxObject::GitRepository(o) => o.spec.suspend,
            FluxObject::OCIRepository(o) => o.spec.suspend,
            FluxObject::HelmRepository(o) => o.spec.suspend,
            FluxObject::HelmChart(o) => o.spec.suspend,
            FluxObject::Bucket(o) => o.spec.suspend,
        }
    }

    /// `metadata.generation` (0 when absent).
    pub fn generation(&self) -> i64 {
        self.metadata().generation.unwrap_or(0)
    }

    /// `status.observedGeneration`, -1 (never reconciled) when absent.
    pub fn observed_generation(&self) -> i64 {
        let observed = match self {
            FluxObject::Kustomization(o) => o.status.as_ref().and_then(|s| s.observed_generation),
            FluxObject::HelmRelease(o) => o.status.as_ref().and_then(|s| s.observed_generation),
            FluxObject::GitRepository(o) => o.status.as_ref().and_then(|s| s.observed_generation),
            FluxObject::OCIRepository(o) => o.status.as_ref().and_then(|s| s.observed_generation),
            FluxObject::HelmRepository(o) => o.status.as_ref().and_then(|s| s.observed_generation),
            FluxObject::HelmChart(o) => o.status.as_ref().and_then(|s| s.observed_generation),
            FluxObject::Bucket(o) => o.status.as_ref().and_then(|s| s.observed_generation),
        };
        observed.unwrap_or(-1)
    }

    /// Whether this object is static (an OCI HelmRepository: never reconciled, no status).
    pub fn is_static(&self) -> bool {
        matches!(self, FluxObject::HelmRepository(o) if o.is_oci())
    }

    /// The revision to show: a Kustomization's last applied (else attempted) revision, a
    /// HelmRelease's deployed chart version (else last attempted revision), a source's
    /// artifact revision.
    pub fn revision(&self) -> Option<&str> {
        let rev = match self {
            FluxObject::Kustomization(o) => o.status.as_ref().and_then(|s| {
                s.last_applied_revision
                    .as_deref()
                    .filter(|r| !r.is_empty())
                    .or(s.last_attempted_revision.as_deref())
            }),
            FluxObject::HelmRelease(o) => o.status.as_ref().and_then(|s| {
                s.latest()
                    .map(|l| l.chart_version.as_str())
                    .filter(|r| !r.is_empty())
                    .or(s.last_attempted_revision.as_deref())
            }),
            FluxObject::GitRepository(o) => artifact_revision(&o.status),
            FluxObject::OCIRepository(o) => artifact_revision(&o.status),
            FluxObject::HelmRepository(o) => artifact_revision(&o.status),
            FluxObject::HelmChart(o) => artifact_revision(&o.status),
            FluxObject::Bucket(o) => artifact_revision(&o.status),
        };
        rev.filter(|r| !r.is_empty())
    }

    /// `spec.dependsOn` (Kustomizations and HelmReleases only).
    pub fn depends_on(&self) -> &[DependencyReference] {
        match self {
            FluxObject::Kustomization(o) => &o.spec.depends_on,
            FluxObject::HelmRelease(o) => &o.spec.depends_on,
            _ => &NO_DEPENDENCIES,
        }
    }

    /// The dependencies as keys, namespaces defaulted to this object's.
    pub fn dependency_keys(&self) -> Vec<ObjectKey> {
        let ns = self.namespace();
        self.depends_on()
            .iter()
            .filter(|d| !d.name.is_empty())
            .map(|d| ObjectKey::flux(self.kind(), d.namespace_or(ns), &d.name))
            .collect()
    }

    /// The sources this object reads from: a Kustomization's `sourceRef`; a HelmRelease's
    /// HelmChart (see [`helm_chart_key`]) or `chartRef`; a HelmChart's `sourceRef`.
    pub fn source_refs(&self) -> Vec<ObjectKey> {
        let ns = self.namespace();
        match self {
            FluxObject::Kustomization(o) => {
                source_key(&o.spec.source_ref, ns).into_iter().collect()
            }
            FluxObject::HelmRelease(o) => match helm_chart_key(o) {
                Some(chart) => vec![chart],
                None => o
                    .spec
                    .chart_ref
                    .as_ref()
                    .and_then(|r| source_key(r, ns))
                    .into_iter()
                    .collect(),
            },
            FluxObject::HelmChart(o) => {
                let r = &o.spec.source_ref;
                let reference = CrossNamespaceSourceReference {
                    api_version: r.api_version.clone(),
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                    namespace: None,
                };
                source_key(&reference, ns).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// `status.inventory` (Kustomizations; HelmReleases from helm-controller v1.5).
    pub fn inventory(&self) -> Option<&ResourceInventory> {
        match self {
            FluxObject::Kustomization(o) => o.status.as_ref()?.inventory.as_ref(),
            FluxObject::HelmRelease(o) => o.status.as_ref()?.inventory.as_ref(),
            _ => None,
        }
    }

    /// `spec.kubeConfig` is set: the object applies to a remote cluster.
    pub fn is_remote(&self) -> bool {
        match self {
            FluxObject::Kustomization(o) => o.spec.kube_config.is_some(),
            FluxObject::HelmRelease(o) => o.spec.kube_config.is_some(),
            _ => false,
        }
    }

    pub fn as_kustomization(&self) -> Option<&Arc<Kustomization>> {
        match self {
            FluxObject::Kustomization(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_helm_release(&self) -> Option<&Arc<HelmRelease>> {
        match self {
            FluxObject::HelmRelease(o) => Some(o),
            _ => None,
        }
    }
}

fn artifact_revision(status: &Option<SourceStatus>) -> Option<&str> {
    status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.as_str())
}

impl From<Kustomization> for FluxObject {
    fn from(o: Kustomization) -> Self {
        FluxObject::Kustomization(Arc::new(o))
    }
}

impl From<HelmRelease> for FluxObject {
    fn from(o: HelmRelease) -> Self {
        FluxObject::HelmRelease(Arc::new(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> FluxObject {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        FluxObject::from_value(value).unwrap()
    }

    #[test]
    fn reads_a_helm_release_with_status() {
        let o = load(
            r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: apps, generation: 4}
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: "6.x"
      sourceRef: {kind: HelmRepository, name: podinfo, namespace: flux-system}
  dependsOn: [{name: redis}, {name: db, namespace: data, readyExpr: "dep.status.x"}]
  values: {replicaCount: 2}
  driftDetection: {mode: warn, ignore: [{paths: ["/spec/replicas"], target: {kind: Deployment}}]}
  upgrade: {remediation: {retries: 3}, someNewField: 1}
  futureField: {a: 1}
status:
  observedGeneration: 4
  helmChart: flux-system/apps-podinfo
  storageNamespace: apps
  lastAttemptedRevision: 6.6.1
  failures: 2
  history:
    - {apiVersion: v2, name: podinfo, namespace: apps, version: 3, status: deployed, chartName: podinfo, chartVersion: 6.6.1, firstDeployed: "2026-05-07T04:54:21Z", lastDeployed: "not a time"}
    - {name: podinfo, namespace: apps, version: 2, status: superseded, chartName: podinfo, chartVersion: 6.6.0}
  inventory: {entries: [{id: apps_podinfo_apps_Deployment, v: v1}, {id: broken, v: v1}]}
  conditions:
    - type: Ready
      status: "True"
      reason: UpgradeSucceeded
      message: Helm upgrade succeeded for release apps/podinfo.v3 with chart podinfo@6.6.1
      lastTransitionTime: "2026-08-01T10:00:00Z"
      observedGeneration: 4
"#,
        );
        assert_eq!(o.kind(), FluxKind::HelmRelease);
        assert_eq!(
            o.key(),
            ObjectKey::flux(FluxKind::HelmRelease, "apps", "podinfo")
        );
        assert_eq!(o.generation(), 4);
        assert_eq!(o.observed_generation(), 4);
        assert_eq!(o.revision(), Some("6.6.1"));
        assert!(o.ready().unwrap().is_true());
        assert_eq!(
            o.dependency_keys(),
            vec![
                ObjectKey::flux(FluxKind::HelmRelease, "apps", "redis"),
                ObjectKey::flux(FluxKind::HelmRelease, "data", "db"),
            ]
        );
        assert_eq!(
            o.source_refs(),
            vec![ObjectKey::flux(
                FluxKind::HelmChart,
                "flux-system",
                "apps-podinfo"
            )]
        );
        assert_eq!(o.inventory().unwrap().refs().count(), 1);
        let hr = o.as_helm_release().unwrap();
        // Fields fluxdeck does not read are tolerated and not kept.
        let back = serde_json::to_value(&**hr).unwrap();
        assert!(back["spec"].get("futureField").is_none());
        let status = hr.status.as_ref().unwrap();
        assert!(status.history[0].first_deployed.is_some());
        assert!(status.history[0].last_deployed.is_none());
        assert_eq!(
            hr.spec
                .upgrade
                .as_ref()
                .unwrap()
                .remediation
                .as_ref()
                .unwrap()
                .retries,
            3
        );
        assert_eq!(
            status.latest().unwrap().full_release_name(),
            "apps/podinfo.v3"
        );
    }

    /// A HelmRelease of the simulated scale estate, plus fields fluxdeck does not read.
    const SCALE_RELEASE: &str = r#"{"apiVersion":"helm.toolkit.fluxcd.io/v2","kind":"HelmRelease",
"metadata":{"creationTimestamp":"2026-12-06T14:59:40Z","generation":1,
  "labels":{"kustomize.toolkit.fluxcd.io/name":"ks-0350","kustomize.toolkit.fluxcd.io/namespace":"flux-system"},
  "name":"app-00850","namespace":"team-000","resourceVersion":"102425"},
"spec":{"chart":{"metadata":{"labels":{"a":"b"}},"spec":{"chart":"app","sourceRef":{"kind":"HelmRepository","name":"charts","namespace":"flux-system"},"version":"1.x","verify":{"provider":"cosign"}}},
  "interval":"10m","values":{"replicaCount":2,"image":{"tag":"1.0"}},
  "rollback":{"cleanupOnFail":true},"uninstall":{"keepHistory":true},"futureField":{"a":[1,2,3]},
  "install":{"strategy":{"name":"RetryOnFailure","retryInterval":"2m"},"futureInstallField":1},
  "postRenderers":[{"kustomize":{"patches":[{"patch":"x"},{"patch":"y"}],"images":[{"name":"a"}]}}]},
"status":{"conditions":[{"lastTransitionTime":"2026-12-06T14:59:49Z","message":"Helm install succeeded for release team-000/app-00850.v1 with chart app@1.0.0","observedGeneration":1,"reason":"InstallSucceeded","status":"True","type":"Ready"}],
  "helmChart":"flux-system/team-000-app-00850",
  "history":[{"action":"install","apiVersion":"v2","appVersion":"1.0.0","chartName":"app","chartVersion":"1.0.0","configDigest":"sha256:e15c","digest":"sha256:a783","firstDeployed":"2026-12-06T14:59:43Z","lastDeployed":"2026-12-06T14:59:43Z","name":"app-00850","namespace":"team-000","status":"deployed","version":1}],
  "inventory":{"entries":[{"id":"team-000_app-00850_apps_Deployment","v":"v1"}]},
  "lastAttemptedRevision":"1.0.0","observedGeneration":1,"storageNamespace":"team-000","futureStatus":{"x":1}}}"#;

    /// Every object path of `v` (`/spec/values`, …), containers included.
    fn paths(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| {
                let p = format!("{at}/{k}");
                out.push(p.clone());
                paths(v, p, out);
            }),
            Value::Array(items) => items.iter().for_each(|v| paths(v, format!("{at}/*"), out)),
            _ => {}
        }
    }

    /// The stored form keeps what the views read, compactly: no JSON tree for the values
    /// (one string), nothing of the fields fluxdeck does not read, and the settings the
    /// details pane shows read from typed fields.
    #[test]
    fn the_stored_helm_release_keeps_only_what_is_read() {
        let value: Value = serde_json::from_str(SCALE_RELEASE).unwrap();
        let obj = FluxObject::from_value(value).unwrap();
        let hr = obj.as_helm_release().unwrap();
        let values = hr.spec.values.as_ref().unwrap();
        assert_eq!(
            values.as_str(),
            r#"{"replicaCount":2,"image":{"tag":"1.0"}}"#
        );
        assert_eq!(
            values.to_value(),
            serde_json::json!({"replicaCount": 2, "image": {"tag": "1.0"}})
        );
        let settings = hr.settings();
        let install = settings.iter().find(|s| s.label == "install").unwrap();
        assert!(
            install
                .value
                .contains("strategy RetryOnFailure (retry every 2m)")
        );
        let renderers = settings
            .iter()
            .find(|s| s.label == "postRenderers")
            .unwrap();
        assert_eq!(renderers.value, "kustomize: 2 patches, 1 image override");

        let mut kept = Vec::new();
        paths(
            &serde_json::to_value(&**hr).unwrap(),
            String::new(),
            &mut kept,
        );
        for gone in [
            "/spec/futureField",
            "/spec/rollback",
            "/spec/uninstall",
            "/spec/chart/metadata",
            "/spec/chart/spec/verify",
            "/spec/install/futureInstallField",
            "/status/futureStatus",
        ] {
            assert!(!kept.iter().any(|p| p.starts_with(gone)), "{gone} was kept");
        }
        for read in [
            "/metadata/labels/kustomize.toolkit.fluxcd.io~1name",
            "/spec/values/image/tag",
            "/spec/install/strategy/retryInterval",
            "/status/history/*/configDigest",
            "/status/inventory/entries/*/id",
        ] {
            let read = read.replace("~1", "/");
            assert!(kept.contains(&read), "{read} was not kept: {kept:?}");
        }
        // Unset settings cost a pointer each (64-bit targets).
        #[cfg(target_pointer_width = "64")]
        assert!(
            std::mem::size_of::<HelmRelease>() <= 1400,
            "{}",
            std::mem::size_of::<HelmRelease>()
        );
    }

    #[test]
    fn fresh_objects_and_sources() {
        let ks = load(
            r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system, generation: 1}
spec: {interval: 10m, sourceRef: {kind: GitRepository, name: flux-system}, prune: true}
"#,
        );
        assert_eq!(ks.observed_generation(), -1);
        assert!(ks.conditions().is_empty());
        assert_eq!(ks.revision(), None);
        assert_eq!(
            ks.source_refs(),
            vec![ObjectKey::flux(
                FluxKind::GitRepository,
                "flux-system",
                "flux-system"
            )]
        );
        let chart = load(
            r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: apps-podinfo, namespace: flux-system}
spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: podinfo}}
status: {artifact: {revision: 6.6.1, digest: "sha256:abc"}}
"#,
        );
        assert_eq!(chart.revision(), Some("6.6.1"));
        assert_eq!(
            chart.source_refs(),
            vec![ObjectKey::flux(
                FluxKind::HelmRepository,
                "flux-system",
                "podinfo"
            )]
        );
        let oci = load(
            r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: flux-system}
spec: {type: oci, url: "oci://ghcr.io/stefanprodan/charts"}
status: {}
"#,
        );
        assert!(oci.is_static());
        assert!(oci.has_status());
        assert!(matches!(
            FluxObject::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Pod"})),
            Err(FluxObjectError::UnknownKind { .. })
        ));
        assert!(matches!(
            FluxObject::from_value_as(
                FluxKind::Kustomization,
                serde_json::json!({"spec": {"suspend": "yes"}})
            ),
            Err(FluxObjectError::Decode { .. })
        ));
    }

    /// Read from its text or from a `Value`, an object is the same; without `apiVersion`
    /// and `kind` it takes the ones given.
    #[test]
    fn read_from_text_as_from_a_value() {
        let value: Value = serde_json::from_str(SCALE_RELEASE).unwrap();
        let from_text = FluxObject::from_str_as(FluxKind::HelmRelease, SCALE_RELEASE).unwrap();
        assert_eq!(
            from_text,
            FluxObject::from_value_as(FluxKind::HelmRelease, value.clone()).unwrap()
        );
        let typed = from_text
            .clone()
            .with_types_or("helm.toolkit.fluxcd.io/v2beta2", "X");
        assert_eq!(typed, from_text, "types already present are kept");

        let mut bare = value;
        let map = bare.as_object_mut().unwrap();
        map.remove("apiVersion");
        map.remove("kind");
        let bare = FluxObject::from_str_as(FluxKind::HelmRelease, &bare.to_string()).unwrap();
        assert_ne!(bare, from_text);
        let bare = bare.with_types_or("helm.toolkit.fluxcd.io/v2", "HelmRelease");
        assert_eq!(bare, from_text);
        assert!(matches!(
            FluxObject::from_str_as(FluxKind::Kustomization, r#"{"spec": {"suspend": "yes"}}"#),
            Err(FluxObjectError::Decode { .. })
        ));
    }

    /// Lists read from text hold exactly their elements, as when read from a `Value` (where
    /// the length is known): no room for three more in each of thousands of stored objects.
    #[test]
    fn lists_read_from_text_keep_no_spare_room() {
        let obj = FluxObject::from_str_as(FluxKind::HelmRelease, SCALE_RELEASE).unwrap();
        let status = obj.as_helm_release().unwrap().status.as_ref().unwrap();
        let lists = [
            (status.conditions.len(), status.conditions.capacity()),
            (status.history.len(), status.history.capacity()),
            (
                status.inventory.as_ref().unwrap().entries.len(),
                status.inventory.as_ref().unwrap().entries.capacity(),
            ),
        ];
        assert_eq!(lists, [(1, 1); 3]);
        let ks = FluxObject::from_str_as(
            FluxKind::Kustomization,
            r#"{"spec": {"dependsOn": [{"name": "a"}]},
                "status": {"conditions": [{"type": "Ready"}, {"type": "Healthy"}]}}"#,
        )
        .unwrap();
        let ks = ks.as_kustomization().unwrap();
        assert_eq!(ks.spec.depends_on.capacity(), 1);
        assert_eq!(ks.status.as_ref().unwrap().conditions.capacity(), 2);
    }
}
