//! The rendered platform comes up from bare hosts: each test renders the default repository
//! and pins one thing an operator needs (k3s configs and join, host prerequisites, one ordered
//! bootstrap, the GPU stack, a rollout that cannot stall, CI that can install homelab, the
//! documented network security, current pinned versions).

use homelab_platform::{default_config, render, DEFAULT_CONFIG};
use serde_json::Value;
use std::path::Path;

fn rendered() -> render::Rendered {
    render::render(&default_config()).unwrap_or_else(|e| panic!("{e}"))
}

fn file<'a>(files: &'a render::Rendered, path: &str) -> &'a str {
    files
        .get(Path::new(path))
        .unwrap_or_else(|| panic!("{path} is not rendered"))
}

/// Every YAML document of a file, as JSON values (the manifest loader's parser).
fn docs(files: &render::Rendered, path: &str) -> Vec<Value> {
    let (documents, diagnostics) = homelab_manifest::parse_str(path, file(files, path));
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == homelab_diagnostics::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{path}: {errors:?}");
    documents.into_iter().map(|d| d.value.clone()).collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn k3s_server_and_agent_configs_come_from_platform_toml() {
    let files = rendered();
    let server = &docs(&files, "host/k3s/homelab/config.yaml")[0];
    assert_eq!(server["node-ip"], "10.0.0.10");
    assert_eq!(server["disable"][0], "local-storage");
    assert_eq!(server["write-kubeconfig-mode"], "0600");
    assert!(server["tls-san"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == "10.0.0.10")));
    assert!(server["kubelet-arg"][0]
        .as_str()
        .is_some_and(|a| a.starts_with("system-reserved=cpu=500m,memory=2Gi")));
    assert!(server["node-label"].as_array().is_some_and(|l| l
        .iter()
        .any(|v| v == "node.longhorn.io/create-default-disk=true")));
    assert!(server.get("server").is_none(), "the server joins nobody");

    let agent = &docs(&files, "host/k3s/akula-prime/config.yaml")[0];
    assert_eq!(agent["server"], "https://10.0.0.10:6443");
    assert_eq!(agent["token-file"], "/etc/rancher/k3s/join-token");
    assert_eq!(agent["node-taint"][0], "nvidia.com/gpu=true:NoSchedule");
    assert!(agent["node-label"]
        .as_array()
        .is_some_and(|l| l.iter().any(|v| v == "nvidia.com/gpu.present=true")));

    let registries = &docs(&files, "host/k3s/registries.yaml")[0];
    assert_eq!(
        registries["configs"]["registry.homelab.lan"]["tls"]["ca_file"],
        "/etc/rancher/k3s/homelab-ca.crt"
    );
    let install = file(&files, "scripts/k3s-install.sh");
    assert!(install.contains("VERSION=v1.33.4+k3s1"));
    assert!(install.contains("/etc/rancher/k3s/join-token"));
}

#[test]
fn host_prerequisites_cover_longhorn_and_the_gpu() {
    let files = rendered();
    let script = file(&files, "scripts/host-prereqs.sh");
    for needle in [
        "open-iscsi",
        "nfs-common",
        "iscsid",
        "iscsi_tcp",
        "dm_crypt",
        "multipath",
        "nvidia-smi",
        "nvidia-container-runtime",
        "--check",
    ] {
        assert!(script.contains(needle), "host-prereqs.sh lacks {needle}");
    }
    assert!(script.contains("akula-prime) GPU=1"));
    assert!(script.contains("homelab) GPU=0"));
}

