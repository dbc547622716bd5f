//! Report tests over `tests/fixtures/domain/tree.yaml` and `flux-health.yaml`.

use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::domain::fixtures::load;
use crate::domain::flux::FluxKind;
use crate::domain::tree::{Snapshot, build};

fn now() -> Timestamp {
    "2026-08-01T12:00:00Z".parse().unwrap()
}

fn snapshot(file: &str) -> Snapshot {
    let (mut snap, errors) = Snapshot::from_objects(load(file), now());
    assert!(errors.is_empty(), "{errors:?}");
    snap.helm_manifests.insert(
        ObjectKey::flux(FluxKind::HelmRelease, "apps", "web"),
        vec![ObjectKey::new("apps", "Deployment", "apps", "web")],
    );
    snap
}

const EXPECTED_TREE: &str = r#"Kustomization/flux-system/flux-system ✓ Ready main@sha1:132f4e719209…
├── Kustomization/flux-system/apps ✗ Failed main@sha1:132f4e719209… - HealthCheckFailed: health check failed after 5m0s: timeout waiting for: [HelmRelease/apps/failing status: 'Failed']
│   ├── Kustomization/flux-system/loop-a ✓ Ready
│   │   └── Kustomization/flux-system/loop-b ✓ Ready
│   │       └── Kustomization/flux-system/loop-a ✓ Ready (cycle: already shown above)
│   ├── HelmRelease/apps/failing ✗ Failed - UpgradeFailed: Helm upgrade failed for release apps/failing with chart podinfo@6.6.2: context deadline exceeded
│   │   └── source HelmChart/flux-system/apps-failing ? Unknown - NotFound: not found
│   ├── HelmRelease/apps/podinfo ✓ Ready 6.6.1
│   │   ├── Deployment/apps/podinfo ✓ Ready
│   │   ├── Service/apps/podinfo ✓ Ready
│   │   ├── Service/apps/podinfo-canary ? Unknown - NotFound: not found
│   │   ├── ServiceAccount/apps/podinfo ? Unknown - NotLoaded: not loaded
│   │   └── source HelmChart/flux-system/apps-podinfo ✓ Ready 6.6.1
│   │       └── source HelmRepository/flux-system/podinfo ✓ Ready sha256:8f2ab1
│   ├── HelmRelease/apps/web ✓ Ready 1.2.0
│   │   ├── Deployment/apps/web ✗ Failed - ProgressDeadlineExceeded: Progress deadline exceeded
│   │   └── source OCIRepository/apps/web ✓ Ready 1.2.0@sha256:77aa
│   └── ConfigMap (6) ✓ Ready
│       ├── ConfigMap/apps/config-1 ✓ Ready
│       ├── ConfigMap/apps/config-2 ✓ Ready
│       ├── ConfigMap/apps/config-3 ✓ Ready
│       ├── ConfigMap/apps/config-4 ✓ Ready
│       ├── ConfigMap/apps/config-5 ✓ Ready
│       └── ConfigMap/apps/config-6 ✓ Ready
├── Kustomization/flux-system/infrastructure ✓ Ready main@sha1:132f4e719209…
│   ├── HelmRelease/infra/redis ✓ Ready 19.0.1
│   │   ├── StatefulSet/infra/redis ? Unknown - NotLoaded: not loaded
│   │   └── source HelmChart/flux-system/infra-redis ✓ Ready 19.0.1
│   │       └── source HelmRepository/flux-system/charts ✓ Static
│   ├── HelmRepository/flux-system/charts ✓ Static
│   └── HelmRepository/flux-system/podinfo ✓ Ready sha256:8f2ab1
├── GitRepository/flux-system/flux-system ✓ Ready main@sha1:132f4e719209…
└── Namespace/apps ✓ Ready
Not managed by a Kustomization (3) ✗ Failed
├── HelmRelease/team/orphan ‖ Suspended - Suspended
│   └── source HelmChart/flux-system/team-orphan ? Unknown - NotFound: not found
├── GitRepository/team/other ✗ Failed - GitOperationFailed: failed to checkout and determine revision: authentication required
└── OCIRepository/apps/web ✓ Ready 1.2.0@sha256:77aa
"#;

#[test]
fn tree_text_matches_flux_tree_layout_with_health() {
    let tree = build(&snapshot("tree.yaml"));
    let text = tree_text(&tree, TextOptions::default());
    for (got, want) in text.lines().zip(EXPECTED_TREE.lines()) {
        assert_eq!(got, want);
    }
    assert_eq!(text, EXPECTED_TREE);
}

