//! Serialising stored objects as served: `apiVersion` and `kind` rewritten to the requested
//! version, straight from the shared `Arc<Value>`s without copying them.

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

/// A stored object seen through the version it is served under.
pub struct Served<'a> {
    pub obj: &'a Value,
    pub api_version: &'a str,
    pub kind: &'a str,
}

impl Serialize for Served<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(map) = self.obj.as_object() else {
            return self.obj.serialize(s);
        };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apiVersion", self.api_version)?;
        m.serialize_entry("kind", self.kind)?;
        for (k, v) in map {
            if k != "apiVersion" && k != "kind" {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// An owned copy of an object as served (for patching).
pub fn served_value(obj: &Value, api_version: &str, kind: &str) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.to_string()));
    out.insert("kind".into(), Value::String(kind.to_string()));
    if let Some(map) = obj.as_object() {
        for (k, v) in map {
            if k != "apiVersion" && k != "kind" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// List metadata.
#[derive(Serialize, Default)]
pub struct ListMeta {
    #[serde(rename = "resourceVersion")]
    pub resource_version: String,
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
    #[serde(rename = "remainingItemCount", skip_serializing_if = "Option::is_none")]
    pub remaining_item_count: Option<u64>,
}

/// A `XList` response body.
#[derive(Serialize)]
pub struct ListBody<'a> {
    pub kind: String,
    #[serde(rename = "apiVersion")]
    pub api_version: &'a str,
    pub metadata: ListMeta,
    pub items: Vec<Served<'a>>,
}

/// One watch event line.
#[derive(Serialize)]
pub struct WatchLine<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub type_: &'a str,
    pub object: T,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn served_rewrites_version_and_keeps_the_rest() {
        let obj =
            json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "a"}, "spec": {"x": 1}});
        let s = serde_json::to_value(Served {
            obj: &obj,
            api_version: "g/v2",
            kind: "K",
        })
        .unwrap();
        assert_eq!(s["apiVersion"], "g/v2");
        assert_eq!(s["spec"]["x"], 1);
        assert_eq!(served_value(&obj, "g/v2", "K"), s);
    }
}
