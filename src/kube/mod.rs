//! The only place that talks to the Kubernetes API: connection, discovery, watches with
//! their stores (one stored form per object) and health.

pub mod client;
pub mod cluster;
pub mod discovery;
pub mod fetch;
pub mod managed;
pub mod oneshot;
pub mod store;
#[cfg(test)]
mod test_sim;
pub mod watch;
