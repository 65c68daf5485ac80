//! CLI tests of `homelab seal`, `homelab unseal` and `homelab secrets check-backup`.
//!
//! Keys and certificates are generated here (homelab_seal::keygen), so everything but the
//! `interop_*` tests runs without ../shared. The `interop_*` tests use the vectors in
//! ../shared/interop/sealed-secrets and the independent Python implementation (kubesealpy,
//! `unseal_check.py`); they skip, saying why, when either is missing.

use assert_cmd::Command;
use homelab_seal::keygen::{generate, generate_with_validity, GeneratedKey};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

fn homelab() -> Command {
    Command::cargo_bin("homelab").unwrap()
}

fn key() -> &'static GeneratedKey {
    static K: OnceLock<GeneratedKey> = OnceLock::new();
    K.get_or_init(|| generate(2048, "sealed-secret", Duration::from_secs(86_400)).unwrap())
}

fn other_key() -> &'static GeneratedKey {
    static K: OnceLock<GeneratedKey> = OnceLock::new();
    K.get_or_init(|| generate(2048, "sealed-secret", Duration::from_secs(86_400)).unwrap())
}

/// A temp folder with `cert.pem`, `tls.key` (0600) and `backup.yaml` (a key-backup List, 0600).
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        write(dir.path(), "cert.pem", &k.certificate_pem, 0o644);
        write(dir.path(), "tls.key", &k.private_key_pem, 0o600);
        let list = json!({"apiVersion": "v1", "kind": "List",
            "items": [k.backup_secret("kube-system", "sealed-secrets-keyabcde")]});
        write(
            dir.path(),
            "backup.yaml",
            &serde_json::to_string_pretty(&list).unwrap(),
            0o600,
        );
        write(dir.path(), "other.key", &other_key().private_key_pem, 0o600);
        Fixture { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

const SECRET_YAML: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: app
  labels:
    app: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"hunter2"}}'
type: Opaque
data:
  binary: AP8BAgM=
  empty: ""
stringData:
  password: hunter2
  unicode: "Grüße 世界 🔐"
"#;

fn b64(v: &Value) -> Vec<u8> {
    homelab_seal::crypto::decode_base64_strict(v.as_str().unwrap()).unwrap()
}

