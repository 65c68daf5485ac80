//! `homelab check` on more Flux, Talos and k3s homelab repositories the project had not seen
//! (issue 18): each test is a small repository of its own that reproduced a false finding,
//! and pins that it is gone while the true finding beside it stays.

mod check_common;

use check_common::{check_json, deployment, diagnostics, write_file as write, Finding};
use std::path::Path;

/// Every diagnostic (notes too), paths relative to `root`.
fn all(root: &Path) -> Vec<Finding> {
    diagnostics(&check_json(root, &[]).json, root)
}

/// (rule, file) of every error and warning.
fn problems(found: &[Finding]) -> Vec<(String, String)> {
    found
        .iter()
        .filter(|d| d.severity == "error" || d.severity == "warning")
        .map(|d| (d.rule.clone(), d.file.clone()))
        .collect()
}

/// A Flux Kustomization that applies `path` of the repository.
fn flux_kustomization(name: &str, path: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  interval: 1h\n  path: {path}\n  prune: true\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n"
    )
}

/// The CRD of a custom resource that an in-cluster operator decrypts: its schema declares
/// the SOPS metadata block (`sops`) as a required top-level field.
const SOPS_SECRET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sopssecrets.secrets.example.io
spec:
  group: secrets.example.io
  names: {kind: SopsSecret, plural: sopssecrets, singular: sopssecret, listKind: SopsSecretList}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [sops, spec]
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              properties:
                secrets:
                  type: array
                  items:
                    type: object
                    x-kubernetes-preserve-unknown-fields: true
            sops:
              type: object
              x-kubernetes-preserve-unknown-fields: true
";

/// A SOPS metadata block as sops writes it (the MAC and data key are the test vectors'
/// shapes; nothing here is decrypted).
const SOPS_BLOCK: &str = "sops:
    age:
        - recipient: age14sqa5fgq7tzwrjgp42sx6suzd6dtd73dxta6dvx26x0qq2uxyelsjjwyjm
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBycUFSVXlsTHNrZDVMYk1s
            TEZXZ2tmOXZFd29MSkFYc3lHNGgwSE45S21RCllFQVQ1U1RZMjVsUVFHR1lua0Jq
            dVRXRGpNVWVkME1HV2NJOUhkU0pqWW8KLS0tIDdtaHZJYTNzUVFncFNMWHM3OCsr
            UDFzWHpXVG1XcXFYbjIvMWNIYWMvSTgKp0zT3Zg8wqcCQTcn8DPfMqmQDr9rJdgH
            nwMR/vnTT14p3SE8i75jH6xc8PBkmmod6z1qKTCKeJkr2cdhJf3Z3w==
            -----END AGE ENCRYPTED FILE-----
    lastmodified: \"2026-12-06T18:54:43Z\"
    mac: ENC[AES256_GCM,data:MoGCnexbx76B6Y+34s4zXscSYAwjFQKtcGbK9DBfHO+z9WbitgfMmg69J+W9U8d87b6xZF+V3jUA6IQEfBTwYUKgVXiazJo9s+KX+qdjRFHQUk+MK/AJdKSZPeQODvXe/eOTHkylY3oooWHi8Z+Z/P3tSEuWo7yS6AL90aX3x1g=,iv:/JJaXIvZ49+H4lcuTzlrtwQ+O5TmMie4EUuT2OsjWtg=,tag:AGiGOG4Dy2WgP2Z6Y0tfNA==,type:str]
    encrypted_regex: ^(data|stringData)$
    version: 3.11.0
";

