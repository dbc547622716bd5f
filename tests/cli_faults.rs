//! `fluxdeck tree`, `status` and `why` under faults and hostile settings: failing and
//! forbidden lists, bad namespace names, config files, a closed pipe, TLS errors; and
//! `fluxdeck sim`'s exit status after signals. The built binary runs against an in-process
//! simulated cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::faults::ForbiddenRule;

/// Upper bound of every wait.
const WAIT: Duration = Duration::from_secs(60);

struct Env {
    cluster: SimCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Env {
    async fn start() -> Env {
        let cluster = SimCluster::start(SimOptions {
            scenario: "demo".into(),
            speed: 60.0,
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, cluster.kubeconfig_yaml()).unwrap();
        Env {
            cluster,
            dir,
            kubeconfig,
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        command(&self.kubeconfig, self.dir.path(), args)
    }

    async fn run(&self, args: &[&str]) -> Run {
        run(self.command(args)).await
    }
}

/// The binary with this kubeconfig and a config directory of its own (no user config).
fn command(kubeconfig: &Path, home: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"));
    cmd.args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .kill_on_drop(true);
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

async fn run(mut cmd: tokio::process::Command) -> Run {
    let start = Instant::now();
    let out: Output = tokio::time::timeout(WAIT, cmd.output())
        .await
        .expect("the command did not finish")
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
    }
}

/// Wait until `status` sees the demo's Flux objects (the controllers have seeded them).
async fn wait_ready(env: &Env) {
    let start = Instant::now();
    loop {
        let r = env.run(&["status", "-o", "json"]).await;
        if r.stdout.contains("\"total\"") && !r.stdout.contains("\"total\": 0") {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "the sim never served objects: {}",
            r.stderr
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_lists_exit_2_within_seconds() {
    let env = Env::start().await;
    wait_ready(&env).await;
    env.cluster.faults.update(|f| f.error_rate = 1.0);
    for args in [
        &["status"][..],
        &["tree"],
        &["tree", "-o", "json"],
        &["why", "hr/staging/backend"],
    ] {
        let r = env.run(args).await;
        assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.is_empty(),
            "{args:?} printed a report: {}",
            r.stdout
        );
        assert!(
            r.stderr.contains(
                "cannot list helmreleases.helm.toolkit.fluxcd.io in all namespaces: still failing"
            ),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("All 0"), "{}", r.stderr);
        assert!(
            r.took < Duration::from_secs(15),
            "{args:?} took {:?}",
            r.took
        );
    }

    // Transient errors are retried: with half the requests failing the report still works.
    env.cluster.faults.update(|f| f.error_rate = 0.5);
    let r = env.run(&["status", "-o", "json"]).await;
    assert!(matches!(r.code, Some(0..=2)), "{}", r.stderr);
    assert!(r.took < Duration::from_secs(15), "took {:?}", r.took);
    env.cluster.faults.update(|f| f.error_rate = 0.0);
    let r = env.run(&["status"]).await;
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.stderr);
    assert!(r.stdout.contains("Flux objects"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_kind_is_named_with_the_missing_permission() {
    let env = Env::start().await;
    wait_ready(&env).await;
    env.cluster.faults.update(|f| {
        f.forbidden = vec![ForbiddenRule {
            resource: "helmreleases.helm.toolkit.fluxcd.io".into(),
            namespace: Some("staging".into()),
            verbs: vec!["list".into()],
        }]
    });
    for args in [&["status", "-n", "staging"][..], &["tree", "-n", "staging"]] {
        let r = env.run(args).await;
        assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(
                "forbidden: cannot list helmreleases.helm.toolkit.fluxcd.io in namespace staging (needs list, watch)"
            ),
            "{args:?}: {}",
            r.stderr
        );
    }
    // Other namespaces are readable.
    let r = env.run(&["status", "-n", "default"]).await;
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.stderr);
    // A managed kind `tree` needs but may not list.
    env.cluster.faults.update(|f| {
        f.forbidden = vec![ForbiddenRule {
            resource: "deployments.apps".into(),
            namespace: Some("default".into()),
            verbs: vec![],
        }]
    });
    let r = env.run(&["tree"]).await;
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("forbidden: cannot list deployments.apps in namespace default"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_namespace_name_is_a_usage_error_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    // Nobody listens here: the error must come before any connection attempt.
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        fluxdeck::sim::kubeconfig::kubeconfig_yaml("http://127.0.0.1:9"),
    )
    .unwrap();
    for ns in ["a/b", "Staging", "-x"] {
        let flag = format!("--namespace={ns}");
        let r = run(command(&kc, dir.path(), &["status", &flag])).await;
        assert_eq!(r.code, Some(2), "{ns}: {}", r.stderr);
        assert!(r.stderr.contains("not a namespace name"), "{}", r.stderr);
        assert!(!r.stderr.contains("cannot reach"), "{}", r.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_commands_read_the_config_file() {
    let env = Env::start().await;
    wait_ready(&env).await;
    let broken = env.dir.path().join("broken.yaml");
    std::fs::write(&broken, "ascii: true\nreadOnly: maybe\n").unwrap();
    let b = broken.to_str().unwrap();
    for args in [
        &["status", "--config", b][..],
        &["tree", "--config", b],
        &["why", "hr/staging/backend", "--config", b],
    ] {
        let r = env.run(args).await;
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(b), "{}", r.stderr);
        assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    }
    // The default location is read too.
    let default = env.dir.path().join("config/fluxdeck/config.yaml");
    std::fs::create_dir_all(default.parent().unwrap()).unwrap();
    std::fs::write(&default, "ascii: true\nreadOnly: true\n").unwrap();
    let r = env.run(&["tree"]).await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.is_ascii(), "{}", r.stdout);
    assert!(r.stdout.contains("|-- "), "{}", r.stdout);
    std::fs::write(&default, "unknown: 1\n").unwrap();
    let r = env.run(&["status"]).await;
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(default.to_str().unwrap()) && r.stderr.contains("line 1"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_the_command_quietly() {
    let env = Env::start().await;
    wait_ready(&env).await;
    for args in [
        &["tree", "-o", "json"][..],
        &["tree"],
        &["status", "-o", "json"],
    ] {
        let mut cmd = env.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // Close the reading end before the command writes anything, like `| head -0`.
        drop(child.stdout.take());
        let mut stderr = child.stderr.take().unwrap();
        let status = tokio::time::timeout(WAIT, child.wait())
            .await
            .unwrap()
            .unwrap();
        let mut err = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
            .await
            .unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
        assert_eq!(status.code(), Some(0), "{args:?}");
    }
    // A reader that stops after the first line (`| head -1`).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"))
        .args(["tree", "-o", "json"])
        .env("KUBECONFIG", &env.kubeconfig)
        .env("XDG_CONFIG_HOME", env.dir.path().join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    let read = tokio::task::spawn_blocking(move || out.read_exact(&mut first).map(|()| first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&read, b"[");
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(err.is_empty(), "{err}");
    assert_eq!(status.status.code(), Some(0));
}

/// A TLS listener on loopback presenting a self-signed certificate.
async fn tls_listener() -> std::net::SocketAddr {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter("tests/fixtures/tls/cert.pem")
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file("tests/fixtures/tls/key.pem").unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The client rejects the certificate; the handshake fails here too.
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_reported_as_tls() {
    let addr = tls_listener().await;
    let url = format!("https://{addr}");
    let yaml = fluxdeck::sim::kubeconfig::kubeconfig_yaml(&url);

    // In-process: the typed error.
    let err = match fluxdeck::kube::client::connect_kubeconfig_yaml(&yaml).await {
        Ok(_) => panic!("connected to a server with an untrusted certificate"),
        Err(e) => e,
    };
    assert!(
        matches!(err, fluxdeck::kube::client::ConnectError::Tls { .. }),
        "{err:?}"
    );

    // The binary: exit 2 and a message that says what is wrong.
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, yaml).unwrap();
    for cmd in ["status", "tree"] {
        let r = run(command(&kc, dir.path(), &[cmd])).await;
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(
            r.stderr
                .contains("TLS: the server's certificate is not trusted"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("cannot reach"), "{}", r.stderr);
    }
}

/// `fluxdeck sim` ends with 128 + the signal number.
#[test]
fn sim_exits_with_128_plus_the_signal() {
    use std::io::{BufRead, BufReader};
    for (signal, code) in [("-INT", 130), ("-TERM", 143), ("-HUP", 129)] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fluxdeck"))
            .args(["sim", "--scenario", "deps"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("READY "), "{line:?}");
        let killed = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(start.elapsed() < WAIT, "sim did not exit after {signal}");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(code), "{signal}");
    }
}
