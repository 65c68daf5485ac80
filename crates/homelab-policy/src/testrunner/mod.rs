//! `kyverno test`: find `kyverno-test.yaml` files, load what they name relative to the
//! file ([`load`]), evaluate every policy against every resource the way Kyverno's CLI
//! does, and compare each expected result as it does ([`compare`]).
//!
//! Per resource, in Kyverno's order: ClusterPolicy/Policy mutations (each sees the
//! resource as mutated so far), the other ClusterPolicy/Policy rules, then
//! MutatingAdmissionPolicies and MutatingPolicies (mutating further), then
//! ValidatingAdmissionPolicies, ValidatingPolicies and GeneratingPolicies on the
//! mutated resource; ImageValidatingPolicies and DeletingPolicies see the resource as
//! written. Mutate-existing policies patch the test's target resources; JSON payloads
//! go to JSON-mode ValidatingPolicies and DeletingPolicies. A result that declares an
//! `operation` is compared with a run for that operation.

mod checks;
mod compare;
mod load;

use crate::context::EvalContext;
use crate::engine;
use crate::mocks::{Mocks, Shared};
use crate::response::{PolicyResponse, Status};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use load::Loaded;

/// One compared expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub policy: String,
    pub rule: String,
    /// `kind/namespace/name` (a JSON payload: its file name).
    pub resource: String,
    pub expected: String,
    /// `None` when Kyverno reports the row as passed without a result (`Excluded`).
    pub actual: Option<String>,
    pub ok: bool,
    pub test: String,
    /// Why the row passed or failed (`Ok`, `Excluded`, `Want pass, got fail`, a resource
    /// difference, ...).
    pub reason: String,
    /// The engine's message for the rule (shown with `--detailed-results`).
    pub message: String,
    #[serde(skip)]
    pub file: String,
}

/// Test files under `dir` (or `dir` itself if it is a file): `kyverno-test.yaml`, and
/// `test.yaml` holding a Test.
pub fn find_test_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return out;
    }
    walk(dir, 0, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 32 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if name == ".git" || name == "node_modules" {
                continue;
            }
            walk(&p, depth + 1, out);
        } else if !ft.is_file() {
            // Links, FIFOs and devices found while walking are never read.
            continue;
        } else if name == "kyverno-test.yaml" || name == "kyverno-test.yml" {
            out.push(p);
        } else if name == "test.yaml" || name == "test.yml" {
            if let Ok(t) = load::read_text(&p) {
                if t.contains("results:") && t.contains("policies:") {
                    out.push(p);
                }
            }
        }
    }
}

/// Case-insensitive key lookup (Go's encoding/json matches field names that way).
pub(crate) fn get<'a>(m: &'a Value, key: &str) -> Option<&'a Value> {
    let o = m.as_object()?;
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

pub(crate) fn strs(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Kinds that have no namespace (the CLI puts every other namespace-less resource in
/// `default`).
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding"
            | "PriorityClass"
            | "IngressClass"
            | "RuntimeClass"
            | "APIService"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
            | "CertificateSigningRequest"
            | "PodSecurityPolicy"
            | "ClusterPolicy"
            | "ClusterIssuer"
            | "ClusterPolicyReport"
            | "ClusterCleanupPolicy"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
            | "ComponentStatus"
            | "ClusterServiceVersion"
            | "Project"
            | "ClusterVersion"
            | "SecurityContextConstraints"
            | "ClusterSecretStore"
            | "ClusterExternalSecret"
            | "GlobalContextEntry"
            | "ClusterTask"
            | "ClusterTriggerBinding"
            | "ClusterInterceptor"
            | "NodePool"
            | "EC2NodeClass"
            | "Provisioner"
            | "AWSNodeTemplate"
            | "ClusterAdmissionReport"
            | "ClusterEphemeralReport"
            | "ClusterBackgroundScanReport"
    )
}

/// Put a namespace-less namespaced resource into `default`, as the Kyverno CLI does.
pub fn default_namespace(d: Value) -> Value {
    default_namespace_with(d, &Mocks::default())
}

/// [`default_namespace`], knowing the custom kinds the test's CRDs declare.
pub fn default_namespace_with(mut d: Value, mocks: &Mocks) -> Value {
    let kind = d
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api = d
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let namespaced = mocks
        .crd_namespaced(&api, &kind)
        .unwrap_or_else(|| !is_cluster_scoped(&kind));
    if !namespaced {
        return d;
    }
    if let Some(Value::Object(meta)) = d.get_mut("metadata") {
        let empty = meta
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if empty {
            meta.insert("namespace".into(), Value::String("default".into()));
        }
    }
    d
}

