//! The `check` pipeline: load once, run every stage over the one in-memory set of documents
//! (schema, Kyverno policies, platform rules — in parallel), apply configuration and inline
//! suppressions, and hand one list of diagnostics to the report. No stage re-reads files and
//! no stage prints; `commands::check` and `commands::init` own the terminal.

pub(crate) mod charts_stage;
mod config;
mod flux_release;
mod kustomize_stage;
mod operator_release;
mod policy_stage;
pub(crate) mod simulate_input;
mod simulate_kustomize;
pub(crate) mod simulate_reports;
mod sops_stage;
mod suppress;
mod test_fixtures;

pub use config::CheckConfig;
pub use config::SECRET_SCANNING_OFF_DOC;
pub use kustomize_stage::RULE_DOC as KUSTOMIZE_RULE_DOC;
pub use policy_stage::RULE_DOC as POLICY_RULE_DOC;
pub use sops_stage::PLACEHOLDER_RECIPIENT as SOPS_PLACEHOLDER_RECIPIENT;
pub use sops_stage::RULE_DOC as SOPS_RULE_DOC;
pub use suppress::RULE_DOC as SUPPRESSION_RULE_DOC;

use homelab_manifest::{Class, Document, LoadOptions, Source};
use homelab_report::{Report, RuleMeta, Wave};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What to check and how.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub kubernetes_version: Option<String>,
    /// Only these rules (ids or prefixes such as `network/`), on top of the config file's.
    pub select: Vec<String>,
    /// Never these rules (ids or prefixes), on top of the config file's.
    pub ignore: Vec<String>,
    pub crd_paths: Vec<PathBuf>,
    pub schema_locations: Vec<String>,
    pub ignore_missing_schemas: bool,
    /// A custom kind without a schema is an error (by default it is a "not judged" note).
    pub strict: bool,
    /// Local chart repository folders (`--charts`); with the repository's `.homelab/charts/`
    /// they make `check` render every Helm source.
    pub chart_dirs: Vec<PathBuf>,
    /// The helm binary (`--helm`); giving it also turns rendering on.
    pub helm: Option<PathBuf>,
    /// Build every kustomization root with `kubectl kustomize` and judge what it builds.
    pub kustomize: bool,
    /// The kubectl to build with (default: kubectl on PATH); implies `kustomize`.
    pub kubectl: Option<PathBuf>,
    /// An age key file to verify SOPS files' MACs with. Only ever given explicitly: `check`
    /// runs on untrusted pull requests, so identities in the environment are not used.
    pub sops_age_key_file: Option<PathBuf>,
}

/// The result of a check: the report and the sources it refers to (for snippets).
pub struct Outcome {
    pub report: Report,
    pub sources: BTreeMap<String, String>,
}

