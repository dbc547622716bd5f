//! fluxdeck: a terminal UI for Flux CD.
//!
//! - [`actions`]: intents, their exact patches, the Writer (the only code that writes) and runs.
//! - [`domain`]: pure functions over plain data (tree, health, dependencies, Helm storage, diffs).
//! - [`sim`]: the simulated cluster (Kubernetes API server on loopback with Flux behaviour).
//! - [`kube`]: the only place that talks to the Kubernetes API (connection, discovery, watches).
//! - [`app`]: what keys and events mean; [`app::keys`] is the one keymap table.
//! - [`theme`]: semantic styles from embedded YAML themes and user overrides.
//! - [`config`]: the XDG config file (theme, read-only contexts, keymap overrides).
//! - [`ui`]: draws the state (`ui::view`): header, tree, details, YAML, help, hints, prompt.
//! - [`runtime`]: terminal guard (raw mode, signals, Ctrl-Z), file logging, the panic policy.

pub mod actions;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod kube;
pub mod runtime;
pub mod sim;
pub mod theme;
pub mod ui;
