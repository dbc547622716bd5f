//! End to end: the command line of `fluxdeck demo` in a pseudo-terminal. `:theme` redraws
//! the screen in the new theme (the header's background colour, as the terminal received
//! it), `:ctx` Tab-completes the demo's one context, `:ns` refuses a namespace that does not
//! exist and the error stays.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::time::{Duration, Instant};

use pty::PtyApp;

fn demo(extra: &[&str], cols: u16, rows: u16) -> PtyApp {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["demo", "--speed", "60"]);
    PtyApp::spawn(&args, cols, rows, &[])
}

/// The background of the header's first cell.
fn header_bg(app: &PtyApp) -> vt100::Color {
    app.screen_state()
        .cell(0, 1)
        .map(|c| c.bgcolor())
        .unwrap_or_default()
}

/// Wait (bounded) until the header is drawn on `bg`; panics with what it is otherwise.
fn wait_header_bg(app: &PtyApp, bg: vt100::Color) {
    let start = Instant::now();
    while header_bg(app) != bg {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "header background is {:?}, not {bg:?}; screen:\n{}",
            header_bg(app),
            app.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn command(app: &mut PtyApp, text: &str) {
    app.send(":");
    app.wait_for("the command line", Duration::from_secs(10), |s| {
        s.lines().last().is_some_and(|l| l.starts_with(':'))
    });
    app.send(text);
}

#[test]
fn theme_switches_live_with_read_only_and_ascii_kept() {
    let dir = std::env::temp_dir().join(format!("fluxdeck-e2e-theme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("red.yaml");
    std::fs::write(
        &file,
        "extends: light\nui:\n  header: { fg: white, bg: \"#ff0000\" }\n",
    )
    .unwrap();

    let mut app = demo(&["--read-only", "--ascii"], 100, 30);
    app.wait_text("flux-system/apps");
    // dark: #1f2937
    wait_header_bg(&app, vt100::Color::Rgb(0x1f, 0x29, 0x37));

    command(&mut app, "theme light\r");
    // light: #dbeafe
    wait_header_bg(&app, vt100::Color::Rgb(0xdb, 0xea, 0xfe));
    let screen = app.wait_text("theme light");
    assert!(screen.contains("READ-ONLY"), "{screen}");
    assert!(
        !screen.contains('✓') && !screen.contains('└'),
        "ASCII kept:\n{screen}"
    );

    command(&mut app, &format!("theme {}\r", file.display()));
    wait_header_bg(&app, vt100::Color::Rgb(0xff, 0, 0));
    app.wait_text("theme red");

    // A file that does not exist: the error names it; the theme stays.
    command(&mut app, "theme /nonexistent/nope.yaml\r");
    let screen = app.wait_text(":theme /nonexistent/nope.yaml: cannot read theme file");
    assert_eq!(header_bg(&app), vt100::Color::Rgb(0xff, 0, 0), "{screen}");
    app.send("q");
    app.wait_exit(Duration::from_secs(30));
}

#[test]
fn ctx_completes_the_demo_context_and_ns_refuses_what_does_not_exist() {
    let mut app = demo(&[], 100, 30);
    app.wait_text("flux-system/apps");

    // The demo's one context, completed from its kubeconfig.
    command(&mut app, "ctx f");
    app.send("\t");
    app.wait_for("ctx completed", Duration::from_secs(30), |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.starts_with(":ctx fluxdeck-sim"))
    });
    app.escape();

    // An unknown context is refused, naming it and the one there is.
    command(&mut app, "ctx foo\r");
    app.wait_text(":ctx foo: there is no context foo in the kubeconfig (contexts: fluxdeck-sim)");
    app.escape();

    // `:ns` completes from the namespaces that exist.
    command(&mut app, "ns stagi");
    app.send("\t");
    app.wait_for("ns completed", Duration::from_secs(30), |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.starts_with(":ns staging"))
    });
    app.escape();

    // One that does not exist is refused with close matches, and the error stays until a key.
    command(&mut app, "ns stag\r");
    app.wait_text(":ns stag: there is no namespace stag (did you mean staging?)");
    std::thread::sleep(Duration::from_secs(5));
    let screen = app.screen();
    assert!(
        screen.contains(":ns stag: there is no namespace stag"),
        "{screen}"
    );
    assert!(
        screen.contains("ns all namespaces"),
        "nothing switched:\n{screen}"
    );
    app.escape();
    app.wait_for("the error dismissed", Duration::from_secs(10), |s| {
        !s.contains(":ns stag:")
    });

    // Both errors are in the history.
    command(&mut app, "messages\r");
    let screen = app.wait_text("Messages");
    assert!(screen.contains("error   :ctx foo"), "{screen}");
    assert!(screen.contains("error   :ns stag"), "{screen}");
    app.escape();
    app.send("q");
    app.wait_exit(Duration::from_secs(30));
}
