//! Building the tree from a [`Snapshot`] (flux-facts Appendix A.1).
//!
//! Roots are Kustomizations that no other Kustomization lists in its inventory (plus, so
//! nothing is lost, Kustomizations only reachable through an inventory cycle). Flux objects
//! listed in no inventory go under the Kustomization their kustomize labels name, when that
//! one is not in view (another namespace), else under one "Not managed by a Kustomization"
//! group; HelmCharts
//! generated for a HelmRelease appear on that release's source line instead.
//!
//! States come from the dependency analysis where it says more than the controller's
//! one-hop message: blocked objects name their root cause, cycle members their loop, and
//! root causes carry how many objects wait on them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::domain::deps::{Analysis, analyze};
use crate::domain::flux::{FluxKind, FluxObject, ObjectKey, condition_types, helm_chart_key};
use crate::domain::health::{
    Health, HealthInfo, flux_health, go_duration_seconds, managed_health, reasons, stuck_workload,
};

/// helm-controller's default `spec.timeout` (5m0s), in seconds.
const DEFAULT_TIMEOUT_SECONDS: f64 = 300.0;

use super::{Node, Relation, Snapshot, StateCounts, Tree};

/// More managed objects of one kind than this under one parent are put in a kind group.
pub const GROUP_THRESHOLD: usize = 5;
/// Id of the "Not managed by a Kustomization" group.
pub const UNMANAGED_ID: &str = "unmanaged";
const UNMANAGED_TITLE: &str = "Not managed by a Kustomization";
/// Id prefix of the groups of objects applied by a Kustomization that is not in the snapshot.
pub const APPLIED_BY_PREFIX: &str = "applied-by:";
const KS_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
const KS_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// The Kustomization (namespace, name) that applied an object, from its kustomize labels.
fn applying_kustomization(obj: &FluxObject) -> Option<(String, String)> {
    let labels = obj.metadata().labels.as_ref()?;
    let name = labels.get(KS_NAME_LABEL)?;
    let namespace = labels.get(KS_NAMESPACE_LABEL)?;
    Some((namespace.to_string(), name.to_string()))
}

/// Build the tree (running the dependency analysis for it).
pub fn build(snap: &Snapshot) -> Tree {
    build_with(snap, &analyze(snap))
}

/// Build the tree with the dependency analysis of the same snapshot, for callers that keep
/// the analysis (so it is computed once per snapshot).
pub fn build_with(snap: &Snapshot, analysis: &Analysis) -> Tree {
    build_cached(snap, analysis, &mut TreeCache::default())
}

/// HelmRelease subtrees of the previous build with what each was built from, so the next
/// build reuses the ones whose inputs did not change (the same stored objects, verdicts and
/// watched scopes) instead of building them again: a rebuild costs in proportion to what
/// changed below the Kustomizations. A subtree whose states depend on the clock (a workload
/// not ready yet may become stuck) or that holds Kustomizations or HelmReleases of its own is
/// always built again.
#[derive(Debug, Default)]
pub struct TreeCache {
    releases: HashMap<ObjectKey, Cached>,
    built: usize,
    reused: usize,
}

impl TreeCache {
    /// Nodes the last build made (not reused).
    pub fn built(&self) -> usize {
        self.built
    }

    /// HelmRelease subtrees the last build reused.
    pub fn reused(&self) -> usize {
        self.reused
    }
}

#[derive(Debug)]
struct Cached {
    relation: Relation,
    /// The manifest's objects (a release without an inventory).
    manifest: Option<Vec<ObjectKey>>,
    /// What each object node of `node` was built from, depth first.
    sources: Vec<Source>,
    node: Node,
}

/// The stored object an object node was built from: compared by identity (a changed
/// object is a new `Arc`).
#[derive(Debug)]
enum Source {
    Flux(Arc<FluxObject>),
    Managed(Arc<serde_json::Value>),
    /// Absent, in a watched scope or not.
    Absent {
        loaded: bool,
    },
}

