//! Figures of a run (latency, queue depth, errors and a dashboard of all three), as PNG or SVG
//! bytes.
//!
//! Figures are drawn from a [`RunResult`] only, never from engine state: plotters draws on a
//! [`canvas`](canvas::Format) that is an in-memory RGB buffer (encoded to PNG) or an SVG document.
//! Writing files is the caller's job.
//!
//! What every timeline figure shows besides its series:
//! - the run's annotations ([`RunResult::annotations`]: the scenario's timed events, alerts
//!   firing and resolving) as dashed vertical lines across every panel, labelled in a lane above
//!   the top panel (`plot/annotate.rs` says how labels are placed, and why);
//! - on the latency panel, the acquire timeout of the pools requests use
//!   ([`crate::result::RunMeta::acquire_timeouts_s`], the values at the start) as a dashed
//!   horizontal line with its value;
//! - numbers written for people (`plot/text.rs`: `14.6 M`, `406,964`), and texts fitted to their boxes
//!   with the font's widths (a long name is ellipsized, a big card value set smaller).
//!
//! Invariants:
//! - Deterministic: the same result gives the same bytes. The font is embedded (DejaVu Sans,
//!   registered once), nothing reads clocks or randomness, and decimation is by bucket index.
//! - Total: no input panics. Non-finite values are skipped, `None` latencies leave gaps (not
//!   zeros), empty timelines and degenerate ranges are widened, values are clamped into the axes.
//! - Bounded: a timeline is grouped into at most `MAX_COLUMNS` columns (about one per pixel),
//!   keeping each group's maximum, so a figure costs one pass over the buckets plus constant work.
//! - Aligned: every panel reserves the same label areas, so stacked time axes line up exactly.
//! - Linear y axes start at 0; latency uses a log axis so 100 ms and 10 s are both readable.

mod annotate;
mod canvas;
pub mod compare;
pub mod fleet;
pub mod heatmap;
pub mod sweep;
mod text;

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use annotate::Marks;
use canvas::Canvas;
pub use canvas::Format;
use text::{ellipsize, fit, fmt_num, font, width};

use crate::result::{Bucket, RunResult};

/// Errors from drawing or encoding a figure.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The embedded font could not be registered with plotters.
    #[error("cannot register the embedded font")]
    Font,
    /// plotters failed to draw.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The image could not be encoded as PNG.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(e.to_string())
    }
}

/// Latency p50/p95/p99 per bucket over time (log y axis, ms); buckets without responses are gaps.
/// The acquire timeout is a dashed line.
pub fn latency(r: &RunResult, format: Format) -> Result<Vec<u8>, PlotError> {
    let f = Frame::new(r);
    figure(WIDTH, SINGLE_H, format, |root| draw_stack(root, &f, &[f.latency(&title_suffix(r))]))
}

/// Requests waiting for a connection (max per bucket) above connections in use (max and mean)
/// against the pool size, sharing the time axis.
pub fn queue_depth(r: &RunResult, format: Format) -> Result<Vec<u8>, PlotError> {
    let f = Frame::new(r);
    let s = title_suffix(r);
    figure(WIDTH, QUEUE_H, format, |root| draw_stack(root, &f, &[f.waiting(&s), f.connections(&s)]))
}

/// 503 responses per bucket (bars) and the cumulative `db_pool_exhaustion_total` (line, right axis).
pub fn errors(r: &RunResult, format: Format) -> Result<Vec<u8>, PlotError> {
    let f = Frame::new(r);
    figure(WIDTH, SINGLE_H, format, |root| draw_stack(root, &f, &[f.errors(&title_suffix(r))]))
}

/// A header with the scenario, seed and key figures above the latency, queue-depth and error
/// panels, stacked with aligned time axes (like the lab's "Connection Pool Dashboard").
pub fn dashboard(r: &RunResult, format: Format) -> Result<Vec<u8>, PlotError> {
    let f = Frame::new(r);
    figure(WIDTH, DASHBOARD_H, format, |root| {
        let (head, body) = root.split_vertically(HEADER_H);
        draw_header(&head, r)?;
        draw_stack(&body, &f, &[f.latency(""), f.waiting(""), f.connections(""), f.errors("")])
    })
}

/// [`latency`] as PNG.
pub fn latency_png(r: &RunResult) -> Result<Vec<u8>, PlotError> {
    latency(r, Format::Png)
}

/// [`queue_depth`] as PNG.
pub fn queue_depth_png(r: &RunResult) -> Result<Vec<u8>, PlotError> {
    queue_depth(r, Format::Png)
}

/// [`errors`] as PNG.
pub fn errors_png(r: &RunResult) -> Result<Vec<u8>, PlotError> {
    errors(r, Format::Png)
}

/// [`dashboard`] as PNG.
pub fn dashboard_png(r: &RunResult) -> Result<Vec<u8>, PlotError> {
    dashboard(r, Format::Png)
}

const WIDTH: u32 = 1200;
const SINGLE_H: u32 = 500;
const QUEUE_H: u32 = 600;
const DASHBOARD_H: u32 = 1400;
const HEADER_H: u32 = 150;
/// Most columns drawn per series: about one per pixel of the plot area.
const MAX_COLUMNS: usize = 1000;
/// Label areas, identical for every panel so that stacked plot areas align.
const LEFT_AREA: u32 = 85;
const RIGHT_AREA: u32 = 85;
const X_AREA: u32 = 48;
/// Blank edge beside the label areas, so rotated axis descriptions are never clipped.
const MARGIN: u32 = 10;
/// Row above each plot holding its title and legend (outside the data, so it hides nothing).
const TITLE_H: u32 = 36;
const FONT: &str = "sans-serif";
/// Dash and gap lengths of dashed lines, px.
const DASH: (i32, i32) = (8, 5);

// Okabe–Ito colour-blind safe palette, plus neutral greys for text and grid.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const INK: RGBColor = RGBColor(20, 20, 20);
const MUTED: RGBColor = RGBColor(95, 95, 95);
const FRAME: RGBColor = RGBColor(170, 170, 170);

type Area<'a> = DrawingArea<Canvas<'a>, Shift>;

/// Registers DejaVu Sans as plotters' "sans-serif" once per process; text fails without it.
fn ensure_fonts() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// Renders `draw` on a white `w`×`h` canvas and encodes it in `format` (the font registered first:
/// text is laid out with it in either format).
pub(crate) fn figure(
    w: u32,
    h: u32,
    format: Format,
    draw: impl FnOnce(&Area) -> Result<(), PlotError>,
) -> Result<Vec<u8>, PlotError> {
    ensure_fonts()?;
    canvas::render(w, h, format, draw)
}

/// Rows a [`PlotTimeline`] keeps before it merges them two by two.
const KEEP_ROWS: usize = 4096;

/// A series with one entry per bucket of the run that can be folded into
/// wider buckets: `self` stands for `n_self` buckets, `next` for `n_next`.
pub(crate) trait Merge: Clone {
    fn merge(&mut self, next: &Self, n_self: u32, n_next: u32);
}

