//! Comparing one `results` entry of a test with the engine's responses, as
//! `kyverno test` does:
//! - the entry's `resources` (`name` or `namespace/name`; `resourceSpecs` by group,
//!   version, namespace and name) select the test's resources, patched targets and
//!   JSON payloads; when none of them exists, every one is checked;
//! - for each, the responses of the entry's policy (matched by name) give one row per
//!   rule (the entry's `rule`, or its `autogen-` variants; every rule of rule-less
//!   kinds): a mutation compares the resource as mutated with `patchedResources`
//!   (a resource missing from that file skips the row), a generation compares each
//!   generated resource with `generatedResource(s)`, then the rule's status must be
//!   the entry's `result`;
//! - a policy response without rules is a pass (`Excluded`); no response at all is a
//!   failure (`Not found`).
//!
//! Manifests are compared after dropping empty values and Kyverno's generate labels,
//! numbers by value.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::response::{PolicyResponse, RuleResponse};

use super::load::{read_docs, Loaded};
use super::{default_namespace_with, get, strs, Resp, Row, Subject, SubjectKind};

/// Everything needed to compare a test's results.
pub struct Run<'a> {
    pub test: String,
    pub file: String,
    pub base: &'a Path,
    pub loaded: &'a Loaded,
    pub subjects: &'a [Subject],
    /// Responses per run: `""` the default run, else the operation of a result.
    pub runs: &'a HashMap<String, Vec<Resp>>,
    /// The test's mocks (CRDs decide which custom kinds are namespaced).
    pub mocks: &'a crate::mocks::Mocks,
}

/// What a rule does, which decides what its row compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleType {
    Validation,
    Mutation,
    Generation,
}

fn rule_type(policy: &Value, rule: &str) -> RuleType {
    let kind = policy.get("kind").and_then(Value::as_str).unwrap_or("");
    if crate::cel_kinds::is_mutating_policy(policy)
        || crate::cel_kinds::is_mutating_admission_policy(policy)
    {
        return RuleType::Mutation;
    }
    if crate::cel_kinds::is_generating_policy(policy) {
        return RuleType::Generation;
    }
    if !matches!(kind, "ClusterPolicy" | "Policy") {
        return RuleType::Validation;
    }
    let base = crate::engine::strip_autogen(rule);
    let found = policy
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .and_then(|rs| {
            rs.iter()
                .find(|r| r.get("name").and_then(Value::as_str) == Some(base))
        });
    match found {
        Some(r) if r.get("mutate").is_some() => RuleType::Mutation,
        Some(r) if r.get("generate").is_some() => RuleType::Generation,
        _ => RuleType::Validation,
    }
}

/// The rule type Kyverno reports for a rule response.
pub(super) fn rule_type_name(policy: &Value, rule: &str) -> &'static str {
    if crate::cel_kinds::deleting_policy::is_deleting_policy(policy) {
        return "Deletion";
    }
    if crate::cel_kinds::image_validating_policy::is_image_validating_policy(policy) {
        return "ImageVerify";
    }
    match rule_type(policy, rule) {
        RuleType::Validation => "Validation",
        RuleType::Mutation => "Mutation",
        RuleType::Generation => "Generation",
    }
}

fn is_ruleless(policy: &Value) -> bool {
    !matches!(
        policy.get("kind").and_then(Value::as_str),
        Some("ClusterPolicy" | "Policy")
    )
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// `(apiVersion, kind, namespace, name)` of an object.
fn id(v: &Value) -> (&str, &str, &str, &str) {
    (
        s(v, "/apiVersion"),
        s(v, "/kind"),
        s(v, "/metadata/namespace"),
        s(v, "/metadata/name"),
    )
}

/// Kubernetes' view of an object for comparison: nulls, empty maps and empty lists
/// dropped (recursively; list items that become empty too).
fn tidy(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => {
            let out: Map<String, Value> = m
                .iter()
                .filter_map(|(k, x)| tidy(x).map(|x| (k.clone(), x)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let out: Vec<Value> = a.iter().filter_map(tidy).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}

/// Kyverno's generate bookkeeping labels are not compared: both sides get the
/// `managed-by` label and lose the `generate.kyverno.io/*` ones.
fn fixup_generate_labels(v: &mut Value) {
    let Value::Object(obj) = v else {
        return;
    };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else {
        return;
    };
    let mut labels = Map::new();
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        Value::String("kyverno".into()),
    );
    if let Some(Value::Object(old)) = meta.get("labels") {
        for (k, x) in old {
            if !k.starts_with("generate.kyverno.io/") {
                labels.insert(k.clone(), x.clone());
            }
        }
    }
    meta.insert("labels".into(), Value::Object(labels));
}

/// The JSON pointer of the first difference (numbers compared by value).
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
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_diff(v, w, &here) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{here} (only in actual)")),
                }
            }
            y.keys().find(|k| !x.contains_key(*k)).map(|k| {
                format!(
                    "{at}/{} (only in expected)",
                    k.replace('~', "~0").replace('/', "~1")
                )
            })
        }
        _ => (a != b).then(|| at.to_string()),
    }
}

