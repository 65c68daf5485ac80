//! `homelab check` on Argo CD, kustomize and platform-template repositories the project had
//! not seen (issue 18): semgrep rule tests, FreeMarker templates, set-based label selectors
//! in patch targets, OpenShift image triggers, documented stand-in tokens, editor settings
//! in JSONC and SOPS examples in Markdown. Each test is a small repository of its own that
//! reproduced a false finding, and pins that it is gone while the true finding beside it
//! stays.

mod check_common;

use check_common::{check_json, deployment, write_file as write, Finding};
use std::path::Path;

/// Every diagnostic of `homelab check ROOT`, notes included, paths relative to ROOT.
fn diagnostics(root: &Path) -> Vec<Finding> {
    check_common::diagnostics(&check_json(root, &[]).json, root)
}

/// Errors and warnings only, as (rule, file).
fn problems(all: &[Finding]) -> Vec<(String, String)> {
    all.iter()
        .filter(|d| d.severity == "error" || d.severity == "warning")
        .map(|d| (d.rule.clone(), d.file.clone()))
        .collect()
}

/// A semgrep rule test target (objects under `# ruleid:` comments, meant to be flagged) is a
/// test input: one note for its folder, nothing checked in it. The same comment in a file a
/// kustomization deploys does not hide that file, and a file without it stays checked.
#[test]
fn semgrep_rule_test_targets_are_test_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "semgrep/rules/no-privileged.yaml",
        "rules:\n- id: no-privileged\n  languages: [yaml]\n  message: no privileged containers\n  severity: ERROR\n  pattern: 'privileged: true'\n",
    );
    write(
        root,
        "semgrep/tests/no-privileged.yaml",
        "# Tests for no-privileged.\n---\n# ruleid: no-privileged\napiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers:\n  - name: app\n    image: myapp:latest\n    securityContext: {privileged: true}\n---\n# ok: no-privileged\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: no-selector\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: myapp:latest}]\n",
    );
    // Deployed by a kustomization: checked although it carries the comment.
    write(
        root,
        "apps/web/web.yaml",
        &format!(
            "# ruleid: pinned-images\n{}",
            deployment("web", "nginx:latest")
        ),
    );
    write(
        root,
        "apps/web/kustomization.yaml",
        "resources: [web.yaml]\n",
    );
    write(
        root,
        "apps/api.yaml",
        &format!("# ok: this is fine\n{}", deployment("api", "api:latest")),
    );
    let all = diagnostics(root);
    let mut files: Vec<String> = problems(&all).into_iter().map(|(_, f)| f).collect();
    files.sort();
    files.dedup();
    assert_eq!(files, ["apps/api.yaml", "apps/web/web.yaml"], "{all:#?}");
    assert!(
        all.iter().any(|d| d.rule == "load/test-fixtures"
            && d.severity == "note"
            && d.file == "semgrep/tests"
            && d.message.contains("1 file(s)")
            && d.message.contains("semgrep")),
        "{all:#?}"
    );
}

/// FreeMarker templates (`*.ftl.yaml`, and any file that fails to parse because of `<#if>`
/// directives) are templates: a note each. A file broken without template markers stays a
/// syntax error.
#[test]
fn freemarker_templates_are_templates() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "argocd/projects/default.ftl.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: default\n  namespace: ${config.namespace}\n  annotations:\n<#if config.mail.active>\n    notifications.argoproj.io/subscribe.email: ${config.mail.to}\n</#if>\nspec:\n  sourceRepos: []\n",
    );
    // Parses as YAML, but is FreeMarker's input, not what is applied.
    write(
        root,
        "vault/secret-store.ftl.yaml",
        "apiVersion: external-secrets.io/v1alpha0\nkind: SecretStore\nmetadata:\n  name: vault\n  namespace: ${namespace}\nspec: {}\n",
    );
    write(
        root,
        "rbac/role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: reader\nrules:\n<#list namespaces as ns>\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get]\n</#list>\n",
    );
    write(
        root,
        "broken/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [80\n  selector: {app: web}\n",
    );
    let all = diagnostics(root);
    assert_eq!(
        problems(&all),
        [("yaml/syntax".to_string(), "broken/service.yaml".to_string())],
        "{all:#?}"
    );
    for file in [
        "argocd/projects/default.ftl.yaml",
        "vault/secret-store.ftl.yaml",
        "rbac/role.yaml",
    ] {
        assert!(
            all.iter()
                .any(|d| d.rule == "load/template" && d.file == file),
            "{file}: {all:#?}"
        );
    }
}

