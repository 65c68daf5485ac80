//! The per-value hybrid encryption of SealedSecrets (Go `HybridEncrypt`/`HybridDecrypt`):
//!
//! `u16be(len(rsa)) || RSA-OAEP-SHA256(label)(session key) || AES-256-GCM(zero nonce)(value)`,
//! base64 (standard alphabet, padded). A fresh 32-byte session key per value is what makes the
//! all-zero GCM nonce safe.
//!
//! Decryption keeps the failure reasons apart (malformed blob / no key unwraps the session key
//! / a key unwraps it but GCM authentication fails) because `secrets check-backup` reports them.

use crate::error::SealError;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rsa::sha2::Sha256;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey, PublicKey};
use zeroize::Zeroizing;

/// Length of the AES-256 session key.
pub const SESSION_KEY_LEN: usize = 32;
/// Length of the GCM tag appended to the ciphertext.
pub const GCM_TAG_LEN: usize = 16;

/// Seal one value for `key` under `label`. Returns the raw bytes (not yet base64).
pub fn hybrid_encrypt(
    key: &PublicKey,
    label: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    getrandom::fill(session_key.as_mut())
        .map_err(|e| SealError::Encrypt(format!("the system random generator failed: {e}")))?;
    let padding = Oaep::<Sha256>::new_with_label(label.to_vec());
    let wrapped = key
        .encrypt(&mut getrandom::SysRng, padding, session_key.as_ref())
        .map_err(|e| SealError::Encrypt(format!("RSA-OAEP: {e}")))?;
    let wrapped_len = u16::try_from(wrapped.len()).map_err(|_| {
        SealError::Encrypt(format!(
            "the RSA key is too large ({} bytes): the format stores its size in 16 bits",
            wrapped.len()
        ))
    })?;
    let cipher = Aes256Gcm::new_from_slice(session_key.as_ref())
        .map_err(|e| SealError::Encrypt(format!("AES key: {e}")))?;
    let sealed = cipher
        .encrypt(&zero_nonce(), plaintext)
        .map_err(|e| SealError::Encrypt(format!("AES-GCM: {e}")))?;
    let mut out = Vec::with_capacity(2 + wrapped.len() + sealed.len());
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// `bytes` fresh random bytes from the system generator, as lowercase hex (a generated
/// secret value: an API key, an encryption key).
pub fn random_hex(bytes: usize) -> Result<String, SealError> {
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(buf.as_mut_slice())
        .map_err(|e| SealError::Encrypt(format!("the system random generator failed: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Seal one value and return its base64 text (what `kubeseal --raw` prints).
pub fn seal_value(key: &PublicKey, label: &[u8], plaintext: &[u8]) -> Result<String, SealError> {
    Ok(encode_base64(&hybrid_encrypt(key, label, plaintext)?))
}

fn zero_nonce() -> Nonce<aes_gcm::aead::consts::U12> {
    Nonce::from([0u8; 12])
}

/// Why one sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Not valid padded standard base64, or the length prefix does not fit.
    Malformed(String),
    /// No key unwrapped the session key under this label (wrong key, wrong label, or the RSA
    /// block was altered: OAEP cannot tell these apart, by design).
    NoKey,
    /// Key `key_index` unwrapped the session key under the label (so key and label are right),
    /// but AES-GCM authentication failed: the ciphertext or tag was altered.
    Tampered { key_index: usize },
}

/// A sealed value split into its two blocks.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a> {
    pub rsa_block: &'a [u8],
    pub aes_block: &'a [u8],
}

/// Split the decoded bytes at the big-endian u16 length prefix.
pub fn split_blob(bytes: &[u8]) -> Result<Blob<'_>, OpenError> {
    if bytes.len() < 2 {
        return Err(OpenError::Malformed(
            "SealedSecret data is too short (no length prefix)".to_string(),
        ));
    }
    let n = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    if bytes.len() < 2 + n {
        return Err(OpenError::Malformed(format!(
            "SealedSecret data is too short: the length prefix says {n} bytes of RSA ciphertext but only {} follow",
            bytes.len() - 2
        )));
    }
    Ok(Blob {
        rsa_block: &bytes[2..2 + n],
        aes_block: &bytes[2 + n..],
    })
}

/// RSA-OAEP(SHA-256, MGF1-SHA-256) unwrap of the session key, or `None`.
pub fn unwrap_session_key(
    key: &PrivateKey,
    label: &[u8],
    rsa_block: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if rsa_block.len() != key.size() {
        // Cannot be for this key (OAEP would reject it too; this is only faster).
        return None;
    }
    let padding = Oaep::<Sha256>::new_with_label(label.to_vec());
    key.decrypt(padding, rsa_block).ok().map(Zeroizing::new)
}

/// AES-256-GCM open with the zero nonce and no AAD.
pub fn open_aes(session_key: &[u8], aes_block: &[u8]) -> Option<Vec<u8>> {
    // Go accepts any AES key length here; every known sealer uses 32 bytes.
    let cipher = Aes256Gcm::new_from_slice(session_key).ok()?;
    cipher.decrypt(&zero_nonce(), aes_block).ok()
}

/// Open one sealed value (raw bytes) with the first key that works (Go `HybridDecrypt`).
/// Returns the plaintext and the index of the key that opened it.
pub fn hybrid_decrypt(
    keys: &[&PrivateKey],
    label: &[u8],
    bytes: &[u8],
) -> Result<(Vec<u8>, usize), OpenError> {
    let blob = split_blob(bytes)?;
    let mut tampered = None;
    for (index, key) in keys.iter().enumerate() {
        if let Some(session_key) = unwrap_session_key(key, label, blob.rsa_block) {
            match open_aes(&session_key, blob.aes_block) {
                Some(plain) => return Ok((plain, index)),
                None => tampered = tampered.or(Some(index)),
            }
        }
    }
    match tampered {
        Some(key_index) => Err(OpenError::Tampered { key_index }),
        None => Err(OpenError::NoKey),
    }
}

/// Base64 as Go's `StdEncoding.EncodeToString`.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 as Go's `StdEncoding.DecodeString` reads it: standard alphabet, padding required,
/// CR and LF ignored, anything else is an error.
pub fn decode_base64_strict(text: &str) -> Result<Vec<u8>, String> {
    let cleaned: String;
    let input = if text.contains(['\r', '\n']) {
        cleaned = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        cleaned.as_str()
    } else {
        text
    };
    // The error names an offset, never the offending character: it may be part of a secret.
    base64::engine::general_purpose::STANDARD
        .decode(input)
        .map_err(|e| {
            let detail = match e {
                base64::DecodeError::InvalidByte(at, _) => {
                    format!("invalid character at offset {at}")
                }
                base64::DecodeError::InvalidLastSymbol(at, _) => {
                    format!("invalid last character at offset {at}")
                }
                base64::DecodeError::InvalidLength(n) => format!("invalid length {n}"),
                base64::DecodeError::InvalidPadding => "missing or wrong `=` padding".to_string(),
            };
            format!("not valid padded standard base64 ({detail})")
        })
}

/// Base64 of a Secret's `data` value. Kubernetes (Go `[]byte` JSON) wants standard padded
/// base64; we additionally tolerate line breaks, like Go.
pub fn decode_secret_data(text: &str) -> Result<Vec<u8>, String> {
    decode_base64_strict(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keygen::generate_private_key;

    #[test]
    fn round_trip_and_layout() {
        let key = generate_private_key(2048).unwrap();
        let public = key.to_public_key();
        for plain in [&b""[..], b"foo", &[0u8, 255, 1, 2][..]] {
            let blob = hybrid_encrypt(&public, b"ns/name", plain).unwrap();
            assert_eq!(blob.len(), 2 + 256 + plain.len() + GCM_TAG_LEN);
            assert_eq!(&blob[..2], &[0x01, 0x00]);
            let (out, idx) = hybrid_decrypt(&[&key], b"ns/name", &blob).unwrap();
            assert_eq!(out, plain);
            assert_eq!(idx, 0);
            assert_eq!(
                hybrid_decrypt(&[&key], b"ns/other", &blob),
                Err(OpenError::NoKey)
            );
        }
    }

    #[test]
    fn session_keys_are_fresh_per_value() {
        let key = generate_private_key(2048).unwrap();
        let public = key.to_public_key();
        let a = hybrid_encrypt(&public, b"", b"same").unwrap();
        let b = hybrid_encrypt(&public, b"", b"same").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[2 + 256..], b[2 + 256..], "same session key used twice");
    }

    #[test]
    fn tampering_is_told_apart_from_a_wrong_key() {
        let key = generate_private_key(2048).unwrap();
        let other = generate_private_key(2048).unwrap();
        let mut blob = hybrid_encrypt(&key.to_public_key(), b"l", b"value").unwrap();
        assert_eq!(
            hybrid_decrypt(&[&other], b"l", &blob),
            Err(OpenError::NoKey)
        );
        let last = blob.len() - 1;
        blob[last] ^= 1;
        assert_eq!(
            hybrid_decrypt(&[&other, &key], b"l", &blob),
            Err(OpenError::Tampered { key_index: 1 })
        );
        blob[10] ^= 1; // inside the RSA block
        assert_eq!(hybrid_decrypt(&[&key], b"l", &blob), Err(OpenError::NoKey));
    }

    #[test]
    fn malformed_inputs_are_refused_without_panic() {
        let key = generate_private_key(2048).unwrap();
        for bytes in [&b""[..], &[1][..], &[0xff, 0xff, 1, 2, 3][..]] {
            assert!(matches!(
                hybrid_decrypt(&[&key], b"", bytes),
                Err(OpenError::Malformed(_))
            ));
        }
        assert!(decode_base64_strict("Zm9v").is_ok());
        assert!(
            decode_base64_strict("Zm9vYg").is_err(),
            "unpadded must fail like Go"
        );
        assert_eq!(decode_base64_strict("Zm9v\r\nYg==").unwrap(), b"foob");
        let err = decode_base64_strict("Zm9v*g==").unwrap_err();
        assert!(
            err.contains("offset 4") && !err.contains('*') && !err.contains("42"),
            "{err}"
        );
    }
}
