//! What a panic does to the process: wherever it happens (the UI task, a background task, a
//! thread of its own), fluxdeck stops. The hook logs the message and a backtrace, restores the
//! terminal if the UI had it, prints one line naming the log file on stderr, and exits with
//! status 101. Without it tokio would catch a task's panic and leave the rest running. The
//! one exception: panics inside `domain::contain::contain`, which its caller handles.

use std::backtrace::Backtrace;
use std::io::Write;
use std::panic::PanicHookInfo;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{logging, terminal};

/// The exit status after a panic (the one Rust uses for a panicking main thread).
pub const EXIT_STATUS: i32 = 101;

static INSTALLED: AtomicBool = AtomicBool::new(false);
static LOG_PATH: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Whether [`install`] has run (the terminal guard then adds no hook of its own).
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}

/// Make every panic end the process as described above. `log_path` is the file logging
/// writes to (`None` when logging is off). Installed once however often it is called.
pub fn install(log_path: Option<PathBuf>) {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = LOG_PATH.set(log_path);
    std::panic::set_hook(Box::new(on_panic));
}

/// The panic message (the payload of `panic!` and friends).
fn message_of(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".to_string())
}

/// The one line printed on stderr.
pub fn stderr_line(message: &str, location: &str, log_path: Option<&Path>) -> String {
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match log_path {
        Some(p) => format!(
            "fluxdeck: internal error: {message} (details in {})",
            p.display()
        ),
        None => format!("fluxdeck: internal error: {message} at {location} (logging is off)"),
    }
}

fn on_panic(info: &PanicHookInfo<'_>) {
    let message = message_of(info);
    let location = info
        .location()
        .map_or_else(|| "unknown location".to_string(), ToString::to_string);
    if crate::domain::contain::is_contained() {
        // Caught by the code that ran it (see `domain::contain`): note it and carry on.
        tracing::warn!("contained panic at {location}: {message}");
        return;
    }
    let thread = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string();
    let backtrace = Backtrace::force_capture();
    tracing::error!(
        "internal error (panic) in thread {thread} at {location}: {message}\n{backtrace}"
    );
    logging::flush();
    // Hold stdout from here to the exit, so no other thread draws over the shell once the
    // terminal is given back.
    let _stdout = std::io::stdout().lock();
    let _ = terminal::restore_terminal();
    let log_path = LOG_PATH.get().and_then(Option::as_deref);
    let line = stderr_line(&message, &location, log_path);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
    std::process::exit(EXIT_STATUS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_the_log_file() {
        let line = stderr_line(
            "cannot\nsleep that long",
            "src/x.rs:1:2",
            Some(Path::new("/tmp/fluxdeck.log")),
        );
        assert_eq!(
            line,
            "fluxdeck: internal error: cannot sleep that long (details in /tmp/fluxdeck.log)"
        );
        let line = stderr_line("boom", "src/x.rs:1:2", None);
        assert_eq!(
            line,
            "fluxdeck: internal error: boom at src/x.rs:1:2 (logging is off)"
        );
        assert!(!line.contains('\n'));
    }
}
