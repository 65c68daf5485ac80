//! `kyverno apply` offline: every policy against every resource, as admission requests,
//! summarised as Kyverno's CLI reports it (a PolicyReport, a table, or the failures and
//! the counts).

use crate::context::{EvalContext, UserInfo};
use crate::engine::{self, PolicySet, Request};
use crate::response::Status;
use crate::values_file::ValuesFile;
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;

/// What `apply` evaluates, as loaded from the command line.
#[derive(Debug, Default)]
pub struct ApplyInput {
    /// Policy documents (any order; results are ordered by policy name).
    pub policies: Vec<Value>,
    pub exceptions: Vec<Value>,
    pub resources: Vec<Value>,
    pub values: ValuesFile,
    /// Labels of namespaces by name (Values file `namespaceSelector`, `--namespace-labels`).
    pub namespace_labels: HashMap<String, Map<String, Value>>,
    pub user: UserInfo,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Report failures of rules whose failure action is not Enforce as warnings.
    pub audit_warn: bool,
}

/// One rule result of one policy for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyResult {
    pub policy: String,
    pub rule: String,
    pub status: Status,
    pub message: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Results per status, in Kyverno's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
}

impl Summary {
    fn count(&mut self, status: Status) {
        *match status {
            Status::Pass => &mut self.pass,
            Status::Fail => &mut self.fail,
            Status::Warn => &mut self.warn,
            Status::Error => &mut self.error,
            Status::Skip => &mut self.skip,
        } += 1;
    }
}

/// The outcome of an `apply` run.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// Rules after autogen, over every policy (a rule-less kind counts one).
    pub rule_count: usize,
    pub resource_count: usize,
    /// Per resource (in input order), per policy (by name), per rule.
    pub results: Vec<ApplyResult>,
    pub summary: Summary,
}

/// Evaluate every policy of `input` against every resource (in parallel; the results are
/// in a fixed order whatever the thread count).
pub fn apply(input: &ApplyInput, options: ApplyOptions) -> ApplyReport {
    let mut policies: Vec<&Value> = input.policies.iter().collect();
    policies.sort_by_key(|p| engine::policy_name(p));
    let set = PolicySet::compile(policies);
    let operation = input
        .values
        .global
        .get("request.operation")
        .and_then(Value::as_str)
        .unwrap_or("CREATE");
    let per_resource: Vec<Vec<ApplyResult>> = input
        .resources
        .par_iter()
        .map(|resource| {
            let ns = resource
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let ctx = EvalContext {
                operation: operation.to_string(),
                user_info: input.user.clone(),
                namespace_labels: Some(input.namespace_labels.get(ns).cloned().unwrap_or_default()),
                values: input.values.global.clone(),
                ..Default::default()
            };
            let req = Request {
                ctx: &ctx,
                exceptions: &input.exceptions,
                values: &input.values,
            };
            let mut out = Vec::new();
            for (pi, response) in set.evaluate(resource, &req) {
                let policy = &set.policies()[pi];
                for rule in response.rules {
                    let mut status = rule.status;
                    if options.audit_warn
                        && status == Status::Fail
                        && !policy
                            .failure_action(&rule.rule)
                            .eq_ignore_ascii_case("Enforce")
                    {
                        status = Status::Warn;
                    }
                    out.push(ApplyResult {
                        policy: response.policy.clone(),
                        rule: rule.rule,
                        status,
                        message: rule.message,
                        api_version: response.api_version.clone(),
                        kind: response.kind.clone(),
                        namespace: response.namespace.clone(),
                        name: response.name.clone(),
                    });
                }
            }
            out
        })
        .collect();
    let results: Vec<ApplyResult> = per_resource.into_iter().flatten().collect();
    let mut summary = Summary::default();
    for r in &results {
        summary.count(r.status);
    }
    ApplyReport {
        rule_count: set.policies().iter().map(|p| p.rule_count()).sum(),
        resource_count: input.resources.len(),
        results,
        summary,
    }
}

impl ApplyReport {
    /// Whether any rule failed or could not be evaluated (`kyverno apply` exits 1).
    pub fn failed(&self) -> bool {
        self.summary.fail > 0 || self.summary.error > 0
    }

