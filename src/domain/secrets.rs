//! What fluxdeck never shows, and never keeps, of Secrets.
//!
//! - [`mask`]: the values of a Secret's `data`/`stringData` become `<hidden, N bytes>` (keys
//!   stay, so an operator still sees which exist) unless the user asked for them
//!   (`--show-secrets`). Helm release records (Secrets of type `helm.sh/release.v1`, and the
//!   ConfigMap driver's records, labelled `owner=helm`) are never shown: they hold the whole
//!   release, values included; what is shown instead names the release from its labels.
//! - [`is_watchable`]: Secrets are not watched (a watch would copy every Secret of a namespace,
//!   Helm release records included, into memory); one is read on demand, masked.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::domain::flux::{LAST_APPLIED, ObjectKey, ObjectKind};

/// Whether Secret values are shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecretValues {
    /// Values are replaced by their length (the default).
    #[default]
    Hidden,
    /// Values are shown as the API returns them (`--show-secrets`); Helm release records stay
    /// hidden.
    Shown,
}

/// The Secret type of Helm's storage driver.
pub const HELM_RELEASE_TYPE: &str = "helm.sh/release.v1";

fn is_core(group_kind: (&str, &str), kind: &str) -> bool {
    group_kind.0.is_empty() && group_kind.1 == kind
}

/// Whether fluxdeck may watch (list and keep in memory) objects of this kind: every kind but
/// core/v1 Secret.
pub fn is_watchable(kind: &ObjectKind) -> bool {
    !is_core((kind.group(), kind.kind()), "Secret")
}

/// Whether `key` names a core/v1 Secret.
pub fn is_secret(key: &ObjectKey) -> bool {
    !is_watchable(&key.kind)
}

fn group_kind_of(obj: &Value) -> (&str, &str) {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    };
    (group, obj.get("kind").and_then(Value::as_str).unwrap_or(""))
}

fn label<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj.pointer("/metadata/labels")?.get(name)?.as_str()
}

/// Whether `obj` is a Helm release record: a Secret of type `helm.sh/release.v1`, or a Secret
/// or ConfigMap labelled `owner=helm` (the ConfigMap driver sets no type).
pub fn is_helm_release_record(obj: &Value) -> bool {
    let gk = group_kind_of(obj);
    let secret = is_core(gk, "Secret");
    let config_map = is_core(gk, "ConfigMap");
    if secret && obj.get("type").and_then(Value::as_str) == Some(HELM_RELEASE_TYPE) {
        return true;
    }
    (secret || config_map) && label(obj, "owner") == Some("helm")
}

/// What stands for one hidden value: its length in bytes. `base64` values (Secret `data`) are
/// measured decoded, as the bytes the Secret holds.
fn hidden(value: &Value, base64: bool) -> Value {
    let text = match value {
        Value::String(s) if base64 => match STANDARD.decode(s.as_bytes()) {
            Ok(bytes) => format!("<hidden, {} bytes>", bytes.len()),
            Err(_) => format!("<hidden, {} characters, not valid base64>", s.len()),
        },
        Value::String(s) => format!("<hidden, {} bytes>", s.len()),
        Value::Null => return Value::Null,
        _ => "<hidden>".to_string(),
    };
    Value::String(text)
}

/// Replace the values of the map at `field` (keys kept); anything but a map is hidden whole.
fn mask_map(obj: &mut Map<String, Value>, field: &str, base64: bool) {
    match obj.get_mut(field) {
        None => {}
        Some(Value::Object(m)) => {
            for v in m.values_mut() {
                *v = hidden(v, base64);
            }
        }
        Some(other) => *other = Value::String("<hidden>".to_string()),
    }
}

/// Hide the last-applied annotation, which repeats the whole object, values included.
fn mask_last_applied(obj: &mut Map<String, Value>) {
    if let Some(v) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
        .and_then(|a| a.get_mut(LAST_APPLIED))
    {
        *v = hidden(v, false);
    }
}

/// The text that stands for a Helm release record's content.
fn release_record_text(obj: &Value) -> String {
    let part = |name: &str| label(obj, name).unwrap_or("?");
    format!(
        "<hidden: Helm release record of release {}, revision {}, status {}>",
        part("name"),
        part("version"),
        part("status")
    )
}

