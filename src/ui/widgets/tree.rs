//! The tree pane: one line per visible row (only the rows on screen are drawn): tree
//! lines, state glyph and word (a fixed-width column, so nothing moves when a state
//! changes), kind, namespace/name, short revision, age of the last Ready transition and the
//! reason: the most informative line of the message (or, while an action runs on the object
//! and for a while after, its progress and outcome), followed by the badges `[blocks N]` for
//! a root cause others wait on, `[values pending]` for a HelmRelease whose desired values
//! differ from its deployed release, and the summary of a collapsed subtree. Ready rows stay
//! quiet: no message where it repeats the revision or state. An optional first line names the
//! columns.
//!
//! Widths go by priority: the reason keeps two fifths of a narrow row (so it starts within
//! its first 60%); to make room the age goes, then the revision, then a row still too long
//! takes the short name of its kind (`hr`, `ks`), and names are cut last (the namespace
//! before the name).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::format::{
    age, informative_line, pad, quiet_ready, short_helm_success, truncate, width,
};
use crate::app::layout::column_headers;
use crate::app::msg::WatchStatus;
use crate::app::state::{AppState, Focus, VisibleRow};
use crate::domain::flux::FluxKind;
use crate::domain::health::Health;
use crate::domain::report::ascii_text;
use crate::domain::text::sanitize_line;
use crate::domain::tree::{Node, Relation};
use crate::theme::Theme;

use super::pane;

/// The message column keeps at least this many columns, and two fifths of the row up to
/// [`ENOUGH_MESSAGE`] columns.
const MIN_MESSAGE: usize = 24;
const ENOUGH_MESSAGE: usize = 36;
const GAP: usize = 2;
/// The revision column is at most this wide (`sha256:0b370dd`).
const MAX_REVISION: usize = 14;
/// The age column is at least this wide (`59m`), so a coarse age changing never moves it.
const MIN_AGE: usize = 3;

/// The words a state column can show besides the health words.
const OTHER_WORDS: [&str; 3] = [
    "not watched",
    "not loaded",
    crate::domain::health::reasons::STATIC,
];

/// The width of the state word column: the longest word any row can show, whatever is on
/// screen, so the columns never move when a row changes state.
pub fn state_word_width() -> usize {
    Health::ALL
        .iter()
        .map(|h| h.word())
        .chain(OTHER_WORDS)
        .map(width)
        .max()
        .unwrap_or(0)
}

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

/// kubectl's short name of a common Kubernetes kind, for rows too long for the full one.
fn kubectl_short_name(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Deployment" => "deploy",
        "StatefulSet" => "sts",
        "DaemonSet" => "ds",
        "ReplicaSet" => "rs",
        "CronJob" => "cj",
        "Service" => "svc",
        "ConfigMap" => "cm",
        "Namespace" => "ns",
        "ServiceAccount" => "sa",
        "Ingress" => "ing",
        "PersistentVolumeClaim" => "pvc",
        "HorizontalPodAutoscaler" => "hpa",
        "PodDisruptionBudget" => "pdb",
        "NetworkPolicy" => "netpol",
        "CustomResourceDefinition" => "crd",
        _ => return None,
    })
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
    /// The CRD short name of a Flux kind (`hr`), for narrow panes.
    short_kind: Option<&'static str>,
    /// `namespace/` (empty for cluster-scoped objects and group rows).
    namespace: String,
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
    /// A group row (a kind group, the unmanaged group): a heading, not a row of the grid.
    group: bool,
}

impl Cells {
    /// From the start of the row to the end of the name, with the full kind.
    fn label_width(&self) -> usize {
        width(&self.lead)
            + state_width()
            + if self.source { 7 } else { 0 }
            + width(&self.kind)
            + 1
            + width(&self.namespace)
            + width(&self.name)
    }
}

/// Glyph, space, word, space.
fn state_width() -> usize {
    1 + 1 + state_word_width() + 1
}

/// The message a row shows: an action's progress or the rollback banner over it; for a
/// Ready row a quiet summary; otherwise the most informative line of the condition message
/// (or the tree's one-hop message naming the root cause).
fn row_message(node: &Node) -> String {
    let shown = if node.message() == node.health.first_line() {
        informative_line(&node.health.message)
    } else {
        node.message().to_string()
    };
    if node.health.health == Health::Ready && node.is_object() && !node.cycle {
        quiet_ready(&shown)
    } else {
        short_helm_success(&shown)
    }
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
    let (kind, namespace, name) = match &node.key {
        Some(key) => (
            sanitize_line(key.kind_name()).into_owned(),
            if key.namespace.is_empty() {
                String::new()
            } else {
                format!("{}/", sanitize_line(&key.namespace))
            },
            sanitize_line(&key.name).into_owned(),
        ),
        None => (
            node.kind_label().to_string(),
            String::new(),
            format!("({})", node.children.len()),
        ),
    };
    let short_kind = node.key.as_ref().and_then(|k| match k.flux_kind() {
        Some(flux) => flux.short_names().first().copied(),
        None => kubectl_short_name(k.kind.kind()),
    });
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
        node.summary().describe()
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
        short_kind,
        namespace,
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
                None => ascii_text(&sanitize_line(&row_message(node)), ascii),
            },
        },
        action: action.map(|a| a.failed()),
        banner: action.is_none() && banner.is_some(),
        cycle: node.cycle,
        group: node.key.is_none(),
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
#[derive(Debug)]
struct Columns {
    /// From the start of the row to the end of the name.
    name: usize,
    revision: usize,
    age: usize,
    message: usize,
}

