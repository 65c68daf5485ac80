//! `platform.toml`: the typed, documented model of the platform, its parser and its validator.
//!
//! Parsing keeps spans (`toml::de::DeTable`) so that every error, syntactic or semantic, names
//! `platform.toml:LINE:COL`, the key path (`nodes[1].gpu.vram_gb`) and what is allowed.
//! Nothing here does I/O: the caller hands in the text and a display name.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;

/// The embedded default config: the guide's cluster (`homelab` + `akula-prime`).
pub const DEFAULT_CONFIG: &str = include_str!("../templates/platform.toml");

/// The whole platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The cluster itself: name, distribution, version, network.
    pub cluster: Cluster,
    /// The GitOps repository ArgoCD follows.
    pub git: Git,
    /// The k3s nodes; everything derived (replicas, placement, budgets) follows from them.
    pub nodes: Vec<Node>,
    /// k3s itself: release, server node, API certificate names, kubelet reservations.
    pub k3s: K3s,
    /// Longhorn on btrfs: host layout, classes, snapshots.
    pub storage: Storage,
    /// GitHub organisation runners (ARC).
    pub github: Github,
    /// Rule selection for `homelab check`.
    #[serde(default)]
    pub check: Check,
    /// The `homelab` release the repository's CI and pre-commit hooks run.
    pub tooling: Tooling,
    /// Who SOPS encrypts the repository's SOPS files for (`.sops.yaml`).
    #[serde(default)]
    pub sops: Sops,
    /// Every component, each can be switched off.
    pub components: Components,
}

/// `[cluster]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Cluster name (a DNS label).
    pub name: String,
    /// Only `k3s`.
    pub distribution: String,
    /// Target Kubernetes minor version, `1.29` or newer.
    pub kubernetes_version: String,
    /// LAN DNS domain; UIs are served at `<name>.<domain>`.
    pub domain: String,
    /// The LAN address of the ingress controller.
    pub external_ip: String,
    /// The LAN range allowed into LAN-exposed services.
    pub lan_cidr: String,
    /// Only `traefik`.
    pub ingress: String,
}

/// `[git]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Git {
    /// URL of this repository as ArgoCD clones it.
    pub repo_url: String,
    /// Branch or tag ArgoCD follows.
    pub revision: String,
}

/// `[[nodes]]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The Kubernetes node name (`kubernetes.io/hostname`).
    pub name: String,
    /// The node's LAN IPv4 address (k3s `node-ip`, the API server endpoint on the server).
    pub address: String,
    /// Allocatable CPU cores.
    pub cores: u32,
    /// Allocatable memory in GiB.
    pub memory_gb: u32,
    /// `storage`, `gpu`, `general`.
    pub roles: Vec<String>,
    /// The node's GPU (required with the `gpu` role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Gpu>,
}

/// `[nodes.gpu]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    /// Marketing name, e.g. `RTX 5080`.
    pub model: String,
    /// VRAM in GiB.
    pub vram_gb: u32,
    /// Number of GPUs (the node's `nvidia.com/gpu` capacity).
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// `[k3s]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K3s {
    /// The pinned k3s release (`v1.33.4+k3s1`); its minor is `cluster.kubernetes_version`'s.
    pub version: String,
    /// The node that runs the k3s server; every other node joins it as an agent.
    pub server: String,
    /// Extra names or addresses in the API server certificate.
    #[serde(default)]
    pub tls_san: Vec<String>,
    /// CPU kept back from pods on every node (kubelet `system-reserved`).
    pub reserved_cpu: String,
    /// Memory kept back from pods on every node (kubelet `system-reserved`).
    pub reserved_memory: String,
}

/// `[tooling]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tooling {
    /// The `homelab` release CI and pre-commit run (`0.1.0`).
    pub homelab_version: String,
    /// The git repository of `homelab` (pre-commit builds its hooks from it at `v<version>`).
    pub homelab_repo: String,
    /// Container image with the static `homelab` binary (tagged `<version>`).
    pub homelab_image: String,
    /// CI job image: `homelab` plus yamllint, shellcheck, ruff, kubectl and git (tagged `<version>`).
    pub ci_image: String,
}

