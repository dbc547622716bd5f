//! Scenarios: the objects, charts and timeline the simulated cluster starts from.
