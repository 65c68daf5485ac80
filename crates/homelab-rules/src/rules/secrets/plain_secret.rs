//! # `secrets/plain-secret`: plain `Secret` with data committed
//!
//! ## What it checks
//! A `v1/Secret` object in the repository with any non-empty value in `data` or
//! `stringData`, other than a reference to a secret kept elsewhere (`op://...`, `vault:...`,
//! `<path:...>`, `ref+...`, SOPS `ENC[...]`, `${...}` and template interpolation).
//!
//! A Secret whose committed values are none of them a credential is a note, not an error:
//! Secrets are also used for configuration that some chart or operator insists on reading
//! from a Secret. A value is taken as no credential when it is a boolean or a number (a
//! port), a host name or address (`postgres-rw.database.svc`, `10.0.0.5:5432`), e-mail
//! addresses (`alerts@example.org`, a sender or recipients), a URL
//! without a password and without a long random-looking part (also behind a backend prefix,
//! as restic's `s3:http://...`), a setting in lowercase words (`protocol: https`) in a
//! Secret whose other values are references to credentials kept elsewhere (or credential
//! keys left empty for an ExternalSecret or a deploy step to fill), the value of an
//! identifier
//! key (`username`, `host`, `port`, `dbname`, `region`, `bucket`, `tenancy_ocid`,
//! `client_id`, what a CSI driver mounts: `volumeHandle`, `clusterID`, `fsName`, `pool`,
//! ...), a path in the container (`/etc/keystore.jks`), a certificate without
//! its private key (or under a key named like one, `ca-bundle.crt`), a sentence under a key
//! that names no credential (`ciphers: The allowed cipher algorithms...`), or a
//! configuration file (several lines, or one line under a key named like a file:
//! `broker.properties`) where no key that holds a credential (`password`, `token`,
//! `secret`, `api_key`, `webhook`, ...) has a value, no private key and no
//! `user:password@` URL appear, or an empty JSON document (`.dockerconfigjson: '{}'`). A
//! placeholder to fill in
//! (`__REPLACE_ME__`, `UPDATE_AWS_ACCESS_KEY_ID`, `<password>`, `change me`,
//! `yourApiToken`, `Your encryption passphrase`, `replacemeifneeded`, `redacted`, `EXAMPLE`,
//! `$AWS_ACCESS_KEY_ID`, a URL with one where its token goes:
//! `https://hooks.slack.com/services/CHANGE_ME`, a UUID of repeated digits such as
//! `11111111-2222-3333-4444-555555555555`), a value that says what belongs there (words
//! naming a kind of credential that is issued: `personal github token`, `SECRET_TOKEN`,
//! `[aws_secret_access_key]`, `your private ssh key in base64`; a sentence naming a
//! password) and a PEM block around such a placeholder (`-----BEGIN RSA PRIVATE KEY-----`
//! `YOUR_PRIVATE_KEY_HERE`) are no credential either; a well-known default that works
//! (`changeit`, `admin123`) is. In an Argo
//! CD declarative repository or cluster Secret (label `argocd.argoproj.io/secret-type`), the
//! settings Argo CD documents (`name`, `project`, `type`, `enableOCI`, `insecure`, `proxy`,
//! `server`, `namespaces`, ...) are no credential either. Anything
//! else (a value under a credential key, a random-looking string, binary data) keeps the
//! error. `data` is read as the API server reads it (Go's base64, line breaks skipped); a
//! value it cannot decode is named in the message: the Secret is rejected as written.
//!
//! ## Why
//! `data` is base64, not encryption: anyone who can read the repository (every CI runner,
//! every clone, every fork) reads the secret. The guide keeps only SealedSecrets in git
//! (`secrets/homelab/`), which only the cluster's controller can decrypt.
//!
//! ## Example
//! ```yaml
//! apiVersion: v1
//! kind: Secret
//! metadata: { name: litellm-master-key, namespace: ai-services }
//! stringData:
//!   master-key: sk-...
//! ```
//!
//! ## Fix
//! Seal it and commit the SealedSecret instead:
//! `homelab seal --cert pub-sealed-secrets.pem < secret.yaml > secrets/homelab/litellm-master-key.yaml`,
//! then remove the Secret from git (and rotate the value: it is in the history).

use crate::{finding, Repo, Rule, Settings};
use base64::Engine;
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;
use std::sync::OnceLock;

pub struct PlainSecret;

fn has_value(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_some_and(|m| {
        m.values().any(|x| match x {
            Value::String(s) => !s.is_empty() && !crate::is_secret_reference(s),
            Value::Null => false,
            _ => true,
        })
    })
}

