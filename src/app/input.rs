//! What a key means in the current view, looked up in the keymap: navigation, panes,
//! prompts, dialogs ([`super::confirm`]), and the actions that are not available (yet, or in
//! read-only mode).

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::keys::{Action, Key, View};
use crate::domain::tree::Filter;

use super::command;
use super::confirm;
use super::diff;
use super::diffs;
use super::help;
use super::history;
use super::layout;
use super::msg::Effect;
use super::state::{AppState, FlashLevel, Focus, Overlay, Prompt, PromptKind};
use super::text::wrapped_len;
use super::why::{self, WhyView};
use super::yaml::YamlView;

/// Handle one key event.
#[must_use = "the effects must be carried out"]
pub(crate) fn on_key(state: &mut AppState, event: &KeyEvent) -> Vec<Effect> {
    let Some(key) = Key::from_event(event) else {
        return Vec::new();
    };
    // A flash goes on the next key; that key still acts, except Esc, which only dismisses
    // an error (so dismissing it does not also close the view behind it).
    if let Some(flash) = state.flash.take() {
        state.dirty = true;
        if flash.level == FlashLevel::Error && key.code() == KeyCode::Esc {
            return Vec::new();
        }
    }
    state.pending_row = None;
    state.selection_touched = true;
    let view = state.key_view();
    let action = state.keymap.lookup_key(view, key);
    if state.prompt.is_some() {
        return prompt_key(state, key, action);
    }
    if state.modal.is_some() {
        return confirm::modal_key(state, key);
    }
    if let Some(effects) = history::on_key(state, key, action) {
        return effects;
    }
    if let Some(effects) = diff::on_key(state, action) {
        return effects;
    }
    match action {
        Some(action) => {
            state.dirty = true;
            act(state, view, action)
        }
        None => {
            unbound(state, view, key);
            Vec::new()
        }
    }
}

/// A key no available action takes: a dangerous action in read-only mode.
fn unbound(state: &mut AppState, view: View, key: Key) {
    let blocked = Action::all().find(|a| {
        !state.keymap.is_available(*a)
            && state.keymap.keys(*a).contains(&key)
            && a.spec().is_some_and(|s| view.layers().contains(&s.layer))
    });
    if let (Some(action), Some(reason)) = (blocked, &state.read_only) {
        let text = format!("read-only: {reason} ({} is unavailable)", action.id());
        state.flash_with(FlashLevel::Warning, text);
    }
}

#[must_use = "the effects must be carried out"]
fn act(state: &mut AppState, view: View, action: Action) -> Vec<Effect> {
    match action {
        Action::Quit => return vec![Effect::Quit],
        Action::Redraw => return vec![Effect::ForceRedraw],
        Action::SuspendApp => return vec![Effect::SuspendProcess],
        Action::Help => {
            state.overlay = match state.overlay {
                Some(Overlay::Help { .. }) => None,
                _ => Some(Overlay::Help { scroll: 0 }),
            };
        }
        Action::Filter => open_prompt(state, view),
        Action::Command => {
            state.prompt = Some(Prompt::new(PromptKind::Command, ""));
            // Fresh contexts and namespaces for completion while typing.
            return vec![Effect::ListChoices];
        }
        Action::Problems => {
            state.problems = !state.problems;
            state.overlay = None;
            let text = if state.problems {
                "problems mode: only unhealthy objects and their parents (p again for all)"
            } else {
                "all objects"
            };
            state.flash_with(FlashLevel::Info, text);
            return state.narrowing_changed();
        }
        Action::FocusNext | Action::FocusPrev => return switch_focus(state),
        Action::Back => return back(state),
        Action::Up
        | Action::Down
        | Action::Top
        | Action::Bottom
        | Action::PageUp
        | Action::PageDown => return scroll(state, view, action),
        Action::Collapse => {
            state.collapse_selected();
            return tree_changed(state);
        }
        Action::Expand => {
            state.expand_selected();
            return tree_changed(state);
        }
        Action::Toggle => {
            state.toggle_selected();
            return tree_changed(state);
        }
        Action::NextMatch | Action::PrevMatch => search_step(state, action == Action::NextMatch),
        Action::ColumnHeaders => {
            state.column_headers = Some(!layout::column_headers(state));
            state.keep_cursor_visible();
            state.dirty = true;
        }
        Action::OpenDetails => return open_details(state),
        Action::Yaml => return yaml(state, view),
        Action::Why => return why(state, view),
        Action::Reconcile => return confirm::open_reconcile(state, view),
        Action::SuspendResume => return confirm::open_suspend_resume(state, view),
        Action::History => return history::open_history(state, view),
        Action::Rollback => return history::open_rollback(state, view),
        Action::ValuesDiff => return diffs::open_values(state, view),
        Action::DriftDiff => return diffs::open_drift(state, view),
        // The diff and history views' own keys: carried out by those views.
        Action::Accept
        | Action::Cancel
        | Action::NextChange
        | Action::PrevChange
        | Action::ScrollLeft
        | Action::ScrollRight
        | Action::ExpandFold
        | Action::ExpandAll
        | Action::ToggleUnified
        | Action::NextDoc
        | Action::PrevDoc
        | Action::Alternate
        | Action::MarkRevision
        | Action::DiffValues
        | Action::DiffManifests => {}
        Action::NextLink | Action::PrevLink => {
            state.why_step_link(action == Action::NextLink);
        }
        Action::FollowLink => return state.why_follow_link(),
    }
    Vec::new()
}

