//! `fluxdeck why KIND/NAMESPACE/NAME`: the path from an object to the root cause of its
//! state, one failing controller rule per hop, with what it reads (upstream) and what waits
//! on it (downstream), as text or JSON, and an exit code.

use serde_json::{Value, json};

use crate::domain::deps::{Hop, RootCause, Verdict, Via, Why, loop_text};
use crate::domain::flux::{FluxKind, ObjectKey};

use super::ascii_text;

/// Upstream / downstream lists longer than this are cut in text output (JSON has all).
const LIST_LIMIT: usize = 50;

/// Parse `KIND/NAMESPACE/NAME` where KIND is `helmrelease`/`hr` or `kustomization`/`ks`
/// (any case; kind names and plurals work too).
pub fn parse_why_target(text: &str) -> Result<ObjectKey, String> {
    let parts: Vec<&str> = text.trim().split('/').collect();
    let [kind, namespace, name] = parts[..] else {
        return Err(format!(
            "expected KIND/NAMESPACE/NAME (for example hr/staging/backend), got {text:?}"
        ));
    };
    let kind = match FluxKind::parse(kind) {
        Some(k @ (FluxKind::HelmRelease | FluxKind::Kustomization)) => k,
        _ => {
            return Err(format!(
                "unknown kind {kind:?}: use helmrelease (hr) or kustomization (ks)"
            ));
        }
    };
    if namespace.is_empty() || name.is_empty() {
        return Err(format!(
            "expected KIND/NAMESPACE/NAME with a namespace and a name, got {text:?}"
        ));
    }
    Ok(ObjectKey::flux(kind, namespace, name))
}

/// Exit code of `fluxdeck why`: 0 when the object is not held by a problem (ready,
/// progressing, waiting on progress, suspended), 1 when it is blocked, in a cycle, failing
/// or missing. (2, an error, is the caller's.)
pub fn why_exit_code(why: &Why) -> u8 {
    u8::from(matches!(
        why.verdict,
        Verdict::Blocked | Verdict::Cycle | Verdict::Failing | Verdict::NotFound
    ))
}

fn via_word(via: Via) -> &'static str {
    match via {
        Via::DependsOn => "dependsOn",
        Via::Source => "source",
    }
}

fn list(out: &mut String, title: &str, keys: &[ObjectKey]) {
    out.push_str(&format!("  {title} ({}):", keys.len()));
    if keys.is_empty() {
        out.push_str(" none\n");
        return;
    }
    out.push('\n');
    for k in keys.iter().take(LIST_LIMIT) {
        out.push_str(&format!("    {k}\n"));
    }
    if keys.len() > LIST_LIMIT {
        out.push_str(&format!("    and {} more\n", keys.len() - LIST_LIMIT));
    }
}

fn hop_lines(out: &mut String, n: usize, hop: &Hop, ascii: bool) {
    let arrow = if ascii { "->" } else { "→" };
    out.push_str(&format!(
        "  {n}. {} {arrow} {} [{}: {}]\n",
        hop.from,
        hop.to,
        via_word(hop.via),
        hop.rule.describe()
    ));
    out.push_str(&format!("     {}\n", ascii_text(&hop.message, ascii)));
    if let Some(expr) = &hop.ready_expr
        && !hop.message.contains(expr.as_str())
    {
        out.push_str(&format!("     readyExpr: {expr}\n"));
    }
}

