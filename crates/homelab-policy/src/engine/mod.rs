//! The policy engine: Kyverno policies compiled once, then evaluated against any number of
//! resources.
//!
//! [`CompiledPolicy::compile`] does the per-policy work up front: it classifies the kind,
//! expands autogen rules, notes which rules read variables, records each rule's failure
//! action, works out which resource kinds the policy can select at all, and parses every
//! CEL and JMESPath expression it holds (into the process-wide program caches, so that no
//! evaluation parses again). [`PolicySet`] indexes compiled policies by those kinds, so a
//! resource meets only the policies that can select it, and evaluates resources in
//! parallel.
//!
//! Inside: [`dispatch`] sends each policy kind to its evaluator and runs the Kyverno rule
//! loop (mutate first, then validate the mutated resource); [`context`] builds the JMESPath
//! variable context of a rule (request, context entries, values from a Values file,
//! PolicyExceptions); [`validation`] holds the validate handlers (pattern, anyPattern,
//! deny, foreach) and generate.

mod context;
mod dispatch;
mod validation;

use crate::context::EvalContext;
use crate::response::PolicyResponse;
use crate::values_file::ValuesFile;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub use context::base_vars;
pub use dispatch::PolicyKind;

/// Everything evaluation needs besides policy and resource.
pub struct Request<'a> {
    pub ctx: &'a EvalContext,
    pub exceptions: &'a [Value],
    pub values: &'a ValuesFile,
}

/// `autogen-foo` / `autogen-cronjob-foo` -> `foo`.
pub fn strip_autogen(rule: &str) -> &str {
    rule.strip_prefix("autogen-cronjob-")
        .or_else(|| rule.strip_prefix("autogen-"))
        .unwrap_or(rule)
}

/// Is this document a policy kind this engine knows?
pub fn is_policy(doc: &Value) -> bool {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    (matches!(kind, "ClusterPolicy" | "Policy") && api.starts_with("kyverno.io/"))
        || crate::cel_kinds::is_validating_policy(doc)
        || (api.starts_with("policies.kyverno.io/")
            || api.starts_with("admissionregistration.k8s.io/"))
            && kind.ends_with("Policy")
}

pub fn is_exception(doc: &Value) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some("PolicyException")
}

/// The policy's display name: `name`, or `namespace/name` for namespaced `Policy`.
pub fn policy_name(policy: &Value) -> String {
    let name = policy
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ns = policy
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if policy.get("kind").and_then(Value::as_str) == Some("Policy") && !ns.is_empty() {
        format!("{ns}/{name}")
    } else {
        name.to_string()
    }
}

/// Evaluate `policy` against `resource`, compiling it for this one call. `None` when the
/// policy kind is not one this engine evaluates (or a rule-less CEL policy that does not
/// match). Compile once with [`CompiledPolicy::compile`] to evaluate many resources.
pub fn evaluate(policy: &Value, resource: &Value, req: &Request<'_>) -> Option<PolicyResponse> {
    CompiledPolicy::compile(policy).evaluate(resource, req)
}

/// The failure action (`Enforce` or `Audit`) of `rule` of `policy`: the rule's own
/// `validate.failureAction`, else the policy's, else `Audit`.
pub fn failure_action(policy: &Value, rule: &str) -> String {
    CompiledPolicy::compile(policy)
        .failure_action(rule)
        .to_string()
}

/// One rule of a ClusterPolicy/Policy after autogen, with what evaluation needs to know
/// about it computed once.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) rule: Value,
    pub(crate) name: String,
    /// The rule reads variables (so the JMESPath context must be built).
    pub(crate) needs_vars: bool,
    pub(crate) is_mutate: bool,
    pub(crate) is_generate: bool,
    /// The `validate` block holds `{{ }}` (else its patterns are matched as written).
    pub(crate) pattern_has_vars: bool,
    failure_action: String,
    /// `match` and `exclude`, read once.
    pub(crate) match_block: crate::matching::MatchBlock,
    pub(crate) exclude_block: Option<crate::matching::MatchBlock>,
    /// The rule's blocks, looked up once (every evaluation reads them).
    pub(crate) blocks: RuleBlocks,
}

/// The blocks of a rule that evaluation reads, copied out of the rule once.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleBlocks {
    pub(crate) validate: Option<Value>,
    pub(crate) mutate: Option<Value>,
    pub(crate) generate: Option<Value>,
    pub(crate) verify_images: bool,
    pub(crate) context: Option<Value>,
    pub(crate) preconditions: Option<Value>,
}

/// A policy prepared once for evaluation against many resources.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    document: Value,
    kind: PolicyKind,
    /// `metadata.name`.
    name: String,
    /// `name`, or `namespace/name` for a namespaced `Policy`.
    display_name: String,
    rules: Vec<CompiledRule>,
    /// The resource kinds the policy can select; `None` = any kind (or not known).
    selectable_kinds: Option<HashSet<String>>,
    /// `policies.kyverno.io/scored: "false"`: failures are reported as warnings.
    unscored: bool,
    policy_failure_action: String,
}

