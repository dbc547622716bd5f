//! The simulated cluster: a Kubernetes API server on loopback with Flux controller
//! behaviour. It is the embedded default of `fluxdeck demo`, the target of integration and
//! end-to-end tests and the bench for scale. It never imports `app`, `ui` or `actions`.
//!
//! - [`cluster`]: a whole simulated cluster started from a scenario.
//! - [`store`]: objects, resourceVersions, watch fan-out.
//! - [`defaults`]: the API server's defaulting, run on every write.
//! - [`registry`]: served resource types (discovery, routing, Table columns).
//! - [`server`]: the HTTP API (JSON only).
//! - [`faults`]: fault injection and the permission policy.
//! - [`kubeconfig`]: a kubeconfig pointing at the server.
//! - [`controllers`]: Flux behaviour (sources, Kustomizations, HelmReleases, workloads, events).
//! - [`scenario`]: embedded and user scenarios.

pub mod cluster;
pub mod controllers;
pub mod defaults;
pub mod faults;
pub mod kubeconfig;
pub mod registry;
pub mod scenario;
pub mod server;
pub mod store;
