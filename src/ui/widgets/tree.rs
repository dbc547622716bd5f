//! The tree pane: one line per visible row (only the rows on screen are drawn): tree
//! lines, state glyph and word, kind, namespace/name, short revision, age of the last
//! Ready transition and the first line of the message (or, while an action runs on the object
//! and for a while after, its progress and outcome), after `[blocks N]` for a root cause
//! others wait on, `[values pending]` for a HelmRelease whose desired values differ from its
//! deployed release, and the summary of a collapsed subtree. Narrow panes drop the age, then
//! the revision, then shrink the message; names are cut last.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::format::{age, pad, truncate, width};
use crate::app::msg::WatchStatus;
use crate::app::state::{AppState, Focus, VisibleRow};
use crate::domain::flux::FluxKind;
use crate::domain::health::Health;
use crate::domain::report::ascii_text;
use crate::domain::text::sanitize_line;
use crate::domain::tree::{Node, Relation};
use crate::theme::Theme;

use super::pane;

/// The message column keeps at least this many columns before revision and age go.
const MIN_MESSAGE: usize = 24;
const GAP: usize = 2;
/// What the message keeps when names need the room.
const MIN_MESSAGE_SQUEEZED: usize = 8;

/// A short revision for the tree: `main@sha1:f15f22ade882…` → `main@f15f22a`,
/// `sha256:0b370ddbf8ff…` → `sha256:0b370dd`; anything else as it is.
pub fn short_revision(revision: &str) -> String {
    const KEEP: usize = 7;
    let Some(colon) = revision.rfind(':') else {
        return revision.to_string();
    };
    let digest = &revision[colon + 1..];
    if digest.len() <= KEEP || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return revision.to_string();
    }
    let head = &revision[..colon];
    let head = match head.rsplit_once('@') {
        Some((reference, _algo)) => format!("{reference}@"),
        None => format!("{head}:"),
    };
    format!("{head}{}", &digest[..KEEP])
}

/// The parts of one row before layout.
struct Cells {
    lead: String,
    glyph: &'static str,
    word: &'static str,
    health: Health,
    not_loaded: bool,
    source: bool,
    kind: String,
    name: String,
    revision: String,
    age: String,
    summary: String,
    /// `blocks N`: how many objects wait on this root cause (empty when none).
    blocks: String,
    /// `values pending` for a HelmRelease whose desired values differ from its deployed
    /// release (empty otherwise).
    pending: &'static str,
    message: String,
    /// The message is an action's progress or outcome: `Some(failed)`.
    action: Option<bool>,
    /// The message is the rollback banner.
    banner: bool,
    cycle: bool,
}

fn cells(state: &AppState, row: &VisibleRow, node: &Node) -> Cells {
    let ascii = state.ascii;
    let marker = match (row.has_children, row.expanded, ascii) {
        (false, _, _) => "  ",
        (true, true, false) => "▾ ",
        (true, false, false) => "▸ ",
        (true, true, true) => "v ",
        (true, false, true) => "> ",
    };
    // A cycle row stands for an object already shown above: it is drawn as the cycle.
    let h = if node.cycle {
        Health::Cycle
    } else {
        node.health.health
    };
    let not_loaded = node.health.is_not_loaded() && !node.cycle;
    let word = if node.health.is_not_watched() {
        "not watched"
    } else if not_loaded {
        "not loaded"
    } else if node.cycle {
        h.word()
    } else {
        node.health.word()
    };
    let (kind, name) = match &node.key {
        Some(key) => {
            let name = if key.namespace.is_empty() {
                key.name.clone()
            } else {
                format!("{}/{}", key.namespace, key.name)
            };
            (
                sanitize_line(key.kind_name()).into_owned(),
                sanitize_line(&name).into_owned(),
            )
        }
        None => (
            node.kind_label.clone(),
            format!("({})", node.children.len()),
        ),
    };
    // After a rollback the banner stays on the row; a running action shows over it.
    let banner = node.key.as_ref().and_then(|k| state.rollback_banner(k));
    let action = node
        .key
        .as_ref()
        .and_then(|k| state.row_action(k))
        .filter(|a| banner.is_none() || a.running());
    let collapsed = row.has_children && !row.expanded;
    // An action on the row takes the whole message column.
    let summary = if collapsed && node.is_object() && action.is_none() && banner.is_none() {
        node.summary.describe()
    } else {
        String::new()
    };
    Cells {
        lead: format!("{}{marker}", row.prefix),
        glyph: if ascii { h.ascii_glyph() } else { h.glyph() },
        word,
        health: h,
        not_loaded,
        source: node.relation == Relation::Source,
        kind,
        name,
        revision: node
            .revision
            .as_deref()
            .map(|r| short_revision(&sanitize_line(r)))
            .unwrap_or_default(),
        age: node
            .health
            .age_seconds(state.now)
            .map(age)
            .unwrap_or_default(),
        summary,
        blocks: match blocks_outside_loop(state, node) {
            _ if action.is_some() || banner.is_some() => String::new(),
            0 => String::new(),
            n => format!("blocks {n}"),
        },
        pending: match &node.key {
            _ if action.is_some() || banner.is_some() || node.cycle => "",
            Some(k) if state.values_pending.contains_key(k) => "values pending",
            _ => "",
        },
        message: match action {
            _ if node.cycle => "cycle: already shown above".to_string(),
            Some(a) => ascii_text(&a.line(), ascii),
            None => match &banner {
                Some(b) => ascii_text(b, ascii),
                None => ascii_text(&node.message, ascii),
            },
        },
        action: action.map(|a| a.failed()),
        banner: action.is_none() && banner.is_some(),
        cycle: node.cycle,
    }
}

