//! The history view (`H`) and the rollback flow (`B`) in the app, on the demo cluster
//! fixture with a fetched history fed as the executor's message: what each key emits (nothing
//! until the release name is typed exactly), read-only and denied sessions, and insta snapshots
//! of the history, the preview, the confirmation, the progress and the banner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use crossterm::event::KeyCode;
use fluxdeck::actions::history::HistoryData;
use fluxdeck::actions::intent::{Intent, PlanToken};
use fluxdeck::actions::rollback::Plan;
use fluxdeck::actions::run::Outcome;
use fluxdeck::actions::writer::Permission;
use fluxdeck::app::history::Step;
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::state::{AppInit, AppState, Overlay};
use fluxdeck::app::update;
use fluxdeck::config::ReadOnlyReason;
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::domain::helm_history::HistoryRow;
use fluxdeck::domain::helm_storage::ReleaseStatus;
use insta::assert_snapshot;

mod app_support;
use app_support::*;

fn redis() -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis")
}

fn row(revision: i64, status: &str, version: &str, description: &str, current: bool) -> HistoryRow {
    HistoryRow {
        revision,
        status: status.into(),
        chart: format!("redis-{version}"),
        app_version: "7.2.4".into(),
        updated: format!("2026-11-2{revision}T06:00:00Z"),
        description: description.into(),
        current,
        in_status_history: revision >= 2,
    }
}

fn plan(to: i64, to_chart: &str) -> Plan {
    Plan {
        target: redis(),
        release_name: "redis".into(),
        release_namespace: "staging".into(),
        storage_namespace: "staging".into(),
        hr_resource_version: "4711".into(),
        latest: 3,
        latest_status: ReleaseStatus::Deployed,
        to,
        latest_chart: "redis@19.0.1".into(),
        to_chart: to_chart.into(),
        already_suspended: false,
    }
}

const MANIFEST_2: &str = "---\n# Source: redis/templates/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis-master\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - image: bitnami/redis:7.2.4\n        name: redis\n";
const MANIFEST_3: &str = "---\n# Source: redis/templates/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis-master\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - image: bitnami/redis:7.2.5\n        name: redis\n---\n# Source: redis/templates/metrics-svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: redis-metrics\n";

/// Three revisions: 1 and 2 superseded, 3 deployed (current); 2 is the default target.
fn history() -> HistoryData {
    HistoryData {
        key: redis(),
        release_name: "redis".into(),
        release_namespace: "staging".into(),
        storage_namespace: "staging".into(),
        rows: vec![
            row(1, "superseded", "18.6.1", "Install complete", false),
            row(2, "superseded", "19.0.0", "Upgrade complete", false),
            row(3, "deployed", "19.0.1", "Upgrade complete", true),
        ],
        current: Some(3),
        default_target: Some(2),
        values: BTreeMap::from([
            (1, "architecture: standalone\n".to_string()),
            (
                2,
                "architecture: standalone\nauth:\n  enabled: false\n".to_string(),
            ),
            (
                3,
                "architecture: replication\nauth:\n  enabled: false\nreplica:\n  replicaCount: 3\n"
                    .to_string(),
            ),
        ]),
        manifests: BTreeMap::from([
            (1, MANIFEST_2.to_string()),
            (2, MANIFEST_2.to_string()),
            (3, MANIFEST_3.to_string()),
        ]),
        plans: BTreeMap::from([(1, plan(1, "redis@18.6.1")), (2, plan(2, "redis@19.0.0"))]),
    }
}

fn loaded(state: &mut AppState) {
    update(
        state,
        Msg::History {
            key: redis(),
            result: Ok(Box::new(history())),
        },
    );
}

fn step(state: &AppState) -> Option<Step> {
    match &state.overlay {
        Some(Overlay::History(h)) => Some(h.step),
        _ => None,
    }
}

fn selected(state: &AppState) -> Option<i64> {
    match &state.overlay {
        Some(Overlay::History(h)) => h.selected(),
        _ => None,
    }
}

/// `B` on staging/redis, the history loaded: the revisions with the default target.
fn rollback_open(cols: u16, rows: u16) -> AppState {
    let mut state = demo(cols, rows);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    assert_eq!(ch(&mut state, 'B'), vec![Effect::FetchHistory(redis())]);
    loaded(&mut state);
    state
}

fn expected_intent(to: i64) -> Intent {
    Intent::Rollback {
        target: redis(),
        to,
        plan_token: PlanToken {
            hr_resource_version: "4711".into(),
            latest: 3,
            latest_status: ReleaseStatus::Deployed,
        },
    }
}

