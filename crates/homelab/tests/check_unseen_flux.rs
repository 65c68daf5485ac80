//! `homelab check` on Flux, Talos and k3s repositories of kinds the project had not seen
//! (issue 18): each test is a small repository of its own that reproduced a false finding,
//! and pins that it is gone while the true finding beside it stays.

mod check_common;

use check_common::write_file as write;
use serde_json::Value;
use std::path::Path;

fn check(dir: &Path) -> Value {
    check_common::check_json(dir, &[]).json
}

/// (severity, rule, path relative to `dir`, message and the facts it relied on) of every
/// diagnostic.
fn all(report: &Value, dir: &Path) -> Vec<(String, String, String, String)> {
    check_common::diagnostics(report, dir)
        .into_iter()
        .map(|d| {
            (
                d.severity,
                d.rule,
                d.file,
                format!("{} {}", d.message, d.facts),
            )
        })
        .collect()
}

/// (rule, file) of every error and warning.
fn problems(report: &Value, dir: &Path) -> Vec<(String, String)> {
    all(report, dir)
        .into_iter()
        .filter(|(sev, ..)| sev == "error" || sev == "warning")
        .map(|(_, rule, file, _)| (rule, file))
        .collect()
}

/// A Flux Kustomization without `interval`/`sourceRef`: the live cluster Kustomization's
/// `patches` fill them in (selected by label).
fn child(name: &str, path: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\n  labels:\n    example.io/part-of: definitions\nspec:\n  path: {path}\n  prune: true\n"
    )
}

/// A backup copy of a folder (`definitions.bak/` beside `definitions/`) is not applied: its
/// copies of the live Flux Kustomizations name the live tree but apply nothing, and what
/// only they reach is not applied either. A leaked password in the copy is still found,
/// and so is a fault in the live folder.
#[test]
fn a_backup_copy_of_a_folder_is_not_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "clusters/home/sync.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: definitions, namespace: flux-system}
spec:
  interval: 10m
  path: ./clusters/home/definitions
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata: {name: not-used}
        spec:
          interval: 30m
          sourceRef: {kind: GitRepository, name: flux-system}
      target:
        kind: Kustomization
        labelSelector: example.io/part-of=definitions
",
    );
    write(
        root,
        "clusters/home/definitions/web.yaml",
        &child("web", "./apps/web"),
    );
    write(
        root,
        "clusters/home/definitions.bak/web.yaml",
        &child("web", "./apps/web"),
    );
    write(
        root,
        "clusters/home/definitions.bak/old.yaml",
        &child("old", "./apps/old"),
    );
    write(
        root,
        "clusters/home/definitions.bak/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: web}\nstringData:\n  password: Hunter2-but-longer-9f8e7d\n",
    );
    write(
        root,
        "apps/web/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: web}\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - {name: web, image: 'nginx:latest'}\n",
    );
    // Only the backup's Flux Kustomization applies this folder.
    write(
        root,
        "apps/old/helmrelease.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: old, namespace: web}\nspec:\n  chart:\n    spec:\n      chart: old\n      sourceRef: {kind: HelmRepository, name: old}\n",
    );
    let report = check(root);
    let problems = problems(&report, root);
    assert!(
        !problems
            .iter()
            .any(|(rule, file)| rule.starts_with("schema/") && file.contains(".bak/")),
        "{problems:?}"
    );
    assert!(
        !problems
            .iter()
            .any(|(_, file)| file == "apps/old/helmrelease.yaml"),
        "{problems:?}"
    );
    assert!(
        problems.contains(&(
            "secrets/plain-secret".into(),
            "clusters/home/definitions.bak/secret.yaml".into()
        )),
        "{problems:?}"
    );
    assert!(
        problems.contains(&("image/latest-tag".into(), "apps/web/deployment.yaml".into())),
        "{problems:?}"
    );
    let notes = all(&report, root);
    assert!(
        notes.iter().any(|(sev, rule, file, message)| sev == "note"
            && rule == "load/not-applied"
            && file == "clusters/home/definitions.bak/old.yaml"
            && message.contains("backup")),
        "{notes:?}"
    );
    // The live copy's Kustomizations are completed by the patch: no finding there either.
    assert!(
        !problems
            .iter()
            .any(|(_, file)| file.contains("definitions/")),
        "{problems:?}"
    );
}

