//! `homelab check` judges what the repository applies (issue 18): in a repository with a
//! deploy graph (kustomizations, Flux, Argo CD), a file that nothing applies (left out of
//! its kustomization, switched off in a comment, in an `.archive/` folder) is not judged as
//! an object to apply; a repository of plain folders applied by hand is judged in full.

mod check_common;

use check_common::write_file as write;
use serde_json::Value;
use std::path::Path;

fn check(dir: &Path) -> Value {
    check_common::check_json(dir, &[]).json
}

/// (severity, rule, path relative to `dir`, message, facts) of every diagnostic.
fn all(report: &Value, dir: &Path) -> Vec<(String, String, String, String, String)> {
    check_common::diagnostics(report, dir)
        .into_iter()
        .map(|d| (d.severity, d.rule, d.file, d.message, d.facts))
        .collect()
}

fn problems_in(report: &Value, dir: &Path, file: &str) -> Vec<String> {
    all(report, dir)
        .into_iter()
        .filter(|(sev, _, f, _, _)| f == file && (sev == "error" || sev == "warning"))
        .map(|(_, rule, _, _, _)| rule)
        .collect()
}

const DEPLOYMENT_WITHOUT_SELECTOR: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: NAME\n  namespace: web\nspec:\n  template:\n    metadata:\n      labels: {app: NAME}\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/example/app:1.2.3\n          resources:\n            requests: {cpu: 10m, memory: 16Mi}\n            limits: {cpu: 100m, memory: 64Mi}\n";

fn deployment(name: &str, image: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: web\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - name: app\n          image: {image}\n          resources:\n            requests: {{cpu: 10m, memory: 16Mi}}\n            limits: {{cpu: 100m, memory: 64Mi}}\n")
}

fn flux_kustomization(name: &str, path: &str, complete: bool) -> String {
    let required = if complete {
        "  interval: 10m\n  prune: true\n"
    } else {
        ""
    };
    format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n{required}  path: {path}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
}

