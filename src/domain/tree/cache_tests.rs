//! Rebuilding with a [`TreeCache`]: the same tree as a full build, and work in proportion to
//! what changed.

use proptest::prelude::*;

use super::tests::{
    fleet_deployment, fleet_of, fleet_release, fleet_release_with, fleet_repository,
};
use super::*;
use crate::domain::deps::analyze;
use crate::domain::flux::{FluxKind, FluxObject, ObjectKind};

/// Build with the cache and check the result against a build from scratch.
fn rebuild(snap: &Snapshot, cache: &mut TreeCache) -> Tree {
    let analysis = analyze(snap);
    let tree = build_cached(snap, &analysis, cache);
    assert_eq!(tree, build_with(snap, &analysis), "cached build differs");
    tree
}

/// The fleet with its chart repository ready (so not every release waits on it).
fn fleet(teams: usize) -> Snapshot {
    let mut snap = fleet_of(teams);
    snap.insert_flux(fleet_repository(Some(true)));
    snap
}

fn release_key(k: usize, h: usize) -> ObjectKey {
    ObjectKey::flux(
        FluxKind::HelmRelease,
        &format!("team-{k}"),
        &format!("app-{h}"),
    )
}

#[test]
fn a_rebuild_with_nothing_changed_builds_only_the_kustomization_levels() {
    let snap = fleet(50);
    let mut cache = TreeCache::default();
    let first = rebuild(&snap, &mut cache);
    let everything = cache.built();
    assert_eq!(everything, first.len(), "the first build makes every node");
    let second = rebuild(&snap, &mut cache);
    // 500 HelmReleases (5 of them failing, with ready objects): every subtree is reused.
    assert_eq!(cache.reused(), 500);
    // The root, 50 Kustomizations and the repository the root lists: nothing else.
    assert_eq!(
        cache.built(),
        52,
        "{} of {} nodes",
        cache.built(),
        second.len()
    );
    // Reused subtrees are shared, not copied.
    let release = &second.roots[0].children[0].children[0];
    let before = &first.roots[0].children[0].children[0];
    assert!(release.children.same(&before.children));
}

#[test]
fn changed_releases_build_only_their_own_subtrees() {
    let mut snap = fleet(50);
    let mut cache = TreeCache::default();
    rebuild(&snap, &mut cache);
    let per_release = 1 + 3 + 1 + 1; // the release, 3 objects, its chart, the chart's repository
    for n in [1usize, 7, 40] {
        for i in 0..n {
            snap.insert_flux(fleet_release(i % 50, i / 50, &format!("changed {n}")));
        }
        rebuild(&snap, &mut cache);
        assert_eq!(cache.reused(), 500 - n);
        assert_eq!(cache.built(), 52 + n * per_release, "{n} changed releases");
    }
}

#[test]
fn a_subtree_that_depends_on_the_clock_is_built_every_time() {
    let mut snap = fleet(5);
    // An unready Deployment has its own progress deadline: the clock changes nothing.
    snap.insert_managed(fleet_deployment(2, 3, false));
    // team-4/app-0 installs a StatefulSet that is not ready: past the release's timeout it
    // is stuck, with no change to any object.
    snap.insert_flux(
        FluxObject::from_value(serde_json::json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "app-0", "namespace": "team-4", "generation": 1},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "app", "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}}},
            "status": {"observedGeneration": 1, "helmChart": "flux-system/team-4-app-0",
                "inventory": {"entries": [{"id": "team-4_app-0_apps_StatefulSet", "v": "v1"}]},
                "conditions": [{"type": "Ready", "status": "True", "reason": "InstallSucceeded", "message": "m"}]}
        }))
        .unwrap(),
    );
    snap.mark_loaded(ObjectKind::new("apps", "StatefulSet"), None);
    snap.insert_managed(std::sync::Arc::new(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "app-0", "namespace": "team-4", "generation": 1,
            "creationTimestamp": snap.now.to_string()},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0,
            "currentReplicas": 1, "updatedReplicas": 1}})));
    let mut cache = TreeCache::default();
    let before = rebuild(&snap, &mut cache);
    rebuild(&snap, &mut cache);
    assert_eq!(
        cache.reused(),
        49,
        "only the release with the StatefulSet is built again"
    );
    snap.now = snap
        .now
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(600))
        .unwrap();
    let after = rebuild(&snap, &mut cache);
    assert_ne!(before, after, "ten minutes later the StatefulSet is stuck");
}

