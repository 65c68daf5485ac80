//! CEL rules of CRD schemas (`x-kubernetes-validations`), evaluated with the project's CEL
//! (`homelab-cel`) the way the API server evaluates them when an object is created: `self` is
//! the value at the schema node, a rule that yields `false` is a finding. As there, a
//! property whose name is a CEL keyword or holds `.`, `-`, `/` or `__` is read under its
//! escaped name (`self.__namespace__`, `self.foo__dash__bar`).
//!
//! What is left out, so that no finding is false: transition rules (they read `oldSelf`, which
//! only exists on update), rules that do not compile here (a function this CEL lacks), and
//! rules whose evaluation fails (the value lacks a field the rule reads). Each evaluation is
//! bounded by an estimated cost: `nodes(self) * longest_collection(self) ^ nesting`, where
//! nesting is how deep the rule's comprehensions (`all`, `exists`, `map`, `filter`, ...) nest.
//! A rule above [`RULE_COST_LIMIT`] is skipped, as is every rule once an object has spent
//! [`OBJECT_COST_LIMIT`]: a hostile CRD or object cannot make validation stall.

use homelab_cel::lexical::{code_chars, identifiers};
use homelab_cel::{Activation, Program};
use serde_json::Value;
use std::sync::Arc;

/// Largest estimated cost of one evaluation (the API server's per-call limit is 1,000,000
/// cost units; this estimate is an upper bound of the same order).
pub const RULE_COST_LIMIT: u64 = 1_000_000;
/// Largest estimated cost of all the rules evaluated on one object.
pub const OBJECT_COST_LIMIT: u64 = 10_000_000;

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    program: Arc<Program>,
    message: Option<String>,
    message_expression: Option<Arc<Program>>,
    /// Relative JSON pointer (from `fieldPath`) of the field the finding is about.
    field_pointer: Option<String>,
    nesting: u32,
    /// The escaped property names the rule reads (`__namespace__`, `foo__dash__bar`).
    escaped_names: Vec<String>,
}

/// Words CEL reserves: the API server exposes a property of such a name as `__{name}__`.
const CEL_RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// The name under which a CRD rule reads property `name`, when it differs from `name`: a
/// CEL keyword becomes `__{name}__`; in a name of letters, digits and `_.-/`, `__` becomes
/// `__underscores__`, `.` `__dot__`, `-` `__dash__` and `/` `__slash__` (the API server's
/// escaping of property names).
fn escaped_property(name: &str) -> Option<String> {
    if CEL_RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c);
    let escapable = name
        .chars()
        .next()
        .is_some_and(|c| !c.is_ascii_digit() && allowed(c))
        && name.chars().all(allowed);
    if !escapable {
        return None;
    }
    let escaped = name
        .replace("__", "__underscores__")
        .replace('.', "__dot__")
        .replace('-', "__dash__")
        .replace('/', "__slash__");
    (escaped != name).then_some(escaped)
}

/// `value` with each property that `names` reads under its escaped name also present under
/// that name (the original stays: a map's keys are read as they are).
fn with_escaped_names(value: &Value, names: &[String]) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                let v = with_escaped_names(v, names);
                if let Some(escaped) = escaped_property(k).filter(|e| names.contains(e)) {
                    if !map.contains_key(&escaped) {
                        out.insert(escaped, v.clone());
                    }
                }
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| with_escaped_names(v, names)).collect())
        }
        other => other.clone(),
    }
}

/// The rules of one `x-kubernetes-validations` list that can be evaluated on create.
pub fn compile_rules(rules: &[Value]) -> Vec<Rule> {
    let mut out = Vec::new();
    for r in rules {
        let Some(source) = r.get("rule").and_then(Value::as_str) else {
            continue;
        };
        if mentions_old_self(source)
            || r.get("optionalOldSelf").and_then(Value::as_bool) == Some(true)
        {
            continue;
        }
        let Ok(program) = homelab_cel::compile_cached(source) else {
            continue;
        };
        let message_expression = r
            .get("messageExpression")
            .and_then(Value::as_str)
            .and_then(|m| homelab_cel::compile_cached(m).ok());
        out.push(Rule {
            program,
            message: r.get("message").and_then(Value::as_str).map(String::from),
            message_expression,
            field_pointer: r
                .get("fieldPath")
                .and_then(Value::as_str)
                .and_then(field_path_pointer),
            nesting: comprehension_nesting(source),
            escaped_names: identifiers(source)
                .filter(|(_, id, _)| id.contains("__"))
                .map(|(_, id, _)| id.to_string())
                .collect(),
        });
    }
    out
}

/// Whether `oldSelf` appears as an identifier (outside string literals).
fn mentions_old_self(source: &str) -> bool {
    identifiers(source).any(|(_, id, _)| id == "oldSelf")
}

