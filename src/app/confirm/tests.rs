//! Tests of the reconcile menu and the confirm dialog: what each key emits, on the demo
//! cluster fixture.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::*;
use crate::actions::run::Outcome;
use crate::actions::writer::Permission;
use crate::app::keys::ACTIONS;
use crate::app::msg::Msg;
use crate::app::state::AppInit;
use crate::app::update;
use crate::config::ReadOnlyReason;
use crate::domain::flux::FluxKind;
use crate::domain::tree::Snapshot;

const NOW: &str = "2026-11-22T06:45:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn demo_with(read_only: Option<ReadOnlyReason>) -> AppState {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/app/demo-cluster.yaml"
    ))
    .unwrap();
    let list: Value = serde_yaml::from_str(&text).unwrap();
    let objects = list["items"].as_array().unwrap().clone();
    let (snap, errors) = Snapshot::from_objects(objects, ts(NOW));
    assert!(errors.is_empty(), "{errors:?}");
    let mut state = AppState::new(AppInit {
        context: "fluxdeck-demo".into(),
        server: "https://127.0.0.1:6443".into(),
        namespace: None,
        read_only,
        keymap_overrides: BTreeMap::new(),
        ascii: false,
        now: ts(NOW),
        log_file: None,
        size: (120, 40),
    });
    update(&mut state, Msg::Snapshot(std::sync::Arc::new(snap)));
    allow_all(&mut state);
    state
}

/// The session may patch every Flux object (as the API server would answer).
fn allow_all(state: &mut AppState) {
    let keys: Vec<ObjectKey> = state
        .snapshot
        .as_ref()
        .map(|s| s.flux.keys().cloned().collect())
        .unwrap_or_default();
    for key in keys {
        if let Some(permission) = Permission::patch(&key) {
            update(
                state,
                Msg::Access {
                    permission,
                    result: Ok(true),
                },
            );
        }
    }
}

#[test]
fn actions_wait_for_the_access_review_and_a_denial_disables_them() {
    let mut state = demo();
    state.access.clear();
    let target = hr("staging", "redis");
    let permission = Permission::patch(&target).unwrap();
    select(&mut state, &target, "kind:hr staging/redis");
    // The first R asks the API server, once.
    assert_eq!(
        ch(&mut state, 'R'),
        vec![Effect::CheckAccess(permission.clone())]
    );
    assert!(matches!(state.modal, Some(Modal::Reconcile(_))));
    let line = permission_line(&state, &target).unwrap();
    assert!(
        format!("{line:?}").contains("asking the API server"),
        "{line:?}"
    );
    // Choosing before the answer sends nothing.
    assert!(ch(&mut state, 'r').is_empty());
    let flash = state.flash.as_ref().unwrap().text.clone();
    assert!(flash.contains("still asking"), "{flash}");
    // Allowed: the same choice executes.
    update(
        &mut state,
        Msg::Access {
            permission: permission.clone(),
            result: Ok(true),
        },
    );
    assert!(matches!(ch(&mut state, 'R').as_slice(), []));
    assert!(matches!(
        ch(&mut state, 'r').as_slice(),
        [Effect::Execute(Intent::Reconcile { .. })]
    ));

    // Denied: the keys say which permission is missing and open nothing.
    let mut state = demo();
    state.access.clear();
    select(&mut state, &target, "kind:hr staging/redis");
    update(
        &mut state,
        Msg::Access {
            permission,
            result: Ok(false),
        },
    );
    for c in ['R', 'T'] {
        assert!(ch(&mut state, c).is_empty());
        assert!(state.modal.is_none());
        let flash = state.flash.as_ref().unwrap().text.clone();
        assert!(
            flash.contains(
                "missing permission: patch helmreleases.helm.toolkit.fluxcd.io in namespace staging"
            ),
            "{flash}"
        );
    }
}

fn demo() -> AppState {
    demo_with(None)
}

