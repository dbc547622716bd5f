//! Pods of the simulated workloads, as the scheduler and the kubelet report them: names and
//! labels as the ReplicaSet, StatefulSet, DaemonSet and Job controllers give them, and a
//! small state machine per pod that moves through the phases a real pod goes through,
//! including the failures operators meet most: an image the registry does not have
//! (`ErrImagePull` / `ImagePullBackOff`), a container that keeps exiting
//! (`CrashLoopBackOff`) and a pod no node can take (`Unschedulable`). Every timing is
//! nominal and scaled by the simulation's clock.

use std::time::Duration;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::clock::{self, Clock};
use crate::sim::scenario::Scenario;
use crate::sim::store::ObjKey;

/// The simulated cluster's nodes.
pub const NODES: [&str; 3] = ["sim-node-1", "sim-node-2", "sim-node-3"];
/// Allocatable CPU of each node, in millicores.
pub const NODE_CPU_MILLIS: u64 = 4000;
/// Allocatable memory of each node, in bytes.
pub const NODE_MEMORY_BYTES: u64 = 16 << 30;

/// Nominal time from a pod's creation to its containers running and ready.
pub const POD_START: Duration = Duration::from_secs(10);
/// Nominal time an image pull attempt takes before it fails.
const PULL_TIME: Duration = Duration::from_secs(2);
/// Nominal time a crashing container runs before it exits.
const CRASH_AFTER: Duration = Duration::from_secs(3);
/// The kubelet's back-off: starts at 10s, doubles, capped at 5 minutes.
const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How often the scheduler retries a pod it could not place.
const SCHEDULE_RETRY: Duration = Duration::from_secs(300);
/// Nominal run time of a Job's pod before it succeeds.
const JOB_RUN: Duration = Duration::from_secs(5);

/// The pod template annotation that makes a simulated container exit with this code.
pub const EXIT_CODE_ANNOTATION: &str = "sim.fluxdeck.io/exit-code";

