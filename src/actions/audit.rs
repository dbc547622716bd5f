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
        let user = local_user();
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

/// The local user: `$USER`, `$LOGNAME`, else the name of the process's uid from
/// `/etc/passwd`, else `uid N` (services and containers often have neither variable).
fn local_user() -> String {
    if let Some(u) = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty())
    {
        return u;
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
        });
    let Some(uid) = uid else {
        return String::new();
    };
    user_of(
        &std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
        &uid,
    )
    .unwrap_or_else(|| format!("uid {uid}"))
}

/// The name with this uid in a passwd file.
fn user_of(passwd: &str, uid: &str) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        (f.next()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_passwd_by_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000::/home/ops:/bin/sh\n";
        assert_eq!(user_of(passwd, "1000").as_deref(), Some("ops"));
        assert_eq!(user_of(passwd, "0").as_deref(), Some("root"));
        assert_eq!(user_of(passwd, "42"), None);
        assert!(!local_user().is_empty(), "some name for this process");
    }
}
