//! Duration distributions for hold times, overheads and think times.
//!
//! Every sampler is written here (ziggurat, inversion) over a [`StreamRng`], so
//! a draw depends only on the stream, never on a dependency's algorithm choice.
//! Draws are non-negative by construction (the normal is truncated at zero by
//! rejection, as the scenario docs say).

use std::sync::Arc;

use crate::engine::{SimDuration, StreamRng};

/// z-score of the 99th percentile of the standard normal.
const Z99: f64 = 2.326_347_874_040_840_8;

/// A distribution of non-negative durations.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Constant(SimDuration),
    /// Uniform between `min` and `max` (inclusive of `min`).
    Uniform {
        /// Smallest value.
        min: SimDuration,
        /// Largest value.
        max: SimDuration,
    },
    /// Exponential with the given mean (memoryless; the M in M/M/c).
    Exponential {
        /// Mean of the distribution.
        mean: SimDuration,
    },
    /// Normal with `mean` and `stddev`, truncated at zero (negative draws are redrawn).
    Normal {
        /// Mean before truncation.
        mean: SimDuration,
        /// Standard deviation before truncation.
        stddev: SimDuration,
    },
    /// Log-normal given by its median and 99th percentile, the two figures a
    /// latency dashboard shows.
    LogNormal {
        /// Median of the distribution.
        median: SimDuration,
        /// 99th percentile; must exceed the median.
        p99: SimDuration,
        /// Standard deviation of the underlying normal, from the two above
        /// (build with [`Dist::lognormal`]).
        sigma: f64,
    },
    /// Uniform choice among observed values (nanoseconds), e.g. from a trace.
    Empirical(Arc<[u64]>),
}

impl Dist {
    /// A log-normal with this median and 99th percentile (`p99 > median > 0`).
    pub fn lognormal(median: SimDuration, p99: SimDuration) -> Dist {
        let sigma = (p99.as_secs_f64() / median.as_secs_f64()).ln() / Z99;
        Dist::LogNormal { median, p99, sigma }
    }

    /// Draws one duration.
    #[inline(always)]
    pub fn sample(&self, rng: &mut StreamRng) -> SimDuration {
        match self {
            Dist::Constant(d) => *d,
            Dist::Uniform { min, max } => {
                let span = (max.0 - min.0) as f64;
                SimDuration(min.0 + (rng.unit() * span) as u64)
            }
            // In nanoseconds throughout: no division on the hot path.
            Dist::Exponential { mean } => SimDuration::from_nanos_f64(mean.0 as f64 * rng.exp1()),
            Dist::Normal { mean, stddev } => {
                let (m, s) = (mean.0 as f64, stddev.0 as f64);
                // Validation requires mean > 0, so each try succeeds with p >= 1/2;
                // the cap only guards against pathological input.
                for _ in 0..64 {
                    let x = m + s * rng.std_normal();
                    if x >= 0.0 {
                        return SimDuration::from_nanos_f64(x);
                    }
                }
                SimDuration::ZERO
            }
            // exp(mu + sigma z) with mu = ln(median).
            Dist::LogNormal { median, sigma, .. } => {
                SimDuration::from_nanos_f64(median.0 as f64 * (sigma * rng.std_normal()).exp())
            }
            Dist::Empirical(values) => SimDuration(values[rng.below(values.len() as u64) as usize]),
        }
    }

    /// The mean in seconds (of the truncated distribution for `Normal`).
    pub fn mean_secs(&self) -> f64 {
        match self {
            Dist::Constant(d) => d.as_secs_f64(),
            Dist::Uniform { min, max } => (min.as_secs_f64() + max.as_secs_f64()) / 2.0,
            Dist::Exponential { mean } => mean.as_secs_f64(),
            Dist::Normal { mean, stddev } => {
                let (m, s) = (mean.as_secs_f64(), stddev.as_secs_f64());
                if s == 0.0 {
                    return m;
                }
                // Mean of N(m, s) truncated to [0, inf): m + s * phi(a) / (1 - Phi(a)), a = -m/s.
                let a = -m / s;
                let phi = (-0.5 * a * a).exp() / (std::f64::consts::TAU).sqrt();
                let tail = 0.5 * erfc(a / std::f64::consts::SQRT_2);
                m + s * phi / tail
            }
            Dist::LogNormal { median, sigma, .. } => median.as_secs_f64() * (sigma * sigma / 2.0).exp(),
            Dist::Empirical(values) => values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64 / 1e9,
        }
    }

    /// Whether every draw is the same value (lets the model skip an event when it is zero).
    pub fn constant_value(&self) -> Option<SimDuration> {
        match self {
            Dist::Constant(d) => Some(*d),
            _ => None,
        }
    }

    /// Whether this is the exponential distribution (an assumption of the queueing formulas).
    pub fn is_exponential(&self) -> bool {
        matches!(self, Dist::Exponential { .. })
    }

    /// The distribution's name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Dist::Constant(_) => "constant",
            Dist::Uniform { .. } => "uniform",
            Dist::Exponential { .. } => "exponential",
            Dist::Normal { .. } => "normal",
            Dist::LogNormal { .. } => "lognormal",
            Dist::Empirical(_) => "empirical",
        }
    }
}

/// Complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RngStreams, StreamId};

    fn draws(d: &Dist, n: usize) -> Vec<f64> {
        let mut r = RngStreams::new(3).stream(StreamId::new(2, 0));
        (0..n).map(|_| d.sample(&mut r).as_secs_f64()).collect()
    }

    fn quantile(xs: &mut [f64], q: f64) -> f64 {
        xs.sort_by(f64::total_cmp);
        xs[((xs.len() as f64 - 1.0) * q) as usize]
    }

    #[test]
    fn sample_means_match_the_stated_means() {
        let ms = SimDuration::from_millis;
        let cases = [
            Dist::Constant(ms(250)),
            Dist::Uniform { min: ms(100), max: ms(300) },
            Dist::Exponential { mean: ms(1000) },
            Dist::Normal { mean: ms(100), stddev: ms(80) },
            Dist::lognormal(ms(50), ms(400)),
            Dist::Empirical(Arc::from(vec![10_000_000u64, 20_000_000, 60_000_000])),
        ];
        for d in &cases {
            let n = 400_000;
            let xs = draws(d, n);
            let mean = xs.iter().sum::<f64>() / n as f64;
            let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            // Five standard errors: a false alarm is a one-in-a-million event.
            let tol = 5.0 * sd / (n as f64).sqrt() + 1e-9;
            assert!((mean - d.mean_secs()).abs() <= tol, "{d:?}: {mean} vs {}", d.mean_secs());
            assert!(xs.iter().all(|&x| x >= 0.0));
        }
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let d = Dist::lognormal(SimDuration::from_millis(50), SimDuration::from_millis(400));
        let mut xs = draws(&d, 200_000);
        let med = quantile(&mut xs, 0.5);
        let p99 = quantile(&mut xs, 0.99);
        assert!((med - 0.050).abs() < 0.001, "median {med}");
        assert!((p99 - 0.400).abs() < 0.02, "p99 {p99}");
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }
}
