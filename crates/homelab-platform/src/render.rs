//! The renderer: config -> every file of the GitOps repository, in memory.
//!
//! A pure function of the config and the generator version: the same inputs give a
//! byte-identical `BTreeMap<PathBuf, String>`. Templates are minijinja files embedded at
//! compile time (`templates/repo/`); writing them to disk is `crate::sync`'s job.

use crate::config::Config;
use crate::model::{self, catalog_entry, Platform};
use crate::values::{self, Language};
use minijinja::value::ValueKind;
use minijinja::{
    context, AutoEscape, Environment, Error as JinjaError, ErrorKind, Output, State,
    UndefinedBehavior, Value,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The rendered repository: relative path -> content.
pub type Rendered = BTreeMap<PathBuf, String>;

/// The generator version recorded in every rendering.
pub const GENERATOR_VERSION: &str = env!("CARGO_PKG_VERSION");

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/repo/", $name)))),*]
    };
}

/// Every template, by name (its path under `templates/repo/`).
const TEMPLATES: &[(&str, &str)] = templates![
    "_macros.j2",
    "README.md",
    "docs/storage.md",
    "docs/security.md",
    "docs/secrets.md",
    "docs/certificates.md",
    "dot-yamllint",
    "dot-shellcheckrc",
    "dot-editorconfig",
    "dot-gitignore",
    "dot-pre-commit-config.yaml",
    "dot-sops.yaml",
    "dot-secrets.baseline",
    "dot-gitlab-ci.yml",
    "github-validate.yml",
    "ct.yaml",
    "Taskfile.yml",
    "pyproject.toml",
    "helmfile.yaml",
    "argocd/root-app.yaml",
    "argocd/project.yaml",
    "argocd/application.yaml",
    "infrastructure/namespaces.yaml",
    "infrastructure/network-policies.yaml",
    "infrastructure/longhorn-values.yaml",
    "infrastructure/storageclasses.yaml",
    "infrastructure/recurringjobs.yaml",
    "infrastructure/cert-manager-values.yaml",
    "infrastructure/ca-issuers.yaml",
    "infrastructure/kyverno-values.yaml",
    "infrastructure/sealed-secrets-values.yaml",
    "infrastructure/argocd-values.yaml",
    "infrastructure/traefik-helmchartconfig.yaml",
    "infrastructure/trivy-operator-values.yaml",
    "kustomization.yaml",
    "apps/gitlab-values.yaml",
    "apps/gitlab-runner-values.yaml",
    "apps/arc-controller-values.yaml",
    "apps/arc-scale-set-values.yaml",
    "apps/ollama.yaml",
    "apps/litellm.yaml",
    "apps/open-webui.yaml",
    "apps/n8n.yaml",
    "apps/searxng.yaml",
    "policies/pod-security-baseline.yaml",
    "policies/disallow-host-access.yaml",
    "policies/require-requests-limits.yaml",
    "policies/require-run-as-non-root.yaml",
    "policies/require-pinned-images.yaml",
    "policies/system-namespace-exception.yaml",
    "secrets/sealed-secret.yaml",
    "scripts/setup-btrfs-longhorn.sh",
    "scripts/btrfs-snapshot-longhorn.sh",
    "scripts/backup-sealing-keys.sh",
    "scripts/github-runner-group.sh",
    "scripts/distribute-ca.sh",
    "scripts/seal-secret.sh",
    "host/fstab",
    "host/longhorn-snapshot.service",
    "host/longhorn-snapshot.timer",
    "host/k3s-config.yaml",
    "host/k3s-registries.yaml",
    "scripts/host-prereqs.sh",
    "scripts/k3s-install.sh",
    "infrastructure/nvidia-device-plugin-values.yaml",
    "infrastructure/nvidia-runtimeclass.yaml",
    "renovate.json",
    "tests/test_manifests.py",
    "charts/README.md",
];

