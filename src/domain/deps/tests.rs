//! Dependency analysis over `tests/fixtures/domain/deps.yaml` (one namespace per case)
//! and the demo cluster dump.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::*;
use crate::domain::fixtures::load;
use crate::domain::flux::FluxKind;
use crate::domain::tree::Snapshot;

fn now() -> Timestamp {
    "2026-08-01T12:00:00Z".parse().unwrap()
}

fn fixture() -> Analysis {
    let (snap, errors) = Snapshot::from_objects(load("deps.yaml"), now());
    assert!(errors.is_empty(), "{errors:?}");
    analyze(&snap)
}

fn hr(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, ns, name)
}

fn ks(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::flux(FluxKind::Kustomization, ns, name)
}

fn why(a: &Analysis, key: &ObjectKey) -> Why {
    a.why(key)
        .unwrap_or_else(|| panic!("no analysis for {key}"))
}

fn hop_pairs(w: &Why) -> Vec<(String, String, Rule)> {
    w.hops
        .iter()
        .map(|h| (h.from.to_string(), h.to.to_string(), h.rule))
        .collect()
}

#[test]
fn both_ready() {
    let a = fixture();
    let w = why(&a, &hr("ok", "backend"));
    assert_eq!(w.verdict, Verdict::Ready);
    assert!(w.hops.is_empty());
    assert_eq!(w.root, None);
    assert_eq!(
        w.upstream,
        vec![
            hr("ok", "redis"),
            ObjectKey::flux(FluxKind::OCIRepository, "flux-system", "charts")
        ]
    );
    assert!(w.downstream.is_empty());
    assert_eq!(
        why(&a, &hr("ok", "redis")).downstream,
        vec![hr("ok", "backend")]
    );
    assert_eq!(
        a.tree_health(&hr("ok", "backend")).map(|h| h.health),
        Some(Health::Ready)
    );
}

#[test]
fn failing_dependency_blocks_with_its_own_failure_as_root() {
    let a = fixture();
    let w = why(&a, &hr("badimage", "backend"));
    assert_eq!(w.verdict, Verdict::Blocked);
    assert_eq!(
        w.hops,
        vec![Hop {
            from: hr("badimage", "backend"),
            to: hr("badimage", "redis"),
            via: Via::DependsOn,
            rule: Rule::NotReady,
            message: "dependency 'badimage/redis' is not ready".to_string(),
            ready_expr: None,
        }]
    );
    let root = w.root.unwrap();
    assert_eq!(root.key, hr("badimage", "redis"));
    assert_eq!(root.verdict, Verdict::Failing);
    assert_eq!(root.reason, "InstallFailed");
    assert_eq!(
        root.describe(Some(&w.key)),
        "badimage/redis: InstallFailed — Helm install failed for release badimage/redis with \
         chart redis@19.0.1: context deadline exceeded: resource not ready, name: redis-master, \
         kind: StatefulSet, status: InProgress"
    );
    assert_eq!(a.blocks(&hr("badimage", "redis")), 1);
    assert_eq!(a.known_blocks(&hr("badimage", "redis")), 1);
    let health = a.tree_health(&hr("badimage", "backend")).unwrap();
    assert_eq!(health.health, Health::Blocked);
    assert_eq!(health.reason, "DependencyNotReady");
    assert!(
        health
            .message
            .starts_with("Blocked by badimage/redis: InstallFailed — Helm install")
    );
    let redis = why(&a, &hr("badimage", "redis"));
    assert_eq!(redis.verdict, Verdict::Failing);
    assert_eq!(redis.root.unwrap().key, hr("badimage", "redis"));
    assert_eq!(redis.downstream, vec![hr("badimage", "backend")]);
}

#[test]
fn stuck_dependency_wins_over_a_progressing_one() {
    let a = fixture();
    let w = why(&a, &hr("multi", "backend"));
    assert_eq!(w.verdict, Verdict::Blocked);
    assert_eq!(
        hop_pairs(&w),
        vec![(
            "HelmRelease/multi/backend".to_string(),
            "HelmRelease/multi/mysql".to_string(),
            Rule::NotReady
        )]
    );
    let root = w.root.unwrap();
    assert_eq!(
        root.describe(Some(&w.key)),
        "multi/mysql: RetriesExceeded — Failed to install after 3 attempt(s)"
    );
    assert_eq!(w.other_roots.len(), 1);
    assert_eq!(w.other_roots[0].key, hr("multi", "redis"));
    assert_eq!(w.other_roots[0].verdict, Verdict::Progressing);
    assert_eq!(
        w.upstream[..2],
        [hr("multi", "redis"), hr("multi", "mysql")],
        "dependencies in spec order"
    );
}

