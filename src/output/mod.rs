//! Writers of results over any `io::Write`: the timeline and per-request CSVs
//! and the summary JSON. Which files they go to is decided by the CLI.
//!
//! Floats are written in a fixed format (three decimals) so the same result is
//! always the same bytes.

pub mod alerts;
pub mod compare;
pub mod csv;
pub mod json;
pub mod openmetrics;
pub mod sweep;

/// Rounds to three decimals, the precision of every float we write.
pub fn round3(x: f64) -> f64 {
    let r = (x * 1000.0).round() / 1000.0;
    // Normalise -0.0 so it prints as 0.
    if r == 0.0 { 0.0 } else { r }
}

/// Formats a figure for CSV and tables: six decimals, `-0` as `0`, empty for non-finite.
pub fn fmt6(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let s = format!("{x:.6}");
    if s.trim_start_matches('-').bytes().all(|b| b == b'0' || b == b'.') { "0.000000".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_format() {
        assert_eq!(fmt6(1.0 / 3.0), "0.333333");
        assert_eq!(fmt6(-0.0000001), "0.000000");
        assert_eq!(fmt6(f64::NAN), "");
        assert_eq!(fmt6(42.0), "42.000000");
    }
}
