//! The diff view: one or more [`DiffDoc`]s shown with the one diff model
//! ([`DiffModel`]), side by side or unified (unified automatically below
//! [`UNIFIED_BELOW`] columns; `u` overrides), with a cursor, next/previous change,
//! expandable folds, horizontal scroll, and moving between documents.
//!
//! Two layouts: [`DiffLayout::Stacked`] shows every document in one scroll, each under its
//! heading (values, or a revision's values and manifest); [`DiffLayout::List`] lists the
//! documents' headings on top and shows the selected one's diff below (drift: one document
//! per object). An optional alternate set of documents (computed values) is toggled with `c`.
//!
//! Positions are kept as (document, row, part) so they survive switching between the
//! side-by-side and unified forms and resizing; they become screen lines only when used.

use ratatui::layout::Rect;

use crate::app::keys::Action;
use crate::domain::diff::{CONTEXT, DiffDoc, DiffModel, Part, Row};
use crate::domain::flux::ObjectKey;

use super::msg::Effect;
use super::state::{AppState, FlashLevel, Overlay};

/// Below this many columns the diff is unified unless `u` chose otherwise.
pub const UNIFIED_BELOW: u16 = 100;

/// Columns `h`/`l` scroll sideways.
pub const HSCROLL_STEP: usize = 8;

/// Most note lines shown above a diff.
pub const MAX_NOTE_LINES: usize = 3;

/// How the documents are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffLayout {
    /// Every document in one scroll, each under its heading.
    Stacked,
    /// The headings listed on top, the selected document's diff below.
    List,
}

/// A document and its diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocView {
    pub doc: DiffDoc,
    pub model: DiffModel,
}

impl DocView {
    /// A document without differences is shown whole (nothing to fold around).
    pub fn new(doc: DiffDoc) -> DocView {
        let mut model = DiffModel::new(&doc.old, &doc.new);
        if model.is_same() {
            model.expand_all();
        }
        DocView { doc, model }
    }

    /// `heading: +3 −1 lines` or `heading: no difference`.
    pub fn heading(&self, ascii: bool) -> String {
        let summary = self.model.summary(ascii);
        if self.doc.heading.is_empty() {
            summary
        } else {
            format!("{}: {summary}", self.doc.heading)
        }
    }
}

/// A named set of documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocSet {
    /// What the set is, e.g. `computed values` (empty for the main set).
    pub name: String,
    pub docs: Vec<DocView>,
}

impl DocSet {
    fn new(name: String, docs: Vec<DiffDoc>) -> DocSet {
        DocSet {
            name,
            docs: docs.into_iter().map(DocView::new).collect(),
        }
    }
}

/// What the view has to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffContent {
    Loading,
    Failed(String),
    Loaded,
}

/// A place in the documents: a document's heading (`row: None`, stacked layout only) or a
/// part of one of its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub doc: usize,
    pub row: Option<usize>,
    pub part: Part,
}

impl Cursor {
    fn heading(doc: usize) -> Cursor {
        Cursor {
            doc,
            row: None,
            part: Part::Both,
        }
    }

    fn at(doc: usize, row: usize) -> Cursor {
        Cursor {
            doc,
            row: Some(row),
            part: Part::Both,
        }
    }
}

/// One screen line of the diff body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewLine {
    Heading(usize),
    Row { doc: usize, row: usize, part: Part },
}

/// The rows of the pane (inside its border), top to bottom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// The documents' headings (list layout).
    pub list: Rect,
    /// What each side is.
    pub labels: Rect,
    /// The document's notes.
    pub notes: Rect,
    /// The diff lines.
    pub body: Rect,
    /// The note of the line under the cursor, or the footer.
    pub status: Rect,
}

/// The diff view state.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffView {
    pub title: String,
    /// The object the diff is about, when there is one (to match data that arrives).
    pub key: Option<ObjectKey>,
    pub content: DiffContent,
    pub layout: DiffLayout,
    /// The main documents, then the alternate set if any.
    pub sets: Vec<DocSet>,
    /// The set shown (index into `sets`).
    pub set: usize,
    /// `None`: unified below [`UNIFIED_BELOW`] columns; `Some`: chosen with `u`.
    pub unified: Option<bool>,
    pub cursor: Cursor,
    /// The first line shown.
    pub top: Cursor,
    /// Columns cut from the left of every line.
    pub hscroll: usize,
    /// Where Esc goes back to (the history view a revision diff was opened from).
    pub back: Option<Box<Overlay>>,
}

