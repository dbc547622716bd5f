//! Correctness at scale: 5,000 HelmReleases with seeded random dependencies (cycles,
//! missing dependencies, failing, progressing and suspended releases), checked against
//! brute-force answers on a sample.

use std::collections::{HashMap, HashSet, VecDeque};

use k8s_openapi::jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::*;
use crate::domain::tree::Snapshot;

const N: usize = 5_000;

fn name(i: usize) -> String {
    format!("hr-{i:04}")
}

fn key(i: usize) -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "fleet", &name(i))
}

/// The fleet and its dependency lists (indices; `N + k` is a missing release).
fn fleet(seed: u64) -> (Vec<Value>, Vec<Vec<usize>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut deps = vec![Vec::new(); N];
    let mut objects = Vec::with_capacity(N);
    for (i, list) in deps.iter_mut().enumerate() {
        let count = rng.random_range(0..4usize);
        for _ in 0..count {
            let roll = rng.random_range(0..100u32);
            let d = if roll < 2 {
                N + rng.random_range(0..20usize)
            } else if roll < 6 || i == 0 {
                // A back edge: may close a loop (or point at itself).
                rng.random_range(i..N)
            } else {
                rng.random_range(0..i)
            };
            if !list.contains(&d) {
                list.push(d);
            }
        }
        let state = rng.random_range(0..100u32);
        let (conditions, suspend) = match state {
            0..=4 => (
                json!([{"type": "Ready", "status": "False", "reason": "InstallFailed",
                        "message": format!("Helm install failed for release fleet/{} with chart app@1.0.0: boom", name(i))},
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
        let depends_on: Vec<Value> = list
            .iter()
            .map(|&d| {
                if d >= N {
                    json!({"name": format!("missing-{}", d - N)})
                } else {
                    json!({"name": name(d)})
                }
            })
            .collect();
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
    (objects, deps)
}

fn reaches(deps: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<usize> = deps[from].iter().copied().collect();
    while let Some(u) = queue.pop_front() {
        if u == to {
            return true;
        }
        if u < N && seen.insert(u) {
            queue.extend(deps[u].iter().copied());
        }
    }
    false
}

fn dependents_count(reverse: &HashMap<usize, Vec<usize>>, of: usize) -> usize {
    let mut seen = HashSet::from([of]);
    let mut queue = VecDeque::from([of]);
    while let Some(u) = queue.pop_front() {
        for &d in reverse.get(&u).into_iter().flatten() {
            if seen.insert(d) {
                queue.push_back(d);
            }
        }
    }
    seen.len() - 1
}

#[test]
fn five_thousand_random_releases() {
    let now: Timestamp = "2026-08-01T12:00:00Z".parse().unwrap();
    let (objects, deps) = fleet(0x5eed);
    let (snap, errors) = Snapshot::from_objects(objects, now);
    assert!(errors.is_empty());
    let a = analyze(&snap);

    let mut reverse: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, list) in deps.iter().enumerate() {
        for &d in list {
            reverse.entry(d).or_default().push(i);
        }
    }
    let in_cycle: HashSet<ObjectKey> = a.cycles().iter().flat_map(|c| c.members.clone()).collect();
    assert!(!a.cycles().is_empty(), "the seed produces cycles");

    // Every cycle path is a real closed loop inside its component.
    for c in a.cycles() {
        assert_eq!(c.path.first(), c.path.last());
        assert_eq!(c.path[0], c.members[0]);
        for w in c.path.windows(2) {
            let from = w[0]
                .name
                .trim_start_matches("hr-")
                .parse::<usize>()
                .unwrap();
            let to = w[1]
                .name
                .trim_start_matches("hr-")
                .parse::<usize>()
                .unwrap();
            assert!(deps[from].contains(&to), "{} → {}", w[0], w[1]);
            assert!(c.members.contains(&w[1]));
        }
    }

    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..300 {
        let i = rng.random_range(0..N);
        let k = key(i);
        let cyclic = reaches(&deps, i, i);
        assert_eq!(in_cycle.contains(&k), cyclic, "{k}");
        assert_eq!(a.blocks(&k), dependents_count(&reverse, i), "{k}");
        let w = a.why(&k).unwrap();
        match w.verdict {
            Verdict::Cycle => {
                assert!(cyclic);
                let path = w.cycle.as_ref().unwrap();
                assert_eq!(path.first(), Some(&k));
                assert_eq!(path.last(), Some(&k));
            }
            Verdict::Blocked | Verdict::Waiting => {
                let root = w.root.as_ref().unwrap();
                assert!(!matches!(root.verdict, Verdict::Blocked | Verdict::Waiting));
                assert_eq!(w.verdict == Verdict::Blocked, root.verdict.is_stuck());
                assert!(!w.hops.is_empty());
                assert_eq!(w.hops[0].from, k);
                for pair in w.hops.windows(2) {
                    assert_eq!(pair[0].to, pair[1].from);
                }
                if root.verdict != Verdict::Cycle {
                    assert_eq!(w.hops.last().unwrap().to, root.key);
                }
                assert!(w.upstream.contains(&root.key));
            }
            _ => assert!(w.hops.iter().all(|h| h.from == k)),
        }
    }

    let groups = a.root_groups();
    let grouped: usize = groups.iter().map(|g| g.dependents.len()).sum();
    let expected = (0..N)
        .filter(|&i| {
            let w = a.why(&key(i)).unwrap();
            matches!(w.verdict, Verdict::Blocked | Verdict::Waiting)
                || (w.verdict == Verdict::Cycle && w.root.is_some_and(|r| r.key != key(i)))
        })
        .count();
    assert_eq!(grouped, expected);
}
