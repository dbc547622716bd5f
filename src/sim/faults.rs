//! Fault injection and the permission policy of the simulated API server. A scenario sets
//! the initial faults; tests change them at run time through [`Faults`].

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

/// A rule that answers `403 Forbidden` (and denies SelfSubjectAccessReviews).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForbiddenRule {
    /// Resource plural, optionally with its group: `secrets`, `helmreleases.helm.toolkit.fluxcd.io`.
    pub resource: String,
    /// Only in this namespace (all namespaces when absent).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Only these verbs (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`); all when empty.
    #[serde(default)]
    pub verbs: Vec<String>,
}

/// Faults the server injects.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// Added latency per request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Close every watch stream after this many seconds.
    #[serde(default)]
    pub close_watches_every_seconds: Option<u64>,
    /// Answer every watch with a `410 Gone` ERROR event.
    #[serde(default)]
    pub watch_gone: bool,
    /// Fraction (0.0 to 1.0) of requests answered with `500 Internal Server Error`.
    #[serde(default)]
    pub error_rate: f64,
    /// Fraction (0.0 to 1.0) of API discovery requests (`/api`, `/apis`, group and resource
    /// lists) answered with `500 Internal Server Error`.
    #[serde(default)]
    pub discovery_error_rate: f64,
    /// Permission policy: requests matching a rule get `403 Forbidden`.
    #[serde(default)]
    pub forbidden: Vec<ForbiddenRule>,
}

/// The live, changeable fault settings shared by the server's request handlers.
#[derive(Debug, Default)]
pub struct Faults {
    spec: RwLock<FaultSpec>,
}

impl Faults {
    pub fn new(spec: FaultSpec) -> Self {
        Self {
            spec: RwLock::new(spec),
        }
    }

    pub fn get(&self) -> FaultSpec {
        self.spec.read().clone()
    }

    pub fn set(&self, spec: FaultSpec) {
        *self.spec.write() = spec;
    }

    /// Change the settings in place.
    pub fn update(&self, f: impl FnOnce(&mut FaultSpec)) {
        f(&mut self.spec.write());
    }

    /// The latency to add before answering a request, if any.
    pub fn latency(&self) -> Option<std::time::Duration> {
        let ms = self.spec.read().latency_ms;
        (ms > 0).then(|| std::time::Duration::from_millis(ms))
    }

    /// Draw whether this request is answered with an injected `500` (per `error_rate`).
    pub fn inject_error(&self) -> bool {
        draw(self.spec.read().error_rate)
    }

    /// Draw whether this discovery request is answered with an injected `500` (per
    /// `discovery_error_rate`).
    pub fn inject_discovery_error(&self) -> bool {
        draw(self.spec.read().discovery_error_rate)
    }

    /// How long a watch stream may stay open before the server closes it, if limited.
    pub fn watch_lifetime(&self) -> Option<std::time::Duration> {
        self.spec
            .read()
            .close_watches_every_seconds
            .filter(|s| *s > 0)
            .map(std::time::Duration::from_secs)
    }

    /// Whether watches are answered with `410 Gone`.
    pub fn watch_gone(&self) -> bool {
        self.spec.read().watch_gone
    }

    /// Whether `verb` on `resource` (plural, group) in `namespace` is forbidden.
    pub fn is_forbidden(
        &self,
        verb: &str,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> bool {
        self.spec.read().forbidden.iter().any(|r| {
            let (rp, rg) = r
                .resource
                .split_once('.')
                .unwrap_or((r.resource.as_str(), ""));
            rp == plural
                && (rg.is_empty() || rg == group)
                && (r.verbs.is_empty() || r.verbs.iter().any(|v| v == verb))
                && match (&r.namespace, namespace) {
                    (None, _) => true,
                    (Some(a), Some(b)) => a == b,
                    // A cluster-wide request touches every namespace, so a namespace rule denies it.
                    (Some(_), None) => true,
                }
        })
    }
}

/// True with probability `rate` (0 for NaN or negative, 1 from 1.0 up).
fn draw(rate: f64) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    rate >= 1.0 || rand::random::<f64>() < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_rules_match_resource_group_verb_and_namespace() {
        let f = Faults::new(FaultSpec {
            forbidden: vec![
                ForbiddenRule {
                    resource: "secrets".into(),
                    namespace: Some("apps".into()),
                    verbs: vec!["list".into()],
                },
                ForbiddenRule {
                    resource: "helmreleases.helm.toolkit.fluxcd.io".into(),
                    namespace: None,
                    verbs: vec![],
                },
            ],
            ..FaultSpec::default()
        });
        assert!(f.is_forbidden("list", "", "secrets", Some("apps")));
        assert!(f.is_forbidden("list", "", "secrets", None));
        assert!(!f.is_forbidden("get", "", "secrets", Some("apps")));
        assert!(!f.is_forbidden("list", "", "secrets", Some("other")));
        assert!(f.is_forbidden("patch", "helm.toolkit.fluxcd.io", "helmreleases", Some("x")));
        assert!(!f.is_forbidden("patch", "other.io", "helmreleases", Some("x")));
    }

    #[test]
    fn error_rate_extremes() {
        let f = Faults::default();
        assert!(!f.inject_error());
        f.update(|s| s.error_rate = 1.0);
        assert!(f.inject_error());
        f.update(|s| s.error_rate = f64::NAN);
        assert!(!f.inject_error());
        assert_eq!(f.latency(), None);
        f.update(|s| s.close_watches_every_seconds = Some(0));
        assert_eq!(f.watch_lifetime(), None);
    }
}
