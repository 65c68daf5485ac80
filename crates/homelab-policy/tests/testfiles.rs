//! `kyverno test` file handling: format variants (legacy fields, no apiVersion,
//! case-insensitive keys, several documents), resource naming (`name`, `ns/name`),
//! Excluded and Not found rows, values files, and engine behaviour for foreach,
//! exceptions with conditions and namespaced policies.

use homelab_policy::testrunner::{find_test_files, run_file, Row};
use std::path::Path;

const POLICY: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
spec:
  rules:
  - name: team-label
    match:
      any:
      - resources:
          kinds: [Pod]
    exclude:
      any:
      - resources:
          namespaces: [kube-system]
    validate:
      message: "label team is required on {{ request.object.metadata.name }}"
      pattern:
        metadata:
          labels:
            team: "?*"
  - name: no-privileged
    match:
      any:
      - resources:
          kinds: [Pod]
    preconditions:
      all:
      - key: "{{ request.operation || 'BACKGROUND' }}"
        operator: AnyIn
        value: [CREATE, UPDATE]
    validate:
      message: "container {{ element.name }} is privileged"
      foreach:
      - list: request.object.spec.containers
        deny:
          conditions:
            any:
            - key: "{{ element.securityContext.privileged || `false` }}"
              operator: Equals
              value: true
"#;

const RESOURCES: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: good
  labels: {team: a}
spec:
  containers: [{name: c, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata:
  name: bad
  namespace: prod
spec:
  containers:
  - {name: c, image: nginx, securityContext: {privileged: true}}
---
apiVersion: v1
kind: Pod
metadata:
  name: sys
  namespace: kube-system
spec:
  containers: [{name: c, image: nginx}]
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn run(test: &str) -> Vec<Row> {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "policy.yaml", POLICY);
    write(dir.path(), "resources.yaml", RESOURCES);
    write(dir.path(), "kyverno-test.yaml", test);
    let files = find_test_files(dir.path());
    assert_eq!(files.len(), 1);
    run_file(&files[0]).expect("runs")
}

fn find<'a>(rows: &'a [Row], rule: &str, resource_suffix: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.rule == rule && r.resource.ends_with(resource_suffix))
        .unwrap_or_else(|| panic!("no row {rule} {resource_suffix}: {rows:?}"))
}

#[test]
fn current_format_with_namespaced_names() {
    let rows = run(r#"
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [resources.yaml]
results:
- policy: require-team
  rule: team-label
  resources: [good]
  result: pass
- policy: require-team
  rule: team-label
  resources: [prod/bad]
  result: fail
- policy: require-team
  rule: no-privileged
  resources: [bad]
  result: fail
- policy: require-team
  rule: no-privileged
  resources: [default/good]
  result: pass
"#);
    assert!(rows.iter().all(|r| r.ok), "{rows:?}");
    // namespace-less namespaced resources go to `default`, like the CLI
    assert_eq!(
        find(&rows, "team-label", "/good").resource,
        "Pod/default/good"
    );
    assert!(find(&rows, "no-privileged", "/bad")
        .message
        .contains("container c is privileged"));
}

#[test]
fn legacy_fields_and_case_insensitive_keys() {
    let rows = run(r#"
name: legacy
Policies: [policy.yaml]
RESOURCES: [resources.yaml]
results:
- policy: require-team
  rule: team-label
  resource: bad
  status: fail
- Policy: require-team
  Rule: team-label
  Resources: [good]
  Result: pass
"#);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.ok), "{rows:?}");
    assert_eq!(rows[0].test, "legacy");
}

#[test]
fn excluded_and_not_found_rows() {
    let rows = run(r#"
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [resources.yaml]
results:
- policy: require-team
  rule: team-label
  resources: [sys]
  result: skip
- policy: missing-policy
  rule: x
  resources: [good]
  result: pass
"#);
    let sys = find(&rows, "team-label", "/sys");
    assert!(
        sys.ok && sys.actual.is_none() && sys.reason == "Excluded",
        "{sys:?}"
    );
    let nf = rows
        .iter()
        .find(|r| r.policy == "missing-policy")
        .expect("row");
    assert!(!nf.ok && nf.reason.starts_with("Not found"), "{nf:?}");
}

#[test]
fn multi_document_test_file_and_values() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "policy.yaml", POLICY);
    write(dir.path(), "resources.yaml", RESOURCES);
    write(
        dir.path(),
        "values.yaml",
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Values\nglobalValues:\n  request.operation: DELETE\n",
    );
    write(
        dir.path(),
        "kyverno-test.yaml",
        r#"
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: first}
policies: [policy.yaml]
resources: [resources.yaml]
results:
- {policy: require-team, rule: no-privileged, resources: [bad], result: fail}
---
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: second}
policies: [policy.yaml]
resources: [resources.yaml]
variables: values.yaml
results:
- {policy: require-team, rule: no-privileged, resources: [bad], result: skip}
"#,
    );
    let rows = run_file(&dir.path().join("kyverno-test.yaml")).expect("runs");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].test, "first");
    assert_eq!(rows[1].test, "second");
    // DELETE from the values file: the precondition skips the rule
    assert!(rows.iter().all(|r| r.ok), "{rows:?}");
}