/// Mask the secret content of an object about to be shown (see the module comment). Objects
/// other than Secrets and Helm release records are left as they are.
pub fn mask(obj: &mut Value, values: SecretValues) {
    let record = is_helm_release_record(obj);
    let secret = is_core(group_kind_of(obj), "Secret");
    if !(record || secret) {
        return;
    }
    let text = record.then(|| release_record_text(obj));
    let Some(m) = obj.as_object_mut() else {
        return;
    };
    if let Some(text) = text {
        for field in ["data", "binaryData", "stringData"] {
            if m.contains_key(field) {
                m.insert(field.to_string(), Value::String(text.clone()));
            }
        }
        mask_last_applied(m);
        return;
    }
    if values == SecretValues::Shown {
        return;
    }
    mask_map(m, "data", true);
    mask_map(m, "stringData", false);
    mask_last_applied(m);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secret(extra: Value) -> Value {
        let mut s = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "apps"},
            "type": "Opaque",
        });
        if let (Some(m), Value::Object(e)) = (s.as_object_mut(), extra) {
            m.extend(e);
        }
        s
    }

    #[test]
    fn data_and_string_data_show_keys_and_lengths_only() {
        // "hunter2-hunter" is 14 bytes; base64 in `data` as the API returns it.
        let mut s = secret(json!({
            "data": {"password": STANDARD.encode("hunter2-hunter"), "empty": ""},
            "stringData": {"user": "admin"},
        }));
        mask(&mut s, SecretValues::Hidden);
        assert_eq!(
            s["data"],
            json!({"password": "<hidden, 14 bytes>", "empty": "<hidden, 0 bytes>"})
        );
        assert_eq!(s["stringData"], json!({"user": "<hidden, 5 bytes>"}));
        assert_eq!(s["metadata"]["name"], "db", "the rest stays");
        let text = s.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("admin"),
            "{text}"
        );
    }

    #[test]
    fn show_secrets_shows_ordinary_secrets() {
        let original = secret(json!({"data": {"password": STANDARD.encode("pw")}}));
        let mut s = original.clone();
        mask(&mut s, SecretValues::Shown);
        assert_eq!(s, original);
    }

    #[test]
    fn last_applied_configuration_is_hidden_too() {
        let applied = r#"{"apiVersion":"v1","kind":"Secret","stringData":{"password":"pw"}}"#;
        let mut s = secret(json!({"stringData": {"password": "pw"}}));
        s["metadata"]["annotations"] = json!({LAST_APPLIED: applied, "team": "db"});
        mask(&mut s, SecretValues::Hidden);
        assert_eq!(
            s["metadata"]["annotations"][LAST_APPLIED],
            format!("<hidden, {} bytes>", applied.len())
        );
        assert_eq!(s["metadata"]["annotations"]["team"], "db");
    }

    #[test]
    fn malformed_data_is_hidden_without_failing() {
        let mut s = secret(json!({"data": {"a": "not base64!", "b": 42, "c": null}}));
        mask(&mut s, SecretValues::Hidden);
        assert_eq!(
            s["data"],
            json!({"a": "<hidden, 11 characters, not valid base64>", "b": "<hidden>", "c": null})
        );
        let mut s = secret(json!({"data": "top secret", "stringData": ["x"]}));
        mask(&mut s, SecretValues::Hidden);
        assert_eq!(s["data"], "<hidden>");
        assert_eq!(s["stringData"], "<hidden>");
        // Not an object at all, or no kind: left alone.
        let mut v = json!("Secret");
        mask(&mut v, SecretValues::Hidden);
        assert_eq!(v, json!("Secret"));
    }

    fn release_record(kind: &str) -> Value {
        let mut r = json!({
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {
                "name": "sh.helm.release.v1.web.v3",
                "namespace": "apps",
                "labels": {"owner": "helm", "name": "web", "version": "3", "status": "deployed"},
            },
            "data": {"release": "H4sIAAAAAAAC/6pWKkktLlGyUlAqS8wpTgUAAAD//w=="},
        });
        if kind == "Secret" {
            r["type"] = json!(HELM_RELEASE_TYPE);
        }
        r
    }

    #[test]
    fn helm_release_records_are_never_shown() {
        let expected = "<hidden: Helm release record of release web, revision 3, status deployed>";
        for kind in ["Secret", "ConfigMap"] {
            for values in [SecretValues::Hidden, SecretValues::Shown] {
                let mut r = release_record(kind);
                assert!(is_helm_release_record(&r), "{kind}");
                mask(&mut r, values);
                assert_eq!(r["data"], expected, "{kind} {values:?}");
                assert_eq!(r["metadata"]["labels"]["name"], "web");
                assert!(!r.to_string().contains("H4sI"), "{kind} {values:?}");
            }
        }
        // A release record recognised by its type alone (labels lost): still hidden.
        let mut r = release_record("Secret");
        r["metadata"]["labels"] = json!({});
        mask(&mut r, SecretValues::Shown);
        assert_eq!(
            r["data"],
            "<hidden: Helm release record of release ?, revision ?, status ?>"
        );
    }

    #[test]
    fn other_objects_are_left_alone() {
        let original = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "apps"},
            "data": {"password": "not a secret here"},
        });
        let mut c = original.clone();
        mask(&mut c, SecretValues::Hidden);
        assert_eq!(c, original);
        // A kind named Secret in another group is not core/v1 Secret.
        let mut other = json!({"apiVersion": "example.com/v1", "kind": "Secret",
            "metadata": {"name": "x"}, "data": {"a": "b"}});
        mask(&mut other, SecretValues::Hidden);
        assert_eq!(other["data"]["a"], "b");
    }

    #[test]
    fn secrets_are_not_watchable() {
        assert!(!is_watchable(&ObjectKind::new("", "Secret")));
        assert!(is_watchable(&ObjectKind::new("", "ConfigMap")));
        assert!(is_watchable(&ObjectKind::new("example.com", "Secret")));
        assert!(is_secret(&ObjectKey::new("", "Secret", "apps", "db")));
    }
}
