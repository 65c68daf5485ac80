//! The evaluation core shared by `validate.cel` rules and `ValidatingPolicy`:
//! binding `object`/`oldObject`/`request`/`namespaceObject`, evaluating
//! `variables` (as Kubernetes' lazy variables behave: a variable that cannot be
//! evaluated fails only an expression that actually reads it, so `a || variables.b`
//! short-circuits past a broken `b`), match
//! conditions, and validations with their messages.

use homelab_cel::{compile_cached as compile, Activation, CelError, SharedValue, Value};
use serde_json::Value as Json;
use std::collections::BTreeMap;

use crate::context::EvalContext;

use super::fields;
use super::libs;
use super::resources::{group_version, plural_for_kind};

/// The outcome of evaluating a list of validations.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Error(String),
}

/// Kubernetes' admission `request` for `resource`.
pub fn request_json(resource: &Json, ctx: &EvalContext) -> Json {
    let mut req = ctx.request_json(resource);
    let api = resource
        .get("apiVersion")
        .and_then(Json::as_str)
        .unwrap_or("");
    let kind = resource.get("kind").and_then(Json::as_str).unwrap_or("");
    let (group, version) = group_version(api);
    if let Json::Object(m) = &mut req {
        let gvr = serde_json::json!({"group": group, "version": version, "resource": plural_for_kind(kind)});
        m.insert("resource".into(), gvr.clone());
        m.insert("requestResource".into(), gvr);
        if let Some(k) = m.get("kind").cloned() {
            m.insert("requestKind".into(), k);
        }
        // A subresource request names the parent resource and the subresource.
        if let Some(sr) = &ctx.subresource {
            let gvk =
                serde_json::json!({"group": sr.group, "version": sr.version, "kind": sr.kind});
            let gvr = serde_json::json!({"group": sr.group, "version": sr.version, "resource": sr.resource});
            m.insert("kind".into(), gvk.clone());
            m.insert("requestKind".into(), gvk);
            m.insert("resource".into(), gvr.clone());
            m.insert("requestResource".into(), gvr);
            m.insert("subResource".into(), Json::String(sr.name.clone()));
            m.insert("requestSubResource".into(), Json::String(sr.name.clone()));
        }
        if ctx.operation == "DELETE" {
            m.insert("object".into(), Json::Null);
        }
    }
    req
}

/// An activation with the standard bindings and Kyverno's offline libraries.
pub fn activation(
    object: &Json,
    old_object: &Json,
    request: &Json,
    namespace_object: &Json,
    ctx: &EvalContext,
) -> Activation {
    activation_in(object, old_object, request, namespace_object, ctx, "")
}

/// [`activation`] for a namespaced policy kind: its resource library reads the policy's
/// namespace only (`policy_namespace`, empty for cluster-wide kinds).
pub fn activation_in(
    object: &Json,
    old_object: &Json,
    request: &Json,
    namespace_object: &Json,
    ctx: &EvalContext,
    policy_namespace: &str,
) -> Activation {
    let mut act = Activation::new();
    act.bind_json("object", object);
    act.bind_json("oldObject", old_object);
    act.bind_json("request", request);
    act.bind_json("namespaceObject", namespace_object);
    act.bind_json(
        "exceptions",
        &serde_json::json!({"allowedImages": [], "allowedValues": []}),
    );
    libs::bind(&mut act, ctx.mocks.as_ref(), policy_namespace);
    act
}

/// A resource's standard bindings (`object`, `oldObject`, `request`, `namespaceObject`),
/// converted to CEL values once and bound without copying by every rule that evaluates
/// the resource.
#[derive(Debug, Clone)]
pub struct Bindings {
    object: SharedValue,
    old_object: SharedValue,
    request: SharedValue,
    namespace_object: SharedValue,
}

impl Bindings {
    pub fn new(object: &Json, old_object: &Json, request: &Json, namespace_object: &Json) -> Self {
        Bindings {
            object: SharedValue::from_json(object),
            old_object: SharedValue::from_json(old_object),
            request: SharedValue::from_json(request),
            namespace_object: SharedValue::from_json(namespace_object),
        }
    }
}

