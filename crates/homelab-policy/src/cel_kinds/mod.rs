//! Kyverno's CEL policy kinds on top of `homelab-cel`: `validate.cel` rules inside
//! ClusterPolicy/Policy ([`validate_rule`]); Kyverno's ValidatingPolicy,
//! MutatingPolicy, GeneratingPolicy, DeletingPolicy and ImageValidatingPolicy (and their
//! namespaced variants); Kubernetes' ValidatingAdmissionPolicy and
//! MutatingAdmissionPolicy with bindings and parameters. [`by_kind::evaluate`] dispatches
//! any of them; the libraries policies call (`resource.*`, `http.*`, `globalContext.*`,
//! `image.*`, ...) answer from the evaluation's mocks ([`crate::mocks`]).
//!
//! The policy engine calls these after its own match/exclude/preconditions
//! logic (validate.cel) or directly per resource (the policy kinds).

pub mod authz;
mod autogen;
mod bindings;
pub mod by_kind;
pub mod deleting_policy;
pub mod eval;
pub mod exceptions;
mod fields;
mod generating_policy;
pub mod image_validating_policy;
mod libs;
mod match_constraints;
pub mod mutating_admission_policy;
pub mod mutating_policy;
mod mutation;
mod opening;
mod resources;
mod validate_rule;
mod validating_admission_policy;
mod validating_policy;

pub use autogen::{rewrite_cluster_policy_cel, rewrite_cluster_policy_rule};
pub use generating_policy::{
    evaluate_generating_policy, evaluate_generating_policy_with_exceptions, is_generating_policy,
};
pub use match_constraints::selector_matches;
pub use mutating_admission_policy::{
    evaluate_mutating_admission_policy, is_mutating_admission_policy,
};
pub use mutating_policy::{evaluate_mutating_policy, is_mutating_policy};
pub use resources::plural_for_kind;
pub use validate_rule::{cel_preconditions_met, rule_bindings, validate_rule, validate_rule_with};
pub use validating_admission_policy::{
    evaluate_validating_admission_policy, is_validating_admission_policy,
};
pub use validating_policy::{
    evaluate_validating_policy, evaluate_validating_policy_with_exceptions,
    is_cel_policy_exception, is_validating_policy, validating_policy_has_selector,
};
