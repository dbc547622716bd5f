//! Every glyph fluxdeck draws exists in DejaVu Sans Mono, the font most Linux terminals fall
//! back to (a missing glyph shows as an empty box). Checked with fontconfig (`fc-list
//! :charset=HEX`); when fontconfig or the font is missing the check says so, and fails under
//! `FLUXDECK_REQUIRE_CLIENTS=1` (CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use fluxdeck::domain::health::Health;

/// Glyphs drawn besides the state glyphs: tree lines, separators, markers.
const OTHER: &[&str] = &[
    "…", "·", "⚠", "│", "├", "└", "─", "┌", "┐", "┘", "▾", "▸", "→", "—", "✔", "►",
];

fn in_font(c: char) -> Option<bool> {
    let out = Command::new("fc-list")
        .arg(format!(":charset={:x}", c as u32))
        .arg("family")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).contains("DejaVu Sans Mono"))
}

#[test]
fn every_glyph_is_in_dejavu_sans_mono() {
    let font_present = Command::new("fc-list")
        .arg("DejaVu Sans Mono")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if !font_present {
        let why = "fontconfig (fc-list) or DejaVu Sans Mono is not installed: glyph check skipped";
        eprintln!("SKIPPED: {why}");
        assert!(
            std::env::var("FLUXDECK_REQUIRE_CLIENTS").as_deref() != Ok("1"),
            "{why}"
        );
        return;
    }
    let mut glyphs: Vec<&str> = Health::ALL.iter().map(|h| h.glyph()).collect();
    glyphs.extend(OTHER);
    let missing: Vec<String> = glyphs
        .iter()
        .flat_map(|g| g.chars())
        .filter(|c| !c.is_ascii())
        .filter(|c| in_font(*c) == Some(false))
        .map(|c| format!("{c} (U+{:04X})", c as u32))
        .collect();
    assert!(missing.is_empty(), "not in DejaVu Sans Mono: {missing:?}");
}
