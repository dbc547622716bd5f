//! App harness: the demo cluster fixture in a `Snapshot`, keys fed to `app::update`, the
//! screen drawn by `ui::view` into a `TestBackend` and compared with insta snapshots (text,
//! and the styled buffer for the dark and mono themes), with assertions on what matters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::KeyCode;
use fluxdeck::actions::intent::Intent;
use fluxdeck::actions::run::Outcome;
use fluxdeck::app::msg::{Effect, EventRow, Msg, WatchScope, WatchStatus};
use fluxdeck::app::state::{AppInit, AppState, Focus, Modal};
use fluxdeck::app::update;
use fluxdeck::config::ReadOnlyReason;
use fluxdeck::domain::flux::{FluxKind, ObjectKey, ObjectKind};
use fluxdeck::domain::health::Health;
use insta::assert_snapshot;
use serde_json::Value;

mod app_support;
use app_support::*;

#[test]
fn tree_80x24() {
    let state = demo(80, 24);
    assert_snapshot!("tree_80x24", screen(&state));
}

#[test]
fn tree_160x48() {
    let state = demo(160, 48);
    assert_snapshot!("tree_160x48", screen(&state));
}

#[test]
fn tree_80x24_ascii() {
    let state = demo_with(AppInit {
        ascii: true,
        ..init(80, 24)
    });
    assert_snapshot!("tree_80x24_ascii", screen(&state));
    // Wide enough for whole messages (the cycle's loop, "Blocked by ... —"): still ASCII.
    let wide = demo_with(AppInit {
        ascii: true,
        ..init(200, 48)
    });
    let text = screen(&wide);
    assert!(text.contains("loop/backend -> loop/redis"), "{text}");
    assert!(text.is_ascii(), "{text}");
}

#[test]
fn tree_styles_dark_and_mono() {
    let state = demo(80, 24);
    assert_snapshot!(
        "tree_80x24_dark_styled",
        format!("{:?}", buffer(&state, "dark"))
    );
    assert_snapshot!(
        "tree_80x24_mono_styled",
        format!("{:?}", buffer(&state, "mono"))
    );
}

fn events() -> Vec<EventRow> {
    vec![
        EventRow {
            type_: "Warning".into(),
            reason: "InstallFailed".into(),
            message: "Helm install failed for release staging/redis with chart redis@19.0.1: \
                      context deadline exceeded while waiting for StatefulSet/staging/redis-master \
                      to become ready"
                .into(),
            count: 3,
            last_seen: Some(ts("2026-11-22T06:41:00Z")),
            source: "helm-controller".into(),
        },
        EventRow {
            type_: "Normal".into(),
            reason: "InstallSucceeded".into(),
            message: "Helm install succeeded".into(),
            count: 1,
            last_seen: Some(ts("2026-11-22T06:36:00Z")),
            source: "helm-controller".into(),
        },
    ]
}

#[test]
fn details_full_screen_at_80x24() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let key = ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis");
    let effects = press(&mut state, KeyCode::Enter);
    // A failing release: its evidence is asked for too.
    assert_eq!(
        effects,
        vec![
            Effect::FetchEvents(key.clone()),
            Effect::FetchEvidence(key.clone())
        ]
    );
    assert_eq!(state.focus, Focus::Details);
    press(&mut state, KeyCode::End);
    assert!(screen(&state).contains("loading…"));
    update(
        &mut state,
        Msg::Events {
            key,
            result: Ok(events()),
        },
    );
    press(&mut state, KeyCode::Home);
    assert_snapshot!("details_80x24_top", screen(&state));
    // Scroll to the end: the events are there, wrapped, nothing cut.
    press(&mut state, KeyCode::End);
    let end = screen(&state);
    assert!(end.contains("InstallFailed"), "{end}");
    assert_snapshot!("details_80x24_end", end);
    // Esc closes the pane; the tree is back with the same selection.
    press(&mut state, KeyCode::Esc);
    assert!(state.details.is_none());
    assert_eq!(
        state.selected_key().unwrap().to_string(),
        "HelmRelease/staging/redis"
    );
}

