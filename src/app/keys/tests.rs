//! Tests for the keymap table: parsing, defaults, overrides, read-only mode.

use std::collections::{BTreeMap, HashMap, HashSet};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::*;

fn key(s: &str) -> Key {
    s.parse().unwrap()
}

fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect()))
        .collect()
}

#[test]
fn key_strings_round_trip() {
    for s in [
        "q",
        "G",
        "?",
        "/",
        ":",
        "-",
        "ctrl--",
        "enter",
        "esc",
        "tab",
        "shift-tab",
        "ctrl-c",
        "alt-x",
        "ctrl-alt-delete",
        "f5",
        "f12",
        "pgdn",
        "pgup",
        "home",
        "end",
        "up",
        "space",
        "backspace",
        "insert",
        "ctrl-space",
        "alt-enter",
    ] {
        let k = key(s);
        assert_eq!(k.to_string(), s, "{s}");
        assert_eq!(key(&k.to_string()), k);
    }
}

#[test]
fn key_aliases_normalise() {
    assert_eq!(key("Enter"), key("enter"));
    assert_eq!(key("return"), key("enter"));
    assert_eq!(key("ESCAPE"), key("esc"));
    assert_eq!(key("pagedown"), key("pgdn"));
    assert_eq!(key("backtab"), key("shift-tab"));
    assert_eq!(key("shift-g"), key("G"));
    assert_eq!(key("Control-c"), key("ctrl-c"));
    assert_eq!(key("F5"), Key::new(KeyCode::F(5), KeyModifiers::NONE));
    assert_ne!(key("g"), key("G"));
}

#[test]
fn bad_key_strings_are_errors() {
    assert_eq!("".parse::<Key>(), Err(KeyParseError::Empty));
    assert!(matches!(
        "ctrl-nope".parse::<Key>(),
        Err(KeyParseError::UnknownName(_))
    ));
    assert!(matches!(
        "f99".parse::<Key>(),
        Err(KeyParseError::UnknownName(_))
    ));
    assert_eq!(
        "shift-1".parse::<Key>(),
        Err(KeyParseError::ShiftedSymbol('1'))
    );
}