/// Does any rule of the policy (autogen included) select the resource's kind? The CLI
/// only applies a policy to resources of the kinds it names.
fn policy_applies_to_kind(policy: &Value, resource: &Value, ctx: &EvalContext) -> bool {
    let kind = policy.get("kind").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "ClusterPolicy" | "Policy") {
        return true;
    }
    let subj = crate::matching::Subject::new(resource, ctx);
    crate::autogen::expand_rules(policy).iter().any(|rule| {
        let m = rule.get("match");
        let mut kinds: Vec<String> = Vec::new();
        let mut push = |r: Option<&Value>| {
            if let Some(Value::Array(k)) = r.and_then(|r| r.get("kinds")) {
                kinds.extend(k.iter().filter_map(|x| x.as_str().map(str::to_string)));
            }
        };
        push(m.and_then(|m| m.get("resources")));
        for key in ["any", "all"] {
            if let Some(Value::Array(fs)) = m.and_then(|m| m.get(key)) {
                for f in fs {
                    push(f.get("resources"));
                }
            }
        }
        kinds.is_empty() || crate::matching::kind_matches(&kinds, &subj)
    })
}

/// Run every Test document of one file.
pub fn run_file(path: &Path) -> Result<Vec<Row>, String> {
    let text = load::read_text(path)?;
    let docs = crate::yaml::parse_all(&path.display().to_string(), &text)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    for doc in docs {
        if !doc.is_object() {
            continue;
        }
        rows.extend(run_doc(&doc, base, path));
    }
    Ok(rows)
}

/// What one evaluation is about.
#[derive(Debug, Clone, PartialEq)]
enum SubjectKind {
    /// One of the test's resources (a trigger).
    Resource,
    /// A target resource patched by a mutate-existing policy.
    Target,
    /// A JSON payload.
    Payload,
}

#[derive(Debug, Clone)]
struct Subject {
    kind: SubjectKind,
    /// An authorization check request (HTTP or Envoy) rather than a JSON payload.
    authz: Option<crate::cel_kinds::authz::Mode>,
    doc: Value,
    /// `kind/namespace/name`, or the payload's file name.
    label: String,
    namespace: String,
    name: String,
}

impl Subject {
    fn object(kind: SubjectKind, doc: &Value) -> Subject {
        let s = |p: &str| {
            doc.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (k, ns, n) = (s("/kind"), s("/metadata/namespace"), s("/metadata/name"));
        Subject {
            kind,
            authz: None,
            doc: doc.clone(),
            label: format!("{k}/{ns}/{n}"),
            namespace: ns,
            name: n,
        }
    }
}

/// One policy's response for one subject.
#[derive(Debug, Clone)]
struct Resp {
    subject: usize,
    policy: usize,
    response: PolicyResponse,
}

/// The kinds of policy, in the order Kyverno's CLI applies them to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    KyvernoMutate,
    Kyverno,
    MutatingAdmission,
    Mutating,
    Validating,
    ImageValidating,
    Deleting,
}

fn phase_of(policy: &Value) -> Phase {
    let kind = policy.get("kind").and_then(Value::as_str).unwrap_or("");
    if matches!(kind, "ClusterPolicy" | "Policy") {
        let mutates = policy
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .is_some_and(|rs| rs.iter().any(|r| r.get("mutate").is_some()));
        return if mutates {
            Phase::KyvernoMutate
        } else {
            Phase::Kyverno
        };
    }
    if crate::cel_kinds::is_mutating_admission_policy(policy) {
        Phase::MutatingAdmission
    } else if crate::cel_kinds::is_mutating_policy(policy) {
        Phase::Mutating
    } else if crate::cel_kinds::image_validating_policy::is_image_validating_policy(policy) {
        Phase::ImageValidating
    } else if crate::cel_kinds::deleting_policy::is_deleting_policy(policy) {
        Phase::Deleting
    } else {
        Phase::Validating
    }
}

/// The evaluation context of `resource` for `operation`.
fn context_for(l: &Loaded, mocks: &Shared, resource: &Value, operation: &str) -> EvalContext {
    let ns = resource
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ns_key = if resource.get("kind").and_then(Value::as_str) == Some("Namespace") {
        resource
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    } else {
        ns
    };
    let api = resource
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = resource.get("kind").and_then(Value::as_str).unwrap_or("");
    let subresource = l
        .subresources
        .iter()
        .find(|(a, k, _)| a == api && k == kind)
        .map(|(_, _, sr)| sr.clone());
    EvalContext {
        subresource,
        operation: operation.to_string(),
        user_info: l.user.clone(),
        values: l.values.global.clone(),
        namespace_labels: Some(l.namespace_labels.get(ns_key).cloned().unwrap_or_default()),
        namespace_object: l.namespaces.get(ns_key).cloned(),
        // The CLI has no stored version: an UPDATE or DELETE sees the resource as old.
        old_object: matches!(operation, "UPDATE" | "DELETE").then(|| resource.clone()),
        mocks: Some(mocks.clone()),
        ..EvalContext::default()
    }
}

