//! End to end: the built binary in a pseudo-terminal against the in-process simulated cluster
//! (the `rollback-prune` scenario: HelmRelease apps/web with revisions 1 and 2). `B` on the
//! HelmRelease, the preview, the confirmation by name (a wrong name sends nothing), the
//! banner; then the cluster itself shows the HelmRelease suspended and the latest release
//! record `Rollback to 1`, deployed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/pty.rs"]
mod pty;

use std::path::PathBuf;
use std::time::Duration;

use fluxdeck::sim::cluster::{SimCluster, SimOptions};
use fluxdeck::sim::controllers::{self, conditions};
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::server::read_access_log;
use fluxdeck::sim::store::ObjKey;
use pty::PtyApp;

const WAIT: Duration = Duration::from_secs(60);

struct Sim {
    runtime: tokio::runtime::Runtime,
    cluster: Option<SimCluster>,
    dir: tempfile::TempDir,
    kubeconfig: String,
}

impl Sim {
    fn start() -> Sim {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/scenarios/rollback-prune.yaml")
            .to_string_lossy()
            .into_owned();
        let cluster = runtime
            .block_on(SimCluster::start(SimOptions {
                scenario,
                speed: 60.0,
                access_log: Some(dir.path().join("access.log")),
                ..SimOptions::default()
            }))
            .unwrap();
        let ready = runtime.block_on(controllers::wait_for(&cluster.store, WAIT, |s| {
            s.get(&ids::helmreleases(), &ObjKey::new("apps", "web"))
                .is_some_and(|o| conditions::is_true(&o, "Ready"))
        }));
        assert!(ready, "apps/web never became Ready");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, cluster.kubeconfig_yaml()).unwrap();
        Sim {
            runtime,
            cluster: Some(cluster),
            kubeconfig: path.to_string_lossy().into_owned(),
            dir,
        }
    }

    fn cluster(&self) -> &SimCluster {
        self.cluster.as_ref().unwrap()
    }

    /// Requests that write (access reviews aside), as `METHOD path`.
    fn writes(&self) -> Vec<String> {
        read_access_log(&self.dir.path().join("access.log"))
            .unwrap()
            .into_iter()
            .filter(|e| e.method != "GET" && !e.path.contains("selfsubjectaccessreviews"))
            .map(|e| format!("{} {}", e.method, e.path))
            .collect()
    }

    /// Release record `version` of apps/web, decoded.
    fn record(&self, version: i64) -> Option<fluxdeck::domain::helm_storage::Release> {
        use base64::Engine;
        let s = self.cluster().store.get(
            &ids::secrets(),
            &ObjKey::new("apps", &format!("sh.helm.release.v1.web.v{version}")),
        )?;
        let helm = base64::engine::general_purpose::STANDARD
            .decode(s["data"]["release"].as_str()?)
            .ok()?;
        fluxdeck::domain::helm_storage::decode_release(&helm).ok()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            self.runtime.block_on(c.shutdown());
        }
    }
}

fn web_row(screen: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.contains("HelmRelease apps/web"))
        .map(str::to_string)
}

#[test]
fn rollback_from_the_keyboard_previews_confirms_by_name_and_leaves_a_banner() {
    let sim = Sim::start();
    let mut app = PtyApp::spawn(&["--kubeconfig", sim.kubeconfig.as_str()], 160, 48, &[]);
    app.wait_text("HelmRelease apps/web");
    app.send("/");
    app.send("kind:hr apps/web");
    app.send("\r");
    app.wait_text("filter: kind:hr apps/web");
    app.send("G");

    // B: the revisions, the default target (1) selected.
    app.send("B");
    let screen = app.wait_for("the history", WAIT, |s| {
        s.contains("Rollback HelmRelease/apps/web") && s.contains("enter previews the rollback")
    });
    let selected = screen
        .lines()
        .find(|l| l.contains("▸"))
        .unwrap_or_else(|| panic!("no selection:\n{screen}"));
    assert!(selected.contains(" 1 "), "revision 1 selected: {screen}");

    // Enter: the preview; Enter: the confirmation.
    app.send("\r");
    app.wait_text("Rollback preview HelmRelease/apps/web: revision 2 (current) → revision 1");
    app.send("\r");
    let screen = app.wait_text("Type the release name web to confirm:");
    assert!(
        screen.contains("Roll back HelmRelease/apps/web"),
        "{screen}"
    );
    assert!(
        screen.contains("1. suspend HelmRelease/apps/web"),
        "{screen}"
    );

    // A wrong name sends nothing.
    app.send("we");
    app.send("\r");
    app.wait_text("not sent: type the release name web exactly");
    assert!(sim.writes().is_empty(), "{:#?}", sim.writes());

    // The right name: the rollback runs, then the row keeps the banner.
    app.send("b");
    app.send("\r");
    let screen = app.wait_for("the rollback banner", WAIT, |s| {
        web_row(s).is_some_and(|r| r.contains("rolled back to revision 1 at"))
    });
    assert!(web_row(&screen).unwrap().contains("suspended"), "{screen}");

    // The cluster: suspended, and the latest record is "Rollback to 1", deployed.
    let hr = sim
        .cluster()
        .store
        .get(&ids::helmreleases(), &ObjKey::new("apps", "web"))
        .unwrap();
    assert_eq!(hr["spec"]["suspend"], serde_json::json!(true), "{hr:#}");
    let v3 = sim.record(3).expect("revision 3 written");
    assert_eq!(v3.info.description, "Rollback to 1");
    assert_eq!(
        v3.info.status,
        fluxdeck::domain::helm_storage::ReleaseStatus::Deployed
    );
    assert!(sim.record(4).is_none());
    let writes = sim.writes();
    assert!(
        writes[0]
            .starts_with("PATCH /apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases/web?"),
        "{writes:#?}"
    );

    app.send("q");
    assert_eq!(app.wait_exit(Duration::from_secs(30)), 0);
}
