//! Closed-loop virtual users driven by k6-style `stages: [{duration, target}]`.
//!
//! The number of users moves linearly from one stage's target to the next; the
//! schedule is the list of instants at which the whole number of users changes
//! (one entry per user added or removed). A removed user finishes its request in
//! flight and sends no more. After the last stage every user stops, as k6 ends
//! the test.

/// One stage: move linearly to `target` users over `duration_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserStage {
    /// Length of the stage in seconds (0 = an instant jump).
    pub duration_s: f64,
    /// Number of users at the end of the stage.
    pub target: u32,
}

/// When the number of active users changes, relative to the workload's start.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSchedule {
    /// (seconds after the start, number of users from then on), in time order.
    pub changes: Vec<(f64, u32)>,
    /// The largest number of users at any time.
    pub peak: u32,
}

impl UserSchedule {
    /// Expands stages into the instants where the whole number of users changes.
    /// Growing from `a` to `b` over `d`, user `k` starts when the linear ramp reaches
    /// `k`, at `d * (k - a) / (b - a)`; shrinking mirrors it. A final change to zero
    /// users closes the schedule.
    pub fn from_stages(stages: &[UserStage]) -> UserSchedule {
        let mut changes = Vec::new();
        let (mut t, mut n) = (0.0f64, 0u32);
        let mut peak = 0;
        for s in stages {
            let (a, b) = (n, s.target);
            if a != b {
                let steps = a.abs_diff(b);
                for j in 1..=steps {
                    let at = t + s.duration_s * j as f64 / steps as f64;
                    let users = if b > a { a + j } else { a - j };
                    changes.push((at, users));
                }
            }
            t += s.duration_s;
            n = b;
            peak = peak.max(b);
        }
        if n != 0 {
            changes.push((t, 0));
        }
        UserSchedule { changes, peak }
    }

    /// The end of the last stage, in seconds after the start.
    pub fn end_s(&self) -> f64 {
        self.changes.last().map_or(0.0, |c| c.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_adds_users_evenly_then_holds_then_stops() {
        let s = UserSchedule::from_stages(&[
            UserStage { duration_s: 10.0, target: 5 },
            UserStage { duration_s: 20.0, target: 5 },
        ]);
        assert_eq!(s.changes, vec![(2.0, 1), (4.0, 2), (6.0, 3), (8.0, 4), (10.0, 5), (30.0, 0)]);
        assert_eq!(s.peak, 5);
        assert_eq!(s.end_s(), 30.0);
    }

    #[test]
    fn ramp_down_removes_users() {
        let s = UserSchedule::from_stages(&[
            UserStage { duration_s: 0.0, target: 2 },
            UserStage { duration_s: 4.0, target: 0 },
        ]);
        assert_eq!(s.changes, vec![(0.0, 1), (0.0, 2), (2.0, 1), (4.0, 0)]);
    }
}
