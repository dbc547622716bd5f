//! Load a complete snapshot once (for `fluxdeck tree`, `status` and `why`): start the
//! watches, wait until each has listed, add the managed objects the inventories name, and
//! return the snapshot.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::client::Connection;
use super::cluster::{ClusterWatch, Scope};
use super::watch::{Notifier, WatchState};
use crate::domain::flux::ObjectKind;
use crate::domain::secrets;
use crate::domain::tree::Snapshot;

/// How long to wait for the first lists before giving up.
const SYNC_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Discovery(#[from] super::discovery::DiscoveryError),
    #[error("the API server did not answer the lists in time: {0}")]
    NotSynced(String),
}

/// Every managed (non-Flux) scope named by an inventory in the snapshot, but Secrets, which are
/// never watched.
pub fn inventory_scopes(snap: &Snapshot) -> BTreeSet<Scope> {
    let mut scopes = BTreeSet::new();
    for obj in snap.flux.values() {
        if let Some(inv) = obj.inventory() {
            for r in inv.refs() {
                let kind = ObjectKind::new(&r.group, &r.kind);
                if kind.flux().is_some() || !secrets::is_watchable(&kind) {
                    continue;
                }
                let ns = (!r.namespace.is_empty()).then(|| r.namespace.clone());
                scopes.insert((kind, ns));
            }
        }
    }
    scopes
}

async fn wait_synced(cw: &ClusterWatch) -> Result<(), LoadError> {
    let deadline = tokio::time::Instant::now() + SYNC_LIMIT;
    while !cw.is_synced() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            let pending: Vec<String> = cw
                .notifier()
                .health()
                .into_iter()
                .filter_map(|(k, s)| match s {
                    WatchState::Connecting => Some(k.kind),
                    WatchState::Reconnecting { error, .. } => Some(format!("{}: {error}", k.kind)),
                    _ => None,
                })
                .collect();
            return Err(LoadError::NotSynced(pending.join("; ")));
        }
        let _ = tokio::time::timeout(left, cw.notifier().notified()).await;
    }
    Ok(())
}

/// Load the Flux objects, and with `managed` also the objects their inventories name.
/// Returns the snapshot, objects that could not be read, and watches that were refused.
pub async fn load(
    conn: &Connection,
    namespace: Option<String>,
    managed: bool,
) -> Result<(Snapshot, Vec<String>), LoadError> {
    let notifier = Notifier::new();
    let mut cw = ClusterWatch::start(conn.client.clone(), namespace, notifier).await?;
    wait_synced(&cw).await?;
    if managed {
        let (snap, _) = cw.snapshot(Timestamp::now());
        cw.set_managed_scopes(&inventory_scopes(&snap)).await;
        wait_synced(&cw).await?;
    }
    let (snap, mut errors) = cw.snapshot(Timestamp::now());
    for (k, s) in cw.notifier().health() {
        match s {
            WatchState::Forbidden { message } => {
                errors.push(format!("{}: forbidden: {message}", k.kind))
            }
            WatchState::NotInstalled if k.kind == "HelmRelease" || k.kind == "Kustomization" => {
                errors.push(format!("{} API not installed", k.kind))
            }
            _ => {}
        }
    }
    Ok((snap, errors))
}
