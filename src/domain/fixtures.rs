//! Test support: YAML fixtures under `tests/fixtures/domain/`, read as JSON objects.

use serde::Deserialize;
use serde_json::Value;

/// Every document of a multi-document YAML fixture.
pub fn load(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/domain/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

/// The fixture object with this `metadata.name`.
pub fn by_name<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no fixture object named {name}"))
}
