//! The command line on the demo cluster, rendered: Tab completion shown while typing, names
//! that do not exist refused on the bottom line, `:ctx` and `:messages` lists, `:theme`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::KeyCode;
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::state::AppState;
use fluxdeck::app::update;
use fluxdeck::theme::Theme;

mod app_support;
use app_support::*;

fn with_choices(state: &mut AppState) {
    update(
        state,
        Msg::Contexts(Ok(vec!["fluxdeck-demo".into(), "kind-dev".into()])),
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

fn last_line(state: &AppState) -> String {
    screen(state).lines().last().unwrap_or_default().to_string()
}

#[test]
fn ctx_tab_completes_and_lists_the_choices_while_typing() {
    for (cols, rows) in [(80, 24), (160, 48)] {
        let mut state = demo(cols, rows);
        with_choices(&mut state);
        ch(&mut state, ':');
        typed(&mut state, "ctx ");
        let line = last_line(&state);
        assert!(
            line.contains("fluxdeck-demo") && line.contains("kind-dev"),
            "{line}"
        );
        typed(&mut state, "k");
        press(&mut state, KeyCode::Tab);
        assert!(
            last_line(&state).starts_with(":ctx kind-dev"),
            "{}",
            last_line(&state)
        );
        assert_eq!(
            press(&mut state, KeyCode::Enter),
            vec![Effect::SwitchContext("kind-dev".into())]
        );
    }
}

#[test]
fn ns_refusal_stays_on_the_bottom_line_until_a_key() {
    let mut state = demo(80, 24);
    with_choices(&mut state);
    ch(&mut state, ':');
    typed(&mut state, "ns stag");
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    let line = last_line(&state);
    assert!(
        line.contains(":ns stag: there is no namespace stag"),
        "{line}"
    );
    update(&mut state, Msg::Tick(ts("2026-11-22T08:00:00Z")));
    assert!(last_line(&state).contains(":ns stag"));
    press(&mut state, KeyCode::Esc);
    assert!(!last_line(&state).contains(":ns stag"));
    // In the history, with the time it was shown.
    ch(&mut state, ':');
    typed(&mut state, "messages");
    press(&mut state, KeyCode::Enter);
    let text = screen(&state);
    assert!(text.contains("Messages"), "{text}");
    assert!(
        text.contains("06:45:00 error   :ns stag: there is no namespace stag"),
        "{text}"
    );
}

#[test]
fn ctx_lists_the_contexts_with_the_one_in_use_marked() {
    let mut state = demo(80, 24);
    with_choices(&mut state);
    ch(&mut state, ':');
    typed(&mut state, "ctx");
    assert_eq!(press(&mut state, KeyCode::Enter), vec![Effect::ListChoices]);
    let text = screen(&state);
    assert!(text.contains("● fluxdeck-demo  (in use)"), "{text}");
    assert!(text.contains("│  kind-dev"), "{text}");
}

#[test]
fn theme_loads_through_the_runtime_and_the_loaded_theme_is_used() {
    let mut state = demo(80, 24);
    ch(&mut state, ':');
    typed(&mut state, "theme light");
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Effect::LoadTheme("light".into())]
    );
    let light = Box::new(Theme::embedded("light").unwrap());
    let effects = update(
        &mut state,
        Msg::ThemeLoaded {
            name: "light".into(),
            result: Ok(light.clone()),
        },
    );
    assert_eq!(effects, vec![Effect::UseTheme(light)]);
    assert!(last_line(&state).contains("theme light"));
    // Read-only and ASCII are the session's, not the theme's.
    assert!(state.read_only.is_none() && !state.ascii);
}
