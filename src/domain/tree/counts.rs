//! Per-state counts of nodes: the summary of a subtree and the header totals.

use serde::Serialize;

use super::Node;
use crate::domain::health::{Health, HealthInfo};

/// How many objects are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateCounts {
    /// Indexed like [`Health::ALL`]; not-loaded objects are counted in `not_loaded` only, and
    /// objects never watched (Secrets) not at all.
    pub by_health: [u32; 10],
    pub not_loaded: u32,
}

fn index(h: Health) -> usize {
    Health::ALL.iter().position(|x| *x == h).unwrap_or(0)
}

impl StateCounts {
    pub fn get(&self, h: Health) -> u32 {
        self.by_health[index(h)]
    }

    pub fn add(&mut self, info: &HealthInfo) {
        if info.is_not_watched() {
            return;
        }
        if info.is_not_loaded() {
            self.not_loaded += 1;
        } else {
            self.by_health[index(info.health)] += 1;
        }
    }

    pub(crate) fn add_node(&mut self, node: &Node) {
        if node.counts_itself() {
            self.add(&node.health);
        }
    }

    pub fn merge(&mut self, other: &StateCounts) {
        for (a, b) in self.by_health.iter_mut().zip(other.by_health) {
            *a += b;
        }
        self.not_loaded += other.not_loaded;
    }

    /// Objects in a problem state ([`Health::is_problem`]).
    pub fn failing(&self) -> u32 {
        Health::ALL
            .into_iter()
            .filter(|h| h.is_problem())
            .map(|h| self.get(h))
            .sum()
    }

    pub fn total(&self) -> u32 {
        self.by_health.iter().sum::<u32>() + self.not_loaded
    }

    /// A short description such as `1 failing, 2 blocked, 1 reconciling, 1 suspended`;
    /// empty when everything is ready. Blocked objects and cycle members are counted as
    /// such, not as failing (they fail only because of their root cause).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let failing = self.failing()
            - self.get(Health::Blocked)
            - self.get(Health::Cycle)
            - self.get(Health::Drifted);
        if failing > 0 {
            parts.push(format!("{failing} failing"));
        }
        let blocked = self.get(Health::Blocked);
        if blocked > 0 {
            parts.push(format!("{blocked} blocked"));
        }
        let cycle = self.get(Health::Cycle);
        if cycle > 0 {
            parts.push(format!("{cycle} in a cycle"));
        }
        let drifted = self.get(Health::Drifted);
        if drifted > 0 {
            parts.push(format!("{drifted} drifted"));
        }
        for h in [
            Health::Reconciling,
            Health::Pending,
            Health::Suspended,
            Health::Deleting,
        ] {
            let n = self.get(h);
            if n > 0 {
                parts.push(format!("{n} {}", h.word().to_lowercase()));
            }
        }
        if self.not_loaded > 0 {
            parts.push(format!("{} not loaded", self.not_loaded));
        }
        parts.join(", ")
    }
}
