//! Helm charts inside `homelab check` and `homelab charts`, on the small charts under
//! `tests/fixtures/charts/` (one with a values schema, one with a subchart, one with CRDs),
//! packaged here into a local chart repository. Tests that render need the real `helm`: they
//! fail when `CI=true` and helm is missing, and skip with a message elsewhere.

use assert_cmd::Command;
use homelab_charts::archive::{self, Files};
use homelab_charts::digest::sha256_hex;
use serde_json::Value;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/charts");
const REPO_URL: &str = "https://charts.example.test";

/// helm's path, or `None` (skip) outside CI when it is missing.
fn helm() -> Option<PathBuf> {
    match homelab_charts::helm::locate(None) {
        Ok(p) => Some(p),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "helm is required in CI ({e}); .ci/run installs it"
            );
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn read_folder(dir: &Path) -> Files {
    let mut files = Files::new();
    for entry in walkdir(dir) {
        let rel = entry
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        files.insert(rel, std::fs::read(&entry).unwrap());
    }
    files
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The fixture charts packaged into a chart repository folder with index.yaml.
fn chart_repository(dir: &Path) {
    let mut index = String::from("apiVersion: v1\nentries:\n");
    for (name, version) in [
        ("webapp", "1.2.0"),
        ("stack", "0.3.0"),
        ("operator", "2.0.0"),
    ] {
        let tgz = archive::write_tgz(&read_folder(&Path::new(FIXTURES).join(name)), name).unwrap();
        let file = format!("{name}-{version}.tgz");
        std::fs::write(dir.join(&file), &tgz).unwrap();
        index.push_str(&format!(
            "  {name}:\n    - name: {name}\n      version: {version}\n      digest: {}\n      urls:\n        - {file}\n",
            sha256_hex(&tgz)
        ));
    }
    std::fs::write(dir.join("index.yaml"), index).unwrap();
}

struct Fixture {
    _dirs: Vec<tempfile::TempDir>,
    repo: PathBuf,
    charts: PathBuf,
    cache: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let repo = tempfile::tempdir().unwrap();
        let charts = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        chart_repository(charts.path());
        Fixture {
            repo: repo.path().to_path_buf(),
            charts: charts.path().to_path_buf(),
            cache: cache.path().to_path_buf(),
            _dirs: vec![repo, charts, cache],
        }
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.repo.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A multi-source Application of `chart` with `$values/values/<name>.yaml`.
    fn app(&self, name: &str, chart: &str, version: &str, values: &str) {
        self.write(
            &format!("apps/{name}.yaml"),
            &format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  sources:\n    - repoURL: {REPO_URL}\n      chart: {chart}\n      targetRevision: {version}\n      helm:\n        valueFiles:\n          - $values/values/{name}.yaml\n    - repoURL: https://git.example.test/gitops\n      targetRevision: main\n      ref: values\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n"
            ),
        );
        self.write(&format!("values/{name}.yaml"), values);
    }

    fn command(&self) -> Command {
        let mut cmd = Command::cargo_bin("homelab").unwrap();
        cmd.env("HOMELAB_CACHE_DIR", &self.cache)
            .env("NO_COLOR", "1");
        cmd
    }

    /// `check --format json` with these extra arguments: (exit code, diagnostics).
    fn check(&self, extra: &[&str]) -> (i32, Vec<Value>) {
        let out = self
            .command()
            .arg("check")
            .arg(&self.repo)
            .args(["--format", "json"])
            // The fixture Applications are minimal: no sync waves, no NetworkPolicies.
            .args(["--ignore", "argocd/sync-wave,network/default-deny"])
            .args(extra)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let diagnostics = report["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (out.status.code().unwrap_or(-1), diagnostics)
    }

    fn check_with_charts(&self) -> (i32, Vec<Value>) {
        let charts = self.charts.to_string_lossy().into_owned();
        self.check(&["--charts", &charts])
    }

    fn line_of(&self, path: &str, needle: &str) -> u64 {
        let text = std::fs::read_to_string(self.repo.join(path)).unwrap();
        text.lines().position(|l| l.contains(needle)).expect(needle) as u64 + 1
    }
}

fn with_rule<'a>(diagnostics: &'a [Value], rule: &str) -> Vec<&'a Value> {
    diagnostics
        .iter()
        .filter(|d| d["rule"].as_str().is_some_and(|r| r.starts_with(rule)))
        .collect()
}

