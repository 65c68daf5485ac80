//! Semantic validation of a parsed `platform.toml`: values in range, names well-formed, and a
//! topology the platform can run on (a storage node, a GPU node for GPU components, requests
//! within each node's capacity). Each problem is reported against the key it is about.

use crate::config::{Config, Source, COMPONENTS};
use crate::model;
use crate::values::ValueKind;

/// `report(key, message)` is called once per problem.
/// Where problems go: `report(key, message)`.
type Report<'a> = &'a mut dyn FnMut(&str, String);

/// `report(key, message)` is called once per problem.
pub fn validate(config: &Config, check_budgets: bool, report: Report<'_>) {
    validate_cluster(config, report);
    validate_git(config, report);
    validate_nodes(config, report);
    validate_k3s(config, report);
    validate_storage(config, report);
    validate_github(config, report);
    validate_tooling(config, report);
    validate_sops(config, report);
    validate_components(config, report);
    validate_crd_order(config, report);
    if check_budgets {
        validate_budgets(config, report);
    }
}

fn storage_node_count(config: &Config) -> usize {
    config
        .nodes
        .iter()
        .filter(|n| n.roles.iter().any(|r| r == "storage"))
        .count()
}

fn validate_cluster(config: &Config, report: Report<'_>) {
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
}

fn validate_git(config: &Config, report: Report<'_>) {
    check_kind(
        report,
        "git.repo_url",
        &config.git.repo_url,
        ValueKind::GitUrl,
    );
    check_kind(
        report,
        "git.revision",
        &config.git.revision,
        ValueKind::GitRef,
    );
}

fn validate_nodes(config: &Config, report: Report<'_>) {
    // Nodes.
    if config.nodes.is_empty() {
        report("nodes", "expected at least one [[nodes]] table".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut addresses = std::collections::BTreeSet::new();
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
        match n.address.parse::<std::net::Ipv4Addr>() {
            Ok(ip) if !ip.is_unspecified() && !ip.is_loopback() && !ip.is_multicast() => {
                if !addresses.insert(ip) {
                    report(&k("address"), format!("address {ip} is used by two nodes"));
                }
            }
            _ => report(
                &k("address"),
                format!(
                    "expected the node's LAN IPv4 address like \"10.0.0.10\", got {:?}",
                    n.address
                ),
            ),
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
                check_kind(report, &k("gpu.model"), &g.model, ValueKind::Label);
            }
            (None, false) => {}
        }
    }
    if !config.nodes.is_empty() && storage_node_count(config) == 0 {
        report("nodes", "no node has the \"storage\" role: Longhorn needs at least one storage node (add \"storage\" to a node's roles)".into());
    }
}

fn validate_k3s(config: &Config, report: Report<'_>) {
    let k3s = &config.k3s;
    let minor = parse_minor(&config.cluster.kubernetes_version);
    match parse_k3s_version(&k3s.version) {
        Some(m) if Some(m) == minor => {}
        Some(m) => report(
            "k3s.version",
            format!(
                "k3s {} is Kubernetes 1.{m}, but cluster.kubernetes_version is {:?}: make them the same minor",
                k3s.version, config.cluster.kubernetes_version
            ),
        ),
        None => report(
            "k3s.version",
            format!(
                "expected a k3s release like \"v1.33.4+k3s1\", got {:?}",
                k3s.version
            ),
        ),
    }
    if !config.nodes.iter().any(|n| n.name == k3s.server) {
        let names: Vec<_> = config.nodes.iter().map(|n| n.name.as_str()).collect();
        report(
            "k3s.server",
            format!(
                "no node named {:?}; nodes: {}",
                k3s.server,
                names.join(", ")
            ),
        );
    }
    for (i, san) in k3s.tls_san.iter().enumerate() {
        if san.parse::<std::net::Ipv4Addr>().is_err() && !is_dns_name(san) {
            report(
                &format!("k3s.tls_san[{i}]"),
                format!("expected a DNS name or an IPv4 address, got {san:?}"),
            );
        }
    }
    if !is_cpu_quantity(&k3s.reserved_cpu) {
        report(
            "k3s.reserved_cpu",
            format!(
                "expected a CPU quantity like \"500m\" or \"1\", got {:?}",
                k3s.reserved_cpu
            ),
        );
    }
    if !is_size(&k3s.reserved_memory) {
        report(
            "k3s.reserved_memory",
            format!(
                "expected a memory size like \"2Gi\", got {:?}",
                k3s.reserved_memory
            ),
        );
    }
}

