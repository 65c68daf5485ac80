//! Expands the paths the user gave into the list of inputs to read: `-` is stdin, a file is read
//! whatever its extension, a folder is walked recursively (`.gitignore`-aware, hidden entries
//! and `.git` skipped, only `*.yaml`, `*.yml`, `*.json`, and the extensionless kustomization
//! file `Kustomization` that kustomize reads too). Also decides which files are Helm
//! chart templates (anything under `templates/` next to a `Chart.yaml`, and the chart's
//! `files/` that those templates read).
//!
//! A walked folder is untrusted (a pull request's checkout): the walk never follows a symbolic
//! link. A link to something inside the folder is skipped (its target is walked under its own
//! name); a link that leads out of it is a finding (`yaml/symlink-outside`: ArgoCD refuses such
//! repositories too), never read, so no host file can reach a report. FIFOs, sockets and
//! devices are never listed, and walked files are opened as regular files only.

use crate::kustomizations::is_kustomization_file;
use crate::read;
use crate::LoadOptions;
use homelab_diagnostics::{Diagnostic, Location};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One thing to read.
#[derive(Debug)]
pub(crate) enum Input {
    Stdin,
    File {
        path: PathBuf,
        name: String,
        /// Why the file is a template (read, listed with a note, not parsed as YAML).
        template: Option<&'static str>,
        /// Found by walking a folder (read as a regular file only, links not followed), as
        /// opposed to named by the user.
        walked: bool,
    },
    /// Another text file of a walked folder, read only as a source (`LoadOptions::text_files`).
    Text {
        path: PathBuf,
        name: String,
    },
    /// A path that could not be listed (missing, a symlink loop, unreadable folder).
    Failed(Diagnostic),
}

pub(crate) fn expand(paths: &[PathBuf], opts: &LoadOptions) -> Vec<Input> {
    let mut inputs = Vec::new();
    let mut seen = HashSet::new();
    let mut stdin_seen = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if !stdin_seen {
                stdin_seen = true;
                inputs.push(Input::Stdin);
            }
            continue;
        }
        let name = path.to_string_lossy().into_owned();
        match std::fs::metadata(path) {
            Err(err) => inputs.push(Input::Failed(read::io_error(&name, &err))),
            Ok(meta) if meta.is_dir() => {
                let mut found = Vec::new();
                let mut text = Vec::new();
                walk_folder(path, opts, &mut found, &mut text, &mut inputs);
                found.sort();
                text.sort();
                for file in found {
                    if seen.insert(file.clone()) {
                        inputs.push(file_input(file, true));
                    }
                }
                for file in text {
                    if seen.insert(file.clone()) {
                        inputs.push(Input::Text {
                            name: file.to_string_lossy().into_owned(),
                            path: file,
                        });
                    }
                }
            }
            Ok(_) => {
                if seen.insert(path.clone()) {
                    inputs.push(file_input(path.clone(), false));
                }
            }
        }
    }
    inputs
}

fn file_input(path: PathBuf, walked: bool) -> Input {
    let template = if is_helm_template(&path) {
        Some("it is under a Helm chart's templates/ folder")
    } else if is_helm_chart_file(&path) {
        Some("it is under a Helm chart's files/ folder, data the chart's templates read (`.Files`): what reaches a cluster is the rendered chart")
    } else if is_yaml_template(&path) {
        Some("it is a Jinja template of a YAML file (makejinja, Ansible, ...), rendered before anything applies it")
    } else if is_freemarker_template(&path) {
        Some("it is a FreeMarker template (`.ftl`) of a YAML file, rendered before anything applies it")
    } else {
        None
    };
    Input::File {
        name: path.to_string_lossy().into_owned(),
        template,
        path,
        walked,
    }
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        e.eq_ignore_ascii_case("yaml")
            || e.eq_ignore_ascii_case("yml")
            || e.eq_ignore_ascii_case("json")
    }) || is_yaml_template(path)
}

/// `x.yaml.j2`, `x.yml.jinja2`, `x.yaml.tpl.j2`: a YAML file behind a template engine.
fn is_yaml_template(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".j2", ".jinja", ".jinja2"]
        .iter()
        .any(|t| name.ends_with(t))
        && (name.contains(".yaml.") || name.contains(".yml."))
}

/// `x.ftl.yaml`, `x.ftl.yml`, `x.ftl.json`: FreeMarker's own extension, `.ftl`, before the
/// extension of what the template makes.
fn is_freemarker_template(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".ftl.yaml", ".ftl.yml", ".ftl.json"]
        .iter()
        .any(|t| name.ends_with(t))
}

