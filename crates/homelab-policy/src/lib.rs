//! Kyverno-compatible policy engine: match/exclude, patterns and anchors, conditions,
//! JMESPath, Pod Security, autogen, CEL policies, and the `kyverno test` runner.

pub mod apply;
pub mod autogen;
pub mod cel_kinds;
pub mod conditions;
pub mod context;
pub mod context_mocks;
pub mod engine;
pub mod images;
pub mod jmes;
pub mod matching;
pub mod mocks;
pub mod mutate;
pub mod mutate_existing;
pub mod pattern;
pub mod pss;
pub mod response;
pub mod scalars;
pub mod testrunner;
pub mod values_file;
pub mod variables;
pub mod yaml;