impl DiffView {
    /// A diff of `docs`, stacked; `alternate` is a second set of documents toggled with `c`
    /// (its name, e.g. `computed values`, and its documents).
    pub fn new(
        title: String,
        docs: Vec<DiffDoc>,
        alternate: Option<(String, Vec<DiffDoc>)>,
    ) -> DiffView {
        let mut view = DiffView::loading(title);
        view.loaded(docs, alternate);
        view
    }

    /// A view waiting for its documents.
    pub fn loading(title: String) -> DiffView {
        DiffView {
            title,
            key: None,
            content: DiffContent::Loading,
            layout: DiffLayout::Stacked,
            sets: Vec::new(),
            set: 0,
            unified: None,
            cursor: Cursor::heading(0),
            top: Cursor::heading(0),
            hscroll: 0,
            back: None,
        }
    }

    /// The documents as a list: their headings on top, the selected one's diff below.
    pub fn listed(mut self) -> DiffView {
        self.layout = DiffLayout::List;
        self.reset_cursor();
        self
    }

    /// The view is about `key`.
    pub fn with_key(mut self, key: ObjectKey) -> DiffView {
        self.key = Some(key);
        self
    }

    /// The documents could not be had: say why.
    pub fn failed(&mut self, message: String) {
        self.content = DiffContent::Failed(message);
        self.sets.clear();
    }

    /// The documents arrived.
    pub fn loaded(&mut self, docs: Vec<DiffDoc>, alternate: Option<(String, Vec<DiffDoc>)>) {
        self.sets = vec![DocSet::new(String::new(), docs)];
        if let Some((name, docs)) = alternate {
            self.sets.push(DocSet::new(name, docs));
        }
        self.set = 0;
        self.content = DiffContent::Loaded;
        self.reset_cursor();
    }

    /// The documents shown.
    pub fn docs(&self) -> &[DocView] {
        self.sets.get(self.set).map_or(&[], |s| s.docs.as_slice())
    }

    fn docs_mut(&mut self) -> &mut [DocView] {
        match self.sets.get_mut(self.set) {
            Some(s) => s.docs.as_mut_slice(),
            None => &mut [],
        }
    }

    /// The alternate set's name, and whether it is shown.
    pub fn alternate(&self) -> Option<(&str, bool)> {
        self.sets.get(1).map(|s| (s.name.as_str(), self.set == 1))
    }

    /// The document under the cursor.
    pub fn current(&self) -> Option<&DocView> {
        self.docs().get(self.cursor.doc)
    }

    /// Whether the diff is unified in a body `cols` wide.
    pub fn is_unified(&self, cols: u16) -> bool {
        self.unified.unwrap_or(cols < UNIFIED_BELOW)
    }

    /// The cursor on the first document: its heading (stacked), or its first change (list).
    fn reset_cursor(&mut self) {
        self.cursor = match self.layout {
            DiffLayout::Stacked => Cursor::heading(0),
            DiffLayout::List => self.first_change(0),
        };
        self.top = match self.layout {
            DiffLayout::Stacked => Cursor::heading(0),
            DiffLayout::List => Cursor::at(0, 0),
        };
        self.hscroll = 0;
    }

    /// The first change of document `doc`, or its first row.
    fn first_change(&self, doc: usize) -> Cursor {
        let row = self
            .docs()
            .get(doc)
            .and_then(|d| d.model.changes().first().copied())
            .unwrap_or(0);
        Cursor::at(doc, row)
    }

    /// The lines of the pane's parts for a pane of `area` (its border included).
    pub fn geometry(&self, area: Rect) -> Geometry {
        let inner = Rect::new(
            area.x.saturating_add(1),
            area.y.saturating_add(1),
            area.width.saturating_sub(2),
            area.height.saturating_sub(2),
        );
        let h = inner.height;
        let list_h = match (self.layout, self.docs().len()) {
            (DiffLayout::List, n) if n > 0 => {
                u16::try_from(n).unwrap_or(u16::MAX).min((h / 3).max(1))
            }
            _ => 0,
        };
        let notes = self.current().map_or(0, |d| d.doc.notes.len());
        let notes_h = u16::try_from(notes.min(MAX_NOTE_LINES)).unwrap_or(0);
        // The labels, the notes and the status line come before the body's first line.
        let fixed = list_h + 1 + notes_h + 1;
        let (list_h, notes_h) = if h > fixed { (list_h, notes_h) } else { (0, 0) };
        let mut y = inner.y;
        let mut take = |n: u16| {
            let r = Rect::new(inner.x, y, inner.width, n);
            y = y.saturating_add(n);
            r
        };
        let list = take(list_h);
        let labels = take(1.min(h));
        let notes = take(notes_h);
        let body_h = h.saturating_sub(list_h + notes_h + 2);
        let body = take(body_h);
        let status = take(1.min(h.saturating_sub(1)));
        Geometry {
            list,
            labels,
            notes,
            body,
            status,
        }
    }