#[test]
fn details_split_at_160x48_follows_the_selection() {
    let mut state = demo(160, 48);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.focus, Focus::Tree, "split: the tree keeps the focus");
    update(
        &mut state,
        Msg::Events {
            key: ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis"),
            result: Ok(events()),
        },
    );
    assert_snapshot!("details_160x48_split", screen(&state));
    // Moving in the tree shows the next object and asks for its events.
    let effects = ch(&mut state, 'j');
    let next = state.selected_key().unwrap().clone();
    assert_eq!(effects, vec![Effect::FetchEvents(next)]);
    // A failure to load events is shown, not hidden.
    let key = state.selected_key().unwrap().clone();
    update(
        &mut state,
        Msg::Events {
            key,
            result: Err("events is forbidden".into()),
        },
    );
    assert!(screen(&state).contains("cannot load events: events is forbidden"));
}

#[test]
fn details_of_a_managed_object() {
    let mut state = demo(160, 48);
    select_redis_statefulset(&mut state);
    press(&mut state, KeyCode::Enter);
    let key = state.selected_key().unwrap().clone();
    update(
        &mut state,
        Msg::Events {
            key,
            result: Ok(Vec::new()),
        },
    );
    let text = screen(&state);
    assert!(text.contains("kstatus"), "{text}");
    assert!(text.contains("replicas"), "{text}");
    assert_snapshot!("details_managed_160x48", text);
}

#[test]
fn yaml_view_with_search() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let key = ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis");
    let effects = ch(&mut state, 'y');
    assert_eq!(effects, vec![Effect::FetchYaml(key.clone())]);
    assert!(screen(&state).contains("loading…"));
    let objects = fixture_objects();
    let obj = objects
        .iter()
        .find(|o| {
            o["kind"] == "HelmRelease"
                && o["metadata"]["namespace"] == "staging"
                && o["metadata"]["name"] == "redis"
        })
        .unwrap();
    let yaml = serde_yaml::to_string(obj).unwrap();
    update(
        &mut state,
        Msg::Yaml {
            key,
            result: Ok(yaml),
        },
    );
    ch(&mut state, '/');
    typed(&mut state, "retries");
    press(&mut state, KeyCode::Enter);
    assert!(state.prompt.is_none());
    assert_snapshot!("yaml_80x24_search", screen(&state));
    let before = match &state.overlay {
        Some(fluxdeck::app::state::Overlay::Yaml(y)) => (y.current, y.matches.len()),
        _ => panic!("no yaml view"),
    };
    assert!(before.1 >= 2, "{before:?}");
    ch(&mut state, 'n');
    let after = match &state.overlay {
        Some(fluxdeck::app::state::Overlay::Yaml(y)) => y.current,
        _ => panic!("no yaml view"),
    };
    assert_eq!(after, before.0.map(|c| (c + 1) % before.1));
    press(&mut state, KeyCode::Esc);
    assert!(state.overlay.is_none());
}

#[test]
fn help_read_only_80x24() {
    let mut state = demo_with(AppInit {
        read_only: Some(ReadOnlyReason::Flag),
        ..init(80, 24)
    });
    ch(&mut state, '?');
    let top = screen(&state);
    assert_snapshot!("help_read_only_80x24_top", top);
    press(&mut state, KeyCode::End);
    let end = screen(&state);
    assert!(
        end.contains("/home/op/.local/state/fluxdeck/fluxdeck.log"),
        "{end}"
    );
    let help: Vec<String> = fluxdeck::app::help::lines(&state)
        .iter()
        .map(|l| l.text())
        .collect();
    for id in ["reconcile", "suspend-resume"] {
        assert!(
            help.iter()
                .any(|l| l.contains(id) && l.contains("(unavailable: read-only)")),
            "{id} is listed as unavailable: {help:#?}"
        );
    }
    assert_snapshot!("help_read_only_80x24_end", end);
}

#[test]
fn help_160x48() {
    let mut state = demo(160, 48);
    ch(&mut state, '?');
    assert_snapshot!("help_160x48", screen(&state));
}

#[test]
fn problems_mode_hides_healthy_objects() {
    let mut state = demo(80, 24);
    ch(&mut state, 'p');
    assert!(state.problems);
    fn any_problem(node: &fluxdeck::domain::tree::Node) -> bool {
        node.health.is_problem() || node.children.iter().any(any_problem)
    }
    for row in &state.rows {
        // Judged on the whole tree: a row is a problem or has one below it. (Dependents
        // shown under their root cause are judged where the whole tree shows them.)
        let node = state.tree.find(&row.path).unwrap_or_else(|| {
            let key = state.node_of(row).unwrap().key.as_ref().unwrap();
            state.tree.find(&state.tree.path_of(key).unwrap()).unwrap()
        });
        assert!(
            any_problem(node),
            "{} is healthy with no problem below",
            node.label()
        );
    }
    let keys = visible_keys(&state);
    assert!(keys.contains(&"HelmRelease/staging/redis".to_string()));
    assert!(!keys.contains(&"HelmRelease/default/backend".to_string()));
    assert_snapshot!("problems_80x24", screen(&state));
    ch(&mut state, 'p');
    assert!(visible_keys(&state).contains(&"HelmRelease/default/backend".to_string()));
}

