//! The tree's rows at a glance: the reason of a row that is not Ready comes first in its
//! message cell, columns stay put when states change, column headers, and the tree's
//! scroll position after the details pane covered it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::KeyCode;
use fluxdeck::app::msg::Msg;
use fluxdeck::app::state::{AppInit, AppState};
use fluxdeck::app::update;
use insta::assert_snapshot;
use serde_json::Value;

mod app_support;
use app_support::*;

const DRIFT: &str = "Cluster state of release default/backend.v6 has drifted from the desired \
                     state:\nDeployment/default/backend changed (0 additions, 1 changes, 0 removals)";

/// The demo fixture (failing, blocked, suspended and cycle rows) with default/backend
/// drifted: its Drifted condition carries the controller's multi-line summary.
fn incident_objects() -> Vec<Value> {
    let mut objects = fixture_objects();
    let hr = release_mut(&mut objects, "default", "backend");
    for c in hr["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Drifted" {
            c["status"] = "True".into();
            c["reason"] = "DriftDetected".into();
            c["message"] = DRIFT.into();
        }
    }
    objects
}

fn incident(cols: u16, rows: u16, ascii: bool) -> AppState {
    let mut state = AppState::new(AppInit {
        ascii,
        ..init(cols, rows)
    });
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(incident_objects(), NOW)),
    );
    update(&mut state, Msg::WatchHealth(connected()));
    state
}

/// The rows that are not Ready and the start of the reason each must show.
const REASONS: [(&str, &str); 5] = [
    ("default/backend", "Deployment/default/backend"),
    ("loop/backend", "Dependency cycle"),
    ("loop/redis", "Dependency cycle"),
    ("staging/backend", "Blocked by staging/redis"),
    ("staging/redis", "Failed to install"),
];

/// The display column of `needle` in `line` (every character on these screens is one
/// column wide).
fn column_of(line: &str, needle: &str) -> Option<usize> {
    line.find(needle).map(|i| line[..i].chars().count())
}

/// Every reason of [`REASONS`] whose row is in `text` is on it, starting within the first
/// `share` of the row (inside the pane's border); returns how many rows were seen.
fn assert_reasons(text: &str, share: f64) -> usize {
    let lines = tree_lines(text);
    let inner = lines
        .first()
        .map_or(0, |l| l.chars().count())
        .saturating_sub(2);
    let mut seen = 0;
    for (name, reason) in REASONS {
        // The row of `name`, not a row whose message mentions it.
        let Some(line) = lines.iter().find(|l| {
            column_of(l, name).is_some_and(|x| x < column_of(l, "  ").map_or(0, |g| g + 40))
                && l.contains(&format!(" {name}"))
                && !l.contains(&format!("by {name}"))
        }) else {
            continue;
        };
        seen += 1;
        let x = column_of(line, reason).unwrap_or_else(|| panic!("{name}: no {reason:?}\n{text}"));
        let limit = (inner as f64 * share) as usize + 1;
        assert!(
            x <= limit,
            "{name}: the reason starts at column {x}, after {limit}\n{text}"
        );
        // Nothing but blanks between the name and the reason: no badge in front of it.
        let before = &line[..line.find(reason).unwrap()];
        assert!(
            !before.trim_end().ends_with(']'),
            "{name}: a badge before the reason\n{text}"
        );
    }
    seen
}

/// The tree's row lines (between the pane's borders).
fn tree_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('│') || l.starts_with('|'))
        .map(ToString::to_string)
        .collect()
}

