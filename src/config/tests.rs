//! Tests for the config file: paths, defaults, errors with lines, read-only reasons.

use std::ffi::OsString;
use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(text, Path::new("/etc/fx/config.yaml"))
}

#[test]
fn full_file_parses() {
    let c = parse(
        "# my settings\ntheme: light\nreadOnly: false\nreadOnlyContexts: [prod-*, 'arn:aws:eks:*:cluster/live']\nascii: true\nkeymap:\n  reconcile: [ctrl-r, f5]\n  quit: Q\n  problems: []\n",
    )
    .unwrap();
    assert_eq!(c.theme.as_deref(), Some("light"));
    assert!(!c.read_only);
    assert!(c.ascii);
    assert_eq!(c.keymap["reconcile"], ["ctrl-r", "f5"]);
    assert_eq!(c.keymap["quit"], ["Q"]);
    assert!(c.keymap["problems"].is_empty());
    assert_eq!(c.source.as_deref(), Some(Path::new("/etc/fx/config.yaml")));
    assert_eq!(c.read_only_contexts.len(), 2);
}

#[test]
fn empty_or_comment_only_file_is_defaults() {
    for text in ["", "# nothing\n", "\n\n"] {
        let c = parse(text).unwrap();
        assert!(c.theme.is_none() && !c.read_only && c.keymap.is_empty());
    }
}

#[test]
fn unknown_field_is_an_error_with_file_and_line() {
    let err = parse("theme: dark\nreadonly: true\n").unwrap_err();
    assert_eq!(err.line(), Some(2));
    let msg = err.to_string();
    assert!(msg.starts_with("/etc/fx/config.yaml: "), "{msg}");
    assert!(msg.contains("unknown field `readonly`"), "{msg}");
    assert!(msg.contains("readOnly"), "{msg}");
}

#[test]
fn wrong_types_and_bad_globs_are_errors() {
    let err = parse("readOnly: maybe\n").unwrap_err();
    assert!(err.to_string().contains("readOnly"), "{err}");

    let err = parse("readOnlyContexts:\n  - ok-*\n  - 'prod-[x'\n").unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.line(), Some(3));
    assert!(msg.contains("bad glob \"prod-[x\""), "{msg}");

    let err = parse("keymap:\n  quit: { a: b }\n").unwrap_err();
    assert!(err.to_string().contains("keymap.quit"), "{err}");
}

#[test]
fn missing_explicit_file_is_an_error_and_missing_default_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("nope.yaml");
    let err = Config::load(Some(&absent)).unwrap_err();
    assert!(matches!(err, ConfigError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("nope.yaml"));

    let c = Config::read(&absent, false).unwrap();
    assert!(c.source.is_none());
}

#[test]
fn explicit_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, "readOnly: true\ntheme: themes/ocean.yaml\n").unwrap();
    let c = Config::load(Some(&path)).unwrap();
    assert!(c.read_only);
    // A theme file is relative to the config file.
    let expected = dir.path().join("themes/ocean.yaml");
    assert_eq!(c.theme.as_deref(), expected.to_str());
}

#[test]
fn theme_paths_resolve() {
    let cfg = Path::new("/c/fluxdeck");
    let home = Path::new("/home/u");
    assert_eq!(resolve_theme_path("mono", Some(cfg), Some(home)), "mono");
    assert_eq!(
        resolve_theme_path("sea.yaml", Some(cfg), Some(home)),
        "/c/fluxdeck/sea.yaml"
    );
    assert_eq!(
        resolve_theme_path("~/t/sea.yaml", Some(cfg), Some(home)),
        "/home/u/t/sea.yaml"
    );
    assert_eq!(
        resolve_theme_path("/abs/sea.yaml", Some(cfg), Some(home)),
        "/abs/sea.yaml"
    );
    // Not a file name: left alone so the theme loader reports an unknown theme.
    assert_eq!(
        resolve_theme_path("solarized", Some(cfg), Some(home)),
        "solarized"
    );
}

#[test]
fn config_path_respects_xdg_config_home() {
    let home = Path::new("/home/u");
    let env = |v: &str| (v == "XDG_CONFIG_HOME").then(|| OsString::from("/xdg/conf"));
    assert_eq!(
        config_path_in(&env, Some(home)).unwrap(),
        Path::new("/xdg/conf/fluxdeck/config.yaml")
    );
    let none = |_: &str| None;
    assert_eq!(
        config_path_in(&none, Some(home)).unwrap(),
        Path::new("/home/u/.config/fluxdeck/config.yaml")
    );
    // A relative XDG value is ignored, as the XDG spec says.
    let relative = |_: &str| Some(OsString::from("conf"));
    assert_eq!(
        config_path_in(&relative, Some(home)).unwrap(),
        Path::new("/home/u/.config/fluxdeck/config.yaml")
    );
    assert_eq!(config_path_in(&none, None), None);
}

#[test]
fn read_only_reasons_in_order() {
    let c = parse("readOnlyContexts: [prod-*, '*-live']\n").unwrap();
    assert_eq!(c.read_only_for(true, "prod-eu"), Some(ReadOnlyReason::Flag));
    assert_eq!(
        c.read_only_for(false, "prod-eu"),
        Some(ReadOnlyReason::Context {
            context: "prod-eu".into(),
            pattern: "prod-*".into()
        })
    );
    let reason = c.read_only_for(false, "shop-live").unwrap();
    assert_eq!(
        reason.to_string(),
        "context \"shop-live\" matches readOnlyContexts pattern \"*-live\""
    );
    assert_eq!(c.read_only_for(false, "staging"), None);

    let all = parse("readOnly: true\n").unwrap();
    assert_eq!(
        all.read_only_for(false, "dev"),
        Some(ReadOnlyReason::Config)
    );
    assert_eq!(Config::default().read_only_for(false, "prod"), None);
}
