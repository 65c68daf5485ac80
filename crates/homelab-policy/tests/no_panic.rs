//! Property tests: random policies and resources never make the engine panic, and random
//! JMESPath input never panics the interpreter or the substitution.

use homelab_policy::context::EvalContext;
use homelab_policy::engine::{self, Request};
use homelab_policy::values_file::ValuesFile;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("spec".to_string()),
        Just("containers".to_string()),
        Just("image".to_string()),
        Just("(name)".to_string()),
        Just("=(securityContext)".to_string()),
        Just("X(hostNetwork)".to_string()),
        Just("^(containers)".to_string()),
        Just("<(image)".to_string()),
        Just("+(x)".to_string()),
        "[a-z]{1,6}",
        "[(=X^<+]{0,2}\\(?[a-z*?]{0,4}\\)?",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("*"),
            Just("?*"),
            Just("!*:latest"),
            Just(">1Gi"),
            Just("1-10"),
            Just("1!-5"),
            Just("a | b & c"),
            Just("<=500m"),
            Just("{{ request.object.metadata.name }}"),
            Just("{{ element.x || `1` }}"),
            Just("{{"),
            Just("}}{{ nope("),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn policy(validate: Value, kinds: Value) -> Value {
    json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
        "spec": {"rules": [{"name": "r", "match": {"any": [{"resources": {"kinds": kinds}}]},
            "preconditions": {"any": [{"key": "{{ request.operation }}", "operator": "AnyIn", "value": ["CREATE", "UPDATE"]}]},
            "validate": validate}]}})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_patterns_never_panic(pattern in tree(), spec in tree(), any_of in prop::collection::vec(tree(), 0..3)) {
        let resource = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "d"}, "spec": spec});
        let ctx = EvalContext::default();
        let values = ValuesFile::default();
        let req = Request { ctx: &ctx, exceptions: &[], values: &values };
        for v in [json!({"pattern": pattern.clone()}), json!({"anyPattern": any_of}), json!({"pattern": {"spec": pattern}})] {
            for kinds in [json!(["Pod"]), json!(["Deployment"])] {
                let _ = engine::evaluate(&policy(v.clone(), kinds), &resource, &req);
            }
        }
        // the same random tree as a resource body under a Deployment (autogen path)
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"template": {"spec": resource["spec"].clone()}}});
        let _ = engine::evaluate(&policy(json!({"pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}), json!(["Pod"])), &dep, &req);
    }

    #[test]
    fn random_conditions_never_panic(key in scalar(), value in tree(), op in prop_oneof![
        Just("Equals"), Just("NotEquals"), Just("In"), Just("NotIn"), Just("AnyIn"), Just("AllIn"),
        Just("AnyNotIn"), Just("AllNotIn"), Just("GreaterThan"), Just("LessThanOrEquals"),
        Just("DurationGreaterThan"), Just("Bogus")], spec in tree()) {
        let resource = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": spec});
        let ctx = EvalContext::default();
        let values = ValuesFile::default();
        let req = Request { ctx: &ctx, exceptions: &[], values: &values };
        let deny = json!({"deny": {"conditions": {"all": [{"key": key, "operator": op, "value": value}]}}});
        let fe = json!({"foreach": [{"list": "request.object.spec.containers", "deny": deny["deny"].clone()}]});
        let _ = engine::evaluate(&policy(deny, json!(["Pod"])), &resource, &req);
        let _ = engine::evaluate(&policy(fe, json!(["Pod"])), &resource, &req);
    }

    #[test]
    fn random_jmespath_never_panics(expr in "[ -~]{0,40}", data in tree()) {
        let _ = homelab_policy::jmes::search(&expr, &data);
        let vars = homelab_policy::variables::Vars::new(Map::new());
        let _ = vars.substitute_str(&format!("{{{{{expr}}}}}"), homelab_policy::variables::Mode::Strict);
    }
}
