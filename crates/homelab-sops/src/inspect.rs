//! What `homelab check` reports about SOPS files.
//!
//! Without a key (the structure check) a SOPS file is refused when sops could not decrypt it
//! whatever the key, or when it shows a hand edit:
//! - it parses (YAML/JSON), and its `sops` block reads: at most one crypt rule, its regex
//!   compiles, `lastmodified` is an RFC 3339 time, every document carries the same block
//!   (Kubernetes objects encrypted one by one and joined into one file are each checked as
//!   their own file, with a note: Flux decrypts them object by object, sops itself cannot);
//! - `mac` is a well-formed encrypted string holding 128 bytes (a SHA-512 in hex), with a
//!   32-byte IV and a 16-byte tag;
//! - there is at least one master key; each age recipient is an `age1…` key and each `enc` an
//!   armored age file whose header parses;
//! - every value the crypt rule selects is empty, null or a well-formed `ENC[…]` (base64
//!   parts, a known `type`, a 16-byte tag, an IV sops can use, a plaintext length that fits
//!   the type) — a plaintext value there is what a hand edit leaves;
//! - no value outside the rule looks encrypted (the rule or the key was edited), and no IV
//!   appears at two different paths (a value copied from another key cannot decrypt).
//!
//! What only a key can tell: a changed unencrypted value, a removed or reordered value,
//! ciphertexts swapped between keys of the same length, an edited `lastmodified` that is
//! still a valid time, or bytes flipped inside a ciphertext. With an identity the user gives
//! explicitly (never one found in the environment: `check` runs on untrusted pull requests),
//! every value is decrypted in memory and the MAC compared; nothing decrypted is shown, not
//! even the MACs.
//!
//! A file that is not a SOPS file but that a `.sops.yaml` creation rule covers is reported at
//! its first value the rule would encrypt, when the file must be encrypted: a Kubernetes
//! Secret, or a file named like an encrypted one (`*.sops.yaml`, `*.enc.json`, ...).

use crate::cipher::{self, IV_LEN, KINDS, TAG_LEN};
use crate::config::CreationRule;
use crate::file::{self, ErrorKind, Format};
use crate::keys::{self, Identities};
use crate::metadata::{Metadata, SOPS_KEY};
use crate::tree::{Document, Node, Pos, Value};
use crate::walk;
use homelab_diagnostics::{Diagnostic, Location};
use std::collections::HashMap;

/// Rule ids of the findings.
pub const STRUCTURE: &str = "sops/structure";
pub const MAC: &str = "sops/mac-mismatch";
pub const NOT_ENCRYPTED: &str = "sops/not-encrypted";
pub const UNVERIFIED: &str = "sops/unverified";
pub const CONFIG: &str = "sops/config";

/// Whether a parsed document carries sops metadata (a `sops` map with `mac` or
/// `lastmodified`; a Helm value named `sops` is not metadata).
pub fn is_sops_document(doc: &Document) -> bool {
    is_sops_block(doc.get(SOPS_KEY))
}

fn is_sops_block(node: Option<&Node>) -> bool {
    match node.map(|n| &n.value) {
        Some(Value::Map(items)) => items
            .iter()
            .any(|i| matches!(i.key(), Some("mac" | "lastmodified"))),
        _ => false,
    }
}

/// Whether a text looks like a SOPS file, cheaply (before parsing): a `sops` key with a
/// `mac` and `lastmodified` somewhere.
pub fn looks_like_sops(text: &str) -> bool {
    (text.contains("\nsops:") || text.starts_with("sops:") || text.contains("\"sops\""))
        && text.contains("lastmodified")
        && text.contains("mac")
}

/// Which documents of a plaintext file must be encrypted under its creation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MustEncrypt {
    /// The whole file (it is named like an encrypted file).
    WholeFile,
    /// Its Kubernetes Secrets.
    Secrets,
}

struct Report<'a> {
    name: &'a str,
    out: Vec<Diagnostic>,
}

