//! Seeded random streams, one per source of randomness.
//!
//! Each stream is `ChaCha8Rng::seed_from_u64(seed)` switched to its own ChaCha
//! stream number, which is a stable function of *what* draws (arrivals of workload
//! k, hold times of class k, ...), never of when or in which order streams were
//! created. Adding a new source therefore leaves every existing stream, and so the
//! arrival times, unchanged: this is what makes `compare` and `sweep` fair
//! (common random numbers). Samplers live here too so their algorithms are ours
//! and cannot change under a dependency upgrade.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ziggurat;

/// Names what draws from a stream: a kind and an index within the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// What kind of source draws (see the constants on [`StreamId`]).
    pub kind: u32,
    /// Which one of that kind (workload index, class index, job index...).
    pub index: u32,
}

impl StreamId {
    /// Inter-arrival gaps of an open-loop workload.
    pub const ARRIVALS: u32 = 1;
    /// Hold times of the requests a workload sends.
    pub const HOLD: u32 = 2;
    /// Overhead (time outside the pool) of the requests a workload sends.
    pub const OVERHEAD: u32 = 3;
    /// Think times of a closed-loop workload's users.
    pub const THINK: u32 = 4;

    /// Builds a stream id.
    pub const fn new(kind: u32, index: u32) -> StreamId {
        StreamId { kind, index }
    }
    fn number(self) -> u64 {
        ((self.kind as u64) << 32) | self.index as u64
    }
}

/// Hands out independent, reproducible streams for one run.
#[derive(Debug, Clone, Copy)]
pub struct RngStreams {
    seed: u64,
}

impl RngStreams {
    /// Streams for a run with this seed.
    pub fn new(seed: u64) -> RngStreams {
        RngStreams { seed }
    }
    /// The stream named `id`; the same (seed, id) always gives the same sequence.
    pub fn stream(&self, id: StreamId) -> StreamRng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(id.number());
        StreamRng { rng }
    }
}

/// One random stream with the samplers the model needs.
#[derive(Debug, Clone)]
pub struct StreamRng {
    rng: ChaCha8Rng,
}

impl StreamRng {
    /// A uniform draw in [0, 1) with 53 random bits.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// A uniform draw in (0, 1]: safe to take the logarithm of.
    #[inline]
    pub fn unit_open0(&mut self) -> f64 {
        1.0 - self.unit()
    }
    /// A uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift
    /// (bias below 2^-32 for the sizes used here).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.rng.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// An exponential draw with mean 1, by the ziggurat method (see `ziggurat`).
    /// The common case is inlined; tails and wedges are handled out of line.
    #[inline(always)]
    pub fn exp1(&mut self) -> f64 {
        let t = &*ziggurat::EXP;
        let (i, z) = Self::across(t, self.rng.next_u64());
        if z < t.x[i + 1] {
            return z;
        }
        self.exp1_rest(i, z)
    }

    /// The rare part of [`exp1`](Self::exp1): the point `z` fell outside strip
    /// `i`'s core rectangle (into the tail or a wedge), or a redraw.
    #[cold]
    #[inline(never)]
    fn exp1_rest(&mut self, mut i: usize, mut z: f64) -> f64 {
        let t = &*ziggurat::EXP;
        loop {
            if z < t.x[i + 1] {
                return z;
            }
            if i == 0 {
                // Beyond r the exponential is r plus a fresh exponential (no memory).
                return ziggurat::EXP_R - self.unit_open0().ln();
            }
            if t.in_wedge(i, self.unit(), (-z).exp()) {
                return z;
            }
            (i, z) = Self::across(t, self.rng.next_u64());
        }
    }

    /// A standard normal draw, by the ziggurat method (see `ziggurat`), with
    /// Marsaglia's (1964) method in the tail. The common case is inlined.
    #[inline(always)]
    pub fn std_normal(&mut self) -> f64 {
        let t = &*ziggurat::NORMAL;
        let bits = self.rng.next_u64();
        let (i, z) = Self::across(t, bits);
        if z < t.x[i + 1] {
            return Self::signed(bits, z);
        }
        self.std_normal_rest(bits, i, z)
    }

