//! Means and Student-t 95% confidence intervals over replications.
//!
//! The t quantile comes from an exact table for 1 to 30 degrees of freedom and from the
//! Cornish-Fisher expansion beyond (error below 1e-6 there), so no statistics crate is needed
//! and the result is the same on every platform (only `+ - * /` and `sqrt`).

/// t_{0.975, df} for df = 1..=30 (two-sided 95%).
const T975: [f64; 30] = [
    12.706204736,
    4.302652730,
    3.182446305,
    2.776445105,
    2.570581836,
    2.446911851,
    2.364624252,
    2.306004135,
    2.262157163,
    2.228138852,
    2.200985160,
    2.178812830,
    2.160368656,
    2.144786688,
    2.131449546,
    2.119905299,
    2.109815578,
    2.100922040,
    2.093024054,
    2.085963447,
    2.079613845,
    2.073873068,
    2.068657610,
    2.063898562,
    2.059538553,
    2.055529439,
    2.051830516,
    2.048407142,
    2.045229642,
    2.042272456,
];

/// The 0.975 quantile of the standard normal distribution.
const Z975: f64 = 1.959_963_984_540_054;

/// The 0.975 quantile of Student's t with `df` degrees of freedom (`df` ≥ 1).
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        _ => {
            // Cornish-Fisher expansion of the t quantile in powers of 1/df.
            let (z, v) = (Z975, df as f64);
            let z2 = z * z;
            let g1 = (z2 + 1.0) * z / 4.0;
            let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
            let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
            let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
            z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
        }
    }
}

/// Mean and 95% confidence interval of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Number of observations.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Half width of the 95% interval (`None` with fewer than two observations).
    pub half_width: Option<f64>,
}

impl Estimate {
    /// Estimates from the observations (`None` when there are none).
    pub fn of(xs: &[f64]) -> Option<Estimate> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        // Sums in the given order: the order is fixed (replication index), so are the bits.
        let mean = xs.iter().sum::<f64>() / n as f64;
        let half_width = (n >= 2).then(|| {
            let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
            t975(n - 1) * (var / n as f64).sqrt()
        });
        Some(Estimate { n, mean, half_width })
    }

    /// Lower end of the interval (the mean without one).
    pub fn low(&self) -> f64 {
        self.mean - self.half_width.unwrap_or(0.0)
    }

    /// Upper end of the interval (the mean without one).
    pub fn high(&self) -> f64 {
        self.mean + self.half_width.unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn t_quantiles_match_published_values() {
        assert!((t975(1) - 12.7062).abs() < 1e-4);
        assert!((t975(4) - 2.7764).abs() < 1e-4);
        // Beyond the table the expansion takes over; reference values from R's qt(0.975, df).
        for (df, t) in
            [(31, 2.039513446), (40, 2.021075383), (60, 2.000297822), (120, 1.979930405), (1000, 1.962339081)]
        {
            assert!((t975(df) - t).abs() < 2e-6, "df {df}: {} vs {t}", t975(df));
        }
        assert!((t975(1_000_000) - Z975).abs() < 1e-5);
    }

    #[test]
    fn interval_on_a_sample_of_known_variance() {
        // 1..=5: mean 3, sample variance 2.5, half width t(4) * sqrt(2.5 / 5).
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(e.mean, 3.0);
        let hw = 2.776445105 * (0.5f64).sqrt();
        assert!((e.half_width.unwrap() - hw).abs() < 1e-9);
        assert!((e.low() - (3.0 - hw)).abs() < 1e-12 && (e.high() - (3.0 + hw)).abs() < 1e-12);
        let one = Estimate::of(&[7.0]).unwrap();
        assert_eq!((one.mean, one.half_width, one.low(), one.high()), (7.0, None, 7.0, 7.0));
        assert!(Estimate::of(&[]).is_none());
        assert_eq!(Estimate::of(&[2.0, 2.0]).unwrap().half_width, Some(0.0));
    }

    #[test]
    fn intervals_cover_the_true_mean_95_percent_of_the_time() {
        // 4000 samples of 5 normal draws (mean 10, sd 3); coverage is Binomial(4000, 0.95):
        // sd sqrt(0.95 * 0.05 / 4000) = 0.0034, so ±0.015 is more than 4 sd.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let trials = 4000;
        let mut covered = 0;
        for _ in 0..trials {
            let xs: Vec<f64> = (0..5)
                .map(|_| {
                    let mut unit = || ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
                    let (u1, u2) = (unit(), unit());
                    10.0 + 3.0 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                })
                .collect();
            let e = Estimate::of(&xs).unwrap();
            covered += usize::from(e.low() <= 10.0 && 10.0 <= e.high());
        }
        let rate = covered as f64 / trials as f64;
        assert!((rate - 0.95).abs() < 0.015, "coverage {rate} (seed 7)");
    }
}
