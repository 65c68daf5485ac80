//! Files, folders and stdin to YAML/JSON documents with source positions, classified as
//! Kubernetes objects or not.
//!
//! YAML is read the way Kubernetes reads it (sigs.k8s.io/yaml over go-yaml v2: YAML 1.1 scalar
//! resolution, `<<` merge keys), duplicate keys are errors, and every node keeps its
//! file:line:column. Files that are not Kubernetes objects (Helm values, CI files, templates)
//! are classified and reported with a note, never failed.
//!
//! Diagnostics (rule IDs): errors `yaml/syntax`, `yaml/merge-conflict`, `yaml/tab-indent`, `yaml/duplicate-key`,
//! `yaml/unsupported-key`, `yaml/unsupported-value`, `yaml/bad-tag`, `yaml/bad-merge`,
//! `yaml/too-deep`, `yaml/alias-limit`, `yaml/too-many-documents`, `yaml/file-too-large`, `yaml/binary-file`,
//! `yaml/invalid-utf8`, `yaml/unreadable`, `yaml/symlink-loop`; warning
//! `yaml/ambiguous-value` (only inside Kubernetes objects: a GitHub workflow's `on:` is not
//! worth a warning); notes `load/not-kubernetes` and `load/template`. Every one has a
//! location (1-based line and character column) and a help text.
//!
//! Modules: `walk` (paths to inputs), `read` (bytes to text), `tree` (YAML events to values
//! and positions), `json` (fast path for JSON text), `resolve` (scalar rules), `classify`
//! (objects, lists, notes), `position` (JSON pointer to position), [`yaml`] (writer).
//!
//! ```
//! let (docs, diagnostics) = homelab_manifest::parse_str("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n");
//! assert!(diagnostics.is_empty());
//! assert_eq!(docs[0].id(), "v1/Namespace demo");
//! assert_eq!(docs[0].location("/metadata/name").to_string(), "a.yaml:4:3");
//! ```

mod classify;
pub mod command_line;
mod conflict;
pub mod engines;
mod fast;
mod json;
pub mod kustomizations;
mod position;
mod read;
mod resolve;
pub mod secret_spans;
mod tree;
mod walk;
pub mod yaml;

use homelab_diagnostics::{Diagnostic, Location, RuleDoc, Severity};
pub use homelab_k8s::ResourceExt;
pub use json::number_end as json_number_end;
use position::Positions;
use rayon::prelude::*;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// The documentation of the findings this crate emits (`homelab rules --explain yaml/...`).
pub static RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "yaml/*",
        severity: Severity::Error,
        summary: "YAML that Kubernetes would read wrongly or not at all",
        doc: "# `yaml/*`: reading the files\n\n## What it checks\nSyntax (`yaml/syntax`), unresolved merge-conflict markers (`yaml/merge-conflict`, at the `<<<<<<<` line: the file is then not parsed), duplicate keys (`yaml/duplicate-key`, an error reported on the object that holds the key: Kubernetes keeps the last one silently), tab indentation, bad tags and merge keys, and the bounds that keep the tool safe on any input: nesting depth, alias expansion, file size, documents per file (`yaml/too-many-documents`: at most 20,000 documents or `kind: List` items of one file are kept; empty documents are not kept), binary files, invalid UTF-8, unreadable files and symbolic links: a walked folder's links are never followed, and one that leads out of the checked folder is `yaml/symlink-outside` (an error: its target is not checked, and ArgoCD refuses repositories with such links); loops are `yaml/symlink-loop`, dangling links the note `load/broken-symlink`. `yaml/ambiguous-value` (a warning) flags plain values that YAML 1.1, which kubectl and Helm use, reads as booleans: `yes`/`on`/`Off`. In a file that kustomize builds (listed by a kustomization, or under a Flux Kustomization's path) such a value stays a string, as kustomize reads YAML 1.2: the value is taken as the string and the warning becomes a note. Octal numbers (`0644`) are read as octal by every tool on the path and are not flagged.\n\n## Why\n`kubectl apply` reads `enabled: on` as `true`, and the second of two `image:` keys wins without a word.\n\n## Example\n```yaml\nenabled: on\nimage: a:1\nimage: a:2\n```\n\n## Fix\nQuote values meant as strings (`\"on\"`), remove duplicate keys, indent with spaces.",
    },
    RuleDoc {
        id: "kustomize/multiple-kustomizations",
        severity: Severity::Error,
        summary: "A folder with more than one kustomization file, which kustomize refuses to build",
        doc: "# `kustomize/multiple-kustomizations`: more than one kustomization file in a folder\n\n## What it checks\nkustomize reads a folder's kustomization from `kustomization.yaml`, `kustomization.yml` or `Kustomization` (no extension). It does not choose among them: a folder that holds two or three of them fails to build (`Found multiple kustomization files`), and so do `kubectl apply -k`, Argo CD and Flux on it. The finding is reported on the first of them (in that order), naming the others. The rest of the check reads the folder's kustomization from that first file.\n\n## Why\nNothing in such a folder is applied until one file is left: the build fails in the GitOps engine, not in review.\n\n## Example\n`apps/web/kustomization.yaml` beside an older `apps/web/Kustomization`.\n\n## Fix\nKeep one kustomization file in the folder (merge what the others list into it) and delete the others.",
    },
    RuleDoc {
        id: "load/*",
        severity: Severity::Note,
        summary: "Files that are not Kubernetes objects (classified, not failed)",
        doc: "# `load/*`: classification notes\n\n## What it checks\nHelm values, CI files, kustomization files, Kyverno CLI test files, Gatekeeper `gator verify` suites and chainsaw tests, the configuration of other tools (Talos machine configs and talhelper/Omni cluster files, kind and k3d clusters, Flux CLI plugin configs, Kubernetes component configs such as kubelet, kubeadm and kube-scheduler configurations, the legacy scheduler `v1 Policy` file and kubeconfigs) (`load/not-kubernetes`), templates (Go/Helm, Jinja and makejinja `#% %#`/`#{ }#`, `*.yaml.j2`, FreeMarker `*.ftl.yaml` and `<#if>` directives) (`load/template`), kustomize patches (`load/kustomize-patch`: part of an object, merged by kustomize) and policy test inputs (`load/test-fixtures`: the `.kyverno-test`/`.chainsaw-test` folders, and the files a Kyverno CLI test's `resources` or a gator Suite's `cases[].object`/`inventory` name, and semgrep rule test targets annotated `# ruleid:`, unless a kustomization deploys them) are recognised and listed with a note, with the reason, instead of failing as invalid manifests. Platform rules still read Helm values (storage classes, GPU placement, budgets) and the secret scanner reads every file.\n\n## Why\nA GitOps repository is more than manifests; a checker that fails on a values file is a checker nobody runs.\n\n## Example\n`apps/gitlab/values-homelab.yaml` (no apiVersion/kind).\n\n## Fix\nNothing to fix; `-v` shows the notes.",
    },
];

