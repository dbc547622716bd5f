//! Defaulting as the Kubernetes API server does it on every create, update, patch and apply
//! (the `SetDefaults_*` functions of `core/v1` and `apps/v1`, plus what the Service and Job
//! registries and the default admission plugins add), for the workload kinds, Pods and
//! Services. The store runs it on every write, so objects written over HTTP and by the
//! simulated controllers look alike, and a server-side apply dry-run of an untouched object
//! returns that object unchanged.
//!
//! Values the server allocates (a Service's clusterIP and node ports) are taken from the
//! stored object when it has them, and otherwise derived from the object's name, so they
//! are stable and kept across writes that omit them.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The kinds that get defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Pod,
    PodTemplate,
    ReplicationController,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    Service,
}

impl Kind {
    /// The kind stored under a resource (group and plural).
    pub fn of_resource(group: &str, plural: &str) -> Option<Kind> {
        Some(match (group, plural) {
            ("", "pods") => Kind::Pod,
            ("", "podtemplates") => Kind::PodTemplate,
            ("", "replicationcontrollers") => Kind::ReplicationController,
            ("", "services") => Kind::Service,
            ("apps", "deployments") => Kind::Deployment,
            ("apps", "replicasets") => Kind::ReplicaSet,
            ("apps", "statefulsets") => Kind::StatefulSet,
            ("apps", "daemonsets") => Kind::DaemonSet,
            ("batch", "jobs") => Kind::Job,
            ("batch", "cronjobs") => Kind::CronJob,
            _ => return None,
        })
    }

    /// The kind of an object from its `apiVersion` and `kind`.
    pub fn of_object(obj: &Value) -> Option<Kind> {
        let api = obj.get("apiVersion").and_then(Value::as_str)?;
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        let plural = match obj.get("kind").and_then(Value::as_str)? {
            "Pod" => "pods",
            "PodTemplate" => "podtemplates",
            "ReplicationController" => "replicationcontrollers",
            "Service" => "services",
            "Deployment" => "deployments",
            "ReplicaSet" => "replicasets",
            "StatefulSet" => "statefulsets",
            "DaemonSet" => "daemonsets",
            "Job" => "jobs",
            "CronJob" => "cronjobs",
            _ => return None,
        };
        Kind::of_resource(group, plural)
    }
}

/// Default an object stored under `group`/`plural`. `current` is the stored object on an
/// update (allocated values are kept from it), `None` on a create.
pub fn apply(group: &str, plural: &str, obj: &mut Value, current: Option<&Value>) {
    if let Some(kind) = Kind::of_resource(group, plural) {
        apply_kind(kind, obj, current);
    }
}

/// Default an object by its own `apiVersion` and `kind` (objects of other kinds are left
/// as they are).
pub fn apply_object(obj: &mut Value, current: Option<&Value>) {
    if let Some(kind) = Kind::of_object(obj) {
        apply_kind(kind, obj, current);
    }
}

/// Default an object of a known kind.
pub fn apply_kind(kind: Kind, obj: &mut Value, current: Option<&Value>) {
    let meta = |f: &str| {
        obj.pointer(&format!("/metadata/{f}"))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let created = match (current, meta("uid"), meta("name")) {
        (None, Some(uid), Some(name)) => Some((uid, name)),
        _ => None,
    };
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match kind {
        Kind::Pod => pod(spec),
        Kind::PodTemplate => {}
        Kind::ReplicationController | Kind::ReplicaSet => {
            default(spec, "replicas", json!(1));
        }
        Kind::Deployment => deployment(spec),
        Kind::StatefulSet => statefulset(spec),
        Kind::DaemonSet => daemonset(spec),
        Kind::Job => job(spec, created),
        Kind::CronJob => cronjob(spec),
        Kind::Service => {
            let name = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
                + "/"
                + obj
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
            let cur_spec = current.and_then(|c| c.get("spec"));
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                service(spec, cur_spec, &name);
            }
            return;
        }
    }
    match kind {
        Kind::PodTemplate => {
            if let Some(t) = obj.get_mut("template") {
                template(t);
            }
        }
        Kind::CronJob => {
            if let Some(t) = obj.pointer_mut("/spec/jobTemplate/spec/template") {
                template(t);
            }
        }
        Kind::Pod | Kind::Service => {}
        _ => {
            if let Some(t) = obj.pointer_mut("/spec/template") {
                template(t);
            }
        }
    }
}

/// Insert `v` under `k` when the field is absent or null.
fn default(m: &mut Map<String, Value>, k: &str, v: Value) {
    if m.get(k).is_none_or(Value::is_null) {
        m.insert(k.to_string(), v);
    }
}

