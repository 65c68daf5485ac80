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

/// A file whose `apiVersion` group is a bare word no API server serves (`release-notes/v2`,
/// a project's release-note entries) is another tool's file: a note, never "no schema". A
/// built-in kind under a misspelt bare group (`app/v1 Deployment`) stays an error.
#[test]
fn bare_unknown_api_groups_are_other_tools_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "releasenotes/notes/fix-probe.yaml",
        "apiVersion: release-notes/v2
kind: bug-fix
area: traffic-management
releaseNotes:
  - |
    **Fixed** a probe.
",
    );
    write(
        root,
        "web.yaml",
        &deployment("web", "nginx:1.27").replace("apps/v1", "app/v1"),
    );
    let found = all(root);
    let note = of(
        &found,
        "load/not-kubernetes",
        "releasenotes/notes/fix-probe.yaml",
    );
    assert!(
        note.len() == 1 && note[0].message.contains("another tool"),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .filter(|d| d.file == "releasenotes/notes/fix-probe.yaml")
            .all(|d| d.severity == "note"),
        "{found:#?}"
    );
    let typo = of(&found, "schema/missing", "web.yaml");
    assert!(typo.len() == 1 && typo[0].severity == "error", "{found:#?}");
}

/// `ko://` images are Go packages that `ko resolve` builds and pins by digest, and a
/// `{IMAGE}` placeholder is filled in by the script that applies the file: notes. A file
/// that is YAML only once its `{NAME}` placeholders are filled is a template. `nginx` beside
/// them stays an error, and so does a file broken elsewhere.
#[test]
fn ko_images_and_brace_placeholders_are_filled_before_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "controller.yaml",
        &deployment("controller", "ko://knative.dev/serving/cmd/controller"),
    );
    write(root, "bind.yaml", &deployment("bind", "\"{IMAGE}\""));
    write(root, "web.yaml", &deployment("web", "nginx"));
    write(
        root,
        "service.yaml",
        "apiVersion: v1
kind: Service
metadata:
  name: bind
spec:
  clusterIP: {SERVICE_IP_PREFIX}.16
  ports:
  - port: 53
",
    );
    write(
        root,
        "broken.yaml",
        "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: {SERVICE_IP_PREFIX}.16
  ports: [1, 2
",
    );
    let found = all(root);
    for file in ["controller.yaml", "bind.yaml"] {
        let latest = of(&found, "image/latest-tag", file);
        assert!(
            latest.len() == 1 && latest[0].severity == "note",
            "{file}: {found:#?}"
        );
    }
    let web = of(&found, "image/latest-tag", "web.yaml");
    assert!(web.len() == 1 && web[0].severity == "error", "{found:#?}");
    assert!(
        of(&found, "yaml/syntax", "service.yaml").is_empty()
            && of(&found, "load/template", "service.yaml").len() == 1,
        "{found:#?}"
    );
    assert_eq!(
        of(&found, "yaml/syntax", "broken.yaml").len(),
        1,
        "{found:#?}"
    );
}

/// A CRD whose item schema picks one of two fields with `oneOf` branches that each list
/// only their own property (Strimzi's `trustedCertificates`): an object with the shared
/// field and one of the two is valid; one with both is not.
#[test]
fn crd_one_of_branches_do_not_close_the_object() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: connects.example.com
spec:
  group: example.com
  names: {kind: Connect, plural: connects, singular: connect, listKind: ConnectList}
  scope: Namespaced
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
              trustedCertificates:
                type: array
                items:
                  type: object
                  properties:
                    secretName: {type: string}
                    certificate: {type: string}
                    pattern: {type: string}
                  oneOf:
                  - properties:
                      certificate: {}
                    required: [certificate]
                  - properties:
                      pattern: {}
                    required: [pattern]
                  required: [secretName]
",
    );
    write(
        root,
        "good.yaml",
        "apiVersion: example.com/v1
kind: Connect
metadata: {name: good, namespace: default}
spec:
  trustedCertificates:
  - secretName: ca
    pattern: \"*.crt\"
",
    );
    write(
        root,
        "both.yaml",
        "apiVersion: example.com/v1
kind: Connect
metadata: {name: both, namespace: default}
spec:
  trustedCertificates:
  - secretName: ca
    pattern: \"*.crt\"
    certificate: ca.crt
",
    );
    let found = all(root);
    assert!(
        found
            .iter()
            .filter(|d| d.file == "good.yaml")
            .all(|d| d.severity == "note"),
        "{found:#?}"
    );
    assert_eq!(
        of(&found, "schema/one-of", "both.yaml").len(),
        1,
        "{found:#?}"
    );
}

/// The test inputs of a project's code are not deployed: Go `testdata` folders (valid and
/// deliberately invalid objects), Maven/Gradle `src/test` resources and the Go modules
/// vendored beside a `modules.txt` are left out with one note per folder, and a key in a
/// unit test's source (`*_test.go`) is a note. The same invalid object and the same key
/// outside them stay errors, and a `testdata` file a kustomization deploys stays checked.
#[test]
fn code_test_inputs_and_vendored_modules_are_not_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let invalid = "apiVersion: v1
kind: Service
metadata: {name: bad}
spec:
  ports:
  - port: not-a-number
