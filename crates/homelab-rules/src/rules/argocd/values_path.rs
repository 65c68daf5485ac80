//! # `argocd/values-path`: multi-source `$values` file that does not exist in the repository
//!
//! ## What it checks
//! In a multi-source Application, every Helm `valueFiles` entry of the form
//! `$<ref>/<path>` (where `<ref>` is the `ref:` of another source, this GitOps repository)
//! names a file that exists in the repository being checked. A `ref:` source whose
//! `repoURL` is another repository (not the one the Applications' paths name here) is not
//! checked: its files are there. An idpbuilder `cnoe://REL` source is the folder `REL` next
//! to the Application's file, so `$ref/x` names `REL/x` there.
//!
//! ## Why
//! The guide deploys public charts with values kept in this repository through a `$values`
//! reference. A typo in the path, or a values file that was moved, makes ArgoCD fail the
//! whole Application with "no such file" at sync time, long after the commit was merged.
//!
//! ## Example
//! ```yaml
//! helm:
//!   valueFiles:
//!     - $values/apps/gitlab/values-homelab.yml   # the file is values-homelab.yaml
//! ```
//!
//! ## Fix
//! Point the entry at the real file (paths are relative to the repository root), or add
//! the file.

use crate::argo::{applications, is_foreign, sources};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct AppValuesPath;

impl Rule for AppValuesPath {
    fn id(&self) -> &'static str {
        "argocd/values-path"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Multi-source $values path that does not exist in the repository"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for app in applications(repo) {
            let srcs = sources(app);
            let refs: Vec<&str> = srcs.iter().filter_map(|s| s.str("ref")).collect();
            // `$ref` names of sources of another repository: their files are there.
            let foreign: Vec<&str> = srcs
                .iter()
                .filter(|s| is_foreign(repo, s))
                .filter_map(|s| s.str("ref"))
                .collect();
            for source in &srcs {
                let Some(files) = source
                    .value
                    .pointer("/helm/valueFiles")
                    .and_then(Value::as_array)
                else {
                    continue;
                };
                for (i, file) in files.iter().enumerate() {
                    let Some(file) = file.as_str() else { continue };
                    let Some(rest) = file.strip_prefix('$') else {
                        continue;
                    };
                    let (reference, path) = rest.split_once('/').unwrap_or((rest, ""));
                    if !refs.contains(&reference) {
                        out.push(finding(
                            self,
                            app,
                            &format!("{}/helm/valueFiles/{i}", source.pointer),
                            format!("`{file}` refers to `${reference}` but no source has `ref: {reference}`"),
                            "add a source for this repository with that `ref:`, or fix the reference name",
                        ));
                        continue;
                    }
                    // An idpbuilder `cnoe://REL` source is the folder REL next to the
                    // Application's file: `$ref/x` is a file there.
                    let local_root = srcs
                        .iter()
                        .find(|s| s.str("ref") == Some(reference))
                        .and_then(|s| s.str("repoURL")?.strip_prefix("cnoe://"))
                        .map(|local| {
                            crate::repo::join(crate::repo::parent(&repo.relative_path(app)), local)
                        });
                    let path = match local_root {
                        Some(Some(root)) => crate::repo::join(&root, path).unwrap_or_default(),
                        // Out of the repository: not a file this can look at.
                        Some(None) => continue,
                        None => path.to_string(),
                    };
                    let path = path.as_str();
                    if !foreign.contains(&reference) && !repo.path_exists(path) {
                        out.push(finding(
                            self,
                            app,
                            &format!("{}/helm/valueFiles/{i}", source.pointer),
                            format!("values file `{path}` (from `{file}`) does not exist in the repository"),
                            "fix the path (relative to the repository root) or add the values file",
                        ));
                    }
                }
            }
        }
        out
    }
}
