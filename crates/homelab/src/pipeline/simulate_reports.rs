//! The PolicyReports Kyverno's reports controller writes in the predicted cluster: when the
//! prediction runs it, its background scan evaluates every policy that scans in the
//! background (`spec.background`, on by default) against the objects of the cluster, minus
//! those its `resourceFilters` leave out, and reports each object's results (Kyverno 1.12+:
//! one PolicyReport per namespaced object, one ClusterPolicyReport per cluster-scoped one).
//! The results come from the project's own Kyverno engine, the one `check` uses.

use homelab_policy::apply::{apply, ApplyInput, ApplyOptions, ApplyResult};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Marks what the simulation made up (as on its Pods and Nodes).
const SIMULATED: &str = "homelab.dev/simulated";

/// Kinds Kyverno never reports on (its own reports, and what the simulation adds to show
/// the cluster, not objects of it).
const NOT_SCANNED: &[&str] = &[
    "PolicyReport",
    "ClusterPolicyReport",
    "EphemeralReport",
    "ClusterEphemeralReport",
    "Event",
];

/// The reports of the predicted cluster `items` (the snapshot's objects); none when no
/// Kyverno reports controller runs in it or no policy scans in the background.
pub fn policy_reports(items: &[Value]) -> Vec<Value> {
    let Some(controller_ns) = items.iter().find_map(reports_controller) else {
        return Vec::new();
    };
    let policies: Vec<Value> = items
        .iter()
        .filter(|o| is_kyverno(o, &["ClusterPolicy", "Policy"]))
        .filter(|o| o.pointer("/spec/background").and_then(Value::as_bool) != Some(false))
        .cloned()
        .collect();
    if policies.is_empty() {
        return Vec::new();
    }
    let filters = items
        .iter()
        .find(|o| {
            kind(o) == "ConfigMap"
                && str_at(o, "/metadata/namespace") == Some(controller_ns)
                && o.pointer("/data/resourceFilters").is_some()
        })
        .and_then(|cm| str_at(cm, "/data/resourceFilters"))
        .map(ResourceFilter::parse_all)
        .unwrap_or_default();
    let namespace_labels: HashMap<String, Map<String, Value>> = items
        .iter()
        .filter(|o| kind(o) == "Namespace")
        .filter_map(|o| {
            let name = str_at(o, "/metadata/name")?.to_string();
            let labels = o
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            Some((name, labels))
        })
        .collect();
    let resources: Vec<Value> = items
        .iter()
        .filter(|o| !NOT_SCANNED.contains(&kind(o)) && !is_kyverno(o, &["ClusterPolicy", "Policy"]))
        .filter(|o| {
            let ns = str_at(o, "/metadata/namespace").unwrap_or("");
            let name = str_at(o, "/metadata/name").unwrap_or("");
            !filters.iter().any(|f| f.matches(kind(o), ns, name))
        })
        .cloned()
        .collect();
    let input = ApplyInput {
        policies,
        exceptions: items
            .iter()
            .filter(|o| is_kyverno(o, &["PolicyException"]))
            .cloned()
            .collect(),
        resources,
        namespace_labels,
        ..Default::default()
    };
    let report = apply(&input, ApplyOptions::default());
    let mut by_resource: BTreeMap<(String, String, String, String), Vec<&ApplyResult>> =
        BTreeMap::new();
    for r in &report.results {
        by_resource
            .entry((
                r.namespace.clone(),
                r.kind.clone(),
                r.name.clone(),
                r.api_version.clone(),
            ))
            .or_default()
            .push(r);
    }
    by_resource
        .into_iter()
        .map(|((ns, kind, name, api_version), results)| {
            report_of(&ns, &kind, &name, &api_version, &results)
        })
        .collect()
}

fn report_of(
    ns: &str,
    kind: &str,
    name: &str,
    api_version: &str,
    results: &[&ApplyResult],
) -> Value {
    let mut summary: BTreeMap<&str, usize> = ["pass", "fail", "warn", "error", "skip"]
        .iter()
        .map(|s| (*s, 0))
        .collect();
    let rows: Vec<Value> = results
        .iter()
        .map(|r| {
            *summary.entry(r.status.as_str()).or_insert(0) += 1;
            json!({
                "policy": r.policy, "rule": r.rule, "result": r.status.as_str(),
                "message": r.message, "scored": true, "source": "kyverno",
            })
        })
        .collect();
    let mut scope = json!({"apiVersion": api_version, "kind": kind, "name": name});
    let mut metadata = json!({
        // Kyverno names a report by its object's UID, which a prediction does not have.
        "name": format!("{}-{name}", kind.to_ascii_lowercase()),
        "annotations": {SIMULATED: "true"},
        "labels": {"app.kubernetes.io/managed-by": "kyverno"},
    });
    let report_kind = if ns.is_empty() {
        "ClusterPolicyReport"
    } else {
        scope["namespace"] = json!(ns);
        metadata["namespace"] = json!(ns);
        "PolicyReport"
    };
    json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": report_kind,
        "metadata": metadata,
        "scope": scope,
        "results": rows,
        "summary": summary,
    })
}

/// The namespace of a Kyverno reports controller that is up in the prediction.
fn reports_controller(o: &Value) -> Option<&str> {
    if kind(o) != "Deployment" {
        return None;
    }
    let ready = o.pointer("/status/readyReplicas").and_then(Value::as_i64)? >= 1;
    let runs = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .any(|image| image.contains("kyverno/reports-controller"));
    (ready && runs).then(|| str_at(o, "/metadata/namespace").unwrap_or("default"))
}

