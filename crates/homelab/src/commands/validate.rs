//! `homelab validate`: schema validation alone, taking kubeconform's flags so that the guide's
//! pre-commit and CI lines work with only the binary name changed.
//!
//! Flags are parsed by hand because kubeconform's are Go-style: `-strict`, `-output json`,
//! `-output=json` and `--output json` all work, and `-schema-location` repeats.

use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use homelab_diagnostics::Severity;
use homelab_manifest::{Document, LoadOptions};
use homelab_report::validation::{
    self, Counts, ObjectRef, Row, Validation, ValidationFormat, Verdict,
};
use homelab_schema::{CrdSchema, FilenameFilter, Validator, ValidatorOptions, Validity};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// kubeconform-style flags and paths (`homelab validate -help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

const HELP: &str = "Schema validation alone, with kubeconform's flags.

Usage: homelab validate [FLAGS] [FILE|DIR|-]...

Flags (one or two dashes, `-flag value` or `-flag=value`):
  -strict                      unknown fields are errors (and duplicate keys)
  -summary                     print a summary line
  -output text|json|junit|tap  output format (default text)
  -kubernetes-version V        1.29 .. newest embedded (default newest); 1.29.0 and v1.29.0 work
  -schema-location L           repeatable: `default` (embedded Kubernetes schemas and CRD catalog),
                               `default-kubernetes` (Kubernetes schemas only), a folder, or a template
                               with {{.Group}} {{.ResourceKind}} {{.ResourceAPIVersion}}
                               {{.KindSuffix}} {{.NormalizedKubernetesVersion}} {{.StrictSuffix}};
                               http(s) URLs are fetched and cached only when given
  -crd FILE|DIR                repeatable: CustomResourceDefinitions to take schemas from
  -ignore-missing-schemas      skip kinds without a schema instead of failing
  -skip K1,K2                  kinds (Kind or group/version/Kind) not validated
  -reject K1,K2                kinds that are errors
  -ignore-filename-pattern P   repeatable regular expression of file names to ignore
  -n N                         number of workers (default: one per CPU)
  -cache DIR                   cache folder for http(s) schema locations
  -insecure-skip-tls-verify    accepted for compatibility; refused for https locations
  -verbose                     also print valid and skipped resources
  -list-schemas                list the embedded schemas (custom kinds: group, kind, served
                               versions, upstream source and version) and exit
  -h, -help                    this help

CRDs in the input are used for the custom resources they define.
Exit codes: 0 all valid, 1 invalid or failed resources, 2 usage or internal error.

Examples:
  homelab validate -strict -summary manifests/
  kustomize build . | homelab validate -strict -summary -
  homelab validate -strict -schema-location default -schema-location 'schemas/{{.ResourceKind}}{{.KindSuffix}}.json' apps/";

#[derive(Debug)]
struct Options {
    strict: bool,
    summary: bool,
    output: ValidationFormat,
    verbose: bool,
    help: bool,
    version: bool,
    list_schemas: bool,
    workers: usize,
    ignore_patterns: Vec<String>,
    validator: ValidatorOptions,
    paths: Vec<PathBuf>,
}

