//! NetworkPolicy reading shared by the network rules: which policies deny by default, which
//! allow DNS, and which namespaces run workloads.

use crate::workload::pod_spec;
use crate::Repo;
use homelab_manifest::Document;
use serde_json::Value;
use std::collections::BTreeMap;

/// Namespaces that k3s itself runs and that no repository should lock down.
pub const CORE_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

fn policy_types(doc: &Document) -> Vec<String> {
    match doc
        .value
        .pointer("/spec/policyTypes")
        .and_then(Value::as_array)
    {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        // Kubernetes defaults: Ingress always, Egress when egress rules are present.
        None => {
            let mut t = vec!["Ingress".to_string()];
            if doc.value.pointer("/spec/egress").is_some() {
                t.push("Egress".to_string());
            }
            t
        }
    }
}

fn selects_all_pods(doc: &Document) -> bool {
    match doc.value.pointer("/spec/podSelector") {
        None | Some(Value::Null) => true,
        Some(Value::Object(sel)) => sel.values().all(|v| match v {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        }),
        _ => false,
    }
}

fn no_rules(doc: &Document, field: &str) -> bool {
    match doc.value.pointer(&format!("/spec/{field}")) {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// Whether a policy denies all traffic of `direction` ("Ingress"/"Egress") for every pod.
pub fn denies_all(doc: &Document, direction: &str) -> bool {
    let field = if direction == "Ingress" {
        "ingress"
    } else {
        "egress"
    };
    selects_all_pods(doc)
        && policy_types(doc).iter().any(|t| t == direction)
        && no_rules(doc, field)
}

fn port_is_dns(port: &Value) -> bool {
    match port.get("port") {
        None | Some(Value::Null) => true, // all ports
        Some(Value::Number(n)) => n.as_u64() == Some(53),
        Some(Value::String(s)) => s == "53" || s == "dns" || s == "dns-tcp",
        _ => false,
    }
}

/// Whether a policy allows egress to port 53 for every pod of its namespace.
pub fn allows_dns(doc: &Document) -> bool {
    if !selects_all_pods(doc) || !policy_types(doc).iter().any(|t| t == "Egress") {
        return false;
    }
    doc.value
        .pointer("/spec/egress")
        .and_then(Value::as_array)
        .is_some_and(|rules| {
            rules
                .iter()
                .any(|rule| match rule.get("ports").and_then(Value::as_array) {
                    None => true,
                    Some(ports) if ports.is_empty() => true,
                    Some(ports) => ports.iter().any(port_is_dns),
                })
        })
}

/// NetworkPolicies by namespace.
pub fn policies_by_namespace<'a>(repo: &Repo<'a>) -> BTreeMap<&'a str, Vec<&'a Document>> {
    let mut map: BTreeMap<&str, Vec<&Document>> = BTreeMap::new();
    for doc in repo.of_kind("NetworkPolicy") {
        if let Some(ns) = doc.namespace() {
            map.entry(ns).or_default().push(doc);
        }
    }
    map
}

/// Namespaces that run workloads, with the first object that shows it: workload objects with
/// an explicit namespace, and ArgoCD Applications deploying into a namespace.
pub fn workload_namespaces<'a>(repo: &Repo<'a>) -> BTreeMap<String, &'a Document> {
    let mut map = BTreeMap::new();
    for doc in repo.objects() {
        if pod_spec(doc).is_some() {
            if let Some(ns) = doc.namespace() {
                map.entry(ns.to_string()).or_insert(doc);
            }
        } else if doc.kind() == Some("Application") && doc.group() == "argoproj.io" {
            if let Some(ns) = doc
                .value
                .pointer("/spec/destination/namespace")
                .and_then(Value::as_str)
            {
                map.entry(ns.to_string()).or_insert(doc);
            }
        }
    }
    map.retain(|ns, _| !CORE_NAMESPACES.contains(&ns.as_str()));
    map
}
