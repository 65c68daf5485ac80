//! Embedded Kubernetes OpenAPI schemas, CRD schemas and strict validation of objects.
//!
//! A [`Validator`] finds the schema of each object's (apiVersion, kind) — CRDs given by the
//! user or found in the input first, then each `-schema-location` in order (`default` is the
//! embedded Kubernetes bundle plus the embedded catalog of upstream CRDs, [`catalog`]) —
//! compiles it once into
//! an internal form ([`ir`]), caches it, and walks objects against it ([`engine`]), in
//! parallel for many documents. Findings are [`homelab_diagnostics::Diagnostic`]s whose
//! location is the offending field's key (or its nearest existing parent).

pub mod bundle;
pub mod catalog;
pub mod cel;
pub mod crd;
pub mod deprecation;
mod documents;
pub mod engine;
pub mod ir;
pub mod location;
mod suggest;

pub use crd::CrdSchema;

/// The documentation of the findings this crate emits (`homelab rules --explain schema/...`).
pub static RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "schema/*",
        severity: homelab_diagnostics::Severity::Error,
        summary: "Strict schema validation (Kubernetes OpenAPI of the target version, CRDs)",
        doc: "# `schema/*`: strict schema validation\n\n## What it checks\nEvery Kubernetes object against the schema of its apiVersion and kind for the target Kubernetes version (embedded, 1.29 to the newest), CRDs found in the input or given with `--crd`, and the embedded catalog of upstream CRDs (Flux, cert-manager, Kyverno, Argo CD, prometheus-operator, Gateway API, external-secrets, CloudNativePG, Longhorn, Traefik, ...; `homelab validate -list-schemas` lists them). Unknown fields are errors (`schema/unknown-field`, with the nearest allowed name), as are wrong types, missing required fields, values outside an enum or pattern, and a CRD's own CEL rules (`x-kubernetes-validations`) that are false (`schema/cel`). A kind without a schema is `schema/missing`: an error for a Kubernetes group (a typo or a removed API version); for a custom kind whose CRD is neither in the input nor in the catalog, `check` says it is not judged (a note; `check --strict` makes it an error), while `validate` keeps kubeconform's error (`-ignore-missing-schemas` skips). The catalog carries one Flux release (Flux 2.N ships kustomize-controller 1.N): in `check`, a repository that pins an older Flux (the `# Flux Version:` header of `gotk-components.yaml`, a GitRepository or OCIRepository of `fluxcd/flux2` at a tag, a FluxInstance's `distribution.version`, or the `instance.distribution.version` value given to the `flux-instance` chart, inline or from a ConfigMap a kustomize generator makes from a file) gets `schema/missing` on the `*.toolkit.fluxcd.io` versions that release still served as notes naming the pin (its cluster serves them); without a pin, or with one as new as the catalog, they stay errors (a removed or misspelt version). Likewise `schema/enum` on an Alert's `eventSources[].kind` or a Receiver's `resources[].kind` naming a Flux Operator kind (FluxInstance, ResourceSet, ResourceSetInputProvider), which Flux Operator adds to the CRD it installs, or any value when the repository patches that enum itself, is a note; a misspelt kind stays an error.\n\n## Why\nThe API server drops unknown fields silently (a misspelt `resources` limits nothing) and rejects the rest at sync time, long after review.\n\n## Example\n```yaml\nspec:\n  contaners: []\n```\n\n## Fix\nCorrect the field the message names; for custom kinds without a schema pass their CRD with `--crd`.",
    },
    RuleDoc {
        id: "schema/removed-api",
        severity: homelab_diagnostics::Severity::Error,
        summary: "apiVersion removed in the target Kubernetes version",
        doc: "# `schema/removed-api`: apiVersion removed in the target Kubernetes version\n\n## What it checks\nObjects whose apiVersion the target Kubernetes version (from `--kubernetes-version` or `platform.toml`) no longer serves, e.g. `extensions/v1beta1` Deployment, `policy/v1beta1` PodSecurityPolicy, `batch/v1beta1` CronJob.\n\n## Why\nThe sync fails with \"no matches for kind\" on the upgraded cluster.\n\n## Example\n`apiVersion: batch/v1beta1` with `kind: CronJob`.\n\n## Fix\nUse the replacement the message names (`batch/v1`).",
    },
    RuleDoc {
        id: "schema/deprecated-api",
        severity: homelab_diagnostics::Severity::Warning,
        summary: "apiVersion deprecated in the target Kubernetes version",
        doc: "# `schema/deprecated-api`: apiVersion deprecated in the target Kubernetes version\n\n## What it checks\nObjects whose apiVersion is still served by the target version but deprecated, with the version that removes it.\n\n## Why\nIt will break on a later k3s upgrade; moving now is cheap.\n\n## Example\nAn apiVersion marked deprecated for the target version.\n\n## Fix\nUse the replacement the message names.",
    },
];
pub use documents::{load_crd_paths, to_diagnostics};
pub use engine::Violation;
pub use location::SchemaLocation;