    /// Screen lines in the unified or side-by-side form.
    pub fn total(&self, unified: bool) -> usize {
        match self.layout {
            DiffLayout::Stacked => self.docs().iter().map(|d| 1 + d.model.len(unified)).sum(),
            DiffLayout::List => self.current().map_or(0, |d| d.model.len(unified)),
        }
    }

    /// The screen line of a place.
    pub fn index(&self, c: Cursor, unified: bool) -> usize {
        let local = |d: &DocView| match c.row {
            None => 0,
            Some(row) => d.model.index_of(unified, row, c.part),
        };
        match self.layout {
            DiffLayout::List => self.docs().get(c.doc).map_or(0, local),
            DiffLayout::Stacked => {
                let docs = self.docs();
                let before: usize = docs
                    .iter()
                    .take(c.doc)
                    .map(|d| 1 + d.model.len(unified))
                    .sum();
                match (c.row, docs.get(c.doc)) {
                    (Some(_), Some(d)) => before + 1 + local(d),
                    _ => before,
                }
            }
        }
    }

    /// The place of screen line `i`.
    pub fn line(&self, i: usize, unified: bool) -> Option<ViewLine> {
        let row_of = |doc: usize, d: &DocView, local: usize| {
            d.model.line(unified, local).map(|u| ViewLine::Row {
                doc,
                row: u.row,
                part: u.part,
            })
        };
        match self.layout {
            DiffLayout::List => {
                let doc = self.cursor.doc;
                self.docs().get(doc).and_then(|d| row_of(doc, d, i))
            }
            DiffLayout::Stacked => {
                let mut start = 0;
                for (doc, d) in self.docs().iter().enumerate() {
                    let len = 1 + d.model.len(unified);
                    if i < start + len {
                        return if i == start {
                            Some(ViewLine::Heading(doc))
                        } else {
                            row_of(doc, d, i - start - 1)
                        };
                    }
                    start += len;
                }
                None
            }
        }
    }

    /// The place of screen line `i` (clamped to the last one).
    fn place(&self, i: usize, unified: bool) -> Cursor {
        let last = self.total(unified).saturating_sub(1);
        match self.line(i.min(last), unified) {
            Some(ViewLine::Heading(doc)) => Cursor::heading(doc),
            Some(ViewLine::Row { doc, row, part }) => Cursor {
                doc,
                row: Some(row),
                part,
            },
            None => self.cursor,
        }
    }

    /// The first screen line shown in a body of `page` lines: the stored top, moved just
    /// enough to keep the cursor in view.
    pub fn top_line(&self, page: usize, unified: bool) -> usize {
        let page = page.max(1);
        let cursor = self.index(self.cursor, unified);
        let top = self.index(self.top, unified);
        let top = top.min(cursor).max((cursor + 1).saturating_sub(page));
        top.min(self.total(unified).saturating_sub(page))
    }

    /// Store the top that keeps the cursor in view.
    fn follow(&mut self, page: usize, unified: bool) {
        let top = self.top_line(page, unified);
        self.top = self.place(top, unified);
    }

    /// Put the cursor on screen line `i`, `CONTEXT` lines below the top when it was out
    /// of view.
    fn jump(&mut self, to: Cursor, page: usize, unified: bool) {
        let i = self.index(to, unified);
        let top = self.index(self.top, unified);
        self.cursor = to;
        if i < top || i >= top + page.max(1) {
            self.top = self.place(i.saturating_sub(CONTEXT.min(page / 2)), unified);
        }
        self.follow(page, unified);
    }

    /// The note of the line under the cursor (of its new side).
    pub fn line_note(&self) -> Option<&str> {
        let d = self.current()?;
        let row = d.model.row(self.cursor.row?)?;
        d.doc.line_note(row.new_line()?)
    }

    /// Which change (1-based) the cursor is on or after, and how many there are, in the
    /// cursor's document.
    pub fn change_position(&self) -> Option<(usize, usize)> {
        let d = self.current()?;
        let changes = d.model.changes();
        if changes.is_empty() {
            return None;
        }
        let row = self.cursor.row.unwrap_or(0);
        let at = changes.partition_point(|&c| c <= row);
        Some((at, changes.len()))
    }

