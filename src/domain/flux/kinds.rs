//! Kinds and identities: [`FluxKind`] (group, plural, short names, served versions),
//! [`ObjectKind`] (a Flux kind or any other group/kind) and [`ObjectKey`], the identity of
//! every object in fluxdeck.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use arcstr::ArcStr;
use parking_lot::Mutex;

use serde::{Deserialize, Serialize};

use crate::domain::inventory::InventoryRef;

/// The Flux kinds fluxdeck understands as typed objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FluxKind {
    Kustomization,
    HelmRelease,
    GitRepository,
    OCIRepository,
    HelmRepository,
    HelmChart,
    Bucket,
}

pub const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
pub const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
pub const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";

impl FluxKind {
    pub const ALL: [FluxKind; 7] = [
        FluxKind::Kustomization,
        FluxKind::HelmRelease,
        FluxKind::GitRepository,
        FluxKind::OCIRepository,
        FluxKind::HelmRepository,
        FluxKind::HelmChart,
        FluxKind::Bucket,
    ];

    /// The kind name as written in `kind:`.
    pub fn as_str(self) -> &'static str {
        match self {
            FluxKind::Kustomization => "Kustomization",
            FluxKind::HelmRelease => "HelmRelease",
            FluxKind::GitRepository => "GitRepository",
            FluxKind::OCIRepository => "OCIRepository",
            FluxKind::HelmRepository => "HelmRepository",
            FluxKind::HelmChart => "HelmChart",
            FluxKind::Bucket => "Bucket",
        }
    }

    pub fn group(self) -> &'static str {
        match self {
            FluxKind::Kustomization => KUSTOMIZE_GROUP,
            FluxKind::HelmRelease => HELM_GROUP,
            _ => SOURCE_GROUP,
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            FluxKind::Kustomization => "kustomizations",
            FluxKind::HelmRelease => "helmreleases",
            FluxKind::GitRepository => "gitrepositories",
            FluxKind::OCIRepository => "ocirepositories",
            FluxKind::HelmRepository => "helmrepositories",
            FluxKind::HelmChart => "helmcharts",
            FluxKind::Bucket => "buckets",
        }
    }

    /// The CRD short names (empty for Bucket).
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            FluxKind::Kustomization => &["ks"],
            FluxKind::HelmRelease => &["hr"],
            FluxKind::GitRepository => &["gitrepo"],
            FluxKind::OCIRepository => &["ocirepo"],
            FluxKind::HelmRepository => &["helmrepo"],
            FluxKind::HelmChart => &["hc"],
            FluxKind::Bucket => &[],
        }
    }

    /// Versions that were served for this kind, newest (preferred) first.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            FluxKind::Kustomization => &["v1", "v1beta2", "v1beta1"],
            FluxKind::HelmRelease => &["v2", "v2beta2", "v2beta1"],
            FluxKind::OCIRepository => &["v1", "v1beta2"],
            FluxKind::GitRepository
            | FluxKind::HelmRepository
            | FluxKind::HelmChart
            | FluxKind::Bucket => &["v1", "v1beta2", "v1beta1"],
        }
    }

    /// Whether this kind is a source (`source.toolkit.fluxcd.io`).
    pub fn is_source(self) -> bool {
        self.group() == SOURCE_GROUP
    }

    /// Parse a kind as a user types it: kind name, singular, plural or short name, any case
    /// (`hr`, `helmrelease`, `HelmRelease`, `helmreleases`).
    pub fn parse(text: &str) -> Option<FluxKind> {
        let text = text.trim();
        FluxKind::ALL.into_iter().find(|k| {
            k.as_str().eq_ignore_ascii_case(text)
                || k.plural().eq_ignore_ascii_case(text)
                || k.short_names().iter().any(|s| s.eq_ignore_ascii_case(text))
        })
    }

    /// The Flux kind with this group and kind name, if any.
    pub fn from_group_kind(group: &str, kind: &str) -> Option<FluxKind> {
        FluxKind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.as_str() == kind)
    }
}

impl fmt::Display for FluxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API group (empty for the core group) and kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupKind {
    pub group: ArcStr,
    pub kind: ArcStr,
}

impl GroupKind {
    pub fn new(group: &str, kind: &str) -> Self {
        Self {
            group: shared(group),
            kind: shared(kind),
        }
    }

    /// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
    pub fn group_of_api_version(api_version: &str) -> &str {
        api_version
            .rsplit_once('/')
            .map(|(group, _)| group)
            .unwrap_or("")
    }
}

/// The kind part of an object identity: a typed Flux kind or any other group/kind.
/// Always built through [`ObjectKind::new`], which maps Flux group/kinds to `Flux`, so
/// one object never has two different identities.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectKind {
    Flux(FluxKind),
    Other(GroupKind),
}

impl ObjectKind {
    pub fn new(group: &str, kind: &str) -> Self {
        match FluxKind::from_group_kind(group, kind) {
            Some(k) => ObjectKind::Flux(k),
            None => ObjectKind::Other(GroupKind::new(group, kind)),
        }
    }

