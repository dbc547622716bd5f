//! Tree tests over `tests/fixtures/domain/tree.yaml` and a generated fleet at scale.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::*;
use crate::domain::fixtures::load;
use crate::domain::flux::{FluxKind, FluxObject, ObjectKey};
use crate::domain::health::{Health, reasons};

fn now() -> Timestamp {
    "2026-08-01T12:00:00Z".parse().unwrap()
}

fn fixture_snapshot() -> Snapshot {
    let (mut snap, errors) = Snapshot::from_objects(load("tree.yaml"), now());
    assert!(errors.is_empty(), "{errors:?}");
    snap.helm_manifests.insert(
        ObjectKey::flux(FluxKind::HelmRelease, "apps", "web"),
        vec![
            ObjectKey::new("apps", "Deployment", "apps", "web"),
            ObjectKey::new("", "Secret", "apps", "web-tls"),
        ],
    );
    snap
}

fn id(kind: FluxKind, ns: &str, name: &str) -> String {
    format!("{}.{}/{ns}/{name}", kind.as_str(), kind.group())
}

fn ks(name: &str) -> String {
    id(FluxKind::Kustomization, "flux-system", name)
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

#[test]
fn builds_roots_inventory_children_and_unmanaged_group() {
    let tree = build(&fixture_snapshot());
    let root_ids: Vec<String> = tree.roots.iter().map(|n| n.id().into_owned()).collect();
    assert_eq!(root_ids, vec![ks("flux-system").as_str(), UNMANAGED_ID]);

    let root = &tree.roots[0];
    let child_ids: Vec<String> = root.children.iter().map(|n| n.id().into_owned()).collect();
    assert_eq!(
        child_ids,
        vec![
            ks("apps").as_str(),
            ks("infrastructure").as_str(),
            id(FluxKind::GitRepository, "flux-system", "flux-system").as_str(),
            "Namespace//apps",
        ],
        "self reference skipped, Flux kinds first"
    );
    assert_eq!(
        root.revision.as_deref(),
        Some("main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc")
    );
    assert_eq!(root.age_seconds(now()), Some(3600));

    let unmanaged = &tree.roots[1];
    assert_eq!(unmanaged.kind_label(), "Not managed by a Kustomization");
    let labels: Vec<String> = unmanaged.children.iter().map(Node::label).collect();
    assert_eq!(
        labels,
        vec![
            "HelmRelease/team/orphan",
            "GitRepository/team/other",
            "OCIRepository/apps/web"
        ],
        "generated HelmCharts are not listed as unmanaged"
    );
    assert_eq!(unmanaged.children[0].health.health, Health::Suspended);
    assert_eq!(unmanaged.health.health, Health::Failed, "worst child");
}

#[test]
fn helm_releases_show_objects_and_source_chain() {
    let tree = build(&fixture_snapshot());
    let hr = id(FluxKind::HelmRelease, "apps", "podinfo");
    let podinfo = tree
        .find(&path(&[&ks("flux-system"), &ks("apps"), &hr]))
        .unwrap();
    assert_eq!(podinfo.revision.as_deref(), Some("6.6.1"));
    let ids: Vec<String> = podinfo
        .children
        .iter()
        .map(|n| n.id().into_owned())
        .collect();
    let chart = format!(
        "source:{}",
        id(FluxKind::HelmChart, "flux-system", "apps-podinfo")
    );
    assert_eq!(
        ids,
        vec![
            "Deployment.apps/apps/podinfo",
            "Service/apps/podinfo",
            "Service/apps/podinfo-canary",
            "ServiceAccount/apps/podinfo",
            chart.as_str(),
        ]
    );
    let state = |n: &Node| (n.health.health, n.health.reason.clone());
    assert_eq!(
        state(&podinfo.children[0]),
        (Health::Ready, "Current".into())
    );
    assert_eq!(
        state(&podinfo.children[2]),
        (Health::Unknown, reasons::NOT_FOUND.into())
    );
    assert_eq!(
        state(&podinfo.children[3]),
        (Health::Unknown, reasons::NOT_LOADED.into())
    );
    let source = &podinfo.children[4];
    assert_eq!(source.relation, Relation::Source);
    assert_eq!(source.revision.as_deref(), Some("6.6.1"));
    assert_eq!(source.children.len(), 1);
    assert_eq!(
        source.children[0].label(),
        "HelmRepository/flux-system/podinfo"
    );
    assert_eq!(source.children[0].health.health, Health::Ready);
    assert_eq!(podinfo.summary().describe(), "1 failing, 1 not loaded");

    // Without status.inventory the manifest of the Helm release record is used.
    let web = tree
        .find(&path(&[
            &ks("flux-system"),
            &ks("apps"),
            &id(FluxKind::HelmRelease, "apps", "web"),
        ]))
        .unwrap();
    let labels: Vec<(String, Relation)> = web
        .children
        .iter()
        .map(|n| (n.label(), n.relation))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("Deployment/apps/web".to_string(), Relation::Manifest),
            ("Secret/apps/web-tls".to_string(), Relation::Manifest),
            ("OCIRepository/apps/web".to_string(), Relation::Source),
        ]
    );
    assert_eq!(web.children[0].health.reason, "ProgressDeadlineExceeded");

    // Static OCI HelmRepository at the end of redis' source chain.
    let redis = tree
        .path_of(&ObjectKey::flux(FluxKind::HelmRelease, "infra", "redis"))
        .unwrap();
    let redis = tree.find(&redis).unwrap();
    let repo = &redis.children[1].children[0];
    assert_eq!(
        (repo.health.health, repo.health.reason.as_str()),
        (Health::Ready, "Static")
    );
}

