//! Stage 3 of `check`: the repository's own Kyverno policies (ClusterPolicy, Policy,
//! ValidatingPolicy, with their PolicyExceptions) evaluated against the repository's own
//! resources, as an admission request would (`CREATE`, namespace labels from the
//! repository's Namespace objects). A failing rule of an Enforce policy is an error, of an
//! Audit policy a warning, as Kyverno would block or only report it.

use super::simulate_reports::ResourceFilter;
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_k8s::ResourceExt;
use homelab_manifest::{Class, Document};
use homelab_policy::context::EvalContext;
use homelab_policy::engine::{self, PolicySet, Request};
use homelab_policy::response::Status;
use homelab_policy::values_file::ValuesFile;
use homelab_report::RuleMeta;
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// The documentation of this stage's findings (`homelab rules --explain policy/...`).
pub const RULE_DOC: homelab_diagnostics::RuleDoc = homelab_diagnostics::RuleDoc {
    id: "policy/*",
    severity: homelab_diagnostics::Severity::Error,
    summary: "The repository's own Kyverno policies against its own resources",
    doc: "# `policy/<policy>/<rule>`: the repository's Kyverno policies\n\n## What it checks\nEvery ClusterPolicy, Policy and ValidatingPolicy in the input (except those of files nothing in the repository applies, see `load/not-applied`), with its PolicyExceptions, evaluated against every other object as an admission request (CREATE), as `kyverno apply` would, except the objects that Kyverno's `resourceFilters` leave out: those of the repository's Kyverno config ConfigMap (`data.resourceFilters`), else of its chart values (`config.resourceFilters`), else Kyverno's defaults, which leave out every object in `kube-system`, `kube-public` and `kube-node-lease` (Kyverno neither admits nor scans them, so its policies never report them). A failing rule of an Enforce policy is an error (the cluster would reject the object), of an Audit policy a warning. A rule that cannot be evaluated is one finding at the policy: a note when the rule generates or mutates, or reads its context from the live cluster or a registry (`apiCall`, `globalReference`, `imageRegistry`), which no offline check has; an error otherwise. When a platform rule reports the same line, the policy finding is folded into it.\n\n## Why\nA manifest that the cluster's Kyverno rejects fails the ArgoCD sync; finding it in review is cheaper.\n\n## Example\nA Deployment with `image: nginx:latest` under the guide's `disallow-latest-tag`.\n\n## Fix\nChange the object, or add a narrowly matched PolicyException with a reason.",
};

/// Kyverno's default `resourceFilters` (its Helm chart's `config.resourceFilters`, less the
/// entries for Kyverno's own objects): what Kyverno neither admits nor scans, the system
/// namespaces among them.
const DEFAULT_RESOURCE_FILTERS: &str = "[Event,*,*] [*/*,kube-system,*] [*/*,kube-public,*] \
    [*/*,kube-node-lease,*] [Node,*,*] [Node/*,*,*] [APIService,*,*] [APIService/*,*,*] \
    [TokenReview,*,*] [SubjectAccessReview,*,*] [SelfSubjectAccessReview,*,*] [Binding,*,*] \
    [Pod/binding,*,*] [ReplicaSet,*,*] [ReplicaSet/*,*,*] [EphemeralReport,*,*] \
    [ClusterEphemeralReport,*,*]";

/// The `resourceFilters` of the repository's Kyverno: its config ConfigMap's
/// `data.resourceFilters`, else the `config.resourceFilters` list its chart values set (a
/// Flux HelmRelease, an Argo CD `valuesObject`, a values file; entries written as templates
/// are left out), else Kyverno's defaults.
fn resource_filters(documents: &[Document]) -> Vec<ResourceFilter> {
    let configured = documents.iter().find_map(|d| {
        (d.class == Class::Object && d.kind() == Some("ConfigMap") && d.group().is_empty())
            .then(|| {
                d.value
                    .pointer("/data/resourceFilters")
                    .and_then(Value::as_str)
            })
            .flatten()
    });
    if let Some(text) = configured {
        return ResourceFilter::parse_all(text);
    }
    let from_values = documents
        .iter()
        .find_map(|d| values_resource_filters(&d.value, 0));
    match from_values {
        Some(entries) => entries
            .iter()
            .filter(|e| !e.contains("{{"))
            .flat_map(|e| ResourceFilter::parse_all(e))
            .collect(),
        None => ResourceFilter::parse_all(DEFAULT_RESOURCE_FILTERS),
    }
}