";
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
    write(root, "go.mod", "module example.com/app\n");
    write(
        root,
        "pkg/validation/testdata/service-invalid.yaml",
        invalid,
    );
    write(root, "api/src/test/resources/service-invalid.yaml", invalid);
    write(root, "vendor/modules.txt", "# example.com/lib v1.0.0\n");
    write(
        root,
        "vendor/example.com/lib/testfiles/service.yaml",
        invalid,
    );
    write(root, "deploy/testdata/service.yaml", invalid);
    write(
        root,
        "deploy/kustomization.yaml",
        "resources:\n- testdata/service.yaml\n",
    );
    write(root, "service.yaml", invalid);
    write(
        root,
        "pkg/pki/generate_test.go",
        &format!("package pki\nconst k = `{key}`\n"),
    );
    write(root, "certs/ca.key", key);
    let found = all(root);
    for file in [
        "pkg/validation/testdata/service-invalid.yaml",
        "api/src/test/resources/service-invalid.yaml",
        "vendor/example.com/lib/testfiles/service.yaml",
    ] {
        assert!(found.iter().all(|d| d.file != file), "{file}: {found:#?}");
    }
    for folder in ["pkg/validation/testdata", "api/src/test"] {
        assert_eq!(
            of(&found, "load/test-fixtures", folder).len(),
            1,
            "{folder}: {found:#?}"
        );
    }
    assert_eq!(of(&found, "load/vendored", "vendor").len(), 1, "{found:#?}");
    for file in ["service.yaml", "deploy/testdata/service.yaml"] {
        assert!(
            found
                .iter()
                .any(|d| d.file == file && d.rule.starts_with("schema/") && d.severity == "error"),
            "{file}: {found:#?}"
        );
    }
    let in_test = of(
        &found,
        "secrets/leaked-credential",
        "pkg/pki/generate_test.go",
    );
    assert!(
        in_test.len() == 1 && in_test[0].severity == "note",
        "{found:#?}"
    );
    let real = of(&found, "secrets/leaked-credential", "certs/ca.key");
    assert!(real.len() == 1 && real[0].severity == "error", "{found:#?}");
}

/// A chart's `files/` folder holds data its templates read (`.Files.Glob`, merged as
/// patches): a partial Certificate there is part of a template, not an object missing its
/// required fields. The same file outside a chart stays an error.
#[test]
fn helm_chart_files_are_template_data() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let patch = "apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: serving-cert
spec:
  commonName: webhook.{{ .Release.Namespace }}.svc
";
    write(
        root,
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    );
    write(root, "charts/app/files/certificate-patch.yaml", patch);
    write(root, "certificate.yaml", patch);
    let found = all(root);
    let in_chart = "charts/app/files/certificate-patch.yaml";
    assert!(
        found
            .iter()
            .filter(|d| d.file == in_chart)
            .all(|d| d.severity == "note")
            && of(&found, "load/template", in_chart).len() == 1,
        "{found:#?}"
    );
    assert!(
        of(&found, "schema/required", "certificate.yaml")
            .iter()
            .any(|d| d.severity == "error"),
        "{found:#?}"
    );
}

/// A policy that chooses objects by their namespace (`namespaceSelector`) cannot judge an
/// object that names no namespace and gets none from the repository (a script applies it
/// with `kubectl apply -n`): a note. The same object in a namespace the policy selects stays
/// reported.
#[test]
fn namespace_selected_policies_do_not_judge_objects_without_a_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "policy.yaml",
        "apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: require-ro-rootfs
spec:
  validationActions: [Audit]
  matchConstraints:
    namespaceSelector:
      matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values: [bind]
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - expression: object.spec.template.spec.containers.all(c, has(c.securityContext) && c.securityContext.readOnlyRootFilesystem == true)
    message: Root filesystem must be read-only.
",
    );
    write(
        root,
        "bind/deployment.yaml",
        &deployment("bind", "bind:9.18").replace(", namespace: default", ""),
    );
    write(root, "web.yaml", &deployment("web", "nginx:1.27"));
    let found = all(root);
    let policy = |file: &str| -> Vec<&Finding> {
        found
            .iter()
            .filter(|d| d.file == file && d.rule.starts_with("policy/require-ro-rootfs"))
            .collect()
    };
    let bind = policy("bind/deployment.yaml");
    assert!(bind.len() == 1 && bind[0].severity == "note", "{found:#?}");
    let web = policy("web.yaml");
    assert!(web.len() == 1 && web[0].severity == "warning", "{found:#?}");
}

/// A `.json` file of one record per line (a database's import data) is another tool's
/// file: a note, not invalid YAML. A broken JSON manifest stays a syntax error.
#[test]
fn json_lines_data_is_another_tools_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "mongodb/ratings_data.json",
        "{rating: 5}\n{rating: 4}\n",
    );
    write(
        root,
        "service.json",
        "{\"apiVersion\": \"v1\", \"kind\": \"Service\"\n\"metadata\": {\"name\": \"a\"}}\n",
    );
    let found = all(root);
    assert!(
        found
            .iter()
            .filter(|d| d.file == "mongodb/ratings_data.json")
            .all(|d| d.severity == "note")
            && of(&found, "load/not-kubernetes", "mongodb/ratings_data.json").len() == 1,
        "{found:#?}"
    );
    assert!(
        found.iter().any(|d| d.file == "service.json"
            && d.rule.starts_with("yaml/")
            && d.severity == "error"),
        "{found:#?}"
    );
}
