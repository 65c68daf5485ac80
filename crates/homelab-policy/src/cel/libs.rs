//! Kyverno's CEL libraries that work offline, bound as host functions:
//! `resource.Get/List` and `image.GetMetadata` read the test's `Context` mocks
//! (`spec.resources`, `spec.images`); `image(ref)` parses image references;
//! `json.Unmarshal`/`yaml.Unmarshal` parse text. Cluster-only libraries
//! (`http`, `globalContext`, live registries) are absent and error when called.

use std::sync::Arc;

use homelab_cel::{json_to_cel, Activation, Value};
use serde_json::Value as Json;

use super::resources::plural_for_kind;

fn arg_str(args: &[Value], i: usize, func: &str) -> Result<String, String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        _ => Err(format!("{func}: argument {} must be a string", i + 1)),
    }
}

fn context_list<'a>(ctx: Option<&'a Json>, key: &str) -> &'a [Json] {
    ctx.and_then(|c| c.get(key))
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn str_at<'a>(v: &'a Json, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Json::as_str).unwrap_or("")
}

/// Whether a context resource is of `api_version` and plural `resource`.
fn is_resource(r: &Json, api_version: &str, resource: &str) -> bool {
    str_at(r, "/apiVersion") == api_version && plural_for_kind(str_at(r, "/kind")) == resource
}

/// Binds the offline Kyverno libraries, reading mocks from `cel_context`
/// (the `spec` of a `Context` file).
pub fn bind(act: &mut Activation, cel_context: Option<&Json>) {
    let resources: Arc<Vec<Json>> = Arc::new(context_list(cel_context, "resources").to_vec());
    let images: Arc<Vec<Json>> = Arc::new(context_list(cel_context, "images").to_vec());

    let res = Arc::clone(&resources);
    act.bind_function(
        "resource.Get",
        Arc::new(move |_, args| {
            let api = arg_str(args, 0, "resource.Get")?;
            let resource = arg_str(args, 1, "resource.Get")?;
            let ns = arg_str(args, 2, "resource.Get")?;
            let name = arg_str(args, 3, "resource.Get")?;
            res.iter()
                .find(|r| {
                    is_resource(r, &api, &resource)
                        && str_at(r, "/metadata/namespace") == ns
                        && str_at(r, "/metadata/name") == name
                })
                .map(json_to_cel)
                .ok_or_else(|| format!("{resource} \"{name}\" not found"))
        }),
    );
    let res = Arc::clone(&resources);
    act.bind_function(
        "resource.List",
        Arc::new(move |_, args| {
            let api = arg_str(args, 0, "resource.List")?;
            let resource = arg_str(args, 1, "resource.List")?;
            let ns = arg_str(args, 2, "resource.List").unwrap_or_default();
            // Like Kyverno's fake context: an unknown resource type is an error, and
            // the namespace is matched exactly ("" = cluster-scoped objects).
            let of_type: Vec<&Json> = res
                .iter()
                .filter(|r| is_resource(r, &api, &resource))
                .collect();
            if of_type.is_empty() {
                return Err(format!("{resource} resource not found"));
            }
            let items: Vec<Json> = of_type
                .into_iter()
                .filter(|r| str_at(r, "/metadata/namespace") == ns)
                .cloned()
                .collect();
            Ok(json_to_cel(&serde_json::json!({ "items": items })))
        }),
    );
    let imgs = Arc::clone(&images);
    act.bind_function(
        "image.GetMetadata",
        Arc::new(move |_, args| {
            let reference = arg_str(args, 0, "image.GetMetadata")?;
            imgs.iter()
                .find(|i| str_at(i, "/image") == reference)
                .map(json_to_cel)
                .ok_or_else(|| {
                    format!("image metadata for {reference:?} not found (no registry access)")
                })
        }),
    );
    for name in ["json.Unmarshal", "json.unmarshal", "yaml.Unmarshal"] {
        act.bind_function(name, Arc::new(|_, args| unmarshal_json(args)));
    }
    for name in ["image", "ParseImageRef", "parseImageReference"] {
        act.bind_function(
            name,
            Arc::new(|_, args| {
                let r = arg_str(args, 0, "image")?;
                parse_image(&r)
                    .map(|j| json_to_cel(&j))
                    .ok_or_else(|| format!("could not parse reference: {r}"))
            }),
        );
    }
    act.bind_function(
        "isImage",
        Arc::new(|_, args| {
            Ok(Value::Bool(
                parse_image(&arg_str(args, 0, "isImage")?).is_some(),
            ))
        }),
    );
    // Methods of a parsed image reference (a map with these fields).
    for field in ["registry", "repository", "identifier", "tag", "digest"] {
        act.bind_function(
            field,
            Arc::new(move |this, _| {
                this.and_then(|t| homelab_cel::map_get(t, field))
                    .cloned()
                    .ok_or_else(|| format!("{field}: not an image reference"))
            }),
        );
    }
    act.bind_function(
        "containsDigest",
        Arc::new(
            |this, _| match this.and_then(|t| homelab_cel::map_get(t, "digest")) {
                Some(Value::String(d)) => Ok(Value::Bool(!d.is_empty())),
                _ => Err("containsDigest: not an image reference".into()),
            },
        ),
    );
}

