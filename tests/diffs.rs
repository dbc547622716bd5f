//! The data of the diff views against the in-process simulated cluster running the demo
//! scenario: default/backend's changing history and its hand-scaled Deployment, grade-api's
//! values sources and its ignored `/spec/replicas`, a ConfigMap edited without a reconcile,
//! a missing object, an excluded one, and what a forbidden request gives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/scenario.rs"]
mod scenario;

use std::sync::Arc;
use std::time::Duration;

use fluxdeck::actions::diffs::{self, DiffOptions, DriftData};
use fluxdeck::actions::writer::Reader;
use fluxdeck::domain::drift::ObjectDrift;
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::kube::client;
use fluxdeck::kube::discovery::Discovery;
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::faults::ForbiddenRule;
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::server::read_access_log;
use fluxdeck::sim::store::ObjKey;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

struct Fixture {
    cluster: SimCluster,
    dir: tempfile::TempDir,
    client: kube::Client,
    reader: Reader,
}

fn hr(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, ns, name)
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cluster = SimCluster::start(SimOptions {
        scenario: scenario::demo_first_step(dir.path()),
        speed: 60.0,
        access_log: Some(dir.path().join("access.log")),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let settled = controllers::wait_for(&cluster.store, WAIT, |s| {
        let ready = |ns: &str, name: &str| {
            s.get(&ids::helmreleases(), &ObjKey::new(ns, name))
                .is_some_and(|o| conditions::is_true(&o, "Ready"))
        };
        let scaled = s
            .get(&ids::deployments(), &ObjKey::new("default", "backend"))
            .is_some_and(|d| d["spec"]["replicas"] == 5);
        ready("default", "backend") && ready("grade-api", "grade-api") && scaled
    })
    .await;
    assert!(settled, "the demo never settled");
    let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let reader = Reader::new(
        conn.client.clone(),
        Arc::new(Discovery::new(conn.client.clone())),
    );
    Fixture {
        cluster,
        dir,
        client: conn.client.clone(),
        reader,
    }
}

impl Fixture {
    /// Requests that are neither GET nor an apply dry-run, as `METHOD path`.
    fn writes(&self) -> Vec<String> {
        read_access_log(&self.dir.path().join("access.log"))
            .unwrap()
            .into_iter()
            .filter(|e| e.method != "GET" && !e.path.contains("dryRun=All"))
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }

    fn dry_runs(&self) -> usize {
        read_access_log(&self.dir.path().join("access.log"))
            .unwrap()
            .into_iter()
            .filter(|e| e.method == "PATCH" && e.path.contains("dryRun=All"))
            .count()
    }

    async fn drift(&self, ns: &str, name: &str) -> DriftData {
        diffs::load_drift(&self.reader, &hr(ns, name))
            .await
            .unwrap()
    }
}

fn lines_only_in(a: &str, b: &str) -> Vec<String> {
    a.lines()
        .filter(|l| !b.lines().any(|m| m == *l))
        .map(str::to_string)
        .collect()
}

fn object<'a>(d: &'a DriftData, id: &str) -> &'a diffs::DriftObject {
    d.objects
        .iter()
        .find(|o| o.report.id() == id)
        .unwrap_or_else(|| panic!("{id} not in {:#?}", d.objects))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_values_and_history() {
    let f = start().await;
    let key = hr("default", "backend");

    // Desired (spec.values) equals the deployed revision 4.
    let v = diffs::load_values(&f.reader, &key).await.unwrap();
    let deployed = v.deployed.as_ref().unwrap();
    assert_eq!(deployed.revision, 4);
    assert_eq!(deployed.chart, "podinfo@6.6.1");
    assert_eq!(v.pending(), Some(false));
    let texts = v.values.as_ref().unwrap();
    assert!(!texts.differs(), "{texts:#?}");
    assert_eq!(texts.left_label, "deployed rev 4 (podinfo@6.6.1)");
    assert_eq!(texts.right_label, "desired: spec.values");
    assert!(
        texts.new.contains("message: hello from v4"),
        "{}",
        texts.new
    );
    assert_eq!(texts.line_notes.len(), texts.new.lines().count());
    assert_eq!(v.rows.len(), 4);
    // Computed values: the chart defaults under them (image from podinfo 6.6.1).
    let computed = v.computed.as_ref().unwrap();
    assert!(!computed.differs());
    assert!(computed.new.contains("tag: 6.6.1"), "{}", computed.new);

    // Revision 1 vs 4: the replica count and the message changed, the rest did not.
    let r = diffs::load_revisions(&f.reader, &key, 1, Some(4), DiffOptions::default())
        .await
        .unwrap();
    assert_eq!(r.a.revision, 1);
    assert_eq!(r.values.left_label, "rev 1 (podinfo@6.6.0, superseded)");
    assert_eq!(r.values.right_label, "deployed rev 4 (podinfo@6.6.1)");
    let mut old = lines_only_in(&r.values.old, &r.values.new);
    let mut new = lines_only_in(&r.values.new, &r.values.old);
    old.sort();
    new.sort();
    assert_eq!(old, ["message: hello from v1", "replicaCount: 1"]);
    assert_eq!(new, ["message: hello from v4", "replicaCount: 3"]);
    // The manifests differ in the chart's app version and the replicas.
    assert!(r.manifests.differs());
    assert!(
        r.manifests.new.contains("replicas: 3"),
        "{}",
        r.manifests.new
    );
    // `--revision 3` is 3 against the deployed revision.
    let r = diffs::load_revisions(&f.reader, &key, 3, None, DiffOptions::default())
        .await
        .unwrap();
    assert_eq!(r.b.revision, 4);
    let missing = diffs::load_revisions(&f.reader, &key, 9, None, DiffOptions::default()).await;
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.to_string().contains("revision 9")),
        "{missing:?}"
    );

    assert!(f.writes().is_empty(), "only reads: {:?}", f.writes());
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_drift_scaled_missing_and_excluded() {
    let f = start().await;
    // The Deployment scaled by hand to 5: one change; the Service is untouched.
    let d = f.drift("default", "backend").await;
    assert_eq!(d.release, "default/backend.v4");
    assert_eq!(d.mode, "warn");
    assert_eq!(d.approximate, None, "{d:#?}");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let deploy = object(&d, "Deployment/default/backend");
    assert_eq!(
        deploy.report.line(),
        "Deployment/default/backend changed (0 additions, 1 changes, 0 removals)"
    );
    assert_eq!(deploy.report.ops, ["replace /spec/replicas"]);
    assert!(
        deploy.texts.old.contains("replicas: 5"),
        "{}",
        deploy.texts.old
    );
    assert!(
        deploy.texts.new.contains("replicas: 3"),
        "{}",
        deploy.texts.new
    );
    assert_eq!(
        object(&d, "Service/default/backend").report.drift,
        ObjectDrift::None,
        "no noise on an untouched object"
    );
    assert_eq!(
        d.summary().unwrap(),
        "Cluster state of release default/backend.v4 has drifted from the desired state:\n\
         Deployment/default/backend changed (0 additions, 1 changes, 0 removals)"
    );
    assert!(f.dry_runs() >= 2);
    assert!(
        f.writes().is_empty(),
        "only reads and dry-runs: {:?}",
        f.writes()
    );

    // A read-only session sends no dry-run (a PATCH): the same change, found on the fields
    // the manifest sets, and said to be approximate.
    let runs = f.dry_runs();
    let ro = diffs::load_drift_with(
        &f.reader,
        &hr("default", "backend"),
        DiffOptions {
            read_only: true,
            ..DiffOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(f.dry_runs(), runs, "no dry-run from a read-only session");
    assert!(
        ro.approximate
            .as_deref()
            .is_some_and(|a| a.contains("read-only session")),
        "{ro:#?}"
    );
    assert_eq!(
        object(&ro, "Deployment/default/backend").report.line(),
        "Deployment/default/backend changed (0 additions, 1 changes, 0 removals)"
    );

    // A missing object is removed; an object labelled out of drift detection is excluded.
    Api::<Service>::namespaced(f.client.clone(), "default")
        .delete("backend", &DeleteParams::default())
        .await
        .unwrap();
    Api::<Deployment>::namespaced(f.client.clone(), "default")
        .patch(
            "backend",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "helm.toolkit.fluxcd.io/driftDetection": "disabled"
            }}})),
        )
        .await
        .unwrap();
    let d = f.drift("default", "backend").await;
    let service = object(&d, "Service/default/backend");
    assert_eq!(service.report.drift, ObjectDrift::Removed);
    assert_eq!(service.texts.old, "");
    assert!(service.texts.left_label.contains("missing"), "{service:#?}");
    assert_eq!(
        object(&d, "Deployment/default/backend").report.drift,
        ObjectDrift::Excluded
    );
    assert_eq!(
        d.summary().unwrap(),
        "Cluster state of release default/backend.v4 has drifted from the desired state:\n\
         Deployment/default/backend excluded\nService/default/backend removed"
    );
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grade_api_values_sources_and_ignored_replicas() {
    let f = start().await;
    let key = hr("grade-api", "grade-api");

    // Desired: the ConfigMap's values.yaml, the optional Secret absent, dbHost at
    // database.host; equal to what is deployed.
    let v = diffs::load_values(&f.reader, &key).await.unwrap();
    let desired = v.desired.as_ref().unwrap();
    assert_eq!(
        Value::Object(desired.values.clone()),
        json!({
            "replicaCount": 2,
            "image": {"tag": "0.3.0"},
            "database": {"host": "postgres.grade-api.svc.cluster.local"},
        })
    );
    assert_eq!(v.pending(), Some(false), "{v:#?}");
    let texts = v.values.as_ref().unwrap();
    assert!(!texts.differs(), "{texts:#?}");
    assert!(texts.right_label.starts_with("desired: "), "{texts:#?}");
    assert!(texts.right_label.contains("valuesFrom"), "{texts:#?}");
    // Each line's origin: the ConfigMap's values.yaml, or the targetPath.
    let origin = |needle: &str| {
        let i = texts
            .new
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {}", texts.new));
        texts.line_notes[i].clone().unwrap_or_default()
    };
    let host = origin("host: postgres");
    assert!(
        host.contains("grade-api-values")
            && host.contains("dbHost")
            && host.contains("database.host"),
        "{host}"
    );
    let replicas = origin("replicaCount: 2");
    assert!(
        replicas.contains("grade-api-values") && replicas.contains("values.yaml"),
        "{replicas}"
    );

    // Scaled by hand: `/spec/replicas` is ignored by the HelmRelease's rule, so no drift.
    Api::<Deployment>::namespaced(f.client.clone(), "grade-api")
        .patch(
            "grade-api",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await
        .unwrap();
    let d = f.drift("grade-api", "grade-api").await;
    assert_eq!(d.mode, "enabled");
    let deploy = object(&d, "Deployment/grade-api/grade-api");
    assert_eq!(deploy.report.drift, ObjectDrift::None, "{deploy:#?}");
    assert_eq!(
        deploy.texts.notes.first().map(String::as_str),
        Some("ignored (driftDetection.ignore): /spec/replicas"),
        "the view says what it leaves out"
    );
    assert!(
        !deploy.texts.old.contains("replicas:"),
        "{}",
        deploy.texts.old
    );
    assert!(!d.drifted());
    assert_eq!(d.summary(), None);
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configmap_edit_without_reconcile_is_one_changed_line() {
    let f = start().await;
    let key = hr("grade-api", "grade-api");
    // Suspended, so that no reconcile applies the edit while the test looks at it.
    suspend(&f, "grade-api", "grade-api").await;
    Api::<ConfigMap>::namespaced(f.client.clone(), "grade-api")
        .patch(
            "grade-api-values",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"data": {"values.yaml": "replicaCount: 4\nimage:\n  tag: 0.3.0\n"}}),
            ),
        )
        .await
        .unwrap();
    let v = diffs::load_values(&f.reader, &key).await.unwrap();
    assert_eq!(v.pending(), Some(true));
    let t = v.values.as_ref().unwrap();
    assert_eq!(lines_only_in(&t.old, &t.new), ["replicaCount: 2"]);
    assert_eq!(lines_only_in(&t.new, &t.old), ["replicaCount: 4"]);
    assert_eq!(t.old.lines().count(), t.new.lines().count());
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_from_a_secret_are_masked_unless_shown() {
    let f = start().await;
    let key = hr("grade-api", "grade-api");
    suspend(&f, "grade-api", "grade-api").await;
    // The optional Secret appears: the password is pending, from a Secret.
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "grade-api-secrets", "namespace": "grade-api"},
        // `database:\n  password: hunter2\n`
        "data": {"values.yaml": "ZGF0YWJhc2U6CiAgcGFzc3dvcmQ6IGh1bnRlcjIK"},
    }))
    .unwrap();
    Api::<Secret>::namespaced(f.client.clone(), "grade-api")
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let v = diffs::load_values(&f.reader, &key).await.unwrap();
    assert_eq!(v.pending(), Some(true));
    let desired = v.desired.as_ref().unwrap();
    assert_eq!(desired.secret_pointers, ["/database/password"]);
    let t = v.values.as_ref().unwrap();
    assert!(!format!("{t:?}").contains("hunter2"), "{t:#?}");
    let added = lines_only_in(&t.new, &t.old);
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("  password: "), "{added:?}");
    assert!(added[0].contains("•••••• #"), "{added:?}");
    let i = t.new.lines().position(|l| l == added[0]).unwrap();
    assert_eq!(
        t.line_notes[i].as_deref(),
        Some("Secret/grade-api-secrets[values.yaml]")
    );
    assert!(t.right_label.contains("3 valuesFrom"), "{}", t.right_label);

    let shown = diffs::load_values_with(
        &f.reader,
        &key,
        DiffOptions {
            show_secrets: true,
            ..DiffOptions::default()
        },
    )
    .await
    .unwrap();
    let t = shown.values.as_ref().unwrap();
    assert_eq!(lines_only_in(&t.new, &t.old), ["  password: hunter2"]);
    f.cluster.shutdown().await;
}

