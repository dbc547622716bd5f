//! Actions in the app: what is under way per object (progress, then the outcome), from the
//! executor's messages. Intents are plain data; `update` only asks for them with
//! [`Effect::Execute`](super::msg::Effect::Execute), and never in a read-only session.

use k8s_openapi::jiff::Timestamp;

use crate::actions::intent::Intent;
use crate::actions::run::Outcome;

use super::state::{AppState, FlashLevel};

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

impl AppState {
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