    /// [`ApplyReport::policy_report`] written as pretty JSON straight from the results
    /// (no intermediate tree: a run can have hundreds of thousands of results). The rows
    /// are rendered in parallel, a batch at a time, and written in order.
    pub fn write_policy_report_json(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        #[derive(serde::Serialize)]
        struct Resource<'a> {
            #[serde(rename = "apiVersion")]
            api_version: &'a str,
            kind: &'a str,
            namespace: &'a str,
            name: &'a str,
        }
        #[derive(serde::Serialize)]
        struct Row<'a> {
            policy: &'a str,
            rule: &'a str,
            result: &'a str,
            message: &'a str,
            scored: bool,
            source: &'a str,
            resources: [Resource<'a>; 1],
        }
        /// Rows rendered per parallel batch (bounds the memory held before writing).
        const BATCH: usize = 16 * 1024;
        /// Rows rendered by one task of a batch.
        const CHUNK: usize = 512;
        // A row is rendered at depth 0 and indented to its depth (2) afterwards: pretty
        // JSON differs by depth only in the indentation after each line break, and
        // strings never hold a raw line break.
        fn render(rows: &[ApplyResult]) -> Vec<u8> {
            let mut buf = Vec::with_capacity(rows.len() * 400);
            let mut row = Vec::with_capacity(1024);
            for r in rows {
                row.clear();
                let value = Row {
                    policy: &r.policy,
                    rule: &r.rule,
                    result: r.status.as_str(),
                    message: &r.message,
                    scored: true,
                    source: "kyverno",
                    resources: [Resource {
                        api_version: &r.api_version,
                        kind: &r.kind,
                        namespace: &r.namespace,
                        name: &r.name,
                    }],
                };
                serde_json::to_writer_pretty(&mut row, &value)
                    .expect("serialising strings and booleans into memory cannot fail");
                buf.extend_from_slice(b",\n    ");
                for &b in &row {
                    buf.push(b);
                    if b == b'\n' {
                        buf.extend_from_slice(b"    ");
                    }
                }
            }
            buf
        }
        out.write_all(
            b"{\n  \"apiVersion\": \"wgpolicyk8s.io/v1alpha2\",\n  \"kind\": \"ClusterPolicyReport\",\n  \"metadata\": {\n    \"name\": \"merged\"\n  },\n  \"results\": [",
        )?;
        let mut first = true;
        for batch in self.results.chunks(BATCH) {
            let parts: Vec<Vec<u8>> = batch.par_chunks(CHUNK).map(render).collect();
            for part in &parts {
                // Each part starts with the separator of its first row; the first row of
                // all has none.
                let skip = if first { 1 } else { 0 };
                first = false;
                out.write_all(&part[skip..])?;
            }
        }
        out.write_all(if first { b"]" } else { b"\n  ]" })?;
        let s = &self.summary;
        write!(
            out,
            ",\n  \"summary\": {{\n    \"pass\": {},\n    \"fail\": {},\n    \"warn\": {},\n    \"error\": {},\n    \"skip\": {}\n  }}\n}}",
            s.pass, s.fail, s.warn, s.error, s.skip
        )
    }

    /// The results as a `wgpolicyk8s.io` ClusterPolicyReport.
    pub fn policy_report(&self) -> Value {
        let items: Vec<Value> = self
            .results
            .iter()
            .map(|r| {
                json!({
                    "policy": r.policy, "rule": r.rule, "result": r.status.as_str(), "message": r.message,
                    "scored": true, "source": "kyverno",
                    "resources": [{"apiVersion": r.api_version, "kind": r.kind, "namespace": r.namespace, "name": r.name}],
                })
            })
            .collect();
        let s = &self.summary;
        json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "kind": "ClusterPolicyReport",
            "metadata": {"name": "merged"},
            "results": items,
            "summary": {"pass": s.pass, "fail": s.fail, "warn": s.warn, "error": s.error, "skip": s.skip},
        })
    }

    /// Kyverno's text output: the failures (or, with `table`, every result) and the counts.
    pub fn text(&self, table: bool) -> String {
        self.text_parts(table).concat()
    }

    /// [`ApplyReport::text`] in parts, in order: the header, the lines of a chunk of
    /// results per part (rendered in parallel), then the counts. Every part is whole lines
    /// (empty, or ending with a line break), so a caller can escape and write the parts
    /// one by one instead of holding the whole text (tens of megabytes for a large run).
    pub fn text_parts(&self, table: bool) -> Vec<String> {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Applying {} policy rule(s) to {} resource(s)...\n",
            self.rule_count, self.resource_count
        );
        // Lines are rendered in parallel, a chunk of results per task.
        const CHUNK: usize = 2048;
        let rendered: Vec<String> = if table {
            let _ = writeln!(
                out,
                "{:<4} {:<30} {:<30} {:<50} {:<6} MESSAGE",
                "ID", "POLICY", "RULE", "RESOURCE", "RESULT"
            );
            self.results
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, rows)| {
                    let mut part = String::new();
                    for (i, r) in rows.iter().enumerate() {
                        let res = format!("{}/{}/{}", r.kind, r.namespace, r.name);
                        let _ = writeln!(
                            part,
                            "{:<4} {:<30} {:<30} {:<50} {:<6} {}",
                            c * CHUNK + i + 1,
                            r.policy,
                            r.rule,
                            res,
                            r.status.as_str(),
                            r.message
                        );
                    }
                    part
                })
                .collect()
        } else {
            self.results
                .par_chunks(CHUNK)
                .map(|rows| {
                    let mut part = String::new();
                    for r in rows {
                        if matches!(r.status, Status::Fail | Status::Error | Status::Warn) {
                            let (ns, slash) = if r.namespace.is_empty() {
                                ("", "")
                            } else {
                                (r.namespace.as_str(), "/")
                            };
                            let _ = writeln!(
                                part,
                                "policy {} -> resource {ns}{slash}{}/{} {}: {}: {}",
                                r.policy,
                                r.kind,
                                r.name,
                                r.status.as_str(),
                                r.rule,
                                r.message
                            );
                        }
                    }
                    part
                })
                .collect()
        };
        let mut parts = Vec::with_capacity(rendered.len() + 2);
        parts.push(out);
        parts.extend(rendered);
        let mut tail = String::new();
        if table {
            tail.push('\n');
        }
        let s = &self.summary;
        let _ = writeln!(
            tail,
            "pass: {}, fail: {}, warn: {}, error: {}, skip: {}",
            s.pass, s.fail, s.warn, s.error, s.skip
        );
        parts.push(tail);
        parts
    }
}