/// The README's bootstrap list and the Taskfile's bootstrap tasks: same steps, same order.
#[test]
fn readme_bootstrap_is_the_taskfile_order() {
    let files = rendered();
    let taskfile = &docs(&files, "Taskfile.yml")[0];
    let tasks: Vec<String> = taskfile["tasks"]
        .as_object()
        .expect("tasks")
        .keys()
        .filter(|k| k.starts_with("bootstrap-"))
        .cloned()
        .collect();
    // serde_json's map keeps insertion order only with preserve_order; read the file order.
    let text = file(&files, "Taskfile.yml");
    let mut in_file: Vec<(usize, String)> = tasks
        .iter()
        .map(|t| {
            (
                text.find(&format!("\n  {t}:")).expect("task in file"),
                t.clone(),
            )
        })
        .collect();
    in_file.sort();
    let task_order: Vec<String> = in_file.into_iter().map(|(_, t)| t).collect();
    let readme = file(&files, "README.md");
    let section = readme
        .split("## Bootstrap")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("bootstrap section");
    let readme_order: Vec<String> = section
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .filter_map(|l| l.split("(`task ").nth(1))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    assert_eq!(
        task_order,
        [
            "bootstrap-hosts",
            "bootstrap-storage",
            "bootstrap-k3s-server",
            "bootstrap-k3s-agents",
            "bootstrap-releases",
            "bootstrap-secrets",
            "bootstrap-root-app",
            "bootstrap-gitlab-runner",
        ]
    );
    assert_eq!(readme_order, task_order);
    for t in &task_order {
        let task = &taskfile["tasks"][t.as_str()];
        assert!(
            task["status"].as_array().is_some_and(|s| !s.is_empty()),
            "{t} has no check"
        );
    }
    assert!(
        !text.contains("host-setup:"),
        "the old second bootstrap is gone"
    );
}

#[test]
fn the_gpu_is_advertised_and_used() {
    let files = rendered();
    let app = &docs(
        &files,
        "argocd/applications/infrastructure/nvidia-device-plugin.yaml",
    )[0];
    assert_eq!(app["spec"]["sources"][0]["chart"], "nvidia-device-plugin");
    assert_eq!(app["spec"]["sources"][0]["targetRevision"], "0.20.0");
    let rc = &docs(
        &files,
        "infrastructure/nvidia-device-plugin/runtime/runtimeclass.yaml",
    )[0];
    assert_eq!(rc["kind"], "RuntimeClass");
    assert_eq!(rc["handler"], "nvidia");
    let values = &docs(&files, "infrastructure/nvidia-device-plugin/values.yaml")[0];
    assert_eq!(values["runtimeClassName"], "nvidia");
    let ollama = docs(&files, "apps/ai-services/ollama/ollama.yaml");
    let gpu = find(&ollama, "Deployment", "ollama");
    assert_eq!(
        gpu["spec"]["template"]["spec"]["runtimeClassName"],
        "nvidia"
    );
    let runner = &docs(&files, "apps/arc/arc-linux-gpu-values.yaml")[0];
    assert_eq!(runner["template"]["spec"]["runtimeClassName"], "nvidia");
}

fn tolerates_gpu(list: &Value) -> bool {
    list.as_array().is_some_and(|l| {
        l.iter()
            .any(|t| t["key"] == "nvidia.com/gpu" && t["effect"] == "NoSchedule")
    })
}

#[test]
fn daemonsets_that_must_run_on_the_gpu_node_tolerate_its_taint() {
    let files = rendered();
    let longhorn = &docs(&files, "infrastructure/longhorn/values.yaml")[0];
    // Keys as the longhorn 1.12 chart reads them.
    assert!(tolerates_gpu(&longhorn["longhornManager"]["tolerations"]));
    assert!(tolerates_gpu(&longhorn["longhornDriver"]["tolerations"]));
    assert_eq!(
        longhorn["defaultSettings"]["taintToleration"],
        "nvidia.com/gpu:NoSchedule"
    );
    let trivy = &docs(&files, "infrastructure/trivy-operator/values.yaml")[0];
    assert!(tolerates_gpu(&trivy["nodeCollector"]["tolerations"]));
    let plugin = &docs(&files, "infrastructure/nvidia-device-plugin/values.yaml")[0];
    assert!(tolerates_gpu(&plugin["tolerations"]));
}

#[test]
fn placeholders_never_hold_a_sync_wave() {
    let files = rendered();
    for (path, _) in files
        .iter()
        .filter(|(p, _)| p.starts_with("secrets/homelab") && !p.ends_with("kustomization.yaml"))
    {
        let path = path.to_string_lossy();
        let sealed = &docs(&files, &path)[0];
        let annotations = &sealed["metadata"]["annotations"];
        let marker = annotations["homelab.dev/placeholder"]
            .as_str()
            .unwrap_or("");
        assert!(
            marker == "true" || marker == "deferred",
            "{path}: placeholder marker {marker:?}"
        );
        assert_eq!(
            annotations["argocd.argoproj.io/ignore-healthcheck"], "true",
            "{path}: a placeholder that cannot decrypt is Degraded and holds its wave"
        );
    }
}

