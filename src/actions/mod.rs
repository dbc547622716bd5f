//! Actions on the cluster: what the operator asks for ([`intent::Intent`], plain data made by
//! `app::update` or a command), the exact patches ([`patch`], pure), the [`writer::Writer`]
//! (the only code that can send a non-GET request, built only for sessions that are not
//! read-only), the runs that wait for Flux to act ([`run`]), the Helm release history
//! ([`history`]) and the Flux-safe rollback ([`rollback`]).

pub mod audit;
pub mod history;
pub mod intent;
pub mod patch;
pub mod rollback;
pub mod run;
pub mod writer;
