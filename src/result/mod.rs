//! What runs produce: the result types every writer, figure and check reads.
//!
//! A [`RunResult`] (meta, timeline, summary, fleet figures, per-copy rows and
//! the theory block), the per-request [`RequestRecord`], a sweep's [`Table`]
//! and a [`Comparison`] of designs. This layer holds data and the small pure
//! functions that describe it (a timeline column by name, a confidence
//! interval); it imports nothing of the crate but the engine's time types, so
//! `output`, `plot` and `check` depend on it and never on the code that runs
//! simulations.

mod alerts;
mod compare;
mod fleet;
mod requests;
mod run;
mod scrape;
pub mod series;
pub mod stats;
mod sweep;
mod timeline;

pub use alerts::{AlertEpisode, AlertFigures, Alerts, Annotation, AnnotationKind};
pub use compare::{Comparison, FigureRow};
pub use fleet::{
    ClientSummary, DatabaseSummary, FleetSummary, JobSummary, LeakSummary, PoolSummary, PoolerSummary, WorkerSummary,
};
pub use requests::{Outcome, RequestRecord, RequestSink};
pub use run::{Percentiles, Prediction, RequestCounts, RunMeta, RunResult, Stats, Summary, Theory};
pub use scrape::{CopySample, FleetSample, HISTOGRAM_LE_S, HistogramSample, Scrapes};
pub use stats::Estimate;
pub use sweep::{Row, Shard, Table};
pub use timeline::{Bucket, PoolInstance, PoolRow, RowSink, TIMELINE_COLUMNS};
