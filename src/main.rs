//! fluxdeck binary: parse the command line and run. Everything else lives in the library.

use std::process::ExitCode;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    fluxdeck::commands::main(fluxdeck::cli::parse())
}