fn unseal_json(fx: &Fixture, sealed_path: &Path, key: &str) -> Value {
    let out = homelab()
        .args(["unseal", "--private-key", &fx.p(key), "-o", "json"])
        .arg(sealed_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unseal failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn seal_then_unseal_round_trip_in_every_scope_and_format() {
    let fx = Fixture::new();
    let input = write(fx.dir.path(), "secret.yaml", SECRET_YAML, 0o644);
    for scope in ["strict", "namespace-wide", "cluster-wide"] {
        for format in ["yaml", "json"] {
            let out = homelab()
                .args([
                    "seal",
                    "--cert",
                    &fx.p("cert.pem"),
                    "--scope",
                    scope,
                    "-o",
                    format,
                ])
                .arg(&input)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(!text.contains("hunter2"), "plaintext in the SealedSecret");
            assert!(
                !text.contains("last-applied"),
                "last-applied annotation not stripped"
            );
            if format == "yaml" {
                assert!(
                    text.starts_with("---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"),
                    "{text}"
                );
            } else {
                assert!(text.starts_with("{\n  \"kind\": \"SealedSecret\",\n  \"apiVersion\": \"bitnami.com/v1alpha1\""), "{text}");
            }
            let sealed = write(
                fx.dir.path(),
                &format!("sealed-{scope}.{format}"),
                &text,
                0o644,
            );
            // both key forms: the PEM and the backup List
            for key in ["tls.key", "backup.yaml"] {
                let secret = unseal_json(&fx, &sealed, key);
                assert_eq!(secret["kind"], "Secret");
                assert_eq!(secret["metadata"]["name"], "db");
                assert_eq!(secret["metadata"]["namespace"], "app");
                assert_eq!(secret["metadata"]["labels"]["app"], "db");
                assert_eq!(secret["type"], "Opaque");
                assert_eq!(b64(&secret["data"]["binary"]), [0, 255, 1, 2, 3]);
                assert_eq!(b64(&secret["data"]["empty"]), b"");
                assert_eq!(b64(&secret["data"]["password"]), b"hunter2");
                assert_eq!(b64(&secret["data"]["unicode"]), "Grüße 世界 🔐".as_bytes());
            }
        }
    }
}

#[test]
fn unseal_writes_yaml_by_default_and_reads_stdin() {
    let fx = Fixture::new();
    let sealed = homelab()
        .args(["seal", "--cert", &fx.p("cert.pem")])
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert!(sealed.status.success());
    let out = homelab()
        .args([
            "unseal",
            "--private-key",
            &fx.p("other.key"),
            "--private-key",
            &fx.p("tls.key"),
        ])
        .write_stdin(sealed.stdout)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("kind: Secret\n"), "{text}");
    assert!(text.contains("password: aHVudGVyMg==\n"), "{text}");
}

#[test]
fn several_secrets_seal_to_a_json_stream_that_unseal_reads() {
    let fx = Fixture::new();
    let two = format!(
        "{SECRET_YAML}---\n{}",
        SECRET_YAML.replace("name: db\n", "name: db2\n")
    );
    let out = homelab()
        .args(["seal", "--cert", &fx.p("cert.pem")])
        .write_stdin(two)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = write(
        fx.dir.path(),
        "two.json",
        &String::from_utf8(out.stdout).unwrap(),
        0o644,
    );
    let out = homelab()
        .args(["unseal", "-o", "json", "--private-key", &fx.p("tls.key")])
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(|v| v.unwrap()["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["db", "db2"]);
}

#[test]
fn raw_mode_seals_one_value_without_newline() {
    let fx = Fixture::new();
    let out = homelab()
        .args([
            "seal",
            "--raw",
            "--cert",
            &fx.p("cert.pem"),
            "--namespace",
            "bar",
            "--name",
            "mysecret",
        ])
        .write_stdin("foo\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = String::from_utf8(out.stdout).unwrap();
    assert!(!value.ends_with('\n') && value.starts_with("AQ"), "{value}");
    let wrapped = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "mysecret", "namespace": "bar"},
        "spec": {"encryptedData": {"v": value}}});
    let p = write(fx.dir.path(), "raw.json", &wrapped.to_string(), 0o644);
    let secret = unseal_json(&fx, &p, "tls.key");
    assert_eq!(b64(&secret["data"]["v"]), b"foo\n");

    // --from-file, namespace-wide
    let vf = write(fx.dir.path(), "value.bin", "\u{0}\u{1}bin", 0o600);
    let out = homelab()
        .args([
            "seal",
            "--raw",
            "--cert",
            &fx.p("cert.pem"),
            "--namespace",
            "bar",
            "--scope",
            "namespace-wide",
        ])
        .arg(format!("--from-file=v={}", vf.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrapped = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "anything", "namespace": "bar",
                     "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"}},
        "spec": {"encryptedData": {"v": String::from_utf8(out.stdout).unwrap()}}});
    let p = write(fx.dir.path(), "raw2.json", &wrapped.to_string(), 0o644);
    assert_eq!(
        b64(&unseal_json(&fx, &p, "tls.key")["data"]["v"]),
        b"\x00\x01bin"
    );

    // strict without --name is refused
    homelab()
        .args([
            "seal",
            "--raw",
            "--cert",
            &fx.p("cert.pem"),
            "--namespace",
            "bar",
        ])
        .write_stdin("x")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--name"));
}

