//! `validate.cel` rules of Kyverno ClusterPolicy/Policy, evaluated the way
//! Kyverno runs them: as a ValidatingAdmissionPolicy without a failure policy
//! (so an expression error denies: the rule fails), with `celPreconditions` as
//! match conditions (not met: skip), and without parameter resources offline
//! (a rule that needs `paramKind`/`paramRef` reports an error).

use serde_json::{json, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval::{self, DefaultMessage, Outcome};

fn response(rule: &Json, status: Status, message: impl Into<String>) -> RuleResponse {
    RuleResponse::new(
        rule.get("name").and_then(Json::as_str).unwrap_or(""),
        status,
        message,
    )
}

/// Evaluates the `validate.cel` of a Kyverno `rule` against `resource`; the caller
/// has already decided that the rule matches (match/exclude, preconditions).
pub fn validate_rule(rule: &Json, resource: &Json, ctx: &EvalContext) -> RuleResponse {
    validate_rule_with(rule, &rule_bindings(resource, ctx), ctx)
}

/// What every `validate.cel` rule binds for `resource`: build it once per resource and
/// evaluate its rules with [`validate_rule_with`].
pub fn rule_bindings(resource: &Json, ctx: &EvalContext) -> eval::Bindings {
    let deleting = ctx.operation == "DELETE";
    let old = ctx.old_object.clone().unwrap_or(Json::Null);
    let null = Json::Null;
    let (object, meta_source) = if deleting {
        (&null, &old)
    } else {
        (resource, resource)
    };
    let kind = meta_source.get("kind").and_then(Json::as_str).unwrap_or("");
    let ns = meta_source
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .unwrap_or("");
    // Offline, Kyverno gives CEL a Namespace object that carries only its name.
    let namespace_object = if ns.is_empty() || kind == "Namespace" {
        Json::Null
    } else {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    };
    let request = eval::request_json(meta_source, ctx);
    eval::Bindings::new(object, &old, &request, &namespace_object)
}

/// [`validate_rule`] with the resource's bindings from [`rule_bindings`] (made with
/// the same `ctx`).
pub fn validate_rule_with(
    rule: &Json,
    bindings: &eval::Bindings,
    ctx: &EvalContext,
) -> RuleResponse {
    let name = rule.get("name").and_then(Json::as_str).unwrap_or("");
    let Some(cel) = rule.pointer("/validate/cel") else {
        return response(rule, Status::Error, "rule has no validate.cel");
    };
    if cel.get("paramKind").is_some() || cel.get("paramRef").is_some() {
        return response(
            rule,
            Status::Error,
            "error in parameterized resource: parameter resources are not available offline",
        );
    }
    let mut act = eval::shared_activation(bindings, ctx);
    let empty = Vec::new();
    let variables = cel
        .get("variables")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    let vars = eval::eval_variables(variables, &mut act);
    if let Some(conds) = rule.get("celPreconditions").and_then(Json::as_array) {
        match eval::match_conditions(conds, &act, &vars) {
            Ok(true) => {}
            Ok(false) => return response(rule, Status::Skip, "cel preconditions not met"),
            Err(e) => return response(rule, Status::Fail, e),
        }
    }
    let expressions = cel
        .get("expressions")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    let fallback = rule
        .pointer("/validate/message")
        .and_then(Json::as_str)
        .unwrap_or("");
    match eval::validations(
        expressions,
        &act,
        &vars,
        DefaultMessage::FailedExpression(fallback),
    ) {
        Outcome::Pass => response(
            rule,
            Status::Pass,
            format!("Validation rule '{name}' passed."),
        ),
        Outcome::Fail(m) | Outcome::Error(m) => response(rule, Status::Fail, m),
    }
}

/// Evaluates a rule's `celPreconditions` (for rules of any type): `Ok(true)` when
/// absent or all hold, `Ok(false)` when one is false, `Err` when one cannot be
/// evaluated.
pub fn cel_preconditions_met(
    rule: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Result<bool, String> {
    let Some(conds) = rule.get("celPreconditions").and_then(Json::as_array) else {
        return Ok(true);
    };
    let old = ctx.old_object.clone().unwrap_or(Json::Null);
    let request = eval::request_json(resource, ctx);
    let object = if ctx.operation == "DELETE" {
        Json::Null
    } else {
        resource.clone()
    };
    let act = eval::activation(&object, &old, &request, &Json::Null, ctx);
    eval::match_conditions(conds, &act, &eval::Variables::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(cel: Json) -> Json {
        json!({"name": "r", "validate": {"cel": cel}})
    }

    fn pod(image: &str) -> Json {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team"},
               "spec": {"containers": [{"name": "c", "image": image}]}})
    }

    #[test]
    fn passes_and_fails_with_the_first_failing_message() {
        let r = rule(json!({"expressions": [
            {"expression": "object.spec.containers.all(c, c.image.contains(':'))", "message": "tag required"},
            {"expression": "object.spec.containers.all(c, !c.image.endsWith(':latest'))", "message": "no latest"}
        ]}));
        let ctx = EvalContext::default();
        let ok = validate_rule(&r, &pod("nginx:1.25"), &ctx);
        assert_eq!((ok.status, ok.rule.as_str()), (Status::Pass, "r"));
        let bad = validate_rule(&r, &pod("nginx"), &ctx);
        assert_eq!(
            (bad.status, bad.message.as_str()),
            (Status::Fail, "tag required")
        );
        let latest = validate_rule(&r, &pod("nginx:latest"), &ctx);
        assert_eq!(
            (latest.status, latest.message.as_str()),
            (Status::Fail, "no latest")
        );
    }

    #[test]
    fn message_expression_variables_and_namespace_object() {
        let r = rule(json!({
            "variables": [{"name": "images", "expression": "object.spec.containers.map(c, c.image)"}],
            "expressions": [{
                "expression": "variables.images.all(i, i.startsWith('registry.io/'))",
                "messageExpression": "'bad images in ' + namespaceObject.metadata.name + ': ' + variables.images.join(', ')"
            }]
        }));
        let res = validate_rule(&r, &pod("nginx:1"), &EvalContext::default());
        assert_eq!(res.status, Status::Fail);
        assert_eq!(res.message, "bad images in team: nginx:1");
    }

    #[test]
    fn errors_fail_the_rule() {
        let r = rule(json!({"expressions": [{"expression": "object.spec.missing.size() > 0"}]}));
        assert_eq!(
            validate_rule(&r, &pod("x"), &EvalContext::default()).status,
            Status::Fail
        );
    }

    #[test]
    fn cel_preconditions_skip() {
        let mut r = rule(json!({"expressions": [{"expression": "false"}]}));
        r["celPreconditions"] =
            json!([{"name": "only-updates", "expression": "request.operation == 'UPDATE'"}]);
        assert_eq!(
            validate_rule(&r, &pod("x"), &EvalContext::default()).status,
            Status::Skip
        );
        let ctx = EvalContext {
            operation: "UPDATE".into(),
            old_object: Some(pod("x")),
            ..EvalContext::default()
        };
        assert_eq!(validate_rule(&r, &pod("x"), &ctx).status, Status::Fail);
    }

    #[test]
    fn preconditions_for_any_rule() {
        let r = json!({"name": "r", "celPreconditions": [{"name": "c", "expression": "object.kind == 'Pod'"}]});
        assert_eq!(
            cel_preconditions_met(&r, &pod("x"), &EvalContext::default()),
            Ok(true)
        );
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
        assert_eq!(
            cel_preconditions_met(&r, &svc, &EvalContext::default()),
            Ok(false)
        );
        let bad = json!({"celPreconditions": [{"name": "c", "expression": "object.nope"}]});
        assert!(cel_preconditions_met(&bad, &svc, &EvalContext::default()).is_err());
        assert_eq!(
            cel_preconditions_met(&json!({}), &svc, &EvalContext::default()),
            Ok(true)
        );
    }

    #[test]
    fn params_are_an_error_offline() {
        let r = rule(
            json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}, "expressions": [{"expression": "true"}]}),
        );
        assert_eq!(
            validate_rule(&r, &pod("x"), &EvalContext::default()).status,
            Status::Error
        );
    }

    #[test]
    fn old_object_and_operation() {
        let r = rule(
            json!({"expressions": [{"expression": "request.operation != 'UPDATE' || object.spec.containers == oldObject.spec.containers", "message": "immutable"}]}),
        );
        let ctx = EvalContext {
            operation: "UPDATE".into(),
            old_object: Some(pod("a:1")),
            ..EvalContext::default()
        };
        assert_eq!(validate_rule(&r, &pod("a:2"), &ctx).status, Status::Fail);
        assert_eq!(validate_rule(&r, &pod("a:1"), &ctx).status, Status::Pass);
    }
}
