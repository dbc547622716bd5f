//! Line diffs of two texts (values as YAML with sorted keys, release manifests, live and
//! desired objects), as plain data.
//!
//! [`DiffModel`] is the one model every diff view shows: built with `similar` from two texts,
//! it holds the side-by-side rows (equal lines on both sides, a run of removed lines next to
//! the run of added lines after it, a removed line paired with an added one being a changed
//! line), the changed words inside each changed line, unchanged runs longer than twice the
//! context folded into one row that can be expanded, where each change starts (for next and
//! previous change), the unified form (the same rows flattened to `-`/`+`/` ` lines) and the
//! counts. A [`DiffDoc`] is what a caller hands over: the two texts and what each side is.
//!
//! [`lines`], [`counts`] and [`side_by_side`] are the plain unified and side-by-side forms
//! without folding, for callers that print a whole diff.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::time::{Duration, Instant};

use serde_json::Value;
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff, capture_diff_slices_deadline};

use super::helm_storage::sorted;
use super::text::sanitize_line;

/// Unchanged lines kept around each change.
pub const CONTEXT: usize = 3;

/// The longest a line diff may take before `similar` settles for a coarser answer.
const LINE_DIFF_BUDGET: Duration = Duration::from_millis(300);

/// Changed lines longer than this (in bytes) are marked whole instead of word by word.
const WORD_DIFF_MAX: usize = 2_000;

/// Two texts to compare and what they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffDoc {
    /// What is compared, e.g. `values: revision 3 → revision 2`, or the drift summary line
    /// of one object.
    pub heading: String,
    /// What the left (old) side is, e.g. `desired: spec.values + 2 valuesFrom`.
    pub left_label: String,
    /// What the right (new) side is, e.g. `deployed rev 3`.
    pub right_label: String,
    pub old: String,
    pub new: String,
    /// Shown above the diff, e.g. `approximate: dry-run forbidden`.
    pub notes: Vec<String>,
    /// A note per line of the new text (index = line number - 1), e.g. the origin of a
    /// value; shown for the line under the cursor.
    pub line_notes: Vec<Option<String>>,
}

impl DiffDoc {
    /// Whether the two texts differ.
    pub fn differs(&self) -> bool {
        self.old != self.new
    }

    /// A document without notes.
    pub fn new(
        heading: impl Into<String>,
        left_label: impl Into<String>,
        right_label: impl Into<String>,
        old: impl Into<String>,
        new: impl Into<String>,
    ) -> DiffDoc {
        DiffDoc {
            heading: heading.into(),
            left_label: left_label.into(),
            right_label: right_label.into(),
            old: old.into(),
            new: new.into(),
            notes: Vec::new(),
            line_notes: Vec::new(),
        }
    }

    /// The note of line `index` (0-based) of the new text.
    pub fn line_note(&self, index: usize) -> Option<&str> {
        self.line_notes.get(index).and_then(|n| n.as_deref())
    }
}

/// One side-by-side row. Line numbers are 0-based indices into the model's old and new lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Row {
    /// The same line on both sides.
    Equal { old: usize, new: usize },
    /// A removed line paired with the added line next to it.
    Changed { old: usize, new: usize },
    /// A removed line with nothing next to it.
    Removed { old: usize },
    /// An added line with nothing next to it.
    Added { new: usize },
    /// `hidden` unchanged lines, the first being `old` and `new`.
    Fold {
        old: usize,
        new: usize,
        hidden: usize,
    },
}

impl Row {
    /// Whether the row is a change (changed, removed or added).
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Row::Changed { .. } | Row::Removed { .. } | Row::Added { .. }
        )
    }

    /// The old line shown on this row.
    pub fn old(self) -> Option<usize> {
        match self {
            Row::Equal { old, .. } | Row::Changed { old, .. } | Row::Removed { old } => Some(old),
            _ => None,
        }
    }

    /// The new line shown on this row.
    pub fn new_line(self) -> Option<usize> {
        match self {
            Row::Equal { new, .. } | Row::Changed { new, .. } | Row::Added { new } => Some(new),
            _ => None,
        }
    }
}

/// Which part of a row a unified line shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The whole row (equal lines, a fold).
    Both,
    /// The old line (`-`).
    Old,
    /// The new line (`+`).
    New,
}

