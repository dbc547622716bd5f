//! Tests of the diff model: pairing, changed words, folding, change positions, the unified
//! form, and the plain forms.

#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn a_removed_run_pairs_with_the_added_run_after_it() {
    let m = DiffModel::new("a\nb\nc\nd\n", "a\nB\nC\nD\nE\nd\n");
    assert_eq!(
        m.rows(),
        [
            Row::Equal { old: 0, new: 0 },
            Row::Changed { old: 1, new: 1 },
            Row::Changed { old: 2, new: 2 },
            Row::Added { new: 3 },
            Row::Added { new: 4 },
            Row::Equal { old: 3, new: 5 },
        ]
    );
    assert_eq!(m.counts(), (4, 2));
    assert_eq!(m.summary(false), "+4 −2 lines");
    assert_eq!(m.summary(true), "+4 -2 lines");
    let m = DiffModel::new("a\nb\nc\n", "a\n");
    assert_eq!(
        m.rows()[1..],
        [Row::Removed { old: 1 }, Row::Removed { old: 2 }]
    );
}

#[test]
fn the_same_texts_have_no_change() {
    let m = DiffModel::new("a\nb\n", "a\nb\n");
    assert!(m.is_same());
    assert_eq!(m.summary(false), "no difference");
    assert!(m.changes().is_empty());
    let empty = DiffModel::new("", "");
    assert!(empty.is_empty() && empty.is_same());
    assert_eq!(empty.len(true), 0);
}

#[test]
fn a_missing_final_newline_and_crlf_are_no_change() {
    let m = DiffModel::new("a\r\nb", "a\nb\n");
    assert!(m.is_same(), "{:?}", m.rows());
}

#[test]
fn changed_words_are_byte_ranges_inside_the_changed_lines() {
    let m = DiffModel::new(
        "image: bitnami/redis:7.2.5\nkeep: 1\n",
        "image: bitnami/redis:7.2.4\nkeep: 1\n",
    );
    assert_eq!(m.rows()[0], Row::Changed { old: 0, new: 0 });
    let old = m.old_line(0);
    let ranges = m.old_words(0);
    assert_eq!(ranges.len(), 1);
    assert_eq!(&old[ranges[0].clone()], "5");
    assert_eq!(&m.new_line(0)[m.new_words(0)[0].clone()], "4");
    // Equal lines have none.
    assert!(m.old_words(1).is_empty());
    let (o, n) = changed_words("replicaCount: 3", "replicaCount: 12 # more");
    assert_eq!((o.len(), o.first()), (1, Some(&(14..15))));
    assert_eq!((n.len(), n.first()), (1, Some(&(14..23))));
    // Non-ASCII stays on character boundaries.
    let (o, n) = changed_words("name: grüße", "name: grüßen");
    assert_eq!(&"name: grüße"[o[0].clone()], "grüße");
    assert_eq!(&"name: grüßen"[n[0].clone()], "grüßen");
}

#[test]
fn long_unchanged_runs_fold_keeping_the_context() {
    let old = numbered(30);
    let new = old.replace("line 15\n", "line fifteen\n");
    let m = DiffModel::new(&old, &new);
    // 14 lines before: 11 folded, 3 kept; the change; 15 after: 3 kept, 12 folded.
    assert_eq!(
        m.rows()[0],
        Row::Fold {
            old: 0,
            new: 0,
            hidden: 11
        }
    );
    assert_eq!(m.rows()[1], Row::Equal { old: 11, new: 11 });
    assert_eq!(m.rows()[4], Row::Changed { old: 14, new: 14 });
    assert_eq!(
        m.rows()[8],
        Row::Fold {
            old: 18,
            new: 18,
            hidden: 12
        }
    );
    assert_eq!(m.rows().len(), 9);
    // An inner run of 2 × context stays; one line more folds.
    let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
    let new = old.replace("4\n", "four\n").replace("11\n", "eleven\n");
    let m = DiffModel::new(&old, &new);
    assert!(
        !m.rows()
            .iter()
            .take_while(|r| **r != Row::Changed { old: 10, new: 10 })
            .any(|r| matches!(r, Row::Fold { .. })),
        "{:?}",
        m.rows()
    );
    let new = old.replace("4\n", "four\n").replace("12\n", "twelve\n");
    let m = DiffModel::new(&old, &new);
    assert!(m.rows().contains(&Row::Fold {
        old: 7,
        new: 7,
        hidden: 1
    }));
    // Nothing changed: one fold for the whole text.
    let m = DiffModel::new(&numbered(10), &numbered(10));
    assert_eq!(
        m.rows(),
        [Row::Fold {
            old: 0,
            new: 0,
            hidden: 10
        }]
    );
}

#[test]
fn folds_expand_one_at_a_time_or_all() {
    let old = numbered(30);
    let new = old.replace("line 15\n", "line fifteen\n");
    let mut m = DiffModel::new(&old, &new);
    assert!(!m.expand(1), "not a fold");
    assert!(m.expand(0));
    assert_eq!(m.rows()[0], Row::Equal { old: 0, new: 0 });
    assert_eq!(m.rows().len(), 9 + 10);
    assert_eq!(m.changes(), [14]);
    assert!(m.expand_all());
    assert_eq!(m.rows().len(), 30);
    assert!(!m.expand_all());
    assert_eq!(m.unified().len(), 31);
}

