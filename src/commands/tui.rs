//! The TUI (default command) and `fluxdeck demo`: read config, theme and keymap, connect,
//! and report every problem before the terminal switches to the alternate screen.

use std::process::ExitCode;

use crate::cli::{DemoArgs, GlobalArgs};
use crate::config::Config;
use crate::domain::secrets::SecretValues;
use crate::kube::client::{self, Connection, KubeconfigSource};
use crate::runtime::event_loop::{self, TuiOptions};
use crate::runtime::logging;
use crate::sim::cluster::{SimCluster, SimOptions};
use crate::theme::{self, Theme};

struct Setup {
    config: Config,
    theme: Theme,
    /// Kept for the session: logging stops when it is dropped.
    log: Option<logging::LogGuard>,
}

fn load_setup(
    global: &GlobalArgs,
    log: Result<logging::LogGuard, logging::LogError>,
) -> Result<Setup, String> {
    let config = Config::load(global.config.as_deref()).map_err(|e| e.to_string())?;
    let theme_choice = global.theme.clone().or_else(|| config.theme.clone());
    let no_color = theme::no_color_requested(std::env::var_os("NO_COLOR").as_deref());
    let theme = Theme::load(theme_choice.as_deref(), no_color).map_err(|e| e.to_string())?;
    let log = match log {
        Ok(g) => Some(g),
        Err(e) => {
            // Logging is optional: the TUI works without it, but say so before starting.
            eprintln!("fluxdeck: logging disabled: {e}");
            None
        }
    };
    Ok(Setup { config, theme, log })
}

async fn run_tui(
    global: &GlobalArgs,
    setup: Setup,
    conn: Connection,
    kubeconfig: KubeconfigSource,
) -> ExitCode {
    let read_only = setup.config.read_only_for(global.read_only, &conn.context);
    let opts = TuiOptions {
        namespace: global.namespace.clone(),
        read_only,
        theme: setup.theme,
        ascii: global.ascii || setup.config.ascii,
        config: setup.config,
        log_path: setup.log.as_ref().map(|g| g.path().to_path_buf()),
        kubeconfig,
        secret_values: if global.show_secrets {
            SecretValues::Shown
        } else {
            SecretValues::Hidden
        },
    };
    match event_loop::run(conn, opts).await {
        Ok(event_loop::Ended::Quit) => ExitCode::SUCCESS,
        Ok(event_loop::Ended::Signal(s)) => s.exit_code(),
        Err(e) => {
            eprintln!("fluxdeck: terminal error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `fluxdeck` without a subcommand.
pub async fn tui(
    global: GlobalArgs,
    log: Result<logging::LogGuard, logging::LogError>,
) -> ExitCode {
    let setup = match load_setup(&global, log) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fluxdeck: {e}");
            return ExitCode::from(2);
        }
    };
    let conn = match client::connect(global.kubeconfig.as_deref(), global.context.as_deref()).await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fluxdeck: {e}");
            return ExitCode::from(2);
        }
    };
    let kubeconfig = match &global.kubeconfig {
        Some(path) => KubeconfigSource::File(path.clone()),
        None => KubeconfigSource::Default,
    };
    run_tui(&global, setup, conn, kubeconfig).await
}

/// `fluxdeck demo`: the simulated cluster in-process, the TUI on it.
pub async fn demo(
    global: GlobalArgs,
    args: DemoArgs,
    log: Result<logging::LogGuard, logging::LogError>,
) -> ExitCode {
    let setup = match load_setup(&global, log) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fluxdeck demo: {e}");
            return ExitCode::from(2);
        }
    };
    let cluster = match SimCluster::start(SimOptions {
        scenario: args.scenario,
        speed: args.speed,
        ..SimOptions::default()
    })
    .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fluxdeck demo: {e}");
            return ExitCode::from(2);
        }
    };
    // The demo's one context is the simulated cluster's, from its in-memory kubeconfig.
    let kubeconfig = KubeconfigSource::InMemory(cluster.kubeconfig_yaml());
    let conn = match client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml()).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fluxdeck demo: {e}");
            return ExitCode::from(2);
        }
    };
    let code = run_tui(&global, setup, conn, kubeconfig).await;
    cluster.shutdown().await;
    code
}
