//! `homelab render` against a repository crafted by an attacker, and against a render that is
//! killed: nothing outside the repository is ever read, written or deleted, and an
//! interrupted render is completed by the next one.

use assert_cmd::Command;
use predicates::prelude::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file below `dir` (relative path -> content), links and all.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let ft = entry.file_type().unwrap();
            if ft.is_dir() {
                walk(root, &path, out);
            } else if ft.is_symlink() {
                out.insert(
                    rel,
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                );
            } else {
                out.insert(rel, read(&path));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A freshly initialised repository, made once and copied for each test.
fn fresh_repo(tmp: &Path) -> PathBuf {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        homelab()
            .arg("init")
            .arg(t.path().join("repo"))
            .assert()
            .success();
        t
    });
    let repo = tmp.join("repo");
    copy_tree(&template.path().join("repo"), &repo);
    repo
}

fn lock_path(repo: &Path) -> PathBuf {
    repo.join(".homelab/render.lock")
}

/// Add an entry to the committed lock, as an attacker would, with a matching sha256.
fn add_lock_entry(repo: &Path, path: &str, content: &str) {
    use sha2::Digest;
    let mut lock: serde_json::Value = serde_json::from_str(&read(&lock_path(repo))).unwrap();
    lock["files"][path] = serde_json::json!({
        "sha256": hex::encode(sha2::Sha256::digest(content.as_bytes())),
        "content": content,
    });
    std::fs::write(
        lock_path(repo),
        serde_json::to_string_pretty(&lock).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_crafted_lock_cannot_delete_files_outside_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let victim = outside.join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let absolute = victim.display().to_string();
    for entry in [
        "../outside/victim.txt",
        absolute.as_str(),
        "apps/../../outside/victim.txt",
    ] {
        let before = read(&lock_path(&repo));
        add_lock_entry(&repo, entry, "precious\n");
        homelab()
            .arg("render")
            .arg(&repo)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("render.lock"))
            .stderr(predicate::str::contains("not a file a render may manage"));
        assert_eq!(
            read(&victim),
            "precious\n",
            "{entry}: the victim was touched"
        );
        assert!(outside.is_dir(), "{entry}: its folder was removed");
        homelab()
            .arg("render")
            .arg(&repo)
            .arg("--check")
            .assert()
            .code(2);
        std::fs::write(lock_path(&repo), before).unwrap();
    }
}

#[test]
fn a_crafted_lock_cannot_touch_git_or_homelab_bookkeeping() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    add_lock_entry(&repo, ".git/HEAD", "ref: refs/heads/main\n");
    homelab()
        .arg("render")
        .arg(&repo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inside .git"));
    assert_eq!(read(&repo.join(".git/HEAD")), "ref: refs/heads/main\n");
}

#[test]
fn a_lock_entry_whose_hash_does_not_match_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let mut lock: serde_json::Value = serde_json::from_str(&read(&lock_path(&repo))).unwrap();
    lock["files"]["README.md"]["content"] = "tampered\n".into();
    std::fs::write(lock_path(&repo), lock.to_string()).unwrap();
    homelab()
        .arg("render")
        .arg(&repo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("sha256 does not match"));
}

#[test]
fn render_never_writes_through_a_linked_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("keep.txt"), "mine\n").unwrap();
    // `scripts/` replaced by a link to a folder outside the repository, with a file of the
    // same name that the lock knows (so a naive render would "update" it there).
    let scripts = repo.join("scripts");
    for entry in std::fs::read_dir(&scripts).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), outside.join(entry.file_name())).unwrap();
    }
    std::fs::remove_dir_all(&scripts).unwrap();
    symlink(&outside, &scripts).unwrap();
    let before = snapshot(&outside);
    homelab()
        .arg("render")
        .arg(&repo)
        .arg("--force")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("scripts"))
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(
        snapshot(&outside),
        before,
        "a file outside was written or removed"
    );
}

#[test]
fn render_never_follows_a_linked_file_or_config() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let victim = tmp.path().join("victim.sh");
    std::fs::write(&victim, "#!/bin/sh\necho mine\n").unwrap();
    let rendered = repo.join("scripts/seal-secret.sh");
    std::fs::remove_file(&rendered).unwrap();
    symlink(&victim, &rendered).unwrap();
    homelab()
        .arg("render")
        .arg(&repo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("seal-secret.sh"))
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(read(&victim), "#!/bin/sh\necho mine\n");
    std::fs::remove_file(&rendered).unwrap();

    // platform.toml as a link to a host file: not read (its lines would be echoed in errors).
    let secret = tmp.path().join("shadow");
    std::fs::write(&secret, "root:$6$very-secret-hash:19000:0:99999:7:::\n").unwrap();
    std::fs::remove_file(repo.join("platform.toml")).unwrap();
    symlink(&secret, repo.join("platform.toml")).unwrap();
    homelab()
        .arg("render")
        .arg(&repo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("symbolic link"))
        .stderr(predicate::str::contains("very-secret-hash").not());
}

