//! Tests for theme loading: built-in themes, user overrides, NO_COLOR and error reports.

use std::io::Write;

use ratatui::style::{Color, Modifier, Style};

use super::*;

const ALL_DIFF: [DiffKind; 7] = [
    DiffKind::Added,
    DiffKind::Removed,
    DiffKind::Changed,
    DiffKind::Context,
    DiffKind::HunkHeader,
    DiffKind::RemovedWord,
    DiffKind::AddedWord,
];

fn ui_styles(t: &Theme) -> Vec<Style> {
    vec![
        t.text(),
        t.title(),
        t.header(),
        t.border(false),
        t.border(true),
        t.selection(),
        t.dim(),
        t.key_hint(),
        t.badge_read_only(),
        t.warning(),
        t.error(),
        t.info(),
        t.stale(),
        t.tree_lines(),
        t.matched(),
    ]
}

fn all_styles(t: &Theme) -> Vec<Style> {
    let mut v = ui_styles(t);
    v.extend(Health::ALL.map(|h| t.state(h)));
    v.extend(ALL_DIFF.map(|k| t.diff(k)));
    v
}

#[test]
fn every_builtin_theme_loads_and_is_complete_on_its_own_chain() {
    for name in Theme::embedded_names() {
        let theme = Theme::load(Some(name), false).unwrap();
        assert_eq!(theme.name(), name);
        // Problem states must not look like Ready in any theme.
        for h in Health::ALL.into_iter().filter(|h| h.is_problem()) {
            assert_ne!(theme.state(h), theme.state(Health::Ready), "{name}: {h:?}");
        }
        assert_ne!(theme.diff(DiffKind::Added), theme.diff(DiffKind::Removed));
        assert_ne!(theme.border(true), theme.border(false), "{name}");
        assert_ne!(theme.selection(), Style::default(), "{name}");
    }
}

#[test]
fn builtin_themes_without_extends_define_every_slot_themselves() {
    for (name, source) in EMBEDDED {
        let file = ThemeFile::parse(source, name).unwrap();
        if file.extends.is_none() {
            assert!(file.ui.resolve().is_ok(), "{name} ui");
            assert!(file.states.resolve().is_ok(), "{name} states");
            assert!(file.diff.resolve().is_ok(), "{name} diff");
        }
    }
}

#[test]
fn colour_themes_give_each_state_its_own_style() {
    for name in ["dark", "light", "high-contrast"] {
        let theme = Theme::embedded(name).unwrap();
        let styles: Vec<Style> = Health::ALL.map(|h| theme.state(h)).to_vec();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert_ne!(a, b, "{name}: two states share a style");
            }
        }
    }
}

#[test]
fn mono_has_no_colours_only_modifiers() {
    let mono = Theme::embedded("mono").unwrap();
    for style in all_styles(&mono) {
        assert_eq!(style.fg, None);
        assert_eq!(style.bg, None);
    }
    assert!(
        mono.state(Health::Failed)
            .add_modifier
            .contains(Modifier::BOLD)
    );
    assert!(mono.selection().add_modifier.contains(Modifier::REVERSED));
}

#[test]
fn no_color_selects_mono_unless_a_theme_is_chosen() {
    assert_eq!(Theme::load(None, true).unwrap().name(), "mono");
    assert_eq!(Theme::load(None, false).unwrap().name(), "dark");
    assert_eq!(Theme::load(Some("light"), true).unwrap().name(), "light");
    assert!(no_color_requested(Some(std::ffi::OsStr::new("1"))));
    assert!(!no_color_requested(Some(std::ffi::OsStr::new(""))));
    assert!(!no_color_requested(None));
}

#[test]
fn partial_override_keeps_the_rest_of_the_base() {
    let dark = Theme::embedded("dark").unwrap();
    let text = "states:\n  failed: { fg: \"#ff00ff\", modifiers: [underlined] }\n";
    let t = Theme::from_user_yaml("mine", "mine.yaml", text).unwrap();
    assert_eq!(
        t.state(Health::Failed),
        Style::default()
            .fg(Color::Rgb(255, 0, 255))
            .add_modifier(Modifier::UNDERLINED)
    );
    assert_eq!(t.state(Health::Ready), dark.state(Health::Ready));
    assert_eq!(t.title(), dark.title());
    assert_eq!(t.diff(DiffKind::Added), dark.diff(DiffKind::Added));
    assert_eq!(t.name(), "mine");
}