/// A kustomize patch whose target selects by a set-based label selector
/// (`app in (a, b)`) is applied to the objects it selects, and only to them.
#[test]
fn set_based_label_selectors_of_patch_targets_are_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "media/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: media
resources: [radarr.yaml, sonarr.yaml, bazarr.yaml]
patches:
  - path: selector-patch.yaml
    target:
      kind: Deployment
      labelSelector: app in (radarr, sonarr), tier notin (db)
",
    );
    write(
        root,
        "media/selector-patch.yaml",
        "- op: add\n  path: /spec/selector\n  value:\n    matchLabels: {app: media}\n",
    );
    let app = |name: &str| {
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  template:
    metadata:
      labels: {{app: media}}
    spec:
      containers:
      - name: {name}
        image: ghcr.io/example/{name}:1.0.0
        resources:
          requests: {{cpu: 10m, memory: 64Mi}}
          limits: {{memory: 64Mi}}
"
        )
    };
    for name in ["radarr", "sonarr", "bazarr"] {
        write(root, &format!("media/{name}.yaml"), &app(name));
    }
    let all = diagnostics(root);
    let missing: Vec<String> = problems(&all)
        .into_iter()
        .filter(|(r, _)| r == "schema/required")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(missing, ["media/bazarr.yaml"], "{all:#?}");
}

/// A container whose image an OpenShift image trigger sets (`image: ' '` filled from an
/// ImageStreamTag) is a note naming the trigger; a container the trigger does not name
/// stays an error.
#[test]
fn openshift_image_triggers_set_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "pgadmin/deployment.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: pgadmin4
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"pgadmin4:patch"},"fieldPath":"spec.template.spec.containers[?(@.name==\"pgadmin4\")].image"}]'
spec:
  selector:
    matchLabels: {app: pgadmin4}
  template:
    metadata:
      labels: {app: pgadmin4}
    spec:
      containers:
      - name: pgadmin4
        image: ' '
        resources:
          requests: {cpu: 10m, memory: 64Mi}
          limits: {memory: 64Mi}
      - name: sidecar
        image: busybox
        resources:
          requests: {cpu: 10m, memory: 64Mi}
          limits: {memory: 64Mi}
"#,
    );
    let all = diagnostics(root);
    let latest: Vec<&Finding> = all
        .iter()
        .filter(|d| d.rule == "image/latest-tag")
        .collect();
    assert_eq!(latest.len(), 2, "{latest:#?}");
    assert!(
        latest.iter().any(|d| d.severity == "note"
            && d.message.contains("pgadmin4")
            && d.facts.contains("pgadmin4:patch")),
        "{latest:#?}"
    );
    assert!(
        latest
            .iter()
            .any(|d| d.severity == "error" && d.message.contains("busybox")),
        "{latest:#?}"
    );
}

/// Token-shaped stand-ins in docs (AWS's documented example key, `ghp_xxxx...`,
/// `xoxb-your-...-here`) are not leaked credentials; a real-shaped token beside them is.
#[test]
fn documented_stand_in_tokens_are_not_leaks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let real_looking = format!("AKIA{}", "Q3EGRT7MZK2BN4VD");
    write(
        root,
        "docs/mirroring.md",
        &format!(
            "```yaml\naws_access_key_id: \"AKIAIOSFODNN7EXAMPLE\"\n```\n\n    # ghp_{}\n\nreal: {real_looking}\n",
            "x".repeat(36)
        ),
    );
    write(
        root,
        "env.example",
        "SLACK_BOT_TOKEN=xoxb-your-slack-bot-token-here\nSLACK_APP_TOKEN=xapp-your-slack-app-token-here\n",
    );
    let all = diagnostics(root);
    let leaks: Vec<&Finding> = all
        .iter()
        .filter(|d| d.rule == "secrets/leaked-credential")
        .collect();
    assert_eq!(leaks.len(), 1, "{leaks:#?}");
    assert_eq!(
        (leaks[0].file.as_str(), leaks[0].line),
        ("docs/mirroring.md", 7)
    );
}