#[test]
fn a_fifo_in_place_of_a_rendered_file_does_not_hang_render() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let target = repo.join("README.md");
    std::fs::remove_file(&target).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success());
    homelab()
        .arg("render")
        .arg(&repo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("FIFO"));
}

#[test]
fn a_crafted_journal_cannot_write_outside_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let lock: serde_json::Value = serde_json::from_str(&read(&lock_path(&repo))).unwrap();
    for path in ["../evil.sh", ".git/hooks/pre-commit"] {
        let journal = serde_json::json!({
            "steps": [{"path": path, "before": null, "write": "#!/bin/sh\necho owned\n"}],
            "lock": lock,
        });
        std::fs::write(repo.join(".homelab/render.journal"), journal.to_string()).unwrap();
        homelab()
            .arg("render")
            .arg(&repo)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("render.journal"));
        assert!(!tmp.path().join("evil.sh").exists());
        assert!(!repo.join(".git/hooks/pre-commit").exists());
    }
}

/// The repository before the render that gets killed: a config change that updates, merges
/// and removes files, and a hand edit.
fn prepare_changes(repo: &Path) {
    let config = repo.join("platform.toml");
    let text = read(&config)
        .replacen("storage_size = \"50Gi\"", "storage_size = \"80Gi\"", 1)
        .replacen(
            "[components.n8n]\nenabled = true",
            "[components.n8n]\nenabled = false",
            1,
        );
    std::fs::write(&config, text).unwrap();
    let edited = repo.join("apps/gitlab/values-homelab.yaml");
    std::fs::write(&edited, format!("# tuned by hand\n{}", read(&edited))).unwrap();
}

/// A repository with [`prepare_changes`] applied, and the tree one uninterrupted render of it
/// produces.
fn changes_and_their_render(tmp: &Path) -> (PathBuf, std::collections::BTreeMap<String, String>) {
    let start = fresh_repo(&tmp.join("start"));
    prepare_changes(&start);
    let reference = tmp.join("reference");
    copy_tree(&start, &reference);
    homelab().arg("render").arg(&reference).assert().success();
    (start, snapshot(&reference))
}

fn assert_no_temp_files(repo: &Path, context: &str) {
    let stray: Vec<_> = snapshot(repo)
        .into_keys()
        .filter(|k| k.contains(".homelab-tmp-"))
        .collect();
    assert!(stray.is_empty(), "{context}: temp files left: {stray:?}");
}

#[test]
fn a_render_killed_at_any_write_is_completed_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (start, expected) = changes_and_their_render(tmp.path());
    assert!(expected["apps/gitlab/values-homelab.yaml"].starts_with("# tuned by hand\n"));

    let mut crashed = 0;
    for n in 1.. {
        let repo = tmp.path().join(format!("crash-{n}"));
        copy_tree(&start, &repo);
        let out = homelab()
            .arg("render")
            .arg(&repo)
            .env("HOMELAB_CRASH_AFTER_WRITES", n.to_string())
            .output()
            .unwrap();
        if out.status.success() {
            break; // fewer writes than n: the render ran to its end
        }
        crashed += 1;
        let context = format!("killed after write {n}");
        // Until completed, --check says so rather than reporting conflicts or drift in files
        // nobody edited.
        if repo.join(".homelab/render.journal").exists() {
            homelab()
                .arg("render")
                .arg(&repo)
                .arg("--check")
                .assert()
                .code(1)
                .stdout(predicate::str::contains("a render was interrupted"));
        }
        let again = homelab().arg("render").arg(&repo).output().unwrap();
        let stdout = String::from_utf8_lossy(&again.stdout);
        assert!(
            again.status.success(),
            "{context}: {stdout}{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(!stdout.contains("CONFLICT"), "{context}: {stdout}");
        assert_eq!(
            snapshot(&repo),
            expected,
            "{context}: the tree differs from an uninterrupted render"
        );
        assert_no_temp_files(&repo, &context);
        homelab()
            .arg("render")
            .arg(&repo)
            .arg("--check")
            .assert()
            .success();
        std::fs::remove_dir_all(&repo).unwrap();
    }
    assert!(
        crashed > 10,
        "the render was killed at only {crashed} points"
    );
}

