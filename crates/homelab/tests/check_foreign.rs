//! `homelab check` on other people's GitOps repositories (issue 18): each test is a small
//! repository of its own that reproduced a false finding, and pins that it is gone (and,
//! where it matters, that the true finding beside it still is).

mod check_common;

use check_common::write_file as write;
use serde_json::Value;
use std::path::Path;

fn check(dir: &Path) -> Value {
    check_common::check_json(dir, &[]).json
}

/// (rule, file name, message) of every finding of `severity` ("error", "warning", "note").
fn findings(report: &Value, severity: &str) -> Vec<(String, String, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == severity)
        .map(|d| {
            (
                d["rule"].as_str().unwrap_or("").to_string(),
                d["location"]["file"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("")
                    .to_string(),
                d["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn problems(report: &Value) -> Vec<(String, String, String)> {
    let mut all = findings(report, "error");
    all.extend(findings(report, "warning"));
    all
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${REPLICAS}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:latest
          ports:
            - containerPort: ${PORT}
";

/// Flux fills in `${VAR}` from the Kustomization's `substitute`/`substituteFrom`; a variable
/// the repository does not define is unknown, not a schema or YAML error; `targetNamespace`
/// is the namespace of what the Kustomization applies.
#[test]
fn flux_variables_and_target_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "clusters/home/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/web
  prune: true
  sourceRef: {kind: GitRepository, name: home}
  targetNamespace: web
  postBuild:
    substitute:
      REPLICAS: \"2\"
    substituteFrom:
      - kind: ConfigMap
        name: cluster-settings
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-settings, namespace: flux-system}
data:
  DOMAIN: example.org
",
    );
    write(root, "apps/web/deployment.yaml", DEPLOYMENT);
    write(
        root,
        "apps/web/config.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data:
  upstreams: \"[web.${DOMAIN}:443]\"
  scrape: |
    targets: [web.${DOMAIN}:443]
---
apiVersion: monitoring.example/v1
kind: Probe
metadata: {name: web}
spec:
  targets: [web.${DOMAIN}:443, api.${UNDEFINED_HOST}:80]
",
    );
    let report = check(root);
    let problems = problems(&report);
    assert!(
        !problems
            .iter()
            .any(|(r, _, _)| r.starts_with("schema/type") || r.starts_with("yaml/syntax")),
        "{problems:#?}"
    );
    // targetNamespace reached the Deployment: its finding names it in `web`.
    let objects: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "image/latest-tag")
        .filter_map(|d| d["object"].as_str())
        .collect();
    assert_eq!(objects, ["apps/v1/Deployment web/web"], "{problems:#?}");
}

/// A Flux Kustomization's strategic-merge `patches` complete what it applies: child
/// Kustomizations that get `interval` and `prune` from the parent's patch are not missing
/// them, while a child the patch does not target still is; set-based label selectors
/// (`notin`) are read as Kubernetes reads them.
#[test]
fn flux_patches_complete_the_objects_they_target() {
    for selector in ["defaults!=off", "defaults notin (off, disabled)"] {
        flux_patches_complete_the_objects_selected_by(selector);
    }
}

fn flux_patches_complete_the_objects_selected_by(selector: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "clusters/home/ks.yaml",
        &"apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: home}
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: _
        spec:
          interval: 30m
          prune: true
      target:
        group: kustomize.toolkit.fluxcd.io
        kind: Kustomization
        labelSelector: SELECTOR
"
        .replace("SELECTOR", selector),
    );
    let child = |name: &str, labels: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
  labels: {{{labels}}}
spec:
  path: ./apps/{name}/app
  sourceRef: {{kind: GitRepository, name: home}}
"
        )
    };
    write(root, "apps/web/web-ks.yaml", &child("web", ""));
    write(
        root,
        "apps/db/db-ks.yaml",
        &child("db", "defaults: \"off\""),
    );
    let problems = problems(&check(root));
    let missing: Vec<&str> = problems
        .iter()
        .filter(|(r, _, _)| r == "schema/required")
        .map(|(_, file, _)| file.as_str())
        .collect();
    assert!(
        !missing.is_empty() && missing.iter().all(|f| *f == "db-ks.yaml"),
        "{selector}: {problems:#?}"
    );
}

/// Without Flux, the same file with an unknown variable is still not a type error.
#[test]
fn an_undefined_variable_is_unknown_not_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "deployment.yaml", DEPLOYMENT);
    let problems = problems(&check(tmp.path()));
    assert!(
        !problems.iter().any(|(r, _, _)| r.starts_with("schema/")),
        "{problems:#?}"
    );
}

/// A file listed under a kustomization's `patches` completes an object: no "missing
/// required field"; and labels with `includeSelectors` give a Deployment its selector.
#[test]
fn kustomize_patches_and_selector_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web
resources: [deployment.yaml]
labels:
  - includeSelectors: true
    includeTemplates: true
    pairs: {app: web}
patches:
  - path: patches/replicas.yaml
patchesStrategicMerge:
  - patches/resources.yaml
