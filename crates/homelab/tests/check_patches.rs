//! `homelab check` on patches (issue 18): a value a kustomize patch fills in is located
//! where the patch writes it; a file applied with `kubectl patch --patch-file` is a partial
//! object (field checks kept, whole-object checks set aside); one `argocd/sync-wave` finding
//! per workload and referenced object.

mod check_common;

use check_common::{line_of, write_file as write, Finding};
use std::path::Path;

fn findings(dir: &Path) -> (Vec<Finding>, serde_json::Value) {
    let out = check_common::check_json(dir, &[]);
    (out.findings, out.json)
}

const BASE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
";

/// An image that a kustomize patch adds (a strategic-merge file, JSON6902 operations in a
/// file, an inline patch) is reported at the patch's line, not at the base's.
#[test]
fn a_patched_image_is_located_at_the_patch() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "base/deployment.yaml", BASE);
    write(
        root,
        "base/kustomization.yaml",
        "resources:\n  - deployment.yaml\n",
    );
    let merge = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: debian
";
    write(root, "overlay/init.yaml", merge);
    let operations = "- op: add
  path: /spec/template/spec/containers/-
  value:
    name: sidecar
    image: busybox
";
    write(root, "overlay/sidecar.yaml", operations);
    let kustomization = "resources:
  - ../base
patches:
  - path: init.yaml
  - path: sidecar.yaml
    target: {kind: Deployment, name: web}
  - target: {kind: Deployment, name: web}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/-
        value: {name: debug, image: alpine}
";
    write(root, "overlay/kustomization.yaml", kustomization);

    let (found, _) = findings(root);
    let latest: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "image/latest-tag")
        .collect();
    let at = |image: &str| {
        latest
            .iter()
            .find(|f| f.message.contains(&format!("`{image}`")))
            .map(|f| (f.file.as_str(), f.line))
    };
    assert_eq!(
        at("debian"),
        Some((
            "overlay/init.yaml",
            line_of(merge, "image: debian", None).unwrap()
        )),
        "{latest:#?}"
    );
    assert_eq!(
        at("busybox"),
        Some((
            "overlay/sidecar.yaml",
            line_of(operations, "image: busybox", None).unwrap()
        )),
        "{latest:#?}"
    );
    // Inline: the line of the patch's text in the kustomization.
    assert_eq!(
        at("alpine"),
        Some((
            "overlay/kustomization.yaml",
            line_of(kustomization, "image: alpine", None).unwrap()
        )),
        "{latest:#?}"
    );
    // The base's own pinned image is not reported, and nothing is located in the base.
    assert!(
        latest.iter().all(|f| f.file != "base/deployment.yaml"),
        "{latest:#?}"
    );
}

const REPO_SERVER_PATCH: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
  namespace: argocd
spec:
  replicas: two
  template:
    spec:
      containers:
        - name: cmp
          image: alpine
          command: [/var/run/argocd/argocd-cmp-server]
";

/// A whole Deployment that lacks `selector` (applied with `kubectl apply -f`).
const NO_SELECTOR: &str = "apiVersion: apps/v1
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
          image: nginx:1.27.0
";

