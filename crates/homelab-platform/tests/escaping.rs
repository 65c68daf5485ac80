//! platform.toml's values reach shell scripts, YAML, TOML, JSON, fstab and systemd units
//! through one escaping layer. Values that are hostile but valid for their type (quotes, `'`,
//! `&`, `#`, `$(...)`, backslashes, non-ASCII letters) are rendered, read back by each
//! language's own reader and found intact; the scripts pass shellcheck and, run with fake
//! tools on PATH, receive the value as one argument while nothing in it is executed.

use homelab_platform::{parse, render, Config, DEFAULT_CONFIG};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runner group names are free text on GitHub.
const GROUP: &str = "ops \"night\" & it's #1 — ünïcødé $(touch PWNED) `touch PWNED` \\ %s ${HOME}";
/// A GPU model is free text shown in comments and docs.
const GPU_MODEL: &str = "RTX 5080 \"Founders\" & it's #1 — 日本 $(touch PWNED)";
/// URLs may hold RFC 3986's sub-delimiters.
const REPO_URL: &str = "https://git.example.org/o'neil/$(touch$IFS'PWNED');a&b=c#frag";
const HOMELAB_REPO: &str = "https://example.org/its/home&lab?x=$(touch$IFS'PWNED')#top";
/// Two SOPS recipients: a comma-separated list in `.sops.yaml`.
const AGE_A: &str = "age1l3nzv85220ygnk4xx3ekk39aytssuyrxtr95wsalykrysxkcf45qfkf5g2";
const AGE_B: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const DEVICE: &str = "UUID=0b5e7d2c-6c0b-4a55-9e1c-2f3a4b5c6d7e";

/// A TOML basic string for `value` (JSON's escapes are TOML's).
fn toml_string(value: &str) -> String {
    serde_json::to_string(value).expect("string")
}

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "fixture text {from:?} not in the config"
    );
    text.replacen(from, to, 1)
}

fn hostile_config(host_path: Option<&str>) -> Config {
    config_with([GROUP, GPU_MODEL, REPO_URL, HOMELAB_REPO], host_path)
}

/// The default config with the given runner group, GPU model, repository URL and homelab
/// repository, two SOPS recipients and a real device.
fn config_with(free: [&str; 4], host_path: Option<&str>) -> Config {
    let [group, gpu_model, repo_url, homelab_repo] = free;
    let mut text = DEFAULT_CONFIG.to_owned();
    text = edit(
        &text,
        "runner_group = \"homelab-runners\"",
        &format!("runner_group = {}", toml_string(group)),
    );
    text = edit(
        &text,
        "model = \"RTX 5080\"",
        &format!("model = {}", toml_string(gpu_model)),
    );
    text = edit(
        &text,
        "repo_url = \"https://github.com/yourorg/gitops-homelab\"",
        &format!("repo_url = {}", toml_string(repo_url)),
    );
    text = edit(
        &text,
        "homelab_repo = \"https://example.invalid/homelab\"",
        &format!("homelab_repo = {}", toml_string(homelab_repo)),
    );
    text = edit(
        &text,
        "device = \"UUID=<btrfs-uuid>\"",
        &format!("device = {}", toml_string(DEVICE)),
    );
    text = edit(
        &text,
        "age_recipients = []",
        &format!("age_recipients = [\"{AGE_A}\", \"{AGE_B}\"]"),
    );
    if let Some(path) = host_path {
        text = edit(
            &text,
            "host_path = \"/var/lib/longhorn\"",
            &format!("host_path = {}", toml_string(path)),
        );
    }
    parse(&text, "platform.toml").unwrap_or_else(|e| panic!("hostile but valid values: {e}"))
}

fn rendered() -> render::Rendered {
    render(&hostile_config(None)).unwrap_or_else(|e| panic!("{e}"))
}

fn text<'a>(files: &'a render::Rendered, path: &str) -> &'a str {
    files
        .get(Path::new(path))
        .unwrap_or_else(|| panic!("{path} is not rendered"))
}

