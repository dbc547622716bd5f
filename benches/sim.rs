//! Benchmarks of the simulated cluster at scale (`cargo bench --bench sim`): seeding and
//! start of `scale:hr=5000,ks=500`, listing every HelmRelease with kube-rs and as a Table
//! over raw HTTP, and watch fan-out to four kube-rs watchers while a writer changes
//! HelmReleases at a fixed rate. Prints one table of wall times, counts and the peak RSS of
//! the process (VmHWM) after each step.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use futures::StreamExt;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, WatchEvent, WatchParams,
};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::store::{ObjKey, Store, WriteOpts, WritePart};

const SCENARIO: &str = "scale:hr=5000,ks=500";
const HELM_RELEASES: usize = 5000;
const SPEED: f64 = 30.0;
const LIST_RUNS: usize = 5;
const WATCHERS: usize = 4;
const WRITE_RATE: u64 = 1000;
const WRITE_SECONDS: u64 = 10;
const STAMP: &str = "bench.fluxdeck.io/written-at";

/// One printed row.
struct Row {
    what: String,
    value: String,
    note: String,
    hwm_kib: u64,
}

struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn add(&mut self, what: &str, value: String, note: String) {
        let row = Row {
            what: what.to_string(),
            value,
            note,
            hwm_kib: proc_status_kib("VmHWM"),
        };
        eprintln!("  {:<44} {:>12}  {}", row.what, row.value, row.note);
        self.rows.push(row);
    }

    fn print(&self) {
        println!();
        println!("| measurement | value | peak RSS after | notes |");
        println!("|---|---:|---:|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {:.0} MiB | {} |",
                r.what,
                r.value,
                r.hwm_kib as f64 / 1024.0,
                r.note
            );
        }
    }
}

/// A field of /proc/self/status in KiB (0 when unavailable).
fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn helmrelease_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ))
}

fn count_hr(store: &Store, pred: impl Fn(&Value) -> bool) -> usize {
    store
        .list(&ids::helmreleases(), None)
        .0
        .iter()
        .filter(|h| pred(h))
        .count()
}

/// GET `path` with `accept` over a fresh connection (`Connection: close`); the body.
async fn raw_get(addr: SocketAddr, path: &str, accept: &str) -> Result<Vec<u8>> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nUser-Agent: fluxdeck-bench\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP header end"))?;
    let head = String::from_utf8_lossy(&out[..split]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(anyhow!(
            "GET {path}: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    let body = &out[split + 4..];
    if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        Ok(body.to_vec())
    }
}

fn dechunk(mut s: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = s
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("bad chunk"))?;
        let size = std::str::from_utf8(&s[..eol])?;
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        s = &s[eol + 2..];
        if n == 0 {
            return Ok(out);
        }
        let chunk = s.get(..n).ok_or_else(|| anyhow!("short chunk"))?;
        out.extend_from_slice(chunk);
        s = s.get(n + 2..).unwrap_or_default();
    }
}

/// What one watcher saw.
#[derive(Default)]
struct WatchStats {
    events: AtomicU64,
    stamped: AtomicU64,
    gone: AtomicBool,
    errors: AtomicU64,
    lags_ns: Mutex<Vec<u64>>,
}

/// Watch HelmReleases from `rv` until `stop`; on a closed stream resume from the last
/// version seen. A stamp counts once per watcher: the first event that carries it is
/// the receipt of that write (later status writes carry the same annotation).
async fn run_watcher(
    api: Api<DynamicObject>,
    mut rv: String,
    stats: Arc<WatchStats>,
    stop: Arc<AtomicBool>,
) {
    let mut seen: HashSet<String> = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        let wp = WatchParams::default().timeout(120);
        let stream = match api.watch(&wp, &rv).await {
            Ok(s) => s,
            Err(_) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            let next = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
            let ev = match next {
                Err(_) if stop.load(Ordering::Relaxed) => return,
                Err(_) => continue,
                Ok(None) => break,
                Ok(Some(Err(_))) => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(Some(Ok(ev))) => ev,
            };
            let obj = match ev {
                WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
                WatchEvent::Bookmark(b) => {
                    rv = b.metadata.resource_version;
                    continue;
                }
                WatchEvent::Error(status) => {
                    if status.code == 410 {
                        stats.gone.store(true, Ordering::Relaxed);
                        return;
                    }
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            };
            let now = unix_nanos();
            stats.events.fetch_add(1, Ordering::Relaxed);
            if let Some(v) = &obj.metadata.resource_version {
                rv = v.clone();
            }
            let stamp = obj
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(STAMP))
                .cloned();
            if let Some(stamp) = stamp
                && let Some(written) = stamp
                    .split_once(':')
                    .and_then(|(_, ns)| ns.parse::<u64>().ok())
                && seen.insert(stamp)
            {
                stats.stamped.fetch_add(1, Ordering::Relaxed);
                stats.lags_ns.lock().push(now.saturating_sub(written));
            }
        }
    }
}