/// Keys whose value identifies something rather than proving who you are.
fn is_identifier_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "user",
        "username",
        "email",
        "host",
        "hostname",
        "port",
        "dbname",
        "database",
        "db",
        "region",
        "bucket",
        "endpoint",
        "namespace",
        "schema",
        "sslmode",
        // What a CSI driver mounts (a static volume's `volumeHandle`, `clusterID`, `fsName`,
        // `pool`, `storageClass`): identifiers of the storage, not access to it.
        "name",
        "handle",
        "clusterid",
        "pool",
        "class",
        // Names of labels and annotations an operator copies (`INHERITED_LABELS`).
        "labels",
        "annotations",
        // Cloud account and OAuth client identifiers (`tenancy_ocid`, `client_id`).
        "ocid",
        "tenantid",
        "accountid",
        "projectid",
        "subscriptionid",
        "clientid",
    ]
    .iter()
    .any(|w| k == *w || k.ends_with(w))
}

/// A run of letters and digits long and mixed enough to be a token.
fn has_token_like_part(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|part| {
            part.len() >= 16
                && part.chars().any(|c| c.is_ascii_digit())
                && part.chars().any(|c| c.is_ascii_alphabetic())
        })
}

/// A value that stands for one to fill in, not a credential: `__REPLACE_ME__`,
/// `AUTOREPLACE_SMTP_PASSWORD` (a script's marker), `UPDATE_AWS_ACCESS_KEY_ID`, `<password>`, `change me`, `your-token-here`, `xxxxxx`. A
/// well-known default (`changeit`, `admin123`) is a credential: it works.
fn is_placeholder(value: &str) -> bool {
    static PLACEHOLDER: OnceLock<regex::Regex> = OnceLock::new();
    static VARIABLE: OnceLock<regex::Regex> = OnceLock::new();
    let v = value.trim().trim_matches(['"', '\'']);
    if describes_a_credential(v) || repeated_digits_uuid(v) {
        return true;
    }
    // `$AWS_ACCESS_KEY_ID`: an environment variable that envsubst or a shell fills in.
    if VARIABLE
        .get_or_init(|| regex::Regex::new(r"^\$[A-Za-z_][A-Za-z0-9_]*$").unwrap())
        .is_match(v)
    {
        return true;
    }
    // `yourCloudflareApiToken`, `YourPassword`: "your" and a capitalised name.
    if let Some(rest) = v.strip_prefix("your").or_else(|| v.strip_prefix("Your")) {
        if rest.starts_with(|c: char| c.is_ascii_uppercase())
            && rest.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return true;
        }
    }
    if v.len() > 2
        && v.starts_with('<')
        && v.ends_with('>')
        && !v[1..v.len() - 1].contains(['<', '>'])
    {
        return true;
    }
    PLACEHOLDER
        .get_or_init(|| {
            regex::Regex::new(r"(?i)^[_\-\s\[{]*([a-z0-9]*replace[_\-\s]?me[a-z0-9_\-]*|[a-z0-9]+replace[_\-][a-z0-9_\-]+|replace[_\-][a-z0-9_\-]+|change[_\-\s]?me[a-z0-9_\-]*(\s+[a-z0-9]+){0,4}|update[_\-][a-z0-9_\-]+|placeholder[a-z0-9_\-]*|example[a-z0-9_\-]*|todo|fixme|tbd|redacted|your[_\-][a-z0-9_\-]+|your(\s+[a-z0-9]+){1,6}|x{4,}|\*{4,})[_\-\s\]}!.]*$").unwrap()
        })
        .is_match(v)
}

/// Kinds of credential that a third party issues (`personal github token`, `openai api
/// key`): a description of one is never one.
const ISSUED_CREDENTIAL_WORDS: [&str; 8] = [
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
    "username",
    "fingerprint",
    "base64",
];

/// Kinds of credential the user chooses: any text works as one (`Simple passphrase`
/// encrypts a volume), so only a sentence that names one describes it.
const CHOSEN_CREDENTIAL_WORDS: [&str; 4] = ["password", "passwd", "passphrase", "secret"];

