//! The release binaries as a user runs them: `fluxdeck sim` as a child process and
//! `fluxdeck --kubeconfig F` in a 200x60 pseudo-terminal. Measures the TUI process only:
//! its memory once the tree is drawn, bytes and frames written while nothing changes, and
//! CPU time and frames during a burst of watch events; then reads the session counters the
//! event loop logs when it ends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

use crate::burst::{self, EventCounter};
use crate::inproc::{COLS, ROWS};
use crate::pty::{PtyApp, Written, cpu_time, status_kib};
use crate::report::{Report, ms};

/// `fluxdeck sim` running as a child process (killed on drop).
pub struct SimChild {
    child: Child,
    pub url: String,
    pub kubeconfig: PathBuf,
    /// The simulated API server's access log: one line per request, written when the
    /// response is ready (a list's body complete).
    pub access_log: PathBuf,
}

impl SimChild {
    pub fn start(bin: &Path, scenario: &str, speed: f64, dir: &Path) -> Result<SimChild> {
        let kubeconfig = dir.join("kubeconfig");
        let access_log = dir.join("access.log");
        let mut child = Command::new(bin)
            .args(["sim", "--scenario", scenario, "--speed", &speed.to_string()])
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .arg("--access-log")
            .arg(&access_log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting fluxdeck sim")?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout from fluxdeck sim"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("READY ")
            .ok_or_else(|| anyhow!("fluxdeck sim said {line:?}"))?
            .to_string();
        Ok(SimChild {
            child,
            url,
            kubeconfig,
            access_log,
        })
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// The Flux kinds the scale scenario has objects of.
pub fn flux_kinds() -> [ApiResource; 5] {
    [
        burst::helmreleases(),
        resource("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
        resource("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        resource("source.toolkit.fluxcd.io", "v1", "HelmRepository"),
        resource("source.toolkit.fluxcd.io", "v1", "HelmChart"),
    ]
}

/// Wait (bounded) until `want` HelmReleases exist and 99 % of them are Ready.
pub async fn wait_settled(
    client: &Client,
    want: usize,
    limit: Duration,
) -> Result<(usize, Duration)> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &burst::helmreleases());
    let start = Instant::now();
    loop {
        let list = api.list(&ListParams::default()).await?;
        let ready = list
            .items
            .iter()
            .filter(|o| {
                o.data["status"]["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            })
            .count();
        if (list.items.len() >= want && ready >= want * 99 / 100) || start.elapsed() > limit {
            return Ok((ready, start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The Flux object counts in the header's second line, summed.
pub fn header_total(screen: &str) -> u64 {
    let line = screen.lines().nth(1).unwrap_or_default();
    let counts = line.split('│').next().unwrap_or_default();
    counts
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok())
        .sum()
}

/// The counters the event loop logged when the session ended.
fn session_counters(log: &Path) -> Result<String> {
    let text = std::fs::read_to_string(log)?;
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("session ended"))
        .ok_or_else(|| anyhow!("no 'session ended' line in {}", log.display()))?;
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or("?")
            .to_string()
    };
    Ok(format!(
        "frames={} snapshots={} messages={} seconds={}",
        field("frames"),
        field("snapshots"),
        field("messages"),
        field("seconds")
    ))
}

/// Wait until no frame has been drawn for `quiet` (bounded by `limit`).
pub fn wait_quiet(app: &PtyApp, quiet: Duration, limit: Duration) -> Written {
    let start = Instant::now();
    let mut last = app.written();
    let mut since = Instant::now();
    while start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(50));
        let now = app.written();
        if now.frames != last.frames {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            break;
        }
    }
    app.written()
}

pub struct Plan {
    pub bin: PathBuf,
    pub scenario: String,
    pub speed: f64,
    pub hrs: usize,
    pub idle: Duration,
    pub writes: usize,
}

/// 2, 3 and 5: memory, idle output, burst CPU and frames of the TUI process.
pub async fn tui_process(plan: &Plan, report: &mut Report) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let sim = SimChild::start(&plan.bin, &plan.scenario, plan.speed, dir.path())?;
    let client = Client::try_from(kube::Config::new(sim.url.parse()?))?;
    let (ready, took) = wait_settled(&client, plan.hrs, Duration::from_secs(120)).await?;
    report.add(
        "sim child: HelmReleases Ready",
        format!("{ready}/{}", plan.hrs),
        "",
        format!("after {:.1} s at speed {}", took.as_secs_f64(), plan.speed),
    );

    let mut expected = 0u64;
    for ar in flux_kinds() {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        expected += api.list(&ListParams::default()).await?.items.len() as u64;
    }

    let log = dir.path().join("fluxdeck.log");
    let kubeconfig = sim.kubeconfig.display().to_string();
    let log_arg = log.display().to_string();
    let args = [
        "--kubeconfig",
        kubeconfig.as_str(),
        "--log-file",
        log_arg.as_str(),
    ];
    let spawned = Instant::now();
    let mut app = PtyApp::spawn(&plan.bin, &args, COLS, ROWS, dir.path())?;
    let pid = app.pid().ok_or_else(|| anyhow!("no pid for fluxdeck"))?;
    app.wait_for("the whole tree", Duration::from_secs(120), |s| {
        s.contains("connected") && !s.contains("connecting") && header_total(s) >= expected
    })?;
    let drawn = spawned.elapsed();
    let rss = status_kib(pid, "VmRSS")?;
    let hwm = status_kib(pid, "VmHWM")?;
    let screen = app.screen();
    report.add(
        "TUI process: start → whole tree drawn (pty)",
        ms(drawn),
        "",
        format!(
            "fluxdeck --kubeconfig in a {COLS}x{ROWS} pty; header counts {} Flux objects",
            header_total(&screen)
        ),
    );
    report.add(
        "TUI process RSS when the tree is drawn",
        format!("{:.0} MiB", rss as f64 / 1024.0),
        "≤ 150 MB",
        format!("VmRSS; VmHWM {:.0} MiB", hwm as f64 / 1024.0),
    );

    // Let the managed-object watches the tree asked for list, then measure idle.
    wait_quiet(&app, Duration::from_secs(2), Duration::from_secs(30));
    let mut counters = Vec::new();
    for ar in &flux_kinds() {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
        let rv = api
            .list(&ListParams::default().limit(1))
            .await?
            .metadata
            .resource_version
            .unwrap_or_default();
        counters.push(EventCounter::start_for(&client, ar, rv));
    }
    let rss_settled = status_kib(pid, "VmRSS")?;
    let before = app.written();
    let cpu_before = cpu_time(pid)?;
    tokio::time::sleep(plan.idle).await;
    let after = app.written();
    let cpu_idle = cpu_time(pid)? - cpu_before;
    let mut idle_events = 0;
    for c in counters {
        idle_events += c.stop().await;
    }
    report.add(
        "idle: bytes written to the pty",
        format!("{} B", after.bytes - before.bytes),
        "redraws ≤ 1 per 10 s",
        format!(
            "over {} s: {} frames, TUI CPU {}, {idle_events} Flux watch events from the cluster meanwhile; RSS {:.0} MiB before",
            plan.idle.as_secs(),
            after.frames - before.frames,
            ms(cpu_idle),
            rss_settled as f64 / 1024.0
        ),
    );

    // The burst.
    let (targets, rv) = burst::targets(&client).await?;
    let counter = EventCounter::start(&client, rv);
    let before = app.written();
    let cpu_before = cpu_time(pid)?;
    let outcome = burst::run(&client, &targets, plan.writes, crate::CONCURRENCY).await;
    let after = tokio::task::block_in_place(|| {
        wait_quiet(&app, Duration::from_secs(1), Duration::from_secs(60))
    });
    let cpu = cpu_time(pid)? - cpu_before;
    let events = counter.stop().await;
    let frames = after.frames - before.frames;
    let secs = outcome.elapsed.as_secs_f64();
    report.add(
        "burst: TUI CPU time (utime + stime)",
        ms(cpu),
        "≤ 1 s",
        format!(
            "{} status patches ({} errors) in {secs:.2} s; {events} HelmRelease watch events",
            outcome.writes, outcome.errors
        ),
    );
    report.add(
        "burst: frames drawn",
        format!("{frames}"),
        "≤ ~60/s",
        format!(
            "{:.1} frames/s over the burst; {:.1} MiB written; until 1 s without a frame",
            frames as f64 / secs,
            (after.bytes - before.bytes) as f64 / 1048576.0
        ),
    );
    let hwm = status_kib(pid, "VmHWM")?;
    report.add(
        "TUI process peak RSS after the burst",
        format!("{:.0} MiB", hwm as f64 / 1024.0),
        "≤ 150 MB",
        format!(
            "VmHWM; VmRSS {:.0} MiB",
            status_kib(pid, "VmRSS")? as f64 / 1024.0
        ),
    );

    app.send("q")?;
    let code = tokio::task::block_in_place(|| app.wait_exit(Duration::from_secs(20)))?;
    report.add(
        "TUI session counters (log, whole session)",
        session_counters(&log)?,
        "",
        format!("exit code {code}"),
    );
    drop(sim);
    Ok(())
}
