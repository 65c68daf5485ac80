//! `homelab sops`: SOPS files with age keys, compatible with `sops` 3.x, offline.
//! `encrypt` / `decrypt` / `set` / `updatekeys`; recipients and the crypt rule come from the
//! creation rules of the nearest `.sops.yaml`, identities from `SOPS_AGE_KEY`,
//! `SOPS_AGE_KEY_FILE` or the default key file. Every write is atomic and happens only when
//! everything succeeded; plaintext files are created 0600.
//!
//! The format and crypto live in `homelab-sops`; this file reads, decides and writes.

use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::{anyhow, bail, Context, Result};
use homelab_sops::file::{self, EncryptOptions, Format, Layout, PathPart};
use homelab_sops::rules::CryptRule;
use homelab_sops::{Config, Identities};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Files larger than this are not SOPS files anyone edits.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    homelab sops encrypt --in-place secrets/host/k3s-token.sops.yaml\n  \
    homelab sops decrypt secrets/host/k3s-token.sops.yaml\n  \
    homelab sops decrypt --output-type json secrets/app.sops.yaml\n  \
    printf '%s' '\"new-password\"' | homelab sops set secrets/db.sops.yaml '[\"stringData\"][\"password\"]' --value-stdin\n  \
    homelab sops updatekeys --yes secrets/*.sops.yaml\n\n\
    Recipients and the crypt rule (encrypted_regex, ...) come from the first creation rule of the\n\
    nearest .sops.yaml (above the file) whose path_regex matches the file. Identities: the\n\
    content of SOPS_AGE_KEY, the file in SOPS_AGE_KEY_FILE, and ~/.config/sops/age/keys.txt.\n\
    Files are the sops 3.x format: `sops --decrypt` opens what this writes, and the reverse.")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Encrypt a YAML or JSON file for the recipients of its .sops.yaml creation rule.
    Encrypt(EncryptArgs),
    /// Decrypt a SOPS file (the MAC is checked first; nothing is written if it fails).
    Decrypt(DecryptArgs),
    /// Set one value of a SOPS file in place (the others keep their ciphertext).
    Set(SetArgs),
    /// Re-wrap the data key of SOPS files for the recipients their creation rule names now.
    Updatekeys(UpdatekeysArgs),
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// The .sops.yaml to use (default: the nearest one in the file's folder or above).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Read the file as yaml or json (default: by extension).
    #[arg(long, value_name = "TYPE", value_parser = ["yaml", "json"], global = true)]
    pub input_type: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct EncryptArgs {
    /// The plaintext file; `-` reads stdin (then give --filename-override), so a secret can
    /// be encrypted without ever being written in clear.
    pub file: PathBuf,
    /// Choose the creation rule and the type as if the file were at PATH (as sops's flag).
    #[arg(long, value_name = "PATH")]
    pub filename_override: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// Replace FILE with the encrypted file.
    #[arg(short = 'i', long, conflicts_with = "output")]
    pub in_place: bool,
    /// Write the encrypted file to OUT instead of stdout.
    #[arg(long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Age recipients (comma-separated), instead of the creation rule's.
    #[arg(long, value_name = "RECIPIENTS")]
    pub age: Option<String>,
    /// Encrypt only values under keys matching this regex (instead of the rule's crypt rule).
    #[arg(long, value_name = "REGEX", group = "crypt")]
    pub encrypted_regex: Option<String>,
    /// Leave values under keys matching this regex in clear.
    #[arg(long, value_name = "REGEX", group = "crypt")]
    pub unencrypted_regex: Option<String>,
    /// Encrypt only values under keys ending with this suffix.
    #[arg(long, value_name = "SUFFIX", group = "crypt")]
    pub encrypted_suffix: Option<String>,
    /// Leave values under keys ending with this suffix in clear.
    #[arg(long, value_name = "SUFFIX", group = "crypt")]
    pub unencrypted_suffix: Option<String>,
    /// The MAC covers only the encrypted values (clear values may then be edited freely).
    #[arg(long)]
    pub mac_only_encrypted: bool,
}

#[derive(Debug, clap::Args)]
pub struct DecryptArgs {
    /// The SOPS file.
    pub file: PathBuf,
    #[command(flatten)]
    pub common: Common,
    /// Replace FILE with the plaintext (mode 0600).
    #[arg(short = 'i', long, conflicts_with = "output")]
    pub in_place: bool,
    /// Write the plaintext to OUT (created 0600) instead of stdout.
    #[arg(long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Write yaml or json (default: the input's type). A multi-document file as JSON is an
    /// array.
    #[arg(long, value_name = "TYPE", value_parser = ["yaml", "json"])]
    pub output_type: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The SOPS file (changed in place).
    pub file: PathBuf,
    /// Where, as sops writes it: `["data"]["password"]`, `["list"][0]`.
    pub index: String,
    /// The new value as JSON (`"text"`, `42`, `{"a": 1}`). Prefer --value-stdin for secrets:
    /// arguments show up in the process list and shell history.
    #[arg(required_unless_present_any = ["value_stdin", "value_file"])]
    pub value: Option<String>,
    #[command(flatten)]
    pub common: Common,
    /// Read the JSON value from stdin.
    #[arg(long, conflicts_with_all = ["value", "value_file"])]
    pub value_stdin: bool,
    /// Read the JSON value from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "value")]
    pub value_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct UpdatekeysArgs {
    /// The SOPS files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// Apply the changes without asking.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub fn run(args: Args, _global: &Global) -> Result<u8> {
    let result = match args.command {
        Command::Encrypt(a) => encrypt(a),
        Command::Decrypt(a) => decrypt(a),
        Command::Set(a) => set(a),
        Command::Updatekeys(a) => updatekeys(a),
    };
    match result {
        Ok(code) => Ok(code),
        Err(Failure::Data(file, e)) => {
            let at = match e.pos {
                Some(p) => format!("{}:{}", file.display(), p),
                None => file.display().to_string(),
            };
            eprintln!("error: {at}: {}", e.message);
            if !e.help.is_empty() {
                eprintln!("  = help: {}", e.help);
            }
            Ok(match e.kind {
                homelab_sops::ErrorKind::Usage | homelab_sops::ErrorKind::NoIdentity => EXIT_USAGE,
                _ => EXIT_FINDINGS,
            })
        }
        Err(Failure::Other(e)) => Err(e),
    }
}

enum Failure {
    /// A problem with a file's content, with a position.
    Data(PathBuf, homelab_sops::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

fn data(path: &Path) -> impl Fn(homelab_sops::Error) -> Failure + '_ {
    move |e| Failure::Data(path.to_path_buf(), e)
}

fn read_text(path: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        bail!(
            "{} is larger than 16 MiB; that is not a SOPS file",
            path.display()
        );
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    Ok(text)
}

fn input_format(path: &Path, common: &Common) -> Result<Format> {
    if let Some(t) = &common.input_type {
        return Format::from_name(t).ok_or_else(|| anyhow!("unknown type {t}"));
    }
    Format::from_path(path).ok_or_else(|| {
        anyhow!(
            "cannot tell the type of {} from its extension; pass --input-type yaml or json (binary and dotenv files are not supported)",
            path.display()
        )
    })
}

/// The nearest `.sops.yaml` (or `--config`), loaded.
fn load_config(file: &Path, common: &Common) -> Result<Option<Config>> {
    let path = match &common.config {
        Some(p) => Some(p.clone()),
        None => {
            let abs = homelab_sops::config::absolute(file);
            let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
            homelab_sops::config::find(&dir, None)
        }
    };
    match path {
        None => Ok(None),
        Some(p) => Config::load(&p).map(Some).map_err(|e| anyhow!("{e}")),
    }
}

fn layout_of(config: Option<&Config>) -> Layout {
    let mut layout = Layout::default();
    if let Some(c) = config {
        if let Some(i) = c.yaml_indent.filter(|i| *i > 0) {
            layout.yaml_indent = i;
        }
        layout.json_indent = c.json_indent;
    }
    layout
}

fn identities() -> Result<Identities> {
    Identities::from_environment().map_err(|e| anyhow!("{e}"))
}

/// Ciphertext: an existing file keeps its mode, a new one is 0644 (it is meant for git); its
/// folder is created when missing (`--output secrets/host/new.sops.yaml`).
fn write_ciphertext(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    homelab_fs::write_atomic(path, bytes, homelab_fs::Perms::KeepOr(0o644))
        .with_context(|| format!("writing {}", path.display()))
}

/// Plaintext: created 0600 from the start (the temporary file too), whatever was there.
fn write_plaintext(path: &Path, bytes: &[u8]) -> Result<()> {
    homelab_fs::write_atomic(path, bytes, homelab_fs::Perms::Exact(0o600))
        .with_context(|| format!("writing {}", path.display()))
}

fn encrypt(a: EncryptArgs) -> Result<u8, Failure> {
    let stdin = a.file.as_os_str() == "-";
    if stdin && a.in_place {
        return Err(anyhow!("--in-place needs a file, not stdin").into());
    }
    // The path that decides the creation rule and the type.
    let named = a
        .filename_override
        .clone()
        .unwrap_or_else(|| a.file.clone());
    if stdin && a.filename_override.is_none() && a.common.input_type.is_none() {
        return Err(anyhow!(
            "reading stdin: give --filename-override PATH (the rule and type follow it)"
        )
        .into());
    }
    let format = input_format(&named, &a.common)?;
    let text = if stdin {
        let mut s = String::new();
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut s)
            .context("reading stdin")?;
        if s.len() as u64 > MAX_FILE_BYTES {
            return Err(anyhow!("stdin is larger than 16 MiB").into());
        }
        s
    } else {
        read_text(&a.file)?
    };
    let config = load_config(&named, &a.common)?;
    let rule = config.as_ref().and_then(|c| c.rule_for(&named));
    let recipients: Vec<String> = match (&a.age, rule) {
        (Some(list), _) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        (None, Some(rule)) => {
            if rule.shamir {
                return Err(anyhow!(
                    "{} uses several key groups (Shamir), which homelab sops does not support",
                    rule.describe()
                )
                .into());
            }
            if rule.age.is_empty() {
                let others = if rule.unsupported_keys.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (it names {}, which homelab sops does not use)",
                        rule.unsupported_keys.join(", ")
                    )
                };
                return Err(anyhow!(
                    "{} has no age recipient{others}; add `age: age1…` to it or pass --age",
                    rule.describe()
                )
                .into());
            }
            if !rule.unsupported_keys.is_empty() {
                return Err(anyhow!(
                    "{} also names {}, which homelab sops cannot wrap the data key for; encrypt with `sops`, or keep only age keys",
                    rule.describe(),
                    rule.unsupported_keys.join(", ")
                )
                .into());
            }
            rule.age.clone()
        }
        (None, None) => {
            let why = match &config {
                None => "no .sops.yaml was found in its folder or above".to_owned(),
                Some(c) => format!("no creation rule of {} matches it", c.path.display()),
            };
            return Err(anyhow!(
                "cannot encrypt {}: {why}; add a creation rule or pass --age",
                a.file.display()
            )
            .into());
        }
    };
    let flag_rule = [
        ("encrypted_regex", &a.encrypted_regex),
        ("unencrypted_regex", &a.unencrypted_regex),
        ("encrypted_suffix", &a.encrypted_suffix),
        ("unencrypted_suffix", &a.unencrypted_suffix),
    ]
    .into_iter()
    .find_map(|(f, v)| v.as_ref().map(|v| CryptRule::new(f, v)))
    .transpose()
    .map_err(|e| anyhow!(e))?;
    let crypt = flag_rule.unwrap_or_else(|| {
        rule.map(|r| r.crypt_rule())
            .unwrap_or_else(CryptRule::default_rule)
    });
    let mac_only = a.mac_only_encrypted || rule.is_some_and(|r| r.mac_only_encrypted);
    let docs = file::parse(&text, format).map_err(data(&named))?;
    let (docs, metadata) = file::encrypt(
        docs,
        &EncryptOptions {
            recipients,
            rule: crypt,
            mac_only_encrypted: mac_only,
        },
    )
    .map_err(data(&named))?;
    let out = file::render(&docs, Some(&metadata), format, &layout_of(config.as_ref()))
        .map_err(data(&named))?;
    if a.in_place {
        write_ciphertext(&a.file, out.as_bytes())?;
    } else if let Some(path) = &a.output {
        write_ciphertext(path, out.as_bytes())?;
    } else {
        std::io::stdout()
            .write_all(out.as_bytes())
            .context("writing to stdout")?;
    }
    Ok(EXIT_OK)
}

fn decrypt(a: DecryptArgs) -> Result<u8, Failure> {
    let format = input_format(&a.file, &a.common)?;
    let text = read_text(&a.file)?;
    let file = file::read_encrypted(&text, format).map_err(data(&a.file))?;
    let ids = identities()?;
    let key = file.data_key(&ids).map_err(data(&a.file))?;
    let decrypted = file.decrypt(key).map_err(data(&a.file))?;
    let out_format = match &a.output_type {
        Some(t) => Format::from_name(t).unwrap_or(format),
        None => format,
    };
    let config = load_config(&a.file, &a.common).ok().flatten();
    let out = file::render(
        &decrypted.docs,
        None,
        out_format,
        &layout_of(config.as_ref()),
    )
    .map_err(data(&a.file))?;
    if a.in_place {
        write_plaintext(&a.file, out.as_bytes())?;
    } else if let Some(path) = &a.output {
        write_plaintext(path, out.as_bytes())?;
    } else {
        std::io::stdout()
            .write_all(out.as_bytes())
            .context("writing to stdout")?;
    }
    Ok(EXIT_OK)
}

fn set(a: SetArgs) -> Result<u8, Failure> {
    let format = input_format(&a.file, &a.common)?;
    let text = read_text(&a.file)?;
    let path = file::parse_index(&a.index).map_err(|e| anyhow!(e))?;
    if !matches!(path.first(), Some(PathPart::Key(_))) {
        return Err(anyhow!("the index must start with a key, like [\"data\"]").into());
    }
    let json = match (&a.value, a.value_stdin, &a.value_file) {
        (Some(v), _, _) => v.clone(),
        (None, true, _) => {
            let mut s = String::new();
            std::io::stdin()
                .take(MAX_FILE_BYTES)
                .read_to_string(&mut s)
                .context("reading the value from stdin")?;
            s
        }
        (None, false, Some(f)) => read_text(f)?,
        (None, false, None) => {
            return Err(anyhow!("give the value, --value-stdin or --value-file").into())
        }
    };
    // Never echo the value in an error: it is a secret.
    let value = homelab_sops::json::parse_value(json.trim()).map_err(|e| {
        anyhow!(
            "the value is not valid JSON (at {}; strings need quotes: '\"text\"')",
            e.pos
        )
    })?;
    let file = file::read_encrypted(&text, format).map_err(data(&a.file))?;
    let ids = identities()?;
    let key = file.data_key(&ids).map_err(data(&a.file))?;
    let mut decrypted = file.decrypt(key).map_err(data(&a.file))?;
    let Some(first) = decrypted.docs.first_mut() else {
        return Err(anyhow!("{} has no document", a.file.display()).into());
    };
    file::set_value(first, &path, value.value).map_err(|e| anyhow!(e))?;
    let config = load_config(&a.file, &a.common).ok().flatten();
    let (docs, metadata) = decrypted.reencrypt().map_err(data(&a.file))?;
    let out = file::render(&docs, Some(&metadata), format, &layout_of(config.as_ref()))
        .map_err(data(&a.file))?;
    write_ciphertext(&a.file, out.as_bytes())?;
    Ok(EXIT_OK)
}

fn updatekeys(a: UpdatekeysArgs) -> Result<u8, Failure> {
    let mut status = EXIT_OK;
    let mut ids = None;
    for path in &a.files {
        let format = input_format(path, &a.common)?;
        let text = read_text(path)?;
        let config = load_config(path, &a.common)?
            .ok_or_else(|| anyhow!("no .sops.yaml found for {}", path.display()))?;
        let rule = config.rule_for(path).ok_or_else(|| {
            anyhow!(
                "no creation rule of {} matches {}",
                config.path.display(),
                path.display()
            )
        })?;
        if rule.shamir || !rule.unsupported_keys.is_empty() {
            return Err(anyhow!(
                "{} uses key groups or non-age keys, which homelab sops does not support",
                rule.describe()
            )
            .into());
        }
        let file = file::read_encrypted(&text, format).map_err(data(path))?;
        let changes = file::key_changes(&file, &rule.age);
        if changes.is_empty() {
            println!("{}: already up to date", path.display());
            continue;
        }
        println!(
            "{}: the data key will be wrapped for {}:",
            path.display(),
            rule.describe()
        );
        for r in &changes.added {
            println!("  + {r}");
        }
        for r in &changes.removed {
            println!("  - {r}");
        }
        for k in &changes.removed_other {
            println!("  - every {k} key");
        }
        if !a.yes {
            if !std::io::stdin().is_terminal() {
                println!("  not changed: re-run with --yes to apply");
                status = EXIT_FINDINGS;
                continue;
            }
            print!("Is this okay? (y/n): ");
            std::io::stdout().flush().ok();
            let mut answer = String::new();
            std::io::stdin()
                .read_line(&mut answer)
                .context("reading the answer")?;
            if answer.trim() != "y" {
                println!("  left unchanged");
                continue;
            }
        }
        if ids.is_none() {
            ids = Some(identities()?);
        }
        let key = file
            .data_key(ids.as_ref().expect("set above"))
            .map_err(data(path))?;
        let updated = file::update_keys(file, &key, &rule.age).map_err(data(path))?;
        let out = file::render(
            &updated.docs,
            Some(&updated.metadata),
            format,
            &layout_of(Some(&config)),
        )
        .map_err(data(path))?;
        write_ciphertext(path, out.as_bytes())?;
        println!("  done");
    }
    Ok(status)
}