/// A custom resource whose CRD declares the `sops` block (sops-secrets-operator's
/// SopsSecret) is applied encrypted, block and all: the operator decrypts it in the cluster.
/// Its `sops` block is not taken away before validation (which then said "missing required
/// field `sops`"), while a plain Secret's block still is (Flux decrypts it before applying,
/// and `sops` is no field of a Secret).
#[test]
fn a_custom_resource_an_operator_decrypts_keeps_its_sops_block() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "operator/crd.yaml", SOPS_SECRET_CRD);
    write(
        root,
        "apps/dns/sops-secret.yaml",
        &format!(
            "apiVersion: secrets.example.io/v1alpha1
kind: SopsSecret
metadata: {{name: dns-token, namespace: dns}}
spec:
    secrets:
        - name: dns-token
          stringData:
            token: ENC[AES256_GCM,data:bA==,iv:JnNtVPWnGnz6luvcKgu8YiJjM0BELN4Bly56KsVDQD0=,tag:zxSY4PUzCvPcWDGTbM0MHA==,type:str]
{SOPS_BLOCK}"
        ),
    );
    write(
        root,
        "apps/dns/secret.sops.yaml",
        &format!(
            "apiVersion: v1
kind: Secret
metadata: {{name: plain, namespace: dns}}
stringData:
    token: ENC[AES256_GCM,data:6ySK8A==,iv:iNxuXwmL52ln9P/Sc2p8VEEohNzkygvEGp1Zb0FBbRc=,tag:+egn51gO1lTntwHGEq3BEQ==,type:str]
{SOPS_BLOCK}"
        ),
    );
    let found = all(root);
    let schema: Vec<&Finding> = found
        .iter()
        .filter(|d| d.rule.starts_with("schema/") && d.severity != "note")
        .collect();
    assert!(schema.is_empty(), "{schema:#?}");

    // Without the CRD's `sops` field, the block is taken away as for any SOPS file: the
    // schema then misses nothing it declares, and the required `sops` it no longer declares
    // is not asked for.
    write(
        root,
        "operator/crd.yaml",
        &SOPS_SECRET_CRD
            .replace("required: [sops, spec]", "required: [spec]")
            .replace(
                "            sops:\n              type: object\n              x-kubernetes-preserve-unknown-fields: true\n",
                "",
            ),
    );
    let found = all(root);
    assert!(
        !found
            .iter()
            .any(|d| d.rule.starts_with("schema/") && d.severity != "note"),
        "{found:#?}"
    );
    // And a CRD that requires the block while the file has none is still an error.
    write(root, "operator/crd.yaml", SOPS_SECRET_CRD);
    write(
        root,
        "apps/dns/sops-secret.yaml",
        "apiVersion: secrets.example.io/v1alpha1\nkind: SopsSecret\nmetadata: {name: dns-token, namespace: dns}\nspec:\n  secrets: []\n",
    );
    let found = all(root);
    assert!(
        found.iter().any(|d| d.rule == "schema/required"
            && d.file == "apps/dns/sops-secret.yaml"
            && d.message.contains("sops")),
        "{found:#?}"
    );
}

/// Kyverno policies kept in a kustomize Component that no kustomization includes are not
/// applied, and enforce nothing: they judged every object of the repository (94 false
/// `policy/*` errors on one repository). The same Component listed under an overlay's
/// `components` is applied, and its policy judges the objects.
#[test]
fn policies_in_a_component_nothing_includes_enforce_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "clusters/home/apps.yaml",
        &flux_kustomization("apps", "./apps"),
    );
    write(
        root,
        "apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web]\n",
    );
    write(
        root,
        "apps/web/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\n",
    );
    write(
        root,
        "apps/web/deployment.yaml",
        &deployment("web", "nginx:1.27"),
    );
    write(
        root,
        "policies/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [require-team.yaml]\n",
    );
    write(
        root,
        "policies/require-team.yaml",
        "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: require-team}
spec:
  validationFailureAction: Enforce
  rules:
    - name: team-label
      match:
        any:
          - resources: {kinds: [Deployment]}
      validate:
        message: a team label is required
        pattern:
          metadata:
            labels:
              team: \"?*\"
",
    );
    let found = all(root);
    assert_eq!(problems(&found), [], "{found:#?}");
    assert!(
        found.iter().any(|d| d.rule == "load/not-applied"
            && d.file == "policies/require-team.yaml"
            && d.message.contains("Component")),
        "{found:#?}"
    );

    // Included by the overlay, the policy is applied and blocks the Deployment.
    write(
        root,
        "apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web]\ncomponents: [../policies]\n",
    );
    let found = all(root);
    assert_eq!(
        problems(&found),
        [(
            "policy/require-team/team-label".to_string(),
            "apps/web/deployment.yaml".to_string()
        )],
        "{found:#?}"
    );
}

