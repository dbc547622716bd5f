//! [`analyze`]: verdicts, root causes and blast radius for every object of a snapshot,
//! computed over the components in dependency order (each object after everything it
//! reads), so the whole analysis is linear in the size of the graph.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::health::{Health, HealthInfo, reasons};
use crate::domain::tree::Snapshot;

use super::checks::{Check, Outcome};
use super::graph::{Edge, Graph};
use super::loops::Loops;
use super::verdict::{State, node_state};
use super::{
    Cycle, DEPENDENCY_CYCLE, Hop, ObjectVerdict, RootCause, RootGroup, Rule, Verdict, Via, Why,
    is_workload, loop_text, short_name,
};

/// Loops longer than this many objects are abbreviated in one-line messages.
const LOOP_TEXT_LIMIT: usize = 8;

/// The dependency analysis of one snapshot. Build it with [`analyze`].
pub struct Analysis {
    keys: Vec<ObjectKey>,
    index: HashMap<ObjectKey, usize>,
    edges: Vec<Vec<Edge>>,
    reverse: Vec<Vec<usize>>,
    states: Vec<State>,
    loops: Loops,
    cycles: Vec<Cycle>,
    /// Precomputed blast radius of the objects that are root causes.
    blocks: HashMap<usize, usize>,
}

/// Analyse every Flux object of the snapshot (O(V+E), plus one reverse walk per object
/// that fails on its own account, for its blast radius).
pub fn analyze(snap: &Snapshot) -> Analysis {
    let graph = Graph::build(snap);
    let components = graph.components();
    let loops = Loops::new(&graph, &components);
    let mut states: Vec<Option<State>> = (0..graph.len()).map(|_| None).collect();
    for component in &components {
        for &v in component {
            let state = node_state(&graph, snap, &loops, &states, v);
            states[v] = Some(state);
        }
    }
    let states: Vec<State> = states
        .into_iter()
        .map(|s| {
            s.unwrap_or_else(|| State {
                verdict: Verdict::Progressing,
                health: HealthInfo::not_loaded(),
                checks: Vec::new(),
                chosen: None,
                root: None,
            })
        })
        .collect();
    let mut cycles: Vec<Cycle> = loops
        .members
        .iter()
        .enumerate()
        .map(|(id, members)| Cycle {
            members: members.iter().map(|&m| graph.keys[m].clone()).collect(),
            path: loops
                .through(&graph.edges, &graph.reverse, loops.start(id))
                .unwrap_or_default()
                .into_iter()
                .map(|m| graph.keys[m].clone())
                .collect(),
        })
        .collect();
    cycles.sort_by(|a, b| a.members.cmp(&b.members));
    let mut analysis = Analysis {
        keys: graph.keys,
        index: graph.index,
        edges: graph.edges,
        reverse: graph.reverse,
        states,
        loops,
        cycles,
        blocks: HashMap::new(),
    };
    analysis.precompute_blocks();
    analysis
}

