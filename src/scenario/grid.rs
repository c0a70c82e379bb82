//! Grid specifications: the `VALUES` of `--set KEY=VALUES` and of a `sweep:` block, and the
//! expansion of several keys into grid points.
//!
//! A spec is a comma-separated list (`5,10,20`, `100ms,250ms,1s`, `{dist: constant, value: 1s},2s`)
//! or a range with a step (`1..30:1`, `50ms..2s:50ms`, `0.5..2:0.25`, `10/s..100/s:10/s`).
//!
//! Invariants:
//! - Pure text in, text out: every value is kept as the text handed to
//!   `scenario::load_with_overrides`, so a point is reproducible from its CSV row.
//! - Duration ranges are computed in integer nanoseconds and integer ranges in `i64`: no float
//!   drift, the end is included when the step lands on it. Float and rate ranges use
//!   `start + i * step` (never repeated addition) and a relative tolerance of 1e-9 at the end.
//! - Expansion order is row-major in the order the keys were given: the first key varies
//!   slowest, the last fastest (like nested loops). Point `i` is always the same point.

use crate::scenario::units::{parse_duration, parse_rate};

/// Most values one key may take (a guard against `1..1e9:1`).
pub const MAX_VALUES_PER_KEY: usize = 100_000;
/// Most points a grid may have.
pub const MAX_POINTS: usize = 1_000_000;

/// The kind of a swept value, which decides its numeric reading and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A plain number (`5`, `0.25`).
    Number,
    /// A duration, read in milliseconds.
    Duration,
    /// A rate, read in requests per second.
    Rate,
    /// Anything else (`poisson`, a YAML mapping): shown by its text, placed by its index.
    Text,
}

impl Kind {
    /// Unit of the numeric reading, for axis labels (`""` for none).
    pub fn unit(self) -> &'static str {
        match self {
            Kind::Duration => "ms",
            Kind::Rate => "1/s",
            Kind::Number | Kind::Text => "",
        }
    }
}

/// One value a key takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The text given to the scenario override (`250ms`, `10`).
    pub text: String,
    /// Numeric reading (milliseconds for durations, per second for rates), if any.
    pub num: Option<f64>,
    /// What kind of value the text is.
    pub kind: Kind,
}

impl Value {
    /// Reads one value's kind and numeric meaning from its text.
    pub fn from_text(text: &str) -> Value {
        let text = text.trim().to_string();
        let (num, kind) = if let Ok(n) = text.parse::<f64>().map_err(drop).and_then(finite) {
            (Some(n), Kind::Number)
        } else if let Ok(d) = parse_duration(&text) {
            (Some(d.as_millis_f64()), Kind::Duration)
        } else if let Ok(r) = parse_rate(&text) {
            (Some(r), Kind::Rate)
        } else {
            (None, Kind::Text)
        };
        Value { text, num, kind }
    }
}

fn finite(x: f64) -> Result<f64, ()> {
    if x.is_finite() { Ok(x) } else { Err(()) }
}

/// One swept key and the values it takes, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted path of the scenario key (`pool.max_size`).
    pub key: String,
    /// The values, in the order given.
    pub values: Vec<Value>,
}

impl Axis {
    /// Parses `KEY` and a values spec.
    pub fn parse(key: &str, spec: &str) -> Result<Axis, String> {
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("`={spec}` names no key; write `KEY=VALUES`, e.g. `pool.max_size=1..30:1`"));
        }
        let values = parse_values(spec).map_err(|e| format!("`{key}`: {e}"))?;
        Ok(Axis { key: key.to_string(), values })
    }

    /// The kind shared by every value, [`Kind::Text`] when they differ.
    pub fn kind(&self) -> Kind {
        let first = self.values.first().map_or(Kind::Text, |v| v.kind);
        if self.values.iter().all(|v| v.kind == first) { first } else { Kind::Text }
    }

    /// Axis title: the key and, for numeric axes, the unit (`request.hold.value (ms)`).
    pub fn label(&self) -> String {
        match self.kind().unit() {
            "" => self.key.clone(),
            u => format!("{} ({u})", self.key),
        }
    }

    /// Where each value sits on a plot axis: its numeric reading when every value has one,
    /// else its index.
    pub fn positions(&self) -> Vec<f64> {
        if self.kind() != Kind::Text && self.values.iter().all(|v| v.num.is_some()) {
            self.values.iter().map(|v| v.num.unwrap_or(0.0)).collect()
        } else {
            (0..self.values.len()).map(|i| i as f64).collect()
        }
    }
}

/// Parses `KEY=VALUES` as written on the command line.
pub fn parse_set(arg: &str) -> Result<Axis, String> {
    let Some((key, spec)) = arg.split_once('=') else {
        return Err(format!(
            "`{arg}` has no `=`; write `KEY=VALUES`, e.g. `pool.max_size=1..30:1` or `request.hold.value=100ms,1s`"
        ));
    };
    Axis::parse(key, spec)
}

