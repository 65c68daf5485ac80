//! YAML text to [`Document`]s the way sops reads it: every document a map, go-yaml v3 scalar
//! types, aliases expanded, `<<` kept as an ordinary key, and comments kept as items at their
//! place (sops encrypts the comments under encrypted paths and writes them back).
//!
//! `saphyr-parser` gives events with positions but no comments, so comments are read from the
//! source text between events: a `#` at the start of a line or after a blank, outside any
//! scalar. A comment on the same line as content belongs before the entry of that line (sops
//! moves line comments above their entry); a comment on its own line belongs to the
//! collection whose entries are at or left of its column, at its place in the text.

use crate::resolve::{self, Style, Tag};
use crate::tree::{Document, Item, Node, Pos, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Bounds on what a file may expand to.
const MAX_DEPTH: usize = 200;
const MAX_NODES: usize = 2_000_000;

/// A problem with the YAML text, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// A comment found in the text.
#[derive(Debug)]
struct Comment {
    text: String,
    pos: Pos,
}

enum Frame {
    Map {
        items: Vec<Item>,
        pos: Pos,
        pending_key: Option<(String, Pos)>,
        keys: HashMap<String, Pos>,
        entry_col: u32,
        flow: bool,
        anchor: usize,
        /// Line where the last entry's key started.
        last_line: u32,
    },
    Seq {
        items: Vec<Node>,
        pos: Pos,
        entry_col: u32,
        flow: bool,
        anchor: usize,
        last_line: u32,
    },
}

impl Frame {
    fn entry_col(&self) -> u32 {
        match self {
            Frame::Map { entry_col, .. } | Frame::Seq { entry_col, .. } => *entry_col,
        }
    }
    fn flow(&self) -> bool {
        match self {
            Frame::Map { flow, .. } | Frame::Seq { flow, .. } => *flow,
        }
    }

    /// Puts a comment at the end of the collection.
    fn push_comment(&mut self, c: Comment) {
        match self {
            Frame::Map { items, .. } => items.push(Item::Comment {
                text: c.text,
                pos: c.pos,
            }),
            Frame::Seq { items, .. } => items.push(Node::new(Value::Comment(c.text), c.pos)),
        }
    }

    /// Puts a line comment before the entry of its line (sops writes it above the entry).
    fn push_line_comment(&mut self, c: Comment) {
        match self {
            Frame::Map {
                items,
                pending_key,
                last_line,
                ..
            } => {
                let item = Item::Comment {
                    text: c.text,
                    pos: c.pos,
                };
                if pending_key.is_none() && *last_line == c.pos.line && !items.is_empty() {
                    let at = items
                        .iter()
                        .rposition(|i| matches!(i, Item::Entry { .. }))
                        .unwrap_or(items.len());
                    items.insert(at, item);
                } else {
                    items.push(item);
                }
            }
            Frame::Seq {
                items, last_line, ..
            } => {
                let node = Node::new(Value::Comment(c.text), c.pos);
                if *last_line == c.pos.line && !items.is_empty() {
                    let at = items
                        .iter()
                        .rposition(|n| !matches!(n.value, Value::Comment(_)))
                        .unwrap_or(items.len());
                    items.insert(at, node);
                } else {
                    items.push(node);
                }
            }
        }
    }
}

/// Maps the parser's character positions to byte offsets, cheaply for increasing positions.
struct Offsets<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    /// Last conversion: (line, char column, byte offset).
    last: (usize, usize, usize),
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Offsets {
            text,
            line_starts,
            last: (1, 0, 0),
        }
    }

    /// Byte offset of a 1-based line and 0-based character column.
    fn byte(&mut self, line: usize, col: usize) -> usize {
        let Some(&line_start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let (from_col, from_byte) = if self.last.0 == line && self.last.1 <= col {
            (self.last.1, self.last.2)
        } else {
            (0, line_start)
        };
        let mut byte = from_byte;
        let mut chars = self.text[from_byte..].chars();
        for _ in from_col..col {
            match chars.next() {
                Some('\n') | None => break,
                Some(c) => byte += c.len_utf8(),
            }
        }
        self.last = (line, col, byte);
        byte
    }
}

