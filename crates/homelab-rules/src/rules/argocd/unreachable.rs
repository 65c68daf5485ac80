//! # `argocd/unreachable`: Application not reachable from the root app
//!
//! ## What it checks
//! The repository's Argo CD Applications and ApplicationSets (and Flux Kustomizations)
//! form a graph: one deploys another when a source `path` of this repository reaches the
//! other's file (subfolders only with `directory.recurse: true`; through kustomize
//! `resources`; through an ApplicationSet's git generators). The roots are what nothing
//! deploys but that deploys something (the app-of-apps applied by hand), with whatever sits
//! in the same folder. An Application that nothing deploys, that deploys nothing, and that
//! is not beside a root, is reported. Repositories without such a root are not checked,
//! and a file its folder's kustomization lists in a comment (`# - app.yaml`) is switched off
//! on purpose, and so is an Application in a folder named as an archive or a backup copy
//! (`archive/`, `DEPRECATED/`, `apps.bak/`: where retired apps are kept, see
//! `load/not-applied`). In a repository with several roots in different places (a bootstrap root and
//! a workloads root, or one example per folder), applying Applications by hand is the
//! repository's habit: the Application is reported as a note that says so. An Application
//! that a text of the repository applies by hand (`kubectl apply -f
//! platform/argocd/argocd-app.yaml` in a bootstrap script or a README) is deployed by that
//! command, and is not reported.
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

use crate::argo::{is_application, AppGraph};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};

pub struct AppUnreachable;

/// Whether the kustomization of the file's folder lists it in a comment (`# - app.yaml`):
/// switched off on purpose.
fn disabled(repo: &Repo, path: &str) -> bool {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    homelab_manifest::kustomizations::FILE_NAMES
        .iter()
        .any(|k| {
            let kustomization = if dir.is_empty() {
                k.to_string()
            } else {
                format!("{dir}/{k}")
            };
            repo.documents_at(&kustomization)
                .first()
                .is_some_and(|doc| {
                    doc.source.text.lines().any(|l| {
                        let t = l.trim_start();
                        t.starts_with('#')
                            && t.trim_start_matches(['#', ' ', '-'])
                                .trim_start_matches("./")
                                == file
                    })
                })
        })
}

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
        let graph = AppGraph::of(repo);
        let roots = graph.roots();
        if roots.is_empty() {
            return Vec::new();
        }
        let by_hand = crate::applied::applied_with_kubectl(repo);
        let root_names: Vec<String> = roots
            .iter()
            .filter(|r| !graph.children[**r].is_empty())
            .map(|r| {
                format!(
                    "`{}` ({})",
                    graph.nodes[*r].name().unwrap_or("?"),
                    graph.paths[*r]
                )
            })
            .collect();
        // Where the roots are applied from: two roots in one folder are one bootstrap.
        let root_places: std::collections::BTreeSet<&str> = roots
            .iter()
            .filter(|r| !graph.children[**r].is_empty())
            .map(|r| crate::repo::parent(&graph.paths[*r]))
            .collect();
        (0..graph.nodes.len())
            .filter(|i| {
                is_application(graph.nodes[*i])
                    && graph.parents[*i].is_empty()
                    && graph.children[*i].is_empty()
                    && !roots.contains(i)
                    && !disabled(repo, &graph.paths[*i])
                    && crate::applied::backup_folder(&graph.paths[*i]).is_none()
                    && !by_hand.contains(&graph.paths[*i])
            })
            .map(|i| {
                let app = graph.nodes[i];
                let found = finding(
                    self,
                    app,
                    "/metadata/name",
                    format!(
                        "Application `{}` ({}) is deployed by nothing in the repository: not by the root app {} nor by anything it reaches",
                        app.name().unwrap_or("?"),
                        graph.paths[i],
                        root_names.join(", ")
                    ),
                    "point the root app at this folder (with directory.recurse: true for subfolders) or move the file there",
                );
                if root_places.len() < 2 {
                    return found;
                }
                // Roots applied by hand from several places: applying Applications by hand
                // is the repository's habit, and this one is taken as one more.
                let mut note = found.relying_on([format!(
                    "the repository has roots applied by hand from {} folders, so an Application nothing deploys is taken as one more applied by hand",
                    root_places.len()
                )]);
                note.severity = Severity::Note;
                note
            })
            .collect()
    }
}
