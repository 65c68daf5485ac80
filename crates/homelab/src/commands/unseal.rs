//! `homelab unseal`: the recovery path (`kubeseal --recovery-unseal`). Decrypts SealedSecrets
//! with backed-up controller keys and writes the Secret(s). This is the one place that prints
//! plaintext (base64 in `data`), because the user asked for exactly that.

use super::seal::{display_name, parse_documents, read_input, render, Format};
use super::{Global, EXIT_FINDINGS, EXIT_OK};
use anyhow::{anyhow, bail, Context, Result};
use homelab_seal::keys::{looks_like_pem, private_keys_from_documents, private_keys_from_pem};
use homelab_seal::sealed::unseal;
use homelab_seal::NamedKey;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    homelab unseal --private-key sealed-secrets-keys-backup.yaml sealed-secret.yaml\n  \
    homelab unseal --private-key old.key,new.key -o json < sealed-secret.json\n\n\
    Key files: PEM private keys (RSA PRIVATE KEY / PRIVATE KEY) or the controller's key backup\n\
    (`kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`).\n\
    Every key is tried. Key files must not be readable by group or others (chmod 600).")]
pub struct Args {
    /// SealedSecret file (YAML or JSON; several documents allowed); `-` or nothing = stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Private key file(s): PEM, or a key-backup List/Secret YAML or JSON. Repeat the flag or
    /// separate with commas.
    #[arg(
        long = "private-key",
        visible_alias = "recovery-private-key",
        value_name = "FILE",
        required = true,
        value_delimiter = ','
    )]
    pub private_keys: Vec<PathBuf>,

    /// Output format of the Secret(s).
    #[arg(
        short = 'o',
        long = "format",
        visible_alias = "output",
        value_enum,
        default_value = "yaml"
    )]
    pub format: Format,
}

pub fn run(args: Args, _global: &Global) -> Result<u8> {
    let keys = load_private_keys(&args.private_keys)?;
    let input_name = display_name(args.input.as_deref());
    let text = String::from_utf8(read_input(args.input.as_deref())?)
        .map_err(|_| anyhow!("{input_name}: not UTF-8 text"))?;
    let docs = parse_documents(&input_name, &text)?;
    let docs: Vec<_> = docs.into_iter().filter(|(_, v)| !v.is_null()).collect();
    if docs.is_empty() {
        bail!("{input_name}: no SealedSecret found");
    }
    let mut secrets = Vec::new();
    let mut failed = false;
    for (loc, doc) in &docs {
        match unseal(doc, &keys) {
            Ok(secret) => secrets.push(secret),
            Err(e) => {
                eprintln!("{loc}: error: {e}");
                failed = true;
            }
        }
    }
    if failed {
        eprintln!(
            "tried {} key(s): {}",
            keys.len(),
            keys.iter()
                .map(|k| format!("{} ({})", k.fingerprint, k.source))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(EXIT_FINDINGS);
    }
    let out = render(&secrets, args.format, secrets.len() > 1)?;
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(EXIT_OK)
}

/// Every key from every file: PEM first, else key-backup documents (List or Secrets).
/// Files readable by group or others are refused.
pub(crate) fn load_private_keys(paths: &[PathBuf]) -> Result<Vec<NamedKey>> {
    let mut keys = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        check_private_file(path)?;
        let bytes = std::fs::read(path).with_context(|| format!("cannot read key file {name}"))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            anyhow!("{name}: not a PEM key or a key-backup YAML/JSON (not UTF-8 text)")
        })?;
        let found = if looks_like_pem(&text) {
            private_keys_from_pem(&name, &text)?
        } else {
            let docs = parse_documents(&name, &text)?;
            let values: Vec<_> = docs.into_iter().map(|(_, v)| v).collect();
            private_keys_from_documents(&name, &values)?
        };
        keys.extend(found);
    }
    Ok(keys)
}

/// A private key file must be private: refuse group/other permission bits.
fn check_private_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read key file {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o077 != 0 {
            bail!(
                "{}: the private key file is readable by group or others (mode {:04o}); sealing keys \
                 decrypt every secret, keep them private: `chmod 600 {}`",
                path.display(),
                mode,
                path.display()
            );
        }
    }
    Ok(())
}