impl Analysis {
    fn idx(&self, key: &ObjectKey) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The verdict of one object (`None` when the object is neither in the snapshot nor
    /// referenced by anything in it).
    pub fn verdict(&self, key: &ObjectKey) -> Option<Verdict> {
        self.idx(key).map(|i| self.states[i].verdict)
    }

    /// The root cause of an object's state (see [`Why::root`]).
    pub fn root(&self, key: &ObjectKey) -> Option<RootCause> {
        let i = self.idx(key)?;
        self.states[i].root.map(|r| self.root_cause(r))
    }

    /// Every dependency cycle (strongly connected components with a loop, self-dependencies
    /// included), sorted by their first member.
    pub fn cycles(&self) -> &[Cycle] {
        &self.cycles
    }

    /// How many Kustomizations and HelmReleases wait on this object, directly or
    /// transitively (its blast radius). 0 for unknown keys.
    pub fn blocks(&self, key: &ObjectKey) -> usize {
        let Some(i) = self.idx(key) else { return 0 };
        match self.blocks.get(&i) {
            Some(&n) => n,
            None => self.downstream_of(&[i]).len(),
        }
    }

    /// The blast radius when it was computed up front (objects that are root causes:
    /// failing, suspended, missing or in a cycle); `0` otherwise. Cheap.
    pub fn known_blocks(&self, key: &ObjectKey) -> usize {
        self.idx(key)
            .and_then(|i| self.blocks.get(&i).copied())
            .unwrap_or(0)
    }

    /// The state to show for an object (see [`ObjectVerdict::state`]); `None` for keys not
    /// in the analysis.
    pub fn tree_health(&self, key: &ObjectKey) -> Option<HealthInfo> {
        let i = self.idx(key)?;
        match self.own_state_shown(i) {
            Some(own) => Some(own.clone()),
            None => self.object_verdict(key).map(|v| v.state),
        }
    }

    /// Whether [`Analysis::tree_health`] is `info`, without building it when the object
    /// shows its own state; `None` for keys not in the analysis.
    pub fn tree_health_is(&self, key: &ObjectKey, info: &HealthInfo) -> Option<bool> {
        let i = self.idx(key)?;
        match self.own_state_shown(i) {
            Some(own) => Some(own == info),
            None => self.object_verdict(key).map(|v| v.state == *info),
        }
    }

    /// The object's own state when its verdict shows it unchanged (no root cause or loop
    /// to name): the last arm of [`Analysis::object_verdict`].
    fn own_state_shown(&self, i: usize) -> Option<&HealthInfo> {
        let s = &self.states[i];
        match s.verdict {
            Verdict::Blocked | Verdict::Waiting | Verdict::Cycle => None,
            Verdict::Progressing if s.health.health == Health::Blocked => None,
            _ => Some(&s.health),
        }
    }

    /// The one verdict on an object (see [`super::verdict_of`]).
    pub(super) fn object_verdict(&self, key: &ObjectKey) -> Option<ObjectVerdict> {
        let i = self.idx(key)?;
        let s = &self.states[i];
        let since = s.health.since.clone();
        let own = &s.health;
        let root = match s.verdict {
            Verdict::Blocked | Verdict::Waiting | Verdict::Cycle => {
                s.root.map(|r| self.root_cause(r))
            }
            _ => None,
        };
        let state = match (s.verdict, &root) {
            (Verdict::Blocked | Verdict::Waiting, Some(root)) => {
                // A source keeps its own Ready reason (NoSourceArtifact, ChartPullFailed);
                // a Kustomization or HelmRelease the reason its controller gives for
                // waiting on that check.
                let reason = if !is_workload(key) && !own.reason.is_empty() {
                    own.reason.as_str()
                } else {
                    s.chosen
                        .and_then(|c| s.checks.get(c))
                        .map(|c| hop_reason(key, c))
                        .unwrap_or(reasons::DEPENDENCY_NOT_READY)
                };
                let (health, word) = if s.verdict == Verdict::Blocked {
                    (Health::Blocked, "Blocked by")
                } else {
                    (Health::Pending, "Waiting for")
                };
                let message = format!("{word} {}", root.describe(Some(key)));
                HealthInfo::new(health, reason, &message, since)
            }
            // Every member names the same loop: the cycle is the root cause.
            (Verdict::Cycle, _) => {
                let line = match &root {
                    Some(r) if r.cycle.is_some() => r.message.clone(),
                    _ => self.loop_line(i, false),
                };
                let message = format!("Dependency cycle: {line}");
                HealthInfo::new(Health::Cycle, DEPENDENCY_CYCLE, &message, since)
            }
            // The controller still reports the dependency it waited on, but every check
            // passes now: it is about to run again.
            (Verdict::Progressing, _) if own.health == Health::Blocked => {
                HealthInfo::new(Health::Pending, &own.reason, &own.message, since)
            }
            _ => own.clone(),
        };
        Some(ObjectVerdict {
            key: key.clone(),
            verdict: s.verdict,
            state,
            root_cause: root,
            blocks: self.blocks.get(&i).copied().unwrap_or(0),
        })
    }

    /// Root causes and the Blocked, Waiting or Cycle objects that share them, most
    /// dependents first (then by root key).
    pub fn root_groups(&self) -> Vec<RootGroup> {
        let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, s) in self.states.iter().enumerate() {
            if matches!(
                s.verdict,
                Verdict::Blocked | Verdict::Waiting | Verdict::Cycle
            ) && let Some(r) = s.root
                && r != i
            {
                by_root.entry(r).or_default().push(i);
            }
        }
        let mut groups: Vec<RootGroup> = by_root
            .into_iter()
            .map(|(r, members)| {
                let mut dependents: Vec<ObjectKey> =
                    members.into_iter().map(|m| self.keys[m].clone()).collect();
                dependents.sort();
                RootGroup {
                    root: self.root_cause(r),
                    dependents,
                }
            })
            .collect();
        groups.sort_by(|a, b| {
            b.dependents
                .len()
                .cmp(&a.dependents.len())
                .then_with(|| a.root.key.cmp(&b.root.key))
        });
        groups
    }