/// A value that says what belongs in its place rather than being it: words (letters and
/// digits; each lowercase, uppercase or capitalised; joined by spaces, `-`, `_` or `.`,
/// punctuation around them ignored) that name a kind of credential: two or more naming an
/// issued one (`personal github token`, `SECRET_TOKEN`, `[aws_secret_access_key]`), a
/// sentence of three or more naming a password (`password (if used to login the remote
/// server)`; `super-secret-keystore-password` is one). A random
/// token has mixed-case or digit-laden words; a passphrase of words names no credential.
fn describes_a_credential(value: &str) -> bool {
    let words: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '.'))
        .map(|w| w.trim_matches(|c: char| "()[]{}<>,:;!?'\"".contains(c)))
        .filter(|w| !w.is_empty())
        .collect();
    let word = |w: &&str| {
        let rest = w.get(1..).unwrap_or("");
        w.chars().all(|c| c.is_ascii_alphanumeric())
            && (w.chars().all(|c| !c.is_ascii_uppercase())
                || w.chars().all(|c| !c.is_ascii_lowercase())
                || rest.chars().all(|c| !c.is_ascii_uppercase()))
    };
    let names = |kinds: &[&str]| {
        words
            .iter()
            .any(|w| kinds.contains(&w.to_ascii_lowercase().as_str()))
    };
    // `super-secret-keystore-password` works as a password; a sentence explains one.
    let sentence = value.split_whitespace().count() >= 3;
    words.iter().all(word)
        && ((words.len() >= 2 && names(&ISSUED_CREDENTIAL_WORDS))
            || (sentence && names(&CHOSEN_CREDENTIAL_WORDS)))
}

/// A UUID whose groups each repeat one character (`11111111-2222-3333-4444-555555555555`,
/// the nil UUID): a sample's stand-in for an API key.
fn repeated_digits_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            let first = g.chars().next();
            first.is_some_and(|f| f.is_ascii_hexdigit()) && g.chars().all(|c| Some(c) == first)
        })
}

/// A PEM block of a private key around a placeholder instead of key material
/// (`-----BEGIN RSA PRIVATE KEY-----`, `YOUR_ACTUAL_PRIVATE_KEY_CONTENT_HERE`, the footer).
fn pem_around_placeholder(value: &str) -> bool {
    let mut body = value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"));
    let first = body.next();
    body.next().is_none() && first.is_none_or(|l| l == "..." || is_placeholder(l))
}

/// Whether one committed value (decoded) is, or contains, a credential.
fn holds_credential(key: &str, value: &str) -> bool {
    static HOST: OnceLock<regex::Regex> = OnceLock::new();
    static URL: OnceLock<regex::Regex> = OnceLock::new();
    static CONFIG_LINE: OnceLock<regex::Regex> = OnceLock::new();
    let v = value.trim();
    // An empty JSON document (`.dockerconfigjson: '{}'`, a pull secret with no registry
    // yet) holds nothing.
    if v.is_empty()
        || matches!(v, "{}" | "[]")
        || crate::is_secret_reference(v)
        || is_placeholder(v)
        || url_to_fill_in(v)
        || homelab_k8s::public_material::is_public_material(v)
    {
        return false;
    }
    if v.contains("PRIVATE KEY") {
        return !pem_around_placeholder(v);
    }
    // A file's content (several lines, or a key named like a file: `broker.properties`): a
    // configuration file or a certificate, a credential only where one is written.
    let file_name = key.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && [
                "properties",
                "conf",
                "cfg",
                "ini",
                "yaml",
                "yml",
                "json",
                "toml",
                "env",
                "xml",
            ]
            .contains(&ext.to_ascii_lowercase().as_str())
    });
    if v.contains('\n') || file_name {
        if v.contains("-----BEGIN") && !v.contains("CERTIFICATE") {
            return !pem_around_placeholder(v);
        }
        let line = CONFIG_LINE.get_or_init(|| {
            regex::Regex::new(r#"^\s*-?\s*["']?([A-Za-z0-9_.-]+)["']?\s*[:=]\s*(.*)$"#).unwrap()
        });
        return v.lines().any(|l| {
            if l.contains("://") && credentials_in_url(l) {
                return true;
            }
            let Some(c) = line.captures(l) else {
                return false;
            };
            let (k, val) = (&c[1], c[2].trim().trim_matches(['"', '\'', ',']));
            let lower = k.to_ascii_lowercase();
            (super::leaked_credential::is_credential_key(k)
                || lower.contains("webhook")
                || lower.ends_with("api_url"))
                && !val.is_empty()
                && !matches!(val, "null" | "~" | "|" | "|-" | ">" | "[]" | "{}")
                && !crate::is_secret_reference(val)
                && !is_placeholder(val)
        });
    }
    if super::leaked_credential::is_credential_key(key)
        || key.to_ascii_lowercase().contains("webhook")
    {
        return true;
    }
    if is_identifier_key(key) {
        return false;
    }
    // A key named like a certificate file (`ca-bundle.crt`) holds a certificate, public by
    // design (a private key beside it was caught above).
    if key
        .rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("crt") || ext.eq_ignore_ascii_case("cer"))
    {
        return false;
    }
    // A sentence under a key that names no credential (`ciphers: The allowed cipher
    // algorithms...`) explains the value to write.
    if v.split_whitespace().count() >= 4 {
        return false;
    }
    // A container image (`ghcr.io/org/sidecar:v0.12.0`, an operator's setting of the image
    // it runs): a registry host with a dot, a lowercase path, a tag or digest.
    static IMAGE: OnceLock<regex::Regex> = OnceLock::new();
    let image = IMAGE.get_or_init(|| {
        regex::Regex::new(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$").unwrap()
    });
    if image.is_match(v) {
        return false;
    }
    // A path in the container (`/amq/extra/secrets/keystore.jks`, a web root `/`): where
    // a secret is, or a setting, not the secret.
    if v.starts_with('/')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off"
    ) || v.parse::<f64>().is_ok()
    {
        return false;
    }
    let host = HOST.get_or_init(|| {
        regex::Regex::new(r"^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+|\[[0-9a-f:]+\])(:[0-9]{1,5})?$").unwrap()
    });
    if host.is_match(v) {
        return false;
    }
    // E-mail addresses (`alerts@example.org`, a sender or recipients separated by commas)
    // name mailboxes, under a key that names no credential.
    static EMAIL: OnceLock<regex::Regex> = OnceLock::new();
    let email = EMAIL.get_or_init(|| {
        regex::Regex::new(r"^[A-Za-z0-9._%+-]+@(?i:[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)$").unwrap()
    });
    if v.split(',').all(|address| email.is_match(address.trim())) {
        return false;
    }
    // A backend may prefix the URL (restic's `s3:https://...`, `rest:http://...`).
    let url =
        URL.get_or_init(|| regex::Regex::new(r"^([a-z0-9]+:)?[a-z][a-z0-9+.-]*://\S+$").unwrap());
    if url.is_match(v) {
        return credentials_in_url(v) || has_token_like_part(v);
    }
    true
}

