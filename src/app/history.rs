//! The history view of a HelmRelease (`H`) and the rollback flow on it (`B`): the revisions
//! from its release records (the current one and those `status.history` still knows marked);
//! for a rollback, the target chosen with j/k, then the preview (values and manifest diffs,
//! current vs target), then the confirmation, which names the HelmRelease, the context, the
//! target revision and the steps, and sends nothing until the release name is typed.
//! Confirming is the only way this view emits [`Effect::Execute`]. Any two revisions can be
//! compared: `space` marks one, `d` diffs the values and `m` the manifests of the marked and
//! the selected revision (or of the selected and the current one) in the diff view.

use std::collections::BTreeMap;

use crossterm::event::KeyCode;

use crate::actions::history::HistoryData;
use crate::actions::intent::Intent;
use crate::app::keys::{Action, Key, Layer, View};
use crate::domain::diff::DiffDoc;
use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::helm_history::HistoryRow;

use super::actions::Allowed;
use super::confirm::{self, permission_line};
use super::diff::{self, DiffView};
use super::msg::Effect;
use super::state::{AppState, FlashLevel, Overlay};
use super::text::{Seg, TextLine, Tone};

/// What the history view has to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryContent {
    Loading,
    Failed(String),
    Loaded(Box<HistoryData>),
}

/// Where the view is in the rollback flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The revisions.
    List,
    /// The diffs of the current revision and the target.
    Preview,
    /// The confirmation over the preview: type the release name.
    Confirm,
}

/// The values and manifest diffs of the current revision (`from`) and the target (`to`),
/// in the diff view.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    pub from: i64,
    pub to: i64,
    pub view: DiffView,
}

impl Preview {
    pub fn new(data: &HistoryData, from: i64, to: i64, ascii: bool) -> Preview {
        let arrow = arrow(ascii);
        let docs = [Records::Values, Records::Manifests]
            .into_iter()
            .map(|what| {
                let mut doc = revision_doc(data, what, from, to, ascii);
                doc.left_label = format!("revision {from} (current)");
                doc
            })
            .collect();
        let title = format!(
            "Rollback preview {}: revision {from} (current) {arrow} revision {to}",
            data.key
        );
        Preview {
            from,
            to,
            view: DiffView::new(title, docs, None).with_key(data.key.clone()),
        }
    }
}

/// What of two revisions is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Records {
    Values,
    Manifests,
}

impl Records {
    fn noun(self) -> &'static str {
        match self {
            Records::Values => "values",
            Records::Manifests => "manifest",
        }
    }

    fn texts(self, data: &HistoryData) -> &BTreeMap<i64, String> {
        match self {
            Records::Values => &data.values,
            Records::Manifests => &data.manifests,
        }
    }
}

fn arrow(ascii: bool) -> &'static str {
    if ascii { "->" } else { "→" }
}

/// The diff of revision `from`'s and revision `to`'s values or manifest.
pub fn revision_doc(data: &HistoryData, what: Records, from: i64, to: i64, ascii: bool) -> DiffDoc {
    let texts = what.texts(data);
    let text = |v: i64| texts.get(&v).cloned().unwrap_or_default();
    let label = |v: i64| match data.rows.iter().find(|r| r.revision == v) {
        Some(r) => format!("revision {v} ({}, {})", r.status, r.chart),
        None => format!("revision {v}"),
    };
    let mut doc = DiffDoc::new(
        format!(
            "{}: revision {from} {} revision {to}",
            what.noun(),
            arrow(ascii)
        ),
        label(from),
        label(to),
        text(from),
        text(to),
    );
    for v in [from, to] {
        if !texts.contains_key(&v) {
            doc.notes.push(format!(
                "the release record of revision {v} could not be decoded: shown as empty"
            ));
        }
    }
    doc
}

