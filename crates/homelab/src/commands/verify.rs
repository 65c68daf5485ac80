//! `homelab verify`: the guide's success criteria against a cluster snapshot or a live
//! cluster (read-only, through `kubectl`). The criteria themselves live in `homelab-verify`;
//! this module only reads inputs and writes the report.

use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::Context;
use homelab_k8s::ResourceExt;
use homelab_manifest::{Class, LoadOptions};
use homelab_report::checklist::{self, ChecklistFormat};
use homelab_verify::{Expectations, Mark};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Check a running cluster (or a snapshot of one) against the guide's success criteria.
///
/// Each criterion is reported as met `[x]`, not met `[ ]` with the evidence (which object,
/// which field, what was expected), not checkable `[?]` with the data that would be needed,
/// or skipped `[-]` when the component is switched off in platform.toml. Exit 0 when every
/// checkable criterion is met, 1 otherwise, 2 on a usage error.
///
/// A snapshot is what `kubectl get -A -o yaml` prints (a `kind: List`, or multi-document
/// YAML); `--help` shows the kubectl command that takes one. Of Secrets only names, labels
/// and key names are ever read, never values.
///
/// Examples:
///   homelab verify --snapshot snapshot.yaml
///   homelab verify --snapshot snapshot.yaml --config platform.toml --format json
///   homelab verify --kubeconfig ~/.kube/config --format html --output verify.html
#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("input").required(true).args(["snapshot", "kubeconfig"])),
    after_help = AFTER_HELP
)]
pub struct Args {
    /// A `kubectl get -A -o yaml` snapshot (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Read the live cluster with `kubectl --kubeconfig FILE get ...` (read-only).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The platform.toml the cluster was rendered from (default: the guide's platform).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
Each criterion is met [x], not met [ ] (with evidence), not checkable [?] (with the data
that would be needed) or skipped [-] (component switched off in platform.toml).
Exit 0 when every checkable criterion is met, 1 otherwise, 2 on a usage error.

Take a snapshot (drop kinds whose CRDs your cluster lacks; of Secrets only names, labels
and key names are read, never values):
  { kubectl get namespaces,pods,deployments,statefulsets,daemonsets,storageclasses,\\
      networkpolicies,recurringjobs.longhorn.io,applications.argoproj.io,\\
      sealedsecrets.bitnami.com,clusterpolicies.kyverno.io,policyreports,\\
      clusterpolicyreports,autoscalingrunnersets.actions.github.com,\\
      vulnerabilityreports,configauditreports -A -o yaml
    echo ---
    kubectl get secrets -A -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml
  } > snapshot.yaml

Examples:
  homelab verify --snapshot snapshot.yaml
  homelab verify --snapshot snapshot.yaml --config platform.toml --format json
  homelab verify --kubeconfig ~/.kube/config --format html --output verify.html";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let expectations = match &args.config {
        None => Expectations::default(),
        Some(path) => match expectations_from_config(path)? {
            Ok(e) => e,
            Err(errors) => {
                eprintln!("{}", crate::term::safe_lines(&errors.to_string()));
                return Ok(EXIT_USAGE);
            }
        },
    };
    let (objects, source) = if let Some(snapshot) = &args.snapshot {
        match load_snapshot(snapshot) {
            Ok(objects) => (objects, snapshot.display().to_string()),
            Err(message) => {
                eprintln!("{}", crate::term::safe_lines(&message));
                return Ok(EXIT_USAGE);
            }
        }
    } else if let Some(kubeconfig) = &args.kubeconfig {
        match live::fetch(kubeconfig, global.verbose) {
            Ok(objects) => (objects, format!("live cluster ({})", kubeconfig.display())),
            Err(message) => {
                eprintln!("homelab verify: {}", crate::term::safe_lines(&message));
                return Ok(EXIT_USAGE);
            }
        }
    } else {
        // clap's required group makes this unreachable; say so rather than panic.
        eprintln!("homelab verify: give --snapshot FILE or --kubeconfig FILE");
        return Ok(EXIT_USAGE);
    };
    if global.verbose > 0 {
        eprintln!("verify: {} objects from {source}", objects.len());
    }
    let criteria = homelab_verify::evaluate(&objects, &expectations);
    let format = match args.format {
        Format::Text => ChecklistFormat::Text,
        Format::Json => ChecklistFormat::Json,
        Format::Html => ChecklistFormat::Html,
    };
    let report = checklist::render(format, &homelab_verify::checklist(&criteria), &source);
    match &args.output {
        Some(path) => {
            homelab_fs::write_atomic(path, report.as_bytes(), homelab_fs::Perms::KeepOr(0o644))
                .with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(report.as_bytes())?;
            out.flush()?;
        }
    }
    let code = if homelab_verify::all_met(&criteria) {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    };
    if global.verbose > 0 {
        let not_met = criteria.iter().filter(|c| c.status == Mark::NotMet).count();
        eprintln!("verify: {not_met} criteria not met");
    }
    Ok(code)
}

