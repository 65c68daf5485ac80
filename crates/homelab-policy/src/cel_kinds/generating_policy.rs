//! Kyverno `GeneratingPolicy` / `NamespacedGeneratingPolicy` (policies.kyverno.io), as
//! `kyverno test` evaluates one against a trigger resource:
//! - not selected by the match constraints, or a false match condition -> no result;
//! - a matching CEL `PolicyException` without lists -> skip (pass with
//!   `reportResult: pass`);
//! - an error anywhere (exceptions, match conditions, a generation) -> error;
//! - else pass, with the resources generated: each `generate` entry is either an
//!   expression whose `generator.Apply(namespace, [objects])` calls produce them (a list
//!   object's `items` are generated one by one), or a YAML `template` (with
//!   `interpolate: cel`, `(( expr ))` placeholders are replaced by their values: a
//!   whole scalar by the value itself, inside text by its string form).
//!
//! Offline the generated objects are what Kyverno's CLI reports: put in the namespace
//! asked for (none for cluster-scoped kinds when the test has a fake cluster, which
//! also strips server-set fields and annotations).

use std::sync::{Arc, Mutex};

use homelab_cel::{cel_to_json, Value};
use serde_json::{Map, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval;
use super::exceptions::{self, Decision};
use super::fields;
use super::opening::{self, Conditions, Opening};

/// Whether `doc` is a Kyverno GeneratingPolicy (cluster-wide or namespaced).
pub fn is_generating_policy(doc: &Json) -> bool {
    fields::is_kyverno_kind(doc, "GeneratingPolicy")
}

/// Applies a GeneratingPolicy to the trigger `resource`: `None` when it does not
/// select it, else its rule response and the resources it generates.
pub fn evaluate_generating_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Vec<Json>)> {
    evaluate_generating_policy_with_exceptions(policy, resource, ctx, &[])
}

/// [`evaluate_generating_policy`] with the CEL `PolicyException`s among `exceptions`.
pub fn evaluate_generating_policy_with_exceptions(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    all_exceptions: &[Json],
) -> Option<(Vec<RuleResponse>, Vec<Json>)> {
    let spec = policy.get("spec")?;
    let opening = Opening::new(policy, resource, ctx)?;
    if !opening.spec_selects(spec) {
        return None;
    }
    let respond = |status, message: String| {
        vec![RuleResponse::new(
            fields::policy_name(policy),
            status,
            message,
        )]
    };
    let pns = opening.policy_namespace().to_string();
    let mut act = opening.activation();
    let mine = exceptions::for_policy(policy, all_exceptions);
    match exceptions::decide(&mine, &mut act, false) {
        Decision::Evaluate => {}
        Decision::Exempt(status, message) => return Some((respond(status, message), Vec::new())),
        Decision::Error(e) => {
            return Some((
                respond(Status::Error, format!("failed to evaluate policy: {e}")),
                Vec::new(),
            ))
        }
    }
    match opening::match_conditions(spec, &act, &eval::Variables::default(), false) {
        Conditions::Met => {}
        Conditions::NotMet => return None,
        Conditions::Failed(e) => {
            return Some((
                respond(Status::Error, format!("failed to evaluate policy: {e}")),
                Vec::new(),
            ))
        }
    }
    let generated: Arc<Mutex<Vec<Json>>> = Arc::default();
    let sink = Arc::clone(&generated);
    let cluster = ctx.mocks.as_ref().is_some_and(|m| m.cluster);
    let mocks = ctx.mocks.clone();
    let cross_scope_ns = pns.clone();
    let apply = Arc::new(move |_: Option<&Value>, args: &[Value]| {
        let ns = match args.first() {
            Some(Value::String(s)) => s.to_string(),
            _ => return Err("generator.Apply: the namespace must be a string".into()),
        };
        let Some(Value::List(items)) = args.get(1) else {
            return Err("generator.Apply: the resources must be a list".into());
        };
        let objects: Vec<Json> = items.iter().map(cel_to_json).collect();
        let made = place(objects, &ns, cluster, &cross_scope_ns, mocks.as_deref())
            .map_err(|e| format!("failed to generate resources: {e}"))?;
        sink.lock()
            .map_err(|_| "generator.Apply: internal lock poisoned".to_string())?
            .extend(made);
        Ok(Value::Bool(true))
    });
    act.bind_function("generator.Apply", apply.clone());
    act.bind_function("generator.apply", apply);
    let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
    for g in fields::list(spec, "generate") {
        let outcome = match (g.get("template"), g.get("expression").and_then(Json::as_str)) {
            (Some(t), _) => render_template(t, &act, &vars).and_then(|docs| {
                let mut out = Vec::new();
                for doc in docs {
                    let mut ns = doc
                        .pointer("/metadata/namespace")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string();
                    if !pns.is_empty() {
                        if ns.is_empty() {
                            ns.clone_from(&pns);
                        } else if ns != pns {
                            return Err(format!("cross-namespace generation denied: a policy in namespace {pns:?} cannot generate resources into namespace {ns:?}"));
                        }
                    }
                    out.extend(
                        place(vec![doc], &ns, cluster, &pns, ctx.mocks.as_deref())
                            .map_err(|e| format!("failed to generate resources: {e}"))?,
                    );
                }
                if let Ok(mut g) = generated.lock() {
                    g.extend(out);
                }
                Ok(())
            }),
            (None, Some(expr)) => eval::eval_json(expr, &act, &vars).map(|_| ()),
            (None, None) => Err("a generate entry needs an expression or a template".into()),
        };
        if let Err(e) = outcome {
            return Some((
                respond(Status::Error, format!("failed to evaluate policy: {e}")),
                Vec::new(),
            ));
        }
    }
    if let Err((key, e)) = eval::audit_annotations(spec, &act, &vars) {
        return Some((
            respond(
                Status::Error,
                format!(
                    "failed to evaluate policy: failed to evaluate auditAnnotation {key:?}: {e}"
                ),
            ),
            Vec::new(),
        ));
    }
    let made = generated.lock().map(|g| g.clone()).unwrap_or_default();
    Some((
        respond(Status::Pass, "policy evaluated successfully".into()),
        made,
    ))
}

