//! What a repository tells about Pod Security: which namespaces it legitimately runs
//! privileged (system components it installs, workloads that need the host, its own Kyverno
//! exceptions, the platform's exempt list) and what an unlabelled namespace falls back to
//! (the cluster's admission defaults: baseline on Talos, privileged on a plain API server).

use crate::charts::installs;
use crate::{Repo, Settings};
use homelab_k8s::namespaces::SYSTEM_NAMESPACES;
use homelab_manifest::ResourceExt;
use serde_json::Value;
use std::collections::BTreeMap;

/// Charts of system components that need privileged pods (host networking, host paths,
/// devices): CNIs, storage and CSI drivers, GPU and device plugins, node agents.
const PRIVILEGED_CHARTS: [&str; 33] = [
    "longhorn",
    "gpu-operator",
    "nvidia-device-plugin",
    "node-feature-discovery",
    "intel-device-plugins-operator",
    "amd-gpu",
    "cilium",
    "calico",
    "tigera-operator",
    "flannel",
    "multus",
    "metallb",
    "kube-vip",
    "rook-ceph",
    "rook-ceph-cluster",
    "openebs",
    "localpv-provisioner",
    "democratic-csi",
    "csi-driver-nfs",
    "csi-driver-smb",
    "synology-csi",
    "proxmox-csi-plugin",
    "topolvm",
    "local-path-provisioner",
    "nfs-subdir-external-provisioner",
    "kube-prometheus-stack",
    "prometheus-node-exporter",
    "falco",
    "spegel",
    "system-upgrade-controller",
    "generic-device-plugin",
    "smarter-device-manager",
    "trivy-operator",
];

/// Namespaces that well-known system components run in by convention.
const SYSTEM_COMPONENT_NAMESPACES: [&str; 18] = [
    "longhorn-system",
    "gpu-operator",
    "nvidia-gpu-operator",
    "nvidia-device-plugin",
    "node-feature-discovery",
    "intel-device-plugins",
    "cilium",
    "calico-system",
    "tigera-operator",
    "kube-flannel",
    "metallb-system",
    "rook-ceph",
    "openebs",
    "democratic-csi",
    "piraeus-datastore",
    "system-upgrade",
    "falco",
    "trivy-system",
];

fn is_true(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool) == Some(true)
}

/// Why a pod spec needs more than the baseline level (host namespaces, host paths, host
/// ports, privileged containers, capabilities beyond baseline), if it does.
pub fn needs_privileged(spec: &Value) -> Option<String> {
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(spec.get(field)) {
            return Some(format!("`{field}: true`"));
        }
    }
    if spec
        .get("volumes")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().any(|v| v.get("hostPath").is_some()))
    {
        return Some("a hostPath volume".into());
    }
    for list in ["containers", "initContainers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let sc = c.get("securityContext");
            if is_true(sc.and_then(|s| s.get("privileged"))) {
                return Some("a privileged container".into());
            }
            if let Some(cap) = sc
                .and_then(|s| s.pointer("/capabilities/add"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find(|c| {
                    let c = c.trim_start_matches("CAP_");
                    !homelab_k8s::workload::BASELINE_CAPABILITIES.contains(&c)
                })
            {
                return Some(format!("capability `{cap}`"));
            }
            if c.get("ports").and_then(Value::as_array).is_some_and(|p| {
                p.iter().any(|p| {
                    p.get("hostPort")
                        .is_some_and(|h| h.as_u64().is_some_and(|h| h > 0))
                })
            }) {
                return Some("a hostPort".into());
            }
        }
    }
    None
}

/// The namespaces the repository legitimately runs privileged, each with the fact that says
/// so.
pub fn privileged_namespaces(repo: &Repo, settings: &Settings) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |ns: &str, why: String| {
        out.entry(ns.to_string()).or_insert(why);
    };
    for ns in &settings.privileged_namespaces {
        add(ns, format!("exempt in {}", settings.origin()));
    }
    for ns in SYSTEM_NAMESPACES {
        add(ns, "the cluster's own".into());
    }
    for ns in SYSTEM_COMPONENT_NAMESPACES {
        add(ns, "the namespace of a well-known system component".into());
    }
    for install in installs(repo) {
        if let (true, Some(ns)) = (
            PRIVILEGED_CHARTS.contains(&install.chart.as_str()),
            install.namespace.as_deref(),
        ) {
            add(
                ns,
                format!(
                    "the {} chart installed there ({})",
                    install.chart,
                    install.origin(repo)
                ),
            );
        }
    }
    for doc in repo.objects() {
        if let (Some(pod), Some(ns)) = (doc.pod_spec(), doc.namespace()) {
            if let Some(why) = needs_privileged(pod.spec) {
                add(
                    ns,
                    format!(
                        "{} `{}` needs {why} ({})",
                        doc.kind().unwrap_or("?"),
                        doc.name().unwrap_or("?"),
                        repo.relative_path(doc)
                    ),
                );
            }
        }
        if doc.kind() == Some("PolicyException") && doc.group() == "kyverno.io" {
            for ns in exception_namespaces(&doc.value) {
                add(
                    &ns,
                    format!(
                        "Kyverno PolicyException `{}` ({})",
                        doc.name().unwrap_or("?"),
                        repo.relative_path(doc)
                    ),
                );
            }
        }
    }
    out
}

/// The plain namespace names a Kyverno PolicyException's `match` covers.
fn exception_namespaces(exception: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for block in ["any", "all"] {
        for filter in exception
            .pointer(&format!("/spec/match/{block}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for ns in filter
                .pointer("/resources/namespaces")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|n| !n.contains(['*', '?']))
            {
                out.push(ns.to_string());
            }
        }
    }
    out
}