#[test]
fn no_wait_for_first_consumer_claim_without_a_consumer() {
    let files = rendered();
    for (path, _) in files
        .iter()
        .filter(|(p, _)| p.starts_with("apps/ai-services") && !p.ends_with("kustomization.yaml"))
    {
        let path = path.to_string_lossy();
        let all = docs(&files, &path);
        for pvc in all.iter().filter(|d| d["kind"] == "PersistentVolumeClaim") {
            let name = &pvc["metadata"]["name"];
            let consumed = all.iter().any(|d| {
                d["kind"] == "Deployment"
                    && d["spec"]["replicas"].as_u64() != Some(0)
                    && d["spec"]["template"]["spec"]["volumes"]
                        .as_array()
                        .is_some_and(|v| {
                            v.iter()
                                .any(|v| &v["persistentVolumeClaim"]["claimName"] == name)
                        })
            });
            assert!(consumed, "{path}: claim {name} has no running consumer");
        }
    }
}

#[test]
fn the_runner_token_is_deferred_and_nothing_waits_for_it() {
    let cfg = default_config();
    let specs = render::sealed_secrets(&cfg);
    let token = specs
        .iter()
        .find(|s| s.name == "gitlab-runner-token")
        .expect("runner token");
    assert!(token.deferred);
    assert!(specs
        .iter()
        .filter(|s| s.name != "gitlab-runner-token")
        .all(|s| !s.deferred));
    let max_wave = homelab_platform::model::derive(&cfg)
        .apps
        .iter()
        .map(|a| a.wave)
        .max();
    assert_eq!(Some(cfg.components.gitlab_runner.sync_wave), max_wave);
}

#[test]
fn ci_installs_homelab_from_the_pinned_image_and_hooks() {
    let files = rendered();
    let cfg = default_config();
    let image = format!("{}:{}", cfg.tooling.ci_image, cfg.tooling.homelab_version);
    let gitlab = &docs(&files, ".gitlab-ci.yml")[0];
    assert_eq!(gitlab["default"]["image"], image.as_str());
    let gitlab_text = file(&files, ".gitlab-ci.yml");
    assert!(!gitlab_text.contains("apt-get") && !gitlab_text.contains("cargo install"));
    let github = file(&files, ".github/workflows/validate.yml");
    assert!(!github.contains("cargo install"));
    assert!(github.contains(&image));
    let precommit = &docs(&files, ".pre-commit-config.yaml")[0];
    let repos = precommit["repos"].as_array().expect("repos");
    assert!(
        !repos
            .iter()
            .any(|r| r["repo"] == "https://github.com/yannh/kubeconform"),
        "kubeconform ships no pre-commit hook"
    );
    let ours = repos
        .iter()
        .find(|r| r["repo"] == cfg.tooling.homelab_repo.as_str())
        .expect("homelab hooks");
    assert_eq!(ours["rev"], format!("v{}", cfg.tooling.homelab_version));
    let ids: Vec<&str> = ours["hooks"]
        .as_array()
        .expect("hooks")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["homelab-check", "homelab-validate", "homelab-render-drift"]
    );
    // The runner's jobs use the same image.
    let runner = file(&files, "apps/gitlab-runner/values.yaml");
    assert!(runner.contains(&format!("image = \"{image}\"")));
}

#[test]
fn the_default_tooling_is_this_release() {
    let cfg = default_config();
    assert_eq!(cfg.tooling.homelab_version, env!("CARGO_PKG_VERSION"));
    // The workspace's `repository` is where pre-commit finds .pre-commit-hooks.yaml.
    let workspace = include_str!("../../../Cargo.toml");
    assert!(workspace.contains(&format!("repository = \"{}\"", cfg.tooling.homelab_repo)));
}

