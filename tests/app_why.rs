//! The "why" parts of the UI on the demo cluster fixture: the why view (`w`) of a blocked
//! release, a cycle member, a ready release with a cross-namespace dependency and a
//! waiting one; problems mode grouped by root cause; the view following live snapshots, an
//! object that goes away, and `w` where there is nothing to explain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::KeyCode;
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::state::{AppInit, AppState, Overlay};
use fluxdeck::app::update;
use fluxdeck::app::why::WhyView;
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use insta::assert_snapshot;
use serde_json::{Value, json};

mod app_support;
use app_support::*;

fn hr(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, ns, name)
}

/// The demo state with the why view of a HelmRelease open.
fn why_of(cols: u16, rows: u16, ns: &str, name: &str) -> AppState {
    let mut state = demo(cols, rows);
    select(&mut state, FluxKind::HelmRelease, ns, name);
    // Only the evidence below a failing root cause is asked for (once, nothing watched).
    let effects = ch(&mut state, 'w');
    assert!(
        effects
            .iter()
            .all(|e| matches!(e, Effect::FetchEvidence(_))),
        "{effects:?}"
    );
    assert_eq!(why_view(&state).key, hr(ns, name));
    state
}

fn why_view(state: &AppState) -> &WhyView {
    match &state.overlay {
        Some(Overlay::Why(view)) => view,
        other => panic!("no why view: {other:?}"),
    }
}

