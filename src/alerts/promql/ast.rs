//! The syntax tree of a parsed expression. Every node keeps the byte span of the
//! text it came from, so evaluation problems can be pointed at too.

use super::regex::Regex;

/// `[start, end)` byte offsets into the expression text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// Just past the last byte.
    pub end: usize,
}

/// The type of value an expression produces (Prometheus' `ValueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A single number.
    Scalar,
    /// An instant vector: one sample per series.
    Vector,
    /// A range vector: samples over a window per series (only as a function argument).
    Matrix,
    /// A string (never a valid result in the subset).
    String,
}

impl Type {
    /// The name Prometheus uses in messages.
    pub fn name(self) -> &'static str {
        match self {
            Type::Scalar => "scalar",
            Type::Vector => "instant vector",
            Type::Matrix => "range vector",
            Type::String => "string",
        }
    }
}

/// An expression node.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of node.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number literal.
    Number(f64),
    /// A string literal (only reaches the tree to be refused with a position).
    Str(String),
    /// An instant vector selector.
    Selector(Selector),
    /// A range vector selector: `selector[range]`.
    Range {
        /// The series selected.
        selector: Selector,
        /// The window length, in ms.
        range_ms: i64,
    },
    /// `-expr` (`+expr` is folded away).
    Neg(Box<Expr>),
    /// `(expr)`.
    Paren(Box<Expr>),
    /// A binary operation.
    Binary(Box<Binary>),
    /// An aggregation over series.
    Aggregate(Box<Aggregate>),
    /// A function call.
    Call {
        /// The function.
        func: Func,
        /// Its arguments, type-checked.
        args: Vec<Expr>,
    },
}

/// A series selector with its matchers and offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// The metric name.
    pub name: String,
    /// Label matchers other than the name.
    pub matchers: Vec<Matcher>,
    /// `offset` in ms (positive looks back).
    pub offset_ms: i64,
}

/// How a label matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (anchored)
    Regex,
    /// `!~` (anchored)
    NotRegex,
}

/// One label matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    /// The label name.
    pub label: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or pattern as written.
    pub value: String,
    /// The compiled pattern for `=~` and `!~`.
    pub regex: Option<Regex>,
}

impl Matcher {
    /// Whether a label value (empty when the label is absent) matches.
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }
}

/// Binary operators, by precedence group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
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
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinOp {
    /// Binding strength, as in Prometheus' grammar: `or` < `and`/`unless` <
    /// comparisons < `+ -` < `* / %` < `^`.
    pub fn precedence(self) -> u8 {
        use BinOp::*;
        match self {
            Or => 1,
            And | Unless => 2,
            Eql | Neq | Gtr | Lss | Gte | Lte => 3,
            Add | Sub => 4,
            Mul | Div | Mod => 5,
            Pow => 6,
        }
    }

    /// Whether this is a comparison (filters unless `bool`).
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte)
    }

    /// Whether this is `and`, `or` or `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Pow => "^",
            Eql => "==",
            Neq => "!=",
            Gtr => ">",
            Lss => "<",
            Gte => ">=",
            Lte => "<=",
            And => "and",
            Or => "or",
            Unless => "unless",
        }
    }
}

/// Which labels two vectors are matched on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VectorMatching {
    /// `on(...)` when true, `ignoring(...)` (or nothing) when false.
    pub on: bool,
    /// The labels listed.
    pub labels: Vec<String>,
    /// `group_left` / `group_right`, with the labels copied from the "one" side.
    pub group: Option<(Side, Vec<String>)>,
}

/// The side with higher cardinality in a many-to-one match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `group_left`: many on the left.
    Left,
    /// `group_right`: many on the right.
    Right,
}

/// A binary operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    /// The operator.
    pub op: BinOp,
    /// Left operand.
    pub lhs: Expr,
    /// Right operand.
    pub rhs: Expr,
    /// `bool` modifier on a comparison.
    pub return_bool: bool,
    /// Vector matching (defaults to all labels but the name).
    pub matching: VectorMatching,
}

/// Aggregation operators of the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggOp {
    /// `sum`
    Sum,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `avg`
    Avg,
    /// `count`
    Count,
}

