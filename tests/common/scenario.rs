//! Scenarios derived from the embedded ones for tests that need the cluster to hold still.

use serde_json::Value;

/// The demo scenario with only its first timeline step (Deployment default/backend scaled by
/// hand to 5 replicas at 20 s), written into `dir`; its path. The later Git commits and edits
/// would change what the tests compare while they run.
pub fn demo_first_step(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/sim/scenarios/demo.yaml"
    ))
    .unwrap();
    let mut doc: Value = serde_yaml::from_str(&text).unwrap();
    let timeline = doc["timeline"].as_array_mut().unwrap();
    timeline.retain(|step| step["at"] == "20s");
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["target"], "Deployment/default/backend");
    let path = dir.join("demo.yaml");
    std::fs::write(&path, serde_yaml::to_string(&doc).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}
