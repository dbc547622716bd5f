//! Typed Flux objects (flux-facts §1–§3, §11) and the object identities used everywhere
//! in fluxdeck.
//!
//! Every struct is `#[serde(default)]` with camelCase names, so partial objects (a fresh
//! object without status, an older API version without newer fields) still load, and
//! unknown fields are tolerated (spec and status keep them in `extra`). [`FluxObject`] wraps
//! the seven kinds so health and tree code is written once.

mod common;
mod helmrelease;
mod kinds;
mod kustomization;
mod names;
mod object;
mod sources;

pub use common::{
    Artifact, Condition, CrossNamespaceSourceReference, DependencyReference, LocalObjectReference,
    ResourceInventory, ResourceRef, condition_types,
};
pub use helmrelease::{
    DriftDetection, DriftIgnoreRule, DriftIgnoreTarget, HelmChartTemplate, HelmChartTemplateSpec,
    HelmRelease, HelmReleaseSpec, HelmReleaseStatus, Install, InstallRemediation, Snapshot,
    TestHookStatus, Upgrade, UpgradeRemediation, ValuesReference,
};
pub use kinds::{FluxKind, GroupKind, ObjectKey, ObjectKind};
pub use kustomization::{
    Kustomization, KustomizationHistoryEntry, KustomizationSpec, KustomizationStatus,
};
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
