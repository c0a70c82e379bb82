//! A YAML document as a tree of nodes that remember where they were written.
//!
//! We parse with `saphyr-parser`'s event stream and build our own small tree
//! instead of deserialising straight into structs: every node keeps its line and
//! column, so each validation message can name the file, line, column and the
//! key's path, and all problems can be reported at once rather than only the
//! first. The tree is also what `--set KEY=VALUE` overrides edit before
//! validation. Duplicate keys, deep nesting and multi-document files are refused
//! here.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Where a node starts in the source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub value: Value,
}

/// The shapes a YAML value can take. Scalars stay text until validation says what
/// they should be, so `"5"`, `5` and `5s` are told apart with their own messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar; `quoted` is true when it was written in quotes (always a string).
    Scalar {
        /// The text.
        text: String,
        /// Whether it was quoted.
        quoted: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order. Keys are scalars (validated on load).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub text: String,
    /// Where the key is written.
    pub pos: Pos,
}

/// A problem found while reading the YAML itself (before any key is interpreted).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where the problem is.
    pub pos: Pos,
    /// The key path leading to it, when known (e.g. `pool` for a duplicate key inside `pool`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The deepest nesting accepted; real scenarios are under 10 levels.
pub const MAX_DEPTH: usize = 64;

/// Most values that aliases (`*name`) may copy in one file, in total. Without a
/// limit, ten nested anchors of nine aliases each (a "billion laughs" file of a
/// few hundred bytes) would expand to 10^10 values and never finish.
pub const MAX_ALIAS_VALUES: usize = 100_000;

enum Frame {
    Seq(Pos, Vec<Node>),
    Map(Pos, Vec<(Key, Node)>, Option<Key>),
}

impl Node {
    /// A human name of the node's kind for messages ("a mapping", "a list", "`abc`").
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Scalar { text, .. } if text.is_empty() => "nothing (an empty value)".into(),
            Value::Scalar { text, .. } => {
                let shown: String = text.chars().take(40).collect();
                let more = if text.chars().count() > 40 { "..." } else { "" };
                format!("`{shown}{more}`")
            }
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }

    /// The value of `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// How many values the node holds, itself included.
    pub fn count(&self) -> usize {
        1 + match &self.value {
            Value::Scalar { .. } => 0,
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(entries) => entries.iter().map(|(_, n)| n.count()).sum(),
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Looks a dotted path up (`pool.max_size`, `workload.0.open.rate`); list
    /// elements are addressed by index.
    pub fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Node> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        let child = match &mut self.value {
            Value::Map(entries) => entries.iter_mut().find(|(k, _)| k.text == *first).map(|(_, v)| v),
            Value::Seq(items) => first.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            Value::Scalar { .. } => None,
        }?;
        child.get_path_mut(rest)
    }
}

