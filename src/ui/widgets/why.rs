//! The why view: the prepared lines of [`WhyView`] wrapped to the screen width and
//! scrolled, the selected line naming an object highlighted; the title names the object and
//! says which rows are shown.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::state::AppState;
use crate::app::why::WhyView;
use crate::theme::Theme;

use super::{pane, position, wrapped_rows_marked};

pub fn render(state: &AppState, view: &WhyView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let cols = usize::from(area.width.saturating_sub(2));
    let height = usize::from(area.height.saturating_sub(2));
    let (rows, total) =
        wrapped_rows_marked(&view.lines, cols, view.scroll, height, view.selected, theme);
    let mut title = vec![
        Span::styled(" Why ", theme.title()),
        Span::raw(format!("{} ", view.key)),
    ];
    let pos = position(view.scroll, height, total);
    if !pos.is_empty() {
        title.push(Span::styled(
            format!("{}{pos}", super::dot(state.ascii)),
            theme.dim(),
        ));
    }
    frame.render_widget(
        Paragraph::new(rows).block(pane(title, true, state.ascii, theme)),
        area,
    );
}