/// A file that a README or script applies with `kubectl patch` is a partial object: no
/// `schema/required` error (the live object holds what the patch leaves out), one note that
/// names the command's place, while what it sets is still judged (its untagged image, a
/// wrong type). A whole object with the same missing field is still an error.
#[test]
fn a_file_applied_with_kubectl_patch_is_a_partial_object() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let readme = "# Config management plugin\n\nPatch the repo server:\n\n```shell\nkubectl -n argocd patch deployments/argocd-repo-server \\\n  --patch-file manifests/repo-server-patch.yaml\n```\n";
    write(root, "cmp/README.md", readme);
    write(
        root,
        "cmp/manifests/repo-server-patch.yaml",
        REPO_SERVER_PATCH,
    );
    // The same, from a script, through `-p "$(cat ...)"` and the script's folder variable.
    write(
        root,
        "scripts/patch-web.sh",
        "#!/bin/sh\nDIR=$(dirname \"$0\")\nkubectl patch deployment web-live -p \"$(cat \"$DIR/../patches/web-live.yaml\")\"\n",
    );
    write(
        root,
        "patches/web-live.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-live}\nspec:\n  template:\n    spec:\n      containers:\n        - {name: web, image: 'nginx:latest'}\n",
    );
    write(root, "apps/web.yaml", NO_SELECTOR);

    let (found, json) = findings(root);
    let on = |file: &str, rule: &str| -> Vec<&Finding> {
        found
            .iter()
            .filter(|f| f.file == file && f.rule == rule)
            .collect()
    };
    let patch = "cmp/manifests/repo-server-patch.yaml";
    assert!(on(patch, "schema/required").is_empty(), "{found:#?}");
    assert!(
        on("patches/web-live.yaml", "schema/required").is_empty(),
        "{found:#?}"
    );
    // Field checks stay: the untagged image lands in the live Deployment, and so would the
    // string replicas.
    let latest = on(patch, "image/latest-tag");
    assert_eq!(latest.len(), 1, "{found:#?}");
    assert_eq!(
        latest[0].line,
        line_of(REPO_SERVER_PATCH, "image: alpine", None).unwrap()
    );
    assert_eq!(on(patch, "schema/type").len(), 1, "{found:#?}");
    assert_eq!(
        on("patches/web-live.yaml", "image/latest-tag").len(),
        1,
        "{found:#?}"
    );
    // A whole object missing the same field is still an error.
    assert_eq!(
        on("apps/web.yaml", "schema/required").len(),
        1,
        "{found:#?}"
    );

    // One note per patch file, naming the command's place; the required finding is a note.
    let notes: Vec<(String, String)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "note")
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let partial: Vec<&String> = notes
        .iter()
        .filter(|(rule, _)| rule == "load/partial-object")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(partial.len(), 2, "{notes:#?}");
    let readme_line = line_of(readme, "kubectl -n argocd patch", None).unwrap();
    assert!(
        partial.iter().any(|m| m
            .starts_with(&format!("used as a patch by cmp/README.md:{readme_line}"))
            && m.contains("required fields")),
        "{partial:#?}"
    );
    assert!(
        partial.iter().any(|m| m.contains("scripts/patch-web.sh:3")),
        "{partial:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|(rule, m)| rule == "schema/required" && m.contains("patch of a live object")),
        "{notes:#?}"
    );
}

/// A path in a script that leaves the repository names nothing: the file beside the
/// repository is neither read nor judged, and the repository's own file of that name stays
/// a whole object.
#[test]
fn a_patch_path_outside_the_repository_names_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    write(&tmp.path().join("outside"), "web.yaml", NO_SELECTOR);
    write(
        &root,
        "deploy.sh",
        "kubectl patch deploy web --patch-file ../outside/web.yaml\nkubectl patch deploy web --patch-file /etc/web.yaml\n",
    );
    write(&root, "outside/web.yaml", NO_SELECTOR);
    let (found, json) = findings(&root);
    assert!(
        found.iter().all(|f| !f.file.starts_with("..")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.file == "outside/web.yaml" && f.rule == "schema/required"),
        "{found:#?}"
    );
    assert!(
        !json.to_string().contains("load/partial-object"),
        "{json:#}"
    );
}

