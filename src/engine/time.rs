//! Simulated time as integer nanoseconds.
//!
//! Integer time makes ties exact (two events at "the same time" really are at the
//! same time) and arithmetic free of accumulated rounding; `u64` nanoseconds cover
//! 584 years. Nothing here reads the wall clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A point on the simulated clock, in nanoseconds since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The end of representable time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds since the start.
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds since the start, as a float (for output only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span; used as "forever".
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A whole number of seconds (saturating).
    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s.saturating_mul(NANOS_PER_SEC))
    }
    /// A whole number of milliseconds (saturating).
    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms.saturating_mul(1_000_000))
    }
    /// Seconds as a float, rounded to the nearest nanosecond; negative and NaN become
    /// zero, values past the representable range saturate.
    #[inline]
    pub fn from_secs_f64(s: f64) -> SimDuration {
        // Bit for bit `(s * 1e9).round()` (half away from zero), then clamped, but
        // without the call into libm's `round` that baseline x86-64 cannot inline:
        // every sampled hold and arrival gap passes through here.
        SimDuration::from_nanos_f64(s * NANOS_PER_SEC as f64)
    }
    /// From float nanoseconds, rounded to the nearest nanosecond (half away
    /// from zero) and clamped to `[0, MAX]`; NaN gives zero.
    #[inline]
    pub fn from_nanos_f64(x: f64) -> SimDuration {
        // `round(x) <= 0` exactly when `x < 0.5`; NaN is not `>= 0.5` either.
        if x.is_nan() || x < 0.5 {
            return SimDuration::ZERO;
        }
        // Below 2^52 ns (52 days), `x + 0.5` truncated is the rounded value:
        // an add and a conversion (through the signed integers, one
        // instruction where the unsigned conversion is a sequence). This sits
        // on the dependency chain of every sampled hold and arrival, so its
        // latency is the engine's. Why it is exact: the doubles in [2^(k-1),
        // 2^k) are multiples of 2^(k-53), so for k <= 52 one half is one of
        // them too, and `x + 0.5` is computed exactly unless it reaches the
        // next power of two 2^k; then x >= 2^k - 0.5, the sum rounds to at
        // most 2^k + 0.5 (a double), and both the truncation and round(x) are
        // 2^k.
        if x < 4_503_599_627_370_496.0 {
            return SimDuration((x + 0.5) as i64 as u64);
        }
        // From 2^52 on every double is a whole number. 2^64 = u64::MAX as f64,
        // and `round(x) >= 2^64` exactly when `x >= 2^64`.
        if x < 9_223_372_036_854_775_808.0 {
            SimDuration(x as i64 as u64)
        } else if x >= u64::MAX as f64 {
            SimDuration::MAX
        } else {
            SimDuration(x as u64)
        }
    }
    /// Nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Milliseconds as a float.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }
    /// Whether this is the zero span.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturates at [`SimTime::MAX`], so "forever" timers never wrap around.
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Saturates at zero.
    fn sub(self, other: SimTime) -> SimDuration {
        self.saturating_since(other)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimDuration {
    /// Human form such as `1s 500ms`, the form scenario files use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        const PARTS: [(u64, &str); 7] = [
            (86_400 * NANOS_PER_SEC, "d"),
            (3_600 * NANOS_PER_SEC, "h"),
            (60 * NANOS_PER_SEC, "m"),
            (NANOS_PER_SEC, "s"),
            (1_000_000, "ms"),
            (1_000, "us"),
            (1, "ns"),
        ];
        let mut rest = self.0;
        let mut first = true;
        for (size, unit) in PARTS {
            let n = rest / size;
            rest %= size;
            if n > 0 {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{n}{unit}")?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}", SimDuration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(SimTime::MAX + SimDuration::from_secs(1), SimTime::MAX);
        assert_eq!(SimTime(5) - SimTime(9), SimDuration::ZERO);
    }

    #[test]
    fn float_seconds_round_to_the_nearest_nanosecond() {
        assert_eq!(SimDuration::from_secs_f64(1.5), SimDuration(1_500_000_000));
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(1e30), SimDuration::MAX);
    }

    /// The reference: the formula `from_secs_f64` had before it avoided libm's `round`.
    fn reference(s: f64) -> SimDuration {
        reference_ns(s * NANOS_PER_SEC as f64)
    }

    fn reference_ns(x: f64) -> SimDuration {
        let ns = x.round();
        if ns.is_nan() || ns <= 0.0 {
            SimDuration::ZERO
        } else if ns >= u64::MAX as f64 {
            SimDuration::MAX
        } else {
            SimDuration(ns as u64)
        }
    }

    #[test]
    fn float_seconds_convert_bit_for_bit_like_round() {
        // Halves, neighbours of halves, the ends of the range, and many random doubles.
        let mut cases: Vec<f64> = vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            0.5e-9,
            0.499_999_999_999_999_9e-9,
            1.5e-9,
            2.5e-9,
            (2f64.powi(52) + 0.5) / 1e9,
            (2f64.powi(53) + 2.0) / 1e9,
            2f64.powi(64) / 1e9,
            (2f64.powi(64) - 4096.0) / 1e9,
            1e10,
            -3.0,
        ];
        for k in 0..2000u64 {
            let x = (k as f64 + 0.5) * 1e-9;
            cases.extend([x, f64::from_bits(x.to_bits() + 1), f64::from_bits(x.to_bits() - 1)]);
        }
        let mut state = 0x1234_5678_u64;
        for _ in 0..200_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Random bit patterns over all positive exponents of interest, and plain uniforms.
            let bits = (state >> 12) | (((state >> 2) % 0x440 + 0x300) << 52);
            cases.push(f64::from_bits(bits));
            cases.push((state >> 11) as f64 / (1u64 << 53) as f64 * 1e4);
        }
        for s in cases {
            assert_eq!(SimDuration::from_secs_f64(s), reference(s), "s = {s:e} ({:#x})", s.to_bits());
        }
        // Both sides of the switch from the signed fast path at 2^63 ns.
        let edge = 2f64.powi(63);
        for x in [edge, edge - 1024.0, edge + 2048.0, f64::from_bits(edge.to_bits() - 7), 2f64.powi(62) + 0.5] {
            assert_eq!(SimDuration::from_nanos_f64(x), reference_ns(x), "x = {x:e}");
        }
        // In nanoseconds: halves and their neighbours at every scale (below a
        // power of two, `x + 0.5` reaches it and is rounded), and whole
        // numbers around 2^52 and 2^53, where `x + 0.5` would round to even
        // (this fails if the add-and-truncate path is taken up to 2^53).
        for e in 0..63 {
            for k in [0.0, 1.0, 2.0, 3.0, 1000.0] {
                let m = 2f64.powi(e) + k;
                for x in [m - 0.5, m, m + 0.5] {
                    for d in -3i64..=3 {
                        let y = f64::from_bits(x.to_bits().wrapping_add_signed(d));
                        assert_eq!(SimDuration::from_nanos_f64(y), reference_ns(y), "x = {y:e} ({:#x})", y.to_bits());
                    }
                }
            }
        }
    }

    #[test]
    fn displays_in_scenario_units() {
        assert_eq!(SimDuration::from_millis(1500).to_string(), "1s 500ms");
        assert_eq!(SimDuration::ZERO.to_string(), "0s");
        assert_eq!(SimDuration::from_secs(3723).to_string(), "1h 2m 3s");
    }
}
