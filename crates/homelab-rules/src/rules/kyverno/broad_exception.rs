//! # `kyverno/broad-exception`: PolicyException wider than the system namespaces
//!
//! ## What it checks
//! Every Kyverno `PolicyException` must be bounded: its `match` must restrict what it
//! covers (namespaces, names or a selector), without wildcards in namespaces; and its
//! `exceptions` must name policies and rules explicitly (no `*`). On a platform rendered
//! from `platform.toml` the namespaces must also be system namespaces (the cluster's own and
//! the platform's: the guide's `kyverno`, `longhorn-system`, `gpu-workloads`); in any other
//! repository the namespaces an exception names are the repository's own decision.
//!
//! ## Why
//! The guide exempts system namespaces from `disallow-privileged` and
//! `require-run-as-non-root` only. An exception without a namespace filter, or with a
//! wildcard, switches the critical policies off for every workload in the cluster while
//! they still show as Enforce.
//!
//! ## Example
//! ```yaml
//! kind: PolicyException
//! spec:
//!   exceptions:
//!     - policyName: pod-security-baseline
//!       ruleNames: ["*"]
//!   match:
//!     any:
//!       - resources: { kinds: [Pod] }     # every namespace
//! ```
//!
//! ## Fix
//! List the rules and restrict `match` to the system namespaces:
//! `namespaces: [kube-system, kyverno, gpu-workloads]`.

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct KyvernoBroadException;

impl Rule for KyvernoBroadException {
    fn id(&self) -> &'static str {
        "kyverno/broad-exception"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "PolicyException wider than the system namespaces"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let system_namespaces: Vec<&str> = homelab_k8s::namespaces::SYSTEM_NAMESPACES
            .iter()
            .copied()
            .chain(settings.system_namespaces.iter().map(String::as_str))
            .collect();
        let system = system_namespaces.join(", ");
        let guide = settings.guide_expectations();
        let mut out = Vec::new();
        for doc in repo.of_kind("PolicyException") {
            let name = doc.name().unwrap_or("?");
            let help = format!(
                "restrict match to system namespaces ({system}) and name each policy and rule"
            );
            if let Some(exceptions) = doc
                .value
                .pointer("/spec/exceptions")
                .and_then(Value::as_array)
            {
                for (i, e) in exceptions.iter().enumerate() {
                    if e.get("policyName")
                        .and_then(Value::as_str)
                        .is_some_and(|p| p.contains('*'))
                    {
                        out.push(finding(
                            self,
                            doc,
                            &format!("/spec/exceptions/{i}/policyName"),
                            format!("PolicyException `{name}` exempts every policy (wildcard)"),
                            help.clone(),
                        ));
                    }
                    if let Some(rules) = e.get("ruleNames").and_then(Value::as_array) {
                        if let Some(j) = rules
                            .iter()
                            .position(|r| r.as_str().is_some_and(|r| r.contains('*')))
                        {
                            out.push(finding(
                                self,
                                doc,
                                &format!("/spec/exceptions/{i}/ruleNames/{j}"),
                                format!("PolicyException `{name}` exempts every rule (wildcard)"),
                                help.clone(),
                            ));
                        }
                    }
                }
            }
            for block in ["any", "all"] {
                let Some(filters) = doc
                    .value
                    .pointer(&format!("/spec/match/{block}"))
                    .and_then(Value::as_array)
                else {
                    continue;
                };
                for (i, f) in filters.iter().enumerate() {
                    let pointer = format!("/spec/match/{block}/{i}/resources");
                    let namespaces = f.pointer("/resources/namespaces").and_then(Value::as_array);
                    // Named resources or a selector bound the exception as well.
                    let bounded = ["names", "selector", "namespaceSelector"].iter().any(|k| {
                        f.pointer(&format!("/resources/{k}"))
                            .is_some_and(|v| !v.is_null())
                    });
                    match namespaces {
                        None if bounded => {}
                        None => out.push(finding(
                            self,
                            doc,
                            &pointer,
                            format!("PolicyException `{name}` applies in every namespace"),
                            help.clone(),
                        )),
                        Some(list) => {
                            for (j, ns) in list.iter().enumerate() {
                                let ns = ns.as_str().unwrap_or("");
                                if ns.contains('*') || (guide && !system_namespaces.contains(&ns)) {
                                    let what = if ns.contains('*') {
                                        format!("every namespace matching `{ns}`")
                                    } else {
                                        format!("`{ns}`, which is not a system namespace")
                                    };
                                    let mut d = finding(
                                        self,
                                        doc,
                                        &format!("{pointer}/namespaces/{j}"),
                                        format!("PolicyException `{name}` covers {what}"),
                                        help.clone(),
                                    );
                                    if !ns.contains('*') {
                                        d = d.relying_on([
                                            settings.posture_fact(),
                                            settings
                                                .fact(format_args!("system namespaces {system}")),
                                        ]);
                                    }
                                    out.push(d);
                                }
                            }
                        }
                    }
                }
            }
            if doc.value.pointer("/spec/match").is_none() {
                out.push(finding(
                    self,
                    doc,
                    "/spec",
                    format!("PolicyException `{name}` has no match: it applies to everything"),
                    help.clone(),
                ));
            }
        }
        out
    }
}