impl Merge for Bucket {
    fn merge(&mut self, next: &Self, n_self: u32, n_next: u32) {
        Bucket::merge(self, next, n_self, n_next);
    }
}

/// Keeps a per-bucket series in bounded memory: every entry up to
/// `KEEP_ROWS`; past that, consecutive entries merged two by two as often as
/// needed. Two series fed the same number of buckets merge them identically
/// (the pods figure's rows and the timeline line up).
#[derive(Debug)]
pub(crate) struct Merging<T> {
    rows: Vec<T>,
    /// Buckets of the run per kept entry (a power of two; 0 until the first).
    merge: u32,
    /// The entry being gathered, and how many buckets it holds so far.
    pending: Option<(T, u32)>,
}

impl<T> Default for Merging<T> {
    fn default() -> Self {
        Merging { rows: Vec::new(), merge: 0, pending: None }
    }
}

impl<T: Merge> Merging<T> {
    /// Takes the next bucket's entry.
    pub(crate) fn push(&mut self, b: T) {
        self.merge = self.merge.max(1);
        let (acc, n) = match self.pending.take() {
            None => (b, 1),
            Some((mut acc, n)) => {
                acc.merge(&b, n, 1);
                (acc, n + 1)
            }
        };
        if n < self.merge {
            self.pending = Some((acc, n));
            return;
        }
        self.rows.push(acc);
        if self.rows.len() > KEEP_ROWS {
            let rows = std::mem::take(&mut self.rows);
            let mut rows = rows.into_iter();
            while let Some(mut row) = rows.next() {
                match rows.next() {
                    Some(next) => {
                        row.merge(&next, self.merge, self.merge);
                        self.rows.push(row);
                    }
                    // An odd row out: it gathers the next buckets up to the new width.
                    None => self.pending = Some((row, self.merge)),
                }
            }
            self.merge *= 2;
        }
    }

    /// The entries kept, and how many buckets each stands for (the last one
    /// may stand for fewer).
    pub(crate) fn finish(mut self) -> (Vec<T>, u32) {
        if let Some((row, _)) = self.pending.take() {
            self.rows.push(row);
        }
        (self.rows, self.merge.max(1))
    }
}

/// Keeps, of the timeline rows streaming by, a copy the figures can draw in
/// bounded memory: every row up to `KEEP_ROWS`; past that, consecutive rows
/// merged two by two ([`Bucket::merge`]) as often as needed, so the figures of
/// a long run are those of the same run with buckets 2, 4, 8, ... times wider
/// (they draw at most 1,000 columns anyway). A run of up to `KEEP_ROWS`
/// buckets gets exactly the figures all its rows give.
#[derive(Debug, Default)]
pub struct PlotTimeline(Merging<Bucket>);

impl PlotTimeline {
    /// The rows kept, and how many buckets of the run each stands for (the
    /// last one may stand for fewer).
    pub fn finish(self) -> (Vec<Bucket>, u32) {
        self.0.finish()
    }
}

impl crate::result::RowSink<Bucket> for PlotTimeline {
    fn rows(&mut self, rows: &[Bucket]) -> std::io::Result<()> {
        for b in rows {
            self.0.push(b.clone());
        }
        Ok(())
    }
}

/// A duration in ms as people say it: `250 ms`, `10 s`, `1.5 s`.
fn fmt_ms(ms: f64) -> String {
    if ms < 1000.0 { format!("{} ms", fmt_num(ms)) } else { format!("{} s", fmt_num(ms / 1e3)) }
}

/// Names the run in single figures, which may be viewed on their own.
fn title_suffix(r: &RunResult) -> String {
    format!(" — {} (seed {})", clip(&r.meta.name, 60), r.meta.seed)
}

/// The time axis shared by every panel of a figure, with the buckets grouped into columns.
struct Frame<'a> {
    /// Buckets with a finite start, in timeline order.
    buckets: Vec<&'a Bucket>,
    /// Buckets per column (≥ 1).
    per_col: usize,
    /// `[start, end)` of each column, in seconds.
    cols: Vec<(f64, f64)>,
    /// Time axis: first bucket start to last bucket end.
    x: (f64, f64),
    bucket_s: f64,
    /// The run's annotations inside the time axis.
    marks: Marks,
    /// Acquire timeouts of the pools requests use, ms (none when they wait forever).
    timeouts_ms: Vec<f64>,
}

impl<'a> Frame<'a> {
    fn new(r: &'a RunResult) -> Self {
        let bucket_s = if r.meta.bucket_s.is_finite() && r.meta.bucket_s > 0.0 { r.meta.bucket_s } else { 1.0 };
        let buckets: Vec<&Bucket> = r.timeline.iter().filter(|b| b.t_s.is_finite()).collect();
        let per_col = buckets.len().div_ceil(MAX_COLUMNS).max(1);
        let cols: Vec<(f64, f64)> =
            buckets.chunks(per_col).map(|c| (c[0].t_s, c[c.len() - 1].t_s + bucket_s)).collect();
        let lo = cols.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
        let hi = cols.iter().map(|c| c.1).filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
        let x = match (lo.is_finite(), hi > lo) {
            (true, true) => (lo, hi),
            // Far from 0 a bucket can be below f64 resolution: widen relative to the magnitude.
            (true, false) => (lo, lo + bucket_s.max(lo.abs() * 1e-9)),
            (false, _) => (0.0, bucket_s),
        };
        let marks = Marks::new(&r.annotations, x);
        let timeouts_ms =
            r.meta.acquire_timeouts_s.iter().map(|t| t * 1e3).filter(|t| t.is_finite() && *t > 0.0).collect();
        Frame { buckets, per_col, cols, x, bucket_s, marks, timeouts_ms }
    }

    /// One value per column: the largest finite value of its buckets, `None` if there is none.
    fn values(&self, f: impl Fn(&Bucket) -> Option<f64>) -> Vec<Option<f64>> {
        let max = |acc: Option<f64>, v: f64| Some(acc.map_or(v, |a| a.max(v)));
        self.buckets
            .chunks(self.per_col)
            .map(|c| c.iter().filter_map(|b| f(b)).filter(|v| v.is_finite()).fold(None, max))
            .collect()
    }

    fn latency(&self, suffix: &str) -> Panel {
        let pct = |p: fn(&crate::result::Percentiles) -> f64| self.values(move |b| b.latency_ms.as_ref().map(p));
        Panel {
            title: format!("Response latency per bucket{suffix}"),
            weight: 5,
            left: Scale::Log,
            left_desc: "latency (ms)",
            right: None,
            series: vec![
                Series::new("p50", BLUE, Kind::Line, pct(|p| p.p50)),
                Series::new("p95", ORANGE, Kind::Line, pct(|p| p.p95)),
                Series::new("p99", VERMILLION, Kind::Line, pct(|p| p.p99)),
            ],
            limits: self.timeouts_ms.iter().map(|&ms| (ms, format!("acquire timeout {}", fmt_ms(ms)))).collect(),
        }
    }

