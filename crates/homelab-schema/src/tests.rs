//! Unit tests of the validator: each keyword, strictness, CRD conversion, registry and
//! positions.

use crate::engine::validate as validate_as;
use crate::ir::{Compiled, Compiler, Dialect, DocumentResolver};
use crate::*;
use serde_json::{json, Value};

fn compile(schema: &Value, dialect: Dialect) -> Compiled {
    let r = DocumentResolver {
        root: schema,
        others: &[],
    };
    Compiler::new(&r, dialect).compile(schema, None).unwrap()
}

/// kubeconform's reading (an explicit `null` is a value).
fn validate(c: &Compiled, value: &Value) -> Vec<crate::engine::Violation> {
    validate_as(c, value, false)
}

fn errors(schema: Value, value: Value) -> Vec<(String, &'static str)> {
    let c = compile(&schema, Dialect::JsonSchema { strict: true });
    validate(&c, &value)
        .into_iter()
        .map(|v| (v.pointer, v.rule))
        .collect()
}

fn ok(schema: Value, value: Value) {
    let e = errors(schema.clone(), value.clone());
    assert!(e.is_empty(), "{value} against {schema}: {e:?}");
}

fn bad(schema: Value, value: Value, pointer: &str, rule: &str) {
    let e = errors(schema.clone(), value.clone());
    assert!(
        e.iter().any(|(p, r)| p == pointer && *r == rule),
        "{value} against {schema}: expected {rule} at {pointer}, got {e:?}"
    );
}

#[test]
fn type_keyword_single_and_list() {
    ok(json!({"type": "string"}), json!("x"));
    bad(json!({"type": "string"}), json!(1), "", "schema/type");
    ok(json!({"type": ["string", "null"]}), json!(null));
    bad(
        json!({"type": ["string", "null"]}),
        json!(true),
        "",
        "schema/type",
    );
    ok(json!({"type": "integer"}), json!(3));
    ok(json!({"type": "integer"}), json!(3.0));
    bad(json!({"type": "integer"}), json!(3.5), "", "schema/type");
    ok(json!({"type": "number"}), json!(3));
    ok(json!({"type": "boolean"}), json!(false));
    ok(json!({"type": "array"}), json!([]));
    ok(json!({"type": "object"}), json!({}));
}

#[test]
fn properties_required_and_additional() {
    let s = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                   "required": ["a"], "additionalProperties": false});
    ok(s.clone(), json!({"a": "x"}));
    bad(s.clone(), json!({"b": 1}), "", "schema/required");
    bad(
        s.clone(),
        json!({"a": "x", "c": 1}),
        "/c",
        "schema/unknown-field",
    );
    bad(s.clone(), json!({"a": 1}), "/a", "schema/type");
    let m = json!({"type": "object", "additionalProperties": {"type": "string"}});
    ok(m.clone(), json!({"x": "y"}));
    bad(m, json!({"x": 1}), "/x", "schema/type");
    ok(
        json!({"type": "object", "additionalProperties": true}),
        json!({"x": 1}),
    );
}

#[test]
fn unknown_field_suggests_nearest_allowed_field() {
    let s = json!({"type": "object", "properties": {"containers": {}, "volumes": {}}, "additionalProperties": false});
    let c = compile(&s, Dialect::JsonSchema { strict: true });
    let v = validate(&c, &json!({"contianers": []}));
    assert_eq!(v.len(), 1);
    assert!(
        v[0].message.contains("did you mean `containers`?"),
        "{}",
        v[0].message
    );
    let v = validate(&c, &json!({"zzzzzz": []}));
    assert_eq!(v[0].message, "unknown field `zzzzzz`");
    assert!(v[0].help.as_deref().unwrap().contains("`volumes`"));
}

#[test]
fn non_strict_json_schema_ignores_additional_false_next_to_properties() {
    let s = json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
    let c = compile(&s, Dialect::JsonSchema { strict: false });
    assert!(validate(&c, &json!({"zzz": 1})).is_empty());
}

