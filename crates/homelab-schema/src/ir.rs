//! The compiled form of a schema: a flat arena of [`Node`]s that the validator walks.
//!
//! JSON Schema documents (the embedded Kubernetes definitions, files found through
//! `-schema-location`) and CRD `openAPIV3Schema`s are compiled once into this form, so
//! validation never looks at keyword names, never resolves `$ref` strings and never
//! recompiles a regular expression. `$ref`s become node ids (recursion is fine).

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub type NodeId = u32;

/// Bit set of JSON types a node accepts (0 = any type).
pub mod ty {
    pub const NULL: u8 = 1;
    pub const BOOLEAN: u8 = 2;
    pub const INTEGER: u8 = 4;
    pub const NUMBER: u8 = 8;
    pub const STRING: u8 = 16;
    pub const ARRAY: u8 = 32;
    pub const OBJECT: u8 = 64;

    pub fn from_name(name: &str) -> u8 {
        match name {
            "null" => NULL,
            "boolean" => BOOLEAN,
            "integer" => INTEGER,
            "number" => NUMBER | INTEGER,
            "string" => STRING,
            "array" => ARRAY,
            "object" => OBJECT,
            _ => 0,
        }
    }

    /// Human names of the types in `mask`, e.g. `string or null`.
    pub fn describe(mask: u8) -> String {
        let mut names = Vec::new();
        for (bit, name) in [
            (OBJECT, "object"),
            (ARRAY, "array"),
            (STRING, "string"),
            (NUMBER, "number"),
            (INTEGER, "integer"),
            (BOOLEAN, "boolean"),
            (NULL, "null"),
        ] {
            if mask & bit != 0 && !(bit == INTEGER && mask & NUMBER != 0) {
                names.push(name);
            }
        }
        names.join(" or ")
    }
}

/// What an object accepts beyond its declared `properties`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Additional {
    Any,
    Deny,
    Schema(NodeId),
}

#[derive(Debug, Default)]
pub struct ObjectRules {
    /// Sorted by name for binary search.
    pub properties: Vec<(Box<str>, NodeId)>,
    pub pattern_properties: Vec<(Regex, NodeId)>,
    pub additional: Option<Additional>,
    pub required: Vec<Box<str>>,
    pub min_properties: Option<usize>,
    pub max_properties: Option<usize>,
}

impl ObjectRules {
    pub fn property(&self, name: &str) -> Option<NodeId> {
        self.properties
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| self.properties[i].1)
    }
}

#[derive(Debug, Default)]
pub struct NumberRules {
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    pub multiple_of: Option<f64>,
}

#[derive(Debug, Default)]
pub struct StringRules {
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<(Box<str>, Regex)>,
}

#[derive(Debug, Default)]
pub struct ArrayRules {
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub unique_items: bool,
}

/// One compiled schema. Rare keyword groups are boxed so the common node stays small.
#[derive(Debug, Default)]
pub struct Node {
    /// `false` schema: nothing validates.
    pub never: bool,
    pub types: u8,
    pub int_or_string: bool,
    pub preserve_unknown: bool,
    pub embedded_resource: bool,
    /// Definition name, for messages ("... in PodSpec").
    pub title: Option<Box<str>>,
    pub object: Option<Box<ObjectRules>>,
    pub items: Option<NodeId>,
    pub enumeration: Option<Box<[Value]>>,
    pub constant: Option<Box<Value>>,
    pub all_of: Box<[NodeId]>,
    pub any_of: Box<[NodeId]>,
    pub one_of: Box<[NodeId]>,
    pub not: Option<NodeId>,
    /// CRD `default`: the API server fills it in before validating (CRD dialect only).
    pub default: Option<Box<Value>>,
    /// CRD `x-kubernetes-validations` that this tool can evaluate (see [`crate::cel`]).
    pub cel: Box<[crate::cel::Rule]>,
    pub number: Option<Box<NumberRules>>,
    pub string: Option<Box<StringRules>>,
    pub array: Option<Box<ArrayRules>>,
}

