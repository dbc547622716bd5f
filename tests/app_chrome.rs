//! The screen's chrome answers at a glance: the help screen's legend of states, header
//! counts that carry their word, a hint bar that keeps `? help` and `q quit` and shows the
//! current view's keys, and a header that stays calm through a short reconnect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::KeyCode;
use fluxdeck::app::help;
use fluxdeck::app::keys::View;
use fluxdeck::app::msg::{Msg, WatchScope, WatchStatus};
use fluxdeck::app::state::{AppInit, AppState, Overlay};
use fluxdeck::app::text::wrap;
use fluxdeck::app::update;
use fluxdeck::domain::flux::FluxKind;
use fluxdeck::domain::health::Health;
use fluxdeck::theme::Theme;
use insta::assert_snapshot;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

mod app_support;
use app_support::*;

fn help_texts(state: &AppState) -> Vec<String> {
    help::lines(state).iter().map(|l| l.text()).collect()
}

/// The legend line of a state: its glyph and word, then its ASCII glyph and theme slot.
fn legend_line<'a>(help: &'a [String], h: Health, glyph: &str) -> &'a str {
    help.iter()
        .find(|l| l.trim_start().starts_with(&format!("{glyph} {}", h.word())))
        .unwrap_or_else(|| panic!("no legend line for {}: {help:#?}", h.word()))
}

#[test]
fn help_starts_with_a_legend_of_every_state() {
    let mut state = demo(80, 24);
    ch(&mut state, '?');
    let help = help_texts(&state);
    let keys_at = help
        .iter()
        .position(|l| l.contains("Keys (from the keymap"))
        .expect("the keys");
    for h in Health::ALL {
        let line = legend_line(&help, h, h.glyph());
        let at = help.iter().position(|l| l == line).unwrap();
        assert!(at < keys_at, "the legend comes first: {help:#?}");
        let rest = line
            .trim_start()
            .trim_start_matches(&format!("{} {}", h.glyph(), h.word()));
        let mut cells = rest.split_whitespace();
        assert_eq!(cells.next(), Some(h.ascii_glyph()), "{line}");
        assert_eq!(
            cells.next(),
            Some(format!("states.{}", h.word().to_lowercase()).as_str()),
            "{line}"
        );
    }
    // Drawn in the state's colour: the glyph cell of each legend row has the theme's style.
    let theme = Theme::embedded("dark").unwrap();
    let buf = buffer(&state, "dark");
    let text = text_of(&buf);
    for h in Health::ALL {
        let Some((y, row)) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(&format!("{} {}", h.glyph(), h.word())))
        else {
            continue; // below the first page
        };
        let x = row
            .chars()
            .position(|c| c.to_string() == h.glyph())
            .unwrap();
        let cell = &buf[(x as u16, y as u16)];
        assert_eq!(cell.fg, theme.state(h).fg.unwrap(), "{}: {row}", h.word());
    }
    assert!(text.contains("✓ Ready       +  states.ready"), "{text}");

    // In ASCII mode the legend shows the ASCII glyphs, and nothing else.
    let mut ascii = demo_with(AppInit {
        ascii: true,
        ..init(80, 24)
    });
    ch(&mut ascii, '?');
    let help = help_texts(&ascii);
    for h in Health::ALL {
        legend_line(&help, h, h.ascii_glyph());
    }
    assert!(screen(&ascii).is_ascii(), "{}", screen(&ascii));
}

#[test]
fn help_lists_n_and_n_and_wraps_indented_at_80_columns() {
    let mut state = demo(80, 24);
    ch(&mut state, '?');
    let help = help_texts(&state);
    for (key, id) in [("n ", "next-match"), ("N ", "prev-match")] {
        assert!(
            help.iter()
                .any(|l| l.trim_start().starts_with(key) && l.contains(id)),
            "{id}: {help:#?}"
        );
    }
    assert!(
        help.iter().any(|l| l.contains("YAML view: search")),
        "/ is named as the YAML view's search: {help:#?}"
    );
    // Every line that wraps at the pane's width (80 columns less the borders) continues
    // indented, never back at the first column.
    for line in help::lines(&state) {
        for row in wrap(&line, 78).iter().skip(1) {
            let text: String = row.iter().map(|s| s.text.as_str()).collect();
            assert!(
                text.starts_with("  "),
                "{:?} continues at column 0: {text:?}",
                line.text()
            );
        }
    }
    let text = screen(&state);
    assert_snapshot!("help_legend_80x24", text);
}