#[test]
fn cross_namespace_dependency_still_progressing_is_waiting() {
    let a = fixture();
    let w = why(&a, &hr("xns-app", "frontend"));
    assert_eq!(w.verdict, Verdict::Waiting);
    assert_eq!(w.hops[0].to, hr("xns-data", "db"));
    assert_eq!(w.hops[0].message, "dependency 'xns-data/db' is not ready");
    assert_eq!(w.hops[0].rule, Rule::GenerationNotObserved);
    let root = w.root.unwrap();
    assert_eq!(root.verdict, Verdict::Progressing);
    assert_eq!(
        root.describe(Some(&w.key)),
        "xns-data/db: Progressing — Running 'install' action with timeout of 5m0s"
    );
    let health = a.tree_health(&w.key).unwrap();
    assert_eq!(health.health, Health::Pending);
    assert_eq!(
        health.message,
        "Waiting for xns-data/db: Progressing — Running 'install' action with timeout of 5m0s"
    );
    assert_eq!(
        why(&a, &hr("xns-data", "db")).downstream,
        vec![w.key.clone()]
    );
}

#[test]
fn two_objects_depending_on_each_other_are_a_cycle() {
    let a = fixture();
    for (name, other) in [("backend", "redis"), ("redis", "backend")] {
        let w = why(&a, &hr("pair", name));
        assert_eq!(w.verdict, Verdict::Cycle, "{name}");
        assert_eq!(
            w.cycle,
            Some(vec![hr("pair", name), hr("pair", other), hr("pair", name)])
        );
        assert_eq!(
            w.hops[0].message,
            format!("dependency 'pair/{other}' is not ready"),
            "the controller only says the other is not ready"
        );
        assert_eq!(w.hops.len(), 2);
        let health = a.tree_health(&w.key).unwrap();
        assert_eq!(health.health, Health::Cycle);
        assert_eq!(
            health.message, "Dependency cycle: pair/backend → pair/redis → pair/backend",
            "every member names the same loop"
        );
    }
    let cycle = a
        .cycles()
        .iter()
        .find(|c| c.members[0].namespace == "pair")
        .unwrap();
    assert_eq!(
        cycle.members,
        vec![hr("pair", "backend"), hr("pair", "redis")]
    );
    assert_eq!(
        cycle.path,
        vec![
            hr("pair", "backend"),
            hr("pair", "redis"),
            hr("pair", "backend")
        ]
    );
    assert_eq!(a.blocks(&hr("pair", "backend")), 1);
}

#[test]
fn three_node_loop_and_an_object_waiting_on_it() {
    let a = fixture();
    let w = why(&a, &hr("tri", "b"));
    assert_eq!(w.verdict, Verdict::Cycle);
    assert_eq!(
        loop_text(w.cycle.as_ref().unwrap(), false),
        "tri/b → tri/c → tri/a → tri/b"
    );
    assert_eq!(
        loop_text(w.cycle.as_ref().unwrap(), true),
        "tri/b -> tri/c -> tri/a -> tri/b"
    );
    let web = why(&a, &hr("tri", "web"));
    assert_eq!(web.verdict, Verdict::Blocked);
    assert_eq!(web.cycle, None);
    let root = web.root.clone().unwrap();
    assert_eq!(root.verdict, Verdict::Cycle);
    assert_eq!(root.key, hr("tri", "a"));
    assert_eq!(root.message, "tri/a → tri/b → tri/c → tri/a");
    assert_eq!(
        a.tree_health(&hr("tri", "web")).unwrap().message,
        "Blocked by dependency cycle: tri/a → tri/b → tri/c → tri/a"
    );
    assert_eq!(
        hop_pairs(&web)
            .into_iter()
            .map(|(f, t, _)| format!("{f} > {t}"))
            .collect::<Vec<_>>(),
        vec![
            "HelmRelease/tri/web > HelmRelease/tri/b",
            "HelmRelease/tri/b > HelmRelease/tri/c",
            "HelmRelease/tri/c > HelmRelease/tri/a",
            "HelmRelease/tri/a > HelmRelease/tri/b",
        ]
    );
    assert_eq!(a.blocks(&hr("tri", "a")), 3, "b, c and web");
    let groups = a.root_groups();
    let group = groups
        .iter()
        .find(|g| g.root.key == hr("tri", "a"))
        .unwrap();
    assert_eq!(
        group.dependents,
        vec![hr("tri", "b"), hr("tri", "c"), hr("tri", "web")]
    );
}

