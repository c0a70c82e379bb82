//! Maps a byte offset inside a YAML scalar's value (an expression, a template) to
//! the line and column where that character is written in the file.
//!
//! The positioned YAML tree keeps where each scalar starts and its decoded text,
//! not its raw spelling, so this reads the raw source again from the scalar's start:
//! plain and quoted single-line scalars map character by character (decoding `''`
//! and `\` escapes); block scalars (`|`, `>`) and multi-line flow scalars map line by
//! line, by finding each raw line's text in the decoded value. When the raw text
//! cannot be matched (an unusual spelling), the scalar's start is returned and the
//! caller says so.

use crate::input::yaml::Pos;

/// Where byte `offset` of a scalar's decoded `text` is written, given the file's
/// `src` and the scalar's start `pos`. The flag is false when only the scalar's
/// start could be found.
pub fn locate(src: Option<&str>, pos: Pos, text: &str, offset: usize) -> (Pos, bool) {
    let fallback = (pos, false);
    let Some(src) = src else { return fallback };
    let offset = offset.min(text.len());
    let lines: Vec<&str> = src.lines().collect();
    let Some(first) = lines.get(pos.line.wrapping_sub(1)) else { return fallback };
    let rest: String = first.chars().skip(pos.col.saturating_sub(1)).collect();
    let Some(lead) = rest.chars().next() else { return fallback };
    let single_line = !text.contains('\n');
    // Segments: (byte offset in `text` where the segment starts, line, column, raw text).
    let mut segs: Vec<(usize, usize, usize, String)> = Vec::new();
    match lead {
        '\'' | '"' => {
            if let Some(hit) = quoted(&rest, lead, text, offset) {
                return (Pos { line: pos.line, col: pos.col + 1 + hit }, true);
            }
            let mut raw = vec![(pos.line, pos.col + 1, rest[1..].to_string())];
            raw.extend(following(&lines, pos.line, usize::MAX));
            segs = segments(text, raw, Some(lead));
        }
        '|' | '>' => {
            let indent = lines
                .iter()
                .skip(pos.line)
                .find(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .unwrap_or(0);
            if indent > 0 {
                segs = segments(text, following(&lines, pos.line, indent), None);
            }
        }
        _ => {
            if single_line && rest.starts_with(text) {
                return (Pos { line: pos.line, col: pos.col + text[..char_floor(text, offset)].chars().count() }, true);
            }
            let mut raw = vec![(pos.line, pos.col, rest.clone())];
            raw.extend(following(&lines, pos.line, usize::MAX));
            segs = segments(text, raw, None);
        }
    }
    let Some(seg) = segs.iter().rev().find(|s| s.0 <= offset) else { return fallback };
    let within = (offset - seg.0).min(seg.3.len());
    (Pos { line: seg.1, col: seg.2 + seg.3[..char_floor(&seg.3, within)].chars().count() }, true)
}

fn char_floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The lines after `line` (1-based), trimmed of their indentation, each with its
/// line number and the column its text starts at; for block scalars (`min_indent`
/// set) they stop at the first non-blank line indented less.
fn following(lines: &[&str], line: usize, min_indent: usize) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (k, l) in lines.iter().enumerate().skip(line) {
        let ind = l.len() - l.trim_start().len();
        if min_indent != usize::MAX && !l.trim().is_empty() && ind < min_indent {
            break;
        }
        let ind = if min_indent == usize::MAX { ind } else { min_indent.min(l.len()) };
        // `get`: a blank line may hold wider whitespace than the indentation.
        out.push((k + 1, ind + 1, l.get(ind..).unwrap_or("").to_string()));
        if out.len() > 10_000 {
            break;
        }
    }
    out
}

