//! Secret <-> SealedSecret objects, as `kubeseal` builds them (`NewSealedSecret`, `Seal`,
//! `MergeInto`) and as the controller / `kubeseal --recovery-unseal` opens them (`Unseal`).
//!
//! Objects are `serde_json::Value`s (what the manifest loader yields). Output objects are
//! built in Go's field order with map keys sorted, so `-o json` matches kubeseal's layout.

use crate::backup::{diagnose_item, Verdict};
use crate::crypto::{decode_base64_strict, decode_secret_data, hybrid_decrypt, seal_value};
use crate::error::SealError;
use crate::keys::NamedKey;
use crate::scope::{Scope, ANNOTATION_CLUSTER_WIDE, ANNOTATION_NAMESPACE_WIDE};
use crate::{API_VERSION, KIND};
use rsa::PublicKey;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Annotations that must never reach the template: they hold the plaintext Secret.
pub const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

/// Template annotation that stops the controller (and `unseal`) from setting ownerReferences.
pub const SKIP_SET_OWNER_REFERENCES: &str = "sealedsecrets.bitnami.com/skip-set-owner-references";

/// `ObjectMeta` fields in Go struct order (JSON field order of kubeseal's output).
const OBJECT_META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Server-side fields kubeseal strips from the template metadata.
const SERVER_SIDE_FIELDS: [&str; 8] = [
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
];

/// Options of `seal` for one Secret.
#[derive(Debug, Clone, Default)]
pub struct SealOptions {
    /// `--scope`: rewrites the Secret's scope annotations when given. (kubeseal ignores an
    /// explicit `--scope strict` because it cannot tell it from its default; we honour it.)
    pub scope: Option<Scope>,
    /// `--namespace`: fills a missing namespace; a different one is an error.
    pub namespace: Option<String>,
    /// `--allow-empty-data`: seal a Secret with neither `data` nor `stringData` entries.
    pub allow_empty_data: bool,
}

fn input_err(msg: impl Into<String>) -> SealError {
    SealError::Input(msg.into())
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `namespace/name` (or `name`) for messages.
pub fn object_name(obj: &Value) -> String {
    let ns = str_at(obj, "/metadata/namespace");
    let name = str_at(obj, "/metadata/name");
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

/// Seal one Secret into a SealedSecret.
pub fn seal_secret(
    secret: &Value,
    key: &PublicKey,
    opts: &SealOptions,
) -> Result<Value, SealError> {
    let obj = secret
        .as_object()
        .ok_or_else(|| input_err("expected a Secret object (a mapping)"))?;
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "Secret" {
        return Err(input_err(format!(
            "expected kind `Secret`, found `{kind}`; `homelab seal` seals v1 Secrets"
        )));
    }
    let mut meta = match obj.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(input_err("metadata must be a mapping")),
    };
    for field in ["name", "namespace"] {
        if let Some(v) = meta.get(field).filter(|v| !v.is_string() && !v.is_null()) {
            return Err(input_err(format!(
                "metadata.{field} must be a string, found `{v}` (YAML reads y/n/yes/no/on/off, \
                 numbers and dates as other types: quote it)"
            )));
        }
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        return Err(input_err("the Secret has no metadata.name"));
    }
    if let Some(scope) = opts.scope {
        set_scope_annotations(&mut meta, scope);
    }
    let scope = Scope::from_annotations(meta.get("annotations"));
    let mut namespace = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(flag_ns) = opts.namespace.as_deref().filter(|s| !s.is_empty()) {
        if namespace.is_empty() {
            if scope != Scope::ClusterWide {
                namespace = flag_ns.to_string();
                meta.insert("namespace".into(), Value::String(namespace.clone()));
            }
        } else if namespace != flag_ns {
            return Err(input_err(format!(
                "namespace mismatch: the Secret {name} says namespace `{namespace}` but --namespace is `{flag_ns}`"
            )));
        }
    }
    if namespace.is_empty() && scope != Scope::ClusterWide {
        return Err(input_err(format!(
            "secret must declare a namespace: set metadata.namespace of {name} or pass --namespace \
             (or seal it --scope cluster-wide)"
        )));
    }
    let label = scope.label(&namespace, &name);

    // data first, then stringData (stringData wins on a duplicate key, like Go).
    let mut plain: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    match obj.get("data") {
        None | Some(Value::Null) => {}
        Some(Value::Object(data)) => {
            for (k, v) in data {
                let bytes = match v {
                    Value::String(s) => decode_secret_data(s)
                        .map_err(|e| input_err(format!("data.{k} of Secret {name} is {e}")))?,
                    Value::Null => Vec::new(),
                    _ => {
                        return Err(input_err(format!(
                            "data.{k} of Secret {name} must be a base64 string"
                        )))
                    }
                };
                plain.insert(k.clone(), bytes);
            }
        }
        Some(_) => {
            return Err(input_err(format!(
                "data of Secret {name} must be a mapping"
            )))
        }
    }
    match obj.get("stringData") {
        None | Some(Value::Null) => {}
        Some(Value::Object(data)) => {
            for (k, v) in data {
                let bytes = match v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Null => Vec::new(),
                    _ => {
                        return Err(input_err(format!(
                            "stringData.{k} of Secret {name} must be a string (quote numbers and booleans)"
                        )))
                    }
                };
                plain.insert(k.clone(), bytes);
            }
        }
        Some(_) => {
            return Err(input_err(format!(
                "stringData of Secret {name} must be a mapping"
            )))
        }
    }
    if plain.is_empty() && !opts.allow_empty_data {
        return Err(input_err(format!(
            "Secret {name} has no data and no stringData: nothing to seal (pass --allow-empty-data to seal it anyway)"
        )));
    }
    let mut encrypted = Map::new();
    for (k, v) in &plain {
        encrypted.insert(k.clone(), Value::String(seal_value(key, &label, v)?));
    }

    let mut template = Map::new();
    template.insert("metadata".into(), template_metadata(&meta));
    if let Some(t) = obj.get("type").filter(|t| !t.is_null()) {
        template.insert("type".into(), t.clone());
    }
    if let Some(i) = obj.get("immutable").filter(|t| !t.is_null()) {
        template.insert("immutable".into(), i.clone());
    }

    let mut top_meta = Map::new();
    top_meta.insert("name".into(), Value::String(name));
    if !namespace.is_empty() {
        top_meta.insert("namespace".into(), Value::String(namespace));
    }
    if let Some(annotation) = scope.annotation() {
        let mut a = Map::new();
        a.insert(annotation.into(), Value::String("true".into()));
        top_meta.insert("annotations".into(), Value::Object(a));
    }
    let mut spec = Map::new();
    spec.insert("template".into(), Value::Object(template));
    spec.insert("encryptedData".into(), Value::Object(encrypted));

    let mut out = Map::new();
    out.insert("kind".into(), Value::String(KIND.into()));
    out.insert("apiVersion".into(), Value::String(API_VERSION.into()));
    out.insert("metadata".into(), Value::Object(top_meta));
    out.insert("spec".into(), Value::Object(spec));
    Ok(Value::Object(out))
}

