//! Skipping a check whose tool or data is missing, loudly, and failing instead when the
//! environment says the check must run (CI sets `FLUXDECK_REQUIRE_CLIENTS=1`, and
//! `FLUXDECK_REQUIRE_CRDS=1` when the CRDs are beside the checkout).
#![allow(dead_code)] // each test binary uses part of the helpers

use std::io::Write;
use std::path::PathBuf;

/// Set to `1` to make a missing `helm`/`kubectl` fail the cross-check tests.
pub const REQUIRE_CLIENTS: &str = "FLUXDECK_REQUIRE_CLIENTS";
/// Set to `1` to make missing Flux CRDs (`../shared/crds`) fail the schema tests.
pub const REQUIRE_CRDS: &str = "FLUXDECK_REQUIRE_CRDS";

/// What to do about a missing prerequisite.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing {
    /// Skip the check with a notice.
    Skip,
    /// Fail the test: the environment requires the check.
    Fail,
}

/// The decision for the value of a `FLUXDECK_REQUIRE_*` variable.
pub fn decide(required: Option<&str>) -> Missing {
    match required.map(str::trim) {
        Some("1" | "true" | "yes") => Missing::Fail,
        _ => Missing::Skip,
    }
}

/// The notice printed for a skipped check.
pub fn notice(test: &str, what: &str, why: &str, var: &str) -> String {
    let bar = "=".repeat(72);
    format!(
        "{bar}\nSKIPPED {test}: {what} was NOT checked: {why}\n\
         (set {var}=1 to make this a failure)\n{bar}\n"
    )
}

/// `what` cannot be checked because `why`. Fails the test when `var` requires the check;
/// otherwise prints a banner and returns, and the caller returns early.
///
/// The banner is written to the process's stderr directly, not with `eprintln!`: the test
/// harness captures `eprintln!` and shows it only for failed tests (or with `--nocapture`),
/// which would hide a skip in a passing test.
pub fn skip_or_fail(what: &str, why: &str, var: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    let value = std::env::var(var).ok();
    if decide(value.as_deref()) == Missing::Fail {
        panic!(
            "{what} cannot be checked: {why}; {var}={} requires it",
            value.unwrap_or_default()
        );
    }
    let text = notice(test, what, why, var);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// A client binary (`helm`, `kubectl`): `.tools/bin` of the checkout (where
/// `scripts/get-clients` installs it), else `PATH`.
pub fn find_client(name: &str) -> Option<PathBuf> {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".tools/bin")
        .join(name);
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// The client binary, or `None` after [`skip_or_fail`] (which fails when clients are
/// required).
pub fn client_or_skip(name: &str) -> Option<PathBuf> {
    let found = find_client(name);
    if found.is_none() {
        skip_or_fail(
            &format!("the real {name} client against the simulated cluster"),
            &format!("{name} not found in .tools/bin or PATH (run scripts/get-clients)"),
            REQUIRE_CLIENTS,
        );
    }
    found
}
