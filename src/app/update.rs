//! [`update`]: the one place that decides what a message means. It changes the state,
//! recomputes derived data only when its inputs changed, marks the state dirty only when
//! something visible changed, and returns the effects for the runtime to carry out.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;

use crate::app::keys::Keymap;
use crate::domain::flux::ObjectKey;
use crate::domain::tree::{StateCounts, Tree};

use super::details;
use super::format::age;
use super::input;
use super::msg::{Effect, Msg, Retired, WatchStatus};
use super::prepare::{Prepared, prepare};
use super::state::{AppState, DetailsPane, EventsState, FlashLevel, Overlay, past_grace};

/// Apply one message. Returns the effects to carry out; check
/// [`AppState::needs_redraw`] afterwards to know whether to draw.
///
/// The managed-object watches are derived here, after every message, from the rows on
/// screen: whatever moved the rows or the screen (a key, a snapshot, a resize, a pane, the
/// header growing), they follow, and no handler can forget to ask or drop the request.
pub fn update(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    let mut effects = dispatch(state, msg);
    effects.extend(state.scopes_effect());
    effects
}

#[must_use = "the effects must be carried out"]
fn dispatch(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(event) => input::on_key(state, &event),
        Msg::Resize { cols, rows } => {
            if state.size != (cols, rows) {
                state.size = (cols, rows);
                state.keep_cursor_visible();
                state.clamp_scrolls();
                state.refresh_why();
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::Tick(now) => {
            on_clock(state, now, false);
            Vec::new()
        }
        Msg::Snapshot(snap) => on_prepared(state, prepare(snap)),
        Msg::Prepared(prepared) => on_prepared(
            state,
            Arc::try_unwrap(prepared).unwrap_or_else(|p| (*p).clone()),
        ),
        Msg::DecodeErrors(errors) => {
            if state.decode_errors != errors {
                state.decode_errors = errors;
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::WatchHealth(health) => {
            if state.watch != health {
                state.watch = health;
                state.keep_cursor_visible();
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::Events { key, result } => {
            if let Some(pane) = state.details.as_mut()
                && pane.key.as_ref() == Some(&key)
            {
                pane.events = match result {
                    Ok(rows) => EventsState::Loaded(rows),
                    Err(e) => EventsState::Failed(e),
                };
                state.refresh_details_lines();
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::Yaml { key, result } => {
            if let Some(Overlay::Yaml(view)) = state.overlay.as_mut()
                && view.key == key
            {
                view.set_result(result);
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::History { key, result } => {
            state.history_loaded(key, result);
            Vec::new()
        }
        Msg::Evidence { key, result } => {
            state.evidence_loaded(key, result);
            Vec::new()
        }
        Msg::ValuesDiff { key, result } => {
            state.values_diff_loaded(key, result);
            Vec::new()
        }
        Msg::Drift { key, result } => {
            state.drift_loaded(key, result);
            Vec::new()
        }
        Msg::Switched {
            context,
            server,
            namespace,
            result,
        } => on_switched(state, context, server, namespace, result),
        Msg::Access { permission, result } => {
            state.access_answered(permission, result);
            Vec::new()
        }
        Msg::ActionProgress { intent, text } => {
            state.action_progress(intent, text);
            Vec::new()
        }
        Msg::ActionDone { intent, result } => {
            state.action_done(intent, result);
            Vec::new()
        }
        Msg::ValuesPending(delta) => {
            on_values_pending(state, delta);
            Vec::new()
        }
        Msg::ThemeLoaded { name, result } => match result {
            Ok(theme) => {
                state.flash_with(FlashLevel::Info, format!("theme {}", theme.name()));
                vec![Effect::UseTheme(theme)]
            }
            Err(e) => {
                state.flash_with(FlashLevel::Error, format!(":theme {name}: {e}"));
                Vec::new()
            }
        },
        Msg::Contexts(result) => {
            state.contexts = Some(result);
            state.choices_changed();
            Vec::new()
        }
        Msg::Namespaces(result) => {
            state.namespaces = Some(result);
            state.choices_changed();
            Vec::new()
        }
        Msg::ReadOnly(reason) => {
            let (keymap, _) = Keymap::new(&state.keymap_overrides, true);
            state.keymap = keymap;
            // A dialog opened before cannot send anything any more.
            state.modal = None;
            state.flash_with(FlashLevel::Warning, format!("read-only: {reason}"));
            state.read_only = Some(reason);
            Vec::new()
        }
    }
}

/// Every age label the screen shows outside the details pane (the visible tree rows and
/// the header's "reconnecting since"), to tell whether a clock change is visible.
fn time_labels(state: &AppState) -> Vec<String> {
    let now = state.now;
    let page = state.tree_page();
    let mut labels: Vec<String> = state
        .rows
        .iter()
        .skip(state.scroll)
        .take(page)
        .filter_map(|row| state.node_of(row))
        .filter_map(|node| node.health.age_seconds(now))
        .map(age)
        .collect();
    for status in state.watch.values() {
        if let WatchStatus::Reconnecting { since, .. } = status {
            labels.push(age(now.as_second() - since.as_second()));
        }
    }
    labels
}

/// The clock moved forward: dirty only when a shown label changes or a flash expires.
/// The screen's clock moves in steps of this many seconds, so a screen where nothing else
/// changes is redrawn at most this often (ages on screen are coarse anyway).
pub const CLOCK_STEP_SECONDS: i64 = 10;

/// The clock moves on a tick once a step has passed, and with every snapshot (which redraws
/// anyway, and must not show an object newer than the clock).
fn on_clock(state: &mut AppState, now: Timestamp, snapshot: bool) {
    state.tick = state.tick.max(now);
    if state
        .flash
        .as_ref()
        .is_some_and(|f| f.until <= now.as_second())
    {
        state.flash = None;
        state.dirty = true;
    }
    // A watch reconnecting for the grace period now: the header says so from this tick.
    let grace_over = state.watch.values().any(|s| {
        matches!(s, WatchStatus::Reconnecting { since, .. }
            if past_grace(now, *since) && !past_grace(state.now, *since))
    });
    let step = if snapshot || grace_over {
        1
    } else {
        CLOCK_STEP_SECONDS
    };
    if now.as_second() < state.now.as_second() + step {
        return;
    }
    let before = (time_labels(state), state.actions_on_rows());
    state.now = now;
    if grace_over || before != (time_labels(state), state.actions_on_rows()) {
        state.dirty = true;
    }
    state.refresh_details_lines();
}

#[must_use = "the effects must be carried out"]
fn on_prepared(state: &mut AppState, prepared: Prepared) -> Vec<Effect> {
    let Prepared {
        snapshot: snap,
        analysis,
        tree,
        counts,
    } = prepared;
    let now = snap.now;
    let mut retired = Retired {
        snapshot: state.snapshot.replace(snap),
        analysis: state.analysis.replace(analysis),
        trees: Vec::new(),
    };
    // The rows may show other objects now (the scopes are derived again).
    state.rows_generation += 1;
    state.follow_rolled_back();
    if tree != state.tree || counts != state.flux_counts {
        retired.trees.push(std::mem::replace(&mut state.tree, tree));
        state.flux_counts = counts;
        state.apply_default_expansion();
        retired.trees.extend(state.narrowed.take());
        state.rebuild_narrowed();
        state.rebuild_rows();
        state.dirty = true;
    } else {
        retired.trees.push(tree);
    }
    state.refresh_why();
    on_clock(state, now, true);
    let mut effects = state.reach_pending_row();
    effects.extend(state.why_evidence());
    effects.extend(state.sync_details());
    if !retired.is_empty() {
        effects.push(Effect::Retire(retired));
    }
    effects
}

/// Marks changed: dirty when a visible row or the details pane shows one of them.
fn on_values_pending(state: &mut AppState, delta: BTreeMap<ObjectKey, Option<i64>>) {
    let mut changed = Vec::new();
    for (key, pending) in delta {
        let before = match pending {
            Some(rev) => state.values_pending.insert(key.clone(), rev),
            None => state.values_pending.remove(&key),
        };
        if before != pending {
            changed.push(key);
        }
    }
    if changed.is_empty() {
        return;
    }
    let page = state.tree_page();
    let visible = state
        .rows
        .iter()
        .skip(state.scroll)
        .take(page)
        .filter_map(|row| state.node_of(row))
        .filter_map(|node| node.key.as_ref())
        .any(|k| changed.contains(k));
    if visible {
        state.dirty = true;
    }
    if state
        .details
        .as_ref()
        .and_then(|p| p.key.as_ref())
        .is_some_and(|k| changed.contains(k))
    {
        state.refresh_details_lines();
    }
}

#[must_use = "the effects must be carried out"]
fn on_switched(
    state: &mut AppState,
    context: String,
    server: String,
    namespace: Option<String>,
    result: Result<(), String>,
) -> Vec<Effect> {
    // What was asked (`namespace stag`, `context foo`), as the command line recorded it.
    let asked = state
        .switching
        .take()
        .unwrap_or_else(|| format!("context {context}"));
    if let Err(e) = result {
        state.flash_with(FlashLevel::Error, format!("cannot switch to {asked}: {e}"));
        return Vec::new();
    }
    if context != state.context {
        // Another cluster: its namespaces are listed again.
        state.namespaces = None;
    }
    // The check starts again with the new watches.
    state.values_pending.clear();
    if context != state.context {
        state.snapshot = None;
        state.analysis = None;
        state.tree = Tree::default();
        state.narrowed = None;
        state.rows.clear();
        state.rows_generation += 1;
        state.flux_counts = StateCounts::default();
        state.decode_errors.clear();
        state.watch = BTreeMap::new();
        state.expanded.clear();
        state.defaulted.clear();
        state.narrow_collapsed.clear();
        state.selected = None;
        state.cursor = 0;
        state.scroll = 0;
        state.details = None;
        state.overlay = None;
        state.modal = None;
    }
    state.sent_scopes = None;
    let ns = namespace
        .clone()
        .unwrap_or_else(|| "all namespaces".to_string());
    state.flash_with(
        FlashLevel::Info,
        format!("context {context}, namespace {ns}"),
    );
    state.context = context;
    state.server = server;
    state.namespace = namespace;
    vec![Effect::ListChoices]
}

impl AppState {
    /// New contexts or namespaces: the command line's choices and a shown list follow.
    fn choices_changed(&mut self) {
        super::command::refresh_choices(self);
        if self.prompt.is_some() || matches!(self.overlay, Some(Overlay::List { .. })) {
            self.dirty = true;
        }
    }

    /// Rebuild the details lines; dirty when they changed.
    pub(crate) fn refresh_details_lines(&mut self) {
        let Some(mut pane) = self.details.take() else {
            return;
        };
        let lines = details::build(self, &pane);
        if lines != pane.lines {
            pane.lines = lines;
            self.dirty = true;
        }
        self.details = Some(pane);
        self.clamp_scrolls();
    }

    /// Make the details pane follow the selection; ask for events when the object or its
    /// resourceVersion changed.
    #[must_use = "the effects (events of the selected object) must be carried out"]
    pub(crate) fn sync_details(&mut self) -> Vec<Effect> {
        let Some(mut pane) = self.details.take() else {
            return Vec::new();
        };
        let (path, key) = match self.selected_row() {
            Some((row, node)) => (row.path.clone(), node.key.clone()),
            None => (pane.path.clone(), pane.key.clone()),
        };
        let rv = match (&key, self.snapshot.as_deref()) {
            (Some(k), Some(s)) => details::resource_version(s, k),
            _ => None,
        };
        let mut effects = Vec::new();
        if pane.key != key {
            pane.key = key.clone();
            pane.scroll = 0;
            pane.events = if key.is_some() {
                EventsState::Loading
            } else {
                EventsState::None
            };
            pane.resource_version = rv;
            effects.extend(key.map(Effect::FetchEvents));
            self.dirty = true;
        } else if pane.resource_version != rv {
            pane.resource_version = rv;
            effects.extend(key.map(Effect::FetchEvents));
        }
        pane.path = path;
        effects.extend(self.details_evidence(&mut pane));
        self.details = Some(pane);
        self.refresh_details_lines();
        effects
    }

    /// Open the details pane for the selection.
    #[must_use = "the effects (events of the selected object) must be carried out"]
    pub(crate) fn open_details(&mut self) -> Vec<Effect> {
        let Some((row, _)) = self.selected_row() else {
            return Vec::new();
        };
        let pane = DetailsPane {
            path: row.path.clone(),
            key: None,
            resource_version: None,
            events: EventsState::None,
            evidence: Default::default(),
            scroll: 0,
            lines: Vec::new(),
        };
        if self.details.is_none() {
            self.details = Some(pane);
        }
        self.dirty = true;
        self.sync_details()
    }

    /// Keep every pane's scroll position inside its content.
    pub(crate) fn clamp_scrolls(&mut self) {
        let screen = self.screen();
        if let (Some(pane), Some(area)) = (self.details.as_mut(), screen.details) {
            let cols = usize::from(area.width.saturating_sub(2));
            let page = usize::from(area.height.saturating_sub(2));
            let total = super::text::wrapped_len(&pane.lines, cols);
            pane.scroll = pane.scroll.min(total.saturating_sub(page));
        }
    }
}