/// [`activation`] from bindings converted once.
pub fn shared_activation(bindings: &Bindings, ctx: &EvalContext) -> Activation {
    static NO_EXCEPTIONS: std::sync::OnceLock<SharedValue> = std::sync::OnceLock::new();
    // Without mocks the libraries are the same for every evaluation: shared, not rebound.
    let mut act = match &ctx.mocks {
        None => Activation::with_library(libs::unmocked_library()),
        Some(mocks) => {
            let mut act = Activation::new();
            libs::bind(&mut act, Some(mocks), "");
            act
        }
    };
    act.bind_shared("object", &bindings.object);
    act.bind_shared("oldObject", &bindings.old_object);
    act.bind_shared("request", &bindings.request);
    act.bind_shared("namespaceObject", &bindings.namespace_object);
    act.bind_shared(
        "exceptions",
        NO_EXCEPTIONS.get_or_init(|| {
            SharedValue::from_json(&serde_json::json!({"allowedImages": [], "allowedValues": []}))
        }),
    );
    act
}

/// The activation of a Kubernetes admission policy (ValidatingAdmissionPolicy,
/// MutatingAdmissionPolicy, MutatingPolicy) as the CLI evaluates it: a CREATE request
/// without `oldObject`, `params` null (bindings are not loaded), and `spec.variables`
/// evaluated.
pub fn create_request_activation(
    resource: &Json,
    namespace_object: &Json,
    spec: &Json,
    ctx: &EvalContext,
) -> (Activation, Variables) {
    let create = EvalContext {
        operation: "CREATE".into(),
        old_object: None,
        ..ctx.clone()
    };
    let request = request_json(resource, &create);
    let mut act = activation(resource, &Json::Null, &request, namespace_object, ctx);
    act.bind_json("params", &Json::Null);
    let defs = fields::list(spec, "variables");
    let vars = eval_variables(defs, &mut act);
    (act, vars)
}

/// Variables evaluated so far: the values bound as `variables`, and the errors of
/// those that failed.
#[derive(Debug, Default)]
pub struct Variables {
    values: BTreeMap<String, Value>,
    errors: BTreeMap<String, String>,
}

impl Variables {
    fn bind(&self, act: &mut Activation) {
        let map = self.values.iter().map(|(k, v)| (k.clone(), v.clone()));
        act.bind("variables", homelab_cel::string_map(map));
    }

