//! The TUI event loop: terminal input, cluster changes, fetch results, a coarse tick and
//! signals go in as messages; `app::update` decides; effects run on tasks; the screen is
//! drawn only when the state changed, at most about 60 times a second.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::terminal::{Signals, TerminalGuard, TerminalOptions};
use crate::app::msg::{Effect, Msg, WatchScope, WatchStatus};
use crate::app::prepare::{Prepared, prepare};
use crate::app::{AppInit, AppState, update};
use crate::config::{Config, ReadOnlyReason};
use crate::domain::secrets::SecretValues;
use crate::kube::client::{self, Connection};
use crate::kube::cluster::ClusterWatch;
use crate::kube::fetch;
use crate::kube::watch::{Notifier, WatchKey, WatchState};
use crate::theme::Theme;

/// Minimum time between two frames.
const FRAME: Duration = Duration::from_millis(16);
/// Minimum time between two snapshot rebuilds during a burst of watch events.
const REBUILD: Duration = Duration::from_millis(50);
/// On a large estate a rebuild takes long: the gap before the next one is at least this
/// many times the last rebuild's cost, so a burst of watch events cannot keep the loop busy
/// rebuilding (keys and frames get their turn) and CPU use stays bounded.
const REBUILD_COST_FACTOR: u32 = 3;
/// The coarse clock tick (ages on screen are coarse, so most ticks change nothing).
const TICK: Duration = Duration::from_secs(1);

/// Work done in one session, logged when it ends (the benchmarks read it from the log).
#[derive(Debug, Default)]
struct LoopStats {
    /// Frames drawn to the terminal.
    frames: u64,
    /// Snapshots built from the watch stores.
    snapshots: u64,
    /// Messages handled by `update`.
    messages: u64,
}

/// Everything the TUI needs besides the connection.
pub struct TuiOptions {
    pub namespace: Option<String>,
    pub read_only: Option<ReadOnlyReason>,
    pub theme: Theme,
    /// The user's settings: keymap overrides, read-only contexts (checked again on `:ctx`).
    pub config: Config,
    pub ascii: bool,
    pub log_path: Option<PathBuf>,
    /// Where contexts come from for `:ctx`.
    pub kubeconfig: Option<PathBuf>,
    /// Whether the YAML view shows Secret values (`--show-secrets`).
    pub secret_values: SecretValues,
}

fn to_scope(k: &WatchKey) -> WatchScope {
    WatchScope {
        kind: k.kind.clone(),
        namespace: k.namespace.clone(),
    }
}

fn to_status(s: &WatchState) -> WatchStatus {
    match s {
        WatchState::Connecting => WatchStatus::Connecting,
        WatchState::Connected => WatchStatus::Connected,
        WatchState::Reconnecting { since, error } => WatchStatus::Reconnecting {
            since: *since,
            error: error.clone(),
        },
        WatchState::Forbidden { message } => WatchStatus::Forbidden {
            message: message.clone(),
        },
        WatchState::NotInstalled => WatchStatus::NotInstalled,
    }
}

/// The health of every watch, as the app's message.
pub fn health_msg(h: &BTreeMap<WatchKey, WatchState>) -> Msg {
    Msg::WatchHealth(h.iter().map(|(k, s)| (to_scope(k), to_status(s))).collect())
}

/// Start the watches of one cluster and namespace, with a fresh notifier (a switch replaces
/// both, so nothing from the previous watches reaches the new ones).
async fn start_watches(
    client: kube::Client,
    namespace: Option<String>,
) -> (Notifier, Result<ClusterWatch, String>) {
    let notifier = Notifier::new();
    let watch = ClusterWatch::start(client, namespace, notifier.clone())
        .await
        .map_err(|e| e.to_string());
    (notifier, watch)
}