fn parse(args: Vec<OsString>) -> Result<Options, String> {
    let mut o = Options {
        strict: false,
        summary: false,
        output: ValidationFormat::Text,
        verbose: false,
        help: false,
        version: false,
        list_schemas: false,
        workers: 0,
        ignore_patterns: Vec::new(),
        validator: ValidatorOptions {
            strict: false,
            ..ValidatorOptions::default()
        },
        paths: Vec::new(),
    };
    let mut it = args.into_iter();
    let mut only_paths = false;
    while let Some(raw) = it.next() {
        let arg = raw.to_string_lossy().into_owned();
        if only_paths || arg == "-" || !arg.starts_with('-') {
            o.paths.push(PathBuf::from(raw));
            continue;
        }
        if arg == "--" {
            only_paths = true;
            continue;
        }
        let body = arg.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (body.to_string(), None),
        };
        let boolean = |inline: &Option<String>| -> Result<bool, String> {
            match inline.as_deref() {
                None | Some("true") | Some("1") => Ok(true),
                Some("false") | Some("0") => Ok(false),
                Some(other) => Err(format!("-{name}: expected true or false, got `{other}`")),
            }
        };
        let mut value = |inline: Option<String>| -> Result<String, String> {
            match inline {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .map(|v| v.to_string_lossy().into_owned())
                    .ok_or_else(|| format!("-{name} needs a value")),
            }
        };
        match name.as_str() {
            "strict" => o.strict = boolean(&inline)?,
            "summary" => o.summary = boolean(&inline)?,
            "verbose" => o.verbose = boolean(&inline)?,
            "ignore-missing-schemas" => o.validator.ignore_missing = boolean(&inline)?,
            "insecure-skip-tls-verify" => o.validator.insecure_skip_tls_verify = boolean(&inline)?,
            "h" | "help" => o.help = true,
            "list-schemas" => o.list_schemas = boolean(&inline)?,
            "v" | "version" => o.version = true,
            "exit-on-error" | "debug" => {
                boolean(&inline)?;
            }
            "output" | "o" => {
                o.output = match value(inline)?.as_str() {
                    "text" => ValidationFormat::Text,
                    "json" => ValidationFormat::Json,
                    "junit" => ValidationFormat::Junit,
                    "tap" => ValidationFormat::Tap,
                    other => {
                        return Err(format!(
                            "-output: unknown format `{other}`: expected text, json, junit or tap"
                        ))
                    }
                }
            }
            "kubernetes-version" => o.validator.kubernetes_version = Some(value(inline)?),
            "schema-location" => o.validator.schema_locations.push(value(inline)?),
            "crd" => o.validator.crd_paths.push(PathBuf::from(value(inline)?)),
            "skip" => o.validator.skip_kinds.extend(list(&value(inline)?)),
            "reject" => o.validator.reject_kinds.extend(list(&value(inline)?)),
            "ignore-filename-pattern" => o.ignore_patterns.push(value(inline)?),
            "cache" => o.validator.cache_dir = Some(PathBuf::from(value(inline)?)),
            "n" => {
                let v = value(inline)?;
                o.workers = v
                    .parse()
                    .map_err(|_| format!("-n: expected a number of workers, got `{v}`"))?;
            }
            _ => {
                return Err(format!(
                    "unknown flag `{arg}` (homelab validate -help lists the flags)"
                ))
            }
        }
    }
    o.validator.strict = o.strict;
    if o.validator.kubernetes_version.as_deref() == Some("master") {
        o.validator.kubernetes_version = None;
    }
    if o.paths.is_empty() {
        o.paths.push(PathBuf::from("-"));
    }
    Ok(o)
}

