//! The YAML view: the object's YAML with line numbers, long lines wrapped (continuations
//! marked), search matches highlighted and the current match set apart.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::format::width;
use crate::app::state::AppState;
use crate::app::yaml::{Match, YamlContent, YamlView};
use crate::theme::Theme;

use super::pane;

/// Split `text` (starting at byte `offset` of its source line) into styled spans, marking
/// the matches.
fn highlighted(
    text: &str,
    offset: usize,
    matches: &[(Match, bool)],
    theme: &Theme,
) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut at = 0;
    let end = text.len();
    for (m, current) in matches {
        let s = m.start.saturating_sub(offset).min(end);
        let e = m.end.saturating_sub(offset).min(end);
        if e <= at || s >= end || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        let s = s.max(at);
        if s > at {
            spans.push(Span::styled(text[at..s].to_string(), theme.text()));
        }
        let style: Style = if *current {
            theme.matched().add_modifier(Modifier::REVERSED)
        } else {
            theme.matched()
        };
        spans.push(Span::styled(text[s..e].to_string(), style));
        at = e;
    }
    if at < end {
        spans.push(Span::styled(text[at..].to_string(), theme.text()));
    }
    spans
}

/// Cut a line into pieces of at most `cols` columns: (byte offset, piece).
fn pieces(line: &str, cols: usize) -> Vec<(usize, &str)> {
    let cols = cols.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, c) in line.char_indices() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w > cols && i > start {
            out.push((start, &line[start..i]));
            start = i;
            used = 0;
        }
        used += w;
    }
    out.push((start, &line[start..]));
    out
}

pub fn render(state: &AppState, view: &YamlView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let height = usize::from(area.height.saturating_sub(2));
    let cols = usize::from(area.width.saturating_sub(2));
    let dot = super::dot(state.ascii);
    let mut title = vec![
        Span::styled(" YAML ", theme.title()),
        Span::raw(format!("{} ", view.key)),
    ];
    if !view.search.is_empty() {
        let status = match view.current {
            Some(i) => format!("{dot} /{} {}/{} ", view.search, i + 1, view.matches.len()),
            None => format!("{dot} /{} no match ", view.search),
        };
        title.push(Span::styled(status, theme.info()));
    }
    let lines: Vec<Line> = match &view.content {
        YamlContent::Loading => vec![Line::from(Span::styled(
            format!("loading{}", super::ellipsis(state.ascii)),
            theme.dim(),
        ))],
        YamlContent::Failed(e) => vec![Line::from(Span::styled(
            format!("cannot load the YAML: {e}"),
            theme.error(),
        ))],
        YamlContent::Lines(source) => {
            let number_w = source.len().to_string().len().max(2);
            let gutter = number_w + 3;
            let text_cols = cols.saturating_sub(gutter).max(1);
            let (bar, continued) = if state.ascii {
                ("|", ":")
            } else {
                ("│", "┆")
            };
            let mut out = Vec::new();
            for (i, text) in source.iter().enumerate().skip(view.scroll) {
                if out.len() >= height {
                    break;
                }
                let marks: Vec<(Match, bool)> = view
                    .matches
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.line == i)
                    .map(|(j, m)| (*m, view.current == Some(j)))
                    .collect();
                for (k, (offset, piece)) in pieces(text, text_cols).into_iter().enumerate() {
                    if out.len() >= height {
                        break;
                    }
                    let number = if k == 0 {
                        format!("{:>w$} {bar} ", i + 1, w = number_w)
                    } else {
                        format!("{:>w$} {continued} ", "", w = number_w)
                    };
                    let mut spans = vec![Span::styled(number, theme.dim())];
                    spans.extend(highlighted(piece, offset, &marks, theme));
                    out.push(Line::from(spans));
                }
            }
            let shown_to = (view.scroll + out.len()).min(source.len());
            title.push(Span::styled(
                format!("{dot} {}-{shown_to}/{} ", view.scroll + 1, source.len()),
                theme.dim(),
            ));
            out
        }
    };
    frame.render_widget(
        Paragraph::new(lines).block(pane(title, true, state.ascii, theme)),
        area,
    );
}
