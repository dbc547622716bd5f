//! Running an intent: the patches in order, then waiting until Flux has handled the request
//! (`status.lastHandledReconcileAt` equals the token) and reporting the outcome (the Ready
//! message, or the failure). Shared by the TUI's executor and the `reconcile`, `suspend` and
//! `resume` commands.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::intent::{Intent, ReconcileMode};
use super::patch;
use super::writer::{ActionError, Reader, Writer, label};
use crate::domain::flux::{FluxObject, ObjectKey};

/// How often the object is read while waiting.
pub const POLL: Duration = Duration::from_secs(1);
/// How long to wait for Flux by default (as the flux CLI).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// What a run reports while it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A request was sent to this object; waiting for its controller.
    Requested {
        key: ObjectKey,
        step: usize,
        of: usize,
    },
    /// This source is static (an OCI HelmRepository): nothing to reconcile.
    Skipped { key: ObjectKey },
    /// This step finished well; the next starts.
    StepDone { key: ObjectKey, message: String },
    /// A step of a rollback.
    Rollback(super::rollback::Progress),
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Ready (or, for suspend, patched).
    pub ok: bool,
    /// The Ready message, the failure, or why it timed out.
    pub message: String,
    pub timed_out: bool,
}

fn parse(value: Value, key: &ObjectKey) -> Result<FluxObject, ActionError> {
    FluxObject::from_value(value)
        .map_err(|e| ActionError::Api(format!("{} cannot be read: {e}", label(key))))
}

/// The sources a reconcile with source goes through, in order (furthest first), ending with
/// the target itself.
async fn chain(reader: &Reader, target: &ObjectKey) -> Result<Vec<ObjectKey>, ActionError> {
    let mut order = vec![target.clone()];
    let mut current = parse(reader.get(target).await?, target)?;
    // Kustomization → source; HelmRelease → HelmChart → source (or chartRef). Bounded.
    for _ in 0..4 {
        let Some(next) = current.source_refs().into_iter().next() else {
            break;
        };
        if next.kind.flux().is_none() {
            return Err(ActionError::Unsupported(format!(
                "cannot reconcile source of kind {}",
                next.kind.kind()
            )));
        }
        current = parse(reader.get(&next).await?, &next)?;
        order.insert(0, next);
    }
    Ok(order)
}

