//! Evidence below a root cause: what explains why a failing HelmRelease, Kustomization or
//! source fails, derived from plain JSON objects read on demand (the object itself, its
//! latest Helm release record, the workloads it manages, their pods and Warning events).
//!
//! One [`Finding`] per line, the most specific last: the object's own status, its
//! remediation state, its latest release record, then for each workload that is not ready
//! (kstatus, flux-facts §9) the workload, its Warning events, and each of its pods that is
//! not ready with the container's waiting or terminated reason, and the pod's Warning events.

use std::fmt;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::deps::Why;
use super::flux::{HelmRelease, ObjectKey};
use super::health::Health;
use super::kstatus::{self, KStatus};
use super::label_selector::LabelSelector;

/// How many Warning events are shown per object.
pub const EVENTS_PER_OBJECT: usize = 2;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The object a finding is about: `Kind namespace/name` (`Kind name` when cluster-scoped).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Subject {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Subject {
        Subject {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    pub fn of_key(key: &ObjectKey) -> Subject {
        Subject::new(key.kind.kind(), &key.namespace, &key.name)
    }

    /// The subject of a JSON object (its `kind` and metadata).
    pub fn of(obj: &Value) -> Subject {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
        Subject::new(s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
    }

    /// `namespace/name`, or `name` when cluster-scoped.
    pub fn path(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.path())
    }
}

/// What a finding says about its subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aspect {
    /// The object's own state (a Flux object's Ready reason, a workload's or pod's state).
    State,
    /// The remediation counters of a HelmRelease.
    Remediation,
    /// The latest Helm release record.
    Record,
    /// A Warning event about the subject.
    Event,
    /// A referenced Secret: whether it exists.
    Secret,
    /// What could not be read.
    Permission,
}

/// One line of evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub subject: Subject,
    /// Short: `RetriesExceeded`, `Ready 0/1`, `ImagePullBackOff`, `Warning Failed (x5)`.
    pub state: String,
    pub message: String,
    pub level: Level,
    pub aspect: Aspect,
    /// 0: the explained object; 1: what it manages (workloads); 2: their pods.
    pub depth: usize,
}

impl Finding {
    fn new(
        subject: Subject,
        state: impl Into<String>,
        message: impl Into<String>,
        level: Level,
        aspect: Aspect,
        depth: usize,
    ) -> Finding {
        Finding {
            subject,
            state: state.into(),
            message: first_line(&message.into()).to_string(),
            level,
            aspect,
            depth,
        }
    }

    /// `Kind ns/name state: message`.
    pub fn text(&self) -> String {
        let mut out = format!("{} {}", self.subject, self.state);
        if !self.message.is_empty() {
            out.push_str(": ");
            out.push_str(&self.message);
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "kind": self.subject.kind,
            "namespace": self.subject.namespace,
            "name": self.subject.name,
            "state": self.state,
            "message": self.message,
            "level": self.level.as_str(),
            "depth": self.depth,
        })
    }
}

/// What explains a failure: the findings in order, most specific last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    pub findings: Vec<Finding>,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// One line from the explained object to the most specific state below it, e.g.
    /// `HelmRelease staging/redis RetriesExceeded → StatefulSet staging/redis-master Ready 0/1
    /// → Pod staging/redis-master-0 ImagePullBackOff: …`. `None` without findings.
    pub fn chain(&self, ascii: bool) -> Option<String> {
        let mut states = self.findings.iter().filter(|f| f.aspect == Aspect::State);
        let mut path = vec![states.next()?];
        for f in states {
            if path.last().is_some_and(|last| f.depth == last.depth + 1) {
                path.push(f);
            }
        }
        let arrow = if ascii { " -> " } else { " → " };
        let n = path.len();
        Some(
            path.iter()
                .enumerate()
                .map(|(i, f)| {
                    if i + 1 == n {
                        f.text()
                    } else {
                        format!("{} {}", f.subject, f.state)
                    }
                })
                .collect::<Vec<_>>()
                .join(arrow),
        )
    }

    pub fn json(&self) -> Value {
        Value::Array(self.findings.iter().map(Finding::json).collect())
    }

    /// The findings as text for a terminal report: one line each, indented by depth, with
    /// a marker for the level (`✗`, `!`, `·`; `x`, `!`, `-` in ASCII).
    pub fn text(&self, ascii: bool) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let marker = match (f.level, ascii) {
                (Level::Error, false) => "✗",
                (Level::Error, true) => "x",
                (Level::Warning, _) => "!",
                (Level::Info, false) => "·",
                (Level::Info, true) => "-",
            };
            out.push_str(&" ".repeat(2 + 2 * f.depth));
            out.push_str(marker);
            out.push(' ');
            out.push_str(&f.text());
            out.push('\n');
        }
        out
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn text<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// The Ready (or, failing that, Stalled) condition's reason and message of a Flux object,
/// as a finding about it; `None` when it is Ready.
pub fn flux_status(obj: &Value) -> Option<Finding> {
    let subject = Subject::of(obj);
    let stalled = condition(obj, "Stalled").filter(|c| text(c, "/status") == "True");
    let ready = condition(obj, "Ready");
    if stalled.is_none() && ready.is_some_and(|c| text(c, "/status") == "True") {
        return None;
    }
    let c = stalled.or(ready)?;
    let level = if stalled.is_some() || ready.is_some_and(|r| text(r, "/status") == "False") {
        Level::Error
    } else {
        Level::Warning
    };
    Some(Finding::new(
        subject,
        text(c, "/reason"),
        text(c, "/message"),
        level,
        Aspect::State,
        0,
    ))
}