    /// The error of a failed variable that `source` refers to.
    fn referenced_error(&self, source: &str) -> Option<String> {
        self.errors.iter().find_map(|(name, e)| {
            let dotted = format!("variables.{name}");
            let found = source.match_indices(&dotted).any(|(i, _)| {
                !source[i + dotted.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            found.then(|| format!("variable '{name}': {e}"))
        })
    }
}

/// Evaluates `defs` (`[{name, expression}]`) into `act`'s `variables`. A variable
/// may use any other: they are evaluated in passes until no more succeed.
pub fn eval_variables(defs: &[Json], act: &mut Activation) -> Variables {
    let mut vars = Variables::default();
    vars.bind(act);
    let mut pending: Vec<(String, String)> = defs
        .iter()
        .filter_map(|d| {
            let name = d.get("name")?.as_str()?.to_string();
            let expr = d.get("expression")?.as_str().unwrap_or("").to_string();
            Some((name, expr))
        })
        .collect();
    let mut last_errors: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let mut progressed = false;
        let mut still = Vec::new();
        for (name, expr) in pending {
            match compile(&expr).and_then(|p| p.eval(act)) {
                Ok(v) => {
                    vars.values.insert(name, v);
                    vars.bind(act);
                    progressed = true;
                }
                Err(e) => {
                    last_errors.insert(name.clone(), cel_message(&e));
                    still.push((name, expr));
                }
            }
        }
        pending = still;
        if pending.is_empty() || !progressed {
            break;
        }
    }
    for (name, _) in pending {
        let e = last_errors.remove(&name).unwrap_or_default();
        vars.errors.insert(name, e);
    }
    vars
}

/// The error of evaluating `source`: a failed variable it reads explains it better than
/// the missing key the evaluation ran into.
fn explain(source: &str, e: &CelError, vars: &Variables) -> String {
    vars.referenced_error(source)
        .unwrap_or_else(|| cel_message(e))
}

/// Evaluates a boolean expression. Variables that failed are absent from `variables`,
/// so an expression only fails on one when it evaluates the access (CEL's `&&`, `||`
/// and `?:` skip what they do not need), and then with that variable's error.
pub fn eval_bool(source: &str, act: &Activation, vars: &Variables) -> Result<bool, String> {
    compile(source)
        .and_then(|p| p.eval_bool(act))
        .map_err(|e| explain(source, &e, vars))
}

/// Evaluates a string expression (messageExpression, audit annotation value).
pub fn eval_string(source: &str, act: &Activation, vars: &Variables) -> Result<String, String> {
    compile(source)
        .and_then(|p| p.eval_string(act))
        .map_err(|e| explain(source, &e, vars))
}

/// Evaluates an expression to JSON (mutation expressions).
pub fn eval_json(source: &str, act: &Activation, vars: &Variables) -> Result<Json, String> {
    compile(source)
        .and_then(|p| p.eval_json(act))
        .map_err(|e| explain(source, &e, vars))
}

/// Evaluates an expression that must yield a string or null (audit annotation values).
pub fn eval_string_or_null(
    source: &str,
    act: &Activation,
    vars: &Variables,
) -> Result<Option<String>, String> {
    match compile(source).and_then(|p| p.eval(act)) {
        Ok(Value::String(s)) => Ok(Some(s.to_string())),
        Ok(Value::Null) => Ok(None),
        Ok(other) => Err(format!("expected a string, got {}", other.type_of())),
        Err(e) => Err(explain(source, &e, vars)),
    }
}

pub fn cel_message(e: &CelError) -> String {
    e.to_string()
}

/// Evaluates `matchConditions` (`[{name, expression}]`): `Ok(true)` when all hold;
/// a false one wins over errors; errors are reported together.
pub fn match_conditions(
    conds: &[Json],
    act: &Activation,
    vars: &Variables,
) -> Result<bool, String> {
    let mut errors = Vec::new();
    for c in conds {
        let expr = c.get("expression").and_then(Json::as_str).unwrap_or("");
        let name = c.get("name").and_then(Json::as_str).unwrap_or("");
        match eval_bool(expr, act, vars) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => errors.push(format!("matchCondition '{name}': {e}")),
        }
    }
    if errors.is_empty() {
        Ok(true)
    } else {
        Err(errors.join("; "))
    }
}

/// How a failing validation's message is chosen when it has none.
pub enum DefaultMessage<'a> {
    /// Kubernetes (validate.cel): `failed expression: <expr>`; an extra fallback
    /// message (the rule's `validate.message`) comes first.
    FailedExpression(&'a str),
    /// Kyverno ValidatingPolicy: `CEL expression validation failed at index N`.
    Index,
}

/// Evaluates `validations` in order: the first false one fails with its message
/// (messageExpression, then message, then a default); an error stops with error.
pub fn validations(
    list: &[Json],
    act: &Activation,
    vars: &Variables,
    default: DefaultMessage<'_>,
) -> Outcome {
    for (index, v) in list.iter().enumerate() {
        let expr = v.get("expression").and_then(Json::as_str).unwrap_or("");
        match eval_bool(expr, act, vars) {
            Ok(true) => {}
            Ok(false) => {
                let message = v
                    .get("message")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string();
                let from_expr = v
                    .get("messageExpression")
                    .and_then(Json::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(|m| eval_string(m, act, vars));
                let message = match (&default, from_expr) {
                    (_, Some(Ok(m))) if !m.trim().is_empty() => m,
                    (DefaultMessage::Index, Some(Err(e))) => {
                        format!("failed to evaluate message expression: {e}")
                    }
                    _ => message,
                };
                let message = if !message.is_empty() {
                    message
                } else {
                    match default {
                        DefaultMessage::FailedExpression(fallback) if !fallback.is_empty() => {
                            fallback.to_string()
                        }
                        DefaultMessage::FailedExpression(_) => {
                            format!("failed expression: {}", expr.trim())
                        }
                        DefaultMessage::Index => {
                            format!("CEL expression validation failed at index {index}")
                        }
                    }
                };
                return Outcome::Fail(message);
            }
            Err(e) => {
                return Outcome::Error(format!(
                    "expression '{}' resulted in error: {e}",
                    expr.trim()
                ))
            }
        }
    }
    Outcome::Pass
}

/// Evaluates a spec's `auditAnnotations` (Kyverno does once the outcome is decided): the
/// key and the error of the first whose `valueExpression` cannot be evaluated.
pub fn audit_annotations(
    spec: &Json,
    act: &Activation,
    vars: &Variables,
) -> Result<(), (String, String)> {
    for a in super::fields::list(spec, "auditAnnotations") {
        let expr = super::fields::str_of(a, "valueExpression");
        if let Err(e) = eval_string_or_null(expr, act, vars) {
            return Err((super::fields::str_of(a, "key").to_string(), e));
        }
    }
    Ok(())
}
