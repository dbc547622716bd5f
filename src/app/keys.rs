//! The one keymap table: every action with its stable id, default keys, description, layer and
//! `dangerous` flag. The same table drives key dispatch ([`Keymap::lookup`]), the hint bar
//! ([`Keymap::hints`]) and the help screen ([`Keymap::help_rows`]). User overrides from the config
//! file merge over the defaults; bad entries become warnings. In read-only mode the dangerous
//! actions (the ones that write to the cluster) are dropped from dispatch and shown as
//! unavailable in help.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::KeyEvent;

mod key;

pub use key::{Key, KeyParseError};

/// Something a key can ask for. Ids ([`Action::id`]) are stable: the config file uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Back,
    Collapse,
    Expand,
    Toggle,
    ColumnHeaders,
    OpenDetails,
    Yaml,
    Reconcile,
    SuspendResume,
    Rollback,
    ValuesDiff,
    DriftDiff,
    History,
    Why,
    Accept,
    Cancel,
    NextChange,
    PrevChange,
    ScrollLeft,
    ScrollRight,
    ExpandFold,
    ExpandAll,
    ToggleUnified,
    NextDoc,
    PrevDoc,
    Alternate,
    MarkRevision,
    DiffValues,
    DiffManifests,
    NextLink,
    PrevLink,
    FollowLink,
    NextMatch,
    PrevMatch,
    Filter,
    Command,
    Problems,
    FocusNext,
    FocusPrev,
    Help,
    Redraw,
    SuspendApp,
    Quit,
}

/// Where a binding lives. A view searches a chain of layers ([`View::layers`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Everywhere: help, filter, command line, focus, quit.
    Global,
    /// Moving in any list, tree or scrollable text, and going back.
    Navigation,
    /// The object tree only.
    Tree,
    /// Actions on the selected object (tree, details, YAML, diffs, history).
    Object,
    /// The diff view (and the rollback preview).
    Diff,
    /// The history view of a HelmRelease.
    History,
    /// The why view.
    Why,
    /// The YAML view (its search).
    Yaml,
    /// Prompts: the filter and command lines, confirmation dialogs.
    Prompt,
}

impl Layer {
    /// The section title on the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Layer::Global => "Global",
            Layer::Navigation => "Navigation",
            Layer::Tree => "Tree",
            Layer::Object => "Selected object",
            Layer::Diff => "Diff view",
            Layer::History => "History view",
            Layer::Why => "Why view",
            Layer::Yaml => "YAML view",
            Layer::Prompt => "Prompts",
        }
    }
}

/// What has the keyboard: the context a key is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    Tree,
    Details,
    Yaml,
    Why,
    Diff,
    History,
    Help,
    Filter,
    Command,
    Confirm,
}

impl View {
    pub const ALL: [View; 10] = [
        View::Tree,
        View::Details,
        View::Yaml,
        View::Why,
        View::Diff,
        View::History,
        View::Help,
        View::Filter,
        View::Command,
        View::Confirm,
    ];

    /// The layers searched for a key, first match wins.
    pub fn layers(self) -> &'static [Layer] {
        match self {
            View::Tree => &[Layer::Tree, Layer::Object, Layer::Navigation, Layer::Global],
            View::Details => &[Layer::Object, Layer::Navigation, Layer::Global],
            View::Yaml => &[Layer::Yaml, Layer::Object, Layer::Navigation, Layer::Global],
            View::Why => &[Layer::Why, Layer::Object, Layer::Navigation, Layer::Global],
            View::Diff => &[Layer::Diff, Layer::Object, Layer::Navigation, Layer::Global],
            View::History => &[
                Layer::History,
                Layer::Object,
                Layer::Navigation,
                Layer::Global,
            ],
            View::Help => &[Layer::Navigation, Layer::Global],
            View::Filter | View::Command | View::Confirm => &[Layer::Prompt, Layer::Global],
        }
    }

    /// Whether this view is a dialog: only its own keys (the prompt layer) and quitting
    /// act, so the hint bar shows only those.
    pub fn is_dialog(self) -> bool {
        matches!(self, View::Confirm)
    }

    /// Whether plain characters are typed text here rather than commands.
    pub fn is_text_input(self) -> bool {
        matches!(self, View::Filter | View::Command)
    }
}

/// One row of the keymap table.
#[derive(Debug)]
pub struct ActionSpec {
    pub action: Action,
    pub id: &'static str,
    pub layer: Layer,
    pub default_keys: &'static [&'static str],
    pub description: &'static str,
    /// Short label for the hint bar; `None` keeps the action out of it.
    pub hint: Option<&'static str>,
    /// Writes to the cluster: needs confirmation, unavailable in read-only mode.
    pub dangerous: bool,
}