/// The alphabet of generated names (`k8s.io/apimachinery/pkg/util/rand`): no vowels, no
/// confusable digits.
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.SafeEncodeString`: each byte mapped into the safe alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| SAFE[usize::from(b) % SAFE.len()] as char)
        .collect()
}

fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The pod-template-hash of a template (a ReplicaSet's suffix, a StatefulSet's revision
/// suffix): FNV-32a of the template, its decimal digits safe-encoded, as the controllers do.
pub fn template_hash(template: &Value) -> String {
    safe_encode(&fnv32a(template.to_string().as_bytes()).to_string())
}

/// A 5-character suffix of a generated pod name, derived from `seed`.
pub fn name_suffix(seed: &str) -> String {
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(5)
        .map(|b| SAFE[usize::from(*b) % SAFE.len()] as char)
        .collect()
}

/// What goes wrong with a pod made from a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    None,
    /// The image of `container` cannot be pulled.
    BadImage {
        container: String,
        image: String,
    },
    /// `container` (running `image`) exits with `exit_code` shortly after it starts.
    Crash {
        container: String,
        image: String,
        exit_code: i64,
    },
    /// No node can take the pod; `message` is the scheduler's.
    Unschedulable {
        message: String,
    },
}

/// The image reference as containerd resolves it (`redis:7` → `docker.io/library/redis:7`).
pub fn normalize_image(image: &str) -> String {
    let (name, tag) = match image.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), format!(":{t}")),
        _ if image.contains('@') => (image.to_string(), String::new()),
        _ => (image.to_string(), ":latest".to_string()),
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let name = if has_registry {
        name
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    format!("{name}{tag}")
}

/// The digest a simulated registry gives an image.
fn image_id(image: &str) -> String {
    let n = normalize_image(image);
    let repo = n.rsplit_once(':').map_or(n.as_str(), |(r, _)| r);
    format!(
        "{repo}@sha256:{}",
        hex::encode(Sha256::digest(n.as_bytes()))
    )
}

/// The containerd error for an image the registry does not have.
pub fn pull_error(image: &str) -> String {
    let n = normalize_image(image);
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{n}\": failed to resolve reference \"{n}\": {n}: not found"
    )
}

fn containers(pod_spec: &Value) -> &[Value] {
    pod_spec
        .get("containers")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn container_name(c: &Value) -> String {
    c.get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn container_image(c: &Value) -> String {
    c.get("image")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// CPU millicores of a quantity (`500m`, `2`, `1.5`).
fn cpu_millis(q: &Value) -> Option<u64> {
    let s = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let m = if let Some(m) = s.strip_suffix('m') {
        m.parse::<f64>().ok()?
    } else {
        s.parse::<f64>().ok()? * 1000.0
    };
    (m.is_finite() && m >= 0.0).then(|| m.ceil() as u64)
}

/// Bytes of a memory quantity (`512Mi`, `1G`, `1000`).
fn memory_bytes(q: &Value) -> Option<u64> {
    let s = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    const UNITS: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (num, mult) = UNITS
        .iter()
        .find_map(|(u, m)| s.strip_suffix(u).map(|n| (n, *m)))
        .unwrap_or((s.as_str(), 1.0));
    let v = num.parse::<f64>().ok()? * mult;
    (v.is_finite() && v >= 0.0).then(|| v.ceil() as u64)
}

/// The labels of a node.
pub fn node_labels(node: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kubernetes.io/hostname".into(), json!(node));
    m.insert("kubernetes.io/os".into(), json!("linux"));
    m.insert("kubernetes.io/arch".into(), json!("amd64"));
    m.insert("node-role.kubernetes.io/worker".into(), json!(""));
    m
}

/// Whether a node satisfies the pod spec's `nodeSelector`.
pub fn node_matches(pod_spec: &Value, node: &str) -> bool {
    let labels = node_labels(node);
    pod_spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The scheduler's verdict on a pod spec: `None` when some node fits, otherwise its message.
pub fn unschedulable(pod_spec: &Value) -> Option<String> {
    let n = NODES.len();
    if !NODES.iter().any(|node| node_matches(pod_spec, node)) {
        return Some(format!(
            "0/{n} nodes are available: {n} node(s) didn't match Pod's node affinity/selector. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
        ));
    }
    let (mut cpu, mut mem) = (0u64, 0u64);
    for c in containers(pod_spec) {
        let req = c.pointer("/resources/requests");
        cpu += req
            .and_then(|r| r.get("cpu"))
            .and_then(cpu_millis)
            .unwrap_or(0);
        mem += req
            .and_then(|r| r.get("memory"))
            .and_then(memory_bytes)
            .unwrap_or(0);
    }
    let mut reasons = Vec::new();
    if cpu > NODE_CPU_MILLIS {
        reasons.push(format!("{n} Insufficient cpu"));
    }
    if mem > NODE_MEMORY_BYTES {
        reasons.push(format!("{n} Insufficient memory"));
    }
    (!reasons.is_empty()).then(|| {
        format!(
            "0/{n} nodes are available: {}. preemption: 0/{n} nodes are available: {n} No preemption victims found for incoming pod.",
            reasons.join(", ")
        )
    })
}

/// What goes wrong with pods of this template: the scheduler first, then the images, then
/// the containers.
pub fn failure_of(scenario: &Scenario, template: &Value) -> Failure {
    let spec = template.get("spec").cloned().unwrap_or(Value::Null);
    if let Some(message) = unschedulable(&spec) {
        return Failure::Unschedulable { message };
    }
    for c in containers(&spec) {
        let image = container_image(c);
        if scenario.is_bad_image(&image) {
            return Failure::BadImage {
                container: container_name(c),
                image,
            };
        }
    }
    let annotated = template
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(EXIT_CODE_ANNOTATION))
        .and_then(|v| match v {
            Value::String(s) => s.trim().parse::<i64>().ok(),
            other => other.as_i64(),
        })
        .filter(|code| *code != 0);
    for c in containers(&spec) {
        let image = container_image(c);
        if annotated.is_some() || scenario.is_crash_image(&image) {
            return Failure::Crash {
                container: container_name(c),
                image: normalize_image(&image),
                exit_code: annotated.unwrap_or(1),
            };
        }
    }
    Failure::None
}

/// Where a pod is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Not placed on a node: the scheduler retries.
    Unschedulable,
    /// On a node; sandbox and containers being created.
    Creating,
    /// Containers running (ready unless the pod is failing).
    Running,
    /// The last image pull failed (`ErrImagePull`).
    PullFailed,
    /// Waiting before the next pull (`ImagePullBackOff`).
    PullBackOff,
    /// Waiting before restarting the exited container (`CrashLoopBackOff`).
    CrashBackOff,
    /// All containers exited 0 (Job pods).
    Succeeded,
}

/// One event about a pod, as the scheduler or the kubelet records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
    /// `default-scheduler` or `kubelet`.
    pub component: &'static str,
    /// `spec.containers{name}` for container events.
    pub field_path: Option<String>,
}

/// The simulated life of one pod.
#[derive(Clone, Debug)]
pub struct PodRec {
    pub key: ObjKey,
    pub uid: String,
    /// The template hash the pod was made from.
    pub revision: String,
    /// The StatefulSet ordinal.
    pub ordinal: Option<u32>,
    pub node: usize,
    pub failure: Failure,
    /// Job pods complete instead of running on.
    pub completes: bool,
    pub stage: Stage,
    pub next: Option<Instant>,
    pub restarts: u32,
    backoff: Duration,
    created_ts: String,
    transition_ts: String,
    started_ts: Option<String>,
    last_exit: Option<(String, String)>,
    /// The status changed since it was last written.
    pub dirty: bool,
}

impl PodRec {
    /// A new pod: created now, scheduled (or not) right away.
    pub fn new(
        key: ObjKey,
        revision: String,
        ordinal: Option<u32>,
        node: usize,
        failure: Failure,
        completes: bool,
        clock: &Clock,
    ) -> (Self, Vec<PodEvent>) {
        let now = clock::now();
        let t = Instant::now();
        let mut events = Vec::new();
        let (stage, next) = match &failure {
            Failure::Unschedulable { message } => {
                events.push(PodEvent {
                    warning: true,
                    reason: "FailedScheduling",
                    message: message.clone(),
                    component: "default-scheduler",
                    field_path: None,
                });
                (Stage::Unschedulable, t + clock.scaled(SCHEDULE_RETRY))
            }
            Failure::BadImage { .. } => (Stage::Creating, t + clock.scaled(PULL_TIME)),
            _ => (Stage::Creating, t + clock.scaled(POD_START)),
        };
        if failure != Failure::None && stage != Stage::Unschedulable {
            events.push(PodEvent {
                warning: false,
                reason: "Scheduled",
                message: format!(
                    "Successfully assigned {}/{} to {}",
                    key.namespace, key.name, NODES[node]
                ),
                component: "default-scheduler",
                field_path: None,
            });
        }
        let rec = Self {
            key,
            uid: String::new(),
            revision,
            ordinal,
            node,
            failure,
            completes,
            stage,
            next: Some(next),
            restarts: 0,
            backoff: BACKOFF_INITIAL,
            created_ts: now.clone(),
            transition_ts: now,
            started_ts: None,
            last_exit: None,
            dirty: false,
        };
        (rec, events)
    }

    /// Whether the pod counts as ready.
    pub fn ready(&self) -> bool {
        self.stage == Stage::Running && self.failure == Failure::None
    }

    /// Whether the pod still runs or will (not Succeeded).
    pub fn active(&self) -> bool {
        self.stage != Stage::Succeeded
    }

    fn container_path(c: &str) -> Option<String> {
        Some(format!("spec.containers{{{c}}}"))
    }

    fn back_off(&mut self) -> Duration {
        let b = self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        b
    }

    fn started_events(&self, image: &str, container: &str, out: &mut Vec<PodEvent>) {
        let fp = Self::container_path(container);
        for (reason, message) in [
            (
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            ),
            ("Created", format!("Created container: {container}")),
            ("Started", format!("Started container {container}")),
        ] {
            out.push(PodEvent {
                warning: false,
                reason,
                message,
                component: "kubelet",
                field_path: fp.clone(),
            });
        }
    }

    /// Move the pod through every transition due by `now`; returns the events they produce.
    pub fn advance(&mut self, now: Instant, clock: &Clock) -> Vec<PodEvent> {
        let mut out = Vec::new();
        // Bounded: a pod catches up at most a few steps per pass.
        for _ in 0..8 {
            let Some(due) = self.next else { break };
            if due > now {
                break;
            }
            self.step(due, clock, &mut out);
            self.dirty = true;
            self.transition_ts = clock::now();
        }
        out
    }

    fn step(&mut self, at: Instant, clock: &Clock, out: &mut Vec<PodEvent>) {
        let after = |d: Duration| Some(at + clock.scaled(d));
        match (self.stage, self.failure.clone()) {
            (Stage::Unschedulable, Failure::Unschedulable { message }) => {
                out.push(PodEvent {
                    warning: true,
                    reason: "FailedScheduling",
                    message,
                    component: "default-scheduler",
                    field_path: None,
                });
                self.next = after(SCHEDULE_RETRY);
            }
            (Stage::Creating | Stage::PullBackOff, Failure::BadImage { container, image }) => {
                let fp = Self::container_path(&container);
                let err = pull_error(&image);
                for (warning, reason, message) in [
                    (false, "Pulling", format!("Pulling image \"{image}\"")),
                    (
                        true,
                        "Failed",
                        format!("Failed to pull image \"{image}\": {err}"),
                    ),
                    (true, "Failed", "Error: ErrImagePull".to_string()),
                ] {
                    out.push(PodEvent {
                        warning,
                        reason,
                        message,
                        component: "kubelet",
                        field_path: fp.clone(),
                    });
                }
                self.stage = Stage::PullFailed;
                self.next = after(PULL_TIME);
            }
            (Stage::PullFailed, Failure::BadImage { container, image }) => {
                let fp = Self::container_path(&container);
                out.push(PodEvent {
                    warning: false,
                    reason: "BackOff",
                    message: format!("Back-off pulling image \"{image}\""),
                    component: "kubelet",
                    field_path: fp.clone(),
                });
                out.push(PodEvent {
                    warning: true,
                    reason: "Failed",
                    message: "Error: ImagePullBackOff".to_string(),
                    component: "kubelet",
                    field_path: fp,
                });
                self.stage = Stage::PullBackOff;
                let wait = self.back_off();
                self.next = after(wait);
            }
            (
                Stage::Creating | Stage::CrashBackOff,
                Failure::Crash {
                    container, image, ..
                },
            ) => {
                self.started_events(&image, &container, out);
                self.stage = Stage::Running;
                self.started_ts = Some(clock::now());
                self.next = after(CRASH_AFTER);
            }
            (Stage::Running, Failure::Crash { container, .. }) => {
                self.restarts += 1;
                self.last_exit = Some((
                    self.started_ts.clone().unwrap_or_else(clock::now),
                    clock::now(),
                ));
                self.stage = Stage::CrashBackOff;
                let wait = self.back_off();
                out.push(PodEvent {
                    warning: true,
                    reason: "BackOff",
                    message: format!(
                        "Back-off restarting failed container {container} in pod {}_{}({})",
                        self.key.name, self.key.namespace, self.uid
                    ),
                    component: "kubelet",
                    field_path: Self::container_path(&container),
                });
                self.next = after(wait);
            }
            (Stage::Creating, _) => {
                self.stage = Stage::Running;
                self.started_ts = Some(clock::now());
                self.next = self.completes.then(|| at + clock.scaled(JOB_RUN));
            }
            (Stage::Running, _) if self.completes => {
                self.stage = Stage::Succeeded;
                self.last_exit = Some((
                    self.started_ts.clone().unwrap_or_else(clock::now),
                    clock::now(),
                ));
                self.next = None;
            }
            _ => self.next = None,
        }
    }

    /// The pod's status for its spec.
    pub fn status(&self, pod_spec: &Value) -> Value {
        let node_ip = format!("10.0.0.{}", 11 + self.node);
        let digest = Sha256::digest(self.key.name.as_bytes());
        let pod_ip = format!(
            "10.244.{}.{}",
            self.node + 1,
            2 + u32::from(digest[0]) % 250
        );
        let ts = &self.transition_ts;
        let cond = |t: &str, ok: bool, reason: Option<&str>, message: Option<String>| {
            let mut c = json!({"type": t, "status": if ok { "True" } else { "False" },
                               "lastProbeTime": null, "lastTransitionTime": ts});
            if let Some(r) = reason {
                c["reason"] = json!(r);
            }
            if let Some(m) = message {
                c["message"] = json!(m);
            }
            c
        };
        let qos = if containers(pod_spec).iter().any(|c| {
            c.get("resources")
                .is_some_and(|r| r.as_object().is_some_and(|m| !m.is_empty()))
        }) {
            "Burstable"
        } else {
            "BestEffort"
        };
        if let (Stage::Unschedulable, Failure::Unschedulable { message }) =
            (self.stage, &self.failure)
        {
            return json!({
                "phase": "Pending",
                "conditions": [cond("PodScheduled", false, Some("Unschedulable"), Some(message.clone()))],
                "qosClass": qos,
            });
        }
        let names: Vec<String> = containers(pod_spec).iter().map(container_name).collect();
        let statuses: Vec<Value> = containers(pod_spec)
            .iter()
            .map(|c| self.container_status(c))
            .collect();
        let unready: Vec<&str> = names
            .iter()
            .zip(&statuses)
            .filter(|(_, s)| s["ready"] != true)
            .map(|(n, _)| n.as_str())
            .collect();
        let succeeded = self.stage == Stage::Succeeded;
        let phase = match self.stage {
            Stage::Succeeded => "Succeeded",
            Stage::Running | Stage::CrashBackOff => "Running",
            _ => "Pending",
        };
        let all_ready = unready.is_empty() && !succeeded;
        let (reason, message) = if succeeded {
            (Some("PodCompleted"), None)
        } else if all_ready {
            (None, None)
        } else {
            (
                Some("ContainersNotReady"),
                Some(format!(
                    "containers with unready status: [{}]",
                    unready.join(" ")
                )),
            )
        };
        let sandbox = self.stage != Stage::Creating || self.started_ts.is_some();
        let mut st = json!({
            "phase": phase,
            "conditions": [
                cond("PodReadyToStartContainers", sandbox && !succeeded, None, None),
                cond("Initialized", true, succeeded.then_some("PodCompleted"), None),
                cond("Ready", all_ready, reason, message.clone()),
                cond("ContainersReady", all_ready, reason, message),
                cond("PodScheduled", true, None, None),
            ],
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "startTime": self.created_ts,
            "containerStatuses": statuses,
            "qosClass": qos,
        });
        if sandbox {
            st["podIP"] = json!(pod_ip);
            st["podIPs"] = json!([{"ip": pod_ip}]);
        }
        st
    }

    fn container_id(&self, name: &str, restart: u32) -> String {
        let d = Sha256::digest(format!("{}/{name}/{restart}", self.key.name).as_bytes());
        format!("containerd://{}", hex::encode(d))
    }

    fn container_status(&self, c: &Value) -> Value {
        let name = container_name(c);
        let image = container_image(c);
        let mut st = json!({
            "name": name,
            "image": normalize_image(&image),
            "imageID": image_id(&image),
            "ready": false,
            "restartCount": 0,
            "started": false,
            "lastState": {},
        });
        let started = self
            .started_ts
            .clone()
            .unwrap_or_else(|| self.created_ts.clone());
        let running = json!({"running": {"startedAt": started}});
        match (&self.failure, self.stage) {
            (Failure::BadImage { container, .. }, stage) if *container == name => {
                st["image"] = json!(image);
                st["imageID"] = json!("");
                let waiting = match stage {
                    Stage::PullFailed => {
                        json!({"reason": "ErrImagePull", "message": pull_error(&image)})
                    }
                    Stage::PullBackOff => json!({"reason": "ImagePullBackOff",
                        "message": format!("Back-off pulling image \"{image}\"")}),
                    _ => json!({"reason": "ContainerCreating"}),
                };
                st["state"] = json!({"waiting": waiting});
                return st;
            }
            (
                Failure::Crash {
                    container,
                    exit_code,
                    ..
                },
                stage,
            ) if *container == name => {
                st["restartCount"] = json!(self.restarts);
                if let Some((from, to)) = &self.last_exit {
                    st["lastState"] = json!({"terminated": {"exitCode": exit_code, "reason": "Error",
                        "startedAt": from, "finishedAt": to,
                        "containerID": self.container_id(&name, self.restarts.saturating_sub(1))}});
                }
                match stage {
                    Stage::Running => {
                        st["state"] = running;
                        st["started"] = json!(true);
                        st["containerID"] = json!(self.container_id(&name, self.restarts));
                    }
                    Stage::CrashBackOff => {
                        let wait = clock::format_duration(self.backoff / 2);
                        st["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                            "message": format!("back-off {wait} restarting failed container={name} pod={}_{}({})",
                                self.key.name, self.key.namespace, self.uid)}});
                    }
                    _ => st["state"] = json!({"waiting": {"reason": "ContainerCreating"}}),
                }
                return st;
            }
            _ => {}
        }
        match self.stage {
            Stage::Creating | Stage::Unschedulable => {
                st["state"] = json!({"waiting": {"reason": "ContainerCreating"}});
            }
            Stage::Succeeded => {
                let (from, to) = self
                    .last_exit
                    .clone()
                    .unwrap_or_else(|| (started.clone(), started.clone()));
                st["state"] = json!({"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": from, "finishedAt": to, "containerID": self.container_id(&name, 0)}});
                st["containerID"] = json!(self.container_id(&name, 0));
            }
            _ => {
                st["state"] = running;
                st["ready"] = json!(true);
                st["started"] = json!(true);
                st["containerID"] = json!(self.container_id(&name, 0));
            }
        }
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario {
            bad_images: vec!["bitnami/redis:1.0".into()],
            crash_images: vec![":crash".into()],
            ..Default::default()
        }
    }

    fn template(image: &str) -> Value {
        json!({"metadata": {"labels": {"app": "x"}},
               "spec": {"containers": [{"name": "app", "image": image}]}})
    }

    fn step_to_next(p: &mut PodRec, clock: &Clock) -> Vec<PodEvent> {
        let due = p.next.unwrap();
        p.advance(due, clock)
    }

    #[test]
    fn generated_names_use_the_safe_alphabet() {
        let h = template_hash(&template("a:1"));
        assert!(h.len() >= 8 && h.len() <= 10, "{h}");
        assert!(h.bytes().all(|b| SAFE.contains(&b)), "{h}");
        assert_eq!(h, template_hash(&template("a:1")));
        assert_ne!(h, template_hash(&template("a:2")));
        let s = name_suffix("uid/1");
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|b| SAFE.contains(&b)));
        assert_ne!(s, name_suffix("uid/2"));
        assert_eq!(safe_encode("0369"), "47bf");
    }

    #[test]
    fn images_are_normalized_like_containerd() {
        assert_eq!(normalize_image("redis"), "docker.io/library/redis:latest");
        assert_eq!(normalize_image("redis:7"), "docker.io/library/redis:7");
        assert_eq!(
            normalize_image("bitnami/redis:1.0"),
            "docker.io/bitnami/redis:1.0"
        );
        assert_eq!(
            normalize_image("ghcr.io/stefanprodan/podinfo:6.6.0"),
            "ghcr.io/stefanprodan/podinfo:6.6.0"
        );
        assert_eq!(
            normalize_image("localhost:5000/app:1"),
            "localhost:5000/app:1"
        );
        assert_eq!(
            pull_error("docker.io/bitnami/redis:1.0"),
            "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/bitnami/redis:1.0\": failed to resolve reference \"docker.io/bitnami/redis:1.0\": docker.io/bitnami/redis:1.0: not found"
        );
    }

    #[test]
    fn failures_come_from_the_template() {
        let sc = scenario();
        assert_eq!(failure_of(&sc, &template("ghcr.io/a/b:1")), Failure::None);
        assert_eq!(
            failure_of(&sc, &template("docker.io/bitnami/redis:1.0")),
            Failure::BadImage {
                container: "app".into(),
                image: "docker.io/bitnami/redis:1.0".into()
            }
        );
        assert!(matches!(
            failure_of(&sc, &template("x/y:crash")),
            Failure::Crash { exit_code: 1, .. }
        ));
        let mut t = template("ghcr.io/a/b:1");
        t["metadata"]["annotations"] = json!({EXIT_CODE_ANNOTATION: "137"});
        assert!(matches!(
            failure_of(&sc, &t),
            Failure::Crash { exit_code: 137, .. }
        ));
        let mut t = template("ghcr.io/a/b:1");
        t["spec"]["containers"][0]["resources"] =
            json!({"requests": {"cpu": "500m", "memory": "64Gi"}});
        assert_eq!(
            failure_of(&sc, &t),
            Failure::Unschedulable {
                message: "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.".into()
            }
        );
        let mut t = template("ghcr.io/a/b:1");
        t["spec"]["nodeSelector"] = json!({"disktype": "ssd"});
        let Failure::Unschedulable { message } = failure_of(&sc, &t) else {
            panic!("schedulable")
        };
        assert!(message.starts_with(
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
        ));
        t["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
        assert_eq!(failure_of(&sc, &t), Failure::None);
        assert_eq!(cpu_millis(&json!("1.5")), Some(1500));
        assert_eq!(cpu_millis(&json!(2)), Some(2000));
        assert_eq!(memory_bytes(&json!("1Gi")), Some(1 << 30));
        assert_eq!(memory_bytes(&json!("1G")), Some(1_000_000_000));
        assert_eq!(memory_bytes(&json!("x")), None);
    }

    fn rec(failure: Failure, completes: bool) -> (PodRec, Vec<PodEvent>) {
        PodRec::new(
            ObjKey::new("ns", "p-0"),
            "rev".into(),
            Some(0),
            0,
            failure,
            completes,
            &Clock::new(1000.0),
        )
    }

    #[test]
    fn a_healthy_pod_becomes_ready_without_events() {
        let clock = Clock::new(1000.0);
        let spec = template("a:1")["spec"].clone();
        let (mut p, events) = rec(Failure::None, false);
        assert!(events.is_empty());
        assert_eq!(p.status(&spec)["phase"], "Pending");
        assert_eq!(
            p.status(&spec)["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        assert!(step_to_next(&mut p, &clock).is_empty());
        assert!(p.ready());
        let st = p.status(&spec);
        assert_eq!(st["phase"], "Running");
        assert_eq!(st["containerStatuses"][0]["ready"], true);
        assert_eq!(st["containerStatuses"][0]["image"], "docker.io/library/a:1");
        assert!(p.next.is_none());
    }

    #[test]
    fn a_job_pod_succeeds() {
        let clock = Clock::new(1000.0);
        let (mut p, _) = rec(Failure::None, true);
        step_to_next(&mut p, &clock);
        assert_eq!(p.stage, Stage::Running);
        step_to_next(&mut p, &clock);
        assert_eq!(p.stage, Stage::Succeeded);
        let st = p.status(&template("a:1")["spec"]);
        assert_eq!(st["phase"], "Succeeded");
        assert_eq!(
            st["containerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
        assert!(!p.active());
    }

    #[test]
    fn a_bad_image_alternates_between_pull_errors_and_back_off() {
        let clock = Clock::new(1000.0);
        let image = "docker.io/bitnami/redis:1.0";
        let spec = template(image)["spec"].clone();
        let (mut p, events) = rec(
            Failure::BadImage {
                container: "app".into(),
                image: image.into(),
            },
            false,
        );
        assert_eq!(events[0].reason, "Scheduled");
        let evs = step_to_next(&mut p, &clock);
        assert_eq!(p.stage, Stage::PullFailed);
        let reasons: Vec<(&str, bool)> = evs.iter().map(|e| (e.reason, e.warning)).collect();
        assert_eq!(
            reasons,
            [("Pulling", false), ("Failed", true), ("Failed", true)]
        );
        assert_eq!(evs[2].message, "Error: ErrImagePull");
        assert_eq!(evs[1].field_path.as_deref(), Some("spec.containers{app}"));
        let w = &p.status(&spec)["containerStatuses"][0]["state"]["waiting"];
        assert_eq!(w["reason"], "ErrImagePull");
        assert_eq!(w["message"], pull_error(image));
        let evs = step_to_next(&mut p, &clock);
        assert_eq!(p.stage, Stage::PullBackOff);
        assert_eq!(
            evs[0].message,
            format!("Back-off pulling image \"{image}\"")
        );
        assert_eq!(evs[1].message, "Error: ImagePullBackOff");
        let st = p.status(&spec);
        assert_eq!(st["phase"], "Pending");
        assert_eq!(
            st["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ImagePullBackOff"
        );
        assert_eq!(st["containerStatuses"][0]["imageID"], "");
        // The back-off doubles.
        let first = p.backoff;
        step_to_next(&mut p, &clock);
        assert_eq!(p.stage, Stage::PullFailed);
        step_to_next(&mut p, &clock);
        assert_eq!(p.backoff, (first * 2).min(BACKOFF_MAX));
        assert!(!p.ready());
    }

    #[test]
    fn a_crashing_container_loops_with_growing_restarts() {
        let clock = Clock::new(1000.0);
        let spec = template("a:1")["spec"].clone();
        let (mut p, _) = rec(
            Failure::Crash {
                container: "app".into(),
                image: "docker.io/library/a:1".into(),
                exit_code: 1,
            },
            false,
        );
        let evs = step_to_next(&mut p, &clock);
        assert_eq!(p.stage, Stage::Running);
        assert_eq!(
            evs.iter().map(|e| e.reason).collect::<Vec<_>>(),
            ["Pulled", "Created", "Started"]
        );
        assert!(!p.ready());
        let evs = step_to_next(&mut p, &clock);
        assert_eq!(p.stage, Stage::CrashBackOff);
        assert_eq!(p.restarts, 1);
        assert!(evs[0].warning);
        assert!(
            evs[0]
                .message
                .starts_with("Back-off restarting failed container app in pod p-0_ns(")
        );
        let st = p.status(&spec);
        assert_eq!(st["phase"], "Running");
        let cs = &st["containerStatuses"][0];
        assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(cs["restartCount"], 1);
        step_to_next(&mut p, &clock);
        step_to_next(&mut p, &clock);
        assert_eq!(p.restarts, 2);
    }

    #[test]
    fn an_unschedulable_pod_stays_pending_and_retries() {
        let clock = Clock::new(1000.0);
        let message = "0/3 nodes are available: 3 Insufficient cpu.".to_string();
        let (mut p, events) = rec(
            Failure::Unschedulable {
                message: message.clone(),
            },
            false,
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "FailedScheduling");
        assert_eq!(events[0].component, "default-scheduler");
        let st = p.status(&template("a:1")["spec"]);
        assert_eq!(st["phase"], "Pending");
        assert_eq!(st["conditions"][0]["reason"], "Unschedulable");
        assert_eq!(st["conditions"][0]["message"], message.as_str());
        assert!(st.get("containerStatuses").is_none());
        let evs = step_to_next(&mut p, &clock);
        assert_eq!(evs[0].reason, "FailedScheduling");
        assert_eq!(p.stage, Stage::Unschedulable);
    }
}
