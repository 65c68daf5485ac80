//! `homelab check` on a repository crafted by an attacker (a pull request): it stays inside the
//! checked folder, reads only regular files, never stalls, and says when the repository's own
//! configuration switches secret scanning off.

use assert_cmd::Command;
use predicates::prelude::*;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

fn homelab() -> Command {
    let mut c = Command::cargo_bin("homelab").expect("binary");
    c.timeout(Duration::from_secs(60));
    c
}

const FORMATS: [&str; 5] = ["text", "json", "sarif", "junit", "html"];

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/audit: restricted\n    pod-security.kubernetes.io/warn: restricted\n";

#[test]
fn links_out_of_the_tree_are_findings_and_never_read() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("host");
    write(
        &outside,
        "shadow.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  hash: \"root:$6$HOST-FILE-CONTENT\"\n",
    );
    let repo = tmp.path().join("repo");
    write(&repo, "apps/ns.yaml", NAMESPACE);
    symlink(outside.join("shadow.yaml"), repo.join("apps/leak.yaml")).unwrap();
    symlink(&outside, repo.join("apps/linked-dir")).unwrap();
    // A link inside the tree is no finding: its target is checked under its own name.
    symlink("ns.yaml", repo.join("apps/ns-again.yaml")).unwrap();
    for format in FORMATS {
        let out = homelab()
            .args(["check", "--format", format])
            .arg(&repo)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{format}: {stdout}");
        assert!(
            !stdout.contains("HOST-FILE-CONTENT"),
            "{format} leaked a host file:\n{stdout}"
        );
        assert!(
            stdout.contains("yaml/symlink-outside"),
            "{format}: {stdout}"
        );
        assert!(
            !stdout.contains("ns-again"),
            "{format}: a link inside the tree is no finding"
        );
    }
    homelab()
        .arg("check")
        .arg(&repo)
        .assert()
        .stdout(predicate::str::contains("apps/leak.yaml"))
        .stdout(predicate::str::contains("apps/linked-dir"));
}

#[test]
fn fifos_devices_and_proc_files_never_stall_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write(repo, "apps/ns.yaml", NAMESPACE);
    let fifo = repo.join("apps/fifo.yaml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::create_dir(repo.join("scripts")).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(repo.join("scripts/pipe.sh"))
        .status()
        .unwrap()
        .success());
    symlink("/proc/kmsg", repo.join("apps/kmsg.yaml")).unwrap();
    symlink("/dev/zero", repo.join("zero.yaml")).unwrap();
    symlink("/dev/tty", repo.join("scripts/tty.sh")).unwrap();
    homelab()
        .arg("check")
        .arg(repo)
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("apps/kmsg.yaml"))
        .stdout(predicate::str::contains("zero.yaml"))
        .stdout(predicate::str::contains("yaml/symlink-outside"));
}

#[test]
fn configuration_files_are_never_read_through_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("host");
    write(
        &outside,
        "secret",
        "[check]\nignore = [\"HOST-CONFIG-CONTENT\"\n",
    );
    for name in [".homelab.toml", "platform.toml", ".secrets.baseline"] {
        let repo = tmp.path().join(format!("repo-{name}"));
        write(&repo, "ns.yaml", NAMESPACE);
        symlink(outside.join("secret"), repo.join(name)).unwrap();
        homelab()
            .arg("check")
            .arg(&repo)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(name))
            .stderr(predicate::str::contains("symbolic link"))
            .stderr(predicate::str::contains("HOST-CONFIG-CONTENT").not());
    }
    let repo = tmp.path().join("repo-kmsg");
    write(&repo, "ns.yaml", NAMESPACE);
    symlink("/proc/kmsg", repo.join(".homelab.toml")).unwrap();
    homelab()
        .arg("check")
        .arg(&repo)
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2);
}