/// An editor's JSON-with-comments settings file is not a Kubernetes file (a note); a JSON
/// file broken otherwise stays a syntax error. A Markdown page quoting SOPS-encrypted values
/// is prose, not a SOPS file.
#[test]
fn jsonc_settings_and_sops_examples_in_markdown_are_not_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "editor/settings.json",
        "{\n  // Format on save\n  \"editor.formatOnSave\": true,\n  \"url\": \"https://example.com/a//b\", /* block\n comment */\n  \"chat.autoApprove\": {\n    // DENY: dangerous operations\n    \"pods_exec\": { \"approve\": false },\n    \"delete\": { \"approve\": false },\n  },\n}\n",
    );
    write(
        root,
        "k8s/configmap.json",
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\",\n  \"metadata\": {\"name\": \"c\"}\n",
    );
    write(
        root,
        "docs/secrets.md",
        "# Secrets\n\n```yaml\nstringData:\n    password: ENC[AES256_GCM,data:jkl012,iv:mno345,tag:pqr678,type:str]\nsops:\n    mac: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]\n```\n",
    );
    let all = diagnostics(root);
    assert_eq!(
        problems(&all),
        [("yaml/syntax".to_string(), "k8s/configmap.json".to_string())],
        "{all:#?}"
    );
    assert!(
        all.iter().any(|d| d.rule == "load/not-kubernetes"
            && d.file == "editor/settings.json"
            && d.message.contains("JSONC")),
        "{all:#?}"
    );
}

/// An Argo CD declarative repository Secret that holds only what Argo CD documents as
/// settings (`name`, `project`, `type`) and a URL without a password commits no credential
/// (a note); the same Secret with a password stays an error.
#[test]
fn argocd_repository_secret_settings_are_no_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let secret = |name: &str, extra: &str| {
        format!(
            "apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  name: {name}
  project: cluster-config
  type: git
  url: https://github.com/example/gitops.git
{extra}"
        )
    };
    write(root, "argocd/repo-public.yaml", &secret("repo-public", ""));
    write(
        root,
        "argocd/repo-private.yaml",
        &secret("repo-private", "  password: s3cr3t-Pa55w0rd-value\n"),
    );
    let all = diagnostics(root);
    let plain: Vec<(&str, &str)> = all
        .iter()
        .filter(|d| d.rule == "secrets/plain-secret")
        .map(|d| (d.severity.as_str(), d.file.as_str()))
        .collect();
    assert_eq!(plain.len(), 2, "{all:#?}");
    assert!(
        plain.contains(&("note", "argocd/repo-public.yaml")),
        "{plain:?}"
    );
    assert!(
        plain.contains(&("error", "argocd/repo-private.yaml")),
        "{plain:?}"
    );
}

/// Two stacks each create Namespace `backstage`: an object is ordered against the Namespace
/// written beside it (here in the same wave), not against the other stack's copy; an object
/// before the Namespace of its own file stays an error.
#[test]
fn an_object_needs_the_namespace_of_its_own_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let namespace = |wave: Option<i32>| {
        match wave {
        Some(w) => format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: backstage\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{w}\"\n"
        ),
        None => "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: backstage\n".to_string(),
    }
    };
    let account = |name: &str, wave: i32| {
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: backstage\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\n"
        )
    };
    write(
        root,
        "stack-a/backstage/install.yaml",
        &format!("{}---\n{}", namespace(Some(-10)), account("backstage", -10)),
    );
    write(
        root,
        "stack-b/backstage/install.yaml",
        &format!("{}---\n{}", namespace(None), account("backstage", 0)),
    );
    write(
        root,
        "stack-c/backstage/install.yaml",
        &format!("{}---\n{}", namespace(Some(5)), account("early", 1)),
    );
    let all = diagnostics(root);
    let waves: Vec<(String, String)> = problems(&all)
        .into_iter()
        .filter(|(r, _)| r == "argocd/sync-wave")
        .collect();
    assert_eq!(
        waves,
        [(
            "argocd/sync-wave".to_string(),
            "stack-c/backstage/install.yaml".to_string()
        )],
        "{all:#?}"
    );
}

/// authentik's `env://NAME` and `file:///path` configuration values say where the secret is
/// read from: not leaked credentials; a random-looking value beside them is.
#[test]
fn env_and_file_references_are_not_leaked_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "auth/authentik/values.yaml",
        "authentik:\n  secret_key: \"env://AUTHENTIK_SECRET_KEY\"\n  email:\n    password: \"file:///var/run/secrets/smtp-password\"\n  redis:\n    password: \"Zq8vN2xLp4Rt7WmK9sYb\"\n",
    );
    let all = diagnostics(root);
    let leaks: Vec<(String, u32)> = all
        .iter()
        .filter(|d| d.rule == "secrets/leaked-credential")
        .map(|d| (d.file.clone(), d.line))
        .collect();
    assert_eq!(
        leaks,
        [("auth/authentik/values.yaml".to_string(), 6)],
        "{all:#?}"
    );
}