/// `[sops]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sops {
    /// age public keys (`age1…`) every SOPS file is encrypted for. Empty: `.sops.yaml` carries
    /// a placeholder that nothing can encrypt with until one is set.
    #[serde(default)]
    pub age_recipients: Vec<String>,
}

/// `[storage]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// Longhorn's data path on every storage node.
    pub host_path: String,
    /// Mount point of the btrfs top level.
    pub btrfs_mount: String,
    /// Subvolume name holding Longhorn's data (`@longhorn`).
    pub subvolume: String,
    /// fstab device (`UUID=...` or `/dev/...`).
    pub device: String,
    /// btrfs compression (`zstd:1` NVMe, `zstd:3` SATA).
    pub compression: String,
    /// Name of the default StorageClass.
    pub default_class: String,
    /// Name of the strict-local GPU StorageClass.
    pub gpu_class: String,
    /// Cap of the default class's replica count.
    #[serde(default = "two")]
    pub max_replicas: u32,
    /// Longhorn RecurringJob snapshots.
    pub longhorn_snapshot: LonghornSnapshot,
    /// btrfs host snapshots.
    pub host_snapshot: HostSnapshot,
}

fn two() -> u32 {
    2
}

/// `[storage.longhorn_snapshot]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LonghornSnapshot {
    /// Five-field cron schedule.
    pub cron: String,
    /// Snapshots kept.
    pub retain: u32,
}

/// `[storage.host_snapshot]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSnapshot {
    /// systemd `OnCalendar=` expression.
    pub on_calendar: String,
    /// Snapshots kept.
    pub retain: u32,
    /// Directory of the read-only snapshots.
    pub directory: String,
}

/// `[github]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Github {
    /// Organisation the runners register with.
    pub org: String,
    /// Runner group name.
    pub runner_group: String,
    /// Minimum standard runners.
    pub min_runners: u32,
    /// Maximum standard runners.
    pub max_runners: u32,
    /// Only `github-app`.
    pub auth: String,
    /// Repositories allowed to use the runner group.
    #[serde(default)]
    pub repositories: Vec<String>,
}

/// `[check]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Rules to run (empty: all).
    #[serde(default)]
    pub select: Vec<String>,
    /// Rules to skip.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// `[components.*]`: one field per component so an unknown name is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Components {
    /// Longhorn distributed block storage (cannot be switched off).
    pub longhorn: Component,
    /// cert-manager and the homelab's self-signed CA.
    pub cert_manager: Component,
    /// Kyverno admission policies.
    pub kyverno: Component,
    /// The SealedSecrets controller.
    pub sealed_secrets: Component,
    /// ArgoCD, self-managed after the helmfile bootstrap (cannot be switched off).
    pub argocd: Component,
    /// GitLab CE.
    pub gitlab: Component,
    /// GitHub Actions Runner Controller and its scale sets.
    pub arc: Component,
    /// The NVIDIA device plugin: advertises `nvidia.com/gpu` on GPU nodes.
    pub nvidia_device_plugin: Component,
    /// Ollama on the GPU node (with a CPU fallback).
    pub ollama: Component,
    /// LiteLLM, the OpenAI-compatible proxy in front of Ollama.
    pub litellm: Component,
    /// Open WebUI, the chat UI.
    pub open_webui: Component,
    /// n8n workflow automation.
    pub n8n: Component,
    /// SearXNG metasearch for Open WebUI's web search.
    pub searxng: Component,
    /// Configuration of k3s's bundled Traefik.
    pub traefik: Component,
    /// The Trivy Operator (in-cluster vulnerability and config scanning).
    pub trivy_operator: Component,
    /// GitLab Runner with the Kubernetes executor.
    pub gitlab_runner: Component,
}

/// What each component is rendered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A public Helm chart plus this repository's values (`$values`).
    Chart,
    /// Plain manifests in this repository (kustomize), from a pinned image.
    Manifests,
    /// Configuration of something the distribution already runs (k3s Traefik).
    Config,
}

/// Static facts about each component: key, what it is rendered from, whether it needs a GPU.
pub struct ComponentSpec {
    pub key: &'static str,
    pub source: Source,
    pub gpu: bool,
    /// Whether it may be switched off (the platform's foundation may not).
    pub optional: bool,
}

