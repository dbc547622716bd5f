//! Runs the built fluxdeck binary in a pseudo-terminal, types keys and reads the screen
//! through a VT100 parser, like a person at a terminal.
#![allow(dead_code)] // each test binary uses part of the harness

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The fluxdeck binary: cargo names it for tests; an example finds it next to its own
/// directory (`target/debug/examples/..` → `target/debug/fluxdeck`).
fn binary() -> std::path::PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_fluxdeck") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target directory");
    let bin = dir.join("fluxdeck");
    assert!(
        bin.exists(),
        "build the binary first: cargo build ({})",
        bin.display()
    );
    bin
}

pub struct PtyApp {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    bytes: Arc<Mutex<u64>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// The reader reached the end of the output.
    drained: Arc<std::sync::atomic::AtomicBool>,
}

impl PtyApp {
    /// Start the binary with `args` in a `cols`x`rows` terminal.
    pub fn spawn(args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> PtyApp {
        PtyApp::spawn_program(&binary(), args, cols, rows, env)
    }

    /// Start `program` with `args` in a `cols`x`rows` terminal.
    pub fn spawn_program(
        program: &std::path::Path,
        args: &[&str],
        cols: u16,
        rows: u16,
        env: &[(&str, &str)],
    ) -> PtyApp {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        let dir = std::env::temp_dir().join(format!("fluxdeck-e2e-{}", std::process::id()));
        cmd.env("XDG_CONFIG_HOME", dir.join("config"));
        cmd.env("XDG_STATE_HOME", dir.join("state"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn fluxdeck");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let bytes = Arc::new(Mutex::new(0u64));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let drained = Arc::new(std::sync::atomic::AtomicBool::new(false));
        {
            let parser = parser.clone();
            let bytes = bytes.clone();
            let raw = raw.clone();
            let drained = drained.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            parser.lock().unwrap().process(&buf[..n]);
                            *bytes.lock().unwrap() += n as u64;
                            let mut r = raw.lock().unwrap();
                            r.extend_from_slice(&buf[..n]);
                            let len = r.len();
                            if len > 1 << 20 {
                                r.drain(..len - (1 << 20));
                            }
                        }
                    }
                }
                drained.store(true, std::sync::atomic::Ordering::SeqCst);
            });
        }
        PtyApp {
            master: pair.master,
            writer,
            child,
            parser,
            bytes,
            raw,
            drained,
        }
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// The terminal screen with colours and attributes.
    pub fn screen_state(&self) -> vt100::Screen {
        self.parser.lock().unwrap().screen().clone()
    }

    /// Bytes the program has written to the terminal so far.
    pub fn bytes_written(&self) -> u64 {
        *self.bytes.lock().unwrap()
    }

    /// Everything the program wrote (last MiB).
    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Type text (keys as bytes, e.g. "j", "\r" for Enter, "\x1b" for Esc).
    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Esc on its own, with a pause so the program does not read it as Alt plus the next key.
    pub fn escape(&mut self) {
        self.send("\x1b");
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Wait (bounded) until the screen satisfies `pred`; panics with the screen otherwise.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > limit {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait (bounded) until the screen contains `text`.
    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, Duration::from_secs(60), |s| s.contains(text))
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, cols);
    }

    /// Wait (bounded) for the process to exit and return its exit code; by then everything
    /// it wrote to the terminal has been read (the output ends when the process is gone).
    pub fn wait_exit(&mut self, limit: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while !self.drained.load(std::sync::atomic::Ordering::SeqCst) {
                    assert!(
                        start.elapsed() < limit + Duration::from_secs(10),
                        "the terminal output did not end after the process exited"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                return status.exit_code();
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("process did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit code if the process has ended, without waiting.
    pub fn exited(&mut self) -> Option<u32> {
        self.child
            .try_wait()
            .ok()
            .flatten()
            .map(|status| status.exit_code())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }
}

impl Drop for PtyApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
