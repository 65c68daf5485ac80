//! `homelab seal`: a Secret (YAML or JSON, file or stdin) -> SealedSecret, like `kubeseal`,
//! offline, with the controller certificate from `--cert`. Also `--raw` (one value) and
//! `--merge-into` (add/replace items of an existing SealedSecret file).
//!
//! The crypto and object model live in `homelab-seal`; this file reads and writes.

use super::{Global, EXIT_OK};
use anyhow::{anyhow, bail, Context, Result};
use homelab_seal::sealed::{merge_into, seal_raw, seal_secret, sorted, SealOptions};
use homelab_seal::{keys, Scope};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Yaml,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    homelab seal --cert pub-cert.pem -o yaml < secret.yaml > sealed-secret.yaml\n  \
    homelab seal --cert pub-cert.pem secret.yaml -w sealed-secret.yaml\n  \
    echo -n hunter2 | homelab seal --cert pub-cert.pem --raw --namespace app --name db\n  \
    homelab seal --cert pub-cert.pem --merge-into sealed-secret.yaml < more-keys.yaml\n\n\
    The certificate is the controller's public one (`kubeseal --fetch-cert > pub-cert.pem`).\n\
    Nothing is sent anywhere: sealing is offline.")]
pub struct Args {
    /// The Secret to seal (YAML or JSON, several documents allowed); `-` or nothing = stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Same as FILE (kubeseal's `-f`).
    #[arg(
        short = 'f',
        long = "secret-file",
        value_name = "FILE",
        conflicts_with = "input"
    )]
    pub secret_file: Option<PathBuf>,

    /// The controller's certificate (PEM); default: $SEALED_SECRETS_CERT, like kubeseal.
    /// URLs are not fetched: sealing is offline.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<String>,

    /// Scope: strict, namespace-wide or cluster-wide. Without it, the Secret's
    /// `sealedsecrets.bitnami.com/namespace-wide` / `cluster-wide` annotations decide (else
    /// strict). Given, it replaces those annotations (also `strict`, which kubeseal ignores).
    #[arg(long, value_name = "SCOPE", value_parser = parse_scope)]
    pub scope: Option<Scope>,

    /// Output format (default json, like kubeseal; yaml when -w names a .yaml/.yml file).
    #[arg(
        short = 'o',
        long = "format",
        visible_alias = "output",
        value_enum,
        value_name = "FORMAT"
    )]
    pub format: Option<Format>,

    /// Write the SealedSecret(s) to FILE (atomically) instead of stdout.
    #[arg(short = 'w', long = "sealed-secret-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Seal one value and print only its base64 text (from stdin or --from-file).
    #[arg(long)]
    pub raw: bool,

    /// Name the value is bound to (--raw with strict scope).
    #[arg(long, requires = "raw")]
    pub name: Option<String>,

    /// Namespace: fills a Secret without one; with --raw, the namespace the value is bound to.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// With --raw: read the value from FILE (`name=FILE` accepted, the name is ignored).
    #[arg(long, value_name = "FILE", requires = "raw")]
    pub from_file: Option<String>,

    /// Add or replace the items of the Secret in this existing SealedSecret file (rewritten
    /// in place, atomically).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["raw", "output_file"])]
    pub merge_into: Option<PathBuf>,

    /// Seal a Secret that has neither data nor stringData.
    #[arg(long)]
    pub allow_empty_data: bool,
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    s.parse()
}

pub fn run(args: Args, _global: &Global) -> Result<u8> {
    let cert_path = match args.cert.clone() {
        Some(c) => c,
        None => std::env::var("SEALED_SECRETS_CERT")
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                anyhow!(
                    "no certificate: pass --cert FILE (or set SEALED_SECRETS_CERT); homelab does \
                     not ask the cluster, get the certificate once with `kubeseal --fetch-cert > pub-cert.pem`"
                )
            })?,
    };
    let cert = load_certificate(&cert_path)?;
    cert.check_not_expired(SystemTime::now())
        .map_err(|e| anyhow!("{cert_path}: {e}"))?;

    if args.raw {
        let value = match args.from_file.as_deref() {
            Some(spec) => {
                let path = spec.split_once('=').map_or(spec, |(_, p)| p);
                std::fs::read(path).with_context(|| format!("cannot read --from-file {path}"))?
            }
            None => read_input(None)?,
        };
        let sealed = seal_raw(
            &cert.public_key,
            args.scope.unwrap_or_default(),
            args.namespace.as_deref(),
            args.name.as_deref(),
            &value,
        )?;
        // Like kubeseal: the base64 text only, no trailing newline.
        std::io::stdout().write_all(sealed.as_bytes())?;
        return Ok(EXIT_OK);
    }

    let input = args.secret_file.clone().or(args.input.clone());
    let input_name = display_name(input.as_deref());
    let text = String::from_utf8(read_input(input.as_deref())?)
        .map_err(|_| anyhow!("{input_name}: not UTF-8 text"))?;
    let docs = parse_documents(&input_name, &text)?;
    let secrets: Vec<&(String, Value)> = docs.iter().filter(|(_, v)| !v.is_null()).collect();
    if secrets.is_empty() {
        bail!("{input_name}: no secrets found (expected a v1 Secret in YAML or JSON)");
    }
    let opts = SealOptions {
        scope: args.scope,
        namespace: args.namespace.clone(),
        allow_empty_data: args.allow_empty_data,
    };

    if let Some(target) = &args.merge_into {
        if secrets.len() != 1 {
            bail!(
                "{input_name}: --merge-into takes exactly one Secret, found {}",
                secrets.len()
            );
        }
        let target_name = target.display().to_string();
        let existing_text = std::fs::read_to_string(target)
            .with_context(|| format!("cannot read --merge-into {target_name}"))?;
        let existing_docs = parse_documents(&target_name, &existing_text)?;
        let existing: Vec<&(String, Value)> =
            existing_docs.iter().filter(|(_, v)| !v.is_null()).collect();
        if existing.len() != 1 {
            bail!("{target_name}: --merge-into needs a file with exactly one SealedSecret");
        }
        let (loc, existing) = existing[0];
        let (sloc, secret) = secrets[0];
        let merged = merge_into(existing, secret, &cert.public_key, &opts)
            .map_err(|e| anyhow!("{sloc}: {e} (merging into {loc})"))?;
        let format = if existing_text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Yaml
        };
        let out = render(&[merged], format, false)?;
        write_atomic(target, out.as_bytes(), None)?;
        eprintln!("{target_name}: merged {} item(s)", item_count(secret));
        return Ok(EXIT_OK);
    }

    let mut sealed = Vec::new();
    for (loc, secret) in secrets {
        let s = seal_secret(secret, &cert.public_key, &opts).map_err(|e| anyhow!("{loc}: {e}"))?;
        sealed.push(s);
    }
    let format = args.format.unwrap_or(match &args.output_file {
        Some(p) if has_yaml_extension(p) => Format::Yaml,
        _ => Format::Json,
    });
    let out = render(&sealed, format, true)?;
    match &args.output_file {
        Some(path) => write_atomic(path, out.as_bytes(), None)?,
        None => std::io::stdout().write_all(out.as_bytes())?,
    }
    Ok(EXIT_OK)
}

