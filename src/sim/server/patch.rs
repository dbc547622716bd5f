//! Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch
//! (keyed lists merge by key, see [`super::merge`]) and server-side apply: create when
//! absent, else drop the fields the same manager applied before and no longer applies
//! (unless another manager owns them), merge keyed lists by key, default, and answer
//! `409 Conflict` when the apply would change fields another manager owns (`force=true`
//! takes them over instead). Dry runs answer the would-be object and store nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use serde_json::Value;

use super::Ctx;
use super::encode::served_value;
use super::errors::ApiError;
use super::managed;
use super::merge;
use super::read::respond_object;
use super::request::Query;
use super::resource::Target;
use super::write::{create_object, media_type, prepare};
use crate::sim::defaults::{self, Kind};
use crate::sim::store::{StoreError, WriteOpts};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

pub fn patch_kind(content_type: Option<&str>) -> Result<PatchKind, ApiError> {
    match media_type(content_type).as_str() {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        "application/apply-patch+yaml" => Ok(PatchKind::Apply),
        _ => Err(ApiError::unsupported_media_type(
            content_type.unwrap_or_default(),
        )),
    }
}

enum Parsed {
    Merge(Value),
    Json(json_patch::Patch),
}

fn parse(kind: PatchKind, body: &[u8]) -> Result<Parsed, ApiError> {
    match kind {
        PatchKind::Json => serde_json::from_slice(body)
            .map(Parsed::Json)
            .map_err(|e| ApiError::bad_request(format!("the JSON patch is not valid: {e}"))),
        _ => serde_json::from_slice(body)
            .map(Parsed::Merge)
            .map_err(|e| ApiError::bad_request(format!("the merge patch is not valid JSON: {e}"))),
    }
}

fn invalid(msg: String) -> StoreError {
    StoreError::Invalid(msg)
}

fn rv_of(v: &Value) -> Option<&str> {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
}

pub fn patch(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let kind = patch_kind(content_type)?;
    if kind == PatchKind::Apply {
        return apply(ctx, target, q, body);
    }
    let parsed = parse(kind, body)?;
    let obj_kind = Kind::of_resource(&target.id.group, &target.id.plural);
    let key = target.key();
    let subresource = target.status.then_some("status");
    let conflict = || StoreError::Conflict {
        resource: target.id.to_string(),
        name: key.name.clone(),
    };
    let patched = ctx
        .store
        .modify(
            &target.id,
            &key,
            target.part(),
            WriteOpts { dry_run: q.dry_run },
            |cur| {
                let mut doc = served_value(cur, &target.api_version, &target.rt.kind);
                match &parsed {
                    Parsed::Merge(p) if kind == PatchKind::Strategic => {
                        merge::strategic_merge(obj_kind, &mut doc, p);
                    }
                    Parsed::Merge(p) => json_patch::merge(&mut doc, p),
                    Parsed::Json(p) => {
                        json_patch::patch(&mut doc, p).map_err(|e| {
                            invalid(format!("the JSON patch could not be applied: {e}"))
                        })?;
                    }
                }
                if rv_of(&doc).is_some_and(|rv| Some(rv) != rv_of(cur)) {
                    return Err(conflict());
                }
                prepare(target, &mut doc).map_err(|e| invalid(e.message))?;
                if let Some(m) = &q.field_manager {
                    defaults::apply(&target.id.group, &target.id.plural, &mut doc, Some(cur));
                    managed::record_update(
                        &mut doc,
                        cur,
                        m,
                        &target.api_version,
                        subresource,
                        obj_kind,
                    );
                }
                Ok(Some(doc))
            },
        )
        .map_err(|e| target.store_err(e))?;
    after_write(ctx, target, q, &patched);
    Ok(respond_object(200, target, &patched, q, ""))
}

