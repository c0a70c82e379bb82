//! The generic discrete-event kernel: simulated time, the event queue and seeded
//! random streams. It knows nothing of pools or requests and imports nothing
//! else of the crate, so it can be tested and reasoned about on its own.

pub mod queue;
pub mod rng;
pub mod time;
mod ziggurat;

pub use queue::EventQueue;
pub use rng::{RngStreams, StreamId, StreamRng};
pub use time::{SimDuration, SimTime};