/// The Flux Operator's `flux-instance` chart makes the FluxInstance from its values; a
/// repository that gives it `instance.distribution.version: 2.5.1` (here from a file that a
/// kustomize `configMapGenerator` turns into the ConfigMap the HelmRelease reads) runs Flux
/// 2.5, which serves `source.toolkit.fluxcd.io/v1beta2` OCIRepository: no schema for it in
/// the catalog's newer Flux is a note naming the pin, not an error. Without the pin it
/// stays an error.
#[test]
fn the_flux_release_pinned_in_flux_instance_chart_values_is_the_one_served() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let app = "kubernetes/apps/flux-system/flux-instance/app";
    write(
        root,
        &format!("{app}/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./ocirepository.yaml
  - ./helmrelease.yaml
configMapGenerator:
  - name: flux-instance-helm-values
    files:
      - values.yaml=./helm-values.yaml
",
    );
    write(
        root,
        &format!("{app}/helm-values.yaml"),
        "instance:\n  distribution:\n    version: 2.5.1\n  components: [source-controller, kustomize-controller]\n",
    );
    write(
        root,
        &format!("{app}/helmrelease.yaml"),
        "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: flux-instance, namespace: flux-system}
spec:
  interval: 30m
  chartRef: {kind: OCIRepository, name: flux-instance}
  valuesFrom:
    - kind: ConfigMap
      name: flux-instance-helm-values
",
    );
    write(
        root,
        &format!("{app}/ocirepository.yaml"),
        "apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: flux-instance, namespace: flux-system}
spec:
  interval: 5m
  url: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-instance
  ref: {tag: 0.19.0}
",
    );
    let report = check(root);
    let missing: Vec<_> = all(&report, root)
        .into_iter()
        .filter(|(_, rule, file, _)| {
            rule == "schema/missing" && file.ends_with("ocirepository.yaml")
        })
        .collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].0, "note", "{missing:?}");
    assert!(missing[0].3.contains("2.5.1"), "{missing:?}");

    // The same repository without the pin: the version no Flux of the catalog serves is an
    // error.
    write(
        root,
        &format!("{app}/helm-values.yaml"),
        "instance:\n  components: [source-controller, kustomize-controller]\n",
    );
    let report = check(root);
    assert!(
        problems(&report, root)
            .contains(&("schema/missing".into(), format!("{app}/ocirepository.yaml"))),
        "{:?}",
        all(&report, root)
    );
}

/// A repository of two clusters, each installing its own Flux from the Flux manifests at a
/// tag: an old `helm.toolkit.fluxcd.io/v2beta2` HelmRelease under the cluster that pins
/// Flux 2.5 is served there (a note naming that pin), the same under the cluster that pins
/// a Flux as new as the catalog is an error; a shared base folder takes the pin of the
/// cluster whose Flux applies it.
#[test]
fn each_cluster_of_a_repository_takes_the_flux_release_it_pins() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let flux = |tag: &str| {
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {{name: flux-manifests, namespace: flux-system}}
spec:
  interval: 10m
  url: oci://ghcr.io/fluxcd/flux-manifests
  ref: {{tag: {tag}}}
"
        )
    };
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2beta2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 30m
  chart:
    spec:
      chart: web
      sourceRef: {kind: HelmRepository, name: web}
";
    // The newer cluster first: the first pin found is not the one for every file.
    write(root, "k8s/alpha/flux/flux.yaml", &flux("v2.99.0"));
    write(root, "k8s/alpha/apps/web/helmrelease.yaml", release);
    write(root, "k8s/beta/flux/flux.yaml", &flux("v2.5.1"));
    write(root, "k8s/beta/apps/web/helmrelease.yaml", release);
    // A shared base that only the older cluster's Flux applies takes that cluster's pin.
    write(
        root,
        "k8s/base/api/helmrelease.yaml",
        &release.replace("web", "api"),
    );
    write(
        root,
        "k8s/beta/apps/api.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: api, namespace: flux-system}
spec:
  interval: 10m
  path: ./k8s/base/api
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
",
    );
    let report = check(root);
    let missing: Vec<(String, String, String)> = all(&report, root)
        .into_iter()
        .filter(|(_, rule, ..)| rule == "schema/missing")
        .map(|(sev, _, file, message)| (sev, file, message))
        .collect();
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert!(
        missing.iter().any(|(sev, file, message)| sev == "note"
            && file == "k8s/base/api/helmrelease.yaml"
            && message.contains("v2.5.1")),
        "{missing:?}"
    );
    assert!(
        missing.iter().any(|(sev, file, message)| sev == "note"
            && file == "k8s/beta/apps/web/helmrelease.yaml"
            && message.contains("v2.5.1")),
        "{missing:?}"
    );
    assert!(
        missing
            .iter()
            .any(|(sev, file, _)| sev == "error" && file == "k8s/alpha/apps/web/helmrelease.yaml"),
        "{missing:?}"
    );
}