/// Parses a values spec: a list or a range (see the module docs).
pub fn parse_values(spec: &str) -> Result<Vec<Value>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("no values; give a list such as `5,10,20` or a range such as `1..30:1`".into());
    }
    let values = if let Some(range) = split_range(spec) {
        range_values(range)?
    } else {
        let items = split_top_level(spec);
        if let Some(i) = items.iter().position(|s| s.trim().is_empty()) {
            return Err(format!("value {} of `{spec}` is empty; separate values with single commas", i + 1));
        }
        items.iter().map(|s| Value::from_text(s)).collect()
    };
    if values.len() > MAX_VALUES_PER_KEY {
        return Err(format!("{} values, more than the {MAX_VALUES_PER_KEY} a key may take", values.len()));
    }
    Ok(values)
}

/// `(start, end, step)` of `A..B:S`, when the spec has that shape outside any brackets.
fn split_range(spec: &str) -> Option<(&str, &str, &str)> {
    if spec.contains(['{', '[', ',']) {
        return None;
    }
    let (start, rest) = spec.split_once("..")?;
    match rest.split_once(':') {
        Some((end, step)) => Some((start.trim(), end.trim(), step.trim())),
        // `A..B` without a step: reported as a range missing its step.
        None => Some((start.trim(), rest.trim(), "")),
    }
}

fn range_values((start, end, step): (&str, &str, &str)) -> Result<Vec<Value>, String> {
    let form = "write a range as `START..END:STEP`, e.g. `1..30:1`, `50ms..2s:50ms`, `0.5..2:0.5`, `10/s..100/s:10/s`";
    if step.is_empty() {
        return Err(format!("range `{start}..{end}` has no step; {form}"));
    }
    if let (Ok(a), Ok(b), Ok(s)) = (start.parse::<i64>(), end.parse::<i64>(), step.parse::<i64>()) {
        check_order(a as f64, b as f64, s as f64, form)?;
        let n = (b - a) / s + 1;
        check_count(n as f64)?;
        return Ok((0..n).map(|i| Value::from_text(&(a + i * s).to_string())).collect());
    }
    if let (Ok(a), Ok(b), Ok(s)) = (parse_duration(start), parse_duration(end), parse_duration(step)) {
        let (a, b, s) = (a.as_nanos(), b.as_nanos(), s.as_nanos());
        check_order(a as f64, b as f64, s as f64, form)?;
        let n = (b - a) / s + 1;
        check_count(n as f64)?;
        return Ok((0..n).map(|i| Value::from_text(&format_ns(a + i * s))).collect());
    }
    let num = |t: &str| t.parse::<f64>().map_err(drop).and_then(finite);
    if let (Ok(a), Ok(b), Ok(s)) = (num(start), num(end), num(step)) {
        return float_range(a, b, s, form, fmt_float);
    }
    if let (Ok(a), Ok(b), Ok(s)) = (parse_rate(start), parse_rate(end), parse_rate(step)) {
        return float_range(a, b, s, form, |x| format!("{}/s", fmt_float(x)));
    }
    Err(format!(
        "cannot read `{start}..{end}:{step}` as a range of whole numbers, numbers, durations or rates (all three parts of the same kind); {form}"
    ))
}

fn float_range(a: f64, b: f64, s: f64, form: &str, text: impl Fn(f64) -> String) -> Result<Vec<Value>, String> {
    check_order(a, b, s, form)?;
    let n = ((b - a) / s * (1.0 + 1e-9) + 1e-9).floor() + 1.0;
    check_count(n)?;
    Ok((0..n as u64).map(|i| Value::from_text(&text(a + i as f64 * s))).collect())
}

fn check_order(a: f64, b: f64, s: f64, form: &str) -> Result<(), String> {
    if s <= 0.0 {
        return Err(format!("the step of a range must be more than zero; {form}"));
    }
    if b < a {
        return Err(format!("the range ends before it starts; {form}"));
    }
    Ok(())
}

fn check_count(n: f64) -> Result<(), String> {
    if n > MAX_VALUES_PER_KEY as f64 {
        return Err(format!("the range has {n} values, more than the {MAX_VALUES_PER_KEY} a key may take"));
    }
    Ok(())
}

/// A duration in the largest unit that writes it exactly (`1500ms`, `2s`, `250us`).
pub fn format_ns(ns: u64) -> String {
    match ns {
        0 => "0s".into(),
        n if n.is_multiple_of(1_000_000_000) => format!("{}s", n / 1_000_000_000),
        n if n.is_multiple_of(1_000_000) => format!("{}ms", n / 1_000_000),
        n if n.is_multiple_of(1_000) => format!("{}us", n / 1_000),
        n => format!("{n}ns"),
    }
}

