//! core/v1 Events for Flux objects, as the controllers' event recorders write them.
//! Repeats of the same (object, type, reason) are aggregated by `count`, and the total
//! number of events is bounded: the oldest are deleted first.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::clock;
use crate::sim::registry::ids;
use crate::sim::store::{ObjKey, Store, WriteOpts, WritePart};

pub const HELM: &str = "helm-controller";
pub const KUSTOMIZE: &str = "kustomize-controller";
pub const SOURCE: &str = "source-controller";

/// Normal or Warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Normal,
    Warning,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Normal => "Normal",
            Kind::Warning => "Warning",
        }
    }
}

/// (involved uid, type, reason and, for kubelet and scheduler events, the message).
type AggKey = (String, Kind, String);

/// Who records an event: the component, its host (the kubelet's node) and the part of the
/// object it concerns (`spec.containers{app}`).
struct Origin<'a> {
    component: &'a str,
    host: Option<&'a str>,
    field_path: Option<&'a str>,
}

/// Writes and aggregates events.
pub struct Recorder {
    by_key: HashMap<AggKey, ObjKey>,
    order: VecDeque<AggKey>,
    cap: usize,
}

impl Recorder {
    pub fn new(cap: usize) -> Self {
        Self {
            by_key: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Record an event about `involved` (a Flux object).
    #[allow(clippy::too_many_arguments)]
    pub fn emit(
        &mut self,
        store: &Store,
        involved: &Value,
        kind: Kind,
        reason: &str,
        message: &str,
        component: &str,
        annotations: Map<String, Value>,
    ) {
        let uid = super::conditions::s(involved, "/metadata/uid").to_string();
        let key = (uid, kind, reason.to_string());
        self.record(
            store,
            involved,
            key,
            kind,
            reason,
            message,
            Origin {
                component,
                host: None,
                field_path: None,
            },
            annotations,
        );
    }

    /// Record an event about a Pod from the kubelet or the scheduler: repeats of the same
    /// reason and message are aggregated by `count`, different messages are separate events.
    pub fn emit_pod(&mut self, store: &Store, pod: &Value, ev: &super::pods::PodEvent, host: &str) {
        let uid = super::conditions::s(pod, "/metadata/uid").to_string();
        let kind = if ev.warning {
            Kind::Warning
        } else {
            Kind::Normal
        };
        let key = (uid, kind, format!("{}\n{}", ev.reason, ev.message));
        let host = (ev.component == "kubelet").then_some(host);
        self.record(
            store,
            pod,
            key,
            kind,
            ev.reason,
            &ev.message,
            Origin {
                component: ev.component,
                host,
                field_path: ev.field_path.as_deref(),
            },
            Map::new(),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        store: &Store,
        involved: &Value,
        key: AggKey,
        kind: Kind,
        reason: &str,
        message: &str,
        origin: Origin<'_>,
        annotations: Map<String, Value>,
    ) {
        let component = origin.component;
        let uid = key.0.clone();
        let ns = super::conditions::s(involved, "/metadata/namespace").to_string();
        let name = super::conditions::s(involved, "/metadata/name").to_string();
        let now = clock::now();
        if let Some(ev_key) = self.by_key.get(&key) {
            let res = store.modify(
                &ids::events(),
                ev_key,
                WritePart::All,
                WriteOpts::default(),
                |cur| {
                    let mut e = cur.clone();
                    let count = e["count"].as_i64().unwrap_or(1) + 1;
                    e["count"] = json!(count);
                    e["lastTimestamp"] = json!(now);
                    e["message"] = json!(message);
                    e["metadata"]["annotations"] = Value::Object(annotations.clone());
                    Ok(Some(e))
                },
            );
            if res.is_ok() {
                return;
            }
            self.by_key.remove(&key);
        }
        let digest = hex::encode(Sha256::digest(format!("{uid}/{}/{}", key.2, kind.as_str())));
        let ev_name = format!("{name}.{}", &digest[..16]);
        let api_version = super::conditions::s(involved, "/apiVersion");
        let obj_kind = super::conditions::s(involved, "/kind");
        let ev = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": ev_name, "namespace": ns, "annotations": annotations},
            "involvedObject": {
                "kind": obj_kind, "namespace": ns, "name": name, "uid": uid,
                "apiVersion": api_version,
                "resourceVersion": super::conditions::s(involved, "/metadata/resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "type": kind.as_str(),
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "reportingComponent": component,
            "reportingInstance": format!("{component}-sim"),
        });
        let mut ev = ev;
        if let Some(host) = origin.host {
            ev["source"]["host"] = json!(host);
            ev["reportingInstance"] = json!(host);
        }
        if let Some(fp) = origin.field_path {
            ev["involvedObject"]["fieldPath"] = json!(fp);
        }
        let ev_key = ObjKey::new(&ns, &ev_name);
        if store.upsert(&ids::events(), ev).is_ok() {
            self.by_key.insert(key.clone(), ev_key);
            self.order.push_back(key);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front()
                    && let Some(k) = self.by_key.remove(&old)
                {
                    let _ = store.delete(&ids::events(), &k, WriteOpts::default());
                }
            }
        }
    }
}
