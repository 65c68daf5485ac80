//! Kyverno's CEL rule kinds: `validate.cel` rules inside ClusterPolicy/Policy
//! ([`validate_rule`]), the `ValidatingPolicy` kinds
//! ([`evaluate_validating_policy`]) and Kubernetes' `ValidatingAdmissionPolicy`
//! ([`evaluate_validating_admission_policy`]), on top of `homelab-cel`.
//!
//! The policy engine calls these after its own match/exclude/preconditions
//! logic (validate.cel) or directly per resource (ValidatingPolicy).

mod autogen;
mod eval;
mod gpol;
mod libs;
mod matching;
mod mpol;
mod resources;
mod validate;
mod vap;
mod vpol;

pub use autogen::{rewrite_cluster_policy_cel, rewrite_cluster_policy_rule};
pub use gpol::{evaluate_generating_policy, is_generating_policy};
pub use matching::selector_matches;
pub use mpol::{
    evaluate_mutating_admission_policy, evaluate_mutating_policy, is_mutating_admission_policy,
    is_mutating_policy,
};
pub use resources::plural_for_kind;
pub use validate::{cel_preconditions_met, validate_rule};
pub use vap::{evaluate_validating_admission_policy, is_validating_admission_policy};
pub use vpol::{
    evaluate_validating_policy, evaluate_validating_policy_with_exceptions,
    is_cel_policy_exception, is_validating_policy, validating_policy_has_selector,
};