#[test]
fn files_nothing_applies_are_not_judged_as_objects_to_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The root, applied by hand at bootstrap: it applies the overlay.
    write(
        dir,
        "clusters/home/apps.yaml",
        &flux_kustomization("apps", "./apps/overlay", true),
    );
    write(
        dir,
        "apps/overlay/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/web/ks.yaml\n  # - ../base/gpu/ks.yaml  # switched off until the GPU node is back\n",
    );
    write(
        dir,
        "apps/base/web/ks.yaml",
        &flux_kustomization("web", "./apps/base/web/app", true),
    );
    write(
        dir,
        "apps/base/web/app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\npatches:\n  - path: patches/replicas.yaml\n",
    );
    write(
        dir,
        "apps/base/web/app/patches/replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n",
    );
    // A patch nobody lists any more, beside one that is listed.
    write(
        dir,
        "apps/base/web/app/patches/unused.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
    );
    // Applied: its true finding stays.
    write(
        dir,
        "apps/base/web/app/deployment.yaml",
        &deployment("web", "ghcr.io/example/web:latest"),
    );
    // A leftover beside the kustomization that does not list it.
    write(
        dir,
        "apps/base/web/app/old-deployment.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "old"),
    );
    // Switched off in the overlay: the Flux Kustomization and what it would apply.
    write(
        dir,
        "apps/base/gpu/ks.yaml",
        &flux_kustomization("gpu", "./apps/base/gpu/app", false),
    );
    write(
        dir,
        "apps/base/gpu/app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n",
    );
    write(
        dir,
        "apps/base/gpu/app/deployment.yaml",
        &deployment("gpu", "ghcr.io/example/gpu:latest"),
    );
    // An archive folder: its objects are not judged, its leaked password still is.
    write(
        dir,
        ".archive/old-app/ks.yaml",
        &flux_kustomization("old-app", "./apps/base/old-app/app", false),
    );
    write(
        dir,
        ".archive/old-app/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: old-app\n  namespace: web\nstringData:\n  password: Zq8vN3rTq1xL0pWc\n",
    );
    // Listed by a kustomization, but one in the archive.
    write(
        dir,
        ".archive/old-app/app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n",
    );
    write(
        dir,
        ".archive/old-app/app/deployment.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "archived"),
    );
    // Beside a kustomization that does not list it, but a script of the repository applies
    // it by hand: judged.
    write(
        dir,
        "apps/base/manual/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    );
    write(
        dir,
        "apps/base/manual/job.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "manual"),
    );
    write(
        dir,
        "scripts/bootstrap.sh",
        "#!/bin/sh\nkubectl apply -f apps/base/manual/job.yaml\n",
    );

    let report = check(dir);
    let diagnostics = all(&report, dir);

    // What is applied is judged.
    assert_eq!(
        problems_in(&report, dir, "apps/base/web/app/deployment.yaml"),
        ["image/latest-tag"]
    );
    assert_eq!(
        problems_in(&report, dir, "apps/base/manual/job.yaml"),
        ["schema/required"],
        "a file a script applies by hand is judged: {diagnostics:#?}"
    );
    // What nothing applies is not, and says why.
    for (file, why) in [
        (
            "apps/base/web/app/old-deployment.yaml",
            "`apps/base/web/app/kustomization.yaml` in the same folder does not list it",
        ),
        (
            "apps/base/gpu/ks.yaml",
            "`apps/overlay/kustomization.yaml` lists `../base/gpu/ks.yaml` only in a comment (line 5): switched off",
        ),
        (
            "apps/base/gpu/app/deployment.yaml",
            "`apps/overlay/kustomization.yaml` lists `../base/gpu/ks.yaml` only in a comment (line 5)",
        ),
        (".archive/old-app/ks.yaml", "hidden folder `.archive/`"),
        (".archive/old-app/app/deployment.yaml", "hidden folder `.archive/`"),
        (
            "apps/base/web/app/patches/unused.yaml",
            "`apps/base/web/app/kustomization.yaml` lists 1 other file of `apps/base/web/app/patches/` one by one, not this one",
        ),
    ] {
        assert!(
            problems_in(&report, dir, file).is_empty(),
            "{file}: {diagnostics:#?}"
        );
        let note = diagnostics
            .iter()
            .find(|(_, rule, f, _, _)| rule == "load/not-applied" && f == file)
            .unwrap_or_else(|| panic!("no load/not-applied note on {file}: {diagnostics:#?}"));
        assert!(note.3.contains("applied by nothing in this repository"));
        assert!(note.4.contains(why), "{file}: {}", note.4);
    }
    // The findings are kept as notes, with the fact they now rely on.
    let set_aside: Vec<_> = diagnostics
        .iter()
        .filter(|(sev, rule, f, _, _)| {
            sev == "note" && rule == "schema/required" && f == "apps/base/gpu/ks.yaml"
        })
        .collect();
    assert_eq!(set_aside.len(), 2, "interval and prune: {diagnostics:#?}");
    assert!(set_aside[0]
        .3
        .contains("set aside: nothing in the repository applies this file"));
    assert!(set_aside[0].4.contains("only in a comment"));
    // A secret in git matters wherever it is.
    assert_eq!(
        problems_in(&report, dir, ".archive/old-app/secret.yaml"),
        ["secrets/plain-secret"]
    );
}

/// The app-of-apps applied by hand sits beside the kustomization that installs Argo CD and
/// is not listed by it: it applies the repository's apps, so it is a root, and judged.
#[test]
fn a_root_application_beside_a_kustomization_is_judged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "argocd/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\nresources:\n  - namespace.yaml\n",
    );
    write(
        dir,
        "argocd/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: argocd\n",
    );
    // No `project`: a true finding on the root.
    write(
        dir,
        "argocd/root.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: root\n  namespace: argocd\nspec:\n  source:\n    repoURL: https://example.com/home.git\n    targetRevision: v1.0.0\n    path: apps\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: argocd\n",
    );
    write(
        dir,
        "apps/web.yaml",
        &deployment("web", "ghcr.io/example/web:1.0.0"),
    );
    let report = check(dir);
    assert_eq!(
        problems_in(&report, dir, "argocd/root.yaml"),
        ["schema/required"],
        "{:#?}",
        all(&report, dir)
    );
    assert!(!all(&report, dir)
        .iter()
        .any(|(_, rule, _, _, _)| rule == "load/not-applied"));
}

