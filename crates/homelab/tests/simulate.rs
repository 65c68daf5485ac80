//! `homelab simulate` on the repository `homelab init` renders: its placeholder secrets hold
//! the pods that need them; once sealed it converges offline (the charts it cannot render are
//! listed as assumptions), and a change that cannot be scheduled stalls its wave at the line
//! of the object.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn homelab(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("homelab").unwrap();
    cmd.env("HOMELAB_CACHE_DIR", cache).env("NO_COLOR", "1");
    cmd
}

fn simulate(repo: &Path, cache: &Path) -> (i32, Value) {
    let out = homelab(cache)
        .arg("simulate")
        .arg(repo)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

/// Seals every placeholder value of the repository's SealedSecrets with a fresh key pair (as
/// `homelab secrets init` does with the cluster's certificate).
fn seal_placeholders(repo: &Path, cache: &Path, keys: &Path) {
    homelab(cache)
        .args(["secrets", "keygen", "--bits", "2048", "--out"])
        .arg(keys)
        .assert()
        .success();
    let folder = repo.join("secrets/homelab");
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("PLACEHOLDER-") {
            continue;
        }
        let (docs, _) = homelab_manifest::parse_str("x.yaml", &text);
        let doc = docs
            .iter()
            .find(|d| d.kind() == Some("SealedSecret"))
            .unwrap();
        let (name, namespace) = (doc.name().unwrap(), doc.namespace().unwrap());
        let mut sealed_text = text.clone();
        for key in doc.value["spec"]["encryptedData"]
            .as_object()
            .unwrap()
            .keys()
        {
            let out = homelab(cache)
                .args([
                    "seal",
                    "--raw",
                    "--namespace",
                    namespace,
                    "--name",
                    name,
                    "--cert",
                ])
                .arg(keys.join("tls.crt"))
                .write_stdin("value-for-the-test")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let sealed = String::from_utf8(out.stdout).unwrap();
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{key}: PLACEHOLDER-")))
                .unwrap();
            let indent = &line[..line.len() - line.trim_start().len()];
            sealed_text = sealed_text.replace(line, &format!("{indent}{key}: {}", sealed.trim()));
        }
        std::fs::write(&path, sealed_text).unwrap();
    }
}

