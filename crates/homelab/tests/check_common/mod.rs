//! Shared helpers of the `homelab check` acceptance tests: one `homelab init` tree rendered
//! per test binary, copied per test (a copy is a few milliseconds; rendering is not), and
//! `homelab check --format json` parsed into findings.

#![allow(dead_code)] // each test binary uses a different subset

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

/// The pristine rendered repository, shared (read-only) by every test. It lives in cargo's
/// per-target scratch folder, keyed by the `homelab` binary's size and modification time, so a
/// rebuilt renderer gets a fresh tree. nextest runs each test in its own process: a process
/// renders into a private folder and renames it into place; losing that race is fine.
pub fn template() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let binary = assert_cmd::cargo::cargo_bin("homelab");
        let meta = std::fs::metadata(&binary).expect("homelab binary");
        let stamp = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("homelab-check-template");
        let dir = base.join(format!("{}-{stamp}-sealed", meta.len()));
        if dir.join("platform.toml").is_file() {
            return dir;
        }
        std::fs::create_dir_all(&base).expect("scratch folder");
        let private = base.join(format!("rendering-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&private);
        homelab().arg("init").arg(&private).assert().success();
        seal_placeholders(&private, &base.join(format!("keys-{}", std::process::id())));
        if std::fs::rename(&private, &dir).is_err() {
            // Another test process won the race; its tree is identical.
            let _ = std::fs::remove_dir_all(&private);
        }
        dir
    })
}

/// Seal the placeholder secrets as the bootstrap does (`homelab secrets init`), with a
/// throw-away controller key kept outside the repository: the tree is then what a user
/// commits, and `check` has nothing to say about it.
pub fn seal_placeholders(repo: &Path, keys: &Path) {
    homelab()
        .args(["secrets", "keygen", "--bits", "2048", "--out"])
        .arg(keys)
        .assert()
        .success();
    homelab()
        .args(["secrets", "init", "--values", "-", "--cert"])
        .arg(keys.join("tls.crt"))
        .arg(repo)
        .write_stdin(
            "github-app-secret:\n  github_app_id: \"1\"\n  github_app_installation_id: \"2\"\n  \
             github_app_private_key: not-a-key\n",
        )
        .assert()
        .success();
    let _ = std::fs::remove_dir_all(keys);
}