/// Why a row failed, if it did.
enum Check {
    Ok,
    /// The resource is not in the expected manifest: Kyverno skips such a row.
    Missing(String),
    Failed {
        reason: String,
        message: String,
    },
}

struct Entry {
    policy_full: String,
    policy: String,
    rule: String,
    expected: String,
    names: Vec<String>,
    specs: Vec<Value>,
    patched: Option<String>,
    generated: Vec<String>,
    /// `generatedResource` (singular) rather than `generatedResources`.
    generated_single: bool,
    operation: String,
    fail_on_missing: bool,
}

impl Entry {
    fn parse(e: &Value) -> Entry {
        let str_of = |k: &str| get(e, k).and_then(Value::as_str).unwrap_or("").to_string();
        let policy_full = str_of("policy");
        let mut names = strs(get(e, "resources"));
        names.extend(strs(get(e, "resource")));
        let specs = match get(e, "resourceSpecs") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let single = strs(get(e, "generatedResource"));
        let mut generated = single.clone();
        let list = strs(get(e, "generatedResources"));
        let generated_single = list.is_empty() && !single.is_empty();
        if !list.is_empty() {
            generated = list;
        }
        Entry {
            policy: policy_full.rsplit('/').next().unwrap_or("").to_string(),
            policy_full,
            rule: str_of("rule"),
            expected: get(e, "result")
                .or_else(|| get(e, "status"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase(),
            names,
            specs,
            patched: get(e, "patchedResources")
                .or_else(|| get(e, "patchedResource"))
                .and_then(Value::as_str)
                .map(str::to_string),
            generated,
            generated_single,
            operation: str_of("operation"),
            fail_on_missing: get(e, "failOnMissingResources")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

impl Run<'_> {
    fn row(&self, e: &Entry, rule: &str, resource: &str) -> Row {
        Row {
            policy: e.policy_full.clone(),
            rule: rule.to_string(),
            resource: resource.to_string(),
            expected: e.expected.clone(),
            actual: None,
            ok: true,
            test: self.test.clone(),
            reason: String::new(),
            message: String::new(),
            file: self.file.clone(),
        }
    }

    fn policy_of(&self, r: &Resp) -> &Value {
        &self.loaded.policies[r.policy]
    }

    /// The responses of the entry's run.
    fn responses(&self, e: &Entry) -> &[Resp] {
        self.runs
            .get(&e.operation)
            .or_else(|| self.runs.get(""))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The patched target of `target` in a response: the first rule whose patched
    /// targets include it.
    fn patched_target<'r>(
        target: &Subject,
        resp: &'r PolicyResponse,
    ) -> Option<(&'r RuleResponse, &'r Value)> {
        let want = id(&target.doc);
        resp.rules.iter().find_map(|r| {
            r.targets.iter().find_map(|t| {
                let got = id(t);
                let ns_ok = want.2.is_empty() || got.2 == want.2;
                (got.0 == want.0 && got.1 == want.1 && got.3 == want.3 && ns_ok).then_some((r, t))
            })
        })
    }

    /// The subjects Kyverno keys its responses by: every resource and payload, and the
    /// targets some response patched.
    fn keys(&self, responses: &[Resp]) -> Vec<usize> {
        self.subjects
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.kind != SubjectKind::Target
                    || responses
                        .iter()
                        .any(|r| Self::patched_target(s, &r.response).is_some())
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The subjects the entry checks, and whether it named them (rather than falling
    /// back to every subject).
    fn selected(&self, e: &Entry, keys: &[usize]) -> (Vec<usize>, bool) {
        let mut out = Vec::new();
        for n in &e.names {
            for &k in keys {
                let sub = &self.subjects[k];
                let hit = match n.split_once('/') {
                    Some((ns, name)) => sub.namespace == ns && sub.name == name,
                    None => sub.name == *n,
                };
                if hit {
                    out.push(k);
                }
            }
        }
        for spec in &e.specs {
            let group = get(spec, "group").and_then(Value::as_str).unwrap_or("");
            let version = get(spec, "version").and_then(Value::as_str).unwrap_or("");
            let api = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            let ns = get(spec, "namespace").and_then(Value::as_str).unwrap_or("");
            let name = get(spec, "name").and_then(Value::as_str).unwrap_or("");
            for &k in keys {
                let sub = &self.subjects[k];
                if s(&sub.doc, "/apiVersion") == api && sub.namespace == ns && sub.name == name {
                    out.push(k);
                }
            }
        }
        if out.is_empty() {
            return (keys.to_vec(), false);
        }
        (out, true)
    }

    /// Compares `actual` with the manifest file `rel` (the object of the same
    /// apiVersion, kind, namespace and name in it).
    fn compare_manifest(&self, rel: &str, actual: &Value, what: &str) -> Check {
        let mut errors = Vec::new();
        let docs = read_docs(self.base, rel, &mut errors);
        if let Some(e) = errors.first() {
            return Check::Failed {
                reason: "Resource error".into(),
                message: format!("error: failed to load {what} resource ({e})"),
            };
        }
        let mocks = self.mocks;
        let want_id = id(actual);
        let expected = docs
            .into_iter()
            .map(|d| default_namespace_with(d, mocks))
            .find(|d| id(d) == want_id);
        let Some(mut expected) = expected else {
            return Check::Missing(format!(
                "error: failed to load {what} resource (resource with name {} not found in manifest)",
                want_id.3
            ));
        };
        let mut actual = actual.clone();
        fixup_generate_labels(&mut actual);
        fixup_generate_labels(&mut expected);
        let (a, x) = (
            tidy(&actual).unwrap_or(Value::Null),
            tidy(&expected).unwrap_or(Value::Null),
        );
        match first_diff(&a, &x, "") {
            None => Check::Ok,
            Some(at) => Check::Failed {
                reason: "Resource diff".into(),
                message: format!(
                    "{what} didn't match the resource in the test result (first difference at {at})"
                ),
            },
        }
    }

    /// Kyverno's `checkResult`: the manifests the entry names, then the status.
    fn check(&self, e: &Entry, actual: &Value, generation: bool) -> Check {
        if let Some(p) = &e.patched {
            match self.compare_manifest(p, actual, "PatchedResources") {
                Check::Ok => {}
                other => return other,
            }
        }
        if e.generated_single || (generation && e.generated.len() == 1) {
            if let Some(g) = e.generated.first() {
                return match self.compare_manifest(g, actual, "GeneratedResource") {
                    // a generated resource missing from the file is a failure
                    Check::Missing(m) => Check::Failed {
                        reason: "Resource error".into(),
                        message: m,
                    },
                    other => other,
                };
            }
        } else if !e.generated.is_empty() {
            let mut last = None;
            for g in &e.generated {
                match self.compare_manifest(g, actual, "GeneratedResources") {
                    Check::Ok => return Check::Ok,
                    Check::Missing(m) => last = Some(m),
                    Check::Failed { message, .. } => last = Some(message),
                }
            }
            return Check::Failed {
                reason: "Resource diff".into(),
                message: last.unwrap_or_default(),
            };
        }
        Check::Ok
    }

    fn finish(&self, e: &Entry, rule: &RuleResponse, resource: &str, check: Check) -> Option<Row> {
        let actual = rule.status.as_str().to_string();
        let mut row = self.row(e, &rule.rule, resource);
        row.message = rule.message.clone();
        match check {
            Check::Missing(_) if !e.fail_on_missing => return None,
            Check::Missing(m) => {
                row.ok = false;
                row.reason = "Resource error".into();
                row.message = m;
            }
            Check::Failed { reason, message } => {
                row.ok = false;
                row.reason = reason;
                row.message = message;
            }
            Check::Ok => {
                row.ok = actual == e.expected;
                row.reason = if row.ok {
                    "Ok".into()
                } else {
                    format!("Want {}, got {}", e.expected, actual)
                };
            }
        }
        row.actual = Some(actual);
        Some(row)
    }

    /// The rows of one `results` entry.
    pub fn entry(&self, raw: &Value) -> Vec<Row> {
        let e = Entry::parse(raw);
        let responses = self.responses(&e);
        let keys = self.keys(responses);
        let mut rows = Vec::new();
        let (selected, named) = self.selected(&e, &keys);
        for k in selected {
            let subject = &self.subjects[k];
            let mut out: Vec<Row> = Vec::new();
            let mut skipped = false;
            if subject.kind != SubjectKind::Target {
                for r in responses.iter().filter(|r| r.subject == k) {
                    let policy = self.policy_of(r);
                    if policy.pointer("/metadata/name").and_then(Value::as_str)
                        != Some(e.policy.as_str())
                    {
                        continue;
                    }
                    let all = e.rule.is_empty() || is_ruleless(policy);
                    for rule in r.response.rules.iter().filter(|x| {
                        all || x.rule == e.rule
                            || x.rule == format!("autogen-{}", e.rule)
                            || x.rule == format!("autogen-cronjob-{}", e.rule)
                    }) {
                        match rule_type(policy, &rule.rule) {
                            RuleType::Generation => {
                                let made: Vec<&Value> = r
                                    .response
                                    .generated
                                    .iter()
                                    .filter(|(name, _)| name == &rule.rule || is_ruleless(policy))
                                    .map(|(_, g)| g)
                                    .collect();
                                if made.is_empty() {
                                    out.extend(self.finish(&e, rule, &subject.label, Check::Ok));
                                }
                                for g in made {
                                    let check = self.check(&e, g, true);
                                    out.extend(self.finish(&e, rule, &subject.label, check));
                                }
                            }
                            _ => {
                                let actual =
                                    r.response.patched_resource.as_ref().unwrap_or(&subject.doc);
                                let check = self.check(&e, actual, false);
                                if matches!(check, Check::Missing(_)) && !e.fail_on_missing {
                                    skipped = true;
                                    continue;
                                }
                                out.extend(self.finish(&e, rule, &subject.label, check));
                            }
                        }
                    }
                    if out.is_empty() && !skipped {
                        let mut row = self.row(&e, &e.rule, &subject.label);
                        row.reason = "Excluded".into();
                        row.message = "Excluded".into();
                        out.push(row);
                    }
                }
            }
            if subject.kind == SubjectKind::Target {
                for r in responses {
                    if let Some((rule, target)) = Self::patched_target(subject, &r.response) {
                        let check = self.check(&e, target, false);
                        out.extend(self.finish(&e, rule, &subject.label, check));
                    }
                }
            }
            if out.is_empty() && skipped && named {
                // The entry names this resource but its mutated form is not in
                // `patchedResources`: Kyverno's CLI now skips the row silently; it used
                // to report the mutation as failed, which is what such entries expect.
                let mut row = self.row(&e, &e.rule, &subject.label);
                row.actual = Some("fail".into());
                row.ok = e.expected == "fail";
                row.reason = "Resource not in patchedResources".into();
                row.message = format!(
                    "{} is not in the patched resources of the test result",
                    subject.label
                );
                out.push(row);
            }
            if out.is_empty() && !skipped {
                let mut row = self.row(&e, &e.rule, &subject.label);
                row.ok = false;
                row.reason = "Not found".into();
                row.message = if self.loaded.errors.is_empty() {
                    "Not found".into()
                } else {
                    format!("Not found ({})", self.loaded.errors.join("; "))
                };
                out.push(row);
            }
            rows.extend(out);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tidy_drops_empty_values() {
        let v = json!({"a": null, "b": {}, "c": [], "d": [{}, 1], "e": {"f": {"g": []}}, "h": 0});
        assert_eq!(tidy(&v), Some(json!({"d": [1], "h": 0})));
    }

    #[test]
    fn generate_labels_are_not_compared() {
        let mut a =
            json!({"metadata": {"labels": {"generate.kyverno.io/policy-name": "p", "x": "1"}}});
        fixup_generate_labels(&mut a);
        assert_eq!(
            a,
            json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "kyverno", "x": "1"}}})
        );
    }

    #[test]
    fn differences_are_located() {
        assert_eq!(first_diff(&json!({"a": 1}), &json!({"a": 1.0}), ""), None);
        assert_eq!(
            first_diff(&json!({"a": {"b/c": 1}}), &json!({"a": {"b/c": 2}}), ""),
            Some("/a/b~1c".into())
        );
        assert!(first_diff(&json!({"a": 1}), &json!({}), "")
            .unwrap()
            .contains("only in actual"));
    }
}