macro_rules! table {
    ($( $action:ident $id:literal $layer:ident [$($key:literal),*] $desc:literal $hint:expr, $danger:literal; )*) => {
        /// The keymap table, in hint-bar and help order.
        pub const ACTIONS: &[ActionSpec] = &[
            $( ActionSpec {
                action: Action::$action,
                id: $id,
                layer: Layer::$layer,
                default_keys: &[$($key),*],
                description: $desc,
                hint: $hint,
                dangerous: $danger,
            }, )*
        ];
    };
}

table! {
    OpenDetails "open-details" Tree ["enter"] "open the details of the selected object" Some("details"), false;
    Accept "accept" Prompt ["enter", "y"] "apply the filter or command, confirm the dialog" Some("ok"), false;
    Cancel "cancel" Prompt ["esc", "n"] "close the prompt or dialog without acting" Some("cancel"), false;
    NextChange "next-change" Diff ["n"] "diff: go to the next change" Some("next change"), false;
    PrevChange "prev-change" Diff ["N"] "diff: go to the previous change" None, false;
    ExpandFold "expand-fold" Diff ["space", "enter"] "diff: show the unchanged lines folded under the cursor" Some("unfold"), false;
    ExpandAll "expand-all" Diff ["z"] "diff: show every folded unchanged line" None, false;
    ToggleUnified "toggle-unified" Diff ["u"] "diff: unified or side by side (unified below 100 columns)" Some("unified"), false;
    ScrollLeft "scroll-left" Diff ["h", "left"] "diff: scroll long lines left" None, false;
    ScrollRight "scroll-right" Diff ["l", "right"] "diff: scroll long lines right" None, false;
    NextDoc "next-doc" Diff ["]"] "diff: the next document or object" Some("next doc"), false;
    PrevDoc "prev-doc" Diff ["["] "diff: the previous document or object" None, false;
    Alternate "alternate" Diff ["c"] "diff: switch to the other set, e.g. computed values (when there is one)" None, false;
    MarkRevision "mark-revision" History ["space"] "history: mark the selected revision to compare it with another" Some("mark"), false;
    DiffValues "diff-values" History ["d"] "history: diff the values of the marked and selected revisions (or selected and current)" Some("diff values"), false;
    DiffManifests "diff-manifests" History ["m"] "history: diff the manifests of the marked and selected revisions (or selected and current)" Some("diff manifests"), false;
    NextMatch "next-match" Yaml ["n"] "YAML view: go to the next search match" Some("next match"), false;
    PrevMatch "prev-match" Yaml ["N"] "YAML view: go to the previous search match" None, false;
    Filter "filter" Global ["/"] "filter by name, namespace, kind, state:failed, ns:NAME, kind:hr (in the YAML view: search its text)" Some("filter"), false;
    Why "why" Object ["w"] "why: follow the dependency chain to the root cause" Some("why"), false;
    Problems "problems" Global ["p"] "show only objects with problems (toggle)" Some("problems"), false;
    Yaml "yaml" Object ["y"] "show the YAML of the selected object" Some("yaml"), false;
    Reconcile "reconcile" Object ["R"] "reconcile the selected object: a menu of plain, with source, force, reset" Some("reconcile"), true;
    SuspendResume "suspend-resume" Object ["T"] "suspend or resume the selected object (asks to confirm)" Some("suspend"), true;
    Back "back" Navigation ["esc"] "back / close the current view" Some("back"), false;
    FollowLink "follow-link" Why ["enter"] "why: go to the selected object's row in the tree" Some("go to row"), false;
    NextLink "next-link" Why ["n"] "why: select the next object named (at first the root cause)" Some("next object"), false;
    PrevLink "prev-link" Why ["N"] "why: select the previous object named" None, false;
    ValuesDiff "values-diff" Object ["v"] "HelmRelease values diff: desired vs deployed" Some("values"), false;
    DriftDiff "drift-diff" Object ["D"] "drift diff: Helm manifest vs live objects" Some("drift"), false;
    History "history" Object ["H"] "HelmRelease history (revisions)" Some("history"), false;
    Rollback "rollback" Object ["B"] "roll a HelmRelease back to a previous revision" Some("rollback"), true;
    Up "up" Navigation ["k", "up"] "move up" None, false;
    Down "down" Navigation ["j", "down"] "move down" None, false;
    Top "top" Navigation ["g", "home"] "go to the top" None, false;
    Bottom "bottom" Navigation ["G", "end"] "go to the bottom" None, false;
    PageUp "page-up" Navigation ["pgup", "ctrl-b", "ctrl-u"] "page up" None, false;
    PageDown "page-down" Navigation ["pgdn", "ctrl-f", "ctrl-d"] "page down" None, false;
    Collapse "collapse" Tree ["h", "left"] "collapse the node, or go to its parent" None, false;
    Expand "expand" Tree ["l", "right"] "expand the node" None, false;
    Toggle "toggle" Tree ["space"] "expand or collapse the node" None, false;
    ColumnHeaders "column-headers" Tree ["c"] "show or hide the column headers (shown from 120 columns)" None, false;
    Command "command" Global [":"] "command line: :ns [NAME], :ctx [NAME], :theme NAME, :messages, :q; Tab completes" Some("command"), false;
    FocusNext "focus-next" Global ["tab"] "focus the next pane" Some("focus"), false;
    FocusPrev "focus-prev" Global ["shift-tab"] "focus the previous pane" None, false;
    Help "help" Global ["?"] "help: every key, generated from the keymap" Some("help"), false;
    Redraw "redraw" Global ["ctrl-l"] "redraw the whole screen" None, false;
    SuspendApp "suspend-app" Global ["ctrl-z"] "suspend fluxdeck to the shell (fg resumes)" None, false;
    Quit "quit" Global ["q", "ctrl-c"] "quit" Some("quit"), false;
}

