//! Moving around the tree: deriving the shown tree and its visible rows, expansion,
//! selection by node-id path (surviving rebuilds), scrolling, and the managed-object watch
//! scopes the rows on screen need.

use std::collections::{BTreeSet, HashSet};
use std::ops::Range;

use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::secrets;
use crate::domain::tree::{Node, Relation};

use super::msg::Effect;
use super::problems::{self, DEPENDENT_PREFIX, MISSING_PREFIX};
use super::state::{AppState, VisibleRow};

/// Kustomizations down to this depth are expanded when first seen.
const DEFAULT_EXPAND_DEPTH: usize = 2;

/// Managed objects are watched for the rows on screen and this many pages above and below.
pub const WATCH_MARGIN_PAGES: usize = 1;
/// A watch is released once no row within this many pages of the screen needs it.
pub const RELEASE_MARGIN_PAGES: usize = 2;

pub use crate::domain::tree::Scope;

impl AppState {
    /// Recompute the narrowed tree after the tree, the filter or problems mode changed
    /// (problems mode groups dependents under their root cause).
    pub(crate) fn rebuild_narrowed(&mut self) {
        let mut narrowed = self.problems.then(|| match &self.analysis {
            Some(analysis) => problems::grouped(&self.tree, analysis),
            None => self.tree.problems(),
        });
        if !self.filter.is_empty() {
            let base = narrowed.as_ref().unwrap_or(&self.tree);
            narrowed = Some(base.filtered(&self.filter));
        }
        self.narrowed = narrowed;
    }

    /// Expand roots and Kustomizations near the top the first time they are seen.
    pub(crate) fn apply_default_expansion(&mut self) {
        fn walk(nodes: &[Node], path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            for node in nodes {
                path.push(node.id().into_owned());
                let depth = path.len() - 1;
                let is_ks = node
                    .key
                    .as_ref()
                    .is_some_and(|k| k.flux_kind() == Some(FluxKind::Kustomization));
                let root = depth == 0;
                if !node.children.is_empty()
                    && !node.cycle
                    && (root || (is_ks && depth <= DEFAULT_EXPAND_DEPTH))
                {
                    out.push(path.clone());
                    walk(&node.children, path, out);
                }
                path.pop();
            }
        }
        let mut paths = Vec::new();
        walk(&self.tree.roots, &mut Vec::new(), &mut paths);
        for p in paths {
            if self.defaulted.insert(p.clone()) {
                self.expanded.insert(p);
            }
        }
    }

    fn is_expanded_path(&self, path: &[String]) -> bool {
        if self.narrowed.is_some() {
            !self.narrow_collapsed.contains(path)
        } else {
            self.expanded.contains(path)
        }
    }

    pub(crate) fn set_expanded(&mut self, path: &[String], open: bool) {
        let path = path.to_vec();
        match (self.narrowed.is_some(), open) {
            (true, true) => {
                self.narrow_collapsed.remove(&path);
            }
            (true, false) => {
                self.narrow_collapsed.insert(path);
            }
            (false, true) => {
                self.expanded.insert(path);
            }
            (false, false) => {
                self.expanded.remove(&path);
            }
        }
    }

    /// Make sure every ancestor of `path` that exists in the shown tree is expanded.
    fn reveal(&mut self, path: &[String]) {
        if self.shown_tree().find(path).is_none() {
            return;
        }
        for len in 1..path.len() {
            if !self.is_expanded_path(&path[..len]) {
                self.set_expanded(&path[..len], true);
            }
        }
    }