/// Change HelmReleases through the store at `rate` per second for `secs`, stamping each
/// with `<seq>:<unix nanos>`; returns the number of writes.
async fn run_writer(store: Arc<Store>, keys: Vec<ObjKey>, rate: u64, secs: u64) -> u64 {
    let start = Instant::now();
    let total = rate * secs;
    let mut done = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while done < total {
        tick.tick().await;
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while done < due {
            let key = &keys[(done as usize) % keys.len()];
            let stamp = format!("{done}:{}", unix_nanos());
            let res = store.modify(
                &ids::helmreleases(),
                key,
                WritePart::Main,
                WriteOpts::default(),
                |cur| {
                    let mut n = cur.clone();
                    if !n["metadata"]["annotations"].is_object() {
                        n["metadata"]["annotations"] = json!({});
                    }
                    n["metadata"]["annotations"][STAMP] = json!(stamp);
                    Ok(Some(n))
                },
            );
            if res.is_ok() {
                done += 1;
            }
        }
    }
    done
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn bench(report: &mut Report) -> Result<()> {
    // Seed + start.
    let t = Instant::now();
    let cluster = SimCluster::start(SimOptions {
        scenario: SCENARIO.into(),
        speed: SPEED,
        ..Default::default()
    })
    .await
    .context("starting the simulated cluster")?;
    report.add(
        "seed + start",
        ms(t.elapsed()),
        format!("{SCENARIO}, speed {SPEED}"),
    );
    let store = cluster.store.clone();

    // The Kustomizations apply the HelmReleases; then the helm-controller installs them.
    let applied = controllers::wait_for(&store, Duration::from_secs(60), |s| {
        s.count(&ids::helmreleases()) >= HELM_RELEASES
    })
    .await;
    report.add(
        "all HelmReleases applied by Kustomizations",
        ms(t.elapsed()),
        format!(
            "{} HelmReleases{}",
            store.count(&ids::helmreleases()),
            if applied { "" } else { " (gave up after 60 s)" }
        ),
    );
    let settle_until = Instant::now() + Duration::from_secs(45);
    loop {
        let ready = count_hr(&store, |h| conditions::is_true(h, "Ready"));
        if ready >= HELM_RELEASES * 99 / 100 || Instant::now() >= settle_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ready = count_hr(&store, |h| conditions::is_true(h, "Ready"));
    let mut not_ready: std::collections::BTreeMap<String, usize> = Default::default();
    for h in store.list(&ids::helmreleases(), None).0 {
        if !conditions::is_true(&h, "Ready") {
            let reason = conditions::get(&h, "Ready")
                .and_then(|c| c["reason"].as_str().map(String::from))
                .unwrap_or_else(|| "no Ready condition".into());
            *not_ready.entry(reason).or_default() += 1;
        }
    }
    report.add(
        "HelmReleases Ready (≥99% or 45 s)",
        ms(t.elapsed()),
        format!(
            "{ready}/{} Ready (others: {not_ready:?}); store: {} Secrets, {} Deployments, {} Events",
            store.count(&ids::helmreleases()),
            store.count(&ids::secrets()),
            store.count(&ids::deployments()),
            store.count(&ids::events())
        ),
    );

    // List with kube-rs.
    let config = kube::Config::new(cluster.url().parse()?);
    let client = kube::Client::try_from(config)?;
    let ar = helmrelease_resource();
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let mut times = Vec::new();
    let mut items = 0;
    for _ in 0..LIST_RUNS {
        let t = Instant::now();
        let list = api.list(&ListParams::default()).await?;
        times.push(t.elapsed());
        items = list.items.len();
    }
    report.add(
        "list HelmReleases, kube-rs DynamicObject",
        ms(median(times.clone())),
        format!(
            "median of {LIST_RUNS} (min {}, max {}); {items} items",
            ms(*times.iter().min().unwrap_or(&Duration::ZERO)),
            ms(*times.iter().max().unwrap_or(&Duration::ZERO))
        ),
    );

    // Table list over raw HTTP.
    let addr = cluster.server.addr();
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let mut times = Vec::new();
    let mut rows = 0;
    let mut bytes = 0;
    for _ in 0..LIST_RUNS {
        let t = Instant::now();
        let body = raw_get(addr, "/apis/helm.toolkit.fluxcd.io/v2/helmreleases", accept).await?;
        let table: Value = serde_json::from_slice(&body)?;
        times.push(t.elapsed());
        if table["kind"] != "Table" {
            return Err(anyhow!("expected a Table, got {}", table["kind"]));
        }
        rows = table["rows"].as_array().map_or(0, Vec::len);
        bytes = body.len();
    }
    report.add(
        "list HelmReleases as Table, raw HTTP",
        ms(median(times.clone())),
        format!(
            "median of {LIST_RUNS} (min {}, max {}); {rows} rows, {:.1} MiB",
            ms(*times.iter().min().unwrap_or(&Duration::ZERO)),
            ms(*times.iter().max().unwrap_or(&Duration::ZERO)),
            bytes as f64 / 1048576.0
        ),
    );
    let mut times = Vec::new();
    for _ in 0..LIST_RUNS {
        let t = Instant::now();
        let body = raw_get(
            addr,
            "/apis/helm.toolkit.fluxcd.io/v2/helmreleases",
            "application/json",
        )
        .await?;
        times.push(t.elapsed());
        bytes = body.len();
    }
    report.add(
        "list HelmReleases as JSON, raw HTTP",
        ms(median(times)),
        format!(
            "median of {LIST_RUNS}, body only (no decoding); {:.1} MiB",
            bytes as f64 / 1048576.0
        ),
    );

    // Watch fan-out.
    let keys: Vec<ObjKey> = store
        .list(&ids::helmreleases(), None)
        .0
        .iter()
        .map(|h| {
            ObjKey::new(
                conditions::s(h, "/metadata/namespace"),
                conditions::s(h, "/metadata/name"),
            )
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let produced = Arc::new(AtomicU64::new(0));
    let mut rx = store.subscribe();
    let counter = {
        let produced = produced.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                    Ok(Ok(ev)) if ev.resource == ids::helmreleases() => {
                        produced.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return,
                    _ => {}
                }
            }
        })
    };
    let rv = store.resource_version().to_string();
    let stats: Vec<Arc<WatchStats>> = (0..WATCHERS)
        .map(|_| Arc::new(WatchStats::default()))
        .collect();
    let watchers: Vec<_> = stats
        .iter()
        .map(|s| {
            tokio::spawn(run_watcher(
                Api::all_with(client.clone(), &ar),
                rv.clone(),
                s.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Give the watch requests time to be established before writing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let writes = run_writer(store.clone(), keys, WRITE_RATE, WRITE_SECONDS).await;
    let write_time = t.elapsed();
    let drain_until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < drain_until
        && stats
            .iter()
            .any(|s| s.stamped.load(Ordering::Relaxed) < writes && !s.gone.load(Ordering::Relaxed))
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    for w in watchers {
        let _ = w.await;
    }
    let _ = counter.await;
    report.add(
        "watch fan-out: writes through the store",
        format!("{writes}"),
        format!(
            "{WRITE_RATE}/s target, {:.0}/s achieved over {:.2} s; {} HelmRelease change events in the store meanwhile (writes and any controller status updates)",
            writes as f64 / write_time.as_secs_f64(),
            write_time.as_secs_f64(),
            produced.load(Ordering::Relaxed)
        ),
    );
    let mut all_lags = Vec::new();
    for (i, s) in stats.iter().enumerate() {
        let mut lags = std::mem::take(&mut *s.lags_ns.lock());
        lags.sort_unstable();
        report.add(
            &format!("watcher {} received", i + 1),
            format!(
                "{}/{writes}",
                s.stamped.load(Ordering::Relaxed)
            ),
            format!(
                "{} events in all; lag p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; 410 Gone: {}; stream errors: {}",
                s.events.load(Ordering::Relaxed),
                percentile(&lags, 0.5) as f64 / 1e6,
                percentile(&lags, 0.99) as f64 / 1e6,
                lags.last().copied().unwrap_or(0) as f64 / 1e6,
                if s.gone.load(Ordering::Relaxed) { "yes" } else { "no" },
                s.errors.load(Ordering::Relaxed)
            ),
        );
        all_lags.extend(lags);
    }
    all_lags.sort_unstable();
    report.add(
        "watch fan-out: max lag (write → receipt)",
        format!("{:.1} ms", all_lags.last().copied().unwrap_or(0) as f64 / 1e6),
        format!(
            "all {WATCHERS} watchers: p50 {:.1} ms, p99 {:.1} ms; fell behind (410): {}; all received within {:.2} s of the first write",
            percentile(&all_lags, 0.5) as f64 / 1e6,
            percentile(&all_lags, 0.99) as f64 / 1e6,
            if stats.iter().any(|s| s.gone.load(Ordering::Relaxed)) { "yes" } else { "no" },
            drained.as_secs_f64()
        ),
    );
    cluster.shutdown().await;
    Ok(())
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("fluxdeck simulated cluster benchmark ({cores} cores)");
    let mut report = Report { rows: Vec::new() };
    let t = Instant::now();
    let res = rt.block_on(bench(&mut report));
    report.add("total", ms(t.elapsed()), String::new());
    report.print();
    res
}
