//! The controllers' checks on one edge, with their exact messages: dependencies
//! (kustomize-controller `checkDependencies`, flux-facts §2.2; helm-controller, §3.5) and
//! sources (Kustomization artifact, HelmRelease `SourceNotReady` / `ArtifactFailed`, §3.4).

use serde_json::Value;

use crate::domain::cel::{ExprOutcome, eval_ready_expr};
use crate::domain::flux::{FluxKind, FluxObject, ObjectKey, condition_types};
use crate::domain::tree::Snapshot;

use super::graph::{Edge, Graph};
use super::{Rule, Via};

/// Requeue interval of a blocked Kustomization (`--requeue-dependency` default).
const REQUEUE: &str = "30s";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The check fails: the controller waits here.
    Fail,
    /// fluxdeck cannot tell (object not loaded, expression not evaluated).
    Unknown,
}

/// A check that does not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Check {
    pub to: usize,
    pub via: Via,
    pub outcome: Outcome,
    pub rule: Rule,
    pub message: String,
    pub ready_expr: Option<String>,
}

/// `<plural>.<group> "<name>" not found`: the API server's error for a missing object.
fn api_not_found(key: &ObjectKey) -> String {
    match key.flux_kind() {
        Some(k) => format!("{}.{} \"{}\" not found", k.plural(), k.group(), key.name),
        None => format!(
            "{}.{} \"{}\" not found",
            key.kind_name().to_lowercase(),
            key.group(),
            key.name
        ),
    }
}

/// The check of one edge, `None` when it passes.
pub(super) fn check_edge(
    graph: &Graph,
    snap: &Snapshot,
    from: usize,
    edge: &Edge,
) -> Option<Check> {
    let this = graph.objects[from]?;
    let key = &graph.keys[edge.to];
    let target = graph.objects[edge.to];
    let fail = |rule: Rule, message: String| Check {
        to: edge.to,
        via: edge.via,
        outcome: Outcome::Fail,
        rule,
        message,
        ready_expr: None,
    };
    let Some(target) = target else {
        if !snap.is_loaded(key) {
            return Some(Check {
                outcome: Outcome::Unknown,
                ..fail(Rule::NotLoaded, format!("{key} is not loaded"))
            });
        }
        let nn = format!("{}/{}", key.namespace, key.name);
        let message = match (edge.via, this.kind()) {
            (Via::DependsOn, FluxKind::Kustomization) => {
                format!("dependency '{nn}' not found: {}", api_not_found(key))
            }
            (Via::DependsOn, _) => {
                format!("unable to get '{nn}' dependency: {}", api_not_found(key))
            }
            (Via::Source, FluxKind::HelmRelease) => {
                format!("could not get Source object: {}", api_not_found(key))
            }
            (Via::Source, FluxKind::HelmChart) => format!(
                "failed to get source: {}.{} \"{}\" not found",
                key.kind_name(),
                key.group(),
                key.name
            ),
            (Via::Source, _) => api_not_found(key),
        };
        return Some(fail(Rule::NotFound, message));
    };
    match edge.via {
        Via::DependsOn => check_dependency(graph, this, target, key, edge, fail),
        Via::Source => check_source(this, target, key, fail),
    }
}

fn check_dependency(
    graph: &Graph,
    this: &FluxObject,
    dep: &FluxObject,
    key: &ObjectKey,
    edge: &Edge,
    fail: impl Fn(Rule, String) -> Check,
) -> Option<Check> {
    let nn = || format!("{}/{}", key.namespace, key.name);
    let expr = edge
        .dep
        .and_then(|i| this.depends_on().get(i))
        .and_then(|d| d.ready_expr.as_deref())
        .filter(|e| !e.trim().is_empty());
    if let Some(expr) = expr {
        let with_expr = |mut c: Check| {
            c.ready_expr = Some(expr.to_string());
            Some(c)
        };
        // Without the AdditiveCELDependencyCheck feature gate the built-in checks are
        // skipped when readyExpr is set (flux-facts §2.2 rule 2).
        return match eval_ready_expr(expr, &to_json(this), &to_json(dep)) {
            ExprOutcome::True => None,
            ExprOutcome::False => with_expr(fail(
                Rule::ReadyExpr,
                format!(
                    "dependency '{}' is not ready according to readyExpr eval",
                    nn()
                ),
            )),
            // A missing field fails cel-go too, but fluxdeck keeps only the fields its views
            // read: it cannot tell a field that is not set from one it did not keep, so the
            // check is reported as not evaluated rather than as a failure it may not be.
            ExprOutcome::Error(e) => with_expr(Check {
                outcome: Outcome::Unknown,
                ..fail(
                    Rule::ReadyExprUnevaluated,
                    format!(
                        "readyExpr of dependency '{}' reads a field that is not set or that fluxdeck does not keep ({e}): {expr}",
                        nn()
                    ),
                )
            }),
            ExprOutcome::Unevaluated(why) => with_expr(Check {
                outcome: Outcome::Unknown,
                ..fail(
                    Rule::ReadyExprUnevaluated,
                    format!(
                        "readyExpr of dependency '{}' cannot be evaluated by fluxdeck ({why}): {expr}",
                        nn()
                    ),
                )
            }),
        };
    }
    let not_ready = || format!("dependency '{}' is not ready", nn());
    if dep.conditions().is_empty() || dep.generation() != dep.observed_generation() {
        return Some(fail(Rule::GenerationNotObserved, not_ready()));
    }
    if !dep.ready().is_some_and(|r| r.is_true()) {
        return Some(fail(Rule::NotReady, not_ready()));
    }
    if let (FluxObject::Kustomization(ks), FluxObject::Kustomization(dks)) = (this, dep) {
        let own_source = this.source_refs().into_iter().next();
        let dep_source = dep.source_refs().into_iter().next();
        let same_source = own_source.is_some()
            && own_source == dep_source
            && ks.spec.source_ref.kind == dks.spec.source_ref.kind;
        let current = own_source
            .as_ref()
            .and_then(|k| graph.index.get(k))
            .and_then(|&i| graph.objects[i])
            .and_then(artifact_revision);
        let applied = dks
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.as_deref())
            .unwrap_or("");
        if same_source && current.is_some_and(|current| current != applied) {
            return Some(fail(
                Rule::RevisionNotUpToDate,
                format!("dependency '{}' revision is not up to date", nn()),
            ));
        }
    }
    None
}

