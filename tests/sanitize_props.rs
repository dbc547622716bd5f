//! Property tests: hostile cluster text (control characters, escape sequences, bidi controls,
//! 10,000-character lines, emoji) through every text renderer (tree, status, why; text and
//! JSON) and the TUI. Nothing panics, no control or bidi character reaches the output, JSON
//! parses back to the same data, and the screen's lines keep their width.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "app_support/mod.rs"]
mod app_support;

use std::sync::Arc;

use app_support::*;
use crossterm::event::KeyCode;
use fluxdeck::app::msg::{EventRow, Msg, WatchScope, WatchStatus};
use fluxdeck::app::update;
use fluxdeck::domain::deps;
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::domain::report::{self, TextOptions};
use fluxdeck::domain::text::{is_unsafe_char, json_text};
use fluxdeck::domain::tree::{self, Snapshot};
use proptest::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::text::Span;
use serde_json::Value;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\u{1b}]0;pwned\u{7}".to_string()),
        Just("\u{1b}]8;;http://evil\u{1b}\\link\u{1b}]8;;\u{1b}\\".to_string()),
        Just("\u{1b}[2J".to_string()),
        Just("\u{1b}[1;31m".to_string()),
        Just("\u{1b}P+q\u{1b}\\".to_string()),
        Just("\u{9b}2J".to_string()),
        Just("\u{1b}".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{2066}".to_string()),
        Just("\u{200f}".to_string()),
        Just("\r\n".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just("\u{0}\u{7}\u{8}\u{7f}\u{85}".to_string()),
        Just("😀👩‍👩‍👧".to_string()),
        Just("עברית العربية".to_string()),
        Just("e\u{301}".to_string()),
        any::<char>().prop_map(String::from),
        "[a-z :.-]{0,12}",
    ]
}

/// Cluster text an attacker (or a broken controller) could write.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(piece(), 0..10).prop_map(|v| v.concat()),
        1 => (piece(), piece(), 9_990usize..10_010)
            .prop_map(|(a, b, n)| format!("{a}{}{b}", "x".repeat(n))),
    ]
}

/// The demo fixture with hostile text in the staging Flux objects' conditions and
/// revisions, and a hostile name for one object.
fn hostile_objects(message: &str, reason: &str, revision: &str, name: &str) -> Vec<Value> {
    let mut objects = fixture_objects();
    for o in &mut objects {
        let flux = o["kind"] == "HelmRelease" || o["kind"] == "Kustomization";
        if flux && o["metadata"]["namespace"] == "staging" {
            if let Some(conds) = o["status"]["conditions"].as_array_mut() {
                for c in conds {
                    c["message"] = Value::String(message.to_string());
                    c["reason"] = Value::String(reason.to_string());
                }
            }
            o["status"]["lastAppliedRevision"] = Value::String(revision.to_string());
            o["status"]["lastAttemptedRevision"] = Value::String(revision.to_string());
        }
    }
    if let Some(o) = objects
        .iter_mut()
        .find(|o| o["kind"] == "HelmRelease" && o["metadata"]["namespace"] == "default")
    {
        o["metadata"]["name"] = Value::String(name.to_string());
    }
    objects
}

fn snapshot(objects: Vec<Value>) -> Snapshot {
    Snapshot::from_objects(objects, ts(NOW)).0
}

fn assert_clean_text(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| is_unsafe_char(*c) || *c == '\t') {
        panic!("{what}: {c:?} in the output");
    }
}

fn assert_clean_json(what: &str, value: &Value) {
    let text = json_text(value).unwrap();
    if let Some(c) = text.chars().find(|c| *c != '\n' && is_unsafe_char(*c)) {
        panic!("{what}: {c:?} in the JSON");
    }
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value, "{what}: the JSON does not round-trip");
}

/// No control or bidi character in any cell, and no line wider than the screen.
fn assert_clean_screen(what: &str, buf: &Buffer) {
    let area = buf.area;
    for y in 0..area.height {
        let mut x = 0u16;
        while x < area.width {
            let symbol = buf[(x, y)].symbol();
            if let Some(c) = symbol.chars().find(|c| is_unsafe_char(*c)) {
                panic!("{what}: {c:?} in cell ({x}, {y})");
            }
            let w = u16::try_from(Span::raw(symbol).width().max(1)).unwrap();
            assert!(
                x + w <= area.width,
                "{what}: {symbol:?} at ({x}, {y}) overflows a {}-column line",
                area.width
            );
            x += w;
        }
    }
}