    fn waiting(&self, suffix: &str) -> Panel {
        Panel {
            title: format!("Requests waiting for a connection{suffix}"),
            weight: 4,
            left: Scale::Count,
            left_desc: "waiting (requests)",
            right: None,
            series: vec![Series::new(
                "waiting, max per bucket",
                PURPLE,
                Kind::Area,
                self.values(|b| Some(f64::from(b.db_pool_waiting_requests_max))),
            )],
            limits: Vec::new(),
        }
    }

    fn connections(&self, suffix: &str) -> Panel {
        Panel {
            title: format!("Connections in use vs pool size{suffix}"),
            weight: 4,
            left: Scale::Count,
            left_desc: "connections",
            right: None,
            // The pool limit is drawn last and dashed, so a saturated "in use" line shows through it.
            series: vec![
                Series::new("in use, mean", GREEN, Kind::Line, self.values(|b| Some(b.db_pool_used_size_mean))),
                Series::new("in use, max", BLUE, Kind::Line, self.values(|b| Some(f64::from(b.db_pool_used_size_max)))),
                Series::new("pool size", INK, Kind::Step, self.values(|b| Some(f64::from(b.db_pool_max_size)))),
            ],
            limits: Vec::new(),
        }
    }

    fn errors(&self, suffix: &str) -> Panel {
        let mut series =
            vec![Series::new("503 (timed out)", VERMILLION, Kind::Bars, self.values(|b| Some(b.timed_out as f64)))];
        // Other failures are rare in these scenarios: only show them when there are some.
        if self.buckets.iter().any(|b| b.failed > 0) {
            series.push(Series::new("failed (other)", PURPLE, Kind::Line, self.values(|b| Some(b.failed as f64))));
        }
        let mut total = Series::new(
            "exhaustion total (right axis)",
            INK,
            Kind::Line,
            self.values(|b| Some(b.db_pool_exhaustion_total as f64)),
        );
        total.right = true;
        series.push(total);
        Panel {
            title: format!("Errors per {} s bucket{suffix}", fmt_num(self.bucket_s)),
            weight: 5,
            left: Scale::Count,
            left_desc: "errors per bucket (requests)",
            right: Some((Scale::Count, "cumulative timeouts (requests)")),
            series,
            limits: Vec::new(),
        }
    }
}

/// What a panel shows; its data is already grouped into the frame's columns.
struct Panel {
    title: String,
    /// Relative height when panels are stacked.
    weight: u32,
    left: Scale,
    left_desc: &'static str,
    right: Option<(Scale, &'static str)>,
    series: Vec<Series>,
    /// Horizontal reference lines on the left axis, with their labels (the acquire timeout):
    /// dashed, inside the axis range, drawn over the series.
    limits: Vec<(f64, String)>,
}

/// One legend entry and its values, one per frame column.
struct Series {
    label: &'static str,
    color: RGBColor,
    kind: Kind,
    /// Plotted against the right axis.
    right: bool,
    values: Vec<Option<f64>>,
}

impl Series {
    fn new(label: &'static str, color: RGBColor, kind: Kind, values: Vec<Option<f64>>) -> Self {
        Series { label, color, kind, right: false, values }
    }

    fn stroke(&self) -> ShapeStyle {
        self.color.stroke_width(2)
    }
}

/// How a series is drawn.
#[derive(Clone, Copy)]
enum Kind {
    /// Through bucket midpoints.
    Line,
    /// Flat across each bucket and dashed, for limits such as the pool size.
    Step,
    /// `Line` with a light fill down to 0.
    Area,
    /// One bar per bucket, for counts.
    Bars,
}

/// How a y axis maps values.
#[derive(Clone, Copy)]
enum Scale {
    /// Linear from 0 with integer ticks.
    Count,
    /// Base-10 logarithmic.
    Log,
}

/// An axis laid out for drawing, and its plotters coordinate (linear in axis space, with our ticks).
/// Positions are in axis space: the value itself, or its log10 on a log axis.
#[derive(Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Axis {
    /// Fits the axis to the finite values (non-positive ones are ignored on a log axis).
    fn fit(scale: Scale, values: impl Iterator<Item = f64>) -> Axis {
        match scale {
            Scale::Count => {
                let max = values.filter(|v| v.is_finite()).fold(0.0, f64::max);
                // 5 % headroom so a flat maximum does not sit on the frame; 1 when all zero; capped
                // far below f64::MAX so the tick arithmetic stays finite.
                let top = if max > 0.0 { (max * 1.05).min(1e300) } else { 1.0 };
                let step = nice_step(top / 6.0).max(1.0);
                let hi = (top / step).ceil() * step;
                Axis { lo: 0.0, hi, log: false, bold: ticks(0.0, hi, step), light: Vec::new() }
            }
            Scale::Log => {
                let (mn, mx) = values
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
                // A tenth of a decade of margin, at least one decade so that some 1-2-5 ticks fall
                // inside, at most 15 decades so that the labels stay legible.
                let (lo, hi) = if mn <= mx { (mn.log10() - 0.1, mx.log10() + 0.1) } else { (0.0, 3.0) };
                let widen = (1.0 - (hi - lo)).max(0.0) / 2.0;
                let (lo, hi) = (lo - widen, hi + widen);
                let lo = lo.max(hi - 15.0);
                let (bold, light) = log_ticks(lo, hi);
                Axis { lo, hi, log: true, bold, light }
            }
        }
    }

    /// Axis-space position of `v`, clamped into the axis; `None` if `v` is not finite.
    fn pos(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return None;
        }
        let s = if self.log { if v > 0.0 { v.log10() } else { self.lo } } else { v };
        Some(s.clamp(self.lo, self.hi))
    }

    fn label(&self, s: f64) -> String {
        fmt_num(if self.log { 10f64.powf(s) } else { s })
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        (f64::from(limit.0) + t * f64::from(limit.1 - limit.0)).round() as i32
    }

    /// Our own ticks, whatever plotters asks for: they are already chosen for legibility.
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.light.clone() } else { self.bold.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The 1/2/5×10ⁿ step at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag)
}

/// Multiples of `step` within `[lo, hi]` (bounded, whatever the inputs).
fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil();
    (0..64).map(|i| (first + f64::from(i)) * step).take_while(|t| *t <= hi + step * 1e-9).collect()
}

