//! Kubernetes `Status` errors: every failure the API answers is one of these, with the code
//! and reason a real API server uses, so clients can match on them.

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::sim::store::StoreError;

/// Which object an error is about (`Status.details`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Details {
    pub name: String,
    pub group: String,
    pub kind: String,
}

/// An error answered as a `Status` object.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Details>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, name: &str, group: &str, kind: &str) -> Self {
        self.details = Some(Details {
            name: name.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
        });
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// The answer for a path or resource type the server does not serve.
    pub fn not_found_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"
            ),
        )
    }

    pub fn too_large() -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// A store error about an object of `group`/`plural`.
    pub fn from_store(err: StoreError, group: &str, plural: &str) -> Self {
        let (base, name) = match &err {
            StoreError::NotFound { name, .. } => (Self::new(404, "NotFound", ""), name.clone()),
            StoreError::AlreadyExists { name, .. } => {
                (Self::new(409, "AlreadyExists", ""), name.clone())
            }
            StoreError::Conflict { name, .. } => (Self::new(409, "Conflict", ""), name.clone()),
            StoreError::Invalid(_) => (Self::invalid(""), String::new()),
            StoreError::Gone { .. } => (Self::gone(""), String::new()),
        };
        Self {
            message: err.to_string(),
            ..base
        }
        .with_details(&name, group, plural)
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            let mut details = serde_json::Map::new();
            if !d.name.is_empty() {
                details.insert("name".into(), json!(d.name));
            }
            if !d.group.is_empty() {
                details.insert("group".into(), json!(d.group));
            }
            if !d.kind.is_empty() {
                details.insert("kind".into(), json!(d.kind));
            }
            v["details"] = Value::Object(details);
        }
        v
    }

    pub fn into_response(self) -> Response<Body> {
        json_response(self.code, &self.status())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

/// A JSON response with the given status code.
pub fn json_response(code: u16, body: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec(body) {
        Ok(bytes) => bytes_response(code, "application/json", bytes),
        Err(e) => bytes_response(
            500,
            "application/json",
            ApiError::internal(format!("encoding the response failed: {e}"))
                .status()
                .to_string()
                .into_bytes(),
        ),
    }
}

pub fn bytes_response(code: u16, content_type: &str, bytes: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}