/// All components in the order they are listed and rendered.
pub const COMPONENTS: &[ComponentSpec] = &[
    spec("longhorn", Source::Chart, false, false),
    spec("cert_manager", Source::Chart, false, true),
    spec("kyverno", Source::Chart, false, true),
    spec("sealed_secrets", Source::Chart, false, true),
    spec("argocd", Source::Chart, false, false),
    spec("gitlab", Source::Chart, false, true),
    spec("arc", Source::Chart, false, true),
    spec("nvidia_device_plugin", Source::Chart, true, true),
    spec("ollama", Source::Manifests, true, true),
    spec("litellm", Source::Manifests, false, true),
    spec("open_webui", Source::Manifests, false, true),
    spec("n8n", Source::Manifests, false, true),
    spec("searxng", Source::Manifests, false, true),
    spec("traefik", Source::Config, false, true),
    spec("trivy_operator", Source::Chart, false, true),
    spec("gitlab_runner", Source::Chart, false, true),
];

const fn spec(key: &'static str, source: Source, gpu: bool, optional: bool) -> ComponentSpec {
    ComponentSpec {
        key,
        source,
        gpu,
        optional,
    }
}

impl Components {
    /// The component with this key (`open_webui`), if it exists.
    pub fn get(&self, key: &str) -> Option<&Component> {
        Some(match key {
            "longhorn" => &self.longhorn,
            "cert_manager" => &self.cert_manager,
            "kyverno" => &self.kyverno,
            "sealed_secrets" => &self.sealed_secrets,
            "argocd" => &self.argocd,
            "gitlab" => &self.gitlab,
            "arc" => &self.arc,
            "nvidia_device_plugin" => &self.nvidia_device_plugin,
            "ollama" => &self.ollama,
            "litellm" => &self.litellm,
            "open_webui" => &self.open_webui,
            "n8n" => &self.n8n,
            "searxng" => &self.searxng,
            "traefik" => &self.traefik,
            "trivy_operator" => &self.trivy_operator,
            "gitlab_runner" => &self.gitlab_runner,
            _ => return None,
        })
    }

    /// Mutable access (used by tests and by callers that tweak the default).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Component> {
        Some(match key {
            "longhorn" => &mut self.longhorn,
            "cert_manager" => &mut self.cert_manager,
            "kyverno" => &mut self.kyverno,
            "sealed_secrets" => &mut self.sealed_secrets,
            "argocd" => &mut self.argocd,
            "gitlab" => &mut self.gitlab,
            "arc" => &mut self.arc,
            "nvidia_device_plugin" => &mut self.nvidia_device_plugin,
            "ollama" => &mut self.ollama,
            "litellm" => &mut self.litellm,
            "open_webui" => &mut self.open_webui,
            "n8n" => &mut self.n8n,
            "searxng" => &mut self.searxng,
            "traefik" => &mut self.traefik,
            "trivy_operator" => &mut self.trivy_operator,
            "gitlab_runner" => &mut self.gitlab_runner,
            _ => return None,
        })
    }
}

/// `[components.<name>]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Render it at all.
    pub enabled: bool,
    /// Namespace it runs in.
    pub namespace: String,
    /// ArgoCD sync wave of its Application (-2 .. 3).
    pub sync_wave: i32,
    /// The pinned public Helm chart (chart-based components).
    #[serde(default)]
    pub chart: Option<Chart>,
    /// The pinned container image (manifest-based components).
    #[serde(default)]
    pub image: Option<String>,
    /// The node it runs on (default: from the node roles).
    #[serde(default)]
    pub node: Option<String>,
    /// StorageClass of its persistent volume.
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Size of its persistent volume (`50Gi`).
    #[serde(default)]
    pub storage_size: Option<String>,
    /// ARC only: namespace of the runner scale sets.
    #[serde(default)]
    pub runners_namespace: Option<String>,
    /// GitLab only: the container registry refuses pushes (for garbage collection).
    #[serde(default)]
    pub registry_read_only: Option<bool>,
    /// ARC only: the runner container image of the scale sets (pinned tag), so that it is
    /// bumped here with everything else.
    #[serde(default)]
    pub runner_image: Option<String>,
}