/// Every policy evaluated against every subject, for one operation. `default_run`:
/// the run without an explicit operation (DeletingPolicies are only evaluated there).
fn evaluate_all(
    l: &Loaded,
    subjects: &[Subject],
    prepared: &[engine::CompiledPolicy],
    mocks: &Shared,
    operation: &str,
    default_run: bool,
) -> Vec<Resp> {
    let mut order: Vec<usize> = (0..l.policies.len()).collect();
    order.sort_by_key(|&i| phase_of(&l.policies[i]));
    let resources: Vec<usize> = subjects
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == SubjectKind::Resource)
        .map(|(i, _)| i)
        .collect();
    let mut out = Vec::new();
    for ri in resources {
        let original = subjects[ri].doc.clone();
        let mut current = original.clone();
        let mut mutating_resps = Vec::new();
        for &pi in &order {
            let policy = &l.policies[pi];
            if crate::cel_kinds::authz::mode(policy).is_some() {
                continue;
            }
            let phase = phase_of(policy);
            if phase == Phase::Deleting && !default_run {
                continue;
            }
            let base = if matches!(phase, Phase::ImageValidating | Phase::Deleting) {
                original.clone()
            } else {
                current.clone()
            };
            let base = &base;
            let ctx = context_for(l, mocks, base, operation);
            if !policy_applies_to_kind(policy, base, &ctx) {
                continue;
            }
            let req = engine::Request {
                ctx: &ctx,
                exceptions: &l.exceptions,
                values: &l.values,
            };
            let Some(mut resp) = prepared[pi].evaluate(base, &req) else {
                continue;
            };
            if matches!(
                phase,
                Phase::KyvernoMutate | Phase::MutatingAdmission | Phase::Mutating
            ) {
                if let Some(p) = &resp.patched_resource {
                    current = p.clone();
                }
            }
            // Rows compare the resource as this policy saw (or left) it.
            if resp.patched_resource.is_none() {
                resp.patched_resource = Some(base.clone());
            }
            if phase == Phase::Mutating {
                mutating_resps.push(out.len());
            }
            out.push(Resp {
                subject: ri,
                policy: pi,
                response: resp,
            });
        }
        // MutatingPolicies report the resource as all of them mutated it.
        if current != original {
            for &i in &mutating_resps {
                let r: &mut Resp = &mut out[i];
                if r.response.rules.iter().any(|x| x.status == Status::Pass) {
                    r.response.patched_resource = Some(current.clone());
                }
            }
        }
        out.extend(mutate_existing_targets(l, subjects, mocks, ri, operation));
    }
    for (si, subject) in subjects.iter().enumerate() {
        if subject.kind != SubjectKind::Payload {
            continue;
        }
        let payload = &subject.doc;
        if let Some(mode) = subject.authz {
            for (pi, policy) in l.policies.iter().enumerate() {
                if crate::cel_kinds::authz::mode(policy) != Some(mode) {
                    continue;
                }
                let ctx = EvalContext {
                    mocks: Some(mocks.clone()),
                    ..EvalContext::default()
                };
                let rules =
                    crate::cel_kinds::authz::evaluate(policy, mode, payload, &ctx, &l.exceptions);
                out.push(Resp {
                    subject: si,
                    policy: pi,
                    response: PolicyResponse {
                        policy: engine::policy_name(policy),
                        api_version: String::new(),
                        kind: String::new(),
                        namespace: String::new(),
                        name: String::new(),
                        rules,
                        patched_resource: None,
                        generated: Vec::new(),
                    },
                });
            }
            continue;
        }
        for (pi, policy) in l.policies.iter().enumerate() {
            let json_mode = policy
                .pointer("/spec/evaluation/mode")
                .and_then(Value::as_str)
                == Some("JSON");
            let applies = (crate::cel_kinds::is_validating_policy(policy) && json_mode)
                || (crate::cel_kinds::deleting_policy::is_deleting_policy(policy) && default_run);
            if !applies {
                continue;
            }
            let ctx = EvalContext {
                mocks: Some(mocks.clone()),
                ..EvalContext::default()
            };
            let req = engine::Request {
                ctx: &ctx,
                exceptions: &l.exceptions,
                values: &l.values,
            };
            if let Some(resp) = prepared[pi].evaluate(payload, &req) {
                out.push(Resp {
                    subject: si,
                    policy: pi,
                    response: resp,
                });
            }
        }
    }
    out
}

