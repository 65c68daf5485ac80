//! Kyverno `validate.pattern` matching: the tree walk with anchors (conditional `()`,
//! equality `=()`, existence `^()`, negation `X()`, global `<()`) and the scalar value
//! operators (wildcards, `!`, `|`, `&`, `<`/`>`/`<=`/`>=`, ranges `a-b`/`a!-b`).
//!
//! Mirrors Kyverno's semantics (pkg/engine/validate, pkg/engine/pattern): a failing
//! conditional/global anchor makes the pattern *skip*, a present negation key *fails*,
//! anything else that does not match *fails* at a JSON path.

use crate::scalars::{
    as_number, format_float, go_parse_float, go_parse_int, parse_quantity, wildcard_match,
};
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The outcome of matching one pattern against one resource.
#[derive(Debug, Clone, PartialEq)]
pub enum PatternResult {
    Pass,
    /// A conditional or global anchor did not hold: the pattern does not apply.
    Skip(String),
    /// Mismatch at `path` (empty path = Kyverno reports an error, not a failure).
    Fail {
        path: String,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrKind {
    Plain,
    Conditional,
    Global,
    Negation,
}

#[derive(Debug, Clone)]
struct PErr {
    kind: ErrKind,
    msg: String,
}

impl PErr {
    fn plain(msg: String) -> Self {
        PErr {
            kind: ErrKind::Plain,
            msg,
        }
    }
    fn is_skip(&self) -> bool {
        matches!(self.kind, ErrKind::Conditional | ErrKind::Global)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorKind {
    Condition,
    Global,
    Negation,
    AddIfNotPresent,
    Equality,
    Existence,
}

/// Parse `(key)`, `<(key)`, `X(key)`, `+(key)`, `=(key)`, `^(key)`.
pub fn parse_anchor(key: &str) -> Option<(AnchorKind, &str)> {
    let k = key.trim();
    let (kind, rest) = match k.as_bytes().first()? {
        b'(' => (AnchorKind::Condition, k),
        b'<' => (AnchorKind::Global, &k[1..]),
        b'X' => (AnchorKind::Negation, &k[1..]),
        b'+' => (AnchorKind::AddIfNotPresent, &k[1..]),
        b'=' => (AnchorKind::Equality, &k[1..]),
        b'^' => (AnchorKind::Existence, &k[1..]),
        _ => return None,
    };
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    if inner.is_empty() || inner.contains(['(', ')']) {
        return None;
    }
    Some((kind, inner))
}

struct Walker {
    anchor_error: bool,
}

/// Match `resource` against `pattern` (both already variable-substituted).
pub fn match_pattern(resource: &Value, pattern: &Value) -> PatternResult {
    let mut w = Walker {
        anchor_error: false,
    };
    match w.element(resource, pattern, "/") {
        Ok(()) => PatternResult::Pass,
        Err((path, e)) => {
            if e.is_skip() {
                PatternResult::Skip(e.msg)
            } else if e.kind == ErrKind::Negation {
                PatternResult::Fail {
                    path,
                    message: e.msg,
                }
            } else if w.anchor_error {
                PatternResult::Fail {
                    path: String::new(),
                    message: e.msg,
                }
            } else {
                PatternResult::Fail {
                    path,
                    message: e.msg,
                }
            }
        }
    }
}

type WResult = Result<(), (String, PErr)>;

impl Walker {
    /// Matches (resource item, pattern) pairs in order. A conditional-anchor miss on an
    /// item skips that item; when every item was skipped the whole array is skipped.
    fn elements<'v>(
        &mut self,
        pairs: impl Iterator<Item = (&'v Value, &'v Value)>,
        path: &str,
    ) -> WResult {
        let mut applied = 0;
        let mut skips: Vec<String> = Vec::new();
        for (i, (item, pattern)) in pairs.enumerate() {
            let ip = format!("{path}{i}/");
            match self.element(item, pattern, &ip) {
                Ok(()) => applied += 1,
                Err((_, e)) if e.is_skip() => skips.push(e.msg),
                Err(err) => return Err(err),
            }
        }
        if applied == 0 && !skips.is_empty() {
            return Err((
                path.to_string(),
                PErr {
                    kind: ErrKind::Conditional,
                    msg: skips.join("; "),
                },
            ));
        }
        Ok(())
    }

    fn element(&mut self, res: &Value, pat: &Value, path: &str) -> WResult {
        match pat {
            Value::Object(pm) => {
                let Value::Object(rm) = res else {
                    return Err((
                        path.to_string(),
                        PErr::plain(format!(
                            "pattern and resource have different structures. Path: {path}. Expected map, found {}",
                            type_name(res)
                        )),
                    ));
                };
                self.map(rm, pm, path)
            }
            Value::Array(pa) => {
                let Value::Array(ra) = res else {
                    return Err((
                        path.to_string(),
                        PErr::plain(format!(
                            "validation rule failed at path {path}, resource does not satisfy the expected overlay pattern"
                        )),
                    ));
                };
                self.array(ra, pa, path)
            }
            _ => {
                if let Value::Array(items) = res {
                    for r in items {
                        if !validate_value(r, pat) {
                            return Err((
                                path.to_string(),
                                PErr::plain(format!(
                                    "resource value '{}' does not match '{}' at path {path}",
                                    short(res),
                                    short(pat)
                                )),
                            ));
                        }
                    }
                    Ok(())
                } else if !validate_value(res, pat) {
                    Err((
                        path.to_string(),
                        PErr::plain(format!(
                            "resource value '{}' does not match '{}' at path {path}",
                            short(res),
                            short(pat)
                        )),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn map(&mut self, rm: &Map<String, Value>, pm: &Map<String, Value>, path: &str) -> WResult {
        let expanded;
        let pm = if path_is_metadata_map(path) && pm.keys().any(|k| k.contains(['*', '?'])) {
            expanded = expand_wildcard_keys(pm, rm);
            &expanded
        } else {
            pm
        };
        // Phase 1: anchors (conditions first, as they decide whether the rest applies).
        let mut anchors: Vec<(&String, AnchorKind, &str, &Value)> = Vec::new();
        let mut plain: Vec<(&String, &Value)> = Vec::new();
        for (k, v) in pm {
            match parse_anchor(k) {
                Some((kind, key))
                    if matches!(
                        kind,
                        AnchorKind::Condition
                            | AnchorKind::Existence
                            | AnchorKind::Equality
                            | AnchorKind::Negation
                    ) =>
                {
                    anchors.push((k, kind, key, v))
                }
                _ => plain.push((k, v)),
            }
        }
        anchors.sort_by_key(|a| match a.1 {
            AnchorKind::Condition => 0,
            _ => 1,
        });
        for (_, kind, key, pv) in anchors {
            self.handle(kind, key, pv, rm, path)?;
        }
        // Phase 2: global anchors and keys with nested anchors first, then the rest (sorted).
        plain.sort_by(|a, b| a.0.cmp(b.0));
        let mut front: Vec<(&String, &Value)> = Vec::new();
        let mut back: Vec<(&String, &Value)> = Vec::new();
        for (k, v) in plain {
            let global = matches!(parse_anchor(k), Some((AnchorKind::Global, _)));
            if global || has_nested_anchors(v) {
                front.insert(0, (k, v));
            } else {
                back.push((k, v));
            }
        }
        for (k, pv) in front.into_iter().chain(back) {
            match parse_anchor(k) {
                Some((AnchorKind::Global, key)) => {
                    self.handle(AnchorKind::Global, key, pv, rm, path)?
                }
                Some((AnchorKind::AddIfNotPresent, key)) => {
                    // mutate-only anchor: in validation Kyverno treats it as a plain key
                    self.default_key(key, pv, rm, path)?
                }
                _ => self.default_key(k, pv, rm, path)?,
            }
        }
        Ok(())
    }

    fn default_key(
        &mut self,
        key: &str,
        pv: &Value,
        rm: &Map<String, Value>,
        path: &str,
    ) -> WResult {
        let cur = format!("{path}{key}/");
        let rv = rm.get(key).unwrap_or(&Value::Null);
        if pv.as_str() == Some("*") {
            if rv.is_null() {
                return Err((
                    path.to_string(),
                    PErr::plain(format!("{path}/{key} not found")),
                ));
            }
            return Ok(());
        }
        self.element(rv, pv, &cur)
    }

    fn handle(
        &mut self,
        kind: AnchorKind,
        key: &str,
        pv: &Value,
        rm: &Map<String, Value>,
        path: &str,
    ) -> WResult {
        let cur = format!("{path}{key}/");
        match kind {
            AnchorKind::Negation => {
                if rm.contains_key(key) {
                    return Err((
                        cur.clone(),
                        PErr {
                            kind: ErrKind::Negation,
                            msg: format!("negation anchor matched in resource: {cur} is not allowed"),
                        },
                    ));
                }
                Ok(())
            }
            AnchorKind::Equality => match rm.get(key) {
                Some(v) => self.element(v, pv, &cur),
                None => Ok(()),
            },
            AnchorKind::Condition => match rm.get(key) {
                Some(v) => match self.element(v, pv, &cur) {
                    Ok(()) => Ok(()),
                    Err((p, e)) => {
                        self.anchor_error = true;
                        Err((
                            p,
                            PErr {
                                kind: ErrKind::Conditional,
                                msg: format!("conditional anchor mismatch: {}", e.msg),
                            },
                        ))
                    }
                },
                None => Err((
                    cur,
                    PErr {
                        kind: ErrKind::Conditional,
                        msg: "conditional anchor mismatch: conditional anchor key doesn't exist in the resource"
                            .into(),
                    },
                )),
            },
            AnchorKind::Global => match rm.get(key) {
                Some(v) => match self.element(v, pv, &cur) {
                    Ok(()) => Ok(()),
                    Err((p, e)) => {
                        self.anchor_error = true;
                        Err((
                            p,
                            PErr {
                                kind: ErrKind::Global,
                                msg: format!("global anchor mismatch: {}", e.msg),
                            },
                        ))
                    }
                },
                None => Ok(()),
            },
            AnchorKind::Existence => match rm.get(key) {
                Some(Value::Array(items)) => {
                    let Value::Array(pats) = pv else {
                        return Err((
                            cur,
                            PErr::plain("invalid pattern type: Pattern has to be of list to compare against resource".into()),
                        ));
                    };
                    for p in pats {
                        if !p.is_object() {
                            return Err((
                                cur,
                                PErr::plain("invalid pattern type: Pattern has to be of type map to compare against items in resource".into()),
                            ));
                        }
                        let mut found = false;
                        for (i, item) in items.iter().enumerate() {
                            let ip = format!("{cur}{i}/");
                            let saved = self.anchor_error;
                            if self.element(item, p, &ip).is_ok() {
                                found = true;
                                break;
                            }
                            self.anchor_error = saved;
                        }
                        if !found {
                            return Err((
                                cur.clone(),
                                PErr::plain(format!("existence anchor validation failed at path {cur}")),
                            ));
                        }
                    }
                    Ok(())
                }
                Some(_) => Err((
                    cur,
                    PErr::plain("invalid resource type: Existence ^ () anchor can be used only on list/array type resource".into()),
                )),
                None => Ok(()),
            },
            AnchorKind::AddIfNotPresent => self.default_key(key, pv, rm, path),
        }
    }

    fn array(&mut self, ra: &[Value], pa: &[Value], path: &str) -> WResult {
        let Some(first) = pa.first() else {
            return Err((path.to_string(), PErr::plain("pattern Array empty".into())));
        };
        match first {
            Value::Object(_) => self.elements(ra.iter().map(|item| (item, first)), path),
            Value::Array(_) => {
                if ra.len() < pa.len() {
                    return Err((
                        String::new(),
                        PErr::plain(format!(
                            "validate Array failed, array length mismatch, resource Array len is {} and pattern Array len is {}",
                            ra.len(),
                            pa.len()
                        )),
                    ));
                }
                self.elements(ra.iter().zip(pa.iter()), path)
            }
            // A scalar pattern holds for every item (as `element` checks an array
            // resource); the array is copied only for the failure message.
            _ => match ra.iter().all(|r| validate_value(r, first)) {
                true => Ok(()),
                false => self.element(&Value::Array(ra.to_vec()), first, path),
            },
        }
    }
}

fn has_nested_anchors(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            matches!(
                parse_anchor(k),
                Some((
                    AnchorKind::Condition
                        | AnchorKind::Existence
                        | AnchorKind::Equality
                        | AnchorKind::Negation
                        | AnchorKind::Global,
                    _
                ))
            ) || has_nested_anchors(v)
        }),
        Value::Array(a) => a.iter().any(has_nested_anchors),
        _ => false,
    }
}

/// Kyverno expands wildcard keys only in `metadata.labels` / `metadata.annotations` maps.
fn path_is_metadata_map(path: &str) -> bool {
    path.ends_with("/labels/") || path.ends_with("/annotations/")
}

fn expand_wildcard_keys(pm: &Map<String, Value>, rm: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in pm {
        let (prefix, bare) = match parse_anchor(k) {
            Some((kind, key)) => (
                Some((kind, k.find('(').map(|i| &k[..i]).unwrap_or(""))),
                key,
            ),
            None => (None, k.as_str()),
        };
        if !bare.contains(['*', '?']) {
            out.insert(k.clone(), v.clone());
            continue;
        }
        let mut matched = false;
        for rk in rm.keys() {
            if wildcard_match(bare, rk) {
                matched = true;
                let nk = match prefix {
                    Some((_, p)) => format!("{p}({rk})"),
                    None => rk.clone(),
                };
                out.insert(nk, v.clone());
            }
        }
        if !matched {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Scalar values

/// `pattern.Validate`: does the scalar (or container) `value` satisfy scalar `pattern`?
pub fn validate_value(value: &Value, pattern: &Value) -> bool {
    match pattern {
        Value::Bool(b) => value.as_bool() == Some(*b),
        Value::Number(n) => {
            if let Some(pi) = n.as_i64() {
                validate_int(value, pi)
            } else {
                validate_float(value, n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::Null => match value {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            _ => false,
        },
        Value::Object(_) => value.is_object(),
        Value::String(p) => validate_string_patterns(value, p),
        Value::Array(_) => false,
    }
}

fn validate_int(value: &Value, p: i64) -> bool {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i == p
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                f.trunc() == f && f as i64 == p
            }
        }
        Value::String(s) => go_parse_int(s) == Some(p),
        _ => false,
    }
}

fn validate_float(value: &Value, p: f64) -> bool {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                p.trunc() == p && p as i64 == i
            } else {
                n.as_f64() == Some(p)
            }
        }
        Value::String(s) => go_parse_float(s) == Some(p),
        _ => false,
    }
}

fn validate_string_patterns(value: &Value, pattern: &str) -> bool {
    if value.as_str() == Some(pattern) {
        return true;
    }
    pattern.split('|').any(|cond| {
        let cond = cond.trim_matches(' ');
        cond.split('&')
            .all(|c| validate_string_pattern(value, c.trim_matches(' ')))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equal,
    NotEqual,
    More,
    Less,
    MoreEqual,
    LessEqual,
    InRange,
    NotInRange,
}

fn range_regexes() -> &'static (Regex, Regex) {
    static R: OnceLock<(Regex, Regex)> = OnceLock::new();
    R.get_or_init(|| {
        (
            Regex::new(r"^\d+(\.\d+)?[A-Za-z]*-\d+(\.\d+)?[A-Za-z]*$").expect("static regex"),
            Regex::new(r"^\d+(\.\d+)?[A-Za-z]*!-\d+(\.\d+)?[A-Za-z]*$").expect("static regex"),
        )
    })
}

/// Kyverno's `GetOperatorFromStringPattern`.
pub fn operator_of(pattern: &str) -> Op {
    if pattern.len() < 2 {
        return Op::Equal;
    }
    if pattern.starts_with(">=") {
        return Op::MoreEqual;
    }
    if pattern.starts_with("<=") {
        return Op::LessEqual;
    }
    if pattern.starts_with('>') {
        return Op::More;
    }
    if pattern.starts_with('<') {
        return Op::Less;
    }
    if pattern.starts_with('!') {
        return Op::NotEqual;
    }
    let (inr, notr) = range_regexes();
    if inr.is_match(pattern) {
        return Op::InRange;
    }
    if notr.is_match(pattern) {
        return Op::NotInRange;
    }
    Op::Equal
}

fn op_len(op: Op) -> usize {
    match op {
        Op::MoreEqual | Op::LessEqual => 2,
        Op::More | Op::Less | Op::NotEqual => 1,
        _ => 0,
    }
}

fn validate_string_pattern(value: &Value, pattern: &str) -> bool {
    let op = operator_of(pattern);
    match op {
        Op::InRange => {
            let mut it = pattern.splitn(2, '-');
            let (a, b) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
            validate_string_pattern(value, &format!(">= {a}"))
                && validate_string_pattern(value, &format!("<= {b}"))
        }
        Op::NotInRange => {
            let mut it = pattern.splitn(2, "!-");
            let (a, b) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
            validate_string_pattern(value, &format!("< {a}"))
                || validate_string_pattern(value, &format!("> {b}"))
        }
        _ => {
            let p = pattern[op_len(op)..].trim();
            compare_quantity(value, p, op) || compare_string(value, p, op)
        }
    }
}

/// Kyverno converts the value to a string (`nil` becomes "0") and parses it as a quantity.
fn value_as_quantity(value: &Value) -> Option<homelab_k8s::Quantity> {
    let s = match value {
        Value::Null => "0".to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                format!("{:.6}", n.as_f64().unwrap_or(0.0))
            }
        }
        _ => return None,
    };
    parse_quantity(&s)
}

fn compare_quantity(value: &Value, pattern: &str, op: Op) -> bool {
    let Some(p) = parse_quantity(pattern) else {
        return false;
    };
    let Some(v) = value_as_quantity(value) else {
        return false;
    };
    let ord = v.cmp(&p);
    use std::cmp::Ordering::*;
    match op {
        Op::Equal => ord == Equal,
        Op::NotEqual => ord != Equal,
        Op::More => ord == Greater,
        Op::Less => ord == Less,
        Op::MoreEqual => matches!(ord, Equal | Greater),
        Op::LessEqual => matches!(ord, Equal | Less),
        _ => false,
    }
}

fn compare_string(value: &Value, pattern: &str, op: Op) -> bool {
    if !matches!(op, Op::Equal | Op::NotEqual) {
        return false;
    }
    let s = match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                go_format_e(n.as_f64().unwrap_or(0.0))
            }
        }
        _ => return false,
    };
    let m = wildcard_match(pattern, &s);
    if op == Op::NotEqual {
        !m
    } else {
        m
    }
}

/// Go's strconv.FormatFloat(f, 'E', -1, 64), e.g. `1.5E+00`.
fn go_format_e(f: f64) -> String {
    let s = format!("{f:E}");
    // Rust: "1.5E0" -> Go: "1.5E+00"
    match s.split_once('E') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            let digits = if digits.len() < 2 {
                format!("0{digits}")
            } else {
                digits.to_string()
            };
            format!("{m}E{sign}{digits}")
        }
        None => format_float(f),
    }
}