/// One line of the unified form: a row, or one half of a changed row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Unified {
    pub row: usize,
    pub part: Part,
}

/// A unified line as text, for printing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnifiedLine<'a> {
    /// `' '`, `'-'`, `'+'`, or `'@'` for a fold.
    pub sign: char,
    /// 1-based line number in the old text.
    pub old: Option<usize>,
    /// 1-based line number in the new text.
    pub new: Option<usize>,
    /// The line (empty for a fold).
    pub text: &'a str,
    /// Lines a fold hides (0 otherwise).
    pub hidden: usize,
}

/// The diff of two texts, ready to show (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffModel {
    old: Vec<String>,
    new: Vec<String>,
    rows: Vec<Row>,
    /// Changed byte ranges inside changed lines, by old line.
    words_old: BTreeMap<usize, Vec<Range<usize>>>,
    /// Changed byte ranges inside changed lines, by new line.
    words_new: BTreeMap<usize, Vec<Range<usize>>>,
    added: usize,
    removed: usize,
    /// Longest old and new line, in characters.
    widest: (usize, usize),
    // Derived from `rows` whenever they change.
    unified: Vec<Unified>,
    first_unified: Vec<usize>,
    changes: Vec<usize>,
}

/// `text` cut into lines (without their line breaks); no line for an empty text.
fn split(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Tokens for the word diff: runs of letters, digits and `_`, and every other character alone.
fn tokens(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in line.char_indices() {
        let word = c.is_alphanumeric() || c == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, s) => {
                if let Some(s) = s {
                    out.push((s, &line[s..i]));
                    start = None;
                }
                out.push((i, &line[i..i + c.len_utf8()]));
            }
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

/// Add `r` to `ranges`, merging it with the last one when they touch.
fn push_range(ranges: &mut Vec<Range<usize>>, r: Range<usize>) {
    if r.is_empty() {
        return;
    }
    match ranges.last_mut() {
        Some(last) if last.end >= r.start => last.end = last.end.max(r.end),
        _ => ranges.push(r),
    }
}

/// The byte span of tokens `range` of a tokenised line.
fn span(toks: &[(usize, &str)], range: Range<usize>) -> Range<usize> {
    match (
        toks.get(range.start),
        range.end.checked_sub(1).and_then(|e| toks.get(e)),
    ) {
        (Some((s, _)), Some((e, t))) if range.start < range.end => *s..e + t.len(),
        _ => 0..0,
    }
}

/// The changed byte ranges of a changed line: (in the old line, in the new line).
pub fn changed_words(old: &str, new: &str) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    if old.len() > WORD_DIFF_MAX || new.len() > WORD_DIFF_MAX {
        let whole = |s: &str| {
            if s.is_empty() {
                Vec::new()
            } else {
                std::iter::once(0..s.len()).collect()
            }
        };
        return (whole(old), whole(new));
    }
    let a = tokens(old);
    let b = tokens(new);
    let ta: Vec<&str> = a.iter().map(|(_, t)| *t).collect();
    let tb: Vec<&str> = b.iter().map(|(_, t)| *t).collect();
    let mut ro = Vec::new();
    let mut rn = Vec::new();
    for op in capture_diff_slices_deadline(Algorithm::Myers, &ta, &tb, None) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => push_range(&mut ro, span(&a, old_index..old_index + old_len)),
            DiffOp::Insert {
                new_index, new_len, ..
            } => push_range(&mut rn, span(&b, new_index..new_index + new_len)),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                push_range(&mut ro, span(&a, old_index..old_index + old_len));
                push_range(&mut rn, span(&b, new_index..new_index + new_len));
            }
        }
    }
    (ro, rn)
}

