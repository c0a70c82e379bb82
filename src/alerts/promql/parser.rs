//! Recursive-descent PromQL parser for the subset, with Prometheus' precedence
//! and type rules.
//!
//! Binary operators are parsed by precedence climbing over the levels of
//! Prometheus' grammar (`or` < `and unless` < comparisons < `+ -` < `* / %` < `^`,
//! all left-associative except `^`). A unary minus binds like `*` (so `-a * b` is
//! `(-a) * b`) but looser than `^` (`-2 ^ 2` is `-4`), as in Prometheus. Types are
//! checked while the tree is built, with Prometheus' messages where it has one.
//! Constructs outside the subset (subqueries, `@`, functions and aggregations not
//! listed, unknown metrics) are refused here, at parse time, with the byte span of
//! the offending text; nothing unsupported reaches the evaluator.

use super::ast::*;
use super::lexer::{Tok, Token, lex};
use super::names::{AGGREGATIONS, KEYWORDS, OTHER_AGGREGATIONS, OTHER_FUNCTIONS, describe, ms_text};
use super::regex::Regex;
use super::{ParseError, ParseOptions};
use crate::alerts::MetricKind;
use crate::input::edit_distance;

/// Deepest nesting of parentheses, calls and aggregations accepted.
const MAX_DEPTH: usize = 100;

/// Most binary operators in one expression. A chain `a + b + c ...` builds a
/// left-deep tree that evaluation walks recursively, so its length bounds the
/// evaluator's stack depth; real alert expressions use a handful.
const MAX_OPERATORS: usize = 200;

pub(super) struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    opts: &'a ParseOptions<'a>,
    depth: usize,
    operators: usize,
}

fn err<T>(span: Span, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { span, message: message.into() })
}

fn supported_functions() -> String {
    Func::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
}

fn closest<'k>(word: &str, candidates: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let limit = if word.len() <= 4 { 1 } else { 3 };
    candidates.into_iter().map(|c| (edit_distance(word, c), c)).filter(|(d, _)| *d <= limit).min().map(|(_, c)| c)
}

impl<'a> Parser<'a> {
    pub(super) fn parse(src: &str, opts: &'a ParseOptions<'a>) -> Result<Expr, ParseError> {
        let toks =
            lex(src).map_err(|e| ParseError { span: Span { start: e.at, end: e.at + 1 }, message: e.message })?;
        let mut p = Parser { toks, i: 0, opts, depth: 0, operators: 0 };
        if p.peek() == &Tok::Eof {
            return err(Span::default(), "the expression is empty");
        }
        let e = p.expr(1)?;
        if p.peek() != &Tok::Eof {
            let t = p.tok();
            return err(p.span_of(p.i), format!("unexpected {} after the end of the expression", describe(&t.tok)));
        }
        match e.ty() {
            Type::Vector | Type::Scalar => Ok(e),
            Type::Matrix => err(
                e.span,
                "an alert expression must give an instant vector or a scalar, not a range vector; wrap it in a function such as `rate(...)` or `max_over_time(...)`",
            ),
            Type::String => err(e.span, "an alert expression must give an instant vector or a scalar, not a string"),
        }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }

    fn tok(&self) -> Token {
        self.toks[self.i.min(self.toks.len() - 1)].clone()
    }

    fn span_of(&self, i: usize) -> Span {
        let t = &self.toks[i.min(self.toks.len() - 1)];
        Span { start: t.start, end: t.end.max(t.start + 1) }
    }

    fn prev_end(&self) -> usize {
        self.toks[self.i.saturating_sub(1)].end
    }

