//! The Flux release a repository installs, when it pins one, against the release whose CRDs
//! the embedded catalog carries.
//!
//! The catalog holds the current Flux CRDs, which no longer serve the API versions that
//! older Flux releases did (`helm.toolkit.fluxcd.io/v2beta1`, `kustomize.toolkit.fluxcd.io/
//! v1beta2`, ...). A repository that pins an older Flux (the `# Flux Version:` header of
//! `gotk-components.yaml`, a GitRepository or OCIRepository of the Flux manifests at a tag,
//! a FluxInstance's `distribution.version`, or the `instance.distribution.version` value of
//! the `flux-instance` chart that makes the FluxInstance, also inline in a helmfile written
//! as a Go template) applies those versions to a cluster
//! that serves
//! them: "no schema" there is the catalog's limit, not the repository's fault. Such
//! `schema/missing` errors become notes that name the pin. Without a pin, or with a pin as
//! new as the catalog, they stay errors (a removed or misspelt version).

use homelab_diagnostics::{Diagnostic, Location, Severity};
use homelab_manifest::{Class, Document, Source};
use homelab_rules::charts::installs;
use homelab_rules::Repo;
use std::collections::{BTreeMap, BTreeSet};
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

/// One Flux release the repository pins: the tag as written, the release, and where.
type Pin = (String, Release, Location);

/// Every release the repository pins (one per cluster in a repository of several), with
/// where it says so.
fn pins(documents: &[Document], sources: &[Arc<Source>], repo: &Repo) -> Vec<Pin> {
    let mut out = Vec::new();
    for source in sources {
        for (i, line) in source.text.lines().enumerate() {
            if let Some(rest) = line.trim_start().strip_prefix("# Flux Version:") {
                if let Some(release) = parse_release(rest) {
                    let at = Location::new(&source.name, i as u32 + 1, 1);
                    out.push((rest.trim().to_string(), release, at));
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
            out.push((tag.to_string(), release, doc.value_location(pointer)));
        }
    }
    // A helmfile written as a Go template (`helmfile.d/01-core.yaml.gotmpl`) that installs
    // the chart with inline values: helmfile renders it before reading it.
    for source in sources.iter().filter(|s| is_helmfile_template(&s.name)) {
        let (docs, _) = homelab_manifest::parse_str(&source.name, &without_actions(&source.text));
        for doc in &docs {
            let releases = doc.value.get("releases").and_then(|r| r.as_array());
            for (r, release) in releases.into_iter().flatten().enumerate() {
                let chart = release.get("chart").and_then(|c| c.as_str()).unwrap_or("");
                if chart.rsplit(['/', ':']).next() != Some("flux-instance") {
                    continue;
                }
                let values = release.get("values").and_then(|v| v.as_array());
                for (v, entry) in values.into_iter().flatten().enumerate() {
                    let pointer = "/instance/distribution/version";
                    let Some(tag) = entry.pointer(pointer).and_then(|t| t.as_str()) else {
                        continue;
                    };
                    if let Some(release) = parse_release(tag) {
                        let at = doc.value_location(&format!("/releases/{r}/values/{v}{pointer}"));
                        out.push((tag.to_string(), release, at));
                    }
                }
            }
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
            out.push((tag.to_string(), release, install.declared_by.start()));
        }
    }
    out
}

/// A helmfile written as a Go template: `helmfile*.gotmpl`, or a `.gotmpl` file of a
/// `helmfile.d/` folder (helmfile reads every file there).
fn is_helmfile_template(name: &str) -> bool {
    let mut parts = name.rsplit(['/', '\\']);
    let file = parts.next().unwrap_or("");
    file.ends_with(".gotmpl")
        && (file.starts_with("helmfile") || parts.next() == Some("helmfile.d"))
}

/// The text with its template actions taken out, to read the YAML around them: a line that
/// holds only actions (`{{- if .x }}`) becomes blank, an action inside a line becomes as many
/// `x` (a plain scalar in place of the value it renders). An action that spans lines is left
/// (the text then reads as nothing).
fn without_actions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        let mut kept = String::with_capacity(line.len());
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open..].find("}}") else {
                break;
            };
            kept.push_str(&rest[..open]);
            kept.extend(std::iter::repeat_n('x', close + 2));
            rest = &rest[open + close + 2..];
        }
        kept.push_str(rest);
        let only_actions = line.contains("{{")
            && kept.trim().chars().all(|c| c == 'x')
            && line.trim_start().starts_with("{{");
        if only_actions {
            out.push_str(&" ".repeat(kept.trim_end_matches('\n').len()));
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(&kept);
        }
    }
    out
}

/// The number of leading folders two files share.
fn shared_folders(a: &str, b: &str) -> usize {
    fn folders(path: &str) -> impl Iterator<Item = &str> {
        let dir = path.rsplit_once(['/', '\\']).map_or("", |(dir, _)| dir);
        dir.split(['/', '\\']).filter(|part| !part.is_empty())
    }
    folders(a)
        .zip(folders(b))
        .take_while(|(x, y)| x == y)
        .count()
}