/// How many objects wait on this root cause, not counting the other members of its own
/// dependency cycle (the message already names the loop).
fn blocks_outside_loop(state: &AppState, node: &Node) -> usize {
    if node.blocks == 0 || node.cycle {
        return 0;
    }
    let in_loop = match (&node.key, &state.analysis) {
        (Some(key), Some(analysis)) if node.health.health == Health::Cycle => analysis
            .cycles()
            .iter()
            .find(|c| c.members.contains(key))
            .map_or(0, |c| {
                c.members
                    .iter()
                    .filter(|m| {
                        m != &key
                            && matches!(
                                m.flux_kind(),
                                Some(FluxKind::Kustomization | FluxKind::HelmRelease)
                            )
                    })
                    .count()
            }),
        _ => 0,
    };
    node.blocks.saturating_sub(in_loop)
}

/// Column widths for the rows on screen.
struct Columns {
    word: usize,
    name: usize,
    revision: usize,
    age: usize,
    message: usize,
}

fn columns(rows: &[Cells], cols: usize) -> Columns {
    let word = rows.iter().map(|c| width(c.word)).max().unwrap_or(0);
    let left = |c: &Cells| {
        width(&c.lead)
            + width(c.glyph)
            + 1
            + word
            + 1
            + if c.source { 7 } else { 0 }
            + width(&c.kind)
            + 1
            + width(&c.name)
    };
    let name_full = rows.iter().map(left).max().unwrap_or(0);
    let mut revision = rows
        .iter()
        .map(|c| width(&c.revision))
        .max()
        .unwrap_or(0)
        .min(24);
    let mut age = rows.iter().map(|c| width(&c.age)).max().unwrap_or(0);
    let message_full = rows
        .iter()
        .map(|c| {
            width(&c.message)
                + if c.summary.is_empty() {
                    0
                } else {
                    width(&c.summary) + 3
                }
                + if c.blocks.is_empty() {
                    0
                } else {
                    width(&c.blocks) + 3
                }
                + if c.pending.is_empty() {
                    0
                } else {
                    width(c.pending) + 3
                }
        })
        .max()
        .unwrap_or(0);
    let message_min = message_full.min(MIN_MESSAGE);
    let part = |w: usize| if w > 0 { GAP + w } else { 0 };
    let fixed = |r: usize, a: usize| part(r) + part(a) + part(message_min);
    if name_full + fixed(revision, age) > cols {
        age = 0;
    }
    if name_full + fixed(revision, age) > cols {
        revision = 0;
    }
    // Names come first: the message shrinks (down to a few columns) before a name is cut;
    // the details pane shows the whole message.
    let name = name_full
        .min(cols.saturating_sub(part(revision) + part(age) + part(MIN_MESSAGE_SQUEEZED)))
        .max(name_full.min(cols / 2));
    let message = cols.saturating_sub(name + part(revision) + part(age) + GAP);
    Columns {
        word,
        name,
        revision,
        age,
        message,
    }
}

