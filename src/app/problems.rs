//! Problems mode grouped by root cause: unhealthy objects and their ancestors (so the
//! Kustomization that owns a root cause stays visible), where every object blocked by (or
//! waiting on) a root cause is shown once, under that root cause, instead of in its own
//! place. One failure appears once with its dependents under it; a dependency cycle once,
//! under its first member, with the other members under it.
//!
//! Root causes the tree does not show (a dependency or source that does not exist) become
//! top-level rows. Ids are stable (`dependent:` / `missing:` before the object id), so the
//! selection and expansion survive live updates.

use std::collections::{HashMap, HashSet};

use crate::domain::deps::{Analysis, RootGroup, Verdict, verdict_of};
use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::health::{Health, HealthInfo, reasons};
use crate::domain::tree::{Node, Relation, StateCounts, Tree, object_id};

/// Id prefix of a dependent shown under its root cause.
pub const DEPENDENT_PREFIX: &str = "dependent:";
/// Id prefix of a root cause the tree does not show.
pub const MISSING_PREFIX: &str = "missing:";

/// Where an object is first shown in the tree, and the Kustomization above it.
struct Place {
    path: Vec<String>,
    owner: Option<ObjectKey>,
}

/// The first place of every object (depth first, as [`Tree::path_of`] finds it), not
/// counting source lines (a source line under a release shows what it reads, not where
/// the source lives); and the first source line of the objects shown only as one.
fn places(tree: &Tree) -> (HashMap<ObjectKey, Place>, HashMap<ObjectKey, Node>) {
    fn walk(
        nodes: &[Node],
        path: &mut Vec<String>,
        owner: Option<&ObjectKey>,
        out: &mut HashMap<ObjectKey, Place>,
        sources: &mut HashMap<ObjectKey, Node>,
    ) {
        for n in nodes {
            if n.relation == Relation::Source {
                collect_sources(n, sources);
                continue;
            }
            path.push(n.id().into_owned());
            if let Some(key) = &n.key {
                out.entry(key.clone()).or_insert_with(|| Place {
                    path: path.clone(),
                    owner: owner.cloned(),
                });
            }
            let below = match &n.key {
                Some(k) if k.flux_kind() == Some(FluxKind::Kustomization) => Some(k),
                _ => owner,
            };
            walk(&n.children, path, below, out, sources);
            path.pop();
        }
    }
    fn collect_sources(n: &Node, sources: &mut HashMap<ObjectKey, Node>) {
        if let Some(key) = &n.key {
            sources
                .entry(key.clone())
                .or_insert_with(|| n.clone_shallow());
        }
        for c in &n.children {
            collect_sources(c, sources);
        }
    }
    let mut out = HashMap::new();
    let mut sources = HashMap::new();
    walk(&tree.roots, &mut Vec::new(), None, &mut out, &mut sources);
    sources.retain(|k, _| !out.contains_key(k));
    (out, sources)
}

/// A copy of the node shown as a root.
fn as_root(node: &Node) -> Node {
    let mut root = node.clone();
    root.relation = Relation::Root;
    root
}

/// `in flux-system/apps` for a dependent owned by another Kustomization than its root.
fn elsewhere(owner: Option<&ObjectKey>, root_owner: Option<&ObjectKey>) -> String {
    match owner {
        Some(o) if Some(o) != root_owner => format!(" · in {}/{}", o.namespace, o.name),
        None if root_owner.is_some() => " · not in any Kustomization".to_string(),
        _ => String::new(),
    }
}

/// The row of one dependent under its root cause.
fn dependent_node(
    key: &ObjectKey,
    root: &RootGroup,
    tree: &Tree,
    places: &HashMap<ObjectKey, Place>,
    source_only: &HashMap<ObjectKey, Node>,
    analysis: &Analysis,
) -> Node {
    let place = places.get(key);
    let mut node = match place.and_then(|p| tree.find(&p.path)) {
        Some(n) => n.clone_shallow(),
        None => match source_only.get(key) {
            Some(n) => as_root(n),
            None => bare(key, analysis),
        },
    };
    let verdict = analysis.verdict(key).unwrap_or(Verdict::Progressing);
    let how = match verdict {
        Verdict::Cycle
            if root.root.verdict == Verdict::Cycle
                && in_same_loop(analysis, key, &root.root.key) =>
        {
            "in this dependency cycle".to_string()
        }
        Verdict::Waiting => format!("waiting for this ({})", node.health.reason),
        _ => format!("blocked by this ({})", node.health.reason),
    };
    let root_owner = places.get(&root.root.key).and_then(|p| p.owner.as_ref());
    node.set_message(format!(
        "{how}{}",
        elsewhere(place.and_then(|p| p.owner.as_ref()), root_owner)
    ));
    node.set_id(format!("{DEPENDENT_PREFIX}{}", object_id(key)));
    node.set_summary(StateCounts::default());
    node.cycle = false;
    node
}