/// A `config.resourceFilters` list of strings anywhere in `value` (chart values nest it
/// under `spec.values`, `helm.valuesObject`, or hold it at the top of a values file).
fn values_resource_filters(value: &Value, depth: usize) -> Option<Vec<&str>> {
    const MAX_DEPTH: usize = 8;
    let map = value.as_object()?;
    if let Some(list) = map
        .get("config")
        .and_then(|c| c.get("resourceFilters"))
        .and_then(Value::as_array)
    {
        return Some(list.iter().filter_map(Value::as_str).collect());
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    map.values()
        .find_map(|v| values_resource_filters(v, depth + 1))
}

fn is_policy(doc: &Document) -> bool {
    matches!(doc.class, Class::Object) && engine::is_policy(&doc.value)
}

fn is_exception(doc: &Document) -> bool {
    matches!(doc.class, Class::Object) && engine::is_exception(&doc.value)
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
    run_applied(documents, &BTreeSet::new())
}

/// [`run`] with the policies that the repository applies: those of the files named in
/// `not_applied` (source names of files nothing in the repository applies) enforce nothing.
pub fn run_applied(
    documents: &[Document],
    not_applied: &BTreeSet<&str>,
) -> (Vec<Diagnostic>, Vec<RuleMeta>) {
    let policies: Vec<&Document> = documents
        .iter()
        .filter(|d| is_policy(d) && !not_applied.contains(d.source.name.as_str()))
        .collect();
    if policies.is_empty() {
        return (Vec::new(), Vec::new());
    }
    // Compiled once; each resource meets only the policies that can select its kind.
    let set = PolicySet::compile(policies.iter().map(|p| &p.value));
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
    let values = ValuesFile::default();
    // Kyverno neither admits nor scans what its resource filters leave out (by default
    // everything in kube-system, kube-public and kube-node-lease).
    let filters = resource_filters(documents);
    let filtered = |d: &Document| {
        filters.iter().any(|f| {
            f.matches(
                d.kind().unwrap_or(""),
                d.namespace().unwrap_or(""),
                d.name().unwrap_or(""),
            )
        })
    };
    let resources: Vec<&Document> = documents
        .iter()
        .filter(|d| matches!(d.class, Class::Object) && !is_policy(d) && !is_exception(d))
        .filter(|d| !filtered(d))
        .collect();
    let diagnostics: Vec<Diagnostic> = resources
        .par_iter()
        .flat_map_iter(|resource| {
            let mut ctx = EvalContext::default();
            let namespace_unknown = resource.namespace().is_none()
                && resource
                    .kind()
                    .is_some_and(|k| !homelab_policy::testrunner::is_cluster_scoped(k));
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
            for (pi, response) in set.evaluate(&resource.value, &request) {
                let (policy, compiled) = (policies[pi], &set.policies()[pi]);
                for rule in response.rules {
                    let enforce = compiled
                        .failure_action(&rule.rule)
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
                        // A generate or mutate rule does not judge the object: what it needs
                        // (a clone source, fields the API server sets) exists only in the
                        // cluster, so not evaluating it offline says nothing about the repo.
                        let offline_only = compiled.rule_creates_or_changes(&rule.rule);
                        let (severity, help) = if offline_only {
                            (Severity::Note, "a generate or mutate rule acts on what the cluster holds at admission; an offline check does not evaluate it: run it with `homelab policy test` and the resources it needs")
                        } else if rule_reads_the_cluster(&policy.value, &rule.rule) {
                            (Severity::Note, "the rule reads the live cluster or a registry (a context `apiCall`, `globalReference` or `imageRegistry` entry): an offline check does not evaluate it; run it with `homelab policy test` and values for that context")
                        } else {
                            (Severity::Error, "the rule needs data an offline check does not have (cluster lookups, request details), or it is broken; run it with `homelab policy test` and fix or scope it")
                        };
                        out.push(
                            Diagnostic::new(
                                format!("policy/{}/{}", response.policy, rule.rule),
                                severity,
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
                            .with_help(help),
                        );
                        continue;
                    }
                    let pointer = rule.path.clone().unwrap_or_else(|| "/metadata/name".into());
                    let verb = if enforce {
                        "blocks this object"
                    } else {
                        "reports this object (Audit)"
                    };
                    let mut found = Diagnostic::new(
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
                    ));
                    if namespace_unknown && selects_by_namespace(&policy.value) {
                        found = found.relying_on([
                            "the object names no namespace and nothing in the repository gives it one: it lands where `kubectl apply -n` puts it, and this policy chooses objects by their namespace: not judged",
                        ]);
                        found.severity = Severity::Note;
                    }
                    out.push(found);
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

/// Whether a policy chooses the objects it judges by their namespace: a `namespaceSelector`
/// or a `namespaces` list in its match constraints, or in a rule's `match` or `exclude`.
fn selects_by_namespace(policy: &Value) -> bool {
    fn names_namespaces(v: &Value, depth: usize) -> bool {
        match v {
            Value::Object(map) if depth < 8 => map.iter().any(|(k, v)| {
                let set = match v {
                    Value::Object(m) => !m.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    _ => false,
                };
                (set && (k == "namespaceSelector" || k == "namespaces"))
                    || names_namespaces(v, depth + 1)
            }),
            Value::Array(items) if depth < 8 => {
                items.iter().any(|v| names_namespaces(v, depth + 1))
            }
            _ => false,
        }
    }
    let Some(spec) = policy.get("spec") else {
        return false;
    };
    let rules = spec
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    spec.get("matchConstraints")
        .into_iter()
        .chain(rules.flat_map(|r| [r.get("match"), r.get("exclude")].into_iter().flatten()))
        .any(|v| names_namespaces(v, 0))
}

/// Keep the first evaluation error of each policy rule and say on how many objects it failed.
fn count_evaluation_errors(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    // Findings on an object carry the path they judge; evaluation failures carry none.
    let is_eval_error = |d: &Diagnostic| d.path.is_none();
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

/// Whether a Kyverno rule (by name; `autogen-` names are those of the rule they come from)
/// loads context from the live cluster or a registry: an `apiCall` (API server or service
/// call), a `globalReference` (a cached cluster lookup) or an `imageRegistry` entry. No
/// offline check has that data, so such a rule failing to evaluate says nothing about the
/// repository.
fn rule_reads_the_cluster(policy: &Value, rule: &str) -> bool {
    let name = rule
        .strip_prefix("autogen-cronjob-")
        .or_else(|| rule.strip_prefix("autogen-"))
        .unwrap_or(rule);
    policy
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            let n = r.get("name").and_then(Value::as_str);
            n == Some(rule) || n == Some(name)
        })
        .filter_map(|r| r.get("context").and_then(Value::as_array))
        .flatten()
        .any(|entry| {
            ["apiCall", "globalReference", "imageRegistry"]
                .iter()
                .any(|k| entry.get(*k).is_some())
        })
}
