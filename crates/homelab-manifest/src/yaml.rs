//! A deterministic block-style YAML writer for JSON values, for files that homelab writes
//! (sealed secrets, rendered platform files, policy output).
//!
//! Hand-written because the output must read back identically under Kubernetes' YAML 1.1
//! rules (so `yes`, `on`, `0644`, `1e3`, `~` are quoted) as well as under YAML 1.2 tools, and be
//! stable byte for byte; general-purpose emitters quote by YAML 1.2 rules only.
//! Maps keep their key order; sequences are indented under their key; multi-line strings are
//! literal block scalars (`|`, `|-`, `|+`); empty collections are `{}` and `[]`.

use crate::resolve::{self, Resolved};
use serde_json::{Map, Value};

/// Writes `value` as a YAML document (no `---`), ending with a newline.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0, false),
        Value::String(s) if literal_header(s, false).is_some() => {
            write_literal(&mut out, s, 0, false);
        }
        other => {
            write_inline(&mut out, other);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Map entries at column `col`; when `first_inline`, the cursor already sits where the first
/// key goes (after `- `).
fn write_map(out: &mut String, map: &Map<String, Value>, col: usize, first_inline: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, col);
        }
        let key_text = scalar_string(key);
        if key_text.len() > 1000 {
            // Implicit keys are limited to 1024 characters: use an explicit `? key`.
            out.push_str("? ");
            out.push_str(&key_text);
            out.push('\n');
            indent(out, col);
        } else {
            out.push_str(&key_text);
        }
        write_value_after_key(out, value, col);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, col: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str(":\n");
            write_map(out, map, col + 2, false);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(":\n");
            write_seq(out, items, col + 2, false);
        }
        Value::String(s) if literal_header(s, true).is_some() => {
            out.push_str(": ");
            write_literal(out, s, col + 2, true);
        }
        other => {
            out.push_str(": ");
            write_inline(out, other);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], col: usize, first_inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, col);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, col + 2, true),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, col + 2, true),
            Value::String(s) if literal_header(s, true).is_some() => {
                write_literal(out, s, col + 2, true);
            }
            other => {
                write_inline(out, other);
                out.push('\n');
            }
        }
    }
}

