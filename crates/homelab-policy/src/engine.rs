//! Evaluating one policy against one resource: rule selection (match/exclude, autogen,
//! PolicyExceptions), context entries, preconditions, and the validate handlers (pattern,
//! anyPattern, deny, foreach, podSecurity, CEL), producing Kyverno's rule responses.

use crate::conditions;
use crate::context::EvalContext;
use crate::matching::{self, Subject};
use crate::pattern::{match_pattern, PatternResult};
use crate::response::{PolicyResponse, RuleResponse, Status};
use crate::vars::{Mode, Vars};
use serde_json::{Map, Value};

/// Values a `kyverno test` Values file injects, per policy/rule/resource.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// `globalValues`.
    pub global: Map<String, Value>,
    /// `policies[]` entries as written (`name`, `rules[]{name, values, foreachValues}`,
    /// `resources[]{name, values}`).
    pub policies: Vec<Value>,
    /// Source objects for `generate.clone` (a test's `cloneSourceResource`); offline there
    /// is no cluster to read them from.
    pub clone_sources: Vec<Value>,
}

impl Values {
    fn policy(&self, name: &str) -> Option<&Value> {
        self.policies
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Values for (policy, resource): global, then the policy's per-resource values.
    pub fn for_resource(&self, policy: &str, resource_name: &str) -> Map<String, Value> {
        let mut out = self.global.clone();
        if let Some(Value::Array(rs)) = self.policy(policy).and_then(|p| p.get("resources")) {
            for r in rs {
                if r.get("name").and_then(Value::as_str) == Some(resource_name) {
                    if let Some(Value::Object(v)) = r.get("values") {
                        out.extend(v.clone());
                    }
                }
            }
        }
        out
    }

    fn rule_entry(&self, policy: &str, rule: &str) -> Option<&Value> {
        let rule = strip_autogen(rule);
        match self.policy(policy).and_then(|p| p.get("rules")) {
            Some(Value::Array(rs)) => rs
                .iter()
                .find(|r| r.get("name").and_then(Value::as_str) == Some(rule)),
            _ => None,
        }
    }
}

pub fn strip_autogen(rule: &str) -> &str {
    rule.strip_prefix("autogen-cronjob-")
        .or_else(|| rule.strip_prefix("autogen-"))
        .unwrap_or(rule)
}

/// Is this document a policy kind this engine evaluates?
pub fn is_policy(doc: &Value) -> bool {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    (matches!(kind, "ClusterPolicy" | "Policy") && api.starts_with("kyverno.io/"))
        || crate::cel::is_validating_policy(doc)
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

/// Everything evaluation needs besides policy and resource.
pub struct Request<'a> {
    pub ctx: &'a EvalContext,
    pub exceptions: &'a [Value],
    pub values: &'a Values,
}

fn rr(rule: &str, status: Status, msg: impl Into<String>) -> (RuleResponse, Option<Value>) {
    (resp(rule, status, msg), None)
}

fn resp(rule: &str, status: Status, msg: impl Into<String>) -> RuleResponse {
    RuleResponse::new(rule, status, msg)
}

/// Evaluate `policy` against `resource`. `None` when the policy kind is not one this engine
/// evaluates (or a rule-less CEL policy that does not match).
pub fn evaluate(policy: &Value, resource: &Value, req: &Request<'_>) -> Option<PolicyResponse> {
    evaluate_prepared(policy, &prepare(policy), resource, req)
}

/// A policy's rules after autogen, computed once and reused for every resource.
#[derive(Debug, Clone)]
pub struct Prepared {
    rules: Vec<PreparedRule>,
}

#[derive(Debug, Clone)]
struct PreparedRule {
    rule: Value,
    /// The rule reads variables (so the JMESPath context must be built).
    needs_vars: bool,
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

/// Expand autogen rules and note which rules need the variable context.
pub fn prepare(policy: &Value) -> Prepared {
    let rules = crate::autogen::expand_rules(policy)
        .into_iter()
        .map(|rule| {
            let needs_vars = mentions_variables(&rule)
                || ["context", "preconditions"]
                    .iter()
                    .any(|k| rule.get(*k).is_some())
                || ["deny", "foreach"]
                    .iter()
                    .any(|k| rule.get("validate").and_then(|v| v.get(*k)).is_some())
                || rule.get("mutate").is_some()
                || rule.get("generate").is_some();
            PreparedRule { rule, needs_vars }
        })
        .collect();
    Prepared { rules }
}

/// [`evaluate`] with rules prepared once by [`prepare`].
pub fn evaluate_prepared(
    policy: &Value,
    prepared: &Prepared,
    resource: &Value,
    req: &Request<'_>,
) -> Option<PolicyResponse> {
    let kind = policy.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut out = PolicyResponse {
        policy: policy_name(policy),
        api_version: resource
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        kind: resource
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        namespace: resource
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        name: resource
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        rules: Vec::new(),
        patched_resource: None,
        generated: Vec::new(),
    };
    if !matches!(kind, "ClusterPolicy" | "Policy") {
        // The CEL policy kinds (ValidatingPolicy, MutatingPolicy, GeneratingPolicy,
        // DeletingPolicy, ImageValidatingPolicy, VAP, MAP and namespaced variants).
        let r = crate::cel::kinds::evaluate(policy, resource, req.ctx, req.exceptions)?;
        let name = out.policy.clone();
        out.rules = r.rules;
        out.patched_resource = r.patched;
        out.generated = r.generated.into_iter().map(|g| (name.clone(), g)).collect();
        return Some(out);
    }
    if kind == "Policy" {
        let pns = policy
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        if !out.namespace.is_empty() && pns != out.namespace {
            return Some(out);
        }
        if out.namespace.is_empty() && resource_is_namespaced(resource) {
            // the CLI puts namespace-less namespaced resources in the policy's namespace
        }
    }
    let scored_false = policy
        .pointer("/metadata/annotations/policies.kyverno.io~1scored")
        .and_then(Value::as_str)
        == Some("false");
    let pname = policy
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let rules = &prepared.rules;
    // Kyverno mutates first, then validates the mutated resource.
    let has_mutate = rules.iter().any(|r| r.rule.get("mutate").is_some());
    let mut current = if has_mutate {
        resource.clone()
    } else {
        Value::Null
    };
    let mut mutated = false;
    for pr in rules.iter().filter(|r| r.rule.get("mutate").is_some()) {
        if let Some((r, patched)) = evaluate_rule(&pname, &out.policy, policy, pr, &current, req) {
            if let Some(p) = patched {
                current = p;
                mutated = true;
            }
            out.rules.push(r);
        }
    }
    let target = if has_mutate { &current } else { resource };
    for pr in rules.iter().filter(|r| r.rule.get("mutate").is_none()) {
        if let Some((mut r, made)) = evaluate_rule(&pname, &out.policy, policy, pr, target, req) {
            if let (Some(m), true) = (made, pr.rule.get("generate").is_some()) {
                match (m.get("kind").and_then(Value::as_str), m.get("items")) {
                    // cloneList: one generated resource per item
                    (Some("List"), Some(Value::Array(items))) => out
                        .generated
                        .extend(items.iter().map(|i| (r.rule.clone(), i.clone()))),
                    _ => out.generated.push((r.rule.clone(), m)),
                }
            }
            if scored_false && r.status == Status::Fail {
                r.status = Status::Warn;
            }
            out.rules.push(r);
        }
    }
    if mutated {
        out.patched_resource = Some(current);
    }
    Some(out)
}

fn resource_is_namespaced(resource: &Value) -> bool {
    !matches!(
        resource.get("kind").and_then(Value::as_str).unwrap_or(""),
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "CustomResourceDefinition"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "PriorityClass"
            | "IngressClass"
            | "RuntimeClass"
    )
}

thread_local! {
    /// The last base context built on this thread: every policy evaluated against the same
    /// resource reuses it (checked by equality, so a stale entry can never be returned).
    static LAST_VARS: std::cell::RefCell<Option<(Value, EvalContext, Vars)>> = const { std::cell::RefCell::new(None) };
}

fn cached_base_vars(resource: &Value, ctx: &EvalContext) -> Vars {
    let hit = LAST_VARS.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(r, x, _)| x == ctx && r == resource)
            .map(|(_, _, v)| v.clone())
    });
    if let Some(v) = hit {
        return v;
    }
    let v = base_vars(resource, ctx);
    v.warm();
    LAST_VARS.with(|c| *c.borrow_mut() = Some((resource.clone(), ctx.clone(), v.clone())));
    v
}

