//! Text on figures: numbers written for people, and strings fitted to a width measured with the
//! embedded font.
//!
//! Numbers follow one scheme on every figure (ticks, cards, legends, titles):
//! - below a million, the number itself with thousands separators and about three significant
//!   digits: `0`, `999`, `1,000`, `406,964`, `12.3`, `0.5`, `0.012`;
//! - from a million on, three significant digits and a unit: `1 M`, `1.46 M`, `14.6 M`,
//!   `146 M`, `1.2 G`, then `T`, `P`, `E`; a value that rounds to the next unit takes it
//!   (999,999.7 is `1 M`, not `1,000,000`);
//! - beyond that, and below 0.001, a power of ten: `1.8 × 10³⁰⁸`, `2.5 × 10⁻⁵`; never `1.46e7`.
//!
//! Widths are measured with the font the figure draws with (plotters lays text out with the
//! registered DejaVu Sans, in PNG and SVG alike), so a string cut here is never cut by the edge
//! of its box: it ends whole, with an ellipsis.

use plotters::style::{FontDesc, FontStyle, IntoFont};

use super::FONT;

/// Units of a thousand to the power 2, 3, ... (million, billion, ...).
const UNITS: [&str; 5] = ["M", "G", "T", "P", "E"];

/// A number for a figure label (see the module docs for the scheme); `—` when not finite.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a < 1e-3 {
        return format!("{sign}{}", power_of_ten(a));
    }
    if a < 1e6 {
        let decimals = (2 - a.log10().floor() as i32).clamp(0, 3) as usize;
        let s = trim(format!("{a:.decimals$}"));
        // Rounding may reach a million: then it is written as one.
        if s.parse::<f64>().is_ok_and(|r| r < 1e6) {
            let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
            return format!("{sign}{}{}", group(int), frac.map_or(String::new(), |f| format!(".{f}")));
        }
    }
    let mut exp = ((a.log10().floor() as i32) / 3 * 3).max(6);
    loop {
        let m = a / 10f64.powi(exp);
        let decimals = (2 - m.log10().floor() as i32).clamp(0, 2) as usize;
        let s = trim(format!("{m:.decimals$}"));
        // 999.5 M rounds to "1000": that is 1 G.
        if s.parse::<f64>().is_ok_and(|r| r >= 1000.0) {
            exp += 3;
            continue;
        }
        return match UNITS.get((exp / 3 - 2) as usize) {
            Some(unit) => format!("{sign}{s} {unit}"),
            None => format!("{sign}{}", power_of_ten(a)),
        };
    }
}

/// `m × 10ⁿ` with three significant digits of `m`, for magnitudes no unit covers.
fn power_of_ten(a: f64) -> String {
    let mut exp = a.log10().floor() as i32;
    let mut m = trim(format!("{:.2}", a / 10f64.powi(exp)));
    if m.parse::<f64>().is_ok_and(|r| r >= 10.0) {
        exp += 1;
        m = trim(format!("{:.2}", a / 10f64.powi(exp)));
    }
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits: String = exp.unsigned_abs().to_string().bytes().map(|d| SUP[usize::from(d - b'0')]).collect();
    format!("{m} × 10{}{digits}", if exp < 0 { "⁻" } else { "" })
}

/// Drops trailing zeros of a decimal fraction, and the point when nothing follows it.
fn trim(s: String) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Digits with a comma between each group of three, from the right.
fn group(int: &str) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The figures' font at `size` px and `style`, registered first: a figure may measure its text
/// before it draws (to size its label lane), and a font made before the registration would
/// never find it.
pub(crate) fn font(size: u32, style: FontStyle) -> FontDesc<'static> {
    // A failure shows when the figure is drawn (`figure` registers and reports it).
    let _ = super::ensure_fonts();
    (FONT, size, style).into_font()
}

/// Width of `text` in `font`, px. Should the font be missing, a generous guess, so that fitting
/// errs on the short side.
pub(crate) fn width(text: &str, font: &FontDesc) -> u32 {
    font.box_size(text).map_or_else(|_| (text.chars().count() as f64 * font.get_size() * 0.7) as u32, |s| s.0)
}