/// Every string scalar of a JSON-like value, with its path.
fn strings(value: &Value, path: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) => out.push((path, s.clone())),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                strings(v, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                strings(v, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

fn is_yaml(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".yamllint")
}

#[test]
fn hostile_values_round_trip_through_every_yaml_toml_and_json_file() {
    let files = rendered();
    // Where each value must arrive, whole.
    let mut found: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (path, content) in &files {
        let name = path.to_string_lossy().into_owned();
        let mut values = Vec::new();
        if is_yaml(path) {
            let (documents, diagnostics) = homelab_manifest::parse_str(&name, content);
            let errors: Vec<_> = diagnostics
                .iter()
                .filter(|d| d.severity == homelab_diagnostics::Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{name} does not parse: {errors:?}");
            for d in documents {
                strings(&d.value, String::new(), &mut values);
            }
        } else if name.ends_with(".toml") {
            let table: toml::Table =
                toml::from_str(content).unwrap_or_else(|e| panic!("{name}: {e}"));
            let json = serde_json::to_value(table).expect("toml as json");
            strings(&json, String::new(), &mut values);
        } else if name.ends_with(".json") || name.ends_with(".baseline") {
            let json: Value =
                serde_json::from_str(content).unwrap_or_else(|e| panic!("{name}: {e}"));
            strings(&json, String::new(), &mut values);
        } else {
            continue;
        }
        let hostile = [GROUP, REPO_URL, HOMELAB_REPO];
        for (at, s) in values {
            if let Some(v) = hostile.iter().find(|v| **v == s) {
                found.entry(v).or_default().push(format!("{name}{at}"));
            } else {
                // A value split by the YAML reader leaves a piece of it in some scalar.
                assert!(
                    !s.contains("PWNED") || hostile.iter().any(|v| s.contains(v)),
                    "{name}{at} holds part of a hostile value: {s:?}"
                );
            }
        }
    }
    let places = |v: &str| found.get(v).cloned().unwrap_or_default();
    assert!(
        places(GROUP).iter().any(|p| p.ends_with(".runnerGroup")),
        "runner group: {:?}",
        places(GROUP)
    );
    assert!(
        places(REPO_URL)
            .iter()
            .any(|p| p.starts_with("argocd/bootstrap/root-app.yaml") && p.ends_with(".repoURL")),
        "repo URL: {:?}",
        places(REPO_URL)
    );
    let sops: Value = serde_json::to_value(
        homelab_manifest::parse_str(".sops.yaml", text(&files, ".sops.yaml")).0[0]
            .value
            .clone(),
    )
    .expect("json");
    for rule in sops["creation_rules"].as_array().expect("rules") {
        assert_eq!(rule["age"], format!("{AGE_A},{AGE_B}"), "{rule}");
    }
    assert!(
        places(HOMELAB_REPO)
            .iter()
            .any(|p| p.starts_with(".pre-commit-config.yaml") && p.ends_with(".repo")),
        "homelab repo: {:?}",
        places(HOMELAB_REPO)
    );
}

/// Comments and prose carry free text on one line: no value adds a line to any file.
#[test]
fn free_text_never_adds_a_line() {
    let files = rendered();
    let plain = config_with(
        [
            "runners",
            "RTX 5080",
            "https://github.com/yourorg/gitops-homelab",
            "https://example.invalid/homelab",
        ],
        None,
    );
    let default = render(&plain).expect("render");
    for (path, content) in &files {
        let before = default.get(path).map(|t| t.lines().count());
        if let Some(before) = before {
            assert_eq!(
                content.lines().count(),
                before,
                "{} has a different number of lines with hostile values",
                path.display()
            );
        }
    }
    let readme = text(&files, "README.md");
    assert!(
        readme.contains(GPU_MODEL),
        "the GPU model is shown as written"
    );
}

#[test]
fn fstab_and_systemd_units_read_back_the_values() {
    let files = rendered();
    let fstab = text(&files, "host/fstab.longhorn");
    let line = fstab
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .expect("an fstab entry");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(fields[0], DEVICE);
    assert_eq!(fields[1], "/var/lib/longhorn");
    assert_eq!(fields[2], "btrfs");
    let timer = text(&files, "host/systemd/longhorn-snapshot.timer");
    assert!(timer.lines().any(|l| l == "OnCalendar=weekly"), "{timer}");
}

fn write_tree(files: &render::Rendered, root: &Path) {
    for (path, content) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, content).expect("write");
    }
}