#[test]
fn self_dependency_is_a_cycle() {
    let a = fixture();
    let w = why(&a, &hr("selfloop", "app"));
    assert_eq!(w.verdict, Verdict::Cycle);
    assert_eq!(
        w.cycle,
        Some(vec![hr("selfloop", "app"), hr("selfloop", "app")])
    );
    assert_eq!(
        a.tree_health(&w.key).unwrap().message,
        "Dependency cycle: selfloop/app → selfloop/app"
    );
    assert!(
        a.cycles()
            .iter()
            .any(|c| c.members == vec![hr("selfloop", "app")])
    );
}

#[test]
fn missing_dependency() {
    let a = fixture();
    let w = why(&a, &hr("missing", "backend"));
    assert_eq!(w.verdict, Verdict::Blocked);
    assert_eq!(w.hops[0].rule, Rule::NotFound);
    assert_eq!(
        w.hops[0].message,
        "unable to get 'missing/ghost' dependency: helmreleases.helm.toolkit.fluxcd.io \"ghost\" not found"
    );
    let root = w.root.unwrap();
    assert_eq!(root.verdict, Verdict::NotFound);
    assert_eq!(
        root.describe(Some(&w.key)),
        "missing/ghost: NotFound — HelmRelease 'missing/ghost' not found"
    );
    assert_eq!(a.verdict(&hr("missing", "ghost")), Some(Verdict::NotFound));
    assert_eq!(a.blocks(&hr("missing", "ghost")), 1);
}

#[test]
fn diamond_counts_each_dependent_once() {
    let a = fixture();
    let w = why(&a, &hr("diamond", "top"));
    assert_eq!(w.verdict, Verdict::Blocked);
    assert_eq!(w.hops.len(), 2, "top → left → base");
    assert_eq!(w.root.as_ref().unwrap().key, hr("diamond", "base"));
    assert!(w.other_roots.is_empty(), "right leads to the same root");
    assert_eq!(a.blocks(&hr("diamond", "base")), 3);
    let base = why(&a, &hr("diamond", "base"));
    assert_eq!(
        base.downstream,
        vec![
            hr("diamond", "left"),
            hr("diamond", "right"),
            hr("diamond", "top")
        ]
    );
    let group = a
        .root_groups()
        .into_iter()
        .find(|g| g.root.key == hr("diamond", "base"))
        .unwrap();
    assert_eq!(group.dependents.len(), 3);
}

#[test]
fn ready_expr_true_false_and_invalid() {
    let a = fixture();
    let t = why(&a, &hr("expr", "exprtrue"));
    assert_eq!(t.verdict, Verdict::Progressing, "the expression holds");
    assert!(t.hops.is_empty());

    let f = why(&a, &hr("expr", "exprfalse"));
    assert_eq!(f.verdict, Verdict::Blocked);
    assert_eq!(f.hops[0].rule, Rule::ReadyExpr);
    assert_eq!(
        f.hops[0].message,
        "dependency 'expr/dep' is not ready according to readyExpr eval"
    );
    assert_eq!(
        f.hops[0].ready_expr.as_deref(),
        Some("dep.status.lastAttemptedRevision.startsWith('20.')")
    );
    assert_eq!(f.root.unwrap().key, hr("expr", "dep"));

    let bad = why(&a, &hr("expr", "exprbad"));
    assert_eq!(
        bad.verdict,
        Verdict::Failing,
        "the controller stalls on a bad expression"
    );
    assert_eq!(bad.root.as_ref().unwrap().reason, "InvalidCELExpression");
    assert_eq!(bad.unevaluated.len(), 1);
    let hop = &bad.unevaluated[0];
    assert_eq!(hop.rule, Rule::ReadyExprUnevaluated);
    assert!(
        hop.message.contains("cannot be evaluated by fluxdeck"),
        "{}",
        hop.message
    );
    assert!(hop.message.ends_with(hop.ready_expr.as_deref().unwrap()));
}