    /// The rare part of [`std_normal`](Self::std_normal) (see [`exp1_rest`](Self::exp1_rest)).
    #[cold]
    #[inline(never)]
    fn std_normal_rest(&mut self, mut bits: u64, mut i: usize, mut z: f64) -> f64 {
        let t = &*ziggurat::NORMAL;
        loop {
            if z < t.x[i + 1] {
                return Self::signed(bits, z);
            }
            if i == 0 {
                let r = ziggurat::NORMAL_R;
                loop {
                    let a = -self.unit_open0().ln() / r;
                    let b = -self.unit_open0().ln();
                    if 2.0 * b >= a * a {
                        return Self::signed(bits, r + a);
                    }
                }
            }
            if t.in_wedge(i, self.unit(), (-0.5 * z * z).exp()) {
                return Self::signed(bits, z);
            }
            bits = self.rng.next_u64();
            (i, z) = Self::across(t, bits);
        }
    }

    /// `z` with the sign given by bit 8 of the word it was drawn from.
    #[inline(always)]
    fn signed(bits: u64, z: f64) -> f64 {
        if bits & 0x100 == 0 { z } else { -z }
    }

    /// Strip (the low 8 bits) and a point across it (the top 53 bits) from one
    /// random word; bit 8 is left for a sign.
    #[inline(always)]
    fn across(t: &ziggurat::Ziggurat, bits: u64) -> (usize, f64) {
        let i = (bits & 0xff) as usize;
        let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        (i, u * t.x[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_stream_give_the_same_sequence() {
        let s = RngStreams::new(42);
        let a: Vec<f64> = (0..5)
            .map({
                let mut r = s.stream(StreamId::new(1, 0));
                move |_| r.unit()
            })
            .collect();
        let b: Vec<f64> = (0..5)
            .map({
                let mut r = s.stream(StreamId::new(1, 0));
                move |_| r.unit()
            })
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn different_streams_and_seeds_differ() {
        let s = RngStreams::new(42);
        let a = s.stream(StreamId::new(1, 0)).unit();
        let b = s.stream(StreamId::new(1, 1)).unit();
        let c = RngStreams::new(43).stream(StreamId::new(1, 0)).unit();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    /// The ziggurat draws follow the exact distributions, tails and wedges
    /// included: the empirical CDF at points in the body, in the wedges and far
    /// in the tails is within five standard errors of the true one.
    #[test]
    fn ziggurat_draws_follow_the_exact_distributions() {
        let n = 2_000_000;
        let mut r = RngStreams::new(11).stream(StreamId::new(9, 1));
        let exp: Vec<f64> = (0..n).map(|_| r.exp1()).collect();
        let normal: Vec<f64> = (0..n).map(|_| r.std_normal()).collect();
        let check = |xs: &[f64], at: f64, p: f64, what: &str| {
            let got = xs.iter().filter(|&&x| x <= at).count() as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((got - p).abs() < 5.0 * se + 1e-9, "{what}: P(X <= {at}) = {got}, expected {p}");
        };
        for at in [0.001, 0.1, 0.5, 1.0, 2.0, 4.0, 7.0, 7.7, 8.5, 10.0] {
            check(&exp, at, 1.0 - f64::exp(-at), "exponential");
        }
        // Standard normal CDF values (Abramowitz & Stegun tables).
        for (at, p) in [
            (-3.8, 7.234_804e-5),
            (-3.0, 0.001_349_898),
            (-1.0, 0.158_655_254),
            (-0.1, 0.460_172_163),
            (0.0, 0.5),
            (0.5, 0.691_462_461),
            (2.0, 0.977_249_868),
            (3.7, 0.999_892_201),
        ] {
            check(&normal, at, p, "normal");
        }
        assert!(exp.iter().all(|&x| x >= 0.0 && x.is_finite()));
        assert!(normal.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn samplers_have_the_right_moments() {
        let mut r = RngStreams::new(7).stream(StreamId::new(9, 9));
        let n = 200_000;
        let mean_exp = (0..n).map(|_| r.exp1()).sum::<f64>() / n as f64;
        assert!((mean_exp - 1.0).abs() < 0.01, "exp mean {mean_exp}");
        let xs: Vec<f64> = (0..n).map(|_| r.std_normal()).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.01, "normal mean {m} var {v}");
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
