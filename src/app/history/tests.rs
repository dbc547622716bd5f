//! Tests of the preview model: the diff rows of the values and the manifest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use super::*;
use crate::domain::diff::Tag;

fn data() -> HistoryData {
    HistoryData {
        key: ObjectKey::flux(FluxKind::HelmRelease, "ns", "app"),
        release_name: "app".into(),
        release_namespace: "ns".into(),
        storage_namespace: "ns".into(),
        rows: Vec::new(),
        current: Some(2),
        default_target: Some(1),
        values: BTreeMap::from([(1, "a: 1\n".into()), (2, "a: 2\n".into())]),
        manifests: BTreeMap::from([(1, "kind: A\n".into()), (2, "kind: A\n".into())]),
        plans: BTreeMap::new(),
    }
}

#[test]
fn the_preview_has_a_heading_per_section_and_counts_changes() {
    let p = Preview::new(&data(), 2, 1);
    assert_eq!(
        p.unified[0],
        UnifiedRow::Heading("values: revision 2 → revision 1: +1 −1 lines".into())
    );
    assert!(
        matches!(&p.unified[1], UnifiedRow::Line(l) if l.tag == Tag::Removed && l.text == "a: 2")
    );
    assert!(
        matches!(&p.unified[2], UnifiedRow::Line(l) if l.tag == Tag::Added && l.text == "a: 1")
    );
    assert_eq!(
        p.unified[3],
        UnifiedRow::Heading("manifest: revision 2 → revision 1: no difference".into())
    );
    // Side by side: the changed value on one row.
    assert!(matches!(&p.split[1], SplitRow::Row(r) if r.left.is_some() && r.right.is_some()));
    assert_eq!(p.split.len(), 4);
    assert_eq!(p.len(), 5);
}
