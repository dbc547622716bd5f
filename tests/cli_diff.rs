//! `fluxdeck diff values` and `fluxdeck diff drift` against the in-process simulated cluster
//! running the demo scenario: the unified diffs, the JSON, and the exit codes (0 no
//! difference, 1 differences, 2 errors). The built binary runs against the cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/scenario.rs"]
mod scenario;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::server::read_access_log;
use fluxdeck::sim::store::ObjKey;
use serde_json::Value;

/// Upper bound of every wait.
const WAIT: Duration = Duration::from_secs(60);

struct Env {
    cluster: SimCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    async fn start() -> Env {
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
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, cluster.kubeconfig_yaml()).unwrap();
        Env {
            cluster,
            dir,
            kubeconfig,
        }
    }

    async fn run(&self, args: &[&str]) -> Run {
        let home = self.dir.path();
        let out: Output = tokio::time::timeout(
            WAIT,
            tokio::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"))
                .args(args)
                .env("KUBECONFIG", &self.kubeconfig)
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_STATE_HOME", home.join("state"))
                .env("HOME", home)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("the command did not finish")
        .unwrap();
        Run {
            code: out.status.code().unwrap(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Requests that change something (not GET, not an apply dry-run).
    fn writes(&self) -> Vec<String> {
        read_access_log(&self.dir.path().join("access.log"))
            .unwrap()
            .into_iter()
            .filter(|e| e.method != "GET" && !e.path.contains("dryRun=All"))
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }

    /// Merge-patch an object through the store's API server (as `kubectl patch` would).
    async fn patch(&self, api_version: &str, kind: &str, ns: &str, name: &str, patch: Value) {
        let conn = fluxdeck::kube::client::connect_kubeconfig_yaml(&self.cluster.kubeconfig_yaml())
            .await
            .unwrap();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let resource = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            group, version, kind,
        ));
        kube::api::Api::<kube::api::DynamicObject>::namespaced_with(conn.client, ns, &resource)
            .patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(patch),
            )
            .await
            .unwrap();
    }
}