/// After an expansion change: the details follow the selection (the watches follow the rows
/// in `update`, after every message).
#[must_use = "the effects (details) must be carried out"]
fn tree_changed(state: &mut AppState) -> Vec<Effect> {
    state.sync_details()
}

impl AppState {
    /// The filter or problems mode changed: re-narrow, re-derive rows, follow up.
    #[must_use = "the effects (details) must be carried out"]
    pub(crate) fn narrowing_changed(&mut self) -> Vec<Effect> {
        self.narrow_collapsed.clear();
        self.rebuild_narrowed();
        self.rebuild_rows();
        self.dirty = true;
        tree_changed(self)
    }

    /// Clear the filter (its text and terms); re-narrow when it narrowed anything.
    #[must_use = "the effects (managed-object watches, details) must be carried out"]
    pub(crate) fn clear_filter(&mut self) -> Vec<Effect> {
        self.filter_text.clear();
        if self.filter.is_empty() {
            return Vec::new();
        }
        self.filter = Filter::default();
        self.narrowing_changed()
    }
}

fn open_prompt(state: &mut AppState, view: View) {
    let (kind, text) = match (&state.overlay, view) {
        (Some(Overlay::Yaml(y)), _) => (PromptKind::Search, y.search.clone()),
        _ => {
            state.overlay = None;
            (PromptKind::Filter, state.filter_text.clone())
        }
    };
    state.prompt = Some(Prompt::new(kind, text));
}

/// `n`/`N` in the YAML view: the next or previous match of the search; says so when there
/// is no search to step through.
fn search_step(state: &mut AppState, forward: bool) {
    let Some(Overlay::Yaml(yaml)) = state.overlay.as_mut() else {
        return;
    };
    if yaml.matches.is_empty() {
        let text = if yaml.search.is_empty() {
            "no search: / searches the YAML"
        } else {
            "no match for the search"
        };
        state.flash_with(FlashLevel::Info, text);
    } else {
        yaml.step(forward);
    }
}

#[must_use = "the effects must be carried out"]
fn switch_focus(state: &mut AppState) -> Vec<Effect> {
    if state.overlay.is_some() {
        return Vec::new();
    }
    if state.details.is_none() {
        let effects = state.open_details();
        if state.details.is_some() {
            state.focus = Focus::Details;
        }
        return effects;
    }
    state.focus = match state.focus {
        Focus::Tree => Focus::Details,
        Focus::Details => Focus::Tree,
    };
    Vec::new()
}

/// Esc: close the view, the details, the filter. Clearing the filter shows rows again (whose
/// managed objects may need watches: `update` asks for them after every message).
#[must_use = "the effects must be carried out"]
fn back(state: &mut AppState) -> Vec<Effect> {
    if state.overlay.take().is_some() {
        return Vec::new();
    }
    if state.details.take().is_some() {
        state.focus = Focus::Tree;
        state.keep_cursor_visible();
        return Vec::new();
    }
    if !state.filter_text.is_empty() {
        return state.clear_filter();
    }
    Vec::new()
}

