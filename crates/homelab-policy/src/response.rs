//! What evaluating a policy against a resource produces, in Kyverno's terms
//! (the rows of a PolicyReport). Shared by every rule type and policy kind.

use serde::Serialize;

/// A rule's result as a Kyverno PolicyReport reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Error,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Error => "error",
            Status::Skip => "skip",
        }
    }
}

/// One rule of one policy evaluated against one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResponse {
    /// Rule name; for rule-less kinds (ValidatingPolicy, ...) the policy name.
    pub rule: String,
    pub status: Status,
    pub message: String,
    /// The JSON pointer of the value that failed (pattern and anyPattern failures, in
    /// `foreach` too), e.g. `/spec/containers/0/image`; `None` when the rule does not
    /// point at one value (deny conditions, CEL expressions, errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mutate-existing rules: the target resources as the rule patched them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<serde_json::Value>,
}

impl RuleResponse {
    pub fn new(rule: impl Into<String>, status: Status, message: impl Into<String>) -> Self {
        RuleResponse {
            rule: rule.into(),
            status,
            message: message.into(),
            path: None,
            targets: Vec::new(),
        }
    }

    /// The same response pointing at the value that failed.
    pub fn at_path(mut self, path: Option<String>) -> Self {
        self.path = path;
        self
    }
}

/// Every rule response of one policy for one resource. `rules` empty means the policy
/// matched nothing in the resource (Kyverno counts that as pass/excluded in tests).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyResponse {
    /// `name` for cluster-wide kinds, `namespace/name` for namespaced `Policy`.
    pub policy: String,
    /// The resource's `apiVersion`, `kind`, `namespace`, `name`.
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub rules: Vec<RuleResponse>,
    /// The resource after the policy's mutate rules (None when no mutate rule applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patched_resource: Option<serde_json::Value>,
    /// Resources made by generate rules: (rule name, resource).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generated: Vec<(String, serde_json::Value)>,
}
