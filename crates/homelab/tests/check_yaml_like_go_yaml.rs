//! `homelab check` reads YAML the way go-yaml (kubectl, kustomize, Flux, Argo CD) reads it
//! where saphyr-parser is stricter (issue 18): the lines of a flow collection or a quoted
//! scalar may start at any column. Text that go-yaml rejects is still a `yaml/syntax` error.

mod check_common;

use check_common::write_file as write;

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
  annotations:
    description: \"A long description
    at the key's column\"
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          args: [
            \"--port\", \"8080\",
            \"--verbose\"
          ]
";

#[test]
fn flow_and_quoted_lines_at_their_key_column_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "apps/web/deployment.yaml", DEPLOYMENT);
    let out = check_common::check_json(tmp.path(), &[]);
    assert!(
        out.findings.iter().all(|f| f.rule != "yaml/syntax"),
        "{}",
        out.describe()
    );
    assert_eq!(out.json["summary"]["objects_checked"], 1, "{}", out.stdout);
}

#[test]
fn text_go_yaml_rejects_is_still_a_syntax_error() {
    let tmp = tempfile::tempdir().unwrap();
    // After the flow sequence, a line less indented than its mapping's keys.
    let broken = DEPLOYMENT.replace("          ]\n", "          ]\n         x: 1\n");
    write(tmp.path(), "apps/web/deployment.yaml", &broken);
    let out = check_common::check_json(tmp.path(), &[]);
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule == "yaml/syntax" && f.file == "apps/web/deployment.yaml"),
        "{}",
        out.describe()
    );
}

/// A comment right after a closing quote (`'false'# note`, as a column of aligned comments
/// ends up when a value grows): go-yaml reads the quoted value and the comment, so the file is
/// read (its values are those go-yaml gives), while a `#` inside a quoted value stays part of
/// it and text go-yaml rejects elsewhere in the file is still an error.
#[test]
fn comments_right_after_a_closing_quote_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: profile\n  namespace: argocd\n  labels:\n    platform/kargo: 'false'         # appset-kargo\n    platform/argo-rollouts: 'false'# appset-argo-rollouts\n    platform/gateway: \"true\"# appset-gateway\ndata:\n  color: \"#ff0000\"\n";
    write(tmp.path(), "clusters/profile.yaml", secret);
    let out = check_common::check_json(tmp.path(), &[]);
    assert!(
        out.findings.iter().all(|f| f.rule != "yaml/syntax"),
        "{}",
        out.describe()
    );
    assert_eq!(out.json["summary"]["objects_checked"], 1, "{}", out.stdout);
    let broken = format!("{secret}  other: [a, b\n");
    write(tmp.path(), "clusters/profile.yaml", &broken);
    let out = check_common::check_json(tmp.path(), &[]);
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule == "yaml/syntax" && f.file == "clusters/profile.yaml"),
        "{}",
        out.describe()
    );
}
