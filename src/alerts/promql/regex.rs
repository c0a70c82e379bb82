//! A small RE2-style regular expression subset for label matchers (`=~`, `!~`).
//!
//! Prometheus anchors matcher patterns (`^(?:PATTERN)$`) and uses RE2, whose
//! matching time is linear in the input. We keep both properties: patterns compile
//! to a Thompson NFA run as a Pike VM (a set of threads advanced one character at a
//! time), so no pattern can take exponential time, and a match always covers the
//! whole value. Supported: literals, `.`, `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`
//! (lazy `?` suffixes are accepted: they do not change whether a value matches),
//! `|`, groups `(...)` and `(?:...)`, classes `[abc]`, `[a-z]`, `[^...]`, the escapes
//! `\d \w \s \D \W \S` and escaped punctuation, and a leading `^` / trailing `$`
//! (redundant, since matching is anchored). Anything else (flags such as `(?i)`,
//! `\b`, `\p{..}`, POSIX classes) is refused with a message naming it.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Regex {
    prog: Vec<Inst>,
}

#[derive(Debug, Clone, PartialEq)]
enum Inst {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Split(usize, usize),
    Jmp(usize),
    Match,
}

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

/// Most instructions a pattern may compile to (counted repetitions expand).
const MAX_INSTS: usize = 20_000;

