//! Autogen for CEL policies: a Pod policy also applies to the pod controllers
//! (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job; CronJob separately)
//! by rewriting `object.spec`/`object.metadata` to the pod template's paths.
//!
//! ValidatingPolicy: Kyverno generates one variant per replacement set
//! ("defaults" and "cronjobs") with match constraints for the controllers and
//! every string of the spec rewritten, leaving `metadata.name`/`.namespace`
//! alone. ClusterPolicy `validate.cel` rules: a plain rewrite
//! ([`rewrite_cluster_policy_cel`]) for the policy engine's own autogen.

use serde_json::{json, Value as Json};

use super::match_constraints::selector_is_set;

/// (controller resource, group, kind, uses the CronJob paths)
const CONTROLLERS: &[(&str, &str, &str, bool)] = &[
    ("daemonsets", "apps", "DaemonSet", false),
    ("deployments", "apps", "Deployment", false),
    ("replicasets", "apps", "ReplicaSet", false),
    ("statefulsets", "apps", "StatefulSet", false),
    ("jobs", "batch", "Job", false),
    ("cronjobs", "batch", "CronJob", true),
];

/// Whether Kyverno can autogen for these match constraints: exactly one rule for
/// core/v1 pods, without names, exclusions or an object selector (a namespace
/// selector carries over to the variants).
fn can_autogen(mc: &Json) -> bool {
    if selector_is_set(mc.get("objectSelector")) {
        return false;
    }
    if mc
        .get("excludeResourceRules")
        .and_then(Json::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return false;
    }
    let Some([rule]) = mc
        .get("resourceRules")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
    else {
        return false;
    };
    let one = |k: &str, want: &str| {
        rule.get(k)
            .and_then(Json::as_array)
            .is_some_and(|a| a.len() == 1 && a[0].as_str() == Some(want))
    };
    let no_names = rule
        .get("resourceNames")
        .and_then(Json::as_array)
        .is_none_or(|a| a.is_empty());
    no_names && one("apiGroups", "") && one("apiVersions", "v1") && one("resources", "pods")
}

/// Replaces `from` by `to` except where followed by `.name`/`.namespace`.
fn replace_protected(s: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(from) {
        out.push_str(&rest[..i]);
        let after = &rest[i + from.len()..];
        let protected = [".namespace", ".name"].iter().any(|suf| {
            after
                .strip_prefix(suf)
                .is_some_and(|n| !n.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        });
        out.push_str(if protected { from } else { to });
        rest = after;
    }
    out.push_str(rest);
    out
}

fn rewrite_strings(v: &mut Json, f: &dyn Fn(&str) -> String) {
    match v {
        Json::String(s) => *s = f(s),
        Json::Array(a) => a.iter_mut().for_each(|x| rewrite_strings(x, f)),
        Json::Object(m) => m.values_mut().for_each(|x| rewrite_strings(x, f)),
        _ => {}
    }
}

fn rewrite_vpol(text: &str, cronjob: bool) -> String {
    let (spec, meta) = if cronjob {
        (
            "spec.jobTemplate.spec.template.spec",
            "spec.jobTemplate.spec.template.metadata",
        )
    } else {
        ("spec.template.spec", "spec.template.metadata")
    };
    let mut t = text.to_string();
    for (from, to) in [("spec", spec), ("metadata", meta)] {
        for prefix in ["object.", "oldObject."] {
            t = replace_protected(&t, &format!("{prefix}{from}"), &format!("{prefix}{to}"));
        }
    }
    t
}

/// The autogen variants of a ValidatingPolicy `spec`: each a spec whose match
/// constraints select pod controllers and whose expressions read the pod template.
pub fn validating_policy_variants(spec: &Json) -> Vec<Json> {
    let mut out = Vec::new();
    for (cron, constraints) in controller_constraints(spec) {
        let mut variant = spec.clone();
        if let Json::Object(m) = &mut variant {
            m.remove("matchConstraints");
        }
        rewrite_strings(&mut variant, &|s| rewrite_vpol(s, cron));
        if let Json::Object(m) = &mut variant {
            m.insert("matchConstraints".into(), constraints);
        }
        out.push(variant);
    }
    out
}

/// The match constraints of the autogen variants of a CEL policy spec (pods ->
/// controllers, then cronjobs): one resource rule per API group of the enabled
/// controllers, the operations and namespace selector of the pod rule. Empty when
/// Kyverno does not autogen for the spec.
fn controller_constraints(spec: &Json) -> Vec<(bool, Json)> {
    let Some(mc) = spec.get("matchConstraints") else {
        return Vec::new();
    };
    if !can_autogen(mc) {
        return Vec::new();
    }
    let configured = spec
        .pointer("/autogen/podControllers/controllers")
        .and_then(Json::as_array);
    let enabled = |res: &str| match configured {
        Some(list) => list
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.eq_ignore_ascii_case(res))),
        None => true,
    };
    let operations = mc
        .pointer("/resourceRules/0/operations")
        .cloned()
        .unwrap_or(json!(["*"]));
    let mut out = Vec::new();
    for cron in [false, true] {
        let targets: Vec<&(&str, &str, &str, bool)> = CONTROLLERS
            .iter()
            .filter(|c| c.3 == cron && enabled(c.0))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let mut groups: Vec<&str> = targets.iter().map(|t| t.1).collect();
        groups.sort();
        groups.dedup();
        let rules: Vec<Json> = groups
            .iter()
            .map(|g| {
                let mut res: Vec<&str> = targets.iter().filter(|t| t.1 == *g).map(|t| t.0).collect();
                res.sort();
                json!({"apiGroups": [g], "apiVersions": ["v1"], "resources": res, "operations": operations})
            })
            .collect();
        let mut constraints = json!({"resourceRules": rules});
        if let Some(sel) = mc.get("namespaceSelector").filter(|s| !s.is_null()) {
            constraints["namespaceSelector"] = sel.clone();
        }
        out.push((cron, constraints));
    }
    out
}