/// Wait until the object has handled `token`; then its Ready condition is the outcome.
async fn wait_handled(
    reader: &Reader,
    key: &ObjectKey,
    token: &str,
    deadline: tokio::time::Instant,
) -> Result<Outcome, ActionError> {
    loop {
        let value = reader.get(key).await?;
        let handled = value
            .pointer("/status/lastHandledReconcileAt")
            .and_then(Value::as_str)
            == Some(token);
        if handled {
            let obj = parse(value, key)?;
            let reconciling = obj.condition("Reconciling").is_some_and(|c| c.is_true());
            match obj.ready() {
                Some(c) if c.is_true() => {
                    return Ok(Outcome {
                        ok: true,
                        message: c.first_line().to_string(),
                        timed_out: false,
                    });
                }
                Some(c) if c.is_false() && !reconciling => {
                    return Ok(Outcome {
                        ok: false,
                        message: format!(
                            "{} reconciliation failed: {}: {}",
                            key.kind.kind(),
                            c.reason,
                            c.first_line()
                        ),
                        timed_out: false,
                    });
                }
                _ => {}
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Outcome {
                ok: false,
                message: format!(
                    "timed out waiting for {} to {}",
                    label(key),
                    if handled {
                        "become ready"
                    } else {
                        "handle the reconcile request"
                    }
                ),
                timed_out: true,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Send one reconcile request and wait for its outcome.
async fn reconcile_one(
    writer: &Writer,
    key: &ObjectKey,
    mode: ReconcileMode,
    deadline: tokio::time::Instant,
) -> Result<Outcome, ActionError> {
    let token = patch::token(Timestamp::now());
    writer
        .merge_patch(key, &patch::reconcile(mode, &token))
        .await?;
    wait_handled(writer.reader(), key, &token, deadline).await
}

/// Run `intent` to its end, reporting progress. `Err` when it could not run (not found,
/// forbidden, suspended, unsupported); `Ok` with the outcome when it ran.
pub async fn run(
    writer: &Writer,
    intent: &Intent,
    timeout: Duration,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Outcome, ActionError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let target = intent.target();
    let reader = writer.reader();
    match intent {
        Intent::Rollback { to, plan_token, .. } => {
            // Re-plan against the release as it is now; when that is no longer possible (the
            // target revision was pruned meanwhile, say) and the release moved on since the
            // preview, say so rather than the planning error.
            let plan = match super::rollback::plan(reader, target, Some(*to)).await {
                Ok(p) => p.with_token(plan_token),
                Err(e) => {
                    let moved = super::history::load(reader, target)
                        .await
                        .ok()
                        .and_then(|h| h.latest().map(|r| (r.meta.version, r.meta.status)))
                        .filter(|now| *now != (plan_token.latest, plan_token.latest_status));
                    return Err(match moved {
                        Some((v, s)) => ActionError::Changed(format!(
                            "{} changed since the preview (latest revision {} {} → {v} {s}): \
                             look again and retry",
                            label(target),
                            plan_token.latest,
                            plan_token.latest_status
                        )),
                        None => e,
                    });
                }
            };
            let mut forward = |p: super::rollback::Progress| progress(Progress::Rollback(p));
            let o = super::rollback::run(writer, &plan, &mut forward).await?;
            Ok(Outcome {
                ok: o.ok,
                message: o.message,
                timed_out: false,
            })
        }
        Intent::Suspend { .. } => {
            reader.get(target).await?;
            writer.merge_patch(target, &patch::suspend()).await?;
            Ok(Outcome {
                ok: true,
                message: format!(
                    "{} suspended: Flux leaves it alone until it is resumed",
                    label(target)
                ),
                timed_out: false,
            })
        }
        Intent::Resume { .. } => {
            reader.get(target).await?;
            let token = patch::token(Timestamp::now());
            writer.merge_patch(target, &patch::resume(&token)).await?;
            progress(Progress::Requested {
                key: target.clone(),
                step: 1,
                of: 1,
            });
            wait_handled(reader, target, &token, deadline).await
        }
        Intent::Reconcile { mode, .. } => {
            if !mode.applies_to(target) {
                return Err(ActionError::Unsupported(format!(
                    "{} does not apply to a {}",
                    mode.label(),
                    target.kind.kind()
                )));
            }
            let steps = match mode {
                ReconcileMode::WithSource => chain(reader, target).await?,
                _ => vec![target.clone()],
            };
            let of = steps.len();
            let mut last = None;
            for (i, key) in steps.iter().enumerate() {
                let obj = parse(reader.get(key).await?, key)?;
                if obj.is_static() {
                    if key == target {
                        return Err(ActionError::Unsupported(format!(
                            "{} is static (OCI HelmRepository): reconciliation is not supported by the object",
                            label(key)
                        )));
                    }
                    progress(Progress::Skipped { key: key.clone() });
                    continue;
                }
                if obj.suspended() {
                    return Err(ActionError::Suspended(label(key)));
                }
                // Sources get a plain request; force/reset apply to the target only.
                let step_mode = if key == target {
                    *mode
                } else {
                    ReconcileMode::Plain
                };
                progress(Progress::Requested {
                    key: key.clone(),
                    step: i + 1,
                    of,
                });
                let outcome = reconcile_one(writer, key, step_mode, deadline).await?;
                if !outcome.ok {
                    return Ok(outcome);
                }
                if key != target {
                    progress(Progress::StepDone {
                        key: key.clone(),
                        message: outcome.message.clone(),
                    });
                }
                last = Some(outcome);
            }
            last.ok_or_else(|| ActionError::Unsupported("nothing to reconcile".into()))
        }
    }
}
