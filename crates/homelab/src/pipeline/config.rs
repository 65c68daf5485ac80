//! Where `check` takes its configuration from: the repository's `platform.toml` (platform
//! facts for the rules, and its `[check]` table) or `.homelab.toml` (a `[check]` table for
//! repositories that are not rendered by homelab), and `.secrets.baseline`.

use anyhow::Context;
use homelab_rules::{Cidr, Settings};
use serde::Deserialize;
use std::path::Path;

/// The `[check]` table of `.homelab.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckTable {
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    kubernetes_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct HomelabToml {
    #[serde(default)]
    check: CheckTable,
}

/// Everything `check` reads from the repository's configuration files.
#[derive(Debug, Clone, Default)]
pub struct CheckConfig {
    pub settings: Settings,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub kubernetes_version: Option<String>,
    /// The cluster's distribution (`k3s`) from platform.toml.
    pub distribution: Option<String>,
}

impl CheckConfig {
    /// Read `.homelab.toml`, `platform.toml` and `.secrets.baseline` from `root` (when the
    /// input is one folder). Files that are absent leave the guide's defaults.
    pub fn discover(root: Option<&Path>) -> anyhow::Result<CheckConfig> {
        let mut config = CheckConfig::default();
        let Some(root) = root else { return Ok(config) };
        let platform_file = root.join("platform.toml");
        if platform_file.is_file() {
            let text = std::fs::read_to_string(&platform_file)
                .with_context(|| format!("reading {}", platform_file.display()))?;
            let platform =
                homelab_platform::parse_with(&text, &platform_file.display().to_string(), false)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "{e}\n(fix platform.toml, or check single files to skip it)"
                        )
                    })?;
            config.apply_platform(&platform);
        }
        let homelab_file = root.join(".homelab.toml");
        if homelab_file.is_file() {
            let text = std::fs::read_to_string(&homelab_file)
                .with_context(|| format!("reading {}", homelab_file.display()))?;
            let parsed: HomelabToml = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", homelab_file.display()))?;
            config.select.extend(parsed.check.select);
            config.ignore.extend(parsed.check.ignore);
            if parsed.check.kubernetes_version.is_some() {
                config.kubernetes_version = parsed.check.kubernetes_version;
            }
        }
        let baseline = root.join(".secrets.baseline");
        if baseline.is_file() {
            config.settings.secrets_baseline = read_baseline(&baseline)?;
        }
        Ok(config)
    }

    fn apply_platform(&mut self, platform: &homelab_platform::Config) {
        let derived = homelab_platform::model::derive(platform);
        let s = &mut self.settings;
        if let Ok(cidr) = platform.cluster.lan_cidr.parse::<Cidr>() {
            s.lan_cidrs = vec![cidr];
        }
        s.storage_nodes = derived.storage_nodes.len();
        s.gpu_nodes = derived
            .nodes
            .iter()
            .filter(|n| n.gpu)
            .map(|n| n.name.clone())
            .collect();
        for ns in &derived.namespaces {
            if ns.enforce == "privileged" && !s.privileged_namespaces.contains(&ns.name) {
                s.privileged_namespaces.push(ns.name.clone());
            }
        }
        for class in [&platform.storage.default_class, &platform.storage.gpu_class] {
            if !s.storage_classes.contains(class) {
                s.storage_classes.push(class.clone());
            }
        }
        if !s
            .local_storage_classes
            .contains(&platform.storage.gpu_class)
        {
            s.local_storage_classes
                .push(platform.storage.gpu_class.clone());
        }
        self.select.extend(platform.check.select.iter().cloned());
        self.ignore.extend(platform.check.ignore.iter().cloned());
        self.kubernetes_version = Some(platform.cluster.kubernetes_version.clone());
        self.distribution = Some(platform.cluster.distribution.clone());
    }
}

/// The `hashed_secret` values of a detect-secrets baseline.
fn read_baseline(path: &Path) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!("{} is not a detect-secrets baseline (JSON); regenerate it with `detect-secrets scan > .secrets.baseline`", path.display())
    })?;
    let mut out = std::collections::BTreeSet::new();
    if let Some(results) = json.get("results").and_then(|r| r.as_object()) {
        for entries in results.values() {
            for e in entries.as_array().into_iter().flatten() {
                if let Some(h) = e.get("hashed_secret").and_then(|h| h.as_str()) {
                    out.insert(h.to_string());
                }
            }
        }
    }
    Ok(out)
}
