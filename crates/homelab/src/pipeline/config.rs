//! Where `check` takes its configuration from: the repository's `platform.toml` (platform
//! facts for the rules, and its `[check]` table) or `.homelab.toml` (a `[check]` table for
//! repositories that are not rendered by homelab), and `.secrets.baseline`.
//!
//! A repository rendered from `platform.toml` is held to the guide's expectations with the
//! platform's facts. Any other repository is judged by what it declares; `.homelab.toml`
//! may add facts (`[check.facts]`) or ask for the guide's posture
//! (`[check] expectations = "guide"`).
//!
//! These files belong to the repository, which may be a pull request's: each is read only if
//! it is a regular file (a link to a host file or to `/proc/kmsg` is refused, not followed)
//! and small, and a configuration that switches the secret scanner off is reported.

use anyhow::Context;
use homelab_rules::{Cidr, Expectations, Settings};
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
    /// `guide` or `repository`.
    #[serde(default)]
    expectations: Option<String>,
    #[serde(default)]
    facts: FactsTable,
}

/// `[check.facts]`: platform facts of a repository that is not rendered by homelab.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsTable {
    lan_cidrs: Option<Vec<String>>,
    storage_nodes: Option<usize>,
    gpu_nodes: Option<Vec<String>>,
    storage_classes: Option<Vec<String>>,
    local_storage_classes: Option<Vec<String>>,
    privileged_namespaces: Option<Vec<String>>,
    system_namespaces: Option<Vec<String>>,
    ingress_namespaces: Option<Vec<String>>,
    /// A memory quantity (`8Gi`).
    gitlab_memory_budget: Option<String>,
    critical_policies: Option<Vec<String>>,
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
    /// The configuration file whose `select`/`ignore` switches secret scanning off.
    pub secret_scanning_off_in: Option<String>,
}

/// Documentation of the finding [`CheckConfig::secret_scanning_off_in`] leads to.
pub const SECRET_SCANNING_OFF_DOC: homelab_diagnostics::RuleDoc = homelab_diagnostics::RuleDoc {
    id: "check/secret-scanning-off",
    severity: homelab_diagnostics::Severity::Warning,
    summary: "The repository's configuration switches secret scanning off",
    doc: "# `check/secret-scanning-off`\n\n## What it checks\nA `[check]` table in `.homelab.toml` or `platform.toml` whose `select`/`ignore` leaves out the secret rules (`secrets/leaked-credential`, `secrets/plain-secret`). The finding is reported whatever the repository's configuration says; only `--ignore` on the command line drops it.\n\n## Why\n`check` runs on pull requests: a change that switches the scanner off in the same pull request that commits a credential would otherwise pass without a word.\n\n## Example\n```toml\n[check]\nignore = [\"secrets\"]\n```\n\n## Fix\nRemove `secrets` from `ignore`; accept individual findings with `.secrets.baseline` or an inline suppression with a reason.",
};

/// The largest configuration file `check` reads from a repository.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Rules that find secrets: a repository's configuration that deselects them is reported.
const SECRET_RULES: &[&str] = &["secrets/leaked-credential", "secrets/plain-secret"];

/// Read a configuration file of the repository: `None` when absent; an error for a link, a
/// FIFO or device, or an oversized file.
fn read_config_file(path: &Path) -> anyhow::Result<Option<String>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let bytes = homelab_fs::read_regular(path, MAX_CONFIG_BYTES, false).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; check reads its configuration only from regular files of the repository",
            path.display()
        )
    })?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

impl CheckConfig {
    fn note_secret_scanning(&mut self, file: &Path, select: &[String], ignore: &[String]) {
        if self.secret_scanning_off_in.is_none()
            && SECRET_RULES
                .iter()
                .any(|rule| !super::selected(rule, select, ignore))
        {
            self.secret_scanning_off_in = Some(file.display().to_string());
        }
    }