#[test]
fn groups_many_objects_of_one_kind_and_stops_at_cycles() {
    let tree = build(&fixture_snapshot());
    let apps = tree
        .find(&path(&[&ks("flux-system"), &ks("apps")]))
        .unwrap();
    let group = apps
        .children
        .iter()
        .find(|n| n.id() == "group:ConfigMap")
        .unwrap();
    assert_eq!(group.relation, Relation::KindGroup);
    assert_eq!(group.children.len(), 6);
    assert_eq!(group.health.health, Health::Ready);
    assert_eq!(group.message(), "6 objects");

    let loop_b = tree
        .find(&path(&[
            &ks("flux-system"),
            &ks("apps"),
            &ks("loop-a"),
            &ks("loop-b"),
        ]))
        .unwrap();
    assert_eq!(loop_b.children.len(), 1);
    assert!(loop_b.children[0].cycle);
    assert!(loop_b.children[0].children.is_empty());

    // A cycle nobody else lists still shows up, once.
    let mut snap = Snapshot::new(now());
    snap.mark_flux_loaded();
    for obj in load("tree.yaml") {
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        if name.starts_with("loop-") {
            snap.insert_flux(FluxObject::from_value(obj).unwrap());
        }
    }
    let tree = build(&snap);
    assert_eq!(tree.roots.len(), 1);
    assert_eq!(tree.roots[0].id(), ks("loop-a"));
    assert_eq!(tree.len(), 3);
}

#[test]
fn summaries_and_totals_count_objects_once() {
    let tree = build(&fixture_snapshot());
    let totals = tree.totals();
    // failing: apps KS, failing HR, its missing HelmChart is a source line (not counted),
    // web Deployment, podinfo-canary (not found), team/other.
    assert_eq!(totals.get(Health::Failed), 4);
    assert_eq!(totals.get(Health::Unknown), 1);
    assert_eq!(totals.get(Health::Suspended), 1);
    // Not loaded: two objects; web's Secret is never watched and counted nowhere.
    assert_eq!(totals.not_loaded, 2);
    assert_eq!(totals.failing(), 5);
    let apps = tree
        .find(&path(&[&ks("flux-system"), &ks("apps")]))
        .unwrap();
    assert_eq!(apps.summary().describe(), "3 failing, 1 not loaded");
}

