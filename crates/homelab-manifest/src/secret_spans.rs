//! Where secret values sit in a YAML/JSON text, as byte ranges, so that reports can mask them
//! by position in every snippet (a finding on the same line as a password must not print it).
//!
//! The scan reads the parser's events with their spans, independently of the document tree:
//! every occurrence counts (both values of a duplicated `stringData` key), any value type
//! counts (a number or a nested map under `data`), flow maps and one-line JSON are covered,
//! and the order of keys does not matter (`data` before `kind`).

use saphyr_parser::{Event, Parser, Span};
use std::ops::Range;

/// What marks a value as secret besides the values of a Secret.
pub type CredentialTest<'a> = &'a dyn Fn(&str, &str) -> bool;

/// Keys of a map whose every value is secret when the map is a `kind: Secret` object.
const SECRET_DATA_KEYS: [&str; 2] = ["data", "stringData"];

/// A (line, column) position of the parser: 1-based line, 0-based column in characters.
type Mark = (usize, usize);

struct MapFrame {
    start: Mark,
    /// This map is the value of `data`/`stringData`: its values (not its keys) are secret.
    data_values: bool,
    expecting_key: bool,
    key: Option<String>,
    is_secret: bool,
    /// Spans of `data`/`stringData` values, kept if the map turns out to be a Secret.
    pending: Vec<(Mark, Mark)>,
}

enum Frame {
    Map(MapFrame),
    Seq { start: Mark, literals: bool },
}

/// Byte ranges of `text` that hold secret values: the values under `data` and `stringData`
/// of every map with `kind: Secret` (top-level objects, `List` items, objects embedded in
/// values or policies), the items of kustomize `literals`, and every scalar value for which
/// `credential(key, value)` is true. A syntax error ends the scan; values seen so far under
/// `data`/`stringData` are kept as secret even if `kind` was not reached.
pub fn secret_value_spans(text: &str, credential: CredentialTest<'_>) -> Vec<Range<usize>> {
    let mut found: Vec<(Mark, Mark)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(step)) => step,
            Some(Err(err)) => {
                if let Some(events) = crate::fast::read(text) {
                    // A text the tree is read from although saphyr-parser rejects it (lines
                    // of a flow collection indented as go-yaml allows): scan the same events.
                    return scanner_spans(text, events, credential);
                }
                // Unfinished values under `data`/`stringData` are secret up to the error.
                let stop = (err.marker().line(), err.marker().col());
                let mut under_data = false;
                for frame in stack.drain(..) {
                    let start = match &frame {
                        Frame::Map(m) => m.start,
                        Frame::Seq { start, .. } => *start,
                    };
                    if under_data {
                        found.push((start, stop));
                    }
                    under_data = false;
                    if let Frame::Map(m) = frame {
                        under_data = !m.expecting_key
                            && m.key
                                .as_deref()
                                .is_some_and(|k| SECRET_DATA_KEYS.contains(&k));
                        found.extend(m.pending);
                    }
                }
                break;
            }
        };
        on_event(&mut stack, &mut found, event, &span, credential);
    }
    to_byte_ranges(text, found)
}

/// The secret spans from the events of the byte-level scanner, which places only the start
/// of each event: a value is taken to end where the next event starts (past its own text,
/// never into the next key), which can only mask more.
fn scanner_spans(
    text: &str,
    events: crate::fast::Events<'_>,
    credential: CredentialTest<'_>,
) -> Vec<Range<usize>> {
    let mut found: Vec<(Mark, Mark)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let starts: Vec<_> = events.iter().map(|(_, span)| span.start).collect();
    let last = starts.last().copied().unwrap_or_default();
    let at = |m: &saphyr_parser::Marker| (m.line(), m.col());
    for (i, (event, span)) in events.into_iter().enumerate() {
        // Out of order (never seen): to the end of the text.
        let end = starts
            .get(i + 1)
            .filter(|next| at(next) >= at(&span.start))
            .copied()
            .unwrap_or(last);
        on_event(
            &mut stack,
            &mut found,
            event,
            &Span::new(span.start, end),
            credential,
        );
    }
    let mut ranges = to_byte_ranges(text, found);
    // The blanks before the next event are not part of the value.
    for range in &mut ranges {
        let value = text[range.clone()].trim_end_matches([' ', '\n']);
        range.end = range.start + value.len();
    }
    merge(ranges)
}

