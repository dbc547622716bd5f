//! Non-interactive reports: `fluxdeck tree` (text like `flux tree ks`, with health; or
//! JSON), `fluxdeck status` (the Flux objects that are not ready, and an exit code) and
//! `fluxdeck why` (the path to an object's root cause, [`why_text`]).

mod why;

pub use why::{parse_why_target, why_exit_code, why_json, why_text};

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::deps::{Analysis, RootCause, analyze, verdict_of};
use crate::domain::flux::ObjectKey;
use crate::domain::health::{Health, HealthInfo, flux_health};
use crate::domain::text::sanitize_line;
use crate::domain::tree::{Node, Relation, Snapshot, Tree};

/// Output options for text reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// ASCII glyphs and tree lines instead of Unicode.
    pub ascii: bool,
}

/// Shorten the digests in a revision for display: `main@sha1:132f4e71…` keeps the ref and
/// the first 12 hex digits (no ellipsis in ASCII mode).
pub fn short_revision(revision: &str, ascii: bool) -> String {
    const KEEP: usize = 12;
    let Some(colon) = revision.rfind(':') else {
        return revision.to_string();
    };
    let digest = &revision[colon + 1..];
    if digest.len() <= KEEP || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return revision.to_string();
    }
    let ellipsis = if ascii { "" } else { "…" };
    format!("{}{}{ellipsis}", &revision[..colon + 1], &digest[..KEEP])
}

/// Text from the cluster for one line of output: sanitised (no controls, escape sequences or
/// bidi controls; line breaks become spaces), and for ASCII output the product's own
/// punctuation spelled in ASCII, anything else outside ASCII shown as `?`.
pub(crate) fn ascii_text(text: &str, ascii: bool) -> String {
    let text = sanitize_line(text);
    if !ascii {
        return text.into_owned();
    }
    let spelled = text
        .replace('—', "-")
        .replace('→', "->")
        .replace('…', "...");
    spelled
        .chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

fn glyph(h: Health, ascii: bool) -> &'static str {
    if ascii { h.ascii_glyph() } else { h.glyph() }
}

/// One line of the tree text without the tree-line prefix.
fn node_line(node: &Node, opts: TextOptions) -> String {
    let mut line = String::new();
    if node.relation == Relation::Source {
        line.push_str("source ");
    }
    line.push_str(&node.label());
    if !node.is_object() {
        line.push_str(&format!(" ({})", node.children.len()));
    }
    let h = node.health.health;
    line.push_str(&format!(" {} {}", glyph(h, opts.ascii), node.health.word()));
    if let Some(rev) = &node.revision {
        line.push(' ');
        line.push_str(&short_revision(rev, opts.ascii));
    }
    if node.cycle {
        line.push_str(" (cycle: already shown above)");
    }
    if node.is_object() && h != Health::Ready {
        let detail = detail(&node.health);
        if !detail.is_empty() {
            line.push_str(" - ");
            line.push_str(&ascii_text(&detail, opts.ascii));
        }
    }
    // Names and revisions come from the cluster too.
    sanitize_line(&line).into_owned()
}

/// `Reason: first message line`, or whichever of the two is present.
fn detail(info: &HealthInfo) -> String {
    match (info.reason.is_empty(), info.first_line().is_empty()) {
        (false, false) => format!("{}: {}", info.reason, info.first_line()),
        (false, true) => info.reason.to_string(),
        (true, false) => info.first_line().to_string(),
        (true, true) => String::new(),
    }
}

/// The tree as text, every node expanded, drawn like `flux tree ks`.
pub fn tree_text(tree: &Tree, opts: TextOptions) -> String {
    let mut out = String::new();
    for row in tree.all_rows() {
        out.push_str(&row.prefix(opts.ascii));
        out.push_str(&node_line(row.node, opts));
        out.push('\n');
    }
    out
}

fn node_json(node: &Node) -> Value {
    let children: Vec<Value> = node.children.iter().map(node_json).collect();
    let resource = node.key.as_ref().map(|k| {
        json!({
            "Namespace": k.namespace,
            "Name": k.name,
            "GroupKind": {"Group": k.group(), "Kind": k.kind_name()},
        })
    });
    json!({
        "id": node.id(),
        "resource": resource,
        "title": if node.is_object() { Value::Null } else { Value::String(node.kind_label().to_string()) },
        "relation": node.relation,
        "health": {
            "state": node.health.health,
            "reason": node.health.reason,
            "message": node.health.message,
            "since": node.health.since,
        },
        "revision": node.revision,
        "cycle": node.cycle,
        "summary": node.summary().describe(),
        "resources": children,
    })
}

/// The tree as JSON: an array of root nodes, each
/// `{id, resource: {Namespace, Name, GroupKind: {Group, Kind}} | null, title, relation,
/// health: {state, reason, message, since}, revision, cycle, summary, resources: [...]}`.
pub fn tree_json(tree: &Tree) -> Value {
    Value::Array(tree.roots.iter().map(node_json).collect())
}

