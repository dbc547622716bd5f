//! The fluxdeck binary in a pseudo-terminal: a reader thread feeds a VT100 parser and
//! counts the bytes written and the frames drawn (ratatui hides the cursor, `ESC [?25l`,
//! once at the end of every frame it draws; nothing else in fluxdeck writes it). It also
//! records when the rows' styles change (see [`row_styles`]): a list cursor moving, which
//! is how key latency is timed.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use parking_lot::Mutex;
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const HIDE_CURSOR: &[u8] = b"\x1b[?25l";

#[derive(Default)]
struct Output {
    bytes: u64,
    frames: u64,
    /// The last bytes of the previous read, to find sequences split across reads.
    tail: Vec<u8>,
    /// The rows' styles after the last read.
    styles: Vec<u64>,
    /// When the rows' styles changed, in order.
    style_changes: Vec<Instant>,
}

/// One hash per screen row of its cells' background colours and inverse flags: what a
/// selection bar moving changes, and text changing alone does not.
fn row_styles(screen: &vt100::Screen) -> Vec<u64> {
    use std::hash::{Hash, Hasher};
    let (rows, cols) = screen.size();
    (0..rows)
        .map(|r| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for c in 0..cols {
                if let Some(cell) = screen.cell(r, c) {
                    match cell.bgcolor() {
                        vt100::Color::Default => 0u32,
                        vt100::Color::Idx(i) => 0x100 | u32::from(i),
                        vt100::Color::Rgb(r, g, b) => {
                            0x100_0000 | (u32::from(r) << 16) | (u32::from(g) << 8) | u32::from(b)
                        }
                    }
                    .hash(&mut h);
                    cell.inverse().hash(&mut h);
                }
            }
            h.finish()
        })
        .collect()
}

pub struct PtyApp {
    _master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    out: Arc<Mutex<Output>>,
}

/// Bytes and frames written by the program so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    pub bytes: u64,
    pub frames: u64,
}

impl PtyApp {
    /// Start `bin` with `args` in a `cols`x`rows` terminal, configuration and state under `home`.
    pub fn spawn(bin: &Path, args: &[&str], cols: u16, rows: u16, home: &Path) -> Result<PtyApp> {
        Self::spawn_with(bin, args, &[], cols, rows, home)
    }

    /// [`PtyApp::spawn`] with extra environment variables.
    pub fn spawn_with(
        bin: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        cols: u16,
        rows: u16,
        home: &Path,
    ) -> Result<PtyApp> {
        let pair = native_pty_system().openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let mut cmd = CommandBuilder::new(bin);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env("XDG_CONFIG_HOME", home.join("config"));
        cmd.env("XDG_STATE_HOME", home.join("state"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd)?;
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader()?;
        let writer = pair.master.take_writer()?;
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let out = Arc::new(Mutex::new(Output::default()));
        {
            let parser = parser.clone();
            let out = out.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let styles = {
                                let mut p = parser.lock();
                                p.process(&buf[..n]);
                                row_styles(p.screen())
                            };
                            let now = Instant::now();
                            let mut o = out.lock();
                            if styles != o.styles {
                                if !o.styles.is_empty() {
                                    o.style_changes.push(now);
                                }
                                o.styles = styles;
                            }
                            o.bytes += n as u64;
                            let mut joined = std::mem::take(&mut o.tail);
                            joined.extend_from_slice(&buf[..n]);
                            o.frames += joined
                                .windows(HIDE_CURSOR.len())
                                .filter(|w| *w == HIDE_CURSOR)
                                .count() as u64;
                            let keep = joined.len().min(HIDE_CURSOR.len() - 1);
                            o.tail = joined[joined.len() - keep..].to_vec();
                        }
                    }
                }
            });
        }
        Ok(PtyApp {
            _master: pair.master,
            writer,
            child,
            parser,
            out,
        })
    }

    pub fn screen(&self) -> String {
        self.parser.lock().screen().contents()
    }

    pub fn written(&self) -> Written {
        let o = self.out.lock();
        Written {
            bytes: o.bytes,
            frames: o.frames,
        }
    }

    /// How many times the rows' styles have changed so far.
    pub fn style_changes(&self) -> usize {
        self.out.lock().style_changes.len()
    }

    /// Write `key` and wait (bounded) until the rows' styles change: the time from the
    /// write to the read that changed them, or `None` if nothing changed within `limit`.
    pub fn time_key(&mut self, key: &str, limit: Duration) -> Result<Option<Duration>> {
        let seen = self.style_changes();
        let sent = Instant::now();
        self.send(key)?;
        loop {
            let first = {
                let o = self.out.lock();
                o.style_changes[seen.min(o.style_changes.len())..]
                    .iter()
                    .find(|t| **t >= sent)
                    .copied()
            };
            if let Some(t) = first {
                return Ok(Some(t - sent));
            }
            if sent.elapsed() > limit {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn send(&mut self, keys: &str) -> Result<()> {
        self.writer.write_all(keys.as_bytes())?;
        self.writer.flush()?;
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Wait (bounded) until the screen satisfies `pred`; the screen, or an error with it.
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return Ok(s);
            }
            if start.elapsed() > limit {
                return Err(anyhow!("timed out waiting for {what}; screen:\n{s}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait (bounded) for the process to exit; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Result<u32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.exit_code());
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                return Err(anyhow!("fluxdeck did not exit; screen:\n{}", self.screen()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PtyApp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A numeric field of /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// User + system CPU time of a process so far (/proc/<pid>/stat fields 14 and 15).
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: fields are counted after its ')'.
    let rest = s
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("unreadable /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    let hz = clock_ticks();
    Ok(Duration::from_secs_f64((utime + stime) as f64 / hz))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
