//! SOPS awareness in `check`: SOPS files are checked for a structure sops can decrypt (and,
//! with an identity the user gives explicitly, their MAC is verified); their `sops` metadata
//! block is taken out of the documents the other stages see (as Flux and `sops --decrypt`
//! do), so encrypted Secrets validate and their `ENC[…]` values are never taken for leaked
//! secrets; files a `.sops.yaml` creation rule says must be encrypted but that hold plaintext
//! are errors at their first such value.
//!
//! The repository is untrusted: `.sops.yaml` is looked for only from the file's folder up to
//! the checked folder (never above it), its regexes are size-bounded and run in linear time,
//! and no identity from the environment is ever used (only `--sops-age-key-file`).

use homelab_diagnostics::{Diagnostic, Location, RuleDoc, Severity};
use homelab_manifest::{Class, Loaded};
use homelab_sops::config::{self, Config};
use homelab_sops::inspect::{self, MustEncrypt};
use homelab_sops::Identities;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The documentation of the `sops/*` findings (`homelab rules --explain sops/structure`).
pub const RULE_DOC: RuleDoc = RuleDoc {
    id: "sops/*",
    severity: Severity::Error,
    summary: "SOPS files: structure, MAC, and files .sops.yaml says must be encrypted",
    doc: "# `sops/*`: SOPS-encrypted files\n\n## What it checks\n`sops/structure`: a SOPS file (YAML or JSON with a `sops` metadata block) that sops could not decrypt whatever the key, or that shows a hand edit, checked without any key: the file parses; the metadata reads (one crypt rule, `lastmodified` an RFC 3339 time, the same block on every document); `mac` is an encrypted 128-character MAC; each age recipient is valid and each wrapped data key is an age file whose header parses; every value the crypt rule selects is a well-formed `ENC[...]` (a plaintext value there is a hand edit), no value outside the rule looks encrypted, and no IV appears at two paths (a value copied from another key). Without a key nothing can tell an edited unencrypted value, a removed or swapped value, or a `lastmodified` changed to another valid time: `sops/mac-mismatch` does, when an identity is given with `--sops-age-key-file` (never taken from the environment: check runs on untrusted pull requests); the values are decrypted in memory and nothing decrypted is shown. `sops/unverified` (a note): that identity cannot open the file. `sops/not-encrypted`: a Kubernetes Secret, or a file named like an encrypted one (`*.sops.yaml`, `*.enc.json`), that a creation rule of the nearest `.sops.yaml` (not above the checked folder) covers but that holds plaintext, at its first value the rule would encrypt. `sops/config`: a `.sops.yaml` sops would refuse. `sops/placeholder-recipient` (a note): a creation rule of a `.sops.yaml` names an age recipient that is not an age public key (a rendered repository's placeholder while platform.toml's `[sops] age_recipients` is empty): nothing can be encrypted with that rule yet. The `sops` block is removed from the documents the other stages see, so encrypted Secrets validate and their `ENC[...]` values are never taken for leaked credentials.\n\n## Why\nA hand-edited SOPS file fails at decryption time in the cluster (Flux, the sops CLI), long after review; a plaintext Secret next to the encrypted ones is a leak the `.sops.yaml` was written to prevent.\n\n## Example\n```yaml\nstringData:\n    token: hunter2   # in a file whose rule says encrypted_regex: ^(data|stringData)$\n```\n\n## Fix\n`homelab sops encrypt --in-place FILE` for a plaintext file; `homelab sops set FILE '[\"stringData\"][\"token\"]' --value-stdin` to change a value; restore a broken file from git.",
};

