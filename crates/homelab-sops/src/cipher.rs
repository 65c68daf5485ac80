//! Encrypted values: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM with a 32-byte
//! IV and the value's path as additional data, and the typed plaintext bytes that are also
//! what the MAC hashes.

use crate::tree::{go_float_plain, Value};
use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use base64::Engine as _;
use regex::Regex;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// The 32-byte AES key of a file.
pub type DataKey = Zeroizing<[u8; 32]>;

/// The IV length sops writes.
pub const IV_LEN: usize = 32;
pub const TAG_LEN: usize = 16;

/// Go's `base64.StdEncoding`: padded, newlines ignored, trailing bits not checked.
fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
    )
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let cleaned: String = s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    b64().decode(cleaned.as_bytes()).ok()
}

fn encode_b64(bytes: &[u8]) -> String {
    b64().encode(bytes)
}

fn enc_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
            .expect("valid pattern")
    })
}

/// The parts of an encrypted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub kind: String,
}

/// Why a string is not a well-formed encrypted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    NotEncrypted,
    BadBase64(&'static str),
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::NotEncrypted => write!(f, "it is not an ENC[AES256_GCM,...] value"),
            Malformed::BadBase64(part) => write!(f, "its {part} is not valid base64"),
        }
    }
}

/// Whether `s` has the shape of an encrypted value (sops's own test).
pub fn looks_encrypted(s: &str) -> bool {
    enc_regex().is_match(s)
}

/// Splits an encrypted value (sops's regular expression, Go's base64).
pub fn parse(s: &str) -> Result<Encrypted, Malformed> {
    let caps = enc_regex().captures(s).ok_or(Malformed::NotEncrypted)?;
    let part = |i: usize, name: &'static str| {
        decode_b64(caps.get(i).map_or("", |m| m.as_str())).ok_or(Malformed::BadBase64(name))
    };
    Ok(Encrypted {
        data: part(1, "data")?,
        iv: part(2, "iv")?,
        tag: part(3, "tag")?,
        kind: caps.get(4).map_or("", |m| m.as_str()).to_owned(),
    })
}

/// The type tags sops knows.
pub const KINDS: [&str; 7] = ["str", "int", "float", "bytes", "bool", "time", "comment"];

/// The plaintext bytes of a leaf and its type tag (what sops encrypts and hashes). `None` for
/// values sops neither encrypts nor hashes (null, collections).
pub fn plaintext(value: &Value) -> Option<(Vec<u8>, &'static str)> {
    Some(match value {
        Value::Str(s) => (s.as_bytes().to_vec(), "str"),
        Value::Int(i) => (i.to_string().into_bytes(), "int"),
        Value::Float(f) => (go_float_plain(*f).into_bytes(), "float"),
        Value::Bool(true) => (b"True".to_vec(), "bool"),
        Value::Bool(false) => (b"False".to_vec(), "bool"),
        Value::Time(t) => (t.as_bytes().to_vec(), "time"),
        Value::Comment(c) => (c.as_bytes().to_vec(), "comment"),
        Value::Null | Value::Map(_) | Value::Seq(_) => return None,
    })
}

/// What went wrong decrypting a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptError {
    Malformed(Malformed),
    /// The IV length is not one we can use.
    IvLength(usize),
    TagLength(usize),
    /// GCM authentication failed: wrong key, edited ciphertext, or a value moved to another
    /// path (the path is the additional data).
    Authentication,
    /// It decrypted but the text does not fit its `type:` tag.
    BadPlaintext(String),
}

impl std::fmt::Display for DecryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecryptError::Malformed(m) => m.fmt(f),
            DecryptError::IvLength(n) => write!(f, "its IV is {n} bytes (sops writes 32)"),
            DecryptError::TagLength(n) => write!(f, "its GCM tag is {n} bytes (expected 16)"),
            DecryptError::Authentication => write!(
                f,
                "it does not authenticate: the ciphertext was edited, or moved from another key path"
            ),
            DecryptError::BadPlaintext(m) => f.write_str(m),
        }
    }
}

