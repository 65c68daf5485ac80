//! Can a key backup recover a SealedSecret? For each sealed value: recoverable, or why not.
//!
//! How the reasons are told apart (honestly; OAEP is designed to leak nothing on failure):
//! * **malformed**: not padded standard base64, or the length prefix overruns the value.
//! * **tampered**: a backup key unwraps the session key under the object's own label (RSA-OAEP
//!   checks the label hash, so key and scope are right), but AES-GCM authentication fails: the
//!   ciphertext or tag was altered (or written by an incompatible sealer, e.g. another nonce).
//! * **wrong scope**: no key opens it under the object's label, but one does under another
//!   label derived from the object (strict `ns/name`, namespace-wide `ns`, cluster-wide empty,
//!   the template's name/namespace, `ns`+`name` without the slash). The SealedSecret was renamed
//!   or moved, or its scope annotation changed, after sealing.
//! * **wrong key**: no key opens it under any of those labels. Either it was sealed for a key
//!   that is not in the backup, or its RSA block was altered: these two cannot be told apart.
//!   When the RSA block's size matches no backup key's size, it is certainly another key.

use crate::crypto::{
    decode_base64_strict, hybrid_decrypt, open_aes, split_blob, unwrap_session_key, OpenError,
};
use crate::keys::NamedKey;
use crate::scope::{describe_label, Scope};
use crate::sealed::object_name;
use serde_json::Value;

/// What happened to one sealed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Opens with key `key` (index into the key list).
    Recoverable { key: usize },
    /// Malformed value (reason).
    Malformed(String),
    /// Key `key` unwraps the session key under the right label, GCM authentication fails.
    Tampered { key: usize },
    /// Opens with key `key` under `found_label`, not under the object's `expected_label`.
    WrongScope {
        key: usize,
        expected_label: Vec<u8>,
        found_label: Vec<u8>,
        found: String,
    },
    /// No key opens it. `sizes_mismatch`: the RSA block matches no backup key's size.
    WrongKey {
        rsa_bits: usize,
        sizes_mismatch: bool,
    },
}