/// The objects `generator.Apply(namespace, objects)` produces, as Kyverno's CLI reports
/// them: list objects expanded into their items, each put in `namespace`. With a fake
/// cluster (the test's `clusterResources`), cluster-scoped kinds get no namespace (and a
/// namespaced policy may not create them), and server-set fields and annotations are
/// dropped.
fn place(
    objects: Vec<Json>,
    namespace: &str,
    cluster: bool,
    policy_namespace: &str,
    mocks: Option<&crate::mocks::Mocks>,
) -> Result<Vec<Json>, String> {
    let mut out = Vec::new();
    for o in objects {
        let items = match o.get("items") {
            Some(Json::Array(items)) => items.clone(),
            _ => vec![o],
        };
        for mut item in items {
            let api = item
                .get("apiVersion")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            let kind = item
                .get("kind")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            let mut target = namespace.to_string();
            if cluster {
                let namespaced = mocks
                    .and_then(|m| m.crd_namespaced(&api, &kind))
                    .unwrap_or_else(|| !crate::testrunner::is_cluster_scoped(&kind));
                if !namespaced {
                    if !namespace.is_empty() && !policy_namespace.is_empty() {
                        return Err(format!("cross-scope generation denied: a policy scoped to namespace {namespace:?} cannot generate cluster-scoped resource {api}/{kind}"));
                    }
                    target.clear();
                }
            }
            let Json::Object(obj) = &mut item else {
                out.push(item);
                continue;
            };
            let meta = obj
                .entry("metadata")
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(meta) = meta {
                if cluster {
                    for k in [
                        "uid",
                        "managedFields",
                        "annotations",
                        "resourceVersion",
                        "creationTimestamp",
                    ] {
                        meta.remove(k);
                    }
                }
                let source_ns = meta
                    .get("namespace")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string();
                if cluster && !source_ns.is_empty() && source_ns != target {
                    meta.remove("ownerReferences");
                }
                if target.is_empty() {
                    meta.remove("namespace");
                } else {
                    meta.insert("namespace".into(), Json::String(target.clone()));
                }
            }
            out.push(item);
        }
    }
    Ok(out)
}