/// Bounds and folder-walking choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Files (and stdin) larger than this are not read (checked before reading). Default 32 MiB.
    pub max_file_bytes: u64,
    /// Maximum nesting of maps and sequences. Default 256.
    pub max_depth: usize,
    /// Maximum nodes that aliases may expand to, per document. Default 100,000.
    pub max_alias_nodes: usize,
    /// Maximum documents kept per file (YAML documents and `kind: List` items; empty
    /// documents are not kept, so they do not count). The rest of the file is skipped with a
    /// `yaml/too-many-documents` error, so that memory stays bounded by this count instead of
    /// growing with the number of tiny documents a file can hold. Default 20,000.
    pub max_documents: usize,
    /// Honour `.gitignore` (and `.ignore`, `.git/info/exclude`) when walking folders. Default true.
    pub respect_gitignore: bool,
    /// Walk into hidden files and folders (like `.github`). A path given explicitly is always
    /// read. Default false.
    pub include_hidden: bool,
    /// Also read the other text files of walked folders (scripts, `.env`, Markdown, ...) as
    /// sources without documents, for scanners that look at every file (secrets). Binary and
    /// oversized files among them are skipped silently. Default false.
    pub text_files: bool,
    /// Also read walked files named `Kustomization` (no extension), the third name kustomize
    /// reads a kustomization from, beside `kustomization.yaml` and `kustomization.yml`.
    /// Default true.
    pub kustomization_files: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_file_bytes: 32 * 1024 * 1024,
            max_depth: 256,
            max_alias_nodes: 100_000,
            max_documents: 20_000,
            respect_gitignore: true,
            include_hidden: false,
            text_files: false,
            kustomization_files: true,
        }
    }
}

/// The text of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as the user gave it (or as found under a folder they gave), `-` for stdin.
    pub name: String,
    pub path: Option<PathBuf>,
    pub text: String,
}

/// What a document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// A map with string `apiVersion` and `kind`.
    Object,
    /// Valid YAML that is not a Kubernetes object (Helm values, CI files, `Chart.yaml`, ...).
    NotKubernetes { reason: String },
    /// A template (Go/Helm, Jinja): not checked until rendered.
    Template,
    /// An empty document (or `null`).
    Empty,
}

/// One YAML document (or one item of a `kind: List`), with positions for every node.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: Arc<Source>,
    /// The n-th YAML document in the file, 0-based.
    pub doc_index: usize,
    /// Set when the document was expanded from the `items` of a `kind: List`.
    pub item_index: Option<usize>,
    pub value: Value,
    pub class: Class,
    positions: Positions,
    /// What the GitOps engines make of the document beyond its own text (set by
    /// [`engines::apply`]); `None` for most documents, so it costs one pointer.
    engine: Option<Box<EngineFacts>>,
}

/// What [`engines::apply`] learnt about one document.
#[derive(Debug, Clone, Default)]
struct EngineFacts {
    /// Applied as a patch to a live object (see [`Document::partial`]).
    partial: Option<String>,
    /// Values a patch filled in, located where the patch writes them.
    grafts: Vec<Graft>,
    /// Why the document may be completed where the repository cannot see (see
    /// [`Document::completed_elsewhere`]).
    completed_elsewhere: Option<String>,
    /// The `patches` folder that makes it a patch nothing applies whole (see
    /// [`Document::in_patch_folder`]).
    patch_folder: Option<String>,
}

/// A subtree a patch filled into a document: findings about it point at the patch.
#[derive(Debug, Clone)]
struct Graft {
    /// Where the subtree is in the document (a JSON pointer).
    at: String,
    /// The document that wrote it (the patch file, or the kustomization of an inline patch).
    origin: Arc<Document>,
    /// Where it is in `origin`.
    origin_at: String,
    /// For a patch written inline (a block scalar of a kustomization or Flux Kustomization):
    /// that document and the pointer to the scalar, which `origin` was parsed from.
    embedded: Option<(Arc<Document>, String)>,
}

impl Graft {
    /// Where the node at `pointer` (inside the graft) is written, by key or by value.
    fn locate(&self, rest: &str, value: bool) -> Location {
        let at = format!("{}{rest}", self.origin_at);
        let inner = if value {
            self.origin.value_location(&at)
        } else {
            self.origin.location(&at)
        };
        match &self.embedded {
            None => inner,
            Some((container, scalar_at)) => in_block_scalar(container, scalar_at, &inner)
                .unwrap_or_else(|| container.value_location(scalar_at)),
        }
    }
}