/// A private copy of the rendered repository that a test may break.
pub struct Copy {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Copy {
    pub fn new() -> Copy {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("repo");
        copy_tree(template(), &root);
        Copy { _tmp: tmp, root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    pub fn write(&self, rel: &str, text: &str) {
        write_file(&self.root, rel, text);
    }

    /// Replace exactly one occurrence of `from` (the fault must be where the test thinks).
    pub fn replace(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert_eq!(
            text.matches(from).count(),
            1,
            "{rel}: expected exactly one `{from}` in the rendered file"
        );
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// Remove the lines from the one containing `start` (inclusive) up to the first line
    /// after it that contains `end` (exclusive).
    pub fn cut(&self, rel: &str, start: &str, end: &str) {
        let text = self.read(rel);
        let lines: Vec<&str> = text.lines().collect();
        let from = lines
            .iter()
            .position(|l| l.contains(start))
            .unwrap_or_else(|| panic!("{rel}: no line with `{start}`"));
        let to = from
            + 1
            + lines[from + 1..]
                .iter()
                .position(|l| l.contains(end))
                .unwrap_or_else(|| panic!("{rel}: no line with `{end}` after `{start}`"));
        let mut kept: Vec<&str> = lines[..from].to_vec();
        kept.extend_from_slice(&lines[to..]);
        self.write(rel, &(kept.join("\n") + "\n"));
    }

    /// 1-based line of the first line of `rel` containing `needle` (after `after`, when given).
    pub fn line_of(&self, rel: &str, needle: &str, after: Option<&str>) -> u32 {
        line_of(&self.read(rel), needle, after)
            .unwrap_or_else(|| panic!("{rel}: no line with `{needle}`"))
    }

    pub fn check(&self, extra: &[&str]) -> Output {
        check_json(&self.root, extra)
    }
}

/// Write `text` to `rel` under `dir`, creating its folders.
pub fn write_file(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {rel}: {e}"));
}

/// 1-based line of the first line containing `needle`, searching after the first line that
/// contains `after` when given.
pub fn line_of(text: &str, needle: &str, after: Option<&str>) -> Option<u32> {
    let lines: Vec<&str> = text.lines().collect();
    let start = match after {
        Some(a) => lines.iter().position(|l| l.contains(a))?,
        None => 0,
    };
    lines[start..]
        .iter()
        .position(|l| l.contains(needle))
        .map(|i| (start + i + 1) as u32)
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// One diagnostic of the JSON report (`Output::findings` holds the errors and warnings).
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: String,
    pub severity: String,
    /// Path relative to the repository root, `/`-separated.
    pub file: String,
    pub line: u32,
    pub message: String,
    /// The facts the finding relied on, joined with `; `.
    pub facts: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}:{} {}",
            self.severity, self.rule, self.file, self.line, self.message
        )
    }
}

pub struct Output {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub findings: Vec<Finding>,
}

impl Output {
    pub fn describe(&self) -> String {
        if self.findings.is_empty() {
            return "  (no errors or warnings)".to_string();
        }
        self.findings
            .iter()
            .map(|f| format!("  {f}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Exactly one rule reports errors/warnings, it is `rule`, and one of its findings is at
    /// `file:line`. Returns that rule's findings.
    pub fn assert_only(&self, rule: &str, file: &str, line: u32) -> Vec<Finding> {
        let others: Vec<&Finding> = self.findings.iter().filter(|f| f.rule != rule).collect();
        assert!(
            others.is_empty(),
            "expected only `{rule}`, got other rules too:\n{}",
            self.describe()
        );
        let mine: Vec<Finding> = self.findings.to_vec();
        assert!(
            mine.iter().any(|f| f.file == file && f.line == line),
            "expected `{rule}` at {file}:{line}, got:\n{}",
            self.describe()
        );
        assert_eq!(self.code, 1, "findings must exit 1");
        mine
    }

    pub fn suppressed(&self) -> Vec<(String, String, u32, String)> {
        self.json["suppressed"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["rule"].as_str().unwrap_or_default().to_string(),
                    s["location"]["file"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    s["location"]["line"].as_u64().unwrap_or_default() as u32,
                    s["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

/// Relative form of a reported path (the tests give an absolute root).
pub fn relative(root: &Path, file: &str) -> String {
    let root = root.to_string_lossy().replace('\\', "/");
    let file = file.replace('\\', "/");
    file.strip_prefix(&root)
        .map(|f| f.trim_start_matches('/').to_string())
        .unwrap_or(file)
}

/// `homelab check ROOT --format json EXTRA...`, parsed.
pub fn check_json(root: &Path, extra: &[&str]) -> Output {
    let out = homelab()
        .arg("check")
        .arg(root)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("run homelab check");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "check exited {code}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("check --format json is not JSON ({e}):\n{stdout}"));
    let findings = diagnostics(&json, root)
        .into_iter()
        .filter(|d| d.severity != "note")
        .collect();
    Output {
        code,
        json,
        stdout,
        findings,
    }
}

/// Every diagnostic of a `check --format json` report, notes included, with paths relative
/// to the checked folder `root`.
pub fn diagnostics(json: &Value, root: &Path) -> Vec<Finding> {
    json["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| Finding {
            rule: d["rule"].as_str().unwrap_or_default().to_string(),
            severity: d["severity"].as_str().unwrap_or_default().to_string(),
            file: relative(root, d["location"]["file"].as_str().unwrap_or_default()),
            line: d["location"]["line"].as_u64().unwrap_or_default() as u32,
            message: d["message"].as_str().unwrap_or_default().to_string(),
            facts: d["facts"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// A Deployment `name` in `default` whose one container (named like it) runs `image`: the
/// object the foreign-repository tests judge (its image tag is what they look at).
pub fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: default}}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: {name}
          image: {image}
"
    )
}
