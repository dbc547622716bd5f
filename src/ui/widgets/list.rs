//! A list opened by a command over the panes: `:messages` (the last notices, newest last)
//! and `:ctx` (the kubeconfig's contexts, the one in use marked).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::command::{list_lines, list_title};
use crate::app::state::{AppState, ListKind};
use crate::theme::Theme;

use super::{pane, position, wrapped_rows};

pub fn render(
    state: &AppState,
    kind: ListKind,
    scroll: usize,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let cols = usize::from(area.width.saturating_sub(2));
    let height = usize::from(area.height.saturating_sub(2));
    let content = list_lines(state, kind);
    let (rows, total) = wrapped_rows(&content, cols, scroll, height, theme);
    let mut title = vec![Span::styled(
        format!(" {} ", list_title(kind)),
        theme.title(),
    )];
    let pos = position(scroll, height, total);
    if !pos.is_empty() {
        title.push(Span::styled(pos, theme.dim()));
    }
    frame.render_widget(
        Paragraph::new(rows).block(pane(title, true, state.ascii, theme)),
        area,
    );
}
