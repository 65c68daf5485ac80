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

/// An Argo CD Application that deploys `path` of this repository into `namespace`, with an
/// optional sync wave.
fn application(name: &str, path: &str, namespace: &str, wave: Option<i64>) -> String {
    let annotations = wave
        .map(|w| format!("\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{w}\""))
        .unwrap_or_default();
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd{annotations}
spec:
  project: default
  source:
    repoURL: https://github.com/example/home-k3s.git
    targetRevision: main
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: {namespace}
  syncPolicy:
    automated: {{prune: true, selfHeal: true}}
    syncOptions: [CreateNamespace=true]
"
    )
}

/// A cert-manager Certificate in `namespace` with an optional resource sync wave.
fn certificate(namespace: &str, wave: Option<i64>) -> String {
    let annotations = wave
        .map(|w| format!("\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{w}\""))
        .unwrap_or_default();
    format!(
        "apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {namespace}-tls
  namespace: {namespace}{annotations}
spec:
  secretName: {namespace}-tls
  dnsNames: [{namespace}.home.example]
  issuerRef: {{group: cert-manager.io, kind: ClusterIssuer, name: acme}}
"
    )
}

/// A resource wave orders an object inside its own Application's sync only: a Certificate
/// in wave -1 of an app in wave 0 does not sync before cert-manager's Application (also wave
/// 0), which installs the CRD. An Application in an earlier wave than cert-manager's, and a
/// Certificate synced before the Namespace its own Application deploys later, stay errors.
#[test]
fn resource_waves_order_only_inside_their_application() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "bootstrap/root.yaml",
        &application("root", "argocd", "argocd", None),
    );
    write(
        root,
        "argocd/cert-manager.yaml",
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cert-manager
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://charts.jetstack.io
    chart: cert-manager
    targetRevision: v1.16.2
    helm:
      values: |
        crds:
          enabled: true
  destination:
    server: https://kubernetes.default.svc
    namespace: cert-manager
  syncPolicy:
    syncOptions: [CreateNamespace=true]
",
    );
    write(
        root,
        "argocd/vault.yaml",
        &application("vault", "vault", "vault", None),
    );
    write(
        root,
        "vault/certificate.yaml",
        &certificate("vault", Some(-1)),
    );
    write(
        root,
        "argocd/wiki.yaml",
        &application("wiki", "wiki", "wiki", None),
    );
    write(
        root,
        "wiki/certificate.yaml",
        &certificate("wiki", Some(-1)),
    );
    write(
        root,
        "wiki/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: wiki\n",
    );
    write(
        root,
        "argocd/early.yaml",
        &application("early", "early", "early", Some(-1)),
    );
    write(root, "early/certificate.yaml", &certificate("early", None));

    let found = all(root);
    let waves = problems_of(&found, "argocd/sync-wave");
    assert!(
        !waves.iter().any(|w| w.starts_with("vault/")),
        "a resource wave inside one Application is not ordered against another Application of the same wave: {waves:#?}"
    );
    assert!(
        !waves
            .iter()
            .any(|w| w.starts_with("wiki/") && w.contains("CRD")),
        "{waves:#?}"
    );
    assert!(
        waves
            .iter()
            .any(|w| w.starts_with("wiki/certificate.yaml") && w.contains("Namespace `wiki`")),
        "the Namespace the same Application deploys in a later wave stays a finding: {waves:#?}"
    );
    assert!(
        waves
            .iter()
            .any(|w| w.starts_with("argocd/early.yaml") && w.contains("cert-manager.io")),
        "an Application in an earlier wave than the one installing its CRDs stays a finding: {waves:#?}"
    );
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
