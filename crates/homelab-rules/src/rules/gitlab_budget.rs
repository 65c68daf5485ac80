//! # `gitlab/over-budget`: GitLab values requesting more than the memory budget
//!
//! ## What it checks
//! In the GitLab chart's values (a values document with `global.edition` or a `gitlab:`
//! section of subcharts), the memory requests of every component, multiplied by its replica
//! count, add up to less than the budget of `platform.toml` (the guide: 8 GiB).
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

use crate::quantity::{gib, parse};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct GitlabBudget;

fn is_gitlab_values(v: &Value) -> bool {
    v.pointer("/global/edition")
        .and_then(Value::as_str)
        .is_some_and(|e| e == "ce" || e == "ee")
        || v.pointer("/gitlab/webservice").is_some()
}

/// Sum of memory requests × replicas under `value`.
fn requested(value: &Value, replicas: f64) -> f64 {
    let Value::Object(map) = value else {
        return match value {
            Value::Array(items) => items.iter().map(|v| requested(v, replicas)).sum(),
            _ => 0.0,
        };
    };
    let count = ["replicaCount", "replicas", "minReplicas"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_f64))
        .unwrap_or(replicas);
    let own = map
        .get("resources")
        .and_then(|r| r.pointer("/requests/memory"))
        .and_then(parse)
        .map(|m| m * count)
        .unwrap_or(0.0);
    own + map
        .iter()
        .filter(|(k, _)| k.as_str() != "resources")
        .map(|(_, v)| requested(v, count))
        .sum::<f64>()
}

impl Rule for GitlabBudget {
    fn id(&self) -> &'static str {
        "gitlab/over-budget"
    }
    fn module(&self) -> &'static str {
        "gitlab_budget"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "GitLab values requesting more memory than the budget"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let budget = settings.gitlab_memory_budget as f64;
        repo.non_objects()
            .filter(|d| is_gitlab_values(&d.value))
            .filter_map(|d| {
                let total = requested(&d.value, 1.0);
                (total > budget).then(|| {
                    finding(
                        self,
                        d,
                        "",
                        format!("GitLab requests {} of memory, over the {} budget", gib(total), gib(budget)),
                        "lower replicas or memory requests (the guide's values total about 4.2 GB), or raise the budget in platform.toml",
                    )
                })
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
        assert_eq!(super::requested(&v, 1.0), 2.5 * 1024.0 * 1024.0 * 1024.0);
    }
}
