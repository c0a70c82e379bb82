//! Closed-form queueing theory for a connection pool, used to cross-check the simulator.
//!
//! This file holds the formulas; `loads.rs` reads a scenario into their inputs (and
//! the assumptions it breaks), `analysis.rs` is `sim analyze`'s report over them, and
//! `fit.rs` the prediction put beside a run.
//!
//! The pool is modelled as `c` identical servers (`c` = the pool's `max_size`):
//!
//! * requests arrive as a Poisson process with rate `lambda` per second;
//! * each request holds a connection for an exponential time with mean `1/mu` seconds
//!   (`mean_hold_s`), independently of everything else;
//! * waiting requests are served first come, first served;
//! * the offered load is `a = lambda / mu = lambda * mean_hold_s` Erlangs.
//!
//! Three models are provided:
//!
//! * **Erlang B** (`M/M/c/c`, [`erlang_b`]): a request that finds every connection busy
//!   fails at once. This is the pool with a zero acquire timeout.
//! * **Erlang C** (`M/M/c`, [`erlang_c`], [`mmc`], [`mmc_wait_exceeds`]): requests wait
//!   for ever. This is the pool with an infinite acquire timeout; it only has a steady
//!   state when `a < c`.
//! * **`M/M/c+D`** ([`mmc_plus_d`]): every waiting request gives up after exactly
//!   `patience_s` seconds, the pool's acquire timeout (the simulator's 503s). It contains
//!   the other two as the limits `patience -> 0` and `patience -> infinity`.
//!
//! All results are steady-state (long-run) figures; by PASTA (Poisson arrivals see time
//! averages) probabilities "seen by an arrival" equal time-average probabilities.
//!
//! # The `M/M/c+D` solution
//!
//! Let `V` be the virtual waiting time: the wait a request arriving now would have if it
//! were infinitely patient (with FCFS this is the time until a connection frees up for it,
//! and it is not changed by later arrivals). `V = 0` exactly when fewer than `c`
//! connections are busy. With `p_j = P(j busy)` for `j < c`, balance gives
//! `p_j = p_0 a^j / j!`. While every connection is busy, `V` falls at rate 1; an arrival
//! that will be served (its `V < D`) raises it by an `Exp(c mu)` amount (the time until
//! the next of the `c` busy connections is released). Level crossing then gives the
//! density of `V` on `(0, inf)`, with `theta = lambda - c mu`:
//!
//! ```text
//! v(x) = lambda p_{c-1} exp(theta x)                         0 < x <= D
//! v(x) = lambda p_{c-1} exp(theta D) exp(-c mu (x - D))      x > D
//! ```
//!
//! normalised by `sum_{j<c} p_j + integral v = 1`. A request times out iff `V >= D`.
//! In units of the mean hold time (`d = mu D`, `x = (a - c) d`) and with
//! `A = a * B(c-1, a)` (`B` = Erlang B, because `p_{c-1} / sum_{j<c} p_j = B(c-1, a)`),
//! the three outcomes have relative weights
//!
//! ```text
//! V = 0       (served at once):        1
//! 0 < V < D   (waits, then served):    A * (e^x - 1) / (a - c)      (= A d when a = c)
//! V >= D      (times out):             A * e^x / c
//! ```
//!
//! and, given `0 < V < D`, `V / D` has density proportional to `e^{x t}` on `(0, 1)`, whose
//! mean is `r(x) = 1 / (1 - e^{-x}) - 1 / x` (`r(0) = 1/2`).
//!
//! Numerically: every weight is divided by `e^x` when `x > 0` (overload), so that no
//! exponential of a positive number is ever formed; `expm1` is used for `e^x - 1`; `r(x)`
//! is summed as a power series for `|x| < 1` (which also covers `a == c` exactly, where
//! the closed forms are `0/0`); and the weights are rescaled by `max(A, 1)` so that their
//! sum cannot overflow. `B(c-1, a)` comes from the stable Erlang B recursion, which
//! never overflows (it may underflow to 0 in very light load, which is then the right
//! answer to double precision).
//!
//! # Sources
//!
//! * A. K. Erlang (1917). The Erlang B recursion and the relation
//!   `C = c B / (c - a (1 - B))` are in any queueing text, e.g. L. Kleinrock,
//!   *Queueing Systems, Vol. 1: Theory* (Wiley, 1975), chapter 3.
//! * F. Baccelli, G. Hebuterne, "On queues with impatient customers", Performance '81
//!   (North-Holland, 1981): the virtual-waiting-time / level-crossing solution of
//!   `M/M/c+G`.
//! * S. Zeltyn, A. Mandelbaum, "Call centers with impatient customers: many-server
//!   asymptotics of the M/M/n+G queue", Queueing Systems 51 (2005) 361-402, and their
//!   technical note "The M/M/n+G queue: summary of performance measures", which gives
//!   `M/M/n+D` explicitly. For deterministic patience their
//!   `J = integral_0^inf exp(lambda integral_0^x P(patience > u) du - c mu x) dx` is
//!   `(e^{theta D} - 1) / theta + e^{theta D} / (c mu)`, the integral of
//!   `v / (lambda p_{c-1})` above.
//! * D. Y. Barrer, "Queuing with impatient customers and ordered service",
//!   Operations Research 5 (1957): the single-server case, used in the tests.

pub mod analysis;
pub mod fit;
pub mod loads;

/// Erlang B blocking probability `B(c, a)` of the `M/M/c/c` loss system.
///
/// `c` is the number of servers, `a` the offered load in Erlangs. Computed with the
/// stable recursion `B(0) = 1`, `B(k) = a B(k-1) / (k + a B(k-1))`, which needs no
/// factorials or powers and so cannot overflow; it may underflow to `0.0` when the true
/// value is below the smallest `f64`. Cost is `O(c)`.
///
/// Domain: `a >= 0`. By convention `B(0, a) = 1`, `B(c, 0) = 0` for `c >= 1`,
/// `B(c, +inf) = 1`; a negative `a` gives `0.0` and a NaN `a` gives NaN.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    if c == 0 {
        return 1.0;
    }
    if a <= 0.0 {
        return 0.0;
    }
    if a == f64::INFINITY {
        return 1.0;
    }
    let mut b = 1.0_f64;
    for k in 1..=c {
        let ab = a * b;
        b = ab / (f64::from(k) + ab);
        if b == 0.0 {
            // Underflowed: every later step keeps it at 0.
            break;
        }
    }
    b
}

/// Erlang C probability `C(c, a)` that an arrival has to wait in the `M/M/c` queue
/// (infinite patience, FCFS).
///
/// Computed as `A / (c - a + A)` with `A = a B(c-1, a)`, which is algebraically equal to
/// the textbook `c B(c,a) / (c - a (1 - B(c,a)))` and involves only positive terms.
/// Returns `1.0` when `a >= c` (no steady state: the queue grows without bound, so in
/// the long run every arrival waits) and `0.0` when `a <= 0` (with `c >= 1`). A NaN `a`
/// gives NaN.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    let cf = f64::from(c);
    if a >= cf {
        return 1.0;
    }
    if a <= 0.0 {
        return 0.0;
    }
    // Here c >= 1 because 0 < a < c.
    let big_a = a * erlang_b(c - 1, a);
    // `cf - a` is exact when a is close to c (Sterbenz), so no cancellation.
    big_a / ((cf - a) + big_a)
}