fn at(d: &Value) -> (String, u64) {
    (
        d["location"]["file"].as_str().unwrap_or("").to_string(),
        d["location"]["line"].as_u64().unwrap_or(0),
    )
}

fn describe(diagnostics: &[Value]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            format!(
                "{} {}:{} {}",
                d["rule"], d["location"]["file"], d["location"]["line"], d["message"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const PSS_POLICY: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: pss-baseline\nspec:\n  validationFailureAction: Enforce\n  background: true\n  rules:\n    - name: baseline\n      match:\n        any:\n          - resources:\n              kinds: [Pod]\n      validate:\n        podSecurity:\n          level: baseline\n          version: latest\n";

const WEB_VALUES: &str = "replicaCount: 2\nimage:\n  tag: \"1.27.1\"\n";

#[test]
fn a_clean_chart_renders_into_checked_objects() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    f.write("policies/pss.yaml", PSS_POLICY);
    let (code, d) = f.check_with_charts();
    let rendered = with_rule(&d, "charts/rendered");
    assert_eq!(rendered.len(), 1, "{}", describe(&d));
    let message = rendered[0]["message"].as_str().unwrap();
    assert!(
        message.contains("chart webapp 1.2.0 rendered for Application web into namespace web"),
        "{message}"
    );
    assert!(message.contains("Deployment web"), "{message}");
    let findings: Vec<&Value> = d.iter().filter(|d| d["severity"] != "note").collect();
    assert!(findings.is_empty(), "{}", describe(&d));
    assert_eq!(code, 0);
}

#[test]
fn a_values_change_that_makes_a_pod_privileged_is_found_at_the_values_line() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app(
        "web",
        "webapp",
        "1.2.0",
        "replicaCount: 2\nsecurityContext:\n  allowPrivilegeEscalation: true\n  privileged: true\n",
    );
    f.write("policies/pss.yaml", PSS_POLICY);
    let (code, d) = f.check_with_charts();
    let pss = with_rule(&d, "policy/pss-baseline");
    assert!(!pss.is_empty(), "{}", describe(&d));
    let (file, line) = at(pss[0]);
    assert!(file.ends_with("values/web.yaml"), "{}", describe(&d));
    assert_eq!(line, f.line_of("values/web.yaml", "privileged: true"));
    let message = pss[0]["message"].as_str().unwrap();
    assert!(
        message.contains("template webapp/templates/deployment.yaml"),
        "{message}"
    );
    assert!(
        message.contains("rendered for Application web"),
        "{message}"
    );
    assert_eq!(pss[0]["object"], "apps/v1/Deployment web/web");
    assert_eq!(code, 1);
}

#[test]
fn values_keys_the_chart_never_reads_are_warnings_with_a_hint() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app(
        "web",
        "webapp",
        "1.2.0",
        "replicaCnt: 2\nservice:\n  prot: 8080\n",
    );
    f.app(
        "stack",
        "stack",
        "0.3.0",
        "message: hi\ncache:\n  memry: 1Gi\n",
    );
    let (code, d) = f.check_with_charts();
    let unused = with_rule(&d, "charts/unused-value");
    let found: Vec<(String, u64, String)> = unused
        .iter()
        .map(|u| {
            let (file, line) = at(u);
            let name = Path::new(&file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, line, u["help"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(found.len(), 3, "{}", describe(&d));
    assert!(
        found
            .iter()
            .any(|(f, l, h)| f == "web.yaml" && *l == 1 && h.contains("`replicaCount`")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(f, l, h)| f == "web.yaml" && *l == 3 && h.contains("`port`")),
        "{found:?}"
    );
    // The subchart's values are checked against the subchart.
    assert!(
        found
            .iter()
            .any(|(f, l, h)| f == "stack.yaml" && *l == 3 && h.contains("`memory`")),
        "{found:?}"
    );
    assert!(unused
        .iter()
        .any(|u| u["message"].as_str().unwrap().contains("`cache.memry`")));
    assert_eq!(code, 1);
}

#[test]
fn values_that_break_the_chart_schema_are_errors_at_their_line() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app(
        "web",
        "webapp",
        "1.2.0",
        "replicaCount: two\nimage:\n  tag: \"1\"\n  digest: sha256\n",
    );
    let (code, d) = f.check_with_charts();
    let schema = with_rule(&d, "charts/values-schema");
    let lines: Vec<u64> = schema.iter().map(|s| at(s).1).collect();
    assert!(lines.contains(&1), "{}", describe(&d));
    assert!(lines.contains(&4), "{}", describe(&d));
    assert_eq!(code, 1);
}

#[test]
fn subcharts_render_and_chart_crds_validate_their_custom_resources() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("stack", "stack", "0.3.0", "message: hi\n");
    f.app(
        "operator",
        "operator",
        "2.0.0",
        "widget:\n  size: 3\n  extra:\n    colour: blue\n",
    );
    let (_, d) = f.check_with_charts();
    let notes: Vec<&str> = with_rule(&d, "charts/rendered")
        .iter()
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("StatefulSet stack-cache")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("1 CustomResourceDefinition") && n.contains("1 Widget")),
        "{notes:?}"
    );
    // `colour` is not in the chart's CRD: the schema stage sees the CR with the CRD's schema,
    // and the finding lands on the values line that put it there.
    let unknown = with_rule(&d, "schema/unknown-field");
    assert_eq!(unknown.len(), 1, "{}", describe(&d));
    let (file, line) = at(unknown[0]);
    assert!(file.ends_with("values/operator.yaml"), "{}", describe(&d));
    assert_eq!(line, 4);
    assert!(unknown[0]["message"]
        .as_str()
        .unwrap()
        .contains("template operator/templates/widget.yaml"));
}

