//! A minimal OpenAPI v3 description: an index with one document per group-version, each
//! with a permissive schema per kind and the object paths with their PATCH operation
//! (carrying `x-kubernetes-group-version-kind` and the `fieldValidation` parameter), which is
//! what `kubectl apply` needs to validate on the server side with JSON only.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::discovery::{GIT_VERSION, group_versions};
use crate::sim::registry::ResourceType;

fn doc_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn schema_name(t: &ResourceType, version: &str) -> String {
    if t.group.is_empty() {
        format!("io.k8s.api.core.{version}.{}", t.kind)
    } else {
        let rev: Vec<&str> = t.group.split('.').rev().collect();
        format!("{}.{version}.{}", rev.join("."), t.kind)
    }
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// The document of one group-version; `None` when nothing is served there.
pub fn document(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for t in types
        .iter()
        .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
    {
        let gvk = json!({"group": t.group, "version": version, "kind": t.kind});
        let name = schema_name(t, version);
        let reference = json!({"$ref": format!("#/components/schemas/{name}")});
        schemas.insert(
            name,
            json!({
                "type": "object",
                "description": format!("{} (schema not enforced by the simulated cluster)", t.kind),
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [gvk],
            }),
        );
        let base = format!("/{}", doc_path(group, version));
        let item = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{base}/{}/{{name}}", t.plural)
        };
        let ok = json!({"200": {"description": "OK",
            "content": {"application/json": {"schema": reference}}}});
        let params = [
            "dryRun",
            "fieldManager",
            "fieldValidation",
            "force",
            "pretty",
        ]
        .map(query_param);
        let patch_body = json!({"content": {
            "application/json-patch+json": {"schema": {"type": "object"}},
            "application/merge-patch+json": {"schema": {"type": "object"}},
            "application/apply-patch+yaml": {"schema": {"type": "object"}},
        }});
        let op = |action: &str| {
            json!({
                "operationId": format!("{action}{}", t.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "responses": ok,
            })
        };
        let mut patch = op("patch");
        patch["parameters"] = json!(params);
        patch["requestBody"] = patch_body;
        let mut put = op("put");
        put["parameters"] = json!(params);
        put["requestBody"] = json!({"content": {"application/json": {"schema": reference}}});
        paths.insert(
            item,
            json!({"get": op("get"), "put": put, "patch": patch, "delete": op("delete")}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The `/openapi/v3` index.
pub fn index(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for (g, v) in group_versions(types) {
        let Some(doc) = document(types, &g, &v) else {
            continue;
        };
        let hash = hex::encode(Sha256::digest(doc.to_string().as_bytes()));
        let p = doc_path(&g, &v);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", &hash[..32])}),
        );
    }
    json!({ "paths": paths })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::registry::{FluxApiLevel, builtin};

    #[test]
    fn index_and_documents() {
        let types = builtin(FluxApiLevel::Current);
        let idx = index(&types);
        let url = idx["paths"]["apis/helm.toolkit.fluxcd.io/v2"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/apis/helm.toolkit.fluxcd.io/v2?hash="));
        let doc = document(&types, "helm.toolkit.fluxcd.io", "v2").unwrap();
        let p = &doc["paths"]["/apis/helm.toolkit.fluxcd.io/v2/namespaces/{namespace}/helmreleases/{name}"];
        assert_eq!(
            p["patch"]["x-kubernetes-group-version-kind"]["kind"],
            "HelmRelease"
        );
        assert!(
            p["patch"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == "fieldValidation")
        );
        assert!(document(&types, "nope", "v1").is_none());
    }
}