/// Renders a `template` entry (`value`: YAML documents; `interpolate: cel` replaces
/// `(( expr ))` placeholders in values; `\((` is a literal `((`).
fn render_template(
    template: &Json,
    act: &homelab_cel::Activation,
    vars: &eval::Variables,
) -> Result<Vec<Json>, String> {
    let text = template.get("value").and_then(Json::as_str).unwrap_or("");
    let interpolate = template.get("interpolate").and_then(Json::as_str) == Some("cel");
    let docs = crate::yaml::parse_all("template", text)
        .map_err(|e| format!("failed to parse YAML: {e}"))?;
    if docs.is_empty() {
        return Err("template must contain at least one YAML document".into());
    }
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let v = if interpolate {
            render(doc, act, vars).map_err(|e| {
                format!(
                    "failed to render generation template: document {}: {e}",
                    i + 1
                )
            })?
        } else {
            doc.clone()
        };
        if !v.is_object() {
            return Err(format!(
                "failed to render generation template: document {}: expected a mapping describing a resource",
                i + 1
            ));
        }
        out.push(v);
    }
    Ok(out)
}

fn render(v: &Json, act: &homelab_cel::Activation, vars: &eval::Variables) -> Result<Json, String> {
    match v {
        Json::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                if k.contains("((") && !k.contains("\\((") {
                    return Err(format!("field {k:?}: placeholders are not supported in mapping keys; use a whole-value placeholder on the parent field instead"));
                }
                out.insert(
                    k.clone(),
                    render(x, act, vars).map_err(|e| format!("field {k:?}: {e}"))?,
                );
            }
            Ok(Json::Object(out))
        }
        Json::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| render(x, act, vars).map_err(|e| format!("item {i}: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        Json::String(s) => render_scalar(s, act, vars),
        other => Ok(other.clone()),
    }
}

/// A template scalar: literal text and `(( expr ))` placeholders.
enum Segment {
    Text(String),
    Expr(String),
}

fn scan(s: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if s[i..].starts_with("\\((") {
            text.push_str("((");
            i += 3;
            continue;
        }
        if s[i..].starts_with("((") {
            let (expr, next) = placeholder(s, i)?;
            if !text.is_empty() {
                out.push(Segment::Text(std::mem::take(&mut text)));
            }
            out.push(Segment::Expr(expr));
            i = next;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        text.push(ch);
        i += ch.len_utf8();
    }
    if !text.is_empty() {
        out.push(Segment::Text(text));
    }
    Ok(out)
}

/// The expression of the placeholder starting at `start` and the index after it;
/// parentheses and quotes inside the expression are balanced.
fn placeholder(s: &str, start: usize) -> Result<(String, usize), String> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let inner = start + 2;
    for (at, c) in homelab_cel::lexical::code_chars(&s[inner..]) {
        let i = inner + at;
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            ')' if b.get(i + 1) == Some(&b')') => {
                let expr = s[inner..i].trim();
                if expr.is_empty() {
                    return Err(format!("empty placeholder at offset {start}"));
                }
                return Ok((expr.to_string(), i + 2));
            }
            ')' => {
                return Err(format!(
                    "unbalanced parenthesis in placeholder starting at offset {start}"
                ))
            }
            _ => {}
        }
    }
    Err(format!(
        "unterminated placeholder starting at offset {start}: missing closing '))'"
    ))
}

