//! HelmRelease (`helm.toolkit.fluxcd.io`, flux-facts §3).

use std::collections::BTreeMap;

use arcstr::ArcStr;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, Count, CrossNamespaceSourceReference, DependencyReference, KubeConfigReference,
    ResourceInventory, Values, exact, lenient_time, shared_text, shared_text_opt,
};
use super::meta::Meta;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmRelease {
    /// Shared between objects of a kind.
    #[serde(deserialize_with = "shared_text_opt")]
    pub api_version: Option<ArcStr>,
    #[serde(deserialize_with = "shared_text_opt")]
    pub kind: Option<ArcStr>,
    pub metadata: Meta,
    pub spec: HelmReleaseSpec,
    pub status: Option<HelmReleaseStatus>,
}

/// What the views read of `spec`. Settings most releases leave unset are boxed, so an
/// absent one costs a pointer in each of thousands of stored releases.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    pub interval: String,
    /// Template for the generated HelmChart (exactly one of `chart` / `chart_ref`).
    pub chart: Option<HelmChartTemplate>,
    /// `{kind: OCIRepository|HelmChart|ExternalArtifact, name, namespace?}`.
    pub chart_ref: Option<Box<CrossNamespaceSourceReference>>,
    pub release_name: Option<String>,
    pub target_namespace: Option<String>,
    pub storage_namespace: Option<String>,
    #[serde(deserialize_with = "exact")]
    pub depends_on: Vec<DependencyReference>,
    /// Inline values, kept as compact JSON text (parsed when a view or the values check
    /// composes them).
    pub values: Option<Values>,
    #[serde(deserialize_with = "exact")]
    pub values_from: Vec<ValuesReference>,
    pub suspend: bool,
    pub timeout: Option<String>,
    pub max_history: Option<i64>,
    pub service_account_name: Option<String>,
    /// Set: the release is applied to a remote cluster.
    pub kube_config: Option<Box<KubeConfigReference>>,
    pub drift_detection: Option<Box<DriftDetection>>,
    pub install: Option<Box<Install>>,
    pub upgrade: Option<Box<Upgrade>>,
    pub test: Option<Box<Test>>,
    #[serde(deserialize_with = "exact")]
    pub post_renderers: Vec<PostRenderer>,
}

/// `spec.test`: the settings the details pane shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Test {
    pub enable: bool,
    pub ignore_failures: bool,
    pub timeout: Option<String>,
}

/// `spec.postRenderers[]`: what a post-renderer does, counted (the details pane says how many
/// patches and image overrides it has; the YAML view shows them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PostRenderer {
    pub kustomize: Option<KustomizePostRenderer>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KustomizePostRenderer {
    pub patches: Count,
    pub patches_strategic_merge: Count,
    #[serde(rename = "patchesJson6902")]
    pub patches_json6902: Count,
    pub images: Count,
}

/// `install.strategy` / `upgrade.strategy` (helm-controller v1.4+).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Strategy {
    /// `RemediateOnFailure` (default) or `RetryOnFailure`.
    pub name: Option<String>,
    pub retry_interval: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmChartTemplate {
    pub spec: HelmChartTemplateSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    pub chart: String,
    /// Semver range; `None` means `*`.
    pub version: Option<String>,
    pub source_ref: CrossNamespaceSourceReference,
    pub interval: Option<String>,
    pub reconcile_strategy: Option<String>,
    #[serde(deserialize_with = "exact")]
    pub values_files: Vec<String>,
    pub ignore_missing_values_files: bool,
}

/// `valuesFrom[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ValuesReference {
    pub kind: String,
    pub name: String,
    pub values_key: Option<String>,
    pub target_path: Option<String>,
    pub optional: bool,
    pub literal: bool,
}

/// `driftDetection`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftDetection {
    /// `enabled`, `warn` or `disabled` (the default when absent).
    pub mode: Option<String>,
    #[serde(deserialize_with = "exact")]
    pub ignore: Vec<DriftIgnoreRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftIgnoreRule {
    #[serde(deserialize_with = "exact")]
    pub paths: Vec<String>,
    pub target: Option<DriftIgnoreTarget>,
}