/// Labelled ticks at decades, or at 1-2-5 multiples when fewer than four decades show (1…9 when
/// even those are fewer than three);
/// light grid lines at the 1…9 multiples when the axis spans few decades.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let at = |mults: &[f64], every: i32| -> Vec<f64> {
        let (d0, d1) = (lo.floor() as i32, hi.ceil() as i32);
        (d0..=d1)
            .filter(|d| d.rem_euclid(every) == 0)
            .flat_map(|d| mults.iter().map(move |m| f64::from(d) + m.log10()))
            .filter(|s| (lo..=hi).contains(s))
            .collect()
    };
    let all: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let every = ((hi - lo) / 8.0).ceil().max(1.0) as i32;
    let bold = [(at(&[1.0], every), 4), (at(&[1.0, 2.0, 5.0], 1), 3)]
        .into_iter()
        .find_map(|(t, enough)| (t.len() >= enough).then_some(t))
        .unwrap_or_else(|| at(&all, 1));
    let light = if hi - lo <= 6.0 { at(&all, 1) } else { Vec::new() };
    (bold, light)
}

/// Panels stacked top to bottom, heights in proportion to their weights; the top one carries the
/// annotations' labels, every one their lines.
fn draw_stack(area: &Area, f: &Frame, panels: &[Panel]) -> Result<(), PlotError> {
    let total: u32 = panels.iter().map(|p| p.weight).sum::<u32>().max(1);
    let h = area.dim_in_pixel().1;
    let mut acc = 0;
    let breaks: Vec<u32> = panels[..panels.len().saturating_sub(1)]
        .iter()
        .map(|p| {
            acc += p.weight;
            h * acc / total
        })
        .collect();
    for (i, (sub, p)) in area.split_by_breakpoints::<u32, u32, _, _>([], breaks).iter().zip(panels).enumerate() {
        draw_panel(sub, f, p, i == 0)?;
    }
    Ok(())
}

/// Where a panel's plot landed on its area, for what is drawn over it afterwards.
pub(crate) struct Plotted {
    /// Pixel columns and rows of the plot, relative to the panel's area.
    x: (i32, i32),
    y: (i32, i32),
    /// Time axis and left axis.
    time: (f64, f64),
    left: Axis,
}

impl Plotted {
    /// Pixel of a time and a left-axis value, relative to the panel's area.
    fn at(&self, t: f64, v: f64) -> (i32, i32) {
        let x = annotate::column(self.time, self.x)(t);
        let y = self.left.pos(v).unwrap_or(self.left.lo);
        (x, self.left.map(&y, (self.y.1, self.y.0)))
    }
}

/// The pixel columns of a panel's plot on an area `w` px wide: what the label areas leave.
fn plot_columns(w: u32) -> (i32, i32) {
    ((MARGIN + LEFT_AREA) as i32, w as i32 - (MARGIN + RIGHT_AREA) as i32)
}

/// The title row of a panel: the legend at the right, the title at the left cut to what the legend
/// leaves.
fn draw_title_row(head: &Area, title: &str, series: &[Series]) -> Result<(), PlotError> {
    let legend_left = draw_legend(head, series)?;
    let x0 = (MARGIN + LEFT_AREA) as i32;
    let f = font(19, FontStyle::Bold);
    let shown = ellipsize(title, &f, (legend_left - 16 - x0).max(0) as u32);
    head.draw_text(&shown, &f.color(&INK).pos(Pos::new(HPos::Left, VPos::Center)), (x0, TITLE_H as i32 / 2 + 2))?;
    Ok(())
}

/// Draws one time-series panel: title and legend row, the annotations' label lane when
/// `labelled`, axes, grid, series, reference lines and the annotations' lines.
fn draw_panel(area: &Area, f: &Frame, p: &Panel, labelled: bool) -> Result<Plotted, PlotError> {
    let (head, rest) = area.split_vertically(TITLE_H);
    draw_title_row(&head, &p.title, &p.series)?;
    let w = area.dim_in_pixel().0;
    let lane =
        (labelled && !f.marks.is_empty()).then(|| annotate::lane(&f.marks, f.x, plot_columns(w), annotate::MAX_ROWS));
    let lane_h = lane.as_ref().map_or(0, annotate::Lane::height);
    let (_, body) = rest.split_vertically(lane_h);

    let of_side = |right: bool| {
        p.series.iter().filter(move |s| s.right == right).flat_map(|s| s.values.iter().flatten().copied())
    };
    // The reference lines are inside the axis: a timeout above every latency is still drawn.
    let left = Axis::fit(p.left, of_side(false).chain(p.limits.iter().map(|l| l.0)));
    let right = p.right.map(|(scale, _)| Axis::fit(scale, of_side(true)));
    let x_ticks = ticks(f.x.0, f.x.1, nice_step((f.x.1 - f.x.0) / 10.0));
    let x = Axis { lo: f.x.0, hi: f.x.1, log: false, bold: x_ticks, light: Vec::new() };
    let sec = right.as_ref().unwrap_or(&left);

    let mut chart = ChartBuilder::on(&body)
        .x_label_area_size(X_AREA)
        .y_label_area_size(LEFT_AREA)
        .right_y_label_area_size(RIGHT_AREA)
        .margin_top(6)
        .margin_left(MARGIN)
        .margin_right(MARGIN)
        .build_cartesian_2d(x.clone(), left.clone())?
        .set_secondary_coord(x, sec.clone());
    let (label_style, desc_style) = ((FONT, 14).into_font().color(&INK), (FONT, 15).into_font().color(&INK));
    let (x_fmt, y_fmt, y2_fmt) = (|v: &f64| fmt_num(*v), |v: &f64| left.label(*v), |v: &f64| sec.label(*v));
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(p.left_desc)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(label_style.clone())
        .axis_desc_style(desc_style.clone())
        .bold_line_style(RGBColor(205, 205, 205))
        .light_line_style(RGBColor(238, 238, 238))
        .axis_style(MUTED)
        .draw()?;
    if let Some((_, desc)) = p.right {
        chart
            .configure_secondary_axes()
            .y_desc(desc)
            .y_label_formatter(&y2_fmt)
            .label_style(label_style)
            .axis_desc_style(desc_style)
            .axis_style(MUTED)
            .draw()?;
    }

    // An empty plot would look like a rendering failure: say why it is empty.
    if p.series.iter().all(|s| s.values.iter().all(Option::is_none)) {
        let style = (FONT, 17).into_font().color(&MUTED).pos(Pos::new(HPos::Center, VPos::Center));
        let centre = ((f.x.0 + f.x.1) / 2.0, (left.lo + left.hi) / 2.0);
        chart.draw_series(std::iter::once(Text::new("no data", centre, style)))?;
    }
    for s in &p.series {
        // Everything is drawn in left-axis space: right-axis values are mapped affinely onto it,
        // which keeps a single drawing path for both axes (and both scales).
        let axis = if s.right { sec } else { &left };
        let to_left = |v: f64| axis.pos(v).map(|a| left.lo + (a - axis.lo) / (axis.hi - axis.lo) * (left.hi - left.lo));
        let pts: Vec<Option<(f64, f64, f64)>> =
            f.cols.iter().zip(&s.values).map(|(c, v)| v.and_then(to_left).map(|y| (c.0, c.1, y))).collect();
        draw_series(&mut chart, s, &pts, left.lo)?;
    }

    let base = area.get_base_pixel();
    let (px, py) = chart.plotting_area().get_pixel_range();
    let plotted = Plotted {
        x: (px.start - base.0, px.end - base.0),
        y: (py.start - base.1, py.end - base.1),
        time: f.x,
        left: left.clone(),
    };
    // The lane was laid out for the columns the label areas leave; should the chart have put the
    // plot elsewhere, lay it out again on the real columns, in the rows it has.
    let lane =
        lane.map(|l| if plotted.x == plot_columns(w) { l } else { annotate::lane(&f.marks, f.x, plotted.x, l.rows) });
    let lane_bottom = TITLE_H as i32 + lane_h as i32;
    let lane = lane.as_ref().map(|l| (l, lane_bottom));
    annotate::draw(area, &f.marks, f.x, (plotted.x, plotted.y), lane, annotate::Ground::Light)?;
    // After the annotations' lines, so that they never strike the reference lines' labels.
    for (v, label) in &p.limits {
        draw_limit(area, &plotted, p, *v, label)?;
    }
    Ok(plotted)
}

