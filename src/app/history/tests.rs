//! Tests of the preview model and of the revisions a comparison takes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use super::*;
use crate::domain::diff::Row;
use crate::domain::helm_history::HistoryRow;

fn row(revision: i64, current: bool) -> HistoryRow {
    HistoryRow {
        revision,
        status: if current { "deployed" } else { "superseded" }.into(),
        chart: format!("app-1.{revision}.0"),
        app_version: "1".into(),
        updated: String::new(),
        description: String::new(),
        current,
        in_status_history: true,
    }
}

fn data() -> HistoryData {
    HistoryData {
        key: ObjectKey::flux(FluxKind::HelmRelease, "ns", "app"),
        release_name: "app".into(),
        release_namespace: "ns".into(),
        storage_namespace: "ns".into(),
        rows: vec![row(1, false), row(2, false), row(3, true)],
        current: Some(3),
        default_target: Some(2),
        values: BTreeMap::from([
            (1, "a: 1\n".into()),
            (2, "a: 2\n".into()),
            (3, "a: 3\n".into()),
        ]),
        manifests: BTreeMap::from([(1, "kind: A\n".into()), (3, "kind: A\n".into())]),
        plans: BTreeMap::new(),
    }
}

#[test]
fn the_preview_has_a_document_per_section_with_counts() {
    let p = Preview::new(&data(), 3, 1, false);
    assert_eq!(
        p.view.title,
        "Rollback preview HelmRelease/ns/app: revision 3 (current) → revision 1"
    );
    let docs = p.view.docs();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[0].heading(false),
        "values: revision 3 → revision 1: +1 −1 lines"
    );
    assert_eq!(docs[0].doc.left_label, "revision 3 (current)");
    assert_eq!(
        docs[0].doc.right_label,
        "revision 1 (superseded, app-1.1.0)"
    );
    // The changed value on one side-by-side row.
    assert_eq!(docs[0].model.rows(), [Row::Changed { old: 0, new: 0 }]);
    assert_eq!(
        docs[1].heading(false),
        "manifest: revision 3 → revision 1: no difference"
    );
    let ascii = Preview::new(&data(), 3, 1, true);
    assert!(
        ascii
            .view
            .title
            .contains("revision 3 (current) -> revision 1")
    );
}

#[test]
fn a_record_that_could_not_be_read_is_said_so() {
    let doc = revision_doc(&data(), Records::Manifests, 2, 3, false);
    assert_eq!(doc.old, "");
    assert_eq!(
        doc.notes,
        ["the release record of revision 2 could not be decoded: shown as empty"]
    );
}

#[test]
fn a_comparison_takes_the_marked_and_selected_or_the_selected_and_current() {
    let mut v = HistoryView::new(data().key, false, "ctx");
    assert!(pair(&v).is_err(), "not loaded");
    v.content = HistoryContent::Loaded(Box::new(data()));
    // Newest first: the cursor is on revision 3, the current one.
    assert_eq!(v.selected(), Some(3));
    let e = pair(&v).unwrap_err();
    assert!(e.contains("revision 3 is the current one"), "{e}");
    v.cursor = 2;
    assert_eq!(pair(&v), Ok((1, 3)));
    v.marked = Some(2);
    assert_eq!(pair(&v), Ok((1, 2)));
    // Marked and selected the same: the current one again.
    v.cursor = 1;
    assert_eq!(pair(&v), Ok((2, 3)));
}
