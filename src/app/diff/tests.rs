//! Tests of the diff view state: screen lines in both forms and layouts, the cursor across
//! changes, folds and documents, the alternate set, notes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

/// 40 lines, lines 10 and 30 changed.
fn doc(heading: &str) -> DiffDoc {
    let old = numbered(40);
    let new = old
        .replace("line 10\n", "line ten\n")
        .replace("line 30\n", "line thirty\n");
    DiffDoc::new(heading, "old", "new", old, new)
}

const PAGE: usize = 10;
const WIDE: u16 = 200;
const NARROW: u16 = 80;

#[test]
fn stacked_documents_share_one_scroll_with_a_heading_each() {
    let v = DiffView::new("t".into(), vec![doc("a"), doc("b")], None);
    // Per document: fold(6), 3, change, 3, fold(13), 3, change, 3, fold(7) = 17 rows.
    let rows = v.docs()[0].model.rows().len();
    assert_eq!(rows, 17);
    assert_eq!(v.total(false), 2 * (1 + rows));
    assert_eq!(v.total(true), 2 * (1 + rows + 2));
    assert_eq!(v.line(0, false), Some(ViewLine::Heading(0)));
    assert_eq!(v.line(1 + rows, false), Some(ViewLine::Heading(1)));
    assert_eq!(
        v.line(2 + rows, false),
        Some(ViewLine::Row {
            doc: 1,
            row: 0,
            part: Part::Both
        })
    );
    assert_eq!(v.line(2 * (1 + rows), false), None);
    assert_eq!(v.cursor, Cursor::heading(0));
    for i in 0..v.total(true) {
        let c = v.place(i, true);
        assert_eq!(v.index(c, true), i, "{c:?}");
    }
}

