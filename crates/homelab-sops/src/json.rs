//! JSON files as sops reads and writes them: one top-level object, key order kept, every
//! number a 64-bit float (Go's `encoding/json` into `interface{}`), output indented with tabs
//! (or `stores.json.indent` spaces) and strings escaped the way Go's `json.Marshal` does.

use crate::tree::{go_float_json, Document, Item, Node, Pos, Value};
use crate::yaml_read::YamlError;
use std::collections::HashMap;

const MAX_DEPTH: usize = 200;

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
    depth: usize,
}

impl Reader<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.text[self.line_start..self.i.min(self.text.len())]
                .chars()
                .count() as u32
                + 1,
        }
    }

    fn err(&self, message: impl Into<String>) -> YamlError {
        YamlError {
            pos: self.pos(),
            message: message.into(),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.i) {
            match b {
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), YamlError> {
        self.skip_ws();
        if self.bytes.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected `{}`", c as char)))
        }
    }

    fn value(&mut self) -> Result<Node, YamlError> {
        self.skip_ws();
        let pos = self.pos();
        let Some(&b) = self.bytes.get(self.i) else {
            return Err(self.err("unexpected end of the JSON text"));
        };
        let value = match b {
            b'{' => {
                self.enter()?;
                let items = self.object_body()?;
                self.depth -= 1;
                Value::Map(items)
            }
            b'[' => {
                self.enter()?;
                self.i += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        self.skip_ws();
                        match self.bytes.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.err("expected `,` or `]`")),
                        }
                    }
                }
                self.depth -= 1;
                Value::Seq(items)
            }
            b'"' => Value::Str(self.string()?),
            b't' => self.word("true", Value::Bool(true))?,
            b'f' => self.word("false", Value::Bool(false))?,
            b'n' => self.word("null", Value::Null)?,
            b'-' | b'0'..=b'9' => Value::Float(self.number()?),
            _ => return Err(self.err("not a JSON value")),
        };
        Ok(Node::new(value, pos))
    }

    fn enter(&mut self) -> Result<(), YamlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn word(&mut self, w: &str, v: Value) -> Result<Value, YamlError> {
        if self.text[self.i..].starts_with(w) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err("not a JSON value"))
        }
    }

    fn number(&mut self) -> Result<f64, YamlError> {
        let start = self.i;
        let i = homelab_manifest::json_number_end(self.bytes, start)
            .ok_or_else(|| self.err("invalid number"))?;
        self.i = i;
        let f: f64 = self.text[start..i]
            .parse()
            .map_err(|_| self.err("invalid number"))?;
        if !f.is_finite() {
            return Err(self.err("number out of the range of a 64-bit float"));
        }
        Ok(f)
    }

    fn hex4(&mut self) -> Result<u32, YamlError> {
        let digits = self
            .text
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, YamlError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let Some(stop) = rest.find(['"', '\\']) else {
                return Err(self.err("unterminated string"));
            };
            let chunk = &rest[..stop];
            if chunk.bytes().any(|b| b < 0x20) {
                return Err(self.err("control character in a string"));
            }
            out.push_str(chunk);
            self.i += stop;
            if self.bytes[self.i] == b'"' {
                self.i += 1;
                return Ok(out);
            }
            self.i += 1;
            let Some(&e) = self.bytes.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
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
                    let first = self.hex4()?;
                    let c = if (0xD800..0xDC00).contains(&first)
                        && self.text[self.i..].starts_with("\\u")
                    {
                        let save = self.i;
                        self.i += 2;
                        let second = self.hex4()?;
                        if (0xDC00..0xE000).contains(&second) {
                            char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                        } else {
                            self.i = save;
                            None
                        }
                    } else {
                        char::from_u32(first)
                    };
                    // Go replaces an unpaired surrogate with U+FFFD.
                    out.push(c.unwrap_or('\u{fffd}'));
                }
                _ => return Err(self.err("invalid escape in a string")),
            }
        }
    }

    fn object_body(&mut self) -> Result<Vec<Item>, YamlError> {
        self.i += 1;
        let mut items = Vec::new();
        let mut seen: HashMap<String, Pos> = HashMap::new();
        self.skip_ws();
        if self.bytes.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(items);
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos();
            if self.bytes.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            if let Some(first) = seen.get(&key) {
                return Err(YamlError {
                    pos: key_pos,
                    message: format!("duplicate key `{key}` (first at line {})", first.line),
                });
            }
            seen.insert(key.clone(), key_pos);
            self.expect(b':')?;
            let value = self.value()?;
            items.push(Item::Entry {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.bytes.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(items);
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }
}

/// Parses a JSON file: one object.
pub fn parse(text: &str) -> Result<Document, YamlError> {
    let text_trimmed = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = Reader {
        text: text_trimmed,
        bytes: text_trimmed.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
        depth: 0,
    };
    r.skip_ws();
    let pos = r.pos();
    if r.bytes.get(r.i) != Some(&b'{') {
        return Err(r.err("a sops JSON file is one object (`{ ... }`)"));
    }
    let node = r.value()?;
    r.skip_ws();
    if r.i != r.bytes.len() {
        return Err(r.err("text after the JSON object"));
    }
    let Value::Map(items) = node.value else {
        return Err(r.err("a sops JSON file is one object"));
    };
    Ok(Document { items, pos })
}

/// Parses any JSON value (the value of `homelab sops set`).
pub fn parse_value(text: &str) -> Result<Node, YamlError> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
        depth: 0,
    };
    let node = r.value()?;
    r.skip_ws();
    if r.i != r.bytes.len() {
        return Err(r.err("text after the JSON value"));
    }
    Ok(node)
}

