//! Source positions for every node of a document, kept in a tree that mirrors the JSON value
//! (cheaper than a map from JSON pointer to position: no string per node, no hashing).
//! Map entries are stored in the same order as the `serde_json::Map` (the workspace enables
//! serde_json's `preserve_order`), so the n-th key of the map has the n-th position entry.

use serde_json::Value;

/// A 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Positions of one node and its children.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PosNode {
    Scalar(Pos),
    Seq(Pos, Vec<PosNode>),
    /// Start of the map, then (key position, value positions) per entry in map order.
    Map(Pos, Vec<(Pos, PosNode)>),
}

impl PosNode {
    pub fn start(&self) -> Pos {
        match self {
            PosNode::Scalar(p) | PosNode::Seq(p, _) | PosNode::Map(p, _) => *p,
        }
    }
}

/// Decodes one RFC 6901 reference token (`~1` is `/`, `~0` is `~`).
fn unescape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

/// Walks `pointer` through `value` and its positions. Returns (position of the key or item
/// that names the deepest existing node, position of that node's value).
pub(crate) fn lookup(value: &Value, positions: &PosNode, pointer: &str) -> (Pos, Pos) {
    let root = positions.start();
    let mut named_at = root;
    let mut value_at = root;
    let mut v = value;
    let mut p = positions;
    let Some(rest) = pointer.strip_prefix('/') else {
        return (root, root);
    };
    for token in rest.split('/') {
        let token = unescape(token);
        match (v, p) {
            (Value::Object(map), PosNode::Map(_, entries)) => {
                let Some((index, (_, child))) =
                    map.iter().enumerate().find(|(_, (k, _))| **k == *token)
                else {
                    break;
                };
                let Some((key_pos, child_pos)) = entries.get(index) else {
                    break;
                };
                v = child;
                p = child_pos;
                named_at = *key_pos;
                value_at = child_pos.start();
            }
            (Value::Array(items), PosNode::Seq(_, item_positions)) => {
                let Ok(index) = token.parse::<usize>() else {
                    break;
                };
                let (Some(child), Some(child_pos)) = (items.get(index), item_positions.get(index))
                else {
                    break;
                };
                v = child;
                p = child_pos;
                named_at = child_pos.start();
                value_at = named_at;
            }
            _ => break,
        }
    }
    (named_at, value_at)
}

/// The JSON pointers of the nodes (or map keys) that start exactly at one of `targets`
/// (the first found, depth-first), in one walk of the document: a document with thousands of
/// positions to name costs one walk, not one per position.
pub(crate) fn pointers_at(
    value: &Value,
    positions: &PosNode,
    targets: &std::collections::HashSet<Pos>,
) -> std::collections::HashMap<Pos, String> {
    use std::collections::HashMap;
    fn walk(
        v: &Value,
        p: &PosNode,
        targets: &std::collections::HashSet<Pos>,
        path: &mut String,
        found: &mut HashMap<Pos, String>,
    ) {
        if found.len() == targets.len() {
            return;
        }
        fn hit(
            pos: Pos,
            path: &str,
            targets: &std::collections::HashSet<Pos>,
            found: &mut HashMap<Pos, String>,
        ) {
            if targets.contains(&pos) {
                found.entry(pos).or_insert_with(|| path.to_string());
            }
        }
        match (v, p) {
            (Value::Object(map), PosNode::Map(_, entries)) => {
                for ((k, child), (key_pos, child_pos)) in map.iter().zip(entries) {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    hit(*key_pos, path, targets, found);
                    walk(child, child_pos, targets, path, found);
                    path.truncate(len);
                }
            }
            (Value::Array(items), PosNode::Seq(_, item_positions)) => {
                for (i, (child, child_pos)) in items.iter().zip(item_positions).enumerate() {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&i.to_string());
                    walk(child, child_pos, targets, path, found);
                    path.truncate(len);
                }
            }
            (_, PosNode::Scalar(pos)) => hit(*pos, path, targets, found),
            _ => {}
        }
    }
    let mut found = HashMap::new();
    walk(value, positions, targets, &mut String::new(), &mut found);
    found
}