#[test]
fn kube_api_egress_is_the_server_endpoint_only() {
    let files = rendered();
    for (path, _) in files
        .iter()
        .filter(|(p, _)| p.starts_with("infrastructure/network-policies/"))
    {
        let path = path.to_string_lossy();
        if path.ends_with("kustomization.yaml") {
            continue;
        }
        for policy in docs(&files, &path)
            .iter()
            .filter(|d| d["metadata"]["name"] == "allow-kube-api")
        {
            let egress = &policy["spec"]["egress"];
            assert_eq!(egress.as_array().map(Vec::len), Some(1), "{path}");
            assert_eq!(
                egress[0]["to"][0]["ipBlock"]["cidr"], "10.0.0.10/32",
                "{path}"
            );
            assert_eq!(egress[0]["to"].as_array().map(Vec::len), Some(1), "{path}");
            assert_eq!(egress[0]["ports"][0]["port"], 6443, "{path}");
            assert_eq!(
                egress[0]["ports"].as_array().map(Vec::len),
                Some(1),
                "{path}"
            );
        }
    }
}

#[test]
fn the_lan_reaches_ollama_on_11434_and_traefik_does_not_publish_it() {
    let files = rendered();
    let ollama = docs(&files, "apps/ai-services/ollama/ollama.yaml");
    let lan = find(&ollama, "Service", "ollama-lan");
    assert_eq!(lan["spec"]["type"], "LoadBalancer");
    assert_eq!(lan["spec"]["ports"][0]["port"], 11434);
    assert_eq!(lan["spec"]["loadBalancerSourceRanges"][0], "192.168.0.0/16");
    assert!(
        !ollama.iter().any(|d| d["kind"] == "Ingress"),
        "Ollama's unauthenticated API is published through Traefik"
    );
    let policies = docs(&files, "infrastructure/network-policies/gpu-workloads.yaml");
    let allow = find(&policies, "NetworkPolicy", "ollama-allow-lan");
    let from = &allow["spec"]["ingress"][0]["from"];
    assert_eq!(from[0]["ipBlock"]["cidr"], "192.168.0.0/16");
    assert_eq!(
        from[1]["podSelector"]["matchLabels"]["svccontroller.k3s.cattle.io/svcname"],
        "ollama-lan"
    );
    assert!(!policies
        .iter()
        .any(|d| d["metadata"]["name"] == "allow-ingress-traefik-ollama"));
}

/// Keys checked one by one against the pinned charts' values (gitlab 9.11, gitlab-runner 0.88):
/// each key set here is one the chart reads, and the keys that changed name are the new ones.
#[test]
fn gitlab_values_use_keys_the_chart_reads() {
    let files = rendered();
    let values = &docs(&files, "apps/gitlab/values-homelab.yaml")[0];
    assert_eq!(values["global"]["kas"]["enabled"], false);
    assert!(
        values["gitlab"]["kas"].is_null(),
        "gitlab.kas.enabled is not the chart's key"
    );
    assert!(
        values["registry"]["persistence"].is_null(),
        "the registry chart has no persistence: its storage is object storage"
    );
    assert_eq!(values["global"]["minio"]["enabled"], true);
    assert_eq!(values["installCertmanager"], false);
    assert!(
        values["certmanager"]["install"].is_null(),
        "certmanager.install fails the chart's upgrade check since 9.3"
    );
    for (component, key) in [("webservice", "replicaCount"), ("sidekiq", "replicas")] {
        assert!(
            values["gitlab"][component][key].is_null(),
            "{component} runs under an HPA: {key} is not read"
        );
        assert_eq!(values["gitlab"][component]["maxReplicas"], 1);
    }
    assert!(values["registry"]["replicaCount"].is_null());
    assert_eq!(values["registry"]["hpa"]["maxReplicas"], 1);
    assert_eq!(
        values["registry"]["maintenance"]["readonly"]["enabled"],
        false
    );
    let taskfile = file(&files, "Taskfile.yml");
    let gc = taskfile
        .split("registry-gc:")
        .nth(1)
        .expect("registry-gc task");
    assert!(gc.contains("preconditions:") && gc.contains("readonly"));

    let runner = &docs(&files, "apps/gitlab-runner/values.yaml")[0];
    assert_eq!(runner["rbac"]["create"], true);
    assert_eq!(runner["serviceAccount"]["create"], true);
    let rules = runner["rbac"]["rules"]
        .as_array()
        .expect("least-privilege rules");
    assert!(
        !rules.is_empty(),
        "no rules = every verb on every core resource"
    );
    for rule in rules {
        assert!(rule["resources"]
            .as_array()
            .is_some_and(|r| !r.iter().any(|x| x == "*")));
    }
}

