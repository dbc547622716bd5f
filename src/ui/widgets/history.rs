//! The history view of a HelmRelease: the revisions newest first (the current one and those
//! `status.history` knows marked, the selected one highlighted); in a rollback, the preview of
//! the values and manifest diffs (side by side when the body is wide, else unified) and the
//! confirmation over it. Only the visible rows are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::format::{pad, truncate};
use crate::app::history::{HistoryContent, HistoryView, SplitRow, Step, UnifiedRow};
use crate::app::state::AppState;
use crate::domain::diff::{Half, Tag};
use crate::domain::text::sanitize_line;
use crate::theme::{DiffKind, Theme};

use super::{dialog, pane, position};

/// From this many columns on, the preview is side by side.
pub const SPLIT_COLS: u16 = 100;

pub fn render(state: &AppState, view: &HistoryView, theme: &Theme, frame: &mut Frame, area: Rect) {
    match view.step {
        Step::List => list(state, view, theme, frame, area),
        Step::Preview => preview(state, view, theme, frame, area),
        Step::Confirm => {
            preview(state, view, theme, frame, area);
            let (title, lines) = view.confirm_lines(state);
            dialog::boxed(title, &lines, state.ascii, theme, frame, area);
        }
    }
}

fn list(state: &AppState, view: &HistoryView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let height = usize::from(area.height.saturating_sub(2));
    let cols = usize::from(area.width.saturating_sub(2));
    let ascii = state.ascii;
    let mut title = vec![Span::styled(view.title(), theme.title())];
    let mut out: Vec<Line> = Vec::new();
    match &view.content {
        HistoryContent::Loading => out.push(Line::from(Span::styled(
            format!("loading the release records{}", super::ellipsis(ascii)),
            theme.dim(),
        ))),
        HistoryContent::Failed(e) => out.push(Line::from(Span::styled(
            format!("cannot read the history: {}", sanitize_line(e)),
            theme.error(),
        ))),
        HistoryContent::Loaded(d) => {
            let rows = view.rows();
            let w = |f: &dyn Fn(&crate::domain::helm_history::HistoryRow) -> usize, h: &str| {
                rows.iter().map(|r| f(r)).max().unwrap_or(0).max(h.len())
            };
            let wrev = w(&|r| r.revision.to_string().len(), "REV");
            let wst = w(&|r| r.status.len(), "STATUS");
            let wch = w(&|r| r.chart.len(), "CHART").min(32);
            let wapp = w(&|r| r.app_version.len(), "APP").min(16);
            let wup = w(&|r| r.updated.len(), "UPDATED");
            let line = |mark: &str, cur: &str, hist: &str, c: [&str; 6]| {
                let text = format!(
                    "{mark}{cur}{hist} {}  {}  {}  {}  {}  {}",
                    pad(c[0], wrev),
                    pad(c[1], wst),
                    pad(&truncate(c[2], wch, ascii), wch),
                    pad(&truncate(c[3], wapp, ascii), wapp),
                    pad(c[4], wup),
                    c[5]
                );
                truncate(&text, cols, ascii)
            };
            out.push(Line::from(Span::styled(
                line(
                    " ",
                    " ",
                    " ",
                    ["REV", "STATUS", "CHART", "APP", "UPDATED", "DESCRIPTION"],
                ),
                theme.header(),
            )));
            // Legend and keys take the last two rows.
            let page = height.saturating_sub(3).max(1);
            let skip = view.cursor.saturating_sub(page.saturating_sub(1));
            let pointer = if ascii { ">" } else { "▸" };
            for (i, r) in rows.iter().enumerate().skip(skip).take(page) {
                let here = i == view.cursor;
                let target = d.plans.contains_key(&r.revision);
                let desc = sanitize_line(&r.description);
                let text = line(
                    if here { pointer } else { " " },
                    if r.current { "*" } else { " " },
                    if r.in_status_history { "h" } else { " " },
                    [
                        &r.revision.to_string(),
                        &r.status,
                        &sanitize_line(&r.chart),
                        &sanitize_line(&r.app_version),
                        &r.updated,
                        &desc,
                    ],
                );
                let style = match (here, target || !view.rollback) {
                    (true, _) => theme.selection(),
                    (false, true) => theme.text(),
                    (false, false) => theme.dim(),
                };
                out.push(Line::from(Span::styled(text, style)));
            }
            title.push(Span::styled(position(skip, page, rows.len()), theme.dim()));
            while out.len() < height.saturating_sub(2) {
                out.push(Line::default());
            }
            out.push(Line::from(Span::styled(
                "* current revision · h in the HelmRelease's status.history",
                theme.dim(),
            )));
            let keys = if view.rollback {
                "j/k choose the target · enter previews the rollback · esc closes"
            } else {
                "j/k move · B rolls back (asks to confirm) · esc closes"
            };
            out.push(Line::from(Span::styled(keys, theme.key_hint())));
        }
    }
    frame.render_widget(
        Paragraph::new(out).block(pane(title, true, ascii, theme)),
        area,
    );
}

