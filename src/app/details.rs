//! The content of the details pane: state, the latest action of this session, whether a
//! HelmRelease's values are pending, conditions, key
//! spec fields, history, inventory and events of a Flux object; kstatus and key fields of a
//! managed object. Built in `update` (as theme-neutral lines) whenever the object, its events,
//! its action or the clock change.

use serde_json::Value;

use crate::domain::flux::{
    Condition, FluxObject, HelmRelease, Kustomization, ObjectKey, release_name, storage_namespace,
};
use crate::domain::health::{Health, HealthInfo, reasons};
use crate::domain::kstatus;
use crate::domain::tree::{Node, Relation, Snapshot};

use super::format::age;
use super::state::{ActionStatus, AppState, DetailsPane, EventsState};
use super::text::{Seg, TextLine, Tone};

/// Width of the label column of key/value lines.
const LABEL: usize = 20;

/// The resourceVersion of an object in the snapshot.
pub fn resource_version(snap: &Snapshot, key: &ObjectKey) -> Option<String> {
    if let Some(obj) = snap.flux.get(key) {
        return obj.metadata().resource_version.clone();
    }
    snap.managed
        .get(key)
        .and_then(|v| v.pointer("/metadata/resourceVersion"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

struct Out {
    lines: Vec<TextLine>,
    now: i64,
    ascii: bool,
}

impl Out {
    fn section(&mut self, title: &str) {
        if !self.lines.is_empty() {
            self.lines.push(TextLine::blank());
        }
        self.lines.push(TextLine::plain(title, Tone::Title));
    }

    fn kv(&mut self, label: &str, value: impl Into<String>) {
        self.kv_tone(label, value, Tone::Text);
    }

    fn kv_tone(&mut self, label: &str, value: impl Into<String>, tone: Tone) {
        let value = value.into();
        if value.is_empty() {
            return;
        }
        self.lines.push(
            TextLine::new(vec![
                Seg::new(format!("  {label:<w$}", w = LABEL - 2), Tone::Dim),
                Seg::new(value, tone),
            ])
            .indent(LABEL),
        );
    }

    /// A multi-line message, each line wrapped with an indent.
    fn message(&mut self, text: &str, indent: usize, tone: Tone) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            self.lines.push(
                TextLine::new(vec![Seg::new(
                    format!("{}{}", " ".repeat(indent), line.trim_end()),
                    tone,
                )])
                .indent(indent),
            );
        }
    }

    fn ago(&self, t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
        t.map(|t| format!("{} ago", age(self.now - t.0.as_second())))
            .unwrap_or_default()
    }
}

/// The lines of the details pane.
pub fn build(state: &AppState, pane: &DetailsPane) -> Vec<TextLine> {
    let mut out = Out {
        lines: Vec::new(),
        now: state.now.as_second(),
        ascii: state.ascii,
    };
    let Some(node) = state.tree.find(&pane.path) else {
        out.lines.push(TextLine::plain(
            "This object is no longer in the tree.",
            Tone::Warning,
        ));
        return out.lines;
    };
    title(&mut out, node, state.ascii);
    let Some(key) = &node.key else {
        out.message(node.message(), 2, Tone::Text);
        return out.lines;
    };
    if let Some(banner) = state.rollback_banner(key) {
        out.section("Rolled back");
        out.message(&banner, 2, Tone::Warning);
    }
    if let Some(status) = state.actions.get(key) {
        action(&mut out, status);
    }
    if let Some(revision) = state.values_pending.get(key) {
        out.section("Values");
        out.message(
            &format!(
                "values pending: desired values differ from deployed rev {revision} (press v)"
            ),
            2,
            Tone::Info,
        );
    }
    let snap = state.snapshot.as_deref();
    if node.cycle {
        out.message(
            "Inventory cycle: this Kustomization is already an ancestor in the tree, so its \
             children are not repeated here.",
            2,
            Tone::State(Health::Cycle),
        );
    }
    match (
        snap.and_then(|s| s.flux.get(key)),
        snap.and_then(|s| s.managed.get(key)),
    ) {
        (Some(obj), _) => flux(&mut out, obj),
        (None, Some(value)) => managed(&mut out, value, state.now),
        (None, None) => absent(&mut out, &node.health),
    }
    events(&mut out, &pane.events);
    out.lines
        .extend(super::evidence::lines(&pane.evidence, state.ascii));
    out.lines
}

fn title(out: &mut Out, node: &Node, ascii: bool) {
    let h = node.health.health;
    let glyph = if ascii { h.ascii_glyph() } else { h.glyph() };
    let word = if node.health.is_not_watched() {
        "Not watched"
    } else if node.health.is_not_loaded() {
        "Not loaded"
    } else {
        node.health.word()
    };
    let mut segs = vec![Seg::new(format!("{glyph} {word}"), Tone::State(h))];
    segs.push(Seg::new("  ", Tone::Text));
    if node.relation == Relation::Source {
        segs.push(Seg::new("source ", Tone::Dim));
    }
    segs.push(Seg::new(node.label(), Tone::Title));
    out.lines.push(TextLine::new(segs).indent(2));
    if node.is_object() {
        let since = out.ago(node.health.since.as_ref());
        let reason = if since.is_empty() {
            node.health.reason.to_string()
        } else {
            format!("{}  (since {since})", node.health.reason)
        };
        out.kv("reason", reason);
        if !node.health.message.is_empty() {
            out.lines
                .push(TextLine::plain("  message", Tone::Dim).indent(LABEL));
            let tone = if h.is_problem() {
                Tone::State(h)
            } else {
                Tone::Text
            };
            out.message(&node.health.message, 4, tone);
        }
    }
    if !node.summary().describe().is_empty() {
        out.kv_tone("below", node.summary().describe(), Tone::Warning);
    }
}

/// The latest action on the object in this session: what it is doing, or how it ended.
fn action(out: &mut Out, status: &ActionStatus) {
    out.section("Action");
    let tone = if status.failed() {
        Tone::Error
    } else {
        Tone::Info
    };
    out.message(&status.line(), 2, tone);
    let started = format!("{} ago", age(out.now - status.started.as_second()));
    out.kv("started", started);
    if let Some(at) = status.finished {
        out.kv("ended", format!("{} ago", age(out.now - at.as_second())));
    }
}

fn absent(out: &mut Out, health: &HealthInfo) {
    out.section("Object");
    let text = if health.is_not_watched() {
        "Not watched: fluxdeck does not watch Secrets, so their content stays on the server. \
         `y` reads this one, with its values hidden."
    } else if health.is_not_loaded() {
        "Not loaded: this kind is not watched in this namespace yet (it is watched once the \
         tree around it is on screen)."
    } else if health.reason == reasons::NOT_FOUND {
        "Not found: listed in an inventory or manifest, but not in the cluster."
    } else {
        "No data for this object."
    };
    out.message(text, 2, Tone::Dim);
}

fn conditions(out: &mut Out, conditions: &[Condition]) {
    out.section("Conditions");
    if conditions.is_empty() {
        out.message("none reported yet", 2, Tone::Dim);
    }
    for c in conditions {
        let tone = match (c.type_.as_str(), c.status.as_str()) {
            ("Ready", "True") => Tone::State(Health::Ready),
            ("Ready", "False") | ("Stalled", "True") => Tone::State(Health::Failed),
            (_, "Unknown") => Tone::State(Health::Reconciling),
            _ => Tone::Text,
        };
        let mut segs = vec![
            Seg::new(format!("  {:<14} ", c.type_), Tone::Text),
            Seg::new(format!("{:<8}", c.status), tone),
            Seg::new(format!("{} ", c.reason), Tone::Text),
        ];
        let ago = out.ago(c.last_transition_time.as_ref());
        if !ago.is_empty() {
            segs.push(Seg::new(ago, Tone::Dim));
        }
        out.lines.push(TextLine::new(segs).indent(4));
        out.message(&c.message, 4, Tone::Text);
    }
}

/// `branch main, commit abc` from the fields that are set.
fn named_values(fields: &[(&str, &Option<String>)]) -> String {
    fields
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn flux(out: &mut Out, obj: &FluxObject) {
    out.section("Spec");
    match obj {
        FluxObject::Kustomization(ks) => kustomization_spec(out, obj, ks),
        FluxObject::HelmRelease(hr) => helm_release_spec(out, obj, hr),
        FluxObject::GitRepository(o) => {
            out.kv("url", &o.spec.url);
            if let Some(r) = &o.spec.reference {
                out.kv(
                    "ref",
                    named_values(&[
                        ("branch", &r.branch),
                        ("tag", &r.tag),
                        ("semver", &r.semver),
                        ("name", &r.name),
                        ("commit", &r.commit),
                    ]),
                );
            }
            out.kv("interval", &o.spec.interval);
        }
        FluxObject::OCIRepository(o) => {
            out.kv("url", &o.spec.url);
            if let Some(r) = &o.spec.reference {
                out.kv(
                    "ref",
                    named_values(&[
                        ("tag", &r.tag),
                        ("semver", &r.semver),
                        ("digest", &r.digest),
                    ]),
                );
            }
            out.kv("interval", &o.spec.interval);
        }
        FluxObject::HelmRepository(o) => {
            out.kv("url", &o.spec.url);
            out.kv(
                "type",
                o.spec.type_.clone().unwrap_or_else(|| "default".into()),
            );
            out.kv("interval", o.spec.interval.clone().unwrap_or_default());
        }
        FluxObject::HelmChart(o) => {
            out.kv("chart", &o.spec.chart);
            out.kv(
                "version",
                o.spec.version.clone().unwrap_or_else(|| "*".into()),
            );
            out.kv(
                "source",
                format!("{}/{}", o.spec.source_ref.kind, o.spec.source_ref.name),
            );
            out.kv("interval", &o.spec.interval);
        }
        FluxObject::Bucket(o) => {
            out.kv("endpoint", &o.spec.endpoint);
            out.kv("bucket", &o.spec.bucket_name);
            out.kv("interval", &o.spec.interval);
        }
    }
    out.kv("suspend", obj.suspended().to_string());
    let deps: Vec<String> = obj
        .dependency_keys()
        .iter()
        .map(|k| k.to_string())
        .collect();
    out.kv("dependsOn", deps.join(", "));

    out.section("Status");
    out.kv("revision", obj.revision().unwrap_or(""));
    out.kv(
        "generation",
        format!(
            "{} (observed {})",
            obj.generation(),
            match obj.observed_generation() {
                -1 => "never".to_string(),
                g => g.to_string(),
            }
        ),
    );
    if let Some(inv) = obj.inventory() {
        out.kv("inventory", format!("{} objects", inv.entries.len()));
    }
    match obj {
        FluxObject::HelmRelease(hr) => helm_release_status(out, hr),
        FluxObject::Kustomization(ks) => kustomization_status(out, ks),
        _ => {}
    }
    conditions(out, obj.conditions());
    match obj {
        FluxObject::HelmRelease(hr) => helm_history(out, hr),
        FluxObject::Kustomization(ks) => kustomization_history(out, ks),
        _ => {}
    }
}

fn kustomization_spec(out: &mut Out, obj: &FluxObject, ks: &Kustomization) {
    let source = obj
        .source_refs()
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    out.kv("source", source);
    out.kv("path", ks.spec.path.clone().unwrap_or_else(|| "./".into()));
    out.kv("interval", &ks.spec.interval);
    out.kv("prune", ks.spec.prune.to_string());
    out.kv(
        "targetNamespace",
        ks.spec.target_namespace.clone().unwrap_or_default(),
    );
    if ks.spec.kube_config.is_some() {
        out.kv("kubeConfig", "set: applies to a remote cluster");
    }
}

fn helm_release_spec(out: &mut Out, obj: &FluxObject, hr: &HelmRelease) {
    if let Some(chart) = &hr.spec.chart {
        let version = chart.spec.version.as_deref().unwrap_or("*");
        out.kv("chart", format!("{} (version {version})", chart.spec.chart));
        let r = &chart.spec.source_ref;
        let ns = r.namespace.as_deref().unwrap_or(obj.namespace());
        out.kv("chart source", format!("{}/{ns}/{}", r.kind, r.name));
    }
    if let Some(r) = &hr.spec.chart_ref {
        let ns = r.namespace.as_deref().unwrap_or(obj.namespace());
        out.kv("chartRef", format!("{}/{ns}/{}", r.kind, r.name));
    }
    out.kv("interval", &hr.spec.interval);
    out.kv(
        "targetNamespace",
        hr.spec.target_namespace.clone().unwrap_or_default(),
    );
    out.kv("releaseName", release_name(hr));
    out.kv("storage namespace", storage_namespace(hr));
    let drift = hr
        .spec
        .drift_detection
        .as_ref()
        .and_then(|d| d.mode.clone())
        .unwrap_or_else(|| "disabled".into());
    out.kv("driftDetection", drift);
    for setting in hr.settings() {
        if setting.warn {
            out.kv_tone(setting.label, setting.value, Tone::Warning);
        } else {
            out.kv(setting.label, setting.value);
        }
    }
    if hr.spec.kube_config.is_some() {
        out.kv("kubeConfig", "set: applies to a remote cluster");
    }
}

fn helm_release_status(out: &mut Out, hr: &HelmRelease) {
    let Some(s) = &hr.status else { return };
    out.kv(
        "last attempted",
        s.last_attempted_revision.clone().unwrap_or_default(),
    );
    if let Some(action) = &s.last_attempted_release_action {
        out.kv("last action", action);
    }
    out.kv("helmChart", s.helm_chart.clone().unwrap_or_default());
}

fn kustomization_status(out: &mut Out, ks: &Kustomization) {
    let Some(s) = &ks.status else { return };
    if s.last_attempted_revision != s.last_applied_revision {
        out.kv(
            "last attempted",
            s.last_attempted_revision.clone().unwrap_or_default(),
        );
    }
}

fn helm_history(out: &mut Out, hr: &HelmRelease) {
    let Some(s) = &hr.status else { return };
    out.section("History");
    if s.history.is_empty() {
        out.message("no releases recorded", 2, Tone::Dim);
    }
    for snap in &s.history {
        let tone = match snap.status.as_str() {
            "deployed" => Tone::State(Health::Ready),
            "failed" => Tone::State(Health::Failed),
            "superseded" => Tone::Dim,
            _ => Tone::Text,
        };
        let action = snap.action.clone().unwrap_or_default();
        let mut segs = vec![
            Seg::new(format!("  v{:<4}", snap.version), Tone::Text),
            Seg::new(format!("{:<11}", snap.status), tone),
            Seg::new(
                format!("{}@{} ", snap.chart_name, snap.chart_version),
                Tone::Text,
            ),
        ];
        if !action.is_empty() {
            segs.push(Seg::new(format!("{action} "), Tone::Text));
        }
        segs.push(Seg::new(out.ago(snap.last_deployed.as_ref()), Tone::Dim));
        out.lines.push(TextLine::new(segs).indent(8));
    }
}

fn kustomization_history(out: &mut Out, ks: &Kustomization) {
    let Some(s) = &ks.status else { return };
    if s.history.is_empty() {
        return;
    }
    out.section("History");
    for h in &s.history {
        let tone = if h.last_reconciled_status.ends_with("Succeeded") {
            Tone::State(Health::Ready)
        } else {
            Tone::State(Health::Failed)
        };
        let revision = h.metadata.get("revision").cloned().unwrap_or_default();
        let segs = vec![
            Seg::new(format!("  {revision} "), Tone::Text),
            Seg::new(format!("{} ", h.last_reconciled_status), tone),
            Seg::new(format!("×{} ", h.total_reconciliations), Tone::Text),
            Seg::new(out.ago(h.last_reconciled.as_ref()), Tone::Dim),
        ];
        out.lines.push(TextLine::new(segs).indent(4));
    }
}

fn int_at(v: &Value, path: &str) -> Option<i64> {
    v.pointer(path).and_then(Value::as_i64)
}

/// The lines of a managed object alone (for tests of what its stored form keeps).
#[cfg(test)]
pub(crate) fn managed_lines(value: &Value, now: k8s_openapi::jiff::Timestamp) -> Vec<TextLine> {
    let mut out = Out {
        lines: Vec::new(),
        now: now.as_second(),
        ascii: false,
    };
    managed(&mut out, value, now);
    out.lines
}

fn managed(out: &mut Out, value: &Value, now: k8s_openapi::jiff::Timestamp) {
    let result = kstatus::compute(value, now);
    out.section("kstatus");
    out.kv("status", format!("{:?}", result.status));
    out.kv("reason", &result.reason);
    out.message(&result.message, 4, Tone::Text);

    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    out.section("Object");
    match kind {
        "Deployment" | "StatefulSet" | "ReplicaSet" => {
            let want = int_at(value, "/spec/replicas").unwrap_or(1);
            let field = |f: &str| int_at(value, &format!("/status/{f}")).unwrap_or(0);
            out.kv(
                "replicas",
                format!(
                    "{want} desired, {} ready, {} updated, {} available",
                    field("readyReplicas"),
                    field("updatedReplicas"),
                    field("availableReplicas")
                ),
            );
        }
        "DaemonSet" => {
            let field = |f: &str| int_at(value, &format!("/status/{f}")).unwrap_or(0);
            out.kv(
                "pods",
                format!(
                    "{} desired, {} ready, {} updated, {} available",
                    field("desiredNumberScheduled"),
                    field("numberReady"),
                    field("updatedNumberScheduled"),
                    field("numberAvailable")
                ),
            );
        }
        _ => {}
    }
    let containers = value
        .pointer("/spec/template/spec/containers")
        .or_else(|| value.pointer("/spec/jobTemplate/spec/template/spec/containers"))
        .or_else(|| value.pointer("/spec/containers"))
        .and_then(Value::as_array);
    for c in containers.into_iter().flatten() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        out.kv("image", format!("{image} ({name})"));
    }
    if let Some(generation) = int_at(value, "/metadata/generation") {
        let observed = int_at(value, "/status/observedGeneration")
            .map_or_else(|| "never".to_string(), |g| g.to_string());
        out.kv("generation", format!("{generation} (observed {observed})"));
    }
    let conds: Vec<Condition> = value
        .pointer("/status/conditions")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    if !conds.is_empty() {
        conditions(out, &conds);
    }
}

fn events(out: &mut Out, events: &EventsState) {
    if *events == EventsState::None {
        return;
    }
    out.section("Events");
    match events {
        EventsState::None => {}
        EventsState::Loading => {
            let text = if out.ascii {
                "loading..."
            } else {
                "loading…"
            };
            out.message(text, 2, Tone::Dim);
        }
        EventsState::Failed(e) => out.message(&format!("cannot load events: {e}"), 2, Tone::Error),
        EventsState::Loaded(rows) if rows.is_empty() => {
            out.message("no recent events", 2, Tone::Dim)
        }
        EventsState::Loaded(rows) => {
            for e in rows {
                let tone = if e.type_ == "Warning" {
                    Tone::Warning
                } else {
                    Tone::Text
                };
                let mut segs = vec![
                    Seg::new(format!("  {:<8}", e.type_), tone),
                    Seg::new(format!("{} ", e.reason), Tone::Text),
                ];
                if e.count > 1 {
                    segs.push(Seg::new(format!("×{} ", e.count), Tone::Text));
                }
                segs.push(Seg::new(
                    out.ago(e.last_seen.map(k8s_time).as_ref()),
                    Tone::Dim,
                ));
                if !e.source.is_empty() {
                    segs.push(Seg::new(format!(" ({})", e.source), Tone::Dim));
                }
                out.lines.push(TextLine::new(segs).indent(4));
                out.message(&e.message, 4, Tone::Text);
            }
        }
    }
}

fn k8s_time(
    t: k8s_openapi::jiff::Timestamp,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t)
}