/// What a namespace without an `enforce` label gets from the cluster.
pub struct AdmissionDefault {
    /// The level, when the repository shows it.
    pub enforce: Option<String>,
    /// Where that comes from, or why it is assumed.
    pub origin: String,
}

impl AdmissionDefault {
    /// Whether the fallback is at least baseline.
    pub fn is_baseline_or_stricter(&self) -> bool {
        matches!(self.enforce.as_deref(), Some("baseline" | "restricted"))
    }
}

/// The cluster's Pod Security admission default, as far as the repository shows it: an
/// AdmissionConfiguration's PodSecurity defaults, Talos (whose API server enforces
/// `baseline` by default), or else the API server's own default, `privileged`.
pub fn admission_default(repo: &Repo) -> AdmissionDefault {
    for doc in repo.documents {
        if let Some(enforce) = pod_security_defaults(&doc.value) {
            return AdmissionDefault {
                enforce: Some(enforce.to_string()),
                origin: format!(
                    "the PodSecurity admission configuration in {}",
                    repo.relative_path(doc)
                ),
            };
        }
    }
    let talos = repo
        .documents
        .iter()
        .find(|d| is_talos(&d.value))
        .map(|doc| repo.relative_path(doc))
        .or_else(|| {
            repo.sources
                .iter()
                .find(|s| is_talos_template(&s.text))
                .map(|s| repo.relative_name(&s.name))
        });
    if let Some(file) = talos {
        return AdmissionDefault {
            enforce: Some("baseline".into()),
            origin: format!(
                "Talos ({file}), whose API server enforces baseline unless configured otherwise"
            ),
        };
    }
    AdmissionDefault {
        enforce: None,
        origin:
            "the API server's default, privileged, unless its admission configuration sets another"
                .into(),
    }
}

/// `defaults.enforce` of a PodSecurityConfiguration (alone or inside an
/// AdmissionConfiguration's plugins).
fn pod_security_defaults(v: &Value) -> Option<&str> {
    if v.get("kind").and_then(Value::as_str) == Some("PodSecurityConfiguration") {
        return v.pointer("/defaults/enforce").and_then(Value::as_str);
    }
    if v.get("kind").and_then(Value::as_str) == Some("AdmissionConfiguration") {
        return v
            .get("plugins")
            .and_then(Value::as_array)?
            .iter()
            .filter(|p| p.get("name").and_then(Value::as_str) == Some("PodSecurity"))
            .find_map(|p| {
                p.pointer("/configuration/defaults/enforce")
                    .and_then(Value::as_str)
            });
    }
    None
}

/// A Talos machine configuration written as a template (Jinja `.yaml.j2`, a makejinja or
/// gomplate file) that is not read as YAML: the text has Talos's top-level `version: v1alpha1`,
/// `machine:` and `cluster:` keys. Its templated admission settings cannot be read; a
/// PodSecurity admission configuration in the text says the default is set there.
fn is_talos_template(text: &str) -> bool {
    let top = |key: &str| text.lines().any(|l| l.trim_end() == key);
    top("version: v1alpha1")
        && top("machine:")
        && top("cluster:")
        && !text.contains("PodSecurityConfiguration")
}

/// A Talos machine configuration or talhelper/Omni cluster definition.
pub fn is_talos(v: &Value) -> bool {
    let Some(map) = v.as_object() else {
        return false;
    };
    (map.contains_key("machine") && map.contains_key("cluster"))
        || (map.contains_key("talosVersion") && map.contains_key("nodes"))
        || (map.get("apiVersion").and_then(Value::as_str) == Some("v1alpha1")
            && map.get("kind").and_then(Value::as_str) == Some("TalosCluster"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn talos_machine_configuration_templates() {
        let template = "version: v1alpha1\nmachine:\n  type: {{ machinetype }}\n  {% if x %}\n  token: a\n  {% endif %}\ncluster:\n  clusterName: home\n";
        assert!(is_talos_template(template));
        assert!(!is_talos_template("machine:\n  type: worker\n"));
        assert!(!is_talos_template(&format!(
            "{template}  apiServer:\n    admissionControl:\n      - name: PodSecurity\n        configuration:\n          kind: PodSecurityConfiguration\n          defaults: {{enforce: privileged}}\n"
        )));
    }

    #[test]
    fn what_needs_privileged() {
        assert!(needs_privileged(&json!({"hostNetwork": true})).is_some());
        assert!(needs_privileged(&json!({"volumes": [{"hostPath": {"path": "/dev"}}]})).is_some());
        assert!(needs_privileged(
            &json!({"containers": [{"securityContext": {"privileged": true}}]})
        )
        .is_some());
        assert!(needs_privileged(
            &json!({"containers": [{"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]})
        )
        .is_some());
        assert!(needs_privileged(&json!({"containers": [{"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}]})).is_none());
        assert!(
            needs_privileged(&json!({"containers": [{"ports": [{"containerPort": 80}]}]}))
                .is_none()
        );
        assert!(
            needs_privileged(&json!({"containers": [{"ports": [{"hostPort": 53}]}]})).is_some()
        );
    }

    #[test]
    fn admission_defaults_from_configuration() {
        let plugin = json!({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
            "plugins": [{"name": "PodSecurity", "configuration": {"kind": "PodSecurityConfiguration", "defaults": {"enforce": "restricted"}}}]});
        assert_eq!(pod_security_defaults(&plugin), Some("restricted"));
        assert!(is_talos(
            &json!({"version": "v1alpha1", "machine": {}, "cluster": {}})
        ));
        assert!(is_talos(
            &json!({"clusterName": "k", "talosVersion": "v1.9", "nodes": []})
        ));
        assert!(!is_talos(&json!({"apiVersion": "v1", "kind": "Pod"})));
    }
}