/// Base JMESPath context for a resource.
pub fn base_vars(resource: &Value, ctx: &EvalContext) -> Vars {
    let mut data = Map::new();
    let deleting = ctx.operation.eq_ignore_ascii_case("DELETE");
    let mut request = ctx.request_json(resource);
    if deleting {
        request["oldObject"] = ctx.old_object.clone().unwrap_or_else(|| resource.clone());
        request["object"] = Value::Null;
    }
    data.insert("request".into(), request);
    let username = ctx.user_info.username.as_str();
    if let Some(sa) = username.strip_prefix("system:serviceaccount:") {
        if let Some((ns, name)) = sa.split_once(':') {
            data.insert("serviceAccountName".into(), Value::String(name.into()));
            data.insert("serviceAccountNamespace".into(), Value::String(ns.into()));
        }
    } else {
        data.insert("serviceAccountName".into(), Value::String(String::new()));
        data.insert(
            "serviceAccountNamespace".into(),
            Value::String(String::new()),
        );
    }
    data.insert("images".into(), crate::images::images_of(resource));
    let mut vars = Vars::new(data);
    vars.delete = deleting;
    for (k, v) in &ctx.values {
        vars.set(k, v.clone());
    }
    vars
}

fn rule_names(rule: &Value) -> String {
    rule.get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn exception_applies(
    exc: &Value,
    pname_full: &str,
    rule_name: &str,
    subj: &Subject<'_>,
    vars: &Vars,
) -> bool {
    let Some(Value::Array(list)) = exc.pointer("/spec/exceptions") else {
        return false;
    };
    let names_ok = list.iter().any(|e| {
        let pn = e.get("policyName").and_then(Value::as_str).unwrap_or("");
        let pol_ok = pn == pname_full
            || pn.rsplit('/').next() == Some(pname_full.rsplit('/').next().unwrap_or(""));
        pol_ok
            && match e.get("ruleNames") {
                Some(Value::Array(rn)) => rn.iter().filter_map(Value::as_str).any(|n| {
                    crate::values::wildcard_match(n, rule_name)
                        || crate::values::wildcard_match(n, strip_autogen(rule_name))
                }),
                _ => false,
            }
    });
    if !names_ok {
        return false;
    }
    if let Some(m) = exc.pointer("/spec/match") {
        if !matching::matches(m, subj) {
            return false;
        }
    }
    if let Some(c) = exc.pointer("/spec/conditions") {
        if !conditions::evaluate(c, vars, Mode::Lenient).unwrap_or(false) {
            return false;
        }
    }
    true
}

/// `namespace/name` of an exception, as Kyverno names it in messages.
fn exception_key(exc: &Value) -> String {
    let name = exc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    match exc.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Load `context` entries into `vars` (values from the Values file win, like the CLI).
fn load_context(
    entries: Option<&Value>,
    vars: &mut Vars,
    provided: &Map<String, Value>,
    ctx: &EvalContext,
) -> Result<(), String> {
    let Some(Value::Array(entries)) = entries else {
        return Ok(());
    };
    for e in entries {
        let name = e.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            continue;
        }
        if provided.contains_key(name)
            || provided.keys().any(|k| k.starts_with(&format!("{name}.")))
        {
            continue;
        }
        if let Some(var) = e.get("variable") {
            let default = match var.get("default") {
                Some(d) => Some(
                    vars.substitute(d, Mode::Strict)
                        .map_err(|e| e.to_string())?,
                ),
                None => None,
            };
            let path = match var.get("jmesPath").and_then(Value::as_str) {
                Some(p) if !p.is_empty() => match vars.substitute_str(p, Mode::Strict) {
                    Ok(Value::String(s)) => Some(s),
                    Ok(other) => Some(other.to_string()),
                    Err(e) => {
                        return Err(format!(
                            "failed to substitute variables in context entry {name}: {e}"
                        ))
                    }
                },
                _ => None,
            };
            let mut output = default.clone();
            if let Some(v) = var.get("value") {
                let val = vars.substitute(v, Mode::Strict).map_err(|e| {
                    format!("failed to substitute variables in context entry {name}: {e}")
                })?;
                match &path {
                    Some(p) => match crate::jmes::search(p, &val) {
                        Ok(r) => output = Some(r),
                        Err(e) if default.is_none() => {
                            return Err(format!("failed to apply jmespath {p}: {e}"))
                        }
                        Err(_) => {}
                    },
                    None => output = Some(val),
                }
            } else if let Some(p) = &path {
                match crate::jmes::search_var(
                    p,
                    &crate::jmes::to_var(&Value::Object(vars.data().clone())),
                ) {
                    Ok(r) if !r.is_null() => output = Some(r),
                    Ok(_) => {}
                    Err(e) if default.is_none() => {
                        return Err(format!("failed to apply jmespath {p}: {e}"))
                    }
                    Err(_) => {}
                }
            }
            match output {
                Some(Value::Null) | None => {
                    return Err(format!(
                        "unable to add context entry for variable {name} since it evaluated to nil"
                    ))
                }
                Some(v) => vars.set(name, v),
            }
        } else if let Some(loaded) = crate::context_mocks::load(e, vars, ctx) {
            // apiCall / configMap / globalReference answered from the test's mocks
            vars.set(name, loaded?);
        } else {
            // apiCall / configMap / imageRegistry / globalReference: offline the values must
            // come from a Values file; a declared default is used otherwise.
            let default = ["apiCall", "configMap", "imageRegistry", "globalReference"]
                .iter()
                .find_map(|k| e.get(*k).and_then(|x| x.get("default")))
                .cloned();
            if let Some(d) = default {
                let d = vars
                    .substitute(&d, Mode::Strict)
                    .map_err(|e| e.to_string())?;
                vars.set(name, d);
            }
        }
    }
    Ok(())
}

fn evaluate_rule(
    pname: &str,
    pname_full: &str,
    policy: &Value,
    pr: &PreparedRule,
    resource: &Value,
    req: &Request<'_>,
) -> Option<(RuleResponse, Option<Value>)> {
    evaluate_rule_inner(
        pname,
        pname_full,
        policy,
        &pr.rule,
        pr.needs_vars,
        resource,
        req,
    )
}

fn evaluate_rule_inner(
    pname: &str,
    pname_full: &str,
    policy: &Value,
    rule: &Value,
    needs_vars: bool,
    resource: &Value,
    req: &Request<'_>,
) -> Option<(RuleResponse, Option<Value>)> {
    let name = rule_names(rule);
    let subj = Subject {
        resource,
        ctx: req.ctx,
    };
    if !matching::matches(rule.get("match").unwrap_or(&Value::Null), &subj) {
        return None;
    }
    if let Some(x) = rule.get("exclude") {
        if matching::excluded(x, &subj) {
            return None;
        }
    }
    let mutate = rule.get("mutate");
    let generate = rule.get("generate");
    let Some(validate) = rule.get("validate").or(mutate).or(generate) else {
        let what = if rule.get("generate").is_some() {
            "generate"
        } else if rule.get("verifyImages").is_some() {
            "verifyImages"
        } else {
            "unknown"
        };
        return Some(rr(
            &name,
            Status::Error,
            format!("{what} rules are not supported by this engine yet"),
        ));
    };
    // Values from the Values file for this rule.
    let mut provided = req.values.for_resource(
        pname,
        resource
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or(""),
    );
    let rule_entry = req.values.rule_entry(pname, &name);
    if let Some(Value::Object(v)) = rule_entry.and_then(|r| r.get("values")) {
        provided.extend(v.clone());
    }
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
    // Building the JMESPath context copies the resource: only do it for rules that read it.
    let mut vars = if needs_vars || !req.exceptions.is_empty() || !provided.is_empty() {
        cached_base_vars(resource, ctx)
    } else {
        Vars::new(Map::new())
    };
    let subj = Subject { resource, ctx };
    for exc in req.exceptions {
        if exc.pointer("/spec/podSecurity").is_some() && validate.get("podSecurity").is_some() {
            continue;
        }
        if exception_applies(exc, pname_full, &name, &subj, &vars) {
            return Some(rr(
                &name,
                Status::Skip,
                "rule is skipped due to policy exception",
            ));
        }
    }
    if let Err(e) = load_context(rule.get("context"), &mut vars, &provided, ctx) {
        return Some(rr(
            &name,
            Status::Error,
            format!("failed to load context: {e}"),
        ));
    }
    if let Some(pre) = rule.get("preconditions") {
        match conditions::evaluate(pre, &vars, Mode::Lenient) {
            Ok(true) => {}
            Ok(false) => return Some((resp(&name, Status::Skip, "preconditions not met"), None)),
            Err(e) => {
                return Some(rr(
                    &name,
                    Status::Error,
                    format!("failed to evaluate preconditions: {e}"),
                ))
            }
        }
    }
    let v = Validator {
        rule_name: &name,
        ctx,
        message: validate
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(""),
        foreach_values: rule_entry
            .and_then(|r| r.get("foreachValues"))
            .and_then(Value::as_object),
    };
    if let Some(ps) = validate.get("podSecurity") {
        let mut excludes: Vec<Value> = match ps.get("exclude") {
            Some(Value::Array(e)) => e.clone(),
            _ => Vec::new(),
        };
        let mut status_msg = crate::pss::validate(ps, &excludes, resource);
        // Exceptions' podSecurity exclusions apply to a failing pod: when they exempt
        // every violation, the rule is skipped because of the exceptions.
        if status_msg.0 == Status::Fail {
            let mut keys = Vec::new();
            for exc in req.exceptions {
                if let Some(Value::Array(extra)) = exc.pointer("/spec/podSecurity") {
                    if exception_applies(exc, pname_full, &name, &subj, &vars) {
                        excludes.extend(extra.iter().cloned());
                        keys.push(exception_key(exc));
                    }
                }
            }
            if !keys.is_empty() {
                status_msg = match crate::pss::validate(ps, &excludes, resource) {
                    (Status::Pass, _) => (
                        Status::Skip,
                        format!(
                            "rule is skipped due to policy exceptions {}",
                            keys.join(", ")
                        ),
                    ),
                    other => other,
                };
            }
        }
        return Some((resp(&name, status_msg.0, status_msg.1), None));
    }
    if validate.get("cel").is_some() {
        let _ = policy;
        return Some((crate::cel::validate_rule(rule, resource, ctx), None));
    }
    if let Some(g) = generate {
        return Some(
            match generate_resource(g, &vars, &req.values.clone_sources) {
                Ok(made) => (resp(&name, Status::Pass, "resource generated"), Some(made)),
                Err(e) => (resp(&name, Status::Error, e), None),
            },
        );
    }
    if let Some(m) = mutate.filter(|m| m.get("targets").is_some()) {
        let pns = if policy.get("kind").and_then(Value::as_str) == Some("Policy") {
            policy
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
        } else {
            ""
        };
        return Some((
            crate::mutate_existing::apply(&name, m, &vars, ctx, pns),
            None,
        ));
    }
    if let Some(m) = mutate {
        let (status, msg, patched) = crate::mutate::mutate(m, resource, &vars);
        let changed = status == Status::Pass;
        return Some((
            resp(&name, status, msg),
            if changed { Some(patched) } else { None },
        ));
    }
    v.validate(validate, resource, None, &mut vars, 0)
        .map(|r| (r, None))
}

/// A `generate` rule with `data`: the resource it creates (clone sources need a cluster).
fn generate_resource(g: &Value, vars: &Vars, sources: &[Value]) -> Result<Value, String> {
    let g = vars
        .substitute(g, Mode::Strict)
        .map_err(|e| format!("variable substitution failed: {e}"))?;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(clone) = g.get("clone") {
        let (kind, sns, sname) = (
            s(g.get("kind")),
            s(clone.get("namespace")),
            s(clone.get("name")),
        );
        let src = sources
            .iter()
            .find(|r| {
                s(r.get("kind")) == kind
                    && s(r.pointer("/metadata/name")) == sname
                    && (sns.is_empty() || s(r.pointer("/metadata/namespace")) == sns)
            })
            .ok_or_else(|| format!("clone source {kind} {sns}/{sname} not found (offline, give it as cloneSourceResource)"))?;
        let mut out = src.clone();
        let mut meta = Map::new();
        meta.insert("name".into(), g.get("name").cloned().unwrap_or(Value::Null));
        if let Some(ns) = g
            .get("namespace")
            .filter(|n| n.as_str().is_some_and(|x| !x.is_empty()))
        {
            meta.insert("namespace".into(), ns.clone());
        }
        for k in ["labels", "annotations"] {
            if let Some(v) = src.pointer(&format!("/metadata/{k}")) {
                meta.insert(k.into(), v.clone());
            }
        }
        out["metadata"] = Value::Object(meta);
        return Ok(out);
    }
    if let Some(list) = g.get("cloneList") {
        return Ok(clone_list(&g, list, sources));
    }
    // Without `data` Kyverno creates the bare object.
    let empty = Value::Object(Map::new());
    let data = g.get("data").unwrap_or(&empty);
    let mut out = Map::new();
    for k in ["apiVersion", "kind"] {
        out.insert(k.into(), g.get(k).cloned().unwrap_or(Value::Null));
    }
    let mut meta = data
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    meta.insert("name".into(), g.get("name").cloned().unwrap_or(Value::Null));
    if let Some(ns) = g
        .get("namespace")
        .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
    {
        meta.insert("namespace".into(), ns.clone());
    }
    out.insert("metadata".into(), Value::Object(meta));
    if let Some(d) = data.as_object() {
        for (k, v) in d {
            if k != "metadata" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

/// A `generate.cloneList` rule: a copy, in the rule's namespace, of every source
/// (`cloneSourceResource`) of the listed kinds (`v1/Secret`, `apps/v1/Deployment`, a
/// bare kind) in the list's namespace whose labels match its selector; as a `List`
/// object whose items are the generated resources.
fn clone_list(g: &Value, list: &Value, sources: &[Value]) -> Value {
    let s = |v: &Value, p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let kinds: Vec<(String, String)> = list
        .get("kinds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|k| match k.rsplit_once('/') {
                    Some((api, kind)) => (api.to_string(), kind.to_string()),
                    None => (String::new(), k.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    let source_ns = s(list, "/namespace");
    let target_ns = s(g, "/namespace");
    let empty = Map::new();
    let items: Vec<Value> = sources
        .iter()
        .filter(|r| {
            kinds.iter().any(|(api, kind)| {
                s(r, "/kind") == *kind && (api.is_empty() || s(r, "/apiVersion") == *api)
            })
        })
        .filter(|r| source_ns.is_empty() || s(r, "/metadata/namespace") == source_ns)
        .filter(|r| {
            let labels = r
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            crate::cel::selector_matches(list.get("selector"), labels)
        })
        .map(|src| {
            let mut out = src.clone();
            let mut meta = Map::new();
            meta.insert("name".into(), Value::String(s(src, "/metadata/name")));
            if !target_ns.is_empty() {
                meta.insert("namespace".into(), Value::String(target_ns.clone()));
            }
            for k in ["labels", "annotations"] {
                if let Some(v) = src.pointer(&format!("/metadata/{k}")) {
                    meta.insert(k.into(), v.clone());
                }
            }
            out["metadata"] = Value::Object(meta);
            out
        })
        .collect();
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items})
}

struct Validator<'a> {
    rule_name: &'a str,
    ctx: &'a EvalContext,
    message: &'a str,
    foreach_values: Option<&'a Map<String, Value>>,
}

impl Validator<'_> {
    fn r(&self, status: Status, msg: impl Into<String>) -> Option<RuleResponse> {
        Some(resp(self.rule_name, status, msg))
    }

    /// `spec` is a `validate` block or a foreach entry; `element` the scoped element.
    fn validate(
        &self,
        spec: &Value,
        resource: &Value,
        element: Option<&Value>,
        vars: &mut Vars,
        nesting: usize,
    ) -> Option<RuleResponse> {
        if let Some(deny) = spec.get("deny") {
            let conds = deny.get("conditions").cloned().unwrap_or(Value::Null);
            return match conditions::evaluate(&conds, vars, Mode::Strict) {
                Ok(true) => self.r(Status::Fail, self.deny_message(vars)),
                Ok(false) => self.r(
                    Status::Pass,
                    format!("validation rule '{}' passed.", self.rule_name),
                ),
                Err(e) => self.r(
                    Status::Error,
                    format!("failed to check deny conditions: {e}"),
                ),
            };
        }
        if spec.get("pattern").is_some() || spec.get("anyPattern").is_some() {
            if vars.delete && element.is_none() {
                return None;
            }
            let target = element.unwrap_or(resource);
            return self.patterns(spec, target, vars);
        }
        if let Some(Value::Array(fes)) = spec.get("foreach") {
            return self.foreach(fes, resource, vars, nesting);
        }
        if nesting == 0 && element.is_none() {
            // e.g. validate.manifests (signed manifests): say so rather than report nothing
            let what = spec
                .as_object()
                .and_then(|m| {
                    m.keys().find(|k| {
                        *k != "message" && *k != "failureAction" && *k != "allowExistingViolations"
                    })
                })
                .cloned()
                .unwrap_or_default();
            return self.r(
                Status::Error,
                format!("validate.{what} is not supported by this engine"),
            );
        }
        None
    }

    fn deny_message(&self, vars: &Vars) -> String {
        if self.message.is_empty() {
            return format!("validation error: rule {} failed", self.rule_name);
        }
        match vars.substitute_str(self.message, Mode::Strict) {
            Ok(Value::String(s)) => s,
            Ok(_) => {
                "the produced message didn't resolve to a string, check your policy definition."
                    .into()
            }
            Err(_) => self.message.to_string(),
        }
    }

    fn error_message(&self, vars: &Vars, err: &str, path: &str) -> String {
        if self.message.is_empty() {
            return if path.is_empty() {
                format!(
                    "validation error: rule {} execution error: {err}",
                    self.rule_name
                )
            } else {
                format!(
                    "validation error: rule {} failed at path {path}",
                    self.rule_name
                )
            };
        }
        let msg = match vars.substitute_str(self.message, Mode::Strict) {
            Ok(Value::String(s)) => s,
            _ => {
                return format!(
                "validation error: variables substitution error in rule {} execution error: {err}",
                self.rule_name
            )
            }
        };
        let msg = if msg.ends_with('.') {
            msg
        } else {
            format!("{msg}.")
        };
        if path.is_empty() {
            format!(
                "validation error: {msg} rule {} execution error: {err}",
                self.rule_name
            )
        } else {
            format!(
                "validation error: {msg} rule {} failed at path {path}",
                self.rule_name
            )
        }
    }

    fn patterns(&self, spec: &Value, target: &Value, vars: &Vars) -> Option<RuleResponse> {
        if let Some(p) = spec.get("pattern") {
            let p = match vars.substitute(p, Mode::Strict) {
                Ok(p) => p,
                Err(e) => {
                    return self.r(Status::Error, format!("variable substitution failed: {e}"))
                }
            };
            return match match_pattern(target, &p) {
                PatternResult::Pass => self.r(
                    Status::Pass,
                    format!("validation rule '{}' passed.", self.rule_name),
                ),
                PatternResult::Skip(m) => self.r(Status::Skip, m),
                PatternResult::Fail { path, message } => {
                    if path.is_empty() {
                        self.r(Status::Error, self.error_message(vars, &message, ""))
                    } else {
                        self.r(Status::Fail, self.error_message(vars, &message, &path))
                    }
                }
            };
        }
        let any = spec.get("anyPattern")?;
        let any = match vars.substitute(any, Mode::Strict) {
            Ok(p) => p,
            Err(e) => return self.r(Status::Error, format!("variable substitution failed: {e}")),
        };
        let Value::Array(pats) = any else {
            return self.r(
                Status::Error,
                "failed to deserialize anyPattern, expected type array",
            );
        };
        let mut failed = Vec::new();
        let mut skipped = Vec::new();
        for (i, p) in pats.iter().enumerate() {
            match match_pattern(target, p) {
                PatternResult::Pass => {
                    return self.r(
                        Status::Pass,
                        format!(
                            "validation rule '{}' anyPattern[{i}] passed.",
                            self.rule_name
                        ),
                    )
                }
                PatternResult::Skip(m) => {
                    skipped.push(format!("rule {}[{i}] skipped: {m}", self.rule_name))
                }
                PatternResult::Fail { path, message } => failed.push(if path.is_empty() {
                    format!("rule {}[{i}] failed: {message}", self.rule_name)
                } else {
                    format!("rule {}[{i}] failed at path {path}", self.rule_name)
                }),
            }
        }
        if !skipped.is_empty() && failed.is_empty() {
            return self.r(Status::Skip, skipped.join(" "));
        }
        if !failed.is_empty() {
            let errs = failed.join(" ");
            let msg = if self.message.is_empty() {
                format!("validation error: {errs}")
            } else {
                let m = match vars.substitute_str(self.message, Mode::Strict) {
                    Ok(Value::String(s)) => s,
                    _ => self.message.to_string(),
                };
                if m.ends_with('.') {
                    format!("validation error: {m} {errs}")
                } else {
                    format!("validation error: {m}. {errs}")
                }
            };
            return self.r(Status::Fail, msg);
        }
        self.r(Status::Pass, self.message.to_string())
    }

    fn foreach(
        &self,
        fes: &[Value],
        resource: &Value,
        vars: &mut Vars,
        nesting: usize,
    ) -> Option<RuleResponse> {
        let mut apply_count = 0;
        for fe in fes {
            let list_expr = fe.get("list").and_then(Value::as_str).unwrap_or("");
            let list_expr = match vars.substitute_str(list_expr, Mode::Strict) {
                Ok(Value::String(s)) => s,
                _ => continue,
            };
            let elements = match vars.query(&list_expr) {
                Ok(Value::Array(a)) => a,
                Ok(other) => vec![other],
                Err(_) => continue,
            };
            let (r, count) = self.elements(fe, &elements, resource, vars, nesting);
            match r {
                Some(r) if r.status != Status::Pass => return Some(r),
                _ => {}
            }
            apply_count += count;
        }
        if apply_count == 0 {
            return self.r(Status::Skip, "rule skipped");
        }
        self.r(Status::Pass, "rule passed")
    }

    fn elements(
        &self,
        fe: &Value,
        elements: &[Value],
        resource: &Value,
        vars: &Vars,
        nesting: usize,
    ) -> (Option<RuleResponse>, usize) {
        let mut apply_count = 0;
        let scope = fe.get("elementScope").and_then(Value::as_bool);
        for (i, el) in elements.iter().enumerate() {
            if el.is_null() {
                continue;
            }
            let mut v = vars.clone();
            v.set("element", el.clone());
            v.set(&format!("element{nesting}"), el.clone());
            v.set("elementIndex", Value::from(i as i64));
            v.set(&format!("elementIndex{nesting}"), Value::from(i as i64));
            if let Some(fv) = self.foreach_values {
                for (k, list) in fv {
                    if let Some(x) = list.as_array().and_then(|a| a.get(i)) {
                        v.set(k, x.clone());
                    }
                }
            }
            let scoped = match scope {
                Some(true) if !el.is_object() => {
                    return (self.r(Status::Error, "failed to process foreach: cannot use elementScope=true foreach rules for elements that are not maps"), apply_count)
                }
                Some(s) => s,
                None => el.is_object(),
            };
            let r = (|| {
                if let Err(e) = load_context(fe.get("context"), &mut v, &Map::new(), self.ctx) {
                    return self.r(Status::Error, format!("failed to load context: {e}"));
                }
                if let Some(pre) = fe.get("preconditions") {
                    match conditions::evaluate(pre, &v, Mode::Lenient) {
                        Ok(true) => {}
                        Ok(false) => return self.r(Status::Skip, "preconditions not met"),
                        Err(e) => {
                            return self.r(
                                Status::Error,
                                format!("failed to evaluate preconditions: {e}"),
                            )
                        }
                    }
                }
                self.validate(
                    fe,
                    resource,
                    if scoped { Some(el) } else { None },
                    &mut v,
                    nesting + 1,
                )
            })();
            match r {
                None => continue,
                Some(r) if r.status == Status::Skip => continue,
                Some(r) if r.status != Status::Pass => {
                    if r.status == Status::Error && i + 1 < elements.len() {
                        continue;
                    }
                    let msg = format!("validation failure: {}", r.message);
                    return (self.r(r.status, msg), apply_count);
                }
                Some(_) => apply_count += 1,
            }
        }
        (self.r(Status::Pass, ""), apply_count)
    }
}

/// Summarise a result status for a policy report when the rule's action is Audit and
/// `audit_warn` is set (kyverno apply `--audit-warn`).
pub fn failure_action(policy: &Value, rule: &str) -> String {
    let rules = crate::autogen::expand_rules(policy);
    let r = rules
        .iter()
        .find(|r| r.get("name").and_then(Value::as_str) == Some(rule));
    let per_rule = r
        .and_then(|r| r.pointer("/validate/failureAction"))
        .and_then(Value::as_str);
    let spec = policy
        .pointer("/spec/validationFailureAction")
        .or_else(|| policy.pointer("/spec/failureAction"))
        .and_then(Value::as_str);
    per_rule.or(spec).unwrap_or("Audit").to_string()
}
