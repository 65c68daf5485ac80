//! `homelab check` on kinds of GitOps repositories the project had not seen (issue 18): Argo
//! CD catalogs, platform templates, skaffold projects, kubebuilder-style kustomize trees. Each
//! test is a small repository of its own that reproduced a false finding, and pins that it is
//! gone while the true finding beside it stays.

mod check_common;

use check_common::write_file as write;
use serde_json::Value;

/// (severity, rule, file name, message) of every diagnostic.
fn diagnostics(report: &Value) -> Vec<(String, String, String, String)> {
    check_common::diagnostics(report, std::path::Path::new(""))
        .into_iter()
        .map(|d| {
            let name = d.file.rsplit('/').next().unwrap_or("").to_string();
            (d.severity, d.rule, name, d.message)
        })
        .collect()
}

/// Errors and warnings only.
fn problems(report: &Value) -> Vec<(String, String, String, String)> {
    diagnostics(report)
        .into_iter()
        .filter(|d| d.0 == "error" || d.0 == "warning")
        .collect()
}

/// A platform template whose annotations are `<PLACEHOLDER>` lines, filled in by the
/// template's own tool before anything applies the file, is a template (a note), not invalid
/// YAML; a file whose YAML is broken elsewhere stays an error even when it also holds such a
/// line.
#[test]
fn placeholder_lines_make_a_template_not_a_syntax_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "templates/ingress.yaml",
        "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    nginx.ingress.kubernetes.io/force-ssl-redirect: \"true\"
    <CERT_MANAGER_ISSUER_ANNOTATION_1>
    <CERT_MANAGER_ISSUER_ANNOTATION_2>
spec:
  rules:
  - host: web.<DOMAIN_NAME>
",
    );
    write(
        root,
        "templates/values.yaml",
        "ingress:
  annotations:
    <CERT_MANAGER_ISSUER_ANNOTATION_1>
    <CERT_MANAGER_ISSUER_ANNOTATION_2>
    nginx.ingress.kubernetes.io/service-upstream: \"true\"
",
    );
    write(
        root,
        "broken/service.yaml",
        "apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    <OWNER_ANNOTATION>
spec:
  ports: [80
  selector: {app: web}
",
    );
    let report = check_common::check_json(root, &[]).json;
    let problems = problems(&report);
    assert!(
        !problems
            .iter()
            .any(|p| p.2 == "ingress.yaml" || p.2 == "values.yaml"),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.1 == "yaml/syntax" && p.2 == "service.yaml"),
        "the real syntax error must stay: {problems:#?}"
    );
    let notes = diagnostics(&report);
    for file in ["ingress.yaml", "values.yaml"] {
        assert!(
            notes.iter().any(|d| d.0 == "note"
                && d.1 == "load/template"
                && d.2 == file
                && d.3.contains("<PLACEHOLDER>")),
            "{file}: {notes:#?}"
        );
    }
}

/// A skaffold project: `skaffold.yaml` is skaffold's own file (a note, not an object without
/// a schema), and the images it builds get their tag from skaffold when it deploys them (a
/// note naming the file); an image it does not build stays an error.
#[test]
fn skaffold_config_and_the_images_it_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "skaffold.yaml",
        "apiVersion: skaffold/v4beta11
kind: Config
metadata:
  name: app
build:
  artifacts:
  - image: web
    context: src/web