#[test]
fn items_enum_const_and_array_bounds() {
    let s = json!({"type": "array", "items": {"enum": ["A", "B"]}, "minItems": 1, "maxItems": 2, "uniqueItems": true});
    ok(s.clone(), json!(["A"]));
    bad(s.clone(), json!(["A", "C"]), "/1", "schema/enum");
    bad(s.clone(), json!([]), "", "schema/min-items");
    bad(s.clone(), json!(["A", "B", "A"]), "", "schema/max-items");
    bad(s, json!(["A", "A"]), "/1", "schema/unique-items");
    bad(json!({"const": 1}), json!(2), "", "schema/const");
    ok(json!({"const": 1}), json!(1.0));
}

#[test]
fn enum_suggestion_for_near_miss() {
    let s = json!({"enum": ["Always", "IfNotPresent", "Never"]});
    let c = compile(&s, Dialect::JsonSchema { strict: true });
    let v = validate(&c, &json!("ifnotpresent"));
    assert_eq!(v[0].help.as_deref(), Some("did you mean `IfNotPresent`?"));
}

#[test]
fn refs_and_combinators() {
    let s = json!({
        "$defs": {"ios": {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]}},
        "type": "object",
        "properties": {"port": {"$ref": "#/$defs/ios"},
                        "any": {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
                        "all": {"allOf": [{"minimum": 1}, {"maximum": 5}]},
                        "not": {"not": {"type": "string"}}}
    });
    ok(
        s.clone(),
        json!({"port": 80, "any": true, "all": 3, "not": 1}),
    );
    ok(s.clone(), json!({"port": "http"}));
    bad(s.clone(), json!({"port": true}), "/port", "schema/one-of");
    // null matches both branches of Kubernetes' IntOrString: oneOf fails, as kubeconform says.
    bad(s.clone(), json!({"port": null}), "/port", "schema/one-of");
    bad(s.clone(), json!({"any": 1}), "/any", "schema/any-of");
    bad(s.clone(), json!({"all": 9}), "/all", "schema/maximum");
    bad(s, json!({"not": "x"}), "/not", "schema/not");
}

#[test]
fn null_is_absent_reads_null_as_the_api_server_does() {
    let s = json!({
        "$defs": {"ios": {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]}},
        "type": "object",
        "required": ["name"],
        "properties": {"targetPort": {"$ref": "#/$defs/ios"},
                       "name": {"type": "string"},
                       "replicas": {"type": "integer"}},
        "additionalProperties": false
    });
    let c = compile(&s, Dialect::JsonSchema { strict: true });
    let read = |value: Value| -> Vec<(String, &'static str, String)> {
        validate_as(&c, &value, true)
            .into_iter()
            .map(|v| (v.missing.unwrap_or(v.pointer), v.rule, v.message))
            .collect()
    };
    // An optional null is left out: neither IntOrString's oneOf nor a type error.
    assert!(read(json!({"name": "web", "targetPort": null, "replicas": null})).is_empty());
    // A required null is missing, and says why.
    let v = read(json!({"name": null}));
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!((v[0].0.as_str(), v[0].1), ("/name", "schema/required"));
    assert!(v[0].2.contains("is null"), "{}", v[0].2);
    // An unknown field stays unknown, null or not; other values are judged as before.
    let v = read(json!({"name": "web", "nmae": null, "replicas": "two"}));
    let rules: Vec<&str> = v.iter().map(|v| v.1).collect();
    assert_eq!(rules, ["schema/unknown-field", "schema/type"], "{v:?}");
    // kubeconform's reading is unchanged.
    assert_eq!(
        validate(&c, &json!({"name": "web", "targetPort": null}))[0].rule,
        "schema/one-of"
    );
}

#[test]
fn recursive_refs_compile_and_validate() {
    let s = json!({"definitions": {"n": {"type": "object", "properties": {"child": {"$ref": "#/definitions/n"}, "v": {"type": "integer"}}, "additionalProperties": false}},
                   "$ref": "#/definitions/n"});
    ok(s.clone(), json!({"child": {"child": {"v": 1}}}));
    bad(
        s,
        json!({"child": {"child": {"v": "x"}}}),
        "/child/child/v",
        "schema/type",
    );
}