#[test]
fn override_can_extend_another_builtin_and_use_indices() {
    let light = Theme::embedded("light").unwrap();
    let text = "extends: light\nui:\n  title: { fg: 208, bg: reset }\n";
    let t = Theme::from_user_yaml("x", "x.yaml", text).unwrap();
    assert_eq!(
        t.title(),
        Style::default().fg(Color::Indexed(208)).bg(Color::Reset)
    );
    assert_eq!(t.state(Health::Ready), light.state(Health::Ready));
}

#[test]
fn comment_only_file_is_the_base_theme() {
    let t = Theme::from_user_yaml("c", "c.yaml", "# nothing here\n\n").unwrap();
    assert_eq!(
        t.state(Health::Failed),
        Theme::embedded("dark").unwrap().state(Health::Failed)
    );
}

#[test]
fn unknown_colour_names_the_key_the_value_and_the_line() {
    let text = "ui:\n  title: { fg: blue }\nstates:\n  failed: { fg: redd }\n";
    let err = Theme::from_user_yaml("t", "/tmp/t.yaml", text).unwrap_err();
    assert_eq!(err.line(), Some(4));
    let msg = err.to_string();
    assert!(msg.contains("/tmp/t.yaml"), "{msg}");
    assert!(msg.contains("states.failed.fg"), "{msg}");
    assert!(msg.contains("\"redd\""), "{msg}");
    assert!(msg.contains("line 4"), "{msg}");
}

#[test]
fn unquoted_hex_colour_is_an_error_not_silence() {
    // `fg: #ff0000` is a YAML comment, leaving `fg` null.
    let err = Theme::from_user_yaml("t", "t.yaml", "ui:\n  title:\n    fg: #ff0000\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("ui.title.fg"), "{msg}");
    assert!(msg.contains("#rrggbb"), "{msg}");
}

#[test]
fn unknown_keys_and_modifiers_are_errors() {
    let err = Theme::from_user_yaml("t", "t.yaml", "colours:\n  a: red\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `colours`"), "{err}");
    assert_eq!(err.line(), Some(1));

    let err = Theme::from_user_yaml("t", "t.yaml", "states:\n  broken: {}\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `broken`"), "{err}");

    let err =
        Theme::from_user_yaml("t", "t.yaml", "ui:\n  dim: { modifiers: [blink] }\n").unwrap_err();
    assert!(err.to_string().contains("blink"), "{err}");

    let err = Theme::from_user_yaml("t", "t.yaml", "ui:\n  dim: { fg: 300 }\n").unwrap_err();
    assert!(err.to_string().contains("300"), "{err}");
}

#[test]
fn unknown_base_and_unknown_name_are_clear_errors() {
    let err = Theme::from_user_yaml("t", "t.yaml", "extends: solarized\n").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("solarized") && msg.contains("dark, light"),
        "{msg}"
    );

    let err = Theme::load(Some("solarized"), false).unwrap_err();
    assert!(matches!(err, ThemeError::Unknown { .. }), "{err}");
}

#[test]
fn theme_file_on_disk_loads_and_missing_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ocean.yaml");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "diff:\n  added: {{ fg: lightgreen }}").unwrap();
    drop(f);
    let t = Theme::load(path.to_str(), true).unwrap();
    assert_eq!(t.name(), "ocean");
    assert_eq!(
        t.diff(DiffKind::Added),
        Style::default().fg(Color::LightGreen)
    );

    let missing = dir.path().join("absent.yaml");
    let err = Theme::load(missing.to_str(), false).unwrap_err();
    assert!(matches!(err, ThemeError::Read { .. }), "{err}");
    assert!(err.to_string().contains("absent.yaml"), "{err}");
}
