//! Theme-neutral styled text for panes whose content `update` prepares (details, help):
//! segments carry a [`Tone`] that the view maps to a theme style, and lines wrap at word
//! boundaries so nothing is cut off.

use std::borrow::Cow;

use crate::domain::flux::ObjectKey;
use crate::domain::health::Health;
use crate::domain::text::sanitize_line;

use super::format::width;

/// What a piece of text means; the view turns it into a theme style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Text,
    Dim,
    Title,
    Key,
    State(Health),
    /// Something under way or just done (an action's progress and outcome).
    Info,
    Warning,
    Error,
}

/// A run of text in one tone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    pub text: String,
    pub tone: Tone,
}

impl Seg {
    /// A segment of `text`, sanitised: cluster text reaches the panes through here, so no
    /// control character, escape sequence or bidi control becomes a screen cell.
    pub fn new(text: impl Into<String>, tone: Tone) -> Seg {
        let text = text.into();
        let text = match sanitize_line(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(clean) => clean,
        };
        Seg { text, tone }
    }
}

/// One logical line. When it is wider than the pane it wraps, continuation lines indented
/// by `indent` columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextLine {
    pub segs: Vec<Seg>,
    pub indent: usize,
    /// The object this line names, for views that can go to it (the why view's hops).
    pub link: Option<ObjectKey>,
}

impl TextLine {
    pub fn new(segs: Vec<Seg>) -> TextLine {
        TextLine {
            segs,
            indent: 0,
            link: None,
        }
    }

    pub fn plain(text: impl Into<String>, tone: Tone) -> TextLine {
        TextLine::new(vec![Seg::new(text, tone)])
    }

    pub fn blank() -> TextLine {
        TextLine::default()
    }

    pub fn indent(mut self, indent: usize) -> TextLine {
        self.indent = indent;
        self
    }

    /// The line names `key`: a view can go to it.
    pub fn link(mut self, key: ObjectKey) -> TextLine {
        self.link = Some(key);
        self
    }

    /// The whole line as plain text.
    pub fn text(&self) -> String {
        self.segs.iter().map(|s| s.text.as_str()).collect()
    }
}

/// Split into words that keep their trailing spaces, each with its tone.
fn tokens(line: &TextLine) -> Vec<(String, Tone)> {
    let mut out = Vec::new();
    for seg in &line.segs {
        let mut word = String::new();
        let mut in_space = false;
        for c in seg.text.chars() {
            if c == ' ' {
                in_space = true;
            } else if in_space {
                out.push((std::mem::take(&mut word), seg.tone));
                in_space = false;
            }
            word.push(c);
        }
        if !word.is_empty() {
            out.push((word, seg.tone));
        }
    }
    out
}

/// Wrap a line to `cols` columns: words move to the next line; a word longer than a whole
/// line is split. Always at least one (possibly empty) row.
pub fn wrap(line: &TextLine, cols: usize) -> Vec<Vec<Seg>> {
    let cols = cols.max(1);
    let indent = if line.indent * 2 < cols {
        line.indent
    } else {
        0
    };
    let mut rows: Vec<Vec<Seg>> = Vec::new();
    let mut row: Vec<Seg> = Vec::new();
    let mut used = 0;
    let push = |row: &mut Vec<Seg>, text: &str, tone: Tone| match row.last_mut() {
        Some(last) if last.tone == tone => last.text.push_str(text),
        _ => row.push(Seg::new(text, tone)),
    };
    for (word, tone) in tokens(line) {
        let trimmed = word.trim_end();
        let w = width(trimmed);
        if used > 0 && used + w > cols {
            rows.push(std::mem::take(&mut row));
            used = 0;
            if indent > 0 {
                push(&mut row, &" ".repeat(indent), Tone::Text);
                used = indent;
            }
        }
        let mut rest: &str = if used == indent && !rows.is_empty() {
            word.trim_start()
        } else {
            &word
        };
        while width(rest.trim_end()) > cols - used.min(cols) && used + 1 < cols {
            // A word that does not fit on a line of its own: split it.
            let room = cols - used;
            let mut cut = 0;
            let mut taken = 0;
            // After the last separator that fits (`/`, `-`, `.`, …), so paths and names
            // break where they would be read apart; mid-word only without one.
            let mut at_separator = 0;
            for (i, c) in rest.char_indices() {
                let cw = width(c.encode_utf8(&mut [0; 4]));
                if taken + cw > room {
                    break;
                }
                taken += cw;
                cut = i + c.len_utf8();
                if matches!(c, '/' | '-' | '.' | ':' | ',' | '=' | '_' | '@') {
                    at_separator = cut;
                }
            }
            if at_separator * 2 >= cut && cut < rest.trim_end().len() {
                cut = at_separator;
            }
            if cut == 0 {
                break;
            }
            push(&mut row, &rest[..cut], tone);
            rows.push(std::mem::take(&mut row));
            used = 0;
            if indent > 0 {
                push(&mut row, &" ".repeat(indent), Tone::Text);
                used = indent;
            }
            rest = &rest[cut..];
        }
        if !rest.is_empty() {
            push(&mut row, rest, tone);
            used += width(rest);
        }
    }
    rows.push(row);
    rows
}

/// How many rows the lines take at `cols` columns.
pub fn wrapped_len(lines: &[TextLine], cols: usize) -> usize {
    lines.iter().map(|l| wrap(l, cols).len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(rows: &[Vec<Seg>]) -> Vec<String> {
        rows.iter()
            .map(|r| r.iter().map(|s| s.text.as_str()).collect::<String>())
            .collect()
    }

    #[test]
    fn wraps_at_words_and_indents_continuations() {
        let line = TextLine::new(vec![
            Seg::new("Ready: ", Tone::Title),
            Seg::new("install retries exhausted for release", Tone::Text),
        ])
        .indent(2);
        let rows = wrap(&line, 16);
        assert_eq!(
            texts(&rows),
            vec![
                "Ready: install ",
                "  retries ",
                "  exhausted for ",
                "  release"
            ]
        );
        let all: String = texts(&rows).concat().split_whitespace().collect();
        assert_eq!(all, line.text().split_whitespace().collect::<String>());
    }

    #[test]
    fn splits_long_paths_after_a_separator() {
        let line = TextLine::plain(
            "chart source HelmRepository/flux-system/prometheus-community",
            Tone::Text,
        )
        .indent(2);
        let rows = texts(&wrap(&line, 32));
        assert_eq!(
            rows,
            vec![
                "chart source ",
                "  HelmRepository/flux-system/",
                "  prometheus-community"
            ]
        );
    }

    #[test]
    fn splits_words_longer_than_a_line() {
        let line = TextLine::plain("0123456789abcdefghijklm", Tone::Text);
        let rows = wrap(&line, 10);
        assert_eq!(texts(&rows), vec!["0123456789", "abcdefghij", "klm"]);
        // A separator in the second half of the room is where it breaks.
        let line = TextLine::plain("sha256:0123456789abcdef", Tone::Text);
        let rows = wrap(&line, 10);
        assert_eq!(texts(&rows), vec!["sha256:", "0123456789", "abcdef"]);
        assert_eq!(wrap(&TextLine::blank(), 10).len(), 1);
    }
}