    /// Why an object is in its state; `None` for keys not in the analysis.
    pub fn why(&self, key: &ObjectKey) -> Option<Why> {
        let i = self.idx(key)?;
        let s = &self.states[i];
        let root = s.root.map(|r| self.root_cause(r));
        let other_roots = if matches!(s.verdict, Verdict::Blocked | Verdict::Waiting) {
            self.all_roots(i)
                .into_iter()
                .filter(|&r| Some(r) != s.root)
                .map(|r| self.root_cause(r))
                .collect()
        } else {
            Vec::new()
        };
        let cycle = (s.verdict == Verdict::Cycle)
            .then(|| self.loop_keys(i))
            .flatten();
        let shown = self.object_verdict(key)?;
        Some(Why {
            key: key.clone(),
            verdict: s.verdict,
            state: shown.state,
            health: s.health.clone(),
            hops: self.path(i),
            root,
            other_roots,
            cycle,
            unevaluated: s
                .checks
                .iter()
                .filter(|c| c.rule == Rule::ReadyExprUnevaluated && c.outcome == Outcome::Unknown)
                .map(|c| self.hop(i, c))
                .collect(),
            upstream: self
                .upstream_of(i)
                .into_iter()
                .map(|u| self.keys[u].clone())
                .collect(),
            downstream: self
                .downstream_of(&[i])
                .into_iter()
                .map(|d| self.keys[d].clone())
                .collect(),
        })
    }

    fn hop(&self, from: usize, c: &Check) -> Hop {
        Hop {
            from: self.keys[from].clone(),
            to: self.keys[c.to].clone(),
            via: c.via,
            rule: c.rule,
            message: c.message.clone(),
            ready_expr: c.ready_expr.clone(),
        }
    }

    /// The hops from `i` to its root cause; for a cycle, around the loop.
    fn path(&self, i: usize) -> Vec<Hop> {
        let mut hops = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = i;
        while seen.insert(cur) {
            let s = &self.states[cur];
            if s.verdict == Verdict::Cycle {
                hops.extend(self.loop_hops(cur));
                break;
            }
            if let Some(c) = s.chosen.and_then(|c| s.checks.get(c)) {
                hops.push(self.hop(cur, c));
                cur = c.to;
                continue;
            }
            if cur == i && s.verdict == Verdict::Ready {
                hops.extend(
                    s.checks
                        .iter()
                        .filter(|c| c.outcome == Outcome::Fail)
                        .map(|c| self.hop(cur, c)),
                );
            }
            break;
        }
        hops
    }