fn kind(o: &Value) -> &str {
    str_at(o, "/kind").unwrap_or("")
}

fn str_at<'v>(o: &'v Value, pointer: &str) -> Option<&'v str> {
    o.pointer(pointer).and_then(Value::as_str)
}

fn is_kyverno(o: &Value, kinds: &[&str]) -> bool {
    str_at(o, "/apiVersion").is_some_and(|v| v.starts_with("kyverno.io/"))
        && kinds.contains(&kind(o))
}

/// One `[kind,namespace,name]` entry of Kyverno's `resourceFilters` (wildcards `*`, `?`).
#[derive(Debug, PartialEq)]
pub(crate) struct ResourceFilter {
    kind: String,
    namespace: String,
    name: String,
}

impl ResourceFilter {
    pub(crate) fn parse_all(text: &str) -> Vec<ResourceFilter> {
        text.split('[')
            .filter_map(|entry| {
                let entry = entry.trim().strip_suffix(']')?;
                let mut parts = entry.splitn(3, ',').map(str::trim);
                let (kind, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
                Some(ResourceFilter {
                    kind: kind.to_string(),
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                })
            })
            .collect()
    }

    /// Whether the filter leaves out this object. A kind may be `*`, `*/*`, `Kind`,
    /// `group/version/Kind`, or a subresource (`Pod/binding`), which no stored object is.
    pub(crate) fn matches(&self, kind: &str, namespace: &str, name: &str) -> bool {
        let kind_matches = match self.kind.as_str() {
            "*" | "*/*" => true,
            k => {
                let parts: Vec<&str> = k.split('/').collect();
                match parts.len() {
                    1 => glob(k, kind),
                    3 => glob(parts[2], kind),
                    _ => false,
                }
            }
        };
        kind_matches && glob(&self.namespace, namespace) && glob(&self.name, name)
    }
}

/// Kyverno's wildcard match: `*` any run, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point (linear in practice, never exponential).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller(ready: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "kyverno-reports-controller", "namespace": "kyverno"},
            "spec": {"template": {"spec": {"containers": [{"name": "c",
                "image": "reg.kyverno.io/kyverno/reports-controller:v1.19.0"}]}}},
            "status": {"readyReplicas": ready}})
    }

    fn policy(background: Option<bool>) -> Value {
        let mut p = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "require-team"},
            "spec": {"validationFailureAction": "Audit", "rules": [{"name": "team-label",
                "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                "validate": {"message": "label team is required",
                    "pattern": {"metadata": {"labels": {"team": "?*"}}}}}]}});
        if let Some(b) = background {
            p["spec"]["background"] = json!(b);
        }
        p
    }

    fn config_map(ns: &str, name: &str, team: bool) -> Value {
        let mut c = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": {}});
        if team {
            c["metadata"]["labels"] = json!({"team": "ai"});
        }
        c
    }

    fn filters() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kyverno", "namespace": "kyverno"},
            "data": {"resourceFilters": "[Event,*,*] [*/*,kube-system,*] [ConfigMap,kyverno,kyverno] [Pod/binding,*,*]"}})
    }

    #[test]
    fn the_background_scan_reports_each_object_its_policies_match() {
        let items = vec![
            controller(1),
            filters(),
            policy(None),
            config_map("ai", "good", true),
            config_map("ai", "bad", false),
            config_map("kube-system", "skipped", false),
        ];
        let reports = policy_reports(&items);
        let names: Vec<&str> = reports
            .iter()
            .map(|r| r["scope"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["bad", "good"], "{reports:#?}");
        for r in &reports {
            assert_eq!(r["kind"], "PolicyReport");
            assert_eq!(r["metadata"]["namespace"], "ai");
            assert_eq!(r["metadata"]["annotations"][SIMULATED], "true");
        }
        assert_eq!(reports[0]["summary"]["fail"], 1);
        assert_eq!(reports[0]["results"][0]["policy"], "require-team");
        assert_eq!(reports[0]["results"][0]["result"], "fail");
        assert_eq!(reports[1]["summary"]["pass"], 1);
        assert_eq!(reports[1]["summary"]["fail"], 0);
    }

    #[test]
    fn no_reports_without_a_running_controller_or_a_background_policy() {
        let cm = config_map("ai", "bad", false);
        assert!(policy_reports(&[controller(0), policy(None), cm.clone()]).is_empty());
        assert!(policy_reports(&[policy(None), cm.clone()]).is_empty());
        assert!(policy_reports(&[controller(1), policy(Some(false)), cm]).is_empty());
    }

    #[test]
    fn resource_filters_parse_and_match_like_kyvernos() {
        let f = ResourceFilter::parse_all(
            "[*/*,kyverno,*] [Node,*,*] [apps/v1/Deployment,x-?,web*] [Pod/binding,*,*]",
        );
        assert_eq!(f.len(), 4);
        assert!(f[0].matches("Deployment", "kyverno", "anything"));
        assert!(!f[0].matches("Deployment", "ai", "anything"));
        assert!(f[1].matches("Node", "", "n1"));
        assert!(f[2].matches("Deployment", "x-1", "web-ui"));
        assert!(!f[2].matches("Deployment", "x-12", "web-ui"));
        assert!(!f[3].matches("Pod", "ai", "p"));
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy"));
        assert!(glob("*", "") && !glob("?", ""));
    }
}
