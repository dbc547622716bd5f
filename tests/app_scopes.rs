//! The managed-object watches follow the rows on screen: through scrolling, paging,
//! expansion, filtering (and clearing the filter with Esc), problems mode, resize and the
//! details pane, and at scale their number stays bounded by what is on screen.
//!
//! The estate is built here: HelmReleases `hr-NNN` spread over namespaces `ns-NNN` (in
//! order, so neighbouring rows share a namespace), all in one Kustomization; each release
//! has a Deployment and a Service in its namespace. The test follows the effects as the
//! runtime does (the last `WatchScopes` is what is watched) and checks, after every step:
//! - everything on screen is watched: for a HelmRelease row its Deployment and Service
//!   scopes, for a managed row its own;
//! - nothing far away is: every watched scope belongs to a row at most two pages above or
//!   three pages below the top of the screen (one page of margin to start watches before a
//!   row comes into view, one more before they are released).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use crossterm::event::KeyCode;
use fluxdeck::app::msg::{Effect, Msg};
use fluxdeck::app::state::{AppState, Focus};
use fluxdeck::app::update;
use fluxdeck::domain::flux::{FluxKind, ObjectKind};
use serde_json::{Value, json};

mod app_support;
use app_support::*;

type Scope = (ObjectKind, Option<String>);

/// `hr` HelmReleases over `namespaces` namespaces; those for which `failing(i)` holds are
/// not ready.
fn estate(hr: usize, namespaces: usize, failing: impl Fn(usize) -> bool) -> Vec<Value> {
    let per_ns = hr.div_ceil(namespaces);
    let mut objects = vec![
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "flux-system", "namespace": "flux-system", "generation": 1},
            "spec": {"interval": "1m", "url": "https://git.example.com/fleet"},
            "status": {"observedGeneration": 1, "conditions": [ready(true)]}}),
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "charts", "namespace": "flux-system", "generation": 1},
            "spec": {"interval": "10m", "url": "https://charts.example.com"},
            "status": {"observedGeneration": 1, "conditions": [ready(true)]}}),
    ];
    let mut entries = Vec::new();
    for i in 0..hr {
        let ns = format!("ns-{:03}", i / per_ns);
        let name = format!("hr-{i:04}");
        entries.push(
            json!({"id": format!("{ns}_{name}_helm.toolkit.fluxcd.io_HelmRelease"),
                            "v": "v2"}),
        );
        objects.push(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": ns, "generation": 1,
                         "creationTimestamp": "2026-11-22T06:00:00Z"},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "app",
                "sourceRef": {"kind": "HelmRepository", "name": "charts",
                              "namespace": "flux-system"}}}},
            "status": {
                "observedGeneration": 1,
                "inventory": {"entries": [
                    {"id": format!("{ns}_{name}_apps_Deployment"), "v": "v1"},
                    {"id": format!("{ns}_{name}__Service"), "v": "v1"},
                ]},
                "conditions": [ready(!failing(i))]
            }
        }));
    }
    objects.push(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1,
                     "creationTimestamp": "2026-11-22T06:00:00Z"},
        "spec": {"interval": "10m", "path": "./apps",
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"observedGeneration": 1, "inventory": {"entries": entries},
                   "conditions": [ready(true)]}
    }));
    objects
}

fn ready(ok: bool) -> Value {
    if ok {
        json!({"type": "Ready", "status": "True", "reason": "Succeeded",
               "message": "ok", "lastTransitionTime": "2026-11-22T06:40:00Z"})
    } else {
        json!({"type": "Ready", "status": "False", "reason": "InstallFailed",
               "message": "install failed", "lastTransitionTime": "2026-11-22T06:40:00Z"})
    }
}

/// The app and what the runtime watches for it (the last `WatchScopes` carried out).
struct Session {
    state: AppState,
    watched: BTreeSet<Scope>,
    /// How many times the watches were asked to change.
    changes: usize,
}

impl Session {
    fn new(objects: Vec<Value>, cols: u16, rows: u16) -> Session {
        let mut s = Session {
            state: AppState::new(init(cols, rows)),
            watched: BTreeSet::new(),
            changes: 0,
        };
        s.send(Msg::Snapshot(snapshot_of(objects, NOW)));
        s.send(Msg::WatchHealth(connected()));
        s
    }