fn validate_tooling(config: &Config, report: Report<'_>) {
    let t = &config.tooling;
    if !is_pinned_version(&t.homelab_version) || t.homelab_version.starts_with('v') {
        report(
            "tooling.homelab_version",
            format!(
                "expected an exact release like \"0.1.0\" (no \"v\", no range), got {:?}",
                t.homelab_version
            ),
        );
    }
    check_kind(
        report,
        "tooling.homelab_repo",
        &t.homelab_repo,
        ValueKind::HttpsUrl,
    );
    for (key, image) in [
        ("tooling.homelab_image", &t.homelab_image),
        ("tooling.ci_image", &t.ci_image),
    ] {
        if !ValueKind::Image.check(image)
            || image.rsplit('/').next().is_some_and(|l| l.contains(':'))
        {
            report(
                key,
                format!(
                    "expected an image name without a tag (the tag is homelab_version), like \"ghcr.io/org/homelab\", got {image:?}"
                ),
            );
        }
    }
}

fn validate_sops(config: &Config, report: Report<'_>) {
    for (i, recipient) in config.sops.age_recipients.iter().enumerate() {
        if let Err(why) = homelab_sops::keys::parse_recipient(recipient) {
            report(
                &format!("sops.age_recipients[{i}]"),
                format!("{why}; `age-keygen -y KEYFILE` prints the public key of an age key"),
            );
        }
    }
}