#[test]
fn filter_keeps_failing_helm_releases_and_their_ancestors() {
    let mut state = demo(80, 24);
    ch(&mut state, '/');
    typed(&mut state, "kind:hr state:failed");
    // Live as you type: already applied before Enter.
    let keys = visible_keys(&state);
    assert_eq!(
        keys,
        vec![
            "Kustomization/flux-system/flux-system",
            "Kustomization/flux-system/staging",
            "HelmRelease/staging/redis",
        ]
    );
    for row in &state.rows {
        let node = state.node_of(row).unwrap();
        if node.key.as_ref().unwrap().flux_kind() == Some(FluxKind::HelmRelease) {
            assert_eq!(node.health.health, Health::Failed);
        }
    }
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.filter_text, "kind:hr state:failed");
    assert_snapshot!("filter_80x24", screen(&state));
    // Esc in the tree clears it.
    press(&mut state, KeyCode::Esc);
    assert!(state.filter_text.is_empty());
    assert!(visible_keys(&state).len() > 10);
}

fn scope(kind: &str, ns: Option<&str>) -> WatchScope {
    WatchScope {
        kind: kind.into(),
        namespace: ns.map(str::to_string),
    }
}

#[test]
fn header_reconnecting_is_stale() {
    let mut state = demo(80, 24);
    let mut health = connected();
    health.insert(
        scope("HelmRelease", None),
        WatchStatus::Reconnecting {
            since: ts("2026-11-22T06:44:48Z"),
            error: "connection reset".into(),
        },
    );
    update(&mut state, Msg::WatchHealth(health));
    assert!(state.is_stale());
    let text = screen(&state);
    assert!(
        text.contains("reconnecting since 12s: connection reset ("),
        "{text}"
    );
    assert!(text.contains("STALE"));
    assert_snapshot!("header_reconnecting_80x24", text);
    assert_snapshot!(
        "header_reconnecting_80x24_mono_styled",
        format!("{:?}", buffer(&state, "mono"))
    );
}

#[test]
fn header_forbidden_and_not_installed_at_160x48() {
    let mut state = demo(160, 48);
    let mut health = connected();
    health.insert(
        scope("Secret", Some("default")),
        WatchStatus::Forbidden {
            message: "secrets is forbidden".into(),
        },
    );
    health.insert(scope("Bucket", None), WatchStatus::NotInstalled);
    update(&mut state, Msg::WatchHealth(health));
    let text = screen(&state);
    assert!(text.contains("forbidden: Secret in default"), "{text}");
    assert!(text.contains("Bucket API is not installed"), "{text}");
    assert_snapshot!("header_forbidden_not_installed_160x48", text);
}

#[test]
fn header_read_only_and_decode_errors() {
    let mut state = demo_with(AppInit {
        read_only: Some(ReadOnlyReason::Context {
            context: "prod-eu".into(),
            pattern: "prod-*".into(),
        }),
        namespace: Some("staging".into()),
        ..init(80, 24)
    });
    update(
        &mut state,
        Msg::DecodeErrors(vec![
            "HelmRelease/apps/broken: cannot read HelmRelease: invalid type".into(),
        ]),
    );
    let text = screen(&state);
    assert!(text.contains("READ-ONLY"), "{text}");
    assert!(text.contains("1 unreadable object"), "{text}");
    assert_snapshot!("header_read_only_80x24", text);
    let help: Vec<String> = fluxdeck::app::help::lines(&state)
        .iter()
        .map(|l| l.text())
        .collect();
    assert!(
        help.iter()
            .any(|l| l.contains("Read-only session (context \"prod-eu\" matches")),
        "{help:#?}"
    );
    assert!(
        !help
            .iter()
            .any(|l| l.contains(" yaml ") && l.contains("unavailable")),
        "reading actions stay available"
    );
    assert!(help.iter().any(|l| l.contains("HelmRelease/apps/broken")));
}