#[test]
fn a_configuration_that_switches_secret_scanning_off_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write(repo, "ns.yaml", NAMESPACE);
    write(
        repo,
        "values.yaml",
        "github_token: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n",
    );
    write(repo, ".homelab.toml", "[check]\nignore = [\"secrets\"]\n");
    homelab()
        .arg("check")
        .arg(repo)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "warning[check/secret-scanning-off]",
        ))
        .stdout(predicate::str::contains(".homelab.toml"))
        .stdout(predicate::str::contains("secrets/leaked-credential").not());
    // The repository cannot hide the warning itself; the command line can.
    write(
        repo,
        ".homelab.toml",
        "[check]\nignore = [\"secrets\", \"check\"]\n",
    );
    homelab()
        .arg("check")
        .arg(repo)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("check/secret-scanning-off"));
    homelab()
        .args(["check", "--ignore", "check/secret-scanning-off"])
        .arg(repo)
        .assert()
        .success();
}

#[test]
fn the_summary_counts_files_that_could_not_be_read() {
    let tmp = tempfile::tempdir().unwrap();
    homelab()
        .arg("check")
        .arg(tmp.path().join("missing.yaml"))
        .assert()
        .stdout(predicate::str::contains("checked 0 files").not())
        .stdout(predicate::str::contains(
            "1 error, 0 warnings in 1 file (checked 1 file",
        ));
}

/// Secrets on lines that other findings (duplicate keys, YAML errors, schema errors) quote.
const SECRET_FILES: &[(&str, &str)] = &[
    (
        "duplicate.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dup\n  namespace: demo\nstringData:\n  password: FIRST-LEAK-1\n  password: SECOND-LEAK-2\n",
    ),
    (
        "number.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: num\n  namespace: demo\nstringData:\n  pin: 987654321\n",
    ),
    (
        "oneline.json",
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"one","namespace":"demo"},"bogus":1,"stringData":{"password":"JSON-LEAK-3"}}"#,
    ),
    (
        "flow.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: flow, namespace: demo}\nstringData: {password: FLOW-LEAK-4, other: [1]}\n",
    ),
    (
        "notes.yaml",
        "NOTE-LEAK-5 DB_PASSWORD=hunter2\n",
    ),
];

#[test]
fn secret_values_are_masked_in_every_snippet_of_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write(repo, "ns.yaml", NAMESPACE);
    for (name, text) in SECRET_FILES {
        write(repo, name, text);
    }
    for format in FORMATS {
        let out = homelab()
            .args(["check", "-v", "--format", format])
            .arg(repo)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{format}: {stdout}");
        for leaked in [
            "FIRST-LEAK-1",
            "SECOND-LEAK-2",
            "987654321",
            "JSON-LEAK-3",
            "FLOW-LEAK-4",
            "NOTE-LEAK-5",
            "hunter2",
        ] {
            assert!(
                !stdout.contains(leaked),
                "{format} printed {leaked}:\n{stdout}"
            );
        }
        // The findings on those lines are still reported.
        for rule in ["yaml/duplicate-key", "schema/"] {
            assert!(stdout.contains(rule), "{format}: no {rule}:\n{stdout}");
        }
    }
    let out = homelab().args(["check"]).arg(repo).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("password: ************"),
        "masked in place:\n{text}"
    );
    let out = homelab()
        .args(["validate", "-strict"])
        .arg(repo)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for leaked in ["SECOND-LEAK-2", "987654321", "JSON-LEAK-3", "FLOW-LEAK-4"] {
        assert!(!text.contains(leaked), "validate printed {leaked}:\n{text}");
    }
}

#[test]
fn secret_fingerprints_are_keyed_and_baselines_still_work() {
    use sha2::Digest;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write(repo, "ns.yaml", NAMESPACE);
    let token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    write(repo, "values.yaml", &format!("github_token: {token}\n"));
    let fingerprint = |key: Option<&str>| {
        let mut cmd = homelab();
        cmd.args(["check", "--format", "json"]).arg(repo);
        match key {
            Some(k) => cmd.env("HOMELAB_FINGERPRINT_KEY", k),
            None => cmd.env_remove("HOMELAB_FINGERPRINT_KEY"),
        };
        let out = cmd.output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let d = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["rule"] == "secrets/leaked-credential")
            .cloned()
            .unwrap_or_else(|| panic!("no finding: {v}"));
        d["fingerprint"].as_str().unwrap().to_string()
    };
    let plain_sha1 = hex::encode(sha1_of(token));
    let plain_sha256 = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let a = fingerprint(Some("repository one"));
    let b = fingerprint(Some("repository two"));
    let c = fingerprint(None);
    assert_eq!(a, fingerprint(Some("repository one")), "stable for one key");
    assert_ne!(a, b, "keyed per repository");
    for f in [&a, &b, &c] {
        assert!(
            !plain_sha1.starts_with(f.trim_start_matches("hmac:")),
            "{f}"
        );
        assert!(
            !plain_sha256.starts_with(f.trim_start_matches("hmac:")),
            "{f}"
        );
        assert!(f.starts_with("hmac:"), "{f}");
    }
    // The repository's key file is used when no key is in the environment.
    write(repo, ".homelab/fingerprint.key", "repository one\n");
    assert_eq!(fingerprint(None), a);
    // .secrets.baseline (detect-secrets' SHA-1) still accepts the value.
    write(
        repo,
        ".secrets.baseline",
        &format!(
            "{{\"results\": {{\"values.yaml\": [{{\"type\": \"GitHub Token\", \"hashed_secret\": \"{plain_sha1}\", \"line_number\": 1}}]}}}}"
        ),
    );
    homelab().arg("check").arg(repo).assert().success();
}