/// A namespace that denies all egress and allows DNS workload by workload (each policy to
/// the pods it selects) is a note naming those policies; a namespace with no DNS allow at
/// all stays an error.
#[test]
fn dns_allowed_workload_by_workload_is_a_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let deny = |ns: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-all\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
        )
    };
    write(
        root,
        "policies/kube-system.yaml",
        &format!(
            "{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-coredns\n  namespace: kube-system\nspec:\n  podSelector:\n    matchLabels: {{k8s-app: kube-dns}}\n  policyTypes: [Egress]\n  egress:\n  - ports:\n    - {{protocol: UDP, port: 53}}\n    - {{protocol: TCP, port: 53}}\n",
            deny("kube-system")
        ),
    );
    write(root, "policies/apps.yaml", &deny("apps"));
    let all = diagnostics(root);
    let dns: Vec<(&str, &str)> = all
        .iter()
        .filter(|d| d.rule == "network/dns-egress")
        .map(|d| (d.severity.as_str(), d.file.as_str()))
        .collect();
    assert_eq!(dns.len(), 2, "{all:#?}");
    assert!(dns.contains(&("error", "policies/apps.yaml")), "{dns:?}");
    assert!(
        dns.contains(&("note", "policies/kube-system.yaml")),
        "{dns:?}"
    );
    assert!(
        all.iter()
            .any(|d| d.rule == "network/dns-egress" && d.message.contains("`allow-coredns`")),
        "{all:#?}"
    );
}

/// A file that a Terraform configuration lists in the `patchesStrategicMerge` of a
/// kustomization it writes is a partial object: no `schema/required` error for what the live
/// object has, while a tag it sets is still judged.
#[test]
fn terraform_strategic_merge_patches_are_partial_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "terraform/k3s/init.tf",
        r#"resource "null_resource" "kustomization" {
  provisioner "file" {
    content = yamlencode({
      apiVersion = "kustomize.config.k8s.io/v1beta1"
      kind       = "Kustomization"
      resources  = ["https://example.com/system-upgrade-controller.yaml"]
      patchesStrategicMerge = [
        file("${path.module}/kustomize/system-upgrade-controller.yaml"),
      ]
    })
    destination = "/var/post_install/kustomization.yaml"
  }
}
"#,
    );
    write(
        root,
        "terraform/k3s/kustomize/system-upgrade-controller.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: system-upgrade-controller
  namespace: system-upgrade
spec:
  template:
    spec:
      containers:
        - name: system-upgrade-controller
          image: rancher/system-upgrade-controller
",
    );
    let all = diagnostics(root);
    assert_eq!(
        problems(&all),
        [(
            "image/latest-tag".to_string(),
            "terraform/k3s/kustomize/system-upgrade-controller.yaml".to_string()
        )],
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|d| d.rule == "load/partial-object" && d.message.contains("init.tf")),
        "{all:#?}"
    );
}