/// Keep the registry in step with a changed CustomResourceDefinition.
fn after_write(ctx: &Arc<Ctx>, target: &Target, q: &Query, obj: &Value) {
    if !q.dry_run
        && target.rt.group == "apiextensions.k8s.io"
        && target.rt.plural == "customresourcedefinitions"
    {
        ctx.registry.register_crd(obj);
    }
}

fn apply(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let Some(manager) = q.field_manager.clone() else {
        return Err(ApiError::invalid(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    };
    let mut applied: Value = serde_yaml::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the apply configuration is not valid YAML or JSON: {e}"
        ))
    })?;
    if !applied.is_object() {
        return Err(ApiError::bad_request(
            "the apply configuration must be an object",
        ));
    }
    for f in ["apiVersion", "kind"] {
        if applied
            .get(f)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(format!(
                "invalid object type: {f} must be set in an apply configuration"
            )));
        }
    }
    if let Some(meta) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    // Checks apiVersion/kind/name/namespace against the path (the result is not stored).
    let mut check = applied.clone();
    prepare(target, &mut check)?;
    let obj_kind = Kind::of_resource(&target.id.group, &target.id.plural);
    let new_fields = managed::fields_v1(&applied, obj_kind);
    let subresource = target.status.then_some("status");
    let key = target.key();
    if !target.status && ctx.store.get(&target.id, &key).is_none() {
        match create_object(ctx, target, q, check, "Apply") {
            Ok(created) => return Ok(respond_object(201, target, &created, q, "")),
            Err(e) if e.code == 409 && e.reason == "AlreadyExists" => {}
            Err(e) => return Err(e),
        }
    }
    let conflict = || StoreError::Conflict {
        resource: target.id.to_string(),
        name: key.name.clone(),
    };
    let mut apply_conflict: Option<String> = None;
    let result = ctx.store.modify(
        &target.id,
        &key,
        target.part(),
        WriteOpts { dry_run: q.dry_run },
        |cur| {
            if rv_of(&applied).is_some_and(|rv| Some(rv) != rv_of(cur)) {
                return Err(conflict());
            }
            let mut doc = served_value(cur, &target.api_version, &target.rt.kind);
            if let Some(prev) = managed::previous_fields(cur, &manager, "Apply", subresource) {
                let others = managed::others_fields(cur, &manager, "Apply", subresource);
                managed::remove_dropped(&mut doc, prev, &new_fields, &others);
            }
            let mut patch = applied.clone();
            if let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
            }
            let mut doc = merge::merge_applied(obj_kind, &doc, &patch);
            prepare(target, &mut doc).map_err(|e| invalid(e.message))?;
            defaults::apply(&target.id.group, &target.id.plural, &mut doc, Some(cur));
            let changed =
                managed::intersect(&managed::changed_fields(cur, &doc, obj_kind), &new_fields);
            if !q.force
                && let Some(msg) = managed::conflict_message(cur, &changed, &manager, subresource)
            {
                apply_conflict = Some(msg);
                return Err(conflict());
            }
            managed::take_ownership(&mut doc, &changed, &manager, "Apply", subresource);
            managed::record(
                &mut doc,
                &manager,
                "Apply",
                &target.api_version,
                subresource,
                new_fields.clone(),
            );
            Ok(Some(doc))
        },
    );
    if let Some(msg) = apply_conflict {
        return Err(ApiError::new(409, "Conflict", msg));
    }
    let patched = result.map_err(|e| target.store_err(e))?;
    after_write(ctx, target, q, &patched);
    Ok(respond_object(200, target, &patched, q, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_kinds() {
        assert_eq!(
            patch_kind(Some("application/merge-patch+json; charset=utf-8")),
            Ok(PatchKind::Merge)
        );
        assert_eq!(
            patch_kind(Some("application/apply-patch+yaml")),
            Ok(PatchKind::Apply)
        );
        assert_eq!(
            patch_kind(Some("application/json")).map_err(|e| e.code),
            Err(415)
        );
        assert_eq!(patch_kind(None).map_err(|e| e.code), Err(415));
    }
}
