//! Pure functions over plain data: no I/O, no clock, no kube client, no terminal.

pub mod cel;
pub mod contain;
pub mod deps;
pub mod diff;
pub mod drift;
pub mod events;
pub mod evidence;
pub mod flux;
pub mod health;
pub mod helm_history;
pub mod helm_storage;
pub mod inventory;
pub mod kstatus;
pub mod label_selector;
pub mod report;
pub mod secrets;
pub mod text;
pub mod tree;
pub mod values;

#[cfg(test)]
pub(crate) mod fixtures;