#[test]
fn tree_scroll_survives_the_details_pane_covering_it() {
    // At 80x24 the details pane covers the tree; the tree must come back filled, not
    // scrolled to its last rows above blank lines.
    let mut state = demo(80, 24);
    ch(&mut state, '/');
    typed(&mut state, "backend");
    press(&mut state, KeyCode::Enter);
    ch(&mut state, 'G');
    ch(&mut state, 'k');
    press(&mut state, KeyCode::Enter);
    ch(&mut state, 'G');
    press(&mut state, KeyCode::Tab);
    let text = screen(&state);
    let lines = tree_lines(&text);
    let rows = state.rows.len();
    assert!(rows > 2, "{text}");
    let filled = lines
        .iter()
        .filter(|l| l.trim_matches(['│', '|']).trim() != "")
        .count();
    assert_eq!(filled, rows.min(lines.len()), "{text}");
    assert!(lines[0].contains("flux-system/flux-system"), "{text}");
    // Esc closes the details; the tree stays whole, the selection too.
    let selected = state.selected_key().cloned();
    press(&mut state, KeyCode::Esc);
    assert!(state.details.is_none());
    assert_eq!(state.selected_key().cloned(), selected);
    let text = screen(&state);
    assert!(
        tree_lines(&text)[0].contains("flux-system/flux-system"),
        "{text}"
    );
}

#[test]
fn reasons_come_first_at_80x24_top_and_bottom() {
    for ascii in [false, true] {
        let mut state = incident(80, 24, ascii);
        let top = screen(&state);
        ch(&mut state, 'G');
        let bottom = screen(&state);
        let seen = assert_reasons(&top, 0.6) + assert_reasons(&bottom, 0.6);
        assert!(seen >= REASONS.len(), "{top}\n{bottom}");
        if ascii {
            assert!(bottom.is_ascii(), "{bottom}");
        } else {
            assert_snapshot!("rows_80x24_bottom", bottom);
        }
    }
}

#[test]
fn reasons_are_whole_at_120x40_and_200x60() {
    for (cols, rows) in [(120, 40), (200, 60)] {
        for ascii in [false, true] {
            let state = incident(cols, rows, ascii);
            let text = screen(&state);
            assert_eq!(assert_reasons(&text, 0.6), REASONS.len(), "{text}");
            // Whole reasons: the failing release says what failed, the blocked one what
            // blocks it, the drifted one which object drifted.
            for whole in [
                "Failed to install after 3 attempt(s)",
                "Blocked by staging/redis: RetriesExceeded",
                "Deployment/default/backend changed",
            ] {
                assert!(text.contains(whole), "{whole}\n{text}");
            }
            // The drift preamble gives way to the object line.
            assert!(
                !text.contains("has drifted from the desired state:"),
                "{text}"
            );
            // Ready Kustomizations do not repeat their revision in the message.
            assert!(!text.contains("Applied revision"), "{text}");
            if cols == 200 {
                assert!(text.contains("HelmRelease default/backend"), "{text}");
                assert!(text.contains("[blocks 1]"), "{text}");
                if ascii {
                    assert!(text.is_ascii(), "{text}");
                    assert_snapshot!("rows_200x60_ascii", text);
                }
            } else if !ascii {
                assert_snapshot!("rows_120x40", text);
            }
        }
    }
    // The mono theme draws the same cells (colour is never the only signal).
    let state = incident(120, 40, false);
    assert_eq!(text_of(&buffer(&state, "mono")), screen(&state));
}

/// Flip the HelmRelease default/grafana between Ready and Reconciling.
fn grafana_reconciling(reconciling: bool) -> Vec<Value> {
    let mut objects = incident_objects();
    let hr = release_mut(&mut objects, "default", "grafana");
    if reconciling {
        hr["status"]["conditions"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "type": "Reconciling", "status": "True", "reason": "Progressing",
                "message": "Running 'upgrade' action with timeout of 5m0s",
                "lastTransitionTime": "2026-11-22T06:44:50Z", "observedGeneration": 1
            }));
    }
    objects
}

#[test]
fn a_row_changing_state_moves_no_other_cell() {
    for (cols, rows) in [(80, 40), (120, 40), (200, 60)] {
        let mut state = incident(cols, rows, false);
        let before = tree_lines(&screen(&state));
        update(
            &mut state,
            Msg::Snapshot(snapshot_of(grafana_reconciling(true), NOW)),
        );
        let text = screen(&state);
        assert!(text.contains("◴ Reconciling"), "{text}");
        let after = tree_lines(&text);
        assert_eq!(before.len(), after.len());
        let mut changed = 0;
        for (b, a) in before.iter().zip(&after) {
            if b.contains("default/grafana") {
                // The row itself keeps its kind and name where they were.
                assert_eq!(
                    column_of(b, "default/grafana"),
                    column_of(a, "default/grafana")
                );
                changed += usize::from(a != b);
            } else {
                assert_eq!(b, a, "a row moved at {cols} columns\n{text}");
            }
        }
        assert_eq!(changed, 1, "{text}");
        // And back.
        update(
            &mut state,
            Msg::Snapshot(snapshot_of(grafana_reconciling(false), NOW)),
        );
        assert_eq!(tree_lines(&screen(&state)), before);
    }
}

