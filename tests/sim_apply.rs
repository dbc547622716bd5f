#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Server-side apply against the simulated cluster over HTTP, as the drift view sends it
//! (`application/apply-patch+yaml`, `dryRun=All`, `force=true`, `fieldManager=helm-controller`):
//! a freshly installed release shows no difference, a change by another manager shows
//! exactly that change, a Service keeps its clusterIP, and keyed lists, ownership and
//! conflicts behave as on a real API server.

#[path = "common/skip.rs"]
mod skip;

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fluxdeck::domain::helm_storage::decode_release;
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::scenario::object_identity;
use fluxdeck::sim::store::Store;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// The demo scenario without its timeline: releases are installed and then left alone.
async fn untouched_demo() -> (SimCluster, tempfile::TempDir) {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sim/scenarios/demo.yaml"),
    )
    .unwrap();
    let cut = text.find("\ntimeline:").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo-untouched.yaml");
    std::fs::write(&path, &text[..cut + 1]).unwrap();
    let cluster = SimCluster::start(SimOptions {
        scenario: path.display().to_string(),
        speed: 300.0,
        ..Default::default()
    })
    .await
    .unwrap();
    (cluster, dir)
}

fn ready(hr: &Value) -> Option<bool> {
    conditions::get(hr, "Ready").map(|c| c["status"] == "True")
}

/// The HelmReleases that are Ready, as (namespace, name).
fn ready_releases(store: &Store) -> Vec<(String, String)> {
    let (hrs, _) = store.list(&ids::helmreleases(), None);
    hrs.iter()
        .filter(|h| ready(h) == Some(true))
        .map(|h| {
            let m = |f: &str| h["metadata"][f].as_str().unwrap_or_default().to_string();
            (m("namespace"), m("name"))
        })
        .collect()
}

/// Wait until the healthy releases of the demo are installed and Ready.
async fn settled(store: &Store) {
    let ok = controllers::wait_for(store, WAIT, |s| ready_releases(s).len() >= 3).await;
    let (hrs, _) = store.list(&ids::helmreleases(), None);
    let states: Vec<String> = hrs
        .iter()
        .map(|h| {
            format!(
                "{} {:?}",
                h["metadata"]["name"],
                conditions::get(h, "Ready")
            )
        })
        .collect();
    assert!(ok, "the demo releases never became Ready: {states:#?}");
}

/// The manifest objects of every deployed release (latest record per release), with the
/// release namespace filled in where the manifest leaves it out.
fn deployed_objects(store: &Store) -> Vec<Value> {
    let ready = ready_releases(store);
    let (secrets, _) = store.list(&ids::secrets(), None);
    let mut latest: std::collections::BTreeMap<(String, String), (i64, String)> =
        Default::default();
    for s in secrets {
        if s["metadata"]["labels"]["owner"] != "helm"
            || s["metadata"]["labels"]["status"] != "deployed"
        {
            continue;
        }
        let bytes = STANDARD
            .decode(s["data"]["release"].as_str().unwrap())
            .unwrap();
        let rel = decode_release(&bytes).unwrap();
        let key = (rel.namespace.clone(), rel.name.clone());
        if !ready.contains(&key) {
            continue;
        }
        if latest.get(&key).is_none_or(|(v, _)| *v < rel.version) {
            latest.insert(key, (rel.version, rel.manifest.clone()));
        }
    }
    assert!(!latest.is_empty(), "no deployed release");
    let mut out = Vec::new();
    for ((ns, _), (_, manifest)) in latest {
        for doc in serde_yaml::Deserializer::from_str(&manifest) {
            let mut v: Value = serde::Deserialize::deserialize(doc).unwrap();
            if v.is_null() {
                continue;
            }
            if v.pointer("/metadata/namespace").is_none() {
                v["metadata"]["namespace"] = json!(ns);
            }
            out.push(v);
        }
    }
    out
}

