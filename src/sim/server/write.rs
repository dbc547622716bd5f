//! Writes: create (POST), update (PUT), delete and deletecollection, including the status
//! subresource, dry runs, field managers, and the special kinds: CustomResourceDefinitions
//! (register their resources), Namespaces (phase Active) and SelfSubjectAccessReviews
//! (answered from the permission policy, never stored).

use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::Ctx;
use super::errors::{ApiError, json_response};
use super::managed;
use super::read::{Filter, respond_object};
use super::request::Query;
use super::resource::Target;
use crate::sim::defaults::{self, Kind};
use crate::sim::registry::type_from_crd;
use crate::sim::store::{ObjKey, ResourceId, StoreError, WriteOpts};

const CRD_GROUP: &str = "apiextensions.k8s.io";

/// The media type without parameters, lower-cased ("" when absent).
pub fn media_type(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Decode a create/update body (JSON, or YAML).
fn decode_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    let mt = media_type(content_type);
    let v: Value = match mt.as_str() {
        "" | "application/json" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid YAML: {e}")))?,
        _ => {
            return Err(ApiError::unsupported_media_type(
                content_type.unwrap_or_default(),
            ));
        }
    };
    if !v.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    Ok(v)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Check and normalise an incoming object against the request path: apiVersion and kind
/// must match, namespace and name come from the path when absent and must agree otherwise.
/// Sets the storage apiVersion and the kind.
pub fn prepare(target: &Target, obj: &mut Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let kind = &target.rt.kind;
    match map.get("apiVersion") {
        None => {}
        Some(Value::String(v)) if *v == target.api_version => {}
        Some(v) => {
            return Err(ApiError::invalid(format!(
                "apiVersion {v} does not match the request path (expected {:?})",
                target.api_version
            ))
            .with_details("", &target.rt.group, kind));
        }
    }
    match map.get("kind") {
        None => {}
        Some(Value::String(k)) if k == kind => {}
        Some(k) => {
            return Err(ApiError::invalid(format!(
                "kind {k} does not match the request path (expected {kind:?})"
            ))
            .with_details("", &target.rt.group, kind));
        }
    }
    map.insert("apiVersion".into(), json!(target.storage_api_version()));
    map.insert("kind".into(), json!(kind));
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::bad_request("metadata must be an object"));
    };
    if target.rt.namespaced {
        let path_ns = target.namespace.as_deref().unwrap_or_default();
        match meta.get("namespace").and_then(Value::as_str) {
            None | Some("") => {
                meta.insert("namespace".into(), json!(path_ns));
            }
            Some(ns) if ns == path_ns => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
    } else {
        meta.remove("namespace");
    }
    if let Some(path_name) = &target.name {
        match meta.get("name").and_then(Value::as_str) {
            None | Some("") => {
                meta.insert("name".into(), json!(path_name));
            }
            Some(n) if n == path_name => {}
            Some(n) => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({path_name})"
                )));
            }
        }
    }
    Ok(())
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn opts(q: &Query) -> WriteOpts {
    WriteOpts { dry_run: q.dry_run }
}

