//! Process plumbing around the UI: the terminal (raw mode, alternate screen, restore on panic,
//! signals, Ctrl-Z), logging to a file, what a panic does to the process, and returning freed
//! memory to the system.

pub mod event_loop;
pub mod executor;
pub mod logging;
pub mod panic;
pub mod priority;
pub mod terminal;
pub mod values_check;