impl Source {
    fn read(key: &ObjectKey, snap: &Snapshot) -> Source {
        let found = if key.flux_kind().is_some() {
            snap.flux.get(key).cloned().map(Source::Flux)
        } else {
            snap.managed.get(key).cloned().map(Source::Managed)
        };
        found.unwrap_or_else(|| Source::Absent {
            loaded: snap.is_loaded(key),
        })
    }

    fn unchanged(&self, key: &ObjectKey, snap: &Snapshot) -> bool {
        let found = if key.flux_kind().is_some() {
            snap.flux
                .get(key)
                .map(|o| matches!(self, Source::Flux(a) if Arc::ptr_eq(a, o)))
        } else {
            snap.managed
                .get(key)
                .map(|v| matches!(self, Source::Managed(a) if Arc::ptr_eq(a, v)))
        };
        match found {
            Some(same) => same,
            None => matches!(self, Source::Absent { loaded } if *loaded == snap.is_loaded(key)),
        }
    }
}

/// The sources of every object node below and including `node`, depth first.
fn sources_of(node: &Node, snap: &Snapshot, out: &mut Vec<Source>) {
    if let Some(key) = &node.key {
        out.push(Source::read(key, snap));
    }
    for child in &node.children {
        sources_of(child, snap, out);
    }
}

/// Whether every object node below and including `node` would be built the same: the
/// same stored object, verdict and blast radius.
fn unchanged(
    node: &Node,
    sources: &mut std::slice::Iter<'_, Source>,
    snap: &Snapshot,
    analysis: &Analysis,
) -> bool {
    if let Some(key) = &node.key {
        let Some(source) = sources.next() else {
            return false;
        };
        if !source.unchanged(key, snap) || node.blocks != analysis.known_blocks(key) {
            return false;
        }
        if let Source::Flux(obj) = source {
            let same = analysis
                .tree_health_is(key, &node.health)
                .unwrap_or_else(|| flux_health(obj) == node.health);
            if !same {
                return false;
            }
        }
    }
    node.children
        .iter()
        .all(|c| unchanged(c, sources, snap, analysis))
}

impl Cached {
    fn reusable(
        &self,
        key: &ObjectKey,
        relation: Relation,
        snap: &Snapshot,
        analysis: &Analysis,
    ) -> bool {
        let mut sources = self.sources.iter();
        self.relation == relation
            && self.manifest.as_ref() == snap.helm_manifests.get(key)
            && unchanged(&self.node, &mut sources, snap, analysis)
            && sources.next().is_none()
    }
}

/// While a HelmRelease's subtree is built: whether it may be reused.
#[derive(Default)]
struct Recording {
    /// The release's own node was started.
    started: bool,
    /// Not to be reused: depends on the clock, or holds Flux objects that are not sources.
    volatile: bool,
}

/// Build the tree reusing the HelmRelease subtrees of `cache` whose inputs did not change;
/// the cache then holds this build's subtrees.
pub fn build_cached(snap: &Snapshot, analysis: &Analysis, cache: &mut TreeCache) -> Tree {
    let previous = std::mem::take(&mut cache.releases);
    cache.built = 0;
    cache.reused = 0;
    let tree = build_tree(snap, analysis, previous, cache);
    cache.releases.shrink_to_fit();
    tree
}

