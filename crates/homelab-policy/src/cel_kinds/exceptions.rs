//! CEL `PolicyException`s (policies.kyverno.io) of the CEL policy kinds, evaluated as
//! Kyverno does before a policy's own match conditions: an exception applies to the
//! policies its `spec.policyRefs` name (name and kind), and when its `matchConditions`
//! hold it either exempts the resource (no `images`/`allowedValues`: the policy reports
//! skip, or pass with `reportResult: pass`) or hands the policy lists to consult
//! (`exceptions.allowedImages`, `exceptions.allowedValues`).

use homelab_cel::Activation;
use serde_json::{json, Value as Json};

use crate::response::Status;

use super::eval::{self, Variables};
use super::fields;

/// Whether `doc` is a CEL `PolicyException` (policies.kyverno.io).
pub fn is_cel_policy_exception(doc: &Json) -> bool {
    doc.get("apiVersion")
        .and_then(Json::as_str)
        .is_some_and(|a| a.starts_with("policies.kyverno.io/"))
        && doc.get("kind").and_then(Json::as_str) == Some("PolicyException")
}

/// The CEL exceptions among `exceptions` that name `policy` (by name and kind).
pub fn for_policy<'a>(policy: &Json, exceptions: &'a [Json]) -> Vec<&'a Json> {
    let name = policy.pointer("/metadata/name").and_then(Json::as_str);
    let kind = policy.get("kind").and_then(Json::as_str);
    exceptions
        .iter()
        .filter(|e| is_cel_policy_exception(e))
        .filter(|e| {
            e.pointer("/spec/policyRefs")
                .and_then(Json::as_array)
                .is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r.get("name").and_then(Json::as_str) == name
                            && r.get("kind").and_then(Json::as_str) == kind
                    })
                })
        })
        .collect()
}

/// What the exceptions decide for one resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// No exception exempts it: evaluate the policy (with these allowed lists bound as
    /// `exceptions`).
    Evaluate,
    /// Exempted: the status (skip, or pass with `reportResult: pass`) and the message.
    Exempt(Status, String),
    /// An exception's match condition could not be evaluated.
    Error(String),
}

/// `namespace/name` (or `name`) of an exception, as Kyverno reports it.
fn key(e: &Json) -> String {
    let name = e
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("");
    match e.pointer("/metadata/namespace").and_then(Json::as_str) {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

fn strings(e: &Json, ptr: &str) -> Vec<Json> {
    e.pointer(ptr)
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Evaluates `exceptions` (those naming the policy) against the activation and binds
/// `exceptions.allowedImages/allowedValues` for the policy to read. `ignore_errors`
/// is the policy's `failurePolicy: Ignore` (a failing match condition then does not
/// match).
pub fn decide(exceptions: &[&Json], act: &mut Activation, ignore_errors: bool) -> Decision {
    let (mut images, mut values) = (Vec::new(), Vec::new());
    let mut matched: Vec<&Json> = Vec::new();
    let mut full = false;
    let no_vars = Variables::default();
    for e in exceptions {
        let conds = fields::list_at(e, "/spec/matchConditions");
        match eval::match_conditions(conds, act, &no_vars) {
            Ok(true) => {
                matched.push(e);
                let (i, v) = (
                    strings(e, "/spec/images"),
                    strings(e, "/spec/allowedValues"),
                );
                if i.is_empty() && v.is_empty() {
                    full = true;
                } else if !full {
                    images.extend(i);
                    values.extend(v);
                }
            }
            Ok(false) => {}
            Err(_) if full || ignore_errors => {}
            Err(err) => return Decision::Error(format!("failed to load context: {err}")),
        }
    }
    if full {
        let keys: Vec<String> = matched.iter().map(|e| key(e)).collect();
        // The matched exception with the highest `kyverno.io/exception-priority` decides
        // what is reported (the first one on a tie).
        let mut best = 0usize;
        let mut best_priority = 0i64;
        for (i, e) in matched.iter().enumerate() {
            let p = e
                .pointer("/metadata/labels/kyverno.io~1exception-priority")
                .and_then(Json::as_str)
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(0);
            if p > best_priority {
                best_priority = p;
                best = i;
            }
        }
        let pass = matched[best]
            .pointer("/spec/reportResult")
            .and_then(Json::as_str)
            == Some("pass");
        let (status, verb) = if pass {
            (Status::Pass, "passed")
        } else {
            (Status::Skip, "skipped")
        };
        return Decision::Exempt(
            status,
            format!(
                "rule is {verb} due to policy exception: {}",
                keys.join(", ")
            ),
        );
    }
    act.bind_json(
        "exceptions",
        &json!({"allowedImages": images, "allowedValues": values}),
    );
    Decision::Evaluate
}
/// The first of `exceptions` whose `matchConditions` hold (evaluated in order; an error
/// stops there).
pub fn first_holding<'e>(
    exceptions: impl IntoIterator<Item = &'e Json>,
    act: &Activation,
    vars: &Variables,
) -> Result<Option<&'e Json>, String> {
    for e in exceptions {
        if eval::match_conditions(fields::list_at(e, "/spec/matchConditions"), act, vars)? {
            return Ok(Some(e));
        }
    }
    Ok(None)
}
