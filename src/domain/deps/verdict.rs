//! The verdict of one object: its own state, the checks on what it reads, and which
//! failing check leads to its root cause (a stuck root makes it Blocked, a progressing one
//! Waiting). Objects are judged after everything they read, so a dependency's verdict and
//! root are known when its dependents are judged.

use crate::domain::flux::{Condition, ObjectKey, condition_types};
use crate::domain::health::{Health, HealthInfo, flux_health, reasons};
use crate::domain::tree::Snapshot;

use super::checks::{Check, Outcome, check_edge};
use super::graph::Graph;
use super::loops::Loops;
use super::{Rule, Verdict, Via, is_workload};

/// Ready reasons with which a controller reports that it waits on a dependency or source
/// (flux-facts §2.2, §3.4); any other failure of a Kustomization or HelmRelease is its own.
/// (A failing source is judged by its own source's checks first.)
const WAITING_REASONS: [&str; 4] = [
    reasons::DEPENDENCY_NOT_READY,
    "SourceNotReady",
    "ArtifactFailed",
    "HelmChartNotReady",
];

/// Whether a failing object may fail because of what it reads, so it is judged by the checks
/// on those first (Blocked when one leads to a stuck root): a Kustomization or HelmRelease
/// with a waiting reason; any source (a HelmChart cannot build while its own source is not
/// ready or has no artifact: `failed to get source: … is not ready`, `NoSourceArtifact`).
fn waits_on_source(key: &ObjectKey, health: &HealthInfo) -> bool {
    !is_workload(key) || WAITING_REASONS.contains(&health.reason.as_str())
}

pub(super) struct State {
    pub verdict: Verdict,
    /// The object's own state from its conditions.
    pub health: HealthInfo,
    /// Checks that do not pass, in the order the controller runs them.
    pub checks: Vec<Check>,
    /// The check followed towards the root cause (Blocked and Waiting objects).
    pub chosen: Option<usize>,
    /// The root cause node.
    pub root: Option<usize>,
}

pub(super) fn node_state(
    graph: &Graph,
    snap: &Snapshot,
    loops: &Loops,
    states: &[Option<State>],
    v: usize,
) -> State {
    let key = &graph.keys[v];
    let Some(obj) = graph.objects[v] else {
        let (verdict, health) = if snap.is_loaded(key) {
            let message = format!(
                "{} '{}/{}' not found",
                key.kind_name(),
                key.namespace,
                key.name
            );
            (
                Verdict::NotFound,
                HealthInfo::new(Health::Unknown, reasons::NOT_FOUND, &message, None),
            )
        } else {
            (Verdict::Progressing, HealthInfo::not_loaded())
        };
        return State {
            verdict,
            health,
            checks: Vec::new(),
            chosen: None,
            root: Some(v),
        };
    };
    let health = flux_health(obj);
    let mut checks: Vec<Check> = graph.edges[v]
        .iter()
        .filter_map(|e| check_edge(graph, snap, v, e))
        .collect();
    confirm_from_controller(graph, obj.ready(), &mut checks);
    let own = |verdict| State {
        verdict,
        health: health.clone(),
        checks: Vec::new(),
        chosen: None,
        root: Some(v),
    };
    let stalled = obj
        .condition(condition_types::STALLED)
        .is_some_and(|c| c.is_true());
    let mut state = if obj.suspended() {
        own(Verdict::Suspended)
    } else if loops.cycle_of[v] != usize::MAX {
        let id = loops.cycle_of[v];
        // The cycle's root is its first member that is not suspended.
        let root = loops.members[id]
            .iter()
            .copied()
            .find(|&m| graph.objects[m].is_some_and(|o| !o.suspended()));
        State {
            root,
            ..own(Verdict::Cycle)
        }
    } else if health.health == Health::Deleting {
        own(Verdict::Progressing)
    } else if stalled || (health.health == Health::Failed && !waits_on_source(key, &health)) {
        // The last run got past the dependency and source checks and failed on its own.
        own(Verdict::Failing)
    } else if matches!(health.health, Health::Ready | Health::Drifted) {
        State {
            root: None,
            ..own(Verdict::Ready)
        }
    } else {
        follow(&checks, states).unwrap_or_else(|| {
            own(if health.health == Health::Failed {
                Verdict::Failing
            } else {
                Verdict::Progressing
            })
        })
    };
    if state.health != health {
        state.health = health;
    }
    state.checks = checks;
    state
}

/// The verdict of an object from its failing checks: the first check leading to a stuck
/// root (Blocked), else the first one (Waiting).
fn follow(checks: &[Check], states: &[Option<State>]) -> Option<State> {
    let mut first: Option<(usize, usize)> = None;
    for (i, c) in checks.iter().enumerate() {
        if c.outcome != Outcome::Fail {
            continue;
        }
        let Some(target) = states[c.to].as_ref() else {
            continue;
        };
        let (stuck, root) = match target.verdict {
            Verdict::Ready => (
                matches!(c.rule, Rule::ReadyExpr | Rule::ReadyExprUnevaluated),
                c.to,
            ),
            Verdict::Progressing => (false, c.to),
            Verdict::Waiting => (false, target.root.unwrap_or(c.to)),
            Verdict::Blocked | Verdict::Cycle => (true, target.root.unwrap_or(c.to)),
            Verdict::Failing | Verdict::Suspended | Verdict::NotFound => (true, c.to),
        };
        if stuck {
            return Some(blocked(Verdict::Blocked, i, root));
        }
        first.get_or_insert((i, root));
    }
    first.map(|(i, root)| blocked(Verdict::Waiting, i, root))
}

fn blocked(verdict: Verdict, chosen: usize, root: usize) -> State {
    State {
        verdict,
        health: HealthInfo::not_loaded(),
        checks: Vec::new(),
        chosen: Some(chosen),
        root: Some(root),
    }
}

/// When fluxdeck could not check a dependency (not loaded, readyExpr not evaluated) but
/// the controller's Ready message names it (flux-facts §3.5 regex), take the controller's
/// word for it.
fn confirm_from_controller(graph: &Graph, ready: Option<&Condition>, checks: &mut [Check]) {
    let Some(ready) = ready.filter(|r| r.is_false() && r.reason == reasons::DEPENDENCY_NOT_READY)
    else {
        return;
    };
    if checks
        .iter()
        .any(|c| c.via == Via::DependsOn && c.outcome == Outcome::Fail)
    {
        return;
    }
    let Some((ns, name)) = named_dependency(&ready.message) else {
        return;
    };
    for c in checks.iter_mut() {
        let k = &graph.keys[c.to];
        if c.via == Via::DependsOn
            && c.outcome == Outcome::Unknown
            && k.namespace == ns
            && k.name == name
        {
            c.outcome = Outcome::Fail;
            c.message = ready.message.to_string();
        }
    }
}

/// `(namespace, name)` from `dependency '<ns>/<name>' …` or `unable to get '<ns>/<name>'
/// dependency: …`.
fn named_dependency(message: &str) -> Option<(&str, &str)> {
    let rest = message
        .strip_prefix("dependency '")
        .or_else(|| message.strip_prefix("unable to get '"))?;
    let (quoted, _) = rest.split_once('\'')?;
    quoted.split_once('/')
}
