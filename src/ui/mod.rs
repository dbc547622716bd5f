//! Drawing the state: [`view`] lays out the header, the tree and details panes (or an
//! overlay: YAML, why, help, history, diff), a dialog over them (reconcile menu, confirmation) and the bottom
//! line (hints, flash message or prompt). No I/O, no clock, no mutation: everything shown
//! comes from the state, and only visible rows are drawn.

pub mod widgets;

use ratatui::Frame;
use ratatui::buffer::Buffer;

use crate::app::layout::screen_in;
use crate::app::state::{AppState, Overlay};
use crate::domain::text::{is_unsafe_char, sanitize_line};
use crate::theme::Theme;

use widgets::{details, dialog, diff, header, help, hints, history, list, prompt, tree, why, yaml};

/// Draw the whole screen. Cluster text is sanitised where it is prepared (rows, segments,
/// YAML lines); as the last step every cell is checked once more, so no control character,
/// escape sequence or bidi control reaches the terminal whatever path a string took.
pub fn view(state: &AppState, theme: &Theme, frame: &mut Frame) {
    draw(state, theme, frame);
    sanitize_cells(frame.buffer_mut());
}

/// Replace every cell whose symbol holds a character that must not reach the terminal.
pub fn sanitize_cells(buf: &mut Buffer) {
    for cell in &mut buf.content {
        let symbol = cell.symbol();
        if symbol.chars().any(is_unsafe_char) {
            let clean = sanitize_line(symbol).into_owned();
            cell.set_symbol(if clean.is_empty() { " " } else { &clean });
        }
    }
}

fn draw(state: &AppState, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    let screen = screen_in(state, area);
    if screen.too_small {
        widgets::too_small(theme, frame, area);
        return;
    }
    header::render(state, theme, frame, screen.header);
    match &state.overlay {
        Some(Overlay::Help { scroll }) => help::render(state, *scroll, theme, frame, screen.body),
        Some(Overlay::Yaml(view)) => yaml::render(state, view, theme, frame, screen.body),
        Some(Overlay::Why(view)) => why::render(state, view, theme, frame, screen.body),
        Some(Overlay::History(view)) => history::render(state, view, theme, frame, screen.body),
        Some(Overlay::Diff(view)) => diff::render(state, view, None, theme, frame, screen.body),
        Some(Overlay::List { kind, scroll }) => {
            list::render(state, *kind, *scroll, theme, frame, screen.body)
        }
        None => {
            if let Some(area) = screen.tree {
                tree::render(state, theme, frame, area);
            }
            if let (Some(area), Some(pane)) = (screen.details, &state.details) {
                details::render(state, pane, theme, frame, area);
            }
        }
    }
    if let Some(modal) = &state.modal {
        dialog::render(state, modal, theme, frame, screen.body);
    }
    match (&state.prompt, &state.flash) {
        (Some(p), _) => prompt::render(p, theme, frame, screen.bottom),
        (None, Some(flash)) => hints::render_flash(flash, state.ascii, theme, frame, screen.bottom),
        (None, None) => hints::render(state, theme, frame, screen.bottom),
    }
}
