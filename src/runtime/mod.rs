//! Process plumbing around the UI: the terminal (raw mode, alternate screen, restore on panic,
//! signals, Ctrl-Z) and logging to a file.

pub mod event_loop;
pub mod executor;
pub mod logging;
pub mod terminal;
