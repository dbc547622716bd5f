//! Regenerates `screenshots/*.svg` from the demo: runs the built `fluxdeck demo` in a
//! pseudo-terminal, types the keys of each view as a user would, and draws the terminal
//! screen (text, colours, bold) as an SVG image.
//!
//! `cargo build && cargo run --example screenshots` (writes into `screenshots/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[path = "../tests/common/pty.rs"]
mod pty;

use pty::PtyApp;

const COLS: u16 = 160;
const ROWS: u16 = 44;
const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;
const BACKGROUND: &str = "#0b1220";
const FOREGROUND: &str = "#d1d5db";

/// The xterm 256-colour palette.
fn indexed(i: u8) -> String {
    const BASE: [&str; 16] = [
        "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
        "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
    ];
    match i {
        0..=15 => BASE[usize::from(i)].to_string(),
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(i / 36),
                level((i / 6) % 6),
                level(i % 6)
            )
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

fn colour(c: vt100::Color) -> Option<String> {
    match c {
        vt100::Color::Default => None,
        vt100::Color::Idx(i) => Some(indexed(i)),
        vt100::Color::Rgb(r, g, b) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
    }
}

/// Foreground, background (with reverse video applied) and bold of a cell.
fn style(cell: &vt100::Cell) -> (Option<String>, Option<String>, bool) {
    let (mut fg, mut bg) = (colour(cell.fgcolor()), colour(cell.bgcolor()));
    if cell.inverse() {
        std::mem::swap(&mut fg, &mut bg);
        fg = fg.or(Some(BACKGROUND.to_string()));
        bg = bg.or(Some(FOREGROUND.to_string()));
    }
    (fg, bg, cell.bold())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The screen as SVG: one background rectangle per coloured run, one text span per run of
/// cells with the same style.
fn svg(screen: &vt100::Screen) -> String {
    let (rows, cols) = screen.size();
    let width = f32::from(cols) * CELL_W + 20.0;
    let height = f32::from(rows) * CELL_H + 20.0;
    let mut out = String::new();
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    )
    .unwrap();
    writeln!(
        out,
        r#"<rect width="100%" height="100%" rx="6" fill="{BACKGROUND}"/>"#
    )
    .unwrap();
    writeln!(
        out,
        r#"<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" xml:space="preserve">"#
    )
    .unwrap();
    for row in 0..rows {
        let y = 10.0 + f32::from(row) * CELL_H;
        let mut col = 0;
        while col < cols {
            let Some(cell) = screen.cell(row, col) else {
                col += 1;
                continue;
            };
            let run_style = style(cell);
            let (fg, bg, bold) = run_style.clone();
            // A run of cells with the same style.
            let start = col;
            let mut text = String::new();
            while col < cols {
                let Some(c) = screen.cell(row, col) else {
                    break;
                };
                if style(c) != run_style {
                    break;
                }
                if !c.is_wide_continuation() {
                    let s = c.contents();
                    text.push_str(if s.is_empty() { " " } else { s });
                }
                col += 1;
            }
            let x = 10.0 + f32::from(start) * CELL_W;
            let run = f32::from(col - start) * CELL_W;
            if let Some(b) = &bg {
                writeln!(
                    out,
                    r#"<rect x="{x}" y="{y}" width="{run}" height="{CELL_H}" fill="{b}"/>"#
                )
                .unwrap();
            }
            if !text.trim().is_empty() {
                let f = fg.as_deref().unwrap_or(FOREGROUND);
                let weight = if bold { r#" font-weight="bold""# } else { "" };
                writeln!(
                    out,
                    r#"<text x="{x}" y="{}" fill="{f}" textLength="{run}" lengthAdjust="spacingAndGlyphs"{weight}>{}</text>"#,
                    y + CELL_H - 4.0,
                    escape(&text)
                )
                .unwrap();
            }
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

fn save(app: &PtyApp, dir: &Path, name: &str) {
    let path = dir.join(format!("{name}.svg"));
    std::fs::write(&path, svg(&app.screen_state())).unwrap();
    println!("wrote {}", path.display());
}

/// A merge patch sent to the demo's API server (its address is in the header), as an
/// operator's `kubectl patch` would.
fn merge_patch(app: &PtyApp, path: &str, body: &str) {
    use std::io::{Read, Write};
    let screen = app.screen();
    let addr = screen
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the API server's address in the header")
        .to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer fluxdeck-sim-token\r\n\
         Content-Type: application/merge-patch+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
}

fn pause() {
    std::thread::sleep(Duration::from_millis(400));
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let mut app = PtyApp::spawn(&["demo", "--speed", "60"], COLS, ROWS, &[]);
    // Wait until the demo has settled into its known problems.
    app.wait_for("the demo to settle", Duration::from_secs(120), |s| {
        s.contains("Blocked by staging/redis: RetriesExceeded")
            && s.contains("Dependency cycle: loop/backend")
    });
    pause();
    save(&app, &dir, "tree");

    // Details of the failing release.
    app.send("/");
    app.send("kind:hr staging/redis");
    app.send("\r");
    app.wait_text("filter: kind:hr staging/redis");
    app.send("G");
    app.send("\r");
    app.wait_text("Conditions");
    pause();
    save(&app, &dir, "details");
    app.escape();
    pause();
    app.escape();
    pause();

    // Why is staging/backend blocked?
    app.send("/");
    app.send("kind:hr staging/backend");
    app.send("\r");
    app.wait_text("filter: kind:hr staging/backend");
    app.send("G");
    app.send("w");
    app.wait_text("Path to the root cause");
    pause();
    save(&app, &dir, "why");
    app.escape();
    pause();
    app.escape();
    pause();

    // Problems mode, grouped by root cause.
    app.send("p");
    app.wait_text("problems only");
    pause();
    save(&app, &dir, "problems");
    app.send("p");
    pause();

    // Actions: the reconcile menu, then the suspend dialog with its exact patch.
    app.send("/");
    app.send("kind:hr staging/redis");
    app.send("\r");
    app.wait_text("filter: kind:hr staging/redis");
    app.send("G");
    app.send("R");
    app.wait_text("allowed: patch helmreleases");
    pause();
    save(&app, &dir, "reconcile");
    app.escape();
    pause();
    app.send("T");
    app.wait_text("allowed: patch helmreleases");
    pause();
    save(&app, &dir, "suspend");
    app.escape();
    pause();
    app.escape();
    pause();

    // Diffs: values with their origins (grade-api), a revision against the current one
    // (default/backend), and drift after a hand-scale of default/backend's Deployment.
    app.send("/");
    app.send("kind:hr grade-api/grade-api");
    app.send("\r");
    app.wait_text("filter: kind:hr grade-api/grade-api");
    app.send("G");
    // An operator edits the ConfigMap the release takes its values from, with Flux paused
    // (the Kustomization would revert the edit, the HelmRelease would apply it): the row
    // says `values pending`, and `v` shows the one line the next upgrade changes.
    merge_patch(
        &app,
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps",
        r#"{"spec":{"suspend":true}}"#,
    );
    merge_patch(
        &app,
        "/api/v1/namespaces/grade-api/configmaps/grade-api-values",
        r#"{"data":{"values.yaml":"replicaCount: 3\nimage:\n  tag: 0.3.0\n"}}"#,
    );
    merge_patch(
        &app,
        "/apis/helm.toolkit.fluxcd.io/v2/namespaces/grade-api/helmreleases/grade-api",
        r#"{"spec":{"suspend":true}}"#,
    );
    app.wait_text("[values pending]");
    pause();
    save(&app, &dir, "values-pending");
    app.send("v");
    app.wait_text("desired: 2 valuesFrom");
    app.wait_text("replicaCount: 3");
    app.send("n");
    app.wait_text("ConfigMap/grade-api-values[values.yaml]");
    pause();
    save(&app, &dir, "values-diff");
    app.escape();
    pause();
    app.escape();
    pause();
    app.send("/");
    app.send("kind:hr default/backend");
    app.send("\r");
    app.wait_text("filter: kind:hr default/backend");
    app.send("G");
    app.send("H");
    app.wait_text("superseded");
    app.send("G");
    app.send("d");
    app.wait_text("values: revision");
    pause();
    save(&app, &dir, "revision-diff");
    app.escape();
    pause();
    app.escape();
    pause();
    merge_patch(
        &app,
        "/apis/apps/v1/namespaces/default/deployments/backend",
        r#"{"spec":{"replicas":5}}"#,
    );
    app.send("D");
    app.wait_text("Deployment/default/backend changed (0 additions, 1 changes, 0 removals)");
    pause();
    save(&app, &dir, "drift-diff");
    app.escape();
    pause();
    app.escape();
    pause();

    app.send("?");
    app.wait_text("Keys (from the keymap");
    pause();
    save(&app, &dir, "help");
    app.escape();
    pause();

    // Rollback of default/backend: the preview, then (confirmed by name) the banner. Last,
    // as it changes the demo cluster.
    app.send("/");
    app.send("kind:hr default/backend");
    app.send("\r");
    app.wait_text("filter: kind:hr default/backend");
    app.send("G");
    app.send("B");
    app.wait_text("enter previews the rollback");
    app.send("\r");
    app.wait_text("Rollback preview HelmRelease/default/backend");
    pause();
    save(&app, &dir, "rollback-preview");
    app.send("\r");
    app.wait_text("Type the release name backend to confirm:");
    app.send("backend");
    app.send("\r");
    // The demo's controllers keep writing the HelmRelease: a rollback that finds it changed
    // since the preview is refused (as it should be); preview and confirm again.
    for attempt in 0.. {
        let screen = app.wait_for("the rollback's outcome", Duration::from_secs(60), |s| {
            s.lines().any(|l| {
                l.contains("HelmRelease default/backend")
                    && (l.contains("rolled back to") || l.contains("rollback not done"))
            })
        });
        if screen.lines().any(|l| l.contains("rolled back to")) {
            break;
        }
        assert!(attempt < 5, "the rollback kept finding the release changed");
        app.send("B");
        app.wait_text("enter previews the rollback");
        app.send("\r");
        app.wait_text("Rollback preview HelmRelease/default/backend");
        app.send("\r");
        app.wait_text("Type the release name backend to confirm:");
        app.send("backend");
        app.send("\r");
    }
    app.send("\r");
    app.wait_text("Rolled back");
    pause();
    save(&app, &dir, "rollback-banner");
    app.escape();
    pause();
    app.send("q");
    app.wait_exit(Duration::from_secs(30));
}