    fn advance(&mut self) -> Token {
        let t = self.tok();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<Token, ParseError> {
        if *self.peek() == want {
            return Ok(self.advance());
        }
        let t = self.tok();
        err(self.span_of(self.i), format!("expected {what}, found {}", describe(&t.tok)))
    }

    fn enter(&mut self, span: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(span, format!("the expression nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn peek_binop(&self) -> Result<Option<BinOp>, ParseError> {
        Ok(Some(match self.peek() {
            Tok::Add => BinOp::Add,
            Tok::Sub => BinOp::Sub,
            Tok::Mul => BinOp::Mul,
            Tok::Div => BinOp::Div,
            Tok::Mod => BinOp::Mod,
            Tok::Pow => BinOp::Pow,
            Tok::Eql => BinOp::Eql,
            Tok::Neq => BinOp::Neq,
            Tok::Gtr => BinOp::Gtr,
            Tok::Lss => BinOp::Lss,
            Tok::Gte => BinOp::Gte,
            Tok::Lte => BinOp::Lte,
            Tok::Ident(w) if w.eq_ignore_ascii_case("and") => BinOp::And,
            Tok::Ident(w) if w.eq_ignore_ascii_case("or") => BinOp::Or,
            Tok::Ident(w) if w.eq_ignore_ascii_case("unless") => BinOp::Unless,
            Tok::Ident(w) if w.eq_ignore_ascii_case("atan2") => {
                return err(self.span_of(self.i), "the `atan2` operator is not supported");
            }
            _ => return Ok(None),
        }))
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_binop()? {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            let op_span = self.span_of(self.i);
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return err(op_span, format!("the expression has more than {MAX_OPERATORS} operators"));
            }
            self.advance();
            let mut return_bool = false;
            if self.is_keyword("bool") {
                if !op.is_comparison() {
                    return err(self.span_of(self.i), "bool modifier can only be used on comparison operators");
                }
                return_bool = true;
                self.advance();
            }
            let matching = self.matching(op)?;
            // `^` is right-associative: its right operand may hold another `^`.
            let next = if op == BinOp::Pow { prec } else { prec + 1 };
            self.enter(op_span)?;
            let rhs = self.expr(next)?;
            self.depth -= 1;
            lhs = make_binary(op, op_span, lhs, rhs, return_bool, matching)?;
        }
        Ok(lhs)
    }

    fn matching(&mut self, op: BinOp) -> Result<Option<(VectorMatching, Span)>, ParseError> {
        let on = if self.is_keyword("on") {
            true
        } else if self.is_keyword("ignoring") {
            false
        } else if self.is_keyword("group_left") || self.is_keyword("group_right") {
            return err(self.span_of(self.i), "`group_left`/`group_right` must follow `on(...)` or `ignoring(...)`");
        } else {
            return Ok(None);
        };
        let start = self.span_of(self.i).start;
        let mut m = VectorMatching { on, ..Default::default() };
        self.advance();
        m.labels = self.label_list()?;
        let side = if self.is_keyword("group_left") {
            Some(Side::Left)
        } else if self.is_keyword("group_right") {
            Some(Side::Right)
        } else {
            None
        };
        if let Some(side) = side {
            let span = self.span_of(self.i);
            if op.is_set() {
                return err(span, format!("no grouping allowed for \"{}\" operation", op.as_str()));
            }
            self.advance();
            let include = if *self.peek() == Tok::LParen { self.label_list()? } else { Vec::new() };
            if m.on
                && let Some(l) = include.iter().find(|l| m.labels.contains(l))
            {
                return err(span, format!("label \"{l}\" must not occur in ON and GROUP clause at once"));
            }
            m.group = Some((side, include));
        }
        Ok(Some((m, Span { start, end: self.prev_end() })))
    }

    fn label_list(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect(Tok::LParen, "`(` opening a list of label names")?;
        let mut out = Vec::new();
        loop {
            match self.tok().tok {
                Tok::RParen => {
                    self.advance();
                    return Ok(out);
                }
                Tok::Ident(name) => {
                    self.advance();
                    out.push(name);
                    match self.peek() {
                        Tok::Comma => {
                            self.advance();
                        }
                        Tok::RParen => {}
                        t => {
                            return err(
                                self.span_of(self.i),
                                format!("expected `,` or `)` in a label list, found {}", describe(t)),
                            );
                        }
                    }
                }
                t => return err(self.span_of(self.i), format!("expected a label name or `)`, found {}", describe(&t))),
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let t = self.tok();
        if matches!(t.tok, Tok::Sub | Tok::Add) {
            self.advance();
            self.enter(self.span_of(self.i - 1))?;
            // Binds like `*`: the operand is a `^` chain at most.
            let operand = self.expr(BinOp::Pow.precedence())?;
            self.depth -= 1;
            if !matches!(operand.ty(), Type::Scalar | Type::Vector) {
                return err(
                    operand.span,
                    format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                        operand.ty().name()
                    ),
                );
            }
            let span = Span { start: t.start, end: operand.span.end };
            return Ok(if t.tok == Tok::Sub {
                Expr { kind: ExprKind::Neg(Box::new(operand)), span }
            } else {
                Expr { kind: operand.kind, span }
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        if *self.peek() == Tok::LBracket {
            let open = self.span_of(self.i);
            let ExprKind::Selector(sel) = &e.kind else {
                if self.bracket_has_colon() {
                    return err(
                        open,
                        "subqueries (`expr[range:step]`) are not supported; use a range selector on a metric, e.g. `max_over_time(m[5m])`",
                    );
                }
                return err(open, "ranges are only allowed on vector selectors, e.g. `rate(m[5m])`");
            };
            if sel.offset_ms != 0 {
                return err(open, "a range must come before `offset`: write `m[5m] offset 1m`");
            }
            let sel = sel.clone();
            self.advance();
            let d = self.tok();
            let range_ms = match d.tok {
                Tok::Duration(ms) if ms > 0 => ms,
                Tok::Duration(_) => return err(self.span_of(self.i), "a range must be longer than zero"),
                Tok::Number(n) => {
                    return err(self.span_of(self.i), format!("a range needs a unit: write e.g. `[{n}s]` or `[5m]`"));
                }
                ref t => {
                    return err(
                        self.span_of(self.i),
                        format!("expected a duration such as `5m` in the range, found {}", describe(t)),
                    );
                }
            };
            self.advance();
            if *self.peek() == Tok::Colon {
                return err(self.span_of(self.i), "subqueries (`expr[range:step]`) are not supported");
            }
            self.expect(Tok::RBracket, "`]` closing the range")?;
            e = Expr {
                kind: ExprKind::Range { selector: sel, range_ms },
                span: Span { start: e.span.start, end: self.prev_end() },
            };
        }
        if self.is_keyword("offset") {
            let at = self.span_of(self.i);
            self.advance();
            let neg = if *self.peek() == Tok::Sub {
                self.advance();
                true
            } else {
                false
            };
            let ms = match self.peek() {
                Tok::Duration(ms) => *ms,
                t => {
                    return err(
                        self.span_of(self.i),
                        format!("expected a duration such as `5m` after `offset`, found {}", describe(t)),
                    );
                }
            };
            self.advance();
            let ms = if neg { -ms } else { ms };
            let end = self.prev_end();
            match &mut e.kind {
                ExprKind::Selector(s) | ExprKind::Range { selector: s, .. } if s.offset_ms == 0 => s.offset_ms = ms,
                ExprKind::Selector(_) | ExprKind::Range { .. } => {
                    return err(at, "offset may not be set multiple times");
                }
                _ => {
                    return err(
                        at,
                        "offset modifier must be preceded by an instant vector selector or range vector selector",
                    );
                }
            }
            e.span.end = end;
            if *self.peek() == Tok::LBracket {
                return err(self.span_of(self.i), "a range must come before `offset`: write `m[5m] offset 1m`");
            }
        }
        if *self.peek() == Tok::At {
            return err(
                self.span_of(self.i),
                "the `@` modifier is not supported: rules are evaluated at each evaluation time",
            );
        }
        Ok(e)
    }

    /// Whether the bracket at the cursor holds a `:` before its `]` (a subquery).
    fn bracket_has_colon(&self) -> bool {
        let mut k = 1;
        loop {
            match self.peek_at(k) {
                Tok::Colon => return true,
                Tok::RBracket | Tok::Eof => return false,
                _ => k += 1,
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.tok();
        let span = self.span_of(self.i);
        match t.tok {
            Tok::Number(v) => {
                self.advance();
                Ok(Expr { kind: ExprKind::Number(v), span })
            }
            Tok::Duration(ms) => err(
                span,
                format!(
                    "a duration (`{}`) is not a value here; durations go in ranges `[5m]` and after `offset`",
                    ms_text(ms)
                ),
            ),
            Tok::Str(s) => {
                self.advance();
                Ok(Expr { kind: ExprKind::Str(s), span })
            }
            Tok::LParen => {
                self.advance();
                self.enter(span)?;
                let inner = self.expr(1)?;
                self.depth -= 1;
                self.expect(Tok::RParen, "`)`")?;
                Ok(Expr {
                    kind: ExprKind::Paren(Box::new(inner)),
                    span: Span { start: span.start, end: self.prev_end() },
                })
            }
            Tok::LBrace => self.selector(None, span.start),
            Tok::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                if let Some(&(_, op)) = AGGREGATIONS.iter().find(|(n, _)| *n == lower) {
                    return self.aggregation(op, span);
                }
                if OTHER_AGGREGATIONS.contains(&lower.as_str()) {
                    return err(
                        span,
                        format!("unsupported aggregation `{word}`; supported: sum, min, max, avg, count"),
                    );
                }
                if KEYWORDS.contains(&lower.as_str()) {
                    return err(span, format!("unexpected keyword `{word}`"));
                }
                self.advance();
                if *self.peek() == Tok::LParen {
                    return self.call(&word, span);
                }
                self.selector(Some((word, span)), span.start)
            }
            Tok::Eof => err(span, "unexpected end of the expression"),
            ref other => err(span, format!("unexpected {}", describe(other))),
        }
    }

    fn grouping(&mut self) -> Result<Option<(bool, Vec<String>)>, ParseError> {
        let without = if self.is_keyword("by") {
            false
        } else if self.is_keyword("without") {
            true
        } else {
            return Ok(None);
        };
        self.advance();
        Ok(Some((without, self.label_list()?)))
    }

    fn aggregation(&mut self, op: AggOp, span: Span) -> Result<Expr, ParseError> {
        self.advance();
        let before = self.grouping()?;
        self.enter(span)?;
        self.expect(Tok::LParen, "`(` after the aggregation")?;
        let arg = self.expr(1)?;
        if *self.peek() == Tok::Comma {
            return err(self.span_of(self.i), "this aggregation takes one argument");
        }
        self.expect(Tok::RParen, "`)` closing the aggregation")?;
        self.depth -= 1;
        let after_span = self.span_of(self.i);
        let after = self.grouping()?;
        if before.is_some() && after.is_some() {
            return err(after_span, "the grouping (`by`/`without`) is given twice");
        }
        if arg.ty() != Type::Vector {
            return err(
                arg.span,
                format!("expected type instant vector in aggregation expression, got {}", arg.ty().name()),
            );
        }
        let (without, grouping) = before.or(after).unwrap_or((false, Vec::new()));
        let span = Span { start: span.start, end: self.prev_end() };
        Ok(Expr { kind: ExprKind::Aggregate(Box::new(Aggregate { op, without, grouping, expr: arg })), span })
    }

    fn call(&mut self, name: &str, span: Span) -> Result<Expr, ParseError> {
        let Some(func) = Func::from_name(name) else {
            if OTHER_FUNCTIONS.contains(&name) {
                return err(span, format!("unsupported function `{name}`; supported: {}", supported_functions()));
            }
            // A supported function is the likelier intent: suggest those first.
            let near = closest(name, Func::ALL.iter().map(|f| f.name()))
                .or_else(|| closest(name, OTHER_FUNCTIONS.iter().copied()));
            let hint = near.map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
            return err(span, format!("unknown function `{name}`{hint}; supported: {}", supported_functions()));
        };
        self.enter(span)?;
        self.advance(); // (
        let mut args = Vec::new();
        if *self.peek() != Tok::RParen {
            loop {
                args.push(self.expr(1)?);
                if *self.peek() == Tok::Comma {
                    self.advance();
                    continue;
                }
                break;
            }
        }
        self.expect(Tok::RParen, "`,` or `)` in the function call")?;
        self.depth -= 1;
        let call_span = Span { start: span.start, end: self.prev_end() };
        let (want, _) = func.signature();
        if args.len() != want.len() {
            let s = if want.len() == 1 { "" } else { "s" };
            return err(call_span, format!("function `{name}` takes {} argument{s}, got {}", want.len(), args.len()));
        }
        for (a, &w) in args.iter().zip(want) {
            if a.ty() != w {
                let hint = match (w, a.ty()) {
                    (Type::Matrix, Type::Vector) => format!(" (write e.g. `{name}(m[5m])`)"),
                    (Type::Vector, Type::Matrix) if func == Func::HistogramQuantile => {
                        " (write `histogram_quantile(0.99, sum by (le) (rate(m_bucket[5m])))`)".to_string()
                    }
                    (Type::Scalar, Type::Vector) if func == Func::HistogramQuantile => {
                        " (the quantile comes first: `histogram_quantile(0.99, ...)`)".to_string()
                    }
                    _ => String::new(),
                };
                return err(
                    a.span,
                    format!("expected type {} in call to function `{name}`, got {}{hint}", w.name(), a.ty().name()),
                );
            }
        }
        Ok(Expr { kind: ExprKind::Call { func, args }, span: call_span })
    }

    fn selector(&mut self, name: Option<(String, Span)>, start: usize) -> Result<Expr, ParseError> {
        let mut matchers: Vec<(Matcher, Span)> = Vec::new();
        let mut name = name;
        if *self.peek() == Tok::LBrace {
            self.advance();
            loop {
                let t = self.tok();
                let label_span = self.span_of(self.i);
                let label = match t.tok {
                    Tok::RBrace => {
                        self.advance();
                        break;
                    }
                    Tok::Ident(l) => l,
                    Tok::Str(_) => return err(label_span, "quoted label names are not supported; write the name bare"),
                    ref other => return err(label_span, format!("expected a label name, found {}", describe(other))),
                };
                self.advance();
                let op = match self.peek() {
                    Tok::Assign => MatchOp::Equal,
                    Tok::Neq => MatchOp::NotEqual,
                    Tok::EqRegex => MatchOp::Regex,
                    Tok::NeqRegex => MatchOp::NotRegex,
                    Tok::Eql => return err(self.span_of(self.i), "label matchers use `=`, not `==`"),
                    t => {
                        return err(
                            self.span_of(self.i),
                            format!(
                                "expected a label matching operator (`=`, `!=`, `=~`, `!~`) after `{label}`, found {}",
                                describe(t)
                            ),
                        );
                    }
                };
                self.advance();
                let vspan = self.span_of(self.i);
                let Tok::Str(value) = self.tok().tok else {
                    return err(
                        vspan,
                        format!("expected a quoted string as the value of label `{label}` (e.g. `{label}=\"x\"`)"),
                    );
                };
                self.advance();
                let regex =
                    match op {
                        MatchOp::Regex | MatchOp::NotRegex => Some(Regex::new(&value).map_err(|m| ParseError {
                            span: vspan,
                            message: format!("regex for label `{label}`: {m}"),
                        })?),
                        _ => None,
                    };
                let span = Span { start: label_span.start, end: vspan.end };
                if label == "__name__" {
                    if op != MatchOp::Equal {
                        return err(
                            span,
                            "only `__name__=\"...\"` is supported for the metric name (no regex or negation)",
                        );
                    }
                    if name.is_some() {
                        return err(span, "the metric name is given twice");
                    }
                    name = Some((value, vspan));
                } else {
                    matchers.push((Matcher { label, op, value, regex }, span));
                }
                match self.peek() {
                    Tok::Comma => {
                        self.advance();
                    }
                    Tok::RBrace => {}
                    t => {
                        return err(
                            self.span_of(self.i),
                            format!("expected `,` or `}}` in the label matchers, found {}", describe(t)),
                        );
                    }
                }
            }
        }
        let span = Span { start, end: self.prev_end() };
        let Some((name, name_span)) = name else {
            return err(span, "a selector needs a metric name, e.g. `db_pool_used_size{pool=\"api\"}`");
        };
        self.check_metric(&name, name_span, &matchers)?;
        let matchers = matchers.into_iter().map(|(m, _)| m).collect();
        Ok(Expr { kind: ExprKind::Selector(Selector { name, matchers, offset_ms: 0 }), span })
    }

    /// Refuses metric names and label names outside the caller's catalogue.
    fn check_metric(&self, name: &str, span: Span, matchers: &[(Matcher, Span)]) -> Result<(), ParseError> {
        let Some(known) = self.opts.metrics else { return Ok(()) };
        let mut selectable: Vec<(String, Vec<&str>)> = Vec::new();
        for k in known {
            let labels: Vec<&str> = k.labels.iter().map(String::as_str).collect();
            if k.kind == MetricKind::Histogram {
                if k.name == name {
                    return err(
                        span,
                        format!(
                            "`{name}` is a histogram: select `{name}_bucket` (with `histogram_quantile`), `{name}_sum` or `{name}_count`"
                        ),
                    );
                }
                let mut with_le = labels.clone();
                with_le.push("le");
                selectable.push((format!("{}_bucket", k.name), with_le));
                selectable.push((format!("{}_sum", k.name), labels.clone()));
                selectable.push((format!("{}_count", k.name), labels));
            } else {
                selectable.push((k.name.clone(), labels));
            }
        }
        let Some((_, labels)) = selectable.iter().find(|(n, _)| n == name) else {
            let hint = closest(name, selectable.iter().map(|(n, _)| n.as_str()))
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            let all: Vec<&str> = selectable.iter().map(|(n, _)| n.as_str()).collect();
            return err(span, format!("unknown metric `{name}`{hint}; known metrics: {}", all.join(", ")));
        };
        for (m, mspan) in matchers {
            if !labels.contains(&m.label.as_str()) {
                let hint = closest(&m.label, labels.iter().copied())
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                let have = if labels.is_empty() {
                    "it has no labels".to_string()
                } else {
                    format!("its labels: {}", labels.join(", "))
                };
                return err(*mspan, format!("metric `{name}` has no label `{}`{hint}; {have}", m.label));
            }
        }
        Ok(())
    }
}

/// Builds a binary node after Prometheus' type checks.
fn make_binary(
    op: BinOp,
    op_span: Span,
    lhs: Expr,
    rhs: Expr,
    return_bool: bool,
    matching: Option<(VectorMatching, Span)>,
) -> Result<Expr, ParseError> {
    for side in [&lhs, &rhs] {
        if !matches!(side.ty(), Type::Scalar | Type::Vector) {
            let hint =
                if side.ty() == Type::Matrix { " (wrap the range in a function such as `rate(...)`)" } else { "" };
            return err(
                side.span,
                format!(
                    "binary expression must contain only scalar and instant vector types, got {}{hint}",
                    side.ty().name()
                ),
            );
        }
    }
    let both_vectors = lhs.ty() == Type::Vector && rhs.ty() == Type::Vector;
    if op.is_set() && !both_vectors {
        return err(op_span, format!("set operator \"{}\" not allowed in binary scalar expression", op.as_str()));
    }
    if lhs.ty() == Type::Scalar && rhs.ty() == Type::Scalar && op.is_comparison() && !return_bool {
        return err(op_span, "comparisons between scalars must use BOOL modifier");
    }
    if let Some((_, mspan)) = &matching
        && !both_vectors
    {
        return err(*mspan, "vector matching only allowed between instant vectors");
    }
    let span = Span { start: lhs.span.start, end: rhs.span.end };
    let matching = matching.map(|(m, _)| m).unwrap_or_default();
    Ok(Expr { kind: ExprKind::Binary(Box::new(Binary { op, lhs, rhs, return_bool, matching })), span })
}
