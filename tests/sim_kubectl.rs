//! The real `kubectl` against the simulated API server: discovery, Table output, watch,
//! patches, annotate, client- and server-side apply and server dry runs. Skips with a notice
//! when no kubectl is installed (`scripts/get-clients` installs one into `.tools/bin`), or fails
//! when `FLUXDECK_REQUIRE_CLIENTS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_server.rs"]
mod sim_server;
#[path = "common/skip.rs"]
mod skip;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fluxdeck::sim::kubeconfig::write_kubeconfig;
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::store::{ObjKey, WriteOpts};
use serde_json::{Value, json};
use sim_server::{Sim, WAIT, wait_until};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Kubectl {
    fn new(sim: &Sim) -> Option<Self> {
        let bin = skip::client_or_skip("kubectl")?;
        let kubeconfig = sim.dir.path().join("kubeconfig");
        write_kubeconfig(&kubeconfig, &sim.handle.url()).unwrap();
        let home = sim.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Some(Self {
            bin,
            kubeconfig,
            home,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.join("cache"))
            .env("HOME", &self.home)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Run to completion; returns stdout, panics with stderr on failure.
    async fn run(&self, args: &[&str]) -> String {
        let out = tokio::time::timeout(WAIT, self.command(args).output())
            .await
            .expect("kubectl timed out")
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
        );
        stdout
    }

    async fn run_stdin(&self, args: &[&str], input: &str) -> String {
        let path = self.home.join(format!("input-{}.yaml", rand_suffix()));
        std::fs::write(&path, input).unwrap();
        let mut full: Vec<&str> = args.to_vec();
        let p = path.to_string_lossy().to_string();
        full.extend(["-f", &p]);
        self.run(&full).await
    }
}

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

fn ready_status(message: &str) -> Value {
    json!({"conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
        "message": message, "lastTransitionTime": "2025-01-01T00:00:00Z"}]})
}

fn seed(sim: &Sim) {
    for (res, api_version, kind, name, msg) in [
        (
            ids::helmreleases(),
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            "podinfo",
            "Helm install succeeded",
        ),
        (
            ids::kustomizations(),
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "apps",
            "Applied revision: main@sha1:abc",
        ),
    ] {
        sim.store
            .create(
                &res,
                json!({"apiVersion": api_version, "kind": kind,
                       "metadata": {"name": name, "namespace": "flux-system"},
                       "spec": {"interval": "5m"}, "status": ready_status(msg)}),
                WriteOpts::default(),
            )
            .unwrap();
    }
}

fn stored(sim: &Sim, name: &str) -> Value {
    (*sim
        .store
        .get(&ids::configmaps(), &ObjKey::new("default", name))
        .unwrap())
    .clone()
}

#[tokio::test]
async fn kubectl_discovery_and_table_output() {
    let sim = Sim::start().await;
    let Some(k) = Kubectl::new(&sim) else { return };
    seed(&sim);
    let out = k.run(&["api-resources"]).await;
    let hr = out
        .lines()
        .find(|l| l.starts_with("helmreleases "))
        .unwrap_or_else(|| panic!("no helmreleases in:\n{out}"));
    for word in ["hr", "helm.toolkit.fluxcd.io/v2", "true", "HelmRelease"] {
        assert!(hr.split_whitespace().any(|w| w == word), "{hr}");
    }

    let out = k.run(&["get", "hr,ks", "-A"]).await;
    assert!(out.contains("NAMESPACE"), "{out}");
    for col in ["READY", "STATUS", "AGE"] {
        assert!(out.contains(col), "{out}");
    }
    let podinfo = out.lines().find(|l| l.contains("podinfo")).unwrap();
    assert!(podinfo.contains("flux-system") && podinfo.contains("True"));
    assert!(podinfo.contains("Helm install succeeded"), "{podinfo}");
    assert!(out.contains("Applied revision: main@sha1:abc"), "{out}");

    let out = k
        .run(&["get", "hr", "podinfo", "-n", "flux-system", "-o", "json"])
        .await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["apiVersion"], "helm.toolkit.fluxcd.io/v2");
}

