//! Test helpers: the simulated API server in-process on 127.0.0.1:0, a kube client for it,
//! a raw HTTP/1.1 client for malformed requests, and bounded waits.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fluxdeck::sim::faults::{FaultSpec, Faults};
use fluxdeck::sim::registry::{FluxApiLevel, Registry};
use fluxdeck::sim::server::{self, AccessLogEntry, ServerHandle, ServerOptions};
use fluxdeck::sim::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upper bound of every wait in the tests.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Sim {
    pub handle: ServerHandle,
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    pub faults: Arc<Faults>,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Sim {
    pub async fn start() -> Self {
        Self::start_with(FluxApiLevel::Current, Store::new()).await
    }

    pub async fn start_with(level: FluxApiLevel, store: Store) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let store = Arc::new(store);
        let registry = Arc::new(Registry::new(level));
        let faults = Arc::new(Faults::new(FaultSpec::default()));
        let handle = server::start(
            store.clone(),
            registry.clone(),
            faults.clone(),
            ServerOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                access_log: Some(log.clone()),
            },
        )
        .await
        .unwrap();
        Self {
            handle,
            store,
            registry,
            faults,
            log,
            dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.addr()
    }

    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.handle.url().parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    pub fn access_log(&self) -> Vec<AccessLogEntry> {
        server::read_access_log(&self.log).unwrap_or_default()
    }

    /// Send raw bytes, read the whole answer.
    pub async fn raw(&self, request: &[u8]) -> RawResponse {
        raw(self.addr(), request).await
    }

    /// A request with `Connection: close`.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: sim-test\r\nContent-Length: {}\r\n",
            self.addr(),
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes).await
    }

    pub async fn get(&self, path: &str) -> RawResponse {
        self.request("GET", path, &[], b"").await
    }
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Reading the answer failed (e.g. the connection was reset) after these bytes.
    pub read_error: Option<String>,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Newline-delimited JSON lines of a watch answer.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub async fn raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    tokio::time::timeout(WAIT, async {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = s.split();
        // A write may fail once the server has answered and closed (e.g. a 413 before the
        // whole body was sent); the answer is what counts.
        let write = async {
            let _ = w.write_all(request).await;
            let _ = w.shutdown().await;
        };
        let mut out = Vec::new();
        let read = r.read_to_end(&mut out);
        let (_, res) = tokio::join!(write, read);
        let mut resp = parse_response(&out);
        resp.read_error = res.err().map(|e| e.to_string());
        resp
    })
    .await
    .expect("raw request timed out")
}

fn parse_response(out: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(out).to_string();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return RawResponse {
            status: 0,
            headers: vec![],
            body: text,
            read_error: None,
        };
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    RawResponse {
        status,
        headers,
        body,
        read_error: None,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            out.push_str(rest.get(..n.min(rest.len())).unwrap_or_default());
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// Poll `f` until it returns true, at most [`WAIT`].
pub async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let ok = tokio::time::timeout(WAIT, async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(ok.is_ok(), "timed out waiting for {what}");
}