/// Plain folders applied by hand with `kubectl apply -f`, hidden ones included: no deploy
/// graph, so every object is judged.
#[test]
fn plain_folders_without_a_deploy_graph_are_judged_in_full() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "manifests/web.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "web"),
    );
    write(
        dir,
        "manifests/extra/api.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "api"),
    );
    write(
        dir,
        ".staging/web.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "staging"),
    );
    let report = check(dir);
    for file in [
        "manifests/web.yaml",
        "manifests/extra/api.yaml",
        ".staging/web.yaml",
    ] {
        assert_eq!(
            problems_in(&report, dir, file),
            ["schema/required"],
            "{file}: {:#?}",
            all(&report, dir)
        );
    }
    assert!(!all(&report, dir)
        .iter()
        .any(|(_, rule, _, _, _)| rule == "load/not-applied"));
}

/// A kubeadm patch (named after the component it patches, in the patches directory a kind or
/// kubeadm configuration of the repository names) is merged into a static Pod by kubeadm, not
/// applied; the same file in a repository that configures no kubeadm patches is judged.
#[test]
fn kubeadm_patches_are_not_objects_to_apply() {
    let patch = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-controller-manager\n  namespace: kube-system\nspec:\n  containers:\n    - name: kube-controller-manager\n      image: registry.k8s.io/kube-controller-manager:latest\n";
    let kind_config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n    extraMounts:\n      - hostPath: ./patches\n        containerPath: /patches\nkubeadmConfigPatches:\n  - |\n    kind: ClusterConfiguration\n    patches:\n      directory: /patches\n";
    let with_kubeadm = tempfile::tempdir().unwrap();
    write(with_kubeadm.path(), "e2e/kind/config.yml", kind_config);
    write(
        with_kubeadm.path(),
        "e2e/kind/patches/kube-controller-manager.yaml",
        patch,
    );
    let report = check(with_kubeadm.path());
    assert!(
        problems_in(
            &report,
            with_kubeadm.path(),
            "e2e/kind/patches/kube-controller-manager.yaml"
        )
        .is_empty(),
        "{:#?}",
        all(&report, with_kubeadm.path())
    );
    assert!(all(&report, with_kubeadm.path())
        .iter()
        .any(|(_, rule, _, message, facts)| rule == "load/kubeadm-patch"
            && message.starts_with("kubeadm patch file: kubeadm merges it")
            && facts.contains("named like a kubeadm patch")));
    // Not claimed to be applied by nothing: kubeadm uses it.
    assert!(!all(&report, with_kubeadm.path())
        .iter()
        .any(|(_, rule, _, message, _)| rule == "load/not-applied"
            || message.contains("applied by nothing")
            || message.contains("nothing in the repository applies")));

    let without = tempfile::tempdir().unwrap();
    write(
        without.path(),
        "e2e/kind/patches/kube-controller-manager.yaml",
        patch,
    );
    let report = check(without.path());
    assert_eq!(
        problems_in(
            &report,
            without.path(),
            "e2e/kind/patches/kube-controller-manager.yaml"
        ),
        ["image/latest-tag"]
    );
}

