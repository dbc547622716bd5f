//! fluxdeck and flux9s side by side, as a user sees them: one `fluxdeck sim` child process
//! per run, and each TUI in turn in a 160x48 pseudo-terminal against it (the order swaps
//! from run to run). For each: start → everything on screen, RSS then and after a settle,
//! idle CPU and bytes written to the terminal, key latency (j/k) at rest and during a burst
//! of 10,000 HelmRelease status patches, the burst's CPU and the peak RSS. Key latency is
//! the time from writing the key to the pty to the read after which a row's background (the
//! selection bar) changed on the VT100 screen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};

use crate::burst::{self, EventCounter};
use crate::process::{SimChild, flux_kinds, header_total, wait_quiet};
use crate::pty::{PtyApp, cpu_time, status_kib};
use crate::report::Stats;

pub const COLS: u16 = 160;
pub const ROWS: u16 = 48;
/// Wait after everything is on screen before reading the settled RSS.
const SETTLE: Duration = Duration::from_secs(5);
/// The most key samples at rest, and the time they may take.
const REST_SAMPLES: usize = 100;
const REST_LIMIT: Duration = Duration::from_secs(60);
/// A key that changed nothing within this long counts as missed.
const KEY_LIMIT: Duration = Duration::from_secs(5);

pub struct Plan {
    pub fluxdeck: PathBuf,
    pub flux9s: Option<PathBuf>,
    pub scenario: String,
    pub speed: f64,
    pub hrs: usize,
    pub idle: Duration,
    pub writes: usize,
    pub runs: usize,
}

/// A test of what the screen shows.
type ScreenTest = Box<dyn Fn(&str) -> bool>;

/// One TUI and how to drive it.
struct Tool {
    name: &'static str,
    bin: PathBuf,
    args: Vec<String>,
    /// Typed once the screen satisfies `ready` (flux9s drops keys while connecting).
    keys: Vec<&'static str>,
    ready: ScreenTest,
    /// Everything is on screen: the complete tree, or every HelmRelease.
    complete: ScreenTest,
    /// The first useful screen (fluxdeck: the tree shows its first rows), when measured.
    useful: Option<ScreenTest>,
}

/// What one run measured for one tool.
#[derive(Clone, Debug, Default)]
pub struct Measures {
    pub complete: Duration,
    /// Start → the first useful screen (fluxdeck only).
    pub useful: Option<Duration>,
    /// Start → the first and the last Flux list response the API server sent this tool
    /// (from its access log).
    pub first_list: Option<Duration>,
    pub last_list: Option<Duration>,
    pub rss_complete_kib: u64,
    pub rss_settled_kib: u64,
    pub idle_cpu: Duration,
    pub idle_bytes: u64,
    pub idle_style_changes: usize,
    pub rest: Vec<Duration>,
    pub rest_missed: usize,
    pub burst_keys: Vec<Duration>,
    pub burst_missed: usize,
    pub burst_cpu: Duration,
    pub burst_window: Duration,
    pub burst_patches: Duration,
    pub burst_events: u64,
    pub peak_kib: u64,
}

fn fluxdeck_tool(bin: &Path, kubeconfig: &str, expected: u64) -> Tool {
    Tool {
        name: "fluxdeck",
        bin: bin.to_path_buf(),
        args: vec!["--kubeconfig".into(), kubeconfig.into()],
        keys: vec![],
        ready: Box::new(|_| true),
        complete: Box::new(move |s| {
            s.contains("connected") && !s.contains("connecting") && header_total(s) >= expected
        }),
        useful: Some(Box::new(|s| tree_rows(s) > 0)),
    }
}