/// The pin that applies to `file` (a path from the repository root; each pin with the path
/// of its file from the root): in a repository of several clusters, each pinning its own Flux
/// (`clusters/old/flux.yaml` at 2.5, `clusters/new/flux.yaml` at 2.9), the pins nearest the
/// file in the folder tree; of those, the newest (a file both clusters apply must suit the
/// newer Flux too).
fn pin_for<'p>(pins: &'p [(String, Pin)], file: &str) -> Option<&'p Pin> {
    let nearest = pins.iter().map(|(at, _)| shared_folders(at, file)).max()?;
    pins.iter()
        .filter(|(at, _)| shared_folders(at, file) == nearest)
        .map(|(_, pin)| pin)
        .reduce(newer)
}

/// The newer of two pins; the first of equals (the one found first, as before any choice).
fn newer<'p>(a: &'p Pin, b: &'p Pin) -> &'p Pin {
    if b.1 > a.1 {
        b
    } else {
        a
    }
}

/// The pin that applies to `file`, judged from the tops of the deploy graph that apply it
/// (a shared `base/` folder is applied from one cluster's tree, and takes that cluster's
/// pin; applied from several, the newest of theirs), else from the file's own place.
fn pin_applying<'p>(
    pins: &'p [(String, Pin)],
    file: &str,
    tops: &BTreeMap<String, BTreeSet<String>>,
) -> Option<&'p Pin> {
    match tops.get(file).filter(|t| !t.is_empty()) {
        Some(tops) => tops
            .iter()
            .filter_map(|top| pin_for(pins, top))
            .reduce(newer),
        None => pin_for(pins, file),
    }
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
    let Some(catalog) = catalog_release() else {
        return;
    };
    // Pins located by paths from the repository root, like the deploy graph's files.
    let pins: Vec<(String, Pin)> = pins(documents, sources, repo)
        .into_iter()
        .map(|pin| (repo.relative_name(&pin.2.file), pin))
        .collect();
    // Which cluster applies a file matters only when the pins differ.
    let tops = if pins.iter().any(|(_, p)| p.1 != pins[0].1 .1) {
        homelab_rules::applied::top_builds(repo)
    } else {
        BTreeMap::new()
    };
    for d in diagnostics.iter_mut().filter(|d| missing_flux(d)) {
        let file = d
            .location
            .as_ref()
            .map(|l| repo.relative_name(&l.file))
            .unwrap_or_default();
        let Some((tag, release, at)) = pin_applying(&pins, &file, &tops) else {
            continue;
        };
        if *release >= catalog {
            continue;
        }
        let fact = format!(
            "{}:{} pins Flux {tag}; the embedded catalog carries Flux {}.{}'s CRDs",
            at.file, at.line, catalog.0, catalog.1
        );
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
    use super::{parse_release, pin_for, Pin};
    use homelab_diagnostics::Location;

    fn pin(tag: &str, minor: u32, file: &str) -> Pin {
        (tag.to_string(), (2, minor), Location::new(file, 1, 1))
    }

    #[test]
    fn each_cluster_folder_takes_its_own_pin() {
        let pins = [
            pin("v2.9.4", 9, "k8s/media/flux/flux.yaml"),
            pin("v2.5.1", 5, "k8s/nebula/flux/config/flux.yaml"),
        ];
        let pins: Vec<(String, Pin)> = pins.into_iter().map(|p| (p.2.file.clone(), p)).collect();
        let of = |file: &str| pin_for(&pins, file).map(|p| p.0.as_str());
        assert_eq!(of("k8s/nebula/apps/x/hr.yaml"), Some("v2.5.1"));
        assert_eq!(of("k8s/media/apps/x/hr.yaml"), Some("v2.9.4"));
        // A file both clusters may apply must suit the newer Flux.
        assert_eq!(of("k8s/base/x/hr.yaml"), Some("v2.9.4"));
        assert_eq!(pin_for(&[], "k8s/base/x/hr.yaml"), None);
    }

    #[test]
    fn helmfile_templates_read_around_their_actions() {
        use super::{is_helmfile_template, without_actions};
        assert!(is_helmfile_template(
            "bootstrap/helmfile.d/01-core.yaml.gotmpl"
        ));
        assert!(is_helmfile_template("bootstrap/helmfile.yaml.gotmpl"));
        assert!(!is_helmfile_template("bootstrap/values.yaml.gotmpl"));
        assert!(!is_helmfile_template("bootstrap/helmfile.d/01-core.yaml"));
        let text = "{{- if .x }}\nreleases:\n  - name: a\n    set: [{{ .Values.port | default 2 }}]\n{{- end }}\n";
        assert_eq!(
            without_actions(text),
            "            \nreleases:\n  - name: a\n    set: [xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx]\n          \n"
        );
    }

    #[test]
    fn releases_read_from_tags_and_headers() {
        assert_eq!(parse_release("v0.31.4"), Some((0, 31)));
        assert_eq!(parse_release(" v2.4.0"), Some((2, 4)));
        assert_eq!(parse_release("2.4.x"), Some((2, 4)));
        assert_eq!(parse_release("2.x"), None);
        assert_eq!(parse_release("main"), None);
    }
}