#[test]
fn the_default_repository_converges_once_its_secrets_are_sealed_and_a_second_gpu_replica_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    homelab(cache.path())
        .arg("init")
        .arg(&repo)
        .assert()
        .success();

    // As rendered, the SealedSecrets are placeholders: ArgoCD ignores their health, but the
    // pods that read them cannot start.
    let (code, json) = simulate(&repo, cache.path());
    assert_eq!(code, 1, "{json:#}");
    let stalls: Vec<&Value> = json["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["stalls"].as_array().unwrap())
        .collect();
    assert!(!stalls.is_empty());
    for s in &stalls {
        // A pod without its Secret, and the Application holding it: the rendered Argo CD
        // assesses Application health, so the root waits for it.
        let cause = s["cause"].as_str().unwrap();
        match s["class"].as_str().unwrap() {
            "secret-unavailable" => {}
            "application-unhealthy" => assert!(
                cause.contains("infrastructure/argocd/values.yaml:13")
                    && cause.contains("so Application root waits at sync wave"),
                "{s}"
            ),
            _ => panic!("{json:#}"),
        }
        assert!(cause.contains("which the controller cannot unseal"), "{s}");
    }
    // The root never syncs the waves after the first stalled one.
    let first = json["first_stall_wave"].as_i64().unwrap();
    let later: Vec<&Value> = json["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["wave"].as_i64().unwrap() > first && a["parent"] == "root")
        .collect();
    assert!(!later.is_empty(), "{json:#}");
    for a in later {
        assert_eq!(a["created"], false, "{a}");
        assert_eq!(a["status"]["sync"]["status"], "OutOfSync", "{a}");
    }
    assert!(stalls
        .iter()
        .any(|s| s["object"] == "apps/v1/Deployment ai-services/litellm"));

    seal_placeholders(&repo, cache.path(), &dir.path().join("keys"));
    let (code, json) = simulate(&repo, cache.path());
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["converges"], true);
    let assumptions: Vec<&str> = json["assumptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        assumptions
            .iter()
            .any(|a| a.starts_with("not simulated: chart longhorn")),
        "{assumptions:#?}"
    );
    let placements = json["placements"].as_array().unwrap();
    let ollama = placements
        .iter()
        .find(|p| p["workload"] == "Deployment gpu-workloads/ollama")
        .expect("ollama is placed");
    assert_eq!(ollama["nodes"], serde_json::json!(["akula-prime"]));

    // Two GPU replicas on a cluster with one GPU: the second stays Pending.
    let file = repo.join("apps/ai-services/ollama/ollama.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("  replicas: 1\n"));
    std::fs::write(
        &file,
        text.replacen("  replicas: 1\n", "  replicas: 2\n", 1),
    )
    .unwrap();
    let (code, json) = simulate(&repo, cache.path());
    assert_eq!(code, 1, "{json:#}");
    let stall = json["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["stalls"].as_array().unwrap())
        .next()
        .expect("a stall");
    assert_eq!(
        stall["object"], "apps/v1/Deployment gpu-workloads/ollama",
        "{json:#}"
    );
    let cause = stall["cause"].as_str().unwrap();
    assert!(
        cause.contains("akula-prime: insufficient nvidia.com/gpu (needs 1, 0 free)"),
        "{cause}"
    );
    assert!(stall["file"]
        .as_str()
        .unwrap()
        .ends_with("apps/ai-services/ollama/ollama.yaml"));
    let template_spec = text.lines().position(|l| l == "    spec:").unwrap() + 1;
    assert_eq!(stall["line"], template_spec as u64);
}

#[test]
fn simulate_refuses_a_path_that_is_not_a_folder() {
    let cache = tempfile::tempdir().unwrap();
    homelab(cache.path())
        .args(["simulate", "/nonexistent/repo"])
        .assert()
        .code(2);
}

/// The command a numbered bootstrap step of the rendered README runs (its `Runs:` line), as
/// arguments after `homelab`.
fn readme_step_runs(readme: &str, step: &str, command: &str) -> Vec<String> {
    let body = readme
        .split(&format!("\n{step}. "))
        .nth(1)
        .unwrap_or_else(|| panic!("README has no step {step}"));
    let runs = body
        .lines()
        .find(|l| l.trim_start().starts_with("Runs:"))
        .unwrap_or_else(|| panic!("step {step} says what it runs"));
    let quoted = format!("`{command}`");
    assert!(runs.contains(&quoted), "step {step}: {runs}");
    command
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// `homelab secrets init` as a README step gives it, offline: the certificate from a file
/// instead of `--fetch-cert`, the credentials from `extra` instead of a terminal.
fn run_secrets_step(repo: &Path, cache: &Path, args: &[String], cert: &Path, extra: &[&str]) {
    let mut cmd = homelab(cache);
    cmd.current_dir(repo);
    for a in args {
        if a == "--fetch-cert" {
            cmd.arg("--cert").arg(cert);
        } else {
            cmd.arg(a);
        }
    }
    cmd.args(extra)
        .env("RUNNER_TOKEN", "glrt-token-for-the-test");
    cmd.assert().success();
}

/// `simulate --emit-snapshot` then `verify --snapshot`: verify's exit code and JSON.
fn simulate_and_verify(repo: &Path, cache: &Path, snapshot: &Path) -> (i32, Value) {
    homelab(cache)
        .arg("simulate")
        .arg(repo)
        .arg("--emit-snapshot")
        .arg(snapshot)
        .assert()
        .success();
    let out = homelab(cache)
        .arg("verify")
        .arg("--snapshot")
        .arg(snapshot)
        .arg("--config")
        .arg(repo.join("platform.toml"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), json)
}

fn criteria_with(json: &Value, status: &str) -> Vec<String> {
    json["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn criterion<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no criterion {id}: {json:#}"))
}

/// The README's bootstrap followed offline: step 6 seals the secrets (the GitLab Runner token
/// stays a placeholder), step 8 seals the runner token. The predicted cluster is verified
/// after each: a placeholder is a true "not met" until step 8, and after it nothing is
/// "not met"; what the prediction cannot know (charts not in the cache, scan reports, the
/// host) is "not checkable" with its reason, never met.
#[test]
fn the_emitted_snapshot_runs_through_verify_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    homelab(cache.path())
        .arg("init")
        .arg(&repo)
        .assert()
        .success();
    let keys = dir.path().join("keys");
    homelab(cache.path())
        .args(["secrets", "keygen", "--bits", "2048", "--out"])
        .arg(&keys)
        .assert()
        .success();
    let cert = keys.join("tls.crt");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();

    // Step 6: seal the secrets; the GitHub App's credentials come from a file.
    let values = dir.path().join("github-app.yaml");
    std::fs::write(
        &values,
        "github-app-secret: {github_app_id: \"12345\", github_app_installation_id: \"67890\", github_app_private_key: \"test-key\"}\n",
    )
    .unwrap();
    let step6 = readme_step_runs(&readme, "6", "homelab secrets init --fetch-cert .");
    let values_arg = values.to_str().unwrap();
    run_secrets_step(
        &repo,
        cache.path(),
        &step6,
        &cert,
        &["--values", values_arg],
    );
    homelab(cache.path())
        .args(["secrets", "init", "--check"])
        .arg(&repo)
        .assert()
        .success();

    let snapshot = dir.path().join("converged.yaml");
    let (code, json) = simulate_and_verify(&repo, cache.path(), &snapshot);
    let text = std::fs::read_to_string(&snapshot).unwrap();
    assert!(text.contains("kind: Pod"), "no Pods in the snapshot");
    assert!(
        text.contains("nodeName: akula-prime"),
        "the GPU pods run on the GPU node"
    );
    // The runner token waits for GitLab: the controller can never unseal its placeholder.
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(
        criteria_with(&json, "not met"),
        ["sealed-secrets"],
        "{json:#}"
    );
    let evidence = criterion(&json, "sealed-secrets")["evidence"].to_string();
    assert!(
        evidence
            .contains("SealedSecret gitlab-runner/gitlab-runner-token: condition Synced is False"),
        "{evidence}"
    );

    // Step 8, once GitLab runs: the runner's token, given in the environment.
    let step8 = readme_step_runs(
        &readme,
        "8",
        "homelab secrets init --fetch-cert --only gitlab-runner-token .",
    );
    run_secrets_step(
        &repo,
        cache.path(),
        &step8,
        &cert,
        &[
            "--from-env",
            "gitlab-runner-token/runner-token=RUNNER_TOKEN",
        ],
    );
    homelab(cache.path())
        .args([
            "secrets",
            "init",
            "--check",
            "--only",
            "gitlab-runner-token",
        ])
        .arg(&repo)
        .assert()
        .success();

    let (code, json) = simulate_and_verify(&repo, cache.path(), &snapshot);
    assert_eq!(
        criteria_with(&json, "not met"),
        Vec::<String>::new(),
        "{json:#}"
    );
    assert_eq!(code, 0, "every checkable criterion is met: {json:#}");
    // What the repository alone decides is met in the predicted cluster.
    for id in [
        "longhorn-storage-classes",
        "longhorn-recurring-snapshots",
        "argocd-multi-source",
        "argocd-sync-waves",
        "pod-security-standards",
        "network-default-deny",
    ] {
        assert_eq!(criterion(&json, id)["status"], "met", "{id}: {json:#}");
    }
    // Without charts the controllers they install are unknown to the prediction: not
    // checkable, naming the Application whose chart was not rendered.
    for (id, app) in [
        ("sealed-secrets", "Application argocd/sealed-secrets"),
        ("arc-controller", "Application argocd/arc-controller"),
        ("arc-scale-sets", "Application argocd/arc-linux-gpu"),
        ("gitlab-running", "Application argocd/gitlab"),
    ] {
        let c = criterion(&json, id);
        assert_eq!(c["status"], "not checkable", "{id}: {json:#}");
        let evidence = c["evidence"].to_string();
        assert!(
            evidence.contains(app) && evidence.contains("was not simulated"),
            "{id}: {evidence}"
        );
    }
    // What only a running cluster produces (scan reports) cannot be in a prediction.
    assert_eq!(
        criterion(&json, "kyverno-policy-reports")["status"],
        "not checkable",
        "{json:#}"
    );
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A repository whose Application deploys `apps/web`: a StorageClass and a Deployment that
/// mounts its claim, beside a stray claim that nothing mounts.
fn kustomized_repo(root: &Path, kustomization: Option<&str>) {
    write(
        root,
        "argocd/web.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: 'https://example.org/repo.git', path: apps/web}\n  destination: {server: 'https://kubernetes.default.svc', namespace: web}\n  syncPolicy: {syncOptions: [CreateNamespace=true]}\n",
    );
    write(
        root,
        "apps/web/web.yaml",
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\nprovisioner: rancher.io/local-path\nvolumeBindingMode: WaitForFirstConsumer\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  storageClassName: local\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: 'example.org/web:1'}]\n      volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]\n",
    );
    write(
        root,
        "apps/web/old-claim.yaml",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: old}\nspec:\n  storageClassName: local\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n",
    );
    if let Some(k) = kustomization {
        write(root, "apps/web/kustomization.yaml", k);
    }
}

