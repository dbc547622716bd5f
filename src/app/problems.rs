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

use crate::domain::deps::{Analysis, RootGroup, Verdict};
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

/// The first place of every object (depth first, as [`Tree::path_of`] finds it).
fn places(tree: &Tree) -> HashMap<ObjectKey, Place> {
    fn walk(
        nodes: &[Node],
        path: &mut Vec<String>,
        owner: Option<&ObjectKey>,
        out: &mut HashMap<ObjectKey, Place>,
    ) {
        for n in nodes {
            path.push(n.id.clone());
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
            walk(&n.children, path, below, out);
            path.pop();
        }
    }
    let mut out = HashMap::new();
    walk(&tree.roots, &mut Vec::new(), None, &mut out);
    out
}

fn shallow(node: &Node) -> Node {
    Node {
        children: Vec::new(),
        ..node.clone()
    }
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
    analysis: &Analysis,
) -> Node {
    let place = places.get(key);
    let mut node = match place.and_then(|p| tree.find(&p.path)) {
        Some(n) => shallow(n),
        None => bare(key, analysis),
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
    node.message = format!(
        "{how}{}",
        elsewhere(place.and_then(|p| p.owner.as_ref()), root_owner)
    );
    node.id = format!("{DEPENDENT_PREFIX}{}", object_id(key));
    node.summary = StateCounts::default();
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
    let (health, reason, message) = match analysis.root(key) {
        Some(r) if r.key == *key => (r.health, r.reason, r.message),
        _ => (
            Health::Unknown,
            reasons::NOT_FOUND.to_string(),
            "not found".to_string(),
        ),
    };
    let health = HealthInfo::new(health, &reason, &message, None);
    Node {
        id: object_id(key),
        key: Some(key.clone()),
        relation: Relation::Root,
        kind_label: key.kind_name().to_string(),
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        message: health.first_line().to_string(),
        health,
        revision: None,
        age_seconds: None,
        cycle: false,
        blocks: analysis.known_blocks(key),
        children: Vec::new(),
        summary: StateCounts::default(),
    }
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
    let places = places(tree);
    let groups: Vec<RootGroup> = analysis
        .root_groups()
        .into_iter()
        .filter(|g| shown(g, analysis))
        .collect();
    let moved: HashSet<&ObjectKey> = groups.iter().flat_map(|g| &g.dependents).collect();
    let mut under: HashMap<Vec<String>, Vec<Node>> = HashMap::new();
    let mut missing: Vec<Node> = Vec::new();
    for g in &groups {
        let dependents: Vec<Node> = g
            .dependents
            .iter()
            .map(|d| dependent_node(d, g, tree, &places, analysis))
            .collect();
        match places.get(&g.root.key) {
            Some(p) => under.entry(p.path.clone()).or_default().extend(dependents),
            None => {
                let mut node = bare(&g.root.key, analysis);
                node.id = format!("{MISSING_PREFIX}{}", object_id(&g.root.key));
                node.children = dependents;
                missing.push(node);
            }
        }
    }
    let mut path = Vec::new();
    let mut roots = keep(&tree.roots, &mut path, &moved, &mut under);
    roots.extend(missing);
    Tree { roots }
}

/// Problem nodes (except moved dependents), root causes with dependents, and their
/// ancestors; dependents first under their root cause.
fn keep(
    nodes: &[Node],
    path: &mut Vec<String>,
    moved: &HashSet<&ObjectKey>,
    under: &mut HashMap<Vec<String>, Vec<Node>>,
) -> Vec<Node> {
    let mut out = Vec::new();
    for n in nodes {
        path.push(n.id.clone());
        let mut children = under.remove(path.as_slice()).unwrap_or_default();
        let is_root = !children.is_empty();
        children.extend(keep(&n.children, path, moved, under));
        path.pop();
        let problem = n.health.is_problem() && n.key.as_ref().is_some_and(|k| !moved.contains(k));
        if problem || is_root || !children.is_empty() {
            let mut kept = shallow(n);
            kept.children = children;
            out.push(kept);
        }
    }
    out
}
