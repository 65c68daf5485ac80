//! # `secrets/leaked-credential`: private key or token in a file
//!
//! ## What it checks
//! Every file's text for credentials with a known shape: PEM private keys
//! (`-----BEGIN ... PRIVATE KEY-----` and its footer around key material: not around `...`
//! or a template placeholder, nor a header that no footer follows, as in a comment saying
//! what a key starts with), GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`,
//! `ghr_`, `github_pat_`), GitLab tokens (`glpat-`, runner tokens `glrt-`), AWS access key
//! ids (`AKIA...`), Slack tokens (`xox.-`), unless the token is a stand-in (`ghp_xxxx...`,
//! AWS's documented `AKIAIOSFODNN7EXAMPLE`, `xoxb-your-token-here`); and every YAML value under a key named like a
//! password, secret, token or API key whose value looks random (long and high-entropy).
//! Names are not credentials: a value that names an environment variable the program
//! expands (`token: $INFLUXDB_TOKEN` in a Grafana datasource), a value that names a Secret or a key
//! (`backupTargetCredentialSecret: longhorn-s3-secret`,
//! `secretKey: REGISTRY_STORAGE_S3_ACCESSKEY`: words joined by `-`, `_` or `.`), file paths
//! (also a file or folder of the repository named relative to the file:
//! `1password: .taskfiles/1password`),
//! the example tokens of vendors' documentation whose ids count up
//! (`xoxb-1234567890-1234567890123-...`),
//! password hashes (bcrypt, crypt, argon2: what a server stores instead of the password),
//! and the whole of an ExternalSecret (its keys name entries of an external store), are
//! skipped.
//! In a third-party package installed into the repository (an Ansible collection that
//! `ansible-galaxy` installed, with its `MANIFEST.json` and `FILES.json`; `node_modules/`;
//! a Python environment's `site-packages/` or `dist-packages/`),
//! a finding is a note: the keys and tokens there are that project's test fixtures and
//! examples, published with it, not credentials of this repository. So is a finding in a
//! unit test's source file (`*_test.go`, `test_*.py`, `*.spec.ts`): the key a test makes up
//! to exercise the code.
//! Findings listed in the repository's `.secrets.baseline` (detect-secrets format: the
//! SHA-1 `hashed_secret` of the value) are accepted.
//!
//! ## Why
//! A credential in git is leaked to every clone, CI runner and fork, and stays in the
//! history after deletion. The guide runs `detect-private-key` and `detect-secrets` in
//! pre-commit for this reason; GitHub access for runners must go through a GitHub App
//! whose key is sealed, never a PAT in a values file.
//!
//! ## Example
//! ```yaml
//! githubConfigSecret:
//!   github_token: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB
//! ```
//!
//! ## Fix
//! Remove the value, rotate it (it is in the history), and provide it as a SealedSecret
//! (`homelab seal`). For a false positive, add its hash to `.secrets.baseline`
//! (`detect-secrets scan --baseline .secrets.baseline`) or suppress the line with
//! `# homelab: ignore[secrets/leaked-credential] reason`.
//! Findings show a keyed fingerprint (see `fingerprint`), never the value.

use crate::{Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Location, Severity};
use homelab_manifest::Class;
use regex::Regex;
use serde_json::Value;
use sha1::{Digest, Sha1};
use std::sync::OnceLock;

pub struct LeakedCredential;

pub(crate) struct Pattern {
    what: &'static str,
    pub(crate) regex: Regex,
}

pub(crate) fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        let p = |what, re: &str| Pattern { what, regex: Regex::new(re).expect("valid pattern") };
        vec![
            p(PEM, r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
            p("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
            p("a GitLab token", r"\b(?:glpat-[A-Za-z0-9_\-]{20,}|glrt-[A-Za-z0-9_\-]{20,}|GR1348941[A-Za-z0-9_\-]{20,})"),
            p("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
            p("a Slack token", r"\bxox[baprs]-[A-Za-z0-9-]{10,}"),
        ]
    })
}

const PEM: &str = "a PEM private key";