/// The pairs of equal lines (old index, new index) of the line diff, in order. Lines that
/// occur on one side only cannot match: they are left out before `similar` compares the
/// rest, so two texts with little in common are quick to compare. A pathological reordering
/// is cut short after [`LINE_DIFF_BUDGET`] (`similar` then settles for a coarser answer).
fn matched(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    let in_a: HashSet<&str> = a.iter().copied().collect();
    let in_b: HashSet<&str> = b.iter().copied().collect();
    let ka: Vec<usize> = (0..a.len()).filter(|&i| in_b.contains(a[i])).collect();
    let kb: Vec<usize> = (0..b.len()).filter(|&j| in_a.contains(b[j])).collect();
    let sa: Vec<&str> = ka.iter().map(|&i| a[i]).collect();
    let sb: Vec<&str> = kb.iter().map(|&j| b[j]).collect();
    let deadline = Instant::now().checked_add(LINE_DIFF_BUDGET);
    let mut out = Vec::new();
    for op in capture_diff_slices_deadline(Algorithm::Myers, &sa, &sb, deadline) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                if let (Some(&i), Some(&j)) = (ka.get(old_index + k), kb.get(new_index + k)) {
                    out.push((i, j));
                }
            }
        }
    }
    out
}

impl DiffModel {
    /// The diff of `old` and `new` with [`CONTEXT`] unchanged lines around each change.
    pub fn new(old: &str, new: &str) -> DiffModel {
        DiffModel::with_context(old, new, CONTEXT)
    }

    /// The diff of `old` and `new`, keeping `context` unchanged lines around each change.
    pub fn with_context(old: &str, new: &str, context: usize) -> DiffModel {
        let a = split(old);
        let b = split(new);
        let mut rows = Vec::with_capacity(a.len().max(b.len()));
        // Between two matched lines: the removed run next to the added run.
        let (mut i, mut j) = (0, 0);
        let ends = std::iter::once((a.len(), b.len()));
        for (mi, mj) in matched(&a, &b).into_iter().chain(ends) {
            let (d, n) = (mi.saturating_sub(i), mj.saturating_sub(j));
            for k in 0..d.max(n) {
                rows.push(match (k < d, k < n) {
                    (true, true) => Row::Changed {
                        old: i + k,
                        new: j + k,
                    },
                    (true, false) => Row::Removed { old: i + k },
                    _ => Row::Added { new: j + k },
                });
            }
            if mi < a.len() && mj < b.len() {
                rows.push(Row::Equal { old: mi, new: mj });
            }
            (i, j) = (mi + 1, mj + 1);
        }

        let old: Vec<String> = a.iter().map(|l| sanitize_line(l).into_owned()).collect();
        let new: Vec<String> = b.iter().map(|l| sanitize_line(l).into_owned()).collect();
        let mut words_old = BTreeMap::new();
        let mut words_new = BTreeMap::new();
        let (mut added, mut removed) = (0, 0);
        for row in &rows {
            match *row {
                Row::Changed { old: o, new: n } => {
                    added += 1;
                    removed += 1;
                    if let (Some(lo), Some(ln)) = (old.get(o), new.get(n)) {
                        let (ro, rn) = changed_words(lo, ln);
                        words_old.insert(o, ro);
                        words_new.insert(n, rn);
                    }
                }
                Row::Removed { .. } => removed += 1,
                Row::Added { .. } => added += 1,
                _ => {}
            }
        }
        let chars = |v: &[String]| v.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let widest = (chars(&old), chars(&new));
        let mut model = DiffModel {
            old,
            new,
            rows: fold(rows, context),
            words_old,
            words_new,
            added,
            removed,
            widest,
            unified: Vec::new(),
            first_unified: Vec::new(),
            changes: Vec::new(),
        };
        model.derive();
        model
    }

    /// Recompute the unified form and the change positions from the rows.
    fn derive(&mut self) {
        self.unified.clear();
        self.first_unified.clear();
        self.changes.clear();
        let mut previous_change = false;
        for (i, row) in self.rows.iter().enumerate() {
            self.first_unified.push(self.unified.len());
            match row {
                Row::Changed { .. } => {
                    self.unified.push(Unified {
                        row: i,
                        part: Part::Old,
                    });
                    self.unified.push(Unified {
                        row: i,
                        part: Part::New,
                    });
                }
                Row::Removed { .. } => self.unified.push(Unified {
                    row: i,
                    part: Part::Old,
                }),
                Row::Added { .. } => self.unified.push(Unified {
                    row: i,
                    part: Part::New,
                }),
                Row::Equal { .. } | Row::Fold { .. } => self.unified.push(Unified {
                    row: i,
                    part: Part::Both,
                }),
            }
            let change = row.is_change();
            if change && !previous_change {
                self.changes.push(i);
            }
            previous_change = change;
        }
    }

