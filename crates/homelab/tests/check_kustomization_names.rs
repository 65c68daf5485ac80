//! `homelab check` reads a kustomization from every name kustomize reads it from (issue 18):
//! `kustomization.yaml`, `kustomization.yml` and the extensionless `Kustomization`. A folder
//! with a `Kustomization` file is built from it (what it does not list is not applied), and a
//! folder with more than one of them is an error: kustomize refuses to build it.

mod check_common;

use check_common::{deployment, write_file as write};
use serde_json::Value;
use std::path::Path;

/// (rule, severity, file path from `root`) of every finding that is not a note, and of every
/// note of `rule`.
fn findings(report: &Value, root: &Path, rule: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = check_common::diagnostics(report, root)
        .into_iter()
        .filter(|d| d.severity != "note" || d.rule == rule)
        .map(|d| (d.rule, d.severity, d.file))
        .collect();
    out.sort();
    out
}

fn triples(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn an_extensionless_kustomization_is_read_as_kustomize_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "clusters/home/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
",
    );
    // Flux builds `apps/` from its `Kustomization`: `old.yaml`, not listed, is not applied.
    write(root, "apps/Kustomization", "resources:\n  - web.yaml\n");
    write(root, "apps/web.yaml", &deployment("web", "nginx:1.27"));
    write(root, "apps/old.yaml", &deployment("old", "nginx:latest"));
    let report = check_common::check_json(root, &[]).json;
    assert_eq!(
        findings(&report, root, "image/latest-tag"),
        triples(&[("image/latest-tag", "note", "apps/old.yaml")]),
        "{report:#}"
    );
}

#[test]
fn a_folder_with_two_kustomization_files_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "app/kustomization.yaml", "resources: [web.yaml]\n");
    write(root, "app/Kustomization", "resources: [web.yaml]\n");
    write(root, "app/web.yaml", &deployment("web", "nginx:1.27"));
    let report = check_common::check_json(root, &[]).json;
    assert_eq!(
        findings(&report, root, "kustomize/multiple-kustomizations"),
        triples(&[(
            "kustomize/multiple-kustomizations",
            "error",
            "app/kustomization.yaml"
        )]),
        "{report:#}"
    );
    let message = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "kustomize/multiple-kustomizations")
        .and_then(|d| d["message"].as_str())
        .unwrap_or("");
    assert!(
        message.contains("`kustomization.yaml`") && message.contains("`Kustomization`"),
        "{message}"
    );
}
