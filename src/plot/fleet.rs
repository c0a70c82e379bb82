//! Figures of the fleet: the database's connections against its limit, and pool usage per pod
//! (the "By Pod" strip of the incident's dashboard), as PNG or SVG bytes.
//!
//! This is a child of [`crate::plot`] and reuses its frame, panels, axes, palette, font and
//! annotations, so the figures look like the others and their time axes line up with them: the
//! run's annotations are lines across both panels of the database figure and across the pods'
//! strip, labelled above the top plot.
//!
//! Invariants (the same as the parent's):
//! - Deterministic: the same result gives the same bytes (embedded font, no clock, no randomness).
//! - Total: no input panics. No database limit draws no limit lines; an empty timeline or no pool
//!   rows give an empty plot that says so; unknown pools, instance indices out of range and
//!   non-finite times are skipped.
//! - Bounded: at most `MAX_COLUMNS` time columns and `MAX_ROWS` pod rows are drawn (pods are
//!   grouped into bands beyond that, keeping each band's maximum), so ten thousand pods over a
//!   long run still cost one pass over the pool rows and give a figure of bounded size.
//! - Generic: timeline figures are read by `timeline.csv` column name ([`crate::result::Bucket::value`]), so the
//!   figures follow the CSV's vocabulary.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::annotate::{self, Marks};
use super::text::{ellipsize, font, width};
use super::{
    Area, Axis, BLUE, FONT, FRAME, Format, Frame, GREEN, INK, Kind, LEFT_AREA, MARGIN, MAX_COLUMNS, MUTED, Merge,
    Merging, PURPLE, Panel, PlotError, Plotted, RIGHT_AREA, Scale, Series, TITLE_H, VERMILLION, WIDTH, X_AREA, clip,
    draw_heading, draw_panel, draw_tiles, figure, fmt_num, nice_step, plot_columns, ticks,
};
use crate::result::{PoolInstance, PoolRow, RowSink, RunResult};

/// Timeline columns the database figure reads.
const OPEN: &str = "db_connections_open";
const USABLE: &str = "db_connections_usable";
const REFUSALS: &str = "db_refusals";
const LEAKED: &str = "leaked_connections";
const IN_USE: &str = "db_pool_used_size_max";

const DATABASE_H: u32 = 900;
/// Height of the database figure's header (title, facts, key-figure tiles).
const DB_HEADER_H: u32 = 150;
/// Height of the pods figure's header (title, facts, capacity line).
const PODS_HEADER_H: u32 = 92;
/// Most pod rows drawn; more pods are grouped into bands of consecutive pods.
const MAX_ROWS: usize = 400;
/// Row height bounds (px): tall enough to label when there are few pods, at least 2 px when many.
const MAX_ROW_H: u32 = 28;
const MIN_ROW_H: u32 = 2;
/// Plot height bounds (px) of the pods figure.
const MAX_PLOT_H: u32 = 800;
const MIN_PLOT_H: u32 = 140;
/// Least vertical distance between two row labels (px).
const LABEL_GAP: u32 = 16;
/// Colour of cells without data.
const NO_DATA: RGBColor = RGBColor(225, 225, 225);
/// Sequential, colour-blind safe ramp from idle to full (ColorBrewer YlOrRd): a starved pod is
/// the darkest cell, as on the incident's dashboard.
const RAMP: [(f64, RGBColor); 5] = [
    (0.0, RGBColor(255, 255, 204)),
    (0.25, RGBColor(254, 217, 118)),
    (0.5, RGBColor(253, 141, 60)),
    (0.75, RGBColor(227, 26, 28)),
    (1.0, RGBColor(128, 0, 38)),
];

/// Open database connections over time against the usable limit (`max_connections` minus the
/// reserved slots) and `max_connections`, above the refused connection attempts per bucket and
/// the leaked connections; with a header of the connection budget. Without a database limit the
/// limit lines are left out.
pub fn database(r: &RunResult, format: Format) -> Result<Vec<u8>, PlotError> {
    let f = Frame::new(r);
    let limits = Limits::of(r, &f);
    let conns = connections_panel(&f, &limits);
    let errs = refusals_panel(&f);
    figure(WIDTH, DATABASE_H, format, |root| {
        let (head, body) = root.split_vertically(DB_HEADER_H);
        draw_db_header(&head, r, &limits)?;
        let h = body.dim_in_pixel().1;
        let (top, bottom) = body.split_vertically(h * conns.weight / (conns.weight + errs.weight));
        let plotted = draw_panel(&top, &f, &conns, true)?;
        label_limits(&top, &plotted, &conns, &limits)?;
        draw_panel(&bottom, &f, &errs, false).map(drop)
    })
}

/// One row per pod (and one for shared pools), time across, coloured by the connections in use
/// in the pod (the sum over its pool copies of each copy's peak in the bucket) divided by the
/// pod's capacity (the sum of its copies' `max_size`), with a 0–100 % colour bar.
pub fn pods(r: &RunResult, format: Format) -> Result<Vec<u8>, PlotError> {
    let g = PodGrid::new(r);
    let n = g.rows.len().max(1) as u32;
    let plot_h = (n * (MAX_PLOT_H / n).clamp(MIN_ROW_H, MAX_ROW_H)).max(MIN_PLOT_H);
    // The annotations' lane, laid out as the grid's columns are.
    let marks = Marks::new(&r.annotations, g.x);
    let lane = annotate::lane(&marks, g.x, plot_columns(WIDTH), annotate::MAX_ROWS);
    let h = PODS_HEADER_H + TITLE_H + lane.height() + 6 + plot_h + X_AREA + MARGIN;
    figure(WIDTH, h, format, |root| {
        let (head, body) = root.split_vertically(PODS_HEADER_H);
        draw_pods_header(&head, r, &g)?;
        draw_grid(&body, &g, plot_h, &marks, &lane)
    })
}

/// [`database`] as PNG.
pub fn database_png(r: &RunResult) -> Result<Vec<u8>, PlotError> {
    database(r, Format::Png)
}

/// [`pods`] as PNG.
pub fn pods_png(r: &RunResult) -> Result<Vec<u8>, PlotError> {
    pods(r, Format::Png)
}