/// A workload synced before the SealedSecret it reads gets one finding per SealedSecret, at
/// its first reference, naming the other places that read it (one wave to move, not one
/// finding per env entry).
#[test]
fn one_sync_wave_finding_per_workload_and_sealed_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: shop
  annotations: {argocd.argoproj.io/sync-wave: \"3\"}
spec:
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: nginx:1.27.0
          env:
            - name: DB_USER
              valueFrom: {secretKeyRef: {name: db, key: user}}
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
            - name: API_TOKEN
              valueFrom: {secretKeyRef: {name: api, key: token}}
          envFrom:
            - secretRef: {name: db}
";
    write(root, "apps/shop/deployment.yaml", deployment);
    let sealed = |name: &str| {
        format!(
            "apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: {name}
  namespace: shop
  annotations: {{argocd.argoproj.io/sync-wave: \"7\"}}
spec:
  encryptedData: {{key: AgBy3i4OJSWK+PiTySYZZA==}}
"
        )
    };
    write(root, "apps/shop/db-sealed.yaml", &sealed("db"));
    write(root, "apps/shop/api-sealed.yaml", &sealed("api"));

    let (found, _) = findings(root);
    let waves: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "argocd/sync-wave")
        .collect();
    assert_eq!(waves.len(), 2, "{waves:#?}");
    let db = waves
        .iter()
        .find(|f| f.message.contains("SealedSecret `shop/db`"))
        .expect("the db finding");
    assert_eq!(db.file, "apps/shop/deployment.yaml");
    assert_eq!(
        db.line,
        line_of(deployment, "name: db, key: user", None).unwrap()
    );
    assert!(
        db.message.contains("3 places")
            && db.message.contains("`DB_PASSWORD`")
            && db.message.contains("envFrom"),
        "{db}"
    );
    let api = waves
        .iter()
        .find(|f| f.message.contains("SealedSecret `shop/api`"))
        .expect("the api finding");
    assert!(!api.message.contains("places"), "{api}");
}

/// The same for a Flux Kustomization's inline patch: what it fills in is located at the
/// patch in the Kustomization.
#[test]
fn a_value_a_flux_patch_fills_in_is_located_at_the_patch() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/web
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  patches:
    - target: {kind: Deployment, name: web}
      patch: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              initContainers:
                - {name: init, image: busybox}
";
    write(root, "clusters/home/web.yaml", flux);
    write(root, "apps/web/deployment.yaml", BASE);
    let (found, _) = findings(root);
    let latest: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "image/latest-tag")
        .collect();
    assert_eq!(latest.len(), 1, "{found:#?}");
    assert_eq!(latest[0].file, "clusters/home/web.yaml", "{latest:#?}");
    assert_eq!(
        latest[0].line,
        line_of(flux, "image: busybox", None).unwrap()
    );
}

/// An operator scaffold's Makefile adds a patch to a kustomization at build time
/// (`cd config/default; $(KUSTOMIZE) edit add patch --path pull_secret.yaml`): the file is a
/// patch, so it is not failed for the fields only the whole Deployment has, while what it
/// sets is still judged. A file name two files share names neither.
#[test]
fn a_patch_a_makefile_adds_with_kustomize_edit_is_a_partial_object() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "Makefile",
        "deploy:\n\tcd config/default ;\\\n\t$(KUSTOMIZE) edit add patch --path pull_secret.yaml ;\\\n\t$(KUSTOMIZE) edit add patch --path env.yaml\n",
    );
    let patch = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller-manager
spec:
  template:
    spec:
      containers:
        - name: manager
          image: controller:latest
";
    write(root, "config/default/pull_secret.yaml", patch);
    // `env.yaml` names two files: neither is known to be the patch.
    write(root, "config/default/env.yaml", patch);
    write(root, "config/other/env.yaml", patch);
    let (found, json) = findings(root);
    let of = |file: &str| -> Vec<String> {
        let mut rules: Vec<String> = found
            .iter()
            .filter(|f| f.file == file)
            .map(|f| f.rule.clone())
            .collect();
        rules.sort();
        rules.dedup();
        rules
    };
    assert_eq!(
        of("config/default/pull_secret.yaml"),
        ["image/latest-tag"],
        "{found:#?}"
    );
    assert!(
        of("config/default/env.yaml").contains(&"schema/required".to_string()),
        "{found:#?}"
    );
    let notes = check_common::diagnostics(&json, root);
    assert!(
        notes.iter().any(|d| d.rule == "load/partial-object"
            && d.file == "config/default/pull_secret.yaml"
            && d.message
                .contains("Makefile:2 (`kustomize edit add patch`)")),
        "{notes:#?}"
    );
}

