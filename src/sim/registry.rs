//! The resource types the simulated API server serves: group, versions, kind, plural,
//! scope, verbs, short names, categories, subresources and printer columns. Discovery,
//! routing and the Table format are all answered from here. Creating a
//! CustomResourceDefinition registers its resources at run time.

use parking_lot::RwLock;
use serde_json::Value;

use super::store::ResourceId;

/// A printer column (`kubectl get` Table output), as in a CRD's `additionalPrinterColumns`.
#[derive(Clone, Debug, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub json_path: String,
    pub priority: i64,
}

/// One served resource type.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceType {
    pub group: String,
    /// Served versions, preferred (storage) version first.
    pub versions: Vec<String>,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub has_status: bool,
    pub verbs: Vec<String>,
    pub printer_columns: Vec<PrinterColumn>,
}

impl ResourceType {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(&self.group, &self.plural)
    }

    /// `group/version` for a version of this type (`version` alone for the core group).
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    pub fn preferred_version(&self) -> &str {
        self.versions.first().map(String::as_str).unwrap_or("v1")
    }
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn col(name: &str, type_: &str, json_path: &str, priority: i64) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        json_path: json_path.into(),
        priority,
    }
}

struct Def<'a> {
    group: &'a str,
    versions: &'a [&'a str],
    kind: &'a str,
    plural: &'a str,
    namespaced: bool,
    short: &'a [&'a str],
    categories: &'a [&'a str],
    status: bool,
}

fn def(d: Def<'_>, printer_columns: Vec<PrinterColumn>) -> ResourceType {
    let verbs: &[&str] = if d.plural == "selfsubjectaccessreviews" {
        &["create"]
    } else {
        ALL_VERBS
    };
    ResourceType {
        group: d.group.into(),
        versions: d.versions.iter().map(|s| s.to_string()).collect(),
        kind: d.kind.into(),
        plural: d.plural.into(),
        singular: d.kind.to_lowercase(),
        namespaced: d.namespaced,
        short_names: d.short.iter().map(|s| s.to_string()).collect(),
        categories: d.categories.iter().map(|s| s.to_string()).collect(),
        has_status: d.status,
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        printer_columns,
    }
}

fn flux_columns() -> Vec<PrinterColumn> {
    vec![
        col("Age", "date", ".metadata.creationTimestamp", 0),
        col(
            "Ready",
            "string",
            ".status.conditions[?(@.type==\"Ready\")].status",
            0,
        ),
        col(
            "Status",
            "string",
            ".status.conditions[?(@.type==\"Ready\")].message",
            0,
        ),
    ]
}

/// Which API versions of the Flux kinds the server offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FluxApiLevel {
    /// Current: source v1, kustomize v1, helm v2.
    #[default]
    Current,
    /// An older cluster: HelmRelease v2beta2 and sources v1beta2 only.
    Legacy,
}

