//! # `image/latest-tag`: image with `:latest` or no tag
//!
//! ## What it checks
//! Every container and init container of every workload (Pod, Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) must name its image with an
//! explicit tag other than `latest`, or with a digest (`@sha256:...`). The image is the one
//! kustomize builds: the `images` entries (`newName`, `newTag`, `digest`) of the
//! kustomizations that include the file, the innermost first, are applied to it
//! (`image: runner-image` with `images: [{name: runner-image, newTag: 0.2.6}]` is pinned).
//! When several kustomizations build the file (one overlay per cluster), a build that
//! leaves it on `latest` is reported. An image that a skaffold configuration of the
//! repository builds (`build.artifacts[].image`, in any profile) gets its tag from skaffold
//! when skaffold deploys it: a note that says so, not an error. So does a container whose
//! image an OpenShift image trigger sets (the object's `image.openshift.io/triggers`
//! annotation, `fieldPath` naming the container's `image`): OpenShift writes the image that
//! the ImageStreamTag resolves to, by digest, over whatever the file holds (often `' '`).
//! An image written as a variable (`image: $IMAGE_URL`, `image: ${IMAGE_URI}`) or a
//! placeholder (`image: <YOUR-CONTAINER>`), filled in by envsubst, Flux or the reader before
//! anything applies it, has a tag this repository does not show: a note too. An empty image
//! that nothing sets names no tag at all and is left to the schema. A `ko://` reference
//! (`image: ko://knative.dev/serving/cmd/controller`) names a Go package that `ko resolve`
//! builds and replaces with the pushed image by digest: a note. A `{IMAGE}` placeholder
//! that a script's `sed` fills in counts as a variable.
//!
//! ## Why
//! `latest` (or no tag, which means `latest`) changes under you: ArgoCD shows the app as
//! synced while the node pulls whatever was pushed last, rollbacks restore nothing and two
//! nodes can run two versions. The guide's `disallow-latest-tag` Kyverno policy rejects such
//! pods at admission; this rule finds them before they reach the cluster.
//!
//! ## Example
//! ```yaml
//! containers:
//!   - name: ollama
//!     image: ollama/ollama          # no tag: means :latest
//! ```
//!
//! ## Fix
//! Pin a version: `image: ollama/ollama:0.5.7`, or a digest:
//! `image: ollama/ollama@sha256:…`.

use crate::applied::including_kustomizations;
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The images kustomize builds from `image` in `file`: one per chain of including
/// kustomizations up to a top (the image itself when no kustomization sets it), with the
/// kustomization that set it last. Bounded: each chain visits a kustomization once, and at
/// most 64 images are kept.
fn built_images(
    repo: &Repo,
    including: &BTreeMap<String, BTreeSet<String>>,
    file: &str,
    image: &str,
) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut stack: Vec<(String, String, Option<String>, BTreeSet<String>)> =
        vec![(file.to_string(), image.to_string(), None, BTreeSet::new())];
    while let Some((at, image, set_by, seen)) = stack.pop() {
        let parents: Vec<&String> = including
            .get(&at)
            .into_iter()
            .flatten()
            .filter(|k| !seen.contains(*k))
            .collect();
        if parents.is_empty() {
            if !out.iter().any(|(i, _)| *i == image) && out.len() < 64 {
                out.push((image, set_by));
            }
            continue;
        }
        for k in parents {
            let entries: Vec<Value> = repo
                .documents_at(k)
                .first()
                .and_then(|d| d.value.get("images"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let (next, by) = match homelab_manifest::kustomizations::set_image(&image, &entries) {
                // An entry that names the image and changes nothing sets nothing.
                Some(new) if new != image => (new, Some(k.clone())),
                _ => (image.clone(), set_by.clone()),
            };
            let mut seen = seen.clone();
            seen.insert(k.clone());
            if stack.len() < 256 {
                stack.push((k.clone(), next, by, seen));
            }
        }
    }
    out
}

pub struct ImageLatestTag;

/// The images the repository's skaffold configurations build (`build.artifacts[].image`, in
/// the configuration and in each profile), each with the file that builds it. Skaffold
/// replaces every reference to such an image in what it deploys with the tag it built.
fn skaffold_artifacts(repo: &Repo) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for doc in repo.documents {
        let is_skaffold = doc
            .value
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("skaffold/"));
        if !is_skaffold {
            continue;
        }
        let profiles = doc
            .value
            .get("profiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for config in std::iter::once(&doc.value).chain(profiles) {
            let artifacts = config
                .pointer("/build/artifacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for image in artifacts.filter_map(|a| a.get("image").and_then(Value::as_str)) {
                out.entry(image.to_string())
                    .or_insert_with(|| repo.relative_path(doc));
            }
        }
    }
    out
}

/// The ImageStreamTag whose image an OpenShift image trigger of `doc` (the
/// `image.openshift.io/triggers` annotation, a JSON list of `{from: {kind, name}, fieldPath}`)
/// writes into the `image` of the container named `container`.
fn openshift_trigger(doc: &homelab_manifest::Document, container: &str) -> Option<String> {
    let triggers = doc
        .value
        .pointer("/metadata/annotations")?
        .get("image.openshift.io/triggers")?
        .as_str()?;
    let triggers: Value = serde_json::from_str(triggers).ok()?;
    triggers.as_array()?.iter().find_map(|t| {
        let from = t.get("from")?;
        if from.get("kind").and_then(Value::as_str) != Some("ImageStreamTag") {
            return None;
        }
        let path = t.get("fieldPath")?.as_str()?;
        let names = |q: char| path.contains(&format!("@.name=={q}{container}{q})]"));
        let sets_it = path.ends_with(".image") && (names('"') || names('\''));
        sets_it.then(|| from.get("name")?.as_str().map(str::to_string))?
    })
}

