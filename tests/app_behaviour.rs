//! App behaviour: selection and expansion across live updates, watch scopes, dirty
//! tracking, flash expiry, the command line and context switches, asserted on the state
//! and the effects `app::update` returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::state::AppState;
use fluxdeck::app::update;
use fluxdeck::config::ReadOnlyReason;
use fluxdeck::domain::flux::{FluxKind, ObjectKind};
use serde_json::Value;

mod app_support;
use app_support::*;

/// The effects other than freeing the previous rebuild (see
/// `a_new_snapshot_frees_the_previous_one_off_the_ui_task`).
fn kept(effects: Vec<Effect>) -> Vec<Effect> {
    effects
        .into_iter()
        .filter(|e| !matches!(e, Effect::Retire(_)))
        .collect()
}

#[test]
fn a_new_snapshot_frees_the_previous_one_off_the_ui_task() {
    let mut state = AppState::new(init(160, 48));
    let first = snapshot_of(fixture_objects(), NOW);
    let retired = |effects: &[Effect]| {
        effects.iter().find_map(|e| match e {
            Effect::Retire(r) => Some(r.clone()),
            _ => None,
        })
    };
    let effects = update(&mut state, Msg::Snapshot(first.clone()));
    // The empty tree shown before: nothing worth handing over.
    let before = retired(&effects).expect("the empty tree is handed over");
    assert!(before.snapshot.is_none() && before.analysis.is_none());
    let shown = state.tree.clone();
    let effects = update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    let r = retired(&effects).expect("the previous rebuild is handed over");
    // The previous snapshot is handed over (the state no longer holds it) with its
    // analysis; the tree did not change, so the new copy goes and the shown one stays.
    assert!(
        r.snapshot
            .as_ref()
            .is_some_and(|s| std::sync::Arc::ptr_eq(s, &first))
    );
    assert!(r.analysis.is_some());
    assert_eq!(r.trees, vec![shown.clone()]);
    assert_eq!(state.tree, shown);
    assert!(!std::sync::Arc::ptr_eq(
        state.snapshot.as_ref().unwrap(),
        &first
    ));
}

#[test]
fn filter_errors_are_shown_and_esc_clears() {
    let mut state = demo(80, 24);
    ch(&mut state, '/');
    typed(&mut state, "state:bogus");
    let text = screen(&state);
    assert!(text.contains("unknown state"), "{text}");
    press(&mut state, KeyCode::Enter);
    assert!(
        state.prompt.is_some(),
        "an unreadable filter is not accepted"
    );
    press(&mut state, KeyCode::Esc);
    assert!(state.prompt.is_none());
    assert!(state.filter_text.is_empty());
}

#[test]
fn selection_survives_a_snapshot_with_objects_added_before_it() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let before = state.cursor;
    let path = state.selected.clone().unwrap();
    // A new Kustomization sorts before the others ("aaa" < "apps") and a new HelmRelease
    // appears in the unmanaged group.
    let mut objects = fixture_objects();
    let mut ks = objects
        .iter()
        .find(|o| o["kind"] == "Kustomization" && o["metadata"]["name"] == "apps")
        .unwrap()
        .clone();
    ks["metadata"]["name"] = "aaa".into();
    ks["status"]["inventory"]["entries"] = Value::Array(Vec::new());
    objects.push(ks.clone());
    // List it in the root's inventory so it appears above the selection.
    let root = objects
        .iter_mut()
        .find(|o| o["kind"] == "Kustomization" && o["metadata"]["name"] == "flux-system")
        .unwrap();
    root["status"]["inventory"]["entries"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "flux-system_aaa_kustomize.toolkit.fluxcd.io_Kustomization", "v": "v1"}));
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    assert!(visible_keys(&state).contains(&"Kustomization/flux-system/aaa".to_string()));
    assert_eq!(state.selected.as_ref(), Some(&path));
    assert_eq!(
        state.selected_key().unwrap().to_string(),
        "HelmRelease/staging/redis"
    );
    assert_eq!(state.cursor, before + 1, "one row was added above");
}