/// A compiled schema with its root.
#[derive(Debug)]
pub struct Compiled {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    /// Some node has a `default`: objects are defaulted (on a copy) before validation.
    pub has_defaults: bool,
    /// Some node has CEL rules.
    pub has_cel: bool,
}

impl Compiled {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }
}

/// How the source dialect maps onto validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Plain JSON Schema (embedded Kubernetes definitions, `-schema-location` files).
    /// With `strict == false`, `additionalProperties: false` next to `properties` is ignored
    /// (the embedded bundle is the *strict* variant; non-strict mode undoes exactly that).
    JsonSchema { strict: bool },
    /// A CRD `openAPIV3Schema` (structural schema). `strict` denies unknown fields of every
    /// object schema that declares `properties`, has no `additionalProperties` and does not
    /// preserve unknown fields. Optional properties accept `null` (the API server prunes it).
    Crd { strict: bool },
}

/// Resolves a `$ref` string to the schema it points at.
pub trait Resolver {
    fn resolve(&self, reference: &str) -> Option<(String, &Value)>;
}

/// Resolves `#/$defs/NAME` and `#/definitions/NAME` (and the kubernetes-validate form
/// `/api/_definitions.json#/$defs/NAME`) against a name -> schema lookup.
pub struct DefsResolver<'a, F: Fn(&str) -> Option<&'a Value>> {
    pub lookup: F,
}

impl<'a, F: Fn(&str) -> Option<&'a Value>> Resolver for DefsResolver<'a, F> {
    fn resolve(&self, reference: &str) -> Option<(String, &Value)> {
        let name = def_name(reference)?;
        (self.lookup)(name).map(|v| (name.to_string(), v))
    }
}

/// Resolves refs inside one document (`#/definitions/x`, `#/$defs/x`, `#/properties/a/...`).
/// Documents referenced by file (`other.json#/...`) are tried after the root, in order.
pub struct DocumentResolver<'a> {
    pub root: &'a Value,
    pub others: &'a [Value],
}

impl Resolver for DocumentResolver<'_> {
    fn resolve(&self, reference: &str) -> Option<(String, &Value)> {
        let fragment = reference.split_once('#').map_or("", |(_, f)| f);
        if fragment.is_empty() {
            return Some((reference.to_string(), self.root));
        }
        let target = std::iter::once(self.root)
            .chain(self.others)
            .find_map(|doc| doc.pointer(fragment))?;
        let name = fragment.rsplit('/').next().unwrap_or(fragment).to_string();
        Some((name, target))
    }
}

/// The file parts of every `$ref` in `schema` that points into another document.
pub fn external_refs(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![schema];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let file = r.split_once('#').map_or(r.as_str(), |(f, _)| f);
                    if !file.is_empty() && !out.iter().any(|o| o == file) {
                        out.push(file.to_string());
                    }
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

fn def_name(reference: &str) -> Option<&str> {
    let fragment = reference.split_once('#').map_or(reference, |(_, f)| f);
    fragment
        .strip_prefix("/$defs/")
        .or_else(|| fragment.strip_prefix("/definitions/"))
}

/// Errors in a schema itself (not in the validated object).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("unresolvable $ref `{0}`")]
    UnresolvedRef(String),
    #[error("invalid pattern `{pattern}`: {error}")]
    BadPattern { pattern: String, error: String },
    #[error("schema nests deeper than {0} levels")]
    TooDeep(usize),
}

const MAX_DEPTH: usize = 256;

pub struct Compiler<'r> {
    resolver: &'r dyn Resolver,
    dialect: Dialect,
    nodes: Vec<Node>,
    by_ref: HashMap<String, NodeId>,
    /// How many `allOf`/`anyOf`/`oneOf`/`not` branches enclose the schema being compiled. In a
    /// CRD, only the structural skeleton decides which fields are known: a branch's
    /// `properties` (`oneOf: [{properties: {certificate: {}}, required: [certificate]}]`)
    /// are value validations and never make the object's other fields unknown.
    in_branch: usize,
}