impl Columns {
    /// Where the revision, age and message columns start (`None` when not shown).
    fn starts(&self) -> (Option<usize>, Option<usize>, Option<usize>) {
        let mut x = self.name;
        let mut next = |w: usize| {
            (w > 0).then(|| {
                let start = x + GAP;
                x = start + w;
                start
            })
        };
        let revision = next(self.revision);
        let age = next(self.age);
        let message = next(self.message);
        (revision, age, message)
    }
}

/// Widths by priority for a row `cols` wide: the message keeps two fifths of the row (at
/// least [`MIN_MESSAGE`], at most [`ENOUGH_MESSAGE`] columns); the age goes, then the
/// revision; a row still too long takes the short name of its kind; names are cut last.
fn columns(rows: &[Cells], cols: usize) -> Columns {
    let label = rows
        .iter()
        .filter(|c| !c.group)
        .map(Cells::label_width)
        .max()
        .unwrap_or(0);
    let revision_full = rows
        .iter()
        .map(|c| width(&c.revision))
        .max()
        .unwrap_or(0)
        .min(MAX_REVISION);
    let age_full = match rows.iter().map(|c| width(&c.age)).max().unwrap_or(0) {
        0 => 0,
        w => w.max(MIN_AGE),
    };
    let part = |w: usize| if w > 0 { GAP + w } else { 0 };
    // The message starts at most here.
    let message_min = MIN_MESSAGE
        .max((cols * 2).div_ceil(5).min(ENOUGH_MESSAGE))
        .min(cols);
    let limit = cols.saturating_sub(message_min + GAP);
    let fits =
        |name: usize, revision: usize, age: usize| name + part(revision) + part(age) <= limit;
    let (mut revision, mut age) = (revision_full, age_full);
    if !fits(label, revision, age) {
        age = 0;
    }
    if !fits(label, revision, age) {
        revision = 0;
    }
    // Rows longer than this take the short name of their kind, then are cut.
    let name = label.min(limit.saturating_sub(part(revision) + part(age)));
    let message = cols.saturating_sub(name + part(revision) + part(age) + GAP);
    Columns {
        name,
        revision,
        age,
        message,
    }
}

/// `kind namespace/name` in `room` columns: the namespace is cut before the name, the name
/// last.
fn label_spans(c: &Cells, kind: &str, room: usize, ascii: bool) -> (String, String) {
    let kind = truncate(kind, room, ascii);
    let room = room.saturating_sub(width(&kind) + 1);
    if room == 0 {
        return (kind, String::new());
    }
    let full = format!("{}{}", c.namespace, c.name);
    if width(&full) <= room {
        return (kind, full);
    }
    let name_w = width(&c.name);
    // Keep at least `n…/` of the namespace when the name fits beside it.
    if !c.namespace.is_empty() && name_w + 3 <= room {
        let ns = truncate(&c.namespace, room - name_w, ascii);
        let ns = if ns.ends_with('/') {
            ns
        } else {
            format!("{}/", truncate(&c.namespace, room - name_w - 1, ascii))
        };
        return (kind, format!("{ns}{}", c.name));
    }
    (kind, truncate(&c.name, room, ascii))
}