/// The header's second line.
fn counts_line(state: &AppState) -> String {
    screen(state).lines().nth(1).unwrap().to_string()
}

#[test]
fn header_counts_carry_words_when_wide_and_glyphs_below_100_columns() {
    let wide = demo(120, 40);
    let line = counts_line(&wide);
    let mut shown = 0;
    for h in Health::ALL {
        let n = wide.flux_counts.get(h);
        if n == 0 {
            continue;
        }
        shown += 1;
        let want = format!("{} {n} {}", h.glyph(), h.word().to_lowercase());
        assert!(line.contains(&want), "{want}: {line}");
    }
    assert!(shown >= 3, "{line}");
    assert!(line.contains("connected"), "{line}");

    let narrow = demo(80, 24);
    let line = counts_line(&narrow);
    for h in Health::ALL {
        let n = narrow.flux_counts.get(h);
        if n == 0 {
            continue;
        }
        assert!(line.contains(&format!("{} {n}", h.glyph())), "{line}");
        assert!(
            !line.contains(&format!("{n} {}", h.word().to_lowercase())),
            "{line}"
        );
    }
    // ASCII: the same words after the ASCII glyphs.
    let ascii = demo_with(AppInit {
        ascii: true,
        ..init(120, 40)
    });
    let line = counts_line(&ascii);
    let n = ascii.flux_counts.get(Health::Ready);
    assert!(line.contains(&format!("+ {n} ready")), "{line}");
}

/// The bottom line.
fn hint_bar(state: &AppState) -> String {
    screen(state).lines().last().unwrap().to_string()
}

/// Open a view from the tree (with staging/redis selected) and check the hint bar.
fn hints_in(open: &[char], view: View) -> String {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    for c in open {
        match c {
            '\r' => press(&mut state, KeyCode::Enter),
            c => ch(&mut state, *c),
        };
    }
    assert_eq!(state.key_view(), view, "{open:?}");
    state.flash = None;
    hint_bar(&state)
}

#[test]
fn hint_bar_keeps_help_and_quit_at_80_columns_in_every_view() {
    let views: [(&[char], View, &[&str]); 7] = [
        (&[], View::Tree, &["enter details", "/ filter"]),
        (&['\r'], View::Details, &["esc back"]),
        (&['w'], View::Why, &["esc back", "w why"]),
        (&['y'], View::Yaml, &["/ search", "esc back"]),
        (&['v'], View::Diff, &["n next change", "space unfold"]),
        (&['H'], View::History, &["space mark", "d diff values"]),
        (&['?'], View::Help, &["esc back"]),
    ];
    for (open, view, want) in views {
        let bar = hints_in(open, view);
        assert!(bar.chars().count() <= 80, "{view:?}: {bar}");
        for w in want.iter().chain(&["? help", "q quit"]) {
            assert!(bar.contains(w), "{view:?}: {w} missing from {bar:?}");
        }
    }
    // Problems mode: `p` now brings every object back.
    let bar = hints_in(&['p'], View::Tree);
    assert!(bar.contains("p all objects"), "{bar}");
    assert!(bar.contains("? help") && bar.contains("q quit"), "{bar}");
    // A dialog: only its keys, and quitting (help does not open over it).
    let bar = hints_in(&['T'], View::Confirm);
    assert!(
        bar.contains("enter ok") && bar.contains("esc cancel"),
        "{bar}"
    );
    assert!(bar.contains("q quit") && !bar.contains("? help"), "{bar}");
}