/// Steady-state figures of the `M/M/c` queue (infinite patience, FCFS).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcFigures {
    /// Probability that an arrival finds all `c` servers busy and waits: Erlang C.
    pub p_wait: f64,
    /// Mean wait in the queue over all arrivals (zero waits included), seconds.
    pub mean_wait_s: f64,
    /// Mean number of requests waiting (not in service), by Little's law.
    pub mean_queue_len: f64,
    /// Mean fraction of the `c` servers that are busy, `a / c`.
    pub utilisation: f64,
}

/// Steady state of the `M/M/c` queue: `c` servers, Poisson arrivals at `lambda` per
/// second, exponential holds with mean `mean_hold_s` seconds, infinite patience, FCFS.
///
/// Returns `None` when there is no steady state (`a = lambda * mean_hold_s >= c`) or the
/// inputs are outside the domain (`c == 0`, `lambda` negative or not finite,
/// `mean_hold_s` not positive and finite). `lambda == 0` is allowed (an idle pool).
pub fn mmc(c: u32, lambda: f64, mean_hold_s: f64) -> Option<MmcFigures> {
    if c == 0 || !lambda.is_finite() || lambda < 0.0 || !mean_hold_s.is_finite() || mean_hold_s <= 0.0 {
        return None;
    }
    let cf = f64::from(c);
    let a = lambda * mean_hold_s;
    if a >= cf {
        return None;
    }
    let p_wait = erlang_c(c, a);
    // W = C / (c mu - lambda) = C * hold / (c - a); Lq = lambda W = C a / (c - a).
    let gap = cf - a;
    Some(MmcFigures {
        p_wait,
        mean_wait_s: p_wait * mean_hold_s / gap,
        mean_queue_len: p_wait * a / gap,
        utilisation: a / cf,
    })
}

/// `P(W > t)` for the `M/M/c` queue (FCFS): `C(c, a) * exp(-(c mu - lambda) t)`.
///
/// Same assumptions and `None` cases as [`mmc`]; additionally `None` for a NaN `t_s`.
/// For `t_s < 0` the answer is `1.0` (a wait is never negative); at `t_s == 0` it is
/// the Erlang C probability.
pub fn mmc_wait_exceeds(c: u32, lambda: f64, mean_hold_s: f64, t_s: f64) -> Option<f64> {
    let figures = mmc(c, lambda, mean_hold_s)?;
    if t_s.is_nan() {
        return None;
    }
    if t_s < 0.0 {
        return Some(1.0);
    }
    let gap = f64::from(c) - lambda * mean_hold_s;
    // (c mu - lambda) t = (c - a) * (t / hold); an overflow to +inf correctly gives 0.
    Some(figures.p_wait * (-(gap * (t_s / mean_hold_s))).exp())
}

/// Steady-state figures of the `M/M/c+D` queue (deterministic patience `D`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcdFigures {
    /// Probability that an arrival finds all `c` connections busy, i.e. its virtual wait
    /// is positive. It then either waits and is served, or times out. With `D = 0` this is
    /// the Erlang B probability (those arrivals fail immediately, with a zero wait).
    pub p_wait: f64,
    /// Probability that an arrival gives up (waits the full patience without getting a
    /// connection): the 503 fraction. With `D = 0` it is Erlang B.
    pub p_timeout: f64,
    /// Mean wait over all arrivals, seconds; timed-out arrivals count their full patience.
    pub mean_wait_s: f64,
    /// Mean wait of the arrivals that got a connection (zero waits included), seconds.
    pub mean_wait_served_s: f64,
    /// Mean number of busy connections divided by `c`: `a (1 - p_timeout) / c`.
    pub utilisation: f64,
    /// Rate of requests that get a connection, per second: `lambda (1 - p_timeout)`.
    pub throughput: f64,
}

impl MmcdFigures {
    /// Every field NaN: the answer for inputs outside the domain.
    const NAN: Self = Self {
        p_wait: f64::NAN,
        p_timeout: f64::NAN,
        mean_wait_s: f64::NAN,
        mean_wait_served_s: f64::NAN,
        utilisation: f64::NAN,
        throughput: f64::NAN,
    };
}

