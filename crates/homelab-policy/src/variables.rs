//! Kyverno variables: the JSON context (`request`, `element`, context entries, values from a
//! Values file) and `{{ }}` substitution with Kyverno's rules for unresolvable paths.

use crate::jmes::{self, QueryError};
use crate::scalars::go_sprint;
use jmespath::{Rcvar, Variable};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Why a substitution failed (Kyverno turns these into rule errors).
#[derive(Debug, Clone, PartialEq)]
pub enum VarError {
    /// A path names a key that does not exist (Kyverno's `NotFoundError`).
    NotFound {
        variable: String,
        key: String,
    },
    Query {
        variable: String,
        err: QueryError,
    },
}

impl std::fmt::Display for VarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarError::NotFound { variable, key } => {
                write!(
                    f,
                    "failed to resolve {variable}: Unknown key \"{key}\" in path"
                )
            }
            VarError::Query { variable, err } => write!(f, "failed to resolve {variable}: {err}"),
        }
    }
}

/// How unresolvable variables are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Error (patterns, deny conditions, messages).
    Strict,
    /// Resolve to an empty string (preconditions).
    Lenient,
}

/// The JSON context variables are resolved against, held in JMESPath's representation:
/// converted once, and shared by copies (a copy that sets a variable rebuilds only the
/// maps on the way to it).
#[derive(Debug, Clone)]
pub struct Vars {
    data: Rcvar,
    /// DELETE requests read `request.oldObject` where policies say `request.object`.
    pub delete: bool,
}

impl Vars {
    pub fn new(data: Map<String, Value>) -> Self {
        Vars {
            data: jmes::to_var(&Value::Object(data)),
            delete: false,
        }
    }

    /// A context from data already converted (an object).
    pub fn from_data(data: Rcvar) -> Self {
        Vars {
            data,
            delete: false,
        }
    }

    /// Set `key` (dotted path, e.g. `request.operation`), merging into existing maps.
    pub fn set(&mut self, key: &str, value: Value) {
        self.set_var(key, jmes::to_var(&value));
    }

    /// [`Vars::set`] with a value already in JMESPath's representation.
    pub fn set_var(&mut self, key: &str, value: Rcvar) {
        let parts = split_key(key);
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        self.data = set_path(&self.data, &parts, value);
    }