fn render_scalar(
    s: &str,
    act: &homelab_cel::Activation,
    vars: &eval::Variables,
) -> Result<Json, String> {
    let segments = scan(s)?;
    let exprs = segments
        .iter()
        .filter(|x| matches!(x, Segment::Expr(_)))
        .count();
    if exprs == 0 {
        return Ok(Json::String(
            segments
                .into_iter()
                .map(|x| match x {
                    Segment::Text(t) | Segment::Expr(t) => t,
                })
                .collect(),
        ));
    }
    if let [Segment::Expr(e)] = segments.as_slice() {
        return eval::eval_json(e, act, vars)
            .map_err(|err| format!("failed to evaluate placeholder {e:?}: {err}"));
    }
    let mut out = String::new();
    for seg in segments {
        match seg {
            Segment::Text(t) => out.push_str(&t),
            Segment::Expr(e) => {
                match eval::eval_json(&e, act, vars)
                    .map_err(|err| format!("failed to evaluate placeholder {e:?}: {err}"))?
                {
                    Json::String(v) => out.push_str(&v),
                    v @ (Json::Bool(_) | Json::Number(_)) => out.push_str(&v.to_string()),
                    Json::Null => out.push_str("<nil>"),
                    _ => return Err(format!("placeholder {e:?} embedded in a string must evaluate to a scalar, got a structure; use a whole-value placeholder for structured results")),
                }
            }
        }
    }
    Ok(Json::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(generate: Json) -> Json {
        json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "GeneratingPolicy", "metadata": {"name": "g"},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["namespaces"]}]},
                "matchConditions": [{"name": "not-system", "expression": "!object.metadata.name.startsWith('kube-')"}],
                "variables": [{"name": "ns", "expression": "object.metadata.name"},
                              {"name": "labels", "expression": "{'team': object.metadata.name}"}],
                "generate": generate
            }
        })
    }

    fn ns(name: &str) -> Json {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    }

    #[test]
    fn generates_into_the_namespace() {
        let p = policy(
            json!([{"expression": "generator.Apply(variables.ns, [{'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'cm'}}])"}]),
        );
        assert!(is_generating_policy(&p));
        let (rules, made) =
            evaluate_generating_policy(&p, &ns("team"), &EvalContext::default()).unwrap();
        assert_eq!(rules[0].status, Status::Pass);
        assert_eq!(
            made,
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "team"}})
            ]
        );
        // a false match condition reports nothing, like a resource not selected
        assert!(
            evaluate_generating_policy(&p, &ns("kube-system"), &EvalContext::default()).is_none()
        );
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        assert!(evaluate_generating_policy(&p, &pod, &EvalContext::default()).is_none());
    }

    #[test]
    fn lists_are_generated_item_by_item() {
        let p = policy(
            json!([{"expression": "generator.apply(variables.ns, [{'apiVersion': 'v1', 'kind': 'SecretList', 'items': [{'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'a', 'namespace': 'default'}}, {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'b', 'namespace': 'default'}}]}])"}]),
        );
        let (_, made) =
            evaluate_generating_policy(&p, &ns("team"), &EvalContext::default()).unwrap();
        let names: Vec<(&str, &str)> = made
            .iter()
            .map(|m| {
                (
                    m["metadata"]["name"].as_str().unwrap(),
                    m["metadata"]["namespace"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(names, vec![("a", "team"), ("b", "team")]);
    }

    #[test]
    fn templates_interpolate_placeholders() {
        let p = policy(json!([{"template": {"interpolate": "cel", "value":
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: (( variables.ns ))-config\n  namespace: (( variables.ns ))\n  labels: (( variables.labels ))\ndata:\n  count: (( 1 + 2 ))\n  literal: \\((not a placeholder))\n"}}]));
        let (rules, made) =
            evaluate_generating_policy(&p, &ns("team"), &EvalContext::default()).unwrap();
        assert_eq!(rules[0].status, Status::Pass, "{}", rules[0].message);
        assert_eq!(
            made,
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "team-config", "namespace": "team", "labels": {"team": "team"}},
                "data": {"count": 3, "literal": "((not a placeholder))"}})]
        );
        let plain = policy(
            json!([{"template": {"value": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: (( x ))\n"}}]),
        );
        let (_, made) =
            evaluate_generating_policy(&plain, &ns("team"), &EvalContext::default()).unwrap();
        assert_eq!(made[0]["metadata"]["name"], "(( x ))");
    }

    #[test]
    fn exceptions_skip_and_errors_are_errors() {
        let p = policy(json!([{"expression": "generator.Apply(variables.ns, [object.nope])"}]));
        let (rules, made) =
            evaluate_generating_policy(&p, &ns("team"), &EvalContext::default()).unwrap();
        assert_eq!((rules[0].status, made.len()), (Status::Error, 0));
        let exc = json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "PolicyException",
            "metadata": {"name": "skip-team"},
            "spec": {"policyRefs": [{"name": "g", "kind": "GeneratingPolicy"}],
                     "matchConditions": [{"name": "team", "expression": "object.metadata.name == 'team'"}]}});
        let (rules, _) = evaluate_generating_policy_with_exceptions(
            &p,
            &ns("team"),
            &EvalContext::default(),
            &[exc],
        )
        .unwrap();
        assert_eq!(rules[0].status, Status::Skip);
    }
}