    pub fn group(&self) -> &str {
        match self {
            ObjectKind::Flux(k) => k.group(),
            ObjectKind::Other(gk) => &gk.group,
        }
    }

    pub fn kind(&self) -> &str {
        match self {
            ObjectKind::Flux(k) => k.as_str(),
            ObjectKind::Other(gk) => &gk.kind,
        }
    }

    pub fn flux(&self) -> Option<FluxKind> {
        match self {
            ObjectKind::Flux(k) => Some(*k),
            ObjectKind::Other(_) => None,
        }
    }

    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.group(), self.kind())
    }
}

impl From<FluxKind> for ObjectKind {
    fn from(k: FluxKind) -> Self {
        ObjectKind::Flux(k)
    }
}

/// The most distinct strings [`shared`] keeps: namespaces, groups and kinds are few in any
/// cluster; past this many (a hostile or unusual estate) new ones are simply not shared.
const SHARED_MAX: usize = 4096;

/// One copy of a namespace, group or kind string for every key that names it: a key is
/// copied into the snapshot, the dependency graph, the tree and its cache, and sharing the
/// text makes those copies reference counts instead of allocations.
pub(crate) fn shared(s: &str) -> ArcStr {
    static SHARED: LazyLock<Mutex<HashSet<ArcStr>>> = LazyLock::new(Mutex::default);
    if s.is_empty() {
        return ArcStr::new();
    }
    let mut set = SHARED.lock();
    if let Some(held) = set.get(s) {
        return held.clone();
    }
    let new = ArcStr::from(s);
    if set.len() < SHARED_MAX {
        set.insert(new.clone());
    }
    new
}

/// The identity of one object: kind, namespace (empty when cluster-scoped) and name.
/// Cloning one costs reference counts, not allocations (see [`shared`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    pub kind: ObjectKind,
    pub namespace: ArcStr,
    pub name: ArcStr,
}

impl ObjectKey {
    pub fn new(group: &str, kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: ObjectKind::new(group, kind),
            namespace: shared(namespace),
            name: ArcStr::from(name),
        }
    }

    pub fn flux(kind: FluxKind, namespace: &str, name: &str) -> Self {
        Self {
            kind: ObjectKind::Flux(kind),
            namespace: shared(namespace),
            name: ArcStr::from(name),
        }
    }

    /// The object an inventory entry names.
    pub fn from_inventory(r: &InventoryRef) -> Self {
        Self::new(&r.group, &r.kind, &r.namespace, &r.name)
    }

    pub fn flux_kind(&self) -> Option<FluxKind> {
        self.kind.flux()
    }

    pub fn group(&self) -> &str {
        self.kind.group()
    }

    pub fn kind_name(&self) -> &str {
        self.kind.kind()
    }
}

/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects (as `flux tree` prints).
impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind.kind(), self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind.kind(), self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kind_names_plurals_and_short_names() {
        for (text, kind) in [
            ("hr", FluxKind::HelmRelease),
            ("helmrelease", FluxKind::HelmRelease),
            ("HelmRelease", FluxKind::HelmRelease),
            ("helmreleases", FluxKind::HelmRelease),
            ("ks", FluxKind::Kustomization),
            ("KS", FluxKind::Kustomization),
            ("gitrepo", FluxKind::GitRepository),
            ("ocirepo", FluxKind::OCIRepository),
            ("helmrepo", FluxKind::HelmRepository),
            ("hc", FluxKind::HelmChart),
            ("bucket", FluxKind::Bucket),
            ("buckets", FluxKind::Bucket),
        ] {
            assert_eq!(FluxKind::parse(text), Some(kind), "{text}");
        }
        assert_eq!(FluxKind::parse("deployment"), None);
        assert_eq!(FluxKind::parse(""), None);
    }

    #[test]
    fn identities_are_normalised() {
        let a = ObjectKey::new(HELM_GROUP, "HelmRelease", "apps", "podinfo");
        let b = ObjectKey::flux(FluxKind::HelmRelease, "apps", "podinfo");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "HelmRelease/apps/podinfo");
        let ns = ObjectKey::new("", "Namespace", "", "apps");
        assert_eq!(ns.to_string(), "Namespace/apps");
        assert_eq!(ns.flux_kind(), None);
        // Same kind name in another group is not a Flux kind.
        assert_eq!(ObjectKind::new("example.com", "HelmRelease").flux(), None);
        assert_eq!(GroupKind::group_of_api_version("apps/v1"), "apps");
        assert_eq!(GroupKind::group_of_api_version("v1"), "");
    }

    #[test]
    fn versions_are_newest_first() {
        assert_eq!(FluxKind::HelmRelease.versions()[0], "v2");
        for k in FluxKind::ALL {
            assert_eq!(
                k.versions()[0],
                if k == FluxKind::HelmRelease {
                    "v2"
                } else {
                    "v1"
                }
            );
        }
    }
}
