//! Scenarios: the objects, charts, past Helm revisions and timeline the simulated cluster
//! starts from. Embedded scenarios are chosen by name; a user file in the same YAML format
//! works too; `scale:hr=N,ks=M` generates a large one. The format is documented in
//! `docs/scenarios.md`.

mod scale;
mod seed;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::faults::FaultSpec;
use super::registry::{self, FluxApiLevel};
use super::store::{ObjKey, ResourceId, StoreError};

pub use seed::seed;

/// The embedded scenarios, by name.
const EMBEDDED: &[(&str, &str)] = &[
    ("demo", include_str!("../scenarios/demo.yaml")),
    ("deps", include_str!("../scenarios/deps.yaml")),
    ("drift", include_str!("../scenarios/drift.yaml")),
    ("rollback", include_str!("../scenarios/rollback.yaml")),
    ("values", include_str!("../scenarios/values.yaml")),
    (
        "failing-install",
        include_str!("../scenarios/failing-install.yaml"),
    ),
    ("legacy", include_str!("../scenarios/legacy.yaml")),
    (
        "source-failure",
        include_str!("../scenarios/source-failure.yaml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario '{0}' (embedded: {1}; or a file path, or scale:hr=N,ks=M)")]
    Unknown(String, String),
    #[error("cannot read scenario file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("scenario {origin}: {source}")]
    Yaml {
        origin: String,
        source: serde_yaml::Error,
    },
    #[error("scenario {origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("scale scenario parameters: {0}")]
    ScaleParams(String),
    #[error("seeding failed: {0}")]
    Store(#[from] StoreError),
}

/// Flux API level as written in a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiLevel {
    #[default]
    Current,
    Legacy,
}

/// A chart: default values and object templates with `{{ ... }}` placeholders.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartSpec {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub app_version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub values: Map<String, Value>,
    #[serde(default)]
    pub templates: Vec<TemplateSpec>,
}

/// One chart template file: `name` like `templates/deployment.yaml`, `content` YAML text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    pub name: String,
    pub content: String,
}

/// One past Helm revision of a release, oldest first in the list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevisionSpec {
    /// User-supplied values of that revision.
    #[serde(default)]
    pub values: Map<String, Value>,
    /// Chart version (defaults to the newest chart of that name).
    #[serde(default)]
    pub chart_version: Option<String>,
    /// `failed` marks a failed revision; others become superseded/deployed.
    #[serde(default)]
    pub failed: bool,
}

/// Past revisions of one HelmRelease; the last one is the deployed release and matches
/// the HelmRelease's current spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseHistorySpec {
    pub revisions: Vec<RevisionSpec>,
}

/// A timeline step: happens `at` (nominal duration after start, scaled by speed), and
/// again `every` when set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub at: String,
    #[serde(default)]
    pub every: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

/// What a timeline step does. Object references are `Kind/namespace/name`
/// (`Kind/name` for cluster-scoped kinds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum Action {
    /// A new commit in a source: optionally merge-patch one object a Kustomization applies
    /// (the k-th firing uses `patches[k % len]`), then publish a new source revision.
    Commit {
        source: String,
        #[serde(default)]
        kustomization: Option<String>,
        #[serde(default)]
        target: Option<String>,
        #[serde(default)]
        patches: Vec<Value>,
    },
    /// A hand edit of a live object: JSON merge patch (cycling through `patches`).
    Edit { target: String, patches: Vec<Value> },
    /// The source starts failing with this reason and message.
    SourceFail {
        source: String,
        reason: String,
        message: String,
    },
    /// The source recovers.
    SourceRecover { source: String },
}

/// A scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub api_level: ApiLevel,
    #[serde(default)]
    pub faults: FaultSpec,
    /// Image references that cannot be pulled: `repo:tag`, a suffix of the image after `/`,
    /// or `:tag` for any repository.
    #[serde(default)]
    pub bad_images: Vec<String>,
    /// Images whose containers exit with code 1 shortly after they start
    /// (`CrashLoopBackOff`); matched like `badImages`.
    #[serde(default)]
    pub crash_images: Vec<String>,
    #[serde(default)]
    pub charts: Vec<ChartSpec>,
    /// Objects created when the scenario is seeded.
    #[serde(default)]
    pub objects: Vec<Value>,
    /// What each Kustomization (`namespace/name`) applies.
    #[serde(default)]
    pub kustomizations: BTreeMap<String, Vec<Value>>,
    /// Past Helm revisions per HelmRelease (`namespace/name`).
    #[serde(default)]
    pub releases: BTreeMap<String, ReleaseHistorySpec>,
    #[serde(default)]
    pub timeline: Vec<Step>,
}

