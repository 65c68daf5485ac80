//! `homelab secrets`: secret-management helpers.
//!
//! `check-backup` proves that the backed-up controller keys can recover every SealedSecret
//! under a folder, naming each value that cannot be recovered and why (see
//! `homelab_seal::backup` for how wrong scope, wrong key and tampering are told apart). It
//! never prints plaintext: only object names, item names and key fingerprints.
//!
//! `keygen` makes a sealing key pair for a bring-your-own-key controller setup.
//!
//! `init` seals the placeholder secrets of a rendered repository (`secrets_init.rs`).

use super::seal::write_atomic;
use super::unseal::load_private_keys;
use super::{Global, EXIT_FINDINGS, EXIT_OK};
use anyhow::{Context, Result};
use homelab_seal::backup::{check_all, Verdict};
use homelab_seal::sealed::sealed_secrets;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Prove every SealedSecret under DIR decrypts with the backed-up keys.
    #[command(
        after_help = "Exit status: 0 all recoverable, 1 some SealedSecret is not, 2 usage error.\n\
        Reasons: wrong scope (renamed/moved/annotation changed after sealing), wrong key (sealing\n\
        key missing from the backup, or RSA block altered), tampered (the right key unwraps the\n\
        session key but AES-GCM authentication fails), malformed (bad base64 or length prefix)."
    )]
    CheckBackup(CheckBackupArgs),
    /// Seal every placeholder secret of a rendered repository (generate or ask each value).
    Init(super::secrets_init::InitArgs),
    /// Generate a sealing key pair (tls.key, tls.crt and a key-backup Secret) for a
    /// bring-your-own-key controller.
    Keygen(KeygenArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckBackupArgs {
    /// Key backup file(s): the controller key List/Secret YAML or PEM private keys.
    #[arg(
        long = "keys",
        value_name = "FILE",
        required = true,
        value_delimiter = ','
    )]
    pub keys: Vec<PathBuf>,

    /// Folders or files to search for SealedSecrets (default: the current folder).
    #[arg(value_name = "DIR")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Folder to write tls.key (mode 600), tls.crt and sealed-secrets-key.yaml into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// RSA key size (the controller's default is 4096).
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u16).range(2048..=8192))]
    pub bits: u16,
    /// Certificate validity in days.
    #[arg(long, default_value_t = 3650)]
    pub days: u32,
    /// Namespace of the controller (for the key Secret).
    #[arg(long, default_value = "kube-system")]
    pub namespace: String,
}

pub fn run(args: Args, global: &Global) -> Result<u8> {
    match args.command {
        Command::Init(a) => super::secrets_init::run(a, global),
        Command::CheckBackup(a) => check_backup(a),
        Command::Keygen(a) => keygen(a),
    }
}