",
    );
    write(
        root,
        "app/deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web, image: nginx:1.27.3}]
",
    );
    write(
        root,
        "app/patches/replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n",
    );
    write(
        root,
        "app/patches/resources.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          resources: {limits: {memory: 128Mi}}\n",
    );
    let report = check(root);
    let problems = problems(&report);
    assert!(
        !problems.iter().any(|(r, _, _)| r == "schema/required"),
        "{problems:#?}"
    );
    let notes = findings(&report, "note");
    assert_eq!(
        notes
            .iter()
            .filter(|(r, _, _)| r == "load/kustomize-patch")
            .count(),
        2,
        "{notes:#?}"
    );
}

/// A kustomization's patches with a target (JSON6902 operations in a file or inline, a
/// strategic-merge patch) add to every object they select: what they add is not missing.
/// A base that another build applies without the patch keeps its finding.
#[test]
fn kustomize_patches_fill_in_what_they_add_where_every_build_patches() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let deployment = |name: &str| {
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: web}}
spec:
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: app
          image: nginx:1.27.3
          resources: {{limits: {{memory: 64Mi}}, requests: {{cpu: 10m, memory: 64Mi}}}}
"
        )
    };
    let kustomization = |resources: &str, patches: &str| {
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [{resources}]\n{patches}"
        )
    };
    // Operations in a file, selected by group, version and kind.
    write(
        root,
        "ops/kustomization.yaml",
        &kustomization(
            "deployment.yaml",
            "patches:\n  - path: add-selector.yaml\n    target: {group: apps, version: v1, kind: Deployment}\n",
        ),
    );
    write(root, "ops/deployment.yaml", &deployment("ops"));
    write(
        root,
        "ops/add-selector.yaml",
        "- op: add\n  path: /spec/selector\n  value: {matchLabels: {app: ops}}\n",
    );
    // A strategic-merge patch written inline, selected by name.
    write(
        root,
        "merge/kustomization.yaml",
        &kustomization(
            "deployment.yaml",
            "patches:\n  - target: {kind: Deployment, name: merge}\n    patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: any}\n      spec:\n        selector: {matchLabels: {app: merge}}\n",
        ),
    );
    write(root, "merge/deployment.yaml", &deployment("merge"));
    // One overlay patches the base, the other applies it as it is.
    write(
        root,
        "base/kustomization.yaml",
        &kustomization("deployment.yaml", ""),
    );
    write(root, "base/deployment.yaml", &deployment("base"));
    write(
        root,
        "overlays/patched/kustomization.yaml",
        &kustomization(
            "../../base",
            "patchesJson6902:\n  - target: {group: apps, version: v1, kind: Deployment, name: base}\n    patch: |-\n      - op: add\n        path: /spec/selector\n        value: {matchLabels: {app: base}}\n",
        ),
    );
    write(
        root,
        "overlays/plain/kustomization.yaml",
        &kustomization("../../base", ""),
    );
    let problems = problems(&check(root));
    let missing: Vec<&str> = problems
        .iter()
        .filter(|(r, _, m)| r == "schema/required" && m.contains("selector"))
        .map(|(_, file, _)| file.as_str())
        .collect();
    assert_eq!(missing, ["deployment.yaml"], "{problems:#?}");
    assert!(
        problems.iter().all(|(r, _, _)| r == "schema/required"),
        "{problems:#?}"
    );
    // The one left is the base's (the plain overlay applies it without a selector).
    fs_remove(root, "overlays/plain");
    let problems = self::problems(&check(root));
    assert!(
        !problems.iter().any(|(r, _, _)| r == "schema/required"),
        "{problems:#?}"
    );
}

fn fs_remove(root: &Path, dir: &str) {
    std::fs::remove_dir_all(root.join(dir)).unwrap();
}

/// kustomize reads YAML 1.2: `on` stays a string in what it builds (kubectl would read
/// `true`): a note that says so, no type error.
#[test]
fn kustomize_keeps_on_and_off_strings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "kustomization.yaml", "resources: [config.yaml]\n");
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\ndata:\n  FEATURE: on\n";
    write(root, "config.yaml", config);
    let report = check(root);
    let problems = problems(&report);
    assert!(problems.is_empty(), "{problems:#?}");
    let notes = findings(&report, "note");
    assert!(
        notes
            .iter()
            .any(|(r, _, m)| r == "yaml/ambiguous-value" && m.contains("kustomize")),
        "{notes:#?}"
    );
    // Applied directly with kubectl, the same file is a type error and a warning.
    let plain = tempfile::tempdir().unwrap();
    write(plain.path(), "config.yaml", config);
    let rules: Vec<String> = problems_rules(&check(plain.path()));
    assert!(
        rules.contains(&"yaml/ambiguous-value".to_string()),
        "{rules:?}"
    );
}

fn problems_rules(report: &Value) -> Vec<String> {
    problems(report).into_iter().map(|(r, _, _)| r).collect()
}