#[test]
fn a_ready_expr_reading_a_field_fluxdeck_does_not_keep_is_not_evaluated() {
    // `spec.rollback` is set in the cluster but not kept by fluxdeck: the expression cannot
    // be judged here, and the dependency must not be named as the root cause.
    let release = |name: &str, spec: Value, ready: bool| {
        serde_json::json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "kept", "generation": 1},
            "spec": spec,
            "status": {"observedGeneration": 1, "conditions": [{"type": "Ready",
                "status": if ready { "True" } else { "False" },
                "reason": if ready { "UpgradeSucceeded" } else { "DependencyNotReady" },
                "message": "m"}]}
        })
    };
    let chart = serde_json::json!({"spec": {"chart": "app", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}});
    let objects = vec![
        release(
            "dep",
            serde_json::json!({"interval": "10m", "chart": chart, "rollback": {"timeout": "5m"}}),
            true,
        ),
        release(
            "app",
            serde_json::json!({"interval": "10m", "chart": chart,
                "dependsOn": [{"name": "dep", "readyExpr": "dep.spec.rollback.timeout == '5m'"}]}),
            false,
        ),
    ];
    let (snap, errors) = Snapshot::from_objects(objects, now());
    assert!(errors.is_empty(), "{errors:?}");
    let a = analyze(&snap);
    let w = why(&a, &hr("kept", "app"));
    assert_ne!(w.root.as_ref().map(|r| &r.key), Some(&hr("kept", "dep")));
    assert_eq!(w.unevaluated.len(), 1, "{w:?}");
    let hop = &w.unevaluated[0];
    assert_eq!(hop.rule, Rule::ReadyExprUnevaluated);
    assert!(hop.message.contains("does not keep"), "{}", hop.message);
}

#[test]
fn kustomization_dependency_revision_not_up_to_date() {
    let a = fixture();
    let w = why(&a, &ks("ksrev", "apps"));
    assert_eq!(w.verdict, Verdict::Waiting);
    assert_eq!(w.hops[0].rule, Rule::RevisionNotUpToDate);
    assert_eq!(
        w.hops[0].message,
        "dependency 'ksrev/infra' revision is not up to date"
    );
    assert_eq!(w.root.unwrap().key, ks("ksrev", "infra"));
    assert_eq!(
        w.upstream[0],
        ObjectKey::flux(FluxKind::GitRepository, "ksrev", "repo"),
        "the source is checked first"
    );
}

#[test]
fn suspended_dependency_blocks() {
    let a = fixture();
    let w = why(&a, &hr("susp", "backend"));
    assert_eq!(w.verdict, Verdict::Blocked);
    let root = w.root.unwrap();
    assert_eq!(root.verdict, Verdict::Suspended);
    assert_eq!(root.health, Health::Suspended);
    assert!(
        root.describe(Some(&w.key))
            .starts_with("susp/redis: Suspended — ")
    );
    assert_eq!(a.known_blocks(&hr("susp", "redis")), 1);
}

#[test]
fn source_chain_points_at_the_failing_repository() {
    let a = fixture();
    let w = why(&a, &hr("src", "app"));
    assert_eq!(w.verdict, Verdict::Blocked);
    let chart = ObjectKey::flux(FluxKind::HelmChart, "flux-system", "src-app");
    let repo = ObjectKey::flux(FluxKind::HelmRepository, "flux-system", "broken");
    assert_eq!(w.hops[0].to, chart);
    assert_eq!(w.hops[0].via, Via::Source);
    assert_eq!(w.hops[0].rule, Rule::ArtifactMissing);
    assert_eq!(
        w.hops[0].message,
        "HelmChart 'flux-system/src-app' is not ready: does not have an artifact"
    );
    assert_eq!(w.hops[1].from, chart);
    assert_eq!(w.hops[1].to, repo);
    let root = w.root.unwrap();
    assert_eq!(root.key, repo);
    assert_eq!(root.reason, "FetchFailed");
    let health = a.tree_health(&w.key).unwrap();
    assert_eq!(health.reason, "SourceNotReady");
    assert!(health.message.starts_with(
        "Blocked by HelmRepository/flux-system/broken: FetchFailed — failed to fetch"
    ));
    assert_eq!(a.blocks(&repo), 1, "only workloads count");
}