/// A Flux repository whose root Kustomization gives its child Kustomizations their
/// `interval` and `prune` through `spec.patches`, and whose base folders hold a Flux
/// Kustomization that no kustomization lists (a leftover).
fn flux_tree_with_defaults(dir: &Path) {
    write(
        dir,
        "clusters/home/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 30m\n  prune: true\n  path: ./apps/overlay\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  patches:\n    - patch: |-\n        apiVersion: kustomize.toolkit.fluxcd.io/v1\n        kind: Kustomization\n        metadata:\n          name: _\n        spec:\n          interval: 30m\n          prune: true\n      target:\n        group: kustomize.toolkit.fluxcd.io\n        kind: Kustomization\n",
    );
    write(
        dir,
        "apps/overlay/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/security\n  - ../base/security/web/ks.yaml\n",
    );
    write(
        dir,
        "apps/base/security/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n",
    );
    write(
        dir,
        "apps/base/security/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
    );
    for app in ["web", "falco"] {
        write(
            dir,
            &format!("apps/base/security/{app}/ks.yaml"),
            &flux_kustomization(app, &format!("./apps/base/security/{app}/app"), false),
        );
        write(
            dir,
            &format!("apps/base/security/{app}/app/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n",
        );
        write(
            dir,
            &format!("apps/base/security/{app}/app/deployment.yaml"),
            &deployment(app, "ghcr.io/example/app:1.2.3"),
        );
    }
    // A template a script applies: not listed by any kustomization, but applied.
    write(
        dir,
        "apps/base/security/scripts/templates/WipeJob.tmpl.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: wipe-${APP}\n  namespace: web\nspec:\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n        - name: wipe\n          image: busybox:latest\n          resources:\n            requests: {cpu: 10m, memory: 16Mi}\n            limits: {cpu: 100m, memory: 64Mi}\n",
    );
    write(
        dir,
        "apps/base/security/scripts/restore.sh",
        "#!/bin/sh\nTEMPLATES_DIR=\"$(dirname \"$0\")/templates\"\nenvsubst < \"${TEMPLATES_DIR}/WipeJob.tmpl.yaml\" | kubectl apply -f -\n",
    );
}

#[test]
fn a_flux_kustomization_no_kustomization_lists_in_an_applied_tree_is_not_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    flux_tree_with_defaults(dir);
    let report = check(dir);
    let everything = all(&report, dir);
    // The listed child gets `interval` and `prune` from its parent's patches.
    assert!(
        problems_in(&report, dir, "apps/base/security/web/ks.yaml").is_empty(),
        "{everything:#?}"
    );
    // The unlisted one is applied by nothing: its missing fields are notes, with the reason.
    assert!(
        problems_in(&report, dir, "apps/base/security/falco/ks.yaml").is_empty(),
        "{everything:#?}"
    );
    assert!(
        everything.iter().any(|(sev, rule, file, _, facts)| sev == "note"
            && rule == "schema/required"
            && file == "apps/base/security/falco/ks.yaml"
            && facts.contains("`apps/base/security/kustomization.yaml`, which `clusters/home/apps.yaml` applies, does not reach it")),
        "{everything:#?}"
    );
    // The script's template is applied (by the script) and judged.
    assert_eq!(
        problems_in(
            &report,
            dir,
            "apps/base/security/scripts/templates/WipeJob.tmpl.yaml"
        ),
        ["image/latest-tag"],
        "{everything:#?}"
    );
}

#[test]
fn an_engine_path_made_of_variables_keeps_unlisted_files_judged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    flux_tree_with_defaults(dir);
    // `${APP}` may name `apps/base/security/falco`: nothing says the file is left out.
    write(
        dir,
        "clusters/home/per-app.yaml",
        &flux_kustomization("per-app", "./apps/base/security/${APP}", true),
    );
    let report = check(dir);
    assert_eq!(
        problems_in(&report, dir, "apps/base/security/falco/ks.yaml"),
        ["schema/required", "schema/required"],
        "{:#?}",
        all(&report, dir)
    );
}

/// A Flux Kustomization built from another repository's source (a GitRepository of the
/// Gateway API CRDs, without `path`) applies that repository's root, not this one's: it
/// does not make this repository's `.archive/` applied. An archived Flux Kustomization
/// whose path leads into the archive is archived with what it applies.
#[test]
fn sources_of_other_repositories_and_archived_roots_apply_nothing_here() {
    // The repository's own source: the `flux-system` one of `flux bootstrap`, or any name
    // when the sync Kustomization built from it applies its own file.
    for own in ["flux-system", "home-ops"] {
        sources_of_other_repositories_apply_nothing_here(own);
    }
}

