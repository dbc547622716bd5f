//! How lists merge. Kubernetes declares for each list of the built-in kinds whether it is
//! atomic (replaced whole), a set of scalars, or a map keyed by some fields of its items
//! (`x-kubernetes-list-type: map` and `x-kubernetes-list-map-keys`, `patchMergeKey` for
//! strategic merge patches): containers by name, container ports by port and protocol,
//! env by name, and so on. Server-side apply and strategic merge patches merge keyed lists
//! item by item; everything else is replaced. Lists of custom resources are atomic.

use serde_json::{Map, Value, json};

use crate::sim::defaults::{self, Kind};

/// How a list merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map(&'static [&'static str]),
}

const NAME: &[&str] = &["name"];

fn has_pod_spec(kind: Kind) -> bool {
    !matches!(kind, Kind::Service)
}

fn is_container_list(field: &str) -> bool {
    matches!(
        field,
        "containers" | "initContainers" | "ephemeralContainers"
    )
}

/// The list type of the list at `path` (object field names from the root; list items add
/// no segment) in an object of `kind`.
pub fn list_type(kind: Option<Kind>, path: &[String]) -> ListType {
    let seg = |i: usize| -> &str {
        path.len()
            .checked_sub(i + 1)
            .and_then(|j| path.get(j))
            .map_or("", String::as_str)
    };
    let (last, parent) = (seg(0), seg(1));
    if path.len() == 2 && path[0] == "metadata" {
        return match last {
            "finalizers" => ListType::Set,
            "ownerReferences" => ListType::Map(&["uid"]),
            _ => ListType::Atomic,
        };
    }
    let Some(kind) = kind else {
        return ListType::Atomic;
    };
    if kind == Kind::Service {
        return if path == ["spec", "ports"] {
            ListType::Map(&["port", "protocol"])
        } else {
            ListType::Atomic
        };
    }
    if !has_pod_spec(kind) || path.first().is_some_and(|p| p == "status") {
        return ListType::Atomic;
    }
    if is_container_list(parent) {
        return match last {
            "ports" => ListType::Map(&["containerPort", "protocol"]),
            "env" => ListType::Map(NAME),
            "volumeMounts" => ListType::Map(&["mountPath"]),
            "volumeDevices" => ListType::Map(&["devicePath"]),
            "resizePolicy" => ListType::Map(&["resourceName"]),
            _ => ListType::Atomic,
        };
    }
    if parent == "spec" {
        return match last {
            l if is_container_list(l) => ListType::Map(NAME),
            "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" => {
                ListType::Map(NAME)
            }
            "hostAliases" => ListType::Map(&["ip"]),
            "topologySpreadConstraints" => ListType::Map(&["topologyKey", "whenUnsatisfiable"]),
            _ => ListType::Atomic,
        };
    }
    ListType::Atomic
}

/// The value a key field has when an item leaves it out.
pub fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| json!("TCP"))
}

/// An item's key: its key fields, sorted by name, with defaults filled in.
pub fn item_key(item: &Value, keys: &[&str]) -> Map<String, Value> {
    let mut names: Vec<&str> = keys.to_vec();
    names.sort_unstable();
    names
        .into_iter()
        .filter_map(|k| {
            item.get(k)
                .filter(|v| !v.is_null())
                .cloned()
                .or_else(|| key_default(k))
                .map(|v| (k.to_string(), v))
        })
        .collect()
}

/// Whether an item has the given key (a `k:{...}` of managed fields, or an item's key).
pub fn matches_key(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, v)| {
        item.get(k)
            .filter(|x| !x.is_null())
            .cloned()
            .or_else(|| key_default(k))
            .as_ref()
            == Some(v)
    })
}

fn position(list: &[Value], item: &Value, keys: &[&str]) -> Option<usize> {
    let key = item_key(item, keys);
    list.iter().position(|x| matches_key(x, &key))
}

/// Merge an apply configuration onto an object, as server-side apply does once the fields
/// the manager stopped applying are gone: applied fields win, maps merge, keyed lists merge
/// item by item (new items are appended), other lists are replaced; `null` removes a field.
pub fn merge_applied(kind: Option<Kind>, live: &Value, applied: &Value) -> Value {
    let mut path = Vec::new();
    merge_at(kind, &mut path, live, applied)
}

