//! Before the stages of `check`: every Helm source of the repository rendered with helm (from
//! `--charts` folders or the repository's `.homelab/charts/` cache), so that schema, policy and
//! rule stages see what the charts create. After them: findings on rendered objects moved to
//! the values line or Application that produced them (`homelab_charts::Provenance`).

use super::{CheckConfig, CheckOptions};
use homelab_charts::{Options, Rendered, Status};
use homelab_diagnostics::Diagnostic;
use homelab_manifest::Document;
use std::collections::BTreeMap;
use std::path::Path;

/// API groups a k3s cluster serves beyond Kubernetes' own (its Helm controller).
const K3S_API_VERSIONS: &[&str] = &[
    "helm.cattle.io/v1",
    "helm.cattle.io/v1/HelmChart",
    "helm.cattle.io/v1/HelmChartConfig",
    "k3s.cattle.io/v1",
    "k3s.cattle.io/v1/Addon",
];

pub fn render(
    documents: &[Document],
    root: Option<&Path>,
    config: &CheckConfig,
    options: &CheckOptions,
    kubernetes_version: Option<String>,
) -> Rendered {
    let mut api_versions = Vec::new();
    if config.distribution.as_deref() == Some("k3s") {
        api_versions.extend(K3S_API_VERSIONS.iter().map(|s| s.to_string()));
    }
    let mut rendered = homelab_charts::render(
        documents,
        root,
        &Options {
            chart_dirs: options.chart_dirs.clone(),
            helm: options.helm.clone(),
            enabled: options.helm.is_some(),
            kube_version: kubernetes_version,
            api_versions,
            cache_dir: homelab_charts::cache::default_dir(),
            limits: homelab_charts::Limits::default(),
        },
    );
    let notes = release_notes(&rendered);
    rendered.diagnostics.extend(notes);
    rendered
}

/// Findings on rendered objects moved to the lines that produced them. `secrets/plain-secret`
/// is about Secrets committed to git: a Secret a chart makes at deploy time is not one (values
/// that carry credentials are the secret scanner's, in the values file itself).
pub fn attribute(
    diagnostics: Vec<Diagnostic>,
    provenance: &homelab_charts::Provenance,
    rendered: &[Document],
) -> Vec<Diagnostic> {
    let diagnostics = diagnostics
        .into_iter()
        .filter(|d| {
            d.rule != "secrets/plain-secret"
                || d.location
                    .as_ref()
                    .is_none_or(|l| provenance.record(&l.file).is_none())
        })
        .collect();
    provenance.attribute(diagnostics, rendered)
}

/// One note per rendered release: what it made (shown with `-v`, in JSON, SARIF and HTML).
fn release_notes(rendered: &Rendered) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for release in &rendered.releases {
        let Status::Rendered { objects, cached } = &release.status else {
            continue;
        };
        let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in &release.objects {
            // `apps/v1/DaemonSet ns/name` -> (DaemonSet, name)
            let (gvk, name) = id.split_once(' ').unwrap_or((id, ""));
            let kind = gvk.rsplit('/').next().unwrap_or(gvk).to_string();
            let name = name.rsplit('/').next().unwrap_or(name).to_string();
            kinds.entry(kind).or_default().push(name);
        }
        let workloads = ["Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob"];
        let mut parts: Vec<String> = Vec::new();
        for kind in workloads {
            if let Some(names) = kinds.get(kind) {
                parts.push(format!("{kind} {}", names.join(", ")));
            }
        }
        let others: Vec<String> = kinds
            .iter()
            .filter(|(k, _)| !workloads.contains(&k.as_str()))
            .map(|(k, v)| format!("{} {k}", v.len()))
            .collect();
        if !others.is_empty() {
            parts.push(others.join(", "));
        }
        out.push(
            Diagnostic::note(
                "charts/rendered",
                format!(
                    "chart {} rendered for {} into namespace {}{}: {objects} objects ({})",
                    release.chart,
                    release.declared_by,
                    release.namespace,
                    if *cached { " (render cache)" } else { "" },
                    parts.join("; ")
                ),
            )
            .at(release.at.clone()),
        );
    }
    out
}

/// A repository folder loaded and its Helm sources rendered, for the commands that look at the
/// rendered objects themselves (`charts list`, `charts template`, `simulate`).
pub struct Folder {
    pub rendered: Rendered,
}

pub fn render_folder(
    root: &Path,
    chart_dirs: &[std::path::PathBuf],
    helm: Option<&Path>,
    force: bool,
) -> anyhow::Result<Folder> {
    let config = CheckConfig::discover(Some(root))?;
    let loaded = homelab_manifest::load(
        &[root.to_path_buf()],
        &homelab_manifest::LoadOptions {
            include_hidden: true,
            ..Default::default()
        },
    );
    let options = CheckOptions {
        paths: vec![root.to_path_buf()],
        chart_dirs: chart_dirs.to_vec(),
        helm: helm.map(Path::to_path_buf),
        ..Default::default()
    };
    let version = config.kubernetes_version.clone();
    let mut options = options;
    if force && options.helm.is_none() {
        options.helm = homelab_charts::helm::locate(None).ok();
    }
    let rendered = render(&loaded.documents, Some(root), &config, &options, version);
    Ok(Folder { rendered })
}