#[test]
fn column_headers_from_120_columns_and_toggled_with_c() {
    let header = |text: &str| {
        tree_lines(text)
            .first()
            .is_some_and(|l| l.contains("STATE") && l.contains("KIND NAME") && l.contains("REASON"))
    };
    let mut wide = incident(200, 60, false);
    let text = screen(&wide);
    assert!(header(&text), "{text}");
    let first = &tree_lines(&text)[0];
    let second = &tree_lines(&text)[1];
    // Each header stands over its column.
    assert_eq!(
        column_of(first, "KIND NAME"),
        column_of(second, "Kustomization")
    );
    assert_eq!(
        column_of(first, "REVISION"),
        column_of(second, "main@f15f22a")
    );
    ch(&mut wide, 'c');
    assert!(!header(&screen(&wide)));

    let mut narrow = incident(80, 24, false);
    assert!(!header(&screen(&narrow)));
    ch(&mut narrow, 'c');
    let text = screen(&narrow);
    assert!(header(&text), "{text}");
    // With the header line the last row still comes into view.
    ch(&mut narrow, 'G');
    let text = screen(&narrow);
    let lines = tree_lines(&text);
    assert!(header(&text), "{text}");
    assert!(lines[lines.len() - 1].contains("gitrepo flu"), "{text}");
}

#[test]
fn a_drifted_release_marks_the_objects_that_drifted() {
    let mut state = incident(160, 48, false);
    select(
        &mut state,
        fluxdeck::domain::flux::FluxKind::HelmRelease,
        "default",
        "backend",
    );
    ch(&mut state, 'l');
    let text = screen(&state);
    let deployment = text
        .lines()
        .find(|l| l.contains("Deployment default/backend"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(deployment.contains("≠ Drifted"), "{deployment}");
    assert!(
        deployment.contains("drifted: changed (0 additions, 1 changes, 0 removals)"),
        "{deployment}"
    );
    // Its other objects did not drift.
    let service = text
        .lines()
        .find(|l| l.contains("Service default/backend"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!service.contains("Drifted"), "{service}");
}

#[test]
fn the_selection_stays_on_the_first_row_while_the_tree_fills_in() {
    // HelmReleases arrive before the Kustomizations whose inventories list them: they are
    // unmanaged at first, then move under their Kustomizations, and the unmanaged group
    // (still there for the GitRepository) goes to the bottom; the first row stays selected.
    let mut objects = fixture_objects();
    objects.retain(|o| o["kind"] != "Kustomization");
    for o in &mut objects {
        if let Some(labels) = o["metadata"]["labels"].as_object_mut() {
            labels.retain(|k, _| !k.starts_with("kustomize.toolkit.fluxcd.io/"));
        }
    }
    let mut state = AppState::new(init(120, 40));
    update(&mut state, Msg::Snapshot(snapshot_of(objects, NOW)));
    assert_eq!(state.cursor, 0);
    assert!(
        state.selected_key().is_none(),
        "the unmanaged group first: {:?}",
        state.selected
    );
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    assert_eq!(state.cursor, 0, "selected: {:?}", state.selected);
    assert_eq!(
        state.selected_key().map(ToString::to_string).as_deref(),
        Some("Kustomization/flux-system/flux-system")
    );
    // Once a key moved it, the selection follows its object.
    ch(&mut state, 'j');
    let key = state.selected_key().cloned();
    update(
        &mut state,
        Msg::Snapshot(snapshot_of(fixture_objects(), NOW)),
    );
    assert_eq!(state.selected_key().cloned(), key);
}
