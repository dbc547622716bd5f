//! The command line: completion, refusal of names that do not exist, the notices history.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::msg::Msg;
use crate::app::state::{AppInit, NOTICES_KEPT, Overlay};
use crate::app::update;

fn state() -> AppState {
    AppState::new(AppInit {
        context: "prod-eu".into(),
        server: "https://example:6443".into(),
        namespace: None,
        read_only: None,
        keymap_overrides: BTreeMap::new(),
        ascii: false,
        now: "2026-08-01T12:00:00Z".parse().unwrap(),
        log_file: None,
        size: (100, 30),
    })
}

fn key(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Type `:` and `text` (Enter not pressed); the effects of the keys.
fn type_command(state: &mut AppState, text: &str) -> Vec<Effect> {
    let mut effects = key(state, KeyCode::Char(':'));
    for c in text.chars() {
        effects.extend(key(state, KeyCode::Char(c)));
    }
    effects
}

fn command(state: &mut AppState, text: &str) -> Vec<Effect> {
    type_command(state, text);
    key(state, KeyCode::Enter)
}

fn prompt_text(state: &AppState) -> String {
    state
        .prompt
        .as_ref()
        .map(|p| p.text.clone())
        .unwrap_or_default()
}

fn flash(state: &AppState) -> (FlashLevel, String) {
    let f = state.flash.as_ref().expect("a flash");
    (f.level, f.text.clone())
}

fn with_choices(state: &mut AppState) {
    update(
        state,
        Msg::Contexts(Ok(vec![
            "prod-eu".into(),
            "prod-us".into(),
            "staging-eu".into(),
        ])),
    );
    update(
        state,
        Msg::Namespaces(Ok(vec![
            "default".into(),
            "flux-system".into(),
            "staging".into(),
        ])),
    );
}

#[test]
fn close_matches_are_prefixes_substrings_and_small_typos() {
    let names = ["staging", "default", "flux-system", "kube-system"];
    assert_eq!(close_matches("stag", names.into_iter()), ["staging"]);
    assert_eq!(close_matches("defualt", names.into_iter()), ["default"]);
    assert_eq!(
        close_matches("system", names.into_iter()),
        ["flux-system", "kube-system"]
    );
    assert!(close_matches("zzz", names.into_iter()).is_empty());
}

#[test]
fn opening_the_command_line_asks_for_fresh_choices() {
    let mut s = state();
    assert_eq!(key(&mut s, KeyCode::Char(':')), vec![Effect::ListChoices]);
}

#[test]
fn tab_completes_commands_contexts_namespaces_and_themes() {
    let mut s = state();
    with_choices(&mut s);
    type_command(&mut s, "th");
    key(&mut s, KeyCode::Tab);
    assert_eq!(prompt_text(&s), "theme ");
    key(&mut s, KeyCode::Char('l'));
    key(&mut s, KeyCode::Tab);
    assert_eq!(prompt_text(&s), "theme light");
    key(&mut s, KeyCode::Esc);

    // Several contexts share a prefix: Tab goes as far as they agree and lists them.
    type_command(&mut s, "ctx pr");
    assert_eq!(s.prompt.as_ref().unwrap().choices, ["prod-eu", "prod-us"]);
    key(&mut s, KeyCode::Tab);
    assert_eq!(prompt_text(&s), "ctx prod-");
    key(&mut s, KeyCode::Char('u'));
    key(&mut s, KeyCode::Tab);
    assert_eq!(prompt_text(&s), "ctx prod-us");
    assert_eq!(
        key(&mut s, KeyCode::Enter),
        vec![Effect::SwitchContext("prod-us".into())]
    );

    type_command(&mut s, "ns fl");
    key(&mut s, KeyCode::Tab);
    assert_eq!(prompt_text(&s), "ns flux-system");
}

#[test]
fn namespaces_of_the_watched_objects_complete_before_the_list_arrives() {
    let mut s = state();
    let (snap, errors) = crate::domain::tree::Snapshot::from_objects(
        vec![serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "team-a", "generation": 1},
            "spec": {"interval": "10m", "path": "./", "prune": true,
                "sourceRef": {"kind": "GitRepository", "name": "repo"}},
        })],
        s.now,
    );
    assert!(errors.is_empty(), "{errors:?}");
    update(&mut s, Msg::Snapshot(std::sync::Arc::new(snap)));
    type_command(&mut s, "ns te");
    key(&mut s, KeyCode::Tab);
    assert_eq!(prompt_text(&s), "ns team-a");
}

#[test]
fn ns_refuses_a_namespace_that_does_not_exist_naming_it_and_close_matches() {
    let mut s = state();
    with_choices(&mut s);
    let effects = command(&mut s, "ns stag");
    assert!(effects.is_empty(), "{effects:?}");
    let (level, text) = flash(&s);
    assert_eq!(level, FlashLevel::Error);
    assert!(
        text.contains("stag") && text.contains("did you mean staging"),
        "{text}"
    );
    assert!(s.switching.is_none());

    assert_eq!(
        command(&mut s, "ns staging"),
        vec![Effect::SwitchNamespace(Some("staging".into()))]
    );
    assert_eq!(
        command(&mut s, "ns all"),
        vec![Effect::SwitchNamespace(None)]
    );
}

