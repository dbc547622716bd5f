//! [`AppState`]: everything the screen shows, and the data derived from it (the tree, its
//! narrowed form, the visible rows, the details of the selected object). Only
//! [`update`](super::update::update) changes it; the view reads it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;

use crate::actions::writer::Permission;
use crate::app::keys::{Keymap, View};
use crate::app::msg::{EventRow, WatchScope, WatchStatus};
use crate::config::ReadOnlyReason;
use crate::domain::deps::Analysis;
use crate::domain::flux::ObjectKey;
use crate::domain::tree::{Filter, Node, Scope, Snapshot, StateCounts, Tree};

pub use super::actions::{ActionStatus, RolledBack};
pub use super::confirm::Modal;
use super::diff::DiffView;
use super::history::HistoryView;
use super::layout;
use super::text::TextLine;
use super::why::WhyView;
use super::yaml::YamlView;

/// How long a flash message stays (it also goes on the next key). Errors stay until a key.
pub const FLASH_SECONDS: i64 = 4;
/// How many notices `:messages` keeps.
pub const NOTICES_KEPT: usize = 100;

/// How long a watch may be reconnecting before the header says so: a watch that comes back
/// within this many seconds does not disturb the connection status.
pub const RECONNECT_GRACE_SECONDS: i64 = 2;

/// Whether a watch failing since `since` has been failing for the grace period at `now`.
pub fn past_grace(now: Timestamp, since: Timestamp) -> bool {
    now.as_second() - since.as_second() >= RECONNECT_GRACE_SECONDS
}

/// What the runtime knows when the UI starts.
#[derive(Clone, Debug)]
pub struct AppInit {
    pub context: String,
    /// API server URL, as shown in the header.
    pub server: String,
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    /// Why the session is read-only, if it is.
    pub read_only: Option<ReadOnlyReason>,
    /// Keymap overrides from the config file (action id → keys).
    pub keymap_overrides: BTreeMap<String, Vec<String>>,
    /// ASCII glyphs and tree lines.
    pub ascii: bool,
    pub now: Timestamp,
    /// The log file, shown on the help screen.
    pub log_file: Option<PathBuf>,
    /// Terminal size (columns, rows) at start.
    pub size: (u16, u16),
}

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Details,
}

/// A one-line text prompt at the bottom of the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// `/` in the tree: the filter, applied as you type.
    Filter,
    /// `:` command line.
    Command,
    /// `/` in the YAML view: search, highlighted as you type.
    Search,
}

impl PromptKind {
    /// The character shown before the text.
    pub fn sigil(self) -> &'static str {
        match self {
            PromptKind::Filter | PromptKind::Search => "/",
            PromptKind::Command => ":",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
    /// What is wrong with the text so far (a filter that cannot be read).
    pub error: Option<String>,
    /// What the command line's last word can be completed to (Tab completes).
    pub choices: Vec<String>,
}

impl Prompt {
    pub fn new(kind: PromptKind, text: impl Into<String>) -> Prompt {
        Prompt {
            kind,
            text: text.into(),
            error: None,
            choices: Vec::new(),
        }
    }
}

/// How important a flash message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashLevel {
    Info,
    Warning,
    Error,
}

/// A short message replacing the hint bar until the next key or [`FLASH_SECONDS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub level: FlashLevel,
    /// Unix second after which it goes.
    pub until: i64,
}

/// A flash message as kept for `:messages`: when it was shown and what it said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub at: Timestamp,
    pub level: FlashLevel,
    pub text: String,
}

/// A list shown over the panes by a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// `:messages`: the last notices, newest last.
    Messages,
    /// `:ctx`: the kubeconfig's contexts, the one in use marked.
    Contexts,
}

/// The latest events about the object in the details pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventsState {
    /// Not an object (a group), nothing to fetch.
    None,
    Loading,
    Loaded(Vec<EventRow>),
    Failed(String),
}

/// The details pane.
#[derive(Clone, Debug, PartialEq)]
pub struct DetailsPane {
    /// Path of the node shown.
    pub path: Vec<String>,
    /// The object shown (`None` for a group node).
    pub key: Option<ObjectKey>,
    /// The object's resourceVersion when events were last requested.
    pub resource_version: Option<String>,
    pub events: EventsState,
    /// The evidence below a failing HelmRelease (asked for when it is shown).
    pub evidence: super::evidence::EvidenceState,
    /// First wrapped row shown.
    pub scroll: usize,
    /// The content (rebuilt when the object, its events or the clock label inputs change).
    pub lines: Vec<TextLine>,
}