impl Report<'_> {
    fn push(&mut self, rule: &str, error: bool, pos: Pos, message: String, help: &str) {
        let pos = if pos.line == 0 {
            Pos { line: 1, col: 1 }
        } else {
            pos
        };
        let d = if error {
            Diagnostic::error(rule, message)
        } else {
            Diagnostic::note(rule, message)
        };
        self.out.push(
            d.at(Location::new(self.name, pos.line, pos.col))
                .with_help(help),
        );
    }
}

const RESTORE: &str = "the file was edited outside sops: restore it from git, or re-create it with `homelab sops encrypt` / change values with `homelab sops set`";

/// Checks one SOPS file (`text` is known to hold sops metadata). `identities` is only given
/// when the user asked for verification explicitly.
pub fn check_sops_file(
    name: &str,
    text: &str,
    format: Format,
    identities: Option<&Identities>,
) -> Vec<Diagnostic> {
    check_parsed_sops_file(name, file::parse(text, format), identities)
}

/// [`check_sops_file`] on a text already parsed with [`file::parse`]: a caller that parsed it
/// to decide whether it is a SOPS file passes the result on (a file at the parser's node bound
/// costs seconds per parse).
pub fn check_parsed_sops_file(
    name: &str,
    parsed: Result<Vec<Document>, file::Error>,
    identities: Option<&Identities>,
) -> Vec<Diagnostic> {
    let mut r = Report {
        name,
        out: Vec::new(),
    };
    let docs = match parsed {
        Ok(d) => d,
        Err(e) => {
            r.push(
                STRUCTURE,
                true,
                e.pos.unwrap_or_default(),
                format!(
                    "this SOPS file does not parse ({}): sops cannot decrypt it",
                    e.message
                ),
                "the file is truncated or was edited by hand; restore it from git",
            );
            return r.out;
        }
    };
    if !docs.first().is_some_and(is_sops_document) {
        let pos = docs
            .iter()
            .find_map(|d| d.get(SOPS_KEY).map(|n| n.pos))
            .unwrap_or_default();
        r.push(
            STRUCTURE,
            true,
            pos,
            "only a later document carries sops metadata; sops reads it from the first document"
                .into(),
            RESTORE,
        );
        return r.out;
    }
    if separately_encrypted_objects(&docs) {
        // Flux's kustomize-controller decrypts each object that carries its own `sops`
        // block on its own, so such a file applies; each object is checked as the file it
        // was encrypted as.
        let pos = docs
            .get(1)
            .and_then(|d| d.get(SOPS_KEY))
            .map(|n| n.pos)
            .unwrap_or_default();
        r.push(
            STRUCTURE,
            false,
            pos,
            format!(
                "the file's {} objects were encrypted separately, each with its own `sops` block: Flux decrypts each object on its own, but `sops -d` on the whole file (and KSOPS or helm-secrets) uses the first block for every document and fails",
                docs.len()
            ),
            "nothing to do for Flux; for sops itself, keep each object in its own file",
        );
        for doc in docs {
            r.out
                .extend(check_parsed_sops_file(name, Ok(vec![doc]), identities));
        }
        return r.out;
    }
    let encrypted = match file::from_documents(docs) {
        Ok(f) => f,
        Err(e) => {
            r.push(
                STRUCTURE,
                true,
                e.pos.unwrap_or_default(),
                e.message,
                RESTORE,
            );
            return r.out;
        }
    };
    structure(&mut r, &encrypted);
    let structure_ok = r.out.is_empty();
    if let (Some(ids), true) = (identities, structure_ok) {
        verify(&mut r, &encrypted, ids);
    }
    r.out
}

