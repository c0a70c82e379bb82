//! Where requests come from: open workloads' next arrivals (worked out one
//! ahead, through rate changes), bursts, and closed-loop users who send their
//! next request when the last one is answered and thought over.

use super::{Event, Simulation};
use crate::engine::queue::Lane;
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::workload::{ArrivalProcess, Dist, RateProfile, UserSchedule};

/// Run-time state of a workload.
pub(super) struct WorkloadState {
    pub(super) class: Option<usize>,
    pub(super) kind: WorkloadRun,
    pub(super) hold_rng: StreamRng,
    pub(super) overhead_rng: StreamRng,
    pub(super) class_rng: StreamRng,
    pub(super) retry_rng: StreamRng,
}

pub(super) enum WorkloadRun {
    Burst { count: u64 },
    Open(OpenRun),
    Closed(ClosedRun),
}

pub(super) struct OpenRun {
    /// When the workload starts.
    pub(super) from: SimTime,
    /// Start of the current profile (moves when the rate changes).
    pub(super) origin: SimTime,
    pub(super) until: SimTime,
    pub(super) profile: RateProfile,
    pub(super) process: ArrivalProcess,
    pub(super) rng: StreamRng,
    /// Position of the last arrival in seconds after `origin`.
    pub(super) pos_s: f64,
    pub(super) hint: usize,
    pub(super) epoch: u32,
    /// The queue lane of its arrivals (one pending at a time, in time order).
    pub(super) lane: Option<Lane>,
    /// The arrival after the pending one, worked out one arrival early: its
    /// draw and its time under the current profile (see [`OpenRun::next_arrival`]).
    pub(super) ahead: Option<(f64, Option<SimTime>)>,
}

pub(super) struct ClosedRun {
    pub(super) start: SimTime,
    pub(super) schedule: UserSchedule,
    pub(super) think: Dist,
    pub(super) think_rng: StreamRng,
    pub(super) target: u32,
    /// Whether each user has a request (or think time) in progress.
    pub(super) busy: Vec<bool>,
    pub(super) sent: u64,
    pub(super) max_requests: Option<u64>,
}

impl Simulation<'_> {
    pub(super) fn on_arrive(&mut self, workload: u16) {
        let WorkloadRun::Open(run) = &mut self.workloads[workload as usize].kind else { return };
        let next = run.next_arrival();
        if let Some(t) = next {
            self.queue.push_in(run.lane, t, Event::Arrive { workload, epoch: run.epoch });
        }
        self.start_request(workload, u32::MAX, None, 0, None);
    }

    pub(super) fn on_user_send(&mut self, workload: u16, user: u32) {
        let WorkloadRun::Closed(run) = &mut self.workloads[workload as usize].kind else { return };
        let retired = user >= run.target;
        let exhausted = run.max_requests.is_some_and(|m| run.sent >= m);
        if retired || exhausted {
            run.busy[user as usize] = false;
            return;
        }
        run.sent += 1;
        self.start_request(workload, user, None, 0, None);
    }

    pub(super) fn on_users_change(&mut self, workload: u16, step: u32) {
        let now = self.now;
        let WorkloadRun::Closed(run) = &mut self.workloads[workload as usize].kind else { return };
        let (_, target) = run.schedule.changes[step as usize];
        let old = run.target;
        run.target = target;
        if run.busy.len() < target as usize {
            run.busy.resize(target as usize, false);
        }
        // Users that join (or rejoin) and are idle start now; a user still busy
        // from before keeps going when its response arrives.
        for user in old..target {
            if !run.busy[user as usize] {
                run.busy[user as usize] = true;
                self.queue.push(now, Event::UserSend { workload, user });
            }
        }
        if let Some(&(at, _)) = run.schedule.changes.get(step as usize + 1) {
            let t = run.start + SimDuration::from_secs_f64(at);
            self.queue.push(t, Event::UsersChange { workload, step: step + 1 });
        }
    }

    /// A virtual user whose call is over sends its next request after its think time
    /// (nothing for a request of an open workload or a burst).
    #[inline(always)]
    pub(super) fn user_goes_on(&mut self, workload: u16, user: u32) {
        if user != u32::MAX {
            self.user_thinks(workload, user);
        }
    }

    pub(super) fn user_thinks(&mut self, workload: u16, user: u32) {
        let now = self.now;
        let w = &mut self.workloads[workload as usize];
        if let WorkloadRun::Closed(run) = &mut w.kind {
            let think = run.think.sample(&mut run.think_rng);
            self.queue.push(now + think, Event::UserSend { workload, user });
        }
    }

    pub(super) fn set_rate(&mut self, workload: u16, rate: f64) {
        let now = self.now;
        let WorkloadRun::Open(run) = &mut self.workloads[workload as usize].kind else { return };
        if let Some(t) = run.set_rate(now, rate) {
            self.queue.push_in(run.lane, t, Event::Arrive { workload, epoch: run.epoch });
        }
    }
}

