//! Actions on the cluster: what the operator asks for ([`intent::Intent`], plain data made by
//! `app::update` or a command), the exact patches ([`patch`], pure), the [`writer::Writer`]
//! (the only code that can change the cluster, built only for sessions that are not
//! read-only), the runs that wait for Flux to act ([`run`]), the Helm release history
//! ([`history`]), the Flux-safe rollback ([`rollback`]) and the data of the diff views
//! ([`diffs`]).

pub mod audit;
pub mod diffs;
pub mod evidence;
pub mod history;
pub mod intent;
pub mod patch;
pub mod rollback;
pub mod run;
pub mod writer;