/// A dashed horizontal reference line at `v` on the left axis with its label, at the end of the
/// plot (left or right) where the first series is farther from the line, above the line when
/// there is room.
fn draw_limit(area: &Area, at: &Plotted, p: &Panel, v: f64, label: &str) -> Result<(), PlotError> {
    let (x0, y) = at.at(at.time.0, v);
    let (x1, _) = at.at(at.time.1, v);
    let style = INK.mix(0.85).stroke_width(1);
    for dash in DashedLineSeries::new([(x0, y), (x1, y)], DASH.0, DASH.1, style) {
        area.draw(&dash)?;
    }
    let pos = |v: f64| at.left.pos(v);
    let first = p.series.first().map(|s| s.values.as_slice()).unwrap_or_default();
    let gap = |o: Option<&Option<f64>>| {
        o.copied().flatten().and_then(pos).zip(pos(v)).map_or(f64::INFINITY, |(a, b)| (a - b).abs())
    };
    let right = gap(first.iter().rev().find(|v| v.is_some())) >= gap(first.iter().find(|v| v.is_some()));
    let f = font(13, FontStyle::Normal);
    let text = ellipsize(label, &f, ((x1 - x0) / 2).max(0) as u32);
    let (w, h) = (width(&text, &f) as i32, 14);
    let left = if right { x1 - 6 - w } else { x0 + 6 };
    let top = if y - at.y.0 >= h + 6 { y - h - 4 } else { y + 4 };
    area.draw(&Rectangle::new([(left - 3, top - 1), (left + w + 3, top + h + 1)], WHITE.mix(0.85).filled()))?;
    area.draw_text(&text, &f.color(&INK).pos(Pos::new(HPos::Left, VPos::Top)), (left, top))?;
    Ok(())
}

/// Draws one series given per-column `(start, end, y)` points; `None` breaks lines into runs.
fn draw_series<CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<Canvas, CT>,
    s: &Series,
    pts: &[Option<(f64, f64, f64)>],
    base: f64,
) -> Result<(), PlotError> {
    let style = s.stroke();
    let mid = |p: &(f64, f64, f64)| ((p.0 + p.1) / 2.0, p.2);
    for run in pts.split(Option::is_none) {
        let run: Vec<(f64, f64, f64)> = run.iter().flatten().copied().collect();
        let line: Vec<(f64, f64)> = run.iter().map(mid).collect();
        match (s.kind, line.len()) {
            (_, 0) => {}
            (Kind::Bars, _) => {
                let bars = run
                    .iter()
                    .filter(|p| p.2 > base)
                    .map(|p| Rectangle::new([(p.0, base), (p.1, p.2)], s.color.filled()));
                chart.draw_series(bars)?;
            }
            (Kind::Step, _) => {
                let steps: Vec<(f64, f64)> = run.iter().flat_map(|p| [(p.0, p.2), (p.1, p.2)]).collect();
                chart.draw_series(DashedLineSeries::new(steps, DASH.0, DASH.1, style))?;
            }
            // A lone point between gaps would be an invisible zero-length line: draw it across its
            // bucket, with a dot in case the bucket is narrower than a pixel.
            (_, 1) => {
                let p = run[0];
                chart.draw_series(std::iter::once(PathElement::new(vec![(p.0, p.2), (p.1, p.2)], style)))?;
                chart.draw_series(line.iter().map(|&p| Circle::new(p, 3, s.color.filled())))?;
            }
            (Kind::Area, _) => {
                let (first, last) = (line[0].0, line[line.len() - 1].0);
                let poly =
                    std::iter::once((first, base)).chain(line.iter().copied()).chain(std::iter::once((last, base)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly.collect::<Vec<_>>(), s.color.mix(0.3).filled())))?;
                chart.draw_series(std::iter::once(PathElement::new(line, style)))?;
            }
            (Kind::Line, _) => {
                chart.draw_series(std::iter::once(PathElement::new(line, style)))?;
            }
        }
    }
    Ok(())
}

/// A one-row legend, right-aligned above the plot area: white box with a border. Returns its left
/// end, px.
fn draw_legend(area: &Area, series: &[Series]) -> Result<i32, PlotError> {
    let font = (FONT, 14).into_font().color(&INK).pos(Pos::new(HPos::Left, VPos::Center));
    let (swatch, gap, pad, spacing) = (24, 6, 10, 18);
    let widths = series
        .iter()
        .map(|s| Ok(area.estimate_text_size(s.label, &font)?.0 as i32 + swatch + gap))
        .collect::<Result<Vec<i32>, PlotError>>()?;
    let inner: i32 = widths.iter().sum::<i32>() + spacing * (widths.len() as i32 - 1).max(0);
    let right = area.dim_in_pixel().0 as i32 - (MARGIN + RIGHT_AREA) as i32;
    let (yc, half) = (TITLE_H as i32 / 2 + 2, 13);
    let mut x = right - inner - 2 * pad;
    let legend_left = x;
    area.draw(&Rectangle::new([(x, yc - half), (right, yc + half)], WHITE.filled()))?;
    area.draw(&Rectangle::new([(x, yc - half), (right, yc + half)], FRAME.stroke_width(1)))?;
    x += pad;
    for (s, w) in series.iter().zip(widths) {
        match s.kind {
            Kind::Bars | Kind::Area => {
                area.draw(&Rectangle::new([(x, yc - 6), (x + swatch, yc + 6)], s.color.mix(0.8).filled()))?
            }
            Kind::Step => {
                for dash in DashedLineSeries::new([(x, yc), (x + swatch, yc)], DASH.0, DASH.1, s.stroke()) {
                    area.draw(&dash)?;
                }
            }
            _ => area.draw(&PathElement::new(vec![(x, yc), (x + swatch, yc)], s.stroke()))?,
        }
        area.draw_text(s.label, &font, (x + swatch + gap, yc))?;
        x += w + spacing;
    }
    Ok(legend_left)
}