#[test]
fn secrets_are_shown_as_not_watched_without_claiming_a_state() {
    let tree = build(&fixture_snapshot());
    let rows = tree.all_rows();
    let secret = rows
        .iter()
        .find(|r| r.node.label() == "Secret/apps/web-tls")
        .expect("the Secret in web's manifest has a row");
    assert_eq!(secret.node.health.health, Health::Unknown);
    assert_eq!(secret.node.health.reason, reasons::NOT_WATCHED);
    assert!(!secret.node.health.is_problem());
    // Problems mode does not list it.
    let problems = build(&fixture_snapshot()).problems();
    assert!(
        problems
            .all_rows()
            .iter()
            .all(|r| r.node.label() != "Secret/apps/web-tls")
    );
}

#[test]
fn problems_keep_unhealthy_objects_and_ancestors() {
    let tree = build(&fixture_snapshot()).problems();
    let labels: Vec<String> = tree.all_rows().iter().map(|r| r.node.label()).collect();
    assert_eq!(
        labels,
        vec![
            "Kustomization/flux-system/flux-system",
            "Kustomization/flux-system/apps",
            "HelmRelease/apps/failing",
            "HelmChart/flux-system/apps-failing",
            "HelmRelease/apps/podinfo",
            "Service/apps/podinfo-canary",
            "HelmRelease/apps/web",
            "Deployment/apps/web",
            "Not managed by a Kustomization",
            "HelmRelease/team/orphan",
            "HelmChart/flux-system/team-orphan",
            "GitRepository/team/other",
        ]
    );
}

#[test]
fn filters_by_text_namespace_kind_and_state() {
    let tree = build(&fixture_snapshot());
    let matching = |q: &str| -> Vec<String> {
        let f = Filter::parse(q).unwrap();
        tree.filtered(&f)
            .all_rows()
            .iter()
            .filter(|r| f.matches(r.node))
            .map(|r| r.node.label())
            .collect()
    };
    assert_eq!(
        matching("kind:hr ns:apps"),
        vec![
            "HelmRelease/apps/failing",
            "HelmRelease/apps/podinfo",
            "HelmRelease/apps/web"
        ]
    );
    assert_eq!(
        matching("state:failed kind:HelmRelease"),
        vec!["HelmRelease/apps/failing"]
    );
    assert_eq!(matching("canary"), vec!["Service/apps/podinfo-canary"]);
    // namespace/name as shown on the row, and the kind as text.
    assert_eq!(matching("apps/web-"), vec!["Secret/apps/web-tls"]);
    assert!(matching("apps/web").contains(&"HelmRelease/apps/web".to_string()));
    assert_eq!(matching("deployment web"), vec!["Deployment/apps/web"]);
    assert_eq!(
        matching("TEAM state:suspended"),
        vec!["HelmRelease/team/orphan"]
    );
    assert_eq!(
        matching("kind:deployment"),
        vec!["Deployment/apps/podinfo", "Deployment/apps/web"]
    );
    assert_eq!(
        matching("state:problem ns:team"),
        vec!["GitRepository/team/other"]
    );
    // Ancestors are kept around matches.
    let f = Filter::parse("canary").unwrap();
    assert_eq!(tree.filtered(&f).all_rows().len(), 4);
    assert!(Filter::parse("").unwrap().is_empty());
    assert_eq!(tree.filtered(&Filter::default()), tree);
    assert_eq!(
        Filter::parse("state:bogus"),
        Err(FilterError::UnknownState("bogus".into()))
    );
    assert_eq!(
        Filter::parse("ns:"),
        Err(FilterError::EmptyValue("ns:".into()))
    );
}

