//! Stage 3 of `check`: the repository's own Kyverno policies (ClusterPolicy, Policy,
//! ValidatingPolicy, with their PolicyExceptions) evaluated against the repository's own
//! resources, as an admission request would (`CREATE`, namespace labels from the
//! repository's Namespace objects). A failing rule of an Enforce policy is an error, of an
//! Audit policy a warning, as Kyverno would block or only report it.

use homelab_diagnostics::{Diagnostic, Severity};
use homelab_k8s::ResourceExt;
use homelab_manifest::{Class, Document};
use homelab_policy::context::EvalContext;
use homelab_policy::engine::{self, Request, Values};
use homelab_policy::response::Status;
use homelab_report::RuleMeta;
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

fn is_policy(doc: &Document) -> bool {
    matches!(doc.class, Class::Object) && engine::is_policy(&doc.value)
}

fn is_exception(doc: &Document) -> bool {
    matches!(doc.class, Class::Object) && engine::is_exception(&doc.value)
}

/// `... failed at path /spec/containers/0/image/` → `/spec/containers/0/image`.
fn failed_path(message: &str) -> Option<String> {
    let rest = &message[message.find("at path ")? + "at path ".len()..];
    let path: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    let path = path.trim_end_matches('/').to_string();
    path.starts_with('/').then_some(path)
}

