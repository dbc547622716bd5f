//! The dialogs of the actions that write: the `R` reconcile menu (the modes that apply to the
//! object; on a suspended object, resume and reconcile) and the confirm dialog of `T` suspend /
//! resume, which names the object and the context and shows the exact patch. Both are data
//! ([`Modal`]); choosing a reconcile mode or confirming is the only way the app emits
//! [`Effect::Execute`], and never in a read-only session.

use crossterm::event::KeyCode;

use crate::actions::intent::{Intent, ReconcileMode};
use crate::actions::patch;
use crate::actions::writer::Permission;
use crate::app::keys::{Action, Key, Layer, View};
use crate::domain::flux::ObjectKey;

use super::actions::Allowed;
use super::msg::Effect;
use super::state::{AppState, FlashLevel, Overlay};
use super::text::{Seg, TextLine, Tone};

/// A dialog over the panes; it has the keyboard until it closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modal {
    Reconcile(ReconcileMenu),
    Confirm(Confirm),
}

impl Modal {
    /// The object the dialog acts on.
    pub fn target(&self) -> &ObjectKey {
        match self {
            Modal::Reconcile(m) => &m.target,
            Modal::Confirm(c) => c.intent.target(),
        }
    }
}

/// The line of a dialog that says whether the session may act on `target` (from the access
/// review the dialog asked for when it opened).
pub fn permission_line(state: &AppState, target: &ObjectKey) -> Option<TextLine> {
    let p = Permission::patch(target)?;
    Some(match state.access.get(&p) {
        None | Some(None) => TextLine::plain(
            format!("asking the API server whether you may {p}…"),
            Tone::Dim,
        ),
        Some(Some(Ok(true))) => TextLine::plain(format!("allowed: {p}"), Tone::Dim),
        Some(Some(Ok(false))) => {
            TextLine::plain(format!("unavailable: missing permission {p}"), Tone::Error)
        }
        Some(Some(Err(e))) => TextLine::plain(
            format!("could not check the permission ({e}); the API server decides"),
            Tone::Warning,
        ),
    })
}

/// What a line of the reconcile menu does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Reconcile(ReconcileMode),
    /// On a suspended object: resume (which requests a reconcile), through the confirm dialog.
    ResumeAndReconcile,
}

/// One line of the reconcile menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuItem {
    /// The letter that chooses it.
    pub letter: char,
    pub label: &'static str,
    pub choice: Choice,
}

/// The `R` menu of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconcileMenu {
    pub target: ObjectKey,
    /// The object is suspended: Flux ignores reconcile requests until it is resumed.
    pub suspended: bool,
    pub items: Vec<MenuItem>,
    /// The highlighted item.
    pub cursor: usize,
}

/// The confirm dialog of an intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    pub intent: Intent,
    /// The context the intent is for (confirming on another context is refused).
    pub context: String,
    /// The patch that will be sent, pretty JSON (the token shown as a placeholder).
    pub patch: String,
    pub field_manager: &'static str,
    /// Something to know before confirming (resuming a HelmRelease fluxdeck rolled back).
    pub warning: Option<String>,
}

/// The letter that chooses a reconcile mode in the menu.
pub fn letter(mode: ReconcileMode) -> char {
    match mode {
        ReconcileMode::Plain => 'r',
        ReconcileMode::WithSource => 's',
        ReconcileMode::Force => 'f',
        ReconcileMode::Reset => 'x',
    }
}

impl ReconcileMenu {
    fn new(target: ObjectKey, suspended: bool) -> ReconcileMenu {
        let items = if suspended {
            vec![MenuItem {
                letter: 'r',
                label: "resume and reconcile (asks to confirm)",
                choice: Choice::ResumeAndReconcile,
            }]
        } else {
            ReconcileMode::ALL
                .into_iter()
                .filter(|m| m.applies_to(&target))
                .map(|m| MenuItem {
                    letter: letter(m),
                    label: m.label(),
                    choice: Choice::Reconcile(m),
                })
                .collect()
        };
        ReconcileMenu {
            target,
            suspended,
            items,
            cursor: 0,
        }
    }

    /// The menu's title.
    pub fn title(&self) -> String {
        format!(" Reconcile {} ", self.target)
    }