    /// Carry out a diff-view action in a body of `page` lines and `cols` columns. False
    /// when the action is not one of the view's, or changed nothing.
    pub fn act(&mut self, action: Action, page: usize, cols: u16) -> bool {
        let unified = self.is_unified(cols);
        match action {
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => {
                let at = self.index(self.cursor, unified);
                let to = super::input::step(action, at, self.total(unified), page);
                self.cursor = self.place(to, unified);
                self.follow(page, unified);
                true
            }
            Action::NextChange => self.step_change(true, page, unified),
            Action::PrevChange => self.step_change(false, page, unified),
            Action::ScrollLeft => {
                let before = self.hscroll;
                self.hscroll = self.hscroll.saturating_sub(HSCROLL_STEP);
                before != self.hscroll
            }
            Action::ScrollRight => {
                let widest = self.current().map_or(0, |d| {
                    let (a, b) = d.model.widest();
                    a.max(b)
                });
                let before = self.hscroll;
                if self.hscroll + HSCROLL_STEP < widest {
                    self.hscroll += HSCROLL_STEP;
                }
                before != self.hscroll
            }
            Action::ExpandFold => self.expand(false, page, unified),
            Action::ExpandAll => self.expand(true, page, unified),
            Action::ToggleUnified => {
                self.unified = Some(!unified);
                self.follow(page, !unified);
                true
            }
            Action::NextDoc | Action::FocusNext => self.step_doc(true, page, unified),
            Action::PrevDoc | Action::FocusPrev => self.step_doc(false, page, unified),
            Action::Alternate => {
                if self.sets.len() < 2 {
                    return false;
                }
                let doc = self.cursor.doc;
                self.set = 1 - self.set.min(1);
                let doc = doc.min(self.docs().len().saturating_sub(1));
                let to = match self.layout {
                    DiffLayout::Stacked => Cursor::heading(doc),
                    DiffLayout::List => self.first_change(doc),
                };
                self.top = to;
                self.jump(to, page, unified);
                true
            }
            _ => false,
        }
    }

    /// `n`/`N`: the next or previous run of changes (across documents when stacked).
    fn step_change(&mut self, forward: bool, page: usize, unified: bool) -> bool {
        let docs = self.docs();
        let c = self.cursor;
        let found = if forward {
            let here = docs.get(c.doc).and_then(|d| match c.row {
                None => d.model.changes().first().copied(),
                Some(row) => d.model.next_change(row),
            });
            here.map(|row| Cursor::at(c.doc, row)).or_else(|| {
                (self.layout == DiffLayout::Stacked)
                    .then(|| {
                        docs.iter()
                            .enumerate()
                            .skip(c.doc + 1)
                            .find_map(|(i, d)| d.model.changes().first().map(|&r| (i, r)))
                    })
                    .flatten()
                    .map(|(doc, row)| Cursor::at(doc, row))
            })
        } else {
            let here = docs
                .get(c.doc)
                .and_then(|d| c.row.and_then(|row| d.model.prev_change(row)));
            here.map(|row| Cursor::at(c.doc, row)).or_else(|| {
                (self.layout == DiffLayout::Stacked)
                    .then(|| {
                        docs.iter()
                            .enumerate()
                            .take(c.doc)
                            .rev()
                            .find_map(|(i, d)| d.model.changes().last().map(|&r| (i, r)))
                    })
                    .flatten()
                    .map(|(doc, row)| Cursor::at(doc, row))
            })
        };
        match found {
            Some(to) => {
                self.jump(to, page, unified);
                true
            }
            None => false,
        }
    }

    /// `]`/`[`: the next or previous document.
    fn step_doc(&mut self, forward: bool, page: usize, unified: bool) -> bool {
        let n = self.docs().len();
        let doc = self.cursor.doc;
        let to = if forward {
            doc + 1
        } else if let Some(d) = doc.checked_sub(1) {
            d
        } else {
            return false;
        };
        if to >= n {
            return false;
        }
        match self.layout {
            DiffLayout::Stacked => {
                let c = Cursor::heading(to);
                self.cursor = c;
                self.top = c;
                self.follow(page, unified);
            }
            DiffLayout::List => {
                self.cursor = Cursor::at(to, 0);
                self.top = Cursor::at(to, 0);
                self.hscroll = 0;
                let first = self.first_change(to);
                self.jump(first, page, unified);
            }
        }
        true
    }