/// A URL with a placeholder where its secret part goes
/// (`https://hooks.slack.com/services/CHANGE_ME`) and no password or token in it.
fn url_to_fill_in(v: &str) -> bool {
    v.contains("://")
        && !v.contains(char::is_whitespace)
        && !credentials_in_url(v)
        && !has_token_like_part(v)
        && v.split("://")
            .nth(1)
            .into_iter()
            .flat_map(|rest| rest.split(['/', '?', '&', '=', '#']).skip(1))
            .any(|part| !part.is_empty() && is_placeholder(part))
}

/// A `scheme://user:password@host` URL.
fn credentials_in_url(text: &str) -> bool {
    static USERINFO: OnceLock<regex::Regex> = OnceLock::new();
    USERINFO
        .get_or_init(|| regex::Regex::new(r"://[^/\s:@]+:[^/\s@]+@").unwrap())
        .is_match(text)
}

/// A setting written in lowercase words (`https`, `pgvector`, `read-only`, `k8s`) that does
/// not call itself a credential (`mypassword`). Alone it may be a weak password; beside
/// credentials kept elsewhere it is a mode or a name.
fn is_lowercase_setting(value: &str) -> bool {
    let v = value.trim();
    v.len() <= 32
        && v.split(['-', '_', '.']).all(|w| {
            w.chars().any(|c| c.is_ascii_lowercase())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && !["pass", "pwd", "secret", "token", "key"]
            .iter()
            .any(|w| v.contains(w))
}

/// A `data` value decoded as the API server decodes it (Go's standard base64: padding
/// required, stray bits after the last byte ignored, line breaks as a YAML block scalar
/// leaves them skipped); `None` when it rejects it.
fn decode_data(value: &str) -> Option<Vec<u8>> {
    use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
    static GO_STD: OnceLock<GeneralPurpose> = OnceLock::new();
    let engine = GO_STD.get_or_init(|| {
        GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        )
    });
    let text: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    engine.decode(text).ok()
}

/// The keys of `data` whose values are not base64: the API server rejects the Secret. A
/// reference (`${CATALOG_RDS_PASSWORD}`) is replaced before anything applies it.
fn not_base64(data: Option<&Value>) -> Vec<&str> {
    data.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, v)| {
            v.as_str()
                .is_some_and(|s| decode_data(s).is_none() && !crate::is_secret_reference(s))
        })
        .map(|(k, _)| k.as_str())
        .collect()
}

