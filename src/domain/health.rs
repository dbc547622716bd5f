//! Health states shown for every node: Flux objects (flux-facts Appendix A.2) and managed
//! objects (kstatus, flux-facts §9). Every state is a glyph and a word, so nothing depends
//! on colour alone.

use arcstr::ArcStr;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::flux::{FluxKind, FluxObject, condition_types};
use crate::domain::kstatus::{self, KStatus};

/// The state of one object as the TUI shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ready,
    Failed,
    Reconciling,
    Suspended,
    Blocked,
    Cycle,
    Drifted,
    Pending,
    Unknown,
    Deleting,
}

impl Health {
    pub const ALL: [Health; 10] = [
        Health::Ready,
        Health::Failed,
        Health::Reconciling,
        Health::Suspended,
        Health::Blocked,
        Health::Cycle,
        Health::Drifted,
        Health::Pending,
        Health::Unknown,
        Health::Deleting,
    ];

    /// The word shown next to the glyph.
    pub fn word(self) -> &'static str {
        match self {
            Health::Ready => "Ready",
            Health::Failed => "Failed",
            Health::Reconciling => "Reconciling",
            Health::Suspended => "Suspended",
            Health::Blocked => "Blocked",
            Health::Cycle => "Cycle",
            Health::Drifted => "Drifted",
            Health::Pending => "Pending",
            Health::Unknown => "Unknown",
            Health::Deleting => "Deleting",
        }
    }

    /// The Unicode glyph. Every glyph is in DejaVu Sans Mono (the font most Linux terminals
    /// fall back to), Menlo and Consolas; `tests/glyphs.rs` checks the first with fontconfig.
    pub fn glyph(self) -> &'static str {
        match self {
            Health::Ready => "✓",
            Health::Failed => "✗",
            Health::Reconciling => "◴",
            Health::Suspended => "‖",
            Health::Blocked => "⊘",
            Health::Cycle => "↻",
            Health::Drifted => "≠",
            Health::Pending => "…",
            Health::Unknown => "?",
            Health::Deleting => "✝",
        }
    }

    /// The `--ascii` glyph.
    pub fn ascii_glyph(self) -> &'static str {
        match self {
            Health::Ready => "+",
            Health::Failed => "x",
            Health::Reconciling => "~",
            Health::Suspended => "=",
            Health::Blocked => "#",
            Health::Cycle => "@",
            Health::Drifted => "!",
            Health::Pending => ".",
            Health::Unknown => "?",
            Health::Deleting => "-",
        }
    }

    /// Parse a state word as typed in a filter (`state:failed`), case-insensitive.
    pub fn parse(word: &str) -> Option<Health> {
        Health::ALL
            .into_iter()
            .find(|h| h.word().eq_ignore_ascii_case(word))
    }

    /// Whether the state counts as a problem (shown in problems mode, counted as failing).
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Health::Failed | Health::Blocked | Health::Cycle | Health::Drifted | Health::Unknown
        )
    }
}

/// Reasons fluxdeck itself assigns (the others come from conditions or kstatus).
pub mod reasons {
    pub const SUSPENDED: &str = "Suspended";
    pub const DELETING: &str = "Deleting";
    pub const STATIC: &str = "Static";
    pub const GENERATION_NOT_OBSERVED: &str = "GenerationNotObserved";
    pub const NO_STATUS: &str = "NoStatus";
    pub const NO_READY_CONDITION: &str = "NoReadyCondition";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const PROGRESSING: &str = "Progressing";
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// The object exists in an inventory but not in the cluster.
    pub const NOT_FOUND: &str = "NotFound";
    /// The object's kind/namespace is not watched (yet), so its state is not known.
    pub const NOT_LOADED: &str = "NotLoaded";
    /// The object is of a kind fluxdeck never watches (Secrets), so its state is not known.
    pub const NOT_WATCHED: &str = "NotWatched";
}

/// The state of one object with the reason, message and time behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthInfo {
    pub health: Health,
    /// Shared with the condition it was read from (and with every node and verdict that
    /// shows it): copying a state does not copy its message.
    pub reason: ArcStr,
    pub message: ArcStr,
    /// Last transition of the Ready condition (or of the condition that decided the state).
    pub since: Option<Time>,
}

impl HealthInfo {
    pub fn new(
        health: Health,
        reason: impl Into<ArcStr>,
        message: impl Into<ArcStr>,
        since: Option<Time>,
    ) -> Self {
        Self {
            health,
            reason: reason.into(),
            message: message.into(),
            since,
        }
    }