#[test]
fn numbers_and_strings() {
    bad(json!({"minimum": 2}), json!(1), "", "schema/minimum");
    bad(
        json!({"exclusiveMinimum": 2}),
        json!(2),
        "",
        "schema/minimum",
    );
    bad(
        json!({"minimum": 2, "exclusiveMinimum": true}),
        json!(2),
        "",
        "schema/minimum",
    );
    bad(
        json!({"maximum": 2, "exclusiveMaximum": true}),
        json!(2),
        "",
        "schema/maximum",
    );
    bad(json!({"multipleOf": 3}), json!(7), "", "schema/multiple-of");
    ok(json!({"multipleOf": 0.5}), json!(1.5));
    bad(json!({"minLength": 2}), json!("a"), "", "schema/min-length");
    bad(
        json!({"maxLength": 2}),
        json!("abc"),
        "",
        "schema/max-length",
    );
    ok(json!({"maxLength": 2}), json!("éé"));
    bad(
        json!({"pattern": "^[a-z]+$"}),
        json!("A"),
        "",
        "schema/pattern",
    );
    bad(
        json!({"type": "object", "minProperties": 1}),
        json!({}),
        "",
        "schema/min-properties",
    );
    bad(
        json!({"type": "object", "maxProperties": 1}),
        json!({"a": 1, "b": 2}),
        "",
        "schema/max-properties",
    );
}

#[test]
fn unsupported_pattern_is_skipped_not_fatal() {
    let s = json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "^(?!x)"}, "b": {"type": "integer"}}});
    ok(s.clone(), json!({"a": "xyz", "b": 1}));
    bad(s, json!({"a": "xyz", "b": "1"}), "/b", "schema/type");
}

#[test]
fn format_is_an_annotation_as_in_kubeconform() {
    // kubeconform validates 2020-12 schemas without format assertion.
    ok(
        json!({"type": "string", "format": "date-time"}),
        json!("not a date"),
    );
    ok(
        json!({"type": "integer", "format": "int32"}),
        json!(99999999999i64),
    );
}

#[test]
fn pointer_escapes_slash_and_tilde_in_keys() {
    let s = json!({"type": "object", "additionalProperties": {"type": "string"}});
    bad(s, json!({"a/b~c": 1}), "/a~1b~0c", "schema/type");
}

fn crd_errors(schema: Value, value: Value, strict: bool) -> Vec<(String, &'static str)> {
    let c = compile(&schema, Dialect::Crd { strict });
    validate(&c, &value)
        .into_iter()
        .map(|v| (v.pointer, v.rule))
        .collect()
}

#[test]
fn crd_strictness_applies_to_objects_with_properties() {
    let s = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"k": {"type": "string"}}},
        "map": {"type": "object", "additionalProperties": {"type": "string"}}
    }});
    assert_eq!(
        crd_errors(s.clone(), json!({"spec": {"b": 1}}), true),
        vec![("/spec/b".to_string(), "schema/unknown-field")]
    );
    assert!(crd_errors(s.clone(), json!({"spec": {"b": 1}}), false).is_empty());
    assert!(crd_errors(s.clone(), json!({"free": {"zzz": 1, "k": "v"}}), true).is_empty());
    assert_eq!(
        crd_errors(s.clone(), json!({"free": {"k": 1}}), true),
        vec![("/free/k".to_string(), "schema/type")]
    );
    assert!(crd_errors(s, json!({"map": {"x": "y"}}), true).is_empty());
}