/// Every pattern compiled so far, shared by all compilers of the process: the same patterns
/// recur across the versions of one CRD and across CRDs (an embedded schema and the input's
/// CRD of the same kind), and compiling a regex costs far more than matching with it.
fn compiled_patterns() -> &'static std::sync::Mutex<HashMap<String, Regex>> {
    static PATTERNS: std::sync::OnceLock<std::sync::Mutex<HashMap<String, Regex>>> =
        std::sync::OnceLock::new();
    PATTERNS.get_or_init(Default::default)
}

impl<'r> Compiler<'r> {
    pub fn new(resolver: &'r dyn Resolver, dialect: Dialect) -> Self {
        Compiler {
            resolver,
            dialect,
            nodes: Vec::new(),
            by_ref: HashMap::new(),
            in_branch: 0,
        }
    }

    /// Compiles `schema` (named `title` for messages) and returns the arena.
    pub fn compile(
        mut self,
        schema: &Value,
        title: Option<&str>,
    ) -> Result<Compiled, CompileError> {
        let root = self.alloc();
        self.fill(root, schema, 0, title)?;
        if let Dialect::Crd { .. } = self.dialect {
            // The API server always accepts apiVersion, kind and metadata at a custom
            // resource's root, whether or not the CRD's schema lists them.
            self.nodes[root as usize].embedded_resource = true;
            // A CRD may only restrict `name` and `generateName` of the root metadata; every
            // other ObjectMeta field stays allowed.
            let metadata = self.nodes[root as usize]
                .object
                .as_deref()
                .and_then(|o| o.property("metadata"));
            if let Some(m) = metadata {
                if let Some(rules) = self.nodes[m as usize].object.as_deref_mut() {
                    if rules.additional == Some(Additional::Deny) {
                        rules.additional = None;
                    }
                }
            }
        }
        let has_defaults = self.nodes.iter().any(|n| n.default.is_some());
        let has_cel = self.nodes.iter().any(|n| !n.cel.is_empty());
        Ok(Compiled {
            nodes: self.nodes,
            root,
            has_defaults,
            has_cel,
        })
    }

    fn alloc(&mut self) -> NodeId {
        self.nodes.push(Node::default());
        (self.nodes.len() - 1) as NodeId
    }

    fn child(&mut self, schema: &Value, depth: usize) -> Result<NodeId, CompileError> {
        // A pure `$ref` (Kubernetes definitions carry nothing else once descriptions are
        // gone) aliases its target instead of adding a node: one hop less per value.
        if let Some(map) = schema.as_object() {
            if let Some(Value::String(r)) = map.get("$ref") {
                let only_ref = map
                    .keys()
                    .all(|k| k == "$ref" || k == "description" || k == "default");
                if only_ref {
                    return self.reference(r, depth);
                }
            }
        }
        let id = self.alloc();
        self.fill(id, schema, depth, None)?;
        Ok(id)
    }

    fn reference(&mut self, reference: &str, depth: usize) -> Result<NodeId, CompileError> {
        if let Some(&id) = self.by_ref.get(reference) {
            return Ok(id);
        }
        let resolver = self.resolver;
        let (name, target) = resolver
            .resolve(reference)
            .ok_or_else(|| CompileError::UnresolvedRef(reference.to_string()))?;
        let id = self.alloc();
        self.by_ref.insert(reference.to_string(), id);
        let short = name.rsplit('.').next().unwrap_or(&name).to_string();
        self.fill(id, target, depth + 1, Some(&short))?;
        Ok(id)
    }

