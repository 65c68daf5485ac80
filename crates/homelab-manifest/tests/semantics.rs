//! How YAML text becomes documents: Kubernetes' YAML 1.1 reading, positions, merge keys,
//! anchors, duplicate keys, lists, classification.

use homelab_diagnostics::Severity;
use homelab_manifest::{parse_str, Class, Document};
use serde_json::json;

fn one(text: &str) -> Document {
    let (docs, diags) = parse_str("t.yaml", text);
    assert!(
        diags.iter().all(|d| d.severity != Severity::Error),
        "unexpected errors: {diags:#?}"
    );
    assert_eq!(docs.len(), 1, "{docs:#?}");
    docs.into_iter().next().unwrap()
}

fn rules(text: &str) -> Vec<String> {
    parse_str("t.yaml", text)
        .1
        .into_iter()
        .map(|d| d.rule)
        .collect()
}

#[test]
fn scalars_resolve_like_kubernetes() {
    let doc = one(
        "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: ~\ng:\nh: 0644\ni: 0o644\nj: 0x1F\nk: 1_000\nl: 1e3\n\
         m: 1.5\nnn: '0644'\no: \"yes\"\np: 2001-12-14\nq: 0b101\nr: +12\ns: -.5\nt: Null\nu: TRUE\nv: 12:30\n",
    );
    assert_eq!(
        doc.value,
        json!({"a": true, "b": false, "c": true, "d": false, "e": true, "f": null, "g": null,
               "h": 420, "i": 420, "j": 31, "k": 1000, "l": 1000, "m": 1.5, "nn": "0644", "o": "yes",
               "p": "2001-12-14", "q": 5, "r": 12, "s": -0.5, "t": null, "u": true, "v": "12:30"})
    );
}

#[test]
fn ambiguous_values_are_flagged_in_objects_only() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nspec:\n  enabled: yes\n  mode: 0644\n  ok: true\n  quoted: \"yes\"\n";
    let (docs, diags) = parse_str("t.yaml", text);
    assert_eq!(docs[0].value["spec"]["enabled"], json!(true));
    let amb: Vec<_> = diags
        .iter()
        .filter(|d| d.rule == "yaml/ambiguous-value")
        .collect();
    // `0644` is octal for kubectl, Helm and kustomize alike: not ambiguous on the path.
    assert_eq!(amb.len(), 1, "{diags:#?}");
    assert_eq!(docs[0].value["spec"]["mode"], json!(420));
    assert_eq!(amb[0].severity, Severity::Warning);
    assert_eq!(amb[0].location.as_ref().unwrap().to_string(), "t.yaml:6:12");
    assert_eq!(amb[0].path.as_deref(), Some("/spec/enabled"));
    assert!(amb[0]
        .help
        .as_ref()
        .unwrap()
        .contains("quote it if you meant the string"));
    // Not an object (Helm values): no warning.
    assert!(!rules("enabled: yes\n").contains(&"yaml/ambiguous-value".to_string()));
}

#[test]
fn tags_are_honoured() {
    let doc = one("a: !!str 123\nb: !!int \"42\"\nc: !!bool \"true\"\nd: !!binary aGVsbG8=\ne: !!float 1\nf: !custom yes\n");
    assert_eq!(
        doc.value,
        json!({"a": "123", "b": 42, "c": true, "d": "hello", "e": 1, "f": "yes"})
    );
    assert!(rules("a: !!int abc\n").contains(&"yaml/bad-tag".to_string()));
}

#[test]
fn keys_become_strings_like_sigs_k8s_yaml() {
    let doc = one("1: a\non: c\nn: x\n1.5: d\n0x10: e\n");
    assert_eq!(
        doc.value,
        json!({"1": "a", "true": "c", "false": "x", "1.5": "d", "16": "e"})
    );
    assert!(rules("~: a\n").contains(&"yaml/unsupported-key".to_string()));
    assert!(rules("? [a]\n: b\n").contains(&"yaml/unsupported-key".to_string()));
}

#[test]
fn duplicate_keys_point_at_the_second_and_name_the_first() {
    let (_, diags) = parse_str("t.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n");
    let d = diags
        .iter()
        .find(|d| d.rule == "yaml/duplicate-key")
        .unwrap();
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.location.as_ref().unwrap().to_string(), "t.yaml:4:3");
    assert!(d.message.contains("line 3"), "{}", d.message);
    assert!(d.help.is_some());
    // `on` and `true` are the same key once read.
    assert!(rules("on: 1\ntrue: 2\n").contains(&"yaml/duplicate-key".to_string()));
}

