//! `homelab charts pull`: the pinned chart archives of every Helm source, fetched into the
//! repository's cache `.homelab/charts/<repository>/<name>-<version>.tgz` and recorded with
//! their digests in `.homelab/charts/lock.yaml`. The only network access of this crate, and
//! only when asked: from a local chart repository folder (`--charts DIR`) nothing is
//! downloaded at all.
//!
//! The cache folder is inside an untrusted repository: it is created without following links
//! (a `.homelab` that is a link to `/etc` is refused), and archives are checked to be charts
//! of the expected name before they are written.

use crate::archive::{self, Bounds};
use crate::chart::Chart;
use crate::digest::sha256_hex;
use crate::discover::{self, ChartRef};
use crate::helm::Helm;
use crate::store::{self, Lock, Locked, Lookup, RemoteChart, Store, CACHE_DIR, LOCK_FILE};
use homelab_manifest::Document;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What happened to one chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already in the cache with its locked digest.
    UpToDate {
        version: String,
    },
    /// Stored now.
    Pulled {
        version: String,
        from: String,
    },
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Pulled {
    pub chart: RemoteChart,
    pub outcome: Outcome,
}

/// Where to pull from.
pub struct Source<'a> {
    /// Local chart repositories to copy from (no network).
    pub local: &'a [PathBuf],
    /// helm, for network pulls; `None` = no network.
    pub helm: Option<&'a Helm>,
}

