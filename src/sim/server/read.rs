//! Reads: get one object and list with selectors and `limit`/`continue` pagination, as JSON
//! or as a Table.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::Ctx;
use super::encode::{ListBody, ListMeta, Served};
use super::errors::{ApiError, json_response};
use super::request::Query;
use super::resource::Target;
use super::selectors::{FieldSelector, LabelSelector};
use super::table;
use crate::sim::store::ObjKey;

/// Answer one object as served (JSON, or a one-row Table when asked for).
pub fn respond_object(
    code: u16,
    target: &Target,
    obj: &Value,
    q: &Query,
    accept: &str,
) -> Response<Body> {
    if table::wants_table(accept) {
        let rv = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let t = table::table(
            &target.rt,
            &[obj],
            q.include_object,
            &target.api_version,
            rv,
            None,
        );
        return json_response(code, &t);
    }
    json_response(
        code,
        &Served {
            obj,
            api_version: &target.api_version,
            kind: &target.rt.kind,
        },
    )
}

pub fn get(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let key = target.key();
    let obj = ctx
        .store
        .get(&target.id, &key)
        .ok_or_else(|| target.not_found(&key.name))?;
    Ok(respond_object(200, target, &obj, q, accept))
}

/// The position a continuation resumes after.
#[derive(Debug, PartialEq)]
pub struct ContinueToken {
    pub rv: u64,
    pub after: ObjKey,
}

pub fn encode_continue(t: &ContinueToken) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\n{}\n{}", t.rv, t.after.namespace, t.after.name))
}

pub fn decode_continue(s: &str) -> Option<ContinueToken> {
    let raw = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.splitn(3, '\n');
    let rv = parts.next()?.parse().ok()?;
    let namespace = parts.next()?;
    let name = parts.next()?;
    Some(ContinueToken {
        rv,
        after: ObjKey::new(namespace, name),
    })
}

/// Parsed selectors of a list or watch.
pub struct Filter {
    pub label: LabelSelector,
    pub field: FieldSelector,
}

impl Filter {
    pub fn parse(q: &Query, plural: &str) -> Result<Self, ApiError> {
        let label = LabelSelector::parse(q.label_selector.as_deref().unwrap_or_default())
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let field = FieldSelector::parse(q.field_selector.as_deref().unwrap_or_default(), plural)
            .map_err(ApiError::bad_request)?;
        Ok(Self { label, field })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.label.matches(obj) && self.field.matches(obj)
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty() && self.field.is_empty()
    }
}

fn key_of(obj: &Value) -> ObjKey {
    let s = |f: &str| {
        obj.get("metadata")
            .and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    ObjKey {
        namespace: s("namespace"),
        name: s("name"),
    }
}

pub fn list(
    ctx: &Arc<Ctx>,
    target: &Target,
    q: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let filter = Filter::parse(q, &target.rt.plural)?;
    let token = match &q.continue_token {
        None => None,
        Some(s) => {
            let t = decode_continue(s).ok_or_else(|| {
                ApiError::bad_request("continue key is not valid: the token does not decode")
            })?;
            if t.rv < ctx.store.compacted_rv() {
                return Err(ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ));
            }
            Some(t)
        }
    };
    let (items, current_rv) = ctx.store.list(&target.id, target.namespace.as_deref());
    let list_rv = token.as_ref().map_or(current_rv, |t| t.rv);
    let start = match &token {
        None => 0,
        Some(t) => items.partition_point(|o| key_of(o) <= t.after),
    };
    let limit = q.limit.unwrap_or(usize::MAX);
    let mut page: Vec<&Value> = Vec::new();
    let mut more = false;
    for obj in items[start..].iter() {
        if !filter.matches(obj) {
            continue;
        }
        if page.len() == limit {
            more = true;
            break;
        }
        page.push(obj);
    }
    let continue_token = if more {
        page.last().map(|last| {
            encode_continue(&ContinueToken {
                rv: list_rv,
                after: key_of(last),
            })
        })
    } else {
        None
    };
    if table::wants_table(accept) {
        let t = table::table(
            &target.rt,
            &page,
            q.include_object,
            &target.api_version,
            &list_rv.to_string(),
            continue_token.as_deref(),
        );
        return Ok(json_response(200, &t));
    }
    let body = ListBody {
        kind: format!("{}List", target.rt.kind),
        api_version: &target.api_version,
        metadata: ListMeta {
            resource_version: list_rv.to_string(),
            continue_token,
            remaining_item_count: None,
        },
        items: page
            .into_iter()
            .map(|obj| Served {
                obj,
                api_version: &target.api_version,
                kind: &target.rt.kind,
            })
            .collect(),
    };
    Ok(json_response(200, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn continue_tokens_roundtrip() {
        let t = ContinueToken {
            rv: 42,
            after: ObjKey::new("ns", "a.b"),
        };
        assert_eq!(decode_continue(&encode_continue(&t)), Some(t));
        assert_eq!(decode_continue("!!!"), None);
        assert_eq!(decode_continue(""), None);
    }

    proptest! {
        #[test]
        fn decode_continue_never_panics(s in "\\PC{0,60}") {
            let _ = decode_continue(&s);
        }
    }
}