#[test]
fn rendered_yaml_passes_yamllint_with_hostile_values() {
    let test = "rendered_yaml_passes_yamllint_with_hostile_values";
    if !homelab_testkit::require_tool(test, "yamllint", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(&rendered(), dir.path());
    let out = Command::new("yamllint")
        .args(["-s", "-c", ".yamllint", "."])
        .current_dir(dir.path())
        .output()
        .expect("yamllint");
    assert!(
        out.status.success(),
        "yamllint:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn rendered_scripts_pass_shellcheck_with_hostile_values() {
    let test = "rendered_scripts_pass_shellcheck_with_hostile_values";
    if !homelab_testkit::require_tool(test, "shellcheck", &["--version"]) {
        return;
    }
    let files = rendered();
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(&files, dir.path());
    let scripts: Vec<&PathBuf> = files
        .keys()
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    assert!(scripts.len() >= 5, "{scripts:?}");
    for script in scripts {
        let out = Command::new("shellcheck")
            .arg(script)
            .current_dir(dir.path())
            .output()
            .expect("shellcheck");
        assert!(
            out.status.success(),
            "shellcheck {}:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The block of platform.toml values at the top of a rendered script.
fn value_block(script: &str) -> &str {
    let start = script
        .find("# platform.toml's values")
        .expect("a value block");
    let end = script[start..]
        .find("# End of platform.toml's values.")
        .expect("its end")
        + start;
    &script[start..end]
}

/// Sources a script's value block in bash and prints the named variables, NUL-separated.
fn source_block(script: &str, names: &[&str], cwd: &Path) -> Vec<String> {
    let mut program = String::from("set -eu\n");
    program.push_str(value_block(script));
    for name in names {
        program.push_str(&format!("printf '%s\\0' \"${{{name}[@]}}\"\n"));
    }
    let out = Command::new("bash")
        .args(["-c", &program])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .split_terminator('\0')
        .map(str::to_owned)
        .collect()
}

#[test]
fn script_value_blocks_hold_the_values_and_run_nothing() {
    let files = rendered();
    let dir = tempfile::tempdir().expect("tempdir");
    let group_script = text(&files, "scripts/github-runner-group.sh");
    assert_eq!(
        source_block(
            group_script,
            &["DEFAULT_GROUP", "DEFAULT_ORG", "DEFAULT_REPOS"],
            dir.path()
        ),
        [GROUP, "yourorg", "gitops-homelab"]
    );
    let setup = text(&files, "scripts/setup-btrfs-longhorn.sh");
    assert_eq!(
        source_block(
            setup,
            &[
                "DEFAULT_BTRFS_MOUNT",
                "DEFAULT_SUBVOLUME",
                "DEFAULT_DATA_PATH",
                "DEFAULT_DEVICE",
                "COMPRESSION"
            ],
            dir.path()
        ),
        [
            "/mnt/storage",
            "@longhorn",
            "/var/lib/longhorn",
            DEVICE,
            "zstd:1"
        ]
    );
    let snapshot = text(&files, "scripts/btrfs-snapshot-longhorn.sh");
    assert_eq!(
        source_block(
            snapshot,
            &["DEFAULT_SOURCE", "DEFAULT_DEST", "DEFAULT_RETAIN"],
            dir.path()
        ),
        [
            "/mnt/storage/@longhorn",
            "/mnt/storage/.snapshots/longhorn",
            "4"
        ]
    );
    assert!(
        !dir.path().join("PWNED").exists(),
        "a value was executed while sourcing"
    );
}

/// Writes an executable script.
fn fake(bin: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}")).expect("write fake");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Each recorded call of the fake `gh`: its arguments.
fn gh_calls(log: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .split_terminator("\u{1e}\n")
        .map(|call| call.split_terminator('\0').map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_runner_group_script_passes_the_name_as_one_argument() {
    let files = rendered();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    write_tree(&files, &dir.path().join("repo"));
    fake(
        &bin,
        "gh",
        r#"{ printf '%s\0' "$@"; printf '\036\n'; } >> "$GH_LOG"
case "$*" in
  *"--input -"*) cat > /dev/null ;;
esac
case "$*" in
  *"/runner-groups --jq"*) printf '%s' "${GH_GROUPS:-}" ;;
  *"--jq .id"*) echo 101 ;;
esac
"#,
    );
    let run = |groups: &str, log: &Path| {
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .arg("scripts/github-runner-group.sh")
            .current_dir(dir.path().join("repo"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", dir.path())
            .env("GH_LOG", log)
            .env("GH_GROUPS", groups)
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        gh_calls(log)
    };
    // No group yet: it is created with the name as one typed field.
    let calls = run("", &dir.path().join("create.log"));
    let post = calls
        .iter()
        .find(|c| c.iter().any(|a| a == "POST"))
        .expect("a POST");
    assert!(
        post.contains(&format!("name={GROUP}")),
        "the name arrives whole: {post:?}"
    );
    // A group of that exact name exists (next to one with a similar name): it is updated.
    let listing = format!("5\tops\n7\t{GROUP}\n");
    let calls = run(&listing, &dir.path().join("update.log"));
    assert!(
        calls.iter().any(|c| c
            .iter()
            .any(|a| a == "/orgs/yourorg/actions/runner-groups/7/repositories")),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.iter().any(|a| a == "POST")));
    assert!(
        !dir.path().join("repo/PWNED").exists() && !dir.path().join("PWNED").exists(),
        "a value was executed"
    );
}

/// setup-btrfs-longhorn.sh run for real against fake system tools: the device and paths from
/// platform.toml reach the fstab line exactly.
#[test]
fn the_storage_script_writes_the_configured_fstab_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let data = root.join("data");
    let data = data.to_str().expect("utf-8 temp path");
    if !data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        eprintln!("temporary folder {data} is not a plain path; nothing to check");
        return;
    }
    let files = render(&hostile_config(Some(data))).unwrap_or_else(|e| panic!("{e}"));
    write_tree(&files, &root.join("repo"));
    let bin = root.join("bin");
    std::fs::create_dir(&bin).expect("bin");
    fake(&bin, "id", "echo 0\n");
    fake(&bin, "stat", "echo btrfs\n");
    fake(&bin, "btrfs", "exit 0\n");
    fake(&bin, "mountpoint", "exit 0\n");
    let fstab = root.join("fstab");
    std::fs::write(&fstab, "# existing\n").expect("fstab");
    let out = Command::new("bash")
        .arg("scripts/setup-btrfs-longhorn.sh")
        .current_dir(root.join("repo"))
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("FSTAB", &fstab)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&fstab).expect("fstab");
    assert_eq!(
        written,
        format!("# existing\n{DEVICE} {data} btrfs subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async 0 0\n")
    );
    assert!(Path::new(data).is_dir());
}