fn item_count(secret: &Value) -> usize {
    ["data", "stringData"]
        .iter()
        .filter_map(|f| secret.get(f).and_then(Value::as_object))
        .map(|m| m.len())
        .sum()
}

fn has_yaml_extension(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// Reads `--cert`. URLs are refused: there is no HTTP client in homelab, on purpose.
pub(crate) fn load_certificate(cert: &str) -> Result<keys::SealingCert> {
    if cert.starts_with("http://") || cert.starts_with("https://") {
        bail!(
            "--cert {cert}: fetching a certificate from a URL is not supported (homelab seals \
             offline); download it first, e.g. `kubeseal --fetch-cert > pub-cert.pem` or \
             `curl -fsSLo pub-cert.pem {cert}`, then pass --cert pub-cert.pem"
        );
    }
    let bytes = std::fs::read(cert).with_context(|| format!("cannot read --cert {cert}"))?;
    let parsed = keys::parse_certificate(&bytes).map_err(|e| anyhow!("{cert}: {e}"))?;
    for warning in parsed.warnings(SystemTime::now()) {
        eprintln!("{cert}: warning: {}", crate::term::safe(&warning));
    }
    Ok(parsed)
}

pub(crate) fn display_name(path: Option<&Path>) -> String {
    match path {
        None => "-".to_string(),
        Some(p) if p.as_os_str() == "-" => "-".to_string(),
        Some(p) => p.display().to_string(),
    }
}

/// The bytes of FILE, or of stdin for `None` / `-`.
pub(crate) fn read_input(path: Option<&Path>) -> Result<Vec<u8>> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            Ok(buf)
        }
    }
}

/// YAML/JSON documents of a text with the location of each; syntax errors are fatal here.
pub(crate) fn parse_documents(name: &str, text: &str) -> Result<Vec<(String, Value)>> {
    let (docs, diags) = homelab_manifest::parse_str(name, text);
    let has_errors = diags
        .iter()
        .any(|d| d.severity == homelab_diagnostics::Severity::Error);
    if has_errors && text.trim_start().starts_with('{') {
        // Several JSON objects one after another (what kubeseal and `seal -o json` write for
        // several Secrets) are not one YAML document; read them as a JSON stream.
        let stream: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect();
        if let Ok(values) = stream {
            return Ok(values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("{name}: object {}", i + 1), v))
                .collect());
        }
    }
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == homelab_diagnostics::Severity::Error)
        .map(|d| match &d.location {
            Some(l) => format!("{l}: {}", d.message),
            None => format!("{name}: {}", d.message),
        })
        .collect();
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(docs
        .into_iter()
        .map(|d| (d.start().to_string(), d.value))
        .collect())
}

/// kubeseal's output layout: pretty JSON objects each followed by a newline, or `---` + YAML
/// with sorted keys per object.
pub(crate) fn render(objects: &[Value], format: Format, separators: bool) -> Result<String> {
    let mut out = String::new();
    for obj in objects {
        match format {
            Format::Json => {
                out.push_str(&serde_json::to_string_pretty(obj)?);
                out.push('\n');
            }
            Format::Yaml => {
                if separators || objects.len() > 1 {
                    out.push_str("---\n");
                }
                let text = homelab_manifest::yaml::to_string(&sorted(obj.clone()));
                out.push_str(&text);
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    Ok(out)
}

/// Write atomically (see `homelab_fs::write_atomic`). `mode` sets exact permissions (0o600
/// for plaintext and keys, in place from the moment the file exists); otherwise an existing
/// file keeps its mode and a new one gets 0o644.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let perms = match mode {
        Some(m) => homelab_fs::Perms::Exact(m),
        None => homelab_fs::Perms::KeepOr(0o644),
    };
    homelab_fs::write_atomic(path, bytes, perms)
        .with_context(|| format!("writing {}", path.display()))
}