/// Target selector of an ignore rule; the string fields are anchored regular expressions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftIgnoreTarget {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub annotation_selector: Option<String>,
    pub label_selector: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Install {
    pub timeout: Option<String>,
    pub remediation: Option<InstallRemediation>,
    /// `Skip`, `Create` (default) or `CreateReplace`.
    pub crds: Option<String>,
    pub create_namespace: bool,
    pub disable_wait: bool,
    pub strategy: Option<Strategy>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InstallRemediation {
    /// Negative = unlimited.
    pub retries: i64,
    pub ignore_test_failures: Option<bool>,
    pub remediate_last_failure: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Upgrade {
    pub timeout: Option<String>,
    pub remediation: Option<UpgradeRemediation>,
    /// `Skip` (default), `Create` or `CreateReplace`.
    pub crds: Option<String>,
    pub force: bool,
    pub preserve_values: bool,
    pub cleanup_on_fail: bool,
    pub disable_wait: bool,
    pub strategy: Option<Strategy>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UpgradeRemediation {
    pub retries: i64,
    pub ignore_test_failures: Option<bool>,
    /// Defaults to true when `retries > 0`.
    pub remediate_last_failure: Option<bool>,
    /// `rollback` (default) or `uninstall`.
    pub strategy: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// `None` when absent; the CRD default is -1 (never reconciled).
    pub observed_generation: Option<i64>,
    pub last_attempted_generation: Option<i64>,
    pub last_attempted_revision: Option<String>,
    pub last_attempted_revision_digest: Option<String>,
    pub last_attempted_config_digest: Option<String>,
    pub last_attempted_values_checksum: Option<String>,
    pub last_attempted_release_action: Option<String>,
    pub last_attempted_release_action_duration: Option<String>,
    pub last_release_revision: Option<i64>,
    pub failures: i64,
    pub install_failures: i64,
    pub upgrade_failures: i64,
    /// `<namespace>/<name>` of the generated HelmChart.
    pub helm_chart: Option<String>,
    pub storage_namespace: Option<String>,
    pub last_handled_reconcile_at: Option<String>,
    pub last_handled_force_at: Option<String>,
    pub last_handled_reset_at: Option<String>,
    pub inventory: Option<ResourceInventory>,
    /// Newest first.
    #[serde(deserialize_with = "exact")]
    pub history: Vec<Snapshot>,
    #[serde(deserialize_with = "exact")]
    pub conditions: Vec<Condition>,
}

impl HelmReleaseStatus {
    /// The latest snapshot (highest Helm revision).
    pub fn latest(&self) -> Option<&Snapshot> {
        self.history.iter().max_by_key(|s| s.version)
    }
}

/// `status.history[]`: one observed Helm release record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Snapshot {
    /// `v2` for snapshots written by helm-controller ≥ v1.5. This and the namespace,
    /// status and action are shared between releases (few distinct values).
    #[serde(deserialize_with = "shared_text_opt")]
    pub api_version: Option<ArcStr>,
    pub digest: String,
    pub name: String,
    #[serde(deserialize_with = "shared_text")]
    pub namespace: ArcStr,
    pub version: i64,
    #[serde(deserialize_with = "shared_text")]
    pub status: ArcStr,
    #[serde(deserialize_with = "shared_text_opt")]
    pub action: Option<ArcStr>,
    pub chart_name: String,
    pub chart_version: String,
    pub app_version: Option<String>,
    pub config_digest: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub first_deployed: Option<Time>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_deployed: Option<Time>,
    #[serde(deserialize_with = "lenient_time")]
    pub deleted: Option<Time>,
    pub test_hooks: Option<BTreeMap<String, TestHookStatus>>,
    pub oci_digest: Option<String>,
}

impl Snapshot {
    /// `<namespace>/<name>.v<version>` as used in controller messages.
    pub fn full_release_name(&self) -> String {
        format!("{}/{}.v{}", self.namespace, self.name, self.version)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TestHookStatus {
    #[serde(deserialize_with = "lenient_time")]
    pub last_started: Option<Time>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_completed: Option<Time>,
    pub phase: Option<String>,
}

/// helm-controller's default for `spec.timeout` (and every action's timeout).
pub const DEFAULT_TIMEOUT: &str = "5m0s";

/// One setting of a HelmRelease as the details pane shows it: a label and its effective
/// value, defaults spelled out (`5m0s (default)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub label: &'static str,
    pub value: String,
    /// A value an operator should notice (remediation retries used up).
    pub warn: bool,
}

fn setting(label: &'static str, value: String) -> Setting {
    Setting {
        label,
        value,
        warn: false,
    }
}

fn or_default(v: Option<&str>, default: &str) -> String {
    match v.filter(|s| !s.is_empty()) {
        Some(v) => v.to_string(),
        None => format!("{default} (default)"),
    }
}

/// `3 retries`, `unlimited retries`, `no retries`.
fn retries(n: i64) -> String {
    match n {
        n if n < 0 => "unlimited retries".into(),
        0 => "no retries".into(),
        1 => "1 retry".into(),
        n => format!("{n} retries"),
    }
}

/// `strategy: {name, retryInterval}` of install/upgrade (helm-controller v1.4+), if set.
fn strategy(s: Option<&Strategy>) -> Option<String> {
    let s = s?;
    let name = s.name.as_deref().unwrap_or("RemediateOnFailure");
    Some(match s.retry_interval.as_deref() {
        Some(i) => format!("{name} (retry every {i})"),
        None => name.to_string(),
    })
}

/// What one post-renderer does, in a few words.
fn post_renderer(p: &PostRenderer) -> String {
    let Some(k) = &p.kustomize else {
        return "unknown post-renderer".into();
    };
    let mut parts = Vec::new();
    for (count, one, many) in [
        (&k.patches, "patch", "patches"),
        (
            &k.patches_strategic_merge,
            "strategic-merge patch",
            "strategic-merge patches",
        ),
        (&k.patches_json6902, "JSON 6902 patch", "JSON 6902 patches"),
        (&k.images, "image override", "image overrides"),
    ] {
        match count.0 {
            0 => {}
            1 => parts.push(format!("1 {one}")),
            n => parts.push(format!("{n} {many}")),
        }
    }
    if parts.is_empty() {
        "kustomize (empty)".into()
    } else {
        format!("kustomize: {}", parts.join(", "))
    }
}

impl HelmRelease {
    /// The settings operators tune and ask about, with the defaults that apply: timeout,
    /// install and upgrade remediation (retries, strategy, remediateLastFailure, the failure
    /// counters), tests and post-renderers.
    pub fn settings(&self) -> Vec<Setting> {
        let spec = &self.spec;
        let status = self.status.as_ref();
        let mut out = vec![setting(
            "timeout",
            or_default(spec.timeout.as_deref(), DEFAULT_TIMEOUT),
        )];

        let install = spec.install.clone().unwrap_or_default();
        let ir = install.remediation.clone().unwrap_or_default();
        let mut text = retries(ir.retries);
        if let Some(s) = strategy(install.strategy.as_ref()) {
            text.push_str(&format!(", strategy {s}"));
        }
        if ir.remediate_last_failure == Some(true) {
            text.push_str(", remediateLastFailure");
        }
        let used = status.map_or(0, |s| s.install_failures);
        text.push_str(&format!(", {used} failure(s) so far"));
        out.push(Setting {
            label: "install",
            value: text,
            warn: used > 0 && ir.retries >= 0 && used > ir.retries,
        });
        if install.timeout.is_some() {
            out.push(setting(
                "install timeout",
                or_default(install.timeout.as_deref(), DEFAULT_TIMEOUT),
            ));
        }

        let upgrade = spec.upgrade.clone().unwrap_or_default();
        let ur = upgrade.remediation.clone().unwrap_or_default();
        let mut text = retries(ur.retries);
        // Defaults to true when retries > 0 (helm-controller).
        let last = ur.remediate_last_failure.unwrap_or(ur.retries > 0);
        let explicit = ur.remediate_last_failure.is_some();
        let remediation_strategy = ur.strategy.clone().unwrap_or_else(|| "rollback".into());
        if ur.retries == 0 && !last {
            // Nothing remediates a failed upgrade: saying "rollback" would mislead.
            text.push_str(": a failed upgrade is not remediated");
        } else {
            text.push_str(&format!(", remediation {remediation_strategy}"));
        }
        if let Some(s) = strategy(upgrade.strategy.as_ref()) {
            text.push_str(&format!(", strategy {s}"));
        }
        text.push_str(&format!(
            ", remediateLastFailure {last}{}",
            if explicit { "" } else { " (default)" }
        ));
        let used = status.map_or(0, |s| s.upgrade_failures);
        text.push_str(&format!(", {used} failure(s) so far"));
        out.push(Setting {
            label: "upgrade",
            value: text,
            warn: used > 0 && ur.retries >= 0 && used > ur.retries,
        });
        if upgrade.timeout.is_some() {
            out.push(setting(
                "upgrade timeout",
                or_default(upgrade.timeout.as_deref(), DEFAULT_TIMEOUT),
            ));
        }
        if let Some(s) = status
            && s.failures > 0
        {
            out.push(Setting {
                label: "failures",
                value: format!("{} since the last success", s.failures),
                warn: true,
            });
        }

        let test = spec.test.as_ref();
        let enabled = test.is_some_and(|t| t.enable);
        let mut text = if enabled {
            "enabled".to_string()
        } else {
            "disabled (default)".to_string()
        };
        if enabled && test.is_some_and(|t| t.ignore_failures) {
            text.push_str(", failures ignored");
        }
        out.push(setting("tests", text));

        let renderers = if spec.post_renderers.is_empty() {
            "none".to_string()
        } else {
            spec.post_renderers
                .iter()
                .map(post_renderer)
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(setting("postRenderers", renderers));
        out
    }
}

#[cfg(test)]
mod settings_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::{Value, json};

    fn hr(spec: Value, status: Value) -> HelmRelease {
        serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": spec,
            "status": status,
        }))
        .unwrap()
    }

    fn value(settings: &[Setting], label: &str) -> String {
        settings
            .iter()
            .find(|s| s.label == label)
            .map(|s| s.value.clone())
            .unwrap_or_else(|| panic!("no {label} in {settings:?}"))
    }

    #[test]
    fn defaults_are_spelled_out() {
        let s = hr(json!({"interval": "10m"}), json!({})).settings();
        assert_eq!(value(&s, "timeout"), "5m0s (default)");
        assert_eq!(value(&s, "install"), "no retries, 0 failure(s) so far");
        assert_eq!(
            value(&s, "upgrade"),
            "no retries: a failed upgrade is not remediated, remediateLastFailure false (default), 0 failure(s) so far"
        );
        assert_eq!(value(&s, "tests"), "disabled (default)");
        assert_eq!(value(&s, "postRenderers"), "none");
        assert!(s.iter().all(|x| !x.warn));
    }

    #[test]
    fn tuned_releases_show_what_was_set_and_what_was_used() {
        let s = hr(
            json!({
                "interval": "10m",
                "timeout": "10m",
                "install": {"remediation": {"retries": 3},
                            "strategy": {"name": "RetryOnFailure", "retryInterval": "2m"}},
                "upgrade": {"remediation": {"retries": -1, "strategy": "uninstall"}, "timeout": "15m"},
                "test": {"enable": true, "ignoreFailures": true},
                "postRenderers": [{"kustomize": {"patches": [{"patch": "x"}, {"patch": "y"}],
                                                 "images": [{"name": "a"}]}}],
            }),
            json!({"failures": 4, "installFailures": 4, "upgradeFailures": 0}),
        )
        .settings();
        assert_eq!(value(&s, "timeout"), "10m");
        assert_eq!(
            value(&s, "install"),
            "3 retries, strategy RetryOnFailure (retry every 2m), 4 failure(s) so far"
        );
        assert!(
            s.iter().find(|x| x.label == "install").unwrap().warn,
            "retries used up"
        );
        assert_eq!(
            value(&s, "upgrade"),
            "unlimited retries, remediation uninstall, remediateLastFailure false (default), 0 failure(s) so far"
        );
        assert_eq!(value(&s, "upgrade timeout"), "15m");
        assert_eq!(value(&s, "failures"), "4 since the last success");
        assert_eq!(value(&s, "tests"), "enabled, failures ignored");
        assert_eq!(
            value(&s, "postRenderers"),
            "kustomize: 2 patches, 1 image override"
        );
    }
}
