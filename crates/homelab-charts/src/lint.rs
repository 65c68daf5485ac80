//! `homelab charts lint`: what `ct lint` and `helm lint` check on a repository's own charts,
//! apart from rendering (which the command does with [`crate::render`]): `Chart.yaml` fields,
//! the chart's name against its folder, SemVer versions, the version bump against the default
//! branch when git is present, and the README in sync with the chart.
//!
//! Git is asked only plumbing questions (`rev-parse`, `ls-tree`, `cat-file`) with hooks and
//! fsmonitor switched off, and working-tree files are hashed here, never by git: a
//! repository's own git configuration (filters, diff drivers) must not run anything.

use crate::chart::Chart;
use crate::readme;
use homelab_diagnostics::{Diagnostic, Location};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// Findings on one chart folder (`dir` relative to `root`, `display` as findings name it).
pub fn lint_metadata(chart: &Chart, dir: &str, display: &str) -> Vec<Diagnostic> {
    let chart_yaml = format!("{}/Chart.yaml", display.trim_end_matches('/'));
    let (docs, _) = homelab_manifest::parse_str(
        &chart_yaml,
        &String::from_utf8_lossy(
            chart
                .files
                .get("Chart.yaml")
                .map(Vec::as_slice)
                .unwrap_or_default(),
        ),
    );
    let at = |pointer: &str| {
        docs.first()
            .map(|d| d.location(pointer))
            .unwrap_or_else(|| Location::new(chart_yaml.clone(), 1, 1))
    };
    let mut out = Vec::new();
    let meta = &chart.metadata;
    let text = |k: &str| match meta.get(k) {
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match text("apiVersion").as_deref() {
        Some("v2") => {}
        Some("v1") => out.push(
            Diagnostic::warning(
                "chart-lint/api-version",
                "Chart.yaml `apiVersion: v1` is Helm 2's format",
            )
            .at(at("/apiVersion"))
            .with_help(
                "use `apiVersion: v2` (dependencies move from requirements.yaml into Chart.yaml)",
            ),
        ),
        _ => out.push(
            Diagnostic::error(
                "chart-lint/api-version",
                "Chart.yaml has no valid `apiVersion` (v2)",
            )
            .at(at(""))
            .with_help("add `apiVersion: v2`"),
        ),
    }
    let folder = dir.rsplit('/').next().unwrap_or(dir);
    match text("name") {
        None => out.push(
            Diagnostic::error("chart-lint/name", "Chart.yaml has no `name`")
                .at(at(""))
                .with_help(format!("add `name: {folder}`")),
        ),
        Some(name) if !folder.is_empty() && name != folder => out.push(
            Diagnostic::error("chart-lint/name", format!("chart name `{name}` differs from its folder `{folder}`"))
                .at(at("/name"))
                .with_help("chart testing (ct) and helm repositories expect the folder to carry the chart's name: rename one of them"),
        ),
        Some(name) if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') => out.push(
            Diagnostic::error("chart-lint/name", format!("chart name `{name}` is not lower-case letters, digits and dashes"))
                .at(at("/name"))
                .with_help("Helm's naming convention: lower case, dash-separated"),
        ),
        Some(_) => {}
    }
    match text("version") {
        None => out.push(
            Diagnostic::error("chart-lint/version", "Chart.yaml has no `version`")
                .at(at(""))
                .with_help("add a SemVer 2 version such as `version: 0.1.0`"),
        ),
        Some(v) if semver::Version::parse(&v).is_err() => out.push(
            Diagnostic::error(
                "chart-lint/version",
                format!("chart version `{v}` is not SemVer 2"),
            )
            .at(at("/version"))
            .with_help("use MAJOR.MINOR.PATCH, e.g. `0.1.0`"),
        ),
        Some(_) => {}
    }
    if text("description").is_none_or(|d| d.is_empty()) {
        out.push(
            Diagnostic::warning("chart-lint/description", "Chart.yaml has no `description`")
                .at(at(""))
                .with_help("add a one-line `description:` (it heads the README and `helm search`)"),
        );
    }
    if let Some(kind) = text("type") {
        if kind != "application" && kind != "library" {
            out.push(
                Diagnostic::error(
                    "chart-lint/type",
                    format!("chart type `{kind}` is neither `application` nor `library`"),
                )
                .at(at("/type")),
            );
        }
    }
    if meta
        .get("maintainers")
        .and_then(Value::as_array)
        .is_none_or(|m| m.is_empty())
    {
        out.push(
            Diagnostic::note(
                "chart-lint/maintainers",
                "Chart.yaml lists no `maintainers`",
            )
            .at(at(""))
            .with_help("ct lint's maintainer check wants at least one (name, email)"),
        );
    }
    if !chart.files.contains_key("values.yaml") {
        out.push(
            Diagnostic::note("chart-lint/values", "the chart has no values.yaml")
                .at(Location::file_only(chart_yaml.clone())),
        );
    }
    if !chart.files.keys().any(|p| p.starts_with("templates/"))
        && text("type").as_deref() != Some("library")
    {
        out.push(
            Diagnostic::warning("chart-lint/templates", "the chart has no templates/ folder")
                .at(Location::file_only(chart_yaml.clone())),
        );
    }
    out
}

