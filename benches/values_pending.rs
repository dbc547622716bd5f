//! Cost of the `values pending` check over `scale:hr=5000,ks=500`
//! (`cargo bench --bench values_pending`):
//!
//! 1. one full pass where every digest matches (the usual case with fluxdeck's own digests,
//!    and the cost of a pass over releases whose comparison is cached): compose and digest
//!    per release, no request;
//! 2. one full pass where no digest matches (as when the controller's go-yaml digests differ
//!    from ours): one LIST of the deployed storage record per release, decoded and compared
//!    structurally;
//! 3. the executor as the TUI runs it: from start to the first pass reported, and what the
//!    app task does with the marks.
//!
//! Passes 1 and 2 run on a thread of their own with a current-thread runtime (the kube client
//! created there, so its I/O runs there too); CPU time is that thread's
//! (`/proc/thread-self/schedstat`), so the simulated API server (other threads) is not
//! counted. Requests are counted by the check and in the simulated server's access log.
//! Prints a Markdown table; nothing asserts on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

use fluxdeck::actions::writer::Reader;
use fluxdeck::app::msg::Msg;
use fluxdeck::domain::flux::FluxObject;
use fluxdeck::domain::tree::Snapshot;
use fluxdeck::kube::client;
use fluxdeck::kube::discovery::Discovery;
use fluxdeck::runtime::executor::{Executor, ExecutorOptions};
use fluxdeck::runtime::values_check::{CheckOptions, DEFAULT_CONCURRENCY, Verdict, check_all};
use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::server::read_access_log;

const SCENARIO: &str = "scale:hr=5000,ks=500";
const HELM_RELEASES: usize = 5000;
const SPEED: f64 = 30.0;

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

struct Pass {
    wall: Duration,
    cpu: Duration,
    checks: u64,
    requests: u64,
    storage_reads: u64,
    in_sync: usize,
    pending: usize,
    other: usize,
}

/// One full pass over `snap` on a thread of its own.
fn pass(kubeconfig: String, snap: Arc<Snapshot>) -> Result<Pass> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let conn = client::connect_kubeconfig_yaml(&kubeconfig).await?;
            let reader = Reader::new(
                conn.client.clone(),
                Arc::new(Discovery::new(conn.client.clone())),
            );
            let cpu = thread_cpu();
            let t = Instant::now();
            let (verdicts, stats) = check_all(&reader, &snap, DEFAULT_CONCURRENCY).await;
            let wall = t.elapsed();
            let cpu = thread_cpu().saturating_sub(cpu);
            let count = |f: fn(&Verdict) -> bool| verdicts.values().filter(|v| f(v)).count();
            Ok(Pass {
                wall,
                cpu,
                checks: stats.checks,
                requests: stats.requests,
                storage_reads: stats.storage_reads,
                in_sync: count(|v| *v == Verdict::InSync),
                pending: count(|v| matches!(v, Verdict::Pending { .. })),
                other: count(|v| !matches!(v, Verdict::InSync | Verdict::Pending { .. })),
            })
        })
    })
    .join()
    .map_err(|_| anyhow!("the pass panicked"))?
}

