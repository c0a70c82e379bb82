//! Observation only: the model reports what happens, this module keeps the
//! timeline buckets, histograms and counters, and builds the summary. It never
//! schedules events and never changes what the simulation does.
//!
//! Memory is O(buckets): per-request data is folded into HDR histograms as it
//! happens (one live histogram per timeline bucket, reset when the bucket closes)
//! and is never stored, unless a [`RequestSink`] streams it out. The per-copy
//! rows of `pools.csv` and the timeline's are kept only until a [`RowSink`] takes them (when
//! the run was given one), so a fleet's memory does not grow with copies × buckets.
//!
//! What it builds are [`crate::result`] types.

mod histogram;
mod recorder;
mod scrape;

pub use recorder::{Recorded, Recorder};

#[cfg(doc)]
use crate::result::RequestSink;
use crate::result::RowSink;

/// Hands `rows` to `sink`, if there is one and at least `min` rows are
/// waiting, and forgets them.
pub(crate) fn hand_off<T>(
    rows: &mut Vec<T>,
    sink: Option<&mut (dyn RowSink<T> + '_)>,
    min: usize,
) -> std::io::Result<()> {
    if let Some(sink) = sink
        && rows.len() >= min
    {
        sink.rows(rows)?;
        rows.clear();
    }
    Ok(())
}
