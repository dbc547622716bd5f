//! Line diffs of two texts (values as YAML with sorted keys, release manifests), as plain
//! data: each line is equal, added or removed, with its line numbers on either side. The
//! side-by-side form pairs a run of removed lines with the run of added lines after it.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

/// What happened to a line from the old text to the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    Equal,
    Added,
    Removed,
}

/// One line of a unified diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub tag: Tag,
    /// 1-based line number in the old text (none for an added line).
    pub old: Option<usize>,
    /// 1-based line number in the new text (none for a removed line).
    pub new: Option<usize>,
    /// The line without its line break.
    pub text: String,
}

/// One side of a side-by-side row: line number and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Half {
    pub line: usize,
    pub text: String,
    pub tag: Tag,
}

/// One row of a side-by-side diff: old on the left, new on the right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub left: Option<Half>,
    pub right: Option<Half>,
}

/// The unified line diff of `old` and `new`.
pub fn lines(old: &str, new: &str) -> Vec<DiffLine> {
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                ChangeTag::Equal => Tag::Equal,
                ChangeTag::Insert => Tag::Added,
                ChangeTag::Delete => Tag::Removed,
            },
            old: c.old_index().map(|i| i + 1),
            new: c.new_index().map(|i| i + 1),
            text: c.value().trim_end_matches(['\n', '\r']).to_string(),
        })
        .collect()
}

/// How many lines were added and removed.
pub fn counts(lines: &[DiffLine]) -> (usize, usize) {
    lines.iter().fold((0, 0), |(a, r), l| match l.tag {
        Tag::Added => (a + 1, r),
        Tag::Removed => (a, r + 1),
        Tag::Equal => (a, r),
    })
}

/// The side-by-side rows of a unified diff: equal lines on both sides, a run of removed lines
/// next to the added lines that follow it.
pub fn side_by_side(lines: &[DiffLine]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.tag == Tag::Equal {
            rows.push(Row {
                left: l.old.map(|n| half(n, l)),
                right: l.new.map(|n| half(n, l)),
            });
            i += 1;
            continue;
        }
        let removed: Vec<&DiffLine> = lines[i..]
            .iter()
            .take_while(|l| l.tag == Tag::Removed)
            .collect();
        i += removed.len();
        let added: Vec<&DiffLine> = lines[i..]
            .iter()
            .take_while(|l| l.tag == Tag::Added)
            .collect();
        i += added.len();
        for k in 0..removed.len().max(added.len()) {
            rows.push(Row {
                left: removed.get(k).and_then(|l| l.old.map(|n| half(n, l))),
                right: added.get(k).and_then(|l| l.new.map(|n| half(n, l))),
            });
        }
    }
    rows
}

fn half(line: usize, l: &DiffLine) -> Half {
    Half {
        line,
        text: l.text.clone(),
        tag: l.tag,
    }
}

/// A copy of `v` with the keys of every map sorted.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .filter_map(|k| map.get(k).map(|x| (k.clone(), sorted(x))))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// `v` as YAML with sorted keys (empty values: an empty text).
pub fn yaml(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Object(m) if m.is_empty() => String::new(),
        _ => serde_yaml::to_string(&sorted(v)).unwrap_or_else(|e| format!("# {e}\n")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

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
}