#[test]
fn a_chart_missing_from_the_cache_is_one_clear_finding() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "9.9.9", WEB_VALUES);
    let (code, d) = f.check_with_charts();
    let missing = with_rule(&d, "charts/not-cached");
    assert_eq!(missing.len(), 1, "{}", describe(&d));
    assert_eq!(missing[0]["severity"], "warning");
    let (file, line) = at(missing[0]);
    assert!(file.ends_with("apps/web.yaml"));
    assert_eq!(line, f.line_of("apps/web.yaml", "chart: webapp"));
    assert!(missing[0]["message"]
        .as_str()
        .unwrap()
        .contains("versions there: 1.2.0"));
    assert_eq!(code, 1);
}

#[test]
fn without_a_chart_store_the_sources_are_noted_not_rendered() {
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    let (code, d) = f.check(&[]);
    let notes = with_rule(&d, "charts/not-rendered");
    assert_eq!(notes.len(), 1, "{}", describe(&d));
    assert!(notes[0]["message"]
        .as_str()
        .unwrap()
        .contains("1 Helm source(s) found (Application web)"));
    assert_eq!(code, 0, "{}", describe(&d));
}

#[test]
fn a_missing_helm_is_an_error_when_rendering_was_asked_for() {
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    let charts = f.charts.to_string_lossy().into_owned();
    let (code, d) = f.check(&["--charts", &charts, "--helm", "/nonexistent/helm"]);
    let missing = with_rule(&d, "charts/helm-missing");
    assert_eq!(missing.len(), 1, "{}", describe(&d));
    assert_eq!(code, 1);
}

