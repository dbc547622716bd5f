//! The `meta.k8s.io/v1` Table format `kubectl get` asks for: column definitions from the
//! type's printer columns, one row per object, cells from simple JSONPath expressions.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::request::IncludeObject;
use crate::sim::registry::{PrinterColumn, ResourceType};

/// Whether an `Accept` header asks for the Table format.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

/// The columns of a type: Name, then its printer columns (or Age when it has none).
pub fn columns(rt: &ResourceType) -> Vec<PrinterColumn> {
    if rt.group.is_empty() && rt.kind == "Event" {
        return event_columns();
    }
    let mut cols = vec![PrinterColumn {
        name: "Name".into(),
        type_: "string".into(),
        json_path: ".metadata.name".into(),
        priority: 0,
    }];
    if let Some(builtin) = builtin_columns(rt) {
        cols.extend(builtin);
    } else if rt.printer_columns.is_empty() {
        cols.push(PrinterColumn {
            name: "Age".into(),
            type_: "date".into(),
            json_path: ".metadata.creationTimestamp".into(),
            priority: 0,
        });
    } else {
        cols.extend(rt.printer_columns.iter().cloned());
    }
    cols
}

pub fn column_definitions(cols: &[PrinterColumn]) -> Value {
    Value::Array(
        cols.iter()
            .map(|c| {
                let format = if c.name == "Name" { "name" } else { "" };
                let type_ = if c.type_ == "date" {
                    "string"
                } else {
                    c.type_.as_str()
                };
                json!({"name": c.name, "type": type_, "format": format,
                       "description": "", "priority": c.priority})
            })
            .collect(),
    )
}

/// One row for an object.
pub fn row(
    cols: &[PrinterColumn],
    obj: &Value,
    include: IncludeObject,
    api_version: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Value {
    let cells: Vec<Value> = cols.iter().map(|c| cell(c, obj, now)).collect();
    let mut r = json!({ "cells": cells });
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            r["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
            });
        }
        IncludeObject::Object => {
            r["object"] = super::encode::served_value(obj, api_version, kind);
        }
    }
    r
}

/// The columns the API server prints for the built-in workload kinds and Pods. Paths
/// starting with `#` are computed by [`computed_cell`].
fn builtin_columns(rt: &ResourceType) -> Option<Vec<PrinterColumn>> {
    let c = |name: &str, type_: &str, path: &str, priority: i64| PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        json_path: path.into(),
        priority,
    };
    let age = c("Age", "date", ".metadata.creationTimestamp", 0);
    Some(match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Pod") => vec![
            c("Ready", "string", "#pod-ready", 0),
            c("Status", "string", "#pod-status", 0),
            c("Restarts", "string", "#pod-restarts", 0),
            age,
            c("IP", "string", ".status.podIP", 1),
            c("Node", "string", ".spec.nodeName", 1),
        ],
        ("apps", "Deployment") => vec![
            c("Ready", "string", "#replicas-ready", 0),
            c("Up-to-date", "integer", ".status.updatedReplicas", 0),
            c("Available", "integer", ".status.availableReplicas", 0),
            age,
        ],
        ("apps", "StatefulSet") => vec![c("Ready", "string", "#replicas-ready", 0), age],
        ("apps", "ReplicaSet") => vec![
            c("Desired", "integer", ".spec.replicas", 0),
            c("Current", "integer", ".status.replicas", 0),
            c("Ready", "integer", ".status.readyReplicas", 0),
            age,
        ],
        ("apps", "DaemonSet") => vec![
            c("Desired", "integer", ".status.desiredNumberScheduled", 0),
            c("Current", "integer", ".status.currentNumberScheduled", 0),
            c("Ready", "integer", ".status.numberReady", 0),
            c("Up-to-date", "integer", ".status.updatedNumberScheduled", 0),
            c("Available", "integer", ".status.numberAvailable", 0),
            age,
        ],
        _ => return None,
    })
}

/// The columns of `kubectl get events`: the name only in the wide output.
fn event_columns() -> Vec<PrinterColumn> {
    let c = |name: &str, type_: &str, path: &str, priority: i64| PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        json_path: path.into(),
        priority,
    };
    vec![
        c("Last Seen", "date", ".lastTimestamp", 0),
        c("Type", "string", ".type", 0),
        c("Reason", "string", ".reason", 0),
        c("Object", "string", "#event-object", 0),
        c("Subobject", "string", ".involvedObject.fieldPath", 1),
        c("Source", "string", "#event-source", 1),
        c("Message", "string", ".message", 0),
        c("First Seen", "date", ".firstTimestamp", 1),
        c("Count", "integer", ".count", 1),
        c("Name", "string", ".metadata.name", 1),
    ]
}

