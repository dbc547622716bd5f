//! The tree model: Kustomization → inventory (Kustomizations, HelmReleases, sources,
//! managed objects) → HelmRelease → managed objects and its source chain, built from a plain
//! [`Snapshot`] of the cluster (flux-facts Appendix A.1).
//!
//! Node ids are stable object identities, unique among siblings, so selection and expansion
//! survive rebuilds (paths of ids, as tui-tree-widget keeps them). The tree can be narrowed
//! to problems or by a [`Filter`], and flattened into visible rows for a given expansion.

mod build;
mod counts;
mod filter;
mod rows;
mod snapshot;

pub use build::{
    GROUP_THRESHOLD, TreeCache, UNMANAGED_ID, build, build_cached, build_with, object_id,
};
pub use counts::StateCounts;
pub use filter::{Filter, FilterError, KindTerm};
pub use rows::Row;
pub use snapshot::{LoadedScope, Scope, Snapshot, key_of};

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::domain::flux::ObjectKey;
use crate::domain::health::HealthInfo;

/// How a node is related to its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Relation {
    /// A top-level Kustomization.
    Root,
    /// Listed in the parent's `status.inventory`.
    Inventory,
    /// Parsed from the manifest of the parent HelmRelease's latest Helm release record.
    Manifest,
    /// The parent's source (HelmRelease → HelmChart → HelmRepository, or chartRef).
    Source,
    /// A group of objects of one kind under one parent.
    KindGroup,
    /// The "Not managed by a Kustomization" group and the objects in it.
    Unmanaged,
}

/// One row of the tree: an object, a kind group or the unmanaged group.
///
/// A node keeps only what it cannot derive: its id, kind, namespace and name come from its
/// key (group nodes keep a title), and its message is the first line of its health's
/// message unless a view sets another one.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// How the id is made: see [`Node::id`].
    ident: NodeId,
    /// The object, `None` for group nodes.
    pub key: Option<ObjectKey>,
    pub relation: Relation,
    /// The group title (group nodes only).
    title: Option<Box<str>>,
    pub health: HealthInfo,
    /// Applied revision (Kustomization), chart version (HelmRelease), artifact revision.
    pub revision: Option<Box<str>>,
    /// A message other than the first line of the health message.
    note: Option<Box<str>>,
    /// This Kustomization is already an ancestor (inventory cycle): its children are not
    /// repeated.
    pub cycle: bool,
    /// How many Kustomizations and HelmReleases wait on this object, directly or
    /// transitively, when it is a root cause (failing, suspended, missing or in a
    /// dependency cycle); 0 otherwise.
    pub blocks: usize,
    /// Shared: a rebuild keeps the children of an object whose inputs did not change, and
    /// cloning a node does not copy its subtree.
    pub children: Children,
    /// States of all descendants (source lines and group headers not counted); `None`
    /// when there are none (most nodes are leaves).
    summary: Option<Box<StateCounts>>,
}

/// A node's id: derived from its key (no copy kept) or given.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NodeId {
    /// [`object_id`] of the key.
    Object,
    /// `source:` and [`object_id`] of the key.
    Source,
    Given(Box<str>),
}

const SOURCE_PREFIX: &str = "source:";

impl Node {
    /// A node for an object, without children.
    pub fn object(key: ObjectKey, relation: Relation, health: HealthInfo, blocks: usize) -> Node {
        Node {
            ident: if relation == Relation::Source {
                NodeId::Source
            } else {
                NodeId::Object
            },
            key: Some(key),
            relation,
            title: None,
            health,
            revision: None,
            note: None,
            cycle: false,
            blocks,
            children: Children::default(),
            summary: None,
        }
    }

    /// A group node (no key) with its id and title, without children.
    pub(crate) fn group(id: String, title: String, relation: Relation, health: HealthInfo) -> Node {
        Node {
            ident: NodeId::Given(id.into_boxed_str()),
            key: None,
            relation,
            title: Some(title.into_boxed_str()),
            health,
            revision: None,
            note: None,
            cycle: false,
            blocks: 0,
            children: Children::default(),
            summary: None,
        }
    }

    /// States of all descendants (source lines and group headers not counted).
    pub fn summary(&self) -> StateCounts {
        self.summary.as_deref().copied().unwrap_or_default()
    }

    /// Set the states of the descendants.
    pub fn set_summary(&mut self, summary: StateCounts) {
        self.summary = (summary != StateCounts::default()).then(|| Box::new(summary));
    }

