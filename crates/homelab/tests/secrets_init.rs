//! `homelab secrets init`: every placeholder of a rendered repository sealed with the
//! cluster's certificate, values generated or given (never printed), idempotent, and kept by
//! `render` and `check`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    keys: PathBuf,
}

impl Repo {
    /// A rendered default repository and a controller key pair beside it.
    fn new() -> Repo {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("repo");
        homelab().arg("init").arg(&dir).assert().success();
        let keys = tmp.path().join("keys");
        homelab()
            .args(["secrets", "keygen", "--bits", "2048", "--out"])
            .arg(&keys)
            .assert()
            .success();
        std::fs::write(tmp.path().join("app.pem"), APP_KEY).expect("write");
        Repo {
            _tmp: tmp,
            dir,
            keys,
        }
    }

    fn cert(&self) -> PathBuf {
        self.keys.join("tls.crt")
    }

    fn app_key(&self) -> PathBuf {
        self.keys.parent().expect("parent").join("app.pem")
    }

    fn read(&self, secret: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("secrets/homelab/{secret}.yaml")))
            .expect("read")
    }

    /// The plaintext of one sealed secret, opened with the controller's private key.
    fn open(&self, secret: &str) -> serde_json::Map<String, Value> {
        let out = homelab()
            .args(["unseal", "-o", "json", "--private-key"])
            .arg(self.keys.join("tls.key"))
            .arg(self.dir.join(format!("secrets/homelab/{secret}.yaml")))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v["data"]
            .as_object()
            .expect("data")
            .iter()
            .map(|(k, v)| {
                let text = decode(v.as_str().expect("base64"));
                (k.clone(), Value::String(text))
            })
            .collect()
    }

    /// `secrets init` with the GitHub App given non-interactively.
    fn init(&self) -> Command {
        let mut cmd = homelab();
        cmd.args(["secrets", "init", "--cert"])
            .arg(self.cert())
            .arg("--from-file")
            .arg(format!(
                "github-app-secret/github_app_private_key={}",
                self.app_key().display()
            ))
            .args([
                "--from-env",
                "github-app-secret/github_app_id=APP_ID",
                "--from-env",
                "github-app-secret/github_app_installation_id=INSTALLATION",
            ])
            .env("APP_ID", "424242")
            .env("INSTALLATION", "31337")
            .env_remove("SEALED_SECRETS_CERT")
            .arg(&self.dir);
        cmd
    }
}

fn decode(b64: &str) -> String {
    let out = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(b64.as_bytes())?;
            c.wait_with_output()
        })
        .expect("base64");
    String::from_utf8(out.stdout).expect("utf-8")
}

const APP_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-real-key-but-a-file-we-can-recognise\n-----END RSA PRIVATE KEY-----\n";

const SECRETS: [&str; 5] = [
    "github-app-secret",
    "litellm-secrets",
    "open-webui-secrets",
    "n8n-secrets",
    "searxng-secrets",
];

