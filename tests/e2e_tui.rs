//! End to end: the built binary runs `fluxdeck demo` in a pseudo-terminal; the tests type keys
//! and read the screen as a person would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::time::Duration;

use pty::PtyApp;

const ENTER_ALT: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT: &[u8] = b"\x1b[?1049l";

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The terminal was handed back: the alternate screen was left after it was last entered.
fn assert_restored(app: &PtyApp) {
    let raw = app.raw_output();
    let entered = find_last(&raw, ENTER_ALT).expect("the TUI entered the alternate screen");
    let left = find_last(&raw, LEAVE_ALT).expect("the TUI left the alternate screen");
    assert!(left > entered, "alternate screen not left at exit");
}

/// The screen line that shows `object`.
fn row<'a>(screen: &'a str, object: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(object))
        .unwrap_or_else(|| panic!("no row for {object}:\n{screen}"))
}

/// Filter to one HelmRelease, open its why view, return the screen and go back to the
/// unfiltered tree.
fn why_of(app: &mut PtyApp, object: &str) -> String {
    app.send("/");
    app.send(&format!("kind:hr {object}"));
    app.send("\r");
    app.wait_text(&format!("filter: kind:hr {object}"));
    app.send("G");
    app.send("w");
    let title = format!("Why HelmRelease/{object}");
    let screen = app.wait_for(&title, Duration::from_secs(30), |s| {
        s.contains(&title) && s.contains("Upstream")
    });
    app.escape();
    app.escape();
    app.wait_for("the tree without filter", Duration::from_secs(30), |s| {
        !s.contains("filter:") && s.contains("flux-system/apps")
    });
    screen
}

fn demo(extra: &[&str], cols: u16, rows: u16) -> PtyApp {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["demo", "--speed", "60"]);
    PtyApp::spawn(&args, cols, rows, &[])
}

#[test]
fn demo_tree_navigate_filter_problems_help_quit() {
    let mut app = demo(&[], 160, 48);
    let screen = app.wait_text("ctx fluxdeck-sim");
    assert!(screen.contains("fluxdeck"), "{screen}");
    app.wait_text("flux-system/apps");
    // The demo settles into its known problems: a failed install blocking its dependent,
    // and a dependency cycle.
    // (staging/redis retries its install first; the block is final once retries run out.)
    let screen = app.wait_for(
        "staging/redis to run out of retries",
        Duration::from_secs(120),
        |s| {
            s.lines().any(|l| {
                l.contains("HelmRelease staging/backend")
                    && l.contains("Blocked by staging/redis: RetriesExceeded")
            })
        },
    );
    let backend = row(&screen, "HelmRelease staging/backend");
    assert!(backend.contains("⊘ Blocked"), "{screen}");
    assert!(backend.contains("Blocked by staging/redis"), "{screen}");
    let screen = app.wait_text("Dependency cycle: loop/backend → loop/redis → loop/backend");
    assert!(
        row(&screen, "HelmRelease loop/backend").contains("↻ Cycle"),
        "{screen}"
    );
    assert!(screen.contains("connected"), "{screen}");

    // Filter as you type; Esc clears it.
    app.send("/");
    app.send("graf");
    let screen = app.wait_text("filter: graf");
    assert!(screen.contains("HelmRelease default/grafana"), "{screen}");
    assert!(screen.contains("Deployment default/grafana"), "{screen}");
    assert!(!screen.contains("loop/backend"), "{screen}");
    app.send("\r");
    app.escape();
    app.wait_for("the filter cleared", Duration::from_secs(30), |s| {
        !s.contains("filter: graf") && s.contains("HelmRelease loop/backend")
    });

    // Details of the root Kustomization.
    app.send("g");
    app.send("\r");
    let screen = app.wait_text("Kustomization/flux-system/flux-system");
    assert!(screen.contains("Details"), "{screen}");
    assert!(screen.contains("Conditions"), "{screen}");
    app.escape();
    app.wait_for("details closed", Duration::from_secs(30), |s| {
        !s.contains("Details")
    });

    // Collapse the root: its subtree is summarised; expand again.
    app.send("h");
    let screen = app.wait_for("the root collapsed", Duration::from_secs(30), |s| {
        !s.contains("flux-system/apps")
    });
    assert!(screen.contains("▸ "), "{screen}");
    app.send("l");
    app.wait_text("flux-system/apps");

    // Problems mode: only what is unhealthy, with its ancestors.
    app.send("p");
    let screen = app.wait_text("problems only");
    assert!(screen.contains("HelmRelease staging/redis"), "{screen}");
    assert!(!screen.contains("HelmRelease default/grafana"), "{screen}");
    app.send("p");
    app.wait_for("problems mode off", Duration::from_secs(30), |s| {
        !s.contains("problems only") && s.contains("HelmRelease default/grafana")
    });

    // Why: the chain to the root cause, for a blocked release, a cycle and a ready one
    // with a dependency in another namespace.
    let screen = why_of(&mut app, "staging/backend");
    assert!(
        screen.contains("HelmRelease/staging/backend  ⊘ Blocked"),
        "{screen}"
    );
    assert!(
        screen.contains("1. HelmRelease/staging/backend → HelmRelease/staging/redis"),
        "{screen}"
    );
    assert!(screen.contains("dependsOn: Ready is not True"), "{screen}");
    assert!(
        screen.contains("RetriesExceeded: Failed to install after 3 attempt(s)"),
        "{screen}"
    );
    let screen = why_of(&mut app, "loop/backend");
    assert!(
        screen.contains("HelmRelease/loop/backend  ↻ Cycle"),
        "{screen}"
    );
    assert!(
        screen.contains("loop/backend → loop/redis → loop/backend"),
        "{screen}"
    );
    let screen = why_of(&mut app, "default/grafana");
    assert!(
        screen.contains("HelmRelease/default/grafana  ✓ Ready"),
        "{screen}"
    );
    assert!(
        row(&screen, "HelmRelease/monitoring/prometheus").contains("dependsOn, other namespace"),
        "{screen}"
    );

    // Help, generated from the keymap.
    app.send("?");
    let screen = app.wait_text("Keys (from the keymap");
    assert!(screen.contains("problems"), "{screen}");
    assert!(screen.contains("q, ctrl-c"), "{screen}");
    app.escape();
    app.wait_text("flux-system/apps");

    app.send("q");
    assert_eq!(app.wait_exit(Duration::from_secs(30)), 0);
    assert_restored(&app);
}