/// Files of other tools are listed as notes with their reason, never validated as
/// Kubernetes objects and never skipped silently.
#[test]
fn files_of_other_tools_are_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let files = [
        (
            "talos/controlplane.yaml",
            "version: v1alpha1\nmachine:\n  type: controlplane\ncluster:\n  clusterName: home\n",
            "Talos machine configuration",
        ),
        (
            "talos/patches/volumes.yaml",
            "apiVersion: v1alpha1\nkind: UserVolumeConfig\nname: data\nprovisioning:\n  diskSelector:\n    match: disk.transport == \"nvme\"\n",
            "Talos machine configuration document",
        ),
        (
            "talos/talconfig.yaml",
            "clusterName: home\ntalosVersion: v1.9.5\nnodes:\n  - hostname: cp1\n",
            "talhelper",
        ),
        (
            "kind.yaml",
            "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes:\n  - role: control-plane\n",
            "kind cluster",
        ),
        (
            "k3d.yaml",
            "apiVersion: k3d.io/v1alpha5\nkind: Simple\nservers: 1\n",
            "k3d cluster",
        ),
        (
            ".fluxschema.yml",
            "apiVersion: schema.plugin.fluxcd.io/v1beta1\nkind: Config\nvalidate:\n  skipMissingSchemas: true\n",
            "Flux CLI plugin",
        ),
        (
            "policies/kyverno-test.yaml",
            "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [p.yaml]\nresources: [r.yaml]\n",
            "Kyverno CLI test",
        ),
        (
            "templates/helmrelease.yaml.j2",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cilium\nspec:\n  values:\n    #% if bgp_enabled %#\n    bgpControlPlane: {enabled: true}\n    #% endif %#\n",
            "Jinja template",
        ),
        (
            "cluster/settings.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: #{ cluster_name }#-settings\ndata:\n  DOMAIN: \"#{ domain }#\"\n",
            "makejinja",
        ),
    ];
    for (name, text, _) in files {
        write(root, name, text);
    }
    let report = check(root);
    let problems = problems(&report);
    assert!(problems.is_empty(), "{problems:#?}");
    let notes = findings(&report, "note");
    for (name, _, reason) in files {
        let file = name.rsplit('/').next().unwrap();
        assert!(
            notes
                .iter()
                .any(|(r, f, m)| f == file && r.starts_with("load/") && m.contains(reason)),
            "{name}: no note mentioning {reason:?} in {notes:#?}"
        );
    }
}

/// The guide's expectations (LAN, ingress namespaces, GPU placement, GitLab budget, PSS
/// labels everywhere) hold only for a rendered platform or when configured.
#[test]
fn guide_expectations_only_where_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "apps.yaml",
        "apiVersion: v1
kind: Namespace
metadata: {name: media}
---
apiVersion: v1
kind: Service
metadata: {name: jellyfin, namespace: media}
spec:
  type: LoadBalancer
  selector: {app: jellyfin}
  ports: [{port: 8096}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: media}
spec:
  podSelector: {}
  ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
",
    );
    let repository = problems_rules(&check(root));
    assert!(repository.is_empty(), "{repository:?}");
    write(
        root,
        ".homelab.toml",
        "[check]\nexpectations = \"guide\"\n[check.facts]\nlan_cidrs = [\"10.0.0.0/8\"]\ningress_namespaces = [\"traefik\"]\n",
    );
    let guide = problems_rules(&check(root));
    for rule in [
        "network/exposed-service",
        "network/ipblock-outside-lan",
        "pss/namespace-labels",
    ] {
        assert!(guide.contains(&rule.to_string()), "{rule}: {guide:?}");
    }
}

fn check_with(dir: &Path, extra: &[&str]) -> Value {
    check_common::check_json(dir, extra).json
}

/// A custom kind whose CRD the repository does not carry (and the catalog does not know) is
/// not judged — a note that says so — while an unknown kind of a Kubernetes group (a typo, a
/// removed API) is an error; `--strict` makes the first an error too. `validate` keeps
/// kubeconform's behaviour (an error unless `-ignore-missing-schemas`).
#[test]
fn custom_kinds_without_a_schema_are_not_judged() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "widget.yaml",
        "apiVersion: widgets.example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n",
    );
    write(
        root,
        "typo.yaml",
        "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: d}\n",
    );
    write(
        root,
        "gateway.yaml",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gatewy\nmetadata: {name: g}\n",
    );
    // Argo Rollouts shares `argoproj.io` with Argo CD (in the catalog): a project of its own.
    write(
        root,
        "rollout.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec: {replicas: 2}\n",
    );
    write(
        root,
        "application.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Aplication\nmetadata: {name: a}\n",
    );
    // A kind the catalog has, at a version no release served.
    write(
        root,
        "scrape.yaml",
        "apiVersion: monitoring.coreos.com/v1\nkind: ScrapeConfig\nmetadata: {name: s, namespace: m}\nspec: {}\n",
    );
    let report = check(root);
    let missing = |report: &Value, severity: &str| -> Vec<String> {
        findings(report, severity)
            .into_iter()
            .filter(|(r, _, _)| r == "schema/missing")
            .map(|(_, f, _)| f)
            .collect()
    };
    let mut errors = missing(&report, "error");
    errors.sort();
    // A group the catalog knows (Gateway API, Argo CD) with a near miss of one of its kinds
    // is not "custom": a typo; nor is a kind the catalog has, at a version it never served
    // (its help names the versions it does).
    assert_eq!(
        errors,
        vec![
            "application.yaml".to_string(),
            "gateway.yaml".to_string(),
            "scrape.yaml".to_string(),
            "typo.yaml".to_string()
        ]
    );
    let scrape = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["location"]["file"]
                .as_str()
                .unwrap()
                .ends_with("scrape.yaml")
        })
        .unwrap();
    assert!(
        scrape["help"]
            .as_str()
            .unwrap()
            .contains("serves ScrapeConfig as monitoring.coreos.com/v1alpha1"),
        "{scrape:#?}"
    );
    let notes = findings(&report, "note");
    for (file, what) in [
        ("widget.yaml", "widgets.example.com/v1 Widget"),
        ("rollout.yaml", "argoproj.io/v1alpha1 Rollout"),
    ] {
        assert!(
            notes.iter().any(|(r, f, m)| r == "schema/missing"
                && f == file
                && m.contains("not judged")
                && m.contains(what)),
            "{notes:#?}"
        );
    }
    let strict = check_with(root, &["--strict"]);
    let mut errors = missing(&strict, "error");
    errors.sort();
    assert!(errors.contains(&"widget.yaml".to_string()), "{errors:?}");
    assert!(errors.contains(&"typo.yaml".to_string()), "{errors:?}");

    let validate = check_common::homelab()
        .arg("validate")
        .arg(root.join("widget.yaml"))
        .output()
        .unwrap();
    assert_eq!(validate.status.code(), Some(1), "{validate:?}");
}

