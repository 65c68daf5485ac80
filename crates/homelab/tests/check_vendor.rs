//! `homelab check` on vendors' example, operator and workshop repositories (issue 18): sample
//! manifests that a tutorial fills in (`$IMAGE_URL`, `@NAME@`, `YOUR_KEY_HERE`), and
//! documentation that shows vendors' example credentials. Each test is a small repository of
//! its own that reproduced a false finding, and pins that it is gone while the true finding
//! beside it stays.

mod check_common;

use check_common::{check_json, deployment, write_file as write, Finding};
use std::path::Path;

/// Every diagnostic of `check ROOT`, notes included.
fn all(root: &Path) -> Vec<Finding> {
    check_common::diagnostics(&check_json(root, &[]).json, root)
}

fn of<'a>(found: &'a [Finding], rule: &str, file: &str) -> Vec<&'a Finding> {
    found
        .iter()
        .filter(|d| d.rule == rule && d.file == file)
        .collect()
}

/// An image written as a variable (`$IMAGE_URL`, `${IMAGE_URI}`) is filled in before the
/// manifest is applied: its tag is unknown here (a note), not "no tag". An empty image has
/// no tag to judge. `nginx` and `app:latest` beside them stay errors.
#[test]
fn variable_and_empty_images_are_not_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "finetune.yaml", &deployment("finetune", "$IMAGE_URL"));
    write(root, "train.yaml", &deployment("train", "${IMAGE_URI}"));
    write(root, "proxy.yaml", &deployment("proxy", "\"\""));
    write(root, "web.yaml", &deployment("web", "nginx"));
    write(
        root,
        "worker.yaml",
        &deployment("worker", "registry.example.com/${TEAM}/worker:latest"),
    );
    let found = all(root);
    for file in ["finetune.yaml", "train.yaml"] {
        let latest = of(&found, "image/latest-tag", file);
        assert!(
            latest.len() == 1
                && latest[0].severity == "note"
                && latest[0].facts.contains("variable"),
            "{file}: {found:#?}"
        );
    }
    assert!(
        of(&found, "image/latest-tag", "proxy.yaml").is_empty(),
        "{found:#?}"
    );
    for file in ["web.yaml", "worker.yaml"] {
        let latest = of(&found, "image/latest-tag", file);
        assert!(
            latest.len() == 1 && latest[0].severity == "error",
            "{file}: {found:#?}"
        );
    }
}

/// Documentation that shows the vendors' own example credentials (AWS's
/// `AKIAIOSFODNN7EXAMPLE`, Slack's `xoxb-1234567890-...`) leaks nothing; a key id of the
/// same shape that is not an example stays an error.
#[test]
fn documented_example_credentials_are_not_leaks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "docs/whoami.md",
        "```\nUID    aws-iam-authenticator:1234567890:AKIAIOSFODNN7EXAMPLE\n```\n\n\
         | `token` | The app's OAuth access token. | `xoxb-1234567890-1234567890123-5n38u5ed63fgzqlvuyxvxcx6` |\n",
    );
    write(
        root,
        "docs/ci.md",
        "```\nexport AWS_ACCESS_KEY_ID=AKIAZ3MHQ5T7PLX2WQ4R\n```\n",
    );
    let found = all(root);
    assert!(
        of(&found, "secrets/leaked-credential", "docs/whoami.md").is_empty(),
        "{found:#?}"
    );
    let leaked = of(&found, "secrets/leaked-credential", "docs/ci.md");
    assert!(
        leaked.len() == 1 && leaked[0].severity == "error",
        "{found:#?}"
    );
}

/// A sample Secret whose values say what belongs there (`personal github token`,
/// `[aws_secret_access_key]`, a PEM block around `YOUR_PRIVATE_KEY_HERE`, a base64 slot
/// holding `your private ssh key in base64`) commits no credential: a note. A sample
/// with a real-looking password stays an error.
#[test]
fn sample_secrets_that_describe_their_values_are_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "samples/secrets.yaml",
        "apiVersion: v1
kind: Secret
metadata:
  name: code-review-secrets
stringData:
  github-token: personal github token
  api-key: openai api key
---
apiVersion: v1
kind: Secret
metadata:
  name: aws-credentials
