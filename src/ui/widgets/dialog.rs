//! A dialog over the panes: the reconcile menu, a confirmation or the rollback confirmation, in a bordered box centred on
//! the body, as wide as its content allows; only the rows that fit are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Clear, Paragraph};

use crate::app::confirm::{Modal, permission_line};
use crate::app::state::AppState;
use crate::app::text::{TextLine, wrapped_len};
use crate::theme::Theme;

use super::{pane, wrapped_rows};

/// The widest a dialog gets (columns, borders included).
const MAX_WIDTH: u16 = 76;

pub fn render(state: &AppState, modal: &Modal, theme: &Theme, frame: &mut Frame, body: Rect) {
    let ascii = state.ascii;
    let (title, mut lines): (String, Vec<TextLine>) = match modal {
        Modal::Reconcile(menu) => (menu.title(), menu.lines(ascii)),
        Modal::Confirm(confirm) => (confirm.title(), confirm.lines()),
    };
    if let Some(line) = permission_line(state, modal.target()) {
        lines.push(line);
    }
    boxed(title, &lines, ascii, theme, frame, body);
}

/// Draw `lines` in a bordered box titled `title`, centred on `body`.
pub fn boxed(
    title: String,
    lines: &[TextLine],
    ascii: bool,
    theme: &Theme,
    frame: &mut Frame,
    body: Rect,
) {
    let width = body.width.saturating_sub(4).min(MAX_WIDTH);
    let cols = usize::from(width.saturating_sub(4));
    let wanted = u16::try_from(wrapped_len(lines, cols))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let height = wanted.min(body.height);
    if width < 8 || height < 3 {
        return;
    }
    let area = Rect::new(
        body.x + body.width.saturating_sub(width) / 2,
        body.y + body.height.saturating_sub(height) / 2,
        width,
        height,
    );
    let inner_rows = usize::from(height.saturating_sub(2));
    let (rows, _) = wrapped_rows(lines, cols, 0, inner_rows, theme);
    let block = pane(vec![Span::styled(title, theme.title())], true, ascii, theme);
    let inner = block.inner(area);
    let text_area = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(rows), text_area);
}
