//! Accepting connections. Each connection is served on its own task owned by the accept
//! task, so stopping the listener drops every open connection (and its watches) at once
//! while the store and settings live on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Mutex, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use super::{Ctx, ServerError, handler};

/// Bind a listening socket (address reuse on, so a restart can take the same port).
pub fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let err = |source| ServerError::Bind { addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(1024).map_err(err)
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The accept loop, which can be stopped and started again.
pub struct Listener {
    ctx: Arc<Ctx>,
    running: Mutex<Option<Running>>,
}

impl Listener {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Self {
            ctx,
            running: Mutex::new(None),
        }
    }

    pub async fn run(&self, tcp: TcpListener) {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(self.ctx.clone(), tcp, stopped));
        let mut running = self.running.lock().await;
        if let Some(old) = running.replace(Running { stop, task }) {
            let _ = old.stop.send(());
            let _ = old.task.await;
        }
    }

    pub async fn stop(&self) {
        let mut running = self.running.lock().await;
        if let Some(r) = running.take() {
            let _ = r.stop.send(());
            let _ = r.task.await;
        }
    }
}

impl Drop for Listener {
    /// A dropped server stops listening and drops its connections.
    fn drop(&mut self) {
        if let Some(r) = self.running.get_mut().take() {
            let _ = r.stop.send(());
            r.task.abort();
        }
    }
}

async fn accept_loop(ctx: Arc<Ctx>, tcp: TcpListener, mut stopped: oneshot::Receiver<()>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = tcp.accept() => {
                let (stream, _) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accepting a connection failed: {e}");
                        // Back off briefly (e.g. out of file descriptors) instead of spinning.
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let ctx = ctx.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        let ctx = ctx.clone();
                        async move { Ok::<_, Infallible>(handler::handle(ctx, req).await) }
                    });
                    if let Err(e) = http1::Builder::new()
                        .half_close(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                    {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
        }
    }
    // Dropping the set aborts every connection task; dropping the listener closes the port.
    conns.shutdown().await;
}