/// Title, run facts and key-figure tiles of the dashboard.
fn draw_header(area: &Area, r: &RunResult) -> Result<(), PlotError> {
    let s = &r.summary;
    draw_heading(area, &format!("Connection Pool Dashboard — {}", r.meta.name), r)?;
    let q = &s.requests;
    let p99 = if s.latency_ms.count > 0 { format!("{} ms", fmt_num(s.latency_ms.p99)) } else { "—".into() };
    let first = s.first_503_s.map_or_else(|| "none".into(), |t| format!("{} s", fmt_num(t)));
    let tiles = [
        ("requests", fmt_num(q.total as f64), INK),
        ("ok (200)", fmt_num(q.ok as f64), INK),
        (
            "503 (timed out)",
            format!("{} ({}%)", fmt_num(q.timed_out as f64), fmt_num(q.timed_out_rate * 100.0)),
            if q.timed_out > 0 { VERMILLION } else { INK },
        ),
        ("latency p99", p99, INK),
        ("peak queue (requests)", fmt_num(f64::from(s.queue_depth_max)), INK),
        ("first 503 at", first, if s.first_503_s.is_some() { VERMILLION } else { INK }),
    ];
    draw_tiles(area, &tiles, (72, HEADER_H as i32 - 12), 24)
}

/// The first two lines of a figure's header: the title (bold, left) with the run's facts (right),
/// and the scenario's description below, each cut to the room it has.
pub(crate) fn draw_heading(area: &Area, title: &str, r: &RunResult) -> Result<(), PlotError> {
    let w = area.dim_in_pixel().0 as i32;
    let facts = format!(
        "seed {} · bucket {} s · {} s simulated · poolsim {}",
        r.meta.seed,
        fmt_num(r.meta.bucket_s),
        fmt_num(r.summary.duration_s),
        clip(&r.meta.version, 20)
    );
    let small = font(15, FontStyle::Normal);
    let facts = ellipsize(&facts, &small, (w / 2 - 20).max(0) as u32);
    area.draw_text(&facts, &small.color(&MUTED).pos(Pos::new(HPos::Right, VPos::Center)), (w - 20, 24))?;
    let room = (w - 40 - width(&facts, &small) as i32 - 24).max(0) as u32;
    let (title, size) = fit(title, room, &[24, 22, 20], FontStyle::Bold);
    let bold = font(size, FontStyle::Bold).color(&INK).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text(&title, &bold, (20, 24))?;
    let description = ellipsize(&r.meta.description, &small, (w - 40).max(0) as u32);
    area.draw_text(&description, &small.color(&MUTED).pos(Pos::new(HPos::Left, VPos::Center)), (20, 52))?;
    Ok(())
}