#[test]
fn crd_branch_properties_are_value_validations_not_the_known_fields() {
    // A trusted certificate names a Secret and either one file or a pattern: the `oneOf`
    // branches list one property each, yet `secretName` stays a known field.
    let s = json!({"type": "object", "properties": {"certs": {"type": "array", "items": {
        "type": "object",
        "properties": {
            "secretName": {"type": "string"},
            "certificate": {"type": "string"},
            "pattern": {"type": "string"}
        },
        "required": ["secretName"],
        "oneOf": [
            {"properties": {"certificate": {}}, "required": ["certificate"]},
            {"properties": {"pattern": {}}, "required": ["pattern"]}
        ],
        "not": {"properties": {"secretName": {"type": "string", "enum": ["forbidden"]}}, "required": ["secretName"]}
    }}}});
    let good = json!({"certs": [{"secretName": "ca", "pattern": "*.crt"}, {"secretName": "ca", "certificate": "ca.crt"}]});
    assert!(crd_errors(s.clone(), good, true).is_empty());
    assert_eq!(
        crd_errors(
            s.clone(),
            json!({"certs": [{"secretName": "ca", "pattern": "*", "certificate": "c"}]}),
            true
        ),
        vec![("/certs/0".to_string(), "schema/one-of")]
    );
    assert_eq!(
        crd_errors(
            s.clone(),
            json!({"certs": [{"secretName": "ca", "pattern": "*", "extra": 1}]}),
            true
        ),
        vec![("/certs/0/extra".to_string(), "schema/unknown-field")]
    );
    assert_eq!(
        crd_errors(
            s,
            json!({"certs": [{"secretName": "forbidden", "pattern": "*"}]}),
            true
        ),
        vec![("/certs/0".to_string(), "schema/not")]
    );
}

#[test]
fn crd_root_always_allows_type_and_object_metadata() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object"}}});
    let cr = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {}});
    assert!(crd_errors(s.clone(), cr, true).is_empty());
    assert_eq!(
        crd_errors(s, json!({"spec": {}, "extra": 1}), true),
        vec![("/extra".to_string(), "schema/unknown-field")]
    );
}

#[test]
fn crd_int_or_string_nullable_and_embedded_resource() {
    let s = json!({"type": "object", "required": ["port"], "properties": {
        "port": {"x-kubernetes-int-or-string": true},
        "opt": {"type": "string"},
        "n": {"type": "string", "nullable": true},
        "tpl": {"type": "object", "x-kubernetes-embedded-resource": true,
                "properties": {"spec": {"type": "object", "properties": {"x": {"type": "integer"}}}}}
    }});
    assert!(crd_errors(s.clone(), json!({"port": 80}), true).is_empty());
    assert!(crd_errors(s.clone(), json!({"port": "http"}), true).is_empty());
    assert_eq!(
        crd_errors(s.clone(), json!({"port": true}), true),
        vec![("/port".to_string(), "schema/type")]
    );
    assert_eq!(
        crd_errors(s.clone(), json!({"port": null}), true),
        vec![("/port".to_string(), "schema/type")]
    );
    // Optional fields accept null (the API server prunes it).
    assert!(crd_errors(s.clone(), json!({"port": 1, "opt": null, "n": null}), true).is_empty());
    assert!(crd_errors(
        s.clone(),
        json!({"port": 1, "tpl": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"x": 1}}}),
        true
    )
    .is_empty());
    assert_eq!(
        crd_errors(
            s,
            json!({"port": 1, "tpl": {"spec": {"x": 1}, "zz": 1}}),
            true
        ),
        vec![("/tpl/zz".to_string(), "schema/unknown-field")]
    );
}

fn validator(strict: bool) -> Validator {
    Validator::new(ValidatorOptions {
        kubernetes_version: Some("1.29".into()),
        strict,
        ..ValidatorOptions::default()
    })
    .unwrap()
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                       "ports": [{"containerPort": 80}],
                                                       "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": 0.5}}}]}}}
    })
}

