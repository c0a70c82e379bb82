//! A sweep's result: the [`Table`] of figures per grid point (or the points of
//! one [`Shard`]), each an [`Estimate`] over the replications.

use super::Estimate;

/// A deterministic share of the grid: point `i` belongs to shard `i % count`.
///
/// Round-robin rather than contiguous blocks so that each shard gets a fair share of the
/// expensive corner of the grid (large pools and long runs tend to sit together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N` with `0 <= K < N` (K counts from 0, like `JOB_COMPLETION_INDEX`).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let form = "write `K/N` with K from 0 to N-1, e.g. `0/4` .. `3/4`";
        let (k, n) = s.split_once('/').ok_or_else(|| format!("shard `{s}`: {form}"))?;
        let (Ok(index), Ok(count)) = (k.trim().parse::<usize>(), n.trim().parse::<usize>()) else {
            return Err(format!("shard `{s}`: {form}"));
        };
        if count == 0 || index >= count {
            return Err(format!("shard `{s}` does not exist: K counts from 0, so {form}"));
        }
        Ok(Shard { index, count })
    }

    /// Whether point `i` is in this shard.
    pub fn contains(&self, i: usize) -> bool {
        i % self.count == self.index
    }
}

/// The figures of every point of a sweep (or shard).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Swept keys, in grid order.
    pub keys: Vec<String>,
    /// Figure paths (`requests.timed_out_rate`), in column order.
    pub figures: Vec<String>,
    /// Runs per point.
    pub replications: usize,
    /// One row per point, in point order.
    pub rows: Vec<Row>,
}

/// One grid point's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Point index in the whole grid.
    pub point: usize,
    /// The swept values' texts, one per key.
    pub values: Vec<String>,
    /// One estimate per figure (`None` when no run had the figure).
    pub cells: Vec<Option<Estimate>>,
}

impl Table {
    /// Index of a figure's column.
    pub fn figure(&self, path: &str) -> Option<usize> {
        self.figures.iter().position(|f| f == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_grid() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert!(Shard::parse("4/4").unwrap_err().contains("from 0"));
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x").is_err());
        let shards: Vec<Shard> = (0..3).map(|k| Shard { index: k, count: 3 }).collect();
        for i in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(i)).count(), 1);
        }
    }
}
