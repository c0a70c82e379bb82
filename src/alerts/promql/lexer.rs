//! PromQL lexer: expression text to tokens with byte offsets.
//!
//! Follows Prometheus' lexer where the subset needs it: identifiers may contain `:`
//! (recording-rule style names), `Inf`/`NaN` are numbers (any case), a number
//! directly followed by a unit (`5m`, `1h30m`, `500ms`) is a duration, strings take
//! `"…"`, `'…'` (Go escapes) or `` `…` `` (raw), and `#` starts a comment. Every
//! token keeps `[start, end)` byte offsets into the expression, so the parser can
//! point at the exact column of a problem.

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name: metric, label, function, keyword.
    Ident(String),
    /// A number literal.
    Number(f64),
    /// A duration literal, in milliseconds.
    Duration(i64),
    /// A string literal, unescaped.
    Str(String),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `:` (subqueries, refused by the parser)
    Colon,
    /// `@` (the at-modifier, refused by the parser)
    At,
    /// `=` (label matcher)
    Assign,
    /// `=~`
    EqRegex,
    /// `!~`
    NeqRegex,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `>`
    Gtr,
    /// `<`
    Lss,
    /// `>=`
    Gte,
    /// `<=`
    Lte,
    /// End of input.
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

/// A lexing problem at a byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

/// Duration units with their length in milliseconds, longest spelling first so that
/// `ms` is not read as `m` followed by `s`.
const UNITS: &[(&str, i64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
    ("y", 31_536_000_000),
];

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let single = |t: Tok| Some((t, 1));
        let two = |t: Tok| Some((t, 2));
        let next = b.get(i + 1).copied();
        let punct = match c {
            b'(' => single(Tok::LParen),
            b')' => single(Tok::RParen),
            b'{' => single(Tok::LBrace),
            b'}' => single(Tok::RBrace),
            b'[' => single(Tok::LBracket),
            b']' => single(Tok::RBracket),
            b',' => single(Tok::Comma),
            b'@' => single(Tok::At),
            b'+' => single(Tok::Add),
            b'-' => single(Tok::Sub),
            b'*' => single(Tok::Mul),
            b'/' => single(Tok::Div),
            b'%' => single(Tok::Mod),
            b'^' => single(Tok::Pow),
            b'=' if next == Some(b'=') => two(Tok::Eql),
            b'=' if next == Some(b'~') => two(Tok::EqRegex),
            b'=' => single(Tok::Assign),
            b'!' if next == Some(b'=') => two(Tok::Neq),
            b'!' if next == Some(b'~') => two(Tok::NeqRegex),
            b'>' if next == Some(b'=') => two(Tok::Gte),
            b'>' => single(Tok::Gtr),
            b'<' if next == Some(b'=') => two(Tok::Lte),
            b'<' => single(Tok::Lss),
            _ => None,
        };
        if let Some((tok, len)) = punct {
            out.push(Token { tok, start, end: i + len });
            i += len;
            continue;
        }
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b':' if !next.is_some_and(is_ident_start) => {
                out.push(Token { tok: Tok::Colon, start, end: i + 1 });
                i += 1;
            }
            b'"' | b'\'' | b'`' => {
                let (s, end) = lex_string(src, i)?;
                out.push(Token { tok: Tok::Str(s), start, end });
                i = end;
            }
            c if c.is_ascii_digit() || (c == b'.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let (tok, end) = lex_number(src, i)?;
                out.push(Token { tok, start, end });
                i = end;
            }
            c if is_ident_start(c) => {
                let mut end = i + 1;
                while end < b.len() && is_ident_char(b[end]) {
                    end += 1;
                }
                let word = &src[i..end];
                let tok = if word.eq_ignore_ascii_case("inf") {
                    Tok::Number(f64::INFINITY)
                } else if word.eq_ignore_ascii_case("nan") {
                    Tok::Number(f64::NAN)
                } else {
                    Tok::Ident(word.to_string())
                };
                out.push(Token { tok, start, end });
                i = end;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                let hint = match ch {
                    '!' => " (did you mean `!=` or `!~`?)",
                    '&' | '|' => " (PromQL writes `and`, `or`, `unless`)",
                    _ => "",
                };
                return Err(LexError { at: i, message: format!("unexpected character `{ch}`{hint}") });
            }
        }
    }
    out.push(Token { tok: Tok::Eof, start: b.len(), end: b.len() });
    Ok(out)
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// A number (decimal, float, exponent, hex) or, when a unit follows, a duration.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), LexError> {
    let b = src.as_bytes();
    if b[start] == b'0' && matches!(b.get(start + 1), Some(b'x' | b'X')) {
        let mut end = start + 2;
        while end < b.len() && b[end].is_ascii_hexdigit() {
            end += 1;
        }
        let v = u64::from_str_radix(&src[start + 2..end], 16).map_err(|_| LexError {
            at: start,
            message: format!("invalid hexadecimal number `{}`", &src[start..end]),
        })?;
        return Ok((Tok::Number(v as f64), end));
    }
    // A duration: digits directly followed by a unit, possibly repeated (`1h30m`).
    if let Some((ms, end)) = lex_duration(src, start)? {
        return Ok((Tok::Duration(ms), end));
    }
    let mut end = start;
    while end < b.len() && (b[end].is_ascii_digit() || b[end] == b'.') {
        end += 1;
    }
    if end < b.len() && matches!(b[end], b'e' | b'E') {
        let mut e = end + 1;
        if e < b.len() && matches!(b[e], b'+' | b'-') {
            e += 1;
        }
        if e < b.len() && b[e].is_ascii_digit() {
            while e < b.len() && b[e].is_ascii_digit() {
                e += 1;
            }
            end = e;
        }
    }
    let text = &src[start..end];
    let v: f64 = text.parse().map_err(|_| LexError { at: start, message: format!("invalid number `{text}`") })?;
    if end < b.len() && is_ident_char(b[end]) {
        let mut e = end;
        while e < b.len() && is_ident_char(b[e]) {
            e += 1;
        }
        return Err(LexError {
            at: end,
            message: format!(
                "`{}` is neither a number nor a duration; durations use the units ms, s, m, h, d, w, y (e.g. `5m`, `1h30m`)",
                &src[start..e]
            ),
        });
    }
    Ok((Tok::Number(v), end))
}

