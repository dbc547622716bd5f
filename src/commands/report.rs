//! `fluxdeck tree`, `fluxdeck status` and `fluxdeck why`: print once and exit.
//!
//! Exit status: 0 and 1 are the report's verdict (see each command); 2 means the report could
//! not be made: a bad config file, no connection, or any list it needs failed or was
//! forbidden. A report never shows what it could not read as healthy or empty.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::output::{error, finish};
use crate::actions::evidence::gather;
use crate::actions::writer::Reader;
use crate::cli::{GlobalArgs, OutputArgs, OutputFormat, TreeArgs, WhyArgs};
use crate::config::{Config, ReadOnlyReason};
use crate::domain::deps;
use crate::domain::evidence::{self, Evidence};
use crate::domain::flux::ObjectKey;
use crate::domain::report::{self, TextOptions};
use crate::domain::text::json_text;
use crate::domain::tree::{self, Snapshot};
use crate::kube::discovery::Discovery;
use crate::kube::{client, oneshot};
use std::sync::Arc;

/// How long a one-shot command waits for the API server to answer at all.
pub const CONNECT_LIMIT: Duration = Duration::from_secs(5);

/// What a report command runs with: the config file and flags combined, and what it read.
pub struct Loaded {
    pub snapshot: Snapshot,
    /// Objects that could not be read, Flux APIs that are not installed.
    pub warnings: Vec<String>,
    /// ASCII glyphs (`--ascii` or `ascii: true`).
    pub ascii: bool,
    /// Whether the session is read-only and why (for commands that write).
    pub read_only: Option<ReadOnlyReason>,
    /// Reads the evidence below failing objects (GETs and LISTs only).
    pub reader: Reader,
}

async fn load(global: &GlobalArgs, managed: bool) -> Result<Loaded, String> {
    let config = Config::load(global.config.as_deref()).map_err(|e| e.to_string())?;
    let conn = client::connect_within(
        global.kubeconfig.as_deref(),
        global.context.as_deref(),
        CONNECT_LIMIT,
    )
    .await
    .map_err(|e| e.to_string())?;
    let (snapshot, warnings) = oneshot::load(&conn, global.namespace.clone(), managed)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Loaded {
        snapshot,
        warnings,
        ascii: global.ascii || config.ascii,
        read_only: config.read_only_for(global.read_only, &conn.context),
        reader: Reader::new(
            conn.client.clone(),
            Arc::new(Discovery::new(conn.client.clone())),
        ),
    })
}

/// Load, print the warnings; on failure print the error and return exit status 2.
async fn load_or_exit(cmd: &str, global: &GlobalArgs, managed: bool) -> Result<Loaded, ExitCode> {
    match load(global, managed).await {
        Ok(loaded) => {
            for w in &loaded.warnings {
                error(&format!(
                    "warning: {}",
                    crate::domain::text::sanitize_line(w)
                ));
            }
            Ok(loaded)
        }
        Err(e) => {
            error(&format!(
                "fluxdeck {cmd}: {}",
                crate::domain::text::sanitize(&e)
            ));
            Err(ExitCode::from(2))
        }
    }
}

/// Print JSON (terminal-safe, see [`json_text`]) and return `code`.
pub(super) fn finish_json(cmd: &str, value: &Value, code: ExitCode) -> ExitCode {
    match json_text(value) {
        Ok(text) => finish(&format!("{text}\n"), code),
        Err(e) => {
            error(&format!("fluxdeck {cmd}: {e}"));
            ExitCode::from(2)
        }
    }
}

pub async fn tree(global: GlobalArgs, args: TreeArgs) -> ExitCode {
    let loaded = match load_or_exit("tree", &global, true).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let t = tree::build(&loaded.snapshot);
    match args.out.output {
        OutputFormat::Text => finish(
            &report::tree_text(
                &t,
                TextOptions {
                    ascii: loaded.ascii,
                },
            ),
            ExitCode::SUCCESS,
        ),
        OutputFormat::Json => finish_json("tree", &report::tree_json(&t), ExitCode::SUCCESS),
    }
}

