//! The overlay of `sim compare`: the timelines of several scenarios in stacked panels sharing one
//! time axis (latency p99, waiting requests, 503s per bucket and, when the timeline has the
//! columns, open database connections against the usable limit), one colour per scenario.
//!
//! The runs share the scenario's timed events (the same traffic, the same timeline): their
//! annotations, united (a mark of several runs is drawn once), are lines across every panel,
//! labelled above the top one, as on a run's figures.
//!
//! Invariants: columns are read by name through [`Bucket::value`], so the figure follows the
//! timeline as it grows; every panel has the same x range and label areas, so times line up
//! exactly; long timelines are grouped into at most `MAX_COLUMNS` columns keeping each group's
//! maximum (a spike is never averaged away); deterministic bytes.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::annotate::{self, Lane, Marks};
use super::sweep::{Area, FONT, INK, MUTED, PALETTE, label, png, y_range};
use super::text::{ellipsize, font, width};
use super::{Axis, Format, PlotError, nice_step, ticks};
use crate::result::{Bucket, RunResult};

const MAX_COLUMNS: usize = 1000;
const WIDTH: u32 = 1200;
const PANEL_H: u32 = 300;
const HEAD_H: u32 = 90;
/// Height of a panel's title strip, px.
const CAPTION_H: u32 = 28;
/// Blank around each plot, and the width of the y label area, px.
const MARGIN: u32 = 10;
const Y_AREA: u32 = 80;

/// One panel: title, y description and the columns it draws (solid, then dashed).
struct Panel {
    title: &'static str,
    y_desc: &'static str,
    solid: &'static str,
    dashed: Option<&'static str>,
}

const PANELS: [Panel; 4] = [
    Panel {
        title: "Response latency p99 per bucket",
        y_desc: "latency p99 (ms)",
        solid: "latency_ms_p99",
        dashed: None,
    },
    Panel {
        title: "Requests waiting for a connection (max per bucket)",
        y_desc: "waiting (requests)",
        solid: "db_pool_waiting_requests_max",
        dashed: None,
    },
    Panel { title: "503 responses per bucket", y_desc: "503s per bucket", solid: "timed_out", dashed: None },
    Panel {
        title: "Database connections: open (solid) against usable limit (dashed)",
        y_desc: "connections",
        solid: "db_connections_open",
        dashed: Some("db_connections_usable"),
    },
];

/// `(mid time, value)` per column of one run's timeline column; `None` where there is no value.
fn column(r: &RunResult, name: &str) -> Vec<Option<(f64, f64)>> {
    let b = if r.meta.bucket_s.is_finite() && r.meta.bucket_s > 0.0 { r.meta.bucket_s } else { 1.0 };
    let per = r.timeline.len().div_ceil(MAX_COLUMNS).max(1);
    r.timeline
        .chunks(per)
        .map(|c: &[Bucket]| {
            let v = c.iter().filter_map(|k| k.value(name)).filter(|v| v.is_finite()).reduce(f64::max)?;
            let mid = (c[0].t_s + c[c.len() - 1].t_s + b) / 2.0;
            mid.is_finite().then_some((mid, v))
        })
        .collect()
}

/// [`overlay`] as PNG.
pub fn overlay_png(runs: &[RunResult], names: &[String]) -> Result<Vec<u8>, PlotError> {
    overlay(runs, names, Format::Png)
}

/// The overlay of every run's timeline; `names[i]` labels `runs[i]`.
pub fn overlay(runs: &[RunResult], names: &[String], format: Format) -> Result<Vec<u8>, PlotError> {
    let has = |col: &str| runs.iter().any(|r| r.timeline.iter().any(|b| b.value(col).is_some()));
    let panels: Vec<&Panel> = PANELS.iter().filter(|p| has(p.solid)).collect();
    let t_end = runs
        .iter()
        .filter_map(|r| r.timeline.last().map(|b| b.t_s + r.meta.bucket_s))
        .filter(|t| t.is_finite())
        .fold(0.0, f64::max);
    let x = (0.0, if t_end > 0.0 { t_end } else { 1.0 });
    let marks = Marks::new(runs.iter().flat_map(|r| &r.annotations), x);
    // The lane adds to the figure's height, so that every panel keeps its own.
    let lane = annotate::lane(&marks, x, plot_columns(WIDTH), annotate::MAX_ROWS);
    let h = HEAD_H + lane.height() + PANEL_H * panels.len().max(1) as u32;
    png(WIDTH, h, format, |root| {
        let (head, body) = root.split_vertically(HEAD_H);
        draw_head(&head, names, runs.first().map_or(0, |r| r.meta.seed))?;
        let (first, rest) = body.split_vertically(PANEL_H + lane.height());
        let areas = rest.split_evenly((panels.len().saturating_sub(1).max(1), 1));
        for (i, p) in panels.iter().enumerate() {
            let (area, lane) = if i == 0 { (&first, Some(&lane)) } else { (&areas[i - 1], None) };
            draw_panel(area, p, runs, x, &marks, lane)?;
        }
        Ok(())
    })
}

/// The pixel columns of a panel's plot on an area `w` px wide.
fn plot_columns(w: u32) -> (i32, i32) {
    ((MARGIN + Y_AREA) as i32, (w - MARGIN) as i32)
}