impl OpenRun {
    /// Advances to the next arrival; `None` when the profile never reaches it
    /// before `until`.
    ///
    /// The answer was usually worked out by the previous call (`ahead`), which
    /// then works out the one after: the float work from the draw to the time
    /// (a division, a rounding) is thus off the path from one event to the
    /// next, and the queue gets the new arrival's key at once. Each call still
    /// takes the stream's next draw, in the same order, so the arrivals are
    /// the same as computing each one when it is due.
    #[inline]
    pub(super) fn next_arrival(&mut self) -> Option<SimTime> {
        let t = match self.ahead.take() {
            Some((_, t)) => t,
            None => {
                let budget = self.draw();
                self.arrival_after(budget)
            }
        };
        if t.is_some() {
            let budget = self.draw();
            self.ahead = Some((budget, self.arrival_after(budget)));
        }
        t
    }

    /// The rate becomes `rate` at `now`: the pending arrival is cancelled (a
    /// new epoch) and the next one is worked out under the new rate, from the
    /// draw already taken for the next call if there is one. With a zero rate
    /// nothing is drawn, and a draw taken ahead is kept for the next change.
    pub(super) fn set_rate(&mut self, now: SimTime, rate: f64) -> Option<SimTime> {
        // Before the workload starts, the new rate applies from its start.
        self.origin = now.max(self.from);
        self.profile = RateProfile::constant(rate);
        self.pos_s = 0.0;
        self.hint = 0;
        self.epoch += 1;
        let drawn = self.ahead.take().map(|(budget, _)| budget);
        if rate <= 0.0 {
            self.ahead = drawn.map(|budget| (budget, None));
            return None;
        }
        let budget = drawn.unwrap_or_else(|| self.draw());
        self.ahead = Some((budget, self.arrival_after(budget)));
        self.next_arrival()
    }

    /// The growth of the cumulative rate to the next arrival: 1, or an Exp(1) draw.
    #[inline(always)]
    fn draw(&mut self) -> f64 {
        match self.process {
            ArrivalProcess::Constant => 1.0,
            ArrivalProcess::Poisson => self.rng.exp1(),
        }
    }

    /// The arrival `budget` after the last one, which it becomes.
    #[inline(always)]
    fn arrival_after(&mut self, budget: f64) -> Option<SimTime> {
        let pos = self.profile.advance(self.pos_s, budget, &mut self.hint)?;
        self.pos_s = pos;
        let t = self.origin + SimDuration::from_secs_f64(pos);
        (t < self.until).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RngStreams, StreamId};

    fn open_run(process: ArrivalProcess, seed: u64) -> OpenRun {
        OpenRun {
            from: SimTime::ZERO + SimDuration::from_secs(5),
            origin: SimTime::ZERO + SimDuration::from_secs(5),
            until: SimTime::ZERO + SimDuration::from_secs(20_000),
            profile: RateProfile::constant(9.0),
            process,
            rng: RngStreams::new(seed).stream(StreamId::new(StreamId::ARRIVALS, 0)),
            pos_s: 0.0,
            hint: 0,
            epoch: 0,
            lane: None,
            ahead: None,
        }
    }

    /// What `next_arrival` did before it worked one arrival ahead.
    fn when_due(run: &mut OpenRun) -> Option<SimTime> {
        let budget = run.draw();
        run.arrival_after(budget)
    }

    /// Arrivals worked out one call ahead are the arrivals worked out when
    /// due, draw for draw, through rate changes at random moments: to zero
    /// and back, twice in a row, before the start, and past `until`.
    #[test]
    fn arrivals_worked_out_ahead_are_the_arrivals_worked_out_when_due() {
        for process in [ArrivalProcess::Poisson, ArrivalProcess::Constant] {
            for seed in 0..20u64 {
                let (mut ahead, mut due) = (open_run(process, seed), open_run(process, seed));
                let mut state = seed;
                let mut next = |n: u64| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 33) % n
                };
                let (mut a, mut d) = (ahead.next_arrival(), when_due(&mut due));
                let mut now = SimTime::ZERO;
                let mut changes = 0;
                for step in 0..3000 {
                    assert_eq!(a, d, "{process:?}, seed {seed}, step {step}");
                    if next(8) == 0 {
                        // A change between now and the pending arrival.
                        now += SimDuration::from_millis(next(300));
                        let rate = [0.0, 0.0, 0.5, 9.0, 40.0][next(5) as usize];
                        a = ahead.set_rate(now, rate);
                        due.origin = now.max(due.from);
                        due.profile = RateProfile::constant(rate);
                        (due.pos_s, due.hint) = (0.0, 0);
                        d = if rate > 0.0 { when_due(&mut due) } else { None };
                        changes += 1;
                    } else if let Some(t) = a {
                        now = t;
                        (a, d) = (ahead.next_arrival(), when_due(&mut due));
                    }
                }
                assert!(changes > 300);
            }
        }
    }
}