/// Whether any value of a `data` (base64) or `stringData` map holds a credential.
///
/// A Secret whose other values are references to secrets kept elsewhere (`${DB_PASSWORD}`
/// substituted by Flux, `ENC[...]`) shows where its author keeps credentials: a lowercase
/// setting beside them under a key that names no credential (`protocol: https`) is
/// configuration. Without such references a lowercase word keeps the error: it may be the
/// password.
/// The keys of an Argo CD declarative repository or cluster Secret (labelled
/// `argocd.argoproj.io/secret-type`) that Argo CD documents as settings, not credentials:
/// which repository or cluster it is and how to reach it. `url` stays judged as a URL (one
/// may carry `user:password@`); `username`, `password`, keys and tokens stay credentials.
const ARGOCD_SETTING_KEYS: &[&str] = &[
    "name",
    "project",
    "type",
    "enableOCI",
    "enableLfs",
    "insecure",
    "insecureIgnoreHostKey",
    "insecureOCIForceHttp",
    "forceHttpBasicAuth",
    "proxy",
    "noProxy",
    "githubAppID",
    "githubAppInstallationID",
    "githubAppEnterpriseBaseUrl",
    "useAzureWorkloadIdentity",
    "server",
    "namespaces",
    "clusterResources",
];

/// Whether `doc` is an Argo CD declarative repository, credential-template or cluster Secret.
fn is_argocd_declarative_secret(doc: &homelab_manifest::Document) -> bool {
    doc.value
        .pointer("/metadata/labels/argocd.argoproj.io~1secret-type")
        .and_then(Value::as_str)
        .is_some_and(|t| {
            matches!(
                t,
                "repository" | "repo-creds" | "repository-write" | "repo-write-creds" | "cluster"
            )
        })
}

fn any_credential(field: &str, map: &serde_json::Map<String, Value>) -> bool {
    let decoded = |s: &str| -> Option<String> {
        if field != "data" {
            return Some(s.to_string());
        }
        decode_data(s).and_then(|b| String::from_utf8(b).ok())
    };
    // References to credentials kept elsewhere, placeholders a deploy step fills in, or a
    // credential key left empty for one (`AUTHENTIK_TOKEN: ""`, filled by an
    // ExternalSecret).
    let credentials_elsewhere = map.iter().any(|(key, value)| {
        value.as_str().and_then(&decoded).is_some_and(|text| {
            let text = text.trim();
            crate::is_secret_reference(text)
                || is_placeholder(text)
                || (text.is_empty() && super::leaked_credential::is_credential_key(key))
        })
    });
    let credential = |key: &str, text: &str| {
        holds_credential(key, text)
            && !(credentials_elsewhere
                && is_lowercase_setting(text)
                && !super::leaked_credential::is_credential_key(key))
    };
    map.iter().any(|(key, value)| match value {
        Value::String(s) => match decoded(s) {
            Some(text) => credential(key, &text),
            // Not base64 at all (the API server rejects it, which the message says): the
            // text is what was written, a placeholder (`your private ssh key in base64`)
            // or a credential.
            None if field == "data" && decode_data(s).is_none() => credential(key, s),
            // Binary data (a keystore): take it as a credential.
            None => !s.trim().is_empty(),
        },
        Value::Null => false,
        other => credential(key, &other.to_string()),
    })
}