/// Line and column (1-based, characters) of a byte offset.
fn pos_of_byte(offsets: &Offsets<'_>, byte: usize) -> Pos {
    let line = offsets.line_starts.partition_point(|&s| s <= byte).max(1);
    let start = offsets.line_starts[line - 1];
    let col = offsets.text[start..byte.min(offsets.text.len())]
        .chars()
        .count()
        + 1;
    Pos {
        line: line as u32,
        col: col as u32,
    }
}

struct Builder<'a> {
    offsets: Offsets<'a>,
    text: &'a str,
    /// Byte offset up to which the text has been scanned for comments.
    cursor: usize,
    stack: Vec<Frame>,
    pending: Vec<Comment>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    docs: Vec<Document>,
    /// The finished root of the current document (a map), or a non-map root.
    root: Option<Node>,
    doc_pos: Pos,
    /// Comments outside the document's root map: before it starts, after it ends.
    doc_comments_before: Vec<Comment>,
    doc_comments_after: Vec<Comment>,
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line() as u32,
        col: span.start.col() as u32 + 1,
    }
}

fn err(pos: Pos, message: impl Into<String>) -> YamlError {
    YamlError {
        pos,
        message: message.into(),
    }
}

/// Parses every document of `text`. A document that is not a map (or empty) is an error, as
/// in sops ("YAML documents that are sequences are not supported").
pub fn parse(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut b = Builder {
        offsets: Offsets::new(text),
        text,
        cursor: 0,
        stack: Vec::new(),
        pending: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        docs: Vec::new(),
        root: None,
        doc_pos: Pos { line: 1, col: 1 },
        doc_comments_before: Vec::new(),
        doc_comments_after: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let m = e.marker();
            err(
                Pos {
                    line: m.line() as u32,
                    col: m.col() as u32 + 1,
                },
                format!("YAML syntax error: {}", e.info()),
            )
        })?;
        if b.handle(event, span)? {
            break;
        }
    }
    Ok(b.docs)
}

