//! The diff view in the app, on the demo cluster fixture: side by side and unified at 80 and
//! 200 columns, with the dark and mono themes and in ASCII (insta snapshots); keys: n/N,
//! folds, unified toggle, horizontal scroll, documents, the alternate set, Esc; the list
//! layout of a drift-like diff; the history view's comparison of two revisions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use crossterm::event::KeyCode;
use fluxdeck::actions::history::HistoryData;
use fluxdeck::app::diff::{DiffContent, DiffView};
use fluxdeck::app::keys::View;
use fluxdeck::app::msg::Msg;
use fluxdeck::app::state::{AppInit, AppState, Overlay};
use fluxdeck::app::update;
use fluxdeck::domain::diff::{DiffDoc, Row};
use fluxdeck::domain::flux::{FluxKind, ObjectKey};
use fluxdeck::domain::helm_history::HistoryRow;
use insta::assert_snapshot;

mod app_support;
use app_support::*;

fn grade_api() -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "apps", "grade-api")
}

const DESIRED: &str = "\
affinity: {}
autoscaling:
  enabled: false
  maxReplicas: 10
  minReplicas: 1
env:
  LOG_LEVEL: debug
  REGION: eu-west-1
  TIMEOUT: 30s
image:
  pullPolicy: IfNotPresent
  repository: ghcr.io/example/grade-api
  tag: 2.4.1
ingress:
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 64m
  enabled: true
  hosts:
  - grades.example.com
nodeSelector: {}
podAnnotations:
  checksum/config: 3f1c9a0d5e7b2c4a6f8e1d3b5a7c9e0f2d4b6a8c0e2f4a6b8d0c2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2
replicaCount: 3
resources:
  limits:
    memory: 512Mi
  requests:
    cpu: 250m
    memory: 256Mi
service:
  port: 8080
  type: ClusterIP
tolerations: []
";

const DEPLOYED: &str = "\
affinity: {}
autoscaling:
  enabled: false
  maxReplicas: 10
  minReplicas: 1
env:
  LOG_LEVEL: info
  REGION: eu-west-1
image:
  pullPolicy: IfNotPresent
  repository: ghcr.io/example/grade-api
  tag: 2.3.0
ingress:
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 64m
  enabled: true
  hosts:
  - grades.example.com
nodeSelector: {}
podAnnotations:
  checksum/config: 9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9
replicaCount: 2
resources:
  limits:
    memory: 512Mi
  requests:
    cpu: 250m
    memory: 256Mi
service:
  port: 8080
  type: ClusterIP
tolerations: []
";

/// The desired values vs the deployed ones, with the origin of each desired line.
fn values_doc() -> DiffDoc {
    let mut doc = DiffDoc::new(
        "values",
        "desired: spec.values + 1 valuesFrom",
        "deployed rev 7",
        DESIRED,
        DEPLOYED,
    );
    doc.line_notes = DEPLOYED
        .lines()
        .map(|l| {
            l.starts_with("  LOG_LEVEL")
                .then(|| "from ConfigMap grade-api-values key values.yaml".to_string())
        })
        .collect();
    doc
}

fn values_view() -> DiffView {
    let computed = DiffDoc::new(
        "computed values",
        "desired, chart defaults coalesced",
        "deployed rev 7, chart defaults coalesced",
        format!("{DESIRED}fullnameOverride: \"\"\n"),
        format!("{DEPLOYED}fullnameOverride: \"\"\n"),
    );
    DiffView::new(
        format!("Values {}", grade_api()),
        vec![values_doc()],
        Some(("computed values".into(), vec![computed])),
    )
    .with_key(grade_api())
}

fn with_diff(init: AppInit, view: DiffView) -> AppState {
    let mut state = demo_with(init);
    state.overlay = Some(Overlay::Diff(view));
    state
}

fn diff(state: &AppState) -> &DiffView {
    match &state.overlay {
        Some(Overlay::Diff(d)) => d,
        other => panic!("not the diff view: {other:?}"),
    }
}

fn ascii(cols: u16, rows: u16) -> AppInit {
    AppInit {
        ascii: true,
        ..init(cols, rows)
    }
}

