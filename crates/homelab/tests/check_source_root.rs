//! `homelab check` on a repository that keeps an old Flux tree in a subfolder (issue 18):
//! Flux resolves the paths of a Git source from the repository's root, so a tree whose paths
//! lead somewhere only from its own subfolder (`previous/` holding `./cluster/apps`) is never
//! applied through them. Where the checked folder is known to be the root, that tree is set
//! aside with a note; where it is not known, and when the subfolder itself is checked, it is
//! judged as before.

mod check_common;

use check_common::write_file as write;
use serde_json::Value;
use std::path::Path;

const URL: &str = "https://github.com/me/home-ops";

/// A Deployment whose image has the `latest` tag: the finding these tests follow.
fn deployment(name: &str) -> String {
    check_common::deployment(name, "nginx:latest")
}

/// A Flux sync of this repository: its GitRepository and the Kustomization applying `path`.
fn sync(url: &str, path: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: flux-system, namespace: flux-system}}
spec:
  interval: 1m
  ref: {{branch: main}}
  url: {url}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: flux-system, namespace: flux-system}}
spec:
  interval: 10m
  path: {path}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
"
    )
}

fn flux_kustomization(name: &str, path: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec:
  interval: 10m
  path: {path}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
"
    )
}

/// The old tree, as it was when `previous/` was the root: its own sync (`./cluster/base`,
/// with `.git` suffix on the same address), an apps Kustomization (`./cluster/apps`), and
/// under the apps folder one listed Deployment and one folder its kustomization left out.
fn write_archive(root: &Path) {
    write(
        root,
        "previous/cluster/base/flux-system/gotk-sync.yaml",
        &sync(&format!("{URL}.git"), "./cluster/base"),
    );
    write(
        root,
        "previous/cluster/base/flux-system/kustomization.yaml",
        "resources: [gotk-sync.yaml]\n",
    );
    write(
        root,
        "previous/cluster/base/apps.yaml",
        &flux_kustomization("apps", "./cluster/apps"),
    );
    write(
        root,
        "previous/cluster/apps/kustomization.yaml",
        "resources: [old.yaml]\n",
    );
    write(root, "previous/cluster/apps/old.yaml", &deployment("old"));
    write(
        root,
        "previous/cluster/apps/retired/kustomization.yaml",
        "resources: [retired.yaml]\n",
    );
    write(
        root,
        "previous/cluster/apps/retired/retired.yaml",
        &deployment("retired"),
    );
}

/// The live tree: `flux bootstrap`'s sync of `./kubernetes/flux`, which applies
/// `./kubernetes/apps`.
fn write_live(root: &Path) {
    write(
        root,
        "kubernetes/flux/gotk-sync.yaml",
        &sync(URL, "./kubernetes/flux"),
    );
    write(
        root,
        "kubernetes/flux/kustomization.yaml",
        "resources: [gotk-sync.yaml, apps.yaml]\n",
    );
    write(
        root,
        "kubernetes/flux/apps.yaml",
        &flux_kustomization("apps", "./kubernetes/apps"),
    );
    write(
        root,
        "kubernetes/apps/kustomization.yaml",
        "resources: [web.yaml]\n",
    );
    write(root, "kubernetes/apps/web.yaml", &deployment("web"));
}

/// (severity, file path from the checked folder) of every `rule` finding.
fn of_rule(report: &Value, checked: &Path, rule: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = check_common::diagnostics(report, checked)
        .into_iter()
        .filter(|d| d.rule == rule)
        .map(|d| (d.severity, d.file))
        .collect();
    out.sort();
    out
}

fn check(dir: &Path) -> Value {
    check_common::check_json(dir, &[]).json
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn an_old_flux_tree_whose_paths_exist_only_from_its_subfolder_is_not_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_live(root);
    write_archive(root);
    let report = check(root);
    assert_eq!(
        of_rule(&report, root, "image/latest-tag"),
        pairs(&[
            ("error", "kubernetes/apps/web.yaml"),
            ("note", "previous/cluster/apps/old.yaml"),
            ("note", "previous/cluster/apps/retired/retired.yaml"),
        ]),
        "{report:#}"
    );
    let why: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["rule"] == "load/not-applied"
                && d["location"]["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("previous/cluster/apps/old.yaml"))
        })
        .filter_map(|d| d["facts"][0].as_str())
        .collect();
    assert_eq!(why.len(), 1, "{report:#}");
    for needle in [
        "`apps` in `previous/cluster/base/apps.yaml`",
        "`./cluster/apps`",
        "`previous/cluster/apps`",
        "kubernetes/flux/gotk-sync.yaml",
    ] {
        assert!(why[0].contains(needle), "{needle} not in {}", why[0]);
    }

    // Checked on its own, the subfolder is the root its paths were written for: judged.
    let archive = root.join("previous");
    let report = check(&archive);
    assert_eq!(
        of_rule(&report, &archive, "image/latest-tag"),
        pairs(&[
            ("error", "cluster/apps/old.yaml"),
            ("error", "cluster/apps/retired/retired.yaml"),
        ]),
        "{report:#}"
    );
}

#[test]
fn without_knowing_the_root_the_old_tree_is_judged_and_a_git_work_tree_top_is_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The live tree is plain kustomize: no Flux sync says where the root is.
    write(root, "apps/kustomization.yaml", "resources: [web.yaml]\n");
    write(root, "apps/web.yaml", &deployment("web"));
    write_archive(root);
    let all_errors = pairs(&[
        ("error", "apps/web.yaml"),
        ("error", "previous/cluster/apps/old.yaml"),
        ("error", "previous/cluster/apps/retired/retired.yaml"),
    ]);
    let report = check(root);
    assert_eq!(
        of_rule(&report, root, "image/latest-tag"),
        all_errors,
        "{report:#}"
    );

    // The top of a git work tree is the root of its Git sources.
    std::fs::create_dir(root.join(".git")).unwrap();
    let report = check(root);
    assert_eq!(
        of_rule(&report, root, "image/latest-tag"),
        pairs(&[
            ("error", "apps/web.yaml"),
            ("note", "previous/cluster/apps/old.yaml"),
            ("note", "previous/cluster/apps/retired/retired.yaml"),
        ]),
        "{report:#}"
    );

    // A subfolder that is the top of a work tree of its own (a submodule) is the root of
    // the paths of the files in it.
    std::fs::write(
        root.join("previous/.git"),
        "gitdir: ../.git/modules/previous\n",
    )
    .unwrap();
    let report = check(root);
    assert_eq!(
        of_rule(&report, root, "image/latest-tag"),
        all_errors,
        "{report:#}"
    );
}