fn key(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(state: &mut AppState, c: char) -> Vec<Effect> {
    key(state, KeyCode::Char(c))
}

fn hr(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, ns, name)
}

/// Select the object with a filter (it may be deep in the tree), keeping the filter.
fn select(state: &mut AppState, want: &ObjectKey, filter: &str) {
    // Esc in the prompt clears the filter before; then the new one.
    ch(state, '/');
    key(state, KeyCode::Esc);
    ch(state, '/');
    for c in filter.chars() {
        ch(state, c);
    }
    key(state, KeyCode::Enter);
    key(state, KeyCode::Home);
    for _ in 0..state.rows.len() {
        if state.selected_key() == Some(want) {
            return;
        }
        ch(state, 'j');
    }
    panic!("{want} is not visible with filter {filter:?}");
}

fn menu(state: &AppState) -> &ReconcileMenu {
    match &state.modal {
        Some(Modal::Reconcile(m)) => m,
        other => panic!("no reconcile menu: {other:?}"),
    }
}

fn confirm(state: &AppState) -> &Confirm {
    match &state.modal {
        Some(Modal::Confirm(c)) => c,
        other => panic!("no confirm dialog: {other:?}"),
    }
}

#[test]
fn reconcile_on_a_helm_release_emits_nothing_until_a_mode_is_chosen() {
    let mut state = demo();
    let target = hr("staging", "redis");
    select(&mut state, &target, "kind:hr staging/redis");
    assert!(ch(&mut state, 'R').is_empty());
    let letters: Vec<char> = menu(&state).items.iter().map(|i| i.letter).collect();
    assert_eq!(
        letters,
        ['r', 's', 'f', 'x'],
        "every mode applies to a HelmRelease"
    );
    assert!(ch(&mut state, 'j').is_empty());
    assert!(ch(&mut state, 'j').is_empty());
    assert_eq!(menu(&state).cursor, 2);
    // Keys of other layers do nothing while the menu is open.
    assert!(ch(&mut state, 'p').is_empty());
    assert!(!state.problems);
    assert!(state.actions.is_empty());
    let effects = key(&mut state, KeyCode::Enter);
    let intent = Intent::Reconcile {
        target: target.clone(),
        mode: ReconcileMode::Force,
    };
    assert_eq!(effects, vec![Effect::Execute(intent.clone())]);
    assert!(state.modal.is_none());
    let status = state.actions.get(&target).expect("the action is recorded");
    assert_eq!(status.intent, intent);
    assert!(status.running());
    assert_eq!(state.row_action(&target), Some(status));
}

#[test]
fn menu_letters_choose_and_escape_closes() {
    let mut state = demo();
    let target = hr("staging", "redis");
    select(&mut state, &target, "kind:hr staging/redis");
    ch(&mut state, 'R');
    assert!(key(&mut state, KeyCode::Esc).is_empty());
    assert!(state.modal.is_none());
    assert!(state.actions.is_empty());
    ch(&mut state, 'R');
    assert_eq!(
        ch(&mut state, 's'),
        vec![Effect::Execute(Intent::Reconcile {
            target,
            mode: ReconcileMode::WithSource,
        })]
    );
}

#[test]
fn the_menu_lists_only_the_modes_that_apply() {
    let mut state = demo();
    let ks = ObjectKey::flux(FluxKind::Kustomization, "flux-system", "apps");
    select(&mut state, &ks, "kind:ks flux-system/apps");
    ch(&mut state, 'R');
    let letters: Vec<char> = menu(&state).items.iter().map(|i| i.letter).collect();
    assert_eq!(letters, ['r', 's']);
    // Force is a HelmRelease mode: its letter does nothing here.
    assert!(ch(&mut state, 'f').is_empty());
    assert!(state.modal.is_some());
}

