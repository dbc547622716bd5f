//! Requests on resources: resolve the type, check scope, verb, injected faults and the
//! permission policy, then hand over to the verb.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, Response, header};

use super::errors::ApiError;
use super::handler::header_str;
use super::request::{Query, ResourcePath};
use super::{Ctx, patch, read, watch, write};
use crate::sim::registry::ResourceType;
use crate::sim::store::{ObjKey, ResourceId, StoreError, WritePart};

/// The resolved target of a resource request.
pub struct Target {
    pub rt: ResourceType,
    pub id: ResourceId,
    /// The `apiVersion` the request is served under.
    pub api_version: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The request addresses the status subresource.
    pub status: bool,
}

impl Target {
    /// Which part of the object a write here may change.
    pub fn part(&self) -> WritePart {
        if self.status {
            WritePart::Status
        } else if self.rt.has_status {
            WritePart::Main
        } else {
            WritePart::All
        }
    }

    pub fn key(&self) -> ObjKey {
        ObjKey::new(
            self.namespace.as_deref().unwrap_or_default(),
            self.name.as_deref().unwrap_or_default(),
        )
    }

    /// The `apiVersion` objects are stored with.
    pub fn storage_api_version(&self) -> String {
        self.rt.api_version(self.rt.preferred_version())
    }

    pub fn store_err(&self, e: StoreError) -> ApiError {
        ApiError::from_store(e, &self.rt.group, &self.rt.plural)
    }

    pub fn not_found(&self, name: &str) -> ApiError {
        self.store_err(StoreError::NotFound {
            resource: self.id.to_string(),
            name: name.to_string(),
        })
    }
}

fn verb_of(method: &Method, named: bool, watch: bool) -> Option<&'static str> {
    Some(match (method.as_str(), named) {
        ("GET" | "HEAD", _) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", false) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return None,
    })
}

fn forbidden(verb: &str, rt: &ResourceType, p: &ResourcePath) -> ApiError {
    let res = if rt.group.is_empty() {
        rt.plural.clone()
    } else {
        format!("{}.{}", rt.plural, rt.group)
    };
    let name = p.name.as_deref().unwrap_or_default();
    let scope = match &p.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let subject = if name.is_empty() {
        res
    } else {
        format!("{res} \"{name}\"")
    };
    ApiError::new(
        403,
        "Forbidden",
        format!(
            "{subject} is forbidden: User \"system:serviceaccount:flux-system:fluxdeck\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            rt.plural, rt.group
        ),
    )
    .with_details(name, &rt.group, &rt.plural)
}

pub async fn handle(
    ctx: &Arc<Ctx>,
    p: ResourcePath,
    q: Query,
    req: Request<Body>,
) -> Result<Response<Body>, ApiError> {
    let rt = ctx
        .registry
        .find(&p.group, &p.version, &p.plural)
        .ok_or_else(ApiError::not_found_path)?;
    if p.namespace.is_some() && !rt.namespaced {
        return Err(ApiError::not_found_path());
    }
    if rt.namespaced && p.namespace.is_none() && p.name.is_some() {
        return Err(ApiError::not_found_path());
    }
    let status = match p.subresource.as_deref() {
        None => false,
        Some("status") if rt.has_status => true,
        Some(_) => return Err(ApiError::not_found_path()),
    };
    let watching = p.watch || q.watch;
    let method = req.method().clone();
    let not_allowed = || {
        ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource: {method}"
        ))
    };
    let verb = verb_of(&method, p.name.is_some(), watching).ok_or_else(not_allowed)?;
    if (p.watch && verb != "watch") || (status && !matches!(verb, "get" | "update" | "patch")) {
        return Err(not_allowed());
    }
    if !status && !rt.verbs.iter().any(|v| v == verb) {
        return Err(not_allowed());
    }
    if rt.namespaced && p.namespace.is_none() && verb == "create" {
        return Err(ApiError::method_not_allowed(format!(
            "create a namespaced {} at /namespaces/NAMESPACE/{}",
            rt.kind, rt.plural
        )));
    }
    if ctx.faults.inject_error() {
        return Err(ApiError::internal(
            "injected fault: an internal error occurred (simulated)",
        ));
    }
    if ctx
        .faults
        .is_forbidden(verb, &rt.group, &rt.plural, p.namespace.as_deref())
    {
        return Err(forbidden(verb, &rt, &p));
    }
    let accept = header_str(req.headers(), header::ACCEPT)
        .unwrap_or_default()
        .to_string();
    let content_type = header_str(req.headers(), header::CONTENT_TYPE).map(String::from);
    let target = Target {
        id: rt.id(),
        api_version: rt.api_version(&p.version),
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        status,
        rt,
    };
    let (parts, body) = req.into_parts();
    match verb {
        "get" => read::get(ctx, &target, &q, &accept),
        "list" => read::list(ctx, &target, &q, &accept),
        "watch" => watch::watch(ctx, target, &q, &accept),
        "create" | "update" | "patch" | "delete" | "deletecollection" => {
            let body = super::handler::read_body(&parts.headers, body).await?;
            match verb {
                "create" => write::create(ctx, &target, &q, content_type.as_deref(), &body),
                "update" => write::update(ctx, &target, &q, content_type.as_deref(), &body),
                "patch" => patch::patch(ctx, &target, &q, content_type.as_deref(), &body),
                "delete" => write::delete(ctx, &target, &q, &body),
                _ => write::delete_collection(ctx, &target, &q, &body),
            }
        }
        _ => Err(not_allowed()),
    }
}