/// The API path of an object.
fn path_of(obj: &Value) -> String {
    let (res, key) = object_identity(obj).unwrap();
    let api = obj["apiVersion"].as_str().unwrap();
    let base = if res.group.is_empty() {
        format!("/api/{api}")
    } else {
        format!("/apis/{api}")
    };
    if key.namespace.is_empty() {
        format!("{base}/{}/{}", res.plural, key.name)
    } else {
        format!(
            "{base}/namespaces/{}/{}/{}",
            key.namespace, res.plural, key.name
        )
    }
}

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Value, kube::Error> {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(body)
        .unwrap();
    let text = client.request_text(req).await?;
    Ok(serde_json::from_str(&text).unwrap())
}

async fn get(client: &kube::Client, path: &str) -> Value {
    send(client, "GET", path, "application/json", Vec::new())
        .await
        .unwrap()
}

/// The drift view's request: a forced server-side apply dry-run as helm-controller.
async fn dry_apply(client: &kube::Client, obj: &Value) -> Value {
    let path = format!(
        "{}?dryRun=All&force=true&fieldManager=helm-controller",
        path_of(obj)
    );
    send(
        client,
        "PATCH",
        &path,
        "application/apply-patch+yaml",
        serde_json::to_vec(obj).unwrap(),
    )
    .await
    .unwrap()
}

async fn patch(client: &kube::Client, path: &str, kind: &str, manager: &str, body: Value) -> Value {
    let ct = match kind {
        "merge" => "application/merge-patch+json",
        "strategic" => "application/strategic-merge-patch+json",
        _ => "application/apply-patch+yaml",
    };
    send(
        client,
        "PATCH",
        &format!("{path}?fieldManager={manager}"),
        ct,
        serde_json::to_vec(&body).unwrap(),
    )
    .await
    .unwrap()
}

/// What the drift view compares: no managedFields, resourceVersion, generation or status.
fn normalized(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in ["managedFields", "resourceVersion", "generation"] {
            meta.remove(f);
        }
    }
    v
}

fn ops(live: &Value, dry: &Value) -> Vec<String> {
    json_patch::diff(&normalized(live), &normalized(dry))
        .0
        .iter()
        .map(|op| {
            let j = serde_json::to_value(op).unwrap();
            format!(
                "{} {}",
                j["op"].as_str().unwrap(),
                j["path"].as_str().unwrap()
            )
        })
        .collect()
}