/// The report as text: a header with the verdict, the object's own state, each hop with
/// the rule that fails and its message, the root cause, the loop for a cycle, and the
/// upstream and downstream lists.
pub fn why_text(why: &Why, ascii: bool) -> String {
    let health = why.state.health;
    let glyph = if ascii {
        health.ascii_glyph()
    } else {
        health.glyph()
    };
    let mut out = format!("{} {glyph} {}\n", why.key, why.state.word());
    let own = &why.health;
    let own_line = match (own.reason.is_empty(), own.first_line().is_empty()) {
        (false, false) => format!("{}: {}", own.reason, own.first_line()),
        (false, true) => own.reason.to_string(),
        (true, _) => own.first_line().to_string(),
    };
    if !own_line.is_empty() {
        out.push_str(&format!("  status: {}\n", ascii_text(&own_line, ascii)));
    }
    if let Some(cycle) = &why.cycle {
        out.push_str(&format!(
            "  dependency cycle: {}\n",
            loop_text(cycle, ascii)
        ));
    }
    if !why.hops.is_empty() {
        out.push_str(if why.verdict == Verdict::Ready {
            "  its next reconcile would wait on:\n"
        } else {
            "  path:\n"
        });
        for (n, hop) in why.hops.iter().enumerate() {
            hop_lines(&mut out, n + 1, hop, ascii);
        }
    }
    let describe = |r: &RootCause| ascii_text(&r.describe(Some(&why.key)), ascii);
    match &why.root {
        Some(root) if root.key == why.key && root.verdict == Verdict::Progressing => {
            out.push_str("  not waiting on any dependency or source: still progressing\n");
        }
        Some(root) if root.key == why.key && root.verdict != Verdict::Cycle => {
            out.push_str(
                "  not waiting on any dependency or source: this object is the root cause\n",
            );
        }
        Some(root) => out.push_str(&format!("  root cause: {}\n", describe(root))),
        None => {}
    }
    for other in &why.other_roots {
        out.push_str(&format!("  also waiting on: {}\n", describe(other)));
    }
    for hop in &why.unevaluated {
        out.push_str(&format!(
            "  readyExpr not evaluated for {}: {}\n",
            hop.to,
            hop.ready_expr.as_deref().unwrap_or("")
        ));
        out.push_str(&format!("     {}\n", ascii_text(&hop.message, ascii)));
    }
    list(&mut out, "upstream", &why.upstream);
    list(&mut out, "downstream (blast radius)", &why.downstream);
    // Keys and expressions come from the cluster too: every line is one line of text.
    out.lines()
        .map(|l| crate::domain::text::sanitize_line(l) + "\n")
        .collect()
}

fn key_json(k: &ObjectKey) -> Value {
    json!({"kind": k.kind_name(), "namespace": k.namespace, "name": k.name})
}

fn hop_json(h: &Hop) -> Value {
    json!({
        "from": key_json(&h.from),
        "to": key_json(&h.to),
        "via": h.via,
        "rule": h.rule,
        "description": h.rule.describe(),
        "message": h.message,
        "readyExpr": h.ready_expr,
    })
}

fn root_json(r: &RootCause, seen_from: &ObjectKey) -> Value {
    json!({
        "object": key_json(&r.key),
        "verdict": r.health,
        "state": r.health,
        "reason": r.reason,
        "message": r.message,
        "cycle": r.cycle.as_deref().map(|c| c.iter().map(key_json).collect::<Vec<_>>()),
        "text": r.describe(Some(seen_from)),
    })
}

