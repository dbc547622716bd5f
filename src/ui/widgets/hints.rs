//! The bottom line: key hints for the current view from the keymap, or a flash message.
//! The view's own keys come first; `? help` and `q quit` stay at the right end at every
//! width (the other hints are dropped first when the line is too short).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::format::{truncate, width};
use crate::app::keys::{Action, Layer, View};
use crate::app::state::{AppState, Flash, FlashLevel, Overlay};
use crate::theme::Theme;

/// The hints of the current view, in the order shown: the view's own keys (the diff's, the
/// history's, the YAML search, a dialog's), then going back, then the others in keymap
/// order; help and quit last.
pub fn hints(state: &AppState) -> Vec<(Action, String, String)> {
    let view = state.key_view();
    let own = view.layers().first().copied();
    let rank = |action: Action| -> u8 {
        let layer = action.spec().map(|s| s.layer);
        match action {
            Action::Help | Action::Quit => 4,
            // The YAML view's `/` searches it: its first key, then n/N.
            Action::Filter if view == View::Yaml => 0,
            _ if layer == own && own.is_some_and(|l| l != Layer::Object) => 1,
            Action::Back if view != View::Tree => 2,
            _ => 3,
        }
    };
    // n/N step through the matches of a search: hinted once there are some.
    let searched = matches!(&state.overlay, Some(Overlay::Yaml(y)) if !y.matches.is_empty());
    let mut all = state.keymap.hint_actions(view);
    all.retain(|(action, _, _)| *action != Action::NextMatch || searched);
    all.sort_by_key(|(action, _, _)| rank(*action));
    all.into_iter()
        .map(|(action, key, label)| {
            let label = match action {
                Action::Filter if view == View::Yaml => "search",
                Action::Problems if state.problems => "all objects",
                _ => label,
            };
            (action, key, label.to_string())
        })
        .collect()
}

fn hint_width(key: &str, label: &str) -> usize {
    width(key) + 1 + width(label) + 2
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (kept, others): (Vec<_>, Vec<_>) = hints(state)
        .into_iter()
        .partition(|(action, _, _)| matches!(action, Action::Help | Action::Quit));
    let cols = usize::from(area.width);
    // Help and quit at the right end, where they always are: `? help  q quit `.
    let reserved: usize = kept.iter().map(|(_, k, l)| hint_width(k, l)).sum::<usize>();
    let reserved = reserved.saturating_sub(1);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (_, key, label) in others {
        let w = hint_width(&key, &label);
        if used + w + reserved > cols {
            break;
        }
        used += w;
        spans.push(Span::styled(key, theme.key_hint()));
        spans.push(Span::styled(format!(" {label}  "), theme.dim()));
    }
    let gap = cols.saturating_sub(used + reserved);
    if gap > 0 {
        spans.push(Span::raw(" ".repeat(gap)));
    }
    let last = kept.len().saturating_sub(1);
    for (i, (_, key, label)) in kept.into_iter().enumerate() {
        let after = if i == last { " " } else { "  " };
        spans.push(Span::styled(key, theme.key_hint()));
        spans.push(Span::styled(format!(" {label}{after}"), theme.dim()));
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
