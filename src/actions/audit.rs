//! The audit log: one JSON line per action (time, context, local user, object, action,
//! result), appended to `$XDG_STATE_HOME/fluxdeck/audit.log`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::intent::Intent;

/// Where and as whom actions are recorded.
#[derive(Clone, Debug)]
pub struct Audit {
    path: Option<PathBuf>,
}

impl Audit {
    /// The default file (none when no state directory is known: actions still run, and the
    /// log says the audit entry was not written).
    pub fn default_file() -> Audit {
        Audit {
            path: crate::runtime::logging::default_audit_path(),
        }
    }

    pub fn to_file(path: &Path) -> Audit {
        Audit {
            path: Some(path.to_path_buf()),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Append one entry. Failing to write it is logged, never fatal.
    pub fn record(&self, context: &str, intent: &Intent, result: &str) {
        let t = intent.target();
        self.record_action(
            context,
            &format!("{}/{}/{}", t.kind.kind(), t.namespace, t.name),
            intent.verb(),
            result,
        );
    }

    /// Append one entry for `action` on `object` (`Kind/namespace/name`).
    pub fn record_action(&self, context: &str, object: &str, action: &str, result: &str) {
        let Some(path) = &self.path else {
            tracing::warn!(
                object,
                action,
                "no state directory: audit entry not written"
            );
            return;
        };
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_default();
        let line = json!({
            "time": k8s_openapi::jiff::Timestamp::now().to_string(),
            "context": context,
            "user": user,
            "object": object,
            "action": action,
            "result": result,
        });
        let written = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(f, "{line}")
        })();
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "audit entry not written");
        }
    }
}
