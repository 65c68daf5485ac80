//! The rendered repository: file list, snapshots, determinism, consistency with the config,
//! and the classic tools (yamllint, shellcheck, kubectl kustomize) on the written tree.

use homelab_platform::{config, default_config, model, render, DEFAULT_CONFIG};
use std::path::{Path, PathBuf};
use std::process::Command;

fn rendered_default() -> render::Rendered {
    render::render(&default_config()).unwrap_or_else(|e| panic!("{e}"))
}

fn write_tree(files: &render::Rendered) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, text).expect("write");
    }
    dir
}

const EXPECTED_FILES: &[&str] = &[
    "scripts/k3s-install.sh",
    "scripts/host-prereqs.sh",
    "renovate.json",
    "infrastructure/nvidia-device-plugin/values.yaml",
    "infrastructure/nvidia-device-plugin/runtime/runtimeclass.yaml",
    "infrastructure/nvidia-device-plugin/runtime/kustomization.yaml",
    "host/k3s/registries.yaml",
    "host/k3s/homelab/config.yaml",
    "host/k3s/akula-prime/config.yaml",
    "argocd/applications/infrastructure/nvidia-runtime.yaml",
    "argocd/applications/infrastructure/nvidia-device-plugin.yaml",
    ".editorconfig",
    ".github/workflows/validate.yml",
    ".gitignore",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
    ".secrets.baseline",
    ".shellcheckrc",
    ".sops.yaml",
    ".yamllint",
    "README.md",
    "Taskfile.yml",
    "apps/ai-services/litellm/kustomization.yaml",
    "apps/ai-services/litellm/litellm.yaml",
    "apps/ai-services/n8n/kustomization.yaml",
    "apps/ai-services/n8n/n8n.yaml",
    "apps/ai-services/ollama/kustomization.yaml",
    "apps/ai-services/ollama/ollama.yaml",
    "apps/ai-services/open-webui/kustomization.yaml",
    "apps/ai-services/open-webui/open-webui.yaml",
    "apps/ai-services/searxng/kustomization.yaml",
    "apps/ai-services/searxng/searxng.yaml",
    "apps/arc/arc-linux-gpu-values.yaml",
    "apps/arc/arc-linux-standard-values.yaml",
    "apps/arc/controller-values.yaml",
    "apps/gitlab-runner/values.yaml",
    "apps/gitlab/values-homelab.yaml",
    "argocd/applications/apps/arc-controller.yaml",
    "argocd/applications/apps/arc-linux-gpu.yaml",
    "argocd/applications/apps/arc-linux-standard.yaml",
    "argocd/applications/apps/gitlab-runner.yaml",
    "argocd/applications/apps/gitlab.yaml",
    "argocd/applications/apps/litellm.yaml",
    "argocd/applications/apps/n8n.yaml",
    "argocd/applications/apps/ollama.yaml",
    "argocd/applications/apps/open-webui.yaml",
    "argocd/applications/apps/searxng.yaml",
    "argocd/applications/infrastructure/argocd.yaml",
    "argocd/applications/infrastructure/cert-manager-issuers.yaml",
    "argocd/applications/infrastructure/cert-manager.yaml",
    "argocd/applications/infrastructure/kyverno-policies.yaml",
    "argocd/applications/infrastructure/kyverno.yaml",
    "argocd/applications/infrastructure/longhorn-storage.yaml",
    "argocd/applications/infrastructure/longhorn.yaml",
    "argocd/applications/infrastructure/namespaces.yaml",
    "argocd/applications/infrastructure/network-policies.yaml",
    "argocd/applications/infrastructure/sealed-secrets.yaml",
    "argocd/applications/infrastructure/secrets-homelab.yaml",
    "argocd/applications/infrastructure/traefik.yaml",
    "argocd/applications/infrastructure/trivy-operator.yaml",
    "argocd/bootstrap/root-app.yaml",
    "argocd/projects/homelab.yaml",
    "charts/README.md",
    "ct.yaml",
    "docs/certificates.md",
    "docs/secrets.md",
    "docs/security.md",
    "docs/storage.md",
    "helmfile.yaml",
    "host/fstab.longhorn",
    "host/systemd/longhorn-snapshot.service",
    "host/systemd/longhorn-snapshot.timer",
    "infrastructure/argocd/values.yaml",
    "infrastructure/cert-manager/issuers/ca.yaml",
    "infrastructure/cert-manager/issuers/kustomization.yaml",
    "infrastructure/cert-manager/values.yaml",
    "infrastructure/kyverno/values.yaml",
    "infrastructure/longhorn/storage/kustomization.yaml",
    "infrastructure/longhorn/storage/recurringjobs.yaml",
    "infrastructure/longhorn/storage/storageclasses.yaml",
    "infrastructure/longhorn/values.yaml",
    "infrastructure/namespaces/kustomization.yaml",
    "infrastructure/namespaces/namespaces.yaml",
    "infrastructure/network-policies/ai-services.yaml",
    "infrastructure/network-policies/arc-runners.yaml",
    "infrastructure/network-policies/arc-systems.yaml",
    "infrastructure/network-policies/argocd.yaml",
    "infrastructure/network-policies/cert-manager.yaml",
    "infrastructure/network-policies/gitlab-runner.yaml",
    "infrastructure/network-policies/gitlab.yaml",
    "infrastructure/network-policies/gpu-workloads.yaml",
    "infrastructure/network-policies/kustomization.yaml",
    "infrastructure/network-policies/kyverno.yaml",
    "infrastructure/network-policies/longhorn-system.yaml",
    "infrastructure/network-policies/trivy-system.yaml",
    "infrastructure/sealed-secrets/values.yaml",
    "infrastructure/traefik/helmchartconfig.yaml",
    "infrastructure/traefik/kustomization.yaml",
    "infrastructure/trivy-operator/values.yaml",
    "policies/kyverno/best-practices/require-requests-limits.yaml",
    "policies/kyverno/best-practices/require-run-as-non-root.yaml",
    "policies/kyverno/exceptions/system-namespace-exception.yaml",
    "policies/kyverno/kustomization.yaml",
    "policies/kyverno/security/disallow-host-access.yaml",
    "policies/kyverno/security/pod-security-baseline.yaml",
    "policies/kyverno/security/require-pinned-images.yaml",
    "pyproject.toml",
    "scripts/backup-sealing-keys.sh",
    "scripts/btrfs-snapshot-longhorn.sh",
    "scripts/distribute-ca.sh",
    "scripts/github-runner-group.sh",
    "scripts/seal-secret.sh",
    "scripts/setup-btrfs-longhorn.sh",
    "secrets/homelab/github-app-secret.yaml",
    "secrets/homelab/gitlab-runner-token.yaml",
    "secrets/homelab/kustomization.yaml",
    "secrets/homelab/litellm-secrets.yaml",
    "secrets/homelab/n8n-secrets.yaml",
    "secrets/homelab/open-webui-secrets.yaml",
    "secrets/homelab/searxng-secrets.yaml",
    "tests/test_manifests.py",
];