    /// Recompute the visible rows and put the selection back on the same node (or the
    /// nearest surviving one), keeping it at the same height on screen.
    pub(crate) fn rebuild_rows(&mut self) {
        let old_offset = self.cursor.saturating_sub(self.scroll);
        let old_cursor = self.cursor;
        if let Some(path) = self.selected.clone() {
            self.reveal(&path);
        }
        let tree = self.narrowed.as_ref().unwrap_or(&self.tree);
        let expanded: HashSet<Vec<String>> = if self.narrowed.is_some() {
            tree.all_rows()
                .into_iter()
                .filter(|r| r.has_children && !self.narrow_collapsed.contains(&r.path))
                .map(|r| r.path)
                .collect()
        } else {
            self.expanded.clone()
        };
        let mut counters: Vec<usize> = Vec::new();
        let rows: Vec<VisibleRow> = tree
            .rows(&expanded)
            .into_iter()
            .map(|r| {
                if r.depth < counters.len() {
                    counters.truncate(r.depth + 1);
                    if let Some(last) = counters.last_mut() {
                        *last += 1;
                    }
                } else {
                    counters.push(0);
                }
                VisibleRow {
                    prefix: r.prefix(self.ascii),
                    path: r.path,
                    indices: counters.clone(),
                    depth: r.depth,
                    expanded: r.expanded,
                    has_children: r.has_children,
                }
            })
            .collect();
        self.rows = rows;
        self.rows_generation += 1;
        if self.rows.is_empty() {
            self.cursor = 0;
            self.scroll = 0;
            return;
        }
        let index = match &self.selected {
            Some(path) if self.selection_touched => self.nearest_row(path, old_cursor),
            _ => 0,
        };
        self.cursor = index;
        self.selected = Some(self.rows[index].path.clone());
        self.scroll = index.saturating_sub(old_offset);
        self.keep_cursor_visible();
    }

    /// The row showing `path`, or the one sharing the longest leading part of it (its
    /// ancestor or a sibling), nearest to where the selection was.
    fn nearest_row(&self, path: &[String], old_cursor: usize) -> usize {
        if let Some(i) = self.rows.iter().position(|r| r.path == path) {
            return i;
        }
        // The same object shown elsewhere (problems mode moves dependents under their root
        // cause).
        let object = |id: &str| {
            id.strip_prefix(DEPENDENT_PREFIX)
                .or_else(|| id.strip_prefix(MISSING_PREFIX))
                .unwrap_or(id)
                .to_string()
        };
        if let Some(last) = path
            .last()
            .filter(|id| !id.starts_with("source:") && !id.starts_with("group:"))
        {
            let want = object(last);
            if let Some(i) = self
                .rows
                .iter()
                .position(|r| r.path.last().is_some_and(|id| object(id) == want))
            {
                return i;
            }
        }
        self.rows
            .iter()
            .enumerate()
            .max_by_key(|(i, r)| {
                let common = r.path.iter().zip(path).take_while(|(a, b)| a == b).count();
                (common, std::cmp::Reverse(i.abs_diff(old_cursor)))
            })
            .map_or(0, |(i, _)| i)
    }

    /// Scroll so the cursor row is on screen.
    pub(crate) fn keep_cursor_visible(&mut self) {
        let page = self.tree_page();
        if self.cursor < self.scroll {
            self.scroll = self.cursor;
        } else if self.cursor >= self.scroll + page {
            self.scroll = self.cursor + 1 - page;
        }
        self.scroll = self.scroll.min(self.rows.len().saturating_sub(page));
    }

    /// Select the row at `index` (clamped).
    pub(crate) fn move_to(&mut self, index: usize) {
        if self.rows.is_empty() {
            return;
        }
        let index = index.min(self.rows.len() - 1);
        self.cursor = index;
        self.selected = Some(self.rows[index].path.clone());
        self.keep_cursor_visible();
        self.dirty = true;
    }

    /// Select the row showing `path`, if visible.
    pub(crate) fn select_path(&mut self, path: &[String]) {
        if let Some(i) = self.rows.iter().position(|r| r.path == path) {
            self.move_to(i);
        }
    }

    /// `l`: expand the selected node, or step into it when already expanded.
    pub(crate) fn expand_selected(&mut self) {
        let Some(row) = self.rows.get(self.cursor).cloned() else {
            return;
        };
        if !row.has_children {
            return;
        }
        if row.expanded {
            self.move_to(self.cursor + 1);
        } else {
            self.set_expanded(&row.path, true);
            self.rebuild_rows();
            self.dirty = true;
        }
    }

    /// `h`: collapse the selected node, or go to its parent.
    pub(crate) fn collapse_selected(&mut self) {
        let Some(row) = self.rows.get(self.cursor).cloned() else {
            return;
        };
        if row.expanded {
            self.set_expanded(&row.path, false);
            self.rebuild_rows();
            self.dirty = true;
        } else if row.path.len() > 1 {
            self.select_path(&row.path[..row.path.len() - 1]);
        }
    }

