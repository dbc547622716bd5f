//! The TUI event loop: terminal input, messages from the executor, a coarse tick and signals
//! go in as messages; `app::update` decides; the terminal's effects (quit, suspend, redraw) are
//! done here and every other effect goes to the [`Executor`], which runs cluster calls on
//! tasks of its own. Nothing here waits on the network. The screen is drawn only when the
//! state changed, at most about 60 times a second.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::executor::{Executor, ExecutorOptions};
use super::terminal::{ProcessSignal, Signals, TerminalGuard, TerminalOptions};
use crate::app::msg::{Effect, Msg};
use crate::app::{AppInit, AppState, update};
use crate::config::{Config, ReadOnlyReason};
use crate::domain::secrets::SecretValues;
use crate::kube::client::{Connection, KubeconfigSource};
use crate::theme::Theme;

pub use super::executor::health_msg;

/// Minimum time between two frames.
const FRAME: Duration = Duration::from_millis(16);
/// The coarse clock tick (ages on screen are coarse, so most ticks change nothing).
const TICK: Duration = Duration::from_secs(1);

/// Work done in one session, logged when it ends (the benchmarks read it from the log).
#[derive(Debug, Default)]
struct LoopStats {
    /// Frames drawn to the terminal.
    frames: u64,
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
    pub kubeconfig: KubeconfigSource,
    /// Whether Secret values are shown (`--show-secrets`) or masked.
    pub secret_values: SecretValues,
}

/// How the session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The user quit.
    Quit,
    /// A termination signal arrived (the exit status is 128 + its number).
    Signal(ProcessSignal),
}

/// Run the TUI until the user quits or a termination signal arrives.
pub async fn run(conn: Connection, opts: TuiOptions) -> std::io::Result<Ended> {
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
    let mut theme = opts.theme;
    let (tx, mut rx) = mpsc::channel::<Msg>(256);
    let executor = Executor::spawn(
        conn,
        ExecutorOptions {
            namespace: opts.namespace.clone(),
            read_only: opts.read_only.clone(),
            config: opts.config.clone(),
            kubeconfig: opts.kubeconfig.clone(),
            audit: crate::actions::audit::Audit::default_file(),
            secret_values: opts.secret_values,
            ascii: opts.ascii,
        },
        tx,
    );

    let mut guard = TerminalGuard::enter(TerminalOptions::default())?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_draw: Option<Instant> = None;
    let mut draw_at: Option<Instant> = Some(Instant::now());
    let mut pending: Vec<Effect> = Vec::new();
    let mut stats = LoopStats::default();
    let started = Instant::now();
    let mut ended = Ended::Quit;
    if let Ok(size) = guard.terminal().and_then(|t| t.size()) {
        let first = update(
            &mut state,
            Msg::Resize {
                cols: size.width,
                rows: size.height,
            },
        );
        pending.extend(first);
    }

    'session: loop {
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
            Some(m) = rx.recv() => {
                msgs.push_back(m);
                // Take whatever else is queued, so a burst is handled before the next frame.
                while let Ok(m) = rx.try_recv() {
                    msgs.push_back(m);
                }
            },
            _ = tick.tick() => msgs.push_back(Msg::Tick(Timestamp::now())),
            sig = signals.recv() => match sig {
                Some(s) if s.is_termination() => {
                    ended = Ended::Signal(s);
                    break;
                }
                Some(_) => { let _ = guard.force_redraw(); draw_at = Some(Instant::now()); }
                None => {}
            },
            _ = tokio::time::sleep_until(draw_at.unwrap_or(far)), if draw_at.is_some() => {
                draw_at = None;
                if state.needs_redraw() || last_draw.is_none() {
                    guard
                        .terminal()?
                        .draw(|f| crate::ui::view(&state, &theme, f))?;
                    state.mark_drawn();
                    stats.frames += 1;
                }
                last_draw = Some(Instant::now());
            },
        }

        let mut effects: VecDeque<Effect> = std::mem::take(&mut pending).into();
        loop {
            let Some(effect) = effects.pop_front() else {
                match msgs.pop_front() {
                    Some(msg) => {
                        stats.messages += 1;
                        effects.extend(update(&mut state, msg));
                        continue;
                    }
                    None => break,
                }
            };
            match effect {
                Effect::Quit => break 'session,
                Effect::SuspendProcess => {
                    guard.suspend()?;
                    draw_at = Some(Instant::now());
                }
                Effect::ForceRedraw => {
                    guard.force_redraw()?;
                    draw_at = Some(Instant::now());
                }
                Effect::UseTheme(new) => {
                    // Every cell is drawn again in the new theme.
                    theme = *new;
                    guard.force_redraw()?;
                    draw_at = Some(Instant::now());
                }
                other => executor.send(other),
            }
        }
        if state.needs_redraw() && draw_at.is_none() {
            let at = last_draw.map_or_else(Instant::now, |t| (t + FRAME).max(Instant::now()));
            draw_at = Some(at);
        }
    }
    tracing::info!(
        frames = stats.frames,
        snapshots = executor.snapshots(),
        messages = stats.messages,
        seconds = started.elapsed().as_secs_f64(),
        "session ended"
    );
    drop(executor);
    drop(guard);
    Ok(ended)
}
