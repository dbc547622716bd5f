//! What each subcommand does, called by the thin `main`.

pub mod act;
pub mod diff;
pub mod output;
pub mod report;
pub mod rollback;
pub mod sim;
pub mod tui;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::runtime::{logging, panic, priority};

/// The whole process after parsing the command line: logging to the file, the panic policy
/// (any panic restores the terminal, logs, prints one line and exits 101), the async
/// runtime, the command. Returns the exit code.
pub fn main(cli: Cli) -> ExitCode {
    let log = logging::init_logging(cli.global.log_file.as_deref());
    panic::install(log.as_ref().ok().map(|g| g.path().to_path_buf()));
    // The TUI (and the demo) answer keys first: every runtime thread runs below the main
    // thread, which runs the event loop. The other commands keep normal priority.
    let tui = matches!(cli.command, None | Some(Command::Demo(_)));
    let background = priority::Background::below_current_thread();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || {
            if tui {
                background.apply_to_current_thread();
            }
        })
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fluxdeck: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(run(cli, log));
    // Stop the tasks still running (watches, the simulated cluster) before logging stops.
    drop(runtime);
    code
}

/// Run the parsed command line and return the process exit code. `log` is the file logging
/// set up for the process (kept until the command ends), or why there is none.
pub async fn run(cli: Cli, log: Result<logging::LogGuard, logging::LogError>) -> ExitCode {
    match cli.command {
        Some(Command::Sim(args)) => {
            let ignored = cli.global.not_for_sim();
            if !ignored.is_empty() {
                output::error(&format!(
                    "fluxdeck sim: not for the simulated cluster: {} (see fluxdeck sim --help)",
                    ignored.join(", ")
                ));
                return ExitCode::from(2);
            }
            sim::run(args).await
        }
        Some(Command::Tree(args)) => report::tree(cli.global, args).await,
        Some(Command::Status(args)) => report::status(cli.global, args).await,
        Some(Command::Why(args)) => report::why(cli.global, args).await,
        Some(Command::Reconcile(args)) => act::reconcile(cli.global, args).await,
        Some(Command::Suspend(args)) => act::suspend(cli.global, args).await,
        Some(Command::Resume(args)) => act::resume(cli.global, args).await,
        Some(Command::History(args)) => rollback::history(cli.global, args).await,
        Some(Command::Rollback(args)) => rollback::rollback(cli.global, args).await,
        Some(Command::Diff(args)) => diff::diff(cli.global, args).await,
        Some(Command::Demo(args)) => tui::demo(cli.global, args, log).await,
        None => tui::tui(cli.global, log).await,
    }
}