/// The built-in resource types.
pub fn builtin(level: FluxApiLevel) -> Vec<ResourceType> {
    let (src_v, helm_v): (&[&str], &[&str]) = match level {
        FluxApiLevel::Current => (&["v1"], &["v2"]),
        FluxApiLevel::Legacy => (&["v1beta2"], &["v2beta2"]),
    };
    let flux: &[&str] = &["fluxcd", "all"];
    let appliers: &[&str] = &["fluxcd", "fluxcd-appliers", "all"];
    let src = "source.toolkit.fluxcd.io";
    let d = |group, versions, kind, plural, namespaced, short, categories, status| Def {
        group,
        versions,
        kind,
        plural,
        namespaced,
        short,
        categories,
        status,
    };
    let core_all: &[&str] = &["all"];
    let none: &[&str] = &[];
    let v1: &[&str] = &["v1"];
    vec![
        def(
            d(
                "",
                v1,
                "Namespace",
                "namespaces",
                false,
                &["ns"],
                none,
                true,
            ),
            vec![],
        ),
        def(
            d(
                "",
                v1,
                "ConfigMap",
                "configmaps",
                true,
                &["cm"],
                none,
                false,
            ),
            vec![],
        ),
        def(
            d("", v1, "Secret", "secrets", true, none, none, false),
            vec![],
        ),
        def(
            d("", v1, "Event", "events", true, &["ev"], none, false),
            vec![],
        ),
        def(
            d("", v1, "Pod", "pods", true, &["po"], core_all, true),
            vec![],
        ),
        def(
            d(
                "",
                v1,
                "Service",
                "services",
                true,
                &["svc"],
                core_all,
                true,
            ),
            vec![],
        ),
        def(
            d(
                "",
                v1,
                "ServiceAccount",
                "serviceaccounts",
                true,
                &["sa"],
                none,
                false,
            ),
            vec![],
        ),
        def(
            d(
                "",
                v1,
                "PersistentVolumeClaim",
                "persistentvolumeclaims",
                true,
                &["pvc"],
                none,
                true,
            ),
            vec![],
        ),
        def(
            d(
                "apps",
                v1,
                "Deployment",
                "deployments",
                true,
                &["deploy"],
                core_all,
                true,
            ),
            vec![],
        ),
        def(
            d(
                "apps",
                v1,
                "StatefulSet",
                "statefulsets",
                true,
                &["sts"],
                core_all,
                true,
            ),
            vec![],
        ),
        def(
            d(
                "apps",
                v1,
                "DaemonSet",
                "daemonsets",
                true,
                &["ds"],
                core_all,
                true,
            ),
            vec![],
        ),
        def(
            d(
                "apps",
                v1,
                "ReplicaSet",
                "replicasets",
                true,
                &["rs"],
                core_all,
                true,
            ),
            vec![],
        ),
        def(
            d("batch", v1, "Job", "jobs", true, none, core_all, true),
            vec![],
        ),
        def(
            d(
                "apiextensions.k8s.io",
                v1,
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
                &["crd", "crds"],
                none,
                true,
            ),
            vec![],
        ),
        def(
            d(
                "authorization.k8s.io",
                v1,
                "SelfSubjectAccessReview",
                "selfsubjectaccessreviews",
                false,
                none,
                none,
                false,
            ),
            vec![],
        ),
        def(
            d(
                src,
                src_v,
                "GitRepository",
                "gitrepositories",
                true,
                &["gitrepo"],
                flux,
                true,
            ),
            {
                let mut c = vec![col("URL", "string", ".spec.url", 0)];
                c.extend(flux_columns());
                c
            },
        ),
        def(
            d(
                src,
                src_v,
                "OCIRepository",
                "ocirepositories",
                true,
                &["ocirepo"],
                flux,
                true,
            ),
            {
                let mut c = vec![col("URL", "string", ".spec.url", 0)];
                c.extend(flux_columns());
                c
            },
        ),
        def(
            d(
                src,
                src_v,
                "HelmRepository",
                "helmrepositories",
                true,
                &["helmrepo"],
                flux,
                true,
            ),
            {
                let mut c = vec![col("URL", "string", ".spec.url", 0)];
                c.extend(flux_columns());
                c
            },
        ),
        def(
            d(
                src,
                src_v,
                "HelmChart",
                "helmcharts",
                true,
                &["hc"],
                flux,
                true,
            ),
            {
                let mut c = vec![
                    col("Chart", "string", ".spec.chart", 0),
                    col("Version", "string", ".spec.version", 0),
                    col("Source Kind", "string", ".spec.sourceRef.kind", 0),
                    col("Source Name", "string", ".spec.sourceRef.name", 0),
                ];
                c.extend(flux_columns());
                c
            },
        ),
        def(
            d(src, src_v, "Bucket", "buckets", true, none, flux, true),
            {
                let mut c = vec![col("Endpoint", "string", ".spec.endpoint", 0)];
                c.extend(flux_columns());
                c
            },
        ),
        def(
            d(
                "kustomize.toolkit.fluxcd.io",
                &["v1"],
                "Kustomization",
                "kustomizations",
                true,
                &["ks"],
                appliers,
                true,
            ),
            flux_columns(),
        ),
        def(
            d(
                "helm.toolkit.fluxcd.io",
                helm_v,
                "HelmRelease",
                "helmreleases",
                true,
                &["hr"],
                appliers,
                true,
            ),
            flux_columns(),
        ),
    ]
}

/// The live set of served resource types.
pub struct Registry {
    types: RwLock<Vec<ResourceType>>,
}

impl Registry {
    pub fn new(level: FluxApiLevel) -> Self {
        Self {
            types: RwLock::new(builtin(level)),
        }
    }

    pub fn all(&self) -> Vec<ResourceType> {
        self.types.read().clone()
    }