fn list(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let opts = match parse(args.args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("homelab validate: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    if opts.help {
        println!("{HELP}");
        return Ok(EXIT_OK);
    }
    if opts.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return Ok(EXIT_OK);
    }
    if opts.list_schemas {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(list_schemas()?.as_bytes())?;
        return Ok(EXIT_OK);
    }
    let verbose = opts.verbose || global.verbose > 0;
    let filter = FilenameFilter::new(&opts.ignore_patterns).map_err(anyhow::Error::msg)?;

    // kubeconform walks hidden folders too (`.kyverno-test/`, `.chainsaw-test/`); `.git` is
    // always skipped by the loader.
    let load_options = LoadOptions {
        include_hidden: true,
        // kubeconform reads `*.yaml`, `*.yml` and `*.json` only.
        kustomization_files: false,
        ..LoadOptions::default()
    };
    // Listing the files and inflating the embedded schemas are independent: one core each.
    let (validator, inputs) = rayon::join(
        || Validator::new(opts.validator.clone()),
        || homelab_manifest::inputs(&opts.paths, &load_options),
    );
    // The process ends right after the report is written: freeing every compiled schema
    // one by one would only cost time.
    let validator = std::mem::ManuallyDrop::new(validator?);
    let stream = || {
        // Files are independent: each is read, parsed, validated and reduced to its rows while
        // the others are in flight, so memory holds the files being worked on plus the rows
        // (and the text of the files that have findings to quote).
        //
        // The input's CRDs replace every other schema of their kinds, so they must be known
        // before the objects that use them are validated. A first pass reads every file but
        // parses only those that mention CRDs; their rows are kept (against the schemas known
        // so far) and so are their CRDs.
        let mentions_crds = |text: &str| text.contains("CustomResourceDefinition");
        let first: Vec<Option<(FileRows, Vec<CrdSchema>)>> = inputs
            .par_iter()
            .map(|input| {
                let loaded = input.load_if(&load_options, &mentions_crds);
                loaded
                    .source
                    .is_some()
                    .then(|| validate_file(loaded, &validator, &filter, (opts.output, verbose)))
            })
            .collect();
        let mut crds: Vec<CrdSchema> = Vec::new();
        let mut per_file: Vec<Option<FileRows>> = Vec::with_capacity(first.len());
        for file in first {
            per_file.push(file.map(|(rows, found)| {
                crds.extend(found);
                rows
            }));
        }
        let defined: HashSet<(String, String)> = crds
            .iter()
            .map(|c| (c.api_version.clone(), c.kind.clone()))
            .collect();
        validator.add_crd_schemas(crds);
        // Then every other file, and again the few files of the first pass with objects of a
        // kind an input CRD defines.
        let rest: Vec<usize> = per_file
            .iter()
            .enumerate()
            .filter(|(_, file)| {
                file.as_ref()
                    .is_none_or(|f| f.kinds.iter().any(|k| defined.contains(k)))
            })
            .map(|(i, _)| i)
            .collect();
        let done: Vec<FileRows> = rest
            .par_iter()
            .map(|&i| {
                let loaded = inputs[i].load(&load_options);
                validate_file(loaded, &validator, &filter, (opts.output, verbose)).0
            })
            .collect();
        for (i, file) in rest.into_iter().zip(done) {
            per_file[i] = Some(file);
        }
        per_file.into_iter().flatten().collect::<Vec<FileRows>>()
    };
    let per_file = if opts.workers == 0 {
        stream()
    } else {
        rayon::ThreadPoolBuilder::new()
            .num_threads(opts.workers)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start {} workers: {e}", opts.workers))?
            .install(stream)
    };

    let mut keyed: Vec<(Row, RowOrder)> = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut unlisted = Counts::default();
    for file in per_file {
        keyed.extend(file.rows);
        unlisted.valid += file.unlisted.valid;
        unlisted.skipped += file.unlisted.skipped;
        files.extend(file.files);
        sources.extend(file.snippets);
    }
    keyed.sort_by(|(a, ao), (b, bo)| {
        let ka = a.diagnostics.first().and_then(|d| d.location.clone());
        let kb = b.diagnostics.first().and_then(|d| d.location.clone());
        (a.file.as_str(), ao, ka).cmp(&(b.file.as_str(), bo, kb))
    });

    let validation = Validation {
        rows: keyed.into_iter().map(|(row, _)| row).collect(),
        unlisted,
        files: files.len(),
        stdin_only: opts.paths.iter().all(|p| p.as_os_str() == "-"),
        verbose,
        summary: opts.summary,
    };
    let out = validation::render(opts.output, &validation, &sources);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(if validation.failed() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Where a row goes among the rows of its file: file-level findings (`None`) first, then
/// documents in file order (document, then `kind: List` item).
type RowOrder = Option<(usize, Option<usize>)>;

/// What one file contributes to the output.
struct FileRows {
    rows: Vec<(Row, RowOrder)>,
    /// Resources the output format prints nothing for (valid ones, when not verbose):
    /// counted only.
    unlisted: Counts,
    /// Files counted in the summary.
    files: BTreeSet<String>,
    /// Redacted text of the file when a row quotes it: only the quoted lines, the others
    /// left empty so that line numbers still hold.
    snippets: BTreeMap<String, String>,
    /// The (apiVersion, kind) of every object validated, each once.
    kinds: Vec<(String, String)>,
}

/// The rows of one loaded file, and the CRDs it holds.
fn validate_file(
    loaded: homelab_manifest::FileLoaded,
    validator: &Validator,
    filter: &FilenameFilter,
    (format, verbose): (ValidationFormat, bool),
) -> (FileRows, Vec<CrdSchema>) {
    let mut rows = Vec::new();
    let mut unlisted = Counts::default();
    let mut files = BTreeSet::new();
    // A reading fault inside an object (a duplicate key) is that object's: it is reported
    // on its row, which is then not valid.
    let mut of_object: HashMap<(String, String), Vec<homelab_diagnostics::Diagnostic>> =
        HashMap::new();
    // Files that could not be read or parsed are errors, as in kubeconform.
    for d in loaded.diagnostics {
        if let (Some(object), Some(at), Severity::Error) = (&d.object, &d.location, d.severity) {
            if !filter.ignores(&at.file) {
                of_object
                    .entry((at.file.clone(), object.clone()))
                    .or_default()
                    .push(d);
                continue;
            }
        }
        let file = d
            .location
            .as_ref()
            .map(|l| l.file.clone())
            .unwrap_or_else(|| "-".into());
        if filter.ignores(&file) {
            continue;
        }
        let verdict = if d.severity == Severity::Error {
            files.insert(file.clone());
            Verdict::Error
        } else if verbose {
            Verdict::Skipped
        } else {
            continue;
        };
        let row = Row {
            file,
            object: None,
            verdict,
            diagnostics: vec![d],
        };
        rows.push((row, None));
    }
    let documents: Vec<&Document> = loaded
        .documents
        .iter()
        .filter(|d| !filter.ignores(&d.source.name))
        .collect();
    // Documents of one file are validated in parallel too: a single large stream (stdin)
    // still uses every core.
    let checked: Vec<_> = documents.par_iter().map(|d| validator.check(d)).collect();
    let mut crds = Vec::new();
    let mut kinds: Vec<(String, String)> = Vec::new();
    for (doc, result) in documents.into_iter().zip(checked) {
        if !files.contains(&doc.source.name) {
            files.insert(doc.source.name.clone());
        }
        let Some(result) = result else {
            continue;
        };
        if let (Some(api_version), Some(kind)) = (doc.api_version(), doc.kind()) {
            if !kinds.iter().any(|(a, k)| a == api_version && k == kind) {
                kinds.push((api_version.to_owned(), kind.to_owned()));
            }
            if homelab_schema::crd::is_crd(&doc.value) {
                crds.extend(homelab_schema::crd::from_crd(&doc.value, &doc.source.name));
            }
        }
        let reading = if of_object.is_empty() {
            Vec::new()
        } else {
            of_object
                .remove(&(doc.source.name.clone(), doc.id()))
                .unwrap_or_default()
        };
        let verdict = match (result.status, reading.is_empty()) {
            (Validity::Error, _) => Verdict::Error,
            (_, false) | (Validity::Invalid, _) => Verdict::Invalid,
            (Validity::Valid, true) => Verdict::Valid,
            (Validity::Skipped, true) => Verdict::Skipped,
        };
        // Most resources are valid and print nothing: they are counted without building
        // their row (the same test as for a built row, on a row with nothing to place).
        if reading.is_empty() && result.findings.iter().all(|f| f.severity == Severity::Note) {
            let bare = Row {
                file: String::new(),
                object: Some(ObjectRef::default()),
                verdict,
                diagnostics: Vec::new(),
            };
            if !validation::prints_quiet_row(format, verbose, &bare) {
                unlisted.add(verdict);
                continue;
            }
        }
        let row = Row {
            file: doc.source.name.clone(),
            object: Some(ObjectRef {
                kind: doc.kind().unwrap_or("").to_string(),
                name: doc.name().unwrap_or("").to_string(),
                api_version: doc.api_version().unwrap_or("").to_string(),
                namespace: doc.namespace().map(str::to_string),
            }),
            verdict,
            diagnostics: reading
                .into_iter()
                .chain(homelab_schema::to_diagnostics(doc, &result))
                .collect(),
        };
        if validation::prints_quiet_row(format, verbose, &row) {
            rows.push((row, Some((doc.doc_index, doc.item_index))));
        } else {
            unlisted.add(row.verdict);
        }
    }
    // Faults of objects that were not validated stay rows of their own.
    for ((file, _), diagnostics) in of_object {
        files.insert(file.clone());
        let row = Row {
            file,
            object: None,
            verdict: Verdict::Error,
            diagnostics,
        };
        rows.push((row, None));
    }
    let quoted: HashMap<&str, BTreeSet<u32>> = rows
        .iter()
        .flat_map(|(r, _)| &r.diagnostics)
        .filter_map(|d| d.location.as_ref())
        .fold(HashMap::new(), |mut lines, at| {
            lines.entry(at.file.as_str()).or_default().insert(at.line);
            lines
        });
    let snippets = crate::pipeline::snippet_sources(
        loaded.source.as_slice(),
        rows.iter().flat_map(|(r, _)| &r.diagnostics),
    )
    .into_iter()
    .map(|(file, text)| {
        let lines = quoted.get(file.as_str());
        let kept = only_lines(&text, |n| lines.is_some_and(|l| l.contains(&n)));
        (file, kept)
    })
    .collect();
    (
        FileRows {
            rows,
            unlisted,
            files,
            snippets,
            kinds,
        },
        crds,
    )
}

/// `text` with only the lines (1-based) that `keep` accepts; the others are emptied, so the
/// kept lines keep their numbers.
fn only_lines(text: &str, keep: impl Fn(u32) -> bool) -> String {
    let mut out = String::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if keep(u32::try_from(i + 1).unwrap_or(u32::MAX)) {
            out.push_str(line);
        } else if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The embedded schemas: the Kubernetes bundle's versions, then one line per custom kind.
fn list_schemas() -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let bundle = homelab_schema::bundle::get().map_err(anyhow::Error::msg)?;
    let catalog = homelab_schema::catalog::get().map_err(anyhow::Error::msg)?;
    let versions: Vec<&str> = bundle.versions().collect();
    let mut out = format!(
        "Kubernetes built-in kinds: versions {} ({})\n\n",
        versions.join(", "),
        bundle.source
    );
    let mut rows: Vec<[String; 4]> = catalog
        .entries
        .iter()
        .map(|e| {
            let source = e.source(catalog);
            let served: Vec<String> = e
                .versions
                .iter()
                .map(|v| {
                    if v.deprecated {
                        format!("{} (deprecated)", v.name)
                    } else {
                        v.name.clone()
                    }
                })
                .collect();
            [
                e.group.clone(),
                e.kind.clone(),
                served.join(","),
                format!("{} {}", source.project, source.version),
            ]
        })
        .collect();
    rows.sort();
    let header = ["GROUP", "KIND", "VERSIONS", "SOURCE"].map(String::from);
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for r in std::iter::once(&header).chain(rows.iter()) {
        let _ = writeln!(out, "{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3]);
    }
    let sources: BTreeSet<&str> = catalog
        .entries
        .iter()
        .map(|e| e.source(catalog).name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "\n{} custom kinds from {} upstream sources (see NOTICE)",
        rows.len(),
        sources.len()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, String> {
        parse(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn go_style_flags_in_every_form() {
        let o = p(&[
            "-strict",
            "--summary",
            "-output=json",
            "-kubernetes-version",
            "1.30.0",
            "-schema-location",
            "default",
            "--schema-location=/x/{{.ResourceKind}}.json",
            "-skip",
            "A,B",
            "-reject=C",
            "-n",
            "2",
            "dir",
            "-",
        ])
        .unwrap();
        assert!(o.strict && o.summary && o.validator.strict);
        assert_eq!(o.output, ValidationFormat::Json);
        assert_eq!(o.validator.kubernetes_version.as_deref(), Some("1.30.0"));
        assert_eq!(o.validator.schema_locations.len(), 2);
        assert_eq!(o.validator.skip_kinds, ["A", "B"]);
        assert_eq!(o.validator.reject_kinds, ["C"]);
        assert_eq!(o.workers, 2);
        assert_eq!(o.paths, [PathBuf::from("dir"), PathBuf::from("-")]);
    }

    #[test]
    fn only_quoted_lines_are_kept_at_their_line_numbers() {
        let text = "a: 1\nb: secret\r\nc: 3\nd: 4";
        let kept = only_lines(text, |n| n == 2 || n == 4);
        assert_eq!(kept, "\nb: secret\r\n\nd: 4");
        assert_eq!(kept.lines().nth(1), Some("b: secret"));
        assert_eq!(kept.lines().nth(3), Some("d: 4"));
        assert_eq!(only_lines(text, |_| false), "\n\n\n");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        assert!(p(&["-nope"]).unwrap_err().contains("unknown flag"));
        assert!(p(&["-output", "xml"])
            .unwrap_err()
            .contains("unknown format"));
        assert!(p(&["-n"]).unwrap_err().contains("needs a value"));
        assert!(p(&["-strict=maybe"]).is_err());
        assert_eq!(p(&[]).unwrap().paths, [PathBuf::from("-")]);
    }
}