/// Keeps, of the pool rows streaming by, what [`pods_png`] draws: per bucket,
/// one row per pod (and one for the shared pools) whose `used_max` is the sum
/// over the pod's copies, under the instance of the pod's first copy. The figure
/// drawn from these rows is the one all the rows give when every pool has a
/// `max_size` in the summary (as in every run; the figure otherwise falls back
/// on each copy's largest use, which these rows no longer hold): a fleet of 100 copies in 20 pods
/// keeps a fifth of the rows, and the copies' rows themselves go to `pools.csv`.
/// Past `KEEP_ROWS` buckets, buckets are merged two by two exactly as
/// [`PlotTimeline`](super::PlotTimeline) merges the timeline's (a pod's use in
/// a merged bucket is its largest, which is what the figure's columns show).
pub struct PodRows {
    /// The first copy of each copy's pod (the shared pools count as one pod).
    first_of: Vec<u32>,
    buckets: Merging<PodBucket>,
    /// The bucket being read: its time, and the sums per first copy, with the
    /// first copies seen in it.
    t_s: Option<f64>,
    sums: Vec<u64>,
    touched: Vec<u32>,
    in_bucket: Vec<bool>,
}

impl PodRows {
    /// A reducer for a run with these pool copies.
    pub fn new(instances: &[PoolInstance]) -> PodRows {
        let mut first: BTreeMap<Option<u32>, u32> = BTreeMap::new();
        let first_of =
            (0..instances.len() as u32).map(|i| *first.entry(instances[i as usize].pod).or_insert(i)).collect();
        let n = instances.len();
        PodRows {
            first_of,
            buckets: Merging::default(),
            t_s: None,
            sums: vec![0; n],
            touched: Vec::new(),
            in_bucket: vec![false; n],
        }
    }

    /// Ends the bucket being read.
    fn flush(&mut self) {
        let Some(t_s) = self.t_s.take() else { return };
        self.touched.sort_unstable();
        let mut pods = Vec::with_capacity(self.touched.len());
        for &first in &self.touched {
            self.in_bucket[first as usize] = false;
            let used = std::mem::take(&mut self.sums[first as usize]);
            pods.push((first, u32::try_from(used).unwrap_or(u32::MAX)));
        }
        self.touched.clear();
        self.buckets.push(PodBucket { t_s, pods });
    }

    /// The reduced rows.
    pub fn finish(mut self) -> Vec<PoolRow> {
        self.flush();
        let (buckets, _) = self.buckets.finish();
        buckets
            .into_iter()
            .flat_map(|b| {
                b.pods.into_iter().map(move |(instance, used_max)| PoolRow {
                    t_s: b.t_s,
                    instance,
                    used_max,
                    idle: 0,
                    waiting_max: 0,
                    timeouts: 0,
                })
            })
            .collect()
    }
}

/// One bucket of [`PodRows`]: its start and, per pod (by its first copy, in
/// increasing order), the connections in use.
#[derive(Debug, Clone)]
struct PodBucket {
    t_s: f64,
    pods: Vec<(u32, u32)>,
}

impl Merge for PodBucket {
    /// The pods of both, each with its larger use.
    fn merge(&mut self, next: &Self, _: u32, _: u32) {
        self.pods.extend_from_slice(&next.pods);
        self.pods.sort_by_key(|&(first, _)| first);
        self.pods.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = kept.1.max(later.1);
            }
            same
        });
    }
}

impl RowSink<PoolRow> for PodRows {
    fn rows(&mut self, rows: &[PoolRow]) -> std::io::Result<()> {
        for row in rows {
            let Some(&first) = self.first_of.get(row.instance as usize) else { continue };
            if self.t_s.is_some_and(|t| t.to_bits() != row.t_s.to_bits()) {
                self.flush();
            }
            self.t_s = Some(row.t_s);
            if !std::mem::replace(&mut self.in_bucket[first as usize], true) {
                self.touched.push(first);
            }
            self.sums[first as usize] += u64::from(row.used_max);
        }
        Ok(())
    }
}

/// The database limit, as the label of its lines reads it.
struct Limits {
    /// Connections applications may open (`None`: no limit).
    usable: Option<u32>,
    /// `max_connections`.
    max: Option<u32>,
    reserved: u32,
}

impl Limits {
    /// From the summary, falling back to the timeline (the last bucket with a limit).
    fn of(r: &RunResult, f: &Frame) -> Limits {
        let d = &r.fleet.database;
        let from_timeline = f.buckets.iter().rev().find_map(|b| b.value(USABLE)).map(|u| u as u32);
        let usable = d.usable_connections.or(from_timeline);
        let max = d.max_connections.or(usable.map(|u| u.saturating_add(d.reserved_connections)));
        Limits { usable, max, reserved: d.reserved_connections }
    }

    /// Whether `max_connections` gets its own line (it coincides with the usable one otherwise).
    fn max_line(&self) -> bool {
        self.usable.is_some() && self.reserved > 0
    }

    fn usable_label(&self) -> Option<String> {
        let u = fmt_num(f64::from(self.usable?));
        let max = self.max.map_or_else(|| "?".into(), |m| fmt_num(f64::from(m)));
        Some(if self.max_line() {
            format!("usable {u} = {max} max_connections − {} reserved", fmt_num(f64::from(self.reserved)))
        } else {
            format!("usable {u} = max_connections (none reserved)")
        })
    }
}

fn connections_panel(f: &Frame, l: &Limits) -> Panel {
    let mut series = vec![
        Series::new("open, max per bucket", BLUE, Kind::Area, f.values(|b| b.value(OPEN))),
        Series::new("checked out, max", GREEN, Kind::Line, f.values(|b| b.value(IN_USE))),
    ];
    // The limits are drawn last and dashed, so an "open" line at the limit shows through them.
    if l.usable.is_some() {
        let reserved = f64::from(l.reserved);
        if l.max_line() {
            let max = f.values(|b| b.value(USABLE).map(|u| u + reserved));
            series.push(Series::new("max_connections", INK, Kind::Step, max));
        }
        series.push(Series::new("usable limit", VERMILLION, Kind::Step, f.values(|b| b.value(USABLE))));
    }
    let title = match l.usable {
        Some(_) => "Open database connections vs the limit",
        None => "Open database connections (no max_connections set)",
    };
    Panel {
        title: title.into(),
        weight: 6,
        left: Scale::Count,
        left_desc: "connections",
        right: None,
        series,
        limits: Vec::new(),
    }
}

fn refusals_panel(f: &Frame) -> Panel {
    let mut leaked = Series::new("leaked, checked out (right axis)", PURPLE, Kind::Line, f.values(|b| b.value(LEAKED)));
    leaked.right = true;
    Panel {
        title: format!("Refused opens per {} s bucket, leaked connections", fmt_num(f.bucket_s)),
        weight: 4,
        left: Scale::Count,
        left_desc: "refusals per bucket",
        right: Some((Scale::Count, "leaked (connections)")),
        series: vec![
            Series::new("refused by the database", VERMILLION, Kind::Bars, f.values(|b| b.value(REFUSALS))),
            leaked,
        ],
        limits: Vec::new(),
    }
}

