//! End to end: from the why view of a blocked HelmRelease in `fluxdeck demo`, in a
//! pseudo-terminal, `Enter` on the root cause goes to its row in the tree (leaving the filter
//! that hid it), and `Enter` on an evidence line goes to the workload's row under it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::time::Duration;

use pty::PtyApp;

/// The details pane is open on `object` (`Kind/namespace/name`, its first line).
fn details_of(screen: &str, object: &str) -> bool {
    screen.contains("┌ Details") && screen.lines().any(|l| l.contains(&format!("  {object} ")))
}

/// Whether the row showing `text` is drawn highlighted (the why view's selection): the
/// cell under its first character has a background colour.
fn highlighted(app: &PtyApp, text: &str) -> bool {
    let screen = app.screen_state();
    let (rows, cols) = screen.size();
    (0..rows).any(|r| {
        let line: String = (0..cols)
            .map(|c| {
                screen
                    .cell(r, c)
                    .map_or(" ".to_string(), |x| x.contents().to_string())
            })
            .map(|s| if s.is_empty() { " ".to_string() } else { s })
            .collect();
        line.find(text).is_some_and(|byte| {
            let col = line[..byte].chars().count() as u16;
            screen
                .cell(r, col)
                .is_some_and(|cell| cell.bgcolor() != vt100::Color::Default)
        })
    })
}

/// Filter to staging/backend and wait until staging/redis fails its install (a missing
/// image) and backend is blocked by it; the demo replays its story, so this may take a
/// round.
fn backend_blocked(app: &mut PtyApp) {
    app.send("/");
    app.send("kind:hr staging/backend");
    app.send("\r");
    app.wait_text("filter: kind:hr staging/backend");
    app.wait_for("backend blocked by redis", Duration::from_secs(120), |s| {
        s.lines().any(|l| {
            l.contains("HelmRelease staging/backend") && l.contains("Blocked by staging/redis")
        })
    });
    app.send("G");
    app.send("w");
    app.wait_for(
        "the why view with its evidence",
        Duration::from_secs(30),
        |s| {
            s.contains("Why HelmRelease/staging/backend")
                && s.contains("✗ Failed  HelmRelease/staging/redis")
                && s.contains("StatefulSet staging/redis-master")
        },
    );
}

#[test]
fn enter_on_a_hop_goes_to_its_row() {
    let mut app = PtyApp::spawn(&["demo", "--speed", "60"], 160, 48, &[]);
    app.wait_text("flux-system/apps");
    backend_blocked(&mut app);
    // The root cause is selected at first: Enter goes to its row, which the filter hid.
    app.send("\r");
    app.wait_text("left the filter to show HelmRelease/staging/redis");
    app.send("\r");
    app.wait_for(
        "the details of staging/redis",
        Duration::from_secs(10),
        |s| details_of(s, "HelmRelease/staging/redis"),
    );
    app.escape();

    // Again, then n down the evidence (the release's findings, then its StatefulSet) and
    // Enter: the StatefulSet's row under the HelmRelease.
    // The demo replays its story: when staging/redis starts over while the view is open,
    // its evidence goes away; then wait for the failure again (a few rounds at most).
    let mut reached = false;
    for _round in 0..3 {
        backend_blocked(&mut app);
        for _ in 0..12 {
            app.send("n");
            std::thread::sleep(Duration::from_millis(100));
            if highlighted(&app, "StatefulSet staging/redis-master") {
                reached = true;
                break;
            }
        }
        if reached {
            break;
        }
        // Close the view and the filter before the next round.
        app.escape();
        app.escape();
    }
    assert!(
        reached,
        "n never reached the StatefulSet:\n{}",
        app.screen()
    );
    app.send("\r");
    app.wait_text("left the filter to show StatefulSet/staging/redis-master");
    app.send("\r");
    app.wait_for(
        "the details of the StatefulSet",
        Duration::from_secs(10),
        |s| details_of(s, "StatefulSet/staging/redis-master"),
    );
    app.send("q");
    app.wait_exit(Duration::from_secs(10));
}