/// The responses of MutatingPolicies with `mutateExisting` applied to each of the test's
/// target resources for the admission of one trigger (their rule responses carry the
/// patched targets, as those of ClusterPolicy rules with `mutate.targets` do).
fn mutate_existing_targets(
    l: &Loaded,
    subjects: &[Subject],
    mocks: &Shared,
    trigger_index: usize,
    operation: &str,
) -> Vec<Resp> {
    let trigger = subjects[trigger_index].doc.clone();
    let mut out = Vec::new();
    let has_mpol = l.policies.iter().any(crate::cel_kinds::is_mutating_policy);
    if !has_mpol {
        return out;
    }
    for target in &l.targets {
        for (pi, policy) in l.policies.iter().enumerate() {
            if !crate::cel_kinds::is_mutating_policy(policy)
                || !crate::cel_kinds::mutating_policy::mutates_existing(policy)
            {
                continue;
            }
            let ctx = context_for(l, mocks, &trigger, operation);
            if !crate::cel_kinds::mutating_policy::targets(policy, &trigger, target, &ctx) {
                continue;
            }
            let Some((mut rules, patched)) = crate::cel_kinds::mutating_policy::mutate_existing(
                policy,
                &trigger,
                target,
                &ctx,
                &l.exceptions,
            ) else {
                continue;
            };
            if rules.is_empty() {
                continue;
            }
            for r in &mut rules {
                if r.status == Status::Pass {
                    r.targets = vec![patched.clone().unwrap_or_else(|| target.clone())];
                }
            }
            let mut resp = PolicyResponse {
                policy: engine::policy_name(policy),
                api_version: String::new(),
                kind: String::new(),
                namespace: String::new(),
                name: String::new(),
                rules: Vec::new(),
                patched_resource: None,
                generated: Vec::new(),
            };
            resp.rules = rules;
            out.push(Resp {
                subject: trigger_index,
                policy: pi,
                response: resp,
            });
        }
    }
    out
}

/// Run one Test document.
fn run_doc(test: &Value, base: &Path, path: &Path) -> Vec<Row> {
    let test_name = get(test, "metadata")
        .and_then(|m| get(m, "name"))
        .or_else(|| get(test, "name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut l = load::load(test, base);
    let results = match get(test, "results") {
        Some(Value::Array(r)) => r.clone(),
        _ => Vec::new(),
    };
    // Clone sources (generate.clone) come from the results' `cloneSourceResource`.
    for e in &results {
        for f in strs(get(e, "cloneSourceResource")) {
            let docs = load::read_docs(base, &f, &mut l.errors);
            l.values.clone_sources.extend(docs);
        }
    }
    let mocks = Shared(Arc::new(std::mem::take(&mut l.mocks)));
    let prepared: Vec<engine::CompiledPolicy> = l
        .policies
        .iter()
        .map(engine::CompiledPolicy::compile)
        .collect();
    let mut subjects: Vec<Subject> = l
        .resources
        .iter()
        .map(|r| Subject::object(SubjectKind::Resource, r))
        .collect();
    for t in &l.targets {
        let t = Subject::object(SubjectKind::Target, t);
        if !subjects
            .iter()
            .any(|s| s.kind == SubjectKind::Target && s.label == t.label)
        {
            subjects.push(t);
        }
    }
    for (name, doc) in &l.payloads {
        subjects.push(Subject {
            kind: SubjectKind::Payload,
            authz: None,
            doc: doc.clone(),
            label: name.clone(),
            namespace: String::new(),
            name: name.clone(),
        });
    }
    for (name, doc, mode) in &l.authz_payloads {
        subjects.push(Subject {
            kind: SubjectKind::Payload,
            authz: Some(*mode),
            doc: doc.clone(),
            label: name.clone(),
            namespace: String::new(),
            name: name.clone(),
        });
    }
    let base_op = l
        .values
        .global
        .get("request.operation")
        .and_then(Value::as_str)
        .filter(|o| matches!(*o, "CREATE" | "UPDATE" | "DELETE"))
        .unwrap_or("CREATE")
        .to_string();
    let mut runs: HashMap<String, Vec<Resp>> = HashMap::new();
    runs.insert(
        String::new(),
        evaluate_all(&l, &subjects, &prepared, &mocks, &base_op, true),
    );
    for e in &results {
        if let Some(op) = get(e, "operation").and_then(Value::as_str) {
            if !runs.contains_key(op) {
                let r = evaluate_all(&l, &subjects, &prepared, &mocks, op, false);
                runs.insert(op.to_string(), r);
            }
        }
    }
    let run = compare::Run {
        test: test_name,
        file: path.display().to_string(),
        base,
        loaded: &l,
        subjects: &subjects,
        runs: &runs,
        mocks: &mocks,
    };
    let mut rows = Vec::new();
    for e in &results {
        rows.extend(run.entry(e));
    }
    if let Some(Value::Array(checks)) = get(test, "checks") {
        rows.extend(checks::rows(&run, checks));
    }
    rows
}
