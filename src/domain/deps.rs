//! "Why is it blocked": the dependency graph of Kustomizations and HelmReleases
//! (`spec.dependsOn`) and their source chains, checked with the controllers' own rules
//! (flux-facts §2.2, §3.4, §3.5, Appendix A.3).
//!
//! [`analyze`] builds an [`Analysis`] once per [`Snapshot`] in O(V+E): every object gets a
//! [`Verdict`]; blocked objects point at the root cause (the first object on the blocked
//! path that is not itself waiting on a dependency); dependency cycles are found as strongly
//! connected components; the blast radius of an object is everything that waits on it.

mod analysis;
mod checks;
mod graph;
mod loops;
mod verdict;

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::Serialize;

use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::health::{Health, HealthInfo};

pub use analysis::{Analysis, analyze};

/// Reason fluxdeck gives objects that are part of a dependency cycle.
pub const DEPENDENCY_CYCLE: &str = "DependencyCycle";

/// The dependency state of one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Ready (its own Ready condition is True).
    Ready,
    /// Not waiting on anything: reconciling, or not reconciled yet.
    Progressing,
    /// Waiting on a dependency that is still progressing (transient).
    Waiting,
    /// Waiting on a dependency that is stuck: failing, suspended, missing or in a cycle.
    Blocked,
    /// Part of a dependency cycle.
    Cycle,
    /// Failing on its own account.
    Failing,
    /// `spec.suspend` is set.
    Suspended,
    /// The object does not exist (a dependency or source that is referenced but missing).
    NotFound,
}

impl Verdict {
    /// The state word every surface uses for this verdict: the word of its [`health`]
    /// (Waiting reads Pending, Progressing Reconciling, Failing Failed, NotFound Unknown).
    /// An object's shown state ([`ObjectVerdict::state`]) can say more (Pending for a
    /// progressing object whose generation is not observed, Drifted, Static).
    ///
    /// [`health`]: Verdict::health
    pub fn word(self) -> &'static str {
        self.health().word()
    }

    /// The health state that shows this verdict (Waiting shows as Pending, Progressing as
    /// Reconciling, Failing as Failed, NotFound as Unknown).
    pub fn health(self) -> Health {
        match self {
            Verdict::Ready => Health::Ready,
            Verdict::Progressing => Health::Reconciling,
            Verdict::Waiting => Health::Pending,
            Verdict::Blocked => Health::Blocked,
            Verdict::Cycle => Health::Cycle,
            Verdict::Failing => Health::Failed,
            Verdict::Suspended => Health::Suspended,
            Verdict::NotFound => Health::Unknown,
        }
    }

    /// Whether objects waiting on an object in this state are stuck (blocked) rather than
    /// waiting for progress.
    pub fn is_stuck(self) -> bool {
        matches!(
            self,
            Verdict::Blocked
                | Verdict::Cycle
                | Verdict::Failing
                | Verdict::Suspended
                | Verdict::NotFound
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// How an object reads another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Via {
    /// `spec.dependsOn`.
    DependsOn,
    /// The source chain: a Kustomization's `sourceRef`, a HelmRelease's HelmChart or
    /// `chartRef`, a HelmChart's `sourceRef`.
    Source,
}

/// The controller rule a dependency or source fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Rule {
    /// The object does not exist.
    NotFound,
    /// The object is not in the watched scope, so it could not be checked.
    NotLoaded,
    /// No conditions, or `metadata.generation` ≠ `status.observedGeneration`.
    GenerationNotObserved,
    /// The Ready condition is not True (for a source: not ready, or stalled).
    NotReady,
    /// Kustomizations on the same source: the dependency's `lastAppliedRevision` is not the
    /// source's current artifact revision.
    RevisionNotUpToDate,
    /// `readyExpr` evaluated to false (or failed at run time).
    ReadyExpr,
    /// `readyExpr` could not be evaluated by fluxdeck.
    ReadyExprUnevaluated,
    /// The source has no artifact.
    ArtifactMissing,
    /// The edge closes a dependency cycle (the dependency itself passes the checks).
    Cycle,
}

impl Rule {
    /// A short description of the failed rule.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::NotFound => "not found",
            Rule::NotLoaded => "not loaded (outside the watched scope)",
            Rule::GenerationNotObserved => "generation not observed",
            Rule::NotReady => "Ready is not True",
            Rule::RevisionNotUpToDate => "revision not up to date",
            Rule::ReadyExpr => "readyExpr is false",
            Rule::ReadyExprUnevaluated => "readyExpr not evaluated",
            Rule::ArtifactMissing => "no artifact",
            Rule::Cycle => "dependency cycle",
        }
    }
}

/// One step on the path from an object to its root cause: `from` reads `to` (`via`) and
/// the check `rule` fails with `message` (the controller's message where it has one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hop {
    pub from: ObjectKey,
    pub to: ObjectKey,
    pub via: Via,
    pub rule: Rule,
    pub message: String,
    /// The `readyExpr` of the dependency, when it has one.
    pub ready_expr: Option<String>,
}