/// kubeseal `--scope X` (non-default): delete both scope annotations, then set X's.
fn set_scope_annotations(meta: &mut Map<String, Value>, scope: Scope) {
    let mut annotations = match meta.remove("annotations") {
        Some(Value::Object(a)) => a,
        _ => Map::new(),
    };
    annotations.remove(ANNOTATION_NAMESPACE_WIDE);
    annotations.remove(ANNOTATION_CLUSTER_WIDE);
    if let Some(a) = scope.annotation() {
        annotations.insert(a.into(), Value::String("true".into()));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
}

/// The Secret's metadata as kubeseal copies it into `spec.template.metadata`: without the
/// last-applied-configuration annotations (they carry the plaintext), ownerReferences and
/// server-side fields; ObjectMeta field order, sorted maps, empty maps omitted.
fn template_metadata(meta: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for field in OBJECT_META_FIELDS {
        if SERVER_SIDE_FIELDS.contains(&field) {
            continue;
        }
        let Some(value) = meta.get(field) else {
            continue;
        };
        let value = match (field, value) {
            (_, Value::Null) => continue,
            ("annotations", Value::Object(a)) => {
                let mut a = a.clone();
                for k in LAST_APPLIED_ANNOTATIONS {
                    a.remove(k);
                }
                Value::Object(a)
            }
            (_, v) => v.clone(),
        };
        let value = sorted(value);
        let empty = match &value {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if !empty {
            out.insert(field.into(), value);
        }
    }
    Value::Object(out)
}

/// A copy with every mapping's keys sorted (Go marshals maps sorted).
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// `kubeseal --raw`: seal one value; strict needs namespace and name, namespace-wide needs the
/// namespace, cluster-wide needs neither. Returns the base64 text (printed without newline).
pub fn seal_raw(
    key: &PublicKey,
    scope: Scope,
    namespace: Option<&str>,
    name: Option<&str>,
    value: &[u8],
) -> Result<String, SealError> {
    let namespace = namespace.unwrap_or("");
    let name = name.unwrap_or("");
    match scope {
        Scope::Strict if namespace.is_empty() || name.is_empty() => {
            return Err(input_err(
                "--raw with strict scope needs --namespace and --name (or choose --scope namespace-wide/cluster-wide)",
            ))
        }
        Scope::NamespaceWide if namespace.is_empty() => {
            return Err(input_err("--raw with --scope namespace-wide needs --namespace"))
        }
        _ => {}
    }
    seal_value(key, &scope.label(namespace, name), value)
}

/// `kubeseal --merge-into`: seal `secret` under the existing SealedSecret's name, namespace
/// and scope, then add/replace its items, template labels and annotations in `existing`.
pub fn merge_into(
    existing: &Value,
    secret: &Value,
    key: &PublicKey,
    opts: &SealOptions,
) -> Result<Value, SealError> {
    if existing.get("kind").and_then(Value::as_str) != Some(KIND) {
        return Err(input_err(
            "--merge-into: the file does not hold a SealedSecret",
        ));
    }
    let existing_scope = Scope::of_object(existing);
    if let Some(s) = opts.scope {
        if s != existing_scope {
            return Err(input_err(format!(
                "--merge-into: the existing SealedSecret {} has scope {existing_scope}, not {s}; \
                 values of one SealedSecret must share its scope",
                object_name(existing)
            )));
        }
    }
    let mut secret = secret.clone();
    let Some(obj) = secret.as_object_mut() else {
        return Err(input_err("expected a Secret object (a mapping)"));
    };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        return Err(input_err("metadata must be a mapping"));
    }
    let meta_map = meta.as_object_mut().expect("checked above");
    meta_map.insert(
        "name".into(),
        Value::String(str_at(existing, "/metadata/name").into()),
    );
    let ens = str_at(existing, "/metadata/namespace");
    if ens.is_empty() {
        meta_map.remove("namespace");
    } else {
        meta_map.insert("namespace".into(), Value::String(ens.into()));
    }
    let merge_opts = SealOptions {
        scope: Some(existing_scope),
        namespace: None,
        allow_empty_data: opts.allow_empty_data,
    };
    let update = seal_secret(&secret, key, &merge_opts)?;

    let mut merged = existing.clone();
    let root = merged
        .as_object_mut()
        .ok_or_else(|| input_err("--merge-into: the SealedSecret must be a mapping"))?;
    let spec = ensure_object(root, "spec")?;
    let enc = ensure_object(spec, "encryptedData")?;
    for (k, v) in update["spec"]["encryptedData"]
        .as_object()
        .into_iter()
        .flatten()
    {
        enc.insert(k.clone(), v.clone());
    }
    let sorted_enc = sorted(Value::Object(std::mem::take(enc)));
    if let Value::Object(m) = sorted_enc {
        *enc = m;
    }
    let template = ensure_object(spec, "template")?;
    let tmeta = ensure_object(template, "metadata")?;
    for field in ["labels", "annotations"] {
        if let Some(Value::Object(add)) = update["spec"]["template"]["metadata"].get(field) {
            let target = ensure_object(tmeta, field)?;
            for (k, v) in add {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(merged)
}

fn ensure_object<'a>(
    obj: &'a mut Map<String, Value>,
    key: &str,
) -> Result<&'a mut Map<String, Value>, SealError> {
    let entry = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    entry
        .as_object_mut()
        .ok_or_else(|| input_err(format!("`{key}` must be a mapping")))
}

/// Unseal one SealedSecret with every key (the recovery path). Scope, namespace and name come
/// from the SealedSecret's top-level metadata. Any item that fails fails the object, and the
/// error names each failed item and why.
pub fn unseal(sealed: &Value, keys: &[NamedKey]) -> Result<Value, SealError> {
    let object = object_name(sealed);
    if sealed.get("kind").and_then(Value::as_str) != Some(KIND) {
        return Err(input_err(format!(
            "{object}: expected kind `SealedSecret`, found `{}`",
            str_at(sealed, "/kind")
        )));
    }
    let spec = sealed
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or_else(|| input_err(format!("{object}: the SealedSecret has no spec")))?;
    let encrypted = match spec.get("encryptedData") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(input_err(format!(
                "{object}: spec.encryptedData must be a mapping"
            )))
        }
    };
    if spec.get("data").is_some_and(|d| !d.is_null()) {
        return Err(input_err(format!(
            "{object}: uses the deprecated whole-Secret `spec.data` field, which recovery does not \
             open (like kubeseal --recovery-unseal); the controller can, then re-seal it"
        )));
    }
    let namespace = str_at(sealed, "/metadata/namespace");
    let name = str_at(sealed, "/metadata/name");
    let scope = Scope::of_object(sealed);
    let label = scope.label(namespace, name);
    let key_refs: Vec<&rsa::PrivateKey> = keys.iter().map(|k| &k.key).collect();

    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (item, value) in &encrypted {
        let Some(text) = value.as_str() else {
            failures.push(format!("item `{item}`: the sealed value is not a string"));
            continue;
        };
        let bytes = match decode_base64_strict(text) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("item `{item}`: malformed: {e}"));
                continue;
            }
        };
        match hybrid_decrypt(&key_refs, &label, &bytes) {
            Ok((plain, _)) => {
                data.insert(item.clone(), plain);
            }
            Err(_) => {
                let verdict = diagnose_item(sealed, keys, &bytes);
                failures.push(format!("item `{item}`: {}", verdict.reason(keys)));
            }
        }
    }
    if !failures.is_empty() {
        return Err(SealError::Unseal { object, failures });
    }
    if let Some(Value::Object(templates)) = spec.pointer("/template/data") {
        for (item, tpl) in templates {
            let Some(tpl) = tpl.as_str() else {
                failures.push(format!("template data `{item}` is not a string"));
                continue;
            };
            match render_template(tpl, &data) {
                Ok(out) => {
                    data.insert(item.clone(), out.into_bytes());
                }
                Err(e) => failures.push(format!("template data `{item}`: {e}")),
            }
        }
        if !failures.is_empty() {
            return Err(SealError::Unseal { object, failures });
        }
    }

    let template = spec.get("template").cloned().unwrap_or(Value::Null);
    let mut meta = match template.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    meta.insert("name".into(), Value::String(name.into()));
    if namespace.is_empty() {
        meta.remove("namespace");
    } else {
        meta.insert("namespace".into(), Value::String(namespace.into()));
    }
    let skip_owner = meta
        .get("annotations")
        .and_then(|a| a.get(SKIP_SET_OWNER_REFERENCES))
        .and_then(Value::as_str)
        == Some("true");
    let uid = str_at(sealed, "/metadata/uid");
    // The controller points the Secret at its SealedSecret. Offline there is usually no uid,
    // and an ownerReference without one is invalid, so it is only set when the input has one.
    if !skip_owner && !uid.is_empty() {
        meta.insert(
            "ownerReferences".into(),
            serde_json::json!([{
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": name,
                "uid": uid,
                "controller": true,
            }]),
        );
    }
    let mut ordered_meta = Map::new();
    for field in OBJECT_META_FIELDS {
        if let Some(v) = meta.remove(field) {
            ordered_meta.insert(field.into(), sorted(v));
        }
    }
    for (k, v) in meta {
        ordered_meta.insert(k, v);
    }

    let mut out = Map::new();
    out.insert("kind".into(), Value::String("Secret".into()));
    out.insert("apiVersion".into(), Value::String("v1".into()));
    out.insert("metadata".into(), Value::Object(ordered_meta));
    if let Some(i) = template.get("immutable").filter(|v| !v.is_null()) {
        out.insert("immutable".into(), i.clone());
    }
    let data: Map<String, Value> = data
        .into_iter()
        .map(|(k, v)| (k, Value::String(crate::crypto::encode_base64(&v))))
        .collect();
    out.insert("data".into(), Value::Object(data));
    if let Some(t) = template.get("type").filter(|v| !v.is_null()) {
        out.insert("type".into(), t.clone());
    }
    Ok(Value::Object(out))
}