#[test]
fn versions_are_current_and_renovate_keeps_them() {
    for (chart, version) in [
        ("longhorn", "1.12.1"),
        ("cert-manager", "v1.21.1"),
        ("kyverno", "3.9.0"),
        ("sealed-secrets", "2.18.5"),
        ("argo-cd", "10.1.1"),
        ("gha-runner-scale-set-controller", "0.14.2"),
        ("trivy-operator", "0.34.0"),
        ("nvidia-device-plugin", "0.20.0"),
        ("gitlab", "9.11.11"),
        ("gitlab-runner", "0.88.3"),
    ] {
        assert!(
            DEFAULT_CONFIG.contains(&format!("name = \"{chart}\", version = \"{version}\"")),
            "{chart} is not pinned at {version}"
        );
    }
    for image in [
        "docker.io/ollama/ollama:0.34.0",
        "ghcr.io/berriai/litellm:v1.89.4",
        "ghcr.io/open-webui/open-webui:v0.11.2",
        "docker.n8n.io/n8nio/n8n:2.39.6",
        "docker.io/searxng/searxng:2026.1.2-3d88876a3",
        "ghcr.io/actions/actions-runner:2.334.0",
    ] {
        assert!(
            DEFAULT_CONFIG.contains(&format!("image = \"{image}\"")),
            "{image} is not pinned"
        );
    }
    let files = rendered();
    let renovate: Value = serde_json::from_str(file(&files, "renovate.json")).expect("json");
    let managers = renovate["customManagers"].as_array().expect("managers");
    assert!(managers.len() >= 3);
    for m in managers {
        for pattern in m["matchStrings"].as_array().expect("patterns") {
            assert!(pattern.as_str().is_some_and(|p| !p.contains("{{")));
        }
    }
}

/// Every container image the rendered manifests run is pinned in platform.toml, where the
/// rendered Renovate configuration finds it (its own regex, run here): an image written into a
/// template would never be bumped. The homelab tooling images follow `homelab_version`.
#[test]
fn renovate_finds_every_rendered_image_in_platform_toml() {
    let files = rendered();
    let renovate: Value = serde_json::from_str(file(&files, "renovate.json")).expect("json");
    let pinned: Vec<String> = renovate["customManagers"]
        .as_array()
        .expect("managers")
        .iter()
        .filter(|m| m["datasourceTemplate"] == "docker" && m["packageNameTemplate"].is_null())
        .flat_map(|m| m["matchStrings"].as_array().cloned().unwrap_or_default())
        .flat_map(|p| {
            let re = regex::Regex::new(p.as_str().expect("pattern")).expect("regex");
            re.captures_iter(DEFAULT_CONFIG)
                .map(|c| format!("{}:{}", &c["depName"], &c["currentValue"]))
                .collect::<Vec<_>>()
        })
        .collect();
    let config = default_config();
    let tooling = format!(
        "{}:{}",
        config.tooling.ci_image, config.tooling.homelab_version
    );
    let image_line = regex::Regex::new(r#"^\s*(?:- )?image: *"?([^"\s]+)"?\s*$"#).expect("regex");
    let mut seen = 0;
    for (path, text) in files.iter() {
        for line in text.lines() {
            let Some(c) = image_line.captures(line) else {
                continue;
            };
            let image = &c[1];
            if image.contains('*') || image.contains("{{") || image == tooling {
                continue;
            }
            seen += 1;
            assert!(
                pinned.iter().any(|p| p == image),
                "{}: {image} is not pinned in platform.toml where Renovate bumps it",
                path.display()
            );
        }
    }
    assert!(seen >= 6, "only {seen} images found");
}

/// What the rendered CI and hooks point at exists in this repository: the hook manifest that
/// pre-commit builds (from the Dockerfile, since the root is a virtual workspace) and a release
/// workflow that publishes the pinned images.
#[test]
fn this_repository_ships_what_the_rendered_ci_uses() {
    let hooks = include_str!("../../../.pre-commit-hooks.yaml");
    let (documents, _) = homelab_manifest::parse_str(".pre-commit-hooks.yaml", hooks);
    let list = documents[0]
        .value
        .as_array()
        .expect("a list of hooks")
        .clone();
    let files = rendered();
    let precommit = &docs(&files, ".pre-commit-config.yaml")[0];
    let cfg = default_config();
    let ours = precommit["repos"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|r| r["repo"] == cfg.tooling.homelab_repo.as_str())
        })
        .expect("homelab hooks");
    for hook in ours["hooks"].as_array().expect("hooks") {
        let def = list
            .iter()
            .find(|h| h["id"] == hook["id"])
            .unwrap_or_else(|| panic!("hook {} is not in .pre-commit-hooks.yaml", hook["id"]));
        assert_eq!(
            def["language"], "docker",
            "pre-commit cannot cargo-install a virtual workspace"
        );
    }
    let dockerfile = include_str!("../../../Dockerfile");
    let last_stage = dockerfile
        .lines()
        .rfind(|l| l.starts_with("FROM "))
        .expect("stages");
    assert_eq!(
        last_stage, "FROM scratch AS homelab",
        "pre-commit builds the last stage"
    );
    assert!(dockerfile.contains("AS ci") && dockerfile.contains("USER 1000:1000"));
    let release = include_str!("../../../.github/workflows/release.yml");
    for image in [&cfg.tooling.homelab_image, &cfg.tooling.ci_image] {
        let name = image.rsplit('/').next().expect("image name");
        assert!(
            release.contains(&format!("/{name}:${{{{ steps.version.outputs.tag }}}}")),
            "the release does not publish {name}"
        );
    }
}