#[must_use = "the effects must be carried out"]
fn open_details(state: &mut AppState) -> Vec<Effect> {
    let Some((_, node)) = state.selected_row() else {
        return Vec::new();
    };
    if node.key.is_none() {
        state.toggle_selected();
        return tree_changed(state);
    }
    let already = state.details.is_some();
    let effects = state.open_details();
    let split = state.size.0 >= layout::SPLIT_MIN_COLS;
    if !split || already {
        state.focus = Focus::Details;
    }
    state.keep_cursor_visible();
    effects
}

#[must_use = "the effects must be carried out"]
fn yaml(state: &mut AppState, view: View) -> Vec<Effect> {
    if view == View::Yaml {
        state.overlay = None;
        return Vec::new();
    }
    let key = match (view, &state.details, &state.overlay) {
        (View::Why, _, Some(Overlay::Why(w))) => Some(w.key.clone()),
        (View::Details, Some(pane), _) => pane.key.clone(),
        _ => state.selected_key().cloned(),
    };
    match key {
        Some(key) => {
            state.overlay = Some(Overlay::Yaml(YamlView::new(key.clone())));
            vec![Effect::FetchYaml(key)]
        }
        None => {
            state.flash_with(FlashLevel::Info, "a group has no YAML: select an object");
            Vec::new()
        }
    }
}

/// `w`: open the why view of the selected object (or of the details pane's), or close it.
#[must_use = "the effects must be carried out"]
fn why(state: &mut AppState, view: View) -> Vec<Effect> {
    if view == View::Why {
        state.overlay = None;
        return Vec::new();
    }
    let key = match (view, &state.details) {
        (View::Details, Some(pane)) => pane.key.clone(),
        // On a group row: the worst problem below it.
        _ => state.selected_row().and_then(|(_, node)| match &node.key {
            Some(key) => Some(key.clone()),
            None => node.worst_problem().and_then(|n| n.key.clone()),
        }),
    };
    match key {
        Some(key) if why::explains(&key) => {
            state.overlay = Some(Overlay::Why(WhyView::new(key)));
            state.refresh_why();
            return state.why_evidence();
        }
        Some(key) => state.flash_with(
            FlashLevel::Info,
            format!(
                "why: {} is not a Flux object; select a Kustomization or HelmRelease (or the \
                 one that manages it)",
                key
            ),
        ),
        None => state.flash_with(
            FlashLevel::Info,
            "why: nothing below this group has a problem to explain",
        ),
    }
    Vec::new()
}

/// Move by `action` in a list of `len` items from `at`, `page` at a time.
pub(crate) fn step(action: Action, at: usize, len: usize, page: usize) -> usize {
    let last = len.saturating_sub(1);
    let page = page.max(1);
    match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => (at + 1).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        Action::PageUp => at.saturating_sub(page),
        Action::PageDown => (at + page).min(last),
        _ => at,
    }
}