fn line(c: &Cells, cols: &Columns, theme: &Theme, ascii: bool, full: usize) -> Line<'static> {
    let state_style = if c.not_loaded {
        theme.dim()
    } else {
        theme.state(c.health)
    };
    let mut spans = vec![Span::styled(c.lead.clone(), theme.tree_lines())];
    spans.push(Span::styled(
        format!("{} {} ", c.glyph, pad(c.word, cols.word)),
        state_style,
    ));
    let used_before_label = width(&c.lead) + width(c.glyph) + 2 + cols.word;
    let mut label_room = cols.name.saturating_sub(used_before_label);
    if c.source && label_room > 7 {
        spans.push(Span::styled("source ", theme.dim()));
        label_room -= 7;
    }
    let kind = truncate(&c.kind, label_room, ascii);
    label_room = label_room.saturating_sub(width(&kind));
    spans.push(Span::styled(kind, theme.text()));
    if label_room > 1 {
        let name = truncate(&c.name, label_room - 1, ascii);
        label_room -= 1 + width(&name);
        spans.push(Span::raw(" "));
        spans.push(Span::raw(name));
    }
    spans.push(Span::raw(" ".repeat(label_room)));
    if cols.revision > 0 {
        spans.push(Span::styled(
            format!(
                "{:gap$}{}",
                "",
                pad(&truncate(&c.revision, cols.revision, ascii), cols.revision),
                gap = GAP
            ),
            theme.dim(),
        ));
    }
    if cols.age > 0 {
        spans.push(Span::styled(
            format!("{:gap$}{:>w$}", "", c.age, gap = GAP, w = cols.age),
            theme.dim(),
        ));
    }
    if cols.message > 0 {
        spans.push(Span::raw(" ".repeat(GAP)));
        let mut room = cols.message;
        if !c.blocks.is_empty() {
            let blocks = truncate(&format!("[{}]", c.blocks), room, ascii);
            room = room.saturating_sub(width(&blocks) + 1);
            spans.push(Span::styled(blocks, theme.state(Health::Blocked)));
            spans.push(Span::raw(" "));
        }
        if !c.pending.is_empty() {
            let pending = truncate(&format!("[{}]", c.pending), room, ascii);
            room = room.saturating_sub(width(&pending) + 1);
            spans.push(Span::styled(pending, theme.info()));
            spans.push(Span::raw(" "));
        }
        if !c.summary.is_empty() {
            let summary = truncate(&format!("[{}]", c.summary), room, ascii);
            room = room.saturating_sub(width(&summary) + 1);
            spans.push(Span::styled(summary, theme.warning()));
            spans.push(Span::raw(" "));
        }
        let style = if c.cycle {
            theme.state(Health::Cycle)
        } else if c.banner {
            theme.warning()
        } else if let Some(failed) = c.action {
            if failed { theme.error() } else { theme.info() }
        } else if c.health.is_problem() && !c.not_loaded {
            theme.state(c.health)
        } else {
            theme.dim()
        };
        spans.push(Span::styled(truncate(&c.message, room, ascii), style));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    if used < full {
        spans.push(Span::raw(" ".repeat(full - used)));
    }
    Line::from(spans)
}

fn empty_text(state: &AppState) -> String {
    let listed = state.snapshot.as_ref().is_some_and(|s| s.any_flux_loaded());
    if !listed {
        // Nothing listed yet: say why when a watch or discovery failed.
        let failure = state.watch.iter().find_map(|(scope, status)| match status {
            WatchStatus::Reconnecting { error, .. } => Some(format!(
                "Cannot list {} yet: {error}. Retrying{}",
                scope.kind,
                super::ellipsis(state.ascii)
            )),
            WatchStatus::Forbidden { message } => {
                Some(format!("Cannot list {}: {message}", scope.kind))
            }
            _ => None,
        });
        failure.unwrap_or_else(|| format!("loading the cluster{}", super::ellipsis(state.ascii)))
    } else if state.problems && state.filter_text.is_empty() {
        "No problems: every object is healthy. Press p to show everything.".to_string()
    } else if !state.filter_text.is_empty() {
        format!(
            "Nothing matches the filter \"{}\". Esc clears it.",
            state.filter_text
        )
    } else {
        let ns = state.namespace.as_deref().unwrap_or("any namespace");
        format!("No Flux objects in {ns}.")
    }
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = state.details.is_none() || state.focus == Focus::Tree;
    let dot = super::dot(state.ascii);
    let mut title = vec![Span::styled(" Flux ", theme.title())];
    if state.problems {
        title.push(Span::styled(format!("{dot} problems "), theme.info()));
    }
    if !state.filter_text.is_empty() {
        title.push(Span::styled(
            format!("{dot} /{} ", state.filter_text),
            theme.info(),
        ));
    }
    if !state.rows.is_empty() {
        title.push(Span::styled(
            format!("{dot} {}/{} ", state.cursor + 1, state.rows.len()),
            theme.dim(),
        ));
    }
    let block = pane(title, focused, state.ascii, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(empty_text(state), theme.dim())),
            inner,
        );
        return;
    }
    let height = usize::from(inner.height);
    let full = usize::from(inner.width);
    // The view may be drawn at another size than update last saw: keep the cursor in view.
    let mut scroll = state.scroll;
    if state.cursor < scroll {
        scroll = state.cursor;
    } else if state.cursor >= scroll + height {
        scroll = state.cursor + 1 - height;
    }
    // Never blank lines below the last row while rows above are scrolled away.
    scroll = scroll.min(state.rows.len().saturating_sub(height));
    let mut indices = Vec::new();
    let mut visible: Vec<Cells> = Vec::new();
    for (i, row) in state.rows.iter().enumerate().skip(scroll).take(height) {
        if let Some(node) = state.node_of(row) {
            indices.push(i);
            visible.push(cells(state, row, node));
        }
    }
    let cols = columns(&visible, full);
    let stale = state.is_stale();
    let lines: Vec<Line> = indices
        .iter()
        .zip(&visible)
        .map(|(i, c)| {
            let mut l = line(c, &cols, theme, state.ascii, full);
            if stale {
                l = l.patch_style(theme.stale());
            }
            if *i == state.cursor {
                l = l.patch_style(selection(theme, focused));
            }
            l
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn selection(theme: &Theme, focused: bool) -> Style {
    if focused {
        theme.selection()
    } else {
        theme.selection().patch(theme.dim())
    }
}