/// A float with at most 9 decimals and no trailing zeros, so `0.1 * 3` prints as `0.3`.
fn fmt_float(x: f64) -> String {
    let s = format!("{x:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// Splits on commas that are not inside `{}`, `[]` or quotes, so YAML flow values survive.
fn split_top_level(spec: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in spec.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

/// The grid: several axes, expanded row-major (first axis slowest).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The swept keys, in the order given.
    pub axes: Vec<Axis>,
}

impl Grid {
    /// Builds a grid, refusing repeated keys and grids too large to run.
    pub fn new(axes: Vec<Axis>) -> Result<Grid, String> {
        for (i, a) in axes.iter().enumerate() {
            if axes[..i].iter().any(|b| b.key == a.key) {
                return Err(format!("key `{}` is swept twice; give each key once", a.key));
            }
        }
        let grid = Grid { axes };
        let n = grid.axes.iter().try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
        match n {
            Some(n) if n <= MAX_POINTS => Ok(grid),
            _ => Err(format!("the grid has more than {MAX_POINTS} points; sweep fewer values or shard it")),
        }
    }

    /// Number of points (1 for a grid without axes: the scenario as written).
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Whether the grid has no point (some axis has no value).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value index on each axis of point `i` (row-major, last axis fastest).
    pub fn coords(&self, mut i: usize) -> Vec<usize> {
        let mut c = vec![0; self.axes.len()];
        for (k, a) in self.axes.iter().enumerate().rev() {
            let n = a.values.len().max(1);
            c[k] = i % n;
            i /= n;
        }
        c
    }

    /// The `(key, value text)` overrides of point `i`.
    pub fn overrides(&self, i: usize) -> Vec<(String, String)> {
        self.axes.iter().zip(self.coords(i)).map(|(a, j)| (a.key.clone(), a.values[j].text.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(spec: &str) -> Vec<String> {
        parse_values(spec).unwrap().into_iter().map(|v| v.text).collect()
    }

    #[test]
    fn lists_of_numbers_durations_and_yaml_values() {
        assert_eq!(texts("5,10,20"), ["5", "10", "20"]);
        assert_eq!(texts("100ms, 250ms,1s"), ["100ms", "250ms", "1s"]);
        assert_eq!(texts("{dist: constant, value: 1s},2s"), ["{dist: constant, value: 1s}", "2s"]);
        let v = parse_values("100ms,250ms,1s").unwrap();
        assert_eq!(v.iter().map(|v| v.num.unwrap()).collect::<Vec<_>>(), [100.0, 250.0, 1000.0]);
        assert!(v.iter().all(|v| v.kind == Kind::Duration));
        assert_eq!(Value::from_text("poisson").kind, Kind::Text);
        assert_eq!(Value::from_text("9/s").num, Some(9.0));
        assert!(parse_values("1,,2").unwrap_err().contains("value 2"));
        assert!(parse_values(" ").is_err());
    }

    #[test]
    fn integer_duration_float_and_rate_ranges() {
        let r = texts("1..30:1");
        assert_eq!(r.len(), 30);
        assert_eq!((r[0].as_str(), r[29].as_str()), ("1", "30"));
        assert_eq!(texts("1..10:4"), ["1", "5", "9"]);
        let d = texts("50ms..2s:50ms");
        assert_eq!(d.len(), 40);
        assert_eq!((d[0].as_str(), d[1].as_str(), d[19].as_str(), d[29].as_str()), ("50ms", "100ms", "1s", "1500ms"));
        assert_eq!(d[39], "2s");
        assert_eq!(texts("0.1..0.5:0.1"), ["0.1", "0.2", "0.3", "0.4", "0.5"]);
        assert_eq!(texts("10/s..30/s:10/s"), ["10/s", "20/s", "30/s"]);
        assert_eq!(texts("5..5:1"), ["5"]);
    }

    #[test]
    fn bad_ranges_say_how_to_write_them() {
        assert!(parse_values("1..30").unwrap_err().contains("no step"));
        assert!(parse_values("1..30:0").unwrap_err().contains("more than zero"));
        assert!(parse_values("30..1:1").unwrap_err().contains("ends before"));
        assert!(parse_values("1..2s:1").unwrap_err().contains("same kind"));
        assert!(parse_values("1..1000000000:1").unwrap_err().contains("more than"));
        assert!(parse_set("pool.max_size").unwrap_err().contains("KEY=VALUES"));
        assert!(parse_set("=5").unwrap_err().contains("names no key"));
        assert!(parse_set("pool.max_size=1..").unwrap_err().contains("`pool.max_size`"));
    }

    #[test]
    fn expansion_is_row_major_first_key_slowest() {
        let g = Grid::new(vec![parse_set("a=1,2").unwrap(), parse_set("b=x,y,z").unwrap()]).unwrap();
        assert_eq!(g.len(), 6);
        let pts: Vec<String> = (0..6).map(|i| g.overrides(i).iter().map(|(_, v)| v.as_str()).collect()).collect();
        assert_eq!(pts, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        assert_eq!(g.coords(4), [1, 1]);
        assert!(Grid::new(vec![parse_set("a=1").unwrap(), parse_set("a=2").unwrap()]).is_err());
        assert_eq!(Grid::new(vec![]).unwrap().len(), 1);
    }

    #[test]
    fn axis_labels_carry_units() {
        assert_eq!(parse_set("request.hold.value=1s,2s").unwrap().label(), "request.hold.value (ms)");
        assert_eq!(parse_set("pool.max_size=1,2").unwrap().label(), "pool.max_size");
        assert_eq!(parse_set("p=a,b").unwrap().positions(), [0.0, 1.0]);
    }
}