/// The kinds a ClusterPolicy/Policy can select, when that is certain: every rule's `match`
/// names its kinds, without wildcards. `None` = could match anything (evaluate always).
/// A pre-filter only: the engine still decides; this just skips the certain misses, which
/// is most of the work when a policy library meets a repository.
fn selectable_kinds(policy: &Value) -> Option<HashSet<String>> {
    fn collect<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "kinds" {
                        out.push(x);
                    } else {
                        collect(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    let kind = policy.get("kind").and_then(Value::as_str)?;
    if !matches!(kind, "ClusterPolicy" | "Policy") {
        return None;
    }
    let rules = policy.pointer("/spec/rules").and_then(Value::as_array)?;
    let mut kinds = HashSet::new();
    for rule in rules {
        let mut lists = Vec::new();
        collect(rule.get("match")?, &mut lists);
        if lists.is_empty() {
            return None;
        }
        for list in lists {
            for k in list.as_array()? {
                let k = k.as_str()?;
                if k.contains(['*', '?']) {
                    return None;
                }
                // `Kind`, `group/version/Kind`, `Kind/subresource`: keep every capitalised part.
                kinds.extend(
                    k.split('/')
                        .filter(|p| p.starts_with(|c: char| c.is_ascii_uppercase()))
                        .map(str::to_string),
                );
            }
        }
    }
    if kinds.contains("Pod") {
        kinds.extend(
            homelab_k8s::workload::POD_CONTROLLERS
                .iter()
                .map(|k| k.to_string()),
        );
    }
    Some(kinds)
}

/// Documentation of a repository policy's rule, from the policy's own annotations.
fn rule_meta(policy: &Document, id: &str, severity: Severity) -> RuleMeta {
    let annotation = |key: &str| {
        policy
            .value
            .pointer(&format!("/metadata/annotations/policies.kyverno.io~1{key}"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let name = policy.name().unwrap_or("?");
    let summary = annotation("title")
        .map(str::to_string)
        .unwrap_or_else(|| format!("Kyverno policy `{name}` of this repository"));
    let mut help = annotation("description").unwrap_or(&summary).to_string();
    help.push_str(&format!(
        "\n\nDefined in this repository at {}.",
        policy.start()
    ));
    RuleMeta {
        id: id.to_string(),
        summary,
        help,
        severity,
    }
}

/// Findings of the repository's own policies, and the documentation of each rule that fired.
pub fn run(documents: &[Document]) -> (Vec<Diagnostic>, Vec<RuleMeta>) {
    let policies: Vec<&Document> = documents.iter().filter(|d| is_policy(d)).collect();
    if policies.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let selects: Vec<Option<HashSet<String>>> = policies
        .iter()
        .map(|p| selectable_kinds(&p.value))
        .collect();
    let exceptions: Vec<Value> = documents
        .iter()
        .filter(|d| is_exception(d))
        .map(|d| d.value.clone())
        .collect();
    let namespace_labels: HashMap<&str, Map<String, Value>> = documents
        .iter()
        .filter(|d| d.kind() == Some("Namespace") && d.group().is_empty())
        .filter_map(|d| {
            let labels = d.value.labels().cloned().unwrap_or_default();
            Some((d.name()?, labels))
        })
        .collect();
    let values = Values::default();
    let resources: Vec<&Document> = documents
        .iter()
        .filter(|d| matches!(d.class, Class::Object) && !is_policy(d) && !is_exception(d))
        .collect();
    let diagnostics: Vec<Diagnostic> = resources
        .par_iter()
        .flat_map_iter(|resource| {
            let mut ctx = EvalContext::default();
            if let Some(ns) = resource.namespace() {
                let mut labels = namespace_labels.get(ns).cloned().unwrap_or_default();
                labels.insert(
                    "kubernetes.io/metadata.name".into(),
                    Value::String(ns.to_string()),
                );
                ctx.namespace_labels = Some(labels);
            }
            let request = Request {
                ctx: &ctx,
                exceptions: &exceptions,
                values: &values,
            };
            let mut out = Vec::new();
            let kind = resource.kind().unwrap_or("");
            for (policy, selects) in policies.iter().zip(&selects) {
                if selects.as_ref().is_some_and(|kinds| !kinds.contains(kind)) {
                    continue;
                }
                let Some(response) = engine::evaluate(&policy.value, &resource.value, &request) else {
                    continue;
                };
                for rule in response.rules {
                    let enforce = engine::failure_action(&policy.value, &rule.rule)
                        .eq_ignore_ascii_case("enforce");
                    let severity = match rule.status {
                        Status::Fail if enforce => Severity::Error,
                        Status::Fail | Status::Warn => Severity::Warning,
                        Status::Error => Severity::Error,
                        Status::Pass | Status::Skip => continue,
                    };
                    if rule.status == Status::Error {
                        // A policy that cannot be evaluated fails the same way on every
                        // object: one finding at the policy (counted below), not thousands.
                        out.push(
                            Diagnostic::error(
                                format!("policy/{}/{}", response.policy, rule.rule),
                                format!(
                                    "Kyverno policy `{}` rule `{}` could not be evaluated (first on {}): {}",
                                    response.policy,
                                    rule.rule,
                                    resource.id(),
                                    rule.message.trim()
                                ),
                            )
                            .at(policy.location("/metadata/name"))
                            .with_object(policy.id())
                            .with_help("the rule needs data an offline check does not have (cluster lookups, request details), or it is broken; run it with `homelab policy test` and fix or scope it"),
                        );
                        continue;
                    }
                    let pointer = failed_path(&rule.message).unwrap_or_else(|| "/metadata/name".into());
                    let verb = if enforce {
                        "blocks this object"
                    } else {
                        "reports this object (Audit)"
                    };
                    out.push(
                        Diagnostic::new(
                            format!("policy/{}/{}", response.policy, rule.rule),
                            severity,
                            format!("Kyverno policy `{}` rule `{}` {verb}: {}", response.policy, rule.rule, rule.message.trim()),
                        )
                        .at(resource.location(&pointer))
                        .with_object(resource.id())
                        .with_path(pointer)
                        .with_help(format!(
                            "change the object to satisfy the policy (defined at {}), or add a PolicyException with a reason",
                            policy.start()
                        )),
                    );
                }
            }
            out
        })
        .collect();
    let diagnostics = count_evaluation_errors(diagnostics);
    let mut metas: Vec<RuleMeta> = Vec::new();
    for d in &diagnostics {
        if metas.iter().any(|m| m.id == d.rule) {
            continue;
        }
        let policy_name = d.rule.split('/').nth(1).unwrap_or("");
        if let Some(policy) = policies
            .iter()
            .find(|p| engine::policy_name(&p.value) == policy_name)
        {
            metas.push(rule_meta(policy, &d.rule, d.severity));
        }
    }
    (diagnostics, metas)
}

/// Keep the first evaluation error of each policy rule and say on how many objects it failed.
fn count_evaluation_errors(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let is_eval_error = |d: &Diagnostic| d.path.is_none() && d.severity == Severity::Error;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for d in diagnostics.iter().filter(|d| is_eval_error(d)) {
        *counts.entry(d.rule.clone()).or_default() += 1;
    }
    let mut seen = std::collections::HashSet::new();
    diagnostics
        .into_iter()
        .filter_map(|mut d| {
            if !is_eval_error(&d) {
                return Some(d);
            }
            if !seen.insert(d.rule.clone()) {
                return None;
            }
            let n = counts.get(&d.rule).copied().unwrap_or(1);
            if n > 1 {
                d.message
                    .push_str(&format!(" (fails the same way on {n} objects)"));
            }
            Some(d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn kinds_prefilter_is_conservative() {
        let p = json!({"kind": "ClusterPolicy", "spec": {"rules": [
            {"match": {"any": [{"resources": {"kinds": ["Pod", "apps/v1/Deployment", "Pod/exec"]}}]}}]}});
        let kinds = super::selectable_kinds(&p).unwrap();
        assert!(kinds.contains("Pod") && kinds.contains("CronJob") && kinds.contains("Deployment"));
        assert!(!kinds.contains("Service"));
        let wildcard = json!({"kind": "ClusterPolicy", "spec": {"rules": [
            {"match": {"any": [{"resources": {"kinds": ["*"]}}]}}]}});
        assert!(super::selectable_kinds(&wildcard).is_none());
        let by_name = json!({"kind": "ClusterPolicy", "spec": {"rules": [
            {"match": {"any": [{"resources": {"names": ["x"]}}]}}]}});
        assert!(super::selectable_kinds(&by_name).is_none());
        let vpol = json!({"kind": "ValidatingPolicy", "spec": {}});
        assert!(super::selectable_kinds(&vpol).is_none());
    }

    #[test]
    fn finds_the_failed_path_in_kyverno_messages() {
        assert_eq!(
            super::failed_path(
                "validation error: bad. rule x failed at path /spec/containers/0/image/"
            ),
            Some("/spec/containers/0/image".to_string())
        );
        assert_eq!(super::failed_path("no path here"), None);
    }
}