#[test]
fn a_chain_of_fifty() {
    let mut objects: Vec<Value> = Vec::new();
    for i in 0..50 {
        let mut spec = serde_json::json!({"interval": "10m",
            "chartRef": {"kind": "OCIRepository", "name": "charts"}});
        let status = if i == 49 {
            serde_json::json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "False", "reason": "UpgradeFailed",
                 "message": "Helm upgrade failed for release chain/n49 with chart app@1.0.0: timed out"}]})
        } else {
            spec["dependsOn"] = serde_json::json!([{"name": format!("n{}", i + 1)}]);
            serde_json::json!({"conditions": [
                {"type": "Ready", "status": "False", "reason": "DependencyNotReady",
                 "message": format!("dependency 'chain/n{}' is not ready", i + 1)}]})
        };
        objects.push(
            serde_json::json!({"apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease", "metadata": {"name": format!("n{i}"), "namespace": "chain",
            "generation": 1}, "spec": spec, "status": status}),
        );
    }
    objects.push(
        serde_json::json!({"apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository", "metadata": {"name": "charts", "namespace": "chain",
        "generation": 1}, "spec": {"interval": "10m", "url": "oci://example/charts"},
        "status": {"observedGeneration": 1, "artifact": {"revision": "1.0.0@sha256:ab"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
        "message": "stored artifact for digest '1.0.0@sha256:ab'"}]}}),
    );
    let (snap, _) = Snapshot::from_objects(objects, now());
    let a = analyze(&snap);
    let w = why(&a, &hr("chain", "n0"));
    assert_eq!(w.verdict, Verdict::Blocked);
    assert_eq!(w.hops.len(), 49);
    assert_eq!(w.root.unwrap().key, hr("chain", "n49"));
    assert_eq!(a.blocks(&hr("chain", "n49")), 49);
    assert_eq!(a.blocks(&hr("chain", "n10")), 10);
    assert_eq!(
        why(&a, &hr("chain", "n10")).upstream.len(),
        40,
        "39 releases and the source"
    );
    assert!(a.cycles().is_empty());
}

#[test]
fn demo_cluster_verdicts() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/app/demo-cluster.yaml"
    ))
    .unwrap();
    let list: Value = serde_yaml::from_str(&text).unwrap();
    let items = list["items"].as_array().unwrap().clone();
    let (snap, errors) = Snapshot::from_objects(items, now());
    assert!(errors.is_empty(), "{errors:?}");
    let a = analyze(&snap);

    let backend = why(&a, &hr("staging", "backend"));
    assert_eq!(backend.verdict, Verdict::Blocked);
    assert_eq!(
        a.tree_health(&backend.key).unwrap().message,
        "Blocked by staging/redis: RetriesExceeded — Failed to install after 3 attempt(s)"
    );
    assert_eq!(a.known_blocks(&hr("staging", "redis")), 1);

    let looped = why(&a, &hr("loop", "backend"));
    assert_eq!(looped.verdict, Verdict::Cycle);
    assert_eq!(
        loop_text(looped.cycle.as_ref().unwrap(), false),
        "loop/backend → loop/redis → loop/backend"
    );
    assert_eq!(a.cycles().len(), 1);

    let grafana = why(&a, &hr("default", "grafana"));
    assert_eq!(grafana.verdict, Verdict::Ready);
    assert!(grafana.upstream.contains(&hr("monitoring", "prometheus")));
    let prometheus = why(&a, &hr("monitoring", "prometheus"));
    assert_eq!(prometheus.downstream, vec![hr("default", "grafana")]);
    assert_eq!(prometheus.verdict, Verdict::Ready);
    assert_eq!(grafana.root, None);

    // The same cluster after prometheus fails and grafana gets a new generation: grafana's
    // root cause is across the namespace boundary.
    let mut items = list["items"].as_array().unwrap().clone();
    for item in &mut items {
        match (item["kind"].as_str(), item["metadata"]["name"].as_str()) {
            (Some("HelmRelease"), Some("prometheus")) => {
                item["status"]["conditions"] = serde_json::json!([
                    {"type": "Ready", "status": "False", "reason": "UpgradeFailed",
                     "message": "Helm upgrade failed for release monitoring/prometheus with chart prometheus@25.19.0: timed out waiting for the condition"},
                    {"type": "Stalled", "status": "True", "reason": "RetriesExceeded",
                     "message": "Failed to upgrade after 4 attempt(s)"}]);
            }
            (Some("HelmRelease"), Some("grafana")) => item["metadata"]["generation"] = 2.into(),
            _ => {}
        }
    }
    let (snap, _) = Snapshot::from_objects(items, now());
    let a = analyze(&snap);
    let grafana = why(&a, &hr("default", "grafana"));
    assert_eq!(grafana.verdict, Verdict::Blocked);
    assert_eq!(
        grafana
            .root
            .unwrap()
            .describe(Some(&hr("default", "grafana"))),
        "monitoring/prometheus: RetriesExceeded — Failed to upgrade after 4 attempt(s)"
    );
}

