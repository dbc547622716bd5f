//! A kubeconfig for the simulated cluster: one cluster, user and context named
//! `fluxdeck-sim`, a dummy token, and the context selected, so `kubectl`, `helm` and
//! kube-rs reach the loopback server without any other setup.

use std::path::Path;

use serde_json::json;

/// The cluster, user and context name.
pub const CONTEXT: &str = "fluxdeck-sim";

/// The kubeconfig YAML for a server at `url` (e.g. `http://127.0.0.1:PORT`).
pub fn kubeconfig_yaml(url: &str) -> String {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {"token": "fluxdeck-sim-token"}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}],
        "current-context": CONTEXT,
        "preferences": {},
    });
    // Serialising a JSON value to YAML cannot fail; fall back to JSON (valid YAML) anyway.
    serde_yaml::to_string(&doc).unwrap_or_else(|_| doc.to_string())
}

/// Write the kubeconfig for `url` to `path` (creating parent directories).
pub fn write_kubeconfig(path: &Path, url: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, kubeconfig_yaml(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_has_the_context_selected() {
        let y = kubeconfig_yaml("http://127.0.0.1:1234");
        let v: serde_json::Value = serde_yaml::from_str(&y).unwrap();
        assert_eq!(v["current-context"], CONTEXT);
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:1234"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/kubeconfig");
        write_kubeconfig(&p, "http://127.0.0.1:1").unwrap();
        assert!(std::fs::read_to_string(p).unwrap().contains("fluxdeck-sim"));
    }
}
