//! In-process measurements: the simulated cluster, a real kube `Client` over HTTP, the
//! cluster watch, the app state and the view, driven the way the event loop drives them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use fluxdeck::app::msg::{Effect, Msg, WatchScope, WatchStatus};
use fluxdeck::app::{AppInit, AppState, update};
use fluxdeck::domain::deps::analyze;
use fluxdeck::domain::flux::FluxKind;
use fluxdeck::domain::tree::{Snapshot, build};
use fluxdeck::kube::cluster::ClusterWatch;
use fluxdeck::kube::fetch;
use fluxdeck::kube::watch::{Notifier, WatchState};
use fluxdeck::sim::cluster::SimCluster;
use fluxdeck::theme::Theme;

use crate::report::{Report, Stats, ms};

pub const COLS: u16 = 200;
pub const ROWS: u16 = 60;

/// What the event loop would send as `Msg::WatchHealth`.
fn health_msg(notifier: &Notifier) -> Msg {
    Msg::WatchHealth(
        notifier
            .health()
            .into_iter()
            .map(|(k, s)| {
                let status = match s {
                    WatchState::Connecting => WatchStatus::Connecting,
                    WatchState::Connected => WatchStatus::Connected,
                    WatchState::Reconnecting { since, error } => {
                        WatchStatus::Reconnecting { since, error }
                    }
                    WatchState::Forbidden { message } => WatchStatus::Forbidden { message },
                    WatchState::NotInstalled => WatchStatus::NotInstalled,
                };
                (
                    WatchScope {
                        kind: k.kind,
                        namespace: k.namespace,
                    },
                    status,
                )
            })
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The watch, the state and what feeds them.
pub struct Session {
    pub client: Client,
    pub notifier: Notifier,
    pub watch: ClusterWatch,
    pub state: AppState,
    pub theme: Theme,
}

impl Session {
    /// Wait (bounded) until every watch has listed.
    async fn wait_synced(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.watch.is_synced() {
            if Instant::now() > deadline {
                return Err(anyhow!("the watches did not sync within 120 s"));
            }
            let _ =
                tokio::time::timeout(Duration::from_millis(100), self.notifier.notified()).await;
        }
        Ok(())
    }

    /// Carry out effects as the event loop does (scopes, events), feeding results back.
    async fn run_effects(&mut self, effects: Vec<Effect>) -> Result<()> {
        let mut queue = effects;
        while let Some(effect) = queue.pop() {
            match effect {
                Effect::WatchScopes(scopes) => {
                    self.watch.set_managed_scopes(&scopes).await;
                    self.wait_synced().await?;
                    queue.extend(self.rebuild());
                }
                Effect::FetchEvents(key) => {
                    let result = fetch::events(self.client.clone(), &key).await;
                    queue.extend(update(&mut self.state, Msg::Events { key, result }));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A snapshot into the state, as one rebuild of the event loop.
    fn rebuild(&mut self) -> Vec<Effect> {
        let mut effects = update(&mut self.state, health_msg(&self.notifier));
        let (snap, _) = self.watch.snapshot(Timestamp::now());
        effects.extend(update(&mut self.state, Msg::Snapshot(Arc::new(snap))));
        effects
    }

    async fn key(&mut self, code: KeyCode) -> Result<()> {
        let effects = update(
            &mut self.state,
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        );
        self.run_effects(effects).await
    }
}

/// 1. Connect, list, first full tree, first frame.
pub async fn first_tree(cluster: &SimCluster, report: &mut Report) -> Result<Session> {
    let t0 = Instant::now();
    let client = Client::try_from(kube::Config::new(cluster.url().parse()?))?;
    let notifier = Notifier::new();
    let watch = ClusterWatch::start(client.clone(), None, notifier.clone())
        .await
        .context("starting the cluster watch")?;
    let theme = Theme::load(None, false)?;
    let state = AppState::new(AppInit {
        context: "sim".into(),
        server: cluster.url(),
        namespace: None,
        read_only: None,
        keymap_overrides: BTreeMap::new(),
        ascii: false,
        now: Timestamp::now(),
        log_file: None,
        size: (COLS, ROWS),
    });
    let mut s = Session {
        client,
        notifier,
        watch,
        state,
        theme,
    };
    s.wait_synced().await?;
    let listed = Instant::now();
    let t_listed = listed - t0;
    let (snap, errors) = s.watch.snapshot(Timestamp::now());
    let t_snapshot = listed.elapsed();
    let flux = snap.flux.len();
    let hrs = snap
        .flux
        .keys()
        .filter(|k| k.flux_kind() == Some(FluxKind::HelmRelease))
        .count();
    let _ = update(&mut s.state, health_msg(&s.notifier));
    let effects = update(&mut s.state, Msg::Snapshot(Arc::new(snap)));
    let t_tree = listed.elapsed();
    let mut terminal = Terminal::new(TestBackend::new(COLS, ROWS))?;
    terminal.draw(|f| fluxdeck::ui::view(&s.state, &s.theme, f))?;
    let t_frame = listed.elapsed();
    let t_total = t0.elapsed();
    report.add(
        "connect → lists returned (watches synced)",
        ms(t_listed),
        "",
        format!(
            "kube Client over HTTP, ClusterWatch::start, reflectors listed {flux} Flux objects ({hrs} HelmReleases, {} errors)",
            errors.len()
        ),
    );
    report.add(
        "lists returned → snapshot built",
        ms(t_snapshot),
        "",
        "ClusterWatch::snapshot: shares the objects each watch converted as they arrived".into(),
    );
    report.add(
        "lists returned → first full tree in AppState",
        ms(t_tree),
        "≤ 1.5 s",
        format!(
            "+ update(Msg::Snapshot): tree::build (with deps::analyze), rows; {} nodes, {} visible rows",
            s.state.tree.len(),
            s.state.rows.len()
        ),
    );
    report.add(
        "lists returned → first frame",
        ms(t_frame),
        "≤ 1.5 s",
        format!("+ ui::view into a {COLS}x{ROWS} TestBackend"),
    );
    report.add(
        "connect → first frame",
        ms(t_total),
        "",
        "the whole path".into(),
    );
    s.run_effects(effects).await?;
    Ok(s)
}

/// Open what a user looking at the fleet opens: the first HelmReleases on screen expanded
/// (their Deployment and Service), and the details pane of one of them.
async fn expand_like_a_user(s: &mut Session) -> Result<usize> {
    let mut expanded = 0;
    let mut i = 0;
    while expanded < 4 && i < s.state.rows.len() && i < usize::from(ROWS) - 8 {
        let row = &s.state.rows[i];
        let is_hr = s
            .state
            .node_of(row)
            .and_then(|n| n.key.as_ref())
            .is_some_and(|k| k.flux_kind() == Some(FluxKind::HelmRelease));
        if is_hr && row.has_children && !row.expanded {
            while s.state.cursor < i {
                s.key(KeyCode::Char('j')).await?;
            }
            s.key(KeyCode::Char('l')).await?;
            expanded += 1;
        }
        i += 1;
    }
    s.key(KeyCode::Enter).await?;
    Ok(expanded)
}

/// 4. A full frame: `ui::view` over many iterations.
pub async fn render(s: &mut Session, report: &mut Report) -> Result<()> {
    let expanded = expand_like_a_user(s).await?;
    let mut terminal = Terminal::new(TestBackend::new(COLS, ROWS))?;
    let iterations = 500;
    let mut view = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let mut frame = terminal.get_frame();
        let t = Instant::now();
        fluxdeck::ui::view(&s.state, &s.theme, &mut frame);
        view.push(t.elapsed());
    }
    let mut draw = Vec::with_capacity(iterations);
    for i in 0..iterations {
        // Alternate the selection so each frame differs from the last one drawn.
        let code = if i % 2 == 0 {
            KeyCode::Char('j')
        } else {
            KeyCode::Char('k')
        };
        s.key(code).await?;
        let t = Instant::now();
        terminal.draw(|f| fluxdeck::ui::view(&s.state, &s.theme, f))?;
        draw.push(t.elapsed());
    }
    let v = Stats::of(view);
    report.add(
        "ui::view, full 200x60 frame",
        format!("{} median", ms(v.median)),
        "≤ 5 ms",
        format!(
            "p99 {}, max {} over {iterations}; 5,000-HR tree, default expansion + {expanded} HelmReleases expanded, details pane open, {} visible rows",
            ms(v.p99),
            ms(v.max),
            s.state.rows.len()
        ),
    );
    let d = Stats::of(draw);
    report.add(
        "Terminal::draw (view + diff), selection moving",
        format!("{} median", ms(d.median)),
        "≤ 5 ms",
        format!("p99 {}, max {} over {iterations}", ms(d.p99), ms(d.max)),
    );
    Ok(())
}

/// Costs of one rebuild, as the event loop pays them.
#[derive(Default)]
struct RebuildTimes {
    snapshot: Vec<Duration>,
    analyze: Vec<Duration>,
    build: Vec<Duration>,
    update: Vec<Duration>,
    /// `update(Msg::Prepared)`: what the UI task does with a rebuild prepared elsewhere.
    ui: Vec<Duration>,
    view: Vec<Duration>,
}

/// 6b. A burst over HTTP while this task rebuilds at most every 50 ms as the event loop does,
/// timing each part of a rebuild.
pub async fn burst_rebuilds(s: &mut Session, writes: usize, report: &mut Report) -> Result<()> {
    let (targets, _) = crate::burst::targets(&s.client).await?;
    // Start from nothing pending: a change noted but never drained is not announced again,
    // so the loop below would not wake for the burst.
    let _ = s.notifier.drain();
    let client = s.client.clone();
    let writer = tokio::spawn(async move {
        crate::burst::run(&client, &targets, writes, crate::CONCURRENCY).await
    });
    let mut times = RebuildTimes::default();
    let mut terminal = Terminal::new(TestBackend::new(COLS, ROWS))?;
    let mut last = Instant::now() - Duration::from_millis(50);
    // Kept from one rebuild to the next, as the executor keeps it.
    let mut cache = fluxdeck::domain::tree::TreeCache::default();
    let mut reused = Vec::new();
    let mut writer = Some(writer);
    let mut outcome = None;
    loop {
        if let Some(w) = writer.as_ref()
            && w.is_finished()
            && let Some(w) = writer.take()
        {
            outcome = Some(w.await?);
        }
        let woke = tokio::time::timeout(Duration::from_millis(500), s.notifier.notified()).await;
        match woke {
            Err(_) if writer.is_none() => break,
            Err(_) => continue,
            Ok(()) => {}
        }
        let _ = s.notifier.drain();
        let at = last + Duration::from_millis(50);
        tokio::time::sleep_until(at.max(Instant::now()).into()).await;
        last = Instant::now();
        let t = Instant::now();
        let (snap, _) = s.watch.snapshot(Timestamp::now());
        times.snapshot.push(t.elapsed());
        let t = Instant::now();
        let _ = analyze(&snap);
        times.analyze.push(t.elapsed());
        let t = Instant::now();
        let _ = build(&snap);
        times.build.push(t.elapsed());
        let t = Instant::now();
        let prepared = fluxdeck::app::prepare::prepare_with(Arc::new(snap), &mut cache);
        let prepared_in = t.elapsed();
        reused.push(cache.reused());
        let t = Instant::now();
        let effects = update(&mut s.state, Msg::Prepared(Arc::new(prepared)));
        let ui = t.elapsed();
        // The runtime frees the previous rebuild on a blocking thread.
        drop(tokio::task::spawn_blocking(move || drop(effects)));
        times.ui.push(ui);
        times.update.push(prepared_in + ui);
        let t = Instant::now();
        terminal.draw(|f| fluxdeck::ui::view(&s.state, &s.theme, f))?;
        times.view.push(t.elapsed());
    }
    let outcome = outcome.ok_or_else(|| anyhow!("the writer did not finish"))?;
    let n = times.snapshot.len();
    let line = |v: Vec<Duration>| {
        let st = Stats::of(v);
        format!(
            "median {}, p99 {}, max {}",
            ms(st.median),
            ms(st.p99),
            ms(st.max)
        )
    };
    let per_rebuild: Vec<Duration> = (0..n)
        .map(|i| times.snapshot[i] + times.update[i] + times.view[i])
        .collect();
    let all = Stats::of(per_rebuild);
    report.add(
        "burst in-process: rebuild (snapshot + update + view)",
        format!("{} median", ms(all.median)),
        "< 50 ms",
        format!(
            "p99 {}, max {}; {n} rebuilds while {} patches landed in {:.2} s ({} errors)",
            ms(all.p99),
            ms(all.max),
            outcome.writes,
            outcome.elapsed.as_secs_f64(),
            outcome.errors
        ),
    );
    report.add(
        "  of which ClusterWatch::snapshot",
        String::new(),
        "",
        line(times.snapshot),
    );
    let reused_median = {
        let mut r = reused.clone();
        r.sort_unstable();
        r.get(r.len() / 2).copied().unwrap_or(0)
    };
    report.add(
        "  of which prepare (with the subtree cache) + update",
        String::new(),
        "",
        format!(
            "{} (analyze + tree build reusing unchanged HelmRelease subtrees: {reused_median} reused per rebuild, median; rows)",
            line(times.update)
        ),
    );
    report.add(
        "  of which on the UI task: update(Msg::Prepared)",
        String::new(),
        "",
        format!(
            "{} (compare with the shown tree, expansion, rows)",
            line(times.ui)
        ),
    );
    report.add(
        "  deps::analyze alone (same snapshots)",
        String::new(),
        "",
        line(times.analyze),
    );
    report.add(
        "  tree::build from scratch (includes analyze)",
        String::new(),
        "",
        line(times.build),
    );
    report.add("  ui::view + draw", String::new(), "", line(times.view));
    Ok(())
}

/// 6a. `deps::analyze` on a synthetic fleet with random dependencies.
pub fn deps_analysis(report: &mut Report) -> Result<()> {
    let n = 5_000;
    let (snap, errors) =
        Snapshot::from_objects(crate::fleet::objects(n, 0x5eed), crate::fleet::now());
    if !errors.is_empty() {
        return Err(anyhow!("fleet objects did not decode: {errors:?}"));
    }
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..30 {
        let t = Instant::now();
        let a = analyze(&snap);
        times.push(t.elapsed());
        last = Some(a);
    }
    let a = last.ok_or_else(|| anyhow!("no analysis"))?;
    let groups = a.root_groups();
    let cycle_members: usize = a.cycles().iter().map(|c| c.members.len()).sum();
    let st = Stats::of(times);
    report.add(
        "deps::analyze, 5,000 HelmReleases, random deps",
        format!("{} median", ms(st.median)),
        "≤ 50 ms",
        format!(
            "p99 {}, max {} over 30; {} cycles ({cycle_members} members), {} root causes with dependents",
            ms(st.p99),
            ms(st.max),
            a.cycles().len(),
            groups.len()
        ),
    );
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let tree = build(&snap);
        times.push(t.elapsed());
        std::hint::black_box(tree);
    }
    let st = Stats::of(times);
    report.add(
        "tree::build, same fleet (includes analyze)",
        format!("{} median", ms(st.median)),
        "",
        format!("p99 {}, max {} over 10", ms(st.p99), ms(st.max)),
    );
    Ok(())
}
