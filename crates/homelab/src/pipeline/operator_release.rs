//! The release of an operator a repository installs, against the release whose CRDs the
//! embedded catalog carries.
//!
//! The catalog holds each operator's current CRDs. An operator drops API versions over its
//! releases (External Secrets Operator stopped serving `external-secrets.io/v1beta1` in
//! v0.17; cert-manager its `v1alpha2`/`v1alpha3`/`v1beta1` in v1.7). A repository that
//! installs an older release (a Flux HelmRelease of the operator's chart at a version, an
//! Argo CD Application of the chart at a `targetRevision`) applies those versions to a
//! cluster whose CRDs serve them: "no schema" there is the catalog's limit, not the
//! repository's fault. Such `schema/missing` errors become notes naming the release. Only
//! the versions an operator has really served are accepted (a misspelt `v1beta3` stays an
//! error), and only when the installed release is older than the catalog's.

use homelab_diagnostics::{Diagnostic, Location, Severity};
use homelab_manifest::{Class, Document, ResourceExt};
use serde_json::Value;

/// An operator whose older releases served API versions its current CRDs no longer do.
struct Operator {
    /// The operator's name in the catalog (`crates/homelab-schema/catalog/sources.toml`).
    catalog: &'static str,
    /// The name of the Helm chart that installs it.
    chart: &'static str,
    /// API groups and the versions older releases served that the current one does not.
    dropped: &'static [(&'static str, &'static [&'static str])],
}

const OPERATORS: &[Operator] = &[
    Operator {
        catalog: "external-secrets",
        chart: "external-secrets",
        dropped: &[("external-secrets.io", &["v1alpha1", "v1beta1"])],
    },
    Operator {
        catalog: "cert-manager",
        chart: "cert-manager",
        dropped: &[
            ("cert-manager.io", &["v1alpha2", "v1alpha3", "v1beta1"]),
            ("acme.cert-manager.io", &["v1alpha2", "v1alpha3", "v1beta1"]),
        ],
    },
];

/// A release `major.minor`.
pub(super) type Release = (u32, u32);

/// `major.minor` of a version, tag or chart constraint (`v1.6.3`, `0.9.x`); `None` for a range.
pub(super) fn parse_release(text: &str) -> Option<Release> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.trim_end_matches(['x', '*']).parse().ok()?;
    Some((major, minor))
}

/// The catalog's release of an operator.
fn catalog_release(name: &str) -> Option<(String, Release)> {
    let catalog = homelab_schema::catalog::get().ok()?;
    let source = catalog.sources.iter().find(|s| s.name == name)?;
    Some((source.version.clone(), parse_release(&source.version)?))
}

