//! A byte-level event source for the plain block style most Kubernetes YAML is written in.
//!
//! It yields the same events, with the same start positions, as `saphyr-parser` for the texts
//! it accepts: block mappings and sequences, plain scalars (folded across lines), single- and
//! double-quoted scalars (folded across lines), literal and folded block scalars, flow
//! sequences and mappings of scalars and nested flow collections (on one line or several),
//! anchors and aliases (names of ASCII letters, digits, `_` and `-`), comments and `---`
//! document markers. Plain scalars are slices of the text (no allocation per scalar or key).
//!
//! Inside a flow collection or a quoted scalar, lines may start at any column (but with a
//! document marker), as go-yaml (which kubectl, kustomize, Flux and Argo CD use) reads them:
//! a `]` at the indentation of its key is common in real repositories, and `saphyr-parser`
//! rejects it. Only there does this scanner read a text that `saphyr-parser` rejects; its
//! events are then those `saphyr-parser` gives for the same text with those lines indented
//! further.
//!
//! Anything else (tags, anchored keys or empty nodes, explicit keys, single-pair mappings in
//! flow sequences, tabs, carriage returns, directives, `...`, scalar documents, syntax errors)
//! makes it give up with [`Bail`]: the caller then parses the whole text with
//! `saphyr-parser`, which also reports every error. Giving up is always safe; accepting a text
//! that go-yaml and `saphyr-parser` read differently, or that both reject, is the only way to
//! be wrong, which the differential tests guard against.

use saphyr_parser::{Event, Marker, ScalarStyle, Span};
use std::borrow::Cow;
use std::collections::HashMap;

/// The text is outside the subset this scanner reads.
#[derive(Debug)]
pub(crate) struct Bail;

type Step = Result<(), Bail>;

/// Events with their spans (only the start is meaningful).
pub(crate) type Events<'a> = Vec<(Event<'a>, Span)>;

/// Collections nested deeper than this are left to the full parser (and its bounds).
const MAX_NESTING: usize = 64;

/// YAML bounds simple keys to 1024 characters.
const MAX_KEY_LEN: usize = 1024;

/// All the events of `text`, or `None` when this scanner gives up on it.
pub(crate) fn read(text: &str) -> Option<Events<'_>> {
    let mut scanner = Scanner::new(text)?;
    let mut events = Vec::new();
    while scanner.next_document(&mut events).ok()? {}
    Some(events)
}

pub(crate) struct Scanner<'a> {
    text: &'a str,
    /// Columns count characters: with only ASCII, that is bytes.
    ascii: bool,
    bytes: &'a [u8],
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
    /// Byte offset where the line of `pos` starts.
    line_start: usize,
    started: bool,
    ended: bool,
    /// How many flow collections are open at the current position.
    flow_depth: usize,
    /// The anchors seen so far, with their ids. Like saphyr-parser's event iterator, ids count
    /// from 1 over the whole stream and names stay known across documents.
    anchors: HashMap<&'a str, usize>,
    anchor_count: usize,
    /// The lines whose indentation go-yaml ignores and saphyr-parser does not: those that
    /// start inside a flow collection or inside a quoted scalar (the differential tests
    /// indent them).
    #[cfg(test)]
    flow_lines: Vec<usize>,
}

/// Whether a quoted scalar may go on over several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    /// The scalar must close on its first line (a key).
    One,
    /// Its next lines may start at any column but with a document marker: go-yaml (and so
    /// kubectl, kustomize, Flux and Argo CD) checks no indentation in a quoted scalar, where
    /// saphyr-parser wants the lines past the collection that holds it.
    Any,
}

fn span(mark: Marker) -> Span {
    Span::new(mark, mark)
}

/// Gives the node whose first event is `out[at]` its anchor, if any: its id, and the anchor's
/// position, where saphyr-parser places an anchored node.
fn anchored(out: &mut Events<'_>, at: usize, anchor: Option<(usize, Marker)>) -> Step {
    let Some((id, mark)) = anchor else {
        return Ok(());
    };
    let (event, place) = out.get_mut(at).ok_or(Bail)?;
    match event {
        Event::Scalar(_, _, anchor_id, _)
        | Event::SequenceStart(anchor_id, _)
        | Event::MappingStart(anchor_id, _) => *anchor_id = id,
        _ => return Err(Bail),
    }
    *place = span(mark);
    Ok(())
}

fn empty_scalar<'a>() -> Event<'a> {
    Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None)
}

impl<'a> Scanner<'a> {
    /// `None` when the text has characters this scanner does not handle: tabs, carriage
    /// returns and other control characters, byte-order marks, the Unicode line breaks and
    /// non-characters.
    pub(crate) fn new(text: &'a str) -> Option<Self> {
        let mut ascii = true;
        for &b in text.as_bytes() {
            if b >= 0x80 {
                ascii = false;
            } else if b != b'\n' && !(0x20..0x7f).contains(&b) {
                return None;
            }
        }
        if !ascii
            && text.chars().any(|c| {
                matches!(
                    c,
                    '\u{80}'
                        ..='\u{9f}'
                            | '\u{2028}'
                            | '\u{2029}'
                            | '\u{feff}'
                            | '\u{fffe}'
                            | '\u{ffff}'
                )
            })
        {
            return None;
        }
        Some(Scanner {
            text,
            ascii,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
            started: false,
            ended: false,
            flow_depth: 0,
            anchors: HashMap::new(),
            anchor_count: 0,
            #[cfg(test)]
            flow_lines: Vec::new(),
        })
    }

    fn mark(&self) -> Marker {
        Marker::new(self.pos, self.line, self.col())
    }

    /// The current position, where saphyr-parser places the end of a text that does not end
    /// with a line break: at the start of the line after it.
    fn end_mark(&self) -> Marker {
        if self.eof() && self.col() > 0 {
            Marker::new(self.pos, self.line + 1, 0)
        } else {
            self.mark()
        }
    }

    fn col(&self) -> usize {
        self.col_of(self.pos)
    }

