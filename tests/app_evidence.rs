//! The evidence below a failing root cause in the UI, on the demo cluster fixture: `w` on a
//! blocked release asks for the evidence of its root cause (once), shows "gathering…", then
//! the findings below the path to the root cause (snapshots at 80 and 160 columns); an
//! error is shown as such; the details pane of the failing release shows the same findings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::KeyCode;
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::state::{AppState, Overlay};
use fluxdeck::app::update;
use fluxdeck::domain::evidence::{self, Evidence, ReleaseRecord};
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use insta::assert_snapshot;
use serde_json::json;

mod app_support;
use app_support::*;

fn hr(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, ns, name)
}

/// What the gathering finds for staging/redis in the demo: its status, remediation and
/// record, its StatefulSet at 0/1 and the pod in ImagePullBackOff with its Warning events.
fn redis_evidence() -> Evidence {
    let objects = fixture_objects();
    let redis = objects
        .iter()
        .find(|o| is_release(o, "staging", "redis"))
        .unwrap();
    let record = ReleaseRecord {
        name: "redis".into(),
        namespace: "staging".into(),
        version: 1,
        status: "failed".into(),
        description: "Release \"redis\" failed: context deadline exceeded".into(),
    };
    let mut findings = evidence::helm_release(redis, Some(&record));
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "redis-master", "namespace": "staging", "generation": 1},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/instance": "redis"}}},
        "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0, "currentReplicas": 1}
    });
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "redis-master-0", "namespace": "staging",
                     "labels": {"app.kubernetes.io/instance": "redis"}},
        "status": {"phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [{"name": "redis", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff",
                    "message": "Back-off pulling image \"docker.io/bitnami/redis:1.0\""}}}]}
    });
    let events = vec![json!({
        "kind": "Event", "type": "Warning", "reason": "Failed", "count": 7,
        "lastTimestamp": "2026-11-22T06:44:00Z",
        "involvedObject": {"kind": "Pod", "namespace": "staging", "name": "redis-master-0"},
        "message": "Failed to pull image \"docker.io/bitnami/redis:1.0\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/bitnami/redis:1.0\": docker.io/bitnami/redis:1.0: not found"
    })];
    findings.extend(evidence::managed(
        &sts,
        &[pod],
        &events,
        ts("2026-11-22T06:45:00Z"),
    ));
    Evidence { findings }
}

fn why_text(state: &AppState) -> String {
    match &state.overlay {
        Some(Overlay::Why(view)) => view
            .lines
            .iter()
            .map(|l| l.text())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("no why view: {other:?}"),
    }
}

fn why_with_evidence(cols: u16, rows: u16) -> AppState {
    let mut state = demo(cols, rows);
    select(&mut state, FluxKind::HelmRelease, "staging", "backend");
    assert_eq!(
        ch(&mut state, 'w'),
        vec![Effect::FetchEvidence(hr("staging", "redis"))],
        "the root cause's evidence, asked for once"
    );
    assert!(why_text(&state).contains("Evidence  HelmRelease/staging/redis\n  gathering…"));
    // A later snapshot does not ask again: nothing is watched for it.
    let effects = update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), "2026-11-22T06:45:00Z")),
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::FetchEvidence(_))),
        "{effects:?}"
    );
    update(
        &mut state,
        Msg::Evidence {
            key: hr("staging", "redis"),
            result: Ok(Box::new(redis_evidence())),
        },
    );
    state
}

#[test]
fn why_view_shows_the_evidence_below_the_root_cause_at_80_and_160_columns() {
    let mut state = why_with_evidence(80, 40);
    let text = why_text(&state);
    let root = text.find("Root cause").unwrap();
    let ev = text.find("Evidence  HelmRelease/staging/redis").unwrap();
    let upstream = text.find("Upstream").unwrap();
    assert!(root < ev && ev < upstream, "{text}");
    let sts = text
        .find("! StatefulSet staging/redis-master Ready 0/1")
        .unwrap_or_else(|| panic!("{text}"));
    let pod = text
        .find("✗ Pod staging/redis-master-0 ImagePullBackOff: Back-off pulling image")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(sts < pod, "the most specific last: {text}");
    assert!(
        text.contains("docker.io/bitnami/redis:1.0: not found"),
        "{text}"
    );
    press(&mut state, KeyCode::PageDown);
    assert_snapshot!("why_evidence_80x40", screen(&state));

    let state = why_with_evidence(160, 48);
    assert_snapshot!("why_evidence_160x48", screen(&state));
}

#[test]
fn an_answer_for_another_object_is_ignored_and_an_error_is_shown() {
    let mut state = demo(80, 40);
    select(&mut state, FluxKind::HelmRelease, "staging", "backend");
    ch(&mut state, 'w');
    update(
        &mut state,
        Msg::Evidence {
            key: hr("default", "backend"),
            result: Ok(Box::new(redis_evidence())),
        },
    );
    assert!(why_text(&state).contains("gathering…"));
    update(
        &mut state,
        Msg::Evidence {
            key: hr("staging", "redis"),
            result: Err("forbidden: cannot get helmreleases".into()),
        },
    );
    let text = why_text(&state);
    assert!(
        text.contains("could not gather the evidence: forbidden: cannot get helmreleases"),
        "{text}"
    );
}

