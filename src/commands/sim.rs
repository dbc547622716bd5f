//! `fluxdeck sim`: run the simulated cluster until SIGINT, SIGTERM or SIGHUP, then exit with
//! 128 + the signal number, as a process ended by that signal.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::SimArgs;
use crate::runtime::terminal::Signals;
use crate::sim::cluster::{SimCluster, SimOptions};
use crate::sim::kubeconfig;

pub async fn run(args: SimArgs) -> ExitCode {
    let opts = SimOptions {
        listen: args.listen,
        scenario: args.scenario,
        speed: args.speed,
        access_log: args.access_log,
    };
    let cluster = match SimCluster::start(opts).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fluxdeck sim: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.kubeconfig_out
        && let Err(e) = kubeconfig::write_kubeconfig(path, &cluster.url())
    {
        eprintln!(
            "fluxdeck sim: cannot write kubeconfig {}: {e}",
            path.display()
        );
        cluster.shutdown().await;
        return ExitCode::from(2);
    }
    // Listen before announcing READY, so a signal right after it is not lost.
    let signals = Signals::new();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "READY {}", cluster.url());
    let _ = out.flush();
    let code = match signals {
        Ok(mut signals) => wait_for_termination(&mut signals).await,
        Err(e) => {
            super::output::error(&format!("fluxdeck sim: cannot listen for signals: {e}"));
            ExitCode::from(2)
        }
    };
    cluster.shutdown().await;
    code
}

/// Wait for SIGINT, SIGTERM or SIGHUP; the exit status is 128 + its number.
async fn wait_for_termination(signals: &mut Signals) -> ExitCode {
    loop {
        match signals.recv().await {
            Some(sig) if sig.is_termination() => return sig.exit_code(),
            Some(_) => {}
            None => return ExitCode::from(2),
        }
    }
}