impl Builder<'_> {
    fn byte_of(&mut self, m: saphyr_parser::Marker) -> usize {
        self.offsets.byte(m.line(), m.col())
    }

    /// Reads comments between the cursor and `until` (bytes) into `self.pending`, and line
    /// comments straight into the innermost collection.
    fn scan_comments(&mut self, until: usize) {
        if until <= self.cursor {
            return;
        }
        let gap_start = self.cursor;
        self.cursor = until;
        let text = self.text;
        let mut i = gap_start;
        while i < until {
            let Some(rel) = text[i..until].find('#') else {
                break;
            };
            let hash = i + rel;
            let before = text[..hash].chars().next_back();
            if before.is_some_and(|c| !matches!(c, ' ' | '\t' | '\n' | '\r')) {
                i = hash + 1;
                continue;
            }
            let line_end = text[hash..].find('\n').map_or(text.len(), |e| hash + e);
            let body = text[hash + 1..line_end].trim_end_matches(['\r', ' ', '\t']);
            let line_start = text[..hash].rfind('\n').map_or(0, |s| s + 1);
            let own_line = text[line_start..hash].trim().is_empty();
            let comment = Comment {
                text: body.to_owned(),
                pos: pos_of_byte(&self.offsets, hash),
            };
            if own_line {
                self.pending.push(comment);
            } else {
                self.flush_pending_to_innermost();
                match self.stack.last_mut() {
                    Some(frame) => frame.push_line_comment(comment),
                    None => self.push_doc_comment(comment),
                }
            }
            i = line_end.max(hash + 1);
            if i > until {
                self.cursor = i;
            }
        }
    }

    fn flush_pending_to_innermost(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for c in pending {
            match self.stack.last_mut() {
                Some(frame) => frame.push_comment(c),
                None => self.push_doc_comment(c),
            }
        }
    }

    fn push_doc_comment(&mut self, c: Comment) {
        if self.root.is_none() {
            self.doc_comments_before.push(c);
        } else {
            self.doc_comments_after.push(c);
        }
    }

    /// The byte offset just past the scalar that starts at `start` (quoted scalars: their
    /// closing quote; the parser's span may run over a trailing comment).
    fn quoted_end(&self, start: usize, quote: char) -> usize {
        let text = self.text;
        let Some(open_rel) = text[start..].find(quote) else {
            return start;
        };
        let mut chars = text[start + open_rel + 1..].char_indices().peekable();
        let base = start + open_rel + 1;
        while let Some((i, c)) = chars.next() {
            if quote == '"' && c == '\\' {
                chars.next();
            } else if c == quote {
                if quote == '\'' && chars.peek().map(|&(_, n)| n) == Some('\'') {
                    chars.next();
                } else {
                    return base + i + 1;
                }
            }
        }
        text.len()
    }

    fn count_node(&mut self, n: usize, pos: Pos) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(err(
                pos,
                format!("the file expands to more than {MAX_NODES} values (aliases?)"),
            ));
        }
        Ok(())
    }

    /// Handles one event; `Ok(true)` at the end of the stream.
    fn handle(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlError> {
        let pos = pos_of(&span);
        let start = self.byte_of(span.start);
        match event {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => {
                self.scan_comments(self.text.len());
                return Ok(true);
            }
            Event::DocumentStart(_) => {
                self.scan_comments(start);
                let end = self.byte_of(span.end);
                self.scan_comments(end);
                self.doc_pos = pos;
                self.root = None;
            }
            Event::DocumentEnd => {
                self.scan_comments(start);
                self.finish_document()?;
                let end = self.byte_of(span.end);
                self.cursor = self.cursor.max(end);
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.scan_comments(start);
                self.flush_pending_to_innermost();
                let end = match style {
                    ScalarStyle::DoubleQuoted => self.quoted_end(start, '"'),
                    ScalarStyle::SingleQuoted => self.quoted_end(start, '\''),
                    _ => self.byte_of(span.end),
                };
                self.cursor = self.cursor.max(end);
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                let tag = match tag.as_deref() {
                    None => Tag::None,
                    Some(t) if t.handle == "!" && t.suffix.is_empty() => Tag::NonSpecific,
                    Some(t) if t.is_yaml_core_schema() => Tag::Core(t.suffix.clone()),
                    Some(_) => Tag::Other,
                };
                let resolved = resolve::resolve(&value, style, &tag).map_err(|m| err(pos, m))?;
                self.count_node(1, pos)?;
                let node = Node::new(resolved, pos);
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.add(node)?;
            }
            Event::Alias(id) => {
                self.scan_comments(start);
                self.flush_pending_to_innermost();
                let end = self.byte_of(span.end);
                self.cursor = self.cursor.max(end);
                let Some(target) = self.anchors.get(&id) else {
                    return Err(err(pos, "alias to an unknown anchor"));
                };
                let mut copy = target.clone();
                let size = count_nodes(&copy.value);
                self.count_node(size, pos)?;
                copy.pos = pos;
                self.add(copy)?;
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let end = self.byte_of(span.end);
                let span_text = &self.text[start..end.max(start)];
                let flow = span_text.trim_end().ends_with(['{', '[']);
                // Comments inside the span (after an anchor or tag) come before the content.
                self.scan_comments(start);
                if self.stack.len() >= MAX_DEPTH {
                    return Err(err(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                let entry_pos = if flow {
                    pos
                } else if is_map {
                    Pos {
                        line: span.end.line() as u32,
                        col: span.end.col() as u32 + 1,
                    }
                } else {
                    // The dash of the first item: the span may start at an anchor or tag.
                    match span_text.rfind('-') {
                        Some(dash) => pos_of_byte(&self.offsets, start + dash),
                        None => pos,
                    }
                };
                // Own-line comments at or right of the new collection's entries belong to it;
                // the others to the collection that holds it.
                let (inside, outside): (Vec<Comment>, Vec<Comment>) = if flow {
                    (Vec::new(), std::mem::take(&mut self.pending))
                } else {
                    std::mem::take(&mut self.pending)
                        .into_iter()
                        .partition(|c| c.pos.col >= entry_pos.col)
                };
                self.pending = outside;
                self.flush_pending_to_innermost();
                self.scan_comments(end);
                let inside = inside
                    .into_iter()
                    .chain(std::mem::take(&mut self.pending))
                    .collect::<Vec<_>>();
                self.cursor = self.cursor.max(end);
                let mut frame = if is_map {
                    Frame::Map {
                        items: Vec::new(),
                        pos: if flow { pos } else { entry_pos },
                        pending_key: None,
                        keys: HashMap::new(),
                        entry_col: entry_pos.col,
                        flow,
                        anchor,
                        last_line: 0,
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        pos: entry_pos,
                        entry_col: entry_pos.col,
                        flow,
                        anchor,
                        last_line: 0,
                    }
                };
                for c in inside {
                    frame.push_comment(c);
                }
                self.count_node(1, pos)?;
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.scan_comments(start);
                let Some(frame) = self.stack.last_mut() else {
                    return Err(err(pos, "unbalanced collection end"));
                };
                if frame.flow() {
                    let end = start + self.text[start..].chars().next().map_or(0, char::len_utf8);
                    self.scan_comments(end);
                    let frame = self.stack.last_mut().expect("frame checked above");
                    for c in std::mem::take(&mut self.pending) {
                        frame.push_comment(c);
                    }
                    self.cursor = self.cursor.max(end);
                } else {
                    let col = frame.entry_col();
                    let cut = self
                        .pending
                        .iter()
                        .position(|c| c.pos.col < col)
                        .unwrap_or(self.pending.len());
                    let trailing: Vec<Comment> = self.pending.drain(..cut).collect();
                    let frame = self.stack.last_mut().expect("frame checked above");
                    for c in trailing {
                        frame.push_comment(c);
                    }
                }
                let frame = self.stack.pop().expect("frame checked above");
                let (node, anchor) = match frame {
                    Frame::Map {
                        items,
                        pos,
                        pending_key,
                        anchor,
                        ..
                    } => {
                        if let Some((_, key_pos)) = pending_key {
                            return Err(err(key_pos, "map key without a value"));
                        }
                        (Node::new(Value::Map(items), pos), anchor)
                    }
                    Frame::Seq {
                        items, pos, anchor, ..
                    } => (Node::new(Value::Seq(items), pos), anchor),
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.add(node)?;
            }
        }
        Ok(false)
    }

    /// Adds a finished node to the innermost collection (as a key, a value or an item), or
    /// makes it the document's root.
    fn add(&mut self, node: Node) -> Result<(), YamlError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match frame {
            Frame::Map {
                items,
                pending_key,
                keys,
                last_line,
                ..
            } => match pending_key.take() {
                None => {
                    let key = match node.value {
                        Value::Str(s) => s,
                        other => {
                            return Err(err(
                                node.pos,
                                format!(
                                    "a map key is a {}; sops only supports string keys (quote it)",
                                    other.kind_name()
                                ),
                            ))
                        }
                    };
                    if let Some(first) = keys.get(&key) {
                        return Err(err(
                            node.pos,
                            format!("duplicate key `{key}` (first at line {})", first.line),
                        ));
                    }
                    keys.insert(key.clone(), node.pos);
                    *last_line = node.pos.line;
                    *pending_key = Some((key, node.pos));
                }
                Some((key, key_pos)) => items.push(Item::Entry {
                    key,
                    key_pos,
                    value: node,
                }),
            },
            Frame::Seq {
                items, last_line, ..
            } => {
                *last_line = node.pos.line;
                items.push(node);
            }
        }
        Ok(())
    }

    fn finish_document(&mut self) -> Result<(), YamlError> {
        let before = std::mem::take(&mut self.doc_comments_before);
        let mut after = std::mem::take(&mut self.doc_comments_after);
        after.append(&mut self.pending);
        let root = self.root.take();
        let mut items = match root {
            None => Vec::new(),
            Some(Node {
                value: Value::Map(items),
                ..
            }) => items,
            Some(Node {
                value: Value::Null, ..
            }) => Vec::new(),
            Some(Node {
                value: Value::Seq(_),
                pos,
            }) => {
                return Err(err(
                    pos,
                    "this document is a list; sops only supports YAML documents that are maps",
                ))
            }
            Some(Node { pos, value }) => {
                return Err(err(
                    pos,
                    format!(
                    "this document is a single {}; sops only supports YAML documents that are maps",
                    value.kind_name()
                ),
                ))
            }
        };
        // Comments outside the root map (`--- # c`, an empty document's comments).
        let comment = |c: Comment| Item::Comment {
            text: c.text,
            pos: c.pos,
        };
        let mut all: Vec<Item> = before.into_iter().map(comment).collect();
        all.append(&mut items);
        all.extend(after.into_iter().map(comment));
        let items = all;
        self.docs.push(Document {
            items,
            pos: self.doc_pos,
        });
        Ok(())
    }
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Map(items) => {
            1 + items
                .iter()
                .map(|i| match i {
                    Item::Entry { value, .. } => count_nodes(&value.value),
                    Item::Comment { .. } => 0,
                })
                .sum::<usize>()
        }
        Value::Seq(items) => 1 + items.iter().map(|n| count_nodes(&n.value)).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments_of(items: &[Item]) -> Vec<&str> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Comment { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn keys_and_comments(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Comment { text, .. } => format!("#{text}"),
                Item::Entry { key, .. } => key.clone(),
            })
            .collect()
    }

    #[test]
    fn comments_land_where_sops_puts_them() {
        let text = "# head\na: 1 # line a\nb: |  # hdr\n  block\n# before data\ndata:\n  # first\n  user: x # on user\n  # trailing in data\n# top trailing\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 1);
        let items = &docs[0].items;
        assert_eq!(
            keys_and_comments(items),
            [
                "# head",
                "# line a",
                "a",
                "# hdr",
                "b",
                "# before data",
                "data",
                "# top trailing"
            ]
        );
        let Some(Node {
            value: Value::Map(data),
            ..
        }) = crate::tree::map_get(items, "data")
        else {
            panic!("data is a map")
        };
        assert_eq!(
            keys_and_comments(data),
            ["# first", "# on user", "user", "# trailing in data"]
        );
    }

    #[test]
    fn comments_in_lists_and_between_documents() {
        let text =
            "l:\n  - x # on x\n  # before y\n  - y\n# end of doc 1\n---\n# start of doc 2\nz: 1\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(keys_and_comments(&docs[0].items), ["l", "# end of doc 1"]);
        let Some(Node {
            value: Value::Seq(l),
            ..
        }) = docs[0].get("l")
        else {
            panic!()
        };
        let shape: Vec<String> = l
            .iter()
            .map(|n| match &n.value {
                Value::Comment(c) => format!("#{c}"),
                Value::Str(s) => s.clone(),
                _ => "?".into(),
            })
            .collect();
        assert_eq!(shape, ["# on x", "x", "# before y", "y"]);
        assert_eq!(keys_and_comments(&docs[1].items), ["# start of doc 2", "z"]);
    }

    #[test]
    fn hashes_inside_values_are_not_comments() {
        let text = "a: \"x # y\" # real\nb: 'it''s # no'\nc: url#anchor\nd: |\n  # in block\n";
        let docs = parse(text).unwrap();
        assert_eq!(comments_of(&docs[0].items), [" real"]);
        assert_eq!(
            docs[0].get("c").unwrap().value,
            Value::Str("url#anchor".into())
        );
        assert_eq!(
            docs[0].get("d").unwrap().value,
            Value::Str("# in block\n".into())
        );
    }

    #[test]
    fn types_positions_aliases_and_errors() {
        let text = "a: &x 5\nb: *x\nc: 0x10\nd: 2024-01-01\n\"<<\": 1\n";
        let docs = parse(text).unwrap();
        let d = &docs[0];
        assert_eq!(d.get("b").unwrap().value, Value::Int(5));
        assert_eq!(d.get("c").unwrap().value, Value::Int(16));
        assert_eq!(
            d.get("d").unwrap().value,
            Value::Time("2024-01-01T00:00:00Z".into())
        );
        assert_eq!(d.get("c").unwrap().pos, Pos { line: 3, col: 4 });
        assert!(parse("a: 1\na: 2\n")
            .unwrap_err()
            .message
            .contains("duplicate"));
        assert!(parse("1: x\n").unwrap_err().message.contains("string keys"));
        assert!(parse("- a\n").unwrap_err().message.contains("list"));
        assert_eq!(parse("a: [1\n").unwrap_err().pos.line, 2);
        assert_eq!(parse("").unwrap().len(), 0);
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&text).unwrap_err().message.contains("expands"));
    }
}
