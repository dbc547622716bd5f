//! Connecting to a cluster: kubeconfig and context selection, and a first request that proves
//! the server is reachable and accepts our credentials, so problems are reported before the
//! TUI takes over the terminal.

use std::path::Path;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A working connection to a cluster.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    /// The kube context in use (`in-cluster` when running inside a Pod).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// The server's version (`gitVersion`).
    pub version: String,
}

/// Why fluxdeck could not connect. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no kubeconfig found ({0}); set KUBECONFIG, pass --kubeconfig, or try `fluxdeck demo`")]
    NoConfig(String),
    #[error("cannot read kubeconfig {path}: {message}")]
    BadKubeconfig { path: String, message: String },
    #[error("context \"{context}\" not found in the kubeconfig; available: {available}")]
    UnknownContext { context: String, available: String },
    #[error("invalid cluster configuration for context \"{context}\": {message}")]
    BadConfig { context: String, message: String },
    #[error("cannot reach the API server {server}: {message}")]
    Unreachable { server: String, message: String },
    #[error("TLS: {message} (API server {server})")]
    Tls { server: String, message: String },
    #[error("the API server {server} did not answer within {seconds} s")]
    Timeout { server: String, seconds: u64 },
    #[error("the API server {server} rejected our credentials ({code}): {message}")]
    Unauthorized {
        server: String,
        code: u16,
        message: String,
    },
}

/// Where the contexts come from: the kubeconfig file(s), or one held in memory (the
/// simulated cluster's, in `fluxdeck demo`).
#[derive(Clone, Debug, Default)]
pub enum KubeconfigSource {
    /// `--kubeconfig PATH`, else $KUBECONFIG / ~/.kube/config.
    #[default]
    Default,
    File(std::path::PathBuf),
    InMemory(String),
}

impl KubeconfigSource {
    fn read(&self) -> Result<Kubeconfig, ConnectError> {
        match self {
            KubeconfigSource::Default => {
                Kubeconfig::read().map_err(|e| ConnectError::NoConfig(e.to_string()))
            }
            KubeconfigSource::File(path) => {
                Kubeconfig::read_from(path).map_err(|e| ConnectError::BadKubeconfig {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })
            }
            KubeconfigSource::InMemory(yaml) => {
                Kubeconfig::from_yaml(yaml).map_err(|e| ConnectError::BadKubeconfig {
                    path: "(in memory)".into(),
                    message: e.to_string(),
                })
            }
        }
    }

    /// The names of the contexts, in the kubeconfig's order (reads the file: call it off the
    /// UI task).
    pub fn contexts(&self) -> Result<Vec<String>, ConnectError> {
        Ok(self.read()?.contexts.into_iter().map(|c| c.name).collect())
    }

    /// Connect to one of its contexts (the in-memory kubeconfig: no file, no in-cluster).
    pub async fn connect(&self, context: &str) -> Result<Connection, ConnectError> {
        match self {
            KubeconfigSource::Default => connect(None, Some(context)).await,
            KubeconfigSource::File(path) => connect(Some(path), Some(context)).await,
            KubeconfigSource::InMemory(_) => {
                let (cfg, name) = configure_from(self.read()?, Some(context)).await?;
                connect_with(cfg, name).await
            }
        }
    }
}

