//! `fluxdeck history hr/NS/NAME` and `fluxdeck rollback hr/NS/NAME [--to N] [--yes]`.
//!
//! `history` only reads (it works in read-only sessions). `rollback` prints the plan and,
//! without `--yes`, asks on the terminal: a line other than `y`/`yes` (or end of input)
//! aborts with exit 1 and sends nothing. Exit 0: rolled back; 1: declined, or it ran and
//! failed (the failed record says why); 2: it could not run (bad target, not found,
//! forbidden, read-only, no target revision, the HelmRelease or release changed since the
//! plan, no connection). The HelmRelease stays suspended after a rollback.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use super::act::{fail, parse_target, writer_session};
use super::output::{error, finish, write_to};
use super::report::{CONNECT_LIMIT, finish_json};
use crate::actions::audit::Audit;
use crate::actions::history;
use crate::actions::rollback::{self, Plan, Progress};
use crate::actions::writer::{Reader, label};
use crate::cli::{GlobalArgs, HistoryArgs, OutputFormat, RollbackArgs};
use crate::config::Config;
use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::helm_history::HistoryRow;
use crate::domain::text::{sanitize, sanitize_line};
use crate::kube::client::{self, Connection};
use crate::kube::discovery::Discovery;

fn helmrelease(cmd: &str, text: &str) -> Result<ObjectKey, ExitCode> {
    let key = parse_target(text).map_err(|e| fail(cmd, &e))?;
    if key.kind.flux() != Some(FluxKind::HelmRelease) {
        return Err(fail(
            cmd,
            &format!("{text:?}: only a HelmRelease (hr/NAMESPACE/NAME) has a Helm release history"),
        ));
    }
    Ok(key)
}

async fn connect(cmd: &str, global: &GlobalArgs) -> Result<Connection, ExitCode> {
    client::connect_within(
        global.kubeconfig.as_deref(),
        global.context.as_deref(),
        CONNECT_LIMIT,
    )
    .await
    .map_err(|e| fail(cmd, &e.to_string()))
}