fn mentions_variables(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(a) => a.iter().any(mentions_variables),
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.contains("{{") || mentions_variables(x)),
        _ => false,
    }
}

impl CompiledPolicy {
    /// Prepare `policy` (any document; kinds this engine does not evaluate compile to a
    /// policy that matches nothing).
    pub fn compile(policy: &Value) -> CompiledPolicy {
        let kind = PolicyKind::of(policy);
        let policy_failure_action = policy
            .pointer("/spec/validationFailureAction")
            .or_else(|| policy.pointer("/spec/failureAction"))
            .and_then(Value::as_str)
            .unwrap_or("Audit")
            .to_string();
        let rules: Vec<CompiledRule> = if kind.is_kyverno() {
            crate::autogen::expand_rules(policy)
                .into_iter()
                .map(|rule| compile_rule(rule, &policy_failure_action))
                .collect()
        } else {
            Vec::new()
        };
        let selectable_kinds = if kind.is_kyverno() {
            selectable_kinds(rules.iter().map(|r| &r.rule))
        } else {
            None
        };
        warm_programs(policy);
        CompiledPolicy {
            kind,
            name: policy
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            display_name: policy_name(policy),
            rules,
            selectable_kinds,
            unscored: policy
                .pointer("/metadata/annotations/policies.kyverno.io~1scored")
                .and_then(Value::as_str)
                == Some("false"),
            policy_failure_action,
            document: policy.clone(),
        }
    }

    /// The policy document as written.
    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `name`, or `namespace/name` for a namespaced `Policy` (as reports name it).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Number of rules after autogen (at least 1: rule-less kinds count as one rule).
    pub fn rule_count(&self) -> usize {
        self.rules.len().max(1)
    }

    /// Whether the policy can select a resource of `kind` (false only when certain).
    pub fn may_select(&self, kind: &str) -> bool {
        self.selectable_kinds
            .as_ref()
            .is_none_or(|kinds| kinds.contains(kind))
    }

    /// The failure action (`Enforce` or `Audit`) of the rule named `rule`.
    pub fn failure_action(&self, rule: &str) -> &str {
        self.rules
            .iter()
            .find(|r| r.name == rule)
            .map(|r| r.failure_action.as_str())
            .unwrap_or(&self.policy_failure_action)
    }

    /// Whether the rule named `rule` creates or changes objects (`generate`, `mutate`)
    /// rather than judging the resource: its outcome depends on what the cluster holds at
    /// admission (clone sources, server-set fields), so an offline check cannot judge it.
    pub fn rule_creates_or_changes(&self, rule: &str) -> bool {
        self.rules
            .iter()
            .find(|r| r.name == rule)
            .is_some_and(|r| r.is_generate || r.is_mutate)
    }

    /// Evaluate against one resource. `None` when the policy kind is not one this engine
    /// evaluates (or a rule-less CEL policy that does not select the resource).
    pub fn evaluate(&self, resource: &Value, req: &Request<'_>) -> Option<PolicyResponse> {
        dispatch::evaluate(self, resource, req)
    }
}

fn compile_rule(rule: Value, policy_failure_action: &str) -> CompiledRule {
    let validate = rule.get("validate");
    let needs_vars = mentions_variables(&rule)
        || ["context", "preconditions"]
            .iter()
            .any(|k| rule.get(*k).is_some())
        || ["deny", "foreach"]
            .iter()
            .any(|k| validate.and_then(|v| v.get(*k)).is_some())
        || rule.get("mutate").is_some()
        || rule.get("generate").is_some();
    // Over the whole block: `foreach` entries carry patterns of their own.
    let pattern_has_vars = validate.is_some_and(mentions_variables);
    let failure_action = validate
        .and_then(|v| v.get("failureAction"))
        .and_then(Value::as_str)
        .unwrap_or(policy_failure_action)
        .to_string();
    let block = |key: &str| rule.get(key).cloned();
    let blocks = RuleBlocks {
        validate: block("validate"),
        mutate: block("mutate"),
        generate: block("generate"),
        verify_images: rule.get("verifyImages").is_some(),
        context: block("context"),
        preconditions: block("preconditions"),
    };
    CompiledRule {
        blocks,
        match_block: crate::matching::MatchBlock::new(rule.get("match").unwrap_or(&Value::Null)),
        exclude_block: rule.get("exclude").map(crate::matching::MatchBlock::new),
        name: rule
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        needs_vars,
        is_mutate: rule.get("mutate").is_some(),
        is_generate: rule.get("generate").is_some(),
        pattern_has_vars,
        failure_action,
        rule,
    }
}

