//! Process plumbing around the UI: the terminal (raw mode, alternate screen, restore on panic,
//! signals, Ctrl-Z), logging to a file, and what a panic does to the process.

pub mod event_loop;
pub mod executor;
pub mod logging;
pub mod panic;
pub mod terminal;
pub mod values_check;
