//! API discovery: which version of each kind the server serves (newest preferred, older ones
//! for older clusters), plurals and scope for managed objects. Results are cached per
//! group-version; a group or kind that is not served is reported as not installed.

use std::collections::HashMap;

use kube::Client;
use kube::core::{ApiResource, GroupVersionKind};
use parking_lot::Mutex;

/// The outcome of resolving one kind.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// Served: how to reach it and whether it is namespaced.
    Served {
        resource: ApiResource,
        namespaced: bool,
    },
    /// The server does not serve this kind (e.g. the CRD is not installed).
    NotInstalled,
}

/// Errors talking to the discovery endpoints (other than "not served").
#[derive(Debug, thiserror::Error)]
#[error("discovery of {what} failed: {message}")]
pub struct DiscoveryError {
    pub what: String,
    pub message: String,
    /// HTTP status code when the server answered with one.
    pub code: Option<u16>,
}

type GvResources = Vec<(ApiResource, bool)>;

/// Cached discovery against one server.
pub struct Discovery {
    client: Client,
    groups: Mutex<Option<HashMap<String, Vec<String>>>>,
    group_versions: Mutex<HashMap<String, Option<GvResources>>>,
}

fn api_error(what: &str, e: kube::Error) -> DiscoveryError {
    let code = match &e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    };
    DiscoveryError {
        what: what.to_string(),
        message: crate::kube::client::error_chain(&e),
        code,
    }
}

impl Discovery {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            groups: Mutex::new(None),
            group_versions: Mutex::new(HashMap::new()),
        }
    }

    /// Served versions per API group (core group "" = `v1`).
    async fn groups(&self) -> Result<HashMap<String, Vec<String>>, DiscoveryError> {
        if let Some(g) = self.groups.lock().clone() {
            return Ok(g);
        }
        let list = self
            .client
            .list_api_groups()
            .await
            .map_err(|e| api_error("API groups", e))?;
        let mut map: HashMap<String, Vec<String>> = list
            .groups
            .into_iter()
            .map(|g| {
                let versions = g.versions.into_iter().map(|v| v.version).collect();
                (g.name, versions)
            })
            .collect();
        map.insert(String::new(), vec!["v1".to_string()]);
        *self.groups.lock() = Some(map.clone());
        Ok(map)
    }

    /// The resources of one group-version, or `None` when it is not served.
    async fn resources(
        &self,
        group: &str,
        version: &str,
    ) -> Result<Option<GvResources>, DiscoveryError> {
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        if let Some(r) = self.group_versions.lock().get(&gv) {
            return Ok(r.clone());
        }
        let list = if group.is_empty() {
            self.client.list_core_api_resources(version).await
        } else {
            self.client.list_api_group_resources(&gv).await
        };
        let list = match list {
            Ok(l) => l,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                self.group_versions.lock().insert(gv, None);
                return Ok(None);
            }
            Err(e) => return Err(api_error(&gv, e)),
        };
        let res: GvResources = list
            .resources
            .into_iter()
            .filter(|r| !r.name.contains('/'))
            .map(|r| {
                let ar = ApiResource {
                    group: group.to_string(),
                    version: version.to_string(),
                    api_version: gv.clone(),
                    kind: r.kind,
                    plural: r.name,
                };
                (ar, r.namespaced)
            })
            .collect();
        self.group_versions.lock().insert(gv, Some(res.clone()));
        Ok(Some(res))
    }

    /// Resolve a kind trying `preferred` versions in order (newest first); when none of them
    /// is served, any other served version of the group is tried.
    pub async fn resolve(
        &self,
        group: &str,
        kind: &str,
        preferred: &[&str],
    ) -> Result<Resolved, DiscoveryError> {
        let groups = self.groups().await?;
        let Some(served) = groups.get(group) else {
            return Ok(Resolved::NotInstalled);
        };
        let mut order: Vec<&str> = preferred
            .iter()
            .copied()
            .filter(|v| served.iter().any(|s| s == v))
            .collect();
        for s in served {
            if !order.contains(&s.as_str()) {
                order.push(s);
            }
        }
        for version in order {
            if let Some(list) = self.resources(group, version).await?
                && let Some((ar, namespaced)) = list.iter().find(|(ar, _)| ar.kind == kind)
            {
                return Ok(Resolved::Served {
                    resource: ar.clone(),
                    namespaced: *namespaced,
                });
            }
        }
        Ok(Resolved::NotInstalled)
    }

    /// Resolve a group/version/kind as named by an inventory entry or manifest.
    pub async fn resolve_gvk(&self, gvk: &GroupVersionKind) -> Result<Resolved, DiscoveryError> {
        self.resolve(&gvk.group, &gvk.kind, &[gvk.version.as_str()])
            .await
    }

    /// Forget everything (after a context switch or a CRD change).
    pub fn reset(&self) {
        *self.groups.lock() = None;
        self.group_versions.lock().clear();
    }
}