fn merge_at(kind: Option<Kind>, path: &mut Vec<String>, live: &Value, applied: &Value) -> Value {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            let mut out = l.clone();
            for (k, av) in a {
                if av.is_null() {
                    out.remove(k);
                    continue;
                }
                path.push(k.clone());
                let merged = merge_at(kind, path, l.get(k).unwrap_or(&Value::Null), av);
                path.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(a)) => match list_type(kind, path) {
            ListType::Atomic => applied.clone(),
            ListType::Set => {
                let mut out = l.clone();
                for v in a {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
                Value::Array(out)
            }
            ListType::Map(keys) => {
                let mut out = l.clone();
                for item in a {
                    match position(&out, item, keys) {
                        Some(i) => out[i] = merge_at(kind, path, &out[i], item),
                        None => out.push(merge_at(kind, path, &Value::Null, item)),
                    }
                }
                Value::Array(out)
            }
        },
        (_, Value::Object(_)) => merge_at(kind, path, &Value::Object(Map::new()), applied),
        _ => applied.clone(),
    }
}

/// The object a server-side apply of `applied` onto `live` results in, with the API
/// server's defaults, as `dryRun=All` answers it for a manager that applied nothing before
/// (so nothing is removed): keyed lists merge by key, other lists are replaced, allocated
/// values (a Service's clusterIP) are kept. `status` of the apply configuration is ignored,
/// as for the main resource.
pub fn apply_merge(live: &Value, applied: &Value) -> Value {
    let kind = Kind::of_object(applied).or_else(|| Kind::of_object(live));
    let mut applied = applied.clone();
    if let Some(m) = applied.as_object_mut() {
        m.remove("status");
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            for f in ["managedFields", "resourceVersion", "uid", "generation"] {
                meta.remove(f);
            }
        }
    }
    let mut out = merge_applied(kind, live, &applied);
    if let Some(kind) = kind {
        defaults::apply_kind(kind, &mut out, Some(live));
    }
    out
}

/// Apply a strategic merge patch: like a JSON merge patch, but keyed lists merge item by
/// item, and the directives `$patch: delete|replace|merge`, `$retainKeys`,
/// `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are understood.
pub fn strategic_merge(kind: Option<Kind>, doc: &mut Value, patch: &Value) {
    let mut path = Vec::new();
    smp_at(kind, &mut path, doc, patch);
}

fn smp_at(kind: Option<Kind>, path: &mut Vec<String>, doc: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *doc = patch.clone();
        return;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut m = p.clone();
            m.remove("$patch");
            *doc = Value::Object(m);
            return;
        }
        Some("delete") => {
            *doc = Value::Null;
            return;
        }
        _ => {}
    }
    if !doc.is_object() {
        *doc = json!({});
    }
    let Some(d) = doc.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(retain)) = p.get("$retainKeys") {
        d.retain(|k, _| retain.iter().any(|r| r == k));
    }
    for (k, pv) in p {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(gone)) = (d.get_mut(field), pv) {
                list.retain(|v| !gone.contains(v));
            }
            continue;
        }
        if pv.is_null() {
            d.remove(k);
            continue;
        }
        path.push(k.clone());
        match pv {
            Value::Array(items) => {
                let merged = smp_list(kind, path, d.get(k), items);
                d.insert(k.clone(), merged);
            }
            Value::Object(_) => {
                let slot = d.entry(k.clone()).or_insert(Value::Null);
                smp_at(kind, path, slot, pv);
                if slot.is_null() {
                    d.remove(k);
                }
            }
            _ => {
                d.insert(k.clone(), pv.clone());
            }
        }
        path.pop();
    }
}

