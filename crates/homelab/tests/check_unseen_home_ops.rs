//! `homelab check` on more "home-ops" style repositories the project had not seen (issue 18):
//! Argo CD app-of-apps on k3s, hand-made Flux layouts, Talos homelabs. Each test is a small
//! repository of its own that reproduced a false finding, and pins that it is gone while the
//! true finding beside it stays.

mod check_common;

use check_common::{check_json, diagnostics, write_file as write, Finding};
use std::path::Path;

/// Every diagnostic (notes too), paths relative to `root`.
fn all(root: &Path) -> Vec<Finding> {
    diagnostics(&check_json(root, &[]).json, root)
}

/// Errors and warnings of `rule`, as "file: message".
fn problems_of(found: &[Finding], rule: &str) -> Vec<String> {
    found
        .iter()
        .filter(|d| (d.severity == "error" || d.severity == "warning") && d.rule == rule)
        .map(|d| format!("{}: {}", d.file, d.message))
        .collect()
}

/// The repository's own Kyverno policy (Audit) against a DaemonSet that runs on the host
/// network in `namespace`.
fn host_network_repo(root: &Path, kyverno_config: Option<&str>) {
    write(
        root,
        "policies/no-host-network.yaml",
        "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: no-host-network
spec:
  background: true
  rules:
    - name: host-network
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        failureAction: Audit
        message: pods must not use the host network
        pattern:
          spec:
            =(hostNetwork): false
",
    );
    for namespace in ["kube-system", "media"] {
        write(
            root,
            &format!("apps/{namespace}/forwarder.yaml"),
            &format!(
                "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: forwarder
  namespace: {namespace}
spec:
  selector:
    matchLabels: {{app: forwarder}}
  template:
    metadata:
      labels: {{app: forwarder}}
    spec:
      hostNetwork: true
      containers:
        - name: socat
          image: alpine/socat:1.8.0.0
          resources:
            requests: {{cpu: 10m, memory: 16Mi}}
            limits: {{memory: 32Mi}}
"
            ),
        );
    }
    if let Some(filters) = kyverno_config {
        write(
            root,
            "kyverno/config.yaml",
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kyverno\n  namespace: kyverno\ndata:\n  resourceFilters: '{filters}'\n"
            ),
        );
    }
}

/// Kyverno leaves out what its `resourceFilters` name (by default every object in
/// kube-system, kube-public and kube-node-lease): it never reports them, so neither does
/// the check. A repository whose Kyverno config filters only Events gets the kube-system
/// object reported too.
#[test]
fn kyverno_resource_filters_leave_out_system_namespaces() {
    let policy_findings = |found: &[Finding]| -> Vec<String> {
        found
            .iter()
            .filter(|d| d.severity != "note" && d.rule.starts_with("policy/no-host-network/"))
            .map(|d| d.file.clone())
            .collect()
    };
    let tmp = tempfile::tempdir().unwrap();
    host_network_repo(tmp.path(), None);
    let found = policy_findings(&all(tmp.path()));
    assert_eq!(
        found,
        vec!["apps/media/forwarder.yaml".to_string()],
        "by default Kyverno leaves kube-system out"
    );

    let tmp = tempfile::tempdir().unwrap();
    host_network_repo(tmp.path(), Some("[Event,*,*]"));
    let mut found = policy_findings(&all(tmp.path()));
    found.sort();
    assert_eq!(
        found,
        vec![
            "apps/kube-system/forwarder.yaml".to_string(),
            "apps/media/forwarder.yaml".to_string()
        ],
        "the repository's own resourceFilters replace the defaults"
    );
}

/// A README that says how a file was generated (`helm template ... > trivy-stack.yaml`)
/// does not apply it: the kustomization beside it, which does not list it, decides, and
/// the file's findings are set aside. A README that applies a file by name
/// (`kubectl apply -f dex-stack.yaml`) keeps it judged.
#[test]
fn a_file_a_readme_generates_is_not_applied_by_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (app, readme) in [
        (
            "trivy",
            "## Generate\n```sh\nhelm template trivy-operator aqua/trivy-operator \\\n  --namespace trivy-system > trivy-stack.yaml\n```\n\n> Regenerate it when the chart moves.\n",
        ),
        (
            "dex",
            "## Install\n```sh\nkubectl apply -f dex-stack.yaml\n```\n",
        ),
    ] {
        write(
            root,
            &format!("infrastructure/{app}/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n",
        );
        write(
            root,
            &format!("infrastructure/{app}/namespace.yaml"),
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {app}\n"),
        );
        write(root, &format!("infrastructure/{app}/README.md"), readme);
        write(
            root,
            &format!("infrastructure/{app}/{app}-stack.yaml"),
            &check_common::deployment(app, "busybox"),
        );
    }
    let found = all(root);
    let latest = problems_of(&found, "image/latest-tag");
    assert!(
        !latest
            .iter()
            .any(|l| l.starts_with("infrastructure/trivy/")),
        "a file the README writes with `>` is not applied by it: {latest:#?}"
    );
    assert!(
        found
            .iter()
            .any(|d| d.rule == "load/not-applied"
                && d.file == "infrastructure/trivy/trivy-stack.yaml"),
        "the generated file gets its not-applied note"
    );
    assert!(
        latest
            .iter()
            .any(|l| l.starts_with("infrastructure/dex/dex-stack.yaml")),
        "a file the README applies stays judged: {latest:#?}"
    );
}

/// An Argo CD Application that deploys `path` of this repository.
fn application(name: &str, path: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/example/home-k3s.git
    targetRevision: main
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: {name}
"
    )
}

/// A folder named `DEPRECATED/` is where an operator keeps retired apps, Applications and
/// all: nothing deploys them on purpose, so neither their objects nor their Applications
/// are reported (each file gets its not-applied note), even when the change log names
/// them (it names every file a change touched). An Application outside it that nothing
/// deploys stays an error.
#[test]
fn a_deprecated_folder_is_an_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "bootstrap/root.yaml", &application("root", "apps"));
    write(root, "apps/web.yaml", &application("web", "web"));
    write(
        root,
        "web/deployment.yaml",
        &check_common::deployment("web", "nginx:1.27.3"),
    );
    write(
        root,
        "DEPRECATED/apps/rancher.yaml",
        &application("rancher", "DEPRECATED/rancher"),
    );
    write(
        root,
        "DEPRECATED/rancher/deployment.yaml",
        &check_common::deployment("rancher", "rancher/rancher"),
    );
    write(
        root,
        "CHANGELOG.md",
        "## 2023-11-13\n- Added `rancher/deployment.yaml` for Rancher.\n",
    );
    write(
        root,
        "extra/forgotten.yaml",
        &application("forgotten", "web"),
    );
    let found = all(root);
    let problems: Vec<String> = found
        .iter()
        .filter(|d| d.severity == "error" || d.severity == "warning")
        .map(|d| format!("{} {}", d.rule, d.file))
        .collect();
    assert!(
        !problems.iter().any(|p| p.contains("DEPRECATED/")),
        "retired apps are not judged: {problems:#?}"
    );
    assert!(
        found.iter().any(|d| d.rule == "load/not-applied"
            && d.file == "DEPRECATED/rancher/deployment.yaml"),
        "the retired file gets its note"
    );
    assert!(
        problems.contains(&"argocd/unreachable extra/forgotten.yaml".to_string()),
        "an Application nothing deploys outside an archive stays an error: {problems:#?}"
    );
}