fn style(theme: &Theme, tag: Tag) -> Style {
    match tag {
        Tag::Equal => theme.diff(DiffKind::Context),
        Tag::Added => theme.diff(DiffKind::Added),
        Tag::Removed => theme.diff(DiffKind::Removed),
    }
}

fn sign(tag: Tag) -> &'static str {
    match tag {
        Tag::Equal => " ",
        Tag::Added => "+",
        Tag::Removed => "-",
    }
}

/// One side of a side-by-side row, `cols` wide.
fn half(
    h: Option<&Half>,
    cols: usize,
    nw: usize,
    ascii: bool,
    theme: &Theme,
) -> Vec<Span<'static>> {
    match h {
        Some(h) => {
            let text = format!("{:>nw$} {}{}", h.line, sign(h.tag), sanitize_line(&h.text));
            vec![Span::styled(
                pad(&truncate(&text, cols, ascii), cols),
                style(theme, h.tag),
            )]
        }
        None => vec![Span::raw(" ".repeat(cols))],
    }
}

fn preview(state: &AppState, view: &HistoryView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let height = usize::from(area.height.saturating_sub(2));
    let cols = usize::from(area.width.saturating_sub(2));
    let ascii = state.ascii;
    let Some(p) = view.preview.as_ref() else {
        return;
    };
    let mut title = vec![Span::styled(
        format!(
            " Rollback preview {}: revision {} (current) → revision {} ",
            view.key, p.from, p.to
        ),
        theme.title(),
    )];
    let page = height.saturating_sub(1).max(1);
    let nw = 4;
    let mut out: Vec<Line> = Vec::new();
    let split = area.width >= SPLIT_COLS;
    let total = if split {
        p.split.len()
    } else {
        p.unified.len()
    };
    let skip = view.scroll.min(total.saturating_sub(1));
    if split {
        let left = cols.saturating_sub(3) / 2;
        let right = cols.saturating_sub(3).saturating_sub(left);
        let bar = if ascii { " | " } else { " │ " };
        for row in p.split.iter().skip(skip).take(page) {
            out.push(match row {
                SplitRow::Heading(h) => Line::from(Span::styled(
                    truncate(&sanitize_line(h), cols, ascii),
                    theme.diff(DiffKind::HunkHeader),
                )),
                SplitRow::Row(r) => {
                    let mut spans = half(r.left.as_ref(), left, nw, ascii, theme);
                    spans.push(Span::styled(bar, theme.dim()));
                    spans.extend(half(r.right.as_ref(), right, nw, ascii, theme));
                    Line::from(spans)
                }
            });
        }
    } else {
        for row in p.unified.iter().skip(skip).take(page) {
            out.push(match row {
                UnifiedRow::Heading(h) => Line::from(Span::styled(
                    truncate(&sanitize_line(h), cols, ascii),
                    theme.diff(DiffKind::HunkHeader),
                )),
                UnifiedRow::Line(l) => {
                    let n = l.new.or(l.old).unwrap_or(0);
                    let text = format!("{n:>nw$} {}{}", sign(l.tag), sanitize_line(&l.text));
                    Line::from(Span::styled(
                        truncate(&text, cols, ascii),
                        style(theme, l.tag),
                    ))
                }
            });
        }
    }
    title.push(Span::styled(position(skip, page, total), theme.dim()));
    while out.len() < page {
        out.push(Line::default());
    }
    out.push(Line::from(Span::styled(
        "enter continues to the confirmation · j/k scroll · esc back to the revisions",
        theme.key_hint(),
    )));
    frame.render_widget(
        Paragraph::new(out).block(pane(title, true, ascii, theme)),
        area,
    );
}