fn walk_folder(
    root: &Path,
    opts: &LoadOptions,
    found: &mut Vec<PathBuf>,
    text: &mut Vec<PathBuf>,
    inputs: &mut Vec<Input>,
) {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(!opts.include_hidden)
        .git_ignore(opts.respect_gitignore)
        .git_exclude(opts.respect_gitignore)
        .ignore(opts.respect_gitignore)
        .parents(opts.respect_gitignore)
        // A user's global git excludes would make results differ between machines.
        .git_global(false)
        // `.gitignore` applies even outside a git repository (a copied folder, a tarball).
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        // Listing a big folder is mostly system calls (a directory read and ignore-file
        // lookups per folder): every core lists, and the lists are sorted afterwards.
        .build_parallel();
    let canonical_root = std::fs::canonicalize(root).ok();
    let listed = std::sync::Mutex::new(Listed::default());
    walker.run(|| {
        let canonical_root = canonical_root.as_deref();
        let listed = &listed;
        Box::new(move |entry| {
            let mut one = Listed::default();
            match entry {
                Ok(entry) => {
                    if entry.depth() > 0 && entry.path_is_symlink() {
                        one.failed
                            .extend(link_finding(canonical_root, entry.path()));
                    } else {
                        let is_file = entry.file_type().is_some_and(|t| t.is_file());
                        if is_file
                            && (has_manifest_extension(entry.path())
                                || (opts.kustomization_files
                                    && is_kustomization_file(entry.path())))
                        {
                            one.found.push(entry.into_path());
                        } else if is_file && opts.text_files {
                            one.text.push(entry.into_path());
                        }
                    }
                }
                Err(err) => one.failed.push(walk_error(root, &err)),
            }
            if !one.is_empty() {
                listed.lock().unwrap_or_else(|e| e.into_inner()).add(one);
            }
            ignore::WalkState::Continue
        })
    });
    let mut listed = listed.into_inner().unwrap_or_else(|e| e.into_inner());
    // Workers list in no fixed order: the findings are sorted by where they are.
    listed.failed.sort_by(|a, b| {
        let at = |d: &Diagnostic| d.location.as_ref().map(|l| l.file.clone());
        (at(a), &a.message).cmp(&(at(b), &b.message))
    });
    inputs.extend(listed.failed.into_iter().map(Input::Failed));
    found.append(&mut listed.found);
    text.append(&mut listed.text);
}

/// What workers of one folder walk found.
#[derive(Default)]
struct Listed {
    found: Vec<PathBuf>,
    text: Vec<PathBuf>,
    failed: Vec<Diagnostic>,
}

impl Listed {
    fn is_empty(&self) -> bool {
        self.found.is_empty() && self.text.is_empty() && self.failed.is_empty()
    }

    fn add(&mut self, mut other: Listed) {
        self.found.append(&mut other.found);
        self.text.append(&mut other.text);
        self.failed.append(&mut other.failed);
    }
}

/// What a symbolic link met while walking means: nothing when it stays inside the walked
/// folder (its target is walked under its own name), a finding when it leads out of it or
/// cannot be resolved. The link is never read through either way.
fn link_finding(canonical_root: Option<&Path>, link: &Path) -> Option<Diagnostic> {
    let name = link.to_string_lossy().into_owned();
    let target = std::fs::read_link(link)
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::canonicalize(link) {
        Ok(resolved) if canonical_root.is_some_and(|root| resolved.starts_with(root)) => None,
        Ok(_) => Some(
            Diagnostic::error(
                "yaml/symlink-outside",
                format!(
                    "symbolic link to `{target}`, outside the checked folder: not followed, not checked"
                ),
            )
            .at(Location::new(name, 1, 1))
            .with_help("replace the link with the file itself (ArgoCD also refuses repositories with links that lead out of them)"),
        ),
        Err(err) if read::is_symlink_loop(&err) => Some(
            Diagnostic::error(
                "yaml/symlink-loop",
                format!("symbolic link loop: `{target}` leads back to itself; not followed"),
            )
            .at(Location::new(name, 1, 1))
            .with_help("remove the link, or point it at a real file"),
        ),
        Err(_) => Some(
            Diagnostic::note(
                "load/broken-symlink",
                format!("symbolic link to `{target}`, which does not exist: nothing to check"),
            )
            .at(Location::new(name, 1, 1))
            .with_help("remove the link or restore its target"),
        ),
    }
}

/// The innermost error and the path it names.
fn walk_error(root: &Path, err: &ignore::Error) -> Diagnostic {
    let mut path: Option<PathBuf> = None;
    let mut e = err;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path.get_or_insert_with(|| p.clone());
                e = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                e = err
            }
            ignore::Error::Partial(errs) if !errs.is_empty() => e = &errs[0],
            _ => break,
        }
    }
    match e {
        ignore::Error::Loop { ancestor, child } => {
            let name = child.to_string_lossy().into_owned();
            Diagnostic::error(
                "yaml/symlink-loop",
                format!(
                    "symbolic link loop: `{}` leads back to `{}`; not followed",
                    child.display(),
                    ancestor.display()
                ),
            )
            .at(Location::new(name, 1, 1))
            .with_help("remove the link, or add it to .gitignore")
        }
        ignore::Error::Io(io) => {
            let name = path
                .as_deref()
                .unwrap_or(root)
                .to_string_lossy()
                .into_owned();
            read::io_error(&name, io)
        }
        other => {
            let name = path
                .as_deref()
                .unwrap_or(root)
                .to_string_lossy()
                .into_owned();
            Diagnostic::warning("yaml/unreadable", format!("while listing files: {other}"))
                .at(Location::new(name, 1, 1))
                .with_help("fix the ignore file, or pass the files explicitly")
        }
    }
}

/// A file below a `templates` folder whose parent holds `Chart.yaml` is a Helm template.
fn is_helm_template(path: &Path) -> bool {
    in_chart_folder(path, "templates")
}

/// A file below a chart's `files` folder (beside `Chart.yaml`) is data its templates read with
/// `.Files.Get` or `.Files.Glob` (often passed through `tpl` or merged as a patch): only the
/// rendered chart reaches a cluster.
fn is_helm_chart_file(path: &Path) -> bool {
    in_chart_folder(path, "files")
}

/// Whether `path` is below the folder `folder` of a Helm chart (a folder holding `Chart.yaml`).
fn in_chart_folder(path: &Path, folder: &str) -> bool {
    path.ancestors().skip(1).any(|dir| {
        dir.file_name().is_some_and(|n| n == folder)
            && dir
                .parent()
                .is_some_and(|chart| chart.join("Chart.yaml").is_file())
    })
}