/// `chart = { repo, name, version }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// Helm repository URL (or OCI registry path without `oci://`).
    pub repo: String,
    /// Chart name.
    pub name: String,
    /// Exact chart version (no ranges).
    pub version: String,
}

/// A config error: where, which key, what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Display name of the file (`platform.toml`).
    pub file: String,
    /// 1-based line and column (0 when the error has no position).
    pub line: u32,
    pub column: u32,
    /// Dotted key path (`nodes[1].gpu.vram_gb`), empty for syntax errors.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if !self.key.is_empty() {
            write!(f, "key '{}': ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// All errors of one config (the parser stops at the first syntax/type error; semantic
/// validation reports every problem it finds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Parse and validate a config. `file` is the name used in messages.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    parse_with(text, file, true)
}

/// Like [`parse`]; `check_budgets: false` skips the per-node capacity check (for
/// `homelab plan`, which shows over-commitment in its table instead).
pub fn parse_with(text: &str, file: &str, check_budgets: bool) -> Result<Config, ConfigErrors> {
    let located = Located::new(text, file);
    let table = toml::de::DeTable::parse(text).map_err(|e| {
        ConfigErrors(vec![located.error_at(
            e.span(),
            "",
            clean_message(e.message()),
        )])
    })?;
    let de = toml::de::Deserializer::from(table);
    let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = render_path(e.path());
        let inner = e.inner();
        let message = improve_message(inner.message(), &key);
        ConfigErrors(vec![located.error_at(inner.span(), &key, message)])
    })?;
    let mut errors = Vec::new();
    crate::validate::validate(&config, check_budgets, &mut |key: &str, message: String| {
        errors.push(located.error_for_key(key, message));
    });
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The embedded default, parsed (it is tested to be valid).
pub fn default_config() -> Config {
    match parse(DEFAULT_CONFIG, "platform.toml") {
        Ok(c) => c,
        // The default is a compile-time constant covered by tests; failing here is a bug.
        Err(e) => unreachable!("embedded default platform.toml is invalid: {e}"),
    }
}

/// serde_path_to_error's path as `nodes[1].gpu.vram_gb`.
fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// The valid keys of every table, for "did you mean" suggestions.
fn known_keys(table_path: &str) -> &'static [&'static str] {
    let last = table_path.rsplit('.').next().unwrap_or("");
    let last = last.split('[').next().unwrap_or("");
    match last {
        "" => &[
            "cluster",
            "git",
            "nodes",
            "storage",
            "github",
            "k3s",
            "check",
            "tooling",
            "sops",
            "components",
        ],
        "sops" => &["age_recipients"],
        "k3s" => &[
            "version",
            "server",
            "tls_san",
            "reserved_cpu",
            "reserved_memory",
        ],
        "tooling" => &[
            "homelab_version",
            "homelab_repo",
            "homelab_image",
            "ci_image",
        ],
        "cluster" => &[
            "name",
            "distribution",
            "kubernetes_version",
            "domain",
            "external_ip",
            "lan_cidr",
            "ingress",
        ],
        "git" => &["repo_url", "revision"],
        "nodes" => &["name", "address", "cores", "memory_gb", "roles", "gpu"],
        "gpu" => &["model", "vram_gb", "count"],
        "storage" => &[
            "host_path",
            "btrfs_mount",
            "subvolume",
            "device",
            "compression",
            "default_class",
            "gpu_class",
            "max_replicas",
            "longhorn_snapshot",
            "host_snapshot",
        ],
        "longhorn_snapshot" => &["cron", "retain"],
        "host_snapshot" => &["on_calendar", "retain", "directory"],
        "github" => &[
            "org",
            "runner_group",
            "min_runners",
            "max_runners",
            "auth",
            "repositories",
        ],
        "check" => &["select", "ignore"],
        "components" => &[
            "longhorn",
            "cert_manager",
            "kyverno",
            "sealed_secrets",
            "argocd",
            "gitlab",
            "arc",
            "nvidia_device_plugin",
            "ollama",
            "litellm",
            "open_webui",
            "n8n",
            "searxng",
            "traefik",
            "trivy_operator",
            "gitlab_runner",
        ],
        "chart" => &["repo", "name", "version"],
        _ => &[
            "enabled",
            "namespace",
            "sync_wave",
            "chart",
            "image",
            "node",
            "storage_class",
            "storage_size",
            "runners_namespace",
            "registry_read_only",
            "runner_image",
        ],
    }
}

