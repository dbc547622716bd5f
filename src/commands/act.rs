//! `fluxdeck reconcile`, `suspend` and `resume`: the keys' actions for scripts and runbooks,
//! with the same code ([`crate::actions::run`]). Exit 0: done and Ready; 1: it ran and the
//! object ended failed or the wait timed out; 2: it could not run (bad target, not found,
//! forbidden, suspended, read-only, no connection).

use std::process::ExitCode;
use std::sync::Arc;

use super::output::{error, finish};
use super::report::CONNECT_LIMIT;
use crate::actions::audit::Audit;
use crate::actions::intent::{Intent, ReconcileMode};
use crate::actions::run::{self, Progress};
use crate::actions::writer::{Writer, label};
use crate::cli::{GlobalArgs, ReconcileArgs, ResumeArgs, TargetArgs};
use crate::config::Config;
use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::text::sanitize_line;
use crate::kube::client::{self, Connection};
use crate::kube::discovery::Discovery;

/// `KIND/NAMESPACE/NAME` with any Flux kind name, plural or short name (`hr/apps/web`).
pub fn parse_target(text: &str) -> Result<ObjectKey, String> {
    let parts: Vec<&str> = text.split('/').collect();
    let [kind, ns, name] = parts.as_slice() else {
        return Err(format!(
            "{text:?}: expected KIND/NAMESPACE/NAME, e.g. hr/apps/web or ks/flux-system/apps"
        ));
    };
    let kind = FluxKind::parse(kind).ok_or_else(|| {
        format!(
            "{kind:?} is not a Flux kind (hr, ks, gitrepo, ocirepo, helmrepo, hc, bucket or their names)"
        )
    })?;
    if ns.is_empty() || name.is_empty() {
        return Err(format!("{text:?}: namespace and name must not be empty"));
    }
    crate::cli::namespace_name(ns)?;
    Ok(ObjectKey::flux(kind, ns, name))
}

pub(super) fn fail(cmd: &str, message: &str) -> ExitCode {
    error(&format!("fluxdeck {cmd}: {}", sanitize_line(message)));
    ExitCode::from(2)
}

/// The connection and the session's writer for a command that writes: the config is read,
/// and a read-only session (the flag, `readOnly: true`, or a `readOnlyContexts` match once the
/// context is known) is refused before anything is sent. `Err` is the exit code, the reason
/// already printed.
pub(super) async fn writer_session(
    cmd: &str,
    global: &GlobalArgs,
) -> Result<(Connection, Writer), ExitCode> {
    let refuse = |reason: String| {
        fail(
            cmd,
            &format!("read-only ({reason}): nothing is written to the cluster"),
        )
    };
    let config = Config::load(global.config.as_deref()).map_err(|e| fail(cmd, &e.to_string()))?;
    // Read-only is known from the flag and the config before anything is sent; a
    // `readOnlyContexts` match needs the context name, which connecting resolves (reading
    // the kubeconfig and `/version`, both reads).
    if let Some(reason) = config.read_only_for(global.read_only, "") {
        return Err(refuse(reason.to_string()));
    }
    let conn = client::connect_within(
        global.kubeconfig.as_deref(),
        global.context.as_deref(),
        CONNECT_LIMIT,
    )
    .await
    .map_err(|e| fail(cmd, &e.to_string()))?;
    let discovery = Arc::new(Discovery::new(conn.client.clone()));
    let read_only = config.read_only_for(global.read_only, &conn.context);
    match Writer::for_session(conn.client.clone(), discovery, read_only.as_ref()) {
        Some(writer) => Ok((conn, writer)),
        None => Err(refuse(read_only.map(|r| r.to_string()).unwrap_or_default())),
    }
}

async fn execute(
    cmd: &str,
    global: &GlobalArgs,
    intent: Intent,
    timeout: std::time::Duration,
) -> ExitCode {
    let (conn, writer) = match writer_session(cmd, global).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut report = |p: Progress| {
        let line = match p {
            Progress::Requested { key, step, of } if of > 1 => {
                format!("► step {step}/{of}: reconciling {}", label(&key))
            }
            Progress::Requested { key, .. } => {
                format!("► reconcile requested, waiting for {}", label(&key))
            }
            Progress::Skipped { key } => format!("► {} is static: skipped", label(&key)),
            Progress::StepDone { key, message } => format!("✔ {}: {message}", label(&key)),
            Progress::Rollback(p) => format!("► {p}"),
        };
        error(&sanitize_line(&line));
    };
    let result = run::run(&writer, &intent, timeout, &mut report).await;
    let summary = match &result {
        Ok(o) if o.ok => format!("ok: {}", o.message),
        Ok(o) => format!("failed: {}", o.message),
        Err(e) => format!("error: {e}"),
    };
    Audit::default_file().record(&conn.context, &intent, &summary);
    match result {
        Ok(o) if o.ok => finish(
            &format!(
                "{}: {}\n",
                label(intent.target()),
                sanitize_line(&o.message)
            ),
            ExitCode::SUCCESS,
        ),
        Ok(o) => {
            error(&format!("fluxdeck {cmd}: {}", sanitize_line(&o.message)));
            ExitCode::from(1)
        }
        Err(e) => fail(cmd, &e.to_string()),
    }
}

/// `fluxdeck reconcile KIND/NS/NAME [--with-source] [--force|--reset] [--timeout D]`.
pub async fn reconcile(global: GlobalArgs, args: ReconcileArgs) -> ExitCode {
    let target = match parse_target(&args.object) {
        Ok(k) => k,
        Err(e) => return fail("reconcile", &e),
    };
    let mode = if args.with_source {
        ReconcileMode::WithSource
    } else if args.force {
        ReconcileMode::Force
    } else if args.reset {
        ReconcileMode::Reset
    } else {
        ReconcileMode::Plain
    };
    execute(
        "reconcile",
        &global,
        Intent::Reconcile { target, mode },
        args.timeout.0,
    )
    .await
}

/// `fluxdeck suspend KIND/NS/NAME`.
pub async fn suspend(global: GlobalArgs, args: TargetArgs) -> ExitCode {
    match parse_target(&args.object) {
        Ok(target) => {
            execute(
                "suspend",
                &global,
                Intent::Suspend { target },
                run::DEFAULT_TIMEOUT,
            )
            .await
        }
        Err(e) => fail("suspend", &e),
    }
}

/// `fluxdeck resume KIND/NS/NAME [--timeout D]`: removes `spec.suspend`, requests a
/// reconcile and waits for it.
pub async fn resume(global: GlobalArgs, args: ResumeArgs) -> ExitCode {
    match parse_target(&args.object) {
        Ok(target) => execute("resume", &global, Intent::Resume { target }, args.timeout.0).await,
        Err(e) => fail("resume", &e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn targets_name_kind_namespace_and_name() {
        let k = parse_target("hr/apps/web").unwrap();
        assert_eq!(k, ObjectKey::flux(FluxKind::HelmRelease, "apps", "web"));
        assert_eq!(
            parse_target("GitRepository/flux-system/fleet").unwrap(),
            ObjectKey::flux(FluxKind::GitRepository, "flux-system", "fleet")
        );
        for bad in [
            "hr/web",
            "deployment/apps/web",
            "hr//web",
            "hr/Apps/web",
            "hr/a/b/c",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
