//! Parsing of durations (`250ms`, `1.5s`, `2m`, `1h 30m`) and rates (`9/s`, `540/m`).
//!
//! Our own small parser rather than humantime's: it accepts only the units a
//! pool setting can sensibly use (no months or years, where `M` vs `m` is a trap),
//! is exact to the nanosecond for decimal input, and gives messages that show
//! the right form.

use crate::engine::SimDuration;

/// Units a duration may be written in, with their length in nanoseconds.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("sec", 1_000_000_000),
    ("secs", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("mins", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("hr", 3_600_000_000_000),
    ("hours", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("days", 86_400_000_000_000),
];

/// The longest duration a scenario may state: 10 years of simulated time.
pub const MAX_DURATION: SimDuration = SimDuration(10 * 365 * 86_400 * 1_000_000_000);

/// Parses a duration such as `250ms`, `1.5s`, `2m`, `1h 30m` or `0`.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("expected a duration with a unit, e.g. `250ms`, `1.5s`, `2m`; found nothing".into());
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    if s.starts_with('-') {
        return Err(format!("duration `{s}` is negative; durations are zero or more"));
    }
    if s.parse::<f64>().is_ok() {
        return Err(format!("duration `{s}` has no unit; write e.g. `{s}ms` or `{s}s`"));
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() {
            return Err(format!(
                "invalid duration `{s}`: expected a number before `{rest}` (durations look like `250ms`, `1.5s`, `2m`)"
            ));
        }
        rest = rest[num_len..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        if unit.is_empty() {
            return Err(format!("duration `{s}`: the number `{num}` has no unit; write e.g. `{num}ms` or `{num}s`"));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            let hint = if unit == "M" || unit.starts_with("mo") || unit.starts_with('y') || unit.starts_with('w') {
                " (months, weeks and years are not accepted; use `m` for minutes)"
            } else {
                ""
            };
            return Err(format!(
                "duration `{s}` has an unknown unit `{unit}`{hint}; use ns, us, ms, s, m, h or d, e.g. `250ms`, `1.5s`, `2m`"
            ));
        };
        total = total.saturating_add(
            decimal_times(num, scale).ok_or_else(|| format!("invalid number `{num}` in duration `{s}`"))?,
        );
    }
    if total > MAX_DURATION.0 as u128 {
        return Err(format!("duration `{s}` is longer than the 10 years a scenario may simulate"));
    }
    Ok(SimDuration(total as u64))
}

/// `num` (a decimal like `1.5` or `1_000`) times `scale`, rounded to an integer.
fn decimal_times(num: &str, scale: u64) -> Option<u128> {
    let num: String = num.chars().filter(|&c| c != '_').collect();
    let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int.checked_mul(scale as u128)?;
    let mut place = scale as u128;
    for (i, c) in frac.chars().enumerate() {
        let d = c.to_digit(10)? as u128;
        if i >= 30 {
            break;
        }
        // Exact while scale/10^k is whole, then rounds half up on the remaining digit.
        if place.is_multiple_of(10) {
            place /= 10;
            value += d * place;
        } else {
            if d >= 5 {
                value += 1;
            }
            break;
        }
    }
    Some(value)
}

/// The largest arrival rate a scenario may state, per second.
pub const MAX_RATE_PER_S: f64 = 1e8;

/// Parses a rate such as `9/s`, `540/m`, `0.5/s` or `3600/h` into requests per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let form = "write a rate as `COUNT/UNIT`, e.g. `9/s`, `540/m`, `0.5/s`";
    let Some((num, unit)) = s.split_once('/') else {
        return Err(if s.parse::<f64>().is_ok() {
            format!("rate `{s}` has no unit; {form}")
        } else {
            format!("invalid rate `{s}`; {form}")
        });
    };
    let n: f64 = num
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("invalid rate `{s}`: `{}` is not a number; {form}", num.trim()))?;
    if !n.is_finite() {
        return Err(format!("rate `{s}` is not a finite number; {form}"));
    }
    if n < 0.0 {
        return Err(format!("rate `{s}` is negative; rates are zero or more"));
    }
    let per = match unit.trim() {
        "s" | "sec" | "1s" => 1.0,
        "m" | "min" | "1m" => 60.0,
        "h" | "hr" | "hour" | "1h" => 3600.0,
        other => return Err(format!("rate `{s}` has an unknown unit `{other}`; use /s, /m or /h")),
    };
    let r = n / per;
    if r > MAX_RATE_PER_S {
        return Err(format!(
            "rate `{s}` is above the {MAX_RATE_PER_S:e}/s a simulation can process in reasonable time"
        ));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_all_accepted_forms() {
        let ns = |s| parse_duration(s).unwrap().0;
        assert_eq!(ns("250ms"), 250_000_000);
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns("2m"), 120_000_000_000);
        assert_eq!(ns("1h 30m"), 5_400_000_000_000);
        assert_eq!(ns("1h30m"), 5_400_000_000_000);
        assert_eq!(ns("0.5ms"), 500_000);
        assert_eq!(ns("10µs"), 10_000);
        assert_eq!(ns("0"), 0);
        assert_eq!(ns("0s"), 0);
        assert_eq!(ns("1.0000000005s"), 1_000_000_001);
        assert_eq!(ns("1_000ms"), 1_000_000_000);
    }

    #[test]
    fn bad_durations_say_how_to_write_them() {
        assert!(parse_duration("250").unwrap_err().contains("`250ms`"));
        assert!(parse_duration("2M").unwrap_err().contains("months"));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit `parsecs`"));
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(parse_duration("ms").unwrap_err().contains("expected a number"));
        assert!(parse_duration("100000d").unwrap_err().contains("10 years"));
        assert!(parse_duration("1..5s").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("9/s").unwrap(), 9.0);
        assert_eq!(parse_rate("540/m").unwrap(), 9.0);
        assert_eq!(parse_rate("3600/h").unwrap(), 1.0);
        assert!(parse_rate("9").unwrap_err().contains("no unit"));
        assert!(parse_rate("nan/s").is_err());
        assert!(parse_rate("inf/s").unwrap_err().contains("finite"));
        assert!(parse_rate("1e12/s").unwrap_err().contains("above"));
        assert!(parse_rate("-1/s").unwrap_err().contains("negative"));
    }
}