/// The object under `k`, created empty when absent or null; `None` when it is something
/// else (an invalid object gets no defaults there).
fn object<'a>(m: &'a mut Map<String, Value>, k: &str) -> Option<&'a mut Map<String, Value>> {
    let v = m.entry(k).or_insert(Value::Null);
    if v.is_null() {
        *v = json!({});
    }
    v.as_object_mut()
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn deployment(spec: &mut Map<String, Value>) {
    default(spec, "replicas", json!(1));
    if let Some(strategy) = object(spec, "strategy") {
        default(strategy, "type", json!("RollingUpdate"));
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(ru) = object(strategy, "rollingUpdate")
        {
            default(ru, "maxUnavailable", json!("25%"));
            default(ru, "maxSurge", json!("25%"));
        }
    }
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "progressDeadlineSeconds", json!(600));
}

fn statefulset(spec: &mut Map<String, Value>) {
    default(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(strategy) = object(spec, "updateStrategy") {
        default(strategy, "type", json!("RollingUpdate"));
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(ru) = object(strategy, "rollingUpdate")
        {
            default(ru, "partition", json!(0));
        }
    }
    if let Some(retention) = object(spec, "persistentVolumeClaimRetentionPolicy") {
        default(retention, "whenDeleted", json!("Retain"));
        default(retention, "whenScaled", json!("Retain"));
    }
    default(spec, "replicas", json!(1));
    default(spec, "revisionHistoryLimit", json!(10));
    if let Some(Value::Array(claims)) = spec.get_mut("volumeClaimTemplates") {
        for c in claims.iter_mut().filter_map(Value::as_object_mut) {
            default(c, "apiVersion", json!("v1"));
            default(c, "kind", json!("PersistentVolumeClaim"));
            if let Some(spec) = object(c, "spec") {
                default(spec, "volumeMode", json!("Filesystem"));
            }
            if let Some(status) = object(c, "status") {
                default(status, "phase", json!("Pending"));
            }
        }
    }
}

fn daemonset(spec: &mut Map<String, Value>) {
    if let Some(strategy) = object(spec, "updateStrategy") {
        default(strategy, "type", json!("RollingUpdate"));
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(ru) = object(strategy, "rollingUpdate")
        {
            default(ru, "maxUnavailable", json!(1));
            default(ru, "maxSurge", json!(0));
        }
    }
    default(spec, "revisionHistoryLimit", json!(10));
}

/// Job defaults; `(uid, name)` on create, for the selector and labels the Job registry
/// generates.
fn job(spec: &mut Map<String, Value>, created: Option<(String, String)>) {
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        spec.insert("completions".into(), json!(1));
    }
    default(spec, "parallelism", json!(1));
    if spec
        .get("backoffLimitPerIndex")
        .is_some_and(|v| !v.is_null())
    {
        default(spec, "backoffLimit", json!(i32::MAX));
    } else {
        default(spec, "backoffLimit", json!(6));
    }
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    let replacement = if spec.get("podFailurePolicy").is_some_and(|v| !v.is_null()) {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    default(spec, "podReplacementPolicy", json!(replacement));
    let manual = spec.get("manualSelector") == Some(&json!(true));
    if let Some((uid, name)) = created
        && !manual
        && spec.get("selector").is_none_or(Value::is_null)
    {
        if let Some(labels) = object(spec, "template")
            .and_then(|t| object(t, "metadata"))
            .and_then(|m| object(m, "labels"))
        {
            labels.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
            labels.insert("controller-uid".into(), json!(uid));
            labels.insert("batch.kubernetes.io/job-name".into(), json!(name));
            labels.insert("job-name".into(), json!(name));
        }
        spec.insert(
            "selector".into(),
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
    }
}

fn cronjob(spec: &mut Map<String, Value>) {
    default(spec, "concurrencyPolicy", json!("Allow"));
    default(spec, "suspend", json!(false));
    default(spec, "successfulJobsHistoryLimit", json!(3));
    default(spec, "failedJobsHistoryLimit", json!(1));
}

/// A pod template: defaults of its pod spec.
fn template(t: &mut Value) {
    if let Some(spec) = t.get_mut("spec").and_then(Value::as_object_mut) {
        pod_spec(spec);
    }
}

/// What a Pod gets beyond its spec defaults: `SetDefaults_Pod` and the default admission
/// plugins (service account, priority, default toleration seconds).
fn pod(spec: &mut Map<String, Value>) {
    pod_spec(spec);
    default(spec, "enableServiceLinks", json!(true));
    default(spec, "serviceAccountName", json!("default"));
    let sa = spec
        .get("serviceAccountName")
        .cloned()
        .unwrap_or(json!("default"));
    default(spec, "serviceAccount", sa);
    default(spec, "priority", json!(0));
    default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if let Value::Array(list) = tolerations {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let has = list.iter().any(|t| {
                t.get("key").and_then(Value::as_str) == Some(key)
                    && t.get("effect")
                        .and_then(Value::as_str)
                        .is_none_or(|e| e == "NoExecute")
            });
            if !has {
                list.push(json!({"key": key, "operator": "Exists",
                                 "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
    // Requests default to the limits when only limits are given.
    for group in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(group) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) else {
                    continue;
                };
                let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
                    continue;
                };
                if let Some(requests) = object(res, "requests") {
                    for (k, v) in limits {
                        requests.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

/// `SetDefaults_PodSpec` and the defaults of what a pod spec holds.
fn pod_spec(spec: &mut Map<String, Value>) {
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "securityContext", json!({}));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "schedulerName", json!("default-scheduler"));
    let host_network = spec.get("hostNetwork") == Some(&json!(true));
    for group in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(group) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c, host_network);
            }
        }
    }
    if let Some(Value::Array(vols)) = spec.get_mut("volumes") {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            volume(v);
        }
    }
}

/// `imagePullPolicy` by the image's tag: `latest` or no tag (and no digest) pulls always.
pub fn pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.rsplit_once(':') {
        Some((_, "latest")) => "Always",
        Some(_) => "IfNotPresent",
        None if digest => "IfNotPresent",
        None => "Always",
    }
}

