//! The diff view: side by side (line numbers on both sides, a changed pair marked `~`, a
//! removed line `-`, an added line `+`) or unified (`-`/`+`), the changed words inside changed
//! lines highlighted, folded unchanged runs as `··· 42 unchanged lines ···`, long lines cut at
//! the horizontal offset (never wrapped). Above the diff: the list of documents (list layout),
//! what each side is and the document's notes; below it: the note of the line under the
//! cursor, or the footer, or where the cursor is. Every mark is a character, so the diff
//! reads the same in `--ascii` and without colour. Only the visible lines are drawn.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::diff::{DiffContent, DiffLayout, DiffView, DocView, ViewLine};
use crate::app::format::{pad, truncate, width};
use crate::app::state::AppState;
use crate::domain::diff::{Part, Row};
use crate::domain::text::sanitize_line;
use crate::theme::{DiffKind, Theme};

use super::{dot, ellipsis, pane, position, warning_sign};

/// Draw `view` in `area`; `footer` replaces the position line at the bottom when the line
/// under the cursor has no note (the rollback preview says what Enter does there).
pub fn render(
    state: &AppState,
    view: &DiffView,
    footer: Option<&str>,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let ascii = state.ascii;
    let mut title = vec![Span::styled(format!(" {} ", view.title), theme.title())];
    if let Some((name, true)) = view.alternate() {
        title.push(Span::styled(format!("[{name}] "), theme.info()));
    }
    let message = match &view.content {
        DiffContent::Loading => Some(Span::styled(
            format!("loading{}", ellipsis(ascii)),
            theme.dim(),
        )),
        DiffContent::Failed(e) => Some(Span::styled(
            format!("cannot show the diff: {}", sanitize_line(e)),
            theme.error(),
        )),
        DiffContent::Loaded if view.docs().is_empty() => {
            Some(Span::styled("nothing to compare", theme.dim()))
        }
        DiffContent::Loaded => None,
    };
    if let Some(message) = message {
        frame.render_widget(
            Paragraph::new(Line::from(message)).block(pane(title, true, ascii, theme)),
            area,
        );
        return;
    }
    let g = view.geometry(area);
    let unified = view.is_unified(area.width);
    let page = usize::from(g.body.height);
    let top = view.top_line(page, unified);
    title.push(Span::styled(
        position(top, page, view.total(unified)),
        theme.dim(),
    ));
    frame.render_widget(pane(title, true, ascii, theme), area);

    if view.layout == DiffLayout::List {
        list(view, ascii, theme, frame, g.list);
    }
    if let Some(doc) = view.current() {
        labels(doc, unified, ascii, theme, frame, g.labels);
        let notes: Vec<Line> = doc
            .doc
            .notes
            .iter()
            .take(usize::from(g.notes.height))
            .map(|n| {
                let text = format!("{} {}", warning_sign(ascii), sanitize_line(n));
                Line::from(Span::styled(
                    truncate(&text, usize::from(g.notes.width), ascii),
                    theme.warning(),
                ))
            })
            .collect();
        frame.render_widget(Paragraph::new(notes), g.notes);
    }

    let body = Body::new(view, state, theme, g.body.width, unified);
    let lines: Vec<Line> = (top..top + page)
        .map_while(|i| view.line(i, unified))
        .map(|l| body.line(l))
        .collect();
    frame.render_widget(Paragraph::new(lines), g.body);

    let status = match (view.line_note(), footer) {
        (Some(note), _) => Span::styled(
            truncate(&sanitize_line(note), usize::from(g.status.width), ascii),
            theme.info(),
        ),
        (None, Some(f)) => Span::styled(
            truncate(f, usize::from(g.status.width), ascii),
            theme.key_hint(),
        ),
        (None, None) => Span::styled(
            truncate(
                &where_line(view, unified, ascii),
                usize::from(g.status.width),
                ascii,
            ),
            theme.dim(),
        ),
    };
    frame.render_widget(Paragraph::new(Line::from(status)), g.status);
}

