//! Acceptance of `homelab check` (issue 5): the repository `homelab init` renders has no
//! finding, and each deliberately broken copy of it (one fault each, made by editing the
//! rendered text) reports exactly the expected rule at the line of the fault. Expected lines
//! are found by searching the edited file for the faulty text, never hard-coded.

mod check_common;

use check_common::Copy;

#[test]
fn the_rendered_repository_has_no_findings() {
    let repo = Copy::new();
    let out = repo.check(&[]);
    assert!(
        out.findings.is_empty(),
        "a fresh `homelab init` tree must check clean, got:\n{}",
        out.describe()
    );
    assert_eq!(out.code, 0);
    assert!(out.json["summary"]["objects_checked"].as_u64().unwrap_or(0) > 50);
}

const NETPOL_AI: &str = "infrastructure/network-policies/ai-services.yaml";
const NAMESPACES: &str = "infrastructure/namespaces/namespaces.yaml";
const OLLAMA: &str = "apps/ai-services/ollama/ollama.yaml";
const SEARXNG: &str = "apps/ai-services/searxng/searxng.yaml";
const KYVERNO_APP: &str = "argocd/applications/infrastructure/kyverno.yaml";
const KYVERNO_POLICIES_APP: &str = "argocd/applications/infrastructure/kyverno-policies.yaml";
const STORAGECLASSES: &str = "infrastructure/longhorn/storage/storageclasses.yaml";
const EXCEPTION: &str = "policies/kyverno/exceptions/system-namespace-exception.yaml";
const PINNED: &str = "policies/kyverno/security/require-pinned-images.yaml";
const GITLAB_VALUES: &str = "apps/gitlab/values-homelab.yaml";
const GITLAB_APP: &str = "argocd/applications/apps/gitlab.yaml";
const ARC_VALUES: &str = "apps/arc/controller-values.yaml";

/// A GitHub personal access token shape (`ghp_` + 36 alphanumerics); not a real token.
pub const PLANTED_TOKEN: &str = "ghp_Zq8vR2mT4kL9xW3nB7cY1pH6sD0fJ5gA2eUo";

