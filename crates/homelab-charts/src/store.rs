//! Where chart archives come from, offline: local chart repository folders (`--charts DIR`,
//! a folder with Helm's `index.yaml`, as `helm repo index` writes it) and the repository's own
//! chart cache `.homelab/charts/` that `homelab charts pull` fills, with its lock of digests
//! (`.homelab/charts/lock.yaml`). Every archive is checked against the digest its index or
//! lock records before it is used.

use crate::chart::parse_yaml;
use crate::digest::sha256_hex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest chart archive read.
pub const MAX_ARCHIVE_BYTES: u64 = 64 * 1024 * 1024;

/// The cache folder inside a repository, and its lock.
pub const CACHE_DIR: &str = ".homelab/charts";
pub const LOCK_FILE: &str = ".homelab/charts/lock.yaml";

/// A chart in a chart repository: where, what, which version (as the source pins it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RemoteChart {
    /// `https://charts.longhorn.io`, `oci://ghcr.io/org/charts`, or an OCI registry path
    /// without scheme (ArgoCD's form).
    pub repository: String,
    pub name: String,
    /// A version or a constraint (`1.7.2`, `v1.16.2`, `^1.2`, `*`).
    pub version: String,
}

impl RemoteChart {
    pub fn label(&self) -> String {
        format!("{} {} from {}", self.name, self.version, self.repository)
    }

    pub fn is_oci(&self) -> bool {
        self.repository.starts_with("oci://")
            || !(self.repository.starts_with("https://") || self.repository.starts_with("http://"))
    }
}

/// A chart archive found, read and verified.
#[derive(Debug, Clone)]
pub struct Archive {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// sha256 hex of the archive.
    pub digest: String,
    /// The version found (a constraint resolves to one).
    pub version: String,
    /// Where it was found, for messages (`--charts ../charts`, `.homelab/charts`).
    pub origin: String,
}

/// The result of looking a chart up.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Archive),
    /// Not in any store; the versions that are there, for the hint.
    Missing {
        available: Vec<String>,
    },
    /// Found, but unusable (digest mismatch, unreadable): a clear error, never a silent skip.
    Bad(String),
}

#[derive(Debug, Clone)]
struct Entry {
    version: String,
    digest: Option<String>,
    file: PathBuf,
}

/// One local chart repository folder.
#[derive(Debug, Clone)]
pub struct LocalRepository {
    pub dir: PathBuf,
    entries: BTreeMap<String, Vec<Entry>>,
}

impl LocalRepository {
    /// Reads `dir/index.yaml`. Archives named in it must lie in the folder itself.
    pub fn open(dir: &Path) -> Result<LocalRepository, String> {
        let index = dir.join("index.yaml");
        let text = std::fs::read_to_string(&index)
            .map_err(|e| format!("{}: {e} (a chart repository folder has an index.yaml; make one with `helm repo index DIR`)", index.display()))?;
        let value = parse_yaml(&index.to_string_lossy(), &text)
            .map_err(|e| format!("{}: {e}", index.display()))?;
        let mut entries: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        if let Some(map) = value.get("entries").and_then(Value::as_object) {
            for (name, list) in map {
                for item in list.as_array().into_iter().flatten() {
                    let Some(version) = item.get("version").and_then(scalar) else {
                        continue;
                    };
                    let file = item
                        .get("urls")
                        .and_then(Value::as_array)
                        .and_then(|u| u.first())
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{name}-{version}.tgz"));
                    // Only a plain file name in this folder (no URL, no path).
                    let file_name = file.rsplit('/').next().unwrap_or(&file).to_string();
                    if file_name.is_empty() || file_name == ".." {
                        continue;
                    }
                    entries.entry(name.clone()).or_default().push(Entry {
                        version,
                        digest: item
                            .get("digest")
                            .and_then(scalar)
                            .map(|d| d.trim_start_matches("sha256:").to_lowercase()),
                        file: dir.join(file_name),
                    });
                }
            }
        }
        Ok(LocalRepository {
            dir: dir.to_path_buf(),
            entries,
        })
    }