#[test]
fn default_rendering_has_the_guides_file_list() {
    let files = rendered_default();
    let mut got: Vec<String> = files
        .keys()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    got.sort();
    let mut want: Vec<String> = EXPECTED_FILES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn rendered_files_match_snapshots() {
    for (path, text) in rendered_default() {
        let name = path.to_string_lossy().replace(['/', '\\'], "__");
        insta::with_settings!({ snapshot_path => "snapshots/rendered", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, text);
        });
    }
}

#[test]
fn rendering_is_deterministic() {
    let a = rendered_default();
    let b = render::render(&config::parse(DEFAULT_CONFIG, "platform.toml").expect("valid"))
        .expect("renders");
    assert_eq!(a, b);
}

#[test]
fn readme_maps_all_28_success_criteria_to_existing_files() {
    let files = rendered_default();
    let readme = &files[&PathBuf::from("README.md")];
    let criteria: Vec<&str> = readme.lines().filter(|l| l.starts_with("- [ ] ")).collect();
    assert_eq!(criteria.len(), 28, "{criteria:#?}");
    for line in criteria {
        let mapped = line;
        let mut any = false;
        for path in mapped.split('`').skip(1).step_by(2) {
            let path = path.split(' ').next().unwrap_or(path);
            if path.contains('*') {
                any = true;
                continue;
            }
            let looks_like_path = path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
                && (path.ends_with('/')
                    || [
                        ".yaml",
                        ".yml",
                        ".sh",
                        ".md",
                        ".toml",
                        ".py",
                        ".longhorn",
                        ".service",
                        ".timer",
                    ]
                    .iter()
                    .any(|e| path.ends_with(e))
                    || path.starts_with('.'));
            if looks_like_path {
                let exists = path == "platform.toml"
                    || files.contains_key(&PathBuf::from(path))
                    || files
                        .keys()
                        .any(|k| k.starts_with(path.trim_end_matches('/')));
                assert!(
                    exists,
                    "README maps to {path}, which is not rendered: {line}"
                );
                any = true;
            }
        }
        assert!(any, "criterion without a file: {line}");
    }
}

