//! `fluxdeck tree`, `fluxdeck status` and `fluxdeck why`: print once and exit.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, OutputArgs, OutputFormat, TreeArgs, WhyArgs};
use crate::domain::deps;
use crate::domain::report::{self, TextOptions};
use crate::domain::tree;
use crate::kube::{client, oneshot};

async fn load(
    global: &GlobalArgs,
    managed: bool,
) -> Result<(crate::domain::tree::Snapshot, Vec<String>), String> {
    let conn = client::connect(global.kubeconfig.as_deref(), global.context.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    oneshot::load(&conn, global.namespace.clone(), managed)
        .await
        .map_err(|e| e.to_string())
}

fn print_errors(errors: &[String]) {
    for e in errors {
        eprintln!("warning: {e}");
    }
}

pub async fn tree(global: GlobalArgs, args: TreeArgs) -> ExitCode {
    let (snap, errors) = match load(&global, true).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("fluxdeck tree: {e}");
            return ExitCode::from(2);
        }
    };
    print_errors(&errors);
    let t = tree::build(&snap);
    match args.out.output {
        OutputFormat::Text => print!(
            "{}",
            report::tree_text(
                &t,
                TextOptions {
                    ascii: global.ascii
                }
            )
        ),
        OutputFormat::Json => match serde_json::to_string_pretty(&report::tree_json(&t)) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("fluxdeck tree: {e}");
                return ExitCode::from(2);
            }
        },
    }
    ExitCode::SUCCESS
}

pub async fn status(global: GlobalArgs, args: OutputArgs) -> ExitCode {
    let (snap, errors) = match load(&global, false).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("fluxdeck status: {e}");
            return ExitCode::from(2);
        }
    };
    print_errors(&errors);
    let rep = report::status_report(&snap);
    match args.output {
        OutputFormat::Text => print!(
            "{}",
            rep.text(TextOptions {
                ascii: global.ascii
            })
        ),
        OutputFormat::Json => match serde_json::to_string_pretty(&rep.json()) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("fluxdeck status: {e}");
                return ExitCode::from(2);
            }
        },
    }
    ExitCode::from(rep.exit_code())
}

pub async fn why(global: GlobalArgs, args: WhyArgs) -> ExitCode {
    let key = match report::parse_why_target(&args.object) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("fluxdeck why: {e}");
            return ExitCode::from(2);
        }
    };
    let (snap, errors) = match load(&global, false).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("fluxdeck why: {e}");
            return ExitCode::from(2);
        }
    };
    print_errors(&errors);
    let Some(why) = deps::analyze(&snap).why(&key) else {
        let scope = global
            .namespace
            .as_deref()
            .map_or_else(|| "the cluster".to_string(), |ns| format!("namespace {ns}"));
        eprintln!(
            "fluxdeck why: {} {}/{} not found in {scope}",
            key.kind.kind(),
            key.namespace,
            key.name
        );
        return ExitCode::from(2);
    };
    match args.out.output {
        OutputFormat::Text => print!("{}", report::why_text(&why, global.ascii)),
        OutputFormat::Json => match serde_json::to_string_pretty(&report::why_json(&why)) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("fluxdeck why: {e}");
                return ExitCode::from(2);
            }
        },
    }
    ExitCode::from(report::why_exit_code(&why))
}