/// A rendering error (a template bug or a config the templates cannot express).
#[derive(Debug, thiserror::Error)]
#[error("rendering {file}: {message}")]
pub struct RenderError {
    pub file: String,
    pub message: String,
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Before the templates are added: each takes its language from its name.
    env.set_auto_escape_callback(|name| {
        AutoEscape::Custom(Language::of_template(name).map_or("unclassified", Language::name))
    });
    for (name, source) in TEMPLATES {
        // Template sources are compile-time constants covered by tests.
        if let Err(e) = env.add_template(name, source) {
            unreachable!("template {name} does not compile: {e}");
        }
    }
    env.add_function("resources", resources_block);
    // The one quoting layer for config values (crate::values): a filter per target language,
    // and a guard on every `{{ }}` that refuses to print a value bare where it could be code.
    let quoted = |quote: fn(&str) -> String| move |v: &str| Value::from_safe_string(quote(v));
    env.add_filter("sh", quoted(values::shell_quote));
    env.add_filter("yaml", quoted(values::yaml_quote));
    env.add_filter("toml", quoted(values::toml_quote));
    env.add_filter("json", quoted(values::json_quote));
    env.add_filter("fstab", quoted(values::fstab_quote));
    env.add_filter("systemd", quoted(values::systemd_quote));
    env.add_filter("line", quoted(values::line_text));
    env.set_formatter(guard_output);
    env
}

/// Prints one `{{ }}`: a quoted value (from a filter above, a macro or a `set` block, all
/// built from guarded output) as it is; a number or boolean as it is; a string only if the
/// file's language reads it back as exactly that string wherever it stands. Anything else is
/// a template bug, reported with the template line, never written.
fn guard_output(out: &mut Output, state: &State, value: &Value) -> Result<(), JinjaError> {
    let language = match state.auto_escape() {
        AutoEscape::Custom(name) => Language::from_name(name),
        _ => None,
    };
    let Some(language) = language else {
        return Err(JinjaError::new(
            ErrorKind::InvalidOperation,
            format!(
                "template {} has no language for quoting: classify it in values::Language::of_template",
                state.name()
            ),
        ));
    };
    let bare = match value.kind() {
        _ if value.is_safe() => true,
        // Lower case, as YAML, TOML, JSON and shell `[ ]` tests read them.
        ValueKind::Bool => {
            let text = if value.is_true() { "true" } else { "false" };
            return out.write_str(text).map_err(JinjaError::from);
        }
        ValueKind::Number => true,
        ValueKind::String => language.is_bare_safe(value.as_str().unwrap_or_default()),
        ValueKind::Undefined => return Err(JinjaError::from(ErrorKind::UndefinedError)),
        _ => false,
    };
    if !bare {
        return Err(JinjaError::new(
            ErrorKind::InvalidOperation,
            format!(
                "this {} value may not be printed bare in {}: quote it with `| {}` (or `| line` in a comment)",
                value.kind(),
                language.name(),
                language.quoting_filter()
            ),
        ));
    }
    write!(out, "{value}").map_err(JinjaError::from)
}

/// `resources(key)`: the YAML `resources:` block of a catalog workload (requests + limits).
/// The catalog is ours, so the block is printed as it is.
fn resources_block(key: &str) -> Result<Value, JinjaError> {
    let w = catalog_entry(key).ok_or_else(|| {
        JinjaError::new(
            ErrorKind::InvalidOperation,
            format!("no workload {key:?} in the catalog"),
        )
    })?;
    let mut out = format!(
        "resources:\n  requests:\n    cpu: {}\n    memory: {}\n",
        w.requests_cpu, w.requests_memory
    );
    if w.gpu > 0 {
        out.push_str(&format!("    nvidia.com/gpu: {}\n", w.gpu));
    }
    out.push_str(&format!(
        "  limits:\n    cpu: {}\n    memory: {}",
        w.limits_cpu, w.limits_memory
    ));
    if w.gpu > 0 {
        out.push_str(&format!("\n    nvidia.com/gpu: {}", w.gpu));
    }
    Ok(Value::from_safe_string(out))
}

/// Render the whole repository.
pub fn render(config: &Config) -> Result<Rendered, RenderError> {
    let platform = model::derive(config);
    render_with(config, &platform)
}

