//! A fast path for JSON text (a single JSON value, as in `*.json` manifests).
//!
//! JSON is YAML, and the YAML path reads it correctly, but the YAML scanner keeps every token
//! of a flow collection queued until the collection ends (a flow key may still turn up), so a
//! 10 MB JSON file costs hundreds of MB. This hand-written reader is iterative (no recursion),
//! keeps positions, reads numbers with the same Kubernetes rules as YAML, and reports duplicate
//! keys the same way. Anything that is not strict JSON returns `None` and goes the YAML way,
//! which then gives the precise syntax error.

use crate::position::{Pos, PosNode};
use crate::resolve::{self, Resolved};
use crate::tree::{self, Limits, MapItem, Parsed, RawDoc};
use homelab_diagnostics::Diagnostic;
use serde_json::Value;

/// Parses `text` if it is exactly one JSON object or array.
pub(crate) fn parse(name: &str, text: &str, limits: Limits) -> Option<Parsed> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        i: 0,
        line: 1,
        col: 1,
        stack: Vec::new(),
        seq_items: Vec::new(),
        map_items: Vec::new(),
        diagnostics: Vec::new(),
        name,
        limits,
    };
    if text.starts_with('\u{feff}') {
        reader.i = 3;
    }
    let (value, positions) = reader.run()?;
    Some(Parsed {
        docs: vec![RawDoc {
            doc_index: 0,
            value,
            positions,
            ambiguous: Vec::new(),
        }],
        diagnostics: reader.diagnostics,
        syntax_failed: false,
    })
}

enum Frame {
    Arr {
        start: Pos,
        first: usize,
    },
    Obj {
        start: Pos,
        first: usize,
        key: Option<(String, Pos)>,
    },
}

struct Reader<'t> {
    bytes: &'t [u8],
    text: &'t str,
    i: usize,
    line: u32,
    /// Column in characters of byte `i`.
    col: u32,
    stack: Vec<Frame>,
    seq_items: Vec<(Value, PosNode)>,
    map_items: Vec<MapItem>,
    diagnostics: Vec<Diagnostic>,
    name: &'t str,
    limits: Limits,
}