/// SHA-1 with coreutils, as detect-secrets would write it (no SHA-1 crate in the tests).
fn sha1_of(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    hex::decode(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn control_characters_from_names_and_content_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write(repo, "ns.yaml", NAMESPACE);
    // A file name and a line that would clear the screen and print a fake verdict.
    write(
        repo,
        "apps/evil\x1b[2J\x1b[H.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: demo\nbogus: \"\x1b[2J\x1b[HAll clear\r\x07\u{202e}\"\n",
    );
    for args in [
        &["check"][..],
        &["check", "-v"],
        &["validate", "-strict", "-summary"],
    ] {
        let out = homelab().args(args).arg(repo).output().unwrap();
        let all = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&all);
        for raw in ['\x1b', '\r', '\x07', '\u{202e}'] {
            assert!(!text.contains(raw), "{args:?} printed {raw:?} raw:\n{text}");
        }
        assert!(
            text.contains("\\x1b[2J"),
            "{args:?}: shown escaped:\n{text}"
        );
    }
}

#[test]
fn verify_evidence_escapes_control_characters() {
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snapshot.yaml");
    std::fs::write(
        &snapshot,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"evil\\e[2J\\e[HAll clear\\r\"\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \"pod\\e]0;title\\a\"\n  namespace: \"evil\\e[2J\\e[HAll clear\\r\"\nspec:\n  containers: [{name: c, image: x}]\n",
    )
    .unwrap();
    for format in ["text", "html"] {
        let out = homelab()
            .args(["verify", "--format", format, "--snapshot"])
            .arg(&snapshot)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("evil"),
            "{format}: the namespace is in the evidence:\n{text}"
        );
        for raw in ['\x1b', '\r', '\x07'] {
            assert!(!text.contains(raw), "{format} printed {raw:?} raw:\n{text}");
        }
    }
}

#[test]
fn a_kind_cannot_steer_a_schema_location_outside_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    // A JSON file elsewhere on the host, whose content a crafted kind would echo.
    write(
        &tmp.path().join("host"),
        "secret.json",
        r#"{"type": "object", "properties": {"data": {"enum": ["HOST-SCHEMA-CONTENT"]}}}"#,
    );
    let schemas = tmp.path().join("schemas");
    std::fs::create_dir_all(&schemas).unwrap();
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "x.yaml",
        "apiVersion: v1\nkind: ../host/secret\nmetadata:\n  name: x\ndata: nope\n",
    );
    let out = homelab()
        .args(["validate", "-schema-location"])
        .arg(format!("{}/{{{{.ResourceKind}}}}.json", schemas.display()))
        .arg(&repo)
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    assert!(!all.contains("HOST-SCHEMA-CONTENT"), "{all}");
    assert!(all.contains("not a valid apiVersion and kind"), "{all}");
}

