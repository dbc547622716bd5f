//! The YAML view of one object: loading state, scrolling by source line, and search with
//! next/previous match.

use crate::domain::flux::ObjectKey;
use crate::domain::text::sanitize_line;

/// What the YAML view has to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum YamlContent {
    Loading,
    Failed(String),
    Lines(Vec<String>),
}

/// One search match: line index and byte range in that line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlView {
    pub key: ObjectKey,
    pub content: YamlContent,
    /// First source line shown.
    pub scroll: usize,
    /// The search text (case-insensitive), empty when not searching.
    pub search: String,
    pub matches: Vec<Match>,
    /// Index into `matches` of the current match.
    pub current: Option<usize>,
}

impl YamlView {
    pub fn new(key: ObjectKey) -> YamlView {
        YamlView {
            key,
            content: YamlContent::Loading,
            scroll: 0,
            search: String::new(),
            matches: Vec::new(),
            current: None,
        }
    }

    pub fn line_count(&self) -> usize {
        match &self.content {
            YamlContent::Lines(lines) => lines.len(),
            _ => 1,
        }
    }

    /// Set the text (or the error) that arrived.
    pub fn set_result(&mut self, result: Result<String, String>) {
        self.content = match result {
            Ok(text) => YamlContent::Lines(
                text.lines()
                    .map(|l| sanitize_line(l).into_owned())
                    .collect(),
            ),
            Err(e) => YamlContent::Failed(e),
        };
        let search = std::mem::take(&mut self.search);
        self.set_search(&search, self.scroll);
        if self.current.is_none() {
            self.scroll = self.scroll.min(self.line_count().saturating_sub(1));
        }
    }

    /// Search for `text`; the current match becomes the first one at or after line `from`.
    pub fn set_search(&mut self, text: &str, from: usize) {
        self.search = text.to_string();
        self.matches.clear();
        self.current = None;
        let needle = text.to_lowercase();
        if let (false, YamlContent::Lines(lines)) = (needle.is_empty(), &self.content) {
            for (i, line) in lines.iter().enumerate() {
                // Lower-casing can change byte lengths outside ASCII; match on the original
                // only where it lines up.
                let hay = line.to_lowercase();
                if hay.len() != line.len() {
                    continue;
                }
                let mut at = 0;
                while let Some(pos) = hay[at..].find(&needle) {
                    let start = at + pos;
                    let end = start + needle.len();
                    self.matches.push(Match {
                        line: i,
                        start,
                        end,
                    });
                    at = end.max(start + 1);
                }
            }
        }
        if !self.matches.is_empty() {
            let first = self
                .matches
                .iter()
                .position(|m| m.line >= from)
                .unwrap_or(0);
            self.current = Some(first);
            self.scroll = self.matches[first].line;
        }
    }

    /// Go to the next (or previous) match, wrapping around.
    pub fn step(&mut self, forward: bool) -> bool {
        let n = self.matches.len();
        let Some(cur) = self.current else {
            return false;
        };
        let next = if forward {
            (cur + 1) % n
        } else {
            (cur + n - 1) % n
        };
        self.current = Some(next);
        self.scroll = self.matches[next].line;
        true
    }

    /// Scroll to `line` (clamped).
    pub fn scroll_to(&mut self, line: usize) {
        self.scroll = line.min(self.line_count().saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::flux::FluxKind;

    #[test]
    fn search_finds_every_match_and_wraps() {
        let mut v = YamlView::new(ObjectKey::flux(FluxKind::HelmRelease, "a", "b"));
        v.set_result(Ok(
            "kind: HelmRelease\nname: redis\nchart: redis\nx: y".into()
        ));
        v.set_search("REDIS", 0);
        assert_eq!(v.matches.len(), 2);
        assert_eq!(v.current, Some(0));
        assert_eq!(v.scroll, 1);
        assert!(v.step(true));
        assert_eq!(v.scroll, 2);
        assert!(v.step(true));
        assert_eq!(v.scroll, 1);
        assert!(v.step(false));
        assert_eq!(v.scroll, 2);
        v.set_search("nothing", 0);
        assert!(!v.step(true));
    }
}