fn container(c: &mut Map<String, Value>, host_network: bool) {
    let image = str_of(c, "image").to_string();
    default(c, "imagePullPolicy", json!(pull_policy(&image)));
    default(c, "terminationMessagePath", json!("/dev/termination-log"));
    default(c, "terminationMessagePolicy", json!("File"));
    default(c, "resources", json!({}));
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(p, "protocol", json!("TCP"));
            if host_network && let Some(cp) = p.get("containerPort").cloned() {
                default(p, "hostPort", cp);
            }
        }
    }
    if let Some(Value::Array(env)) = c.get_mut("env") {
        for e in env.iter_mut() {
            if let Some(f) = e
                .pointer_mut("/valueFrom/fieldRef")
                .and_then(Value::as_object_mut)
            {
                default(f, "apiVersion", json!("v1"));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            default(p, "timeoutSeconds", json!(1));
            default(p, "periodSeconds", json!(10));
            default(p, "successThreshold", json!(1));
            default(p, "failureThreshold", json!(3));
            http_get(p);
        }
    }
    if let Some(l) = c.get_mut("lifecycle").and_then(Value::as_object_mut) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = l.get_mut(hook).and_then(Value::as_object_mut) {
                http_get(h);
            }
        }
    }
}

fn http_get(handler: &mut Map<String, Value>) {
    if let Some(h) = handler.get_mut("httpGet").and_then(Value::as_object_mut) {
        default(h, "path", json!("/"));
        default(h, "scheme", json!("HTTP"));
    }
}

const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn volume(v: &mut Map<String, Value>) {
    if !VOLUME_SOURCES.iter().any(|s| v.contains_key(*s)) {
        v.insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = v.get_mut(source).and_then(Value::as_object_mut) {
            default(s, "defaultMode", json!(420));
        }
    }
    if let Some(h) = v.get_mut("hostPath").and_then(Value::as_object_mut) {
        default(h, "type", json!(""));
    }
    if let Some(Value::Array(fields)) = v.get_mut("downwardAPI").and_then(|d| d.get_mut("items")) {
        for f in fields.iter_mut() {
            if let Some(r) = f.get_mut("fieldRef").and_then(Value::as_object_mut) {
                default(r, "apiVersion", json!("v1"));
            }
        }
    }
}