macro_rules! with_gcm {
    ($key:expr, $iv:expr, |$cipher:ident, $nonce:ident| $body:expr) => {{
        match $iv.len() {
            32 => {
                let $cipher = AesGcm::<Aes256, U32>::new_from_slice($key.as_ref()).ok();
                let $nonce = aes_gcm::Nonce::<U32>::try_from($iv).ok();
                $body
            }
            12 => {
                let $cipher = AesGcm::<Aes256, U12>::new_from_slice($key.as_ref()).ok();
                let $nonce = aes_gcm::Nonce::<U12>::try_from($iv).ok();
                $body
            }
            16 => {
                let $cipher = AesGcm::<Aes256, U16>::new_from_slice($key.as_ref()).ok();
                let $nonce = aes_gcm::Nonce::<U16>::try_from($iv).ok();
                $body
            }
            n => Err(DecryptError::IvLength(n)),
        }
    }};
}

/// Decrypts an encrypted value with `aad` (the path string) into the bytes and the type tag.
pub fn open(enc: &Encrypted, key: &DataKey, aad: &str) -> Result<Vec<u8>, DecryptError> {
    if enc.tag.len() != TAG_LEN {
        return Err(DecryptError::TagLength(enc.tag.len()));
    }
    let tag = aes_gcm::Tag::<U16>::try_from(enc.tag.as_slice())
        .map_err(|_| DecryptError::TagLength(enc.tag.len()))?;
    let mut buffer = enc.data.clone();
    let iv = enc.iv.as_slice();
    with_gcm!(key, iv, |cipher, nonce| {
        match (cipher, nonce) {
            (Some(c), Some(n)) => c
                .decrypt_inout_detached(&n, aad.as_bytes(), buffer.as_mut_slice().into(), &tag)
                .map_err(|_| DecryptError::Authentication)
                .map(|()| buffer),
            _ => Err(DecryptError::Authentication),
        }
    })
}

/// Decrypts a value string into a typed value (`""` stays `""`, as in sops).
pub fn decrypt(s: &str, key: &DataKey, aad: &str) -> Result<Value, DecryptError> {
    if s.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    let enc = parse(s).map_err(DecryptError::Malformed)?;
    let bytes = open(&enc, key, aad)?;
    typed(bytes, &enc.kind)
}

/// Converts decrypted bytes to a value by their type tag, as sops does with Go's parsers.
pub fn typed(bytes: Vec<u8>, kind: &str) -> Result<Value, DecryptError> {
    let text = || {
        String::from_utf8(bytes.clone()).map_err(|_| {
            DecryptError::BadPlaintext(format!("its `{kind}` plaintext is not UTF-8 text"))
        })
    };
    let bad =
        |what: &str| DecryptError::BadPlaintext(format!("its plaintext is not a valid {what}"));
    Ok(match kind {
        "str" | "bytes" => Value::Str(text()?),
        "comment" => Value::Comment(text()?),
        "int" => {
            let t = text()?;
            let digits = t.strip_prefix(['+', '-']).unwrap_or(&t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("integer"));
            }
            Value::Int(t.parse().map_err(|_| bad("integer"))?)
        }
        "float" => Value::Float(parse_go_float(&text()?).ok_or_else(|| bad("float"))?),
        "bool" => match text()?.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Value::Bool(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Value::Bool(false),
            _ => return Err(bad("boolean")),
        },
        "time" => Value::Time(
            crate::time::normalize_rfc3339_nano(&text()?).ok_or_else(|| bad("RFC 3339 time"))?,
        ),
        other => {
            return Err(DecryptError::BadPlaintext(format!(
                "its type `{other}` is unknown"
            )))
        }
    })
}

/// Go's `strconv.ParseFloat(s, 64)` for what sops writes (decimal, `+Inf`, `NaN`).
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    match body {
        "inf" | "infinity" | "nan" => return s.parse().ok(),
        _ => {}
    }
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
        && body.bytes().any(|c| c.is_ascii_digit());
    if !valid {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Fresh random bytes (data keys, IVs).
pub fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("the system random source failed: {e}"))?;
    Ok(bytes)
}

/// Encrypts a leaf with a fresh IV. Empty strings and comments stay empty, as in sops.
pub fn encrypt(value: &Value, key: &DataKey, aad: &str) -> Result<String, String> {
    let iv = random::<IV_LEN>()?;
    encrypt_with_iv(value, key, aad, &iv)
}