#[test]
fn embedded_kubernetes_deployment_valid_and_strict() {
    let v = validator(true);
    let c = v.check_value("apps/v1", "Deployment", &deployment());
    assert_eq!(c.status, Validity::Valid, "{:?}", c.findings);

    let mut bad = deployment();
    bad["spec"]["template"]["spec"]["contianers"] =
        bad["spec"]["template"]["spec"]["containers"].take();
    bad["spec"]["template"]["spec"]
        .as_object_mut()
        .unwrap()
        .remove("containers");
    let c = v.check_value("apps/v1", "Deployment", &bad);
    assert_eq!(c.status, Validity::Invalid);
    let rules: Vec<_> = c
        .findings
        .iter()
        .map(|f| (f.pointer.as_str(), f.rule))
        .collect();
    assert!(
        rules.contains(&("/spec/template/spec/contianers", "schema/unknown-field")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("/spec/template/spec", "schema/required")),
        "{rules:?}"
    );
    let unknown = c
        .findings
        .iter()
        .find(|f| f.rule == "schema/unknown-field")
        .unwrap();
    assert!(
        unknown.message.contains("did you mean `containers`"),
        "{}",
        unknown.message
    );

    // Not strict: the unknown field passes, the missing required field does not.
    let c = validator(false).check_value("apps/v1", "Deployment", &bad);
    let rules: Vec<_> = c.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["schema/required"]);
}

#[test]
fn embedded_kubernetes_wrong_types() {
    let v = validator(true);
    let mut d = deployment();
    d["spec"]["replicas"] = json!("two");
    d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = json!("eighty");
    let c = v.check_value("apps/v1", "Deployment", &d);
    let rules: Vec<_> = c
        .findings
        .iter()
        .map(|f| (f.pointer.as_str(), f.rule))
        .collect();
    assert!(
        rules.contains(&("/spec/replicas", "schema/type")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&(
            "/spec/template/spec/containers/0/ports/0/containerPort",
            "schema/type"
        )),
        "{rules:?}"
    );
}

#[test]
fn missing_removed_deprecated_skip_reject() {
    let v = validator(true);
    let c = v.check_value("example.com/v1", "Widget", &json!({}));
    assert_eq!(c.status, Validity::Error);
    assert_eq!(c.findings[0].rule, "schema/missing");

    let lenient = Validator::new(ValidatorOptions {
        ignore_missing: true,
        ..ValidatorOptions::default()
    })
    .unwrap();
    let c = lenient.check_value("example.com/v1", "Widget", &json!({}));
    assert_eq!(c.status, Validity::Skipped);
    assert_eq!(c.findings[0].severity, homelab_diagnostics::Severity::Note);

    let c = v.check_value("extensions/v1beta1", "Deployment", &json!({}));
    assert_eq!(c.status, Validity::Error);
    assert_eq!(c.findings[0].rule, "schema/removed-api");
    assert!(c.findings[0].message.contains("removed in Kubernetes 1.16"));
    assert_eq!(c.findings[0].help.as_deref(), Some("use apps/v1"));

    let fs = json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema",
                    "metadata": {"name": "x"}, "spec": {"priorityLevelConfiguration": {"name": "y"}}});
    let c = v.check_value("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", &fs);
    assert_eq!(c.status, Validity::Valid, "{:?}", c.findings);
    assert_eq!(c.findings[0].rule, "schema/deprecated-api");

    let sr = Validator::new(ValidatorOptions {
        skip_kinds: vec!["Deployment".into()],
        reject_kinds: vec!["v1/Secret".into()],
        ..ValidatorOptions::default()
    })
    .unwrap();
    assert_eq!(
        sr.check_value("apps/v1", "Deployment", &json!({})).status,
        Validity::Skipped
    );
    let c = sr.check_value("v1", "Secret", &json!({}));
    assert_eq!(
        (c.status, c.findings[0].rule),
        (Validity::Error, "schema/rejected-kind")
    );
}

#[test]
fn kubernetes_version_option() {
    assert!(Validator::new(ValidatorOptions {
        kubernetes_version: Some("v1.30.2".into()),
        ..ValidatorOptions::default()
    })
    .is_ok());
    let e = Validator::new(ValidatorOptions {
        kubernetes_version: Some("1.12".into()),
        ..ValidatorOptions::default()
    })
    .err()
    .unwrap();
    assert!(e.to_string().contains("1.29"), "{e}");
}