#[test]
fn merge_into_adds_and_replaces_items_atomically() {
    let fx = Fixture::new();
    let input = write(fx.dir.path(), "secret.yaml", SECRET_YAML, 0o644);
    let target = fx.path("sealed.yaml");
    homelab()
        .args(["seal", "--cert", &fx.p("cert.pem"), "-w"])
        .arg(&target)
        .arg(&input)
        .assert()
        .success();
    let before = fs::read_to_string(&target).unwrap();
    assert!(
        before.starts_with("---\n"),
        "-w x.yaml writes YAML: {before}"
    );
    homelab()
        .args(["seal", "--cert", &fx.p("cert.pem"), "--merge-into"])
        .arg(&target)
        .write_stdin("kind: Secret\napiVersion: v1\nmetadata:\n  name: whatever\nstringData:\n  password: changed\n  token: new\n")
        .assert()
        .success();
    let secret = unseal_json(&fx, &target, "tls.key");
    assert_eq!(b64(&secret["data"]["password"]), b"changed");
    assert_eq!(b64(&secret["data"]["token"]), b"new");
    assert_eq!(b64(&secret["data"]["binary"]), [0, 255, 1, 2, 3]);
    assert_eq!(secret["metadata"]["name"], "db");
    let leftovers: Vec<_> = fs::read_dir(fx.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn expired_certificate_and_urls_are_refused() {
    let fx = Fixture::new();
    let now = SystemTime::now();
    let expired = generate_with_validity(
        2048,
        "sealed-secret",
        now - Duration::from_secs(7200),
        now - Duration::from_secs(3600),
    )
    .unwrap();
    let cert = write(
        fx.dir.path(),
        "expired.pem",
        &expired.certificate_pem,
        0o644,
    );
    homelab()
        .args(["seal", "--cert"])
        .arg(&cert)
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("expired"));
    homelab()
        .args([
            "seal",
            "--cert",
            "https://sealed-secrets.example.invalid/v1/cert.pem",
        ])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not supported"));
}

#[test]
fn certificate_from_the_environment_like_kubeseal() {
    let fx = Fixture::new();
    homelab()
        .arg("seal")
        .env("SEALED_SECRETS_CERT", fx.p("cert.pem"))
        .write_stdin(SECRET_YAML)
        .assert()
        .success()
        .stdout(predicates::str::contains("\"kind\": \"SealedSecret\""));
    homelab()
        .arg("seal")
        .env_remove("SEALED_SECRETS_CERT")
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--cert"));
}

#[test]
fn empty_secret_needs_allow_empty_data() {
    let fx = Fixture::new();
    let empty = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: e\n  namespace: ns1\n";
    homelab()
        .args(["seal", "--cert", &fx.p("cert.pem")])
        .write_stdin(empty)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--allow-empty-data"));
    homelab()
        .args(["seal", "--cert", &fx.p("cert.pem"), "--allow-empty-data"])
        .write_stdin(empty)
        .assert()
        .success();
}

#[test]
fn private_key_files_readable_by_others_are_refused() {
    let fx = Fixture::new();
    let loose = write(fx.dir.path(), "loose.key", &key().private_key_pem, 0o644);
    homelab()
        .args(["unseal", "--private-key"])
        .arg(&loose)
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("chmod 600"));
    fs::set_permissions(&loose, fs::Permissions::from_mode(0o640)).unwrap();
    homelab()
        .args(["secrets", "check-backup", "--keys"])
        .arg(&loose)
        .arg(fx.dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("group or others"));
}

/// Seals `secret` with the fixture cert into `dir/rel` (YAML).
fn seal_into(fx: &Fixture, secret: &str, dest: &Path) {
    let out = homelab()
        .args(["seal", "--cert", &fx.p("cert.pem"), "-o", "yaml"])
        .write_stdin(secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::write(dest, out.stdout).unwrap();
}

#[test]
fn unseal_refusals_name_the_reason() {
    let fx = Fixture::new();
    let p = fx.path("sealed.yaml");
    seal_into(&fx, SECRET_YAML, &p);
    let text = fs::read_to_string(&p).unwrap();

    // renamed (strict scope)
    let renamed = write(
        fx.dir.path(),
        "renamed.yaml",
        &text.replacen(
            "name: db\n  namespace: app\nspec",
            "name: db2\n  namespace: app\nspec",
            1,
        ),
        0o644,
    );
    homelab()
        .args(["unseal", "--private-key", &fx.p("tls.key")])
        .arg(&renamed)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("wrong scope"));
    // wrong key
    homelab()
        .args(["unseal", "--private-key", &fx.p("other.key")])
        .arg(&p)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("wrong key"));
}

const GITHUB_APP_SECRET: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: github-app-secret
  namespace: arc-runners
type: Opaque
stringData:
  github_app_id: "123456"
  github_app_installation_id: "98765432"
  github_app_private_key: |
    -----BEGIN RSA PRIVATE KEY-----
    MIIEpAIBAAKCAQEAtestonlynotarealkeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    -----END RSA PRIVATE KEY-----
"#;