/// Finds each raw line's text in `text`, in order, giving segment starts.
fn segments(text: &str, raw: Vec<(usize, usize, String)>, quote: Option<char>) -> Vec<(usize, usize, usize, String)> {
    let mut out = Vec::new();
    let mut cursor = 0;
    for (line, col, mut s) in raw {
        if let Some(q) = quote
            && let Some(end) = s.find(q)
        {
            s.truncate(end);
        }
        let trimmed = s.trim_end().to_string();
        if trimmed.is_empty() {
            continue;
        }
        let Some(idx) = text.get(cursor..).and_then(|t| t.find(&trimmed)) else { break };
        out.push((cursor + idx, line, col, trimmed.clone()));
        cursor += idx + trimmed.len();
        if cursor >= text.len() {
            break;
        }
    }
    out
}

/// For a single-line quoted scalar (`rest` starts at the quote): the number of raw
/// characters after the quote up to the character at decoded `offset`.
fn quoted(rest: &str, q: char, text: &str, offset: usize) -> Option<usize> {
    let raw: Vec<char> = rest.chars().skip(1).collect();
    let (mut i, mut decoded) = (0usize, 0usize);
    while i < raw.len() {
        if decoded >= offset {
            return Some(i);
        }
        let c = raw[i];
        let (len, out) = if q == '\'' {
            match (c, raw.get(i + 1)) {
                ('\'', Some('\'')) => (2, '\''),
                ('\'', _) => return (decoded >= text.len()).then_some(i),
                _ => (1, c),
            }
        } else {
            match c {
                '"' => return (decoded >= text.len()).then_some(i),
                '\\' => {
                    let e = *raw.get(i + 1)?;
                    let len = match e {
                        'x' => 4,
                        'u' => 6,
                        'U' => 10,
                        _ => 2,
                    };
                    let s: String = raw.get(i..i + len)?.iter().collect();
                    let ch = match e {
                        'x' | 'u' | 'U' => char::from_u32(u32::from_str_radix(&s[2..], 16).ok()?)?,
                        'n' => '\n',
                        't' => '\t',
                        '0' => '\0',
                        _ => e,
                    };
                    (len, ch)
                }
                _ => (1, c),
            }
        };
        i += len;
        decoded += out.len_utf8();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(src: &str, line: usize, col: usize, text: &str, off: usize) -> (usize, usize, bool) {
        let (p, exact) = locate(Some(src), Pos { line, col }, text, off);
        (p.line, p.col, exact)
    }

    #[test]
    fn plain_and_quoted_scalars_map_to_columns() {
        assert_eq!(at("expr: rate(x[5m]) > 1\n", 1, 7, "rate(x[5m]) > 1", 5), (1, 12, true));
        // The `>` is the 12th raw character after the quote in both spellings.
        assert_eq!(at("expr: 'a{x=''y''} > 1'\n", 1, 7, "a{x='y'} > 1", 9), (1, 19, true));
        assert_eq!(at("expr: \"a{x=\\\"y\\\"} > 1\"\n", 1, 7, "a{x=\"y\"} > 1", 9), (1, 19, true));
    }

    #[test]
    fn block_scalars_map_lines() {
        let src = "expr: |\n  sum(rate(x[5m]))\n    > 1\n";
        let text = "sum(rate(x[5m]))\n  > 1\n";
        assert_eq!(at(src, 1, 7, text, 4), (2, 7, true));
        assert_eq!(at(src, 1, 7, text, 19), (3, 5, true));
        let folded = "expr: >\n  sum(x)\n  > 1\n";
        assert_eq!(at(folded, 1, 7, "sum(x) > 1\n", 7), (3, 3, true));
    }

    #[test]
    fn multi_line_plain_scalars_map_lines() {
        let src = "expr: sum(x)\n  > foo\n";
        assert_eq!(at(src, 1, 7, "sum(x) > foo", 9), (2, 5, true));
    }

    #[test]
    fn unknown_spellings_fall_back_to_the_start() {
        assert_eq!(at("x: !!str abc\n", 1, 4, "zzz", 1), (1, 4, false));
        assert_eq!(locate(None, Pos { line: 3, col: 2 }, "abc", 1), (Pos { line: 3, col: 2 }, false));
    }
}
