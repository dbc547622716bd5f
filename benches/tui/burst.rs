//! A burst of real watch events: status patches over HTTP to HelmReleases, each changing the
//! message of the Ready condition (and nothing the controllers react to: not the status of
//! the condition, the generation, labels or annotations), so every patch is one visible
//! change and one watch event. A separate watcher counts the HelmRelease events the
//! server sent meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::StreamExt;
use kube::Client;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, WatchEvent,
    WatchParams,
};
use serde_json::{Value, json};

pub fn helmreleases() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ))
}

/// One HelmRelease to patch and its conditions when listed.
pub struct Target {
    namespace: String,
    name: String,
    conditions: Vec<Value>,
}

/// Every HelmRelease with a Ready condition, and the list's resourceVersion.
pub async fn targets(client: &Client) -> Result<(Vec<Target>, String)> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &helmreleases());
    let list = api.list(&ListParams::default()).await?;
    let rv = list.metadata.resource_version.clone().unwrap_or_default();
    let targets = list
        .items
        .into_iter()
        .filter_map(|o| {
            let conditions = o.data["status"]["conditions"].as_array()?.clone();
            conditions
                .iter()
                .any(|c| c["type"] == "Ready")
                .then(|| Target {
                    namespace: o.metadata.namespace.clone().unwrap_or_default(),
                    name: o.metadata.name.clone().unwrap_or_default(),
                    conditions,
                })
        })
        .collect();
    Ok((targets, rv))
}

pub struct Outcome {
    pub writes: u64,
    pub errors: u64,
    pub elapsed: Duration,
}

/// Patch `writes` times, round-robin over `targets`, `concurrency` requests in flight.
pub async fn run(
    client: &Client,
    targets: &[Target],
    writes: usize,
    concurrency: usize,
) -> Outcome {
    let start = Instant::now();
    let ok = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    futures::stream::iter(0..writes)
        .for_each_concurrent(concurrency, |i| {
            let t = &targets[i % targets.len()];
            let conditions: Vec<Value> = t
                .conditions
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    if c["type"] == "Ready" {
                        let msg = c["message"].as_str().unwrap_or_default().to_string();
                        c["message"] = json!(format!("{msg} (bench write {i})"));
                    }
                    c
                })
                .collect();
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &t.namespace, &helmreleases());
            let patch = json!({"status": {"conditions": conditions}});
            let (ok, failed) = (&ok, &failed);
            async move {
                match api
                    .patch_status(&t.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
        .await;
    Outcome {
        writes: ok.load(Ordering::Relaxed),
        errors: failed.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    }
}

/// Counts HelmRelease watch events from a resourceVersion until stopped.
pub struct EventCounter {
    pub events: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl EventCounter {
    /// HelmRelease events.
    pub fn start(client: &Client, rv: String) -> EventCounter {
        Self::start_for(client, &helmreleases(), rv)
    }

    /// Events of any kind.
    pub fn start_for(client: &Client, resource: &ApiResource, rv: String) -> EventCounter {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), resource);
        let events = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (events.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut rv = rv;
            while !s.load(Ordering::Relaxed) {
                let Ok(stream) = api.watch(&WatchParams::default().timeout(300), &rv).await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let mut stream = std::pin::pin!(stream);
                loop {
                    let next = tokio::time::timeout(Duration::from_millis(200), stream.next());
                    match next.await {
                        Err(_) if s.load(Ordering::Relaxed) => return,
                        Err(_) => continue,
                        Ok(None) | Ok(Some(Err(_))) => break,
                        Ok(Some(Ok(WatchEvent::Bookmark(b)))) => {
                            rv = b.metadata.resource_version;
                        }
                        Ok(Some(Ok(WatchEvent::Error(_)))) => break,
                        Ok(Some(Ok(
                            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o),
                        ))) => {
                            e.fetch_add(1, Ordering::Relaxed);
                            if let Some(v) = o.metadata.resource_version {
                                rv = v;
                            }
                        }
                    }
                }
            }
        });
        EventCounter { events, stop, task }
    }

    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.events.load(Ordering::Relaxed)
    }
}
