//! `homelab check` on repositories with SOPS files: encrypted files check clean (their
//! metadata is not an unknown field, their `ENC[…]` values are not leaked secrets); hand
//! edits are found without a key (structure) and with one (MAC); plaintext where a
//! `.sops.yaml` rule says encrypted is an error at the first such value. The encrypted
//! inputs are the vectors sops 3.11.0 wrote (tests/fixtures/sops).

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops")
}

fn homelab() -> Command {
    let mut cmd = Command::cargo_bin("homelab").unwrap();
    // check must never use these, even when they are set.
    cmd.env(
        "SOPS_AGE_KEY_FILE",
        fixtures().join("age/key.TEST-ONLY.txt"),
    )
    .env_remove("HOMELAB_SOPS_AGE_KEY_FILE");
    cmd
}

/// A repository: the fixtures' .sops.yaml and some of its encrypted files.
fn repo(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(fixtures().join(".sops.yaml"), dir.path().join(".sops.yaml")).unwrap();
    for f in files {
        let target = dir.path().join(f);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(fixtures().join(f), target).unwrap();
    }
    dir
}

fn check(dir: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let out = homelab()
        .arg("check")
        .arg(dir)
        .args(["--format", "json", "--ignore-missing-schemas"])
        .args(extra)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let diags = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "note" || d["rule"].as_str().unwrap().starts_with("sops/"))
        .cloned()
        .collect();
    (out.status.code().unwrap(), diags)
}