#[tokio::test]
async fn kubectl_get_watch_sees_a_change() {
    let sim = Sim::start().await;
    let Some(k) = Kubectl::new(&sim) else { return };
    sim.store
        .create(
            &ids::configmaps(),
            json!({"metadata": {"name": "first", "namespace": "default"}, "data": {}}),
            WriteOpts::default(),
        )
        .unwrap();
    let mut child = k
        .command(&["get", "configmaps", "-n", "default", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(String::new()));
    let sink = seen.clone();
    let reader = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    wait_until("the initial list", || seen.lock().contains("first")).await;
    // The watch starts after the list is printed: make changes until one shows up.
    let mut i = 0;
    let found = tokio::time::timeout(WAIT, async {
        loop {
            i += 1;
            sim.store
                .create(
                    &ids::configmaps(),
                    json!({"metadata": {"name": format!("second-{i}"), "namespace": "default"}}),
                    WriteOpts::default(),
                )
                .unwrap();
            let shown = tokio::time::timeout(Duration::from_secs(2), async {
                while !seen.lock().contains("second-") {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await;
            if shown.is_ok() {
                break;
            }
        }
    })
    .await;
    reader.abort();
    child.kill().await.unwrap();
    assert!(
        found.is_ok(),
        "kubectl get -w never showed the change: {}",
        seen.lock()
    );
}

#[tokio::test]
async fn kubectl_patch_annotate_apply_and_dry_run() {
    let sim = Sim::start().await;
    let Some(k) = Kubectl::new(&sim) else { return };
    sim.store
        .create(
            &ids::configmaps(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "1"}}),
            WriteOpts::default(),
        )
        .unwrap();

    k.run(&[
        "patch",
        "configmap",
        "cfg",
        "-n",
        "default",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"b":"2"}}"#,
    ])
    .await;
    assert_eq!(stored(&sim, "cfg")["data"]["b"], "2");
    k.run(&[
        "patch",
        "configmap",
        "cfg",
        "-n",
        "default",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/data/a","value":"9"}]"#,
    ])
    .await;
    assert_eq!(stored(&sim, "cfg")["data"]["a"], "9");
    k.run(&[
        "annotate",
        "configmap",
        "cfg",
        "-n",
        "default",
        "fluxdeck.io/note=hello",
    ])
    .await;
    assert_eq!(
        stored(&sim, "cfg")["metadata"]["annotations"]["fluxdeck.io/note"],
        "hello"
    );

    // Server-side dry run changes nothing.
    let rv = sim.store.resource_version();
    k.run(&[
        "patch",
        "configmap",
        "cfg",
        "-n",
        "default",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":"dry"}}"#,
        "--dry-run=server",
    ])
    .await;
    assert_eq!(stored(&sim, "cfg")["data"]["a"], "9");
    assert_eq!(sim.store.resource_version(), rv);

    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: default\ndata:\n  x: \"1\"\n";
    k.run_stdin(&["apply", "--dry-run=server"], manifest).await;
    assert!(
        sim.store
            .get(&ids::configmaps(), &ObjKey::new("default", "applied"))
            .is_none()
    );
    k.run_stdin(&["apply"], manifest).await;
    assert_eq!(stored(&sim, "applied")["data"]["x"], "1");
    k.run_stdin(&["apply"], &manifest.replace("x: \"1\"", "x: \"2\""))
        .await;
    assert_eq!(stored(&sim, "applied")["data"]["x"], "2");

    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n";
    let out = k.run_stdin(&["apply", "--server-side"], hr).await;
    assert!(out.contains("serverside-applied"), "{out}");
    let obj = sim
        .store
        .get(&ids::helmreleases(), &ObjKey::new("apps", "web"))
        .unwrap();
    assert_eq!(obj["spec"]["interval"], "5m");
    assert_eq!(obj["metadata"]["managedFields"][0]["manager"], "kubectl");
    k.run_stdin(&["apply", "--server-side"], &hr.replace("5m", "10m"))
        .await;
    let obj = sim
        .store
        .get(&ids::helmreleases(), &ObjKey::new("apps", "web"))
        .unwrap();
    assert_eq!(obj["spec"]["interval"], "10m");

    // The access log shows kubectl's requests.
    let log = sim.access_log();
    assert!(log.iter().any(|e| e.method == "PATCH"
        && e.user_agent.starts_with("kubectl")
        && e.content_type.as_deref() == Some("application/apply-patch+yaml")));
    assert!(log.iter().any(|e| e.path.contains("dryRun=All")));
}

