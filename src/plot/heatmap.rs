//! Heatmaps of a two-key sweep: one cell per grid point, coloured by a figure's mean, with a
//! labelled colour bar. The first swept key runs along x, the second along y.
//!
//! Invariants: cells are placed by value index (so uneven lists such as `5,10,20` get equal
//! cells and every tick names a value exactly as given); points missing from the table (a shard)
//! or without the figure are drawn grey and named in the legend; the colour scale is viridis
//! (perceptually uniform, colour-blind safe, readable in greyscale); deterministic bytes.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::sweep::{FONT, INK, MUTED, draw_title, label, png};
use super::{Format, PlotError};
use crate::result::Table;
use crate::scenario::grid::Axis;

/// Viridis at 9 evenly spaced stops.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];
const MISSING: RGBColor = RGBColor(200, 200, 200);

/// The viridis colour at `t` in [0, 1] (clamped), linearly interpolated between stops.
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// [`heatmap`] as PNG.
pub fn heatmap_png(t: &Table, x: &Axis, y: &Axis, figure: &str, scenario: &str) -> Result<Vec<u8>, PlotError> {
    heatmap(t, x, y, figure, scenario, Format::Png)
}

/// Heatmap of `figure` over the first two keys of a sweep (`x` = first key, `y` = second).
pub fn heatmap(
    t: &Table,
    x: &Axis,
    y: &Axis,
    figure: &str,
    scenario: &str,
    format: Format,
) -> Result<Vec<u8>, PlotError> {
    let (nx, ny) = (x.values.len(), y.values.len());
    let col = t.figure(figure);
    // grid[i][j]: value at x index i, y index j; point index = i * ny + j (first key slowest).
    let mut grid: Vec<Vec<Option<f64>>> = vec![vec![None; ny]; nx];
    for r in &t.rows {
        let (i, j) = (r.point / ny.max(1), r.point % ny.max(1));
        if let (Some(c), true) = (col, i < nx) {
            grid[i][j] = r.cells.get(c).copied().flatten().map(|e| e.mean).filter(|v| v.is_finite());
        }
    }
    let vals: Vec<f64> = grid.iter().flatten().flatten().copied().collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        (lo, lo + lo.abs().max(1.0) * 1e-9)
    };
    let any_missing = grid.iter().flatten().any(Option::is_none);
    let reps = if t.replications > 1 {
        format!("mean of {} replications per cell", t.replications)
    } else {
        "one run per cell".into()
    };
    let subtitle = format!("{scenario}: {reps}; colour scale from {} to {}", label(lo), label(hi));
    let tick = |a: &Axis, v: f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            a.values.get(i as usize).map(|v| v.text.clone()).unwrap_or_default()
        } else {
            String::new()
        }
    };
    png(1100, 760, format, |root| {
        let (head, body) = root.split_vertically(64);
        draw_title(&head, &format!("{figure} over {} × {}", x.key, y.key), &subtitle)?;
        let (main, bar) = body.split_horizontally(960);
        let mut chart = ChartBuilder::on(&main)
            .margin(16)
            .x_label_area_size(70)
            .y_label_area_size(100)
            .build_cartesian_2d(-0.5..nx as f64 - 0.5, -0.5..ny as f64 - 0.5)?;
        let (xf, yf) = (|v: &f64| tick(x, *v), |v: &f64| tick(y, *v));
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x.label())
            .y_desc(y.label())
            .x_labels(nx.min(16))
            .y_labels(ny.min(20))
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .label_style((FONT, 13).into_font().color(&INK))
            .axis_desc_style((FONT, 15).into_font().color(&INK))
            .draw()?;
        let cells = (0..nx).flat_map(|i| (0..ny).map(move |j| (i, j))).map(|(i, j)| {
            let colour = grid[i][j].map_or(MISSING, |v| viridis((v - lo) / (hi - lo)));
            let (cx, cy) = (i as f64, j as f64);
            Rectangle::new([(cx - 0.5, cy - 0.5), (cx + 0.5, cy + 0.5)], colour.filled())
        });
        chart.draw_series(cells)?;
        // Values in the cells when they are large enough to read.
        if nx <= 12 && ny <= 12 {
            let pos = Pos::new(HPos::Center, VPos::Center);
            let (light, dark) =
                ((FONT, 13).into_font().color(&WHITE).pos(pos), (FONT, 13).into_font().color(&INK).pos(pos));
            let texts = (0..nx).flat_map(|i| (0..ny).map(move |j| (i, j))).filter_map(|(i, j)| {
                let v = grid[i][j]?;
                // Light text on the dark (low) end of viridis, dark text on the bright end.
                let style = if (v - lo) / (hi - lo) < 0.6 { light.clone() } else { dark.clone() };
                Some(Text::new(label(v), (i as f64, j as f64), style))
            });
            chart.draw_series(texts)?;
        }
        draw_colour_bar(&bar, lo, hi, figure, any_missing)
    })
}