    fn send(&mut self, msg: Msg) {
        for effect in update(&mut self.state, msg) {
            if let Effect::WatchScopes(scopes) = effect {
                self.watched = scopes;
                self.changes += 1;
            }
        }
    }

    fn press(&mut self, code: KeyCode) {
        self.send(Msg::Key(crossterm::event::KeyEvent::new(
            code,
            crossterm::event::KeyModifiers::NONE,
        )));
    }

    fn ch(&mut self, c: char) {
        self.press(KeyCode::Char(c));
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.ch(c);
        }
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        self.send(Msg::Resize { cols, rows });
    }

    /// The scopes the rows from `from` (may be negative) to `to` (excluded) need.
    fn scopes_of_rows(&self, from: isize, to: isize) -> BTreeSet<Scope> {
        let st = &self.state;
        let from = usize::try_from(from.max(0)).unwrap();
        let to = usize::try_from(to.max(0)).unwrap().min(st.rows.len());
        let mut out = BTreeSet::new();
        for row in st.rows.get(from..to.max(from)).unwrap_or(&[]) {
            let Some(key) = st.node_of(row).and_then(|n| n.key.as_ref()) else {
                continue;
            };
            let ns = Some(key.namespace.to_string());
            match key.flux_kind() {
                Some(FluxKind::HelmRelease) => {
                    out.insert((ObjectKind::new("apps", "Deployment"), ns.clone()));
                    out.insert((ObjectKind::new("", "Service"), ns));
                }
                Some(_) => {}
                None => {
                    out.insert((key.kind.clone(), ns));
                }
            }
        }
        out
    }

    fn page(&self) -> isize {
        isize::try_from(self.state.tree_page()).unwrap()
    }

    fn scroll(&self) -> isize {
        isize::try_from(self.state.scroll).unwrap()
    }

    /// What is on screen is watched, nothing far from it is.
    fn check(&self, step: &str) {
        let (top, page) = (self.scroll(), self.page());
        let on_screen = self.scopes_of_rows(top, top + page);
        let missing: Vec<_> = on_screen.difference(&self.watched).collect();
        assert!(
            missing.is_empty(),
            "{step}: rows on screen (from row {top}, page {page}) are not watched: {} scopes, \
             e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(4)]
        );
        let near = self.scopes_of_rows(top - 2 * page, top + 3 * page);
        let far: Vec<_> = self.watched.difference(&near).collect();
        assert!(
            far.is_empty(),
            "{step}: {} of {} watched although no row within two pages of the screen (from \
             row {top}, page {page}, {} rows) needs them, e.g. {:?}",
            far.len(),
            self.watched.len(),
            self.state.rows.len(),
            &far[..far.len().min(4)]
        );
    }

    fn watches_namespace(&self, ns: &str) -> bool {
        self.watched.iter().any(|(_, n)| n.as_deref() == Some(ns))
    }
}

fn three_hundred() -> Vec<Value> {
    estate(300, 100, |i| i % 4 == 0)
}

#[test]
fn the_watches_follow_scrolling_and_paging() {
    let mut s = Session::new(three_hundred(), 80, 24);
    assert!(s.state.rows.len() > 300, "{}", s.state.rows.len());
    s.check("first tree");
    assert!(s.watches_namespace("ns-000"));
    assert!(!s.watches_namespace("ns-099"), "{:?}", s.watched);
    for i in 0..40 {
        s.ch('j');
        s.check(&format!("j #{i}"));
    }
    for i in 0..12 {
        s.press(KeyCode::PageDown);
        s.check(&format!("PgDn #{i}"));
    }
    for i in 0..5 {
        s.press(KeyCode::PageUp);
        s.check(&format!("PgUp #{i}"));
    }
    s.ch('G');
    s.check("G");
    assert!(s.watches_namespace("ns-099"));
    assert!(!s.watches_namespace("ns-000"), "{:?}", s.watched);
    for i in 0..30 {
        s.ch('k');
        s.check(&format!("k #{i}"));
    }
    s.ch('g');
    s.check("g");
    assert!(s.watches_namespace("ns-000"));
    assert!(!s.watches_namespace("ns-099"), "{:?}", s.watched);
}

