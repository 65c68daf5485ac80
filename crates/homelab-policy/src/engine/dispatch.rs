//! Which evaluator a policy goes to, and the rule loop of Kyverno's own kinds
//! (ClusterPolicy/Policy): match/exclude, PolicyExceptions, context entries and
//! preconditions per rule, mutate rules first, then the other rules against the mutated
//! resource.

use super::context::{self, Scope};
use super::validation::{generate_resource, Validator};
use super::{CompiledPolicy, CompiledRule, Request};
use crate::conditions;
use crate::matching::Subject;
use crate::response::{PolicyResponse, RuleResponse, Status};
use crate::variables::{Mode, Vars};
use serde_json::{Map, Value};

/// The policy kinds this engine tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Kyverno `ClusterPolicy`.
    ClusterPolicy,
    /// Kyverno `Policy` (namespaced).
    Policy,
    /// The CEL policy kinds (ValidatingPolicy, MutatingPolicy, GeneratingPolicy,
    /// DeletingPolicy, ImageValidatingPolicy, their namespaced variants, and Kubernetes'
    /// ValidatingAdmissionPolicy and MutatingAdmissionPolicy): see [`crate::cel_kinds::by_kind`].
    Cel,
    /// A policy document this engine does not evaluate (it yields no response).
    Unsupported,
}

impl PolicyKind {
    pub fn of(doc: &Value) -> PolicyKind {
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        match kind {
            "ClusterPolicy" if api.starts_with("kyverno.io/") => PolicyKind::ClusterPolicy,
            "Policy" if api.starts_with("kyverno.io/") => PolicyKind::Policy,
            _ if crate::cel_kinds::by_kind::is_cel_policy(doc) => PolicyKind::Cel,
            _ => PolicyKind::Unsupported,
        }
    }

    /// Kyverno's rule-based kinds (ClusterPolicy, Policy).
    pub fn is_kyverno(self) -> bool {
        matches!(self, PolicyKind::ClusterPolicy | PolicyKind::Policy)
    }
}

fn empty_response(policy: &CompiledPolicy, resource: &Value) -> PolicyResponse {
    // Field by field: a JSON pointer allocates for each of its parts.
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let meta = |key: &str| text(resource.get("metadata").and_then(|m| m.get(key)));
    PolicyResponse {
        policy: policy.display_name.clone(),
        api_version: text(resource.get("apiVersion")),
        kind: text(resource.get("kind")),
        namespace: meta("namespace"),
        name: meta("name"),
        rules: Vec::new(),
        patched_resource: None,
        generated: Vec::new(),
    }
}

/// Evaluate a compiled policy against `resource`.
pub(super) fn evaluate(
    policy: &CompiledPolicy,
    resource: &Value,
    req: &Request<'_>,
) -> Option<PolicyResponse> {
    evaluate_in(policy, &Scope::new(resource, req.ctx), req)
}

