//! kubeconform-style `-schema-location`s: `default` (the embedded schemas), a folder, or a
//! path/URL template with `{{.Group}}`, `{{.ResourceKind}}`, `{{.ResourceAPIVersion}}`,
//! `{{.KindSuffix}}`, `{{.NormalizedKubernetesVersion}}` and `{{.StrictSuffix}}`.
//!
//! http(s) locations are fetched only because the user named them, and cached on disk
//! (`$XDG_CACHE_HOME/homelab/schemas`, or `-cache DIR`).
//!
//! The values substituted come from the documents, which are untrusted: an `apiVersion` or
//! `kind` that is not a valid Kubernetes name (`kind: ../../../root/.docker/config`) is never
//! put into a path or URL, and a local schema is read only if it is a regular file.

use std::path::{Path, PathBuf};

/// kubeconform's layout for a location given without a `.json` template.
const DEFAULT_TAIL: &str =
    "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaLocation {
    /// The schemas carried in the binary (Kubernetes + the catalog of upstream CRDs).
    Embedded,
    /// `default-kubernetes`: only the embedded Kubernetes schemas, without the CRD catalog
    /// (to pair the built-in kinds with another catalog, as kubeconform's `default` does).
    EmbeddedKubernetes,
    /// A path or URL template.
    Template(String),
}

impl SchemaLocation {
    pub fn parse(input: &str) -> SchemaLocation {
        if input == "default" {
            return SchemaLocation::Embedded;
        }
        if input == "default-kubernetes" {
            return SchemaLocation::EmbeddedKubernetes;
        }
        if input.ends_with("json") {
            SchemaLocation::Template(input.to_string())
        } else {
            SchemaLocation::Template(format!("{}{DEFAULT_TAIL}", input.trim_end_matches('/')))
        }
    }
}

/// Values substituted into a template.
pub struct TemplateData<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    /// Full Kubernetes version, e.g. `1.29.0` (`master` stays `master`).
    pub kubernetes_version: &'a str,
    pub strict: bool,
}

/// Whether `apiVersion` and `kind` are what Kubernetes allows (a kind is alphanumeric, a group
/// a DNS subdomain, a version alphanumeric), so that neither can steer a path or URL.
fn safe_names(api_version: &str, kind: &str) -> bool {
    let alnum = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let group_ok = group.split('.').all(|label| {
        label.is_empty() && group.is_empty()
            || (!label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    });
    alnum(kind) && alnum(version) && group_ok && group.len() <= 253
}

/// The largest schema file read from a local location.
const MAX_SCHEMA_BYTES: u64 = 64 * 1024 * 1024;

/// Renders a kubeconform template. Unknown placeholders are an error naming them.
pub fn render(template: &str, d: &TemplateData<'_>) -> Result<String, String> {
    if !safe_names(d.api_version, d.kind) {
        return Err(format!(
            "`{}` `{}` is not a valid apiVersion and kind: not looked up in schema location `{template}`",
            d.api_version.escape_debug(),
            d.kind.escape_debug()
        ));
    }
    let (group, version) = match d.api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => (d.api_version, d.api_version),
    };
    let first = group.split('.').next().unwrap_or(group).to_lowercase();
    let mut kind_suffix = format!("-{first}");
    if d.api_version.contains('/') {
        kind_suffix.push('-');
        kind_suffix.push_str(&version.to_lowercase());
    }
    let normalized = if d.kubernetes_version == "master" {
        "master".to_string()
    } else {
        format!("v{}", d.kubernetes_version.trim_start_matches('v'))
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed `{{{{` in schema location `{template}`"))?;
        let name = after[..end].trim().trim_start_matches('.');
        let value = match name {
            "Group" => group.to_string(),
            "ResourceKind" => d.kind.to_lowercase(),
            "ResourceAPIVersion" => version.to_string(),
            "KindSuffix" => kind_suffix.clone(),
            "NormalizedKubernetesVersion" => normalized.clone(),
            "StrictSuffix" => if d.strict { "-strict" } else { "" }.to_string(),
            other => {
                return Err(format!(
                    "unknown placeholder `{{{{ .{other} }}}}` in schema location `{template}`"
                ))
            }
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Result of reading one rendered location.
pub enum Fetched {
    Found(String, String),
    NotFound,
}

/// Reads a schema from a local path or an http(s) URL (through the on-disk cache).
pub fn fetch(target: &str, cache_dir: Option<&Path>, insecure: bool) -> Result<Fetched, String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return fetch_http(target, cache_dir, insecure);
    }
    let path = target.strip_prefix("file://").unwrap_or(target);
    match homelab_fs::read_regular(Path::new(path), MAX_SCHEMA_BYTES, true) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Fetched::Found(path.to_string(), text)),
            Err(_) => Err(format!("cannot read schema {path}: not UTF-8")),
        },
        Err(homelab_fs::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(Fetched::NotFound)
        }
        Err(e) => Err(format!("cannot read schema {path}: {e}")),
    }
}

/// `$XDG_CACHE_HOME/homelab/schemas` or `~/.cache/homelab/schemas`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("homelab").join("schemas"));
    }
    std::env::var_os("HOME").map(|h| {
        PathBuf::from(h)
            .join(".cache")
            .join("homelab")
            .join("schemas")
    })
}

