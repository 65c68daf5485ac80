//! The HTML report of `homelab check`, opened in a real browser: headless Chromium loads the
//! self-contained file (network features off), the dumped DOM must hold the summary, the
//! findings and the sync-wave graph, and a screenshot is kept as a CI artifact
//! (`$CARGO_TARGET_DIR/homelab-report.png`). Skipped, with the reason printed, when no
//! Chromium is installed (`HOMELAB_CHROMIUM` names a binary explicitly).

mod check_common;

use check_common::{homelab, Copy};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STORAGECLASSES: &str = "infrastructure/longhorn/storage/storageclasses.yaml";
const SEARXNG: &str = "apps/ai-services/searxng/searxng.yaml";

fn chromium() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os("HOMELAB_CHROMIUM") {
        return Some(PathBuf::from(explicit));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Run the browser with network features off and a private profile; kill it after a minute.
fn run_chromium(browser: &Path, profile: &Path, extra: &[String]) -> (bool, Vec<u8>, String) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Read the pipes on threads so a chatty browser cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut buf).ok();
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut buf).ok();
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).to_string();
    (status.is_some_and(|s| s.success()), stdout, stderr)
}

/// Where cargo puts build output (the CI artifact goes there).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/<profile>/homelab
    let bin = assert_cmd::cargo::cargo_bin("homelab");
    bin.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((w, h))
}

/// The text of the element whose opening tag contains `marker`, up to `end`.
fn section<'a>(dom: &'a str, marker: &str, end: &str) -> &'a str {
    let start = dom
        .find(marker)
        .unwrap_or_else(|| panic!("the DOM has no `{marker}`"));
    let rest = &dom[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The sync waves of the repository's Applications, read from the files (not from homelab).
fn waves_in(root: &Path) -> std::collections::BTreeMap<i64, Vec<String>> {
    let mut out: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    let mut stack = vec![root.join("argocd")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            if !text.contains("kind: Application\n") {
                continue;
            }
            let name = text
                .lines()
                .skip_while(|l| !l.starts_with("metadata:"))
                .find_map(|l| l.strip_prefix("  name: "))
                .expect("name")
                .trim()
                .to_string();
            let wave = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("argocd.argoproj.io/sync-wave: "))
                .map(|w| w.trim_matches('"').parse::<i64>().expect("integer wave"))
                .unwrap_or(0);
            out.entry(wave).or_default().push(name);
        }
    }
    out
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        homelab_testkit::unavailable(
            "html_report_renders_in_headless_chromium",
            "no chromium on PATH (apt-get install chromium, or set HOMELAB_CHROMIUM)",
        );
        return;
    };
    let repo = Copy::new();
    let text = repo.read(STORAGECLASSES);
    repo.write(
        STORAGECLASSES,
        &text.replacen("fsType: \"ext4\"", "fsType: \"btrfs\"", 1),
    );
    let text = repo.read(SEARXNG);
    let pinned = text
        .split_whitespace()
        .find(|w| w.starts_with("docker.io/searxng/searxng:"))
        .expect("the pinned searxng image");
    repo.write(
        SEARXNG,
        &text.replacen(pinned, "docker.io/searxng/searxng:latest", 1),
    );
    let work = tempfile::tempdir().expect("tempdir");
    let html = work.path().join("report.html");
    let run = homelab()
        .arg("check")
        .arg(&repo.root)
        .args(["--format", "html", "--output"])
        .arg(&html)
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(1));
    let json = repo.check(&[]);
    let errors = json.json["summary"]["errors"].as_u64().expect("errors");
    assert!(errors >= 1);

    let url = format!("file://{}", html.display());
    let profile = work.path().join("profile");
    let (ok, dom, stderr) = run_chromium(&browser, &profile, &["--dump-dom".into(), url.clone()]);
    assert!(ok, "chromium --dump-dom failed: {stderr}");
    let dom = String::from_utf8(dom).expect("utf-8 DOM");

    // Summary: the error card shows the same count as the JSON report.
    assert!(dom.contains("<h1>homelab check</h1>"), "title");
    let card = section(&dom, "id=\"errors\"", "</div>");
    assert!(
        card.contains(&format!(">{errors}<")),
        "error card does not show {errors}: {card}"
    );
    // Findings: by rule and by file, with the broken file named.
    let by_rule = section(&dom, "id=\"by-rule\"", "</table>");
    assert!(by_rule.contains("storage/longhorn-btrfs"), "by-rule table");
    let by_file = &dom[dom.find("id=\"by-file\"").expect("by-file")..];
    assert!(by_file.contains(STORAGECLASSES), "by-file section");
    let btrfs_line = repo.line_of(STORAGECLASSES, "fsType: \"btrfs\"", None);
    assert!(
        by_file.contains(&format!("{STORAGECLASSES}:{btrfs_line}")),
        "the finding's position"
    );
    // The wave graph: one box per wave, each Application in it.
    let expected = waves_in(&repo.root);
    let graph_start = dom.find("id=\"wave-graph\"").expect("wave graph");
    let graph_end = dom[graph_start..]
        .find("<h2")
        .map_or(dom.len(), |i| graph_start + i);
    let graph = &dom[graph_start..graph_end];
    assert_eq!(
        graph.matches("class=\"wave\"").count(),
        expected.len(),
        "one box per wave"
    );
    for (wave, apps) in &expected {
        assert!(graph.contains(&format!("wave {wave}")), "wave {wave}");
        for app in apps {
            assert!(graph.contains(&format!(">{app}<")), "application {app}");
        }
    }
    // The graph lists the waves in order.
    let positions: Vec<usize> = expected
        .keys()
        .map(|w| graph.find(&format!("wave {w}<")).expect("wave label"))
        .collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "waves in order");

    let png = work.path().join("report.png");
    let (ok, _, stderr) = run_chromium(
        &browser,
        &profile,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".into(),
            "--hide-scrollbars".into(),
            url,
        ],
    );
    assert!(ok, "chromium --screenshot failed: {stderr}");
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(png_size(&bytes), Some((1280, 2000)), "a 1280x2000 PNG");
    // A blank page compresses to a few kilobytes; a rendered report does not.
    assert!(
        bytes.len() > 30_000,
        "screenshot too small ({} bytes): blank page?",
        bytes.len()
    );
    let artifact = target_dir().join("homelab-report.png");
    if std::fs::create_dir_all(target_dir()).is_ok() && std::fs::copy(&png, &artifact).is_ok() {
        eprintln!("screenshot kept at {}", artifact.display());
    }
}