impl Action {
    /// Every action, in table order.
    pub fn all() -> impl Iterator<Item = Action> {
        ACTIONS.iter().map(|s| s.action)
    }

    /// The row of the table for this action.
    pub fn spec(self) -> Option<&'static ActionSpec> {
        ACTIONS.iter().find(|s| s.action == self)
    }

    /// The stable kebab-case id used in the config file and on the help screen.
    pub fn id(self) -> &'static str {
        self.spec().map_or("", |s| s.id)
    }

    /// The action with this id.
    pub fn from_id(id: &str) -> Option<Action> {
        ACTIONS.iter().find(|s| s.id == id).map(|s| s.action)
    }

    /// Whether this version carries the action out (every action of the table does; an
    /// action that did not would stay out of the hint bar and the help screen).
    pub fn is_built(self) -> bool {
        true
    }

    /// Whether the action writes to the cluster.
    pub fn is_dangerous(self) -> bool {
        self.spec().is_some_and(|s| s.dangerous)
    }

    pub fn description(self) -> &'static str {
        self.spec().map_or("", |s| s.description)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One line of the help screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpRow {
    /// The bound keys, e.g. `q, ctrl-c`; empty when the user unbound the action.
    pub keys: String,
    pub action: &'static str,
    pub description: &'static str,
    pub layer: Layer,
    /// False for dangerous actions in read-only mode.
    pub available: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    spec: &'static ActionSpec,
    keys: Vec<Key>,
    available: bool,
}

/// The effective keymap: defaults, user overrides, read-only mode.
#[derive(Debug, Clone)]
pub struct Keymap {
    entries: Vec<Entry>,
    dispatch: HashMap<(Layer, Key), Action>,
    read_only: bool,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap::new(&BTreeMap::new(), false).0
    }
}

/// Whether two layers are ever searched by the same view (so their keys can clash).
fn layers_meet(a: Layer, b: Layer) -> bool {
    View::ALL
        .iter()
        .any(|v| v.layers().contains(&a) && v.layers().contains(&b))
}

fn parse_keys(strings: &[&str]) -> (Vec<Key>, Vec<(String, KeyParseError)>) {
    let mut keys = Vec::new();
    let mut bad = Vec::new();
    for s in strings {
        match s.parse::<Key>() {
            Ok(k) if !keys.contains(&k) => keys.push(k),
            Ok(_) => {}
            Err(e) => bad.push((s.to_string(), e)),
        }
    }
    (keys, bad)
}

