//! The header: context, server, namespace and the READ-ONLY badge; Flux objects counted by
//! state; watch health (connected, reconnecting + STALE, forbidden); unreadable objects;
//! the narrowing in effect; and a banner for Flux APIs that are not installed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::format::{age, truncate};
use crate::app::msg::WatchStatus;
use crate::app::state::AppState;
use crate::domain::health::Health;
use crate::theme::Theme;

use super::{ellipsis, warning_sign};

fn sep(ascii: bool, theme: &Theme) -> Span<'static> {
    Span::styled(if ascii { "  |  " } else { "  │  " }, theme.dim())
}

/// First line: where we are.
fn location(state: &AppState, theme: &Theme, cols: usize) -> Line<'static> {
    let ns = state
        .namespace
        .clone()
        .unwrap_or_else(|| "all namespaces".to_string());
    let mut spans = vec![Span::styled(" fluxdeck", theme.title())];
    if state.read_only.is_some() {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" READ-ONLY ", theme.badge_read_only()));
    }
    spans.extend([
        sep(state.ascii, theme),
        Span::styled("ctx ", theme.dim()),
        Span::raw(state.context.clone()),
        sep(state.ascii, theme),
        Span::styled("ns ", theme.dim()),
        Span::raw(ns),
        sep(state.ascii, theme),
    ]);
    let used: usize = spans.iter().map(Span::width).sum();
    let server = truncate(&state.server, cols.saturating_sub(used), state.ascii);
    spans.push(Span::styled(server, theme.dim()));
    Line::from(spans)
}

/// The watch health as short phrases. A watch reconnecting for less than the grace period
/// and a new watch still connecting leave the connection status as it is; `connecting…`
/// only while watches connect and none is connected yet.
fn watch_summary(state: &AppState, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let now = state.now.as_second();
    let reconnecting = state.reconnecting();
    let mut forbidden: Vec<String> = Vec::new();
    let mut connected = false;
    let mut connecting = false;
    for (scope, status) in &state.watch {
        match status {
            WatchStatus::Forbidden { .. } => {
                let ns = scope
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "all namespaces".to_string());
                forbidden.push(format!("{} in {ns}", scope.kind));
            }
            // Reconnecting within the grace period: connected as far as the header says.
            WatchStatus::Connected | WatchStatus::Reconnecting { .. } => connected = true,
            WatchStatus::Connecting => connecting = true,
            WatchStatus::NotInstalled => {}
        }
    }
    if let Some((_, since, error)) = reconnecting.iter().min_by_key(|(_, s, _)| *s) {
        let mut kinds: Vec<&str> = reconnecting
            .iter()
            .map(|(scope, _, _)| scope.kind.as_str())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        // Objects listed before the failure are kept and shown as they were last seen.
        if state.snapshot.as_ref().is_some_and(|s| s.any_flux_loaded()) {
            spans.push(Span::styled(" STALE ", theme.error()));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            format!(
                "reconnecting since {}: {} ({})",
                age(now - since.as_second()),
                first_line(error, state.ascii),
                kinds.join(", ")
            ),
            theme.warning(),
        ));
    }
    if let Some(first) = forbidden.first() {
        if !spans.is_empty() {
            spans.push(sep(state.ascii, theme));
        }
        let more = if forbidden.len() > 1 {
            format!(" (+{} more)", forbidden.len() - 1)
        } else {
            String::new()
        };
        spans.push(Span::styled(
            format!("forbidden: {first}{more}"),
            theme.error(),
        ));
    }
    if spans.is_empty() && !state.watch.is_empty() {
        if connected || !connecting {
            spans.push(Span::styled("connected", theme.state(Health::Ready)));
        } else {
            spans.push(Span::styled(
                format!("connecting{}", ellipsis(state.ascii)),
                theme.dim(),
            ));
        }
    }
    spans
}

/// The first line of an error, shortened for a one-line header (the details are in the log),
/// so what follows it on the line (problems mode, the filter) stays visible.
fn first_line(s: &str, ascii: bool) -> String {
    truncate(s.lines().next().unwrap_or_default(), 48, ascii)
}

/// From this width the counts carry their state's word (`⊘ 3 blocked`); below it the
/// glyphs alone (`⊘ 3`), which the help screen's legend names.
pub const WORDS_MIN_COLS: usize = 100;

/// Flux objects counted by state: glyph, count and (with `words`) the state's word.
fn counts(state: &AppState, theme: &Theme, words: bool) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if state.snapshot.is_none() {
        spans.push(Span::styled(
            format!("loading{}", ellipsis(state.ascii)),
            theme.dim(),
        ));
        return spans;
    }
    let mut any = false;
    for h in Health::ALL {
        let n = state.flux_counts.get(h);
        if n == 0 {
            continue;
        }
        if any {
            spans.push(Span::raw("  "));
        }
        any = true;
        let glyph = if state.ascii {
            h.ascii_glyph()
        } else {
            h.glyph()
        };
        let text = if words {
            format!("{glyph} {n} {}", h.word().to_lowercase())
        } else {
            format!("{glyph} {n}")
        };
        spans.push(Span::styled(text, theme.state(h)));
    }
    let listed = state.snapshot.as_ref().is_some_and(|s| s.any_flux_loaded());
    if !any && listed {
        spans.push(Span::styled("no Flux objects", theme.dim()));
    } else if !any {
        spans.push(Span::styled(
            format!("loading{}", ellipsis(state.ascii)),
            theme.dim(),
        ));
    }
    spans
}

/// Second line: counts, watch health, problems with the data, narrowing. The counts carry
/// words when the terminal is wide enough and the whole line fits with them.
fn status(state: &AppState, theme: &Theme, cols: usize) -> Line<'static> {
    if cols >= WORDS_MIN_COLS {
        let line = status_with(state, theme, true);
        if line.width() <= cols {
            return line;
        }
    }
    status_with(state, theme, false)
}

fn status_with(state: &AppState, theme: &Theme, words: bool) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    spans.extend(counts(state, theme, words));
    let watch = watch_summary(state, theme);
    if !watch.is_empty() {
        spans.push(sep(state.ascii, theme));
        spans.extend(watch);
    }
    if !state.decode_errors.is_empty() {
        spans.push(sep(state.ascii, theme));
        let n = state.decode_errors.len();
        let s = if n == 1 { "" } else { "s" };
        spans.push(Span::styled(
            format!(
                "{} {n} unreadable object{s} (see help)",
                warning_sign(state.ascii)
            ),
            theme.warning(),
        ));
    }
    if let Some(target) = &state.switching {
        spans.push(sep(state.ascii, theme));
        spans.push(Span::styled(
            format!("switching to {target}{}", ellipsis(state.ascii)),
            theme.info(),
        ));
    }
    if state.problems {
        spans.push(sep(state.ascii, theme));
        spans.push(Span::styled("problems only", theme.info()));
    }
    if !state.filter_text.is_empty() {
        spans.push(sep(state.ascii, theme));
        spans.push(Span::styled(
            format!("filter: {}", state.filter_text),
            theme.info(),
        ));
    }
    Line::from(spans)
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let cols = usize::from(area.width);
    let mut lines = vec![location(state, theme, cols), status(state, theme, cols)];
    let missing = state.not_installed();
    if !missing.is_empty() {
        let verb = if missing.len() == 1 {
            "API is"
        } else {
            "APIs are"
        };
        lines.push(Line::from(Span::styled(
            format!(
                " {} {} {verb} not installed in this cluster: those objects cannot be shown",
                warning_sign(state.ascii),
                missing.join(", ")
            ),
            theme.warning(),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().style(theme.header())),
        area,
    );
}