    fn versions(&self, name: &str) -> Vec<&Entry> {
        self.entries
            .get(name)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }
}

/// One entry of the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub repository: String,
    pub name: String,
    pub version: String,
    /// Path under `.homelab/charts/`.
    pub file: String,
    pub digest: String,
}

/// `.homelab/charts/lock.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    pub charts: Vec<Locked>,
}

impl Lock {
    pub fn read(root: &Path) -> Result<Lock, String> {
        if root.join(CACHE_DIR).exists() && !real_folders(root, CACHE_DIR) {
            return Err(format!(
                "{CACHE_DIR} (or .homelab) is a link: the chart cache must be a real folder inside the repository"
            ));
        }
        let path = root.join(LOCK_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lock::default()),
            Err(e) => return Err(format!("{LOCK_FILE}: {e}")),
        };
        let value = parse_yaml(LOCK_FILE, &text).map_err(|e| format!("{LOCK_FILE}: {e}"))?;
        let mut lock = Lock::default();
        for item in value
            .get("charts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| item.get(k).and_then(scalar).unwrap_or_default();
            lock.charts.push(Locked {
                repository: field("repository"),
                name: field("name"),
                version: field("version"),
                file: field("file"),
                digest: field("digest").trim_start_matches("sha256:").to_string(),
            });
        }
        Ok(lock)
    }

    /// The lock as YAML (sorted, so that it diffs well).
    pub fn to_yaml(&self) -> String {
        let mut charts = self.charts.clone();
        charts.sort_by(|a, b| {
            (&a.repository, &a.name, &a.version).cmp(&(&b.repository, &b.name, &b.version))
        });
        let mut out = String::from(
            "# Chart archives in .homelab/charts/, written by `homelab charts pull`.\n\
             # `homelab check` renders from them offline and refuses an archive whose digest differs.\n\
             charts:\n",
        );
        for c in &charts {
            out.push_str(&format!(
                "  - repository: {}\n    name: {}\n    version: {}\n    file: {}\n    digest: sha256:{}\n",
                quote(&c.repository),
                quote(&c.name),
                quote(&c.version),
                quote(&c.file),
                c.digest
            ));
        }
        if charts.is_empty() {
            out = out.replace("charts:\n", "charts: []\n");
        }
        out
    }

    pub fn find(&self, chart: &RemoteChart, version: &str) -> Option<&Locked> {
        self.charts.iter().find(|c| {
            same_repository(&c.repository, &chart.repository)
                && c.name == chart.name
                && c.version == version
        })
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn same_repository(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .trim_end_matches('/')
            .trim_start_matches("oci://")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// The folder of a repository in the cache: `https://charts.longhorn.io` ->
/// `charts.longhorn.io`, `oci://ghcr.io/a/b` -> `ghcr.io/a/b`. Only safe characters.
pub fn cache_folder(repository: &str) -> String {
    let s = repository.trim().trim_end_matches('/');
    let s = s.split_once("://").map(|(_, rest)| rest).unwrap_or(s);
    let parts: Vec<String> = s
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .filter(|p| !p.chars().all(|c| c == '.'))
        .collect();
    if parts.is_empty() {
        "_".into()
    } else {
        parts.join("/")
    }
}

/// A version string for comparisons (`v1.2.3` -> 1.2.3).
fn parse_version(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v.trim().trim_start_matches('v')).ok()
}

/// Whether `candidate` satisfies the pinned `wanted` (an exact version, or a Helm-style
/// constraint).
pub fn version_matches(wanted: &str, candidate: &str) -> bool {
    let wanted = wanted.trim();
    if wanted == candidate {
        return true;
    }
    if let (Some(a), Some(b)) = (parse_version(wanted), parse_version(candidate)) {
        return a == b;
    }
    if wanted.is_empty() || wanted == "*" {
        return parse_version(candidate).is_some_and(|v| v.pre.is_empty());
    }
    // Helm (Masterminds) constraints: `>=1.0 <2.0` means AND; the semver crate wants commas.
    let normalised = wanted
        .split(',')
        .flat_map(|part| part.split_whitespace())
        .map(|p| {
            p.trim_start_matches('v')
                .replace(">=v", ">=")
                .replace("^v", "^")
                .replace("~v", "~")
        })
        .collect::<Vec<_>>();
    let mut joined = Vec::new();
    let mut i = 0;
    while i < normalised.len() {
        // `>= 1.0` written with a space.
        if matches!(
            normalised[i].as_str(),
            ">=" | "<=" | ">" | "<" | "=" | "^" | "~"
        ) && i + 1 < normalised.len()
        {
            joined.push(format!("{}{}", normalised[i], normalised[i + 1]));
            i += 2;
        } else {
            joined.push(normalised[i].clone());
            i += 1;
        }
    }
    match (
        semver::VersionReq::parse(&joined.join(", ")),
        parse_version(candidate),
    ) {
        (Ok(req), Some(v)) => req.matches(&v),
        _ => false,
    }
}

/// Every place archives are looked up, in order: `--charts` folders, then the cache.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub repositories: Vec<LocalRepository>,
    /// The repository's `.homelab/charts/` folder (when it exists) and its lock.
    pub cache: Option<(PathBuf, Lock)>,
}

