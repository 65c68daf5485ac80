//! The document tree SOPS works on: ordered maps, sequences, typed scalars and comments.
//!
//! It mirrors what sops builds from a YAML or JSON file: map keys are strings, scalars keep
//! the type that decides their `type:` tag and the bytes that feed the MAC, and comments are
//! items of their own (sops encrypts the ones under encrypted paths). Every node remembers
//! where it started in the source so that `check` can point at it.

/// A 1-based line and 1-based column (in characters) in the source text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Node { value, pos }
    }

    /// A node that was not read from a source (metadata written by us, values set by a user).
    pub fn synthetic(value: Value) -> Self {
        Node {
            value,
            pos: Pos::default(),
        }
    }
}

/// A value of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A timestamp, kept as the RFC 3339 text with nanoseconds that Go's `time.MarshalText`
    /// gives: it is both what sops encrypts (`type:time`) and what it writes back.
    Time(String),
    Map(Vec<Item>),
    Seq(Vec<Node>),
    /// A comment line (without its `#`) that sits between the items of a sequence. Comments
    /// between map entries are [`Item::Comment`].
    Comment(String),
}

/// One item of a map: an entry or a comment line between entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Entry {
        key: String,
        key_pos: Pos,
        value: Node,
    },
    Comment {
        text: String,
        pos: Pos,
    },
}

impl Item {
    pub fn entry(key: impl Into<String>, value: Value) -> Self {
        Item::Entry {
            key: key.into(),
            key_pos: Pos::default(),
            value: Node::synthetic(value),
        }
    }

    pub fn key(&self) -> Option<&str> {
        match self {
            Item::Entry { key, .. } => Some(key),
            Item::Comment { .. } => None,
        }
    }
}

/// One document of a file: the items of its top-level map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub items: Vec<Item>,
    /// Where the document starts (for messages about the document as a whole).
    pub pos: Pos,
}

impl Document {
    /// The value of top-level key `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.items.iter().find_map(|item| match item {
            Item::Entry { key: k, value, .. } if k == key => Some(value),
            _ => None,
        })
    }

    /// Removes top-level key `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let index = self.items.iter().position(|item| item.key() == Some(key))?;
        match self.items.remove(index) {
            Item::Entry { value, .. } => Some(value),
            Item::Comment { .. } => None,
        }
    }
}

/// Looks `key` up in the items of a map.
pub fn map_get<'a>(items: &'a [Item], key: &str) -> Option<&'a Node> {
    items.iter().find_map(|item| match item {
        Item::Entry { key: k, value, .. } if k == key => Some(value),
        _ => None,
    })
}

impl Value {
    /// The name of the kind of value, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Time(_) => "timestamp",
            Value::Map(_) => "map",
            Value::Seq(_) => "list",
            Value::Comment(_) => "comment",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest decimal that reads back as `f`,
/// never in exponent form. This is what sops encrypts and hashes for a float.
pub fn go_float_plain(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        // Rust's `Display` for f64 is the shortest round-trip form without an exponent.
        let s = format!("{f}");
        if s == "-0" {
            "-0".to_owned()
        } else {
            s
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` as yaml.v3 writes floats (`.inf`, `.nan` for
/// the special values): exponent form when the decimal exponent is below -4 or at least 6.
pub fn go_float_yaml(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    go_float_g(f)
}

/// Go's `encoding/json` float format: like `'f'`, but exponent form (with at least one exponent
/// digit) when the magnitude is below 1e-6 or at least 1e21.
pub fn go_float_json(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (negative, digits, exponent) = shortest_digits(f);
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&exponent.unsigned_abs().to_string());
        out
    } else {
        go_float_plain(f)
    }
}

/// The sign, significant digits and decimal exponent (of the first digit) of the shortest
/// representation of `f`.
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let text = format!("{:e}", f.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (
        f.is_sign_negative(),
        digits,
        exponent.parse::<i32>().unwrap_or(0),
    )
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`: with the shortest precision Go switches to the
/// exponent form when the decimal exponent is < -4 or >= 6, with at least two exponent digits.
fn go_float_g(f: f64) -> String {
    const EPREC: i32 = 6;
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (negative, digits, exponent) = shortest_digits(f);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..EPREC).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let e = exponent.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else {
        out.push_str(&go_float_plain(f.abs()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_formatted_like_go() {
        assert_eq!(go_float_plain(3.25), "3.25");
        assert_eq!(go_float_plain(2.0), "2");
        assert_eq!(go_float_plain(1e20), "100000000000000000000");
        assert_eq!(go_float_plain(1e-7), "0.0000001");
        assert_eq!(go_float_plain(f64::INFINITY), "+Inf");
        // What sops 3.11.0 writes for these values.
        assert_eq!(go_float_yaml(1e20), "1e+20");
        assert_eq!(go_float_yaml(1234567.0), "1.234567e+06");
        assert_eq!(go_float_yaml(123456.0), "123456");
        assert_eq!(go_float_yaml(1.5e-7), "1.5e-07");
        assert_eq!(go_float_yaml(0.00001), "1e-05");
        assert_eq!(go_float_yaml(0.0001), "0.0001");
        assert_eq!(go_float_yaml(-0.0), "-0");
        assert_eq!(
            go_float_yaml(12345678901234567890.0),
            "1.2345678901234567e+19"
        );
        assert_eq!(go_float_yaml(-2.5), "-2.5");
        assert_eq!(go_float_yaml(f64::NEG_INFINITY), "-.inf");
        assert_eq!(go_float_json(42.0), "42");
        assert_eq!(go_float_json(1e21), "1e+21");
        assert_eq!(go_float_json(1.5e-7), "1.5e-7");
        assert_eq!(
            go_float_json(12345678901234567890.0),
            "12345678901234567000"
        );
    }
}
