//! Watches: newline-delimited JSON events after a resourceVersion, filtered by resource,
//! namespace, name and selectors. Without a resourceVersion (or "0") the current objects come
//! first as ADDED. Bookmarks on request, `410 Gone` as an ERROR event when the version left
//! the retained window or the fan-out lagged, `timeoutSeconds` and the close-watches fault
//! end the stream.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, header};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::Ctx;
use super::encode::{Served, WatchLine};
use super::errors::ApiError;
use super::read::Filter;
use super::request::{IncludeObject, Query, parse_resource_version};
use super::resource::Target;
use super::table;
use crate::sim::registry::{PrinterColumn, ResourceType};
use crate::sim::store::{ChangeEvent, EventType, ObjKey, StoreError};

/// How often a watch that allows bookmarks gets one.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);
/// Longest a watch stays open without `timeoutSeconds` (like the API server's default).
const MAX_WATCH: Duration = Duration::from_secs(1800);
/// How often an open watch checks whether the close-watches fault now ends it.
const FAULT_CHECK: Duration = Duration::from_millis(250);
/// Events coalesced into one write.
const BATCH: usize = 256;

struct Spec {
    rt: ResourceType,
    api_version: String,
    namespace: Option<String>,
    name: Option<String>,
    filter: Filter,
    /// Table columns when the client asked for Table events.
    table: Option<(Vec<PrinterColumn>, IncludeObject)>,
}

impl Spec {
    /// Whether an object is of this watch's resource, namespace and name (selectors aside).
    fn in_scope(&self, obj: &Value) -> bool {
        let meta = |f: &str| obj.pointer(f).and_then(Value::as_str).unwrap_or_default();
        self.namespace
            .as_ref()
            .is_none_or(|ns| ns == meta("/metadata/namespace"))
            && self
                .name
                .as_ref()
                .is_none_or(|n| n == meta("/metadata/name"))
    }

    fn line(&self, buf: &mut Vec<u8>, type_: &str, obj: &Value) {
        let res = match &self.table {
            Some((cols, include)) => {
                let row = table::row(
                    cols,
                    obj,
                    *include,
                    &self.api_version,
                    &self.rt.kind,
                    chrono::Utc::now(),
                );
                let rv = obj
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                let t = json!({
                    "kind": "Table", "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": rv},
                    "columnDefinitions": table::column_definitions(cols),
                    "rows": [row],
                });
                serde_json::to_writer(&mut *buf, &WatchLine { type_, object: t })
            }
            None => serde_json::to_writer(
                &mut *buf,
                &WatchLine {
                    type_,
                    object: Served {
                        obj,
                        api_version: &self.api_version,
                        kind: &self.rt.kind,
                    },
                },
            ),
        };
        match res {
            Ok(()) => buf.push(b'\n'),
            Err(e) => tracing::warn!("encoding a watch event failed: {e}"),
        }
    }

    fn bookmark(&self, buf: &mut Vec<u8>, rv: u64, initial_end: bool) {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.rt.kind, "apiVersion": self.api_version, "metadata": meta});
        if serde_json::to_writer(
            &mut *buf,
            &WatchLine {
                type_: "BOOKMARK",
                object: obj,
            },
        )
        .is_ok()
        {
            buf.push(b'\n');
        }
    }
}

fn error_line(err: &ApiError) -> Bytes {
    let mut buf = serde_json::to_vec(&WatchLine {
        type_: "ERROR",
        object: err.status(),
    })
    .unwrap_or_default();
    buf.push(b'\n');
    Bytes::from(buf)
}

fn gone(message: String) -> ApiError {
    ApiError::gone(message)
}

