//! What each subcommand does, called by the thin `main`.

pub mod output;
pub mod report;
pub mod sim;
pub mod tui;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Run the parsed command line and return the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Sim(args)) => sim::run(args).await,
        Some(Command::Tree(args)) => report::tree(cli.global, args).await,
        Some(Command::Status(args)) => report::status(cli.global, args).await,
        Some(Command::Why(args)) => report::why(cli.global, args).await,
        Some(Command::Demo(args)) => tui::demo(cli.global, args).await,
        None => tui::tui(cli.global).await,
    }
}
