//! The bottom line: key hints for the current view from the keymap, or a flash message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::format::{truncate, width};
use crate::app::keys::View;
use crate::app::state::{AppState, Flash, FlashLevel, Overlay};
use crate::theme::Theme;

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let view = state.key_view();
    let mut hints: Vec<(String, String)> = state
        .keymap
        .hints(view)
        .into_iter()
        .map(|(k, l)| (k, l.to_string()))
        .collect();
    if let (View::Yaml, Some(Overlay::Yaml(y))) = (view, &state.overlay)
        && !y.matches.is_empty()
    {
        hints.insert(0, ("n/N".to_string(), "next/prev match".to_string()));
    }
    let cols = usize::from(area.width);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, label) in hints {
        let w = width(&key) + 1 + width(&label) + 2;
        if used + w > cols {
            break;
        }
        used += w;
        spans.push(Span::styled(key, theme.key_hint()));
        spans.push(Span::styled(format!(" {label}  "), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn render_flash(flash: &Flash, ascii: bool, theme: &Theme, frame: &mut Frame, area: Rect) {
    let style = match flash.level {
        FlashLevel::Info => theme.info(),
        FlashLevel::Warning => theme.warning(),
        FlashLevel::Error => theme.error(),
    };
    let text = truncate(
        &flash.text,
        usize::from(area.width).saturating_sub(1),
        ascii,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(format!(" {text}"), style)),
        area,
    );
}