#[test]
fn merge_keys() {
    let text = "base: &base\n  a: 1\n  b: 2\nother: &other\n  b: 20\n  c: 30\n\
                one:\n  <<: *base\n  b: 3\ntwo:\n  b: 3\n  <<: *base\nlist:\n  <<: [*base, *other]\n  d: 4\n\
                quoted:\n  \"<<\": x\n";
    let doc = one(text);
    assert_eq!(doc.value["one"], json!({"a": 1, "b": 3}));
    assert_eq!(doc.value["two"], json!({"b": 3, "a": 1}));
    assert_eq!(doc.value["list"], json!({"a": 1, "b": 2, "c": 30, "d": 4}));
    assert_eq!(doc.value["quoted"], json!({"<<": "x"}));
    // Merged entries keep the position where they were written.
    assert_eq!(doc.location("/one/a").to_string(), "t.yaml:2:3");
    assert_eq!(doc.location("/one/b").to_string(), "t.yaml:9:3");
    assert!(rules("a:\n  <<: 1\n").contains(&"yaml/bad-merge".to_string()));
    let doc = one("b: &b {x: 1}\nc:\n  !!merge <<: *b\n");
    assert_eq!(doc.value["c"], json!({"x": 1}));
}

#[test]
fn anchors_and_aliases() {
    let doc = one("a: &x {k: [1, 2]}\nb: *x\nc: &s hello\nd: *s\n");
    assert_eq!(doc.value["b"], json!({"k": [1, 2]}));
    assert_eq!(doc.value["d"], json!("hello"));
}

#[test]
fn positions_of_keys_values_and_items() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx\n        - name: side\n          image: busybox\n";
    let doc = one(text);
    assert_eq!(doc.location("").to_string(), "t.yaml:1:1");
    assert_eq!(doc.start().to_string(), "t.yaml:1:1");
    assert_eq!(doc.location("/spec/replicas").to_string(), "t.yaml:6:3");
    assert_eq!(
        doc.value_location("/spec/replicas").to_string(),
        "t.yaml:6:13"
    );
    assert_eq!(
        doc.location("/spec/template/spec/containers/1").to_string(),
        "t.yaml:12:11"
    );
    assert_eq!(
        doc.location("/spec/template/spec/containers/1/image")
            .to_string(),
        "t.yaml:13:11"
    );
    assert_eq!(
        doc.value_location("/spec/template/spec/containers/1/image")
            .to_string(),
        "t.yaml:13:18"
    );
    // Missing paths fall back to the nearest existing parent.
    assert_eq!(
        doc.location("/spec/template/spec/containers/1/resources/limits")
            .to_string(),
        "t.yaml:12:11"
    );
    assert_eq!(doc.location("/spec/strategy").to_string(), "t.yaml:5:1");
    assert_eq!(doc.location("/nope").to_string(), "t.yaml:1:1");
    assert_eq!(doc.id(), "apps/v1/Deployment web");
    assert_eq!(doc.group(), "apps");
    assert_eq!(doc.version(), "v1");
}

#[test]
fn pointer_escapes_and_unicode_columns() {
    let doc = one("metadata:\n  annotations:\n    a/b~c: x\n    é: ü\n");
    assert_eq!(
        doc.location("/metadata/annotations/a~1b~0c").to_string(),
        "t.yaml:3:5"
    );
    let doc = one("é: {ü: x, z: y}\n");
    assert_eq!(doc.location("/é/z").to_string(), "t.yaml:1:11");
}

#[test]
fn multi_document_and_empty_documents() {
    let text = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n...\n";
    let (docs, diags) = parse_str("t.yaml", text);
    assert!(diags.is_empty(), "{diags:#?}");
    let summary: Vec<_> = docs
        .iter()
        .map(|d| (d.doc_index, d.class.clone()))
        .collect();
    // Empty documents are counted (doc_index) but not kept.
    assert_eq!(summary, vec![(0, Class::Object), (2, Class::Object)]);
    assert_eq!(docs[1].id(), "v1/Namespace b");
    assert_eq!(
        docs[1].location("/metadata/name").to_string(),
        "t.yaml:12:3"
    );
    let (docs, diags) = parse_str("e.yaml", "");
    assert!(diags.is_empty());
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].class, Class::Empty);
}

