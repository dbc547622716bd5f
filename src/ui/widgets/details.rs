//! The details pane: the prepared lines of the selected object, wrapped to the pane width
//! and scrolled; the title says which rows are shown so nothing is cut off silently.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::state::{AppState, DetailsPane, Focus};
use crate::theme::Theme;

use super::{pane as block, position, wrapped_rows};

pub fn render(state: &AppState, pane: &DetailsPane, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = state.focus == Focus::Details;
    let cols = usize::from(area.width.saturating_sub(2));
    let height = usize::from(area.height.saturating_sub(2));
    let (lines, total) = wrapped_rows(&pane.lines, cols, pane.scroll, height, theme);
    let mut title = vec![Span::styled(" Details ", theme.title())];
    let pos = position(pane.scroll, height, total);
    if !pos.is_empty() {
        title.push(Span::styled(pos, theme.dim()));
    }
    let block = block(title, focused, state.ascii, theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
