//! The in-memory series store the expressions are evaluated over.
//!
//! A series is a label set (sorted by name, `__name__` included) and its samples in
//! strictly increasing time order. Samples are kept as one `Vec<(t_ms, value)>` per
//! series: every lookup the evaluator makes ("the latest sample at or before t",
//! "the samples in (t - range, t]") is then a binary search on a contiguous slice,
//! and appending while a simulation runs is amortised O(1). A name index maps each
//! metric name to its series so a selector never scans unrelated ones.
//!
//! Invariants: label names are unique and sorted within a label set; no two series
//! share a label set; sample times strictly increase within a series. Prometheus'
//! staleness marker ([`STALE_NAN`]) ends a series until its next real sample.

use std::collections::BTreeMap;

/// The label name holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Prometheus' staleness marker: a NaN with a particular bit pattern. A series whose
/// latest sample is this marker is absent from instant selectors; range selectors
/// skip it. Ordinary NaN values are kept as values.
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// Whether `v` is the staleness marker (not merely some NaN).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN.to_bits()
}

/// A label set: `(name, value)` pairs sorted by name, names unique.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds a label set from pairs in any order; a later pair replaces an earlier
    /// one with the same name, and empty values are dropped (as Prometheus does: a
    /// label with an empty value is the same as no label).
    pub fn new<I, K, V>(pairs: I) -> Labels
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut l = Labels::default();
        for (k, v) in pairs {
            l.set(&k.into(), &v.into());
        }
        l
    }

    /// The label set of metric `name` with the given other labels.
    pub fn metric(name: &str, pairs: &[(&str, &str)]) -> Labels {
        let mut l = Labels::new(pairs.iter().copied());
        l.set(METRIC_NAME, name);
        l
    }

    /// The value of label `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)).ok().map(|i| self.0[i].1.as_str())
    }

    /// The metric name, if any.
    pub fn name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Sets `name` to `value` (removes it when `value` is empty).
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].1 = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, (name.to_string(), value.to_string())),
        }
    }

    /// Removes label `name`.
    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            self.0.remove(i);
        }
    }

    /// Keeps only the labels whose name `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|(k, _)| keep(k));
    }

    /// The pairs, sorted by name.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy without the metric name.
    pub fn without_name(&self) -> Labels {
        let mut l = self.clone();
        l.remove(METRIC_NAME);
        l
    }
}

impl std::fmt::Display for Labels {
    /// `name{a="x", b="y"}`, the form Prometheus prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(n) = self.name() {
            f.write_str(n)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for (k, v) in &self.0 {
            if k == METRIC_NAME {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

/// One series: its labels and samples `(t_ms, value)` in strictly increasing time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels, `__name__` included.
    pub labels: Labels,
    /// Samples, oldest first.
    pub samples: Vec<(i64, f64)>,
}

/// Why a series or sample was not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Samples must be added in strictly increasing time.
    #[error("sample at {t_ms} ms for {labels} is not after the series' last sample at {last_ms} ms")]
    OutOfOrder {
        /// The series.
        labels: Labels,
        /// The rejected time.
        t_ms: i64,
        /// The last time already stored.
        last_ms: i64,
    },
    /// A series needs a metric name.
    #[error("series {0} has no metric name (`__name__`)")]
    NoName(Labels),
}

/// All series, with an index by metric name.
#[derive(Debug, Clone, Default)]
pub struct SeriesStore {
    series: Vec<Series>,
    by_labels: BTreeMap<Labels, usize>,
    by_name: BTreeMap<String, Vec<usize>>,
}

impl SeriesStore {
    /// An empty store.
    pub fn new() -> SeriesStore {
        SeriesStore::default()
    }

    /// Appends one sample to the series with these labels, creating it if needed.
    /// Times must strictly increase within a series.
    pub fn append(&mut self, labels: &Labels, t_ms: i64, value: f64) -> Result<(), StoreError> {
        let i = self.index_of(labels)?;
        let s = &mut self.series[i];
        if let Some(&(last_ms, _)) = s.samples.last()
            && t_ms <= last_ms
        {
            return Err(StoreError::OutOfOrder { labels: labels.clone(), t_ms, last_ms });
        }
        s.samples.push((t_ms, value));
        Ok(())
    }

    /// Adds a whole series (merged into an existing one with the same labels, whose
    /// samples must all be earlier).
    pub fn insert(&mut self, series: Series) -> Result<(), StoreError> {
        let i = self.index_of(&series.labels)?;
        let mut last = self.series[i].samples.last().map(|s| s.0);
        for &(t, _) in &series.samples {
            if let Some(l) = last
                && t <= l
            {
                return Err(StoreError::OutOfOrder { labels: series.labels.clone(), t_ms: t, last_ms: l });
            }
            last = Some(t);
        }
        self.series[i].samples.extend_from_slice(&series.samples);
        Ok(())
    }

