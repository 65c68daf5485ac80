//! Pod Security admission levels (`pod-security.kubernetes.io/enforce`) applied to a pod
//! template: the checks of the `baseline` and `restricted` profiles that decide most
//! rejections (privilege, host namespaces and paths, ports, capabilities, non-root,
//! privilege escalation, seccomp).

use homelab_k8s::PodSpec;
use serde_json::Value;

/// Why a pod with `spec` is rejected at `level` (`privileged`, `baseline`, `restricted`);
/// empty when it is admitted.
pub fn violations(spec: &PodSpec<'_>, level: &str) -> Vec<String> {
    let mut out = Vec::new();
    if level != "baseline" && level != "restricted" {
        return out;
    }
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(field) == Some(&Value::Bool(true)) {
            out.push(format!("{field}=true"));
        }
    }
    for v in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if v.get("hostPath").is_some() {
            let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
            out.push(format!("hostPath volume `{name}`"));
        }
    }
    let pod_ctx = spec.get("securityContext");
    let pod_flag = |field: &str| pod_ctx.and_then(|c| c.get(field));
    for c in spec.containers() {
        let ctx = c.value.get("securityContext");
        let flag = |field: &str| ctx.and_then(|x| x.get(field));
        let name = c.name;
        if flag("privileged") == Some(&Value::Bool(true)) {
            out.push(format!("container `{name}` is privileged"));
        }
        for p in c
            .value
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if p.get("hostPort")
                .and_then(Value::as_i64)
                .is_some_and(|h| h != 0)
            {
                out.push(format!("container `{name}` uses a hostPort"));
            }
        }
        let added: Vec<&str> = ctx
            .and_then(|x| x.pointer("/capabilities/add"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for cap in &added {
            let allowed = if level == "restricted" {
                *cap == "NET_BIND_SERVICE"
            } else {
                homelab_k8s::workload::BASELINE_CAPABILITIES.contains(cap)
            };
            if !allowed {
                out.push(format!("container `{name}` adds capability {cap}"));
            }
        }
        if level != "restricted" {
            continue;
        }
        if flag("allowPrivilegeEscalation") != Some(&Value::Bool(false)) {
            out.push(format!(
                "container `{name}` does not set allowPrivilegeEscalation=false"
            ));
        }
        let non_root = flag("runAsNonRoot").or_else(|| pod_flag("runAsNonRoot"));
        if non_root != Some(&Value::Bool(true)) {
            out.push(format!("container `{name}` does not set runAsNonRoot=true"));
        }
        let user = flag("runAsUser").or_else(|| pod_flag("runAsUser"));
        if user.and_then(Value::as_i64) == Some(0) {
            out.push(format!("container `{name}` runs as user 0"));
        }
        let seccomp = ctx
            .and_then(|x| x.pointer("/seccompProfile/type"))
            .or_else(|| pod_ctx.and_then(|x| x.pointer("/seccompProfile/type")))
            .and_then(Value::as_str);
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            out.push(format!(
                "container `{name}` has no RuntimeDefault seccomp profile"
            ));
        }
        let drops_all = ctx
            .and_then(|x| x.pointer("/capabilities/drop"))
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|v| v.as_str() == Some("ALL")));
        if !drops_all {
            out.push(format!("container `{name}` does not drop ALL capabilities"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(spec: Value, level: &str) -> Vec<String> {
        violations(
            &PodSpec {
                spec: &spec,
                pointer: "/spec",
            },
            level,
        )
    }

    #[test]
    fn baseline_rejects_privilege_and_host_access() {
        let spec = json!({"hostNetwork": true, "volumes": [{"name": "dev", "hostPath": {"path": "/dev"}}],
            "containers": [{"name": "a", "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN", "CHOWN"]}}}]});
        let v = check(spec.clone(), "baseline");
        assert_eq!(v.len(), 4, "{v:?}");
        assert!(check(spec, "privileged").is_empty());
    }

    #[test]
    fn restricted_needs_the_hardened_context_and_accepts_it() {
        let plain = json!({"containers": [{"name": "a"}]});
        assert!(check(plain.clone(), "baseline").is_empty());
        assert_eq!(check(plain, "restricted").len(), 4);
        let hardened = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]});
        assert!(check(hardened, "restricted").is_empty());
    }
}