    fn loop_hops(&self, x: usize) -> Vec<Hop> {
        let Some(path) = self.loop_nodes(x) else {
            return Vec::new();
        };
        path.windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                let failing = self.states[a]
                    .checks
                    .iter()
                    .find(|c| c.to == b && c.via == Via::DependsOn && c.outcome == Outcome::Fail);
                match failing {
                    Some(c) => self.hop(a, c),
                    None => Hop {
                        from: self.keys[a].clone(),
                        to: self.keys[b].clone(),
                        via: Via::DependsOn,
                        rule: Rule::Cycle,
                        message: format!(
                            "dependency '{}/{}' is part of a dependency cycle",
                            self.keys[b].namespace, self.keys[b].name
                        ),
                        ready_expr: None,
                    },
                }
            })
            .collect()
    }

    fn loop_nodes(&self, x: usize) -> Option<Vec<usize>> {
        self.loops.through(&self.edges, &self.reverse, x)
    }

    fn loop_keys(&self, x: usize) -> Option<Vec<ObjectKey>> {
        self.loop_nodes(x)
            .map(|p| p.into_iter().map(|n| self.keys[n].clone()).collect())
    }

    /// The loop through `x` on one line, abbreviated when long.
    fn loop_line(&self, x: usize, ascii: bool) -> String {
        let Some(path) = self.loop_keys(x) else {
            return String::new();
        };
        if path.len() <= LOOP_TEXT_LIMIT + 1 {
            return loop_text(&path, ascii);
        }
        let ellipsis = if ascii { "..." } else { "…" };
        let arrow = if ascii { " -> " } else { " → " };
        let head = loop_text(&path[..LOOP_TEXT_LIMIT], ascii);
        format!(
            "{head}{arrow}{ellipsis}{arrow}{} ({} objects in the loop)",
            short_name(&path[0], Some(&path[0])),
            path.len() - 1
        )
    }

    fn root_cause(&self, r: usize) -> RootCause {
        let s = &self.states[r];
        if s.verdict == Verdict::Cycle {
            return RootCause {
                key: self.keys[r].clone(),
                verdict: Verdict::Cycle,
                health: Health::Cycle,
                reason: DEPENDENCY_CYCLE.to_string(),
                message: self.loop_line(r, false),
                cycle: self.loop_keys(r),
            };
        }
        RootCause {
            key: self.keys[r].clone(),
            verdict: s.verdict,
            health: s.health.health,
            reason: s.health.reason.to_string(),
            message: s.health.message.to_string(),
            cycle: None,
        }
    }

    /// Every root reached from `i` through failing checks.
    fn all_roots(&self, i: usize) -> Vec<usize> {
        let mut roots = Vec::new();
        let mut seen = HashSet::from([i]);
        let mut queue = VecDeque::from([i]);
        while let Some(u) = queue.pop_front() {
            for c in self.states[u]
                .checks
                .iter()
                .filter(|c| c.outcome == Outcome::Fail)
            {
                let t = &self.states[c.to];
                let next = match t.verdict {
                    Verdict::Blocked | Verdict::Waiting => {
                        if seen.insert(c.to) {
                            queue.push_back(c.to);
                        }
                        continue;
                    }
                    Verdict::Cycle => t.root.unwrap_or(c.to),
                    _ => c.to,
                };
                if !roots.contains(&next) {
                    roots.push(next);
                }
            }
        }
        roots
    }

    fn upstream_of(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.keys.len()];
        seen[i] = true;
        let mut out = Vec::new();
        let mut queue = VecDeque::from([i]);
        while let Some(u) = queue.pop_front() {
            for e in &self.edges[u] {
                if !std::mem::replace(&mut seen[e.to], true) {
                    out.push(e.to);
                    queue.push_back(e.to);
                }
            }
        }
        out
    }

    /// Workloads reachable backwards from `starts`, excluding the starts themselves.
    fn downstream_of(&self, starts: &[usize]) -> Vec<usize> {
        let mut seen = vec![false; self.keys.len()];
        for &s in starts {
            seen[s] = true;
        }
        let mut out = Vec::new();
        let mut queue: VecDeque<usize> = starts.iter().copied().collect();
        while let Some(u) = queue.pop_front() {
            for &d in &self.reverse[u] {
                if !std::mem::replace(&mut seen[d], true) {
                    if is_workload(&self.keys[d]) {
                        out.push(d);
                    }
                    queue.push_back(d);
                }
            }
        }
        out
    }

    /// Blast radius of every root cause with dependents; one walk per cycle for all its
    /// members.
    fn precompute_blocks(&mut self) {
        let mut done_cycles = HashSet::new();
        for i in 0..self.states.len() {
            if self.reverse[i].is_empty()
                || !matches!(
                    self.states[i].verdict,
                    Verdict::Failing | Verdict::Suspended | Verdict::NotFound | Verdict::Cycle
                )
            {
                continue;
            }
            let id = self.loops.cycle_of[i];
            if id == usize::MAX {
                let n = self.downstream_of(&[i]).len();
                self.blocks.insert(i, n);
            } else if done_cycles.insert(id) {
                let members = self.loops.members[id].clone();
                let outside = self.downstream_of(&members).len();
                let inside = members
                    .iter()
                    .filter(|&&m| is_workload(&self.keys[m]))
                    .count();
                for m in members {
                    let own = usize::from(is_workload(&self.keys[m]));
                    self.blocks.insert(m, outside + inside - own);
                }
            }
        }
    }
}

/// The reason a Blocked or Waiting object shows, after the check it waits on.
fn hop_reason(key: &ObjectKey, c: &Check) -> &'static str {
    match (c.via, key.flux_kind(), c.rule) {
        (Via::DependsOn, _, _) => reasons::DEPENDENCY_NOT_READY,
        (Via::Source, Some(FluxKind::HelmRelease), Rule::NotFound) => "ArtifactFailed",
        (Via::Source, Some(FluxKind::HelmRelease), _) => "SourceNotReady",
        (Via::Source, Some(FluxKind::Kustomization), _) => "ArtifactFailed",
        (Via::Source, _, _) => "SourceNotReady",
    }
}