/// The why view's content as plain text, one logical line each.
fn why_text(state: &AppState) -> String {
    why_view(state)
        .lines
        .iter()
        .map(|l| l.text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The fixture with staging/redis installing (Ready Unknown, Progressing): staging/backend
/// waits on it instead of being blocked.
fn redis_installing() -> Vec<Value> {
    let mut objects = fixture_objects();
    let redis = release_mut(&mut objects, "staging", "redis");
    redis["status"]["conditions"] = json!([
        {"type": "Ready", "status": "Unknown", "reason": "Progressing",
         "message": "Running 'install' action with timeout of 5m0s",
         "observedGeneration": 1, "lastTransitionTime": "2026-11-22T06:44:00Z"},
        {"type": "Reconciling", "status": "True", "reason": "Progressing",
         "message": "Running 'install' action with timeout of 5m0s",
         "observedGeneration": 1, "lastTransitionTime": "2026-11-22T06:44:00Z"}
    ]);
    objects
}

/// The fixture with staging/redis ready.
fn redis_ready() -> Vec<Value> {
    let mut objects = fixture_objects();
    let redis = release_mut(&mut objects, "staging", "redis");
    redis["status"]["conditions"] = json!([
        {"type": "Ready", "status": "True", "reason": "InstallSucceeded",
         "message": "Helm install succeeded for release staging/redis.v1 with chart redis@19.0.1",
         "observedGeneration": 1, "lastTransitionTime": "2026-11-22T06:46:00Z"}
    ]);
    objects
}

#[test]
fn why_blocked_release_80x24_and_160x48() {
    let mut state = why_of(80, 24, "staging", "backend");
    let text = why_text(&state);
    for want in [
        "HelmRelease/staging/backend  ⊘ Blocked",
        "Blocked: something it needs is stuck",
        "in Kustomization flux-system/staging",
        "1. HelmRelease/staging/backend → HelmRelease/staging/redis",
        "dependsOn: Ready is not True",
        "dependency 'staging/redis' is not ready",
        "✗ Failed  HelmRelease/staging/redis",
        "RetriesExceeded: Failed to install after 3 attempt(s)",
        "blocks 1 object that waits on it",
        "Downstream: what waits on it (blast radius) (0): none",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert_snapshot!("why_blocked_80x24_top", screen(&state));
    assert_snapshot!(
        "why_blocked_80x24_dark_styled",
        format!("{:?}", buffer(&state, "dark"))
    );
    assert_snapshot!(
        "why_blocked_80x24_mono_styled",
        format!("{:?}", buffer(&state, "mono"))
    );
    // The content is longer than the screen: the title says so, End shows the rest.
    let top = screen(&state);
    assert!(
        top.contains("Why HelmRelease/staging/backend · 1-19/"),
        "{top}"
    );
    press(&mut state, KeyCode::End);
    let end = screen(&state);
    assert!(
        end.contains("Downstream: what waits on it (blast radius) (0): none"),
        "{end}"
    );
    assert_snapshot!("why_blocked_80x24_end", end);
    press(&mut state, KeyCode::Home);
    assert_eq!(why_view(&state).scroll, 0);

    let state = why_of(160, 48, "staging", "backend");
    assert_snapshot!("why_blocked_160x48", screen(&state));
}

#[test]
fn why_cycle_member() {
    let state = why_of(80, 24, "loop", "backend");
    let text = why_text(&state);
    for want in [
        "HelmRelease/loop/backend  ↻ Cycle",
        "loop/backend → loop/redis → loop/backend",
        "Around the loop",
        "1. HelmRelease/loop/backend → HelmRelease/loop/redis",
        "2. HelmRelease/loop/redis → HelmRelease/loop/backend",
        "dependency 'loop/backend' is not ready",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // The loop is the root cause, spelled out once.
    assert!(!text.contains("Root cause"), "{text}");
    assert_snapshot!("why_cycle_80x24", screen(&state));
    let state = why_of(160, 48, "loop", "redis");
    let text = why_text(&state);
    assert!(
        text.contains("loop/redis → loop/backend → loop/redis"),
        "{text}"
    );
    assert_snapshot!("why_cycle_160x48", screen(&state));
}

#[test]
fn why_ready_release_with_a_cross_namespace_dependency() {
    let state = why_of(80, 24, "default", "grafana");
    let text = why_text(&state);
    assert!(
        text.contains("HelmRelease/default/grafana  ✓ Ready"),
        "{text}"
    );
    assert!(text.contains("Ready: nothing holds it now."), "{text}");
    assert!(
        text.contains("in Kustomization flux-system/monitoring"),
        "{text}"
    );
    // It depends on a release in another namespace, which is listed upstream.
    assert!(
        text.contains(
            "✓ Ready       HelmRelease/monitoring/prometheus  dependsOn, other namespace"
        ),
        "{text}"
    );
    assert!(
        text.contains("✓ Ready       HelmChart/flux-system/default-grafana  source"),
        "{text}"
    );
    assert!(!text.contains("Path to the root cause"), "{text}");
    assert_snapshot!("why_ready_80x24", screen(&state));
    let state = why_of(160, 48, "default", "grafana");
    assert_snapshot!("why_ready_160x48", screen(&state));
}

#[test]
fn why_waiting_is_told_apart_from_blocked() {
    for (cols, rows, name) in [
        (80, 24, "why_waiting_80x24"),
        (160, 48, "why_waiting_160x48"),
    ] {
        let mut state = AppState::new(init(cols, rows));
        update(
            &mut state,
            Msg::Snapshot(snapshot_of(redis_installing(), NOW)),
        );
        update(&mut state, Msg::WatchHealth(connected()));
        select(&mut state, FluxKind::HelmRelease, "staging", "backend");
        ch(&mut state, 'w');
        let text = why_text(&state);
        let title = text.lines().next().unwrap();
        assert!(
            title.starts_with("HelmRelease/staging/backend  ") && title.ends_with(" Pending"),
            "{text}"
        );
        assert!(
            text.contains("Pending: something it needs is still progressing"),
            "{text}"
        );
        assert!(
            text.contains("Root cause (still progressing: pending, not blocked)"),
            "{text}"
        );
        assert!(
            text.contains("Progressing: Running 'install' action with timeout of 5m0s"),
            "{text}"
        );
        assert!(!text.contains("Blocked:"), "{text}");
        assert_snapshot!(name, screen(&state));
    }
}

#[test]
fn why_in_ascii_uses_ascii_only() {
    let mut state = demo_with(AppInit {
        ascii: true,
        ..init(80, 24)
    });
    select(&mut state, FluxKind::HelmRelease, "loop", "backend");
    ch(&mut state, 'w');
    let text = why_text(&state);
    assert!(text.is_ascii(), "{text}");
    assert!(
        text.contains("loop/backend -> loop/redis -> loop/backend"),
        "{text}"
    );
}

#[test]
fn problems_mode_groups_dependents_under_their_root_cause() {
    for (cols, rows) in [(80, 24), (160, 48)] {
        let mut state = demo(cols, rows);
        ch(&mut state, 'p');
        let keys = visible_keys(&state);
        let count = |k: &str| keys.iter().filter(|x| *x == k).count();
        // One failure once, its dependent once, under it.
        assert_eq!(count("HelmRelease/staging/redis"), 1, "{keys:?}");
        assert_eq!(count("HelmRelease/staging/backend"), 1, "{keys:?}");
        let redis = keys
            .iter()
            .position(|k| k == "HelmRelease/staging/redis")
            .unwrap();
        assert_eq!(keys[redis + 1], "HelmRelease/staging/backend");
        let backend_row = state
            .rows
            .iter()
            .find(|r| {
                state.node_of(r).and_then(|n| n.key.as_ref()) == Some(&hr("staging", "backend"))
            })
            .unwrap();
        assert_eq!(
            backend_row.depth, 3,
            "under redis, under the staging Kustomization"
        );
        assert_eq!(
            backend_row.path[1],
            "Kustomization.kustomize.toolkit.fluxcd.io/flux-system/staging"
        );
        // The cycle once: its first member, the other member under it.
        let loop_backend = keys
            .iter()
            .position(|k| k == "HelmRelease/loop/backend")
            .unwrap();
        assert_eq!(keys[loop_backend + 1], "HelmRelease/loop/redis");
        assert_eq!(count("HelmRelease/loop/redis"), 1);
        let text = screen(&state);
        if cols >= 160 {
            assert!(text.contains("in this dependency cycle"), "{text}");
            assert!(text.contains("blocked by this"), "{text}");
        }
        assert_snapshot!(format!("problems_grouped_{cols}x{rows}"), text);
        if cols == 80 {
            assert_snapshot!(
                "problems_grouped_80x24_dark_styled",
                format!("{:?}", buffer(&state, "dark"))
            );
            assert_snapshot!(
                "problems_grouped_80x24_mono_styled",
                format!("{:?}", buffer(&state, "mono"))
            );
        }
    }
}

#[test]
fn why_view_follows_live_snapshots() {
    let mut state = why_of(80, 24, "staging", "backend");
    state.mark_drawn();
    // The same objects again: nothing changes.
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    assert!(!state.needs_redraw());
    press(&mut state, KeyCode::End);
    // redis recovers: the view says so for the same object, scrolled within its content.
    update(&mut state, Msg::Snapshot(snapshot_of(redis_ready(), NOW)));
    assert!(state.needs_redraw());
    assert_eq!(why_view(&state).key, hr("staging", "backend"));
    let text = why_text(&state);
    assert!(!text.contains("RetriesExceeded"), "{text}");
    assert!(!text.contains("⊘ Blocked\n"), "{text}");
    assert!(
        text.contains("✓ Ready       HelmRelease/staging/redis"),
        "{text}"
    );
    let total = why_view(&state).lines.len();
    assert!(
        why_view(&state).scroll < total,
        "scroll kept inside the content"
    );
    // And fails again.
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    assert!(why_text(&state).contains("RetriesExceeded"));
}

#[test]
fn why_view_of_an_object_that_goes_away() {
    let mut state = why_of(80, 24, "staging", "backend");
    // The dependency goes: the release is blocked by a dependency that is not found.
    let objects: Vec<Value> = fixture_objects()
        .into_iter()
        .filter(|o| !is_release(o, "staging", "redis"))
        .collect();
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    let text = why_text(&state);
    assert!(
        text.contains("? Unknown  HelmRelease/staging/redis"),
        "{text}"
    );
    assert!(text.contains("dependsOn: not found"), "{text}");
    // The object itself goes: said so, the view stays open.
    let objects: Vec<Value> = fixture_objects()
        .into_iter()
        .filter(|o| !is_release(o, "staging", "backend"))
        .collect();
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    let text = why_text(&state);
    assert!(text.contains("No longer in the cluster"), "{text}");
    assert_snapshot!("why_gone_80x24", screen(&state));
    // It comes back: the view follows it again.
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    assert!(why_text(&state).contains("⊘ Blocked"));
}

#[test]
fn w_where_there_is_nothing_to_explain() {
    let mut state = demo(80, 24);
    // A managed object.
    select_redis_statefulset(&mut state);
    assert!(ch(&mut state, 'w').is_empty());
    assert!(state.overlay.is_none());
    let flash = state.flash.as_ref().unwrap().text.clone();
    assert!(
        flash.contains("StatefulSet/staging/redis-master is not a Flux object"),
        "{flash}"
    );
    // A group row with nothing wrong below it.
    press(&mut state, KeyCode::End);
    ch(&mut state, 'k');
    assert!(state.selected_key().is_none(), "the unmanaged group");
    ch(&mut state, 'w');
    assert!(state.overlay.is_none());
    assert!(
        state
            .flash
            .as_ref()
            .unwrap()
            .text
            .contains("nothing below this group has a problem")
    );
    // A source is explained in the view, with what reads it.
    press(&mut state, KeyCode::End);
    ch(&mut state, 'w');
    let text = why_text(&state);
    assert!(
        text.starts_with("GitRepository/flux-system/flux-system  ✓ Ready"),
        "{text}"
    );
    assert!(
        text.contains("A source does not wait on dependencies"),
        "{text}"
    );
    assert!(text.contains("Kustomization/flux-system/staging"), "{text}");
}

#[test]
fn keys_in_the_why_view() {
    let mut state = why_of(80, 24, "staging", "backend");
    let hints = screen(&state);
    assert!(hints.contains("w why"), "{hints}");
    assert!(hints.contains("esc back"), "{hints}");
    // w again closes it; esc too.
    ch(&mut state, 'w');
    assert!(state.overlay.is_none());
    ch(&mut state, 'w');
    press(&mut state, KeyCode::Esc);
    assert!(state.overlay.is_none());
    // y shows the YAML of the object explained.
    ch(&mut state, 'w');
    assert_eq!(
        ch(&mut state, 'y'),
        vec![Effect::FetchYaml(hr("staging", "backend"))]
    );
    // From the details pane, w explains the object shown there.
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    press(&mut state, KeyCode::Enter);
    ch(&mut state, 'w');
    assert_eq!(why_view(&state).key, hr("staging", "redis"));
    assert!(why_text(&state).contains("This object is the root cause"));
    assert!(why_text(&state).contains("⊘ Blocked     HelmRelease/staging/backend"));
    // The help screen lists it, from the keymap.
    let help: Vec<String> = fluxdeck::app::help::lines(&state)
        .iter()
        .map(|l| l.text())
        .collect();
    assert!(
        help.iter()
            .any(|l| l.contains("w ") && l.contains("why") && l.contains("root cause")),
        "{help:#?}"
    );
}

#[test]
fn problems_mode_selection_and_expansion_survive_live_updates() {
    let mut state = demo(80, 24);
    ch(&mut state, 'p');
    // Collapse the cycle, select the dependent under redis.
    select(&mut state, FluxKind::HelmRelease, "loop", "backend");
    ch(&mut state, 'h');
    assert!(!visible_keys(&state).contains(&"HelmRelease/loop/redis".to_string()));
    select(&mut state, FluxKind::HelmRelease, "staging", "backend");
    let path = state.selected.clone().unwrap();
    assert!(path.last().unwrap().starts_with("dependent:"), "{path:?}");
    // A new snapshot where something else changes (a new failing release elsewhere).
    let mut objects = fixture_objects();
    let mut extra = objects
        .iter()
        .find(|o| is_release(o, "staging", "redis"))
        .unwrap()
        .clone();
    extra["metadata"]["namespace"] = "default".into();
    extra["metadata"]["name"] = "aaa-cache".into();
    objects.push(extra);
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    assert!(visible_keys(&state).contains(&"HelmRelease/default/aaa-cache".to_string()));
    assert_eq!(state.selected.as_ref(), Some(&path));
    assert_eq!(state.selected_key(), Some(&hr("staging", "backend")));
    assert!(
        !visible_keys(&state).contains(&"HelmRelease/loop/redis".to_string()),
        "the cycle stays collapsed"
    );
    // Leaving problems mode keeps the object selected in its own place.
    ch(&mut state, 'p');
    assert_eq!(state.selected_key(), Some(&hr("staging", "backend")));
}

#[test]
fn enter_on_the_root_cause_goes_to_its_row_leaving_the_filter() {
    let mut state = demo(120, 40);
    ch(&mut state, '/');
    typed(&mut state, "kind:hr staging/backend");
    press(&mut state, KeyCode::Enter);
    assert!(
        !visible_keys(&state)
            .iter()
            .any(|k| k.contains("staging/redis"))
    );
    select(&mut state, FluxKind::HelmRelease, "staging", "backend");
    ch(&mut state, 'w');
    // The root cause is selected at first, and drawn so.
    let view = why_view(&state);
    assert_eq!(view.selected_link(), Some(&hr("staging", "redis")));
    let marked = view.lines[view.selected.unwrap()].text();
    assert!(
        marked.contains("✗ Failed  HelmRelease/staging/redis"),
        "{marked}"
    );
    press(&mut state, KeyCode::Enter);
    assert!(state.overlay.is_none());
    assert_eq!(state.selected_key(), Some(&hr("staging", "redis")));
    assert!(
        state.filter_text.is_empty(),
        "the filter hid the root cause"
    );
    let text = screen(&state);
    assert!(
        text.contains("left the filter to show HelmRelease/staging/redis"),
        "{text}"
    );
    // N from the title stays; the title goes back to the object itself.
    select(&mut state, FluxKind::HelmRelease, "staging", "backend");
    ch(&mut state, 'w');
    for _ in 0..30 {
        ch(&mut state, 'N');
    }
    assert_eq!(why_view(&state).selected, Some(0));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.selected_key(), Some(&hr("staging", "backend")));
}

#[test]
fn w_on_a_group_row_explains_the_worst_problem_below_it() {
    // One namespace in view: its objects are grouped under the Kustomization that applied
    // them, which is out of view.
    let mut objects = fixture_objects();
    objects.retain(|o| o["metadata"]["namespace"] == "staging");
    let mut state = demo(120, 40);
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(objects, "2026-11-22T06:45:00Z")),
    );
    ch(&mut state, 'g');
    let (_, node) = state.selected_row().unwrap();
    assert!(node.key.is_none(), "a group row: {}", node.label());
    ch(&mut state, 'w');
    // staging/redis fails; staging/backend is only blocked by it.
    assert_eq!(why_view(&state).key, hr("staging", "redis"));

    // A group with nothing wrong below it says so.
    let mut objects = fixture_objects();
    objects.retain(|o| o["metadata"]["namespace"] == "monitoring");
    let mut state = demo(120, 40);
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(objects, "2026-11-22T06:45:00Z")),
    );
    ch(&mut state, 'g');
    assert!(state.selected_row().unwrap().1.key.is_none());
    ch(&mut state, 'w');
    assert!(state.overlay.is_none());
    assert!(
        screen(&state).contains("nothing below this group has a problem to explain"),
        "{}",
        screen(&state)
    );
}
