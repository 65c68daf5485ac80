//! `homelab secrets init [DIR]`: replace every placeholder SealedSecret of a rendered
//! repository with a real one, sealed with the cluster's certificate.
//!
//! What each key needs comes from the platform model (`render::sealed_secrets`): random
//! values are generated, credentials made elsewhere are asked for (without echo on a
//! terminal) or taken from `--values`, `--from-file` and `--from-env`, and values shared by two
//! secrets are generated once. Nothing is written until every value is known and sealed; each
//! file is then replaced atomically inside the repository (never through a link). Secrets
//! already sealed are kept unless `--rotate`. No value is ever printed.
//!
//! The certificate is never taken from the repository (a repository could carry an
//! attacker's certificate): `--cert FILE`, `$SEALED_SECRETS_CERT`, or `--fetch-cert`, which
//! asks the controller through `kubectl` (the only network access, and only when asked).

use super::render::{load, open_repo};
use super::seal::{load_certificate, parse_documents};
use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::{anyhow, bail, Context, Result};
use homelab_fs::Tree;
use homelab_platform::render::{sealed_secrets, SealedSecretSpec, SecretValue};
use homelab_platform::secrets::{path_of, sealed_file, state_of, SealState};
use homelab_platform::sync;
use homelab_seal::sealed::{merge_into, seal_secret, SealOptions};
use homelab_seal::{Scope, SealingCert};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;
use zeroize::Zeroizing;

/// Bytes of a generated value (hex-encoded: 64 characters).
const RANDOM_BYTES: usize = 32;
/// The largest value file read (`--from-file`, a private key file, `--values`).
const MAX_VALUE_BYTES: u64 = 1024 * 1024;
/// The controller's name (kubeseal's default; the rendered Helm values set it).
const CONTROLLER: &str = "sealed-secrets-controller";

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Values: random keys are generated (32 random bytes, hex); credentials made elsewhere (GitHub App,
GitLab runner token) are asked for on a terminal without echo, or given with --values FILE|-
(YAML: `SECRET: {KEY: value}`), --from-file SECRET/KEY=PATH or --from-env SECRET/KEY=VAR. Given
values replace generated ones. The GitLab Runner token is deferred: it is sealed only when named
with --only, once GitLab runs.

The certificate is never read from the repository: pass --cert FILE (or SEALED_SECRETS_CERT), or
--fetch-cert to ask the controller through kubectl (`kubectl get --raw` on its Service proxy).

Exit status: 0 every selected secret sealed (or --check: nothing left), 1 something left or
refused (nothing written), 2 usage error.

Examples:
  homelab secrets init --fetch-cert .
  homelab secrets init --cert pub-sealed-secrets.pem --from-file github-app-secret/github_app_private_key=app.pem .
  homelab secrets init --fetch-cert --only gitlab-runner-token .
  homelab secrets init --check .
  homelab secrets init --cert pub.pem --rotate --only n8n-secrets .")]
pub struct InitArgs {
    /// Repository directory (holds platform.toml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The controller's certificate (PEM); default: $SEALED_SECRETS_CERT.
    #[arg(long, value_name = "FILE", conflicts_with = "fetch_cert")]
    pub cert: Option<String>,
    /// Fetch the certificate from the running controller with kubectl.
    #[arg(long)]
    pub fetch_cert: bool,
    /// kubeconfig for --fetch-cert (default: kubectl's own).
    #[arg(long, value_name = "FILE", requires = "fetch_cert")]
    pub kubeconfig: Option<PathBuf>,
    /// Only these secrets (names, comma-separated). A deferred secret is sealed only when named.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub only: Vec<String>,
    /// Replace secrets that are already sealed (new random values, credentials asked again).
    #[arg(long)]
    pub rotate: bool,
    /// Write nothing; exit 1 when a selected secret is still a placeholder.
    #[arg(long, conflicts_with_all = ["cert", "fetch_cert", "rotate"])]
    pub check: bool,
    /// Values as YAML (`SECRET: {KEY: value}`) from FILE, or `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub values: Option<PathBuf>,
    /// SECRET/KEY=PATH: that key's value is the content of PATH.
    #[arg(long, value_name = "SECRET/KEY=PATH")]
    pub from_file: Vec<String>,
    /// SECRET/KEY=VAR: that key's value is the environment variable VAR.
    #[arg(long, value_name = "SECRET/KEY=VAR")]
    pub from_env: Vec<String>,
}

