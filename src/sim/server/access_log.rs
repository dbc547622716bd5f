//! The access log: one line per request, appended and written at once, so tests can read
//! exactly what a client sent. Format (space separated, user agent quoted):
//!
//! `TIME METHOD PATH?QUERY CONTENT-TYPE "USER-AGENT" STATUS`
//!
//! with `-` for a missing content type.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use chrono::{SecondsFormat, Utc};
use parking_lot::Mutex;

/// An open access log.
pub struct AccessLog {
    file: Mutex<File>,
}

impl AccessLog {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Append one line. Failures to write are reported through `tracing` only: logging must
    /// never fail a request.
    pub fn record(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        user_agent: Option<&str>,
        status: u16,
    ) {
        let line = AccessLogEntry {
            time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            method: method.to_string(),
            path: path_and_query.to_string(),
            content_type: content_type.map(String::from),
            user_agent: user_agent.unwrap_or_default().to_string(),
            status,
        }
        .to_line();
        let mut f = self.file.lock();
        if let Err(e) = f.write_all(line.as_bytes()).and_then(|()| f.flush()) {
            tracing::warn!("writing the access log failed: {e}");
        }
    }
}

/// One access log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogEntry {
    pub time: String,
    pub method: String,
    /// Path and query as the client sent them.
    pub path: String,
    pub content_type: Option<String>,
    pub user_agent: String,
    pub status: u16,
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == '"' { '\'' } else { c })
        .collect()
}

fn token(s: &str) -> String {
    clean(s).replace(' ', "%20")
}

impl AccessLogEntry {
    pub fn to_line(&self) -> String {
        format!(
            "{} {} {} {} \"{}\" {}\n",
            self.time,
            token(&self.method),
            token(&self.path),
            self.content_type
                .as_deref()
                .map_or_else(|| "-".to_string(), token),
            clean(&self.user_agent),
            self.status
        )
    }

    /// Parse a line written by [`AccessLog`].
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim_end();
        let (head, rest) = line.split_once(" \"")?;
        let (ua, status) = rest.rsplit_once("\" ")?;
        let mut parts = head.split(' ');
        let time = parts.next()?.to_string();
        let method = parts.next()?.to_string();
        let path = parts.next()?.to_string();
        let ct = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            time,
            method,
            path,
            content_type: (ct != "-").then(|| ct.to_string()),
            user_agent: ua.to_string(),
            status: status.parse().ok()?,
        })
    }
}

/// Read every entry of an access log file (lines that do not parse are skipped).
pub fn read_access_log(path: &Path) -> std::io::Result<Vec<AccessLogEntry>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(AccessLogEntry::parse)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_roundtrip() {
        let e = AccessLogEntry {
            time: "2025-01-01T00:00:00.000Z".into(),
            method: "PATCH".into(),
            path: "/apis/g/v1/namespaces/a/x/b?fieldManager=fluxdeck".into(),
            content_type: Some("application/merge-patch+json".into()),
            user_agent: "kubectl/v1.35.2 (linux/amd64) kubernetes/abc".into(),
            status: 200,
        };
        assert_eq!(AccessLogEntry::parse(&e.to_line()), Some(e.clone()));
        let none = AccessLogEntry {
            content_type: None,
            user_agent: String::new(),
            ..e
        };
        assert_eq!(AccessLogEntry::parse(&none.to_line()), Some(none));
    }

    #[test]
    fn file_appends() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        let log = AccessLog::open(&p).unwrap();
        log.record("GET", "/version", None, Some("t"), 200);
        log.record("POST", "/api/v1/x", Some("application/json"), None, 201);
        let entries = read_access_log(&p).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].status, 201);
    }
}
