//! `kyverno test`: find `kyverno-test.yaml` files, load what they name relative to the
//! file, evaluate, and compare every expected result the way the Kyverno CLI does.

use crate::context::{EvalContext, UserInfo};
use crate::engine::{self, CompiledPolicy};
use crate::response::{PolicyResponse, Status};
use crate::values_file::ValuesFile;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One compared expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub policy: String,
    pub rule: String,
    /// `kind/namespace/name`.
    pub resource: String,
    pub expected: String,
    /// `None` when Kyverno reports the row as passed without a result (`Excluded`).
    pub actual: Option<String>,
    pub ok: bool,
    pub test: String,
    pub reason: String,
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
        } else if name == "kyverno-test.yaml" || name == "kyverno-test.yml" {
            out.push(p);
        } else if name == "test.yaml" || name == "test.yml" {
            if let Ok(t) = std::fs::read_to_string(&p) {
                if t.contains("results:") && t.contains("policies:") {
                    out.push(p);
                }
            }
        }
    }
}

/// Case-insensitive key lookup (Go's encoding/json matches field names that way).
fn get<'a>(m: &'a Value, key: &str) -> Option<&'a Value> {
    let o = m.as_object()?;
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn strs(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn read_yaml_files(base: &Path, rel: &str, errors: &mut Vec<String>) -> Vec<Value> {
    let p = base.join(rel);
    let mut files = Vec::new();
    if p.is_dir() {
        collect_yaml(&p, 0, &mut files);
    } else {
        files.push(p.clone());
    }
    let mut out = Vec::new();
    for f in files {
        match std::fs::read_to_string(&f) {
            Ok(t) => match crate::yaml::parse_all(&f.display().to_string(), &t) {
                Ok(docs) => out.extend(docs),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(format!("{}: cannot read: {e}", f.display())),
        }
    }
    out
}

fn collect_yaml(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 16 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_yaml(&p, depth + 1, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(p);
        }
    }
}

/// Everything a test document loads.
struct Loaded {
    policies: Vec<Value>,
    resources: Vec<Value>,
    exceptions: Vec<Value>,
    values: ValuesFile,
    namespace_labels: HashMap<String, Map<String, Value>>,
    namespaces: HashMap<String, Value>,
    user: UserInfo,
}

fn load(test: &Value, base: &Path, errors: &mut Vec<String>) -> Loaded {
    let mut policies = Vec::new();
    let mut exceptions = Vec::new();
    for p in strs(get(test, "policies")) {
        for d in read_yaml_files(base, &p, errors) {
            if engine::is_exception(&d) {
                exceptions.push(d);
            } else if engine::is_policy(&d) {
                policies.push(d);
            }
        }
    }
    for p in strs(get(test, "exceptions")) {
        exceptions.extend(
            read_yaml_files(base, &p, errors)
                .into_iter()
                .filter(engine::is_exception),
        );
    }
    let mut resources = Vec::new();
    for p in strs(get(test, "resources")) {
        for d in read_yaml_files(base, &p, errors) {
            if d.get("kind").is_some() && !engine::is_policy(&d) {
                resources.push(default_namespace(d));
            }
        }
    }
    let mut values_doc = Value::Null;
    if let Some(Value::String(v)) = get(test, "variables") {
        if let Some(d) = read_yaml_files(base, v, errors).into_iter().next() {
            values_doc = d;
        }
    }
    if let Some(v @ Value::Object(_)) = get(test, "values") {
        values_doc = v.clone();
    }
    let mut values = ValuesFile::default();
    let mut namespace_labels = HashMap::new();
    let mut namespaces = HashMap::new();
    if values_doc.is_object() {
        if let Some(Value::Object(g)) = get(&values_doc, "globalValues") {
            values.global = g.clone();
        }
        if let Some(Value::Array(p)) = get(&values_doc, "policies") {
            values.policies = p.clone();
        }
        if let Some(Value::Array(ns)) = get(&values_doc, "namespaceSelector") {
            for n in ns {
                if let (Some(name), Some(Value::Object(l))) =
                    (get(n, "name").and_then(Value::as_str), get(n, "labels"))
                {
                    namespace_labels.insert(name.to_string(), l.clone());
                }
            }
        }
        if let Some(Value::Array(ns)) = get(&values_doc, "namespaces") {
            for n in ns {
                if let Some(name) = n.pointer("/metadata/name").and_then(Value::as_str) {
                    if let Some(Value::Object(l)) = n.pointer("/metadata/labels") {
                        namespace_labels
                            .entry(name.to_string())
                            .or_insert_with(|| l.clone());
                    }
                    namespaces.insert(name.to_string(), n.clone());
                }
            }
        }
    }
    // `clusterResources` (fake cluster objects): Namespaces give labels and namespace objects
    for p in strs(get(test, "clusterResources")) {
        for d in read_yaml_files(base, &p, errors) {
            if d.get("kind").and_then(Value::as_str) == Some("Namespace") {
                if let Some(name) = d.pointer("/metadata/name").and_then(Value::as_str) {
                    if let Some(Value::Object(l)) = d.pointer("/metadata/labels") {
                        namespace_labels
                            .entry(name.to_string())
                            .or_insert_with(|| l.clone());
                    }
                    namespaces.entry(name.to_string()).or_insert(d.clone());
                }
            }
        }
    }
    let mut user = UserInfo::default();
    if let Some(Value::String(u)) = get(test, "userinfo") {
        if let Some(d) = read_yaml_files(base, u, errors).into_iter().next() {
            user.roles = strs(get(&d, "roles"));
            user.cluster_roles = strs(get(&d, "clusterRoles"));
            if let Some(ui) = get(&d, "userInfo") {
                user.username = get(ui, "username")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                user.uid = get(ui, "uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                user.groups = strs(get(ui, "groups"));
            }
        }
    }
    Loaded {
        policies,
        resources,
        exceptions,
        values,
        namespace_labels,
        namespaces,
        user,
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
pub fn default_namespace(mut d: Value) -> Value {
    let kind = d
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if is_cluster_scoped(&kind) {
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

/// Drop empty maps and lists (and `null`s): Kubernetes treats them as absent.
fn prune_empty(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), prune_empty(x)))
                .filter(|(_, x)| !is_empty(x))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(prune_empty).collect()),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The JSON pointer of the first difference (numbers compared by value, maps by keys).
fn first_diff(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x.as_f64() != y.as_f64()).then(|| at.to_string()),
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at} (length {} vs {})", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_diff(p, q, &format!("{at}/{i}")))
        }
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_diff(v, w, &format!("{at}/{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{at}/{k} (unexpected)")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}/{k} (missing)"))
        }
        _ => (a != b).then(|| at.to_string()),
    }
}

