//! What the readers of a managed object's stored form see is the same for the full object
//! and its pruned stored form, for every managed object the simulated cluster serves and
//! the kstatus fixtures; and every kept path is needed by some reader.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::*;
use crate::app::details;
use crate::app::text::TextLine;
use crate::domain::fixtures;
use crate::domain::flux::ObjectKey;
use crate::domain::health::{self, HealthInfo};
use crate::domain::kstatus::{self, KStatusResult};
use crate::domain::tree::Snapshot;
use crate::kube::store::{self, Conversions, Form, Head, ObjectStore, StoreWriter, Stored};
use crate::sim::cluster::{SimCluster, SimOptions};
use crate::sim::registry::ids;

/// Everything the readers of the stored form read of one object.
#[derive(Debug, PartialEq)]
struct Reading {
    /// `Snapshot::insert_managed` (`key_of`).
    key: Option<ObjectKey>,
    /// `details::resource_version`.
    resource_version: Option<String>,
    kstatus: KStatusResult,
    /// `health::managed_health` (the tree's state of the object).
    health: HealthInfo,
    /// `health::stuck_workload` with a timeout every object is past, and with none past it.
    stuck: (Option<HealthInfo>, Option<HealthInfo>),
    /// The details pane's lines of the object.
    details: Vec<TextLine>,
}

fn reading(obj: &Value, now: Timestamp) -> Reading {
    let mut snap = Snapshot::new(now);
    let key = snap.insert_managed(Arc::new(obj.clone()));
    let resource_version = key
        .as_ref()
        .and_then(|k| details::resource_version(&snap, k));
    let health = health::managed_health(obj, now);
    let stuck = (
        health::stuck_workload(&health, obj, now, 0.0),
        health::stuck_workload(&health, obj, now, 1e12),
    );
    Reading {
        key,
        resource_version,
        kstatus: kstatus::compute(obj, now),
        health,
        stuck,
        details: details::managed_lines(obj, now),
    }
}

/// The object as a watch stores it (`store::decode` of its text, as a managed object).
fn stored(obj: &Value) -> Value {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    match store::decode(&obj.to_string(), Form::Managed, &ar) {
        Ok(Stored::Managed(v)) => (*v).clone(),
        other => panic!("not stored as a managed object: {other:?}"),
    }
}

fn now() -> Timestamp {
    "2026-08-01T12:00:00Z".parse().unwrap()
}

/// Compare what the readers see of each object and its stored form; returns how many of
/// each kind were compared.
fn assert_same_readings<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
    now: Timestamp,
) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for full in objects {
        let pruned = stored(full);
        assert_eq!(
            reading(&pruned, now),
            reading(full, now),
            "the stored form reads differently\nfull: {full:#}\nstored: {pruned:#}"
        );
        *kinds
            .entry(full["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    kinds
}

/// Objects for the readers' branches that the kstatus fixtures do not reach.
fn edge_objects() -> Vec<Value> {
    let containers = json!([
        {"name": "web", "image": "ghcr.io/example/web:1.2.3", "args": ["--port=80"],
         "env": [{"name": "A", "value": "b"}], "resources": {"limits": {"memory": "1Gi"}}},
        {"name": "sidecar", "image": "envoy:1.30"},
    ]);
    let pod_spec = json!({"containers": containers, "volumes": [{"name": "v", "emptyDir": {}}],
                          "serviceAccountName": "web"});
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "deploy-replicaset-updated", "namespace": "apps",
                            "resourceVersion": "41", "generation": 1,
                            "labels": {"app": "web"}, "annotations": {"a": "b"}},
               "spec": {"replicas": 1, "progressDeadlineSeconds": 600,
                        "selector": {"matchLabels": {"app": "web"}},
                        "strategy": {"type": "RollingUpdate"},
                        "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}},
               "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                          "readyReplicas": 1, "availableReplicas": 1,
                          "conditions": [{"type": "Available", "status": "True"},
                                         {"type": "Progressing", "status": "True",
                                          "reason": "ReplicaSetUpdated"}]}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "sts-on-delete", "namespace": "data", "generation": 1},
               "spec": {"replicas": 3, "updateStrategy": {"type": "OnDelete"},
                        "serviceName": "db", "template": {"spec": pod_spec}},
               "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": 1}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "sts-partitioned", "namespace": "data", "generation": 1,
                            "creationTimestamp": "2026-08-01T10:00:00Z"},
               "spec": {"replicas": 3,
                        "updateStrategy": {"type": "RollingUpdate",
                                           "rollingUpdate": {"partition": 2}}},
               "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
                          "currentReplicas": 1, "updatedReplicas": 1}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "ds-stuck", "namespace": "kube-system", "generation": 1,
                            "creationTimestamp": "2026-08-01T10:00:00Z"},
               "spec": {"updateStrategy": {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1}},
                        "template": {"spec": pod_spec}},
               "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                          "currentNumberScheduled": 1}}),
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "job-suspended", "namespace": "apps"},
               "spec": {"suspend": true, "completions": 3, "parallelism": 1,
                        "template": {"spec": pod_spec}},
               "status": {}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": "cron-images", "namespace": "apps"},
               "spec": {"schedule": "*/5 * * * *",
                        "jobTemplate": {"spec": {"template": {"spec": pod_spec}}}}}),
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "pod-images", "namespace": "apps",
                            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1"}]},
               "spec": pod_spec,
               "status": {"phase": "Running",
                          "conditions": [{"type": "Ready", "status": "True"}]}}),
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "svc-lb-ready", "namespace": "apps"},
               "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.40",
                        "ports": [{"port": 80}], "selector": {"app": "web"}}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "cm-big", "namespace": "apps", "resourceVersion": "7"},
               "data": {"config.yaml": "x".repeat(10_000)},
               "binaryData": {"blob": "AAAA"}}),
    ]
}