/// The history view of one HelmRelease.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryView {
    pub key: ObjectKey,
    /// Opened with `B`: Enter goes on to the preview.
    pub rollback: bool,
    /// The context the view was opened on (a rollback is refused on another).
    pub context: String,
    pub content: HistoryContent,
    /// The selected revision, an index into [`HistoryView::rows`] (newest first).
    pub cursor: usize,
    pub step: Step,
    pub preview: Option<Box<Preview>>,
    /// The revision marked with space, to compare with the selected one.
    pub marked: Option<i64>,
    /// What was typed in the confirmation.
    pub typed: String,
}

impl HistoryView {
    pub fn new(key: ObjectKey, rollback: bool, context: &str) -> HistoryView {
        HistoryView {
            key,
            rollback,
            context: context.to_string(),
            content: HistoryContent::Loading,
            cursor: 0,
            step: Step::List,
            preview: None,
            marked: None,
            typed: String::new(),
        }
    }

    pub fn data(&self) -> Option<&HistoryData> {
        match &self.content {
            HistoryContent::Loaded(d) => Some(d),
            _ => None,
        }
    }

    /// The revisions, newest first.
    pub fn rows(&self) -> Vec<&HistoryRow> {
        self.data()
            .map(|d| d.rows.iter().rev().collect())
            .unwrap_or_default()
    }

    /// The selected revision.
    pub fn selected(&self) -> Option<i64> {
        self.rows().get(self.cursor).map(|r| r.revision)
    }

    /// Put the cursor on `revision` (if listed).
    fn select(&mut self, revision: Option<i64>) {
        if let Some(i) = self
            .rows()
            .iter()
            .position(|r| Some(r.revision) == revision)
        {
            self.cursor = i;
        }
    }

    /// The title of the view.
    pub fn title(&self) -> String {
        let what = if self.rollback { "Rollback" } else { "History" };
        match self.data() {
            Some(d) => format!(
                " {what} {}: release {}/{} (records in namespace {}) ",
                self.key, d.release_namespace, d.release_name, d.storage_namespace
            ),
            None => format!(" {what} {} ", self.key),
        }
    }

    /// The confirmation's title and lines.
    pub fn confirm_lines(&self, state: &AppState) -> (String, Vec<TextLine>) {
        let title = " Roll back? ".to_string();
        let (Some(d), Some(p)) = (self.data(), self.preview.as_ref()) else {
            return (title, Vec::new());
        };
        let mut out = vec![
            TextLine::new(vec![
                Seg::new("Roll back ", Tone::Text),
                Seg::new(self.key.to_string(), Tone::Title),
            ])
            .indent(2),
            TextLine::new(vec![
                Seg::new("in context ", Tone::Text),
                Seg::new(self.context.clone(), Tone::Title),
            ])
            .indent(2),
        ];
        let plan = d.plans.get(&p.to);
        if let Some(plan) = plan {
            out.push(
                TextLine::new(vec![
                    Seg::new("to revision ", Tone::Text),
                    Seg::new(p.to.to_string(), Tone::Title),
                    Seg::new(
                        format!(
                            " ({}; latest is revision {} {}, {})",
                            plan.to_chart, plan.latest, plan.latest_status, plan.latest_chart
                        ),
                        Tone::Text,
                    ),
                ])
                .indent(2),
            );
        }
        // The name field first, so it stays on screen on small terminals; the steps follow.
        out.push(TextLine::blank());
        out.push(TextLine::new(vec![
            Seg::new("Type the release name ", Tone::Text),
            Seg::new(d.release_name.clone(), Tone::Title),
            Seg::new(" to confirm:", Tone::Text),
        ]));
        let matches = self.typed == d.release_name;
        out.push(
            TextLine::new(vec![
                Seg::new("> ", Tone::Key),
                Seg::new(self.typed.clone(), Tone::Text),
                Seg::new(
                    if state.ascii { "_" } else { "▏" },
                    if matches { Tone::Title } else { Tone::Dim },
                ),
            ])
            .indent(2),
        );
        out.push(TextLine::new(vec![
            Seg::new("enter", Tone::Key),
            Seg::new(
                if matches {
                    " rolls back · "
                } else {
                    " rolls back once the name matches · "
                },
                Tone::Dim,
            ),
            Seg::new("esc", Tone::Key),
            Seg::new(" back to the preview", Tone::Dim),
        ]));
        if let Some(line) = permission_line(state, &self.key) {
            out.push(line);
        }
        out.push(TextLine::blank());
        out.push(TextLine::plain(
            "The HelmRelease stays suspended: when it is resumed, Flux applies Git again. \
             Fix Git first (pin the chart version and values).",
            Tone::Warning,
        ));
        if let Some(plan) = plan {
            out.push(TextLine::blank());
            for step in plan.steps() {
                out.push(TextLine::plain(step, Tone::Text).indent(3));
            }
        }
        (title, out)
    }
}