/// An aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The operator.
    pub op: AggOp,
    /// `without (...)` when true, `by (...)` (or nothing) when false.
    pub without: bool,
    /// The grouping labels.
    pub grouping: Vec<String>,
    /// The aggregated expression.
    pub expr: Expr,
}

/// Functions of the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Func {
    /// `abs(v)`
    Abs,
    /// `avg_over_time(m)`
    AvgOverTime,
    /// `ceil(v)`
    Ceil,
    /// `clamp(v, min, max)`
    Clamp,
    /// `clamp_max(v, max)`
    ClampMax,
    /// `clamp_min(v, min)`
    ClampMin,
    /// `count_over_time(m)`
    CountOverTime,
    /// `delta(m)`
    Delta,
    /// `floor(v)`
    Floor,
    /// `histogram_quantile(q, v)`
    HistogramQuantile,
    /// `idelta(m)`
    Idelta,
    /// `increase(m)`
    Increase,
    /// `irate(m)`
    Irate,
    /// `last_over_time(m)`
    LastOverTime,
    /// `max_over_time(m)`
    MaxOverTime,
    /// `min_over_time(m)`
    MinOverTime,
    /// `rate(m)`
    Rate,
    /// `scalar(v)`
    Scalar,
    /// `sum_over_time(m)`
    SumOverTime,
    /// `time()`
    Time,
    /// `vector(s)`
    Vector,
}

impl Func {
    /// Every function of the subset, alphabetically.
    pub const ALL: &'static [Func] = &[
        Func::Abs,
        Func::AvgOverTime,
        Func::Ceil,
        Func::Clamp,
        Func::ClampMax,
        Func::ClampMin,
        Func::CountOverTime,
        Func::Delta,
        Func::Floor,
        Func::HistogramQuantile,
        Func::Idelta,
        Func::Increase,
        Func::Irate,
        Func::LastOverTime,
        Func::MaxOverTime,
        Func::MinOverTime,
        Func::Rate,
        Func::Scalar,
        Func::SumOverTime,
        Func::Time,
        Func::Vector,
    ];

    /// The name as written.
    pub fn name(self) -> &'static str {
        use Func::*;
        match self {
            Abs => "abs",
            AvgOverTime => "avg_over_time",
            Ceil => "ceil",
            Clamp => "clamp",
            ClampMax => "clamp_max",
            ClampMin => "clamp_min",
            CountOverTime => "count_over_time",
            Delta => "delta",
            Floor => "floor",
            HistogramQuantile => "histogram_quantile",
            Idelta => "idelta",
            Increase => "increase",
            Irate => "irate",
            LastOverTime => "last_over_time",
            MaxOverTime => "max_over_time",
            MinOverTime => "min_over_time",
            Rate => "rate",
            Scalar => "scalar",
            SumOverTime => "sum_over_time",
            Time => "time",
            Vector => "vector",
        }
    }

    /// Looks a name up.
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Argument types and the result type.
    pub fn signature(self) -> (&'static [Type], Type) {
        use Func::*;
        use Type::{Matrix as M, Scalar as S, Vector as V};
        match self {
            Abs | Ceil | Floor => (&[V], V),
            AvgOverTime | CountOverTime | Delta | Idelta | Increase | Irate | LastOverTime | MaxOverTime
            | MinOverTime | Rate | SumOverTime => (&[M], V),
            Clamp => (&[V, S, S], V),
            ClampMax | ClampMin => (&[V, S], V),
            HistogramQuantile => (&[S, V], V),
            Scalar => (&[V], S),
            Time => (&[], S),
            Vector => (&[S], V),
        }
    }
}

impl Expr {
    /// The type of value this expression evaluates to.
    pub fn ty(&self) -> Type {
        match &self.kind {
            ExprKind::Number(_) => Type::Scalar,
            ExprKind::Str(_) => Type::String,
            ExprKind::Selector(_) => Type::Vector,
            ExprKind::Range { .. } => Type::Matrix,
            ExprKind::Neg(e) | ExprKind::Paren(e) => e.ty(),
            ExprKind::Binary(b) => {
                if b.lhs.ty() == Type::Scalar && b.rhs.ty() == Type::Scalar {
                    Type::Scalar
                } else {
                    Type::Vector
                }
            }
            ExprKind::Aggregate(_) => Type::Vector,
            ExprKind::Call { func, .. } => func.signature().1,
        }
    }
}