#[test]
fn ascii_tree_uses_no_unicode() {
    let tree = build(&snapshot("tree.yaml"));
    let text = tree_text(&tree, TextOptions { ascii: true });
    assert!(text.is_ascii(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Kustomization/flux-system/flux-system + Ready main@sha1:132f4e719209"
    );
    assert_eq!(lines[2], "|   |-- Kustomization/flux-system/loop-a + Ready");
    assert_eq!(
        lines[3],
        "|   |   `-- Kustomization/flux-system/loop-b + Ready"
    );
    assert_eq!(lines.len(), EXPECTED_TREE.lines().count());
}

#[test]
fn tree_json_nests_resources_with_health() {
    let tree = build(&snapshot("tree.yaml"));
    let json = tree_json(&tree);
    let roots = json.as_array().unwrap();
    assert_eq!(roots.len(), 2);
    let root = &roots[0];
    assert_eq!(root["resource"]["Name"], "flux-system");
    assert_eq!(
        root["resource"]["GroupKind"]["Group"],
        "kustomize.toolkit.fluxcd.io"
    );
    assert_eq!(root["resource"]["GroupKind"]["Kind"], "Kustomization");
    assert_eq!(root["health"]["state"], "ready");
    assert_eq!(root["health"]["since"], "2026-08-01T11:00:00Z");
    let apps = &root["resources"][0];
    assert_eq!(apps["health"]["state"], "failed");
    assert_eq!(apps["health"]["reason"], "HealthCheckFailed");
    assert_eq!(apps["summary"], "3 failing, 1 not loaded");
    let group = apps["resources"].as_array().unwrap().last().unwrap();
    assert_eq!(group["resource"], Value::Null);
    assert_eq!(group["title"], "ConfigMap");
    assert_eq!(group["relation"], "kindGroup");
    assert_eq!(group["resources"].as_array().unwrap().len(), 6);
    assert_eq!(roots[1]["id"], "unmanaged");
}

#[test]
fn revisions_are_shortened_for_display() {
    let cases = [
        (
            "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc",
            false,
            "main@sha1:132f4e719209…",
        ),
        (
            "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc",
            true,
            "main@sha1:132f4e719209",
        ),
        ("sha256:8f2ab1", false, "sha256:8f2ab1"),
        ("6.6.1", false, "6.6.1"),
        (
            "v1.0.0@sha256:0cc9a8446c95aa0cc9a8446c95",
            false,
            "v1.0.0@sha256:0cc9a8446c95…",
        ),
    ];
    for (rev, ascii, want) in cases {
        assert_eq!(short_revision(rev, ascii), want);
    }
}

#[test]
fn status_lists_objects_that_are_not_ready() {
    let report = status_report(&snapshot("flux-health.yaml"));
    assert_eq!(report.total, 25);
    assert_eq!(report.entries.len(), 20);
    assert!(report.any_failing());
    assert_eq!(report.exit_code(), 1);
    let text = report.text(TextOptions::default());
    let first = text.lines().next().unwrap();
    // The fixture has no sources: what reads one is blocked by it (as in the tree).
    assert_eq!(
        first,
        "Kustomization/flux-system/ks-blocked          ⊘ Blocked    ArtifactFailed: Blocked by GitRepository/flux-system/flux-system: NotFound — GitRepository 'flux-system/flux-system' not found"
    );
    assert!(text.ends_with("20 of 25 Flux objects not ready.\n"));
    assert!(report.text(TextOptions { ascii: true }).is_ascii());
    let json = report.json();
    assert_eq!(json["failing"], true);
    assert_eq!(json["objects"][0]["kind"], "Kustomization");
    assert_eq!(json["objects"][0]["state"], "blocked");
}

#[test]
fn exit_code_ignores_suspended_and_progressing_objects() {
    let pick = |names: &[&str]| {
        let objects = load("flux-health.yaml")
            .into_iter()
            .filter(|o| names.contains(&o["metadata"]["name"].as_str().unwrap()));
        // The source the Kustomizations read, so they are judged on their own state.
        let source = serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
            "spec": {"interval": "1m", "url": "https://example.com/repo"},
            "status": {
                "observedGeneration": 1,
                "artifact": {"revision": "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc",
                    "path": "x", "url": "http://x", "lastUpdateTime": "2026-01-01T00:00:00Z"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                    "message": "stored artifact", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
            }
        });
        status_report(&Snapshot::from_objects(objects.chain([source]), now()).0)
    };
    let calm = pick(&[
        "ks-ready",
        "ks-suspended",
        "ks-reconciling",
        "hr-drifted",
        "helmrepo-oci",
    ]);
    assert_eq!(calm.entries.len(), 3);
    assert_eq!(calm.exit_code(), 0);
    for failing in ["ks-blocked", "ks-stalled", "hr-upgrade-failed"] {
        assert_eq!(pick(&["ks-ready", failing]).exit_code(), 1, "{failing}");
    }
    let all_ready = pick(&["ks-ready", "git-ready"]);
    assert_eq!(
        all_ready.text(TextOptions::default()),
        "All 3 Flux objects are ready.\n"
    );
    assert_eq!(all_ready.exit_code(), 0);
}

#[test]
fn no_objects_is_not_all_ready() {
    let snap = crate::domain::tree::Snapshot::new("2026-11-22T06:45:00Z".parse().unwrap());
    let rep = super::status_report(&snap);
    assert_eq!(
        rep.text(super::TextOptions { ascii: false }),
        "No Flux objects found.\n"
    );
}