/// The HelmRelease an `H`/`B` key is about, or a flash saying why there is none.
pub(crate) fn helmrelease(state: &mut AppState, view: View, what: &str) -> Option<ObjectKey> {
    let key = match (view, &state.overlay, &state.details) {
        (View::History | View::Diff, Some(Overlay::History(h)), _) => Some(h.key.clone()),
        (View::Diff, Some(Overlay::Diff(d)), _) if d.key.is_some() => d.key.clone(),
        (View::Why, Some(Overlay::Why(w)), _) => Some(w.key.clone()),
        (View::Yaml, Some(Overlay::Yaml(y)), _) => Some(y.key.clone()),
        (View::Details, _, Some(pane)) => pane.key.clone(),
        _ => state.selected_key().cloned(),
    };
    match key {
        Some(k) if k.kind.flux() == Some(FluxKind::HelmRelease) => Some(k),
        Some(k) => {
            state.flash_with(
                FlashLevel::Info,
                format!("{what}: {k} is not a HelmRelease; only a HelmRelease has a Helm release"),
            );
            None
        }
        None => {
            state.flash_with(
                FlashLevel::Info,
                format!("{what}: a group is not an object; select a HelmRelease"),
            );
            None
        }
    }
}

/// `H`: open the history of the HelmRelease in `view`, or close it.
pub(crate) fn open_history(state: &mut AppState, view: View) -> Vec<Effect> {
    if matches!(state.overlay, Some(Overlay::History(_))) {
        state.overlay = None;
        return Vec::new();
    }
    let Some(key) = helmrelease(state, view, "history") else {
        return Vec::new();
    };
    state.overlay = Some(Overlay::History(HistoryView::new(
        key.clone(),
        false,
        &state.context,
    )));
    vec![Effect::FetchHistory(key)]
}

/// `B`: open the history of the HelmRelease in `view` to roll it back, the default target
/// selected. Refused in read-only sessions and when the access review denied it.
pub(crate) fn open_rollback(state: &mut AppState, view: View) -> Vec<Effect> {
    if helmrelease(state, view, "rollback").is_none() {
        return Vec::new();
    }
    let Some((key, _, mut effects)) = confirm::flux_target(state, view, "rollback") else {
        return Vec::new();
    };
    // A rollback also reads and writes the Helm release records: ask about those too.
    for p in confirm::required(state, &key, true) {
        match state.allowed(&p) {
            (Allowed::No(why), _) => {
                state.flash_with(FlashLevel::Error, format!("rollback: {why}"));
                return Vec::new();
            }
            (_, fx) => effects.extend(fx),
        }
    }
    // Already showing this HelmRelease's history: go on from there.
    if let Some(Overlay::History(h)) = state.overlay.as_mut()
        && h.key == key
        && h.data().is_some()
    {
        h.rollback = true;
        h.step = Step::List;
        let selected = h.selected();
        if !selected.is_some_and(|v| h.data().is_some_and(|d| d.plans.contains_key(&v))) {
            let default = h.data().and_then(|d| d.default_target);
            h.select(default);
        }
        return effects;
    }
    state.overlay = Some(Overlay::History(HistoryView::new(
        key.clone(),
        true,
        &state.context,
    )));
    effects.push(Effect::FetchHistory(key));
    effects
}

