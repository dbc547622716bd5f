//! Messages into the app (keys, data from the cluster, results of fetches) and the effects
//! it asks the runtime to carry out. `app::update` turns one into the other; the runtime
//! does the I/O on tasks and feeds results back as messages.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crossterm::event::KeyEvent;
use k8s_openapi::jiff::Timestamp;

use crate::actions::diffs::{DriftData, ValuesData};
use crate::actions::history::HistoryData;
use crate::actions::intent::Intent;
use crate::actions::run::Outcome;
use crate::actions::writer::Permission;
use crate::config::ReadOnlyReason;
use crate::domain::flux::ObjectKey;
use crate::domain::tree::{Scope, Snapshot};
use crate::theme::Theme;

/// What a watch covers, as the header shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchScope {
    /// Kind name, e.g. `HelmRelease`, `Deployment`.
    pub kind: String,
    /// `None` = all namespaces.
    pub namespace: Option<String>,
}

/// Health of one watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchStatus {
    Connecting,
    Connected,
    /// The stream failed; the last known state is kept and marked stale.
    Reconnecting {
        since: Timestamp,
        error: String,
    },
    Forbidden {
        message: String,
    },
    /// The kind is not served (CRD not installed).
    NotInstalled,
}

pub use crate::domain::events::EventRow;

/// Into the app.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Coarse clock tick: the new `now` (ages are recomputed from it).
    Tick(Timestamp),
    /// A new snapshot of the watched objects (built by the runtime after store changes).
    Snapshot(Arc<Snapshot>),
    /// A new snapshot already analysed and built into a tree
    /// ([`prepare`](super::prepare::prepare), done off the UI task); same effect as
    /// [`Msg::Snapshot`].
    Prepared(Arc<super::prepare::Prepared>),
    /// Objects that could not be read (malformed), with what is wrong.
    DecodeErrors(Vec<String>),
    /// Health of every watch.
    WatchHealth(BTreeMap<WatchScope, WatchStatus>),
    /// The answer to [`Effect::FetchEvents`].
    Events {
        key: ObjectKey,
        result: Result<Vec<EventRow>, String>,
    },
    /// The answer to [`Effect::FetchYaml`]: the object as YAML with managedFields removed.
    Yaml {
        key: ObjectKey,
        result: Result<String, String>,
    },
    /// The answer to [`Effect::FetchHistory`]: the release history of a HelmRelease.
    History {
        key: ObjectKey,
        result: Result<Box<HistoryData>, String>,
    },
    /// The answer to [`Effect::FetchValuesDiff`]: desired and deployed values of a
    /// HelmRelease.
    ValuesDiff {
        key: ObjectKey,
        result: Result<Box<ValuesData>, String>,
    },
    /// The answer to [`Effect::FetchDrift`]: the drift of a HelmRelease's objects.
    Drift {
        key: ObjectKey,
        result: Result<Box<DriftData>, String>,
    },
    /// The answer to [`Effect::FetchEvidence`]: what explains why the object fails.
    Evidence {
        key: ObjectKey,
        result: Result<Box<crate::domain::evidence::Evidence>, String>,
    },
    /// The context or namespace switch finished (or failed).
    Switched {
        context: String,
        server: String,
        namespace: Option<String>,
        result: Result<(), String>,
    },
    /// The answer to [`Effect::CheckAccess`]: whether the session may do this.
    Access {
        permission: Permission,
        result: Result<bool, String>,
    },
    /// An action is under way: what it is doing now.
    ActionProgress {
        intent: Intent,
        text: String,
    },
    /// An action ended: its outcome, or why it could not run.
    ActionDone {
        intent: Intent,
        result: Result<Outcome, String>,
    },
    /// Changes of the `values pending` marks, by HelmRelease: `Some(revision)` when its
    /// desired values differ from the `config` of that deployed revision, `None` when they do
    /// not (or can no longer be told). Computed in the background; an empty map once the first
    /// pass over every HelmRelease is done.
    ValuesPending(BTreeMap<ObjectKey, Option<i64>>),
    /// The answer to [`Effect::LoadTheme`]: the theme asked for (as typed), loaded or why not.
    ThemeLoaded {
        name: String,
        result: Result<Box<Theme>, String>,
    },
    /// The answer to [`Effect::ListChoices`]: the contexts of the kubeconfig.
    Contexts(Result<Vec<String>, String>),
    /// The answer to [`Effect::ListChoices`]: the namespaces of the cluster.
    Namespaces(Result<Vec<String>, String>),
    /// The session became read-only (e.g. after switching to a context matching a
    /// `readOnlyContexts` pattern). There is no message to turn read-only off.
    ReadOnly(ReadOnlyReason),
}