#[test]
fn exception_with_conditions_and_namespaced_policy() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "policy.yaml",
        &POLICY
            .replace("kind: ClusterPolicy", "kind: Policy")
            .replace(
                "name: require-team",
                "name: require-team\n  namespace: prod",
            ),
    );
    write(dir.path(), "resources.yaml", RESOURCES);
    write(
        dir.path(),
        "exception.yaml",
        r#"
apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: allow-bad, namespace: prod}
spec:
  exceptions:
  - policyName: prod/require-team
    ruleNames: [no-*]
  match:
    any:
    - resources: {kinds: [Pod], names: [bad]}
  conditions:
    any:
    - key: "{{ request.object.metadata.namespace }}"
      operator: Equals
      value: prod
"#,
    );
    write(
        dir.path(),
        "kyverno-test.yaml",
        r#"
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [resources.yaml]
exceptions: [exception.yaml]
results:
- {policy: prod/require-team, rule: no-privileged, resources: [bad], result: skip}
- {policy: prod/require-team, rule: team-label, resources: [bad], result: fail}
- {policy: prod/require-team, rule: team-label, resources: [good], result: pass}
"#,
    );
    let rows = run_file(&dir.path().join("kyverno-test.yaml")).expect("runs");
    let bad_priv = find(&rows, "no-privileged", "/bad");
    assert_eq!(bad_priv.actual.as_deref(), Some("skip"), "{rows:?}");
    assert!(find(&rows, "team-label", "prod/bad").ok);
    // the namespaced policy does not apply in `default`: Excluded, which counts as passed
    let good = find(&rows, "team-label", "/good");
    assert!(good.ok && good.actual.is_none(), "{good:?}");
}

#[test]
fn generate_data_and_clone_compare_with_expected_resources() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "policy.yaml",
        r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: ns-defaults}
spec:
  rules:
  - name: quota
    match: {any: [{resources: {kinds: [Namespace]}}]}
    generate:
      apiVersion: v1
      kind: ConfigMap
      name: defaults
      namespace: "{{ request.object.metadata.name }}"
      data:
        data: {owner: "{{ request.object.metadata.labels.owner }}"}
  - name: copy-secret
    match: {any: [{resources: {kinds: [Namespace]}}]}
    generate:
      apiVersion: v1
      kind: Secret
      name: regcred
      namespace: "{{ request.object.metadata.name }}"
      clone: {namespace: default, name: regcred}
"#,
    );
    write(
        dir.path(),
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels: {owner: alice}\n",
    );
    write(dir.path(), "source.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: default\n  uid: x\ndata: {k: dg==}\n");
    write(dir.path(), "want-cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: defaults\n  namespace: team-a\ndata: {owner: alice}\n");
    write(dir.path(), "want-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: team-a\ndata: {k: dg==}\n");
    write(dir.path(), "wrong-cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: defaults\n  namespace: team-a\ndata: {owner: bob}\n");
    write(
        dir.path(),
        "kyverno-test.yaml",
        r#"
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: gen}
policies: [policy.yaml]
resources: [ns.yaml]
results:
- {policy: ns-defaults, rule: quota, resources: [team-a], generatedResource: want-cm.yaml, result: pass}
- {policy: ns-defaults, rule: copy-secret, resources: [team-a], generatedResource: want-secret.yaml, cloneSourceResource: source.yaml, result: pass}
- {policy: ns-defaults, rule: quota, resources: [team-a], generatedResource: wrong-cm.yaml, result: pass}
"#,
    );
    let rows = run_file(&dir.path().join("kyverno-test.yaml")).expect("runs");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].ok, "{:?}", rows[0]);
    assert!(rows[1].ok, "{:?}", rows[1]);
    assert!(
        !rows[2].ok && rows[2].reason == "Resource diff" && rows[2].message.contains("/data/owner"),
        "{:?}",
        rows[2]
    );
}
