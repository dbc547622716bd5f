//! The `:` command line: `:ns NAME`, `:ns` (all namespaces), `:ctx` (list) and `:ctx NAME`,
//! `:theme NAME`, `:messages`, `:q`. Tab completes the word under the cursor from what exists
//! (commands, the kubeconfig's contexts, the cluster's namespaces, the built-in themes); a
//! name that does not exist is refused, naming what was asked and the close matches.

use std::collections::BTreeSet;

use crate::theme::Theme;

use super::msg::Effect;
use super::state::{AppState, FlashLevel, ListKind, Overlay, PromptKind};
use super::text::{Seg, TextLine, Tone, wrapped_len};

/// The commands, as completed (aliases work too).
const COMMANDS: [&str; 5] = ["ctx", "messages", "ns", "q", "theme"];
/// What `:ns` takes for all namespaces.
const ALL_NAMESPACES: [&str; 3] = ["all", "-A", "*"];
/// How many close matches a refusal names.
const CLOSE_MATCHES: usize = 3;

/// Run a command line (without the leading `:`).
pub(crate) fn run(state: &mut AppState, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let Some(command) = words.next() else {
        return Vec::new();
    };
    let arg = words.next();
    match command {
        "q" | "q!" | "quit" | "qa" => vec![Effect::Quit],
        "ns" | "namespace" => namespace(state, arg),
        "ctx" | "context" => context(state, arg),
        "theme" => theme(state, arg),
        "messages" | "mes" | "msgs" => {
            open_list(state, ListKind::Messages);
            Vec::new()
        }
        other => {
            state.flash_with(
                FlashLevel::Error,
                format!(
                    "unknown command :{other} (commands: :ns, :ctx, :theme, :messages, :q){}",
                    did_you_mean(other, COMMANDS.iter().copied())
                ),
            );
            Vec::new()
        }
    }
}

fn namespace(state: &mut AppState, arg: Option<&str>) -> Vec<Effect> {
    let ns = arg.filter(|a| !ALL_NAMESPACES.contains(a));
    if let Some(name) = ns {
        if let Err(e) = crate::domain::flux::namespace_name(name) {
            state.flash_with(FlashLevel::Error, format!(":ns {name}: {e}"));
            return Vec::new();
        }
        // Refused only when the cluster's list is known: without it (not listed yet, or
        // not allowed to list) nothing can be said against the name.
        if matches!(state.namespaces, Some(Ok(_))) {
            let known = known_namespaces(state);
            if !known.contains(name) {
                state.flash_with(
                    FlashLevel::Error,
                    format!(
                        ":ns {name}: there is no namespace {name}{}",
                        did_you_mean(name, known.iter().map(String::as_str))
                    ),
                );
                return Vec::new();
            }
        }
    }
    let shown = ns.unwrap_or("all namespaces");
    state.flash_with(FlashLevel::Info, format!("switching to {shown}…"));
    state.switching = Some(format!("namespace {shown}"));
    vec![Effect::SwitchNamespace(ns.map(str::to_string))]
}

fn context(state: &mut AppState, arg: Option<&str>) -> Vec<Effect> {
    let Some(ctx) = arg else {
        open_list(state, ListKind::Contexts);
        return vec![Effect::ListChoices];
    };
    if let Some(Ok(contexts)) = &state.contexts
        && !contexts.iter().any(|c| c == ctx)
    {
        let text = format!(
            ":ctx {ctx}: there is no context {ctx} in the kubeconfig{}",
            match did_you_mean(ctx, contexts.iter().map(String::as_str)) {
                close if close.is_empty() => format!(" (contexts: {})", contexts.join(", ")),
                close => close,
            }
        );
        state.flash_with(FlashLevel::Error, text);
        return Vec::new();
    }
    if ctx == state.context {
        state.flash_with(FlashLevel::Info, format!("context {ctx} is the one in use"));
        return Vec::new();
    }
    state.flash_with(FlashLevel::Info, format!("switching to context {ctx}…"));
    state.switching = Some(format!("context {ctx}"));
    vec![Effect::SwitchContext(ctx.to_string())]
}

