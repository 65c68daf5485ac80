//! Values of a Secret that are public by design: OpenSSH public keys (an `authorized_keys`
//! or `known_hosts` file) and PEM blocks that hold no private part (certificates, public
//! keys, CRLs). Operators keep them in Secrets because a chart mounts them from one, but
//! committing them in plaintext leaks nothing, so the secret rules must not call them
//! credentials.
//!
//! Written by hand rather than with a regex: it is a line-by-line token test, and it keeps
//! this crate free of dependencies beyond serde_json.

/// The key types an OpenSSH public key line can carry (`ssh-keygen -t`, security keys and
/// certificates included).
const SSH_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
];

/// PEM labels whose content is public.
const PUBLIC_PEM_LABELS: &[&str] = &[
    "CERTIFICATE",
    "TRUSTED CERTIFICATE",
    "PUBLIC KEY",
    "RSA PUBLIC KEY",
    "X509 CRL",
    "CERTIFICATE REQUEST",
    "NEW CERTIFICATE REQUEST",
    "PGP PUBLIC KEY BLOCK",
];

/// Whether `text` holds only public key material: every line that is not blank or a `#`
/// comment is an OpenSSH public key line, or the text is made of PEM blocks that are all
/// public. An empty text is not public material (there is nothing to judge).
pub fn is_public_material(text: &str) -> bool {
    let text = text.trim();
    if text.is_empty() {
        return false;
    }
    if text.starts_with("-----BEGIN ") {
        return only_public_pem_blocks(text);
    }
    let mut any = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_ssh_public_key_line(line) {
            return false;
        }
        any = true;
    }
    any
}

/// `[options] type base64 [comment]` (authorized_keys) or `hosts type base64` (known_hosts):
/// a key type token directly followed by a base64 blob that starts like an SSH wire-format
/// key (`AAAA`, the length prefix of the type name).
fn is_ssh_public_key_line(line: &str) -> bool {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    tokens.windows(2).any(|pair| {
        SSH_KEY_TYPES.contains(&pair[0])
            && pair[1].starts_with("AAAA")
            && pair[1]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    })
}

/// Text made only of `-----BEGIN L-----` ... `-----END L-----` blocks with public labels
/// (blank lines between blocks allowed, nothing else).
fn only_public_pem_blocks(text: &str) -> bool {
    let mut open: Option<&str> = None;
    let mut blocks = 0;
    for line in text.lines().map(str::trim) {
        match open {
            None => {
                if line.is_empty() {
                    continue;
                }
                let Some(label) = pem_label(line, "BEGIN") else {
                    return false;
                };
                if !PUBLIC_PEM_LABELS.contains(&label) {
                    return false;
                }
                open = Some(label);
            }
            Some(label) => {
                if let Some(end) = pem_label(line, "END") {
                    if end != label {
                        return false;
                    }
                    open = None;
                    blocks += 1;
                }
            }
        }
    }
    open.is_none() && blocks > 0
}

fn pem_label<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    line.strip_prefix("-----")?
        .strip_suffix("-----")?
        .strip_prefix(word)?
        .strip_prefix(' ')
}

#[cfg(test)]
mod tests {
    use super::is_public_material;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0b3Jlb2ZwdWJsaWNrZXlieXRlc2hlcmU user@laptop";

    #[test]
    fn ssh_public_keys_and_public_pem_blocks_are_public() {
        assert!(is_public_material(ED25519));
        let authorized = format!(
            "# laptop\n{ED25519}\ncommand=\"/bin/true\",no-pty ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB backup\n"
        );
        assert!(is_public_material(&authorized));
        assert!(is_public_material(
            "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY="
        ));
        assert!(is_public_material(
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n\n-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
        ));
    }

    #[test]
    fn private_keys_passwords_and_mixtures_are_not() {
        for text in [
            "",
            "hunter2",
            "ssh-ed25519",
            "ssh-ed25519 notbase64!! user",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\npassword: hunter2\n",
        ] {
            assert!(!is_public_material(text), "{text:?}");
        }
        assert!(!is_public_material(&format!("{ED25519}\npassword=hunter2")));
    }
}