/// Writes the limits' values beside their lines, at the end of the run (left or right) where
/// fewer connections are open, so the label hides the least data: `max_connections` above its
/// line, the usable limit below its own, so the two labels never overlap however close the lines are.
fn label_limits(area: &Area, at: &Plotted, p: &Panel, l: &Limits) -> Result<(), PlotError> {
    let (Some(usable), Some(text)) = (l.usable, l.usable_label()) else {
        return Ok(());
    };
    let open = &p.series[0].values;
    let (first, last) = (open.iter().flatten().next(), open.iter().flatten().next_back());
    let right = matches!((first, last), (Some(a), Some(b)) if b < a);
    let coord = |v: u32| at.at(if right { at.time.1 } else { at.time.0 }, f64::from(v));
    let bold = font(14, FontStyle::Bold);
    // Cut to half the plot, so a label never runs past the plot whatever the numbers.
    let room = ((at.x.1 - at.x.0) / 2).max(0) as u32;
    let put = |text: &str, (px, py): (i32, i32), above: bool, c: RGBColor| -> Result<(), PlotError> {
        let text = ellipsize(text, &bold, room);
        let (w, h) = (width(&text, &bold) as i32, 15);
        let (x0, y0) = (if right { px - 8 - w } else { px + 8 }, if above { py - h - 6 } else { py + 4 });
        area.draw(&Rectangle::new([(x0 - 3, y0 - 1), (x0 + w + 3, y0 + h + 2)], WHITE.mix(0.85).filled()))?;
        area.draw_text(&text, &bold.color(&c).pos(Pos::new(HPos::Left, VPos::Top)), (x0, y0))?;
        Ok(())
    };
    put(&text, coord(usable), false, VERMILLION)?;
    if let (true, Some(max)) = (l.max_line(), l.max) {
        put(&format!("max_connections {}", fmt_num(f64::from(max))), coord(max), true, INK)?;
    }
    Ok(())
}

/// Title, run facts and the connection budget's tiles.
fn draw_db_header(area: &Area, r: &RunResult, l: &Limits) -> Result<(), PlotError> {
    let d = &r.fleet.database;
    let pct = |v: f64, of: Option<u32>| match of {
        Some(u) if u > 0 => format!(" ({}%)", fmt_num(100.0 * v / f64::from(u))),
        _ => String::new(),
    };
    let possible = d.possible_connections as f64;
    let leaks = &r.fleet.leaks;
    let tiles = [
        ("max_connections", l.max.map_or_else(|| "no limit".into(), |m| fmt_num(f64::from(m))), INK),
        (
            "usable by applications",
            l.usable.map_or_else(
                || "no limit".into(),
                |u| format!("{} ({} reserved)", fmt_num(f64::from(u)), fmt_num(f64::from(l.reserved))),
            ),
            INK,
        ),
        (
            "possible (pools' budget)",
            format!("{}{}", fmt_num(possible), pct(possible, l.usable)),
            if d.overcommitted { VERMILLION } else { INK },
        ),
        (
            "peak open",
            format!("{}{}", fmt_num(f64::from(d.peak_connections)), pct(f64::from(d.peak_connections), l.usable)),
            INK,
        ),
        ("refused opens", fmt_num(d.refusals as f64), if d.refusals > 0 { VERMILLION } else { INK }),
        (
            "leaked, peak (total)",
            format!("{} ({})", fmt_num(f64::from(leaks.leaked_peak)), fmt_num(leaks.leaked_total as f64)),
            if leaks.leaked_total > 0 { VERMILLION } else { INK },
        ),
    ];
    draw_heading(area, &format!("Database connections — {}", r.meta.name), r)?;
    draw_tiles(area, &tiles, (72, DB_HEADER_H as i32 - 12), 22)
}

/// One row of the pods figure.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    /// `pod 3`, `0–4` for a band of pods, or `shared`.
    label: String,
    /// Highest use of any of its pods in any bucket, and that pod's capacity.
    peak: (u64, u64),
}

/// Pool usage per pod and time column, ready to draw.
struct PodGrid {
    rows: Vec<Row>,
    /// `[start, end)` of each column, in seconds.
    cols: Vec<(f64, f64)>,
    /// Row-major: `cells[row * cols.len() + col]`, use / capacity (may exceed 1), `None` without data.
    cells: Vec<Option<f64>>,
    /// Time axis.
    x: (f64, f64),
    /// Pods per row (1 unless there are more than `MAX_ROWS` pods).
    band: usize,
    /// How a pod's capacity is made, e.g. `4 × app (10) + sync (10) = 50`; empty if pods differ.
    capacity: String,
}

