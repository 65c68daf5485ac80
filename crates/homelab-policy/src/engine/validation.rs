//! The validate handlers of Kyverno rules — `pattern`, `anyPattern`, `deny`, `foreach`
//! (nested, with per-element context and preconditions) — and the resources `generate`
//! rules make.

use super::context::load_context;
use crate::conditions;
use crate::context::EvalContext;
use crate::jmes;
use crate::pattern::{match_pattern, PatternResult};
use crate::response::{RuleResponse, Status};
use crate::variables::{Mode, Vars};
use jmespath::{Rcvar, Variable};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A `generate` rule with `data`: the resource it creates (clone sources need a cluster).
pub(super) fn generate_resource(
    g: &Value,
    vars: &Vars,
    sources: &[Value],
) -> Result<Value, String> {
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
            crate::cel_kinds::selector_matches(list.get("selector"), labels)
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

pub(super) struct Validator<'a> {
    pub(super) rule_name: &'a str,
    pub(super) ctx: &'a EvalContext,
    pub(super) message: &'a str,
    pub(super) foreach_values: Option<&'a Map<String, Value>>,
    /// The rule's patterns hold `{{ }}` (else they are matched as written, uncopied).
    pub(super) pattern_has_vars: bool,
}

impl Validator<'_> {
    fn r(&self, status: Status, msg: impl Into<String>) -> Option<RuleResponse> {
        Some(RuleResponse::new(self.rule_name, status, msg))
    }

    /// `pattern` with its variables substituted (borrowed as written when it has none).
    fn substituted<'p>(&self, p: &'p Value, vars: &Vars) -> Result<Cow<'p, Value>, String> {
        if !self.pattern_has_vars {
            return Ok(Cow::Borrowed(p));
        }
        vars.substitute(p, Mode::Strict)
            .map(Cow::Owned)
            .map_err(|e| format!("variable substitution failed: {e}"))
    }

    /// `spec` is a `validate` block or a foreach entry; `element` the scoped element.
    pub(super) fn validate(
        &self,
        spec: &Value,
        resource: &Value,
        element: Option<&Variable>,
        vars: &mut Vars,
        nesting: usize,
    ) -> Option<RuleResponse> {
        if let Some(deny) = spec.get("deny") {
            let conds = deny.get("conditions").unwrap_or(&Value::Null);
            return match conditions::evaluate(conds, vars, Mode::Strict) {
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
            // Elements stay in JMESPath's representation until a pattern reads one.
            let converted;
            let target = match element {
                Some(el) => {
                    converted = jmes::from_var(el);
                    &converted
                }
                None => resource,
            };
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
            let p = match self.substituted(p, vars) {
                Ok(p) => p,
                Err(e) => return self.r(Status::Error, e),
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
                        let msg = self.error_message(vars, &message, &path);
                        self.r(Status::Fail, msg)
                            .map(|r| r.at_path(failed_pointer(&path)))
                    }
                }
            };
        }
        let any = spec.get("anyPattern")?;
        let any = match self.substituted(any, vars) {
            Ok(p) => p,
            Err(e) => return self.r(Status::Error, e),
        };
        let Value::Array(pats) = any.as_ref() else {
            return self.r(
                Status::Error,
                "failed to deserialize anyPattern, expected type array",
            );
        };
        let mut failed = Vec::new();
        let mut first_path = None;
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
                    if first_path.is_none() {
                        first_path = failed_pointer(&path);
                    }
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
            return self.r(Status::Fail, msg).map(|r| r.at_path(first_path));
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
            let elements = match vars.query_var(&list_expr) {
                Ok(r) => match &*r {
                    Variable::Array(a) => a.clone(),
                    _ => vec![r],
                },
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
        elements: &[Rcvar],
        resource: &Value,
        vars: &Vars,
        nesting: usize,
    ) -> (Option<RuleResponse>, usize) {
        let mut apply_count = 0;
        let scope = fe.get("elementScope").and_then(Value::as_bool);
        let (element_n, index_n) = (
            format!("element{nesting}"),
            format!("elementIndex{nesting}"),
        );
        for (i, el) in elements.iter().enumerate() {
            // What a JSON copy of the element would hold (an expression reference
            // reads as null).
            let el = jmes::as_json_data(el);
            if matches!(*el, Variable::Null) {
                continue;
            }
            let mut v = vars.clone();
            let index = Rcvar::new(Variable::Number(serde_json::Number::from(i as i64)));
            v.set_top_vars([
                ("element", el.clone()),
                (element_n.as_str(), el.clone()),
                ("elementIndex", index.clone()),
                (index_n.as_str(), index),
            ]);
            if let Some(fv) = self.foreach_values {
                for (k, list) in fv {
                    if let Some(x) = list.as_array().and_then(|a| a.get(i)) {
                        v.set(k, x.clone());
                    }
                }
            }
            let is_object = matches!(*el, Variable::Object(_));
            let scoped = match scope {
                Some(true) if !is_object => {
                    return (self.r(Status::Error, "failed to process foreach: cannot use elementScope=true foreach rules for elements that are not maps"), apply_count)
                }
                Some(s) => s,
                None => is_object,
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
                    if scoped { Some(&*el) } else { None },
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
                    return (
                        self.r(r.status, msg).map(|x| x.at_path(r.path)),
                        apply_count,
                    );
                }
                Some(_) => apply_count += 1,
            }
        }
        (self.r(Status::Pass, ""), apply_count)
    }
}

/// A pattern failure's path (`/spec/containers/0/image/`) as a JSON pointer
/// (`/spec/containers/0/image`).
/// `None` when the path does not name a value below the root.
fn failed_pointer(path: &str) -> Option<String> {
    let p = path.trim_end_matches('/');
    p.starts_with('/').then(|| p.to_string())
}
