//! # `argocd/unpinned-revision`: Application with an unpinned `targetRevision`
//!
//! ## What it checks
//! Every Helm chart source of an ArgoCD Application pins an exact chart version in
//! `targetRevision` (no empty value, `*`, `latest`, or range such as `^1.2`, `~1.2`,
//! `>=1.0`, `1.x`). On a platform rendered from `platform.toml`, git sources must also name
//! a branch, tag or commit, not `HEAD` or nothing (elsewhere tracking the default branch
//! is the repository's choice).
//!
//! ## Why
//! The guide pins every chart (`targetRevision: 8.0.0` for GitLab): with a range, ArgoCD
//! upgrades GitLab or Longhorn the moment a new chart is published, outside any review,
//! and a rollback of the GitOps repo no longer rolls the cluster back.
//!
//! ## Example
//! ```yaml
//! sources:
//!   - repoURL: https://charts.gitlab.io/
//!     chart: gitlab
//!     targetRevision: "*"
//! ```
//!
//! ## Fix
//! `targetRevision: 8.0.0`, and upgrade by changing it in a reviewed commit.

use crate::argo::{applications, sources};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};

pub struct AppUnpinned;

/// Why a chart version is not pinned, if it is not.
fn chart_problem(rev: &str) -> Option<&'static str> {
    let rev = rev.trim();
    if rev.is_empty() {
        return Some("is empty (ArgoCD takes the newest chart)");
    }
    if rev.eq_ignore_ascii_case("latest") || rev == "*" {
        return Some("floats to the newest chart");
    }
    if rev.starts_with(['^', '~', '>', '<', '=', '!'])
        || rev.contains(['*', ' ', '|', ','])
        || rev.split('.').any(|p| p.eq_ignore_ascii_case("x"))
    {
        return Some("is a version range");
    }
    None
}

impl Rule for AppUnpinned {
    fn id(&self) -> &'static str {
        "argocd/unpinned-revision"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Application with an unpinned targetRevision"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for app in applications(repo) {
            for source in sources(app) {
                let rev = source.str("targetRevision");
                let pointer = match rev {
                    Some(_) => format!("{}/targetRevision", source.pointer),
                    None => source.pointer.clone(),
                };
                let name = app.name().unwrap_or("?");
                let problem = if let Some(chart) = source.str("chart") {
                    chart_problem(rev.unwrap_or("")).map(|p| {
                        (
                            format!(
                                "Application `{name}`: chart `{chart}` targetRevision `{}` {p}",
                                rev.unwrap_or("")
                            ),
                            "pin the exact chart version (e.g. targetRevision: 8.0.0)",
                        )
                    })
                } else {
                    match rev.map(str::trim) {
                        // Tracking the default branch is the guide's no; elsewhere it is a
                        // repository's choice.
                        None | Some("") | Some("HEAD") if settings.guide_expectations() => Some((
                            format!("Application `{name}`: git source tracks `{}`", rev.unwrap_or("HEAD (default)")),
                            "name the branch, tag or commit to deploy (e.g. targetRevision: main or v1.4.0)",
                        )),
                        _ => None,
                    }
                };
                if let Some((message, help)) = problem {
                    let mut d = finding(self, app, &pointer, message, help);
                    if source.str("chart").is_none() {
                        d = d.relying_on([settings.posture_fact()]);
                    }
                    out.push(d);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_are_not_pins() {
        for bad in [
            "",
            "*",
            "latest",
            "^1.2.0",
            "~1.2",
            ">=1.0.0",
            "1.x",
            "1.2.*",
            "1.0 - 2.0",
        ] {
            assert!(super::chart_problem(bad).is_some(), "{bad}");
        }
        for good in ["8.0.0", "1.7.2", "v0.27.1", "3.3.4-rc.1"] {
            assert!(super::chart_problem(good).is_none(), "{good}");
        }
    }
}