/// Create an already prepared object (also used by server-side apply).
pub fn create_object(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    mut obj: Value,
    operation: &str,
) -> Result<Arc<Value>, ApiError> {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
        if meta
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
        {
            let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..5].to_string();
            meta.insert("name".into(), json!(format!("{prefix}{suffix}")));
        }
    }
    let name = name_of(&obj).to_string();
    if name.is_empty() {
        return Err(ApiError::invalid(format!(
            "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
            target.rt.kind
        ))
        .with_details("", &target.rt.group, &target.rt.kind));
    }
    if !valid_name(&name) {
        return Err(ApiError::invalid(format!(
            "{} {name:?} is invalid: metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            target.rt.kind
        ))
        .with_details(&name, &target.rt.group, &target.rt.kind));
    }
    if target.rt.has_status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    match (target.rt.group.as_str(), target.rt.plural.as_str()) {
        (CRD_GROUP, "customresourcedefinitions") => crd_status(target, &mut obj)?,
        ("", "namespaces") => obj["status"] = json!({"phase": "Active"}),
        _ => {}
    }
    if let Some(m) = &q.field_manager {
        let kind = Kind::of_resource(&target.id.group, &target.id.plural);
        // An applier owns what it applied; a creator also owns what defaulting filled in.
        let applied = managed::fields_v1(&obj, kind);
        defaults::apply(&target.id.group, &target.id.plural, &mut obj, None);
        let fields = if operation == "Apply" {
            applied
        } else {
            managed::fields_v1(&obj, kind)
        };
        managed::record(&mut obj, m, operation, &target.api_version, None, fields);
    }
    let created = ctx
        .store
        .create(&target.id, obj, opts(q))
        .map_err(|e| target.store_err(e))?;
    if !q.dry_run && target.rt.group == CRD_GROUP && target.rt.plural == "customresourcedefinitions"
    {
        ctx.registry.register_crd(&created);
    }
    Ok(created)
}

/// Validate a CRD and give it the status a real API server reports once it is established.
fn crd_status(target: &Target, obj: &mut Value) -> Result<(), ApiError> {
    let t = type_from_crd(obj).ok_or_else(|| {
        ApiError::invalid(
            "CustomResourceDefinition is invalid: spec.group, spec.names.kind, spec.names.plural and at least one served version are required",
        )
        .with_details(name_of(obj), &target.rt.group, &target.rt.kind)
    })?;
    let expected = format!("{}.{}", t.plural, t.group);
    if name_of(obj) != expected {
        return Err(ApiError::invalid(format!(
            "CustomResourceDefinition {:?} is invalid: metadata.name: Invalid value: must be spec.names.plural+\".\"+spec.group ({expected:?})",
            name_of(obj)
        ))
        .with_details(name_of(obj), &target.rt.group, &target.rt.kind));
    }
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let cond = |type_: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": "True", "lastTransitionTime": now,
               "reason": reason, "message": message})
    };
    obj["status"] = json!({
        "acceptedNames": obj.pointer("/spec/names").cloned().unwrap_or_else(|| json!({})),
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": [t.preferred_version()],
    });
    Ok(())
}

pub fn create(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let mut obj = decode_body(content_type, body)?;
    prepare(target, &mut obj)?;
    if target.rt.group == "authorization.k8s.io" && target.rt.plural == "selfsubjectaccessreviews" {
        return Ok(json_response(201, &access_review(ctx, target, obj)));
    }
    let created = create_object(ctx, target, q, obj, "Update")?;
    Ok(respond_object(201, target, &created, q, ""))
}

fn access_review(ctx: &Arc<Ctx>, target: &Target, mut obj: Value) -> Value {
    let attrs = obj.pointer("/spec/resourceAttributes").cloned();
    let allowed = match &attrs {
        None => true,
        Some(a) => {
            let s = |f: &str| a.get(f).and_then(Value::as_str).unwrap_or_default();
            let ns = s("namespace");
            !ctx.faults.is_forbidden(
                s("verb"),
                s("group"),
                s("resource"),
                (!ns.is_empty()).then_some(ns),
            )
        }
    };
    obj["apiVersion"] = json!(target.api_version);
    obj["status"] = if allowed {
        json!({"allowed": true, "reason": "allowed by the simulated cluster's permission policy"})
    } else {
        json!({"allowed": false, "denied": true,
               "reason": "denied by the simulated cluster's permission policy"})
    };
    obj
}