/// The place in `container`'s file of `inner`, a place in the text of the literal block
/// scalar (`|`, `|-`, `|+`) at `scalar_at`: the block's lines follow the line of its
/// indicator one to one, shifted by its indentation. `None` for any other scalar (quoted,
/// folded), whose lines do not.
fn in_block_scalar(container: &Document, scalar_at: &str, inner: &Location) -> Option<Location> {
    // The line of the key (`patch: |`) or list item (`- |`) that holds the indicator.
    let key = container.location(scalar_at);
    let lines: Vec<&str> = container.source.text.lines().collect();
    let key_line = usize::try_from(key.line).ok()?;
    let indicator = lines.get(key_line.checked_sub(1)?)?.trim_end();
    let literal = indicator
        .rsplit([' ', ':'])
        .next()
        .is_some_and(|t| t.starts_with('|') && t[1..].chars().all(|c| "+-0123456789".contains(c)));
    if !literal {
        return None;
    }
    let indent = lines
        .iter()
        .skip(key_line)
        .find(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())?;
    Some(Location::new(
        &container.source.name,
        key.line.checked_add(inner.line)?,
        u32::try_from(indent).ok()?.checked_add(inner.column)?,
    ))
}

impl ResourceExt for Document {
    fn object(&self) -> &Value {
        &self.value
    }
}

/// The common accessors, callable without importing [`ResourceExt`].
impl Document {
    pub fn api_version(&self) -> Option<&str> {
        ResourceExt::api_version(self)
    }

    pub fn kind(&self) -> Option<&str> {
        ResourceExt::kind(self)
    }

    /// `metadata.name`.
    pub fn name(&self) -> Option<&str> {
        ResourceExt::name(self)
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        ResourceExt::namespace(self)
    }

    /// The API group: `apps` for `apps/v1`, `""` for the core group (`v1`).
    pub fn group(&self) -> &str {
        ResourceExt::group(self)
    }

    /// The API version: `v1` for `apps/v1` and for `v1`.
    pub fn version(&self) -> &str {
        ResourceExt::version(self)
    }

    /// `apps/v1/Deployment ai-services/ollama`, `v1/Namespace gitlab`; for a document that is
    /// not an object, `file#doc` (and `[item]` for list items).
    pub fn id(&self) -> String {
        match (self.api_version(), self.kind()) {
            (Some(av), Some(kind)) => {
                let name = self
                    .name()
                    .map(str::to_owned)
                    .or_else(|| self.generate_name().map(|g| format!("{g}*")))
                    .unwrap_or_else(|| "<unnamed>".to_owned());
                match self.namespace() {
                    Some(ns) => format!("{av}/{kind} {ns}/{name}"),
                    None => format!("{av}/{kind} {name}"),
                }
            }
            _ => match self.item_index {
                Some(i) => format!("{}#{}[{}]", self.source.name, self.doc_index, i),
                None => format!("{}#{}", self.source.name, self.doc_index),
            },
        }
    }

    fn at(&self, pos: position::Pos) -> Location {
        Location::new(&self.source.name, pos.line, pos.col)
    }

    /// The patch that filled in the node at `pointer`, with the rest of the pointer below
    /// the place it filled.
    fn grafted<'p>(&self, pointer: &'p str) -> Option<(&Graft, &'p str)> {
        self.engine.as_ref()?.grafts.iter().find_map(|g| {
            pointer
                .strip_prefix(g.at.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                .map(|rest| (g, rest))
        })
    }

    /// Where the node at `pointer` (RFC 6901, e.g. `/spec/replicas`) is: for a map entry the
    /// position of its key, for a sequence item the item. A pointer that does not exist falls
    /// back to the nearest existing parent; `""` is the start of the document. A value a
    /// patch filled in is where the patch writes it.
    pub fn location(&self, pointer: &str) -> Location {
        if let Some((graft, rest)) = self.grafted(pointer) {
            return graft.locate(rest, false);
        }
        self.at(position::lookup(&self.value, &self.positions, pointer).0)
    }

    /// Where the value of the node at `pointer` starts (falls back like [`Document::location`]).
    pub fn value_location(&self, pointer: &str) -> Location {
        if let Some((graft, rest)) = self.grafted(pointer) {
            return graft.locate(rest, true);
        }
        self.at(position::lookup(&self.value, &self.positions, pointer).1)
    }

    /// Set when the document is applied as a patch to a live object that the repository
    /// does not hold (`kubectl patch --patch-file` in a script or README): it sets some
    /// fields of that object, it is not the whole object. Says who uses it so.
    pub fn partial(&self) -> Option<&str> {
        self.engine.as_ref()?.partial.as_deref()
    }

    /// Mark the document as applied as a patch (see [`Document::partial`]).
    pub(crate) fn set_partial(&mut self, by: String) {
        self.engine.get_or_insert_with(Default::default).partial = Some(by);
    }

    /// Set when the document lies in a folder named `patches` and nothing applies its file
    /// whole (no kustomization or Flux Kustomization, no kustomize patch list, no `kubectl
    /// patch` found): by the folder's name, a patch that a script or tool merges into its
    /// target. Names the folder. Weaker evidence than a command: whatever shows the file is
    /// not applied at all, or applied as a kubeadm patch, wins over it.
    pub fn in_patch_folder(&self) -> Option<&str> {
        self.engine.as_ref()?.patch_folder.as_deref()
    }

    /// Mark the document as lying in a `patches` folder (see [`Document::in_patch_folder`]).
    pub(crate) fn set_patch_folder(&mut self, folder: String) {
        self.engine
            .get_or_insert_with(Default::default)
            .patch_folder = Some(folder);
    }

    /// Set when the document may be completed where the repository cannot see, so that a
    /// field missing here may be set there; says why. Either a kustomization that builds it
    /// lists a patch file that is not in the repository (kept out of git, such as a
    /// gitignored `env/` folder of per-site values) and that may target it, or it is a
    /// template named by a `${VAR}` that nothing in the repository substitutes: a task or
    /// `envsubst` makes its copies, and the build they land in completes them.
    pub fn completed_elsewhere(&self) -> Option<&str> {
        self.engine.as_ref()?.completed_elsewhere.as_deref()
    }

    /// Mark the document as completed where the repository cannot see (the first reason
    /// stays).
    pub(crate) fn set_completed_elsewhere(&mut self, why: String) {
        self.engine
            .get_or_insert_with(Default::default)
            .completed_elsewhere
            .get_or_insert(why);
    }

    /// Record that a patch filled in the node at `at`, written at `origin_at` of `origin`
    /// (itself parsed from the block scalar at `embedded`, for an inline patch).
    pub(crate) fn add_graft(
        &mut self,
        at: String,
        origin: Arc<Document>,
        origin_at: String,
        embedded: Option<(Arc<Document>, String)>,
    ) {
        let facts = self.engine.get_or_insert_with(Default::default);
        // Bounded: a document gets at most one graft per filled node, and no more than this.
        if facts.grafts.len() < 4096 {
            facts.grafts.push(Graft {
                at,
                origin,
                origin_at,
                embedded,
            });
        }
    }

    /// The start of the document (or of the list item).
    pub fn start(&self) -> Location {
        self.at(self.positions.start())
    }

    /// Removes a top-level key (value and position) and returns its value, keeping every
    /// other position right. Used for data that is not part of the object, like the
    /// metadata block sops appends to each document of an encrypted file (Flux and the
    /// sops CLI strip it before applying).
    pub fn remove_top_level_key(&mut self, key: &str) -> Option<Value> {
        let Value::Object(map) = &mut self.value else {
            return None;
        };
        let index = map.keys().position(|k| k == key)?;
        let removed = map.shift_remove(key)?;
        self.positions.remove_root_entry(index);
        Some(removed)
    }
}

