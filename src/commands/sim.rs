//! `fluxdeck sim`: run the simulated cluster until SIGINT/SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::SimArgs;
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
    let mut out = std::io::stdout();
    let _ = writeln!(out, "READY {}", cluster.url());
    let _ = out.flush();
    wait_for_shutdown().await;
    cluster.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