fn in_same_loop(analysis: &Analysis, a: &ObjectKey, b: &ObjectKey) -> bool {
    analysis
        .cycles()
        .iter()
        .any(|c| c.members.contains(a) && c.members.contains(b))
}

/// A row for an object the tree does not show, from its verdict.
fn bare(key: &ObjectKey, analysis: &Analysis) -> Node {
    let health = match verdict_of(analysis, key) {
        Some(v) => HealthInfo {
            since: None,
            ..v.state
        },
        None => HealthInfo::new(Health::Unknown, reasons::NOT_FOUND, "not found", None),
    };
    Node::object(
        key.clone(),
        Relation::Root,
        health,
        analysis.known_blocks(key),
    )
}

/// Whether a group belongs in problems mode: its root or one of its dependents is a
/// problem (a progressing root with only waiting dependents is not).
fn shown(group: &RootGroup, analysis: &Analysis) -> bool {
    group.root.verdict.is_stuck()
        || group
            .dependents
            .iter()
            .any(|d| analysis.verdict(d).is_some_and(Verdict::is_stuck))
}

/// The problems tree grouped by root cause.
pub fn grouped(tree: &Tree, analysis: &Analysis) -> Tree {
    let (places, source_only) = places(tree);
    let groups: Vec<RootGroup> = analysis
        .root_groups()
        .into_iter()
        .filter(|g| shown(g, analysis))
        .collect();
    let moved: HashSet<&ObjectKey> = groups.iter().flat_map(|g| &g.dependents).collect();
    let mut under: HashMap<Vec<String>, Vec<Node>> = HashMap::new();
    let mut top: Vec<Node> = Vec::new();
    let mut missing: Vec<Node> = Vec::new();
    let mut on_top: HashSet<&ObjectKey> = HashSet::new();
    for g in &groups {
        let dependents: Vec<Node> = g
            .dependents
            .iter()
            .map(|d| dependent_node(d, g, tree, &places, &source_only, analysis))
            .collect();
        match (places.get(&g.root.key), source_only.get(&g.root.key)) {
            (Some(p), _) => under.entry(p.path.clone()).or_default().extend(dependents),
            // Shown only as what a release reads: a row of its own, its dependents under it
            // (never under one of them).
            (None, Some(node)) => {
                let mut node = as_root(node);
                node.children = dependents.into();
                on_top.insert(&g.root.key);
                top.push(node);
            }
            (None, None) => {
                let mut node = bare(&g.root.key, analysis);
                node.set_id(format!("{MISSING_PREFIX}{}", object_id(&g.root.key)));
                node.children = dependents.into();
                missing.push(node);
            }
        }
    }
    let mut path = Vec::new();
    let mut roots = keep(&tree.roots, &mut path, &moved, &mut under);
    // Problems shown only on source lines, that nothing waits on.
    let mut lone: Vec<&Node> = source_only
        .iter()
        .filter(|(k, n)| n.health.is_problem() && !moved.contains(k) && !on_top.contains(k))
        .map(|(_, n)| n)
        .collect();
    lone.sort_by(|a, b| a.key.cmp(&b.key));
    top.extend(lone.into_iter().map(as_root));
    roots.extend(top);
    roots.extend(missing);
    Tree { roots }
}