#[test]
fn side_by_side_at_200_columns() {
    let state = with_diff(init(200, 40), values_view());
    assert_eq!(state.key_view(), View::Diff);
    let text = screen(&state);
    for want in [
        "Values HelmRelease/apps/grade-api",
        "--- desired: spec.values + 1 valuesFrom",
        "+++ deployed rev 7",
        "values: +4 −5 lines",
        "~  LOG_LEVEL: debug",
        "~  LOG_LEVEL: info",
        "-  TIMEOUT: 30s",
        "··· 7 unchanged lines ···",
        "c: computed values",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    // Long lines are cut, not wrapped.
    assert!(!text.contains("f2a4b6c8d0e2"), "{text}");
    assert_snapshot!("diff_side_by_side_200x40", text);
    assert_snapshot!(
        "diff_side_by_side_200x40_mono_styled",
        format!("{:?}", buffer(&state, "mono"))
    );
}

#[test]
fn unified_at_80_columns() {
    let state = with_diff(init(80, 30), values_view());
    let text = screen(&state);
    for want in [
        "-  LOG_LEVEL: debug",
        "+  LOG_LEVEL: info",
        "-  tag: 2.4.1",
        "+  tag: 2.3.0",
        "unified",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    assert_snapshot!("diff_unified_80x30", text);
    assert_snapshot!(
        "diff_unified_80x30_mono_styled",
        format!("{:?}", buffer(&state, "mono"))
    );
}

#[test]
fn u_overrides_the_automatic_form_both_ways() {
    let mut wide = with_diff(init(200, 40), values_view());
    ch(&mut wide, 'u');
    let text = screen(&wide);
    assert!(text.contains("+  LOG_LEVEL: info"), "{text}");
    assert!(!text.contains("~  LOG_LEVEL"), "{text}");
    assert_snapshot!("diff_unified_200x40", text);
    let mut narrow = with_diff(init(80, 30), values_view());
    ch(&mut narrow, 'u');
    let text = screen(&narrow);
    assert!(text.contains("~  LOG_LEVEL: debug"), "{text}");
    assert_snapshot!("diff_side_by_side_80x30", text);
}

#[test]
fn ascii_at_80_and_200_columns_marks_every_change_with_a_character() {
    for (cols, rows, name) in [
        (80, 30, "diff_unified_80x30_ascii"),
        (200, 40, "diff_side_by_side_200x40_ascii"),
    ] {
        let state = with_diff(ascii(cols, rows), values_view());
        let text = screen(&state);
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains(" unchanged lines ..."), "{text}");
        assert!(
            text.contains("~  LOG_LEVEL") || text.contains("-  LOG_LEVEL"),
            "{text}"
        );
        assert!(text.contains("values: +4 -5 lines"), "{text}");
        assert_snapshot!(name, text);
    }
}

/// The status line shows where the cursor is; `n`/`N` go from change to change and the line
/// under the cursor is on screen.
#[test]
fn n_and_shift_n_move_between_changes() {
    let mut state = with_diff(init(200, 40), values_view());
    assert!(screen(&state).contains("4 changes"));
    ch(&mut state, 'n');
    let c = diff(&state).cursor;
    let row = diff(&state).docs()[0].model.row(c.row.unwrap()).unwrap();
    assert_eq!(row, Row::Changed { old: 6, new: 6 }, "LOG_LEVEL");
    // The line under the cursor has a note: it replaces the position line.
    let text = screen(&state);
    assert!(
        text.contains("from ConfigMap grade-api-values key values.yaml"),
        "{text}"
    );
    ch(&mut state, 'n');
    assert!(screen(&state).contains("change 2/4"));
    ch(&mut state, 'n');
    ch(&mut state, 'n');
    assert!(screen(&state).contains("change 4/4"));
    ch(&mut state, 'n');
    let flash = &state.flash.as_ref().unwrap().text;
    assert_eq!(flash, "no change after this one");
    ch(&mut state, 'N');
    assert!(screen(&state).contains("change 3/4"));
}

/// Enter (or space) on a fold shows its lines; `z` shows every folded line.
#[test]
fn folds_expand_under_the_cursor_or_all_at_once() {
    let mut state = with_diff(init(200, 40), values_view());
    press(&mut state, KeyCode::Enter);
    assert_eq!(
        state.flash.as_ref().unwrap().text,
        "not on a fold: move to a ··· line"
    );
    // The last row is the fold over the last 7 lines.
    press(&mut state, KeyCode::End);
    assert!(!screen(&state).contains("tolerations: []"));
    ch(&mut state, ' ');
    let text = screen(&state);
    assert!(!text.contains("··· 7 unchanged lines ···"), "{text}");
    assert!(text.contains("  33  tolerations: []"), "{text}");
    assert!(text.contains("··· 2 unchanged lines ···"), "{text}");
    ch(&mut state, 'z');
    let text = screen(&state);
    assert!(!text.contains("unchanged lines"), "{text}");
    assert!(text.contains("nodeSelector: {}"), "{text}");
    ch(&mut state, 'z');
    assert_eq!(state.flash.as_ref().unwrap().text, "nothing folded");
}

#[test]
fn long_lines_scroll_sideways() {
    let mut state = with_diff(init(200, 40), values_view());
    ch(&mut state, 'z');
    let before = screen(&state);
    assert!(before.contains("checksum/config: 3f1c9a0d"), "{before}");
    for _ in 0..4 {
        ch(&mut state, 'l');
    }
    assert_eq!(diff(&state).hscroll, 32);
    let text = screen(&state);
    assert!(!text.contains("checksum/config"), "{text}");
    assert!(text.contains("from column 33"), "{text}");
    press(&mut state, KeyCode::Left);
    assert_eq!(diff(&state).hscroll, 24);
}

#[test]
fn c_shows_the_alternate_set_and_esc_closes() {
    let mut state = with_diff(init(200, 40), values_view());
    ch(&mut state, 'c');
    let text = screen(&state);
    assert!(text.contains("[computed values]"), "{text}");
    assert!(
        text.contains("+++ deployed rev 7, chart defaults coalesced"),
        "{text}"
    );
    ch(&mut state, 'c');
    assert!(!screen(&state).contains("[computed values]"));
    press(&mut state, KeyCode::Esc);
    assert!(state.overlay.is_none());
}

#[test]
fn the_hint_bar_and_help_list_the_diff_keys() {
    let mut state = with_diff(init(200, 40), values_view());
    let text = screen(&state);
    let hints = text.lines().last().unwrap();
    for want in ["n next change", "space unfold", "u unified", "] next doc"] {
        assert!(hints.contains(want), "{want}: {hints}");
    }
    ch(&mut state, '?');
    let help: Vec<String> = fluxdeck::app::help::lines(&state)
        .iter()
        .map(|l| l.text())
        .collect();
    let section = help.iter().position(|l| l.contains("Diff view"));
    let key = help
        .iter()
        .position(|l| l.contains("diff: go to the next change"));
    assert!(
        matches!((section, key), (Some(s), Some(k)) if s < k),
        "{help:#?}"
    );
}

#[test]
fn loading_and_failure_are_said() {
    let mut state = with_diff(
        init(100, 20),
        DiffView::loading("Drift HelmRelease/apps/grade-api".into())
            .listed()
            .with_key(grade_api()),
    );
    assert!(screen(&state).contains("loading…"));
    if let Some(Overlay::Diff(d)) = state.overlay.as_mut() {
        d.failed("forbidden: cannot get deployments in namespace apps".into());
    }
    let text = screen(&state);
    assert!(
        text.contains("cannot show the diff: forbidden: cannot get deployments"),
        "{text}"
    );
    assert_eq!(
        diff(&state).content,
        DiffContent::Failed("forbidden: cannot get deployments in namespace apps".into())
    );
}

/// A drift-like diff: one document per object, their summary lines on top, the selected
/// object's diff below, the note that the result is approximate.
#[test]
fn the_list_layout_shows_the_objects_and_the_selected_diff() {
    let mut deployment = DiffDoc::new(
        "Deployment/apps/grade-api changed (0 additions, 1 changes, 0 removals)",
        "live",
        "desired (manifest fields only)",
        "spec:\n  replicas: 5\n  template:\n    spec:\n      containers:\n      - image: grade-api:2.3.0\n        name: api\n",
        "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - image: grade-api:2.3.0\n        name: api\n",
    );
    deployment.notes =
        vec!["approximate: dry-run forbidden (compares the fields the manifest sets)".into()];
    let service = DiffDoc::new(
        "Service/apps/grade-api removed",
        "live",
        "desired",
        "",
        "spec:\n  ports:\n  - port: 8080\n",
    );
    let view = DiffView::new(
        "Drift HelmRelease/apps/grade-api".into(),
        vec![deployment, service],
        None,
    )
    .listed()
    .with_key(grade_api());
    let mut state = with_diff(init(120, 24), view);
    let text = screen(&state);
    assert!(
        text.contains(
            "▸ Deployment/apps/grade-api changed (0 additions, 1 changes, 0 removals): +1 −1 lines"
        ),
        "{text}"
    );
    assert!(text.contains("⚠ approximate: dry-run forbidden"), "{text}");
    assert!(text.contains("~  replicas: 5"), "{text}");
    assert_snapshot!("diff_list_120x24", text);
    ch(&mut state, ']');
    let text = screen(&state);
    assert!(text.contains("▸ Service/apps/grade-api removed"), "{text}");
    assert!(text.contains("+  - port: 8080"), "{text}");
    assert!(!text.contains("approximate"), "{text}");
}

fn redis() -> ObjectKey {
    ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis")
}

fn history() -> HistoryData {
    let row = |revision: i64, status: &str, current: bool| HistoryRow {
        revision,
        status: status.into(),
        chart: format!("redis-19.0.{revision}"),
        app_version: "7.2.4".into(),
        updated: format!("2026-11-2{revision}T06:00:00Z"),
        description: "Upgrade complete".into(),
        current,
        in_status_history: true,
    };
    HistoryData {
        key: redis(),
        release_name: "redis".into(),
        release_namespace: "staging".into(),
        storage_namespace: "staging".into(),
        rows: vec![
            row(1, "superseded", false),
            row(2, "superseded", false),
            row(3, "deployed", true),
        ],
        current: Some(3),
        default_target: Some(2),
        values: BTreeMap::from([
            (1, "replicaCount: 1\n".to_string()),
            (2, "replicaCount: 2\n".to_string()),
            (3, "replicaCount: 3\n".to_string()),
        ]),
        manifests: BTreeMap::from([
            (1, "kind: StatefulSet\nspec:\n  replicas: 1\n".to_string()),
            (2, "kind: StatefulSet\nspec:\n  replicas: 2\n".to_string()),
            (3, "kind: StatefulSet\nspec:\n  replicas: 3\n".to_string()),
        ]),
        plans: BTreeMap::new(),
    }
}

/// `space` marks a revision, `d`/`m` diff the marked and the selected one's values or
/// manifests (the selected and the current one when none is marked); Esc comes back to the
/// history with the mark kept.
#[test]
fn history_compares_any_two_revisions() {
    let mut state = demo(120, 24);
    select(&mut state, FluxKind::HelmRelease, "staging", "redis");
    ch(&mut state, 'H');
    update(
        &mut state,
        Msg::History {
            key: redis(),
            result: Ok(Box::new(history())),
        },
    );
    // On the current revision with nothing marked: nothing to compare.
    ch(&mut state, 'd');
    let flash = &state.flash.as_ref().unwrap().text;
    assert!(flash.contains("revision 3 is the current one"), "{flash}");
    // Revision 1 against the current one.
    ch(&mut state, 'j');
    ch(&mut state, 'j');
    ch(&mut state, 'd');
    let text = screen(&state);
    assert!(
        text.contains("Values HelmRelease/staging/redis: revision 1 → revision 3"),
        "{text}"
    );
    assert!(
        text.contains("--- revision 1 (superseded, redis-19.0.1)"),
        "{text}"
    );
    assert!(text.contains("~replicaCount: 1"), "{text}");
    assert!(text.contains("~replicaCount: 3"), "{text}");
    // Esc: the history again.
    press(&mut state, KeyCode::Esc);
    assert!(matches!(&state.overlay, Some(Overlay::History(h)) if h.selected() == Some(1)));
    // Mark 1, select 2: their manifests.
    ch(&mut state, ' ');
    ch(&mut state, 'k');
    let text = screen(&state);
    let marked = text.lines().find(|l| l.contains("redis-19.0.1")).unwrap();
    assert!(marked.contains("◆"), "{text}");
    ch(&mut state, 'm');
    let text = screen(&state);
    assert!(
        text.contains("Manifests HelmRelease/staging/redis: revision 1 → revision 2"),
        "{text}"
    );
    assert!(
        text.contains("manifest: revision 1 → revision 2: +1 −1 lines"),
        "{text}"
    );
    assert_snapshot!("history_pair_diff_120x24", text);
    press(&mut state, KeyCode::Esc);
    assert!(matches!(&state.overlay, Some(Overlay::History(h)) if h.marked == Some(1)));
    // Space again clears the mark.
    ch(&mut state, 'j');
    ch(&mut state, ' ');
    assert!(matches!(&state.overlay, Some(Overlay::History(h)) if h.marked.is_none()));
}
