//! Application logic: what keys and events mean. No I/O, no clock, no terminal.
//!
//! - [`state`]: [`AppState`](state::AppState) and [`AppInit`](state::AppInit).
//! - [`update`]: [`update`](update::update), the one place that decides what a message means.
//! - [`keys`]: the keymap table; [`msg`]: messages in and effects out.
//! - [`actions`]: progress and outcomes of actions; [`confirm`]: the reconcile menu and
//!   the confirm dialog of the actions that write.
//! - [`why`]: the why view of one object; [`problems`]: problems mode grouped by root cause.
//! - [`command`]: the `:` command line, its completion and the lists it opens.
//!
//! Effects are never dropped: functions returning them are `#[must_use]`, and `let _ =` on
//! a `#[must_use]` value is refused here (the managed-object watches, derived in
//! [`update`](update::update) after every message, cannot be forgotten by any handler).
#![deny(clippy::let_underscore_must_use)]

pub mod actions;
pub mod command;
pub mod confirm;
pub mod details;
pub mod diff;
mod diffs;
mod evidence;
pub mod format;
pub mod help;
pub mod history;
mod input;
pub mod keys;
pub mod layout;
pub mod msg;
mod nav;
pub mod prepare;
pub mod problems;
pub mod state;
pub mod text;
pub mod update;
pub mod why;
pub mod yaml;

pub use state::{AppInit, AppState};
pub use update::update;