#[test]
fn tree_rows_carry_root_causes_loops_and_blast_radius() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/app/demo-cluster.yaml"
    ))
    .unwrap();
    let list: Value = serde_yaml::from_str(&text).unwrap();
    let (snap, _) = Snapshot::from_objects(list["items"].as_array().unwrap().clone(), now());
    let tree = crate::domain::tree::build(&snap);
    let node = |key: &ObjectKey| {
        let path = tree
            .path_of(key)
            .unwrap_or_else(|| panic!("{key} not in tree"));
        tree.find(&path).unwrap().clone()
    };
    let backend = node(&hr("staging", "backend"));
    assert_eq!(backend.health.health, Health::Blocked);
    assert_eq!(
        backend.message(),
        "Blocked by staging/redis: RetriesExceeded — Failed to install after 3 attempt(s)"
    );
    assert_eq!(backend.blocks, 0);
    let redis = node(&hr("staging", "redis"));
    assert_eq!(redis.health.health, Health::Failed);
    assert_eq!(redis.health.reason, "RetriesExceeded");
    assert_eq!(redis.blocks, 1);
    for name in ["backend", "redis"] {
        let n = node(&hr("loop", name));
        assert_eq!(n.health.health, Health::Cycle);
        assert_eq!(n.health.reason, DEPENDENCY_CYCLE);
        assert_eq!(
            n.message(),
            "Dependency cycle: loop/backend → loop/redis → loop/backend"
        );
        assert_eq!(n.blocks, 1);
    }
    let grafana = node(&hr("default", "grafana"));
    assert_eq!(grafana.health.health, Health::Ready);
    assert_eq!(grafana.blocks, 0);
    let problems = tree.problems();
    assert!(problems.path_of(&hr("loop", "redis")).is_some());
}

/// [`verdict_of`] on every state the analysis knows: what status, tree, why, the header and
/// problems mode all show.
mod one_verdict {
    use serde_json::json;

    use crate::domain::health::reasons;

    use super::*;

    fn v(a: &Analysis, key: &ObjectKey) -> ObjectVerdict {
        verdict_of(a, key).unwrap_or_else(|| panic!("{key} not analysed"))
    }

    fn ready(reason: &str, message: &str) -> Value {
        json!([{"type": "Ready", "status": "True", "reason": reason, "message": message,
                "lastTransitionTime": "2026-08-01T10:00:00Z"}])
    }

    fn not_ready(reason: &str, message: &str) -> Value {
        json!([{"type": "Ready", "status": "False", "reason": reason, "message": message,
                "lastTransitionTime": "2026-08-01T10:00:00Z"}])
    }

    fn artifact() -> Value {
        json!({"revision": "sha256:0b370ddbf8ff", "path": "x", "url": "http://x",
               "lastUpdateTime": "2026-08-01T10:00:00Z"})
    }