/// The facts of the latest Helm release record the evidence needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub name: String,
    pub namespace: String,
    pub version: i64,
    /// Helm status: `deployed`, `failed`, `pending-install`, …
    pub status: String,
    pub description: String,
}

/// What a HelmRelease's remediation allows: the failures of the last action and its retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remediation {
    /// `install` or `upgrade`.
    pub action: String,
    pub failures: i64,
    /// Negative: unlimited.
    pub retries: i64,
}

impl Remediation {
    /// Retries are used up: the controller does not try again until the failure counters
    /// are reset (a new generation, chart version or values, or a `resetAt` request).
    pub fn exhausted(&self) -> bool {
        self.retries >= 0 && self.failures > self.retries
    }

    pub fn text(&self) -> String {
        let retries = match self.retries {
            r if r < 0 => "retries unlimited".to_string(),
            0 => "no retries (spec.remediation.retries 0)".to_string(),
            r => {
                let left = (r + 1 - self.failures).clamp(0, r);
                format!("{left} of {r} retries left")
            }
        };
        let mut out = format!(
            "{} failed {} time(s), {retries}",
            self.action, self.failures
        );
        if self.exhausted() {
            out.push_str(
                "; it is not tried again until the spec changes (generation, chart version or \
                 values) or a reset is requested (reconcile.fluxcd.io/resetAt)",
            );
        }
        out
    }
}

/// The remediation state of a HelmRelease (flux-facts §3.3, §3.6), when an action failed.
pub fn remediation(hr: &HelmRelease) -> Option<Remediation> {
    let status = hr.status.as_ref()?;
    let action = match status.last_attempted_release_action.as_deref() {
        Some("upgrade") => "upgrade",
        Some("install") => "install",
        _ if status.upgrade_failures > 0 => "upgrade",
        _ => "install",
    };
    let (failures, retries) = if action == "upgrade" {
        (
            status.upgrade_failures,
            hr.spec
                .upgrade
                .as_ref()
                .and_then(|u| u.remediation.as_ref())
                .map_or(0, |r| r.retries),
        )
    } else {
        (
            status.install_failures,
            hr.spec
                .install
                .as_ref()
                .and_then(|i| i.remediation.as_ref())
                .map_or(0, |r| r.retries),
        )
    };
    (failures > 0).then(|| Remediation {
        action: action.to_string(),
        failures,
        retries,
    })
}

/// The findings of a HelmRelease itself: its status, remediation state and latest release
/// record (`record`: `None` when it has none or it could not be read).
pub fn helm_release(hr_obj: &Value, record: Option<&ReleaseRecord>) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = Subject::of(hr_obj);
    out.extend(flux_status(hr_obj));
    if let Ok(hr) = serde_json::from_value::<HelmRelease>(hr_obj.clone())
        && let Some(r) = remediation(&hr)
    {
        let level = if r.exhausted() {
            Level::Error
        } else {
            Level::Warning
        };
        let state = if r.exhausted() {
            "retries exhausted"
        } else {
            "retrying"
        };
        out.push(Finding::new(
            subject.clone(),
            state,
            r.text(),
            level,
            Aspect::Remediation,
            0,
        ));
    }
    if let Some(rec) = record {
        let level = match rec.status.as_str() {
            "deployed" | "superseded" | "uninstalled" => Level::Info,
            s if s.starts_with("pending") => Level::Warning,
            _ => Level::Error,
        };
        out.push(Finding::new(
            Subject::new(
                "Release",
                &rec.namespace,
                &format!("{}.v{}", rec.name, rec.version),
            ),
            rec.status.clone(),
            rec.description.clone(),
            level,
            Aspect::Record,
            0,
        ));
    }
    out
}

/// Whether the evidence looks below this kind: Deployment, StatefulSet, DaemonSet, Job.
pub fn is_workload(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet") | ("batch", "Job")
    )
}