/// Loads a snapshot file; YAML errors come back as `file:line:col: message` lines.
fn load_snapshot(path: &Path) -> Result<Vec<Value>, String> {
    let loaded = homelab_manifest::load(&[path.to_path_buf()], &LoadOptions::default());
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == homelab_diagnostics::Severity::Error)
        .map(|d| {
            let at = d
                .location
                .as_ref()
                .map_or_else(|| path.display().to_string(), ToString::to_string);
            let help = d
                .help
                .as_deref()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            format!("{at}: error[{}]: {}{help}", d.rule, d.message)
        })
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "{}\nhomelab verify: the snapshot could not be read (take one with `kubectl get ... -A -o yaml > snapshot.yaml`)",
            errors.join("\n")
        ));
    }
    let objects: Vec<Value> = loaded
        .documents
        .into_iter()
        .filter(|d| d.class == Class::Object)
        .map(|d| d.value)
        .collect();
    if objects.is_empty() {
        // Judging criteria against nothing would report a cluster with nothing installed.
        return Err(format!(
            "{}: error: the snapshot holds no Kubernetes object (it is empty, a single value, or a list without items): it is unusable\nhomelab verify: take one with `kubectl get ... -A -o yaml > snapshot.yaml` (`homelab verify --help` shows the full command)",
            path.display()
        ));
    }
    Ok(objects)
}

/// The expectations of a platform.toml: names, replicas, waves, switched-off components.
fn expectations_from_config(
    path: &Path,
) -> anyhow::Result<Result<Expectations, homelab_platform::ConfigErrors>> {
    use homelab_platform::{config, model};
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (give an existing platform.toml)",
            path.display()
        )
    })?;
    let cfg = match config::parse_with(&text, &path.display().to_string(), false) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let p = model::derive(&cfg);
    let c = &cfg.components;
    let on = |comp: &config::Component| comp.enabled.then(|| comp.namespace.clone());
    let mut waves: Vec<i32> = p.apps.iter().map(|a| a.wave).collect();
    waves.sort_unstable();
    waves.dedup();
    let defaults = Expectations::default();
    Ok(Ok(Expectations {
        longhorn_namespace: c.longhorn.namespace.clone(),
        default_class: cfg.storage.default_class.clone(),
        default_replicas: p.default_replicas,
        gpu_class: p.gpu_node.as_ref().map(|_| cfg.storage.gpu_class.clone()),
        snapshot_retain: cfg.storage.longhorn_snapshot.retain,
        argocd_namespace: c.argocd.namespace.clone(),
        root_app: defaults.root_app,
        apps: p.apps.iter().map(|a| (a.name.clone(), a.wave)).collect(),
        waves,
        sealed_secrets: on(&c.sealed_secrets),
        kyverno: c.kyverno.enabled,
        critical_policies: defaults.critical_policies,
        pss_exempt: p
            .namespaces
            .iter()
            .filter(|n| n.enforce == "privileged")
            .map(|n| n.name.clone())
            .collect(),
        arc_namespace: on(&c.arc),
        arc_scale_sets: p
            .apps
            .iter()
            .filter(|a| a.name.starts_with("arc-linux-"))
            .map(|a| a.name.clone())
            .collect(),
        runner_group: cfg.github.runner_group.clone(),
        gitlab: on(&c.gitlab),
        gitlab_runner: on(&c.gitlab_runner),
        trivy: on(&c.trivy_operator),
    }))
}

