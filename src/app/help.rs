//! The help screen's content, generated from the keymap table: every action with its keys,
//! grouped by layer; dangerous actions marked unavailable in read-only mode. Then the log
//! file, keymap warnings and objects that could not be read.

use super::format::width;
use super::state::AppState;
use super::text::{Seg, TextLine, Tone};

/// Width of the action id column.
const ACTION: usize = 16;

/// The lines of the help screen.
pub fn lines(state: &AppState) -> Vec<TextLine> {
    let mut out = Vec::new();
    out.push(TextLine::plain(
        "fluxdeck: the live tree of Flux objects. Keys (from the keymap; change them under \
         `keymap:` in the config file by action id):",
        Tone::Text,
    ));
    if let Some(reason) = &state.read_only {
        out.push(TextLine::plain(
            format!("Read-only session ({reason}): actions that write are unavailable."),
            Tone::Warning,
        ));
    }
    let rows = state.keymap.help_rows();
    let keys_w = rows
        .iter()
        .map(|r| width(&r.keys))
        .max()
        .unwrap_or(0)
        .max(9)
        + 1;
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
        out.push(TextLine::new(segs).indent(2 + keys_w + ACTION));
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
            "  :ns NAME (:ns for all namespaces), :ctx NAME, :theme NAME, :q",
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
