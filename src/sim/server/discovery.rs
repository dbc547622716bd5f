//! API discovery: `/version`, `/api`, `/apis`, `/apis/GROUP`, the per-version resource lists
//! and the aggregated discovery (`apidiscovery.k8s.io/v2`) form, all from the registry.

use serde_json::{Value, json};

use crate::sim::registry::ResourceType;

/// The Kubernetes version the simulated cluster reports.
pub const GIT_VERSION: &str = "v1.33.0";

/// Content type of aggregated discovery responses.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// Whether the `Accept` header prefers aggregated discovery (v2) over plain JSON.
pub fn wants_aggregated(accept: &str) -> bool {
    for part in accept.split(',') {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        if params.contains(&"as=APIGroupDiscoveryList")
            && params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
        {
            return true;
        }
        if matches!(params.first(), Some(&"application/json") | Some(&"*/*")) {
            return false;
        }
    }
    false
}

/// A group with its versions, preferred first.
struct GroupInfo<'a> {
    name: &'a str,
    versions: Vec<&'a str>,
}

fn groups(types: &[ResourceType]) -> Vec<GroupInfo<'_>> {
    let mut out: Vec<GroupInfo<'_>> = Vec::new();
    for t in types {
        let idx = match out.iter().position(|g| g.name == t.group) {
            Some(i) => i,
            None => {
                out.push(GroupInfo {
                    name: &t.group,
                    versions: Vec::new(),
                });
                out.len() - 1
            }
        };
        for v in &t.versions {
            if !out[idx].versions.contains(&v.as_str()) {
                out[idx].versions.push(v);
            }
        }
    }
    out
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn api_group(g: &GroupInfo<'_>) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|v| json!({"groupVersion": group_version(g.name, v), "version": v}))
        .collect();
    json!({
        "name": g.name,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/api`
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

/// `/apis`
pub fn group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = groups(types)
        .iter()
        .filter(|g| !g.name.is_empty())
        .map(api_group)
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/GROUP`, `None` when the group is not served.
pub fn group(types: &[ResourceType], name: &str) -> Option<Value> {
    let gs = groups(types);
    let g = gs.iter().find(|g| g.name == name && !name.is_empty())?;
    let mut v = api_group(g);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Some(v)
}

fn types_at<'a>(
    types: &'a [ResourceType],
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'a ResourceType> {
    types
        .iter()
        .filter(move |t| t.group == group && t.versions.iter().any(|v| v == version))
}

const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// `/api/v1`, `/apis/GROUP/VERSION`; `None` when not served.
pub fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for t in types_at(types, group, version) {
        resources.push(json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": t.verbs,
            "shortNames": t.short_names,
            "categories": t.categories,
        }));
        if t.has_status {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": resources,
    }))
}

/// Aggregated discovery for the core group (`core == true`, `/api`) or all named groups.
pub fn aggregated(types: &[ResourceType], core: bool) -> Value {
    let items: Vec<Value> = groups(types)
        .iter()
        .filter(|g| g.name.is_empty() == core)
        .map(|g| {
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = types_at(types, g.name, v)
                        .map(|t| {
                            let kind = json!({"group": t.group, "version": v, "kind": t.kind});
                            let subresources: Vec<Value> = if t.has_status {
                                vec![json!({"subresource": "status", "responseKind": kind,
                                            "verbs": STATUS_VERBS})]
                            } else {
                                Vec::new()
                            };
                            json!({
                                "resource": t.plural,
                                "responseKind": kind,
                                "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": t.singular,
                                "verbs": t.verbs,
                                "shortNames": t.short_names,
                                "categories": t.categories,
                                "subresources": subresources,
                            })
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g.name}, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// Every served group-version (`("", "v1")` for the core group).
pub fn group_versions(types: &[ResourceType]) -> Vec<(String, String)> {
    groups(types)
        .iter()
        .flat_map(|g| {
            g.versions
                .iter()
                .map(|v| (g.name.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::registry::{FluxApiLevel, builtin};

    #[test]
    fn discovery_documents() {
        let types = builtin(FluxApiLevel::Current);
        let gl = group_list(&types);
        let names: Vec<&str> = gl["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert!(names.contains(&"helm.toolkit.fluxcd.io"));
        assert!(!names.contains(&""));
        let rl = resource_list(&types, "helm.toolkit.fluxcd.io", "v2").unwrap();
        let res = rl["resources"].as_array().unwrap();
        assert_eq!(res[0]["shortNames"], json!(["hr"]));
        assert_eq!(res[1]["name"], "helmreleases/status");
        assert!(resource_list(&types, "helm.toolkit.fluxcd.io", "v2beta2").is_none());
        let legacy = builtin(FluxApiLevel::Legacy);
        assert!(resource_list(&legacy, "helm.toolkit.fluxcd.io", "v2beta2").is_some());
        let agg = aggregated(&types, true);
        assert_eq!(agg["items"].as_array().unwrap().len(), 1);
        assert!(wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        ));
        assert!(!wants_aggregated("application/json, */*"));
    }
}
