//! Walks a value against a [`Compiled`] schema and collects [`Violation`]s.
//!
//! Hand-written rather than a general JSON Schema crate because speed is the point (the path is
//! kept as a stack of segments and only rendered as a JSON pointer when something is wrong) and
//! because every violation must carry a Kubernetes-friendly rule id, pointer and suggestion.

use crate::ir::{ty, Additional, Compiled, Node, NodeId};
use serde_json::Value;
use std::borrow::Cow;

/// One schema violation inside an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending field (or of the object missing a required field).
    pub pointer: String,
    /// Rule id, e.g. `schema/unknown-field`.
    pub rule: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// For `schema/required`: the pointer of the field that should exist (for positions we
    /// use `pointer`, its nearest existing parent).
    pub missing: Option<String>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn render(path: &[Seg<'_>], extra: Option<&str>) -> String {
    let mut s = String::new();
    for seg in path {
        s.push('/');
        match seg {
            Seg::Key(k) => s.push_str(&escape(k)),
            Seg::Index(i) => s.push_str(&i.to_string()),
        }
    }
    if let Some(e) = extra {
        s.push('/');
        s.push_str(&escape(e));
    }
    s
}

fn escape(key: &str) -> Cow<'_, str> {
    if key.contains(['~', '/']) {
        Cow::Owned(key.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(key)
    }
}

/// Caps the number of violations reported for one object (a wrong `kind` of list can explode).
const MAX_VIOLATIONS: usize = 100;
/// Values nested deeper than this are not descended into (the loader bounds depth too).
const MAX_DEPTH: usize = 512;

/// Validates `value`. With `null_is_absent`, an explicit `null` on a declared property is
/// read as the API server reads it: left out (built-in types decode it to their zero value,
/// CRD schemas prune it), so a null optional field passes and a null required field is
/// missing. Without it, `null` is judged as a value, as kubeconform does.
pub fn validate(schema: &Compiled, value: &Value, null_is_absent: bool) -> Vec<Violation> {
    if schema.has_defaults && needs_defaults(schema, schema.root, value, 0) {
        // The API server defaults an object before validating it; do the same on a copy
        // (only when some default applies: most objects are validated as they are).
        let mut defaulted = value.clone();
        apply_defaults(schema, schema.root, &mut defaulted, 0);
        return walk(schema, &defaulted, null_is_absent);
    }
    walk(schema, value, null_is_absent)
}

fn walk(schema: &Compiled, value: &Value, null_is_absent: bool) -> Vec<Violation> {
    let mut v = Walker {
        schema,
        path: Vec::with_capacity(16),
        out: Vec::new(),
        cel_budget: crate::cel::OBJECT_COST_LIMIT,
        null_is_absent,
    };
    v.check(schema.root, value);
    v.out.truncate(MAX_VIOLATIONS);
    v.out
}

/// Whether [`apply_defaults`] would change `value`: an absent property that has a `default`,
/// at any depth it descends to.
fn needs_defaults(schema: &Compiled, id: NodeId, value: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let node = schema.node(id);
    match value {
        Value::Object(map) => {
            let Some(rules) = node.object.as_deref() else {
                return false;
            };
            rules
                .properties
                .iter()
                .any(|(name, child)| match map.get(&**name) {
                    None => schema.node(*child).default.is_some(),
                    Some(v) => needs_defaults(schema, *child, v, depth + 1),
                })
                || match rules.additional {
                    Some(Additional::Schema(sub)) => map.iter().any(|(k, v)| {
                        rules.property(k).is_none() && needs_defaults(schema, sub, v, depth + 1)
                    }),
                    _ => false,
                }
        }
        Value::Array(items) => node.items.is_some_and(|sub| {
            items
                .iter()
                .any(|item| needs_defaults(schema, sub, item, depth + 1))
        }),
        _ => false,
    }
}

/// Fills absent properties that have a `default`, at every depth.
fn apply_defaults(schema: &Compiled, id: NodeId, value: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let node = schema.node(id);
    match value {
        Value::Object(map) => {
            let Some(rules) = node.object.as_deref() else {
                return;
            };
            for (name, child) in &rules.properties {
                if !map.contains_key(&**name) {
                    if let Some(d) = &schema.node(*child).default {
                        map.insert(name.to_string(), (**d).clone());
                    }
                }
                if let Some(v) = map.get_mut(&**name) {
                    apply_defaults(schema, *child, v, depth + 1);
                }
            }
            if let Some(Additional::Schema(sub)) = rules.additional {
                for (k, v) in map.iter_mut() {
                    if rules.property(k).is_none() {
                        apply_defaults(schema, sub, v, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = node.items {
                for item in items {
                    apply_defaults(schema, sub, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Fast yes/no check, used for `oneOf`/`anyOf`/`not` branches.
fn matches(schema: &Compiled, id: NodeId, value: &Value) -> bool {
    // Branches are matched on structure alone: CEL rules run once, on the chosen value.
    let mut v = Walker {
        schema,
        path: Vec::new(),
        out: Vec::new(),
        cel_budget: 0,
        null_is_absent: false,
    };
    v.check(id, value);
    v.out.is_empty()
}

struct Walker<'s, 'v> {
    schema: &'s Compiled,
    path: Vec<Seg<'v>>,
    out: Vec<Violation>,
    /// Estimated cost the CEL rules of this object may still spend.
    cel_budget: u64,
    /// An explicit `null` on a declared property is the property left out (see [`validate`]).
    null_is_absent: bool,
}

pub fn type_of(value: &Value) -> u8 {
    match value {
        Value::Null => ty::NULL,
        Value::Bool(_) => ty::BOOLEAN,
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                ty::INTEGER
            } else {
                ty::NUMBER
            }
        }
        Value::String(_) => ty::STRING,
        Value::Array(_) => ty::ARRAY,
        Value::Object(_) => ty::OBJECT,
    }
}

fn type_name(value: &Value) -> &'static str {
    match type_of(value) {
        ty::NULL => "null",
        ty::BOOLEAN => "boolean",
        ty::INTEGER => "integer",
        ty::NUMBER => "number",
        ty::STRING => "string",
        ty::ARRAY => "array",
        _ => "object",
    }
}

fn short(value: &Value) -> String {
    let s = match value {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

impl<'s, 'v> Walker<'s, 'v> {
    fn push(&mut self, rule: &'static str, message: String, help: Option<String>) {
        if self.out.len() < MAX_VIOLATIONS {
            let pointer = render(&self.path, None);
            self.out.push(Violation {
                pointer,
                rule,
                message,
                help,
                missing: None,
            });
        }
    }

    fn node(&self, id: NodeId) -> &'s Node {
        self.schema.node(id)
    }

    fn check(&mut self, id: NodeId, value: &'v Value) {
        if self.path.len() > MAX_DEPTH || self.out.len() >= MAX_VIOLATIONS {
            return;
        }
        let node = self.node(id);
        let found_before = self.out.len();
        if node.never {
            self.push(
                "schema/not-allowed",
                "no value is allowed here".into(),
                None,
            );
            return;
        }
        let vt = type_of(value);
        if node.types != 0 && node.types & vt == 0 {
            // An integer-valued float is still an integer (draft 6+ and Kubernetes agree).
            // `null` is accepted almost everywhere in Kubernetes schemas; naming it is noise.
            let what = if node.types == ty::NULL {
                ty::describe(ty::NULL)
            } else {
                ty::describe(node.types & !ty::NULL)
            };
            let name = node.title.as_deref();
            self.push(
                "schema/type",
                format!(
                    "expected {what}, got {}{}",
                    type_name(value),
                    name.map(|n| format!(" (for {n})")).unwrap_or_default()
                ),
                None,
            );
            return;
        }
        if let Some(e) = &node.enumeration {
            if !e.iter().any(|c| json_eq(c, value)) {
                let allowed: Vec<String> = e.iter().take(20).map(short).collect();
                let help = suggest_enum(value, e);
                self.push(
                    "schema/enum",
                    format!("{} is not one of: {}", short(value), allowed.join(", ")),
                    help,
                );
            }
        }
        if let Some(c) = &node.constant {
            if !json_eq(c, value) {
                self.push(
                    "schema/const",
                    format!("{} must be {}", short(value), short(c)),
                    None,
                );
            }
        }
        match value {
            Value::Object(map) => self.check_object(node, map),
            Value::Array(items) => self.check_array(node, items),
            Value::String(s) => self.check_string(node, s),
            Value::Number(n) => self.check_number(node, n.as_f64().unwrap_or(0.0)),
            _ => {}
        }
        for &sub in node.all_of.iter() {
            self.check(sub, value);
        }
        if !node.any_of.is_empty() && !node.any_of.iter().any(|&b| matches(self.schema, b, value)) {
            self.push(
                "schema/any-of",
                format!(
                    "{} matches none of the allowed forms{}",
                    type_name(value),
                    self.forms(&node.any_of)
                ),
                None,
            );
        }
        if !node.one_of.is_empty() {
            let n = node
                .one_of
                .iter()
                .filter(|&&b| matches(self.schema, b, value))
                .count();
            if n != 1 {
                let why = if n == 0 {
                    "matches none"
                } else {
                    "matches more than one"
                };
                self.push(
                    "schema/one-of",
                    format!(
                        "{} {why} of the allowed forms{}",
                        type_name(value),
                        self.forms(&node.one_of)
                    ),
                    None,
                );
            }
        }
        if let Some(not) = node.not {
            if matches(self.schema, not, value) {
                self.push(
                    "schema/not",
                    "value matches a schema it must not match".into(),
                    None,
                );
            }
        }
        // CEL rules read the value as the schema types it: only run them on a value whose
        // structure is valid (as the API server's typed evaluation needs).
        if !node.cel.is_empty() && self.out.len() == found_before && !value.is_null() {
            self.check_cel(node, value);
        }
    }

    fn check_cel(&mut self, node: &'s Node, value: &'v Value) {
        for rule in node.cel.iter() {
            if self.out.len() >= MAX_VIOLATIONS {
                return;
            }
            if let crate::cel::Outcome::Failed { message, pointer } =
                rule.evaluate(value, &mut self.cel_budget)
            {
                let mut at = render(&self.path, None);
                if let Some(p) = pointer {
                    at.push_str(&p);
                }
                self.out.push(Violation {
                    pointer: at,
                    rule: "schema/cel",
                    message,
                    help: Some(format!(
                        "the CRD's validation rule `{}` is false",
                        rule.source()
                    )),
                    missing: None,
                });
            }
        }
    }

    /// ` (expected string or integer)` when every branch is a plain type.
    fn forms(&self, branches: &[NodeId]) -> String {
        let mut mask = 0;
        for &b in branches {
            let n = self.node(b);
            if n.types == 0 {
                return String::new();
            }
            mask |= n.types;
        }
        format!(" (expected {})", ty::describe(mask & !ty::NULL))
    }

    fn check_object(&mut self, node: &'s Node, map: &'v serde_json::Map<String, Value>) {
        let Some(rules) = node.object.as_deref() else {
            return;
        };
        for name in rules.required.iter() {
            let null = match map.get(&**name) {
                None => false,
                Some(Value::Null) if self.null_is_absent => true,
                Some(_) => continue,
            };
            if self.out.len() < MAX_VIOLATIONS {
                let pointer = render(&self.path, None);
                self.out.push(Violation {
                    missing: Some(render(&self.path, Some(name))),
                    pointer,
                    rule: "schema/required",
                    message: if null {
                        format!(
                            "required field `{name}` is null: the API server reads it as missing"
                        )
                    } else {
                        format!("missing required field `{name}`")
                    },
                    help: Some(if null {
                        format!("give `{name}` a value")
                    } else {
                        format!("add `{name}`")
                    }),
                });
            }
        }
        if let Some(min) = rules.min_properties {
            if map.len() < min {
                self.push(
                    "schema/min-properties",
                    format!("has {} fields, at least {min} required", map.len()),
                    None,
                );
            }
        }
        if let Some(max) = rules.max_properties {
            if map.len() > max {
                self.push(
                    "schema/max-properties",
                    format!("has {} fields, at most {max} allowed", map.len()),
                    None,
                );
            }
        }
        for (key, value) in map {
            // Left out as far as the API server is concerned (a required one was reported
            // above); a null entry of a map (`limits: {cpu: null}` in rendered chart output)
            // is decoded as its type's zero value (`0`, `""`), which every form accepts.
            let map_entry = matches!(rules.additional, Some(Additional::Schema(_)));
            if self.null_is_absent
                && value.is_null()
                && (rules.property(key).is_some() || map_entry)
            {
                continue;
            }
            self.path.push(Seg::Key(key));
            if let Some(sub) = rules.property(key) {
                self.check(sub, value);
            } else {
                let mut matched = false;
                for (re, sub) in &rules.pattern_properties {
                    if re.is_match(key) {
                        matched = true;
                        self.check(*sub, value);
                    }
                }
                if !matched {
                    let embedded_meta = node.embedded_resource
                        && matches!(key.as_str(), "apiVersion" | "kind" | "metadata");
                    match rules.additional {
                        Some(Additional::Schema(sub)) => self.check(sub, value),
                        Some(Additional::Deny) if !node.preserve_unknown && !embedded_meta => {
                            self.unknown_field(node, key)
                        }
                        _ => {}
                    }
                }
            }
            self.path.pop();
        }
    }

    fn unknown_field(&mut self, node: &Node, key: &str) {
        let rules = node.object.as_deref().expect("object rules");
        let names: Vec<&str> = rules.properties.iter().map(|(k, _)| &**k).collect();
        let within = node
            .title
            .as_deref()
            .map(|t| format!(" in {t}"))
            .unwrap_or_default();
        let suggestion = crate::suggest::closest(key, &names);
        let message = match &suggestion {
            Some(s) => format!("unknown field `{key}`{within}: did you mean `{s}`?"),
            None => format!("unknown field `{key}`{within}"),
        };
        let help = if names.is_empty() {
            Some("this object allows no fields".to_string())
        } else if suggestion.is_some() {
            Some("remove the field or fix its name".to_string())
        } else {
            let mut list: Vec<String> = names.iter().take(12).map(|n| format!("`{n}`")).collect();
            if names.len() > 12 {
                list.push(format!("and {} more", names.len() - 12));
            }
            Some(format!("allowed fields: {}", list.join(", ")))
        };
        self.push("schema/unknown-field", message, help);
    }

    fn check_array(&mut self, node: &'s Node, items: &'v [Value]) {
        if let Some(rules) = node.array.as_deref() {
            if let Some(min) = rules.min_items {
                if items.len() < min {
                    self.push(
                        "schema/min-items",
                        format!("has {} items, at least {min} required", items.len()),
                        None,
                    );
                }
            }
            if let Some(max) = rules.max_items {
                if items.len() > max {
                    self.push(
                        "schema/max-items",
                        format!("has {} items, at most {max} allowed", items.len()),
                        None,
                    );
                }
            }
            if rules.unique_items {
                'outer: for (i, a) in items.iter().enumerate() {
                    for b in &items[..i] {
                        if json_eq(a, b) {
                            self.path.push(Seg::Index(i));
                            self.push(
                                "schema/unique-items",
                                "duplicate item: items must be unique".into(),
                                None,
                            );
                            self.path.pop();
                            break 'outer;
                        }
                    }
                }
            }
        }
        if let Some(sub) = node.items {
            for (i, item) in items.iter().enumerate() {
                self.path.push(Seg::Index(i));
                self.check(sub, item);
                self.path.pop();
            }
        }
    }

    fn check_string(&mut self, node: &Node, s: &str) {
        let Some(rules) = node.string.as_deref() else {
            return;
        };
        if rules.min_length.is_some() || rules.max_length.is_some() {
            let len = s.chars().count();
            if let Some(min) = rules.min_length {
                if len < min {
                    self.push(
                        "schema/min-length",
                        format!("is {len} characters long, at least {min} required"),
                        None,
                    );
                }
            }
            if let Some(max) = rules.max_length {
                if len > max {
                    self.push(
                        "schema/max-length",
                        format!("is {len} characters long, at most {max} allowed"),
                        None,
                    );
                }
            }
        }
        if let Some((src, re)) = &rules.pattern {
            if !re.is_match(s) {
                self.push(
                    "schema/pattern",
                    format!("`{}` does not match the pattern `{src}`", truncate(s)),
                    None,
                );
            }
        }
    }

    fn check_number(&mut self, node: &Node, x: f64) {
        let Some(r) = node.number.as_deref() else {
            return;
        };
        if let Some(m) = r.minimum.filter(|m| x < *m) {
            self.push(
                "schema/minimum",
                format!("{x} is less than the minimum {m}"),
                None,
            );
        }
        if let Some(m) = r.maximum.filter(|m| x > *m) {
            self.push(
                "schema/maximum",
                format!("{x} is greater than the maximum {m}"),
                None,
            );
        }
        if let Some(m) = r.exclusive_minimum.filter(|m| x <= *m) {
            self.push(
                "schema/minimum",
                format!("{x} must be greater than {m}"),
                None,
            );
        }
        if let Some(m) = r.exclusive_maximum.filter(|m| x >= *m) {
            self.push("schema/maximum", format!("{x} must be less than {m}"), None);
        }
        if let Some(m) = r.multiple_of {
            let q = x / m;
            if (q - q.round()).abs() > 1e-9 {
                self.push(
                    "schema/multiple-of",
                    format!("{x} is not a multiple of {m}"),
                    None,
                );
            }
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s.to_string()
    }
}

/// JSON equality where 1 == 1.0 (serde_json's `==` distinguishes them).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn suggest_enum(value: &Value, allowed: &[Value]) -> Option<String> {
    let s = value.as_str()?;
    let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
    crate::suggest::closest(s, &names).map(|c| format!("did you mean `{c}`?"))
}