    /// Enter/space: expand the fold under the cursor; `z` (`all`): every fold of every
    /// document shown. The cursor and the top stay on the lines they were on.
    fn expand(&mut self, all: bool, page: usize, unified: bool) -> bool {
        let c = self.cursor;
        let top = self.top;
        let lines = |v: &DiffView, p: Cursor| {
            v.docs()
                .get(p.doc)
                .and_then(|d| p.row.and_then(|r| d.model.row(r)))
                .map(|r| (p.doc, anchor(r)))
        };
        let (cursor_at, top_at) = (lines(self, c), lines(self, top));
        let changed = if all {
            let mut any = false;
            for d in self.docs_mut() {
                any |= d.model.expand_all();
            }
            any
        } else {
            match (self.docs_mut().get_mut(c.doc), c.row) {
                (Some(d), Some(row)) => d.model.expand(row),
                _ => false,
            }
        };
        if !changed {
            return false;
        }
        let relocate = |v: &DiffView, old: Cursor, at: Option<(usize, (usize, usize))>| match at {
            Some((doc, lines)) => {
                let row = v
                    .docs()
                    .get(doc)
                    .and_then(|d| d.model.rows().iter().position(|r| anchor(*r) == lines))
                    .unwrap_or(0);
                Cursor {
                    doc,
                    row: Some(row),
                    part: old.part,
                }
            }
            None => old,
        };
        self.cursor = relocate(self, c, cursor_at);
        self.top = relocate(self, top, top_at);
        self.follow(page, unified);
        true
    }
}

/// Where a row is in the texts, to find it again after folds expand: its first old and new
/// line (a removed row by its old line and the new line after it, and so on).
fn anchor(row: Row) -> (usize, usize) {
    match row {
        Row::Equal { old, new } | Row::Changed { old, new } | Row::Fold { old, new, .. } => {
            (old, new)
        }
        Row::Removed { old } => (old, usize::MAX),
        Row::Added { new } => (usize::MAX, new),
    }
}

/// The diff body's page height and width on the current screen.
pub fn body_size(body: Rect, view: &DiffView) -> (usize, u16) {
    let g = view.geometry(body);
    (usize::from(g.body.height).max(1), body.width)
}

/// A key while the diff view is open: its own keys (looked up in the diff layer of the
/// keymap) and scrolling; Esc goes back to where the view was opened from.
pub(crate) fn on_key(state: &mut AppState, action: Option<Action>) -> Option<Vec<Effect>> {
    let Some(Overlay::Diff(view)) = state.overlay.as_ref() else {
        return None;
    };
    let (page, cols) = body_size(state.screen().body, view);
    match action {
        Some(Action::Back) => {
            let back = match state.overlay.take() {
                Some(Overlay::Diff(v)) => v.back.map(|b| *b),
                other => other,
            };
            state.overlay = back;
            state.dirty = true;
            Some(Vec::new())
        }
        Some(a) => {
            let Some(Overlay::Diff(view)) = state.overlay.as_mut() else {
                return None;
            };
            let loaded = view.content == DiffContent::Loaded;
            let handled = loaded && view.act(a, page, cols);
            if handled {
                state.dirty = true;
                return Some(Vec::new());
            }
            let ascii = state.ascii;
            let text = match a {
                Action::NextChange => Some("no change after this one"),
                Action::PrevChange => Some("no change before this one"),
                Action::ExpandFold => Some(if ascii {
                    "not on a fold: move to a ... line"
                } else {
                    "not on a fold: move to a ··· line"
                }),
                Action::ExpandAll => Some("nothing folded"),
                Action::Alternate => Some("no other set of documents here"),
                Action::NextDoc | Action::PrevDoc => Some("no other document that way"),
                _ => None,
            };
            match text {
                Some(t) => {
                    state.flash_with(FlashLevel::Info, t);
                    Some(Vec::new())
                }
                // Not a diff key: the usual meaning (help, quit, the object's keys).
                None if is_diff_action(a) => Some(Vec::new()),
                None => None,
            }
        }
        None => None,
    }
}

/// Whether the diff view carries the action out itself.
fn is_diff_action(a: Action) -> bool {
    matches!(
        a,
        Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown
            | Action::NextChange
            | Action::PrevChange
            | Action::ScrollLeft
            | Action::ScrollRight
            | Action::ExpandFold
            | Action::ExpandAll
            | Action::ToggleUnified
            | Action::NextDoc
            | Action::PrevDoc
            | Action::FocusNext
            | Action::FocusPrev
            | Action::Alternate
    )
}

#[cfg(test)]
mod tests;
