//! # `kyverno/critical-audit`: critical Kyverno policy in Audit mode
//!
//! ## What it checks
//! Kyverno `ClusterPolicy`/`Policy` objects that are critical — named in `platform.toml`
//! (the guide's `pod-security-baseline` by default), kept under a `security/` folder of the
//! policies, or annotated `policies.kyverno.io/severity: high|critical` — must run in
//! Enforce mode: `spec.validationFailureAction` (or the newer per-rule
//! `validate.failureAction`) must be `Enforce`. Outside a platform rendered from
//! `platform.toml` only the policies named as critical in `.homelab.toml`
//! (`critical_policies`) count: a policy library ships its high-severity policies in Audit
//! on purpose.
//!
//! ## Why
//! The success criteria ask for "Kyverno policies in Enforce mode for critical rules". In
//! Audit mode a privileged or root container is admitted and only shows up in a
//! PolicyReport that nobody reads.
//!
//! ## Example
//! ```yaml
//! kind: ClusterPolicy
//! metadata: { name: pod-security-baseline }
//! spec:
//!   validationFailureAction: Audit
//! ```
//!
//! ## Fix
//! `validationFailureAction: Enforce` (exempt system namespaces with a PolicyException,
//! not by auditing everything).

use crate::argo::relative_path;
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;
use serde_json::Value;

pub struct KyvernoCriticalAudit;

impl Rule for KyvernoCriticalAudit {
    fn id(&self) -> &'static str {
        "kyverno/critical-audit"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Critical Kyverno policy in Audit mode"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.objects() {
            if !matches!(doc.kind(), Some("ClusterPolicy" | "Policy"))
                || doc.group() != "kyverno.io"
            {
                continue;
            }
            let name = doc.name().unwrap_or("?");
            let path = relative_path(repo, doc);
            let severity = doc.annotation("policies.kyverno.io/severity").unwrap_or("");
            // Which policies are critical is the platform's decision; a library's severity
            // rating or folder says how bad a violation is, not that this repository enforces
            // it (policy libraries ship in Audit on purpose).
            let listed = settings.critical_policies.iter().any(|p| p == name);
            let fact = if listed {
                settings.fact(format_args!("`{name}` is a critical policy"))
            } else {
                format!(
                    "{} (a policy under security/ or rated high/critical is critical)",
                    settings.posture_fact()
                )
            };
            let critical = listed
                || (settings.guide_expectations()
                    && (path.contains("/security/")
                        || path.starts_with("security/")
                        || matches!(severity.to_ascii_lowercase().as_str(), "high" | "critical")));
            if !critical {
                continue;
            }
            let policy_action = doc
                .value
                .pointer("/spec/validationFailureAction")
                .and_then(Value::as_str);
            let audit = |a: Option<&str>| a.is_some_and(|a| a.eq_ignore_ascii_case("audit"));
            let rules = doc
                .value
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut any_rule_override = false;
            for (i, rule) in rules.iter().enumerate() {
                let Some(validate) = rule.get("validate") else {
                    continue;
                };
                let rule_action = validate.get("failureAction").and_then(Value::as_str);
                if rule_action.is_some() {
                    any_rule_override = true;
                }
                let effective = rule_action.or(policy_action);
                if audit(effective) || effective.is_none() {
                    let pointer = if rule_action.is_some() {
                        format!("/spec/rules/{i}/validate/failureAction")
                    } else if policy_action.is_some() {
                        "/spec/validationFailureAction".to_string()
                    } else {
                        "/spec".to_string()
                    };
                    let rule_name = rule.get("name").and_then(Value::as_str).unwrap_or("?");
                    out.push(finding(
                        self,
                        doc,
                        &pointer,
                        format!(
                            "critical policy `{name}` rule `{rule_name}` runs in {} mode",
                            if effective.is_none() { "Audit (the default)" } else { "Audit" }
                        ),
                        "set validationFailureAction: Enforce (and exempt system namespaces with a PolicyException)",
                    ).relying_on([fact.clone()]));
                }
            }
            let _ = any_rule_override;
        }
        out
    }
}
