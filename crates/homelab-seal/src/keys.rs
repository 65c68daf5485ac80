//! Keys: the controller certificate used for sealing, the private keys used for unsealing
//! (PEM PKCS#1 / PKCS#8, or the controller's key-backup Secrets), and the SSH SHA-256
//! fingerprint the controller indexes keys by (used in messages instead of key material).

use crate::crypto::decode_secret_data;
use crate::error::SealError;
use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use serde_json::Value;
use std::time::SystemTime;
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::Certificate;

/// The public half of a controller key, from its certificate.
#[derive(Debug, Clone)]
pub struct SealingCert {
    pub public_key: PublicKey,
    pub subject: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub fingerprint: String,
}

impl SealingCert {
    /// kubeseal refuses to seal with an expired certificate (it does not check NotBefore).
    pub fn check_not_expired(&self, now: SystemTime) -> Result<(), SealError> {
        if now > self.not_after {
            return Err(SealError::Certificate(format!(
                "the certificate expired on {} (subject `{}`): refusing to seal with an expired \
                 certificate, like kubeseal; fetch the controller's current certificate \
                 (`kubeseal --fetch-cert > cert.pem`)",
                format_time(self.not_after),
                self.subject
            )));
        }
        Ok(())
    }

    pub fn bits(&self) -> usize {
        self.public_key.size() * 8
    }

    /// What is suspicious about sealing with this certificate, though kubeseal accepts it: a
    /// key too short to protect the secrets (below 2048 bits; the controller makes 4096-bit
    /// keys), or a certificate not valid yet (a wrong clock, or not the controller's).
    pub fn warnings(&self, now: SystemTime) -> Vec<String> {
        let mut out = Vec::new();
        if self.bits() < MIN_RSA_BITS {
            out.push(format!(
                "the certificate's key is RSA-{} (subject `{}`): too short to protect secrets \
                 (at least {MIN_RSA_BITS} bits; the sealed-secrets controller generates 4096-bit \
                 keys); check that this is the controller's certificate",
                self.bits(),
                self.subject
            ));
        }
        if now < self.not_before {
            out.push(format!(
                "the certificate is not valid before {} (subject `{}`): check this machine's \
                 clock, and that this is the controller's current certificate",
                format_time(self.not_before),
                self.subject
            ));
        }
        out
    }
}

/// The shortest RSA key a sealing certificate should have.
pub const MIN_RSA_BITS: usize = 2048;

/// Read the first certificate of a PEM bundle (or a DER certificate), like Go kubeseal.
pub fn parse_certificate(bytes: &[u8]) -> Result<SealingCert, SealError> {
    let cert = if bytes.first() == Some(&0x30) {
        Certificate::from_der(bytes)
            .map_err(|e| SealError::Certificate(format!("not a DER X.509 certificate: {e}")))?
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| SealError::Certificate("not a PEM certificate (not UTF-8 text)".into()))?;
        let block = pem_blocks(text)
            .into_iter()
            .find(|(label, _)| *label == "CERTIFICATE")
            .ok_or_else(|| {
                SealError::Certificate(
                    "no `-----BEGIN CERTIFICATE-----` block found; pass the controller's \
                     certificate (`kubeseal --fetch-cert`)"
                        .into(),
                )
            })?;
        Certificate::from_pem(block.1.as_bytes())
            .map_err(|e| SealError::Certificate(format!("invalid PEM certificate: {e}")))?
    };
    let tbs = cert.tbs_certificate();
    let spki_der = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|e| SealError::Certificate(format!("certificate public key: {e}")))?;
    let public_key = PublicKey::from_public_key_der(&spki_der).map_err(|e| {
        SealError::Certificate(format!(
            "the certificate's public key is not an RSA key ({e}); SealedSecrets needs RSA"
        ))
    })?;
    let validity = tbs.validity();
    Ok(SealingCert {
        fingerprint: fingerprint(&public_key),
        public_key,
        subject: tbs.subject().to_string(),
        not_before: validity.not_before.to_system_time(),
        not_after: validity.not_after.to_system_time(),
    })
}

/// A private key and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct NamedKey {
    pub key: PrivateKey,
    /// e.g. `backup.yaml: Secret kube-system/sealed-secrets-keyabcde` or `tls.key`.
    pub source: String,
    /// SSH SHA-256 fingerprint of the public key, as the controller logs it.
    pub fingerprint: String,
}