/// Scrolling one line down and back up does not start and stop watches each time: a
/// scope starts when a row needing it comes within a page of the screen and is released
/// only once no row within two pages needs it.
#[test]
fn scrolling_back_and_forth_by_a_line_does_not_restart_watches() {
    // One release per namespace: every line scrolled changes what the rows need.
    let mut s = Session::new(estate(300, 300, |_| false), 80, 24);
    // To the middle, the cursor on the screen's last row.
    for _ in 0..6 {
        s.press(KeyCode::PageDown);
    }
    let page = s.state.tree_page();
    while s.state.cursor + 1 < s.state.scroll + page {
        s.ch('j');
    }
    s.check("middle");
    let before = s.changes;
    for i in 0..10 {
        // One line down (the screen scrolls by one)...
        let top = s.state.scroll;
        s.ch('j');
        assert_eq!(s.state.scroll, top + 1);
        s.check(&format!("down #{i}"));
        // ...and back up to the screen's first row, then one more (it scrolls back).
        while s.state.cursor > s.state.scroll {
            s.ch('k');
        }
        s.ch('k');
        assert_eq!(s.state.scroll, top);
        s.check(&format!("up #{i}"));
        // And down to the last row again.
        while s.state.cursor + 1 < s.state.scroll + page {
            s.ch('j');
        }
    }
    assert!(
        s.changes - before <= 1,
        "{} changes of the watches for 10 one-line scrolls back and forth",
        s.changes - before
    );
}

#[test]
fn the_watches_follow_expansion_and_collapse() {
    let mut s = Session::new(three_hundred(), 80, 24);
    s.check("first tree");
    // Collapse the Kustomization holding every release: nothing managed is on screen.
    let apps = s
        .state
        .rows
        .iter()
        .position(|r| {
            s.state
                .node_of(r)
                .and_then(|n| n.key.as_ref())
                .is_some_and(|k| k.to_string() == "Kustomization/flux-system/apps")
        })
        .unwrap();
    while s.state.cursor < apps {
        s.ch('j');
    }
    s.ch('h');
    s.check("apps collapsed");
    assert!(s.watched.is_empty(), "{:?}", s.watched);
    // Open it again: the releases on screen are watched again, and only those.
    s.ch('l');
    s.check("apps expanded");
    assert!(s.watches_namespace("ns-000"));
    assert!(!s.watches_namespace("ns-099"), "{:?}", s.watched);
    // In the middle: open a release (its Deployment and Service rows appear), then the
    // next few; the rows below move down and out of reach.
    for _ in 0..7 {
        s.press(KeyCode::PageDown);
    }
    for i in 0..6 {
        s.ch('l');
        s.check(&format!("expanded #{i}"));
        s.ch('j');
        s.ch('j');
        s.ch('j');
        s.ch('j');
    }
    assert!(s.state.rows.iter().filter(|r| r.expanded).count() >= 7);
    // Space collapses again.
    for i in 0..3 {
        s.ch('k');
        s.ch(' ');
        s.check(&format!("toggled #{i}"));
    }
}

#[test]
fn the_watches_follow_the_filter_and_esc() {
    let mut s = Session::new(three_hundred(), 80, 24);
    s.check("first tree");
    // Filter to ten namespaces in the middle: their releases, Deployments and Services.
    s.ch('/');
    s.typed("ns-05");
    s.check("typing the filter");
    assert!(s.watches_namespace("ns-050"));
    assert!(!s.watches_namespace("ns-000"), "{:?}", s.watched);
    s.press(KeyCode::Enter);
    s.check("filter accepted");
    // 121 rows (30 releases with their Deployment and Service, and the Kustomization).
    for i in 0..7 {
        s.press(KeyCode::PageDown);
        s.check(&format!("filtered PgDn #{i}"));
    }
    assert!(s.watches_namespace("ns-059"));
    // Esc clears the filter: the whole tree again, the selection in place.
    s.press(KeyCode::Esc);
    assert!(s.state.filter_text.is_empty());
    s.check("filter cleared with Esc");
    assert!(!s.watches_namespace("ns-000"), "{:?}", s.watched);
    assert!(!s.watches_namespace("ns-099"), "{:?}", s.watched);
    s.ch('G');
    s.check("G after the filter");
    assert!(s.watches_namespace("ns-099"));
    // Esc while typing the filter clears it too.
    s.ch('/');
    s.typed("ns-00");
    s.check("typing a second filter");
    assert!(!s.watches_namespace("ns-099"), "{:?}", s.watched);
    s.press(KeyCode::Esc);
    assert!(s.state.filter_text.is_empty());
    s.check("second filter cancelled with Esc");
}