pub fn update(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let mut obj = decode_body(content_type, body)?;
    prepare(target, &mut obj)?;
    let expected_rv = obj
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(String::from);
    let is_crd = target.rt.group == CRD_GROUP && target.rt.plural == "customresourcedefinitions";
    if is_crd && !target.status {
        let mut probe = obj.clone();
        crd_status(target, &mut probe)?;
    }
    let key = target.key();
    let subresource = target.status.then_some("status");
    let updated = ctx
        .store
        .modify(&target.id, &key, target.part(), opts(q), |cur| {
            if let Some(rv) = &expected_rv
                && !rv.is_empty()
                && Some(rv.as_str())
                    != cur
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
            {
                return Err(StoreError::Conflict {
                    resource: target.id.to_string(),
                    name: key.name.clone(),
                });
            }
            let mut new = obj;
            if new.pointer("/metadata/managedFields").is_none()
                && let Some(mf) = cur.pointer("/metadata/managedFields")
            {
                new["metadata"]["managedFields"] = mf.clone();
            }
            if let Some(m) = &q.field_manager {
                defaults::apply(&target.id.group, &target.id.plural, &mut new, Some(cur));
                managed::record_update(
                    &mut new,
                    cur,
                    m,
                    &target.api_version,
                    subresource,
                    Kind::of_resource(&target.id.group, &target.id.plural),
                );
            }
            Ok(Some(new))
        })
        .map_err(|e| target.store_err(e))?;
    if is_crd && !q.dry_run {
        ctx.registry.register_crd(&updated);
    }
    Ok(respond_object(200, target, &updated, q, ""))
}

/// Delete options from the body: dry run and preconditions.
fn delete_options(body: &[u8]) -> Result<(bool, Option<String>, Option<String>), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((false, None, None));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the DeleteOptions body is not valid JSON: {e}"))
    })?;
    let dry = v
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "All"));
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(String::from);
    Ok((
        dry,
        s("/preconditions/resourceVersion"),
        s("/preconditions/uid"),
    ))
}

fn delete_one(
    ctx: &Arc<Ctx>,
    target: &Target,
    id: &ResourceId,
    key: &ObjKey,
    wopts: WriteOpts,
) -> Result<Arc<Value>, ApiError> {
    let deleted = ctx
        .store
        .delete(id, key, wopts)
        .map_err(|e| target.store_err(e))?;
    let is_crd = target.rt.group == CRD_GROUP && target.rt.plural == "customresourcedefinitions";
    if is_crd && !wopts.dry_run && ctx.store.get(id, key).is_none() {
        // The CRD is gone: stop serving its resources and delete their objects.
        if let Some(t) = type_from_crd(&deleted) {
            ctx.registry.unregister(&t.group, &t.plural);
            let res = t.id();
            for obj in ctx.store.list(&res, None).0 {
                let k = ObjKey::new(
                    obj.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    name_of(&obj),
                );
                let _ = ctx.store.delete(&res, &k, WriteOpts::default());
            }
        }
    }
    Ok(deleted)
}

pub fn delete(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let (dry, pre_rv, pre_uid) = delete_options(body)?;
    let key = target.key();
    let current = ctx
        .store
        .get(&target.id, &key)
        .ok_or_else(|| target.not_found(&key.name))?;
    let meta = |f: &str| {
        current
            .pointer(&format!("/metadata/{f}"))
            .and_then(Value::as_str)
    };
    if pre_rv
        .as_deref()
        .is_some_and(|rv| Some(rv) != meta("resourceVersion"))
        || pre_uid.as_deref().is_some_and(|u| Some(u) != meta("uid"))
    {
        return Err(target.store_err(StoreError::Conflict {
            resource: target.id.to_string(),
            name: key.name.clone(),
        }));
    }
    let wopts = WriteOpts {
        dry_run: q.dry_run || dry,
    };
    let deleted = delete_one(ctx, target, &target.id, &key, wopts)?;
    Ok(respond_object(200, target, &deleted, q, ""))
}

pub fn delete_collection(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let (dry, _, _) = delete_options(body)?;
    let filter = Filter::parse(q, &target.rt.plural)?;
    let wopts = WriteOpts {
        dry_run: q.dry_run || dry,
    };
    let (items, _) = ctx.store.list(&target.id, target.namespace.as_deref());
    for obj in items.iter().filter(|o| filter.matches(o)) {
        let key = ObjKey::new(
            obj.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            name_of(obj),
        );
        match delete_one(ctx, target, &target.id, &key, wopts) {
            Ok(_) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json_response(
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
    ))
}
