//! Chart files in memory: a packaged chart (`.tgz`) or a chart folder of the repository, read
//! into one map of relative path -> bytes, with bounds on sizes and counts. Nothing here
//! extracts to disk, and a folder is read without ever following a link out of the repository.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bounds for reading a chart (archives are untrusted input).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Total bytes of all files (after decompression).
    pub total_bytes: u64,
    /// Bytes of one file.
    pub file_bytes: u64,
    /// Number of files.
    pub files: usize,
    /// Nesting of packaged subcharts inside packaged charts.
    pub depth: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        // Helm's own defaults for a chart: 100 MiB decompressed, 5 MiB per file.
        Bounds {
            total_bytes: 100 * 1024 * 1024,
            file_bytes: 5 * 1024 * 1024,
            files: 20_000,
            depth: 5,
        }
    }
}

/// Files of one chart, by path relative to the chart's root (`Chart.yaml`, `templates/x.yaml`,
/// `charts/sub/Chart.yaml`, `charts/sub-1.0.0.tgz`).
pub type Files = BTreeMap<String, Vec<u8>>;

/// The files of a packaged chart. Helm packages hold one top folder (the chart's name); it is
/// removed from the paths. Links and other special entries are skipped.
pub fn read_tgz(bytes: &[u8], bounds: &Bounds) -> Result<Files, String> {
    let gz = flate2::read::GzDecoder::new(bytes);
    // The bound applies to the decompressed stream as a whole.
    let limited = gz.take(bounds.total_bytes.saturating_add(1));
    let mut archive = tar::Archive::new(limited);
    let mut files = Files::new();
    let mut total: u64 = 0;
    let entries = archive
        .entries()
        .map_err(|e| format!("not a chart archive (gzipped tar): {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("damaged chart archive: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("damaged chart archive: {e}"))?
            .to_string_lossy()
            .replace('\\', "/");
        let Some(relative) = strip_top_folder(&path) else {
            continue;
        };
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > bounds.file_bytes {
            return Err(format!(
                "`{relative}` in the chart archive is {size} bytes, over the {} byte bound",
                bounds.file_bytes
            ));
        }
        total = total.saturating_add(size);
        if total > bounds.total_bytes {
            return Err(format!(
                "the chart archive holds over {} bytes once decompressed",
                bounds.total_bytes
            ));
        }
        if files.len() >= bounds.files {
            return Err(format!(
                "the chart archive holds over {} files",
                bounds.files
            ));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(bounds.file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("damaged chart archive at `{relative}`: {e}"))?;
        files.insert(relative, data);
    }
    if files.is_empty() {
        return Err("the chart archive holds no files".into());
    }
    Ok(files)
}

/// `longhorn/templates/x.yaml` -> `templates/x.yaml`; entries at the top level, and paths
/// that would climb out (`..`), are not part of a chart.
fn strip_top_folder(path: &str) -> Option<String> {
    let path = path.trim_start_matches("./");
    let (_, rest) = path.split_once('/')?;
    if rest.is_empty() || rest.split('/').any(|p| p == ".." || p.is_empty()) {
        return None;
    }
    Some(rest.to_string())
}

/// A problem reading a chart folder of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderProblem {
    /// The path (relative to the chart folder) that was refused.
    pub path: String,
    pub reason: String,
}