/// A full-screen view over the panes.
#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Yaml(YamlView),
    Why(WhyView),
    History(HistoryView),
    Diff(DiffView),
    /// A list opened by a command (`:messages`, `:ctx`).
    List {
        kind: ListKind,
        scroll: usize,
    },
}

/// The dependency analysis of the current snapshot, computed once with the tree and shared
/// by the tree rows, problems mode and the why view.
#[derive(Clone)]
pub struct SharedAnalysis(pub Arc<Analysis>);

impl Deref for SharedAnalysis {
    type Target = Analysis;

    fn deref(&self) -> &Analysis {
        &self.0
    }
}

impl fmt::Debug for SharedAnalysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Analysis({} cycles)", self.0.cycles().len())
    }
}

/// One visible row of the tree (owned, so the state keeps it between updates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisibleRow {
    /// Ids from the root to this node.
    pub path: Vec<String>,
    /// Child indices from the root to this node in the shown tree.
    pub indices: Vec<usize>,
    pub depth: usize,
    pub expanded: bool,
    pub has_children: bool,
    /// Tree lines (`├── `), already in the chosen glyph set.
    pub prefix: String,
}

/// The whole UI state.
#[derive(Debug)]
pub struct AppState {
    pub context: String,
    pub server: String,
    pub namespace: Option<String>,
    pub read_only: Option<ReadOnlyReason>,
    pub keymap: Keymap,
    pub(crate) keymap_overrides: BTreeMap<String, Vec<String>>,
    /// Problems with the keymap overrides (shown once as a flash, listed in help).
    pub keymap_warnings: Vec<String>,
    pub ascii: bool,
    pub log_file: Option<PathBuf>,
    /// The clock, from the last Tick or Snapshot (moves in coarse steps: see `update`).
    pub now: Timestamp,
    /// The time of the latest Tick, to the second (when notices were shown).
    pub(crate) tick: Timestamp,
    /// Terminal (columns, rows) from the last Resize.
    pub size: (u16, u16),

    /// The latest snapshot (`None` until the first one arrives).
    pub snapshot: Option<Arc<Snapshot>>,
    /// The dependency analysis of `snapshot`.
    pub analysis: Option<SharedAnalysis>,
    /// The whole tree built from the snapshot.
    pub tree: Tree,
    /// The tree narrowed by problems mode and the filter (`None`: not narrowed).
    pub(crate) narrowed: Option<Tree>,
    /// Visible rows of the shown tree.
    pub rows: Vec<VisibleRow>,
    /// Flux objects by state (header).
    pub flux_counts: StateCounts,
    pub decode_errors: Vec<String>,
    pub watch: BTreeMap<WatchScope, WatchStatus>,

    /// Expanded node paths (normal mode).
    pub(crate) expanded: HashSet<Vec<String>>,
    /// Paths collapsed by hand while narrowed (narrowed trees start fully expanded).
    pub(crate) narrow_collapsed: HashSet<Vec<String>>,
    /// Paths the default expansion was already applied to.
    pub(crate) defaulted: HashSet<Vec<String>>,
    /// The selected node's path.
    pub selected: Option<Vec<String>>,
    /// Index of the selected row in `rows`.
    pub cursor: usize,
    /// First row shown.
    pub scroll: usize,

    /// The applied filter text and its parsed form.
    pub filter_text: String,
    pub(crate) filter: Filter,
    /// Problems mode: only unhealthy objects and their ancestors.
    pub problems: bool,
    /// The tree's column headers as toggled; `None` follows the width
    /// ([`layout::column_headers`]).
    pub column_headers: Option<bool>,

    pub focus: Focus,
    pub details: Option<DetailsPane>,
    pub overlay: Option<Overlay>,
    /// A dialog over everything (the reconcile menu, a confirmation); it has the keyboard.
    pub modal: Option<Modal>,
    pub prompt: Option<Prompt>,
    pub flash: Option<Flash>,
    /// Every flash message of the session, oldest first ([`NOTICES_KEPT`] at most).
    pub notices: std::collections::VecDeque<Notice>,
    /// The kubeconfig's contexts (`None` until read), for `:ctx`.
    pub contexts: Option<Result<Vec<String>, String>>,
    /// The cluster's namespaces (`None` until listed), for `:ns`.
    pub namespaces: Option<Result<Vec<String>, String>>,

