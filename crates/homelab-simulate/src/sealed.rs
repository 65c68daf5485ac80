//! What a SealedSecret's ciphertext must look like for the controller to unseal it: each
//! `encryptedData` value is base64 of a 2-byte big-endian length, an RSA-OAEP-encrypted
//! session key of that length (the size of the sealing key's modulus) and an AES-GCM
//! ciphertext with its 16-byte tag. Anything else fails to unseal on every cluster.

use base64::Engine;
use serde_json::Value;

/// RSA modulus sizes, in bytes, that sealing keys have (2048 to 4096 bits, kubeseal's range).
const KEY_SIZES: &[usize] = &[256, 384, 512];
const GCM_TAG: usize = 16;

/// Why the value of `key` cannot be unsealed, or `None` when it has the shape of a sealed
/// value.
pub fn malformed(key: &str, value: &Value) -> Option<String> {
    let Some(text) = value.as_str() else {
        return Some(format!("encryptedData `{key}` is not a string"));
    };
    let compact: String = text.split_whitespace().collect();
    let bytes = match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        Ok(b) => b,
        Err(_) => return Some(format!("encryptedData `{key}` is not base64")),
    };
    if bytes.len() < 2 {
        return Some(format!("encryptedData `{key}` is too short to be sealed"));
    }
    let rsa_len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    if !KEY_SIZES.contains(&rsa_len) {
        return Some(format!(
            "encryptedData `{key}` does not start with a sealed session key (length {rsa_len})"
        ));
    }
    if bytes.len() < 2 + rsa_len + GCM_TAG {
        return Some(format!(
            "encryptedData `{key}` is truncated ({} bytes, a sealed value has at least {})",
            bytes.len(),
            2 + rsa_len + GCM_TAG
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealed(rsa: usize, rest: usize) -> String {
        let mut b = vec![(rsa >> 8) as u8, rsa as u8];
        b.resize(2 + rsa + rest, 7);
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn well_formed_values_pass_and_broken_ones_say_why() {
        assert_eq!(malformed("a", &json!(sealed(512, 40))), None);
        assert!(malformed("a", &json!("not base64!!"))
            .unwrap()
            .contains("not base64"));
        assert!(malformed("a", &json!(sealed(100, 40)))
            .unwrap()
            .contains("session key"));
        assert!(malformed("a", &json!(sealed(512, 3)))
            .unwrap()
            .contains("truncated"));
        assert!(malformed("a", &json!(3)).is_some());
    }
}