#[test]
fn history_view_lists_revisions_current_and_status_history_marked() {
    let mut state = demo(120, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    assert_eq!(ch(&mut state, 'H'), vec![Effect::FetchHistory(redis())]);
    assert!(screen(&state).contains("loading the release records"));
    loaded(&mut state);
    let text = screen(&state);
    assert!(
        text.contains("History HelmRelease/staging/redis: release staging/redis"),
        "{text}"
    );
    let line3 = text.lines().find(|l| l.contains("redis-19.0.1")).unwrap();
    assert!(
        line3.contains("*h 3"),
        "current and in status.history: {text}"
    );
    let line1 = text.lines().find(|l| l.contains("redis-18.6.1")).unwrap();
    assert!(line1.contains("   1"), "neither: {text}");
    assert_snapshot!("history_120x24", text);
    // Enter in the plain history sends nothing; H closes it.
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert_eq!(step(&state), Some(Step::List));
    assert!(ch(&mut state, 'H').is_empty());
    assert!(state.overlay.is_none());
}

#[test]
fn history_of_a_kustomization_is_refused() {
    let mut state = demo(120, 24);
    select(&mut state, FluxKind::Kustomization, "flux-system", "apps");
    assert!(ch(&mut state, 'H').is_empty());
    assert!(state.overlay.is_none());
    let flash = &state.flash.as_ref().unwrap().text;
    assert!(flash.contains("is not a HelmRelease"), "{flash}");
}

#[test]
fn rollback_emits_nothing_until_the_release_name_is_typed_exactly() {
    let mut state = rollback_open(120, 30);
    assert_eq!(selected(&state), Some(2), "the default target");
    // j/k choose another; the latest cannot be a target.
    press(&mut state, KeyCode::Home);
    assert_eq!(selected(&state), Some(3));
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert_eq!(step(&state), Some(Step::List));
    let flash = &state.flash.as_ref().unwrap().text;
    assert!(flash.contains("cannot be a target"), "{flash}");
    ch(&mut state, 'j');
    assert_eq!(selected(&state), Some(2));
    // Enter: the preview; Enter: the confirmation.
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert_eq!(step(&state), Some(Step::Preview));
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert_eq!(step(&state), Some(Step::Confirm));
    // A wrong name sends nothing, whatever Enter is pressed.
    typed(&mut state, "redi");
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    let flash = &state.flash.as_ref().unwrap().text;
    assert!(flash.contains("type the release name redis"), "{flash}");
    typed(&mut state, "sx");
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert!(state.actions.is_empty());
    // Backspace fixes it: then Enter executes, once, and the view closes.
    press(&mut state, KeyCode::Backspace);
    let effects = press(&mut state, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::Execute(expected_intent(2))]);
    assert!(state.overlay.is_none());
    assert!(state.actions.get(&redis()).unwrap().running());
}

/// The name field takes every character: `n` and `y` (the dialogs' cancel and confirm keys)
/// are text there, so a release name with them can be typed.
#[test]
fn y_and_n_are_typed_into_the_name() {
    let mut state = rollback_open(120, 30);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    assert_eq!(step(&state), Some(Step::Confirm));
    typed(&mut state, "ny");
    assert_eq!(step(&state), Some(Step::Confirm), "n did not cancel");
    assert!(state.actions.is_empty(), "y did not confirm");
    press(&mut state, KeyCode::Backspace);
    press(&mut state, KeyCode::Backspace);
    typed(&mut state, "redis");
    let effects = press(&mut state, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::Execute(expected_intent(2))]);
}

#[test]
fn escape_steps_back_and_sends_nothing() {
    let mut state = rollback_open(120, 30);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    typed(&mut state, "redis");
    assert!(press(&mut state, KeyCode::Esc).is_empty());
    assert_eq!(step(&state), Some(Step::Preview));
    assert!(press(&mut state, KeyCode::Esc).is_empty());
    assert_eq!(step(&state), Some(Step::List));
    assert!(press(&mut state, KeyCode::Esc).is_empty());
    assert!(state.overlay.is_none());
    assert!(state.actions.is_empty());
}