    /// Set several top-level variables (names without dots or quotes) at once, each as
    /// [`Vars::set_var`] would, in order, copying the top-level map once.
    pub fn set_top_vars<'k>(&mut self, entries: impl IntoIterator<Item = (&'k str, Rcvar)>) {
        let mut map: BTreeMap<String, Rcvar> = match &*self.data {
            Variable::Object(m) => m.clone(),
            _ => BTreeMap::new(),
        };
        for (key, value) in entries {
            debug_assert!(!key.contains(['.', '"']), "{key} is not a top-level name");
            let merged = merge_into(map.get(key), value);
            map.insert(key.to_string(), merged);
        }
        self.data = Rcvar::new(Variable::Object(map));
    }

    pub fn has(&self, key: &str) -> bool {
        let mut cur = &self.data;
        for p in key.split('.') {
            match &**cur {
                Variable::Object(m) => match m.get(p) {
                    Some(next) => cur = next,
                    None => return false,
                },
                _ => return false,
            }
        }
        true
    }

    /// Evaluate a JMESPath expression against the whole context as it is (no DELETE
    /// rewriting, no not-found errors).
    pub fn search_raw(&self, expr: &str) -> Result<Value, QueryError> {
        jmes::search_var(expr, &self.data)
    }

    /// Evaluate a JMESPath expression (no braces) against the context.
    pub fn query(&self, expr: &str) -> Result<Value, VarError> {
        self.query_var(expr).map(|r| jmes::from_var(&r))
    }

    /// [`Vars::query`] with the result left in JMESPath's representation.
    pub fn query_var(&self, expr: &str) -> Result<Rcvar, VarError> {
        let expr = expr.trim();
        let expr: std::borrow::Cow<'_, str> = if self.delete {
            expr.replace("request.object", "request.oldObject").into()
        } else {
            expr.into()
        };
        let r = jmes::search_rcvar(&expr, &self.data).map_err(|err| VarError::Query {
            variable: expr.to_string(),
            err,
        })?;
        // A result that is an expression reference reads as null, as in JSON.
        if matches!(*r, Variable::Null | Variable::Expref(_)) {
            if let Some(key) = missing_key(&expr, &self.data) {
                return Err(VarError::NotFound {
                    variable: expr.into_owned(),
                    key,
                });
            }
        }
        Ok(r)
    }

    /// Substitute every `{{ }}` in every string (keys too) of `v`.
    pub fn substitute(&self, v: &Value, mode: Mode) -> Result<Value, VarError> {
        match v {
            Value::String(s) => self.substitute_str(s, mode),
            Value::Array(a) => a
                .iter()
                .map(|x| self.substitute(x, mode))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    let nk = if k.contains("{{") {
                        match self.substitute_str(k, mode)? {
                            Value::String(s) => s,
                            other => go_sprint(&other),
                        }
                    } else {
                        k.clone()
                    };
                    out.insert(nk, self.substitute(x, mode)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// Substitute the variables of one string. A string that is exactly one variable takes
    /// the variable's type; otherwise values are spliced in as text (JSON for non-strings).
    pub fn substitute_str(&self, s: &str, mode: Mode) -> Result<Value, VarError> {
        if !s.contains("{{") {
            return Ok(Value::String(s.to_string()));
        }
        let mut cur = s.to_string();
        // Nested variables resolve inside-out; bound the rounds so a value that contains
        // `{{` itself cannot loop forever.
        for _ in 0..16 {
            let vars = find_vars(&cur);
            if vars.is_empty() {
                break;
            }
            let mut outstr = String::with_capacity(cur.len());
            let mut last = 0;
            for (start, end) in vars {
                let inner = cur[start + 2..end - 2].trim();
                let value = match self.query(inner) {
                    Ok(v) => v,
                    Err(e) => match mode {
                        Mode::Strict => return Err(e),
                        Mode::Lenient => Value::String(String::new()),
                    },
                };
                if start == 0 && end == cur.len() {
                    return Ok(value);
                }
                outstr.push_str(&cur[last..start]);
                match value {
                    Value::String(x) => outstr.push_str(&x),
                    Value::Null => outstr.push_str("null"),
                    other => outstr.push_str(&other.to_string()),
                }
                last = end;
            }
            outstr.push_str(&cur[last..]);
            cur = outstr;
        }
        Ok(Value::String(unescape(&cur)))
    }
}

fn unescape(s: &str) -> String {
    if s.contains("\\{{") {
        s.replace("\\{{", "{{")
    } else {
        s.to_string()
    }
}

/// The fields of a dotted key, a double-quoted field kept whole
/// (`request.object.metadata.annotations."example.com/team"`), as Kyverno reads
/// Values file keys.
fn split_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            other => cur.push(other),
        }
    }
    out.push(cur);
    out
}

/// `target` with `value` at `parts` (an object value merged into an object already there);
/// only the maps on the path are copied, the rest is shared.
fn set_path(target: &Rcvar, parts: &[&str], value: Rcvar) -> Rcvar {
    let mut map: BTreeMap<String, Rcvar> = match &**target {
        Variable::Object(m) => m.clone(),
        _ => BTreeMap::new(),
    };
    let Some((first, rest)) = parts.split_first() else {
        return target.clone();
    };
    if rest.is_empty() {
        let merged = merge_into(map.get(*first), value);
        map.insert(first.to_string(), merged);
    } else {
        let child = map
            .get(*first)
            .cloned()
            .unwrap_or_else(|| Rcvar::new(Variable::Object(BTreeMap::new())));
        map.insert(first.to_string(), set_path(&child, rest, value));
    }
    Rcvar::new(Variable::Object(map))
}

/// `value` as set over `existing`: an object merged into an object already there,
/// anything else replacing it.
fn merge_into(existing: Option<&Rcvar>, value: Rcvar) -> Rcvar {
    match (existing.map(|v| &**v), &*value) {
        (Some(Variable::Object(existing)), Variable::Object(new)) => {
            let mut m = existing.clone();
            m.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
            Rcvar::new(Variable::Object(m))
        }
        _ => value,
    }
}

