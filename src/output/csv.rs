//! CSV writers: `timeline.csv` (one row per bucket) and `requests.csv` (one row
//! per request, streamed as requests finish).

use std::io::{self, Write};

use crate::metrics::{Bucket, RequestRecord, RequestSink};

/// Column names of `timeline.csv`, in order.
pub const TIMELINE_COLUMNS: &[&str] = &[
    "t_s",
    "arrivals",
    "ok",
    "timed_out",
    "failed",
    "db_pool_used_size_max",
    "db_pool_used_size_mean",
    "db_pool_free_size_min",
    "db_pool_waiting_requests_max",
    "db_pool_waiting_requests_mean",
    "db_pool_max_size",
    "db_pool_exhaustion_total",
    "latency_ms_p50",
    "latency_ms_p95",
    "latency_ms_p99",
    "acquire_wait_ms_p99",
];

/// Writes the timeline; an empty cell means "no request finished in this bucket".
pub fn write_timeline<W: Write>(mut w: W, timeline: &[Bucket]) -> io::Result<()> {
    writeln!(w, "{}", TIMELINE_COLUMNS.join(","))?;
    for b in timeline {
        write!(
            w,
            "{:.3},{},{},{},{},{},{:.3},{},{},{:.3},{},{},",
            b.t_s,
            b.arrivals,
            b.ok,
            b.timed_out,
            b.failed,
            b.db_pool_used_size_max,
            b.db_pool_used_size_mean,
            b.db_pool_free_size_min,
            b.db_pool_waiting_requests_max,
            b.db_pool_waiting_requests_mean,
            b.db_pool_max_size,
            b.db_pool_exhaustion_total,
        )?;
        match b.latency_ms {
            Some(p) => write!(w, "{:.3},{:.3},{:.3},", p.p50, p.p95, p.p99)?,
            None => write!(w, ",,,")?,
        }
        match b.acquire_wait_ms_p99 {
            Some(x) => writeln!(w, "{x:.3}")?,
            None => writeln!(w)?,
        }
    }
    w.flush()
}

/// Streams `requests.csv`: one row per finished request.
pub struct RequestCsv<W: Write> {
    out: W,
    workload_names: Vec<String>,
}

impl<W: Write> RequestCsv<W> {
    /// Writes the header; `workload_names[i]` names workload `i` in the `source` column.
    pub fn new(mut out: W, workload_names: Vec<String>) -> io::Result<Self> {
        writeln!(out, "id,source,arrival_s,acquired_s,finished_s,wait_ms,latency_ms,outcome")?;
        Ok(RequestCsv { out, workload_names })
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> RequestSink for RequestCsv<W> {
    fn record(&mut self, r: &RequestRecord) -> io::Result<()> {
        let name = self.workload_names.get(r.workload as usize).map_or("?", String::as_str);
        write!(self.out, "{},{},{:.9},", r.id, name, r.arrival.as_secs_f64())?;
        match r.acquired {
            Some(a) => write!(self.out, "{:.9},", a.as_secs_f64())?,
            None => write!(self.out, ",")?,
        }
        writeln!(
            self.out,
            "{:.9},{:.6},{:.6},{}",
            r.finished.as_secs_f64(),
            r.wait.as_millis_f64(),
            (r.finished - r.arrival).as_millis_f64(),
            r.outcome.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Percentiles;

    #[test]
    fn every_timeline_column_can_be_read_by_name() {
        let b = Bucket {
            latency_ms: Some(Percentiles { p50: 1.0, p95: 2.0, p99: 3.0 }),
            acquire_wait_ms_p99: Some(4.0),
            ..Bucket::default()
        };
        for c in TIMELINE_COLUMNS {
            assert!(b.value(c).is_some(), "column {c} has no accessor");
        }
        assert_eq!(b.value("latency_ms_p99"), Some(3.0));
        assert_eq!(b.value("no_such_column"), None);
    }
}
