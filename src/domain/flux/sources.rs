//! Source kinds (`source.toolkit.fluxcd.io`): GitRepository, OCIRepository, HelmRepository,
//! HelmChart and Bucket. They share one status shape ([`SourceStatus`]).

use arcstr::ArcStr;
use serde::{Deserialize, Serialize};

use super::common::{Artifact, Condition, LocalObjectReference, exact, shared_text_opt};
use super::meta::Meta;

/// Status of every source kind (fields a kind does not use stay empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SourceStatus {
    /// `None` when absent.
    pub observed_generation: Option<i64>,
    #[serde(deserialize_with = "exact")]
    pub conditions: Vec<Condition>,
    pub artifact: Option<Artifact>,
    pub last_handled_reconcile_at: Option<String>,
    /// HelmChart: the chart name last built.
    pub observed_chart_name: Option<String>,
    /// HelmChart: revision of the source artifact the chart was built from.
    pub observed_source_artifact_revision: Option<String>,
    #[serde(deserialize_with = "exact")]
    pub observed_values_files: Vec<String>,
}

macro_rules! source_object {
    ($(#[$doc:meta])* $name:ident, $spec:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        pub struct $name {
            /// Shared between objects of a kind.
            #[serde(deserialize_with = "shared_text_opt")]
            pub api_version: Option<ArcStr>,
            #[serde(deserialize_with = "shared_text_opt")]
            pub kind: Option<ArcStr>,
            pub metadata: Meta,
            pub spec: $spec,
            pub status: Option<SourceStatus>,
        }
    };
}

source_object!(GitRepository, GitRepositorySpec);
source_object!(OCIRepository, OCIRepositorySpec);
source_object!(HelmRepository, HelmRepositorySpec);
source_object!(HelmChart, HelmChartSpec);
source_object!(Bucket, BucketSpec);

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GitRepositorySpec {
    pub url: String,
    #[serde(rename = "ref")]
    pub reference: Option<GitRepositoryRef>,
    pub interval: String,
    pub timeout: Option<String>,
    pub secret_ref: Option<LocalObjectReference>,
    pub suspend: bool,
    pub ignore: Option<String>,
}

/// `spec.ref` of a GitRepository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GitRepositoryRef {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub semver: Option<String>,
    pub name: Option<String>,
    pub commit: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OCIRepositorySpec {
    pub url: String,
    #[serde(rename = "ref")]
    pub reference: Option<OCIRepositoryRef>,
    pub provider: Option<String>,
    pub interval: String,
    pub timeout: Option<String>,
    pub secret_ref: Option<LocalObjectReference>,
    pub insecure: bool,
    pub suspend: bool,
}

/// `spec.ref` of an OCIRepository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OCIRepositoryRef {
    pub digest: Option<String>,
    pub semver: Option<String>,
    pub semver_filter: Option<String>,
    pub tag: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    pub url: String,
    /// `default` (HTTP index) or `oci`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub provider: Option<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub secret_ref: Option<LocalObjectReference>,
    pub pass_credentials: bool,
    pub insecure: bool,
    pub suspend: bool,
}

impl HelmRepository {
    /// OCI HelmRepositories are static: source-controller keeps no status for them.
    pub fn is_oci(&self) -> bool {
        self.spec.type_.as_deref() == Some("oci")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmChartSpec {
    pub chart: String,
    pub version: Option<String>,
    pub source_ref: HelmChartSourceReference,
    pub interval: String,
    pub reconcile_strategy: Option<String>,
    #[serde(deserialize_with = "exact")]
    pub values_files: Vec<String>,
    pub suspend: bool,
}

/// `spec.sourceRef` of a HelmChart: always in the HelmChart's namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmChartSourceReference {
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BucketSpec {
    pub provider: Option<String>,
    pub bucket_name: String,
    pub endpoint: String,
    pub region: Option<String>,
    pub prefix: Option<String>,
    pub insecure: bool,
    pub interval: String,
    pub timeout: Option<String>,
    pub secret_ref: Option<LocalObjectReference>,
    pub suspend: bool,
}