/// A workload's pod selector (`spec.selector`) in label-selector syntax
/// (`app=redis,tier in (a,b)`); `None` when it has none or it cannot be written.
pub fn selector(workload: &Value) -> Option<String> {
    let sel = workload.pointer("/spec/selector")?;
    let mut terms = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            terms.push(format!("{k}={}", v.as_str()?));
        }
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = text(e, "/key");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            terms.push(match text(e, "/operator") {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.to_string(),
                "DoesNotExist" => format!("!{key}"),
                _ => return None,
            });
        }
    }
    if terms.is_empty() {
        return None;
    }
    let joined = terms.join(",");
    LabelSelector::parse(&joined).ok().map(|_| joined)
}

/// The pods of a workload among `pods`: same namespace, labels matching its selector.
pub fn pods_of<'a>(workload: &Value, pods: &'a [Value]) -> Vec<&'a Value> {
    let Some(sel) = selector(workload).and_then(|s| LabelSelector::parse(&s).ok()) else {
        return Vec::new();
    };
    let ns = text(workload, "/metadata/namespace");
    pods.iter()
        .filter(|p| text(p, "/metadata/namespace") == ns && sel.matches(p))
        .collect()
}

/// A workload's state when kstatus does not find it Current: `Ready 0/1` (from the kstatus
/// message, `Ready: 0/1`), `ProgressDeadlineExceeded`, … `None` when it is Current.
pub fn workload(obj: &Value, now: Timestamp) -> Option<Finding> {
    let st = kstatus::compute(obj, now);
    if st.status == KStatus::Current {
        return None;
    }
    let level = if st.status == KStatus::Failed {
        Level::Error
    } else {
        Level::Warning
    };
    let (state, message) = if st.reason == "ProgressDeadlineExceeded" {
        let m = condition(obj, "Progressing")
            .map(|c| text(c, "/message").to_string())
            .unwrap_or(st.message.clone());
        (st.reason.clone(), m)
    } else if st.message.contains(": ") && st.message.len() < 40 {
        (st.message.replacen(": ", " ", 1), String::new())
    } else {
        (st.reason.clone(), st.message.clone())
    };
    Some(Finding::new(
        Subject::of(obj),
        state,
        message,
        level,
        Aspect::State,
        1,
    ))
}

fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    ["/status/initContainerStatuses", "/status/containerStatuses"]
        .into_iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
}