/// One change to the fleet.
#[derive(Clone, Debug)]
enum Change {
    Message(usize, usize, u8),
    /// A release failing or not, depending on another one or not.
    Release(usize, usize, bool, Option<(usize, usize)>),
    Deployment(usize, usize, bool),
    RemoveDeployment(usize, usize),
    RemoveRelease(usize, usize),
    Repository(Option<bool>),
    ConfigMapsWatched(bool),
    Clock(i64),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..2usize, 0..5usize, 0..3u8).prop_map(|(k, h, m)| Change::Message(k, h, m)),
        (0..2usize, 0..5usize, any::<bool>()).prop_map(|(k, h, r)| Change::Deployment(k, h, r)),
        (
            0..2usize,
            0..5usize,
            any::<bool>(),
            prop::option::of((0..2usize, 0..5usize))
        )
            .prop_map(|(k, h, f, d)| Change::Release(k, h, f, d)),
        (0..2usize, 0..5usize).prop_map(|(k, h)| Change::RemoveDeployment(k, h)),
        (0..2usize, 0..5usize).prop_map(|(k, h)| Change::RemoveRelease(k, h)),
        prop_oneof![Just(None), Just(Some(true)), Just(Some(false))].prop_map(Change::Repository),
        any::<bool>().prop_map(Change::ConfigMapsWatched),
        (0..4000i64).prop_map(Change::Clock),
    ]
}

fn apply(snap: &mut Snapshot, change: &Change) {
    let configmaps = ObjectKind::new("", "ConfigMap");
    match change {
        Change::Message(k, h, m) => snap.insert_flux(fleet_release(*k, *h, &format!("m{m}"))),
        Change::Release(k, h, failed, depends_on) => {
            let reason = failed.then_some("DependencyNotReady");
            snap.insert_flux(fleet_release_with(*k, *h, "m", reason, *depends_on));
        }
        Change::Deployment(k, h, ready) => {
            snap.insert_managed(fleet_deployment(*k, *h, *ready));
        }
        Change::RemoveDeployment(k, h) => {
            let key = ObjectKey::new(
                "apps",
                "Deployment",
                &format!("team-{k}"),
                &format!("app-{h}"),
            );
            snap.managed.remove(&key);
        }
        Change::RemoveRelease(k, h) => {
            snap.flux.remove(&release_key(*k, *h));
        }
        Change::Repository(ready) => snap.insert_flux(fleet_repository(*ready)),
        Change::ConfigMapsWatched(true) => snap.mark_loaded(configmaps, None),
        Change::ConfigMapsWatched(false) => {
            snap.loaded.retain(|s| s.kind != configmaps);
            snap.managed.retain(|k, _| k.kind != configmaps);
        }
        Change::Clock(seconds) => {
            if let Ok(now) = snap
                .now
                .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(*seconds))
            {
                snap.now = now;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever changes between rebuilds, the cached build equals a build from scratch.
    #[test]
    fn a_cached_build_is_a_full_build(rounds in prop::collection::vec(prop::collection::vec(change(), 0..4), 1..6)) {
        let mut snap = fleet(2);
        let mut cache = TreeCache::default();
        rebuild(&snap, &mut cache);
        for round in &rounds {
            for c in round {
                apply(&mut snap, c);
            }
            rebuild(&snap, &mut cache);
        }
    }
}

#[test]
fn a_release_whose_dependency_starts_failing_is_built_again() {
    let mut snap = fleet(2);
    // team-1/app-2 waits on team-0/app-3 (its controller says the dependency is not ready).
    snap.insert_flux(fleet_release_with(
        1,
        2,
        "dependencies do not meet ready condition",
        Some("DependencyNotReady"),
        Some((0, 3)),
    ));
    let mut cache = TreeCache::default();
    rebuild(&snap, &mut cache);
    // The dependency fails: the waiting release's object is the same, its verdict is not.
    snap.insert_flux(fleet_release_with(
        0,
        3,
        "upgrade failed",
        Some("UpgradeFailed"),
        None,
    ));
    let tree = rebuild(&snap, &mut cache);
    let waiting = tree
        .path_of(&release_key(1, 2))
        .and_then(|p| tree.find(&p).map(|n| n.health.clone()));
    assert!(
        waiting
            .as_ref()
            .is_some_and(|h| h.message.contains("team-0/app-3")),
        "{waiting:?}"
    );
}