fn row(what: &str, p: &Pass, sent: usize) {
    println!(
        "| {what} | {:.0} ms | {:.0} ms | {} | {} ({} logged by the server) | {} | {} in sync, {} pending, {} other |",
        p.wall.as_secs_f64() * 1000.0,
        p.cpu.as_secs_f64() * 1000.0,
        p.checks,
        p.requests,
        sent,
        p.storage_reads,
        p.in_sync,
        p.pending,
        p.other,
    );
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("access.log");
    let cluster = SimCluster::start(SimOptions {
        scenario: SCENARIO.into(),
        speed: SPEED,
        access_log: Some(log.clone()),
        ..Default::default()
    })
    .await
    .context("starting the simulated cluster")?;
    let t = Instant::now();
    let ready = controllers::wait_for(&cluster.store, Duration::from_secs(120), |s| {
        s.list(&ids::helmreleases(), None)
            .0
            .iter()
            .filter(|h| conditions::is_true(h, "Ready"))
            .count()
            >= HELM_RELEASES
    })
    .await;
    anyhow::ensure!(
        ready,
        "the {HELM_RELEASES} HelmReleases did not become Ready"
    );
    eprintln!(
        "HelmReleases Ready after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let kubeconfig = cluster.kubeconfig_yaml();

    // The HelmReleases as the watches hold them.
    let conn = client::connect_kubeconfig_yaml(&kubeconfig).await?;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ));
    let list = Api::<DynamicObject>::all_with(conn.client.clone(), &ar)
        .list(&ListParams::default())
        .await?;
    let mut snap = Snapshot::new(k8s_openapi::jiff::Timestamp::now());
    let mut foreign = Snapshot::new(k8s_openapi::jiff::Timestamp::now());
    for item in list.items {
        let obj = FluxObject::from_value(serde_json::to_value(&item)?)?;
        if let FluxObject::HelmRelease(hr) = &obj {
            // The same releases with digests that are not ours.
            let mut other = (**hr).clone();
            if let Some(s) = other.status.as_mut() {
                for h in &mut s.history {
                    h.config_digest = Some("sha256:go-yaml".into());
                }
            }
            foreign.insert_flux(FluxObject::HelmRelease(Arc::new(other)));
        }
        snap.insert_flux(obj);
    }
    let snap = Arc::new(snap);
    let foreign = Arc::new(foreign);
    eprintln!("{} HelmReleases listed", snap.flux.len());

    let logged = || read_access_log(&log).map(|l| l.len()).unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "values pending over {SCENARIO} ({} HelmReleases, {DEFAULT_CONCURRENCY} checks at once, {cores} cores)",
        snap.flux.len()
    );
    println!();
    println!(
        "| pass | wall | CPU (checking thread) | releases | requests | storage records read | verdicts |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for run in 1..=3 {
        let before = logged();
        let p = pass(kubeconfig.clone(), snap.clone())?;
        if run == 1 {
            for e in read_access_log(&log)?.iter().skip(before) {
                eprintln!("  logged during the pass: {} {}", e.method, e.path);
            }
        }
        row(
            &format!("digests match (run {run})"),
            &p,
            logged().saturating_sub(before),
        );
    }
    for run in 1..=3 {
        let before = logged();
        let p = pass(kubeconfig.clone(), foreign.clone())?;
        row(
            &format!("no digest matches (run {run})"),
            &p,
            logged().saturating_sub(before),
        );
    }

    // The executor as the TUI runs it: start to the first pass reported, and the app's share.
    for run in 1..=3 {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let t = Instant::now();
        let executor = Executor::spawn_with(
            conn.clone(),
            ExecutorOptions {
                namespace: None,
                read_only: None,
                config: Default::default(),
                kubeconfig: Default::default(),
                secret_values: fluxdeck::domain::secrets::SecretValues::Hidden,
                ascii: false,
                audit: fluxdeck::actions::audit::Audit::to_file(&dir.path().join("audit.log")),
            },
            CheckOptions::default(),
            tx,
        );
        let mut first_snapshot = None;
        let mut app_cost = Duration::ZERO;
        let mut state = fluxdeck::app::AppState::new(fluxdeck::app::AppInit {
            context: String::new(),
            server: String::new(),
            namespace: None,
            read_only: None,
            keymap_overrides: Default::default(),
            ascii: false,
            now: k8s_openapi::jiff::Timestamp::now(),
            log_file: None,
            size: (160, 48),
        });
        let mut reported = None;
        while first_snapshot.is_none() || reported.is_none() {
            let msg = tokio::time::timeout(Duration::from_secs(120), rx.recv())
                .await
                .context("waiting for the first pass")?
                .ok_or_else(|| anyhow!("the executor stopped"))?;
            match &msg {
                Msg::Prepared(p)
                    if first_snapshot.is_none() && p.snapshot.flux.len() > HELM_RELEASES =>
                {
                    first_snapshot = Some(t.elapsed());
                }
                Msg::ValuesPending(_) if reported.is_none() => {
                    reported = Some(t.elapsed());
                    let u = Instant::now();
                    fluxdeck::app::update(&mut state, msg);
                    app_cost += u.elapsed();
                    continue;
                }
                _ => {}
            }
            fluxdeck::app::update(&mut state, msg);
        }
        println!(
            "| executor (run {run}): start → first pass reported | {:.0} ms | | | | | complete tree on the app task at {:.0} ms; the app task took {:.3} ms for the marks |",
            reported.unwrap_or_default().as_secs_f64() * 1000.0,
            first_snapshot.unwrap_or_default().as_secs_f64() * 1000.0,
            app_cost.as_secs_f64() * 1000.0,
        );
        drop(executor);
    }
    cluster.shutdown().await;
    Ok(())
}
