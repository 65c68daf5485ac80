//! YAML events -> JSON values with a position tree, read the way Kubernetes reads YAML.
//!
//! `saphyr-parser` gives us events with positions; everything Kubernetes-specific happens here:
//! YAML 1.1 scalar resolution (see `resolve`), map keys turned into strings like
//! sigs.k8s.io/yaml does, duplicate keys, `<<` merge keys, anchors and aliases with a bound on
//! expanded nodes, and a nesting bound. The builder keeps an explicit stack (no recursion), so
//! deep input cannot overflow the thread's stack.
//!
//! A syntax error or a broken bound ends the current document; parsing then resumes at the next
//! line that starts with `---` (a document marker at column 0 ends any YAML node, so this is a
//! safe place to restart), the way kubeconform reads each document on its own.

use crate::position::{Pos, PosNode};
use crate::resolve::{self, Ambiguity, Resolved};
use base64::Engine as _;
use homelab_diagnostics::{Diagnostic, Location};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Bounds applied while building.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_depth: usize,
    pub max_alias_nodes: usize,
    /// Documents kept per text (empty documents are not kept and do not count).
    pub max_documents: usize,
}

/// A plain scalar that Kubernetes reads differently from YAML 1.2 tools.
#[derive(Debug, Clone)]
pub(crate) struct AmbiguousScalar {
    pub pos: Pos,
    pub text: String,
    pub kind: Ambiguity,
    pub resolved: Value,
}

/// One YAML document as built, before classification.
#[derive(Debug)]
pub(crate) struct RawDoc {
    pub doc_index: usize,
    pub value: Value,
    pub positions: PosNode,
    pub ambiguous: Vec<AmbiguousScalar>,
}

/// Everything parsed out of one text.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub docs: Vec<RawDoc>,
    pub diagnostics: Vec<Diagnostic>,
    /// The text failed to parse as YAML (a syntax error, or a key that is not a scalar): with
    /// `{{` in it, it is a Go template rather than broken YAML.
    pub syntax_failed: bool,
}

/// Parses every document of `text`.
pub(crate) fn parse(name: &str, text: &str, limits: Limits) -> Parsed {
    if text
        .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .starts_with(['{', '['])
    {
        if let Some(parsed) = crate::json::parse(name, text, limits) {
            return parsed;
        }
    }
    parse_yaml(name, text, limits)
}

/// Parses `text` with the YAML parser only (no JSON fast path).
pub(crate) fn parse_yaml(name: &str, text: &str, limits: Limits) -> Parsed {
    if let Some(parsed) = parse_block_style(name, text, limits) {
        return parsed;
    }
    parse_saphyr(name, text, limits)
}

/// Builds from the byte-level scanner of `fast`, which reads the common block style and gives
/// up on everything else (`None`: parse with `saphyr-parser`). Any error, even one the builder
/// finds (bounds, aliases), also means starting over with the full parser, which knows how to
/// report it and resume.
fn parse_block_style(name: &str, text: &str, limits: Limits) -> Option<Parsed> {
    let mut scanner = crate::fast::Scanner::new(text)?;
    let mut events = SCRATCH_EVENTS.with(|cell| relabel(cell.take()));
    let parsed = build_block_style(&mut scanner, &mut events, name, limits);
    if events.capacity() <= MAX_KEPT_EVENTS {
        SCRATCH_EVENTS.with(|cell| cell.set(relabel(events)));
    }
    parsed
}

fn build_block_style<'a>(
    scanner: &mut crate::fast::Scanner<'a>,
    events: &mut Vec<(Event<'a>, Span)>,
    name: &str,
    limits: Limits,
) -> Option<Parsed> {
    let mut b = Builder::new(name, 0, limits, 0);
    loop {
        let more = scanner.next_document(events).ok()?;
        for (event, span) in events.drain(..) {
            b.on_event(event, span).ok()?;
            if b.full {
                break;
            }
        }
        if !more || b.full {
            break;
        }
    }
    Some(Parsed {
        docs: b.docs,
        diagnostics: b.diagnostics,
        syntax_failed: b.syntax_failed,
    })
}