/// `text` if it fits in `max_w` px, else its longest beginning that fits with an ellipsis after
/// it (spaces and separators before the ellipsis dropped); empty if not even `…` fits.
pub(crate) fn ellipsize(text: &str, font: &FontDesc, max_w: u32) -> String {
    if width(text, font) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let cut = |n: usize| {
        let head: String = chars[..n].iter().collect();
        format!("{}…", head.trim_end_matches(|c: char| c.is_whitespace() || ",;:·—-".contains(c)))
    };
    // Widths grow with the number of characters kept: the longest that fits, by bisection.
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if width(&cut(mid), font) <= max_w { lo = mid } else { hi = mid - 1 }
    }
    let s = cut(lo);
    if width(&s, font) <= max_w { s } else { String::new() }
}

/// The largest of `sizes` (px, largest first) at which `text` fits in `max_w`, and the text;
/// at the smallest size, the text ellipsized to fit.
pub(crate) fn fit(text: &str, max_w: u32, sizes: &[u32], style: FontStyle) -> (String, u32) {
    for &size in sizes {
        if width(text, &font(size, style)) <= max_w {
            return (text.to_string(), size);
        }
    }
    let size = sizes.last().copied().unwrap_or(12);
    (ellipsize(text, &font(size, style), max_w), size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        let cases = [
            (0.0, "0"),
            (999.0, "999"),
            (1000.0, "1,000"),
            (1234.4, "1,234"),
            (406_964.0, "406,964"),
            (999_999.0, "999,999"),
            (999_999.7, "1 M"),
            (1_000_000.0, "1 M"),
            (1_460_000.0, "1.46 M"),
            (14_634_555.0, "14.6 M"),
            (1.46e7, "14.6 M"),
            (146_345_550.0, "146 M"),
            (999_600_000.0, "1 G"),
            (1.2e9, "1.2 G"),
            (2.5e12, "2.5 T"),
            (-14_634_555.0, "-14.6 M"),
            (-2000.0, "-2,000"),
            (-0.5, "-0.5"),
            (0.5, "0.5"),
            (12.26, "12.3"),
            (2.78, "2.78"),
            (0.0123, "0.012"),
            (0.001, "0.001"),
            (5129.6, "5,130"),
            (2.5e-5, "2.5 × 10⁻⁵"),
            (1e21, "1 × 10²¹"),
            (f64::MAX, "1.8 × 10³⁰⁸"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_num(v), want, "{v}");
        }
        assert_eq!((fmt_num(f64::NAN), fmt_num(f64::INFINITY)), ("—".into(), "—".into()));
        // Never the exponent notation of `{:e}`.
        for e in -20..30 {
            for m in [1.0, 1.5, 9.99] {
                let s = fmt_num(m * 10f64.powi(e));
                assert!(!s.contains('e'), "{s}");
            }
        }
    }

    #[test]
    fn text_is_cut_to_width_with_an_ellipsis() {
        super::super::ensure_fonts().unwrap();
        let f = font(14, FontStyle::Normal);
        let long = "start_job warehouse-sync, pools.sync.max_size = 10, request.hold = 100ms";
        assert_eq!(ellipsize("short", &f, 500), "short");
        let cut = ellipsize(long, &f, 200);
        assert!(cut.ends_with('…') && width(&cut, &f) <= 200, "{cut}");
        assert!(long.starts_with(cut.trim_end_matches('…')), "{cut}");
        // One more character would not fit.
        let next = &long[..cut.len() - '…'.len_utf8() + 1];
        assert!(width(&format!("{next}…"), &f) > 200 || next.ends_with([' ', ',']), "{cut}");
        assert_eq!(ellipsize(long, &f, 2), "");
        let (text, size) = fit("406,964 (2.78%)", 160, &[24, 22, 20, 18, 16], FontStyle::Bold);
        assert_eq!(text, "406,964 (2.78%)");
        assert!(size < 24 && width(&text, &font(size, FontStyle::Bold)) <= 160, "{size}");
        let (text, size) = fit(long, 160, &[24, 16], FontStyle::Bold);
        assert!(size == 16 && text.ends_with('…'), "{text}");
    }
}