/// The number of rows the tree pane's title counts (`Flux · 1/5504`), 0 before any.
fn tree_rows(screen: &str) -> u64 {
    screen
        .lines()
        .find_map(|l| {
            let at = l.find("Flux · ")?;
            let (_, total) = l[at + "Flux · ".len()..].split_once('/')?;
            total
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Start → the first and the last response to a Flux list request (not a watch) at or
/// after `spawned`, within `within` of it, from the simulated API server's access log.
fn list_times(
    access_log: &Path,
    spawned: chrono::DateTime<chrono::Utc>,
    within: Duration,
) -> Result<(Option<Duration>, Option<Duration>)> {
    let entries = fluxdeck::sim::server::read_access_log(access_log)?;
    let limit = chrono::Duration::from_std(within)?;
    let mut times = entries.iter().filter_map(|e| {
        let flux_list = e.method == "GET"
            && e.path.contains(".toolkit.fluxcd.io/")
            && !e.path.contains("watch=");
        let at = chrono::DateTime::parse_from_rfc3339(&e.time).ok()?;
        let since = at.with_timezone(&chrono::Utc) - spawned;
        (flux_list && since >= chrono::Duration::zero() && since <= limit)
            .then(|| since.to_std().ok())
            .flatten()
    });
    let first = times.next();
    let last = times.next_back().or(first);
    Ok((first, last))
}

/// The HelmRelease count flux9s shows for all namespaces.
fn flux9s_helmreleases(screen: &str) -> Option<u64> {
    // The header line names each kind with its count: "HelmRelease: 5000".
    screen.lines().find_map(|l| {
        let at = l.find("HelmRelease:")?;
        l[at + "HelmRelease:".len()..]
            .split_whitespace()
            .next()?
            .trim_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()
    })
}

fn flux9s_tool(bin: &Path, kubeconfig: &str, hrs: u64) -> Tool {
    Tool {
        name: "flux9s",
        bin: bin.to_path_buf(),
        args: vec![
            "--kubeconfig".into(),
            kubeconfig.into(),
            "-c".into(),
            "hr".into(),
        ],
        keys: vec![":", "ns all", "\r"],
        ready: Box::new(|s| s.contains("HelmRelease")),
        complete: Box::new(move |s| flux9s_helmreleases(s).is_some_and(|n| n >= hrs)),
        useful: None,
    }
}

/// Press j and k alternately until `stop` says so or `max` samples are taken.
fn sample_keys(
    app: &mut PtyApp,
    max: usize,
    stop: impl Fn() -> bool,
) -> Result<(Vec<Duration>, usize)> {
    let mut got = Vec::new();
    let mut missed = 0;
    for i in 0..max {
        if stop() {
            break;
        }
        let key = if i % 2 == 0 { "j" } else { "k" };
        match app.time_key(key, KEY_LIMIT)? {
            Some(d) => got.push(d),
            None => missed += 1,
        }
        // A pause not in step with any redraw tick.
        std::thread::sleep(Duration::from_millis(rand::random_range(40..120)));
    }
    Ok((got, missed))
}

async fn measure(
    tool: &Tool,
    client: &Client,
    plan: &Plan,
    dir: &Path,
    access_log: &Path,
) -> Result<Measures> {
    let home = dir.join(tool.name);
    std::fs::create_dir_all(&home)?;
    let home_s = home.display().to_string();
    let args: Vec<&str> = tool.args.iter().map(String::as_str).collect();
    let spawned = Instant::now();
    let spawned_at = chrono::Utc::now();
    let mut app = PtyApp::spawn_with(&tool.bin, &args, &[("HOME", &home_s)], COLS, ROWS, &home)?;
    let pid = app
        .pid()
        .ok_or_else(|| anyhow!("no pid for {}", tool.name))?;
    let mut m = Measures::default();
    tokio::task::block_in_place(|| -> Result<()> {
        if !tool.keys.is_empty() {
            app.wait_for("ready for keys", Duration::from_secs(60), &tool.ready)?;
            std::thread::sleep(Duration::from_millis(300));
            for k in &tool.keys {
                app.send(k)?;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if let Some(useful) = &tool.useful {
            app.wait_for("a useful screen", Duration::from_secs(180), useful)?;
            m.useful = Some(spawned.elapsed());
        }
        app.wait_for(
            "everything on screen",
            Duration::from_secs(180),
            &tool.complete,
        )?;
        m.complete = spawned.elapsed();
        (m.first_list, m.last_list) = list_times(access_log, spawned_at, m.complete)?;
        m.rss_complete_kib = status_kib(pid, "VmRSS")?;
        std::thread::sleep(SETTLE);
        m.rss_settled_kib = status_kib(pid, "VmRSS")?;

        let before = app.written();
        let styles = app.style_changes();
        let cpu = cpu_time(pid)?;
        std::thread::sleep(plan.idle);
        m.idle_cpu = cpu_time(pid)? - cpu;
        m.idle_bytes = app.written().bytes - before.bytes;
        m.idle_style_changes = app.style_changes() - styles;

        let start = Instant::now();
        (m.rest, m.rest_missed) =
            sample_keys(&mut app, REST_SAMPLES, || start.elapsed() > REST_LIMIT)?;
        Ok(())
    })?;

    let (targets, rv) = burst::targets(client).await?;
    let counter = EventCounter::start(client, rv);
    let cpu = cpu_time(pid)?;
    let start = Instant::now();
    let task = {
        let client = client.clone();
        let writes = plan.writes;
        tokio::spawn(async move { burst::run(&client, &targets, writes, crate::CONCURRENCY).await })
    };
    (m.burst_keys, m.burst_missed) =
        tokio::task::block_in_place(|| sample_keys(&mut app, usize::MAX, || task.is_finished()))?;
    let outcome = task.await?;
    m.burst_patches = outcome.elapsed;
    // Until 1 s without a frame, at most 10 s after the patches.
    tokio::task::block_in_place(|| {
        wait_quiet(&app, Duration::from_secs(1), Duration::from_secs(10))
    });
    m.burst_cpu = cpu_time(pid)? - cpu;
    m.burst_window = start.elapsed();
    m.burst_events = counter.stop().await;
    m.peak_kib = status_kib(pid, "VmHWM")?;
    eprintln!(
        "  {}: {} patches ({} errors) in {:.2} s",
        tool.name,
        outcome.writes,
        outcome.errors,
        outcome.elapsed.as_secs_f64()
    );
    drop(app);
    Ok(m)
}

/// Wait (bounded) until `want` HelmReleases exist, none is still undecided (Ready Unknown)
/// and nothing changed for 3 s: a static estate. How many are Ready, and the time taken.
async fn wait_static(client: &Client, want: usize, limit: Duration) -> Result<(usize, Duration)> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &burst::helmreleases());
    let start = Instant::now();
    let mut last_rv = String::new();
    let mut still_since = Instant::now();
    loop {
        let list = api.list(&ListParams::default()).await?;
        let ready_status = |o: &DynamicObject| {
            o.data["status"]["conditions"].as_array().and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == "Ready")
                    .and_then(|c| c["status"].as_str().map(str::to_string))
            })
        };
        let ready = list
            .items
            .iter()
            .filter(|o| ready_status(o).as_deref() == Some("True"))
            .count();
        let decided = list
            .items
            .iter()
            .all(|o| matches!(ready_status(o).as_deref(), Some("True" | "False")));
        let rv = list.metadata.resource_version.unwrap_or_default();
        if rv != last_rv {
            last_rv = rv;
            still_since = Instant::now();
        }
        let settled =
            list.items.len() >= want && decided && still_since.elapsed() >= Duration::from_secs(3);
        if settled || start.elapsed() > limit {
            return Ok((ready, start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Both tools against one sim, in the given order.
async fn one_run(plan: &Plan, run: usize) -> Result<(String, Vec<(&'static str, Measures)>)> {
    let dir = tempfile::tempdir()?;
    let sim = SimChild::start(&plan.fluxdeck, &plan.scenario, plan.speed, dir.path())?;
    let client = Client::try_from(kube::Config::new(sim.url.parse()?))?;
    let (ready, took) = wait_static(&client, plan.hrs, Duration::from_secs(240)).await?;
    let sim_state = format!(
        "run {run}: {ready}/{} HelmReleases Ready, the estate static after {:.1} s",
        plan.hrs,
        took.as_secs_f64()
    );
    eprintln!("{sim_state}");
    let mut expected = 0u64;
    for ar in flux_kinds() {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        expected += api.list(&ListParams::default()).await?.items.len() as u64;
    }
    let kubeconfig = sim.kubeconfig.display().to_string();
    let mut tools = vec![fluxdeck_tool(&plan.fluxdeck, &kubeconfig, expected)];
    if let Some(bin) = &plan.flux9s {
        tools.push(flux9s_tool(bin, &kubeconfig, plan.hrs as u64));
    }
    if run % 2 == 1 {
        tools.reverse();
    }
    let mut out = Vec::new();
    for tool in &tools {
        let m = match measure(tool, &client, plan, dir.path(), &sim.access_log).await {
            Ok(m) => m,
            Err(e) => {
                eprintln!("run {run}: {} failed: {e:#}", tool.name);
                continue;
            }
        };
        print_one(run, tool.name, &m);
        out.push((tool.name, m));
    }
    drop(sim);
    Ok((sim_state, out))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn msf(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_one(run: usize, name: &str, m: &Measures) {
    let rest = Stats::of(m.rest.clone());
    let burst = Stats::of(m.burst_keys.clone());
    eprintln!(
        "  run {run} {name}: complete {:.2} s, RSS {:.0} MiB (settled {:.0}), idle CPU {:.2} s, idle bytes {} ({} style changes), keys at rest median {:.1} ms p99 {:.1} ms over {} ({} missed), in burst median {:.1} ms p99 {:.1} ms over {} ({} missed), burst CPU {:.2} s over {:.1} s ({} events, patches {:.2} s), peak {:.0} MiB",
        m.complete.as_secs_f64(),
        mib(m.rss_complete_kib),
        mib(m.rss_settled_kib),
        m.idle_cpu.as_secs_f64(),
        m.idle_bytes,
        m.idle_style_changes,
        msf(rest.median),
        msf(rest.p99),
        m.rest.len(),
        m.rest_missed,
        msf(burst.median),
        msf(burst.p99),
        m.burst_keys.len(),
        m.burst_missed,
        m.burst_cpu.as_secs_f64(),
        m.burst_window.as_secs_f64(),
        m.burst_events,
        m.burst_patches.as_secs_f64(),
        mib(m.peak_kib),
    );
    if let Some(useful) = m.useful {
        let at = |d: Option<Duration>| {
            d.map_or("–".to_string(), |d| format!("{:.2} s", d.as_secs_f64()))
        };
        eprintln!(
            "  run {run} {name}: first useful screen {:.2} s; Flux lists returned from {} to {}",
            useful.as_secs_f64(),
            at(m.first_list),
            at(m.last_list),
        );
    }
}

/// The median of the figures a run has (`NaN`: not measured for this tool).
fn median(v: Vec<f64>) -> Option<f64> {
    let mut v: Vec<f64> = v.into_iter().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// The rows of the summary: name, target, and how to read the figure from one run.
type Row = (
    &'static str,
    &'static str,
    fn(&Measures, f64) -> f64,
    &'static str,
);

fn rows() -> Vec<Row> {
    vec![
        (
            "start → everything on screen",
            "≤ 0.5× flux9s",
            |m, _| m.complete.as_secs_f64(),
            "s",
        ),
        (
            "start → first useful screen (first rows)",
            "",
            |m, _| m.useful.map_or(f64::NAN, |d| d.as_secs_f64()),
            "s",
        ),
        (
            "first Flux list returned → first useful screen",
            "≤ 0.3 s",
            |m, _| match (m.useful, m.first_list) {
                (Some(u), Some(l)) => u.as_secs_f64() - l.as_secs_f64(),
                _ => f64::NAN,
            },
            "s",
        ),
        (
            "last Flux list returned → everything on screen",
            "≤ 0.5 s",
            |m, _| {
                m.last_list
                    .map_or(f64::NAN, |l| m.complete.as_secs_f64() - l.as_secs_f64())
            },
            "s",
        ),
        (
            "RSS when it is on screen",
            "",
            |m, _| mib(m.rss_complete_kib),
            "MiB",
        ),
        (
            "RSS 5 s later",
            "≤ 95 MB, ≤ 0.5× flux9s",
            |m, _| mib(m.rss_settled_kib),
            "MiB",
        ),
        (
            "peak RSS (VmHWM) after the burst",
            "≤ 150 MB",
            |m, _| mib(m.peak_kib),
            "MiB",
        ),
        (
            "idle CPU per 10 s",
            "≤ 0.1 s",
            |m, idle| m.idle_cpu.as_secs_f64() * 10.0 / idle,
            "s",
        ),
        (
            "idle bytes per 10 s",
            "clock tick only",
            |m, idle| m.idle_bytes as f64 * 10.0 / idle,
            "B",
        ),
        (
            "key latency at rest, median",
            "≤ 20 ms",
            |m, _| msf(Stats::of(m.rest.clone()).median),
            "ms",
        ),
        (
            "key latency at rest, p99",
            "≤ 50 ms",
            |m, _| msf(Stats::of(m.rest.clone()).p99),
            "ms",
        ),
        (
            "key latency in the burst, median",
            "≤ 20 ms",
            |m, _| msf(Stats::of(m.burst_keys.clone()).median),
            "ms",
        ),
        (
            "key latency in the burst, p99",
            "≤ 50 ms",
            |m, _| msf(Stats::of(m.burst_keys.clone()).p99),
            "ms",
        ),
        (
            "burst CPU (until 1 s without a frame)",
            "≤ 1 s",
            |m, _| m.burst_cpu.as_secs_f64(),
            "s",
        ),
        (
            "burst CPU above the idle rate",
            "",
            |m, idle| {
                m.burst_cpu.as_secs_f64()
                    - m.idle_cpu.as_secs_f64() / idle * m.burst_window.as_secs_f64()
            },
            "s",
        ),
        (
            "burst window (patches + settle)",
            "",
            |m, _| m.burst_window.as_secs_f64(),
            "s",
        ),
    ]
}

pub async fn side_by_side(plan: &Plan) -> Result<()> {
    let mut all: Vec<(&'static str, Measures)> = Vec::new();
    let mut sims = Vec::new();
    for run in 0..plan.runs {
        let (sim, measured) = one_run(plan, run).await?;
        sims.push(sim);
        all.extend(measured);
    }
    let idle = plan.idle.as_secs_f64();
    let names: Vec<&str> = ["fluxdeck", "flux9s"]
        .into_iter()
        .filter(|n| all.iter().any(|(t, _)| t == n))
        .collect();
    println!();
    println!(
        "Medians of {} runs, {COLS}x{ROWS}, {} (runs per tool: {})",
        plan.runs,
        plan.scenario,
        names
            .iter()
            .map(|n| format!("{n} {}", all.iter().filter(|(t, _)| t == n).count()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    print!("| measure |");
    for n in &names {
        print!(" {n} |");
    }
    println!(" target |");
    print!("|---|");
    for _ in &names {
        print!("---:|");
    }
    println!("---|");
    for (what, target, get, unit) in rows() {
        print!("| {what} |");
        for n in &names {
            let vals: Vec<f64> = all
                .iter()
                .filter(|(t, _)| t == n)
                .map(|(_, m)| get(m, idle))
                .collect();
            let per_run = vals
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect::<Vec<_>>()
                .join(" / ");
            match median(vals) {
                Some(v) => print!(" {v:.2} {unit} ({per_run}) |"),
                None => print!(" – |"),
            }
        }
        println!(" {target} |");
    }
    let samples = |n: &str, f: fn(&Measures) -> (usize, usize)| {
        all.iter()
            .filter(|(t, _)| *t == n)
            .map(|(_, m)| {
                let (got, missed) = f(m);
                format!("{got}+{missed} missed")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for n in &names {
        println!();
        println!(
            "{n}: key samples at rest {}; during the burst {}; style changes while idle {}; burst watch events {}",
            samples(n, |m| (m.rest.len(), m.rest_missed)),
            samples(n, |m| (m.burst_keys.len(), m.burst_missed)),
            all.iter()
                .filter(|(t, _)| t == n)
                .map(|(_, m)| m.idle_style_changes.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            all.iter()
                .filter(|(t, _)| t == n)
                .map(|(_, m)| m.burst_events.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    println!();
    for s in sims {
        println!("{s}");
    }
    Ok(())
}
