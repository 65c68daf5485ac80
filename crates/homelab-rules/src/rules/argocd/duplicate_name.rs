//! # `argocd/duplicate-name`: two Applications with the same name
//!
//! ## What it checks
//! No two ArgoCD Applications in the repository share a name in the same namespace, in
//! what one Argo CD applies. The tops of the repository's deploy graph that nothing applies
//! together are separate deploy units: kustomization builds (`argocd/overlays/home` and
//! `argocd/overlays/lab`, one per cluster) and files applied by hand (`root-dev.yaml` and
//! `root-prod.yaml`, one root Application per environment). The same name in two units is
//! a note saying so, with the units it relied on. Two Applications that one top reaches
//! (the same build, or the folder one Application deploys) stay errors.
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

use crate::applied::top_builds;
use crate::argo::applications;
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::Document;
use std::collections::{BTreeMap, BTreeSet};

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
        let mut seen: BTreeMap<(String, String), Vec<&Document>> = BTreeMap::new();
        let mut builds: Option<BTreeMap<String, BTreeSet<String>>> = None;
        let mut out = Vec::new();
        for app in applications(repo) {
            let Some(name) = app.name() else { continue };
            let key = (
                app.namespace().unwrap_or("argocd").to_string(),
                name.to_string(),
            );
            let earlier = seen.entry(key.clone()).or_default();
            if earlier.is_empty() {
                earlier.push(app);
                continue;
            }
            // Two tops of the deploy graph that nothing applies together (the overlays of
            // two clusters, or one root Application per environment, each applied on its
            // own) are two deploy units: the same name in each is one Application per
            // cluster.
            let builds = builds.get_or_insert_with(|| top_builds(repo));
            let built_by = |doc: &Document| builds.get(&repo.relative_path(doc));
            let clash = earlier
                .iter()
                .find(|other| match (built_by(app), built_by(other)) {
                    (Some(mine), Some(theirs)) => !mine.is_disjoint(theirs),
                    _ => true,
                });
            match clash {
                Some(first) => out.push(finding(
                    self,
                    app,
                    "/metadata/name",
                    format!(
                        "Application `{}/{name}` is also defined at {}",
                        key.0,
                        first.location("/metadata/name")
                    ),
                    "rename one of them or remove the duplicate",
                )),
                None => {
                    let first = earlier[0];
                    let list = |doc: &Document| {
                        built_by(doc)
                            .into_iter()
                            .flatten()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let mut note = finding(
                        self,
                        app,
                        "/metadata/name",
                        format!(
                            "Application `{}/{name}` is also defined at {}, in another deploy unit: not a duplicate",
                            key.0,
                            first.location("/metadata/name")
                        ),
                        "nothing to fix if the two builds go to different clusters or Argo CD instances; if one Argo CD applies both, rename one",
                    );
                    note.severity = Severity::Note;
                    out.push(
                        note.relying_on([format!(
                            "this one is built only by {}, the other only by {}, and nothing in the repository applies those together",
                            list(app),
                            list(first)
                        )]),
                    );
                }
            }
            earlier.push(app);
        }
        out
    }
}