/// idpbuilder packages: `repoURL: cnoe://REL` is the folder REL next to the Application's
/// file. A package that syncs its own folder recursively (`path: .`) does not reach every
/// file of the repository, so two alternative packages that each define Application
/// `backstage` are two deploy units (notes), and `$values/...` of a `cnoe://` ref source is
/// looked up in that folder.
#[test]
fn idpbuilder_local_package_sources_are_folders_next_to_the_application() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let app = |name: &str, source: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: {name}
{source}"
        )
    };
    write(
        root,
        "integrations/compositions.yaml",
        &app(
            "compositions",
            "  source:\n    repoURL: cnoe://compositions\n    targetRevision: HEAD\n    path: \".\"\n    directory:\n      recurse: true\n",
        ),
    );
    write(
        root,
        "integrations/compositions/s3.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s3\n  namespace: crossplane-system\ndata:\n  a: b\n",
    );
    for stack in ["base", "workshop"] {
        write(
            root,
            &format!("stacks/{stack}/backstage.yaml"),
            &app(
                "backstage",
                "  source:\n    repoURL: cnoe://backstage\n    targetRevision: HEAD\n    path: manifests\n",
            ),
        );
        write(
            root,
            &format!("stacks/{stack}/backstage/manifests/config.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: backstage\n  namespace: backstage\ndata:\n  a: b\n",
        );
    }
    let with_values = |name: &str, values: &str| {
        app(
            name,
            &format!(
                "  sources:
    - chart: platform
      repoURL: ghcr.io/example/charts
      targetRevision: 1.0.0
      helm:
        valueFiles:
          - $values/{values}
    - repoURL: cnoe://platform
      path: manifests
      ref: values
"
            ),
        )
    };
    write(
        root,
        "stacks/base/platform.yaml",
        &with_values("platform", "values.yaml"),
    );
    write(root, "stacks/base/platform/values.yaml", "replicas: 1\n");
    write(
        root,
        "stacks/workshop/platform.yaml",
        &with_values("platform", "missing.yaml"),
    );
    let all = diagnostics(root);
    let problems = problems(&all);
    assert_eq!(
        problems,
        [(
            "argocd/values-path".to_string(),
            "stacks/workshop/platform.yaml".to_string()
        )],
        "{all:#?}"
    );
    assert!(
        all.iter().any(|d| d.rule == "argocd/duplicate-name"
            && d.severity == "note"
            && d.file == "stacks/workshop/backstage.yaml"),
        "{all:#?}"
    );
}

/// A pull secret committed with an empty docker configuration (`'{}'`, no registry yet) and
/// a host name holds no credential (a note); one with registry credentials stays an error.
#[test]
fn an_empty_docker_config_is_no_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let secret = |name: &str, config: &str| {
        format!(
            "apiVersion: v1
kind: Secret
metadata:
  name: {name}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{config}'
  ACCESS_TYPE: ''
  OCI_HOST: image-registry.openshift-image-registry.svc
"
        )
    };
    write(root, "models/empty.yaml", &secret("empty", "{}"));
    write(
        root,
        "models/filled.yaml",
        &secret(
            "filled",
            r#"{"auths":{"quay.io":{"auth":"cm9ib3Q6WnE4dk4yeExwNFJ0N1dtSzlzWWI="}}}"#,
        ),
    );
    let all = diagnostics(root);
    let plain: Vec<(&str, &str)> = all
        .iter()
        .filter(|d| d.rule == "secrets/plain-secret")
        .map(|d| (d.severity.as_str(), d.file.as_str()))
        .collect();
    assert_eq!(plain.len(), 2, "{all:#?}");
    assert!(plain.contains(&("note", "models/empty.yaml")), "{plain:?}");
    assert!(
        plain.contains(&("error", "models/filled.yaml")),
        "{plain:?}"
    );
}

/// An Argo CD Application manifest, deployed at `wave`, of this repository's `path`, into
/// `namespace`; `create` adds `CreateNamespace=true`.
fn application(name: &str, wave: i64, path: &str, namespace: &str, create: bool) -> String {
    let options = if create {
        "  syncPolicy:\n    syncOptions:\n      - CreateNamespace=true\n"
    } else {
        ""
    };
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/home.git\n    targetRevision: main\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {namespace}\n{options}"
    )
}

/// A claim on `class` in `namespace`, with its own resource wave.
fn claim(name: &str, namespace: &str, class: &str, wave: i64) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  storageClassName: {class}\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
    )
}

