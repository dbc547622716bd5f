//! The exact patches of Flux's reconcile, suspend and resume mechanics: JSON merge patches
//! of the annotations and `spec.suspend`, sent with the field manager
//! [`FIELD_MANAGER`] (kustomize-controller would revert a patch made as `kubectl`).
//! Pure: the token is passed in.

use serde_json::{Map, Value, json};

use super::intent::{Intent, ReconcileMode};

/// The field manager of every patch (Flux's documented manager for hot patches).
pub const FIELD_MANAGER: &str = "flux-client-side-apply";
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
pub const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";
/// Shown in previews where the token will be (the time of sending, RFC 3339 with nanoseconds).
pub const TOKEN_PLACEHOLDER: &str = "<time of sending>";

/// The reconcile request: `requestedAt`, plus `forceAt`/`resetAt` equal to it.
pub fn reconcile(mode: ReconcileMode, token: &str) -> Value {
    let mut annotations = Map::new();
    annotations.insert(REQUESTED_AT.into(), json!(token));
    match mode {
        ReconcileMode::Force => {
            annotations.insert(FORCE_AT.into(), json!(token));
        }
        ReconcileMode::Reset => {
            annotations.insert(RESET_AT.into(), json!(token));
        }
        ReconcileMode::Plain | ReconcileMode::WithSource => {}
    }
    json!({"metadata": {"annotations": annotations}})
}

/// `spec.suspend: true`.
pub fn suspend() -> Value {
    json!({"spec": {"suspend": true}})
}

/// `spec.suspend` removed, and a reconcile requested in the same patch.
pub fn resume(token: &str) -> Value {
    json!({
        "metadata": {"annotations": {REQUESTED_AT: token}},
        "spec": {"suspend": null},
    })
}

/// The patch an intent sends to its target (for a reconcile with source, the last step; the
/// sources get plain reconcile requests first).
pub fn for_intent(intent: &Intent, token: &str) -> Value {
    match intent {
        Intent::Reconcile { mode, .. } => reconcile(*mode, token),
        Intent::Suspend { .. } | Intent::Rollback { .. } => suspend(),
        Intent::Resume { .. } => resume(token),
    }
}

/// The token of a request sent at `now`: RFC 3339 with nanoseconds, as the flux CLI writes it.
pub fn token(now: k8s_openapi::jiff::Timestamp) -> String {
    now.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::flux::{FluxKind, ObjectKey};

    fn hr() -> ObjectKey {
        ObjectKey::flux(FluxKind::HelmRelease, "apps", "web")
    }

    #[test]
    fn reconcile_patches_only_annotations_with_one_token() {
        let t = "2026-12-06T07:00:00.123456789Z";
        assert_eq!(
            reconcile(ReconcileMode::Plain, t),
            json!({"metadata": {"annotations": {REQUESTED_AT: t}}})
        );
        assert_eq!(
            reconcile(ReconcileMode::Force, t),
            json!({"metadata": {"annotations": {REQUESTED_AT: t, FORCE_AT: t}}})
        );
        assert_eq!(
            reconcile(ReconcileMode::Reset, t),
            json!({"metadata": {"annotations": {REQUESTED_AT: t, RESET_AT: t}}})
        );
        assert_eq!(
            reconcile(ReconcileMode::WithSource, t),
            reconcile(ReconcileMode::Plain, t)
        );
    }

    #[test]
    fn suspend_and_resume() {
        assert_eq!(suspend(), json!({"spec": {"suspend": true}}));
        let r = resume("T");
        assert_eq!(r["spec"]["suspend"], Value::Null);
        assert!(r["spec"].as_object().unwrap().contains_key("suspend"));
        assert_eq!(r["metadata"]["annotations"][REQUESTED_AT], json!("T"));
        assert_eq!(
            for_intent(&Intent::Resume { target: hr() }, "T"),
            resume("T")
        );
    }

    #[test]
    fn tokens_are_rfc3339_with_nanoseconds() {
        let ts: k8s_openapi::jiff::Timestamp = "2026-12-06T07:00:00.123456789Z".parse().unwrap();
        assert_eq!(token(ts), "2026-12-06T07:00:00.123456789Z");
    }
}