fn client_of(cluster: &SimCluster) -> kube::Client {
    let config = kube::Config::new(cluster.url().parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

fn find<'a>(objs: &'a [Value], kind: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && pred(o))
        .unwrap_or_else(|| panic!("no {kind} in the deployed manifests"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_of_freshly_installed_releases_shows_no_drift() {
    let (cluster, _dir) = untouched_demo().await;
    settled(&cluster.store).await;
    let client = client_of(&cluster);
    let objs = deployed_objects(&cluster.store);
    let kinds: std::collections::BTreeSet<&str> =
        objs.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert!(
        kinds.contains("Deployment") && kinds.contains("Service"),
        "{kinds:?}"
    );
    for obj in &objs {
        let live = get(&client, &path_of(obj)).await;
        // The live objects carry the API server's defaults, as on a real cluster.
        match obj["kind"].as_str() {
            Some("Deployment") => {
                assert_eq!(live["spec"]["revisionHistoryLimit"], 10);
                assert_eq!(live["spec"]["strategy"]["type"], "RollingUpdate");
            }
            Some("Service") => assert!(live["spec"]["clusterIP"].is_string()),
            _ => {}
        }
        if let Some(c) = live.pointer("/spec/template/spec/containers/0") {
            assert_eq!(c["terminationMessagePolicy"], "File");
            assert_eq!(
                live["spec"]["template"]["spec"]["dnsPolicy"],
                "ClusterFirst"
            );
        }
        let dry = dry_apply(&client, obj).await;
        assert_eq!(
            ops(&live, &dry),
            Vec::<String>::new(),
            "{} drifts in a dry-run of its own manifest\nlive: {live:#}\ndry-run: {dry:#}",
            path_of(obj)
        );
        assert_eq!(
            dry["metadata"]["resourceVersion"], live["metadata"]["resourceVersion"],
            "a dry-run answers the stored resourceVersion"
        );
        assert!(
            dry["metadata"]["managedFields"]
                .as_array()
                .is_some_and(|m| m.iter().any(|e| e["manager"] == "helm-controller")),
            "the answer records the apply"
        );
        let after = get(&client, &path_of(obj)).await;
        assert!(
            !after["metadata"]["managedFields"]
                .as_array()
                .is_some_and(|m| m.iter().any(|e| e["manager"] == "helm-controller")),
            "a dry-run commits nothing"
        );
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_by_other_managers_show_exactly_that_change() {
    let (cluster, _dir) = untouched_demo().await;
    settled(&cluster.store).await;
    let client = client_of(&cluster);
    let objs = deployed_objects(&cluster.store);
    let deploy = find(&objs, "Deployment", |o| {
        o.pointer("/spec/template/spec/containers/0/env").is_some()
            && o.pointer("/spec/replicas").is_some()
    });
    let path = path_of(deploy);

    // Hand-scaled by another manager.
    patch(
        &client,
        &path,
        "merge",
        "kubectl",
        json!({"spec": {"replicas": 7}}),
    )
    .await;
    let live = get(&client, &path).await;
    assert_eq!(live["spec"]["replicas"], 7);
    let dry = dry_apply(&client, deploy).await;
    assert_eq!(ops(&live, &dry), ["replace /spec/replicas"]);
    assert_eq!(dry["spec"]["replicas"], deploy["spec"]["replicas"]);
    // The dry-run took nothing: the live object is still scaled.
    assert_eq!(get(&client, &path).await["spec"]["replicas"], 7);

    // Without force, the apply conflicts with the manager that scaled it.
    let conflict = send(
        &client,
        "PATCH",
        &format!("{path}?dryRun=All&fieldManager=helm-controller"),
        "application/apply-patch+yaml",
        serde_json::to_vec(deploy).unwrap(),
    )
    .await
    .unwrap_err();
    match conflict {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
            assert!(
                s.message.starts_with(
                    "Apply failed with 1 conflict: conflict with \"kubectl\" using apps/v1"
                ) && s.message.ends_with(": .spec.replicas"),
                "{}",
                s.message
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    // `kubectl set image`: a strategic merge patch of one container's image.
    let container = deploy["spec"]["template"]["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap();
    patch(
        &client,
        &path,
        "strategic",
        "kubectl-set",
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": container, "image": "registry.example.com/other:9.9"}]}}}}),
    )
    .await;
    let live = get(&client, &path).await;
    let c0 = &live["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c0["image"], "registry.example.com/other:9.9");
    assert_eq!(
        c0["env"], deploy["spec"]["template"]["spec"]["containers"][0]["env"],
        "the patch keeps the container's other fields"
    );
    assert_eq!(c0["terminationMessagePath"], "/dev/termination-log");
    let dry = dry_apply(&client, deploy).await;
    let mut found = ops(&live, &dry);
    found.sort();
    assert_eq!(
        found,
        [
            "replace /spec/replicas",
            "replace /spec/template/spec/containers/0/image"
        ]
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_keep_their_cluster_ip() {
    let (cluster, _dir) = untouched_demo().await;
    settled(&cluster.store).await;
    let client = client_of(&cluster);
    let objs = deployed_objects(&cluster.store);
    let svc = find(&objs, "Service", |_| true);
    let path = path_of(svc);
    let live = get(&client, &path).await;
    let ip = live["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10."), "{ip}");
    assert_eq!(live["spec"]["clusterIPs"], json!([ip]));
    let dry = dry_apply(&client, svc).await;
    assert_eq!(dry["spec"]["clusterIP"], ip.as_str());
    // A real apply without clusterIP keeps it, and changes nothing.
    let applied = send(
        &client,
        "PATCH",
        &format!("{path}?force=true&fieldManager=helm-controller"),
        "application/apply-patch+yaml",
        serde_json::to_vec(svc).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(applied["spec"]["clusterIP"], ip.as_str());
    assert_eq!(ops(&live, &applied), Vec::<String>::new());
    // A PUT that leaves it out keeps it too.
    let mut put = get(&client, &path).await;
    put["spec"].as_object_mut().unwrap().remove("clusterIP");
    put["spec"].as_object_mut().unwrap().remove("clusterIPs");
    let replaced = send(
        &client,
        "PUT",
        &path,
        "application/json",
        serde_json::to_vec(&put).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(replaced["spec"]["clusterIP"], ip.as_str());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_list_items_belong_to_their_managers() {
    let (cluster, _dir) = untouched_demo().await;
    let client = client_of(&cluster);
    let path = "/apis/apps/v1/namespaces/default/deployments/keyed";
    let deploy = |env: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "keyed", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "keyed"}},
                "template": {"metadata": {"labels": {"app": "keyed"}},
                    "spec": {"containers": [{"name": "app", "image": "app:1", "env": env}]}}}})
    };
    let created = patch(
        &client,
        path,
        "apply",
        "first",
        deploy(json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])),
    )
    .await;
    assert_eq!(created["spec"]["replicas"], 1, "defaults on create");
    let c = &created["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    let fields = &created["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["f:env"]
            ["k:{\"name\":\"Y\"}"]
            .is_object(),
        "{fields:#}"
    );

    // Another manager adds an item to the same keyed list.
    let mut other = deploy(json!([{"name": "Z", "value": "3"}]));
    other["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("image");
    let both = patch(&client, path, "apply", "second", other).await;
    let env = &both["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env.as_array().unwrap().len(), 3, "{env}");
    assert_eq!(
        both["spec"]["template"]["spec"]["containers"][0]["image"],
        "app:1"
    );

    // The first manager drops Y: Y goes, Z (owned by the other manager) stays.
    let after = patch(
        &client,
        path,
        "apply",
        "first",
        deploy(json!([{"name": "X", "value": "1"}])),
    )
    .await;
    let names: Vec<&str> = after["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["X", "Z"]);
    cluster.shutdown().await;
}

/// The real kubectl agrees: `kubectl apply --server-side --dry-run=server` of a manifest
/// object answers the live object, and `kubectl diff --server-side` reports nothing for an
/// untouched object and the replicas for a hand-scaled one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_dry_run_and_diff() {
    let Some(bin) = skip::client_or_skip("kubectl") else {
        return;
    };
    let (cluster, dir) = untouched_demo().await;
    settled(&cluster.store).await;
    let client = client_of(&cluster);
    let kubeconfig = dir.path().join("kubeconfig");
    fluxdeck::sim::kubeconfig::write_kubeconfig(&kubeconfig, &cluster.url()).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let kubectl = |args: &[&str]| {
        let mut c = tokio::process::Command::new(&bin);
        c.args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(home.join("cache"))
            .env("HOME", &home)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    };
    let objs = deployed_objects(&cluster.store);
    let deploy = find(&objs, "Deployment", |o| {
        o.pointer("/spec/replicas").is_some()
    });
    let file = dir.path().join("deploy.json");
    std::fs::write(&file, serde_json::to_vec(deploy).unwrap()).unwrap();
    let file = file.display().to_string();
    let path = path_of(deploy);

    let out = tokio::time::timeout(
        WAIT,
        kubectl(&[
            "apply",
            "--server-side",
            "--dry-run=server",
            "--force-conflicts",
            "--field-manager=helm-controller",
            "-o",
            "json",
            "-f",
            &file,
        ])
        .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    let live = get(&client, &path).await;
    assert_eq!(ops(&live, &dry), Vec::<String>::new());

    let diff = |args: Vec<String>| {
        let mut c = kubectl(&args.iter().map(String::as_str).collect::<Vec<_>>());
        c.env("KUBECTL_EXTERNAL_DIFF", "diff -u");
        c
    };
    let args = || {
        vec![
            "diff".to_string(),
            "--server-side".to_string(),
            "--force-conflicts".to_string(),
            "--field-manager=helm-controller".to_string(),
            "-f".to_string(),
            file.clone(),
        ]
    };
    let out = tokio::time::timeout(WAIT, diff(args()).output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "no differences expected:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    patch(
        &client,
        &path,
        "merge",
        "kubectl",
        json!({"spec": {"replicas": 7}}),
    )
    .await;
    let out = tokio::time::timeout(WAIT, diff(args()).output())
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .filter(|l| !l.contains("generation:"))
        .collect();
    let want = format!("+  replicas: {}", deploy["spec"]["replicas"]);
    assert_eq!(changed, ["-  replicas: 7", want.as_str()], "{text}");
    cluster.shutdown().await;
}