/// A parsed object reference `Kind/namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjRef {
    pub kind: String,
    pub resource: ResourceId,
    pub key: ObjKey,
}

/// The resource (group + plural) and scope of a kind, from the built-in types.
pub fn resource_for_kind(kind: &str) -> Option<(ResourceId, bool)> {
    registry::builtin(FluxApiLevel::Current)
        .into_iter()
        .find(|t| t.kind == kind)
        .map(|t| (t.id(), t.namespaced))
}

/// Parse `Kind/namespace/name` (or `Kind/name` for cluster-scoped kinds).
pub fn parse_ref(s: &str) -> Result<ObjRef, String> {
    let parts: Vec<&str> = s.split('/').collect();
    let kind = parts.first().copied().unwrap_or_default();
    let (resource, namespaced) =
        resource_for_kind(kind).ok_or_else(|| format!("unknown kind in reference '{s}'"))?;
    let key = match (namespaced, parts.as_slice()) {
        (true, [_, ns, name]) => ObjKey::new(ns, name),
        (false, [_, name]) => ObjKey::new("", name),
        _ => {
            return Err(format!(
                "reference '{s}' must be Kind/namespace/name (Kind/name for cluster-scoped kinds)"
            ));
        }
    };
    Ok(ObjRef {
        kind: kind.to_string(),
        resource,
        key,
    })
}

/// Split `namespace/name`.
pub fn parse_ns_name(s: &str) -> Result<ObjKey, String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(ObjKey::new(ns, name))
        }
        _ => Err(format!("'{s}' must be namespace/name")),
    }
}

/// The resource id and key of an object, checking that its kind is known.
pub fn object_identity(obj: &Value) -> Result<(ResourceId, ObjKey), String> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind.is_empty() || api.is_empty() || name.is_empty() {
        return Err("every object needs apiVersion, kind and metadata.name".to_string());
    }
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    let t = registry::builtin(FluxApiLevel::Current)
        .into_iter()
        .find(|t| t.kind == kind && t.group == group)
        .ok_or_else(|| format!("unsupported kind {api}/{kind} for object '{name}'"))?;
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if t.namespaced && ns.is_empty() {
        return Err(format!("{kind} '{name}' needs metadata.namespace"));
    }
    Ok((
        t.id(),
        ObjKey::new(if t.namespaced { ns } else { "" }, name),
    ))
}

impl Scenario {
    /// Parse and check a scenario from YAML; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = serde_yaml::from_str(text).map_err(|source| ScenarioError::Yaml {
            origin: origin.to_string(),
            source,
        })?;
        s.check().map_err(|message| ScenarioError::Invalid {
            origin: origin.to_string(),
            message,
        })?;
        Ok(s)
    }

    fn check(&self) -> Result<(), String> {
        for o in self
            .objects
            .iter()
            .chain(self.kustomizations.values().flatten())
        {
            object_identity(o)?;
        }
        for k in self.kustomizations.keys().chain(self.releases.keys()) {
            parse_ns_name(k)?;
        }
        for c in &self.charts {
            if c.name.is_empty() || c.version.is_empty() {
                return Err("every chart needs a name and a version".to_string());
            }
        }
        for s in &self.timeline {
            crate::sim::controllers::clock::parse_duration(&s.at)
                .ok_or_else(|| format!("timeline: bad duration '{}'", s.at))?;
            if let Some(e) = &s.every {
                let d = crate::sim::controllers::clock::parse_duration(e)
                    .ok_or_else(|| format!("timeline: bad duration '{e}'"))?;
                if d.is_zero() {
                    return Err("timeline: every must be positive".to_string());
                }
            }
            match &s.action {
                Action::Commit {
                    source,
                    kustomization,
                    target,
                    ..
                } => {
                    parse_ref(source)?;
                    if let Some(k) = kustomization {
                        parse_ns_name(k)?;
                    }
                    if let Some(t) = target {
                        parse_ref(t)?;
                    }
                }
                Action::Edit { target, patches } => {
                    parse_ref(target)?;
                    if patches.is_empty() {
                        return Err(format!("timeline: edit of {target} has no patches"));
                    }
                }
                Action::SourceFail { source, .. } | Action::SourceRecover { source } => {
                    parse_ref(source)?;
                }
            }
        }
        Ok(())
    }

    /// The Flux API versions the server offers for this scenario.
    pub fn api_level(&self) -> FluxApiLevel {
        match self.api_level {
            ApiLevel::Current => FluxApiLevel::Current,
            ApiLevel::Legacy => FluxApiLevel::Legacy,
        }
    }

    /// Faults the server starts with.
    pub fn faults(&self) -> FaultSpec {
        self.faults.clone()
    }

    /// Names of the embedded scenarios.
    pub fn names() -> Vec<&'static str> {
        EMBEDDED.iter().map(|(n, _)| *n).collect()
    }

    /// Whether `image` is one the scenario marks as not pullable.
    pub fn is_bad_image(&self, image: &str) -> bool {
        image_matches(&self.bad_images, image)
    }

    /// Whether containers of `image` crash right after they start.
    pub fn is_crash_image(&self, image: &str) -> bool {
        image_matches(&self.crash_images, image)
    }

    /// The chart with this name whose version matches `range` (`*`/empty: newest; `6.x` or
    /// `6.*`: prefix; otherwise exact, falling back to the newest).
    pub fn chart(&self, name: &str, range: &str) -> Option<&ChartSpec> {
        let mut all: Vec<&ChartSpec> = self.charts.iter().filter(|c| c.name == name).collect();
        all.sort_by_key(|c| std::cmp::Reverse(version_key(&c.version)));
        let range = range.trim();
        let prefix = range.trim_end_matches(['x', '*']).trim_end_matches('.');
        let found = if range.is_empty() || range == "*" {
            all.first().copied()
        } else if range.ends_with('x') || range.ends_with('*') {
            all.iter()
                .find(|c| c.version == prefix || c.version.starts_with(&format!("{prefix}.")))
                .copied()
        } else {
            all.iter().find(|c| c.version == range).copied()
        };
        found.or_else(|| all.first().copied())
    }
}