fn draw_head(area: &Area, names: &[String], seed: u64) -> Result<(), PlotError> {
    let t = (FONT, 20, FontStyle::Bold).into_text_style(area).color(&INK).pos(Pos::new(HPos::Left, VPos::Top));
    area.draw_text(&format!("Comparison under identical traffic (seed {seed})"), &t, (20, 10))?;
    let f = font(15, FontStyle::Normal);
    let style = f.clone().color(&INK).pos(Pos::new(HPos::Left, VPos::Center));
    let w = area.dim_in_pixel().0 as i32;
    let mut x = 20;
    for (i, n) in names.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        area.draw(&Rectangle::new([(x, 52), (x + 28, 62)], c.filled()))?;
        // At most 360 px a name, and never past the figure's edge.
        let shown = ellipsize(n, &f, (w - 20 - x - 36).clamp(0, 360) as u32);
        area.draw_text(&shown, &style, (x + 36, 57))?;
        x += 36 + width(&shown, &f) as i32 + 30;
    }
    Ok(())
}

/// One panel: its title, the annotations' lane when given one, the runs' series and the
/// annotations' lines.
fn draw_panel(
    area: &Area,
    p: &Panel,
    runs: &[RunResult],
    x: (f64, f64),
    marks: &Marks,
    lane: Option<&Lane>,
) -> Result<(), PlotError> {
    let solid: Vec<_> = runs.iter().map(|r| column(r, p.solid)).collect();
    let dashed: Vec<_> = runs.iter().map(|r| p.dashed.map(|d| column(r, d)).unwrap_or_default()).collect();
    let (y0, y1) = y_range(solid.iter().chain(&dashed).flatten().flatten().map(|v| v.1));
    let (caption, rest) = area.split_vertically(CAPTION_H);
    let title = font(16, FontStyle::Bold);
    let w = area.dim_in_pixel().0;
    let text = ellipsize(p.title, &title, w.saturating_sub(2 * MARGIN));
    let centre = (w / 2) as i32;
    caption.draw_text(&text, &title.color(&INK).pos(Pos::new(HPos::Center, VPos::Center)), (centre, 16))?;
    let lane_h = lane.map_or(0, Lane::height);
    let (_, body) = rest.split_vertically(lane_h);
    // The panels' own time axis (the one the run's figures use), so that the annotations' lines,
    // placed with it, sit exactly on the data's times.
    let xs =
        Axis { lo: x.0, hi: x.1, log: false, bold: ticks(x.0, x.1, nice_step((x.1 - x.0) / 10.0)), light: Vec::new() };
    let mut chart = ChartBuilder::on(&body)
        .margin(MARGIN)
        .margin_top(4)
        .x_label_area_size(40)
        .y_label_area_size(Y_AREA)
        .build_cartesian_2d(xs, y0..y1)?;
    let f = |v: &f64| label(*v);
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(p.y_desc)
        .x_label_formatter(&f)
        .y_label_formatter(&f)
        .label_style((FONT, 13).into_font().color(&INK))
        .axis_desc_style((FONT, 14).into_font().color(&INK))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(242, 242, 242))
        .axis_style(MUTED)
        .draw()?;
    for (i, (s, d)) in solid.iter().zip(&dashed).enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        for run in s.split(Option::is_none) {
            let pts: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
            match pts.len() {
                0 => {}
                1 => {
                    chart.draw_series(std::iter::once(Circle::new(pts[0], 3, c.filled())))?;
                }
                _ => {
                    chart.draw_series(std::iter::once(PathElement::new(pts, c.stroke_width(2))))?;
                }
            }
        }
        for run in d.split(Option::is_none) {
            let pts: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
            if pts.len() > 1 {
                chart.draw_series(DashedLineSeries::new(pts, 8, 5, c.stroke_width(2)))?;
            }
        }
    }
    let base = area.get_base_pixel();
    let (px, py) = chart.plotting_area().get_pixel_range();
    let (plot_x, plot_y) = ((px.start - base.0, px.end - base.0), (py.start - base.1, py.end - base.1));
    let relaid;
    let lane = match lane {
        Some(l) if plot_x != plot_columns(w) => {
            relaid = annotate::lane(marks, x, plot_x, l.rows);
            Some(&relaid)
        }
        other => other,
    };
    let lane_bottom = (CAPTION_H + lane_h) as i32;
    annotate::draw(area, marks, x, (plot_x, plot_y), lane.map(|l| (l, lane_bottom)), annotate::Ground::Light)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::AnnotationKind;

    /// The runs share the scenario's events: each mark is one line and one label, whichever
    /// runs carry it.
    #[test]
    fn the_runs_marks_are_drawn_once_above_the_top_panel() {
        let a = super::super::tests::annotated(300);
        let mut b = a.clone();
        b.annotations.retain(|m| m.kind == AnnotationKind::Event);
        let (runs, names) = ([a, b], ["dual".to_string(), "shared".to_string()]);
        let svg = overlay(&runs, &names, Format::Svg).unwrap();
        assert_eq!(svg, overlay(&runs, &names, Format::Svg).unwrap());
        let texts = super::super::tests::svg_texts(&svg);
        assert_eq!(texts.iter().filter(|t| *t == "request.hold = 100ms").count(), 1, "{texts:?}");
        assert!(texts.iter().any(|t| t == "RequestsWaiting firing ×15"), "{texts:?}");
        assert_eq!(overlay_png(&runs, &names).unwrap(), overlay_png(&runs, &names).unwrap());
    }
}
