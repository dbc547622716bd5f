//! Read-only proof, end to end: `fluxdeck --read-only` runs in a pseudo-terminal against a
//! simulated cluster with an access log; every key of the keymap is pressed in every view it
//! can reach, on a HelmRelease, a Kustomization and a source; afterwards the log holds only
//! GET requests (lists and watches included): no write, no access review.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};
use fluxdeck::app::keys::{Action, Key, Keymap};
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::server::read_access_log;
use pty::PtyApp;

/// The bytes a terminal sends for a key.
fn bytes(key: Key) -> Option<String> {
    let ctrl = key.modifiers().contains(KeyModifiers::CONTROL);
    Some(match key.code() {
        KeyCode::Char(c) if ctrl => ((c.to_ascii_lowercase() as u8 & 0x1f) as char).to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "\r".into(),
        KeyCode::Esc => "\x1b".into(),
        KeyCode::Tab => "\t".into(),
        KeyCode::BackTab => "\x1b[Z".into(),
        KeyCode::Up => "\x1b[A".into(),
        KeyCode::Down => "\x1b[B".into(),
        KeyCode::Right => "\x1b[C".into(),
        KeyCode::Left => "\x1b[D".into(),
        KeyCode::Home => "\x1b[H".into(),
        KeyCode::End => "\x1b[F".into(),
        KeyCode::PageUp => "\x1b[5~".into(),
        KeyCode::PageDown => "\x1b[6~".into(),
        KeyCode::F(n) => format!("\x1b[{}~", n + 10),
        _ => return None,
    })
}

/// Every default key of every action, except the ones that end or stop the process.
fn all_keys() -> Vec<(Action, String)> {
    let keymap = Keymap::default();
    let mut keys = Vec::new();
    for action in Action::all() {
        if matches!(action, Action::Quit | Action::SuspendApp) {
            continue;
        }
        for k in keymap.keys(action) {
            if let Some(b) = bytes(*k) {
                keys.push((action, b));
            }
        }
    }
    keys
}

/// Start a simulated cluster, run fluxdeck (with `extra` flags) in a pseudo-terminal, press
/// every key in every view, quit; return the requests that were not GETs.
fn press_everything(extra: &[&str]) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let cluster = runtime
        .block_on(SimCluster::start(SimOptions {
            scenario: "demo".into(),
            speed: 60.0,
            access_log: Some(log.clone()),
            ..SimOptions::default()
        }))
        .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig_yaml()).unwrap();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
    let mut app = PtyApp::spawn(&args, 120, 40, &[]);
    app.wait_text("flux-system/apps");
    let read_only = extra.contains(&"--read-only");
    if read_only {
        app.wait_text("READ-ONLY");
    }

    let keys = all_keys();
    assert!(
        keys.iter().any(|(a, _)| a.is_dangerous()),
        "the dangerous keys are pressed too"
    );
    // Views reached from the tree: none (the tree), details, YAML, why, help, problems.
    let openers = ["", "\r", "y", "w", "?", "p"];
    for target in [
        "kind:hr staging/backend",
        "kind:ks flux-system/apps",
        "kind:helmrepo bitnami",
    ] {
        for opener in openers {
            // Select the object: filter to it and go to its row; open the view.
            app.send("/");
            app.send(target);
            app.send("\r");
            app.send("G");
            app.send(opener);
            // Every key in turn, where the previous ones left the screen (menus, dialogs and
            // prompts included); a dangerous key is followed by its confirmations.
            for (action, key) in &keys {
                app.send(key);
                if action.is_dangerous() {
                    app.send("\r");
                    app.send("y");
                    app.send("\r");
                }
            }
            for _ in 0..4 {
                app.escape();
            }
        }
    }
    // Every key was handled: a last filter shows up once the queue is through.
    app.send("/");
    app.send("all-keys-pressed");
    app.send("\r");
    let screen = app.wait_for("the last filter", Duration::from_secs(120), |s| {
        s.contains("filter: all-keys-pressed")
    });
    assert_eq!(screen.contains("READ-ONLY"), read_only, "{screen}");
    app.send("\x1b");
    app.escape();
    app.send("q");
    assert_eq!(app.wait_exit(Duration::from_secs(20)), 0);

    let entries = read_access_log(&log).unwrap();
    assert!(
        entries.iter().any(|e| e.path.contains("watch=true")),
        "the session watched"
    );
    runtime.block_on(cluster.shutdown());
    entries
        .iter()
        .filter(|e| e.method != "GET")
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

#[test]
fn a_read_only_session_sends_only_gets_whatever_is_pressed() {
    let writes = press_everything(&["--read-only"]);
    assert!(writes.is_empty(), "a read-only session sent: {writes:#?}");
}

/// The same keys in a session that is not read-only do write (so the test above would see a
/// write that read-only failed to stop).
#[test]
fn the_same_keys_in_a_writable_session_do_write() {
    let writes = press_everything(&[]);
    assert!(
        writes.iter().any(|w| w.starts_with("PATCH ")),
        "expected patches: {writes:#?}"
    );
}