impl PodGrid {
    fn new(r: &RunResult) -> PodGrid {
        let bucket_s = if r.meta.bucket_s.is_finite() && r.meta.bucket_s > 0.0 { r.meta.bucket_s } else { 1.0 };
        let sizes: BTreeMap<&str, u32> = r.fleet.pools.iter().map(|p| (p.name.as_str(), p.max_size)).collect();
        let rows_of = |i: u32| r.instances.get(i as usize);

        // A copy's capacity is its pool's max_size; for a pool missing from the summary, the most
        // connections it was seen to hold (in use + idle), so that any result gives a figure.
        let mut seen = vec![0u64; r.instances.len()];
        for row in &r.pool_rows {
            if let Some(s) = seen.get_mut(row.instance as usize) {
                *s = (*s).max(u64::from(row.used_max) + u64::from(row.idle));
            }
        }
        let n_pods = r.instances.iter().filter_map(|i| i.pod).map(|p| p as usize + 1).max().unwrap_or(0);
        let shared = r.instances.iter().any(|i| i.pod.is_none());
        // Slot n_pods holds the shared pools.
        let slot = |pod: Option<u32>| pod.map_or(n_pods, |p| p as usize);
        let mut cap = vec![0u64; n_pods + 1];
        for (i, inst) in r.instances.iter().enumerate() {
            let size = sizes.get(inst.pool.as_str()).map_or(0, |s| u64::from(*s));
            cap[slot(inst.pod)] += if size > 0 { size } else { seen[i] };
        }

        let band = n_pods.div_ceil(MAX_ROWS).max(1);
        let pod_rows = n_pods.div_ceil(band);
        let n_rows = pod_rows + usize::from(shared);
        let row_of = |s: usize| if s == n_pods { pod_rows } else { s / band };

        // Time columns, as the timeline frame groups them: bucket k = (t - t0) / bucket.
        let times = || {
            let known = |p: &&PoolRow| (p.instance as usize) < r.instances.len();
            r.pool_rows.iter().filter(known).map(|p| p.t_s).filter(|t| t.is_finite())
        };
        let t0 = times().fold(f64::INFINITY, f64::min);
        let bucket = |t: f64| ((t - t0) / bucket_s).round().max(0.0) as usize;
        let n_buckets = times().map(bucket).max().map_or(0, |k| k.saturating_add(1));
        let per_col = n_buckets.div_ceil(MAX_COLUMNS).max(1);
        let n_cols = n_buckets.div_ceil(per_col);
        let edge = |k: usize| t0 + (k.min(n_buckets) as f64) * bucket_s;
        let cols: Vec<(f64, f64)> =
            (0..n_cols).map(|c| (edge(c * per_col), edge((c + 1).saturating_mul(per_col)))).collect();
        let x = match cols.last() {
            Some(last) if last.1 > t0 => (t0, last.1),
            Some(_) => (t0, t0 + bucket_s.max(t0.abs() * 1e-9)),
            None => (0.0, bucket_s),
        };

        let mut cells: Vec<Option<f64>> = vec![None; n_rows * n_cols];
        let mut peak = vec![(0u64, 0u64); n_rows];
        // Pool rows come in bucket order (the recorder writes one row per copy per bucket): sum a
        // bucket's copies per pod, then fold each pod into its row's cell keeping the maximum.
        let mut used = vec![0u64; n_pods + 1];
        let mut present = vec![false; n_pods + 1];
        let mut flush = |k: usize, used: &mut [u64], present: &mut [bool]| {
            let col = k / per_col;
            for s in 0..used.len() {
                if !std::mem::take(&mut present[s]) {
                    continue;
                }
                let u = std::mem::take(&mut used[s]);
                let row = row_of(s);
                let frac = if cap[s] > 0 { u as f64 / cap[s] as f64 } else { 0.0 };
                let cell = &mut cells[row * n_cols + col];
                *cell = Some(cell.map_or(frac, |c| c.max(frac)));
                let p = &mut peak[row];
                let pf = if p.1 > 0 { p.0 as f64 / p.1 as f64 } else { 0.0 };
                if frac > pf || (p.1 == 0 && u >= p.0) {
                    *p = (u, cap[s]);
                }
            }
        };
        let mut current = None;
        for row in r.pool_rows.iter().filter(|p| p.t_s.is_finite()) {
            let Some(inst) = rows_of(row.instance) else { continue };
            // `k` saturates for absurd times: keep it inside the columns.
            let k = bucket(row.t_s).min(n_buckets - 1);
            if current.is_some_and(|c| c != k) {
                flush(current.unwrap_or(0), &mut used, &mut present);
            }
            current = Some(k);
            let s = slot(inst.pod);
            used[s] += u64::from(row.used_max);
            present[s] = true;
        }
        if let Some(k) = current {
            flush(k, &mut used, &mut present);
        }

        let mut rows: Vec<Row> = (0..pod_rows)
            .map(|i| {
                let (a, b) = (i * band, ((i + 1) * band).min(n_pods) - 1);
                // A band is labelled by its range alone: "pods 1040–1047" would not fit the label area.
                let label = if a == b { format!("pod {a}") } else { format!("{a}–{b}") };
                Row { label, peak: peak[i] }
            })
            .collect();
        if shared {
            rows.push(Row { label: "shared".into(), peak: peak[pod_rows] });
        }
        let capacity = capacity_text(r, n_pods, &cap);
        PodGrid { rows, cols, cells, x, band, capacity }
    }
}

/// How one pod's capacity is made, from pod 0's copies, when every pod has the same capacity.
fn capacity_text(r: &RunResult, n_pods: usize, cap: &[u64]) -> String {
    if n_pods == 0 || cap[..n_pods].iter().any(|c| *c != cap[0]) {
        return String::new();
    }
    let sizes: BTreeMap<&str, u32> = r.fleet.pools.iter().map(|p| (p.name.as_str(), p.max_size)).collect();
    // Copies per pool in pod 0, in the order the pools first appear.
    let mut parts: Vec<(&str, u32)> = Vec::new();
    for inst in r.instances.iter().filter(|i| i.pod == Some(0)) {
        match parts.iter_mut().find(|(name, _)| *name == inst.pool) {
            Some(p) => p.1 += 1,
            None => parts.push((inst.pool.as_str(), 1)),
        }
    }
    let terms: Vec<String> = parts
        .iter()
        .map(|(name, n)| {
            let size = sizes.get(name).map_or_else(|| "?".into(), |s| fmt_num(f64::from(*s)));
            let name = clip(name, 24);
            if *n == 1 { format!("{name} ({size})") } else { format!("{n} × {name} ({size})") }
        })
        .collect();
    format!("{} = {}", terms.join(" + "), fmt_num(cap[0] as f64))
}

/// Colour of a use fraction on the ramp (clamped to 0–1; above 1 is as full as 1).
fn ramp(v: f64) -> RGBColor {
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 1.0 };
    for w in RAMP.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if v <= b {
            let t = (v - a) / (b - a);
            let mix = |x: u8, y: u8| (f64::from(x) + t * (f64::from(y) - f64::from(x))).round() as u8;
            return RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2));
        }
    }
    RAMP[RAMP.len() - 1].1
}

fn draw_pods_header(area: &Area, r: &RunResult, g: &PodGrid) -> Result<(), PlotError> {
    draw_heading(area, &format!("Pool usage by pod — {}", r.meta.name), r)?;
    let pods = g.rows.iter().filter(|row| row.label != "shared").count() * g.band;
    let mut line = if g.capacity.is_empty() {
        "capacity per pod: the sum of its pools' max_size".to_string()
    } else {
        format!("capacity per pod: {}", g.capacity)
    };
    if g.band > 1 {
        line.push_str(&format!(" · {pods} pods in bands of {}, each band showing its fullest pod", g.band));
    }
    let f = font(15, FontStyle::Normal);
    let line = ellipsize(&line, &f, (area.dim_in_pixel().0 as i32 - 40).max(0) as u32);
    area.draw_text(&line, &f.color(&INK).pos(Pos::new(HPos::Left, VPos::Center)), (20, 76))?;
    Ok(())
}

