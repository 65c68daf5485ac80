//! NetworkPolicy reading shared by the network rules: which policies deny by default, which
//! allow DNS, and which namespaces run workloads.

use crate::Repo;
use homelab_k8s::namespaces::is_system_namespace;
pub use homelab_k8s::network_policy::{self, Direction};
use homelab_manifest::Document;
use homelab_manifest::ResourceExt;
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether a policy denies all traffic of `direction` for every pod of its namespace.
pub fn denies_all(doc: &Document, direction: Direction) -> bool {
    network_policy::denies_all(&doc.value, direction)
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
    network_policy::selects_all_pods(&doc.value) && allows_dns_to_selected(doc)
}

/// Whether a policy allows egress to port 53 for the pods it selects (maybe not all).
pub fn allows_dns_to_selected(doc: &Document) -> bool {
    if !network_policy::policy_types(&doc.value).contains(&Direction::Egress) {
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
        if doc.pod_spec().is_some() {
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
    map.retain(|ns, _| !is_system_namespace(ns));
    map
}