impl Reader<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    /// Advances over one ASCII byte.
    fn bump(&mut self) {
        self.i += 1;
        self.col += 1;
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' => self.bump(),
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.col = 1;
                }
                _ => break,
            }
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        if self.peek() == Some(byte) {
            self.bump();
            Some(())
        } else {
            None
        }
    }

    fn run(&mut self) -> Option<(Value, PosNode)> {
        self.skip_ws();
        'value: loop {
            let pos = self.pos();
            let mut node: (Value, PosNode) = match self.peek()? {
                b'{' | b'[' => {
                    let open = self.peek()?;
                    if self.stack.len() >= self.limits.max_depth {
                        return None; // the YAML path reports it
                    }
                    self.bump();
                    self.skip_ws();
                    if open == b'{' {
                        if self.peek() == Some(b'}') {
                            self.bump();
                            (
                                Value::Object(serde_json::Map::new()),
                                PosNode::Map(pos, Vec::new()),
                            )
                        } else {
                            self.stack.push(Frame::Obj {
                                start: pos,
                                first: self.map_items.len(),
                                key: None,
                            });
                            self.key()?;
                            continue 'value;
                        }
                    } else if self.peek() == Some(b']') {
                        self.bump();
                        (Value::Array(Vec::new()), PosNode::Seq(pos, Vec::new()))
                    } else {
                        self.stack.push(Frame::Arr {
                            start: pos,
                            first: self.seq_items.len(),
                        });
                        continue 'value;
                    }
                }
                b'"' => (Value::String(self.string()?), PosNode::Scalar(pos)),
                b't' => self.literal("true", Value::Bool(true), pos)?,
                b'f' => self.literal("false", Value::Bool(false), pos)?,
                b'n' => self.literal("null", Value::Null, pos)?,
                b'-' | b'0'..=b'9' => (self.number()?, PosNode::Scalar(pos)),
                _ => return None,
            };
            // Attach the finished node, closing every collection that ends right after it.
            loop {
                match self.stack.last_mut() {
                    None => {
                        self.skip_ws();
                        return (self.i == self.bytes.len()).then_some(node);
                    }
                    Some(Frame::Arr { start, first }) => {
                        let (start, first) = (*start, *first);
                        self.seq_items.push(node);
                        self.skip_ws();
                        match self.peek()? {
                            b',' => {
                                self.bump();
                                self.skip_ws();
                                continue 'value;
                            }
                            b']' => {
                                self.bump();
                                self.stack.pop();
                                let n = self.seq_items.len() - first;
                                let mut items = Vec::with_capacity(n);
                                let mut positions = Vec::with_capacity(n);
                                for (v, p) in self.seq_items.drain(first..) {
                                    items.push(v);
                                    positions.push(p);
                                }
                                node = (Value::Array(items), PosNode::Seq(start, positions));
                            }
                            _ => return None,
                        }
                    }
                    Some(Frame::Obj { start, first, key }) => {
                        let (start, first) = (*start, *first);
                        let (k, key_pos) = key.take()?;
                        self.map_items
                            .push(MapItem::Entry(k, key_pos, node.0, node.1));
                        self.skip_ws();
                        match self.peek()? {
                            b',' => {
                                self.bump();
                                self.skip_ws();
                                self.key()?;
                                continue 'value;
                            }
                            b'}' => {
                                self.bump();
                                self.stack.pop();
                                let (map, entries) = tree::build_map(
                                    self.map_items.drain(first..),
                                    self.name,
                                    &mut self.diagnostics,
                                );
                                node = (Value::Object(map), PosNode::Map(start, entries));
                            }
                            _ => return None,
                        }
                    }
                }
            }
        }
    }

    /// Reads `"key":` into the open object.
    fn key(&mut self) -> Option<()> {
        let pos = self.pos();
        if self.peek()? != b'"' {
            return None;
        }
        let key = self.string()?;
        self.skip_ws();
        self.expect(b':')?;
        self.skip_ws();
        match self.stack.last_mut() {
            Some(Frame::Obj { key: slot, .. }) => *slot = Some((key, pos)),
            _ => return None,
        }
        Some(())
    }

    fn literal(&mut self, word: &str, value: Value, pos: Pos) -> Option<(Value, PosNode)> {
        if self.bytes[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            self.col += word.len() as u32;
            Some((value, PosNode::Scalar(pos)))
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        let i = number_end(self.bytes, start)?;
        let text = &self.text[start..i];
        self.col += (i - start) as u32;
        self.i = i;
        // The same reading as a plain YAML scalar (what Kubernetes does with a JSON file).
        Some(match resolve::resolve_plain(text).0 {
            Resolved::Int(v) => Value::from(v),
            Resolved::UInt(v) => Value::from(v),
            Resolved::Float(f) if f.is_finite() => resolve::float_to_json(f),
            _ => Value::String(text.to_owned()),
        })
    }

    /// Reads a JSON string starting at the opening quote.
    fn string(&mut self) -> Option<String> {
        self.bump(); // opening quote
        let start = self.i;
        // Fast path: no escapes.
        let mut i = start;
        while let Some(&c) = self.bytes.get(i) {
            match c {
                b'"' => {
                    let s = &self.text[start..i];
                    self.col += s.chars().count() as u32 + 1;
                    self.i = i + 1;
                    return Some(s.to_owned());
                }
                b'\\' => break,
                0..=0x1F => return None,
                _ => i += 1,
            }
        }
        let mut out = String::from(&self.text[start..i]);
        self.col += out.chars().count() as u32;
        self.i = i;
        loop {
            let c = self.text[self.i..].chars().next()?;
            match c {
                '"' => {
                    self.bump();
                    return Some(out);
                }
                '\\' => {
                    self.bump();
                    let e = self.peek()?;
                    self.bump();
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                // A surrogate pair: `\uD83D\uDE00`.
                                self.expect(b'\\')?;
                                self.expect(b'u')?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                            } else {
                                char::from_u32(hi)?
                            };
                            out.push(c);
                        }
                        _ => return None,
                    }
                }
                c if (c as u32) < 0x20 => return None,
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                    self.col += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.i..self.i + 4)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        self.col += 4;
        Some(v)
    }
}