/// A computed cell: a pod's `READY`, `STATUS` and `RESTARTS`, a workload's `READY`.
fn computed_cell(path: &str, obj: &Value, now: DateTime<Utc>) -> Value {
    let int = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let statuses: &[Value] = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    match path {
        "#replicas-ready" => json!(format!(
            "{}/{}",
            int("/status/readyReplicas"),
            obj.pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1)
        )),
        "#pod-ready" => {
            let total = obj
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            json!(format!("{ready}/{total}"))
        }
        "#pod-restarts" => {
            let restarts: i64 = statuses
                .iter()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                .sum();
            let last = statuses
                .iter()
                .filter_map(|c| c.pointer("/lastState/terminated/finishedAt")?.as_str())
                .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
                .max();
            match last {
                Some(t) if restarts > 0 => json!(format!(
                    "{restarts} ({} ago)",
                    human_duration(now - t.with_timezone(&Utc))
                )),
                _ => json!(restarts.to_string()),
            }
        }
        "#pod-status" => json!(pod_status(obj)),
        "#event-object" => {
            let kind = obj
                .pointer("/involvedObject/kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase();
            let name = obj
                .pointer("/involvedObject/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!(format!("{kind}/{name}"))
        }
        "#event-source" => {
            let src = |f: &str| {
                obj.pointer(&format!("/source/{f}"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let component = src("component");
            let host = src("host");
            json!(if host.is_empty() {
                component.to_string()
            } else {
                format!("{component}, {host}")
            })
        }
        _ => Value::Null,
    }
}

/// A pod's `STATUS` as `kubectl get pods` shows it: the phase, or the reason a container
/// waits or terminated, or `Terminating`.
pub fn pod_status(obj: &Value) -> String {
    let mut reason = obj
        .pointer("/status/reason")
        .or_else(|| obj.pointer("/status/phase"))
        .and_then(Value::as_str)
        .unwrap_or("Pending")
        .to_string();
    let statuses: &[Value] = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut has_running = false;
    for c in statuses.iter().rev() {
        if let Some(r) = c.pointer("/state/waiting/reason").and_then(Value::as_str) {
            reason = r.to_string();
        } else if let Some(t) = c.pointer("/state/terminated") {
            reason = match t["reason"].as_str() {
                Some(r) if !r.is_empty() => r.to_string(),
                _ => format!("ExitCode:{}", t["exitCode"].as_i64().unwrap_or(0)),
            };
        } else if c["ready"] == true && c.pointer("/state/running").is_some() {
            has_running = true;
        }
    }
    if reason == "Completed" && has_running {
        reason = "Running".into();
    }
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".into();
    }
    reason
}

fn cell(col: &PrinterColumn, obj: &Value, now: DateTime<Utc>) -> Value {
    if col.json_path.starts_with('#') {
        return computed_cell(&col.json_path, obj, now);
    }
    let Some(v) = eval_jsonpath(obj, &col.json_path).into_iter().next() else {
        return Value::Null;
    };
    match col.type_.as_str() {
        "date" => match v
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        {
            Some(t) => json!(human_duration(now - t.with_timezone(&Utc))),
            None => Value::Null,
        },
        "integer" => v.as_i64().map_or(Value::Null, |n| json!(n)),
        "number" => v.as_f64().map_or(Value::Null, |n| json!(n)),
        "boolean" => v.as_bool().map_or(Value::Null, |b| json!(b)),
        _ => match v {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
    }
}

/// A full Table body.
pub fn table(
    rt: &ResourceType,
    objs: &[&Value],
    include: IncludeObject,
    api_version: &str,
    resource_version: &str,
    continue_token: Option<&str>,
) -> Value {
    let cols = columns(rt);
    let now = Utc::now();
    let rows: Vec<Value> = objs
        .iter()
        .map(|o| row(&cols, o, include, api_version, &rt.kind, now))
        .collect();
    let mut meta = json!({ "resourceVersion": resource_version });
    if let Some(c) = continue_token {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": column_definitions(&cols),
        "rows": rows,
    })
}

/// Age like `kubectl` prints it (`45s`, `5m`, `3h20m`, `2d`).
pub fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds();
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter {
        path: Vec<String>,
        eq: bool,
        value: String,
    },
}

fn parse_jsonpath(p: &str) -> Option<Vec<Step>> {
    let p = p.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(p);
    let p = p.strip_prefix('$').unwrap_or(p);
    let mut steps = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Field(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = find_bracket_end(r)?;
            let inner = r[..end].trim();
            rest = &r[end + 1..];
            if inner == "*" {
                steps.push(Step::All);
            } else if let Ok(i) = inner.parse::<usize>() {
                steps.push(Step::Index(i));
            } else if let Some(f) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
                let (lhs, eq, rhs) = if let Some((l, r)) = f.split_once("==") {
                    (l, true, r)
                } else {
                    let (l, r) = f.split_once("!=")?;
                    (l, false, r)
                };
                let path = lhs
                    .trim()
                    .strip_prefix("@.")?
                    .split('.')
                    .map(String::from)
                    .collect();
                let value = rhs
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string();
                steps.push(Step::Filter { path, eq, value });
            } else {
                let key = inner.trim_matches(|c| c == '"' || c == '\'');
                steps.push(Step::Field(key.to_string()));
            }
        } else {
            return None;
        }
    }
    Some(steps)
}