thread_local! {
    /// The event buffer of `parse_block_style`, kept empty between texts so that a worker
    /// reuses one allocation for every file: a large document has hundreds of thousands of
    /// events, and growing a fresh buffer for each file costs more in page faults than the
    /// scanning itself.
    static SCRATCH_EVENTS: std::cell::Cell<Vec<(Event<'static>, Span)>> =
        const { std::cell::Cell::new(Vec::new()) };
}

/// Events kept in a worker's scratch buffer between texts (a bound on its memory).
const MAX_KEPT_EVENTS: usize = 1 << 17;

/// An emptied event buffer with the lifetime of the next text: the allocation is reused (an
/// in-place collect over an empty vector of a type with the same layout), never any event.
fn relabel<'a, 'b>(mut events: Vec<(Event<'a>, Span)>) -> Vec<(Event<'b>, Span)> {
    events.clear();
    events
        .into_iter()
        .map(|_| -> (Event<'b>, Span) { unreachable!("the buffer was just emptied") })
        .collect()
}

/// Parses `text` with `saphyr-parser`, resuming after errors at the next document marker.
pub(crate) fn parse_saphyr(name: &str, text: &str, limits: Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let mut chunk_start = 0usize; // byte offset
    let mut line_offset = 0u32;
    let mut doc_index = 0usize;
    loop {
        let chunk = &text[chunk_start..];
        let mut b = Builder::new(name, line_offset, limits, doc_index);
        b.kept_before = parsed.docs.len();
        let failed_at = b.run(chunk);
        doc_index = b.doc_index;
        parsed.docs.append(&mut b.docs);
        parsed.diagnostics.append(&mut b.diagnostics);
        parsed.syntax_failed |= b.syntax_failed;
        let Some(line) = failed_at else { break };
        // `line` is the 0-based line (within the chunk) of the failure.
        let Some((offset, lines_skipped)) = next_document_marker(chunk, line) else {
            break;
        };
        chunk_start += offset;
        line_offset += lines_skipped;
    }
    parsed
}

/// Finds the first line at index >= `from_line` (and > 0, so that we always make progress)
/// that starts a document (`---` then a blank or the end of the line). Returns its byte offset
/// and line index.
fn next_document_marker(chunk: &str, from_line: u32) -> Option<(usize, u32)> {
    let mut offset = 0usize;
    for (index, line) in chunk.split_inclusive('\n').enumerate() {
        let index = index as u32;
        if index >= from_line.max(1) {
            if let Some(rest) = line.strip_prefix("---") {
                if rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']) {
                    return Some((offset, index));
                }
            }
        }
        offset += line.len();
    }
    None
}

/// The finding for a text with more than `max` documents; `at` is where the first skipped one
/// starts.
pub(crate) fn too_many_documents(name: &str, at: Pos, max: usize) -> Diagnostic {
    Diagnostic::error(
        "yaml/too-many-documents",
        format!("the file has more than {max} documents; this one and the rest of the file are skipped"),
    )
    .at(Location::new(name, at.line, at.col))
    .with_help(format!(
        "split the file into files of at most {max} documents (objects and `kind: List` items); homelab bounds the documents of one file to bound its memory"
    ))
}

/// A node that is complete.
struct Node {
    value: Value,
    positions: PosNode,
    /// Nodes in this subtree (for the alias bound).
    nodes: usize,
    /// Collection nesting levels in this subtree (0 for a scalar).
    height: usize,
    /// A plain, untagged `<<`.
    is_merge_key: bool,
}

enum PendingKey {
    Key(String, Pos),
    Merge(Pos),
    /// A key we reported and whose value is dropped.
    Invalid,
}

/// One finished entry of a map under construction.
pub(crate) enum MapItem {
    Entry(String, Pos, Value, PosNode),
    Merge(Pos, Value, PosNode),
}

/// Children of open collections live in shared scratch stacks (`Builder::seq_items`,
/// `Builder::map_items`) and are moved into exactly-sized containers when the collection
/// ends: no regrowth of maps and vectors, far fewer allocations on big files.
enum FrameKind {
    Seq {
        first: usize,
    },
    Map {
        first: usize,
        pending: Option<PendingKey>,
    },
}

struct Frame {
    kind: FrameKind,
    start: Pos,
    anchor: usize,
    nodes: usize,
    height: usize,
}

struct Anchored {
    /// `None` when keeping a copy would pass the alias budget (see `Builder::anchor_copies`):
    /// using such an anchor is an alias-limit error.
    copy: Option<(Value, PosNode)>,
    nodes: usize,
    height: usize,
}

/// Stops the current document.
struct Fatal;

struct Builder<'n> {
    name: &'n str,
    line_offset: u32,
    limits: Limits,
    doc_index: usize,
    docs: Vec<RawDoc>,
    /// Documents kept by the builders of earlier chunks of the same text.
    kept_before: usize,
    /// `max_documents` was reached: the rest of the text is skipped.
    full: bool,
    diagnostics: Vec<Diagnostic>,
    syntax_failed: bool,
    // Per document:
    in_document: bool,
    doc_start: Pos,
    stack: Vec<Frame>,
    seq_items: Vec<(Value, PosNode)>,
    map_items: Vec<MapItem>,
    root: Option<Node>,
    anchors: HashMap<usize, Anchored>,
    expanded: usize,
    /// Nodes copied to remember anchors. Nested anchors each keep a copy of their subtree, so
    /// this is bounded too (otherwise 256 nested anchors around a big list cost 256 copies).
    anchor_copies: usize,
    ambiguous: Vec<AmbiguousScalar>,
}

impl<'n> Builder<'n> {
    fn new(name: &'n str, line_offset: u32, limits: Limits, doc_index: usize) -> Self {
        Builder {
            name,
            line_offset,
            limits,
            doc_index,
            docs: Vec::new(),
            kept_before: 0,
            full: false,
            diagnostics: Vec::new(),
            syntax_failed: false,
            in_document: false,
            doc_start: Pos { line: 1, col: 1 },
            stack: Vec::new(),
            seq_items: Vec::new(),
            map_items: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            expanded: 0,
            anchor_copies: 0,
            ambiguous: Vec::new(),
        }
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos {
            line: (span.start.line() as u32).saturating_add(self.line_offset),
            col: span.start.col() as u32 + 1,
        }
    }

    fn location(&self, pos: Pos) -> Location {
        Location::new(self.name, pos.line, pos.col)
    }

    /// Runs the parser over `chunk`. Returns the 0-based chunk line of a failure that ended
    /// parsing early.
    fn run(&mut self, chunk: &str) -> Option<u32> {
        let mut parser = Parser::new_from_str(chunk);
        loop {
            let step = match parser.next_event() {
                None => return None,
                Some(Ok((event, span))) => {
                    let step = self.on_event(event, span);
                    if self.full {
                        return None;
                    }
                    step
                }
                Some(Err(err)) => {
                    let marker = *err.marker();
                    let pos = Pos {
                        line: (marker.line() as u32).saturating_add(self.line_offset),
                        col: marker.col() as u32 + 1,
                    };
                    self.syntax_error(err.info(), pos, chunk, marker.line());
                    Err(Fatal)
                }
            };
            if let Err(Fatal) = step {
                let failed_line = self.fail_document();
                return Some(failed_line.saturating_sub(self.line_offset + 1));
            }
        }
    }

    /// Drops the current document after a fatal error; returns the document's start line (or
    /// the line of the last diagnostic) so that parsing can resume after it.
    fn fail_document(&mut self) -> u32 {
        let line = self
            .diagnostics
            .last()
            .and_then(|d| d.location.as_ref())
            .map_or(self.doc_start.line, |l| l.line);
        if self.in_document {
            self.doc_index += 1;
        }
        self.in_document = false;
        self.stack.clear();
        self.seq_items.clear();
        self.map_items.clear();
        self.root = None;
        self.anchors.clear();
        self.ambiguous.clear();
        line
    }

    fn syntax_error(&mut self, info: &str, pos: Pos, chunk: &str, chunk_line: usize) {
        self.syntax_failed = true;
        if info.contains("recursion limit exceeded") {
            self.diagnostics.push(
                Diagnostic::error(
                    "yaml/too-deep",
                    "flow collections (`[` / `{`) are nested too deeply",
                )
                .at(self.location(pos))
                .with_help("flatten the structure; Kubernetes objects are never nested this deep"),
            );
            return;
        }
        // Tabs are not allowed in YAML indentation: say so rather than the parser's message.
        let tab_line = [chunk_line, chunk_line.saturating_sub(1)]
            .into_iter()
            .filter_map(|l| chunk.lines().nth(l.saturating_sub(1)))
            .find(|line| line.trim_start_matches(' ').starts_with('\t'));
        if tab_line.is_some() {
            self.diagnostics.push(
                Diagnostic::error(
                    "yaml/tab-indent",
                    format!("invalid YAML: {info} (a tab is used for indentation)"),
                )
                .at(self.location(pos))
                .with_help("YAML does not allow tabs for indentation: indent with spaces"),
            );
            return;
        }
        self.diagnostics.push(
            Diagnostic::error("yaml/syntax", format!("invalid YAML: {info}"))
                .at(self.location(pos))
                .with_help(
                    "fix the YAML syntax here (check indentation, quoting and `:` after keys)",
                ),
        );
    }

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), Fatal> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => Ok(()),
            Event::DocumentStart(_) => {
                self.in_document = true;
                self.doc_start = self.pos(&span);
                self.stack.clear();
                self.seq_items.clear();
                self.map_items.clear();
                self.root = None;
                self.anchors.clear();
                self.expanded = 0;
                self.anchor_copies = 0;
                self.ambiguous.clear();
                Ok(())
            }
            Event::DocumentEnd => {
                self.finish_document();
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let pos = self.pos(&span);
                let node = self.scalar(text, style, tag.as_deref(), pos);
                self.complete(node, anchor)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let pos = self.pos(&span);
                if self.stack.len() >= self.limits.max_depth {
                    self.too_deep(pos);
                    return Err(Fatal);
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    FrameKind::Seq {
                        first: self.seq_items.len(),
                    }
                } else {
                    FrameKind::Map {
                        first: self.map_items.len(),
                        pending: None,
                    }
                };
                self.stack.push(Frame {
                    kind,
                    start: pos,
                    anchor,
                    nodes: 1,
                    height: 1,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (value, positions) = match frame.kind {
                    FrameKind::Seq { first } => {
                        let n = self.seq_items.len() - first;
                        let mut items = Vec::with_capacity(n);
                        let mut positions = Vec::with_capacity(n);
                        for (value, pos) in self.seq_items.drain(first..) {
                            items.push(value);
                            positions.push(pos);
                        }
                        (Value::Array(items), PosNode::Seq(frame.start, positions))
                    }
                    FrameKind::Map { first, .. } => {
                        let (map, entries) = build_map(
                            self.map_items.drain(first..),
                            self.name,
                            &mut self.diagnostics,
                        );
                        (Value::Object(map), PosNode::Map(frame.start, entries))
                    }
                };
                let node = Node {
                    value,
                    positions,
                    nodes: frame.nodes,
                    height: frame.height,
                    is_merge_key: false,
                };
                self.complete(node, frame.anchor)
            }
            Event::Alias(id) => {
                let pos = self.pos(&span);
                let Some(anchored) = self.anchors.get(&id) else {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "yaml/syntax",
                            "alias refers to an anchor that is not complete yet (a recursive alias)",
                        )
                        .at(self.location(pos))
                        .with_help("an alias can only refer to a node defined before it, outside itself"),
                    );
                    return Err(Fatal);
                };
                self.expanded = self.expanded.saturating_add(anchored.nodes);
                if self.expanded > self.limits.max_alias_nodes || anchored.copy.is_none() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "yaml/alias-limit",
                            format!(
                                "aliases expand to more than {} nodes in this document (an alias bomb?)",
                                self.limits.max_alias_nodes
                            ),
                        )
                        .at(self.location(pos))
                        .with_help("write the repeated content out, or use fewer nested aliases"),
                    );
                    return Err(Fatal);
                }
                if self.stack.len() + anchored.height > self.limits.max_depth {
                    self.too_deep(pos);
                    return Err(Fatal);
                }
                let Some((value, positions)) = anchored.copy.clone() else {
                    return Err(Fatal);
                };
                let node = Node {
                    value,
                    positions,
                    nodes: anchored.nodes,
                    height: anchored.height,
                    is_merge_key: false,
                };
                self.complete(node, 0)
            }
        }
    }

    fn too_deep(&mut self, pos: Pos) {
        self.diagnostics.push(
            Diagnostic::error(
                "yaml/too-deep",
                format!(
                    "nesting is deeper than {} levels; the document is skipped",
                    self.limits.max_depth
                ),
            )
            .at(self.location(pos))
            .with_help("flatten the structure; Kubernetes objects are never nested this deep"),
        );
    }

    fn too_many_documents(&mut self) {
        self.full = true;
        self.diagnostics.push(too_many_documents(
            self.name,
            self.doc_start,
            self.limits.max_documents,
        ));
    }

    fn finish_document(&mut self) {
        if !self.in_document {
            return;
        }
        self.in_document = false;
        let root = self.root.take();
        // An empty document (nothing, a comment, `null`) is counted but not kept: a file of
        // millions of `---` lines must not cost memory per document.
        if let Some(node) = root.filter(|n| !n.value.is_null()) {
            if self.kept_before + self.docs.len() >= self.limits.max_documents {
                self.too_many_documents();
                return;
            }
            self.docs.push(RawDoc {
                doc_index: self.doc_index,
                value: node.value,
                positions: node.positions,
                ambiguous: std::mem::take(&mut self.ambiguous),
            });
        }
        self.ambiguous.clear();
        self.doc_index += 1;
        self.stack.clear();
        self.seq_items.clear();
        self.map_items.clear();
        self.anchors.clear();
    }

    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        tag: Option<&Tag>,
        pos: Pos,
    ) -> Node {
        let plain = style == ScalarStyle::Plain;
        let merge_tag = tag.is_some_and(|t| {
            (t.handle == "tag:yaml.org,2002:" && t.suffix == "merge")
                || t.suffix == "tag:yaml.org,2002:merge"
        });
        let is_merge_key = text == "<<" && ((plain && tag.is_none()) || merge_tag);
        let value = match tag {
            None if plain => {
                let (resolved, ambiguity) = resolve::resolve_plain(&text);
                if ambiguity != Ambiguity::None {
                    let value = self.resolved_value(resolved, text.clone(), pos);
                    self.ambiguous.push(AmbiguousScalar {
                        pos,
                        text: text.into_owned(),
                        kind: ambiguity,
                        resolved: value.clone(),
                    });
                    value
                } else {
                    self.resolved_value(resolved, text, pos)
                }
            }
            None => Value::String(exact(text)),
            Some(tag) => self.tagged_value(tag, text, pos),
        };
        Node {
            value,
            positions: PosNode::Scalar(pos),
            nodes: 1,
            height: 0,
            is_merge_key,
        }
    }

    fn resolved_value(&mut self, resolved: Resolved, text: Cow<'_, str>, pos: Pos) -> Value {
        match resolved {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::from(i),
            Resolved::UInt(u) => Value::from(u),
            Resolved::Float(f) if f.is_finite() => resolve::float_to_json(f),
            Resolved::Float(_) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "yaml/unsupported-value",
                        format!("`{text}` is an infinite or NaN float, which JSON and Kubernetes cannot represent"),
                    )
                    .at(self.location(pos))
                    .with_help("quote it if you meant the string; use a finite number otherwise"),
                );
                Value::String(exact(text))
            }
            Resolved::Str => Value::String(exact(text)),
        }
    }

    fn tagged_value(&mut self, tag: &Tag, text: Cow<'_, str>, pos: Pos) -> Value {
        let full = if tag.handle == "tag:yaml.org,2002:" || tag.handle.is_empty() {
            tag.suffix
                .strip_prefix("tag:yaml.org,2002:")
                .unwrap_or(&tag.suffix)
        } else {
            // A local or unknown tag: go-yaml keeps the scalar as a string.
            return Value::String(exact(text));
        };
        let (resolved, _) = resolve::resolve_plain(&text);
        let ok = match full {
            "str" | "timestamp" | "merge" => return Value::String(exact(text)),
            "binary" => {
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                return match base64::engine::general_purpose::STANDARD.decode(compact) {
                    Ok(bytes) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                    Err(err) => {
                        self.bad_tag(pos, format!("!!binary value is not valid base64 ({err})"));
                        Value::String(exact(text))
                    }
                };
            }
            "int" => matches!(resolved, Resolved::Int(_) | Resolved::UInt(_)),
            "float" => matches!(
                resolved,
                Resolved::Int(_) | Resolved::UInt(_) | Resolved::Float(_)
            ),
            "bool" => matches!(resolved, Resolved::Bool(_)),
            "null" => matches!(resolved, Resolved::Null),
            _ => return Value::String(exact(text)),
        };
        if ok {
            self.resolved_value(resolved, text, pos)
        } else {
            self.bad_tag(pos, format!("cannot read `{text}` as !!{full}"));
            Value::String(exact(text))
        }
    }

    fn bad_tag(&mut self, pos: Pos, message: String) {
        self.diagnostics.push(
            Diagnostic::error("yaml/bad-tag", message)
                .at(self.location(pos))
                .with_help("fix the value or remove the explicit tag"),
        );
    }

    /// Attaches a complete node to its parent (or makes it the document root).
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), Fatal> {
        if anchor != 0 {
            let copy =
                if self.anchor_copies.saturating_add(node.nodes) <= self.limits.max_alias_nodes {
                    self.anchor_copies += node.nodes;
                    Some((node.value.clone(), node.positions.clone()))
                } else {
                    None
                };
            self.anchors.insert(
                anchor,
                Anchored {
                    copy,
                    nodes: node.nodes,
                    height: node.height,
                },
            );
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        frame.nodes = frame.nodes.saturating_add(node.nodes);
        frame.height = frame.height.max(node.height + 1);
        match &mut frame.kind {
            FrameKind::Seq { .. } => {
                self.seq_items.push((node.value, node.positions));
                Ok(())
            }
            FrameKind::Map { pending, .. } => match pending.take() {
                None => {
                    let pos = node.positions.start();
                    *pending = Some(if node.is_merge_key {
                        PendingKey::Merge(pos)
                    } else {
                        match key_string(node.value) {
                            Ok(key) => PendingKey::Key(key, pos),
                            Err(what) => {
                                self.syntax_failed = true;
                                let d = Diagnostic::error(
                                    "yaml/unsupported-key",
                                    format!("a map key must be a string, number or boolean, not {what}"),
                                )
                                .at(Location::new(self.name, pos.line, pos.col))
                                .with_help("quote the key; Kubernetes (sigs.k8s.io/yaml) cannot read this map");
                                self.diagnostics.push(d);
                                PendingKey::Invalid
                            }
                        }
                    });
                    Ok(())
                }
                Some(PendingKey::Invalid) => Ok(()),
                Some(PendingKey::Key(key, key_pos)) => {
                    self.map_items
                        .push(MapItem::Entry(key, key_pos, node.value, node.positions));
                    Ok(())
                }
                Some(PendingKey::Merge(merge_pos)) => {
                    self.map_items
                        .push(MapItem::Merge(merge_pos, node.value, node.positions));
                    Ok(())
                }
            },
        }
    }
}