fn mark(span: &Span, end: bool) -> Mark {
    let m = if end { span.end } else { span.start };
    (m.line(), m.col())
}

/// Follows one event of the text: the frames it opens and closes, the secret spans it ends.
fn on_event(
    stack: &mut Vec<Frame>,
    found: &mut Vec<(Mark, Mark)>,
    event: Event<'_>,
    span: &Span,
    credential: CredentialTest<'_>,
) {
    match event {
        Event::DocumentStart(_) | Event::DocumentEnd => stack.clear(),
        Event::MappingStart(..) => {
            if key_expected(stack) {
                // A complex key: treat it as a value-less key.
                set_key(stack, String::new());
            }
            let data_values = current_key(stack).is_some_and(|k| SECRET_DATA_KEYS.contains(&k));
            stack.push(Frame::Map(MapFrame {
                start: mark(span, false),
                data_values,
                expecting_key: true,
                key: None,
                is_secret: false,
                pending: Vec::new(),
            }));
        }
        Event::SequenceStart(..) => {
            if key_expected(stack) {
                set_key(stack, String::new());
            }
            let literals = current_key(stack) == Some("literals");
            stack.push(Frame::Seq {
                start: mark(span, false),
                literals,
            });
        }
        Event::MappingEnd => {
            if let Some(Frame::Map(m)) = stack.pop() {
                if m.is_secret {
                    found.extend(m.pending);
                }
                if m.data_values {
                    // Its values are pending in the parent already, one by one.
                    if let Some(Frame::Map(parent)) = stack.last_mut() {
                        parent.key = None;
                        parent.expecting_key = true;
                    }
                } else {
                    let range = (m.start, mark(span, true));
                    value_done(stack, found, range, None, credential);
                }
            }
        }
        Event::SequenceEnd => {
            if let Some(Frame::Seq { start, .. }) = stack.pop() {
                value_done(stack, found, (start, mark(span, true)), None, credential);
            }
        }
        Event::Scalar(value, ..) => {
            if key_expected(stack) {
                set_key(stack, value.into_owned());
            } else {
                let range = (mark(span, false), mark(span, true));
                value_done(stack, found, range, Some(&value), credential);
            }
        }
        Event::Alias(_) => {
            if key_expected(stack) {
                set_key(stack, String::new());
            } else {
                let range = (mark(span, false), mark(span, true));
                value_done(stack, found, range, None, credential);
            }
        }
        _ => {}
    }
}

fn key_expected(stack: &[Frame]) -> bool {
    matches!(stack.last(), Some(Frame::Map(m)) if m.expecting_key)
}

fn set_key(stack: &mut [Frame], key: String) {
    if let Some(Frame::Map(m)) = stack.last_mut() {
        m.key = Some(key);
        m.expecting_key = false;
    }
}

fn current_key(stack: &[Frame]) -> Option<&str> {
    match stack.last() {
        Some(Frame::Map(m)) if !m.expecting_key => m.key.as_deref(),
        _ => None,
    }
}

/// A value (scalar, map or sequence) spanning `range` ended in the innermost open frame.
fn value_done(
    stack: &mut [Frame],
    found: &mut Vec<(Mark, Mark)>,
    range: (Mark, Mark),
    scalar: Option<&str>,
    credential: CredentialTest<'_>,
) {
    let depth = stack.len();
    if depth >= 2 {
        if let Frame::Map(m) = &stack[depth - 1] {
            if m.data_values && !m.expecting_key {
                if let Frame::Map(parent) = &mut stack[depth - 2] {
                    parent.pending.push(range);
                }
            }
        }
    }
    match stack.last_mut() {
        Some(Frame::Map(m)) => {
            let key = m.key.take().unwrap_or_default();
            m.expecting_key = true;
            if SECRET_DATA_KEYS.contains(&key.as_str()) {
                m.pending.push(range);
            }
            if key == "kind" && scalar == Some("Secret") {
                m.is_secret = true;
            }
            if scalar.is_some_and(|v| credential(&key, v)) {
                found.push(range);
            }
        }
        Some(Frame::Seq { literals: true, .. }) => found.push(range),
        _ => {}
    }
}