/// Steady state of the `M/M/c+D` queue: `c` connections, Poisson arrivals at `lambda`
/// per second, exponential holds with mean `mean_hold_s` seconds, FCFS, and every
/// waiting request gives up after exactly `patience_s` seconds (the acquire timeout).
/// Requests that give up never take a connection. See the module docs for the derivation.
///
/// Valid for every `c >= 1`, `lambda >= 0`, `mean_hold_s > 0`, `patience_s >= 0`
/// (including `+inf`), in light load, at `a == c` and in heavy overload; the computation
/// is `O(c)` and forms no overflowing or cancelling intermediate. Limits:
///
/// * `patience_s == 0`: `p_timeout` is exactly [`erlang_b`]`(c, a)`.
/// * `patience_s == +inf`, or `(a - c) * patience_s / mean_hold_s` beyond the `f64`
///   range (where the finite answer equals the limit to double precision): for
///   `a < c` the [`mmc`] figures with `p_timeout = 0`; for `a >= c` the `D -> inf` limit
///   (`p_timeout = 1 - c/a`, utilisation 1, throughput `c / mean_hold_s`, mean waits
///   `D` when `a > c` and `D/2` when `a == c`, i.e. infinite for infinite patience).
/// * `lambda * mean_hold_s == +inf`: the `a -> inf` limit (everyone waits the full
///   patience except the `c / hold` per second that get a connection).
///
/// Edge conventions: a negative or NaN `patience_s` is treated as 0; `c == 0` means
/// every request times out (`p_timeout = 1`, utilisation and throughput 0,
/// `mean_wait_served_s = 0` as nobody is served); `lambda == 0` gives all zeros. A NaN
/// or negative `lambda`, or a NaN or non-positive `mean_hold_s`, gives NaN in every field.
pub fn mmc_plus_d(c: u32, lambda: f64, mean_hold_s: f64, patience_s: f64) -> MmcdFigures {
    if lambda.is_nan() || lambda < 0.0 || mean_hold_s.is_nan() || mean_hold_s <= 0.0 {
        return MmcdFigures::NAN;
    }
    // f64::max ignores a NaN operand, so NaN patience becomes 0 as documented.
    let patience = patience_s.max(0.0);
    if c == 0 {
        return MmcdFigures {
            p_wait: 1.0,
            p_timeout: 1.0,
            mean_wait_s: patience,
            mean_wait_served_s: 0.0,
            utilisation: 0.0,
            throughput: 0.0,
        };
    }
    if lambda == 0.0 {
        return MmcdFigures {
            p_wait: 0.0,
            p_timeout: 0.0,
            mean_wait_s: 0.0,
            mean_wait_served_s: 0.0,
            utilisation: 0.0,
            throughput: 0.0,
        };
    }
    let cf = f64::from(c);
    let a = lambda * mean_hold_s;
    if a == f64::INFINITY {
        // a -> inf: the queue is always full, served requests waited ~D, and the
        // connections are always busy.
        return MmcdFigures {
            p_wait: 1.0,
            p_timeout: 1.0,
            mean_wait_s: patience,
            mean_wait_served_s: patience,
            utilisation: 1.0,
            throughput: cf / mean_hold_s,
        };
    }
    // Patience in units of the mean hold time. May be +inf (infinite patience, or a
    // finite patience with a vanishing hold time).
    let d = patience / mean_hold_s;
    // A = a * B(c-1, a) = lambda p_{c-1} / (mu sum_{j<c} p_j); finite since a is.
    let big_a = a * erlang_b(c - 1, a);

    if d == 0.0 {
        // Erlang B. Same floating-point operations as the last step of `erlang_b`,
        // so `p_timeout == erlang_b(c, a)` bit for bit.
        let p_timeout = big_a / (cf + big_a);
        // 1 - B = c / (c + A), without cancellation when B is close to 1.
        let served = cf / (cf + big_a);
        return MmcdFigures {
            p_wait: p_timeout,
            p_timeout,
            mean_wait_s: patience * p_timeout,
            mean_wait_served_s: 0.0,
            utilisation: (a * served / cf).min(1.0),
            throughput: lambda * served,
        };
    }

    let delta = a - cf; // (lambda - c mu) / mu; exact near a == c (Sterbenz)
    let x = delta * d; // (lambda - c mu) D
    if !x.is_finite() {
        // |x| beyond f64 range: e^{-|x|} is 0 to double precision, so the D -> inf
        // limit is exact. (d is +inf here, or huge with a != c.)
        return infinite_patience(cf, a, big_a, lambda, mean_hold_s, patience);
    }

    // Relative weights of V = 0, 0 < V < D, V >= D (module docs), divided by e^x when
    // x > 0 so that only bounded exponentials appear.
    // wait_mass = integral_0^d e^{delta s} ds, times e^{-x} when x > 0; always finite
    // because |delta| >= ulp(1)/2 whenever it is non-zero.
    let (base_idle, wait_mass, base_timeout) = if x > 0.0 {
        ((-x).exp(), -(-x).exp_m1() / delta, 1.0)
    } else if delta == 0.0 {
        (1.0, d, 1.0)
    } else {
        (1.0, x.exp_m1() / delta, x.exp())
    };
    // Rescale by max(A, 1) (and 1/4) so that the sum of the weights cannot overflow:
    // each weight is then at most 1/4 of f64::MAX.
    let scale = big_a.max(1.0);
    let a_scaled = big_a / scale;
    let w_idle = 0.25 * (base_idle / scale);
    let w_wait = 0.25 * (a_scaled * wait_mass);
    let w_timeout = 0.25 * (a_scaled * base_timeout / cf);
    let total = w_idle + w_wait + w_timeout;

    let q_wait_served = w_wait / total; // P(0 < V < D)
    let p_timeout = w_timeout / total; // P(V >= D)
    let p_wait = (w_wait + w_timeout) / total; // P(V > 0)
    let served = (w_idle + w_wait) / total; // 1 - p_timeout, without cancellation
    // E[V | 0 < V < D] in seconds; r in [0, 1], so this cannot overflow.
    let mid_mean_s = patience * truncated_exp_mean_fraction(x);
    let mean_wait_s = q_wait_served * mid_mean_s + p_timeout * patience;
    let served_weight = w_idle + w_wait;
    let mean_wait_served_s = if served_weight > 0.0 { (w_wait / served_weight) * mid_mean_s } else { patience };
    MmcdFigures {
        p_wait,
        p_timeout,
        mean_wait_s,
        mean_wait_served_s,
        utilisation: (a * served / cf).min(1.0),
        throughput: lambda * served,
    }
}

/// `P(W > t)` for the `M/M/c+D` queue, where `W = min(V, D)` is the acquire wait of an
/// arrival: the wait of a served request, or the full patience `D` of one that timed out
/// (the simulator records a timed-out request's wait as exactly its timeout).
///
/// For `0 <= t < D` this is `P(V > t)`, the tail of the virtual waiting time of the
/// module docs: in units of the mean hold (`s = t / hold`, `d = D / hold`,
/// `delta = a - c`) its unnormalised weight is `A (e^{delta d} - e^{delta s}) / delta +
/// A e^{delta d} / c` (`A (d - s) + A / c` when `delta = 0`), over the same normaliser as
/// [`mmc_plus_d`]. Every weight is divided by `e^{delta d}` in overload, so no positive
/// exponential is formed. For `t >= D` it is 0; for `t < 0` it is 1. With `D = +inf`
/// and `a < c` it is the [`mmc_wait_exceeds`] tail; with `D = +inf` and `a >= c` (no
/// steady state: waits grow without bound) it is 1.
///
/// Domain as [`mmc_plus_d`]: a NaN or negative `lambda` or a non-positive `mean_hold_s`
/// gives NaN; `c == 0` or `lambda == 0` are the trivial cases.
pub fn mmc_plus_d_wait_exceeds(c: u32, lambda: f64, mean_hold_s: f64, patience_s: f64, t_s: f64) -> f64 {
    if lambda.is_nan() || lambda < 0.0 || mean_hold_s.is_nan() || mean_hold_s <= 0.0 || t_s.is_nan() {
        return f64::NAN;
    }
    let patience = patience_s.max(0.0);
    if t_s < 0.0 {
        return 1.0;
    }
    if t_s >= patience {
        return 0.0;
    }
    if c == 0 {
        // Nobody is ever served: every wait is exactly the patience.
        return 1.0;
    }
    if lambda == 0.0 {
        return 0.0;
    }
    let cf = f64::from(c);
    let a = lambda * mean_hold_s;
    if a == f64::INFINITY {
        return 1.0;
    }
    let big_a = a * erlang_b(c - 1, a);
    let delta = a - cf;
    let d = patience / mean_hold_s;
    let s = t_s / mean_hold_s;
    if d == f64::INFINITY {
        if delta >= 0.0 {
            return 1.0;
        }
        // M/M/c: C e^{delta s}, with C = A / (c - a + A).
        return big_a / (-delta + big_a) * (delta * s).exp();
    }
    // (tail, total) weights, both divided by e^{delta d} when delta > 0.
    let (tail, total) = if delta > 0.0 {
        let tail = big_a * -(-delta * (d - s)).exp_m1() / delta + big_a / cf;
        let total = (-delta * d).exp() + big_a * -(-delta * d).exp_m1() / delta + big_a / cf;
        (tail, total)
    } else if delta == 0.0 {
        (big_a * (d - s) + big_a / cf, 1.0 + big_a * d + big_a / cf)
    } else {
        let tail = big_a * (delta * s).exp() * (delta * (d - s)).exp_m1() / delta + big_a * (delta * d).exp() / cf;
        let total = 1.0 + big_a * (delta * d).exp_m1() / delta + big_a * (delta * d).exp() / cf;
        (tail, total)
    };
    (tail / total).clamp(0.0, 1.0)
}

