//! Spelling out dependency cycles: for every strongly connected component with a cycle,
//! two breadth-first trees rooted at its smallest member `c` (paths from `c` and paths to
//! `c`), so the loop through any member `x` is `x → … → c → … → x`, found in time linear
//! in the loop's length.

use super::Via;
use super::graph::{Edge, Graph, self_dependent};

const NONE: usize = usize::MAX;

pub(super) struct Loops {
    /// Component id of every node, `NONE` for nodes in no cycle.
    pub cycle_of: Vec<usize>,
    /// Per cycle: its members sorted by key, the first one being `c`.
    pub members: Vec<Vec<usize>>,
    /// Previous node on the shortest path `c → … → x`.
    from_start: Vec<usize>,
    /// Next node on the shortest path `x → … → c`.
    to_start: Vec<usize>,
}

impl Loops {
    pub fn new(graph: &Graph, components: &[Vec<usize>]) -> Self {
        let n = graph.len();
        let mut loops = Loops {
            cycle_of: vec![NONE; n],
            members: Vec::new(),
            from_start: vec![NONE; n],
            to_start: vec![NONE; n],
        };
        for component in components {
            let cyclic = component.len() > 1 || self_dependent(&graph.edges, component[0]);
            if !cyclic {
                continue;
            }
            let id = loops.members.len();
            let mut members = component.clone();
            members.sort_by(|a, b| graph.keys[*a].cmp(&graph.keys[*b]));
            for &m in &members {
                loops.cycle_of[m] = id;
            }
            loops.bfs(graph, members[0], id);
            loops.members.push(members);
        }
        loops
    }

    fn bfs(&mut self, graph: &Graph, start: usize, id: usize) {
        let mut queue = std::collections::VecDeque::from([start]);
        self.from_start[start] = start;
        while let Some(v) = queue.pop_front() {
            for e in &graph.edges[v] {
                if e.via == Via::DependsOn
                    && self.cycle_of[e.to] == id
                    && self.from_start[e.to] == NONE
                {
                    self.from_start[e.to] = v;
                    queue.push_back(e.to);
                }
            }
        }
        self.to_start[start] = start;
        queue.push_back(start);
        while let Some(v) = queue.pop_front() {
            for &u in &graph.reverse[v] {
                if self.cycle_of[u] == id
                    && self.to_start[u] == NONE
                    && graph.edges[u]
                        .iter()
                        .any(|e| e.to == v && e.via == Via::DependsOn)
                {
                    self.to_start[u] = v;
                    queue.push_back(u);
                }
            }
        }
    }

    /// The first member (`c`) of the cycle `id`.
    pub fn start(&self, id: usize) -> usize {
        self.members[id][0]
    }

    /// The closed loop through `x` (`[x, …, x]`), `None` when `x` is in no cycle.
    pub fn through(
        &self,
        edges: &[Vec<Edge>],
        reverse: &[Vec<usize>],
        x: usize,
    ) -> Option<Vec<usize>> {
        let id = *self.cycle_of.get(x)?;
        if id == NONE {
            return None;
        }
        let c = self.start(id);
        let mut path = vec![x];
        if x != c {
            let mut cur = x;
            while cur != c {
                cur = self.to_start[cur];
                if cur == NONE {
                    return None;
                }
                path.push(cur);
            }
            path.extend(self.path_from_start(x)?);
            return Some(path);
        }
        // x is c: close the loop through the predecessor of c nearest to it.
        if self_dependent(edges, c) {
            path.push(c);
            return Some(path);
        }
        let pred = reverse[c]
            .iter()
            .copied()
            .filter(|&u| {
                self.cycle_of[u] == id
                    && edges[u]
                        .iter()
                        .any(|e| e.to == c && e.via == Via::DependsOn)
            })
            .min_by_key(|&u| self.depth_from_start(u))?;
        path.extend(self.path_from_start(pred)?);
        path.push(c);
        Some(path)
    }

    /// `c → … → x` without `c`, ending with `x`.
    fn path_from_start(&self, x: usize) -> Option<Vec<usize>> {
        let mut back = Vec::new();
        let mut cur = x;
        while self.from_start[cur] != cur {
            back.push(cur);
            cur = self.from_start[cur];
            if cur == NONE {
                return None;
            }
        }
        back.reverse();
        Some(back)
    }

    fn depth_from_start(&self, x: usize) -> usize {
        let mut depth = 0;
        let mut cur = x;
        while cur != NONE && self.from_start[cur] != cur {
            cur = self.from_start[cur];
            depth += 1;
        }
        depth
    }
}