#[test]
fn events_from_the_terminal_match_their_strings() {
    // Terminals report `G` as Char('G') with Shift, and Shift-Tab as BackTab with Shift.
    let g = Key::from_event(&press(KeyCode::Char('G'), KeyModifiers::SHIFT)).unwrap();
    assert_eq!(g, key("G"));
    let bt = Key::from_event(&press(KeyCode::BackTab, KeyModifiers::SHIFT)).unwrap();
    assert_eq!(bt, key("shift-tab"));
    let mut release = press(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert_eq!(Key::from_event(&release), None);
}

#[test]
fn table_has_every_action_once_with_unique_ids() {
    let mut ids = HashSet::new();
    let mut actions = HashSet::new();
    for spec in ACTIONS {
        assert!(ids.insert(spec.id), "duplicate id {}", spec.id);
        assert!(actions.insert(spec.action), "duplicate {:?}", spec.action);
        assert_eq!(Action::from_id(spec.id), Some(spec.action));
        assert!(!spec.default_keys.is_empty(), "{} has no key", spec.id);
        assert!(spec.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
    }
    for id in [
        "up",
        "down",
        "top",
        "bottom",
        "collapse",
        "expand",
        "toggle",
        "page-up",
        "page-down",
        "open-details",
        "focus-next",
        "filter",
        "command",
        "help",
        "back",
        "yaml",
        "reconcile",
        "suspend-resume",
        "rollback",
        "values-diff",
        "drift-diff",
        "history",
        "why",
        "problems",
        "quit",
        "next-change",
        "prev-change",
        "expand-fold",
        "expand-all",
        "toggle-unified",
        "scroll-left",
        "scroll-right",
        "next-doc",
        "prev-doc",
        "alternate",
        "mark-revision",
        "diff-values",
        "diff-manifests",
    ] {
        assert!(Action::from_id(id).is_some(), "missing {id}");
    }
    let dangerous: Vec<&str> = ACTIONS
        .iter()
        .filter(|s| s.dangerous)
        .map(|s| s.id)
        .collect();
    assert_eq!(dangerous, ["reconcile", "suspend-resume", "rollback"]);
}

#[test]
fn defaults_parse_and_never_clash_within_a_view() {
    let (km, warnings) = Keymap::new(&BTreeMap::new(), false);
    assert!(warnings.is_empty(), "{warnings:?}");
    for view in View::ALL {
        let mut seen: HashMap<Key, Action> = HashMap::new();
        for spec in ACTIONS.iter().filter(|s| view.layers().contains(&s.layer)) {
            for k in km.keys(spec.action) {
                if view.is_text_input() && k.is_text() {
                    continue;
                }
                if let Some(other) = seen.insert(*k, spec.action) {
                    panic!("{view:?}: {k} bound to {other} and {}", spec.action);
                }
            }
        }
    }
}

#[test]
fn default_bindings_dispatch_as_documented() {
    let km = Keymap::default();
    let at = |view, s: &str| km.lookup_key(view, key(s));
    assert_eq!(at(View::Tree, "j"), Some(Action::Down));
    assert_eq!(at(View::Tree, "down"), Some(Action::Down));
    assert_eq!(at(View::Tree, "G"), Some(Action::Bottom));
    assert_eq!(at(View::Tree, "enter"), Some(Action::OpenDetails));
    assert_eq!(at(View::Tree, "R"), Some(Action::Reconcile));
    assert_eq!(at(View::Tree, "ctrl-c"), Some(Action::Quit));
    assert_eq!(at(View::Tree, "esc"), Some(Action::Back));
    assert_eq!(at(View::Details, "h"), None);
    assert_eq!(at(View::Help, "R"), None);
    assert_eq!(at(View::Confirm, "y"), Some(Action::Accept));
    assert_eq!(at(View::Confirm, "esc"), Some(Action::Cancel));
    // In the filter prompt, characters are text.
    assert_eq!(at(View::Filter, "q"), None);
    assert_eq!(at(View::Filter, "y"), None);
    assert_eq!(at(View::Filter, "enter"), Some(Action::Accept));
    assert_eq!(at(View::Filter, "ctrl-c"), Some(Action::Quit));
    let ev = press(KeyCode::Char('?'), KeyModifiers::NONE);
    assert_eq!(km.lookup(View::Tree, &ev), Some(Action::Help));
}

#[test]
fn overrides_replace_the_defaults_of_an_action() {
    let (km, warnings) = Keymap::new(&overrides(&[("reconcile", &["ctrl-r", "f5"])]), false);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        km.lookup_key(View::Tree, key("ctrl-r")),
        Some(Action::Reconcile)
    );
    assert_eq!(
        km.lookup_key(View::Tree, key("f5")),
        Some(Action::Reconcile)
    );
    assert_eq!(km.lookup_key(View::Tree, key("R")), None);
    assert_eq!(km.keys(Action::Reconcile), [key("ctrl-r"), key("f5")]);
}

#[test]
fn override_taking_a_default_key_moves_it_with_a_warning() {
    let (km, warnings) = Keymap::new(&overrides(&[("why", &["j"])]), false);
    assert_eq!(km.lookup_key(View::Tree, key("j")), Some(Action::Why));
    assert_eq!(km.lookup_key(View::Tree, key("down")), Some(Action::Down));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("instead of down"), "{warnings:?}");
}

#[test]
fn two_overrides_on_one_key_keep_the_first() {
    let (km, warnings) = Keymap::new(&overrides(&[("history", &["x"]), ("why", &["x"])]), false);
    assert_eq!(km.lookup_key(View::Tree, key("x")), Some(Action::History));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("keymap.why") && w.contains("already bound to history")),
        "{warnings:?}"
    );
}