/// Builds a map from its finished items: duplicate keys reported, merges applied (explicit keys
/// win wherever they are written, earlier merged maps win over later ones).
pub(crate) fn build_map(
    items: impl ExactSizeIterator<Item = MapItem>,
    name: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Map<String, Value>, Vec<(Pos, PosNode)>) {
    let mut map = Map::with_capacity(items.len());
    let mut entries = Vec::with_capacity(items.len());
    let mut merged: Option<HashSet<String>> = None;
    for item in items {
        match item {
            MapItem::Entry(key, key_pos, value, positions) => {
                let node = Node {
                    value,
                    positions,
                    nodes: 0,
                    height: 0,
                    is_merge_key: false,
                };
                insert_entry(
                    &mut map,
                    &mut entries,
                    &mut merged,
                    key,
                    key_pos,
                    node,
                    name,
                    diagnostics,
                );
            }
            MapItem::Merge(merge_pos, value, positions) => {
                let node = Node {
                    value,
                    positions,
                    nodes: 0,
                    height: 0,
                    is_merge_key: false,
                };
                merge_into(
                    &mut map,
                    &mut entries,
                    &mut merged,
                    node,
                    merge_pos,
                    name,
                    diagnostics,
                );
            }
        }
    }
    (map, entries)
}

/// The scalar's text as a string of exactly its length. The YAML scanner hands out strings
/// with room to grow (32 bytes at least); keys and values are kept for as long as the whole
/// repository is checked, so the spare room would be most of their memory.
fn exact(text: Cow<'_, str>) -> String {
    match text {
        Cow::Owned(s) if s.capacity() == s.len() => s,
        other => String::from(&*other),
    }
}