/// An Argo CD Application in a shared base without `spec.project`, which every overlay that
/// builds it sets with the same JSON6902 `replace` (kustomize adds a key a `replace` names
/// when the object lacks it): not a missing required field. An overlay that builds the base
/// without that patch leaves it missing.
#[test]
fn a_field_every_overlay_sets_with_the_same_patch_is_not_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "base/cert-manager/application.yaml",
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: cert-manager, namespace: argocd}
spec:
  source: {repoURL: https://charts.jetstack.io, chart: cert-manager, targetRevision: v1.18.2}
  destination: {server: https://kubernetes.default.svc, namespace: cert-manager}
",
    );
    write(
        root,
        "base/cert-manager/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [application.yaml]\n",
    );
    let overlay = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
components: [../../../base/cert-manager]
patches:
  - target: {kind: Application}
    patch: |-
      - op: replace
        path: /spec/project
        value: infra
";
    for cluster in ["east", "west"] {
        write(
            root,
            &format!("clusters/{cluster}/cert-manager/kustomization.yaml"),
            overlay,
        );
        write(
            root,
            &format!("clusters/{cluster}/root.yaml"),
            &format!(
                "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: root-{cluster}, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: https://github.com/example/home.git, path: clusters/{cluster}/cert-manager, targetRevision: HEAD}}
  destination: {{server: https://kubernetes.default.svc, namespace: argocd}}
"
            ),
        );
    }
    let found = all(root);
    assert_eq!(problems(&found), [], "{found:#?}");

    // One overlay without the patch: that build applies the Application without a project.
    write(
        root,
        "clusters/west/cert-manager/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncomponents: [../../../base/cert-manager]\n",
    );
    let found = all(root);
    assert_eq!(
        problems(&found),
        [(
            "schema/required".to_string(),
            "base/cert-manager/application.yaml".to_string()
        )],
        "{found:#?}"
    );
}

/// Keys and tokens inside a third-party package installed into the repository (an Ansible
/// collection as `ansible-galaxy` installs it) are that project's test fixtures: notes, not
/// leaked credentials. The same key in the repository's own files stays an error.
#[test]
fn keys_in_an_installed_ansible_collection_are_its_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
    let collection = "ansible/collections/ansible_collections/example/tools";
    write(
        root,
        &format!("{collection}/MANIFEST.json"),
        "{\"collection_info\": {\"namespace\": \"example\", \"name\": \"tools\"}}\n",
    );
    write(
        root,
        &format!("{collection}/FILES.json"),
        "{\"files\": []}\n",
    );
    write(
        root,
        &format!("{collection}/tests/integration/targets/tls/files/client_key.pem"),
        key,
    );
    write(root, "ansible/files/host_key.pem", key);
    let found = all(root);
    assert_eq!(
        problems(&found),
        [(
            "secrets/leaked-credential".to_string(),
            "ansible/files/host_key.pem".to_string()
        )],
        "{found:#?}"
    );
    assert!(
        found.iter().any(|d| d.rule == "secrets/leaked-credential"
            && d.severity == "note"
            && d.file.starts_with(collection)
            && d.message.contains("third-party package")),
        "{found:#?}"
    );
}

/// The Flux release pinned inline in a helmfile written as a Go template
/// (`bootstrap/helmfile.d/01-core.yaml.gotmpl`, installing the `flux-instance` chart with
/// `instance.distribution.version`): an OCIRepository of an API version that release serves
/// is not judged against the catalog's newer Flux. Without the pin it stays an error.
#[test]
fn the_flux_release_pinned_in_a_helmfile_template_is_the_one_served() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let helmfile = "---
helmDefaults:
  wait: true
---
releases:
  - name: coredns
    namespace: kube-system
    chart: oci://ghcr.io/coredns/charts/coredns
    values:
      - service:
          clusterIP: {{ .Values.corednsClusterIP }}
      - replicaCount: {{ .Values.corednsReplicas | default 2 }}
  - name: flux-instance
    namespace: flux-system
    chart: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-instance
    version: 0.19.0
    values:
      - instance:
          distribution:
            artifact: oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests
            version: v2.5.1
          sync:
            kind: GitRepository
            path: kubernetes/clusters/{{ .Environment.Name }}
{{- if eq .Environment.Name \"infra\" }}
  - name: extra
    chart: oci://ghcr.io/example/extra
{{- end }}
";
    write(root, "bootstrap/helmfile.d/01-core.yaml.gotmpl", helmfile);
    write(
        root,
        "kubernetes/bases/operator/ocirepository.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: operator, namespace: flux-system}
spec:
  interval: 5m
  url: oci://ghcr.io/example/charts/operator
  ref: {tag: 1.0.0}
",
    );
    let found = all(root);
    let missing: Vec<&Finding> = found
        .iter()
        .filter(|d| d.rule == "schema/missing")
        .collect();
    assert_eq!(missing.len(), 1, "{found:#?}");
    assert_eq!(missing[0].severity, "note", "{missing:#?}");
    assert!(
        missing[0].message.contains("v2.5.1") && missing[0].facts.contains("01-core.yaml.gotmpl"),
        "{missing:#?}"
    );

    write(
        root,
        "bootstrap/helmfile.d/01-core.yaml.gotmpl",
        &helmfile.replace("            version: v2.5.1\n", ""),
    );
    let found = all(root);
    assert_eq!(
        problems(&found),
        [(
            "schema/missing".to_string(),
            "kubernetes/bases/operator/ocirepository.yaml".to_string()
        )],
        "{found:#?}"
    );
}

/// An alias used as a mapping key with its colon right after the name (`*app:`, the app
/// template's controllers keyed by the release's name): go-yaml, which Flux reads it with,
/// ends the alias name before the colon; it is not an unknown anchor `app:`. An alias of no
/// anchor is still a syntax error.
#[test]
fn an_alias_key_is_read_as_go_yaml_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: &app ipmi-exporter
  namespace: observability
spec:
  interval: 30m
  chart:
    spec:
      chart: app-template
      version: 4.4.0
      sourceRef: {kind: HelmRepository, name: bjw-s, namespace: flux-system}
  values:
    controllers:
      *app:
        strategy: RollingUpdate
";
    write(root, "apps/ipmi-exporter/helmrelease.yaml", release);
    let out = check_json(root, &[]);
    assert!(
        out.findings.iter().all(|f| f.rule != "yaml/syntax"),
        "{}",
        out.describe()
    );
    assert_eq!(out.json["summary"]["objects_checked"], 1, "{}", out.stdout);

    write(
        root,
        "apps/ipmi-exporter/helmrelease.yaml",
        &release.replace("*app:", "*other:"),
    );
    let out = check_json(root, &[]);
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule == "yaml/syntax" && f.file == "apps/ipmi-exporter/helmrelease.yaml"),
        "{}",
        out.describe()
    );
}

/// A Component that a Flux Kustomization lists in its own `spec.components` (relative to
/// its path) is included: its files are applied and judged.
#[test]
fn a_component_a_flux_kustomization_lists_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "kubernetes/flux/apps.yaml",
        &flux_kustomization("apps", "./kubernetes/apps"),
    );
    write(
        root,
        "kubernetes/apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web/ks.yaml]\n",
    );
    write(
        root,
        "kubernetes/apps/web/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 1h
  path: ./kubernetes/apps/web/app
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  components:
    - ../../../components/backup
",
    );
    write(
        root,
        "kubernetes/apps/web/app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\n",
    );
    write(
        root,
        "kubernetes/apps/web/app/deployment.yaml",
        &deployment("web", "nginx:1.27"),
    );
    write(
        root,
        "kubernetes/components/backup/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [job.yaml]\n",
    );
    write(
        root,
        "kubernetes/components/backup/job.yaml",
        &deployment("backup", "restic/restic:latest"),
    );
    let found = all(root);
    assert_eq!(
        problems(&found),
        [(
            "image/latest-tag".to_string(),
            "kubernetes/components/backup/job.yaml".to_string()
        )],
        "{found:#?}"
    );
}