/// The end (exclusive) of the JSON number that starts at `start` in `bytes` (RFC 8259's
/// grammar: `-`, no leading zero, digits after `.` and after the exponent), or `None` when
/// no valid number starts there. The one scanner of JSON numbers: the sops JSON store reads
/// its numbers with it too.
pub fn number_end(bytes: &[u8], start: usize) -> Option<usize> {
    let digits_from = |mut i: usize| {
        let first = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > first).then_some(i)
    };
    let mut i = start;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match bytes.get(i) {
        Some(b'0') => i + 1,
        Some(b'1'..=b'9') => digits_from(i)?,
        _ => return None,
    };
    if bytes.get(i) == Some(&b'.') {
        i = digits_from(i + 1)?;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits_from(i)?;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn number_end_follows_the_json_grammar() {
        for (text, end) in [
            ("0", Some(1)),
            ("-12.5e+3,", Some(8)),
            ("10E2]", Some(4)),
            ("01", Some(1)),
            ("1.", None),
            ("-", None),
            ("1e", None),
            (".5", None),
            ("+1", None),
        ] {
            assert_eq!(number_end(text.as_bytes(), 0), end, "{text}");
        }
    }

    fn limits() -> Limits {
        Limits {
            max_depth: 256,
            max_alias_nodes: 100_000,
            max_documents: 20_000,
        }
    }

    fn read(text: &str) -> Option<Value> {
        parse("t.json", text, limits()).map(|p| p.docs.into_iter().next().unwrap().value)
    }

    #[test]
    fn reads_strict_json_like_yaml_would() {
        let text = r#" {"a": [1, -2.5, 1e3, 1.0, true, false, null, "x\n\u00e9\ud83d\ude00\"", {}], "b": {"c": []}, "big": 18446744073709551615, "huge": 1e400} "#;
        assert_eq!(
            read(text).unwrap(),
            json!({"a": [1, -2.5, 1000, 1, true, false, null, "x\né😀\"", {}], "b": {"c": []},
                   "big": 18446744073709551615u64, "huge": "1e400"})
        );
        let yaml = crate::parse_str("t.json", text).0.remove(0).value;
        assert_eq!(read(text).unwrap(), yaml);
    }

    #[test]
    fn anything_else_goes_the_yaml_way() {
        for text in [
            "{a: 1}",
            "{\"a\": 1,}",
            "[1, 2",
            "{\"a\": 01}",
            "[1] [2]",
            "{\"a\" 1}",
            "[\"\t\"]",
            "[tru]",
            "[\"\\x\"]",
            "[1.]",
            "[-]",
            "{\"a\": \"\\ud800\"}",
        ] {
            assert!(read(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn positions_and_duplicates() {
        let text = "{\n  \"é\": \"ü\", \"k\": [10,\n 20],\n  \"k\": 1\n}";
        let parsed = parse("t.json", text, limits()).unwrap();
        let doc = &parsed.docs[0];
        let positions = crate::position::Positions::from_tree(&doc.positions);
        let (key, value) = crate::position::lookup(&doc.value, &positions, "/é");
        assert_eq!((key.line, key.col, value.col), (2, 3, 8));
        let (key, _) = crate::position::lookup(&doc.value, &positions, "/k");
        assert_eq!((key.line, key.col), (4, 3));
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].rule, "yaml/duplicate-key");
        assert!(parsed.diagnostics[0].message.contains("line 2"));
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            any::<String>().prop_map(Value::String),
            "[a-z\\\"\n\t ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-z]{0,3}", inner), 0..5)
                    .prop_map(|entries| { Value::Object(entries.into_iter().collect()) }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, failure_persistence: None, ..Default::default() })]
        /// The fast path and the YAML parser agree on values, positions and diagnostics.
        #[test]
        fn json_fast_path_agrees_with_the_yaml_path(value in json_value(), pretty: bool) {
            let value = Value::Array(vec![value]);
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            let fast = parse("t.json", &text, limits()).expect("strict JSON");
            let slow = tree::parse_yaml("t.json", &text, limits());
            proptest::prop_assert_eq!(&fast.docs[0].value, &slow.docs[0].value, "{}", text);
            proptest::prop_assert_eq!(&fast.docs[0].positions, &slow.docs[0].positions, "{}", text);
            let flat = crate::position::Positions::from_tree(&slow.docs[0].positions);
            proptest::prop_assert_eq!(&flat.to_tree(), &slow.docs[0].positions, "{}", text);
            proptest::prop_assert_eq!(fast.diagnostics, slow.diagnostics);
        }
    }
}