fn stream_response(rx: mpsc::Receiver<Result<Bytes, Infallible>>) -> Response<Body> {
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn watch(
    ctx: &Arc<Ctx>,
    target: Target,
    q: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let filter = Filter::parse(q, &target.rt.plural)?;
    let from =
        parse_resource_version(q.resource_version.as_deref()).map_err(ApiError::bad_request)?;
    let name = target
        .name
        .clone()
        .or_else(|| filter.field.name().map(String::from));
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    if ctx.faults.watch_gone() {
        let line = error_line(&gone(
            "too old resource version (watch answered with 410 Gone by an injected fault)".into(),
        ));
        let _ = tx.try_send(Ok(line));
        return Ok(stream_response(rx));
    }
    let table = table::wants_table(accept).then(|| (table::columns(&target.rt), q.include_object));
    let spec = Spec {
        api_version: target.api_version.clone(),
        namespace: target.namespace.clone(),
        name,
        filter,
        table,
        rt: target.rt,
    };
    // Subscribe before listing, so nothing between the list and the live events is lost.
    let start = match ctx.store.watch(from) {
        Ok(s) => s,
        Err(StoreError::Gone { requested, oldest }) => {
            let line = error_line(&gone(format!(
                "too old resource version: {requested} ({oldest})"
            )));
            let _ = tx.try_send(Ok(line));
            return Ok(stream_response(rx));
        }
        Err(e) => return Err(ApiError::internal(e.to_string())),
    };
    let (items, list_rv) = if from.is_none() || !spec.filter.is_empty() {
        ctx.store.list(&spec.rt.id(), spec.namespace.as_deref())
    } else {
        (Vec::new(), 0)
    };
    let items: Vec<Arc<Value>> = items
        .into_iter()
        .filter(|o| spec.in_scope(o) && spec.filter.matches(o))
        .collect();
    let tracker = Tracker::new(&spec, &items);
    let initial = match from {
        Some(rv) => (Vec::new(), rv),
        None => (items, list_rv),
    };
    let mut lifetime = Duration::from_secs(q.timeout_seconds.unwrap_or(MAX_WATCH.as_secs()));
    if q.timeout_seconds == Some(0) {
        lifetime = MAX_WATCH;
    }
    if let Some(l) = ctx.faults.watch_lifetime() {
        lifetime = lifetime.min(l);
    }
    let started = Instant::now();
    let opts = RunOpts {
        started,
        deadline: started + lifetime,
        bookmarks: q.allow_bookmarks,
        initial_end_bookmark: q.send_initial_events && from.is_none(),
    };
    tokio::spawn(run(
        ctx.clone(),
        spec,
        tracker,
        initial,
        start.backlog,
        start.live,
        tx,
        opts,
    ));
    Ok(stream_response(rx))
}

struct RunOpts {
    started: Instant,
    deadline: Instant,
    bookmarks: bool,
    initial_end_bookmark: bool,
}

async fn send(tx: &mpsc::Sender<Result<Bytes, Infallible>>, buf: &mut Vec<u8>) -> bool {
    if buf.is_empty() {
        return true;
    }
    tx.send(Ok(Bytes::from(std::mem::take(buf)))).await.is_ok()
}

/// For watches with selectors: the objects the client holds, so that an object which
/// starts or stops matching arrives as ADDED or DELETED, like on a real API server.
struct Tracker {
    held: Option<HashSet<ObjKey>>,
}

fn key_of(obj: &Value) -> ObjKey {
    let meta = |f: &str| obj.pointer(f).and_then(Value::as_str).unwrap_or_default();
    ObjKey::new(meta("/metadata/namespace"), meta("/metadata/name"))
}

impl Tracker {
    fn new(spec: &Spec, matching: &[Arc<Value>]) -> Self {
        Self {
            held: (!spec.filter.is_empty()).then(|| matching.iter().map(|o| key_of(o)).collect()),
        }
    }

    /// Append the line (if any) this change means for the client.
    fn event(&mut self, spec: &Spec, buf: &mut Vec<u8>, ev: &ChangeEvent) {
        if ev.resource.group != spec.rt.group
            || ev.resource.plural != spec.rt.plural
            || !spec.in_scope(&ev.object)
        {
            return;
        }
        let matches = spec.filter.matches(&ev.object);
        let Some(held) = &mut self.held else {
            if matches {
                spec.line(buf, ev.kind.as_str(), &ev.object);
            }
            return;
        };
        let key = key_of(&ev.object);
        let had = held.contains(&key);
        let type_ = match (ev.kind, matches, had) {
            (EventType::Deleted, m, h) => {
                held.remove(&key);
                (m || h).then_some("DELETED")
            }
            (kind, true, true) => Some(kind.as_str()),
            (_, true, false) => {
                held.insert(key);
                Some("ADDED")
            }
            (_, false, true) => {
                held.remove(&key);
                Some("DELETED")
            }
            (_, false, false) => None,
        };
        if let Some(t) = type_ {
            spec.line(buf, t, &ev.object);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    ctx: Arc<Ctx>,
    spec: Spec,
    mut tracker: Tracker,
    (initial, start_rv): (Vec<Arc<Value>>, u64),
    backlog: Vec<Arc<ChangeEvent>>,
    mut live: broadcast::Receiver<Arc<ChangeEvent>>,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    opts: RunOpts,
) {
    let mut buf = Vec::new();
    let mut last_rv = start_rv;
    for chunk in initial.chunks(BATCH) {
        for obj in chunk {
            spec.line(&mut buf, "ADDED", obj);
        }
        if !send(&tx, &mut buf).await {
            return;
        }
    }
    if opts.initial_end_bookmark {
        spec.bookmark(&mut buf, start_rv, true);
    }
    for ev in backlog {
        last_rv = last_rv.max(ev.rv);
        tracker.event(&spec, &mut buf, &ev);
        if buf.len() > 1 << 20 && !send(&tx, &mut buf).await {
            return;
        }
    }
    if !send(&tx, &mut buf).await {
        return;
    }
    let mut ticks = tokio::time::interval_at(Instant::now() + BOOKMARK_INTERVAL, BOOKMARK_INTERVAL);
    // The close-watches fault may be switched on while this stream is open.
    let mut fault_checks = tokio::time::interval(FAULT_CHECK);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(opts.deadline) => break,
            _ = fault_checks.tick() => {
                if ctx.faults.watch_lifetime().is_some_and(|l| opts.started + l <= Instant::now()) {
                    break;
                }
            }
            _ = tx.closed() => break,
            _ = ticks.tick(), if opts.bookmarks => {
                let now_rv = ctx.store.resource_version();
                // Everything up to `now_rv` is already queued: drain it before the bookmark.
                loop {
                    match live.try_recv() {
                        Ok(ev) => {
                            if ev.rv > last_rv {
                                last_rv = ev.rv;
                                tracker.event(&spec, &mut buf, &ev);
                            }
                        }
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(_) => {
                            lagged(&tx, &mut buf).await;
                            return;
                        }
                    }
                }
                last_rv = last_rv.max(now_rv);
                spec.bookmark(&mut buf, last_rv, false);
                if !send(&tx, &mut buf).await {
                    return;
                }
            }
            r = live.recv() => {
                match r {
                    Ok(ev) => {
                        let mut next = Some(ev);
                        let mut n = 0;
                        while let Some(ev) = next.take() {
                            if ev.rv > last_rv {
                                last_rv = ev.rv;
                                tracker.event(&spec, &mut buf, &ev);
                            }
                            n += 1;
                            if n < BATCH {
                                match live.try_recv() {
                                    Ok(ev) => next = Some(ev),
                                    Err(broadcast::error::TryRecvError::Empty) => {}
                                    Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                        lagged(&tx, &mut buf).await;
                                        return;
                                    }
                                    Err(broadcast::error::TryRecvError::Closed) => break,
                                }
                            }
                        }
                        if !send(&tx, &mut buf).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        lagged(&tx, &mut buf).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
    }
    let _ = send(&tx, &mut buf).await;
}

/// The watcher fell behind the fan-out: flush what it has, then `410 Gone`.
async fn lagged(tx: &mpsc::Sender<Result<Bytes, Infallible>>, buf: &mut Vec<u8>) {
    let _ = send(tx, buf).await;
    let line = error_line(&gone(
        "the watch fell too far behind the event stream; list again".into(),
    ));
    let _ = tx.send(Ok(line)).await;
}