/// `spec.template.data` rendering. The controller uses Go `text/template` with Sprig; we
/// render the common subset (literal text, `{{ .item }}`, `{{ index . "item" }}`) and refuse
/// anything else with a clear message rather than produce a wrong Secret.
fn render_template(tpl: &str, data: &BTreeMap<String, Vec<u8>>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "unclosed `{{` in the template".to_string())?;
        let action = after[..end].trim_matches(|c: char| c == '-' || c.is_whitespace());
        let is_ident =
            |f: &str| !f.is_empty() && f.chars().all(|c| c.is_alphanumeric() || c == '_');
        let quoted = |a: &str| {
            let a = a.trim();
            (a.len() >= 2
                && a.starts_with('"')
                && a.ends_with('"')
                && !a[1..a.len() - 1].contains('"'))
            .then(|| a[1..a.len() - 1].to_string())
        };
        let item = if let Some(field) = action.strip_prefix('.').filter(|f| is_ident(f)) {
            field.to_string()
        } else if let Some(arg) = action.strip_prefix("index . ").and_then(quoted) {
            arg
        } else {
            return Err(format!(
                "the template action `{{{{{action}}}}}` is not supported offline (only `{{{{ .item }}}}` and `{{{{ index . \"item\" }}}}`); unseal it in the cluster"
            ));
        };
        let value = data.get(&item).ok_or_else(|| {
            format!("the template refers to `{item}`, which is not in encryptedData")
        })?;
        out.push_str(&String::from_utf8_lossy(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The SealedSecret documents of a parsed file (others are skipped), with their index.
pub fn sealed_secrets(documents: &[Value]) -> impl Iterator<Item = (usize, &Value)> {
    documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d.get("kind").and_then(Value::as_str) == Some(KIND))
}

/// Did the verdict mean the item opened?
pub fn is_recoverable(v: &Verdict) -> bool {
    matches!(v, Verdict::Recoverable { .. })
}