/// The resource waves inside one Application order its own objects only: a claim at resource
/// wave -20 of an Application in wave 10 does not sync before the StorageClass of another
/// Application in wave 10 (the two sync side by side), and a SealedSecret that no
/// Application deploys (a subfolder the Application does not recurse into) is not ordered
/// against the Application that installs the CRD. A claim of an Application in an earlier
/// wave than the class's is still found, and so is an inversion inside one Application.
#[test]
fn resource_waves_order_only_their_own_application() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "bootstrap/root.yaml",
        &application("root", 0, "argocd/apps", "argocd", false),
    );
    write(
        root,
        "argocd/apps/storage.yaml",
        &application("storage", 10, "platform/storage", "storage", false),
    );
    write(
        root,
        "argocd/apps/chat.yaml",
        &application("chat", 10, "apps/chat", "ai", false),
    );
    write(
        root,
        "argocd/apps/early.yaml",
        &application("early", 5, "apps/early", "ai", false),
    );
    write(
        root,
        "argocd/apps/sealed-secrets.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: sealed-secrets\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"0\"\nspec:\n  project: default\n  source:\n    repoURL: https://bitnami-labs.github.io/sealed-secrets\n    chart: sealed-secrets\n    targetRevision: 2.17.1\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: kube-system\n",
    );
    write(
        root,
        "platform/storage/class.yaml",
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: fast\nprovisioner: rook-ceph.rbd.csi.ceph.com\n",
    );
    write(
        root,
        "platform/storage/claim.yaml",
        &claim("scratch", "storage", "fast", -3),
    );
    write(
        root,
        "apps/chat/claim.yaml",
        &claim("data", "ai", "fast", -20),
    );
    write(
        root,
        "apps/early/claim.yaml",
        &claim("cache", "ai", "fast", 0),
    );
    write(
        root,
        "apps/chat/extra/sealed.yaml",
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: env\n  namespace: ai\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-5\"\nspec:\n  encryptedData:\n    TOKEN: AgBy3i4OJSWK+PiTySYZZA==\n",
    );
    let all = diagnostics(root);
    let waves: Vec<String> = problems(&all)
        .into_iter()
        .filter(|p| p.0 == "argocd/sync-wave")
        .map(|p| p.1)
        .collect();
    assert_eq!(
        waves,
        ["apps/early/claim.yaml", "platform/storage/claim.yaml"],
        "{all:#?}"
    );
}

/// An Application that syncs with `CreateNamespace=true` has Argo CD create its destination
/// namespace before anything of its sync, so its objects there (also those of a kustomize
/// base whose overlay, the Application's path, sets that namespace) do not wait for the
/// Namespace manifest another Application deploys later. Without the option they do.
#[test]
fn create_namespace_makes_the_destination_namespace_first() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "bootstrap/root.yaml",
        &application("root", 0, "argocd/apps", "argocd", false),
    );
    write(
        root,
        "argocd/apps/namespaces.yaml",
        &application("namespaces", 6, "namespaces", "default", false),
    );
    for ns in ["shop", "shop-dev", "blog"] {
        write(
            root,
            &format!("namespaces/{ns}.yaml"),
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        );
    }
    write(
        root,
        "argocd/apps/shop-prod.yaml",
        &application("shop-prod", 0, "apps/shop/overlays/prod", "shop", true),
    );
    write(
        root,
        "argocd/apps/shop-dev.yaml",
        &application("shop-dev", 0, "apps/shop/overlays/dev", "shop-dev", true),
    );
    write(
        root,
        "apps/shop/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop-dev\nresources:\n  - settings.yaml\n",
    );
    write(
        root,
        "apps/shop/base/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: shop\n",
    );
    for (overlay, ns) in [("prod", "shop"), ("dev", "shop-dev")] {
        write(
            root,
            &format!("apps/shop/overlays/{overlay}/kustomization.yaml"),
            &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {ns}\nresources:\n  - ../../base\n"),
        );
    }
    write(
        root,
        "argocd/apps/blog.yaml",
        &application("blog", 0, "apps/blog", "blog", false),
    );
    write(
        root,
        "apps/blog/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: blog\ndata:\n  mode: blog\n",
    );
    let all = diagnostics(root);
    let waves: Vec<String> = problems(&all)
        .into_iter()
        .filter(|p| p.0 == "argocd/sync-wave")
        .map(|p| p.1)
        .collect();
    assert_eq!(waves, ["argocd/apps/blog.yaml"], "{all:#?}");
}

/// An Application with `CreateNamespace=true` that deploys its destination Namespace itself:
/// Argo CD then leaves the namespace to that manifest (it creates none), so a Certificate in
/// resource wave -1 syncs before the Namespace of wave 0 and fails on a fresh cluster. The
/// same Application without the Namespace manifest has Argo CD create it first.
#[test]
fn create_namespace_is_left_to_the_applications_own_namespace_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "bootstrap/root.yaml",
        &application("root", 0, "argocd/apps", "argocd", false),
    );
    for app in ["headlamp", "webui"] {
        write(
            root,
            &format!("argocd/apps/{app}.yaml"),
            &application(app, 0, app, app, true),
        );
        write(
            root,
            &format!("{app}/certificate.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tls-settings\n  namespace: {app}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-1\"\ndata:\n  issuer: acme\n"),
        );
    }
    write(
        root,
        "headlamp/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: headlamp\n",
    );
    let all = diagnostics(root);
    let waves: Vec<String> = problems(&all)
        .into_iter()
        .filter(|p| p.0 == "argocd/sync-wave")
        .map(|p| p.1)
        .collect();
    assert_eq!(waves, ["headlamp/certificate.yaml"], "{all:#?}");
}