/// `change 2/5 · +3 −1 lines · side by side · c: computed values`.
fn where_line(view: &DiffView, unified: bool, ascii: bool) -> String {
    let dot = dot(ascii);
    let mut parts = Vec::new();
    match view.change_position() {
        Some((0, 1)) => parts.push("1 change".to_string()),
        Some((0, n)) => parts.push(format!("{n} changes")),
        Some((at, n)) => parts.push(format!("change {at}/{n}")),
        None => {}
    }
    if let Some(d) = view.current() {
        parts.push(d.model.summary(ascii));
    }
    parts.push(if unified { "unified" } else { "side by side" }.to_string());
    if view.hscroll > 0 {
        parts.push(format!("from column {}", view.hscroll + 1));
    }
    match view.alternate() {
        Some((name, false)) => parts.push(format!("c: {name}")),
        Some((_, true)) => parts.push("c: back".to_string()),
        None => {}
    }
    parts.join(&format!(" {dot} "))
}

/// The documents' headings, the selected one marked, scrolled to keep it in view.
fn list(view: &DiffView, ascii: bool, theme: &Theme, frame: &mut Frame, area: Rect) {
    let rows = usize::from(area.height);
    if rows == 0 {
        return;
    }
    let selected = view.cursor.doc;
    let skip = (selected + 1).saturating_sub(rows);
    let cols = usize::from(area.width);
    let pointer = if ascii { ">" } else { "▸" };
    let lines: Vec<Line> = view
        .docs()
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows)
        .map(|(i, d)| {
            let here = i == selected;
            let text = format!(
                "{} {}",
                if here { pointer } else { " " },
                sanitize_line(&d.heading(ascii))
            );
            let style = match (here, d.model.is_same()) {
                (true, _) => theme.selection(),
                (false, false) => theme.text(),
                (false, true) => theme.dim(),
            };
            Line::from(Span::styled(
                pad(&truncate(&text, cols, ascii), cols),
                style,
            ))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// What each side is.
fn labels(doc: &DocView, unified: bool, ascii: bool, theme: &Theme, frame: &mut Frame, area: Rect) {
    let cols = usize::from(area.width);
    let left = format!("--- {}", sanitize_line(&doc.doc.left_label));
    let right = format!("+++ {}", sanitize_line(&doc.doc.right_label));
    let line = if unified {
        let text = format!("{left}  {right}");
        Line::from(Span::styled(
            pad(&truncate(&text, cols, ascii), cols),
            theme.header(),
        ))
    } else {
        let (lw, rw) = halves(cols);
        Line::from(vec![
            Span::styled(pad(&truncate(&left, lw, ascii), lw), theme.header()),
            Span::styled(bar(ascii), theme.header()),
            Span::styled(pad(&truncate(&right, rw, ascii), rw), theme.header()),
        ])
    }
    .style(theme.header());
    frame.render_widget(Paragraph::new(line).block(Block::default()), area);
}

/// The widths of the two sides of `cols` columns (the bar takes 3).
fn halves(cols: usize) -> (usize, usize) {
    let both = cols.saturating_sub(3);
    let left = both / 2;
    (left, both - left)
}

fn bar(ascii: bool) -> &'static str {
    if ascii { " | " } else { " │ " }
}

/// Draws the lines of the diff body.
struct Body<'a> {
    view: &'a DiffView,
    theme: &'a Theme,
    ascii: bool,
    cols: usize,
    unified: bool,
    /// Width of the line numbers.
    nw: usize,
}

/// One side of a line: number, mark, text, changed words and styles.
struct Side<'a> {
    number: Option<usize>,
    mark: &'static str,
    mark_style: Style,
    text: &'a str,
    words: &'a [Range<usize>],
    style: Style,
    word_style: Style,
}