#[test]
fn rows_follow_expansion_and_draw_lines() {
    let tree = build(&fixture_snapshot());
    let collapsed = tree.rows(&HashSet::new());
    assert_eq!(collapsed.len(), 2);
    assert!(collapsed[0].has_children && !collapsed[0].expanded);

    let mut expanded = HashSet::new();
    expanded.insert(path(&[&ks("flux-system")]));
    expanded.insert(path(&[&ks("flux-system"), &ks("infrastructure")]));
    // Expanding a node under a collapsed parent shows nothing extra.
    expanded.insert(path(&[
        &ks("flux-system"),
        &ks("apps"),
        &id(FluxKind::HelmRelease, "apps", "web"),
    ]));
    let rows = tree.rows(&expanded);
    let drawn: Vec<String> = rows
        .iter()
        .map(|r| format!("{}{}", r.prefix(false), r.node.label()))
        .collect();
    assert_eq!(
        drawn,
        vec![
            "Kustomization/flux-system/flux-system",
            "├── Kustomization/flux-system/apps",
            "├── Kustomization/flux-system/infrastructure",
            "│   ├── HelmRelease/infra/redis",
            "│   ├── HelmRepository/flux-system/charts",
            "│   └── HelmRepository/flux-system/podinfo",
            "├── GitRepository/flux-system/flux-system",
            "└── Namespace/apps",
            "Not managed by a Kustomization",
        ]
    );
    assert_eq!(rows[3].prefix(true), "|   |-- ");
    assert_eq!(
        rows[3].path,
        tree.path_of(&ObjectKey::flux(FluxKind::HelmRelease, "infra", "redis"))
            .unwrap()
    );
}

/// 500 Kustomizations with 10 HelmReleases each, every release owning a Deployment, a
/// Service and a ConfigMap.
pub(super) fn fleet() -> Snapshot {
    fleet_of(500)
}

/// A HelmRelease of the fleet: team `k`, app `h`, with this Ready message.
pub(super) fn fleet_release(k: usize, h: usize, message: &str) -> FluxObject {
    let failed = (k * 10 + h).is_multiple_of(100);
    fleet_release_with(k, h, message, failed.then_some("UpgradeFailed"), None)
}

/// A HelmRelease of the fleet, not ready for a reason or ready, depending on another one
/// (team, app) or not.
pub(super) fn fleet_release_with(
    k: usize,
    h: usize,
    message: &str,
    failed: Option<&str>,
    depends_on: Option<(usize, usize)>,
) -> FluxObject {
    let ns = format!("team-{k}");
    let name = format!("app-{h}");
    let depends_on: Vec<serde_json::Value> = depends_on
        .into_iter()
        .map(|(k, h)| json!({"name": format!("app-{h}"), "namespace": format!("team-{k}")}))
        .collect();
    FluxObject::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {"interval": "10m", "dependsOn": depends_on, "chart": {"spec": {"chart": "app", "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}}},
        "status": {"observedGeneration": 1, "helmChart": format!("flux-system/{ns}-{name}"),
            "inventory": {"entries": [
                {"id": format!("{ns}_{name}_apps_Deployment"), "v": "v1"},
                {"id": format!("{ns}_{name}__Service"), "v": "v1"},
                {"id": format!("{ns}_{name}__ConfigMap"), "v": "v1"}]},
            "conditions": [{"type": "Ready", "status": if failed.is_some() { "False" } else { "True" },
                "reason": failed.unwrap_or("UpgradeSucceeded"), "message": message}]}
    }))
    .unwrap()
}

/// The fleet's Deployment of team `k`, app `h`, ready or not.
pub(super) fn fleet_deployment(k: usize, h: usize, ready: bool) -> Arc<serde_json::Value> {
    let ready = u8::from(ready);
    Arc::new(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("app-{h}"), "namespace": format!("team-{k}")},
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "updatedReplicas": 1, "readyReplicas": ready, "availableReplicas": ready,
            "conditions": [{"type": "Available", "status": if ready == 1 { "True" } else { "False" }}]}}))
}