/// Kyverno applies every Pod rule to the pod controllers under generated names: the system
/// namespaces' exception must name those rules and kinds, or Longhorn's manager DaemonSet and
/// the NVIDIA device plugin are blocked although their Pods would be let in.
#[test]
fn the_system_exception_covers_the_controllers_kyverno_generates_rules_for() {
    let files = rendered();
    let exception = find(
        &docs(
            &files,
            "policies/kyverno/exceptions/system-namespace-exception.yaml",
        ),
        "PolicyException",
        "system-namespace-exception",
    )
    .clone();
    let exceptions = exception["spec"]["exceptions"].as_array().unwrap();
    let rules_of = |policy: &str| -> Vec<String> {
        exceptions
            .iter()
            .find(|e| e["policyName"] == policy)
            .unwrap_or_else(|| panic!("no exception for {policy}"))["ruleNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    for (policy, rule) in [
        ("pod-security-baseline", "disallow-privileged"),
        ("pod-security-baseline", "require-run-as-non-root"),
        ("disallow-host-access", "disallow-host-path"),
        ("disallow-host-access", "disallow-host-namespaces"),
        ("require-run-as-non-root", "run-as-non-root"),
    ] {
        let rules = rules_of(policy);
        for name in [
            rule.to_string(),
            format!("autogen-{rule}"),
            format!("autogen-cronjob-{rule}"),
        ] {
            assert!(rules.contains(&name), "{policy}: {name} not in {rules:?}");
        }
    }
    let resources = &exception["spec"]["match"]["any"][0]["resources"];
    for kind in [
        "Pod",
        "DaemonSet",
        "Deployment",
        "Job",
        "CronJob",
        "StatefulSet",
    ] {
        assert!(
            resources["kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == kind),
            "{kind} not covered"
        );
    }
    let namespaces = resources["namespaces"].as_array().unwrap();
    for ns in ["kube-system", "longhorn-system", "gpu-workloads"] {
        assert!(namespaces.iter().any(|n| n == ns), "{ns} not exempt");
    }
}

/// The chart values keys that give chart-made pods their resources and a verifiable non-root
/// user (keys checked against longhorn 1.12.1, argo-cd 10.1.1 and trivy-operator 0.34.0).
#[test]
fn chart_pods_get_resources_and_run_as_non_root_through_their_values() {
    let files = rendered();
    let longhorn = &docs(&files, "infrastructure/longhorn/values.yaml")[0];
    assert_eq!(longhorn["preUpgradeChecker"]["jobEnabled"], false);
    let manager = &longhorn["longhornManager"]["resources"];
    assert_eq!(manager["requests"]["memory"], "256Mi");
    assert!(manager["limits"]["cpu"].is_number() || manager["limits"]["cpu"].is_string());
    let argocd = &docs(&files, "infrastructure/argocd/values.yaml")[0];
    let init = &argocd["redisSecretInit"]["resources"];
    for section in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(!init[section][resource].is_null(), "{section}.{resource}");
        }
    }
    let trivy = &docs(&files, "infrastructure/trivy-operator/values.yaml")[0];
    assert_eq!(trivy["podSecurityContext"]["runAsNonRoot"], true);
    assert_eq!(trivy["podSecurityContext"]["runAsUser"], 10000);
    // What Longhorn's values cannot set is accepted on its Application, with the reason.
    let app = file(&files, "argocd/applications/infrastructure/longhorn.yaml");
    let line = app
        .lines()
        .find(|l| l.contains("# homelab: ignore[resources/missing]"))
        .expect("Longhorn's Application accepts resources/missing");
    assert!(line.contains("longhornManager.resources"), "{line}");
}

