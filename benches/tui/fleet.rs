//! A synthetic fleet for the dependency analysis: N HelmReleases with seeded random
//! `dependsOn` lists (mostly on earlier releases; some back edges that close cycles, some
//! missing dependencies) and random states (failing roots, progressing, suspended, Ready,
//! and releases waiting on a dependency).

use k8s_openapi::jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

fn name(i: usize) -> String {
    format!("hr-{i:05}")
}

/// The objects: `n` HelmReleases in one namespace and the OCIRepository they use.
pub fn objects(n: usize, seed: u64) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut objects = Vec::with_capacity(n + 1);
    for i in 0..n {
        let mut deps: Vec<String> = Vec::new();
        for _ in 0..rng.random_range(0..4usize) {
            let roll = rng.random_range(0..100u32);
            let d = if roll < 2 {
                format!("missing-{}", rng.random_range(0..20usize))
            } else if roll < 6 || i == 0 {
                // A back edge: may close a cycle (or point at itself).
                name(rng.random_range(i..n))
            } else {
                name(rng.random_range(0..i))
            };
            if !deps.contains(&d) {
                deps.push(d);
            }
        }
        let (conditions, suspend) = match rng.random_range(0..100u32) {
            0..=4 => (
                json!([{"type": "Ready", "status": "False", "reason": "InstallFailed",
                        "message": format!("Helm install failed for release fleet/{} with chart app@1.0.0: timed out", name(i))},
                       {"type": "Stalled", "status": "True", "reason": "RetriesExceeded",
                        "message": "Failed to install after 3 attempt(s)"}]),
                false,
            ),
            5..=9 => (
                json!([{"type": "Ready", "status": "Unknown", "reason": "Progressing",
                        "message": "reconciliation in progress"},
                       {"type": "Reconciling", "status": "True", "reason": "Progressing",
                        "message": "Running 'upgrade' action with timeout of 5m0s"}]),
                false,
            ),
            10 => (json!([]), true),
            11..=60 => (
                json!([{"type": "Ready", "status": "True", "reason": "InstallSucceeded",
                        "message": "Helm install succeeded"}]),
                false,
            ),
            _ => (
                json!([{"type": "Ready", "status": "False", "reason": "DependencyNotReady",
                        "message": "dependency 'fleet/x' is not ready"}]),
                false,
            ),
        };
        let depends_on: Vec<Value> = deps.iter().map(|d| json!({"name": d})).collect();
        objects.push(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name(i), "namespace": "fleet", "generation": 1},
            "spec": {"interval": "10m", "suspend": suspend, "dependsOn": depends_on,
                     "chartRef": {"kind": "OCIRepository", "name": "charts", "namespace": "fleet"}},
            "status": {"observedGeneration": 1, "conditions": conditions},
        }));
    }
    objects.push(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
        "metadata": {"name": "charts", "namespace": "fleet", "generation": 1},
        "spec": {"interval": "10m", "url": "oci://example/charts"},
        "status": {"observedGeneration": 1, "artifact": {"revision": "1.0.0@sha256:ab"},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "ok"}]},
    }));
    objects
}

/// A fixed clock for the snapshot.
pub fn now() -> Timestamp {
    Timestamp::from_second(1_785_585_600).unwrap_or(Timestamp::UNIX_EPOCH)
}