impl Rule for PlainSecret {
    fn id(&self) -> &'static str {
        "secrets/plain-secret"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Plain Secret with data committed to git"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.of_kind("Secret") {
            if doc.group() != "" {
                continue;
            }
            for field in ["data", "stringData"] {
                let value = doc.value.get(field);
                if !has_value(value) {
                    continue;
                }
                let keys: Vec<&str> = value
                    .and_then(Value::as_object)
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let values = value.map(|v| v.to_string()).unwrap_or_default();
                let argocd = is_argocd_declarative_secret(doc);
                let credential = value.and_then(Value::as_object).is_some_and(|m| {
                    let mut judged = m.clone();
                    if argocd {
                        judged.retain(|k, _| !ARGOCD_SETTING_KEYS.contains(&k.as_str()));
                    }
                    any_credential(field, &judged)
                });
                // Said in the message: such a Secret never reaches the cluster as written.
                let rejected = match not_base64(value).as_slice() {
                    [] => String::new(),
                    keys if field == "data" => format!(
                        "; {} not base64 ({}): the API server rejects this Secret as written (`illegal base64 data`), text belongs under `stringData`",
                        if keys.len() == 1 { "this value is" } else { "these values are" },
                        keys.join(", ")
                    ),
                    _ => String::new(),
                };
                if !credential {
                    let mut note = finding(
                            self,
                            doc,
                            &format!("/{field}"),
                            format!(
                                "Secret `{}` commits {} in `{field}` ({}), none of them a credential: not failed{rejected}",
                                doc.name().unwrap_or("?"),
                                crate::count(keys.len(), "value"),
                                keys.join(", ")
                            ),
                            "nothing to seal; if a value is a credential after all, seal the Secret",
                        )
                        .relying_on([
                            "the values' shape: host names, ports, booleans, `${VAR}` references (and lowercase settings beside them), URLs without a password, configuration without a password, token or key",
                        ]);
                    note.severity = Severity::Note;
                    out.push(note);
                    continue;
                }
                out.push(
                    finding(
                        self,
                        doc,
                        &format!("/{field}"),
                        format!("Secret `{}` commits {} in `{field}` ({}){rejected}", doc.name().unwrap_or("?"), crate::count(keys.len(), "value"), keys.join(", ")),
                        "seal it with `homelab seal` and commit the SealedSecret under secrets/; rotate the value, it is in the history",
                    )
                    .with_fingerprint(crate::fingerprint::of(
                        settings.fingerprint_key.as_ref(),
                        &doc.source.text,
                        values.as_bytes(),
                    )),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{any_credential, holds_credential, not_base64};
    use serde_json::{json, Value};

    fn map(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn data_is_read_as_the_api_server_reads_it() {
        // Base64 wrapped over lines (a YAML block scalar) decodes: a host, no credential.
        assert!(!any_credential(
            "data",
            &map(json!({"server": "cG9zdGdyZXMtcncuZGF0\nYWJhc2Uuc3ZjOjU0MzI=\n"}))
        ));
        assert_eq!(
            not_base64(Some(
                &json!({"a": "aHR0\ncHM=\n", "b": "some-secret", "c": "abc", "d": "abc123=="})
            )),
            vec!["b", "c"]
        );
        // A variable is filled in (with base64) before the Secret is applied.
        assert!(not_base64(Some(&json!({"password": "${DB_PASSWORD}"}))).is_empty());
    }

    #[test]
    fn lowercase_settings_beside_references_are_no_credential() {
        let settings = map(json!({
            "DB_PASSWORD": "${POSTGRES_PASSWORD}",
            "protocol": "https",
            "DB_VECTOR_EXTENSION": "pgvector",
        }));
        assert!(!any_credential("stringData", &settings));
        // The same in `data`, base64-encoded.
        let encoded = map(json!({
            "DB_PASSWORD": "JHtQT1NUR1JFU19QQVNTV09SRH0=",
            "protocol": "aHR0cHM=",
        }));
        assert!(!any_credential("data", &encoded));
    }

    /// A Secret whose credentials are placeholders a deploy step replaces holds settings
    /// beside them (a Helm chart's rendered configuration Secret).
    #[test]
    fn settings_beside_placeholders_are_no_credential() {
        let rendered = map(json!({
            "AUTHENTIK_SECRET_KEY": "AUTOREPLACE_AUTHENTIK_SEED",
            "AUTHENTIK_POSTGRESQL__PASSWORD": "AUTOREPLACE_POSTGRES_PASSWORD",
            "AUTHENTIK_ERROR_REPORTING__ENVIRONMENT": "k8s",
            "AUTHENTIK_POSTGRESQL__NAME": "authentik",
            "AUTHENTIK_REDIS__HOST": "redis-master",
            "AUTHENTIK_OUTPOSTS__CONTAINER_IMAGE_BASE": "ghcr.io/goauthentik/%(type)s:%(version)s",
            "AUTHENTIK_WEB__PATH": "/",
        }));
        assert!(!any_credential("stringData", &rendered));
        // A random value beside them still is one.
        let mut with_key = rendered.clone();
        with_key.insert(
            "AUTHENTIK_BOOTSTRAP_TOKEN".into(),
            json!("Zq8vN3rTq1xL0pWc"),
        );
        assert!(any_credential("stringData", &with_key));
    }

    /// A credential key left empty (an ExternalSecret fills it in) shows where credentials
    /// are kept, as a reference does: a log level and a boolean beside it are settings.
    #[test]
    fn settings_beside_an_empty_credential_are_no_credential() {
        let proxy = map(json!({
            "AUTHENTIK_HOST": "http://authentik-server.authentik.svc.cluster.local:80",
            "AUTHENTIK_INSECURE": "false",
            "AUTHENTIK_LOG_LEVEL": "info",
            "AUTHENTIK_TOKEN": "",
        }));
        assert!(!any_credential("stringData", &proxy));
        // An empty value under a key that names no credential says nothing.
        assert!(any_credential(
            "stringData",
            &map(json!({"comment": "", "SEARXNG_BASE": "searxng"}))
        ));
        // A filled credential beside the empty one stays one.
        let mut filled = proxy.clone();
        filled.insert("AUTHENTIK_BOOTSTRAP_PASSWORD".into(), json!("swordfish"));
        assert!(any_credential("stringData", &filled));
    }

    /// A URL with a placeholder where its token goes, and a placeholder with trailing
    /// punctuation, are to be filled in.
    #[test]
    fn urls_and_words_to_fill_in_are_no_credential() {
        for (key, value) in [
            (
                "alert-webhook-url",
                "https://hooks.slack.com/services/CHANGE_ME",
            ),
            (
                "webhook",
                "https://discord.com/api/webhooks/REPLACE_ME/REPLACE_ME",
            ),
            // Workspace and channel ids stay, the token is to be filled in.
            (
                "alert-webhook-url",
                "https://hooks.slack.com/services/T0A1B2C3D/B9X8Y7Z6W/CHANGE_ME",
            ),
            ("encryption-key", "CHANGE_ME_32_byte_encryption_key!"),
        ] {
            assert!(!holds_credential(key, value), "{key}: {value}");
        }
        for (key, value) in [
            (
                "alert-webhook-url",
                "https://hooks.slack.com/services/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",
            ),
            ("url", "https://admin:s3cretpass@example.com/CHANGE_ME"),
        ] {
            assert!(holds_credential(key, value), "{key}: {value}");
        }
    }

    #[test]
    fn a_lowercase_word_alone_or_under_a_credential_key_stays_a_credential() {
        // Nothing says where credentials are kept: the word may be the password.
        assert!(any_credential(
            "stringData",
            &map(json!({"SEARXNG_BASE": "searxng"}))
        ));
        // Under a key that names a credential, a reference beside it changes nothing.
        assert!(any_credential(
            "stringData",
            &map(json!({"API_TOKEN": "${TOKEN}", "ADMIN_PASSWORD": "swordfish"}))
        ));
        // A word that calls itself a credential.
        assert!(any_credential(
            "stringData",
            &map(json!({"API_TOKEN": "${TOKEN}", "value": "mypassword"}))
        ));
        // A random-looking value is no setting.
        assert!(any_credential(
            "stringData",
            &map(json!({"API_TOKEN": "${TOKEN}", "value": "Zq8vNrTqxLpWcYbm"}))
        ));
    }

    #[test]
    fn hosts_ports_and_configuration_without_passwords_are_no_credential() {
        for (key, value) in [
            ("hostname", "postgres-rw.database.svc"),
            ("server", "10.0.0.5:5432"),
            ("port", "5432"),
            ("enabled", "true"),
            ("username", "app"),
            ("uri", "postgresql://app@postgres-rw.database.svc:5432/app?sslmode=verify-full&sslkey=/var/run/secrets/tls.key"),
            ("roles.yml", "fluentd_role:\n  cluster: ['monitor']\n  indices:\n  - names: ['*']\n"),
            ("grafana.ini", "[date_formats]\ndefault_timezone = UTC\n"),
            ("datasources.yaml", "{\n  \"url\": \"http://prometheus-k8s.monitoring.svc:9090\",\n  \"editable\": false\n}"),
            ("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"),
            ("config.yaml", "password: ${DB_PASSWORD}\nhost: db\n"),
            ("RESTIC_REPOSITORY", "s3:http://minio.storage.svc:9000/restic/app"),
            ("trustStorePassword", "__REPLACE_ME__"),
            ("CRYPTO_KEY_VALUE", "Your encryption passphrase"),
            (".dockerconfigjson", "{}"),
            ("session_secret", "change me bozo"),
            ("creds", "[default]\naws_access_key_id = replaceme\naws_secret_access_key = replaceme\naws_session_token = replacemeifneeded\n"),
            ("AWS_SECRET_ACCESS_KEY", "UPDATE_AWS_SECRET_ACCESS_KEY"),
            ("session_secret", "change me\n"),
            ("token", "<your-token>"),
            ("password", "xxxxxxxx"),
            ("SMTP_FROM", "alertmanager@yourdomain.com"),
            ("EMAIL_PLATFORM_ONCALL", "oncall@example.org, dba-team@Example.org"),
            ("apiKey", "yourCloudflareApiToken"),
            ("password", "YourPassword"),
            ("RESTIC_PASSWORD", "redacted"),
            ("volumeHandle", "0001-0024-407036f5-1f73-44ff-ba81-1f219b7a8a64-000000000000000b-841e604c-1dd5-4a09-8763-84e672d78c4e"),
            ("clusterID", "407036f5-1f73-44ff-ba81-1f219b7a8a64"),
            ("fsName", "backups"),
            ("jdbc.properties", "storeConfiguration=DATABASE\nstoreConfiguration.jdbcPassword=__REPLACE_ME__\n"),
            ("ha.broker.properties", "HAPolicyConfiguration=SHARED_STORE_PRIMARY"),
            ("broker.properties", "# replaced by an overlay"),
            ("keyStorePath", "/amq/extra/secrets/keystore.jks"),
            ("INHERITED_LABELS", "environment, example.com/*"),
            ("authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0b3Jlb2Zw user@laptop"),
            ("known_hosts", "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkV"),
            // Samples' placeholders that say what belongs there.
            ("github-token", "personal github token"),
            ("api-key", "openai api key"),
            ("token", "SECRET_TOKEN"),
            ("token", "ROOK_TOKEN"),
            ("tenancy_ocid", "ocid1.tenancy.oc1..example_tenancy_id"),
            ("client_id", "0oa1b2c3d4E5f6G7h8i9"),
            ("ca-bundle.crt", "jdsfjshfj122w"),
            ("ciphers", "The allowed cipher algorithms. If unspecified then a sensible default"),
            ("apitoken", "api-token"),
            ("password", "password (if used to login the remote server)"),
            ("rox_api_token", "EXAMPLE"),
            ("crda-key", "11111111-2222-3333-4444-555555555555"),
            ("credentials", "[default]\naws_access_key_id = [aws_access_key_id]\naws_secret_access_key = [aws_secret_access_key]\n"),
            ("credentials", "[default]\naws_access_key_id = $AWS_ACCESS_KEY_ID\naws_secret_access_key = $AWS_SECRET_ACCESS_KEY\n"),
            ("oci_api_key.pem", "-----BEGIN RSA PRIVATE KEY-----\nYOUR_ACTUAL_PRIVATE_KEY_CONTENT_HERE\n-----END RSA PRIVATE KEY-----\n"),
            ("tls.key", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"),
            ("AUTHENTIK_EMAIL__PASSWORD", "AUTOREPLACE_SMTP_PASSWORD"),
            ("AUTHENTIK_WEB__PATH", "/"),
            ("token", "secret://op_connect_token"),
            ("SIDECAR_IMAGE", "ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar:v0.12.0"),
            ("image", "registry.example.org:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        ] {
            assert!(!holds_credential(key, value), "{key}: {value}");
        }
    }

    #[test]
    fn passwords_keys_tokens_and_written_credentials_are() {
        for (key, value) in [
            ("password", "hunter2"),
            ("key", "AQBb8Z5XAAAAABAAxyz"),
            ("value", "Zq8vN3rTq1xL0pWc"),
            ("uri", "postgresql://app:s3cret@db:5432/app"),
            ("url", "https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/a1B2c3D4e5F6g7H8i9J0k1L2"),
            ("slack-webhook", "https://hooks.slack.com/services/T0/B0/Zq8vN3rTq1xL0pWc"),
            ("grafana.ini", "[security]\nadmin_password = hunter2\n"),
            ("alertmanager.yaml", "receivers:\n- name: x\n  slack_configs:\n  - api_url: https://hooks.slack.com/services/T/B/C\n"),
            ("rclone.conf", "[s3]\nendpoint = https://user:pass@minio.local\n"),
            ("RESTIC_REPOSITORY", "s3:https://backup:hunter2@s3.example.org/restic"),
            ("tls.key", "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n"),
            ("id_rsa", "-----BEGIN OPENSSH KEY-----\nb3Bl\n-----END OPENSSH KEY-----\n"),
            ("keyStorePassword", "changeit"),
            ("password", "admin123"),
            ("password", "updated-2024-Zq8vN3rT"),
            ("cluster.properties", "clusterPassword=kustomize-cross-ocp-cluster"),
            ("password", "/hunter2"),
            ("password", "yourself"),
            ("password", "your1Password"),
            // Words that name no credential may be a passphrase; a mixed-case word a token.
            ("password", "correct horse battery staple"),
            ("password", "git_password"),
            ("CRYPTO_KEY_VALUE", "Simple passphrase"),
            ("session_secret", "super-secret"),
            ("keyStorePassword", "super-secret-acceptor-keystore-password"),
            ("password", "pre-set-password"),
            ("tls.crt", "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n"),
            ("api-token", "prod-Zq8vN3rTq1xL-token"),
            ("crda-key", "3f2b9c71-8d4e-4a6b-9f12-c7e5a0d3b8e4"),
            ("password", "p@ssw0rd"),
            ("password", "replaced2024"),
            ("value", "ghcr.io/Zq8vN3rTq1xL0pWc"),
            // An address under a key that names a credential may be the credential.
            ("SMTP_PASSWORD", "alerts@example.org"),
            ("value", "Zq8vN3rT@q1xL0pWc"),
        ] {
            assert!(holds_credential(key, value), "{key}: {value}");
        }
    }
}