fn sources_of_other_repositories_apply_nothing_here(own: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "clusters/home/flux-system/gotk-sync.yaml",
        &"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: OWN\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: ssh://git@github.com/example/home-ops.git\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster\n  namespace: flux-system\nspec:\n  interval: 1h\n  prune: true\n  path: ./clusters/home\n  sourceRef:\n    kind: GitRepository\n    name: OWN\n".replace("OWN", own),
    );
    write(
        dir,
        "clusters/home/gateway-api.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: gateway-api\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://github.com/kubernetes-sigs/gateway-api\n  ref:\n    tag: v1.2.1\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: gateway-api\n  namespace: flux-system\nspec:\n  interval: 1h\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: gateway-api\n",
    );
    write(
        dir,
        ".archive/apps/old/ks.yaml",
        &flux_kustomization("old", "./.archive/apps/old/app", false),
    );
    write(
        dir,
        ".archive/apps/old/app/deployment.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "old"),
    );
    let report = check(dir);
    let everything = all(&report, dir);
    for file in [
        ".archive/apps/old/ks.yaml",
        ".archive/apps/old/app/deployment.yaml",
    ] {
        assert!(
            problems_in(&report, dir, file).is_empty(),
            "{own}: {file}: {everything:#?}"
        );
        assert!(
            everything
                .iter()
                .any(|(_, rule, f, _, _)| rule == "load/not-applied" && f == file),
            "{own}: {file}: {everything:#?}"
        );
    }
}

