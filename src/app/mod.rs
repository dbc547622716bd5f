//! Application logic: what keys and events mean. No I/O, no clock, no terminal.

pub mod keys;
pub mod msg;
