//! One verdict everywhere: `fluxdeck status -o json`, `tree -o json` and `why -o json` agree on
//! the state, reason, message and root cause of every Flux object of the demo (`fluxdeck sim`),
//! including while `flux-system/prometheus-community` fails authentication.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_process.rs"]
mod sim_process;

use std::collections::BTreeMap;

use serde_json::Value;
use sim_process::SimProcess;

/// How often a comparison is tried: the cluster moves on between the commands of one
/// round, so a round that straddles a change is tried again.
const ROUNDS: usize = 200;

fn json(sim: &SimProcess, args: &[&str]) -> Value {
    let out = sim.fluxdeck(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `Kind/namespace/name` → (state, reason, message) of every Flux object row of the tree;
/// every row of one object says the same.
fn tree_states(tree: &Value) -> Result<BTreeMap<String, (String, String, String)>, String> {
    fn walk(
        nodes: &Value,
        out: &mut BTreeMap<String, (String, String, String)>,
    ) -> Result<(), String> {
        for n in nodes.as_array().into_iter().flatten() {
            let r = &n["resource"];
            let group = r["GroupKind"]["Group"].as_str().unwrap_or("");
            if group.ends_with("toolkit.fluxcd.io") {
                let key = format!(
                    "{}/{}/{}",
                    r["GroupKind"]["Kind"].as_str().unwrap(),
                    r["Namespace"].as_str().unwrap(),
                    r["Name"].as_str().unwrap()
                );
                let h = &n["health"];
                let state = (
                    h["state"].as_str().unwrap().to_string(),
                    h["reason"].as_str().unwrap().to_string(),
                    h["message"].as_str().unwrap().to_string(),
                );
                if let Some(seen) = out.get(&key)
                    && *seen != state
                {
                    return Err(format!("tree rows of {key} differ: {seen:?} / {state:?}"));
                }
                out.insert(key, state);
            }
            walk(&n["resources"], out)?;
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(tree, &mut out)?;
    Ok(out)
}

/// One round: every object compared across the three reports; `Err` names the first
/// disagreement.
fn compare(sim: &SimProcess) -> Result<BTreeMap<String, Value>, String> {
    let status = json(sim, &["status", "-o", "json"]);
    let tree = tree_states(&json(sim, &["tree", "-o", "json"]))?;
    let mut listed: BTreeMap<String, Value> = BTreeMap::new();
    for o in status["objects"].as_array().unwrap() {
        let key = format!(
            "{}/{}/{}",
            o["kind"].as_str().unwrap(),
            o["namespace"].as_str().unwrap(),
            o["name"].as_str().unwrap()
        );
        listed.insert(key, o.clone());
    }
    if tree.len() != status["total"].as_u64().unwrap() as usize {
        return Err(format!(
            "tree has {} Flux objects, status {}",
            tree.len(),
            status["total"]
        ));
    }
    for (key, (state, reason, message)) in &tree {
        match listed.get(key) {
            None if state == "ready" => {}
            None => return Err(format!("{key} is {state} in the tree, not in status")),
            Some(o) => {
                let seen = (
                    o["state"].as_str().unwrap(),
                    o["reason"].as_str().unwrap(),
                    o["message"].as_str().unwrap(),
                );
                if seen != (state.as_str(), reason.as_str(), message.as_str()) {
                    return Err(format!(
                        "{key}: tree {state} {reason}: {message} / status {seen:?}"
                    ));
                }
            }
        }
    }
    let mut whys = BTreeMap::new();
    for (key, (state, reason, message)) in &tree {
        let kind = key.split('/').next().unwrap();
        if kind != "HelmRelease" && kind != "Kustomization" {
            continue;
        }
        let why = json(sim, &["why", key, "-o", "json"]);
        let w = &why["state"];
        let seen = (
            w["state"].as_str().unwrap(),
            w["reason"].as_str().unwrap(),
            w["message"].as_str().unwrap(),
        );
        if seen != (state.as_str(), reason.as_str(), message.as_str()) {
            return Err(format!(
                "{key}: tree {state} {reason}: {message} / why {seen:?}"
            ));
        }
        if why["verdict"] != why["state"]["state"] {
            return Err(format!("{key}: why verdict {} ≠ its state", why["verdict"]));
        }
        let status_root = listed
            .get(key)
            .map(|o| o["rootCause"]["text"].clone())
            .unwrap_or(Value::Null);
        if why["rootCause"]["text"] != status_root {
            return Err(format!(
                "{key}: root cause why {} / status {status_root}",
                why["rootCause"]["text"]
            ));
        }
        // The row's message names the root cause (`Blocked by …`, `Dependency cycle: …`).
        if let Some(text) = status_root.as_str()
            && !message.to_lowercase().contains(&text.to_lowercase())
        {
            return Err(format!("{key}: tree message {message:?} lacks {text:?}"));
        }
        whys.insert(key.clone(), why);
    }
    Ok(whys)
}

#[test]
fn status_tree_and_why_agree_on_every_object_of_the_demo() {
    let sim = SimProcess::start("demo", "20");
    let mut last = String::new();
    let mut agreed = 0;
    let mut saw_cycle = false;
    let mut saw_failing_repository = false;
    for _ in 0..ROUNDS {
        match compare(&sim) {
            Ok(whys) => {
                agreed += 1;
                let cycle = &whys["HelmRelease/loop/backend"];
                if cycle["state"]["state"] == "cycle" {
                    saw_cycle = true;
                    assert_eq!(
                        cycle["rootCause"]["text"],
                        "dependency cycle: loop/backend → loop/redis → loop/backend",
                        "{cycle}"
                    );
                }
                let grafana = &whys["HelmRelease/default/grafana"];
                let prometheus = &whys["HelmRelease/monitoring/prometheus"];
                if prometheus["rootCause"]["object"]["kind"] == "HelmRepository" {
                    saw_failing_repository = true;
                    // The chain ends at the repository that fails on its own, and the
                    // release that reads the chart is blocked by it, not failed.
                    assert_eq!(prometheus["state"]["state"], "blocked", "{prometheus}");
                    assert_eq!(grafana["state"]["state"], "blocked", "{grafana}");
                    for w in [grafana, prometheus] {
                        assert_eq!(
                            w["rootCause"]["object"]["name"], "prometheus-community",
                            "{w}"
                        );
                        assert_eq!(w["rootCause"]["reason"], "AuthenticationFailed", "{w}");
                        let hops = w["hops"].as_array().unwrap();
                        assert_eq!(hops.last().unwrap()["to"]["kind"], "HelmRepository", "{w}");
                    }
                    assert!(
                        grafana["rootCause"]["message"]
                            .as_str()
                            .unwrap()
                            .contains("401 Unauthorized")
                    );
                }
                if saw_cycle && saw_failing_repository && agreed >= 3 {
                    return;
                }
            }
            Err(e) => last = e,
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "agreed {agreed} times (cycle seen: {saw_cycle}, failing repository seen: \
         {saw_failing_repository}); last disagreement: {last}"
    );
}
