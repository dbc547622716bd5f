//! A panic in a background task ends the process cleanly: the terminal is restored, one line
//! on stderr names the log file, the log has the message and a backtrace, and the exit status
//! is 101. fluxdeck itself has no way to make a task panic on purpose (and should not have
//! one), so this test runs its own child process in a pseudo-terminal: it sets up logging and
//! the panic hook as `fluxdeck` does, takes the terminal like the TUI, and panics in a tokio
//! task.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::path::Path;
use std::time::Duration;

use fluxdeck::runtime::terminal::{TerminalGuard, TerminalOptions};
use fluxdeck::runtime::{logging, panic as panic_policy};
use pty::PtyApp;

const ENTER_ALT: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
const CHILD: &str = "child_panics_in_a_background_task";
const LOG_ENV: &str = "FLUXDECK_PANIC_TEST_LOG";

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// What a child process does first, as `fluxdeck` does: log to the file the parent names,
/// install the panic policy, take the terminal and draw.
fn child_ui() -> (logging::LogGuard, TerminalGuard) {
    let log = std::env::var_os(LOG_ENV).expect("log path");
    let guard = logging::init_logging_with(Some(Path::new(&log)), Some("info")).unwrap();
    panic_policy::install(Some(guard.path().to_path_buf()));
    let mut term = TerminalGuard::enter(TerminalOptions::default()).unwrap();
    term.terminal()
        .unwrap()
        .draw(|f| f.render_widget(ratatui::widgets::Paragraph::new("UI RUNNING"), f.area()))
        .unwrap();
    (guard, term)
}

/// Run the ignored test `child` of this binary in a pseudo-terminal, logging to `log`.
fn spawn_child(child: &str, log: &Path) -> PtyApp {
    let exe = std::env::current_exe().unwrap();
    PtyApp::spawn_program(
        &exe,
        &[
            "--ignored",
            "--exact",
            child,
            "--nocapture",
            "--test-threads=1",
        ],
        100,
        30,
        &[(LOG_ENV, log.to_str().unwrap())],
    )
}

/// The child process (run by the test below, not on its own).
#[test]
#[ignore = "the child process of a_task_panic_restores_logs_and_exits_101"]
fn child_panics_in_a_background_task() {
    let (_guard, term) = child_ui();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!("boom in a background task");
        });
        tokio::time::sleep(Duration::from_secs(20)).await;
    });
    // Only reached when the task's panic was swallowed.
    drop(term);
    println!("STILL RUNNING");
    std::process::exit(0);
}

#[test]
fn a_task_panic_restores_logs_and_exits_101() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fluxdeck.log");
    let mut app = spawn_child(CHILD, &log);
    let code = app.wait_exit(Duration::from_secs(60));
    // Let the reader thread take the last bytes.
    std::thread::sleep(Duration::from_millis(300));
    let raw = app.raw_output();
    let text = String::from_utf8_lossy(&raw).to_string();
    assert_eq!(code, 101, "exit status; output:\n{text}");

    let entered = find_last(&raw, ENTER_ALT).expect("the child took the terminal");
    let left = find_last(&raw, LEAVE_ALT).expect("the terminal was restored");
    assert!(left > entered, "alternate screen left after it was entered");
    let after = String::from_utf8_lossy(&raw[left..]).to_string();
    let expected = format!(
        "fluxdeck: internal error: boom in a background task (details in {})",
        log.display()
    );
    let lines: Vec<&str> = after
        .lines()
        .filter(|l| l.contains("internal error") || l.contains("panicked"))
        .collect();
    assert_eq!(lines.len(), 1, "one line about the panic:\n{after}");
    assert!(lines[0].ends_with(&expected), "{:?}", lines[0]);
    assert!(!text.contains("STILL RUNNING"), "{text}");

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("internal error (panic)") && logged.contains("boom in a background task"),
        "{logged}"
    );
    assert!(
        logged.contains("panic_exit::child_panics_in_a_background_task"),
        "a backtrace with the panicking frames:\n{logged}"
    );
}

/// The child process of the test below: the UI runs, then its terminal goes away (every
/// write to stdout and stderr fails, as after an SSH session dropped) and the UI gives the
/// terminal back.
#[test]
#[ignore = "the child process of a_terminal_that_went_away_is_released_without_a_panic"]
fn child_loses_its_terminal() {
    let (guard, term) = child_ui();
    std::thread::sleep(Duration::from_millis(200));
    // A pipe nobody reads: every write fails (EPIPE; Rust ignores SIGPIPE). A closed
    // descriptor would not do: Rust's standard streams ignore writes to one.
    let (reader, gone) = std::io::pipe().unwrap();
    drop(reader);
    rustix::stdio::dup2_stdout(&gone).unwrap();
    rustix::stdio::dup2_stderr(&gone).unwrap();
    drop(term);
    tracing::info!("TERMINAL RELEASED");
    drop(guard);
    std::process::exit(0);
}

#[test]
fn a_terminal_that_went_away_is_released_without_a_panic() {
    const CHILD_GONE: &str = "child_loses_its_terminal";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fluxdeck.log");
    let mut app = spawn_child(CHILD_GONE, &log);
    let code = app.wait_exit(Duration::from_secs(60));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 0, "exit status; log:\n{logged}");
    assert!(logged.contains("TERMINAL RELEASED"), "{logged}");
    assert!(!logged.contains("internal error"), "{logged}");
}
