//! Annotations on timeline figures, as Grafana draws them: a thin dashed vertical line per mark
//! across every panel (the scenario's timed events in indigo, alerts firing in red, resolved in
//! green), and a short label per line in a lane above the top panel's plot.
//!
//! Why a lane and not labels inside the plot: the lane is outside the data, so a label never
//! hides a curve, and it sits right above the lines, so a label is read next to its line (a
//! numbered legend below the plot would make the reader look up every number). Stacked panels
//! share the time axis, so the lane is drawn once, above the top panel; the panels below carry
//! the lines only.
//!
//! How labels are placed (all in [`lay_out`], pure and tested):
//! - Identical marks (same time, label and kind) are one mark: `sim compare` unites the runs'
//!   marks, which share the scenario's events.
//! - A label repeated closer to its previous occurrence than the label is wide (an alert that
//!   flips every scrape) is folded into the run of its repeats: one label at the first,
//!   `RequestsWaiting firing ×15`, and a line for each. Thirty flips of one alert are two labels
//!   (firing, resolved), not thirty.
//! - A label starts just right of its line, or ends just left of it, in the lowest row (nearest
//!   the plot) where it overlaps no other label; close marks thus stagger into rows. Labels are
//!   placed events first (the story of the run), then firings, then resolutions, each in time
//!   order. At most `MAX_ROWS` rows: a label with no room left is not
//!   drawn, its line is, and the lane ends with `+N more` (N marks without a label).
//! - A label is cut to at most `MAX_LABEL_SHARE` of the plot's width, with an ellipsis, never
//!   mid-glyph (widths are measured with the font).
//!
//! Marks outside the plotted time range are skipped; lines at the same pixel and kind are drawn
//! once, so a figure costs at most a few lines per pixel column however many marks there are.

use std::collections::BTreeSet;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::text::{ellipsize, font, width};
use super::{Area, PlotError};
use crate::result::{Annotation, AnnotationKind};

/// Rows of labels at most.
pub(crate) const MAX_ROWS: usize = 3;
/// Height of a row of labels, px.
const ROW_H: i32 = 18;
/// Space below the lowest row (the panel's chart adds its own top margin), px.
const LANE_PAD: i32 = 2;
/// Label font size, px.
const LABEL_PX: u32 = 13;
/// Gap between a line and its label, and least gap between two labels of a row, px.
const PAD: i32 = 4;
const GAP: i32 = 10;
/// A label is at most this share of the plot's width.
const MAX_LABEL_SHARE: f64 = 0.4;
/// Dash and gap of the lines, px: finer than the series' dashes, so a mark is not read as a limit.
const DASH: (i32, i32) = (4, 4);

/// Tol's indigo: dark, and unlike any series colour of the figures.
const EVENT: RGBColor = RGBColor(51, 34, 136);
/// Red for an alert firing, as Grafana's alerting annotations.
const FIRING: RGBColor = RGBColor(200, 30, 45);
/// Green for an alert resolved.
const RESOLVED: RGBColor = RGBColor(17, 119, 51);

/// The colour of a mark's line and label.
fn colour(kind: AnnotationKind) -> RGBColor {
    match kind {
        AnnotationKind::Event => EVENT,
        AnnotationKind::AlertFiring => FIRING,
        AnnotationKind::AlertResolved => RESOLVED,
    }
}

/// Order in which labels get room: the scenario's events, then firings, then resolutions.
fn priority(kind: AnnotationKind) -> u8 {
    match kind {
        AnnotationKind::Event => 0,
        AnnotationKind::AlertFiring => 1,
        AnnotationKind::AlertResolved => 2,
    }
}

/// One mark on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mark {
    pub(crate) t_s: f64,
    pub(crate) label: String,
    pub(crate) kind: AnnotationKind,
}

/// The marks a figure draws: those inside its time range, identical ones merged, by time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Marks(pub(crate) Vec<Mark>);