#[test]
fn lists_are_expanded_with_positions_in_the_file() {
    let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: one\n      namespace: ns\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: two\n";
    let (docs, _) = parse_str("t.yaml", text);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].item_index, Some(0));
    assert_eq!(docs[1].item_index, Some(1));
    assert_eq!(docs[0].id(), "v1/ConfigMap ns/one");
    assert_eq!(
        docs[1].location("/metadata/name").to_string(),
        "t.yaml:12:7"
    );
    assert_eq!(docs[1].start().to_string(), "t.yaml:9:5");
    let (docs, _) = parse_str(
        "t.yaml",
        "apiVersion: v1\nkind: ConfigMapList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n",
    );
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].kind(), Some("ConfigMap"));
}

#[test]
fn classification_notes() {
    let (docs, diags) = parse_str("values.yaml", "replicaCount: 1\nimage:\n  tag: latest\n");
    assert!(
        matches!(&docs[0].class, Class::NotKubernetes { reason } if reason.contains("Helm values"))
    );
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].rule, "load/not-kubernetes");
    assert_eq!(diags[0].severity, Severity::Note);
    assert_eq!(
        diags[0].location.as_ref().unwrap().to_string(),
        "values.yaml:1:1"
    );
    let (docs, _) = parse_str("ci.yaml", "on: push\njobs:\n  a: {}\n");
    assert!(matches!(&docs[0].class, Class::NotKubernetes { reason } if reason.contains("GitHub")));
    let (docs, _) = parse_str("x.yaml", "- a\n- b\n");
    assert!(matches!(docs[0].class, Class::NotKubernetes { .. }));
    let (docs, _) = parse_str("x.yaml", "apiVersion: 1\nkind: Pod\n");
    assert!(matches!(docs[0].class, Class::NotKubernetes { .. }));
}

/// Editor and tool settings written as JSON with comments (`.vscode/launch.json`) are not
/// broken manifests; a JSON manifest with a comment in it still is.
#[test]
fn json_with_comments_is_another_tools_file() {
    let launch = "{\n  // For more information, visit: https://example.com/launch\n  \"version\": \"0.2.0\",\n  \"configurations\": [\n    {\"type\": \"lldb\", \"cargo\": {\"filter\": {\"kind\": \"bin\"}},},\n  ]\n}\n";
    let (docs, diags) = parse_str(".vscode/launch.json", launch);
    assert_eq!(docs.len(), 1);
    assert!(
        matches!(&docs[0].class, Class::NotKubernetes { reason } if reason.contains("JSONC")),
        "{:?}",
        docs[0].class
    );
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].rule, "load/not-kubernetes");
    assert_eq!(diags[0].severity, Severity::Note);
    // Tabs for indentation are fine in JSON: no tab-indent error either.
    let (docs, diags) = parse_str(
        "extensions.json",
        "{\n\t// recommended\n\t\"recommendations\": [\n\t\t\"golang.go\"\n\t],\n}\n",
    );
    assert!(matches!(docs[0].class, Class::NotKubernetes { .. }));
    assert!(
        diags.iter().all(|d| d.severity == Severity::Note),
        "{diags:#?}"
    );
    // A manifest is still judged: its comment is a syntax error.
    let (_, diags) = parse_str(
        "pod.json",
        "{\n  // the web pod: see https://example.com\n  \"apiVersion\": \"v1\", \"kind\": \"Pod\"\n}\n",
    );
    assert!(
        diags.iter().any(|d| d.severity == Severity::Error),
        "{diags:#?}"
    );
    // A YAML file with `//` lines is not JSON: unchanged.
    let (_, diags) = parse_str("a.yaml", "a: [\n// x\n");
    assert!(diags.iter().any(|d| d.rule == "yaml/syntax"), "{diags:#?}");
}

#[test]
fn templates_are_classified_not_failed() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n{{- if .Values.extra }}\ndata:\n  a: b\n{{- end }}\n";
    let (docs, diags) = parse_str("cm.yaml", text);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].class, Class::Template);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].rule, "load/template");
    assert_eq!(diags[0].severity, Severity::Note);
    // Valid YAML with `{{ }}` inside strings (a Kyverno policy) is not a template.
    let policy = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n    - name: r\n      validate:\n        message: \"{{ request.object.metadata.name }} is bad\"\n";
    let (docs, diags) = parse_str("p.yaml", policy);
    assert_eq!(docs[0].class, Class::Object);
    assert!(diags.is_empty());
}

