//! Names the parser knows: the subset's aggregations, the keywords, the PromQL
//! functions and aggregations outside the subset (so that they are refused as
//! "unsupported" rather than "unknown"), and how tokens are named in messages.

use super::ast::AggOp;
use super::lexer::Tok;

pub(super) const AGGREGATIONS: &[(&str, AggOp)] =
    &[("sum", AggOp::Sum), ("min", AggOp::Min), ("max", AggOp::Max), ("avg", AggOp::Avg), ("count", AggOp::Count)];

pub(super) const OTHER_AGGREGATIONS: &[&str] =
    &["topk", "bottomk", "quantile", "stddev", "stdvar", "count_values", "group", "limitk", "limit_ratio"];

pub(super) const KEYWORDS: &[&str] =
    &["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "atan2"];

/// PromQL functions outside the subset, to tell "not supported" from "no such function".
pub(super) const OTHER_FUNCTIONS: &[&str] = &[
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "changes",
    "cos",
    "cosh",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "deg",
    "deriv",
    "double_exponential_smoothing",
    "exp",
    "first_over_time",
    "histogram_avg",
    "histogram_count",
    "histogram_fraction",
    "histogram_stddev",
    "histogram_stdvar",
    "histogram_sum",
    "holt_winters",
    "hour",
    "info",
    "label_join",
    "label_replace",
    "ln",
    "log10",
    "log2",
    "mad_over_time",
    "minute",
    "month",
    "pi",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rad",
    "resets",
    "round",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_by_label",
    "sort_by_label_desc",
    "sort_desc",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "tan",
    "tanh",
    "timestamp",
    "year",
];

pub(super) fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(w) => format!("`{w}`"),
        Tok::Number(n) => format!("the number `{n}`"),
        Tok::Duration(ms) => format!("the duration `{}`", ms_text(*ms)),
        Tok::Str(s) => format!("the string {s:?}"),
        Tok::Eof => "the end of the expression".into(),
        other => {
            let s = match other {
                Tok::LParen => "(",
                Tok::RParen => ")",
                Tok::LBrace => "{",
                Tok::RBrace => "}",
                Tok::LBracket => "[",
                Tok::RBracket => "]",
                Tok::Comma => ",",
                Tok::Colon => ":",
                Tok::At => "@",
                Tok::Assign => "=",
                Tok::EqRegex => "=~",
                Tok::NeqRegex => "!~",
                Tok::Add => "+",
                Tok::Sub => "-",
                Tok::Mul => "*",
                Tok::Div => "/",
                Tok::Mod => "%",
                Tok::Pow => "^",
                Tok::Eql => "==",
                Tok::Neq => "!=",
                Tok::Gtr => ">",
                Tok::Lss => "<",
                Tok::Gte => ">=",
                Tok::Lte => "<=",
                _ => "?",
            };
            format!("`{s}`")
        }
    }
}

/// A duration in ms written back in Prometheus' form (`1h30m`, `500ms`).
pub fn ms_text(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    for (unit, len) in [
        ("y", 31_536_000_000u64),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    out
}