/// The lines of a unified diff that are changes (not the `---`/`+++` header).
fn changes(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') && !l.starts_with("+++"))
                || (l.starts_with('-') && !l.starts_with("---"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_values_of_backend_and_grade_api() {
    let env = Env::start().await;

    // Desired equals deployed: exit 0, nothing on stdout.
    for hr in [
        "default/backend",
        "hr/default/backend",
        "grade-api/grade-api",
    ] {
        let r = env.run(&["diff", "values", hr]).await;
        assert_eq!(r.code, 0, "{hr}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stdout, "", "{hr}");
        assert!(r.stderr.contains("no difference"), "{}", r.stderr);
    }

    // Revision 1 vs 4 of backend.
    let r = env
        .run(&["diff", "values", "default/backend", "--revision", "1..4"])
        .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(
            "--- rev 1 (podinfo@6.6.0, superseded)\n+++ deployed rev 4 (podinfo@6.6.1)\n"
        ),
        "{}",
        r.stdout
    );
    let mut c = changes(&r.stdout);
    c.sort();
    assert_eq!(
        c,
        [
            "+message: hello from v4",
            "+replicaCount: 3",
            "-message: hello from v1",
            "-replicaCount: 1"
        ],
        "{}",
        r.stdout
    );
    // `--revision A`: A against the deployed revision; the same revision: no difference.
    let r = env
        .run(&["diff", "values", "default/backend", "--revision", "3"])
        .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("+++ deployed rev 4"), "{}", r.stdout);
    let r = env
        .run(&["diff", "values", "default/backend", "--revision", "4..4"])
        .await;
    assert_eq!(r.code, 0, "{}", r.stderr);

    // JSON: sides, lines with their origins.
    let r = env
        .run(&["diff", "values", "grade-api/grade-api", "-o", "json"])
        .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["helmRelease"], "grade-api/grade-api");
    assert_eq!(v["differs"], false);
    assert_eq!(v["compare"], "values");
    assert!(
        v["right"]["label"]
            .as_str()
            .unwrap()
            .starts_with("desired: "),
        "{v}"
    );
    assert_eq!(v["right"]["revision"], Value::Null);
    assert!(
        v["left"]["label"]
            .as_str()
            .unwrap()
            .starts_with("deployed rev 1 "),
        "{v}"
    );
    assert_eq!(v["left"]["revision"], 1);
    let host = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["text"].as_str().unwrap().contains("host: postgres"))
        .unwrap();
    assert_eq!(host["op"], "equal");
    assert!(
        host["origin"].as_str().unwrap().contains("database.host"),
        "{host}"
    );

    // A ConfigMap edit that no reconcile has applied yet (the HelmRelease suspended first):
    // exactly the one changed line, exit 1.
    env.patch(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "grade-api",
        "grade-api",
        serde_json::json!({"spec": {"suspend": true}}),
    )
    .await;
    env.patch(
        "v1",
        "ConfigMap",
        "grade-api",
        "grade-api-values",
        serde_json::json!({"data": {"dbHost": "db.example.com"}}),
    )
    .await;
    let before = env.writes().len();
    let r = env.run(&["diff", "values", "grade-api/grade-api"]).await;
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        changes(&r.stdout),
        [
            "-  host: postgres.grade-api.svc.cluster.local",
            "+  host: db.example.com"
        ],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("+++ desired: "), "{}", r.stdout);
    // Read-only sessions may diff; nothing is written.
    let r = env
        .run(&["--read-only", "diff", "values", "grade-api/grade-api"])
        .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(env.writes().len(), before, "{:?}", env.writes());

    // A value from a Secret is masked unless --show-secrets.
    let conn = fluxdeck::kube::client::connect_kubeconfig_yaml(&env.cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "grade-api-secrets", "namespace": "grade-api"},
        // `database:\n  password: hunter2\n`
        "data": {"values.yaml": "ZGF0YWJhc2U6CiAgcGFzc3dvcmQ6IGh1bnRlcjIK"},
    }))
    .unwrap();
    kube::api::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(conn.client, "grade-api")
        .create(&kube::api::PostParams::default(), &secret)
        .await
        .unwrap();
    let r = env.run(&["diff", "values", "grade-api/grade-api"]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stdout.contains("hunter2"), "{}", r.stdout);
    assert!(r.stdout.contains("+  password: '•••••• #"), "{}", r.stdout);
    let r = env
        .run(&["--ascii", "diff", "values", "grade-api/grade-api"])
        .await;
    assert!(r.stdout.contains("+  password: '****** #"), "{}", r.stdout);
    let r = env
        .run(&["--show-secrets", "diff", "values", "grade-api/grade-api"])
        .await;
    assert!(r.stdout.contains("+  password: hunter2\n"), "{}", r.stdout);
    env.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_drift_of_backend_and_grade_api() {
    let env = Env::start().await;

    let r = env.run(&["diff", "drift", "default/backend"]).await;
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("Cluster state of release default/backend.v4 has drifted from the desired state:")
    );
    assert_eq!(
        lines.next(),
        Some("Deployment/default/backend changed (0 additions, 1 changes, 0 removals)")
    );
    assert!(
        r.stdout.contains("--- Deployment/default/backend (live)\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        changes(&r.stdout),
        ["-  replicas: 5", "+  replicas: 3"],
        "{}",
        r.stdout
    );

    let r = env
        .run(&["diff", "drift", "hr/default/backend", "-o", "json"])
        .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["release"], "default/backend.v4");
    assert_eq!(v["drifted"], true);
    assert_eq!(v["approximate"], Value::Null);
    let objects = v["objects"].as_array().unwrap();
    let deploy = objects
        .iter()
        .find(|o| o["id"] == "Deployment/default/backend")
        .unwrap();
    assert_eq!(deploy["drift"], "changed");
    assert_eq!(deploy["changes"], 1);
    assert_eq!(deploy["ops"], serde_json::json!(["replace /spec/replicas"]));
    let service = objects
        .iter()
        .find(|o| o["id"] == "Service/default/backend")
        .unwrap();
    assert_eq!(service["drift"], "none", "{service}");

    // grade-api scaled by hand: `/spec/replicas` is ignored, so no drift: exit 0.
    env.patch(
        "apps/v1",
        "Deployment",
        "grade-api",
        "grade-api",
        serde_json::json!({"spec": {"replicas": 7}}),
    )
    .await;
    let r = env.run(&["diff", "drift", "grade-api/grade-api"]).await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("No drift: "), "{}", r.stdout);
    assert!(
        env.writes()
            .iter()
            .all(|w| !w.contains("fieldManager=helm-controller"))
    );
    env.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_errors_exit_2() {
    let env = Env::start().await;
    for args in [
        &["diff", "values", "default/nope"][..],
        &["diff", "drift", "hr/default/nope"],
        &["diff", "values", "backend"],
        &["diff", "drift", "ks/flux-system/apps"],
        &["diff", "values", "default/backend", "--revision", "0"],
        &["diff", "values", "default/backend", "--revision", "1..x"],
        &["diff", "values", "default/backend", "--revision", "9"],
        &["diff", "values", "default/backend", "-o", "yaml"],
        &["diff", "nothing", "default/backend"],
    ] {
        let r = env.run(args).await;
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(!r.stderr.is_empty(), "{args:?}");
        assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
    }
    let r = env.run(&["diff", "values", "default/nope"]).await;
    assert!(r.stderr.contains("not found"), "{}", r.stderr);
    // A required valuesFrom that does not exist: the controller's error, exit 2.
    env.patch(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "default",
        "backend",
        serde_json::json!({"spec": {"suspend": true, "valuesFrom": [{"kind": "ConfigMap", "name": "absent"}]}}),
    )
    .await;
    let r = env.run(&["diff", "values", "default/backend"]).await;
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("absent"), "{}", r.stderr);
    env.cluster.shutdown().await;
}
