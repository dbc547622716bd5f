//! Integration: actions through the real executor against the in-process simulated cluster.
//! The sim's access log shows exactly which requests were sent; the objects show what they
//! did. Waits are bounded and on messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use fluxdeck::actions::intent::{Intent, ReconcileMode};
use fluxdeck::actions::patch::{FORCE_AT, REQUESTED_AT};
use fluxdeck::actions::run::Outcome;
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::config::ReadOnlyReason;
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::kube::client::{self, Connection};
use fluxdeck::runtime::executor::{Executor, ExecutorOptions};
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::server::{AccessLogEntry, read_access_log};
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use tokio::sync::mpsc;

struct Fixture {
    cluster: SimCluster,
    dir: tempfile::TempDir,
    conn: Connection,
    executor: Executor,
    rx: mpsc::Receiver<Msg>,
}

async fn start(read_only: Option<ReadOnlyReason>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cluster = SimCluster::start(SimOptions {
        scenario: "demo".into(),
        speed: 60.0,
        access_log: Some(dir.path().join("access.log")),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(256);
    let executor = Executor::spawn(
        conn.clone(),
        ExecutorOptions {
            namespace: None,
            read_only,
            config: Default::default(),
            kubeconfig: Default::default(),
            audit: fluxdeck::actions::audit::Audit::to_file(&dir.path().join("audit.log")),
            secret_values: fluxdeck::domain::secrets::SecretValues::Hidden,
            ascii: false,
        },
        tx,
    );
    let mut f = Fixture {
        cluster,
        dir,
        conn,
        executor,
        rx,
    };
    // The watches are up once the first tree arrives.
    f.next("the first tree", |m| {
        matches!(m, Msg::Prepared(_)).then_some(())
    })
    .await;
    f
}

fn hr(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, ns, name)
}

fn helmreleases() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ))
}

impl Fixture {
    async fn next<T>(&mut self, what: &str, pick: impl Fn(&Msg) -> Option<T>) -> T {
        let wait = async {
            loop {
                let msg = self.rx.recv().await.expect("the executor runs");
                if let Some(t) = pick(&msg) {
                    return t;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(120), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Run an intent through the executor; its outcome and the progress lines seen.
    async fn run(&mut self, intent: Intent) -> (Result<Outcome, String>, Vec<String>) {
        let log_before = self.log().len();
        self.executor.send(Effect::Execute(intent.clone()));
        let mut progress = Vec::new();
        let result = loop {
            let got = self
                .next("the action's messages", |m| match m {
                    Msg::ActionProgress { intent: i, text } if *i == intent => {
                        Some(Err(text.clone()))
                    }
                    Msg::ActionDone { intent: i, result } if *i == intent => {
                        Some(Ok(result.clone()))
                    }
                    _ => None,
                })
                .await;
            match got {
                Ok(result) => break result,
                Err(text) => progress.push(text),
            }
        };
        assert!(self.log().len() >= log_before);
        (result, progress)
    }

    fn log(&self) -> Vec<AccessLogEntry> {
        read_access_log(&self.dir.path().join("access.log")).unwrap()
    }

    /// The requests that were not GETs, as `METHOD path`.
    fn writes(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|e| e.method != "GET")
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }

    async fn get(&self, key: &ObjectKey) -> Value {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
            key.kind.group(),
            key.kind.flux().unwrap().versions()[0],
            key.kind.kind(),
        ));
        let api: kube::Api<DynamicObject> =
            kube::Api::namespaced_with(self.conn.client.clone(), &key.namespace, &ar);
        serde_json::to_value(api.get(&key.name).await.unwrap()).unwrap()
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("audit.log")).unwrap_or_default()
    }
}