#[test]
fn ns_without_a_namespace_list_cannot_tell_and_switches() {
    let mut s = state();
    update(&mut s, Msg::Namespaces(Err("forbidden".into())));
    assert_eq!(
        command(&mut s, "ns stag"),
        vec![Effect::SwitchNamespace(Some("stag".into()))]
    );
}

#[test]
fn ctx_refuses_an_unknown_context_and_lists_without_an_argument() {
    let mut s = state();
    with_choices(&mut s);
    assert!(command(&mut s, "ctx prod").is_empty());
    let (level, text) = flash(&s);
    assert_eq!(level, FlashLevel::Error);
    assert!(
        text.starts_with(":ctx prod: there is no context prod") && text.contains("prod-eu"),
        "{text}"
    );

    assert_eq!(command(&mut s, "ctx"), vec![Effect::ListChoices]);
    assert_eq!(
        s.overlay,
        Some(Overlay::List {
            kind: ListKind::Contexts,
            scroll: 0
        })
    );
    let lines: Vec<String> = list_lines(&s, ListKind::Contexts)
        .iter()
        .map(TextLine::text)
        .collect();
    assert_eq!(lines[0], "● prod-eu  (in use)");
    assert_eq!(lines[1], "  prod-us");
    // Esc closes the list.
    key(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());
}

#[test]
fn theme_asks_the_runtime_to_load_it_and_uses_it_when_loaded() {
    let mut s = state();
    assert_eq!(
        command(&mut s, "theme light"),
        vec![Effect::LoadTheme("light".into())]
    );
    assert_eq!(
        command(&mut s, "theme ./mine.yaml"),
        vec![Effect::LoadTheme("./mine.yaml".into())]
    );
    let light = Box::new(crate::theme::Theme::embedded("light").unwrap());
    let effects = update(
        &mut s,
        Msg::ThemeLoaded {
            name: "light".into(),
            result: Ok(light.clone()),
        },
    );
    assert_eq!(effects, vec![Effect::UseTheme(light)]);
    let effects = update(
        &mut s,
        Msg::ThemeLoaded {
            name: "./mine.yaml".into(),
            result: Err("cannot read theme file ./mine.yaml: not found".into()),
        },
    );
    assert!(effects.is_empty());
    assert!(flash(&s).1.starts_with(":theme ./mine.yaml: cannot read"));

    assert!(command(&mut s, "theme lihgt").is_empty());
    let (level, text) = flash(&s);
    assert_eq!(level, FlashLevel::Error);
    assert!(
        text.contains("lihgt") && text.contains("did you mean light"),
        "{text}"
    );
}

#[test]
fn a_failed_switch_names_what_was_asked() {
    let mut s = state();
    command(&mut s, "ns apps");
    key(&mut s, KeyCode::Char('j'));
    update(
        &mut s,
        Msg::Switched {
            context: "prod-eu".into(),
            server: "https://example:6443".into(),
            namespace: Some("apps".into()),
            result: Err("forbidden".into()),
        },
    );
    assert_eq!(
        flash(&s),
        (
            FlashLevel::Error,
            "cannot switch to namespace apps: forbidden".to_string()
        )
    );
}

#[test]
fn errors_stay_until_a_key_and_notices_do_not_hide_them() {
    let mut s = state();
    command(&mut s, "bogus");
    assert_eq!(flash(&s).0, FlashLevel::Error);
    // Much later, and after a notice arrived meanwhile, the error is still shown.
    update(&mut s, Msg::Tick("2026-08-01T13:00:00Z".parse().unwrap()));
    update(&mut s, Msg::ReadOnly(crate::config::ReadOnlyReason::Flag));
    assert!(flash(&s).1.contains("unknown command :bogus"));
    // Esc dismisses it and does nothing else.
    s.details = None;
    assert!(key(&mut s, KeyCode::Esc).is_empty());
    assert!(s.flash.is_none());
    // Both are in the history, with their times, newest last.
    let lines: Vec<String> = list_lines(&s, ListKind::Messages)
        .iter()
        .map(TextLine::text)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("12:00:00 error") && lines[0].contains(":bogus"));
    assert!(lines[1].starts_with("13:00:00 warning") && lines[1].contains("read-only"));
}

#[test]
fn messages_opens_the_history_at_its_newest_and_keeps_a_bounded_number() {
    let mut s = state();
    for i in 0..(NOTICES_KEPT + 20) {
        s.flash_with(FlashLevel::Info, format!("notice {i}"));
    }
    assert_eq!(s.notices.len(), NOTICES_KEPT);
    assert_eq!(
        s.notices.back().unwrap().text,
        format!("notice {}", NOTICES_KEPT + 19)
    );
    command(&mut s, "messages");
    let Some(Overlay::List {
        kind: ListKind::Messages,
        scroll,
    }) = s.overlay
    else {
        panic!("{:?}", s.overlay);
    };
    // Scrolled so the newest is on screen.
    assert!(scroll > 0);
}