fn cache_file(dir: &Path, url: &str) -> PathBuf {
    use sha2::Digest;
    dir.join(format!(
        "{}.json",
        hex::encode(sha2::Sha256::digest(url.as_bytes()))
    ))
}

fn fetch_http(url: &str, cache_dir: Option<&Path>, insecure: bool) -> Result<Fetched, String> {
    let dir = cache_dir.map(Path::to_path_buf).or_else(default_cache_dir);
    if let Some(dir) = &dir {
        if let Ok(text) = std::fs::read_to_string(cache_file(dir, url)) {
            return Ok(Fetched::Found(url.to_string(), text));
        }
    }
    let text = match http_get(url, insecure)? {
        Some(t) => t,
        None => return Ok(Fetched::NotFound),
    };
    if let Some(dir) = &dir {
        // A cache that cannot be written only costs a refetch next time.
        let _ = write_atomic(&cache_file(dir, url), text.as_bytes());
    }
    Ok(Fetched::Found(url.to_string(), text))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    homelab_fs::write_atomic(path, bytes, homelab_fs::Perms::KeepOr(0o644))
}

#[cfg(feature = "http")]
fn http_get(url: &str, insecure: bool) -> Result<Option<String>, String> {
    if insecure {
        // rustls offers no switch to skip verification without a custom verifier; say so
        // rather than silently verifying anyway.
        return Err(
            "-insecure-skip-tls-verify is not supported: fetch the schemas with another tool into a folder and use that folder as -schema-location".into(),
        );
    }
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(30))
        .build();
    match agent.get(url).call() {
        Ok(resp) => {
            let mut body = String::new();
            use std::io::Read;
            resp.into_reader()
                .take(64 * 1024 * 1024)
                .read_to_string(&mut body)
                .map_err(|e| format!("reading {url}: {e}"))?;
            Ok(Some(body))
        }
        Err(ureq::Error::Status(404, _)) => Ok(None),
        Err(ureq::Error::Status(code, _)) => Err(format!("GET {url}: HTTP {code}")),
        Err(e) => Err(format!("GET {url}: {e}")),
    }
}

#[cfg(not(feature = "http"))]
fn http_get(url: &str, _insecure: bool) -> Result<Option<String>, String> {
    Err(format!(
        "cannot fetch {url}: this homelab was built without the `http` feature; download the schemas into a folder and use that folder as -schema-location"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data<'a>(api: &'a str, kind: &'a str) -> TemplateData<'a> {
        TemplateData {
            api_version: api,
            kind,
            kubernetes_version: "1.29.0",
            strict: true,
        }
    }

    #[test]
    fn names_that_could_steer_a_path_are_refused() {
        for (api, kind) in [
            ("v1", "../../../root/.docker/config"),
            ("v1", "Config/../x"),
            ("../x/v1", "Pod"),
            ("apps/v1/../../x", "Deployment"),
            ("v1", ""),
            ("a..b/v1", "X"),
        ] {
            let err = render("/s/{{.ResourceKind}}{{.KindSuffix}}.json", &data(api, kind));
            assert!(err.is_err(), "{api} {kind}");
        }
        assert!(render(
            "/s/{{.ResourceKind}}.json",
            &data("cert-manager.io/v1", "Certificate")
        )
        .is_ok());
    }

    #[test]
    fn renders_kubeconform_placeholders() {
        let t = "s/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json";
        assert_eq!(
            render(t, &data("argoproj.io/v1alpha1", "Application")).unwrap(),
            "s/argoproj.io/application_v1alpha1.json"
        );
        let t = "x/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json";
        assert_eq!(
            render(t, &data("networking.k8s.io/v1", "Ingress")).unwrap(),
            "x/v1.29.0-standalone-strict/ingress-networking-v1.json"
        );
        assert_eq!(
            render("{{.ResourceKind}}{{.KindSuffix}}.json", &data("v1", "Pod")).unwrap(),
            "pod-v1.json"
        );
        assert!(render("{{.Nope}}", &data("v1", "Pod")).is_err());
    }

    #[test]
    fn location_without_json_gets_kubeconform_tail() {
        assert_eq!(SchemaLocation::parse("default"), SchemaLocation::Embedded);
        assert_eq!(
            SchemaLocation::parse("default-kubernetes"),
            SchemaLocation::EmbeddedKubernetes
        );
        assert_eq!(
            SchemaLocation::parse("/tmp/s/"),
            SchemaLocation::Template(format!("/tmp/s{DEFAULT_TAIL}"))
        );
    }

    #[test]
    fn http_locations_are_served_from_the_cache_without_network() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://schemas.invalid/argoproj.io/application_v1alpha1.json";
        std::fs::write(cache_file(dir.path(), url), r#"{"type": "object"}"#).unwrap();
        match fetch(url, Some(dir.path()), false).unwrap() {
            Fetched::Found(origin, text) => {
                assert_eq!(origin, url);
                assert!(text.contains("object"));
            }
            Fetched::NotFound => panic!("cache not used"),
        }
        // A local path that does not exist is "not found", so the next location is tried.
        assert!(matches!(
            fetch("/nonexistent/x.json", None, false).unwrap(),
            Fetched::NotFound
        ));
    }
}