/// Run the TUI until the user quits or a termination signal arrives.
pub async fn run(conn: Connection, opts: TuiOptions) -> std::io::Result<()> {
    let mut signals = Signals::new()?;
    let size = crossterm::terminal::size().unwrap_or((80, 24));
    let mut state = AppState::new(AppInit {
        context: conn.context.clone(),
        server: conn.server.clone(),
        namespace: opts.namespace.clone(),
        read_only: opts.read_only.clone(),
        keymap_overrides: opts.config.keymap.clone(),
        ascii: opts.ascii,
        now: Timestamp::now(),
        log_file: opts.log_path.clone(),
        size,
    });
    let theme = opts.theme;
    let (tx, mut rx) = mpsc::channel::<Msg>(256);
    // Snapshots analysed and built into trees off the UI task, tagged with the generation of
    // the watches they came from (a context or namespace switch starts a new one).
    let (prepared_tx, mut prepared_rx) = mpsc::channel::<(u64, Arc<Prepared>)>(2);
    let mut generation: u64 = 0;

    let mut namespace = opts.namespace.clone();
    let (mut notifier, started) = start_watches(conn.client.clone(), namespace.clone()).await;
    let mut watch = match started {
        Ok(w) => Some(w),
        Err(e) => {
            let _ = tx.try_send(Msg::DecodeErrors(vec![e]));
            None
        }
    };
    let mut conn = conn;

    let mut guard = TerminalGuard::enter(TerminalOptions::default())?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_draw: Option<Instant> = None;
    let mut draw_at: Option<Instant> = Some(Instant::now());
    let mut last_rebuild = Instant::now() - REBUILD;
    // Minimum time between rebuilds, adapted to what the last one cost.
    let mut rebuild_gap = REBUILD;
    let mut rebuild_started: Option<Instant> = None;
    let mut rebuild_at: Option<Instant> = None;
    let mut last_errors: Vec<String> = Vec::new();
    let mut pending: Vec<Effect> = Vec::new();
    let mut stats = LoopStats::default();
    let started = Instant::now();
    if let Ok(size) = guard.terminal().size() {
        let first = update(
            &mut state,
            Msg::Resize {
                cols: size.width,
                rows: size.height,
            },
        );
        pending.extend(first);
    }

    loop {
        let mut msgs: VecDeque<Msg> = VecDeque::new();
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => msgs.push_back(Msg::Key(k)),
                Some(Ok(TermEvent::Resize(cols, rows))) => msgs.push_back(Msg::Resize { cols, rows }),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::error!(error = %e, "terminal input failed");
                    break;
                }
                None => break,
            },
            _ = notifier.notified() => {
                let drained = notifier.drain();
                if let Some(h) = &drained.health {
                    msgs.push_back(health_msg(h));
                }
                // Health changes rebuild too: a watch that synced an empty list changes the
                // snapshot from "loading" to "empty".
                if !drained.is_empty() {
                    let at = (last_rebuild + rebuild_gap).max(Instant::now());
                    rebuild_at = Some(rebuild_at.map_or(at, |t| t.min(at)));
                }
            },
            // One rebuild at a time: the next waits until the previous one is in.
            _ = tokio::time::sleep_until(rebuild_at.unwrap_or(far)),
                if rebuild_at.is_some() && rebuild_started.is_none() => {
                rebuild_at = None;
                last_rebuild = Instant::now();
                if let Some(w) = watch.as_mut() {
                    rebuild_started = Some(last_rebuild);
                    let (snap, errors) = w.snapshot(Timestamp::now());
                    stats.snapshots += 1;
                    if errors != last_errors {
                        last_errors = errors.clone();
                        msgs.push_back(Msg::DecodeErrors(errors));
                    }
                    // The analysis and the tree are built on a blocking thread, so keys and
                    // frames are not held up by a large estate.
                    let done = prepared_tx.clone();
                    let tag = generation;
                    tokio::task::spawn_blocking(move || {
                        let prepared = prepare(Arc::new(snap));
                        let _ = done.blocking_send((tag, Arc::new(prepared)));
                    });
                }
            },
            Some((tag, prepared)) = prepared_rx.recv() => {
                if let Some(started) = rebuild_started.take() {
                    // Snapshot, analysis and tree: the cost of one rebuild.
                    rebuild_gap = REBUILD.max(started.elapsed() * REBUILD_COST_FACTOR);
                    last_rebuild = Instant::now();
                }
                if tag == generation {
                    msgs.push_back(Msg::Prepared(prepared));
                }
            },
            Some(m) = rx.recv() => msgs.push_back(m),
            _ = tick.tick() => msgs.push_back(Msg::Tick(Timestamp::now())),
            sig = signals.recv() => match sig {
                Some(s) if s.is_termination() => break,
                Some(_) => { let _ = guard.force_redraw(); draw_at = Some(Instant::now()); }
                None => {}
            },
            _ = tokio::time::sleep_until(draw_at.unwrap_or(far)), if draw_at.is_some() => {
                draw_at = None;
                if state.needs_redraw() || last_draw.is_none() {
                    guard.terminal().draw(|f| crate::ui::view(&state, &theme, f))?;
                    state.mark_drawn();
                    stats.frames += 1;
                }
                last_draw = Some(Instant::now());
            },
        }

        let mut quit = false;
        let mut effects: VecDeque<Effect> = std::mem::take(&mut pending).into();
        loop {
            if effects.is_empty() {
                match msgs.pop_front() {
                    Some(msg) => {
                        stats.messages += 1;
                        effects.extend(update(&mut state, msg));
                    }
                    None => break,
                }
                continue;
            }
            let Some(effect) = effects.pop_front() else {
                continue;
            };
            // Whether the effect needs new watches (a context or namespace switch).
            let switch = match effect {
                Effect::Quit => {
                    quit = true;
                    false
                }
                Effect::FetchEvents(key) => {
                    if let Some(w) = &watch {
                        let client = w.client();
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let result = fetch::events(client, &key).await;
                            let _ = tx.send(Msg::Events { key, result }).await;
                        });
                    }
                    false
                }
                Effect::FetchYaml(key) => {
                    if let Some(w) = &watch {
                        let client = w.client();
                        let discovery = w.discovery();
                        let tx = tx.clone();
                        let values = opts.secret_values;
                        tokio::spawn(async move {
                            let result = fetch::yaml(client, &discovery, &key, values).await;
                            let _ = tx.send(Msg::Yaml { key, result }).await;
                        });
                    }
                    false
                }
                Effect::WatchScopes(scopes) => {
                    if let Some(w) = watch.as_mut() {
                        w.set_managed_scopes(&scopes).await;
                    }
                    false
                }
                Effect::SwitchContext(ctx) => {
                    match client::connect(opts.kubeconfig.as_deref(), Some(&ctx)).await {
                        Ok(c) => {
                            // Read-only can only be turned on by a switch, never off.
                            if let Some(reason) = opts.config.read_only_for(false, &c.context) {
                                msgs.push_front(Msg::ReadOnly(reason));
                            }
                            conn = c;
                            true
                        }
                        Err(e) => {
                            msgs.push_front(Msg::Switched {
                                context: conn.context.clone(),
                                server: conn.server.clone(),
                                namespace: namespace.clone(),
                                result: Err(e.to_string()),
                            });
                            false
                        }
                    }
                }
                Effect::SwitchNamespace(ns) => {
                    namespace = ns;
                    true
                }
                Effect::SuspendProcess => {
                    guard.suspend()?;
                    draw_at = Some(Instant::now());
                    false
                }
                Effect::ForceRedraw => {
                    guard.force_redraw()?;
                    draw_at = Some(Instant::now());
                    false
                }
            };
            if switch {
                watch = None;
                generation += 1;
                let (n, started) = start_watches(conn.client.clone(), namespace.clone()).await;
                notifier = n;
                let result = started.map(|w| {
                    watch = Some(w);
                });
                msgs.push_front(Msg::Switched {
                    context: conn.context.clone(),
                    server: conn.server.clone(),
                    namespace: namespace.clone(),
                    result,
                });
            }
        }
        if quit {
            break;
        }
        if state.needs_redraw() && draw_at.is_none() {
            let at = last_draw.map_or_else(Instant::now, |t| (t + FRAME).max(Instant::now()));
            draw_at = Some(at);
        }
    }
    tracing::info!(
        frames = stats.frames,
        snapshots = stats.snapshots,
        messages = stats.messages,
        seconds = started.elapsed().as_secs_f64(),
        "session ended"
    );
    drop(guard);
    Ok(())
}
