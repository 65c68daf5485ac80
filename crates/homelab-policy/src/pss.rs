//! Kyverno `validate.podSecurity`: the Kubernetes Pod Security Standards (baseline and
//! restricted) checked natively, with Kyverno's `exclude` entries (controlName, images,
//! restrictedField, values) exempting individual violations.

use crate::images::pod_spec;
use crate::response::Status;
use crate::scalars::wildcard_match;
use serde_json::Value;

/// One violated control at one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub control: &'static str,
    /// e.g. `spec.containers[*].securityContext.privileged`
    pub field: String,
    /// Image of the offending container (None for pod-level fields).
    pub image: Option<String>,
    pub values: Vec<String>,
    pub detail: String,
}

const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(o) => o.to_string(),
    }
}

/// All violations of `level` (`baseline` or `restricted`) by the pod in `resource`.
pub fn check(level: &str, resource: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(spec) = pod_spec(resource) else {
        return out;
    };
    let meta = match resource.get("kind").and_then(Value::as_str) {
        Some("Pod") => resource.get("metadata"),
        Some("CronJob") => resource.pointer("/spec/jobTemplate/spec/template/metadata"),
        _ => resource.pointer("/spec/template/metadata"),
    };
    let restricted = level.eq_ignore_ascii_case("restricted");
    let psc = spec.get("securityContext");
    let mut v = |control: &'static str,
                 field: String,
                 image: Option<String>,
                 values: Vec<String>,
                 detail: String| {
        out.push(Violation {
            control,
            field,
            image,
            values,
            detail,
        })
    };
    // pod level
    for f in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(f).and_then(Value::as_bool) == Some(true) {
            v(
                "Host Namespaces",
                format!("spec.{f}"),
                None,
                vec!["true".into()],
                format!("{f}=true"),
            );
        }
    }
    if psc
        .and_then(|p| p.pointer("/windowsOptions/hostProcess"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        v(
            "HostProcess",
            "spec.securityContext.windowsOptions.hostProcess".into(),
            None,
            vec!["true".into()],
            "hostProcess=true".into(),
        );
    }
    if let Some(Value::Array(vols)) = spec.get("volumes") {
        for vol in vols {
            if let Some(hp) = vol.get("hostPath") {
                // exclusions list the host paths they allow
                v(
                    "HostPath Volumes",
                    "spec.volumes[*].hostPath".into(),
                    None,
                    vec![s(hp.get("path"))],
                    format!("hostPath volume {:?}", s(vol.get("name"))),
                );
            }
            if restricted {
                if let Some(m) = vol.as_object() {
                    for k in m.keys() {
                        if k != "name"
                            && !RESTRICTED_VOLUMES.contains(&k.as_str())
                            && k != "hostPath"
                        {
                            v(
                                "Volume Types",
                                format!("spec.volumes[*].{k}"),
                                None,
                                vec![k.clone()],
                                format!(
                                    "volume {:?} uses restricted volume type {k:?}",
                                    s(vol.get("name"))
                                ),
                            );
                        }
                    }
                    if m.contains_key("hostPath") {
                        v(
                            "Volume Types",
                            "spec.volumes[*].hostPath".into(),
                            None,
                            vec!["hostPath".into()],
                            "restricted volume type hostPath".into(),
                        );
                    }
                }
            }
        }
    }
    if let Some(Value::Array(sysctls)) = psc.and_then(|p| p.get("sysctls")) {
        for sc in sysctls {
            let n = s(sc.get("name"));
            if !SAFE_SYSCTLS.contains(&n.as_str()) {
                v(
                    "Sysctls",
                    "spec.securityContext.sysctls[*].name".into(),
                    None,
                    vec![n.clone()],
                    format!("forbidden sysctl {n}"),
                );
            }
        }
    }
    if let Some(se) = psc.and_then(|p| p.get("seLinuxOptions")) {
        selinux(se, "spec.securityContext.seLinuxOptions", None, &mut v);
    }
    let pod_seccomp = s(psc.and_then(|p| p.pointer("/seccompProfile/type")));
    if pod_seccomp == "Unconfined" {
        v(
            "Seccomp",
            "spec.securityContext.seccompProfile.type".into(),
            None,
            vec!["Unconfined".into()],
            "seccompProfile.type=Unconfined".into(),
        );
    }
    if let Some(Value::Object(ann)) = meta.and_then(|m| m.get("annotations")) {
        for (k, val) in ann {
            if let Some(_c) = k.strip_prefix("container.apparmor.security.beta.kubernetes.io/") {
                let val = s(Some(val));
                if !(val == "runtime/default" || val.starts_with("localhost/") || val.is_empty()) {
                    v(
                        "AppArmor",
                        format!("metadata.annotations[{k}]"),
                        None,
                        vec![val.clone()],
                        format!("AppArmor profile {val}"),
                    );
                }
            }
        }
    }
    if let Some(t) = psc
        .and_then(|p| p.pointer("/appArmorProfile/type"))
        .and_then(Value::as_str)
    {
        if t != "RuntimeDefault" && t != "Localhost" {
            v(
                "AppArmor",
                "spec.securityContext.appArmorProfile.type".into(),
                None,
                vec![t.into()],
                format!("appArmorProfile.type={t}"),
            );
        }
    }
    let pod_non_root = psc
        .and_then(|p| p.get("runAsNonRoot"))
        .and_then(Value::as_bool);
    if restricted {
        if pod_non_root == Some(false) {
            v(
                "Running as Non-root",
                "spec.securityContext.runAsNonRoot".into(),
                None,
                vec!["false".into()],
                "runAsNonRoot=false".into(),
            );
        }
        if psc.and_then(|p| p.get("runAsUser")).and_then(Value::as_i64) == Some(0) {
            v(
                "Running as Non-root user",
                "spec.securityContext.runAsUser".into(),
                None,
                vec!["0".into()],
                "runAsUser=0".into(),
            );
        }
    }
    // containers
    for (key, label) in [
        ("containers", "containers"),
        ("initContainers", "initContainers"),
        ("ephemeralContainers", "ephemeralContainers"),
    ] {
        let Some(Value::Array(cs)) = spec.get(key) else {
            continue;
        };
        for c in cs {
            let img = Some(s(c.get("image")));
            let name = s(c.get("name"));
            let sc = c.get("securityContext");
            let f = |x: &str| format!("spec.{label}[*].securityContext.{x}");
            if sc
                .and_then(|x| x.get("privileged"))
                .and_then(Value::as_bool)
                == Some(true)
            {
                v(
                    "Privileged Containers",
                    f("privileged"),
                    img.clone(),
                    vec!["true".into()],
                    format!("container {name:?} must not set securityContext.privileged=true"),
                );
            }
            if sc
                .and_then(|x| x.pointer("/windowsOptions/hostProcess"))
                .and_then(Value::as_bool)
                == Some(true)
            {
                v(
                    "HostProcess",
                    f("windowsOptions.hostProcess"),
                    img.clone(),
                    vec!["true".into()],
                    "hostProcess=true".into(),
                );
            }
            if let Some(Value::Array(add)) = sc.and_then(|x| x.pointer("/capabilities/add")) {
                let bad: Vec<String> = add
                    .iter()
                    .map(|a| s(Some(a)))
                    .filter(|a| {
                        if restricted {
                            a != "NET_BIND_SERVICE"
                        } else {
                            !homelab_k8s::workload::BASELINE_CAPABILITIES.contains(&a.as_str())
                        }
                    })
                    .collect();
                if !bad.is_empty() {
                    v("Capabilities", f("capabilities.add"), img.clone(), bad.clone(), format!("container {name:?} must not include {bad:?} in securityContext.capabilities.add"));
                }
            }
            if let Some(Value::Array(ports)) = c.get("ports") {
                for p in ports {
                    if let Some(hp) = p.get("hostPort").and_then(Value::as_i64) {
                        if hp != 0 {
                            v(
                                "Host Ports",
                                format!("spec.{label}[*].ports[*].hostPort"),
                                img.clone(),
                                vec![hp.to_string()],
                                format!("hostPort {hp}"),
                            );
                        }
                    }
                }
            }
            if let Some(se) = sc.and_then(|x| x.get("seLinuxOptions")) {
                selinux(se, &f("seLinuxOptions"), img.clone(), &mut v);
            }
            if let Some(pm) = sc.and_then(|x| x.get("procMount")).and_then(Value::as_str) {
                if pm != "Default" {
                    v(
                        "/proc Mount Type",
                        f("procMount"),
                        img.clone(),
                        vec![pm.into()],
                        format!("procMount={pm}"),
                    );
                }
            }
            let cseccomp = s(sc.and_then(|x| x.pointer("/seccompProfile/type")));
            if cseccomp == "Unconfined" {
                v(
                    "Seccomp",
                    f("seccompProfile.type"),
                    img.clone(),
                    vec!["Unconfined".into()],
                    "seccompProfile.type=Unconfined".into(),
                );
            }
            if let Some(t) = sc
                .and_then(|x| x.pointer("/appArmorProfile/type"))
                .and_then(Value::as_str)
            {
                if t != "RuntimeDefault" && t != "Localhost" {
                    v(
                        "AppArmor",
                        f("appArmorProfile.type"),
                        img.clone(),
                        vec![t.into()],
                        format!("appArmorProfile.type={t}"),
                    );
                }
            }
            if restricted {
                if sc
                    .and_then(|x| x.get("allowPrivilegeEscalation"))
                    .and_then(Value::as_bool)
                    != Some(false)
                {
                    v("Privilege Escalation", f("allowPrivilegeEscalation"), img.clone(), vec![s(sc.and_then(|x| x.get("allowPrivilegeEscalation")))], format!("container {name:?} must set securityContext.allowPrivilegeEscalation=false"));
                }
                let c_non_root = sc
                    .and_then(|x| x.get("runAsNonRoot"))
                    .and_then(Value::as_bool);
                let ok = match c_non_root {
                    Some(true) => true,
                    Some(false) => false,
                    None => pod_non_root == Some(true),
                };
                if !ok {
                    v(
                        "Running as Non-root",
                        f("runAsNonRoot"),
                        img.clone(),
                        vec![s(sc.and_then(|x| x.get("runAsNonRoot")))],
                        format!("container {name:?} must set securityContext.runAsNonRoot=true"),
                    );
                }
                if sc.and_then(|x| x.get("runAsUser")).and_then(Value::as_i64) == Some(0) {
                    v(
                        "Running as Non-root user",
                        f("runAsUser"),
                        img.clone(),
                        vec!["0".into()],
                        format!("container {name:?} must not set runAsUser=0"),
                    );
                }
                let eff = if cseccomp.is_empty() {
                    pod_seccomp.clone()
                } else {
                    cseccomp.clone()
                };
                if eff != "RuntimeDefault" && eff != "Localhost" && eff != "Unconfined" {
                    v("Seccomp", f("seccompProfile.type"), img.clone(), vec![eff.clone()], format!("container {name:?} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\""));
                }
                let drops: Vec<String> = match sc.and_then(|x| x.pointer("/capabilities/drop")) {
                    Some(Value::Array(d)) => d.iter().map(|x| s(Some(x))).collect(),
                    _ => Vec::new(),
                };
                if !drops.iter().any(|d| d == "ALL") {
                    v("Capabilities", f("capabilities.drop"), img.clone(), drops.clone(), format!("container {name:?} must set securityContext.capabilities.drop=[\"ALL\"]"));
                }
            }
        }
    }
    out
}

