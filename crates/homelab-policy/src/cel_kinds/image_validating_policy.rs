//! Kyverno `ImageValidatingPolicy` / `NamespacedImageValidatingPolicy`
//! (policies.kyverno.io), as far as it can be evaluated without a registry:
//! match constraints (pods and, by autogen, their controllers), match conditions,
//! CEL `PolicyException`s, the images of the resource (the pod spec's containers,
//! init and ephemeral containers, plus `imageExtractors`) filtered by
//! `matchImageReferences` (`glob` or a CEL `expression` over `ref`), and the digest
//! check (`validationConfigurations.verifyDigest`, on by default).
//!
//! Verifying signatures or attestations needs each image's manifest from its registry:
//! with any image to verify, the result is an error saying so. Without one, the
//! validations run (with `images` bound) as for a ValidatingPolicy.
//!
//! Result: not selected or a false match condition -> nothing; an exception -> skip;
//! an image without a digest -> fail; else the validations' result.

use serde_json::{json, Map, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval::{self, DefaultMessage, Outcome};
use super::exceptions;
use super::fields;
use super::opening::{self, Conditions, Opening};

/// Whether `doc` is a Kyverno ImageValidatingPolicy (cluster-wide or namespaced).
pub fn is_image_validating_policy(doc: &Json) -> bool {
    fields::is_kyverno_kind(doc, "ImageValidatingPolicy")
}

/// The pod spec path of a built-in workload kind (for the default image extractors).
fn pod_spec_path(resource: &Json) -> Option<&'static str> {
    let api = resource.get("apiVersion").and_then(Json::as_str)?;
    let kind = resource.get("kind").and_then(Json::as_str)?;
    match (api, kind) {
        ("v1", "Pod") => Some("/spec"),
        ("batch/v1", "Job")
        | ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            Some("/spec/template/spec")
        }
        ("batch/v1", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// Images by category: the default extractors of the resource's kind, then the
/// policy's `imageExtractors` (CEL expressions giving a list of strings).
fn extract_images(
    spec: &Json,
    resource: &Json,
    act: &homelab_cel::Activation,
    vars: &eval::Variables,
) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut out = Vec::new();
    if let Some(path) = pod_spec_path(resource) {
        let pod = resource.pointer(path);
        for key in ["containers", "initContainers", "ephemeralContainers"] {
            let images = pod
                .and_then(|p| p.get(key))
                .and_then(Json::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c.get("image").and_then(Json::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            out.push((key.to_string(), images));
        }
    }
    for ex in fields::list(spec, "imageExtractors") {
        let name = ex.get("name").and_then(Json::as_str).unwrap_or("");
        let expr = ex.get("expression").and_then(Json::as_str).unwrap_or("");
        let images = match eval::eval_json(expr, act, vars)? {
            Json::Array(a) => a
                .into_iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            other => {
                return Err(format!(
                    "image extractor {name:?} gave {other}, not a list of strings"
                ))
            }
        };
        out.retain(|(k, _)| k != name);
        out.push((name.to_string(), images));
    }
    Ok(out)
}

/// Whether `image` is one of those `matchImageReferences` selects (all when empty).
fn image_selected(refs: &[Json], image: &str, ctx: &EvalContext) -> Result<bool, String> {
    if refs.is_empty() {
        return Ok(true);
    }
    for r in refs {
        if let Some(glob) = r.get("glob").and_then(Json::as_str) {
            if crate::scalars::wildcard_match(glob, image) {
                return Ok(true);
            }
        } else if let Some(expr) = r.get("expression").and_then(Json::as_str) {
            let null = Json::Null;
            let mut act = eval::activation(&null, &null, &null, &null, ctx);
            act.bind_json("ref", &json!(image));
            if eval::eval_bool(expr, &act, &eval::Variables::default())? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether an image reference carries a digest.
fn has_digest(image: &str) -> bool {
    image.split_once('@').is_some_and(|(_, d)| d.contains(':'))
}

/// Evaluates an ImageValidatingPolicy against `resource`: `None` when it does not
/// apply, else its single rule response.
pub fn evaluate_image_validating_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    all_exceptions: &[Json],
) -> Option<Vec<RuleResponse>> {
    let spec = policy.get("spec")?;
    let name = fields::policy_name(policy).to_string();
    let respond =
        |status, message: String| Some(vec![RuleResponse::new(name.clone(), status, message)]);
    let opening = Opening::new(policy, resource, ctx)?;
    if !opening.spec_selects(spec)
        && !super::autogen::validating_policy_variants(spec)
            .iter()
            .any(|v| opening.spec_selects(v))
    {
        return None;
    }
    let mut act = opening.activation();
    let no_vars = eval::Variables::default();
    match opening::match_conditions(spec, &act, &no_vars, true) {
        Conditions::Met => {}
        Conditions::NotMet => return None,
        Conditions::Failed(e) => {
            return respond(Status::Error, format!("failed to evaluate policy: {e}"))
        }
    }
    let mine = exceptions::for_policy(policy, all_exceptions);
    let mut matched = Vec::new();
    for e in &mine {
        let conds = fields::list_at(e, "/spec/matchConditions");
        match eval::match_conditions(conds, &act, &no_vars) {
            Ok(true) => matched.push(
                e.pointer("/metadata/name")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            Ok(false) => {}
            Err(e) => return respond(Status::Error, format!("failed to evaluate policy: {e}")),
        }
    }
    if !matched.is_empty() {
        return respond(
            Status::Skip,
            format!(
                "rule is skipped due to policy exception: {}",
                matched.join(", ")
            ),
        );
    }
    let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
    let images = match extract_images(spec, resource, &act, &vars) {
        Ok(i) => i,
        Err(e) => return respond(Status::Error, format!("failed to evaluate policy: {e}")),
    };
    let refs = fields::list(spec, "matchImageReferences");
    let mut filtered = Map::new();
    let mut all = Vec::new();
    for (category, list) in images {
        let mut keep = Vec::new();
        for image in list {
            match image_selected(refs, &image, ctx) {
                Ok(true) => {
                    all.push(image.clone());
                    keep.push(Json::String(image));
                }
                Ok(false) => {}
                Err(e) => return respond(Status::Error, format!("failed to evaluate policy: {e}")),
            }
        }
        filtered.insert(category, Json::Array(keep));
    }
    let verify_digest = spec
        .pointer("/validationConfigurations/verifyDigest")
        .and_then(Json::as_bool)
        != Some(false);
    if verify_digest {
        if let Some(img) = all.iter().find(|i| !has_digest(i)) {
            return respond(Status::Fail, format!("image {img} does not have a digest"));
        }
    }
    if let Some(img) = all.first() {
        return respond(
            Status::Error,
            format!("failed to evaluate policy: verifying image {img} needs its manifest from the registry, which is not reachable offline"),
        );
    }
    act.bind_json("images", &Json::Object(filtered));
    let validations = fields::list(spec, "validations");
    match eval::validations(validations, &act, &vars, DefaultMessage::Index) {
        Outcome::Pass => respond(Status::Pass, "success".into()),
        Outcome::Fail(m) => respond(Status::Fail, m),
        Outcome::Error(m) => respond(Status::Error, m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Json {
        json!({
            "apiVersion": "policies.kyverno.io/v1beta1", "kind": "ImageValidatingPolicy",
            "metadata": {"name": "iv"},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]},
                "matchConditions": [{"name": "prod", "expression": "object.metadata.?labels.?prod.orValue('') == 'true'"}],
                "matchImageReferences": [{"glob": "ghcr.io/*"}],
                "validations": [{"expression": "images.containers.all(i, i.startsWith('ghcr.io'))"}]
            }
        })
    }

    fn pod(image: &str, prod: bool) -> Json {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "p", "namespace": "default", "labels": {"prod": if prod {"true"} else {"false"}}},
               "spec": {"containers": [{"name": "c", "image": image}]}})
    }

    fn status(p: &Json, r: &Json) -> Option<Status> {
        evaluate_image_validating_policy(p, r, &EvalContext::default(), &[]).map(|v| v[0].status)
    }

    #[test]
    fn selection_digests_and_registry() {
        let p = policy();
        assert!(is_image_validating_policy(&p));
        assert_eq!(status(&p, &pod("ghcr.io/a:1", false)), None);
        // no digest: fails before any registry access
        assert_eq!(status(&p, &pod("ghcr.io/a:1", true)), Some(Status::Fail));
        // a digest: the verification would need the registry
        assert_eq!(
            status(&p, &pod("ghcr.io/a@sha256:abc", true)),
            Some(Status::Error)
        );
        // images not selected by matchImageReferences: nothing to verify
        assert_eq!(status(&p, &pod("docker.io/a:1", true)), Some(Status::Pass));
    }
}