fn line(c: &Cells, cols: &Columns, theme: &Theme, ascii: bool, full: usize) -> Line<'static> {
    let state_style = if c.not_loaded {
        theme.dim()
    } else {
        theme.state(c.health)
    };
    let mut spans = vec![Span::styled(c.lead.clone(), theme.tree_lines())];
    spans.push(Span::styled(
        format!("{} {} ", c.glyph, pad(c.word, state_word_width())),
        state_style,
    ));
    let used_before_label = width(&c.lead) + state_width();
    if c.group {
        // A heading: its title whole when the row has room, its summary after it.
        let title = truncate(
            &format!("{} {}", c.kind, c.name),
            full.saturating_sub(used_before_label),
            ascii,
        );
        let room = full.saturating_sub(used_before_label + width(&title) + GAP);
        spans.push(Span::styled(title, theme.text()));
        if room > 0 && !c.message.is_empty() {
            spans.push(Span::raw(" ".repeat(GAP)));
            spans.push(Span::styled(truncate(&c.message, room, ascii), theme.dim()));
        }
        let used: usize = spans.iter().map(Span::width).sum();
        spans.push(Span::raw(" ".repeat(full.saturating_sub(used))));
        return Line::from(spans);
    }
    let mut label_room = cols.name.saturating_sub(used_before_label);
    if c.source && label_room > 7 {
        spans.push(Span::styled("source ", theme.dim()));
        label_room -= 7;
    }
    let kind = match c.short_kind {
        Some(k) if c.label_width() > cols.name => k,
        _ => c.kind.as_str(),
    };
    let (kind, name) = label_spans(c, kind, label_room, ascii);
    label_room = label_room.saturating_sub(width(&kind));
    spans.push(Span::styled(kind, theme.text()));
    if !name.is_empty() {
        label_room = label_room.saturating_sub(1 + width(&name));
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
        spans.extend(message_spans(c, cols.message, theme, ascii));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    if used < full {
        spans.push(Span::raw(" ".repeat(full - used)));
    }
    Line::from(spans)
}

/// The message cell: the reason first, then the badges that fit whole.
fn message_spans(c: &Cells, room: usize, theme: &Theme, ascii: bool) -> Vec<Span<'static>> {
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
    let mut badges: Vec<(String, Style)> = Vec::new();
    if !c.blocks.is_empty() {
        badges.push((format!("[{}]", c.blocks), theme.state(Health::Blocked)));
    }
    if !c.pending.is_empty() {
        badges.push((format!("[{}]", c.pending), theme.info()));
    }
    if !c.summary.is_empty() {
        badges.push((format!("[{}]", c.summary), theme.warning()));
    }
    // A reason too long for the cell leaves room for the badges about the object itself
    // (`[blocks N]`, `[values pending]`) when it keeps three fifths of the cell; the summary
    // of the rows below only takes what the reason leaves.
    let message_w = width(&c.message);
    let own: usize = [c.blocks.as_str(), c.pending]
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| width(b) + 3)
        .sum();
    let reason_room = if message_w <= room {
        message_w
    } else {
        room.saturating_sub(own).max(room * 3 / 5)
    };
    let mut spans = Vec::new();
    let mut left = room;
    if reason_room > 0 {
        let reason = truncate(&c.message, reason_room, ascii);
        left = left.saturating_sub(width(&reason));
        spans.push(Span::styled(reason, style));
    }
    for (badge, style) in badges {
        let sep = usize::from(!spans.is_empty());
        if width(&badge) + sep > left {
            break;
        }
        if sep == 1 {
            spans.push(Span::raw(" "));
        }
        left -= width(&badge) + sep;
        spans.push(Span::styled(badge, style));
    }
    spans
}

/// The line naming the columns, aligned with the rows' columns (the state and kind names
/// over a top-level row's).
fn header_line(cols: &Columns, theme: &Theme, ascii: bool, full: usize) -> Line<'static> {
    let mut text = String::from("  STATE");
    let kind_x = 2 + state_width();
    let put = |text: &mut String, x: usize, label: &str| {
        let w = width(text);
        if x > w {
            text.push_str(&" ".repeat(x - w));
        } else if w > 0 && !text.ends_with(' ') {
            text.push(' ');
        }
        text.push_str(label);
    };
    put(&mut text, kind_x, "KIND NAME");
    let (revision, age, message) = cols.starts();
    if let Some(x) = revision {
        put(&mut text, x, "REVISION");
    }
    if let Some(x) = age {
        // Right-aligned over the ages.
        put(&mut text, (x + cols.age).saturating_sub(3), "AGE");
    }
    if let Some(x) = message {
        put(&mut text, x, "REASON");
    }
    let text = pad(&truncate(&text, full, ascii), full);
    Line::from(Span::styled(
        text,
        theme.dim().add_modifier(ratatui::style::Modifier::BOLD),
    ))
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
    let headers = column_headers(state) && inner.height > 1;
    let height = usize::from(inner.height) - usize::from(headers);
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
    let mut lines: Vec<Line> = Vec::new();
    if headers {
        lines.push(header_line(&cols, theme, state.ascii, full));
    }
    lines.extend(indices.iter().zip(&visible).map(|(i, c)| {
        let mut l = line(c, &cols, theme, state.ascii, full);
        if stale {
            l = l.patch_style(theme.stale());
        }
        if *i == state.cursor {
            l = l.patch_style(selection(theme, focused));
        }
        l
    }));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn selection(theme: &Theme, focused: bool) -> Style {
    if focused {
        theme.selection()
    } else {
        theme.selection().patch(theme.dim())
    }
}