fn validate_storage(config: &Config, report: Report<'_>) {
    // Storage.
    let st = &config.storage;
    for (key, value, kind) in [
        ("storage.host_path", &st.host_path, ValueKind::AbsolutePath),
        (
            "storage.btrfs_mount",
            &st.btrfs_mount,
            ValueKind::AbsolutePath,
        ),
        (
            "storage.host_snapshot.directory",
            &st.host_snapshot.directory,
            ValueKind::AbsolutePath,
        ),
        ("storage.subvolume", &st.subvolume, ValueKind::SubvolumeName),
        ("storage.device", &st.device, ValueKind::FstabDevice),
        (
            "storage.longhorn_snapshot.cron",
            &st.longhorn_snapshot.cron,
            ValueKind::Cron,
        ),
        (
            "storage.host_snapshot.on_calendar",
            &st.host_snapshot.on_calendar,
            ValueKind::OnCalendar,
        ),
    ] {
        check_kind(report, key, value, kind);
    }
    if !crate::values::is_btrfs_compression(&st.compression) {
        report("storage.compression", format!("expected zstd:1 (NVMe), zstd:3 (SATA), zstd:N with N in 1..15, lzo, zlib[:1..9] or none; got {:?}", st.compression));
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
}

fn validate_github(config: &Config, report: Report<'_>) {
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
    check_kind(report, "github.org", &gh.org, ValueKind::GithubName);
    check_kind(
        report,
        "github.runner_group",
        &gh.runner_group,
        ValueKind::RunnerGroup,
    );
    for (i, repo) in gh.repositories.iter().enumerate() {
        check_kind(
            report,
            &format!("github.repositories[{i}]"),
            repo,
            ValueKind::GithubName,
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
}

fn validate_components(config: &Config, report: Report<'_>) {
    let st = &config.storage;
    let gpu_nodes: Vec<_> = config
        .nodes
        .iter()
        .filter(|n| n.roles.iter().any(|r| r == "gpu"))
        .collect();
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
                    } else {
                        check_kind(report, &k("chart.repo"), &ch.repo, ValueKind::ChartRepo);
                    }
                    if !is_dns_label(&ch.name) {
                        report(&k("chart.name"), format!("expected a chart name (lower-case letters, digits, '-'), got {:?}", ch.name));
                    }
                }
            },
            Source::Manifests => match &c.image {
                None => report(&k("image"), "this component is rendered as manifests: set image = \"registry/name:tag\" with a pinned tag".into()),
                Some(img) => {
                    if !ValueKind::Image.check(img) {
                        report(&k("image"), format!("expected {}, got {img:?}", ValueKind::Image.describe()));
                    } else if !is_pinned_image(img) {
                        report(&k("image"), format!("expected an image with a pinned tag (not :latest), like \"docker.io/ollama/ollama:0.34.0\", got {img:?}"));
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
        if c.registry_read_only.is_some() && spec.key != "gitlab" {
            report(
                &k("registry_read_only"),
                "only components.gitlab has registry_read_only".into(),
            );
        }
        match (&c.runner_image, spec.key == "arc") {
            (Some(_), false) => report(
                &k("runner_image"),
                "only components.arc has runner_image".into(),
            ),
            (None, true) if c.enabled => report(
                &k("runner_image"),
                "set the runner image of the scale sets with a pinned tag, like runner_image = \"ghcr.io/actions/actions-runner:2.334.0\"".into(),
            ),
            (Some(img), true) => {
                if !ValueKind::Image.check(img) {
                    report(&k("runner_image"), format!("expected {}, got {img:?}", ValueKind::Image.describe()));
                } else if !is_pinned_image(img) {
                    report(&k("runner_image"), format!("expected an image with a pinned tag (not :latest), like \"ghcr.io/actions/actions-runner:2.334.0\", got {img:?}"));
                }
            }
            _ => {}
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
}

/// A custom resource never syncs before the operator that brings its CRD.
fn validate_crd_order(config: &Config, report: Report<'_>) {
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
    if comp.nvidia_device_plugin.enabled && comp.nvidia_device_plugin.sync_wave <= -2 {
        report(
            "components.nvidia_device_plugin.sync_wave",
            "must be above -2: its pods use the `nvidia` RuntimeClass, created in wave -2".into(),
        );
    }
    if comp.ollama.enabled && !comp.nvidia_device_plugin.enabled {
        report(
            "components.nvidia_device_plugin.enabled",
            "Ollama requests nvidia.com/gpu, which only the NVIDIA device plugin advertises: enable it".into(),
        );
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
}

/// Requests within each node's capacity (only meaningful for a sane topology).
fn validate_budgets(config: &Config, report: Report<'_>) {
    if storage_node_count(config) > 0 && !config.nodes.is_empty() {
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

fn check_kind(report: Report<'_>, key: &str, value: &str, kind: ValueKind) {
    if !kind.check(value) {
        report(key, format!("expected {}, got {value:?}", kind.describe()));
    }
}

/// `v1.33.4+k3s1` -> 33.
fn parse_k3s_version(v: &str) -> Option<u32> {
    let (core, build) = v.strip_prefix('v')?.split_once('+')?;
    let n = build.strip_prefix("k3s")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 || parts[0] != "1" {
        return None;
    }
    parts[2].parse::<u32>().ok()?;
    parts[1].parse().ok()
}

/// A CPU amount the way Kubernetes reads it (`500m`, `1`, `1.5`), greater than zero.
fn is_cpu_quantity(s: &str) -> bool {
    is_positive_quantity(s)
}

/// A Kubernetes quantity (the one exact parser, `homelab_k8s::Quantity`) greater than zero.
fn is_positive_quantity(s: &str) -> bool {
    homelab_k8s::Quantity::parse(s).is_ok_and(|q| q.signum() > 0)
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

/// An exact semantic version (`1.7.2`, `v1.21.1`, `2.0.0-rc.1+build.5`): three numbers, then
/// pre-release and build identifiers of letters, digits, `.` and `-` only.
fn is_pinned_version(v: &str) -> bool {
    let core = v.strip_prefix('v').unwrap_or(v);
    let end = core.find(['-', '+']).unwrap_or(core.len());
    let (numbers, suffix) = core.split_at(end);
    let nums: Vec<&str> = numbers.split('.').collect();
    nums.len() == 3
        && nums
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && v.len() <= 128
        && suffix
            .split(['-', '+', '.'])
            .skip(1)
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
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

/// A storage or memory size the way Kubernetes reads it (`50Gi`, `1.5Ti`, `500M`), greater
/// than zero.
fn is_size(s: &str) -> bool {
    is_positive_quantity(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes and CPU amounts are read by the one Kubernetes quantity parser: what the cluster
    /// accepts passes (decimal and binary units, fractions, exponents), what it rejects or
    /// what would make no sense here (zero, negative, unknown units, shell text) does not.
    #[test]
    fn sizes_and_cpu_amounts_are_kubernetes_quantities() {
        for ok in ["50Gi", "1.5Ti", "500M", "512Mi", "1e9", "2Ei"] {
            assert!(is_size(ok), "{ok}");
        }
        for bad in [
            "", "0", "0Gi", "-1Gi", "1K", "5Qi", "50 Gi", "$(id)", "50Gi\n",
        ] {
            assert!(!is_size(bad), "{bad:?}");
        }
        for ok in ["500m", "1", "1.5", "250m"] {
            assert!(is_cpu_quantity(ok), "{ok}");
        }
        for bad in ["0", "-1", "1 core", "m", "`x`"] {
            assert!(!is_cpu_quantity(bad), "{bad:?}");
        }
    }

    #[test]
    fn pinned_versions_are_semantic_versions_and_nothing_else() {
        for ok in [
            "1.7.2",
            "v1.21.1",
            "2.0.0-rc.1",
            "1.2.3+build.5",
            "0.14.2-beta-1",
        ] {
            assert!(is_pinned_version(ok), "{ok}");
        }
        for bad in [
            "1.7",
            "latest",
            "1.2.3-$(id)",
            "1.2.3-",
            "1.2.3+a..b",
            "1.2.3 ",
            "1.2.3-\nx: y",
            "~1.2.3",
        ] {
            assert!(!is_pinned_version(bad), "{bad:?}");
        }
    }
}
