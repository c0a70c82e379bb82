//! The `expect:` block: assertions on a run's figures (issue 5 fills this in).

use super::validate::Ctx;
use super::yaml::Node;

/// One assertion on a figure of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Dotted path of the figure in `summary.json`.
    pub path: String,
}

/// Parses an `expect:` block.
pub(super) fn parse(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Vec<Expectation>> {
    ctx.err(node.pos, path, "`expect:` is not supported yet");
    None
}