/// Problem nodes (except moved dependents), root causes with dependents, and their
/// ancestors; dependents first under their root cause. Source lines are left out: a
/// source is shown in its own place (or on a row of its own).
fn keep(
    nodes: &[Node],
    path: &mut Vec<String>,
    moved: &HashSet<&ObjectKey>,
    under: &mut HashMap<Vec<String>, Vec<Node>>,
) -> Vec<Node> {
    let mut out = Vec::new();
    for n in nodes {
        if n.relation == Relation::Source {
            continue;
        }
        path.push(n.id().into_owned());
        let mut children = under.remove(path.as_slice()).unwrap_or_default();
        let is_root = !children.is_empty();
        children.extend(keep(&n.children, path, moved, under));
        path.pop();
        let problem = n.health.is_problem() && n.key.as_ref().is_some_and(|k| !moved.contains(k));
        if problem || is_root || !children.is_empty() {
            let mut kept = n.clone_shallow();
            kept.children = children.into();
            out.push(kept);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::deps::analyze;
    use crate::domain::tree::{Snapshot, build_with};

    fn demo_objects() -> Vec<Value> {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/app/demo-cluster.yaml"
        ))
        .unwrap();
        let list: Value = serde_yaml::from_str(&text).unwrap();
        list["items"].as_array().unwrap().clone()
    }

    fn grouped_of(objects: Vec<Value>) -> (Tree, Tree) {
        let now: Timestamp = "2026-11-22T06:45:00Z".parse().unwrap();
        let (snap, errors) = Snapshot::from_objects(objects, now);
        assert!(errors.is_empty(), "{errors:?}");
        let analysis = analyze(&snap);
        let tree = build_with(&snap, &analysis);
        let g = grouped(&tree, &analysis);
        (tree, g)
    }

    fn hr(ns: &str, name: &str) -> ObjectKey {
        ObjectKey::flux(FluxKind::HelmRelease, ns, name)
    }

    /// Every (key, path) shown, depth first.
    fn shown(tree: &Tree) -> Vec<(ObjectKey, Vec<String>)> {
        tree.all_rows()
            .into_iter()
            .filter_map(|r| r.node.key.clone().map(|k| (k, r.path)))
            .collect()
    }

    #[test]
    fn dependents_move_under_their_root_cause_once() {
        let (tree, g) = grouped_of(demo_objects());
        let rows = shown(&g);
        let backend: Vec<_> = rows
            .iter()
            .filter(|(k, _)| *k == hr("staging", "backend"))
            .collect();
        assert_eq!(backend.len(), 1, "{rows:?}");
        let redis_path = tree.path_of(&hr("staging", "redis")).unwrap();
        let mut want = redis_path.clone();
        want.push(format!(
            "{DEPENDENT_PREFIX}HelmRelease.helm.toolkit.fluxcd.io/staging/backend"
        ));
        assert_eq!(backend[0].1, want);
        let node = g.find(&want).unwrap();
        assert_eq!(node.message(), "blocked by this (DependencyNotReady)");
        assert!(node.children.is_empty());
        // The redis row keeps its own state and is the first thing under its Kustomization.
        let redis = g.find(&redis_path).unwrap();
        assert_eq!(redis.health.reason, "RetriesExceeded");
        // The cycle once: loop/redis only under loop/backend.
        let loop_redis: Vec<_> = rows
            .iter()
            .filter(|(k, _)| *k == hr("loop", "redis"))
            .map(|(_, p)| p.clone())
            .collect();
        let mut under_backend = tree.path_of(&hr("loop", "backend")).unwrap();
        under_backend.push(format!(
            "{DEPENDENT_PREFIX}HelmRelease.helm.toolkit.fluxcd.io/loop/redis"
        ));
        assert_eq!(loop_redis, vec![under_backend.clone()]);
        assert_eq!(
            g.find(&under_backend).unwrap().message(),
            "in this dependency cycle"
        );
        // Healthy objects are gone.
        assert!(!rows.iter().any(|(k, _)| *k == hr("default", "grafana")));
    }

    #[test]
    fn a_missing_root_cause_is_a_top_row_with_its_dependents() {
        let mut objects = demo_objects();
        for o in objects.iter_mut() {
            if o["kind"] == "HelmRelease"
                && o["metadata"]["namespace"] == "staging"
                && o["metadata"]["name"] == "backend"
            {
                o["spec"]["dependsOn"] = json!([{"name": "ghost", "namespace": "cache"}]);
                o["status"]["conditions"][0]["message"] =
                    "unable to get 'cache/ghost' dependency: helmreleases.helm.toolkit.fluxcd.io \"ghost\" not found".into();
            }
        }
        let (_, g) = grouped_of(objects);
        let top = g.roots.last().unwrap();
        assert_eq!(
            top.id(),
            format!("{MISSING_PREFIX}HelmRelease.helm.toolkit.fluxcd.io/cache/ghost")
        );
        assert_eq!(top.key, Some(hr("cache", "ghost")));
        assert_eq!(top.health.health, Health::Unknown);
        assert_eq!(top.blocks, 1);
        assert_eq!(top.children.len(), 1);
        let dependent = &top.children[0];
        assert_eq!(dependent.key, Some(hr("staging", "backend")));
        // Owned by another Kustomization than its (unowned) root: said so.
        assert_eq!(
            dependent.message(),
            "blocked by this (DependencyNotReady) · in flux-system/staging"
        );
        // staging/redis has no dependents any more: a plain problem row (with its stuck
        // StatefulSet under it).
        let rows = shown(&g);
        let redis = rows
            .iter()
            .find(|(k, _)| *k == hr("staging", "redis"))
            .unwrap();
        let children = &g.find(&redis.1).unwrap().children;
        assert!(
            children
                .iter()
                .all(|c| !c.id().starts_with(DEPENDENT_PREFIX)),
            "{children:?}"
        );
    }

    #[test]
    fn waiting_only_groups_stay_out() {
        let mut objects = demo_objects();
        for o in objects.iter_mut() {
            if o["kind"] == "HelmRelease"
                && o["metadata"]["namespace"] == "staging"
                && o["metadata"]["name"] == "redis"
            {
                o["status"]["conditions"] = json!([
                    {"type": "Ready", "status": "Unknown", "reason": "Progressing",
                     "message": "Running 'install' action", "observedGeneration": 1,
                     "lastTransitionTime": "2026-11-22T06:44:00Z"}
                ]);
            }
        }
        let (_, g) = grouped_of(objects);
        let keys: Vec<ObjectKey> = shown(&g).into_iter().map(|(k, _)| k).collect();
        // staging/redis is shown only above its StatefulSet, stuck past the release's
        // timeout; nothing waiting on it is.
        let sts = ObjectKey::new("apps", "StatefulSet", "staging", "redis-master");
        assert!(keys.contains(&sts), "{keys:?}");
        assert!(!keys.contains(&hr("staging", "backend")), "{keys:?}");
        assert!(keys.contains(&hr("loop", "backend")));
    }

    /// The demo while flux-system/prometheus-community fails authentication (as the sim
    /// plays it): its charts cannot get their source, monitoring/prometheus waits on its
    /// chart, default/grafana on monitoring/prometheus.
    pub(crate) fn with_failing_repository(mut objects: Vec<Value>) -> Vec<Value> {
        let cond = |reason: &str, message: &str| {
            json!([{"type": "Ready", "status": "False", "reason": reason, "message": message,
                    "lastTransitionTime": "2026-11-22T06:40:00Z"}])
        };
        for o in objects.iter_mut() {
            let kind = o["kind"].as_str().unwrap_or("").to_string();
            let name = o["metadata"]["name"].as_str().unwrap_or("").to_string();
            let ns = o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string();
            match (kind.as_str(), ns.as_str(), name.as_str()) {
                ("HelmRepository", "flux-system", "prometheus-community") => {
                    o["status"]["conditions"] = cond(
                        "AuthenticationFailed",
                        "failed to fetch Helm repository index: 401 Unauthorized",
                    );
                }
                ("HelmChart", _, _) if o["spec"]["sourceRef"]["name"] == "prometheus-community" => {
                    o["status"]["conditions"] = cond(
                        "ChartPullFailed",
                        "failed to get source: HelmRepository 'flux-system/prometheus-community' is not ready",
                    );
                }
                ("HelmRelease", "monitoring", "prometheus") => {
                    o["status"]["conditions"] = cond(
                        "SourceNotReady",
                        "HelmChart 'flux-system/monitoring-prometheus' is not ready: failed to get source: HelmRepository 'flux-system/prometheus-community' is not ready",
                    );
                }
                ("HelmRelease", "default", "grafana") => {
                    o["status"]["conditions"] = cond(
                        "DependencyNotReady",
                        "dependency 'monitoring/prometheus' is not ready",
                    );
                }
                _ => {}
            }
        }
        objects
    }

    #[test]
    fn a_failing_repository_lists_its_charts_and_releases_once_under_it() {
        let (_, g) = grouped_of(with_failing_repository(demo_objects()));
        let rows = shown(&g);
        let repo = ObjectKey::flux(
            FluxKind::HelmRepository,
            "flux-system",
            "prometheus-community",
        );
        let mut seen = HashSet::new();
        for (k, _) in &rows {
            assert!(seen.insert(k.clone()), "{k} shown twice: {rows:?}");
        }
        let (_, repo_path) = rows.iter().find(|(k, _)| *k == repo).unwrap();
        let node = g.find(repo_path).unwrap();
        assert_eq!(node.health.health, Health::Failed);
        let under: Vec<&ObjectKey> = node
            .children
            .iter()
            .filter_map(|c| c.key.as_ref())
            .collect();
        for dependent in [
            hr("monitoring", "prometheus"),
            hr("default", "grafana"),
            ObjectKey::flux(FluxKind::HelmChart, "flux-system", "monitoring-prometheus"),
        ] {
            assert!(
                under.contains(&&dependent),
                "{dependent} not under the repository: {under:?}"
            );
        }
        // Nothing it blocks is above it.
        for id in &repo_path[..repo_path.len() - 1] {
            assert!(
                !id.contains("HelmRelease") && !id.contains("HelmChart"),
                "{repo_path:?}"
            );
        }
    }
}
