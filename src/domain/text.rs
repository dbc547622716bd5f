//! Cluster text made safe for a terminal. Every string that comes from the cluster (names,
//! reasons, messages, revisions, YAML) passes through [`sanitize`] or [`sanitize_line`] before
//! it is printed or becomes screen cells, and through [`json_text`] when it is printed as JSON.
//!
//! Removed: C0 controls except tab and newline (single-line text turns those into spaces),
//! DEL, C1 controls (U+0080–U+009F), whole escape sequences (CSI `ESC [ … final`, OSC
//! `ESC ] … BEL|ST`, the DCS/SOS/PM/APC strings, two-byte and `ESC intermediate final`
//! sequences, and their 8-bit C1 forms), and the bidi marks, embeddings, overrides and
//! isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) that can reorder what a
//! reader sees.

use std::borrow::Cow;

use serde_json::Value;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// The 8-bit String Terminator.
const ST8: char = '\u{9c}';

/// Whether `c` reorders text (bidi marks, embeddings, overrides, isolates).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` never reaches the terminal: a C0 control other than tab and newline, DEL, a C1
/// control, or a bidi control.
pub fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// `text` with control characters, escape sequences and bidi controls removed; tabs and
/// newlines are kept. Borrows when there is nothing to remove.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    clean(text, false)
}

/// [`sanitize`] for text shown on one line (a table cell, a row, a header): newlines, carriage
/// returns and tabs become spaces.
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    clean(text, true)
}

fn clean(text: &str, one_line: bool) -> Cow<'_, str> {
    let needs = |c: char| is_unsafe_char(c) || (one_line && (c == '\n' || c == '\t'));
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' | '\r' if one_line => {
                // `\r\n` is one line break.
                if c == '\r' && chars.peek() == Some(&'\n') {
                    continue;
                }
                out.push(' ');
            }
            '\n' | '\t' => out.push(c),
            ESC => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(' '..='/') => {
                    // nF: intermediates, then one final byte.
                    while chars.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                    chars.next_if(|c| matches!(c, '0'..='~'));
                }
                Some('0'..='~') => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_unsafe_char(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Skip the rest of a control sequence: parameter and intermediate bytes up to the final
/// byte. A character that cannot be part of a sequence ends it and is kept.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        match c {
            '0'..='?' | ' '..='/' => {
                chars.next();
            }
            '@'..='~' => {
                chars.next();
                return;
            }
            _ => return,
        }
    }
}

/// Skip the rest of a string sequence (OSC, DCS, SOS, PM, APC) through its terminator (BEL,
/// `ESC \` or the 8-bit ST). An unterminated one ends at the end of its line.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => return,
            BEL | ST8 => {
                chars.next();
                return;
            }
            ESC => {
                chars.next();
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {
                chars.next();
            }
        }
    }
}

/// Whether JSON text must spell `c` as `\uXXXX` to be safe on a terminal: what serde_json
/// leaves raw among the characters [`sanitize`] removes (DEL, C1, bidi controls), and the
/// line and paragraph separators.
fn json_escaped(c: char) -> bool {
    c == '\u{7f}'
        || ('\u{80}'..='\u{9f}').contains(&c)
        || is_bidi_control(c)
        || c == '\u{2028}'
        || c == '\u{2029}'
}

/// `value` as pretty JSON that is safe to print to a terminal: the data is unchanged (it
/// parses back to the same value), but no control or bidi character appears raw. serde_json
/// escapes C0 itself; DEL, C1 and bidi controls become `\uXXXX` here.
pub fn json_text(value: &Value) -> Result<String, serde_json::Error> {
    let text = serde_json::to_string_pretty(value)?;
    if !text.chars().any(json_escaped) {
        return Ok(text);
    }
    // Outside strings serde_json writes only ASCII, so every such character is inside a
    // string, where `\uXXXX` means the same character.
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if json_escaped(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            sanitize("ready: 3/3 ✓ héllo\tx\ny"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(sanitize_line("a b"), Cow::Borrowed(_)));
    }

    #[test]
    fn removes_whole_escape_sequences() {
        let cases = [
            ("a\u{1b}]0;pwned\u{7}b", "ab"),
            (
                "a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b",
                "alinkb",
            ),
            ("\u{1b}[2Jclear", "clear"),
            ("\u{1b}[1;31mred\u{1b}[0m", "red"),
            ("\u{1b}[?1049h", ""),
            ("x\u{1b}Pdcs data\u{1b}\\y", "xy"),
            ("x\u{1b}_apc\u{9c}y", "xy"),
            ("x\u{1b}(By", "xy"),
            ("x\u{1b}7y\u{1b}8", "xy"),
            ("x\u{9b}31my", "xy"),
            ("x\u{9d}0;t\u{7}y", "xy"),
            ("x\u{1b}", "x"),
            ("x\u{1b}[12", "x"),
            ("x\u{1b}]unterminated\nnext", "x\nnext"),
            ("a\u{7}b\u{8}c\u{0}d\u{7f}e\u{85}f", "abcdef"),
            (
                "a\u{202e}evil\u{202c}b\u{2066}c\u{2069}\u{200f}\u{200e}\u{61c}",
                "aevilbc",
            ),
            ("tab\tline\r\nnext", "tab\tline\nnext"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }

    #[test]
    fn single_line_text_replaces_breaks() {
        assert_eq!(sanitize_line("a\nb\tc\r\nd\re"), "a b c d e");
        assert_eq!(sanitize_line("\u{1b}[2Ja\nb"), "a b");
    }

    #[test]
    fn json_round_trips_and_shows_nothing_raw() {
        let v = serde_json::json!({
            "m\u{202e}": "x\u{1b}]0;t\u{7}\u{85}\u{9b}\u{202e}\u{2066}\u{7f}\u{2028}y ✓ 😀",
        });
        let text = json_text(&v).unwrap();
        assert!(
            !text.chars().any(|c| is_unsafe_char(c) && c != '\n'),
            "{text}"
        );
        assert!(
            text.contains("\\u202e") && text.contains("\\u001b"),
            "{text}"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