/// A Kyverno UserInfo document (`roles`, `clusterRoles`, `userInfo.username/groups`).
pub fn user_info_from_document(doc: &Value) -> UserInfo {
    let strs = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    UserInfo {
        roles: strs(doc.get("roles")),
        cluster_roles: strs(doc.get("clusterRoles")),
        username: doc
            .pointer("/userInfo/username")
            .and_then(Value::as_str)
            .unwrap_or("")
            .into(),
        groups: strs(doc.pointer("/userInfo/groups")),
        ..UserInfo::default()
    }
}

/// Add one `NAMESPACE:key=value[,key=value]` specification to `labels`.
pub fn add_namespace_labels(
    spec: &str,
    labels: &mut HashMap<String, Map<String, Value>>,
) -> Result<(), String> {
    let Some((ns, pairs)) = spec.split_once(':') else {
        return Err(format!(
            "{spec:?}: expected NAMESPACE:key=value[,key=value]"
        ));
    };
    let entry = labels.entry(ns.to_string()).or_default();
    for kv in pairs.split(',').filter(|s| !s.is_empty()) {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!("{spec:?}: {kv:?} is not key=value"));
        };
        entry.insert(k.into(), Value::String(v.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ApplyInput {
        let policy = |name: &str, action: &str| {
            json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": name},
                "spec": {"validationFailureAction": action, "rules": [{"name": "app-label",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"message": "label app", "pattern": {"metadata": {"labels": {"app": "?*"}}}}}]}})
        };
        let pod = |name: &str, labels: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ns", "labels": labels}});
        ApplyInput {
            policies: vec![policy("z-enforce", "Enforce"), policy("a-audit", "Audit")],
            resources: vec![
                pod("good", json!({"app": "x"})),
                pod("bad", json!({})),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
            ],
            ..ApplyInput::default()
        }
    }

    #[test]
    fn results_are_ordered_by_resource_then_policy_name() {
        let report = apply(&input(), ApplyOptions::default());
        let rows: Vec<(String, String, Status)> = report
            .results
            .iter()
            .map(|r| (r.name.clone(), r.policy.clone(), r.status))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("good".into(), "a-audit".into(), Status::Pass),
                ("good".into(), "z-enforce".into(), Status::Pass),
                ("bad".into(), "a-audit".into(), Status::Fail),
                ("bad".into(), "z-enforce".into(), Status::Fail),
            ]
        );
        assert_eq!(
            report.summary,
            Summary {
                pass: 2,
                fail: 2,
                ..Summary::default()
            }
        );
        assert!(report.failed());
        // each Pod rule also runs as its autogen variants for controllers and CronJobs
        assert_eq!(report.rule_count, 6);
        let text = report.text(false);
        assert!(text.starts_with("Applying 6 policy rule(s) to 3 resource(s)...\n\n"));
        assert!(text.contains("policy a-audit -> resource ns/Pod/bad fail: app-label: validation error: label app. rule app-label failed at path /metadata/labels/app/\n"));
        assert!(text.ends_with("pass: 2, fail: 2, warn: 0, error: 0, skip: 0\n"));
        assert_eq!(report.policy_report()["summary"]["fail"], 2);
        let mut streamed = Vec::new();
        report.write_policy_report_json(&mut streamed).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            serde_json::to_string_pretty(&report.policy_report()).unwrap()
        );
    }

    /// A report of `n` results with strings that need escaping.
    fn report_of(n: usize) -> ApplyReport {
        let statuses = [
            Status::Pass,
            Status::Fail,
            Status::Warn,
            Status::Error,
            Status::Skip,
        ];
        let mut report = ApplyReport {
            rule_count: 3,
            resource_count: n,
            ..ApplyReport::default()
        };
        for i in 0..n {
            let status = statuses[i % statuses.len()];
            report.summary.count(status);
            report.results.push(ApplyResult {
                policy: format!("policy-{}", i % 7),
                rule: format!("rule \"{i}\""),
                status,
                message: format!("line one\nline two\t\u{e9}\u{1}{}", "x".repeat(i % 13)),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: if i % 3 == 0 {
                    String::new()
                } else {
                    format!("ns-{i}")
                },
                name: format!("name-{i}"),
            });
        }
        report
    }

    #[test]
    fn streamed_json_report_is_the_pretty_policy_report() {
        // Empty, one row, and more rows than one rendering task takes.
        for n in [0, 1, 1500] {
            let report = report_of(n);
            let mut streamed = Vec::new();
            report.write_policy_report_json(&mut streamed).unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                serde_json::to_string_pretty(&report.policy_report()).unwrap(),
                "{n} results"
            );
        }
    }

    #[test]
    fn text_report_lists_failures_in_order_and_table_numbers_every_row() {
        let report = report_of(5000);
        let text = report.text(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Applying 3 policy rule(s) to 5000 resource(s)...");
        // fail, warn and error rows: 3 of every 5; each message holds one line break
        assert_eq!(text.matches("policy policy-").count(), 3000);
        assert!(lines[2].starts_with(
            "policy policy-1 -> resource ns-1/Deployment/name-1 fail: rule \"1\": line one"
        ));
        assert!(text.contains(
            "\npolicy policy-3 -> resource Deployment/name-3 error: rule \"3\": line one\n"
        ));
        assert!(text.ends_with("pass: 1000, fail: 1000, warn: 1000, error: 1000, skip: 1000\n"));
        let table = report.text(true);
        assert!(table.contains("\n4097 policy-1 "));
        assert!(table.contains("\n5000 policy-1 "));
        assert_eq!(table.matches("Deployment/ns-").count(), 3333);
    }

    #[test]
    fn text_parts_are_whole_lines_that_make_the_text() {
        for n in [0, 1, 5000] {
            let report = report_of(n);
            for table in [false, true] {
                let parts = report.text_parts(table);
                assert!(parts.len() >= 2);
                assert!(parts.iter().all(|p| p.is_empty() || p.ends_with('\n')));
                assert!(parts[0].starts_with("Applying 3 policy rule(s)"));
                assert!(parts.last().unwrap().contains("pass: "));
                assert_eq!(parts.concat(), report.text(table));
            }
        }
    }

    #[test]
    fn audit_warn_turns_audit_failures_into_warnings() {
        let report = apply(&input(), ApplyOptions { audit_warn: true });
        assert_eq!(
            report.summary,
            Summary {
                pass: 2,
                fail: 1,
                warn: 1,
                ..Summary::default()
            }
        );
    }

    #[test]
    fn namespace_label_specifications() {
        let mut labels = HashMap::new();
        add_namespace_labels("prod:env=prod,tier=web", &mut labels).unwrap();
        assert_eq!(labels["prod"]["tier"], "web");
        assert!(add_namespace_labels("prod", &mut labels).is_err());
        assert!(add_namespace_labels("prod:env", &mut labels).is_err());
    }
}