/// The `q`-quantile (e.g. `0.99`) of the acquire wait `W = min(V, D)` in the
/// `M/M/c+D` queue, in seconds: the smallest `t` with `P(W > t) <= 1 - q`
/// (see [`mmc_plus_d_wait_exceeds`]).
///
/// It is 0 when at most a fraction `1 - q` of arrivals wait, the patience `D` when more
/// than `1 - q` time out, and otherwise found by bisection on the continuous, decreasing
/// tail (to a relative precision of `1e-12` of `D`). With `D = +inf` and `a < c` it is the
/// `M/M/c` closed form `hold * ln(C / (1 - q)) / (c - a)`; with `D = +inf` and `a >= c`
/// it is `+inf`. `q` outside `(0, 1)` or NaN inputs give NaN.
pub fn mmc_plus_d_wait_quantile(c: u32, lambda: f64, mean_hold_s: f64, patience_s: f64, q: f64) -> f64 {
    if q.is_nan() || q <= 0.0 || q >= 1.0 {
        return f64::NAN;
    }
    let patience = patience_s.max(0.0);
    let beyond = 1.0 - q;
    let p_wait = mmc_plus_d_wait_exceeds(c, lambda, mean_hold_s, patience, 0.0);
    if p_wait.is_nan() {
        return f64::NAN;
    }
    if p_wait <= beyond {
        return 0.0;
    }
    if patience == f64::INFINITY {
        let a = lambda * mean_hold_s;
        let cf = f64::from(c);
        if c == 0 || a >= cf {
            return f64::INFINITY;
        }
        return mean_hold_s * (p_wait / beyond).ln() / (cf - a);
    }
    // P(W > t) decreases from p_wait at 0 to P(V >= D) just below D.
    let just_below = mmc_plus_d_wait_exceeds(c, lambda, mean_hold_s, patience, patience * (1.0 - 1e-15));
    if just_below > beyond {
        return patience;
    }
    let (mut lo, mut hi) = (0.0_f64, patience);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mmc_plus_d_wait_exceeds(c, lambda, mean_hold_s, patience, mid) > beyond {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * patience {
            break;
        }
    }
    hi
}

/// The `D -> inf` limit of [`mmc_plus_d`] (see its docs), for finite `a`.
fn infinite_patience(cf: f64, a: f64, big_a: f64, lambda: f64, mean_hold_s: f64, patience: f64) -> MmcdFigures {
    if a < cf {
        // M/M/c: Erlang C and W = C hold / (c - a); nobody times out.
        let gap = cf - a;
        let p_wait = big_a / (gap + big_a);
        let mean_wait_s = p_wait * mean_hold_s / gap;
        MmcdFigures {
            p_wait,
            p_timeout: 0.0,
            mean_wait_s,
            mean_wait_served_s: mean_wait_s,
            utilisation: a / cf,
            throughput: lambda,
        }
    } else if a == cf {
        // Critical load: V is (asymptotically) uniform on (0, D); timeouts -> 0.
        MmcdFigures {
            p_wait: 1.0,
            p_timeout: 0.0,
            mean_wait_s: 0.5 * patience,
            mean_wait_served_s: 0.5 * patience,
            utilisation: 1.0,
            throughput: lambda,
        }
    } else {
        // Overload: V sits just below D; the excess a - c of the load times out.
        MmcdFigures {
            p_wait: 1.0,
            p_timeout: (a - cf) / a,
            mean_wait_s: patience,
            mean_wait_served_s: patience,
            utilisation: 1.0,
            throughput: cf / mean_hold_s,
        }
    }
}

/// `r(x) = E[T]` for `T` on `(0, 1)` with density proportional to `e^{x t}`, i.e.
/// `1 / (1 - e^{-x}) - 1 / x`, with `r(0) = 1/2`; always in `[0, 1]`.
///
/// The closed form cancels badly near 0, so `|x| < 1` uses `g(x) / phi(x)` with the
/// power series `g(x) = sum x^n / (n! (n + 2))` (= integral of `t e^{x t}`) and
/// `phi(x) = sum x^n / (n + 1)!` (= integral of `e^{x t}`): both are entire, all terms
/// are below `1/2` in size and 24 terms reach `1/24! < 1e-23`. For `|x| >= 1` the closed
/// forms lose at most a factor ~3 to cancellation.
fn truncated_exp_mean_fraction(x: f64) -> f64 {
    let r = if x.abs() < 1.0 {
        let mut term = 1.0_f64; // x^n / n!
        let mut g = 0.0_f64;
        let mut phi = 0.0_f64;
        for n in 0..24_u32 {
            let nf = f64::from(n);
            g += term / (nf + 2.0);
            phi += term / (nf + 1.0);
            term *= x / (nf + 1.0);
        }
        g / phi
    } else if x > 0.0 {
        // 1 / (1 - e^{-x}) - 1 / x; tends to 1 as x -> inf.
        1.0 / -(-x).exp_m1() - 1.0 / x
    } else {
        // Same formula rewritten for x < 0: 1/|x| - e^x / (1 - e^x); tends to 0.
        -1.0 / x - x.exp() / -x.exp_m1()
    };
    r.clamp(0.0, 1.0)
}

/// Seconds in a short human form: `250 ms`, `1.5 s`, `never`.
pub fn fmt_secs(s: f64) -> String {
    if !s.is_finite() {
        "never".into()
    } else if s < 1.0 {
        format!("{} ms", trim(s * 1e3))
    } else {
        format!("{} s", trim(s))
    }
}

