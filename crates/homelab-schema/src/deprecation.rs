//! apiVersions that Kubernetes deprecated or removed, from the Kubernetes deprecated API
//! migration guide (kubernetes.io/docs/reference/using-api/deprecation-guide/).

/// One retired (group/version, kind).
#[derive(Debug, Clone, Copy)]
pub struct Retired {
    pub api_version: &'static str,
    /// `*` for every kind of that apiVersion.
    pub kind: &'static str,
    /// Minor version in which use is deprecated (warning from then on).
    pub deprecated_in: u32,
    /// Minor version that no longer serves it; `None` if not removed (yet).
    pub removed_in: Option<u32>,
    pub replacement: &'static str,
}

const fn r(
    api_version: &'static str,
    kind: &'static str,
    deprecated_in: u32,
    removed_in: Option<u32>,
    replacement: &'static str,
) -> Retired {
    Retired {
        api_version,
        kind,
        deprecated_in,
        removed_in,
        replacement,
    }
}

pub const TABLE: &[Retired] = &[
    // v1.16
    r("extensions/v1beta1", "Deployment", 9, Some(16), "apps/v1"),
    r("extensions/v1beta1", "DaemonSet", 9, Some(16), "apps/v1"),
    r("extensions/v1beta1", "ReplicaSet", 9, Some(16), "apps/v1"),
    r("extensions/v1beta1", "NetworkPolicy", 9, Some(16), "networking.k8s.io/v1"),
    r("extensions/v1beta1", "PodSecurityPolicy", 10, Some(16), "policy/v1beta1 (itself removed in 1.25: use Pod Security Admission)"),
    r("apps/v1beta1", "*", 9, Some(16), "apps/v1"),
    r("apps/v1beta2", "*", 9, Some(16), "apps/v1"),
    // v1.22
    r("extensions/v1beta1", "Ingress", 14, Some(22), "networking.k8s.io/v1"),
    r("networking.k8s.io/v1beta1", "Ingress", 19, Some(22), "networking.k8s.io/v1"),
    r("networking.k8s.io/v1beta1", "IngressClass", 19, Some(22), "networking.k8s.io/v1"),
    // Only the webhook configurations: the group's v1beta1 came back in 1.28 and 1.34 for
    // ValidatingAdmissionPolicy and MutatingAdmissionPolicy.
    r("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", 16, Some(22), "admissionregistration.k8s.io/v1"),
    r("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", 16, Some(22), "admissionregistration.k8s.io/v1"),
    r("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", 16, Some(22), "apiextensions.k8s.io/v1"),
    r("apiregistration.k8s.io/v1beta1", "APIService", 19, Some(22), "apiregistration.k8s.io/v1"),
    r("authentication.k8s.io/v1beta1", "TokenReview", 19, Some(22), "authentication.k8s.io/v1"),
    r("authorization.k8s.io/v1beta1", "*", 19, Some(22), "authorization.k8s.io/v1"),
    r("certificates.k8s.io/v1beta1", "CertificateSigningRequest", 19, Some(22), "certificates.k8s.io/v1"),
    r("coordination.k8s.io/v1beta1", "Lease", 19, Some(22), "coordination.k8s.io/v1"),
    r("rbac.authorization.k8s.io/v1beta1", "*", 17, Some(22), "rbac.authorization.k8s.io/v1"),
    r("rbac.authorization.k8s.io/v1alpha1", "*", 17, Some(22), "rbac.authorization.k8s.io/v1"),
    r("scheduling.k8s.io/v1beta1", "PriorityClass", 14, Some(22), "scheduling.k8s.io/v1"),
    r("scheduling.k8s.io/v1alpha1", "PriorityClass", 14, Some(22), "scheduling.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "CSIDriver", 19, Some(22), "storage.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "CSINode", 17, Some(22), "storage.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "StorageClass", 19, Some(22), "storage.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "VolumeAttachment", 19, Some(22), "storage.k8s.io/v1"),
    // v1.25
    r("batch/v1beta1", "CronJob", 21, Some(25), "batch/v1"),
    r("discovery.k8s.io/v1beta1", "EndpointSlice", 21, Some(25), "discovery.k8s.io/v1"),
    r("events.k8s.io/v1beta1", "Event", 19, Some(25), "events.k8s.io/v1"),
    r("autoscaling/v2beta1", "HorizontalPodAutoscaler", 22, Some(25), "autoscaling/v2"),
    r("policy/v1beta1", "PodDisruptionBudget", 21, Some(25), "policy/v1"),
    r("policy/v1beta1", "PodSecurityPolicy", 21, Some(25), "Pod Security Admission (namespace labels pod-security.kubernetes.io/*); PodSecurityPolicy has no replacement API"),
    r("node.k8s.io/v1beta1", "RuntimeClass", 20, Some(25), "node.k8s.io/v1"),
    // v1.26
    r("flowcontrol.apiserver.k8s.io/v1beta1", "*", 23, Some(26), "flowcontrol.apiserver.k8s.io/v1"),
    r("autoscaling/v2beta2", "HorizontalPodAutoscaler", 23, Some(26), "autoscaling/v2"),
    // v1.27
    r("storage.k8s.io/v1beta1", "CSIStorageCapacity", 24, Some(27), "storage.k8s.io/v1"),
    // v1.29
    r("flowcontrol.apiserver.k8s.io/v1beta2", "*", 26, Some(29), "flowcontrol.apiserver.k8s.io/v1"),
    // v1.32
    r("flowcontrol.apiserver.k8s.io/v1beta3", "*", 29, Some(32), "flowcontrol.apiserver.k8s.io/v1"),
    // Deprecated, still served.
    r("v1", "Endpoints", 33, None, "discovery.k8s.io/v1 EndpointSlice"),
    r("v1", "ComponentStatus", 19, None, "no replacement (query component health endpoints directly)"),
];

/// What the target version says about `(api_version, kind)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Removed {
        in_minor: u32,
        replacement: &'static str,
    },
    Deprecated {
        since_minor: u32,
        removal_minor: Option<u32>,
        replacement: &'static str,
    },
}

pub fn lifecycle(api_version: &str, kind: &str, target_minor: u32) -> Option<Lifecycle> {
    let e = TABLE
        .iter()
        .find(|e| e.api_version == api_version && (e.kind == kind || e.kind == "*"))?;
    match e.removed_in {
        Some(removed) if target_minor >= removed => Some(Lifecycle::Removed {
            in_minor: removed,
            replacement: e.replacement,
        }),
        _ if target_minor >= e.deprecated_in => Some(Lifecycle::Deprecated {
            since_minor: e.deprecated_in,
            removal_minor: e.removed_in,
            replacement: e.replacement,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_and_deprecated_by_target_version() {
        assert!(matches!(
            lifecycle("extensions/v1beta1", "Deployment", 29),
            Some(Lifecycle::Removed {
                in_minor: 16,
                replacement: "apps/v1"
            })
        ));
        assert!(matches!(
            lifecycle("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", 30),
            Some(Lifecycle::Deprecated {
                removal_minor: Some(32),
                ..
            })
        ));
        assert!(matches!(
            lifecycle("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", 32),
            Some(Lifecycle::Removed { in_minor: 32, .. })
        ));
        assert_eq!(lifecycle("apps/v1", "Deployment", 37), None);
        assert!(matches!(
            lifecycle("v1", "Endpoints", 33),
            Some(Lifecycle::Deprecated { .. })
        ));
        assert_eq!(lifecycle("v1", "Endpoints", 32), None);
    }
}