/// The report as JSON: `{object, verdict, state: {state, reason, message, since}, status:
/// {state, reason, message, since}, hops: [{from, to, via, rule, description, message,
/// readyExpr}], rootCause, otherRootCauses, cycle, unevaluated, upstream, downstream, blocks,
/// exitCode}`; objects are `{kind, namespace, name}`. `verdict` and `state` are the state
/// every report shows (as `fluxdeck status` and `tree`); `status` is the object's own
/// conditions.
pub fn why_json(why: &Why) -> Value {
    let keys = |ks: &[ObjectKey]| Value::Array(ks.iter().map(key_json).collect());
    json!({
        "object": key_json(&why.key),
        "verdict": why.state.health,
        "state": {
            "state": why.state.health,
            "reason": why.state.reason,
            "message": why.state.message,
            "since": why.state.since,
        },
        "status": {
            "state": why.health.health,
            "reason": why.health.reason,
            "message": why.health.message,
            "since": why.health.since,
        },
        "hops": why.hops.iter().map(hop_json).collect::<Vec<_>>(),
        "rootCause": why.root.as_ref().filter(|r| r.key != why.key || r.cycle.is_some()).map(|r| root_json(r, &why.key)),
        "otherRootCauses": why.other_roots.iter().map(|r| root_json(r, &why.key)).collect::<Vec<_>>(),
        "cycle": why.cycle.as_deref().map(keys),
        "unevaluated": why.unevaluated.iter().map(hop_json).collect::<Vec<_>>(),
        "upstream": keys(&why.upstream),
        "downstream": keys(&why.downstream),
        "blocks": why.downstream.len(),
        "exitCode": why_exit_code(why),
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::domain::deps::analyze;
    use crate::domain::tree::Snapshot;

    fn demo() -> crate::domain::deps::Analysis {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/app/demo-cluster.yaml"
        ))
        .unwrap();
        let list: Value = serde_yaml::from_str(&text).unwrap();
        let now: Timestamp = "2026-11-22T07:00:00Z".parse().unwrap();
        let (snap, _) = Snapshot::from_objects(list["items"].as_array().unwrap().clone(), now);
        analyze(&snap)
    }

    #[test]
    fn parses_targets() {
        assert_eq!(
            parse_why_target("hr/staging/backend"),
            Ok(ObjectKey::flux(FluxKind::HelmRelease, "staging", "backend"))
        );
        assert_eq!(
            parse_why_target("HelmRelease/staging/backend"),
            Ok(ObjectKey::flux(FluxKind::HelmRelease, "staging", "backend"))
        );
        assert_eq!(
            parse_why_target("ks/flux-system/apps"),
            Ok(ObjectKey::flux(
                FluxKind::Kustomization,
                "flux-system",
                "apps"
            ))
        );
        assert_eq!(
            parse_why_target("kustomization/flux-system/apps"),
            Ok(ObjectKey::flux(
                FluxKind::Kustomization,
                "flux-system",
                "apps"
            ))
        );
        assert!(
            parse_why_target("hr/backend")
                .unwrap_err()
                .contains("KIND/NAMESPACE/NAME")
        );
        assert!(
            parse_why_target("gitrepo/a/b")
                .unwrap_err()
                .contains("unknown kind")
        );
        assert!(parse_why_target("hr//b").is_err());
        assert!(parse_why_target("hr/a/b/c").is_err());
    }

    #[test]
    fn blocked_release_text_json_and_exit_code() {
        let a = demo();
        let why = a
            .why(&ObjectKey::flux(
                FluxKind::HelmRelease,
                "staging",
                "backend",
            ))
            .unwrap();
        let text = why_text(&why, false);
        let expected_head = "HelmRelease/staging/backend ⊘ Blocked\n  status: DependencyNotReady: dependency 'staging/redis' is not ready\n  path:\n  1. HelmRelease/staging/backend → HelmRelease/staging/redis [dependsOn: Ready is not True]\n     dependency 'staging/redis' is not ready\n  root cause: staging/redis: RetriesExceeded — Failed to install after 3 attempt(s)\n  upstream (";
        assert!(text.starts_with(expected_head), "{text}");
        assert!(text.contains("    HelmRelease/staging/redis\n"));
        assert!(
            text.ends_with("  downstream (blast radius) (0): none\n"),
            "{text}"
        );
        let ascii = why_text(&why, true);
        assert!(ascii.is_ascii(), "{ascii}");
        assert!(ascii.contains("root cause: staging/redis: RetriesExceeded - Failed to install"));
        assert_eq!(why_exit_code(&why), 1);

        let j = why_json(&why);
        assert_eq!(j["verdict"], "blocked");
        assert_eq!(j["hops"][0]["rule"], "notReady");
        assert_eq!(j["hops"][0]["to"]["name"], "redis");
        assert_eq!(j["rootCause"]["reason"], "RetriesExceeded");
        assert_eq!(
            j["rootCause"]["text"],
            "staging/redis: RetriesExceeded — Failed to install after 3 attempt(s)"
        );
        assert_eq!(j["exitCode"], 1);
        assert_eq!(j["blocks"], 0);

        let redis = a
            .why(&ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis"))
            .unwrap();
        let text = why_text(&redis, false);
        assert!(text.contains("this object is the root cause"), "{text}");
        assert!(
            text.contains("  downstream (blast radius) (1):\n    HelmRelease/staging/backend\n")
        );
    }

    #[test]
    fn cycle_and_ready_reports() {
        let a = demo();
        let why = a
            .why(&ObjectKey::flux(FluxKind::HelmRelease, "loop", "backend"))
            .unwrap();
        let text = why_text(&why, false);
        assert!(
            text.contains("  dependency cycle: loop/backend → loop/redis → loop/backend\n"),
            "{text}"
        );
        assert!(text.contains("2. HelmRelease/loop/redis → HelmRelease/loop/backend"));
        assert_eq!(why_exit_code(&why), 1);
        let j = why_json(&why);
        assert_eq!(j["cycle"].as_array().unwrap().len(), 3);

        let ready = a
            .why(&ObjectKey::flux(
                FluxKind::HelmRelease,
                "default",
                "grafana",
            ))
            .unwrap();
        assert_eq!(why_exit_code(&ready), 0);
        let text = why_text(&ready, false);
        assert!(
            text.starts_with("HelmRelease/default/grafana ✓ Ready\n"),
            "{text}"
        );
        assert!(text.contains("    HelmRelease/monitoring/prometheus\n"));
        assert_eq!(why_json(&ready)["rootCause"], Value::Null);
    }
}