    /// Identity among siblings: `Kind[.group]/namespace/name` for objects, prefixed by
    /// `source:` for source lines; `group:Kind[.group]` for kind groups; [`UNMANAGED_ID`].
    pub fn id(&self) -> Cow<'_, str> {
        match (&self.ident, &self.key) {
            (NodeId::Given(id), _) => Cow::Borrowed(id),
            (NodeId::Object, Some(key)) => Cow::Owned(object_id(key)),
            (NodeId::Source, Some(key)) => Cow::Owned(format!("{SOURCE_PREFIX}{}", object_id(key))),
            (_, None) => Cow::Borrowed(""),
        }
    }

    /// Whether [`Node::id`] is `id`, without building it.
    pub fn has_id(&self, id: &str) -> bool {
        match (&self.ident, &self.key) {
            (NodeId::Given(own), _) => **own == *id,
            (NodeId::Object, Some(key)) => build::is_object_id(key, id),
            (NodeId::Source, Some(key)) => id
                .strip_prefix(SOURCE_PREFIX)
                .is_some_and(|rest| build::is_object_id(key, rest)),
            (_, None) => id.is_empty(),
        }
    }

    /// Give the node another id.
    pub fn set_id(&mut self, id: String) {
        self.ident = NodeId::Given(id.into_boxed_str());
    }

    /// The kind (`HelmRelease`, `Deployment`) or the group title.
    pub fn kind_label(&self) -> &str {
        match (&self.title, &self.key) {
            (Some(title), _) => title,
            (None, Some(key)) => key.kind_name(),
            (None, None) => "",
        }
    }

    /// The object's namespace (empty for groups and cluster-scoped objects).
    pub fn namespace(&self) -> &str {
        self.key.as_ref().map_or("", |k| &k.namespace)
    }

    /// The object's name (empty for groups).
    pub fn name(&self) -> &str {
        self.key.as_ref().map_or("", |k| &k.name)
    }

    /// The message the row shows: the first line of the health message unless set
    /// otherwise.
    pub fn message(&self) -> &str {
        match &self.note {
            Some(note) => note,
            None => self.health.first_line(),
        }
    }

    /// Show another message than the health's first line.
    pub fn set_message(&mut self, message: String) {
        self.note = Some(message.into_boxed_str());
    }

    /// Seconds since the last Ready transition.
    pub fn age_seconds(&self, now: Timestamp) -> Option<i64> {
        self.health.age_seconds(now)
    }

    /// `Kind/namespace/name` (`Kind/name` when cluster-scoped), or the group title.
    pub fn label(&self) -> String {
        match &self.key {
            Some(key) => key.to_string(),
            None => self.kind_label().to_string(),
        }
    }

    /// Whether the node stands for an object (not a group header).
    pub fn is_object(&self) -> bool {
        self.key.is_some()
    }

    /// Whether the node counts towards summaries (objects, except source lines).
    pub(crate) fn counts_itself(&self) -> bool {
        self.key.is_some() && self.relation != Relation::Source && !self.cycle
    }

    /// The Flux object below this node (not itself) with the worst problem: failing before
    /// blocked before cycle members and so on (the order of group states); the first one
    /// depth first among equals. `None` when nothing below has a problem.
    pub fn worst_problem(&self) -> Option<&Node> {
        fn walk<'a>(nodes: &'a [Node], best: &mut Option<(u8, &'a Node)>) {
            for n in nodes.iter().filter(|n| n.relation != Relation::Source) {
                let flux = n.key.as_ref().is_some_and(|k| k.flux_kind().is_some());
                if flux && n.health.health.is_problem() {
                    let rank = build::severity(&n.health);
                    if best.is_none_or(|(r, _)| rank > r) {
                        *best = Some((rank, n));
                    }
                }
                walk(&n.children, best);
            }
        }
        let mut best = None;
        walk(&self.children, &mut best);
        best.map(|(_, n)| n)
    }
}

/// A node's children: shared, immutable once built (a leaf holds no allocation).
#[derive(Clone, Debug, Default)]
pub struct Children(Option<Arc<[Node]>>);

impl Children {
    /// Whether both are the same shared subtree (not only equal).
    pub fn same(&self, other: &Children) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl std::ops::Deref for Children {
    type Target = [Node];

    fn deref(&self) -> &[Node] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl From<Vec<Node>> for Children {
    fn from(nodes: Vec<Node>) -> Children {
        Children((!nodes.is_empty()).then(|| Arc::from(nodes)))
    }
}

impl<'a> IntoIterator for &'a Children {
    type Item = &'a Node;
    type IntoIter = std::slice::Iter<'a, Node>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Children {
    /// Shared subtrees are equal without walking them.
    fn eq(&self, other: &Children) -> bool {
        self.same(other) || **self == **other
    }
}

/// The whole tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    pub roots: Vec<Node>,
}

impl Tree {
    /// States of every counted node in the tree (for the header).
    pub fn totals(&self) -> StateCounts {
        let mut total = StateCounts::default();
        for root in &self.roots {
            total.add_node(root);
            total.merge(&root.summary());
        }
        total
    }

    /// The node at a path of ids.
    pub fn find(&self, path: &[String]) -> Option<&Node> {
        let (first, rest) = path.split_first()?;
        let mut node = self.roots.iter().find(|n| n.has_id(first))?;
        for id in rest {
            node = node.children.iter().find(|n| n.has_id(id))?;
        }
        Some(node)
    }

    /// The path of the first node (depth first) showing this object.
    pub fn path_of(&self, key: &ObjectKey) -> Option<Vec<String>> {
        fn walk<'a>(nodes: &'a [Node], key: &ObjectKey, path: &mut Vec<&'a Node>) -> bool {
            for n in nodes {
                path.push(n);
                if n.key.as_ref() == Some(key) || walk(&n.children, key, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        walk(&self.roots, key, &mut path)
            .then(|| path.iter().map(|n| n.id().into_owned()).collect())
    }

    /// Number of nodes in the tree.
    pub fn len(&self) -> usize {
        fn count(nodes: &[Node]) -> usize {
            nodes.iter().map(|n| 1 + count(&n.children)).sum()
        }
        count(&self.roots)
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}