/// An image reference without its tag or digest (a registry port stays).
fn name_of(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    match image.rsplit_once('/') {
        Some((path, last)) => {
            let last = last.split_once(':').map_or(last, |(n, _)| n);
            &image[..path.len() + 1 + last.len()]
        }
        None => image.split_once(':').map_or(image, |(n, _)| n),
    }
}

/// An image whose last path segment holds a variable (`$IMAGE_URL`, `${IMAGE_URI}`,
/// `registry/${APP}`) or is a placeholder to fill in (`<YOUR-CONTAINER>`): what replaces it
/// may carry the tag.
fn ends_in_variable(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    let delimited =
        |open: char, close: char| last.len() > 2 && last.starts_with(open) && last.ends_with(close);
    last.contains('$') || delimited('<', '>') || delimited('{', '}')
}

/// A `ko://` reference names a Go package, not an image: `ko resolve` (and `ko apply`)
/// builds it and writes the pushed image, by digest, in its place.
fn built_by_ko(image: &str) -> bool {
    image.starts_with("ko://")
}

/// The tag of an image reference (`None` when there is none), ignoring a registry port.
fn tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return Some("@digest");
    }
    let last_segment = image.rsplit('/').next().unwrap_or(image);
    last_segment.split_once(':').map(|(_, t)| t)
}

impl Rule for ImageLatestTag {
    fn id(&self) -> &'static str {
        "image/latest-tag"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Container image with `:latest` or no tag"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut including: Option<BTreeMap<String, BTreeSet<String>>> = None;
        let mut built_by_skaffold: Option<BTreeMap<String, String>> = None;
        for doc in repo.objects() {
            let Some(pod) = doc.pod_spec() else { continue };
            for c in pod.containers() {
                let Some(image) = c.value.get("image").and_then(Value::as_str) else {
                    continue;
                };
                let including = including.get_or_insert_with(|| including_kustomizations(repo));
                let built = built_images(repo, including, &repo.relative_path(doc), image);
                let Some((built, set_by)) = built
                    .into_iter()
                    .find(|(b, _)| matches!(tag(b), None | Some("latest")))
                else {
                    continue;
                };
                let problem = match tag(&built) {
                    None => "has no tag (which means `latest`)",
                    _ => "uses the `latest` tag",
                };
                let message = match set_by {
                    Some(k) => format!(
                        "container `{}` image `{image}` is built by `{k}` as `{built}`, which {problem}",
                        c.name
                    ),
                    None => format!("container `{}` image `{image}` {problem}", c.name),
                };
                let found = finding(
                    self,
                    doc,
                    &format!("{}/image", c.pointer),
                    message,
                    "pin a version tag (image: name:1.2.3) or a digest (image: name@sha256:...)",
                );
                if let Some(tag) = openshift_trigger(doc, c.name) {
                    let mut note = found.relying_on([format!(
                        "an OpenShift image trigger (`image.openshift.io/triggers`) sets this image from the ImageStreamTag `{tag}`, by digest: not failed"
                    )]);
                    note.severity = Severity::Note;
                    out.push(note);
                    continue;
                }
                if built.trim().is_empty() {
                    continue;
                }
                if built_by_ko(&built) {
                    let mut note = found.relying_on([format!(
                        "`{built}` is a Go package that `ko` builds and replaces with the pushed image by digest before anything applies the file: not failed"
                    )]);
                    note.severity = Severity::Note;
                    out.push(note);
                    continue;
                }
                if tag(&built).is_none() && ends_in_variable(&built) {
                    let mut note = found.relying_on([format!(
                        "`{built}` is a variable or placeholder filled in before the image is applied: its tag is not in this repository, not failed"
                    )]);
                    note.severity = Severity::Note;
                    out.push(note);
                    continue;
                }
                let skaffold = built_by_skaffold.get_or_insert_with(|| skaffold_artifacts(repo));
                match skaffold.get(name_of(&built)) {
                    Some(config) => {
                        let mut note = found.relying_on([format!(
                            "`{config}` builds `{}` with skaffold, which deploys it with the tag it built: not failed",
                            name_of(&built)
                        )]);
                        note.severity = Severity::Note;
                        out.push(note);
                    }
                    None => out.push(found),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_past_registry_ports() {
        assert_eq!(tag("registry:5000/app"), None);
        assert_eq!(tag("registry:5000/app:1.2"), Some("1.2"));
        assert_eq!(tag("app:latest"), Some("latest"));
        assert_eq!(tag("app@sha256:abc"), Some("@digest"));
    }

    #[test]
    fn a_variable_in_the_last_segment_may_hold_the_tag() {
        assert!(ends_in_variable("$IMAGE_URL"));
        assert!(ends_in_variable("${IMAGE_URI}"));
        assert!(ends_in_variable("registry.example.com/team/${APP}"));
        assert!(ends_in_variable("<YOUR-CONTAINER>"));
        assert!(ends_in_variable("{IMAGE}"));
        assert!(!ends_in_variable("{}"));
        assert!(!ends_in_variable("$REGISTRY/team/app"));
        assert!(!ends_in_variable("nginx"));
    }

    #[test]
    fn names_drop_the_tag_and_digest_but_keep_a_registry_port() {
        assert_eq!(name_of("adservice"), "adservice");
        assert_eq!(name_of("adservice:latest"), "adservice");
        assert_eq!(name_of("registry:5000/app"), "registry:5000/app");
        assert_eq!(
            name_of("registry:5000/team/app:1.2"),
            "registry:5000/team/app"
        );
        assert_eq!(name_of("app@sha256:abc"), "app");
    }
}