#[test]
fn reconcile_on_a_suspended_object_offers_resume_through_the_dialog() {
    let mut state = demo();
    let target = hr("default", "legacy-app");
    select(&mut state, &target, "kind:hr default/legacy-app");
    assert!(ch(&mut state, 'R').is_empty());
    let m = menu(&state);
    assert!(m.suspended);
    assert_eq!(m.items.len(), 1);
    let text: String = m.lines(false).iter().map(|l| l.text() + "\n").collect();
    assert!(
        text.contains("Flux ignores reconcile requests while it is suspended"),
        "{text}"
    );
    assert!(key(&mut state, KeyCode::Enter).is_empty());
    let intent = Intent::Resume {
        target: target.clone(),
    };
    assert_eq!(confirm(&state).intent, intent);
    assert_eq!(ch(&mut state, 'y'), vec![Effect::Execute(intent)]);
}

#[test]
fn suspend_then_escape_emits_nothing() {
    let mut state = demo();
    select(&mut state, &hr("staging", "redis"), "kind:hr staging/redis");
    assert!(ch(&mut state, 'T').is_empty());
    assert!(matches!(confirm(&state).intent, Intent::Suspend { .. }));
    assert!(key(&mut state, KeyCode::Esc).is_empty());
    assert!(state.modal.is_none());
    assert!(ch(&mut state, 'T').is_empty());
    assert!(ch(&mut state, 'n').is_empty());
    assert!(state.modal.is_none());
    assert!(state.actions.is_empty());
}

#[test]
fn suspend_then_y_emits_execute_suspend() {
    let mut state = demo();
    let target = hr("staging", "redis");
    select(&mut state, &target, "kind:hr staging/redis");
    ch(&mut state, 'T');
    let c = confirm(&state);
    assert_eq!(c.context, "fluxdeck-demo");
    assert_eq!(c.field_manager, "flux-client-side-apply");
    let text: String = c.lines().iter().map(|l| l.text() + "\n").collect();
    assert!(text.contains("Suspend HelmRelease/staging/redis"), "{text}");
    assert!(text.contains("in context fluxdeck-demo"), "{text}");
    assert!(text.contains("\"suspend\": true"), "{text}");
    assert!(text.contains("flux-client-side-apply"), "{text}");
    // Unrelated keys keep the dialog open and send nothing.
    assert!(ch(&mut state, 'j').is_empty());
    assert!(ch(&mut state, 'R').is_empty());
    assert!(matches!(state.modal, Some(Modal::Confirm(_))));
    let effects = ch(&mut state, 'y');
    assert_eq!(
        effects,
        vec![Effect::Execute(Intent::Suspend {
            target: target.clone()
        })]
    );
    assert!(state.actions.get(&target).unwrap().running());
}

#[test]
fn resume_shows_the_patch_that_removes_suspend() {
    let mut state = demo();
    select(
        &mut state,
        &hr("default", "legacy-app"),
        "kind:hr default/legacy-app",
    );
    ch(&mut state, 'T');
    let c = confirm(&state);
    assert!(matches!(c.intent, Intent::Resume { .. }));
    assert!(c.patch.contains("\"suspend\": null"), "{}", c.patch);
    assert!(c.patch.contains("<time of sending>"), "{}", c.patch);
}

#[test]
fn read_only_dangerous_keys_emit_nothing_and_flash() {
    let mut state = demo_with(Some(ReadOnlyReason::Flag));
    select(&mut state, &hr("staging", "redis"), "kind:hr staging/redis");
    let dangerous: Vec<_> = ACTIONS.iter().filter(|s| s.dangerous).collect();
    assert!(dangerous.len() >= 2);
    for spec in dangerous {
        for k in state.keymap.keys(spec.action).to_vec() {
            let effects = update(&mut state, Msg::Key(KeyEvent::new(k.code(), k.modifiers())));
            assert!(effects.is_empty(), "{} sent {effects:?}", spec.id);
            assert!(state.modal.is_none(), "{} opened a dialog", spec.id);
            let flash = state.flash.as_ref().expect("a flash");
            assert!(
                flash.text.starts_with("read-only: --read-only"),
                "{}",
                flash.text
            );
            assert!(flash.text.contains(spec.id), "{}", flash.text);
        }
    }
    assert!(state.actions.is_empty());
}