#[test]
fn read_only_flashes_on_dangerous_keys() {
    let mut state = demo_with(AppInit {
        read_only: Some(ReadOnlyReason::Flag),
        ..init(80, 24)
    });
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    for c in ['R', 'T', 'B'] {
        let effects = ch(&mut state, c);
        assert!(effects.is_empty());
        let flash = state.flash.as_ref().expect("a flash");
        assert!(
            flash.text.starts_with("read-only: --read-only"),
            "{}",
            flash.text
        );
    }
    assert_snapshot!("read_only_flash_80x24", screen(&state));
    assert!(state.modal.is_none());
    assert!(state.actions.is_empty());
    // The next key clears it.
    ch(&mut state, 'j');
    assert!(state.flash.is_none());
    // Not read-only: R opens the reconcile menu.
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    assert!(ch(&mut state, 'R').is_empty());
    assert!(matches!(state.modal, Some(Modal::Reconcile(_))));
}

fn reconcile_redis(state: &mut AppState, mode: char) -> Intent {
    select(state, FluxKind::HelmRelease, "staging", "redis");
    ch(state, 'R');
    match ch(state, mode).as_slice() {
        [Effect::Execute(intent)] => intent.clone(),
        other => panic!("expected one Execute, got {other:?}"),
    }
}

#[test]
fn reconcile_menu_80x24() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    assert!(ch(&mut state, 'R').is_empty());
    ch(&mut state, 'j');
    let text = screen(&state);
    assert!(
        text.contains("Reconcile HelmRelease/staging/redis"),
        "{text}"
    );
    for label in [
        "r reconcile",
        "s reconcile with source",
        "f force",
        "x reset remediation retries",
    ] {
        assert!(text.contains(label), "{label}: {text}");
    }
    assert!(
        text.contains("enter ok"),
        "the hint bar has the dialog's keys: {text}"
    );
    assert!(!text.contains("/ filter"), "{text}");
    assert_snapshot!("reconcile_menu_80x24", text);
}

#[test]
fn reconcile_menu_of_a_suspended_object_80x24() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "default", "legacy-app");
    assert!(ch(&mut state, 'R').is_empty());
    let text = screen(&state);
    assert!(text.contains("Flux ignores reconcile"), "{text}");
    assert!(text.contains("resume and reconcile"), "{text}");
    assert!(!text.contains("with source"), "{text}");
    assert_snapshot!("reconcile_menu_suspended_80x24", text);
}