#[test]
fn pull_fills_the_cache_and_check_then_works_from_it_alone() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    f.app("stack", "stack", "0.3.0", "message: hi\n");
    let out = f
        .command()
        .args(["charts", "pull"])
        .arg(&f.repo)
        .arg("--charts")
        .arg(&f.charts)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let cached = f
        .repo
        .join(".homelab/charts/charts.example.test/webapp-1.2.0.tgz");
    assert!(cached.is_file());
    let lock = std::fs::read_to_string(f.repo.join(".homelab/charts/lock.yaml")).unwrap();
    assert!(
        lock.contains("name: \"webapp\"") && lock.contains("digest: sha256:"),
        "{lock}"
    );
    let (code, d) = f.check(&[]);
    assert_eq!(
        with_rule(&d, "charts/rendered").len(),
        2,
        "{}",
        describe(&d)
    );
    assert_eq!(code, 0, "{}", describe(&d));
    // A changed archive is refused, never rendered.
    let mut bytes = std::fs::read(&cached).unwrap();
    bytes.push(0);
    std::fs::write(&cached, bytes).unwrap();
    let (code, d) = f.check(&[]);
    let bad = with_rule(&d, "charts/bad-archive");
    assert_eq!(bad.len(), 1, "{}", describe(&d));
    assert!(bad[0]["message"]
        .as_str()
        .unwrap()
        .contains("does not match its digest"));
    assert_eq!(code, 1);
}

#[test]
fn the_render_cache_makes_the_second_check_run_no_helm() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    let (_, first) = f.check_with_charts();
    assert!(!with_rule(&first, "charts/rendered")[0]["message"]
        .as_str()
        .unwrap()
        .contains("render cache"));
    let (_, second) = f.check_with_charts();
    assert!(with_rule(&second, "charts/rendered")[0]["message"]
        .as_str()
        .unwrap()
        .contains("(render cache)"));
    // A values change is a different render.
    f.write("values/web.yaml", "replicaCount: 3\n");
    let (_, third) = f.check_with_charts();
    assert!(!with_rule(&third, "charts/rendered")[0]["message"]
        .as_str()
        .unwrap()
        .contains("render cache"));
}

/// The message of the one `charts/rendered` note.
fn rendered_note(diagnostics: &[Value]) -> String {
    let notes = with_rule(diagnostics, "charts/rendered");
    assert_eq!(notes.len(), 1, "{}", describe(diagnostics));
    notes[0]["message"].as_str().unwrap().to_string()
}

#[test]
fn a_changed_chart_archive_misses_the_render_cache() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    f.check_with_charts();
    assert!(rendered_note(&f.check_with_charts().1).contains("(render cache)"));
    // Same name and version, one template more: a different archive (and digest).
    let mut files = read_folder(&Path::new(FIXTURES).join("webapp"));
    files.insert(
        "templates/account.yaml".into(),
        b"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}\n".to_vec(),
    );
    let tgz = archive::write_tgz(&files, "webapp").unwrap();
    let old = std::fs::read(f.charts.join("webapp-1.2.0.tgz")).unwrap();
    std::fs::write(f.charts.join("webapp-1.2.0.tgz"), &tgz).unwrap();
    let index = std::fs::read_to_string(f.charts.join("index.yaml")).unwrap();
    std::fs::write(
        f.charts.join("index.yaml"),
        index.replace(&sha256_hex(&old), &sha256_hex(&tgz)),
    )
    .unwrap();
    let changed = rendered_note(&f.check_with_charts().1);
    assert!(!changed.contains("render cache"), "{changed}");
    assert!(changed.contains("ServiceAccount"), "{changed}");
    assert!(rendered_note(&f.check_with_charts().1).contains("(render cache)"));
}

#[test]
fn another_helm_version_misses_the_render_cache() {
    let Some(helm) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    f.check_with_charts();
    assert!(rendered_note(&f.check_with_charts().1).contains("(render cache)"));
    // The same helm behind a script that reports another version.
    let bin = tempfile::tempdir().unwrap();
    let wrapper = bin.path().join("helm");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.99.0; exit 0; fi\nexec '{}' \"$@\"\n",
            helm.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let charts = f.charts.to_string_lossy().into_owned();
    let wrapped = wrapper.to_string_lossy().into_owned();
    let args = ["--charts", &charts, "--helm", &wrapped];
    let other = rendered_note(&f.check(&args).1);
    assert!(!other.contains("render cache"), "{other}");
    assert!(rendered_note(&f.check(&args).1).contains("(render cache)"));
}