/// `Some((ms, end))` when the text at `start` is a duration such as `5m`, `1h30m`, `500ms`.
fn lex_duration(src: &str, start: usize) -> Result<Option<(i64, usize)>, LexError> {
    let b = src.as_bytes();
    let mut i = start;
    let mut total: i64 = 0;
    let mut parts = 0;
    let mut last_unit = i64::MAX;
    loop {
        let digits_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits_start {
            break;
        }
        let Some(&(unit, ms)) = UNITS.iter().find(|(u, _)| src[i..].starts_with(u)) else {
            if parts == 0 {
                return Ok(None);
            }
            return Err(LexError {
                at: digits_start,
                message: format!("duration part `{}` has no unit", &src[digits_start..i]),
            });
        };
        let after = i + unit.len();
        // `5min` or `5sec`: the unit runs into more letters, not a duration.
        if after < b.len() && (b[after].is_ascii_alphabetic() || b[after] == b'_') {
            if parts == 0 {
                return Ok(None);
            }
            return Err(LexError { at: i, message: format!("unknown duration unit in `{}`", &src[start..]) });
        }
        if ms >= last_unit {
            return Err(LexError {
                at: i,
                message: format!(
                    "duration units must go from largest to smallest, each once (e.g. `1h30m`); found `{unit}` out of order"
                ),
            });
        }
        last_unit = ms;
        let n: i64 = src[digits_start..i]
            .parse()
            .map_err(|_| LexError { at: digits_start, message: "duration is too long".into() })?;
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| LexError { at: digits_start, message: "duration is too long".into() })?;
        parts += 1;
        i = after;
    }
    Ok(if parts > 0 { Some((total, i)) } else { None })
}