impl Regex {
    /// Compiles `pattern`; the error says what is not supported and where (char index).
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Parser { chars: &chars, i: 0, depth: 0 };
        if p.peek() == Some('^') {
            p.i += 1;
        }
        let node = p.alt()?;
        if p.i < chars.len() {
            return Err(match chars[p.i] {
                ')' => "unbalanced `)` in regex".to_string(),
                c => format!("unexpected `{c}` in regex"),
            });
        }
        let mut prog = Vec::new();
        compile(&node, &mut prog)?;
        prog.push(Inst::Match);
        Ok(Regex { prog })
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        let n = self.prog.len();
        let mut clist: Vec<usize> = Vec::with_capacity(n);
        let mut nlist: Vec<usize> = Vec::with_capacity(n);
        let mut seen = vec![usize::MAX; n];
        let mut step = 0usize;
        self.add(&mut clist, &mut seen, step, 0);
        for c in s.chars() {
            step += 1;
            nlist.clear();
            for &pc in &clist {
                let ok = match &self.prog[pc] {
                    Inst::Char(x) => *x == c,
                    Inst::Any => true,
                    Inst::Class(r, neg) => r.iter().any(|&(a, b)| a <= c && c <= b) != *neg,
                    _ => false,
                };
                if ok {
                    self.add(&mut nlist, &mut seen, step, pc + 1);
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
            if clist.is_empty() {
                return false;
            }
        }
        clist.iter().any(|&pc| self.prog[pc] == Inst::Match)
    }

    /// Adds the thread at `pc` and everything reachable from it without input.
    fn add(&self, list: &mut Vec<usize>, seen: &mut [usize], step: usize, pc: usize) {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if seen[pc] == step {
                continue;
            }
            seen[pc] = step;
            match self.prog[pc] {
                Inst::Split(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Inst::Jmp(a) => stack.push(a),
                _ => list.push(pc),
            }
        }
    }
}

struct Parser<'a> {
    chars: &'a [char],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn alt(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.i += 1;
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 { branches.pop().unwrap_or(Node::Empty) } else { Node::Alt(branches) })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            if c == '$' && self.i + 1 == self.chars.len() && self.depth == 0 {
                self.i += 1;
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantifiers(atom)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn quantifiers(&mut self, mut atom: Node) -> Result<Node, String> {
        let mut applied = false;
        loop {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => match self.counted()? {
                    Some(r) => r,
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            // Past the operator (or the closing `}` of a count).
            self.i += 1;
            if self.peek() == Some('?') {
                // Lazy: the same set of matching values, for a whole-value match.
                self.i += 1;
            }
            if applied {
                return Err("a repetition operator follows another (e.g. `a**`); write one".into());
            }
            applied = true;
            atom = Node::Repeat(Box::new(atom), min, max);
        }
    }

    /// `{n}`, `{n,}`, `{n,m}`; leaves `i` on the closing `}`. `None`: a literal `{`.
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let rest: String = self.chars[self.i..].iter().take_while(|&&c| c != '}').collect();
        let body = &rest[1..];
        let (a, b) = body.split_once(',').unwrap_or((body, ""));
        let numeric = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if self.i + rest.chars().count() >= self.chars.len() || a.is_empty() || !numeric(a) || !numeric(b) {
            // Not a repetition: RE2 reads the brace literally.
            return Ok(None);
        }
        let parse = |s: &str| s.parse::<u32>().ok().filter(|&n| n <= 1000);
        let (min, max) = match body.split_once(',') {
            None => (parse(body), parse(body)),
            Some((a, "")) => (parse(a), None),
            Some((a, b)) => (parse(a), parse(b)),
        };
        let Some(min) = min else {
            return Err(format!("invalid repetition `{{{body}}}` in regex (counts up to 1000)"));
        };
        if body.contains(',') && !body.ends_with(',') && max.is_none_or(|m| m < min) {
            return Err(format!("invalid repetition `{{{body}}}` in regex"));
        }
        self.i += rest.chars().count();
        Ok(Some((min, if body.contains(',') { max } else { Some(min) })))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(c) = self.peek() else { return Ok(Node::Empty) };
        self.i += 1;
        match c {
            '.' => Ok(Node::Any),
            '(' => {
                if self.peek() == Some('?') {
                    if self.chars.get(self.i + 1) == Some(&':') {
                        self.i += 2;
                    } else {
                        return Err("regex flags and named groups (`(?i)`, `(?P<name>...)`) are not supported".into());
                    }
                }
                self.depth += 1;
                if self.depth > 100 {
                    return Err("regex groups nest too deeply".into());
                }
                let inner = self.alt()?;
                self.depth -= 1;
                if self.peek() != Some(')') {
                    return Err("missing `)` in regex".into());
                }
                self.i += 1;
                Ok(inner)
            }
            '[' => self.class(),
            '\\' => self.escape(false).map(|(r, neg)| match r.as_slice() {
                [(a, b)] if a == b && !neg => Node::Char(*a),
                _ => Node::Class(r, neg),
            }),
            '*' | '+' | '?' => Err(format!("`{c}` in regex has nothing to repeat")),
            '^' => Err("`^` is only allowed at the start of a regex (matchers are anchored anyway)".into()),
            '$' => Err("`$` is only allowed at the end of a regex (matchers are anchored anyway)".into()),
            c => Ok(Node::Char(c)),
        }
    }

    /// After a backslash: a class escape or a literal character.
    fn escape(&mut self, in_class: bool) -> Result<(Vec<(char, char)>, bool), String> {
        let Some(c) = self.peek() else { return Err("regex ends with a lone `\\`".into()) };
        self.i += 1;
        let digit = vec![('0', '9')];
        let word = vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
        let space = vec![('\t', '\n'), ('\u{c}', '\r'), (' ', ' ')];
        Ok(match c {
            'd' => (digit, false),
            'D' if !in_class => (digit, true),
            'w' => (word, false),
            'W' if !in_class => (word, true),
            's' => (space, false),
            'S' if !in_class => (space, true),
            'n' => (vec![('\n', '\n')], false),
            't' => (vec![('\t', '\t')], false),
            c if c.is_ascii_punctuation() => (vec![(c, c)], false),
            c => {
                return Err(format!(
                    "regex escape `\\{c}` is not supported (supported: \\d \\w \\s \\D \\W \\S, escaped punctuation)"
                ));
            }
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let neg = self.peek() == Some('^');
        if neg {
            self.i += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else { return Err("missing `]` in regex".into()) };
            self.i += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            if c == '[' && self.peek() == Some(':') {
                return Err("POSIX classes such as `[[:alpha:]]` are not supported in regexes".into());
            }
            let lo = if c == '\\' {
                let (r, n) = self.escape(true)?;
                if n || r.len() != 1 || r[0].0 != r[0].1 {
                    ranges.extend(r);
                    continue;
                }
                r[0].0
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.i + 1).is_some_and(|&n| n != ']') {
                self.i += 1;
                let Some(mut hi) = self.peek() else { return Err("missing `]` in regex".into()) };
                self.i += 1;
                if hi == '\\' {
                    let (r, _) = self.escape(true)?;
                    hi = r.first().map(|x| x.0).unwrap_or(hi);
                }
                if hi < lo {
                    return Err(format!("invalid class range `{lo}-{hi}` in regex"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Node::Class(ranges, neg))
    }
}

fn compile(node: &Node, prog: &mut Vec<Inst>) -> Result<(), String> {
    if prog.len() > MAX_INSTS {
        return Err("regex is too large once its repetitions are expanded".into());
    }
    match node {
        Node::Empty => {}
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::Any => prog.push(Inst::Any),
        Node::Class(r, n) => prog.push(Inst::Class(r.clone(), *n)),
        Node::Concat(items) => {
            for n in items {
                compile(n, prog)?;
            }
        }
        Node::Alt(branches) => {
            // split L1, next; L1: a; jmp end; next: split L2, ... ; last
            let mut jumps = Vec::new();
            for (k, b) in branches.iter().enumerate() {
                if k + 1 < branches.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(b, prog)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    compile(b, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..*min {
                compile(inner, prog)?;
                if prog.len() > MAX_INSTS {
                    return Err("regex is too large once its repetitions are expanded".into());
                }
            }
            match max {
                None => {
                    // L: split body, end; body; jmp L
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(inner, prog)?;
                    prog.push(Inst::Jmp(split));
                    let end = prog.len();
                    prog[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(0, 0));
                        compile(inner, prog)?;
                        if prog.len() > MAX_INSTS {
                            return Err("regex is too large once its repetitions are expanded".into());
                        }
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Regex::new(p).unwrap().is_match(s)
    }

    #[test]
    fn promql_regex_matches_whole_values() {
        assert!(m("5..", "503"));
        assert!(!m("5..", "5033"));
        assert!(!m("5", "503"), "anchored");
        assert!(m("5.*|429", "429"));
        assert!(m("(a|b)+c?", "abba"));
        assert!(m("[a-c]x[^0-9]", "bxz"));
        assert!(!m("[a-c]x[^0-9]", "bx1"));
        assert!(m("^api$", "api"));
        assert!(m("\\d{3}", "500"));
        assert!(!m("\\d{3}", "50"));
        assert!(m("a{2,}", "aaaa"));
        assert!(m("a{1,2}b", "aab"));
        assert!(!m("a{1,2}b", "aaab"));
        assert!(m("x\\.y", "x.y"));
        assert!(!m("x\\.y", "xzy"));
        assert!(m("", ""));
        assert!(m(".*", ""));
        assert!(m("(?:ab)*", "abab"));
        assert!(m("a{", "a{"), "a brace that is no repetition is literal");
        assert!(m("a.*?b", "axxb"));
    }

    #[test]
    fn promql_regex_is_linear_on_pathological_patterns() {
        let r = Regex::new("(a*)*b").unwrap();
        assert!(!r.is_match(&"a".repeat(10_000)));
    }

    #[test]
    fn promql_regex_refusals_name_the_construct() {
        assert!(Regex::new("(?i)abc").unwrap_err().contains("flags"));
        assert!(Regex::new("\\bx").unwrap_err().contains("`\\b`"));
        assert!(Regex::new("[[:alpha:]]").unwrap_err().contains("POSIX"));
        assert!(Regex::new("a)").unwrap_err().contains("unbalanced"));
        assert!(Regex::new("(a").unwrap_err().contains("missing `)`"));
        assert!(Regex::new("*a").unwrap_err().contains("nothing to repeat"));
        assert!(Regex::new("a^b").unwrap_err().contains("`^`"));
        assert!(Regex::new("a**").unwrap_err().contains("repetition"));
        assert!(Regex::new("(a{1000}){1000}").unwrap_err().contains("too large"));
        assert!(Regex::new("[z-a]").unwrap_err().contains("range"));
    }
}
