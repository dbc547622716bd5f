//! fluxdeck: a terminal UI for Flux CD.
//!
//! - [`domain`]: pure functions over plain data (tree, health, dependencies, Helm storage, diffs).
//! - [`sim`]: the simulated cluster (Kubernetes API server on loopback with Flux behaviour).

pub mod app;
pub mod config;
pub mod domain;
pub mod runtime;
pub mod sim;
pub mod theme;