/// A k3s example repository's Secrets: a camel-case placeholder (`yourCloudflareApiToken`)
/// beside an e-mail address commits no credential (a note); a `data` value that is not
/// base64 keeps its error, and the message says the API server rejects the Secret as
/// written; base64 wrapped over lines is read as the API server reads it.
#[test]
fn secrets_of_an_example_repository_are_judged_as_the_api_server_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "kubernetes/traefik/cloudflare.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: cloudflare, namespace: kube-system}\nstringData:\n  email: you@example.com\n  apiKey: yourCloudflareApiToken\n",
    );
    write(
        root,
        "kubernetes/runner/s3.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s3, namespace: ci}\ndata:\n  accesskey: some-secret\n",
    );
    // A host and port in base64 over two lines: no credential.
    write(
        root,
        "kubernetes/app/settings.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: settings, namespace: app}\ndata:\n  server: |\n    cG9zdGdyZXMtcncuZGF0\n    YWJhc2Uuc3ZjOjU0MzI=\n",
    );
    let report = check(root);
    let plain: Vec<(String, String, String)> = all(&report, root)
        .into_iter()
        .filter(|(_, rule, ..)| rule == "secrets/plain-secret")
        .map(|(sev, _, file, message)| (sev, file, message))
        .collect();
    let of = |file: &str| plain.iter().find(|(_, f, _)| f == file).cloned();
    assert_eq!(
        of("kubernetes/traefik/cloudflare.yaml").map(|p| p.0),
        Some("note".to_string()),
        "{plain:?}"
    );
    assert_eq!(
        of("kubernetes/app/settings.yaml").map(|p| p.0),
        Some("note".to_string()),
        "{plain:?}"
    );
    let s3 = of("kubernetes/runner/s3.yaml").expect("a finding on s3.yaml");
    assert_eq!(s3.0, "error", "{plain:?}");
    assert!(
        s3.2.contains("not base64 (accesskey)") && s3.2.contains("rejects"),
        "{plain:?}"
    );
}

/// An `archive/` folder is where an operator moves the apps they retired, Flux Kustomization
/// and all: nothing applies it (its Kustomizations name paths of the live tree that are gone),
/// so its objects are not judged. The live tree still is.
#[test]
fn an_archive_folder_of_retired_apps_is_not_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "kubernetes/flux/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./kubernetes/apps\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
    );
    let deployment = |name: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: media}}\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - {{name: {name}, image: 'nginx:latest'}}\n")
    };
    write(
        root,
        "kubernetes/apps/web/deployment.yaml",
        &deployment("web"),
    );
    write(
        root,
        "archive/books/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: books, namespace: flux-system}\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/media/books/app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
    );
    write(
        root,
        "archive/books/app/deployment.yaml",
        &deployment("books"),
    );
    write(
        root,
        "archive/books/app/kustomization.yaml",
        "resources: [deployment.yaml]\n",
    );
    let report = check(root);
    let problems = problems(&report, root);
    assert_eq!(
        problems,
        [(
            "image/latest-tag".to_string(),
            "kubernetes/apps/web/deployment.yaml".to_string()
        )],
        "{problems:?}"
    );
    let notes = all(&report, root);
    assert!(
        notes.iter().any(|(sev, rule, file, message)| sev == "note"
            && rule == "load/not-applied"
            && file == "archive/books/app/deployment.yaml"
            && message.contains("archive")),
        "{notes:?}"
    );
}

/// A Flux Kustomization named by a `${VAR}` that no Flux Kustomization substitutes (a
/// template a task copies to start a new app) is completed where its copies land: its
/// missing `interval` is a note. The same name under a Flux Kustomization with
/// `postBuild` is substituted, and judged.
#[test]
fn an_object_named_by_a_variable_nothing_substitutes_is_a_template_completed_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let named = |name: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  path: ./apps/x\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        )
    };
    write(dir, "templates/new-app/ks.yaml", &named("${APPNAME}-app"));
    write(
        dir,
        "templates/new-app/app/chart.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: app-template\n  namespace: ${APPNAME}\nspec:\n  url: oci://ghcr.io/example/charts/app\n  ref:\n    tag: 1.0.0\n",
    );
    write(
        dir,
        "clusters/home/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  path: ./apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      APP: web\n",
    );
    write(dir, "apps/ks.yaml", &named("${APP}-app"));
    let report = check(dir);
    let problems = problems(&report, dir);
    assert!(
        !problems
            .iter()
            .any(|(_, f)| f.starts_with("templates/new-app/")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|(r, f)| r == "schema/required" && f == "apps/ks.yaml"),
        "{problems:#?}"
    );
    assert!(
        all(&report, dir)
            .iter()
            .any(|(_, rule, f, m)| rule == "load/completed-elsewhere"
                && f == "templates/new-app/ks.yaml"
                && m.contains("${APPNAME}-app")),
        "{:#?}",
        all(&report, dir)
    );
}