fn selinux(
    se: &Value,
    base: &str,
    img: Option<String>,
    v: &mut impl FnMut(&'static str, String, Option<String>, Vec<String>, String),
) {
    let t = s(se.get("type"));
    if ![
        "",
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ]
    .contains(&t.as_str())
    {
        v(
            "SELinux",
            format!("{base}.type"),
            img.clone(),
            vec![t.clone()],
            format!("seLinuxOptions.type={t}"),
        );
    }
    for f in ["user", "role"] {
        let x = s(se.get(f));
        if !x.is_empty() {
            v(
                "SELinux",
                format!("{base}.{f}"),
                img.clone(),
                vec![x.clone()],
                format!("seLinuxOptions.{f}={x}"),
            );
        }
    }
}

fn norm_field(f: &str) -> String {
    f.replace("[*]", "").replace(' ', "")
}

fn excluded(viol: &Violation, excludes: &[Value]) -> bool {
    excludes.iter().any(|e| {
        let control = e.get("controlName").and_then(Value::as_str).unwrap_or("");
        if !control.eq_ignore_ascii_case(viol.control) {
            return false;
        }
        let images: Vec<&str> = match e.get("images") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !images.is_empty() {
            match &viol.image {
                Some(img) => {
                    if !images.iter().any(|p| wildcard_match(p, img)) {
                        return false;
                    }
                }
                None => return false,
            }
        } else if viol.image.is_some() && e.get("restrictedField").is_none() {
            // a container-level control needs images (or a field) to be exempted
            return false;
        }
        if let Some(rf) = e.get("restrictedField").and_then(Value::as_str) {
            let (a, b) = (norm_field(rf), norm_field(&viol.field));
            let a = a
                .replace("initContainers", "containers")
                .replace("ephemeralContainers", "containers");
            let b = b
                .replace("initContainers", "containers")
                .replace("ephemeralContainers", "containers");
            if a != b && !b.starts_with(&a) {
                return false;
            }
        }
        if let Some(Value::Array(vals)) = e.get("values") {
            let allowed: Vec<String> = vals.iter().map(|x| s(Some(x))).collect();
            if !viol.values.iter().all(|x| allowed.contains(x)) {
                return false;
            }
        }
        true
    })
}

/// Evaluate a `podSecurity` block with the combined exclusions.
pub fn validate(ps: &Value, excludes: &[Value], resource: &Value) -> (Status, String) {
    let level = ps
        .get("level")
        .and_then(Value::as_str)
        .unwrap_or("baseline");
    let version = ps
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("latest");
    if level.eq_ignore_ascii_case("privileged") {
        return (
            Status::Pass,
            "pod security: privileged level allows everything".into(),
        );
    }
    let remaining: Vec<Violation> = check(level, resource)
        .into_iter()
        .filter(|v| !excluded(v, excludes))
        .collect();
    if remaining.is_empty() {
        return (
            Status::Pass,
            format!("pod is compliant with PodSecurity \"{level}:{version}\""),
        );
    }
    let mut controls: Vec<String> = Vec::new();
    for v in &remaining {
        let d = format!("{} ({})", v.control, v.detail);
        if !controls.contains(&d) {
            controls.push(d);
        }
    }
    (
        Status::Fail,
        format!(
            "validation error: it violates PodSecurity \"{level}:{version}\": {}",
            controls.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn baseline_and_restricted() {
        let good = json!({"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "nginx",
            "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true,
                "seccompProfile": {"type": "RuntimeDefault"}, "capabilities": {"drop": ["ALL"]}}}]}});
        assert_eq!(
            validate(&json!({"level": "restricted"}), &[], &good).0,
            Status::Pass
        );
        let bad = json!({"kind": "Pod", "spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "nginx",
            "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN"]}}}]}});
        let v = check("baseline", &bad);
        let controls: Vec<&str> = v.iter().map(|x| x.control).collect();
        assert!(controls.contains(&"Host Namespaces"));
        assert!(controls.contains(&"Privileged Containers"));
        assert!(controls.contains(&"Capabilities"));
        assert_eq!(
            validate(&json!({"level": "baseline"}), &[], &bad).0,
            Status::Fail
        );
        let ex = vec![
            json!({"controlName": "Host Namespaces"}),
            json!({"controlName": "Privileged Containers", "images": ["nginx"]}),
            json!({"controlName": "Capabilities", "images": ["ng*"], "restrictedField": "spec.containers[*].securityContext.capabilities.add", "values": ["SYS_ADMIN"]}),
        ];
        assert_eq!(
            validate(&json!({"level": "baseline"}), &ex, &bad).0,
            Status::Pass
        );
        assert_eq!(
            validate(&json!({"level": "baseline"}), &ex[..2], &bad).0,
            Status::Fail
        );
    }
}