/// Everything loaded from the inputs.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    /// In input order: arguments as given, files of a folder sorted by path, then documents in
    /// file order.
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every input that was read (for source snippets in reports).
    pub sources: Vec<Arc<Source>>,
}

/// What one input produced: its source (if it could be read), documents, diagnostics.
type FileResult = (Option<Arc<Source>>, Vec<Document>, Vec<Diagnostic>);

/// Loads files, folders (recursively) and `-` (stdin). Files are read and parsed in parallel;
/// the result is in a deterministic order.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Loaded {
    let inputs = walk::expand(paths, opts);
    let results: Vec<FileResult> = inputs
        .into_par_iter()
        .map(|input| load_one(&input, opts, &|_| true))
        .collect();
    let mut loaded = Loaded::default();
    for (source, docs, diags) in results {
        loaded.sources.extend(source);
        loaded.documents.extend(docs);
        loaded.diagnostics.extend(diags);
    }
    loaded
}

/// Reads and parses one input; `wanted` sees the text of a file first, and a file it refuses
/// is neither parsed nor returned (diagnostics of reading it still are).
fn load_one(input: &walk::Input, opts: &LoadOptions, wanted: &dyn Fn(&str) -> bool) -> FileResult {
    let (source, template) = match input {
        walk::Input::Failed(d) => return (None, Vec::new(), vec![d.clone()]),
        walk::Input::Stdin => (read::read_stdin(opts), None),
        walk::Input::File {
            path,
            name,
            template,
            walked,
        } => (read::read_file(path, name, opts, *walked), *template),
        walk::Input::Text { path, name } => {
            // Not a manifest: keep the text for scanners, nothing to parse or report.
            return match read::read_file(path, name, opts, true) {
                Ok(source) if wanted(&source.text) => {
                    (Some(Arc::new(source)), Vec::new(), Vec::new())
                }
                _ => (None, Vec::new(), Vec::new()),
            };
        }
    };
    match source {
        Err(d) => (None, Vec::new(), vec![d]),
        Ok(source) => parse_read(Arc::new(source), template, opts, wanted),
    }
}

fn parse_read(
    source: Arc<Source>,
    template: Option<&'static str>,
    opts: &LoadOptions,
    wanted: &dyn Fn(&str) -> bool,
) -> FileResult {
    if !wanted(&source.text) {
        return (None, Vec::new(), Vec::new());
    }
    let (docs, diags) = if let Some(why) = template {
        template_file(&source, why)
    } else {
        parse_source(source.clone(), opts)
    };
    (Some(source), docs, diags)
}

/// One input of [`inputs`]: a file, stdin or a path that could not be walked, read only when
/// asked. This is the streaming form of [`load`]: a caller that handles the inputs one at a
/// time (in parallel or not) holds only the files in flight in memory.
#[derive(Debug)]
pub struct Input(InputKind);

#[derive(Debug)]
enum InputKind {
    Walked(walk::Input),
    /// Stdin, read when the inputs were listed (it cannot be read twice).
    Stdin(Result<Arc<Source>, Diagnostic>),
}