fn is_random_hex(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn every_placeholder_is_sealed_and_check_and_render_are_then_clean() {
    let repo = Repo::new();
    // Before: check reports each placeholder as an error.
    let before = homelab()
        .args(["check", "--format", "json"])
        .arg(&repo.dir)
        .output()
        .expect("run");
    assert_eq!(before.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&before.stdout).expect("json");
    let placeholder_errors = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["rule"] == "secrets/unsealed-placeholder" && d["severity"] == "error")
        .count();
    assert_eq!(placeholder_errors, SECRETS.len(), "{report:#}");

    let out = repo.init().output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for name in SECRETS {
        assert!(
            stdout.contains(&format!("sealed     secrets/homelab/{name}.yaml")),
            "{stdout}"
        );
        assert!(!repo.read(name).contains("homelab.dev/placeholder"));
    }
    assert!(stdout.contains("deferred   secrets/homelab/gitlab-runner-token.yaml"));
    assert!(repo
        .read("gitlab-runner-token")
        .contains("homelab.dev/placeholder"));

    // The values are what was asked for, and never printed.
    let github = repo.open("github-app-secret");
    assert_eq!(github["github_app_id"], "424242");
    assert_eq!(github["github_app_installation_id"], "31337");
    assert_eq!(github["github_app_private_key"], APP_KEY);
    let litellm = repo.open("litellm-secrets");
    let webui = repo.open("open-webui-secrets");
    assert!(is_random_hex(&litellm["LITELLM_MASTER_KEY"]));
    assert!(is_random_hex(&litellm["LITELLM_SALT_KEY"]));
    assert_ne!(litellm["LITELLM_MASTER_KEY"], litellm["LITELLM_SALT_KEY"]);
    assert_eq!(webui["OPENAI_API_KEY"], litellm["LITELLM_MASTER_KEY"]);
    assert!(is_random_hex(
        &repo.open("n8n-secrets")["N8N_ENCRYPTION_KEY"]
    ));
    let master = litellm["LITELLM_MASTER_KEY"].as_str().expect("str");
    for shown in [&stdout, &stderr] {
        for secret in ["424242", "31337", "recognise", master] {
            assert!(!shown.contains(secret), "a value was printed: {shown}");
        }
    }

    // check: no error left (the deferred runner token is a note); render keeps them all.
    homelab().arg("check").arg(&repo.dir).assert().code(0);
    homelab()
        .args(["render", "--check"])
        .arg(&repo.dir)
        .assert()
        .code(0);
    let sealed = repo.read("litellm-secrets");
    homelab().arg("render").arg(&repo.dir).assert().code(0);
    assert_eq!(repo.read("litellm-secrets"), sealed);
    homelab()
        .args(["render", "--force"])
        .arg(&repo.dir)
        .assert()
        .code(0);
    assert_eq!(
        repo.read("litellm-secrets"),
        sealed,
        "even --force keeps it"
    );
    homelab()
        .args(["secrets", "init", "--check"])
        .arg(&repo.dir)
        .assert()
        .code(0);

    // Idempotent: a second run keeps every sealed file byte for byte.
    let before: Vec<String> = SECRETS.iter().map(|s| repo.read(s)).collect();
    let again = repo.init().output().expect("run");
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to seal"));
    let after: Vec<String> = SECRETS.iter().map(|s| repo.read(s)).collect();
    assert_eq!(before, after);
}

#[test]
fn rotating_a_secret_reseals_the_values_that_share_it() {
    let repo = Repo::new();
    repo.init().assert().success();
    let litellm = repo.open("litellm-secrets");
    let webui = repo.open("open-webui-secrets");
    let n8n = repo.read("n8n-secrets");
    homelab()
        .args([
            "secrets",
            "init",
            "--rotate",
            "--only",
            "litellm-secrets",
            "--cert",
        ])
        .arg(repo.cert())
        .arg(&repo.dir)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "also       open-webui-secrets/OPENAI_API_KEY",
        ));
    let litellm2 = repo.open("litellm-secrets");
    let webui2 = repo.open("open-webui-secrets");
    assert_ne!(
        litellm2["LITELLM_MASTER_KEY"],
        litellm["LITELLM_MASTER_KEY"]
    );
    assert_eq!(webui2["OPENAI_API_KEY"], litellm2["LITELLM_MASTER_KEY"]);
    assert_eq!(
        webui2["WEBUI_SECRET_KEY"], webui["WEBUI_SECRET_KEY"],
        "the other key of open-webui-secrets is kept"
    );
    assert_eq!(
        repo.read("n8n-secrets"),
        n8n,
        "secrets not named are untouched"
    );
}

