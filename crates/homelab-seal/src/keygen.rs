//! A fresh sealing key pair: RSA private key (PKCS#1 PEM, the form the controller stores in
//! `tls.key`) and a self-signed certificate, shaped like the controller's own
//! (`CN=sealed-secret`, sha256WithRSAEncryption). Used for "bring your own key" controller
//! setups and by the tests, which must not depend on key material from elsewhere.

use crate::error::SealError;
use crate::keys::fingerprint;
use base64::Engine as _;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::sha2::Sha256;
use rsa::PrivateKey;
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::der::pem::LineEnding;
use x509_cert::der::EncodePem;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

/// A generated key pair.
pub struct GeneratedKey {
    pub private_key: PrivateKey,
    /// PKCS#1 PEM (`RSA PRIVATE KEY`).
    pub private_key_pem: String,
    pub certificate_pem: String,
    pub fingerprint: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl GeneratedKey {
    /// The key as the controller keeps it (and as a key backup holds it): a
    /// `kubernetes.io/tls` Secret labelled `sealedsecrets.bitnami.com/sealed-secrets-key: active`.
    pub fn backup_secret(&self, namespace: &str, name: &str) -> Value {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
            },
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": b64(&self.certificate_pem),
                "tls.key": b64(&self.private_key_pem),
            },
        })
    }
}

/// A new RSA private key of `bits` bits from the system random generator.
pub fn generate_private_key(bits: usize) -> Result<PrivateKey, SealError> {
    PrivateKey::new(&mut getrandom::SysRng, bits)
        .map_err(|e| SealError::Encrypt(format!("RSA key generation: {e}")))
}

/// A new key pair whose certificate is valid from now for `valid_for`.
pub fn generate(
    bits: usize,
    common_name: &str,
    valid_for: Duration,
) -> Result<GeneratedKey, SealError> {
    let now = SystemTime::now();
    generate_with_validity(bits, common_name, now, now + valid_for)
}

/// A new key pair with explicit certificate validity (tests use this for expired certificates).
pub fn generate_with_validity(
    bits: usize,
    common_name: &str,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<GeneratedKey, SealError> {
    let private_key = generate_private_key(bits)?;
    let certificate_pem =
        self_signed_certificate(&private_key, common_name, not_before, not_after)?;
    let private_key_pem = private_key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| SealError::Encrypt(format!("PEM encoding: {e}")))?
        .to_string();
    Ok(GeneratedKey {
        fingerprint: fingerprint(private_key.as_public_key()),
        private_key,
        private_key_pem,
        certificate_pem,
    })
}

/// Self-signed: issuer = subject, no extensions beyond what X.509 v3 needs.
struct SelfSigned(Name);

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }
    fn get_subject(&self) -> Name {
        self.0.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// A self-signed certificate (PEM) for `key`.
pub fn self_signed_certificate(
    key: &PrivateKey,
    common_name: &str,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<String, SealError> {
    let err =
        |what: &str, e: &dyn std::fmt::Display| SealError::Certificate(format!("{what}: {e}"));
    let subject = Name::from_str(&format!("CN={common_name}")).map_err(|e| err("subject", &e))?;
    let spki_der = key
        .as_public_key()
        .to_public_key_der()
        .map_err(|e| err("public key", &e))?;
    let spki =
        SubjectPublicKeyInfo::try_from(spki_der.as_bytes()).map_err(|e| err("public key", &e))?;
    let validity = Validity::new(
        Time::try_from(not_before).map_err(|e| err("validity", &e))?,
        Time::try_from(not_after).map_err(|e| err("validity", &e))?,
    );
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| err("serial number", &e))?;
    serial[0] &= 0x7f; // positive
    serial[0] |= 0x01; // and no leading zero byte
    let serial = SerialNumber::new(&serial).map_err(|e| err("serial number", &e))?;
    let builder = CertificateBuilder::new(SelfSigned(subject), serial, validity, spki)
        .map_err(|e| err("certificate", &e))?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let cert = builder
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .map_err(|e| err("certificate signature", &e))?;
    cert.to_pem(LineEnding::LF)
        .map_err(|e| err("certificate PEM", &e))
}