    /// The column (in characters) of byte offset `at` on the current line.
    fn col_of(&self, at: usize) -> usize {
        if self.ascii {
            at - self.line_start
        } else {
            // Count the bytes that start a character.
            self.bytes[self.line_start..at]
                .iter()
                .filter(|&&b| (b as i8) >= -0x40)
                .count()
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn eof(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Moves past the `\n` at `pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
        #[cfg(test)]
        if self.flow_depth > 0 {
            self.flow_lines.push(self.line);
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn end_of_line(&self) -> usize {
        self.bytes[self.pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |i| self.pos + i)
    }

    /// Moves to the first non-space byte of the next line holding content (not blank, not a
    /// comment), starting from the beginning of a line; or to the end of the text.
    fn skip_to_content(&mut self) {
        loop {
            self.skip_spaces();
            match self.peek() {
                None => return,
                Some(b'\n') => self.newline(),
                Some(b'#') => {
                    self.pos = self.end_of_line();
                    if !self.eof() {
                        self.newline();
                    }
                }
                Some(_) => return,
            }
        }
    }

    /// After a node: only blanks or a comment may follow on its line. Moves to the next
    /// content line.
    fn finish_line(&mut self) -> Step {
        self.skip_spaces();
        match self.peek() {
            None => Ok(()),
            Some(b'\n') => {
                self.newline();
                self.skip_to_content();
                Ok(())
            }
            Some(b'#') if self.pos == self.line_start || self.bytes[self.pos - 1] == b' ' => {
                self.pos = self.end_of_line();
                if !self.eof() {
                    self.newline();
                }
                self.skip_to_content();
                Ok(())
            }
            Some(_) => Err(Bail),
        }
    }

    /// A `---` or `...` line marker at the current position (column 0).
    fn at_marker(&self, marker: &[u8]) -> bool {
        self.pos == self.line_start
            && self.bytes[self.pos..].starts_with(marker)
            && matches!(self.peek_at(3), None | Some(b' ' | b'\n'))
    }

    /// The indentation of the content line at the current position; `None` at the end of the
    /// text or at a document marker, which close every collection.
    fn content_indent(&self) -> Option<usize> {
        if self.eof() || self.at_marker(b"---") || self.at_marker(b"...") {
            None
        } else {
            Some(self.col())
        }
    }

    /// `-` followed by a blank or the end of the line: a block sequence entry.
    fn at_entry(&self) -> bool {
        self.peek() == Some(b'-') && matches!(self.peek_at(1), None | Some(b' ' | b'\n'))
    }

    /// Appends the events of the next document (the stream's start and end included).
    /// Returns `false` once the stream is over.
    pub(crate) fn next_document(&mut self, out: &mut Events<'a>) -> Result<bool, Bail> {
        if self.ended {
            return Ok(false);
        }
        if !self.started {
            self.started = true;
            out.push((Event::StreamStart, span(self.mark())));
            self.skip_to_content();
        }
        if self.eof() {
            self.ended = true;
            out.push((Event::StreamEnd, span(self.mark())));
            return Ok(false);
        }
        if self.at_marker(b"...") || self.peek() == Some(b'%') {
            return Err(Bail);
        }
        let explicit = self.at_marker(b"---");
        let start = self.mark();
        if explicit {
            self.pos += 3;
            self.finish_line()?;
            if self.content_indent().is_none() {
                if self.at_marker(b"...") {
                    return Err(Bail);
                }
                out.push((Event::DocumentStart(true), span(start)));
                out.push((empty_scalar(), span(self.end_mark())));
                out.push((Event::DocumentEnd, span(self.mark())));
                return Ok(true);
            }
        }
        let node_start = self.mark();
        out.push((
            Event::DocumentStart(explicit),
            span(if explicit { start } else { node_start }),
        ));
        if self.at_entry() {
            self.sequence(false, out, 0)?;
        } else if self.key_here() {
            self.mapping(out, 0)?;
        } else {
            // A scalar document: rare in manifests, left to the full parser.
            return Err(Bail);
        }
        if self.content_indent().is_some() || self.at_marker(b"...") {
            return Err(Bail);
        }
        out.push((Event::DocumentEnd, span(self.mark())));
        Ok(true)
    }

    /// A block mapping whose first key is at the current position.
    fn mapping(&mut self, out: &mut Events<'a>, depth: usize) -> Step {
        if depth > MAX_NESTING {
            return Err(Bail);
        }
        let col = self.col();
        out.push((Event::MappingStart(0, None), span(self.mark())));
        loop {
            self.key(out)?;
            // saphyr-parser places an empty value at its `:`.
            let colon = Marker::new(self.pos - 1, self.line, self.col_of(self.pos - 1));
            self.skip_spaces();
            let anchor = self.anchor(false)?;
            let value = out.len();
            if matches!(self.peek(), None | Some(b'\n' | b'#')) {
                self.finish_line()?;
                match self.content_indent() {
                    Some(indent) if indent > col => self.node(col, out, depth + 1)?,
                    Some(indent) if indent == col && self.at_entry() => {
                        self.sequence(true, out, depth + 1)?;
                    }
                    // An anchored empty value: left to the full parser.
                    _ if anchor.is_some() => return Err(Bail),
                    _ => out.push((empty_scalar(), span(colon))),
                }
            } else if anchor.is_some() && self.key_here() {
                return Err(Bail);
            } else {
                self.inline_value(col, out)?;
            }
            anchored(out, value, anchor)?;
            match self.content_indent() {
                Some(indent) if indent == col && !self.at_entry() => {}
                Some(indent) if indent > col => return Err(Bail),
                Some(indent) if indent == col => return Err(Bail),
                _ => break,
            }
        }
        out.push((Event::MappingEnd, span(self.mark())));
        Ok(())
    }

    /// A block sequence whose first `-` is at the current position. An indentless sequence
    /// (the value of a key, at the key's column) ends at the next key of that mapping.
    fn sequence(&mut self, indentless: bool, out: &mut Events<'a>, depth: usize) -> Step {
        if depth > MAX_NESTING {
            return Err(Bail);
        }
        let col = self.col();
        let start = out.len();
        out.push((Event::SequenceStart(0, None), span(self.mark())));
        let mut first_entry = true;
        loop {
            self.pos += 1;
            self.skip_spaces();
            let entry = self.mark();
            let anchor = self.anchor(false)?;
            let value = out.len();
            let inline = !matches!(self.peek(), None | Some(b'\n' | b'#'));
            // Without an entry on its line, saphyr-parser places what follows the `-` at the
            // end of that line.
            let end_of_dash_line = if self.peek() == Some(b'#') {
                let eol = self.end_of_line();
                Marker::new(eol, self.line, self.col_of(eol))
            } else {
                self.mark()
            };
            if indentless && first_entry && inline {
                // saphyr-parser starts an indentless sequence where its first entry starts.
                out[start].1 = span(entry);
                first_entry = false;
            }
            if !inline {
                self.finish_line()?;
                match self.content_indent() {
                    Some(indent) if indent > col => self.node(col, out, depth + 1)?,
                    // An anchored empty entry: left to the full parser.
                    _ if anchor.is_some() => return Err(Bail),
                    _ => out.push((empty_scalar(), span(end_of_dash_line))),
                }
            } else if self.at_entry() {
                return Err(Bail);
            } else if self.key_here() {
                if anchor.is_some() {
                    // `- &a key: value`: left to the full parser.
                    return Err(Bail);
                }
                self.mapping(out, depth + 1)?;
            } else {
                self.inline_value(col, out)?;
            }
            anchored(out, value, anchor)?;
            if indentless && first_entry {
                // Or where its anchor is.
                out[start].1 = span(if anchor.is_some() {
                    entry
                } else {
                    end_of_dash_line
                });
                first_entry = false;
            }
            match self.content_indent() {
                Some(indent) if indent == col && self.at_entry() => {}
                Some(indent) if indent == col && indentless => break,
                Some(indent) if indent >= col => return Err(Bail),
                _ => break,
            }
        }
        out.push((Event::SequenceEnd, span(self.mark())));
        Ok(())
    }

    /// A node that starts a line, under a collection at column `parent`.
    fn node(&mut self, parent: usize, out: &mut Events<'a>, depth: usize) -> Step {
        if self.at_entry() {
            self.sequence(false, out, depth)
        } else if self.key_here() {
            self.mapping(out, depth)
        } else {
            self.inline_value(parent, out)
        }
    }

    /// Whether a simple key (a one-line plain or quoted scalar followed by `:` and a blank)
    /// starts at the current position.
    fn key_here(&self) -> bool {
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self
                .quoted_end_on_line(q)
                .is_some_and(|end| self.is_value_indicator(end)),
            Some(b) if plain_start(b, self.bytes.get(self.pos + 1).copied()) => {
                let (_, end, stop) = self.plain_extent();
                stop == Stop::Colon && end > self.pos
            }
            _ => false,
        }
    }

    fn is_value_indicator(&self, at: usize) -> bool {
        self.bytes.get(at) == Some(&b':')
            && matches!(self.bytes.get(at + 1), None | Some(b' ' | b'\n'))
    }

    /// For a quoted scalar starting at the current position: the offset just past its closing
    /// quote when it closes on this line.
    fn quoted_end_on_line(&self, quote: u8) -> Option<usize> {
        let mut i = self.pos + 1;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'\n' => return None,
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && self.bytes.get(i + 1) == Some(&b'\'') => i += 2,
                _ if b == quote => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    /// Scans a plain scalar on the current line: (start, end without trailing spaces, what
    /// stopped it).
    fn plain_extent(&self) -> (usize, usize, Stop) {
        let start = self.pos;
        let mut end = start;
        let mut i = start;
        let stop = loop {
            let Some(&b) = self.bytes.get(i) else {
                break Stop::Eol;
            };
            match b {
                b'\n' => break Stop::Eol,
                b':' if matches!(self.bytes.get(i + 1), None | Some(b' ' | b'\n')) => {
                    break Stop::Colon;
                }
                b'#' if i > start && self.bytes[i - 1] == b' ' => break Stop::Comment,
                b' ' => {}
                _ => end = i + 1,
            }
            i += 1;
        };
        if stop == Stop::Colon && end != i {
            // `key :`: legal, but rare enough to leave to the full parser.
            return (start, end, Stop::Other);
        }
        (start, end, stop)
    }

    /// A key at the current position, through its `:`.
    fn key(&mut self, out: &mut Events<'a>) -> Step {
        let mark = self.mark();
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                let end = self.quoted_end_on_line(q).ok_or(Bail)?;
                if end - self.pos > MAX_KEY_LEN {
                    return Err(Bail);
                }
                let (text, style) = self.quoted(Lines::One)?;
                if self.pos != end || !self.is_value_indicator(end) {
                    return Err(Bail);
                }
                out.push((Event::Scalar(text, style, 0, None), span(mark)));
            }
            Some(b) if plain_start(b, self.peek_at(1)) => {
                let (start, end, stop) = self.plain_extent();
                if stop != Stop::Colon || end == start || end - start > MAX_KEY_LEN {
                    return Err(Bail);
                }
                out.push((
                    Event::Scalar(
                        Cow::Borrowed(&self.text[start..end]),
                        ScalarStyle::Plain,
                        0,
                        None,
                    ),
                    span(mark),
                ));
                self.pos = end;
            }
            _ => return Err(Bail),
        }
        // The `:`.
        self.pos += 1;
        Ok(())
    }

    /// A scalar (or empty flow collection) at the current position, the value of a key or an
    /// entry of a collection at column `parent`; moves to the next content line.
    fn inline_value(&mut self, parent: usize, out: &mut Events<'a>) -> Step {
        let mark = self.mark();
        match self.peek().ok_or(Bail)? {
            b'\'' | b'"' => {
                let (text, style) = self.quoted(Lines::Any)?;
                out.push((Event::Scalar(text, style, 0, None), span(mark)));
                self.finish_line()
            }
            b'|' | b'>' => {
                let (text, style, mark) = self.block_scalar(parent)?;
                out.push((Event::Scalar(Cow::Owned(text), style, 0, None), span(mark)));
                Ok(())
            }
            b'[' | b'{' => {
                self.flow_collection(out, 0)?;
                self.finish_line()
            }
            b'*' => {
                self.alias(out)?;
                self.finish_line()
            }
            b if plain_start(b, self.peek_at(1)) => {
                let (start, end, stop) = self.plain_extent();
                if !matches!(stop, Stop::Eol | Stop::Comment) {
                    return Err(Bail);
                }
                self.pos = end;
                let first = &self.text[start..end];
                let text = if stop == Stop::Eol {
                    self.plain_continuation(parent, first)?
                } else {
                    Cow::Borrowed(first)
                };
                out.push((Event::Scalar(text, ScalarStyle::Plain, 0, None), span(mark)));
                self.finish_line()
            }
            _ => Err(Bail),
        }
    }

    /// The name of an anchor or alias whose `&` or `*` is at the current position: the
    /// characters both go-yaml and saphyr-parser take for a name (ASCII letters, digits, `_`,
    /// `-`), followed by a blank, the end of the line or (in a flow collection) `,`, `]`, `}`.
    fn anchor_name(&self) -> Result<&'a str, Bail> {
        let start = self.pos + 1;
        let end = self.bytes[start..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            .map_or(self.bytes.len(), |i| start + i);
        let follows = match self.bytes.get(end) {
            None | Some(b' ' | b'\n') => true,
            Some(b',' | b']' | b'}') => self.flow_depth > 0,
            Some(_) => false,
        };
        if end == start || !follows {
            return Err(Bail);
        }
        Ok(&self.text[start..end])
    }

    /// An anchor at the current position, registered, followed by blanks and then the node
    /// it names on the same line (in a flow collection) or on the same or the next lines.
    /// `None` without an anchor.
    fn anchor(&mut self, flow: bool) -> Result<Option<(usize, Marker)>, Bail> {
        if self.peek() != Some(b'&') {
            return Ok(None);
        }
        let mark = self.mark();
        let name = self.anchor_name()?;
        self.pos += 1 + name.len();
        self.skip_spaces();
        let next_line = matches!(self.peek(), None | Some(b'\n'));
        // Another property, a comment or an empty node: left to the full parser.
        if matches!(
            self.peek(),
            Some(b'&' | b'!' | b'*' | b'#' | b',' | b']' | b'}')
        ) || (flow && next_line)
        {
            return Err(Bail);
        }
        self.anchor_count += 1;
        self.anchors.insert(name, self.anchor_count);
        Ok(Some((self.anchor_count, mark)))
    }

    /// An alias at the current position, of an anchor seen before.
    fn alias(&mut self, out: &mut Events<'a>) -> Step {
        let mark = self.mark();
        let name = self.anchor_name()?;
        let id = *self.anchors.get(name).ok_or(Bail)?;
        out.push((Event::Alias(id), span(mark)));
        self.pos += 1 + name.len();
        Ok(())
    }

    /// A flow sequence or mapping whose `[` or `{` is at the current position, `depth` levels
    /// deep; leaves the position just past its closing bracket.
    ///
    /// Inside it, lines may start at any column (except with a document marker), as go-yaml
    /// reads them; saphyr-parser wants them indented past the enclosing block collection. The
    /// contents are scalars (plain or quoted, on one line or several) and nested flow
    /// collections; flow mappings hold `key: value` entries with one-line keys. Anything else
    /// (anchors, tags, `?`, single-pair mappings in sequences, empty entries) gives up.
    fn flow_collection(&mut self, out: &mut Events<'a>, depth: usize) -> Step {
        if depth > MAX_NESTING {
            return Err(Bail);
        }
        let sequence = self.peek() == Some(b'[');
        let start = span(self.mark());
        out.push(if sequence {
            (Event::SequenceStart(0, None), start)
        } else {
            (Event::MappingStart(0, None), start)
        });
        self.flow_depth += 1;
        self.pos += 1;
        let close = if sequence { b']' } else { b'}' };
        loop {
            self.flow_blanks()?;
            if self.peek() == Some(close) {
                break;
            }
            if sequence {
                self.flow_node(out, depth)?;
            } else {
                self.flow_key(out)?;
                // saphyr-parser places an empty value at its `:`.
                let colon = Marker::new(self.pos - 1, self.line, self.col_of(self.pos - 1));
                self.flow_blanks()?;
                if matches!(self.peek(), Some(b',' | b'}')) {
                    out.push((empty_scalar(), span(colon)));
                } else {
                    self.flow_node(out, depth)?;
                }
            }
            self.flow_blanks()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => break,
                _ => return Err(Bail),
            }
        }
        out.push(if sequence {
            (Event::SequenceEnd, span(self.mark()))
        } else {
            (Event::MappingEnd, span(self.mark()))
        });
        self.pos += 1;
        self.flow_depth -= 1;
        Ok(())
    }

    /// Skips blanks, line breaks and comments between the tokens of a flow collection.
    fn flow_blanks(&mut self) -> Step {
        let mut blank_before = self.pos == self.line_start
            || matches!(self.bytes.get(self.pos.wrapping_sub(1)), Some(b' '));
        loop {
            match self.peek() {
                Some(b' ') => {
                    self.pos += 1;
                    blank_before = true;
                }
                Some(b'\n') => {
                    self.newline();
                    if self.at_marker(b"---") || self.at_marker(b"...") {
                        return Err(Bail);
                    }
                    blank_before = true;
                }
                // A comment must be separated from what precedes it.
                Some(b'#') if blank_before => self.pos = self.end_of_line(),
                None => return Err(Bail),
                Some(_) => return Ok(()),
            }
        }
    }

    /// A key of a flow mapping (a plain or quoted scalar on one line) through its `:`.
    fn flow_key(&mut self, out: &mut Events<'a>) -> Step {
        let mark = self.mark();
        let text = match self.peek().ok_or(Bail)? {
            q @ (b'\'' | b'"') => {
                let end = self.quoted_end_on_line(q).ok_or(Bail)?;
                if end - self.pos > MAX_KEY_LEN {
                    return Err(Bail);
                }
                let (text, style) = self.quoted(Lines::One)?;
                // `"key":value` (JSON style) is a key too.
                if self.peek() != Some(b':') || matches!(self.peek_at(1), Some(b',' | b']' | b'}'))
                {
                    return Err(Bail);
                }
                out.push((Event::Scalar(text, style, 0, None), span(mark)));
                self.pos += 1;
                return Ok(());
            }
            b if flow_plain_start(b, self.peek_at(1)) => {
                let (end, stop) = self.flow_plain_line();
                if stop != FlowStop::Colon || end - self.pos > MAX_KEY_LEN {
                    return Err(Bail);
                }
                let text = &self.text[self.pos..end];
                self.pos = end;
                text
            }
            _ => return Err(Bail),
        };
        // `key :` is legal but rare: left to the full parser.
        if self.peek() != Some(b':') {
            return Err(Bail);
        }
        out.push((
            Event::Scalar(Cow::Borrowed(text), ScalarStyle::Plain, 0, None),
            span(mark),
        ));
        self.pos += 1;
        Ok(())
    }

    /// An entry of a flow sequence or a value of a flow mapping at the current position.
    fn flow_node(&mut self, out: &mut Events<'a>, depth: usize) -> Step {
        let mark = self.mark();
        match self.peek().ok_or(Bail)? {
            b'[' | b'{' => self.flow_collection(out, depth + 1),
            b'&' => {
                let anchor = self.anchor(true)?;
                let value = out.len();
                self.flow_node(out, depth)?;
                anchored(out, value, anchor)
            }
            b'*' => self.alias(out),
            b'\'' | b'"' => {
                let (text, style) = self.quoted(Lines::Any)?;
                out.push((Event::Scalar(text, style, 0, None), span(mark)));
                Ok(())
            }
            b if flow_plain_start(b, self.peek_at(1)) => {
                let text = self.flow_plain()?;
                out.push((Event::Scalar(text, ScalarStyle::Plain, 0, None), span(mark)));
                Ok(())
            }
            _ => Err(Bail),
        }
    }

    /// The part of a plain scalar in a flow collection that is on the current line: the end
    /// of its text (without trailing blanks) and what stopped it.
    fn flow_plain_line(&self) -> (usize, FlowStop) {
        let mut end = self.pos;
        let mut i = self.pos;
        let stop = loop {
            let Some(&b) = self.bytes.get(i) else {
                break FlowStop::Other;
            };
            match b {
                b'\n' => break FlowStop::Eol,
                b',' | b']' | b'}' => break FlowStop::Indicator,
                // go-yaml ends a plain scalar at `?`, `[` and `{` where YAML 1.2 does not
                // always: left to the full parser.
                b'?' | b'[' | b'{' => break FlowStop::Other,
                b':' => match self.bytes.get(i + 1) {
                    None => break FlowStop::Other,
                    Some(b' ' | b'\n') => break FlowStop::Colon,
                    // saphyr-parser ends the scalar there, go-yaml does not.
                    Some(b',' | b'[' | b']' | b'{' | b'}') => break FlowStop::Other,
                    Some(_) => end = i + 1,
                },
                b'#' if self.bytes[i - 1] == b' ' => break FlowStop::Indicator,
                b' ' => {}
                _ => end = i + 1,
            }
            i += 1;
        };
        (end, stop)
    }

    /// A plain scalar in a flow collection, starting at the current position; it may go on
    /// over several lines, at any indentation. Leaves the position at the end of its text.
    fn flow_plain(&mut self) -> Result<Cow<'a, str>, Bail> {
        let (end, stop) = self.flow_plain_line();
        let first = &self.text[self.pos..end];
        self.pos = end;
        match stop {
            FlowStop::Indicator => return Ok(Cow::Borrowed(first)),
            FlowStop::Eol => {}
            FlowStop::Colon | FlowStop::Other => return Err(Bail),
        }
        let mut text: Option<String> = None;
        loop {
            let end = (self.pos, self.line, self.line_start);
            #[cfg(test)]
            let lines_seen = self.flow_lines.len();
            self.skip_spaces();
            let mut breaks = 0usize;
            while self.peek() == Some(b'\n') {
                self.newline();
                if self.at_marker(b"---") || self.at_marker(b"...") {
                    return Err(Bail);
                }
                breaks += 1;
                self.skip_spaces();
            }
            let next = self.peek().ok_or(Bail)?;
            if breaks == 0 || matches!(next, b',' | b']' | b'}' | b'#') {
                // The scalar ended on the line before: its blanks belong to the next token.
                (self.pos, self.line, self.line_start) = end;
                #[cfg(test)]
                self.flow_lines.truncate(lines_seen);
                break;
            }
            if !flow_plain_start(next, self.peek_at(1)) {
                return Err(Bail);
            }
            let (stop_at, stop) = self.flow_plain_line();
            if matches!(stop, FlowStop::Colon | FlowStop::Other) {
                return Err(Bail);
            }
            fold_line(
                text.get_or_insert_with(|| first.to_owned()),
                breaks,
                &self.text[self.pos..stop_at],
            );
            self.pos = stop_at;
            if stop == FlowStop::Indicator {
                break;
            }
        }
        Ok(text.map_or(Cow::Borrowed(first), Cow::Owned))
    }

    /// The lines that continue a plain scalar whose first line is `first`: lines indented past
    /// `parent` (the column of the collection holding the scalar), folded like YAML folds
    /// them. Leaves the position at the end of the scalar's last line.
    fn plain_continuation(&mut self, parent: usize, first: &'a str) -> Result<Cow<'a, str>, Bail> {
        let mut text: Option<String> = None;
        loop {
            let end = (self.pos, self.line, self.line_start);
            self.skip_spaces();
            let mut breaks = 0usize;
            while self.peek() == Some(b'\n') {
                self.newline();
                breaks += 1;
                self.skip_spaces();
            }
            let continues =
                breaks > 0 && !self.eof() && self.col() > parent && self.peek() != Some(b'#');
            if !continues {
                (self.pos, self.line, self.line_start) = end;
                break;
            }
            let (start, stop_at, stop) = self.plain_extent();
            if !matches!(stop, Stop::Eol | Stop::Comment) || stop_at == start {
                return Err(Bail);
            }
            fold_line(
                text.get_or_insert_with(|| first.to_owned()),
                breaks,
                &self.text[start..stop_at],
            );
            self.pos = stop_at;
            if stop == Stop::Comment {
                break;
            }
        }
        Ok(text.map_or(Cow::Borrowed(first), Cow::Owned))
    }

    /// A single- or double-quoted scalar at the current position, its continuation lines
    /// placed as `lines` says. Leaves the position just past the closing quote.
    fn quoted(&mut self, lines: Lines) -> Result<(Cow<'a, str>, ScalarStyle), Bail> {
        let quote = self.peek().ok_or(Bail)?;
        let style = if quote == b'\'' {
            ScalarStyle::SingleQuoted
        } else {
            ScalarStyle::DoubleQuoted
        };
        self.pos += 1;
        // Fast path: one line, no escapes.
        let start = self.pos;
        let mut i = start;
        while let Some(&b) = self.bytes.get(i) {
            if b == quote {
                if quote == b'\'' && self.bytes.get(i + 1) == Some(&b'\'') {
                    break;
                }
                self.pos = i + 1;
                return Ok((Cow::Borrowed(&self.text[start..i]), style));
            }
            if b == b'\n' || b == b'\\' {
                break;
            }
            i += 1;
        }
        let mut out = String::with_capacity(i - start + 16);
        let mut whitespace = String::new();
        let mut leading_blanks = false;
        let mut leading_break = false;
        let mut trailing_breaks = 0usize;
        loop {
            // Non-blank characters.
            loop {
                let b = self.peek().ok_or(Bail)?;
                match b {
                    b' ' | b'\n' => break,
                    b'\'' if quote == b'\'' => {
                        if self.peek_at(1) == Some(b'\'') {
                            out.push('\'');
                            self.pos += 2;
                        } else {
                            self.pos += 1;
                            return Ok((Cow::Owned(out), style));
                        }
                    }
                    b'"' if quote == b'"' => {
                        self.pos += 1;
                        return Ok((Cow::Owned(out), style));
                    }
                    b'\\' if quote == b'"' => {
                        let (c, len) = self.escape()?;
                        out.push(c);
                        self.pos += len;
                    }
                    _ => {
                        // This byte and the rest of its run (a special byte is ASCII, so the
                        // run ends on a character boundary).
                        let run = self.bytes[self.pos + 1..]
                            .iter()
                            .position(|&c| matches!(c, b' ' | b'\n' | b'\'' | b'"' | b'\\'))
                            .map_or(self.bytes.len(), |i| self.pos + 1 + i);
                        out.push_str(&self.text[self.pos..run]);
                        self.pos = run;
                    }
                }
            }
            // Blanks and line breaks.
            loop {
                match self.peek() {
                    Some(b' ') => {
                        if !leading_blanks {
                            whitespace.push(' ');
                        }
                        self.pos += 1;
                    }
                    Some(b'\n') => {
                        if lines == Lines::One {
                            return Err(Bail);
                        }
                        if leading_blanks {
                            trailing_breaks += 1;
                        } else {
                            whitespace.clear();
                            leading_break = true;
                            leading_blanks = true;
                        }
                        self.newline();
                        #[cfg(test)]
                        if self.flow_depth == 0 {
                            self.flow_lines.push(self.line);
                        }
                        if self.at_marker(b"---") || self.at_marker(b"...") {
                            return Err(Bail);
                        }
                        self.skip_spaces();
                    }
                    _ => break,
                }
            }
            if leading_blanks {
                if leading_break && trailing_breaks == 0 {
                    out.push(' ');
                }
                for _ in 0..trailing_breaks {
                    out.push('\n');
                }
                leading_break = false;
                trailing_breaks = 0;
                leading_blanks = false;
            } else {
                out.push_str(&whitespace);
                whitespace.clear();
            }
        }
    }

    /// The escape sequence at the current position (a `\` in a double-quoted scalar): the
    /// character and the length of the sequence.
    fn escape(&self) -> Result<(char, usize), Bail> {
        let c = match self.peek_at(1).ok_or(Bail)? {
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\x0b',
            b'f' => '\x0c',
            b'r' => '\r',
            b'e' => '\x1b',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' => return self.hex_escape(2),
            b'u' => return self.hex_escape(4),
            b'U' => return self.hex_escape(8),
            _ => return Err(Bail),
        };
        Ok((c, 2))
    }

    fn hex_escape(&self, digits: usize) -> Result<(char, usize), Bail> {
        let from = self.pos + 2;
        let hex = self.text.get(from..from + digits).ok_or(Bail)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Bail);
        }
        let code = u32::from_str_radix(hex, 16).map_err(|_| Bail)?;
        let c = char::from_u32(code).ok_or(Bail)?;
        Ok((c, 2 + digits))
    }

    /// A literal (`|`) or folded (`>`) block scalar whose indicator is at the current
    /// position, under a collection at column `parent`. Moves to the next content line.
    fn block_scalar(&mut self, parent: usize) -> Result<(String, ScalarStyle, Marker), Bail> {
        let literal = self.peek() == Some(b'|');
        self.pos += 1;
        let mut chomp = Chomp::Clip;
        let mut increment = 0usize;
        for _ in 0..2 {
            match self.peek() {
                Some(b'-') if chomp == Chomp::Clip => chomp = Chomp::Strip,
                Some(b'+') if chomp == Chomp::Clip => chomp = Chomp::Keep,
                Some(d @ b'1'..=b'9') if increment == 0 => increment = usize::from(d - b'0'),
                _ => break,
            }
            self.pos += 1;
        }
        // Only blanks and a comment may follow the header.
        let before = self.pos;
        self.skip_spaces();
        match self.peek() {
            Some(b'\n') => self.newline(),
            Some(b'#') if self.pos > before => {
                self.pos = self.end_of_line();
                if self.eof() {
                    return Err(Bail);
                }
                self.newline();
            }
            _ => return Err(Bail),
        }
        let mut indent = if increment > 0 { parent + increment } else { 0 };
        let mut trailing = 0usize;
        self.block_breaks(&mut indent, &mut trailing, parent)?;
        if self.eof() {
            // An empty block scalar at the end of the text: saphyr-parser places it elsewhere.
            return Err(Bail);
        }
        // saphyr-parser places a block scalar where its first line of text starts.
        let mark = self.mark();
        let mut text = String::new();
        let mut leading_break = false;
        let mut leading_blank = false;
        while self.col() == indent && !self.eof() {
            let trailing_blank = self.peek() == Some(b' ');
            if !literal && leading_break && !leading_blank && !trailing_blank {
                if trailing == 0 {
                    text.push(' ');
                }
            } else if leading_break {
                text.push('\n');
            }
            for _ in 0..trailing {
                text.push('\n');
            }
            trailing = 0;
            leading_blank = trailing_blank;
            let end = self.end_of_line();
            text.push_str(&self.text[self.pos..end]);
            self.pos = end;
            if self.eof() {
                // The end of the text ends the line too.
                leading_break = true;
                break;
            }
            self.newline();
            leading_break = true;
            self.block_breaks(&mut indent, &mut trailing, parent)?;
        }
        if chomp != Chomp::Strip && leading_break {
            text.push('\n');
        }
        if chomp == Chomp::Keep {
            for _ in 0..trailing {
                text.push('\n');
            }
        }
        // Back to the start of the line that ended the scalar, then on to content.
        if !self.eof() {
            self.pos = self.line_start;
            self.skip_to_content();
        }
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        Ok((text, style, mark))
    }

    /// Empty lines of a block scalar (and the indentation of the next line); fixes the
    /// indentation from the first content line when it is not given (`indent == 0`).
    fn block_breaks(&mut self, indent: &mut usize, trailing: &mut usize, parent: usize) -> Step {
        let auto = *indent == 0;
        let mut max_indent = 0usize;
        loop {
            while (*indent == 0 || self.col() < *indent) && self.peek() == Some(b' ') {
                self.pos += 1;
            }
            max_indent = max_indent.max(self.col());
            if self.eof() && self.col() > 0 {
                // A last line of blanks without a line break: saphyr-parser counts it as one.
                return Err(Bail);
            }
            if self.peek() != Some(b'\n') {
                break;
            }
            self.newline();
            *trailing += 1;
        }
        if auto {
            *indent = max_indent.max(parent + 1).max(1);
            // A first content line indented less than an empty line before it: an error the
            // full parser reports.
            if !self.eof() && self.col() < *indent && self.col() > parent && *trailing > 0 {
                return Err(Bail);
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `:` then a blank or the end of the line.
    Colon,
    /// ` #`.
    Comment,
    /// The end of the line.
    Eol,
    /// Something the scanner leaves to the full parser.
    Other,
}

/// What ends the line's part of a plain scalar in a flow collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowStop {
    /// `,`, `]`, `}` or a comment: the scalar ends.
    Indicator,
    /// `:` then a blank or the end of the line.
    Colon,
    /// The end of the line: the scalar may go on.
    Eol,
    /// Something the scanner leaves to the full parser.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// Whether a plain scalar may start with `b` (followed by `next`) in a flow collection.
fn flow_plain_start(b: u8, next: Option<u8>) -> bool {
    match b {
        b'-' => !matches!(
            next,
            None | Some(b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}')
        ),
        _ => plain_start(b, next),
    }
}

/// Whether a plain scalar may start with `b` (followed by `next`) in block context.
fn plain_start(b: u8, next: Option<u8>) -> bool {
    match b {
        b'-' => !matches!(next, None | Some(b' ' | b'\n')),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' => false,
        _ => true,
    }
}

/// Appends the next line of a plain scalar as YAML folds it: one line break becomes a
/// space, `n` breaks (blank lines between) become `n - 1` newlines.
fn fold_line(folded: &mut String, breaks: usize, line: &str) {
    if breaks == 1 {
        folded.push(' ');
    } else {
        for _ in 1..breaks {
            folded.push('\n');
        }
    }
    folded.push_str(line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use saphyr_parser::Parser;

    /// An event as the tree builder sees it: the event and, where the builder reads it, the
    /// start position (line, column).
    type Described = (String, Option<(usize, usize)>);

    fn describe(event: &Event<'_>, span: &Span) -> Described {
        let at = match event {
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentEnd
            | Event::SequenceEnd
            | Event::MappingEnd => None,
            _ => Some((span.start.line(), span.start.col())),
        };
        (format!("{event:?}"), at)
    }

    /// saphyr-parser's events, or `None` on a syntax error.
    fn full(text: &str) -> Option<Vec<Described>> {
        let mut parser = Parser::new_from_str(text);
        let mut out = Vec::new();
        while let Some(step) = parser.next_event() {
            let (event, span) = step.ok()?;
            out.push(describe(&event, &span));
        }
        Some(out)
    }

    /// This scanner's events and the lines that start inside flow collections, or `None` when
    /// it gives up.
    fn fast(text: &str) -> Option<(Vec<Described>, Vec<usize>)> {
        let mut scanner = Scanner::new(text)?;
        let mut events = Vec::new();
        let mut out = Vec::new();
        loop {
            let more = scanner.next_document(&mut events).ok()?;
            out.extend(events.drain(..).map(|(e, s)| describe(&e, &s)));
            if !more {
                return Some((out, scanner.flow_lines));
            }
        }
    }

    /// What this scanner must read from `text`: saphyr-parser's events; or, when saphyr-parser
    /// rejects the text, its events for the same text with the lines that start inside flow
    /// collections or quoted scalars indented past every block (`flow_lines`), placed back at
    /// their columns. go-yaml ignores the indentation of those lines, so it reads both texts
    /// alike; a text that is wrong for another reason stays wrong once indented.
    fn reference(text: &str, flow_lines: &[usize]) -> Option<Vec<Described>> {
        if let Some(events) = full(text) {
            return Some(events);
        }
        if flow_lines.is_empty() {
            return None;
        }
        let shift = text.lines().map(str::len).max().unwrap_or(0) + 1;
        let indented: String = text
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, line)| {
                let content = !line
                    .trim_start_matches(' ')
                    .trim_end_matches('\n')
                    .is_empty();
                if content && flow_lines.contains(&(i + 1)) {
                    format!("{}{line}", " ".repeat(shift))
                } else {
                    line.to_owned()
                }
            })
            .collect();
        let mut events = full(&indented)?;
        for (_, at) in &mut events {
            if let Some((line, col)) = at {
                if flow_lines.contains(line) {
                    *col -= shift;
                }
            }
        }
        Some(events)
    }

    /// `Some(true)`: read as it must be (see [`reference`]); `Some(false)`: read differently,
    /// or read although it is invalid; `None`: left to saphyr-parser.
    pub(crate) fn agrees(text: &str) -> Option<bool> {
        let (ours, flow_lines) = fast(text)?;
        Some(reference(text, &flow_lines).as_ref() == Some(&ours))
    }

    /// The differences between both readings of `text`, or why it was not read.
    fn differences(text: &str) -> Option<String> {
        let Some((ours, flow_lines)) = fast(text) else {
            return Some(format!("gave up on {text:?}"));
        };
        let Some(theirs) = reference(text, &flow_lines) else {
            return Some(format!("read {text:?}, which saphyr-parser rejects"));
        };
        (ours != theirs).then(|| {
            let at = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
            format!(
                "{text:?}: at event {at}, ours {:?}, saphyr {:?}",
                ours.get(at),
                theirs.get(at)
            )
        })
    }

    #[track_caller]
    fn gives_up(text: &str) {
        assert!(fast(text).is_none(), "read {text:?}");
    }

    #[test]
    fn reads_block_style_like_saphyr() {
        let texts = [
            "",
            "# only a comment\n",
            "a: 1\n",
            "a: 1",
            "a:\n  b: c\n  d: [] # x\n  e: {}\nf: g\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    app: y\ndata:\n  k: v\n",
            "a:\n- 1\n- b: 2\n  c: 3\n-\n- x\nd: e\n",
            "a:\n  - 1\n  -   b: 2\n      c: 3\n  - 'q'\n",
            "- a\n- b\n",
            "---\na: 1\n---\nb: 2\n",
            "---\n---\na: 1\n",
            "a: 1\n---\n",
            "a: 1\n--- # c\n# d\n",
            "---\n# only a comment\n---\n",
            "  a: 1\n  b: 2\n",
            "a:\nb:\n",
            "a:\n# c\n  b: 1\n",
            "a: 'it''s'\nb: \"x\\ty\\u00e9\\\"\"\n",
            "a: 'one\n  two\n\n  three'\nb: 1\n",
            "a: \"one\n  two  \n   three\"\n",
            "a: b#c\nd: e # f\ng: h:i\n",
            "'a b': 1\n\"c\": 2\n",
            "a: |\n  x\n  y\nb: 1\n",
            "a: |-\n  x\n\n  y\n\n\nb: 1\n",
            "a: |+\n  x\n\n\nb: 1\n",
            "a: >\n  folded\n  text\n\n  para\n    indented\n  back\nb: 1\n",
            "a: >-\n  x\n  y\n",
            "a: |2\n    two more\n  back\n",
            "a: |\n\n  after empty\n",
            "a: |\nb: 1\n",
            "a: | # comment\n  x\n",
            "- |\n  x\n- >\n  y\n",
            "a:\n  b: |\n    deep\n   # a comment in the text? no: less indented\n  c: 1\n",
            "a: |\n  x\n# c\nb: 1\n",
            "a: 1 # c\n# d\nb: 2 # e\n",
            "key: -1\nother: --flag\n",
            "a: x\n\n\nb: y\n",
            "a: |\n  x",
            "a: 'x'",
            "a:\n  - b\n  -\n  - c\n",
            "a: ~\nb: null\nc: true\nd: 0x1f\n",
            "a:\n-\n- x\n",
            "a:\n- |\n  x\n",
            "a:\n- k: v\n  l: w\nb: 1\n",
            "a:\n- 'q'\n",
            "a:\n-   x\n",
            "a: |-\n  x",
            "a: |+\n  x\n\n",
            "- a:\n  - x\n  b: 1\n",
            "a:\n  -\n    b: 1\n",
            "a:\n-\n  b: 1\n",
            "a:\n- >\n  x\n",
            "a:\n-   # c\n  - x\n",
            "a:\n- \"x\"\n",
            "a:\n- []\n",
            "a: |\n  x\n\n",
            "a: |+\n  x",
            "a:\n  -   # c\n  - x\n",
            "a:\n  - # c\n",
            "a:\n  -   \n  - x\n",
            "a:\n-   \n  b: 1\n",
            "a:   # c\nb:   \nc: 1\n",
            "- k:\n  l: 1\n",
            "a: 1\n---",
            "---",
            "a:\n-",
            "a:\n- # c",
            "a:",
            "a: x\n---\n- y",
            "a: one\n  two\n\n  three\n   - four\nb: 1\n",
            "- one\n  two # c\n- three\n",
            "a:\n  one\n  two\n",
            "a: é\nb: 'ü''x'\nc: \"ß\\t\"\nd: |\n  ö\n",
            "é: 1\nb: ü\n",
            "- é: 1\n  x:\n- ü\n-\n",
            "a: x # é\nb:\n- 'a\n  é b'\n",
            "a: 'say \"hi\"\n  x'\nb: \"it's\\n\n  y\"\n",
            // Flow collections.
            "args: [a, \"b\", 'c']\n",
            "a: {k: v, 'q': \"w\"}\n",
            "a: [[1, 2], {k: [x, y]}, [], {}]\n",
            "a: [\n  x,\n  y\n  ]\n",
            "a:\n  b: [\n    x, y,\n    z\n    ]\nc: 1\n",
            "- [a, b]\n- {k: v}\n-   [c]\n",
            "a: {x: , y: 1}\n",
            "a: {x: # c\n  , y: 1}\n",
            "a: [x, # c\n  y]\n",
            "a: [x,]\nb: {k: v,}\n",
            "a: {\"x\":1, \"z\":[1], \"w\":{}}\n",
            "a: [one\n  two, three\n\n  four]\n",
            "a: [\"q\n  r\", 'it''s\n\n  x', \"\\t\"]\n",
            "a: [http://x/y, a:1, -1, é, a#b, a b  c ]\n",
            "a: [x] # c\nb: {}\n",
            "a: {k:\n    v}\n",
            "a:\n  [x, y]\nb:\n  {k: v}\n",
            "a: [x, y]",
            "a: [\n    # c\n    x\n\n  ]\n",
            "a: {url: http://x:80/y, k: 'v'}\n",
            "a:\n- [x,\n  ]\n",
            "- k: [1]\n  l: {m: [2, {n: o}]}\n",
            "a: [  ]\nb: {  }\n",
            // Anchors and aliases.
            "a: &x 1\nb: *x\n",
            "a: &x\n  k: v\nb: *x\n",
            "base: &base\n  k: v\nderived:\n  <<: *base\n  l: w\n",
            "- &a x\n- *a\n",
            "a:\n- &a x\n- *a\n",
            "a: &s\n- x\nb: *s\n",
            "a: &x |\n  text\nb: *x\n",
            "a: &x 'q'\nb: [*x, &y z, *y]\nc: {k: *y, l: &w [1], m: *w}\n",
            "a: &x 1\n---\nb: *x\n",
            "a: &x 1\nb: &x 2\nc: *x\n",
            "a: &x\n  b: &y 1\n  c: *y\nd: *x\n",
            "- &a\n  k: v\n- *a\n",
            "a: &x one\n  two\nb: *x\n",
            "a: &x_1-b   [1, 2]\nb: *x_1-b # c\n",
            "a:\n- &a\n  - x\n- *a\n",
            "a: &x {}\nb: *x",
        ];
        let wrong: Vec<String> = texts.into_iter().filter_map(differences).collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn gives_up_outside_its_subset() {
        for text in [
            "a: !!str 1\n",
            "a: &x\nb: 1\n",
            "a: &x",
            "- &a k: v\n",
            "&a k: v\n",
            "a: &x !!str 1\n",
            "a: *x\n",
            "a: &x # c\n  b: 1\n",
            "a: &x.y 1\nb: *x.y\n",
            "a: &x 1\n*x : 1\n",
            "a: &x 1\nb: *x:\n",
            "a: &x &y 1\n",
            "a: [&x]\n",
            "a: [&x\n  1]\n",
            "a: &é 1\n",
            "a: [*x]\n",
            "a: [!!str 1]\n",
            "a: [x: y]\n",
            "a: [? x]\n",
            "a: {x}\n",
            "a: {x:1}\n",
            "a: {x:, y: 1}\n",
            "a: {k : v}\n",
            "a: [b?c]\n",
            "a: [x]#c\n",
            "[a, b]\n",
            "a: [-]\n",
            "a: [|]\n",
            "a:\tb\n",
            "a: b\r\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n...\n",
            "? a\n: b\n",
            "a : b\n",
            "just a scalar\n",
            "a: b: c\n",
            "a: 1\n  b: 2\n",
            "- - a\n",
            "a: \"x\\\n  y\"\n",
            "a: |\n  x\n  ",
        ] {
            gives_up(text);
        }
    }

    #[test]
    fn a_syntax_error_is_never_read() {
        for text in [
            "a: 'open\n",
            "a: \"open\n",
            "a:\n  b: 1\n c: 2\n",
            "- a\nb: 1\n",
            "a: 1\n- b\n",
            "a: 'x' y\n",
            "a: one\n  b: 2\n",
            "a: one # c\n  two\n",
            "a: |x\n",
        ] {
            assert_ne!(agrees(text), Some(false), "{text:?}");
        }
    }

    /// Texts that saphyr-parser rejects because lines inside a flow collection or a quoted
    /// scalar are not indented past the block that holds it, but that go-yaml (kubectl,
    /// kustomize, Flux, Argo CD) reads: the scanner reads them as go-yaml does.
    #[test]
    fn reads_lines_at_any_indentation_like_go_yaml() {
        for text in [
            "spec:\n  args: [\n    \"--a\", \"b\",\n    \"c\"\n  ]\n  env:\n    k: v\n",
            "a:\n  b: [x,\ny] # c\n  c: 1\n",
            "a:\n  b: [x\ny, z]\n",
            "a:\n  b: [x,\n \"q\nr\"]\n",
            "a:\n  b: {k: [\n  1],\n l: 'x\n y'\n  }\nc: 1\n",
            "a: ['x'\n, 'y']\n",
            "- a:\n    - [\n      x\n  ]\n",
            "a:\n  b: \"x\n  y\"\n  c: 1\n",
            "a: 'x\ny'\nb: 1\n",
            "- k: \"long\n  text\"\n",
            "a:\n  b: \"x\nc\"\n  d: 1\n",
            "a:\n  - \"x\n y\n\n z\"\n",
            "a: ['x\ny', {k: \"v\nw\"}]\n",
        ] {
            assert!(full(text).is_none(), "saphyr-parser now reads {text:?}");
            assert_eq!(agrees(text), Some(true), "{:?}", differences(text));
        }
        // The shape of a real Helm release: `]` at its key's indentation.
        let (events, _) = fast("c:\n  args: [\n    \"x\",\n    y\n  ]\n  env: 1\n").unwrap();
        let at = |i: usize| (events[i].0.as_str(), events[i].1);
        assert_eq!(at(6), ("SequenceStart(0, None)", Some((2, 8))));
        assert_eq!(
            at(7),
            ("Scalar(\"x\", DoubleQuoted, 0, None)", Some((3, 4)))
        );
        assert_eq!(at(8), ("Scalar(\"y\", Plain, 0, None)", Some((4, 4))));
        assert_eq!(at(9), ("SequenceEnd", None));
        assert_eq!(at(10), ("Scalar(\"env\", Plain, 0, None)", Some((6, 2))));
    }

    /// Texts that go-yaml rejects (all but the last also rejected by saphyr-parser): the
    /// relaxed indentation inside flow collections and quoted scalars makes none of them
    /// readable.
    #[test]
    fn rejects_flow_text_that_go_yaml_rejects() {
        for text in [
            "a:\n  b: [x,\ny]\n c: 1\n",
            "a: [x\n---\n]\n",
            "a: [x,\n...\n]\n",
            "a: [\"x\n---\n\"]\n",
            "a: [x,,]\n",
            "a: [,]\n",
            "a: {,}\n",
            "a: [x]]\n",
            "a: [x]y\n",
            "a: [x\n# c\n y]\n",
            "a: [x # c\n y]\n",
            "a: [x, y\n",
            "a: [x, y",
            "a: {k: v\n",
            "a: [x] # c\n  b: 1\n",
            "a: [\"x\"y]\n",
            "a: {k: v w: x}\n",
            "a: [x}\n",
            "a: 'x\n---\ny'\n",
            "a: 'x\n...\ny'\n",
            "a:\n  b: 'x\ny'\n c: 1\n",
            "a: {k: v]\n",
        ] {
            assert!(full(text).is_none(), "saphyr-parser reads {text:?}");
            assert!(fast(text).is_none(), "read {text:?}");
        }
        // A key continued on the next line: saphyr-parser reads it, go-yaml does not.
        gives_up("a: {k\n : v}\n");
    }

    proptest::proptest! {
        /// Flow collections of random pieces, on one line or several, at any indentation:
        /// whatever this scanner reads, it reads as [`reference`] says.
        #[test]
        fn never_reads_flow_collections_differently(
            lead in proptest::sample::select(vec!["k: ", "- ", "k:\n  ", "a:\n  k: ", "- k: "]),
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "[", "]", "{", "}", ",", ", ", ":", ": ", "a", "b c", "-1", "x:y", "'q'",
                    "\"d\"", "'s\n t'", "\"\\n\"", "\n", "\n  ", "\n    ", "\n ", " #c\n", "#",
                    " ", "?", "&a ", "*a", "---", "\n---\n", "é", "[]", "{}", "k: v", "\n- ",
                    "\nk: ", "\n  k: ", "|", "http://h",
                ]),
                0..24,
            ),
            tail in proptest::sample::select(vec!["", "\n", "\nz: 1\n", "\n  z: 1\n", " # c\n"]),
        ) {
            let text = format!("{lead}{}{tail}", pieces.concat());
            proptest::prop_assert_ne!(agrees(&text), Some(false), "{:?}: {:?}", text, differences(&text));
        }
    }

    /// Flow collections nested up to three deep, with blanks, line breaks (to any column) and
    /// comments between their tokens, and now and then a piece that is wrong.
    fn flow_collection_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        use proptest::sample::select;
        let gap = || {
            select(vec![
                "", "", " ", "\n", "\n ", "\n  ", "\n    ", "\n      ", " # c\n  ", "\n# c\n",
                "\n\n   ", "  ", "\n---\n", "#",
            ])
        };
        let scalar = select(vec![
            "a",
            "b c",
            "-1",
            "x:y",
            "'q'",
            "\"d\"",
            "'s\n t'",
            "\"e\\n\"",
            "é",
            "http://h/p",
            "one\ntwo",
            "''",
            "\"\"",
            "~",
            "",
            "?",
            "&a x",
            "-",
            "- x",
            "x: y",
            ":",
            "'o\n\n p'",
        ])
        .prop_map(String::from);
        scalar.prop_recursive(3, 32, 4, move |inner| {
            let key = select(vec![
                "k", "'q'", "\"d\"", "x:y", "k l", "é", "\"j\":", "k\n",
            ]);
            let colon = select(vec![": ", ":", ": \n  ", ":\n", " : "]);
            let comma = select(vec![",", ",", ", ", ",\n  ", "", ",,"]);
            prop_oneof![
                (
                    proptest::collection::vec((gap(), inner.clone(), gap(), comma.clone()), 0..4),
                    gap(),
                )
                    .prop_map(|(items, end)| {
                        let body: String = items
                            .into_iter()
                            .map(|(a, v, b, c)| format!("{a}{v}{b}{c}"))
                            .collect();
                        format!("[{body}{end}]")
                    }),
                (
                    proptest::collection::vec(
                        (gap(), key, colon, inner.clone(), gap(), comma.clone()),
                        0..4,
                    ),
                    gap(),
                )
                    .prop_map(|(items, end)| {
                        let body: String = items
                            .into_iter()
                            .map(|(a, k, c, v, b, s)| format!("{a}{k}{c}{v}{b}{s}"))
                            .collect();
                        format!("{{{body}{end}}}")
                    }),
            ]
        })
    }

    proptest::proptest! {
        /// Nested flow collections over several lines, at any indentation, in block contexts:
        /// whatever this scanner reads, it reads as [`reference`] says.
        #[test]
        fn never_reads_nested_flow_collections_differently(
            lead in proptest::sample::select(vec![
                "k: ", "- ", "k:\n  ", "a:\n  k: ", "- k: ", "a:\n  b:\n  - ",
            ]),
            flow in flow_collection_text(),
            tail in proptest::sample::select(vec![
                "", "\n", "\nz: 1\n", "\n  z: 1\n", " # c\n", "\n- y\n", "\n    z: 1\n", "x\n",
            ]),
        ) {
            let text = format!("{lead}{flow}{tail}");
            proptest::prop_assert_ne!(agrees(&text), Some(false), "{:?}: {:?}", text, differences(&text));
        }
    }

    proptest::proptest! {
        /// Block texts with anchors and aliases: whatever this scanner reads, it reads like
        /// saphyr-parser (ids, and the positions of anchored nodes).
        #[test]
        fn never_reads_anchors_differently(lines in proptest::collection::vec(
            (0usize..4, proptest::sample::select(vec![
                "k: &a v", "l: &b", "- &a x", "- &b", "m: *a", "- *b", "<<: *a", "n: &a [x, *b]",
                "o: {p: *a, q: &b r}", "k:", "- k: v", "k: v", "- x", "k: &a |", "  text", "&a k: v",
                "k: *c", "k: &a 'q'", "---", "- &c", "k: &b\n- y", "k: &a x y", "- *a # c",
            ])),
            0..10,
        )) {
            let text: String = lines
                .iter()
                .map(|(indent, line)| format!("{}{line}\n", " ".repeat(indent * 2)))
                .collect();
            proptest::prop_assert_ne!(agrees(&text), Some(false), "{:?}: {:?}", text, differences(&text));
        }
    }

    proptest::proptest! {
        /// Texts made of YAML's structural characters: whatever this scanner reads, it reads
        /// like saphyr-parser.
        #[test]
        fn never_reads_differently(pieces in proptest::collection::vec(
            proptest::sample::select(vec![
                " ", "  ", "\n", "\n  ", "\n- ", "a", "b1", "k: ", ":", "- ", "-", "#", " #c",
                "'", "''", "\"", "\\", "\\n", "|", "|-", ">", "+", "2", "[]", "{}", "[", "é",
                "---", "---\n", "~", "null", "0x1", "]", "{", "}", ",", ", ", "[a, 'b']",
                "{k: v}", "[\n", "\n]", "&a ", "*a", "&b ", "*b", "&a\n",
            ]),
            0..40,
        )) {
            let text: String = pieces.concat();
            proptest::prop_assert_ne!(agrees(&text), Some(false), "{:?}: {:?}", text, differences(&text));
        }
    }

    proptest::proptest! {
        /// Indented lines of keys, entries, scalars and comments: whatever this scanner reads,
        /// it reads like saphyr-parser.
        #[test]
        fn never_reads_indented_lines_differently(lines in proptest::collection::vec(
            (0usize..6, proptest::sample::select(vec![
                "k:", "k: v", "k: v w", "- x", "-", "- k: v", "- k:", "k: |", "k: >-", "k: |+",
                "k: 'a", "b'", "k: \"a", "b\"", "text", "more text", "# c", "", "---", "k: []",
                "- |", "  x", "k: v # c", "k: é", "'q': 1", "k: 'a''b'", "k: \"\\t\"", "...",
                "- - x", "k: v: w", "k:  ", "x:y", "-x", "k: [a, b]", "k: [", "]", "a,", "],",
                "k: {x: 1", "}", "- [x,", "\"q\",", "k: {", "l: m,", "k: &a v", "- &a x",
                "k: *a", "- *a", "k: &a", "<<: *a", "- &a", "k: &b [*a]", "- &a k: v",
            ])),
            0..14,
        )) {
            let text: String = lines
                .iter()
                .map(|(indent, line)| format!("{}{line}\n", " ".repeat(*indent)))
                .collect();
            proptest::prop_assert_ne!(agrees(&text), Some(false), "{:?}: {:?}", text, differences(&text));
        }
    }

    /// Every YAML file of a folder is read the same as saphyr-parser reads it, or left to
    /// it: this project's own files (templates, fixtures, workflows) by default, or the folder
    /// `HOMELAB_FAST_YAML_DIR` names (CI points it at ../shared's real repositories).
    #[test]
    fn agrees_on_a_folder() {
        let dir = std::env::var_os("HOMELAB_FAST_YAML_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        let (mut read, mut left, mut bytes_read, mut bytes_left) = (0, 0, 0, 0);
        // Read as go-yaml reads them, where saphyr-parser rejects their indentation.
        let mut relaxed = Vec::new();
        let mut wrong = Vec::new();
        let mut stack = vec![dir];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                // Build output and hidden folders (.git) hold no YAML of interest.
                let skip = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n == "target" || (n.starts_with('.') && n.len() > 2));
                if !skip {
                    stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                }
                continue;
            }
            let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
            let Some(text) = yaml.then(|| std::fs::read_to_string(&path).ok()).flatten() else {
                continue;
            };
            match agrees(&text) {
                Some(true) => {
                    read += 1;
                    bytes_read += text.len();
                    if full(&text).is_none() {
                        relaxed.push(path);
                    }
                }
                Some(false) => {
                    if wrong.len() < 8 {
                        eprintln!("{}: {:?}", path.display(), differences(&text));
                    }
                    wrong.push(path);
                }
                None => {
                    left += 1;
                    bytes_left += text.len();
                }
            }
        }
        eprintln!(
            "read {read} files ({bytes_read} bytes), left {left} ({bytes_left} bytes), wrong {}",
            wrong.len()
        );
        eprintln!("read where saphyr-parser rejects the indentation: {relaxed:#?}");
        assert!(wrong.is_empty(), "read differently: {wrong:#?}");
        assert!(read > 0, "no YAML file read by the fast scanner");
    }
}