/// A kustomization that lists a patch file the repository does not hold (a gitignored
/// `env/` folder of per-site values): a required field of its build's objects may come from
/// that patch, so `schema/required` is a note naming the patch; every other check stays, and
/// a patch whose target selects another kind leaves the object judged in full.
#[test]
fn a_patch_the_repository_does_not_hold_may_set_required_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, ".gitignore", "env/\n");
    write(
        root,
        "backups/kustomization.yaml",
        "resources:\n  - web.yaml\npatches:\n  - path: ./env/patch-web.yaml\n",
    );
    write(
        root,
        "backups/web.yaml",
        &NO_SELECTOR.replace("nginx:1.27.0", "nginx"),
    );
    write(
        root,
        "other/kustomization.yaml",
        "resources:\n  - web.yaml\npatches:\n  - path: env/cm.yaml\n    target: {kind: ConfigMap}\n",
    );
    write(root, "other/web.yaml", NO_SELECTOR);
    let (found, json) = findings(root);
    let at = |file: &str, rule: &str| found.iter().any(|f| f.file == file && f.rule == rule);
    assert!(!at("backups/web.yaml", "schema/required"), "{found:#?}");
    assert!(at("backups/web.yaml", "image/latest-tag"), "{found:#?}");
    assert!(at("other/web.yaml", "schema/required"), "{found:#?}");
    let notes = check_common::diagnostics(&json, root);
    let note = notes
        .iter()
        .find(|d| d.rule == "load/completed-elsewhere")
        .unwrap_or_else(|| panic!("{notes:#?}"));
    assert_eq!(note.file, "backups/web.yaml");
    assert!(
        note.message.contains("./env/patch-web.yaml") && note.message.contains("schema/required"),
        "{}",
        note.message
    );
    assert!(
        notes.iter().any(|d| d.file == "backups/web.yaml"
            && d.rule == "schema/required"
            && d.severity == "note"),
        "{notes:#?}"
    );
}

const BASE_RELEASE: &str = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: base-external-dns
  namespace: flux-system
spec:
  releaseName: base-external-dns
  chart:
    spec:
      chart: external-dns
      sourceRef: {kind: HelmRepository, name: external-dns}
";

