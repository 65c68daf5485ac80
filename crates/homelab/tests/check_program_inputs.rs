//! `homelab check` on files that a program reads rather than a cluster applies (issue 18):
//! a Go `testdata` folder, a committed Python environment, a Taskfile that includes a
//! folder named after a password manager, a manifest a script completes with `sed`, a CRD
//! trimmed for a project's tests. Each test is a small repository of its own that
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

/// A `testdata` folder holds a program's test inputs (here: manifests a CI linter must
/// reject): one note for the folder, nothing in it checked. A kustomization outside the
/// folder that deploys one of its files keeps that file checked; a kustomization inside the
/// folder deploys nothing.
#[test]
fn a_testdata_folder_holds_test_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "go.mod", "module example.com/lint\n\ngo 1.22\n");
    // Broken on purpose: no selector, a latest tag.
    write(
        root,
        "pkg/lint/testdata/invalid/no-selector.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: app:latest}]\n",
    );
    write(
        root,
        "pkg/lint/testdata/kustomization.yaml",
        "resources: [invalid/no-selector.yaml]\n",
    );
    // Deployed from outside the folder: checked.
    write(
        root,
        "pkg/render/testdata/shared.yaml",
        &deployment("shared", "shared:latest"),
    );
    write(
        root,
        "deploy/kustomization.yaml",
        "resources: [../pkg/render/testdata/shared.yaml]\n",
    );
    let all = diagnostics(root);
    let mut files: Vec<String> = problems(&all).into_iter().map(|(_, f)| f).collect();
    files.sort();
    files.dedup();
    assert_eq!(files, ["pkg/render/testdata/shared.yaml"], "{all:#?}");
    assert!(
        all.iter().any(|d| d.rule == "load/test-fixtures"
            && d.severity == "note"
            && d.file == "pkg/lint/testdata"
            && d.message.contains("testdata")),
        "{all:#?}"
    );
    // The same broken Deployment outside a `testdata` folder is judged.
    write(
        root,
        "apps/no-selector.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: app:latest}]\n",
    );
    let all = diagnostics(root);
    assert!(
        problems(&all)
            .iter()
            .any(|(r, f)| r == "schema/required" && f == "apps/no-selector.yaml"),
        "{all:#?}"
    );
}

/// A PEM key under a committed Python environment (`venv/lib/python3.x/site-packages/`) is
/// a test key of the package installed there: a note. The same key in the repository's own
/// file stays an error.
#[test]
fn keys_inside_a_committed_python_environment_are_the_packages_own() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oSnRm8Qa7sr7oAoGCCqGSM49\nAwEHoUQDQgAEVv3Zc+3WPGDYnXGN0V+JnQ9xX4dRk7Ph6yN2lS2ERcLnyW8bbRs1\n-----END EC PRIVATE KEY-----\n";
    write(
        root,
        "apps/api/venv/lib/python3.9/site-packages/ecdsa/test_keys.py",
        &format!("PEM = \"\"\"\n{pem}\"\"\"\n"),
    );
    write(root, "apps/api/deploy/key.pem", pem);
    let all = diagnostics(root);
    let leaked: Vec<(&str, &str)> = all
        .iter()
        .filter(|d| d.rule == "secrets/leaked-credential")
        .map(|d| (d.file.as_str(), d.severity.as_str()))
        .collect();
    assert!(
        leaked.contains(&(
            "apps/api/venv/lib/python3.9/site-packages/ecdsa/test_keys.py",
            "note"
        )),
        "{all:#?}"
    );
    assert!(
        leaked.contains(&("apps/api/deploy/key.pem", "error")),
        "{all:#?}"
    );
}