impl Store {
    /// Opens the `--charts` folders and the repository's cache.
    pub fn open(chart_dirs: &[PathBuf], root: Option<&Path>) -> Result<Store, String> {
        let repositories = chart_dirs
            .iter()
            .map(|d| LocalRepository::open(d))
            .collect::<Result<Vec<_>, _>>()?;
        let cache = match root {
            Some(root) if root.join(CACHE_DIR).is_dir() => {
                if !real_folders(root, CACHE_DIR) {
                    return Err(format!(
                        "{CACHE_DIR} (or .homelab) is a link: the chart cache must be a real folder inside the repository"
                    ));
                }
                Some((root.join(CACHE_DIR), Lock::read(root)?))
            }
            _ => None,
        };
        Ok(Store {
            repositories,
            cache,
        })
    }

    /// Whether any store is configured (`--charts` or a cache folder).
    pub fn is_configured(&self) -> bool {
        !self.repositories.is_empty() || self.cache.is_some()
    }

    /// Where the chart was looked for, for the "missing" message.
    pub fn searched(&self) -> String {
        let mut places: Vec<String> = self
            .repositories
            .iter()
            .map(|r| format!("--charts {}", r.dir.display()))
            .collect();
        if self.cache.is_some() {
            places.push(CACHE_DIR.to_string());
        }
        if places.is_empty() {
            // Nothing to search: say where charts would come from.
            return format!("no --charts folder and no {CACHE_DIR}");
        }
        places.join(", ")
    }

