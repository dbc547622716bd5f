//! `fluxdeck tree`, `fluxdeck status` and `fluxdeck why` against `fluxdeck sim` (the demo scenario).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_process.rs"]
mod sim_process;

use std::time::{Duration, Instant};

use sim_process::SimProcess;

/// Run `status` until the demo has settled into its known failures (bounded).
fn settled_status(sim: &SimProcess) -> (String, i32) {
    let start = Instant::now();
    loop {
        let out = sim.fluxdeck(&["status"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if text.contains("RetriesExceeded") && text.contains("loop/backend") {
            return (text, out.status.code().unwrap());
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "demo did not settle; last status:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn status_and_tree_report_the_demo() {
    let sim = SimProcess::start("demo", "60");
    let (status, code) = settled_status(&sim);
    assert_eq!(code, 1, "{status}");
    assert!(status.contains("HelmRelease/staging/redis"), "{status}");
    assert!(
        status.contains("Failed to install after 3 attempt(s)"),
        "{status}"
    );
    assert!(status.contains("HelmRelease/staging/backend"), "{status}");
    assert!(!status.contains("HelmRelease/default/redis "), "{status}");

    let json = sim.fluxdeck(&["status", "-o", "json"]).output().unwrap();
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v.to_string().contains("staging"), "{v}");

    let tree = sim.fluxdeck(&["tree"]).output().unwrap();
    assert_eq!(tree.status.code(), Some(0));
    let text = String::from_utf8_lossy(&tree.stdout);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("Kustomization/flux-system/flux-system"),
        "{text}"
    );
    assert!(
        text.contains("├── Kustomization/flux-system/apps"),
        "{text}"
    );
    assert!(text.contains("HelmRelease/default/backend"), "{text}");
    assert!(text.contains("Deployment/default/backend"), "{text}");
    assert!(text.contains("✗ Failed"), "{text}");

    let ascii = sim.fluxdeck(&["tree", "--ascii"]).output().unwrap();
    let atext = String::from_utf8_lossy(&ascii.stdout);
    assert!(atext.is_ascii(), "{atext}");
    assert!(atext.contains("HelmRelease/staging/redis"), "{atext}");

    let scoped = sim.fluxdeck(&["status", "-n", "default"]).output().unwrap();
    let stext = String::from_utf8_lossy(&scoped.stdout);
    assert!(!stext.contains("staging/redis"), "{stext}");

    why_reports_the_demo(&sim);
}

fn why(sim: &SimProcess, args: &[&str]) -> (String, String, i32) {
    let mut all = vec!["why"];
    all.extend_from_slice(args);
    let out = sim.fluxdeck(&all).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        out.status.code().unwrap(),
    )
}

/// `why` on the demo's staging (blocked by a failed install), loop (cycle) and cross-namespace
/// (ready) cases, once the demo has settled.
fn why_reports_the_demo(sim: &SimProcess) {
    let (text, _, code) = why(sim, &["hr/staging/backend"]);
    assert_eq!(code, 1, "{text}");
    let first = text.lines().next().unwrap();
    assert_eq!(first, "HelmRelease/staging/backend ⊘ Blocked", "{text}");
    assert!(
        text.contains("1. HelmRelease/staging/backend → HelmRelease/staging/redis [dependsOn: Ready is not True]"),
        "{text}"
    );
    assert!(
        text.contains(
            "root cause: staging/redis: RetriesExceeded — Failed to install after 3 attempt(s)"
        ),
        "{text}"
    );

    let (text, _, code) = why(sim, &["helmrelease/loop/backend"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.starts_with("HelmRelease/loop/backend ↻ Cycle"),
        "{text}"
    );
    assert!(
        text.contains("dependency cycle: loop/backend → loop/redis → loop/backend"),
        "{text}"
    );
    assert!(
        text.contains("downstream (blast radius) (1):\n    HelmRelease/loop/redis"),
        "{text}"
    );

    let (text, _, code) = why(sim, &["hr/default/grafana"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.starts_with("HelmRelease/default/grafana ✓ Ready"),
        "{text}"
    );
    assert!(
        text.contains("upstream (4):\n    HelmRelease/monitoring/prometheus"),
        "{text}"
    );

    let (json, _, code) = why(sim, &["HR/staging/backend", "-o", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verdict"], "blocked", "{v}");
    assert_eq!(v["rootCause"]["object"]["name"], "redis", "{v}");
    assert_eq!(v["rootCause"]["reason"], "RetriesExceeded", "{v}");

    let (text, _, code) = why(sim, &["ks/flux-system/apps", "--ascii"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.is_ascii(), "{text}");

    let (_, err, code) = why(sim, &["hr/staging/nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("HelmRelease staging/nope not found"), "{err}");
    let (_, err, code) = why(sim, &["deployment/default/backend"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("use helmrelease (hr) or kustomization (ks)"),
        "{err}"
    );
}

#[test]
fn connection_errors_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    // A port nobody listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &kc,
        fluxdeck::sim::kubeconfig::kubeconfig_yaml(&format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"))
        .args(["status"])
        .env("KUBECONFIG", &kc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach the API server"), "{err}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"))
        .args(["tree", "--context", "nope"])
        .env("KUBECONFIG", &kc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("context \"nope\" not found"), "{err}");
}

/// `--speed` outside the simulated cluster's range is refused before anything starts (a
/// speed of 1e-20 used to make the controllers panic on their first interval).
#[test]
fn bad_speed_exits_2_with_a_message() {
    for args in [
        ["demo", "--speed", "1e-20"],
        ["sim", "--speed", "0"],
        ["sim", "--speed", "nan"],
        ["demo", "--speed", "inf"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--speed") && err.contains("must be a number from 0.01 to 10000"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing starts");
    }
}