    /// An object named in an inventory that does not exist.
    pub fn not_found() -> Self {
        Self::new(
            Health::Unknown,
            arcstr::literal!(reasons::NOT_FOUND),
            arcstr::literal!("not found"),
            None,
        )
    }

    /// An object whose kind/namespace is not watched yet.
    pub fn not_loaded() -> Self {
        Self::new(
            Health::Unknown,
            arcstr::literal!(reasons::NOT_LOADED),
            arcstr::literal!("not loaded"),
            None,
        )
    }

    /// A Secret named in an inventory: never watched, so nothing is claimed about it.
    pub fn not_watched() -> Self {
        Self::new(
            Health::Unknown,
            arcstr::literal!(reasons::NOT_WATCHED),
            arcstr::literal!("Secrets are not watched: their content stays on the server"),
            None,
        )
    }

    /// Whether the state is unknown because fluxdeck does not have the object: not loaded
    /// yet, or of a kind it never watches ([`HealthInfo::is_not_watched`]).
    pub fn is_not_loaded(&self) -> bool {
        self.health == Health::Unknown
            && (self.reason == reasons::NOT_LOADED || self.reason == reasons::NOT_WATCHED)
    }

    /// Whether the object is of a kind fluxdeck never watches (Secrets).
    pub fn is_not_watched(&self) -> bool {
        self.health == Health::Unknown && self.reason == reasons::NOT_WATCHED
    }

    /// A problem worth showing in problems mode: a problem state that is not merely
    /// "not loaded yet".
    pub fn is_problem(&self) -> bool {
        self.health.is_problem() && !self.is_not_loaded()
    }

    /// The state word shown for this state: the health's word, except `Static` for an OCI
    /// HelmRepository (ready by definition: it is never reconciled).
    pub fn word(&self) -> &'static str {
        if self.health == Health::Ready && self.reason == reasons::STATIC {
            reasons::STATIC
        } else {
            self.health.word()
        }
    }

    /// The first line of the message.
    pub fn first_line(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    /// Whole seconds from `since` to `now` (never negative).
    pub fn age_seconds(&self, now: Timestamp) -> Option<i64> {
        self.since
            .as_ref()
            .map(|t| (now.as_second() - t.0.as_second()).max(0))
    }
}

