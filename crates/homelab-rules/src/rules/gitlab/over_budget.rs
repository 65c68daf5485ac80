//! # `gitlab/over-budget`: GitLab values requesting more than the memory budget
//!
//! ## What it checks
//! In the GitLab chart's values (a values document with `global.edition` or a `gitlab:`
//! section of subcharts), the memory requests of every component, multiplied by its replica
//! count, add up to less than the budget of `platform.toml` (the guide: 8 GiB), or of
//! `gitlab_memory_budget` in `.homelab.toml` `[check.facts]`; without a budget nothing is
//! reported.
//!
//! ## Why
//! The guide sizes GitLab CE at about 4.2 GB requested ("< 8 GB RAM baseline") on a node
//! it shares with LiteLLM, Open WebUI, n8n and the runners. The chart's defaults request far
//! more, and one raised `replicaCount` on the webservice multiplies its 2.5 GiB.
//!
//! ## Example
//! ```yaml
//! gitlab:
//!   webservice:
//!     replicaCount: 3
//!     resources:
//!       requests: { memory: 2.5Gi }
//! ```
//!
//! ## Fix
//! Keep one webservice replica and the guide's requests, or raise the budget in
//! `platform.toml` if the node has room (`homelab plan` shows it).

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_k8s::Quantity;
use serde_json::Value;

/// `8.0 GiB`, for messages.
fn gib(bytes: i128) -> String {
    format!("{:.1} GiB", bytes as f64 / (1024.0 * 1024.0 * 1024.0))
}

/// A memory quantity in bytes (rounded up, as the scheduler counts it).
fn bytes(value: &Value) -> Option<i128> {
    Some(Quantity::from_value(value)?.ok()?.units_rounded_up())
}

/// A replica count (a whole, non-negative number).
fn count(value: &Value) -> Option<i128> {
    value.as_u64().map(i128::from).or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as i128)
    })
}

pub struct GitlabBudget;

fn is_gitlab_values(v: &Value) -> bool {
    v.pointer("/global/edition")
        .and_then(Value::as_str)
        .is_some_and(|e| e == "ce" || e == "ee")
        || v.pointer("/gitlab/webservice").is_some()
}

/// One component's memory request: where (the replica count, else the memory request) and
/// how much (request × replicas).
struct Contribution {
    pointer: String,
    bytes: i128,
}

/// Every memory request × replicas under `value`.
fn contributions(
    value: &Value,
    pointer: &str,
    replicas: Option<(i128, String)>,
    out: &mut Vec<Contribution>,
) {
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                contributions(v, &format!("{pointer}/{i}"), replicas.clone(), out);
            }
        }
        Value::Object(map) => {
            let replicas = ["replicaCount", "replicas", "minReplicas"]
                .iter()
                .find_map(|k| {
                    map.get(*k)
                        .and_then(count)
                        .map(|n| (n, format!("{pointer}/{k}")))
                })
                .or(replicas);
            if let Some(memory) = map
                .get("resources")
                .and_then(|r| r.pointer("/requests/memory"))
                .and_then(bytes)
            {
                let (count, at) = match &replicas {
                    Some((n, at)) => (*n, at.clone()),
                    None => (1, format!("{pointer}/resources/requests/memory")),
                };
                out.push(Contribution {
                    pointer: at,
                    bytes: memory.saturating_mul(count),
                });
            }
            for (k, v) in map {
                if k != "resources" {
                    let child = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                    contributions(v, &child, replicas.clone(), out);
                }
            }
        }
        _ => {}
    }
}

/// Sum of memory requests × replicas under `value`.
#[cfg(test)]
fn requested(value: &Value) -> i128 {
    let mut all = Vec::new();
    contributions(value, "", None, &mut all);
    all.iter().map(|c| c.bytes).sum()
}

impl Rule for GitlabBudget {
    fn id(&self) -> &'static str {
        "gitlab/over-budget"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "GitLab values requesting more memory than the budget"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        // The budget is the platform's (the guide's 8 GiB node share), not a fact of the chart.
        let Some(budget) = settings.gitlab_memory_budget else {
            return Vec::new();
        };
        let budget = i128::from(budget);
        repo.non_objects()
            .filter(|d| is_gitlab_values(&d.value))
            .filter_map(|d| {
                let mut all = Vec::new();
                contributions(&d.value, "", None, &mut all);
                let total = all.iter().fold(0i128, |sum, c| sum.saturating_add(c.bytes));
                if total <= budget {
                    return None;
                }
                // Point at the biggest contributor: usually what was just raised.
                let biggest = all.iter().max_by_key(|c| c.bytes)?;
                Some(finding(
                    self,
                    d,
                    &biggest.pointer,
                    format!(
                        "GitLab requests {} of memory, over the {} budget (the largest part, {}, is here)",
                        gib(total),
                        gib(budget),
                        gib(biggest.bytes)
                    ),
                    "lower replicas or memory requests (the guide's values total about 4.2 GB), or raise the budget in platform.toml",
                ).relying_on([settings.fact(format_args!("GitLab memory budget {}", gib(budget)))]))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn sums_requests_times_replicas() {
        let v = json!({"gitlab": {"webservice": {"replicaCount": 2, "resources": {"requests": {"memory": "1Gi"}}},
                                   "sidekiq": {"resources": {"requests": {"memory": "512Mi"}}}}});
        assert_eq!(super::requested(&v), 5 * 512 * 1024 * 1024);
    }

    /// The former parser of this crate read `1E` and `2Ei` as no request at all.
    #[test]
    fn every_kubernetes_unit_counts() {
        let v = json!({"gitlab": {"webservice": {"resources": {"requests": {"memory": "2Ei"}}},
                                   "sidekiq": {"resources": {"requests": {"memory": "1E"}}}}});
        assert_eq!(super::requested(&v), (2i128 << 60) + 10i128.pow(18));
    }
}