fn trim(x: f64) -> String {
    let t = format!("{x:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative check: `|got - want| <= tol * |want|`, or `|got| <= tol` when `want == 0`.
    fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
        let err = if want == 0.0 { got.abs() } else { ((got - want) / want).abs() };
        assert!(err <= tol, "{what}: got {got:e}, want {want:e}, rel err {err:e} > {tol:e}");
    }

    fn assert_abs(got: f64, want: f64, tol: f64, what: &str) {
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got:e}, want {want:e}, abs err {:e} > {tol:e}",
            (got - want).abs()
        );
    }

    fn assert_sane(f: &MmcdFigures, what: &str) {
        let fields = [f.p_wait, f.p_timeout, f.mean_wait_s, f.mean_wait_served_s, f.utilisation, f.throughput];
        assert!(fields.iter().all(|v| !v.is_nan()), "{what}: NaN in {f:?}");
        for p in [f.p_wait, f.p_timeout, f.utilisation] {
            assert!((0.0..=1.0).contains(&p), "{what}: probability out of range {f:?}");
        }
        assert!(f.p_timeout <= f.p_wait, "{what}: p_timeout > p_wait {f:?}");
        assert!(f.mean_wait_s >= 0.0 && f.mean_wait_served_s >= 0.0, "{what}: {f:?}");
        assert!(f.throughput >= 0.0, "{what}: {f:?}");
    }

    // ------------------------------------------------------- M/M/c+D wait distribution

    #[test]
    fn wait_tail_matches_mmc_plus_d_and_mmc() {
        // (c, lambda, hold, patience): light, critical, overload, long patience.
        for (c, lambda, hold, patience) in [
            (1_u32, 3.5, 0.2, 0.4),
            (5, 50.0, 0.1, 0.13),
            (3, 18.0, 0.2, 0.1),
            (10, 80.0, 0.1, 5.0),
            (100, 1100.0, 0.1, 0.3),
        ] {
            let f = mmc_plus_d(c, lambda, hold, patience);
            let what = format!("c={c} lambda={lambda} hold={hold} D={patience}");
            assert_rel(mmc_plus_d_wait_exceeds(c, lambda, hold, patience, 0.0), f.p_wait, 1e-12, &what);
            let below = mmc_plus_d_wait_exceeds(c, lambda, hold, patience, patience * (1.0 - 1e-12));
            assert_rel(below, f.p_timeout, 1e-9, &what);
            assert_eq!(mmc_plus_d_wait_exceeds(c, lambda, hold, patience, patience), 0.0);
            // The mean of min(V, D) is the integral of its tail: check it against mean_wait_s.
            let n = 200_000;
            let h = patience / n as f64;
            let mut integral = 0.0;
            for i in 0..n {
                let t = (i as f64 + 0.5) * h;
                integral += mmc_plus_d_wait_exceeds(c, lambda, hold, patience, t) * h;
            }
            assert_rel(integral, f.mean_wait_s, 1e-6, &format!("{what} mean"));
        }
        // Infinite patience is the M/M/c tail.
        for t in [0.0, 0.05, 0.3, 2.0] {
            let want = mmc_wait_exceeds(8, 60.0, 0.1, t).unwrap();
            assert_rel(mmc_plus_d_wait_exceeds(8, 60.0, 0.1, f64::INFINITY, t), want, 1e-12, "mmc tail");
        }
        assert_eq!(mmc_plus_d_wait_exceeds(8, 90.0, 0.1, f64::INFINITY, 5.0), 1.0);
    }

    #[test]
    fn wait_quantiles() {
        // M/M/c closed form: C(2, 1.5) = 0.642857..., t99 = hold ln(C / 0.01) / (c - a).
        let c = erlang_c(2, 1.5);
        let want = (c / 0.01).ln() / 0.5;
        assert_rel(mmc_plus_d_wait_quantile(2, 1.5, 1.0, f64::INFINITY, 0.99), want, 1e-12, "mmc p99");
        // A long finite patience hardly changes it.
        assert_rel(mmc_plus_d_wait_quantile(2, 1.5, 1.0, 1e4, 0.99), want, 1e-9, "long patience p99");
        // Light load: fewer than 1% wait, so p99 is 0.
        assert_eq!(mmc_plus_d_wait_quantile(10, 2.0, 1.0, 1.0, 0.99), 0.0);
        // Overload with many timeouts: p99 is the timeout itself.
        assert_eq!(mmc_plus_d_wait_quantile(5, 10.0, 1.0, 2.0, 0.99), 2.0);
        // In between, the quantile inverts the tail.
        let (cc, lambda, hold, d) = (10_u32, 95.0, 0.1, 0.5);
        let t = mmc_plus_d_wait_quantile(cc, lambda, hold, d, 0.95);
        assert!(t > 0.0 && t < d, "{t}");
        assert_rel(mmc_plus_d_wait_exceeds(cc, lambda, hold, d, t), 0.05, 1e-9, "inverse");
        assert!(mmc_plus_d_wait_quantile(3, 1.0, 1.0, 1.0, 1.0).is_nan());
    }

    // ---------------------------------------------------------------- Erlang B / C

    /// Values from published Erlang B tables (e.g. the tables in Kleinrock, Queueing
    /// Systems Vol. 1, and any teletraffic handbook: B(5,3) = 0.1101, B(10,5) = 0.0184,
    /// 100 lines at 80 E give a grade of service of about 0.4%). The long digits were
    /// reproduced with exact rational arithmetic (Python `fractions`,
    /// `(a^c/c!) / sum_k a^k/k!`) and rounded to 17 significant digits.
    #[test]
    fn erlang_b_table_values() {
        assert_eq!(erlang_b(1, 1.0), 0.5);
        assert_rel(erlang_b(2, 1.0), 0.2, 1e-15, "B(2,1)");
        assert_rel(erlang_b(3, 2.0), 4.0 / 19.0, 1e-15, "B(3,2)");
        assert_rel(erlang_b(5, 3.0), 0.110_054_347_826_086_96, 1e-14, "B(5,3)");
        assert_abs(erlang_b(5, 3.0), 0.11005, 1e-5, "B(5,3) table");
        assert_rel(erlang_b(10, 5.0), 0.018_384_570_336_648_132, 1e-14, "B(10,5)");
        assert_rel(erlang_b(20, 15.0), 0.045_593_215_589_811_84, 1e-13, "B(20,15)");
        assert_rel(erlang_b(50, 60.0), 0.216_118_647_823_476_98, 1e-13, "B(50,60)");
        assert_rel(erlang_b(100, 80.0), 0.003_992_028_604_553_197, 1e-13, "B(100,80)");
        assert_abs(erlang_b(100, 80.0), 0.004, 1e-4, "B(100,80) table");
        assert_rel(erlang_b(1000, 900.0), 5.929_862_670_146_224e-5, 1e-12, "B(1000,900)");
    }

    /// Independent exact check for small c and integer a: multiplying numerator and
    /// denominator of `(a^c/c!) / sum_k a^k/k!` by `c!` gives two integers below 2^53,
    /// which are exact in f64, so one division gives the correctly rounded value.
    #[test]
    fn erlang_b_matches_exact_rationals() {
        for c in 0..=12_u32 {
            for a in 1..=12_u64 {
                let mut den: u64 = 0;
                for k in 0..=c {
                    // a^k * c! / k! = a^k * (k+1)(k+2)...c
                    let falling: u64 = (u64::from(k) + 1..=u64::from(c)).product();
                    den += a.pow(k) * falling;
                }
                let num = a.pow(c);
                assert!(den < 1 << 53, "reference not exact for c={c}, a={a}");
                let exact = num as f64 / den as f64;
                assert_rel(erlang_b(c, a as f64), exact, 1e-14, &format!("B({c},{a})"));
            }
        }
    }

    #[test]
    fn erlang_b_edge_cases() {
        assert_eq!(erlang_b(0, 3.0), 1.0);
        assert_eq!(erlang_b(5, 0.0), 0.0);
        assert_eq!(erlang_b(5, f64::INFINITY), 1.0);
        assert!(erlang_b(5, f64::NAN).is_nan());
        // Light load with a huge pool underflows to exactly 0, never NaN.
        assert_eq!(erlang_b(10_000, 1.0), 0.0);
        // Heavy load: B -> 1 - c/a.
        let b = erlang_b(10_000, 1e12);
        assert!(b < 1.0 && (1.0 - b - 1e-8).abs() < 1e-12, "{b}");
        assert!(erlang_b(10_000, f64::MAX) <= 1.0);
    }

    /// Values from published Erlang C tables; long digits reproduced exactly with Python
    /// `fractions` as `c B / (c - a (1 - B))`.
    #[test]
    fn erlang_c_table_values() {
        assert_rel(erlang_c(1, 0.5), 0.5, 1e-15, "C(1,rho) = rho");
        assert_rel(erlang_c(2, 1.0), 1.0 / 3.0, 1e-15, "C(2,1)");
        assert_rel(erlang_c(3, 2.0), 4.0 / 9.0, 1e-15, "C(3,2)");
        assert_rel(erlang_c(5, 4.0), 0.554_112_554_112_554_1, 1e-14, "C(5,4)");
        assert_abs(erlang_c(5, 4.0), 0.5541, 1e-4, "C(5,4) table");
        assert_rel(erlang_c(10, 8.0), 0.409_180_150_796_443_54, 1e-14, "C(10,8)");
        assert_abs(erlang_c(10, 8.0), 0.409, 1e-3, "C(10,8) table");
        assert_rel(erlang_c(100, 95.0), 0.506_456_853_913_020_6, 1e-13, "C(100,95)");
        assert_eq!(erlang_c(3, 3.0), 1.0);
        assert_eq!(erlang_c(3, 7.0), 1.0);
        assert_eq!(erlang_c(3, 0.0), 0.0);
    }

    #[test]
    fn erlang_c_matches_textbook_relation_to_b() {
        for c in [1_u32, 2, 5, 10, 100, 1000] {
            for load in [0.1, 0.5, 0.9, 0.99] {
                let a = load * f64::from(c);
                let b = erlang_b(c, a);
                let textbook = f64::from(c) * b / (f64::from(c) - a * (1.0 - b));
                assert_rel(erlang_c(c, a), textbook, 1e-12, &format!("C({c},{a})"));
            }
        }
    }

    // ---------------------------------------------------------------- M/M/c

    #[test]
    fn mmc_single_server_closed_form() {
        // M/M/1: P(wait) = rho, W = rho / (mu - lambda), Lq = rho^2 / (1 - rho).
        let (lambda, hold) = (7.0, 0.1);
        let rho = 0.7;
        let f = mmc(1, lambda, hold).expect("stable");
        assert_rel(f.p_wait, rho, 1e-14, "p_wait");
        assert_rel(f.mean_wait_s, rho / (1.0 / hold - lambda), 1e-13, "W");
        assert_rel(f.mean_queue_len, rho * rho / (1.0 - rho), 1e-13, "Lq");
        assert_rel(f.utilisation, rho, 1e-14, "util");
        assert_rel(f.mean_queue_len, lambda * f.mean_wait_s, 1e-14, "Little");
    }

    #[test]
    fn mmc_none_when_unstable_or_invalid() {
        assert!(mmc(4, 40.0, 0.1).is_none()); // a == c
        assert!(mmc(4, 50.0, 0.1).is_none());
        assert!(mmc(0, 1.0, 0.1).is_none());
        assert!(mmc(4, -1.0, 0.1).is_none());
        assert!(mmc(4, 1.0, 0.0).is_none());
        assert!(mmc(4, f64::NAN, 0.1).is_none());
        assert!(mmc(4, 1.0, 0.1).is_some());
        assert!(mmc_wait_exceeds(4, 1.0, 0.1, f64::NAN).is_none());
    }

    #[test]
    fn mmc_wait_tail() {
        let (c, lambda, hold) = (10_u32, 80.0, 0.1); // a = 8
        let f = mmc(c, lambda, hold).expect("stable");
        let p0 = mmc_wait_exceeds(c, lambda, hold, 0.0).expect("stable");
        assert_eq!(p0, f.p_wait);
        assert_eq!(mmc_wait_exceeds(c, lambda, hold, -1.0), Some(1.0));
        // c mu - lambda = 100 - 80 = 20 per second.
        let p = mmc_wait_exceeds(c, lambda, hold, 0.05).expect("stable");
        assert_rel(p, f.p_wait * (-1.0_f64).exp(), 1e-13, "tail at 50 ms");
        assert_eq!(mmc_wait_exceeds(c, lambda, hold, f64::INFINITY), Some(0.0));
        // The mean is the integral of the tail: C / (c mu - lambda).
        assert_rel(f.mean_wait_s, f.p_wait / 20.0, 1e-13, "mean = C/(c mu - lambda)");
    }

    // ---------------------------------------------------------------- M/M/c+D

    #[test]
    fn zero_patience_is_erlang_b_exactly() {
        for c in [1_u32, 2, 5, 10, 100, 1000, 10_000] {
            for load in [0.1, 0.5, 0.9, 1.0, 1.1, 1.3, 5.0] {
                let hold = 0.05;
                let lambda = load * f64::from(c) / hold;
                // The offered load exactly as the function forms it.
                let a = lambda * hold;
                let f = mmc_plus_d(c, lambda, hold, 0.0);
                let b = erlang_b(c, a);
                assert_eq!(f.p_timeout, b, "c={c} a={a}");
                assert_eq!(f.p_wait, b, "c={c} a={a}");
                assert_eq!(f.mean_wait_s, 0.0);
                assert_eq!(f.mean_wait_served_s, 0.0);
                assert_rel(f.throughput, lambda * (1.0 - b), 1e-12, "throughput");
                // Tiny positive patience is continuous with zero patience.
                let g = mmc_plus_d(c, lambda, hold, 1e-14 * hold);
                assert_abs(g.p_timeout, b, 1e-12, "tiny patience");
            }
        }
    }

    #[test]
    fn huge_patience_approaches_mmc() {
        for c in [1_u32, 2, 5, 10, 100, 1000] {
            for load in [0.1, 0.5, 0.9, 0.99] {
                let hold = 0.2;
                let a = load * f64::from(c);
                let lambda = a / hold;
                let m = mmc(c, lambda, hold).expect("stable");
                // e^{-(c-a) D/hold} < e^{-1000}: the truncation is invisible.
                let patience = 1000.0 * hold / (f64::from(c) - a);
                for p in [patience, 1e300, f64::INFINITY] {
                    let f = mmc_plus_d(c, lambda, hold, p);
                    let what = format!("c={c} a={a} D={p}");
                    assert!(f.p_timeout < 1e-300, "{what}: {f:?}");
                    assert_rel(f.p_wait, m.p_wait, 1e-12, &what);
                    assert_rel(f.mean_wait_s, m.mean_wait_s, 1e-12, &what);
                    assert_rel(f.mean_wait_served_s, m.mean_wait_s, 1e-12, &what);
                    assert_rel(f.utilisation, m.utilisation, 1e-12, &what);
                    assert_rel(f.throughput, lambda, 1e-12, &what);
                }
            }
        }
    }

    #[test]
    fn huge_patience_in_overload_approaches_fluid_limit() {
        let (c, hold) = (10_u32, 0.1);
        for load in [1.1, 2.0, 5.0] {
            let a = load * f64::from(c);
            let f = mmc_plus_d(c, a / hold, hold, 1e6 * hold);
            assert_rel(f.p_timeout, 1.0 - 1.0 / load, 1e-12, "p_timeout");
            assert_rel(f.throughput, f64::from(c) / hold, 1e-12, "throughput");
            assert_rel(f.mean_wait_s, 1e6 * hold, 1e-5, "mean wait ~ D");
            let g = mmc_plus_d(c, a / hold, hold, f64::INFINITY);
            assert_rel(g.p_timeout, 1.0 - 1.0 / load, 1e-15, "p_timeout at inf");
            assert_eq!(g.mean_wait_s, f64::INFINITY);
        }
        // Critical load, infinite patience: no timeouts, unbounded wait.
        let g = mmc_plus_d(10, 100.0, 0.1, f64::INFINITY);
        assert_eq!(g.p_timeout, 0.0);
        assert_eq!(g.mean_wait_s, f64::INFINITY);
    }

    /// Barrer (1957): for one server, P(timeout) =
    /// (1 - rho) rho e^{-(1 - rho) mu D} / (1 - rho^2 e^{-(1 - rho) mu D}).
    #[test]
    fn single_server_matches_barrer() {
        for rho in [0.3_f64, 0.7, 0.95, 1.5, 3.0] {
            for d in [0.01, 0.5, 2.0, 10.0] {
                let e = (-(1.0 - rho) * d).exp();
                let want = (1.0 - rho) * rho * e / (1.0 - rho * rho * e);
                let f = mmc_plus_d(1, rho / 0.3, 0.3, d * 0.3);
                assert_rel(f.p_timeout, want, 1e-12, &format!("rho={rho} d={d}"));
            }
        }
    }

    /// Reference values computed independently with 60-digit arithmetic (Python mpmath)
    /// from the unscaled formulas of the module docs; `patience` is in hold times and the
    /// hold time is 1 s. The (10000, 5c, 60) case needs e^{2.4e6}, far beyond f64.
    #[test]
    fn matches_high_precision_references() {
        // (c, a, d, p_wait, p_timeout, mean_wait, mean_wait_served, utilisation)
        let cases: [(u32, f64, f64, [f64; 5]); 7] = [
            (
                10,
                12.0,
                0.5,
                [
                    0.830_265_806_515_442_5,
                    0.199_554_210_674_538_25,
                    0.283_306_834_103_162_63,
                    0.229_284_395_287_474_25,
                    0.960_534_947_190_554_1,
                ],
            ),
            (
                100,
                95.0,
                0.1,
                [
                    0.303_079_854_329_397_5,
                    0.021_688_180_039_639_224,
                    0.015_070_792_782_637_129,
                    0.013_187_998_463_716_781,
                    0.929_396_228_962_342_8,
                ],
            ),
            (
                1000,
                1000.0,
                2.0,
                [
                    0.980_736_582_348_557,
                    4.901_232_295_594_987e-4,
                    0.981_226_705_578_116_4,
                    0.980_727_136_270_342_9,
                    0.999_509_876_770_440_5,
                ],
            ),
            (10_000, 50_000.0, 60.0, [1.0, 0.8, 59.999_995, 59.999_975, 1.0]),
            (
                1,
                0.7,
                2.0,
                [
                    0.589_649_481_745_241_3,
                    0.157_643_597_506_798,
                    0.704_349_492_429_753_9,
                    0.461_873_734_519_751_15,
                    0.589_649_481_745_241_3,
                ],
            ),
            (
                3,
                3.6,
                0.5,
                [
                    0.685_039_482_227_443_3,
                    0.298_373_983_063_734_64,
                    0.250_679_450_585_022_9,
                    0.144_653_214_965_338_15,
                    0.841_951_220_323_518_4,
                ],
            ),
            (
                50,
                40.0,
                3.0,
                [
                    0.086_952_549_526_760_13,
                    1.627_338_349_301_768_7e-15,
                    0.008_695_254_952_656_321,
                    0.008_695_254_952_651_454,
                    0.799_999_999_999_998_7,
                ],
            ),
        ];
        for (c, a, d, want) in cases {
            let f = mmc_plus_d(c, a, 1.0, d);
            let got = [f.p_wait, f.p_timeout, f.mean_wait_s, f.mean_wait_served_s, f.utilisation];
            let names = ["p_wait", "p_timeout", "mean_wait", "served_wait", "util"];
            for i in 0..5 {
                assert_rel(got[i], want[i], 1e-13, &format!("c={c} a={a} d={d} {}", names[i]));
            }
            assert_rel(f.throughput, a * (1.0 - want[1]), 1e-13, "throughput");
        }
    }

    /// Brute force: integrate the density v(x) of the module docs numerically (composite
    /// Simpson, plain exponentials, p_{c-1} from a direct sum of a^j/j!), in seconds with
    /// a non-unit hold time, and compare every figure with the closed forms.
    #[test]
    fn matches_numerical_integration_of_density() {
        fn simpson(f: &dyn Fn(f64) -> f64, lo: f64, hi: f64, n: usize) -> f64 {
            let h = (hi - lo) / n as f64;
            let mut s = f(lo) + f(hi);
            for i in 1..n {
                let w = if i % 2 == 1 { 4.0 } else { 2.0 };
                s += w * f(lo + h * i as f64);
            }
            s * h / 3.0
        }
        // (c, lambda, hold, patience)
        let cases = [
            (1_u32, 3.5, 0.2, 0.4), // light, a = 0.7
            (3, 18.0, 0.2, 0.1),    // overload, a = 3.6
            (5, 50.0, 0.1, 0.13),   // critical, a = c exactly
            (4, 10.0, 0.25, 2.0),   // a = 2.5, long patience
        ];
        for (c, lambda, hold, patience) in cases {
            let mu = 1.0 / hold;
            let a = lambda * hold;
            let cmu = f64::from(c) * mu;
            let theta = lambda - cmu;
            // Unnormalised p_j = a^j / j!.
            let mut term = 1.0;
            let mut sum_p = 0.0;
            let mut p_last = 0.0;
            for j in 0..c {
                if j > 0 {
                    term *= a / f64::from(j);
                }
                sum_p += term;
                p_last = term;
            }
            let v_at_d = lambda * p_last * (theta * patience).exp();
            let v = |x: f64| {
                if x <= patience { lambda * p_last * (theta * x).exp() } else { v_at_d * (-cmu * (x - patience)).exp() }
            };
            let n = 20_000;
            let mass_in = simpson(&v, 0.0, patience, n);
            let first_moment_in = simpson(&|x| x * v(x), 0.0, patience, n);
            // e^{-60} beyond the tail end.
            let mass_tail = simpson(&v, patience, patience + 60.0 / cmu, n);
            let norm = sum_p + mass_in + mass_tail;
            let p_timeout = v_at_d / cmu / norm;
            let p_wait = (mass_in + mass_tail) / norm;
            let mean_wait = first_moment_in / norm + patience * p_timeout;
            let served_wait = first_moment_in / norm / (1.0 - p_timeout);

            let f = mmc_plus_d(c, lambda, hold, patience);
            let what = format!("c={c} lambda={lambda} hold={hold} D={patience}");
            assert_rel(f.p_timeout, p_timeout, 1e-9, &format!("{what} p_timeout"));
            assert_rel(f.p_wait, p_wait, 1e-9, &format!("{what} p_wait"));
            assert_rel(f.mean_wait_s, mean_wait, 1e-9, &format!("{what} mean_wait"));
            assert_rel(f.mean_wait_served_s, served_wait, 1e-9, &format!("{what} served"));
            assert_rel(f.utilisation, a * (1.0 - p_timeout) / f64::from(c), 1e-9, &what);
        }
    }

    /// Independent check of the derivation itself: an exact event-by-event simulation of
    /// the FCFS pool with deterministic patience (each served request takes the connection
    /// that frees up first; a request whose wait would reach D leaves and takes nothing),
    /// driven by a fixed-seed xorshift generator, so the test is deterministic. The
    /// tolerances are several standard errors of 2 million arrivals.
    #[test]
    fn matches_exact_simulation() {
        struct Rng(u64);
        impl Rng {
            fn uniform(&mut self) -> f64 {
                // xorshift64*; top 53 bits, shifted into (0, 1].
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
                (bits as f64 + 1.0) / (1u64 << 53) as f64
            }
            fn exp(&mut self, mean: f64) -> f64 {
                -mean * self.uniform().ln()
            }
        }
        // (c, lambda, hold, patience)
        let cases = [(2_u32, 24.0, 0.1, 0.1), (4, 12.0, 0.25, 0.125), (1, 0.9, 1.0, 3.0)];
        for (c, lambda, hold, patience) in cases {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(c));
            let mut free_at = vec![0.0_f64; c as usize];
            let (mut t, mut n_wait, mut n_timeout) = (0.0_f64, 0_u64, 0_u64);
            let (mut total_wait, mut served_wait) = (0.0_f64, 0.0_f64);
            let warmup = 10_000;
            let n = 2_000_000;
            for i in 0..warmup + n {
                t += rng.exp(1.0 / lambda);
                let (k, earliest) = free_at
                    .iter()
                    .copied()
                    .enumerate()
                    .fold((0, f64::INFINITY), |best, (k, f)| if f < best.1 { (k, f) } else { best });
                let wait = (earliest - t).max(0.0);
                let counted = i >= warmup;
                if wait >= patience && wait > 0.0 {
                    if counted {
                        n_wait += 1;
                        n_timeout += 1;
                        total_wait += patience;
                    }
                } else {
                    free_at[k] = t + wait + rng.exp(hold);
                    if counted {
                        n_wait += u64::from(wait > 0.0);
                        total_wait += wait;
                        served_wait += wait;
                    }
                }
            }
            let nf = n as f64;
            let f = mmc_plus_d(c, lambda, hold, patience);
            let what = format!("c={c} lambda={lambda} hold={hold} D={patience}");
            let sim_p_timeout = n_timeout as f64 / nf;
            assert_abs(sim_p_timeout, f.p_timeout, 3e-3, &format!("{what} p_timeout"));
            assert_abs(n_wait as f64 / nf, f.p_wait, 3e-3, &format!("{what} p_wait"));
            assert_rel(total_wait / nf, f.mean_wait_s, 0.01, &format!("{what} wait"));
            let served = served_wait / (nf - n_timeout as f64);
            assert_rel(served, f.mean_wait_served_s, 0.015, &format!("{what} served"));
        }
    }

    #[test]
    fn sane_and_monotone_on_grid() {
        let patiences = [0.0, 0.01, 0.5, 1.0, 2.0, 10.0, 60.0, f64::INFINITY];
        for c in [1_u32, 2, 5, 10, 100, 1000, 10_000] {
            for load in [0.1, 0.5, 0.9, 1.0, 1.1, 1.3, 5.0] {
                let hold = 0.05;
                let a = load * f64::from(c);
                let lambda = a / hold;
                let mut prev: Option<MmcdFigures> = None;
                for pd in patiences {
                    let f = mmc_plus_d(c, lambda, hold, pd * hold);
                    let what = format!("c={c} load={load} patience={pd} holds");
                    assert_sane(&f, &what);
                    assert_rel(f.throughput, lambda * (1.0 - f.p_timeout), 1e-12, &what);
                    if let Some(p) = prev {
                        let slack = 1e-12;
                        assert!(f.p_timeout <= p.p_timeout * (1.0 + slack), "{what}");
                        assert!(f.p_wait >= p.p_wait * (1.0 - slack), "{what}");
                        assert!(f.throughput >= p.throughput * (1.0 - slack), "{what}");
                        assert!(f.mean_wait_s >= p.mean_wait_s * (1.0 - slack), "{what}");
                        assert!(f.mean_wait_served_s >= p.mean_wait_served_s * (1.0 - slack), "{what}");
                    }
                    prev = Some(f);
                }
            }
        }
    }

    #[test]
    fn continuous_across_critical_load_and_series_switch() {
        let (c, hold, patience) = (20_u32, 0.1, 0.3);
        let at = |a: f64| mmc_plus_d(c, a / hold, hold, patience);
        let exact = at(20.0);
        for eps in [1e-13, 1e-9, 1e-6] {
            for side in [-1.0, 1.0] {
                let f = at(20.0 * (1.0 + side * eps));
                // Derivatives are O(1) in these units, so differences are O(eps * a).
                let tol = 1e3 * eps;
                assert_abs(f.p_timeout, exact.p_timeout, tol, "p_timeout");
                assert_abs(f.p_wait, exact.p_wait, tol, "p_wait");
                assert_abs(f.mean_wait_s / hold, exact.mean_wait_s / hold, tol, "wait");
            }
        }
        // r(x) switches from series to closed form at |x| = 1: check both sides, and
        // both regimes, against 50-digit values (Python mpmath, 1/(1-e^-x) - 1/x).
        let refs = [
            (-0.999_999_999_999, 0.418_023_293_130_752_9),
            (-1.000_000_000_001, 0.418_023_293_130_594_2),
            (0.999_999_999_999, 0.581_976_706_869_247_1),
            (1.000_000_000_001, 0.581_976_706_869_405_7),
            (0.5, 0.541_494_082_536_798_3),
            (-0.5, 0.458_505_917_463_201_74),
            (-3.0, 0.280_937_636_842_077_4),
            (3.0, 0.719_062_363_157_922_6),
            (20.0, 0.950_000_002_061_153_6),
            (-20.0, 0.049_999_997_938_846_37),
            (1e-5, 0.500_000_833_333_333_3),
        ];
        for (x, want) in refs {
            assert_rel(truncated_exp_mean_fraction(x), want, 2e-15, &format!("r({x})"));
        }
        assert_eq!(truncated_exp_mean_fraction(0.0), 0.5);
        assert_rel(truncated_exp_mean_fraction(1e-8), 0.5 + 1e-8 / 12.0, 1e-15, "r small");
        assert_rel(truncated_exp_mean_fraction(50.0), 1.0 - 1.0 / 50.0, 1e-15, "r big");
        assert_rel(truncated_exp_mean_fraction(-50.0), 1.0 / 50.0, 1e-15, "r neg");
    }

    #[test]
    fn scale_invariant_in_time_unit() {
        // Measuring time in other units changes only the dimensional outputs.
        let base = mmc_plus_d(7, 60.0, 0.1, 0.05);
        for k in [1e-3, 0.37, 1e4] {
            let f = mmc_plus_d(7, 60.0 / k, 0.1 * k, 0.05 * k);
            assert_rel(f.p_timeout, base.p_timeout, 1e-13, "p_timeout");
            assert_rel(f.p_wait, base.p_wait, 1e-13, "p_wait");
            assert_rel(f.mean_wait_s, base.mean_wait_s * k, 1e-13, "wait");
            assert_rel(f.throughput, base.throughput / k, 1e-13, "throughput");
        }
    }

    #[test]
    fn extreme_and_degenerate_inputs_give_no_nan() {
        let values = [1e-300, 1e-10, 1.0, 1e10, 1e300, f64::MAX];
        for c in [1_u32, 3, 10_000] {
            for lambda in values.iter().copied().chain([f64::INFINITY]) {
                for hold in values.iter().copied().chain([f64::INFINITY]) {
                    for patience in values.iter().copied().chain([0.0, f64::INFINITY]) {
                        let f = mmc_plus_d(c, lambda, hold, patience);
                        assert_sane(&f, &format!("c={c} l={lambda} h={hold} D={patience}"));
                    }
                }
            }
        }
        let zero = mmc_plus_d(0, 5.0, 0.1, 0.2);
        assert_eq!((zero.p_timeout, zero.throughput, zero.mean_wait_s), (1.0, 0.0, 0.2));
        let idle = mmc_plus_d(4, 0.0, 0.1, 0.2);
        assert_eq!((idle.p_wait, idle.utilisation), (0.0, 0.0));
        assert_eq!(mmc_plus_d(4, 5.0, 0.1, f64::NAN), mmc_plus_d(4, 5.0, 0.1, 0.0));
        assert_eq!(mmc_plus_d(4, 5.0, 0.1, -1.0), mmc_plus_d(4, 5.0, 0.1, 0.0));
        assert!(mmc_plus_d(4, -5.0, 0.1, 0.2).p_timeout.is_nan());
        assert!(mmc_plus_d(4, 5.0, 0.0, 0.2).p_timeout.is_nan());
    }
}
