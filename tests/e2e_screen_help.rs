//! End to end: in `fluxdeck demo` in a pseudo-terminal, help opens on `?` with the legend of
//! states first (glyph, word, ASCII glyph, theme slot), and the hint bar keeps `? help` and
//! `q quit` at 80 columns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::time::Duration;

use fluxdeck::domain::health::Health;
use pty::PtyApp;

#[test]
fn help_opens_with_the_legend_of_states() {
    let mut app = PtyApp::spawn(&["demo", "--speed", "60"], 80, 24, &[]);
    let screen = app.wait_text("flux-system/apps");
    let bar = screen.lines().last().unwrap_or_default().to_string();
    assert!(bar.contains("? help") && bar.contains("q quit"), "{screen}");

    app.send("?");
    let screen = app.wait_for("the legend", Duration::from_secs(30), |s| {
        s.contains("States") && s.contains("states.deleting")
    });
    for h in Health::ALL {
        let line = screen
            .lines()
            .find(|l| l.contains(&format!("{} {}", h.glyph(), h.word())))
            .unwrap_or_else(|| panic!("no legend line for {}:\n{screen}", h.word()));
        let slot = format!("states.{}", h.word().to_lowercase());
        assert!(
            line.contains(&format!(" {}  {slot}", h.ascii_glyph())),
            "{line}\n{screen}"
        );
    }
    app.escape();
    app.wait_for("the tree again", Duration::from_secs(30), |s| {
        !s.contains("states.deleting") && s.contains("flux-system/apps")
    });
    app.send("q");
    assert_eq!(app.wait_exit(Duration::from_secs(30)), 0);
}