#[test]
fn bad_entries_become_warnings() {
    let (km, warnings) = Keymap::new(
        &overrides(&[
            ("frobnicate", &["x"]),
            ("quit", &["ctrl-nope", "Q"]),
            ("why", &["alt-???"]),
        ]),
        false,
    );
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("\"frobnicate\"")));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("keymap.quit") && w.contains("ctrl-nope"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("keymap.why") && w.contains("keeping the defaults"))
    );
    // The good key of `quit` applies; `why` keeps its default.
    assert_eq!(km.lookup_key(View::Tree, key("Q")), Some(Action::Quit));
    assert_eq!(km.lookup_key(View::Tree, key("q")), None);
    assert_eq!(km.lookup_key(View::Tree, key("w")), Some(Action::Why));
}

#[test]
fn empty_override_unbinds() {
    let (km, warnings) = Keymap::new(&overrides(&[("problems", &[])]), false);
    assert!(warnings.is_empty());
    assert_eq!(km.lookup_key(View::Tree, key("p")), None);
    let row = km
        .help_rows()
        .into_iter()
        .find(|r| r.action == "problems")
        .unwrap();
    assert_eq!(row.keys, "");
}

#[test]
fn read_only_drops_dangerous_actions_from_dispatch_and_hints() {
    // Also with the user's own keys for them: read-only does not depend on the bindings.
    let user = overrides(&[("reconcile", &["ctrl-r", "R"]), ("suspend-resume", &["f9"])]);
    for bindings in [BTreeMap::new(), user] {
        let (km, warnings) = Keymap::new(&bindings, true);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(km.read_only());
        let (rw, _) = Keymap::new(&bindings, false);
        let dangerous: Vec<&ActionSpec> = ACTIONS.iter().filter(|s| s.dangerous).collect();
        assert!(dangerous.iter().any(|s| s.action == Action::Reconcile));
        assert!(dangerous.iter().any(|s| s.action == Action::SuspendResume));
        for spec in &dangerous {
            assert!(!km.is_available(spec.action), "{}", spec.id);
            let keys = rw.keys(spec.action);
            assert!(!keys.is_empty(), "{} has keys when writable", spec.id);
            assert_eq!(
                km.keys(spec.action),
                keys,
                "the keys stay known (for the notice)"
            );
            for view in View::ALL {
                for k in keys {
                    let got = km.lookup_key(view, *k);
                    assert!(
                        got.is_none_or(|a| !a.is_dangerous()),
                        "{view:?}: {k} dispatches {got:?} in read-only"
                    );
                }
                let labels: Vec<&str> = km.hints(view).iter().map(|(_, l)| *l).collect();
                if let Some(hint) = spec.hint {
                    assert!(!labels.contains(&hint), "{view:?} hints {hint}");
                }
            }
            // Writable: the same keys do dispatch the action in the tree.
            assert!(
                keys.iter()
                    .any(|k| rw.lookup_key(View::Tree, *k) == Some(spec.action)),
                "{} does not dispatch when writable",
                spec.id
            );
        }
        assert_eq!(
            km.lookup_key(View::Tree, key("v")),
            Some(Action::ValuesDiff)
        );
        // Help lists what this version carries out, the writes as unavailable.
        let rows = km.help_rows();
        let built = ACTIONS.iter().filter(|s| s.action.is_built()).count();
        assert_eq!(rows.len(), built);
        for id in ["reconcile", "suspend-resume"] {
            let row = rows.iter().find(|r| r.action == id).unwrap();
            assert!(!row.available, "{id}");
        }
        assert!(
            rows.iter()
                .filter(|r| !r.available)
                .all(|r| { Action::from_id(r.action).is_some_and(Action::is_dangerous) })
        );
        assert!(rows.iter().any(|r| r.action == "why" && r.available));
    }

    let (rw, _) = Keymap::new(&BTreeMap::new(), false);
    assert!(rw.help_rows().iter().all(|r| r.available));
    let tree = rw.hints(View::Tree);
    assert!(tree.contains(&("R".to_string(), "reconcile")));
    assert!(tree.contains(&("T".to_string(), "suspend")));
    assert!(tree.contains(&("w".to_string(), "why")));
}