/// `.sops.yaml` encrypts for platform.toml's `[sops] age_recipients`; while none is set, every
/// creation rule holds the same placeholder and the file says so.
#[test]
fn sops_recipients_come_from_platform_toml() {
    const RECIPIENTS: [&str; 2] = [
        "age1l3nzv85220ygnk4xx3ekk39aytssuyrxtr95wsalykrysxkcf45qfkf5g2",
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    ];
    let ages = |files: &render::Rendered| -> Vec<String> {
        docs(files, ".sops.yaml")[0]["creation_rules"]
            .as_array()
            .expect("creation rules")
            .iter()
            .map(|r| r["age"].as_str().expect("age").to_owned())
            .collect()
    };
    let files = rendered();
    assert!(file(&files, ".sops.yaml").contains("NO RECIPIENT YET"));
    let placeholders = ages(&files);
    assert_eq!(placeholders.len(), 2);
    assert!(placeholders.iter().all(|a| a.starts_with("age1replace")));

    let mut config = default_config();
    config.sops.age_recipients = RECIPIENTS.iter().map(|r| r.to_string()).collect();
    let files = render::render(&config).expect("render");
    assert!(!file(&files, ".sops.yaml").contains("NO RECIPIENT YET"));
    assert_eq!(ages(&files), vec![RECIPIENTS.join(","); 2]);
}

/// One source of the guide's defaults: the default platform.toml and its render are exactly
/// the facts `check` (rules' guide settings) and `verify` (default expectations) take from
/// `homelab_k8s::guide`, critical policies included.
#[test]
fn the_default_render_is_the_guide_check_and_verify_expect() {
    use homelab_k8s::guide;
    let config = default_config();
    assert_eq!(config.storage.default_class, guide::DEFAULT_STORAGE_CLASS);
    assert_eq!(config.storage.gpu_class, guide::GPU_STORAGE_CLASS);
    assert_eq!(config.storage.max_replicas, guide::DEFAULT_REPLICAS);
    assert_eq!(
        config.storage.longhorn_snapshot.retain,
        guide::SNAPSHOT_RETAIN
    );
    assert_eq!(config.cluster.lan_cidr, guide::LAN_CIDR);
    assert_eq!(
        config.components.longhorn.namespace,
        guide::LONGHORN_NAMESPACE
    );
    let gpu_nodes: Vec<_> = config
        .nodes
        .iter()
        .filter(|n| n.gpu.is_some())
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(gpu_nodes, [guide::GPU_NODE]);

    let files = rendered();
    let mut enforced = Vec::new();
    let mut privileged = Vec::new();
    for (path, _) in files.iter() {
        let name = path.to_string_lossy();
        if !(name.ends_with(".yaml")
            && (name.starts_with("policies/") || name.starts_with("infrastructure/namespaces/")))
        {
            continue;
        }
        for doc in docs(&files, &name) {
            let action = &doc["spec"]["validationFailureAction"];
            if doc["kind"] == "ClusterPolicy" && action == "Enforce" {
                enforced.push(doc["metadata"]["name"].as_str().expect("name").to_owned());
            }
            if doc["kind"] == "Namespace"
                && doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
            {
                privileged.push(doc["metadata"]["name"].as_str().expect("name").to_owned());
            }
        }
    }
    enforced.sort();
    privileged.sort();
    let mut critical = guide::CRITICAL_POLICIES.to_vec();
    critical.sort_unstable();
    assert_eq!(enforced, critical);
    let mut expected = guide::PRIVILEGED_NAMESPACES.to_vec();
    expected.sort_unstable();
    assert_eq!(privileged, expected);
}