/// Kyverno's rewrite of a MutatingPolicy expression for pod controllers: `object.spec`,
/// `object.metadata.labels/annotations` (and `oldObject.`, `Object.`) move under the pod
/// template, and an `Object{...}` apply configuration is wrapped into the template.
fn rewrite_mpol(expr: &str, cronjob: bool) -> String {
    let (spec, meta) = if cronjob {
        (
            "spec.jobTemplate.spec.template.spec",
            "spec.jobTemplate.spec.template.metadata",
        )
    } else {
        ("spec.template.spec", "spec.template.metadata")
    };
    let mut out = expr.to_string();
    for (from, to) in [
        ("spec", spec.to_string()),
        ("metadata.labels", format!("{meta}.labels")),
        ("metadata.annotations", format!("{meta}.annotations")),
    ] {
        for root in ["object", "oldObject", "Object"] {
            out = replace_word(&out, &format!("{root}.{from}"), &format!("{root}.{to}"));
        }
    }
    let trimmed = out.trim();
    let Some(rest) = trimmed.strip_prefix("Object") else {
        return out;
    };
    let Some(content) = rest.trim_start().strip_prefix('{') else {
        return out;
    };
    let mut depth = 1usize;
    let mut end = None;
    for (i, c) in content.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(end) = end.filter(|e| *e > 0) else {
        return out;
    };
    let (open, close) = if cronjob {
        ("Object{spec: Object.spec{jobTemplate: Object.spec.jobTemplate{spec: Object.spec.jobTemplate.spec{template: Object.spec.jobTemplate.spec.template{", "}}}}}")
    } else {
        (
            "Object{spec: Object.spec{template: Object.spec.template{",
            "}}}",
        )
    };
    format!("{open}{}{close}{}", &content[..end], &content[end + 1..])
}

/// Replaces `from` by `to` where `from` starts a word (not preceded by an identifier
/// character), in one pass.
fn replace_word(s: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, _) in s.match_indices(from) {
        if i < last {
            continue;
        }
        let boundary = s[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        out.push_str(&s[last..i]);
        out.push_str(if boundary { to } else { from });
        last = i + from.len();
    }
    out.push_str(&s[last..]);
    out
}