/// A finding that relies on a fact beyond the object (the LAN, the ingress namespaces, the
/// guide's posture, the repository's habit) names it: in `facts` and at the end of the
/// message, so that every report format shows it.
#[test]
fn findings_name_the_facts_they_relied_on_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "apps.yaml",
        "apiVersion: v1
kind: Service
metadata: {name: jellyfin, namespace: media}
spec:
  type: LoadBalancer
  selector: {app: jellyfin}
  ports: [{port: 8096}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: media}
spec:
  podSelector: {}
  ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
",
    );
    write(
        root,
        ".homelab.toml",
        "[check]\nexpectations = \"guide\"\n[check.facts]\nlan_cidrs = [\"10.0.0.0/8\"]\ningress_namespaces = [\"traefik\"]\n",
    );
    let report = check(root);
    let by_rule = |rule: &str| -> Value {
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["rule"] == rule)
            .cloned()
            .unwrap_or_else(|| panic!("no {rule}: {report:#}"))
    };
    for (rule, fact) in [
        ("network/ipblock-outside-lan", "LAN 10.0.0.0/8"),
        ("network/exposed-service", "ingress namespaces traefik"),
    ] {
        let d = by_rule(rule);
        let facts: Vec<&str> = d["facts"]
            .as_array()
            .unwrap_or_else(|| panic!("{rule} has no facts: {d:#}"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            facts
                .iter()
                .any(|f| f.contains(fact) && f.contains(".homelab.toml")),
            "{rule}: {facts:?}"
        );
        assert!(
            d["message"].as_str().unwrap().contains("relied on: "),
            "{d:#}"
        );
    }
    for format in ["text", "sarif", "junit", "html"] {
        let out = check_common::homelab()
            .arg("check")
            .arg(root)
            .args(["--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("relied on: LAN 10.0.0.0/8"),
            "{format} does not name the LAN: {text}"
        );
    }
}

/// Seen on Flux repositories: kustomize's `apiVersion: builtin` transformer configurations
/// are not objects, and `admissionregistration.k8s.io/v1beta1` serves MutatingAdmissionPolicy
/// (new in 1.34) although its webhook configurations were removed in 1.22.
#[test]
fn builtin_transformers_and_admission_policies_of_v1beta1() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "transformers.yaml",
        "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: labels}\nlabels: {app: x}\nfieldSpecs: [{path: metadata/labels, create: true}]\n",
    );
    write(
        root,
        "map.yaml",
        "apiVersion: admissionregistration.k8s.io/v1beta1\nkind: MutatingAdmissionPolicyBinding\nmetadata: {name: m}\nspec: {policyName: m}\n---\napiVersion: admissionregistration.k8s.io/v1beta1\nkind: MutatingWebhookConfiguration\nmetadata: {name: old}\nwebhooks: []\n",
    );
    let report = check_with(root, &["--kubernetes-version", "1.34"]);
    let problems = problems(&report);
    assert!(
        !problems.iter().any(|(_, f, _)| f == "transformers.yaml"),
        "{problems:#?}"
    );
    assert!(
        findings(&report, "note")
            .iter()
            .any(|(r, f, m)| r.starts_with("load/")
                && f == "transformers.yaml"
                && m.contains("builtin")),
        "{report:#}"
    );
    let removed: Vec<&String> = problems
        .iter()
        .filter(|(r, _, _)| r == "schema/removed-api")
        .map(|(_, _, m)| m)
        .collect();
    assert_eq!(removed.len(), 1, "{problems:#?}");
    assert!(
        removed[0].contains("MutatingWebhookConfiguration"),
        "{removed:?}"
    );
}

