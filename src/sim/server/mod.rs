//! The HTTP API of the simulated cluster: a Kubernetes API server on loopback, JSON only.
//! Real clients (kube-rs, kubectl, helm) talk to it: discovery, get/list/watch, writes,
//! patches (merge, JSON, server-side apply), the status subresource, dry runs, the Table
//! format, OpenAPI v3, `Status` errors, fault injection and an access log.
//!
//! - [`request`]: paths and query strings.
//! - [`selectors`]: label and field selectors.
//! - [`handler`]: per-request dispatch, faults, access log.
//! - [`resource`], [`read`], [`watch`], [`write`], [`patch`], [`managed`]: the verbs.
//! - [`merge`]: how lists merge (server-side apply, strategic merge patches).
//! - [`discovery`], [`openapi`], [`table`], [`encode`], [`errors`]: response formats.
//! - [`listener`]: accepting connections; stop and restart keeping the state.

pub mod access_log;
pub mod discovery;
pub mod encode;
pub mod errors;
mod handler;
mod listener;
pub mod managed;
pub mod merge;
pub mod openapi;
mod patch;
mod read;
pub mod request;
mod resource;
pub mod selectors;
pub mod table;
mod watch;
mod write;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::faults::Faults;
use super::registry::Registry;
use super::store::{ResourceId, Store};
pub use access_log::{AccessLogEntry, read_access_log};

/// Where the server listens and logs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// A loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Append one line per request to this file.
    pub access_log: Option<PathBuf>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_log: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "the simulated API server only listens on loopback addresses, not {0} (use 127.0.0.1 or ::1)"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the access log {path}: {source}")]
    AccessLog {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Shared state of the request handlers.
pub(crate) struct Ctx {
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    pub faults: Arc<Faults>,
    pub log: Option<access_log::AccessLog>,
    pub addr: SocketAddr,
}

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    listener: listener::Listener,
}

/// Start serving `store` on `opts.listen`.
pub async fn start(
    store: Arc<Store>,
    registry: Arc<Registry>,
    faults: Arc<Faults>,
    opts: ServerOptions,
) -> Result<ServerHandle, ServerError> {
    if !opts.listen.ip().is_loopback() {
        return Err(ServerError::NotLoopback(opts.listen));
    }
    let log =
        match &opts.access_log {
            Some(path) => Some(access_log::AccessLog::open(path).map_err(|source| {
                ServerError::AccessLog {
                    path: path.clone(),
                    source,
                }
            })?),
            None => None,
        };
    // CustomResourceDefinitions already in the store serve their resources.
    let crds = ResourceId::new("apiextensions.k8s.io", "customresourcedefinitions");
    for crd in store.list(&crds, None).0 {
        registry.register_crd(&crd);
    }
    let tcp = listener::bind(opts.listen)?;
    let addr = tcp.local_addr().map_err(|source| ServerError::Bind {
        addr: opts.listen,
        source,
    })?;
    let ctx = Arc::new(Ctx {
        store,
        registry,
        faults,
        log,
        addr,
    });
    let listener = listener::Listener::new(ctx);
    listener.run(tcp).await;
    Ok(ServerHandle { addr, listener })
}

impl ServerHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting connections and drop the open ones (watches end); all state is kept.
    pub async fn stop_listener(&self) {
        self.listener.stop().await;
    }

    /// Listen again on the same address after [`ServerHandle::stop_listener`].
    pub async fn restart_listener(&self) -> Result<(), ServerError> {
        self.listener.stop().await;
        let tcp = listener::bind(self.addr)?;
        self.listener.run(tcp).await;
        Ok(())
    }

    pub async fn shutdown(self) {
        self.listener.stop().await;
    }
}
