use super::*;
use crate::response::Status;
use serde_json::json;

fn request<'a>(ctx: &'a EvalContext, values: &'a ValuesFile) -> Request<'a> {
    Request {
        ctx,
        exceptions: &[],
        values,
    }
}

fn cluster_policy(rules: Value) -> Value {
    json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
           "spec": {"validationFailureAction": "Enforce", "rules": rules}})
}

#[test]
fn kinds_index_is_conservative() {
    let kinds = |rules: Value| {
        selectable_kinds(
            cluster_policy(rules)["spec"]["rules"]
                .as_array()
                .unwrap()
                .iter(),
        )
    };
    let k = kinds(json!([{"match": {"any": [{"resources": {"kinds": ["Pod", "apps/v1/Deployment", "Pod/exec"]}}]}}])).unwrap();
    assert!(k.contains("Pod") && k.contains("Deployment"));
    assert!(!k.contains("Service"));
    assert!(kinds(json!([{"match": {"any": [{"resources": {"kinds": ["*"]}}]}}])).is_none());
    assert!(kinds(json!([{"match": {"any": [{"resources": {"kinds": ["Dep*"]}}]}}])).is_none());
    assert!(kinds(json!([{"match": {"any": [{"resources": {"names": ["x"]}}]}}])).is_none());
    // One alternative without kinds selects any kind.
    assert!(kinds(json!([{"match": {"any": [{"resources": {"kinds": ["Pod"]}}, {"subjects": [{"kind": "User", "name": "u"}]}]}}])).is_none());
    // In `all`, one filter with kinds bounds the rule.
    let k = kinds(json!([{"match": {"all": [{"subjects": [{"kind": "User", "name": "u"}]}, {"resources": {"kinds": ["Service"]}}]}}])).unwrap();
    assert_eq!(
        k.into_iter().collect::<Vec<_>>(),
        vec!["Service".to_string()]
    );
    // The legacy single filter.
    assert!(
        kinds(json!([{"match": {"resources": {"kinds": ["ConfigMap"]}}}]))
            .unwrap()
            .contains("ConfigMap")
    );
    assert!(kinds(json!([{"match": {"resources": {}}}])).is_none());
}

#[test]
fn autogen_rules_are_indexed_under_the_controllers() {
    let p = CompiledPolicy::compile(&cluster_policy(json!([{"name": "r",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}}])));
    for kind in ["Pod", "Deployment", "CronJob", "Job", "StatefulSet"] {
        assert!(p.may_select(kind), "{kind}");
    }
    assert!(!p.may_select("Service"));
    let set = PolicySet::new(vec![p]);
    assert_eq!(set.candidates("Deployment"), &[0]);
    assert!(set.candidates("ConfigMap").is_empty());
}

#[test]
fn pattern_failures_carry_the_failing_path() {
    let p = cluster_policy(json!([{"name": "no-latest",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"message": "pin the image", "pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}},
        {"name": "any", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"anyPattern": [{"spec": {"hostNetwork": true}}, {"metadata": {"labels": {"app": "?*"}}}]}},
        {"name": "deny", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"deny": {"conditions": {"any": [{"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "web"}]}}}}]));
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "a"},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1"}, {"name": "d", "image": "nginx:latest"}]}});
    let (ctx, values) = (EvalContext::default(), ValuesFile::default());
    let resp = CompiledPolicy::compile(&p)
        .evaluate(&pod, &request(&ctx, &values))
        .unwrap();
    let by_rule = |n: &str| resp.rules.iter().find(|r| r.rule == n).unwrap();
    assert_eq!(by_rule("no-latest").status, Status::Fail);
    assert_eq!(
        by_rule("no-latest").path.as_deref(),
        Some("/spec/containers/1/image")
    );
    assert_eq!(by_rule("any").status, Status::Fail);
    assert_eq!(by_rule("any").path.as_deref(), Some("/spec/hostNetwork"));
    assert_eq!(by_rule("deny").status, Status::Fail);
    assert_eq!(by_rule("deny").path, None);
}

#[test]
fn compiled_once_gives_the_results_of_a_fresh_compile() {
    let p = cluster_policy(json!([{"name": "ctx",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "context": [{"name": "n", "variable": {"jmesPath": "request.object.metadata.name"}}],
        "validate": {"foreach": [{"list": "request.object.spec.containers",
            "deny": {"conditions": {"any": [{"key": "{{ element.name }}", "operator": "Equals", "value": "{{ n }}"}]}}}]}}]));
    let compiled = CompiledPolicy::compile(&p);
    let (ctx, values) = (EvalContext::default(), ValuesFile::default());
    let req = request(&ctx, &values);
    for name in ["a", "b", "c"] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                         "spec": {"containers": [{"name": "b", "image": "x"}]}});
        let once = compiled.evaluate(&pod, &req).unwrap();
        assert_eq!(Some(once.clone()), evaluate(&p, &pod, &req));
        let want = if name == "b" {
            Status::Fail
        } else {
            Status::Pass
        };
        assert_eq!(once.rules[0].status, want, "{name}");
    }
    assert_eq!(compiled.failure_action("ctx"), "Enforce");
}
