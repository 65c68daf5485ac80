//! `homelab policy test` on the CEL policy kinds: a ValidatingPolicy (with
//! autogen for a Deployment and a CEL lookup from the test's Context file), a
//! ClusterPolicy `validate.cel` rule, a MutatingPolicy compared with its patched
//! resource, and a ValidatingAdmissionPolicy. Fixtures are written here.

use assert_cmd::Command;
use std::fs;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

fn run(dir: &Path) -> serde_json::Value {
    let out = Command::cargo_bin("homelab")
        .unwrap()
        .args(["policy", "test"])
        .arg(dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

const POLICIES: &str = r#"
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: allowed-registry
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["pods"]
  variables:
  - name: allowed
    expression: resource.Get("v1", "configmaps", "kube-system", "registries").data.allowed.split(",")
  validations:
  - expression: object.spec.containers.all(c, variables.allowed.exists(r, c.image.startsWith(r)))
    messageExpression: "'images must come from ' + variables.allowed.join(' or ')"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team-label
spec:
  validationFailureAction: Audit
  rules:
  - name: team-label
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      cel:
        expressions:
        - expression: has(object.metadata.labels) && 'team' in object.metadata.labels
          message: a team label is required
---
apiVersion: policies.kyverno.io/v1alpha1
kind: MutatingPolicy
metadata:
  name: add-pull-policy
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >-
        Object{spec: Object.spec{containers: object.spec.containers.map(c,
          Object.spec.containers{name: c.name, imagePullPolicy: "Always"})}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["deployments"]
  validations:
  - expression: object.spec.replicas <= 3
    message: at most 3 replicas
"#;

const RESOURCES: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: good
  labels: {team: a}
spec:
  containers:
  - {name: app, image: "registry.example.com/app:1"}
---
apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - {name: app, image: "docker.io/app:1"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: "docker.io/web:1"}
"#;

const CONTEXT: &str = r#"
apiVersion: cli.kyverno.io/v1alpha1
kind: Context
metadata: {name: context}
spec:
  resources:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: registries, namespace: kube-system}
    data: {allowed: "registry.example.com/,ghcr.io/"}
"#;

const PATCHED: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: good
  namespace: default
  labels: {team: a}
spec:
  containers:
  - {name: app, image: "registry.example.com/app:1", imagePullPolicy: Always}
"#;

const TEST: &str = r#"
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: cel}
policies: [policies.yaml]
resources: [resources.yaml]
context: context.yaml
results:
- {policy: allowed-registry, isValidatingPolicy: true, resources: [good], result: pass}
- {policy: allowed-registry, isValidatingPolicy: true, resources: [bad, web], result: fail}
- {policy: require-team-label, rule: team-label, resources: [good], result: pass}
- {policy: require-team-label, rule: team-label, resources: [bad], result: fail}
- {policy: add-pull-policy, isMutatingPolicy: true, resources: [good], patchedResources: patched.yaml, result: pass}
- {policy: max-replicas, isValidatingAdmissionPolicy: true, resources: [web], result: fail}
"#;

#[test]
fn cel_policy_kinds_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "policies.yaml", POLICIES);
    write(d, "resources.yaml", RESOURCES);
    write(d, "context.yaml", CONTEXT);
    write(d, "patched.yaml", PATCHED);
    write(d, "kyverno-test.yaml", TEST);
    let rows = run(d);
    let rows = rows.as_array().expect("a JSON array");
    let find = |policy: &str, resource: &str| {
        rows.iter()
            .find(|r| {
                r["policy"] == policy
                    && r["resource"]
                        .as_str()
                        .is_some_and(|x| x.ends_with(&format!("/{resource}")))
            })
            .unwrap_or_else(|| panic!("no row for {policy} {resource}: {rows:?}"))
    };
    for (policy, resource, want) in [
        ("allowed-registry", "good", "pass"),
        ("allowed-registry", "bad", "fail"),
        ("allowed-registry", "web", "fail"),
        ("require-team-label", "good", "pass"),
        ("require-team-label", "bad", "fail"),
        ("add-pull-policy", "good", "pass"),
        ("max-replicas", "web", "fail"),
    ] {
        let row = find(policy, resource);
        assert_eq!(row["actual"], want, "{policy} on {resource}: {row}");
        assert_eq!(row["ok"], true, "{policy} on {resource}: {row}");
    }
}