manifests:
  rawYaml:
  - manifests/*.yaml
profiles:
- name: jobs
  build:
    artifacts:
    - image: registry.local:5000/worker
      context: src/worker
",
    );
    let deployment = |name: &str, image: &str| {
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: server
        image: {image}
        resources:
          requests: {{cpu: 10m, memory: 64Mi}}
          limits: {{cpu: 100m, memory: 128Mi}}
"
        )
    };
    write(root, "manifests/web.yaml", &deployment("web", "web"));
    write(
        root,
        "manifests/worker.yaml",
        &deployment("worker", "registry.local:5000/worker:latest"),
    );
    write(root, "manifests/proxy.yaml", &deployment("proxy", "nginx"));
    let report = check_common::check_json(root, &[]).json;
    let problems = problems(&report);
    assert!(
        !problems
            .iter()
            .any(|p| p.2 == "skaffold.yaml" || p.2 == "web.yaml" || p.2 == "worker.yaml"),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.1 == "image/latest-tag" && p.2 == "proxy.yaml"),
        "an image skaffold does not build stays an error: {problems:#?}"
    );
    let all = diagnostics(&report);
    for file in ["web.yaml", "worker.yaml"] {
        assert!(
            all.iter()
                .any(|d| d.0 == "note" && d.1 == "image/latest-tag" && d.2 == file),
            "{file}: {all:#?}"
        );
    }
    assert!(
        all.iter().any(|d| d.1 == "load/not-kubernetes"
            && d.2 == "skaffold.yaml"
            && d.3.contains("skaffold")),
        "{all:#?}"
    );
}

/// A kustomization's `configurations` may tell kustomize's namespace transformer to set more
/// fields than `metadata.namespace` (`webhooks/clientConfig/service/namespace` with
/// `create: true`): the webhook's service then has its namespace, and is not missing a
/// required field. Without such a configuration the field stays missing.
#[test]
fn namespace_field_specs_of_a_kustomization_configuration_are_set() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let webhook = "apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: defaults
webhooks:
- name: defaults.example.org
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig:
    service:
      name: webhook
      path: /mutate
";
    write(root, "with-config/webhook.yaml", webhook);
    write(
        root,
        "with-config/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: tools
resources:
- webhook.yaml
configurations:
- params.yaml
",
    );
    write(
        root,
        "with-config/params.yaml",
        "namespace:
- kind: MutatingWebhookConfiguration
  group: admissionregistration.k8s.io
  path: webhooks/clientConfig/service/namespace
  create: true
",
    );
    write(root, "without-config/webhook.yaml", webhook);
    write(
        root,
        "without-config/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: tools
resources:
- webhook.yaml
",
    );
    let report = check_common::check_json(root, &[]).json;
    let required: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "schema/required" && d["severity"] == "error")
        .map(|d| {
            d["location"]["file"]
                .as_str()
                .unwrap_or("")
                .replace('\\', "/")
        })
        .collect();
    assert!(
        !required.iter().any(|f| f.contains("with-config/")),
        "{required:#?}"
    );
    assert!(
        required.iter().any(|f| f.contains("without-config/")),
        "without the configuration the namespace stays missing: {required:#?}"
    );
}

/// A kustomize `images` entry that only names the image (no `newName`, `newTag` or `digest`)
/// changes nothing: the finding names the image, not the kustomization as the one that built
/// it.
#[test]
fn an_images_entry_that_changes_nothing_is_not_named_as_the_builder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- pod.yaml
images:
- name: prom/prometheus
",
    );
    write(
        root,
        "app/pod.yaml",
        "apiVersion: v1
kind: Pod
metadata:
  name: prometheus
spec:
  containers:
  - name: prometheus
    image: prom/prometheus
",
    );
    let report = check_common::check_json(root, &[]).json;
    let latest: Vec<(String, String, String, String)> = problems(&report)
        .into_iter()
        .filter(|p| p.1 == "image/latest-tag")
        .collect();
    assert_eq!(latest.len(), 1, "{latest:#?}");
    assert!(
        latest[0].3.contains("`prom/prometheus` has no tag") && !latest[0].3.contains("built by"),
        "{latest:#?}"
    );
}

/// A file a kustomization's `configMapGenerator` reads is data of the ConfigMap, not an
/// object (a configuration that another tool's API takes, with its own `apiVersion`); and a
/// value an Argo CD plugin fills in at sync (`argocd.<secret:private-domain>`) is unknown,
/// not a bad host name. A bad host name beside it is still one.
#[test]
fn generator_inputs_are_data_and_plugin_placeholders_are_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "app/kustomization.yaml",
        "resources:\n  - route.yaml\n  - pod.yaml\nconfigMapGenerator:\n  - name: cluster-config\n    files:\n      - config.yaml=cluster-config.yaml\n      - pod.yaml\n",
    );
    // Also listed as a resource: applied, and judged.
    write(
        dir,
        "app/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: web\nspec:\n  containers:\n    - name: web\n      image: nginx\n",
    );
    write(
        dir,
        "app/cluster-config.yaml",
        "apiVersion: cordium.dev/v1\nkind: ClusterConfig\nmetadata:\n  name: default\nspec:\n  storageClass: local\n",
    );
    write(
        dir,
        "app/route.yaml",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: web\n  namespace: web\nspec:\n  hostnames:\n    - argocd.<secret:private-domain>\n    - Bad_Host\n  rules:\n    - backendRefs:\n        - name: web\n          port: 80\n",
    );
    let report = check_common::check_json(dir, &[]).json;
    let problems = problems(&report);
    assert!(
        !problems
            .iter()
            .any(|p| p.2.ends_with("cluster-config.yaml")),
        "{problems:#?}"
    );
    let on_route: Vec<_> = problems
        .iter()
        .filter(|p| p.2.ends_with("route.yaml"))
        .collect();
    assert_eq!(on_route.len(), 1, "{problems:#?}");
    assert_eq!(on_route[0].1, "schema/pattern", "{problems:#?}");
    assert!(on_route[0].3.contains("Bad_Host"), "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.1 == "image/latest-tag" && p.2 == "pod.yaml"),
        "{problems:#?}"
    );
    assert!(
        diagnostics(&report)
            .iter()
            .any(|d| d.1 == "load/not-kubernetes"
                && d.2.ends_with("cluster-config.yaml")
                && d.3.contains("ConfigMap `cluster-config`")),
        "{:#?}",
        diagnostics(&report)
    );
}

/// An object that no known Application deploys (an ApplicationSet generates the one that
/// does) is not ordered against a Namespace that the root Application deploys: their waves
/// belong to different syncs. Inside one Application an inversion is still found.
#[test]
fn waves_of_different_syncs_are_not_compared() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let app = |name: &str, path: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/home.git\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n"
        )
    };
    write(dir, "argocd/root.yaml", &app("root", "argocd/namespaces"));
    write(
        dir,
        "argocd/namespaces/media.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n",
    );
    write(
        dir,
        "argocd/appset.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: apps\n  namespace: argocd\nspec:\n  generators:\n    - git:\n        repoURL: https://github.com/example/home.git\n        files:\n          - path: apps/*/app.yaml\n  template:\n    metadata:\n      name: '{{ .path.basename }}'\n    spec:\n      project: default\n      source:\n        repoURL: https://github.com/example/home.git\n        path: '{{ .path.path }}/manifests'\n      destination:\n        server: https://kubernetes.default.svc\n        namespace: '{{ .path.basename }}'\n",
    );
    // In the root Application's own sync, before its Namespace: an inversion.
    write(
        dir,
        "argocd/namespaces/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: media\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-5\"\n",
    );
    write(dir, "apps/media/app.yaml", "chart: {}\n");
    write(
        dir,
        "apps/media/manifests/claim.yaml",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: media\n  namespace: media\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-2\"\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n",
    );
    let report = check_common::check_json(dir, &[]).json;
    let problems = problems(&report);
    let waves: Vec<&str> = problems
        .iter()
        .filter(|p| p.1 == "argocd/sync-wave")
        .map(|p| p.2.as_str())
        .collect();
    assert_eq!(waves, ["settings.yaml"], "{problems:#?}");
}