/// Whether the text after a PEM header holds key material before its footer: a run of
/// base64 as long as a line of a key. A header around `...` or a template placeholder (the
/// commented-out slot of a sample configuration) is no key; nor is a header that no footer
/// follows (a comment saying what a key starts with: `key should start with -----BEGIN RSA
/// PRIVATE KEY-----`), nor a block whose middle is elided with a line of `...`
/// (documentation showing the first and last lines of an example key).
fn pem_has_body(after: &str) -> bool {
    let mut end = after.len().min(8192);
    while !after.is_char_boundary(end) {
        end -= 1;
    }
    let window = &after[..end];
    let Some(footer) = window.find("-----END") else {
        return false;
    };
    let body = &window[..footer];
    let elided = body
        .split('\n')
        .flat_map(|line| line.split("\\n"))
        .any(|line| {
            matches!(
                line.trim_matches(|c: char| c.is_whitespace() || matches!(c, '#' | '"' | '\'')),
                "..." | "\u{2026}"
            )
        });
    !elided
        && body
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
            .any(|run| run.len() >= 40)
}

/// A token of a known shape that documentation shows as an example, not a credential: its
/// fields of digits (`-`/`_`-separated) all count up (`xoxb-1234567890-1234567890123-...`,
/// the documentation's stand-ins for a team and a user id). No issued token has that.
fn documented_example(token: &str) -> bool {
    let digits: Vec<&str> = token
        .split(['-', '_'])
        .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let counting = |field: &&str| {
        field.len() >= 9
            && field
                .as_bytes()
                .windows(2)
                .all(|w| w[1] == if w[0] == b'9' { b'0' } else { w[0] + 1 })
    };
    !digits.is_empty() && digits.iter().all(counting)
}

/// The SHA-1 hex of a secret, as detect-secrets writes `hashed_secret` in its baseline.
pub fn hashed_secret(secret: &str) -> String {
    hex::encode(Sha1::digest(secret.as_bytes()))
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let n = s.chars().count() as f64;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Key names that hold a credential value (not a reference to one such as `secretName`).
pub(crate) fn is_credential_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let holds = [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "credentials",
        "clientsecret",
    ]
    .iter()
    .any(|w| k.ends_with(w));
    // A `checksum/secret` annotation holds a digest of a rendered Secret (Helm charts use it
    // to roll Pods when the Secret changes), not the Secret's value.
    let reference = k.starts_with("existing")
        || k.contains("checksum")
        || ["name", "ref", "file", "path", "secretkey"]
            .iter()
            .any(|w| k.ends_with(w) && !k.ends_with("accesskey") && k != "secretkey")
        || k.contains("secretref")
        || k.contains("secretname");
    holds && !reference
}