/// The state of a Flux object (flux-facts Appendix A.2), in this order:
/// `spec.suspend` → Suspended; `deletionTimestamp` → Deleting; an OCI HelmRepository without
/// conditions → Ready ("static"); `Stalled=True` → Failed; `Ready=False/DependencyNotReady`
/// → Blocked (checked before Reconciling and generation because the controller keeps
/// `Reconciling=True` and the old observedGeneration while waiting, §3.5, §12.9);
/// `Reconciling=True` → Reconciling (Failed when its reason is `ProgressingWithRetry` and
/// Ready is False); observedGeneration ≠ generation → Pending (even when Ready is True, but
/// not when Ready=False was recorded for the current generation or without one); `Ready=True` → Ready
/// (Drifted for a HelmRelease with `Drifted=True`); `Ready=False` → Failed; `Ready=Unknown`
/// → Reconciling (reason Progressing) or Pending; no conditions → Unknown.
pub fn flux_health(obj: &FluxObject) -> HealthInfo {
    let meta = obj.metadata();
    let ready = obj.ready();
    let ready_since = ready.and_then(|c| c.last_transition_time.clone());
    let since = ready_since
        .clone()
        .or_else(|| meta.creation_timestamp.clone());
    let ready_message = ready.map(|c| c.message.as_str()).unwrap_or("");

    if obj.suspended() {
        return HealthInfo::new(Health::Suspended, reasons::SUSPENDED, ready_message, since);
    }
    if meta.deletion_timestamp.is_some() {
        return HealthInfo::new(
            Health::Deleting,
            reasons::DELETING,
            "Object is being deleted",
            meta.deletion_timestamp.clone(),
        );
    }
    if obj.is_static() && obj.conditions().is_empty() {
        return HealthInfo::new(
            Health::Ready,
            reasons::STATIC,
            "Static source: OCI Helm repositories are not reconciled",
            meta.creation_timestamp.clone(),
        );
    }
    let decided_by = |c: &crate::domain::flux::Condition| {
        ready_since
            .clone()
            .or_else(|| c.last_transition_time.clone())
    };
    if let Some(c) = obj
        .condition(condition_types::STALLED)
        .filter(|c| c.is_true())
    {
        return HealthInfo::new(Health::Failed, &c.reason, &c.message, decided_by(c));
    }
    if let Some(r) = ready.filter(|r| r.is_false() && r.reason == reasons::DEPENDENCY_NOT_READY) {
        return HealthInfo::new(Health::Blocked, &r.reason, &r.message, ready_since);
    }
    if let Some(c) = obj
        .condition(condition_types::RECONCILING)
        .filter(|c| c.is_true())
    {
        if let Some(r) =
            ready.filter(|r| r.is_false() && c.reason == reasons::PROGRESSING_WITH_RETRY)
        {
            return HealthInfo::new(Health::Failed, &r.reason, &r.message, ready_since);
        }
        return HealthInfo::new(Health::Reconciling, &c.reason, &c.message, decided_by(c));
    }
    if let Some(generation) = meta.generation {
        let observed = obj.observed_generation();
        // A Ready=False recorded for this generation (or by a controller that does not
        // record one) is the verdict on the current spec.
        let failed_for_this_generation = ready
            .is_some_and(|r| r.is_false() && r.observed_generation.is_none_or(|g| g == generation));
        if observed != generation && !failed_for_this_generation {
            let message = if observed < 0 {
                "Not reconciled yet".to_string()
            } else {
                format!(
                    "Generation {generation} not yet reconciled (observed generation {observed})"
                )
            };
            return HealthInfo::new(
                Health::Pending,
                reasons::GENERATION_NOT_OBSERVED,
                &message,
                since,
            );
        }
    }
    match ready {
        Some(r) if r.is_true() => {
            if obj.kind() == FluxKind::HelmRelease
                && let Some(d) = obj
                    .condition(condition_types::DRIFTED)
                    .filter(|d| d.is_true())
            {
                return HealthInfo::new(Health::Drifted, &d.reason, &d.message, ready_since);
            }
            HealthInfo::new(Health::Ready, &r.reason, &r.message, ready_since)
        }
        Some(r) if r.is_false() => {
            HealthInfo::new(Health::Failed, &r.reason, &r.message, ready_since)
        }
        Some(r) => {
            let health = if r.reason == reasons::PROGRESSING {
                Health::Reconciling
            } else {
                Health::Pending
            };
            HealthInfo::new(health, &r.reason, &r.message, ready_since)
        }
        None if obj.conditions().is_empty() => HealthInfo::new(
            Health::Unknown,
            reasons::NO_STATUS,
            "No conditions reported yet",
            since,
        ),
        None => HealthInfo::new(
            Health::Unknown,
            reasons::NO_READY_CONDITION,
            "No Ready condition",
            since,
        ),
    }
}

/// The state of a managed (non-Flux) object from its kstatus (flux-facts §9): Current →
/// Ready, InProgress → Reconciling (Pending when the generation is not observed or the
/// object has not started), Failed → Failed, Terminating → Deleting, NotFound → Unknown.
pub fn managed_health(obj: &Value, now: Timestamp) -> HealthInfo {
    let result = kstatus::compute(obj, now);
    let since = ["Ready", "Available", "Established"]
        .iter()
        .find_map(|t| condition_time(obj, t));
    let health = match result.status {
        KStatus::Current => Health::Ready,
        KStatus::InProgress => match result.reason.as_str() {
            "LatestGenerationNotObserved" | "JobNotStarted" | "NotBound" | "PodUnschedulable" => {
                Health::Pending
            }
            _ => Health::Reconciling,
        },
        KStatus::Failed => Health::Failed,
        KStatus::Terminating => Health::Deleting,
        KStatus::NotFound => return HealthInfo::not_found(),
        KStatus::Unknown => Health::Unknown,
    };
    HealthInfo::new(health, &result.reason, &result.message, since)
}

/// Reason fluxdeck gives a workload that has not become ready within its release's timeout.
pub const STUCK: &str = "Stuck";

/// Seconds of a Go duration (`5m0s`, `2m`, `1h30m`, `90s`, `1.5h`, `500ms`); `None` when it
/// does not parse.
pub fn go_duration_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(split);
        let value: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let factor = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += value * factor;
        rest = next;
    }
    Some(total)
}

