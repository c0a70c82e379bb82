//! Ziggurat tables for the exponential and the normal distributions.
//!
//! Marsaglia and Tsang's method (2000): the area under the density is covered
//! by 256 horizontal strips of equal area, the bottom one carrying the tail. A
//! draw picks a strip and a point across it from one 64-bit word; ~99 % of the
//! time the point lies in the part of the strip that is wholly under the curve
//! and the draw costs a multiply and a compare, without the logarithm or cosine
//! of inversion and Box–Muller. The strip index and the uniform come from
//! disjoint bits of the word (Doornik, 2005), so they are independent.
//!
//! The tables are built once per process from the two constants of each
//! distribution (the tail's start `r` and the strips' area `v`, which make the
//! top strip end exactly at the mode); a unit test checks that closure. Draws
//! are exact samples of the distribution, not approximations.

use std::sync::LazyLock;

/// Number of strips.
const STRIPS: usize = 256;

/// Exponential(1): where the tail starts and each strip's area.
pub(super) const EXP_R: f64 = 7.697_117_470_131_049;
const EXP_V: f64 = 0.003_949_659_822_581_559;

/// Standard normal (density up to a constant, exp(-x²/2)): the same two constants.
pub(super) const NORMAL_R: f64 = 3.654_152_885_361_009;
const NORMAL_V: f64 = 0.004_928_673_233_974_648;

/// Strip edges and the density there.
#[derive(Debug)]
pub(super) struct Ziggurat {
    /// `x[i]`: right edge of strip i, decreasing; `x[0]` is the width of the base
    /// strip as a rectangle of area `v`, `x[1] = r`, `x[256] = 0` (the mode).
    pub x: [f64; STRIPS + 1],
    /// `f[i]`: the density at `x[i]` (`f[256] = 1`).
    pub f: [f64; STRIPS + 1],
}

impl Ziggurat {
    fn new(r: f64, v: f64, f: impl Fn(f64) -> f64, f_inv: impl Fn(f64) -> f64) -> Ziggurat {
        let mut x = [0.0; STRIPS + 1];
        x[0] = v / f(r);
        x[1] = r;
        for i in 2..STRIPS {
            x[i] = f_inv(f(x[i - 1]) + v / x[i - 1]);
        }
        x[STRIPS] = 0.0;
        let fx = x.map(&f);
        Ziggurat { x, f: fx }
    }

    /// Where the point `z` drawn across strip `i` (`z >= x[i + 1]`) lies under
    /// the density, given the uniform `u` for its height.
    #[inline]
    pub fn in_wedge(&self, i: usize, u: f64, fz: f64) -> bool {
        self.f[i] + u * (self.f[i + 1] - self.f[i]) < fz
    }
}

/// The exponential table.
pub(super) static EXP: LazyLock<Ziggurat> = LazyLock::new(|| Ziggurat::new(EXP_R, EXP_V, |x| (-x).exp(), |y| -y.ln()));

/// The normal table.
pub(super) static NORMAL: LazyLock<Ziggurat> =
    LazyLock::new(|| Ziggurat::new(NORMAL_R, NORMAL_V, |x| (-0.5 * x * x).exp(), |y| (-2.0 * y.ln()).sqrt()));

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants make the strips stack up exactly to the mode: the top
    /// strip's area, computed from the recursion, is `v`.
    #[test]
    fn the_strips_close_at_the_mode() {
        for (t, v) in [(&*EXP, EXP_V), (&*NORMAL, NORMAL_V)] {
            let top = t.x[STRIPS - 1] * (1.0 - t.f[STRIPS - 1]);
            assert!((top - v).abs() < 1e-12 * v.max(1.0), "top strip area {top} vs {v}");
            assert!(t.x.windows(2).all(|w| w[0] > w[1]), "edges decrease");
        }
    }
}