    /// Permissions asked of the API server (SelfSubjectAccessReview): `None` while asked.
    pub access: BTreeMap<Permission, Option<Result<bool, String>>>,
    /// A `:ctx`/`:ns` switch under way (what it switches to): the header says so until the
    /// new watches are up or the switch failed; the old view stays usable meanwhile.
    pub switching: Option<String>,
    /// Actions started in this session, by object: progress, then the outcome.
    pub actions: BTreeMap<ObjectKey, ActionStatus>,
    /// HelmReleases rolled back in this session: their rows show a banner until they are
    /// resumed.
    pub rolled_back: BTreeMap<ObjectKey, RolledBack>,
    /// HelmReleases whose desired values differ from their deployed release's `config`, with
    /// that deployed revision (the `values pending` mark; not a failure).
    pub values_pending: BTreeMap<ObjectKey, i64>,
    /// An object the why view asked to go to whose row is not loaded yet (a workload of a
    /// HelmRelease that was collapsed): selected when its row appears, forgotten on the
    /// next key.
    pub(crate) pending_row: Option<ObjectKey>,
    /// A key was pressed: from then on the selection follows its object as the tree
    /// changes; before, it stays on the first row while the tree fills in (objects arrive
    /// in any order, and a row that was first may end up last).
    pub(crate) selection_touched: bool,

    /// The managed-object watch scopes last asked of the runtime.
    pub(crate) sent_scopes: Option<BTreeSet<Scope>>,
    /// What the scopes were last derived from (see `AppState::scopes_effect`).
    pub(crate) scopes_input: Option<super::nav::ScopesInput>,
    /// Counts the changes of `rows` and of the snapshot they show.
    pub(crate) rows_generation: u64,
    pub(crate) dirty: bool,
}

impl AppState {
    pub fn new(init: AppInit) -> AppState {
        let (keymap, keymap_warnings) =
            Keymap::new(&init.keymap_overrides, init.read_only.is_some());
        let mut state = AppState {
            context: init.context,
            server: init.server,
            namespace: init.namespace,
            read_only: init.read_only,
            keymap,
            keymap_overrides: init.keymap_overrides,
            keymap_warnings,
            ascii: init.ascii,
            log_file: init.log_file,
            now: init.now,
            tick: init.now,
            size: init.size,
            snapshot: None,
            analysis: None,
            tree: Tree::default(),
            narrowed: None,
            rows: Vec::new(),
            flux_counts: StateCounts::default(),
            decode_errors: Vec::new(),
            watch: BTreeMap::new(),
            expanded: HashSet::new(),
            narrow_collapsed: HashSet::new(),
            defaulted: HashSet::new(),
            selected: None,
            cursor: 0,
            scroll: 0,
            filter_text: String::new(),
            filter: Filter::default(),
            problems: false,
            column_headers: None,
            focus: Focus::Tree,
            details: None,
            overlay: None,
            modal: None,
            actions: BTreeMap::new(),
            switching: None,
            rolled_back: BTreeMap::new(),
            values_pending: BTreeMap::new(),
            pending_row: None,
            selection_touched: false,
            access: BTreeMap::new(),
            prompt: None,
            flash: None,
            notices: std::collections::VecDeque::new(),
            contexts: None,
            namespaces: None,
            sent_scopes: None,
            scopes_input: None,
            rows_generation: 0,
            dirty: true,
        };
        if let Some(first) = state.keymap_warnings.first().cloned() {
            let more = state.keymap_warnings.len() - 1;
            let text = if more > 0 {
                format!("{first} (and {more} more: see help)")
            } else {
                first
            };
            state.flash_with(FlashLevel::Warning, text);
        }
        state
    }

    /// Whether anything visible changed since the last [`AppState::mark_drawn`].
    pub fn needs_redraw(&self) -> bool {
        self.dirty
    }

    /// The runtime drew the state.
    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    /// The tree as shown (narrowed or whole).
    pub fn shown_tree(&self) -> &Tree {
        self.narrowed.as_ref().unwrap_or(&self.tree)
    }

    /// Whether problems mode or a filter narrows the tree.
    pub fn is_narrowed(&self) -> bool {
        self.narrowed.is_some()
    }

