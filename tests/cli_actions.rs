//! `fluxdeck reconcile`, `suspend` and `resume` against `fluxdeck sim`: exit codes, what they
//! print, and (through the sim's access log) exactly what they send.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_process.rs"]
mod sim_process;

use std::process::Output;

use fluxdeck::sim::server::read_access_log;
use sim_process::SimProcess;

fn run(sim: &SimProcess, args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = sim.fluxdeck(args).output().unwrap();
    (
        status.code().unwrap(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The non-GET requests so far, as `METHOD path`.
fn writes(sim: &SimProcess) -> Vec<String> {
    read_access_log(&sim.access_log)
        .unwrap()
        .into_iter()
        .filter(|e| e.method != "GET")
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

fn requests(sim: &SimProcess) -> usize {
    read_access_log(&sim.access_log).unwrap().len()
}

#[test]
fn reconcile_suspend_resume_from_the_command_line() {
    let sim = SimProcess::start("demo", "60");
    // The demo's Kustomizations create the HelmReleases shortly after the server is up.
    let mut tries = 0;
    while run(&sim, &["why", "hr/default/redis"]).0 == 2 {
        tries += 1;
        assert!(tries < 200, "HelmRelease default/redis never appeared");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let (code, out, err) = run(&sim, &["reconcile", "hr/default/redis"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("HelmRelease/default/redis: "), "{out}");
    assert_eq!(
        writes(&sim),
        [
            "PATCH /apis/helm.toolkit.fluxcd.io/v2/namespaces/default/helmreleases/redis?&fieldManager=flux-client-side-apply"
        ]
    );

    let (code, out, err) = run(&sim, &["reconcile", "--with-source", "hr/default/redis"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("step 1/3"), "{err}");
    assert_eq!(writes(&sim).len(), 4);

    let (code, _, err) = run(&sim, &["suspend", "hr/default/redis"]);
    assert_eq!(code, 0, "{err}");
    let before = writes(&sim).len();
    let (code, _, err) = run(&sim, &["reconcile", "hr/default/redis"]);
    assert_eq!(code, 2, "a suspended object is not reconciled");
    assert!(err.contains("suspended"), "{err}");
    assert_eq!(writes(&sim).len(), before, "nothing sent");
    let (code, out, err) = run(&sim, &["resume", "hr/default/redis"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(writes(&sim).len(), before + 1);

    // An object that stays failed: the run ends, exit 1.
    let (code, _, err) = run(&sim, &["reconcile", "hr/staging/redis", "--timeout", "20s"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("failed") || err.contains("timed out"), "{err}");

    // Errors: not found, bad target, bad duration.
    let (code, _, err) = run(&sim, &["reconcile", "hr/default/nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");
    let (code, _, _) = run(&sim, &["reconcile", "deployment/default/web"]);
    assert_eq!(code, 2);
    let (code, _, _) = run(
        &sim,
        &["reconcile", "hr/default/redis", "--timeout", "soon"],
    );
    assert_eq!(code, 2);
}

#[test]
fn read_only_commands_refuse_and_send_nothing() {
    let sim = SimProcess::start("demo", "60");
    let before = requests(&sim);
    for args in [
        &["--read-only", "reconcile", "hr/default/redis"][..],
        &["--read-only", "suspend", "hr/default/redis"],
        &["resume", "--read-only", "ks/flux-system/apps"],
    ] {
        let (code, _, err) = run(&sim, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("read-only"), "{err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "readOnly: true\n").unwrap();
    let (code, _, err) = run(
        &sim,
        &[
            "--config",
            config.to_str().unwrap(),
            "suspend",
            "hr/default/redis",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("readOnly: true"), "{err}");
    assert_eq!(requests(&sim), before, "not a single request was sent");

    // A read-only context pattern: the context is known after connecting (reads only).
    std::fs::write(&config, "readOnlyContexts: [\"fluxdeck-*\"]\n").unwrap();
    let (code, _, err) = run(
        &sim,
        &[
            "--config",
            config.to_str().unwrap(),
            "suspend",
            "hr/default/redis",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
}

fn prune_scenario() -> String {
    format!(
        "{}/tests/fixtures/scenarios/rollback-prune.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn history_and_rollback_from_the_command_line() {
    let sim = SimProcess::start(&prune_scenario(), "60");
    let state = tempfile::tempdir().unwrap();
    let run_in = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = sim
            .fluxdeck(args)
            .env("XDG_STATE_HOME", state.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, out, err) = run(&sim, &["history", "hr/apps/web", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[1]["revision"], 2);
    assert_eq!(rows[1]["current"], true);
    assert_eq!(rows[0]["chart"], "app-1.0.0");
    let (code, out, _) = run(&sim, &["history", "hr/apps/web"]);
    assert_eq!(code, 0);
    assert!(out.lines().nth(2).unwrap().starts_with("* 2 "), "{out}");

    // Read-only refuses before sending anything.
    let before = requests(&sim);
    let (code, _, err) = run(&sim, &["--read-only", "rollback", "hr/apps/web", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(requests(&sim), before);

    // Declined at the prompt: the plan is shown, exit 1, nothing written.
    let (code, out, err) = run_in(&["rollback", "hr/apps/web"], "no\n");
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("revision 2 (app@2.0.0, deployed) → revision 1 (app@1.0.0)"),
        "{out}"
    );
    assert!(out.contains(r#"{"spec":{"suspend":true}}"#), "{out}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));

    // Confirmed: rolled back, and told that the HelmRelease stays suspended.
    let (code, out, err) = run_in(&["rollback", "hr/apps/web", "--to", "1"], "y\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("as revision 3"), "{out}");
    assert!(out.contains("stays suspended"), "{out}");
    assert!(err.contains("► suspended the HelmRelease"), "{err}");
    assert_eq!(writes(&sim).len(), 7, "{:?}", writes(&sim));
    let audit = std::fs::read_to_string(state.path().join("fluxdeck/audit.log")).unwrap();
    assert!(audit.contains(r#""action":"rollback --to 1""#), "{audit}");
    assert!(audit.contains(r#""result":"ok: "#), "{audit}");

    let (code, out, _) = run(&sim, &["history", "hr/apps/web"]);
    assert_eq!(code, 0);
    let top = out.lines().nth(2).unwrap();
    assert!(
        top.starts_with("* 3 ") && top.ends_with("Rollback to 1"),
        "{out}"
    );

    // Errors: not a HelmRelease, missing revision.
    let (code, _, err) = run(&sim, &["rollback", "ks/apps/web", "--yes"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&sim, &["rollback", "hr/apps/web", "--to", "9", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no revision 9"), "{err}");
}