    /// Finds, reads and verifies the archive of `chart`.
    pub fn find(&self, chart: &RemoteChart) -> Lookup {
        let mut available = Vec::new();
        for repo in &self.repositories {
            let mut candidates: Vec<&Entry> = repo
                .versions(&chart.name)
                .into_iter()
                .filter(|e| version_matches(&chart.version, &e.version))
                .collect();
            available.extend(repo.versions(&chart.name).iter().map(|e| e.version.clone()));
            candidates.sort_by(|a, b| {
                match (parse_version(&a.version), parse_version(&b.version)) {
                    (Some(x), Some(y)) => y.cmp(&x),
                    _ => b.version.cmp(&a.version),
                }
            });
            if let Some(entry) = candidates.first() {
                let origin = format!("--charts {}", repo.dir.display());
                return match read_archive(&entry.file) {
                    Ok(bytes) => {
                        let digest = sha256_hex(&bytes);
                        match &entry.digest {
                            Some(expected) if *expected != digest => Lookup::Bad(format!(
                                "{} does not match the digest in {}/index.yaml (sha256:{expected}, the file has sha256:{digest}): the archive was changed or damaged",
                                entry.file.display(),
                                repo.dir.display()
                            )),
                            _ => Lookup::Found(Archive {
                                path: entry.file.clone(),
                                bytes,
                                digest,
                                version: entry.version.clone(),
                                origin,
                            }),
                        }
                    }
                    Err(e) => Lookup::Bad(e),
                };
            }
        }
        if let Some((dir, lock)) = &self.cache {
            let sub = cache_folder(&chart.repository);
            // A link in the cache is never followed: the chart counts as missing.
            let folder = real_folders(dir, &sub).then(|| dir.join(sub));
            let mut versions: Vec<(String, PathBuf)> = Vec::new();
            if let Some(Ok(list)) = folder.map(std::fs::read_dir) {
                let prefix = format!("{}-", chart.name);
                for entry in list.filter_map(Result::ok) {
                    let file = entry.file_name().to_string_lossy().into_owned();
                    let Some(version) = file
                        .strip_prefix(&prefix)
                        .and_then(|r| r.strip_suffix(".tgz"))
                    else {
                        continue;
                    };
                    // `name-x-1.0.0.tgz` is another chart than `name`.
                    if !version.starts_with(|c: char| c.is_ascii_digit() || c == 'v') {
                        continue;
                    }
                    versions.push((version.to_string(), entry.path()));
                }
            }
            available.extend(versions.iter().map(|(v, _)| v.clone()));
            versions.retain(|(v, _)| version_matches(&chart.version, v));
            versions.sort_by(|a, b| match (parse_version(&a.0), parse_version(&b.0)) {
                (Some(x), Some(y)) => y.cmp(&x),
                _ => b.0.cmp(&a.0),
            });
            if let Some((version, path)) = versions.into_iter().next() {
                let meta = std::fs::symlink_metadata(&path);
                if !meta.as_ref().is_ok_and(|m| m.file_type().is_file()) {
                    return Lookup::Bad(format!(
                        "{} is not a regular file (a link in the chart cache is refused)",
                        path.display()
                    ));
                }
                return match read_archive(&path) {
                    Ok(bytes) => {
                        let digest = sha256_hex(&bytes);
                        match lock.find(chart, &version) {
                            Some(locked) if locked.digest != digest => Lookup::Bad(format!(
                                "{} does not match its digest in {LOCK_FILE} (sha256:{}, the file has sha256:{digest}): the archive was changed or damaged; run `homelab charts pull` again",
                                path.display(),
                                locked.digest
                            )),
                            None => Lookup::Bad(format!(
                                "{} is not in {LOCK_FILE}: run `homelab charts pull` to record its digest",
                                path.display()
                            )),
                            Some(_) => Lookup::Found(Archive {
                                path,
                                bytes,
                                digest,
                                version,
                                origin: CACHE_DIR.to_string(),
                            }),
                        }
                    }
                    Err(e) => Lookup::Bad(e),
                };
            }
        }
        available.sort();
        available.dedup();
        Lookup::Missing { available }
    }
}

/// Whether every component of `relative` under `base` is a real folder (no link).
pub fn real_folders(base: &Path, relative: &str) -> bool {
    let mut path = base.to_path_buf();
    for part in relative.split('/').filter(|p| !p.is_empty()) {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            _ => return false,
        }
    }
    true
}