/// Flux Operator adds its kinds to the notification-controller's Alert enum: an Alert on a
/// FluxInstance is valid wherever the operator installs Flux, a misspelt kind is not.
#[test]
fn alerts_on_flux_operator_kinds_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "alerts/alert.yaml",
        "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: alertmanager\n  namespace: flux-system\nspec:\n  providerRef:\n    name: alertmanager\n  eventSeverity: error\n  eventSources:\n    - kind: FluxInstance\n      name: flux\n    - kind: Kustomization\n      name: '*'\n",
    );
    write(
        dir,
        "alerts/typo.yaml",
        "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: typo\n  namespace: flux-system\nspec:\n  providerRef:\n    name: alertmanager\n  eventSources:\n    - kind: Kustomizaton\n      name: '*'\n",
    );
    let report = check(dir);
    let problems = problems(&report);
    assert!(
        !problems.iter().any(|(_, file, _)| file == "alert.yaml"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|(rule, file, _)| rule == "schema/enum" && file == "typo.yaml"),
        "{problems:?}"
    );
    let notes = findings(&report, "note");
    assert!(
        notes
            .iter()
            .any(|(rule, file, message)| rule == "schema/enum"
                && file == "alert.yaml"
                && message.contains("Flux Operator adds `FluxInstance`")),
        "{notes:?}"
    );
}

/// A repository that pins an older Flux applies API versions that Flux served then and the
/// catalog's newer Flux no longer does: not the repository's fault (a note naming the pin).
/// Without a pin the same version stays an error.
#[test]
fn api_versions_of_the_flux_release_a_repository_pins_are_not_failed() {
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: default\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n";
    let pinned = tempfile::tempdir().unwrap();
    write(pinned.path(), "apps/podinfo.yaml", release);
    write(
        pinned.path(),
        "clusters/home/flux-system/gotk-components.yaml",
        "---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v0.31.4\n# Components: source-controller,kustomize-controller,helm-controller\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n",
    );
    let report = check(pinned.path());
    assert!(
        !problems(&report)
            .iter()
            .any(|(rule, _, _)| rule == "schema/missing"),
        "{:?}",
        problems(&report)
    );
    let notes = findings(&report, "note");
    assert!(
        notes
            .iter()
            .any(|(rule, file, message)| rule == "schema/missing"
                && file == "podinfo.yaml"
                && message.contains("older Flux (v0.31.4)")
                && message.contains("gotk-components.yaml:3 pins Flux v0.31.4")),
        "{notes:?}"
    );

    let unpinned = tempfile::tempdir().unwrap();
    write(unpinned.path(), "apps/podinfo.yaml", release);
    let report = check(unpinned.path());
    assert!(
        problems(&report)
            .iter()
            .any(|(rule, file, _)| rule == "schema/missing" && file == "podinfo.yaml"),
        "{:?}",
        problems(&report)
    );
}

/// A repository that installs an older External Secrets Operator (its chart at 0.10.7)
/// applies `external-secrets.io/v1beta1`, which that release serves and the catalog's newer
/// one does not: a note naming the release. A version the operator never served stays an
/// error, and so does v1beta1 without an older release installed.
#[test]
fn api_versions_an_installed_older_operator_serves_are_not_failed() {
    let secret = |version: &str| {
        format!("apiVersion: external-secrets.io/{version}\nkind: ExternalSecret\nmetadata:\n  name: app\n  namespace: default\nspec:\n  secretStoreRef:\n    kind: ClusterSecretStore\n    name: vault\n  target:\n    name: app\n")
    };
    let operator = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: external-secrets\n  namespace: security\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: external-secrets\n      version: 0.10.7\n      sourceRef:\n        kind: HelmRepository\n        name: external-secrets\n        namespace: flux-system\n";
    let installed = tempfile::tempdir().unwrap();
    write(
        installed.path(),
        "apps/app/externalsecret.yaml",
        &secret("v1beta1"),
    );
    write(installed.path(), "apps/app/typo.yaml", &secret("v1beta3"));
    write(
        installed.path(),
        "apps/external-secrets/helmrelease.yaml",
        operator,
    );
    let report = check(installed.path());
    let errors = problems(&report);
    assert!(
        !errors
            .iter()
            .any(|(rule, file, _)| rule == "schema/missing" && file == "externalsecret.yaml"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(rule, file, _)| rule == "schema/missing" && file == "typo.yaml"),
        "{errors:?}"
    );
    let notes = findings(&report, "note");
    assert!(
        notes
            .iter()
            .any(|(rule, file, message)| rule == "schema/missing"
                && file == "externalsecret.yaml"
                && message.contains("installs an older one (0.10.7)")
                && message.contains("helmrelease.yaml:11 installs external-secrets 0.10.7")),
        "{notes:?}"
    );

    let not_installed = tempfile::tempdir().unwrap();
    write(
        not_installed.path(),
        "apps/app/externalsecret.yaml",
        &secret("v1beta1"),
    );
    let report = check(not_installed.path());
    assert!(
        problems(&report)
            .iter()
            .any(|(rule, file, _)| rule == "schema/missing" && file == "externalsecret.yaml"),
        "{:?}",
        problems(&report)
    );
}

