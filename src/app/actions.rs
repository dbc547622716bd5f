//! Actions in the app: what is under way per object (progress, then the outcome), from the
//! executor's messages, and what the object's tree row shows of it. Intents are plain data;
//! `update` only asks for them with [`Effect::Execute`](super::msg::Effect::Execute) (from the
//! reconcile menu and the confirm dialog, [`super::confirm`]), and never in a read-only
//! session.

use k8s_openapi::jiff::Timestamp;

use crate::actions::intent::Intent;
use crate::actions::run::Outcome;
use crate::domain::flux::ObjectKey;

use super::msg::Effect;
use super::state::{AppState, FlashLevel};
use crate::actions::writer::Permission;

/// How long an outcome stays on the object's row (by the app's clock); the details pane
/// keeps the latest action.
pub const OUTCOME_SECONDS: i64 = 60;

/// Where one object's latest action stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionStatus {
    pub intent: Intent,
    /// When it was asked for.
    pub started: Timestamp,
    /// What it is doing now (while running).
    pub progress: String,
    /// `None` while running; then the outcome (`Err`: it could not run).
    pub done: Option<Result<Outcome, String>>,
    /// When the outcome arrived (the app's clock).
    pub finished: Option<Timestamp>,
}

impl ActionStatus {
    pub fn running(&self) -> bool {
        self.done.is_none()
    }

    /// Whether it ended badly (failed, timed out or could not run).
    pub fn failed(&self) -> bool {
        matches!(&self.done, Some(Ok(o)) if !o.ok) || matches!(&self.done, Some(Err(_)))
    }

    /// Whether the object's row shows it at `now`: while it runs, and for
    /// [`OUTCOME_SECONDS`] after it ended.
    pub fn on_row(&self, now: Timestamp) -> bool {
        match self.finished {
            None => self.running(),
            Some(at) => now.as_second() < at.as_second() + OUTCOME_SECONDS,
        }
    }

    /// One line for the object's row and the details.
    pub fn line(&self) -> String {
        match &self.done {
            None => format!("{}: {}", self.intent.verb(), self.progress),
            Some(Ok(o)) if o.ok => format!("{} done: {}", self.intent.verb(), o.message),
            Some(Ok(o)) => format!("{} failed: {}", self.intent.verb(), o.message),
            Some(Err(e)) => format!("{} not done: {e}", self.intent.verb()),
        }
    }
}

/// A HelmRelease rolled back in this session (the row's banner).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolledBack {
    /// The revision rolled back to.
    pub to: i64,
    /// When the rollback finished (the app's clock).
    pub at: Timestamp,
    /// The HelmRelease was seen suspended since (so a snapshot showing it not suspended
    /// means it was resumed, not that the snapshot predates the suspend).
    pub seen_suspended: bool,
}

impl RolledBack {
    /// The banner on the row and in the details.
    pub fn banner(&self) -> String {
        format!(
            "rolled back to revision {} at {} — suspended; Flux re-applies Git when resumed: \
             fix Git first (pin chart version and values)",
            self.to,
            self.at.strftime("%H:%M")
        )
    }
}

/// Whether an action needing a permission can be offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    Yes,
    /// Being asked; the action waits for the answer.
    Checking,
    /// Denied: the missing permission.
    No(String),
}

impl AppState {
    /// Whether `p` is allowed as far as known; asks the API server (once) when unknown. A
    /// read-only session never asks (it has no writer): everything is denied as read-only.
    pub fn allowed(&mut self, p: &Permission) -> (Allowed, Vec<Effect>) {
        if let Some(reason) = &self.read_only {
            return (Allowed::No(format!("read-only ({reason})")), Vec::new());
        }
        match self.access.get(p) {
            Some(Some(Ok(true))) => (Allowed::Yes, Vec::new()),
            Some(Some(Ok(false))) => (Allowed::No(format!("missing permission: {p}")), Vec::new()),
            // The review itself failed: offer the action; the API server has the last word.
            Some(Some(Err(_))) => (Allowed::Yes, Vec::new()),
            Some(None) => (Allowed::Checking, Vec::new()),
            None => {
                self.access.insert(p.clone(), None);
                (Allowed::Checking, vec![Effect::CheckAccess(p.clone())])
            }
        }
    }

    pub(crate) fn access_answered(&mut self, p: Permission, result: Result<bool, String>) {
        if let Err(e) = &result {
            tracing::warn!(permission = %p, error = %e, "access review failed");
        }
        self.access.insert(p, Some(result));
        self.dirty = true;
    }

    /// Record that `intent` was sent to the executor.
    pub fn action_started(&mut self, intent: Intent) {
        let key = intent.target().clone();
        self.actions.insert(
            key,
            ActionStatus {
                intent,
                started: self.now,
                progress: "requested".into(),
                done: None,
                finished: None,
            },
        );
        self.dirty = true;
        self.refresh_details_lines();
    }

    /// The rollback banner of a HelmRelease's row, if it was rolled back in this session and
    /// not resumed since.
    pub fn rollback_banner(&self, key: &ObjectKey) -> Option<String> {
        self.rolled_back.get(key).map(RolledBack::banner)
    }

    /// After a new snapshot: a rolled-back HelmRelease seen suspended and then not suspended
    /// was resumed (outside this session too): its banner goes.
    pub(crate) fn follow_rolled_back(&mut self) {
        let Some(snap) = self.snapshot.clone() else {
            return;
        };
        self.rolled_back.retain(|key, rb| match snap.flux.get(key) {
            Some(obj) if obj.suspended() => {
                rb.seen_suspended = true;
                true
            }
            Some(_) => !rb.seen_suspended,
            None => true,
        });
    }

    /// The action the object's row shows instead of its message, if any.
    pub fn row_action(&self, key: &ObjectKey) -> Option<&ActionStatus> {
        self.actions.get(key).filter(|a| a.on_row(self.now))
    }

    /// How many actions rows show now (to tell when the clock took an outcome off).
    pub(crate) fn actions_on_rows(&self) -> usize {
        self.actions.values().filter(|a| a.on_row(self.now)).count()
    }

    pub(crate) fn action_progress(&mut self, intent: Intent, text: String) {
        if let Some(a) = self.actions.get_mut(intent.target())
            && a.intent == intent
            && a.running()
        {
            a.progress = text;
            self.dirty = true;
            self.refresh_details_lines();
        }
    }

    pub(crate) fn action_done(&mut self, intent: Intent, result: Result<Outcome, String>) {
        let level = match &result {
            Ok(o) if o.ok => FlashLevel::Info,
            Ok(_) => FlashLevel::Error,
            Err(_) => FlashLevel::Error,
        };
        let key = intent.target().clone();
        self.actions.entry(key).or_insert_with(|| ActionStatus {
            intent: intent.clone(),
            started: self.now,
            progress: String::new(),
            done: None,
            finished: None,
        });
        match (&intent, &result) {
            (Intent::Rollback { to, .. }, Ok(o)) if o.ok => {
                self.rolled_back.insert(
                    intent.target().clone(),
                    RolledBack {
                        to: *to,
                        at: self.now,
                        seen_suspended: false,
                    },
                );
            }
            (Intent::Resume { target }, Ok(_)) => {
                self.rolled_back.remove(target);
            }
            _ => {}
        }
        let Some(status) = self.actions.get_mut(intent.target()) else {
            return;
        };
        status.intent = intent;
        status.done = Some(result);
        status.finished = Some(self.now);
        let line = status.line();
        self.flash_with(level, line);
        self.dirty = true;
        self.refresh_details_lines();
    }
}