fn theme(state: &mut AppState, arg: Option<&str>) -> Vec<Effect> {
    let names = Theme::embedded_names();
    match arg {
        Some(name) if Theme::is_embedded(name) || looks_like_theme_file(name) => {
            vec![Effect::LoadTheme(name.to_string())]
        }
        Some(name) => {
            state.flash_with(
                FlashLevel::Error,
                format!(
                    ":theme {name}: unknown theme {name} (built-in themes: {}; or a path to a \
                     .yaml file){}",
                    names.join(", "),
                    did_you_mean(name, names.iter().copied())
                ),
            );
            Vec::new()
        }
        None => {
            state.flash_with(
                FlashLevel::Error,
                format!("usage: :theme NAME ({}, or a .yaml file)", names.join(", ")),
            );
            Vec::new()
        }
    }
}

/// A theme given as a file: a path or a `.yaml`/`.yml` name (read by the runtime).
fn looks_like_theme_file(name: &str) -> bool {
    name.contains('/') || name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Namespaces known to exist: the cluster's list, and those of the objects watched.
pub(crate) fn known_namespaces(state: &AppState) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = match &state.namespaces {
        Some(Ok(list)) => list.iter().cloned().collect(),
        _ => BTreeSet::new(),
    };
    if let Some(snap) = &state.snapshot {
        known.extend(
            snap.flux
                .keys()
                .map(|k| k.namespace.to_string())
                .filter(|ns| !ns.is_empty()),
        );
    }
    known.extend(state.namespace.clone());
    known
}

