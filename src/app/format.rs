//! Small text helpers shared by `update` and the view: coarse ages, display widths, and
//! the message a tree row shows (its most informative line; quiet for Ready rows).

use ratatui::text::Span;

/// A coarse age: `45s`, `5m`, `3h`, `12d`. Coarse on purpose: the label changes rarely, so
/// a clock tick seldom changes what is on screen.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// The number of terminal columns a string takes.
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// Cut `text` to at most `max` columns, ending with `…` (`~` in ASCII mode) when cut.
pub fn truncate(text: &str, max: usize, ascii: bool) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let marker = if ascii { "~" } else { "…" };
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push_str(marker);
    out
}

/// `text` padded with spaces to `cols` columns (never cut).
pub fn pad(text: &str, cols: usize) -> String {
    let w = width(text);
    if w >= cols {
        text.to_string()
    } else {
        format!("{text}{}", " ".repeat(cols - w))
    }
}

/// The most informative line of a condition message: the first line, unless it is a
/// preamble ending in `:` followed by more lines (a drift summary's "… has drifted from the
/// desired state:" before the object lines): then those lines, joined by `; `.
pub fn informative_line(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let rest: Vec<&str> = lines.collect();
    if first.ends_with(':') && !rest.is_empty() {
        rest.join("; ")
    } else {
        first.to_string()
    }
}

/// What a Ready row says in its message cell: nothing where the message repeats what the
/// state and revision columns show (`Applied revision: …`, `stored artifact for revision
/// …`, `Resource is current`), a short form of a Helm success (`upgrade succeeded: v6`),
/// anything else as it is.
pub fn quiet_ready(message: &str) -> String {
    const REPEATS: [&str; 5] = [
        "Applied revision:",
        "stored artifact for revision",
        "stored artifact: revision",
        "Resource is current",
        "Resource is always ready",
    ];
    if REPEATS.iter().any(|p| message.starts_with(p)) {
        return String::new();
    }
    short_helm_success(message)
}

/// `Helm upgrade succeeded for release ns/name.v6 with chart c@1.2.3` → `upgrade
/// succeeded: v6` (the row already names the release and its chart version); any other
/// message as it is.
pub fn short_helm_success(message: &str) -> String {
    helm_success(message).unwrap_or_else(|| message.to_string())
}

fn helm_success(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Helm ")?;
    let (action, rest) = rest.split_once(" succeeded for release ")?;
    let (release, _chart) = rest.split_once(" with chart ")?;
    let (_, version) = release.rsplit_once(".v")?;
    if action.contains(' ') || version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(format!("{action} succeeded: v{version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_coarse() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(60), "1m");
        assert_eq!(age(3599), "59m");
        assert_eq!(age(7200), "2h");
        assert_eq!(age(86_400 * 3 + 5), "3d");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 10, false), "abcdef");
        assert_eq!(truncate("abcdef", 4, false), "abc…");
        assert_eq!(truncate("abcdef", 4, true), "abc~");
        assert_eq!(truncate("abcdef", 0, false), "");
        assert_eq!(pad("ab", 4), "ab  ");
    }

    #[test]
    fn the_informative_line_of_a_drift_summary_is_its_object_lines() {
        let drift = "Cluster state of release default/backend.v4 has drifted from the desired \
                     state:\nDeployment/default/backend changed (0 additions, 1 changes, 0 \
                     removals)\nService/default/backend removed";
        assert_eq!(
            informative_line(drift),
            "Deployment/default/backend changed (0 additions, 1 changes, 0 removals); \
             Service/default/backend removed"
        );
        assert_eq!(informative_line("one line"), "one line");
        assert_eq!(informative_line("first\nsecond"), "first");
        assert_eq!(informative_line("only a preamble:"), "only a preamble:");
        assert_eq!(informative_line(""), "");
    }

    #[test]
    fn ready_rows_are_quiet() {
        assert_eq!(quiet_ready("Applied revision: main@sha1:f15f22ade882"), "");
        assert_eq!(
            quiet_ready("stored artifact for revision 'sha256:0b37'"),
            ""
        );
        assert_eq!(quiet_ready("Resource is current"), "");
        assert_eq!(
            quiet_ready(
                "Helm upgrade succeeded for release default/backend.v6 with chart podinfo@6.6.1"
            ),
            "upgrade succeeded: v6"
        );
        assert_eq!(
            quiet_ready("Static source: OCI Helm repositories are not reconciled"),
            "Static source: OCI Helm repositories are not reconciled"
        );
        assert_eq!(
            quiet_ready("Helm upgrade succeeded for release x with chart y"),
            "Helm upgrade succeeded for release x with chart y"
        );
    }
}