use homelab_diagnostics::RuleDoc;
use ir::{Compiled, Compiler, DefsResolver, Dialect, DocumentResolver};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

/// Options of a [`Validator`]; the defaults are the product's: newest embedded Kubernetes
/// version, strict, missing schemas are errors, embedded schemas only.
#[derive(Debug, Clone)]
pub struct ValidatorOptions {
    /// `1.29`, `1.29.0` or `v1.29.0`; `None` = newest embedded.
    pub kubernetes_version: Option<String>,
    /// Unknown fields are errors.
    pub strict: bool,
    /// A kind without a schema is a note instead of an error.
    pub ignore_missing: bool,
    /// A custom kind (an API group Kubernetes does not serve) without a schema is a note
    /// ("not judged") instead of an error; a built-in group's unknown kind or version (a typo,
    /// a removed API) stays an error. `check`'s default; `validate` keeps kubeconform's error.
    pub custom_missing_is_note: bool,
    /// Read an explicit `null` on a declared field as the API server does: the field left
    /// out (a null optional field passes, a null required field is missing). `check`'s mode;
    /// `validate` keeps kubeconform's verdict (`targetPort: null` fails IntOrString's oneOf).
    pub null_is_absent: bool,
    /// kubeconform-style locations; empty = `["default"]`.
    pub schema_locations: Vec<String>,
    /// CRD manifests (files or folders) to take schemas from.
    pub crd_paths: Vec<PathBuf>,
    /// Kinds (`Kind` or `group/version/Kind`) not validated.
    pub skip_kinds: Vec<String>,
    /// Kinds (`Kind` or `group/version/Kind`) that are errors wherever they appear.
    pub reject_kinds: Vec<String>,
    /// Cache folder for http(s) schema locations (default: the XDG cache dir).
    pub cache_dir: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
}

impl Default for ValidatorOptions {
    fn default() -> Self {
        ValidatorOptions {
            kubernetes_version: None,
            strict: true,
            ignore_missing: false,
            custom_missing_is_note: false,
            null_is_absent: false,
            schema_locations: Vec::new(),
            crd_paths: Vec::new(),
            skip_kinds: Vec::new(),
            reject_kinds: Vec::new(),
            cache_dir: None,
            insecure_skip_tls_verify: false,
        }
    }
}

/// Errors building a validator (bad options); validation problems are diagnostics instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown Kubernetes version `{given}`: embedded versions are {available}")]
    UnknownVersion { given: String, available: String },
    #[error("{0}")]
    Bundle(String),
    #[error("{0}")]
    Location(String),
    #[error("{0}")]
    Crd(String),
}

/// Whether `kind` of `api_version` is one whose schemas we know, so that a missing schema is
/// a mistake: a kind of Kubernetes' own groups (an unknown kind or version there is a typo
/// or a removed API), a kind of the embedded CRD catalog (an unserved version of Flux,
/// cert-manager, ... is a mistake too), or a near miss of a catalog kind of the same group
/// (`Kustomizaton`). Another kind in a catalog group is a project of its own that shares
/// the group (Argo Rollouts and Argo Workflows beside Argo CD's `argoproj.io`, the MetalLB
/// operator beside MetalLB's `metallb.io`): a custom kind, not judged.
fn known_kind(api_version: &str, kind: &str) -> bool {
    if bundle::get().is_ok_and(|b| b.is_builtin_group(api_version)) {
        return true;
    }
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let Ok(catalog) = catalog::get() else {
        return false;
    };
    let kinds: Vec<&str> = catalog
        .entries
        .iter()
        .filter(|e| e.group == group)
        .map(|e| e.kind.as_str())
        .collect();
    kinds.contains(&kind) || suggest::closest(kind, &kinds).is_some()
}

