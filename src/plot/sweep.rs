//! Line plots of a one-key sweep: one figure per metric, its mean against the swept value, with
//! the 95% confidence band when the sweep was replicated. Also the small drawing helpers shared
//! by the heatmaps and the comparison overlay (number labels, titles, ranges).
//!
//! Invariants: drawn from a [`Table`] only; deterministic (embedded font, no clock); total (empty
//! or non-finite data gives a figure saying "no data", never a panic).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Format, PlotError};
use crate::result::Table;
use crate::scenario::grid::Axis;

pub(crate) const FONT: &str = "sans-serif";
pub(crate) const INK: RGBColor = RGBColor(20, 20, 20);
pub(crate) const MUTED: RGBColor = RGBColor(95, 95, 95);
/// Okabe–Ito colour-blind safe palette, for series.
pub(crate) const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(20, 20, 20),
];

pub(crate) type Area<'a> = DrawingArea<super::Canvas<'a>, Shift>;

/// Renders `draw` into a PNG or SVG: the figure helper of `plot::mod` (one font
/// registration and one encoder for every figure of the crate).
pub(crate) use super::figure as png;

/// A number for an axis label, in the figures' one scheme (`14.6 M`, `1,234`, `0.25`); empty
/// when not finite.
pub(crate) fn label(v: f64) -> String {
    if v.is_finite() { super::text::fmt_num(v) } else { String::new() }
}

/// `(lo, hi)` widened when degenerate, with 5% headroom above, from 0 when all values are ≥ 0.
pub(crate) fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo >= 0.0 {
        lo = 0.0;
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        hi = lo + hi.abs().max(1.0);
    }
    (lo, hi + (hi - lo) * 0.05)
}

/// A title row: bold title left, subtitle below.
pub(crate) fn draw_title(area: &Area, title: &str, subtitle: &str) -> Result<(), PlotError> {
    let t = (FONT, 20, FontStyle::Bold).into_text_style(area).color(&INK).pos(Pos::new(HPos::Left, VPos::Top));
    area.draw_text(title, &t, (20, 10))?;
    let s = (FONT, 14).into_text_style(area).color(&MUTED).pos(Pos::new(HPos::Left, VPos::Top));
    area.draw_text(subtitle, &s, (20, 36))?;
    Ok(())
}

/// [`line()`] as PNG.
pub fn line_png(
    t: &Table,
    axis: &Axis,
    figure: &str,
    reference: Option<&str>,
    scenario: &str,
) -> Result<Vec<u8>, PlotError> {
    line(t, axis, figure, reference, scenario, Format::Png)
}

