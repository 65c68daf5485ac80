//! Source positions for every node of a document.
//!
//! While a document is built, positions form a tree of [`PosNode`]s that mirrors the JSON
//! value. A finished [`Document`](crate::Document) keeps them as [`Positions`]: the same tree
//! flattened into one table of 12-byte slots (one allocation per document instead of one per
//! map or sequence, and half the bytes per node), which is what `check` holds for every object
//! of a repository.
//!
//! Map entries are stored in the same order as the `serde_json::Map` (the workspace enables
//! serde_json's `preserve_order`), so the n-th key of the map has the n-th position entry.
//! The tree keeps the shape the document had when it was parsed: engines that change the value
//! afterwards (kustomize patches, Flux variables) do not change its positions, and a lookup
//! that leaves the parsed shape stops at the deepest node both still share.

use serde_json::Value;
use std::collections::{HashMap, HashSet};

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

/// A node's kind in the high bits of a header slot's `link`; the low bits count its children.
const KIND_SHIFT: u32 = 30;
const COUNT_MASK: u32 = (1 << KIND_SHIFT) - 1;
const SCALAR: u32 = 0;
const SEQ: u32 = 1;
const MAP: u32 = 2;

/// One slot of a [`Positions`] table.
///
/// A node is a header slot (its start, and in `link` its kind and number of children). A map
/// or sequence header is followed by one slot per child: the key's position (for a map) or the
/// item's start (for a sequence), with in `link` the distance from the header to the child's
/// own header. The children's nodes come after these slots, so the n-th child of any node is
/// found in constant time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    line: u32,
    col: u32,
    link: u32,
}

impl Slot {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }
}

/// The positions of a document: a [`PosNode`] tree flattened into one table (see [`Slot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Positions(Box<[Slot]>);

/// A node of a [`Positions`] table, by the index of its header slot.
#[derive(Clone, Copy)]
struct NodeRef<'a> {
    slots: &'a [Slot],
    header: usize,
}

impl<'a> NodeRef<'a> {
    fn head(&self) -> Slot {
        self.slots.get(self.header).copied().unwrap_or(Slot {
            line: 1,
            col: 1,
            link: 0,
        })
    }

    fn start(&self) -> Pos {
        self.head().pos()
    }

    fn kind(&self) -> u32 {
        self.head().link >> KIND_SHIFT
    }

    fn len(&self) -> usize {
        match self.kind() {
            SCALAR => 0,
            _ => (self.head().link & COUNT_MASK) as usize,
        }
    }

    /// The n-th child: its key position (a map) or start (a sequence), and its node.
    fn child(&self, n: usize) -> Option<(Pos, NodeRef<'a>)> {
        if n >= self.len() {
            return None;
        }
        let slot = self.slots.get(self.header + 1 + n)?;
        let header = self.header + slot.link as usize;
        (header < self.slots.len()).then_some((
            slot.pos(),
            NodeRef {
                slots: self.slots,
                header,
            },
        ))
    }

    fn children(&self) -> impl Iterator<Item = (Pos, NodeRef<'a>)> + '_ {
        (0..self.len()).map_while(|n| self.child(n))
    }

    fn to_tree(self) -> PosNode {
        let start = self.start();
        match self.kind() {
            SEQ => PosNode::Seq(
                start,
                self.children().map(|(_, child)| child.to_tree()).collect(),
            ),
            MAP => PosNode::Map(
                start,
                self.children()
                    .map(|(key, child)| (key, child.to_tree()))
                    .collect(),
            ),
            _ => PosNode::Scalar(start),
        }
    }
}

impl Positions {
    /// A document that is one scalar (or empty) at `pos`.
    pub fn scalar(pos: Pos) -> Self {
        Positions::from_tree(&PosNode::Scalar(pos))
    }