/// Out of the app, carried out by the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Fetch the latest Events about an object (fieldSelector on involvedObject).
    FetchEvents(ObjectKey),
    /// Fetch an object and render it as YAML.
    FetchYaml(ObjectKey),
    /// Read the release history of a HelmRelease (GETs only).
    FetchHistory(ObjectKey),
    /// Compose a HelmRelease's desired values and read its deployed release's (GETs only).
    FetchValuesDiff(ObjectKey),
    /// Compare a HelmRelease's deployed manifest with the live objects (GETs and apply
    /// dry-runs, which change nothing).
    FetchDrift(ObjectKey),
    /// Gather the evidence below a failing object (its release record, workloads, pods,
    /// Warning events; GETs and LISTs only, once: nothing is watched for it).
    FetchEvidence(ObjectKey),
    /// The managed-object watches the visible tree needs, per (kind, namespace). The runtime
    /// starts the missing ones and releases the others.
    WatchScopes(BTreeSet<Scope>),
    /// `:ctx NAME`: switch context and restart the watches.
    SwitchContext(String),
    /// `:ns NAME` (or `:ns` / `:ns all` for all namespaces).
    SwitchNamespace(Option<String>),
    /// Carry out an action on the cluster (through the session's writer; refused when the
    /// session is read-only).
    Execute(Intent),
    /// Ask the API server whether the session has a permission (never sent by a read-only
    /// session: it has no writer).
    CheckAccess(Permission),
    /// `:theme NAME`: load a built-in theme or a theme file (a file read, off the UI task).
    LoadTheme(String),
    /// Draw with this theme from now on (the whole screen is redrawn).
    UseTheme(Box<Theme>),
    /// Read what the command line completes from: the kubeconfig's contexts and the
    /// cluster's namespaces (answered by [`Msg::Contexts`] and [`Msg::Namespaces`]).
    ListChoices,
    /// Ctrl-Z: suspend the process (terminal restored first).
    SuspendProcess,
    /// Ctrl-L: redraw the whole screen.
    ForceRedraw,
    /// Free what the shown state no longer uses, off the UI task (a large estate's
    /// snapshot, analysis and tree take tens of milliseconds to free).
    Retire(Retired),
}

/// The previous snapshot, analysis and trees, replaced by a newer rebuild.
#[derive(Clone, Default)]
pub struct Retired {
    pub snapshot: Option<std::sync::Arc<Snapshot>>,
    pub analysis: Option<super::state::SharedAnalysis>,
    pub trees: Vec<crate::domain::tree::Tree>,
}

impl Retired {
    /// Nothing to free.
    pub fn is_empty(&self) -> bool {
        self.snapshot.is_none() && self.analysis.is_none() && self.trees.is_empty()
    }
}

impl std::fmt::Debug for Retired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: usize = self.trees.iter().map(|t| t.len()).sum();
        write!(
            f,
            "Retired(snapshot: {}, analysis: {}, {nodes} tree nodes)",
            self.snapshot.is_some(),
            self.analysis.is_some()
        )
    }
}

impl PartialEq for Retired {
    /// The same snapshot and analysis (by identity) and equal trees.
    fn eq(&self, other: &Retired) -> bool {
        fn same<T>(a: Option<&std::sync::Arc<T>>, b: Option<&std::sync::Arc<T>>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        same(self.snapshot.as_ref(), other.snapshot.as_ref())
            && same(
                self.analysis.as_ref().map(|a| &a.0),
                other.analysis.as_ref().map(|a| &a.0),
            )
            && self.trees == other.trees
    }
}

impl Eq for Retired {}
