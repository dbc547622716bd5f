//! Shared by the app tests: the demo cluster fixture as a `Snapshot`, an `AppState` built
//! from it, keys, and rendering into a `TestBackend`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fluxdeck::app::msg::{Effect, Msg, WatchScope, WatchStatus};
use fluxdeck::app::state::{AppInit, AppState};
use fluxdeck::app::update;
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::domain::tree::Snapshot;
use fluxdeck::theme::Theme;
use fluxdeck::ui;
use k8s_openapi::jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use serde_json::Value;

pub const NOW: &str = "2026-11-22T06:45:00Z";

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn fixture_objects() -> Vec<Value> {
    let text = std::fs::read_to_string("tests/fixtures/app/demo-cluster.yaml").unwrap();
    let list: Value = serde_yaml::from_str(&text).unwrap();
    list["items"].as_array().unwrap().clone()
}

pub fn snapshot_of(objects: Vec<Value>, now: &str) -> Arc<Snapshot> {
    let (snap, errors) = Snapshot::from_objects(objects, ts(now));
    assert!(errors.is_empty(), "{errors:?}");
    Arc::new(snap)
}

pub fn init(cols: u16, rows: u16) -> AppInit {
    AppInit {
        context: "fluxdeck-demo".into(),
        server: "https://127.0.0.1:41234".into(),
        namespace: None,
        read_only: None,
        keymap_overrides: BTreeMap::new(),
        ascii: false,
        now: ts(NOW),
        log_file: Some(PathBuf::from("/home/op/.local/state/fluxdeck/fluxdeck.log")),
        size: (cols, rows),
    }
}

pub fn connected() -> BTreeMap<WatchScope, WatchStatus> {
    FluxKind::ALL
        .iter()
        .map(|k| {
            (
                WatchScope {
                    kind: k.as_str().to_string(),
                    namespace: None,
                },
                WatchStatus::Connected,
            )
        })
        .collect()
}

/// A state with the demo cluster loaded, all watches connected.
pub fn demo_with(init: AppInit) -> AppState {
    let mut state = AppState::new(init);
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    update(&mut state, Msg::WatchHealth(connected()));
    allow_all(&mut state);
    state
}

/// Answer the access reviews of every Flux object in the snapshot: the session may patch
/// them (the RBAC tests answer differently).
pub fn allow_all(state: &mut AppState) {
    let keys: Vec<_> = state
        .snapshot
        .as_ref()
        .map(|s| s.flux.keys().cloned().collect())
        .unwrap_or_default();
    use fluxdeck::actions::writer::Permission;
    for key in keys {
        let mut permissions: Vec<Permission> = Permission::patch(&key).into_iter().collect();
        // A rollback also reads and writes the release records in the storage namespace.
        if let Some(hr) = state
            .snapshot
            .as_ref()
            .and_then(|s| s.flux.get(&key))
            .and_then(|o| o.as_helm_release())
        {
            let storage = fluxdeck::domain::flux::storage_namespace(hr);
            permissions.extend(Permission::release_records(&storage));
        }
        for permission in permissions {
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

pub fn demo(cols: u16, rows: u16) -> AppState {
    demo_with(init(cols, rows))
}

pub fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ch(state: &mut AppState, c: char) -> Vec<Effect> {
    press(state, KeyCode::Char(c))
}

pub fn typed(state: &mut AppState, text: &str) {
    for c in text.chars() {
        ch(state, c);
    }
}

pub fn buffer(state: &AppState, theme: &str) -> Buffer {
    let (cols, rows) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    let theme = Theme::embedded(theme).unwrap();
    terminal.draw(|f| ui::view(state, &theme, f)).unwrap();
    terminal.backend().buffer().clone()
}

pub fn text_of(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn screen(state: &AppState) -> String {
    text_of(&buffer(state, "dark"))
}

/// Select the first row whose object has this kind, namespace and name.
pub fn select(state: &mut AppState, kind: FluxKind, ns: &str, name: &str) {
    let want = ObjectKey::flux(kind, ns, name);
    press(state, KeyCode::Home);
    for _ in 0..state.rows.len() {
        if state.selected_key() == Some(&want) {
            return;
        }
        ch(state, 'j');
    }
    panic!("{want} is not visible");
}

/// Whether a fixture object is the HelmRelease `ns/name`.
pub fn is_release(o: &Value, ns: &str, name: &str) -> bool {
    o["kind"] == "HelmRelease" && o["metadata"]["namespace"] == ns && o["metadata"]["name"] == name
}

/// The HelmRelease `ns/name` among fixture objects, to change it.
pub fn release_mut<'a>(objects: &'a mut [Value], ns: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| is_release(o, ns, name))
        .unwrap_or_else(|| panic!("no HelmRelease {ns}/{name} in the fixture"))
}

/// Select the StatefulSet staging/redis-master, a managed object under staging/redis.
pub fn select_redis_statefulset(state: &mut AppState) {
    select(state, FluxKind::HelmRelease, "staging", "redis");
    ch(state, 'l');
    ch(state, 'j');
    ch(state, 'j');
    assert_eq!(
        state.selected_key().unwrap().to_string(),
        "StatefulSet/staging/redis-master"
    );
}

pub fn visible_keys(state: &AppState) -> Vec<String> {
    state
        .rows
        .iter()
        .filter_map(|r| state.node_of(r))
        .filter_map(|n| n.key.as_ref().map(ToString::to_string))
        .collect()
}