    /// The menu's content: a note on a suspended object, one line per item (the highlighted
    /// one marked), and its keys.
    pub fn lines(&self, ascii: bool) -> Vec<TextLine> {
        let mut out = Vec::new();
        if self.suspended {
            out.push(TextLine::plain(
                format!(
                    "{} is suspended: Flux ignores reconcile requests while it is \
                         suspended. Resume it to reconcile.",
                    self.target
                ),
                Tone::Warning,
            ));
            out.push(TextLine::blank());
        }
        let pointer = if ascii { ">" } else { "▸" };
        for (i, item) in self.items.iter().enumerate() {
            let here = i == self.cursor;
            out.push(
                TextLine::new(vec![
                    Seg::new(if here { pointer } else { " " }, Tone::Key),
                    Seg::new(format!(" {} ", item.letter), Tone::Key),
                    Seg::new(item.label, if here { Tone::Title } else { Tone::Text }),
                ])
                .indent(4),
            );
        }
        out.push(TextLine::blank());
        out.push(TextLine::plain(
            "j/k move · enter or the letter chooses · esc closes",
            Tone::Dim,
        ));
        out
    }
}

impl Confirm {
    fn new(intent: Intent, context: &str) -> Confirm {
        let value = patch::for_intent(&intent, patch::TOKEN_PLACEHOLDER);
        let patch = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
        Confirm {
            intent,
            context: context.to_string(),
            patch,
            field_manager: patch::FIELD_MANAGER,
            warning: None,
        }
    }

    /// The dialog for `intent` in this session: resuming a HelmRelease that was rolled back
    /// here says that Flux will apply Git again.
    fn for_session(intent: Intent, state: &AppState) -> Confirm {
        let mut c = Confirm::new(intent, &state.context);
        if let Intent::Resume { target } = &c.intent
            && let Some(rb) = state.rolled_back.get(target)
        {
            c.warning = Some(format!(
                "It was rolled back to revision {} in this session. Resuming lets Flux apply \
                 Git's desired state again, which undoes the rollback unless Git was fixed \
                 first (chart version and values pinned).",
                rb.to
            ));
        }
        c
    }

    /// The dialog's title: the verb as a question.
    pub fn title(&self) -> String {
        match self.intent {
            Intent::Suspend { .. } => " Suspend? ".to_string(),
            Intent::Resume { .. } => " Resume? ".to_string(),
            Intent::Reconcile { .. } => " Reconcile? ".to_string(),
            Intent::Rollback { .. } => " Roll back? ".to_string(),
        }
    }

    /// The dialog's content: what, where, what it does, the exact patch, the keys.
    pub fn lines(&self) -> Vec<TextLine> {
        let target = self.intent.target();
        let verb = match self.intent {
            Intent::Suspend { .. } => "Suspend",
            Intent::Resume { .. } => "Resume",
            Intent::Reconcile { .. } => "Reconcile",
            Intent::Rollback { .. } => "Roll back",
        };
        let effect = match self.intent {
            Intent::Suspend { .. } => {
                "Flux stops reconciling it (and ignores reconcile requests) until it is resumed."
            }
            Intent::Resume { .. } => {
                "Flux reconciles it again; a reconcile is requested in the same patch."
            }
            Intent::Reconcile { .. } => "Flux reconciles it now.",
            Intent::Rollback { .. } => {
                "The HelmRelease is suspended, then its release is rolled back; it stays suspended."
            }
        };
        let mut out = vec![
            TextLine::new(vec![
                Seg::new(format!("{verb} "), Tone::Text),
                Seg::new(target.to_string(), Tone::Title),
            ])
            .indent(2),
            TextLine::new(vec![
                Seg::new("in context ", Tone::Text),
                Seg::new(self.context.clone(), Tone::Title),
            ])
            .indent(2),
            TextLine::blank(),
            TextLine::plain(effect, Tone::Text),
        ];
        if let Some(w) = &self.warning {
            out.push(TextLine::plain(w.clone(), Tone::Warning));
        }
        out.extend([
            TextLine::blank(),
            TextLine::plain(
                format!("JSON merge patch, field manager {}:", self.field_manager),
                Tone::Dim,
            ),
        ]);
        for line in self.patch.lines() {
            out.push(TextLine::plain(format!("  {line}"), Tone::Text).indent(4));
        }
        out.push(TextLine::blank());
        out.push(TextLine::new(vec![
            Seg::new("y", Tone::Key),
            Seg::new("/", Tone::Dim),
            Seg::new("enter", Tone::Key),
            Seg::new(" confirm · ", Tone::Dim),
            Seg::new("n", Tone::Key),
            Seg::new("/", Tone::Dim),
            Seg::new("esc", Tone::Key),
            Seg::new(" cancel", Tone::Dim),
        ]));
        out
    }
}