#[test]
fn confirm_suspend_80x24() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    assert!(ch(&mut state, 'T').is_empty());
    let text = screen(&state);
    assert!(text.contains("Suspend HelmRelease/staging/redis"), "{text}");
    assert!(text.contains("in context fluxdeck-demo"), "{text}");
    assert!(
        text.contains("field manager flux-client-side-apply"),
        "{text}"
    );
    assert!(text.contains(r#""suspend": true"#), "{text}");
    assert_snapshot!("confirm_suspend_80x24", text);
    assert_snapshot!(
        "confirm_suspend_80x24_mono_styled",
        format!("{:?}", buffer(&state, "mono"))
    );
    assert!(press(&mut state, KeyCode::Esc).is_empty());
    assert!(state.modal.is_none());
}

#[test]
fn confirm_resume_80x24() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "default", "legacy-app");
    assert!(ch(&mut state, 'T').is_empty());
    let text = screen(&state);
    assert!(
        text.contains("Resume HelmRelease/default/legacy-app"),
        "{text}"
    );
    assert!(text.contains(r#""suspend": null"#), "{text}");
    assert!(text.contains("reconcile.fluxcd.io/requestedAt"), "{text}");
    assert!(text.contains("<time of sending>"), "{text}");
    assert_snapshot!("confirm_resume_80x24", text);
    let effects = ch(&mut state, 'y');
    assert_eq!(
        effects,
        vec![Effect::Execute(Intent::Resume {
            target: ObjectKey::flux(FluxKind::HelmRelease, "default", "legacy-app"),
        })]
    );
}

#[test]
fn row_shows_the_progress_of_an_action_160x30() {
    let mut state = demo(160, 30);
    let intent = reconcile_redis(&mut state, 's');
    update(
        &mut state,
        Msg::ActionProgress {
            intent,
            text: "step 1/3: reconciling HelmRepository/flux-system/bitnami".into(),
        },
    );
    ch(&mut state, 'x'); // any key clears the flash; the row keeps the progress
    let text = screen(&state);
    let row = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis") || l.contains("hr staging/redis"))
        .unwrap();
    assert!(row.contains("reconcile --with-source: step 1/3"), "{text}");
    assert!(
        !row.contains("RetriesExceeded"),
        "the message is replaced: {text}"
    );
    assert_snapshot!("row_progress_160x30", text);
}

#[test]
fn row_shows_a_failed_outcome_then_the_message_again() {
    let mut state = demo(120, 30);
    let intent = reconcile_redis(&mut state, 'r');
    update(
        &mut state,
        Msg::ActionDone {
            intent,
            result: Ok(Outcome {
                ok: false,
                message: "HelmRelease reconciliation failed: RetriesExceeded: Failed to install \
                          after 3 attempt(s)"
                    .into(),
                timed_out: false,
            }),
        },
    );
    ch(&mut state, 'x'); // clears the flash (which says the same)
    let text = screen(&state);
    let row = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis") || l.contains("hr staging/redis"))
        .unwrap();
    assert!(row.contains("reconcile failed: HelmRelease"), "{text}");
    assert_snapshot!("row_failed_outcome_120x30", text);
    assert_snapshot!(
        "row_failed_outcome_120x30_dark_styled",
        format!("{:?}", buffer(&state, "dark"))
    );
    update(
        &mut state,
        Msg::Resize {
            cols: 160,
            rows: 48,
        },
    );
    press(&mut state, KeyCode::Enter);
    update(
        &mut state,
        Msg::Events {
            key: ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis"),
            result: Ok(Vec::new()),
        },
    );
    let text = screen(&state);
    let row = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis") || l.contains("hr staging/redis"))
        .unwrap();
    assert!(row.contains("reconcile failed:"), "{text}");
    assert!(text.contains("Action"), "the details show it: {text}");
    assert_snapshot!("row_failed_outcome_details_160x48", text);
    // A minute later the row shows the object's message again; the details keep the action.
    update(&mut state, Msg::Tick(ts("2026-11-22T06:46:10Z")));
    let text = screen(&state);
    let row = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis") || l.contains("hr staging/redis"))
        .unwrap();
    assert!(!row.contains("reconcile failed"), "{text}");
    assert!(
        text.contains("reconcile failed"),
        "still in the details: {text}"
    );
}

#[test]
fn terminal_too_small() {
    let mut state = demo(80, 24);
    update(&mut state, Msg::Resize { cols: 30, rows: 8 });
    let text = screen(&state);
    assert!(text.contains("terminal too small (30x8)"), "{text}");
    assert!(text.contains("need at least 40x10"), "{text}");
    assert_snapshot!("too_small_30x8", text);
    // Growing again draws the tree.
    update(&mut state, Msg::Resize { cols: 80, rows: 24 });
    assert!(screen(&state).contains("staging/redis"));
}

fn kustomization(name: &str, inventory: &[&str]) -> Value {
    let entries: Vec<Value> = inventory
        .iter()
        .map(|id| serde_json::json!({"id": id, "v": "v1"}))
        .collect();
    serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1,
                     "creationTimestamp": "2026-11-22T06:00:00Z"},
        "spec": {"interval": "10m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {
            "observedGeneration": 1,
            "inventory": {"entries": entries},
            "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                            "message": "Applied revision: main@sha1:1234567",
                            "lastTransitionTime": "2026-11-22T06:40:00Z"}]
        }
    })
}

#[test]
fn cycle_and_not_loaded_rows_are_distinct() {
    let objects = vec![
        kustomization(
            "flux-system",
            &[
                "flux-system_loop-a_kustomize.toolkit.fluxcd.io_Kustomization",
                "apps_web_apps_Deployment",
            ],
        ),
        kustomization(
            "loop-a",
            &["flux-system_loop-b_kustomize.toolkit.fluxcd.io_Kustomization"],
        ),
        kustomization(
            "loop-b",
            &["flux-system_loop-a_kustomize.toolkit.fluxcd.io_Kustomization"],
        ),
    ];
    let mut state = AppState::new(init(100, 12));
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    // Open everything below the root.
    for _ in 0..6 {
        ch(&mut state, 'j');
        ch(&mut state, 'l');
    }
    let text = screen(&state);
    assert!(text.contains("↻ Cycle"), "{text}");
    assert!(text.contains("cycle: already shown above"), "{text}");
    assert!(text.contains("? not loaded  Deployment apps/web"), "{text}");
    assert_snapshot!("cycle_and_not_loaded_100x12", text);
    // The not-loaded Deployment is what the tree needs watched.
    let scopes = state.needed_scopes();
    assert!(scopes.contains(&(ObjectKind::new("apps", "Deployment"), Some("apps".into()))));
}