/// The autogen variants of a MutatingPolicy `spec` (its match conditions and apply
/// configurations rewritten for the pod template).
pub fn mutating_policy_variants(spec: &Json) -> Vec<Json> {
    controller_constraints(spec)
        .into_iter()
        .map(|(cron, constraints)| {
            let mut variant = spec.clone();
            variant["matchConstraints"] = constraints;
            if let Some(Json::Array(conds)) = variant.get_mut("matchConditions") {
                for c in conds {
                    if let Some(Json::String(e)) = c.get_mut("expression") {
                        *e = rewrite_mpol(e, cron);
                    }
                }
            }
            if let Some(Json::Array(ms)) = variant.get_mut("mutations") {
                for m in ms {
                    if let Some(Json::String(e)) = m.pointer_mut("/applyConfiguration/expression") {
                        *e = rewrite_mpol(e, cron);
                    }
                }
            }
            variant
        })
        .collect()
}

/// Kyverno's rewrite of a ClusterPolicy `validate.cel` rule for pod controllers
/// (`cronjob` = the CronJob variant): every `object.spec`/`oldObject.spec` and
/// `object.metadata`/`oldObject.metadata` moves under the pod template.
pub fn rewrite_cluster_policy_cel(text: &str, cronjob: bool) -> String {
    let (spec, meta) = if cronjob {
        (
            "spec.jobTemplate.spec.template.spec",
            "spec.jobTemplate.spec.template.metadata",
        )
    } else {
        ("spec.template.spec", "spec.template.metadata")
    };
    let mut t = text.to_string();
    for (from, to) in [("spec", spec), ("metadata", meta)] {
        for prefix in ["object.", "oldObject."] {
            t = t.replace(&format!("{prefix}{from}"), &format!("{prefix}{to}"));
        }
    }
    t
}

/// [`rewrite_cluster_policy_cel`] applied to every string of a rule (JSON).
pub fn rewrite_cluster_policy_rule(rule: &Json, cronjob: bool) -> Json {
    let mut r = rule.clone();
    rewrite_strings(&mut r, &|s| rewrite_cluster_policy_cel(s, cronjob));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_spec() -> Json {
        json!({
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
            "validations": [{"expression": "object.spec.containers.all(c, has(c.image)) && object.metadata.name != '' && has(object.metadata.labels)"}]
        })
    }

    #[test]
    fn generates_controller_and_cronjob_variants() {
        let v = validating_policy_variants(&pod_spec());
        assert_eq!(v.len(), 2);
        let e = v[0]["validations"][0]["expression"].as_str().unwrap();
        assert_eq!(
            e,
            "object.spec.template.spec.containers.all(c, has(c.image)) && object.metadata.name != '' && has(object.spec.template.metadata.labels)"
        );
        assert_eq!(
            v[0]["matchConstraints"]["resourceRules"][0]["apiGroups"],
            json!(["apps"])
        );
        assert_eq!(
            v[0]["matchConstraints"]["resourceRules"][1]["resources"],
            json!(["jobs"])
        );
        let c = v[1]["validations"][0]["expression"].as_str().unwrap();
        assert!(c.starts_with("object.spec.jobTemplate.spec.template.spec.containers"));
        assert_eq!(
            v[1]["matchConstraints"]["resourceRules"][0]["resources"],
            json!(["cronjobs"])
        );
    }

    #[test]
    fn honours_controller_configuration() {
        let mut s = pod_spec();
        s["autogen"] = json!({"podControllers": {"controllers": []}});
        assert!(validating_policy_variants(&s).is_empty());
        s["autogen"] = json!({"podControllers": {"controllers": ["deployments"]}});
        let v = validating_policy_variants(&s);
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0]["matchConstraints"]["resourceRules"][0]["resources"],
            json!(["deployments"])
        );
    }

    #[test]
    fn no_autogen_for_non_pod_policies() {
        let mut s = pod_spec();
        s["matchConstraints"]["resourceRules"][0]["resources"] = json!(["pods", "services"]);
        assert!(validating_policy_variants(&s).is_empty());
        let mut s = pod_spec();
        s["matchConstraints"]["objectSelector"] = json!({"matchLabels": {"a": "b"}});
        assert!(validating_policy_variants(&s).is_empty());
    }

    #[test]
    fn cluster_policy_rewrite() {
        assert_eq!(
            rewrite_cluster_policy_cel("object.spec.x && oldObject.metadata.name", false),
            "object.spec.template.spec.x && oldObject.spec.template.metadata.name"
        );
    }
}