fn render_with(config: &Config, platform: &Platform) -> Result<Rendered, RenderError> {
    let env = env();
    let comps: BTreeMap<&str, Value> = crate::config::COMPONENTS
        .iter()
        .filter_map(|s| {
            config
                .components
                .get(s.key)
                .map(|c| (s.key, Value::from_serialize(c)))
        })
        .collect();
    let enabled: BTreeMap<&str, bool> = crate::config::COMPONENTS
        .iter()
        .map(|s| {
            (
                s.key,
                config.components.get(s.key).is_some_and(|c| c.enabled),
            )
        })
        .collect();
    let base = context! {
        version => Value::from_safe_string(GENERATOR_VERSION.to_owned()),
        cfg => Value::from_serialize(config),
        cluster => Value::from_serialize(&config.cluster),
        git => Value::from_serialize(&config.git),
        storage => Value::from_serialize(&config.storage),
        github => Value::from_serialize(&config.github),
        c => Value::from_serialize(&comps),
        on => Value::from_serialize(&enabled),
        p => Value::from_serialize(platform),
        chart_repos => Value::from_serialize(chart_repos(platform)),
        sealed => Value::from_serialize(sealed_secrets(config)),
        bootstrap => Value::from_serialize(crate::bootstrap::steps(config, platform)),
        k3s => Value::from_serialize(&config.k3s),
        tooling => Value::from_serialize(&config.tooling),
        sops => Value::from_serialize(&config.sops),
        server => Value::from_serialize(config.nodes.iter().find(|n| n.name == config.k3s.server)),
    };
    let mut out = Rendered::new();
    let emit = |out: &mut Rendered,
                template: &str,
                path: String,
                extra: Value|
     -> Result<(), RenderError> {
        let ctx = context! { ..extra, ..base.clone() };
        let text = env
            .get_template(template)
            .and_then(|t| t.render(ctx))
            .map_err(|e| RenderError {
                file: path.clone(),
                message: format!("{e:#}"),
            })?;
        out.insert(PathBuf::from(path), normalise(&text));
        Ok(())
    };
    let none = Value::from(());
    let on = |k: &str| enabled.get(k).copied().unwrap_or(false);

    // Top-level files.
    for (t, p) in [
        ("README.md", "README.md"),
        ("docs/storage.md", "docs/storage.md"),
        ("docs/security.md", "docs/security.md"),
        ("docs/secrets.md", "docs/secrets.md"),
        ("docs/certificates.md", "docs/certificates.md"),
        ("dot-yamllint", ".yamllint"),
        ("dot-shellcheckrc", ".shellcheckrc"),
        ("dot-editorconfig", ".editorconfig"),
        ("dot-gitignore", ".gitignore"),
        ("dot-pre-commit-config.yaml", ".pre-commit-config.yaml"),
        ("dot-sops.yaml", ".sops.yaml"),
        ("dot-secrets.baseline", ".secrets.baseline"),
        ("dot-gitlab-ci.yml", ".gitlab-ci.yml"),
        ("github-validate.yml", ".github/workflows/validate.yml"),
        ("ct.yaml", "ct.yaml"),
        ("Taskfile.yml", "Taskfile.yml"),
        ("pyproject.toml", "pyproject.toml"),
        ("helmfile.yaml", "helmfile.yaml"),
        ("argocd/root-app.yaml", "argocd/bootstrap/root-app.yaml"),
        ("argocd/project.yaml", "argocd/projects/homelab.yaml"),
        (
            "infrastructure/namespaces.yaml",
            "infrastructure/namespaces/namespaces.yaml",
        ),
        (
            "scripts/setup-btrfs-longhorn.sh",
            "scripts/setup-btrfs-longhorn.sh",
        ),
        (
            "scripts/btrfs-snapshot-longhorn.sh",
            "scripts/btrfs-snapshot-longhorn.sh",
        ),
        ("host/fstab", "host/fstab.longhorn"),
        (
            "host/longhorn-snapshot.service",
            "host/systemd/longhorn-snapshot.service",
        ),
        (
            "host/longhorn-snapshot.timer",
            "host/systemd/longhorn-snapshot.timer",
        ),
        (
            "infrastructure/longhorn-values.yaml",
            "infrastructure/longhorn/values.yaml",
        ),
        (
            "infrastructure/storageclasses.yaml",
            "infrastructure/longhorn/storage/storageclasses.yaml",
        ),
        (
            "infrastructure/recurringjobs.yaml",
            "infrastructure/longhorn/storage/recurringjobs.yaml",
        ),
        (
            "infrastructure/argocd-values.yaml",
            "infrastructure/argocd/values.yaml",
        ),
        ("tests/test_manifests.py", "tests/test_manifests.py"),
        ("host/k3s-registries.yaml", "host/k3s/registries.yaml"),
        ("scripts/host-prereqs.sh", "scripts/host-prereqs.sh"),
        ("scripts/k3s-install.sh", "scripts/k3s-install.sh"),
        ("renovate.json", "renovate.json"),
        ("charts/README.md", "charts/README.md"),
    ] {
        emit(&mut out, t, p.to_string(), none.clone())?;
    }
    let kust = |out: &mut Rendered, dir: &str, resources: Vec<String>, namespace: Option<&str>| {
        emit(
            out,
            "kustomization.yaml",
            format!("{dir}/kustomization.yaml"),
            context! { resources => resources, namespace => namespace },
        )
    };
    kust(
        &mut out,
        "infrastructure/namespaces",
        vec!["namespaces.yaml".into()],
        None,
    )?;
    kust(
        &mut out,
        "infrastructure/longhorn/storage",
        vec!["storageclasses.yaml".into(), "recurringjobs.yaml".into()],
        None,
    )?;

    // k3s: one config.yaml per node.
    for node in &config.nodes {
        emit(
            &mut out,
            "host/k3s-config.yaml",
            format!("host/k3s/{}/config.yaml", node.name),
            context! {
                node => Value::from_serialize(node),
                info => Value::from_serialize(platform.nodes.iter().find(|n| n.name == node.name)),
            },
        )?;
    }
    if on("nvidia_device_plugin") && platform.gpu_node.is_some() {
        emit(
            &mut out,
            "infrastructure/nvidia-device-plugin-values.yaml",
            "infrastructure/nvidia-device-plugin/values.yaml".into(),
            none.clone(),
        )?;
        emit(
            &mut out,
            "infrastructure/nvidia-runtimeclass.yaml",
            "infrastructure/nvidia-device-plugin/runtime/runtimeclass.yaml".into(),
            none.clone(),
        )?;
        kust(
            &mut out,
            "infrastructure/nvidia-device-plugin/runtime",
            vec!["runtimeclass.yaml".into()],
            None,
        )?;
    }

    // Network policies: one file per namespace.
    let mut np_files = Vec::new();
    for ns in &platform.namespaces {
        let file = format!("{}.yaml", ns.name);
        emit(
            &mut out,
            "infrastructure/network-policies.yaml",
            format!("infrastructure/network-policies/{file}"),
            context! { ns => Value::from_serialize(ns) },
        )?;
        np_files.push(file);
    }
    kust(&mut out, "infrastructure/network-policies", np_files, None)?;

    // Applications.
    for app in &platform.apps {
        emit(
            &mut out,
            "argocd/application.yaml",
            format!("argocd/applications/{}/{}.yaml", app.group, app.name),
            context! { app => Value::from_serialize(app) },
        )?;
    }

    // Component files.
    if on("cert_manager") {
        emit(
            &mut out,
            "infrastructure/cert-manager-values.yaml",
            "infrastructure/cert-manager/values.yaml".into(),
            none.clone(),
        )?;
        emit(
            &mut out,
            "infrastructure/ca-issuers.yaml",
            "infrastructure/cert-manager/issuers/ca.yaml".into(),
            none.clone(),
        )?;
        kust(
            &mut out,
            "infrastructure/cert-manager/issuers",
            vec!["ca.yaml".into()],
            None,
        )?;
        emit(
            &mut out,
            "scripts/distribute-ca.sh",
            "scripts/distribute-ca.sh".into(),
            none.clone(),
        )?;
    }
    if on("kyverno") {
        emit(
            &mut out,
            "infrastructure/kyverno-values.yaml",
            "infrastructure/kyverno/values.yaml".into(),
            none.clone(),
        )?;
        let policies = [
            (
                "policies/pod-security-baseline.yaml",
                "security/pod-security-baseline.yaml",
            ),
            (
                "policies/disallow-host-access.yaml",
                "security/disallow-host-access.yaml",
            ),
            (
                "policies/require-pinned-images.yaml",
                "security/require-pinned-images.yaml",
            ),
            (
                "policies/require-requests-limits.yaml",
                "best-practices/require-requests-limits.yaml",
            ),
            (
                "policies/require-run-as-non-root.yaml",
                "best-practices/require-run-as-non-root.yaml",
            ),
            (
                "policies/system-namespace-exception.yaml",
                "exceptions/system-namespace-exception.yaml",
            ),
        ];
        let mut files = Vec::new();
        for (t, p) in policies {
            emit(&mut out, t, format!("policies/kyverno/{p}"), none.clone())?;
            files.push(p.to_string());
        }
        kust(&mut out, "policies/kyverno", files, None)?;
    }
    if on("sealed_secrets") {
        emit(
            &mut out,
            "infrastructure/sealed-secrets-values.yaml",
            "infrastructure/sealed-secrets/values.yaml".into(),
            none.clone(),
        )?;
        emit(
            &mut out,
            "scripts/backup-sealing-keys.sh",
            "scripts/backup-sealing-keys.sh".into(),
            none.clone(),
        )?;
        emit(
            &mut out,
            "scripts/seal-secret.sh",
            "scripts/seal-secret.sh".into(),
            none.clone(),
        )?;
        let mut files = Vec::new();
        for s in sealed_secrets(config) {
            let file = format!("{}.yaml", s.name);
            emit(
                &mut out,
                "secrets/sealed-secret.yaml",
                format!("secrets/homelab/{file}"),
                context! { s => Value::from_serialize(&s) },
            )?;
            files.push(file);
        }
        kust(&mut out, "secrets/homelab", files, None)?;
    }
    if on("traefik") {
        emit(
            &mut out,
            "infrastructure/traefik-helmchartconfig.yaml",
            "infrastructure/traefik/helmchartconfig.yaml".into(),
            none.clone(),
        )?;
        kust(
            &mut out,
            "infrastructure/traefik",
            vec!["helmchartconfig.yaml".into()],
            None,
        )?;
    }
    if on("trivy_operator") {
        emit(
            &mut out,
            "infrastructure/trivy-operator-values.yaml",
            "infrastructure/trivy-operator/values.yaml".into(),
            none.clone(),
        )?;
    }
    if on("gitlab") {
        emit(
            &mut out,
            "apps/gitlab-values.yaml",
            "apps/gitlab/values-homelab.yaml".into(),
            none.clone(),
        )?;
    }
    if on("gitlab_runner") {
        emit(
            &mut out,
            "apps/gitlab-runner-values.yaml",
            "apps/gitlab-runner/values.yaml".into(),
            none.clone(),
        )?;
    }
    if on("arc") {
        emit(
            &mut out,
            "apps/arc-controller-values.yaml",
            "apps/arc/controller-values.yaml".into(),
            none.clone(),
        )?;
        emit(
            &mut out,
            "apps/arc-scale-set-values.yaml",
            "apps/arc/arc-linux-standard-values.yaml".into(),
            context! { gpu => false },
        )?;
        if platform.gpu_node.is_some() {
            emit(
                &mut out,
                "apps/arc-scale-set-values.yaml",
                "apps/arc/arc-linux-gpu-values.yaml".into(),
                context! { gpu => true },
            )?;
        }
        emit(
            &mut out,
            "scripts/github-runner-group.sh",
            "scripts/github-runner-group.sh".into(),
            none.clone(),
        )?;
    }
    for (key, dir) in [
        ("ollama", "ollama"),
        ("litellm", "litellm"),
        ("open_webui", "open-webui"),
        ("n8n", "n8n"),
        ("searxng", "searxng"),
    ] {
        if on(key) {
            let base_dir = format!("apps/ai-services/{dir}");
            emit(
                &mut out,
                &format!("apps/{dir}.yaml"),
                format!("{base_dir}/{dir}.yaml"),
                none.clone(),
            )?;
            let ns = config.components.get(key).map(|c| c.namespace.clone());
            kust(
                &mut out,
                &base_dir,
                vec![format!("{dir}.yaml")],
                ns.as_deref(),
            )?;
        }
    }
    Ok(out)
}

