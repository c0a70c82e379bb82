//! Alert label and annotation templates: the small part of Prometheus' Go
//! templates that alert texts use.
//!
//! Supported actions: `{{ $labels.NAME }}` (or `{{ .Labels.NAME }}`) and
//! `{{ $value }}` (or `{{ .Value }}`). A missing label prints `<no value>`, as Go's
//! templates print a missing map key; `$value` prints as Go's `%v` prints a float64
//! (`0.25`, `1e+06`, `NaN`, `+Inf`). Anything else inside `{{ }}` (pipes such as
//! `| humanize`, `$externalLabels`, `if`) is refused when the rule is read, with its
//! position, rather than printed wrong.

use crate::alerts::series::Labels;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Label(String),
    Value,
}

impl Template {
    /// Parses `text`; the error gives the byte offset of the bad action.
    pub fn parse(text: &str) -> Result<Template, (usize, String)> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut base = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find("}}") else {
                return Err((base + open, "unclosed `{{` in template".into()));
            };
            let action = &rest[open + 2..open + close];
            let at = base + open;
            if action.starts_with('-') || action.ends_with('-') {
                return Err((at, "template trim markers (`{{-`, `-}}`) are not supported".into()));
            }
            let a = action.trim();
            let part = if a == "$value" || a == ".Value" {
                Part::Value
            } else if let Some(name) = a.strip_prefix("$labels.").or_else(|| a.strip_prefix(".Labels.")) {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err((at, format!("invalid label name in template action `{{{{{action}}}}}`")));
                }
                Part::Label(name.to_string())
            } else {
                return Err((
                    at,
                    format!(
                        "unsupported template action `{{{{{action}}}}}`; supported: `{{{{ $labels.NAME }}}}`, `{{{{ $value }}}}`"
                    ),
                ));
            };
            parts.push(part);
            rest = &rest[open + close + 2..];
            base += open + close + 2;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The text with `labels` (the expression's output labels) and `value` filled in.
    pub fn render(&self, labels: &Labels, value: f64) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Label(n) => out.push_str(labels.get(n).unwrap_or("<no value>")),
                Part::Value => out.push_str(&go_float(value)),
            }
        }
        out
    }
}

/// A float64 as Go's `fmt` prints it with `%v`: the shortest digits that read back
/// the same, in exponent form when the decimal exponent is below -4 or at least 6
/// (`strconv.FormatFloat(v, 'g', -1, 64)`: `1e+06`, `123456`, `1e-05`).
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `-1.2345e6`.
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize));
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_labels_and_values() {
        let t = Template::parse("pool {{ $labels.pool }} at {{$value}} ({{ .Labels.x }})").unwrap();
        let l = Labels::new([("pool", "api")]);
        assert_eq!(t.render(&l, 0.25), "pool api at 0.25 (<no value>)");
    }

    #[test]
    fn unsupported_template_actions_are_refused_with_their_offset() {
        let e = Template::parse("x {{ $value | humanize }}").unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("unsupported template action"), "{}", e.1);
        assert!(Template::parse("{{ $labels.pool").unwrap_err().1.contains("unclosed"));
        assert!(Template::parse("{{- $value }}").unwrap_err().1.contains("trim"));
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(go_float(0.25), "0.25");
        assert_eq!(go_float(100.0), "100");
        assert_eq!(go_float(-3.5), "-3.5");
        assert_eq!(go_float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(-2.5e-7), "-2.5e-07");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
    }
}