/// A stable number from a name, for allocations.
fn hash_of(s: &str) -> u32 {
    let d = Sha256::digest(s.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The clusterIP a Service gets: from the 10.96.0.0/12 range, never 10.96.0.0/10.96.0.1.
pub fn cluster_ip(ns_name: &str) -> String {
    let n = 2 + hash_of(ns_name) % ((1 << 20) - 3);
    format!("10.{}.{}.{}", 96 + (n >> 16), (n >> 8) & 0xff, n & 0xff)
}

fn service(spec: &mut Map<String, Value>, current: Option<&Value>, ns_name: &str) {
    default(spec, "sessionAffinity", json!("None"));
    default(spec, "type", json!("ClusterIP"));
    let ty = str_of(spec, "type").to_string();
    if str_of(spec, "sessionAffinity") == "ClientIP"
        && let Some(cfg) = object(spec, "sessionAffinityConfig").and_then(|c| object(c, "clientIP"))
    {
        default(cfg, "timeoutSeconds", json!(10800));
    }
    let node_ports = ty == "NodePort" || ty == "LoadBalancer";
    let cur_port = |port: &Value, protocol: &str| -> Option<Value> {
        current?
            .get("ports")?
            .as_array()?
            .iter()
            .find(|p| {
                p.get("port") == Some(port)
                    && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == protocol
            })?
            .get("nodePort")
            .cloned()
    };
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(p, "protocol", json!("TCP"));
            let empty_target = match p.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if empty_target && let Some(port) = p.get("port").cloned() {
                p.insert("targetPort".into(), port);
            }
            if node_ports && p.get("nodePort").is_none_or(|v| v.is_null() || v == 0) {
                let port = p.get("port").cloned().unwrap_or(Value::Null);
                let proto = str_of(p, "protocol").to_string();
                let np = cur_port(&port, &proto).unwrap_or_else(|| {
                    json!(30000 + hash_of(&format!("{ns_name}:{port}/{proto}")) % 2768)
                });
                p.insert("nodePort".into(), np);
            }
        }
    }
    if ty == "ExternalName" {
        return;
    }
    default(spec, "internalTrafficPolicy", json!("Cluster"));
    if node_ports {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    // Allocated once: an update that leaves them out keeps the stored values.
    let keep = |f: &str| {
        current
            .and_then(|c| c.get(f))
            .filter(|v| !v.is_null())
            .cloned()
    };
    let ip_absent = |spec: &Map<String, Value>| match spec.get("clusterIP") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if ip_absent(spec) {
        let ip = keep("clusterIP").unwrap_or_else(|| json!(cluster_ip(ns_name)));
        spec.insert("clusterIP".into(), ip);
    }
    if spec.get("clusterIPs").is_none_or(Value::is_null) {
        let ips = keep("clusterIPs")
            .filter(|ips| ips.get(0) == spec.get("clusterIP"))
            .unwrap_or_else(|| json!([spec.get("clusterIP").cloned().unwrap_or(Value::Null)]));
        spec.insert("clusterIPs".into(), ips);
    }
    if spec.get("ipFamilies").is_none_or(Value::is_null) {
        let fams = keep("ipFamilies").unwrap_or_else(|| json!(["IPv4"]));
        spec.insert("ipFamilies".into(), fams);
    }
    if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
        let policy = keep("ipFamilyPolicy").unwrap_or_else(|| json!("SingleStack"));
        spec.insert("ipFamilyPolicy".into(), policy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [
                        {"name": "app", "image": "ghcr.io/x/app:1.2",
                         "ports": [{"containerPort": 8080}],
                         "readinessProbe": {"httpGet": {"port": 8080}}},
                        {"name": "side", "image": "busybox"}]}}}})
    }

    #[test]
    fn deployment_and_pod_template_defaults() {
        let mut d = deploy();
        apply("apps", "deployments", &mut d, None);
        let spec = &d["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate",
                   "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["dnsPolicy"], "ClusterFirst");
        assert_eq!(pod["schedulerName"], "default-scheduler");
        assert_eq!(pod["securityContext"], json!({}));
        assert_eq!(pod["terminationGracePeriodSeconds"], 30);
        assert!(pod.get("enableServiceLinks").is_none());
        let app = &pod["containers"][0];
        assert_eq!(app["imagePullPolicy"], "IfNotPresent");
        assert_eq!(app["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(app["terminationMessagePolicy"], "File");
        assert_eq!(app["resources"], json!({}));
        assert_eq!(app["ports"][0]["protocol"], "TCP");
        assert_eq!(
            app["readinessProbe"],
            json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                   "timeoutSeconds": 1, "periodSeconds": 10,
                   "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(pod["containers"][1]["imagePullPolicy"], "Always");
    }

    #[test]
    fn defaults_never_override_and_are_idempotent() {
        let mut d = deploy();
        d["spec"]["replicas"] = json!(3);
        d["spec"]["strategy"] = json!({"type": "Recreate"});
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        apply("apps", "deployments", &mut d, None);
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Never");
        let once = d.clone();
        apply("apps", "deployments", &mut d, Some(&once));
        assert_eq!(d, once);
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}});
        apply_object(&mut cm, None);
        assert_eq!(
            cm,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}})
        );
    }

    #[test]
    fn pull_policies() {
        assert_eq!(pull_policy("nginx"), "Always");
        assert_eq!(pull_policy("nginx:latest"), "Always");
        assert_eq!(pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(pull_policy("localhost:5000/app"), "Always");
        assert_eq!(pull_policy("localhost:5000/app:v1"), "IfNotPresent");
        assert_eq!(pull_policy("app@sha256:abcd"), "IfNotPresent");
        assert_eq!(pull_policy("app:latest@sha256:abcd"), "Always");
    }

    #[test]
    fn statefulset_daemonset_job_cronjob() {
        let mut s = json!({"spec": {"serviceName": "db", "template": {"spec": {"containers": []}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}});
        apply("apps", "statefulsets", &mut s, None);
        assert_eq!(s["spec"]["replicas"], 1);
        assert_eq!(s["spec"]["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            s["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            s["spec"]["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(s["spec"]["revisionHistoryLimit"], 10);
        let claim = &s["spec"]["volumeClaimTemplates"][0];
        assert_eq!(claim["kind"], "PersistentVolumeClaim");
        assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
        assert_eq!(claim["status"]["phase"], "Pending");

        let mut ds = json!({"spec": {"template": {"spec": {}}}});
        apply("apps", "daemonsets", &mut ds, None);
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);

        let mut j = json!({"metadata": {"name": "j", "uid": "u-1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}});
        apply("batch", "jobs", &mut j, None);
        assert_eq!(j["spec"]["completions"], 1);
        assert_eq!(j["spec"]["parallelism"], 1);
        assert_eq!(j["spec"]["backoffLimit"], 6);
        assert_eq!(j["spec"]["completionMode"], "NonIndexed");
        assert_eq!(j["spec"]["suspend"], false);
        assert_eq!(
            j["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            "u-1"
        );
        assert_eq!(
            j["spec"]["template"]["metadata"]["labels"]["controller-uid"],
            "u-1"
        );
        assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");

        let mut cj = json!({"spec": {"schedule": "* * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}}}}}});
        apply("batch", "cronjobs", &mut cj, None);
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(
            cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert!(
            cj["spec"]["jobTemplate"]["spec"]
                .get("backoffLimit")
                .is_none()
        );
    }

    #[test]
    fn services_allocate_once_and_keep() {
        let mut svc = json!({"metadata": {"name": "web", "namespace": "apps"},
            "spec": {"ports": [{"name": "http", "port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}});
        apply("", "services", &mut svc, None);
        let spec = &svc["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(
            spec["ports"][0],
            json!({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(spec["ports"][1]["targetPort"], "dns");
        let ip = spec["clusterIP"].as_str().unwrap().to_string();
        assert!(ip.starts_with("10."), "{ip}");
        assert_eq!(spec["clusterIPs"], json!([ip]));

        // An update without the allocated fields keeps them, even if allocation would differ.
        let mut stored = svc.clone();
        stored["spec"]["clusterIP"] = json!("10.96.7.7");
        stored["spec"]["clusterIPs"] = json!(["10.96.7.7"]);
        let mut upd = json!({"metadata": {"name": "web", "namespace": "apps"},
            "spec": {"ports": [{"port": 80}]}});
        apply("", "services", &mut upd, Some(&stored));
        assert_eq!(upd["spec"]["clusterIP"], "10.96.7.7");
        assert_eq!(upd["spec"]["clusterIPs"], json!(["10.96.7.7"]));

        let mut headless = json!({"spec": {"clusterIP": "None", "ports": [{"port": 5432}]}});
        apply("", "services", &mut headless, None);
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));

        let mut np = json!({"metadata": {"name": "n", "namespace": "a"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]}});
        apply("", "services", &mut np, None);
        let port = np["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
        assert!((30000..=32767).contains(&port));
        assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
        let mut again = json!({"metadata": {"name": "n", "namespace": "a"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]}});
        let mut cur = np.clone();
        cur["spec"]["ports"][0]["nodePort"] = json!(31000);
        apply("", "services", &mut again, Some(&cur));
        assert_eq!(again["spec"]["ports"][0]["nodePort"], 31000);

        let mut ext = json!({"spec": {"type": "ExternalName", "externalName": "x.example.com"}});
        apply("", "services", &mut ext, None);
        assert!(ext["spec"].get("clusterIP").is_none());
    }

    #[test]
    fn pod_essentials() {
        let mut p = json!({"spec": {"containers": [{"name": "a", "image": "a:1",
            "resources": {"limits": {"cpu": "1"}}}]}});
        apply("", "pods", &mut p, None);
        let spec = &p["spec"];
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(spec["containers"][0]["resources"]["requests"]["cpu"], "1");
        let once = p.clone();
        apply("", "pods", &mut p, Some(&once));
        assert_eq!(p, once);
    }
}
