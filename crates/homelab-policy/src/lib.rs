//! Kyverno-compatible policy engine: match/exclude, patterns and anchors, conditions,
//! JMESPath, Pod Security, autogen, CEL policies, and the `kyverno test` runner.

pub mod response;