#[test]
fn the_watches_follow_problems_mode() {
    let mut s = Session::new(three_hundred(), 80, 24);
    s.ch('G');
    s.check("G");
    // Problems mode: only the 75 failing releases (every fourth) and their parents.
    s.ch('p');
    s.check("problems mode");
    let failing_ns = |ns: usize| (ns * 3..ns * 3 + 3).any(|i| i % 4 == 0);
    for (_, ns) in &s.watched {
        let n: usize = ns.as_deref().unwrap()["ns-".len()..].parse().unwrap();
        assert!(failing_ns(n), "ns-{n:03} has no failing release");
    }
    s.ch('g');
    s.check("problems mode, g");
    for i in 0..4 {
        s.press(KeyCode::PageDown);
        s.check(&format!("problems mode, PgDn #{i}"));
    }
    s.ch('p');
    s.check("all objects again");
    s.ch('g');
    s.check("all objects, g");
    assert!(!s.watches_namespace("ns-099"), "{:?}", s.watched);
}

#[test]
fn the_watches_follow_resize_and_the_details_pane() {
    let mut s = Session::new(three_hundred(), 80, 24);
    for _ in 0..3 {
        s.press(KeyCode::PageDown);
    }
    s.check("80x24");
    // Taller: more rows on screen, more watched.
    let small = s.watched.len();
    s.resize(80, 70);
    s.check("80x70");
    assert!(s.watched.len() > small, "{} <= {small}", s.watched.len());
    // Shorter: what is now far away is released.
    s.resize(80, 14);
    s.check("80x14");
    s.resize(80, 12);
    s.check("80x12");
    assert!(s.watched.len() < small, "{} >= {small}", s.watched.len());
    // Wide: the details pane opens beside the tree; moving in the tree keeps it right.
    s.resize(160, 48);
    s.check("160x48");
    s.press(KeyCode::Enter);
    assert!(s.state.details.is_some());
    assert_eq!(s.state.focus, Focus::Tree);
    s.check("details beside the tree");
    for i in 0..4 {
        s.press(KeyCode::PageDown);
        s.check(&format!("details open, PgDn #{i}"));
    }
    // Narrow: the details cover the tree; the tree keeps its place and its watches.
    s.resize(80, 24);
    s.check("80x24 with details");
    s.press(KeyCode::Tab);
    s.check("details focused");
    s.press(KeyCode::Esc);
    assert!(s.state.details.is_none());
    s.check("details closed");
    s.ch('G');
    s.check("G");
}

/// At scale the number of watches depends on the screen, not on the estate: 3,000
/// releases in 1,000 namespaces (2,000 (kind, namespace) scopes under the rows) need a
/// few dozen at a time, walking the whole tree a page at a time.
#[test]
fn at_scale_the_watches_stay_bounded_by_the_screen() {
    let mut s = Session::new(estate(3000, 1000, |i| i % 7 == 0), 160, 48);
    let all = s.scopes_of_rows(0, isize::try_from(s.state.rows.len()).unwrap());
    assert_eq!(all.len(), 2000);
    let page = s.state.tree_page();
    // Five pages of rows at most, three releases per namespace, two kinds each.
    let bound = 2 * (5 * page).div_ceil(3) + 2;
    s.check("first tree");
    let first = s.watched.len();
    assert!(first <= bound, "{first} watches > {bound}");
    let mut most = first;
    let mut pages = 0;
    while s.state.scroll + page < s.state.rows.len() {
        s.press(KeyCode::PageDown);
        pages += 1;
        s.check(&format!("PgDn #{pages}"));
        most = most.max(s.watched.len());
    }
    assert!(most <= bound, "{most} watches > {bound}");
    // One change of the watches per page at most.
    assert!(
        s.changes <= pages + 1,
        "{} changes in {pages} pages",
        s.changes
    );
    eprintln!(
        "{} rows, page {page}: {} scopes under all rows; watched at first {first}, at most \
         {most}; {} changes of the watches over {pages} pages",
        s.state.rows.len(),
        all.len(),
        s.changes
    );
}