/// "prometheus-operator v0.93.0 serves ScrapeConfig as monitoring.coreos.com/v1alpha1" when
/// the catalog has the kind of this group at other versions.
fn catalog_versions(api_version: &str, kind: &str) -> Option<String> {
    let group = api_version.rsplit_once('/').map(|(g, _)| g)?;
    let catalog = catalog::get().ok()?;
    let entry = catalog.entry(group, kind)?;
    let versions: Vec<String> = entry
        .versions
        .iter()
        .map(|v| format!("{group}/{}", v.name))
        .collect();
    let source = entry.source(catalog);
    Some(format!(
        "{} {} serves {kind} as {}",
        source.name,
        source.version,
        versions.join(", ")
    ))
}

/// Whether one object passed its schema, in kubeconform's categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    Valid,
    /// Schema violations.
    Invalid,
    /// Could not be validated: no schema, removed apiVersion, rejected kind, broken schema.
    Error,
    /// Skipped on request (`-skip`, or a missing schema with `-ignore-missing-schemas`).
    Skipped,
}

/// One finding before it is placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: homelab_diagnostics::Severity,
    pub message: String,
    pub help: Option<String>,
    /// JSON pointer inside the object ("" = the object itself); where the finding is shown.
    pub pointer: String,
    /// For a missing required field: the pointer it should have (its parent is `pointer`).
    pub missing: Option<String>,
}

/// Status and findings of one object.
#[derive(Debug, Clone)]
pub struct Checked {
    pub status: Validity,
    pub findings: Vec<Finding>,
}

#[derive(Clone)]
enum Lookup {
    Found(Arc<Compiled>),
    /// Several different definitions of the kind (a repository that keeps the CRDs of more
    /// than one release): which one the cluster has is not known, so an object is valid when
    /// one of them accepts it.
    Alternatives(Vec<Arc<Compiled>>),
    Missing,
    Broken(String),
}

type Key = (String, String);
/// kind -> its compiled schema, filled once.
type KindCells = HashMap<String, Arc<OnceLock<Lookup>>>;

/// Schema registry plus compiled-schema cache. Cheap to share between threads (`&Validator`).
pub struct Validator {
    opts: ValidatorOptions,
    /// "1.29"
    minor_version: String,
    /// "1.29.0", for location templates.
    full_version: String,
    locations: Vec<SchemaLocation>,
    crds: RwLock<HashMap<Key, Vec<Arc<CrdSchema>>>>,
    /// Read-mostly: one entry per (apiVersion, kind), compiled once on first use.
    /// apiVersion -> kind -> cell (nested so lookups borrow `&str`s).
    cache: RwLock<HashMap<String, KindCells>>,
}

impl Validator {
    pub fn new(opts: ValidatorOptions) -> Result<Validator, Error> {
        let bundle = bundle::get().map_err(Error::Bundle)?;
        let available = || bundle.versions().collect::<Vec<_>>().join(", ");
        let minor_version = match &opts.kubernetes_version {
            None => bundle
                .newest()
                .map(|v| v.version.clone())
                .ok_or_else(|| Error::Bundle("embedded schema bundle is empty".into()))?,
            Some(given) => {
                let v = bundle::normalize_version(given).ok_or_else(|| Error::UnknownVersion {
                    given: given.clone(),
                    available: available(),
                })?;
                if bundle.version(&v).is_none() {
                    return Err(Error::UnknownVersion {
                        given: given.clone(),
                        available: available(),
                    });
                }
                v
            }
        };
        let full_version = match &opts.kubernetes_version {
            Some(given) if given.trim_start_matches('v').split('.').count() >= 3 => {
                given.trim_start_matches('v').to_string()
            }
            _ => format!("{minor_version}.0"),
        };
        let mut locations: Vec<SchemaLocation> = opts
            .schema_locations
            .iter()
            .map(|l| SchemaLocation::parse(l))
            .collect();
        if locations.is_empty() {
            locations.push(SchemaLocation::Embedded);
        }
        let validator = Validator {
            minor_version,
            full_version,
            locations,
            crds: RwLock::new(HashMap::new()),
            cache: RwLock::new(HashMap::new()),
            opts,
        };
        if !validator.opts.crd_paths.is_empty() {
            let schemas =
                documents::load_crd_paths(&validator.opts.crd_paths).map_err(Error::Crd)?;
            validator.add_crd_schemas(schemas);
        }
        Ok(validator)
    }