#[test]
fn dialogs_hint_only_their_own_keys() {
    let km = Keymap::default();
    let labels: Vec<&str> = km.hints(View::Confirm).iter().map(|(_, l)| *l).collect();
    assert_eq!(labels, ["ok", "cancel", "quit"]);
}

#[test]
fn hints_show_only_keys_that_work_in_the_view() {
    let km = Keymap::default();
    let tree = km.hints(View::Tree);
    assert_eq!(tree.first(), Some(&("enter".to_string(), "details")));
    assert!(tree.contains(&("?".to_string(), "help")));
    assert!(tree.contains(&("q".to_string(), "quit")));
    let filter = km.hints(View::Filter);
    assert!(filter.contains(&("enter".to_string(), "ok")));
    assert!(filter.contains(&("esc".to_string(), "cancel")));
    // `q` is text in the filter prompt, so quit is hinted by its other key.
    assert!(filter.contains(&("ctrl-c".to_string(), "quit")));
    assert!(filter.iter().all(|(_, l)| *l != "help" && *l != "details"));
}

#[test]
fn help_rows_are_grouped_by_layer() {
    let rows = Keymap::default().help_rows();
    let layers: Vec<Layer> = rows.iter().map(|r| r.layer).collect();
    let mut sorted = layers.clone();
    sorted.sort();
    assert_eq!(layers, sorted);
    let quit = rows.iter().find(|r| r.action == "quit").unwrap();
    assert_eq!(quit.keys, "q, ctrl-c");
    assert_eq!(quit.layer.title(), "Global");
}

mod roundtrip {
    use proptest::prelude::*;

    use super::*;

    fn any_code() -> impl Strategy<Value = KeyCode> {
        prop_oneof![
            // Whitespace other than the space key (e.g. U+00A0) has no spelling in the config
            // file: key names are trimmed.
            any::<char>()
                .prop_filter("printable", |c| !c.is_control()
                    && (*c == ' ' || !c.is_whitespace()))
                .prop_map(KeyCode::Char),
            (1u8..=24).prop_map(KeyCode::F),
            prop::sample::select(vec![
                KeyCode::Enter,
                KeyCode::Esc,
                KeyCode::Tab,
                KeyCode::BackTab,
                KeyCode::Backspace,
                KeyCode::Delete,
                KeyCode::Insert,
                KeyCode::Home,
                KeyCode::End,
                KeyCode::PageUp,
                KeyCode::PageDown,
                KeyCode::Up,
                KeyCode::Down,
                KeyCode::Left,
                KeyCode::Right,
            ]),
        ]
    }

    proptest! {
        #[test]
        fn printed_keys_parse_back(code in any_code(), ctrl: bool, alt: bool, shift: bool) {
            let mut m = KeyModifiers::NONE;
            m.set(KeyModifiers::CONTROL, ctrl);
            m.set(KeyModifiers::ALT, alt);
            m.set(KeyModifiers::SHIFT, shift);
            let k = Key::new(code, m);
            let printed = k.to_string();
            prop_assert_eq!(printed.parse::<Key>(), Ok(k), "{}", printed);
        }
    }
}