/// Run every guardrail.
pub fn check(options: &CheckOptions) -> anyhow::Result<Outcome> {
    let paths = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    let root = match paths.as_slice() {
        [one] if one.is_dir() => Some(one.clone()),
        _ => None,
    };
    let config = CheckConfig::discover(root.as_deref())?;
    let kubectl = if options.kustomize || options.kubectl.is_some() {
        if root.is_none() {
            anyhow::bail!(
                "--kustomize needs one repository folder to build (got {} paths or a file)",
                paths.len()
            );
        }
        Some(kustomize_stage::locate(options.kubectl.as_deref()).map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    let sops_identities = match &options.sops_age_key_file {
        None => None,
        Some(path) => {
            let mut ids = homelab_sops::Identities::default();
            ids.add_file(path).map_err(anyhow::Error::msg)?;
            Some(ids)
        }
    };
    // Hidden files too (.github/workflows, .gitlab-ci.yml, .sops.yaml), and every other text
    // file (scripts, .env) for the secret scanner: credentials hide there.
    let load_options = LoadOptions {
        include_hidden: true,
        text_files: true,
        ..LoadOptions::default()
    };
    let kubernetes_version = options
        .kubernetes_version
        .clone()
        .or_else(|| config.kubernetes_version.clone());
    // Opening the schema bundle costs as much as loading a small repository: do both at once.
    let (mut loaded, validator) = rayon::join(
        || homelab_manifest::load(&paths, &load_options),
        || {
            homelab_schema::Validator::new(homelab_schema::ValidatorOptions {
                kubernetes_version,
                ignore_missing: options.ignore_missing_schemas,
                custom_missing_is_note: !options.strict,
                // Judge what the API server will apply: `targetPort: null` is left out.
                null_is_absent: true,
                schema_locations: options.schema_locations.clone(),
                crd_paths: options.crd_paths.clone(),
                ..Default::default()
            })
        },
    );
    let validator = validator?;
    let fixtures = test_fixtures::drop(&mut loaded);
    let sops = sops_stage::run(
        &mut loaded,
        root.as_deref(),
        sops_identities.as_ref(),
        &validator,
    );
    // Judge what kustomize and Flux will apply: patches, namespaces, variables.
    let engine_notes = homelab_manifest::engines::apply(&mut loaded, root.as_deref());
    let mut documents = loaded.documents;
    let sources = loaded.sources;
    // With --kustomize: what kustomize builds replaces the files it is built from.
    let mut kustomized = match (&kubectl, &root) {
        (Some(kubectl), Some(root)) => kustomize_stage::build(&documents, root, kubectl),
        _ => kustomize_stage::Built::default(),
    };
    let repository_documents = if kustomized.is_empty() {
        Vec::new()
    } else {
        let built = std::mem::take(&mut kustomized.documents);
        let all = documents.clone();
        documents = kustomize_stage::without_replaced(documents, &kustomized);
        documents.extend(built);
        all
    };
    // Helm sources rendered with helm join the plain objects; `first_rendered` marks them.
    let charts = charts_stage::render(
        &documents,
        root.as_deref(),
        &config,
        options,
        Some(validator.kubernetes_version().to_string()),
    );
    let first_rendered = documents.len();
    documents.extend(charts.documents);
    validator.add_crds_from(&documents, root.as_deref());

    let repo = homelab_rules::Repo::new(&documents, &sources, root.clone());
    let not_applied = homelab_rules::applied::not_applied(&repo);
    // A policy in a file nothing applies enforces nothing.
    let unenforced: std::collections::BTreeSet<&str> = not_applied
        .iter()
        .filter(|n| n.kind == homelab_rules::applied::SetAside::NotApplied)
        .map(|n| n.file.as_str())
        .collect();
    let rules = homelab_rules::all();
    let ((schema, (policy, policy_rules)), mut platform) = rayon::join(
        || {
            rayon::join(
                || validator.validate_all(&documents),
                || policy_stage::run_applied(&documents, &unenforced),
            )
        },
        || homelab_rules::run(&rules, &repo, &config.settings),
    );

    let mut diagnostics = loaded.diagnostics;
    diagnostics.extend(fixtures);
    diagnostics.extend(engine_notes);
    diagnostics.extend(without_unknown_variables(schema, &documents));
    diagnostics.extend(fold_policy_duplicates(policy, &mut platform));
    diagnostics.extend(platform);
    diagnostics.extend(sops);
    sops_stage::fold_plain_secret(&mut diagnostics);
    let mut diagnostics = kustomized.attribute(diagnostics, &repository_documents);
    diagnostics.append(&mut kustomized.diagnostics);
    let mut diagnostics = charts_stage::attribute(
        diagnostics,
        &charts.provenance,
        &documents[first_rendered..],
    );
    diagnostics.extend(charts.diagnostics);
    homelab_rules::applied::set_aside(&mut diagnostics, &not_applied);
    homelab_rules::patched_enums::accept_extended_enums(&mut diagnostics, &repo);
    flux_release::accept_older_flux_versions(&mut diagnostics, &documents, &sources, &repo);
    operator_release::accept_older_operator_versions(&mut diagnostics, &documents);

    let select: Vec<String> = config
        .select
        .iter()
        .chain(&options.select)
        .cloned()
        .collect();
    let ignore: Vec<String> = config
        .ignore
        .iter()
        .chain(&options.ignore)
        .cloned()
        .collect();
    diagnostics.retain(|d| selected(&d.rule, &select, &ignore));
    // Said whatever the repository's configuration selects: a pull request that switches the
    // scanner off in `.homelab.toml` must not pass silently. Only the command line drops it.
    if let Some(file) = &config.secret_scanning_off_in {
        let d = homelab_diagnostics::Diagnostic::warning(
            "check/secret-scanning-off",
            "the repository's configuration switches secret scanning off (`secrets/*` rules are not selected)",
        )
        .at(homelab_diagnostics::Location::file_only(file.clone()))
        .with_help("remove `secrets` from `ignore` (or add it to `select`); to accept this, pass `--ignore check/secret-scanning-off` on the command line");
        if selected(&d.rule, &options.select, &options.ignore) {
            diagnostics.push(d);
        }
    }

    let (mut diagnostics, suppressions, problems) = suppress::apply(diagnostics, &sources);
    diagnostics.extend(problems);
    homelab_diagnostics::sort(&mut diagnostics);

    // Stage findings (yaml/, schema/, ...) documented by family, for SARIF and HTML.
    let mut rules_meta = rule_metadata();
    rules_meta.extend(policy_rules);
    let mut documented: std::collections::HashSet<String> =
        rules_meta.iter().map(|m| m.id.clone()).collect();
    for d in &diagnostics {
        if !documented.insert(d.rule.clone()) {
            continue;
        }
        if let Some(stage) = crate::stage_rules::find(&d.rule) {
            rules_meta.push(RuleMeta {
                id: d.rule.clone(),
                summary: stage.summary.to_string(),
                help: stage.doc.to_string(),
                severity: d.severity,
            });
        }
    }
    let report = Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        title: "homelab check".to_string(),
        root: root.as_ref().map(|r| r.to_string_lossy().into_owned()),
        diagnostics,
        files: sources.iter().map(|s| s.name.clone()).collect(),
        objects: documents
            .iter()
            .filter(|d| matches!(d.class, Class::Object))
            .count(),
        rules: rules_meta,
        suppressions,
        waves: waves(&documents),
        rollout: None,
    };
    let sources = snippet_sources(&sources, &report.diagnostics);
    Ok(Outcome { report, sources })
}

/// Schema findings on a value that still holds a Flux `${VAR}` nobody in the repository
/// defines: its real value is unknown until the controller substitutes it.
fn without_unknown_variables(
    schema: Vec<homelab_diagnostics::Diagnostic>,
    documents: &[Document],
) -> Vec<homelab_diagnostics::Diagnostic> {
    let by_object: std::collections::HashMap<(&str, String), &Document> = documents
        .iter()
        .filter(|d| matches!(d.class, Class::Object))
        .map(|d| ((d.source.name.as_str(), d.id()), d))
        .collect();
    schema
        .into_iter()
        .filter(|d| {
            let (Some(at), Some(object), Some(path)) = (&d.location, &d.object, &d.path) else {
                return true;
            };
            !by_object
                .get(&(at.file.as_str(), object.clone()))
                .is_some_and(|doc| homelab_manifest::engines::depends_on_variable(doc, path))
        })
        .collect()
}

/// The repository's own Kyverno policies often enforce what a platform rule checks (the
/// guide's `disallow-latest-tag` and `image/latest-tag`): one fault, one finding. A policy
/// finding on the same line as a platform finding is folded into it as a note in its message.
fn fold_policy_duplicates(
    policy: Vec<homelab_diagnostics::Diagnostic>,
    platform: &mut [homelab_diagnostics::Diagnostic],
) -> Vec<homelab_diagnostics::Diagnostic> {
    let mut kept = Vec::new();
    for p in policy {
        let same_line = p.location.as_ref().and_then(|pl| {
            platform.iter_mut().find(|d| {
                d.location
                    .as_ref()
                    .is_some_and(|l| l.file == pl.file && l.line == pl.line)
            })
        });
        match same_line {
            Some(d) => {
                let name = p.rule.strip_prefix("policy/").unwrap_or(&p.rule);
                d.message.push_str(&format!(
                    " (Kyverno policy rule `{name}` enforces this too)"
                ));
            }
            None => kept.push(p),
        }
    }
    kept
}

/// Whether a rule passes `--select`/`--ignore` (ids or prefixes; `network` = `network/*`).
pub fn selected(rule: &str, select: &[String], ignore: &[String]) -> bool {
    let hit = |pattern: &String| {
        let p = pattern.trim_end_matches('*').trim_end_matches('/');
        rule == p || rule.starts_with(&format!("{p}/"))
    };
    (select.is_empty() || select.iter().any(hit)) && !ignore.iter().any(hit)
}

fn rule_metadata() -> Vec<RuleMeta> {
    homelab_rules::all()
        .into_iter()
        .map(|r| RuleMeta {
            id: r.id().to_string(),
            summary: r.summary().to_string(),
            help: homelab_rules::documentation(r).to_string(),
            severity: r.severity(),
        })
        .collect()
}

/// The Applications of the repository by sync wave, for the HTML report's graph.
fn waves(documents: &[Document]) -> Vec<Wave> {
    let mut by_wave: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for doc in documents {
        if doc.kind() != Some("Application") || doc.group() != "argoproj.io" {
            continue;
        }
        let wave = match homelab_rules::workload::sync_wave(doc) {
            Some(Ok(w)) => w,
            _ => 0,
        };
        by_wave
            .entry(wave)
            .or_default()
            .push(doc.name().unwrap_or("?").to_string());
    }
    by_wave
        .into_iter()
        .map(|(wave, mut applications)| {
            applications.sort();
            Wave { wave, applications }
        })
        .collect()
}

/// The texts reports may quote: only the files a finding points into, each with its secret
/// values masked by position (so that no finding on the line of a password prints it).
pub fn snippet_sources<'a>(
    sources: &[Arc<Source>],
    diagnostics: impl IntoIterator<Item = &'a homelab_diagnostics::Diagnostic>,
) -> BTreeMap<String, String> {
    let quoted: std::collections::HashSet<&str> = diagnostics
        .into_iter()
        .filter_map(|d| d.location.as_ref())
        .filter(|l| l.line > 0)
        .map(|l| l.file.as_str())
        .collect();
    sources
        .iter()
        .filter(|s| quoted.contains(s.name.as_str()))
        .map(|s| {
            let text = homelab_rules::redact::redacted(&s.text).unwrap_or_else(|| s.text.clone());
            (s.name.clone(), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::selected;

    #[test]
    fn select_and_ignore_take_ids_and_prefixes() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(selected("network/default-deny", &[], &[]));
        assert!(selected("network/default-deny", &s(&["network"]), &[]));
        assert!(selected("network/default-deny", &s(&["network/"]), &[]));
        assert!(!selected("network/default-deny", &s(&["image"]), &[]));
        assert!(!selected(
            "network/default-deny",
            &[],
            &s(&["network/default-deny"])
        ));
        assert!(!selected("policy/x/y", &[], &s(&["policy/*"])));
        assert!(selected("networking/x", &[], &s(&["network"])));
    }
}