#[test]
fn crds_added_from_values_take_effect() {
    let v = validator(true);
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {
                         "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                         "spec": {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer", "minimum": 1}}}}}}}]}
    });
    v.add_crds_from_values([(&crd, "crd.yaml")]);
    let ok = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}});
    assert_eq!(
        v.check_value("example.com/v1", "Widget", &ok).status,
        Validity::Valid
    );
    let bad = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 0, "colour": "red"}});
    let c = v.check_value("example.com/v1", "Widget", &bad);
    let rules: Vec<_> = c
        .findings
        .iter()
        .map(|f| (f.pointer.as_str(), f.rule))
        .collect();
    assert_eq!(
        rules,
        [
            ("/spec/size", "schema/minimum"),
            ("/spec/colour", "schema/unknown-field")
        ]
    );
}

/// A repository that keeps the CRDs of two releases (an old release bundle beside the
/// current CRD) defines the kind twice: the cluster has one of them, which is not known, so an
/// object one of them accepts is valid, whichever was read last; an object both reject gets
/// the findings of the closer one.
#[test]
fn a_kind_defined_twice_accepts_what_either_definition_accepts() {
    let crd = |spec_properties: Value| {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                     "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                         "type": "object", "properties": {
                             "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                             "spec": {"type": "object", "properties": spec_properties}}}}}]}
        })
    };
    let new = crd(json!({"size": {"type": "integer"}, "groupSnapshot": {"type": "boolean"}}));
    let old = crd(json!({"size": {"type": "integer"}}));
    let widget = |spec: Value| json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec});
    for order in [[&new, &old], [&old, &new]] {
        let v = validator(true);
        v.add_crds_from_values(order.map(|c| (c, "crd.yaml")));
        let ok = widget(json!({"size": 2, "groupSnapshot": true}));
        let c = v.check_value("example.com/v1", "Widget", &ok);
        assert_eq!(c.status, Validity::Valid, "{:?}", c.findings);
        let bad = widget(json!({"size": "two", "groupSnapshot": true}));
        let c = v.check_value("example.com/v1", "Widget", &bad);
        let rules: Vec<_> = c
            .findings
            .iter()
            .map(|f| (f.pointer.as_str(), f.rule))
            .collect();
        assert_eq!(rules, [("/spec/size", "schema/type")]);
    }
    // The same definition read twice is one definition.
    let v = validator(true);
    v.add_crds_from_values([(&old, "a.yaml"), (&old, "b.yaml")]);
    let c = v.check_value(
        "example.com/v1",
        "Widget",
        &widget(json!({"groupSnapshot": true})),
    );
    assert_eq!(c.status, Validity::Invalid);
}

#[test]
fn schema_location_template_reads_local_files() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("example.com");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("widget_v1.json"),
        r##"{"type": "object", "properties": {"spec": {"$ref": "#/definitions/spec"}}, "definitions": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}, "additionalProperties": false}}}"##,
    )
    .unwrap();
    let v = Validator::new(ValidatorOptions {
        schema_locations: vec![
            "default".into(),
            format!(
                "{}/{{{{.Group}}}}/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json",
                dir.path().display()
            ),
        ],
        ..ValidatorOptions::default()
    })
    .unwrap();
    assert_eq!(
        v.check_value("example.com/v1", "Widget", &json!({"spec": {"size": 1}}))
            .status,
        Validity::Valid
    );
    let c = v.check_value(
        "example.com/v1",
        "Widget",
        &json!({"spec": {"size": 1, "x": 2}}),
    );
    assert_eq!(c.findings[0].rule, "schema/unknown-field");
    assert_eq!(
        v.check_value("example.com/v2", "Widget", &json!({}))
            .findings[0]
            .rule,
        "schema/missing"
    );
    // Kubernetes kinds still come from the embedded bundle (`default`).
    assert_eq!(
        v.check_value("apps/v1", "Deployment", &deployment()).status,
        Validity::Valid
    );
}

#[test]
fn validator_is_shared_between_threads() {
    let v = validator(true);
    let d = deployment();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(
                        v.check_value("apps/v1", "Deployment", &d).status,
                        Validity::Valid
                    );
                }
            });
        }
    });
}

