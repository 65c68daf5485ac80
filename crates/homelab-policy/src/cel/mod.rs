//! Kyverno's CEL policy kinds on top of `homelab-cel`: `validate.cel` rules inside
//! ClusterPolicy/Policy ([`validate_rule`]); Kyverno's ValidatingPolicy,
//! MutatingPolicy, GeneratingPolicy, DeletingPolicy and ImageValidatingPolicy (and their
//! namespaced variants); Kubernetes' ValidatingAdmissionPolicy and
//! MutatingAdmissionPolicy with bindings and parameters. [`kinds::evaluate`] dispatches
//! any of them; the libraries policies call (`resource.*`, `http.*`, `globalContext.*`,
//! `image.*`, ...) answer from the evaluation's mocks ([`crate::mocks`]).
//!
//! The policy engine calls these after its own match/exclude/preconditions
//! logic (validate.cel) or directly per resource (the policy kinds).

pub mod authz;
mod autogen;
mod bindings;
pub mod dpol;
mod eval;
pub mod exceptions;
mod gpol;
pub mod ivpol;
pub mod kinds;
mod libs;
pub mod mapol;
mod matching;
pub mod mpol;
mod mutation;
mod resources;
mod validate;
mod vap;
mod vpol;

pub use autogen::{rewrite_cluster_policy_cel, rewrite_cluster_policy_rule};
pub use gpol::{
    evaluate_generating_policy, evaluate_generating_policy_with_exceptions, is_generating_policy,
};
pub use mapol::{evaluate_mutating_admission_policy, is_mutating_admission_policy};
pub use matching::selector_matches;
pub use mpol::{evaluate_mutating_policy, is_mutating_policy};
pub use resources::plural_for_kind;
pub use validate::{cel_preconditions_met, validate_rule};
pub use vap::{evaluate_validating_admission_policy, is_validating_admission_policy};
pub use vpol::{
    evaluate_validating_policy, evaluate_validating_policy_with_exceptions,
    is_cel_policy_exception, is_validating_policy, validating_policy_has_selector,
};