impl AppState {
    /// The history fetched for the view (ignored when the view moved on).
    pub(crate) fn history_loaded(
        &mut self,
        key: ObjectKey,
        result: Result<Box<HistoryData>, String>,
    ) {
        let Some(Overlay::History(h)) = self.overlay.as_mut() else {
            return;
        };
        if h.key != key {
            return;
        }
        let previous = h.selected();
        h.content = match result {
            Ok(d) => HistoryContent::Loaded(d),
            Err(e) => HistoryContent::Failed(e),
        };
        h.cursor = 0;
        let no_target = h.rollback && h.data().is_some_and(|d| d.default_target.is_none());
        let default = h.data().and_then(|d| d.default_target);
        h.select(if h.rollback { default } else { previous });
        self.dirty = true;
        if no_target {
            self.flash_with(
                FlashLevel::Warning,
                format!(
                    "rollback: {key} has no earlier deployed or superseded revision to roll back to"
                ),
            );
        }
    }
}

/// A key while the history view is open.
pub(crate) fn on_key(
    state: &mut AppState,
    key: Key,
    action: Option<Action>,
) -> Option<Vec<Effect>> {
    let Some(Overlay::History(h)) = state.overlay.as_mut() else {
        return None;
    };
    let prompt = state.keymap.lookup_key(View::Confirm, key);
    // Enter goes on; a letter keeps its meaning here (`y` is the YAML, as help says).
    let accept = prompt == Some(Action::Accept) && !key.is_text();
    state.dirty = true;
    match h.step {
        // A text field: every character is typed (`y` and `n` too); only keys that are not
        // text (Enter, Esc) confirm or go back.
        Step::Confirm => {
            let accept = accept && !key.is_text();
            if prompt == Some(Action::Cancel) && !key.is_text() {
                h.step = Step::Preview;
                h.typed.clear();
            } else if accept {
                return Some(confirmed(state));
            } else {
                match key.code() {
                    KeyCode::Backspace => {
                        h.typed.pop();
                    }
                    KeyCode::Char(c) if key.is_text() => h.typed.push(c),
                    _ => {
                        if matches!(action, Some(Action::Quit)) {
                            return Some(vec![Effect::Quit]);
                        }
                    }
                }
            }
            Some(Vec::new())
        }
        // The diff view's keys (Enter goes on to the confirmation).
        Step::Preview => {
            let body = state.screen().body;
            let diff_action = state.keymap.lookup_layer(Layer::Diff, key).or(action);
            let Some(Overlay::History(h)) = state.overlay.as_mut() else {
                return None;
            };
            match diff_action {
                _ if accept => {
                    h.step = Step::Confirm;
                    h.typed.clear();
                }
                Some(Action::Back) => h.step = Step::List,
                Some(a) => {
                    let p = h.preview.as_mut()?;
                    let (page, cols) = diff::body_size(body, &p.view);
                    if !p.view.act(a, page, cols) {
                        return None;
                    }
                }
                None => return None,
            }
            Some(Vec::new())
        }
        Step::List => {
            let len = h.rows().len();
            match action {
                _ if accept => {
                    if !h.rollback {
                        state.flash_with(
                            FlashLevel::Info,
                            "B rolls back to the selected revision (asks to confirm)",
                        );
                        return Some(Vec::new());
                    }
                    return Some(to_preview(state));
                }
                Some(
                    a @ (Action::Up
                    | Action::Down
                    | Action::Top
                    | Action::Bottom
                    | Action::PageUp
                    | Action::PageDown),
                ) => h.cursor = super::input::step(a, h.cursor, len, 10),
                Some(Action::MarkRevision) => {
                    let selected = h.selected();
                    h.marked = if h.marked == selected { None } else { selected };
                }
                Some(Action::DiffValues) => return Some(pair_diff(state, Records::Values)),
                Some(Action::DiffManifests) => return Some(pair_diff(state, Records::Manifests)),
                _ => return None,
            }
            Some(Vec::new())
        }
    }
}