fn res_id(r: &Value) -> (String, String, String) {
    let k = r
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let ns = r
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let n = r
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    (k, ns, n)
}

/// Does any rule of the policy (autogen included) select the resource's kind? The CLI
/// only applies a policy to resources of the kinds it names.
fn policy_applies_to_kind(policy: &Value, resource: &Value) -> bool {
    let kind = policy.get("kind").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "ClusterPolicy" | "Policy") {
        return true;
    }
    let ctx = EvalContext::default();
    let subj = crate::matching::Subject {
        resource,
        ctx: &ctx,
    };
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let docs = crate::yaml::parse_all(&path.display().to_string(), &text)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    for doc in docs {
        if !doc.is_object() {
            continue;
        }
        rows.extend(run_doc(&doc, base, path)?);
    }
    Ok(rows)
}

fn run_doc(test: &Value, base: &Path, path: &Path) -> Result<Vec<Row>, String> {
    let test_name = get(test, "metadata")
        .and_then(|m| get(m, "name"))
        .or_else(|| get(test, "name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut errors = Vec::new();
    let mut l = load(test, base, &mut errors);
    if let Some(Value::Array(entries)) = get(test, "results") {
        for e in entries {
            for f in strs(get(e, "cloneSourceResource")) {
                let docs = read_yaml_files(base, &f, &mut errors);
                l.values.clone_sources.extend(docs);
            }
        }
    }
    let l = l;
    // The `context:` file (kind Context): its `spec` mocks CEL lookups (added by the cel helper).
    let cel_context = get(test, "context")
        .and_then(Value::as_str)
        .and_then(|c| read_yaml_files(base, c, &mut errors).into_iter().next())
        .and_then(|d| d.get("spec").cloned());
    let base_op = l
        .values
        .global
        .get("request.operation")
        .and_then(Value::as_str)
        .unwrap_or("CREATE")
        .to_string();
    // responses per (operation), computed lazily
    let mut cache: HashMap<String, Vec<(usize, usize, PolicyResponse)>> = HashMap::new();
    let compiled: Vec<CompiledPolicy> = l.policies.iter().map(CompiledPolicy::compile).collect();
    let compute = |op: &str| -> Vec<(usize, usize, PolicyResponse)> {
        let mut out = Vec::new();
        for (ri, r) in l.resources.iter().enumerate() {
            let ns = r
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let mut ctx = EvalContext {
                operation: op.to_string(),
                user_info: l.user.clone(),
                ..Default::default()
            };
            ctx.values = l.values.global.clone();
            let ns_key = if r.get("kind").and_then(Value::as_str) == Some("Namespace") {
                r.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            } else {
                ns
            };
            ctx.namespace_labels =
                Some(l.namespace_labels.get(ns_key).cloned().unwrap_or_default());
            ctx.namespace_object = l.namespaces.get(ns_key).cloned();
            ctx.cel_context = cel_context.clone();
            let req = engine::Request {
                ctx: &ctx,
                exceptions: &l.exceptions,
                values: &l.values,
            };
            for (pi, p) in l.policies.iter().enumerate() {
                if !policy_applies_to_kind(p, r) {
                    continue;
                }
                if let Some(resp) = compiled[pi].evaluate(r, &req) {
                    out.push((pi, ri, resp));
                }
            }
        }
        out
    };
    let mut rows = Vec::new();
    let results = match get(test, "results") {
        Some(Value::Array(r)) => r.clone(),
        _ => Vec::new(),
    };
    for entry in &results {
        let policy_full = get(entry, "policy")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let policy = policy_full.rsplit('/').next().unwrap_or("").to_string();
        let rule = get(entry, "rule")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let expected = get(entry, "result")
            .or_else(|| get(entry, "status"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut names = strs(get(entry, "resources"));
        names.extend(strs(get(entry, "resource")));
        let patched_file = get(entry, "patchedResources")
            .or_else(|| get(entry, "patchedResource"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let patched_docs: Vec<Value> = match &patched_file {
            Some(f) => read_yaml_files(base, f, &mut errors)
                .into_iter()
                .map(default_namespace)
                .collect(),
            None => Vec::new(),
        };
        let mut gen_files = strs(get(entry, "generatedResources"));
        gen_files.extend(strs(get(entry, "generatedResource")));
        let gen_docs: Vec<Value> = gen_files
            .iter()
            .flat_map(|f| read_yaml_files(base, f, &mut errors))
            .collect();
        let op = get(entry, "operation")
            .and_then(Value::as_str)
            .unwrap_or(&base_op)
            .to_string();
        let responses = cache.entry(op.clone()).or_insert_with(|| compute(&op));
        // which resources the entry names
        let wanted: Vec<(Option<String>, String)> = names
            .iter()
            .map(|n| match n.split_once('/') {
                Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                None => (None, n.clone()),
            })
            .collect();
        let res_matches = |r: &Value, w: &(Option<String>, String)| {
            let (_, ns, name) = res_id(r);
            name == w.1 && w.0.as_ref().is_none_or(|wns| *wns == ns)
        };
        let any_exists = wanted
            .iter()
            .any(|w| l.resources.iter().any(|r| res_matches(r, w)));
        for w in &wanted {
            let targets: Vec<usize> = l
                .resources
                .iter()
                .enumerate()
                .filter(|(_, r)| !any_exists || res_matches(r, w))
                .map(|(i, _)| i)
                .collect();
            let label = |ri: usize| {
                let (k, ns, n) = res_id(&l.resources[ri]);
                format!("{k}/{ns}/{n}")
            };
            let mut produced = false;
            for &ri in &targets {
                let pres: Vec<&(usize, usize, PolicyResponse)> = responses
                    .iter()
                    .filter(|(pi, r, _)| {
                        *r == ri
                            && l.policies[*pi]
                                .pointer("/metadata/name")
                                .and_then(Value::as_str)
                                == Some(policy.as_str())
                    })
                    .collect();
                for (_, _, pr) in pres {
                    produced = true;
                    let ruleless = rule.is_empty()
                        || !matches!(
                            l.policies
                                .iter()
                                .find(|p| p.pointer("/metadata/name").and_then(Value::as_str)
                                    == Some(policy.as_str()))
                                .and_then(|p| p.get("kind"))
                                .and_then(Value::as_str),
                            Some("ClusterPolicy" | "Policy")
                        );
                    let matching: Vec<_> = pr
                        .rules
                        .iter()
                        .filter(|rr| {
                            ruleless
                                || rr.rule == rule
                                || rr.rule == format!("autogen-{rule}")
                                || rr.rule == format!("autogen-cronjob-{rule}")
                        })
                        .collect();
                    if matching.is_empty() {
                        rows.push(Row {
                            policy: policy_full.clone(),
                            rule: rule.clone(),
                            resource: label(ri),
                            expected: expected.clone(),
                            actual: None,
                            ok: true,
                            test: test_name.clone(),
                            reason: "Excluded".into(),
                            file: path.display().to_string(),
                        });
                    }
                    // mutate: the resource after the policy must equal the patched manifest
                    let mut patch_ok = true;
                    let mut patch_reason = String::new();
                    if patched_file.is_some() {
                        let (k, ns, n) = res_id(&l.resources[ri]);
                        let want = patched_docs.iter().find(|d| {
                            let (dk, dns, dn) = res_id(d);
                            dk == k && dn == n && (dns.is_empty() || dns == ns)
                        });
                        match want {
                            None => {
                                patch_ok = false;
                                patch_reason =
                                    format!("{k}/{ns}/{n} not found in the patched manifest");
                            }
                            Some(w) => {
                                let got = pr.patched_resource.as_ref().unwrap_or(&l.resources[ri]);
                                if let Some(at) = first_diff(&prune_empty(got), &prune_empty(w), "")
                                {
                                    patch_ok = false;
                                    patch_reason = format!(
                                        "Patched resource didn't match the patched resource in the test result (first difference at {at})"
                                    );
                                }
                            }
                        }
                    }
                    // generate: every expected generated resource must have been made
                    if !gen_docs.is_empty() {
                        for want in &gen_docs {
                            let (wk, wns, wn) = res_id(want);
                            let made = pr.generated.iter().find(|(_, g)| {
                                let (k, ns, n) = res_id(g);
                                k == wk && n == wn && (wns.is_empty() || ns == wns)
                            });
                            let diff = match made {
                                None => Some(format!("{wk}/{wns}/{wn} was not generated")),
                                Some((_, g)) => first_diff(&prune_empty(g), &prune_empty(want), "")
                                    .map(|at| format!("generated resource differs at {at}")),
                            };
                            if let Some(d) = diff {
                                patch_ok = false;
                                patch_reason = d;
                            }
                        }
                    }
                    for rr in matching {
                        // a patched resource that differs from the test's manifest is a failure
                        let actual = if patch_ok {
                            rr.status.as_str().to_string()
                        } else {
                            "fail".to_string()
                        };
                        rows.push(Row {
                            policy: policy_full.clone(),
                            rule: rr.rule.clone(),
                            resource: label(ri),
                            expected: expected.clone(),
                            ok: actual == expected,
                            actual: Some(actual),
                            test: test_name.clone(),
                            reason: if patch_ok {
                                rr.message.clone()
                            } else {
                                patch_reason.clone()
                            },
                            file: path.display().to_string(),
                        });
                    }
                }
            }
            if !produced {
                let resource = match &w.0 {
                    Some(ns) => format!("/{ns}/{}", w.1),
                    None => w.1.clone(),
                };
                let mut reason = "Not found".to_string();
                if !errors.is_empty() {
                    reason = format!("Not found ({})", errors.join("; "));
                }
                rows.push(Row {
                    policy: policy_full.clone(),
                    rule: rule.clone(),
                    resource,
                    expected: expected.clone(),
                    actual: Some(Status::Fail.as_str().to_string()),
                    ok: false,
                    test: test_name.clone(),
                    reason,
                    file: path.display().to_string(),
                });
            }
        }
    }
    Ok(rows)
}