impl Marks {
    /// The annotations with a time in `[x.0, x.1]` (the figure's time axis).
    pub(crate) fn new<'a>(annotations: impl IntoIterator<Item = &'a Annotation>, x: (f64, f64)) -> Marks {
        let mut marks: Vec<Mark> = annotations
            .into_iter()
            .filter(|a| a.t_s.is_finite() && a.t_s >= x.0 && a.t_s <= x.1)
            .map(|a| Mark { t_s: a.t_s, label: a.label.clone(), kind: a.kind })
            .collect();
        marks.sort_by(|a, b| {
            a.t_s.total_cmp(&b.t_s).then(priority(a.kind).cmp(&priority(b.kind))).then(a.label.cmp(&b.label))
        });
        marks.dedup();
        Marks(marks)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A label in the lane.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    /// The line it names (the first of those it folds), px.
    pub(crate) x: i32,
    /// Left end of the text, px.
    pub(crate) left: i32,
    pub(crate) width: i32,
    /// 0 is the row nearest the plot.
    pub(crate) row: usize,
    pub(crate) text: String,
    pub(crate) kind: AnnotationKind,
}

/// The labels of a lane, and what did not fit.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Lane {
    pub(crate) labels: Vec<Placed>,
    /// Rows in use (0 when there is nothing to label).
    pub(crate) rows: usize,
    /// Marks whose label found no room, and where `+N more` goes (left end, row).
    pub(crate) more: usize,
    pub(crate) more_at: Option<(i32, usize)>,
}

impl Lane {
    /// Height of the lane, px (0 without labels).
    pub(crate) fn height(&self) -> u32 {
        if self.rows == 0 { 0 } else { (self.rows as i32 * ROW_H + LANE_PAD) as u32 }
    }

    /// The text at the lane's end when some marks have no label.
    pub(crate) fn more_text(n: usize) -> String {
        format!("+{n} more")
    }
}

/// A run of marks of one label, named by one label at its first.
struct Group {
    first: usize,
    x: i32,
    marks: usize,
    label: String,
    kind: AnnotationKind,
}

/// Places the marks' labels above a plot that spans `plot` px; `px` maps a time to its pixel
/// column, `cut(text, max_w)` fits a text to a width and gives its width (with the font, in
/// figures; a fixed advance in tests).
pub(crate) fn lay_out(
    marks: &Marks,
    px: impl Fn(f64) -> i32,
    plot: (i32, i32),
    max_rows: usize,
    cut: impl Fn(&str, i32) -> (String, i32),
) -> Lane {
    let max_w = ((f64::from(plot.1 - plot.0) * MAX_LABEL_SHARE) as i32).max(0);
    // Fold repeats: a mark joins the latest group of its label while it is closer to the
    // group's last mark than the label is wide (its own label could not stand beside the last).
    let mut groups: Vec<Group> = Vec::new();
    let mut open: Vec<(usize, i32)> = Vec::new(); // (group, how far its last mark's label would reach)
    for (i, m) in marks.0.iter().enumerate() {
        let x = px(m.t_s);
        let reach = x + PAD + cut(&m.label, max_w).1;
        let same = open.iter().rposition(|&(g, _)| groups[g].label == m.label && groups[g].kind == m.kind);
        match same {
            Some(k) if x <= open[k].1 => {
                groups[open[k].0].marks += 1;
                open[k].1 = reach;
            }
            _ => {
                groups.push(Group { first: i, x, marks: 1, label: m.label.clone(), kind: m.kind });
                if let Some(k) = same {
                    open.remove(k);
                }
                open.push((groups.len() - 1, reach));
            }
        }
    }
    let texts: Vec<(String, i32)> = groups
        .iter()
        .map(|g| {
            let text = if g.marks > 1 { format!("{} ×{}", g.label, g.marks) } else { g.label.clone() };
            cut(&text, max_w)
        })
        .collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&g| (priority(groups[g].kind), groups[g].first));

    let place = |reserved: Option<(i32, i32, usize)>| {
        let mut rows: Vec<Vec<(i32, i32)>> = vec![Vec::new(); max_rows];
        if let Some((l, r, row)) = reserved {
            rows[row].push((l, r));
        }
        let mut placed = Vec::new();
        let mut more = 0;
        for &g in &order {
            let (text, w) = &texts[g];
            let x = groups[g].x;
            let (w, text) = (*w, text.clone());
            // Right of the line, or left of it; never past the plot's ends.
            let (right, left) = (x + PAD, x - PAD - w);
            let sides: Vec<i32> = match (right + w <= plot.1, left >= plot.0) {
                (true, true) => vec![right, left],
                (true, false) => vec![right],
                (false, true) => vec![left],
                // Wider than either side (a plot narrower than the labels): from the plot's start.
                (false, false) => vec![plot.0],
            };
            // The lowest row first, right of the line then left of it: a label ending at its line
            // (a gap of `PAD` from it, `GAP` at least from any other) reads as well as one
            // starting there, and more labels find room than if every row were tried on the
            // right first.
            let free = |row: usize, l: i32| rows[row].iter().all(|&(a, b)| l + w + GAP <= a || b + GAP <= l);
            let spot = (0..max_rows)
                .flat_map(|row| sides.iter().map(move |&l| (row, l)))
                .find(|&(row, l)| !text.is_empty() && free(row, l));
            match spot {
                Some((row, l)) => {
                    rows[row].push((l, l + w));
                    placed.push(Placed { x, left: l, width: w, row, text, kind: groups[g].kind });
                }
                None => more += groups[g].marks,
            }
        }
        (placed, more)
    };
    if max_rows == 0 || groups.is_empty() {
        return Lane { more: marks.0.len(), ..Lane::default() };
    }
    let (mut labels, mut more) = place(None);
    let mut more_at = None;
    if more > 0 {
        // Room for "+N more" at the right end of the top row (N's digits at their widest).
        let (_, w) = cut(&Lane::more_text(marks.0.len()), plot.1 - plot.0);
        let spot = (plot.1 - w, max_rows - 1);
        (labels, more) = place(Some((spot.0, plot.1, spot.1)));
        more_at = Some(spot);
    }
    labels.sort_by_key(|p| (p.x, p.row));
    let rows = labels.iter().map(|p| p.row + 1).chain(more_at.map(|m| m.1 + 1)).max().unwrap_or(0);
    Lane { labels, rows, more, more_at }
}