#[test]
fn read_only_badge_tiny_terminal_and_sigterm() {
    let mut app = demo(&["--read-only"], 80, 24);
    let screen = app.wait_text("READ-ONLY");
    assert!(screen.contains("fluxdeck"), "{screen}");
    app.wait_text("staging/redis");

    app.resize(30, 8);
    app.wait_text("terminal too small");
    app.resize(100, 30);
    app.wait_for("the tree again", Duration::from_secs(30), |s| {
        !s.contains("terminal too small") && s.contains("staging/redis")
    });

    // `:ns` restarts the watches on one namespace.
    app.send(":");
    app.send("ns staging\r");
    let screen = app.wait_for("the staging namespace", Duration::from_secs(30), |s| {
        s.contains("ns staging")
            && s.contains("HelmRelease staging/redis")
            && !s.contains("default/grafana")
    });
    // Its Kustomization lives in flux-system, outside the view.
    assert!(
        screen.contains("Applied by Kustomization flux-system/staging"),
        "{screen}"
    );

    let pid = app.pid().expect("pid");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    app.wait_exit(Duration::from_secs(30));
    assert_restored(&app);
}

#[test]
fn problems_before_start_are_printed_without_drawing() {
    let mut app = PtyApp::spawn(&["--kubeconfig", "/nonexistent/kubeconfig"], 80, 24, &[]);
    assert_eq!(app.wait_exit(Duration::from_secs(30)), 2);
    let screen = app.screen();
    assert!(
        screen.contains("cannot read kubeconfig /nonexistent/kubeconfig"),
        "{screen}"
    );
    assert!(find_last(&app.raw_output(), ENTER_ALT).is_none());

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "theme: dark\nreadOnly: maybe\n").unwrap();
    let path = config.to_str().unwrap();
    let mut app = PtyApp::spawn(&["--config", path, "demo"], 80, 24, &[]);
    assert_eq!(app.wait_exit(Duration::from_secs(30)), 2);
    let screen = app.screen().replace('\n', "");
    assert!(screen.contains("config.yaml"), "{screen}");
    assert!(screen.contains("line 2"), "{screen}");
    assert!(find_last(&app.raw_output(), ENTER_ALT).is_none());
}

/// A simulated cluster in this process (its faults can be changed while the TUI runs), and a
/// kubeconfig file pointing at it.
struct Sim {
    runtime: tokio::runtime::Runtime,
    cluster: Option<fluxdeck::sim::cluster::SimCluster>,
    _dir: tempfile::TempDir,
    kubeconfig: String,
}