/// The resource kinds a set of (autogen-expanded) rules can select, when that is certain:
/// every resource filter of every rule's `match` names its kinds, without wildcards.
/// `None` = could select anything.
fn selectable_kinds<'a>(rules: impl Iterator<Item = &'a Value>) -> Option<HashSet<String>> {
    fn filter_kinds(filter: &Value, out: &mut HashSet<String>) -> Option<()> {
        let kinds = filter.pointer("/resources/kinds")?.as_array()?;
        if kinds.is_empty() {
            return None;
        }
        for k in kinds {
            let (_, _, kind, _) = crate::matching::parse_kind_selector(k.as_str()?);
            if kind.is_empty() || crate::scalars::has_wildcard(kind) {
                return None;
            }
            out.insert(kind.to_string());
        }
        Some(())
    }
    let mut kinds = HashSet::new();
    for rule in rules {
        let m = rule.get("match")?;
        let listed = |key: &str| {
            m.get(key)
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
        };
        if let Some(any) = listed("any") {
            // Each alternative must name its kinds.
            for f in any {
                filter_kinds(f, &mut kinds)?;
            }
        } else if let Some(all) = listed("all") {
            // Every filter must hold: one that names kinds bounds the whole rule.
            let mut bounded = false;
            for f in all {
                let mut one = HashSet::new();
                if filter_kinds(f, &mut one).is_some() {
                    kinds.extend(one);
                    bounded = true;
                    break;
                }
            }
            if !bounded {
                return None;
            }
        } else {
            filter_kinds(m, &mut kinds)?;
        }
    }
    Some(kinds)
}

/// Parse every CEL expression and JMESPath `{{ }}` body of the policy into the process-wide
/// program caches, so evaluations find them compiled. Errors are not reported here: the
/// evaluation that uses a broken expression reports it where it applies.
fn warm_programs(policy: &Value) {
    fn walk(v: &Value, key: &str) {
        match v {
            Value::String(s) => {
                if is_cel_key(key) {
                    let _ = homelab_cel::compile_cached(s);
                }
                if s.contains("{{") {
                    for (start, end) in crate::variables::find_vars(s) {
                        let _ = crate::jmes::check_syntax(&s[start + 2..end - 2]);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, key)),
            Value::Object(m) => m.iter().for_each(|(k, x)| walk(x, k)),
            _ => {}
        }
    }
    fn is_cel_key(key: &str) -> bool {
        matches!(key, "expression" | "messageExpression" | "valueExpression")
    }
    walk(policy, "");
}

/// Compiled policies indexed by the resource kinds they can select.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<CompiledPolicy>,
    /// Per kind named by some policy: the policies that may select it, in order.
    by_kind: HashMap<String, Vec<usize>>,
    /// The policies that may select any kind, in order (for kinds no policy names).
    any_kind: Vec<usize>,
}

impl PolicySet {
    /// Compile `policies` (in this order; results keep it).
    pub fn compile<'a>(policies: impl IntoIterator<Item = &'a Value>) -> PolicySet {
        let docs: Vec<&Value> = policies.into_iter().collect();
        PolicySet::new(
            docs.par_iter()
                .map(|p| CompiledPolicy::compile(p))
                .collect(),
        )
    }

    pub fn new(policies: Vec<CompiledPolicy>) -> PolicySet {
        let any_kind: Vec<usize> = policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.selectable_kinds.is_none())
            .map(|(i, _)| i)
            .collect();
        let mut by_kind: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in policies.iter().enumerate() {
            for k in p.selectable_kinds.iter().flatten() {
                by_kind.entry(k.clone()).or_default().push(i);
            }
        }
        for list in by_kind.values_mut() {
            list.extend(&any_kind);
            list.sort_unstable();
            list.dedup();
        }
        PolicySet {
            policies,
            by_kind,
            any_kind,
        }
    }

    pub fn policies(&self) -> &[CompiledPolicy] {
        &self.policies
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Indexes of the policies that may select a resource of `kind`, in order.
    pub fn candidates(&self, kind: &str) -> &[usize] {
        self.by_kind.get(kind).unwrap_or(&self.any_kind)
    }

    /// Every response of every policy for `resource`, as `(policy index, response)`.
    pub fn evaluate(&self, resource: &Value, req: &Request<'_>) -> Vec<(usize, PolicyResponse)> {
        let kind = resource.get("kind").and_then(Value::as_str).unwrap_or("");
        // One scope for all policies: the resource's variable context and CEL bindings
        // are built at most once, whichever policies read them.
        let scope = context::Scope::new(resource, req.ctx);
        self.candidates(kind)
            .iter()
            .filter_map(|&i| Some((i, dispatch::evaluate_in(&self.policies[i], &scope, req)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests;