/// The two revisions `d`/`m` compare, older first: the marked one and the selected one, or
/// the selected one and the current one.
pub fn pair(view: &HistoryView) -> Result<(i64, i64), String> {
    let d = view.data().ok_or("the history is not loaded yet")?;
    let selected = view.selected().ok_or("no revision selected")?;
    let other = match view.marked {
        Some(m) if m != selected => m,
        _ => match d.current {
            Some(c) if c != selected => c,
            _ => {
                return Err(format!(
                    "revision {selected} is the current one: mark it with space and select                      another to compare"
                ));
            }
        },
    };
    Ok((other.min(selected), other.max(selected)))
}

/// `d`/`m` in the history: the diff view of two revisions' values or manifests; Esc comes
/// back here.
fn pair_diff(state: &mut AppState, what: Records) -> Vec<Effect> {
    let ascii = state.ascii;
    let Some(Overlay::History(h)) = state.overlay.as_ref() else {
        return Vec::new();
    };
    let (from, to) = match pair(h) {
        Ok(p) => p,
        Err(e) => {
            state.flash_with(FlashLevel::Info, format!("diff: {e}"));
            return Vec::new();
        }
    };
    let Some(d) = h.data() else {
        return Vec::new();
    };
    let doc = revision_doc(d, what, from, to, ascii);
    let title = match what {
        Records::Values => "Values",
        Records::Manifests => "Manifests",
    };
    let title = format!(
        "{title} {}: revision {from} {} revision {to}",
        h.key,
        arrow(ascii)
    );
    let mut view = DiffView::new(title, vec![doc], None).with_key(h.key.clone());
    view.back = state.overlay.take().map(Box::new);
    state.overlay = Some(Overlay::Diff(view));
    Vec::new()
}

/// Enter on a revision: the preview of a rollback to it.
fn to_preview(state: &mut AppState) -> Vec<Effect> {
    let ascii = state.ascii;
    let Some(Overlay::History(h)) = state.overlay.as_mut() else {
        return Vec::new();
    };
    let (Some(d), Some(to)) = (h.data(), h.selected()) else {
        return Vec::new();
    };
    if !d.plans.contains_key(&to) {
        let text = format!(
            "rollback: revision {to} cannot be a target (only a deployed or superseded revision \
             older than the latest)"
        );
        state.flash_with(FlashLevel::Warning, text);
        return Vec::new();
    }
    let from = d
        .current
        .or_else(|| d.rows.last().map(|r| r.revision))
        .unwrap_or(to);
    let preview = Preview::new(d, from, to, ascii);
    h.preview = Some(Box::new(preview));
    h.step = Step::Preview;
    Vec::new()
}

/// Enter in the confirmation: roll back when the typed name is the release name.
fn confirmed(state: &mut AppState) -> Vec<Effect> {
    let Some(Overlay::History(h)) = state.overlay.as_ref() else {
        return Vec::new();
    };
    let (Some(d), Some(p)) = (h.data(), h.preview.as_ref()) else {
        return Vec::new();
    };
    if h.typed != d.release_name {
        let text = format!(
            "not sent: type the release name {} exactly to confirm",
            d.release_name
        );
        state.flash_with(FlashLevel::Warning, text);
        return Vec::new();
    }
    let Some(plan) = d.plans.get(&p.to) else {
        return Vec::new();
    };
    let intent = Intent::Rollback {
        target: h.key.clone(),
        to: p.to,
        plan_token: plan.token(),
    };
    let context = h.context.clone();
    let effects = confirm::execute(state, intent, &context);
    if effects.iter().any(|e| matches!(e, Effect::Execute(_))) {
        state.overlay = None;
    }
    effects
}

#[cfg(test)]
mod tests;