#[test]
fn selection_moves_to_the_nearest_survivor_when_its_object_goes() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let objects: Vec<Value> = fixture_objects()
        .into_iter()
        .filter(|o| {
            !(o["kind"] == "HelmRelease"
                && o["metadata"]["namespace"] == "staging"
                && o["metadata"]["name"] == "redis")
        })
        .collect();
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    let path = state.selected.clone().unwrap();
    // The staging Kustomization still lists it: it is shown as not found, in place.
    assert_eq!(
        path.last().unwrap(),
        "HelmRelease.helm.toolkit.fluxcd.io/staging/redis"
    );
    // Now remove the staging Kustomization itself: the selection goes to a survivor
    // near it (its parent or a sibling).
    let objects: Vec<Value> = fixture_objects()
        .into_iter()
        .filter(|o| !(o["kind"] == "Kustomization" && o["metadata"]["name"] == "staging"))
        .filter(|o| !(o["kind"] == "HelmRelease" && o["metadata"]["namespace"] == "staging"))
        .collect();
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    let selected = state.selected.clone().unwrap();
    assert!(selected.len() <= 2, "{selected:?}");
    assert_eq!(selected[0], path[0]);
}

#[test]
fn watch_scopes_follow_expansion() {
    let mut state = AppState::new(init(80, 24));
    let effects = kept(update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    ));
    let first = match effects.as_slice() {
        [Effect::WatchScopes(s)] => s.clone(),
        other => panic!("expected WatchScopes, got {other:?}"),
    };
    let deployment = ObjectKind::new("apps", "Deployment");
    let sts = ObjectKind::new("apps", "StatefulSet");
    // Children of visible HelmReleases are needed (one level below).
    assert!(first.contains(&(sts.clone(), Some("staging".into()))));
    assert!(first.contains(&(deployment.clone(), Some("default".into()))));
    // Nothing is sent again while nothing changes.
    let again = kept(update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    ));
    assert!(again.is_empty(), "{again:?}");
    // Collapsing the staging Kustomization hides its HelmReleases: their children's
    // scopes are no longer needed.
    let mut staging_path = None;
    for row in &state.rows {
        if state
            .node_of(row)
            .unwrap()
            .key
            .as_ref()
            .map(ToString::to_string)
            == Some("Kustomization/flux-system/staging".into())
        {
            staging_path = Some(row.path.clone());
        }
    }
    assert!(staging_path.is_some());
    select_kustomization(&mut state, "staging");
    let effects = ch(&mut state, 'h');
    let collapsed = match effects.as_slice() {
        [Effect::WatchScopes(s)] => s.clone(),
        other => panic!("expected WatchScopes, got {other:?}"),
    };
    assert!(!collapsed.contains(&(sts.clone(), Some("staging".into()))));
    // Expanding it again asks for them again.
    let effects = ch(&mut state, 'l');
    assert!(
        matches!(effects.as_slice(), [Effect::WatchScopes(s)] if s.contains(&(sts.clone(), Some("staging".into())))),
        "{effects:?}"
    );
}

fn select_kustomization(state: &mut AppState, name: &str) {
    select(state, FluxKind::Kustomization, "flux-system", name);
}

#[test]
fn h_and_l_collapse_expand_and_go_to_parent() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let rows = state.rows.len();
    ch(&mut state, 'l');
    assert!(state.rows.len() > rows, "expanded");
    ch(&mut state, 'l');
    assert_eq!(
        state.selected_key().unwrap().to_string(),
        "Service/staging/redis-master",
        "l on an expanded node steps into it"
    );
    ch(&mut state, 'h');
    assert_eq!(
        state.selected_key().unwrap().to_string(),
        "HelmRelease/staging/redis",
        "h on a leaf goes to the parent"
    );
    ch(&mut state, 'h');
    assert_eq!(state.rows.len(), rows, "collapsed");
    press(&mut state, KeyCode::End);
    assert_eq!(state.cursor, state.rows.len() - 1);
    ch(&mut state, 'g');
    assert_eq!(state.cursor, 0);
    press(&mut state, KeyCode::PageDown);
    assert_eq!(state.cursor, state.tree_page());
}