pub async fn status(global: GlobalArgs, args: OutputArgs) -> ExitCode {
    let loaded = match load_or_exit("status", &global, false).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let rep = report::status_report(&loaded.snapshot);
    let code = ExitCode::from(rep.exit_code());
    match args.output {
        OutputFormat::Text => finish(
            &rep.text(TextOptions {
                ascii: loaded.ascii,
            }),
            code,
        ),
        OutputFormat::Json => {
            let mut value = rep.json();
            add_evidence(&loaded, &mut value).await;
            finish_json("status", &value, code)
        }
    }
}

/// The evidence of `key`, or a one-line reason it could not be gathered.
async fn evidence_of(reader: &Reader, key: &ObjectKey) -> Result<Evidence, String> {
    gather(reader, key, k8s_openapi::jiff::Timestamp::now())
        .await
        .map_err(|e| e.to_string())
}

/// `evidence` on each object of a status report that fails on its own (a root cause):
/// the findings, or `evidenceError` when they could not be gathered.
async fn add_evidence(loaded: &Loaded, value: &mut Value) {
    let analysis = deps::analyze(&loaded.snapshot);
    let roots: Vec<ObjectKey> = loaded
        .snapshot
        .flux
        .keys()
        .filter(|k| {
            analysis
                .why(k)
                .and_then(|w| evidence::target(&w))
                .is_some_and(|t| &t == *k)
        })
        .cloned()
        .collect();
    let found =
        futures::future::join_all(roots.iter().map(|k| evidence_of(&loaded.reader, k))).await;
    let Some(objects) = value.get_mut("objects").and_then(Value::as_array_mut) else {
        return;
    };
    for (key, result) in roots.iter().zip(found) {
        let same = |o: &&mut Value| {
            o["kind"] == key.kind_name()
                && o["namespace"] == *key.namespace
                && o["name"] == *key.name
        };
        if let Some(o) = objects.iter_mut().find(same) {
            match result {
                Ok(e) => o["evidence"] = e.json(),
                Err(e) => o["evidenceError"] = Value::String(e),
            }
        }
    }
}

pub async fn why(global: GlobalArgs, args: WhyArgs) -> ExitCode {
    let key = match report::parse_why_target(&args.object) {
        Ok(k) => k,
        Err(e) => {
            error(&format!(
                "fluxdeck why: {}",
                crate::domain::text::sanitize(&e)
            ));
            return ExitCode::from(2);
        }
    };
    let loaded = match load_or_exit("why", &global, false).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let Some(why) = deps::analyze(&loaded.snapshot).why(&key) else {
        let scope = global
            .namespace
            .as_deref()
            .map_or_else(|| "the cluster".to_string(), |ns| format!("namespace {ns}"));
        let line = format!(
            "fluxdeck why: {} {}/{} not found in {scope}",
            key.kind.kind(),
            key.namespace,
            key.name
        );
        error(&crate::domain::text::sanitize_line(&line));
        return ExitCode::from(2);
    };
    let code = ExitCode::from(report::why_exit_code(&why));
    let target = evidence::target(&why);
    let found = match &target {
        Some(t) => Some(evidence_of(&loaded.reader, t).await),
        None => None,
    };
    match args.out.output {
        OutputFormat::Text => {
            let mut text = report::why_text(&why, loaded.ascii);
            if let (Some(t), Some(found)) = (&target, &found) {
                text.push_str(&evidence_text(t, found, loaded.ascii));
            }
            finish(&text, code)
        }
        OutputFormat::Json => {
            let mut value = report::why_json(&why);
            if let (Some(t), Some(found)) = (&target, found) {
                value["evidence"] = match found {
                    Ok(e) => serde_json::json!({"object": t.to_string(), "findings": e.json()}),
                    Err(e) => serde_json::json!({"object": t.to_string(), "error": e}),
                };
            }
            finish_json("why", &value, code)
        }
    }
}

/// The evidence section `fluxdeck why` prints after the chain.
fn evidence_text(key: &ObjectKey, found: &Result<Evidence, String>, ascii: bool) -> String {
    let mut out = format!("\nEvidence ({key})\n");
    match found {
        Ok(e) if e.is_empty() => out.push_str("  nothing below it explains more\n"),
        Ok(e) => {
            if let Some(chain) = e.chain(ascii) {
                out.push_str(&format!("  {chain}\n\n"));
            }
            out.push_str(&e.text(ascii));
        }
        Err(e) => out.push_str(&format!("  could not gather the evidence: {e}\n")),
    }
    crate::domain::text::sanitize(&out).into_owned()
}