/// How sigs.k8s.io/yaml turns a resolved key into a JSON object key.
fn key_string(value: Value) -> Result<String, &'static str> {
    match value {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(match n.as_f64() {
            Some(f) if n.is_f64() => resolve::go_format_float_key(f),
            _ => n.to_string(),
        }),
        Value::Null => Err("null (an empty or `~` key)"),
        Value::Array(_) => Err("a sequence"),
        Value::Object(_) => Err("a map (a `{` at the start of a value may have been read as a flow map: is this a template?)"),
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_entry(
    map: &mut Map<String, Value>,
    entries: &mut Vec<(Pos, PosNode)>,
    merged: &mut Option<HashSet<String>>,
    key: String,
    key_pos: Pos,
    node: Node,
    name: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if map.contains_key(&key) {
        let from_merge = merged.as_mut().is_some_and(|m| m.remove(&key));
        let index = map.keys().position(|k| *k == key);
        if !from_merge {
            let first_line = index
                .and_then(|i| entries.get(i))
                .map_or(0, |(p, _)| p.line);
            diagnostics.push(
                Diagnostic::error(
                    "yaml/duplicate-key",
                    format!("duplicate key `{key}` (first defined on line {first_line})"),
                )
                .at(Location::new(name, key_pos.line, key_pos.col))
                .with_help("remove one of the two: Kubernetes rejects duplicate keys, and tools that accept them silently keep only one value"),
            );
        }
        if let Some(i) = index {
            entries[i] = (key_pos, node.positions);
        }
        map.insert(key, node.value);
        return;
    }
    map.insert(key, node.value);
    entries.push((key_pos, node.positions));
}

/// `<<: *base` or `<<: [*a, *b]`: keys already present win, earlier maps win over later ones.
fn merge_into(
    map: &mut Map<String, Value>,
    entries: &mut Vec<(Pos, PosNode)>,
    merged: &mut Option<HashSet<String>>,
    node: Node,
    merge_pos: Pos,
    name: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut add = |source: Map<String, Value>, positions: PosNode| {
        let PosNode::Map(_, source_entries) = positions else {
            return;
        };
        for ((key, value), (key_pos, value_pos)) in source.into_iter().zip(source_entries) {
            if map.contains_key(&key) {
                continue;
            }
            merged.get_or_insert_with(HashSet::new).insert(key.clone());
            map.insert(key, value);
            entries.push((key_pos, value_pos));
        }
    };
    let bad = |diagnostics: &mut Vec<Diagnostic>| {
        diagnostics.push(
            Diagnostic::error(
                "yaml/bad-merge",
                "the merge key `<<` needs a map or a list of maps as its value",
            )
            .at(Location::new(name, merge_pos.line, merge_pos.col))
            .with_help("point `<<` at an anchored map (`<<: *base`) or a list of them"),
        );
    };
    match (node.value, node.positions) {
        (Value::Object(source), positions) => add(source, positions),
        (Value::Array(items), PosNode::Seq(_, item_positions)) => {
            if !items.iter().all(Value::is_object) {
                bad(diagnostics);
                return;
            }
            for (item, item_pos) in items.into_iter().zip(item_positions) {
                if let Value::Object(source) = item {
                    add(source, item_pos);
                }
            }
        }
        _ => bad(diagnostics),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_depth: 64,
            max_alias_nodes: 1000,
            max_documents: 10,
        }
    }

    #[test]
    fn the_event_buffer_is_reused_from_text_to_text() {
        let text = "a:\n  - b\n  - c: d\n";
        assert!(parse_block_style("t.yaml", text, limits()).is_some());
        let kept = SCRATCH_EVENTS.with(|cell| {
            let events = cell.take();
            let capacity = (events.capacity(), events.len());
            cell.set(events);
            capacity
        });
        assert!(kept.0 >= 8, "capacity {} kept", kept.0);
        assert_eq!(kept.1, 0, "no event outlives its text");
        let before = SCRATCH_EVENTS.with(|cell| {
            let events = cell.take();
            let at = events.as_ptr();
            cell.set(events);
            at
        });
        let again = parse_block_style("u.yaml", "x: 1\n", limits()).expect("block style");
        assert_eq!(again.docs[0].value, serde_json::json!({"x": 1}));
        let after = SCRATCH_EVENTS.with(|cell| {
            let events = cell.take();
            let at = events.as_ptr();
            cell.set(events);
            at
        });
        assert_eq!(before, after, "the same allocation serves the next text");
    }

    #[test]
    fn keys_and_values_hold_no_spare_room() {
        let text = "apiVersion: v1\nkind: ConfigMap\n\"quoted key\": 'single'\nfolded: >\n  a long folded text\n  over lines\nlist: [a, \"b\"]\nempty: \"\"\n";
        let parsed = parse_yaml("t.yaml", text, limits());
        let Value::Object(map) = &parsed.docs[0].value else {
            panic!("a map");
        };
        let mut strings = Vec::new();
        for (key, value) in map {
            strings.push(key);
            match value {
                Value::String(s) => strings.push(s),
                Value::Array(items) => strings.extend(items.iter().filter_map(|item| match item {
                    Value::String(s) => Some(s),
                    _ => None,
                })),
                _ => {}
            }
        }
        for s in &strings {
            assert_eq!(s.capacity(), s.len(), "{s:?}");
        }
        assert_eq!(strings.len(), 13);
    }
}