impl NamedKey {
    pub fn new(key: PrivateKey, source: impl Into<String>) -> Self {
        let fingerprint = fingerprint(key.as_public_key());
        NamedKey {
            key,
            source: source.into(),
            fingerprint,
        }
    }

    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }
}

/// Does this text hold PEM blocks (rather than YAML/JSON key-backup documents)?
pub fn looks_like_pem(text: &str) -> bool {
    text.contains("-----BEGIN ")
}

/// Every private key in a PEM text (`RSA PRIVATE KEY` = PKCS#1, `PRIVATE KEY` = PKCS#8).
/// Certificates in the same file are skipped; anything else is an error that says what to do.
pub fn private_keys_from_pem(source: &str, text: &str) -> Result<Vec<NamedKey>, SealError> {
    let mut keys = Vec::new();
    for (label, block) in pem_blocks(text) {
        let key = match label {
            "RSA PRIVATE KEY" => PrivateKey::from_pkcs1_pem(block).map_err(|e| {
                SealError::PrivateKey(format!("{source}: invalid PKCS#1 RSA private key: {e}"))
            })?,
            "PRIVATE KEY" => PrivateKey::from_pkcs8_pem(block).map_err(|e| {
                SealError::PrivateKey(format!(
                    "{source}: not an RSA PKCS#8 private key ({e}); SealedSecrets keys are RSA"
                ))
            })?,
            "ENCRYPTED PRIVATE KEY" => {
                return Err(SealError::PrivateKey(format!(
                    "{source}: the private key is passphrase-protected; write a plain copy to a \
                     file only you can read: `openssl pkey -in {source} -out key.pem && chmod 600 key.pem`"
                )))
            }
            "CERTIFICATE" => continue,
            other => {
                return Err(SealError::PrivateKey(format!(
                    "{source}: `{other}` is not an RSA private key; give the controller's \
                     `tls.key` (RSA PRIVATE KEY or PRIVATE KEY)"
                )))
            }
        };
        keys.push(NamedKey::new(key, source.to_string()));
    }
    if keys.is_empty() {
        return Err(SealError::PrivateKey(format!(
            "{source}: no `-----BEGIN RSA PRIVATE KEY-----` or `-----BEGIN PRIVATE KEY-----` block"
        )));
    }
    Ok(keys)
}

/// The private keys of a controller key backup: a `v1 List` of Secrets and/or Secret
/// documents, each with `data["tls.key"]` (base64 of the PEM key), as
/// `kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`
/// writes it. Every Secret must carry a key (like kubeseal).
pub fn private_keys_from_documents(
    source: &str,
    documents: &[Value],
) -> Result<Vec<NamedKey>, SealError> {
    let mut keys = Vec::new();
    for doc in documents {
        if doc.is_null() {
            continue;
        }
        if doc.get("kind").and_then(Value::as_str) == Some("List") {
            let items = doc.get("items").and_then(Value::as_array).ok_or_else(|| {
                SealError::PrivateKey(format!("{source}: a List without `items`"))
            })?;
            for item in items {
                keys.push(key_from_secret(source, item)?);
            }
        } else {
            keys.push(key_from_secret(source, doc)?);
        }
    }
    if keys.is_empty() {
        return Err(SealError::PrivateKey(format!(
            "{source}: no key-backup Secret found (expected Secrets with data[\"tls.key\"], or a List of them)"
        )));
    }
    Ok(keys)
}

fn key_from_secret(source: &str, secret: &Value) -> Result<NamedKey, SealError> {
    let name = secret
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    let namespace = secret
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let what = if namespace.is_empty() {
        format!("Secret {name}")
    } else {
        format!("Secret {namespace}/{name}")
    };
    let kind = secret.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "Secret" {
        return Err(SealError::PrivateKey(format!(
            "{source}: expected a Secret holding a controller key (data[\"tls.key\"]), found kind `{kind}`"
        )));
    }
    let encoded = secret
        .pointer("/data/tls.key")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            SealError::PrivateKey(format!(
                "{source}: {what} has no data[\"tls.key\"]; back up the controller keys with \
                 `kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`"
            ))
        })?;
    let pem = decode_secret_data(encoded).map_err(|e| {
        SealError::PrivateKey(format!("{source}: {what}: data[\"tls.key\"] is {e}"))
    })?;
    let pem = String::from_utf8(pem).map_err(|_| {
        SealError::PrivateKey(format!(
            "{source}: {what}: data[\"tls.key\"] is not a PEM text"
        ))
    })?;
    let label = format!("{source}: {what}");
    let mut keys = private_keys_from_pem(&label, &pem)?;
    // One key per Secret; a bundle with more is unusual but harmless: keep the first.
    Ok(keys.swap_remove(0))
}