/// Several Kubernetes objects, each with a complete `sops` block of its own, not all the
/// same: objects encrypted one by one and joined into one file (with `---`).
fn separately_encrypted_objects(docs: &[Document]) -> bool {
    let is_object = |d: &Document| {
        is_sops_document(d) && d.get("apiVersion").is_some() && d.get("kind").is_some()
    };
    let metadata = |d: &Document| {
        d.get(SOPS_KEY)
            .and_then(|b| Metadata::read(b).ok())
            .map(|m| m.to_value())
    };
    docs.len() > 1
        && docs.iter().all(is_object)
        && docs.iter().all(|d| metadata(d).is_some())
        && docs
            .iter()
            .skip(1)
            .any(|d| metadata(d) != metadata(&docs[0]))
}

fn structure(r: &mut Report<'_>, f: &file::Encrypted) {
    let m = &f.metadata;
    // Every document's block must be the first one's.
    let first = m.to_value();
    for (i, block) in f.blocks.iter().enumerate().skip(1) {
        if let Some(block) = block {
            let same = Metadata::read(block).is_ok_and(|b| b.to_value() == first);
            if !same {
                r.push(
                    STRUCTURE,
                    true,
                    block.pos,
                    format!(
                        "document {} carries different sops metadata than the first; sops decrypts every document with the first one's key",
                        i + 1
                    ),
                    "the file joins documents encrypted separately: encrypt each as its own file",
                );
            }
        }
    }
    if crate::time::mac_additional_data(&m.lastmodified).is_none() {
        r.push(
            STRUCTURE,
            true,
            m.lastmodified_pos,
            format!(
                "`sops.lastmodified` ({}) is not an RFC 3339 time, so the MAC cannot be checked",
                m.lastmodified
            ),
            RESTORE,
        );
    }
    match cipher::parse(&m.mac) {
        _ if m.mac.is_empty() => r.push(STRUCTURE, true, m.pos, "the file has no MAC (`sops.mac`)".into(), RESTORE),
        Err(e) => r.push(
            STRUCTURE,
            true,
            m.mac_pos,
            format!("`sops.mac` is not an encrypted MAC: {e}"),
            RESTORE,
        ),
        Ok(enc) if enc.data.len() != 128 || enc.iv.len() != IV_LEN || enc.tag.len() != TAG_LEN || enc.kind != "str" => r.push(
            STRUCTURE,
            true,
            m.mac_pos,
            "`sops.mac` has the wrong shape (sops stores a 128-character MAC with a 32-byte IV and a 16-byte tag)".into(),
            RESTORE,
        ),
        Ok(_) => {}
    }
    if m.age.is_empty() && m.other_keys.is_empty() && m.key_groups == 0 {
        r.push(
            STRUCTURE,
            true,
            m.pos,
            "the `sops` block has no master key: nobody can decrypt this file".into(),
            RESTORE,
        );
    }
    for key in &m.age {
        if let Err(e) = keys::parse_recipient(&key.recipient) {
            if !key.recipient.starts_with("ssh-") {
                r.push(
                    STRUCTURE,
                    true,
                    key.pos,
                    format!("`sops.age`: {e}"),
                    RESTORE,
                );
            }
        }
        if let Err(e) = keys::check_armor(&key.enc) {
            r.push(
                STRUCTURE,
                true,
                key.pos,
                format!(
                    "the data key wrapped for {} is not a valid age file: {e}",
                    key.recipient
                ),
                RESTORE,
            );
        }
    }
    leaves(r, f);
}

