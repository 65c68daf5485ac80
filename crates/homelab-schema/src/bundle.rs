//! The embedded Kubernetes schema bundle (`data/kubernetes.json.gz`, built by
//! `cargo xtask schemas` from kubernetes-validate; see `NOTICE`).
//!
//! Decompressed and parsed once, on first use. Each Kubernetes minor version maps definition
//! names to shared, de-duplicated definition bodies.

use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

static BUNDLE_GZ: &[u8] = include_bytes!("../data/kubernetes.json.gz");

pub struct Bundle {
    pub source: String,
    blobs: Vec<Value>,
    versions: Vec<VersionDefs>,
}

pub struct VersionDefs {
    /// "1.29"
    pub version: String,
    defs: HashMap<String, usize>,
    /// (apiVersion, kind) -> definition name
    gvk: HashMap<(String, String), String>,
}

impl VersionDefs {
    pub fn definition<'b>(&self, bundle: &'b Bundle, name: &str) -> Option<&'b Value> {
        self.defs.get(name).map(|&i| &bundle.blobs[i])
    }

    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<&str> {
        self.gvk
            .get(&(api_version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    /// Every apiVersion that serves `kind` in this version (for "use X instead" hints).
    pub fn api_versions_of(&self, kind: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .gvk
            .keys()
            .filter(|(_, k)| k == kind)
            .map(|(a, _)| a.as_str())
            .collect();
        v.sort_unstable();
        v
    }
}

static BUNDLE: OnceLock<Result<Bundle, String>> = OnceLock::new();

/// The embedded bundle. Errors only if the embedded data is corrupt (a build problem).
pub fn get() -> Result<&'static Bundle, String> {
    BUNDLE
        .get_or_init(|| load(BUNDLE_GZ))
        .as_ref()
        .map_err(Clone::clone)
}

fn load(gz: &[u8]) -> Result<Bundle, String> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut json)
        .map_err(|e| format!("embedded schema bundle is corrupt: {e}"))?;
    let mut root: Value = serde_json::from_slice(&json)
        .map_err(|e| format!("embedded schema bundle is corrupt: {e}"))?;
    let source = root["source"].as_str().unwrap_or_default().to_string();
    let blobs = match root.get_mut("blobs").map(Value::take) {
        Some(Value::Array(b)) => b,
        _ => return Err("embedded schema bundle has no blobs".into()),
    };
    let mut versions = Vec::new();
    if let Some(Value::Object(vs)) = root.get("versions") {
        for (version, defs) in vs {
            let defs: HashMap<String, usize> = defs
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()? as usize)))
                .filter(|(_, i)| *i < blobs.len())
                .collect();
            let mut gvk: HashMap<(String, String), String> = HashMap::new();
            for (name, &i) in &defs {
                let Some(Value::Array(list)) = blobs[i].get("x-kubernetes-group-version-kind")
                else {
                    continue;
                };
                for g in list {
                    let (Some(group), Some(ver), Some(kind)) = (
                        g["group"].as_str(),
                        g["version"].as_str(),
                        g["kind"].as_str(),
                    ) else {
                        continue;
                    };
                    let api = if group.is_empty() {
                        ver.to_string()
                    } else {
                        format!("{group}/{ver}")
                    };
                    let key = (api, kind.to_string());
                    // Shared types (DeleteOptions, WatchEvent) list many GVKs; the definition
                    // named after the kind wins.
                    let own = name.rsplit('.').next() == Some(kind);
                    match gvk.get(&key) {
                        Some(existing) if !own || existing.rsplit('.').next() == Some(kind) => {}
                        _ => {
                            gvk.insert(key, name.clone());
                        }
                    }
                }
            }
            versions.push(VersionDefs {
                version: version.clone(),
                defs,
                gvk,
            });
        }
    }
    versions.sort_by_key(|v| minor(&v.version));
    Ok(Bundle {
        source,
        blobs,
        versions,
    })
}

fn minor(v: &str) -> u32 {
    v.split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

impl Bundle {
    /// Versions carried, oldest first ("1.29", ...).
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        self.versions.iter().map(|v| v.version.as_str())
    }

    pub fn newest(&self) -> Option<&VersionDefs> {
        self.versions.last()
    }

    pub fn version(&self, minor_version: &str) -> Option<&VersionDefs> {
        self.versions.iter().find(|v| v.version == minor_version)
    }

    /// Whether the group of `api_version` belongs to Kubernetes itself: the core group, a
    /// group without a dot (reserved for Kubernetes: `apps`, `extensions`, ...), or one that
    /// any embedded version serves. Other groups are custom (served by CRDs).
    pub fn is_builtin_group(&self, api_version: &str) -> bool {
        let Some((group, _)) = api_version.rsplit_once('/') else {
            return true;
        };
        !group.contains('.')
            || self.versions.iter().any(|v| {
                v.gvk
                    .keys()
                    .any(|(api, _)| api.rsplit_once('/').is_some_and(|(g, _)| g == group))
            })
    }
}

/// Normalises `1.29`, `1.29.3`, `v1.29.0` to `1.29`. `None` if it is not a version.
pub fn normalize_version(input: &str) -> Option<String> {
    let s = input.trim().trim_start_matches('v');
    let mut parts = s.split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    if let Some(patch) = parts.next() {
        // Allow pre-release suffixes like 1.29.0-rc.1 or +k3s1.
        let digits: String = patch.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
    }
    Some(format!("{major}.{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_carries_1_29_to_newest_and_finds_deployment() {
        let b = get().unwrap();
        let versions: Vec<&str> = b.versions().collect();
        assert_eq!(versions.first(), Some(&"1.29"));
        assert!(versions.len() >= 9, "{versions:?}");
        let v = b.version("1.29").unwrap();
        assert_eq!(
            v.lookup("apps/v1", "Deployment"),
            Some("io.k8s.api.apps.v1.Deployment")
        );
        assert_eq!(v.lookup("v1", "Pod"), Some("io.k8s.api.core.v1.Pod"));
        assert!(v.lookup("extensions/v1beta1", "Deployment").is_none());
    }

    #[test]
    fn versions_normalize() {
        assert_eq!(normalize_version("1.29").as_deref(), Some("1.29"));
        assert_eq!(normalize_version("v1.30.2").as_deref(), Some("1.30"));
        assert_eq!(normalize_version("1.31.0+k3s1").as_deref(), Some("1.31"));
        assert_eq!(normalize_version("master"), None);
        assert_eq!(normalize_version("1"), None);
    }
}
