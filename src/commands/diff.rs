//! `fluxdeck diff values HR [--revision A[..B]] [--computed] [-o text|json]` and
//! `fluxdeck diff drift HR [-o text|json]`: a unified diff, like `flux diff`.
//!
//! Exit 0: no difference; 1: differences; 2: the comparison could not be made (bad argument,
//! not found, forbidden, values that cannot be composed, no such revision, no
//! connection); with no deployed revision the desired values are compared with nothing.
//! `diff drift` exits 1 when any object drifted even if others could not be
//! compared (those are listed on stderr), and 2 when nothing drifted but some objects could
//! not be compared. Both only read, except the drift's server-side apply dry-runs, which
//! persist nothing (so both work in read-only sessions).

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use super::act::{fail, parse_target};
use super::output::{error, finish};
use super::report::{CONNECT_LIMIT, finish_json};
use crate::actions::diffs::{self, DiffOptions, DiffTexts, DriftData, DriftObject};
use crate::actions::writer::Reader;
use crate::cli::{DiffArgs, DiffCommand, DiffDriftArgs, DiffValuesArgs, GlobalArgs, OutputFormat};
use crate::config::Config;
use crate::domain::diff::{Tag, lines};
use crate::domain::drift::ObjectDrift;
use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::text::{sanitize, sanitize_line};
use crate::kube::client;
use crate::kube::discovery::Discovery;

/// `NAMESPACE/NAME` or `hr/NAMESPACE/NAME` (any name of the HelmRelease kind).
pub fn parse_helmrelease(text: &str) -> Result<ObjectKey, String> {
    let full = if text.split('/').count() == 2 {
        format!("hr/{text}")
    } else {
        text.to_string()
    };
    let key = parse_target(&full).map_err(|_| {
        format!("{text:?}: expected a HelmRelease as NAMESPACE/NAME or hr/NAMESPACE/NAME")
    })?;
    if key.kind.flux() != Some(FluxKind::HelmRelease) {
        return Err(format!(
            "{text:?}: only a HelmRelease has values and drift (NAMESPACE/NAME or hr/NAMESPACE/NAME)"
        ));
    }
    Ok(key)
}

/// The unified diff of two texts with a header naming each side; empty when they are equal.
pub fn unified(t: &DiffTexts) -> String {
    similar::TextDiff::from_lines(&t.old, &t.new)
        .unified_diff()
        .context_radius(3)
        .header(&t.left_label, &t.right_label)
        .to_string()
}

/// The lines of a diff as JSON: op (`equal`, `add`, `remove`), line numbers, text, and the
/// origin of a right-side line when known.
pub fn lines_json(t: &DiffTexts) -> Vec<Value> {
    lines(&t.old, &t.new)
        .into_iter()
        .map(|l| {
            let op = match l.tag {
                Tag::Equal => "equal",
                Tag::Added => "add",
                Tag::Removed => "remove",
            };
            let origin = l
                .new
                .and_then(|n| t.line_notes.get(n - 1))
                .cloned()
                .flatten();
            json!({"op": op, "old": l.old, "new": l.new, "text": l.text, "origin": origin})
        })
        .collect()
}

/// One side of a values diff in JSON: its label and revision (`null`: the desired values).
struct Side {
    label: String,
    revision: Option<i64>,
}

fn values_json(
    helm_release: &str,
    release: &str,
    computed: bool,
    sides: [Side; 2],
    t: &DiffTexts,
) -> Value {
    let ls = lines(&t.old, &t.new);
    let (added, removed) = crate::domain::diff::counts(&ls);
    let [left, right] = sides;
    json!({
        "helmRelease": helm_release,
        "release": release,
        "compare": if computed { "computed values" } else { "values" },
        "left": {"label": left.label, "revision": left.revision},
        "right": {"label": right.label, "revision": right.revision},
        "differs": t.differs(),
        "added": added,
        "removed": removed,
        "lines": lines_json(t),
    })
}

