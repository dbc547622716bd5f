//! Per-request dispatch: injected latency, routing, the non-resource endpoints (version,
//! health, discovery, OpenAPI) and the access log line.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, header};
use bytes::Bytes;
use futures::StreamExt;

use super::errors::{ApiError, bytes_response, json_response};
use super::request::{Route, parse_path, parse_query};
use super::{Ctx, discovery, openapi, resource};

/// Largest request body accepted (like a real API server's 3 MiB limit).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

pub fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

pub async fn handle(ctx: Arc<Ctx>, req: Request<hyper::body::Incoming>) -> Response<Body> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let content_type = header_str(req.headers(), header::CONTENT_TYPE).map(String::from);
    let user_agent = header_str(req.headers(), header::USER_AGENT).map(String::from);
    let req = req.map(Body::new);
    let resp = match dispatch(&ctx, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if let Some(log) = &ctx.log {
        log.record(
            &method,
            &path,
            content_type.as_deref(),
            user_agent.as_deref(),
            resp.status().as_u16(),
        );
    }
    resp
}

async fn dispatch(ctx: &Arc<Ctx>, req: Request<Body>) -> Result<Response<Body>, ApiError> {
    if let Some(d) = ctx.faults.latency() {
        tokio::time::sleep(d).await;
    }
    let route = parse_path(req.uri().path()).ok_or_else(ApiError::not_found_path)?;
    let query =
        parse_query(req.uri().query().unwrap_or_default()).map_err(ApiError::bad_request)?;
    if let Route::Resource(path) = route {
        return resource::handle(ctx, path, query, req).await;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource: {}",
            req.method()
        )));
    }
    let discovery_path = matches!(
        route,
        Route::CoreVersions | Route::GroupList | Route::Group(_) | Route::ResourceList { .. }
    );
    if discovery_path && ctx.faults.inject_discovery_error() {
        return Err(ApiError::internal(
            "injected fault: discovery error".to_string(),
        ));
    }
    let accept = header_str(req.headers(), header::ACCEPT).unwrap_or_default();
    let types = ctx.registry.all();
    let aggregated = discovery::wants_aggregated(accept);
    let agg = |v| {
        serde_json::to_vec(&v)
            .map(|b| bytes_response(200, discovery::AGGREGATED_CONTENT_TYPE, b))
            .map_err(|e| ApiError::internal(e.to_string()))
    };
    match route {
        Route::Version => Ok(json_response(200, &discovery::version())),
        Route::Health => Ok(bytes_response(
            200,
            "text/plain; charset=utf-8",
            b"ok".to_vec(),
        )),
        Route::CoreVersions if aggregated => agg(discovery::aggregated(&types, true)),
        Route::CoreVersions => Ok(json_response(
            200,
            &discovery::core_versions(&ctx.addr.to_string()),
        )),
        Route::GroupList if aggregated => agg(discovery::aggregated(&types, false)),
        Route::GroupList => Ok(json_response(200, &discovery::group_list(&types))),
        Route::Group(g) => discovery::group(&types, &g)
            .map(|v| json_response(200, &v))
            .ok_or_else(ApiError::not_found_path),
        Route::ResourceList { group, version } => {
            discovery::resource_list(&types, &group, &version)
                .map(|v| json_response(200, &v))
                .ok_or_else(ApiError::not_found_path)
        }
        Route::OpenApiV3Index => Ok(json_response(200, &openapi::index(&types))),
        Route::OpenApiV3Doc { group, version } => openapi::document(&types, &group, &version)
            .map(|v| json_response(200, &v))
            .ok_or_else(ApiError::not_found_path),
        Route::OpenApiV2 => Err(ApiError::not_found_path()),
        Route::Resource(_) => Err(ApiError::not_found_path()),
    }
}

/// Read a request body, refusing more than [`MAX_BODY`] bytes. An oversized body is still
/// read (and dropped, up to [`DRAIN_LIMIT`]) so the client gets to read the `413` answer
/// instead of a reset connection.
pub async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|s| s.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut total: usize = 0;
    let mut too_large = declared.is_some_and(|len| len > MAX_BODY as u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        total = total.saturating_add(chunk.len());
        if total > MAX_BODY {
            too_large = true;
            buf = Vec::new();
        }
        if too_large {
            if total > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&chunk);
    }
    if too_large {
        return Err(ApiError::too_large());
    }
    Ok(Bytes::from(buf))
}

/// How much of an oversized body is read and dropped before answering.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
