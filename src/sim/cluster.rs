//! A whole simulated cluster: store, served types, faults, HTTP server and controllers,
//! started from a scenario. `fluxdeck sim`, `fluxdeck demo` and the tests start it this way.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::controllers::{self, ControllerOptions, ControllersHandle};
use super::faults::Faults;
use super::registry::Registry;
use super::scenario::{self, ScenarioError};
use super::server::{self, ServerError, ServerHandle, ServerOptions};
use super::store::Store;

/// How to start a simulated cluster.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Embedded scenario name, `scale:hr=N,ks=M`, or a scenario file.
    pub scenario: String,
    /// How much faster than real time the controllers run.
    pub speed: f64,
    /// Request log file.
    pub access_log: Option<PathBuf>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            scenario: "demo".into(),
            speed: 30.0,
            access_log: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("--speed must be a number from {MIN_SPEED} to {MAX_SPEED}, got {0}")]
    BadSpeed(f64),
}

/// The slowest speed: a nominal minute takes 100 real minutes.
pub const MIN_SPEED: f64 = 0.01;
/// The fastest speed: a nominal 10-minute interval takes 60 ms.
pub const MAX_SPEED: f64 = 10_000.0;

/// Check a speed factor: finite and within [`MIN_SPEED`]..=[`MAX_SPEED`].
pub fn check_speed(speed: f64) -> Result<f64, SimError> {
    if speed.is_finite() && (MIN_SPEED..=MAX_SPEED).contains(&speed) {
        Ok(speed)
    } else {
        Err(SimError::BadSpeed(speed))
    }
}

/// A running simulated cluster. Dropping it stops the controllers and the server.
pub struct SimCluster {
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    pub faults: Arc<Faults>,
    pub server: ServerHandle,
    controllers: ControllersHandle,
}

impl SimCluster {
    /// Load the scenario, seed the store, start the server and the controllers.
    pub async fn start(opts: SimOptions) -> Result<SimCluster, SimError> {
        check_speed(opts.speed)?;
        let scenario = scenario::load(&opts.scenario)?;
        let store = Arc::new(Store::new());
        let registry = Arc::new(Registry::new(scenario.api_level()));
        let faults = Arc::new(Faults::new(scenario.faults()));
        scenario::seed(&store, &scenario)?;
        let server = server::start(
            store.clone(),
            registry.clone(),
            faults.clone(),
            ServerOptions {
                listen: opts.listen,
                access_log: opts.access_log.clone(),
            },
        )
        .await?;
        let controllers = controllers::start(
            store.clone(),
            Arc::new(scenario),
            ControllerOptions { speed: opts.speed },
        );
        Ok(SimCluster {
            store,
            registry,
            faults,
            server,
            controllers,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A kubeconfig (context `fluxdeck-sim`) pointing at the server.
    pub fn kubeconfig_yaml(&self) -> String {
        super::kubeconfig::kubeconfig_yaml(&self.url())
    }

    /// Stop the controllers and the server.
    pub async fn shutdown(self) {
        self.controllers.stop();
        self.server.shutdown().await;
    }
}