fn build_tree(
    snap: &Snapshot,
    analysis: &Analysis,
    previous: HashMap<ObjectKey, Cached>,
    cache: &mut TreeCache,
) -> Tree {
    let mut listed: HashSet<ObjectKey> = HashSet::new();
    let mut generated_charts: HashSet<ObjectKey> = HashSet::new();
    for obj in snap.flux.values() {
        match &**obj {
            FluxObject::Kustomization(_) | FluxObject::HelmRelease(_) => {
                let own = obj.key();
                let keep = |k: &ObjectKey| k.flux_kind().is_some() && *k != own;
                match obj.inventory() {
                    Some(inv) => listed.extend(
                        inv.refs()
                            .map(|r| ObjectKey::from_inventory(&r))
                            .filter(|k| keep(k)),
                    ),
                    None => listed.extend(
                        snap.helm_manifests
                            .get(&own)
                            .into_iter()
                            .flatten()
                            .filter(|k| keep(k))
                            .cloned(),
                    ),
                }
                if let FluxObject::HelmRelease(hr) = &**obj
                    && let Some(chart) = helm_chart_key(hr)
                {
                    generated_charts.insert(chart);
                }
            }
            _ => {}
        }
    }

    let mut kustomizations: Vec<&ObjectKey> = snap
        .flux
        .keys()
        .filter(|k| k.flux_kind() == Some(FluxKind::Kustomization))
        .collect();
    kustomizations.sort_by(|a, b| root_order(a).cmp(&root_order(b)));

    let mut builder = Builder {
        snap,
        analysis,
        stack: Vec::new(),
        visited_ks: HashSet::new(),
        previous,
        cache,
        recording: None,
    };
    let mut roots = Vec::new();
    for key in kustomizations.iter().filter(|k| !listed.contains(**k)) {
        roots.push(builder.object_node(key, Relation::Root, false));
    }
    for key in &kustomizations {
        if !builder.visited_ks.contains(*key) {
            roots.push(builder.object_node(key, Relation::Root, false));
        }
    }

    let mut unmanaged: Vec<&ObjectKey> = snap
        .flux
        .keys()
        .filter(|k| {
            k.flux_kind() != Some(FluxKind::Kustomization)
                && !listed.contains(*k)
                && !generated_charts.contains(*k)
        })
        .collect();
    unmanaged.sort_by(|a, b| sort_key_of(a).cmp(&sort_key_of(b)));
    // Objects whose kustomize labels name a Kustomization that is not in the snapshot (in
    // another namespace than the one watched, or gone) are grouped under it; the rest are
    // managed by no Kustomization.
    let mut applied_by: BTreeMap<(String, String), Vec<&ObjectKey>> = BTreeMap::new();
    let mut orphans: Vec<&ObjectKey> = Vec::new();
    for key in unmanaged {
        match snap.flux.get(key).and_then(|o| applying_kustomization(o)) {
            Some(owner) => applied_by.entry(owner).or_default().push(key),
            None => orphans.push(key),
        }
    }
    for ((ns, name), keys) in applied_by {
        let children: Vec<Node> = keys
            .into_iter()
            .map(|k| builder.object_node(k, Relation::Unmanaged, false))
            .collect();
        // The group stands for the Kustomization: its state is that one's verdict, not the
        // worst of the objects below (their states are on their own rows). Out of view its
        // state is not known, and the row says so instead of borrowing a child's.
        let applier = ObjectKey::flux(FluxKind::Kustomization, &ns, &name);
        let (title, verdict) = match snap.flux.get(&applier) {
            Some(obj) => (
                format!("Applied by Kustomization {ns}/{name}"),
                analysis
                    .tree_health(&applier)
                    .unwrap_or_else(|| flux_health(obj)),
            ),
            None => (
                format!("Applied by Kustomization {ns}/{name} (not in view)"),
                HealthInfo::not_loaded(),
            ),
        };
        builder.cache.built += 1;
        let mut group = group_node(
            format!("{APPLIED_BY_PREFIX}{ns}/{name}"),
            title,
            Relation::Unmanaged,
            children,
        );
        group.health = HealthInfo {
            message: group.health.message.clone(),
            ..verdict
        };
        roots.push(group);
    }
    if !orphans.is_empty() {
        let children: Vec<Node> = orphans
            .into_iter()
            .map(|k| builder.object_node(k, Relation::Unmanaged, false))
            .collect();
        builder.cache.built += 1;
        roots.push(group_node(
            UNMANAGED_ID.to_string(),
            UNMANAGED_TITLE.to_string(),
            Relation::Unmanaged,
            children,
        ));
    }
    roots.shrink_to_fit();
    Tree { roots }
}

/// `flux-system/flux-system`-like Kustomizations (named after their namespace) first.
fn root_order(k: &ObjectKey) -> (bool, &str, &str) {
    (k.name != k.namespace, &k.namespace, &k.name)
}