impl Verdict {
    /// One sentence, without any plaintext.
    pub fn reason(&self, keys: &[NamedKey]) -> String {
        let fp = |i: usize| {
            keys.get(i)
                .map(|k| k.fingerprint.clone())
                .unwrap_or_default()
        };
        match self {
            Verdict::Recoverable { key } => format!("recoverable with key {}", fp(*key)),
            Verdict::Malformed(why) => format!("malformed: {why}"),
            Verdict::Tampered { key } => format!(
                "tampered: key {} unwraps its session key under the right label, but AES-GCM \
                 authentication fails: the ciphertext or tag was altered (or written by an incompatible \
                 sealer); re-seal it from the source",
                fp(*key)
            ),
            Verdict::WrongScope {
                key,
                expected_label,
                found,
                ..
            } => format!(
                "wrong scope: the metadata asks for {}, but the value was sealed for {found} \
                 (opens with key {}); the SealedSecret was renamed, moved or its scope annotation \
                 changed after sealing: restore name/namespace/annotation or re-seal",
                describe_label(expected_label),
                fp(*key)
            ),
            Verdict::WrongKey {
                rsa_bits,
                sizes_mismatch,
            } => {
                let tried = keys
                    .iter()
                    .map(|k| k.fingerprint.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                if *sizes_mismatch {
                    format!(
                        "wrong key: it was sealed for a {rsa_bits}-bit key and the backup has no key \
                         of that size (tried {tried}); the sealing key is missing from the backup"
                    )
                } else {
                    format!(
                        "wrong key: none of the {} backup key(s) opens it under any label (tried \
                         {tried}); it was sealed with a key missing from the backup, or its RSA \
                         block was altered (the two cannot be told apart)",
                        keys.len()
                    )
                }
            }
        }
    }
}

/// Labels a value of this object could plausibly have been sealed with, besides its own.
fn candidate_labels(sealed: &Value) -> Vec<(Vec<u8>, String)> {
    let s = |p: &str| {
        sealed
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (ns, name) = (s("/metadata/namespace"), s("/metadata/name"));
    let (tns, tname) = (
        s("/spec/template/metadata/namespace"),
        s("/spec/template/metadata/name"),
    );
    let mut out: Vec<(Vec<u8>, String)> = Vec::new();
    let mut push = |label: Vec<u8>, what: String| {
        if !out.iter().any(|(l, _)| *l == label) {
            out.push((label, what));
        }
    };
    push(Vec::new(), "cluster-wide scope (empty label)".into());
    for (n, m) in [(&ns, &name), (&tns, &tname)] {
        if !n.is_empty() {
            push(
                n.as_bytes().to_vec(),
                format!("namespace-wide scope in namespace `{n}`"),
            );
        }
        if !m.is_empty() {
            push(
                Scope::Strict.label(n, m),
                format!("strict scope as `{n}/{m}`"),
            );
            push(
                format!("{n}{m}").into_bytes(),
                format!(
                    "label `{n}{m}` (namespace and name without the `/`: an incompatible sealer)"
                ),
            );
        }
    }
    out
}

/// Why one value (decoded bytes) of `sealed` does or does not open with `keys`.
pub fn diagnose_item(sealed: &Value, keys: &[NamedKey], bytes: &[u8]) -> Verdict {
    let label = Scope::of_object(sealed).label(
        sealed
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        sealed
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or(""),
    );
    let key_refs: Vec<&rsa::PrivateKey> = keys.iter().map(|k| &k.key).collect();
    match hybrid_decrypt(&key_refs, &label, bytes) {
        Ok((_, key)) => return Verdict::Recoverable { key },
        Err(OpenError::Malformed(why)) => return Verdict::Malformed(why),
        Err(OpenError::Tampered { key_index }) => return Verdict::Tampered { key: key_index },
        Err(OpenError::NoKey) => {}
    }
    let Ok(blob) = split_blob(bytes) else {
        return Verdict::Malformed("length prefix".into());
    };
    for (candidate, what) in candidate_labels(sealed) {
        if candidate == label {
            continue;
        }
        for (i, key) in keys.iter().enumerate() {
            if let Some(sk) = unwrap_session_key(&key.key, &candidate, blob.rsa_block) {
                if open_aes(&sk, blob.aes_block).is_some() {
                    return Verdict::WrongScope {
                        key: i,
                        expected_label: label,
                        found_label: candidate,
                        found: what,
                    };
                }
            }
        }
    }
    let rsa_bytes = blob.rsa_block.len();
    Verdict::WrongKey {
        rsa_bits: rsa_bytes * 8,
        sizes_mismatch: !keys
            .iter()
            .any(|k| rsa::traits::PublicKeyParts::size(&k.key) == rsa_bytes),
    }
}

/// The verdict for one item of a SealedSecret.
#[derive(Debug, Clone)]
pub struct ItemReport {
    pub item: String,
    pub verdict: Verdict,
}

/// The verdicts for one SealedSecret.
#[derive(Debug, Clone)]
pub struct ObjectReport {
    /// `namespace/name`.
    pub object: String,
    pub scope: Scope,
    pub items: Vec<ItemReport>,
    /// Problems with the object itself (not a SealedSecret shape, deprecated format...).
    pub problems: Vec<String>,
}

impl ObjectReport {
    pub fn recoverable(&self) -> bool {
        self.problems.is_empty()
            && self
                .items
                .iter()
                .all(|i| matches!(i.verdict, Verdict::Recoverable { .. }))
    }
}

/// Check every value of one SealedSecret against the backup keys.
pub fn check_sealed_secret(sealed: &Value, keys: &[NamedKey]) -> ObjectReport {
    let mut report = ObjectReport {
        object: object_name(sealed),
        scope: Scope::of_object(sealed),
        items: Vec::new(),
        problems: Vec::new(),
    };
    let encrypted = sealed.pointer("/spec/encryptedData");
    let v1 = sealed.pointer("/spec/data").filter(|d| !d.is_null());
    match (encrypted, v1) {
        (_, Some(data)) => {
            // Deprecated v1 format: one blob holding the whole Secret as JSON.
            let verdict = match data.as_str().map(decode_base64_strict) {
                Some(Ok(bytes)) => diagnose_item(sealed, keys, &bytes),
                Some(Err(e)) => Verdict::Malformed(e),
                None => Verdict::Malformed("spec.data is not a string".into()),
            };
            report.items.push(ItemReport {
                item: "spec.data (deprecated v1 format)".into(),
                verdict,
            });
            if encrypted
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
            {
                report.problems.push(
                    "has both spec.data and spec.encryptedData: the controller refuses it".into(),
                );
            }
        }
        (Some(Value::Object(map)), None) => {
            for (item, value) in map {
                let verdict = match value.as_str().map(decode_base64_strict) {
                    Some(Ok(bytes)) => diagnose_item(sealed, keys, &bytes),
                    Some(Err(e)) => Verdict::Malformed(e),
                    None => Verdict::Malformed("the sealed value is not a string".into()),
                };
                report.items.push(ItemReport {
                    item: item.clone(),
                    verdict,
                });
            }
        }
        (None | Some(Value::Null), None) => {
            report.problems.push("has no spec.encryptedData".into())
        }
        (Some(_), None) => report
            .problems
            .push("spec.encryptedData is not a mapping".into()),
    }
    report
}

/// [`check_sealed_secret`] for many objects, in parallel (each value costs RSA private-key
/// operations, which dominate the run time), results in input order.
pub fn check_all(objects: &[&Value], keys: &[NamedKey]) -> Vec<ObjectReport> {
    use rayon::prelude::*;
    objects
        .par_iter()
        .map(|o| check_sealed_secret(o, keys))
        .collect()
}