fn annotation(obj: &Value, name: &str) -> Option<String> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
        .map(String::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_sends_one_merge_patch_and_waits_for_flux() {
    let mut f = start(None).await;
    let key = hr("default", "redis");
    let (result, _) = f
        .run(Intent::Reconcile {
            target: key.clone(),
            mode: ReconcileMode::Plain,
        })
        .await;
    let outcome = result.unwrap();
    assert!(outcome.ok, "{outcome:?}");
    let writes = f.writes();
    assert_eq!(
        writes,
        [
            "PATCH /apis/helm.toolkit.fluxcd.io/v2/namespaces/default/helmreleases/redis?&fieldManager=flux-client-side-apply"
        ],
        "exactly one patch, with the field manager"
    );
    let patch = f.log().into_iter().find(|e| e.method == "PATCH").unwrap();
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let obj = f.get(&key).await;
    let token = annotation(&obj, REQUESTED_AT).expect("requestedAt set");
    assert_eq!(
        obj.pointer("/status/lastHandledReconcileAt")
            .and_then(Value::as_str),
        Some(token.as_str()),
        "the run ended once Flux handled this token"
    );
    assert!(
        token.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "the token is an RFC 3339 time: {token}"
    );
    assert!(
        f.audit().contains("\"action\":\"reconcile\""),
        "{}",
        f.audit()
    );
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_sets_force_at_equal_to_requested_at() {
    let mut f = start(None).await;
    let key = hr("default", "redis");
    let (result, _) = f
        .run(Intent::Reconcile {
            target: key.clone(),
            mode: ReconcileMode::Force,
        })
        .await;
    assert!(result.unwrap().ok);
    let obj = f.get(&key).await;
    assert_eq!(annotation(&obj, FORCE_AT), annotation(&obj, REQUESTED_AT));
    assert!(annotation(&obj, FORCE_AT).is_some());
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_source_reconciles_the_chain_in_order() {
    let mut f = start(None).await;
    // default/redis: HelmRepository flux-system/bitnami → HelmChart → HelmRelease.
    let (result, progress) = f
        .run(Intent::Reconcile {
            target: hr("default", "redis"),
            mode: ReconcileMode::WithSource,
        })
        .await;
    assert!(result.unwrap().ok);
    let writes = f.writes();
    let kinds: Vec<&str> = writes
        .iter()
        .map(|w| w.split('/').nth(6).unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        ["helmrepositories", "helmcharts", "helmreleases"],
        "{writes:#?}"
    );
    assert!(writes[1].contains("/namespaces/flux-system/helmcharts/default-redis?"));
    assert!(
        progress.iter().any(|p| p.starts_with("step 1/3")),
        "{progress:?}"
    );

    // default/backend's chart comes from an OCI HelmRepository: static, skipped.
    let before = f.writes().len();
    let (result, progress) = f
        .run(Intent::Reconcile {
            target: hr("default", "backend"),
            mode: ReconcileMode::WithSource,
        })
        .await;
    assert!(result.is_ok(), "the chain ran: {result:?}");
    let new: Vec<String> = f.writes().into_iter().skip(before).collect();
    assert!(
        !new.iter().any(|w| w.contains("helmrepositories")),
        "the static source is not patched: {new:#?}"
    );
    assert!(
        progress.iter().any(|p| p.contains("static")),
        "{progress:?}"
    );
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_objects_refuse_reconcile_and_resume_requests_one() {
    let mut f = start(None).await;
    let key = hr("default", "redis");
    let (result, _) = f
        .run(Intent::Suspend {
            target: key.clone(),
        })
        .await;
    assert!(result.unwrap().ok);
    let obj = f.get(&key).await;
    assert_eq!(obj.pointer("/spec/suspend"), Some(&json!(true)));
    let managers: Vec<String> = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("manager").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        managers.iter().any(|m| m == "flux-client-side-apply"),
        "{managers:?}"
    );

    // Reconcile on a suspended object: refused, nothing sent.
    let before = f.writes().len();
    let (result, _) = f
        .run(Intent::Reconcile {
            target: key.clone(),
            mode: ReconcileMode::Plain,
        })
        .await;
    let err = result.unwrap_err();
    assert!(err.contains("suspended"), "{err}");
    assert_eq!(
        f.writes().len(),
        before,
        "nothing sent to a suspended object"
    );

    // Resume removes suspend and requests a reconcile in the same patch, then waits.
    let (result, _) = f
        .run(Intent::Resume {
            target: key.clone(),
        })
        .await;
    assert!(result.unwrap().ok);
    assert_eq!(f.writes().len(), before + 1, "one patch");
    let obj = f.get(&key).await;
    assert_eq!(obj.pointer("/spec/suspend"), None);
    let token = annotation(&obj, REQUESTED_AT).unwrap();
    assert_eq!(
        obj.pointer("/status/lastHandledReconcileAt")
            .and_then(Value::as_str),
        Some(token.as_str())
    );
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_session_sends_no_write() {
    let mut f = start(Some(ReadOnlyReason::Flag)).await;
    // Even a user's suspend elsewhere does not matter: nothing of ours writes.
    let (result, _) = f
        .run(Intent::Suspend {
            target: hr("default", "redis"),
        })
        .await;
    let err = result.unwrap_err();
    assert!(err.contains("read-only"), "{err}");
    assert!(f.writes().is_empty(), "{:#?}", f.writes());
    assert!(
        f.log()
            .iter()
            .all(|e| !e.path.contains("selfsubjectaccessreviews")),
        "not even access reviews"
    );
    // A plain client still can (the sim is not read-only; fluxdeck is), once the demo has
    // created the HelmRelease.
    let created =
        fluxdeck::sim::controllers::wait_for(&f.cluster.store, Duration::from_secs(90), |s| {
            s.get(
                &fluxdeck::sim::registry::ids::helmreleases(),
                &fluxdeck::sim::store::ObjKey::new("default", "redis"),
            )
            .is_some()
        })
        .await;
    assert!(created, "default/redis never appeared");
    let api: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(f.conn.client.clone(), "default", &helmreleases());
    api.patch(
        "redis",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    assert_eq!(f.writes().len(), 1);
    f.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_denies_patch_is_found_by_the_access_review() {
    let mut f = start(None).await;
    f.cluster.faults.update(|s| {
        s.forbidden = vec![fluxdeck::sim::faults::ForbiddenRule {
            resource: "helmreleases.helm.toolkit.fluxcd.io".into(),
            namespace: Some("default".into()),
            verbs: vec!["patch".into()],
        }];
    });
    let denied = fluxdeck::actions::writer::Permission::patch(&hr("default", "redis")).unwrap();
    let allowed = fluxdeck::actions::writer::Permission::patch(&hr("staging", "redis")).unwrap();
    for (p, want) in [(denied.clone(), false), (allowed, true)] {
        f.executor.send(Effect::CheckAccess(p.clone()));
        let got = f
            .next("the access review", |m| match m {
                Msg::Access { permission, result } if *permission == p => Some(result.clone()),
                _ => None,
            })
            .await;
        assert_eq!(got, Ok(want), "{p}");
    }
    assert!(
        f.writes()
            .iter()
            .any(|w| w.starts_with("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews")),
        "{:#?}",
        f.writes()
    );
    // Sent anyway, the API server refuses it and the outcome says so.
    let (result, _) = f
        .run(Intent::Suspend {
            target: hr("default", "redis"),
        })
        .await;
    let err = result.unwrap_err();
    assert!(err.starts_with("forbidden"), "{err}");
    assert_eq!(
        denied.to_string(),
        "patch helmreleases.helm.toolkit.fluxcd.io in namespace default"
    );
    f.cluster.shutdown().await;
}
