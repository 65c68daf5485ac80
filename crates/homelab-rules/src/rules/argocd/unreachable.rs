//! # `argocd/unreachable`: Application not reachable from the root app
//!
//! ## What it checks
//! Starting from the root Applications (those in a `bootstrap/` folder, as the guide's
//! `argocd/bootstrap/root-app.yaml`), follows every source `path` of this repository
//! (subfolders only with `directory.recurse: true` or kustomize) and reports each
//! Application manifest that no reachable Application deploys. Repositories without a
//! `bootstrap/` folder are not checked.
//!
//! ## Why
//! In app-of-apps, an Application file that the root does not pick up is never deployed:
//! the component silently does not exist on the cluster while the repository says it does.
//!
//! ## Example
//! `argocd/applications/apps/n8n.yaml` while the root app points at
//! `argocd/applications/infrastructure` only, without `recurse`.
//!
//! ## Fix
//! Point the root app at `argocd/applications` with `directory.recurse: true`, or move the
//! file into a folder the root app deploys.

use crate::argo::{applications, deployments, relative_path};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};

pub struct AppUnreachable;

impl Rule for AppUnreachable {
    fn id(&self) -> &'static str {
        "argocd/unreachable"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Application not reachable from the root app"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let apps: Vec<_> = applications(repo)
            .map(|a| (a, relative_path(repo, a)))
            .collect();
        let is_root = |path: &str| path.starts_with("bootstrap/") || path.contains("/bootstrap/");
        if !apps.iter().any(|(_, p)| is_root(p)) {
            return Vec::new();
        }
        let mut reached: Vec<bool> = apps.iter().map(|(_, p)| is_root(p)).collect();
        let mut frontier: Vec<usize> = (0..apps.len()).filter(|i| reached[*i]).collect();
        while let Some(i) = frontier.pop() {
            for deployment in deployments(repo, apps[i].0) {
                for (j, (_, path)) in apps.iter().enumerate() {
                    if !reached[j] && deployment.contains(path) {
                        reached[j] = true;
                        frontier.push(j);
                    }
                }
            }
        }
        apps.iter()
            .zip(reached)
            .filter(|(_, r)| !r)
            .map(|((app, path), _)| {
                finding(
                    self,
                    app,
                    "/metadata/name",
                    format!("Application `{}` ({path}) is not deployed by the root app or any Application it reaches", app.name().unwrap_or("?")),
                    "point the root app at this folder (with directory.recurse: true for subfolders) or move the file there",
                )
            })
            .collect()
    }
}