#[test]
fn read_only_allows_history_and_refuses_rollback() {
    let mut state = demo_with(AppInit {
        read_only: Some(ReadOnlyReason::Flag),
        ..init(120, 24)
    });
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    assert!(ch(&mut state, 'B').is_empty());
    assert!(state.overlay.is_none());
    let flash = &state.flash.as_ref().unwrap().text;
    assert!(flash.starts_with("read-only: --read-only"), "{flash}");
    assert_eq!(ch(&mut state, 'H'), vec![Effect::FetchHistory(redis())]);
    loaded(&mut state);
    assert!(screen(&state).contains("redis-19.0.1"));
    // B in the history view is refused too.
    assert!(ch(&mut state, 'B').is_empty());
    assert!(matches!(&state.overlay, Some(Overlay::History(h)) if !h.rollback));
}

#[test]
fn a_denied_access_review_refuses_rollback() {
    let mut state = demo(120, 24);
    state.access.clear();
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let permission = Permission::patch(&redis()).unwrap();
    update(
        &mut state,
        Msg::Access {
            permission,
            result: Ok(false),
        },
    );
    assert!(ch(&mut state, 'B').is_empty());
    assert!(state.overlay.is_none());
    let flash = &state.flash.as_ref().unwrap().text;
    assert!(
        flash.contains("missing permission: patch helmreleases"),
        "{flash}"
    );
}

#[test]
fn rollback_waits_for_the_access_review() {
    let mut state = demo(120, 30);
    state.access.clear();
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    // Patch on the HelmRelease, and the release records (Secrets) in its storage namespace.
    let mut permissions = vec![Permission::patch(&redis()).unwrap()];
    permissions.extend(Permission::release_records("staging"));
    let mut expected: Vec<Effect> = permissions
        .iter()
        .cloned()
        .map(Effect::CheckAccess)
        .collect();
    expected.push(Effect::FetchHistory(redis()));
    assert_eq!(ch(&mut state, 'B'), expected);
    loaded(&mut state);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    typed(&mut state, "redis");
    // Not answered yet: nothing is sent, the dialog stays.
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert_eq!(step(&state), Some(Step::Confirm));
    // Patch allowed, the records not yet answered: still nothing.
    update(
        &mut state,
        Msg::Access {
            permission: permissions[0].clone(),
            result: Ok(true),
        },
    );
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    // Creating release records denied: refused, naming it.
    update(
        &mut state,
        Msg::Access {
            permission: permissions[3].clone(),
            result: Ok(false),
        },
    );
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    let flash = &state.flash.as_ref().unwrap().text;
    assert!(
        flash.contains("missing permission: create secrets in namespace staging"),
        "{flash}"
    );
    // All allowed: the rollback is sent.
    for p in &permissions {
        update(
            &mut state,
            Msg::Access {
                permission: p.clone(),
                result: Ok(true),
            },
        );
    }
    let mut effects = Vec::new();
    if step(&state) != Some(Step::Confirm) {
        ch(&mut state, 'B');
        loaded(&mut state);
        press(&mut state, KeyCode::Enter);
        press(&mut state, KeyCode::Enter);
        typed(&mut state, "redis");
    }
    effects.extend(press(&mut state, KeyCode::Enter));
    assert_eq!(effects, vec![Effect::Execute(expected_intent(2))]);
}

#[test]
fn preview_side_by_side_and_unified() {
    let mut state = rollback_open(140, 30);
    press(&mut state, KeyCode::Enter);
    let text = screen(&state);
    assert!(
        text.contains("values: revision 3 → revision 2: +1 −3 lines"),
        "{text}"
    );
    assert!(text.contains("replicaCount: 3"), "{text}");
    assert!(text.contains("│"), "side by side: {text}");
    assert_snapshot!("rollback_preview_140x30", text);
    let mut narrow = rollback_open(80, 30);
    press(&mut narrow, KeyCode::Enter);
    let text = screen(&narrow);
    assert!(text.contains("-architecture: replication"), "{text}");
    assert!(text.contains("+architecture: standalone"), "{text}");
    assert_snapshot!("rollback_preview_unified_80x30", text);
    // The manifest diff follows the values: `]` goes to it, the values scroll away.
    ch(&mut narrow, ']');
    let text = screen(&narrow);
    assert!(text.contains("manifest: revision 3 → revision 2"), "{text}");
    assert!(!text.contains("values: revision 3"), "{text}");
}

