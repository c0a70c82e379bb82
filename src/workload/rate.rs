//! Open-loop arrival rates that may step or ramp over time.
//!
//! A [`RateProfile`] is piecewise linear in time (k6's `ramping-arrival-rate`:
//! a start rate, then stages that move linearly to a target over a duration; a
//! zero duration is a step). After the last stage the rate stays at the last
//! target. Arrivals are found by inverting the cumulative rate
//! Λ(t) = ∫ rate: a constant process arrives whenever Λ grows by 1, a Poisson
//! process whenever it grows by an Exp(1) draw. One code path serves both, and a
//! non-homogeneous Poisson process comes out exact (no thinning).

/// How arrivals are spaced for a given rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrivalProcess {
    /// Evenly spaced: one arrival each time the cumulative rate grows by 1.
    Constant,
    /// Poisson: exponential gaps (the M in M/M/c).
    Poisson,
}

/// One stage of a rate profile: move linearly to `target_per_s` over `duration_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStage {
    /// Length of the stage in seconds (0 = an instant step).
    pub duration_s: f64,
    /// Rate at the end of the stage, per second.
    pub target_per_s: f64,
}

/// A piecewise-linear rate over time, relative to the workload's start.
#[derive(Debug, Clone, PartialEq)]
pub struct RateProfile {
    /// Segments as (start_s, length_s, rate at start, rate at end); the last one is open-ended.
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    start: f64,
    len: f64, // f64::INFINITY for the final, constant segment
    r0: f64,
    slope: f64,
}

impl RateProfile {
    /// A constant rate.
    pub fn constant(rate_per_s: f64) -> RateProfile {
        RateProfile::staged(rate_per_s, &[])
    }

    /// A start rate followed by linear stages; the last target holds afterwards.
    pub fn staged(start_per_s: f64, stages: &[RateStage]) -> RateProfile {
        let mut segments = Vec::with_capacity(stages.len() + 1);
        let (mut t, mut r) = (0.0, start_per_s);
        for s in stages {
            if s.duration_s > 0.0 {
                let slope = (s.target_per_s - r) / s.duration_s;
                segments.push(Segment { start: t, len: s.duration_s, r0: r, slope });
                t += s.duration_s;
            }
            r = s.target_per_s;
        }
        segments.push(Segment { start: t, len: f64::INFINITY, r0: r, slope: 0.0 });
        RateProfile { segments }
    }

    /// The rate at `t_s` seconds after the start.
    pub fn rate_at(&self, t_s: f64) -> f64 {
        let seg = self.segments.iter().rev().find(|s| s.start <= t_s).unwrap_or(&self.segments[0]);
        seg.r0 + seg.slope * (t_s - seg.start).min(seg.len)
    }

