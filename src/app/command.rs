//! The `:` command line: `:ns NAME`, `:ns` (all namespaces), `:ctx NAME`, `:theme NAME`,
//! `:q`.

use crate::theme::Theme;

use super::msg::Effect;
use super::state::{AppState, FlashLevel};

/// Run a command line (without the leading `:`).
pub(crate) fn run(state: &mut AppState, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let Some(command) = words.next() else {
        return Vec::new();
    };
    let arg = words.next();
    match command {
        "q" | "q!" | "quit" | "qa" => vec![Effect::Quit],
        "ns" | "namespace" => {
            let ns = arg.filter(|a| !matches!(*a, "all" | "-A" | "*"));
            if let Some(name) = ns
                && let Err(e) = crate::domain::flux::namespace_name(name)
            {
                state.flash_with(FlashLevel::Error, format!(":ns {name}: {e}"));
                return Vec::new();
            }
            let shown = ns.unwrap_or("all namespaces");
            state.flash_with(FlashLevel::Info, format!("switching to {shown}…"));
            state.switching = Some(format!("namespace {shown}"));
            vec![Effect::SwitchNamespace(ns.map(str::to_string))]
        }
        "ctx" | "context" => match arg {
            Some(ctx) => {
                state.flash_with(FlashLevel::Info, format!("switching to context {ctx}…"));
                state.switching = Some(format!("context {ctx}"));
                vec![Effect::SwitchContext(ctx.to_string())]
            }
            None => {
                state.flash_with(FlashLevel::Error, "usage: :ctx NAME");
                Vec::new()
            }
        },
        "theme" => {
            let text = match arg {
                Some(name) if Theme::is_embedded(name) || name.ends_with(".yaml") => (
                    FlashLevel::Info,
                    format!("restart with --theme {name} to use it"),
                ),
                Some(name) => (
                    FlashLevel::Error,
                    format!(
                        "unknown theme {name:?}: built-in themes are {}",
                        Theme::embedded_names().join(", ")
                    ),
                ),
                None => (
                    FlashLevel::Error,
                    format!(
                        "usage: :theme NAME ({})",
                        Theme::embedded_names().join(", ")
                    ),
                ),
            };
            state.flash_with(text.0, text.1);
            Vec::new()
        }
        other => {
            state.flash_with(
                FlashLevel::Error,
                format!("unknown command :{other} (commands: :ns, :ctx, :theme, :q)"),
            );
            Vec::new()
        }
    }
}