/// `2h`, `22m`, `45s`: a short length of time.
fn short_age(seconds: i64) -> String {
    match seconds {
        s if s >= 2 * 86_400 => format!("{}d", s / 86_400),
        s if s >= 3600 => format!("{}h", s / 3600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A workload of a kind without a progress deadline (StatefulSet, DaemonSet) that kstatus
/// still calls in progress, but that has not become ready for longer than the timeout of
/// the release that installed it (`spec.timeout`, 5m by default): stuck, not reconciling.
/// Shown as Failed with reason [`STUCK`], `0/1 ready, past the release's 5m timeout` and
/// the time since it was last ready (or created) as its age. Deployments have their own
/// deadline (`ProgressDeadlineExceeded` is already Failed).
pub fn stuck_workload(
    info: &HealthInfo,
    obj: &Value,
    now: Timestamp,
    timeout_seconds: f64,
) -> Option<HealthInfo> {
    let kind = obj.get("kind").and_then(Value::as_str)?;
    if !matches!(kind, "StatefulSet" | "DaemonSet") || info.health != Health::Reconciling {
        return None;
    }
    // Not ready since its last Ready-like transition, or since it was created.
    let since = info.since.clone().or_else(|| {
        obj.get("metadata")?
            .get("creationTimestamp")?
            .as_str()?
            .parse::<Timestamp>()
            .ok()
            .map(Time)
    })?;
    let seconds = (now.as_second() - since.0.as_second()).max(0);
    if (seconds as f64) <= timeout_seconds {
        return None;
    }
    let ready = info
        .message
        .strip_prefix("Ready: ")
        .filter(|r| r.contains('/') && !r.contains(' '));
    // How long is the row's age (from `since`): the message stays the same from one
    // snapshot to the next.
    let limit = short_age(timeout_seconds.round() as i64);
    let message = match ready {
        Some(r) => format!("{r} ready, past the release's {limit} timeout"),
        None => format!(
            "not ready past the release's {limit} timeout: {}",
            info.message
        ),
    };
    Some(HealthInfo::new(
        Health::Failed,
        STUCK,
        &message,
        Some(since),
    ))
}

fn condition_time(obj: &Value, type_: &str) -> Option<Time> {
    obj.get("status")?
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))?
        .get("lastTransitionTime")?
        .as_str()?
        .parse::<Timestamp>()
        .ok()
        .map(Time)
}

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_seconds("5m0s"), Some(300.0));
        assert_eq!(go_duration_seconds("2m"), Some(120.0));
        assert_eq!(go_duration_seconds("1h30m"), Some(5400.0));
        assert_eq!(go_duration_seconds("500ms"), Some(0.5));
        assert_eq!(go_duration_seconds("1.5h"), Some(5400.0));
        assert_eq!(go_duration_seconds("5x"), None);
        assert_eq!(go_duration_seconds(""), None);
        assert_eq!(go_duration_seconds("m"), None);
    }

    #[test]
    fn a_statefulset_not_ready_past_the_timeout_is_stuck() {
        let now: Timestamp = "2026-11-22T07:00:00Z".parse().unwrap();
        let sts = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "redis-master", "namespace": "staging", "generation": 1,
                         "creationTimestamp": "2026-11-22T06:38:00Z"},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0}
        });
        let info = managed_health(&sts, now);
        assert_eq!(info.health, Health::Reconciling);
        let stuck = stuck_workload(&info, &sts, now, 300.0).unwrap();
        assert_eq!(stuck.health, Health::Failed);
        assert_eq!(stuck.reason, STUCK);
        assert_eq!(stuck.message, "0/1 ready, past the release's 5m timeout");
        assert_eq!(stuck.age_seconds(now), Some(22 * 60));
        // Within the timeout: still reconciling.
        assert_eq!(stuck_workload(&info, &sts, now, 1800.0), None);
        // A Deployment has its own deadline.
        let mut deploy = sts.clone();
        deploy["kind"] = "Deployment".into();
        assert_eq!(stuck_workload(&info, &deploy, now, 300.0), None);
    }

    #[test]
    fn words_parse_back_and_glyphs_are_distinct() {
        let mut glyphs = std::collections::HashSet::new();
        let mut ascii = std::collections::HashSet::new();
        for h in Health::ALL {
            assert_eq!(Health::parse(&h.word().to_uppercase()), Some(h));
            assert!(glyphs.insert(h.glyph()));
            assert!(ascii.insert(h.ascii_glyph()));
        }
        assert_eq!(Health::parse("nope"), None);
    }
}