    /// The node of a visible row.
    pub fn node_of(&self, row: &VisibleRow) -> Option<&Node> {
        let tree = self.shown_tree();
        let (first, rest) = row.indices.split_first()?;
        let mut node = tree.roots.get(*first)?;
        for i in rest {
            node = node.children.get(*i)?;
        }
        Some(node)
    }

    /// The selected row and its node.
    pub fn selected_row(&self) -> Option<(&VisibleRow, &Node)> {
        let row = self.rows.get(self.cursor)?;
        Some((row, self.node_of(row)?))
    }

    /// The selected object, if the selection is an object.
    pub fn selected_key(&self) -> Option<&ObjectKey> {
        self.selected_row().and_then(|(_, n)| n.key.as_ref())
    }

    /// What has the keyboard: the keymap context for dispatch and the hint bar.
    pub fn key_view(&self) -> View {
        if let Some(p) = &self.prompt {
            return match p.kind {
                PromptKind::Filter | PromptKind::Search => View::Filter,
                PromptKind::Command => View::Command,
            };
        }
        if self.modal.is_some() {
            return View::Confirm;
        }
        match &self.overlay {
            Some(Overlay::Help { .. } | Overlay::List { .. }) => return View::Help,
            Some(Overlay::Yaml(_)) => return View::Yaml,
            Some(Overlay::Why(_)) => return View::Why,
            // The rollback preview is a diff: its keys are the diff view's.
            Some(Overlay::History(h)) if h.step == super::history::Step::Preview => {
                return View::Diff;
            }
            Some(Overlay::History(_)) => return View::History,
            Some(Overlay::Diff(_)) => return View::Diff,
            None => {}
        }
        if self.details.is_some() && self.focus == Focus::Details {
            View::Details
        } else {
            View::Tree
        }
    }

    /// Whether the data may be out of date (a watch is reconnecting).
    pub fn is_stale(&self) -> bool {
        self.watch
            .values()
            .any(|s| matches!(s, WatchStatus::Reconnecting { .. }))
    }

    /// The watches the header reports as reconnecting: those failing for at least
    /// [`RECONNECT_GRACE_SECONDS`] by the app's clock (a shorter blip of one watch leaves the
    /// connection status alone), with when they failed and the last error.
    pub fn reconnecting(&self) -> Vec<(&WatchScope, Timestamp, &str)> {
        self.watch
            .iter()
            .filter_map(|(scope, status)| match status {
                WatchStatus::Reconnecting { since, error } if past_grace(self.now, *since) => {
                    Some((scope, *since, error.as_str()))
                }
                _ => None,
            })
            .collect()
    }

    /// Kinds whose API is not served, for the header banner.
    pub fn not_installed(&self) -> Vec<&str> {
        let mut kinds: Vec<&str> = self
            .watch
            .iter()
            .filter(|(_, s)| matches!(s, WatchStatus::NotInstalled))
            .map(|(scope, _)| scope.kind.as_str())
            .collect();
        kinds.dedup();
        kinds
    }

    /// The screen layout for the current size.
    pub fn screen(&self) -> layout::Screen {
        layout::screen(self)
    }

    /// Rows of the tree pane that show rows (inside its border, below the column headers).
    pub fn tree_page(&self) -> usize {
        super::layout::tree_page(self)
    }

    pub(crate) fn flash_with(&mut self, level: FlashLevel, text: impl Into<String>) {
        let text = text.into();
        // Every notice goes to the log and to `:messages`.
        match level {
            FlashLevel::Error => tracing::warn!(message = %text, "shown as an error"),
            FlashLevel::Warning => tracing::info!(message = %text, "shown as a warning"),
            FlashLevel::Info => tracing::info!(message = %text, "shown"),
        }
        if self.notices.len() >= NOTICES_KEPT {
            self.notices.pop_front();
        }
        self.notices.push_back(Notice {
            at: self.tick.max(self.now),
            level,
            text: text.clone(),
        });
        // An error stays until the next key (it may come while the operator looks away); a
        // notice that arrives meanwhile does not replace it (it is in `:messages`). Other
        // notices go after a few seconds.
        let standing_error = self
            .flash
            .as_ref()
            .is_some_and(|f| f.level == FlashLevel::Error);
        if standing_error && level != FlashLevel::Error {
            self.dirty = true;
            return;
        }
        let until = if level == FlashLevel::Error {
            i64::MAX
        } else {
            self.now.as_second() + FLASH_SECONDS
        };
        self.flash = Some(Flash { text, level, until });
        self.dirty = true;
    }
}
