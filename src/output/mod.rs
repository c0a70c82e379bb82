//! Writers of results over any `io::Write`: the timeline and per-request CSVs
//! and the summary JSON. Which files they go to is decided by the CLI.
//!
//! Floats are written in a fixed format (three decimals) so the same result is
//! always the same bytes.

pub mod compare;
pub mod csv;
pub mod json;
pub mod sweep;

/// Rounds to three decimals, the precision of every float we write.
pub fn round3(x: f64) -> f64 {
    let r = (x * 1000.0).round() / 1000.0;
    // Normalise -0.0 so it prints as 0.
    if r == 0.0 { 0.0 } else { r }
}