/// Runs the SOPS checks over every loaded source and strips sops metadata from documents.
pub fn run(
    loaded: &mut Loaded,
    root: Option<&Path>,
    identities: Option<&Identities>,
    validator: &homelab_schema::Validator,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut sops_sources = BTreeSet::new();
    let mut configs: HashMap<PathBuf, Option<Config>> = HashMap::new();
    let stop = root
        .map(config::absolute)
        .or_else(|| std::env::current_dir().ok());
    for source in &loaded.sources {
        if source.path.as_deref().and_then(Path::file_name) == Some(".sops.yaml".as_ref()) {
            out.extend(placeholder_recipients(&source.name, &source.text));
        }
    }
    for source in &loaded.sources {
        let name = source.name.as_str();
        let format = inspect::format_of(name);
        // sops reads a file by its extension: only a YAML or JSON file is a SOPS file of
        // those formats (a Markdown page quoting `ENC[AES256_GCM,...]` is prose, a dotenv or
        // binary SOPS file is another format).
        let sops_format = source.path.is_none() || is_yaml_or_json(name);
        if sops_format && inspect::looks_like_sops(&source.text) {
            // Parsed once: the parse decides whether this is a SOPS file and is then checked.
            let parsed = homelab_sops::file::parse(&source.text, format);
            if is_sops_text(&parsed, &source.text) {
                sops_sources.insert(name.to_owned());
                out.extend(inspect::check_parsed_sops_file(name, parsed, identities));
                continue;
            }
        }
        let Some(path) = &source.path else {
            continue;
        };
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let must = if inspect::named_encrypted(file_name) {
            MustEncrypt::WholeFile
        } else if source.text.contains("Secret") && is_yaml_or_json(file_name) {
            MustEncrypt::Secrets
        } else {
            continue;
        };
        let abs = config::absolute(path);
        let Some(dir) = abs.parent() else {
            continue;
        };
        // Never above the checked folder (or the working folder for files given one by one).
        let Some(stop) = stop.as_deref().filter(|s| abs.starts_with(s)) else {
            continue;
        };
        let Some(config_path) = config::find(dir, Some(stop)) else {
            continue;
        };
        let config = configs.entry(config_path.clone()).or_insert_with(|| {
            match load_untrusted(&config_path) {
                Ok(c) => Some(c),
                Err(e) => {
                    out.push(
                        Diagnostic::error(
                            inspect::CONFIG,
                            format!("this .sops.yaml cannot be used: {}", e.message),
                        )
                        .at(Location::new(
                            display_name(&config_path, root),
                            e.pos.line.max(1),
                            e.pos.col.max(1),
                        ))
                        .with_help("fix the creation rule; sops refuses this file too"),
                    );
                    None
                }
            }
        });
        let Some(config) = config else {
            continue;
        };
        let Some(rule) = config.rule_for(&abs) else {
            continue;
        };
        if must == MustEncrypt::Secrets && covers_any_file(rule) {
            // A rule for every file (no `path_regex`, or one any name matches) says how
            // sops encrypts whatever one chooses to encrypt, not which files must be:
            // `secrets/plain-secret` judges whether this Secret's values are credentials.
            continue;
        }
        let config_name = display_name(&config.path, root);
        out.extend(inspect::check_plain_file(
            name,
            &source.text,
            inspect::format_of(name),
            rule,
            &config_name,
            must,
        ));
    }
    // The other stages see the objects as they are applied: without the metadata block,
    // unless the kind's schema declares it (a custom resource an in-cluster operator decrypts,
    // such as sops-secrets-operator's SopsSecret, is applied encrypted, block and all). A
    // document whose apiVersion or kind is itself encrypted (a crypt rule that encrypts
    // everything) says nothing readable about the object: it is not checked as one.
    let carries_metadata = kinds_applied_encrypted(&loaded.documents, &sops_sources, validator);
    for doc in &mut loaded.documents {
        if !sops_sources.contains(&doc.source.name) {
            continue;
        }
        let applied_with_block = doc
            .api_version()
            .zip(doc.kind())
            .is_some_and(|(a, k)| carries_metadata.contains(&(a.to_owned(), k.to_owned())));
        if is_metadata(doc.value.get("sops")) && !applied_with_block {
            doc.remove_top_level_key("sops");
        }
        let encrypted = |field: &str| {
            doc.value
                .get(field)
                .and_then(serde_json::Value::as_str)
                .is_some_and(homelab_sops::cipher::looks_encrypted)
        };
        if doc.class == Class::Object && (encrypted("apiVersion") || encrypted("kind")) {
            doc.class = Class::NotKubernetes {
                reason: "its apiVersion and kind are SOPS-encrypted".to_owned(),
            };
        }
    }
    out
}

