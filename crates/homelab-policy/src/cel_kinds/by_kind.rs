//! The CEL policy kinds in one place: given any policy document that is not a
//! ClusterPolicy/Policy, evaluate it against a resource with the kind's own rules
//! ([`super::validating_policy`], [`super::mutating_policy`], [`super::generating_policy`], [`super::deleting_policy`],
//! [`super::image_validating_policy`], [`super::validating_admission_policy`], [`super::mutating_admission_policy`]). Admission policy bindings and
//! parameter resources come from the evaluation's mocks.

use serde_json::Value as Json;

use crate::context::EvalContext;
use crate::response::RuleResponse;

/// What a CEL policy produced for one resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CelResponse {
    pub rules: Vec<RuleResponse>,
    /// The resource after a mutating policy (None when unchanged or not mutating).
    pub patched: Option<Json>,
    /// Resources a generating policy made.
    pub generated: Vec<Json>,
}

/// Whether `doc` is a policy kind this module evaluates.
pub fn is_cel_policy(doc: &Json) -> bool {
    super::is_validating_policy(doc)
        || super::is_mutating_policy(doc)
        || super::is_generating_policy(doc)
        || super::deleting_policy::is_deleting_policy(doc)
        || super::image_validating_policy::is_image_validating_policy(doc)
        || super::is_validating_admission_policy(doc)
        || super::is_mutating_admission_policy(doc)
}

/// Evaluates a CEL policy: `None` when the kind is not one of them, or when the
/// policy has nothing to report for the resource (Kyverno's CLI then has no response
/// for it).
pub fn evaluate(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    exceptions: &[Json],
) -> Option<CelResponse> {
    let (bindings, params): (&[Json], &[Json]) = match &ctx.mocks {
        Some(m) => (m.bindings(), m.params()),
        None => (&[], &[]),
    };
    if super::is_validating_policy(policy) {
        let rules =
            super::evaluate_validating_policy_with_exceptions(policy, resource, ctx, exceptions)?;
        return Some(CelResponse {
            rules,
            ..CelResponse::default()
        });
    }
    if super::is_mutating_policy(policy) {
        let (rules, patched) = super::mutating_policy::evaluate_mutating_policy_with_exceptions(
            policy, resource, ctx, exceptions,
        )?;
        return Some(CelResponse {
            rules,
            patched,
            ..CelResponse::default()
        });
    }
    if super::is_generating_policy(policy) {
        let (rules, generated) =
            super::generating_policy::evaluate_generating_policy_with_exceptions(
                policy, resource, ctx, exceptions,
            )?;
        return Some(CelResponse {
            rules,
            generated,
            ..CelResponse::default()
        });
    }
    if super::deleting_policy::is_deleting_policy(policy) {
        let rules =
            super::deleting_policy::evaluate_deleting_policy(policy, resource, ctx, exceptions)?;
        return Some(CelResponse {
            rules,
            ..CelResponse::default()
        });
    }
    if super::image_validating_policy::is_image_validating_policy(policy) {
        let rules = super::image_validating_policy::evaluate_image_validating_policy(
            policy, resource, ctx, exceptions,
        )?;
        return Some(CelResponse {
            rules,
            ..CelResponse::default()
        });
    }
    if super::is_validating_admission_policy(policy) {
        let rules =
            super::validating_admission_policy::evaluate_validating_admission_policy_with_params(
                policy, bindings, params, resource, ctx,
            )?;
        return Some(CelResponse {
            rules,
            ..CelResponse::default()
        });
    }
    if super::is_mutating_admission_policy(policy) {
        let (rules, patched) =
            super::mutating_admission_policy::evaluate_mutating_admission_policy_with_bindings(
                policy, bindings, params, resource, ctx,
            )?;
        return Some(CelResponse {
            rules,
            patched: patched.filter(|p| p != resource),
            ..CelResponse::default()
        });
    }
    None
}