/// Whether README.md matches what `homelab charts readme` writes (only for generated ones).
pub fn lint_readme(chart: &Chart, display: &str) -> Option<Diagnostic> {
    let existing = chart
        .files
        .get("README.md")
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let path = format!("{}/README.md", display.trim_end_matches('/'));
    match existing {
        None => Some(
            Diagnostic::warning("chart-lint/readme", "the chart has no README.md")
                .at(Location::file_only(path))
                .with_help("run `homelab charts readme` (or `homelab render`) to generate it from Chart.yaml and values.yaml"),
        ),
        Some(text) if readme::is_generated(Some(&text)) && text != readme::generate(chart) => Some(
            Diagnostic::warning("chart-lint/readme", "README.md is out of date with Chart.yaml and values.yaml")
                .at(Location::new(path, 1, 1))
                .with_help("run `homelab charts readme` (or `homelab render`) to regenerate it"),
        ),
        _ => None,
    }
}

fn git(root: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.untrackedCache=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

/// The default branch to compare with: `origin/HEAD`, else `origin/main`, `main`, `master`.
fn default_branch(root: &Path) -> Option<String> {
    if let Some(out) = git(
        root,
        &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
    ) {
        let r = String::from_utf8_lossy(&out).trim().to_string();
        if !r.is_empty() {
            return Some(r);
        }
    }
    ["origin/main", "origin/master", "main", "master"]
        .into_iter()
        .find(|b| {
            git(
                root,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{b}^{{commit}}"),
                ],
            )
            .is_some()
        })
        .map(str::to_string)
}

/// Git's object id of a blob (SHA-1 or SHA-256 repositories).
fn blob_id(data: &[u8], hex_len: usize) -> String {
    let mut object = format!("blob {}\0", data.len()).into_bytes();
    object.extend_from_slice(data);
    if hex_len == 64 {
        crate::digest::sha256_hex(&object)
    } else {
        crate::digest::sha1_hex(&object)
    }
}

