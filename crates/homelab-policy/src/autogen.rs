//! Kyverno autogen: rules written for Pods also apply to the pod controllers
//! (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, ReplicationController as
//! `autogen-<rule>`, CronJob as `autogen-cronjob-<rule>`), with patterns moved under the pod
//! template and `request.object.spec`/`metadata` paths rewritten. The
//! `pod-policies.kyverno.io/autogen-controllers` annotation picks the controllers (`none`
//! turns it off).

use serde_json::{json, Map, Value};

pub const ANNOTATION: &str = "pod-policies.kyverno.io/autogen-controllers";
pub const DEFAULT_CONTROLLERS: &[&str] = &homelab_k8s::workload::POD_CONTROLLERS;

fn kinds_of(filter: &Value) -> Vec<String> {
    match filter.get("kinds") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn is_kind(sel: &str, kind: &str) -> bool {
    sel.rsplit('/').next() == Some(kind) || sel == kind
}

fn contains_kind(kinds: &[String], kind: &str) -> bool {
    kinds.iter().any(|k| is_kind(k, kind))
}

/// Every resource description (`resources` maps) of a match or exclude block.
fn descriptions(block: Option<&Value>) -> Vec<&Value> {
    let mut out = Vec::new();
    let Some(b) = block else { return out };
    if let Some(r) = b.get("resources") {
        out.push(r);
    }
    for k in ["any", "all"] {
        if let Some(Value::Array(fs)) = b.get(k) {
            for f in fs {
                if let Some(r) = f.get("resources") {
                    out.push(r);
                }
            }
        }
    }
    out
}

fn nonempty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        _ => true,
    }
}

/// Kyverno's `CanAutoGen`: the controllers to generate rules for (empty = none).
pub fn controllers(policy: &Value) -> Vec<String> {
    let rules = match policy.pointer("/spec/rules") {
        Some(Value::Array(r)) => r,
        _ => return Vec::new(),
    };
    let mut needed = false;
    for rule in rules {
        if nonempty(rule.pointer("/mutate/patchesJson6902")) || rule.get("generate").is_some() {
            return Vec::new();
        }
        if let Some(Value::Array(fe)) = rule.pointer("/mutate/foreach") {
            if fe.iter().any(|f| nonempty(f.get("patchesJson6902"))) {
                return Vec::new();
            }
        }
        for d in descriptions(rule.get("match"))
            .into_iter()
            .chain(descriptions(rule.get("exclude")))
        {
            let kinds = kinds_of(d);
            if nonempty(d.get("name"))
                || nonempty(d.get("names"))
                || nonempty(d.get("selector"))
                || nonempty(d.get("annotations"))
                || (kinds.len() > 1 && contains_kind(&kinds, "Pod"))
            {
                return Vec::new();
            }
            needed = needed || contains_kind(&kinds, "Pod");
        }
    }
    if !needed {
        return Vec::new();
    }
    match policy
        .pointer(&format!(
            "/metadata/annotations/{}",
            ANNOTATION.replace('/', "~1")
        ))
        .and_then(Value::as_str)
    {
        Some(a) => {
            let list: Vec<String> = a
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if list.iter().any(|c| c == "none") {
                Vec::new()
            } else if list.iter().any(|c| c == "all") {
                DEFAULT_CONTROLLERS.iter().map(|s| s.to_string()).collect()
            } else {
                list
            }
        }
        None => DEFAULT_CONTROLLERS.iter().map(|s| s.to_string()).collect(),
    }
}

/// The policy's rules followed by the generated autogen rules.
pub fn expand_rules(policy: &Value) -> Vec<Value> {
    let rules: Vec<Value> = match policy.pointer("/spec/rules") {
        Some(Value::Array(r)) => r.clone(),
        _ => return Vec::new(),
    };
    let ctrls = controllers(policy);
    if ctrls.is_empty() {
        return rules;
    }
    let non_cron: Vec<String> = ctrls
        .iter()
        .filter(|c| c.as_str() != "CronJob")
        .cloned()
        .collect();
    let has_cron = ctrls.iter().any(|c| c == "CronJob");
    let mut out = rules.clone();
    for rule in &rules {
        if !non_cron.is_empty() {
            if let Some(r) = generate(rule, "autogen-", "Pod", &non_cron, "template") {
                out.push(rewrite(r, false));
            }
        }
        if has_cron {
            if let Some(job) = generate(rule, "autogen-", "Pod", &["Job".to_string()], "template") {
                let base = rule.get("name").and_then(Value::as_str).unwrap_or("");
                if let Some(mut r) =
                    generate(&job, "", "Job", &["CronJob".to_string()], "jobTemplate")
                {
                    r["name"] = Value::String(truncate_name(&format!("autogen-cronjob-{base}")));
                    out.push(rewrite(r, true));
                }
            }
        }
    }
    out
}

fn truncate_name(n: &str) -> String {
    n.chars().take(63).collect()
}

fn replace_filter_kinds(block: &mut Value, from: &str, kinds: &[String], force_legacy: bool) {
    let Some(b) = block.as_object_mut() else {
        return;
    };
    let mut done = false;
    for k in ["any", "all"] {
        if let Some(Value::Array(fs)) = b.get_mut(k) {
            if fs.is_empty() {
                continue;
            }
            for f in fs.iter_mut() {
                if let Some(r) = f.get_mut("resources") {
                    if contains_kind(&kinds_of(r), from) {
                        r["kinds"] = json!(kinds);
                    }
                }
            }
            done = true;
            break;
        }
    }
    if !done {
        if let Some(r) = b.get_mut("resources") {
            if force_legacy || !kinds_of(r).is_empty() {
                r["kinds"] = json!(kinds);
            }
        }
    }
}