#[test]
fn confirmation_names_the_release_the_context_the_target_and_the_steps() {
    let mut state = rollback_open(120, 36);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    typed(&mut state, "red");
    let text = screen(&state);
    for want in [
        "Roll back HelmRelease/staging/redis",
        "in context fluxdeck-demo",
        "to revision 2 (redis@19.0.0",
        "1. suspend HelmRelease/staging/redis",
        "Type the release name redis to confirm:",
        "> red",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert_snapshot!("rollback_confirm_120x36", text);
}

#[test]
fn progress_then_a_persistent_banner_until_resumed() {
    let mut state = rollback_open(160, 30);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    typed(&mut state, "redis");
    let intent = expected_intent(2);
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Effect::Execute(intent.clone())]
    );
    update(
        &mut state,
        Msg::ActionProgress {
            intent: intent.clone(),
            text: "created release record v4 (pending-rollback)".into(),
        },
    );
    ch(&mut state, 'x');
    let text = screen(&state);
    let line = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis"))
        .unwrap();
    assert!(
        line.contains("rollback: created release record v4"),
        "{text}"
    );
    assert_snapshot!("rollback_progress_160x30", text);
    update(
        &mut state,
        Msg::ActionDone {
            intent,
            result: Ok(Outcome {
                ok: true,
                message: "rolled back redis to revision 2 as revision 4 (redis@19.0.0)".into(),
                timed_out: false,
            }),
        },
    );
    ch(&mut state, 'x');
    let banner = "rolled back to revision 2 at 06:45 — suspended; Flux re-applies Git when \
                  resumed: fix Git first (pin chart version and values)";
    let text = screen(&state);
    let line = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis"))
        .unwrap();
    assert!(
        line.contains("rolled back to revision 2 at 06:45 — suspended"),
        "{text}"
    );
    assert_snapshot!("rollback_banner_160x30", text);
    // It stays after the outcome's minute, and the details show it whole.
    update(&mut state, Msg::Tick(ts("2026-11-22T07:30:00Z")));
    press(&mut state, KeyCode::Enter);
    let text = screen(&state);
    let line = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis") || l.contains("hr staging/redis"))
        .unwrap();
    assert!(line.contains("rolled back to rev"), "{text}");
    assert!(text.contains("Rolled back"), "{text}");
    assert!(text.contains("when resumed: fix Git first"), "{text}");
    assert_eq!(state.rollback_banner(&redis()).as_deref(), Some(banner));
    // Resumed: the banner goes.
    update(
        &mut state,
        Msg::ActionDone {
            intent: Intent::Resume { target: redis() },
            result: Ok(Outcome {
                ok: true,
                message: "ready".into(),
                timed_out: false,
            }),
        },
    );
    assert_eq!(state.rollback_banner(&redis()), None);
}

#[test]
fn a_rollback_aborted_by_a_change_shows_the_reason_and_no_banner() {
    let mut state = rollback_open(160, 30);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    typed(&mut state, "redis");
    let intent = expected_intent(2);
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Effect::Execute(intent.clone())]
    );
    let reason = "HelmRelease/staging/redis changed since the plan (resourceVersion 4711 → 4712): \
                  look again and retry";
    update(
        &mut state,
        Msg::ActionDone {
            intent,
            result: Err(reason.into()),
        },
    );
    let flash = &state.flash.as_ref().unwrap().text;
    assert_eq!(flash, &format!("rollback not done: {reason}"));
    ch(&mut state, 'x');
    let text = screen(&state);
    let line = text
        .lines()
        .find(|l| l.contains("HelmRelease staging/redis"))
        .unwrap();
    assert!(line.contains("rollback not done: HelmRelease"), "{text}");
    assert_eq!(state.rollback_banner(&redis()), None);
}

#[test]
fn a_history_that_cannot_be_read_says_why() {
    let mut state = demo(120, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    ch(&mut state, 'H');
    update(
        &mut state,
        Msg::History {
            key: redis(),
            result: Err("forbidden: cannot list secrets in namespace staging".into()),
        },
    );
    let text = screen(&state);
    assert!(
        text.contains(
            "cannot read the history: forbidden: cannot list secrets in namespace staging"
        ),
        "{text}"
    );
    // Enter sends nothing.
    assert!(press(&mut state, KeyCode::Enter).is_empty());
}

/// At 80x24 the name field of the confirmation is on screen, and what is typed shows.
#[test]
fn the_name_field_is_visible_at_80x24() {
    let mut state = rollback_open(80, 24);
    press(&mut state, KeyCode::Enter);
    press(&mut state, KeyCode::Enter);
    assert_eq!(step(&state), Some(Step::Confirm));
    typed(&mut state, "re");
    let text = screen(&state);
    assert!(text.contains("Type the release name redis"), "{text}");
    assert!(text.contains("> re"), "{text}");
}