fn json_pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn check_backup(args: CheckBackupArgs) -> Result<u8> {
    let keys = load_private_keys(&args.keys)?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let loaded = homelab_manifest::load(&paths, &homelab_manifest::LoadOptions::default());
    for d in &loaded.diagnostics {
        if d.severity == homelab_diagnostics::Severity::Error {
            let at = d
                .location
                .as_ref()
                .map(|l| l.to_string())
                .unwrap_or_default();
            eprintln!(
                "{}: warning: skipped: {}",
                crate::term::safe(&at),
                crate::term::safe(&d.message)
            );
        }
    }
    let values: Vec<Value> = loaded.documents.iter().map(|d| d.value.clone()).collect();
    let mut total = 0usize;
    let mut bad = 0usize;
    let mut json_objects = Vec::new();
    let found: Vec<(usize, &Value)> = sealed_secrets(&values).collect();
    let objects: Vec<&Value> = found.iter().map(|(_, v)| *v).collect();
    let reports = check_all(&objects, &keys);
    for ((i, _), report) in found.iter().zip(reports) {
        let doc = &loaded.documents[*i];
        total += 1;
        let ok = report.recoverable();
        if !ok {
            bad += 1;
        }
        let location = doc.start();
        let start = crate::term::safe(&location.to_string()).into_owned();
        let mut items_json = Vec::new();
        match args.format {
            ReportFormat::Text => {
                let keys_used: Vec<&str> = report
                    .items
                    .iter()
                    .filter_map(|i| match i.verdict {
                        Verdict::Recoverable { key } => Some(keys[key].fingerprint.as_str()),
                        _ => None,
                    })
                    .collect();
                let mut uniq = keys_used.clone();
                uniq.sort_unstable();
                uniq.dedup();
                if ok {
                    println!(
                        "{start}: ok: SealedSecret {} ({}): {} item(s) recoverable with {}",
                        crate::term::safe(&report.object),
                        crate::term::safe(&report.scope.to_string()),
                        report.items.len(),
                        if uniq.is_empty() {
                            "-".to_string()
                        } else {
                            uniq.join(", ")
                        }
                    );
                } else {
                    println!(
                        "{start}: error: SealedSecret {} ({}) is NOT recoverable with the backup",
                        crate::term::safe(&report.object),
                        crate::term::safe(&report.scope.to_string())
                    );
                    for p in &report.problems {
                        println!("{start}:   {}", crate::term::safe(&p.to_string()));
                    }
                    for item in &report.items {
                        if matches!(item.verdict, Verdict::Recoverable { .. }) {
                            continue;
                        }
                        let at = doc.location(&format!(
                            "/spec/encryptedData/{}",
                            json_pointer_escape(&item.item)
                        ));
                        let at = crate::term::safe(&at.to_string()).into_owned();
                        println!(
                            "{at}:   item `{}`: {}",
                            crate::term::safe(&item.item),
                            crate::term::safe(&item.verdict.reason(&keys))
                        );
                    }
                }
            }
            ReportFormat::Json => {
                for item in &report.items {
                    let (status, key) = match &item.verdict {
                        Verdict::Recoverable { key } => ("recoverable", Some(*key)),
                        Verdict::Malformed(_) => ("malformed", None),
                        Verdict::Tampered { key } => ("tampered", Some(*key)),
                        Verdict::WrongScope { key, .. } => ("wrong-scope", Some(*key)),
                        Verdict::WrongKey { .. } => ("wrong-key", None),
                    };
                    items_json.push(json!({
                        "item": item.item,
                        "status": status,
                        "key": key.map(|k| keys[k].fingerprint.clone()),
                        "reason": item.verdict.reason(&keys),
                    }));
                }
                json_objects.push(json!({
                    "file": location.file,
                    "line": location.line,
                    "object": report.object,
                    "scope": report.scope.as_str(),
                    "recoverable": ok,
                    "problems": report.problems,
                    "items": items_json,
                }));
            }
        }
    }
    match args.format {
        ReportFormat::Text => {
            if total == 0 {
                println!("no SealedSecret found under {}", display_paths(&paths));
            } else {
                println!(
                    "{total} SealedSecret(s) checked with {} key(s): {} recoverable, {bad} not recoverable",
                    keys.len(),
                    total - bad
                );
            }
        }
        ReportFormat::Json => {
            let out = json!({
                "keys": keys.iter().map(|k| json!({"fingerprint": k.fingerprint, "bits": k.bits(), "source": k.source})).collect::<Vec<_>>(),
                "sealed_secrets": json_objects,
                "checked": total,
                "not_recoverable": bad,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(if bad > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn keygen(args: KeygenArgs) -> Result<u8> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let key_path = args.out.join("tls.key");
    let refuse = || {
        anyhow::anyhow!(
            "{} already exists: refusing to overwrite a sealing key (move it away first)",
            key_path.display()
        )
    };
    if std::fs::symlink_metadata(&key_path).is_ok() {
        return Err(refuse());
    }
    let generated = homelab_seal::keygen::generate(
        usize::from(args.bits),
        "sealed-secret",
        Duration::from_secs(u64::from(args.days) * 86_400),
    )?;
    let secret = generated.backup_secret(&args.namespace, "sealed-secrets-key-homelab");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [secret]});
    homelab_fs::create_atomic(&key_path, generated.private_key_pem.as_bytes(), 0o600).map_err(
        |e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => refuse(),
            _ => anyhow::Error::new(e).context(format!("writing {}", key_path.display())),
        },
    )?;
    write_atomic(
        &args.out.join("tls.crt"),
        generated.certificate_pem.as_bytes(),
        Some(0o644),
    )?;
    let backup = homelab_manifest::yaml::to_string(&list);
    write_atomic(
        &args.out.join("sealed-secrets-key.yaml"),
        backup.as_bytes(),
        Some(0o600),
    )?;
    println!(
        "wrote {dir}/tls.key, {dir}/tls.crt, {dir}/sealed-secrets-key.yaml (key {})",
        generated.fingerprint,
        dir = args.out.display()
    );
    Ok(EXIT_OK)
}