#[tokio::test]
async fn kubectl_protobuf_writes_fail_clearly_and_policy_forbids() {
    let sim = Sim::start().await;
    let Some(k) = Kubectl::new(&sim) else { return };
    let out = tokio::time::timeout(
        WAIT,
        k.command(&[
            "create",
            "secret",
            "generic",
            "s",
            "-n",
            "default",
            "--from-literal=a=b",
        ])
        .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(
            sim.access_log().iter().any(|e| e.status == 415),
            "a failing create must be a 415: {stderr}"
        );
    } else {
        // A kubectl that sends JSON creates the secret.
        assert!(
            sim.store
                .get(&ids::secrets(), &ObjKey::new("default", "s"))
                .is_some()
        );
    }

    sim.faults.update(|f| {
        f.forbidden.push(fluxdeck::sim::faults::ForbiddenRule {
            resource: "secrets".into(),
            namespace: Some("locked".into()),
            verbs: vec!["list".into()],
        })
    });
    // kubectl sends access reviews as protobuf too: a clear 415, never a wrong answer.
    let out = tokio::time::timeout(
        WAIT,
        k.command(&["auth", "can-i", "list", "secrets", "-n", "locked"])
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    if !out.status.success() && out.stdout.is_empty() {
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("UnsupportedMediaType"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no");
    }
    let out = tokio::time::timeout(
        WAIT,
        k.command(&["get", "secrets", "-n", "locked"]).output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbidden"));
}

#[tokio::test]
async fn helm_lists_releases_from_secrets() {
    let sim = Sim::start().await;
    let Some(k) = Kubectl::new(&sim) else { return };
    let Some(helm) = skip::client_or_skip("helm") else {
        return;
    };
    let out = tokio::time::timeout(
        WAIT,
        Command::new(&helm)
            .args(["list", "-A", "--kubeconfig"])
            .arg(&k.kubeconfig)
            .env("HOME", &k.home)
            .env_remove("KUBECONFIG")
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helm list failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("NAME"), "{stdout}");
    assert!(
        sim.access_log()
            .iter()
            .any(|e| e.path.contains("labelSelector=owner%3Dhelm"))
    );
}

/// The client's version line (`helm version --template`, `kubectl version --client -o json`).
fn client_version(bin: &std::path::Path, name: &str) -> String {
    let args: &[&str] = if name == "helm" {
        &["version", "--template", "{{.Version}}"]
    } else {
        &["version", "--client", "-o", "json"]
    };
    let out = std::process::Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if name == "helm" {
        return text.trim().to_string();
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    v["clientVersion"]["gitVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The cross-checks are written against helm v4 and kubectl v1.35 (what `scripts/get-clients`
/// installs); other versions are reported, and fail when clients are required.
#[test]
fn clients_are_the_versions_the_cross_checks_expect() {
    for (name, prefix) in [("helm", "v4."), ("kubectl", "v1.35.")] {
        let Some(bin) = skip::client_or_skip(name) else {
            continue;
        };
        let version = client_version(&bin, name);
        if !version.starts_with(prefix) {
            skip::skip_or_fail(
                &format!("{name} at the version the cross-checks expect"),
                &format!("{} is {version}, expected {prefix}x", bin.display()),
                skip::REQUIRE_CLIENTS,
            );
        }
    }
}