/// An Application that a script or a README of the repository applies by hand (`kubectl
/// apply -f platform/argocd/argocd-app.yaml` in the bootstrap script, next to the root app;
/// `kubectl apply -f demo/app.yaml` in a README, relative to its folder) is deployed by that
/// command, not unreachable. One that nothing deploys or names is still reported.
#[test]
fn applications_applied_by_hand_are_reachable() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let chart_app = |name: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://charts.example.com\n    chart: {name}\n    targetRevision: 1.2.3\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n"
        )
    };
    write(
        root,
        "platform/argocd/root/root-app.yaml",
        &application("root", 0, "platform/argocd/root/apps", "argocd", false),
    );
    write(
        root,
        "platform/argocd/root/apps/grafana.yaml",
        &chart_app("grafana"),
    );
    write(
        root,
        "platform/argocd/argocd-app.yaml",
        &chart_app("argo-cd"),
    );
    write(
        root,
        "scripts/bootstrap.sh",
        "#!/bin/sh\nset -eu\ncd \"$(dirname \"$0\")/..\"\nkubectl apply -f platform/argocd/argocd-app.yaml | sed 's/^/    /'\nkubectl apply -f \"$ROOT/platform/argocd/root/root-app.yaml\"\n",
    );
    write(root, "examples/rollouts/demo/app.yaml", &chart_app("demo"));
    write(
        root,
        "examples/rollouts/README.md",
        "# Demo\n\n```sh\nkubectl apply -f demo/app.yaml\n```\n",
    );
    write(root, "platform/argocd/old/n8n.yaml", &chart_app("n8n"));
    let all = diagnostics(root);
    let unreachable: Vec<String> = problems(&all)
        .into_iter()
        .filter(|p| p.0 == "argocd/unreachable")
        .map(|p| p.1)
        .collect();
    assert_eq!(unreachable, ["platform/argocd/old/n8n.yaml"], "{all:#?}");
}

/// A Secret whose value a README's `sed -i "s|%SLACK_TOKEN%|$SLACK_TOKEN|g"` fills in is a
/// template (YAML reserves `%` at the start of a value), not invalid YAML; a file broken
/// elsewhere stays a syntax error.
#[test]
fn percent_placeholders_make_a_template_not_a_syntax_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "notifications/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: notifications\ntype: Opaque\nstringData:\n  slack-token: %SLACK_TOKEN%\n",
    );
    write(
        root,
        "notifications/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  token: %SLACK_TOKEN%\n  list: [1, 2\n",
    );
    let all = diagnostics(root);
    let syntax: Vec<String> = problems(&all)
        .into_iter()
        .filter(|p| p.0 == "yaml/syntax")
        .map(|p| p.1)
        .collect();
    assert_eq!(syntax, ["notifications/broken.yaml"], "{all:#?}");
    assert!(
        all.iter()
            .any(|d| d.rule == "load/template" && d.file == "notifications/secret.yaml"),
        "{all:#?}"
    );
}

/// A ksonnet project's `app.yaml` (`apiVersion: 0.1.0`, `kind: ksonnet.io/app`) is another
/// tool's file, listed as such, not an object without a schema; a custom resource of an
/// unknown group beside it still is one.
#[test]
fn a_kind_that_is_no_type_name_is_another_tools_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "ksonnet-guestbook/app.yaml",
        "apiVersion: 0.1.0\nenvironments:\n  default:\n    destination:\n      namespace: default\n      server: https://kubernetes.default.svc\n    k8sVersion: v1.10.0\n    path: default\nkind: ksonnet.io/app\nname: ksonnet-guestbook\nversion: 0.0.1\n",
    );
    write(
        root,
        "widgets/widget.yaml",
        "apiVersion: widgets.example.com/v1\nkind: Widget\nmetadata:\n  name: one\n  namespace: default\nspec:\n  size: 3\n",
    );
    let all = diagnostics(root);
    assert!(problems(&all).is_empty(), "{all:#?}");
    let other_tools: Vec<&str> = all
        .iter()
        .filter(|d| d.rule == "load/not-kubernetes")
        .map(|d| d.file.as_str())
        .collect();
    assert_eq!(other_tools, ["ksonnet-guestbook/app.yaml"], "{all:#?}");
}