/// A UUID (`3f2b9c71-8d4e-4a6b-9f12-c7e5a0d3b8e4`): API keys often have this shape.
fn uuid_shaped(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A value that names something (a Secret, a key, an environment variable) rather than
/// holding a secret: words joined by `-`, `_`, `.` or `/`, each short and of one case
/// (`longhorn-s3-secret`, `REGISTRY_STORAGE_S3_ACCESSKEY`, `app.kubernetes.io/name`).
fn names_something(v: &str) -> bool {
    if uuid_shaped(v) {
        return false;
    }
    let words: Vec<&str> = v.split(['-', '_', '.', '/']).collect();
    let word = |w: &&str| {
        !w.is_empty()
            && w.len() <= 16
            && w.chars().all(|c| c.is_ascii_alphanumeric())
            && (w.chars().all(|c| !c.is_ascii_uppercase())
                || w.chars().all(|c| !c.is_ascii_lowercase()))
    };
    words.len() >= 2 && words.iter().all(word)
}

/// The folders (source-name prefixes, ending in `/`) of third-party packages installed into
/// the repository: an Ansible collection as `ansible-galaxy` installs it
/// (`ansible_collections/<namespace>/<name>/` with its `MANIFEST.json` and `FILES.json`) and
/// whatever lies under `node_modules/`, `site-packages/` or `dist-packages/`. Their files are another project's, published with it.
fn installed_packages(repo: &Repo) -> Vec<String> {
    let names: std::collections::BTreeSet<&str> =
        repo.sources.iter().map(|s| s.name.as_str()).collect();
    let mut out = Vec::new();
    for name in &names {
        let Some(dir) = name.strip_suffix("/MANIFEST.json") else {
            continue;
        };
        let collection = dir
            .rsplit('/')
            .nth(2)
            .is_some_and(|parts| parts == "ansible_collections");
        if collection && names.contains(format!("{dir}/FILES.json").as_str()) {
            out.push(format!("{dir}/"));
        }
    }
    // npm's packages, and a Python environment's (a committed virtualenv or `pip install
    // --target`).
    for folder in ["node_modules", "site-packages", "dist-packages"] {
        let inner = format!("/{folder}/");
        for name in &names {
            let at = if name.starts_with(&inner[1..]) {
                Some(0)
            } else {
                name.find(&inner).map(|i| i + 1)
            };
            if let Some(i) = at {
                let dir = &name[..i + inner.len() - 1];
                if !out.iter().any(|p| p == dir) {
                    out.push(dir.to_string());
                }
            }
        }
    }
    out
}

/// A unit test's source file, named by its language's test convention: Go `*_test.go`,
/// Python `test_*.py` and `*_test.py`, JavaScript and TypeScript `*.test.*` and `*.spec.*`.
/// Their build tools never ship these files; the keys in them are test inputs.
fn is_unit_test_source(file: &str) -> bool {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let script = [".js", ".ts", ".mjs", ".cjs", ".jsx", ".tsx"];
    name.ends_with("_test.go")
        || (name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py")))
        || script.iter().any(|ext| {
            name.strip_suffix(ext)
                .is_some_and(|stem| stem.ends_with(".test") || stem.ends_with(".spec"))
        })
}

/// Whether `value` names a file or folder of the repository, relative to the folder of the
/// document that holds it (a Taskfile's `includes: {1password: .taskfiles/1password}`): a
/// path, not a credential. Only names already loaded are compared; nothing is opened.
fn names_repository_path(repo: &Repo, doc: &homelab_manifest::Document, value: &str) -> bool {
    let relative = repo.relative_path(doc);
    let dir = relative.rsplit_once('/').map_or("", |(d, _)| d);
    let joined = if dir.is_empty() {
        value.to_string()
    } else {
        format!("{dir}/{value}")
    };
    let Some(path) = homelab_manifest::engines::normalise(std::path::Path::new(&joined)) else {
        return false;
    };
    let path = path.to_string_lossy().replace('\\', "/");
    !path.is_empty() && (repo.folders().contains(&path) || repo.files().any(|f| f == path))
}

/// A whole value that names an environment variable the reading program expands
/// (`$INFLUXDB_TOKEN`, as Grafana's provisioning files and shells do): upper case, digits
/// and `_` after the `$`, no random mix of cases.
fn environment_reference(v: &str) -> bool {
    v.strip_prefix('$').is_some_and(|name| {
        name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Whether a value (or a token-shaped match) is a stand-in written for a reader to replace:
/// `changeme`, `AKIAIOSFODNN7EXAMPLE` (AWS's documented example key), `ghp_xxxx...`,
/// `xoxb-your-slack-bot-token-here`, `<token>`.
fn is_placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    [
        "changeme",
        "replace",
        "example",
        "placeholder",
        "xxxx",
        "your",
        "<",
        "dummy",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// A run of eight or more characters that count up (`0123456789`, `abcdefgh`): written by
/// hand as a stand-in (`test-credential-0123456789abcdef...`); no generator produces one.
fn counts_up(v: &str) -> bool {
    let bytes = v.as_bytes();
    let mut run = 1;
    for pair in bytes.windows(2) {
        run = if pair[0].is_ascii_alphanumeric() && pair[1] == pair[0].wrapping_add(1) {
            run + 1
        } else {
            1
        };
        if run >= 8 {
            return true;
        }
    }
    false
}

/// Base64 of words (`dGVzdF9vYXV0aF9qd3Rfc2VjcmV0...` is `test_oauth_jwt_secret...`): a
/// stand-in written to look encoded. A generated secret encodes random bytes.
fn encodes_words(v: &str) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(v).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|text| names_something(text.trim_matches(['_', '-', '.'])))
}

/// A value that looks like a real credential rather than a name, a placeholder or a template.
fn looks_random(v: &str) -> bool {
    let v = v.trim();
    if v.len() < 12
        || crate::is_secret_reference(v)
        || v.contains(' ')
        || names_something(v)
        || environment_reference(v)
        || counts_up(v)
        || encodes_words(v)
    {
        return false;
    }
    // A file path names where the secret is; a password hash (bcrypt, crypt, argon2) is
    // what a server stores instead of the password.
    if v.starts_with(['/', '~']) || v.starts_with("./") || v.starts_with("../") {
        return false;
    }
    if [
        "$2a$", "$2b$", "$2y$", "$1$", "$5$", "$6$", "$argon2", "$pbkdf2", "{SSHA}", "{SHA}",
    ]
    .iter()
    .any(|p| v.starts_with(p))
    {
        return false;
    }
    if is_placeholder(v) {
        return false;
    }
    let classes = [
        v.chars().any(|c| c.is_ascii_lowercase()),
        v.chars().any(|c| c.is_ascii_uppercase()),
        v.chars().any(|c| c.is_ascii_digit()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    classes >= 2 && entropy(v) >= 3.5
}

impl Rule for LeakedCredential {
    fn id(&self) -> &'static str {
        "secrets/leaked-credential"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Private key, token or password committed in a file"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let packages = installed_packages(repo);
        let mut report = |location: Location,
                          what: String,
                          file_text: &str,
                          secret: &str,
                          object: Option<String>| {
            if settings.secrets_baseline.contains(&hashed_secret(secret)) {
                return;
            }
            let package = packages
                .iter()
                .find(|p| location.file.starts_with(p.as_str()));
            let (severity, what) = match package {
                Some(p) => (
                    Severity::Note,
                    format!(
                        "{what}, inside the third-party package installed at `{}`: a test fixture or example of that project, published with it",
                        p.trim_end_matches('/')
                    ),
                ),
                None if is_unit_test_source(&location.file) => (
                    Severity::Note,
                    format!(
                        "{what}, inside a unit test of the project's code: a key or token its test makes up to exercise the code, not one a cluster uses"
                    ),
                ),
                None => (self.severity(), what),
            };
            let mut d = Diagnostic::new(self.id(), severity, what)
                .at(location)
                .with_fingerprint(crate::fingerprint::of(
                    settings.fingerprint_key.as_ref(),
                    file_text,
                    secret.as_bytes(),
                ))
                .with_help("remove it, rotate it (it is in the git history) and provide it as a SealedSecret; if it is a false positive, add it to .secrets.baseline or suppress the line with a reason");
            if let Some(o) = object {
                d = d.with_object(o);
            }
            out.push(d);
        };
        for source in repo.sources {
            for (i, line) in source.text.lines().enumerate() {
                // Where the line starts in the text (a PEM body is on the lines after it).
                let start = line.as_ptr() as usize - source.text.as_ptr() as usize;
                for p in patterns() {
                    for m in p.regex.find_iter(line) {
                        if p.what == PEM && !pem_has_body(&source.text[start + m.end()..]) {
                            continue;
                        }
                        if p.what != PEM
                            && (is_placeholder(m.as_str()) || documented_example(m.as_str()))
                        {
                            continue;
                        }
                        let column = line[..m.start()].chars().count() as u32 + 1;
                        report(
                            Location::new(source.name.clone(), i as u32 + 1, column),
                            format!("{} is committed in this file", p.what),
                            &source.text,
                            m.as_str(),
                            None,
                        );
                    }
                }
            }
        }
        for doc in repo.documents {
            if !matches!(doc.class, Class::Object | Class::NotKubernetes { .. }) {
                continue;
            }
            if matches!(doc.kind(), Some("Secret" | "SealedSecret")) {
                continue; // plain Secrets have their own rule; sealed values are ciphertext
            }
            if doc.group() == "external-secrets.io" {
                continue; // every key and property of an ExternalSecret names a remote entry
            }
            let mut stack: Vec<(String, &Value)> = vec![(String::new(), &doc.value)];
            while let Some((pointer, value)) = stack.pop() {
                match value {
                    Value::Object(map) => {
                        for (k, v) in map {
                            let child =
                                format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                            if let Value::String(s) = v {
                                if is_credential_key(k)
                                    && looks_random(s)
                                    && !patterns().iter().any(|p| p.regex.is_match(s))
                                    && !names_repository_path(repo, doc, s)
                                {
                                    report(
                                        doc.value_location(&child),
                                        format!("`{k}` holds what looks like a real credential"),
                                        &doc.source.text,
                                        s,
                                        matches!(doc.class, Class::Object).then(|| doc.id()),
                                    );
                                }
                            } else {
                                stack.push((child, v));
                            }
                        }
                    }
                    Value::Array(items) => {
                        for (i, v) in items.iter().enumerate() {
                            stack.push((format!("{pointer}/{i}"), v));
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_test_sources_are_named_by_convention() {
        for f in [
            "pkg/pki/generate_test.go",
            "tests/test_auth.py",
            "a/auth_test.py",
            "web/src/login.spec.ts",
            "x.test.js",
        ] {
            assert!(is_unit_test_source(f), "{f}");
        }
        for f in [
            "pkg/pki/generate.go",
            "testing.go",
            "test/e2e/fixtures.go",
            "latest.py",
            "values.yaml",
            "contest.js",
        ] {
            assert!(!is_unit_test_source(f), "{f}");
        }
    }

    #[test]
    fn credential_keys_exclude_references() {
        for k in [
            "password",
            "adminPassword",
            "github_token",
            "apiKey",
            "client_secret",
            "AWS_SECRET_ACCESS_KEY",
            "masterkey_token",
        ] {
            assert!(is_credential_key(k), "{k}");
        }
        for k in [
            "existingSecret",
            "secretName",
            "passwordSecretRef",
            "tokenFile",
            "secretKeyRef",
            "githubConfigSecret_name",
            "checksum/secret",
            "checksum/client-secret",
        ] {
            assert!(!is_credential_key(k), "{k}");
        }
    }

    #[test]
    fn a_pem_header_is_a_key_only_around_key_material() {
        let body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun";
        assert!(pem_has_body(&format!(
            "\n  {body}\n  -----END RSA PRIVATE KEY-----\n"
        )));
        // Flattened into one string with escaped line breaks.
        assert!(pem_has_body(&format!(
            "\\n{body}\\n-----END RSA PRIVATE KEY-----"
        )));
        assert!(!pem_has_body(
            "\n#   ...\n#   -----END OPENSSH PRIVATE KEY-----\n"
        ));
        assert!(!pem_has_body(
            "\n{{ .Values.key }}\n-----END PRIVATE KEY-----\n"
        ));
        // A key after the footer belongs to another block.
        assert!(!pem_has_body(&format!(
            "\n...\n-----END PRIVATE KEY-----\n{body}\n"
        )));
        // A header that no footer follows is a mention (a chart's comment saying what a key
        // starts with), whatever long words come after it.
        assert!(!pem_has_body(&format!(
            "\n## name should line up with a secretName set further up\n##\ncertificate: {body}\n"
        )));
        // An example key whose middle is elided is no key.
        assert!(!pem_has_body(&format!(
            "\n{body}\n...\n{body}\n-----END RSA PRIVATE KEY-----\n"
        )));
        assert!(!pem_has_body(&format!(
            "\\n{body}\\n...\\n-----END RSA PRIVATE KEY-----"
        )));
    }

    #[test]
    fn randomness_heuristic() {
        assert!(looks_random("Zq8vN2xLp4Rt7WmK9sYb"));
        assert!(!looks_random("changeme-please-123"));
        assert!(!looks_random("{{ .Values.password }}"));
        assert!(!looks_random("gitlab-postgres"));
        assert!(!looks_random("short1A"));
    }

    /// A value that names an environment variable the program expands is no credential; a
    /// random value that happens to start with `$` still is.
    #[test]
    fn environment_variable_references_are_not_credentials() {
        assert!(!looks_random("$INFLUXDB3_TELEMETRY_TOKEN"));
        assert!(!looks_random("$_GRAFANA_API_KEY_2"));
        assert!(looks_random("$Zq8vN2xLp4Rt7WmK9sYb"));
        assert!(looks_random("$ZQ8VN2XLP4RT7WMK9SYB-x"));
    }

    /// Stand-ins written by hand: an alphabet run, or words dressed up as base64.
    #[test]
    fn hand_written_stand_ins_are_not_credentials() {
        assert!(!looks_random(
            "homepage-alerts-test-credential-0123456789abcdefghijklmnopqrstuvwxyz"
        ));
        assert!(!looks_random("dGVzdF9vYXV0aF9qd3Rfc2VjcmV0XzMyYnl0ZXNfX18"));
        // Random bytes in base64, and random text, stay credentials.
        assert!(looks_random("q8N3vZ2xLp4Rt7WmK9sYbQ3fH6jD1cVx"));
        assert!(looks_random("Zq8vN2xLp4Rt7WmK9sYb"));
    }

    /// A value that says where a server reads the secret, or which Secret will hold it.
    #[test]
    fn references_to_where_a_value_is_read_are_not_credentials() {
        assert!(!looks_random("env://AUTHENTIK_SECRET_KEY"));
        assert!(!looks_random("file:///secrets/authentik/password"));
        assert!(!looks_random("secret://op_connect_token_value"));
        assert!(!looks_random(
            "path={.metadata.name}-{.spec.users[0].db},objectType=Secret,sourceKey=password"
        ));
        // A URI that carries a password in it is still one.
        assert!(looks_random("postgres://app:Zq8vN2xLp4Rt7WmK@db:5432/app"));
    }

    /// Names of Secrets and of keys are not credentials.
    #[test]
    fn names_are_not_credentials() {
        assert!(!looks_random("longhorn-s3-secret"));
        assert!(!looks_random("REGISTRY_STORAGE_S3_ACCESSKEY"));
        assert!(!looks_random("minio.root-credentials"));
        assert!(!looks_random("~/raspbernetes-d72f2d61e4ac.json"));
        assert!(!looks_random(
            "$2y$05$YG8EzZEcoNPWI59fcg715OhF4uMmZQSLS75VNg0FiQXFgvOKGuE02"
        ));
        assert!(looks_random("sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
        assert!(looks_random("3f2b9c71-8d4e-4a6b-9f12-c7e5a0d3b8e4"));
        assert!(looks_random(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
                .replace("EXAMPLE", "0x9Q")
                .as_str()
        ));
    }

    /// Vendors' documentation shows example tokens of the real shape whose ids count up;
    /// issued tokens' ids do not.
    #[test]
    fn documented_examples_are_not_credentials() {
        assert!(documented_example(
            "xoxb-1234567890-1234567890123-5n38u5ed63fgzqlvuyxvxcx6"
        ));
        assert!(!documented_example("AKIAZ3MHQ5T7PLX2WQ4R"));
        assert!(!documented_example(
            "xoxb-2718281828-4590452353602-Zq8vN2xLp4Rt7WmK9sYbAbCd"
        ));
        // One id counting up, the other not: a made-up but real-shaped token.
        assert!(!documented_example(
            "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
        ));
        assert!(!documented_example(
            "ghp_Zq8vR2mT4kL9xW3nB7cY1pH6sD0fJ5gA2eUo"
        ));
    }

    /// Token-shaped stand-ins in docs and example files are not leaks; real shapes are.
    #[test]
    fn token_shaped_stand_ins_are_skipped() {
        let found = |line: &str| {
            patterns()
                .iter()
                .filter(|p| p.what != PEM)
                .flat_map(|p| p.regex.find_iter(line))
                .any(|m| !is_placeholder(m.as_str()))
        };
        assert!(!found("aws_access_key_id: \"AKIAIOSFODNN7EXAMPLE\""));
        assert!(!found(&format!("# ghp_{}", "x".repeat(36))));
        assert!(!found("SLACK_BOT_TOKEN=xoxb-your-slack-bot-token-here"));
        assert!(found("aws_access_key_id: AKIAQ3EGRT7MZK2BN4VD"));
        assert!(found(
            "SLACK_BOT_TOKEN=xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
        ));
        assert!(found(&format!(
            "token: ghp_{}",
            "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
        )));
    }

    #[test]
    fn baseline_hash_is_sha1_hex() {
        assert_eq!(
            hashed_secret("abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