fn rules(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn at(d: &Value) -> (String, u64, u64) {
    let l = &d["location"];
    (
        l["file"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned(),
        l["line"].as_u64().unwrap(),
        l["column"].as_u64().unwrap(),
    )
}

const ENCRYPTED: [&str; 6] = [
    "secrets/secret.yaml",
    "secrets/multidoc.yaml",
    "multi/secret.yaml",
    "mac-only/secret.yaml",
    "suffix/suffix.yaml",
    "json/config.json",
];

#[test]
fn encrypted_files_check_clean() {
    let dir = repo(&ENCRYPTED);
    let (code, diags) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{diags:#?}");
    assert!(diags.is_empty(), "{diags:#?}");
    // With the right identity, every MAC verifies.
    let key = fixtures().join("age/key.TEST-ONLY.txt");
    let (code, diags) = check(dir.path(), &["--sops-age-key-file", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{diags:#?}");
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn encrypted_credentials_are_not_leaked_secrets() {
    // A values file whose credential-looking keys are encrypted (everything is, by default).
    let dir = repo(&["everything/values.yaml"]);
    let plain = "github_token: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\nadminPassword: Zx8vQ2mN4pL7kR9t\n";
    let file = dir.path().join("everything/creds.yaml");
    fs::write(&file, plain).unwrap();
    let (_, before) = check(dir.path(), &[]);
    assert!(
        rules(&before)
            .iter()
            .any(|r| r == "secrets/leaked-credential"),
        "the plaintext is found: {before:#?}"
    );
    homelab()
        .env("HOME", dir.path())
        .args(["sops", "encrypt", "-i"])
        .arg(&file)
        .assert()
        .success();
    // A Kubernetes object encrypted whole (its apiVersion and kind too) is not an object to
    // validate any more.
    let backup = dir.path().join("everything/keys-backup.yaml");
    fs::write(
        &backup,
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: sealed-secrets-key\n  data:\n    tls.key: a2V5\n",
    )
    .unwrap();
    homelab()
        .env("HOME", dir.path())
        .args(["sops", "encrypt", "-i"])
        .arg(&backup)
        .assert()
        .success();
    let (code, after) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{after:#?}");
    assert!(after.is_empty(), "{after:#?}");
    // Without --ignore-missing-schemas too: no schema is looked for `kind: ENC[...]`.
    homelab().arg("check").arg(dir.path()).assert().success();
}

#[test]
fn plaintext_that_a_rule_says_must_be_encrypted_is_an_error_at_its_first_value() {
    let dir = repo(&["secrets/secret.yaml"]);
    fs::write(
        dir.path().join("secrets/forgotten.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: forgotten\n  namespace: app\ntype: Opaque\nstringData:\n  user: admin\n  password: hunter2hunter2\n",
    )
    .unwrap();
    // Named like an encrypted file: the whole file must be encrypted.
    fs::create_dir_all(dir.path().join("everything")).unwrap();
    fs::write(
        dir.path().join("everything/db.sops.yaml"),
        "host: db\nport: 5432\n",
    )
    .unwrap();
    // Not covered: a ConfigMap, a Secret outside every rule's path, a values file.
    fs::write(
        dir.path().join("secrets/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: app\ndata:\n  a: b\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("other-secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: o\n  namespace: app\nstringData:\n  x: \"${SUBSTITUTED}\"\n",
    )
    .unwrap();
    let (code, diags) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let sops: Vec<&Value> = diags
        .iter()
        .filter(|d| d["rule"] == "sops/not-encrypted")
        .collect();
    assert_eq!(sops.len(), 2, "{diags:#?}");
    assert_eq!(at(sops[0]), ("db.sops.yaml".into(), 1, 7));
    assert_eq!(at(sops[1]), ("forgotten.yaml".into(), 8, 9));
    assert!(sops[1]["message"]
        .as_str()
        .unwrap()
        .contains("creation rule 6"));
    assert!(!sops[1]["message"].as_str().unwrap().contains("admin"));
    // The plain-secret finding for the same file is folded into the SOPS one.
    assert!(
        !rules(&diags).contains(&"secrets/plain-secret".to_owned()),
        "{diags:#?}"
    );
}

/// A creation rule for every file (no `path_regex`, or one any file name matches) says how
/// sops encrypts what one chooses to encrypt, not that every Secret must be: a Secret whose
/// credentials come from Flux variables is not "plaintext that must be encrypted"; one that
/// commits a password is still an error (`secrets/plain-secret`); a file named like an
/// encrypted one must still be.
#[test]
fn a_rule_for_every_file_does_not_make_every_secret_one_to_encrypt() {
    for path_regex in ["", "  - path_regex: \\.ya?ml$\n    "] {
        let dir = tempfile::tempdir().unwrap();
        let rule = if path_regex.is_empty() {
            "  - ".to_owned()
        } else {
            path_regex.to_owned()
        };
        fs::write(
            dir.path().join(".sops.yaml"),
            format!("creation_rules:\n{rule}encrypted_regex: ^(data|stringData)$\n    age: age14sqa5fgq7tzwrjgp42sx6suzd6dtd73dxta6dvx26x0qq2uxyelsjjwyjm\n"),
        )
        .unwrap();
        fs::write(
            dir.path().join("restic.yaml"),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: restic\n  namespace: app\nstringData:\n  RESTIC_REPOSITORY: s3:http://minio.storage.svc:9000/restic/app\n  RESTIC_PASSWORD: ${SECRET_RESTIC_PASSWORD}\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("forgotten.yaml"),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: forgotten\n  namespace: app\nstringData:\n  password: hunter2hunter2\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("db.sops.yaml"),
            "stringData:\n  token: abc123abc123\n",
        )
        .unwrap();
        let (_, diags) = check(dir.path(), &[]);
        let found: Vec<(String, String)> = diags
            .iter()
            .filter(|d| d["severity"] != "note")
            .map(|d| (d["rule"].as_str().unwrap().to_owned(), at(d).0))
            .collect();
        assert_eq!(
            found,
            [
                ("sops/not-encrypted".to_owned(), "db.sops.yaml".to_owned()),
                (
                    "secrets/plain-secret".to_owned(),
                    "forgotten.yaml".to_owned()
                ),
            ],
            "{path_regex:?}: {diags:#?}"
        );
    }
}

#[test]
fn a_sops_yaml_above_the_checked_folder_is_not_used() {
    let dir = repo(&[]);
    let inner = dir.path().join("secrets");
    fs::create_dir_all(&inner).unwrap();
    fs::write(
        inner.join("forgotten.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: f\n  namespace: app\nstringData:\n  p: hunter2hunter2\n",
    )
    .unwrap();
    let (_, diags) = check(&inner, &[]);
    assert!(
        !rules(&diags).contains(&"sops/not-encrypted".to_owned()),
        "{diags:#?}"
    );
    // A broken .sops.yaml inside is reported at its line.
    fs::write(
        inner.join(".sops.yaml"),
        "creation_rules:\n  - path_regex: \"(\"\n",
    )
    .unwrap();
    let (_, diags) = check(&inner, &[]);
    let config: Vec<&Value> = diags
        .iter()
        .filter(|d| d["rule"] == "sops/config")
        .collect();
    assert_eq!(config.len(), 1, "{diags:#?}");
    assert_eq!(at(config[0]).1, 2);
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn value_line(dir: &Path, file: &str, key: &str) -> String {
    fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap()
        .to_owned()
}

#[test]
fn hand_edits_found_without_a_key() {
    let dir = repo(&ENCRYPTED);
    let d = dir.path();
    // Plaintext put where a value was encrypted (under mac_only_encrypted too).
    let token = value_line(d, "mac-only/secret.yaml", "token");
    edit(d, "mac-only/secret.yaml", &token, "    token: K10injected");
    // A broken ciphertext (bad base64).
    let ca = value_line(d, "secrets/secret.yaml", "ca.crt");
    edit(
        d,
        "secrets/secret.yaml",
        &ca,
        &ca.replacen("data:", "data:!", 1),
    );
    // The crypt rule changed in the metadata.
    edit(
        d,
        "suffix/suffix.yaml",
        "encrypted_suffix: _secret",
        "encrypted_suffix: _nothing",
    );
    // A truncated file.
    let path = d.join("multi/secret.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, &text[..text.find("lastmodified").unwrap()]).unwrap();
    // A value copied from another key.
    let a = value_line(d, "secrets/multidoc.yaml", "a");
    let b = value_line(d, "secrets/multidoc.yaml", "b");
    edit(
        d,
        "secrets/multidoc.yaml",
        &b,
        &format!("    b:{}", a.split_once(':').unwrap().1),
    );
    // lastmodified that is not a time.
    edit(
        d,
        "json/config.json",
        "\"lastmodified\": \"",
        "\"lastmodified\": \"x",
    );

    let (code, diags) = check(d, &[]);
    assert_eq!(code, 1);
    let mut files: Vec<String> = diags
        .iter()
        .filter(|d| d["rule"] == "sops/structure")
        .map(|d| at(d).0)
        .collect();
    files.sort();
    files.dedup();
    assert_eq!(
        files,
        ["config.json", "multidoc.yaml", "secret.yaml", "suffix.yaml"],
        "{diags:#?}"
    );
    let messages: Vec<&str> = diags
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    let has = |s: &str| messages.iter().any(|m| m.contains(s));
    assert!(has("`stringData.token` is plaintext"), "{messages:#?}");
    assert!(
        has("`data.ca.crt` is a broken encrypted value"),
        "{messages:#?}"
    );
    assert!(has("does not select it"), "{messages:#?}");
    assert!(has("copied from `stringData.a`"), "{messages:#?}");
    assert!(has("not an RFC 3339 time"), "{messages:#?}");
    // The truncated file (no MAC): reported too.
    assert!(
        diags.iter().any(|d| at(d).0 == "secret.yaml"
            && d["location"]["file"].as_str().unwrap().contains("multi")),
        "{diags:#?}"
    );
    // No value is shown.
    assert!(!messages.iter().any(|m| m.contains("K10injected")));
}

#[test]
fn hand_edits_found_with_a_key() {
    let dir = repo(&[
        "secrets/secret.yaml",
        "secrets/multidoc.yaml",
        "mac-only/secret.yaml",
    ]);
    let d = dir.path();
    // Invisible without a key: an unencrypted field edited, two values swapped.
    edit(
        d,
        "secrets/secret.yaml",
        "name: k3s-join",
        "name: k3s-joined",
    );
    let a = value_line(d, "secrets/multidoc.yaml", "a");
    let b = value_line(d, "secrets/multidoc.yaml", "b");
    let (_, a_val) = a.split_once(": ").unwrap();
    let (_, b_val) = b.split_once(": ").unwrap();
    edit(d, "secrets/multidoc.yaml", &a, &format!("    a: {b_val}"));
    edit(d, "secrets/multidoc.yaml", &b, &format!("    b: {a_val}"));
    // Allowed under mac_only_encrypted.
    edit(
        d,
        "mac-only/secret.yaml",
        "name: k3s-join",
        "name: k3s-joined",
    );
    let (code, diags) = check(d, &[]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");
    let key = fixtures().join("age/key.TEST-ONLY.txt");
    let (code, diags) = check(d, &["--sops-age-key-file", key.to_str().unwrap()]);
    assert_eq!(code, 1);
    let mac: Vec<(String, u64, u64)> = diags
        .iter()
        .filter(|d| d["rule"] == "sops/mac-mismatch")
        .map(at)
        .collect();
    assert_eq!(mac.len(), 2, "{diags:#?}");
    assert!(diags
        .iter()
        .any(|d| d["message"].as_str().unwrap().contains("MAC mismatch")));
    assert!(diags.iter().any(|d| d["message"]
        .as_str()
        .unwrap()
        .contains("`stringData.a` cannot be decrypted")));
    // An identity that is not a recipient: a note, not an error.
    let other = fixtures().join("age/other.TEST-ONLY.txt");
    let (_, diags) = homelab_check_verbose(d, &other);
    assert!(
        rules(&diags).contains(&"sops/unverified".to_owned()),
        "{diags:#?}"
    );
    // The environment variable works like the flag.
    let out = homelab()
        .env("HOMELAB_SOPS_AGE_KEY_FILE", &key)
        .arg("check")
        .arg(d)
        .args(["--format", "json", "--ignore-missing-schemas"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

fn homelab_check_verbose(dir: &Path, key: &Path) -> (i32, Vec<Value>) {
    check(dir, &["--sops-age-key-file", key.to_str().unwrap()])
}

#[test]
fn objects_encrypted_one_by_one_and_joined_are_each_checked_as_their_own_file() {
    // Two Secrets, each encrypted on its own (different data keys and MACs), joined into one
    // file: Flux decrypts each object with its own block, so this is no broken file.
    let dir = repo(&[]);
    let d = dir.path();
    let first = fs::read_to_string(fixtures().join("secrets/secret.yaml")).unwrap();
    let second = fs::read_to_string(fixtures().join("multi/secret.yaml")).unwrap();
    fs::create_dir_all(d.join("secrets")).unwrap();
    fs::write(
        d.join("secrets/joined.yaml"),
        format!("{first}---\n{second}"),
    )
    .unwrap();
    let separately = |diags: &[Value]| {
        diags
            .iter()
            .filter(|d| {
                d["rule"] == "sops/structure"
                    && d["severity"] == "note"
                    && d["message"]
                        .as_str()
                        .unwrap()
                        .contains("encrypted separately")
            })
            .count()
    };
    let (code, diags) = check(d, &[]);
    assert_eq!(code, 0, "{diags:#?}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(separately(&diags), 1, "{diags:#?}");
    // With the key, each object's MAC verifies against its own block.
    let key = fixtures().join("age/key.TEST-ONLY.txt");
    let (code, diags) = check(d, &["--sops-age-key-file", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{diags:#?}");
    assert_eq!(separately(&diags), 1, "{diags:#?}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    // A hand edit in the second object is still found, at its line.
    let text = fs::read_to_string(d.join("secrets/joined.yaml")).unwrap();
    let (head, tail) = text.split_at(text.find("\n---\n").unwrap() + 1);
    let token = tail
        .lines()
        .find(|l| l.trim_start().starts_with("token:"))
        .expect("the second Secret has a token");
    let line_no = head.lines().count()
        + tail
            .lines()
            .position(|l| l == token)
            .expect("the token line")
        + 1;
    let edited = format!(
        "{head}{}",
        tail.replacen(token, "    token: K10injected", 1)
    );
    fs::write(d.join("secrets/joined.yaml"), edited).unwrap();
    let (code, diags) = check(d, &[]);
    assert_eq!(code, 1, "{diags:#?}");
    let errors: Vec<&Value> = diags
        .iter()
        .filter(|d| d["severity"] == "error" && d["rule"] == "sops/structure")
        .collect();
    assert_eq!(errors.len(), 1, "{diags:#?}");
    assert_eq!(at(errors[0]).1 as usize, line_no, "{diags:#?}");
    assert!(!errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("K10injected"));
}

/// Public keys and certificates in a Secret that a creation rule covers leak nothing: a note
/// says the file breaks the repository's convention, never an error that asks to rotate them.
/// A password beside a public key is still the error, at the password.
#[test]
fn public_keys_where_a_rule_says_encrypted_are_a_note_and_a_password_beside_them_an_error() {
    let dir = repo(&["secrets/secret.yaml"]);
    // base64 of a PEM CERTIFICATE block.
    let cert_b64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lVUTJWeWRHbG1hV05oZEdVPQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";
    fs::write(
        dir.path().join("secrets/ssh-public-keys.yaml"),
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: keys\n  namespace: app\nstringData:\n  authorized_keys: |\n    ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0b3Jlb2Zw alice@laptop\n    ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB bob@desk\ndata:\n  ca.crt: {cert_b64}\n"),
    )
    .unwrap();
    fs::write(
        dir.path().join("secrets/mixed.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mixed\n  namespace: app\nstringData:\n  authorized_keys: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0b3Jlb2Zw alice@laptop\n  password: hunter2hunter2\n",
    )
    .unwrap();
    let (code, diags) = check(dir.path(), &[]);
    assert_eq!(code, 1, "{diags:#?}");
    let sops: Vec<(&str, (String, u64, u64))> = diags
        .iter()
        .filter(|d| d["rule"] == "sops/not-encrypted")
        .map(|d| (d["severity"].as_str().unwrap(), at(d)))
        .collect();
    assert_eq!(
        sops,
        [
            ("error", ("mixed.yaml".into(), 8, 13)),
            ("note", ("ssh-public-keys.yaml".into(), 8, 5)),
        ],
        "{diags:#?}"
    );
    assert!(
        !rules(&diags).contains(&"secrets/plain-secret".to_owned()),
        "{diags:#?}"
    );
}