#[test]
fn namespace_without_default_deny() {
    let repo = Copy::new();
    // The default-deny is the first NetworkPolicy of the file; the next is allow-dns.
    repo.cut(NETPOL_AI, "apiVersion: networking.k8s.io/v1", "---");
    assert!(!repo.read(NETPOL_AI).contains("default-deny-all"));
    let out = repo.check(&[]);
    let line = repo.line_of(NAMESPACES, "name: ai-services", None);
    let found = out.assert_only("network/default-deny", NAMESPACES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn latest_image_in_a_workload() {
    let repo = Copy::new();
    repo.replace(
        SEARXNG,
        "image: docker.io/searxng/searxng:2026.1.2-3d88876a3",
        "image: docker.io/searxng/searxng:latest",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(SEARXNG, "searxng:latest", None);
    let found = out.assert_only("image/latest-tag", SEARXNG, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn plain_secret_with_string_data() {
    let repo = Copy::new();
    let mut text = repo.read(SEARXNG);
    text.push_str(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: searxng-plain\n  namespace: ai-services\ntype: Opaque\nstringData:\n  SEARXNG_BASE: searxng\n",
    );
    repo.write(SEARXNG, &text);
    let out = repo.check(&[]);
    // The finding points at the committed values (`stringData:`), inside the new Secret.
    let line = repo.line_of(SEARXNG, "stringData:", Some("kind: Secret"));
    let found = out.assert_only("secrets/plain-secret", SEARXNG, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
    assert!(
        found[0].message.contains("searxng-plain"),
        "{}",
        out.describe()
    );
}

#[test]
fn sync_wave_inversion() {
    let repo = Copy::new();
    // kyverno-policies needs kyverno's CRDs (wave -2): moving it to -3 syncs it first.
    repo.replace(
        KYVERNO_POLICIES_APP,
        "argocd.argoproj.io/sync-wave: \"-1\"",
        "argocd.argoproj.io/sync-wave: \"-3\"",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(KYVERNO_POLICIES_APP, "sync-wave: \"-3\"", None);
    let found = out.assert_only("argocd/sync-wave", KYVERNO_POLICIES_APP, line);
    assert!(
        found.iter().any(|f| f.message.contains("kyverno")),
        "{}",
        out.describe()
    );
}

#[test]
fn values_path_to_a_missing_file() {
    let repo = Copy::new();
    repo.replace(
        KYVERNO_APP,
        "$values/infrastructure/kyverno/values.yaml",
        "$values/infrastructure/kyverno/values-prod.yaml",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(KYVERNO_APP, "values-prod.yaml", None);
    let found = out.assert_only("argocd/values-path", KYVERNO_APP, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn ollama_without_gpu_placement() {
    let repo = Copy::new();
    repo.replace(OLLAMA, "      runtimeClassName: nvidia\n", "");
    // The GPU Deployment's affinity and tolerations sit between automount and securityContext.
    repo.cut(OLLAMA, "      affinity:", "      securityContext:");
    let text = repo.read(OLLAMA);
    let gpu_part = &text[..text.find("name: ollama-cpu-fallback").expect("fallback")];
    assert!(!gpu_part.contains("tolerations") && !gpu_part.contains("affinity"));
    let out = repo.check(&[]);
    let deployment = repo.line_of(OLLAMA, "kind: Deployment", None);
    let gpu_request = repo.line_of(OLLAMA, "nvidia.com/gpu: 1", None);
    let found: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.rule == "gpu/placement")
        .collect();
    assert!(
        !found.is_empty() && found.iter().all(|f| f.file == OLLAMA),
        "{}",
        out.describe()
    );
    // The finding points into the GPU Deployment (its header or its GPU request).
    assert!(
        found
            .iter()
            .all(|f| (deployment..=gpu_request + 4).contains(&f.line)),
        "{}",
        out.describe()
    );
    out.assert_only("gpu/placement", OLLAMA, found[0].line);
}

#[test]
fn container_without_resources() {
    let repo = Copy::new();
    repo.cut(
        SEARXNG,
        "          resources:",
        "          securityContext:",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(SEARXNG, "- name: searxng", Some("containers:"));
    let found = out.assert_only("resources/missing", SEARXNG, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn ingress_from_anywhere() {
    let repo = Copy::new();
    let text = repo.read(NETPOL_AI);
    // Add an ipBlock peer to the first ingress `from:` list of the file.
    let at = text
        .find("    - from:\n")
        .expect("an ingress rule with from")
        + "    - from:\n".len();
    let mut edited = text.clone();
    edited.insert_str(at, "        - ipBlock:\n            cidr: 0.0.0.0/0\n");
    repo.write(NETPOL_AI, &edited);
    let out = repo.check(&[]);
    let line = repo.line_of(NETPOL_AI, "cidr: 0.0.0.0/0", None);
    let found = out.assert_only("network/ipblock-outside-lan", NETPOL_AI, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn load_balancer_outside_kube_system() {
    let repo = Copy::new();
    let text = repo.read(OLLAMA);
    let service = text.find("kind: Service\n").expect("service");
    let edited = format!(
        "{}{}",
        &text[..service],
        text[service..].replacen("type: ClusterIP", "type: LoadBalancer", 1)
    );
    repo.write(OLLAMA, &edited);
    let out = repo.check(&[]);
    let line = repo.line_of(OLLAMA, "type: LoadBalancer", None);
    let found = out.assert_only("network/exposed-service", OLLAMA, line);
    assert!(found.iter().all(|f| f.severity == "warning"));
}

#[test]
fn critical_policy_in_audit() {
    let repo = Copy::new();
    repo.replace(
        PINNED,
        "validationFailureAction: Enforce",
        "validationFailureAction: Audit",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(PINNED, "validationFailureAction: Audit", None);
    out.assert_only("kyverno/critical-audit", PINNED, line);
}

#[test]
fn policy_exception_widened() {
    let repo = Copy::new();
    repo.replace(
        EXCEPTION,
        "            - longhorn-system\n",
        "            - longhorn-system\n            - ai-services\n",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(EXCEPTION, "- ai-services", None);
    let found = out.assert_only("kyverno/broad-exception", EXCEPTION, line);
    assert!(
        found.iter().any(|f| f.message.contains("ai-services")),
        "{}",
        out.describe()
    );
}

#[test]
fn longhorn_class_on_btrfs() {
    let repo = Copy::new();
    let text = repo.read(STORAGECLASSES);
    repo.write(
        STORAGECLASSES,
        &text.replacen("fsType: \"ext4\"", "fsType: \"btrfs\"", 1),
    );
    let out = repo.check(&[]);
    let line = repo.line_of(STORAGECLASSES, "fsType: \"btrfs\"", None);
    let found = out.assert_only("storage/longhorn-btrfs", STORAGECLASSES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn default_class_with_more_replicas_than_storage_nodes() {
    let repo = Copy::new();
    repo.replace(
        STORAGECLASSES,
        "numberOfReplicas: \"2\"",
        "numberOfReplicas: \"3\"",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(STORAGECLASSES, "numberOfReplicas: \"3\"", None);
    let found = out.assert_only("storage/replicas-exceed-nodes", STORAGECLASSES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn gitlab_webservice_over_budget() {
    let repo = Copy::new();
    let text = repo.read(GITLAB_VALUES);
    let web = text.find("  webservice:").expect("webservice");
    let edited = format!(
        "{}{}",
        &text[..web],
        text[web..].replacen("minReplicas: 1", "minReplicas: 4", 1)
    );
    repo.write(GITLAB_VALUES, &edited);
    let out = repo.check(&[]);
    let line = repo.line_of(GITLAB_VALUES, "minReplicas: 4", None);
    let found = out.assert_only("gitlab/over-budget", GITLAB_VALUES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn github_token_in_values() {
    let repo = Copy::new();
    let mut text = repo.read(ARC_VALUES);
    text.push_str(&format!("githubToken: {PLANTED_TOKEN}\n"));
    repo.write(ARC_VALUES, &text);
    let out = repo.check(&[]);
    let line = repo.line_of(ARC_VALUES, PLANTED_TOKEN, None);
    let found = out.assert_only("secrets/leaked-credential", ARC_VALUES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
    assert!(
        !out.stdout.contains(PLANTED_TOKEN) && !out.stdout.contains(&PLANTED_TOKEN[4..]),
        "the JSON report shows the token"
    );
    let fingerprint = out.json["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["rule"] == "secrets/leaked-credential")
        .and_then(|d| d["fingerprint"].as_str())
        .map(str::to_string);
    assert!(
        fingerprint.is_some_and(|f| !f.is_empty()),
        "secrets carry a fingerprint"
    );
}

#[test]
fn application_with_wildcard_revision() {
    let repo = Copy::new();
    repo.replace(
        GITLAB_APP,
        "targetRevision: \"9.11.11\"",
        "targetRevision: \"*\"",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(GITLAB_APP, "targetRevision: \"*\"", None);
    let found = out.assert_only("argocd/unpinned-revision", GITLAB_APP, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn namespace_without_pss_labels() {
    let repo = Copy::new();
    let text = repo.read(NAMESPACES);
    let ns = text.find("  name: arc-runners\n").expect("arc-runners");
    let end = ns + text[ns..].find("---").unwrap_or(text.len() - ns);
    let stripped: String = text[ns..end]
        .lines()
        .filter(|l| !l.contains("pod-security.kubernetes.io/"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(stripped.len() < end - ns, "the namespace had PSS labels");
    let edited = format!("{}{}{}", &text[..ns], stripped, &text[end..]);
    repo.write(NAMESPACES, &edited);
    let out = repo.check(&[]);
    // The finding points at the namespace's `labels:` (where the PSS labels belong).
    let line = repo.line_of(NAMESPACES, "labels:", Some("name: arc-runners"));
    let found = out.assert_only("pss/namespace-labels", NAMESPACES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn application_not_reachable_from_root() {
    let repo = Copy::new();
    // A copy of an Application, renamed, in a folder no Application syncs.
    let rel = "clusters/staging/searxng.yaml";
    let app = repo.read("argocd/applications/apps/searxng.yaml").replacen(
        "name: searxng\n",
        "name: searxng-staging\n",
        1,
    );
    repo.write(rel, &app);
    let out = repo.check(&[]);
    let line = repo.line_of(rel, "name: searxng-staging", None);
    let found = out.assert_only("argocd/unreachable", rel, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn duplicate_application_name() {
    let repo = Copy::new();
    let rel = "argocd/applications/apps/searxng.yaml";
    repo.replace(rel, "  name: searxng\n", "  name: n8n\n");
    let out = repo.check(&[]);
    let line = repo.line_of(rel, "name: n8n", None);
    let found = out.assert_only("argocd/duplicate-name", rel, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn pvc_with_unknown_storage_class() {
    let repo = Copy::new();
    let n8n = "apps/ai-services/n8n/n8n.yaml";
    repo.replace(
        n8n,
        "storageClassName: longhorn-homelab",
        "storageClassName: longhorn-fast",
    );
    let out = repo.check(&[]);
    let line = repo.line_of(n8n, "storageClassName: longhorn-fast", None);
    let found = out.assert_only("storage/unknown-class", n8n, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

// ---- further faults, one per remaining rule family ----

#[test]
fn default_deny_egress_without_dns() {
    let repo = Copy::new();
    let rel = "infrastructure/network-policies/gpu-workloads.yaml";
    // allow-dns is the second NetworkPolicy of the file.
    repo.cut(rel, "  name: allow-dns", "---");
    let text = repo.read(rel);
    // `cut` kept the allow-dns header lines above `metadata:`; drop the now-empty document.
    let edited = text.replacen(
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n---",
        "---",
        1,
    );
    assert!(!edited.contains("allow-dns"));
    repo.write(rel, &edited);
    let out = repo.check(&[]);
    // At the default-deny's policyTypes (the Egress that denies DNS too).
    let line = repo.line_of(
        rel,
        "policyTypes: [Ingress, Egress]",
        Some("name: default-deny-all"),
    );
    let found = out.assert_only("network/dns-egress", rel, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn gpu_model_store_on_replicated_storage() {
    let repo = Copy::new();
    repo.replace(
        OLLAMA,
        "storageClassName: longhorn-gpu-local",
        "storageClassName: longhorn-homelab",
    );
    let out = repo.check(&[]);
    let pvc = repo.line_of(OLLAMA, "name: ollama-models", None);
    let class = repo.line_of(
        OLLAMA,
        "storageClassName: longhorn-homelab",
        Some("name: ollama-models"),
    );
    let found: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.rule == "storage/gpu-replicated")
        .collect();
    assert!(!found.is_empty(), "{}", out.describe());
    // At the GPU Deployment's claim, or at the claim's storageClassName.
    let claim = repo.line_of(OLLAMA, "claimName: ollama-models", None);
    assert!(
        found
            .iter()
            .all(|f| f.file == OLLAMA && [claim, class, pvc].contains(&f.line)),
        "{}",
        out.describe()
    );
    out.assert_only("storage/gpu-replicated", OLLAMA, found[0].line);
}

#[test]
fn application_without_sync_wave() {
    let repo = Copy::new();
    let rel = "argocd/applications/apps/n8n.yaml";
    repo.replace(rel, "    argocd.argoproj.io/sync-wave: \"1\"\n", "");
    let out = repo.check(&[]);
    let found: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.rule == "argocd/sync-wave")
        .collect();
    let kind = repo.line_of(rel, "kind: Application", None);
    let annotations = repo.line_of(rel, "annotations:", None);
    assert!(
        found.len() == 1 && found[0].file == rel && (kind..=annotations).contains(&found[0].line),
        "{}",
        out.describe()
    );
    out.assert_only("argocd/sync-wave", rel, found[0].line);
}

#[test]
fn pvc_synced_before_its_storage_class() {
    let repo = Copy::new();
    // Longhorn's StorageClasses (wave -1) moved after the GPU workloads (wave 1).
    let rel = "argocd/applications/infrastructure/longhorn-storage.yaml";
    repo.replace(
        rel,
        "argocd.argoproj.io/sync-wave: \"-1\"",
        "argocd.argoproj.io/sync-wave: \"2\"",
    );
    let out = repo.check(&[]);
    let found: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.rule == "argocd/sync-wave")
        .collect();
    assert!(!found.is_empty(), "{}", out.describe());
    assert!(
        found.iter().any(|f| f.message.contains("longhorn")),
        "{}",
        out.describe()
    );
    // Reported at the sync-wave annotation of each Application synced too early (the
    // rule cannot know which side moved); Ollama's PVCs need Longhorn's classes.
    for f in &found {
        let annotation = repo.line_of(&f.file, "argocd.argoproj.io/sync-wave:", None);
        assert_eq!(f.line, annotation, "{}", out.describe());
    }
    let ollama_app = "argocd/applications/apps/ollama.yaml";
    let line = repo.line_of(ollama_app, "argocd.argoproj.io/sync-wave:", None);
    out.assert_only("argocd/sync-wave", ollama_app, line);
}

#[test]
fn privileged_namespace_outside_the_exempt_list() {
    let repo = Copy::new();
    let text = repo.read(NAMESPACES);
    let ns = text
        .find("  name: n8n\n")
        .or_else(|| text.find("  name: ai-services\n"));
    let ns = ns.expect("an ordinary namespace");
    let end = ns + text[ns..].find("---").unwrap_or(text.len() - ns);
    let block = text[ns..end].replacen(
        "pod-security.kubernetes.io/enforce: \"baseline\"",
        "pod-security.kubernetes.io/enforce: \"privileged\"",
        1,
    );
    assert_ne!(block, text[ns..end], "namespace enforced baseline");
    repo.write(
        NAMESPACES,
        &format!("{}{}{}", &text[..ns], block, &text[end..]),
    );
    let out = repo.check(&[]);
    let line = repo.line_of(
        NAMESPACES,
        "enforce: \"privileged\"",
        Some(text[ns..].lines().next().expect("name line")),
    );
    let found = out.assert_only("pss/namespace-labels", NAMESPACES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn removed_api_version() {
    let repo = Copy::new();
    let mut text = repo.read(SEARXNG);
    text.push_str(
        "---\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: searxng\n  namespace: ai-services\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app: searxng\n",
    );
    repo.write(SEARXNG, &text);
    let out = repo.check(&[]);
    let line = repo.line_of(SEARXNG, "apiVersion: policy/v1beta1", None);
    let found = out.assert_only("schema/removed-api", SEARXNG, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

#[test]
fn helm_values_with_unknown_storage_class() {
    let repo = Copy::new();
    let text = repo.read(GITLAB_VALUES);
    repo.write(
        GITLAB_VALUES,
        &text.replacen(
            "storageClass: longhorn-homelab",
            "storageClass: longhorn-nvme",
            1,
        ),
    );
    let out = repo.check(&[]);
    let line = repo.line_of(GITLAB_VALUES, "storageClass: longhorn-nvme", None);
    let found = out.assert_only("storage/unknown-class", GITLAB_VALUES, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
}

// ---- sweeps: the same fault in every place it can occur (not only the one picked above) ----

/// Every namespace's default-deny, removed one at a time.
#[test]
fn sweep_default_deny_removed_in_each_namespace() {
    let template = Copy::new();
    let dir = template.path("infrastructure/network-policies");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let mut broken = 0;
    for file in files {
        let rel = format!("infrastructure/network-policies/{file}");
        let text = template.read(&rel);
        if !text.contains("name: default-deny-all") {
            continue;
        }
        let ns = file.trim_end_matches(".yaml");
        let repo = Copy::new();
        repo.cut(&rel, "apiVersion: networking.k8s.io/v1", "---");
        assert!(!repo.read(&rel).contains("default-deny-all"), "{rel}");
        let out = repo.check(&[]);
        let line = repo.line_of(NAMESPACES, &format!("name: {ns}"), None);
        let found = out.assert_only("network/default-deny", NAMESPACES, line);
        assert_eq!(found.len(), 1, "{rel}:\n{}", out.describe());
        assert!(found[0].message.contains(ns), "{}", out.describe());
        broken += 1;
    }
    assert!(broken >= 8, "only {broken} namespaces had a default-deny");
}

/// Every container image of the workload manifests, set to `:latest` one at a time.
#[test]
fn sweep_latest_tag_on_each_workload_image() {
    let template = Copy::new();
    let mut sites = Vec::new();
    for app in ["litellm", "n8n", "ollama", "open-webui", "searxng"] {
        let rel = format!("apps/ai-services/{app}/{app}.yaml");
        for (i, line) in template.read(&rel).lines().enumerate() {
            if let Some(image) = line.trim().strip_prefix("image: ") {
                sites.push((rel.clone(), i, image.to_string()));
            }
        }
    }
    assert!(sites.len() >= 6, "{sites:?}");
    for (rel, index, image) in sites {
        let repo = Copy::new();
        let (name, _tag) = image.rsplit_once(':').expect("tagged image");
        let mut lines: Vec<String> = repo.read(&rel).lines().map(str::to_string).collect();
        lines[index] = lines[index].replace(&image, &format!("{name}:latest"));
        repo.write(&rel, &(lines.join("\n") + "\n"));
        let out = repo.check(&[]);
        let found = out.assert_only("image/latest-tag", &rel, index as u32 + 1);
        assert_eq!(found.len(), 1, "{rel}:{}:\n{}", index + 1, out.describe());
    }
}

/// Every Namespace, its Pod Security labels removed one at a time.
#[test]
fn sweep_pss_labels_removed_from_each_namespace() {
    let template = Copy::new();
    let text = template.read(NAMESPACES);
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .map(|n| n.trim().to_string())
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    for ns in names {
        let repo = Copy::new();
        let start = text.find(&format!("  name: {ns}\n")).expect("namespace");
        let end = start + text[start..].find("---").unwrap_or(text.len() - start);
        let block: String = text[start..end]
            .lines()
            .filter(|l| !l.contains("pod-security.kubernetes.io/"))
            .map(|l| format!("{l}\n"))
            .collect();
        repo.write(
            NAMESPACES,
            &format!("{}{}{}", &text[..start], block, &text[end..]),
        );
        let out = repo.check(&[]);
        let name_line = repo.line_of(NAMESPACES, &format!("name: {ns}"), None);
        // At the namespace's `labels:` when it keeps other labels, else at its name.
        let at = out
            .findings
            .iter()
            .find(|f| f.rule == "pss/namespace-labels")
            .map(|f| f.line)
            .filter(|l| *l == name_line + 1)
            .unwrap_or(name_line);
        let found = out.assert_only("pss/namespace-labels", NAMESPACES, at);
        assert_eq!(found.len(), 1, "{ns}:\n{}", out.describe());
    }
}

// ---- secrets anywhere, GPU placement in Helm values ----

#[test]
fn private_key_in_a_config_map() {
    let repo = Copy::new();
    let mut text = repo.read(SEARXNG);
    // Not a real key: the PEM armour around random base64 is what the detector keys on.
    text.push_str(concat!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: searxng-tls\n  namespace: ai-services\n",
        "data:\n  key.pem: |\n    -----BEGIN RSA PRIVATE KEY-----\n",
        "    MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n",
        "    VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n",
        "    -----END RSA PRIVATE KEY-----\n",
    ));
    repo.write(SEARXNG, &text);
    let out = repo.check(&[]);
    let line = repo.line_of(SEARXNG, "-----BEGIN RSA PRIVATE KEY-----", None);
    let found = out.assert_only("secrets/leaked-credential", SEARXNG, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
    assert!(!out
        .stdout
        .contains("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"));
}

#[test]
fn aws_key_in_a_shell_script() {
    let repo = Copy::new();
    let rel = "scripts/backup-sealing-keys.sh";
    let mut text = repo.read(rel);
    text.push_str("export AWS_ACCESS_KEY_ID=AKIAZ3MHQ5T7PLX2WQ4R\n");
    repo.write(rel, &text);
    let out = repo.check(&[]);
    let line = repo.line_of(rel, "AWS_ACCESS_KEY_ID=", None);
    let found = out.assert_only("secrets/leaked-credential", rel, line);
    assert_eq!(found.len(), 1, "{}", out.describe());
    assert!(!out.stdout.contains("AKIAZ3MHQ5T7PLX2WQ4R"));
}

#[test]
fn secrets_baseline_accepts_a_known_value() {
    // detect-secrets' `hashed_secret` is the SHA-1 of the value; coreutils computes it here.
    let Ok(hash) = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(PLANTED_TOKEN.as_bytes())?;
            child.wait_with_output()
        })
    else {
        homelab_testkit::unavailable("secrets_baseline_accepts_a_known_value", "no sha1sum");
        return;
    };
    let hash = String::from_utf8_lossy(&hash.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(hash.len(), 40);
    let repo = Copy::new();
    let mut text = repo.read(ARC_VALUES);
    text.push_str(&format!("githubToken: {PLANTED_TOKEN}\n"));
    repo.write(ARC_VALUES, &text);
    let before = repo.check(&[]);
    assert_eq!(before.findings.len(), 1, "{}", before.describe());
    let baseline = repo.read(".secrets.baseline").replacen(
        "\"results\": {}",
        &format!(
            "\"results\": {{\"{ARC_VALUES}\": [{{\"type\": \"GitHub Token\", \"filename\": \"{ARC_VALUES}\", \"hashed_secret\": \"{hash}\", \"is_verified\": false, \"line_number\": 1}}]}}"
        ),
        1,
    );
    assert!(
        baseline.contains(&hash),
        "the rendered baseline has `\"results\": {{}}`"
    );
    repo.write(".secrets.baseline", &baseline);
    let after = repo.check(&[]);
    assert!(after.findings.is_empty(), "{}", after.describe());
}

#[test]
fn gpu_runner_values_without_runtime_class() {
    let repo = Copy::new();
    let rel = "apps/arc/arc-linux-gpu-values.yaml";
    repo.replace(rel, "    runtimeClassName: nvidia\n", "");
    let out = repo.check(&[]);
    let found: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.rule == "gpu/placement")
        .collect();
    assert!(!found.is_empty(), "{}", out.describe());
    assert!(
        found.iter().all(|f| f.file == rel)
            && found.iter().any(|f| f.message.contains("runtimeClassName")),
        "{}",
        out.describe()
    );
    // At the pod template that requests the GPU: between `spec:` of the template and the request.
    let request = repo.line_of(rel, "nvidia.com/gpu: 1", None);
    assert!(
        found.iter().all(|f| f.line > 0 && f.line <= request),
        "{}",
        out.describe()
    );
    out.assert_only("gpu/placement", rel, found[0].line);
}

/// A merge left unresolved (by git, or by `homelab render` on a conflicting hand edit) is
/// reported as such at its `<<<<<<<` line, not as a YAML syntax error somewhere near it.
#[test]
fn unresolved_merge_conflict_markers() {
    let repo = Copy::new();
    let rel = "apps/ai-services/n8n/n8n.yaml";
    let text = repo.read(rel);
    let target = "kind: Deployment\n";
    assert!(text.contains(target), "{rel} changed: update this test");
    repo.replace(
        rel,
        target,
        "kind: Deployment\n<<<<<<< ours\nmetadata: {}\n=======\nmetadata: {name: x}\n>>>>>>> theirs\n",
    );
    let marker = repo.line_of(rel, "<<<<<<< ours", None);

    let out = repo.check(&[]);
    let conflict = out.assert_only("yaml/merge-conflict", rel, marker);
    assert!(
        conflict[0].message.contains("unresolved merge conflict"),
        "{}",
        out.describe()
    );
    assert!(
        !out.findings.iter().any(|f| f.rule == "yaml/syntax"),
        "{}",
        out.describe()
    );
}