fn leaves(r: &mut Report<'_>, f: &file::Encrypted) {
    let mut ivs: HashMap<Vec<u8>, (String, Pos)> = HashMap::new();
    let mut found = Vec::new();
    walk::visit(&f.docs, &f.metadata.rule, &mut |leaf| {
        let path = leaf.path.join(".");
        let shown = if path.is_empty() {
            "a top-level comment".to_owned()
        } else {
            format!("`{path}`")
        };
        match (leaf.encrypted, leaf.value) {
            (_, Value::Comment(_)) => {}
            (true, Value::Str(s)) if s.is_empty() => {}
            (true, Value::Str(s)) => match cipher::parse(s) {
                Err(cipher::Malformed::NotEncrypted) => found.push((
                    leaf.pos,
                    format!("the value at {shown} is plaintext, but the file's crypt rule ({}: {}) says it is encrypted", f.metadata.rule.field, f.metadata.rule.text),
                )),
                Err(e) => found.push((leaf.pos, format!("the value at {shown} is a broken encrypted value: {e}"))),
                Ok(enc) => {
                    if let Some(problem) = shape_problem(&enc) {
                        found.push((leaf.pos, format!("the value at {shown} is a broken encrypted value: {problem}")));
                    } else if let Some((other, _)) = ivs.get(&enc.iv).filter(|(p, _)| *p != path) {
                        found.push((
                            leaf.pos,
                            format!("the value at {shown} was copied from `{other}` (same IV): it cannot decrypt at another key"),
                        ));
                    } else {
                        ivs.insert(enc.iv.clone(), (path.clone(), leaf.pos));
                    }
                }
            },
            (true, v) => found.push((
                leaf.pos,
                format!(
                    "the value at {shown} is a plaintext {}, but the file's crypt rule ({}: {}) says it is encrypted",
                    v.kind_name(),
                    f.metadata.rule.field,
                    f.metadata.rule.text
                ),
            )),
            (false, Value::Str(s)) if cipher::looks_encrypted(s) => found.push((
                leaf.pos,
                format!(
                    "the value at {shown} is encrypted but the file's crypt rule ({}: {}) does not select it: the rule or the key was edited",
                    f.metadata.rule.field, f.metadata.rule.text
                ),
            )),
            _ => {}
        }
    });
    for (pos, message) in found {
        r.push(STRUCTURE, true, pos, message, RESTORE);
    }
}

/// What is wrong with a parsed encrypted value's shape, if anything.
fn shape_problem(enc: &cipher::Encrypted) -> Option<String> {
    if !KINDS.contains(&enc.kind.as_str()) {
        return Some(format!("its type `{}` is unknown", enc.kind));
    }
    if !matches!(enc.iv.len(), 12 | 16 | 32) {
        return Some(format!("its IV is {} bytes (sops writes 32)", enc.iv.len()));
    }
    if enc.tag.len() != TAG_LEN {
        return Some(format!(
            "its GCM tag is {} bytes (expected 16)",
            enc.tag.len()
        ));
    }
    let n = enc.data.len();
    let fits = match enc.kind.as_str() {
        "bool" => (1..=5).contains(&n),
        "int" => (1..=20).contains(&n),
        "float" | "time" => n >= 1,
        _ => true,
    };
    (!fits).then(|| format!("{n} bytes cannot hold a `{}`", enc.kind))
}

fn verify(r: &mut Report<'_>, f: &file::Encrypted, ids: &Identities) {
    let key = match f.data_key(ids) {
        Ok(k) => k,
        Err(e)
            if matches!(
                e.kind,
                ErrorKind::NotARecipient | ErrorKind::Unsupported | ErrorKind::NoIdentity
            ) =>
        {
            r.push(
                UNVERIFIED,
                false,
                f.metadata.pos,
                format!("the MAC was not verified: {}", e.message),
                "pass the identity of one of the file's recipients with --sops-age-key-file",
            );
            return;
        }
        Err(e) => {
            r.push(
                MAC,
                true,
                e.pos.unwrap_or(f.metadata.pos),
                e.message,
                &e.help,
            );
            return;
        }
    };
    if let Err(e) = f.decrypt(key) {
        r.push(
            MAC,
            true,
            e.pos.unwrap_or(f.metadata.pos),
            e.message,
            &e.help,
        );
    }
}