/// Reads an archive file with the size bound.
pub fn read_archive(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() > MAX_ARCHIVE_BYTES {
        return Err(format!(
            "{} is {} bytes, over the {MAX_ARCHIVE_BYTES} byte bound of a chart archive",
            path.display(),
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ARCHIVE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_constraints() {
        assert!(version_matches("1.7.2", "1.7.2"));
        assert!(version_matches("v1.16.2", "1.16.2"));
        assert!(version_matches("1.16.2", "v1.16.2"));
        assert!(!version_matches("1.7.2", "1.7.3"));
        assert!(version_matches("^1.2", "1.9.0"));
        assert!(!version_matches("^1.2", "2.0.0"));
        assert!(version_matches(">=1.0 <2.0", "1.5.0"));
        assert!(version_matches(">= 1.0, < 2.0", "1.5.0"));
        assert!(version_matches("*", "3.0.0"));
        assert!(!version_matches("*", "3.0.0-rc.1"));
        assert!(version_matches("1.x", "1.4.0"));
    }

    #[test]
    fn an_empty_store_says_where_charts_would_come_from() {
        let store = Store::open(&[], None).unwrap();
        assert!(!store.is_configured());
        assert_eq!(
            store.searched(),
            "no --charts folder and no .homelab/charts"
        );
    }

    #[test]
    fn cache_folders_are_safe_names() {
        assert_eq!(
            cache_folder("https://charts.longhorn.io/"),
            "charts.longhorn.io"
        );
        assert_eq!(
            cache_folder("oci://ghcr.io/Actions/charts"),
            "ghcr.io/actions/charts"
        );
        assert_eq!(cache_folder("https://x/../../etc"), "x/etc");
        assert_eq!(cache_folder("https://a b/c?d"), "a_b/c_d");
        assert_eq!(cache_folder(""), "_");
    }

    #[test]
    fn lock_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock {
            charts: vec![Locked {
                repository: "https://charts.example".into(),
                name: "app".into(),
                version: "1.0.0".into(),
                file: "charts.example/app-1.0.0.tgz".into(),
                digest: "ab".repeat(32),
            }],
        };
        std::fs::create_dir_all(dir.path().join(CACHE_DIR)).unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), lock.to_yaml()).unwrap();
        assert_eq!(Lock::read(dir.path()).unwrap(), lock);
        assert_eq!(
            Lock::read(tempfile::tempdir().unwrap().path()).unwrap(),
            Lock::default()
        );
    }

    fn repo_with(dir: &Path, name: &str, version: &str, bytes: &[u8], digest: &str) {
        std::fs::write(dir.join(format!("{name}-{version}.tgz")), bytes).unwrap();
        std::fs::write(
            dir.join("index.yaml"),
            format!("apiVersion: v1\nentries:\n  {name}:\n    - name: {name}\n      version: {version}\n      digest: {digest}\n      urls:\n        - {name}-{version}.tgz\n"),
        )
        .unwrap();
    }

    #[test]
    fn local_repositories_verify_digests() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"pretend archive";
        repo_with(dir.path(), "app", "1.0.0", bytes, &sha256_hex(bytes));
        let store = Store::open(&[dir.path().to_path_buf()], None).unwrap();
        let chart = |v: &str| RemoteChart {
            repository: "https://charts.example".into(),
            name: "app".into(),
            version: v.into(),
        };
        assert!(matches!(store.find(&chart("1.0.0")), Lookup::Found(a) if a.bytes == bytes));
        match store.find(&chart("2.0.0")) {
            Lookup::Missing { available } => assert_eq!(available, vec!["1.0.0".to_string()]),
            other => panic!("{other:?}"),
        }
        repo_with(dir.path(), "app", "1.0.0", bytes, &"ab".repeat(32));
        let store = Store::open(&[dir.path().to_path_buf()], None).unwrap();
        assert!(matches!(store.find(&chart("1.0.0")), Lookup::Bad(e) if e.contains("digest")));
    }

    #[test]
    fn the_cache_needs_the_lock() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join(CACHE_DIR).join("charts.example");
        std::fs::create_dir_all(&folder).unwrap();
        let bytes = b"archive";
        std::fs::write(folder.join("app-1.0.0.tgz"), bytes).unwrap();
        let chart = RemoteChart {
            repository: "https://charts.example".into(),
            name: "app".into(),
            version: "1.0.0".into(),
        };
        let store = Store::open(&[], Some(root.path())).unwrap();
        assert!(matches!(store.find(&chart), Lookup::Bad(e) if e.contains("not in")));
        let lock = Lock {
            charts: vec![Locked {
                repository: chart.repository.clone(),
                name: "app".into(),
                version: "1.0.0".into(),
                file: "charts.example/app-1.0.0.tgz".into(),
                digest: sha256_hex(bytes),
            }],
        };
        std::fs::write(root.path().join(LOCK_FILE), lock.to_yaml()).unwrap();
        let store = Store::open(&[], Some(root.path())).unwrap();
        assert!(matches!(store.find(&chart), Lookup::Found(_)));
        std::fs::write(folder.join("app-1.0.0.tgz"), b"changed").unwrap();
        assert!(matches!(store.find(&chart), Lookup::Bad(e) if e.contains("digest")));
    }
}
