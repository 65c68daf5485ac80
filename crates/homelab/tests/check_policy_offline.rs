//! A repository's Kyverno generate and mutate rules act on what the cluster holds at
//! admission (clone sources, fields the API server sets). `homelab check` cannot evaluate
//! them offline: that is a note at the policy, never an error that fails the repository,
//! while its validate rules still judge the objects. Fixtures are written here.

mod check_common;

use check_common::write_file;
use serde_json::Value;

const POLICIES: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: sync-registry-secret
spec:
  generateExisting: true
  rules:
  - name: clone-pull-secret
    match:
      any:
      - resources:
          kinds: [Namespace]
    generate:
      apiVersion: v1
      kind: Secret
      name: registry-pull
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      clone:
        namespace: infra
        name: registry-pull
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team-label
spec:
  validationFailureAction: Enforce
  rules:
  - name: team-label
    match:
      any:
      - resources:
          kinds: [Namespace]
    validate:
      message: every namespace names its team
      pattern:
        metadata:
          labels:
            team: "?*"
"#;

fn check(namespaces: &str) -> (Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "policies.yaml", POLICIES);
    write_file(dir.path(), "namespaces.yaml", namespaces);
    let out = check_common::check_json(dir.path(), &[]);
    (out.json, out.code)
}

fn findings<'a>(report: &'a Value, prefix: &str) -> Vec<&'a Value> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"].as_str().unwrap_or("").starts_with(prefix))
        .collect()
}

#[test]
fn a_generate_rule_whose_clone_source_is_in_the_cluster_is_a_note_not_an_error() {
    let (report, code) = check(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    team: web\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n  labels:\n    team: home\n",
    );
    let generate = findings(&report, "policy/sync-registry-secret/");
    assert_eq!(generate.len(), 1, "{generate:#?}");
    assert_eq!(generate[0]["severity"], "note", "{generate:#?}");
    let message = generate[0]["message"].as_str().unwrap();
    assert!(message.contains("could not be evaluated"), "{message}");
    assert!(message.contains("2 objects"), "{message}");
    assert!(findings(&report, "policy/require-team-label/").is_empty());
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn the_validate_rules_of_the_same_repository_still_judge_its_objects() {
    let (report, code) = check(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    owner: me\n",
    );
    let blocked = findings(&report, "policy/require-team-label/");
    assert_eq!(blocked.len(), 1, "{report:#}");
    assert_eq!(blocked[0]["severity"], "error");
    assert_eq!(
        findings(&report, "policy/sync-registry-secret/")[0]["severity"],
        "note"
    );
    assert_eq!(code, 1, "{report:#}");
}

/// A validate rule whose context is an `apiCall` to the API server (the NetworkPolicies of
/// the namespace being created) cannot be evaluated offline: a note at the policy, not an
/// error that fails the repository.
#[test]
fn a_validate_rule_that_reads_the_cluster_through_an_api_call_is_a_note() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "policies/require-default-deny.yaml",
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-default-deny-netpol
spec:
  validationFailureAction: Audit
  rules:
    - name: check-default-deny-exists
      match:
        any:
          - resources:
              kinds: [Namespace]
      context:
        - name: netpols
          apiCall:
            method: GET
            urlPath: "/apis/networking.k8s.io/v1/namespaces/{{request.object.metadata.name}}/networkpolicies"
            jmesPath: "items[?metadata.name == 'default-deny-all'] | length(@)"
      validate:
        message: every namespace has a default-deny NetworkPolicy
        deny:
          conditions:
            all:
              - key: "{{ netpols }}"
                operator: LessThan
                value: 1
"#,
    );
    write_file(
        dir.path(),
        "namespaces.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
    );
    let out = check_common::check_json(dir.path(), &[]);
    let found = findings(&out.json, "policy/require-default-deny-netpol/");
    assert_eq!(found.len(), 1, "{:#}", out.json);
    assert_eq!(found[0]["severity"], "note", "{found:#?}");
    assert_eq!(out.code, 0, "{:#}", out.json);
}