/// Parser positions to sorted, merged byte ranges.
fn to_byte_ranges(text: &str, spans: Vec<(Mark, Mark)>) -> Vec<Range<usize>> {
    if spans.is_empty() {
        return Vec::new();
    }
    let mut line_starts = vec![0usize];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |(line, col): Mark| -> usize {
        let Some(&start) = line_starts.get(line.saturating_sub(1)) else {
            return text.len();
        };
        text[start..]
            .char_indices()
            .nth(col)
            .map_or(text.len(), |(i, _)| start + i)
    };
    merge(
        spans
            .into_iter()
            .map(|(s, e)| offset(s)..offset(e))
            .collect(),
    )
}

/// Sorted, non-empty, non-overlapping ranges covering the same bytes as `ranges`.
pub fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// `text` with every character inside `ranges` replaced by `*` (line breaks kept, so lines
/// and columns of everything else stay where they were).
pub fn mask(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        let (start, end) = (r.start.max(at), r.end.min(text.len()));
        if start >= end || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        out.push_str(&text[at..start]);
        out.extend(
            text[start..end]
                .chars()
                .map(|c| if c == '\n' || c == '\r' { c } else { '*' }),
        );
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask(text, &secret_value_spans(text, &|k, _| k == "apiToken"))
    }

    #[test]
    fn every_value_of_a_secret_is_masked_whatever_its_shape() {
        let text = "stringData:\n  password: first-secret\n  password: second-secret\n  port: 5432\ndata:\n  nested: {a: b}\nkind: Secret\napiVersion: v1\nmetadata:\n  name: visible\n";
        let out = masked(text);
        for leaked in ["first-secret", "second-secret", "5432", "{a: b}"] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert!(
            out.contains("  password: ****"),
            "keys stay readable: {out}"
        );
        assert!(out.contains("name: visible"));
        assert_eq!(out.lines().count(), text.lines().count());
        assert_eq!(out.len(), text.len(), "ASCII text keeps its length");
    }

    #[test]
    fn one_line_json_and_flow_maps() {
        let json = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"hunter2","user":"émile"}}"#;
        let out = masked(json);
        assert!(!out.contains("hunter2") && !out.contains("émile"), "{out}");
        assert!(out.contains(r#""name":"db""#), "{out}");
        let flow = "apiVersion: v1\nkind: Secret\nstringData: {password: hunter2}\n";
        assert!(!masked(flow).contains("hunter2"));
    }

    #[test]
    fn secrets_in_lists_and_block_scalars() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  stringData:\n    key.pem: |\n      line-one-secret\n      line-two-secret\n- kind: ConfigMap\n  data:\n    shown: visible\n";
        let out = masked(text);
        assert!(
            !out.contains("line-one-secret") && !out.contains("line-two-secret"),
            "{out}"
        );
        assert!(
            out.contains("shown: visible"),
            "ConfigMap data is not secret: {out}"
        );
    }

    #[test]
    fn credentials_and_literals() {
        let text = "apiToken: abc123XYZ\nother: fine\nsecretGenerator:\n- name: x\n  literals:\n  - password=hunter2\n";
        let out = masked(text);
        assert!(
            !out.contains("abc123XYZ") && !out.contains("hunter2"),
            "{out}"
        );
        assert!(out.contains("other: fine"));
    }

    #[test]
    fn a_flow_collection_indented_as_go_yaml_allows_hides_nothing_after_it() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  annotations:\n    a: [\n      x\n    ]\nstringData:\n  password: hunter2\n  token: {k: [\n  abc123XYZ]}\n";
        let mut parser = Parser::new_from_str(text);
        assert!(
            std::iter::from_fn(|| parser.next_event()).any(|step| step.is_err()),
            "saphyr-parser reads {text:?}"
        );
        let out = masked(text);
        assert!(!out.contains("hunter2") && !out.contains("abc123"), "{out}");
        assert!(out.contains("  password: *******\n  token: "), "{out}");
        assert!(out.contains("kind: Secret\n"), "{out}");
        assert_eq!(out.len(), text.len());
    }

    #[test]
    fn a_syntax_error_keeps_what_was_seen() {
        let text = "stringData:\n  password: hunter2\n  bad: [unclosed\nkind: Secret\n";
        assert!(!masked(text).contains("hunter2"));
    }
}