/// A value under a key named like a credential that names a folder of the repository
/// relative to its file (a Taskfile including `.taskfiles/1password`) is a path. A random
/// value under the same key, or a path that does not exist, is judged as usual.
#[test]
fn a_value_that_names_a_folder_of_the_repository_is_a_path() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "Taskfile.yaml",
        "version: '3'\nincludes:\n  1password: .taskfiles/1password\n  flux: .taskfiles/flux\n",
    );
    write(
        root,
        ".taskfiles/1password/Taskfile.yaml",
        "version: '3'\ntasks:\n  push:\n    cmds: [echo push]\n",
    );
    write(
        root,
        ".taskfiles/flux/Taskfile.yaml",
        "version: '3'\ntasks:\n  sync:\n    cmds: [echo sync]\n",
    );
    write(
        root,
        "tools/config.yaml",
        "1password: .taskfiles/1passwordQ8z3Vx\napi_token: Zq8vN2xLp4Rt7WmK9sYb\n",
    );
    let all = diagnostics(root);
    let mut leaked: Vec<(String, u32)> = all
        .iter()
        .filter(|d| d.rule == "secrets/leaked-credential" && d.severity == "error")
        .map(|d| (d.file.clone(), d.line))
        .collect();
    leaked.sort();
    assert_eq!(
        leaked,
        [
            ("tools/config.yaml".to_string(), 1),
            ("tools/config.yaml".to_string(), 2)
        ],
        "{all:#?}"
    );
}

/// A `__NAME__` token that a script substitutes with `sed` (`port: __PORT__`) is a value not
/// known yet: no schema judges it. A wrong literal beside it stays an error.
#[test]
fn a_token_a_script_substitutes_is_not_judged_by_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let slice = |port: &str| {
        format!("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: local\n  labels:\n    kubernetes.io/service-name: local\naddressType: IPv4\nports:\n  - port: {port}\n    protocol: TCP\nendpoints:\n  - addresses:\n      - \"__HOST_IP__\"\n")
    };
    write(root, "local/endpointslice.yaml", &slice("__PORT__"));
    write(root, "other/endpointslice.yaml", &slice("http"));
    let all = diagnostics(root);
    let found = problems(&all);
    assert_eq!(
        found,
        [(
            "schema/type".to_string(),
            "other/endpointslice.yaml".to_string()
        )],
        "{all:#?}"
    );
}

/// A CustomResourceDefinition with only the given spec fields (`spec.properties`).
fn crd(group: &str, kind: &str, plural: &str, fields: &[&str]) -> String {
    let props: String = fields
        .iter()
        .map(|f| format!("                    {f}: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"))
        .collect();
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.{group}\nspec:\n  group: {group}\n  names: {{kind: {kind}, plural: {plural}, singular: {}}}\n  scope: Namespaced\n  versions:\n    - name: v1alpha1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n            spec:\n              type: object\n              properties:\n{props}",
        kind.to_lowercase()
    )
}

/// A CRD kept with a project's tests (`test/external_crds/`, trimmed to the fields envtest
/// needs) does not replace the embedded schema of its kind: an Argo CD Application with
/// `project` and `destination` stays valid. It still defines a kind nothing else knows, and
/// the same trimmed CRD outside a test folder is the repository's own and is used.
#[test]
fn a_crd_kept_with_the_tests_does_not_replace_a_known_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "test/external_crds/argoproj.io_applications.yaml",
        &crd("argoproj.io", "Application", "applications", &["source"]),
    );
    write(
        root,
        "test/external_crds/example.org_widgets.yaml",
        &crd("example.org", "Widget", "widgets", &["size"]),
    );
    write(
        root,
        "demo/app.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: demo\n  namespace: argocd\nspec:\n  project: default\n  destination: {server: https://kubernetes.default.svc, namespace: demo}\n  source: {repoURL: https://github.com/example/demo.git, path: app, targetRevision: v1.2.0}\n",
    );
    write(
        root,
        "demo/widget.yaml",
        "apiVersion: example.org/v1alpha1\nkind: Widget\nmetadata:\n  name: w\n  namespace: demo\nspec:\n  size: {}\n  colour: red\n",
    );
    let all = diagnostics(root);
    assert_eq!(
        problems(&all),
        [(
            "schema/unknown-field".to_string(),
            "demo/widget.yaml".to_string()
        )],
        "{all:#?}"
    );
    // Outside a test folder the trimmed CRD is the repository's own: it is used.
    std::fs::create_dir_all(root.join("crds")).unwrap();
    std::fs::rename(
        root.join("test/external_crds/argoproj.io_applications.yaml"),
        root.join("crds/argoproj.io_applications.yaml"),
    )
    .unwrap();
    let all = diagnostics(root);
    assert!(
        problems(&all)
            .iter()
            .any(|(r, f)| r == "schema/unknown-field" && f == "demo/app.yaml"),
        "{all:#?}"
    );
}
