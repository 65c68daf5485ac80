//! Which kinds are cluster-scoped: rendered objects of namespaced kinds without a namespace go
//! to the release namespace, as ArgoCD (and `helm install`) applies them.

use homelab_manifest::Document;
use serde_json::Value;
use std::collections::HashSet;

/// Built-in and platform kinds that live outside namespaces.
const CLUSTER_KINDS: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "VolumeAttributesClass",
    "DeviceClass",
    // Kyverno, cert-manager
    "ClusterPolicy",
    "ClusterCleanupPolicy",
    "ClusterPolicyReport",
    "ClusterEphemeralReport",
    "ValidatingPolicy",
    "ImageValidatingPolicy",
    "MutatingPolicy",
    "GeneratingPolicy",
    "DeletingPolicy",
    "ClusterIssuer",
];

/// The cluster-scoped kinds, with those that CRDs among `documents` declare.
pub fn cluster_kinds<'a>(documents: impl IntoIterator<Item = &'a Document>) -> HashSet<String> {
    let mut kinds: HashSet<String> = CLUSTER_KINDS.iter().map(|k| k.to_string()).collect();
    for doc in documents {
        if doc.kind() != Some("CustomResourceDefinition") {
            continue;
        }
        let scope = doc.value.pointer("/spec/scope").and_then(Value::as_str);
        let kind = doc
            .value
            .pointer("/spec/names/kind")
            .and_then(Value::as_str);
        if let (Some("Cluster"), Some(kind)) = (scope, kind) {
            kinds.insert(kind.to_string());
        }
    }
    kinds
}

/// The `group/version` and `group/version/Kind` strings of the CRDs among `documents`, as a
/// cluster that has them installed reports them to `helm template --api-versions`.
pub fn crd_api_versions<'a>(documents: impl IntoIterator<Item = &'a Document>) -> Vec<String> {
    let mut out = Vec::new();
    for doc in documents {
        if doc.kind() != Some("CustomResourceDefinition") {
            continue;
        }
        let group = doc.value.pointer("/spec/group").and_then(Value::as_str);
        let kind = doc
            .value
            .pointer("/spec/names/kind")
            .and_then(Value::as_str);
        let (Some(group), Some(kind)) = (group, kind) else {
            continue;
        };
        for version in doc
            .value
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if version.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if let Some(name) = version.get("name").and_then(Value::as_str) {
                out.push(format!("{group}/{name}"));
                out.push(format!("{group}/{name}/{kind}"));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
