//! Values as the user wrote them, with their positions: a values file of the repository, a
//! values map inline in an Application (`valuesObject`), a values string (`values: |`), or
//! `--set`-style parameters. Each layer can say where any of its keys is written.

use homelab_diagnostics::Location;
use homelab_manifest::Document;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where the keys of a layer are written.
#[derive(Debug, Clone)]
pub enum Locator {
    /// The layer is `doc`'s value at `prefix` (a values file: prefix ""; a `valuesObject`).
    Document { doc: Box<Document>, prefix: String },
    /// The layer was parsed from text embedded at (`line`, `column`) of `file` (a block
    /// scalar): positions in `doc` are shifted by them.
    Embedded {
        doc: Box<Document>,
        file: String,
        line: u32,
        column: u32,
    },
    /// Each key path (JSON pointer) at a fixed location (parameters), else `fallback`.
    Fixed {
        at: BTreeMap<String, Location>,
        fallback: Location,
    },
}

/// One layer of values, lowest precedence first in a source's list.
#[derive(Debug, Clone)]
pub struct Layer {
    /// What the layer is, for messages: `infrastructure/longhorn/values.yaml`,
    /// `valuesObject of Application longhorn`.
    pub label: String,
    pub value: Value,
    pub locator: Locator,
}

impl Layer {
    /// Where the key at `pointer` (RFC 6901, relative to the layer) is written.
    pub fn location(&self, pointer: &str) -> Location {
        match &self.locator {
            Locator::Document { doc, prefix } => doc.location(&format!("{prefix}{pointer}")),
            Locator::Embedded {
                doc,
                file,
                line,
                column,
            } => {
                let inner = doc.location(pointer);
                Location::new(
                    file.clone(),
                    line + inner.line.saturating_sub(1),
                    column + inner.column.saturating_sub(1),
                )
            }
            Locator::Fixed { at, fallback } => {
                // The longest recorded pointer that is a prefix of this one.
                let mut best: Option<&Location> = None;
                let mut best_len = 0;
                for (p, loc) in at {
                    let prefix = pointer == p
                        || pointer.starts_with(&format!("{p}/"))
                        || p.starts_with(&format!("{pointer}/"));
                    if prefix && p.len() >= best_len {
                        best = Some(loc);
                        best_len = p.len();
                    }
                }
                best.cloned().unwrap_or_else(|| fallback.clone())
            }
        }
    }
}

/// Escapes a key for a JSON pointer.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `a.b.c` (Helm's `--set` key syntax: `\.` escapes a dot; `[n]` indexes a list) as a path.
pub fn split_set_key(name: &str) -> Vec<PathPart> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            '.' => {
                if !current.is_empty() {
                    parts.push(PathPart::Key(std::mem::take(&mut current)));
                }
            }
            '[' => {
                if !current.is_empty() {
                    parts.push(PathPart::Key(std::mem::take(&mut current)));
                }
                let mut index = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    index.push(d);
                }
                if let Ok(i) = index.trim().parse() {
                    parts.push(PathPart::Index(i));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(PathPart::Key(current));
    }
    parts
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

/// Puts `leaf` at `path` in `root` (creating maps and lists on the way, as `--set` does).
pub fn set_path(root: &mut Value, path: &[PathPart], leaf: Value) {
    let Some((first, rest)) = path.split_first() else {
        *root = leaf;
        return;
    };
    match first {
        PathPart::Key(k) => {
            if !root.is_object() {
                *root = Value::Object(Map::new());
            }
            let map = root.as_object_mut().expect("just made a map");
            let child = map.entry(k.clone()).or_insert(Value::Null);
            set_path(child, rest, leaf);
        }
        PathPart::Index(i) => {
            if !root.is_array() {
                *root = Value::Array(Vec::new());
            }
            let list = root.as_array_mut().expect("just made a list");
            // Helm caps list indexes too: a parameter must not allocate gigabytes.
            if *i > 10_000 {
                return;
            }
            while list.len() <= *i {
                list.push(Value::Null);
            }
            set_path(&mut list[*i], rest, leaf);
        }
    }
}

/// The JSON pointer of a `--set` path.
pub fn pointer_of(path: &[PathPart]) -> String {
    path.iter()
        .map(|p| match p {
            PathPart::Key(k) => format!("/{}", escape(k)),
            PathPart::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// Helm's type inference for `--set` values (`true`, `1`, `null`; `--set-string` keeps text).
pub fn set_value(text: &str, force_string: bool) -> Value {
    if force_string {
        return Value::String(text.to_string());
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => {
            if let Ok(i) = text.parse::<i64>() {
                if !(text.starts_with('0') && text.len() > 1) {
                    return Value::from(i);
                }
            }
            Value::String(text.to_string())
        }
    }
}

/// Helm's merge of values layers: maps merge key by key, anything else replaces; a `null`
/// removes the key.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                    continue;
                }
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_keys_split_like_helm() {
        assert_eq!(
            split_set_key("a.b\\.c[2].d"),
            vec![
                PathPart::Key("a".into()),
                PathPart::Key("b.c".into()),
                PathPart::Index(2),
                PathPart::Key("d".into())
            ]
        );
        let mut v = Value::Null;
        set_path(&mut v, &split_set_key("x.y[1]"), json!(3));
        assert_eq!(v, json!({"x": {"y": [null, 3]}}));
        assert_eq!(pointer_of(&split_set_key("a/b.c")), "/a~1b/c");
    }

    #[test]
    fn set_values_are_typed_like_helm() {
        assert_eq!(set_value("true", false), json!(true));
        assert_eq!(set_value("10", false), json!(10));
        assert_eq!(set_value("010", false), json!("010"));
        assert_eq!(set_value("10", true), json!("10"));
    }

    #[test]
    fn merge_is_deep_and_null_removes() {
        let mut a = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge(&mut a, &json!({"a": {"b": 5, "c": null}, "d": [2, 3]}));
        assert_eq!(a, json!({"a": {"b": 5}, "d": [2, 3]}));
    }

    #[test]
    fn layers_locate_their_keys() {
        let (docs, _) = homelab_manifest::parse_str(
            "app.yaml",
            "spec:\n  helm:\n    valuesObject:\n      replicas: 2\n",
        );
        let layer = Layer {
            label: "valuesObject".into(),
            value: json!({"replicas": 2}),
            locator: Locator::Document {
                doc: Box::new(docs[0].clone()),
                prefix: "/spec/helm/valuesObject".into(),
            },
        };
        assert_eq!(layer.location("/replicas").to_string(), "app.yaml:4:7");
        let (inner, _) = homelab_manifest::parse_str("app.yaml", "a: 1\nb:\n  c: 2\n");
        let embedded = Layer {
            label: "values".into(),
            value: json!({}),
            locator: Locator::Embedded {
                doc: Box::new(inner[0].clone()),
                file: "app.yaml".into(),
                line: 10,
                column: 7,
            },
        };
        assert_eq!(embedded.location("/b/c").to_string(), "app.yaml:12:9");
        let fixed = Layer {
            label: "parameters".into(),
            value: json!({}),
            locator: Locator::Fixed {
                at: [("/a/b".to_string(), Location::new("app.yaml", 3, 5))].into(),
                fallback: Location::new("app.yaml", 1, 1),
            },
        };
        assert_eq!(fixed.location("/a/b").line, 3);
        assert_eq!(fixed.location("/z").line, 1);
    }
}