/// The fleet's HelmRepository, with a Ready condition or none.
pub(super) fn fleet_repository(ready: Option<bool>) -> FluxObject {
    let status = match ready {
        None => json!({}),
        Some(ok) => json!({"observedGeneration": 1, "conditions": [{"type": "Ready",
            "status": if ok { "True" } else { "False" },
            "reason": if ok { "Succeeded" } else { "FailedToFetch" }, "message": "index"}]}),
    };
    FluxObject::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": "flux-system", "generation": 1},
        "spec": {"type": "oci", "url": "oci://ghcr.io/example/charts"}, "status": status
    }))
    .unwrap()
}

/// `teams` Kustomizations of 10 HelmReleases each (one in a hundred failing), each release
/// with a Deployment, a Service, a ConfigMap and its HelmChart, under one root.
pub(super) fn fleet_of(teams: usize) -> Snapshot {
    let mut snap = Snapshot::new(now());
    snap.mark_flux_loaded();
    for k in ["Deployment", "Service", "ConfigMap"] {
        let group = if k == "Deployment" { "apps" } else { "" };
        snap.mark_loaded(crate::domain::flux::ObjectKind::new(group, k), None);
    }
    let ready = json!([{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
        "message": "Applied revision: main@sha1:1", "lastTransitionTime": "2026-08-01T11:00:00Z"}]);
    let mut root_entries = Vec::new();
    for k in 0..teams {
        let ns = format!("team-{k}");
        let mut entries = Vec::new();
        for h in 0..10 {
            let name = format!("app-{h}");
            entries.push(
                json!({"id": format!("{ns}_{name}_helm.toolkit.fluxcd.io_HelmRelease"), "v": "v2"}),
            );
            snap.insert_flux(fleet_release(k, h, "m"));
            snap.insert_flux(FluxObject::from_value(json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
                "metadata": {"name": format!("{ns}-{name}"), "namespace": "flux-system", "generation": 1},
                "spec": {"chart": "app", "sourceRef": {"kind": "HelmRepository", "name": "charts"}},
                "status": {"observedGeneration": 1, "artifact": {"revision": "1.0.0"}, "conditions": ready}
            })).unwrap());
            snap.insert_managed(fleet_deployment(k, h, true));
            snap.insert_managed(Arc::new(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": "10.0.0.1"}})));
            snap.insert_managed(Arc::new(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": ns}})));
        }
        let ks_name = format!("apps-{k}");
        root_entries.push(json!({"id": format!("flux-system_{ks_name}_kustomize.toolkit.fluxcd.io_Kustomization"), "v": "v1"}));
        snap.insert_flux(FluxObject::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": ks_name, "namespace": "flux-system", "generation": 1},
            "spec": {"interval": "10m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
            "status": {"observedGeneration": 1, "inventory": {"entries": entries}, "conditions": ready}
        })).unwrap());
    }
    root_entries.push(
        json!({"id": "flux-system_charts_source.toolkit.fluxcd.io_HelmRepository", "v": "v1"}),
    );
    snap.insert_flux(fleet_repository(None));
    snap.insert_flux(FluxObject::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
        "spec": {"interval": "10m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"observedGeneration": 1, "inventory": {"entries": root_entries}, "conditions": ready}
    })).unwrap());
    snap
}

#[test]
fn builds_a_large_fleet_correctly() {
    let snap = fleet();
    let tree = build(&snap);
    assert_eq!(
        tree.roots.len(),
        1,
        "HelmCharts are generated, nothing is unmanaged"
    );
    let root = &tree.roots[0];
    assert_eq!(root.children.len(), 501);
    // root + HelmRepository + 500 KS + 5000 × (HR + 3 objects + HelmChart + HelmRepository)
    assert_eq!(tree.len(), 1 + 1 + 500 + 5000 * 6);
    let totals = tree.totals();
    assert_eq!(totals.get(Health::Failed), 50);
    assert_eq!(
        totals.get(Health::Ready),
        1 + 1 + 500 + 4950 + 15000,
        "source lines not counted"
    );
    assert_eq!(root.summary().failing(), 50);
    assert_eq!(tree.problems().all_rows().len(), 1 + 50 + 50);
}