#[test]
fn a_sops_config_is_never_read_through_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    // A host file that a link named .sops.yaml would make the parse error quote.
    write(
        &tmp.path().join("host"),
        "shadow",
        "root:HOST-SECRET-LINE:19000:0:99999:7:::\n",
    );
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "apps/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n",
    );
    symlink(tmp.path().join("host/shadow"), repo.join(".sops.yaml")).unwrap();
    // A FIFO where a nearer .sops.yaml would be: never opened.
    std::fs::create_dir_all(repo.join("fifo")).unwrap();
    write(
        &repo,
        "fifo/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: f\nstringData:\n  a: b\n",
    );
    assert!(std::process::Command::new("mkfifo")
        .arg(repo.join("fifo/.sops.yaml"))
        .status()
        .unwrap()
        .success());
    for format in FORMATS {
        let out = homelab()
            .args(["check", "--format", format])
            .arg(&repo)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        assert!(!all.contains("HOST-SECRET-LINE"), "{format}: {all}");
        assert!(all.contains("symbolic link"), "{format}: {all}");
    }
}

#[test]
fn kustomizations_that_list_each_other_do_not_stall_check() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write(
        repo,
        "argocd/app.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: demo\n  source:\n    repoURL: https://example.com/r.git\n    path: k/0\n",
    );
    // Twenty levels, each listing itself, its parent and the next level ten times over: one
    // path through them per choice would be 30^20.
    for level in 0..20 {
        let mut resources = Vec::new();
        for _ in 0..10 {
            resources.push(".".to_owned());
            resources.push(format!("../{level}"));
            resources.push(format!("../{}", level + 1));
        }
        write(
            repo,
            &format!("k/{level}/kustomization.yaml"),
            &format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{}  - ns.yaml\n",
                resources.iter().map(|r| format!("  - {r}\n")).collect::<String>()
            ),
        );
        write(repo, &format!("k/{level}/ns.yaml"), NAMESPACE);
    }
    let out = homelab()
        .args(["check", "--format", "json"])
        .arg(repo)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "check was killed: it stalled");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The namespaces are all reachable through the kustomizations: none is unreachable.
    let text = json.to_string();
    assert!(!text.contains("argocd/unreachable"), "{text}");
}

#[test]
fn a_schema_reference_to_a_fifo_does_not_stall_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let schemas = tmp.path().join("schemas");
    for name in ["widget.json", "Widget.json"] {
        write(
            &schemas,
            name,
            r##"{"$ref": "_definitions.json#/definitions/widget"}"##,
        );
    }
    assert!(std::process::Command::new("mkfifo")
        .arg(schemas.join("_definitions.json"))
        .status()
        .unwrap()
        .success());
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    );
    let out = homelab()
        .args(["validate", "-schema-location"])
        .arg(format!("{}/{{{{.ResourceKind}}}}.json", schemas.display()))
        .arg(&repo)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    assert!(
        out.status.code().is_some(),
        "validate was killed: it stalled"
    );
    assert!(all.contains("FIFO"), "{all}");
}

#[test]
fn an_error_never_echoes_a_huge_configuration_line() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write(repo, "ns.yaml", NAMESPACE);
    write(
        repo,
        ".homelab.toml",
        &format!(
            "[check]\nselect = [\"a\"] {}\u{1b}[2J\n",
            "A".repeat(500_000)
        ),
    );
    let out = homelab().arg("check").arg(repo).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(".homelab.toml"), "{stderr}");
    assert!(stderr.len() < 4096, "{} bytes of error", stderr.len());
    assert!(!stderr.contains('\u{1b}'));
}

#[test]
fn the_fingerprint_key_is_never_read_through_a_linked_folder() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("host"), "fingerprint.key", "host key\n");
    let repo = tmp.path().join("repo");
    write(&repo, "ns.yaml", NAMESPACE);
    symlink(tmp.path().join("host"), repo.join(".homelab")).unwrap();
    homelab()
        .arg("check")
        .arg(&repo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".homelab: is a symbolic link"));
}