#[test]
fn github_app_secret_is_recoverable_from_the_key_backup() {
    let fx = Fixture::new();
    let repo = fx.path("repo");
    let sealed = repo.join("secrets/homelab/github-app-secret.yaml");
    seal_into(&fx, GITHUB_APP_SECRET, &sealed);
    fs::write(repo.join("README.md"), "not yaml at all: [").unwrap();
    let out = homelab()
        .args(["secrets", "check-backup", "--keys", &fx.p("backup.yaml")])
        .arg(&repo)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok: SealedSecret arc-runners/github-app-secret (strict): 3 item(s) recoverable with SHA256:"), "{stdout}");
    assert!(
        stdout
            .contains("1 SealedSecret(s) checked with 1 key(s): 1 recoverable, 0 not recoverable"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("123456") && !stdout.contains("BEGIN RSA"),
        "plaintext printed"
    );

    // The sealed file passes `homelab check` (schema, rules, leaked-secret scan).
    let check = homelab()
        .arg("check")
        .arg(repo.join("secrets"))
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "homelab check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // Now break it three ways, each in its own file, and check every reason is named.
    let text = fs::read_to_string(&sealed).unwrap();
    let moved = text.replacen(
        "namespace: arc-runners\nspec",
        "namespace: arc-systems\nspec",
        1,
    );
    assert_ne!(moved, text);
    fs::write(repo.join("secrets/homelab/moved.yaml"), moved).unwrap();
    let sealed_value: Value = {
        let out = homelab()
            .args(["seal", "--cert", &fx.p("cert.pem"), "-o", "json"])
            .write_stdin(GITHUB_APP_SECRET)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let mut tampered = sealed_value.clone();
    let v = tampered["spec"]["encryptedData"]["github_app_id"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if v.ends_with("A==") {
        v.replace("A==", "Q==")
    } else {
        format!("{}A==", &v[..v.len() - 3])
    };
    tampered["spec"]["encryptedData"]["github_app_id"] = json!(flipped);
    tampered["metadata"]["name"] = json!("github-app-secret");
    fs::write(
        repo.join("secrets/homelab/tampered.json"),
        tampered.to_string(),
    )
    .unwrap();
    let other = fx.path("other-repo/sealed.yaml");
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    let out = homelab()
        .args(["seal", "--cert"])
        .arg(write(
            fx.dir.path(),
            "other-cert.pem",
            &other_key().certificate_pem,
            0o644,
        ))
        .args(["-o", "yaml"])
        .write_stdin(GITHUB_APP_SECRET.replace("github-app-secret", "other-key-secret"))
        .output()
        .unwrap();
    fs::write(repo.join("secrets/homelab/other-key.yaml"), out.stdout).unwrap();

    let out = homelab()
        .args(["secrets", "check-backup", "--keys", &fx.p("backup.yaml")])
        .arg(&repo)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("moved.yaml:") && stdout.contains("wrong scope"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tampered.json:") && stdout.contains("item `github_app_id`: tampered"),
        "{stdout}"
    );
    assert!(
        stdout.contains("other-key.yaml:") && stdout.contains("wrong key"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("4 SealedSecret(s) checked with 1 key(s): 1 recoverable, 3 not recoverable"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("123456") && !stdout.contains("BEGIN RSA"),
        "plaintext printed"
    );

    // JSON report
    let out = homelab()
        .args([
            "secrets",
            "check-backup",
            "--format",
            "json",
            "--keys",
            &fx.p("backup.yaml"),
        ])
        .arg(&repo)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["not_recoverable"], 3);
    let statuses: Vec<String> = report["sealed_secrets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| {
            o["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["status"].as_str().unwrap().to_string())
        })
        .collect();
    for s in ["recoverable", "tampered", "wrong-scope", "wrong-key"] {
        assert!(
            statuses.iter().any(|x| x == s),
            "{s} missing from {statuses:?}"
        );
    }
}

#[test]
fn keygen_writes_a_private_key_and_a_usable_backup() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keys");
    homelab()
        .args(["secrets", "keygen", "--bits", "2048", "--out"])
        .arg(&out)
        .assert()
        .success();
    let mode = fs::metadata(out.join("tls.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let sealed = homelab()
        .args(["seal", "--cert"])
        .arg(out.join("tls.crt"))
        .write_stdin(GITHUB_APP_SECRET)
        .output()
        .unwrap();
    assert!(sealed.status.success());
    homelab()
        .args(["unseal", "--private-key"])
        .arg(out.join("sealed-secrets-key.yaml"))
        .write_stdin(sealed.stdout)
        .assert()
        .success()
        .stdout(predicates::str::contains("github_app_id: MTIzNDU2"));
    // never overwrites a key
    homelab()
        .args(["secrets", "keygen", "--bits", "2048", "--out"])
        .arg(&out)
        .assert()
        .code(2);
}

/// `homelab seal` must not touch the network without a URL. With strace, any socket(AF_INET*)
/// or connect() fails the test; without strace, the binary runs in an empty network namespace
/// (`unshare -n`), where any connect fails.
#[test]
fn seal_makes_no_network_access() {
    let fx = Fixture::new();
    let input = write(fx.dir.path(), "secret.yaml", SECRET_YAML, 0o644);
    let bin = assert_cmd::cargo::cargo_bin("homelab");
    let have = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("strace") {
        let trace = fx.path("trace.txt");
        let status = std::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=socket,connect", "-o"])
            .arg(&trace)
            .arg(&bin)
            .args([
                "seal",
                "--cert",
                &fx.p("cert.pem"),
                "-o",
                "yaml",
                "-w",
                &fx.p("out.yaml"),
            ])
            .arg(&input)
            .status()
            .unwrap();
        assert!(status.success());
        let calls = fs::read_to_string(&trace).unwrap();
        let network: Vec<&str> = calls
            .lines()
            .filter(|l| l.contains("connect(") || l.contains("AF_INET"))
            .collect();
        assert!(network.is_empty(), "network syscalls: {network:?}");
        assert!(fs::read_to_string(fx.path("out.yaml"))
            .unwrap()
            .contains("SealedSecret"));
        // The check can fail: the URL form is refused before any socket, but prove strace sees
        // sockets at all with a command that opens one.
        let probe = fx.path("probe.txt");
        let _ = std::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=socket,connect", "-o"])
            .arg(&probe)
            .args([
                "python3",
                "-c",
                "import socket; socket.socket(socket.AF_INET)",
            ])
            .status();
        if let Ok(p) = fs::read_to_string(&probe) {
            if !p.is_empty() {
                assert!(p.contains("AF_INET"), "strace does not report sockets: {p}");
            }
        }
        return;
    }
    let unshare = std::process::Command::new("unshare")
        .args(["-n", "true"])
        .status();
    if !unshare.is_ok_and(|s| s.success()) {
        homelab_testkit::unavailable(
            "seal_makes_no_network_access",
            "neither strace nor `unshare -n` (needs root) is available",
        );
        return;
    }
    let status = std::process::Command::new("unshare")
        .arg("-n")
        .arg(&bin)
        .args([
            "seal",
            "--cert",
            &fx.p("cert.pem"),
            "-o",
            "yaml",
            "-w",
            &fx.p("out.yaml"),
        ])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success(), "seal failed without a network");
}

// ---------------------------------------------------------------------------------------
// Interop with the independent implementation (../shared/interop/sealed-secrets).

fn vectors_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/sealed-secrets");
    if dir.join("manifest.json").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIP interop: ../shared/interop/sealed-secrets is not present");
        None
    }
}

fn python_oracle() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import kubesealpy, yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        homelab_testkit::unavailable(
            "interop (kubesealpy direction)",
            "`pip install kubesealpy==1.0.1` is missing",
        );
    }
    ok
}