/// SSH SHA-256 fingerprint (`SHA256:` + unpadded base64) of an RSA public key: the hash of the
/// SSH wire encoding `string "ssh-rsa", mpint e, mpint n`.
pub fn fingerprint(key: &PublicKey) -> String {
    let mut wire = Vec::new();
    put_string(&mut wire, b"ssh-rsa");
    put_mpint(&mut wire, &key.e().to_be_bytes());
    put_mpint(&mut wire, &key.n().as_ref().to_be_bytes());
    let digest = Sha256::digest(&wire);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths of RSA parts are far below 4 GiB.
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_mpint(out: &mut Vec<u8>, big_endian: &[u8]) {
    let start = big_endian
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(big_endian.len());
    let digits = &big_endian[start..];
    let mut v = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_some_and(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(digits);
    put_string(out, &v);
}

/// The PEM blocks of a text: (label, whole block text including BEGIN/END lines).
pub fn pem_blocks(text: &str) -> Vec<(&str, &str)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after = &rest[begin + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[begin..].find(&end_marker) else {
            break;
        };
        let stop = begin + end + end_marker.len();
        blocks.push((label, &rest[begin..stop]));
        rest = &rest[stop..];
    }
    blocks
}

/// `2026-11-26T13:55:51Z` for messages (UTC, no external date crate needed for this).
pub fn format_time(t: SystemTime) -> String {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

// Howard Hinnant's days-to-civil algorithm (public domain description).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keygen;
    use std::time::Duration;

    #[test]
    fn pem_and_backup_forms_load_the_same_key() {
        let generated = keygen::generate(2048, "test", Duration::from_secs(3600)).unwrap();
        let from_pem = private_keys_from_pem("tls.key", &generated.private_key_pem).unwrap();
        assert_eq!(from_pem.len(), 1);
        let backup = generated.backup_secret("kube-system", "sealed-secrets-keytest");
        let list =
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [backup.clone()]});
        let from_list = private_keys_from_documents("b.yaml", &[list]).unwrap();
        let from_docs = private_keys_from_documents("b.yaml", &[backup]).unwrap();
        assert_eq!(from_pem[0].fingerprint, from_list[0].fingerprint);
        assert_eq!(from_docs[0].fingerprint, from_list[0].fingerprint);
        assert!(from_list[0]
            .source
            .contains("kube-system/sealed-secrets-keytest"));
        let cert = parse_certificate(generated.certificate_pem.as_bytes()).unwrap();
        assert_eq!(cert.fingerprint, from_pem[0].fingerprint);
        assert_eq!(cert.bits(), 2048);
    }

    #[test]
    fn a_secret_without_tls_key_is_refused() {
        let doc = serde_json::json!({"kind": "Secret", "metadata": {"name": "x"}, "data": {}});
        let err = private_keys_from_documents("b.yaml", &[doc]).unwrap_err();
        assert!(err.to_string().contains("tls.key"), "{err}");
    }

    #[test]
    fn expired_certificates_are_refused() {
        let generated = keygen::generate(2048, "test", Duration::from_secs(60)).unwrap();
        let cert = parse_certificate(generated.certificate_pem.as_bytes()).unwrap();
        assert!(cert.check_not_expired(SystemTime::now()).is_ok());
        let later = SystemTime::now() + Duration::from_secs(3600);
        let err = cert.check_not_expired(later).unwrap_err().to_string();
        assert!(err.contains("expired"), "{err}");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(parse_certificate(b"hello").is_err());
        assert!(parse_certificate(&[0x30, 0x03, 0x01]).is_err());
        assert!(private_keys_from_pem(
            "k",
            "-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n"
        )
        .is_err());
        assert!(private_keys_from_pem(
            "k",
            "-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n"
        )
        .is_err());
    }

    #[test]
    fn dates_format_in_utc() {
        assert_eq!(format_time(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_096_551);
        assert_eq!(format_time(t), "2026-11-19T13:55:51Z");
    }
}
