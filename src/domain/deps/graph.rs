//! The graph: one node per Flux object (plus a placeholder for every referenced object
//! that is absent), edges from an object to what it reads, in the order its controller
//! checks them, and the strongly connected components (Tarjan, iterative).

use std::collections::HashMap;

use crate::domain::flux::{FluxKind, FluxObject, ObjectKey};
use crate::domain::tree::Snapshot;

use super::Via;

/// An edge from a dependent to what it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Edge {
    pub to: usize,
    pub via: Via,
    /// Index into the dependent's `spec.dependsOn` (for `readyExpr`).
    pub dep: Option<usize>,
}

pub(super) struct Graph<'a> {
    pub keys: Vec<ObjectKey>,
    pub index: HashMap<ObjectKey, usize>,
    /// `None` for placeholders of absent objects.
    pub objects: Vec<Option<&'a FluxObject>>,
    pub edges: Vec<Vec<Edge>>,
    /// Dependents of each node (deduplicated).
    pub reverse: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    pub fn build(snap: &'a Snapshot) -> Self {
        let mut entries: Vec<(&ObjectKey, &FluxObject)> =
            snap.flux.iter().map(|(k, o)| (k, &**o)).collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut graph = Graph {
            keys: Vec::with_capacity(entries.len()),
            index: HashMap::with_capacity(entries.len()),
            objects: Vec::with_capacity(entries.len()),
            edges: Vec::with_capacity(entries.len()),
            reverse: Vec::new(),
        };
        for (key, obj) in &entries {
            graph.add(key, Some(obj));
        }
        for (i, (_, obj)) in entries.iter().enumerate() {
            let sources: Vec<Edge> = obj
                .source_refs()
                .into_iter()
                .map(|k| Edge {
                    to: graph.node(&k),
                    via: Via::Source,
                    dep: None,
                })
                .collect();
            let own_ns = obj.namespace();
            let deps: Vec<Edge> = obj
                .depends_on()
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.name.is_empty())
                .map(|(n, d)| {
                    let key = ObjectKey::flux(obj.kind(), d.namespace_or(own_ns), &d.name);
                    Edge {
                        to: graph.node(&key),
                        via: Via::DependsOn,
                        dep: Some(n),
                    }
                })
                .collect();
            // kustomize-controller resolves the source before the dependencies;
            // helm-controller checks the dependencies first (flux-facts §2.2, §3.6).
            let ordered = if obj.kind() == FluxKind::Kustomization {
                sources.into_iter().chain(deps).collect()
            } else {
                deps.into_iter().chain(sources).collect()
            };
            graph.edges[i] = ordered;
        }
        let mut reverse = vec![Vec::new(); graph.keys.len()];
        for (from, edges) in graph.edges.iter().enumerate() {
            for e in edges {
                if reverse[e.to].last() != Some(&from) {
                    reverse[e.to].push(from);
                }
            }
        }
        graph.reverse = reverse;
        graph
    }

    fn add(&mut self, key: &ObjectKey, obj: Option<&'a FluxObject>) -> usize {
        let i = self.keys.len();
        self.keys.push(key.clone());
        self.index.insert(key.clone(), i);
        self.objects.push(obj);
        self.edges.push(Vec::new());
        i
    }

    /// The node of a key, adding a placeholder when the object is absent.
    fn node(&mut self, key: &ObjectKey) -> usize {
        match self.index.get(key) {
            Some(&i) => i,
            None => self.add(key, None),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Strongly connected components, each emitted after every component it reads from
    /// (dependencies first). Iterative, so long chains do not exhaust the stack.
    pub fn components(&self) -> Vec<Vec<usize>> {
        const UNSEEN: usize = usize::MAX;
        let n = self.len();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<usize> = Vec::new();
        let mut out = Vec::new();
        let mut next = 0usize;
        // (node, next edge position)
        let mut work: Vec<(usize, usize)> = Vec::new();
        for start in 0..n {
            if index[start] != UNSEEN {
                continue;
            }
            work.push((start, 0));
            while let Some(&mut (v, ref mut pos)) = work.last_mut() {
                if *pos == 0 && index[v] == UNSEEN {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                }
                if let Some(edge) = self.edges[v].get(*pos) {
                    *pos += 1;
                    let w = edge.to;
                    if index[w] == UNSEEN {
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(component);
                }
            }
        }
        out
    }
}

/// Whether node `i` has a dependsOn edge to itself.
pub(super) fn self_dependent(edges: &[Vec<Edge>], i: usize) -> bool {
    edges[i]
        .iter()
        .any(|e| e.to == i && e.via == Via::DependsOn)
}
