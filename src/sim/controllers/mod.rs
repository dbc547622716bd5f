//! Flux controller behaviour of the simulated cluster.