/// The kstatus fixtures and the edge objects.
fn fixture_objects() -> Vec<Value> {
    let mut objects = fixtures::load("managed-health.yaml");
    objects.extend(edge_objects());
    objects
}

#[test]
fn fixtures_read_the_same_when_stored() {
    let objects = fixture_objects();
    let kinds = assert_same_readings(&objects, now());
    assert_eq!(kinds.values().sum::<usize>(), objects.len());
    assert!(kinds.len() >= 13, "{kinds:?}");
}

/// Every kept path matters: without it some fixture object reads differently. (Shows that
/// the comparison fails when a needed path is dropped, and that no path is kept on a guess.)
#[test]
fn every_kept_path_is_read() {
    let objects = fixture_objects();
    let full: Vec<Reading> = objects.iter().map(|o| reading(o, now())).collect();
    for dropped in KEPT {
        let keep = Keep::of(KEPT.iter().copied().filter(|p| p != dropped));
        let differs = objects.iter().zip(&full).any(|(o, r)| {
            let pruned = keep.prune(o.clone()).unwrap();
            reading(&pruned, now()) != *r
        });
        assert!(differs, "no reader sees {dropped}");
    }
}

#[test]
fn paths_make_one_tree() {
    let keep = Keep::of([
        "a", "b.c", "b.d[].e", "b.d[].f", "a.x", "g.h", "g", "i[].j", "i.k",
    ]);
    let fields = |f: Vec<(&str, Keep)>| {
        Keep::Fields(f.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    assert_eq!(
        keep,
        fields(vec![
            ("a", Keep::All),
            (
                "b",
                fields(vec![
                    ("c", Keep::All),
                    (
                        "d",
                        Keep::Each(Box::new(fields(vec![("e", Keep::All), ("f", Keep::All)])))
                    ),
                ])
            ),
            ("g", Keep::All),
            // A map and an array at the same place: all of it is kept.
            ("i", Keep::All),
        ])
    );
}

#[test]
fn pruning_keeps_the_kept_paths_only() {
    let keep = Keep::of(["a", "b.c", "b.d[].e"]);
    let v = json!({"a": {"x": 1}, "z": 2, "b": {"c": [1, 2], "y": 3,
                   "d": [{"e": 1, "f": 2}, "text", {"f": 3}]}});
    assert_eq!(
        keep.prune(v),
        Some(json!({"a": {"x": 1}, "b": {"c": [1, 2], "d": [{"e": 1}, null, {}]}}))
    );
    // A value of another shape than kept is dropped: no kept path is below it.
    assert_eq!(
        keep.prune(json!({"b": "text", "a": 1})),
        Some(json!({"a": 1}))
    );
    assert_eq!(
        keep.prune(json!({"b": {"d": {"e": 1}}})),
        Some(json!({"b": {}}))
    );
}

#[test]
fn a_config_map_is_stored_without_its_data() {
    let store = ObjectStore::new();
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap"));
    let mut w = StoreWriter::new(store.clone(), Form::Managed, ar, Conversions::default());
    let big: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("file-{i}.yaml"), Value::String("x".repeat(10_000))))
        .collect();
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "dashboards", "namespace": "monitoring", "resourceVersion": "9",
                     "labels": {"grafana_dashboard": "1"},
                     "annotations": {"meta.helm.sh/release-name": "grafana"}},
        "data": big,
        "binaryData": {"logo.png": "iVBORw0KGgo="},
    })
    .to_string();
    w.apply(Head::read(&cm), &cm);
    let e = store.get("monitoring", "dashboards").unwrap();
    let Ok(Stored::Managed(v)) = &e.object else {
        panic!("{e:?}")
    };
    assert_eq!(
        **v,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "dashboards", "namespace": "monitoring",
                            "resourceVersion": "9"}})
    );
    assert!(v.to_string().len() < 200, "{v}");
}

/// Every non-Flux object the simulated cluster of `scenario` holds, read at a few moments
/// once its workloads exist (objects change state meanwhile), compared full and stored.
async fn sim_objects_read_the_same(scenario: &str) -> BTreeMap<String, usize> {
    let sim = SimCluster::start(SimOptions {
        scenario: scenario.into(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while sim.store.count(&ids::pods()) == 0 || sim.store.count(&ids::services()) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no workloads in {scenario}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut kinds = BTreeMap::new();
    for round in 0..6 {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let now = Timestamp::now();
        for t in sim.registry.all() {
            if t.group.ends_with("toolkit.fluxcd.io") {
                continue;
            }
            let (objects, _) = sim.store.list(&t.id(), None);
            for (kind, n) in assert_same_readings(objects.iter().map(|o| &**o), now) {
                *kinds.entry(kind).or_default() += n;
            }
        }
    }
    sim.shutdown().await;
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_objects_read_the_same_when_stored() {
    let kinds = sim_objects_read_the_same("demo").await;
    for k in ["Deployment", "StatefulSet", "Service", "ConfigMap", "Pod"] {
        assert!(kinds.contains_key(k), "no {k} compared: {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_objects_read_the_same_when_stored() {
    let kinds = sim_objects_read_the_same("scale:hr=50,ks=5").await;
    for k in ["Deployment", "Service", "Pod"] {
        assert!(kinds.contains_key(k), "no {k} compared: {kinds:?}");
    }
}