    /// The highest rate anywhere in the profile.
    pub fn peak(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| if s.len.is_finite() { s.r0.max(s.r0 + s.slope * s.len) } else { s.r0 })
            .fold(0.0, f64::max)
    }

    /// Expected arrivals in `[0, t_s)`: Λ(t_s).
    pub fn cumulative(&self, t_s: f64) -> f64 {
        let mut total = 0.0;
        for s in &self.segments {
            if t_s <= s.start {
                break;
            }
            let d = (t_s - s.start).min(s.len);
            total += s.r0 * d + 0.5 * s.slope * d * d;
        }
        total
    }

    /// The time `t >= from_s` at which Λ(t) − Λ(from_s) = `budget`, or `None` if the
    /// rate stays too low ever to get there. `hint` is the segment index where the
    /// search starts (pass back the returned one: arrivals move forward, so the
    /// search is O(1) amortised).
    #[inline]
    pub fn advance(&self, from_s: f64, budget: f64, hint: &mut usize) -> Option<f64> {
        // Already in the final, constant segment (a constant rate always is): the
        // walk below would compute exactly this expression.
        let last = self.segments.len() - 1;
        if *hint == last {
            let s = &self.segments[last];
            if s.slope == 0.0 && s.r0 > 0.0 && from_s >= s.start {
                return Some(s.start + (from_s - s.start) + budget / s.r0);
            }
        }
        self.walk(from_s, budget, hint)
    }

    /// The general case of [`advance`](Self::advance): walks the segments from `hint`.
    fn walk(&self, from_s: f64, mut budget: f64, hint: &mut usize) -> Option<f64> {
        let mut i = (*hint).min(self.segments.len() - 1);
        while i + 1 < self.segments.len() && self.segments[i + 1].start <= from_s {
            i += 1;
        }
        let mut tau = from_s - self.segments[i].start; // position inside segment i
        loop {
            let s = &self.segments[i];
            let rate_here = s.r0 + s.slope * tau;
            // Integral available from tau to the segment's end.
            let rest = s.len - tau;
            if s.slope == 0.0 {
                if rate_here > 0.0 && budget <= rate_here * rest {
                    *hint = i;
                    return Some(s.start + tau + budget / rate_here);
                }
            } else {
                let avail = rate_here * rest + 0.5 * s.slope * rest * rest;
                if budget <= avail {
                    // Solve rate_here*x + slope/2*x^2 = budget for the smallest x >= 0,
                    // in the cancellation-free form x = 2b / (r + sqrt(r^2 + 2 g b)).
                    let disc = (rate_here * rate_here + 2.0 * s.slope * budget).max(0.0);
                    let denom = rate_here + disc.sqrt();
                    if denom > 0.0 {
                        *hint = i;
                        return Some(s.start + tau + 2.0 * budget / denom);
                    }
                }
                budget -= avail.max(0.0);
            }
            if !s.len.is_finite() {
                return None;
            }
            if s.slope == 0.0 {
                budget -= (rate_here * rest).max(0.0);
            }
            i += 1;
            tau = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_spaces_arrivals_evenly() {
        let p = RateProfile::constant(4.0);
        let mut hint = 0;
        let t = p.advance(1.0, 1.0, &mut hint).unwrap();
        assert!((t - 1.25).abs() < 1e-12);
    }

    #[test]
    fn zero_rate_never_arrives() {
        let p = RateProfile::constant(0.0);
        assert_eq!(p.advance(0.0, 1.0, &mut 0), None);
    }

    #[test]
    fn ramp_inverts_the_cumulative_rate() {
        // 0 -> 10/s over 10 s, then 10/s: Λ(t) = t^2/2 on the ramp.
        let p = RateProfile::staged(0.0, &[RateStage { duration_s: 10.0, target_per_s: 10.0 }]);
        let mut hint = 0;
        let t = p.advance(0.0, 8.0, &mut hint).unwrap();
        assert!((t - 4.0).abs() < 1e-9, "{t}");
        // Crossing into the flat part: Λ(10) = 50, so 60 arrives at 11 s.
        let t2 = p.advance(0.0, 60.0, &mut 0).unwrap();
        assert!((t2 - 11.0).abs() < 1e-9, "{t2}");
        assert!((p.cumulative(11.0) - 60.0).abs() < 1e-9);
    }

    #[test]
    fn ramp_down_to_zero_stops_arrivals() {
        let p = RateProfile::staged(10.0, &[RateStage { duration_s: 2.0, target_per_s: 0.0 }]);
        // Λ(2) = 10: budget 10 is reached exactly at the end, 10.5 never.
        assert!((p.advance(0.0, 10.0, &mut 0).unwrap() - 2.0).abs() < 1e-6);
        assert_eq!(p.advance(0.0, 10.5, &mut 0), None);
    }

    #[test]
    fn steps_are_instant() {
        let p = RateProfile::staged(
            1.0,
            &[
                RateStage { duration_s: 0.0, target_per_s: 1.0 },
                RateStage { duration_s: 5.0, target_per_s: 1.0 },
                RateStage { duration_s: 0.0, target_per_s: 100.0 },
            ],
        );
        assert_eq!(p.rate_at(4.9), 1.0);
        assert_eq!(p.rate_at(5.0), 100.0);
        assert_eq!(p.peak(), 100.0);
        let t = p.advance(5.0, 1.0, &mut 0).unwrap();
        assert!((t - 5.01).abs() < 1e-12);
    }
}