const COMPREHENSIONS: &[&str] = &[
    "all",
    "exists",
    "exists_one",
    "existsOne",
    "map",
    "filter",
    "sortBy",
];

/// How deep comprehension macros nest in `source` (0 when there are none). An over-estimate
/// is fine: it only makes the cost bound more careful.
pub fn comprehension_nesting(source: &str) -> u32 {
    let calls: Vec<usize> = identifiers(source)
        .filter(|(_, id, call)| *call && COMPREHENSIONS.contains(id))
        .map(|(start, id, _)| start + id.len())
        .collect();
    // Nesting of a call = number of enclosing comprehension argument lists.
    let mut stack: Vec<bool> = Vec::new();
    let mut open = 0u32;
    let mut max = 0;
    for (i, c) in code_chars(source) {
        match c {
            '(' => {
                // `name (` with only spaces between: the `(` of a call named before it.
                let before = source[..i].trim_end().len();
                let comprehension = calls.contains(&before);
                if comprehension {
                    open += 1;
                    max = max.max(open);
                }
                stack.push(comprehension);
            }
            ')' if stack.pop() == Some(true) => open = open.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// `.spec.foo`, `.spec['a.b']`, `.items[0]` as a JSON pointer (`/spec/foo`, ...). `None` for
/// forms this does not understand (the finding then stays at the rule's own node).
fn field_path_pointer(path: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = path.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return None;
            }
            push_token(&mut out, name);
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            push_token(&mut out, &r[..end]);
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let index = &r[..end];
            if !index.bytes().all(|b| b.is_ascii_digit()) || index.is_empty() {
                return None;
            }
            push_token(&mut out, index);
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

fn push_token(out: &mut String, token: &str) {
    out.push('/');
    out.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

/// (number of nodes, length of the longest array or map) of `v`.
fn shape(v: &Value) -> (u64, u64) {
    let mut nodes = 0u64;
    let mut longest = 0u64;
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        nodes += 1;
        match x {
            Value::Array(a) => {
                longest = longest.max(a.len() as u64);
                stack.extend(a);
            }
            Value::Object(m) => {
                longest = longest.max(m.len() as u64);
                stack.extend(m.values());
            }
            Value::String(s) => nodes += s.len() as u64 / 64,
            _ => {}
        }
    }
    (nodes, longest)
}

/// What one rule says about a value.
pub enum Outcome {
    Passed,
    /// The rule yields false: the message, and the pointer (relative to the node) to report.
    Failed {
        message: String,
        pointer: Option<String>,
    },
    /// Not evaluated or not decidable (too costly, evaluation error, non-bool result).
    Skipped,
}

impl Rule {
    /// Evaluates the rule against `value`, charging its estimated cost to `budget`.
    pub fn evaluate(&self, value: &Value, budget: &mut u64) -> Outcome {
        let (nodes, longest) = shape(value);
        let cost = (0..self.nesting).fold(nodes.max(1), |c, _| c.saturating_mul(longest.max(1)));
        if cost > RULE_COST_LIMIT || cost > *budget {
            return Outcome::Skipped;
        }
        *budget -= cost;
        let mut act = Activation::new();
        if self.escaped_names.is_empty() {
            act.bind_json("self", value);
        } else {
            act.bind_json("self", &with_escaped_names(value, &self.escaped_names));
        }
        match self.program.eval_bool(&act) {
            Ok(true) => Outcome::Passed,
            Ok(false) => {
                let message = self
                    .message_expression
                    .as_ref()
                    .and_then(|m| m.eval_string(&act).ok())
                    .filter(|m| !m.trim().is_empty())
                    .or_else(|| self.message.clone())
                    .unwrap_or_else(|| format!("failed rule: {}", self.program.source()));
                Outcome::Failed {
                    message,
                    pointer: self.field_pointer.clone(),
                }
            }
            Err(_) => Outcome::Skipped,
        }
    }

    pub fn source(&self) -> &str {
        self.program.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(r: Value) -> Rule {
        let mut rules = compile_rules(&[r]);
        assert_eq!(rules.len(), 1);
        rules.remove(0)
    }

    #[test]
    fn false_rule_is_a_finding_with_its_message() {
        let r = rule(
            json!({"rule": "self.min <= self.max", "message": "min must not exceed max", "fieldPath": ".min"}),
        );
        let mut budget = OBJECT_COST_LIMIT;
        assert!(matches!(
            r.evaluate(&json!({"min": 1, "max": 2}), &mut budget),
            Outcome::Passed
        ));
        match r.evaluate(&json!({"min": 3, "max": 2}), &mut budget) {
            Outcome::Failed { message, pointer } => {
                assert_eq!(message, "min must not exceed max");
                assert_eq!(pointer.as_deref(), Some("/min"));
            }
            _ => panic!("expected a failure"),
        }
    }

    #[test]
    fn message_expression_and_default_message() {
        let r = rule(
            json!({"rule": "self.size() < 3", "messageExpression": "'has ' + string(self.size()) + ' items'"}),
        );
        let mut budget = OBJECT_COST_LIMIT;
        match r.evaluate(&json!([1, 2, 3]), &mut budget) {
            Outcome::Failed { message, .. } => assert_eq!(message, "has 3 items"),
            _ => panic!(),
        }
        let r = rule(json!({"rule": "self != 'x'"}));
        match r.evaluate(&json!("x"), &mut budget) {
            Outcome::Failed { message, .. } => assert_eq!(message, "failed rule: self != 'x'"),
            _ => panic!(),
        }
    }

    #[test]
    fn transition_and_uncompilable_rules_are_left_out() {
        assert!(compile_rules(&[json!({"rule": "self == oldSelf"})]).is_empty());
        assert!(compile_rules(&[json!({"rule": "self.x", "optionalOldSelf": true})]).is_empty());
        assert!(compile_rules(&[json!({"rule": "self.(("})]).is_empty());
        // `oldSelf` inside a string is not a transition rule.
        assert_eq!(
            compile_rules(&[json!({"rule": "self != 'oldSelf'"})]).len(),
            1
        );
    }

    #[test]
    fn evaluation_errors_are_not_findings() {
        let r = rule(json!({"rule": "self.missing == 1"}));
        let mut budget = OBJECT_COST_LIMIT;
        assert!(matches!(
            r.evaluate(&json!({}), &mut budget),
            Outcome::Skipped
        ));
    }

    /// A property named like a CEL keyword (`namespace`) or with `-` in its name is read
    /// under its escaped name, as the API server exposes it; map keys stay readable as they
    /// are.
    #[test]
    fn escaped_property_names_are_read() {
        let r = rule(
            json!({"rule": "has(self.name) && has(self.__namespace__)", "message": "both must be set"}),
        );
        let mut budget = OBJECT_COST_LIMIT;
        assert!(matches!(
            r.evaluate(
                &json!({"name": "snap", "namespace": "default"}),
                &mut budget
            ),
            Outcome::Passed
        ));
        assert!(matches!(
            r.evaluate(&json!({"name": "snap"}), &mut budget),
            Outcome::Failed { .. }
        ));
        let r = rule(
            json!({"rule": "self.spec.max__dash__size >= 1 && self.labels['app.kubernetes.io/name'] == 'x'"}),
        );
        assert!(matches!(
            r.evaluate(
                &json!({"spec": {"max-size": 2}, "labels": {"app.kubernetes.io/name": "x"}}),
                &mut budget
            ),
            Outcome::Passed
        ));
        assert_eq!(
            escaped_property("a__b.c/d-e").as_deref(),
            Some("a__underscores__b__dot__c__slash__d__dash__e")
        );
        assert_eq!(escaped_property("name"), None);
        assert_eq!(escaped_property("1st"), None);
    }

    #[test]
    fn nesting_counts_comprehensions_only() {
        assert_eq!(comprehension_nesting("self.a == 1 && size(self.b) > 0"), 0);
        assert_eq!(comprehension_nesting("self.all(x, x > 0)"), 1);
        assert_eq!(
            comprehension_nesting("self.all(x, self.exists(y, y == x)) && self.map(z, z)"),
            2
        );
        assert_eq!(comprehension_nesting("self.all(x, 'exists(' == x)"), 1);
    }

    #[test]
    fn costly_rules_are_skipped_and_the_object_budget_is_bounded() {
        let r = rule(json!({"rule": "self.all(a, self.all(b, self.all(c, a + b + c >= 0)))"}));
        let big: Vec<Value> = (0..200).map(|i| json!(i)).collect();
        let mut budget = OBJECT_COST_LIMIT;
        assert!(matches!(
            r.evaluate(&Value::Array(big), &mut budget),
            Outcome::Skipped
        ));
        assert_eq!(budget, OBJECT_COST_LIMIT);
        let cheap = rule(json!({"rule": "self.size() >= 0"}));
        let mut small = 5;
        assert!(matches!(
            cheap.evaluate(&json!([1, 2, 3, 4, 5, 6]), &mut small),
            Outcome::Skipped
        ));
    }

    #[test]
    fn field_paths_become_pointers() {
        assert_eq!(
            field_path_pointer(".spec.foo").as_deref(),
            Some("/spec/foo")
        );
        assert_eq!(
            field_path_pointer(".a['b.c'][2]").as_deref(),
            Some("/a/b.c/2")
        );
        assert_eq!(field_path_pointer(".a[*]"), None);
    }
}