#[test]
fn objects_applied_by_a_kustomization_out_of_view_are_grouped_under_it() {
    let hr = |name: &str, labels: serde_json::Value| {
        json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "staging", "generation": 1, "labels": labels},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "redis",
                "sourceRef": {"kind": "HelmRepository", "name": "bitnami", "namespace": "flux-system"}}}},
        })
    };
    let labelled = json!({
        "kustomize.toolkit.fluxcd.io/name": "staging",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
    });
    let objects = vec![
        hr("redis", labelled.clone()),
        hr("backend", labelled),
        hr("adhoc", json!({})),
    ];
    let (snap, errors) = Snapshot::from_objects(objects, now());
    assert!(errors.is_empty(), "{errors:?}");
    let tree = build(&snap);
    let ids: Vec<_> = tree.roots.iter().map(|r| r.id()).collect();
    let roots: Vec<(&str, &str)> = tree
        .roots
        .iter()
        .zip(&ids)
        .map(|(r, id)| (id.as_ref(), r.kind_label()))
        .collect();
    assert_eq!(
        roots,
        vec![
            (
                "applied-by:flux-system/staging",
                "Applied by Kustomization flux-system/staging (not in view)"
            ),
            (UNMANAGED_ID, "Not managed by a Kustomization"),
        ]
    );
    let names: Vec<&str> = tree.roots[0].children.iter().map(|n| n.name()).collect();
    assert_eq!(names, vec!["backend", "redis"]);
    assert_eq!(tree.roots[1].children[0].name(), "adhoc");
}

/// A HelmRelease in `staging` labelled as applied by `flux-system/staging`, failing or not.
fn staging_release(name: &str, ready: bool) -> serde_json::Value {
    let status = if ready { "True" } else { "False" };
    let reason = if ready {
        "InstallSucceeded"
    } else {
        "InstallFailed"
    };
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "staging", "generation": 1, "labels": {
            "kustomize.toolkit.fluxcd.io/name": "staging",
            "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
        }},
        "spec": {"interval": "10m", "chart": {"spec": {"chart": "redis",
            "sourceRef": {"kind": "HelmRepository", "name": "bitnami", "namespace": "flux-system"}}}},
        "status": {"observedGeneration": 1, "conditions": [{
            "type": "Ready", "status": status, "reason": reason, "message": "m",
            "lastTransitionTime": "2026-08-01T11:00:00Z"}]},
    })
}

#[test]
fn a_group_for_an_applier_out_of_view_does_not_borrow_a_failing_childs_state() {
    let objects = vec![
        staging_release("redis", false),
        staging_release("backend", true),
    ];
    let (snap, errors) = Snapshot::from_objects(objects, now());
    assert!(errors.is_empty(), "{errors:?}");
    let tree = build(&snap);
    let group = &tree.roots[0];
    assert_eq!(
        group.kind_label(),
        "Applied by Kustomization flux-system/staging (not in view)"
    );
    // The Kustomization is not in the snapshot: its state is not known, not Failed.
    assert_ne!(group.health.health, Health::Failed);
    assert!(group.health.is_not_loaded(), "{:?}", group.health);
    // The failing release keeps its own state, and the group's summary still counts it.
    let redis = group.children.iter().find(|c| c.name() == "redis").unwrap();
    assert_eq!(redis.health.health, Health::Failed);
    assert_eq!(group.summary().get(Health::Failed), 1);
}