    fn index_of(&mut self, labels: &Labels) -> Result<usize, StoreError> {
        if let Some(&i) = self.by_labels.get(labels) {
            return Ok(i);
        }
        let Some(name) = labels.name() else { return Err(StoreError::NoName(labels.clone())) };
        let i = self.series.len();
        self.by_name.entry(name.to_string()).or_default().push(i);
        self.by_labels.insert(labels.clone(), i);
        self.series.push(Series { labels: labels.clone(), samples: Vec::new() });
        Ok(i)
    }

    /// Every series, in insertion order.
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// The series of metric `name`, in insertion order.
    pub fn by_name<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Series> + 'a {
        self.by_name.get(name).into_iter().flatten().map(move |&i| &self.series[i])
    }

    /// The latest time of any sample (for choosing an evaluation end).
    pub fn last_time(&self) -> Option<i64> {
        self.series.iter().filter_map(|s| s.samples.last().map(|p| p.0)).max()
    }
}

impl Series {
    /// The latest sample in `(t_ms - lookback_ms, t_ms]`, unless it is a staleness
    /// marker (then the series is absent at `t_ms`, as in Prometheus).
    pub fn instant(&self, t_ms: i64, lookback_ms: i64) -> Option<(i64, f64)> {
        let end = self.samples.partition_point(|&(t, _)| t <= t_ms);
        let &(t, v) = self.samples.get(end.checked_sub(1)?)?;
        if t <= t_ms.saturating_sub(lookback_ms) || is_stale(v) {
            return None;
        }
        Some((t, v))
    }

    /// The samples in `(t_ms - range_ms, t_ms]` (left-open, as in Prometheus 3),
    /// staleness markers included (the caller skips them).
    pub fn range(&self, t_ms: i64, range_ms: i64) -> &[(i64, f64)] {
        let lo = t_ms.saturating_sub(range_ms);
        let a = self.samples.partition_point(|&(t, _)| t <= lo);
        let b = self.samples.partition_point(|&(t, _)| t <= t_ms);
        &self.samples[a..b.max(a)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_sorted_and_drop_empty_values() {
        let mut l = Labels::new([("b", "2"), ("a", "1"), ("c", "")]);
        assert_eq!(l.pairs(), &[("a".into(), "1".into()), ("b".into(), "2".into())]);
        l.set("a", "");
        assert_eq!(l.get("a"), None);
        assert_eq!(Labels::metric("m", &[("x", "y")]).to_string(), "m{x=\"y\"}");
    }

    #[test]
    fn instant_lookups_honour_the_left_open_lookback_and_staleness() {
        let s = Series { labels: Labels::metric("m", &[]), samples: vec![(0, 1.0), (10, 2.0), (20, STALE_NAN)] };
        assert_eq!(s.instant(5, 300), Some((0, 1.0)));
        assert_eq!(s.instant(10, 300), Some((10, 2.0)));
        assert_eq!(s.instant(19, 10), Some((10, 2.0)));
        assert_eq!(s.instant(19, 9), Some((0, 1.0)).filter(|_| false), "(10, 19] holds no sample");
        assert_eq!(s.instant(20, 300), None, "stale");
        assert_eq!(s.instant(310, 300), None, "a sample exactly lookback ago is out (Prometheus 3)");
        assert_eq!(s.instant(-1, 300), None);
    }

    #[test]
    fn ranges_are_left_open_and_right_closed() {
        let s = Series { labels: Labels::metric("m", &[]), samples: (0..10).map(|i| (i * 10, i as f64)).collect() };
        assert_eq!(s.range(50, 20), &[(40, 4.0), (50, 5.0)]);
        assert_eq!(s.range(55, 20), &[(40, 4.0), (50, 5.0)]);
        assert!(s.range(-5, 20).is_empty());
    }

    #[test]
    fn appends_must_move_forward() {
        let mut st = SeriesStore::new();
        let l = Labels::metric("m", &[]);
        st.append(&l, 5, 1.0).unwrap();
        assert!(matches!(st.append(&l, 5, 1.0), Err(StoreError::OutOfOrder { .. })));
        assert!(matches!(st.append(&Labels::new([("a", "b")]), 1, 1.0), Err(StoreError::NoName(_))));
        assert_eq!(st.by_name("m").count(), 1);
        assert_eq!(st.last_time(), Some(5));
    }
}
