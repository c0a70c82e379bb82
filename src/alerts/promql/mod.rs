//! The PromQL subset: lexer, parser, syntax tree and evaluator.
//!
//! [`parse_expr`] turns expression text into an [`Expr`] whose every node keeps its
//! byte span; anything outside the subset is refused there, with the span of the
//! offending text and the list of what is supported. [`eval()`] evaluates an
//! expression at one instant over a [`SeriesStore`](crate::alerts::SeriesStore),
//! with Prometheus 3's semantics (see `docs/alerts.md` for the subset and the
//! rules followed).

pub mod ast;
pub mod eval;
mod functions;
pub mod lexer;
mod names;
mod parser;
pub mod regex;
mod value;

pub use ast::{Expr, Span, Type};
pub use eval::eval;
pub use lexer::parse_duration;
pub use value::{EvalError, Sample, Value};

use crate::alerts::KnownMetric;

/// The default lookback of instant selectors: 5 minutes, as Prometheus.
pub const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// A problem in an expression, located by byte offsets into its text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The offending text.
    pub span: Span,
    /// What is wrong (and what is supported, for refusals).
    pub message: String,
}

/// What the parser accepts beyond the grammar.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions<'a> {
    /// The metrics selectors may name, with their labels. `None` accepts any name
    /// and any label (used by tests that mirror promtool fixtures).
    pub metrics: Option<&'a [KnownMetric]>,
}

/// Parses one expression of the subset. `metrics`: see [`ParseOptions::metrics`].
pub fn parse_expr(src: &str, metrics: Option<&[KnownMetric]>) -> Result<Expr, ParseError> {
    let opts = ParseOptions { metrics };
    parser::Parser::parse(src, &opts)
}

#[cfg(test)]
mod tests;
