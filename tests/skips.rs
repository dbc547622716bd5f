//! The skip helper of the cross-check tests: a missing client is a loud skip, visible with the
//! test harness capturing output, and a failure when `FLUXDECK_REQUIRE_CLIENTS=1`. The helper
//! runs for real in a child process of this test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/skip.rs"]
mod skip;

use std::process::{Command, Output};

use skip::{Missing, REQUIRE_CLIENTS, REQUIRE_CRDS, decide};

const ABSENT: &str = "fluxdeck-test-no-such-client";

/// Run the ignored `probe_missing_client` of this binary in a child process, with output
/// captured by the harness as in a normal `cargo test`.
fn run_probe(require: Option<&str>) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        "probe_missing_client",
        "--test-threads=1",
    ])
    .env_remove(REQUIRE_CLIENTS)
    .env_remove(REQUIRE_CRDS);
    if let Some(v) = require {
        cmd.env(REQUIRE_CLIENTS, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
#[ignore = "a fixture: skip_is_loud_and_fails_when_required runs it in a child process"]
fn probe_missing_client() {
    assert!(skip::find_client(ABSENT).is_none());
    if skip::client_or_skip(ABSENT).is_none() {
        return;
    }
    panic!("{ABSENT} should not exist");
}

#[test]
fn decision_follows_the_variable() {
    assert_eq!(decide(None), Missing::Skip);
    assert_eq!(decide(Some("")), Missing::Skip);
    assert_eq!(decide(Some("0")), Missing::Skip);
    assert_eq!(decide(Some("1")), Missing::Fail);
    assert_eq!(decide(Some(" 1\n")), Missing::Fail);
    assert_eq!(decide(Some("true")), Missing::Fail);
}

#[test]
fn notice_names_the_test_the_reason_and_the_variable() {
    let n = skip::notice("t::x", "helm", "helm not found", REQUIRE_CLIENTS);
    assert!(
        n.contains("SKIPPED t::x: helm was NOT checked: helm not found"),
        "{n}"
    );
    assert!(n.contains("FLUXDECK_REQUIRE_CLIENTS=1"), "{n}");
}

#[test]
fn skip_is_loud_and_fails_when_required() {
    // Not required: the test passes, and the notice reaches stderr although the harness
    // captures the test's output.
    let out = run_probe(None);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "a skip must pass when not required:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "SKIPPED probe_missing_client: the real {ABSENT} client"
        )),
        "the skip notice is missing from stderr:\n{stderr}"
    );
    assert!(stdout.contains("1 passed"), "{stdout}");

    // Required: the same test fails and says why.
    for value in ["1", "true"] {
        let out = run_probe(Some(value));
        let (stdout, stderr) = text(&out);
        assert!(
            !out.status.success(),
            "a missing client must fail with {REQUIRE_CLIENTS}={value}:\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("FLUXDECK_REQUIRE_CLIENTS") && stdout.contains("1 failed"),
            "the failure should name the variable:\n{stdout}\n{stderr}"
        );
    }
}
