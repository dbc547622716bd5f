//! Benchmark of the diff view (`cargo bench --bench diff`): two 10,000-line YAML documents
//! (values of 500 services, about 1% of the lines changed, a block added and one removed).
//!
//! 1. `DiffModel::new` alone;
//! 2. the first screen: the model, the `DiffView`, and `ui::view` of a 200x60 frame;
//! 3. one frame scrolled to the middle and to the end, against the same frame of a 100-line
//!    diff (rendering touches only the visible rows, so they cost the same);
//! 4. a key press that moves to the next change;
//! 5. the worst case: two 10,000-line documents with no line in common.
//!
//! Each measurement goes to stderr as it is taken, with its target; a Markdown table goes to
//! stdout at the end. Nothing here asserts on time.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fluxdeck::app::diff::DiffView;
use fluxdeck::app::msg::Msg;
use fluxdeck::app::state::{AppInit, AppState, Overlay};
use fluxdeck::app::update;
use fluxdeck::domain::diff::{DiffDoc, DiffModel};
use fluxdeck::theme::Theme;
use fluxdeck::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const RUNS: usize = 30;

/// Values of `services` services, 20 lines each; `edit` changes some of them.
fn values(services: usize, edit: bool) -> String {
    let mut out = String::new();
    for i in 0..services {
        // 1% of the lines change: one in five services gets a new tag.
        let tag = if edit && i % 5 == 0 {
            format!("2.{i}.1")
        } else {
            format!("2.{i}.0")
        };
        let removed = edit && i == 120;
        out.push_str(&format!(
            "service-{i:04}:\n  enabled: true\n  image:\n    repository: ghcr.io/example/service-{i:04}\n    tag: {tag}\n    pullPolicy: IfNotPresent\n  replicaCount: {}\n  resources:\n    limits:\n      cpu: 500m\n      memory: 512Mi\n    requests:\n      cpu: 100m\n      memory: 128Mi\n  service:\n    port: {}\n    type: ClusterIP\n",
            1 + i % 3,
            8000 + i
        ));
        if !removed {
            out.push_str("  env:\n    LOG_LEVEL: info\n    REGION: eu-west-1\n");
        }
        if edit && i == 400 {
            out.push_str("  extra:\n    a: 1\n    b: 2\n");
        }
    }
    out
}

struct Stats {
    median: Duration,
    max: Duration,
}

