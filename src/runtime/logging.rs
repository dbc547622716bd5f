//! Logging through `tracing` to a file, never to the terminal (it would corrupt the screen).
//!
//! The default file is `$XDG_STATE_HOME/fluxdeck/fluxdeck.log` (or
//! `~/.local/state/fluxdeck/fluxdeck.log`); `FLUXDECK_LOG` sets the filter (`info` by default,
//! any `tracing` env-filter directive such as `fluxdeck=debug,kube=warn`).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::config::{APP_DIR, home_dir, xdg_dir};

/// The environment variable holding the log filter.
pub const LOG_ENV: &str = "FLUXDECK_LOG";
/// The filter used when `FLUXDECK_LOG` is unset or empty.
pub const DEFAULT_FILTER: &str = "info";
const LOG_FILE: &str = "fluxdeck.log";

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("no log file path: neither XDG_STATE_HOME nor a home directory is known")]
    NoPath,
    #[error("cannot create log directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot open log file {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{LOG_ENV}={value:?} is not a valid log filter: {message}")]
    Filter { value: String, message: String },
    #[error("a global logger is already installed")]
    AlreadySet,
}

/// The background log writer of the global logger; dropping it flushes the file.
static WORKER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Keeps the background log writer alive; dropping it flushes the file.
#[must_use = "logs are flushed and stop when the guard is dropped"]
pub struct LogGuard {
    path: PathBuf,
}

impl LogGuard {
    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        flush();
    }
}

/// Write out what is queued for the log file and stop the background writer (lines logged
/// afterwards are dropped). For the way out of the process, e.g. before exiting on a panic.
pub fn flush() {
    let worker = match WORKER.try_lock() {
        Ok(mut w) => w.take(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().take(),
        Err(std::sync::TryLockError::WouldBlock) => None,
    };
    drop(worker);
}

/// The log file path for a given environment and home directory.
pub fn log_path_in(env: &dyn Fn(&str) -> Option<OsString>, home: Option<&Path>) -> Option<PathBuf> {
    xdg_dir("XDG_STATE_HOME", ".local/state", env, home).map(|d| d.join(APP_DIR).join(LOG_FILE))
}

/// The audit log of actions (beside the log file): `$XDG_STATE_HOME/fluxdeck/audit.log`.
pub fn default_audit_path() -> Option<PathBuf> {
    xdg_dir(
        "XDG_STATE_HOME",
        ".local/state",
        &|v| std::env::var_os(v),
        home_dir().as_deref(),
    )
    .map(|d| d.join(APP_DIR).join("audit.log"))
}

/// The default log file path, for `--help` and the help screen.
pub fn default_log_path() -> Option<PathBuf> {
    log_path_in(&|v| std::env::var_os(v), home_dir().as_deref())
}

fn open_log(path: &Path) -> Result<File, LogError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| LogError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LogError::Open {
            path: path.to_path_buf(),
            source,
        })
}

fn parse_filter(filter: Option<&str>) -> Result<EnvFilter, LogError> {
    let value = filter
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or(DEFAULT_FILTER);
    EnvFilter::try_new(value).map_err(|e| LogError::Filter {
        value: value.to_string(),
        message: e.to_string(),
    })
}

/// Lines the background writer holds before dropping new ones.
const LOG_BUFFERED_LINES: usize = 4096;

/// A subscriber writing plain lines (no ANSI colours) to `file` through a background thread.
fn file_subscriber(
    file: File,
    filter: EnvFilter,
) -> (
    impl tracing::Subscriber + Send + Sync + 'static,
    WorkerGuard,
) {
    // The channel's slots are allocated up front: the default (128,000 lines) holds 4 MB for
    // a log that writes a few lines a minute. Lines beyond the limit are dropped, not waited
    // for.
    let (writer, worker) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_BUFFERED_LINES)
        .lossy(true)
        .finish(file);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .finish();
    (subscriber, worker)
}

/// Send `tracing` output to `path` (default: [`default_log_path`]) with the filter from
/// `FLUXDECK_LOG`. Keep the guard until exit.
pub fn init_logging(path: Option<&Path>) -> Result<LogGuard, LogError> {
    let filter = std::env::var(LOG_ENV).ok();
    init_logging_with(path, filter.as_deref())
}

/// As [`init_logging`], with the filter given.
pub fn init_logging_with(path: Option<&Path>, filter: Option<&str>) -> Result<LogGuard, LogError> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => default_log_path().ok_or(LogError::NoPath)?,
    };
    let filter = parse_filter(filter)?;
    let file = open_log(&path)?;
    let (subscriber, worker) = file_subscriber(file, filter);
    tracing::subscriber::set_global_default(subscriber).map_err(|_| LogError::AlreadySet)?;
    match WORKER.lock() {
        Ok(mut w) => *w = Some(worker),
        Err(p) => *p.into_inner() = Some(worker),
    }
    Ok(LogGuard { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_path_respects_xdg_state_home() {
        let home = Path::new("/home/u");
        let env = |v: &str| (v == "XDG_STATE_HOME").then(|| OsString::from("/xdg/state"));
        assert_eq!(
            log_path_in(&env, Some(home)).unwrap(),
            Path::new("/xdg/state/fluxdeck/fluxdeck.log")
        );
        let none = |_: &str| None;
        assert_eq!(
            log_path_in(&none, Some(home)).unwrap(),
            Path::new("/home/u/.local/state/fluxdeck/fluxdeck.log")
        );
        assert_eq!(log_path_in(&none, None), None);
    }

    #[test]
    fn bad_filter_is_reported() {
        let err = parse_filter(Some("fluxdeck=loud")).unwrap_err();
        assert!(
            err.to_string().contains("FLUXDECK_LOG=\"fluxdeck=loud\""),
            "{err}"
        );
        assert!(parse_filter(None).is_ok());
        assert!(parse_filter(Some("  ")).is_ok());
    }

    fn write_logs(filter: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/fluxdeck.log");
        let file = open_log(&path).unwrap();
        let (subscriber, worker) = file_subscriber(file, parse_filter(Some(filter)).unwrap());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(kind = "HelmRelease", "watch started");
            tracing::debug!("relist done");
        });
        drop(worker);
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn logs_go_to_the_file_through_the_filter() {
        let info = write_logs("info");
        assert!(info.contains("watch started"), "{info}");
        assert!(info.contains("kind=\"HelmRelease\""), "{info}");
        assert!(!info.contains("relist done"), "{info}");
        assert!(!info.contains('\x1b'), "no ANSI escapes in the file");

        let debug = write_logs("debug");
        assert!(debug.contains("relist done"), "{debug}");
    }
}
