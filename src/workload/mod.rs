//! Workloads: what arrives and when, independent of what serves it.
//!
//! Distributions of durations ([`Dist`]), open-loop rate profiles ([`RateProfile`])
//! and closed-loop user schedules ([`UserSchedule`]). Nothing here knows about
//! pools; the model asks these types for the next arrival or the next draw.

pub mod dist;
pub mod rate;
pub mod users;

pub use dist::Dist;
pub use rate::{ArrivalProcess, RateProfile, RateStage};
pub use users::{UserSchedule, UserStage};
