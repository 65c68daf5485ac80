//! Semantic validation of a parsed `platform.toml`: values in range, names well-formed, and a
//! topology the platform can run on (a storage node, a GPU node for GPU components, requests
//! within each node's capacity). Each problem is reported against the key it is about.

use crate::config::{Config, Source, COMPONENTS};
use crate::model;

/// `report(key, message)` is called once per problem.
pub fn validate(config: &Config, check_budgets: bool, report: &mut dyn FnMut(&str, String)) {
    let cl = &config.cluster;
    if !is_dns_label(&cl.name) {
        report(
            "cluster.name",
            format!(
                "expected a DNS label (lower-case letters, digits, '-', at most 63), got {:?}",
                cl.name
            ),
        );
    }
    if cl.distribution != "k3s" {
        report(
            "cluster.distribution",
            format!(
                "expected \"k3s\" (the only supported distribution), got {:?}",
                cl.distribution
            ),
        );
    }
    match parse_minor(&cl.kubernetes_version) {
        Some(m) if m >= 29 => {}
        _ => report("cluster.kubernetes_version", format!("expected a Kubernetes version 1.29 or newer, like \"1.29\" or \"1.30.2\", got {:?}", cl.kubernetes_version)),
    }
    if !is_dns_name(&cl.domain) {
        report(
            "cluster.domain",
            format!(
                "expected a DNS domain like \"homelab.lan\", got {:?}",
                cl.domain
            ),
        );
    }
    if cl.external_ip.parse::<std::net::Ipv4Addr>().is_err() {
        report(
            "cluster.external_ip",
            format!(
                "expected an IPv4 address like \"10.0.0.100\", got {:?}",
                cl.external_ip
            ),
        );
    }
    match parse_cidr(&cl.lan_cidr) {
        Some((ip, _)) if ip.is_private() => {}
        Some(_) => report(
            "cluster.lan_cidr",
            format!(
                "expected a private (RFC 1918) range: the LAN, never the internet; got {:?}",
                cl.lan_cidr
            ),
        ),
        None => report(
            "cluster.lan_cidr",
            format!(
                "expected an IPv4 CIDR like \"192.168.0.0/16\", got {:?}",
                cl.lan_cidr
            ),
        ),
    }
    if cl.ingress != "traefik" {
        report(
            "cluster.ingress",
            format!(
                "expected \"traefik\" (bundled with k3s; the only supported ingress), got {:?}",
                cl.ingress
            ),
        );
    }

    let git = &config.git;
    if !(git.repo_url.starts_with("https://")
        || git.repo_url.starts_with("ssh://")
        || git.repo_url.starts_with("git@"))
    {
        report(
            "git.repo_url",
            format!(
                "expected an https://, ssh:// or git@ URL of this repository, got {:?}",
                git.repo_url
            ),
        );
    }
    if git.revision.trim().is_empty() || git.revision.contains(char::is_whitespace) {
        report(
            "git.revision",
            format!(
                "expected a branch or tag name like \"main\", got {:?}",
                git.revision
            ),
        );
    }

    // Nodes.
    if config.nodes.is_empty() {
        report("nodes", "expected at least one [[nodes]] table".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, n) in config.nodes.iter().enumerate() {
        let k = |f: &str| format!("nodes[{i}].{f}");
        if !is_dns_name(&n.name) {
            report(
                &k("name"),
                format!(
                    "expected a node name (lower-case DNS name), got {:?}",
                    n.name
                ),
            );
        }
        if !seen.insert(n.name.as_str()) {
            report(&k("name"), format!("node {:?} is listed twice", n.name));
        }
        if n.cores == 0 {
            report(
                &k("cores"),
                "expected a positive integer (allocatable CPU cores), got 0".into(),
            );
        }
        if n.memory_gb == 0 {
            report(
                &k("memory_gb"),
                "expected a positive integer (allocatable memory in GiB), got 0".into(),
            );
        }
        for (j, r) in n.roles.iter().enumerate() {
            if !matches!(r.as_str(), "storage" | "gpu" | "general") {
                report(
                    &format!("nodes[{i}].roles[{j}]"),
                    format!("unknown role {r:?}; allowed: \"storage\", \"gpu\", \"general\""),
                );
            }
        }
        let has_gpu_role = n.roles.iter().any(|r| r == "gpu");
        match (&n.gpu, has_gpu_role) {
            (None, true) => report(&k("roles"), "the \"gpu\" role needs a gpu table: gpu = { model = \"RTX 5080\", vram_gb = 16, count = 1 }".into()),
            (Some(_), false) => report(&k("gpu"), "a gpu table needs the \"gpu\" role in roles".into()),
            (Some(g), true) => {
                if g.vram_gb == 0 {
                    report(&k("gpu.vram_gb"), "expected a positive integer (GiB of VRAM), got 0".into());
                }
                if g.count == 0 {
                    report(&k("gpu.count"), "expected a positive integer (number of GPUs), got 0".into());
                }
                if g.model.trim().is_empty() {
                    report(&k("gpu.model"), "expected the GPU model, e.g. \"RTX 5080\"".into());
                }
            }
            (None, false) => {}
        }
    }
    let storage_nodes = config
        .nodes
        .iter()
        .filter(|n| n.roles.iter().any(|r| r == "storage"))
        .count();
    if !config.nodes.is_empty() && storage_nodes == 0 {
        report("nodes", "no node has the \"storage\" role: Longhorn needs at least one storage node (add \"storage\" to a node's roles)".into());
    }
    let gpu_nodes: Vec<_> = config
        .nodes
        .iter()
        .filter(|n| n.roles.iter().any(|r| r == "gpu"))
        .collect();

    // Storage.
    let st = &config.storage;
    for (key, path) in [
        ("storage.host_path", &st.host_path),
        ("storage.btrfs_mount", &st.btrfs_mount),
        (
            "storage.host_snapshot.directory",
            &st.host_snapshot.directory,
        ),
    ] {
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            report(
                key,
                format!("expected an absolute path without spaces, got {path:?}"),
            );
        }
    }
    if st.subvolume.is_empty()
        || st.subvolume.contains('/')
        || st.subvolume.contains(char::is_whitespace)
    {
        report(
            "storage.subvolume",
            format!(
                "expected a subvolume name like \"@longhorn\", got {:?}",
                st.subvolume
            ),
        );
    }
    if !(st.device.starts_with("UUID=")
        || st.device.starts_with("LABEL=")
        || st.device.starts_with("/dev/"))
        || st.device.contains(char::is_whitespace)
    {
        report(
            "storage.device",
            format!(
                "expected \"UUID=...\", \"LABEL=...\" or a /dev path, got {:?}",
                st.device
            ),
        );
    }
    let compression_ok = match st.compression.as_str() {
        "lzo" | "zlib" | "none" | "zstd" => true,
        c => c
            .strip_prefix("zstd:")
            .and_then(|l| l.parse::<u32>().ok())
            .is_some_and(|l| (1..=15).contains(&l)),
    };
    if !compression_ok {
        report("storage.compression", format!("expected zstd:1 (NVMe), zstd:3 (SATA), zstd:N with N in 1..15, lzo, zlib or none; got {:?}", st.compression));
    }
    for (key, name) in [
        ("storage.default_class", &st.default_class),
        ("storage.gpu_class", &st.gpu_class),
    ] {
        if !is_dns_name(name) {
            report(
                key,
                format!("expected a StorageClass name (lower-case DNS name), got {name:?}"),
            );
        }
    }
    if st.default_class == st.gpu_class {
        report(
            "storage.gpu_class",
            "must differ from storage.default_class".into(),
        );
    }
    if !(1..=3).contains(&st.max_replicas) {
        report(
            "storage.max_replicas",
            format!("expected 1, 2 or 3, got {}", st.max_replicas),
        );
    }
    if st.longhorn_snapshot.cron.split_whitespace().count() != 5 {
        report(
            "storage.longhorn_snapshot.cron",
            format!(
                "expected a 5-field cron schedule like \"0 2 * * *\", got {:?}",
                st.longhorn_snapshot.cron
            ),
        );
    }
    if st.longhorn_snapshot.retain == 0 || st.longhorn_snapshot.retain > 100 {
        report(
            "storage.longhorn_snapshot.retain",
            format!(
                "expected 1..100 snapshots, got {}",
                st.longhorn_snapshot.retain
            ),
        );
    }
    if st.host_snapshot.retain == 0 || st.host_snapshot.retain > 100 {
        report(
            "storage.host_snapshot.retain",
            format!("expected 1..100 snapshots, got {}", st.host_snapshot.retain),
        );
    }
    if st.host_snapshot.on_calendar.trim().is_empty() || st.host_snapshot.on_calendar.contains('\n')
    {
        report(
            "storage.host_snapshot.on_calendar",
            "expected a systemd OnCalendar expression like \"weekly\"".into(),
        );
    }

    // GitHub.
    let gh = &config.github;
    if gh.auth != "github-app" {
        let msg = if gh.auth.eq_ignore_ascii_case("pat") || gh.auth.contains("token") {
            format!("personal access tokens are refused (long-lived, tied to a person); use \"github-app\", got {:?}", gh.auth)
        } else {
            format!("expected \"github-app\", got {:?}", gh.auth)
        };
        report("github.auth", msg);
    }
    if gh.org.trim().is_empty() || gh.org.contains(char::is_whitespace) || gh.org.contains('/') {
        report(
            "github.org",
            format!("expected a GitHub organisation name, got {:?}", gh.org),
        );
    }
    if gh.runner_group.trim().is_empty() {
        report(
            "github.runner_group",
            "expected a runner group name like \"homelab-runners\"".into(),
        );
    }
    if gh.max_runners == 0 {
        report("github.max_runners", "expected a positive integer".into());
    }
    if gh.min_runners > gh.max_runners {
        report(
            "github.min_runners",
            format!(
                "min_runners ({}) is above max_runners ({})",
                gh.min_runners, gh.max_runners
            ),
        );
    }

    // Components.
    let classes = [st.default_class.as_str(), st.gpu_class.as_str()];
    for spec in COMPONENTS {
        let Some(c) = config.components.get(spec.key) else {
            continue;
        };
        let k = |f: &str| format!("components.{}.{f}", spec.key);
        if !c.enabled {
            if !spec.optional {
                report(
                    &k("enabled"),
                    format!(
                        "{} is the platform's foundation and cannot be switched off",
                        spec.key
                    ),
                );
            }
            continue;
        }
        if !is_dns_label(&c.namespace) {
            report(
                &k("namespace"),
                format!(
                    "expected a namespace name (DNS label), got {:?}",
                    c.namespace
                ),
            );
        }
        if !(-2..=3).contains(&c.sync_wave) {
            report(
                &k("sync_wave"),
                format!(
                    "expected a sync wave from -2 to 3 (the guide's waves), got {}",
                    c.sync_wave
                ),
            );
        }
        match spec.source {
            Source::Chart => match &c.chart {
                None => report(&k("chart"), "this component is a Helm chart: set chart = { repo = \"...\", name = \"...\", version = \"x.y.z\" }".into()),
                Some(ch) => {
                    if !is_pinned_version(&ch.version) {
                        report(&k("chart.version"), format!("expected an exact chart version like \"1.7.2\" (no ranges, no \"latest\"), got {:?}", ch.version));
                    }
                    if ch.repo.starts_with("oci://") {
                        report(&k("chart.repo"), "write OCI registries without \"oci://\" (ArgoCD's convention), e.g. \"ghcr.io/actions/actions-runner-controller-charts\"".into());
                    } else if ch.repo.trim().is_empty() || ch.repo.contains(char::is_whitespace) {
                        report(&k("chart.repo"), format!("expected a Helm repository URL, got {:?}", ch.repo));
                    }
                    if ch.name.trim().is_empty() {
                        report(&k("chart.name"), "expected the chart name".into());
                    }
                }
            },
            Source::Manifests => match &c.image {
                None => report(&k("image"), "this component is rendered as manifests: set image = \"registry/name:tag\" with a pinned tag".into()),
                Some(img) => {
                    if !is_pinned_image(img) {
                        report(&k("image"), format!("expected an image with a pinned tag (not :latest), like \"docker.io/ollama/ollama:0.9.6\", got {img:?}"));
                    }
                }
            },
            Source::Config => {}
        }
        if c.chart.is_some() && spec.source != Source::Chart {
            report(
                &k("chart"),
                format!(
                    "{} is not rendered from a Helm chart; remove chart",
                    spec.key
                ),
            );
        }
        if c.image.is_some() && spec.source != Source::Manifests {
            report(
                &k("image"),
                format!("{} takes its images from its chart; remove image", spec.key),
            );
        }
        if c.runners_namespace.is_some() && spec.key != "arc" {
            report(
                &k("runners_namespace"),
                "only components.arc has runners_namespace".into(),
            );
        }
        if let Some(rn) = &c.runners_namespace {
            if !is_dns_label(rn) {
                report(
                    &k("runners_namespace"),
                    format!("expected a namespace name, got {rn:?}"),
                );
            }
        }
        if let Some(node) = &c.node {
            if !config.nodes.iter().any(|n| &n.name == node) {
                let names: Vec<_> = config.nodes.iter().map(|n| n.name.as_str()).collect();
                report(
                    &k("node"),
                    format!("no node named {node:?}; nodes: {}", names.join(", ")),
                );
            }
        }
        if let Some(sc) = &c.storage_class {
            if !classes.contains(&sc.as_str()) {
                report(
                    &k("storage_class"),
                    format!(
                        "unknown StorageClass {sc:?}; allowed: {}",
                        classes.join(", ")
                    ),
                );
            }
        }
        if let Some(size) = &c.storage_size {
            if !is_size(size) {
                report(
                    &k("storage_size"),
                    format!("expected a size like \"50Gi\", got {size:?}"),
                );
            }
        }
        if spec.gpu && gpu_nodes.is_empty() {
            report(&k("enabled"), format!("{} needs a GPU node, but no node has the \"gpu\" role; add one or set enabled = false", spec.key));
        }
        if spec.gpu && c.storage_class.as_deref() == Some(st.gpu_class.as_str()) {
            for n in &gpu_nodes {
                if !n.roles.iter().any(|r| r == "storage") {
                    let i = config
                        .nodes
                        .iter()
                        .position(|x| x.name == n.name)
                        .unwrap_or(0);
                    report(&format!("nodes[{i}].roles"), format!("GPU node {:?} must also have the \"storage\" role: {} keeps its {} volume on the GPU node's disk", n.name, spec.key, st.gpu_class));
                }
            }
        }
    }
    // A custom resource never syncs before the operator that brings its CRD.
    let comp = &config.components;
    for (key, cr_wave, what) in [
        ("longhorn", -1, "StorageClasses and RecurringJobs"),
        ("kyverno", -1, "ClusterPolicies"),
        ("sealed_secrets", -1, "SealedSecrets"),
        ("cert_manager", -1, "ClusterIssuers"),
        ("arc", 3, "runner scale sets"),
    ] {
        let c = comp.get(key).filter(|c| c.enabled);
        if let Some(c) = c {
            if c.sync_wave >= cr_wave {
                report(&format!("components.{key}.sync_wave"), format!("must be below {cr_wave}: its {what} sync in wave {cr_wave} and need its CRDs first"));
            }
        }
    }
    if comp.gitlab_runner.enabled && !comp.gitlab.enabled {
        report("components.gitlab_runner.enabled", "GitLab Runner registers with the in-cluster GitLab: enable components.gitlab or switch the runner off".into());
    }
    if comp.gitlab_runner.enabled
        && comp.gitlab.enabled
        && comp.gitlab_runner.sync_wave <= comp.gitlab.sync_wave
    {
        report(
            "components.gitlab_runner.sync_wave",
            "must be after components.gitlab.sync_wave (the runner registers with GitLab)".into(),
        );
    }

    // Budgets: only meaningful for a sane topology.
    if check_budgets && storage_nodes > 0 && !config.nodes.is_empty() {
        let platform = model::derive(config);
        for b in &platform.budgets {
            if !b.over_committed() {
                continue;
            }
            let i = config
                .nodes
                .iter()
                .position(|n| n.name == b.node)
                .unwrap_or(0);
            if b.memory_requested_mi > b.memory_capacity_mi {
                report(&format!("nodes[{i}].memory_gb"), format!(
                    "node {:?} is over-committed: {:.1} GiB requested, {} GiB available (see `homelab plan`)",
                    b.node, b.memory_requested_mi as f64 / 1024.0, b.memory_capacity_mi / 1024));
            }
            if b.cpu_requested_m > b.cpu_capacity_m {
                report(&format!("nodes[{i}].cores"), format!(
                    "node {:?} is over-committed: {:.2} cores requested, {} available (see `homelab plan`)",
                    b.node, b.cpu_requested_m as f64 / 1000.0, b.cpu_capacity_m / 1000));
            }
            if b.gpu_requested > b.gpu_capacity {
                report(
                    &format!("nodes[{i}].gpu.count"),
                    format!(
                        "node {:?} has {} GPU(s) but {} are requested",
                        b.node, b.gpu_capacity, b.gpu_requested
                    ),
                );
            }
        }
    }
}

fn parse_minor(v: &str) -> Option<u32> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut parts = v.split('.');
    if parts.next()? != "1" {
        return None;
    }
    let minor = parts.next()?.parse().ok()?;
    for p in parts {
        p.parse::<u32>().ok()?;
    }
    Some(minor)
}

fn parse_cidr(s: &str) -> Option<(std::net::Ipv4Addr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some((ip, len))
}

/// RFC 1123 label.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain.
pub fn is_dns_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_pinned_version(v: &str) -> bool {
    let core = v.strip_prefix('v').unwrap_or(v);
    let nums: Vec<&str> = core
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .collect();
    nums.len() == 3
        && nums
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_pinned_image(img: &str) -> bool {
    if img.contains(char::is_whitespace) {
        return false;
    }
    if img.contains("@sha256:") {
        return true;
    }
    let last = img.rsplit('/').next().unwrap_or(img);
    match last.split_once(':') {
        Some((_, tag)) => !tag.is_empty() && tag != "latest",
        None => false,
    }
}

fn is_size(s: &str) -> bool {
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = &s[digits.len()..];
    !digits.is_empty() && matches!(unit, "Mi" | "Gi" | "Ti")
}
