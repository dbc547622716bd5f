//! Benchmarks of the fluxdeck TUI against `scale:hr=5000,ks=500` (`cargo bench --bench tui`):
//!
//! 1. lists returned → first full tree and first frame, in-process, with a real kube
//!    `Client` over HTTP to the in-process simulated cluster;
//! 2. memory of the release `fluxdeck` process in a 200x60 pty once the tree is drawn;
//! 3. CPU time and frames of that process during a burst of 10,000 watch events;
//! 4. `ui::view` of a full 200x60 frame;
//! 5. bytes written to the pty while nothing changes;
//! 6. `deps::analyze` on 5,000 HelmReleases with random dependencies, and the cost of each
//!    rebuild (snapshot, analysis, tree, view) during a burst.
//!
//! Each measurement is printed on stderr with its target as it is taken; a Markdown table
//! goes to stdout at the end. Nothing here asserts on time. `FLUXDECK_BENCH_IDLE_SECS`
//! shortens the idle window (default 60) and `FLUXDECK_BENCH_ONLY` (`deps`, `inproc`,
//! `process`) runs one part.
//!
//! `FLUXDECK_BENCH_ONLY=peer` runs only the side-by-side part instead: fluxdeck and, with
//! `FLUX9S=/path/to/flux9s`, flux9s in a 160x48 pty against the same sim, `FLUXDECK_BENCH_RUNS`
//! times (default 3; idle window default 10 s); a table of medians goes to stdout.

#[path = "tui/burst.rs"]
mod burst;
#[path = "tui/fleet.rs"]
mod fleet;
#[path = "tui/inproc.rs"]
mod inproc;
#[path = "tui/peer.rs"]
mod peer;
#[path = "tui/process.rs"]
mod process;
#[path = "tui/pty.rs"]
mod pty;
#[path = "tui/report.rs"]
mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;

use report::Report;

const SCENARIO: &str = "scale:hr=5000,ks=500";
const HELM_RELEASES: usize = 5000;
/// Speed of the in-process simulated cluster (fast settling).
const SPEED: f64 = 30.0;
/// Speed of the `fluxdeck sim` child process (see `docs/benchmarks.md` for why).
const PROCESS_SPEED: f64 = 30.0;
/// Watch events in a burst.
const WRITES: usize = 10_000;
/// Patch requests in flight during a burst.
pub const CONCURRENCY: usize = 8;

async fn in_process(report: &mut Report) -> Result<()> {
    let cluster = SimCluster::start(SimOptions {
        scenario: SCENARIO.into(),
        speed: SPEED,
        ..Default::default()
    })
    .await
    .context("starting the simulated cluster")?;
    let store = cluster.store.clone();
    let t = Instant::now();
    let ready = controllers::wait_for(&store, Duration::from_secs(90), |s| {
        s.list(&ids::helmreleases(), None)
            .0
            .iter()
            .filter(|h| conditions::is_true(h, "Ready"))
            .count()
            >= HELM_RELEASES * 99 / 100
    })
    .await;
    anyhow::ensure!(
        ready,
        "99% of the {HELM_RELEASES} HelmReleases did not become Ready within 90 s"
    );
    report.add(
        "in-process sim: HelmReleases Ready",
        format!("{:.1} s", t.elapsed().as_secs_f64()),
        "",
        format!("{SCENARIO} at speed {SPEED}"),
    );
    let mut session = inproc::first_tree(&cluster, report).await?;
    inproc::render(&mut session, report).await?;
    inproc::burst_rebuilds(&mut session, WRITES, report).await?;
    drop(session);
    cluster.shutdown().await;
    Ok(())
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("fluxdeck TUI benchmark ({cores} cores)");
    let only = std::env::var("FLUXDECK_BENCH_ONLY").unwrap_or_default();
    let idle_env: Option<u64> = std::env::var("FLUXDECK_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    let idle = idle_env.unwrap_or(60);
    let runs = |part: &str| only.is_empty() || only == part;
    if only == "peer" {
        let plan = peer::Plan {
            fluxdeck: PathBuf::from(env!("CARGO_BIN_EXE_fluxdeck")),
            flux9s: std::env::var_os("FLUX9S").map(PathBuf::from),
            scenario: SCENARIO.into(),
            speed: PROCESS_SPEED,
            hrs: HELM_RELEASES,
            idle: Duration::from_secs(idle_env.unwrap_or(10)),
            writes: WRITES,
            runs: std::env::var("FLUXDECK_BENCH_RUNS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(3),
        };
        return rt.block_on(peer::side_by_side(&plan));
    }
    let mut report = Report::default();
    let res = rt.block_on(async {
        if runs("deps") {
            inproc::deps_analysis(&mut report)?;
        }
        if runs("inproc") {
            in_process(&mut report).await?;
        }
        if runs("process") {
            let plan = process::Plan {
                bin: PathBuf::from(env!("CARGO_BIN_EXE_fluxdeck")),
                scenario: SCENARIO.into(),
                speed: PROCESS_SPEED,
                hrs: HELM_RELEASES,
                idle: Duration::from_secs(idle),
                writes: WRITES,
            };
            process::tui_process(&plan, &mut report).await?;
        }
        anyhow::Ok(())
    });
    report.print();
    res
}