    /// Flattens a built tree.
    pub fn from_tree(tree: &PosNode) -> Self {
        fn count(node: &PosNode) -> usize {
            match node {
                PosNode::Scalar(_) => 1,
                PosNode::Seq(_, items) => 1 + items.iter().map(|c| 1 + count(c)).sum::<usize>(),
                PosNode::Map(_, entries) => {
                    1 + entries.iter().map(|(_, c)| 1 + count(c)).sum::<usize>()
                }
            }
        }
        fn slot(pos: Pos, link: u32) -> Slot {
            Slot {
                line: pos.line,
                col: pos.col,
                link,
            }
        }
        fn header(kind: u32, pos: Pos, children: usize) -> Slot {
            // Documents are bounded far below 2^30 nodes (file size, alias expansion); a
            // larger count would only shorten what lookups can reach, never read out of bounds.
            let children = u32::try_from(children)
                .unwrap_or(COUNT_MASK)
                .min(COUNT_MASK);
            slot(pos, (kind << KIND_SHIFT) | children)
        }
        fn encode(node: &PosNode, out: &mut Vec<Slot>) {
            let at = out.len();
            let children: Vec<(Pos, &PosNode)> = match node {
                PosNode::Scalar(pos) => {
                    out.push(header(SCALAR, *pos, 0));
                    return;
                }
                PosNode::Seq(pos, items) => {
                    out.push(header(SEQ, *pos, items.len()));
                    items.iter().map(|c| (c.start(), c)).collect()
                }
                PosNode::Map(pos, entries) => {
                    out.push(header(MAP, *pos, entries.len()));
                    entries.iter().map(|(k, c)| (*k, c)).collect()
                }
            };
            for (pos, _) in &children {
                out.push(slot(*pos, 0));
            }
            for (n, (_, child)) in children.into_iter().enumerate() {
                let distance = u32::try_from(out.len() - at).unwrap_or(u32::MAX);
                out[at + 1 + n].link = distance;
                encode(child, out);
            }
        }
        let mut out = Vec::with_capacity(count(tree));
        encode(tree, &mut out);
        Positions(out.into_boxed_slice())
    }

    fn root(&self) -> NodeRef<'_> {
        NodeRef {
            slots: &self.0,
            header: 0,
        }
    }

    /// Where the document starts.
    pub fn start(&self) -> Pos {
        self.root().start()
    }

    /// The tree again (the inverse of [`Positions::from_tree`]).
    pub fn to_tree(&self) -> PosNode {
        self.root().to_tree()
    }

    /// Drops the `index`-th entry of the top-level map (nothing when the root is not a map or
    /// has fewer entries).
    pub fn remove_root_entry(&mut self, index: usize) {
        let mut tree = self.to_tree();
        if let PosNode::Map(_, entries) = &mut tree {
            if index < entries.len() {
                entries.remove(index);
                *self = Positions::from_tree(&tree);
            }
        }
    }
}

