//! Narrowing the tree: problems mode and the `/` filter (`text`, `ns:`, `kind:`, `state:`).
//!
//! A kept node keeps its ancestors; it keeps only those children that are kept themselves.
//! Summaries keep describing the whole subtree.

use crate::domain::flux::{FluxKind, ObjectKind};
use crate::domain::health::Health;

use super::{Children, Node, Tree};

/// A parsed filter. Terms of different types must all match; several terms of one type
/// match when any of them does (`state:failed state:blocked`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Lower-case substrings of the name or namespace.
    pub text: Vec<String>,
    /// Exact namespaces (case-insensitive).
    pub namespaces: Vec<String>,
    pub kinds: Vec<KindTerm>,
    pub states: Vec<Health>,
    /// `state:problem`: any problem state.
    pub problems: bool,
}

/// A `kind:` term: a Flux kind (any of its names) or another kind name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KindTerm {
    Flux(FluxKind),
    Name(String),
}

/// A filter that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "unknown state {0:?}: use one of ready, failed, reconciling, suspended, blocked, cycle, drifted, pending, unknown, deleting, problem"
    )]
    UnknownState(String),
    #[error("empty value after {0:?}")]
    EmptyValue(String),
}

impl Filter {
    /// Parse whitespace-separated terms.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        for term in input.split_whitespace() {
            let (prefix, value) = match term.split_once(':') {
                Some((p, v))
                    if matches!(
                        p.to_ascii_lowercase().as_str(),
                        "ns" | "namespace" | "kind" | "state"
                    ) =>
                {
                    (p.to_ascii_lowercase(), v)
                }
                _ => {
                    f.text.push(term.to_lowercase());
                    continue;
                }
            };
            if value.is_empty() {
                return Err(FilterError::EmptyValue(format!("{prefix}:")));
            }
            match prefix.as_str() {
                "ns" | "namespace" => f.namespaces.push(value.to_lowercase()),
                "kind" => f.kinds.push(match FluxKind::parse(value) {
                    Some(k) => KindTerm::Flux(k),
                    None => KindTerm::Name(value.to_lowercase()),
                }),
                _ => {
                    if matches!(value.to_ascii_lowercase().as_str(), "problem" | "problems") {
                        f.problems = true;
                    } else {
                        f.states.push(
                            Health::parse(value)
                                .ok_or_else(|| FilterError::UnknownState(value.to_string()))?,
                        );
                    }
                }
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether this node matches every term (group nodes never match).
    pub fn matches(&self, node: &Node) -> bool {
        let Some(key) = &node.key else {
            return false;
        };
        // Text matches the name, the namespace, `namespace/name` and the kind.
        let haystack = if self.text.is_empty() {
            String::new()
        } else {
            format!("{} {}/{}", key.kind.kind(), key.namespace, key.name).to_lowercase()
        };
        let text_ok = self.text.iter().all(|t| haystack.contains(t.as_str()));
        let ns_ok = self.namespaces.is_empty()
            || self
                .namespaces
                .iter()
                .any(|ns| key.namespace.eq_ignore_ascii_case(ns));
        let kind_ok = self.kinds.is_empty()
            || self.kinds.iter().any(|k| match (k, &key.kind) {
                (KindTerm::Flux(f), ObjectKind::Flux(g)) => f == g,
                (KindTerm::Name(n), kind) => kind.kind().eq_ignore_ascii_case(n),
                _ => false,
            });
        let state_ok = (self.states.is_empty() && !self.problems)
            || self.states.contains(&node.health.health)
            || (self.problems && node.health.is_problem());
        text_ok && ns_ok && kind_ok && state_ok
    }
}

fn retain(nodes: &[Node], keep: &dyn Fn(&Node) -> bool) -> Vec<Node> {
    nodes
        .iter()
        .filter_map(|n| {
            let children = retain(&n.children, keep);
            if keep(n) || !children.is_empty() {
                let mut kept = n.clone_shallow();
                kept.children = children.into();
                Some(kept)
            } else {
                None
            }
        })
        .collect()
}

impl Node {
    /// A copy without children.
    pub fn clone_shallow(&self) -> Node {
        Node {
            ident: self.ident.clone(),
            key: self.key.clone(),
            relation: self.relation,
            title: self.title.clone(),
            health: self.health.clone(),
            revision: self.revision.clone(),
            note: self.note.clone(),
            cycle: self.cycle,
            blocks: self.blocks,
            children: Children::default(),
            summary: self.summary.clone(),
        }
    }
}

impl Tree {
    /// Only unhealthy objects ([`HealthInfo::is_problem`](crate::domain::health::HealthInfo::is_problem))
    /// and their ancestors.
    pub fn problems(&self) -> Tree {
        Tree {
            roots: retain(&self.roots, &|n| n.key.is_some() && n.health.is_problem()),
        }
    }

    /// Only nodes matching the filter and their ancestors (the whole tree when the filter is
    /// empty).
    pub fn filtered(&self, filter: &Filter) -> Tree {
        if filter.is_empty() {
            return self.clone();
        }
        Tree {
            roots: retain(&self.roots, &|n| filter.matches(n)),
        }
    }
}