async fn suspend(f: &Fixture, ns: &str, name: &str) {
    Api::<kube::api::DynamicObject>::namespaced_with(
        f.client.clone(),
        ns,
        &kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
        )),
    )
    .patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_requests_name_the_permission() {
    let f = start().await;
    // A forbidden dry-run: the comparison falls back to the manifest's fields and says so.
    f.cluster.faults.update(|s| {
        s.forbidden = vec![ForbiddenRule {
            resource: "deployments.apps".into(),
            namespace: Some("default".into()),
            verbs: vec!["patch".into()],
        }];
    });
    let d = f.drift("default", "backend").await;
    let reason = d.approximate.clone().unwrap();
    assert!(
        reason.contains("patch deployments.apps in namespace default"),
        "{reason}"
    );
    let deploy = object(&d, "Deployment/default/backend");
    assert!(deploy.approximate);
    assert_eq!(deploy.report.ops, ["replace /spec/replicas"], "{deploy:#?}");
    assert!(!object(&d, "Service/default/backend").approximate);

    // The values sources cannot be read: the desired side says which permission is missing.
    f.cluster.faults.update(|s| {
        s.forbidden = vec![ForbiddenRule {
            resource: "configmaps".into(),
            namespace: Some("grade-api".into()),
            verbs: vec!["get".into()],
        }];
    });
    let v = diffs::load_values(&f.reader, &hr("grade-api", "grade-api"))
        .await
        .unwrap();
    let err = v.desired.clone().unwrap_err();
    assert!(
        err.contains("get configmaps in namespace grade-api"),
        "{err}"
    );
    assert!(v.deployed.is_ok());
    assert!(v.values.is_err());

    // The storage records cannot be listed: which permission, in which namespace.
    f.cluster.faults.update(|s| {
        s.forbidden = vec![ForbiddenRule {
            resource: "secrets".into(),
            namespace: Some("default".into()),
            verbs: vec!["list".into()],
        }];
    });
    for err in [
        diffs::load_values(&f.reader, &hr("default", "backend"))
            .await
            .unwrap_err()
            .to_string(),
        diffs::load_drift(&f.reader, &hr("default", "backend"))
            .await
            .unwrap_err()
            .to_string(),
    ] {
        assert!(err.contains("list secrets in namespace default"), "{err}");
    }
    f.cluster.shutdown().await;
}