#[test]
fn a_tick_that_changes_no_shown_age_does_not_redraw() {
    let mut state = demo(80, 24);
    state.mark_drawn();
    // 06:45:00 → 06:45:05: every shown age stays the same (the oldest, from 06:35:08,
    // stays at 9m).
    update(&mut state, Msg::Tick(ts("2026-11-22T06:45:05Z")));
    assert!(!state.needs_redraw());
    // A minute later the ages change.
    update(&mut state, Msg::Tick(ts("2026-11-22T06:46:10Z")));
    assert!(state.needs_redraw());
    state.mark_drawn();
    // The same snapshot again changes nothing either.
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), "2026-11-22T06:46:10Z")),
    );
    assert!(!state.needs_redraw());
    update(&mut state, Msg::WatchHealth(connected()));
    assert!(!state.needs_redraw());
}

#[test]
fn flash_expires_with_the_clock() {
    let mut state = demo(80, 24);
    // Rollback is not carried out yet: it answers with a flash.
    ch(&mut state, 'B');
    assert!(state.flash.is_some());
    state.mark_drawn();
    update(&mut state, Msg::Tick(ts("2026-11-22T06:45:30Z")));
    assert!(state.flash.is_none());
    assert!(state.needs_redraw());
}

#[test]
fn command_line_and_global_keys() {
    let mut state = demo(80, 24);
    ch(&mut state, ':');
    typed(&mut state, "ns staging");
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Effect::SwitchNamespace(Some("staging".into()))]
    );
    ch(&mut state, ':');
    typed(&mut state, "ns");
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Effect::SwitchNamespace(None)]
    );
    ch(&mut state, ':');
    typed(&mut state, "ctx prod");
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Effect::SwitchContext("prod".into())]
    );
    ch(&mut state, ':');
    typed(&mut state, "theme mono");
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Effect::LoadTheme("mono".into())]
    );
    ch(&mut state, ':');
    typed(&mut state, "bogus");
    press(&mut state, KeyCode::Enter);
    assert!(
        state
            .flash
            .as_ref()
            .unwrap()
            .text
            .contains("unknown command")
    );
    ch(&mut state, ':');
    typed(&mut state, "q");
    assert_eq!(press(&mut state, KeyCode::Enter), vec![Effect::Quit]);
    assert_eq!(ch(&mut state, 'q'), vec![Effect::Quit]);
    let ctrl = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    assert_eq!(update(&mut state, ctrl('c')), vec![Effect::Quit]);
    assert_eq!(update(&mut state, ctrl('z')), vec![Effect::SuspendProcess]);
    assert_eq!(update(&mut state, ctrl('l')), vec![Effect::ForceRedraw]);
}

#[test]
fn context_switch_is_reported_and_resets_the_tree() {
    let mut state = demo(80, 24);
    update(
        &mut state,
        Msg::Switched {
            context: "prod".into(),
            server: "https://prod:6443".into(),
            namespace: Some("apps".into()),
            result: Ok(()),
        },
    );
    assert_eq!(state.context, "prod");
    assert!(state.rows.is_empty());
    let text = screen(&state);
    assert!(text.contains("ctx prod"), "{text}");
    assert!(text.contains("loading"), "{text}");
    // The next snapshot asks for watch scopes again.
    let effects = kept(update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    ));
    assert!(matches!(effects.as_slice(), [Effect::WatchScopes(_)]));
    update(&mut state, Msg::ReadOnly(ReadOnlyReason::Config));
    ch(&mut state, 'R');
    assert!(state.flash.as_ref().unwrap().text.starts_with("read-only"));
}

#[test]
fn events_are_fetched_again_when_the_object_changes() {
    let mut state = demo(160, 48);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    let key = state.selected_key().unwrap().clone();
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![
            Effect::FetchEvents(key.clone()),
            Effect::FetchEvidence(key.clone())
        ]
    );
    // Same objects again: nothing to fetch.
    let effects = kept(update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    ));
    assert!(effects.is_empty(), "{effects:?}");
    // The release got a new resourceVersion: its events are asked for again.
    let mut objects = fixture_objects();
    let hr = objects
        .iter_mut()
        .find(|o| {
            o["kind"] == "HelmRelease"
                && o["metadata"]["namespace"] == "staging"
                && o["metadata"]["name"] == "redis"
        })
        .unwrap();
    hr["metadata"]["resourceVersion"] = "999999".into();
    let effects = kept(update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW))));
    assert_eq!(effects, vec![Effect::FetchEvents(key)]);
}