    fn regex(&mut self, pattern: &str) -> Result<Regex, CompileError> {
        let known = compiled_patterns()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(pattern)
            .cloned();
        if let Some(r) = known {
            return Ok(r);
        }
        // Compiled outside the lock: another worker may compile the same pattern meanwhile,
        // which only costs time.
        let r = Regex::new(pattern).map_err(|e| CompileError::BadPattern {
            pattern: pattern.to_string(),
            error: e.to_string(),
        })?;
        compiled_patterns()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pattern.to_string(), r.clone());
        Ok(r)
    }

    fn fill(
        &mut self,
        id: NodeId,
        schema: &Value,
        depth: usize,
        title: Option<&str>,
    ) -> Result<(), CompileError> {
        if depth > MAX_DEPTH {
            return Err(CompileError::TooDeep(MAX_DEPTH));
        }
        let map = match schema {
            Value::Bool(b) => {
                self.nodes[id as usize].never = !b;
                return Ok(());
            }
            Value::Object(map) => map,
            _ => return Ok(()),
        };
        let crd = matches!(self.dialect, Dialect::Crd { .. });
        let mut node = Node {
            title: title.map(Into::into),
            ..Node::default()
        };

        match map.get("type") {
            Some(Value::String(t)) => node.types = ty::from_name(t),
            Some(Value::Array(ts)) => {
                node.types = ts
                    .iter()
                    .filter_map(Value::as_str)
                    .fold(0, |m, t| m | ty::from_name(t))
            }
            _ => {}
        }
        if flag(map, "nullable") && node.types != 0 {
            node.types |= ty::NULL;
        }
        node.int_or_string = flag(map, "x-kubernetes-int-or-string")
            || map.get("format").and_then(Value::as_str) == Some("int-or-string");
        node.preserve_unknown = flag(map, "x-kubernetes-preserve-unknown-fields");
        node.embedded_resource = flag(map, "x-kubernetes-embedded-resource");
        if node.int_or_string {
            let nullable = node.types & ty::NULL != 0 || flag(map, "nullable");
            node.types = ty::INTEGER | ty::STRING | if nullable { ty::NULL } else { 0 };
        }

        // Objects.
        let props = map.get("properties").and_then(Value::as_object);
        let pattern_props = map.get("patternProperties").and_then(Value::as_object);
        let additional = map.get("additionalProperties");
        let required: Vec<Box<str>> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(Into::into).collect())
            .unwrap_or_default();
        let min_props = map.get("minProperties").and_then(Value::as_u64);
        let max_props = map.get("maxProperties").and_then(Value::as_u64);
        if props.is_some()
            || pattern_props.is_some()
            || additional.is_some()
            || !required.is_empty()
            || min_props.is_some()
            || max_props.is_some()
            || node.embedded_resource
        {
            let mut rules = ObjectRules {
                required,
                min_properties: min_props.map(|v| v as usize),
                max_properties: max_props.map(|v| v as usize),
                ..ObjectRules::default()
            };
            if let Some(props) = props {
                for (name, sub) in props {
                    let child = self.child(sub, depth + 1)?;
                    if crd && !rules.required.iter().any(|r| **r == **name) {
                        // The API server prunes `null` of optional fields; kubeconform's CRD
                        // converter allows it too.
                        let n = &mut self.nodes[child as usize];
                        if n.types != 0 {
                            n.types |= ty::NULL;
                        }
                    }
                    rules.properties.push((name.as_str().into(), child));
                }
                rules.properties.sort_by(|a, b| a.0.cmp(&b.0));
                if crd {
                    // Defaulting runs before validation: a required field with a default is
                    // never missing.
                    rules.required.retain(|name| {
                        props
                            .get(&**name)
                            .and_then(|p| p.get("default"))
                            .is_none_or(Value::is_null)
                    });
                }
            }
            if let Some(pp) = pattern_props {
                for (pattern, sub) in pp {
                    let re = self.regex(pattern)?;
                    let child = self.child(sub, depth + 1)?;
                    rules.pattern_properties.push((re, child));
                }
            }
            rules.additional = match additional {
                Some(Value::Bool(true)) => Some(Additional::Any),
                Some(Value::Bool(false)) => match self.dialect {
                    Dialect::JsonSchema { strict: false } if props.is_some() => None,
                    _ => Some(Additional::Deny),
                },
                Some(sub @ Value::Object(_)) => {
                    Some(Additional::Schema(self.child(sub, depth + 1)?))
                }
                _ => None,
            };
            if let Dialect::Crd { strict: true } = self.dialect {
                if rules.additional.is_none()
                    && props.is_some()
                    && !node.preserve_unknown
                    && self.in_branch == 0
                {
                    rules.additional = Some(Additional::Deny);
                }
            }
            node.object = Some(Box::new(rules));
        }

        if let Some(items) = map.get("items") {
            match items {
                Value::Array(list) => {
                    // Tuple form (draft 4): validate each item against the first schema is
                    // wrong, so only a single-schema list is honoured.
                    if let Some(first) = list.first().filter(|_| list.len() == 1) {
                        node.items = Some(self.child(first, depth + 1)?);
                    }
                }
                other => node.items = Some(self.child(other, depth + 1)?),
            }
        }
        if let Some(Value::Array(e)) = map.get("enum") {
            node.enumeration = Some(e.clone().into_boxed_slice());
        }
        if let Some(c) = map.get("const") {
            node.constant = Some(Box::new(c.clone()));
        }

        let mut all_of = Vec::new();
        if let Some(Value::String(r)) = map.get("$ref") {
            all_of.push(self.reference(r, depth)?);
        }
        for (key, target) in [("allOf", 0), ("anyOf", 1), ("oneOf", 2)] {
            if let Some(Value::Array(list)) = map.get(key) {
                let mut ids = Vec::with_capacity(list.len());
                self.in_branch += 1;
                let compiled: Result<(), CompileError> = list.iter().try_for_each(|sub| {
                    ids.push(self.child(sub, depth + 1)?);
                    Ok(())
                });
                self.in_branch -= 1;
                compiled?;
                match target {
                    0 => all_of.extend(ids),
                    1 => node.any_of = ids.into_boxed_slice(),
                    _ => node.one_of = ids.into_boxed_slice(),
                }
            }
        }
        node.all_of = all_of.into_boxed_slice();
        if crd {
            node.default = map
                .get("default")
                .filter(|d| !d.is_null())
                .map(|d| Box::new(d.clone()));
            if let Some(Value::Array(rules)) = map.get("x-kubernetes-validations") {
                node.cel = crate::cel::compile_rules(rules).into_boxed_slice();
            }
        }
        if let Some(sub) = map.get("not") {
            self.in_branch += 1;
            let compiled = self.child(sub, depth + 1);
            self.in_branch -= 1;
            node.not = Some(compiled?);
        }

        let num = |k: &str| map.get(k).and_then(Value::as_f64);
        let mut nr = NumberRules {
            minimum: num("minimum"),
            maximum: num("maximum"),
            multiple_of: num("multipleOf").filter(|m| *m > 0.0),
            ..NumberRules::default()
        };
        // Draft 4 / OpenAPI: booleans modify minimum/maximum; draft 6+: numbers.
        match map.get("exclusiveMinimum") {
            Some(Value::Bool(true)) => nr.exclusive_minimum = nr.minimum.take(),
            Some(v) => nr.exclusive_minimum = v.as_f64(),
            None => {}
        }
        match map.get("exclusiveMaximum") {
            Some(Value::Bool(true)) => nr.exclusive_maximum = nr.maximum.take(),
            Some(v) => nr.exclusive_maximum = v.as_f64(),
            None => {}
        }
        if nr.minimum.is_some()
            || nr.maximum.is_some()
            || nr.exclusive_minimum.is_some()
            || nr.exclusive_maximum.is_some()
            || nr.multiple_of.is_some()
        {
            node.number = Some(Box::new(nr));
        }

        let uint = |k: &str| map.get(k).and_then(Value::as_u64).map(|v| v as usize);
        // A pattern the regex crate cannot compile (look-around, backreferences: ECMA-262
        // features that Go's RE2 lacks too) is skipped rather than making the whole schema
        // unusable; every other keyword still applies.
        let pattern = map
            .get("pattern")
            .and_then(Value::as_str)
            .and_then(|p| self.regex(p).ok().map(|r| (p.into(), r)));
        if uint("minLength").is_some() || uint("maxLength").is_some() || pattern.is_some() {
            node.string = Some(Box::new(StringRules {
                min_length: uint("minLength"),
                max_length: uint("maxLength"),
                pattern,
            }));
        }
        let unique = flag(map, "uniqueItems");
        if uint("minItems").is_some() || uint("maxItems").is_some() || unique {
            node.array = Some(Box::new(ArrayRules {
                min_items: uint("minItems"),
                max_items: uint("maxItems"),
                unique_items: unique,
            }));
        }
        self.nodes[id as usize] = node;
        Ok(())
    }
}

fn flag(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}