#[test]
fn a_damaged_render_cache_is_a_miss_with_the_same_findings() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    f.write("policies/pss.yaml", PSS_POLICY);
    let (code, first) = f.check_with_charts();
    let entries: Vec<PathBuf> = walk(&f.cache.join("renders"));
    assert!(!entries.is_empty());
    for (n, damage) in ["cut", "flip", "empty", "garbage"].iter().enumerate() {
        for entry in &entries {
            let mut bytes = std::fs::read(entry).unwrap();
            match *damage {
                "cut" => bytes.truncate(bytes.len() * 2 / 3),
                "flip" => {
                    let i = bytes.len() - 1 - n;
                    bytes[i] ^= 0x01;
                }
                "empty" => bytes.clear(),
                _ => bytes = b"ok\n{\"kind\": \"List\", \"items\": []}".to_vec(),
            }
            std::fs::write(entry, bytes).unwrap();
        }
        let (again_code, again) = f.check_with_charts();
        assert!(
            !rendered_note(&again).contains("render cache"),
            "{damage}: {}",
            describe(&again)
        );
        assert_eq!(again_code, code);
        assert_eq!(describe(&again), describe(&first), "{damage}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn helmfile_releases_and_kustomize_helm_charts_render_too() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.write("values/web.yaml", WEB_VALUES);
    f.write(
        "helmfile.yaml",
        &format!("repositories:\n  - name: ex\n    url: {REPO_URL}\nreleases:\n  - name: web\n    namespace: web\n    chart: ex/webapp\n    version: 1.2.0\n    values:\n      - values/web.yaml\n      - service:\n          port: \"eighty\"\n"),
    );
    f.write(
        "kustomize/kustomization.yaml",
        &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nhelmCharts:\n  - name: operator\n    repo: {REPO_URL}\n    version: 2.0.0\n    releaseName: ops\n    namespace: ops\n    includeCRDs: true\n"),
    );
    let (_, d) = f.check_with_charts();
    let notes: Vec<&str> = with_rule(&d, "charts/rendered")
        .iter()
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("kustomize helmCharts operator")),
        "{notes:?}"
    );
    // The inline helmfile values break the schema: reported at the inline line.
    let schema = with_rule(&d, "charts/values-schema");
    assert_eq!(schema.len(), 1, "{}", describe(&d));
    let (file, line) = at(schema[0]);
    assert!(file.ends_with("helmfile.yaml"));
    assert_eq!(line, f.line_of("helmfile.yaml", "port: \"eighty\""));
}

#[cfg(unix)]
#[test]
fn repository_paths_never_leave_the_repository() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.yaml"),
        "replicaCount: 7\nleak: TOPSECRET-VALUE\n",
    )
    .unwrap();
    // A values file that climbs out, and one that is a link out.
    f.write(
        "apps/web.yaml",
        &format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\nspec:\n  sources:\n    - repoURL: {REPO_URL}\n      chart: webapp\n      targetRevision: 1.2.0\n      helm:\n        valueFiles:\n          - $values/../../../../../../{}\n    - repoURL: https://git.example.test/gitops\n      ref: values\n  destination:\n    namespace: web\n",
            outside.path().join("secret.yaml").display()
        ),
    );
    std::os::unix::fs::symlink(outside.path().join("secret.yaml"), f.repo.join("link.yaml"))
        .unwrap();
    f.app("other", "webapp", "1.2.0", "replicaCount: 1\n");
    f.write(
        "apps/other.yaml",
        &std::fs::read_to_string(f.repo.join("apps/other.yaml"))
            .unwrap()
            .replace("$values/values/other.yaml", "$values/link.yaml"),
    );
    // A chart of the repository with a link to a host file for `.Files.Get`.
    f.write(
        "charts/leaky/Chart.yaml",
        "apiVersion: v2\nname: leaky\nversion: 0.1.0\n",
    );
    f.write("charts/leaky/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  x: {{ .Files.Get \"host.txt\" | quote }}\n");
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        f.repo.join("charts/leaky/host.txt"),
    )
    .unwrap();
    let charts = f.charts.to_string_lossy().into_owned();
    let out = f
        .command()
        .arg("check")
        .arg(&f.repo)
        .args(["--charts", &charts, "--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("TOPSECRET"), "{text}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = report["diagnostics"].as_array().unwrap();
    let refused = with_rule(d, "charts/values-file");
    assert_eq!(refused.len(), 2, "{}", describe(d));
    assert!(refused.iter().all(|r| r["message"]
        .as_str()
        .unwrap()
        .contains("outside the repository")));
    let chart = with_rule(d, "charts/bad-chart");
    assert_eq!(chart.len(), 1, "{}", describe(d));
    assert!(chart[0]["message"]
        .as_str()
        .unwrap()
        .contains("`host.txt` is a link to a file outside the repository"));
    assert!(
        with_rule(d, "charts/rendered").is_empty(),
        "{}",
        describe(d)
    );
}

#[test]
fn charts_template_prints_the_rendered_objects() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    let out = f
        .command()
        .args(["charts", "template"])
        .arg(&f.repo)
        .arg("--charts")
        .arg(&f.charts)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "# Source: webapp/templates/deployment.yaml (chart webapp 1.2.0, Application web)"
        ),
        "{text}"
    );
    assert!(text.contains("namespace: web"), "{text}");
    assert!(text.contains("image: nginx:1.27.1"), "{text}");
}

