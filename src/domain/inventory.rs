//! Flux inventory entry ids (`<namespace>_<name>_<group>_<kind>`), as written by
//! kustomize-controller and helm-controller in `status.inventory.entries[].id`.

use serde::{Deserialize, Serialize};

/// One object named by an inventory entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InventoryRef {
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    /// Empty for the core group.
    pub group: String,
    pub kind: String,
    /// The version the object was applied with (e.g. `v1`), from the entry's `v`.
    pub version: String,
}

fn is_rbac(group: &str, kind: &str) -> bool {
    group == "rbac.authorization.k8s.io"
        && matches!(
            kind,
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
        )
}

/// Format an inventory id. RBAC names have `:` written as `__`.
pub fn format_id(namespace: &str, name: &str, group: &str, kind: &str) -> String {
    let name = if is_rbac(group, kind) {
        name.replace(':', "__")
    } else {
        name.to_string()
    };
    format!("{namespace}_{name}_{group}_{kind}")
}

/// Parse an inventory id and its version. `None` when the id does not have the
/// four underscore-separated parts.
pub fn parse_id(id: &str, version: &str) -> Option<InventoryRef> {
    let (namespace, rest) = id.split_once('_')?;
    let (rest, kind) = rest.rsplit_once('_')?;
    let (name, group) = rest.rsplit_once('_')?;
    if name.is_empty() || kind.is_empty() {
        return None;
    }
    Some(InventoryRef {
        namespace: namespace.to_string(),
        name: name.replace("__", ":"),
        group: group.to_string(),
        kind: kind.to_string(),
        version: version.to_string(),
    })
}

impl InventoryRef {
    /// The id this reference is written as.
    pub fn id(&self) -> String {
        format_id(&self.namespace, &self.name, &self.group, &self.kind)
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        let cases = [
            (
                "default_podinfo__Service",
                "v1",
                "default",
                "podinfo",
                "",
                "Service",
            ),
            (
                "default_podinfo_apps_Deployment",
                "v1",
                "default",
                "podinfo",
                "apps",
                "Deployment",
            ),
            ("_podinfo__Namespace", "v1", "", "podinfo", "", "Namespace"),
            (
                "_helmreleases.helm.toolkit.fluxcd.io_apiextensions.k8s.io_CustomResourceDefinition",
                "v1",
                "",
                "helmreleases.helm.toolkit.fluxcd.io",
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
            ),
            (
                "_system__foo_rbac.authorization.k8s.io_ClusterRole",
                "v1",
                "",
                "system:foo",
                "rbac.authorization.k8s.io",
                "ClusterRole",
            ),
            (
                "apps_podinfo_helm.toolkit.fluxcd.io_HelmRelease",
                "v2",
                "apps",
                "podinfo",
                "helm.toolkit.fluxcd.io",
                "HelmRelease",
            ),
            (
                "flux-system_my_app_kustomize.toolkit.fluxcd.io_Kustomization",
                "v1",
                "flux-system",
                "my_app",
                "kustomize.toolkit.fluxcd.io",
                "Kustomization",
            ),
        ];
        for (id, v, ns, name, group, kind) in cases {
            let r = parse_id(id, v).unwrap();
            assert_eq!(
                (
                    r.namespace.as_str(),
                    r.name.as_str(),
                    r.group.as_str(),
                    r.kind.as_str()
                ),
                (ns, name, group, kind),
                "{id}"
            );
            assert_eq!(r.id(), id);
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        for id in ["", "nounderscores", "a_b", "ns__Kind", "ns_name_group_"] {
            assert_eq!(parse_id(id, "v1"), None, "{id}");
        }
    }
}