/// The overlay of each cluster holds its own `argocd` Application (Argo CD managing itself
/// from that overlay): two deploy units, not a duplicate. Two Applications of one name in
/// the same overlay stay an error.
#[test]
fn applications_of_the_same_name_in_overlays_of_different_clusters_are_not_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let app = |name: &str, path: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/k8s.git\n    targetRevision: HEAD\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: argocd\n")
    };
    write(
        dir,
        "argocd/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n",
    );
    write(
        dir,
        "argocd/base/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: argocd\n",
    );
    for cluster in ["home", "lab"] {
        write(
            dir,
            &format!("argocd/overlays/{cluster}/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n  - argocd.yaml\n  - web.yaml\n  - web-copy.yaml\n",
        );
        write(
            dir,
            &format!("argocd/overlays/{cluster}/argocd.yaml"),
            &app("argocd", &format!("argocd/overlays/{cluster}")),
        );
        write(
            dir,
            &format!("argocd/overlays/{cluster}/web.yaml"),
            &app("web", "apps/web"),
        );
        write(
            dir,
            &format!("argocd/overlays/{cluster}/web-copy.yaml"),
            &app("web", "apps/web"),
        );
    }
    write(
        dir,
        "apps/web/deployment.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: web\ndata:\n  a: b\n",
    );
    let report = check(dir);
    let duplicates: Vec<(String, String, String)> = problems(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "argocd/duplicate-name")
        .collect();
    // One error per overlay: the copy of `web` in the same overlay.
    assert_eq!(duplicates.len(), 2, "{duplicates:?}");
    for cluster in ["home", "lab"] {
        assert!(
            duplicates
                .iter()
                .any(|(_, file, message)| file.starts_with("web")
                    && message.contains(&format!("/overlays/{cluster}/web"))),
            "{duplicates:?}"
        );
    }
    let notes = findings(&report, "note");
    assert!(
        notes
            .iter()
            .any(|(rule, file, message)| rule == "argocd/duplicate-name"
                && file == "argocd.yaml"
                && message.contains("in another deploy unit: not a duplicate")
                && message.contains("built only by `argocd/overlays/lab/kustomization.yaml`")),
        "{notes:?}"
    );
}

/// One root Application per environment, each applied by hand (`kubectl apply -f
/// root-prod.yaml`), all named `root`: separate deploy units, not duplicates. Two
/// Applications of the same name in the folder one of them deploys stay an error.
#[test]
fn root_applications_applied_by_hand_one_per_environment_are_not_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let app = |name: &str, path: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/k8s.git\n    targetRevision: HEAD\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: argocd\n")
    };
    for env in ["dev", "prod"] {
        write(
            dir,
            &format!("bootstrap/root-{env}.yaml"),
            &app("root", &format!("clusters/{env}")),
        );
        write(
            dir,
            &format!("clusters/{env}/web.yaml"),
            &app("web", "apps/web"),
        );
    }
    write(dir, "clusters/prod/web-old.yaml", &app("web", "apps/web"));
    write(
        dir,
        "apps/web/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: web\ndata:\n  a: b\n",
    );
    let report = check(dir);
    let duplicates: Vec<(String, String, String)> = problems(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "argocd/duplicate-name")
        .collect();
    // Only the second `web` in what `root-prod.yaml` deploys.
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert!(
        duplicates[0].2.contains("clusters/prod/web"),
        "{duplicates:?}"
    );
    let notes = findings(&report, "note");
    // The first `web` of prod (in file order) against the one of dev: a note.
    for file in ["root-prod.yaml", "web-old.yaml"] {
        assert!(
            notes
                .iter()
                .any(|(rule, f, message)| rule == "argocd/duplicate-name"
                    && f == file
                    && message.contains("in another deploy unit: not a duplicate")),
            "{file}: {notes:?}"
        );
    }
}

fn argo_app(name: &str, path: &str) -> String {
    format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/k8s.git\n    targetRevision: HEAD\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: argocd\n")
}

/// A root Application per environment kept beside `Chart.yaml` of the chart it deploys:
/// Helm renders the chart's `templates/`, not the manifests beside `Chart.yaml`, so each
/// root is its own deploy unit (applied by hand, one per cluster), not a duplicate.
#[test]
fn manifests_beside_chart_yaml_are_not_part_of_the_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "bootstrap/root/Chart.yaml",
        "apiVersion: v2\nname: root\nversion: 1.0.0\n",
    );
    write(dir, "bootstrap/root/values.yaml", "apps: []\n");
    write(
        dir,
        "bootstrap/root/templates/apps.yaml",
        "{{- range .Values.apps }}\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {{ .name }}\n{{- end }}\n",
    );
    for env in ["dev", "prod"] {
        write(
            dir,
            &format!("bootstrap/root/root-{env}.yaml"),
            &argo_app("root", "bootstrap/root"),
        );
    }
    let report = check(dir);
    let duplicates: Vec<(String, String, String)> = problems(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "argocd/duplicate-name")
        .collect();
    assert!(duplicates.is_empty(), "{duplicates:?}");
    assert!(
        findings(&report, "note")
            .iter()
            .any(|(rule, file, message)| rule == "argocd/duplicate-name"
                && file == "root-prod.yaml"
                && message.contains("in another deploy unit")),
        "{report}"
    );
}