/// The object an action key in `view` is about: the one the view shows, else the selection.
fn target(state: &AppState, view: View) -> Option<ObjectKey> {
    match (view, &state.overlay, &state.details) {
        (View::Why, Some(Overlay::Why(w)), _) => Some(w.key.clone()),
        (View::Yaml, Some(Overlay::Yaml(y)), _) => Some(y.key.clone()),
        (View::History | View::Diff, Some(Overlay::History(h)), _) => Some(h.key.clone()),
        (View::Diff, Some(Overlay::Diff(d)), _) if d.key.is_some() => d.key.clone(),
        (View::Details, _, Some(pane)) => pane.key.clone(),
        _ => state.selected_key().cloned(),
    }
}

/// The Flux object an action key is about, or a flash saying why there is none.
pub(crate) fn flux_target(
    state: &mut AppState,
    view: View,
    what: &str,
) -> Option<(ObjectKey, bool, Vec<Effect>)> {
    if let Some(reason) = &state.read_only {
        let text = format!("read-only: {reason} ({what} is unavailable)");
        state.flash_with(FlashLevel::Warning, text);
        return None;
    }
    let Some(key) = target(state, view) else {
        state.flash_with(
            FlashLevel::Info,
            format!("{what}: a group is not an object; select a Flux object"),
        );
        return None;
    };
    if key.flux_kind().is_none() {
        state.flash_with(
            FlashLevel::Info,
            format!(
                "{what}: {key} is not a Flux object (Flux reconciles it through the \
                 Kustomization or HelmRelease that manages it: select that one)"
            ),
        );
        return None;
    }
    let Some(obj) = state.snapshot.as_ref().and_then(|s| s.flux.get(&key)) else {
        state.flash_with(
            FlashLevel::Warning,
            format!("{what}: {key} is not in the cluster any more"),
        );
        return None;
    };
    let suspended = obj.suspended();
    if obj.is_static() {
        state.flash_with(
            FlashLevel::Info,
            format!(
                "{what}: {key} is a static OCI HelmRepository: Flux never reconciles it \
                 (charts are pulled when a HelmChart or HelmRelease needs them)"
            ),
        );
        return None;
    }
    if let Some(a) = state.actions.get(&key)
        && a.running()
    {
        state.flash_with(
            FlashLevel::Info,
            format!("{what}: {} is still running on {key}", a.intent.verb()),
        );
        return None;
    }
    // Ask the API server (once per kind and namespace) whether the session may patch it;
    // the dialog shows the answer and refuses to act on a denial.
    let effects = match Permission::patch(&key) {
        Some(p) => match state.allowed(&p) {
            (Allowed::No(why), _) => {
                state.flash_with(FlashLevel::Error, format!("{what}: {why}"));
                return None;
            }
            (_, effects) => effects,
        },
        None => Vec::new(),
    };
    Some((key, suspended, effects))
}

/// `R`: open the reconcile menu of the object in `view`.
pub(crate) fn open_reconcile(state: &mut AppState, view: View) -> Vec<Effect> {
    match flux_target(state, view, "reconcile") {
        Some((key, suspended, effects)) => {
            state.modal = Some(Modal::Reconcile(ReconcileMenu::new(key, suspended)));
            effects
        }
        None => Vec::new(),
    }
}

/// `T`: open the confirm dialog to suspend the object in `view`, or resume it.
pub(crate) fn open_suspend_resume(state: &mut AppState, view: View) -> Vec<Effect> {
    match flux_target(state, view, "suspend-resume") {
        Some((target, suspended, effects)) => {
            let intent = if suspended {
                Intent::Resume { target }
            } else {
                Intent::Suspend { target }
            };
            state.modal = Some(Modal::Confirm(Confirm::for_session(intent, state)));
            effects
        }
        None => Vec::new(),
    }
}