#[test]
fn n_and_shift_n_go_from_change_to_change_across_documents() {
    let mut v = DiffView::new("t".into(), vec![doc("a"), doc("b")], None);
    let changes = v.docs()[0].model.changes().to_vec();
    assert_eq!(changes.len(), 2);
    assert!(v.act(Action::NextChange, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::at(0, changes[0]));
    assert!(v.act(Action::NextChange, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::at(0, changes[1]));
    assert!(v.act(Action::NextChange, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::at(1, changes[0]));
    assert!(v.act(Action::NextChange, PAGE, WIDE));
    assert!(
        !v.act(Action::NextChange, PAGE, WIDE),
        "no change after the last"
    );
    assert!(v.act(Action::PrevChange, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::at(1, changes[0]));
    assert!(v.act(Action::PrevChange, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::at(0, changes[1]));
    // The change is in view, with context above it.
    let top = v.top_line(PAGE, false);
    let at = v.index(v.cursor, false);
    assert!(top <= at && at < top + PAGE);
    assert_eq!(at - top, CONTEXT);
    assert_eq!(v.change_position(), Some((2, 2)));
}

#[test]
fn the_fold_under_the_cursor_expands_and_the_cursor_stays_on_its_line() {
    let mut v = DiffView::new("t".into(), vec![doc("a")], None);
    assert!(!v.act(Action::ExpandFold, PAGE, WIDE), "on the heading");
    v.act(Action::Down, PAGE, WIDE);
    assert_eq!(v.cursor, Cursor::at(0, 0));
    assert!(matches!(
        v.docs()[0].model.row(0),
        Some(Row::Fold { hidden: 6, .. })
    ));
    let after = v.docs()[0].model.rows().len();
    assert!(v.act(Action::ExpandFold, PAGE, WIDE));
    assert_eq!(v.docs()[0].model.rows().len(), after + 5);
    assert_eq!(v.cursor, Cursor::at(0, 0));
    assert_eq!(
        v.docs()[0].model.row(0),
        Some(Row::Equal { old: 0, new: 0 })
    );
    // On a change further down, `z` expands the rest; the cursor stays on that change.
    v.act(Action::NextChange, PAGE, WIDE);
    v.act(Action::NextChange, PAGE, WIDE);
    let row = v.docs()[0].model.row(v.cursor.row.unwrap()).unwrap();
    assert_eq!(row, Row::Changed { old: 29, new: 29 });
    assert!(v.act(Action::ExpandAll, PAGE, WIDE));
    assert_eq!(v.docs()[0].model.rows().len(), 40);
    assert_eq!(v.cursor, Cursor::at(0, 29));
    assert!(!v.act(Action::ExpandAll, PAGE, WIDE));
}

#[test]
fn unified_is_automatic_below_100_columns_and_u_overrides() {
    let mut v = DiffView::new("t".into(), vec![doc("a")], None);
    assert!(v.is_unified(NARROW));
    assert!(!v.is_unified(WIDE));
    v.act(Action::NextChange, PAGE, NARROW);
    v.act(Action::Down, PAGE, NARROW);
    // Unified: the changed pair is two lines; the cursor is on its new half.
    assert_eq!(v.cursor.part, Part::New);
    assert!(v.act(Action::ToggleUnified, PAGE, NARROW));
    assert!(!v.is_unified(NARROW));
    assert!(v.act(Action::ToggleUnified, PAGE, WIDE));
    assert!(v.is_unified(WIDE));
    // The same row in both forms.
    let row = v.cursor.row.unwrap();
    assert_eq!(
        v.docs()[0].model.row(row),
        Some(Row::Changed { old: 9, new: 9 })
    );
}

#[test]
fn moving_keeps_the_cursor_in_view_and_stops_at_the_ends() {
    let mut v = DiffView::new("t".into(), vec![doc("a"), doc("b")], None);
    v.act(Action::Bottom, PAGE, WIDE);
    let last = v.total(false) - 1;
    assert_eq!(v.index(v.cursor, false), last);
    assert_eq!(v.top_line(PAGE, false), last + 1 - PAGE);
    v.act(Action::PageUp, PAGE, WIDE);
    assert_eq!(v.index(v.cursor, false), last - PAGE);
    v.act(Action::Top, PAGE, WIDE);
    assert_eq!(v.top_line(PAGE, false), 0);
    // A smaller page (a resize) still shows the cursor.
    v.act(Action::Bottom, PAGE, WIDE);
    assert_eq!(v.top_line(3, false), last - 2);
}

#[test]
fn brackets_move_between_documents() {
    let mut v = DiffView::new("t".into(), vec![doc("a"), doc("b")], None);
    assert!(!v.act(Action::PrevDoc, PAGE, WIDE));
    assert!(v.act(Action::NextDoc, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::heading(1));
    assert_eq!(v.top_line(PAGE, false), v.index(Cursor::heading(1), false));
    assert!(!v.act(Action::NextDoc, PAGE, WIDE));
    assert!(v.act(Action::FocusPrev, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::heading(0));
}

#[test]
fn the_list_layout_shows_one_document_at_a_time_from_its_first_change() {
    let docs = vec![
        doc("Deployment/default/backend changed"),
        DiffDoc::new("ConfigMap/default/same", "live", "desired", "a\n", "a\n"),
        doc("Service/default/backend changed"),
    ];
    let mut v = DiffView::new("Drift".into(), docs, None).listed();
    let first = v.docs()[0].model.changes()[0];
    assert_eq!(v.cursor, Cursor::at(0, first));
    assert_eq!(v.total(false), 17, "one document, no heading line");
    assert_eq!(
        v.line(0, false),
        Some(ViewLine::Row {
            doc: 0,
            row: 0,
            part: Part::Both
        })
    );
    // `n` stays in the document.
    v.act(Action::NextChange, PAGE, WIDE);
    assert!(!v.act(Action::NextChange, PAGE, WIDE));
    assert!(v.act(Action::NextDoc, PAGE, WIDE));
    assert_eq!(v.cursor, Cursor::at(1, 0));
    assert_eq!(v.total(false), 1);
    v.act(Action::NextDoc, PAGE, WIDE);
    assert_eq!(v.cursor, Cursor::at(2, first));
    // The list takes lines at the top; the body what is left.
    let g = v.geometry(Rect::new(0, 0, 120, 20));
    assert_eq!(g.list.height, 3);
    assert_eq!(g.labels.y, g.list.y + 3);
    assert_eq!(g.body.height, 18 - 3 - 2);
    assert_eq!(g.status.y, g.body.y + g.body.height);
}

#[test]
fn c_switches_to_the_alternate_set_and_back() {
    let computed = DiffDoc::new("computed", "a", "b", "x: 1\n", "x: 2\n");
    let mut v = DiffView::new(
        "Values".into(),
        vec![doc("values")],
        Some(("computed values".into(), vec![computed])),
    );
    assert_eq!(v.alternate(), Some(("computed values", false)));
    assert!(v.act(Action::Alternate, PAGE, WIDE));
    assert_eq!(v.alternate(), Some(("computed values", true)));
    assert_eq!(v.docs()[0].doc.heading, "computed");
    assert_eq!(v.cursor, Cursor::heading(0));
    assert!(v.act(Action::Alternate, PAGE, WIDE));
    assert_eq!(v.docs()[0].doc.heading, "values");
    let mut plain = DiffView::new("t".into(), vec![doc("a")], None);
    assert!(!plain.act(Action::Alternate, PAGE, WIDE));
}

#[test]
fn the_note_of_the_line_under_the_cursor() {
    let mut d = DiffDoc::new(
        "values",
        "desired",
        "deployed",
        "a: 1\nb: 2\n",
        "a: 1\nb: 3\n",
    );
    d.line_notes = vec![
        None,
        Some("from ConfigMap grade-api-values key values.yaml".into()),
    ];
    d.notes = vec!["approximate: dry-run forbidden".into()];
    let mut v = DiffView::new("t".into(), vec![d], None);
    assert_eq!(v.line_note(), None, "on the heading");
    v.act(Action::NextChange, PAGE, WIDE);
    assert_eq!(
        v.line_note(),
        Some("from ConfigMap grade-api-values key values.yaml")
    );
    v.act(Action::Up, PAGE, WIDE);
    assert_eq!(v.line_note(), None);
    let g = v.geometry(Rect::new(0, 0, 120, 20));
    assert_eq!(g.notes.height, 1);
}

#[test]
fn horizontal_scroll_stops_at_the_widest_line() {
    let long = "x".repeat(20);
    let mut v = DiffView::new(
        "t".into(),
        vec![DiffDoc::new("h", "l", "r", "a\n", format!("{long}\n"))],
        None,
    );
    assert!(!v.act(Action::ScrollLeft, PAGE, WIDE));
    assert!(v.act(Action::ScrollRight, PAGE, WIDE));
    assert!(v.act(Action::ScrollRight, PAGE, WIDE));
    assert_eq!(v.hscroll, 16);
    assert!(!v.act(Action::ScrollRight, PAGE, WIDE));
    assert!(v.act(Action::ScrollLeft, PAGE, WIDE));
    assert_eq!(v.hscroll, 8);
}

#[test]
fn loading_then_failed_or_loaded() {
    let mut v = DiffView::loading("Drift".into()).listed();
    assert_eq!(v.content, DiffContent::Loading);
    assert_eq!(v.total(false), 0);
    assert!(!v.act(Action::NextChange, PAGE, WIDE));
    assert!(v.act(Action::Down, PAGE, WIDE), "moving is harmless");
    v.failed("forbidden".into());
    assert_eq!(v.content, DiffContent::Failed("forbidden".into()));
    v.loaded(vec![doc("a")], None);
    assert_eq!(v.content, DiffContent::Loaded);
    assert_eq!(v.layout, DiffLayout::List);
    assert_eq!(v.cursor.row, Some(v.docs()[0].model.changes()[0]));
}

#[test]
fn a_document_without_differences_is_shown_whole() {
    let same = numbered(40);
    let v = DiffView::new(
        "t".into(),
        vec![
            DiffDoc::new("same", "old", "new", same.clone(), same),
            doc("changed"),
        ],
        None,
    );
    let rows = v.docs()[0].model.rows();
    assert_eq!(rows.len(), 40, "one row per line, no fold");
    assert!(rows.iter().all(|r| !matches!(r, Row::Fold { .. })));
    // A document with changes keeps its folds.
    assert!(
        v.docs()[1]
            .model
            .rows()
            .iter()
            .any(|r| matches!(r, Row::Fold { .. }))
    );
}
