//! Events about an object, as the details pane lists them: plain data read from core/v1
//! Events by `kube::fetch`, below both the app and the client.

use k8s_openapi::jiff::Timestamp;

/// One core/v1 Event about an object, newest first in lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    pub last_seen: Option<Timestamp>,
    /// Reporting component, e.g. `helm-controller`.
    pub source: String,
}
