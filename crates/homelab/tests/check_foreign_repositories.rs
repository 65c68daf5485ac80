//! `homelab check` on Argo CD Applications whose sources fetch another repository (issue
//! 18): the paths and `$ref` value files of such a source are files there, not here. This
//! repository is the one the Applications name with paths that exist here; while no source
//! says so, every source is read as this repository.

mod check_common;

use check_common::write_file as write;
use serde_json::Value;
use std::path::Path;

/// An Application of this repository (`https://github.com/me/gitops`) deploying `web/`.
const WEB_APP: &str = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source:
    repoURL: git@github.com:me/gitops.git
    targetRevision: main
    path: web
  destination: {server: https://kubernetes.default.svc, namespace: web}
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
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
";

/// A Helm chart with its values in the `values` source at `repo_url`.
fn chart_app(repo_url: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: tool, namespace: argocd}}
spec:
  project: default
  sources:
    - repoURL: https://charts.example.com
      chart: tool
      targetRevision: 1.2.3
      helm:
        valueFiles:
          - $values/tool/values.yaml
    - repoURL: {repo_url}
      targetRevision: main
      ref: values
  destination: {{server: https://kubernetes.default.svc, namespace: tool}}
"
    )
}

fn values_path_findings(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "argocd/values-path" && d["severity"] != "note")
        .map(|d| d["message"].as_str().unwrap_or("").to_string())
        .collect()
}

fn repo(root: &Path, with_web: bool, values_repo: &str) {
    if with_web {
        write(root, "apps/web.yaml", WEB_APP);
        write(root, "web/deployment.yaml", DEPLOYMENT);
    }
    write(root, "apps/tool.yaml", &chart_app(values_repo));
}

#[test]
fn value_files_of_another_repository_are_not_looked_for_here() {
    // The values live in another repository: nothing to find here.
    let tmp = tempfile::tempdir().unwrap();
    repo(
        tmp.path(),
        true,
        "https://github.com/vendor/tool-config.git",
    );
    let report = check_common::check_json(tmp.path(), &[]).json;
    assert_eq!(
        values_path_findings(&report),
        Vec::<String>::new(),
        "{report:#}"
    );

    // This repository (in another spelling of its address): the missing file is found.
    let tmp = tempfile::tempdir().unwrap();
    repo(tmp.path(), true, "https://github.com/me/gitops");
    let report = check_common::check_json(tmp.path(), &[]).json;
    let found = values_path_findings(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert!(found[0].contains("tool/values.yaml"), "{}", found[0]);

    // No Application names a folder here: which repository is this one is unknown, and
    // every source is read as this repository, as before.
    let tmp = tempfile::tempdir().unwrap();
    repo(
        tmp.path(),
        false,
        "https://github.com/vendor/tool-config.git",
    );
    let report = check_common::check_json(tmp.path(), &[]).json;
    assert_eq!(values_path_findings(&report).len(), 1, "{report:#}");
}

/// An ApplicationSet whose template source is another repository (`path: /` of a vendor's
/// chart repository) deploys nothing from here: it does not put every file of this
/// repository in one deploy unit, so two alternative Applications of the same name, each
/// meant to be applied on its own, do not clash.
#[test]
fn an_application_set_of_another_repository_deploys_nothing_from_here() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "apps/web.yaml", WEB_APP);
    write(root, "web/deployment.yaml", DEPLOYMENT);
    let appset = |url: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: chat, namespace: argocd}}
spec:
  generators:
    - list:
        elements:
          - cluster: in-cluster
  template:
    metadata: {{name: 'chat-{{{{cluster}}}}'}}
    spec:
      project: default
      source:
        repoURL: {url}
        targetRevision: main
        path: /
      destination: {{server: https://kubernetes.default.svc, namespace: chat}}
"
        )
    };
    let alternative = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: chat, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://github.com/vendor/chart
    targetRevision: main
    path: /
  destination: {server: https://kubernetes.default.svc, namespace: chat}
";
    write(root, "chat/one/app.yaml", alternative);
    write(root, "chat/two/app.yaml", alternative);
    let duplicates = |root: &Path| -> Vec<String> {
        check_common::check_json(root, &[])
            .findings
            .into_iter()
            .filter(|f| f.rule == "argocd/duplicate-name")
            .map(|f| f.file)
            .collect()
    };
    write(
        root,
        "chat/appset.yaml",
        &appset("https://github.com/vendor/chart"),
    );
    assert_eq!(duplicates(root), Vec::<String>::new());
    // The same ApplicationSet of this repository reaches both files: one unit, a clash.
    write(
        root,
        "chat/appset.yaml",
        &appset("https://github.com/me/gitops"),
    );
    assert!(!duplicates(root).is_empty());
}