impl<'a> Body<'a> {
    fn new(
        view: &'a DiffView,
        state: &AppState,
        theme: &'a Theme,
        cols: u16,
        unified: bool,
    ) -> Body<'a> {
        let longest = view
            .docs()
            .iter()
            .map(|d| d.model.old_len().max(d.model.new_len()))
            .max()
            .unwrap_or(0);
        Body {
            view,
            theme,
            ascii: state.ascii,
            cols: usize::from(cols),
            unified,
            nw: longest.to_string().len().max(4),
        }
    }

    fn line(&self, line: ViewLine) -> Line<'static> {
        let here = |doc: usize, row: Option<usize>, part: Part| {
            let c = self.view.cursor;
            c.doc == doc && c.row == row && (!self.unified || part == Part::Both || c.part == part)
        };
        match line {
            ViewLine::Heading(doc) => {
                let text = self
                    .view
                    .docs()
                    .get(doc)
                    .map(|d| sanitize_line(&d.heading(self.ascii)).into_owned())
                    .unwrap_or_default();
                let style = if here(doc, None, Part::Both) {
                    self.theme.selection()
                } else {
                    self.theme.diff(DiffKind::HunkHeader)
                };
                Line::from(Span::styled(truncate(&text, self.cols, self.ascii), style))
            }
            ViewLine::Row { doc, row, part } => {
                let Some(d) = self.view.docs().get(doc) else {
                    return Line::default();
                };
                let Some(r) = d.model.row(row) else {
                    return Line::default();
                };
                let cursor = here(doc, Some(row), part);
                if let Row::Fold { hidden, .. } = r {
                    return self.fold(hidden, cursor);
                }
                if self.unified {
                    self.unified_line(d, r, part, cursor)
                } else {
                    self.split_line(d, r, cursor)
                }
            }
        }
    }

    fn fold(&self, hidden: usize, cursor: bool) -> Line<'static> {
        let dots = if self.ascii { "..." } else { "···" };
        let noun = if hidden == 1 { "line" } else { "lines" };
        let text = format!(
            "{} {dots} {hidden} unchanged {noun} {dots}",
            " ".repeat(self.nw)
        );
        let style = if cursor {
            self.theme.selection()
        } else {
            self.theme.dim()
        };
        Line::from(Span::styled(truncate(&text, self.cols, self.ascii), style))
    }

    fn old_side(&self, d: &'a DocView, old: usize, changed: bool) -> Side<'a> {
        let t = self.theme;
        Side {
            number: Some(old + 1),
            mark: if changed && !self.unified { "~" } else { "-" },
            mark_style: t.diff(if changed && !self.unified {
                DiffKind::Changed
            } else {
                DiffKind::Removed
            }),
            text: d.model.old_line(old),
            words: if changed { d.model.old_words(old) } else { &[] },
            style: t.diff(DiffKind::Removed),
            word_style: t.diff(DiffKind::RemovedWord),
        }
    }

    fn new_side(&self, d: &'a DocView, new: usize, changed: bool) -> Side<'a> {
        let t = self.theme;
        Side {
            number: Some(new + 1),
            mark: if changed && !self.unified { "~" } else { "+" },
            mark_style: t.diff(if changed && !self.unified {
                DiffKind::Changed
            } else {
                DiffKind::Added
            }),
            text: d.model.new_line(new),
            words: if changed { d.model.new_words(new) } else { &[] },
            style: t.diff(DiffKind::Added),
            word_style: t.diff(DiffKind::AddedWord),
        }
    }

    fn equal_side(&self, number: usize, text: &'a str) -> Side<'a> {
        let context = self.theme.diff(DiffKind::Context);
        Side {
            number: Some(number + 1),
            mark: " ",
            mark_style: context,
            text,
            words: &[],
            style: context,
            word_style: context,
        }
    }

    fn blank_side() -> Side<'static> {
        Side {
            number: None,
            mark: " ",
            mark_style: Style::default(),
            text: "",
            words: &[],
            style: Style::default(),
            word_style: Style::default(),
        }
    }

    fn split_line(&self, d: &'a DocView, r: Row, cursor: bool) -> Line<'static> {
        let (left, right) = match r {
            Row::Equal { old, new } => (
                self.equal_side(old, d.model.old_line(old)),
                self.equal_side(new, d.model.new_line(new)),
            ),
            Row::Changed { old, new } => (self.old_side(d, old, true), self.new_side(d, new, true)),
            Row::Removed { old } => (self.old_side(d, old, false), Body::blank_side()),
            Row::Added { new } => (Body::blank_side(), self.new_side(d, new, false)),
            Row::Fold { .. } => (Body::blank_side(), Body::blank_side()),
        };
        let (lw, rw) = halves(self.cols);
        let mut spans = self.side(&left, lw, cursor);
        spans.push(Span::styled(bar(self.ascii), self.theme.dim()));
        spans.extend(self.side(&right, rw, cursor));
        Line::from(spans)
    }

    fn unified_line(&self, d: &'a DocView, r: Row, part: Part, cursor: bool) -> Line<'static> {
        let side = match (r, part) {
            (Row::Equal { new, .. }, _) => self.equal_side(new, d.model.new_line(new)),
            (Row::Changed { old, .. }, Part::Old) => self.old_side(d, old, true),
            (Row::Changed { new, .. }, _) => self.new_side(d, new, true),
            (Row::Removed { old }, _) => self.old_side(d, old, false),
            (Row::Added { new }, _) => self.new_side(d, new, false),
            (Row::Fold { .. }, _) => Body::blank_side(),
        };
        Line::from(self.side(&side, self.cols, cursor))
    }

    /// One side, `cols` wide: `  12 ~text`, the text cut at the horizontal offset.
    fn side(&self, s: &Side, cols: usize, cursor: bool) -> Vec<Span<'static>> {
        let nw = self.nw;
        let number = match s.number {
            Some(n) => format!("{n:>nw$} "),
            None => " ".repeat(nw + 1),
        };
        let gutter_style = if cursor && s.number.is_some() {
            self.theme.selection()
        } else {
            self.theme.dim()
        };
        let mut spans = vec![
            Span::styled(truncate(&number, cols, self.ascii), gutter_style),
            Span::styled(s.mark, s.mark_style),
        ];
        let text_cols = cols.saturating_sub(nw + 2);
        if cols < nw + 2 {
            spans.truncate(1);
            return spans;
        }
        let (clipped, used) = clip(
            s.text,
            s.words,
            s.style,
            s.word_style,
            self.view.hscroll,
            text_cols,
        );
        spans.extend(clipped);
        if used < text_cols {
            spans.push(Span::raw(" ".repeat(text_cols - used)));
        }
        spans
    }
}

/// The columns `skip..skip + cols` of `text`, the byte ranges `words` in `word_style`: the
/// spans and the columns they take. A wide character cut by either edge becomes a space.
fn clip(
    text: &str,
    words: &[Range<usize>],
    style: Style,
    word_style: Style,
    skip: usize,
    cols: usize,
) -> (Vec<Span<'static>>, usize) {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut current = String::new();
    let mut current_word = false;
    let mut col = 0;
    let mut used = 0;
    let mut word = words.iter().peekable();
    let flush = |spans: &mut Vec<Span<'static>>, current: &mut String, is_word: bool| {
        if !current.is_empty() {
            let s = if is_word { word_style } else { style };
            spans.push(Span::styled(std::mem::take(current), s));
        }
    };
    for (i, c) in text.char_indices() {
        if used >= cols {
            break;
        }
        while word.peek().is_some_and(|r| r.end <= i) {
            word.next();
        }
        let in_word = word.peek().is_some_and(|r| r.start <= i && i < r.end);
        let w = width(c.encode_utf8(&mut [0; 4]));
        let start = col;
        col += w;
        if col <= skip {
            continue;
        }
        if in_word != current_word {
            flush(&mut spans, &mut current, current_word);
            current_word = in_word;
        }
        if start < skip || used + w > cols {
            // Cut by the left or the right edge.
            let room = (col - skip.max(start)).min(cols - used);
            current.push_str(&" ".repeat(room));
            used += room;
            continue;
        }
        current.push(c);
        used += w;
    }
    flush(&mut spans, &mut current, current_word);
    (spans, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(spans: &[Span]) -> Vec<String> {
        spans.iter().map(|s| s.content.to_string()).collect()
    }

    #[test]
    fn clipping_keeps_the_visible_columns_and_the_word_marks() {
        let plain = Style::default();
        let word = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let (spans, used) = clip(
            "key: value",
            std::slice::from_ref(&(5..10)),
            plain,
            word,
            0,
            7,
        );
        assert_eq!(texts(&spans), ["key: ", "va"]);
        assert_eq!(spans[1].style, word);
        assert_eq!(used, 7);
        let (spans, used) = clip(
            "key: value",
            std::slice::from_ref(&(5..10)),
            plain,
            word,
            3,
            20,
        );
        assert_eq!(texts(&spans), [": ", "value"]);
        assert_eq!(used, 7);
        let (spans, used) = clip("short", &[], plain, word, 10, 5);
        assert!(spans.is_empty());
        assert_eq!(used, 0);
        // A wide character cut by the left edge becomes a space.
        let (spans, used) = clip("a漢b", &[], plain, word, 2, 5);
        assert_eq!(texts(&spans), [" b"]);
        assert_eq!(used, 2);
    }
}