impl Sim {
    fn start() -> Sim {
        Sim::start_with(false)
    }

    /// With an access log of every request the server answered ([`Sim::requests`]).
    fn start_logged() -> Sim {
        Sim::start_with(true)
    }

    fn start_with(access_log: bool) -> Sim {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cluster = runtime
            .block_on(fluxdeck::sim::cluster::SimCluster::start(
                fluxdeck::sim::cluster::SimOptions {
                    scenario: "demo".into(),
                    speed: 60.0,
                    access_log: access_log.then(|| dir.path().join("access.log")),
                    ..Default::default()
                },
            ))
            .unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, cluster.kubeconfig_yaml()).unwrap();
        Sim {
            runtime,
            cluster: Some(cluster),
            _dir: dir,
            kubeconfig: path.to_string_lossy().into_owned(),
        }
    }

    fn faults(&self) -> &fluxdeck::sim::faults::Faults {
        &self.cluster.as_ref().unwrap().faults
    }

    fn tui(&self) -> PtyApp {
        self.tui_with(&[])
    }

    fn tui_with(&self, extra: &[&str]) -> PtyApp {
        let mut args = vec!["--kubeconfig", self.kubeconfig.as_str()];
        args.extend(extra);
        PtyApp::spawn(&args, 120, 40, &[])
    }

    /// The requests the server answered, as `METHOD path`.
    fn requests(&self) -> Vec<String> {
        let path = self._dir.path().join("access.log");
        fluxdeck::sim::server::read_access_log(&path)
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            self.runtime.block_on(c.shutdown());
        }
    }
}

#[test]
fn keys_answer_while_a_switch_waits_on_a_slow_server() {
    let sim = Sim::start();
    let mut app = sim.tui();
    app.wait_text("flux-system/apps");
    // Every request now takes a minute: the switch cannot finish while the test runs.
    sim.faults().update(|f| f.latency_ms = 60_000);
    app.send(":ns default\r");
    app.wait_text("switching to default");
    // The old view stays usable: the cursor moves, help opens and closes.
    app.send("?");
    app.wait_text("Keys");
    app.escape();
    app.wait_text("flux-system/apps");
    // The header keeps saying so after the flash has gone.
    app.wait_for(
        "the flash gone, the header still switching",
        Duration::from_secs(30),
        |s| !s.contains("switching to default…") && s.contains("switching to namespace default"),
    );
    // And quitting does not wait for the switch (a frozen loop would take minutes).
    app.send("q");
    assert_eq!(app.wait_exit(Duration::from_secs(20)), 0);
    assert_restored(&app);
    sim.faults().update(|f| f.latency_ms = 0);
}

#[test]
fn termination_signals_exit_with_128_plus_the_signal() {
    let sim = Sim::start();
    for (signal, code) in [("TERM", 143), ("HUP", 129), ("INT", 130)] {
        let mut app = sim.tui();
        app.wait_text("flux-system/apps");
        let pid = app.pid().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            app.wait_exit(Duration::from_secs(20)),
            code,
            "exit status after SIG{signal}"
        );
        assert_restored(&app);
    }
}

/// Filter the tree to one HelmRelease and select it (the last row: its parents come first).
fn select_release(app: &mut PtyApp, object: &str) {
    app.send("/");
    app.send(&format!("kind:hr {object}"));
    app.send("\r");
    app.wait_text(&format!("filter: kind:hr {object}"));
    app.send("G");
}

/// The row of the HelmRelease `object` on the screen, if shown.
fn release_row(screen: &str, object: &str) -> Option<String> {
    let label = format!("HelmRelease {object}");
    screen
        .lines()
        .find(|l| l.contains(&label))
        .map(str::to_string)
}