/// The oldest release of `chart` that the repository installs, with where it says so: a
/// Flux HelmRelease (`spec.chart.spec.chart` at `spec.chart.spec.version`), an OCIRepository
/// of the chart at a tag, or an Argo CD Application source of the chart at a
/// `targetRevision`.
fn installed(documents: &[Document], chart: &str) -> Option<(String, Release, Location)> {
    let mut found: Vec<(String, Release, Location)> = Vec::new();
    for doc in documents.iter().filter(|d| d.class == Class::Object) {
        let mut candidates: Vec<(&Value, String)> = Vec::new();
        if doc.is("helm.toolkit.fluxcd.io", "HelmRelease")
            && doc
                .value
                .pointer("/spec/chart/spec/chart")
                .and_then(Value::as_str)
                == Some(chart)
        {
            if let Some(v) = doc.value.pointer("/spec/chart/spec/version") {
                candidates.push((v, "/spec/chart/spec/version".into()));
            }
        }
        if doc.group() == "source.toolkit.fluxcd.io"
            && doc.kind() == Some("OCIRepository")
            && doc
                .value
                .pointer("/spec/url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.trim_end_matches('/').ends_with(&format!("/{chart}")))
        {
            if let Some(v) = doc.value.pointer("/spec/ref/tag") {
                candidates.push((v, "/spec/ref/tag".into()));
            }
        }
        if doc.group() == "argoproj.io" && doc.kind() == Some("Application") {
            let single = doc.value.pointer("/spec/source").into_iter();
            let many = doc
                .value
                .pointer("/spec/sources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for (i, source) in single.chain(many).enumerate() {
                if source.get("chart").and_then(Value::as_str) != Some(chart) {
                    continue;
                }
                if let Some(v) = source.get("targetRevision") {
                    let pointer = if doc.value.pointer("/spec/source").is_some() && i == 0 {
                        "/spec/source/targetRevision".to_string()
                    } else {
                        let offset = usize::from(doc.value.pointer("/spec/source").is_some());
                        format!("/spec/sources/{}/targetRevision", i - offset)
                    };
                    candidates.push((v, pointer));
                }
            }
        }
        for (value, pointer) in candidates {
            let Some(text) = value.as_str() else { continue };
            if let Some(release) = parse_release(text) {
                found.push((text.to_string(), release, doc.value_location(&pointer)));
            }
        }
    }
    found.into_iter().min_by_key(|(_, release, _)| *release)
}

/// Turn `schema/missing` errors on API versions that an installed, older release of an
/// operator serves into notes.
pub(crate) fn accept_older_operator_versions(
    diagnostics: &mut [Diagnostic],
    documents: &[Document],
) {
    for operator in OPERATORS {
        let dropped = |d: &Diagnostic| {
            if d.rule != "schema/missing" || d.severity == Severity::Note {
                return false;
            }
            let Some(api_version) = d
                .message
                .strip_prefix("could not find schema for ")
                .and_then(|rest| rest.split_whitespace().next())
            else {
                return false;
            };
            let Some((group, version)) = api_version.split_once('/') else {
                return false;
            };
            operator
                .dropped
                .iter()
                .any(|(g, versions)| *g == group && versions.contains(&version))
        };
        if !diagnostics.iter().any(dropped) {
            continue;
        }
        let (Some((catalog_version, catalog)), Some((tag, release, at))) = (
            catalog_release(operator.catalog),
            installed(documents, operator.chart),
        ) else {
            continue;
        };
        if release >= catalog {
            continue;
        }
        let fact = format!(
            "{}:{} installs {} {tag}; the embedded catalog carries {catalog_version}'s CRDs",
            at.file, at.line, operator.chart
        );
        for d in diagnostics.iter_mut().filter(|d| dropped(d)) {
            let what = d
                .message
                .strip_prefix("could not find schema for ")
                .unwrap_or("")
                .to_string();
            note_served_by_older_release(
                d,
                format!(
                    "not judged: {what} is not served by the {} release the catalog carries ({catalog_version}), but the repository installs an older one ({tag}) that serves it",
                    operator.chart
                ),
                format!(
                    "nothing to fix for {} {tag}; before upgrading it, move to the API versions the new release serves",
                    operator.chart
                ),
                &fact,
            );
        }
    }
}

/// A `schema/missing` error on an API version that the older release the repository
/// installs serves: a note that says so, relying on `fact` (where the repository installs it).
pub(super) fn note_served_by_older_release(
    d: &mut Diagnostic,
    message: String,
    help: String,
    fact: &str,
) {
    d.severity = Severity::Note;
    d.message = message;
    d.help = Some(help);
    *d = d.clone().relying_on([fact.to_string()]);
}

#[cfg(test)]
mod tests {
    use super::parse_release;

    #[test]
    fn releases_read_from_chart_versions() {
        assert_eq!(parse_release("0.10.7"), Some((0, 10)));
        assert_eq!(parse_release("v1.6.3"), Some((1, 6)));
        assert_eq!(parse_release("0.9.x"), Some((0, 9)));
        assert_eq!(parse_release(">=0.9.0"), None);
        assert_eq!(parse_release("main"), None);
    }
}