/// A secret value; wiped from memory when dropped.
type Secret = Zeroizing<Vec<u8>>;

/// What a run does with one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Seal every key and replace the file.
    SealAll,
    /// Seal these keys and merge them into the sealed file (keys added to the platform since).
    SealKeys(Vec<String>),
    /// Already sealed: kept.
    Keep,
}

pub fn run(args: InitArgs, _global: &Global) -> Result<u8> {
    let tree = match open_repo(&args.dir)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let (cfg, _) = match load(&tree)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    if !cfg.components.sealed_secrets.enabled {
        println!("SealedSecrets is switched off in platform.toml: there is nothing to seal");
        return Ok(EXIT_OK);
    }
    let specs = sealed_secrets(&cfg);
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    for name in &args.only {
        if !names.contains(&name.as_str()) {
            eprintln!(
                "--only {name}: no such secret; the platform's secrets are {}",
                names.join(", ")
            );
            return Ok(EXIT_USAGE);
        }
    }
    let selected = |s: &SealedSecretSpec| {
        if args.only.is_empty() {
            !s.deferred
        } else {
            args.only.contains(&s.name)
        }
    };
    let mut states = BTreeMap::new();
    for spec in &specs {
        states.insert(spec.name.clone(), read_state(&tree, spec)?);
    }

    if args.check {
        return Ok(report_check(&args.dir, &specs, &states, &selected));
    }

    // Decide per secret; refuse (before writing anything) what needs the user's decision.
    let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
    let mut refusals = Vec::new();
    for spec in specs.iter().filter(|s| selected(s)) {
        let file = tree.display(&path_of(spec)).display().to_string();
        let plan = match &states[&spec.name] {
            SealState::Missing | SealState::Placeholder => Plan::SealAll,
            _ if args.rotate => Plan::SealAll,
            SealState::Sealed { keys } => {
                let missing: Vec<String> = spec
                    .keys
                    .iter()
                    .filter(|k| !keys.iter().any(|have| have == *k))
                    .map(|k| k.to_string())
                    .collect();
                if missing.is_empty() {
                    Plan::Keep
                } else {
                    Plan::SealKeys(missing)
                }
            }
            SealState::Elsewhere { namespace, name } => {
                refusals.push(format!(
                    "{file}: sealed for {namespace}/{name}, but platform.toml now wants {}/{}: \
                     the controller cannot open it there; seal it again with `--rotate --only {}`",
                    spec.namespace, spec.name, spec.name
                ));
                continue;
            }
            SealState::Unreadable(why) => {
                refusals.push(format!(
                    "{why}\n{file}: not a SealedSecret homelab can read; fix it (or restore it \
                     from git), or replace it with `--rotate --only {}`",
                    spec.name
                ));
                continue;
            }
        };
        plans.insert(spec.name.clone(), plan);
    }
    // A value shared with a secret being replaced is replaced with it.
    for spec in &specs {
        for key in &spec.values {
            let SecretValue::SameAs(source) = &key.value else {
                continue;
            };
            let Some((src_secret, _)) = source.split_once('/') else {
                continue;
            };
            if plans.get(src_secret) != Some(&Plan::SealAll) {
                continue;
            }
            let plan = match (&states[&spec.name], plans.get(&spec.name)) {
                (_, Some(Plan::SealAll)) => continue,
                (SealState::Missing | SealState::Placeholder, None) => Plan::SealAll,
                (SealState::Sealed { .. }, plan) => {
                    let mut keys = match plan {
                        Some(Plan::SealKeys(k)) => k.clone(),
                        _ => Vec::new(),
                    };
                    if !keys.iter().any(|k| k == key.name) {
                        keys.push(key.name.to_string());
                    }
                    Plan::SealKeys(keys)
                }
                _ => continue,
            };
            println!(
                "  also       {}/{} (the same value as {source})",
                spec.name, key.name
            );
            plans.insert(spec.name.clone(), plan);
        }
    }
    if !refusals.is_empty() {
        for r in &refusals {
            eprintln!("{r}");
        }
        eprintln!("nothing was written");
        return Ok(EXIT_FINDINGS);
    }

    let to_seal: Vec<(&SealedSecretSpec, Vec<&str>)> = specs
        .iter()
        .filter_map(|s| match plans.get(&s.name)? {
            Plan::SealAll => Some((s, s.keys.clone())),
            Plan::SealKeys(keys) => Some((
                s,
                s.keys
                    .iter()
                    .copied()
                    .filter(|k| keys.iter().any(|x| x == k))
                    .collect(),
            )),
            Plan::Keep => None,
        })
        .collect();
    for spec in specs
        .iter()
        .filter(|s| plans.get(&s.name) == Some(&Plan::Keep))
    {
        println!(
            "  kept       {} (already sealed; --rotate replaces it)",
            path_of(spec)
        );
    }
    for spec in specs.iter().filter(|s| s.deferred && !selected(s)) {
        println!(
            "  deferred   {} (once GitLab runs: `homelab secrets init --fetch-cert --only {} {}`)",
            path_of(spec),
            spec.name,
            args.dir.display()
        );
    }
    if to_seal.is_empty() {
        println!("nothing to seal");
        return Ok(EXIT_OK);
    }

    let given = given_values(&args, &specs)?;
    let values = collect_values(&to_seal, &specs, given, args.values.is_some())?;
    let cert = certificate(&args, &cfg.components.sealed_secrets.namespace)?;
    println!(
        "sealing with the controller key {} (certificate `{}`, valid until {})",
        cert.fingerprint,
        cert.subject,
        homelab_seal::keys::format_time(cert.not_after)
    );

    // Seal everything in memory first: a failure leaves every file as it was.
    let mut writes = Vec::new();
    for (spec, keys) in &to_seal {
        let mut data = Map::new();
        for key in keys {
            let value = &values[&(spec.name.clone(), key.to_string())];
            data.insert(
                key.to_string(),
                Value::String(homelab_seal::crypto::encode_base64(value)),
            );
        }
        let secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": spec.name, "namespace": spec.namespace},
            "type": "Opaque",
            "data": data,
        });
        let opts = SealOptions {
            scope: Some(Scope::Strict),
            namespace: None,
            allow_empty_data: true,
        };
        let sealed = match plans[&spec.name] {
            Plan::SealKeys(_) => {
                let rel = tree.rel(&path_of(spec))?;
                let text = sync::read_text(&tree, &rel)?.unwrap_or_default();
                let docs = parse_documents(&path_of(spec), &text)?;
                let existing = docs
                    .iter()
                    .map(|(_, v)| v)
                    .find(|v| v.get("kind").and_then(Value::as_str) == Some("SealedSecret"))
                    .ok_or_else(|| anyhow!("{}: no SealedSecret", path_of(spec)))?;
                merge_into(existing, &secret, &cert.public_key, &opts)
            }
            _ => seal_secret(&secret, &cert.public_key, &opts),
        }
        .map_err(|e| anyhow!("sealing {}: {e}", spec.name))?;
        let text = sealed_file(
            spec,
            &homelab_seal::sealed::sorted(sealed),
            &cert.fingerprint,
        );
        writes.push((*spec, keys.clone(), text));
    }
    for (spec, keys, text) in &writes {
        let rel = tree.rel(&path_of(spec))?;
        tree.write(&rel, text.as_bytes(), 0o644)?;
        let how: Vec<String> = keys
            .iter()
            .map(|k| format!("{k} ({})", origin(spec, k)))
            .collect();
        println!("  sealed     {} ({})", path_of(spec), how.join(", "));
    }
    println!(
        "\nnext: back up the sealing keys off the cluster (scripts/backup-sealing-keys.sh), \
         then commit and push secrets/homelab/; `homelab check {}` no longer reports them",
        args.dir.display()
    );
    Ok(EXIT_OK)
}