#[test]
fn a_group_for_an_applier_in_view_shows_that_kustomizations_verdict() {
    let kustomization = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "staging", "namespace": "flux-system", "generation": 1},
        "spec": {"interval": "10m", "path": "./staging", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"observedGeneration": 1, "conditions": [{
            "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
            "message": "Applied revision: main@sha1:abc",
            "lastTransitionTime": "2026-08-01T11:00:00Z"}]},
    });
    let objects = vec![kustomization, staging_release("redis", false)];
    let (snap, errors) = Snapshot::from_objects(objects, now());
    assert!(errors.is_empty(), "{errors:?}");
    let tree = build(&snap);
    let group = tree
        .roots
        .iter()
        .find(|r| r.id().starts_with("applied-by:"))
        .unwrap();
    assert_eq!(
        group.kind_label(),
        "Applied by Kustomization flux-system/staging"
    );
    assert_eq!(group.health.health, Health::Ready);
}

/// Heap bytes and allocations owned by a string (by capacity; allocator overhead not
/// counted).
fn string_heap(len: usize) -> (usize, usize) {
    (len, usize::from(len > 0))
}

fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0 + b.0, a.1 + b.1)
}

/// Heap bytes and allocations owned by an object key (counted as if its strings were not
/// shared with other keys).
fn key_heap(key: &ObjectKey) -> (usize, usize) {
    let kind = match &key.kind {
        crate::domain::flux::ObjectKind::Flux(_) => (0, 0),
        crate::domain::flux::ObjectKind::Other(gk) => {
            add(string_heap(gk.group.len()), string_heap(gk.kind.len()))
        }
    };
    add(
        kind,
        add(
            string_heap(key.namespace.len()),
            string_heap(key.name.len()),
        ),
    )
}

/// Heap bytes and allocations a list of nodes holds: the buffer (`buffer` bytes beside the
/// nodes: a vector's spare capacity or a shared slice's reference counts) and everything
/// each node owns.
fn nodes_heap(nodes: &[Node], extra: usize) -> (usize, usize) {
    let boxed = |b: &Option<Box<str>>| string_heap(b.as_ref().map_or(0, |b| b.len()));
    let buffer = if nodes.is_empty() {
        0
    } else {
        std::mem::size_of_val(nodes) + extra
    };
    let mut total = (buffer, usize::from(buffer > 0));
    for n in nodes {
        let id = match &n.ident {
            NodeId::Given(id) => string_heap(id.len()),
            NodeId::Object | NodeId::Source => (0, 0),
        };
        let summary = match n.summary {
            Some(_) => (std::mem::size_of::<StateCounts>(), 1),
            None => (0, 0),
        };
        for part in [
            id,
            n.key.as_ref().map_or((0, 0), key_heap),
            boxed(&n.title),
            string_heap(n.health.reason.len()),
            string_heap(n.health.message.len()),
            boxed(&n.revision),
            boxed(&n.note),
            summary,
            nodes_heap(&n.children, 2 * std::mem::size_of::<usize>()),
        ] {
            total = add(total, part);
        }
    }
    total
}

#[test]
fn tree_nodes_stay_small_at_scale() {
    let tree = build(&fleet());
    let spare = (tree.roots.capacity() - tree.roots.len()) * std::mem::size_of::<Node>();
    let (bytes, allocations) = nodes_heap(&tree.roots, spare);
    let per_node = bytes as f64 / tree.len() as f64;
    eprintln!(
        "tree nodes: {} nodes, {} bytes inline, {per_node:.0} bytes per node, {:.2} allocations per node",
        tree.len(),
        std::mem::size_of::<Node>(),
        allocations as f64 / tree.len() as f64
    );
    // 625 bytes and 10.2 allocations per node (416 inline) while nodes copied their id,
    // kind, namespace, name and message and every leaf held an empty summary; 363 bytes
    // and 5.3 allocations (296 inline) since they derive them.
    assert!(per_node < 400.0, "{per_node} bytes per node");
    assert!(
        allocations * 10 < tree.len() * 60,
        "{allocations} allocations for {} nodes",
        tree.len()
    );
    let object = &tree.roots[0].children[0];
    assert!(matches!(object.ident, NodeId::Object) && object.note.is_none());
}