/// Whether `image` matches one of `patterns`: `repo:tag`, a suffix of the image after `/`,
/// or `:tag` for any repository.
fn image_matches(patterns: &[String], image: &str) -> bool {
    patterns.iter().any(|b| {
        image == b
            || (b.starts_with(':') && image.ends_with(b.as_str()))
            || image.ends_with(&format!("/{b}"))
    })
}

fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Load a scenario: an embedded name, `scale:hr=N,ks=M`, or a file path.
pub fn load(spec: &str) -> Result<Scenario, ScenarioError> {
    if let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == spec) {
        return Scenario::from_yaml(text, spec);
    }
    if spec == "scale" || spec.starts_with("scale:") {
        let params = scale::ScaleParams::parse(spec.strip_prefix("scale").unwrap_or_default())?;
        return Ok(scale::generate(&params));
    }
    let path = std::path::Path::new(spec);
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: spec.to_string(),
            source,
        })?;
        return Scenario::from_yaml(&text, spec);
    }
    Err(ScenarioError::Unknown(
        spec.to_string(),
        Scenario::names().join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_scenario_loads() {
        for n in Scenario::names() {
            let s = load(n).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(s.name, n);
        }
        assert_eq!(load("legacy").unwrap().api_level(), FluxApiLevel::Legacy);
    }

    #[test]
    fn unknown_names_and_bad_files_are_errors() {
        assert!(matches!(
            load("no-such-scenario"),
            Err(ScenarioError::Unknown(..))
        ));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.yaml");
        std::fs::write(&p, "name: x\nobjects:\n  - kind: Nope\n").unwrap();
        assert!(matches!(
            load(p.to_str().unwrap()),
            Err(ScenarioError::Invalid { .. })
        ));
        std::fs::write(&p, "name: [").unwrap();
        assert!(matches!(
            load(p.to_str().unwrap()),
            Err(ScenarioError::Yaml { .. })
        ));
    }

    #[test]
    fn refs_and_images() {
        let r = parse_ref("HelmRelease/default/backend").unwrap();
        assert_eq!(r.resource.plural, "helmreleases");
        assert_eq!(r.key, ObjKey::new("default", "backend"));
        assert_eq!(
            parse_ref("Namespace/apps").unwrap().key,
            ObjKey::new("", "apps")
        );
        assert!(parse_ref("HelmRelease/backend").is_err());
        let s = Scenario {
            bad_images: vec!["bitnami/redis:1.0".into(), ":broken".into()],
            ..Default::default()
        };
        assert!(s.is_bad_image("docker.io/bitnami/redis:1.0"));
        assert!(s.is_bad_image("x/y:broken"));
        assert!(!s.is_bad_image("docker.io/bitnami/redis:7.2"));
    }

    #[test]
    fn chart_versions() {
        let mk = |v: &str| ChartSpec {
            name: "c".into(),
            version: v.into(),
            ..Default::default()
        };
        let s = Scenario {
            charts: vec![mk("6.5.0"), mk("6.10.1"), mk("5.0.0")],
            ..Default::default()
        };
        assert_eq!(s.chart("c", "*").unwrap().version, "6.10.1");
        assert_eq!(s.chart("c", "5.x").unwrap().version, "5.0.0");
        assert_eq!(s.chart("c", "6.5.0").unwrap().version, "6.5.0");
        assert!(s.chart("d", "*").is_none());
    }
}
