//! Typed Flux objects (flux-facts §1–§3, §11) and the object identities used everywhere
//! in fluxdeck.
//!
//! Every struct is `#[serde(default)]` with camelCase names, so partial objects (a fresh
//! object without status, an older API version without newer fields) still load, and
//! unknown fields are tolerated and not kept: the structs hold what the tree, details, why
//! view, diffs and values check read (the YAML view fetches the whole object when shown).
//! [`FluxObject`] wraps the seven kinds so health and tree code is written once.

mod common;
mod helmrelease;
mod kinds;
mod kustomization;
mod meta;
mod names;
mod object;
mod sources;

pub use common::{
    Artifact, Condition, Count, CrossNamespaceSourceReference, DependencyReference,
    KubeConfigReference, KubeConfigSecretRef, LocalObjectReference, ResourceInventory, ResourceRef,
    Values, condition_types,
};
pub use helmrelease::{
    DriftDetection, DriftIgnoreRule, DriftIgnoreTarget, HelmChartTemplate, HelmChartTemplateSpec,
    HelmRelease, HelmReleaseSpec, HelmReleaseStatus, Install, InstallRemediation,
    KustomizePostRenderer, PostRenderer, Snapshot, Strategy, Test, TestHookStatus, Upgrade,
    UpgradeRemediation, ValuesReference,
};
pub use kinds::{FluxKind, GroupKind, ObjectKey, ObjectKind};
pub use kustomization::{
    Kustomization, KustomizationHistoryEntry, KustomizationSpec, KustomizationStatus,
};
pub use meta::{LAST_APPLIED, Labels, Meta};
pub use names::{
    desired_release_name, helm_chart_key, helm_chart_name, namespace_name, release_name,
    release_namespace, shorten_release_name, storage_namespace,
};
pub use object::{FluxObject, FluxObjectError};
pub use sources::{
    Bucket, BucketSpec, GitRepository, GitRepositoryRef, GitRepositorySpec, HelmChart,
    HelmChartSourceReference, HelmChartSpec, HelmRepository, HelmRepositorySpec, OCIRepository,
    OCIRepositoryRef, OCIRepositorySpec, SourceStatus,
};