    /// A HelmRepository that fails authentication (with the artifact of an earlier fetch),
    /// the HelmChart built from it, and a release reading the chart; `other` depends on
    /// `fine`, which is ready, while still reporting the dependency it waited on.
    fn chain() -> Analysis {
        let objects = vec![
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": {"name": "charts", "namespace": "flux-system", "generation": 1},
                "spec": {"interval": "10m", "url": "https://charts.example.com"},
                "status": {"observedGeneration": 1, "artifact": artifact(),
                    "conditions": not_ready("AuthenticationFailed",
                        "failed to fetch Helm repository index: 401 Unauthorized")}}),
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
                "metadata": {"name": "apps-web", "namespace": "flux-system", "generation": 1},
                "spec": {"interval": "10m", "chart": "web",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"}},
                "status": {"observedGeneration": 1, "artifact": artifact(),
                    "conditions": not_ready("ChartPullFailed",
                        "failed to get source: HelmRepository 'flux-system/charts' is not ready")}}),
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "web", "namespace": "apps", "generation": 1},
                "spec": {"interval": "10m", "chart": {"spec": {"chart": "web",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts",
                                  "namespace": "flux-system"}}}},
                "status": {"helmChart": "flux-system/apps-web",
                    "conditions": not_ready("SourceNotReady",
                        "HelmChart 'flux-system/apps-web' is not ready: failed to get source: HelmRepository 'flux-system/charts' is not ready")}}),
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "fine", "namespace": "apps", "generation": 1},
                "spec": {"interval": "10m",
                    "chartRef": {"kind": "OCIRepository", "name": "oci"}},
                "status": {"observedGeneration": 1,
                    "conditions": ready("InstallSucceeded", "installed")}}),
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
                "metadata": {"name": "oci", "namespace": "apps", "generation": 1},
                "spec": {"interval": "10m", "url": "oci://example.com/charts"},
                "status": {"observedGeneration": 1, "artifact": artifact(),
                    "conditions": ready("Succeeded", "stored artifact")}}),
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "other", "namespace": "apps", "generation": 1},
                "spec": {"interval": "10m", "dependsOn": [{"name": "fine"}],
                    "chartRef": {"kind": "OCIRepository", "name": "oci"}},
                "status": {"observedGeneration": 1,
                    "conditions": not_ready("DependencyNotReady",
                        "dependency 'apps/fine' is not ready")}}),
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": {"name": "oci-charts", "namespace": "flux-system", "generation": 1},
                "spec": {"interval": "10m", "type": "oci", "url": "oci://example.com/charts"},
                "status": {}}),
        ];
        let (snap, errors) = Snapshot::from_objects(objects, now());
        assert!(errors.is_empty(), "{errors:?}");
        analyze(&snap)
    }

    #[test]
    fn ready_has_its_own_state_and_no_root_cause() {
        let a = fixture();
        let r = v(&a, &hr("ok", "backend"));
        assert_eq!(r.verdict, Verdict::Ready);
        assert_eq!(r.state.health, Health::Ready);
        assert_eq!(r.state.reason, "InstallSucceeded");
        assert_eq!(r.root_cause, None);
        assert_eq!(r.blocks, 0);
    }

    #[test]
    fn failing_is_its_own_root_cause_and_counts_what_it_blocks() {
        let a = fixture();
        let f = v(&a, &hr("badimage", "redis"));
        assert_eq!(f.verdict, Verdict::Failing);
        assert_eq!(f.state.health, Health::Failed);
        assert_eq!(f.state.word(), "Failed");
        assert_eq!(f.root_cause, None);
        assert_eq!(f.blocks, 1);
        assert_eq!(f.blocks, why(&a, &f.key).downstream.len());
    }

    #[test]
    fn blocked_names_its_root_cause() {
        let a = fixture();
        let b = v(&a, &hr("badimage", "backend"));
        assert_eq!(b.verdict, Verdict::Blocked);
        assert_eq!(b.state.health, Health::Blocked);
        assert_eq!(b.state.reason, reasons::DEPENDENCY_NOT_READY);
        let root = b.root_cause.clone().unwrap();
        assert_eq!(root.key, hr("badimage", "redis"));
        assert_eq!(
            b.state.message,
            format!("Blocked by {}", root.describe(Some(&b.key)))
        );
        assert_eq!(why(&a, &b.key).root, Some(root));
        assert_eq!(b.blocks, 0);
    }

    #[test]
    fn waiting_reads_pending_and_progressing_reads_reconciling() {
        let a = fixture();
        let w = v(&a, &hr("xns-app", "frontend"));
        assert_eq!(w.verdict, Verdict::Waiting);
        assert_eq!(w.state.health, Health::Pending);
        assert_eq!(w.state.word(), "Pending");
        assert!(w.state.message.starts_with("Waiting for "), "{w:?}");
        let root = w.root_cause.unwrap();
        assert_eq!(root.verdict, Verdict::Progressing);
        assert_eq!(Verdict::Progressing.word(), "Reconciling");
        assert_eq!(Verdict::Waiting.word(), "Pending");
        assert_eq!(Verdict::Failing.word(), "Failed");
    }

    #[test]
    fn a_cycle_is_the_root_cause_of_its_members_and_of_what_waits_on_it() {
        let a = fixture();
        for name in ["a", "b", "c"] {
            let c = v(&a, &hr("tri", name));
            assert_eq!(c.verdict, Verdict::Cycle);
            assert_eq!(c.state.health, Health::Cycle);
            assert_eq!(c.state.reason, DEPENDENCY_CYCLE);
            assert_eq!(
                c.state.message,
                "Dependency cycle: tri/a → tri/b → tri/c → tri/a"
            );
            let root = c.root_cause.unwrap();
            assert_eq!(
                root.describe(Some(&c.key)),
                "dependency cycle: tri/a → tri/b → tri/c → tri/a"
            );
            assert_eq!(root.cycle.as_ref().map(Vec::len), Some(4));
        }
        let web = v(&a, &hr("tri", "web"));
        assert_eq!(web.verdict, Verdict::Blocked);
        assert_eq!(
            web.state.message,
            "Blocked by dependency cycle: tri/a → tri/b → tri/c → tri/a"
        );
    }

    #[test]
    fn suspended_and_not_found_roots() {
        let a = fixture();
        let s = v(&a, &hr("susp", "redis"));
        assert_eq!(s.verdict, Verdict::Suspended);
        assert_eq!(s.state.health, Health::Suspended);
        assert_eq!(s.blocks, 1);
        let b = v(&a, &hr("missing", "backend"));
        assert_eq!(b.verdict, Verdict::Blocked);
        let root = b.root_cause.unwrap();
        assert_eq!(root.verdict, Verdict::NotFound);
        let missing = v(&a, &root.key);
        assert_eq!(missing.verdict, Verdict::NotFound);
        assert_eq!(missing.state.health, Health::Unknown);
        assert_eq!(missing.state.reason, reasons::NOT_FOUND);
        assert_eq!(missing.blocks, 1);
    }

    #[test]
    fn a_source_that_fails_because_its_own_source_fails_is_blocked_by_it() {
        let a = chain();
        let repo = ObjectKey::flux(FluxKind::HelmRepository, "flux-system", "charts");
        let chart = ObjectKey::flux(FluxKind::HelmChart, "flux-system", "apps-web");
        let r = v(&a, &repo);
        assert_eq!(r.verdict, Verdict::Failing);
        assert_eq!(r.state.reason, "AuthenticationFailed");
        assert_eq!(r.blocks, 1, "the release; sources are not counted");
        let c = v(&a, &chart);
        assert_eq!(c.verdict, Verdict::Blocked);
        assert_eq!(c.state.health, Health::Blocked);
        assert_eq!(
            c.state.reason, "ChartPullFailed",
            "a source keeps its own reason"
        );
        assert_eq!(c.root_cause.as_ref().unwrap().key, repo);
        let web = v(&a, &hr("apps", "web"));
        assert_eq!(web.verdict, Verdict::Blocked);
        assert_eq!(web.state.reason, "SourceNotReady");
        assert_eq!(
            web.state.message,
            "Blocked by HelmRepository/flux-system/charts: AuthenticationFailed — failed to fetch Helm repository index: 401 Unauthorized"
        );
        let w = why(&a, &web.key);
        assert_eq!(w.hops.len(), 2);
        assert_eq!(w.hops[1].from, chart);
        assert_eq!(w.hops[1].to, repo);
        assert_eq!(w.hops[1].rule, Rule::NotReady);
        assert_eq!(w.state, web.state);
    }

    #[test]
    fn a_stale_dependency_message_with_every_check_passing_reads_pending() {
        let a = chain();
        let o = v(&a, &hr("apps", "other"));
        assert_eq!(o.verdict, Verdict::Progressing);
        assert_eq!(o.state.health, Health::Pending);
        assert_eq!(o.root_cause, None);
    }

    #[test]
    fn an_oci_helm_repository_reads_static() {
        let a = chain();
        let s = v(
            &a,
            &ObjectKey::flux(FluxKind::HelmRepository, "flux-system", "oci-charts"),
        );
        assert_eq!(s.verdict, Verdict::Ready);
        assert_eq!(s.state.health, Health::Ready);
        assert_eq!(s.state.word(), "Static");
    }
}

#[test]
fn the_tree_health_shortcut_agrees_with_the_verdict() {
    let (snap, _) = Snapshot::from_objects(load("deps.yaml"), now());
    let a = analyze(&snap);
    let mut keys: Vec<ObjectKey> = snap.flux.keys().cloned().collect();
    keys.push(hr("missing", "ghost"));
    let mut shown_as_is = 0;
    for key in &keys {
        let verdict = verdict_of(&a, key).map(|v| v.state);
        assert_eq!(a.tree_health(key), verdict, "{key}");
        if let Some(state) = &verdict {
            assert_eq!(a.tree_health_is(key, state), Some(true), "{key}");
            let other = HealthInfo::new(state.health, &state.reason, "another message", None);
            assert_eq!(a.tree_health_is(key, &other), Some(false), "{key}");
            shown_as_is += usize::from(a.verdict(key) == Some(Verdict::Ready));
        }
    }
    assert!(
        shown_as_is > 0,
        "the fixture has objects shown with their own state"
    );
    assert!(
        keys.iter().any(|k| a.verdict(k) == Some(Verdict::Blocked)),
        "and objects whose state names a root cause"
    );
}