/// Numeric helper for conditions: the value as f64 if it is a JSON number.
pub fn number_of(v: &Value) -> Option<f64> {
    as_number(v).map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pass(r: Value, p: Value) -> bool {
        match_pattern(&r, &p) == PatternResult::Pass
    }

    #[test]
    fn scalars_and_operators() {
        assert!(validate_value(&json!("nginx:1.2"), &json!("!*:latest")));
        assert!(!validate_value(&json!("nginx:latest"), &json!("!*:latest")));
        assert!(validate_value(&json!(5), &json!(">3")));
        assert!(validate_value(&json!("2Gi"), &json!(">1Gi")));
        assert!(!validate_value(&json!("512Mi"), &json!(">1Gi")));
        assert!(validate_value(&json!(5), &json!("1-10")));
        assert!(!validate_value(&json!(11), &json!("1-10")));
        assert!(validate_value(&json!(11), &json!("1!-10")));
        assert!(validate_value(&json!("b"), &json!("a | b")));
        assert!(validate_value(&json!(5), &json!(">1 & <10")));
        assert!(validate_value(&Value::Null, &json!("<10")));
        assert!(!validate_value(&Value::Null, &json!("?*")));
        assert!(validate_value(&Value::Null, &Value::Null));
        assert!(validate_value(&json!(""), &Value::Null));
        assert!(validate_value(&json!("8080"), &json!(8080)));
        assert!(validate_value(&json!(true), &json!("true")));
        assert!(!validate_value(&json!(true), &json!("!true")));
        assert!(!validate_value(&Value::Null, &json!("!true")));
    }

    #[test]
    fn anchors() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "image": "nginx:latest", "securityContext": {"privileged": true}},
            {"name": "b", "image": "redis:6"}
        ]}});
        // plain pattern fails on first container
        assert!(!pass(
            pod.clone(),
            json!({"spec": {"containers": [{"image": "!*:latest"}]}})
        ));
        // conditional anchor: only images named b must be redis
        assert!(pass(
            pod.clone(),
            json!({"spec": {"containers": [{"(name)": "b", "image": "redis*"}]}})
        ));
        // conditional anchor that never holds -> skip
        assert!(matches!(
            match_pattern(
                &pod,
                &json!({"spec": {"containers": [{"(name)": "zzz", "image": "x"}]}})
            ),
            PatternResult::Skip(_)
        ));
        // equality anchor: absent key ok, present must match
        assert!(!pass(
            pod.clone(),
            json!({"spec": {"containers": [{"=(securityContext)": {"=(privileged)": false}}]}})
        ));
        assert!(pass(
            json!({"spec": {"containers": [{"name": "x"}]}}),
            json!({"spec": {"containers": [{"=(securityContext)": {"=(privileged)": false}}]}})
        ));
        // negation anchor
        assert!(matches!(
            match_pattern(
                &json!({"spec": {"hostNetwork": true}}),
                &json!({"spec": {"X(hostNetwork)": "null"}})
            ),
            PatternResult::Fail { .. }
        ));
        assert!(pass(
            json!({"spec": {}}),
            json!({"spec": {"X(hostNetwork)": "null"}})
        ));
        // existence anchor
        assert!(pass(
            pod.clone(),
            json!({"spec": {"^(containers)": [{"image": "redis*"}]}})
        ));
        assert!(!pass(
            pod.clone(),
            json!({"spec": {"^(containers)": [{"image": "busybox*"}]}})
        ));
        // global anchor: applies only when any container uses nginx
        assert!(matches!(
            match_pattern(
                &json!({"spec": {"containers": [{"image": "redis"}], "x": 1}}),
                &json!({"spec": {"containers": [{"<(image)": "nginx*"}], "x": 2}})
            ),
            PatternResult::Skip(_)
        ));
        assert!(!pass(
            pod,
            json!({"spec": {"containers": [{"<(image)": "nginx*"}], "x": 2}})
        ));
    }

    #[test]
    fn missing_fields() {
        assert!(!pass(
            json!({"metadata": {}}),
            json!({"metadata": {"labels": {"app": "?*"}}})
        ));
        assert!(pass(
            json!({"metadata": {"labels": {"app": "x"}}}),
            json!({"metadata": {"labels": {"app": "?*"}}})
        ));
        assert!(!pass(
            json!({"metadata": {"labels": {}}}),
            json!({"metadata": {"labels": {"app": "*"}}})
        ));
        assert!(pass(
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}),
            json!({"metadata": {"labels": {"app.kubernetes.io/*": "?*"}}})
        ));
    }
}