/// An entry switched off in a comment shares a base with the live entries (an
/// ApplicationSet whose generator path is a placeholder that each entry's kustomize patch
/// replaces): the base, and what the live entries apply, stay judged.
#[test]
fn a_switched_off_entry_does_not_switch_off_what_it_shares_with_live_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "appsets/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - live\n  # - testing\n",
    );
    for name in ["live", "testing"] {
        write(
            dir,
            &format!("appsets/{name}/kustomization.yaml"),
            &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base-appset.yaml\npatches:\n  - target:\n      kind: ApplicationSet\n      name: PLACEHOLDER\n    patch: |-\n      - op: replace\n        path: /spec/generators/0/git/files/0/path\n        value: manifests/{name}/*/config.yaml\n"),
        );
    }
    write(
        dir,
        "appsets/base-appset.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: PLACEHOLDER\n  namespace: argocd\nspec:\n  goTemplate: true\n  generators:\n    - git:\n        repoURL: https://github.com/example/k8s.git\n        revision: HEAD\n        files:\n          - path: PATH_PLACEHOLDER\n  template:\n    metadata:\n      name: '{{index .path.segments 2}}'\n    spec:\n      project: default\n      source:\n        repoURL: https://github.com/example/k8s.git\n        targetRevision: HEAD\n        path: '{{.path.path}}'\n      destination:\n        server: https://kubernetes.default.svc\n",
    );
    write(dir, "manifests/live/web/config.yaml", "syncWave: \"10\"\n");
    write(
        dir,
        "manifests/live/web/deployment.yaml",
        &deployment("web", "ghcr.io/example/web:latest"),
    );
    let report = check(dir);
    assert_eq!(
        problems_in(&report, dir, "manifests/live/web/deployment.yaml"),
        ["image/latest-tag"],
        "{:#?}",
        all(&report, dir)
    );
    assert!(!all(&report, dir)
        .iter()
        .any(|(_, rule, file, _, _)| rule == "load/not-applied"
            && (file.starts_with("manifests/live") || file == "appsets/base-appset.yaml")));
}

/// A document that names a file by its path from the root (`clusters/home/flux/ks.yaml`)
/// names that file, and a shorter path that several files end with (`flux/ks.yaml`, one per
/// cluster) names none of them: an archived cluster under a hidden folder, and the old tree
/// it applies, stay applied by nothing.
#[test]
fn a_path_a_document_names_is_not_its_archived_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "clusters/home/flux/ks.yaml",
        &flux_kustomization("apps", "./apps", true),
    );
    write(
        dir,
        "apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\n",
    );
    write(
        dir,
        "apps/web.yaml",
        &deployment("web", "ghcr.io/example/web:1.0.0"),
    );
    write(
        dir,
        ".archive/clusters/old/flux/ks.yaml",
        &flux_kustomization("old", "./clusters/old/apps", true),
    );
    write(
        dir,
        ".archive/clusters/old/apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - old.yaml\n",
    );
    write(
        dir,
        ".archive/clusters/old/apps/old.yaml",
        &DEPLOYMENT_WITHOUT_SELECTOR.replace("NAME", "old"),
    );
    write(
        dir,
        "README.md",
        "Each cluster has its own `flux/ks.yaml`. Bootstrap with `kubectl apply -f clusters/home/flux/ks.yaml`.\n",
    );
    let report = check(dir);
    let diagnostics = all(&report, dir);
    for file in [
        ".archive/clusters/old/flux/ks.yaml",
        ".archive/clusters/old/apps/old.yaml",
    ] {
        assert!(
            problems_in(&report, dir, file).is_empty(),
            "{file}: {diagnostics:#?}"
        );
        assert!(
            diagnostics
                .iter()
                .any(|(_, rule, f, _, _)| rule == "load/not-applied" && f == file),
            "{file}: {diagnostics:#?}"
        );
    }
    assert!(
        !diagnostics
            .iter()
            .any(|(_, rule, f, _, _)| rule == "load/not-applied"
                && (f == "clusters/home/flux/ks.yaml" || f == "apps/web.yaml")),
        "{diagnostics:#?}"
    );
}

/// A kustomize base that no overlay lists and no engine applies, in a repository that Flux
/// applies (an app removed from every cluster leaves its base behind): not applied, its
/// findings are notes. A base an overlay lists is judged, and so is an unlisted base a
/// script applies by its folder, and so are the bases of a folder that no overlay builds
/// from (applied directly). A Flux Kustomization patch in a `patches` folder applies nothing
/// itself.
#[test]
fn a_base_no_overlay_builds_is_not_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let release = |name: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: {name}\n      sourceRef: {{kind: HelmRepository, name: charts}}\n")
    };
    write(
        root,
        "clusters/home/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/home\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    );
    write(
        root,
        "apps/home/kustomization.yaml",
        "resources:\n- ../base/web\n",
    );
    for app in ["web", "old", "manual"] {
        write(
            root,
            &format!("apps/base/{app}/kustomization.yaml"),
            "resources:\n- helmrelease.yaml\n",
        );
        write(
            root,
            &format!("apps/base/{app}/helmrelease.yaml"),
            &release(app),
        );
    }
    write(
        root,
        "scripts/install.sh",
        "#!/bin/sh\nkubectl apply -k apps/base/manual\n",
    );
    // A patch for the cluster's Flux Kustomization, which a local bootstrap script merges:
    // without `path` it applies nothing on its own (not the repository's root).
    write(
        root,
        "local/patches/apps/no-redirect.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  patches:\n  - target: {kind: HelmRelease}\n    patch: |\n      - {op: add, path: /spec/suspend, value: true}\n",
    );
    // A catalog whose bases no overlay builds: each is applied directly (`kubectl apply -k`).
    write(
        root,
        "catalog/base/htpasswd/kustomization.yaml",
        "resources:\n- helmrelease.yaml\n",
    );
    write(
        root,
        "catalog/base/htpasswd/helmrelease.yaml",
        &release("htpasswd"),
    );
    // ...also where an overlay builds the base folder's own kustomization (one base, not a
    // folder of them).
    write(
        root,
        "catalog/base/kustomization.yaml",
        "resources:\n- link.yaml\n",
    );
    write(
        root,
        "catalog/base/link.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: link\ndata:\n  url: https://example.org\n",
    );
    write(
        root,
        "catalog/overlays/dev/kustomization.yaml",
        "resources:\n- ../../base\n",
    );
    let out = check_common::check_json(root, &[]);
    let all = check_common::diagnostics(&out.json, root);
    let mut required: Vec<&str> = all
        .iter()
        .filter(|d| d.rule == "schema/required" && d.severity == "error")
        .map(|d| d.file.as_str())
        .collect();
    required.sort();
    required.dedup();
    assert_eq!(
        required,
        [
            "apps/base/manual/helmrelease.yaml",
            "apps/base/web/helmrelease.yaml",
            "catalog/base/htpasswd/helmrelease.yaml"
        ],
        "{all:#?}"
    );
    assert!(
        all.iter().any(|d| d.rule == "load/not-applied"
            && d.file == "apps/base/old/helmrelease.yaml"
            && d.message.contains("no overlay lists")),
        "{all:#?}"
    );
}
