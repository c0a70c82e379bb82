//! CSV writers: `timeline.csv` (one row per bucket) and `requests.csv` (one row
//! per request, streamed as requests finish).

use std::io::{self, Write};

use crate::result::{Bucket, PoolInstance, PoolRow, RequestRecord, RequestSink, RowSink, TIMELINE_COLUMNS};

/// Writes the timeline; an empty cell means "no request finished in this bucket".
pub fn write_timeline<W: Write>(w: W, timeline: &[Bucket]) -> io::Result<()> {
    let mut csv = TimelineCsv::new(w)?;
    csv.rows(timeline)?;
    csv.finish().map(drop)
}

/// Streams `timeline.csv` while a run goes on (see [`write_timeline`]).
pub struct TimelineCsv<W: Write> {
    out: W,
}

impl<W: Write> TimelineCsv<W> {
    /// Writes the header.
    pub fn new(mut out: W) -> io::Result<Self> {
        writeln!(out, "{}", TIMELINE_COLUMNS.join(","))?;
        Ok(TimelineCsv { out })
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> RowSink<Bucket> for TimelineCsv<W> {
    fn rows(&mut self, timeline: &[Bucket]) -> io::Result<()> {
        let w = &mut self.out;
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
                Some(x) => write!(w, "{x:.3},")?,
                None => write!(w, ",")?,
            }
            write!(w, "{},{},{},{},", b.refused, b.statement_timeout, b.terminated, b.db_connections_open)?;
            match b.db_connections_usable {
                Some(u) => write!(w, "{u},")?,
                None => write!(w, ",")?,
            }
            writeln!(w, "{},{},{}", b.db_refusals, b.leaked_connections, b.retries)?;
        }
        Ok(())
    }
}

/// Column names of `pools.csv`, in order.
pub const POOL_COLUMNS: &[&str] = &["t_s", "pool", "pod", "worker", "used", "idle", "waiting", "timeouts"];

/// Writes `pools.csv`: one row per bucket and pool copy, long format (`pod` and
/// `worker` are empty for copies that are not per pod or per worker). `used`
/// and `waiting` are the bucket's maxima, `idle` its value at the bucket's end.
pub fn write_pools<W: Write>(w: W, instances: &[PoolInstance], rows: &[PoolRow]) -> io::Result<()> {
    let mut csv = PoolCsv::new(w, instances)?;
    csv.rows(rows)?;
    csv.finish().map(drop)
}

/// Streams `pools.csv` while a run goes on (see [`write_pools`] for the columns).
pub struct PoolCsv<'i, W: Write> {
    out: W,
    instances: &'i [PoolInstance],
}

impl<'i, W: Write> PoolCsv<'i, W> {
    /// Writes the header; rows name their copy from `instances`.
    pub fn new(mut out: W, instances: &'i [PoolInstance]) -> io::Result<Self> {
        writeln!(out, "{}", POOL_COLUMNS.join(","))?;
        Ok(PoolCsv { out, instances })
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> RowSink<PoolRow> for PoolCsv<'_, W> {
    fn rows(&mut self, rows: &[PoolRow]) -> io::Result<()> {
        let w = &mut self.out;
        for r in rows {
            let i = &self.instances[r.instance as usize];
            write!(w, "{:.3},{},", r.t_s, i.pool)?;
            match i.pod {
                Some(p) => write!(w, "{p},")?,
                None => write!(w, ",")?,
            }
            match i.worker {
                Some(k) => write!(w, "{k},")?,
                None => write!(w, ",")?,
            }
            writeln!(w, "{},{},{},{}", r.used_max, r.idle, r.waiting_max, r.timeouts)?;
        }
        Ok(())
    }
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
    use crate::result::Percentiles;

    #[test]
    fn every_timeline_column_can_be_read_by_name() {
        let b = Bucket {
            latency_ms: Some(Percentiles { p50: 1.0, p95: 2.0, p99: 3.0 }),
            acquire_wait_ms_p99: Some(4.0),
            db_connections_usable: Some(497),
            ..Bucket::default()
        };
        for c in TIMELINE_COLUMNS {
            assert!(b.value(c).is_some(), "column {c} has no accessor");
        }
        assert_eq!(b.value("latency_ms_p99"), Some(3.0));
        assert_eq!(b.value("no_such_column"), None);
    }

    #[test]
    fn timeline_rows_have_one_cell_per_column() {
        let mut out = Vec::new();
        write_timeline(&mut out, &[Bucket::default(), Bucket { db_connections_usable: Some(5), ..Bucket::default() }])
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert_eq!(line.split(',').count(), TIMELINE_COLUMNS.len(), "{line}");
        }
    }

    #[test]
    fn pool_rows_name_their_pool_pod_and_worker() {
        let instances = vec![
            PoolInstance { pool: "app".into(), pod: Some(1), worker: Some(2) },
            PoolInstance { pool: "shared".into(), pod: None, worker: None },
        ];
        let rows = [
            PoolRow { t_s: 0.0, instance: 0, used_max: 3, idle: 1, waiting_max: 2, timeouts: 1 },
            PoolRow { t_s: 0.0, instance: 1, used_max: 0, idle: 4, waiting_max: 0, timeouts: 0 },
        ];
        let mut out = Vec::new();
        write_pools(&mut out, &instances, &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "t_s,pool,pod,worker,used,idle,waiting,timeouts\n0.000,app,1,2,3,1,2,1\n0.000,shared,,,0,4,0,0\n"
        );
    }
}
