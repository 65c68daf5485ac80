//! The Flux release a repository installs, when it pins one, against the release whose CRDs
//! the embedded catalog carries.
//!
//! The catalog holds the current Flux CRDs, which no longer serve the API versions that
//! older Flux releases did (`helm.toolkit.fluxcd.io/v2beta1`, `kustomize.toolkit.fluxcd.io/
//! v1beta2`, ...). A repository that pins an older Flux (the `# Flux Version:` header of
//! `gotk-components.yaml`, a GitRepository or OCIRepository of the Flux manifests at a tag,
//! a FluxInstance's `distribution.version`, or the `instance.distribution.version` value of
//! the `flux-instance` chart that makes the FluxInstance) applies those versions to a cluster
//! that serves
//! them: "no schema" there is the catalog's limit, not the repository's fault. Such
//! `schema/missing` errors become notes that name the pin. Without a pin, or with a pin as
//! new as the catalog, they stay errors (a removed or misspelt version).

use homelab_diagnostics::{Diagnostic, Location, Severity};
use homelab_manifest::{Class, Document, Source};
use homelab_rules::charts::installs;
use homelab_rules::Repo;
use std::sync::Arc;

use super::operator_release::{note_served_by_older_release, parse_release, Release};

/// The Flux release of the catalog: Flux 2.N ships kustomize-controller 1.N.
fn catalog_release() -> Option<Release> {
    let catalog = homelab_schema::catalog::get().ok()?;
    let source = catalog
        .sources
        .iter()
        .find(|s| s.name == "flux-kustomize-controller")?;
    let (major, minor) = parse_release(&source.version)?;
    (major == 1).then_some((2, minor))
}

/// The release the repository pins, with where it says so.
fn pinned(
    documents: &[Document],
    sources: &[Arc<Source>],
    repo: &Repo,
) -> Option<(String, Release, Location)> {
    for source in sources {
        for (i, line) in source.text.lines().enumerate() {
            if let Some(rest) = line.trim_start().strip_prefix("# Flux Version:") {
                if let Some(release) = parse_release(rest) {
                    let at = Location::new(&source.name, i as u32 + 1, 1);
                    return Some((rest.trim().to_string(), release, at));
                }
            }
        }
    }
    for doc in documents.iter().filter(|d| d.class == Class::Object) {
        let (tag, pointer) = if doc.group() == "source.toolkit.fluxcd.io"
            && matches!(doc.kind(), Some("GitRepository" | "OCIRepository"))
            && doc
                .value
                .pointer("/spec/url")
                .and_then(|u| u.as_str())
                .is_some_and(|u| u.contains("fluxcd/flux2") || u.contains("fluxcd/flux-manifests"))
        {
            (doc.value.pointer("/spec/ref/tag"), "/spec/ref/tag")
        } else if doc.group() == "fluxcd.controlplane.io" && doc.kind() == Some("FluxInstance") {
            (
                doc.value.pointer("/spec/distribution/version"),
                "/spec/distribution/version",
            )
        } else {
            continue;
        };
        let Some(tag) = tag.and_then(|t| t.as_str()) else {
            continue;
        };
        if let Some(release) = parse_release(tag) {
            return Some((tag.to_string(), release, doc.value_location(pointer)));
        }
    }
    // The Flux Operator's `flux-instance` chart makes the FluxInstance from its values
    // (inline, or a ConfigMap that a kustomize generator makes from a file).
    for install in installs(repo).iter().filter(|i| i.chart == "flux-instance") {
        let Some(tag) = install
            .values
            .pointer("/instance/distribution/version")
            .and_then(|t| t.as_str())
        else {
            continue;
        };
        if let Some(release) = parse_release(tag) {
            return Some((tag.to_string(), release, install.declared_by.start()));
        }
    }
    None
}

/// Turn `schema/missing` errors on Flux API versions the pinned, older Flux serves into notes.
pub(crate) fn accept_older_flux_versions(
    diagnostics: &mut [Diagnostic],
    documents: &[Document],
    sources: &[Arc<Source>],
    repo: &Repo,
) {
    let missing_flux = |d: &Diagnostic| {
        d.rule == "schema/missing"
            && d.severity != Severity::Note
            && d.message
                .strip_prefix("could not find schema for ")
                .and_then(|rest| rest.split('/').next())
                .is_some_and(|group| group.ends_with(".toolkit.fluxcd.io"))
    };
    if !diagnostics.iter().any(missing_flux) {
        return;
    }
    let (Some(catalog), Some((tag, release, at))) =
        (catalog_release(), pinned(documents, sources, repo))
    else {
        return;
    };
    if release >= catalog {
        return;
    }
    let fact = format!(
        "{}:{} pins Flux {tag}; the embedded catalog carries Flux {}.{}'s CRDs",
        at.file, at.line, catalog.0, catalog.1
    );
    for d in diagnostics.iter_mut().filter(|d| missing_flux(d)) {
        let what = d
            .message
            .strip_prefix("could not find schema for ")
            .unwrap_or("")
            .to_string();
        note_served_by_older_release(
            d,
            format!(
                "not judged: {what} is not served by the Flux release the catalog carries, but the repository installs an older Flux ({tag}) that serves it"
            ),
            format!(
                "nothing to fix for Flux {tag}; before upgrading Flux, move to the API versions it serves (`flux migrate`)"
            ),
            &fact,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::parse_release;

    #[test]
    fn releases_read_from_tags_and_headers() {
        assert_eq!(parse_release("v0.31.4"), Some((0, 31)));
        assert_eq!(parse_release(" v2.4.0"), Some((2, 4)));
        assert_eq!(parse_release("2.4.x"), Some((2, 4)));
        assert_eq!(parse_release("2.x"), None);
        assert_eq!(parse_release("main"), None);
    }
}
