//! The history view of a HelmRelease: the revisions newest first (the current one and those
//! `status.history` knows marked, the selected one highlighted, the one marked for a
//! comparison flagged); in a rollback, the preview of the values and manifest diffs in the
//! diff view's widget and the confirmation over it. Only the visible rows are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::format::{pad, truncate};
use crate::app::history::{HistoryContent, HistoryView, Step};
use crate::app::state::AppState;
use crate::domain::text::sanitize_line;
use crate::theme::Theme;

use super::{dialog, diff, pane, position};

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
    let dot = super::dot(ascii);
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
            let line = |mark: &str, marked: &str, cur: &str, hist: &str, c: [&str; 6]| {
                let text = format!(
                    "{mark}{marked}{cur}{hist} {}  {}  {}  {}  {}  {}",
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
                    " ",
                    ["REV", "STATUS", "CHART", "APP", "UPDATED", "DESCRIPTION"],
                ),
                theme.header(),
            )));
            // Legend and keys take the last two rows.
            let page = height.saturating_sub(3).max(1);
            let skip = view.cursor.saturating_sub(page.saturating_sub(1));
            let pointer = if ascii { ">" } else { "▸" };
            let flag = if ascii { "m" } else { "◆" };
            for (i, r) in rows.iter().enumerate().skip(skip).take(page) {
                let here = i == view.cursor;
                let target = d.plans.contains_key(&r.revision);
                let desc = sanitize_line(&r.description);
                let text = line(
                    if here { pointer } else { " " },
                    if view.marked == Some(r.revision) {
                        flag
                    } else {
                        " "
                    },
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
                format!(
                    "* current revision {dot} h in the HelmRelease's status.history {dot} \
                     {flag} marked: d/m compare it with the selected one (else selected and current)"
                ),
                theme.dim(),
            )));
            let keys = if view.rollback {
                format!(
                    "j/k choose the target {dot} enter previews the rollback {dot} space marks \
                     {dot} d/m diff values/manifests {dot} esc closes"
                )
            } else {
                format!(
                    "j/k move {dot} space marks {dot} d/m diff values/manifests {dot} B rolls \
                     back {dot} esc closes"
                )
            };
            out.push(Line::from(Span::styled(keys, theme.key_hint())));
        }
    }
    frame.render_widget(
        Paragraph::new(out).block(pane(title, true, ascii, theme)),
        area,
    );
}

fn preview(state: &AppState, view: &HistoryView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(p) = view.preview.as_ref() else {
        return;
    };
    let dot = super::dot(state.ascii);
    let footer = format!(
        "enter continues to the confirmation {dot} j/k scroll {dot} n/N changes {dot} \
         u unified {dot} esc back to the revisions"
    );
    diff::render(state, &p.view, Some(&footer), theme, frame, area);
}