/// A scalar or empty collection on one line.
fn write_inline(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // Integral floats are written as integers: that is how Kubernetes reads them back.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => out.push_str(&resolve::float_to_json(f).to_string()),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(&scalar_string(s)),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// The header (`|`, `|-`, `|+`, with an indentation indicator when needed) if `s` is best
/// written as a literal block scalar; `None` for single-line strings and strings a literal
/// block cannot carry.
fn literal_header(s: &str, nested: bool) -> Option<String> {
    if !s.contains('\n') || s.trim_matches('\n').is_empty() {
        return None;
    }
    if s.chars()
        .any(|c| (c != '\n' && c != '\t' && !is_printable(c)) || c == '\r' || c == '\u{FEFF}')
    {
        return None;
    }
    let body = s.trim_end_matches('\n');
    // Spaces at the end of a block can be read as indentation of an empty line: avoid.
    if body.ends_with([' ', '\t']) && s.ends_with('\n') {
        return None;
    }
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    // Content that starts with a space (or an empty line) needs an explicit indentation
    // indicator, which is only well defined inside a collection.
    let needs_indicator = s.starts_with([' ', '\n', '\t']);
    if needs_indicator && !nested {
        return None;
    }
    // A line of only spaces before the first content line would confuse indentation detection.
    let indicator = if needs_indicator { "2" } else { "" };
    Some(format!("|{indicator}{chomp}"))
}

/// Writes a literal block scalar; the cursor is where the header goes. Content lines are
/// indented to `col`.
fn write_literal(out: &mut String, s: &str, col: usize, nested: bool) {
    let Some(header) = literal_header(s, nested) else {
        out.push_str(&scalar_string(s));
        out.push('\n');
        return;
    };
    out.push_str(&header);
    out.push('\n');
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let col = if nested { col } else { 2 };
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, col);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// YAML's printable characters (outside them, a string must be double-quoted with escapes).
fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// A string as a plain scalar if that reads back as the same string everywhere, otherwise
/// double-quoted.
fn scalar_string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if resolve::resolve_plain(s).0 != Resolved::Str {
        return false;
    }
    if matches!(
        first,
        '?' | ':'
            | ','
            | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '&'
            | '*'
            | '!'
            | '|'
            | '>'
            | '\''
            | '"'
            | '%'
            | '@'
            | '`'
            | ' '
    ) {
        return false;
    }
    if first == '-' && (s.len() == 1 || s.starts_with("- ") || s.starts_with("---")) {
        return false;
    }
    if s.starts_with("...") || s == "<<" || s == "=" {
        return false;
    }
    if s.ends_with([' ', ':']) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") {
        return false;
    }
    if s.chars().any(|c| {
        c == '\t'
            || c == '\u{85}'
            || c == '\u{2028}'
            || c == '\u{2029}'
            || c == '\u{FEFF}'
            || c == '\n'
            || c == '\r'
            || !is_printable(c)
    }) {
        return false;
    }
    // Read as numbers, dates or times by YAML 1.1 tools other than Kubernetes (PyYAML):
    // sexagesimal `1:30`, timestamps `2001-12-14`.
    let b = s.as_bytes();
    let digit_start = first.is_ascii_digit()
        || ((first == '-' || first == '+') && b.get(1).is_some_and(u8::is_ascii_digit));
    if digit_start {
        let sexagesimal = s.contains(':')
            && s.bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b':' | b'.' | b'_' | b'-' | b'+'));
        let timestamp = b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
        if sexagesimal || timestamp {
            return false;
        }
    }
    true
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{FEFF}' => out.push_str("\\uFEFF"),
            c if (c as u32) < 0x100 && !is_printable(c) => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if !is_printable(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_style() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "demo", "labels": {}},
            "data": {"script": "echo hi\necho there\n", "flag": "yes", "mode": "0644", "empty": ""},
            "list": [1, "on", {"a": null, "b": []}, ["x", "y"]],
        });
        let text = to_string(&v);
        assert_eq!(
            text,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  labels: {}\ndata:\n  script: |\n    echo hi\n    echo there\n  flag: \"yes\"\n  mode: \"0644\"\n  empty: \"\"\nlist:\n  - 1\n  - \"on\"\n  - a: null\n    b: []\n  - - x\n    - \"y\"\n"
        );
    }

    #[test]
    fn quotes_what_would_read_back_differently() {
        for s in [
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "n",
            "true",
            "null",
            "~",
            "",
            "1",
            "1.5",
            "1e3",
            "0644",
            "0x1F",
            ".inf",
            "-",
            "- a",
            "---",
            "...",
            "a: b",
            "a #b",
            "ends:",
            " lead",
            "trail ",
            "#c",
            "&a",
            "*a",
            "!t",
            "|",
            ">",
            "'q",
            "\"q",
            "%p",
            "@a",
            "`b",
            "{x}",
            "[x]",
            "?q",
            ":q",
            "<<",
            "=",
            "2001-12-14",
            "1:30",
            "a\tb",
            "1_000",
            "+1",
        ] {
            assert!(
                to_string(&json!(s)).starts_with('"'),
                "{s:?} must be quoted"
            );
        }
        for s in [
            "hello",
            "-v",
            "--flag",
            "a:b",
            "http://x.y/z",
            "a#b",
            "ollama/ollama:0.3",
            "{{ x }}y",
        ] {
            let text = to_string(&json!(s));
            if s.starts_with('{') {
                continue;
            }
            assert_eq!(text, format!("{s}\n"), "{s:?} should stay plain");
        }
    }

    #[test]
    fn long_keys_use_explicit_key_syntax() {
        let key = "k".repeat(1500);
        let v = json!({ key.clone(): {"a": [1, "x\ny"]}, "short": {} });
        let text = to_string(&v);
        assert!(text.starts_with("? kkk"), "{text}");
        let (docs, diags) = crate::parse_str("t.yaml", &text);
        assert!(
            diags.iter().all(|d| d.rule == "load/not-kubernetes"),
            "{diags:#?}"
        );
        assert_eq!(docs[0].value, v);
        assert_eq!(docs[0].location(&format!("/{key}/a")).line, 3);
        assert_eq!(docs[0].location(&format!("/{key}/a/0")).line, 4);
    }

    #[test]
    fn literal_block_chomping() {
        let v = json!({"a": "x\ny", "b": "x\ny\n", "c": "x\ny\n\n", "d": "  x\ny\n"});
        assert_eq!(
            to_string(&v),
            "a: |-\n  x\n  y\nb: |\n  x\n  y\nc: |+\n  x\n  y\n\nd: |2\n    x\n  y\n"
        );
    }
}