    /// The Kubernetes minor version validated against, e.g. `1.37`.
    pub fn kubernetes_version(&self) -> &str {
        &self.minor_version
    }

    pub fn options(&self) -> &ValidatorOptions {
        &self.opts
    }

    /// Registers custom kinds' schemas (they take precedence over every location). A kind
    /// defined again with a different schema keeps both definitions as alternatives.
    pub fn add_crd_schemas(&self, schemas: impl IntoIterator<Item = CrdSchema>) {
        let mut crds = self.crds.write().unwrap_or_else(|e| e.into_inner());
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        for s in schemas {
            if let Some(kinds) = cache.get_mut(&s.api_version) {
                kinds.remove(&s.kind);
            }
            let defined = crds
                .entry((s.api_version.clone(), s.kind.clone()))
                .or_default();
            if !defined.iter().any(|d| d.schema == s.schema) {
                defined.push(Arc::new(s));
            }
        }
    }

    /// Whether a schema for `kind` of `api_version` is known already: a CRD registered so
    /// far, the embedded catalog or a schema location.
    pub fn has_schema(&self, api_version: &str, kind: &str) -> bool {
        matches!(
            self.lookup(api_version, kind),
            Lookup::Found(_) | Lookup::Alternatives(_)
        )
    }

    /// Registers every CRD found in `values` (objects of kind CustomResourceDefinition).
    pub fn add_crds_from_values<'a>(&self, values: impl IntoIterator<Item = (&'a Value, &'a str)>) {
        let mut all = Vec::new();
        for (v, origin) in values {
            if crd::is_crd(v) {
                all.extend(crd::from_crd(v, origin));
            }
        }
        self.add_crd_schemas(all);
    }

    /// Whether the schema of `kind` declares `field` among the object's own top-level
    /// properties (in every definition when the repository keeps several). False without a
    /// schema: nothing then says the field belongs to the object.
    pub fn declares_top_level_field(&self, api_version: &str, kind: &str, field: &str) -> bool {
        let declares = |schema: &Compiled| {
            schema
                .node(schema.root)
                .object
                .as_ref()
                .is_some_and(|rules| rules.property(field).is_some())
        };
        match self.lookup(api_version, kind) {
            Lookup::Found(schema) => declares(&schema),
            Lookup::Alternatives(schemas) => schemas.iter().all(|s| declares(s)),
            Lookup::Missing | Lookup::Broken(_) => false,
        }
    }

    fn minor_number(&self) -> u32 {
        self.minor_version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    fn kind_listed(list: &[String], api_version: &str, kind: &str) -> bool {
        list.iter()
            .any(|k| k == kind || *k == format!("{api_version}/{kind}"))
    }

    /// Validates one object value given its apiVersion and kind.
    pub fn check_value(&self, api_version: &str, kind: &str, value: &Value) -> Checked {
        use homelab_diagnostics::Severity;
        let mut findings = Vec::new();
        if Self::kind_listed(&self.opts.skip_kinds, api_version, kind) {
            return Checked {
                status: Validity::Skipped,
                findings,
            };
        }
        if Self::kind_listed(&self.opts.reject_kinds, api_version, kind) {
            findings.push(Finding {
                rule: "schema/rejected-kind",
                severity: Severity::Error,
                message: format!("prohibited resource kind {kind}"),
                help: Some("this kind is listed in -reject".into()),
                pointer: "/kind".into(),
                missing: None,
            });
            return Checked {
                status: Validity::Error,
                findings,
            };
        }
        match deprecation::lifecycle(api_version, kind, self.minor_number()) {
            Some(deprecation::Lifecycle::Removed {
                in_minor,
                replacement,
            }) => {
                findings.push(Finding {
                    rule: "schema/removed-api",
                    severity: Severity::Error,
                    message: format!(
                        "{api_version} {kind} was removed in Kubernetes 1.{in_minor} (target {})",
                        self.minor_version
                    ),
                    help: Some(format!("use {replacement}")),
                    pointer: "/apiVersion".into(),
                    missing: None,
                });
                return Checked {
                    status: Validity::Error,
                    findings,
                };
            }
            Some(deprecation::Lifecycle::Deprecated {
                since_minor,
                removal_minor,
                replacement,
            }) => findings.push(Finding {
                rule: "schema/deprecated-api",
                severity: Severity::Warning,
                message: match removal_minor {
                    Some(r) => format!(
                        "{api_version} {kind} is deprecated since Kubernetes 1.{since_minor} and removed in 1.{r}"
                    ),
                    None => format!("{api_version} {kind} is deprecated since Kubernetes 1.{since_minor}"),
                },
                help: Some(format!("use {replacement}")),
                pointer: "/apiVersion".into(),
                missing: None,
            }),
            None => {}
        }
        match self.lookup(api_version, kind) {
            found @ (Lookup::Found(_) | Lookup::Alternatives(_)) => {
                let violations = match found {
                    Lookup::Found(schema) => {
                        engine::validate(&schema, value, self.opts.null_is_absent)
                    }
                    Lookup::Alternatives(schemas) => self.closest_violations(&schemas, value),
                    _ => Vec::new(),
                };
                let status = if violations.is_empty() {
                    Validity::Valid
                } else {
                    Validity::Invalid
                };
                findings.extend(violations.into_iter().map(|v| Finding {
                    rule: v.rule,
                    severity: Severity::Error,
                    message: v.message,
                    help: v.help,
                    pointer: v.pointer,
                    missing: v.missing,
                }));
                Checked { status, findings }
            }
            Lookup::Missing => {
                let mut help = String::from(
                    "add the CRD to the input or pass it with --crd, or give a -schema-location that has it",
                );
                if let Some(v) = bundle::get()
                    .ok()
                    .and_then(|b| b.version(&self.minor_version))
                {
                    let served = v.api_versions_of(kind);
                    if !served.is_empty() {
                        help = format!(
                            "Kubernetes {} serves {kind} as {}",
                            self.minor_version,
                            served.join(", ")
                        );
                    }
                }
                if let Some(served) = catalog_versions(api_version, kind) {
                    help = format!("{served}; {help}");
                }
                if self.opts.custom_missing_is_note
                    && !self.opts.ignore_missing
                    && !known_kind(api_version, kind)
                {
                    findings.push(Finding {
                        rule: "schema/missing",
                        severity: Severity::Note,
                        message: format!(
                            "not judged: no schema for {api_version} {kind} (a custom kind whose CRD is neither in the input nor in the embedded catalog)"
                        ),
                        help: Some(format!(
                            "{help}; `--strict` makes this an error"
                        )),
                        pointer: "/kind".into(),
                        missing: None,
                    });
                    Checked {
                        status: Validity::Skipped,
                        findings,
                    }
                } else if self.opts.ignore_missing {
                    findings.push(Finding {
                        rule: "schema/missing",
                        severity: Severity::Note,
                        message: format!(
                            "no schema for {api_version} {kind}; skipped (-ignore-missing-schemas)"
                        ),
                        help: Some(help),
                        pointer: "/kind".into(),
                        missing: None,
                    });
                    Checked {
                        status: Validity::Skipped,
                        findings,
                    }
                } else {
                    findings.push(Finding {
                        rule: "schema/missing",
                        severity: Severity::Error,
                        message: format!("could not find schema for {api_version} {kind}"),
                        help: Some(help),
                        pointer: "/kind".into(),
                        missing: None,
                    });
                    Checked {
                        status: Validity::Error,
                        findings,
                    }
                }
            }
            Lookup::Broken(msg) => {
                findings.push(Finding {
                    rule: "schema/broken-schema",
                    severity: Severity::Error,
                    message: format!("the schema for {api_version} {kind} cannot be used: {msg}"),
                    help: Some("fix or replace the schema file".into()),
                    pointer: "/kind".into(),
                    missing: None,
                });
                Checked {
                    status: Validity::Error,
                    findings,
                }
            }
        }
    }

    /// The violations of `value` against the definition that fits it best: none when one
    /// accepts it, else the fewest (the first definition on a tie).
    fn closest_violations(
        &self,
        schemas: &[Arc<Compiled>],
        value: &Value,
    ) -> Vec<engine::Violation> {
        let mut best: Option<Vec<engine::Violation>> = None;
        for schema in schemas {
            let violations = engine::validate(schema, value, self.opts.null_is_absent);
            if violations.is_empty() {
                return violations;
            }
            if best.as_ref().is_none_or(|b| violations.len() < b.len()) {
                best = Some(violations);
            }
        }
        best.unwrap_or_default()
    }

    fn lookup(&self, api_version: &str, kind: &str) -> Lookup {
        let found = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(api_version)
            .and_then(|kinds| kinds.get(kind))
            .cloned();
        let cell = match found {
            Some(cell) => cell,
            None => {
                let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
                cache
                    .entry(api_version.to_string())
                    .or_default()
                    .entry(kind.to_string())
                    .or_default()
                    .clone()
            }
        };
        cell.get_or_init(|| self.resolve(api_version, kind)).clone()
    }

    fn resolve(&self, api_version: &str, kind: &str) -> Lookup {
        let crd = self
            .crds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(api_version.to_string(), kind.to_string()))
            .cloned();
        match crd.as_deref() {
            Some([one]) => return compile_crd(one, self.opts.strict),
            Some(several @ [first, ..]) => {
                let compiled: Vec<Arc<Compiled>> = several
                    .iter()
                    .filter_map(|crd| match compile_crd(crd, self.opts.strict) {
                        Lookup::Found(c) => Some(c),
                        _ => None,
                    })
                    .collect();
                return match compiled.len() {
                    0 => compile_crd(first, self.opts.strict),
                    1 => Lookup::Found(compiled.into_iter().next().expect("one")),
                    _ => Lookup::Alternatives(compiled),
                };
            }
            _ => {}
        }
        for location in &self.locations {
            match location {
                SchemaLocation::Embedded => {
                    if let Some(found) = self.embedded(api_version, kind, true) {
                        return found;
                    }
                }
                SchemaLocation::EmbeddedKubernetes => {
                    if let Some(found) = self.embedded(api_version, kind, false) {
                        return found;
                    }
                }
                SchemaLocation::Template(t) => {
                    let data = location::TemplateData {
                        api_version,
                        kind,
                        kubernetes_version: &self.full_version,
                        strict: self.opts.strict,
                    };
                    let target = match location::render(t, &data) {
                        Ok(t) => t,
                        Err(e) => return Lookup::Broken(e),
                    };
                    match location::fetch(
                        &target,
                        self.opts.cache_dir.as_deref(),
                        self.opts.insecure_skip_tls_verify,
                    ) {
                        Ok(location::Fetched::Found(origin, text)) => {
                            return compile_json_schema_text(&origin, &text, self.opts.strict)
                        }
                        Ok(location::Fetched::NotFound) => continue,
                        Err(e) => return Lookup::Broken(e),
                    }
                }
            }
        }
        Lookup::Missing
    }

    /// The embedded Kubernetes schema of `api_version` `kind`, else (with `crds`) the
    /// catalog's.
    fn embedded(&self, api_version: &str, kind: &str, crds: bool) -> Option<Lookup> {
        let bundle = match bundle::get() {
            Ok(b) => b,
            Err(e) => return Some(Lookup::Broken(e)),
        };
        let defs = bundle.version(&self.minor_version)?;
        if let Some(name) = defs.lookup(api_version, kind) {
            let resolver = DefsResolver {
                lookup: |n: &str| defs.definition(bundle, n),
            };
            let schema = defs.definition(bundle, name)?;
            let short = name.rsplit('.').next().unwrap_or(name);
            return Some(
                match Compiler::new(
                    &resolver,
                    Dialect::JsonSchema {
                        strict: self.opts.strict,
                    },
                )
                .compile(schema, Some(short))
                {
                    Ok(c) => Lookup::Found(Arc::new(c)),
                    Err(e) => Lookup::Broken(e.to_string()),
                },
            );
        }
        if !crds {
            return None;
        }
        let catalog = match catalog::get() {
            Ok(c) => c,
            Err(e) => return Some(Lookup::Broken(e)),
        };
        let schema = match catalog.schema(api_version, kind)? {
            Ok(schema) => schema,
            Err(e) => return Some(Lookup::Broken(e)),
        };
        let origin = catalog
            .entry(api_version.split_once('/').map_or("", |(g, _)| g), kind)
            .map(|e| {
                let s = e.source(catalog);
                format!("embedded catalog: {} {}", s.project, s.version)
            })
            .unwrap_or_default();
        Some(compile_crd(
            &CrdSchema {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                schema,
                origin,
            },
            self.opts.strict,
        ))
    }
}