/// The (apiVersion, kind) pairs of SOPS documents whose schema declares a top-level `sops`
/// field: the object is applied with its metadata block. The repository's CRDs of those kinds
/// are registered first (only they: the full registration comes after kustomize and charts).
fn kinds_applied_encrypted(
    documents: &[homelab_manifest::Document],
    sops_sources: &BTreeSet<String>,
    validator: &homelab_schema::Validator,
) -> BTreeSet<(String, String)> {
    let kinds: BTreeSet<(String, String)> = documents
        .iter()
        .filter(|d| sops_sources.contains(&d.source.name) && d.class == Class::Object)
        .filter(|d| is_metadata(d.value.get("sops")))
        .filter_map(|d| Some((d.api_version()?.to_owned(), d.kind()?.to_owned())))
        // A built-in kind (no group) never carries it: the API server would reject the field.
        .filter(|(api_version, _)| api_version.contains('/') && api_version.contains('.'))
        .collect();
    if kinds.is_empty() {
        return kinds;
    }
    let defines_one = |d: &&homelab_manifest::Document| {
        let spec = &d.value["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let kind = spec["names"]["kind"].as_str().unwrap_or_default();
        kinds
            .iter()
            .any(|(a, k)| k == kind && a.split('/').next() == Some(group))
    };
    validator.add_crds_from_values(
        documents
            .iter()
            .filter(|d| d.class == Class::Object && homelab_schema::crd::is_crd(&d.value))
            .filter(defines_one)
            .map(|d| (&d.value, d.source.name.as_str())),
    );
    kinds
        .into_iter()
        .filter(|(a, k)| validator.declares_top_level_field(a, k, SOPS_FIELD))
        .collect()
}

const SOPS_FIELD: &str = "sops";

/// A repository's `.sops.yaml`, read as the repository's other configuration files are: a
/// regular file, bounded, never through a link (a link could show a host file's lines in the
/// parse error, and a FIFO would stall the run).
fn load_untrusted(path: &Path) -> Result<Config, config::ConfigError> {
    const MAX_CONFIG_BYTES: u64 = 1 << 20;
    let fail = |message: String| config::ConfigError {
        path: path.to_path_buf(),
        pos: Default::default(),
        message,
    };
    let bytes = homelab_fs::read_regular(path, MAX_CONFIG_BYTES, false)
        .map_err(|e| fail(format!("it {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".to_owned()))?;
    Config::parse(path, &text)
}

/// The rule of [`placeholder_recipients`].
pub const PLACEHOLDER_RECIPIENT: &str = "sops/placeholder-recipient";

/// A note at each age recipient of a `.sops.yaml` creation rule that is not an age public key:
/// sops cannot encrypt for it, so the rule is unusable until a real key replaces it.
fn placeholder_recipients(name: &str, text: &str) -> Vec<Diagnostic> {
    let Ok(config) = Config::parse(Path::new(name), text) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for recipient in config.rules.iter().flat_map(|r| r.age.iter()) {
        if homelab_sops::keys::parse_recipient(recipient).is_ok() || !seen.insert(recipient) {
            continue;
        }
        let (line, column) = text
            .lines()
            .enumerate()
            .find_map(|(i, l)| l.find(recipient.as_str()).map(|c| (i + 1, c + 1)))
            .unwrap_or((1, 1));
        out.push(
            Diagnostic::note(
                PLACEHOLDER_RECIPIENT,
                format!(
                    "`{recipient}` is not an age public key: nothing can be encrypted with this creation rule yet"
                ),
            )
            .at(Location::new(
                name,
                u32::try_from(line).unwrap_or(u32::MAX),
                u32::try_from(column).unwrap_or(u32::MAX),
            ))
            .with_help("set platform.toml [sops] age_recipients to your `age-keygen -y` public key and render (or write it here), then `task sops-updatekeys`"),
        );
    }
    out
}

/// Whether a creation rule covers any file, whatever its name or folder: no `path_regex`,
/// or one that a plain file name at the config's folder matches (`.*`, `\.yaml$`).
fn covers_any_file(rule: &homelab_sops::config::CreationRule) -> bool {
    rule.path_regex
        .as_ref()
        .is_none_or(|(_, regex)| regex.is_match("file.yaml"))
}

fn is_yaml_or_json(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")
}

/// A `sops` map with `mac` or `lastmodified` (a Helm value named `sops` is not metadata).
fn is_metadata(value: Option<&serde_json::Value>) -> bool {
    value
        .and_then(serde_json::Value::as_object)
        .is_some_and(|m| m.contains_key("mac") || m.contains_key("lastmodified"))
}

fn is_sops_text(
    parsed: &Result<Vec<homelab_sops::tree::Document>, homelab_sops::Error>,
    text: &str,
) -> bool {
    match parsed {
        Ok(docs) => docs.iter().any(inspect::is_sops_document),
        // A file that looks like SOPS but does not parse: truncated, reported by the check.
        Err(_) => text.contains("ENC[AES256_GCM,"),
    }
}

/// A config path as the report shows files: relative to the checked folder when inside it.
fn display_name(path: &Path, root: Option<&Path>) -> String {
    if let Some(root) = root {
        let abs_root = config::absolute(root);
        if let Ok(rel) = config::absolute(path).strip_prefix(&abs_root) {
            return root.join(rel).to_string_lossy().into_owned();
        }
    }
    path.to_string_lossy().into_owned()
}

/// `secrets/plain-secret` says the same as `sops/not-encrypted` (more precisely) for a file
/// that a creation rule covers: keep the SOPS finding only.
pub fn fold_plain_secret(diagnostics: &mut Vec<Diagnostic>) {
    let files: BTreeSet<String> = diagnostics
        .iter()
        .filter(|d| d.rule == inspect::NOT_ENCRYPTED && d.severity == Severity::Error)
        .filter_map(|d| d.location.as_ref().map(|l| l.file.clone()))
        .collect();
    if files.is_empty() {
        return;
    }
    diagnostics.retain(|d| {
        d.rule != "secrets/plain-secret"
            || !d.location.as_ref().is_some_and(|l| files.contains(&l.file))
    });
}