fn sort_key_of(k: &ObjectKey) -> (usize, &str, &str, &str) {
    let rank = k
        .flux_kind()
        .and_then(|f| FluxKind::ALL.iter().position(|x| *x == f))
        .unwrap_or(FluxKind::ALL.len());
    (rank, k.kind_name(), &k.namespace, &k.name)
}

/// `Kind[.group]/namespace/name`: the id of an object's node.
pub fn object_id(key: &ObjectKey) -> String {
    let group = key.group();
    let dot = if group.is_empty() { "" } else { "." };
    format!(
        "{}{dot}{group}/{}/{}",
        key.kind_name(),
        key.namespace,
        key.name
    )
}

/// Whether `id` is [`object_id`] of the key, without building it.
pub(crate) fn is_object_id(key: &ObjectKey, id: &str) -> bool {
    let Some(rest) = id.strip_prefix(key.kind_name()) else {
        return false;
    };
    let group = key.group();
    let rest = if group.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('.').and_then(|r| r.strip_prefix(group))
    };
    rest.and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(key.namespace.as_str()))
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|r| r == key.name)
}

/// Higher is worse; used for the state of group nodes.
pub(crate) fn severity(info: &HealthInfo) -> u8 {
    if info.is_not_loaded() {
        return 1;
    }
    match info.health {
        Health::Ready => 0,
        Health::Suspended => 2,
        Health::Pending => 3,
        Health::Reconciling => 4,
        Health::Deleting => 5,
        Health::Unknown => 6,
        Health::Drifted => 7,
        Health::Cycle => 8,
        Health::Blocked => 9,
        Health::Failed => 10,
    }
}

fn summarise(children: &[Node]) -> StateCounts {
    let mut summary = StateCounts::default();
    for child in children.iter().filter(|c| c.relation != Relation::Source) {
        summary.add_node(child);
        summary.merge(&child.summary());
    }
    summary
}

fn group_node(id: String, title: String, relation: Relation, mut children: Vec<Node>) -> Node {
    children.shrink_to_fit();
    let summary = summarise(&children);
    let worst = children
        .iter()
        .filter(|c| c.relation != Relation::Source)
        .max_by_key(|c| severity(&c.health))
        .map(|c| c.health.health)
        .unwrap_or(Health::Ready);
    let message = format!("{} objects", children.len());
    let description = summary.describe();
    let message = if description.is_empty() {
        message
    } else {
        format!("{message}: {description}")
    };
    let mut node = Node::group(
        id,
        title,
        relation,
        HealthInfo::new(worst, "", &message, None),
    );
    node.children = children.into();
    node.set_summary(summary);
    node
}

struct Builder<'a> {
    snap: &'a Snapshot,
    /// Dependency verdicts: blocked objects show their root cause, cycle members the loop.
    analysis: &'a Analysis,
    /// Kustomizations and HelmReleases on the current path (inventory cycles).
    stack: Vec<ObjectKey>,
    visited_ks: HashSet<ObjectKey>,
    /// The previous build's HelmRelease subtrees.
    previous: HashMap<ObjectKey, Cached>,
    /// This build's, and the counters.
    cache: &'a mut TreeCache,
    /// The inputs of the HelmRelease subtree being built.
    recording: Option<Recording>,
}