#[test]
fn the_yaml_views_slash_is_search_and_n_steps_through_matches() {
    let mut state = demo(160, 48);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    ch(&mut state, 'y');
    let bar = hint_bar(&state);
    assert!(bar.contains("/ search"), "{bar}");
    assert!(!bar.contains("filter"), "{bar}");
    // n with no search says how to search, instead of doing nothing.
    ch(&mut state, 'n');
    let flash = state.flash.as_ref().expect("a flash").text.clone();
    assert!(flash.contains("/ searches"), "{flash}");
    assert!(matches!(state.overlay, Some(Overlay::Yaml(_))));
    state.flash = None;
    // With the YAML loaded and searched, n steps to the next match and is hinted.
    let key = state.selected_key().unwrap().clone();
    let yaml = "spec:\n  install:\n    remediation:\n      retries: 3\n  upgrade:\n    remediation:\n      retries: 3\n";
    update(
        &mut state,
        Msg::Yaml {
            key,
            result: Ok(yaml.into()),
        },
    );
    ch(&mut state, '/');
    typed(&mut state, "retries");
    press(&mut state, KeyCode::Enter);
    let bar = hint_bar(&state);
    assert!(bar.starts_with(" / search  n next match"), "{bar}");
    let current = |s: &AppState| match &s.overlay {
        Some(Overlay::Yaml(y)) => y.current,
        _ => panic!("no YAML view"),
    };
    let first = current(&state);
    ch(&mut state, 'n');
    assert_ne!(current(&state), first);
    ch(&mut state, 'N');
    assert_eq!(current(&state), first);
}

fn at(seconds: i64) -> Timestamp {
    ts(NOW) + SignedDuration::from_secs(seconds)
}

fn reconnecting(
    kind: &str,
    since: Timestamp,
) -> std::collections::BTreeMap<WatchScope, WatchStatus> {
    let mut health = connected();
    health.insert(
        WatchScope {
            kind: kind.into(),
            namespace: None,
        },
        WatchStatus::Reconnecting {
            since,
            error: "connection reset".into(),
        },
    );
    health
}

#[test]
fn a_short_reconnect_keeps_the_status_and_a_longer_one_names_the_kind() {
    let mut state = demo(120, 40);
    update(&mut state, Msg::Tick(at(0)));
    update(
        &mut state,
        Msg::WatchHealth(reconnecting("HelmRepository", at(0))),
    );
    let line = counts_line(&state);
    assert!(
        line.contains("connected") && !line.contains("reconnecting"),
        "{line}"
    );
    assert!(
        !line.contains("STALE") && !line.contains("connecting…"),
        "{line}"
    );

    // Still within the grace period a second later.
    update(&mut state, Msg::Tick(at(1)));
    let line = counts_line(&state);
    assert!(
        line.contains("connected") && !line.contains("reconnecting"),
        "{line}"
    );

    // After it: the header says which kind and since when, and redraws to say so.
    state.mark_drawn();
    update(&mut state, Msg::Tick(at(2)));
    assert!(state.needs_redraw(), "the grace ending is visible");
    let line = counts_line(&state);
    assert!(
        line.contains("reconnecting since 2s: connection reset (HelmRepository)"),
        "{line}"
    );

    // Back within the grace period: connected again, nothing else said.
    update(&mut state, Msg::WatchHealth(connected()));
    let line = counts_line(&state);
    assert!(
        line.contains("connected") && !line.contains("reconnecting"),
        "{line}"
    );
}

#[test]
fn a_new_watch_connecting_keeps_the_status() {
    let mut state = demo(120, 40);
    let mut health = connected();
    health.insert(
        WatchScope {
            kind: "Deployment".into(),
            namespace: Some("staging".into()),
        },
        WatchStatus::Connecting,
    );
    update(&mut state, Msg::WatchHealth(health));
    let line = counts_line(&state);
    assert!(line.contains("connected"), "{line}");
    assert!(!line.contains("connecting…"), "{line}");
    // At the start, with nothing connected yet, it does say connecting.
    let mut start = AppState::new(init(120, 40));
    let mut health = connected();
    for s in health.values_mut() {
        *s = WatchStatus::Connecting;
    }
    update(&mut start, Msg::WatchHealth(health));
    assert!(counts_line(&start).contains("connecting…"));
}

#[test]
fn y_in_the_history_is_the_yaml_as_help_says() {
    let mut state = demo(80, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    ch(&mut state, 'H');
    assert_eq!(state.key_view(), View::History);
    let effects = ch(&mut state, 'y');
    assert!(
        matches!(state.overlay, Some(Overlay::Yaml(_))),
        "{:?}",
        state.overlay
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, fluxdeck::app::msg::Effect::FetchYaml(_))),
        "{effects:?}"
    );
}