/// Live mode: `kubectl get` of each kind the criteria need, read-only.
mod live {
    use super::*;

    /// Kinds fetched across all namespaces. Secrets are fetched narrowly afterwards.
    const KINDS: &[&str] = &[
        "namespaces",
        "pods",
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "storageclasses.storage.k8s.io",
        "networkpolicies.networking.k8s.io",
        "recurringjobs.longhorn.io",
        "applications.argoproj.io",
        "sealedsecrets.bitnami.com",
        "clusterpolicies.kyverno.io",
        "policyreports.wgpolicyk8s.io",
        "clusterpolicyreports.wgpolicyk8s.io",
        "autoscalingrunnersets.actions.github.com",
        "vulnerabilityreports.aquasecurity.github.io",
        "configauditreports.aquasecurity.github.io",
    ];

    pub fn fetch(kubeconfig: &Path, verbose: u8) -> Result<Vec<Value>, String> {
        if !kubeconfig.is_file() {
            return Err(format!(
                "kubeconfig {} not found: give the path of an existing kubeconfig file",
                kubeconfig.display()
            ));
        }
        let mut objects = Vec::new();
        for kind in KINDS {
            objects.extend(get(kubeconfig, &[kind, "-A"], verbose)?);
        }
        // The sealing key (by label) and the ARC GitHub config Secrets (by name): only these
        // Secrets are read, and only their names, labels and key names are used.
        objects.extend(get(
            kubeconfig,
            &[
                "secrets",
                "-A",
                "-l",
                "sealedsecrets.bitnami.com/sealed-secrets-key",
            ],
            verbose,
        )?);
        let arc_secrets: Vec<(String, String)> = objects
            .iter()
            .filter(|o| o["kind"] == "AutoscalingRunnerSet")
            .filter_map(|o| {
                Some((
                    o.namespace()?.to_owned(),
                    o.pointer("/spec/githubConfigSecret")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        for (ns, name) in arc_secrets {
            objects.extend(get(kubeconfig, &["secret", &name, "-n", &ns], verbose)?);
        }
        Ok(objects)
    }

    /// One `kubectl get ... -o yaml`; a resource type the server does not know (CRD not
    /// installed) is no objects, not an error.
    fn get(kubeconfig: &Path, what: &[&str], verbose: u8) -> Result<Vec<Value>, String> {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("get")
            .args(what)
            .args(["-o", "yaml"]);
        if verbose > 0 {
            eprintln!("verify: kubectl get {}", what.join(" "));
        }
        let out = cmd.output().map_err(|e| {
            format!(
                "cannot run kubectl ({e}): install kubectl, or take a snapshot with `kubectl get ... -A -o yaml > snapshot.yaml` and use --snapshot"
            )
        })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if stderr.contains("doesn't have a resource type") || stderr.contains("NotFound") {
                if verbose > 0 {
                    eprintln!("verify: {} not on the server", what[0]);
                }
                return Ok(Vec::new());
            }
            return Err(format!(
                "kubectl get {} failed: {}",
                what.join(" "),
                stderr.trim()
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let (docs, diags) = homelab_manifest::parse_str(&format!("kubectl get {}", what[0]), &text);
        if let Some(d) = diags
            .iter()
            .find(|d| d.severity == homelab_diagnostics::Severity::Error)
        {
            return Err(format!(
                "could not read the output of kubectl get {}: {}",
                what[0], d.message
            ));
        }
        Ok(docs
            .into_iter()
            .filter(|d| d.class == Class::Object)
            .map(|d| d.value)
            .collect())
    }
}