#[test]
fn charts_lint_checks_the_repositorys_own_charts() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    for file in walkdir(&Path::new(FIXTURES).join("webapp")) {
        let rel = file
            .strip_prefix(FIXTURES)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        f.write(
            &format!("charts/{rel}"),
            &std::fs::read_to_string(&file).unwrap(),
        );
    }
    // A broken template, a ci values file that breaks the schema, no README yet.
    f.write(
        "charts/webapp/templates/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.deeper }}\n",
    );
    f.write("charts/webapp/ci/big-values.yaml", "replicaCount: 0\n");
    let lint = |f: &Fixture| {
        let out = f
            .command()
            .args(["charts", "lint"])
            .arg(&f.repo)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (
            out.status.code().unwrap(),
            report["diagnostics"].as_array().cloned().unwrap(),
        )
    };
    let (code, d) = lint(&f);
    assert_eq!(code, 1);
    let failed = with_rule(&d, "charts/render-failed");
    assert!(!failed.is_empty(), "{}", describe(&d));
    let (file, line) = at(failed[0]);
    assert!(
        file.ends_with("charts/webapp/templates/broken.yaml"),
        "{}",
        describe(&d)
    );
    assert_eq!(line, 4);
    assert!(
        !with_rule(&d, "chart-lint/readme").is_empty(),
        "{}",
        describe(&d)
    );
    let schema = with_rule(&d, "charts/values-schema");
    assert!(
        schema
            .iter()
            .any(|s| at(s).0.ends_with("ci/big-values.yaml") && at(s).1 == 1),
        "{}",
        describe(&d)
    );
    // Fixed, with a README written by `charts readme`: clean.
    std::fs::remove_file(f.repo.join("charts/webapp/templates/broken.yaml")).unwrap();
    f.write("charts/webapp/ci/big-values.yaml", "replicaCount: 3\n");
    f.write(
        "charts/webapp/Chart.yaml",
        &format!(
            "{}maintainers:\n  - name: homelab\n",
            std::fs::read_to_string(Path::new(FIXTURES).join("webapp/Chart.yaml")).unwrap()
        ),
    );
    let out = f
        .command()
        .args(["charts", "readme"])
        .arg(&f.repo)
        .output()
        .unwrap();
    assert!(out.status.success());
    let readme = std::fs::read_to_string(f.repo.join("charts/webapp/README.md")).unwrap();
    assert!(
        readme.contains("| replicaCount | int | `1` | How many pods run the server. |"),
        "{readme}"
    );
    let (code, d) = lint(&f);
    assert!(
        d.iter().all(|x| x["severity"] == "note"),
        "{}",
        describe(&d)
    );
    assert_eq!(code, 0);
    // A README that falls behind the values is reported; one written by hand is left alone.
    f.write(
        "charts/webapp/values.yaml",
        &format!(
            "{}# -- New knob.\nextra: true\n",
            std::fs::read_to_string(Path::new(FIXTURES).join("webapp/values.yaml")).unwrap()
        ),
    );
    let (_, d) = lint(&f);
    assert_eq!(
        with_rule(&d, "chart-lint/readme").len(),
        1,
        "{}",
        describe(&d)
    );
    f.write("charts/webapp/README.md", "# my own words\n");
    let out = f
        .command()
        .args(["charts", "readme"])
        .arg(&f.repo)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(f.repo.join("charts/webapp/README.md")).unwrap(),
        "# my own words\n"
    );
}