/// The history table: a `*` marks the current revision; IN HISTORY says whether the
/// HelmRelease's `status.history` still has a snapshot of the revision.
pub fn history_text(title: &str, rows: &[HistoryRow]) -> String {
    let header = [
        "REVISION",
        "STATUS",
        "CHART",
        "APP VERSION",
        "UPDATED",
        "IN HISTORY",
        "DESCRIPTION",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .rev()
        .map(|r| {
            [
                r.revision.to_string(),
                r.status.clone(),
                r.chart.clone(),
                r.app_version.clone(),
                r.updated.clone(),
                if r.in_status_history { "yes" } else { "no" }.to_string(),
                sanitize_line(&r.description).into_owned(),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |mark: &str, c: &[String]| {
        let mut l = format!("{mark} ");
        for (i, s) in c.iter().enumerate() {
            if i + 1 == c.len() {
                l.push_str(s);
            } else {
                l.push_str(&format!("{s:<w$}  ", w = width[i]));
            }
        }
        format!("{}\n", l.trim_end())
    };
    let mut out = format!("{title}\n");
    out.push_str(&line(" ", &header.map(String::from)));
    for (c, r) in cells.iter().zip(rows.iter().rev()) {
        out.push_str(&line(if r.current { "*" } else { " " }, c));
    }
    out.push_str("* current revision; IN HISTORY: in the HelmRelease's status.history\n");
    out
}

/// `fluxdeck history hr/NS/NAME [-o text|json]`.
pub async fn history(global: GlobalArgs, args: HistoryArgs) -> ExitCode {
    const CMD: &str = "history";
    let key = match helmrelease(CMD, &args.object) {
        Ok(k) => k,
        Err(code) => return code,
    };
    if let Err(e) = Config::load(global.config.as_deref()) {
        return fail(CMD, &e.to_string());
    }
    let conn = match connect(CMD, &global).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let reader = Reader::new(
        conn.client.clone(),
        Arc::new(Discovery::new(conn.client.clone())),
    );
    let h = match history::load(&reader, &key).await {
        Ok(h) => h,
        Err(e) => return fail(CMD, &e.to_string()),
    };
    let rows = h.rows();
    match args.out.output {
        OutputFormat::Json => match serde_json::to_value(&rows) {
            Ok(v) => finish_json(CMD, &v, ExitCode::SUCCESS),
            Err(e) => fail(CMD, &e.to_string()),
        },
        OutputFormat::Text => {
            let title = format!(
                "{}: release {}/{} (records in namespace {})",
                label(&key),
                h.release_namespace,
                h.release_name,
                h.storage_namespace
            );
            finish(&history_text(&title, &rows), ExitCode::SUCCESS)
        }
    }
}

/// The plan as printed before asking.
pub fn plan_text(plan: &Plan, context: &str) -> String {
    let mut out = format!(
        "Roll back {} in context {context}\n  release {}/{}: revision {} ({}, {}) → revision {} ({})\n",
        label(&plan.target),
        plan.release_namespace,
        plan.release_name,
        plan.latest,
        plan.latest_chart,
        plan.latest_status,
        plan.to,
        plan.to_chart,
    );
    for s in plan.steps() {
        out.push_str(&format!("  {s}\n"));
    }
    out
}

fn confirmed(line: &str) -> bool {
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// `fluxdeck rollback hr/NS/NAME [--to N] [--yes]`.
pub async fn rollback(global: GlobalArgs, args: RollbackArgs) -> ExitCode {
    const CMD: &str = "rollback";
    let key = match helmrelease(CMD, &args.object) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let (conn, writer) = match writer_session(CMD, &global).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let plan = match rollback::plan(writer.reader(), &key, args.to).await {
        Ok(p) => p,
        Err(e) => return fail(CMD, &e.to_string()),
    };
    let text = plan_text(&plan, &conn.context);
    if !matches!(
        write_to(&mut std::io::stdout().lock(), &sanitize(&text)),
        Ok(true)
    ) {
        return ExitCode::from(2);
    }
    if !args.yes {
        let _ = write_to(
            &mut std::io::stderr().lock(),
            "Roll back? Type y or yes to go on: ",
        );
        let mut answer = String::new();
        let read = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(read, Ok(n) if n > 0) || !confirmed(&answer) {
            error("fluxdeck rollback: not confirmed: nothing was sent");
            return ExitCode::from(1);
        }
    }
    let mut report = |p: Progress| error(&sanitize_line(&format!("► {p}")));
    let result = rollback::run(&writer, &plan, &mut report).await;
    let summary = match &result {
        Ok(o) if o.ok => format!("ok: {}", o.message),
        Ok(o) => format!("failed: {}", o.message),
        Err(e) => format!("error: {e}"),
    };
    Audit::default_file().record_action(
        &conn.context,
        &label(&key),
        &format!("rollback --to {}", plan.to),
        &summary,
    );
    let resume = format!(
        "{} stays suspended. When it is resumed, Flux applies the desired state from Git again \
         (an upgrade): fix Git first (pin the chart version {} and the values of revision {}), \
         then `fluxdeck resume hr/{}/{}`.",
        label(&key),
        plan.to_chart,
        plan.to,
        key.namespace,
        key.name
    );
    match result {
        Ok(o) if o.ok => finish(
            &format!("{}\n{resume}\n", sanitize_line(&o.message)),
            ExitCode::SUCCESS,
        ),
        Ok(o) => {
            error(&format!("fluxdeck rollback: {}", sanitize_line(&o.message)));
            error(&sanitize_line(&resume));
            ExitCode::from(1)
        }
        Err(e) => fail(CMD, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y\n", "yes\n", " Y ", "YES"] {
            assert!(confirmed(yes), "{yes:?}");
        }
        for no in ["", "\n", "n\n", "no", "yep", "y es"] {
            assert!(!confirmed(no), "{no:?}");
        }
    }

    #[test]
    fn the_table_marks_current_and_status_history() {
        let row = |revision, status: &str, current, in_status_history| HistoryRow {
            revision,
            status: status.into(),
            chart: "app-1.0.0".into(),
            app_version: "1.0.0".into(),
            updated: "2026-01-01T00:00:00Z".into(),
            description: format!("d{revision}"),
            current,
            in_status_history,
        };
        let text = history_text(
            "T",
            &[
                row(1, "superseded", false, false),
                row(2, "deployed", true, true),
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "T");
        assert!(lines[1].starts_with("  REVISION  STATUS"), "{text}");
        assert!(lines[2].starts_with("* 2 "), "{text}");
        assert!(
            lines[2].contains(" yes ") && lines[2].ends_with("d2"),
            "{text}"
        );
        assert!(lines[3].starts_with("  1 "), "{text}");
        assert!(lines[3].contains(" no "), "{text}");
    }
}