#[test]
fn change_positions_start_each_run_of_changes() {
    let old = numbered(40);
    let new = old
        .replace("line 5\n", "five\n")
        .replace("line 6\n", "six\n")
        .replace("line 30\n", "");
    let m = DiffModel::new(&old, &new);
    let changes = m.changes().to_vec();
    assert_eq!(changes.len(), 2);
    assert!(m.row(changes[0]).unwrap().is_change());
    assert_eq!(m.row(changes[1]), Some(Row::Removed { old: 29 }));
    assert_eq!(m.next_change(0), Some(changes[0]));
    assert_eq!(m.next_change(changes[0]), Some(changes[1]));
    assert_eq!(m.next_change(changes[1]), None);
    assert_eq!(m.prev_change(changes[1]), Some(changes[0]));
    assert_eq!(m.prev_change(changes[0]), None);
}

#[test]
fn the_unified_form_flattens_the_rows() {
    let m = DiffModel::new("a\nb\nc\n", "a\nB\nc\nd\n");
    let text = m.unified_text();
    assert_eq!(text, " a\n-b\n+B\n c\n+d\n");
    assert_eq!(m.len(false), 4);
    assert_eq!(m.len(true), 5);
    // Row 1 (the changed pair) is unified lines 1 and 2.
    assert_eq!(m.index_of(true, 1, Part::Old), 1);
    assert_eq!(m.index_of(true, 1, Part::New), 2);
    assert_eq!(m.index_of(true, 3, Part::Both), 4);
    assert_eq!(m.index_of(false, 3, Part::Both), 3);
    assert_eq!(
        m.line(true, 2),
        Some(Unified {
            row: 1,
            part: Part::New
        })
    );
    let l = m.unified_line(1).unwrap();
    assert_eq!((l.sign, l.old, l.new, l.text), ('-', Some(2), None, "b"));
    let folded = DiffModel::new(&numbered(10), &numbered(10));
    assert_eq!(folded.unified_text(), "@@ 10 unchanged lines @@\n");
}

#[test]
fn control_characters_never_reach_the_lines() {
    let m = DiffModel::new("a: 1\n", "a: \u{1b}[31m2\u{7}\n");
    assert_eq!(m.new_line(0), "a: 2");
    assert_eq!(m.old_line(9), "");
}

#[test]
fn ten_thousand_lines_with_scattered_changes() {
    let old: String = (0..10_000)
        .map(|i| format!("key{i}:\n  value: {i}\n"))
        .collect();
    let new = old.replace("value: 5000\n", "value: 5001\n");
    let m = DiffModel::new(&old, &new);
    assert_eq!(m.counts(), (1, 1));
    assert_eq!(m.rows().len(), 3 + 1 + 3 + 2);
    assert_eq!(m.widest(), (13, 13));
}

#[test]
fn lines_are_tagged_with_numbers_on_both_sides() {
    let d = lines("a\nb\nc\n", "a\nB\nc\nd\n");
    let tags: Vec<Tag> = d.iter().map(|l| l.tag).collect();
    assert_eq!(
        tags,
        [Tag::Equal, Tag::Removed, Tag::Added, Tag::Equal, Tag::Added]
    );
    assert_eq!(
        (d[1].old, d[1].new, d[1].text.as_str()),
        (Some(2), None, "b")
    );
    assert_eq!(
        (d[2].old, d[2].new, d[2].text.as_str()),
        (None, Some(2), "B")
    );
    assert_eq!(counts(&d), (2, 1));
}

#[test]
fn side_by_side_pairs_removed_with_the_added_after_them() {
    let rows = side_by_side(&lines("a\nb\nc\n", "a\nB\nC\nD\n"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1].left.as_ref().unwrap().text, "b");
    assert_eq!(rows[1].right.as_ref().unwrap().text, "B");
    assert_eq!(rows[3].left, None);
    assert_eq!(rows[3].right.as_ref().unwrap().text, "D");
}

#[test]
fn yaml_sorts_keys_at_every_depth() {
    let v = json!({"z": 1, "a": {"y": true, "b": [ {"d": 1, "c": 2} ]}});
    assert_eq!(yaml(&v), "a:\n  b:\n  - c: 2\n    d: 1\n  y: true\nz: 1\n");
    assert_eq!(yaml(&json!({})), "");
}

#[test]
fn texts_with_no_line_in_common_pair_line_by_line() {
    let old: String = (0..3000).map(|i| format!("a{i}\n")).collect();
    let new: String = (0..2000).map(|i| format!("b{i}\n")).collect();
    let m = DiffModel::new(&old, &new);
    assert_eq!(m.counts(), (2000, 3000));
    assert_eq!(m.rows()[0], Row::Changed { old: 0, new: 0 });
    assert_eq!(m.rows()[2999], Row::Removed { old: 2999 });
    // A line present on one side only between matching lines.
    let m = DiffModel::new("k\nx\nk2\n", "k\ny\nz\nk2\n");
    assert_eq!(
        m.rows(),
        [
            Row::Equal { old: 0, new: 0 },
            Row::Changed { old: 1, new: 1 },
            Row::Added { new: 2 },
            Row::Equal { old: 2, new: 3 },
        ]
    );
}
