//! Intents: what the operator asked for, as plain data. They carry no patch: the writer builds
//! the patch when it sends it (the token is the time of sending), and the confirm dialog shows
//! the same patch from [`super::patch`].

use std::fmt;

use crate::domain::flux::ObjectKey;
use crate::domain::helm_storage::ReleaseStatus;

/// How to reconcile (the `R` menu; `fluxdeck reconcile` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReconcileMode {
    /// `reconcile.fluxcd.io/requestedAt` only.
    Plain,
    /// The object's sources first, one after the other (a static OCI HelmRepository is
    /// skipped), then the object.
    WithSource,
    /// HelmRelease: a one-off forced install/upgrade (`forceAt` = `requestedAt`).
    Force,
    /// HelmRelease: reset the remediation retry counters (`resetAt` = `requestedAt`).
    Reset,
}

impl ReconcileMode {
    pub const ALL: [ReconcileMode; 4] = [
        ReconcileMode::Plain,
        ReconcileMode::WithSource,
        ReconcileMode::Force,
        ReconcileMode::Reset,
    ];

    /// Whether the mode applies to objects of this kind (force/reset are HelmRelease-only;
    /// with-source needs a Kustomization or HelmRelease).
    pub fn applies_to(self, key: &ObjectKey) -> bool {
        let kind = key.kind.kind();
        match self {
            ReconcileMode::Plain => true,
            ReconcileMode::WithSource => kind == "HelmRelease" || kind == "Kustomization",
            ReconcileMode::Force | ReconcileMode::Reset => kind == "HelmRelease",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReconcileMode::Plain => "reconcile",
            ReconcileMode::WithSource => "reconcile with source",
            ReconcileMode::Force => "force (one-off install/upgrade)",
            ReconcileMode::Reset => "reset remediation retries",
        }
    }
}

/// An action on one object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Intent {
    Reconcile {
        target: ObjectKey,
        mode: ReconcileMode,
    },
    /// `spec.suspend: true`.
    Suspend { target: ObjectKey },
    /// Remove `spec.suspend` and request a reconcile.
    Resume { target: ObjectKey },
    /// Suspend a HelmRelease and roll its release back to revision `to`
    /// ([`super::rollback::run`]); aborted when the HelmRelease or its latest release record
    /// changed since the preview (`plan_token`).
    Rollback {
        target: ObjectKey,
        to: i64,
        plan_token: PlanToken,
    },
}

/// What a rollback preview was made from: the HelmRelease's resourceVersion and the latest
/// release record. The run aborts when either changed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PlanToken {
    pub hr_resource_version: String,
    pub latest: i64,
    pub latest_status: ReleaseStatus,
}

impl Intent {
    pub fn target(&self) -> &ObjectKey {
        match self {
            Intent::Reconcile { target, .. }
            | Intent::Suspend { target }
            | Intent::Resume { target }
            | Intent::Rollback { target, .. } => target,
        }
    }

    /// The action's name for the audit log, progress and messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Intent::Reconcile { mode, .. } => match mode {
                ReconcileMode::Plain => "reconcile",
                ReconcileMode::WithSource => "reconcile --with-source",
                ReconcileMode::Force => "reconcile --force",
                ReconcileMode::Reset => "reconcile --reset",
            },
            Intent::Suspend { .. } => "suspend",
            Intent::Resume { .. } => "resume",
            Intent::Rollback { .. } => "rollback",
        }
    }

    /// Whether the run waits for Flux to handle a reconcile request.
    pub fn waits(&self) -> bool {
        !matches!(self, Intent::Suspend { .. } | Intent::Rollback { .. })
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.target();
        write!(
            f,
            "{} {}/{}/{}",
            self.verb(),
            t.kind.kind(),
            t.namespace,
            t.name
        )?;
        if let Intent::Rollback { to, .. } = self {
            write!(f, " to revision {to}")?;
        }
        Ok(())
    }
}