/// Parses one YAML document into a [`Node`] tree.
pub fn parse(src: &str) -> Result<Node, SyntaxError> {
    let mut parser = Parser::new_from_str(src);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node, usize)> = Vec::new();
    let mut alias_values = 0usize;
    let mut pending_anchor: Vec<Option<usize>> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;

    while let Some(item) = parser.next_event() {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
            path: path_of(&stack),
            message: format!("invalid YAML: {}", e.info()),
        })?;
        let pos = Pos { line: span.start.line(), col: span.start.col() + 1 };
        let done: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        pos,
                        path: String::new(),
                        message: "a scenario file holds one YAML document; found a second `---`".into(),
                    });
                }
                None
            }
            Event::Alias(id) => {
                let found = anchors.iter().rev().find(|(a, _, _)| *a == id);
                if let Some((_, _, size)) = found {
                    alias_values += size;
                    if alias_values > MAX_ALIAS_VALUES {
                        return Err(SyntaxError {
                            pos,
                            path: path_of(&stack),
                            message: format!(
                                "aliases copy more than {MAX_ALIAS_VALUES} values in total; a scenario needs far fewer (is this an alias bomb?)"
                            ),
                        });
                    }
                }
                match found.map(|(_, n, _)| n.clone()) {
                    Some(mut n) => {
                        n.pos = pos;
                        Some((n, 0))
                    }
                    None => {
                        return Err(SyntaxError {
                            pos,
                            path: path_of(&stack),
                            message: "alias refers to an unknown anchor".into(),
                        });
                    }
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                Some((Node { pos, value: Value::Scalar { text: text.into_owned(), quoted } }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                push_frame(&mut stack, &mut pending_anchor, Frame::Seq(pos, Vec::new()), anchor, pos)?;
                None
            }
            Event::MappingStart(anchor, _) => {
                push_frame(&mut stack, &mut pending_anchor, Frame::Map(pos, Vec::new(), None), anchor, pos)?;
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let anchor = pending_anchor.pop().flatten().unwrap_or(0);
                match stack.pop() {
                    Some(Frame::Seq(p, items)) => Some((Node { pos: p, value: Value::Seq(items) }, anchor)),
                    Some(Frame::Map(p, entries, _)) => Some((Node { pos: p, value: Value::Map(entries) }, anchor)),
                    None => None,
                }
            }
        };
        let Some((node, anchor)) = done else { continue };
        if anchor != 0 {
            anchors.push((anchor, node.clone(), node.count()));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(_, items)) => items.push(node),
            Some(Frame::Map(_, entries, key)) => match key.take() {
                None => {
                    let Value::Scalar { text, .. } = node.value else {
                        return Err(SyntaxError {
                            pos: node.pos,
                            path: path_of(&stack),
                            message: "mapping keys must be plain names, not lists or mappings".into(),
                        });
                    };
                    if entries.iter().any(|(k, _)| k.text == text) {
                        let first =
                            entries.iter().find(|(k, _)| k.text == text).map(|(k, _)| k.pos).unwrap_or_default();
                        let mut path = path_of(&stack);
                        push_segment(&mut path, &text);
                        return Err(SyntaxError {
                            pos: node.pos,
                            path,
                            message: format!(
                                "duplicate key `{text}` (first written at line {}, column {}); each key may appear once",
                                first.line, first.col
                            ),
                        });
                    }
                    *key = Some(Key { text, pos: node.pos });
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }
    root.ok_or_else(|| SyntaxError {
        pos: Pos { line: 1, col: 1 },
        path: String::new(),
        message: "the file is empty; expected a scenario mapping with `name`, `pool` and `workload`".into(),
    })
}

fn push_frame(
    stack: &mut Vec<Frame>,
    anchors: &mut Vec<Option<usize>>,
    frame: Frame,
    anchor: usize,
    pos: Pos,
) -> Result<(), SyntaxError> {
    if stack.len() >= MAX_DEPTH {
        return Err(SyntaxError {
            pos,
            path: path_of(stack),
            message: format!("nesting deeper than {MAX_DEPTH} levels; a scenario needs far fewer"),
        });
    }
    stack.push(frame);
    anchors.push(Some(anchor));
    Ok(())
}

/// The dotted path of the frames on the stack (`workload.2.open`). A sequence
/// frame names the index of the element being built inside it.
fn path_of(stack: &[Frame]) -> String {
    let mut out = String::new();
    for (i, f) in stack.iter().enumerate() {
        match f {
            Frame::Seq(_, items) if i + 1 < stack.len() => push_segment(&mut out, &items.len().to_string()),
            Frame::Map(_, _, Some(k)) => push_segment(&mut out, &k.text),
            _ => {}
        }
    }
    out
}

/// Appends `seg` to a dotted path.
pub fn push_segment(path: &mut String, seg: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(seg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_bomb_is_refused_quickly() {
        let mut src = "a: &a [x, x, x, x, x, x, x, x, x]\n".to_string();
        let names: Vec<char> = "abcdefghijk".chars().collect();
        for w in names.windows(2) {
            let (prev, name) = (w[0], w[1]);
            src.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let e = parse(&src).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e:?}");
        // Ordinary aliases still work.
        let ok = parse("base: &b {max_size: 5}\nother: *b\n").unwrap();
        assert_eq!(ok.count(), 5);
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let n = parse("name: x\npool:\n  max_size: 5\n").unwrap();
        let Value::Map(entries) = &n.value else { panic!() };
        assert_eq!(entries[1].0.text, "pool");
        assert_eq!(entries[1].0.pos, Pos { line: 2, col: 1 });
        let Value::Map(inner) = &entries[1].1.value else { panic!() };
        assert_eq!(inner[0].1.pos, Pos { line: 3, col: 13 });
    }

    #[test]
    fn duplicate_keys_are_refused_with_both_positions() {
        let e = parse("pool:\n  max_size: 5\n  max_size: 6\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 3, col: 3 });
        assert_eq!(e.path, "pool.max_size");
        assert!(e.message.contains("line 2, column 3"), "{}", e.message);
    }

    #[test]
    fn tabs_and_broken_syntax_are_located() {
        let e = parse("pool:\n\tmax_size: 5\n").unwrap_err();
        assert_eq!(e.pos.line, 2);
        let e = parse("pool: {max_size: 5\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    }

    #[test]
    fn empty_and_deep_inputs_are_refused() {
        assert!(parse("").unwrap_err().message.contains("empty"));
        assert!(parse("# only a comment\n").unwrap_err().message.contains("empty"));
        assert!(parse(&"[".repeat(100)).unwrap_err().message.contains("nesting"));
        // The parser's own limit stops far deeper input before we build anything.
        assert!(parse(&"[".repeat(100_000)).is_err());
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let n = parse("a: &h {dist: constant, value: 1s}\nb: *h\n").unwrap();
        let Value::Map(e) = &n.value else { panic!() };
        assert_eq!(e[0].1.value, e[1].1.value);
    }

    #[test]
    fn paths_address_nested_nodes() {
        let mut n = parse("workload:\n  - open: {rate: 9/s}\n").unwrap();
        let r = n.get_path_mut(&["workload", "0", "open", "rate"]).unwrap();
        assert_eq!(r.as_scalar(), Some("9/s"));
    }
}
