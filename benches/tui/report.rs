//! The printed results: one line per measurement on stderr as it is taken (value, target,
//! notes), and a Markdown table on stdout at the end.

use std::time::Duration;

struct Row {
    what: String,
    value: String,
    target: String,
    note: String,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    pub fn add(&mut self, what: &str, value: String, target: &str, note: String) {
        let target_text = if target.is_empty() {
            String::new()
        } else {
            format!("(target {target})")
        };
        eprintln!("  {what:<54} {value:>14}  {target_text:<24} {note}");
        self.rows.push(Row {
            what: what.to_string(),
            value,
            target: target.to_string(),
            note,
        });
    }

    pub fn print(&self) {
        println!();
        println!("| measurement | value | target | notes |");
        println!("|---|---:|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} |",
                r.what.trim(),
                r.value,
                r.target,
                r.note
            );
        }
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Median, 99th percentile and maximum of a set of durations.
pub struct Stats {
    pub median: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Stats {
    pub fn of(mut v: Vec<Duration>) -> Stats {
        v.sort();
        let at = |p: f64| {
            let i = ((v.len().saturating_sub(1)) as f64 * p).round() as usize;
            v.get(i).copied().unwrap_or_default()
        };
        Stats {
            median: at(0.5),
            p99: at(0.99),
            max: v.last().copied().unwrap_or_default(),
        }
    }
}