fn compile_crd(crd: &CrdSchema, strict: bool) -> Lookup {
    let resolver = DocumentResolver {
        root: &crd.schema,
        others: &[],
    };
    match Compiler::new(&resolver, Dialect::Crd { strict }).compile(&crd.schema, Some(&crd.kind)) {
        Ok(c) => Lookup::Found(Arc::new(c)),
        Err(e) => Lookup::Broken(format!("{} ({})", e, crd.origin)),
    }
}

fn compile_json_schema_text(origin: &str, text: &str, strict: bool) -> Lookup {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Lookup::Broken(format!("{origin} is not JSON: {e}")),
    };
    // `$ref`s into sibling files (`_definitions.json#/...`) are read from the schema's own
    // folder (local locations only).
    let mut others = Vec::new();
    if !origin.starts_with("http") {
        let dir = std::path::Path::new(origin)
            .parent()
            .unwrap_or(std::path::Path::new("."));
        for file in ir::external_refs(&value) {
            let base = file.rsplit('/').next().unwrap_or(&file);
            let read = homelab_fs::read_regular(&dir.join(base), location::MAX_SCHEMA_BYTES, true)
                .map_err(|e| e.to_string())
                .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8".to_owned()));
            match read {
                Ok(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(v) => others.push(v),
                    Err(e) => {
                        return Lookup::Broken(format!(
                            "{base} (referenced by {origin}) is not JSON: {e}"
                        ))
                    }
                },
                Err(e) => {
                    return Lookup::Broken(format!(
                        "cannot read {base} referenced by {origin}: {e}"
                    ))
                }
            }
        }
    }
    let resolver = DocumentResolver {
        root: &value,
        others: &others,
    };
    // Files from a location are used as they are: their strictness is the file's own
    // (kubeconform picks `-strict` files through {{.StrictSuffix}}).
    let _ = strict;
    match Compiler::new(&resolver, Dialect::JsonSchema { strict: true }).compile(&value, None) {
        Ok(c) => Lookup::Found(Arc::new(c)),
        Err(e) => Lookup::Broken(format!("{origin}: {e}")),
    }
}

#[cfg(test)]
mod tests;

/// kubeconform's `-ignore-filename-pattern`: regular expressions matched against file names.
#[derive(Debug, Clone, Default)]
pub struct FilenameFilter(Vec<regex::Regex>);

impl FilenameFilter {
    pub fn new(patterns: &[String]) -> Result<FilenameFilter, String> {
        patterns
            .iter()
            .map(|p| {
                regex::Regex::new(p).map_err(|e| {
                    format!("-ignore-filename-pattern `{p}` is not a valid regular expression: {e}")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(FilenameFilter)
    }

    /// Whether `name` matches any pattern (and so is ignored).
    pub fn ignores(&self, name: &str) -> bool {
        self.0.iter().any(|r| r.is_match(name))
    }
}