/// Copies the TEST-ONLY key files into a private temp folder (the shared copies are
/// world-readable, which `homelab` rightly refuses).
fn private_keys(vectors: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(vectors.join("keys")).unwrap() {
        let entry = entry.unwrap();
        let text = fs::read_to_string(entry.path()).unwrap();
        write(
            dir.path(),
            &entry.file_name().to_string_lossy(),
            &text,
            0o600,
        );
    }
    dir
}

fn compare_with_expected(secret: &Value, expected: &Value, what: &str) {
    assert_eq!(secret["metadata"]["name"], expected["name"], "{what}: name");
    assert_eq!(
        secret["metadata"]["namespace"], expected["namespace"],
        "{what}: namespace"
    );
    assert_eq!(secret["type"], expected["type"], "{what}: type");
    assert_eq!(secret["data"], expected["data"], "{what}: data");
}

fn unseal_docs(keys: &Path, sealed: &Path) -> Result<Vec<Value>, String> {
    let out = homelab()
        .args(["unseal", "-o", "json", "--private-key"])
        .arg(keys)
        .arg(sealed)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).unwrap();
    Ok(serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|v| v.unwrap())
        .collect())
}

#[test]
fn interop_homelab_unseals_every_vector() {
    let Some(v) = vectors_dir() else { return };
    let keys = private_keys(&v);
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(v.join("manifest.json")).unwrap()).unwrap();
    let backup = keys.path().join("controller-keys-backup.TEST-ONLY.yaml");
    let mut opened = 0;
    for vector in manifest["vectors"].as_array().unwrap() {
        let expected: Value = serde_json::from_str(
            &fs::read_to_string(v.join(vector["expected"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let expected: Vec<Value> = match expected {
            Value::Array(a) => a,
            one => vec![one],
        };
        let mut files = vec![vector["sealed"].as_str().unwrap().to_string()];
        for f in vector["sealed_go_shape"].as_array().into_iter().flatten() {
            files.push(f.as_str().unwrap().to_string());
        }
        for file in files {
            let docs =
                unseal_docs(&backup, &v.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(docs.len(), expected.len(), "{file}");
            for (d, e) in docs.iter().zip(&expected) {
                compare_with_expected(d, e, &file);
            }
            opened += 1;
        }
    }
    // Every key-file form opens vector 01 (and 10 needs key 2).
    for keyfile in [
        "key1.TEST-ONLY.pkcs1.pem",
        "key1.TEST-ONLY.pkcs8.pem",
        "key1-secret.TEST-ONLY.yaml",
    ] {
        unseal_docs(
            &keys.path().join(keyfile),
            &v.join("sealed/01-strict-stringdata.yaml"),
        )
        .unwrap();
        assert!(unseal_docs(
            &keys.path().join(keyfile),
            &v.join("sealed/10-sealed-with-key2.yaml")
        )
        .is_err());
    }
    for keyfile in ["key2.TEST-ONLY.pkcs1.pem", "key2.TEST-ONLY.pkcs8.pem"] {
        unseal_docs(
            &keys.path().join(keyfile),
            &v.join("sealed/10-sealed-with-key2.yaml"),
        )
        .unwrap();
    }
    // Layout: homelab's JSON output equals the Go-shaped vectors once ciphertexts are masked.
    for vector in manifest["vectors"].as_array().unwrap() {
        let Some(input) = vector["input"].as_str() else {
            continue;
        };
        let go_shape = vector["sealed_go_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .find(|f| f.ends_with(".json"))
            .unwrap();
        let out = homelab()
            .args(["seal", "-o", "json", "--cert"])
            .arg(v.join(vector["sealed_with"].as_str().unwrap()))
            .arg(v.join(input))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{input}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mask = |text: &str| -> String {
            text.lines()
                .map(|l| match l.find(": \"Ag") {
                    Some(i) => format!(
                        "{}: \"<sealed>\"{}",
                        &l[..i],
                        if l.ends_with(',') { "," } else { "" }
                    ),
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let ours = mask(&String::from_utf8(out.stdout).unwrap());
        let go = mask(&fs::read_to_string(v.join(go_shape)).unwrap());
        assert_eq!(
            ours.trim_end(),
            go.trim_end(),
            "{go_shape}: layout differs from kubeseal's"
        );
    }
    let mut mobility = 0;
    for m in manifest["mobility"].as_array().unwrap() {
        let file = m["sealed"].as_str().unwrap();
        let expected: Value = serde_json::from_str(
            &fs::read_to_string(v.join(m["expected"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let docs = unseal_docs(&backup, &v.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        compare_with_expected(&docs[0], &expected, file);
        mobility += 1;
    }
    // raw vectors, wrapped in a minimal SealedSecret
    let raw: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(v.join("raw/raw-vectors.json")).unwrap()).unwrap();
    for r in &raw {
        let scope = r["scope"].as_str().unwrap();
        let mut meta = json!({"name": r["name"].as_str().unwrap_or("any-name"), "namespace": r["namespace"].as_str().unwrap_or("any-namespace")});
        if scope != "strict" {
            meta["annotations"] = json!({format!("sealedsecrets.bitnami.com/{scope}"): "true"});
        }
        let wrapped = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": meta,
            "spec": {"encryptedData": {"value": r["ciphertext_b64"]}}});
        let p = write(keys.path(), "raw.json", &wrapped.to_string(), 0o600);
        let docs = unseal_docs(&backup, &p).unwrap_or_else(|e| panic!("{}: {e}", r["id"]));
        assert_eq!(
            docs[0]["data"]["value"].as_str().unwrap_or(""),
            r["plaintext_b64"].as_str().unwrap(),
            "{}",
            r["id"]
        );
    }
    let mut refused = 0;
    for n in manifest["negative"].as_array().unwrap() {
        let file = n["sealed"].as_str().unwrap();
        let keyfiles: Vec<String> = n["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                keys.path()
                    .join(Path::new(k.as_str().unwrap()).file_name().unwrap())
                    .display()
                    .to_string()
            })
            .collect();
        let out = homelab()
            .args(["unseal", "-o", "json", "--private-key", &keyfiles.join(",")])
            .arg(v.join(file))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{file} must be refused: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{file}: output despite failure");
        let reason_named = ["wrong scope", "wrong key", "tampered", "malformed"]
            .iter()
            .any(|r| stderr.contains(r));
        assert!(reason_named, "{file}: no reason in {stderr}");
        eprintln!("\n{file}: {}", stderr.lines().nth(1).unwrap_or("").trim());
        refused += 1;
    }
    eprintln!("\ninterop: {opened} sealed files, {mobility} mobility, {} raw opened; {refused} negative refused", raw.len());
    assert_eq!(refused, 13);
}

#[test]
fn interop_fingerprints_match_the_vectors() {
    let Some(v) = vectors_dir() else { return };
    let keys = private_keys(&v);
    let expected: Value =
        serde_json::from_str(&fs::read_to_string(v.join("keys/fingerprints.json")).unwrap())
            .unwrap();
    let out = homelab()
        .args(["secrets", "check-backup", "--format", "json", "--keys"])
        .arg(keys.path().join("controller-keys-backup.TEST-ONLY.yaml"))
        .arg(keys.path().join("cert1.pem")) // a folder arg that holds no SealedSecret
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fps: Vec<&str> = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["fingerprint"].as_str().unwrap())
        .collect();
    assert!(
        fps.contains(&expected["key1"]["ssh_sha256_fingerprint"].as_str().unwrap()),
        "{fps:?}"
    );
    assert!(
        fps.contains(&expected["key2"]["ssh_sha256_fingerprint"].as_str().unwrap()),
        "{fps:?}"
    );
}

#[test]
fn interop_kubesealpy_unseals_what_homelab_seals() {
    let Some(v) = vectors_dir() else { return };
    if !python_oracle() {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(v.join("manifest.json")).unwrap()).unwrap();
    let mut checked = 0;
    for vector in manifest["vectors"].as_array().unwrap() {
        let Some(input) = vector["input"].as_str() else {
            continue;
        };
        let id = vector["id"].as_str().unwrap();
        let cert = v.join(vector["sealed_with"].as_str().unwrap());
        for format in ["yaml", "json"] {
            let dest = out_dir.path().join(format!("{id}.{format}"));
            homelab()
                .args(["seal", "-o", format, "--cert"])
                .arg(&cert)
                .arg(v.join(input))
                .arg("-w")
                .arg(&dest)
                .assert()
                .success();
            let check = std::process::Command::new("python3")
                .arg(v.join("unseal_check.py"))
                .arg(&dest)
                .arg("--expect")
                .arg(v.join(vector["expected"].as_str().unwrap()))
                .output()
                .unwrap();
            assert!(
                check.status.success(),
                "unseal_check.py rejected homelab's {id}.{format}: {}{}",
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr)
            );
            checked += 1;
        }
    }
    // raw values: wrap and check with the oracle
    let raw: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(v.join("raw/raw-vectors.json")).unwrap()).unwrap();
    for r in &raw {
        let scope = r["scope"].as_str().unwrap();
        let plain = b64(&r["plaintext_b64"]);
        let mut cmd = homelab();
        cmd.args(["seal", "--raw", "--scope", scope, "--cert"])
            .arg(v.join("keys/cert1.pem"));
        if let Some(ns) = r["namespace"].as_str() {
            cmd.args(["--namespace", ns]);
        }
        if let Some(n) = r["name"].as_str() {
            cmd.args(["--name", n]);
        }
        let out = cmd.write_stdin(plain.clone()).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            r["id"],
            String::from_utf8_lossy(&out.stderr)
        );
        let mut meta = json!({"name": r["name"].as_str().unwrap_or("any-name"), "namespace": r["namespace"].as_str().unwrap_or("any-namespace")});
        if scope != "strict" {
            meta["annotations"] = json!({format!("sealedsecrets.bitnami.com/{scope}"): "true"});
        }
        let wrapped = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": meta,
            "spec": {"encryptedData": {"value": String::from_utf8(out.stdout).unwrap()}}});
        let p = write(out_dir.path(), "raw.json", &wrapped.to_string(), 0o644);
        let check = std::process::Command::new("python3")
            .arg(v.join("unseal_check.py"))
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}: {}",
            r["id"],
            String::from_utf8_lossy(&check.stderr)
        );
        let got: Value = serde_json::from_slice(&check.stdout).unwrap();
        assert_eq!(
            got["data"]["value"].as_str().unwrap_or(""),
            r["plaintext_b64"].as_str().unwrap(),
            "{}",
            r["id"]
        );
        checked += 1;
    }
    // the expired certificate is refused
    homelab()
        .args(["seal", "--cert"])
        .arg(v.join("keys/cert1-expired.pem"))
        .arg(v.join("inputs/01-strict-stringdata.yaml"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("expired"));
    eprintln!("\ninterop: unseal_check.py accepted {checked} outputs of homelab seal");
}

#[test]
fn weak_and_not_yet_valid_certificates_are_sealed_with_a_warning() {
    let fx = Fixture::new();
    let now = SystemTime::now();
    let weak = generate(1024, "sealed-secret", Duration::from_secs(3600)).unwrap();
    let future = generate_with_validity(
        2048,
        "sealed-secret",
        now + Duration::from_secs(30 * 86_400),
        now + Duration::from_secs(60 * 86_400),
    )
    .unwrap();
    for (name, cert, warning) in [
        ("weak.pem", &weak.certificate_pem, "RSA-1024"),
        ("future.pem", &future.certificate_pem, "not valid before"),
    ] {
        let cert = write(fx.dir.path(), name, cert, 0o644);
        homelab()
            .args(["seal", "--cert"])
            .arg(&cert)
            .write_stdin(SECRET_YAML)
            .assert()
            .success()
            .stdout(predicates::str::contains("SealedSecret"))
            .stderr(predicates::str::contains("warning"))
            .stderr(predicates::str::contains(warning));
    }
    // The controller's own kind of certificate draws no warning.
    homelab()
        .args(["seal", "--cert", &fx.p("cert.pem")])
        .write_stdin(SECRET_YAML)
        .assert()
        .success()
        .stderr(predicates::prelude::PredicateBooleanExt::not(
            predicates::str::contains("warning"),
        ));
}

/// Every file that holds key material is created with mode 0600 by the `open` call itself
/// (never created wider and narrowed afterwards), even with a permissive umask. `strace`
/// shows the mode each file is created with.
#[test]
fn key_files_are_born_private() {
    let test = "key_files_are_born_private";
    if !homelab_testkit::require_tool(test, "strace", &["-V"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.txt");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec strace -f -e trace=open,openat,creat -o \"$1\" \"$2\" secrets keygen --bits 2048 --out \"$3\"")
        .arg("sh")
        .arg(&trace)
        .arg(assert_cmd::cargo::cargo_bin("homelab"))
        .arg(dir.path().join("keys"))
        .output()
        .unwrap();
    let trace = fs::read_to_string(&trace).unwrap_or_default();
    if !out.status.success() && trace.contains("PTRACE") {
        homelab_testkit::unavailable(test, "ptrace is not permitted here");
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Vec<&str> = trace
        .lines()
        .filter(|l| {
            l.contains("O_CREAT") && (l.contains("tls.key") || l.contains("sealed-secrets-key"))
        })
        .collect();
    assert!(created.len() >= 2, "no key file creation traced:\n{trace}");
    for line in created {
        assert!(line.contains(", 0600)"), "created wider than 0600: {line}");
    }
    for name in ["tls.key", "sealed-secrets-key.yaml"] {
        let mode = fs::metadata(dir.path().join("keys").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}