fn stats(mut times: Vec<Duration>) -> Stats {
    times.sort();
    Stats {
        median: times.get(times.len() / 2).copied().unwrap_or_default(),
        max: times.last().copied().unwrap_or_default(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn state(view: DiffView) -> AppState {
    let mut state = AppState::new(AppInit {
        context: "bench".into(),
        server: "https://127.0.0.1:6443".into(),
        namespace: None,
        read_only: None,
        keymap_overrides: Default::default(),
        ascii: false,
        now: "2026-11-22T06:45:00Z".parse().unwrap_or_default(),
        log_file: None,
        size: (200, 60),
    });
    state.overlay = Some(Overlay::Diff(view));
    state
}

fn draw(terminal: &mut Terminal<TestBackend>, state: &AppState, theme: &Theme) -> Duration {
    let t = Instant::now();
    let _ = terminal.draw(|f| ui::view(state, theme, f));
    t.elapsed()
}

fn key(state: &mut AppState, code: KeyCode) {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

struct Report(Vec<(String, String, String, String)>);

impl Report {
    fn add(&mut self, what: &str, value: String, target: &str, note: String) {
        eprintln!("  {what:<58} {value:>12}  {target:<10} {note}");
        self.0.push((what.into(), value, target.into(), note));
    }
}

fn main() {
    let theme = match Theme::embedded("dark") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("no theme: {e}");
            std::process::exit(2);
        }
    };
    let old = values(500, false);
    let new = values(500, true);
    let lines = (old.lines().count(), new.lines().count());
    eprintln!("fluxdeck diff benchmark: {} and {} lines", lines.0, lines.1);
    let mut report = Report(Vec::new());

    // 1. The model.
    let mut times = Vec::new();
    let mut model = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        model = Some(DiffModel::new(&old, &new));
        times.push(t.elapsed());
    }
    let (added, removed) = model.as_ref().map_or((0, 0), DiffModel::counts);
    let rows = model.as_ref().map_or(0, |m| m.rows().len());
    let s = stats(times);
    report.add(
        "DiffModel::new, 2 x 10,000 lines",
        ms(s.median),
        "",
        format!(
            "max {} over {RUNS}; +{added} -{removed} lines, {rows} rows after folding",
            ms(s.max)
        ),
    );

    // 2. The first screen: model, view, first frame.
    let mut times = Vec::new();
    let mut terminal = match Terminal::new(TestBackend::new(200, 60)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("no terminal: {e}");
            std::process::exit(2);
        }
    };
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let doc = DiffDoc::new("values", "desired", "deployed", old.clone(), new.clone());
        let s = state(DiffView::new("Values bench".into(), vec![doc], None));
        draw(&mut terminal, &s, &theme);
        times.push(t.elapsed());
        last = Some(s);
    }
    let s = stats(times);
    report.add(
        "first screen: model + view + 200x60 frame",
        ms(s.median),
        "≤ 50 ms",
        format!("max {} over {RUNS}", ms(s.max)),
    );

    // 3. Frames at the top, the middle and the end (everything unfolded), and of a small
    //    diff: the same cost.
    let Some(mut big) = last else {
        return;
    };
    key(&mut big, KeyCode::Char('z'));
    let frame_stats = |state: &AppState, terminal: &mut Terminal<TestBackend>| {
        let times: Vec<Duration> = (0..RUNS).map(|_| draw(terminal, state, &theme)).collect();
        stats(times)
    };
    let top = frame_stats(&big, &mut terminal);
    for _ in 0..50 {
        key(&mut big, KeyCode::Char('n'));
    }
    let middle = frame_stats(&big, &mut terminal);
    key(&mut big, KeyCode::End);
    let end = frame_stats(&big, &mut terminal);
    let small_doc = DiffDoc::new(
        "values",
        "desired",
        "deployed",
        values(5, false),
        values(5, true),
    );
    let mut small = state(DiffView::new("Values small".into(), vec![small_doc], None));
    key(&mut small, KeyCode::Char('z'));
    let small_frame = frame_stats(&small, &mut terminal);
    report.add(
        "one 200x60 frame, 10,000 lines unfolded: top / middle / end",
        format!(
            "{} / {} / {}",
            ms(top.median),
            ms(middle.median),
            ms(end.median)
        ),
        "",
        format!("a 100-line diff: {}", ms(small_frame.median)),
    );

    // 4. A key: next change, with the frame after it.
    let mut times = Vec::new();
    key(&mut big, KeyCode::Home);
    for _ in 0..RUNS {
        let t = Instant::now();
        key(&mut big, KeyCode::Char('n'));
        draw(&mut terminal, &big, &theme);
        times.push(t.elapsed());
    }
    let s = stats(times);
    report.add(
        "n (next change) + frame",
        ms(s.median),
        "",
        format!("max {} over {RUNS}", ms(s.max)),
    );

    // 5. Nothing in common.
    let other: String = old.lines().map(|l| format!("{l} # other\n")).collect();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let m = DiffModel::new(&old, &other);
        times.push(t.elapsed());
        std::hint::black_box(m);
    }
    let s = stats(times);
    report.add(
        "DiffModel::new, 10,000 lines, no line in common",
        ms(s.median),
        "",
        format!("max {} over 5", ms(s.max)),
    );

    println!();
    println!("| measurement | value | target | notes |");
    println!("|---|---:|---|---|");
    for (what, value, target, note) in &report.0 {
        println!("| {what} | {value} | {target} | {note} |");
    }
}