impl Keymap {
    /// The defaults with `overrides` (action id → keys) merged over them. Unknown actions,
    /// unparsable keys and keys taken from other actions are reported as warnings.
    pub fn new(
        overrides: &BTreeMap<String, Vec<String>>,
        read_only: bool,
    ) -> (Keymap, Vec<String>) {
        let mut warnings = Vec::new();
        let mut entries: Vec<Entry> = ACTIONS
            .iter()
            .map(|spec| {
                let (keys, bad) = parse_keys(spec.default_keys);
                for (s, e) in bad {
                    warnings.push(format!("default key {s:?} for {}: {e}", spec.id));
                }
                Entry {
                    spec,
                    keys,
                    available: !(read_only && spec.dangerous),
                }
            })
            .collect();

        let mut overridden: Vec<Action> = Vec::new();
        for (id, key_strings) in overrides {
            let Some(action) = Action::from_id(id) else {
                warnings.push(format!(
                    "keymap: unknown action {id:?} (action ids are listed on the help screen)"
                ));
                continue;
            };
            let strs: Vec<&str> = key_strings.iter().map(String::as_str).collect();
            let (keys, bad) = parse_keys(&strs);
            for (s, e) in &bad {
                warnings.push(format!("keymap.{id}: cannot read key {s:?}: {e}"));
            }
            if keys.is_empty() && !bad.is_empty() {
                warnings.push(format!("keymap.{id}: no usable key, keeping the defaults"));
                continue;
            }
            let Some(layer) = action.spec().map(|s| s.layer) else {
                continue;
            };
            let mut kept = Vec::new();
            for key in keys {
                let clashes: Vec<usize> = entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        e.spec.action != action
                            && layers_meet(e.spec.layer, layer)
                            && e.keys.contains(&key)
                    })
                    .map(|(i, _)| i)
                    .collect();
                if let Some(taken) = clashes
                    .iter()
                    .map(|i| &entries[*i])
                    .find(|e| overridden.contains(&e.spec.action))
                {
                    warnings.push(format!(
                        "keymap.{id}: key {key} is already bound to {}; ignored",
                        taken.spec.id
                    ));
                    continue;
                }
                for i in clashes {
                    let other = &mut entries[i];
                    other.keys.retain(|k| *k != key);
                    warnings.push(format!(
                        "keymap.{id}: key {key} now triggers {id} instead of {}",
                        other.spec.id
                    ));
                }
                kept.push(key);
            }
            if let Some(entry) = entries.iter_mut().find(|e| e.spec.action == action) {
                entry.keys = kept;
            }
            overridden.push(action);
        }

        let mut dispatch = HashMap::new();
        for entry in entries.iter().filter(|e| e.available) {
            for key in &entry.keys {
                dispatch
                    .entry((entry.spec.layer, *key))
                    .or_insert(entry.spec.action);
            }
        }
        (
            Keymap {
                entries,
                dispatch,
                read_only,
            },
            warnings,
        )
    }

    /// Whether dangerous actions were dropped.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The action a key event asks for in `view`, if any. Releases never match; in text
    /// prompts plain characters are text and never match.
    pub fn lookup(&self, view: View, event: &KeyEvent) -> Option<Action> {
        self.lookup_key(view, Key::from_event(event)?)
    }

    /// As [`Keymap::lookup`], for a normalised key.
    pub fn lookup_key(&self, view: View, key: Key) -> Option<Action> {
        if view.is_text_input() && key.is_text() {
            return None;
        }
        view.layers()
            .iter()
            .find_map(|layer| self.dispatch.get(&(*layer, key)).copied())
    }

    /// The action bound to `key` in one layer (dialogs look up navigation keys this way).
    pub fn lookup_layer(&self, layer: Layer, key: Key) -> Option<Action> {
        self.dispatch.get(&(layer, key)).copied()
    }

    /// The keys bound to an action (empty when unbound).
    pub fn keys(&self, action: Action) -> &[Key] {
        self.entries
            .iter()
            .find(|e| e.spec.action == action)
            .map_or(&[], |e| e.keys.as_slice())
    }

    /// Whether the action can be dispatched (false for dangerous actions in read-only mode).
    pub fn is_available(&self, action: Action) -> bool {
        self.entries
            .iter()
            .any(|e| e.spec.action == action && e.available)
    }

    /// The keys that reach `action` in `view` (bound in a searched layer, not shadowed, not
    /// text in a prompt).
    fn keys_in_view(&self, view: View, entry: &Entry) -> Vec<Key> {
        if !entry.available || !view.layers().contains(&entry.spec.layer) {
            return Vec::new();
        }
        entry
            .keys
            .iter()
            .copied()
            .filter(|k| self.lookup_key(view, *k) == Some(entry.spec.action))
            .collect()
    }

    /// The hint bar for `view`: (first key, short label), in table order.
    pub fn hints(&self, view: View) -> Vec<(String, &'static str)> {
        self.hint_actions(view)
            .into_iter()
            .map(|(_, key, label)| (key, label))
            .collect()
    }

    /// As [`Keymap::hints`], with the action of each hint.
    pub fn hint_actions(&self, view: View) -> Vec<(Action, String, &'static str)> {
        self.entries
            .iter()
            .filter(|e| e.spec.action.is_built())
            .filter(|e| {
                !view.is_dialog() || e.spec.layer == Layer::Prompt || e.spec.action == Action::Quit
            })
            .filter_map(|e| {
                let label = e.spec.hint?;
                let key = self.keys_in_view(view, e).into_iter().next()?;
                Some((e.spec.action, key.to_string(), label))
            })
            .collect()
    }

    /// Every action for the help screen, grouped by layer in table order.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        let mut rows: Vec<HelpRow> = self
            .entries
            .iter()
            .filter(|e| e.spec.action.is_built())
            .map(|e| HelpRow {
                keys: e
                    .keys
                    .iter()
                    .map(Key::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                action: e.spec.id,
                description: e.spec.description,
                layer: e.spec.layer,
                available: e.available,
            })
            .collect();
        rows.sort_by_key(|r| r.layer);
        rows
    }
}

#[cfg(test)]
mod tests;
