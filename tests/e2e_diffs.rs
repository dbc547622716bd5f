//! End to end: the values diff (`v`), the drift diff (`D`) and a revision diff from the
//! history (`H`, `d`) opened from the tree of `fluxdeck demo` in a pseudo-terminal, side by
//! side at 160 columns and unified at 80.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::time::Duration;

use pty::PtyApp;

fn demo(cols: u16, rows: u16) -> PtyApp {
    PtyApp::spawn(&["demo", "--speed", "60"], cols, rows, &[])
}

/// Filter the tree to one HelmRelease and select it.
fn select_hr(app: &mut PtyApp, object: &str) {
    app.wait_text("flux-system/apps");
    app.send("/");
    app.send(&format!("kind:hr {object}"));
    app.send("\r");
    app.wait_text(&format!("filter: kind:hr {object}"));
    // The last row once the HelmRelease is in the tree (the demo creates it after start).
    app.wait_text(object);
    app.send("G");
}

#[test]
fn values_and_drift_diffs_open_from_the_tree_side_by_side() {
    let mut app = demo(160, 48);
    select_hr(&mut app, "grade-api/grade-api");
    app.wait_for("grade-api installed", Duration::from_secs(60), |s| {
        s.lines().any(|l| {
            l.contains("HelmRelease grade-api/grade-api") && l.contains("install succeeded")
        })
    });
    app.send("v");
    let screen = app.wait_for("the values diff", Duration::from_secs(30), |s| {
        s.contains("values · HelmRelease/grade-api/grade-api") && s.contains("database:")
    });
    // Both sides, with what each one is.
    assert!(screen.contains("deployed rev 1"), "{screen}");
    assert!(screen.contains("desired: 2 valuesFrom"), "{screen}");
    let host = screen
        .lines()
        .find(|l| l.contains("host: postgres.grade-api.svc.cluster.local"))
        .unwrap_or_else(|| panic!("no host line:\n{screen}"));
    assert_eq!(
        host.matches("postgres.grade-api.svc.cluster.local").count(),
        2,
        "the same value on both sides: {host}"
    );
    // The origin of the line under the cursor: the targetPath of the second ConfigMap key.
    app.send("j");
    app.send("j");
    app.wait_text("ConfigMap/grade-api-values[dbHost] → database.host");
    // `c`: computed values (chart defaults coalesced).
    app.send("c");
    app.wait_text("[computed values]");
    app.escape();
    app.wait_for("the tree again", Duration::from_secs(10), |s| {
        !s.contains("values · HelmRelease") && s.contains("filter: kind:hr")
    });

    app.send("D");
    let screen = app.wait_for("the drift diff", Duration::from_secs(30), |s| {
        s.contains("drift · HelmRelease/grade-api/grade-api")
            && s.contains("desired: apply dry-run as helm-controller")
    });
    assert!(
        screen.contains("Deployment/grade-api/grade-api"),
        "{screen}"
    );
    app.escape();
    app.send("q");
    app.wait_exit(Duration::from_secs(10));
}

#[test]
fn revision_diff_from_the_history_is_unified_at_80_columns() {
    let mut app = demo(80, 24);
    select_hr(&mut app, "default/backend");
    app.send("H");
    app.wait_for("the history", Duration::from_secs(30), |s| {
        s.contains("deployed") && s.contains("superseded")
    });
    // The oldest revision (listed last) against the current one: values.
    app.send("G");
    app.send("d");
    let screen = app.wait_for("the revision diff", Duration::from_secs(10), |s| {
        s.contains("hello from v1")
    });
    // Unified below 100 columns: the old line and the new one, marked, one above the other.
    let minus = screen
        .lines()
        .any(|l| l.contains(" -message: hello from v1"));
    assert!(minus, "the old value marked as removed:\n{screen}");
    assert!(
        screen.lines().any(|l| l.contains("+")
            && l.contains("message: hello from")
            && !l.contains("hello from v1")),
        "the current value marked as added:\n{screen}"
    );
    app.escape();
    app.wait_text("superseded");
    app.send("q");
    app.wait_exit(Duration::from_secs(10));
}