fn unmarshal_json(args: &[Value]) -> Result<Value, String> {
    let text = match args.first() {
        Some(Value::String(s)) => s.to_string(),
        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => return Err("Unmarshal: argument must be a string".into()),
    };
    serde_json::from_str::<Json>(&text)
        .map(|j| json_to_cel(&j))
        .map_err(|e| format!("Unmarshal: {e}"))
}

/// An image reference split the way Kyverno's image library (go-containerregistry)
/// does: registry (`index.docker.io` for Docker Hub), repository (`library/` for
/// official images), tag (default `latest`) or digest, and the identifier (the
/// digest when there is one, else the tag).
fn parse_image(r: &str) -> Option<Json> {
    if r.is_empty()
        || r.chars()
            .any(|c| c.is_whitespace() || c.is_ascii_uppercase() && !r.contains('@'))
    {
        return None;
    }
    let (rest, digest) = match r.split_once('@') {
        Some((a, d)) if d.contains(':') => (a, d.to_string()),
        Some(_) => return None,
        None => (r, String::new()),
    };
    let (registry, remainder) = match rest.split_once('/') {
        Some((f, rem)) if f.contains('.') || f.contains(':') || f == "localhost" => {
            (f.to_string(), rem.to_string())
        }
        _ => ("index.docker.io".to_string(), rest.to_string()),
    };
    let registry = if registry == "docker.io" {
        "index.docker.io".to_string()
    } else {
        registry
    };
    let (repo, tag) = match remainder.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p.to_string(), t.to_string()),
        _ => (remainder.clone(), String::new()),
    };
    if repo.is_empty() || repo.starts_with('/') || repo.ends_with('/') || repo.contains("//") {
        return None;
    }
    let repo = if registry == "index.docker.io" && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo
    };
    let tag = if tag.is_empty() && digest.is_empty() {
        "latest".to_string()
    } else {
        tag
    };
    let (tag, identifier) = if digest.is_empty() {
        (tag.clone(), tag)
    } else {
        (String::new(), digest.clone())
    };
    Some(serde_json::json!({
        "image": r,
        "registry": registry,
        "repository": repo,
        "identifier": identifier,
        "tag": tag,
        "digest": digest,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(src: &str, ctx: Json) -> Result<Json, homelab_cel::CelError> {
        let mut act = Activation::new();
        bind(&mut act, Some(&ctx));
        homelab_cel::compile(src)?.eval_json(&act)
    }

    #[test]
    fn resource_lookups_read_the_context_file() {
        let ctx = json!({"resources": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}, "data": {"k": "v"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm2", "namespace": "other"}}
        ]});
        assert_eq!(
            eval(
                "resource.Get('v1', 'configmaps', 'default', 'cm').data.k",
                ctx.clone()
            )
            .unwrap(),
            json!("v")
        );
        assert!(eval(
            "resource.Get('v1', 'configmaps', 'default', 'nope')",
            ctx.clone()
        )
        .is_err());
        let list = |ns: &str| {
            eval(
                &format!("size(resource.List('v1', 'configmaps', '{ns}').items)"),
                ctx.clone(),
            )
        };
        assert_eq!(list("").unwrap(), json!(0));
        assert_eq!(list("other").unwrap(), json!(1));
        assert!(eval("resource.List('v1', 'secrets', 'other')", ctx.clone()).is_err());
    }

    #[test]
    fn image_metadata_reads_the_context_file() {
        let ctx = json!({"images": [{"image": "busybox:1.35", "config": {"Volumes": []}}]});
        assert_eq!(
            eval(
                "size(image.GetMetadata('busybox:1.35').config.Volumes)",
                ctx.clone()
            )
            .unwrap(),
            json!(0)
        );
        assert!(eval("image.GetMetadata('nginx')", ctx).is_err());
    }

    #[test]
    fn image_references_parse() {
        let v = parse_image("ghcr.io/org/app:1.2@sha256:abc").unwrap();
        assert_eq!(v["registry"], "ghcr.io");
        assert_eq!(v["repository"], "org/app");
        assert_eq!(v["digest"], "sha256:abc");
        assert_eq!(v["identifier"], "sha256:abc");
        assert_eq!(parse_image("ghcr.io/org/app:1.2").unwrap()["tag"], "1.2");
        assert_eq!(parse_image("nginx").unwrap()["registry"], "index.docker.io");
        assert_eq!(parse_image("nginx").unwrap()["repository"], "library/nginx");
        assert_eq!(parse_image("nginx").unwrap()["tag"], "latest");
        assert!(parse_image("").is_none());
    }

    #[test]
    fn image_methods() {
        let e = |src: &str| eval(src, json!({})).unwrap();
        assert_eq!(
            e("image('ghcr.io/org/app:1.2').registry()"),
            json!("ghcr.io")
        );
        assert_eq!(e("image('nginx').repository()"), json!("library/nginx"));
        assert_eq!(e("image('nginx:1.25').tag()"), json!("1.25"));
        assert_eq!(e("image('nginx@sha256:abc').containsDigest()"), json!(true));
        assert_eq!(e("image('nginx').identifier()"), json!("latest"));
        assert_eq!(
            e("isImage('nginx:1') && !isImage('bad image')"),
            json!(true)
        );
    }

    #[test]
    fn json_unmarshal() {
        assert_eq!(
            eval("json.Unmarshal('{\"a\": [1]}').a[0]", json!({})).unwrap(),
            json!(1)
        );
        assert!(eval("json.Unmarshal('{')", json!({})).is_err());
    }
}