#[must_use = "the effects must be carried out"]
fn scroll(state: &mut AppState, view: View, action: Action) -> Vec<Effect> {
    let screen = state.screen();
    let body_page = usize::from(screen.body.height.saturating_sub(2)).max(1);
    let body_cols = usize::from(screen.body.width.saturating_sub(2));
    match view {
        View::Help if matches!(state.overlay, Some(Overlay::List { .. })) => {
            if let Some(Overlay::List { kind, .. }) = state.overlay {
                let total = wrapped_len(&command::list_lines(state, kind), body_cols);
                if let Some(Overlay::List { scroll, .. }) = state.overlay.as_mut() {
                    let max = total.saturating_sub(body_page);
                    *scroll = step(action, *scroll, max + 1, body_page);
                }
            }
        }
        View::Help => {
            let total = wrapped_len(&help::lines(state), body_cols);
            if let Some(Overlay::Help { scroll }) = state.overlay.as_mut() {
                let max = total.saturating_sub(body_page);
                *scroll = step(action, *scroll, max + 1, body_page);
            }
        }
        View::Why => {
            if let Some(Overlay::Why(w)) = state.overlay.as_mut() {
                let max = wrapped_len(&w.lines, body_cols).saturating_sub(body_page);
                w.scroll = step(action, w.scroll, max + 1, body_page);
            }
        }
        View::Yaml => {
            if let Some(Overlay::Yaml(y)) = state.overlay.as_mut() {
                let to = step(action, y.scroll, y.line_count(), body_page);
                y.scroll_to(to);
            }
        }
        View::Details => {
            if let (Some(pane), Some(area)) = (state.details.as_mut(), screen.details) {
                let cols = usize::from(area.width.saturating_sub(2));
                let page = usize::from(area.height.saturating_sub(2)).max(1);
                let max = wrapped_len(&pane.lines, cols).saturating_sub(page);
                pane.scroll = step(action, pane.scroll, max + 1, page);
            }
        }
        _ => {
            let to = step(action, state.cursor, state.rows.len(), state.tree_page());
            state.move_to(to);
            return state.sync_details();
        }
    }
    Vec::new()
}

#[must_use = "the effects must be carried out"]
fn prompt_key(state: &mut AppState, key: Key, action: Option<Action>) -> Vec<Effect> {
    state.dirty = true;
    match action {
        Some(Action::Accept) => return accept(state),
        Some(Action::Cancel) => return cancel(state),
        Some(Action::Quit) => return vec![Effect::Quit],
        Some(Action::Redraw) => return vec![Effect::ForceRedraw],
        Some(Action::SuspendApp) => return vec![Effect::SuspendProcess],
        Some(Action::FocusNext) => {
            command::complete(state);
            return Vec::new();
        }
        _ => {}
    }
    let Some(prompt) = state.prompt.as_mut() else {
        return Vec::new();
    };
    match key.code() {
        KeyCode::Char(c) if key.is_text() => prompt.text.push(c),
        KeyCode::Backspace => {
            prompt.text.pop();
        }
        _ => return Vec::new(),
    }
    prompt_changed(state)
}

/// The prompt text changed: the filter and the search apply as you type.
#[must_use = "the effects must be carried out"]
fn prompt_changed(state: &mut AppState) -> Vec<Effect> {
    let Some(prompt) = state.prompt.as_mut() else {
        return Vec::new();
    };
    match prompt.kind {
        PromptKind::Filter => match Filter::parse(&prompt.text) {
            Ok(filter) => {
                prompt.error = None;
                state.filter_text = prompt.text.trim().to_string();
                if filter != state.filter {
                    state.filter = filter;
                    return state.narrowing_changed();
                }
            }
            Err(e) => prompt.error = Some(e.to_string()),
        },
        PromptKind::Search => {
            let text = prompt.text.clone();
            if let Some(Overlay::Yaml(y)) = state.overlay.as_mut() {
                let from = y.scroll;
                y.set_search(&text, from);
            }
        }
        PromptKind::Command => command::refresh_choices(state),
    }
    Vec::new()
}

#[must_use = "the effects must be carried out"]
fn accept(state: &mut AppState) -> Vec<Effect> {
    let Some(prompt) = state.prompt.take() else {
        return Vec::new();
    };
    match prompt.kind {
        PromptKind::Filter if prompt.error.is_some() => {
            // Not understood: keep the prompt open so it can be fixed (Esc clears it).
            state.prompt = Some(prompt);
            Vec::new()
        }
        PromptKind::Filter | PromptKind::Search => Vec::new(),
        PromptKind::Command => command::run(state, &prompt.text),
    }
}

#[must_use = "the effects must be carried out"]
fn cancel(state: &mut AppState) -> Vec<Effect> {
    let Some(prompt) = state.prompt.take() else {
        return Vec::new();
    };
    match prompt.kind {
        PromptKind::Filter => return state.clear_filter(),
        PromptKind::Search => {
            if let Some(Overlay::Yaml(y)) = state.overlay.as_mut() {
                let at = y.scroll;
                y.set_search("", at);
            }
        }
        PromptKind::Command => {}
    }
    Vec::new()
}
