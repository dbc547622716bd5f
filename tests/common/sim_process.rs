//! Runs `fluxdeck sim` as a child process and gives tests its kubeconfig.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

#[allow(dead_code)]
pub struct SimProcess {
    child: Child,
    pub url: String,
    pub kubeconfig: PathBuf,
    /// Every request the simulated API server answered (see `fluxdeck::sim::server::read_access_log`).
    pub access_log: PathBuf,
    _dir: tempfile::TempDir,
}

impl SimProcess {
    /// Start `fluxdeck sim --scenario <scenario> --speed <speed>` on a free port and wait for READY.
    pub fn start(scenario: &str, speed: &str) -> SimProcess {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let access_log = dir.path().join("access.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_fluxdeck"))
            .args([
                "sim",
                "--scenario",
                scenario,
                "--speed",
                speed,
                "--kubeconfig-out",
            ])
            .arg(&kubeconfig)
            .arg("--access-log")
            .arg(&access_log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        SimProcess {
            child,
            url,
            kubeconfig,
            access_log,
            _dir: dir,
        }
    }

    /// A fluxdeck command pointed at this simulated cluster.
    pub fn fluxdeck(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fluxdeck"));
        cmd.args(args).env("KUBECONFIG", &self.kubeconfig);
        cmd
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