/// A quoted string starting at `start`; returns its value and the offset past it.
fn lex_string(src: &str, start: usize) -> Result<(String, usize), LexError> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let at = start + 1 + off;
        if c == quote {
            return Ok((out, at + 1));
        }
        if c == '\n' && quote != '`' {
            return Err(LexError { at, message: "unterminated string: a string ends on its own line".into() });
        }
        if c != '\\' || quote == '`' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        let simple = match e {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '"' | '\'' => Some(e),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let digits = match e {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => {
                return Err(LexError {
                    at,
                    message: format!("unknown escape `\\{e}` in string; use `\\\\` for a backslash (regexes: `\\\\.`)"),
                });
            }
        };
        let hex: String = chars.by_ref().take(digits).map(|(_, c)| c).collect();
        let ch = u32::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == digits).and_then(char::from_u32);
        match ch {
            Some(ch) => out.push(ch),
            None => return Err(LexError { at, message: format!("invalid escape `\\{e}{hex}` in string") }),
        }
    }
    Err(LexError { at: start, message: format!("unterminated string: no closing {quote}") })
}

/// Parses a Prometheus duration as a whole text (`5m`, `1h30m`, `0s`, `0`), for the
/// `for:` and `interval:` keys of rule files.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(0);
    }
    let form = "write a duration such as `30s`, `2m`, `1h30m` (units ms, s, m, h, d, w, y)";
    if t.is_empty() {
        return Err(format!("expected a duration; {form}"));
    }
    if t.starts_with('-') {
        return Err(format!("duration `{t}` is negative; {form}"));
    }
    match lex_duration(t, 0) {
        Ok(Some((ms, end))) if end == t.len() => Ok(ms),
        Ok(_) if t.parse::<f64>().is_ok() => Err(format!("duration `{t}` has no unit; {form}")),
        Ok(_) => Err(format!("invalid duration `{t}`; {form}")),
        Err(e) => Err(format!("invalid duration `{t}`: {}", e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn promql_lexes_operators_numbers_durations_and_strings() {
        use Tok::*;
        assert_eq!(
            toks("rate(a:b{x=~\"y\"}[1h30m]) >= 0x1F"),
            vec![
                Ident("rate".into()),
                LParen,
                Ident("a:b".into()),
                LBrace,
                Ident("x".into()),
                EqRegex,
                Str("y".into()),
                RBrace,
                LBracket,
                Duration(5_400_000),
                RBracket,
                RParen,
                Gte,
                Number(31.0),
                Eof
            ]
        );
        assert_eq!(
            toks("1.5e3 .5 500ms 'a\\'b' `x\\y`"),
            vec![Number(1500.0), Number(0.5), Duration(500), Str("a'b".into()), Str("x\\y".into()), Eof]
        );
        assert!(matches!(toks("NaN")[0], Number(v) if v.is_nan()));
        assert_eq!(toks("-Inf # comment"), vec![Sub, Number(f64::INFINITY), Eof]);
        assert_eq!(toks("a!=b"), vec![Ident("a".into()), Neq, Ident("b".into()), Eof]);
    }

    #[test]
    fn promql_lexer_errors_are_located() {
        let e = lex("a & b").unwrap_err();
        assert_eq!(e.at, 2);
        assert!(e.message.contains("`and`"), "{}", e.message);
        assert!(lex("\"abc").unwrap_err().message.contains("unterminated"));
        assert!(lex("5mins").unwrap_err().message.contains("neither a number nor a duration"));
        assert!(lex("1m1h").unwrap_err().message.contains("largest to smallest"));
        assert!(lex("\"\\q\"").unwrap_err().message.contains("unknown escape"));
        assert!(lex("99999999999999999999y").unwrap_err().message.contains("too long"));
    }

    #[test]
    fn promql_rule_durations() {
        assert_eq!(parse_duration("2m"), Ok(120_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("2 m").unwrap_err().contains("invalid duration"));
        assert!(parse_duration("-1m").unwrap_err().contains("negative"));
    }
}
