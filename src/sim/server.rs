//! The HTTP API of the simulated cluster.
