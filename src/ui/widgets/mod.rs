//! The widgets of the screen and the helpers they share (tones to styles, wrapped text).

pub mod details;
pub mod dialog;
pub mod diff;
pub mod header;
pub mod help;
pub mod hints;
pub mod history;
pub mod list;
pub mod prompt;
pub mod tree;
pub mod why;
pub mod yaml;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::app::layout::{MIN_COLS, MIN_ROWS};
use crate::app::text::{TextLine, Tone, wrap};
use crate::theme::Theme;

/// The theme style for a tone.
pub fn tone_style(theme: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Text => theme.text(),
        Tone::Dim => theme.dim(),
        Tone::Title => theme.title(),
        Tone::Key => theme.key_hint(),
        Tone::State(h) => theme.state(h),
        Tone::Info => theme.info(),
        Tone::Warning => theme.warning(),
        Tone::Error => theme.error(),
    }
}

/// Wrap prepared lines to `cols` and return rows `skip..skip + take` as styled lines.
pub fn wrapped_rows(
    lines: &[TextLine],
    cols: usize,
    skip: usize,
    take: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, usize) {
    wrapped_rows_marked(lines, cols, skip, take, None, theme)
}

/// [`wrapped_rows`], with the rows of line `marked` drawn in the selection style.
pub fn wrapped_rows_marked(
    lines: &[TextLine],
    cols: usize,
    skip: usize,
    take: usize,
    marked: Option<usize>,
    theme: &Theme,
) -> (Vec<Line<'static>>, usize) {
    let mut out = Vec::new();
    let mut index = 0;
    for (n, line) in lines.iter().enumerate() {
        for row in wrap(line, cols) {
            if index >= skip && out.len() < take {
                let spans = row
                    .into_iter()
                    .map(|s| Span::styled(s.text, tone_style(theme, s.tone)))
                    .collect::<Vec<_>>();
                let mut line = Line::from(spans);
                if marked == Some(n) {
                    line = line.style(theme.selection());
                }
                out.push(line);
            }
            index += 1;
        }
    }
    (out, index)
}

/// ` 12-30/45 ` for a pane title when the content does not fit, else empty.
pub fn position(skip: usize, shown: usize, total: usize) -> String {
    if total <= shown && skip == 0 {
        String::new()
    } else {
        let last = (skip + shown).min(total);
        format!(" {}-{last}/{total} ", skip + 1)
    }
}

/// Borders drawn with ASCII characters only (`--ascii`).
const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// A bordered pane with a title.
pub fn pane<'a>(title: Vec<Span<'a>>, focused: bool, ascii: bool, theme: &Theme) -> Block<'a> {
    let block = Block::bordered()
        .border_style(theme.border(focused))
        .title(Line::from(title));
    if ascii {
        block.border_set(ASCII_BORDER)
    } else {
        block
    }
}

/// `…`, or `...` in ASCII mode.
pub fn ellipsis(ascii: bool) -> &'static str {
    if ascii { "..." } else { "…" }
}

/// The separator in pane titles: `·`, or `-` in ASCII mode.
pub fn dot(ascii: bool) -> &'static str {
    if ascii { "-" } else { "·" }
}

/// The warning sign, or `!` in ASCII mode.
pub fn warning_sign(ascii: bool) -> &'static str {
    if ascii { "!" } else { "⚠" }
}

/// The message drawn instead of the UI when the terminal is too small.
pub fn too_small(theme: &Theme, frame: &mut Frame, area: Rect) {
    let text = format!(
        "terminal too small ({}x{}), need at least {MIN_COLS}x{MIN_ROWS}",
        area.width, area.height
    );
    let top = area.height / 2;
    let rect = Rect::new(
        area.x,
        area.y + top.saturating_sub(1),
        area.width,
        area.height - top.saturating_sub(1),
    );
    frame.render_widget(
        Paragraph::new(Span::styled(text, theme.warning()))
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}
