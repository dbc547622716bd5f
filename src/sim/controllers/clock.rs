//! Simulated time: Go duration strings, the speed factor that compresses nominal intervals
//! and timeouts (`real = nominal / speed`), and timestamps in the formats Flux writes.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};

/// The longest duration Go's `time.Duration` holds (an int64 of nanoseconds, about 292
/// years): `time.ParseDuration` rejects longer ones as invalid, so the controllers cannot
/// read an object that asks for one.
const GO_MAX_SECONDS: f64 = i64::MAX as f64 / 1e9;

/// The longest real delay the controllers schedule; longer nominal waits are cut to it
/// (ten years is "never" for a simulation, and keeps timer arithmetic far from overflow).
pub const MAX_REAL_DELAY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Parse a Go duration (`10m`, `1h30m`, `2.5s`, `500ms`). `None` when malformed or longer
/// than Go's `time.Duration` can hold (as `time.ParseDuration` answers "invalid duration").
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    if !(total.is_finite() && total <= GO_MAX_SECONDS) {
        return None;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// The spec fields holding Go durations that the controllers read.
const DURATION_FIELDS: [&str; 5] = [
    "/spec/interval",
    "/spec/timeout",
    "/spec/retryInterval",
    "/spec/install/strategy/retryInterval",
    "/spec/upgrade/strategy/retryInterval",
];

/// The first duration field of `obj`'s spec a controller could not parse, as the error a Flux
/// controller's decoder gives (`spec.interval: time: invalid duration "99999999999999999999h"`).
/// The CRDs' pattern `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$` lets values through that Go cannot
/// hold, so the API server accepts such an object and only the controller finds out.
pub fn invalid_duration(obj: &serde_json::Value) -> Option<String> {
    DURATION_FIELDS.iter().find_map(|pointer| {
        let value = obj.pointer(pointer)?;
        let text = value.as_str().unwrap_or_default();
        if parse_duration(text).is_some() {
            return None;
        }
        let field = pointer.trim_start_matches('/').replace('/', ".");
        Some(format!("{field}: time: invalid duration {value}"))
    })
}

/// Format like Go's `time.Duration.String()`: `5m0s`, `1h0m0s`, `30s`, `2.5s`, `150ms`.
pub fn format_duration(d: Duration) -> String {
    let total = d.as_secs_f64();
    if total == 0.0 {
        return "0s".to_string();
    }
    if total < 1.0 {
        let ms = d.as_secs_f64() * 1000.0;
        return format!("{}ms", trim_float(ms));
    }
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    let secs = trim_float((s * 1000.0).round() / 1000.0);
    if h > 0.0 {
        format!("{h}h{m}m{secs}s")
    } else if m > 0.0 {
        format!("{m}m{secs}s")
    } else {
        format!("{secs}s")
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The speed factor of a running simulation.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub speed: f64,
}

impl Clock {
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Self { speed }
    }

    /// Real time for a nominal duration (at least one millisecond, at most
    /// [`MAX_REAL_DELAY`]).
    pub fn scaled(&self, nominal: Duration) -> Duration {
        let secs = (nominal.as_secs_f64() / self.speed).max(0.001);
        Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_REAL_DELAY)
            .min(MAX_REAL_DELAY)
    }

    /// Nominal time for a real duration (how long an action took, as the controllers report
    /// it); saturates instead of overflowing.
    pub fn nominal(&self, real: Duration) -> Duration {
        Duration::try_from_secs_f64(real.as_secs_f64() * self.speed).unwrap_or(Duration::MAX)
    }

    /// Real time for a nominal Go duration string, with a default when absent or malformed.
    pub fn scaled_str(&self, nominal: Option<&str>, default: Duration) -> Duration {
        self.scaled(nominal.and_then(parse_duration).unwrap_or(default))
    }
}

/// Now, RFC 3339 with seconds (condition and event times).
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2.5s"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
        // Longer than Go's time.Duration (about 292 years): invalid, as in Go.
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(
            parse_duration("2562047h"),
            Some(Duration::from_secs(2562047 * 3600))
        );
        assert_eq!(parse_duration("2562048h"), None);
        assert_eq!(parse_duration("1e400s"), None);
        assert_eq!(format_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(format_duration(Duration::from_millis(150)), "150ms");
    }

    #[test]
    fn speed_compresses() {
        let c = Clock::new(30.0);
        assert_eq!(c.scaled(Duration::from_secs(300)), Duration::from_secs(10));
        assert_eq!(Clock::new(0.0).speed, 1.0);
        // Huge nominal waits and tiny speeds saturate instead of panicking.
        let slow = Clock::new(1e-20);
        assert_eq!(slow.scaled(Duration::from_secs(300)), MAX_REAL_DELAY);
        assert_eq!(slow.scaled(Duration::MAX), MAX_REAL_DELAY);
        assert_eq!(
            Clock::new(1e300).nominal(Duration::from_secs(1)),
            Duration::MAX
        );
        assert_eq!(c.nominal(Duration::from_secs(2)), Duration::from_secs(60));
    }

    #[test]
    fn invalid_durations_are_named_with_their_field() {
        let ok = serde_json::json!({"spec": {"interval": "5m", "timeout": "1h30m"}});
        assert_eq!(invalid_duration(&ok), None);
        assert_eq!(invalid_duration(&serde_json::json!({"spec": {}})), None);
        let huge = serde_json::json!({"spec": {"interval": "99999999999999999999h"}});
        assert_eq!(
            invalid_duration(&huge).as_deref(),
            Some("spec.interval: time: invalid duration \"99999999999999999999h\"")
        );
        let bad = serde_json::json!({"spec": {"interval": "1m", "upgrade": {"strategy": {"retryInterval": 5}}}});
        assert_eq!(
            invalid_duration(&bad).as_deref(),
            Some("spec.upgrade.strategy.retryInterval: time: invalid duration 5")
        );
    }
}
