//! # `argocd/duplicate-name`: two Applications with the same name
//!
//! ## What it checks
//! No two ArgoCD Applications in the repository share a name in the same namespace.
//!
//! ## Why
//! ArgoCD identifies an Application by namespace and name: the second manifest overwrites
//! the first on every sync, and the two fight forever (the app flaps between two charts or
//! two destinations).
//!
//! ## Example
//! `argocd/applications/apps/ollama.yaml` and `argocd/applications/apps/ollama-gpu.yaml`
//! both with `metadata.name: ollama`.
//!
//! ## Fix
//! Give each Application a unique name, or delete the stale copy.

use crate::argo::applications;
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use std::collections::BTreeMap;

pub struct AppDuplicate;

impl Rule for AppDuplicate {
    fn id(&self) -> &'static str {
        "argocd/duplicate-name"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Two Applications with the same name"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let mut seen: BTreeMap<(String, String), homelab_diagnostics::Location> = BTreeMap::new();
        let mut out = Vec::new();
        for app in applications(repo) {
            let Some(name) = app.name() else { continue };
            let key = (
                app.namespace().unwrap_or("argocd").to_string(),
                name.to_string(),
            );
            match seen.get(&key) {
                Some(first) => out.push(finding(
                    self,
                    app,
                    "/metadata/name",
                    format!("Application `{}/{name}` is also defined at {first}", key.0),
                    "rename one of them or remove the duplicate",
                )),
                None => {
                    seen.insert(key, app.location("/metadata/name"));
                }
            }
        }
        out
    }
}