#[test]
fn a_ready_release_asks_for_no_evidence() {
    let mut state = demo(80, 40);
    select(&mut state, FluxKind::HelmRelease, "default", "backend");
    assert!(ch(&mut state, 'w').is_empty());
    assert!(!why_text(&state).contains("Evidence"));
}

#[test]
fn details_pane_of_the_failing_release_shows_the_findings() {
    let mut state = demo(160, 60);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let effects = press(&mut state, KeyCode::Enter);
    assert!(effects.contains(&Effect::FetchEvidence(hr("staging", "redis"))));
    update(
        &mut state,
        Msg::Evidence {
            key: hr("staging", "redis"),
            result: Ok(Box::new(redis_evidence())),
        },
    );
    let lines: Vec<String> = state
        .details
        .as_ref()
        .unwrap()
        .lines
        .iter()
        .map(|l| l.text())
        .collect();
    let text = lines.join("\n");
    assert!(
        text.contains("Evidence  HelmRelease/staging/redis"),
        "{text}"
    );
    assert!(
        text.contains("✗ Pod staging/redis-master-0 ImagePullBackOff"),
        "{text}"
    );
}

/// The text of the why view's selected line.
fn selected_line(state: &AppState) -> String {
    match &state.overlay {
        Some(Overlay::Why(view)) => view.lines[view.selected.expect("a selection")].text(),
        other => panic!("no why view: {other:?}"),
    }
}

#[test]
fn enter_on_a_finding_goes_to_the_workload_row() {
    let mut state = why_with_evidence(120, 40);
    // The selection starts on the root cause; n walks down to the findings.
    assert!(
        selected_line(&state).contains("Failed  HelmRelease/staging/redis"),
        "{}",
        selected_line(&state)
    );
    let mut seen = Vec::new();
    while !selected_line(&state).contains("Pod staging/redis-master-0 ImagePullBackOff") {
        seen.push(selected_line(&state));
        assert!(seen.len() < 20, "never reached the pod: {seen:#?}");
        ch(&mut state, 'n');
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("StatefulSet staging/redis-master Ready 0/1")),
        "{seen:#?}"
    );
    // N goes back up.
    ch(&mut state, 'N');
    assert!(selected_line(&state).contains("StatefulSet staging/redis-master"));
    ch(&mut state, 'n');
    // A pod has no row: its line goes to the workload above it.
    let effects = press(&mut state, KeyCode::Enter);
    assert!(state.overlay.is_none(), "the why view closes");
    assert_eq!(
        state.selected_key().unwrap().to_string(),
        "StatefulSet/staging/redis-master"
    );
    // Its row is on screen, under its expanded HelmRelease, and its scope is watched.
    let text = screen(&state);
    assert!(text.contains("StatefulSet staging/redis-master"), "{text}");
    assert!(
        effects.iter().all(|e| !matches!(e, Effect::Quit)),
        "{effects:?}"
    );
}

#[test]
fn enter_on_a_workload_not_loaded_yet_selects_it_when_its_row_appears() {
    let without_sts = || {
        let mut objects = fixture_objects();
        // Neither the StatefulSet nor the inventory entry its row is read from.
        objects.retain(|o| o["kind"] != "StatefulSet");
        let redis = release_mut(&mut objects, "staging", "redis");
        redis["status"]["inventory"]["entries"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["id"] != "staging_redis-master_apps_StatefulSet");
        objects
    };
    let mut state = demo(120, 40);
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(without_sts(), "2026-11-22T06:45:00Z")),
    );
    let sts = evidence::Subject::new("StatefulSet", "staging", "redis-master");
    assert_eq!(
        fluxdeck::app::why::tree_key(&state.tree, &sts),
        None,
        "the StatefulSet has no row yet"
    );
    select(&mut state, FluxKind::HelmRelease, "staging", "backend");
    ch(&mut state, 'w');
    update(
        &mut state,
        Msg::Evidence {
            key: hr("staging", "redis"),
            result: Ok(Box::new(redis_evidence())),
        },
    );
    while !selected_line(&state).contains("StatefulSet staging/redis-master") {
        let before = selected_line(&state);
        ch(&mut state, 'n');
        assert_ne!(
            before,
            selected_line(&state),
            "never reached the StatefulSet"
        );
    }
    press(&mut state, KeyCode::Enter);
    // Its release is selected and expanded meanwhile.
    assert!(state.overlay.is_none());
    assert_eq!(state.selected_key(), Some(&hr("staging", "redis")));
    assert!(screen(&state).contains("loading the row of StatefulSet/staging/redis-master"));
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), "2026-11-22T06:45:05Z")),
    );
    assert_eq!(
        state.selected_key().unwrap().to_string(),
        "StatefulSet/staging/redis-master"
    );
}
