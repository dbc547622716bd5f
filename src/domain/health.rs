//! Health states shown for every node: Flux objects (flux-facts Appendix A.2) and managed
//! objects (kstatus, flux-facts §9). Every state is a glyph and a word, so nothing depends
//! on colour alone.

use serde::{Deserialize, Serialize};

/// The state of one object as the TUI shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ready,
    Failed,
    Reconciling,
    Suspended,
    Blocked,
    Cycle,
    Drifted,
    Pending,
    Unknown,
    Deleting,
}

impl Health {
    pub const ALL: [Health; 10] = [
        Health::Ready,
        Health::Failed,
        Health::Reconciling,
        Health::Suspended,
        Health::Blocked,
        Health::Cycle,
        Health::Drifted,
        Health::Pending,
        Health::Unknown,
        Health::Deleting,
    ];

    /// The word shown next to the glyph.
    pub fn word(self) -> &'static str {
        match self {
            Health::Ready => "Ready",
            Health::Failed => "Failed",
            Health::Reconciling => "Reconciling",
            Health::Suspended => "Suspended",
            Health::Blocked => "Blocked",
            Health::Cycle => "Cycle",
            Health::Drifted => "Drifted",
            Health::Pending => "Pending",
            Health::Unknown => "Unknown",
            Health::Deleting => "Deleting",
        }
    }

    /// The Unicode glyph.
    pub fn glyph(self) -> &'static str {
        match self {
            Health::Ready => "✓",
            Health::Failed => "✗",
            Health::Reconciling => "⟳",
            Health::Suspended => "⏸",
            Health::Blocked => "⧗",
            Health::Cycle => "↻",
            Health::Drifted => "≠",
            Health::Pending => "…",
            Health::Unknown => "?",
            Health::Deleting => "✝",
        }
    }

    /// The `--ascii` glyph.
    pub fn ascii_glyph(self) -> &'static str {
        match self {
            Health::Ready => "+",
            Health::Failed => "x",
            Health::Reconciling => "~",
            Health::Suspended => "=",
            Health::Blocked => "#",
            Health::Cycle => "@",
            Health::Drifted => "!",
            Health::Pending => ".",
            Health::Unknown => "?",
            Health::Deleting => "-",
        }
    }

    /// Parse a state word as typed in a filter (`state:failed`), case-insensitive.
    pub fn parse(word: &str) -> Option<Health> {
        Health::ALL
            .into_iter()
            .find(|h| h.word().eq_ignore_ascii_case(word))
    }

    /// Whether the state counts as a problem (shown in problems mode, counted as failing).
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Health::Failed | Health::Blocked | Health::Cycle | Health::Drifted | Health::Unknown
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_back_and_glyphs_are_distinct() {
        let mut glyphs = std::collections::HashSet::new();
        let mut ascii = std::collections::HashSet::new();
        for h in Health::ALL {
            assert_eq!(Health::parse(&h.word().to_uppercase()), Some(h));
            assert!(glyphs.insert(h.glyph()));
            assert!(ascii.insert(h.ascii_glyph()));
        }
        assert_eq!(Health::parse("nope"), None);
    }
}