/// `(start, end)` byte ranges of unescaped `{{ ... }}` (one level of `{}` allowed inside).
pub fn find_vars(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'{' && b[i + 1] == b'{' && (i == 0 || b[i - 1] != b'\\') {
            let mut j = i + 2;
            let mut depth = 0i32;
            let mut found = None;
            while j < b.len() {
                match b[j] {
                    b'{' => {
                        depth += 1;
                        if depth > 1 {
                            break;
                        }
                    }
                    b'}' => {
                        if depth > 0 {
                            depth -= 1;
                        } else if j + 1 < b.len() && b[j + 1] == b'}' {
                            found = Some(j + 2);
                            break;
                        } else {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if let Some(end) = found {
                // innermost-first: if the body holds another `{{`, restart from there
                out.push((i, end));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// For a plain path expression (`a.b[0]."c-d"`) whose result is null: the first key that
/// is absent from an object on the way (Kyverno's JMESPath reports it as not found).
pub fn missing_key(expr: &str, data: &Rcvar) -> Option<String> {
    let steps = parse_simple_path(expr)?;
    let mut cur: &Rcvar = data;
    for st in &steps {
        match st {
            Step::Key(k) => match &**cur {
                Variable::Object(m) => match m.get(k.as_str()) {
                    Some(v) => cur = v,
                    None => return Some(k.clone()),
                },
                _ => return None,
            },
            Step::Index(n) => match &**cur {
                Variable::Array(a) => {
                    let idx = if *n < 0 { a.len() as i64 + n } else { *n };
                    if idx < 0 || idx as usize >= a.len() {
                        return None;
                    }
                    cur = &a[idx as usize];
                }
                _ => return None,
            },
        }
    }
    None
}

enum Step {
    Key(String),
    Index(i64),
}

fn parse_simple_path(expr: &str) -> Option<Vec<Step>> {
    let b = expr.trim().as_bytes();
    let mut i = 0;
    let mut steps = Vec::new();
    let mut expect_key = true;
    while i < b.len() {
        if expect_key {
            if b[i] == b'"' {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        return None;
                    }
                    j += 1;
                }
                if j >= b.len() {
                    return None;
                }
                steps.push(Step::Key(
                    String::from_utf8_lossy(&b[i + 1..j]).into_owned(),
                ));
                i = j + 1;
            } else {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if start == i || b[start].is_ascii_digit() {
                    return None;
                }
                steps.push(Step::Key(
                    String::from_utf8_lossy(&b[start..i]).into_owned(),
                ));
            }
            expect_key = false;
        } else if b[i] == b'.' {
            expect_key = true;
            i += 1;
        } else if b[i] == b'[' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b']' {
                j += 1;
            }
            if j >= b.len() {
                return None;
            }
            let n: i64 = std::str::from_utf8(&b[i + 1..j])
                .ok()?
                .trim()
                .parse()
                .ok()?;
            steps.push(Step::Index(n));
            i = j + 1;
        } else {
            return None;
        }
    }
    if expect_key || steps.is_empty() {
        return None;
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let Value::Object(m) = json!({"request": {"object": {"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"replicas": 3}}}})
        else {
            unreachable!()
        };
        Vars::new(m)
    }

    #[test]
    fn substitution() {
        let v = vars();
        assert_eq!(
            v.substitute_str("{{ request.object.metadata.name }}", Mode::Strict)
                .unwrap(),
            json!("x")
        );
        assert_eq!(
            v.substitute_str("{{request.object.spec.replicas}}", Mode::Strict)
                .unwrap(),
            json!(3)
        );
        assert_eq!(
            v.substitute_str(
                "n={{request.object.metadata.name}}-{{request.object.spec.replicas}}",
                Mode::Strict
            )
            .unwrap(),
            json!("n=x-3")
        );
        assert!(matches!(
            v.substitute_str("{{request.object.metadata.labels.b}}", Mode::Strict),
            Err(VarError::NotFound { .. })
        ));
        assert_eq!(
            v.substitute_str("{{request.object.metadata.labels.b}}", Mode::Lenient)
                .unwrap(),
            json!("")
        );
        assert_eq!(
            v.substitute_str("{{request.object.metadata.labels.b || 'd'}}", Mode::Strict)
                .unwrap(),
            json!("d")
        );
        assert_eq!(
            v.substitute_str("\\{{ literal }}", Mode::Strict).unwrap(),
            json!("{{ literal }}")
        );
        assert_eq!(
            v.substitute_str("{{ {n: request.object.metadata.name}.n }}", Mode::Strict)
                .unwrap(),
            json!("x")
        );
    }

    #[test]
    fn set_dotted() {
        let mut v = vars();
        v.set("request.operation", json!("DELETE"));
        assert_eq!(v.query("request.operation").unwrap(), json!("DELETE"));
        assert_eq!(v.query("request.object.metadata.name").unwrap(), json!("x"));
    }
}