fn generate(
    rule: &Value,
    prefix: &str,
    from: &str,
    kinds: &[String],
    tpl_key: &str,
) -> Option<Value> {
    let name = rule.get("name").and_then(Value::as_str).unwrap_or("");
    // only rules that select `from` are converted
    let selects = descriptions(rule.get("match"))
        .iter()
        .any(|d| contains_kind(&kinds_of(d), from));
    if !selects {
        return None;
    }
    let mut r = rule.clone();
    r["name"] = Value::String(truncate_name(&format!("{prefix}{name}")));
    if let Some(m) = r.get_mut("match") {
        replace_filter_kinds(m, from, kinds, true);
    }
    if let Some(x) = r.get_mut("exclude") {
        replace_filter_kinds(x, from, kinds, false);
    }
    let wrap = |p: &Value| json!({"spec": {tpl_key: p}});
    if let Some(m) = r.get_mut("mutate") {
        if let Some(p) = m.get("patchStrategicMerge").cloned() {
            m["patchStrategicMerge"] = wrap(&p);
        }
        if let Some(Value::Array(fes)) = m.get_mut("foreach") {
            for fe in fes.iter_mut() {
                if let Some(p) = fe.get("patchStrategicMerge").cloned() {
                    fe["patchStrategicMerge"] = wrap(&p);
                }
            }
        }
        return Some(r);
    }
    let v = r.get_mut("validate")?;
    if let Some(p) = v.get("pattern").cloned() {
        v["pattern"] = wrap(&p);
        return Some(r);
    }
    if let Some(Value::Array(ps)) = v.get("anyPattern").cloned() {
        v["anyPattern"] = Value::Array(ps.iter().map(wrap).collect());
        return Some(r);
    }
    if v.get("deny").is_some()
        || v.get("foreach").is_some()
        || v.get("podSecurity").is_some()
        || v.get("cel").is_some()
    {
        return Some(r);
    }
    None
}

/// Kyverno rewrites the generated rule's JSON text: `request.object.spec` → the pod
/// template's spec (and `metadata`, and `oldObject`); CEL expressions likewise.
fn rewrite(mut rule: Value, cronjob: bool) -> Value {
    let cel = rule.pointer("/validate/cel").cloned();
    let base = if cronjob {
        "spec.jobTemplate.spec.template"
    } else {
        "spec.template"
    };
    let f = |s: &str| -> String {
        let mut t = s.to_string();
        for obj in ["request.object", "request.oldObject"] {
            for part in ["spec", "metadata"] {
                let from = format!("{obj}.{part}");
                if t.contains(&from) {
                    t = t.replace(&from, &format!("{obj}.{base}.{part}"));
                }
            }
        }
        t
    };
    if let Some(v) = rule.get_mut("validate").and_then(Value::as_object_mut) {
        v.remove("cel");
    }
    rewrite_strings(&mut rule, &f);
    if let Some(c) = cel {
        let wrapper = json!({"validate": {"cel": c}});
        let rewritten = crate::cel_kinds::rewrite_cluster_policy_rule(&wrapper, cronjob);
        if let Some(rc) = rewritten.pointer("/validate/cel") {
            rule["validate"]["cel"] = rc.clone();
        }
    }
    rule
}

fn rewrite_strings(v: &mut Value, f: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) if s.contains("request.") => *s = f(s),
        Value::String(_) => {}
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_strings(x, f)),
        Value::Object(m) => {
            let old = std::mem::take(m);
            let mut nm = Map::new();
            for (k, mut x) in old {
                rewrite_strings(&mut x, f);
                let nk = if k.contains("request.") { f(&k) } else { k };
                nm.insert(nk, x);
            }
            *m = nm;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(ann: Option<&str>) -> Value {
        let mut p = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"rules": [{"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"message": "{{ request.object.metadata.name }}", "pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}}]}});
        if let Some(a) = ann {
            p["metadata"]["annotations"] = json!({ANNOTATION: a});
        }
        p
    }

    #[test]
    fn generates_controller_rules() {
        let rules = expand_rules(&pol(None));
        let names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["r", "autogen-r", "autogen-cronjob-r"]);
        assert_eq!(
            rules[1]["match"]["any"][0]["resources"]["kinds"]
                .as_array()
                .unwrap()
                .len(),
            6
        );
        assert!(
            rules[1]["validate"]["pattern"]["spec"]["template"]["spec"]["containers"].is_array()
        );
        assert_eq!(
            rules[1]["validate"]["message"],
            "{{ request.object.spec.template.metadata.name }}"
        );
        assert!(
            rules[2]["validate"]["pattern"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                .is_object()
        );
        assert_eq!(
            rules[2]["match"]["any"][0]["resources"]["kinds"],
            json!(["CronJob"])
        );
    }

    #[test]
    fn annotation_controls() {
        assert_eq!(expand_rules(&pol(Some("none"))).len(), 1);
        let r = expand_rules(&pol(Some("Deployment")));
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[1]["match"]["any"][0]["resources"]["kinds"],
            json!(["Deployment"])
        );
    }
}