/// Make serde's messages say what is allowed in the user's terms.
fn improve_message(message: &str, key: &str) -> String {
    let message = clean_message(message);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or("");
        // serde_path_to_error's path already includes the unknown field.
        let table = key.rsplit_once('.').map(|(t, _)| t).unwrap_or("");
        let table = if key == field { "" } else { table };
        let allowed = known_keys(table);
        let best = allowed
            .iter()
            .map(|k| (strsim::jaro_winkler(k, field), *k))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let mut out = format!("unknown key `{field}`");
        if let Some((_, k)) = best {
            out.push_str(&format!(" (did you mean `{k}`?)"));
        }
        out.push_str(&format!("; allowed: {}", allowed.join(", ")));
        return out;
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or("");
        return format!("missing required key `{field}` (see the embedded default: `homelab init` writes it with comments)");
    }
    message
        .replace("expected u32", "expected a non-negative integer")
        .replace("expected i32", "expected an integer")
        .replace("expected a boolean", "expected true or false")
}

fn clean_message(message: &str) -> String {
    message.trim().trim_end_matches('\n').to_string()
}

/// The source text with line offsets, to turn byte spans into line:col and to find keys.
struct Located<'a> {
    text: &'a str,
    file: &'a str,
}

impl<'a> Located<'a> {
    fn new(text: &'a str, file: &'a str) -> Self {
        Located { text, file }
    }

    fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() as u32 + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() as u32 + 1;
        (line, col)
    }

    fn error_at(&self, span: Option<Range<usize>>, key: &str, message: String) -> ConfigError {
        let (line, column) = match span {
            Some(s) => self.line_col(s.start),
            None => (0, 0),
        };
        ConfigError {
            file: self.file.to_string(),
            line,
            column,
            key: key.to_string(),
            message,
        }
    }

    /// Locate a key path (`nodes[1].gpu.vram_gb`) in the text: the value's span, or the
    /// closest enclosing table's.
    fn error_for_key(&self, key: &str, message: String) -> ConfigError {
        let span = toml::de::DeTable::parse(self.text)
            .ok()
            .and_then(|t| locate(t.get_ref(), key));
        self.error_at(span, key, message)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Walk a parsed table along `a.b[2].c`; returns the span of the deepest element found.
fn locate(table: &toml::de::DeTable<'_>, key: &str) -> Option<Range<usize>> {
    use toml::de::DeValue;
    let mut segments = Vec::new();
    for part in key.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            segments.push((rest[..open].to_string(), None));
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let close = stripped.find(']')?;
                let idx: usize = stripped[..close].parse().ok()?;
                if let Some(last) = segments.last_mut() {
                    if last.1.is_none() {
                        last.1 = Some(idx);
                    } else {
                        segments.push((String::new(), Some(idx)));
                    }
                }
                rest = &stripped[close + 1..];
            }
        } else {
            segments.push((rest.to_string(), None));
        }
    }
    let mut current: Option<&DeValue<'_>> = None;
    let mut best: Option<Range<usize>> = None;
    let mut current_table = Some(table);
    for (name, index) in segments {
        let tbl = match (current_table, current) {
            (Some(t), _) => t,
            (None, Some(DeValue::Table(t))) => t,
            _ => break,
        };
        current_table = None;
        let Some((k, v)) = tbl.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            break;
        };
        best = Some(if index.is_none() { v.span() } else { k.span() });
        let mut value = v.get_ref();
        if let Some(i) = index {
            match value {
                DeValue::Array(items) => match items.get(i) {
                    Some(item) => {
                        best = Some(item.span());
                        value = item.get_ref();
                    }
                    None => break,
                },
                _ => break,
            }
        }
        current = Some(value);
    }
    best
}