/// [`evaluate`] with the resource's variable context shared with other policies.
pub(super) fn evaluate_in(
    policy: &CompiledPolicy,
    scope: &Scope<'_>,
    req: &Request<'_>,
) -> Option<PolicyResponse> {
    let resource = scope.resource();
    let doc = &policy.document;
    let ctx = req.ctx;
    let mut out = empty_response(policy, resource);
    match policy.kind {
        PolicyKind::ClusterPolicy | PolicyKind::Policy => {}
        PolicyKind::Cel => {
            let r = crate::cel_kinds::by_kind::evaluate(doc, resource, ctx, req.exceptions)?;
            out.rules = r.rules;
            out.patched_resource = r.patched;
            out.generated = r
                .generated
                .into_iter()
                .map(|g| (out.policy.clone(), g))
                .collect();
            return Some(out);
        }
        PolicyKind::Unsupported => return None,
    }
    if policy.kind == PolicyKind::Policy {
        let pns = doc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        if !out.namespace.is_empty() && pns != out.namespace {
            return Some(out);
        }
    }
    let rules = &policy.rules;
    // Kyverno mutates first, then validates the mutated resource.
    let has_mutate = rules.iter().any(|r| r.is_mutate);
    let mut current: Option<Value> = None;
    for rule in rules.iter().filter(|r| r.is_mutate) {
        let patched_scope;
        let rule_scope = match &current {
            Some(c) => {
                patched_scope = Scope::new(c, ctx);
                &patched_scope
            }
            None => scope,
        };
        if let Some((r, patched)) = evaluate_rule(policy, rule, rule_scope, req) {
            if let Some(p) = patched {
                current = Some(p);
            }
            out.rules.push(r);
        }
    }
    let mutated_scope = current.as_ref().map(|c| Scope::new(c, ctx));
    let target = mutated_scope.as_ref().unwrap_or(scope);
    for rule in rules.iter().filter(|r| !r.is_mutate) {
        if let Some((mut r, made)) = evaluate_rule(policy, rule, target, req) {
            if let (Some(m), true) = (made, rule.is_generate) {
                match (m.get("kind").and_then(Value::as_str), m.get("items")) {
                    // cloneList: one generated resource per item
                    (Some("List"), Some(Value::Array(items))) => out
                        .generated
                        .extend(items.iter().map(|i| (r.rule.clone(), i.clone()))),
                    _ => out.generated.push((r.rule.clone(), m)),
                }
            }
            if policy.unscored && r.status == Status::Fail {
                r.status = Status::Warn;
            }
            out.rules.push(r);
        }
    }
    if has_mutate {
        out.patched_resource = current;
    }
    Some(out)
}