#[test]
fn the_deferred_runner_token_is_sealed_when_named() {
    let repo = Repo::new();
    repo.init().assert().success();
    homelab()
        .args([
            "secrets",
            "init",
            "--check",
            "--only",
            "gitlab-runner-token",
        ])
        .arg(&repo.dir)
        .assert()
        .code(1);
    homelab()
        .args(["secrets", "init", "--only", "gitlab-runner-token", "--cert"])
        .arg(repo.cert())
        .args(["--from-env", "gitlab-runner-token/runner-token=TOKEN"])
        .env("TOKEN", "glrt-abcdef")
        .arg(&repo.dir)
        .assert()
        .success();
    let token = repo.open("gitlab-runner-token");
    assert_eq!(token["runner-token"], "glrt-abcdef");
    assert_eq!(token["runner-registration-token"], "");
    homelab()
        .args([
            "secrets",
            "init",
            "--check",
            "--only",
            "gitlab-runner-token",
        ])
        .arg(&repo.dir)
        .assert()
        .code(0);
    // Nothing left at all now: not even the note.
    let out = homelab()
        .args(["check", "--format", "json"])
        .arg(&repo.dir)
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secrets/unsealed-placeholder"));
}

fn tree_digest(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in std::fs::read_dir(dir.join("secrets/homelab")).expect("dir") {
        let path = name.expect("entry").path();
        out.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).expect("read"),
        ));
    }
    out.sort();
    out
}

#[test]
fn missing_credentials_without_a_terminal_write_nothing_and_say_how_to_give_them() {
    let repo = Repo::new();
    let before = tree_digest(&repo.dir);
    let out = homelab()
        .args(["secrets", "init", "--cert"])
        .arg(repo.cert())
        .arg(&repo.dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--from-env github-app-secret/github_app_id=VAR"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--from-file github-app-secret/github_app_private_key=PATH"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(tree_digest(&repo.dir), before);
}

#[test]
fn a_certificate_is_never_taken_from_the_repository() {
    let repo = Repo::new();
    // A repository that carries someone's certificate must not decide who can read the secrets.
    std::fs::copy(repo.cert(), repo.dir.join("pub-sealed-secrets.pem")).expect("copy");
    let before = tree_digest(&repo.dir);
    let out = homelab()
        .args(["secrets", "init"])
        .env_remove("SEALED_SECRETS_CERT")
        .arg(&repo.dir)
        .env("APP_ID", "1")
        .args(["--values", "-"])
        .write_stdin(format!(
            "github-app-secret:\n  github_app_id: \"1\"\n  github_app_installation_id: \"2\"\n  github_app_private_key: |\n    {}\n",
            "x"
        ))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no certificate"));
    assert_eq!(tree_digest(&repo.dir), before);
}

#[test]
fn values_can_come_from_stdin_and_unknown_names_are_refused() {
    let repo = Repo::new();
    homelab()
        .args(["secrets", "init", "--values", "-", "--cert"])
        .arg(repo.cert())
        .arg(&repo.dir)
        .write_stdin("github-app-secret:\n  github_app_idd: \"1\"\n")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("has no key `github_app_idd`"));
    homelab()
        .args(["secrets", "init", "--only", "nope", "--cert"])
        .arg(repo.cert())
        .arg(&repo.dir)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--only nope: no such secret"));
    homelab()
        .args(["secrets", "init", "--values", "-", "--cert"])
        .arg(repo.cert())
        .arg(&repo.dir)
        .write_stdin("github-app-secret:\n  github_app_id: \"7\"\n  github_app_installation_id: \"8\"\n  github_app_private_key: |\n    -----BEGIN KEY-----\n    abc\n    -----END KEY-----\n")
        .assert()
        .success();
    let github = repo.open("github-app-secret");
    assert_eq!(github["github_app_id"], "7");
    assert_eq!(
        github["github_app_private_key"],
        "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
    );
}