#[test]
fn only_the_files_a_kustomization_lists_enter_its_application() {
    let cache = tempfile::tempdir().unwrap();
    // Without a kustomization every file of the folder is applied: the stray claim waits
    // for a consumer forever.
    let plain = tempfile::tempdir().unwrap();
    kustomized_repo(plain.path(), None);
    let (code, json) = simulate(plain.path(), cache.path());
    assert_eq!(code, 1, "{json:#}");
    let stall = &json["waves"][0]["stalls"][0];
    assert_eq!(stall["class"], "pvc-no-consumer", "{json:#}");
    assert_eq!(stall["object"], "v1/PersistentVolumeClaim old");
    assert!(stall["file"]
        .as_str()
        .unwrap()
        .ends_with("apps/web/old-claim.yaml"));

    // The kustomization lists web.yaml only: ArgoCD builds it and never applies the claim.
    let kustomized = tempfile::tempdir().unwrap();
    kustomized_repo(
        kustomized.path(),
        Some("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\n"),
    );
    let (code, json) = simulate(kustomized.path(), cache.path());
    assert_eq!(code, 0, "{json:#}");
}

#[test]
fn plan_shows_the_simulated_rollout_beside_the_static_plan() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    homelab(cache.path())
        .arg("init")
        .arg(&repo)
        .assert()
        .success();
    let out = homelab(cache.path())
        .arg("plan")
        .arg(&repo)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Simulated rollout"), "{text}");
    assert!(text.contains("stall[secret-unavailable]"), "{text}");
    let out = homelab(cache.path())
        .arg("plan")
        .arg(&repo)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["simulation"]["converges"], false, "{json:#}");
    let out = homelab(cache.path())
        .arg("plan")
        .arg(&repo)
        .arg("--static")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Simulated rollout"));
}