/// [`encrypt`] with a given IV (sops reuses the IV of an unchanged value when re-encrypting).
pub fn encrypt_with_iv(
    value: &Value,
    key: &DataKey,
    aad: &str,
    iv: &[u8; IV_LEN],
) -> Result<String, String> {
    let Some((mut bytes, kind)) = plaintext(value) else {
        return Err(format!("a {} cannot be encrypted", value.kind_name()));
    };
    if bytes.is_empty() && matches!(value, Value::Str(_) | Value::Comment(_)) {
        return Ok(String::new());
    }
    let cipher = AesGcm::<Aes256, U32>::new_from_slice(key.as_ref())
        .map_err(|_| "the data key is not 32 bytes".to_owned())?;
    let nonce = aes_gcm::Nonce::<U32>::from(*iv);
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad.as_bytes(), bytes.as_mut_slice().into())
        .map_err(|_| "AES-GCM refused the value (too long?)".to_owned())?;
    Ok(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        encode_b64(&bytes),
        encode_b64(iv),
        encode_b64(tag.as_slice())
    ))
}

/// The additional data of a value: each key of its path followed by `:`.
pub fn path_aad(path: &[String]) -> String {
    let mut out = String::new();
    for p in path {
        out.push_str(p);
        out.push(':');
    }
    if path.is_empty() {
        out.push(':');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        Zeroizing::new([7u8; 32])
    }

    #[test]
    fn round_trip_every_type() {
        for v in [
            Value::Str("héllo".into()),
            Value::Int(-7),
            Value::Float(3.25),
            Value::Bool(false),
            Value::Time("2024-01-01T00:00:00Z".into()),
            Value::Comment(" a comment".into()),
        ] {
            let enc = encrypt(&v, &key(), "data:x:").unwrap();
            assert!(looks_encrypted(&enc), "{enc}");
            assert_eq!(decrypt(&enc, &key(), "data:x:").unwrap(), v);
            assert_eq!(
                decrypt(&enc, &key(), "data:y:"),
                Err(DecryptError::Authentication)
            );
        }
        assert_eq!(
            encrypt(&Value::Str(String::new()), &key(), "a:").unwrap(),
            ""
        );
        assert_eq!(
            decrypt("", &key(), "a:").unwrap(),
            Value::Str(String::new())
        );
    }

    #[test]
    fn aad_is_the_path_with_colons() {
        assert_eq!(
            path_aad(&["data".into(), "username".into()]),
            "data:username:"
        );
        assert_eq!(path_aad(&[]), ":");
    }

    #[test]
    fn decrypts_a_value_written_by_sops() {
        // From the shared vectors' key: the data key is not known here, so only parse.
        let v = "ENC[AES256_GCM,data:YQ695jQWydQ=,iv:BQa0RQhvnimJ9OnnOY5kbSgtur4dzt0jv2sKiV6Hd9M=,tag:dCYOYVB1OXugu1T/1kT6Cw==,type:str]";
        let e = parse(v).unwrap();
        assert_eq!((e.data.len(), e.iv.len(), e.tag.len()), (8, 32, 16));
        assert_eq!(e.kind, "str");
        assert_eq!(
            parse("ENC[AES256_GCM,data:!!,iv:a,tag:b,type:str]"),
            Err(Malformed::BadBase64("data"))
        );
        assert_eq!(parse("plain"), Err(Malformed::NotEncrypted));
    }

    #[test]
    fn typed_plaintexts_follow_go_parsers() {
        assert_eq!(typed(b"True".to_vec(), "bool").unwrap(), Value::Bool(true));
        assert_eq!(typed(b"t".to_vec(), "bool").unwrap(), Value::Bool(true));
        assert!(typed(b"yes".to_vec(), "bool").is_err());
        assert_eq!(typed(b"+5".to_vec(), "int").unwrap(), Value::Int(5));
        assert!(typed(b"0x5".to_vec(), "int").is_err());
        assert_eq!(typed(b"2".to_vec(), "float").unwrap(), Value::Float(2.0));
        assert!(typed(b"x".to_vec(), "nope").is_err());
    }
}