/// A key while a dialog is open. Only the dialog's keys and quitting act.
pub(crate) fn modal_key(state: &mut AppState, key: Key) -> Vec<Effect> {
    state.dirty = true;
    let action = state.keymap.lookup_key(View::Confirm, key);
    match action {
        Some(Action::Quit) => return vec![Effect::Quit],
        Some(Action::Redraw) => return vec![Effect::ForceRedraw],
        Some(Action::SuspendApp) => return vec![Effect::SuspendProcess],
        Some(Action::Cancel) => {
            state.modal = None;
            return Vec::new();
        }
        _ => {}
    }
    match state.modal.take() {
        Some(Modal::Confirm(confirm)) => {
            if action == Some(Action::Accept) {
                return execute(state, confirm.intent, &confirm.context);
            }
            state.modal = Some(Modal::Confirm(confirm));
            Vec::new()
        }
        Some(Modal::Reconcile(mut menu)) => {
            let chosen = if action == Some(Action::Accept) {
                menu.items.get(menu.cursor).map(|i| i.choice)
            } else {
                menu_key(state, &mut menu, key)
            };
            match chosen {
                Some(choice) => choose(state, &menu.target, choice),
                None => {
                    state.modal = Some(Modal::Reconcile(menu));
                    Vec::new()
                }
            }
        }
        None => Vec::new(),
    }
}

/// Navigation and letters in the menu; the choice when a letter chose one.
fn menu_key(state: &mut AppState, menu: &mut ReconcileMenu, key: Key) -> Option<Choice> {
    let last = menu.items.len().saturating_sub(1);
    match state.keymap.lookup_layer(Layer::Navigation, key) {
        Some(Action::Up) => menu.cursor = menu.cursor.saturating_sub(1),
        Some(Action::Down) => menu.cursor = (menu.cursor + 1).min(last),
        Some(Action::Top | Action::PageUp) => menu.cursor = 0,
        Some(Action::Bottom | Action::PageDown) => menu.cursor = last,
        _ => {
            if let KeyCode::Char(c) = key.code() {
                return menu.items.iter().find(|i| i.letter == c).map(|i| i.choice);
            }
        }
    }
    None
}

fn choose(state: &mut AppState, target: &ObjectKey, choice: Choice) -> Vec<Effect> {
    match choice {
        Choice::Reconcile(mode) => {
            let intent = Intent::Reconcile {
                target: target.clone(),
                mode,
            };
            let context = state.context.clone();
            execute(state, intent, &context)
        }
        Choice::ResumeAndReconcile => {
            let intent = Intent::Resume {
                target: target.clone(),
            };
            state.modal = Some(Modal::Confirm(Confirm::for_session(intent, state)));
            Vec::new()
        }
    }
}

/// The permissions an intent needs: patch on the Flux object's kind; for a rollback also the
/// Helm release records (Secrets) in the storage namespace.
pub(crate) fn required(state: &AppState, target: &ObjectKey, rollback: bool) -> Vec<Permission> {
    let mut out: Vec<Permission> = Permission::patch(target).into_iter().collect();
    if rollback {
        let storage = state
            .snapshot
            .as_ref()
            .and_then(|s| s.flux.get(target))
            .and_then(|o| o.as_helm_release())
            .map(|hr| crate::domain::flux::storage_namespace(hr))
            .unwrap_or_else(|| target.namespace.to_string());
        out.extend(Permission::release_records(&storage));
    }
    out
}

/// Ask the runtime to carry out `intent`, unless the session became read-only or moved to
/// another context since the dialog opened.
pub(crate) fn execute(state: &mut AppState, intent: Intent, context: &str) -> Vec<Effect> {
    state.modal = None;
    if let Some(reason) = &state.read_only {
        let text = format!("read-only: {reason} ({} is unavailable)", intent.verb());
        state.flash_with(FlashLevel::Warning, text);
        return Vec::new();
    }
    let rollback = matches!(intent, Intent::Rollback { .. });
    let needed = required(state, intent.target(), rollback);
    let mut asked = Vec::new();
    for p in &needed {
        match state.allowed(p) {
            (Allowed::Yes, _) => {}
            (Allowed::Checking, effects) => {
                state.flash_with(
                    FlashLevel::Info,
                    format!("not sent yet: still asking whether you may {p}; try again"),
                );
                asked.extend(effects);
            }
            (Allowed::No(why), _) => {
                state.flash_with(FlashLevel::Error, format!("not sent: {why}"));
                return Vec::new();
            }
        }
    }
    // Some answer is still out: nothing is sent yet.
    if needed
        .iter()
        .any(|p| matches!(state.access.get(p), None | Some(None)))
    {
        return asked;
    }
    if context != state.context {
        state.flash_with(
            FlashLevel::Warning,
            format!(
                "not sent: the dialog was for context {context}, the session is on {}",
                state.context
            ),
        );
        return Vec::new();
    }
    state.flash_with(FlashLevel::Info, format!("{intent}: requested"));
    state.action_started(intent.clone());
    vec![Effect::Execute(intent)]
}

#[cfg(test)]
mod tests;