/// The heat strip: title row with the colour bar, then one row per pod against time.
/// The annotations' lines cross the strip, labelled in a lane above it.
fn draw_grid(area: &Area, g: &PodGrid, plot_h: u32, marks: &Marks, lane: &annotate::Lane) -> Result<(), PlotError> {
    let (head, rest) = area.split_vertically(TITLE_H);
    let (_, body) = rest.split_vertically(lane.height());
    let bar_left = draw_colour_bar(&head)?;
    let x0 = (MARGIN + LEFT_AREA) as i32;
    let title = font(19, FontStyle::Bold);
    let text = ellipsize(
        "Connections in use per pod / pod capacity (peak per bucket)",
        &title,
        (bar_left - 16 - x0).max(0) as u32,
    );
    head.draw_text(&text, &title.color(&INK).pos(Pos::new(HPos::Left, VPos::Center)), (x0, TITLE_H as i32 / 2 + 2))?;

    let n = g.rows.len();
    let row_h = plot_h as f64 / n.max(1) as f64;
    // Label every k-th row (k in 1, 2, 5, 10, …) so that labels stay `LABEL_GAP` apart.
    let every = (0u32..)
        .map(|e| [1, 2, 5][e as usize % 3] * 10usize.pow(e / 3))
        .find(|k| *k as f64 * row_h >= f64::from(LABEL_GAP));
    let every = every.unwrap_or(usize::MAX).max(1);
    let labelled = |i: usize| i.is_multiple_of(every) || g.rows[i].label == "shared";
    let centre = |i: usize| (n - i) as f64 - 0.5;
    let y = Axis {
        lo: 0.0,
        hi: n.max(1) as f64,
        log: false,
        bold: (0..n).filter(|i| labelled(*i)).map(centre).collect(),
        light: Vec::new(),
    };
    let x_ticks = ticks(g.x.0, g.x.1, nice_step((g.x.1 - g.x.0) / 10.0));
    let x = Axis { lo: g.x.0, hi: g.x.1, log: false, bold: x_ticks, light: Vec::new() };
    let mut chart = ChartBuilder::on(&body)
        .x_label_area_size(X_AREA)
        .y_label_area_size(LEFT_AREA)
        // A right margin rather than a right label area (which would repeat the pod names): the
        // plot still lines up with the other figures, and the peaks go there.
        .margin_top(6)
        .margin_left(MARGIN)
        .margin_right(MARGIN + RIGHT_AREA)
        .margin_bottom(MARGIN)
        .build_cartesian_2d(x, y)?;
    let row_name = |v: &f64| {
        let i = (n as f64 - v - 0.5).round();
        if i >= 0.0 && (i as usize) < n { g.rows[i as usize].label.clone() } else { String::new() }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("time (s)")
        .x_label_formatter(&|v: &f64| fmt_num(*v))
        .y_label_formatter(&row_name)
        .label_style((FONT, 13).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&INK))
        .bold_line_style(RGBColor(205, 205, 205))
        .axis_style(MUTED)
        .draw()?;

    let base = area.get_base_pixel();
    let (px, py) = chart.plotting_area().get_pixel_range();
    let (plot_x, plot_y) = ((px.start - base.0, px.end - base.0), (py.start - base.1, py.end - base.1));
    // Laid out for the columns the label areas leave; again on the real ones should they differ.
    let relaid;
    let lane = if plot_x == plot_columns(area.dim_in_pixel().0) {
        lane
    } else {
        relaid = annotate::lane(marks, g.x, plot_x, lane.rows);
        &relaid
    };
    let lane = Some((lane, TITLE_H as i32 + lane.height() as i32));
    if g.cells.is_empty() {
        let style = (FONT, 17).into_font().color(&MUTED).pos(Pos::new(HPos::Center, VPos::Center));
        let c = ((g.x.0 + g.x.1) / 2.0, n.max(1) as f64 / 2.0);
        chart.draw_series(std::iter::once(Text::new("no pool rows", c, style)))?;
        return annotate::draw(area, marks, g.x, (plot_x, plot_y), lane, annotate::Ground::Dark);
    }
    // A one-pixel white gap between rows tall enough to spare it, so neighbours stay apart.
    let gap = if row_h >= 8.0 { 1.0 / row_h } else { 0.0 };
    let nc = g.cols.len();
    for (i, cells) in g.cells.chunks(nc).enumerate() {
        let (y0, y1) = ((n - i - 1) as f64 + gap, (n - i) as f64);
        // Runs of equal colour become one rectangle: far fewer shapes on long flat stretches.
        let colours: Vec<RGBColor> = cells.iter().map(|c| c.map_or(NO_DATA, ramp)).collect();
        let mut start = 0;
        for j in 1..=nc {
            if j == nc || colours[j] != colours[start] {
                let rect = Rectangle::new([(g.cols[start].0, y0), (g.cols[j - 1].1, y1)], colours[start].filled());
                chart.draw_series(std::iter::once(rect))?;
                start = j;
            }
        }
    }
    // The dashboard's "18/20" beside each row, in the right label area, when rows can hold it.
    if row_h >= 14.0 {
        let style = (FONT, 13).into_font().color(&MUTED).pos(Pos::new(HPos::Left, VPos::Center));
        let base = body.get_base_pixel();
        for (i, row) in g.rows.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(g.x.1, centre(i)));
            let text = format!("{}/{}", fmt_num(row.peak.0 as f64), fmt_num(row.peak.1 as f64));
            body.draw_text(&text, &style, (px - base.0 + 8, py - base.1))?;
        }
    }
    annotate::draw(area, marks, g.x, (plot_x, plot_y), lane, annotate::Ground::Dark)
}