impl Builder<'_> {
    fn object_node(&mut self, key: &ObjectKey, relation: Relation, remote: bool) -> Node {
        if let Some(rec) = self.recording.as_mut() {
            // The release itself comes first; a Kustomization or HelmRelease below it is
            // walked with the build's cycle and visited state.
            let nested = key
                .flux_kind()
                .is_some_and(|k| matches!(k, FluxKind::Kustomization | FluxKind::HelmRelease));
            if nested && rec.started {
                rec.volatile = true;
            }
            rec.started = true;
            return self.build_node(key, relation, remote);
        }
        let cacheable =
            !remote && key.flux_kind() == Some(FluxKind::HelmRelease) && !self.stack.contains(key);
        if !cacheable {
            return self.build_node(key, relation, remote);
        }
        if let Some(hit) = self.previous.remove(key)
            && hit.reusable(key, relation, self.snap, self.analysis)
        {
            self.cache.reused += 1;
            let node = hit.node.clone();
            self.cache.releases.insert(key.clone(), hit);
            return node;
        }
        self.recording = Some(Recording::default());
        let node = self.object_node(key, relation, remote);
        if let Some(rec) = self.recording.take()
            && !rec.volatile
        {
            let mut sources = Vec::new();
            sources_of(&node, self.snap, &mut sources);
            sources.shrink_to_fit();
            self.cache.releases.insert(
                key.clone(),
                Cached {
                    relation,
                    manifest: self.snap.helm_manifests.get(key).cloned(),
                    sources,
                    node: node.clone(),
                },
            );
        }
        node
    }

    fn build_node(&mut self, key: &ObjectKey, relation: Relation, remote: bool) -> Node {
        self.cache.built += 1;
        let snap = self.snap;
        let mut revision = None;
        let mut cycle = false;
        let mut children = Vec::new();
        let health = if remote {
            HealthInfo::new(
                Health::Unknown,
                reasons::NOT_LOADED,
                "applied to a remote cluster",
                None,
            )
        } else if key.flux_kind().is_some() {
            match snap.flux.get(key) {
                Some(obj) => {
                    revision = obj.revision().map(Box::from);
                    if self.stack.contains(key) {
                        cycle = true;
                    } else {
                        children = self.flux_children(key, obj, relation);
                    }
                    self.analysis
                        .tree_health(key)
                        .unwrap_or_else(|| flux_health(obj))
                }
                None => self.absent(key),
            }
        } else {
            let health = match snap.managed.get(key) {
                Some(value) => {
                    let health = self.stuck_or(managed_health(value, snap.now), value);
                    // The clock moves a pod past its scheduling grace and a StatefulSet or
                    // DaemonSet past its release's timeout; nothing else.
                    if health.health != Health::Ready
                        && matches!(key.kind_name(), "Pod" | "StatefulSet" | "DaemonSet")
                        && let Some(rec) = self.recording.as_mut()
                    {
                        rec.volatile = true;
                    }
                    health
                }
                None => self.absent(key),
            };
            self.drifted_or(health, key)
        };
        let summary = summarise(&children);
        let mut node = Node::object(
            key.clone(),
            relation,
            health,
            self.analysis.known_blocks(key),
        );
        node.revision = revision;
        node.cycle = cycle;
        node.children = children.into();
        node.set_summary(summary);
        node
    }

    /// A workload of the HelmRelease being walked that has not become ready within the
    /// release's timeout shows as stuck (see [`stuck_workload`]).
    fn stuck_or(&self, info: HealthInfo, value: &serde_json::Value) -> HealthInfo {
        let timeout = self
            .stack
            .last()
            .and_then(|k| self.snap.flux.get(k))
            .and_then(|o| match &**o {
                FluxObject::HelmRelease(hr) => Some(
                    hr.spec
                        .timeout
                        .as_deref()
                        .and_then(go_duration_seconds)
                        .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
                ),
                _ => None,
            });
        match timeout {
            Some(t) => stuck_workload(&info, value, self.snap.now, t).unwrap_or(info),
            None => info,
        }
    }

    /// An object the HelmRelease being walked reports as drifted (its `Drifted` condition
    /// names it, changed or removed) shows as Drifted, with what changed; a failing or stuck
    /// object keeps that state, which says more.
    fn drifted_or(&self, info: HealthInfo, key: &ObjectKey) -> HealthInfo {
        if !matches!(
            info.health,
            Health::Ready | Health::Reconciling | Health::Unknown
        ) {
            return info;
        }
        let Some(drift) = self
            .stack
            .last()
            .and_then(|k| self.snap.flux.get(k))
            .filter(|o| o.kind() == FluxKind::HelmRelease)
            .and_then(|o| o.condition(condition_types::DRIFTED))
            .filter(|d| d.is_true())
        else {
            return info;
        };
        let found = crate::domain::drift::drifted_objects(&drift.message)
            .into_iter()
            .find(|d| {
                d.drifted()
                    && d.kind == key.kind.kind()
                    && d.namespace == key.namespace
                    && d.name == key.name
            });
        match found {
            Some(d) => HealthInfo::new(
                Health::Drifted,
                &drift.reason,
                format!("drifted: {}", d.what),
                info.since,
            ),
            None => info,
        }
    }

    fn absent(&self, key: &ObjectKey) -> HealthInfo {
        if self.snap.is_loaded(key) {
            HealthInfo::not_found()
        } else if crate::domain::secrets::is_secret(key) {
            HealthInfo::not_watched()
        } else {
            HealthInfo::not_loaded()
        }
    }

    fn flux_children(
        &mut self,
        key: &ObjectKey,
        obj: &FluxObject,
        relation: Relation,
    ) -> Vec<Node> {
        match obj {
            FluxObject::Kustomization(_) | FluxObject::HelmRelease(_) => {
                if obj.kind() == FluxKind::Kustomization {
                    self.visited_ks.insert(key.clone());
                }
                let snap = self.snap;
                let (refs, child_relation): (Cow<'_, [ObjectKey]>, _) = match obj.inventory() {
                    Some(inv) => (
                        Cow::Owned(inv.refs().map(|r| ObjectKey::from_inventory(&r)).collect()),
                        Relation::Inventory,
                    ),
                    None => (
                        Cow::Borrowed(snap.helm_manifests.get(key).map_or(&[][..], Vec::as_slice)),
                        Relation::Manifest,
                    ),
                };
                let remote = obj.is_remote();
                self.stack.push(key.clone());
                let mut seen = HashSet::new();
                let mut nodes: Vec<Node> = refs
                    .iter()
                    .filter(|k| *k != key && seen.insert(*k))
                    .map(|k| self.object_node(k, child_relation, remote))
                    .collect();
                if obj.kind() == FluxKind::HelmRelease && relation != Relation::Source {
                    for source in obj.source_refs() {
                        nodes.push(self.object_node(&source, Relation::Source, false));
                    }
                }
                self.stack.pop();
                arrange(nodes, &mut self.cache.built)
            }
            FluxObject::HelmChart(_) if relation == Relation::Source => obj
                .source_refs()
                .iter()
                .map(|k| self.object_node(k, Relation::Source, false))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Sort children (Flux kinds first, then other kinds, source lines last) and put more than
/// [`GROUP_THRESHOLD`] managed objects of one kind into a kind group.
fn arrange(nodes: Vec<Node>, built: &mut usize) -> Vec<Node> {
    let mut flux = Vec::new();
    let mut sources = Vec::new();
    let mut others: Vec<Node> = Vec::new();
    for n in nodes {
        if n.relation == Relation::Source {
            sources.push(n);
        } else if n.key.as_ref().is_some_and(|k| k.flux_kind().is_some()) {
            flux.push(n);
        } else {
            others.push(n);
        }
    }
    let by_key = |a: &Node, b: &Node| match (&a.key, &b.key) {
        (Some(x), Some(y)) => sort_key_of(x).cmp(&sort_key_of(y)),
        _ => a.id().cmp(&b.id()),
    };
    flux.sort_by(by_key);
    others.sort_by(by_key);
    let mut grouped: Vec<Node> = Vec::new();
    let mut rest = others.into_iter().peekable();
    while let Some(first) = rest.next() {
        let mut run = vec![first];
        while let Some(next) = rest.peek() {
            if next.key.as_ref().map(|k| &k.kind) == run[0].key.as_ref().map(|k| &k.kind) {
                if let Some(n) = rest.next() {
                    run.push(n);
                }
            } else {
                break;
            }
        }
        if run.len() > GROUP_THRESHOLD {
            let (id, title) = match &run[0].key {
                Some(k) => {
                    let group = k.group();
                    let dot = if group.is_empty() { "" } else { "." };
                    (
                        format!("group:{}{dot}{group}", k.kind_name()),
                        k.kind_name().to_string(),
                    )
                }
                None => (String::from("group:"), String::new()),
            };
            grouped.push(group_node(id, title, Relation::KindGroup, run));
            *built += 1;
        } else {
            grouped.extend(run);
        }
    }
    flux.extend(grouped);
    flux.extend(sources);
    flux.shrink_to_fit();
    flux
}