#[test]
fn simulate_sees_the_objects_charts_make_and_blames_their_application() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    let namespace = |level: &str| {
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  labels:\n    pod-security.kubernetes.io/enforce: {level}\n")
    };
    let simulate = || {
        let out = f
            .command()
            .arg("simulate")
            .arg(&f.repo)
            .arg("--charts")
            .arg(&f.charts)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), json)
    };
    // The chart's pod is not hardened enough for `restricted` (no seccomp profile, capabilities).
    f.write("namespaces/web.yaml", &namespace("restricted"));
    let (code, json) = simulate();
    assert_eq!(code, 1, "{json:#}");
    let stall = &json["waves"][0]["stalls"][0];
    assert_eq!(stall["object"], "apps/v1/Deployment web/web", "{json:#}");
    assert_eq!(stall["class"], "pod-security");
    let cause = stall["cause"].as_str().unwrap();
    assert!(cause.contains("chart webapp 1.2.0, template webapp/templates/deployment.yaml, rendered for Application web"), "{cause}");
    assert!(
        stall["file"].as_str().unwrap().ends_with("apps/web.yaml"),
        "{stall}"
    );

    f.write("namespaces/web.yaml", &namespace("baseline"));
    let (code, json) = simulate();
    assert_eq!(code, 0, "{json:#}");
    let healthy = json["waves"][0]["healthy"].as_array().unwrap();
    assert!(
        healthy.iter().any(|o| o == "apps/v1/Deployment web/web"),
        "{json:#}"
    );
}

#[test]
fn simulate_stops_a_charts_pod_that_a_kyverno_enforce_policy_rejects() {
    let Some(_) = helm() else { return };
    let f = Fixture::new();
    f.app("web", "webapp", "1.2.0", WEB_VALUES);
    f.write(
        "namespaces/web.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
    );
    let policy = |action: &str| {
        format!(
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team-label\nspec:\n  validationFailureAction: {action}\n  rules:\n    - name: team-label\n      match:\n        any:\n          - resources:\n              kinds: [Deployment]\n      validate:\n        message: every Deployment names its team\n        pattern:\n          metadata:\n            labels:\n              team: \"?*\"\n"
        )
    };
    let simulate = || {
        let out = f
            .command()
            .arg("simulate")
            .arg(&f.repo)
            .arg("--charts")
            .arg(&f.charts)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), json)
    };
    f.write("policies/require-team.yaml", &policy("Enforce"));
    let (code, json) = simulate();
    assert_eq!(code, 1, "{json:#}");
    let stall = json["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["stalls"].as_array().unwrap())
        .find(|s| s["object"] == "apps/v1/Deployment web/web")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(stall["class"], "admission", "{stall}");
    let cause = stall["cause"].as_str().unwrap();
    assert!(cause.contains("every Deployment names its team"), "{cause}");
    assert!(cause.contains("rendered for Application web"), "{cause}");
    assert!(
        stall["file"].as_str().unwrap().ends_with("apps/web.yaml"),
        "{stall}"
    );

    // In Audit mode the policy reports and admits: the rollout converges.
    f.write("policies/require-team.yaml", &policy("Audit"));
    let (code, json) = simulate();
    assert_eq!(code, 0, "{json:#}");
}