#[test]
fn the_html_report_of_check_has_a_simulated_rollout_section_and_dot_is_a_digraph() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    kustomized_repo(dir.path(), None);
    let out = homelab(cache.path())
        .arg("check")
        .arg(dir.path())
        .args(["--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(html.contains("<h2>Simulated rollout</h2>"), "{html}");
    assert!(html.contains("pvc-no-consumer"), "{html}");
    let out = homelab(cache.path())
        .arg("simulate")
        .arg(dir.path())
        .args(["--format", "dot"])
        .output()
        .unwrap();
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(dot.starts_with("digraph rollout {"), "{dot}");
    assert!(dot.contains("pvc-no-consumer"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
}

/// An Application deploying `apps/web` (destination namespace `web`, created by ArgoCD with
/// no Pod Security label) whose kustomization is `kustomization`; the namespace `locked`
/// (Pod Security `restricted`) is applied by hand.
fn namespaced_repo(root: &Path, kustomization: &str) {
    write(
        root,
        "argocd/web.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: 'https://example.org/repo.git', path: apps/web}\n  destination: {server: 'https://kubernetes.default.svc', namespace: web}\n  syncPolicy: {syncOptions: [CreateNamespace=true]}\n",
    );
    write(
        root,
        "namespaces/locked.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: locked\n  labels: {pod-security.kubernetes.io/enforce: restricted}\n",
    );
    write(
        root,
        "apps/web/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: 'example.org/web:1'}]\n",
    );
    write(root, "apps/web/kustomization.yaml", kustomization);
}

#[test]
fn a_kustomization_namespace_puts_its_pods_under_that_namespaces_pod_security() {
    let cache = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    namespaced_repo(
        repo.path(),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: locked\nresources: [web.yaml]\n",
    );
    let (code, json) = simulate(repo.path(), cache.path());
    assert_eq!(code, 1, "{json:#}");
    let stall = &json["waves"][0]["stalls"][0];
    assert_eq!(stall["class"], "pod-security", "{json:#}");
    assert_eq!(stall["object"], "apps/v1/Deployment locked/web", "{json:#}");
    assert!(
        stall["cause"]
            .as_str()
            .unwrap()
            .contains("`restricted` of namespace `locked`"),
        "{json:#}"
    );
    assert!(
        stall["file"]
            .as_str()
            .unwrap()
            .ends_with("apps/web/web.yaml"),
        "{json:#}"
    );
    assert_eq!(stall["line"], 8, "the pod template's spec: {json:#}");

    // Without `namespace:` the Deployment lands in the Application's namespace: it runs.
    let plain = tempfile::tempdir().unwrap();
    namespaced_repo(
        plain.path(),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web.yaml]\n",
    );
    let (code, json) = simulate(plain.path(), cache.path());
    assert_eq!(code, 0, "{json:#}");
}

/// An overlay that renames a base's objects and patches its Deployment to read a Secret
/// the base creates one wave later.
fn overlay_repo(root: &Path, overlay: &str) {
    write(
        root,
        "argocd/web.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: 'https://example.org/repo.git', path: apps/web/overlay}\n  destination: {server: 'https://kubernetes.default.svc', namespace: web}\n  syncPolicy: {syncOptions: [CreateNamespace=true]}\n",
    );
    write(
        root,
        "apps/web/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web.yaml]\n",
    );
    write(
        root,
        "apps/web/base/web.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  annotations: {argocd.argoproj.io/sync-wave: '1'}\nstringData: {token: x}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: 'example.org/web:1'}]\n",
    );
    write(
        root,
        "apps/web/overlay/env.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          envFrom:\n            - secretRef: {name: creds}\n",
    );
    write(root, "apps/web/overlay/kustomization.yaml", overlay);
}

#[test]
fn an_overlays_patch_and_name_prefix_are_simulated_and_blamed_at_the_patch() {
    let cache = tempfile::tempdir().unwrap();
    // The prefix renames the Secret and the reference the patch adds: the pod waits for
    // `prod-creds`, which comes one wave later.
    let repo = tempfile::tempdir().unwrap();
    overlay_repo(
        repo.path(),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\nnamePrefix: prod-\npatches:\n  - path: env.yaml\n",
    );
    let (code, json) = simulate(repo.path(), cache.path());
    assert_eq!(code, 1, "{json:#}");
    let stall = &json["waves"][0]["stalls"][0];
    assert_eq!(stall["class"], "secret-unavailable", "{json:#}");
    assert_eq!(stall["object"], "apps/v1/Deployment prod-web", "{json:#}");
    assert!(
        stall["cause"]
            .as_str()
            .unwrap()
            .contains("`web/prod-creds`"),
        "{json:#}"
    );
    assert!(
        stall["file"]
            .as_str()
            .unwrap()
            .ends_with("apps/web/overlay/env.yaml"),
        "the patch that adds the reference: {json:#}"
    );
    assert_eq!(stall["line"], 10, "{json:#}");

    // Without the patch the Deployment reads no Secret: it converges, under its new name.
    let plain = tempfile::tempdir().unwrap();
    overlay_repo(
        plain.path(),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\nnamePrefix: prod-\n",
    );
    let (code, json) = simulate(plain.path(), cache.path());
    assert_eq!(code, 0, "{json:#}");
    let healthy = json["waves"].to_string();
    assert!(healthy.contains("Deployment prod-web"), "{json:#}");
}

/// An app-of-apps: `root` (applied by hand) syncs `argocd/`, with child `backend` in wave 1
/// and `frontend` in wave 2. `backend` holds a claim under `WaitForFirstConsumer` that no pod
/// mounts (it stays Pending). `config` adds how Argo CD is configured.
fn app_of_apps_repo(root: &Path, config: &[(&str, &str)]) {
    write(
        root,
        "bootstrap/root.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: root, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: 'https://example.org/repo.git', path: argocd}\n  destination: {server: 'https://kubernetes.default.svc', namespace: argocd}\n",
    );
    for (name, wave) in [("backend", 1), ("frontend", 2)] {
        write(
            root,
            &format!("argocd/{name}.yaml"),
            &format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n  annotations: {{argocd.argoproj.io/sync-wave: \"{wave}\"}}\nspec:\n  project: default\n  source: {{repoURL: 'https://example.org/repo.git', path: apps/{name}}}\n  destination: {{server: 'https://kubernetes.default.svc', namespace: {name}}}\n  syncPolicy: {{syncOptions: [CreateNamespace=true]}}\n"),
        );
    }
    write(
        root,
        "apps/backend/claim.yaml",
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\nprovisioner: rancher.io/local-path\nvolumeBindingMode: WaitForFirstConsumer\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  storageClassName: local\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n",
    );
    write(
        root,
        "apps/frontend/web.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {greeting: hello}\n",
    );
    for (path, text) in config {
        write(root, path, text);
    }
}

const HEALTH_LUA: &str = "      hs = {}\n      hs.status = \"Progressing\"\n      if obj.status ~= nil and obj.status.health ~= nil then\n        hs.status = obj.status.health.status\n      end\n      return hs\n";

/// Argo CD's Application health check, found where the repository configures it (an
/// argocd-cm it applies, or the argo-cd chart's values an Application gives), makes the
/// root wait for its stalled wave-1 child; without it the root goes on and simulate says
/// that its waves do not order what the children sync.
#[test]
fn a_parent_waits_for_its_children_only_when_argo_cd_assesses_application_health() {
    let configmap = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: argocd-cm, namespace: argocd}}\ndata:\n  resource.customizations.health.argoproj.io_Application: |\n{HEALTH_LUA}"
    );
    let values = format!(
        "configs:\n  cm:\n    resource.customizations.health.argoproj.io_Application: |\n{}",
        HEALTH_LUA
            .replace("\n      ", "\n        ")
            .replacen("      ", "        ", 1)
    );
    let argocd_app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: argocd\n  namespace: argocd\n  annotations: {argocd.argoproj.io/sync-wave: \"-1\"}\nspec:\n  project: default\n  sources:\n    - repoURL: https://argoproj.github.io/argo-helm\n      chart: argo-cd\n      targetRevision: 9.1.0\n      helm:\n        valueFiles: [$values/infrastructure/argocd/values.yaml]\n    - repoURL: https://example.org/repo.git\n      targetRevision: main\n      ref: values\n  destination: {server: 'https://kubernetes.default.svc', namespace: argocd}\n";
    for (label, config, at) in [
        (
            "argocd-cm",
            vec![("argocd/argocd-cm.yaml", configmap.as_str())],
            "argocd/argocd-cm.yaml:5",
        ),
        (
            "chart values",
            vec![
                ("argocd/argocd.yaml", argocd_app),
                ("infrastructure/argocd/values.yaml", values.as_str()),
            ],
            "infrastructure/argocd/values.yaml:3",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        app_of_apps_repo(dir.path(), &config);
        let (code, json) = simulate(dir.path(), cache.path());
        assert_eq!(code, 1, "{label}: {json:#}");
        let stalls: Vec<&Value> = json["waves"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|w| w["stalls"].as_array().unwrap())
            .collect();
        let child = stalls
            .iter()
            .find(|s| s["class"] == "application-unhealthy")
            .unwrap_or_else(|| panic!("{label}: {json:#}"));
        assert_eq!(
            child["object"],
            "argoproj.io/v1alpha1/Application argocd/backend"
        );
        assert!(child["file"]
            .as_str()
            .unwrap()
            .ends_with("argocd/backend.yaml"));
        let cause = child["cause"].as_str().unwrap();
        for part in [
            "Application backend is Progressing",
            "v1/PersistentVolumeClaim data is Progressing: stays Pending",
            "apps/backend/claim.yaml:",
            at,
            "Application root waits at sync wave 1",
        ] {
            assert!(cause.contains(part), "{label}: {part}: {cause}");
        }
        let frontend = json["applications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "frontend")
            .unwrap();
        assert_eq!(frontend["created"], false, "{label}: {frontend}");
        assert_eq!(frontend["status"]["sync"]["status"], "OutOfSync");
        assert_eq!(frontend["status"]["health"]["status"], "Missing");
        assert_eq!(json["assesses_application_health"], true);
        // The HTML report's rollout shows the children as Argo CD reports them.
        let out = homelab(cache.path())
            .arg("check")
            .arg(dir.path())
            .args(["--format", "html"])
            .output()
            .unwrap();
        let html = String::from_utf8_lossy(&out.stdout);
        assert!(
            html.contains("<div>backend: Synced, Progressing</div>")
                && html.contains("<div>frontend: never created (OutOfSync, Missing)</div>"),
            "{label}: {html}"
        );
    }

    // No health check for Applications: the root does not wait, wave 2 syncs, and simulate
    // says its waves do not order what the children sync.
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    app_of_apps_repo(dir.path(), &[]);
    let (code, json) = simulate(dir.path(), cache.path());
    assert_eq!(code, 1, "the claim still stalls: {json:#}");
    assert_eq!(json["assesses_application_health"], false);
    let frontend = json["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "frontend")
        .unwrap();
    assert_eq!(frontend["created"], true, "{frontend}");
    assert_eq!(frontend["status"]["health"]["status"], "Healthy");
    assert!(json["waves"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["healthy"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h == "v1/ConfigMap web")));
    let assumptions = json["assumptions"].to_string();
    assert!(
        assumptions.contains("Application root goes on to its next sync wave as soon as its child Applications exist, so its sync waves 1, 2 do not order what its child Applications sync"),
        "{assumptions}"
    );
}

/// Kyverno's reports controller in the prediction: the snapshot holds the PolicyReports its
/// background scan writes (results of the repository's own policies on the predicted
/// objects), so verify can judge "policy reports accessible" on a simulated cluster.
#[test]
fn a_predicted_kyverno_reports_controller_writes_policy_reports_into_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    homelab(cache.path())
        .arg("init")
        .arg(&platform)
        .assert()
        .success();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(platform.join("platform.toml"), root.join("platform.toml")).unwrap();
    write(
        &root,
        "argocd/kyverno.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: kyverno, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: 'https://example.org/repo.git', path: apps/kyverno}\n  destination: {server: 'https://kubernetes.default.svc', namespace: kyverno}\n  syncPolicy: {syncOptions: [CreateNamespace=true]}\n",
    );
    write(
        &root,
        "apps/kyverno/reports-controller.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kyverno-reports-controller}\nspec:\n  selector: {matchLabels: {app: reports}}\n  template:\n    metadata: {labels: {app: reports}}\n    spec:\n      containers:\n        - name: controller\n          image: reg.kyverno.io/kyverno/reports-controller:v1.19.0\n          resources: {requests: {cpu: 100m, memory: 64Mi}}\n",
    );
    write(
        &root,
        "apps/kyverno/policy.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: require-team}\nspec:\n  validationFailureAction: Audit\n  rules:\n    - name: team-label\n      match: {any: [{resources: {kinds: [ConfigMap]}}]}\n      validate:\n        message: label team is required\n        pattern: {metadata: {labels: {team: '?*'}}}\n",
    );
    write(
        &root,
        "apps/kyverno/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n",
    );
    let snapshot = dir.path().join("converged.yaml");
    homelab(cache.path())
        .arg("simulate")
        .arg(&root)
        .arg("--emit-snapshot")
        .arg(&snapshot)
        .assert()
        .success();
    let text = std::fs::read_to_string(&snapshot).unwrap();
    let (docs, _) = homelab_manifest::parse_str("snapshot.yaml", &text);
    let items: Vec<&Value> = docs
        .iter()
        .flat_map(|d| match d.value["items"].as_array() {
            Some(items) => items.iter().collect(),
            None => vec![&d.value],
        })
        .collect();
    let report = items
        .iter()
        .find(|o| o["kind"] == "PolicyReport" && o["scope"]["name"] == "settings")
        .unwrap_or_else(|| panic!("no PolicyReport of ConfigMap settings:\n{text}"));
    // Objects without a namespace land in their Application's destination, as ArgoCD
    // applies them; so do the Pods of their workloads.
    assert_eq!(report["metadata"]["namespace"], "kyverno");
    for (kind, name) in [
        ("ConfigMap", "settings"),
        ("Deployment", "kyverno-reports-controller"),
        ("Pod", "kyverno-reports-controller-0"),
    ] {
        let o = items
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}:\n{text}"));
        assert_eq!(o["metadata"]["namespace"], "kyverno", "{kind} {name}");
    }
    let policy = items.iter().find(|o| o["kind"] == "ClusterPolicy").unwrap();
    assert!(
        policy["metadata"].get("namespace").is_none(),
        "cluster-scoped"
    );
    assert_eq!(report["results"][0]["policy"], "require-team");
    assert_eq!(report["results"][0]["result"], "fail");
    assert_eq!(report["summary"]["fail"], 1);

    let out = homelab(cache.path())
        .arg("verify")
        .arg("--snapshot")
        .arg(&snapshot)
        .arg("--config")
        .arg(root.join("platform.toml"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = criterion(&json, "kyverno-policy-reports");
    assert_eq!(reports["status"], "met", "{reports}");
    assert!(
        reports["evidence"].to_string().contains("fail 1"),
        "{reports}"
    );

    // Without the controller nothing writes reports: not checkable, as before.
    std::fs::remove_file(root.join("apps/kyverno/reports-controller.yaml")).unwrap();
    homelab(cache.path())
        .arg("simulate")
        .arg(&root)
        .arg("--emit-snapshot")
        .arg(&snapshot)
        .assert()
        .success();
    assert!(!std::fs::read_to_string(&snapshot)
        .unwrap()
        .contains("kind: PolicyReport"));
}