stringData:
  credentials: |-
    [default]
    aws_access_key_id     = [aws_access_key_id]
    aws_secret_access_key = [aws_secret_access_key]
---
apiVersion: v1
kind: Secret
metadata:
  name: oci-credentials
stringData:
  oci_api_key.pem: |
    -----BEGIN RSA PRIVATE KEY-----
    YOUR_ACTUAL_PRIVATE_KEY_CONTENT_HERE
    -----END RSA PRIVATE KEY-----
  fingerprint: YOUR_API_KEY_FINGERPRINT_HERE
---
apiVersion: v1
kind: Secret
metadata:
  name: remote-ssh-secret
data:
  privatekey: your private ssh key in base64
",
    );
    write(
        root,
        "samples/substituted.yaml",
        "apiVersion: v1
kind: Secret
metadata:
  name: catalog-rds
data:
  DB_USER: Y2F0YWxvZ191c2Vy
  DB_PASSWORD: ${CATALOG_RDS_PASSWORD}
",
    );
    write(
        root,
        "samples/real.yaml",
        "apiVersion: v1
kind: Secret
metadata:
  name: orka-creds
stringData:
  email: ci@example.org
  password: Zq8v-N3rT-q1xL
",
    );
    let found = all(root);
    let samples = of(&found, "secrets/plain-secret", "samples/secrets.yaml");
    assert!(
        samples.len() == 4 && samples.iter().all(|d| d.severity == "note"),
        "{found:#?}"
    );
    // The variable is filled in before the Secret is applied: no "not base64" there.
    let substituted = of(&found, "secrets/plain-secret", "samples/substituted.yaml");
    assert!(
        substituted.len() == 1
            && substituted[0].severity == "note"
            && !substituted[0].message.contains("base64"),
        "{found:#?}"
    );
    let real = of(&found, "secrets/plain-secret", "samples/real.yaml");
    assert!(real.len() == 1 && real[0].severity == "error", "{found:#?}");
}

/// A manifest whose `@NAME@` placeholders a script fills in (`name: @STS_NAME@`) is a
/// template (a note), not invalid YAML; a file broken elsewhere stays a syntax error.
#[test]
fn at_placeholders_make_a_template_not_a_syntax_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "statefulset.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: @STS_NAME@
spec:
  replicas: 0
  serviceName: @STS_NAME@
",
    );
    write(
        root,
        "broken.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: @NAME@
data:
  a: [1, 2
",
    );
    let found = all(root);
    assert!(
        of(&found, "yaml/syntax", "statefulset.yaml").is_empty()
            && of(&found, "load/template", "statefulset.yaml").len() == 1,
        "{found:#?}"
    );
    assert_eq!(
        of(&found, "yaml/syntax", "broken.yaml").len(),
        1,
        "{found:#?}"
    );
}

/// A CRD's CEL rule reads a property named like a CEL keyword under its escaped name
/// (`has(self.__namespace__)`, as the snapshot CRDs write it): an object that sets it passes,
/// one that leaves it out fails.
#[test]
fn cel_rules_read_escaped_property_names() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: snapshots.example.org
spec:
  group: example.org
  names: {kind: Snapshot, plural: snapshots, singular: snapshot, listKind: SnapshotList}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              sourceRef:
                type: object
                properties:
                  name: {type: string}
                  namespace: {type: string}
                x-kubernetes-validations:
                - rule: has(self.name) && has(self.__namespace__)
                  message: both spec.sourceRef.name and spec.sourceRef.namespace must be set
",
    );
    let snapshot = |name: &str, reference: &str| {
        format!(
            "apiVersion: example.org/v1
kind: Snapshot
metadata:
  name: {name}
spec:
  sourceRef: {reference}
"
        )
    };
    write(
        root,
        "complete.yaml",
        &snapshot("complete", "{name: data, namespace: default}"),
    );
    write(root, "partial.yaml", &snapshot("partial", "{name: data}"));
    let found = all(root);
    assert!(
        of(&found, "schema/cel", "complete.yaml").is_empty(),
        "{found:#?}"
    );
    let partial = of(&found, "schema/cel", "partial.yaml");
    assert!(
        partial.len() == 1 && partial[0].severity == "error",
        "{found:#?}"
    );
}