/// An ApplicationSet whose list generator names each folder deploys those folders only,
/// not everything under the repository: an Application file outside them is unreachable
/// (one root), and two example roots elsewhere are separate deploy units.
#[test]
fn a_list_generator_deploys_the_folders_its_elements_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "bootstrap/apps.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: apps\n  namespace: argocd\nspec:\n  generators:\n    - list:\n        elements:\n          - name: web\n            dir: apps/web\n          - name: db\n            dir: apps/db\n  template:\n    metadata:\n      name: '{{name}}'\n    spec:\n      project: default\n      source:\n        repoURL: https://github.com/example/k8s.git\n        targetRevision: HEAD\n        path: '{{ dir }}'\n      destination:\n        server: https://kubernetes.default.svc\n        namespace: '{{name}}'\n",
    );
    write(
        dir,
        "apps/web/monitoring.yaml",
        &argo_app("web-monitoring", "apps/web/monitoring"),
    );
    write(
        dir,
        "apps/web/monitoring/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: web\ndata:\n  a: b\n",
    );
    write(
        dir,
        "apps/cache/app.yaml",
        &argo_app("cache", "apps/cache/manifests"),
    );
    write(
        dir,
        "apps/cache/manifests/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\n  namespace: cache\ndata:\n  a: b\n",
    );
    let report = check(dir);
    let unreachable: Vec<(String, String, String)> = problems(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "argocd/unreachable")
        .collect();
    assert_eq!(unreachable.len(), 1, "{unreachable:?}");
    assert!(
        unreachable[0].2.contains("apps/cache/app.yaml"),
        "{unreachable:?}"
    );
}

/// Roots applied by hand from several folders (one example per folder): an Application
/// nothing deploys is one more of them, a note rather than an error.
#[test]
fn with_roots_in_several_folders_an_application_nothing_deploys_is_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for example in ["app-of-apps", "helm-example"] {
        write(
            dir,
            &format!("{example}/root.yaml"),
            &argo_app(&format!("{example}-root"), &format!("{example}/apps")),
        );
        write(
            dir,
            &format!("{example}/apps/child.yaml"),
            &argo_app(&format!("{example}-child"), &format!("{example}/manifests")),
        );
        write(
            dir,
            &format!("{example}/manifests/configmap.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: demo\ndata:\n  a: b\n",
        );
    }
    write(
        dir,
        "rollouts/app.yaml",
        &argo_app("rollouts", "rollouts/manifests"),
    );
    write(
        dir,
        "rollouts/manifests/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rollouts\n  namespace: demo\ndata:\n  a: b\n",
    );
    let report = check(dir);
    let unreachable: Vec<(String, String, String)> = problems(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "argocd/unreachable")
        .collect();
    assert!(unreachable.is_empty(), "{unreachable:?}");
    assert!(
        findings(&report, "note")
            .iter()
            .any(|(rule, file, message)| rule == "argocd/unreachable"
                && file == "app.yaml"
                && message.contains("roots applied by hand from 2 folders")),
        "{report}"
    );
}

/// A catalog's Secret template holds placeholders to fill in, not credentials: a note. A
/// well-known default password that works (`changeit`) stays an error.
#[test]
fn secrets_holding_placeholders_are_not_failed() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "base/user-secrets.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: aws-user\n  namespace: ack-system\nstringData:\n  AWS_ACCESS_KEY_ID: UPDATE_AWS_ACCESS_KEY_ID\n  AWS_SECRET_ACCESS_KEY: __REPLACE_ME__\n",
    );
    write(
        tmp.path(),
        "base/keystore.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: keystore\n  namespace: broker\nstringData:\n  keyStorePath: /etc/keystore.jks\n  keyStorePassword: changeit\n",
    );
    let report = check(tmp.path());
    let plain: Vec<(String, String, String)> = problems(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "secrets/plain-secret")
        .collect();
    assert_eq!(plain.len(), 1, "{plain:?}");
    assert_eq!(plain[0].1, "keystore.yaml", "{plain:?}");
    assert!(
        findings(&report, "note")
            .iter()
            .any(|(rule, file, message)| rule == "secrets/plain-secret"
                && file == "user-secrets.yaml"
                && message.contains("none of them a credential")),
        "{report}"
    );
}

/// kustomize's `images` transformer sets the tag the cluster gets: a placeholder image
/// pinned by the kustomization (or by an overlay above it) is not `latest`; an entry that
/// sets `newTag: latest` is, and the finding names the kustomization.
#[test]
fn images_pinned_by_kustomize_are_not_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let deployment = |name: &str, image: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - name: {name}\n          image: {image}\n")
    };
    write(
        dir,
        "apps/runner/deployment.yaml",
        &deployment("runner", "runner-image"),
    );
    write(
        dir,
        "apps/runner/helper.yaml",
        &deployment("helper", "helper-image"),
    );
    write(
        dir,
        "apps/runner/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - helper.yaml\nimages:\n  - name: runner-image\n    newName: ghcr.io/example/runner\n    newTag: 0.2.6\n  - name: helper-image\n    newName: ghcr.io/example/helper\n    newTag: latest\n",
    );
    write(dir, "base/web/deployment.yaml", &deployment("web", "web"));
    write(
        dir,
        "base/web/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n",
    );
    write(
        dir,
        "overlays/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base/web\nimages:\n  - name: web\n    digest: sha256:4bcd0f4b3e5c1c1a2b4f0e8d6a4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c\n",
    );
    let report = check(dir);
    let latest: Vec<(String, String, String)> = problems(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule == "image/latest-tag")
        .collect();
    assert_eq!(latest.len(), 1, "{latest:?}");
    assert_eq!(latest[0].1, "helper.yaml", "{latest:?}");
    assert!(
        latest[0].2.contains(
            "is built by `apps/runner/kustomization.yaml` as `ghcr.io/example/helper:latest`"
        ),
        "{latest:?}"
    );
}