#[test]
fn becoming_read_only_closes_an_open_dialog() {
    let mut state = demo();
    select(&mut state, &hr("staging", "redis"), "kind:hr staging/redis");
    ch(&mut state, 'T');
    assert!(state.modal.is_some());
    update(&mut state, Msg::ReadOnly(ReadOnlyReason::Config));
    assert!(state.modal.is_none());
    // `y` is the YAML view again, nothing else.
    let effects = ch(&mut state, 'y');
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Execute(_))),
        "{effects:?}"
    );
    assert!(state.actions.is_empty());
}

#[test]
fn managed_objects_groups_and_static_sources_get_a_flash() {
    let mut state = demo();
    let sts = ObjectKey::new("apps", "StatefulSet", "staging", "redis-master");
    select(&mut state, &sts, "statefulset redis-master");
    assert!(ch(&mut state, 'R').is_empty());
    assert!(state.modal.is_none());
    let flash = state.flash.clone().unwrap().text;
    assert!(flash.contains("is not a Flux object"), "{flash}");
    assert!(ch(&mut state, 'T').is_empty());
    assert!(state.modal.is_none());

    let repo = ObjectKey::flux(FluxKind::HelmRepository, "flux-system", "podinfo");
    select(&mut state, &repo, "kind:helmrepository podinfo");
    assert!(ch(&mut state, 'R').is_empty());
    assert!(state.modal.is_none());
    let flash = state.flash.clone().unwrap().text;
    assert!(flash.contains("Flux never reconciles it"), "{flash}");
}

#[test]
fn outcomes_leave_the_row_after_a_minute() {
    let mut state = demo();
    let target = hr("staging", "redis");
    select(&mut state, &target, "kind:hr staging/redis");
    ch(&mut state, 'R');
    let effects = ch(&mut state, 'r');
    let Some(Effect::Execute(intent)) = effects.into_iter().next() else {
        panic!("no Execute");
    };
    update(
        &mut state,
        Msg::ActionDone {
            intent,
            result: Ok(Outcome {
                ok: false,
                message: "HelmRelease reconciliation failed: InstallFailed: boom".into(),
                timed_out: false,
            }),
        },
    );
    let shown = state
        .row_action(&target)
        .expect("the outcome is on the row");
    assert!(shown.failed());
    assert!(
        shown.line().starts_with("reconcile failed:"),
        "{}",
        shown.line()
    );
    update(&mut state, Msg::Tick(ts("2026-11-22T06:45:50Z")));
    assert!(state.row_action(&target).is_some());
    state.mark_drawn();
    update(&mut state, Msg::Tick(ts("2026-11-22T06:46:00Z")));
    assert!(state.row_action(&target).is_none());
    assert!(
        state.needs_redraw(),
        "the row changes when the outcome goes"
    );
    assert!(
        state.actions.contains_key(&target),
        "the details pane keeps it"
    );
}

#[test]
fn resuming_a_release_rolled_back_here_warns_that_git_comes_back() {
    let mut state = demo();
    let target = hr("default", "legacy-app");
    state.rolled_back.insert(
        target.clone(),
        crate::app::actions::RolledBack {
            to: 2,
            at: ts(NOW),
            seen_suspended: true,
        },
    );
    select(&mut state, &target, "kind:hr default/legacy-app");
    assert!(ch(&mut state, 'T').is_empty());
    let c = confirm(&state);
    assert!(matches!(c.intent, Intent::Resume { .. }));
    let text = format!("{:?}", c.lines());
    assert!(text.contains("rolled back to revision 2"), "{text}");
    assert!(text.contains("undoes the rollback"), "{text}");
    // Without a rollback in this session: no such warning.
    let mut state = demo();
    select(&mut state, &target, "kind:hr default/legacy-app");
    ch(&mut state, 'T');
    assert!(confirm(&state).warning.is_none());
}
