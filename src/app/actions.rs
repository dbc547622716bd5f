//! Actions in the app: what is under way per object (progress, then the outcome), from the
//! executor's messages. Intents are plain data; `update` only asks for them with
//! [`Effect::Execute`](super::msg::Effect::Execute), and never in a read-only session.

use k8s_openapi::jiff::Timestamp;

use crate::actions::intent::Intent;
use crate::actions::run::Outcome;

use super::msg::Effect;
use super::state::{AppState, FlashLevel};
use crate::actions::writer::Permission;

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
}

impl ActionStatus {
    pub fn running(&self) -> bool {
        self.done.is_none()
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
            },
        );
        self.dirty = true;
    }

    pub(crate) fn action_progress(&mut self, intent: Intent, text: String) {
        if let Some(a) = self.actions.get_mut(intent.target())
            && a.intent == intent
            && a.running()
        {
            a.progress = text;
            self.dirty = true;
        }
    }

    pub(crate) fn action_done(&mut self, intent: Intent, result: Result<Outcome, String>) {
        let level = match &result {
            Ok(o) if o.ok => FlashLevel::Info,
            Ok(_) => FlashLevel::Error,
            Err(_) => FlashLevel::Error,
        };
        let key = intent.target().clone();
        let status = self.actions.entry(key).or_insert_with(|| ActionStatus {
            intent: intent.clone(),
            started: self.now,
            progress: String::new(),
            done: None,
        });
        status.intent = intent;
        status.done = Some(result);
        let line = status.line();
        self.flash_with(level, line);
        self.dirty = true;
    }
}