    /// Space: expand or collapse.
    pub(crate) fn toggle_selected(&mut self) {
        let Some(row) = self.rows.get(self.cursor).cloned() else {
            return;
        };
        if row.has_children {
            self.set_expanded(&row.path, !row.expanded);
            self.rebuild_rows();
            self.dirty = true;
        }
    }

    /// The managed (non-Flux) kinds per namespace the screen needs: the scopes of the rows
    /// on screen and of a page above and below it ([`Self::scopes_of_rows`]). Never Secrets
    /// (see `domain::secrets`).
    pub fn needed_scopes(&self) -> BTreeSet<Scope> {
        self.scopes_of_rows(self.rows_around_screen(WATCH_MARGIN_PAGES))
    }

    /// The rows from `margin` pages above the screen to `margin` pages below it.
    fn rows_around_screen(&self, margin: usize) -> Range<usize> {
        let page = self.tree_page().max(1);
        let len = self.rows.len();
        let start = self.scroll.saturating_sub(margin * page).min(len);
        let end = (self.scroll + (margin + 1) * page).min(len);
        start..end
    }

    /// The managed scopes rows `range` need: the objects on them, and the children of
    /// HelmReleases and Kustomizations on them (their readiness is summarised on the row).
    pub fn scopes_of_rows(&self, range: Range<usize>) -> BTreeSet<Scope> {
        fn add(out: &mut BTreeSet<Scope>, key: &ObjectKey) {
            if key.flux_kind().is_none() && !secrets::is_secret(key) {
                let ns = (!key.namespace.is_empty()).then(|| key.namespace.to_string());
                out.insert((key.kind.clone(), ns));
            }
        }
        let mut out = BTreeSet::new();
        let snap = self.snapshot.as_deref();
        for row in self.rows.get(range).unwrap_or_default() {
            // A narrowed tree may leave children out: the whole tree's node has them all.
            let full = if self.narrowed.is_some() {
                self.tree.find(&row.path).or_else(|| self.node_of(row))
            } else {
                self.node_of(row)
            };
            let Some(node) = full else { continue };
            let Some(key) = &node.key else { continue };
            add(&mut out, key);
            let is_owner = matches!(
                key.flux_kind(),
                Some(FluxKind::HelmRelease | FluxKind::Kustomization)
            );
            let remote = snap
                .and_then(|s| s.flux.get(key))
                .is_some_and(|o| o.is_remote());
            if !is_owner || node.cycle || remote {
                continue;
            }
            for child in &node.children {
                if let Some(k) = &child.key {
                    add(&mut out, k);
                } else if child.relation == Relation::KindGroup {
                    for grandchild in child.children.iter().filter_map(|g| g.key.as_ref()) {
                        add(&mut out, grandchild);
                    }
                }
            }
        }
        out
    }

    /// `WatchScopes` when the watches should change. Called by `update` after every message,
    /// so whatever moved the rows or the screen (keys, snapshots, resize, panes), the watches
    /// follow.
    ///
    /// Hysteresis: a scope is asked for once a row needing it is within
    /// [`WATCH_MARGIN_PAGES`] of the screen, and released only once no row within
    /// [`RELEASE_MARGIN_PAGES`] needs it. A row must move a whole page between the two, so
    /// scrolling a line back and forth never starts and stops a watch, and paging starts the
    /// watches of the next page while the current one is read.
    #[must_use = "the watches must follow the rows"]
    pub(crate) fn scopes_effect(&mut self) -> Option<Effect> {
        self.snapshot.as_ref()?;
        let input = ScopesInput {
            rows: self.rows_generation,
            scroll: self.scroll,
            page: self.tree_page(),
        };
        if self.sent_scopes.is_some() && self.scopes_input.as_ref() == Some(&input) {
            return None;
        }
        self.scopes_input = Some(input);
        let mut next = self.needed_scopes();
        if let Some(sent) = &self.sent_scopes {
            let keep = self.scopes_of_rows(self.rows_around_screen(RELEASE_MARGIN_PAGES));
            next.extend(sent.intersection(&keep).cloned());
            if *sent == next {
                return None;
            }
        }
        tracing::debug!(
            watches = next.len(),
            rows = self.rows.len(),
            "managed-object watches asked for"
        );
        self.sent_scopes = Some(next.clone());
        Some(Effect::WatchScopes(next))
    }
}

/// What the scopes were last derived from: when none of it changed, neither did they.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScopesInput {
    rows: u64,
    scroll: usize,
    page: usize,
}