/// A Helm repository the Applications pull from (deduplicated, sorted).
#[derive(Debug, Clone, serde::Serialize)]
struct ChartRepo {
    name: String,
    url: String,
    oci: bool,
}

fn chart_repos(platform: &Platform) -> Vec<ChartRepo> {
    let mut seen = BTreeMap::new();
    for app in &platform.apps {
        if let Some(ch) = &app.chart {
            seen.entry(ch.repo.clone()).or_insert_with(|| ChartRepo {
                name: app.name.clone(),
                url: ch.repo.clone(),
                oci: !ch.repo.contains("://"),
            });
        }
    }
    seen.into_values().collect()
}

/// How `homelab secrets init` fills one key of a SealedSecret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "from")]
pub enum SecretValue {
    /// 32 random bytes, hex.
    Random,
    /// Asked for (a credential made elsewhere: GitHub App, GitLab runner).
    Ask,
    /// Read from a file whose path is asked for (a key file downloaded elsewhere).
    AskFile,
    /// Always this value.
    Fixed(&'static str),
    /// The same value as another secret's key (`secret/key`).
    SameAs(&'static str),
}

/// One key of a SealedSecret placeholder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SecretKey {
    pub name: &'static str,
    pub value: SecretValue,
}

/// One SealedSecret placeholder the platform needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SealedSecretSpec {
    pub name: String,
    pub namespace: String,
    pub keys: Vec<&'static str>,
    /// How each key is filled (same order as `keys`).
    pub values: Vec<SecretKey>,
    pub purpose: &'static str,
    /// Can only be made once the platform runs (the GitLab Runner token): `homelab check`
    /// reports it as a note, not an error, and `secrets init` skips it unless named.
    pub deferred: bool,
}