/// Where a key's value came from, for the summary (never the value).
fn origin(spec: &SealedSecretSpec, key: &str) -> &'static str {
    match spec.values.iter().find(|v| v.name == key).map(|v| &v.value) {
        Some(SecretValue::Random) => "generated",
        Some(SecretValue::Fixed(_)) => "fixed",
        Some(SecretValue::SameAs(_)) => "shared",
        _ => "given",
    }
}

fn read_state(tree: &Tree, spec: &SealedSecretSpec) -> Result<SealState> {
    let path = path_of(spec);
    let rel = tree.rel(&path)?;
    Ok(match sync::read_text(tree, &rel)? {
        None => SealState::Missing,
        Some(text) => state_of(
            &tree.display(&path).display().to_string(),
            &text,
            &spec.name,
            &spec.namespace,
        ),
    })
}

fn report_check(
    dir: &Path,
    specs: &[SealedSecretSpec],
    states: &BTreeMap<String, SealState>,
    selected: &dyn Fn(&SealedSecretSpec) -> bool,
) -> u8 {
    let mut left = 0;
    for spec in specs {
        let path = path_of(spec);
        let (done, what) = match &states[&spec.name] {
            SealState::Sealed { keys } => {
                let missing: Vec<&str> = spec
                    .keys
                    .iter()
                    .copied()
                    .filter(|k| !keys.iter().any(|h| h == k))
                    .collect();
                if missing.is_empty() {
                    (true, "sealed".to_string())
                } else {
                    (false, format!("sealed, but lacks {}", missing.join(", ")))
                }
            }
            SealState::Placeholder => (false, "placeholder".into()),
            SealState::Missing => (false, "missing".into()),
            SealState::Elsewhere { namespace, name } => {
                (false, format!("sealed for {namespace}/{name}"))
            }
            SealState::Unreadable(why) => (false, format!("unreadable ({why})")),
        };
        let counted = selected(spec);
        if counted && !done {
            left += 1;
        }
        let note = if !counted && !done && spec.deferred {
            " (deferred: sealed once GitLab runs)"
        } else {
            ""
        };
        println!("  {what:<12} {path}{note}");
    }
    if left > 0 {
        println!(
            "{left} secret(s) to seal: `homelab secrets init --fetch-cert {}`",
            dir.display()
        );
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// `SECRET/KEY` of the platform, or a usage error naming the valid ones.
fn parse_target(flag: &str, target: &str, specs: &[SealedSecretSpec]) -> Result<(String, String)> {
    let (secret, key) = target
        .split_once('/')
        .ok_or_else(|| anyhow!("{flag} {target}: expected SECRET/KEY"))?;
    let spec = specs.iter().find(|s| s.name == secret).ok_or_else(|| {
        anyhow!(
            "{flag} {target}: no secret `{secret}`; the platform's secrets are {}",
            specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let value = spec.values.iter().find(|v| v.name == key).ok_or_else(|| {
        anyhow!(
            "{flag} {target}: `{secret}` has no key `{key}`; its keys are {}",
            spec.keys.join(", ")
        )
    })?;
    if let SecretValue::Fixed(_) = value.value {
        bail!("{flag} {target}: this key has a fixed value");
    }
    Ok((secret.to_string(), key.to_string()))
}

/// Values given on the command line (as paths or variable names, never as values), in a
/// values file or on stdin.
fn given_values(
    args: &InitArgs,
    specs: &[SealedSecretSpec],
) -> Result<BTreeMap<(String, String), Secret>> {
    let mut out = BTreeMap::new();
    if let Some(path) = &args.values {
        let name = super::seal::display_name(Some(path));
        let bytes = Zeroizing::new(read_limited(path)?);
        let text = std::str::from_utf8(&bytes).map_err(|_| anyhow!("{name}: not UTF-8 text"))?;
        let docs = parse_documents(&name, text)?;
        for (loc, doc) in docs.iter().filter(|(_, v)| !v.is_null()) {
            let map = doc
                .as_object()
                .ok_or_else(|| anyhow!("{loc}: expected a mapping `SECRET: {{KEY: value}}`"))?;
            for (secret, keys) in map {
                let keys = keys.as_object().ok_or_else(|| {
                    anyhow!(
                        "{loc}: `{secret}` must map keys to values (`{secret}: {{KEY: value}}`)"
                    )
                })?;
                for (key, value) in keys {
                    let target = parse_target("--values", &format!("{secret}/{key}"), specs)?;
                    let value = value.as_str().ok_or_else(|| {
                        anyhow!("{loc}: {secret}/{key} must be a string (quote numbers)")
                    })?;
                    out.insert(target, Zeroizing::new(value.as_bytes().to_vec()));
                }
            }
        }
    }
    for spec in &args.from_file {
        let (target, path) = spec
            .split_once('=')
            .ok_or_else(|| anyhow!("--from-file {spec}: expected SECRET/KEY=PATH"))?;
        let target = parse_target("--from-file", target, specs)?;
        out.insert(target, Zeroizing::new(read_limited(Path::new(path))?));
    }
    for spec in &args.from_env {
        let (target, var) = spec
            .split_once('=')
            .ok_or_else(|| anyhow!("--from-env {spec}: expected SECRET/KEY=VAR"))?;
        let target = parse_target("--from-env", target, specs)?;
        let value = std::env::var_os(var)
            .ok_or_else(|| anyhow!("--from-env {spec}: the environment has no `{var}`"))?;
        out.insert(
            target,
            Zeroizing::new(value.to_string_lossy().as_bytes().to_vec()),
        );
    }
    Ok(out)
}

fn read_limited(path: &Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_VALUE_BYTES + 1)
            .read_to_end(&mut buf)
            .context("cannot read stdin")?;
        if buf.len() as u64 > MAX_VALUE_BYTES {
            bail!("stdin: more than {MAX_VALUE_BYTES} bytes");
        }
        return Ok(buf);
    }
    homelab_fs::read_regular(path, MAX_VALUE_BYTES, true)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))
}

/// Every value to seal: given, generated, shared or asked for. Missing values (no terminal
/// to ask on) are one error that says how to give each.
fn collect_values(
    to_seal: &[(&SealedSecretSpec, Vec<&str>)],
    specs: &[SealedSecretSpec],
    mut given: BTreeMap<(String, String), Secret>,
    stdin_used: bool,
) -> Result<BTreeMap<(String, String), Secret>> {
    let wanted: BTreeSet<(String, String)> = to_seal
        .iter()
        .flat_map(|(s, keys)| keys.iter().map(|k| (s.name.clone(), k.to_string())))
        .collect();
    let ignored: Vec<String> = given
        .keys()
        .filter(|k| !wanted.contains(*k))
        .map(|(s, k)| format!("{s}/{k}"))
        .collect();
    if !ignored.is_empty() {
        eprintln!(
            "note: not sealing {} in this run (already sealed or not selected); the given value is unused",
            ignored.join(", ")
        );
    }
    let interactive = !stdin_used && std::io::stdin().is_terminal();
    let mut out: BTreeMap<(String, String), Secret> = BTreeMap::new();
    let mut missing = Vec::new();
    let value_of = |secret: &str, key: &str| {
        specs
            .iter()
            .find(|s| s.name == secret)
            .and_then(|s| s.values.iter().find(|v| v.name == key))
            .map(|v| v.value.clone())
    };
    // Generated and given values first, so that a shared value can be copied.
    for (secret, key) in &wanted {
        let id = (secret.clone(), key.clone());
        if let Some(v) = given.remove(&id) {
            out.insert(id, v);
            continue;
        }
        match value_of(secret, key) {
            Some(SecretValue::Random) => {
                let hex = homelab_seal::crypto::random_hex(RANDOM_BYTES)?;
                out.insert(id, Zeroizing::new(hex.into_bytes()));
            }
            Some(SecretValue::Fixed(v)) => {
                out.insert(id, Zeroizing::new(v.as_bytes().to_vec()));
            }
            _ => {}
        }
    }
    for (secret, key) in &wanted {
        let id = (secret.clone(), key.clone());
        if out.contains_key(&id) {
            continue;
        }
        let spec = specs
            .iter()
            .find(|s| &s.name == secret)
            .expect("a known secret");
        let how = value_of(secret, key);
        if let Some(SecretValue::SameAs(source)) = &how {
            if let Some((s, k)) = source.split_once('/') {
                if let Some(v) = out.get(&(s.to_string(), k.to_string())) {
                    let copy = v.clone();
                    out.insert(id, copy);
                    continue;
                }
            }
        }
        if !interactive {
            let flag = if matches!(how, Some(SecretValue::AskFile)) {
                format!("--from-file {secret}/{key}=PATH")
            } else {
                format!("--from-env {secret}/{key}=VAR")
            };
            let extra = match &how {
                Some(SecretValue::SameAs(source)) => {
                    format!(" (the same value as {source}, which is already sealed)")
                }
                _ => String::new(),
            };
            missing.push(format!(
                "  {secret}/{key}{extra}: {}; give it with {flag}",
                spec.purpose
            ));
            continue;
        }
        let value = match &how {
            Some(SecretValue::AskFile) => {
                let path = prompt_line(&format!(
                    "{secret}/{key} ({}): path of the file: ",
                    spec.purpose
                ))?;
                Zeroizing::new(read_limited(Path::new(path.trim()))?)
            }
            Some(SecretValue::SameAs(source)) => prompt_secret(&format!(
                "{secret}/{key}: the value of {source} (already sealed, so it cannot be read back): "
            ))?,
            _ => prompt_secret(&format!("{secret}/{key} ({}): ", spec.purpose))?,
        };
        out.insert(id, value);
    }
    if !missing.is_empty() {
        bail!(
            "these values are needed and there is no terminal to ask on (nothing was written):\n{}\n\
             or put them in a YAML file (`SECRET: {{KEY: value}}`) and pass --values FILE",
            missing.join("\n")
        );
    }
    Ok(out)
}

fn prompt_line(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Ask for a value on the terminal with echo off (turned off before the prompt shows, so
/// nothing typed early is echoed; restored afterwards, also on error).
fn prompt_secret(prompt: &str) -> Result<Secret> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    for _ in 0..3 {
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok();
        if let Some(t) = &saved {
            let mut quiet = t.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            let _ = tcsetattr(&stdin, OptionalActions::Now, &quiet);
        }
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        let mut line = Zeroizing::new(String::new());
        let read = stdin.lock().read_line(&mut line);
        if let Some(t) = &saved {
            let _ = tcsetattr(&stdin, OptionalActions::Now, t);
        }
        eprintln!();
        read.context("reading the answer")?;
        let value = line.trim_end_matches(['\r', '\n']);
        if !value.is_empty() {
            return Ok(Zeroizing::new(value.as_bytes().to_vec()));
        }
        eprintln!("an empty value cannot be sealed; try again");
    }
    bail!("no value given")
}

/// The controller certificate: `--cert`, `$SEALED_SECRETS_CERT` or `--fetch-cert`; refused
/// when expired.
fn certificate(args: &InitArgs, namespace: &str) -> Result<SealingCert> {
    let (cert, shown) = if args.fetch_cert {
        let bytes = fetch_certificate(args.kubeconfig.as_deref(), namespace)?;
        let cert = homelab_seal::keys::parse_certificate(&bytes)
            .map_err(|e| anyhow!("the certificate the controller returned: {e}"))?;
        (cert, format!("{CONTROLLER} in {namespace}"))
    } else {
        let path = match args.cert.clone() {
            Some(c) => c,
            None => std::env::var("SEALED_SECRETS_CERT")
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    anyhow!(
                        "no certificate: pass --fetch-cert (asks the controller through kubectl) \
                         or --cert FILE (`kubeseal --fetch-cert > pub-sealed-secrets.pem`); \
                         nothing was written"
                    )
                })?,
        };
        (load_certificate(&path)?, path)
    };
    cert.check_not_expired(SystemTime::now())
        .map_err(|e| anyhow!("{shown}: {e}"))?;
    Ok(cert)
}

/// The controller's certificate through the API server's Service proxy, as `kubeseal
/// --fetch-cert` gets it. kubectl does the talking (its kubeconfig, credentials, plugins).
fn fetch_certificate(kubeconfig: Option<&Path>, namespace: &str) -> Result<Vec<u8>> {
    let mut cmd = Command::new("kubectl");
    if let Some(k) = kubeconfig {
        if !k.is_file() {
            bail!("--kubeconfig {}: not found", k.display());
        }
        cmd.arg("--kubeconfig").arg(k);
    }
    cmd.args([
        "--request-timeout=30s",
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/{namespace}/services/http:{CONTROLLER}:http/proxy/v1/cert.pem"
        ),
    ]);
    let out = cmd.output().map_err(|e| {
        anyhow!("cannot run kubectl ({e}): install it, or pass the certificate with --cert FILE")
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why: String = stderr
            .trim()
            .chars()
            .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
            .take(2000)
            .collect();
        bail!(
            "kubectl could not fetch the certificate of {CONTROLLER} in {namespace}: {why}\n\
             is the controller running (`kubectl -n {namespace} rollout status deploy/{CONTROLLER}`)? \
             nothing was written"
        );
    }
    Ok(out.stdout)
}