/// Line plot of `figure` against the single swept key: mean per point, band for the 95% interval.
/// When the table also has `reference` (e.g. `theory.timed_out_rate`), it is drawn dashed.
pub fn line(
    t: &Table,
    axis: &Axis,
    figure: &str,
    reference: Option<&str>,
    scenario: &str,
    format: Format,
) -> Result<Vec<u8>, PlotError> {
    let col = t.figure(figure);
    let xs = axis.positions();
    let theory: Vec<(f64, f64)> = reference
        .and_then(|r| t.figure(r))
        .map(|c| {
            t.rows
                .iter()
                .filter_map(|r| Some((*xs.get(r.point)?, r.cells.get(c).copied().flatten()?.mean)))
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect()
        })
        .unwrap_or_default();
    // Rows are in point order; with one key, point i is value i (a shard may hold only some).
    let pts: Vec<(f64, f64, f64, f64)> = t
        .rows
        .iter()
        .filter_map(|r| {
            let e = r.cells.get(col?).copied().flatten()?;
            let x = *xs.get(r.point)?;
            (x.is_finite() && e.mean.is_finite()).then(|| (x, e.mean, e.low(), e.high()))
        })
        .collect();
    let (x0, x1) = match (xs.iter().copied().reduce(f64::min), xs.iter().copied().reduce(f64::max)) {
        (Some(a), Some(b)) if b > a => (a - (b - a) * 0.02, b + (b - a) * 0.02),
        (Some(a), _) => (a - 1.0, a + 1.0),
        _ => (0.0, 1.0),
    };
    let (y0, y1) = y_range(pts.iter().flat_map(|p| [p.1, p.2, p.3]).chain(theory.iter().map(|p| p.1)));
    let banded = t.replications > 1;
    let subtitle = if banded {
        format!(
            "{scenario}: mean of {} replications per point, band = 95% confidence interval (Student t)",
            t.replications
        )
    } else {
        format!("{scenario}: one run per point (use --replications for confidence bands)")
    };
    let text_axis = axis.kind() == crate::scenario::grid::Kind::Text;
    png(1000, 600, format, |root| {
        let (head, body) = root.split_vertically(64);
        draw_title(&head, &format!("{figure} against {}", axis.key), &subtitle)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let xfmt = |v: &f64| {
            if text_axis {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    axis.values.get(i as usize).map(|v| v.text.clone()).unwrap_or_default()
                } else {
                    String::new()
                }
            } else {
                label(*v)
            }
        };
        let yfmt = |v: &f64| label(*v);
        chart
            .configure_mesh()
            .x_desc(axis.label())
            .y_desc(figure)
            .x_labels(if text_axis { axis.values.len().min(20) } else { 12 })
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .label_style((FONT, 14).into_font().color(&INK))
            .axis_desc_style((FONT, 15).into_font().color(&INK))
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(RGBColor(240, 240, 240))
            .draw()?;
        if pts.is_empty() {
            let style = (FONT, 18).into_font().color(&MUTED).pos(Pos::new(HPos::Center, VPos::Center));
            chart.draw_series(std::iter::once(Text::new("no data", ((x0 + x1) / 2.0, (y0 + y1) / 2.0), style)))?;
            return Ok(());
        }
        let blue = PALETTE[0];
        if banded {
            let band: Vec<(f64, f64)> =
                pts.iter().map(|p| (p.0, p.3)).chain(pts.iter().rev().map(|p| (p.0, p.2))).collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, blue.mix(0.25).filled())))?
                .label("95% CI")
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], blue.mix(0.25).filled()));
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                blue.stroke_width(2),
            )))?
            .label(if banded { "mean" } else { "value" })
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
        chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 3, blue.filled())))?;
        if theory.len() > 1 {
            let red = PALETTE[1];
            chart
                .draw_series(DashedLineSeries::new(theory.iter().copied(), 8, 5, red.stroke_width(2)))?
                .label(format!("queueing theory ({})", reference.unwrap_or_default()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(170, 170, 170))
            .label_font((FONT, 14).into_font().color(&INK))
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Estimate, Row};
    use crate::scenario::grid;

    fn table(reps: usize, n: usize) -> (Table, Axis) {
        let axis = grid::parse_set("request.hold=100ms,250ms,1s").unwrap();
        let rows = (0..n)
            .map(|i| Row {
                point: i,
                values: vec![axis.values[i].text.clone()],
                cells: vec![Estimate::of(&[i as f64, i as f64 + 1.0, i as f64 * 2.0][..reps])],
            })
            .collect();
        (Table { keys: vec![axis.key.clone()], figures: vec!["latency_ms.p99".into()], replications: reps, rows }, axis)
    }

    #[test]
    fn line_plots_render_deterministically_even_when_empty() {
        for (reps, n) in [(1, 3), (3, 3), (3, 0), (1, 1)] {
            let (t, axis) = table(reps, n);
            let a = line_png(&t, &axis, "latency_ms.p99", Some("latency_ms.p99"), "s").unwrap();
            assert_eq!(&a[1..4], b"PNG");
            assert_eq!(a, line_png(&t, &axis, "latency_ms.p99", Some("latency_ms.p99"), "s").unwrap());
        }
        let (t, axis) = table(1, 3);
        assert!(line_png(&t, &axis, "missing", None, "s").is_ok());
    }

    #[test]
    fn labels_and_ranges() {
        assert_eq!(label(5.0), "5");
        assert_eq!(label(0.25), "0.25");
        assert_eq!(label(1234.56), "1,235");
        assert_eq!(label(14_634_555.0), "14.6 M");
        assert_eq!(label(f64::NAN), "");
        assert_eq!(y_range([3.0, 3.0].into_iter()), (0.0, 3.15));
        assert_eq!(y_range(std::iter::empty()), (0.0, 1.0));
    }
}
