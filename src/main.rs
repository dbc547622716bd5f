//! fluxdeck binary: parse the command line and run. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fluxdeck::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fluxdeck: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(fluxdeck::commands::run(cli))
}