/// Maps a time to the pixel column of a plot spanning `plot` px for the times `x`, exactly as
/// the panels' time axis does (`Axis::map`).
pub(crate) fn column(x: (f64, f64), plot: (i32, i32)) -> impl Fn(f64) -> i32 {
    move |t| {
        let f = (t - x.0) / (x.1 - x.0);
        (f64::from(plot.0) + f * f64::from(plot.1 - plot.0)).round() as i32
    }
}

/// The lane of a plot spanning `plot` px (relative to the area it is drawn on), with the labels'
/// font.
pub(crate) fn lane(marks: &Marks, x: (f64, f64), plot: (i32, i32), max_rows: usize) -> Lane {
    let f = font(LABEL_PX, FontStyle::Normal);
    let cut = |text: &str, max_w: i32| {
        let s = ellipsize(text, &f, max_w.max(0) as u32);
        let w = width(&s, &f) as i32;
        (s, w)
    };
    lay_out(marks, column(x, plot), plot, max_rows, cut)
}

/// How the lines stand out from what is under them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ground {
    /// Curves on white: the dashed line alone.
    Light,
    /// A heat map's dark cells: the dashed line over a white halo, or dark red would hide red.
    Dark,
}

/// Draws the marks' lines across a plot (`plot_x`, `plot_y`: its pixel ranges on `area`), and,
/// given a lane whose bottom is at `lane_bottom`, the labels above it with their lines reaching
/// up to them.
pub(crate) fn draw(
    area: &Area,
    marks: &Marks,
    x: (f64, f64),
    (plot_x, plot_y): ((i32, i32), (i32, i32)),
    lane: Option<(&Lane, i32)>,
    ground: Ground,
) -> Result<(), PlotError> {
    let px = column(x, plot_x);
    let row_mid = |bottom: i32, row: usize| bottom - LANE_PAD - row as i32 * ROW_H - ROW_H / 2;
    // The labelled line of each label reaches up to its row.
    let tops: Vec<(i32, AnnotationKind, i32)> = lane
        .map(|(l, bottom)| l.labels.iter().map(|p| (p.x, p.kind, row_mid(bottom, p.row) - 5)).collect())
        .unwrap_or_default();
    // Pixel columns drawn, per kind: at most a few lines per column however many marks.
    let mut drawn: BTreeSet<(i32, u8)> = BTreeSet::new();
    // Events last, on top: at the same time as an alert, the scenario's change is the story.
    let mut order: Vec<&Mark> = marks.0.iter().collect();
    order.sort_by_key(|m| std::cmp::Reverse(priority(m.kind)));
    for m in order {
        let c = px(m.t_s);
        if !drawn.insert((c, priority(m.kind))) {
            continue;
        }
        let top = tops.iter().filter(|t| t.0 == c && t.1 == m.kind).map(|t| t.2).min().unwrap_or(plot_y.0);
        if ground == Ground::Dark {
            let halo = WHITE.mix(0.8).stroke_width(3);
            area.draw(&PathElement::new(vec![(c, plot_y.0), (c, plot_y.1)], halo))?;
        }
        let style = colour(m.kind).mix(if ground == Ground::Dark { 1.0 } else { 0.8 }).stroke_width(1);
        for dash in DashedLineSeries::new([(c, top), (c, plot_y.1)], DASH.0, DASH.1, style) {
            area.draw(&dash)?;
        }
    }
    let Some((lane, bottom)) = lane else { return Ok(()) };
    let f = font(LABEL_PX, FontStyle::Normal);
    for p in &lane.labels {
        let y = row_mid(bottom, p.row);
        // A white ground, so a line of another mark crossing the row does not strike the text.
        area.draw(&Rectangle::new(
            [(p.left - 2, y - ROW_H / 2 + 2), (p.left + p.width + 2, y + ROW_H / 2 - 1)],
            WHITE.mix(0.9).filled(),
        ))?;
        let style = f.clone().color(&colour(p.kind)).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw_text(&p.text, &style, (p.left, y))?;
    }
    if let (Some((left, row)), true) = (lane.more_at, lane.more > 0) {
        let style = f.color(&super::MUTED).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw_text(&Lane::more_text(lane.more), &style, (left, row_mid(bottom, row)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 7 px per character, cut by characters: the layout without a font.
    fn mono(text: &str, max_w: i32) -> (String, i32) {
        let n = text.chars().count() as i32;
        if n * 7 <= max_w {
            return (text.to_string(), n * 7);
        }
        let keep = (max_w / 7 - 1).max(0) as usize;
        let s: String = text.chars().take(keep).chain(['…']).collect();
        let w = s.chars().count() as i32 * 7;
        (s, w)
    }

    fn mark(t_s: f64, label: &str, kind: AnnotationKind) -> Annotation {
        Annotation { t_s, label: label.into(), kind }
    }

    /// A plot 1000 px wide from x = 100, over 0..1000 s: one pixel per second.
    fn lay(anns: &[Annotation], rows: usize) -> Lane {
        let marks = Marks::new(anns, (0.0, 1000.0));
        lay_out(&marks, column((0.0, 1000.0), (100, 1100)), (100, 1100), rows, mono)
    }

    #[test]
    fn far_apart_labels_share_the_row_nearest_the_plot() {
        let l = lay(&[mark(100.0, "deploy", AnnotationKind::Event), mark(600.0, "rollback", AnnotationKind::Event)], 3);
        assert_eq!(l.rows, 1);
        assert_eq!(l.labels.iter().map(|p| (p.x, p.left, p.row)).collect::<Vec<_>>(), [(200, 204, 0), (700, 704, 0)]);
        assert_eq!((l.more, l.more_at), (0, None));
    }

    #[test]
    fn close_labels_stagger_into_rows_without_overlapping() {
        let anns: Vec<Annotation> =
            (0..3).map(|i| mark(100.0 + 5.0 * f64::from(i), &format!("event {i}"), AnnotationKind::Event)).collect();
        let l = lay(&anns, 3);
        assert_eq!(l.rows, 3);
        assert_eq!(l.labels.iter().map(|p| p.row).collect::<Vec<_>>(), [0, 1, 2]);
        for a in &l.labels {
            for b in l.labels.iter().filter(|b| b.row == a.row && *b != a) {
                assert!(a.left + a.width + GAP <= b.left || b.left + b.width + GAP <= a.left, "{a:?} {b:?}");
            }
        }
        // A fourth has no row left: its line stays, its label is counted.
        let mut four = anns.clone();
        four.push(mark(112.0, "event 3", AnnotationKind::Event));
        let l = lay(&four, 3);
        assert_eq!((l.labels.len(), l.more), (3, 1));
        let (left, row) = l.more_at.unwrap();
        assert_eq!((row, left + mono("+4 more", 1000).1), (2, 1100));
    }

    #[test]
    fn events_get_room_before_alerts() {
        let anns = [
            mark(100.0, "PoolWaiting firing", AnnotationKind::AlertFiring),
            mark(101.0, "deploy", AnnotationKind::Event),
        ];
        let l = lay(&anns, 1);
        assert_eq!(l.labels.len(), 1);
        assert_eq!((l.labels[0].text.as_str(), l.more), ("deploy", 1));
    }

    #[test]
    fn labels_near_the_right_edge_end_at_their_line_and_long_ones_are_cut() {
        let l = lay(&[mark(990.0, "kill_connections 240 of analytics", AnnotationKind::Event)], 3);
        let p = &l.labels[0];
        assert_eq!(p.left + p.width, 1090 - PAD);
        let long = "x".repeat(200);
        let l = lay(&[mark(0.0, &long, AnnotationKind::Event)], 3);
        let p = &l.labels[0];
        assert!(p.text.ends_with('…') && p.width <= 400, "{p:?}");
        assert!(p.left >= 100 && p.left + p.width <= 1100);
    }

    #[test]
    fn identical_marks_merge_and_flips_fold_into_one_label() {
        let same = [mark(50.0, "deploy", AnnotationKind::Event), mark(50.0, "deploy", AnnotationKind::Event)];
        assert_eq!(Marks::new(&same, (0.0, 1000.0)).0.len(), 1);
        // An alert flipping every 15 s for 450 s: 30 flips, two labels.
        let flips: Vec<Annotation> = (0..30)
            .map(|i| {
                let (label, kind) = if i % 2 == 0 {
                    ("RequestsWaiting firing", AnnotationKind::AlertFiring)
                } else {
                    ("RequestsWaiting resolved", AnnotationKind::AlertResolved)
                };
                mark(100.0 + 15.0 * f64::from(i), label, kind)
            })
            .collect();
        let l = lay(&flips, 3);
        let texts: Vec<&str> = l.labels.iter().map(|p| p.text.as_str()).collect();
        assert!(texts.iter().all(|t| t.contains(" ×")), "{texts:?}");
        let counted: usize =
            texts.iter().map(|t| t.rsplit('×').next().unwrap().parse::<usize>().unwrap()).sum::<usize>() + l.more;
        assert_eq!(counted, 30, "{texts:?}");
        assert_eq!(
            (texts.as_slice(), l.more),
            (["RequestsWaiting firing ×15", "RequestsWaiting resolved ×15"].as_slice(), 0)
        );
    }

    #[test]
    fn marks_outside_the_plotted_range_are_skipped() {
        let anns = [
            mark(-1.0, "before", AnnotationKind::Event),
            mark(0.0, "start", AnnotationKind::Event),
            mark(1000.0, "end", AnnotationKind::AlertResolved),
            mark(1000.5, "after", AnnotationKind::Event),
            mark(f64::NAN, "nan", AnnotationKind::Event),
        ];
        let marks = Marks::new(&anns, (0.0, 1000.0));
        assert_eq!(marks.0.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["start", "end"]);
        assert!(Marks::new(&anns, (2000.0, 3000.0)).is_empty());
        assert_eq!(lay(&[], 3), Lane::default());
    }
}