/// Deeply nested and self-multiplying documents in every input `check`, `render` and `plan`
/// read from a repository: each run ends with a finding or an error naming the file.
#[test]
fn deep_and_exploding_documents_in_every_input_end_the_run() {
    const DEPTH: usize = 100_000;
    let flow = || format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12u8 {
        let (name, prev) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 9].join(", ")
        ));
    }
    let sops_tail =
        "sops:\n  lastmodified: \"2020-01-01T00:00:00Z\"\n  mac: ENC[AES256_GCM,data:x]\n";
    let cases: Vec<(&str, String)> = vec![
        ("deep.yaml", format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata: {}\n", flow())),
        ("deep.json", format!("{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{}}}", flow())),
        ("bomb.yaml", bomb.clone()),
        ("deep.sops.yaml", format!("x: {}\n{sops_tail}", flow())),
        ("bomb.sops.yaml", format!("{bomb}{sops_tail}")),
        ("kustomization.yaml", format!("resources: {}\n", flow())),
        ("kyverno-test.yaml", format!("apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {{name: t}}\npolicies: {}\n", flow())),
        (".sops.yaml", format!("creation_rules: {}\n", flow())),
        (".homelab.toml", format!("a = {}\n", flow())),
        (".secrets.baseline", flow()),
        ("platform.toml", format!("a = {}\n", flow())),
    ];
    for (name, text) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path();
        write(repo, name, &text);
        write(
            repo,
            "apps/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n",
        );
        let mut runs = vec![vec!["check".to_owned(), "--format".into(), "json".into()]];
        if name == "platform.toml" {
            runs.push(vec!["render".into()]);
            runs.push(vec!["plan".into()]);
        }
        for args in runs {
            let out = homelab()
                .args(&args)
                .arg(repo)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
            assert!(
                matches!(out.status.code(), Some(1) | Some(2)),
                "{name} {args:?}: {:?} {}",
                out.status,
                all.chars().take(2000).collect::<String>()
            );
            assert!(
                all.contains(name),
                "{name} {args:?}: the file is not named: {all}"
            );
            assert!(
                all.len() < 64 * 1024,
                "{name} {args:?}: {} bytes of output",
                all.len()
            );
        }
    }
}

/// A file named like a CI runner's workflow command, passed by name (a shell glob does that),
/// never starts a line of text output.
#[test]
fn a_file_name_cannot_start_a_ci_workflow_command() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "::error title=All clear::x.yaml";
    write(
        tmp.path(),
        name,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  a: [1\n",
    );
    for command in ["check", "validate"] {
        let out = homelab()
            .current_dir(tmp.path())
            .args([command, name])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            stdout.contains("::error title=All clear::x.yaml"),
            "{command}: {stdout}"
        );
        assert!(
            stdout.lines().all(|l| !l.starts_with("::")),
            "{command}: {stdout}"
        );
    }
}

/// Names and messages from a repository or a cluster cannot form a CI runner's workflow
/// command in any text output: no line starts with `::` (after spaces, which GitHub Actions
/// skips) and no `##[` / `##vso[` remains, in `check`, `policy apply` and `verify`; the text
/// itself is still shown.
#[test]
fn ci_workflow_commands_in_names_and_messages_are_defused_in_every_text_output() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "policy.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  validationFailureAction: Enforce\n  rules:\n    - name: team-label\n      match:\n        any:\n          - resources:\n              kinds: [ConfigMap]\n      validate:\n        message: \"ok\\n::error title=All clear::nothing to see\\n  ::add-mask::x\\n##[error]fake ##vso[task.complete result=Succeeded]\"\n        pattern:\n          metadata:\n            labels:\n              team: \"?*\"\n",
    );
    write(
        &repo,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"::error::cm\"\n  namespace: default\ndata:\n  a: b\n",
    );
    write(
        tmp.path(),
        "snapshot.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"::error title=All clear::ns ##[error]fake\"\n",
    );
    let runs: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        ("check", vec!["check".into(), repo.clone().into()]),
        (
            "policy apply",
            vec![
                "policy".into(),
                "apply".into(),
                repo.join("policy.yaml").into(),
                "--resource".into(),
                repo.join("cm.yaml").into(),
            ],
        ),
        (
            "verify",
            vec![
                "verify".into(),
                "--snapshot".into(),
                tmp.path().join("snapshot.yaml").into(),
            ],
        ),
    ];
    for (what, args) in runs {
        let out = homelab().args(&args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("All clear"), "{what} shows the text:\n{text}");
        for line in text.lines() {
            assert!(
                !line.trim_start().starts_with("::"),
                "{what} printed a workflow command: {line:?}\n{text}"
            );
            assert!(
                !line.contains("##[") && !line.contains("##vso["),
                "{what} printed an old-style command: {line:?}\n{text}"
            );
        }
    }
}
