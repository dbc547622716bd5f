#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The real `helm` client reads the simulated cluster's Helm release records: `helm history`,
//! `helm get values`, `helm get manifest`, `helm status` and `helm list` agree with the
//! storage Secrets, with the HelmRelease status (history and inventory) and with what the
//! scenario declared. Skips with a notice when no helm is installed (`scripts/get-clients`
//! installs one into `.tools/bin`), or fails when `FLUXDECK_REQUIRE_CLIENTS=1`.

#[path = "common/skip.rs"]
mod skip;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::DateTime;
use fluxdeck::domain::helm_storage::{Release, config_digest, decode_release};
use fluxdeck::domain::inventory::{format_id, parse_id};
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::kubeconfig::write_kubeconfig;
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::scenario;
use fluxdeck::sim::store::{ObjKey, Store, WriteOpts, WritePart};
use serde_json::{Map, Value, json};
use tokio::process::Command;

/// Upper bound of every wait and every helm run.
const WAIT: Duration = Duration::from_secs(60);

/// The helm binary with a kubeconfig for the simulated cluster and its own cache, config
/// and data directories.
struct Helm {
    bin: PathBuf,
    dir: PathBuf,
}

impl Helm {
    fn new(bin: PathBuf, dir: &Path, url: &str) -> Self {
        write_kubeconfig(&dir.join("kubeconfig"), url).unwrap();
        Self {
            bin,
            dir: dir.to_path_buf(),
        }
    }

    /// Run to completion; returns stdout, panics with stderr on failure.
    async fn run(&self, args: &[&str]) -> String {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .env("HELM_CACHE_HOME", self.dir.join("cache"))
            .env("HELM_CONFIG_HOME", self.dir.join("config"))
            .env("HELM_DATA_HOME", self.dir.join("data"))
            .env("HOME", &self.dir)
            .env_remove("HELM_DRIVER")
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .env_remove("HELM_KUBEAPISERVER")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(WAIT, c.output())
            .await
            .unwrap_or_else(|_| panic!("helm {args:?} timed out"))
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success(),
            "helm {args:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
        );
        stdout
    }

    async fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("helm {args:?}: not JSON ({e}): {out}"))
    }
}

/// All Helm release records in the store, by (storage namespace, release name, version),
/// decoded from the Secrets as they are served (API base64, then Helm's base64 + gzip).
fn records(store: &Store) -> BTreeMap<(String, String), BTreeMap<i64, Release>> {
    let (secrets, _) = store.list(&ids::secrets(), None);
    let mut out: BTreeMap<(String, String), BTreeMap<i64, Release>> = BTreeMap::new();
    for s in secrets {
        if s["metadata"]["labels"]["owner"] != "helm" {
            continue;
        }
        assert_eq!(s["type"], "helm.sh/release.v1");
        let name = s["metadata"]["labels"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let ns = s["metadata"]["namespace"].as_str().unwrap().to_string();
        let helm_b64 = STANDARD
            .decode(s["data"]["release"].as_str().unwrap())
            .unwrap();
        let rel = decode_release(&helm_b64).unwrap();
        assert_eq!(
            s["metadata"]["name"],
            format!("sh.helm.release.v1.{}.v{}", rel.name, rel.version)
        );
        assert_eq!(s["metadata"]["labels"]["version"], rel.version.to_string());
        assert_eq!(s["metadata"]["labels"]["status"], rel.info.status.as_str());
        out.entry((ns, name)).or_default().insert(rel.version, rel);
    }
    out
}

fn hr(store: &Store, ns: &str, name: &str) -> Arc<Value> {
    store
        .get(&ids::helmreleases(), &ObjKey::new(ns, name))
        .unwrap()
}

fn is_stalled(store: &Store, ns: &str, name: &str) -> bool {
    store
        .get(&ids::helmreleases(), &ObjKey::new(ns, name))
        .and_then(|o| conditions::get(&o, "Stalled").cloned())
        .is_some_and(|c| c["status"] == "True" && c["reason"] == "RetriesExceeded")
}

fn patch_values(store: &Store, ns: &str, name: &str, f: impl FnOnce(&mut Value)) {
    store
        .modify(
            &ids::helmreleases(),
            &ObjKey::new(ns, name),
            WritePart::Main,
            WriteOpts::default(),
            |cur| {
                let mut n = cur.clone();
                f(&mut n["spec"]["values"]);
                Ok(Some(n))
            },
        )
        .unwrap();
}

/// A second release that fails to install (bad image, no retries): a `failed` record.
fn add_failing_release(store: &Store) {
    store
        .create(
            &ids::namespaces(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
            WriteOpts::default(),
        )
        .unwrap();
    store
        .create(
            &ids::helmreleases(),
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "broken", "namespace": "other"},
                "spec": {
                    "interval": "10m",
                    "timeout": "1m",
                    "chart": {"spec": {"chart": "app", "sourceRef":
                        {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}},
                    "values": {"image": {"tag": "broken"}},
                },
            }),
            WriteOpts::default(),
        )
        .unwrap();
}