fn flux_keys(snap: &Snapshot) -> Vec<ObjectKey> {
    snap.flux.values().map(|o| o.key()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn text_and_json_reports_show_no_control_characters(
        message in hostile(),
        reason in hostile(),
        revision in hostile(),
        name in hostile(),
    ) {
        let snap = snapshot(hostile_objects(&message, &reason, &revision, &name));
        let t = tree::build(&snap);
        for ascii in [false, true] {
            assert_clean_text("tree", &report::tree_text(&t, TextOptions { ascii }));
        }
        assert_clean_json("tree json", &report::tree_json(&t));
        let status = report::status_report(&snap);
        for ascii in [false, true] {
            assert_clean_text("status", &status.text(TextOptions { ascii }));
        }
        assert_clean_json("status json", &status.json());
        let analysis = deps::analyze(&snap);
        for key in flux_keys(&snap) {
            if let Some(why) = analysis.why(&key) {
                assert_clean_text("why", &report::why_text(&why, false));
                assert_clean_text("why ascii", &report::why_text(&why, true));
                assert_clean_json("why json", &report::why_json(&why));
            }
        }
    }

    #[test]
    fn the_tui_shows_no_control_characters(
        message in hostile(),
        reason in hostile(),
        revision in hostile(),
        name in hostile(),
        cols in prop_oneof![Just(80u16), Just(123u16), Just(160u16)],
    ) {
        let mut state = demo_with(init(cols, 30));
        update(
            &mut state,
            Msg::Snapshot(Arc::new(snapshot(hostile_objects(&message, &reason, &revision, &name)))),
        );
        let mut watch = connected();
        watch.insert(
            WatchScope { kind: message.clone(), namespace: Some(name.clone()) },
            WatchStatus::Reconnecting { since: ts(NOW), error: message.clone() },
        );
        update(&mut state, Msg::WatchHealth(watch));
        update(&mut state, Msg::DecodeErrors(vec![message.clone()]));
        assert_clean_screen("tree", &buffer(&state, "dark"));
        ch(&mut state, 'p');
        assert_clean_screen("problems", &buffer(&state, "dark"));
        ch(&mut state, 'p');

        select(&mut state, FluxKind::HelmRelease, "staging", "redis");
        let key = ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis");
        press(&mut state, KeyCode::Enter);
        update(&mut state, Msg::Events {
            key: key.clone(),
            result: Ok(vec![EventRow {
                type_: reason.clone(),
                reason: reason.clone(),
                message: message.clone(),
                count: 3,
                last_seen: Some(ts(NOW)),
                source: name.clone(),
            }]),
        });
        assert_clean_screen("details", &buffer(&state, "dark"));
        press(&mut state, KeyCode::Esc);

        ch(&mut state, 'w');
        assert_clean_screen("why", &buffer(&state, "dark"));
        press(&mut state, KeyCode::Esc);

        ch(&mut state, 'y');
        let yaml = format!("metadata:\n  name: {name}\nstatus:\n  message: {message}\n");
        update(&mut state, Msg::Yaml { key, result: Ok(yaml) });
        assert_clean_screen("yaml", &buffer(&state, "dark"));
    }
}

#[test]
fn a_title_sequence_in_a_message_does_not_reach_the_screen() {
    let message = "install failed \u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}desrever";
    let snap = snapshot(hostile_objects(message, "InstallFailed", "1.0.0", "web"));
    let text = report::status_report(&snap).text(TextOptions::default());
    assert!(text.contains("install failed desrever"), "{text}");
    assert!(!text.contains("pwned"), "{text}");
    let mut state = demo_with(init(160, 40));
    update(&mut state, Msg::Snapshot(Arc::new(snap)));
    let screen = text_of(&buffer(&state, "dark"));
    assert!(screen.contains("install failed desrever"), "{screen}");
    assert!(
        !screen.contains("pwned") && !screen.contains("[2J"),
        "{screen}"
    );
}