#[test]
fn every_action_variant_has_a_table_row() {
    use Action::*;
    let all = [
        Up,
        Down,
        Top,
        Bottom,
        PageUp,
        PageDown,
        Back,
        Collapse,
        Expand,
        Toggle,
        ColumnHeaders,
        OpenDetails,
        Yaml,
        Reconcile,
        SuspendResume,
        Rollback,
        ValuesDiff,
        DriftDiff,
        History,
        Why,
        Accept,
        Cancel,
        NextChange,
        PrevChange,
        ScrollLeft,
        ScrollRight,
        ExpandFold,
        ExpandAll,
        ToggleUnified,
        NextDoc,
        PrevDoc,
        Alternate,
        MarkRevision,
        DiffValues,
        DiffManifests,
        NextLink,
        PrevLink,
        FollowLink,
        NextMatch,
        PrevMatch,
        Filter,
        Command,
        Problems,
        FocusNext,
        FocusPrev,
        Help,
        Redraw,
        SuspendApp,
        Quit,
    ];
    assert_eq!(all.len(), ACTIONS.len());
    for a in all {
        assert!(a.spec().is_some(), "{a:?}");
        assert!(!a.id().is_empty() && !a.description().is_empty());
        assert_eq!(a.to_string(), a.id());
    }
    assert_eq!(Action::all().count(), ACTIONS.len());
}

#[test]
fn the_why_view_selects_and_follows_the_objects_it_names() {
    let km = Keymap::default();
    let at = |view, s: &str| km.lookup_key(view, key(s));
    assert_eq!(at(View::Why, "n"), Some(Action::NextLink));
    assert_eq!(at(View::Why, "N"), Some(Action::PrevLink));
    assert_eq!(at(View::Why, "enter"), Some(Action::FollowLink));
    assert_eq!(at(View::Tree, "enter"), Some(Action::OpenDetails));
    assert_eq!(at(View::Why, "w"), Some(Action::Why));
}

#[test]
fn the_diff_and_history_views_have_their_own_keys() {
    let km = Keymap::default();
    let at = |view, s: &str| km.lookup_key(view, key(s));
    assert_eq!(at(View::Diff, "n"), Some(Action::NextChange));
    assert_eq!(at(View::Diff, "N"), Some(Action::PrevChange));
    assert_eq!(at(View::Diff, "space"), Some(Action::ExpandFold));
    assert_eq!(at(View::Diff, "enter"), Some(Action::ExpandFold));
    assert_eq!(at(View::Diff, "z"), Some(Action::ExpandAll));
    assert_eq!(at(View::Diff, "u"), Some(Action::ToggleUnified));
    assert_eq!(at(View::Diff, "h"), Some(Action::ScrollLeft));
    assert_eq!(at(View::Diff, "right"), Some(Action::ScrollRight));
    assert_eq!(at(View::Diff, "]"), Some(Action::NextDoc));
    assert_eq!(at(View::Diff, "["), Some(Action::PrevDoc));
    assert_eq!(at(View::Diff, "c"), Some(Action::Alternate));
    assert_eq!(at(View::Diff, "esc"), Some(Action::Back));
    assert_eq!(at(View::Diff, "j"), Some(Action::Down));
    assert_eq!(at(View::History, "space"), Some(Action::MarkRevision));
    assert_eq!(at(View::History, "d"), Some(Action::DiffValues));
    assert_eq!(at(View::History, "m"), Some(Action::DiffManifests));
    // Elsewhere they mean what they meant.
    assert_eq!(at(View::Tree, "space"), Some(Action::Toggle));
    assert_eq!(at(View::Tree, "h"), Some(Action::Collapse));
    assert_eq!(at(View::Tree, "n"), None);
    assert_eq!(at(View::History, "n"), None);
    let hints: Vec<&str> = km.hints(View::Diff).iter().map(|(_, l)| *l).collect();
    for want in ["next change", "unfold", "unified", "next doc"] {
        assert!(hints.contains(&want), "{hints:?}");
    }
    let hints = km.hints(View::History);
    assert!(hints.contains(&("space".to_string(), "mark")), "{hints:?}");
    assert!(
        hints.contains(&("d".to_string(), "diff values")),
        "{hints:?}"
    );
    // Every listed action is carried out.
    assert!(
        km.help_rows()
            .iter()
            .all(|r| Action::from_id(r.action).is_some_and(Action::is_built))
    );
    assert!(
        km.help_rows()
            .iter()
            .any(|r| r.layer.title() == "Diff view")
    );
}