/// The declared values of the seeded revisions of `apps/web` in the `rollback` scenario.
fn declared_values() -> Vec<Map<String, Value>> {
    let sc = scenario::load("rollback").unwrap();
    sc.releases["apps/web"]
        .revisions
        .iter()
        .map(|r| r.values.clone())
        .collect()
}

fn same_instant(helm_time: &Value, record: Option<DateTime<chrono::FixedOffset>>) -> bool {
    let t = helm_time.as_str().unwrap_or_default();
    let parsed = DateTime::parse_from_rfc3339(t)
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f %z UTC"));
    parsed.ok() == record
}

/// Inventory ids of the objects of a manifest (namespaced objects default to `ns`).
fn manifest_ids(manifest: &str, ns: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for doc in serde_yaml::Deserializer::from_str(manifest) {
        let v: Value = serde::Deserialize::deserialize(doc).unwrap();
        if v.is_null() {
            continue;
        }
        let api = v["apiVersion"].as_str().unwrap();
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        let obj_ns = v["metadata"]["namespace"].as_str().unwrap_or(ns);
        out.insert(format_id(
            obj_ns,
            v["metadata"]["name"].as_str().unwrap(),
            group,
            v["kind"].as_str().unwrap(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_reads_release_records() {
    let Some(bin) = skip::client_or_skip("helm") else {
        return;
    };
    let cluster = SimCluster::start(SimOptions {
        scenario: "rollback".into(),
        speed: 600.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let store = cluster.store.clone();

    // Seeded v1..v3; a bad image makes two upgrades fail, each rolled back, then retries are
    // exhausted. A second release fails to install and stalls.
    add_failing_release(&store);
    patch_values(&store, "apps", "web", |v| {
        v["image"] = json!({"tag": "broken"})
    });
    let settled = controllers::wait_for(&store, WAIT, |s| {
        is_stalled(s, "apps", "web") && is_stalled(s, "other", "broken")
    })
    .await;
    assert!(
        settled,
        "releases never settled: web {:?}, broken {:?}",
        hr(&store, "apps", "web")["status"],
        store
            .get(&ids::helmreleases(), &ObjKey::new("other", "broken"))
            .map(|o| o["status"].clone())
    );

    let dir = tempfile::tempdir().unwrap();
    let helm = Helm::new(bin, dir.path(), &cluster.url());
    let all = records(&store);
    let web = &all[&("apps".to_string(), "web".to_string())];
    let web_hr = hr(&store, "apps", "web");

    // Storage: maxHistory 5 pruned v1 and v2 when v6 and v7 were created.
    assert_eq!(web.keys().copied().collect::<Vec<_>>(), vec![3, 4, 5, 6, 7]);

    // helm history agrees with the records.
    let history = helm
        .json(&["history", "web", "-n", "apps", "-o", "json"])
        .await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), web.len());
    for (h, (v, rec)) in history.iter().zip(web) {
        assert_eq!(h["revision"], *v);
        assert_eq!(h["status"], rec.info.status.as_str());
        assert_eq!(
            h["chart"],
            format!("{}-{}", rec.chart.metadata.name, rec.chart.metadata.version)
        );
        assert_eq!(h["app_version"], rec.chart.metadata.app_version);
        assert_eq!(h["description"], rec.info.description);
        assert!(
            same_instant(&h["updated"], rec.info.last_deployed),
            "revision {v}: updated {} vs last_deployed {:?}",
            h["updated"],
            rec.info.last_deployed
        );
    }
    // ... and with what Helm writes for these actions.
    let statuses: Vec<&str> = history
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["superseded", "failed", "superseded", "failed", "deployed"]
    );
    let desc = |i: usize| history[i]["description"].as_str().unwrap();
    assert_eq!(desc(0), "Upgrade complete");
    assert!(
        desc(1).starts_with("Upgrade \"web\" failed: "),
        "{}",
        desc(1)
    );
    assert_eq!(desc(2), "Rollback to 3");
    assert!(
        desc(3).starts_with("Upgrade \"web\" failed: "),
        "{}",
        desc(3)
    );
    assert_eq!(desc(4), "Rollback to 5");
    for h in history {
        assert_eq!(h["chart"], "app-1.0.0");
        assert_eq!(h["app_version"], "1.0.0");
    }

    // ... and with status.history (kept back to the previous successful release).
    let snaps = web_hr["status"]["history"].as_array().unwrap();
    let versions: Vec<i64> = snaps
        .iter()
        .map(|s| s["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [7, 6, 5]);
    let actions: Vec<&str> = snaps
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["rollback", "upgrade", "rollback"]);
    for s in snaps {
        let v = s["version"].as_i64().unwrap();
        let h = history.iter().find(|h| h["revision"] == v).unwrap();
        assert_eq!(s["status"], h["status"], "revision {v}");
        assert_eq!(
            format!(
                "{}-{}",
                s["chartName"].as_str().unwrap(),
                s["chartVersion"].as_str().unwrap()
            ),
            h["chart"].as_str().unwrap()
        );
        assert_eq!(s["appVersion"], h["app_version"]);
        assert_eq!(s["name"], "web");
        assert_eq!(s["namespace"], "apps");
        assert_eq!(s["configDigest"], config_digest(&web[&v].config));
        let snap_time = DateTime::parse_from_rfc3339(s["lastDeployed"].as_str().unwrap()).unwrap();
        assert_eq!(
            Some(snap_time.timestamp()),
            web[&v].info.last_deployed.map(|t| t.timestamp()),
            "revision {v}"
        );
    }

    // helm get values, per revision: the record's config and the declared values.
    let declared = declared_values();
    let mut broken = declared[2].clone();
    broken.insert("image".into(), json!({"tag": "broken"}));
    let expected = [
        (3, &declared[2]),
        (4, &broken),
        (5, &declared[2]),
        (6, &broken),
        (7, &declared[2]),
    ];
    for (v, want) in expected {
        let rev = v.to_string();
        let got = helm
            .json(&[
                "get",
                "values",
                "web",
                "-n",
                "apps",
                "--revision",
                &rev,
                "-o",
                "json",
            ])
            .await;
        assert_eq!(got, Value::Object(web[&v].config.clone()), "revision {v}");
        assert_eq!(got, Value::Object(want.clone()), "revision {v}");
    }
    // Computed values coalesce the chart defaults stored in the record.
    let all_values = helm
        .json(&[
            "get",
            "values",
            "web",
            "-n",
            "apps",
            "--revision",
            "4",
            "--all",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(
        all_values["image"],
        json!({"repository": "registry.example.com/app", "tag": "broken"})
    );
    assert_eq!(all_values["replicaCount"], 2);

    // helm get manifest: the record's manifest, naming the inventory's objects.
    let manifest = helm.run(&["get", "manifest", "web", "-n", "apps"]).await;
    assert_eq!(manifest.trim_end(), web[&7].manifest.trim_end());
    assert!(manifest.contains("# Source: app/templates/deployment.yaml"));
    let inventory: BTreeSet<String> = web_hr["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            parse_id(e["id"].as_str().unwrap(), e["v"].as_str().unwrap())
                .unwrap()
                .id()
        })
        .collect();
    assert_eq!(manifest_ids(&manifest, "apps"), inventory);
    assert_eq!(
        inventory,
        BTreeSet::from([
            "apps_web_apps_Deployment".to_string(),
            "apps_web__Service".to_string()
        ])
    );
    let failed_manifest = helm
        .run(&["get", "manifest", "web", "-n", "apps", "--revision", "6"])
        .await;
    assert_eq!(failed_manifest.trim_end(), web[&6].manifest.trim_end());
    assert!(failed_manifest.contains("registry.example.com/app:broken"));

    // helm status: the latest record.
    let status = helm
        .json(&["status", "web", "-n", "apps", "-o", "json"])
        .await;
    assert_eq!(status["version"], 7);
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["info"]["description"], "Rollback to 5");
    assert_eq!(status["config"], Value::Object(declared[2].clone()));

    // helm list -A: the latest record of each release that is deployed or failed.
    let list = helm.json(&["list", "-A", "-o", "json"]).await;
    let mut want = Vec::new();
    for ((ns, name), recs) in &all {
        let (v, latest) = recs.iter().next_back().unwrap();
        let st = latest.info.status.as_str();
        if st == "deployed" || st == "failed" {
            want.push(json!({
                "name": name, "namespace": ns, "revision": v.to_string(), "status": st,
                "chart": format!("{}-{}", latest.chart.metadata.name, latest.chart.metadata.version),
                "app_version": latest.chart.metadata.app_version,
            }));
        }
    }
    let got: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("updated");
            r
        })
        .collect();
    let key = |v: &Value| format!("{}/{}", v["namespace"], v["name"]);
    let mut got_sorted = got.clone();
    got_sorted.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got_sorted, want);
    let summary: BTreeSet<(String, String, String)> = got
        .iter()
        .map(|r| {
            (
                format!(
                    "{}/{}",
                    r["namespace"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                ),
                r["revision"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        BTreeSet::from([
            ("apps/web".into(), "7".into(), "deployed".into()),
            ("other/broken".into(), "1".into(), "failed".into()),
        ])
    );
    let failed = helm.json(&["list", "-A", "--failed", "-o", "json"]).await;
    let failed: Vec<&str> = failed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["broken"]);
    let in_apps = helm.json(&["list", "-n", "apps", "-o", "json"]).await;
    assert_eq!(in_apps.as_array().unwrap().len(), 1);
    assert_eq!(in_apps[0]["name"], "web");

    cluster.shutdown().await;
}
