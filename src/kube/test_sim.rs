//! For the tests of this module: the simulated cluster, connected to as a user would.
#![allow(clippy::unwrap_used)]

use kube::Client;
use kube::core::{ApiResource, GroupVersionKind};

use crate::kube::client;
use crate::sim::cluster::{SimCluster, SimOptions};

/// The simulated cluster of the `deps` scenario and a client connected to it over HTTP.
pub(crate) async fn deps_cluster() -> (SimCluster, Client) {
    connected(deps()).await
}

/// The options of the `deps` scenario.
pub(crate) fn deps() -> SimOptions {
    SimOptions {
        scenario: "deps".into(),
        ..SimOptions::default()
    }
}

/// A simulated cluster and a client connected to it over HTTP.
pub(crate) async fn connected(opts: SimOptions) -> (SimCluster, Client) {
    let cluster = SimCluster::start(opts).await.unwrap();
    let conn = client::connect_kubeconfig_yaml(&cluster.kubeconfig_yaml())
        .await
        .unwrap();
    (cluster, conn.client)
}

/// ConfigMaps (`v1`).
pub(crate) fn configmaps() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap"))
}
