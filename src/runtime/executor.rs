//! The effect executor: owns the connection, the watches and the session's access (read-only
//! or not), runs every cluster call in a task of its own and answers with messages. There is no
//! terminal in it: the TUI's event loop and the integration tests drive it the same way, by
//! sending [`Effect`]s and reading [`Msg`]s.
//!
//! - Watches start in the background, with discovery retried (and its state shown as the
//!   `API discovery` watch) until it succeeds; a `:ctx`/`:ns` switch keeps the old watches
//!   until the new ones are up, so the screen stays usable meanwhile.
//! - Repeated fetches keep only the newest: a new Events, YAML or history request cancels
//!   the one in flight.
//! - Snapshots are rebuilt after store changes, coalesced, with the analysis and tree built on
//!   a blocking thread; the gap between rebuilds grows with their cost.
//! - Each snapshot goes to the `values pending` check
//!   ([`values_check`](super::values_check)), which runs in a task of its own and is restarted
//!   with the watches.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::actions::audit::Audit;
use crate::actions::diffs::{self, DiffOptions};
use crate::actions::history::{self, HistoryData};
use crate::actions::intent::Intent;
use crate::actions::run::{self as action_run, DEFAULT_TIMEOUT, Progress};
use crate::actions::writer::{Reader, Writer, label};
use crate::app::msg::{Effect, Msg, WatchScope, WatchStatus};
use crate::app::prepare::{Prepared, prepare_with};
use crate::config::{Config, ReadOnlyReason};
use crate::domain::secrets::SecretValues;
use crate::domain::tree::TreeCache;
use crate::kube::client::{Connection, KubeconfigSource};
use crate::kube::cluster::{self, ClusterWatch, Scope};
use crate::kube::discovery::{DiscoveryError, Resolved};
use crate::kube::fetch;
use crate::kube::watch::{Backoff, Notifier, WatchKey, WatchState};
use crate::runtime::values_check::{CheckOptions, ValuesCheck};

/// Minimum time between two snapshot rebuilds during a burst of watch events.
const REBUILD: Duration = Duration::from_millis(50);
/// On a large estate a rebuild takes long: the gap before the next one is at least this
/// many times the last rebuild's cost, so a burst of watch events cannot keep the executor
/// busy rebuilding and CPU use stays bounded (at most a seventh of one core for rebuilds).
/// At 5,000 HelmReleases a rebuild costs about 150 ms: during a storm of events the tree
/// is refreshed about once a second; a lone change after a quiet spell is shown at once.
const REBUILD_COST_FACTOR: u32 = 6;
/// Discovery attempts for a `:ctx`/`:ns` switch before it is given up (the old watches stay).
const SWITCH_ATTEMPTS: u32 = 3;

/// The watch key under which discovery problems are reported (shown in the header).
pub fn discovery_key() -> WatchKey {
    WatchKey::new("", "API discovery", None)
}

/// What the executor needs besides the connection.
#[derive(Clone, Debug)]
pub struct ExecutorOptions {
    pub namespace: Option<String>,
    /// Decided once at start; a `:ctx` switch can only turn it on.
    pub read_only: Option<ReadOnlyReason>,
    /// Read-only contexts (checked again on `:ctx`).
    pub config: Config,
    /// Where contexts come from for `:ctx` (the demo's is in memory).
    pub kubeconfig: KubeconfigSource,
    /// Where actions are recorded.
    pub audit: Audit,
    /// Whether Secret values are shown (`--show-secrets`) or masked.
    pub secret_values: SecretValues,
    /// ASCII only (`--ascii`): masks in diffs are `******`.
    pub ascii: bool,
}

/// Kinds of on-demand fetches; one of each runs at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fetch {
    Events,
    Yaml,
    History,
    Evidence,
    /// The values and drift diffs share one: they fill the same view.
    Diff,
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

/// The running executor. Dropping it stops every watch and task it owns.
pub struct Executor {
    effects: mpsc::UnboundedSender<Effect>,
    task: JoinHandle<()>,
    snapshots: Arc<std::sync::atomic::AtomicU64>,
}