fn code(differs: bool) -> ExitCode {
    if differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

struct Session {
    reader: Reader,
    opts: DiffOptions,
}

async fn session(cmd: &str, global: &GlobalArgs) -> Result<Session, ExitCode> {
    let config = Config::load(global.config.as_deref()).map_err(|e| fail(cmd, &e.to_string()))?;
    let conn = client::connect_within(
        global.kubeconfig.as_deref(),
        global.context.as_deref(),
        CONNECT_LIMIT,
    )
    .await
    .map_err(|e| fail(cmd, &e.to_string()))?;
    let reader = Reader::new(
        conn.client.clone(),
        Arc::new(Discovery::new(conn.client.clone())),
    );
    Ok(Session {
        reader,
        opts: DiffOptions {
            show_secrets: global.show_secrets,
            ascii: global.ascii || config.ascii,
            read_only: config
                .read_only_for(global.read_only, &conn.context)
                .is_some(),
        },
    })
}

/// `fluxdeck diff values|drift …`.
pub async fn diff(global: GlobalArgs, args: DiffArgs) -> ExitCode {
    match args.what {
        DiffCommand::Values(a) => values(global, a).await,
        DiffCommand::Drift(a) => drift(global, a).await,
    }
}

async fn values(global: GlobalArgs, args: DiffValuesArgs) -> ExitCode {
    const CMD: &str = "diff values";
    let key = match parse_helmrelease(&args.object) {
        Ok(k) => k,
        Err(e) => return fail(CMD, &e),
    };
    let s = match session(CMD, &global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (texts, release, revisions) = match args.revision {
        Some(r) => match diffs::load_revisions(&s.reader, &key, r.a, r.b, s.opts).await {
            Ok(d) => {
                let release = format!("{}/{}", key.namespace, d.release_name);
                let revisions = [Some(d.a.revision), Some(d.b.revision)];
                let t = if args.computed { d.computed } else { d.values };
                (t, release, revisions)
            }
            Err(e) => return fail(CMD, &e.to_string()),
        },
        None => match diffs::load_values_with(&s.reader, &key, s.opts).await {
            Ok(d) => {
                let release = format!("{}/{}", d.release_namespace, d.release_name);
                let deployed = d.deployed.as_ref().ok().map(|r| r.revision);
                match if args.computed { d.computed } else { d.values } {
                    Ok(t) => (t, release, [deployed, None]),
                    Err(e) => return fail(CMD, &e),
                }
            }
            Err(e) => return fail(CMD, &e.to_string()),
        },
    };
    let verdict = code(texts.differs());
    match args.out.output {
        OutputFormat::Json => {
            let sides = [
                Side {
                    label: texts.left_label.clone(),
                    revision: revisions[0],
                },
                Side {
                    label: texts.right_label.clone(),
                    revision: revisions[1],
                },
            ];
            let hr = format!("{}/{}", key.namespace, key.name);
            let v = values_json(&hr, &release, args.computed, sides, &texts);
            finish_json(CMD, &v, verdict)
        }
        OutputFormat::Text => {
            if !texts.differs() {
                error(&sanitize_line(&format!(
                    "no difference: {} and {} have the same {}",
                    texts.left_label,
                    texts.right_label,
                    if args.computed {
                        "computed values"
                    } else {
                        "values"
                    }
                )));
            }
            finish(&sanitize(&unified(&texts)), verdict)
        }
    }
}

fn drift_kind(d: &ObjectDrift) -> &'static str {
    match d {
        ObjectDrift::None => "none",
        ObjectDrift::Changed { .. } => "changed",
        ObjectDrift::Removed => "removed",
        ObjectDrift::Excluded => "excluded",
    }
}

fn object_json(o: &DriftObject) -> Value {
    let r = &o.report;
    let (additions, changes, removals) = match r.drift {
        ObjectDrift::Changed {
            additions,
            changes,
            removals,
        } => (additions, changes, removals),
        _ => (0, 0, 0),
    };
    json!({
        "id": r.id(),
        "kind": r.kind,
        "namespace": r.namespace,
        "name": r.name,
        "drift": drift_kind(&r.drift),
        "additions": additions,
        "changes": changes,
        "removals": removals,
        "line": r.line(),
        "approximate": o.approximate,
        "ops": r.ops,
        "diff": if r.drift.is_drift() { unified(&o.texts) } else { String::new() },
    })
}

/// The drift as printed: the summary lines (or that nothing drifted), whether it is
/// approximate, then each drifted object's unified diff.
pub fn drift_text(d: &DriftData) -> String {
    let mut out = match d.summary() {
        Some(s) => format!("{s}\n"),
        None => format!(
            "No drift: the cluster matches release {} ({} compared)\n",
            d.release,
            match d.objects.len() {
                1 => "1 object".to_string(),
                n => format!("{n} objects"),
            }
        ),
    };
    if let Some(reason) = &d.approximate {
        out.push_str(&format!(
            "Approximate: {reason}; only the fields the manifest sets were compared for those objects\n"
        ));
    }
    for o in d.objects.iter().filter(|o| o.report.drift.is_drift()) {
        out.push('\n');
        for op in &o.report.ops {
            out.push_str(&format!("# {op}\n"));
        }
        out.push_str(&unified(&o.texts));
    }
    out
}

async fn drift(global: GlobalArgs, args: DiffDriftArgs) -> ExitCode {
    const CMD: &str = "diff drift";
    let key = match parse_helmrelease(&args.object) {
        Ok(k) => k,
        Err(e) => return fail(CMD, &e),
    };
    let s = match session(CMD, &global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let d = match diffs::load_drift_with(&s.reader, &key, s.opts).await {
        Ok(d) => d,
        Err(e) => return fail(CMD, &e.to_string()),
    };
    for e in &d.errors {
        error(&sanitize_line(&format!("fluxdeck {CMD}: {e}")));
    }
    let verdict = if d.drifted() {
        ExitCode::from(1)
    } else if d.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    };
    match args.out.output {
        OutputFormat::Json => {
            let v = json!({
                "helmRelease": format!("{}/{}", key.namespace, key.name),
                "release": d.release,
                "revision": d.revision,
                "mode": d.mode,
                "approximate": d.approximate,
                "drifted": d.drifted(),
                "summary": d.summary(),
                "objects": d.objects.iter().map(object_json).collect::<Vec<_>>(),
                "errors": d.errors,
            });
            finish_json(CMD, &v, verdict)
        }
        OutputFormat::Text => finish(&sanitize(&drift_text(&d)), verdict),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_helmrelease_is_ns_name_or_hr_ns_name() {
        let want = ObjectKey::flux(FluxKind::HelmRelease, "default", "backend");
        assert_eq!(parse_helmrelease("default/backend").unwrap(), want);
        assert_eq!(parse_helmrelease("hr/default/backend").unwrap(), want);
        assert_eq!(
            parse_helmrelease("helmrelease/default/backend").unwrap(),
            want
        );
        for bad in [
            "backend",
            "ks/default/backend",
            "default/",
            "/backend",
            "Default/backend",
            "hr/a/b/c",
            "",
        ] {
            assert!(parse_helmrelease(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_unified_diff_names_both_sides_and_is_empty_when_equal() {
        let t = DiffTexts {
            left_label: "deployed rev 4".into(),
            right_label: "desired: spec.values".into(),
            old: "a: 1\nb: 2\n".into(),
            new: "a: 1\nb: 3\n".into(),
            line_notes: vec![Some("inline".into()), Some("ConfigMap/x".into())],
            ..DiffTexts::default()
        };
        let u = unified(&t);
        assert!(
            u.starts_with("--- deployed rev 4\n+++ desired: spec.values\n"),
            "{u}"
        );
        assert!(u.contains("-b: 2\n+b: 3\n"), "{u}");
        let j = lines_json(&t);
        assert_eq!(j[2]["op"], "add");
        assert_eq!(j[2]["origin"], "ConfigMap/x");
        assert_eq!(j[1]["op"], "remove");
        assert_eq!(j[1]["origin"], Value::Null);
        let same = DiffTexts {
            new: t.old.clone(),
            ..t
        };
        assert_eq!(unified(&same), "");
        assert!(!same.differs());
    }
}
