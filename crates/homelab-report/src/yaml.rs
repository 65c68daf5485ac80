//! JSON values written as block-style YAML (kubectl's layout: sequences under a key are
//! not indented). Strings are written plain only when no YAML 1.1 or 1.2 reader could
//! take them for anything but the same string; every other string is double-quoted with
//! JSON's escapes (valid YAML escapes), so the output reads back as the same value.

use serde_json::Value;

/// `value` as a YAML document (ends with a newline).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A value that fits on its line: scalars and empty collections.
fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => false,
    }
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, level: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str(&string(k));
        out.push(':');
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                indent(out, level + 2);
                write_map(out, inner, level + 2);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                indent(out, level);
                write_seq(out, items, level);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// A sequence whose first `- ` goes where the cursor is (already indented to `level`).
fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if is_block(item) => write_map(out, m, level + 2),
            Value::Array(a) if is_block(item) => write_seq(out, a, level + 2),
            scalar => {
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// Words that YAML 1.1 or 1.2 readers take for booleans or null.
const KEYWORDS: [&str; 12] = [
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "nan", "inf",
];

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/' || first == '_')
        && !s.ends_with(' ')
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | '_' | '-' | '.' | '/' | '(' | ')' | '=' | ',' | ';' | '+'
                )
        })
        && !KEYWORDS.contains(&s.to_ascii_lowercase().as_str())
}

fn string(s: &str) -> String {
    if plain_is_safe(s) {
        return s.to_string();
    }
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
    // Characters YAML treats as line breaks or a byte-order mark: escape them too.
    quoted
        .replace('\u{85}', "\\N")
        .replace('\u{2028}', "\\L")
        .replace('\u{2029}', "\\P")
        .replace('\u{feff}', "\\uFEFF")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_layout() {
        let v = json!({"kind": "ClusterPolicyReport", "metadata": {"name": "merged"},
            "results": [{"policy": "p", "resources": [{"kind": "Pod", "name": "web"}]}, {"policy": "q", "resources": []}],
            "summary": {"pass": 1, "fail": 0}, "empty": {}, "list": ["a", 1, null]});
        assert_eq!(
            to_string(&v),
            "kind: ClusterPolicyReport\nmetadata:\n  name: merged\nresults:\n- policy: p\n  resources:\n  - kind: Pod\n    name: web\n- policy: q\n  resources: []\nsummary:\n  pass: 1\n  fail: 0\nempty: {}\nlist:\n- a\n- 1\n- null\n"
        );
        assert_eq!(to_string(&json!([[1, 2], []])), "- - 1\n  - 2\n- []\n");
    }

    #[test]
    fn strings_that_could_read_as_something_else_are_quoted() {
        for (s, want) in [
            ("plain text", "plain text"),
            ("yes", "\"yes\""),
            ("No", "\"No\""),
            ("1.5", "\"1.5\""),
            ("0x1F", "\"0x1F\""),
            ("", "\"\""),
            ("a: b", "\"a: b\""),
            ("x #y", "\"x #y\""),
            ("- item", "\"- item\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("tab\there", "\"tab\\there\""),
            ("trailing ", "\"trailing \""),
            ("ünïcode", "\"ünïcode\""),
            ("sep\u{2028}", "\"sep\\L\""),
        ] {
            assert_eq!(string(s), want, "{s:?}");
        }
    }
}
