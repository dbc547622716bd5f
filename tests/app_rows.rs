//! The tree's rows at a glance: the reason of a row that is not Ready comes first in its
//! message cell, columns stay put when states change, column headers, and the tree's
//! scroll position after the details pane covered it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::KeyCode;

mod app_support;
use app_support::*;

/// The tree's row lines (between the pane's borders), right-trimmed.
fn tree_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('│'))
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn tree_scroll_survives_the_details_pane_covering_it() {
    // At 80x24 the details pane covers the tree; the tree must come back filled, not
    // scrolled to its last rows above blank lines.
    let mut state = demo(80, 24);
    ch(&mut state, '/');
    typed(&mut state, "backend");
    press(&mut state, KeyCode::Enter);
    ch(&mut state, 'G');
    ch(&mut state, 'k');
    press(&mut state, KeyCode::Enter);
    ch(&mut state, 'G');
    press(&mut state, KeyCode::Tab);
    let text = screen(&state);
    let lines = tree_lines(&text);
    let rows = state.rows.len();
    assert!(rows > 2, "{text}");
    let filled = lines
        .iter()
        .filter(|l| l.trim_matches('│').trim() != "")
        .count();
    assert_eq!(filled, rows.min(lines.len()), "{text}");
    assert!(
        lines[0].contains("Kustomization flux-system/flux-system"),
        "{text}"
    );
    // Esc closes the details; the tree stays whole, the selection too.
    let selected = state.selected_key().cloned();
    press(&mut state, KeyCode::Esc);
    assert!(state.details.is_none());
    assert_eq!(state.selected_key().cloned(), selected);
    let text = screen(&state);
    assert!(
        tree_lines(&text)[0].contains("flux-system/flux-system"),
        "{text}"
    );
}

#[test]
fn zz_print() {
    for (c, r) in [(80, 24), (120, 40), (200, 60)] {
        let state = demo(c, r);
        println!("{}", screen(&state));
    }
}
