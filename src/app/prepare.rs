//! The part of taking a new snapshot that does not need the UI state: the dependency
//! analysis, the tree and the header counts. Pure, so the runtime can do it off the UI task
//! on a large estate and hand the result in as [`Msg::Prepared`](super::msg::Msg::Prepared).

use std::sync::Arc;

use crate::domain::deps::{Analysis, analyze};
use crate::domain::health::flux_health;
use crate::domain::tree::{Snapshot, StateCounts, Tree, TreeCache, build_cached};

use super::state::SharedAnalysis;

/// A snapshot with its analysis, tree and counts.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub snapshot: Arc<Snapshot>,
    pub analysis: SharedAnalysis,
    /// The tree (no ages frozen at build time: the view computes them from the state's
    /// clock).
    pub tree: Tree,
    pub counts: StateCounts,
}

/// Analyse the snapshot and build its tree.
pub fn prepare(snapshot: Arc<Snapshot>) -> Prepared {
    prepare_with(snapshot, &mut TreeCache::default())
}

/// Analyse the snapshot and build its tree, reusing the subtrees of the previous build
/// (kept in `cache`) whose inputs did not change.
pub fn prepare_with(snapshot: Arc<Snapshot>, cache: &mut TreeCache) -> Prepared {
    let analysis = SharedAnalysis(Arc::new(analyze(&snapshot)));
    let tree = build_cached(&snapshot, &analysis, cache);
    let counts = flux_counts(&snapshot, &analysis);
    Prepared {
        snapshot,
        analysis,
        tree,
        counts,
    }
}

/// The header counts: every Flux object in the state its row shows (the one verdict).
fn flux_counts(snapshot: &Snapshot, analysis: &Analysis) -> StateCounts {
    let mut counts = StateCounts::default();
    for (key, obj) in &snapshot.flux {
        match analysis.tree_health(key) {
            Some(state) => counts.add(&state),
            None => counts.add(&flux_health(obj)),
        }
    }
    counts
}