/// Walks `pointer` through `value` and its positions. Returns (position of the key or item
/// that names the deepest existing node, position of that node's value).
pub(crate) fn lookup(value: &Value, positions: &Positions, pointer: &str) -> (Pos, Pos) {
    let root = positions.start();
    let mut named_at = root;
    let mut value_at = root;
    let mut v = value;
    let mut p = positions.root();
    let Some(rest) = pointer.strip_prefix('/') else {
        return (root, root);
    };
    for token in rest.split('/') {
        let token = unescape(token);
        match (v, p.kind()) {
            (Value::Object(map), MAP) => {
                let Some((index, (_, child))) =
                    map.iter().enumerate().find(|(_, (k, _))| **k == *token)
                else {
                    break;
                };
                let Some((key_pos, child_pos)) = p.child(index) else {
                    break;
                };
                v = child;
                p = child_pos;
                named_at = key_pos;
                value_at = child_pos.start();
            }
            (Value::Array(items), SEQ) => {
                let Ok(index) = token.parse::<usize>() else {
                    break;
                };
                let (Some(child), Some((_, child_pos))) = (items.get(index), p.child(index)) else {
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
    positions: &Positions,
    targets: &HashSet<Pos>,
) -> HashMap<Pos, String> {
    fn hit(pos: Pos, path: &str, targets: &HashSet<Pos>, found: &mut HashMap<Pos, String>) {
        if targets.contains(&pos) {
            found.entry(pos).or_insert_with(|| path.to_string());
        }
    }
    fn walk(
        v: &Value,
        p: NodeRef<'_>,
        targets: &HashSet<Pos>,
        path: &mut String,
        found: &mut HashMap<Pos, String>,
    ) {
        if found.len() == targets.len() {
            return;
        }
        match (v, p.kind()) {
            (Value::Object(map), MAP) => {
                for ((k, child), (key_pos, child_pos)) in map.iter().zip(p.children()) {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    hit(key_pos, path, targets, found);
                    walk(child, child_pos, targets, path, found);
                    path.truncate(len);
                }
            }
            (Value::Array(items), SEQ) => {
                for (i, (child, (_, child_pos))) in items.iter().zip(p.children()).enumerate() {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&i.to_string());
                    walk(child, child_pos, targets, path, found);
                    path.truncate(len);
                }
            }
            (_, SCALAR) => hit(p.start(), path, targets, found),
            _ => {}
        }
    }
    let mut found = HashMap::new();
    walk(
        value,
        positions.root(),
        targets,
        &mut String::new(),
        &mut found,
    );
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pos(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }

    fn tree() -> PosNode {
        // {a: [x, {b: y}], c: z}
        PosNode::Map(
            pos(1, 1),
            vec![
                (
                    pos(1, 1),
                    PosNode::Seq(
                        pos(2, 3),
                        vec![
                            PosNode::Scalar(pos(2, 5)),
                            PosNode::Map(pos(3, 5), vec![(pos(3, 5), PosNode::Scalar(pos(3, 8)))]),
                        ],
                    ),
                ),
                (pos(4, 1), PosNode::Scalar(pos(4, 4))),
            ],
        )
    }

    #[test]
    fn the_flat_table_holds_the_whole_tree() {
        let tree = tree();
        let flat = Positions::from_tree(&tree);
        assert_eq!(flat.to_tree(), tree);
        // One slot per node plus one per map entry or sequence item.
        assert_eq!(flat.0.len(), 6 + 5);
        assert_eq!(Positions::scalar(pos(7, 2)).start(), pos(7, 2));
    }

    #[test]
    fn lookups_name_keys_items_and_values() {
        let value = json!({"a": ["x", {"b": "y"}], "c": "z"});
        let flat = Positions::from_tree(&tree());
        assert_eq!(lookup(&value, &flat, ""), (pos(1, 1), pos(1, 1)));
        assert_eq!(lookup(&value, &flat, "/a"), (pos(1, 1), pos(2, 3)));
        assert_eq!(lookup(&value, &flat, "/a/0"), (pos(2, 5), pos(2, 5)));
        assert_eq!(lookup(&value, &flat, "/a/1/b"), (pos(3, 5), pos(3, 8)));
        assert_eq!(lookup(&value, &flat, "/c"), (pos(4, 1), pos(4, 4)));
        // A pointer past what exists stops at the deepest existing node.
        assert_eq!(lookup(&value, &flat, "/a/7"), (pos(1, 1), pos(2, 3)));
        assert_eq!(lookup(&value, &flat, "/nope"), (pos(1, 1), pos(1, 1)));
    }

    #[test]
    fn a_value_changed_after_parsing_keeps_the_parsed_positions() {
        // An engine added a key (appended at the end of the map) and replaced a scalar by a
        // map: the added key has no position of its own, and the replaced node keeps its
        // parsed start.
        let value = json!({"a": ["x", {"b": {"deep": 1}}], "c": "z", "added": 1});
        let flat = Positions::from_tree(&tree());
        assert_eq!(lookup(&value, &flat, "/added"), (pos(1, 1), pos(1, 1)));
        assert_eq!(lookup(&value, &flat, "/a/1/b/deep"), (pos(3, 5), pos(3, 8)));
        let targets: HashSet<Pos> = [pos(3, 5), pos(4, 4), pos(3, 8)].into_iter().collect();
        let found = pointers_at(&value, &flat, &targets);
        assert_eq!(found.get(&pos(3, 5)).map(String::as_str), Some("/a/1/b"));
        assert_eq!(found.get(&pos(4, 4)).map(String::as_str), Some("/c"));
        // The map that replaced a scalar is named where the scalar was.
        assert_eq!(found.get(&pos(3, 8)).map(String::as_str), Some("/a/1/b"));
    }

    #[test]
    fn removing_a_top_level_entry_keeps_the_others() {
        let mut flat = Positions::from_tree(&tree());
        flat.remove_root_entry(0);
        let value = json!({"c": "z"});
        assert_eq!(lookup(&value, &flat, "/c"), (pos(4, 1), pos(4, 4)));
        flat.remove_root_entry(5);
        assert_eq!(lookup(&value, &flat, "/c"), (pos(4, 1), pos(4, 4)));
    }
}