/// A row of key-figure cards across the width between `rows` (top, bottom): a caption and a
/// value each, the value at `size` px or smaller so that it fits its card, cut only if even the
/// smallest size does not.
pub(crate) fn draw_tiles(
    area: &Area,
    tiles: &[(&str, String, RGBColor)],
    rows: (i32, i32),
    size: u32,
) -> Result<(), PlotError> {
    let w = area.dim_in_pixel().0 as i32;
    let (x0, gap, (top, bottom)) = (20, 12, rows);
    let n = tiles.len().max(1) as i32;
    let tw = (w - 2 * x0 - gap * (n - 1)) / n;
    let room = (tw - 20).max(0) as u32;
    let sizes: Vec<u32> = (16..=size).rev().step_by(2).collect();
    let caption = font(14, FontStyle::Normal);
    for (i, (label, value, color)) in tiles.iter().enumerate() {
        let x = x0 + i as i32 * (tw + gap);
        area.draw(&Rectangle::new([(x, top), (x + tw, bottom)], RGBColor(246, 246, 246).filled()))?;
        area.draw(&Rectangle::new([(x, top), (x + tw, bottom)], FRAME.stroke_width(1)))?;
        let label = ellipsize(label, &caption, room);
        area.draw_text(&label, &caption.color(&MUTED).pos(Pos::new(HPos::Left, VPos::Center)), (x + 10, top + 14))?;
        let (value, px) = fit(value, room, &sizes, FontStyle::Bold);
        let style = font(px, FontStyle::Bold).color(color).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw_text(&value, &style, (x + 10, bottom - 20))?;
    }
    Ok(())
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).chain(['…']).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Annotation, AnnotationKind, Percentiles, RequestCounts, RunMeta, Stats, Summary};

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    type Figure = fn(&RunResult) -> Result<Vec<u8>, PlotError>;
    const FIGURES: [Figure; 4] = [latency_png, queue_depth_png, errors_png, dashboard_png];

    /// A pool of 5 under a burst: the queue grows to 45, drains, and 503s accumulate.
    fn run(n: usize) -> RunResult {
        let timeline = (0..n)
            .map(|i| {
                let waiting = 45u32.saturating_sub(5 * (i as u32 % 12));
                let timed_out = u64::from(i % 7 == 3);
                let lat = (i % 5 != 4).then(|| 100.0 + 200.0 * f64::from(waiting));
                Bucket {
                    t_s: i as f64,
                    arrivals: 10,
                    ok: 8,
                    timed_out,
                    failed: u64::from(i % 50 == 10),
                    db_pool_used_size_max: 5,
                    db_pool_used_size_mean: 4.5,
                    db_pool_free_size_min: 0,
                    db_pool_waiting_requests_max: waiting,
                    db_pool_waiting_requests_mean: f64::from(waiting) / 2.0,
                    db_pool_max_size: if i < n / 2 { 5 } else { 20 },
                    db_pool_exhaustion_total: (i as u64 + 4) / 7,
                    latency_ms: lat.map(|l| Percentiles { p50: l, p95: l * 1.2, p99: l * 1.5 }),
                    acquire_wait_ms_p99: lat,
                    ..Bucket::default()
                }
            })
            .collect();
        let stats = Stats { count: 8 * n as u64, p50: 2000.0, p95: 9000.0, p99: 10_000.0, max: 10_500.0, mean: 3000.0 };
        RunResult {
            meta: RunMeta {
                name: "lab04".into(),
                description: "pool of 5, burst of 50".into(),
                seed: 42,
                scenario_hash: "h".into(),
                version: "0.1.0".into(),
                bucket_s: 1.0,
                events: 1,
                acquire_timeouts_s: vec![10.0],
            },
            timeline,
            summary: Summary {
                requests: RequestCounts {
                    total: 10 * n as u64,
                    ok: 8 * n as u64,
                    timed_out: n as u64 / 7,
                    failed: 0,
                    refused: 0,
                    statement_timeout: 0,
                    terminated: 0,
                    unfinished: 0,
                    queued: 0,
                    timed_out_rate: 0.014,
                },
                latency_ms: stats,
                acquire_wait_ms: stats,
                queue_depth_max: 45,
                pool_used_max: 5,
                pool_used_mean: 4.5,
                db_pool_exhaustion_total: n as u64 / 7,
                first_503_s: Some(3.0),
                throughput_ok_per_s: 8.0,
                duration_s: n as f64,
                warmup_s: 0.0,
            },
            theory: None,
            fleet: Default::default(),
            instances: Vec::new(),
            pool_rows: Vec::new(),
            scrapes: None,
            alerts: None,
            annotations: Vec::new(),
        }
    }

    fn cases() -> Vec<(&'static str, RunResult)> {
        let mut empty = run(0);
        empty.summary.latency_ms.count = 0;
        empty.summary.first_503_s = None;
        let mut no_latency = run(120);
        no_latency.timeline.iter_mut().for_each(|b| b.latency_ms = None);
        let mut huge = run(120);
        for (i, b) in huge.timeline.iter_mut().enumerate() {
            b.timed_out = 1_000_000_000_000;
            b.db_pool_exhaustion_total = u64::MAX;
            b.db_pool_waiting_requests_max = u32::MAX;
            b.db_pool_used_size_mean = [f64::NAN, f64::INFINITY, 1e12][i % 3];
            b.latency_ms = Some(Percentiles { p50: 1e12, p95: f64::NAN, p99: f64::NEG_INFINITY });
        }
        huge.timeline[7].t_s = f64::NAN;
        huge.meta.bucket_s = f64::NAN;
        huge.summary.latency_ms.p99 = f64::NAN;
        let mut zero = run(60);
        for b in &mut zero.timeline {
            *b =
                Bucket { latency_ms: Some(Percentiles { p50: 0.0, p95: 0.0, p99: 0.0 }), ..run(1).timeline[0].clone() };
            b.db_pool_waiting_requests_max = 0;
            b.db_pool_max_size = 0;
        }
        let mut far = run(1);
        far.timeline[0].t_s = 1e300;
        vec![
            ("normal", run(300)),
            ("empty", empty),
            ("single", run(1)),
            ("no latency", no_latency),
            ("huge", huge),
            ("zero", zero),
            ("far", far),
        ]
    }

    #[test]
    fn every_figure_is_a_png_for_normal_and_degenerate_timelines() {
        for (name, r) in cases() {
            for (i, fig) in FIGURES.iter().enumerate() {
                let png = fig(&r).unwrap_or_else(|e| panic!("{name}, figure {i}: {e}"));
                assert!(png.starts_with(PNG_SIGNATURE), "{name}, figure {i}");
            }
        }
    }

    #[test]
    fn same_result_gives_the_same_bytes() {
        let r = run(300);
        for fig in FIGURES {
            assert_eq!(fig(&r).unwrap(), fig(&r).unwrap());
        }
    }

    /// `run(n)` with a deploy, a rollback too long for its lane, an alert flipping every 5 s for
    /// 150 s (30 flips), one firing at the same time as the deploy, and marks outside the run.
    pub(super) fn annotated(n: usize) -> RunResult {
        let mut r = run(n);
        let mark = |t_s: f64, label: &str, kind| Annotation { t_s, label: label.into(), kind };
        r.annotations = vec![
            mark(-5.0, "before the run", AnnotationKind::Event),
            mark(60.0, "request.hold = 100ms", AnnotationKind::Event),
            mark(60.0, "PoolExhausted firing", AnnotationKind::AlertFiring),
            mark(60.0, "PoolExhausted firing", AnnotationKind::AlertFiring),
            mark(
                200.0,
                "stop_job warehouse-sync, close_pool sync, kill_connections 240 of analytics, fleet.pods = 30",
                AnnotationKind::Event,
            ),
            mark(1e9, "after the run", AnnotationKind::Event),
        ];
        for i in 0..30 {
            let (label, kind) = if i % 2 == 0 {
                ("RequestsWaiting firing", AnnotationKind::AlertFiring)
            } else {
                ("RequestsWaiting resolved", AnnotationKind::AlertResolved)
            };
            r.annotations.push(mark(100.0 + 5.0 * f64::from(i), label, kind));
        }
        r.annotations.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        r
    }

    type Render = fn(&RunResult, Format) -> Result<Vec<u8>, PlotError>;
    const RENDERS: [Render; 6] = [latency, queue_depth, errors, dashboard, fleet::database, fleet::pods];

    #[test]
    fn svg_figures_are_text_and_give_the_same_bytes() {
        let r = run(300);
        for (i, fig) in RENDERS.iter().enumerate() {
            let svg = fig(&r, Format::Svg).unwrap_or_else(|e| panic!("figure {i}: {e}"));
            assert_eq!(svg, fig(&r, Format::Svg).unwrap(), "figure {i}");
            let text = String::from_utf8(svg).unwrap();
            assert!(text.starts_with("<svg ") && text.contains("font-family=\"sans-serif\""), "figure {i}");
            assert!(text.contains("\ntime (s)\n</text>"), "figure {i}");
        }
    }

    #[test]
    fn annotated_figures_give_the_same_bytes_in_both_formats() {
        let r = annotated(300);
        for (i, fig) in RENDERS.iter().enumerate() {
            for format in [Format::Png, Format::Svg] {
                let a = fig(&r, format).unwrap_or_else(|e| panic!("figure {i}, {format:?}: {e}"));
                assert_eq!(a, fig(&r, format).unwrap(), "figure {i}, {format:?}");
            }
        }
    }

    /// The text of an SVG's `<text>` elements, in document order.
    pub(super) fn svg_texts(svg: &[u8]) -> Vec<String> {
        let svg = std::str::from_utf8(svg).unwrap();
        svg.split("<text ")
            .skip(1)
            .map(|t| t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()].trim().to_string())
            .collect()
    }

    #[test]
    fn svg_figures_carry_the_annotations_and_the_timeout_as_text() {
        let r = annotated(300);
        let texts = svg_texts(&latency(&r, Format::Svg).unwrap());
        for want in ["request.hold = 100ms", "PoolExhausted firing", "acquire timeout 10 s", "p99", "latency (ms)"] {
            assert!(texts.iter().any(|t| t == want), "no {want:?} in {texts:?}");
        }
        // 30 flips read as two labels, each counting its marks; the long label is cut whole.
        let flips: Vec<&String> = texts.iter().filter(|t| t.starts_with("RequestsWaiting")).collect();
        assert_eq!(flips, ["RequestsWaiting firing ×15", "RequestsWaiting resolved ×15"]);
        assert!(texts.iter().any(|t| t.starts_with("stop_job warehouse-sync") && t.ends_with('…')), "{texts:?}");
        // Marks outside the run are skipped, the deploy's duplicate firing is drawn once.
        assert!(!texts.iter().any(|t| t.contains("the run")), "{texts:?}");
        assert_eq!(texts.iter().filter(|t| *t == "PoolExhausted firing").count(), 1);
        // Every timeline figure labels the marks once, above its top panel (the pods figure's,
        // drawn from pool rows this run has none of, in `plot::fleet`'s tests).
        for fig in [queue_depth, errors, dashboard, fleet::database] {
            let texts = svg_texts(&fig(&r, Format::Svg).unwrap());
            assert_eq!(texts.iter().filter(|t| *t == "request.hold = 100ms").count(), 1, "{texts:?}");
        }
        let dash = svg_texts(&dashboard(&r, Format::Svg).unwrap());
        assert!(dash.iter().any(|t| t == "acquire timeout 10 s"), "{dash:?}");
    }

    #[test]
    fn no_timeout_line_when_requests_wait_forever() {
        let mut r = run(60);
        r.meta.acquire_timeouts_s.clear();
        assert!(!svg_texts(&latency(&r, Format::Svg).unwrap()).iter().any(|t| t.contains("acquire timeout")));
        r.meta.acquire_timeouts_s = vec![0.25, 30.0];
        let texts = svg_texts(&latency(&r, Format::Svg).unwrap());
        for want in ["acquire timeout 250 ms", "acquire timeout 30 s"] {
            assert!(texts.iter().any(|t| t == want), "no {want:?} in {texts:?}");
        }
    }

    #[test]
    fn large_counts_are_written_readably_and_cards_fit() {
        let mut r = run(120);
        r.summary.requests.total = 14_634_555;
        r.summary.requests.ok = 14_227_591;
        r.summary.requests.timed_out = 406_964;
        r.summary.requests.timed_out_rate = 0.0278;
        let texts = svg_texts(&dashboard(&r, Format::Svg).unwrap());
        for want in ["14.6 M", "14.2 M", "406,964 (2.78%)"] {
            assert!(texts.iter().any(|t| t == want), "no {want:?} in {texts:?}");
        }
        assert!(!texts.iter().any(|t| t.contains("e7") || t.contains("e+")), "{texts:?}");
    }

    /// The timeout line's source: the timeouts of the pools requests use, at the start.
    #[test]
    fn acquire_timeouts_are_those_of_the_pools_requests_use() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let of = |file: &str| RunMeta::acquire_timeouts_of(&crate::scenario::load(&root.join(file)).unwrap());
        assert_eq!(of("scenarios/lab04.yaml"), [10.0]);
        assert_eq!(of("scenarios/incident-dual-pool.yaml"), [5.0]);
    }

    /// Writes annotated figures to the temporary directory, for a look: `cargo test --lib
    /// plot::tests::write_for_review -- --ignored`.
    #[test]
    #[ignore = "writes files for a human to look at"]
    fn write_for_review() {
        let dir = std::env::temp_dir();
        let r = annotated(300);
        for (name, fig) in
            ["latency", "queue_depth", "errors", "dashboard", "database", "pods"].into_iter().zip(RENDERS)
        {
            for format in [Format::Png, Format::Svg] {
                let file = dir.join(format!("annotated-{name}.{}", format.extension()));
                std::fs::write(file, fig(&r, format).unwrap()).unwrap();
            }
        }
        eprintln!("wrote {}/annotated-*", dir.display());
    }

    #[test]
    fn long_timelines_are_decimated_keeping_the_maximum() {
        let mut r = run(3600);
        r.timeline[1234].db_pool_waiting_requests_max = 999;
        let f = Frame::new(&r);
        assert!(f.cols.len() <= MAX_COLUMNS);
        assert_eq!(f.x, (0.0, 3600.0));
        let waiting = f.values(|b| Some(f64::from(b.db_pool_waiting_requests_max)));
        assert_eq!(waiting.iter().flatten().fold(0.0, |a: f64, v| a.max(*v)), 999.0);
        assert!(dashboard_png(&r).unwrap().starts_with(PNG_SIGNATURE));
    }

    #[test]
    fn missing_latencies_stay_gaps() {
        let r = run(10);
        let p50 = Frame::new(&r).values(|b| b.latency_ms.map(|p| p.p50));
        assert_eq!(p50[4], None);
        assert!(p50[3].is_some());
    }

    #[test]
    fn axes_are_widened_and_ticked_legibly() {
        let zero = Axis::fit(Scale::Count, [0.0, f64::NAN].into_iter());
        assert_eq!((zero.lo, zero.hi, zero.bold.clone()), (0.0, 1.0, vec![0.0, 1.0]));
        let queue = Axis::fit(Scale::Count, [45.0].into_iter());
        assert_eq!((queue.hi, queue.bold.len()), (50.0, 6));
        let lat = Axis::fit(Scale::Log, [100.0, 10_000.0].into_iter());
        let labels: Vec<String> = lat.bold.iter().map(|s| lat.label(*s)).collect();
        assert_eq!(labels, ["100", "200", "500", "1,000", "2,000", "5,000", "10,000"]);
        let flat = Axis::fit(Scale::Log, [150.0].into_iter());
        assert!(flat.hi > flat.lo && flat.bold.len() >= 3, "{:?}", flat.bold);
        let huge = Axis::fit(Scale::Count, [f64::MAX].into_iter());
        assert!(huge.hi.is_finite() && huge.bold.len() <= 8);
    }

    fn feed(rows: &[Bucket]) -> (Vec<Bucket>, u32) {
        let mut keep = PlotTimeline::default();
        for chunk in rows.chunks(1000) {
            crate::result::RowSink::rows(&mut keep, chunk).unwrap();
        }
        keep.finish()
    }

    #[test]
    fn a_timeline_up_to_the_limit_is_kept_as_it_is() {
        let r = run(KEEP_ROWS);
        assert_eq!(feed(&r.timeline), (r.timeline.clone(), 1));
    }

    /// Past the limit, rows are merged two by two as often as needed: bounded,
    /// with the run's totals and extremes kept.
    #[test]
    fn a_long_timeline_is_merged_into_wider_buckets() {
        let r = run(3 * KEEP_ROWS + 5);
        let (rows, merge) = feed(&r.timeline);
        assert_eq!(merge, 4);
        assert!(rows.len() <= KEEP_ROWS + 1, "{} rows", rows.len());
        assert_eq!(rows.len(), r.timeline.len().div_ceil(4));
        let sum = |rows: &[Bucket]| rows.iter().map(|b| b.timed_out).sum::<u64>();
        assert_eq!(sum(&rows), sum(&r.timeline));
        let max = |rows: &[Bucket]| rows.iter().map(|b| b.db_pool_waiting_requests_max).max();
        assert_eq!(max(&rows), max(&r.timeline));
        // Row k starts where bucket 4k started, and its mean is the mean of those four.
        assert_eq!(rows[10].t_s, r.timeline[40].t_s);
        let mean = r.timeline[40..44].iter().map(|b| b.db_pool_used_size_mean).sum::<f64>() / 4.0;
        assert!((rows[10].db_pool_used_size_mean - mean).abs() < 1e-9);
        // The figures draw from it.
        let mut view = r.clone();
        view.timeline = rows;
        view.meta.bucket_s *= f64::from(merge);
        assert!(dashboard_png(&view).unwrap().starts_with(PNG_SIGNATURE));
    }
}