    /// Read `.homelab.toml`, `platform.toml` and `.secrets.baseline` from `root` (when the
    /// input is one folder). Files that are absent leave the guide's defaults.
    pub fn discover(root: Option<&Path>) -> anyhow::Result<CheckConfig> {
        let mut config = CheckConfig::default();
        let Some(root) = root else { return Ok(config) };
        let platform_file = root.join("platform.toml");
        if let Some(text) = read_config_file(&platform_file)? {
            let platform =
                homelab_platform::parse_with(&text, &platform_file.display().to_string(), false)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "{e}\n(fix platform.toml, or check single files to skip it)"
                        )
                    })?;
            config.apply_platform(&platform);
            config.note_secret_scanning(
                &platform_file,
                &platform.check.select,
                &platform.check.ignore,
            );
        }
        let homelab_file = root.join(".homelab.toml");
        if let Some(text) = read_config_file(&homelab_file)? {
            let parsed: HomelabToml = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", homelab_file.display()))?;
            let origin = homelab_file.display().to_string();
            config.note_secret_scanning(&homelab_file, &parsed.check.select, &parsed.check.ignore);
            config.select.extend(parsed.check.select);
            config.ignore.extend(parsed.check.ignore);
            if parsed.check.kubernetes_version.is_some() {
                config.kubernetes_version = parsed.check.kubernetes_version;
            }
            match parsed.check.expectations.as_deref() {
                None => {}
                Some("guide") => {
                    config.settings.expectations = Expectations::Guide;
                    config.settings.posture_origin = "`expectations = \"guide\"` in .homelab.toml";
                }
                Some("repository") => config.settings.expectations = Expectations::Repository,
                Some(other) => anyhow::bail!(
                    "{origin}: [check] expectations = {other:?}: use \"guide\" (the guide's platform posture) or \"repository\" (only what the repository declares)"
                ),
            }
            config.apply_facts(parsed.check.facts, &origin)?;
        }
        config.settings.fingerprint_key = fingerprint_key(root)?;
        let baseline = root.join(".secrets.baseline");
        if let Some(text) = read_config_file(&baseline)? {
            config.settings.secrets_baseline = read_baseline(&baseline, &text)?;
        }
        Ok(config)
    }

    fn apply_facts(&mut self, facts: FactsTable, origin: &str) -> anyhow::Result<()> {
        let s = &mut self.settings;
        if facts != FactsTable::default() {
            s.facts_origin = if s.expectations == Expectations::Guide && s.posture_origin.is_empty()
            {
                "platform.toml and .homelab.toml"
            } else {
                "the check configuration (.homelab.toml)"
            };
        }
        if let Some(cidrs) = facts.lan_cidrs {
            s.lan_cidrs = cidrs
                .iter()
                .map(|c| {
                    c.parse::<Cidr>()
                        .map_err(|e| anyhow::anyhow!("{origin}: [check.facts] lan_cidrs: {e}"))
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(n) = facts.storage_nodes {
            s.storage_nodes = Some(n);
        }
        if let Some(nodes) = facts.gpu_nodes {
            s.gpu_nodes = Some(nodes);
        }
        if let Some(classes) = facts.storage_classes {
            s.storage_classes = classes;
        }
        if let Some(classes) = facts.local_storage_classes {
            s.local_storage_classes = classes;
        }
        if let Some(namespaces) = facts.privileged_namespaces {
            s.privileged_namespaces = namespaces;
        }
        if let Some(namespaces) = facts.system_namespaces {
            s.system_namespaces = namespaces;
        }
        if let Some(namespaces) = facts.ingress_namespaces {
            s.ingress_namespaces = Some(namespaces);
        }
        if let Some(budget) = facts.gitlab_memory_budget {
            let bytes = homelab_k8s::Quantity::parse(budget.trim())
                .ok()
                .and_then(|q| u64::try_from(q.units_rounded_up()).ok())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{origin}: [check.facts] gitlab_memory_budget = {budget:?} is not a memory quantity (e.g. \"8Gi\")"
                    )
                })?;
            s.gitlab_memory_budget = Some(bytes);
        }
        if let Some(policies) = facts.critical_policies {
            s.critical_policies = policies;
        }
        Ok(())
    }

    fn apply_platform(&mut self, platform: &homelab_platform::Config) {
        let derived = homelab_platform::model::derive(platform);
        self.settings = Settings {
            secrets_baseline: std::mem::take(&mut self.settings.secrets_baseline),
            ..Settings::guide()
        };
        let s = &mut self.settings;
        if let Ok(cidr) = platform.cluster.lan_cidr.parse::<Cidr>() {
            s.lan_cidrs = vec![cidr];
        }
        s.storage_nodes = Some(derived.storage_nodes.len());
        s.gpu_nodes = Some(
            derived
                .nodes
                .iter()
                .filter(|n| n.gpu)
                .map(|n| n.name.clone())
                .collect(),
        );
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

/// The key for secret fingerprints: `HOMELAB_FINGERPRINT_KEY` (a CI secret), else the
/// repository's `.homelab/fingerprint.key`; none means each file's text keys its own.
fn fingerprint_key(
    root: &Path,
) -> anyhow::Result<Option<homelab_rules::fingerprint::FingerprintKey>> {
    use homelab_rules::fingerprint::FingerprintKey;
    if let Some(value) = std::env::var_os("HOMELAB_FINGERPRINT_KEY").filter(|v| !v.is_empty()) {
        return Ok(Some(FingerprintKey::derive(value.as_encoded_bytes())));
    }
    // The folder is the repository's too: a `.homelab` that links elsewhere is not followed.
    let folder = root.join(".homelab");
    if std::fs::symlink_metadata(&folder).is_ok_and(|m| m.file_type().is_symlink()) {
        anyhow::bail!(
            "{}: is a symbolic link (not followed); check reads its configuration only from regular files of the repository",
            folder.display()
        );
    }
    Ok(read_config_file(&folder.join("fingerprint.key"))?
        .filter(|text| !text.trim().is_empty())
        .map(|text| FingerprintKey::derive(text.trim().as_bytes())))
}

/// The `hashed_secret` values of a detect-secrets baseline.
fn read_baseline(path: &Path, text: &str) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let json: serde_json::Value = serde_json::from_str(text).with_context(|| {
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