/// The remote charts a repository needs: every remote Helm source, and the dependencies of
/// its own charts that are not vendored.
pub fn wanted(documents: &[Document], root: &Path) -> Vec<RemoteChart> {
    let found = discover::discover(documents, Some(root));
    let mut out: Vec<RemoteChart> = Vec::new();
    for source in &found.sources {
        match &source.chart {
            ChartRef::Remote(r) => out.push(r.clone()),
            ChartRef::Local(dir) => {
                let Ok(path) = crate::paths::confine(root, if dir.is_empty() { "." } else { dir })
                else {
                    continue;
                };
                let Ok((files, _)) = archive::read_folder(&path, root, &Bounds::default()) else {
                    continue;
                };
                let Ok(chart) = Chart::from_files(files, &Bounds::default()) else {
                    continue;
                };
                for dep in chart
                    .metadata
                    .get("dependencies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = dep.get("name").and_then(Value::as_str).unwrap_or("");
                    let repository = dep.get("repository").and_then(Value::as_str).unwrap_or("");
                    let version = dep.get("version").and_then(Value::as_str).unwrap_or("*");
                    if name.is_empty() || repository.is_empty() || repository.starts_with("file://")
                    {
                        continue;
                    }
                    if chart.subcharts.iter().any(|(_, c)| c.name == name) {
                        continue;
                    }
                    out.push(RemoteChart {
                        repository: repository.to_string(),
                        name: name.to_string(),
                        version: version.to_string(),
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A name or version that can go on helm's command line as one positional value.
fn safe_argument(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '.' | '-' | '_' | '+' | '^' | '~' | '*' | '<' | '>' | '=' | ' ' | ',' | '|'
                )
        })
}

/// Pulls every chart of `wanted` into the repository's cache and rewrites the lock.
pub fn pull(root: &Path, wanted: &[RemoteChart], from: &Source) -> Result<Vec<Pulled>, String> {
    // Every write goes through the tree: no link on the way is followed.
    let tree = homelab_fs::Tree::open(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let mut lock = Lock::read(root)?;
    let local = Store {
        repositories: from
            .local
            .iter()
            .map(|d| store::LocalRepository::open(d))
            .collect::<Result<_, _>>()?,
        cache: None,
    };
    let cached = if root.join(CACHE_DIR).is_dir() {
        Store::open(&[], Some(root))?
    } else {
        Store::default()
    };
    let mut results = Vec::new();
    for chart in wanted {
        // Already there and verified?
        if let Lookup::Found(a) = cached.find(chart) {
            results.push(Pulled {
                chart: chart.clone(),
                outcome: Outcome::UpToDate { version: a.version },
            });
            continue;
        }
        let fetched = if !from.local.is_empty() {
            match local.find(chart) {
                Lookup::Found(a) => Ok((a.bytes, a.origin)),
                Lookup::Missing { available } => Err(format!(
                    "not in {} (versions there: {})",
                    local.searched(),
                    if available.is_empty() {
                        "none".to_string()
                    } else {
                        available.join(", ")
                    }
                )),
                Lookup::Bad(e) => Err(e),
            }
        } else if let Some(helm) = from.helm {
            fetch(helm, chart)
        } else {
            Err("no source to pull from (give --charts DIR, or allow the network)".into())
        };
        let outcome = match fetched
            .and_then(|(bytes, origin)| store_archive(&tree, chart, bytes, &origin, &mut lock))
        {
            Ok(o) => o,
            Err(e) => Outcome::Failed(e),
        };
        results.push(Pulled {
            chart: chart.clone(),
            outcome,
        });
    }
    let rel = tree.rel(LOCK_FILE).map_err(|e| e.to_string())?;
    tree.write(&rel, lock.to_yaml().as_bytes(), 0o644)
        .map_err(|e| format!("cannot write {LOCK_FILE}: {e}"))?;
    Ok(results)
}

fn store_archive(
    tree: &homelab_fs::Tree,
    chart: &RemoteChart,
    bytes: Vec<u8>,
    origin: &str,
    lock: &mut Lock,
) -> Result<Outcome, String> {
    let bounds = Bounds::default();
    let files = archive::read_tgz(&bytes, &bounds)?;
    let parsed = Chart::from_files(files, &bounds)?;
    if parsed.name != chart.name {
        return Err(format!(
            "the archive holds chart `{}`, not `{}`",
            parsed.name, chart.name
        ));
    }
    let version = parsed.version.clone();
    if !safe_argument(&version) || version.contains(['/', ' ']) {
        return Err(format!(
            "the archive's version `{version}` is not a usable file name"
        ));
    }
    let folder_name = store::cache_folder(&chart.repository);
    let file = format!("{}-{version}.tgz", chart.name);
    let rel = tree
        .rel(&format!("{CACHE_DIR}/{folder_name}/{file}"))
        .map_err(|e| e.to_string())?;
    tree.write(&rel, &bytes, 0o644)
        .map_err(|e| format!("cannot write {file}: {e}"))?;
    let digest = sha256_hex(&bytes);
    lock.charts.retain(|c| {
        !(store::same_repository(&c.repository, &chart.repository)
            && c.name == chart.name
            && c.version == version)
    });
    lock.charts.push(Locked {
        repository: chart.repository.clone(),
        name: chart.name.clone(),
        version: version.clone(),
        file: format!("{folder_name}/{file}"),
        digest,
    });
    Ok(Outcome::Pulled {
        version,
        from: origin.to_string(),
    })
}

/// Downloads one chart with `helm pull` (network).
fn fetch(helm: &Helm, chart: &RemoteChart) -> Result<(Vec<u8>, String), String> {
    if !safe_argument(&chart.name) || !safe_argument(&chart.version) || chart.name.contains(' ') {
        return Err(format!(
            "refused chart name or version `{} {}`",
            chart.name, chart.version
        ));
    }
    let repo = chart.repository.trim().trim_end_matches('/');
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dest = home.path().join("out");
    std::fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
    let mut args: Vec<std::ffi::OsString> = vec!["pull".into()];
    if chart.is_oci() {
        let host_path = repo.trim_start_matches("oci://");
        if host_path.contains("://") {
            return Err(format!(
                "refused repository URL `{repo}` (https, http or oci only)"
            ));
        }
        args.push(format!("oci://{host_path}/{}", chart.name).into());
    } else {
        args.push("--repo".into());
        args.push(repo.into());
        args.push("--".into());
        args.push(chart.name.clone().into());
    }
    if chart.version != "*" {
        args.push(format!("--version={}", chart.version).into());
    }
    args.push("--destination".into());
    args.push(dest.clone().into_os_string());
    let work = home.path().join("home");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    helm.run(&args, &work, true).map_err(|e| e.to_string())?;
    let archive = std::fs::read_dir(&dest)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("helm pull wrote no archive")?;
    let bytes = store::read_archive(&archive)?;
    Ok((bytes, repo.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_arguments_are_plain_values() {
        assert!(safe_argument("longhorn"));
        assert!(safe_argument("^1.2"));
        assert!(!safe_argument("--post-renderer=x"));
        assert!(!safe_argument("a/b"));
        assert!(!safe_argument(""));
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_folder_never_follows_links() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join(".homelab")).unwrap();
        let charts = tempfile::tempdir().unwrap();
        let mut files = archive::Files::new();
        files.insert(
            "Chart.yaml".into(),
            b"apiVersion: v2\nname: app\nversion: 1.0.0\n".to_vec(),
        );
        let tgz = archive::write_tgz(&files, "app").unwrap();
        std::fs::write(charts.path().join("app-1.0.0.tgz"), &tgz).unwrap();
        std::fs::write(
            charts.path().join("index.yaml"),
            "entries:\n  app:\n    - version: 1.0.0\n",
        )
        .unwrap();
        let local = [charts.path().to_path_buf()];
        let chart = RemoteChart {
            repository: "https://charts.example".into(),
            name: "app".into(),
            version: "1.0.0".into(),
        };
        let source = Source {
            local: &local,
            helm: None,
        };
        let refused = match pull(root.path(), &[chart], &source) {
            Err(e) => e.contains("link"),
            Ok(r) => matches!(&r[0].outcome, Outcome::Failed(_)),
        };
        assert!(refused);
        assert!(std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none());
    }

    #[test]
    fn pulls_from_a_local_repository_and_locks_the_digest() {
        let repo = tempfile::tempdir().unwrap();
        let charts = tempfile::tempdir().unwrap();
        let mut files = archive::Files::new();
        files.insert(
            "Chart.yaml".into(),
            b"apiVersion: v2\nname: app\nversion: 1.0.0\n".to_vec(),
        );
        let tgz = archive::write_tgz(&files, "app").unwrap();
        std::fs::write(charts.path().join("app-1.0.0.tgz"), &tgz).unwrap();
        std::fs::write(
            charts.path().join("index.yaml"),
            format!("apiVersion: v1\nentries:\n  app:\n    - version: 1.0.0\n      digest: {}\n      urls: [app-1.0.0.tgz]\n", sha256_hex(&tgz)),
        )
        .unwrap();
        let chart = RemoteChart {
            repository: "https://charts.example".into(),
            name: "app".into(),
            version: "1.0.0".into(),
        };
        let local = [charts.path().to_path_buf()];
        let source = Source {
            local: &local,
            helm: None,
        };
        let first = pull(repo.path(), std::slice::from_ref(&chart), &source).unwrap();
        assert!(matches!(&first[0].outcome, Outcome::Pulled { version, .. } if version == "1.0.0"));
        assert!(repo
            .path()
            .join(".homelab/charts/charts.example/app-1.0.0.tgz")
            .is_file());
        let lock = Lock::read(repo.path()).unwrap();
        assert_eq!(lock.charts[0].digest, sha256_hex(&tgz));
        let second = pull(repo.path(), std::slice::from_ref(&chart), &source).unwrap();
        assert!(matches!(&second[0].outcome, Outcome::UpToDate { .. }));
        // Offline from the cache alone now.
        let store = Store::open(&[], Some(repo.path())).unwrap();
        assert!(matches!(store.find(&chart), Lookup::Found(_)));
    }
}
