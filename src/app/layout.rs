//! Where each part of the screen goes for a terminal size. Shared by `update` (page sizes,
//! keeping the selection in view) and the view, so both agree.

use ratatui::layout::Rect;

use super::state::{AppState, Focus};

/// Smallest usable terminal.
pub const MIN_COLS: u16 = 40;
pub const MIN_ROWS: u16 = 10;
/// From this width the details pane opens beside the tree instead of over it.
pub const SPLIT_MIN_COLS: u16 = 120;

/// The areas of the screen. `tree` and `details` are `None` when not shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screen {
    pub too_small: bool,
    pub header: Rect,
    /// Everything between the header and the bottom line (overlays cover it).
    pub body: Rect,
    pub tree: Option<Rect>,
    pub details: Option<Rect>,
    /// The hint bar, flash message or prompt.
    pub bottom: Rect,
}

/// Header lines: two, plus a banner when a Flux API is not installed.
pub fn header_height(state: &AppState) -> u16 {
    if state.not_installed().is_empty() {
        2
    } else {
        3
    }
}

/// The layout of `area` for this state.
pub fn screen_in(state: &AppState, area: Rect) -> Screen {
    screen_with_focus(state, area, state.focus)
}

fn screen_with_focus(state: &AppState, area: Rect, focus: Focus) -> Screen {
    let too_small = area.width < MIN_COLS || area.height < MIN_ROWS;
    let header_h = header_height(state).min(area.height);
    let header = Rect::new(area.x, area.y, area.width, header_h);
    let bottom_y = area.y + area.height.saturating_sub(1);
    let bottom = Rect::new(area.x, bottom_y, area.width, area.height.min(1));
    let body_h = area.height.saturating_sub(header_h + 1);
    let body = Rect::new(area.x, area.y + header_h, area.width, body_h);
    let (tree, details) = match &state.details {
        None => (Some(body), None),
        Some(_) if area.width >= SPLIT_MIN_COLS => {
            let tree_w = area.width * 11 / 20;
            let tree = Rect::new(body.x, body.y, tree_w, body.height);
            let details = Rect::new(body.x + tree_w, body.y, area.width - tree_w, body.height);
            (Some(tree), Some(details))
        }
        Some(_) => match focus {
            Focus::Tree => (Some(body), None),
            Focus::Details => (None, Some(body)),
        },
    };
    Screen {
        too_small,
        header,
        body,
        tree,
        details,
        bottom,
    }
}

/// The layout for the last known terminal size.
pub fn screen(state: &AppState) -> Screen {
    let (cols, rows) = state.size;
    screen_in(state, Rect::new(0, 0, cols, rows))
}

/// Whether the tree shows a line of column headers: on from [`SPLIT_MIN_COLS`] terminal
/// columns unless toggled.
pub fn column_headers(state: &AppState) -> bool {
    state
        .column_headers
        .unwrap_or(state.size.0 >= SPLIT_MIN_COLS)
}

/// How many tree rows the tree pane shows (inside its border, below the column headers).
/// While the details pane covers the tree, the rows it shows once it is back: scrolling
/// meanwhile must not assume a one-row tree.
pub fn tree_page(state: &AppState) -> usize {
    let (cols, rows) = state.size;
    let area = Rect::new(0, 0, cols, rows);
    let tree = screen_in(state, area)
        .tree
        .or_else(|| screen_with_focus(state, area, Focus::Tree).tree);
    let headers = usize::from(column_headers(state));
    tree.map_or(1, |r| {
        usize::from(r.height.saturating_sub(2))
            .saturating_sub(headers)
            .max(1)
    })
}