/// The 0–100 % ramp with its ticks and a "no data" swatch, right-aligned in the title row; returns
/// its left end, px.
fn draw_colour_bar(area: &Area) -> Result<i32, PlotError> {
    let font = (FONT, 13).into_font().color(&INK);
    let centred = font.clone().pos(Pos::new(HPos::Center, VPos::Top));
    let (bar_w, bar_h) = (240, 10);
    let right = area.dim_in_pixel().0 as i32 - (MARGIN + RIGHT_AREA) as i32;
    let x0 = right - bar_w;
    let top = 5;
    for px in 0..bar_w {
        let c = ramp(f64::from(px) / f64::from(bar_w - 1));
        area.draw(&Rectangle::new([(x0 + px, top), (x0 + px + 1, top + bar_h)], c.filled()))?;
    }
    area.draw(&Rectangle::new([(x0, top), (right, top + bar_h)], FRAME.stroke_width(1)))?;
    for pct in [0, 25, 50, 75, 100] {
        let x = x0 + (bar_w - 1) * pct / 100;
        area.draw(&PathElement::new(vec![(x, top + bar_h), (x, top + bar_h + 3)], MUTED.stroke_width(1)))?;
        area.draw_text(&format!("{pct}%"), &centred, (x, top + bar_h + 4))?;
    }
    let swatch = x0 - 110;
    area.draw(&Rectangle::new([(swatch, top), (swatch + 18, top + bar_h)], NO_DATA.filled()))?;
    area.draw(&Rectangle::new([(swatch, top), (swatch + 18, top + bar_h)], FRAME.stroke_width(1)))?;
    let left = font.pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text("no data", &left, (swatch + 24, top + bar_h / 2))?;
    Ok(swatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{
        Bucket, DatabaseSummary, PoolInstance, PoolRow, PoolSummary, RequestCounts, RunMeta, Stats, Summary,
    };

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    /// The incident's fleet in small: `pods` pods × 2 workers with a per-worker pool `app` of 10
    /// and a per-pod pool `sync` of 10, against 500 − 3 reserved; pod 1 is starved from t = 5 s.
    fn fleet(pods: u32, n: usize) -> RunResult {
        let mut instances = Vec::new();
        for pod in 0..pods {
            for w in 0..2 {
                instances.push(PoolInstance { pool: "app".into(), pod: Some(pod), worker: Some(w) });
            }
            instances.push(PoolInstance { pool: "sync".into(), pod: Some(pod), worker: None });
        }
        let mut pool_rows = Vec::new();
        let timeline: Vec<Bucket> = (0..n)
            .map(|i| {
                for (k, inst) in instances.iter().enumerate() {
                    let starved = inst.pod == Some(1) && i >= 5;
                    let used = if starved { 10 } else { (i as u32 + k as u32) % 6 };
                    pool_rows.push(PoolRow {
                        t_s: i as f64,
                        instance: k as u32,
                        used_max: used,
                        idle: 1,
                        waiting_max: 0,
                        timeouts: 0,
                    });
                }
                Bucket {
                    t_s: i as f64,
                    db_connections_open: (100 + 40 * i as u32).min(497),
                    db_connections_usable: Some(497),
                    db_refusals: if i >= 10 { 7 } else { 0 },
                    leaked_connections: (i / 4) as u32,
                    db_pool_used_size_max: (80 + 35 * i as u32).min(497),
                    ..Bucket::default()
                }
            })
            .collect();
        let stats = Stats { count: 0, p50: 0.0, p95: 0.0, p99: 0.0, max: 0.0, mean: 0.0 };
        let pool = |name: &str, scope, instances| PoolSummary {
            name: name.into(),
            scope,
            instances,
            max_size: 10,
            peak_used: 10,
            peak_open: 10,
            timeouts: 0,
            connections_opened: 0,
            connections_closed: 0,
        };
        RunResult {
            meta: RunMeta {
                name: "incident-dual-pool".into(),
                description: "20 pods × 4 workers, a job's pool of 10 per pod".into(),
                seed: 7,
                scenario_hash: "h".into(),
                version: "0.1.0".into(),
                bucket_s: 1.0,
                events: 1,
                acquire_timeouts_s: vec![10.0],
            },
            timeline,
            summary: Summary {
                requests: RequestCounts {
                    total: 0,
                    ok: 0,
                    timed_out: 0,
                    failed: 0,
                    refused: 0,
                    statement_timeout: 0,
                    terminated: 0,
                    unfinished: 0,
                    queued: 0,
                    timed_out_rate: 0.0,
                },
                latency_ms: stats,
                acquire_wait_ms: stats,
                queue_depth_max: 0,
                pool_used_max: 0,
                pool_used_mean: 0.0,
                db_pool_exhaustion_total: 0,
                first_503_s: None,
                throughput_ok_per_s: 0.0,
                duration_s: n as f64,
                warmup_s: 0.0,
            },
            theory: None,
            fleet: crate::result::FleetSummary {
                database: DatabaseSummary {
                    max_connections: Some(500),
                    reserved_connections: 3,
                    usable_connections: Some(497),
                    possible_connections: u64::from(pods) * 30,
                    overcommitted: pods * 30 > 497,
                    peak_connections: 497,
                    refusals: 70,
                    ..Default::default()
                },
                pools: vec![pool("app", "worker", pods * 2), pool("sync", "pod", pods)],
                ..Default::default()
            },
            instances,
            pool_rows,
            scrapes: None,
            alerts: None,
            annotations: Vec::new(),
        }
    }

    fn cases() -> Vec<(&'static str, RunResult)> {
        let mut no_limit = fleet(3, 30);
        no_limit.fleet.database = DatabaseSummary::default();
        no_limit.timeline.iter_mut().for_each(|b| b.db_connections_usable = None);
        let mut no_rows = fleet(3, 30);
        no_rows.pool_rows.clear();
        let mut no_instances = fleet(3, 30);
        no_instances.instances.clear();
        let mut shared = fleet(2, 30);
        shared.instances.push(PoolInstance { pool: "unknown".into(), pod: None, worker: None });
        let k = shared.instances.len() as u32 - 1;
        shared.pool_rows.push(PoolRow { t_s: 3.0, instance: k, used_max: 4, idle: 2, waiting_max: 0, timeouts: 0 });
        let mut odd = fleet(2, 30);
        odd.pool_rows.push(PoolRow { t_s: f64::NAN, instance: 0, used_max: 1, idle: 0, waiting_max: 0, timeouts: 0 });
        odd.pool_rows.push(PoolRow { t_s: 1e300, instance: 99, used_max: 1, idle: 0, waiting_max: 0, timeouts: 0 });
        odd.pool_rows.push(PoolRow {
            t_s: 1e12,
            instance: 0,
            used_max: u32::MAX,
            idle: 0,
            waiting_max: 0,
            timeouts: 0,
        });
        odd.meta.bucket_s = f64::NAN;
        odd.timeline[3].t_s = f64::NAN;
        let mut no_reserved = fleet(2, 30);
        no_reserved.fleet.database.reserved_connections = 0;
        no_reserved.fleet.database.usable_connections = Some(500);
        vec![
            ("incident", fleet(20, 120)),
            ("empty timeline", fleet(3, 0)),
            ("no limit", no_limit),
            ("no rows", no_rows),
            ("no instances", no_instances),
            ("shared and unknown pool", shared),
            ("odd values", odd),
            ("no reserved slots", no_reserved),
            ("many pods", fleet(1000, 20)),
        ]
    }

    /// Width and height from the PNG's IHDR chunk.
    fn size(png: &[u8]) -> (u32, u32) {
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&png[16..20]), be(&png[20..24]))
    }

    #[test]
    fn both_figures_are_pngs_of_sensible_size_for_any_result() {
        for (name, r) in cases() {
            let db = database_png(&r).unwrap_or_else(|e| panic!("{name}, database: {e}"));
            assert!(db.starts_with(PNG_SIGNATURE), "{name}");
            assert_eq!(size(&db), (WIDTH, DATABASE_H), "{name}");
            let pods = pods_png(&r).unwrap_or_else(|e| panic!("{name}, pods: {e}"));
            assert!(pods.starts_with(PNG_SIGNATURE), "{name}");
            let (w, h) = size(&pods);
            assert_eq!(w, WIDTH, "{name}");
            assert!((300..=1100).contains(&h), "{name}: height {h}");
        }
    }

    /// `sim run` keeps only the per-pod sums while pools.csv streams: the
    /// figure must be the one all the rows give, whatever the batches.
    #[test]
    fn per_pod_rows_draw_the_same_figure_as_all_rows() {
        for (name, r) in cases().into_iter().chain([("small fleet", fleet(20, 60))]) {
            let odd_rows = r.pool_rows.iter().any(|p| !p.t_s.is_finite() || p.instance as usize >= r.instances.len());
            let unsized_pool =
                r.instances.iter().any(|i| !r.fleet.pools.iter().any(|p| p.name == i.pool && p.max_size > 0));
            if odd_rows || unsized_pool {
                continue; // drawn too, but not what a run streams (every pool of a run has a size)
            }
            let mut pods = PodRows::new(&r.instances);
            for batch in r.pool_rows.chunks(7) {
                pods.rows(batch).unwrap();
            }
            let reduced = RunResult { pool_rows: pods.finish(), ..r.clone() };
            assert!(reduced.pool_rows.len() <= r.pool_rows.len(), "{name}");
            assert!(pods_png(&reduced).unwrap() == pods_png(&r).unwrap(), "{name}: the figures differ");
        }
    }

    /// Past `KEEP_ROWS` buckets the pods' rows are merged like the timeline's,
    /// bucket for bucket, so one figure's columns line up with the other's.
    #[test]
    fn long_runs_merge_pod_rows_as_the_timeline() {
        let r = fleet(4, 3 * super::super::KEEP_ROWS + 5);
        let mut pods = PodRows::new(&r.instances);
        let mut timeline = super::super::PlotTimeline::default();
        for (rows, buckets) in r.pool_rows.chunks(12 * 100).zip(r.timeline.chunks(100)) {
            pods.rows(rows).unwrap();
            RowSink::rows(&mut timeline, buckets).unwrap();
        }
        let (kept, merge) = timeline.finish();
        let reduced = pods.finish();
        assert_eq!(merge, 4);
        let mut starts: Vec<f64> = reduced.iter().map(|p| p.t_s).collect();
        starts.dedup();
        assert_eq!(starts, kept.iter().map(|b| b.t_s).collect::<Vec<_>>());
        // Pod 1 is starved from bucket 5 on: 10 + 10 in its two app copies, its sync copy 10.
        assert!(reduced.iter().any(|p| p.t_s == 8.0 && p.used_max == 30));
        let mut view = RunResult { timeline: kept, pool_rows: reduced, ..r.clone() };
        view.meta.bucket_s *= f64::from(merge);
        assert!(pods_png(&view).unwrap().starts_with(PNG_SIGNATURE));
    }

    #[test]
    fn same_result_gives_the_same_bytes() {
        let r = fleet(20, 60);
        assert_eq!(database_png(&r).unwrap(), database_png(&r).unwrap());
        assert_eq!(pods_png(&r).unwrap(), pods_png(&r).unwrap());
    }

    #[test]
    fn both_figures_mark_the_runs_annotations() {
        use crate::result::{Annotation, AnnotationKind};
        let mut r = fleet(20, 120);
        r.annotations = vec![
            Annotation { t_s: 10.0, label: "start_job warehouse-sync".into(), kind: AnnotationKind::Event },
            Annotation { t_s: 80.0, label: "DatabaseFull firing".into(), kind: AnnotationKind::AlertFiring },
            Annotation { t_s: 500.0, label: "after the run".into(), kind: AnnotationKind::Event },
        ];
        for fig in [database, pods] {
            let svg = fig(&r, Format::Svg).unwrap();
            assert_eq!(svg, fig(&r, Format::Svg).unwrap());
            let texts = super::super::tests::svg_texts(&svg);
            for want in ["start_job warehouse-sync", "DatabaseFull firing"] {
                assert_eq!(texts.iter().filter(|t| *t == want).count(), 1, "{want:?} in {texts:?}");
            }
            assert!(!texts.iter().any(|t| t == "after the run"), "{texts:?}");
            assert_eq!(fig(&r, Format::Png).unwrap(), fig(&r, Format::Png).unwrap());
        }
        // The lane adds to the pods figure's height, never to its rows'.
        let plain = pods_png(&fleet(20, 120)).unwrap();
        assert!(size(&pods_png(&r).unwrap()).1 > size(&plain).1);
    }

    #[test]
    fn columns_read_by_name_exist() {
        let b = Bucket { db_connections_usable: Some(1), ..Bucket::default() };
        for c in [OPEN, USABLE, REFUSALS, LEAKED, IN_USE] {
            assert!(b.value(c).is_some(), "no timeline column {c}");
        }
    }

    #[test]
    fn pod_use_is_summed_over_copies_and_divided_by_capacity() {
        let r = fleet(3, 10);
        let g = PodGrid::new(&r);
        let labels: Vec<&str> = g.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["pod 0", "pod 1", "pod 2"]);
        assert_eq!(g.capacity, "2 × app (10) + sync (10) = 30");
        assert_eq!(g.cols.len(), 10);
        // Pod 1's three copies hold 10 each from t = 5 s: 30 / 30.
        assert_eq!(g.cells[10 + 7], Some(1.0));
        assert_eq!(g.rows[1].peak, (30, 30));
        // Pod 0 at t = 2 s: copies 0, 1, 2 hold (2 + k) % 6 = 2, 3, 4 → 9 / 30.
        assert_eq!(g.cells[2], Some(9.0 / 30.0));
    }

    #[test]
    fn shared_pools_get_their_own_row_and_unknown_sizes_fall_back_to_what_was_seen() {
        let mut r = fleet(2, 4);
        r.instances.push(PoolInstance { pool: "unknown".into(), pod: None, worker: None });
        let k = r.instances.len() as u32 - 1;
        for t in 0..4 {
            let used_max = if t == 2 { 3 } else { 1 };
            r.pool_rows.push(PoolRow {
                t_s: f64::from(t),
                instance: k,
                used_max,
                idle: 1,
                waiting_max: 0,
                timeouts: 0,
            });
        }
        let g = PodGrid::new(&r);
        assert_eq!(g.rows.last().map(|r| r.label.as_str()), Some("shared"));
        // Capacity: the most seen in use + idle (3 + 1).
        let shared = (g.rows.len() - 1) * g.cols.len();
        assert_eq!((g.cells[shared + 2], g.cells[shared]), (Some(0.75), Some(0.25)));
    }

    #[test]
    fn many_pods_are_banded_and_long_runs_decimated() {
        let g = PodGrid::new(&fleet(1000, 3));
        assert_eq!((g.band, g.rows.len()), (3, 334));
        assert_eq!(g.rows[0].label, "0–2");
        assert_eq!(g.rows[333].label, "pod 999");
        // Band 0 holds pod 1, starved from 5 s on: not in 3 buckets; check the peak is kept later.
        let g = PodGrid::new(&fleet(4, 2500));
        assert!(g.cols.len() <= MAX_COLUMNS);
        assert_eq!(g.x, (0.0, 2500.0));
        assert!(g.cells[g.cols.len() + 3] == Some(1.0));
    }

    #[test]
    fn limits_are_labelled_from_the_summary() {
        let r = fleet(2, 5);
        let l = Limits::of(&r, &Frame::new(&r));
        assert_eq!(l.usable_label().as_deref(), Some("usable 497 = 500 max_connections − 3 reserved"));
        assert!(l.max_line());
        let mut none = fleet(2, 5);
        none.fleet.database = DatabaseSummary::default();
        none.timeline.iter_mut().for_each(|b| b.db_connections_usable = None);
        let l = Limits::of(&none, &Frame::new(&none));
        assert_eq!((l.usable_label(), l.max_line()), (None, false));
        assert_eq!(connections_panel(&Frame::new(&none), &l).series.len(), 2);
    }

    #[test]
    fn ramp_runs_from_pale_to_dark_and_clamps() {
        assert_eq!(ramp(0.0), RAMP[0].1);
        assert_eq!(ramp(1.0), RAMP[4].1);
        assert_eq!(ramp(7.0), RAMP[4].1);
        assert_eq!(ramp(-1.0), RAMP[0].1);
        assert_eq!(ramp(f64::NAN), RAMP[4].1);
        let lum = |c: RGBColor| u32::from(c.0) + u32::from(c.1) + u32::from(c.2);
        assert!((0..10).all(|i| lum(ramp(f64::from(i) / 10.0)) > lum(ramp(f64::from(i + 1) / 10.0))));
    }

    /// The rows of a real run (`tests/integration/fleet.rs` checks that the simulator gives
    /// them): 2 pods × 2 workers × a pool of 2 against a database of 6 (1 reserved), 40
    /// requests of 1 s at once, round robin: in the first second the 5 usable connections are
    /// all in use, spread over the copies as 2 + 1 (pod 0) and 1 + 1 (pod 1), while the
    /// database refuses the rest.
    #[test]
    fn a_small_fleet_fills_the_grid_and_both_figures() {
        let mut r = fleet(2, 5);
        r.instances =
            (0..4).map(|k| PoolInstance { pool: "app".into(), pod: Some(k / 2), worker: Some(k % 2) }).collect();
        let first = [2, 1, 1, 1];
        r.pool_rows = (0..5)
            .flat_map(|i| {
                (0..4).map(move |k| PoolRow {
                    t_s: i as f64,
                    instance: k,
                    used_max: if i == 0 { first[k as usize] } else { 0 },
                    idle: 0,
                    waiting_max: 0,
                    timeouts: 0,
                })
            })
            .collect();
        r.fleet.pools = vec![PoolSummary {
            name: "app".into(),
            scope: "worker",
            instances: 4,
            max_size: 2,
            peak_used: 5,
            peak_open: 5,
            timeouts: 0,
            connections_opened: 5,
            connections_closed: 0,
        }];
        r.fleet.database.max_connections = Some(6);
        r.fleet.database.reserved_connections = 1;
        r.fleet.database.usable_connections = Some(5);
        for b in &mut r.timeline {
            b.db_connections_usable = Some(5);
        }
        let g = PodGrid::new(&r);
        let labels: Vec<&str> = g.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["pod 0", "pod 1"]);
        assert_eq!(g.capacity, "2 × app (2) = 4");
        let first: Vec<f64> = (0..2).map(|row| g.cells[row * g.cols.len()].unwrap_or(-1.0) * 4.0).collect();
        assert_eq!(first.iter().sum::<f64>(), 5.0, "{:?}", g.cells);
        assert_eq!(g.rows.iter().map(|r| r.peak).collect::<Vec<_>>(), [(3, 4), (2, 4)]);
        let l = Limits::of(&r, &Frame::new(&r));
        assert_eq!(l.usable_label().as_deref(), Some("usable 5 = 6 max_connections − 1 reserved"));
        assert!(database_png(&r).unwrap().starts_with(PNG_SIGNATURE));
        assert!(pods_png(&r).unwrap().starts_with(PNG_SIGNATURE));
    }

    /// Writes both figures to the temporary directory, for a look: `cargo test --lib
    /// plot::fleet::tests::write_for_review -- --ignored` (a real run's figures are what `sim
    /// run` writes).
    #[test]
    #[ignore = "writes files for a human to look at"]
    fn write_for_review() {
        let r = fleet(20, 120);
        let dir = std::env::temp_dir();
        std::fs::write(dir.join("fleet-database.png"), database_png(&r).unwrap()).unwrap();
        std::fs::write(dir.join("fleet-pods.png"), pods_png(&r).unwrap()).unwrap();
        let many = fleet(3000, 120);
        std::fs::write(dir.join("fleet-pods-many.png"), pods_png(&many).unwrap()).unwrap();
        let (_, no_limit) = cases().swap_remove(2);
        std::fs::write(dir.join("fleet-database-no-limit.png"), database_png(&no_limit).unwrap()).unwrap();
        std::fs::write(dir.join("fleet-pods-empty.png"), pods_png(&fleet(3, 0)).unwrap()).unwrap();
        eprintln!("wrote {}/fleet-*.png", dir.display());
    }
}