#[test]
fn every_embedded_kind_compiles_in_every_version() {
    let b = bundle::get().unwrap();
    for ver in b.versions() {
        let v = Validator::new(ValidatorOptions {
            kubernetes_version: Some(ver.into()),
            ..ValidatorOptions::default()
        })
        .unwrap();
        for kind in ["Pod", "Service", "ConfigMap", "Namespace"] {
            let c = v.check_value(
                "v1",
                kind,
                &json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}}),
            );
            assert_ne!(c.status, Validity::Error, "{ver} {kind}: {:?}", c.findings);
        }
    }
}

#[test]
fn every_catalog_kind_compiles_in_every_served_version() {
    let v = validator(true);
    let catalog = crate::catalog::get().unwrap();
    for e in &catalog.entries {
        for served in &e.versions {
            let api_version = format!("{}/{}", e.group, served.name);
            let obj = json!({"apiVersion": api_version, "kind": e.kind, "metadata": {"name": "x"}});
            let c = v.check_value(&api_version, &e.kind, &obj);
            for f in &c.findings {
                assert!(
                    !matches!(f.rule, "schema/broken-schema" | "schema/missing"),
                    "{api_version} {}: {}",
                    e.kind,
                    f.message
                );
            }
        }
    }
}

#[test]
fn diagnostics_carry_file_line_column_object_and_path() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  portz: []\n";
    let (docs, _) = homelab_manifest::parse_str("svc.yaml", text);
    let d = validator(true).validate(&docs[0]);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].rule, "schema/unknown-field");
    assert_eq!(
        d[0].location,
        Some(homelab_diagnostics::Location::new("svc.yaml", 6, 3))
    );
    assert_eq!(d[0].path.as_deref(), Some("/spec/portz"));
    assert_eq!(d[0].object.as_deref(), Some("v1/Service s"));
    assert!(
        d[0].message.contains("did you mean `ports`?"),
        "{}",
        d[0].message
    );

    // A missing required field is placed at its nearest existing parent.
    let text =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector: {}\n";
    let (docs, _) = homelab_manifest::parse_str("d.yaml", text);
    let d = validator(true).validate_all(&docs);
    let req = d.iter().find(|d| d.rule == "schema/required").unwrap();
    assert_eq!(
        req.location,
        Some(homelab_diagnostics::Location::new("d.yaml", 5, 1))
    );
    assert!(req.message.contains("`template`"), "{}", req.message);
    assert_eq!(req.path.as_deref(), Some("/spec/template"));
}

#[test]
fn crd_defaults_apply_where_a_field_is_absent_at_any_depth() {
    // Defaults that break a rule of their own make defaulting visible in the findings.
    let schema = json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer", "minimum": 1, "default": 0},
                    "ports": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"port": {"type": "integer", "minimum": 1, "default": 0}}
                    }},
                    "labels": {"type": "object", "additionalProperties": {
                        "type": "object",
                        "properties": {"weight": {"type": "integer", "maximum": 9, "default": 10}}
                    }}
                }
            }
        }
    });
    let c = compile(&schema, Dialect::Crd { strict: true });
    let findings = |value: Value| -> Vec<(String, &'static str)> {
        validate(&c, &value)
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect()
    };
    let given =
        json!({"spec": {"size": 2, "ports": [{"port": 80}], "labels": {"a": {"weight": 1}}}});
    assert_eq!(findings(given), []);
    assert_eq!(
        findings(json!({"spec": {}})),
        [("/spec/size".into(), "schema/minimum")]
    );
    assert_eq!(
        findings(json!({"spec": {"size": 2, "ports": [{"port": 80}, {}]}})),
        [("/spec/ports/1/port".into(), "schema/minimum")]
    );
    assert_eq!(
        findings(json!({"spec": {"size": 2, "labels": {"a": {"weight": 1}, "b": {}}}})),
        [("/spec/labels/b/weight".into(), "schema/maximum")]
    );
    // Without `spec`, nothing below it is defaulted.
    assert_eq!(findings(json!({})), []);
}