/// The object at the end of a blocked path and its own state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RootCause {
    /// The object; for a dependency cycle, its first member that is not suspended.
    pub key: ObjectKey,
    pub verdict: Verdict,
    pub health: Health,
    pub reason: String,
    pub message: String,
    /// For a dependency cycle (the cycle itself is the root cause): the closed loop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<Vec<ObjectKey>>,
}

impl RootCause {
    /// `staging/redis: RetriesExceeded — Failed to install after 3 attempt(s)`; the kind is
    /// written out when it differs from `seen_from`'s. A cycle reads
    /// `dependency cycle: a → b → a`.
    pub fn describe(&self, seen_from: Option<&ObjectKey>) -> String {
        if self.cycle.is_some() {
            return format!("dependency cycle: {}", self.message);
        }
        let name = short_name(&self.key, seen_from);
        let message = self.message.lines().next().unwrap_or("");
        match (self.reason.is_empty(), message.is_empty()) {
            (false, false) => format!("{name}: {} — {message}", self.reason),
            (false, true) => format!("{name}: {}", self.reason),
            (true, false) => format!("{name}: {message}"),
            (true, true) => format!("{name}: {}", self.verdict.word()),
        }
    }
}

/// `namespace/name` when `key` has the same kind as `seen_from`, else `Kind/namespace/name`.
pub fn short_name(key: &ObjectKey, seen_from: Option<&ObjectKey>) -> String {
    match seen_from {
        Some(other) if other.kind == key.kind => format!("{}/{}", key.namespace, key.name),
        _ => key.to_string(),
    }
}

/// A loop of keys as text: `loop/backend → loop/redis → loop/backend` (`->` in ASCII).
pub fn loop_text(path: &[ObjectKey], ascii: bool) -> String {
    let arrow = if ascii { " -> " } else { " → " };
    let first = path.first();
    path.iter()
        .map(|k| short_name(k, first))
        .collect::<Vec<_>>()
        .join(arrow)
}

/// A strongly connected component of the dependsOn graph that contains a cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cycle {
    /// Every object in the component, sorted.
    pub members: Vec<ObjectKey>,
    /// A closed loop through the first member (`[a, b, a]`; `[a, a]` for a self-dependency).
    pub path: Vec<ObjectKey>,
}

/// The answer to "why is this object not ready".
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Why {
    pub key: ObjectKey,
    pub verdict: Verdict,
    /// The state every surface shows (see [`ObjectVerdict::state`]).
    pub state: HealthInfo,
    /// The object's own state as its conditions tell it (flux-facts A.2).
    pub health: HealthInfo,
    /// From the object to its root cause, one failing check per hop (for a cycle, the
    /// loop). For a Ready object: the checks that would hold it on its next reconcile.
    pub hops: Vec<Hop>,
    /// The root cause: the first object on the path not itself waiting on a dependency.
    /// `None` for a Ready object.
    pub root: Option<RootCause>,
    /// Further root causes reached through other failing dependencies.
    pub other_roots: Vec<RootCause>,
    /// For an object in a dependency cycle: the closed loop through it.
    pub cycle: Option<Vec<ObjectKey>>,
    /// `readyExpr` checks fluxdeck could not evaluate (with the expression and why).
    pub unevaluated: Vec<Hop>,
    /// Everything this object reads, directly or transitively (dependencies and sources),
    /// nearest first.
    pub upstream: Vec<ObjectKey>,
    /// The Kustomizations and HelmReleases that wait on this object, directly or
    /// transitively (its blast radius), nearest first.
    pub downstream: Vec<ObjectKey>,
}

/// The one verdict on an object that every surface shows (`fluxdeck status`, `tree`, `why`,
/// the TUI rows, the header counts and problems mode): built by [`verdict_of`] from the
/// analysis, never recomputed elsewhere.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectVerdict {
    pub key: ObjectKey,
    /// The dependency verdict.
    pub verdict: Verdict,
    /// The state shown: for a Blocked or Pending (waiting) object `Blocked by <root cause>` /
    /// `Waiting for <root cause>`, for a cycle member the loop, else the object's own state
    /// (a source keeps its own Ready reason).
    pub state: HealthInfo,
    /// What holds the object: for Blocked, Pending (waiting) and Cycle objects the root
    /// cause (a cycle is its own root cause); `None` for the others (a failing, suspended
    /// or ready object is not held by anything else).
    pub root_cause: Option<RootCause>,
    /// How many Kustomizations and HelmReleases wait on it when it is a root cause
    /// (failing, suspended, missing or in a cycle); 0 otherwise.
    pub blocks: usize,
}

/// The verdict on `key` (see [`ObjectVerdict`]); `None` when the object is neither in the
/// snapshot nor referenced by anything in it.
pub fn verdict_of(analysis: &Analysis, key: &ObjectKey) -> Option<ObjectVerdict> {
    analysis.object_verdict(key)
}

/// Objects that share one root cause (problems mode groups them).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RootGroup {
    pub root: RootCause,
    /// The Blocked or Waiting objects whose root cause this is, sorted.
    pub dependents: Vec<ObjectKey>,
}

/// Whether a kind waits on others (Kustomizations and HelmReleases).
pub(crate) fn is_workload(key: &ObjectKey) -> bool {
    matches!(
        key.flux_kind(),
        Some(FluxKind::Kustomization | FluxKind::HelmRelease)
    )
}