fn three_node_config() -> config::Config {
    let extra =
        "\n[[nodes]]\nname = \"worker-3\"\naddress = \"10.0.0.12\"\ncores = 8\nmemory_gb = 32\nroles = [\"storage\"]\n";
    let idx = DEFAULT_CONFIG.find("[storage]").expect("storage table");
    let mut text = format!(
        "{}{}\n{}",
        &DEFAULT_CONFIG[..idx],
        extra.trim_start(),
        &DEFAULT_CONFIG[idx..]
    );
    text = text.replacen(
        "[components.n8n]\nenabled = true",
        "[components.n8n]\nenabled = false",
        1,
    );
    text = text.replacen("max_replicas = 2", "max_replicas = 3", 1);
    // Move GitLab to the new node: placement and budgets must follow.
    text = text.replacen(
        "storage_size = \"50Gi\"",
        "storage_size = \"50Gi\"\nnode = \"worker-3\"",
        1,
    );
    config::parse(&text, "platform.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn three_nodes_and_one_component_off_render_consistently() {
    let cfg = three_node_config();
    let platform = model::derive(&cfg);
    assert_eq!(
        platform.storage_nodes,
        vec!["homelab", "akula-prime", "worker-3"]
    );
    assert_eq!(platform.default_replicas, 3);
    assert_eq!(platform.budgets.len(), 3);
    // Longhorn's manager runs on every node, so the new node carries a budget too.
    let w3 = platform
        .budgets
        .iter()
        .find(|b| b.node == "worker-3")
        .expect("worker-3 budget");
    assert!(w3.workloads.iter().any(|w| w == "longhorn-manager"));
    assert!(w3.workloads.iter().any(|w| w == "gitlab-webservice"));
    assert!(!w3.over_committed());
    let homelab = platform
        .budgets
        .iter()
        .find(|b| b.node == "homelab")
        .expect("homelab budget");
    assert!(!homelab
        .workloads
        .iter()
        .any(|w| w.starts_with("gitlab-") && w != "gitlab-runner"));
    let gitlab_app = platform
        .apps
        .iter()
        .find(|a| a.name == "gitlab")
        .expect("gitlab app");
    assert_eq!(gitlab_app.nodes, vec!["worker-3"]);

    let files = render::render(&cfg).expect("renders");
    let sc = &files[&PathBuf::from("infrastructure/longhorn/storage/storageclasses.yaml")];
    assert!(sc.contains("numberOfReplicas: \"3\""), "{sc}");
    let values = &files[&PathBuf::from("infrastructure/longhorn/values.yaml")];
    assert!(values.contains("defaultReplicaCount: 3"));
    let gitlab = &files[&PathBuf::from("apps/gitlab/values-homelab.yaml")];
    assert!(
        gitlab.contains("kubernetes.io/hostname: worker-3"),
        "{gitlab}"
    );
    // n8n is off: no Application, no manifests, no secret, no network flow, no README row.
    assert!(
        !files.keys().any(|p| p.to_string_lossy().contains("n8n")),
        "n8n still rendered"
    );
    let np = &files[&PathBuf::from("infrastructure/network-policies/ai-services.yaml")];
    assert!(!np.contains("app: n8n"), "{np}");
    // Ollama still goes to the GPU node.
    let ollama = &files[&PathBuf::from("apps/ai-services/ollama/ollama.yaml")];
    assert!(ollama.contains("- akula-prime"));
    assert!(ollama.contains("nvidia.com/gpu: 1"));
    // The tree still builds and parses.
    check_tree_with_tools(&files);
}

#[test]
fn gpu_workloads_are_pinned_and_request_the_gpu() {
    let files = rendered_default();
    let ollama = &files[&PathBuf::from("apps/ai-services/ollama/ollama.yaml")];
    for needle in [
        "runtimeClassName: nvidia",
        "nvidia.com/gpu: 1",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "claimName: ollama-models",
        "storageClassName: longhorn-gpu-local",
        "name: ollama-cpu-fallback",
        "values: [homelab]",
    ] {
        assert!(ollama.contains(needle), "ollama.yaml lacks {needle}");
    }
    let gpu_set = &files[&PathBuf::from("apps/arc/arc-linux-gpu-values.yaml")];
    assert!(gpu_set.contains("kubernetes.io/hostname: akula-prime"));
    assert!(gpu_set.contains("runtimeClassName: nvidia"));
}

#[test]
fn storage_classes_are_the_guides() {
    let files = rendered_default();
    let sc = &files[&PathBuf::from("infrastructure/longhorn/storage/storageclasses.yaml")];
    for needle in [
        "name: longhorn-homelab",
        "storageclass.kubernetes.io/is-default-class: \"true\"",
        "numberOfReplicas: \"2\"",
        "dataLocality: \"best-effort\"",
        "fsType: \"ext4\"",
        "reclaimPolicy: Retain",
        "volumeBindingMode: WaitForFirstConsumer",
        "allowVolumeExpansion: true",
        "name: longhorn-gpu-local",
        "numberOfReplicas: \"1\"",
        "dataLocality: \"strict-local\"",
    ] {
        assert!(sc.contains(needle), "storageclasses.yaml lacks {needle}");
    }
    let rj = &files[&PathBuf::from("infrastructure/longhorn/storage/recurringjobs.yaml")];
    assert!(rj.contains("task: snapshot\n") && rj.contains("retain: 7"));
    let fstab = &files[&PathBuf::from("host/fstab.longhorn")];
    assert!(fstab.contains("UUID=<btrfs-uuid> /var/lib/longhorn btrfs subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async 0 0"));
    for f in [
        "scripts/setup-btrfs-longhorn.sh",
        "docs/storage.md",
        "host/fstab.longhorn",
        "infrastructure/longhorn/values.yaml",
    ] {
        assert!(
            files[&PathBuf::from(f)].contains("ext4"),
            "{f} lacks the ext4/XFS warning"
        );
    }
}

#[test]
fn every_namespace_has_pss_labels_and_default_deny() {
    let files = rendered_default();
    let platform = model::derive(&default_config());
    let ns_file = &files[&PathBuf::from("infrastructure/namespaces/namespaces.yaml")];
    for ns in &platform.namespaces {
        assert!(ns_file.contains(&format!("name: {}\n", ns.name)));
        let np =
            &files[&PathBuf::from(format!("infrastructure/network-policies/{}.yaml", ns.name))];
        assert!(np.contains("name: default-deny-all"), "{}", ns.name);
        assert!(np.contains("name: allow-dns"), "{}", ns.name);
    }
    let privileged: Vec<_> = platform
        .namespaces
        .iter()
        .filter(|n| n.enforce == "privileged")
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(privileged, vec!["gpu-workloads", "longhorn-system"]);
    assert_eq!(
        ns_file
            .matches("pod-security.kubernetes.io/enforce: \"baseline\"")
            .count(),
        platform.namespaces.len() - 2
    );
}

#[test]
fn applications_are_pinned_multi_source_and_waved() {
    let files = rendered_default();
    for (path, text) in &files {
        let p = path.to_string_lossy();
        if !p.starts_with("argocd/applications/") {
            continue;
        }
        assert!(
            text.contains("prune: true") && text.contains("selfHeal: true"),
            "{p}"
        );
        assert!(text.contains("- CreateNamespace=true"), "{p}");
        assert!(text.contains("argocd.argoproj.io/sync-wave: \""), "{p}");
        if text.contains("chart: ") {
            assert!(
                text.contains("ref: values") && text.contains("- $values/"),
                "{p}"
            );
        }
    }
    let platform = model::derive(&default_config());
    let waves: std::collections::BTreeSet<i32> = platform.apps.iter().map(|a| a.wave).collect();
    assert_eq!(
        waves.into_iter().collect::<Vec<_>>(),
        vec![-2, -1, 0, 1, 2, 3]
    );
}

#[test]
fn gitlab_stays_under_the_8gb_budget() {
    let platform = model::derive(&default_config());
    let mi: u64 = platform
        .workloads
        .iter()
        .filter(|w| w.workload.component == "gitlab")
        .map(|w| {
            model::memory_mi(w.workload.requests_memory).unwrap() * u64::from(w.workload.replicas)
        })
        .sum();
    assert!(mi < 8 * 1024, "GitLab requests {mi} MiB");
    assert!(
        mi > 4 * 1024,
        "GitLab requests {mi} MiB, below the guide's ~4.2 GB"
    );
}

/// Every YAML document parses, every TOML and JSON file parses.
fn parse_all(files: &render::Rendered) {
    for (path, text) in files {
        let name = path.to_string_lossy();
        if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".yamllint") {
            let mut parser = saphyr_parser::Parser::new_from_str(text);
            for event in parser.by_ref() {
                if let Err(e) = event {
                    panic!("{name}: YAML does not parse: {e}");
                }
            }
        } else if name.ends_with(".toml") {
            toml::from_str::<toml::Table>(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if name.ends_with(".baseline") {
            serde_json::from_str::<serde_json::Value>(text)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn every_config_file_parses() {
    parse_all(&rendered_default());
}

fn tool(name: &str) -> bool {
    homelab_testkit::require_tool("render checks with real tools", name, &["--version"])
}

fn check_tree_with_tools(files: &render::Rendered) {
    parse_all(files);
    let dir = write_tree(files);
    let root = dir.path();
    if tool("yamllint") {
        let out = Command::new("yamllint")
            .args(["-s", "-c", ".yamllint", "."])
            .current_dir(root)
            .output()
            .expect("yamllint");
        assert!(
            out.status.success(),
            "yamllint:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    if tool("shellcheck") {
        let scripts: Vec<PathBuf> = files
            .keys()
            .filter(|p| p.extension().is_some_and(|e| e == "sh"))
            .cloned()
            .collect();
        assert!(!scripts.is_empty());
        let out = Command::new("shellcheck")
            .args(&scripts)
            .current_dir(root)
            .output()
            .expect("shellcheck");
        assert!(
            out.status.success(),
            "shellcheck:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    if tool("kubectl") {
        let dirs: Vec<&Path> = files
            .keys()
            .filter(|p| p.file_name().is_some_and(|n| n == "kustomization.yaml"))
            .filter_map(|p| p.parent())
            .collect();
        assert!(dirs.len() >= 8);
        for d in dirs {
            let out = Command::new("kubectl")
                .arg("kustomize")
                .arg(d)
                .current_dir(root)
                .output()
                .expect("kubectl");
            assert!(
                out.status.success(),
                "kubectl kustomize {}: {}",
                d.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn rendered_tree_passes_yamllint_shellcheck_and_kustomize() {
    check_tree_with_tools(&rendered_default());
}