/// A vertical colour bar with ticks, the figure's name and, if needed, the "no data" swatch.
fn draw_colour_bar(area: &super::sweep::Area, lo: f64, hi: f64, figure: &str, missing: bool) -> Result<(), PlotError> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(16)
        .margin_bottom(86)
        .margin_right(8)
        .y_label_area_size(0)
        .right_y_label_area_size(64)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    let yf = |v: &f64| label(*v);
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(8)
        .y_label_formatter(&yf)
        .label_style((FONT, 12).into_font().color(&INK))
        .draw()?;
    let steps = 200;
    let strips = (0..steps).map(|k| {
        let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
        let (ya, yb) = (lo + (hi - lo) * a, lo + (hi - lo) * b);
        Rectangle::new([(0.0, ya), (1.0, yb)], viridis((a + b) / 2.0).filled())
    });
    chart.draw_series(strips)?;
    chart.draw_series(std::iter::once(Rectangle::new([(0.0, lo), (1.0, hi)], MUTED.stroke_width(1))))?;
    let (w, h) = area.dim_in_pixel();
    let style = (FONT, 12).into_font().color(&INK).pos(Pos::new(HPos::Center, VPos::Top));
    // The figure's full path (its unit is in the name), one dotted segment per line.
    for (k, part) in figure.split('.').take(3).enumerate() {
        area.draw_text(part, &style, (w as i32 / 2, h as i32 - 80 + 14 * k as i32))?;
    }
    if missing {
        let y = h as i32 - 34;
        area.draw(&Rectangle::new([(8, y), (26, y + 14)], MISSING.filled()))?;
        let s = (FONT, 12).into_font().color(&MUTED).pos(Pos::new(HPos::Left, VPos::Top));
        area.draw_text("no data", &s, (32, y))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Estimate, Row};
    use crate::scenario::grid;

    #[test]
    fn viridis_ends_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }

    #[test]
    fn heatmaps_render_full_partial_and_constant_grids() {
        let x = grid::parse_set("pool.max_size=1..4:1").unwrap();
        let y = grid::parse_set("request.hold.value=100ms,1s,2s").unwrap();
        let rows = |keep: &dyn Fn(usize) -> bool, v: &dyn Fn(usize) -> f64| -> Vec<Row> {
            (0..12)
                .filter(|i| keep(*i))
                .map(|i| Row { point: i, values: vec![], cells: vec![Estimate::of(&[v(i)])] })
                .collect()
        };
        let table =
            |rows| Table { keys: vec![], figures: vec!["requests.timed_out_rate".into()], replications: 1, rows };
        for t in [
            table(rows(&|_| true, &|i| i as f64 / 11.0)),
            table(rows(&|i| i % 2 == 0, &|i| i as f64)),
            table(rows(&|_| true, &|_| 0.0)),
            table(vec![]),
        ] {
            let png = heatmap_png(&t, &x, &y, "requests.timed_out_rate", "lab").unwrap();
            assert_eq!(&png[1..4], b"PNG");
            assert_eq!(png, heatmap_png(&t, &x, &y, "requests.timed_out_rate", "lab").unwrap());
        }
    }
}