/// A pod that is not ready: the container's waiting or terminated reason and message
/// (`ImagePullBackOff`, `CrashLoopBackOff, exit code 1, 14 restarts`), or why it is not
/// scheduled (`Unschedulable: 0/3 nodes …`). `None` when it is ready or completed.
pub fn pod(pod: &Value) -> Option<Finding> {
    let phase = text(pod, "/status/phase");
    if phase == "Succeeded" {
        return None;
    }
    let ready = condition(pod, "Ready").is_some_and(|c| text(c, "/status") == "True");
    if ready && phase == "Running" {
        return None;
    }
    let subject = Subject::of(pod);
    for c in containers(pod) {
        let restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
        let last_exit = c
            .pointer("/lastState/terminated/exitCode")
            .and_then(Value::as_i64);
        if let Some(w) = c.pointer("/state/waiting") {
            let reason = text(w, "/reason");
            if reason.is_empty() || reason == "ContainerCreating" || reason == "PodInitializing" {
                continue;
            }
            let mut state = reason.to_string();
            if let Some(code) = last_exit {
                state.push_str(&format!(", exit code {code}"));
            }
            if restarts > 0 {
                state.push_str(&format!(", {restarts} restart{}", plural(restarts)));
            }
            return Some(Finding::new(
                subject,
                state,
                text(w, "/message"),
                Level::Error,
                Aspect::State,
                2,
            ));
        }
        if let Some(t) = c.pointer("/state/terminated") {
            let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
            if code == 0 {
                continue;
            }
            let reason = match text(t, "/reason") {
                "" => "Terminated",
                r => r,
            };
            let mut state = format!("{reason}, exit code {code}");
            if restarts > 0 {
                state.push_str(&format!(", {restarts} restart{}", plural(restarts)));
            }
            return Some(Finding::new(
                subject,
                state,
                text(t, "/message"),
                Level::Error,
                Aspect::State,
                2,
            ));
        }
    }
    if let Some(c) = condition(pod, "PodScheduled").filter(|c| text(c, "/status") == "False") {
        let reason = match text(c, "/reason") {
            "" => "NotScheduled",
            r => r,
        };
        return Some(Finding::new(
            subject,
            reason,
            text(c, "/message"),
            Level::Error,
            Aspect::State,
            2,
        ));
    }
    if phase == "Failed" {
        return Some(Finding::new(
            subject,
            match text(pod, "/status/reason") {
                "" => "Failed",
                r => r,
            },
            text(pod, "/status/message"),
            Level::Error,
            Aspect::State,
            2,
        ));
    }
    let (reason, message) = condition(pod, "Ready")
        .map(|c| (text(c, "/reason"), text(c, "/message")))
        .unwrap_or(("", ""));
    let state = match (phase, reason) {
        ("", "") => "NotReady".to_string(),
        (p, "") => p.to_string(),
        ("", r) => r.to_string(),
        (p, r) => format!("{p}, {r}"),
    };
    Some(Finding::new(
        subject,
        state,
        message,
        Level::Warning,
        Aspect::State,
        2,
    ))
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn event_time(e: &Value) -> &str {
    [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .map(|p| text(e, p))
    .find(|t| !t.is_empty())
    .unwrap_or("")
}

/// The newest Warning events about `subject` among `events` (core/v1 Events as JSON), newest
/// first, at most [`EVENTS_PER_OBJECT`], one per reason and message.
pub fn warnings(subject: &Subject, events: &[Value], depth: usize) -> Vec<Finding> {
    let mut about: Vec<&Value> = events
        .iter()
        .filter(|e| {
            text(e, "/type") == "Warning"
                && text(e, "/involvedObject/kind") == subject.kind
                && text(e, "/involvedObject/name") == subject.name
                && (subject.namespace.is_empty()
                    || text(e, "/involvedObject/namespace") == subject.namespace
                    || text(e, "/metadata/namespace") == subject.namespace)
        })
        .collect();
    // RFC 3339 timestamps in UTC sort as text.
    about.sort_by(|a, b| event_time(b).cmp(event_time(a)));
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for e in about {
        let key = (text(e, "/reason"), first_line(text(e, "/message")));
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let count = e.get("count").and_then(Value::as_i64).unwrap_or(1);
        let mut state = format!("Warning {}", key.0);
        if count > 1 {
            state.push_str(&format!(" (x{count})"));
        }
        out.push(Finding::new(
            subject.clone(),
            state,
            key.1,
            Level::Warning,
            Aspect::Event,
            depth,
        ));
        if out.len() == EVENTS_PER_OBJECT {
            break;
        }
    }
    out
}

/// The evidence below one managed object that is not ready: itself, its Warning events,
/// and (for a workload) its pods that are not ready, each followed by its events. Empty when
/// the object is ready.
pub fn managed(obj: &Value, pods: &[Value], events: &[Value], now: Timestamp) -> Vec<Finding> {
    let Some(f) = workload(obj, now) else {
        return Vec::new();
    };
    let subject = f.subject.clone();
    let mut out = vec![f];
    out.extend(warnings(&subject, events, 1));
    let mut bad: Vec<(Finding, &Value)> = pods_of(obj, pods)
        .into_iter()
        .filter_map(|p| pod(p).map(|f| (f, p)))
        .collect();
    bad.sort_by(|a, b| a.0.subject.name.cmp(&b.0.subject.name));
    for (f, _) in bad {
        let s = f.subject.clone();
        out.push(f);
        out.extend(warnings(&s, events, 2));
    }
    out
}

/// The evidence of a failing source: its reason and message, and whether the Secret its
/// `spec.secretRef` names exists (`secret`: `Some(exists)`, `None` when it names none;
/// never its content).
pub fn source(obj: &Value, secret: Option<bool>) -> Vec<Finding> {
    let mut out: Vec<Finding> = flux_status(obj).into_iter().collect();
    let name = text(obj, "/spec/secretRef/name");
    if !name.is_empty()
        && let Some(exists) = secret
    {
        let ns = text(obj, "/metadata/namespace");
        out.push(if exists {
            Finding::new(
                Subject::new("Secret", ns, name),
                "exists",
                "referenced by spec.secretRef (its content is not read)",
                Level::Info,
                Aspect::Secret,
                1,
            )
        } else {
            Finding::new(
                Subject::new("Secret", ns, name),
                "not found",
                "referenced by spec.secretRef",
                Level::Error,
                Aspect::Secret,
                1,
            )
        });
    }
    out
}

/// A finding saying what could not be read for lack of a permission.
pub fn missing_permission(subject: Subject, what: &str, depth: usize) -> Finding {
    Finding::new(
        subject,
        "not readable",
        what,
        Level::Warning,
        Aspect::Permission,
        depth,
    )
}

/// The object whose evidence explains `why`: its root cause when that is a failing Flux
/// object (not a cycle, which is explained by its loop), else the object itself when it
/// fails on its own. `None` when nothing fails.
pub fn target(why: &Why) -> Option<ObjectKey> {
    let failed = |h: Health| h == Health::Failed;
    match &why.root {
        Some(root)
            if why.cycle.is_none() && failed(root.health) && root.key.flux_kind().is_some() =>
        {
            Some(root.key.clone())
        }
        _ if why.cycle.is_none() && failed(why.health.health) => Some(why.key.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