/// What one input produced.
#[derive(Debug, Default)]
pub struct FileLoaded {
    /// The text, when it could be read (and was wanted).
    pub source: Option<Arc<Source>>,
    /// Its documents, in file order.
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The inputs `paths` expand to, in the order of [`load`], without reading files (stdin is
/// read now, once, so that an input can be loaded more than once).
pub fn inputs(paths: &[PathBuf], opts: &LoadOptions) -> Vec<Input> {
    walk::expand(paths, opts)
        .into_iter()
        .map(|input| match input {
            walk::Input::Stdin => Input(InputKind::Stdin(read::read_stdin(opts).map(Arc::new))),
            other => Input(InputKind::Walked(other)),
        })
        .collect()
}

impl Input {
    /// Reads and parses this input, as [`load`] does for each input.
    pub fn load(&self, opts: &LoadOptions) -> FileLoaded {
        self.load_if(opts, &|_| true)
    }

    /// [`Input::load`] for a file whose text `wanted` accepts; any other file is read but not
    /// parsed, and gives nothing (a cheap first pass, e.g. for the files that mention a kind).
    pub fn load_if(&self, opts: &LoadOptions, wanted: &dyn Fn(&str) -> bool) -> FileLoaded {
        let (source, documents, diagnostics) = match &self.0 {
            InputKind::Walked(input) => load_one(input, opts, wanted),
            InputKind::Stdin(Ok(source)) => parse_read(source.clone(), None, opts, wanted),
            InputKind::Stdin(Err(d)) => (None, Vec::new(), vec![d.clone()]),
        };
        FileLoaded {
            source,
            documents,
            diagnostics,
        }
    }
}

/// Parses one source into documents. Never panics; problems are diagnostics.
pub fn parse_source(source: Arc<Source>, opts: &LoadOptions) -> (Vec<Document>, Vec<Diagnostic>) {
    // A file with conflict markers is neither side: say so, rather than what the YAML
    // parser makes of the marker lines.
    let conflicts = conflict::find(&source.name, &source.text);
    if !conflicts.is_empty() {
        return (Vec::new(), conflicts);
    }
    let limits = tree::Limits {
        max_depth: opts.max_depth,
        max_alias_nodes: opts.max_alias_nodes,
        max_documents: opts.max_documents,
    };
    let parsed = match std::panic::catch_unwind(|| tree::parse(&source.name, &source.text, limits))
    {
        Ok(parsed) => parsed,
        Err(_) => {
            // Defence in depth: the YAML library should never panic, but a bug there must not
            // take the whole run down.
            let d = Diagnostic::error(
                "yaml/syntax",
                "the YAML parser failed on this file (internal error)",
            )
            .at(Location::new(&source.name, 1, 1))
            .with_help("please report this file as a homelab bug; check its YAML syntax meanwhile");
            return (Vec::new(), vec![d]);
        }
    };
    if has_makejinja_markers(&source.text) {
        // `#% if %#` and `#{ var }#` are YAML comments: the file parses, but what it says
        // depends on the template's inputs.
        return template_file(
            &source,
            "it holds makejinja markers (`#% %#`, `#{ }#`): a template rendered before anything applies it",
        );
    }
    if parsed.syntax_failed && has_variables(&source.text) {
        // Flux (and envsubst) replace `${VAR}` in the text before the YAML is read: in a
        // flow collection (`[host.${DOMAIN}:80]`) the unreplaced text is not YAML, the
        // applied one is. Read it with each variable replaced by a placeholder of the same
        // length, so positions stay right.
        let placeholder = replace_variables(&source.text);
        if let Some(reparsed) = parses(&source.name, &placeholder, limits) {
            let mut diagnostics = reparsed.diagnostics;
            diagnostics.push(
                Diagnostic::note(
                    "load/variables",
                    "read with its `${...}` variables replaced by placeholders: it is YAML only once they are substituted (Flux postBuild, envsubst)",
                )
                .at(Location::new(&source.name, 1, 1))
                .with_help("nothing to fix; the values behind the variables are not checked"),
            );
            return classify_all(&source, reparsed.docs, diagnostics);
        }
    }
    if parsed.syntax_failed && looks_like_template(&source.text) {
        return template_file(
            &source,
            "it does not parse as YAML and contains template markers (`{{ }}`, `{% %}`, FreeMarker `<#if>`/`</#if>`)",
        );
    }
    if parsed.syntax_failed
        && source.name.to_ascii_lowercase().ends_with(".json")
        && is_one_record_per_line(&source.text, limits)
    {
        // One map per line (JSON Lines, a database's import or export records): data of
        // another tool, never a manifest (kubectl reads one JSON value per file).
        let doc = Document {
            source: source.clone(),
            doc_index: 0,
            item_index: None,
            value: Value::Null,
            class: Class::NotKubernetes {
                reason: "one record per line (JSON Lines data)".into(),
            },
            positions: Positions::scalar(position::Pos { line: 1, col: 1 }),
            engine: None,
        };
        let note = Diagnostic::note(
            "load/not-kubernetes",
            "skipped: one record per line (JSON Lines, data such as a database's import file), not a Kubernetes object",
        )
        .at(doc.start())
        .with_help("nothing to fix; a Kubernetes object in JSON is one value per file");
        return (vec![doc], vec![note]);
    }
    if parsed.syntax_failed && source.name.to_ascii_lowercase().ends_with(".json") {
        // JSON with comments (JSONC: VS Code's `settings.json`, `tsconfig.json`,
        // `devcontainer.json`) is another tool's file. Read with its comments blanked, it is
        // listed as that when it holds no Kubernetes object; an object there stays a syntax
        // error (kubectl reads no comments in JSON).
        if let Some(reparsed) =
            json_comments_blanked(&source.text).and_then(|t| parses(&source.name, &t, limits))
        {
            let (mut documents, mut notes) = classify_all(&source, reparsed.docs, Vec::new());
            if documents.iter().all(|d| d.class != Class::Object) {
                notes.retain(|d| d.rule != "load/not-kubernetes");
                notes.push(
                    Diagnostic::note(
                        "load/not-kubernetes",
                        "skipped: JSON with comments (JSONC, the settings format of editors and tools such as VS Code's settings.json), not a Kubernetes object",
                    )
                    .at(Location::new(&source.name, 1, 1))
                    .with_help("nothing to fix; kubectl reads no comments in JSON, so a Kubernetes object must not be written this way"),
                );
                for doc in &mut documents {
                    if doc.class != Class::Empty {
                        doc.class = Class::NotKubernetes {
                            reason: "JSON with comments (JSONC)".into(),
                        };
                    }
                }
                return (documents, notes);
            }
        }
    }
    if parsed.syntax_failed {
        // An alias used as a key with its colon right after the name (`*app:` at the end of
        // a line): go-yaml (kubectl, kustomize, Flux, Argo CD) ends an alias name at the
        // first character that is not a letter, digit, `_` or `-`, so it reads the key
        // `*app`; YAML 1.2 takes `app:` for the name. Read it as go-yaml does (a blank before
        // the colon, at the end of the line: no position moves).
        if let Some(reparsed) =
            alias_keys_spaced(&source.text).and_then(|t| parses(&source.name, &t, limits))
        {
            return classify_all(&source, reparsed.docs, reparsed.diagnostics);
        }
    }
    if parsed.syntax_failed {
        // A comment right after a closing quote (`enabled: 'false'# note`): go-yaml (kubectl,
        // kustomize, Flux, Argo CD) ends the quoted scalar at its quote and reads the rest of
        // the line as a comment; YAML 1.2 wants a blank before `#`. Read it as go-yaml does.
        if let Some(reparsed) = comments_after_quotes_blanked(&source, &parsed, limits) {
            return classify_all(&source, reparsed.docs, reparsed.diagnostics);
        }
    }
    if parsed.syntax_failed {
        // A line that is only a `<PLACEHOLDER>` (`<CERT_MANAGER_ISSUER_ANNOTATION_1>` among
        // annotations) is replaced by YAML lines before anything applies the file. When the
        // file parses with those lines read as comments, they are what breaks it: a template.
        if placeholder_lines_commented(&source.text)
            .and_then(|t| parses(&source.name, &t, limits))
            .is_some()
        {
            return template_file(
                &source,
                "it is YAML only once its `<PLACEHOLDER>` lines are replaced: a template filled in before anything applies it",
            );
        }
    }
    if parsed.syntax_failed {
        // `name: @STS_NAME@`, `clusterIP: {SERVICE_IP_PREFIX}.16`, `slack-token: %SLACK_TOKEN%`:
        // a script (`sed`, autoconf) replaces `@NAME@`, `{NAME}` or `%NAME%` before anything
        // applies the file; YAML reserves `@` and `%` and reads `{` as a flow mapping, so the
        // unfilled text does not parse.
        // When it parses with those placeholders filled, they are what breaks it: a template.
        if script_placeholders_filled(&source.text)
            .and_then(|t| parses(&source.name, &t, limits))
            .is_some()
        {
            return template_file(
                &source,
                "it is YAML only once its `@NAME@`, `{NAME}` or `%NAME%` placeholders are replaced: a template filled in before anything applies it",
            );
        }
    }
    let mut documents = Vec::new();
    let mut diagnostics = parsed.diagnostics;
    if parsed.docs.is_empty() && diagnostics.is_empty() {
        documents.push(Document {
            source: source.clone(),
            doc_index: 0,
            item_index: None,
            value: Value::Null,
            class: Class::Empty,
            positions: Positions::scalar(position::Pos { line: 1, col: 1 }),
            engine: None,
        });
    }
    for raw in parsed.docs {
        classify::classify(&source, raw, &mut documents, &mut diagnostics);
    }
    // `kind: List` items count too: a list of many tiny items costs as much as many documents.
    if documents.len() > opts.max_documents {
        let first_skipped = documents[opts.max_documents].positions.start();
        documents.truncate(opts.max_documents);
        if !diagnostics
            .iter()
            .any(|d| d.rule == "yaml/too-many-documents")
        {
            diagnostics.push(tree::too_many_documents(
                &source.name,
                first_skipped,
                opts.max_documents,
            ));
        }
    }
    // A fault inside an object (a duplicate key, a bad tag) belongs to that object.
    let at = |d: &Diagnostic| {
        d.location.as_ref().map(|at| position::Pos {
            line: at.line,
            col: at.column,
        })
    };
    let targets: std::collections::HashSet<position::Pos> = diagnostics
        .iter()
        .filter(|d| d.object.is_none())
        .filter_map(at)
        .collect();
    let named: Vec<_> = if targets.is_empty() {
        Vec::new()
    } else {
        documents
            .iter()
            .filter(|doc| doc.class == Class::Object)
            .map(|doc| {
                (
                    doc,
                    position::pointers_at(&doc.value, &doc.positions, &targets),
                )
            })
            .collect()
    };
    for d in diagnostics.iter_mut().filter(|d| d.object.is_none()) {
        let Some(pos) = at(d) else { continue };
        if let Some((doc, pointer)) = named
            .iter()
            .find_map(|(doc, pointers)| pointers.get(&pos).map(|p| (*doc, p.clone())))
        {
            d.object = Some(doc.id());
            if d.path.is_none() && !pointer.is_empty() {
                d.path = Some(pointer);
            }
        }
    }
    (documents, diagnostics)
}

/// [`parse_source`] for a string, with default options (for tests and other crates).
pub fn parse_str(name: &str, text: &str) -> (Vec<Document>, Vec<Diagnostic>) {
    let source = Arc::new(Source {
        name: name.to_owned(),
        path: None,
        text: text.to_owned(),
    });
    parse_source(source, &LoadOptions::default())
}

fn looks_like_template(text: &str) -> bool {
    (text.contains("{{") && text.contains("}}"))
        || (text.contains("{%") && text.contains("%}"))
        || has_freemarker_directives(text)
}

/// FreeMarker directives: `<#name ...>`, `</#name>` and `<#-- comment -->` (the `<#` of a
/// YAML comment such as `# <#>` is not one: a letter or `--` must follow).
fn has_freemarker_directives(text: &str) -> bool {
    text.match_indices("<#").any(|(i, _)| {
        let after = &text[i + 2..];
        after.starts_with("--") || after.chars().next().is_some_and(|c| c.is_ascii_lowercase())
    }) || text.contains("</#")
}

/// The text with each line that is only a placeholder (`<NAME>`, upper case, digits and `_`;
/// also as a list item `- <NAME>`) turned into a comment of the same length; `None` when
/// there is no such line.
fn placeholder_lines_commented(text: &str) -> Option<String> {
    fn is_placeholder(t: &str) -> bool {
        let t = t.trim();
        let t = t.strip_prefix("- ").map_or(t, str::trim_start);
        t.strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .is_some_and(|name| {
                name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
    }
    let mut found = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if is_placeholder(line) {
            found = true;
            let indent = line.len() - line.trim_start().len();
            out.push_str(&line[..indent]);
            out.push('#');
            out.push_str(&line[indent + 1..]);
        } else {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

/// `text` read as YAML (a defensive catch of a parser panic included), when it parses: the
/// check behind each rereading of a file that failed as written.
fn parses(name: &str, text: &str, limits: tree::Limits) -> Option<tree::Parsed> {
    std::panic::catch_unwind(|| tree::parse(name, text, limits))
        .ok()
        .filter(|p| !p.syntax_failed)
}

/// The documents of `docs` classified, with `diagnostics` first and what classifying adds.
fn classify_all(
    source: &Arc<Source>,
    docs: Vec<tree::RawDoc>,
    mut diagnostics: Vec<Diagnostic>,
) -> (Vec<Document>, Vec<Diagnostic>) {
    let mut documents = Vec::new();
    for raw in docs {
        classify::classify(source, raw, &mut documents, &mut diagnostics);
    }
    (documents, diagnostics)
}

/// The text with a blank before the colon of each alias key that ends its line (`*app:` ->
/// `*app :`), as go-yaml reads it; `None` when there is none.
fn alias_keys_spaced(text: &str) -> Option<String> {
    let mut found = false;
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let key = body.trim_start().trim_start_matches("- ").trim_start();
        let alias_key = key
            .strip_prefix('*')
            .and_then(|k| k.strip_suffix(':'))
            .is_some_and(|name| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        if alias_key {
            found = true;
            out.push_str(&body[..body.len() - 1]);
            out.push_str(" :");
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

/// What saphyr-parser says where a comment follows a token without a blank.
const COMMENT_WITHOUT_BLANK: &str = "comments must be separated from other tokens by whitespace";

/// The parse of the text with each comment that follows a closing quote without a blank
/// (`'false'# note`) blanked to the end of its line, as go-yaml reads it (nothing after the
/// comment on its line, so no position moves). Only where the parser stops for that reason,
/// right after a quote, at most 32 times; `None` when the text still does not parse.
fn comments_after_quotes_blanked(
    source: &Source,
    parsed: &tree::Parsed,
    limits: tree::Limits,
) -> Option<tree::Parsed> {
    let mut text = source.text.clone();
    let mut current: Option<tree::Parsed> = None;
    for _ in 0..32 {
        let diagnostics = current
            .as_ref()
            .map_or(&parsed.diagnostics, |p| &p.diagnostics);
        let at = diagnostics
            .iter()
            .find(|d| d.rule == "yaml/syntax")
            .filter(|d| d.message.contains(COMMENT_WITHOUT_BLANK))?
            .location
            .as_ref()?;
        let line_start = if at.line <= 1 {
            0
        } else {
            text.match_indices('\n').nth(at.line as usize - 2)?.0 + 1
        };
        let line = text[line_start..]
            .split('\n')
            .next()?
            .trim_end_matches('\r');
        let (hash, _) = line
            .char_indices()
            .nth((at.column as usize).checked_sub(1)?)?;
        if !line[hash..].starts_with('#') || !line[..hash].ends_with(['\'', '"']) {
            return None;
        }
        let (from, to) = (line_start + hash, line_start + line.len());
        text.replace_range(from..to, &" ".repeat(to - from));
        let reparsed =
            std::panic::catch_unwind(|| tree::parse(&source.name, &text, limits)).ok()?;
        if !reparsed.syntax_failed {
            return Some(reparsed);
        }
        current = Some(reparsed);
    }
    None
}

/// The text with each `@NAME@` or `%NAME%` placeholder (upper case, digits and `_`, starting
/// with a letter) or `{name}` placeholder (`{SERVICE_IP_PREFIX}`, `{docker_username}`: letters,
/// digits, `_` and `-`) replaced by as many `x` (same length, same lines); `None` when there
/// is none. `${NAME}` (a shell or Flux variable) and `{{NAME}}` (a Go template) are not such
/// placeholders and stay as they are.
fn script_placeholders_filled(text: &str) -> Option<String> {
    static PLACEHOLDER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let placeholder = PLACEHOLDER.get_or_init(|| {
        regex::Regex::new(r"@[A-Z][A-Z0-9_]*@|%[A-Z][A-Z0-9_]*%|\{[A-Za-z][A-Za-z0-9_-]*\}")
            .expect("valid pattern")
    });
    let bytes = text.as_bytes();
    let is_placeholder = |m: &regex::Match| {
        m.as_str().starts_with(['@', '%'])
            || (!matches!(
                m.start().checked_sub(1).map(|i| bytes[i]),
                Some(b'$' | b'{')
            ) && bytes.get(m.end()) != Some(&b'}'))
    };
    if !placeholder.find_iter(text).any(|m| is_placeholder(&m)) {
        return None;
    }
    Some(
        placeholder
            .replace_all(text, |c: &regex::Captures| {
                let m = c.get(0).expect("whole match");
                if is_placeholder(&m) {
                    "x".repeat(m.len())
                } else {
                    m.as_str().to_owned()
                }
            })
            .into_owned(),
    )
}

/// The text with its JSONC comments (`// ...` to the end of the line, `/* ... */`) outside
/// strings turned into spaces (line breaks kept, so positions stay right); `None` when it
/// has none.
fn json_comments_blanked(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let (mut i, mut in_string, mut found) = (0, false, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        let end = match (b, next) {
            (b'"', _) => {
                in_string = true;
                i += 1;
                continue;
            }
            (b'/', Some(b'/')) => text[i..].find('\n').map_or(bytes.len(), |n| i + n),
            (b'/', Some(b'*')) => text[i + 2..].find("*/").map_or(bytes.len(), |n| i + n + 4),
            _ => {
                i += 1;
                continue;
            }
        };
        found = true;
        for c in &mut out[i..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        i = end;
    }
    // Only ASCII bytes outside strings were replaced by ASCII spaces.
    found.then(|| String::from_utf8(out).ok()).flatten()
}

/// Whether the text holds `${NAME...}` substitution variables.
fn has_variables(text: &str) -> bool {
    text.match_indices("${").any(|(i, _)| {
        text[i + 2..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    })
}

/// The text with every `${NAME...}` replaced by as many `x` (same length, same lines).
fn replace_variables(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match after.find(['}', '\n']) {
            Some(end) if after.as_bytes()[end] == b'}' && has_variables(&after[..=end]) => {
                out.extend(std::iter::repeat_n('x', after[..=end].chars().count()));
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = &after[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// makejinja's default delimiters: blocks `#% ... %#`, variables `#{ ... }#`.
/// Only lines with a `#` can hold one, so the scan jumps from `#` to `#` (a large rendered
/// file has few) instead of looking at every line.
fn has_makejinja_markers(text: &str) -> bool {
    let mut from = 0;
    while let Some(found) = text[from..].find('#') {
        let at = from + found;
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let line = text[start..end]
            .strip_suffix('\r')
            .unwrap_or(&text[start..end]);
        let t = line.trim_start();
        if (t.starts_with("#%") && t.trim_end().ends_with("%#"))
            || line
                .find("#{")
                .is_some_and(|start| line[start..].contains("}#"))
        {
            return true;
        }
        if end == text.len() {
            return false;
        }
        from = end + 1;
    }
    false
}

/// Whether the text is two or more lines that are each one map on its own (`{rating: 5}`,
/// `{"id": 1}`) and nothing else: records of JSON Lines data.
fn is_one_record_per_line(text: &str, limits: tree::Limits) -> bool {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.len() >= 2
        && lines.len() <= 100_000
        && lines.iter().all(|line| {
            line.starts_with('{')
                && line.ends_with('}')
                && std::panic::catch_unwind(|| tree::parse("", line, limits))
                    .is_ok_and(|r| !r.syntax_failed && r.docs.len() == 1)
        })
}

fn template_file(source: &Arc<Source>, why: &str) -> (Vec<Document>, Vec<Diagnostic>) {
    let doc = Document {
        source: source.clone(),
        doc_index: 0,
        item_index: None,
        value: Value::Null,
        class: Class::Template,
        positions: Positions::scalar(position::Pos { line: 1, col: 1 }),
        engine: None,
    };
    let note = Diagnostic::note(
        "load/template",
        format!("skipped: a template ({why})"),
    )
    .at(doc.start())
    .with_help("render it first (e.g. `helm template ... | homelab check -`) to check the objects it makes");
    (vec![doc], vec![note])
}

#[cfg(test)]
mod tests {
    /// The markers as one line at a time sees them (what the scan must agree with).
    fn line_by_line(text: &str) -> bool {
        text.lines().any(|line| {
            let t = line.trim_start();
            (t.starts_with("#%") && t.trim_end().ends_with("%#"))
                || line
                    .find("#{")
                    .is_some_and(|start| line[start..].contains("}#"))
        })
    }

    #[test]
    fn script_placeholders_are_filled_in_place() {
        assert_eq!(
            super::script_placeholders_filled("name: @STS_NAME@\nimage: a@sha256:1\n").as_deref(),
            Some("name: xxxxxxxxxx\nimage: a@sha256:1\n")
        );
        assert_eq!(super::script_placeholders_filled("mail: a@b.c\n"), None);
        assert_eq!(
            super::script_placeholders_filled(
                "ip: {PREFIX}.16\nimage: {docker-user}/app\nv: ${VAR} {{NAME}} {{ .X }}\n"
            )
            .as_deref(),
            Some("ip: xxxxxxxx.16\nimage: xxxxxxxxxxxxx/app\nv: ${VAR} {{NAME}} {{ .X }}\n")
        );
        assert_eq!(
            super::script_placeholders_filled("a: ${VAR}\nb: {{NAME}}\n"),
            None
        );
    }

    #[test]
    fn makejinja_markers_are_found_on_any_line_and_only_within_one_line() {
        let cases = [
            ("", false),
            ("a: 1\n", false),
            ("#% if x %#\n", true),
            ("  #% if x %#  \r\nb: 2\n", true),
            ("a: 1\n# comment\nb: #{ name }#\n", true),
            ("a: 1\n# comment\nb: #{ name\n}#\n", false),
            ("a: '#'\n#% end %#", true),
            ("a: x # #%\nb: %#\n", false),
            ("url: https://x/#{a}# ", true),
            ("#\n#\n#\n", false),
            ("é: #{ ü }#", true),
            ("x: 1 #% not at start %#\n", false),
        ];
        for (text, want) in cases {
            assert_eq!(super::has_makejinja_markers(text), want, "{text:?}");
            assert_eq!(line_by_line(text), want, "{text:?}");
        }
    }
}