/// One Flux object that is not ready.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusEntry {
    pub key: ObjectKey,
    /// The state shown (the same as the tree's and `why`'s: [`verdict_of`]).
    pub health: HealthInfo,
    /// What holds it: the root cause of a blocked, waiting or cycle object.
    pub root_cause: Option<RootCause>,
    /// How many Kustomizations and HelmReleases wait on it (a root cause).
    pub blocks: usize,
}

/// The result of `fluxdeck status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusReport {
    /// Number of Flux objects looked at.
    pub total: usize,
    /// The ones that are not Ready: root causes that block others first (most blocked
    /// first), then the others, each by kind, namespace and name.
    pub entries: Vec<StatusEntry>,
}

/// Every Flux object whose state is not Ready (running the dependency analysis for it).
pub fn status_report(snap: &Snapshot) -> StatusReport {
    status_report_with(snap, &analyze(snap))
}

/// Every Flux object whose state is not Ready, from the analysis of the same snapshot.
pub fn status_report_with(snap: &Snapshot, analysis: &Analysis) -> StatusReport {
    let mut entries: Vec<StatusEntry> = snap
        .flux
        .values()
        .filter_map(|obj| {
            let key = obj.key();
            let (health, root_cause, blocks) = match verdict_of(analysis, &key) {
                Some(v) => (v.state, v.root_cause, v.blocks),
                None => (flux_health(obj), None, 0),
            };
            (health.health != Health::Ready).then_some(StatusEntry {
                key,
                health,
                root_cause,
                blocks,
            })
        })
        .collect();
    entries.sort_by(|a, b| {
        let rank = |e: &StatusEntry| (e.blocks == 0, std::cmp::Reverse(e.blocks));
        (rank(a), a.key.flux_kind(), &a.key.namespace, &a.key.name).cmp(&(
            rank(b),
            b.key.flux_kind(),
            &b.key.namespace,
            &b.key.name,
        ))
    });
    StatusReport {
        total: snap.flux.len(),
        entries,
    }
}

impl StatusReport {
    /// Whether any object is failing (Failed, which includes Stalled; Blocked; Cycle).
    /// Suspended, reconciling, pending or drifted objects alone are not failing.
    pub fn any_failing(&self) -> bool {
        self.entries.iter().any(|e| {
            matches!(
                e.health.health,
                Health::Failed | Health::Blocked | Health::Cycle
            )
        })
    }

    /// Process exit code: 0 when nothing is failing, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.any_failing())
    }

    /// Aligned text: `Kind/namespace/name  glyph State  Reason: message`.
    pub fn text(&self, opts: TextOptions) -> String {
        if self.entries.is_empty() {
            // Nothing found is not "all ready": a mistyped namespace must not read as green.
            if self.total == 0 {
                return "No Flux objects found.\n".to_string();
            }
            return format!("All {} Flux objects are ready.\n", self.total);
        }
        let labels: Vec<String> = self
            .entries
            .iter()
            .map(|e| sanitize_line(&e.key.to_string()).into_owned())
            .collect();
        let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let word_width = self
            .entries
            .iter()
            .map(|e| e.health.word().len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (entry, label) in self.entries.iter().zip(labels) {
            let h = entry.health.health;
            let blocks = if entry.blocks > 0 {
                format!(" [blocks {}]", entry.blocks)
            } else {
                String::new()
            };
            let line = format!(
                "{label:<width$}  {} {:<word_width$}  {}{blocks}",
                glyph(h, opts.ascii),
                entry.health.word(),
                ascii_text(&detail(&entry.health), opts.ascii)
            );
            out.push_str(sanitize_line(line.trim_end()).trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "{} of {} Flux objects not ready.\n",
            self.entries.len(),
            self.total
        ));
        out
    }

    /// JSON: `{total, failing, objects: [{kind, namespace, name, state, reason, message,
    /// since, rootCause: {kind, namespace, name, state, reason, message, cycle, text} | null,
    /// blocks}]}`.
    pub fn json(&self) -> Value {
        let objects: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                json!({
                    "kind": e.key.kind_name(),
                    "namespace": e.key.namespace,
                    "name": e.key.name,
                    "state": e.health.health,
                    "reason": e.health.reason,
                    "message": e.health.message,
                    "since": e.health.since,
                    "rootCause": e.root_cause.as_ref().map(|r| root_cause_json(r, &e.key)),
                    "blocks": e.blocks,
                })
            })
            .collect();
        json!({"total": self.total, "failing": self.any_failing(), "objects": objects})
    }
}

/// A root cause as JSON: `{kind, namespace, name, state, reason, message, cycle, text}`
/// (`cycle`: the loop's objects for a dependency cycle, else null; `text`: the one line
/// every report prints, as seen from `seen_from`).
pub fn root_cause_json(r: &RootCause, seen_from: &ObjectKey) -> Value {
    let key =
        |k: &ObjectKey| json!({"kind": k.kind_name(), "namespace": k.namespace, "name": k.name});
    json!({
        "kind": r.key.kind_name(),
        "namespace": r.key.namespace,
        "name": r.key.name,
        "state": r.health,
        "reason": r.reason,
        "message": r.message,
        "cycle": r.cycle.as_ref().map(|c| c.iter().map(key).collect::<Vec<_>>()),
        "text": r.describe(Some(seen_from)),
    })
}

#[cfg(test)]
mod tests;