    /// The type served at `group/version` under `plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .read()
            .iter()
            .find(|t| {
                t.group == group && t.plural == plural && t.versions.iter().any(|v| v == version)
            })
            .cloned()
    }

    /// The type of a kind in a group (any version).
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .read()
            .iter()
            .find(|t| t.group == group && t.kind == kind)
            .cloned()
    }

    /// The type for an `apiVersion` + `kind` pair as found in an object.
    pub fn by_api_version(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        self.by_kind(group, kind)
    }

    /// Register (or replace) the resource type a CustomResourceDefinition describes.
    /// Returns `None` when the CRD lacks the fields needed.
    pub fn register_crd(&self, crd: &Value) -> Option<ResourceType> {
        let t = type_from_crd(crd)?;
        let mut types = self.types.write();
        types.retain(|x| !(x.group == t.group && x.plural == t.plural));
        types.push(t.clone());
        Some(t)
    }

    /// Remove the resource type of a deleted CRD.
    pub fn unregister(&self, group: &str, plural: &str) {
        self.types
            .write()
            .retain(|x| !(x.group == group && x.plural == plural));
    }
}

/// The resource type a CustomResourceDefinition describes, `None` when it lacks the fields
/// needed (group, kind, plural, at least one served version).
pub fn type_from_crd(crd: &Value) -> Option<ResourceType> {
    let spec = crd.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let names = spec.get("names")?;
    let kind = names.get("kind")?.as_str()?.to_string();
    let plural = names.get("plural")?.as_str()?.to_string();
    let strs = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut versions = Vec::new();
    let mut has_status = false;
    let mut printer_columns = Vec::new();
    for v in spec.get("versions")?.as_array()? {
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let Some(name) = v.get("name").and_then(Value::as_str) else {
            continue;
        };
        let storage = v.get("storage").and_then(Value::as_bool) == Some(true);
        if storage {
            versions.insert(0, name.to_string());
        } else {
            versions.push(name.to_string());
        }
        if v.pointer("/subresources/status").is_some() {
            has_status = true;
        }
        if storage || printer_columns.is_empty() {
            printer_columns = v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .map(|cols| {
                    cols.iter()
                        .filter_map(|c| {
                            Some(PrinterColumn {
                                name: c.get("name")?.as_str()?.to_string(),
                                type_: c.get("type")?.as_str()?.to_string(),
                                json_path: c.get("jsonPath")?.as_str()?.to_string(),
                                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    if versions.is_empty() {
        return None;
    }
    let t = ResourceType {
        group,
        versions,
        singular: names
            .get("singular")
            .and_then(Value::as_str)
            .map_or_else(|| kind.to_lowercase(), String::from),
        kind,
        plural,
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        short_names: strs(names.get("shortNames")),
        categories: strs(names.get("categories")),
        has_status,
        verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
        printer_columns,
    };
    Some(t)
}

/// Well-known resource ids used by the simulated controllers.
pub mod ids {
    use super::ResourceId;

    pub fn namespaces() -> ResourceId {
        ResourceId::new("", "namespaces")
    }
    pub fn configmaps() -> ResourceId {
        ResourceId::new("", "configmaps")
    }
    pub fn secrets() -> ResourceId {
        ResourceId::new("", "secrets")
    }
    pub fn events() -> ResourceId {
        ResourceId::new("", "events")
    }
    pub fn pods() -> ResourceId {
        ResourceId::new("", "pods")
    }
    pub fn services() -> ResourceId {
        ResourceId::new("", "services")
    }
    pub fn deployments() -> ResourceId {
        ResourceId::new("apps", "deployments")
    }
    pub fn statefulsets() -> ResourceId {
        ResourceId::new("apps", "statefulsets")
    }
    pub fn daemonsets() -> ResourceId {
        ResourceId::new("apps", "daemonsets")
    }
    pub fn jobs() -> ResourceId {
        ResourceId::new("batch", "jobs")
    }
    pub fn gitrepositories() -> ResourceId {
        ResourceId::new("source.toolkit.fluxcd.io", "gitrepositories")
    }
    pub fn ocirepositories() -> ResourceId {
        ResourceId::new("source.toolkit.fluxcd.io", "ocirepositories")
    }
    pub fn helmrepositories() -> ResourceId {
        ResourceId::new("source.toolkit.fluxcd.io", "helmrepositories")
    }
    pub fn helmcharts() -> ResourceId {
        ResourceId::new("source.toolkit.fluxcd.io", "helmcharts")
    }
    pub fn buckets() -> ResourceId {
        ResourceId::new("source.toolkit.fluxcd.io", "buckets")
    }
    pub fn kustomizations() -> ResourceId {
        ResourceId::new("kustomize.toolkit.fluxcd.io", "kustomizations")
    }
    pub fn helmreleases() -> ResourceId {
        ResourceId::new("helm.toolkit.fluxcd.io", "helmreleases")
    }
}