fn find_bracket_end(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ']') if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Evaluate a simple JSONPath (`.a.b`, `[0]`, `[*]`, `[?(@.type=="Ready")]`) against a value.
pub fn eval_jsonpath<'a>(obj: &'a Value, path: &str) -> Vec<&'a Value> {
    let Some(steps) = parse_jsonpath(path) else {
        return Vec::new();
    };
    let mut cur = vec![obj];
    for step in &steps {
        let mut next = Vec::new();
        for v in cur {
            match step {
                Step::Field(f) => next.extend(v.get(f.as_str())),
                Step::Index(i) => next.extend(v.get(*i)),
                Step::All => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Step::Filter { path, eq, value } => {
                    if let Value::Array(a) = v {
                        next.extend(a.iter().filter(|item| {
                            let mut x = Some(*item);
                            for p in path {
                                x = x.and_then(|x| x.get(p.as_str()));
                            }
                            let got = match x {
                                Some(Value::String(s)) => Some(s.clone()),
                                Some(other) => Some(other.to_string()),
                                None => None,
                            };
                            (got.as_deref() == Some(value.as_str())) == *eq
                        }));
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn jsonpath_subset() {
        let o = json!({"status": {"conditions": [
            {"type": "Reconciling", "status": "False"},
            {"type": "Ready", "status": "True", "message": "ok"}]},
            "spec": {"url": "https://x", "list": [1, 2]}});
        let ready = ".status.conditions[?(@.type==\"Ready\")].status";
        assert_eq!(eval_jsonpath(&o, ready), vec![&json!("True")]);
        assert_eq!(eval_jsonpath(&o, ".spec.url"), vec![&json!("https://x")]);
        assert_eq!(eval_jsonpath(&o, ".spec.list[1]"), vec![&json!(2)]);
        assert_eq!(eval_jsonpath(&o, "{.spec.list[*]}").len(), 2);
        assert!(eval_jsonpath(&o, ".spec.missing").is_empty());
        assert!(eval_jsonpath(&o, "garbage[").is_empty());
    }

    #[test]
    fn ages() {
        let d = chrono::Duration::seconds;
        assert_eq!(human_duration(d(5)), "5s");
        assert_eq!(human_duration(d(119)), "119s");
        assert_eq!(human_duration(d(300)), "5m");
        assert_eq!(human_duration(d(330)), "5m30s");
        assert_eq!(human_duration(d(3600 * 3 + 1200)), "3h20m");
        assert_eq!(human_duration(d(3600 * 30)), "30h");
        assert_eq!(human_duration(d(86400 * 3)), "3d");
        assert_eq!(human_duration(d(86400 * 30)), "30d");
    }

    #[test]
    fn table_accept() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }

    proptest! {
        #[test]
        fn jsonpath_never_panics(p in "\\PC{0,40}") {
            let _ = eval_jsonpath(&json!({"a": [{"b": 1}]}), &p);
        }
    }
}
