//! Kyverno's CEL libraries, bound as host functions and answered offline from a test's
//! mocks ([`crate::mocks`]): `resource.Get/List/Post/ToGVR` (the namespaced forms for
//! namespaced policies), `image.GetMetadata`, `globalContext.Get`, `http.Get/Post`
//! (camelCase aliases too); and the pure ones: `image(ref)` and its methods,
//! `json.unmarshal/marshal`, `yaml.parse`, `listObjToMap`, `parseServiceAccount`.
//! A lookup with nothing mocked fails with an error that says so (no network access).

use std::sync::{Arc, OnceLock};

use homelab_cel::{cel_to_json, json_to_cel, BindFunction, FunctionLibrary, Value};
use serde_json::{Map, Value as Json};

use crate::mocks::{Mocks, Shared};

fn arg_str(args: &[Value], i: usize, func: &str) -> Result<String, String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        _ => Err(format!("{func}: argument {} must be a string", i + 1)),
    }
}

/// A `schema.GroupVersionResource` value (`resource.ToGVR`): its API version and resource.
fn arg_gvr(args: &[Value], i: usize) -> Option<(String, String)> {
    let v = args.get(i)?;
    let field = |k: &str| match homelab_cel::map_get(v, k) {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    };
    let resource = field("resource")?;
    let version = field("version")?;
    let group = field("group").unwrap_or_default();
    let api = if group.is_empty() {
        version
    } else {
        format!("{group}/{version}")
    };
    Some((api, resource))
}

fn arg_labels(args: &[Value], i: usize) -> Option<Map<String, Json>> {
    match args.get(i).map(cel_to_json) {
        Some(Json::Object(m)) => Some(m),
        _ => None,
    }
}

/// Where a lookup's `(apiVersion, resource)` comes from: a GVR first argument or two
/// strings; returns them and the index of the next argument.
fn target(args: &[Value], func: &str) -> Result<(String, String, usize), String> {
    if let Some((api, res)) = arg_gvr(args, 0) {
        return Ok((api, res, 1));
    }
    Ok((arg_str(args, 0, func)?, arg_str(args, 1, func)?, 2))
}

/// Kyverno's libraries with nothing mocked, for cluster-wide policy kinds: bound once
/// per process and shared by every activation that needs no more (what `apply` uses).
pub fn unmocked_library() -> &'static FunctionLibrary {
    static LIBRARY: OnceLock<FunctionLibrary> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let mut lib = FunctionLibrary::new();
        bind(&mut lib, None, "");
        lib
    })
}