/// A base HelmRelease without `interval` that every overlay building it patches in, each
/// with its own value and name (`target: {kind: HelmRelease}`, `allowNameChange`): the field
/// is set wherever the file is applied. The value filled in is the first overlay's, located
/// at its patch. An aggregator beside the bases that lists the base without a patch counts
/// unless Flux applies the overlays and not it. An overlay whose patch leaves `interval` out
/// applies the base without it.
#[test]
fn a_field_every_overlay_sets_in_its_own_way_is_not_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "base/external-dns/helmrelease.yaml", BASE_RELEASE);
    for (site, interval) in [("home", "10m"), ("lab", "1h")] {
        write(
            root,
            &format!("dns/{site}/kustomization.yaml"),
            "resources:\n- ../../base/external-dns/helmrelease.yaml\npatches:\n- path: helmrelease.yaml\n  target:\n    kind: HelmRelease\n  options:\n    allowNameChange: true\n",
        );
        write(
            root,
            &format!("dns/{site}/helmrelease.yaml"),
            &format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {site}-external-dns\n  namespace: flux-system\nspec:\n  interval: {interval}\n  releaseName: {site}-external-dns\n"),
        );
    }
    let (found, _) = findings(root);
    assert!(
        !found.iter().any(|f| f.rule == "schema/required"),
        "{found:#?}"
    );

    // An aggregator that lists every base builds the release without the field...
    write(
        root,
        "base/kustomization.yaml",
        "resources:\n- external-dns/helmrelease.yaml\n",
    );
    let (found, _) = findings(root);
    assert!(
        found.iter().any(|f| f.rule == "schema/required"),
        "{found:#?}"
    );
    // ...but where Flux applies the overlays and not the aggregator, only they count.
    for site in ["home", "lab"] {
        write(
            root,
            &format!("clusters/{site}.yaml"),
            &format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dns-{site}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./dns/{site}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
        );
    }
    let (found, _) = findings(root);
    assert!(
        !found.iter().any(|f| f.rule == "schema/required"),
        "{found:#?}"
    );

    // A third overlay whose patch sets only the release name: that build lacks `interval`.
    write(
        root,
        "dns/office/kustomization.yaml",
        "resources:\n- ../../base/external-dns/helmrelease.yaml\npatches:\n- path: helmrelease.yaml\n  target:\n    kind: HelmRelease\n",
    );
    write(
        root,
        "clusters/office.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dns-office\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./dns/office\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    );
    write(
        root,
        "dns/office/helmrelease.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: office-external-dns\n  namespace: flux-system\nspec:\n  releaseName: office-external-dns\n",
    );
    let (found, _) = findings(root);
    let required: Vec<(&str, &str)> = found
        .iter()
        .filter(|f| f.rule == "schema/required")
        .map(|f| (f.file.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        required,
        [(
            "base/external-dns/helmrelease.yaml",
            "missing required field `interval`"
        )],
        "{found:#?}"
    );
}

/// Files in a folder named `patches` that nothing applies whole (a bootstrap script merges
/// them into Flux Kustomizations with `yq`) are partial objects: `schema/required` is set
/// aside, and the fields they set stay judged. The same partial object elsewhere keeps the
/// error, and a file in a `patches` folder that a kustomization lists as a resource is
/// judged in full.
#[test]
fn files_in_a_patches_folder_nothing_applies_are_partial_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let partial = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
spec:
  patches:
  - target: {kind: Ingress}
    patch: |
      apiVersion: networking.k8s.io/v1
      kind: Ingress
      metadata:
        name: unused
        annotations:
          nginx.ingress.kubernetes.io/force-ssl-redirect: \"false\"
";
    write(root, "local/nas/patches/apps/no-ssl-redirect.yaml", partial);
    write(
        root,
        "local/nas/patches/apps/bad-field.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  prune: maybe\n",
    );
    write(
        root,
        "scripts/bootstrap.sh",
        "#!/bin/sh\nfor f in \"$DIR\"/patches/*/*.yaml; do yq '.spec.patches += (load(\"'\"$f\"'\") | .spec.patches)' k.yaml; done\n",
    );
    write(root, "elsewhere/no-ssl-redirect.yaml", partial);
    write(
        root,
        "deploy/patches/kustomization.yaml",
        "resources: [web.yaml]\n",
    );
    write(root, "deploy/patches/web.yaml", NO_SELECTOR);
    let (found, json) = findings(root);
    let mut problems: Vec<(&str, &str)> = found
        .iter()
        .filter(|f| f.rule.starts_with("schema/"))
        .map(|f| (f.file.as_str(), f.rule.as_str()))
        .collect();
    problems.sort();
    problems.dedup();
    assert_eq!(
        problems,
        [
            ("deploy/patches/web.yaml", "schema/required"),
            ("elsewhere/no-ssl-redirect.yaml", "schema/required"),
            ("local/nas/patches/apps/bad-field.yaml", "schema/type"),
        ],
        "{found:#?}"
    );
    let notes = check_common::diagnostics(&json, root);
    assert!(
        notes.iter().any(|d| d.rule == "load/partial-object"
            && d.file == "local/nas/patches/apps/no-ssl-redirect.yaml"
            && d.message.contains("local/nas/patches")),
        "{notes:#?}"
    );
}