fn check_source(
    this: &FluxObject,
    source: &FluxObject,
    key: &ObjectKey,
    fail: impl Fn(Rule, String) -> Check,
) -> Option<Check> {
    let nn = format!("{}/{}", key.namespace, key.name);
    let has_artifact = artifact_revision(source).is_some();
    match this.kind() {
        // kustomize-controller only needs an artifact; a failing source with an older
        // artifact does not hold the Kustomization.
        FluxKind::Kustomization => (!has_artifact).then(|| {
            fail(
                Rule::ArtifactMissing,
                format!("Source artifact not found, retrying in {REQUEUE}"),
            )
        }),
        FluxKind::HelmRelease => {
            let not_ready = |why: &str| format!("{} '{nn}' is not ready: {why}", key.kind_name());
            if source.generation() != source.observed_generation() && !source.is_static() {
                return Some(fail(
                    Rule::GenerationNotObserved,
                    not_ready("latest generation of object has not been reconciled"),
                ));
            }
            if let Some(stalled) = source
                .condition(condition_types::STALLED)
                .filter(|c| c.is_true())
            {
                return Some(fail(Rule::NotReady, not_ready(&stalled.message)));
            }
            if !has_artifact {
                return Some(fail(
                    Rule::ArtifactMissing,
                    not_ready("does not have an artifact"),
                ));
            }
            if !source.ready().is_some_and(|r| r.is_true()) {
                let message = source.ready().map(|r| r.message.as_str()).unwrap_or("");
                return Some(fail(Rule::NotReady, not_ready(message)));
            }
            None
        }
        // A HelmChart builds from its source's artifact and fails while its source is not
        // ready (`failed to get source: HelmRepository '<ns>/<name>' is not ready`); an OCI
        // HelmRepository is static and has neither.
        _ if source.is_static() => None,
        _ if !has_artifact => Some(fail(
            Rule::ArtifactMissing,
            format!(
                "{} '{nn}' is not ready: does not have an artifact",
                key.kind_name()
            ),
        )),
        _ => (!source.ready().is_some_and(|r| r.is_true())).then(|| {
            fail(
                Rule::NotReady,
                format!(
                    "failed to get source: {} '{nn}' is not ready",
                    key.kind_name()
                ),
            )
        }),
    }
}

/// `status.artifact.revision` of a source.
pub(super) fn artifact_revision(obj: &FluxObject) -> Option<&str> {
    let status = match obj {
        FluxObject::GitRepository(o) => o.status.as_ref(),
        FluxObject::OCIRepository(o) => o.status.as_ref(),
        FluxObject::HelmRepository(o) => o.status.as_ref(),
        FluxObject::HelmChart(o) => o.status.as_ref(),
        FluxObject::Bucket(o) => o.status.as_ref(),
        FluxObject::Kustomization(_) | FluxObject::HelmRelease(_) => None,
    };
    status
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.as_str())
}

/// The object as JSON (the `self` / `dep` of a readyExpr).
fn to_json(obj: &FluxObject) -> Value {
    let value = match obj {
        FluxObject::Kustomization(o) => serde_json::to_value(&**o),
        FluxObject::HelmRelease(o) => serde_json::to_value(&**o),
        FluxObject::GitRepository(o) => serde_json::to_value(&**o),
        FluxObject::OCIRepository(o) => serde_json::to_value(&**o),
        FluxObject::HelmRepository(o) => serde_json::to_value(&**o),
        FluxObject::HelmChart(o) => serde_json::to_value(&**o),
        FluxObject::Bucket(o) => serde_json::to_value(&**o),
    };
    value.unwrap_or(Value::Null)
}
