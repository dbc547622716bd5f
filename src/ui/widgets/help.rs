//! The help screen: every key from the keymap (dangerous actions marked unavailable in
//! read-only mode), filter and command syntax, the log file, keymap warnings and
//! unreadable objects.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::help::lines;
use crate::app::state::AppState;
use crate::theme::Theme;

use super::{pane, position, wrapped_rows};

pub fn render(state: &AppState, scroll: usize, theme: &Theme, frame: &mut Frame, area: Rect) {
    let cols = usize::from(area.width.saturating_sub(2));
    let height = usize::from(area.height.saturating_sub(2));
    let content = lines(state);
    let (rows, total) = wrapped_rows(&content, cols, scroll, height, theme);
    let mut title = vec![Span::styled(" Help ", theme.title())];
    let pos = position(scroll, height, total);
    if !pos.is_empty() {
        title.push(Span::styled(pos, theme.dim()));
    }
    frame.render_widget(
        Paragraph::new(rows).block(pane(title, true, state.ascii, theme)),
        area,
    );
}
