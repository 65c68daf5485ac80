//! `homelab check --kustomize`: kustomization roots judged as `kubectl kustomize` builds them,
//! findings mapped back to the lines that produce them, and roots that would reach outside the
//! repository (remote bases, paths or symlinks out of it, Helm inflation) not built.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn check(dir: &Path, extra: &[&str]) -> Value {
    let out = Command::cargo_bin("homelab")
        .unwrap()
        .arg("check")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// (rule, file relative to `root`, line, message) of every finding.
fn findings(report: &Value, root: &Path) -> Vec<(String, String, u64, String)> {
    let root = root.to_string_lossy().to_string();
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let file = d["location"]["file"].as_str().unwrap_or("");
            (
                d["rule"].as_str().unwrap_or("").to_string(),
                file.strip_prefix(&root)
                    .unwrap_or(file)
                    .trim_start_matches('/')
                    .to_string(),
                d["location"]["line"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn kubectl(test: &str) -> bool {
    homelab_testkit::require_tool(test, "kubectl", &["version", "--client"])
}

const BASE_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
";

/// An overlay with `namePrefix`, `namespace`, a component and a patch: the patch's `latest`
/// tag is found at the patch's line, the field the patch adds (`selector`) is not missing,
/// the component's misspelt field is found in the component's file, and the generated
/// ConfigMap is there. Without `--kustomize` the patch is only a partial object.
#[test]
fn overlays_are_judged_as_built_with_findings_at_their_source_lines() {
    if !kubectl("overlays_are_judged_as_built_with_findings_at_their_source_lines") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "base/kustomization.yaml",
        "resources: [deployment.yaml]\n",
    );
    write(root, "base/deployment.yaml", BASE_DEPLOYMENT);
    write(
        root,
        "components/svc/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [service.yaml]\n",
    );
    write(
        root,
        "components/svc/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n  sessionAfinity: None\n",
    );
    write(
        root,
        "overlays/prod/kustomization.yaml",
        "namePrefix: prod-\nnamespace: prod\nresources: [../../base]\ncomponents: [../../components/svc]\npatches:\n  - path: image.yaml\nconfigMapGenerator:\n  - name: settings\n    literals: [mode=prod]\n",
    );
    write(
        root,
        "overlays/prod/image.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n",
    );
    let report = check(root, &["--kustomize"]);
    let all = findings(&report, root);
    let at = |rule: &str| -> Vec<(String, u64, String)> {
        all.iter()
            .filter(|(r, _, _, _)| r == rule)
            .map(|(_, f, l, m)| (f.clone(), *l, m.clone()))
            .collect()
    };
    let latest = at("image/latest-tag");
    assert_eq!(latest.len(), 1, "{all:#?}");
    assert_eq!(latest[0].0, "overlays/prod/image.yaml", "{all:#?}");
    assert_eq!(latest[0].1, 12, "{all:#?}");
    assert!(
        latest[0].2.contains("as built by kustomize from")
            && latest[0].2.contains("overlays/prod/kustomization.yaml"),
        "{latest:?}"
    );
    let unknown = at("schema/unknown-field");
    assert_eq!(unknown.len(), 1, "{all:#?}");
    assert_eq!(
        (unknown[0].0.as_str(), unknown[0].1),
        ("components/svc/service.yaml", 7),
        "{all:#?}"
    );
    // The base alone lacks `selector`; the built object has it from the patch.
    assert!(at("schema/required").is_empty(), "{all:#?}");
    let built = at("kustomize/built");
    assert_eq!(built.len(), 1, "{all:#?}");
    assert!(built[0].2.contains("3 objects"), "{built:?}");

    // Without --kustomize the patch is a partial object and the base lacks its selector.
    let plain = findings(&check(root, &[]), root);
    assert!(
        !plain
            .iter()
            .any(|(r, f, _, _)| r == "image/latest-tag" && f.ends_with("image.yaml")),
        "{plain:#?}"
    );
}

/// Roots that reach outside the repository are not built (and nothing is fetched): a remote
/// base, a path above the repository, a symlinked folder that leaves it, Helm inflation.
/// Each is a `kustomize/not-built` note naming why; its files keep the file-by-file judgement.
#[test]
fn roots_that_reach_outside_the_repository_are_not_built() {
    if !kubectl("roots_that_reach_outside_the_repository_are_not_built") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    write(&outside, "kustomization.yaml", "resources: [secret.yaml]\n");
    write(
        &outside,
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: host-secret}\nstringData: {password: from-the-host}\n",
    );
    let root = tmp.path().join("repo");
    write(
        &root,
        "remote/kustomization.yaml",
        "resources:\n  - https://github.com/example/app//deploy?ref=v1\n  - deployment.yaml\n",
    );
    write(&root, "remote/deployment.yaml", BASE_DEPLOYMENT);
    write(
        &root,
        "above/kustomization.yaml",
        "resources: [../../outside]\n",
    );
    write(
        &root,
        "helm/kustomization.yaml",
        "helmCharts:\n  - name: podinfo\n    repo: https://stefanprodan.github.io/podinfo\n    version: 6.0.0\n",
    );
    write(
        &root,
        "linked/kustomization.yaml",
        "resources: [../escape]\n",
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();

    let report = check(&root, &["--kustomize"]);
    let all = findings(&report, &root);
    let not_built: Vec<&(String, String, u64, String)> = all
        .iter()
        .filter(|(r, _, _, _)| r == "kustomize/not-built")
        .collect();
    for (folder, why) in [
        ("remote/", "remote"),
        ("above/", "outside the repository"),
        ("helm/", "Helm"),
        #[cfg(unix)]
        ("linked/", "outside the repository"),
    ] {
        assert!(
            not_built
                .iter()
                .any(|(_, f, _, m)| f.starts_with(folder) && m.contains(why)),
            "{folder}: {all:#?}"
        );
    }
    assert!(
        !all.iter().any(|(r, _, _, _)| r == "kustomize/built"),
        "{all:#?}"
    );
    // Nothing of the host's folder reached the report.
    let text = report.to_string();
    assert!(!text.contains("host-secret"), "{text}");
    // The remote root's own file is still judged (file by file): its missing selector.
    assert!(
        all.iter()
            .any(|(r, f, _, _)| r == "schema/required" && f == "remote/deployment.yaml"),
        "{all:#?}"
    );
}

/// A kubectl that cannot be found is a usage error, not a silent fallback.
#[test]
fn a_missing_kubectl_is_an_error_when_building_was_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "kustomization.yaml", "resources: []\n");
    let out = Command::cargo_bin("homelab")
        .unwrap()
        .arg("check")
        .arg(tmp.path())
        .args(["--kubectl", "/nonexistent/kubectl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