impl Executor {
    /// Start the executor on `conn`: the watches start at once (in the background), and
    /// every answer arrives on `out`.
    pub fn spawn(conn: Connection, opts: ExecutorOptions, out: mpsc::Sender<Msg>) -> Executor {
        Executor::spawn_with(conn, opts, CheckOptions::default(), out)
    }

    /// [`Executor::spawn`] with the `values pending` check run as `checks` says.
    pub fn spawn_with(
        conn: Connection,
        opts: ExecutorOptions,
        checks: CheckOptions,
        out: mpsc::Sender<Msg>,
    ) -> Executor {
        let (effects, effects_rx) = mpsc::unbounded_channel();
        let (mut core, answers) = Core::new(conn, opts, out);
        core.checks = checks;
        let snapshots = core.snapshots.clone();
        let task = tokio::spawn(core.run(effects_rx, answers));
        Executor {
            effects,
            task,
            snapshots,
        }
    }

    /// Snapshots built from the watch stores so far (the benchmarks read it from the log).
    pub fn snapshots(&self) -> u64 {
        self.snapshots.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Carry out an effect (answers arrive as messages). Effects that concern the terminal
    /// (quit, suspend, redraw) are the event loop's and are ignored here.
    pub fn send(&self, effect: Effect) {
        if self.effects.send(effect).is_err() {
            tracing::error!("the executor has stopped; effect dropped");
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which cluster a start is for.
enum Target {
    /// The current connection (start-up, `:ns`).
    Connected(Connection),
    /// `:ctx NAME`: connect first (reads the kubeconfig, may run credential plugins).
    Context(String),
}

/// A start of the watches that finished, for one generation.
struct Started {
    generation: u64,
    /// The context asked for (named in the message when the start failed).
    context: String,
    conn: Option<Connection>,
    namespace: Option<String>,
    notifier: Notifier,
    result: Result<ClusterWatch, String>,
    /// Whether this start is a switch (the app is told how it went).
    switch: bool,
}

/// Managed scopes resolved in the background, for one generation.
struct ScopesResolved {
    generation: u64,
    resolved: Vec<(Scope, Result<Resolved, DiscoveryError>)>,
}

/// Rebuild scheduling: one at a time, spaced by their cost.
struct Rebuild {
    at: Option<Instant>,
    running_since: Option<Instant>,
    last: Instant,
    gap: Duration,
}

impl Rebuild {
    fn new() -> Self {
        Self {
            at: None,
            running_since: None,
            last: Instant::now() - REBUILD,
            gap: REBUILD,
        }
    }

    /// Ask for a rebuild as soon as the gap since the last one allows.
    fn request(&mut self) {
        let at = (self.last + self.gap).max(Instant::now());
        self.at = Some(self.at.map_or(at, |t| t.min(at)));
    }

    /// A rebuild finished (or failed): the next one waits in proportion to its cost.
    fn finished(&mut self) {
        if let Some(started) = self.running_since.take() {
            self.gap = REBUILD.max(started.elapsed() * REBUILD_COST_FACTOR);
            self.last = Instant::now();
        }
    }
}

/// What the executor's tasks answer with: a start of the watches, resolved managed scopes,
/// a built tree.
struct Answers {
    started: mpsc::UnboundedReceiver<Started>,
    scopes: mpsc::UnboundedReceiver<ScopesResolved>,
    prepared: mpsc::Receiver<(u64, Result<Arc<Prepared>, String>)>,
}

/// The executor's state, owned by its task.
struct Core {
    out: mpsc::Sender<Msg>,
    opts: ExecutorOptions,
    /// The session's access, decided here and only here: `Some` makes [`Core::writer`]
    /// impossible to build.
    read_only: Option<ReadOnlyReason>,
    /// The only way to write: present once the watches are up, and only when not read-only.
    writer: Option<Arc<Writer>>,
    conn: Connection,
    namespace: Option<String>,
    /// The generation of the watches shown (a switch starts a new one).
    generation: u64,
    /// The newest generation asked for (equal to `generation` unless a start is in flight).
    latest: u64,
    watch: Option<ClusterWatch>,
    /// The notifier listened to: the shown watches', or, before the first start succeeded,
    /// the starting one's (so discovery retries reach the header).
    notifier: Notifier,
    starting: Option<JoinHandle<()>>,
    started_tx: mpsc::UnboundedSender<Started>,
    /// The managed scopes the app asked for last (applied to new watches too).
    scopes: BTreeSet<Scope>,
    scopes_task: Option<JoinHandle<()>>,
    scopes_tx: mpsc::UnboundedSender<ScopesResolved>,
    /// The fetch under way per kind of answer (a newer one of a kind cancels the older).
    fetches: BTreeMap<Fetch, JoinHandle<()>>,
    rebuild: Rebuild,
    prepared_tx: mpsc::Sender<(u64, Result<Arc<Prepared>, String>)>,
    /// The previous rebuild's HelmRelease subtrees, reused when unchanged.
    tree_cache: Arc<std::sync::Mutex<TreeCache>>,
    last_errors: Vec<String>,
    snapshots: Arc<std::sync::atomic::AtomicU64>,
    /// The `values pending` check of the shown watches (restarted with them).
    values_check: Option<ValuesCheck>,
    checks: CheckOptions,
}

impl Core {
    /// The executor's state and the receiving ends of its tasks' answers.
    fn new(conn: Connection, opts: ExecutorOptions, out: mpsc::Sender<Msg>) -> (Core, Answers) {
        let (started_tx, started) = mpsc::unbounded_channel();
        let (scopes_tx, scopes) = mpsc::unbounded_channel();
        let (prepared_tx, prepared) = mpsc::channel(2);
        let core = Core {
            out,
            read_only: opts.read_only.clone(),
            writer: None,
            namespace: opts.namespace.clone(),
            opts,
            conn,
            generation: 0,
            latest: 0,
            watch: None,
            notifier: Notifier::new(),
            starting: None,
            started_tx,
            scopes: BTreeSet::new(),
            scopes_task: None,
            scopes_tx,
            fetches: BTreeMap::new(),
            rebuild: Rebuild::new(),
            prepared_tx,
            tree_cache: Arc::default(),
            last_errors: Vec::new(),
            snapshots: Arc::default(),
            values_check: None,
            checks: CheckOptions::default(),
        };
        let answers = Answers {
            started,
            scopes,
            prepared,
        };
        (core, answers)
    }

    async fn send(&self, msg: Msg) {
        // The receiver is gone only when the session is ending.
        let _ = self.out.send(msg).await;
    }

    async fn run(mut self, mut effects: mpsc::UnboundedReceiver<Effect>, answers: Answers) {
        let Answers {
            started: mut started_rx,
            scopes: mut scopes_rx,
            prepared: mut prepared_rx,
        } = answers;
        self.begin_start(
            Target::Connected(self.conn.clone()),
            self.namespace.clone(),
            false,
        );
        let far = Instant::now() + Duration::from_secs(3600 * 24 * 365);
        loop {
            let notifier = self.notifier.clone();
            tokio::select! {
                effect = effects.recv() => match effect {
                    Some(e) => self.execute(e).await,
                    None => break,
                },
                _ = notifier.notified() => {
                    let drained = notifier.drain();
                    if let Some(h) = &drained.health {
                        self.send(health_msg(h)).await;
                    }
                    // Health changes rebuild too: a watch that synced an empty list changes
                    // the snapshot from "loading" to "empty".
                    if !drained.is_empty() && self.watch.is_some() {
                        self.rebuild.request();
                    }
                },
                Some(started) = started_rx.recv() => self.on_started(started).await,
                Some(resolved) = scopes_rx.recv() => self.on_scopes_resolved(resolved),
                _ = tokio::time::sleep_until(self.rebuild.at.unwrap_or(far)),
                    if self.rebuild.at.is_some() && self.rebuild.running_since.is_none() => {
                    self.start_rebuild().await;
                },
                Some((tag, prepared)) = prepared_rx.recv() => {
                    self.rebuild.finished();
                    match prepared {
                        Ok(p) if tag == self.generation => self.send(Msg::Prepared(p)).await,
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "building the tree failed");
                            self.send(Msg::DecodeErrors(vec![format!("building the tree failed: {e}")])).await;
                        }
                    }
                },
            }
        }
        tracing::info!("executor stopped");
    }

    /// Start watches for `conn` and `namespace` in the background, as a new generation.
    fn begin_start(&mut self, target: Target, namespace: Option<String>, switch: bool) {
        if let Some(t) = self.starting.take() {
            t.abort();
        }
        self.latest += 1;
        let generation = self.latest;
        let notifier = Notifier::new();
        if self.watch.is_none() {
            // Nothing shown yet: show how this start goes (discovery retries).
            self.notifier = notifier.clone();
        }
        let tx = self.started_tx.clone();
        let kubeconfig = self.opts.kubeconfig.clone();
        self.starting = Some(tokio::spawn(async move {
            let attempts = if switch { SWITCH_ATTEMPTS } else { u32::MAX };
            let conn = match target {
                Target::Connected(c) => Ok(c),
                Target::Context(ctx) => kubeconfig
                    .connect(&ctx)
                    .await
                    .map_err(|e| (ctx, e.to_string())),
            };
            let started = match conn {
                Ok(conn) => {
                    let result = start_watches(&conn, namespace.clone(), &notifier, attempts).await;
                    Started {
                        generation,
                        context: conn.context.clone(),
                        conn: Some(conn),
                        namespace,
                        notifier,
                        result,
                        switch,
                    }
                }
                Err((context, e)) => Started {
                    generation,
                    context,
                    conn: None,
                    namespace,
                    notifier,
                    result: Err(e),
                    switch,
                },
            };
            let _ = tx.send(started);
        }));
    }

    async fn on_started(&mut self, s: Started) {
        if s.generation != self.latest {
            return;
        }
        self.starting = None;
        match (s.result, s.conn) {
            (Ok(w), Some(conn)) => {
                let context_changed = conn.context != self.conn.context;
                self.watch = Some(w);
                self.notifier = s.notifier;
                self.generation = s.generation;
                self.conn = conn;
                self.namespace = s.namespace;
                self.last_errors.clear();
                if context_changed {
                    // Read-only can only be turned on by a switch, never off.
                    if self.read_only.is_none()
                        && let Some(reason) =
                            self.opts.config.read_only_for(false, &self.conn.context)
                    {
                        self.read_only = Some(reason.clone());
                        self.send(Msg::ReadOnly(reason)).await;
                    }
                }
                // A new connection gets a new writer, unless the session is read-only (then
                // there is none, for good).
                self.writer = match self.watch.as_ref() {
                    Some(w) => {
                        Writer::for_session(w.client(), w.discovery(), self.read_only.as_ref())
                            .map(Arc::new)
                    }
                    None => None,
                };
                // The check of the old watches stops before the app hears of the switch, so
                // none of its marks arrive after it; the new one starts from nothing.
                self.values_check = self.watch.as_ref().map(|w| {
                    ValuesCheck::spawn(
                        Reader::new(w.client(), w.discovery()),
                        self.checks,
                        self.out.clone(),
                    )
                });
                if s.switch {
                    self.send(Msg::Switched {
                        context: self.conn.context.clone(),
                        server: self.conn.server.clone(),
                        namespace: self.namespace.clone(),
                        result: Ok(()),
                    })
                    .await;
                }
                let health = self.notifier.health();
                self.send(health_msg(&health)).await;
                self.apply_scopes();
                self.rebuild.request();
            }
            (result, _) => {
                let e = result.err().unwrap_or_default();
                tracing::warn!(context = %s.context, namespace = ?s.namespace, error = %e, "switch failed");
                self.send(Msg::Switched {
                    context: s.context,
                    server: self.conn.server.clone(),
                    namespace: s.namespace,
                    result: Err(e),
                })
                .await;
            }
        }
    }

    /// A reader on the shown connection (none before the first start succeeded).
    fn reader(&self) -> Option<Reader> {
        let w = self.watch.as_ref()?;
        Some(Reader::new(w.client(), w.discovery()))
    }

    /// Run `job` in a task and hand its answer to the app; an unfinished fetch of the same
    /// kind is cancelled (only the newest answer is wanted). A send fails only when the app
    /// has ended, and then nobody waits for the answer.
    fn fetch(&mut self, kind: Fetch, job: impl Future<Output = Msg> + Send + 'static) {
        if let Some(t) = self.fetches.remove(&kind) {
            t.abort();
        }
        let tx = self.out.clone();
        let task = tokio::spawn(async move {
            let _ = tx.send(job.await).await;
        });
        self.fetches.insert(kind, task);
    }

    /// How diffs are prepared: Secret values masked unless `--show-secrets`.
    fn diff_options(&self) -> DiffOptions {
        DiffOptions {
            show_secrets: self.opts.secret_values == SecretValues::Shown,
            ascii: self.opts.ascii,
            read_only: self.opts.read_only.is_some(),
        }
    }

    async fn execute(&mut self, effect: Effect) {
        match effect {
            Effect::FetchEvents(key) => {
                let Some(w) = &self.watch else { return };
                let client = w.client();
                self.fetch(Fetch::Events, async move {
                    let result = fetch::events(client, &key).await;
                    Msg::Events { key, result }
                });
            }
            Effect::FetchYaml(key) => {
                let Some(w) = &self.watch else { return };
                let (client, discovery) = (w.client(), w.discovery());
                let values = self.opts.secret_values;
                self.fetch(Fetch::Yaml, async move {
                    let result = fetch::yaml(client, &discovery, &key, values).await;
                    Msg::Yaml { key, result }
                });
            }
            Effect::FetchHistory(key) => {
                let Some(reader) = self.reader() else { return };
                self.fetch(Fetch::History, async move {
                    let result = history::load(&reader, &key)
                        .await
                        .map(|h| Box::new(HistoryData::from_history(&h)))
                        .map_err(|e| e.to_string());
                    Msg::History { key, result }
                });
            }
            Effect::FetchEvidence(key) => {
                let Some(reader) = self.reader() else { return };
                self.fetch(Fetch::Evidence, async move {
                    let now = k8s_openapi::jiff::Timestamp::now();
                    let result = crate::actions::evidence::gather(&reader, &key, now)
                        .await
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    Msg::Evidence { key, result }
                });
            }
            Effect::FetchValuesDiff(key) => {
                let Some(reader) = self.reader() else { return };
                let opts = self.diff_options();
                self.fetch(Fetch::Diff, async move {
                    let result = diffs::load_values_with(&reader, &key, opts)
                        .await
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    Msg::ValuesDiff { key, result }
                });
            }
            Effect::FetchDrift(key) => {
                let Some(reader) = self.reader() else { return };
                let opts = self.diff_options();
                self.fetch(Fetch::Diff, async move {
                    let result = diffs::load_drift_with(&reader, &key, opts)
                        .await
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    Msg::Drift { key, result }
                });
            }
            Effect::WatchScopes(scopes) => {
                self.scopes = scopes;
                self.apply_scopes();
            }
            Effect::SwitchContext(ctx) => {
                self.begin_start(Target::Context(ctx), self.namespace.clone(), true);
            }
            Effect::SwitchNamespace(ns) => {
                self.begin_start(Target::Connected(self.conn.clone()), ns, true);
            }
            Effect::Execute(intent) => self.execute_intent(intent).await,
            Effect::CheckAccess(permission) => {
                // Read-only: no writer, no review sent, no answer (the keys are unavailable).
                let Some(writer) = self.writer.clone() else {
                    return;
                };
                let out = self.out.clone();
                tokio::spawn(async move {
                    let result = writer.may(&permission).await.map_err(|e| e.to_string());
                    let _ = out.send(Msg::Access { permission, result }).await;
                });
            }
            Effect::LoadTheme(name) => {
                // A theme file is read on a blocking thread; a built-in one is parsed there too.
                let out = self.out.clone();
                tokio::spawn(async move {
                    let asked = name.clone();
                    let result = tokio::task::spawn_blocking(move || {
                        crate::theme::Theme::load(Some(&asked), false)
                            .map(Box::new)
                            .map_err(|e| e.to_string())
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                    let _ = out.send(Msg::ThemeLoaded { name, result }).await;
                });
            }
            Effect::ListChoices => self.list_choices(),
            // The terminal's effects belong to the event loop.
            Effect::Retire(retired) => {
                // Freed on a blocking thread: the UI task does not wait for it.
                drop(tokio::task::spawn_blocking(move || drop(retired)));
            }
            Effect::Quit | Effect::SuspendProcess | Effect::ForceRedraw | Effect::UseTheme(_) => {}
        }
    }

    /// Read the kubeconfig's contexts (a file read, on a blocking thread) and list the
    /// cluster's namespaces, for the command line.
    fn list_choices(&self) {
        let out = self.out.clone();
        let source = self.opts.kubeconfig.clone();
        let client = self.watch.as_ref().map(|w| w.client());
        tokio::spawn(async move {
            let contexts =
                tokio::task::spawn_blocking(move || source.contexts().map_err(|e| e.to_string()))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
            let _ = out.send(Msg::Contexts(contexts)).await;
            if let Some(client) = client {
                let namespaces = fetch::namespaces(client).await;
                if let Err(e) = &namespaces {
                    tracing::info!(error = %e, "cannot list namespaces: :ns does not check names");
                }
                let _ = out.send(Msg::Namespaces(namespaces)).await;
            }
        });
    }

    /// Run an action in a task of its own, reporting progress and the outcome; recorded in
    /// the audit log.
    async fn execute_intent(&mut self, intent: Intent) {
        let Some(writer) = self.writer.clone() else {
            let why = match &self.read_only {
                Some(reason) => format!("read-only session ({reason}): nothing is written"),
                None => "not connected yet".to_string(),
            };
            self.send(Msg::ActionDone {
                intent,
                result: Err(why),
            })
            .await;
            return;
        };
        let out = self.out.clone();
        let audit = self.opts.audit.clone();
        let context = self.conn.context.clone();
        tokio::spawn(async move {
            let (ptx, mut prx) = mpsc::unbounded_channel::<Progress>();
            let progress_out = out.clone();
            let progress_intent = intent.clone();
            let forward = tokio::spawn(async move {
                while let Some(p) = prx.recv().await {
                    let text = match p {
                        Progress::Requested { key, step, of } if of > 1 => {
                            format!("step {step}/{of}: reconciling {}", label(&key))
                        }
                        Progress::Requested { .. } => {
                            "reconcile requested, waiting for Flux".into()
                        }
                        Progress::Skipped { key } => format!("{} is static: skipped", label(&key)),
                        Progress::StepDone { key, message } => {
                            format!("{} ready: {message}", label(&key))
                        }
                        Progress::Rollback(p) => p.to_string(),
                    };
                    let _ = progress_out
                        .send(Msg::ActionProgress {
                            intent: progress_intent.clone(),
                            text,
                        })
                        .await;
                }
            });
            let mut report = move |p: Progress| {
                let _ = ptx.send(p);
            };
            let result = action_run::run(&writer, &intent, DEFAULT_TIMEOUT, &mut report)
                .await
                .map_err(|e| e.to_string());
            drop(report);
            let _ = forward.await;
            let summary = match &result {
                Ok(o) if o.ok => format!("ok: {}", o.message),
                Ok(o) => format!("failed: {}", o.message),
                Err(e) => format!("error: {e}"),
            };
            audit.record(&context, &intent, &summary);
            let _ = out.send(Msg::ActionDone { intent, result }).await;
        });
    }

    /// Bring the managed watches in line with the scopes asked for: release the others now,
    /// resolve the new kinds in the background.
    fn apply_scopes(&mut self) {
        let Some(w) = self.watch.as_mut() else { return };
        let missing = w.retain_scopes(&self.scopes);
        if missing.is_empty() {
            return;
        }
        if let Some(t) = self.scopes_task.take() {
            t.abort();
        }
        let discovery = w.discovery();
        let generation = self.generation;
        let tx = self.scopes_tx.clone();
        self.scopes_task = Some(tokio::spawn(async move {
            let mut resolved = Vec::with_capacity(missing.len());
            for scope in missing {
                let r = cluster::resolve_scope(&discovery, &scope).await;
                resolved.push((scope, r));
            }
            let _ = tx.send(ScopesResolved {
                generation,
                resolved,
            });
        }));
    }

    fn on_scopes_resolved(&mut self, r: ScopesResolved) {
        if r.generation != self.generation {
            return;
        }
        self.scopes_task = None;
        let Some(w) = self.watch.as_mut() else { return };
        for (scope, resolved) in r.resolved {
            // Only scopes still wanted: the tree may have moved on meanwhile.
            if self.scopes.contains(&scope) {
                w.add_scope(scope, resolved);
            }
        }
    }

    async fn start_rebuild(&mut self) {
        self.rebuild.at = None;
        self.rebuild.last = Instant::now();
        let Some(w) = self.watch.as_mut() else { return };
        self.rebuild.running_since = Some(self.rebuild.last);
        let (snap, errors) = w.snapshot(Timestamp::now());
        self.snapshots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if errors != self.last_errors {
            self.last_errors = errors.clone();
            self.send(Msg::DecodeErrors(errors)).await;
        }
        // The analysis and the tree are built on a blocking thread; a panic there is reported
        // and the next rebuild still happens.
        let snap = Arc::new(snap);
        if let Some(check) = &self.values_check {
            check.update(snap.clone());
        }
        let done = self.prepared_tx.clone();
        let tag = self.generation;
        let cache = self.tree_cache.clone();
        let job = tokio::task::spawn_blocking(move || {
            // One rebuild runs at a time; a poisoned lock (a panic in an earlier rebuild)
            // starts from an empty cache.
            let mut cache = cache.lock().unwrap_or_else(|poisoned| {
                let mut guard = poisoned.into_inner();
                *guard = TreeCache::default();
                guard
            });
            Arc::new(prepare_with(snap, &mut cache))
        });
        tokio::spawn(async move {
            let result = job.await.map_err(|e| e.to_string());
            let _ = done.send((tag, result)).await;
        });
    }
}

/// Start the watches of one cluster and namespace. Discovery is retried with backoff up to
/// `attempts` times, each failure shown as the state of the `API discovery` watch.
async fn start_watches(
    conn: &Connection,
    namespace: Option<String>,
    notifier: &Notifier,
    attempts: u32,
) -> Result<ClusterWatch, String> {
    let key = discovery_key();
    let mut backoff = Backoff::new();
    let mut since: Option<Timestamp> = None;
    let mut tried = 0u32;
    loop {
        tried = tried.saturating_add(1);
        match ClusterWatch::start(conn.client.clone(), namespace.clone(), notifier.clone()).await {
            Ok(w) => {
                notifier.remove(&key);
                return Ok(w);
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt = tried, "API discovery failed");
                if tried >= attempts {
                    return Err(e.to_string());
                }
                let state = match e.code {
                    Some(403) => WatchState::Forbidden {
                        message: e.to_string(),
                    },
                    _ => WatchState::Reconnecting {
                        since: *since.get_or_insert_with(Timestamp::now),
                        error: e.to_string(),
                    },
                };
                notifier.report(&key, state);
                tokio::time::sleep(backoff.next()).await;
            }
        }
    }
}