/// The version-bump check: when the chart's files differ from the default branch, its version
/// must be greater there. `None` when git, the branch or the chart on it is absent.
pub fn lint_version_bump(
    root: &Path,
    chart: &Chart,
    dir: &str,
    display: &str,
) -> Option<Diagnostic> {
    let branch = default_branch(root)?;
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let listing = git(
        root,
        &["ls-tree", "-r", "--full-tree", &branch, "--", &prefix],
    )?;
    let listing = String::from_utf8_lossy(&listing);
    let mut base: BTreeMap<String, String> = BTreeMap::new();
    for line in listing.lines() {
        let Some((meta, path)) = line.split_once('\t') else {
            continue;
        };
        let id = meta.split_whitespace().nth(2)?.to_string();
        if let Some(rel) = path.strip_prefix(&prefix) {
            base.insert(rel.to_string(), id);
        }
    }
    if base.is_empty() {
        return None; // a new chart
    }
    let hex_len = base.values().next().map(String::len).unwrap_or(40);
    let current: BTreeMap<String, String> = chart
        .files
        .iter()
        .map(|(p, b)| (p.clone(), blob_id(b, hex_len)))
        .collect();
    if current == base {
        return None;
    }
    let old_chart = git(root, &["cat-file", "blob", base.get("Chart.yaml")?])?;
    let old = crate::chart::parse_yaml("Chart.yaml", &String::from_utf8_lossy(&old_chart)).ok()?;
    let old_version = old.get("version").and_then(Value::as_str)?;
    let (Ok(old_v), Ok(new_v)) = (
        semver::Version::parse(old_version.trim()),
        semver::Version::parse(chart.version.trim()),
    ) else {
        return None;
    };
    if new_v > old_v {
        return None;
    }
    let chart_yaml = format!("{}/Chart.yaml", display.trim_end_matches('/'));
    let (docs, _) = homelab_manifest::parse_str(
        &chart_yaml,
        &String::from_utf8_lossy(
            chart
                .files
                .get("Chart.yaml")
                .map(Vec::as_slice)
                .unwrap_or_default(),
        ),
    );
    let at = docs
        .first()
        .map(|d| d.location("/version"))
        .unwrap_or_else(|| Location::new(chart_yaml, 1, 1));
    Some(
        Diagnostic::error(
            "chart-lint/version-bump",
            format!(
                "chart `{}` changed since {branch} but its version {} is not above {old_version} there",
                chart.name, chart.version
            ),
        )
        .at(at)
        .with_help("bump `version` in Chart.yaml (SemVer: patch for fixes, minor for features): a chart repository never serves two different charts under one version"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Bounds, Files};

    fn chart(yaml: &str) -> Chart {
        let mut files = Files::new();
        files.insert("Chart.yaml".into(), yaml.as_bytes().to_vec());
        files.insert("values.yaml".into(), b"a: 1\n".to_vec());
        files.insert("templates/cm.yaml".into(), b"kind: ConfigMap\n".to_vec());
        Chart::from_files(files, &Bounds::default()).unwrap()
    }

    fn rules(d: &[Diagnostic]) -> Vec<&str> {
        d.iter().map(|d| d.rule.as_str()).collect()
    }

    #[test]
    fn chart_yaml_fields() {
        let good = chart("apiVersion: v2\nname: web\nversion: 1.0.0\ndescription: d\nmaintainers:\n  - name: me\n");
        assert!(lint_metadata(&good, "charts/web", "charts/web").is_empty());
        let bad = chart("apiVersion: v1\nname: Web\nversion: one\ntype: plugin\n");
        let found = lint_metadata(&bad, "charts/web", "charts/web");
        assert_eq!(
            rules(&found),
            vec![
                "chart-lint/api-version",
                "chart-lint/name",
                "chart-lint/version",
                "chart-lint/description",
                "chart-lint/type",
                "chart-lint/maintainers"
            ]
        );
        assert_eq!(
            found[1].location.as_ref().unwrap().to_string(),
            "charts/web/Chart.yaml:2:1"
        );
    }

    #[test]
    fn blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            blob_id(b"hello\n", 40),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn version_bump_against_the_default_branch() {
        if Command::new("git").arg("--version").output().is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "git is needed in CI"
            );
            eprintln!("git not found: version-bump test skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(root)
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        run(&["init", "-q", "-b", "main"]);
        let write = |p: &str, t: &str| {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, t).unwrap();
        };
        write(
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        );
        write("charts/web/values.yaml", "a: 1\n");
        run(&["add", "."]);
        run(&["commit", "-q", "-m", "one"]);
        run(&["checkout", "-q", "-b", "feature"]);
        let load = || {
            let (files, _) =
                crate::archive::read_folder(&root.join("charts/web"), root, &Bounds::default())
                    .unwrap();
            Chart::from_files(files, &Bounds::default()).unwrap()
        };
        assert!(
            lint_version_bump(root, &load(), "charts/web", "charts/web").is_none(),
            "unchanged"
        );
        write("charts/web/values.yaml", "a: 2\n");
        let d = lint_version_bump(root, &load(), "charts/web", "charts/web")
            .expect("changed without a bump");
        assert_eq!(d.rule, "chart-lint/version-bump");
        assert_eq!(d.location.unwrap().line, 3);
        write(
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 1.0.1\n",
        );
        assert!(
            lint_version_bump(root, &load(), "charts/web", "charts/web").is_none(),
            "bumped"
        );
    }
}
