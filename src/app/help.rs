//! The help screen's content: a legend of the states (glyph, word, colour, ASCII fallback),
//! then every action with its keys from the keymap table, grouped by layer; dangerous actions
//! marked unavailable in read-only mode. Then the filter and command syntax, the log file,
//! keymap warnings and objects that could not be read.

use crate::domain::health::Health;

use super::format::width;
use super::state::AppState;
use super::text::{Seg, TextLine, Tone};

/// Width of the action id column (the longest id and a space).
const ACTION: usize = 15;
/// Width of the glyph and word column of the legend.
const WORD: usize = 14;
/// Width of the theme slot column of the legend (`states.reconciling` and a space).
const SLOT: usize = 19;
/// Continuation indent of a key row whose description column is too far right for the
/// terminal (wrapped text stays clear of the keys either way).
const NARROW_INDENT: usize = 4;

/// What each state means, for the legend.
fn meaning(h: Health) -> &'static str {
    match h {
        Health::Ready => "reconciled and healthy",
        Health::Failed => "the last reconciliation failed",
        Health::Reconciling => "a reconciliation is under way",
        Health::Suspended => "suspended: the controller leaves it alone",
        Health::Blocked => "waits for a dependency that is not ready",
        Health::Cycle => "part of a dependency cycle: never becomes ready",
        Health::Drifted => "live objects differ from what was applied",
        Health::Pending => "not reconciled yet",
        Health::Unknown => "the state cannot be told (no status, not loaded)",
        Health::Deleting => "being deleted",
    }
}

/// The legend: one line per state with its glyph and word in the state's colour, its
/// `--ascii` glyph, the theme slot that colours it and what it means.
fn legend(state: &AppState, cols: usize, out: &mut Vec<TextLine>) {
    out.push(TextLine::plain("States", Tone::Title));
    out.push(
        TextLine::plain(
            "  each state's glyph and word in its colour, its --ascii glyph, the theme slot \
             that colours it, and what it means:",
            Tone::Text,
        )
        .indent(2),
    );
    let indent = 2 + WORD + 3 + SLOT;
    let indent = if indent * 2 < cols {
        indent
    } else {
        NARROW_INDENT
    };
    for h in Health::ALL {
        let glyph = if state.ascii {
            h.ascii_glyph()
        } else {
            h.glyph()
        };
        out.push(
            TextLine::new(vec![
                Seg::new("  ", Tone::Text),
                Seg::new(
                    format!("{glyph} {:<w$}", h.word(), w = WORD - 2),
                    Tone::State(h),
                ),
                Seg::new(format!("{:<3}", h.ascii_glyph()), Tone::Key),
                Seg::new(
                    format!("{:<SLOT$}", format!("states.{}", h.word().to_lowercase())),
                    Tone::Dim,
                ),
                Seg::new(meaning(h), Tone::Text),
            ])
            .indent(indent),
        );
    }
    let blocked = if state.ascii {
        Health::Blocked.ascii_glyph()
    } else {
        Health::Blocked.glyph()
    };
    out.push(
        TextLine::plain(
            format!(
                "  The header counts Flux objects by state ({blocked} 3 blocked); below 100 \
                 columns by glyph alone ({blocked} 3). Colours come from the theme; the glyph \
                 and the word say the same without colour."
            ),
            Tone::Text,
        )
        .indent(2),
    );
}

/// The lines of the help screen.
pub fn lines(state: &AppState) -> Vec<TextLine> {
    let cols = usize::from(state.size.0.saturating_sub(2));
    let mut out = Vec::new();
    out.push(TextLine::plain(
        "fluxdeck: the live tree of Flux objects.",
        Tone::Text,
    ));
    if let Some(reason) = &state.read_only {
        out.push(TextLine::plain(
            format!("Read-only session ({reason}): actions that write are unavailable."),
            Tone::Warning,
        ));
    }
    out.push(TextLine::blank());
    legend(state, cols, &mut out);
    out.push(TextLine::blank());
    out.push(
        TextLine::plain(
            "Keys (from the keymap; change them under `keymap:` in the config file by action \
             id):",
            Tone::Text,
        )
        .indent(2),
    );
    let rows = state.keymap.help_rows();
    let keys_w = rows
        .iter()
        .map(|r| width(&r.keys))
        .max()
        .unwrap_or(0)
        .max(9)
        + 1;
    let desc_indent = 2 + keys_w + ACTION;
    let desc_indent = if desc_indent * 2 < cols {
        desc_indent
    } else {
        NARROW_INDENT
    };
    let mut layer = None;
    for row in rows {
        if layer != Some(row.layer) {
            layer = Some(row.layer);
            out.push(TextLine::blank());
            out.push(TextLine::plain(row.layer.title(), Tone::Title));
        }
        let keys = if row.keys.is_empty() {
            "(unbound)".to_string()
        } else {
            row.keys.clone()
        };
        let (key_tone, text_tone) = if row.available {
            (Tone::Key, Tone::Text)
        } else {
            (Tone::Dim, Tone::Dim)
        };
        let mut segs = vec![
            Seg::new(format!("  {keys:<keys_w$}"), key_tone),
            Seg::new(format!("{:<w$} ", row.action, w = ACTION - 1), Tone::Dim),
            Seg::new(row.description, text_tone),
        ];
        if !row.available {
            segs.push(Seg::new(" (unavailable: read-only)", Tone::Warning));
        }
        out.push(TextLine::new(segs).indent(desc_indent));
    }
    out.push(TextLine::blank());
    out.push(TextLine::plain("Filter", Tone::Title));
    out.push(
        TextLine::plain(
            "  words match names and namespaces; ns:NAME, kind:hr|ks|Deployment, \
             state:failed|blocked|...|problem. Enter keeps the filter, Esc clears it.",
            Tone::Text,
        )
        .indent(2),
    );
    out.push(TextLine::plain("Commands", Tone::Title));
    out.push(
        TextLine::plain(
            "  :ns NAME (:ns for all namespaces), :ctx [NAME] (lists contexts), :theme NAME, :messages, :q; Tab completes",
            Tone::Text,
        )
        .indent(2),
    );
    out.push(TextLine::blank());
    let log = state
        .log_file
        .as_ref()
        .map_or_else(|| "not written".to_string(), |p| p.display().to_string());
    out.push(
        TextLine::new(vec![
            Seg::new("Log file: ", Tone::Title),
            Seg::new(log, Tone::Text),
        ])
        .indent(2),
    );
    if !state.keymap_warnings.is_empty() {
        out.push(TextLine::blank());
        out.push(TextLine::plain("Keymap warnings", Tone::Warning));
        for w in &state.keymap_warnings {
            out.push(TextLine::plain(format!("  {w}"), Tone::Warning).indent(4));
        }
    }
    if !state.decode_errors.is_empty() {
        out.push(TextLine::blank());
        out.push(TextLine::plain(
            format!(
                "Objects that could not be read ({})",
                state.decode_errors.len()
            ),
            Tone::Warning,
        ));
        for e in &state.decode_errors {
            out.push(TextLine::plain(format!("  {e}"), Tone::Text).indent(4));
        }
    }
    out
}