#[test]
fn ages_in_seconds_redraw_at_most_every_ten_seconds() {
    // One release became Ready two seconds ago: its age is shown in seconds.
    let mut objects = fixture_objects();
    let hr = release_mut(&mut objects, "default", "grafana");
    for c in hr["status"]["conditions"].as_array_mut().unwrap() {
        c["lastTransitionTime"] = "2026-11-22T06:44:58Z".into();
    }
    let mut state = demo(160, 48);
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    assert!(screen(&state).contains("2s"), "{}", screen(&state));
    state.mark_drawn();
    for s in 1..10 {
        update(
            &mut state,
            Msg::Tick(ts(&format!("2026-11-22T06:45:0{s}Z"))),
        );
        assert!(!state.needs_redraw(), "redrawn after {s} s");
    }
    update(&mut state, Msg::Tick(ts("2026-11-22T06:45:10Z")));
    assert!(state.needs_redraw());
    assert!(screen(&state).contains("12s"), "{}", screen(&state));
}

#[test]
fn a_prepared_snapshot_is_the_same_as_a_snapshot() {
    // The runtime analyses and builds large snapshots off the UI task.
    let mut direct = AppState::new(init(160, 48));
    update(
        &mut direct,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    let mut prepared = AppState::new(init(160, 48));
    let p = fluxdeck::app::prepare::prepare(snapshot_of(fixture_objects(), NOW));
    let effects = update(&mut prepared, Msg::Prepared(std::sync::Arc::new(p)));
    assert!(!effects.is_empty(), "the visible tree asks for its watches");
    assert_eq!(screen(&direct), screen(&prepared));
    assert!(screen(&prepared).contains("Blocked by staging/redis"));
    assert_eq!(direct.shown_tree(), prepared.shown_tree());
}

/// Clearing the filter with Esc shows the whole tree again: the watches follow (the effects
/// of clearing it are not dropped).
#[test]
fn esc_clearing_the_filter_asks_for_the_watches_of_the_whole_tree() {
    let mut state = AppState::new(init(80, 24));
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    let sts = ObjectKind::new("apps", "StatefulSet");
    // A filter that leaves only default/grafana: staging's StatefulSets are not needed.
    // The filter applies as it is typed: take the last scopes asked for.
    let mut effects = ch(&mut state, '/');
    for c in "default/grafana".chars() {
        effects.extend(ch(&mut state, c));
    }
    effects.extend(press(&mut state, KeyCode::Enter));
    let narrowed = effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::WatchScopes(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected WatchScopes, got {effects:?}"));
    assert!(!narrowed.contains(&(sts.clone(), Some("staging".into()))));
    // Esc clears it: staging's rows are back, and so are their watches.
    let effects = press(&mut state, KeyCode::Esc);
    assert!(state.filter_text.is_empty());
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::WatchScopes(s) if s.contains(&(sts.clone(), Some("staging".into()))))
        ),
        "{effects:?}"
    );
}

/// `:ns` takes namespace names only, as `-n` does: anything else is an error that stays until
/// the next key, and nothing switches.
#[test]
fn ns_refuses_what_is_not_a_namespace_name() {
    let mut state = demo(80, 24);
    let mut effects = ch(&mut state, ':');
    for c in "ns Bad_NS".chars() {
        effects.extend(ch(&mut state, c));
    }
    effects.extend(press(&mut state, KeyCode::Enter));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SwitchNamespace(_))),
        "{effects:?}"
    );
    let flash = state.flash.as_ref().expect("an error");
    assert!(
        flash.text.contains("not a namespace name"),
        "{}",
        flash.text
    );
    // Still there much later; gone at the next key.
    update(
        &mut state,
        Msg::Tick("2026-11-22T07:45:00Z".parse().unwrap()),
    );
    assert!(state.flash.is_some(), "an error waits for a key");
    ch(&mut state, 'j');
    assert!(state.flash.is_none());
}