/// Binds Kyverno's libraries. `namespace` is the policy's namespace for namespaced
/// policy kinds (whose resource library looks up that namespace only), else empty.
pub fn bind(act: &mut impl BindFunction, mocks: Option<&Shared>, namespace: &str) {
    let mocks: Arc<Mocks> = mocks.map(|m| Arc::clone(&m.0)).unwrap_or_default();
    let ns = namespace.to_string();
    let m = Arc::clone(&mocks);
    let pns = ns.clone();
    let get = Arc::new(move |_: Option<&Value>, args: &[Value]| {
        let (api, res, next) = target(args, "resource.Get")?;
        let (namespace, name) = if pns.is_empty() {
            (
                arg_str(args, next, "resource.Get")?,
                arg_str(args, next + 1, "resource.Get")?,
            )
        } else {
            (pns.clone(), arg_str(args, next, "resource.Get")?)
        };
        m.get(&api, &res, &namespace, &name)
            .map(|o| json_to_cel(&o))
            .map_err(|e| format!("failed to get resource: {e}"))
    });
    act.bind_function("resource.Get", get.clone());
    act.bind_function("resource.get", get);
    let m = Arc::clone(&mocks);
    let pns = ns.clone();
    let list = Arc::new(move |_: Option<&Value>, args: &[Value]| {
        let (api, res, next) = target(args, "resource.List")?;
        let (namespace, labels_at) = if pns.is_empty() {
            (arg_str(args, next, "resource.List")?, next + 1)
        } else {
            (pns.clone(), next)
        };
        let labels = arg_labels(args, labels_at);
        m.list(&api, &res, &namespace, labels.as_ref())
            .map(|o| json_to_cel(&o))
            .map_err(|e| format!("failed to list resource: {e}"))
    });
    act.bind_function("resource.List", list.clone());
    act.bind_function("resource.list", list);
    let pns = ns.clone();
    let post = Arc::new(move |_: Option<&Value>, args: &[Value]| {
        // Offline there is nothing to create: the call answers with the object as the
        // API server would have stored it (in the namespace asked for).
        let (_, _, next) = target(args, "resource.Post")?;
        let (namespace, data_at) = if pns.is_empty() && args.len() > next + 1 {
            (arg_str(args, next, "resource.Post")?, next + 1)
        } else {
            (pns.clone(), next)
        };
        let mut data = args.get(data_at).map(cel_to_json).unwrap_or(Json::Null);
        if let (Json::Object(o), false) = (&mut data, namespace.is_empty()) {
            if let Json::Object(meta) = o
                .entry("metadata")
                .or_insert_with(|| Json::Object(Map::new()))
            {
                meta.insert("namespace".into(), Json::String(namespace));
            }
        }
        Ok(json_to_cel(&data))
    });
    act.bind_function("resource.Post", post.clone());
    act.bind_function("resource.post", post);
    let m = Arc::clone(&mocks);
    let to_gvr = Arc::new(move |_: Option<&Value>, args: &[Value]| {
        let api = arg_str(args, 0, "resource.ToGVR")?;
        let kind = arg_str(args, 1, "resource.ToGVR")?;
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api.as_str()));
        Ok(json_to_cel(&serde_json::json!({
            "group": group, "version": version, "resource": m.plural(&api, &kind)
        })))
    });
    act.bind_function("resource.ToGVR", to_gvr.clone());
    act.bind_function("resource.toGVR", to_gvr);

    let m = Arc::clone(&mocks);
    let metadata = Arc::new(move |_: Option<&Value>, args: &[Value]| {
        let reference = arg_str(args, 0, "image.GetMetadata")?;
        m.image(&reference)
            .map(|j| json_to_cel(&j))
            .map_err(|e| format!("failed to get image data: {e}"))
    });
    act.bind_function("image.GetMetadata", metadata.clone());
    act.bind_function("image.getMetadata", metadata);

    let m = Arc::clone(&mocks);
    let global = Arc::new(move |_: Option<&Value>, args: &[Value]| {
        let name = arg_str(args, 0, "globalContext.Get")?;
        let projection = match args.get(1) {
            Some(Value::String(s)) => s.to_string(),
            _ => String::new(),
        };
        m.global(&name, &projection)
            .map(|v| v.map(|j| json_to_cel(&j)).unwrap_or(Value::Null))
            .map_err(|e| format!("failed to get global reference: {e}"))
    });
    act.bind_function("globalContext.Get", global.clone());
    act.bind_function("globalContext.get", global);

    for (method, names) in [
        ("GET", ["http.Get", "http.get"]),
        ("POST", ["http.Post", "http.post"]),
    ] {
        let m = Arc::clone(&mocks);
        let f = Arc::new(move |_: Option<&Value>, args: &[Value]| {
            let url = arg_str(args, 0, names[0])?;
            match m.http(method, &url) {
                Some(mock) => Ok(json_to_cel(&serde_json::json!({
                    "body": mock.body, "statusCode": mock.status
                }))),
                None => Err(format!(
                    "request failed: no apiCallResponses entry answers {method} {url} (offline: no network access)"
                )),
            }
        });
        for n in names {
            act.bind_function(n, f.clone());
        }
    }

    for name in ["json.Unmarshal", "json.unmarshal", "yaml.Unmarshal"] {
        act.bind_function(name, Arc::new(|_, args| unmarshal_json(args)));
    }
    act.bind_function(
        "json.marshal",
        Arc::new(|_, args| {
            let v = args.first().map(cel_to_json).unwrap_or(Json::Null);
            serde_json::to_string(&v)
                .map(|s| Value::String(Arc::new(s)))
                .map_err(|e| format!("json.marshal: {e}"))
        }),
    );
    act.bind_function(
        "yaml.parse",
        Arc::new(|_, args| {
            let text = arg_str(args, 0, "yaml.parse")?;
            crate::yaml::parse_one(&text).map(|j| json_to_cel(&j))
        }),
    );
    act.bind_function("regex.replace", Arc::new(|_, args| regex_replace(args)));
    act.bind_function(
        "regex.extract",
        Arc::new(|_, args| {
            let (text, re) = regex_args(args, "regex.extract")?;
            let found = re.captures(&text).map(|c| {
                let m = c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str());
                Value::String(Arc::new(m.to_string()))
            });
            Ok(homelab_cel::optional(found))
        }),
    );
    act.bind_function(
        "regex.extractAll",
        Arc::new(|_, args| {
            let (text, re) = regex_args(args, "regex.extractAll")?;
            let all: Vec<Json> = re
                .captures_iter(&text)
                .map(|c| {
                    let m = c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str());
                    Json::String(m.to_string())
                })
                .collect();
            Ok(json_to_cel(&Json::Array(all)))
        }),
    );
    for name in ["listObjToMap", "transform.listObjToMap"] {
        act.bind_function(name, Arc::new(|_, args| list_obj_to_map(args)));
    }
    for (name, algo) in [
        ("sha1", "sha1"),
        ("hash.sha1", "sha1"),
        ("sha256", "sha256"),
        ("hash.sha256", "sha256"),
        ("md5", "md5"),
        ("hash.md5", "md5"),
    ] {
        act.bind_function(
            name,
            Arc::new(move |_, args| {
                use sha2::Digest;
                let text = arg_str(args, 0, name)?;
                let digest: Vec<u8> = match algo {
                    "sha1" => sha1::Sha1::digest(text.as_bytes()).to_vec(),
                    "md5" => md5::Md5::digest(text.as_bytes()).to_vec(),
                    _ => sha2::Sha256::digest(text.as_bytes()).to_vec(),
                };
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                Ok(Value::String(Arc::new(hex)))
            }),
        );
    }
    for name in ["parseServiceAccount", "user.parseServiceAccount"] {
        act.bind_function(
            name,
            Arc::new(|_, args| {
                let user = arg_str(args, 0, "parseServiceAccount")?;
                let (namespace, name) = user
                    .strip_prefix("system:serviceaccount:")
                    .and_then(|r| r.split_once(':'))
                    .unwrap_or(("", ""));
                // a native Go struct in Kyverno: its fields keep their Go names
                Ok(json_to_cel(
                    &serde_json::json!({"Namespace": namespace, "Name": name}),
                ))
            }),
        );
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

/// The text and compiled pattern of a `regex.*` call (RE2 syntax, as cel-go).
fn regex_args(args: &[Value], func: &str) -> Result<(String, regex::Regex), String> {
    let text = arg_str(args, 0, func)?;
    let pattern = arg_str(args, 1, func)?;
    let re = regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("{func}: invalid regex {pattern:?}: {e}"))?;
    Ok((text, re))
}