/// Go's `json.Marshal` of a string (HTML-safe escapes included).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one document as sops does (`json.Indent` with `indent`, comments dropped), with a
/// final newline.
pub fn emit(doc: &Document, indent: &str) -> Result<String, String> {
    let mut out = String::new();
    write_map(&mut out, &doc.items, indent, 0)?;
    out.push('\n');
    Ok(out)
}

/// Writes several documents as a JSON array (a multi-document YAML file shown as JSON).
pub fn emit_all(docs: &[Document], indent: &str) -> Result<String, String> {
    if docs.len() == 1 {
        return emit(&docs[0], indent);
    }
    let mut out = String::from("[");
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(&mut out, indent, 1);
        write_map(&mut out, &doc.items, indent, 1)?;
    }
    if !docs.is_empty() {
        newline(&mut out, indent, 0);
    }
    out.push_str("]\n");
    Ok(out)
}

fn newline(out: &mut String, indent: &str, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str(indent);
    }
}

fn write_map(out: &mut String, items: &[Item], indent: &str, level: usize) -> Result<(), String> {
    let entries: Vec<(&String, &Node)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Entry { key, value, .. } => Some((key, value)),
            Item::Comment { .. } => None,
        })
        .collect();
    if entries.is_empty() {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, indent, level + 1);
        write_string(out, key);
        out.push_str(": ");
        write_value(out, &value.value, indent, level + 1)?;
    }
    newline(out, indent, level);
    out.push('}');
    Ok(())
}

fn write_value(out: &mut String, value: &Value, indent: &str, level: usize) -> Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("JSON cannot hold the float {f}"));
            }
            out.push_str(&go_float_json(*f));
        }
        Value::Str(s) | Value::Time(s) | Value::Comment(s) => write_string(out, s),
        Value::Map(items) => write_map(out, items, indent, level)?,
        Value::Seq(items) => {
            let values: Vec<&Node> = items
                .iter()
                .filter(|n| !matches!(n.value, Value::Comment(_)))
                .collect();
            if values.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, n) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_value(out, &n.value, indent, level + 1)?;
            }
            newline(out, indent, level);
            out.push(']');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_like_sops() {
        let text = "{\"a\": 1, \"b\": 1e21, \"c\": 1.5e-7, \"d\": \"<&>\\u2028\", \"e\": 12345678901234567890, \"f\": [], \"g\": {}}";
        let doc = parse(text).unwrap();
        // What `sops --decrypt` printed for this file.
        let expected = "{\n\t\"a\": 1,\n\t\"b\": 1e+21,\n\t\"c\": 1.5e-7,\n\t\"d\": \"\\u003c\\u0026\\u003e\\u2028\",\n\t\"e\": 12345678901234567000,\n\t\"f\": [],\n\t\"g\": {}\n}\n";
        assert_eq!(emit(&doc, "\t").unwrap(), expected);
        assert_eq!(emit(&parse(expected).unwrap(), "\t").unwrap(), expected);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!((e.pos.line, e.pos.col), (3, 3));
        assert!(parse("[1]").is_err());
        assert!(parse("{\"a\": 1} x").is_err());
        assert!(parse("{\"a\": tru}").is_err());
        let deep = "[".repeat(500);
        assert!(parse(&format!("{{\"a\": {deep}}}")).is_err());
        assert_eq!(
            parse("{\"s\": \"\\ud83d\\ude00 \\ud800\"}")
                .unwrap()
                .get("s")
                .unwrap()
                .value,
            Value::Str("😀 \u{fffd}".into())
        );
    }
}