    /// The side-by-side rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn row(&self, i: usize) -> Option<Row> {
        self.rows.get(i).copied()
    }

    /// The unified lines (a changed row gives two).
    pub fn unified(&self) -> &[Unified] {
        &self.unified
    }

    /// Lines in the unified (`true`) or side-by-side form.
    pub fn len(&self, unified: bool) -> usize {
        if unified {
            self.unified.len()
        } else {
            self.rows.len()
        }
    }

    /// Whether there is no line at all (two empty texts).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Line `i` of the unified or side-by-side form: its row and the part shown.
    pub fn line(&self, unified: bool, i: usize) -> Option<Unified> {
        if unified {
            self.unified.get(i).copied()
        } else {
            self.rows.get(i).map(|_| Unified {
                row: i,
                part: Part::Both,
            })
        }
    }

    /// Where row `row` (its `part`) is in the unified or side-by-side form.
    pub fn index_of(&self, unified: bool, row: usize, part: Part) -> usize {
        if !unified {
            return row.min(self.rows.len().saturating_sub(1));
        }
        let Some(first) = self.first_unified.get(row).copied() else {
            return self.unified.len().saturating_sub(1);
        };
        match (self.rows.get(row), part) {
            (Some(Row::Changed { .. }), Part::New) => first + 1,
            _ => first,
        }
    }

    /// Lines in the old text.
    pub fn old_len(&self) -> usize {
        self.old.len()
    }

    /// Lines in the new text.
    pub fn new_len(&self) -> usize {
        self.new.len()
    }

    /// The old line `i` (0-based), as shown (control characters removed).
    pub fn old_line(&self, i: usize) -> &str {
        self.old.get(i).map_or("", String::as_str)
    }

    /// The new line `i` (0-based), as shown.
    pub fn new_line(&self, i: usize) -> &str {
        self.new.get(i).map_or("", String::as_str)
    }

    /// The changed byte ranges of old line `i` (empty unless it is a changed line).
    pub fn old_words(&self, i: usize) -> &[Range<usize>] {
        self.words_old.get(&i).map_or(&[], Vec::as_slice)
    }

    /// The changed byte ranges of new line `i`.
    pub fn new_words(&self, i: usize) -> &[Range<usize>] {
        self.words_new.get(&i).map_or(&[], Vec::as_slice)
    }

    /// The rows where a run of changes starts.
    pub fn changes(&self) -> &[usize] {
        &self.changes
    }

    /// The first change after row `row`.
    pub fn next_change(&self, row: usize) -> Option<usize> {
        let i = self.changes.partition_point(|&c| c <= row);
        self.changes.get(i).copied()
    }

    /// The last change before row `row`.
    pub fn prev_change(&self, row: usize) -> Option<usize> {
        let i = self.changes.partition_point(|&c| c < row);
        i.checked_sub(1).and_then(|i| self.changes.get(i).copied())
    }

    /// Lines added and removed (a changed line counts as one of each).
    pub fn counts(&self) -> (usize, usize) {
        (self.added, self.removed)
    }

    /// Whether the texts have the same lines.
    pub fn is_same(&self) -> bool {
        self.added == 0 && self.removed == 0
    }

    /// `+3 −1 lines`, or `no difference` (`-` for `−` in ASCII).
    pub fn summary(&self, ascii: bool) -> String {
        if self.is_same() {
            return "no difference".to_string();
        }
        let minus = if ascii { "-" } else { "−" };
        format!("+{} {minus}{} lines", self.added, self.removed)
    }

    /// The widest old and new lines, in characters (the horizontal scroll limit).
    pub fn widest(&self) -> (usize, usize) {
        self.widest
    }

    /// Expand the fold at row `row` into its lines. False when it is not a fold.
    pub fn expand(&mut self, row: usize) -> bool {
        let Some(Row::Fold { old, new, hidden }) = self.rows.get(row).copied() else {
            return false;
        };
        self.rows.splice(
            row..=row,
            (0..hidden).map(|k| Row::Equal {
                old: old + k,
                new: new + k,
            }),
        );
        self.derive();
        true
    }

    /// Expand every fold. False when there was none.
    pub fn expand_all(&mut self) -> bool {
        if !self.rows.iter().any(|r| matches!(r, Row::Fold { .. })) {
            return false;
        }
        let mut rows = Vec::with_capacity(self.old.len().max(self.new.len()));
        for row in &self.rows {
            match *row {
                Row::Fold { old, new, hidden } => rows.extend((0..hidden).map(|k| Row::Equal {
                    old: old + k,
                    new: new + k,
                })),
                r => rows.push(r),
            }
        }
        self.rows = rows;
        self.derive();
        true
    }

    /// Unified line `i` as text.
    pub fn unified_line(&self, i: usize) -> Option<UnifiedLine<'_>> {
        let u = self.unified.get(i)?;
        let row = self.rows.get(u.row)?;
        let old = |o: usize| UnifiedLine {
            sign: '-',
            old: Some(o + 1),
            new: None,
            text: self.old_line(o),
            hidden: 0,
        };
        let new = |n: usize| UnifiedLine {
            sign: '+',
            old: None,
            new: Some(n + 1),
            text: self.new_line(n),
            hidden: 0,
        };
        Some(match (*row, u.part) {
            (Row::Equal { old: o, new: n }, _) => UnifiedLine {
                sign: ' ',
                old: Some(o + 1),
                new: Some(n + 1),
                text: self.new_line(n),
                hidden: 0,
            },
            (
                Row::Fold {
                    old: o,
                    new: n,
                    hidden,
                },
                _,
            ) => UnifiedLine {
                sign: '@',
                old: Some(o + 1),
                new: Some(n + 1),
                text: "",
                hidden,
            },
            (Row::Changed { old: o, .. }, Part::Old) | (Row::Removed { old: o }, _) => old(o),
            (Row::Changed { new: n, .. }, _) | (Row::Added { new: n }, _) => new(n),
        })
    }

    /// The unified form as text: `-`, `+` and ` ` lines, a fold as
    /// `@@ N unchanged lines @@`.
    pub fn unified_text(&self) -> String {
        let mut out = String::new();
        for i in 0..self.unified.len() {
            if let Some(l) = self.unified_line(i) {
                if l.sign == '@' {
                    out.push_str(&format!("@@ {} unchanged lines @@\n", l.hidden));
                } else {
                    out.push(l.sign);
                    out.push_str(l.text);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// Fold the unchanged runs longer than `2 × context`: `context` lines stay next to each
/// change, the rest become one [`Row::Fold`].
fn fold(rows: Vec<Row>, context: usize) -> Vec<Row> {
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let Row::Equal { .. } = rows[i] else {
            out.push(rows[i]);
            i += 1;
            continue;
        };
        let start = i;
        while i < rows.len() && matches!(rows[i], Row::Equal { .. }) {
            i += 1;
        }
        let run = &rows[start..i];
        let leading = start == 0;
        let trailing = i == rows.len();
        if run.len() <= 2 * context {
            out.extend_from_slice(run);
            continue;
        }
        let keep_before = if leading { 0 } else { context };
        let keep_after = if trailing { 0 } else { context };
        let hidden = run.len() - keep_before - keep_after;
        out.extend_from_slice(&run[..keep_before]);
        if let Some(Row::Equal { old, new }) = run.get(keep_before).copied() {
            out.push(Row::Fold { old, new, hidden });
        }
        out.extend_from_slice(&run[keep_before + hidden..]);
    }
    out
}

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

/// One row of a plain side-by-side diff: old on the left, new on the right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideRow {
    pub left: Option<Half>,
    pub right: Option<Half>,
}

/// The whole unified line diff of `old` and `new` (nothing folded).
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
pub fn side_by_side(lines: &[DiffLine]) -> Vec<SideRow> {
    let mut rows = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.tag == Tag::Equal {
            rows.push(SideRow {
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
            rows.push(SideRow {
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

/// `v` as YAML with sorted keys (empty values: an empty text).
pub fn yaml(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Object(m) if m.is_empty() => String::new(),
        _ => serde_yaml::to_string(&sorted(v)).unwrap_or_else(|e| format!("# {e}\n")),
    }
}

#[cfg(test)]
mod tests;