#[test]
fn a_render_killed_by_a_signal_is_completed_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (start, expected) = changes_and_their_render(tmp.path());
    let binary = assert_cmd::cargo::cargo_bin("homelab");
    for delay_ms in [0u64, 1, 2, 3, 5, 8, 12, 20, 30, 50] {
        let repo = tmp.path().join(format!("kill-{delay_ms}"));
        copy_tree(&start, &repo);
        let mut child = std::process::Command::new(&binary)
            .arg("render")
            .arg(&repo)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        homelab().arg("render").arg(&repo).assert().success();
        assert_eq!(snapshot(&repo), expected, "killed after {delay_ms} ms");
        assert_no_temp_files(&repo, &format!("killed after {delay_ms} ms"));
    }
}

#[test]
fn stray_temporary_files_are_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let stray = repo.join("scripts/.seal-secret.sh.homelab-tmp-123-0");
    std::fs::write(&stray, "half a scr").unwrap();
    homelab()
        .arg("render")
        .arg(&repo)
        .assert()
        .success()
        .stdout(predicate::str::contains("cleaned"));
    assert!(!stray.exists());
}

#[test]
fn names_from_the_lock_are_printed_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let name = "docs/\x1b[2J\x1b[Hall-clear.md";
    std::fs::write(repo.join(name), "old\n").unwrap();
    add_lock_entry(&repo, name, "old\n");
    let out = homelab().arg("render").arg(&repo).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("removed"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "{stdout}");
    assert!(stdout.contains("\\x1b[2J"), "{stdout}");
}

/// platform.toml values that would be code in a rendered script, unit or manifest are refused
/// by their type before anything is written: exit 2, `platform.toml:LINE:COL`, the key, what
/// the value must look like; the repository is unchanged and nothing in the value ran.
#[test]
fn hostile_platform_values_are_refused_with_their_line_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fresh_repo(tmp.path());
    let config_path = repo.join("platform.toml");
    let original = read(&config_path);
    let marker = tmp.path().join("pwned");
    let m = marker.display();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "device = \"UUID=<btrfs-uuid>\"",
            format!("device = \"UUID=$(touch {m})\""),
            "storage.device",
            "blkid",
        ),
        (
            "subvolume = \"@longhorn\"",
            format!("subvolume = \"@long`touch {m}`horn\""),
            "storage.subvolume",
            "subvolume name",
        ),
        (
            "runner_group = \"homelab-runners\"",
            "runner_group = \"runners\\nvisibility: all\"".into(),
            "github.runner_group",
            "one line",
        ),
        (
            "repo_url = \"https://github.com/yourorg/gitops-homelab\"",
            "repo_url = \"https://github.com/yourorg/x\\n    targetRevision: evil\"".into(),
            "git.repo_url",
            "URL",
        ),
        (
            "repo_url = \"https://github.com/yourorg/gitops-homelab\"",
            format!("repo_url = \"https://github.com/x/`touch {m}`\""),
            "git.repo_url",
            "URL",
        ),
        (
            "on_calendar = \"weekly\"",
            "on_calendar = \"weekly\\nExecStartPre=/bin/sh -c id\"".into(),
            "storage.host_snapshot.on_calendar",
            "OnCalendar",
        ),
        (
            "model = \"RTX 5080\"",
            "model = \"RTX\\n5080: x\"".into(),
            "nodes[1].gpu.model",
            "one line",
        ),
        (
            "host_path = \"/var/lib/longhorn\"",
            format!("host_path = \"/var/lib/$(touch {m})\""),
            "storage.host_path",
            "absolute path",
        ),
        (
            "version = \"1.12.1\"",
            format!("version = \"1.12.1-$(touch {m})\""),
            "components.longhorn.chart.version",
            "exact chart version",
        ),
    ];
    let before = snapshot(&repo);
    for (from, to, key, hint) in cases {
        assert!(original.contains(from), "fixture {from:?}");
        let edited = original.replacen(from, &to, 1);
        std::fs::write(&config_path, &edited).unwrap();
        let line = edited[..edited.find(to.as_str()).unwrap()]
            .matches('\n')
            .count()
            + 1;
        let out = homelab().arg("render").arg(&repo).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(
            stderr.contains(&format!("platform.toml:{line}:")),
            "{key} is reported at line {line}: {stderr}"
        );
        assert!(stderr.contains(key), "{key}: {stderr}");
        assert!(
            stderr.contains(hint),
            "{key} says what to write ({hint}): {stderr}"
        );
        assert!(stderr.contains("expected"), "{key}: {stderr}");
        let mut after = snapshot(&repo);
        after.insert("platform.toml".into(), original.clone());
        assert_eq!(after, before, "{key}: render wrote nothing");
        assert!(!marker.exists(), "{key}: the value ran");
    }
}
