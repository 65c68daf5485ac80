//! Property tests: `yaml::to_string` output reads back as the same value through `parse_str`,
//! and `parse_str` never panics, whatever the input.

use homelab_manifest::{parse_str, yaml};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Strings that stress quoting: YAML words, numbers, indicators, whitespace, line breaks,
/// unicode and control characters.
fn tricky_string() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "",
        " ",
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "n",
        "true",
        "False",
        "null",
        "~",
        "0644",
        "0o17",
        "0x1F",
        "1e3",
        "1_000",
        ".inf",
        "-.5",
        "+1",
        "12:30",
        "2001-12-14",
        "-",
        "- x",
        "---",
        "...",
        "a: b",
        "a #b",
        "#",
        "&a",
        "*a",
        "!x",
        "|",
        ">",
        "'",
        "\"",
        "%",
        "@",
        "`",
        "{x}",
        "[x]",
        "?",
        ":",
        "<<",
        "=",
        "\t",
        "\n",
        "\r\n",
        "é",
        "\u{85}",
        "\u{2028}",
        "\u{feff}",
        "\0",
        "\u{7f}",
        "{{ .Values.x }}",
        "key:",
        " lead",
        "trail ",
        "x\ny",
        "x\n",
        "x\n\n",
        "  x\ny\n",
        "\nx",
        "x\n ",
        "\x1b[0m",
        "a\\b",
    ]);
    prop_oneof![
        3 => words.prop_map(str::to_owned),
        3 => "[ -~]{0,12}",
        2 => "[a-z0-9 :#\\-\\n\\t'\"]{0,16}",
        1 => any::<String>(),
        2 => prop::collection::vec(
            prop::sample::select(vec!["yes", "a", " ", "\n", ":", "#", "-", "0", "é", "\t", "'", "|"]),
            0..8
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (-1000i32..1000, 0u32..4).prop_map(|(m, e)| {
            let f = f64::from(m) / 10f64.powi(e as i32);
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..6).prop_map(|entries| {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k, v);
                }
                Value::Object(map)
            }),
        ]
    })
}

/// Equality where numbers compare by value: Kubernetes reads `2.0` back as the integer 2.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kp, vp), (kq, vq))| kp == kq && same(vp, vq))
        }
        _ => a == b,
    }
}

fn read_back(text: &str) -> Value {
    let (docs, diags) = parse_str("roundtrip.yaml", text);
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == homelab_diagnostics::Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "errors reading back:\n{text}\n{errors:#?}"
    );
    assert_eq!(docs.len(), 1, "one document expected from:\n{text}");
    docs[0].value.clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn emitted_yaml_reads_back_identically(value in json_value()) {
        // Lists (`kind: ...List` with `items`) would be expanded: out of scope here.
        let text = yaml::to_string(&value);
        let back = read_back(&text);
        prop_assert!(same(&value, &back), "value: {value:?}\ntext:\n{text}\nback: {back:?}");
        // Deterministic: writing the read-back value gives the same text.
        prop_assert_eq!(yaml::to_string(&back), text);
    }

    #[test]
    fn strings_read_back_identically(s in tricky_string()) {
        let value = serde_json::json!({"k": s.clone(), "l": [s.clone()], s.clone(): 1});
        let text = yaml::to_string(&value);
        let back = read_back(&text);
        prop_assert!(same(&value, &back), "text:\n{text}\nback: {back:?}");
    }

    #[test]
    fn parse_str_never_panics_on_strings(text in any::<String>()) {
        let _ = parse_str("fuzz.yaml", &text);
    }

    #[test]
    fn parse_str_never_panics_on_yamlish_text(parts in prop::collection::vec(prop::sample::select(vec![
        "a", ":", " ", "\n", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "<<", "? ", "!!str ", "'", "\"",
        "|", ">", "#", "---\n", "...\n", "\t", "yes", "0644", "  ", "%YAML 1.1\n", "!!binary ", "~",
    ]), 0..60)) {
        let _ = parse_str("fuzz.yaml", &parts.concat());
    }

    #[test]
    fn parse_source_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_str("fuzz.yaml", &text);
    }
}