/// The files of a chart folder inside the repository. A link is followed only when it resolves
/// inside `repo_root` (Helm itself follows links, so a chart with a link to `/etc/passwd`
/// would otherwise put that file into `.Files`); anything else is refused and reported.
pub fn read_folder(
    dir: &Path,
    repo_root: &Path,
    bounds: &Bounds,
) -> Result<(Files, Vec<FolderProblem>), String> {
    let root = repo_root
        .canonicalize()
        .map_err(|e| format!("cannot resolve the repository root: {e}"))?;
    let mut files = Files::new();
    let mut problems = Vec::new();
    let mut total = 0u64;
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(dir.to_path_buf(), String::new(), 0)];
    while let Some((folder, prefix, depth)) = stack.pop() {
        if depth > 32 {
            problems.push(FolderProblem {
                path: prefix,
                reason: "folders nested over 32 levels (a link loop?)".into(),
            });
            continue;
        }
        let mut entries: Vec<_> = std::fs::read_dir(&folder)
            .map_err(|e| format!("cannot list {}: {e}", folder.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            let resolved = match path.canonicalize() {
                Ok(p) => p,
                Err(e) => {
                    problems.push(FolderProblem {
                        path: relative,
                        reason: format!("cannot be resolved ({e})"),
                    });
                    continue;
                }
            };
            if !resolved.starts_with(&root) {
                problems.push(FolderProblem {
                    path: relative,
                    reason: "is a link to a file outside the repository".into(),
                });
                continue;
            }
            let meta = match std::fs::metadata(&resolved) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(FolderProblem {
                        path: relative,
                        reason: format!("cannot be read ({e})"),
                    });
                    continue;
                }
            };
            if meta.is_dir() {
                if name == ".git" {
                    continue;
                }
                stack.push((resolved, relative, depth + 1));
                continue;
            }
            if !meta.is_file() {
                problems.push(FolderProblem {
                    path: relative,
                    reason: "is not a regular file".into(),
                });
                continue;
            }
            if meta.len() > bounds.file_bytes {
                problems.push(FolderProblem {
                    path: relative,
                    reason: format!(
                        "is over the {} byte bound for a chart file",
                        bounds.file_bytes
                    ),
                });
                continue;
            }
            total += meta.len();
            if total > bounds.total_bytes || files.len() >= bounds.files {
                return Err(format!(
                    "the chart folder {} is over {} bytes or {} files",
                    dir.display(),
                    bounds.total_bytes,
                    bounds.files
                ));
            }
            let data = std::fs::File::open(&resolved)
                .and_then(|f| {
                    let mut data = Vec::new();
                    f.take(bounds.file_bytes + 1).read_to_end(&mut data)?;
                    Ok(data)
                })
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.insert(relative, data);
        }
    }
    Ok((files, problems))
}

/// Writes chart files under `dir` (a fresh private folder of ours) for helm to read.
pub fn write_folder(files: &Files, dir: &Path) -> std::io::Result<()> {
    for (relative, data) in files {
        if relative.split('/').any(|p| p == ".." || p.is_empty()) {
            continue;
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, data)?;
    }
    Ok(())
}

/// A `.tgz` of `files` under the top folder `name` (for `homelab charts` tests and for a repo
/// chart handed to helm as an archive).
pub fn write_tgz(files: &Files, name: &str) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    for (relative, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, format!("{name}/{relative}"), data.as_slice())?;
    }
    builder.into_inner()?.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Files {
        let mut files = Files::new();
        files.insert("Chart.yaml".into(), b"name: a\nversion: 1.0.0\n".to_vec());
        files.insert("templates/cm.yaml".into(), b"kind: ConfigMap\n".to_vec());
        files
    }

    #[test]
    fn archive_round_trip_strips_the_top_folder() {
        let tgz = write_tgz(&sample(), "a").unwrap();
        let files = read_tgz(&tgz, &Bounds::default()).unwrap();
        assert_eq!(files, sample());
    }

    #[test]
    fn archive_bounds_are_enforced() {
        let tgz = write_tgz(&sample(), "a").unwrap();
        let tight = Bounds {
            file_bytes: 5,
            ..Bounds::default()
        };
        assert!(read_tgz(&tgz, &tight).unwrap_err().contains("bound"));
        let few = Bounds {
            files: 1,
            ..Bounds::default()
        };
        assert!(read_tgz(&tgz, &few).unwrap_err().contains("files"));
        assert!(read_tgz(b"not gzip", &Bounds::default()).is_err());
    }

    #[test]
    fn climbing_paths_are_not_chart_files() {
        assert_eq!(strip_top_folder("a/../../etc/passwd"), None);
        assert_eq!(strip_top_folder("Chart.yaml"), None);
        assert_eq!(
            strip_top_folder("a/templates/x.yaml").as_deref(),
            Some("templates/x.yaml")
        );
    }

    #[cfg(unix)]
    #[test]
    fn folder_links_out_of_the_repository_are_refused() {
        let repo = tempfile::tempdir().unwrap();
        let chart = repo.path().join("charts/a");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), "name: a\n").unwrap();
        std::fs::write(repo.path().join("shared.txt"), "inside").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", chart.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(repo.path().join("shared.txt"), chart.join("ok.txt")).unwrap();
        let (files, problems) = read_folder(&chart, repo.path(), &Bounds::default()).unwrap();
        assert!(files.contains_key("Chart.yaml"));
        assert_eq!(files.get("ok.txt").map(Vec::as_slice), Some(&b"inside"[..]));
        assert!(!files.contains_key("leak.txt"));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "leak.txt");
    }
}