fn smp_list(
    kind: Option<Kind>,
    path: &mut Vec<String>,
    cur: Option<&Value>,
    items: &[Value],
) -> Value {
    let directive = |v: &Value| v.get("$patch").and_then(Value::as_str).map(String::from);
    if items
        .iter()
        .any(|i| directive(i).as_deref() == Some("replace"))
    {
        return Value::Array(
            items
                .iter()
                .filter(|i| directive(i).is_none())
                .cloned()
                .collect(),
        );
    }
    let cur = cur.and_then(Value::as_array);
    match list_type(kind, path) {
        ListType::Atomic => Value::Array(items.to_vec()),
        ListType::Set => {
            let mut out = cur.cloned().unwrap_or_default();
            for v in items {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Value::Array(out)
        }
        ListType::Map(keys) => {
            let mut out = cur.cloned().unwrap_or_default();
            for item in items {
                let pos = position(&out, item, keys);
                match (directive(item).as_deref(), pos) {
                    (Some("delete"), Some(i)) => {
                        out.remove(i);
                    }
                    (Some("delete"), None) => {}
                    (_, Some(i)) => smp_at(kind, path, &mut out[i], item),
                    (_, None) => {
                        let mut fresh = Value::Null;
                        smp_at(kind, path, &mut fresh, item);
                        out.push(fresh);
                    }
                }
            }
            Value::Array(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(containers: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "apps"},
               "spec": {"template": {"spec": {"containers": containers}}}})
    }

    fn p(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn list_types_of_the_built_in_kinds() {
        let d = Some(Kind::Deployment);
        assert_eq!(
            list_type(d, &p(&["spec", "template", "spec", "containers"])),
            ListType::Map(&["name"])
        );
        assert_eq!(
            list_type(d, &p(&["spec", "template", "spec", "containers", "ports"])),
            ListType::Map(&["containerPort", "protocol"])
        );
        assert_eq!(
            list_type(d, &p(&["spec", "template", "spec", "containers", "args"])),
            ListType::Atomic
        );
        assert_eq!(
            list_type(d, &p(&["spec", "template", "spec", "tolerations"])),
            ListType::Atomic
        );
        assert_eq!(
            list_type(Some(Kind::Service), &p(&["spec", "ports"])),
            ListType::Map(&["port", "protocol"])
        );
        assert_eq!(
            list_type(None, &p(&["metadata", "finalizers"])),
            ListType::Set
        );
        assert_eq!(
            list_type(None, &p(&["spec", "containers"])),
            ListType::Atomic
        );
    }

    #[test]
    fn keyed_lists_merge_by_key_and_atomic_lists_are_replaced() {
        let live = deploy(json!([
            {"name": "app", "image": "app:1", "imagePullPolicy": "IfNotPresent",
             "args": ["a", "b"], "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "side", "image": "side:1"}]));
        let applied = deploy(json!([
            {"name": "app", "image": "app:2", "args": ["c"],
             "env": [{"name": "B", "value": "3"}], "ports": [{"containerPort": 80}]}]));
        let out = merge_applied(Some(Kind::Deployment), &live, &applied);
        let cs = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(cs.as_array().unwrap().len(), 2);
        assert_eq!(cs[0]["image"], "app:2");
        assert_eq!(cs[0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(cs[0]["args"], json!(["c"]));
        assert_eq!(
            cs[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
        );
        assert_eq!(
            cs[0]["ports"],
            json!([{"containerPort": 80, "protocol": "TCP"}])
        );
        assert_eq!(cs[1]["name"], "side");
    }

    #[test]
    fn apply_merge_of_an_untouched_object_is_the_object() {
        let mut live = deploy(json!([{"name": "app", "image": "app:1",
            "ports": [{"containerPort": 80}]}]));
        defaults::apply_object(&mut live, None);
        live["metadata"]["labels"] = json!({"extra": "kept"});
        let applied = deploy(json!([{"name": "app", "image": "app:1",
            "ports": [{"containerPort": 80}]}]));
        assert_eq!(apply_merge(&live, &applied), live);
        let mut changed = applied.clone();
        changed["spec"]["replicas"] = json!(3);
        let out = apply_merge(&live, &changed);
        assert_eq!(out["spec"]["replicas"], 3);
        // A container the object does not have yet arrives with its defaults.
        let added =
            deploy(json!([{"name": "app", "image": "app:1"}, {"name": "new", "image": "n"}]));
        let out = apply_merge(&live, &added);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"],
            "Always"
        );
    }

    #[test]
    fn service_ports_merge_by_port_and_keep_the_cluster_ip() {
        let mut live = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "a"},
            "spec": {"ports": [{"name": "http", "port": 80}]}});
        defaults::apply_object(&mut live, None);
        let ip = live["spec"]["clusterIP"].clone();
        let applied = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "a"},
            "spec": {"ports": [{"name": "http", "port": 80}]}});
        let out = apply_merge(&live, &applied);
        assert_eq!(out, live);
        assert_eq!(out["spec"]["clusterIP"], ip);
    }

    #[test]
    fn strategic_merge_patches() {
        let mut doc = deploy(json!([
            {"name": "app", "image": "app:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "side", "image": "side:1"}]));
        doc["metadata"]["finalizers"] = json!(["a"]);
        let patch = json!({"metadata": {"finalizers": ["b"]},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                "containers": [{"name": "app", "image": "app:2"},
                               {"name": "side", "$patch": "delete"}]}}}});
        strategic_merge(Some(Kind::Deployment), &mut doc, &patch);
        let cs = doc["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0]["image"], "app:2");
        assert_eq!(cs[0]["ports"][0]["containerPort"], 80);
        assert_eq!(doc["metadata"]["finalizers"], json!(["a", "b"]));
        strategic_merge(
            Some(Kind::Deployment),
            &mut doc,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
                    "spec": {"template": {"spec": {"containers": [
                        {"$patch": "replace"}, {"name": "only", "image": "o"}]}}}}),
        );
        assert_eq!(doc["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(
            doc["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "o"}])
        );
    }
}