/// Load the kubeconfig (explicit path, else $KUBECONFIG / ~/.kube/config, else in-cluster),
/// pick the context and build a client. Does not contact the server.
pub async fn configure(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<(Config, String), ConnectError> {
    let kc = match kubeconfig {
        Some(path) => {
            Some(
                Kubeconfig::read_from(path).map_err(|e| ConnectError::BadKubeconfig {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?,
            )
        }
        None => match Kubeconfig::read() {
            Ok(kc) => Some(kc),
            Err(read_err) => {
                if context.is_none()
                    && let Ok(cfg) = Config::incluster()
                {
                    return Ok((cfg, "in-cluster".to_string()));
                }
                return Err(ConnectError::NoConfig(read_err.to_string()));
            }
        },
    };
    let Some(kc) = kc else {
        return Err(ConnectError::NoConfig("empty".into()));
    };
    configure_from(kc, context).await
}

/// Pick the context of a loaded kubeconfig and build a client config.
async fn configure_from(
    kc: Kubeconfig,
    context: Option<&str>,
) -> Result<(Config, String), ConnectError> {
    let name = match context {
        Some(c) => c.to_string(),
        None => kc.current_context.clone().unwrap_or_default(),
    };
    if !kc.contexts.iter().any(|c| c.name == name) {
        let available: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(ConnectError::UnknownContext {
            context: if name.is_empty() {
                "(no current-context)".into()
            } else {
                name
            },
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        });
    }
    let opts = KubeConfigOptions {
        context: Some(name.clone()),
        ..Default::default()
    };
    let cfg = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| ConnectError::BadConfig {
            context: name.clone(),
            message: e.to_string(),
        })?;
    Ok((cfg, name))
}

/// Build a client for the context and check that the server answers.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Connection, ConnectError> {
    let (cfg, context) = configure(kubeconfig, context).await?;
    connect_with(cfg, context).await
}

/// [`connect`] for one-shot commands: gives up when the server has not answered within
/// `limit` (the TCP connect and the first request), instead of the client's long defaults.
pub async fn connect_within(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    limit: Duration,
) -> Result<Connection, ConnectError> {
    let (mut cfg, context) = configure(kubeconfig, context).await?;
    cfg.connect_timeout = Some(limit);
    let server = cfg
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    match tokio::time::timeout(limit, connect_with(cfg, context)).await {
        Ok(result) => result,
        Err(_) => Err(ConnectError::Timeout {
            server,
            seconds: limit.as_secs(),
        }),
    }
}

/// Connect with an in-memory kubeconfig (its current context), e.g. the simulated cluster's.
pub async fn connect_kubeconfig_yaml(yaml: &str) -> Result<Connection, ConnectError> {
    let kc = Kubeconfig::from_yaml(yaml).map_err(|e| ConnectError::BadKubeconfig {
        path: "(in memory)".into(),
        message: e.to_string(),
    })?;
    let context = kc.current_context.clone().unwrap_or_default();
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| ConnectError::BadConfig {
            context: context.clone(),
            message: e.to_string(),
        })?;
    connect_with(cfg, context).await
}

/// Build a client from a ready config and check that the server answers.
pub async fn connect_with(cfg: Config, context: String) -> Result<Connection, ConnectError> {
    let server = cfg.cluster_url.to_string();
    let client = Client::try_from(cfg).map_err(|e| classify(&server, e))?;
    let info = client
        .apiserver_version()
        .await
        .map_err(|e| classify(&server, e))?;
    Ok(Connection {
        client,
        context,
        server: server.trim_end_matches('/').to_string(),
        version: info.git_version,
    })
}

fn classify(server: &str, e: kube::Error) -> ConnectError {
    let server = server.trim_end_matches('/').to_string();
    match e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => ConnectError::Unauthorized {
            server,
            code: s.code,
            message: s.message,
        },
        kube::Error::RustlsTls(err) => ConnectError::Tls {
            server,
            message: err.to_string(),
        },
        kube::Error::TlsRequired => ConnectError::Tls {
            server,
            message: "the server requires TLS".into(),
        },
        kube::Error::Auth(err) => ConnectError::Unauthorized {
            server,
            code: 401,
            message: err.to_string(),
        },
        other => match tls_problem(&other) {
            Some(message) => ConnectError::Tls { server, message },
            None => ConnectError::Unreachable {
                server,
                message: error_chain(&other),
            },
        },
    }
}

/// The errors under `e`, `e` first. An I/O error's inner error counts as its source (the
/// standard library's `source` skips it), so a TLS error carried by an I/O error is found.
fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        out.push(err);
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    out
}

/// A TLS failure anywhere in the chain of `e`, in words that say what is wrong.
fn tls_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    chain(e)
        .into_iter()
        .find_map(|err| err.downcast_ref::<rustls::Error>())
        .map(describe_tls)
}

fn describe_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let what = match c {
                // `Other` carries the verifier's own reasons (e.g. a self-signed CA
                // certificate presented as the server's).
                C::UnknownIssuer | C::BadSignature | C::Other(_) => {
                    "the server's certificate is not trusted (signed by an authority not in the \
                     kubeconfig's certificate-authority-data or the system roots)"
                }
                C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired",
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "the server's certificate is not valid yet (check the clock)"
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "the server's certificate is not valid for the server name in the kubeconfig"
                }
                C::Revoked => "the server's certificate has been revoked",
                _ => "the server's certificate was rejected",
            };
            format!("{what}: {c}")
        }
        other => format!("the TLS handshake failed: {other}"),
    }
}

/// The error and its sources on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}
