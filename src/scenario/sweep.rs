//! The `sweep:` block: a grid of settings versioned with the scenario (issue 4 fills this in).

use super::validate::Ctx;
use super::yaml::Node;

/// A sweep described in the scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// `(key, values)` pairs as written.
    pub set: Vec<(String, String)>,
}

/// Parses a `sweep:` block.
pub(super) fn parse(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SweepSpec> {
    ctx.err(node.pos, path, "`sweep:` is not supported yet");
    None
}