/// The secrets each enabled component needs, sealed into `secrets/homelab/`.
pub fn sealed_secrets(config: &Config) -> Vec<SealedSecretSpec> {
    use SecretValue::{Ask, AskFile, Fixed, Random, SameAs};
    let c = &config.components;
    let mut v = Vec::new();
    let mut add = |on: bool,
                   name: &str,
                   ns: &str,
                   values: Vec<(&'static str, SecretValue)>,
                   purpose: &'static str,
                   deferred: bool| {
        if on {
            v.push(SealedSecretSpec {
                name: name.into(),
                namespace: ns.into(),
                keys: values.iter().map(|(k, _)| *k).collect(),
                values: values
                    .into_iter()
                    .map(|(name, value)| SecretKey { name, value })
                    .collect(),
                purpose,
                deferred,
            });
        }
    };
    let arc_ns = c
        .arc
        .runners_namespace
        .clone()
        .unwrap_or_else(|| "arc-runners".into());
    add(
        c.arc.enabled,
        "github-app-secret",
        &arc_ns,
        vec![
            ("github_app_id", Ask),
            ("github_app_installation_id", Ask),
            ("github_app_private_key", AskFile),
        ],
        "GitHub App credentials of the ARC runner scale sets (never a PAT)",
        false,
    );
    add(
        c.gitlab_runner.enabled,
        "gitlab-runner-token",
        &c.gitlab_runner.namespace,
        vec![("runner-registration-token", Fixed("")), ("runner-token", Ask)],
        "GitLab Runner authentication token (create the runner in GitLab once it runs, then seal its token)",
        true,
    );
    add(
        c.litellm.enabled,
        "litellm-secrets",
        &c.litellm.namespace,
        vec![("LITELLM_MASTER_KEY", Random), ("LITELLM_SALT_KEY", Random)],
        "LiteLLM proxy master key (clients use it as their API key) and salt",
        false,
    );
    let webui_key = if c.litellm.enabled {
        SameAs("litellm-secrets/LITELLM_MASTER_KEY")
    } else {
        Ask
    };
    add(
        c.open_webui.enabled,
        "open-webui-secrets",
        &c.open_webui.namespace,
        vec![("WEBUI_SECRET_KEY", Random), ("OPENAI_API_KEY", webui_key)],
        "Open WebUI session key and its LiteLLM API key",
        false,
    );
    add(
        c.n8n.enabled,
        "n8n-secrets",
        &c.n8n.namespace,
        vec![("N8N_ENCRYPTION_KEY", Random)],
        "n8n credential encryption key",
        false,
    );
    add(
        c.searxng.enabled,
        "searxng-secrets",
        &c.searxng.namespace,
        vec![("SEARXNG_SECRET", Random)],
        "SearXNG server secret",
        false,
    );
    v
}

/// Every rendered file ends with exactly one newline and has no trailing spaces.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.trim_end_matches('\n').split('\n') {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn every_template_has_a_language() {
        for (name, _) in TEMPLATES {
            assert!(
                Language::of_template(name).is_some(),
                "{name} has no language: values could not be quoted for it"
            );
        }
    }

    fn render_one(name: &'static str, source: &'static str, value: &str) -> Result<String, String> {
        let mut env = env();
        env.add_template(name, source).map_err(|e| e.to_string())?;
        env.get_template(name)
            .and_then(|t| t.render(context! { v => value }))
            .map_err(|e| format!("{e:#}"))
    }

    /// A value that would be code in the file's language is refused when a template prints it
    /// bare, in every language, and the error names the filter to use; quoted, it renders.
    #[test]
    fn a_value_printed_bare_is_refused_unless_it_is_inert() {
        let cases: [(&'static str, &'static str, &'static str); 9] = [
            ("t.sh", "X={{ v }}\n", "X={{ v | sh }}\n"),
            ("t.yaml", "k: {{ v }}\n", "k: {{ v | yaml }}\n"),
            ("t.toml", "k = {{ v }}\n", "k = {{ v | toml }}\n"),
            ("t.json", "{\"k\": {{ v }}}\n", "{\"k\": {{ v | json }}}\n"),
            ("t.py", "K = {{ v }}\n", "K = {{ v | json }}\n"),
            (
                "t.service",
                "[Unit]\nDescription={{ v }}\n",
                "[Unit]\nDescription={{ v | systemd }}\n",
            ),
            (
                "fstab",
                "{{ v }} /mnt btrfs defaults 0 0\n",
                "{{ v | fstab }} /mnt btrfs defaults 0 0\n",
            ),
            ("t.md", "# {{ v }}\n", "# {{ v | line }}\n"),
            ("dot-gitignore", "# {{ v }}\n", "# {{ v | line }}\n"),
        ];
        for (name, bare, quoted) in cases {
            let language = Language::of_template(name).expect("classified");
            for hostile in ["a\nb: c", "x\u{2028}y", "\u{1b}[2J"] {
                let err = render_one(name, bare, hostile).expect_err(name);
                assert!(
                    err.contains(&format!("| {}", language.quoting_filter())),
                    "{name}: {err}"
                );
                render_one(name, quoted, hostile).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            if !matches!(language, Language::Markdown | Language::Lines) {
                for hostile in [
                    "$(id)", "a b", "it's", "a\"b", "#x", "-rf", "a;b", "`id`", "a%ib", "a\\b",
                    "{x}", "a,b", "",
                ] {
                    let err = render_one(name, bare, hostile).expect_err(hostile);
                    assert!(
                        err.contains("may not be printed bare"),
                        "{name} {hostile:?}: {err}"
                    );
                    render_one(name, quoted, hostile).unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            render_one(name, bare, "longhorn-system").unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for typed in [
            "1.10",
            "on",
            "No",
            "null",
            "~",
            "0x1f",
            "1e3",
            "10:30",
            ".inf",
            "@longhorn",
        ] {
            assert!(
                render_one("t.yaml", "k: {{ v }}\n", typed).is_err(),
                "{typed}"
            );
            assert_eq!(
                render_one("t.yaml", "k: {{ v | yaml }}\n", typed).unwrap(),
                format!("k: {}\n", values::yaml_quote(typed))
            );
        }
    }

    #[test]
    fn an_unclassified_template_cannot_print_a_value() {
        let err = render_one("t.unknown", "{{ v }}", "x").expect_err("refused");
        assert!(err.contains("no language"), "{err}");
    }
}