/// What the last word of `text` can be completed to, in order.
pub(crate) fn candidates(state: &AppState, text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let ends_in_space = text.ends_with(' ');
    let (position, word) = match (words.as_slice(), ends_in_space) {
        ([], _) => (0, ""),
        ([w], false) => (0, *w),
        ([_], true) => (1, ""),
        ([_, w], false) => (1, *w),
        _ => return Vec::new(),
    };
    let all: Vec<String> = if position == 0 {
        COMMANDS.iter().map(|c| c.to_string()).collect()
    } else {
        match words.first().copied() {
            Some("ns" | "namespace") => {
                let mut names: Vec<String> = known_namespaces(state).into_iter().collect();
                names.push("all".to_string());
                names
            }
            Some("ctx" | "context") => match &state.contexts {
                Some(Ok(list)) => list.clone(),
                _ => Vec::new(),
            },
            Some("theme") => Theme::embedded_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    all.into_iter().filter(|c| c.starts_with(word)).collect()
}

/// Tab on the command line: complete the last word as far as the candidates agree; a unique
/// command name gets its space.
pub(crate) fn complete(state: &mut AppState) {
    let Some(prompt) = state.prompt.as_ref() else {
        return;
    };
    if prompt.kind != PromptKind::Command {
        return;
    }
    let text = prompt.text.clone();
    let found = candidates(state, &text);
    let Some(first) = found.first() else {
        if let Some(p) = state.prompt.as_mut() {
            p.choices.clear();
        }
        return;
    };
    let common = found
        .iter()
        .fold(first.clone(), |acc, c| common_prefix(&acc, c));
    let keep = if text.ends_with(' ') {
        text.as_str()
    } else {
        text.rfind(' ').map_or("", |i| &text[..=i])
    };
    let mut completed = format!("{keep}{common}");
    if found.len() == 1 && !keep.contains(' ') && !completed.ends_with(' ') {
        completed.push(' ');
    }
    let choices = candidates(state, &completed);
    if let Some(p) = state.prompt.as_mut() {
        p.text = completed;
        p.choices = choices;
    }
    state.dirty = true;
}

/// The command line's text changed: show what its last word can become (not the command
/// names: those are listed in the prompt's help).
pub(crate) fn refresh_choices(state: &mut AppState) {
    let Some(prompt) = state.prompt.as_ref() else {
        return;
    };
    if prompt.kind != PromptKind::Command {
        return;
    }
    let choices = if prompt.text.contains(' ') {
        candidates(state, &prompt.text)
    } else {
        Vec::new()
    };
    if let Some(p) = state.prompt.as_mut() {
        p.choices = choices;
    }
}

fn common_prefix(a: &str, b: &str) -> String {
    a.chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// ` (did you mean a, b?)` for the names close to `asked`, or nothing.
pub(crate) fn did_you_mean<'a>(asked: &str, names: impl Iterator<Item = &'a str>) -> String {
    let close = close_matches(asked, names);
    if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    }
}

/// Names that start with, contain or are a couple of edits away from `asked`, closest first.
pub(crate) fn close_matches<'a>(asked: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = names
        .filter(|n| *n != asked)
        .filter_map(|n| {
            let distance = edit_distance(asked, n);
            let score = if n.starts_with(asked) || asked.starts_with(n) {
                0
            } else if n.contains(asked) {
                1
            } else if distance <= 2.max(asked.chars().count() / 4) {
                1 + distance
            } else {
                return None;
            };
            Some((score, n))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(CLOSE_MATCHES)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Open a list over the panes (messages at their newest, at the bottom).
fn open_list(state: &mut AppState, kind: ListKind) {
    let scroll = match kind {
        ListKind::Messages => {
            let body = state.screen().body;
            let cols = usize::from(body.width.saturating_sub(2));
            let page = usize::from(body.height.saturating_sub(2));
            wrapped_len(&list_lines(state, kind), cols).saturating_sub(page)
        }
        ListKind::Contexts => 0,
    };
    state.overlay = Some(Overlay::List { kind, scroll });
    state.dirty = true;
}

/// The title of a list.
pub fn list_title(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Messages => "Messages (newest last, times UTC)",
        ListKind::Contexts => "Contexts",
    }
}

/// The lines of a list, from the state.
pub fn list_lines(state: &AppState, kind: ListKind) -> Vec<TextLine> {
    match kind {
        ListKind::Messages => message_lines(state),
        ListKind::Contexts => context_lines(state),
    }
}

fn message_lines(state: &AppState) -> Vec<TextLine> {
    if state.notices.is_empty() {
        return vec![TextLine::plain("no messages yet", Tone::Dim)];
    }
    state
        .notices
        .iter()
        .map(|n| {
            let (word, tone) = match n.level {
                FlashLevel::Info => ("info   ", Tone::Info),
                FlashLevel::Warning => ("warning", Tone::Warning),
                FlashLevel::Error => ("error  ", Tone::Error),
            };
            TextLine::new(vec![
                Seg::new(format!("{} ", n.at.strftime("%H:%M:%S")), Tone::Dim),
                Seg::new(format!("{word} "), tone),
                Seg::new(n.text.clone(), Tone::Text),
            ])
            .indent(18)
        })
        .collect()
}

fn context_lines(state: &AppState) -> Vec<TextLine> {
    let mut lines = match &state.contexts {
        None => vec![TextLine::plain("reading the kubeconfig…", Tone::Dim)],
        Some(Err(e)) => vec![TextLine::plain(
            format!("cannot list contexts: {e}"),
            Tone::Error,
        )],
        Some(Ok(list)) if list.is_empty() => {
            vec![TextLine::plain("the kubeconfig has no contexts", Tone::Dim)]
        }
        Some(Ok(list)) => list
            .iter()
            .map(|c| {
                if *c == state.context {
                    let mark = if state.ascii { "*" } else { "●" };
                    TextLine::new(vec![
                        Seg::new(format!("{mark} {c}"), Tone::Title),
                        Seg::new("  (in use)", Tone::Dim),
                    ])
                } else {
                    TextLine::plain(format!("  {c}"), Tone::Text)
                }
            })
            .collect(),
    };
    lines.push(TextLine::blank());
    lines.push(TextLine::new(vec![
        Seg::new("switch with ", Tone::Dim),
        Seg::new(":ctx NAME", Tone::Key),
        Seg::new(" (Tab completes) · ", Tone::Dim),
        Seg::new("esc", Tone::Key),
        Seg::new(" close", Tone::Dim),
    ]));
    lines
}

#[cfg(test)]
mod tests;
