//! A repository's own CEL policies run under a cost budget (like the API server's):
//! `homelab check` on a repository whose ValidatingPolicies nest comprehensions reports
//! each such policy once, at the policy, and goes on checking, instead of running for
//! minutes. Fixtures are written here.

use assert_cmd::Command;
use std::fmt::Write as _;
use std::time::Duration;

fn policy(name: &str, expression: &str) -> String {
    format!(
        r#"apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: {name}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["pods"]
  validations:
  - expression: "{expression}"
    message: never mind
---
"#
    )
}

#[test]
fn hostile_cel_is_stopped_and_reported_once_at_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    // Refused by the estimate: four nested comprehensions over the object's lists.
    text.push_str(&policy(
        "estimated",
        "object.spec.containers.all(a, object.spec.containers.all(b, object.spec.containers.all(c, object.spec.containers.all(d, true))))",
    ));
    // Within the estimate (sizes unknown), stopped at run time: 25,000,000 iterations.
    text.push_str(&policy(
        "runtime",
        "lists.range(size(object.metadata.name) * 500).all(x, lists.range(size(object.metadata.name) * 500).all(y, x >= 0))",
    ));
    for i in 0..200 {
        let _ = write!(
            text,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i:05}\n  namespace: apps\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n---\n"
        );
    }
    std::fs::write(dir.path().join("all.yaml"), text).unwrap();
    let out = Command::cargo_bin("homelab")
        .unwrap()
        .arg("check")
        .arg(dir.path())
        .args(["--format", "json"])
        // a hang guard, not a speed measurement
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let diagnostics = report["diagnostics"].as_array().unwrap();
    for name in ["estimated", "runtime"] {
        let mine: Vec<&serde_json::Value> = diagnostics
            .iter()
            .filter(|d| {
                d["rule"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(&format!("policy/{name}/"))
            })
            .collect();
        assert_eq!(mine.len(), 1, "{name}: {mine:#?}");
        let message = mine[0]["message"].as_str().unwrap();
        assert!(message.contains("could not be evaluated"), "{message}");
        assert!(message.contains("cost"), "{message}");
    }
}