/// One rule against the resource: `None` when the rule does not apply to it; else its
/// response and, for mutate and generate rules, the resource it produced.
fn evaluate_rule(
    policy: &CompiledPolicy,
    compiled: &CompiledRule,
    scope: &Scope<'_>,
    req: &Request<'_>,
) -> Option<(RuleResponse, Option<Value>)> {
    let rule = &compiled.rule;
    let name = compiled.name.as_str();
    let resource = scope.resource();
    let subj = scope.subject();
    if !compiled.match_block.selects(subj) {
        return None;
    }
    if let Some(x) = &compiled.exclude_block {
        if x.selects(subj) {
            return None;
        }
    }
    let respond = |status, msg: String| Some((RuleResponse::new(name, status, msg), None));
    let blocks = &compiled.blocks;
    let mutate = blocks.mutate.as_ref();
    let generate = blocks.generate.as_ref();
    let Some(validate) = blocks.validate.as_ref().or(mutate).or(generate) else {
        let what = if blocks.verify_images {
            "verifyImages"
        } else {
            "unknown"
        };
        return respond(
            Status::Error,
            format!("{what} rules are not supported by this engine yet"),
        );
    };
    // Values from the Values file for this rule.
    let (provided, rule_entry) = if req.values.is_empty_for(&policy.name) {
        (Map::new(), None)
    } else {
        let mut provided = req.values.for_resource(
            &policy.name,
            resource
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        let rule_entry = req.values.rule_entry(&policy.name, name);
        if let Some(Value::Object(v)) = rule_entry.and_then(|r| r.get("values")) {
            provided.extend(v.clone());
        }
        (provided, rule_entry)
    };
    let ctx_owned;
    let ctx = if provided.is_empty() {
        req.ctx
    } else {
        let mut c = req.ctx.clone();
        if let Some(op) = provided.get("request.operation").and_then(Value::as_str) {
            c.operation = op.to_string();
        }
        for (k, v) in &provided {
            c.values.insert(k.clone(), v.clone());
        }
        ctx_owned = c;
        &ctx_owned
    };
    // Building the JMESPath context converts the resource: only for rules that read it.
    let mut vars = if provided.is_empty() {
        if compiled.needs_vars || !req.exceptions.is_empty() {
            scope.base_vars()
        } else {
            Vars::new(Map::new())
        }
    } else {
        context::base_vars(resource, ctx)
    };
    // The subject with this rule's context (which a Values file may change): only
    // PolicyExceptions read it.
    let subj = (!req.exceptions.is_empty()).then(|| Subject::new(resource, ctx));
    if let Some(subj) = &subj {
        for exc in req.exceptions {
            if exc.pointer("/spec/podSecurity").is_some() && validate.get("podSecurity").is_some() {
                continue;
            }
            if context::exception_applies(exc, &policy.display_name, name, subj, &vars) {
                return respond(
                    Status::Skip,
                    "rule is skipped due to policy exception".into(),
                );
            }
        }
    }
    if let Err(e) = context::load_context(blocks.context.as_ref(), &mut vars, &provided, ctx) {
        return respond(Status::Error, format!("failed to load context: {e}"));
    }
    if let Some(pre) = &blocks.preconditions {
        match conditions::evaluate(pre, &vars, Mode::Lenient) {
            Ok(true) => {}
            Ok(false) => return respond(Status::Skip, "preconditions not met".into()),
            Err(e) => {
                return respond(
                    Status::Error,
                    format!("failed to evaluate preconditions: {e}"),
                )
            }
        }
    }
    if let Some(ps) = validate.get("podSecurity") {
        let mut excludes: Vec<Value> = match ps.get("exclude") {
            Some(Value::Array(e)) => e.clone(),
            _ => Vec::new(),
        };
        let (mut status, mut msg) = crate::pss::validate(ps, &excludes, resource);
        // Exceptions' podSecurity exclusions apply to a failing pod: when they exempt
        // every violation, the rule is skipped because of the exceptions.
        if status == Status::Fail {
            let mut keys = Vec::new();
            for exc in req.exceptions {
                let Some(subj) = &subj else { break };
                if let Some(Value::Array(extra)) = exc.pointer("/spec/podSecurity") {
                    if context::exception_applies(exc, &policy.display_name, name, subj, &vars) {
                        excludes.extend(extra.iter().cloned());
                        keys.push(context::exception_key(exc));
                    }
                }
            }
            if !keys.is_empty() {
                if let (Status::Pass, _) = crate::pss::validate(ps, &excludes, resource) {
                    (status, msg) = (
                        Status::Skip,
                        format!(
                            "rule is skipped due to policy exceptions {}",
                            keys.join(", ")
                        ),
                    );
                }
            }
        }
        return respond(status, msg);
    }
    if validate.get("cel").is_some() {
        let response = if provided.is_empty() {
            crate::cel_kinds::validate_rule_with(rule, scope.cel_rule_bindings(), ctx)
        } else {
            crate::cel_kinds::validate_rule(rule, resource, ctx)
        };
        return Some((response, None));
    }
    if let Some(g) = generate {
        return Some(
            match generate_resource(g, &vars, &req.values.clone_sources) {
                Ok(made) => (
                    RuleResponse::new(name, Status::Pass, "resource generated"),
                    Some(made),
                ),
                Err(e) => (RuleResponse::new(name, Status::Error, e), None),
            },
        );
    }
    if let Some(m) = mutate.filter(|m| m.get("targets").is_some()) {
        let pns = if policy.kind == PolicyKind::Policy {
            policy
                .document
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
        } else {
            ""
        };
        return Some((
            crate::mutate_existing::apply(name, m, &vars, ctx, pns),
            None,
        ));
    }
    if let Some(m) = mutate {
        let (status, msg, patched) = crate::mutate::mutate(m, resource, &vars);
        let changed = status == Status::Pass;
        return Some((
            RuleResponse::new(name, status, msg),
            if changed { Some(patched) } else { None },
        ));
    }
    let v = Validator {
        rule_name: name,
        ctx,
        message: validate
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(""),
        foreach_values: rule_entry
            .and_then(|r| r.get("foreachValues"))
            .and_then(Value::as_object),
        pattern_has_vars: compiled.pattern_has_vars,
    };
    v.validate(validate, resource, None, &mut vars, 0)
        .map(|r| (r, None))
}
