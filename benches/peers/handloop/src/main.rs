//! A minimal hand-written discrete-event loop of poolsim's single-pool benchmark:
//! pool of 10, Poisson arrivals at 9/s, exponential holds with mean 1 s, acquire
//! timeout 2 s, FIFO waiters. What a competent engineer writes in an afternoon
//! with no framework: `std`'s binary heap on (time, seq), a FIFO of waiters with
//! lazily cancelled timeouts, integer nanoseconds, a small xoshiro256++ generator
//! and exponentials by inversion. No timeline, no histograms, no outputs: the
//! floor a full simulator is measured against.
//!
//! `handloop [REQUESTS] [SEED]` prints the same figures as poolsim and the SimPy peer.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

const POOL: u32 = 10;
const RATE: f64 = 9.0;
const HOLD_MEAN_S: f64 = 1.0;
const TIMEOUT_NS: u64 = 2_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive,
    HoldDone,
    Timeout(u32),
}

struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }
    /// Exponential with this mean, in nanoseconds.
    fn exp_ns(&mut self, mean_s: f64) -> u64 {
        let u = (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        (-(1.0 - u).ln() * mean_s * 1e9).round() as u64
    }
}

/// CPU time of this process (user + system), from /proc/self/stat, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let n: u64 = argv.next().and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let seed: u64 = argv.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let cpu0 = cpu_seconds();

    let mut rng = Rng::new(seed);
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, t: u64, e: Ev| {
        heap.push(Reverse((t, seq, e)));
        seq += 1;
    };
    // Per waiting request: arrival time, or u64::MAX once it stopped waiting. Ids
    // are reused, so queue entries carry the request number they were made for.
    let mut arrival_of: Vec<u64> = Vec::new();
    let mut owner_of: Vec<u64> = Vec::new();
    let mut free_ids: Vec<u32> = Vec::new();
    let mut waiters: VecDeque<(u32, u64)> = VecDeque::new();
    let (mut in_use, mut waiting, mut sent, mut timed_out, mut events) = (0u32, 0u32, 0u64, 0u64, 0u64);
    let mut wait_sum_ns = 0u128;

    push(&mut heap, rng.exp_ns(1.0 / RATE), Ev::Arrive);
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        events += 1;
        match ev {
            Ev::Arrive => {
                sent += 1;
                if sent < n {
                    push(&mut heap, now + rng.exp_ns(1.0 / RATE), Ev::Arrive);
                }
                // `waiters` may hold entries that gave up: count the live ones.
                if in_use < POOL && waiting == 0 {
                    in_use += 1;
                    push(&mut heap, now + rng.exp_ns(HOLD_MEAN_S), Ev::HoldDone);
                } else {
                    let id = free_ids.pop().unwrap_or_else(|| {
                        arrival_of.push(u64::MAX);
                        owner_of.push(u64::MAX);
                        (arrival_of.len() - 1) as u32
                    });
                    arrival_of[id as usize] = now;
                    owner_of[id as usize] = sent;
                    waiters.push_back((id, sent));
                    waiting += 1;
                    push(&mut heap, now + TIMEOUT_NS, Ev::Timeout(id));
                }
            }
            Ev::HoldDone => {
                in_use -= 1;
                while let Some((id, owner)) = waiters.pop_front() {
                    let arrived = arrival_of[id as usize];
                    if arrived == u64::MAX || owner_of[id as usize] != owner {
                        continue; // gave up already
                    }
                    wait_sum_ns += (now - arrived) as u128;
                    arrival_of[id as usize] = u64::MAX;
                    waiting -= 1;
                    in_use += 1;
                    push(&mut heap, now + rng.exp_ns(HOLD_MEAN_S), Ev::HoldDone);
                    break;
                }
            }
            Ev::Timeout(id) => {
                let arrived = arrival_of[id as usize];
                if arrived != u64::MAX && now - arrived == TIMEOUT_NS {
                    timed_out += 1;
                    waiting -= 1;
                    wait_sum_ns += TIMEOUT_NS as u128;
                    arrival_of[id as usize] = u64::MAX;
                }
                // The id is reusable once its timeout has fired, whatever happened.
                free_ids.push(id);
            }
        }
    }
    let cpu = cpu_seconds() - cpu0;
    println!(
        "handloop  requests {sent}  503 fraction {:.5}  mean acquire wait {:.1} ms  events {events}  CPU {cpu:.2} s  {:.0} requests/CPU-s",
        timed_out as f64 / sent as f64,
        wait_sum_ns as f64 / sent as f64 / 1e6,
        sent as f64 / cpu.max(0.01)
    );
}