#[test]
fn a_secret_sealed_for_another_namespace_is_refused_until_rotated() {
    let repo = Repo::new();
    repo.init().assert().success();
    let toml = repo.dir.join("platform.toml");
    let text = std::fs::read_to_string(&toml).expect("read");
    // Move n8n (and so its secret) to another namespace.
    let moved = text.replacen(
        "[components.n8n]\nenabled = true\nnamespace = \"ai-services\"",
        "[components.n8n]\nenabled = true\nnamespace = \"automation\"",
        1,
    );
    assert_ne!(
        moved, text,
        "the default config layout changed: update this test"
    );
    std::fs::write(&toml, moved).expect("write");
    let before = tree_digest(&repo.dir);
    repo.init()
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "sealed for ai-services/n8n-secrets",
        ))
        .stderr(predicates::str::contains("--rotate --only n8n-secrets"));
    assert_eq!(tree_digest(&repo.dir), before);
}

/// `--fetch-cert` asks the controller through kubectl (a stand-in on PATH answers like the
/// API server's Service proxy).
#[cfg(unix)]
#[test]
fn fetch_cert_asks_the_controller_through_kubectl() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    let bin = repo.keys.parent().expect("parent").join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let log = bin.join("args");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\ncat '{}'\n",
        log.display(),
        repo.cert().display()
    );
    let kubectl = bin.join("kubectl");
    std::fs::write(&kubectl, script).expect("write");
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kubeconfig = bin.join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n").expect("write");
    homelab()
        .env("PATH", &path)
        .args(["secrets", "init", "--fetch-cert", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--only", "n8n-secrets"])
        .arg(&repo.dir)
        .assert()
        .success();
    let args = std::fs::read_to_string(&log).expect("kubectl ran");
    assert!(args.contains("--kubeconfig"), "{args}");
    assert!(
        args.contains(
            "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem"
        ),
        "{args}"
    );
    assert!(is_random_hex(
        &repo.open("n8n-secrets")["N8N_ENCRYPTION_KEY"]
    ));
}

/// On a terminal the credentials are asked for with echo off: the transcript of the session
/// never shows what was typed.
#[cfg(unix)]
#[test]
fn typed_values_are_not_echoed() {
    if !homelab_testkit::require_tool("typed_values_are_not_echoed", "script", &["--version"]) {
        return;
    }
    let repo = Repo::new();
    let bin = assert_cmd::cargo::cargo_bin("homelab");
    let command = format!(
        "{} secrets init --cert {} --only github-app-secret {}",
        bin.display(),
        repo.cert().display(),
        repo.dir.display()
    );
    // Each answer is typed once its prompt shows (echo is off by then).
    let answers = [
        ("github_app_id (", "90210".to_string()),
        ("github_app_installation_id (", "77777".to_string()),
        ("path of the file", repo.app_key().display().to_string()),
    ];
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut transcript = Vec::new();
    let mut stdin = child.stdin.take().expect("stdin");
    for (prompt, answer) in &answers {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !String::from_utf8_lossy(&transcript).contains(prompt) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => transcript.extend(chunk),
                Err(_) => panic!(
                    "no prompt {prompt:?}: {}",
                    String::from_utf8_lossy(&transcript)
                ),
            }
        }
        use std::io::Write;
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .expect("type");
    }
    drop(stdin);
    let status = child.wait().expect("wait");
    reader.join().expect("reader");
    transcript.extend(rx.try_iter().flatten());
    assert!(status.success(), "{}", String::from_utf8_lossy(&transcript));
    let out = std::process::Output {
        status,
        stdout: transcript,
        stderr: Vec::new(),
    };
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        transcript.contains("github-app-secret/github_app_id"),
        "{transcript}"
    );
    assert!(
        !transcript.contains("90210"),
        "a typed secret was echoed: {transcript}"
    );
    assert!(
        !transcript.contains("77777"),
        "a typed secret was echoed: {transcript}"
    );
    let github = repo.open("github-app-secret");
    assert_eq!(github["github_app_id"], "90210");
    assert_eq!(github["github_app_installation_id"], "77777");
    assert_eq!(github["github_app_private_key"], APP_KEY);
}
