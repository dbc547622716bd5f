//! fluxdeck binary: parse the command line and run. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    fluxdeck::commands::main(fluxdeck::cli::parse())
}