#[test]
fn suspend_resume_and_reconcile_from_the_keyboard() {
    let sim = Sim::start_logged();
    let mut app = sim.tui();
    app.wait_text("flux-system/apps");
    select_release(&mut app, "staging/backend");

    // T: the dialog names the object and the context and shows the patch; y sends it.
    app.send("T");
    let screen = app.wait_text("Suspend HelmRelease/staging/backend");
    assert!(screen.contains("in context fluxdeck-sim"), "{screen}");
    assert!(screen.contains(r#""suspend": true"#), "{screen}");
    assert!(screen.contains("flux-client-side-apply"), "{screen}");
    // The dialog asked the API server whether the session may patch; confirm once allowed.
    app.wait_text("allowed: patch helmreleases.helm.toolkit.fluxcd.io in namespace staging");
    app.send("y");
    let screen = app.wait_for("staging/backend suspended", Duration::from_secs(60), |s| {
        release_row(s, "staging/backend").is_some_and(|r| r.contains("‖ Suspended"))
    });
    let reviews = |reqs: &[String]| {
        reqs.iter()
            .filter(|r| r.contains("/selfsubjectaccessreviews"))
            .count()
    };
    let writes: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect();
    assert_eq!(reviews(&writes), 1, "one access review: {writes:#?}");
    let patches: Vec<String> = writes
        .into_iter()
        .filter(|r| !r.contains("/selfsubjectaccessreviews"))
        .collect();
    assert_eq!(patches.len(), 1, "{patches:#?}\n{screen}");
    assert!(
        patches[0].starts_with(
            "PATCH /apis/helm.toolkit.fluxcd.io/v2/namespaces/staging/helmreleases/backend?"
        ),
        "{patches:#?}"
    );

    // T again: resume, confirmed; the row leaves Suspended and shows the action.
    app.send("T");
    let screen = app.wait_text("Resume HelmRelease/staging/backend");
    assert!(screen.contains(r#""suspend": null"#), "{screen}");
    app.send("y");
    let screen = app.wait_for("staging/backend resumed", Duration::from_secs(60), |s| {
        release_row(s, "staging/backend")
            .is_some_and(|r| !r.contains("Suspended") && r.contains("resume"))
    });
    assert!(
        !screen.contains("Resume HelmRelease"),
        "dialog closed: {screen}"
    );
    // Still blocked by staging/redis, so the resume waits for Flux: a second action on the
    // same object is refused until it ends.
    app.send("R");
    app.wait_text("reconcile: resume is still running on HelmRelease/staging/backend");

    // R on the root cause: the menu, then reconcile; the row shows the outcome.
    app.send("\x1b");
    app.wait_for("the filter cleared", Duration::from_secs(30), |s| {
        !s.contains("filter: kind:hr")
    });
    select_release(&mut app, "staging/redis");
    app.send("R");
    let screen = app.wait_text("Reconcile HelmRelease/staging/redis");
    assert!(screen.contains("reset remediation retries"), "{screen}");
    app.wait_text("allowed: patch helmreleases");
    app.send("r");
    let screen = app.wait_for(
        "the outcome of the reconcile",
        Duration::from_secs(90),
        |s| {
            release_row(s, "staging/redis")
                .is_some_and(|r| r.contains("reconcile failed:") || r.contains("reconcile done:"))
        },
    );
    let writes: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect();
    assert_eq!(
        reviews(&writes),
        1,
        "one access review per kind and namespace (both releases are in staging): {writes:#?}"
    );
    let writes: Vec<String> = writes
        .into_iter()
        .filter(|r| !r.contains("/selfsubjectaccessreviews"))
        .collect();
    assert_eq!(
        writes.len(),
        3,
        "suspend, resume, reconcile: {writes:#?}\n{screen}"
    );
    assert!(
        writes[2].contains("/namespaces/staging/helmreleases/redis?"),
        "{writes:#?}"
    );
    app.send("q");
    assert_eq!(app.wait_exit(Duration::from_secs(30)), 0);
    assert_restored(&app);
}

#[test]
fn read_only_keys_send_nothing() {
    let sim = Sim::start_logged();
    let mut app = sim.tui_with(&["--read-only"]);
    app.wait_text("READ-ONLY");
    app.wait_text("flux-system/apps");
    select_release(&mut app, "staging/backend");
    app.send("R");
    let screen = app.wait_text("read-only: --read-only (reconcile is unavailable)");
    assert!(
        !screen.contains("Reconcile HelmRelease"),
        "no menu: {screen}"
    );
    app.send("T");
    let screen = app.wait_text("read-only: --read-only (suspend-resume is unavailable)");
    assert!(
        !screen.contains("Suspend HelmRelease"),
        "no dialog: {screen}"
    );
    // Enter and y would confirm a dialog: none is open, so they open the details and the YAML.
    app.send("y");
    app.wait_text("YAML");
    app.send("q");
    assert_eq!(app.wait_exit(Duration::from_secs(30)), 0);
    let requests = sim.requests();
    assert!(!requests.is_empty(), "the access log is written");
    let not_get: Vec<&String> = requests.iter().filter(|r| !r.starts_with("GET ")).collect();
    assert!(not_get.is_empty(), "only GETs: {not_get:#?}");
    assert!(
        !requests
            .iter()
            .any(|r| r.contains("selfsubjectaccessreviews")),
        "no access review either"
    );
}