/// Checks a plaintext file that a creation rule covers: the first value the rule would
/// encrypt, in the documents that must be encrypted, is an error.
pub fn check_plain_file(
    name: &str,
    text: &str,
    format: Format,
    rule: &CreationRule,
    config_name: &str,
    must: MustEncrypt,
) -> Vec<Diagnostic> {
    let mut r = Report {
        name,
        out: Vec::new(),
    };
    let Ok(docs) = file::parse(text, format) else {
        return r.out;
    };
    let crypt = rule.crypt_rule();
    for doc in &docs {
        if must == MustEncrypt::Secrets && !is_secret(doc) {
            continue;
        }
        let mut first = None;
        let mut first_public = None;
        walk::visit(std::slice::from_ref(doc), &crypt, &mut |leaf| {
            if first.is_some() || !leaf.encrypted {
                return;
            }
            let plain = match leaf.value {
                Value::Comment(_) | Value::Null => false,
                Value::Str(s) => !s.is_empty() && !s.contains("${") && !s.contains("{{"),
                _ => true,
            };
            if !plain {
                return;
            }
            let path = leaf.path.join(".");
            if is_public_value(leaf.path, leaf.value) {
                first_public.get_or_insert((leaf.pos, path));
            } else {
                first = Some((leaf.pos, path));
            }
        });
        let what = match must {
            MustEncrypt::Secrets => "this Secret",
            MustEncrypt::WholeFile => "this file",
        };
        if let Some((pos, path)) = first {
            r.push(
                NOT_ENCRYPTED,
                true,
                pos,
                format!(
                    "{what} holds plaintext at `{path}`, but {} of {config_name} says it must be encrypted",
                    rule.describe()
                ),
                &format!("encrypt it in place: `homelab sops encrypt --in-place {name}` (and rotate the value: it may be in the git history)"),
            );
            if must == MustEncrypt::WholeFile {
                break;
            }
        } else if let Some((pos, path)) = first_public {
            // Public keys and certificates leak nothing: the file breaks the repository's
            // own convention, which is worth a note, not an error.
            r.push(
                NOT_ENCRYPTED,
                false,
                pos,
                format!(
                    "{what} holds only public keys or certificates in plaintext (first at `{path}`); {} of {config_name} would encrypt them, but they need no secrecy",
                    rule.describe()
                ),
                &format!("nothing to rotate; encrypt it (`homelab sops encrypt --in-place {name}`) only to follow the repository's convention"),
            );
        }
    }
    r.out
}

/// A plaintext value that is public by design (an SSH public key, a certificate), read
/// from base64 first where it is a Secret's `data` entry.
fn is_public_value(path: &[String], value: &Value) -> bool {
    let Value::Str(text) = value else {
        return false;
    };
    if path.first().map(String::as_str) == Some("data") {
        use base64::Engine as _;
        let compact: String = text.split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .is_some_and(|decoded| homelab_k8s::public_material::is_public_material(&decoded));
    }
    homelab_k8s::public_material::is_public_material(text)
}

fn is_secret(doc: &Document) -> bool {
    let s = |k: &str| doc.get(k).and_then(|n| n.value.as_str().map(str::to_owned));
    s("apiVersion").as_deref() == Some("v1") && s("kind").as_deref() == Some("Secret")
}

/// Whether a file name says the file is encrypted (`x.sops.yaml`, `x.enc.json`, ...), the
/// common conventions; `.sops.yaml` itself is the config.
pub fn named_encrypted(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    if lower == ".sops.yaml" || lower == ".sops.yml" {
        return false;
    }
    let stem = lower
        .strip_suffix(".yaml")
        .or_else(|| lower.strip_suffix(".yml"))
        .or_else(|| lower.strip_suffix(".json"));
    stem.is_some_and(|s| s.ends_with(".sops") || s.ends_with(".enc") || s.ends_with(".secret.sops"))
}

/// The format of a checked file by its name (YAML unless `.json`).
pub fn format_of(name: &str) -> Format {
    if name.to_ascii_lowercase().ends_with(".json") {
        Format::Json
    } else {
        Format::Yaml
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(named_encrypted("db.sops.yaml"));
        assert!(named_encrypted("x.enc.json"));
        assert!(!named_encrypted(".sops.yaml"));
        assert!(!named_encrypted("values.yaml"));
    }
}