/// cel-go's `regex.replace(text, pattern, replacement[, count])`: `\1`..`\9` in the
/// replacement refer to groups, `\\` is a backslash; a negative count replaces all.
fn regex_replace(args: &[Value]) -> Result<Value, String> {
    let (text, re) = regex_args(args, "regex.replace")?;
    let repl = arg_str(args, 2, "regex.replace")?;
    let mut expanded = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    expanded.push_str("${");
                    expanded.push(d);
                    expanded.push('}');
                }
                Some('\\') => expanded.push('\\'),
                Some(other) => {
                    return Err(format!(
                    "regex.replace: invalid replacement string: \\{other} is not a group reference"
                ))
                }
                None => return Err("regex.replace: invalid replacement string: trailing \\".into()),
            },
            '$' => expanded.push_str("$$"),
            other => expanded.push(other),
        }
    }
    let count = match args.get(3) {
        Some(Value::Int(n)) => *n,
        _ => -1,
    };
    let out = if count < 0 {
        re.replace_all(&text, expanded.as_str()).into_owned()
    } else {
        re.replacen(
            &text,
            usize::try_from(count).unwrap_or(0),
            expanded.as_str(),
        )
        .into_owned()
    };
    Ok(Value::String(Arc::new(out)))
}

/// `listObjToMap(keys, values, keyField, valueField)`: a map from each key object's
/// `keyField` to the value object's `valueField` at the same index.
fn list_obj_to_map(args: &[Value]) -> Result<Value, String> {
    let list = |i: usize| match args.get(i).map(cel_to_json) {
        Some(Json::Array(a)) => Ok(a),
        _ => Err(format!("listObjToMap: argument {} must be a list", i + 1)),
    };
    let (keys, values) = (list(0)?, list(1)?);
    let key_field = arg_str(args, 2, "listObjToMap")?;
    let value_field = arg_str(args, 3, "listObjToMap")?;
    if keys.len() != values.len() {
        return Err(format!(
            "listObjToMap must take lists of equal length. list1: {}, list2: {}",
            keys.len(),
            values.len()
        ));
    }
    let mut out = Map::new();
    for (k, v) in keys.iter().zip(&values) {
        let Some(Json::String(key)) = k.get(&key_field) else {
            return Err(
                "the passed key name cannot be handled as a string in the key object list".into(),
            );
        };
        out.insert(
            key.clone(),
            v.get(&value_field).cloned().unwrap_or(Json::Null),
        );
    }
    Ok(json_to_cel(&Json::Object(out)))
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
    use homelab_cel::Activation;
    use serde_json::json;

    fn eval(src: &str, ctx: Json) -> Result<Json, homelab_cel::CelError> {
        let mut act = Activation::new();
        let mut mocks = Mocks::default();
        if let Some(Json::Array(r)) = ctx.get("resources") {
            mocks.add_objects(r.clone());
        }
        if let Some(Json::Array(i)) = ctx.get("images") {
            mocks.add_images(i.clone());
        }
        bind(&mut act, Some(&Shared(Arc::new(mocks))), "");
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
    fn hashes_and_service_accounts() {
        let e = |src: &str| eval(src, json!({})).unwrap();
        assert_eq!(
            e("hash.md5('abc')"),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            e("sha1('abc')"),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            e("hash.sha256('abc')"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            e("parseServiceAccount('system:serviceaccount:ns:sa').Name"),
            json!("sa")
        );
    }

    #[test]
    fn regex_library() {
        let e = |src: &str| eval(src, json!({})).unwrap();
        assert_eq!(
            e(r#"regex.replace("docker.io/nginx:1", "^docker\\.io/(.*)", "my.io/\\1")"#),
            json!("my.io/nginx:1")
        );
        assert_eq!(e(r#"regex.replace("aaa", "a", "b", 2)"#), json!("bba"));
        assert_eq!(
            e(r#"regex.extract("v1.2.3", "v(\\d+)").orValue("none")"#),
            json!("1")
        );
        assert_eq!(
            e(r#"regex.extract("abc", "\\d").orValue("none")"#),
            json!("none")
        );
        assert_eq!(
            e(r#"regex.extractAll("a1b22", "\\d+")"#),
            json!(["1", "22"])
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