#[test]
fn json_files_are_yaml() {
    let text = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","labels":{"a":"yes"}},
  "spec":{"ports":[{"port":80,"targetPort":8080}],"x":1.0,"y":null,"z":true}}"#;
    let doc = one(text);
    assert_eq!(doc.value["metadata"]["labels"]["a"], json!("yes"));
    assert_eq!(doc.value["spec"]["ports"][0]["port"], json!(80));
    assert_eq!(doc.value["spec"]["x"], json!(1));
    assert_eq!(
        doc.location("/spec/ports/0/targetPort").to_string(),
        "t.yaml:2:31"
    );
}

#[test]
fn syntax_errors_say_where_and_later_documents_still_load() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\na: [1, 2\nb: 3\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: c\n";
    let (docs, diags) = parse_str("t.yaml", text);
    let ids: Vec<_> = docs.iter().map(|d| (d.doc_index, d.id())).collect();
    assert_eq!(
        ids,
        vec![
            (0, "v1/Namespace a".to_string()),
            (2, "v1/Namespace c".to_string())
        ]
    );
    assert_eq!(
        docs[1].location("/metadata/name").to_string(),
        "t.yaml:12:3"
    );
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].rule, "yaml/syntax");
    let loc = diags[0].location.as_ref().unwrap();
    assert!(loc.line >= 6 && loc.line <= 8, "{loc}");
    assert!(diags[0].help.is_some());
}

#[test]
fn tab_indentation_gets_its_own_rule() {
    let r = rules("a:\n\tb: 1\n");
    assert_eq!(r, vec!["yaml/tab-indent".to_string()]);
}

#[test]
fn infinities_cannot_be_json() {
    let (docs, diags) = parse_str("t.yaml", "a: .inf\n");
    assert_eq!(diags[0].rule, "yaml/unsupported-value");
    assert_eq!(docs[0].value, json!({"a": ".inf"}));
}

#[test]
fn tool_configuration_files_are_not_kubernetes_objects() {
    let text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n---\napiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\n---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\n";
    let (docs, diags) = homelab_manifest::parse_str("k.yaml", text);
    assert_eq!(docs.len(), 3);
    assert!(matches!(
        docs[0].class,
        homelab_manifest::Class::NotKubernetes { .. }
    ));
    assert!(matches!(
        docs[1].class,
        homelab_manifest::Class::NotKubernetes { .. }
    ));
    assert!(matches!(docs[2].class, homelab_manifest::Class::Object));
    assert!(diags
        .iter()
        .any(|d| d.message.contains("kustomize build file")));
}

/// Component configuration files look like objects (`apiVersion` + `kind`) but no API server
/// serves them: the legacy scheduler policy (`v1 Policy`), kubeconfigs (`v1 Config`) and the
/// `*.config.k8s.io` families are classified, not validated.
#[test]
fn component_configuration_files_are_not_kubernetes_objects() {
    let not_objects = [
        "{\"kind\": \"Policy\", \"apiVersion\": \"v1\", \"predicates\": [{\"name\": \"PodFitsPorts\"}], \"priorities\": []}\n",
        "{\"kind\": \"Policy\", \"apiVersion\": \"v1\", \"extenders\": [{\"urlPrefix\": \"http://127.0.0.1:1/scheduler\"}]}\n",
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles: []\n",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n",
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.0\n",
        "apiVersion: kubecontrollermanager.config.k8s.io/v1alpha1\nkind: KubeControllerManagerConfiguration\n",
        "apiVersion: credentialprovider.kubelet.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n",
    ];
    for text in not_objects {
        let (docs, diags) = homelab_manifest::parse_str("c.yaml", text);
        assert!(
            matches!(docs[0].class, homelab_manifest::Class::NotKubernetes { .. }),
            "{text}: {:?}",
            docs[0].class
        );
        assert!(
            diags.iter().any(|d| d.rule == "load/not-kubernetes"),
            "{text}: the reason is said in a note"
        );
    }
    // The same kinds that a cluster serves stay objects: an audit-free `Policy` in a real
    // group (Kyverno), and a `v1 Policy` without scheduler fields is left for the schema
    // stage to judge (it is a typo or an unknown kind there).
    for text in [
        "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata: {name: p, namespace: n}\nspec: {rules: []}\n",
        "apiVersion: v1\nkind: Policy\nmetadata: {name: p}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: clusters}\ndata: {clusters: a}\n",
    ] {
        let (docs, _) = homelab_manifest::parse_str("o.yaml", text);
        assert!(
            matches!(docs[0].class, homelab_manifest::Class::Object),
            "{text}"
        );
    }
}