/// The API server reads an explicit `null` as a field left out (`targetPort: null` becomes the
/// port): `check` finds nothing there, while a null required field is missing; `validate` keeps
/// kubeconform's verdict (null matches both branches of IntOrString's `oneOf`).
#[test]
fn null_fields_are_read_as_the_api_server_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "service.yaml",
        "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - name: http
      port: 80
      targetPort: null
---
apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  ports:
    - name: http
      port: null
",
    );
    let problems = problems(&check(tmp.path()));
    let schema: Vec<_> = problems
        .iter()
        .filter(|(r, _, _)| r.starts_with("schema/"))
        .collect();
    assert_eq!(schema.len(), 1, "{problems:#?}");
    assert_eq!(schema[0].0, "schema/required", "{problems:#?}");
    assert!(schema[0].2.contains("`port` is null"), "{problems:#?}");

    let out = check_common::homelab()
        .args(["validate", "-strict", "-output", "json"])
        .arg(tmp.path().join("service.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("targetPort"), "{text}");
}

/// A policy library's test inputs (a gator Suite's `cases[].object`, a Kyverno CLI test's
/// `resources`) are the cases meant to fail, not deployed: left out with one note per suite.
/// The suite itself is a tool's file, not an object to validate. The policies stay checked,
/// and an input a kustomization also deploys stays checked.
#[test]
fn policy_test_inputs_named_by_a_suite_are_not_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pod = |name: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n    - name: c\n      image: nginx:latest\n")
    };
    write(
        root,
        "library/allowedrepos/suite.yaml",
        "kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata:\n  name: allowedrepos\ntests:\n- name: allowed-repos\n  template: template.yaml\n  constraint: samples/constraint.yaml\n  cases:\n  - name: allowed\n    object: samples/example_allowed.yaml\n    assertions:\n    - violations: no\n  - name: disallowed\n    object: samples/example_disallowed.yaml\n    inventory: [samples/inventory.yaml]\n    assertions:\n    - violations: yes\n",
    );
    write(
        root,
        "library/allowedrepos/samples/example_allowed.yaml",
        &pod("allowed"),
    );
    write(
        root,
        "library/allowedrepos/samples/example_disallowed.yaml",
        &pod("disallowed"),
    );
    write(
        root,
        "library/allowedrepos/samples/inventory.yaml",
        &pod("inventory"),
    );
    write(
        root,
        "library/allowedrepos/samples/constraint.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata: {name: repo-is-openpolicyagent}\nspec:\n  parameters:\n    repos: [openpolicyagent/]\n",
    );
    write(
        root,
        "policies/kyverno-test.yaml",
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [bad-pod.yaml, ../apps/web.yaml]\nresults: []\n",
    );
    write(root, "policies/bad-pod.yaml", &pod("bad"));
    // Deployed by the kustomization as well as named by the test: still checked.
    write(root, "apps/web.yaml", &pod("web"));
    write(root, "apps/kustomization.yaml", "resources: [web.yaml]\n");
    let report = check(root);
    let files: Vec<String> = problems(&report).into_iter().map(|(_, f, _)| f).collect();
    assert_eq!(files, ["web.yaml"], "{:#?}", problems(&report));
    let notes = findings(&report, "note");
    for (suite, count) in [
        ("suite.yaml", "3 file(s)"),
        ("kyverno-test.yaml", "1 file(s)"),
    ] {
        assert!(
            notes
                .iter()
                .any(|(r, f, m)| r == "load/test-fixtures" && f == suite && m.contains(count)),
            "{suite}: {notes:#?}"
        );
    }
    assert!(
        notes.iter().any(|(r, f, m)| r == "load/not-kubernetes"
            && f == "suite.yaml"
            && m.contains("gator")),
        "{notes:#?}"
    );
}

/// An operator scaffold (kubebuilder) keeps its optional CRD patches beside the kustomization
/// that lists them only in comments (`#- path: patches/webhook_in_widgets.yaml`): switched
/// off, never applied, so not failed as whole CustomResourceDefinitions. The CRD it does
/// list is still judged.
#[test]
fn patches_a_kustomization_lists_only_in_a_comment_are_switched_off() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "config/crd/kustomization.yaml",
        "resources:\n- bases/example.com_widgets.yaml\n\npatches:\n# [WEBHOOK] To enable webhook, uncomment the sections with [WEBHOOK] prefix.\n#- path: patches/webhook_in_widgets.yaml\n",
    );
    write(
        root,
        "config/crd/bases/example.com_widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets, listKind: WidgetList, singular: widget}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n      bogus: 1\n",
    );
    write(
        root,
        "config/crd/patches/webhook_in_widgets.yaml",
        "# The following patch enables a conversion webhook for the CRD\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  conversion:\n    strategy: Webhook\n",
    );
    let report = check(root);
    let problems = problems(&report);
    // The listed CRD is judged (its misplaced field is found); the switched-off patch is not.
    assert!(
        problems
            .iter()
            .all(|(_, f, _)| f == "example.com_widgets.yaml"),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|(r, _, m)| r == "schema/unknown-field" && m.contains("bogus")),
        "{problems:#?}"
    );
    let notes = findings(&report, "note");
    assert!(
        notes.iter().any(|(r, f, m)| r == "load/not-applied"
            && f == "webhook_in_widgets.yaml"
            && m.contains("only in a comment")),
        "{notes:#?}"
    );
}
