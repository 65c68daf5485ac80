//! `homelab validate`: schema validation alone, taking kubeconform's flags so that the guide's
//! pre-commit and CI lines work with only the binary name changed.
//!
//! Flags are parsed by hand because kubeconform's are Go-style: `-strict`, `-output json`,
//! `-output=json` and `--output json` all work, and `-schema-location` repeats.

use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::{Document, LoadOptions};
use homelab_schema::{Checked, FilenameFilter, Status, Validator, ValidatorOptions};
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::fmt::Write as _;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Text,
    Json,
    Junit,
    Tap,
}

#[derive(Debug)]
struct Options {
    strict: bool,
    summary: bool,
    output: Output,
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
        output: Output::Text,
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
                    "text" => Output::Text,
                    "json" => Output::Json,
                    "junit" => Output::Junit,
                    "tap" => Output::Tap,
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

/// One line of output: a resource (or a file that failed to load) and its verdict.
struct Row<'a> {
    file: String,
    doc: Option<&'a Document>,
    status: Status,
    diagnostics: Vec<Diagnostic>,
}

impl Row<'_> {
    fn kind(&self) -> &str {
        self.doc.and_then(|d| d.kind()).unwrap_or("")
    }
    fn name(&self) -> &str {
        self.doc.and_then(|d| d.name()).unwrap_or("")
    }
    fn api_version(&self) -> &str {
        self.doc.and_then(|d| d.api_version()).unwrap_or("")
    }
    fn namespace(&self) -> Option<&str> {
        self.doc.and_then(|d| d.namespace())
    }
    /// kubeconform's one-line message: every problem joined with ` - `.
    fn message(&self) -> String {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| match &d.path {
                Some(p) => format!("{p}: {} [{}]", d.message, d.rule),
                None => format!("{} [{}]", d.message, d.rule),
            })
            .collect::<Vec<_>>()
            .join(" - ")
    }
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
    let validator = Validator::new(opts.validator.clone())?;

    // kubeconform walks hidden folders too (`.kyverno-test/`, `.chainsaw-test/`); `.git` is
    // always skipped by the loader.
    let load_options = LoadOptions {
        include_hidden: true,
        ..LoadOptions::default()
    };
    let loaded = homelab_manifest::load(&opts.paths, &load_options);
    let documents: Vec<Document> = loaded
        .documents
        .into_iter()
        .filter(|d| !filter.ignores(&d.source.name))
        .collect();
    validator.add_crds_from(&documents);
    let checked = validator
        .check_all_with_threads(&documents, opts.workers)
        .map_err(anyhow::Error::msg)?;

    let mut rows: Vec<Row> = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    // Files that could not be read or parsed are errors, as in kubeconform.
    for d in &loaded.diagnostics {
        let file = d
            .location
            .as_ref()
            .map(|l| l.file.clone())
            .unwrap_or_else(|| "-".into());
        if filter.ignores(&file) {
            continue;
        }
        if d.severity == Severity::Error {
            files.insert(file.clone());
            rows.push(Row {
                file,
                doc: None,
                status: Status::Error,
                diagnostics: vec![d.clone()],
            });
        } else if verbose {
            rows.push(Row {
                file,
                doc: None,
                status: Status::Skipped,
                diagnostics: vec![d.clone()],
            });
        }
    }
    for (doc, result) in documents.iter().zip(checked) {
        files.insert(doc.source.name.clone());
        let Some(result) = result else {
            continue;
        };
        let diagnostics = diagnostics_of(doc, &result);
        rows.push(Row {
            file: doc.source.name.clone(),
            doc: Some(doc),
            status: result.status,
            diagnostics,
        });
    }
    rows.sort_by(|a, b| {
        let ka = a.diagnostics.first().and_then(|d| d.location.clone());
        let kb = b.diagnostics.first().and_then(|d| d.location.clone());
        (
            a.file.as_str(),
            a.doc.map(|d| (d.doc_index, d.item_index)),
            ka,
        )
            .cmp(&(
                b.file.as_str(),
                b.doc.map(|d| (d.doc_index, d.item_index)),
                kb,
            ))
    });

    let counts = Counts::of(&rows);
    let stdin_only = opts.paths.iter().all(|p| p.as_os_str() == "-");
    let sources: HashMap<&str, &str> = loaded
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.text.as_str()))
        .collect();
    let out = match opts.output {
        Output::Text => text(
            &rows,
            &sources,
            verbose,
            opts.summary,
            &counts,
            files.len(),
            stdin_only,
        ),
        Output::Json => json(&rows, verbose, opts.summary, &counts),
        Output::Junit => junit(&rows, &counts),
        Output::Tap => tap(&rows),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(if counts.invalid + counts.errors > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// The embedded schemas: the Kubernetes bundle's versions, then one line per custom kind.
fn list_schemas() -> anyhow::Result<String> {
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
    let header = [
        "GROUP".to_string(),
        "KIND".to_string(),
        "VERSIONS".to_string(),
        "SOURCE".to_string(),
    ];
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
    let _ = writeln!(
        out,
        "\n{} custom kinds from {} upstream sources (see NOTICE)",
        rows.len(),
        catalog
            .entries
            .iter()
            .map(|e| e.source(catalog).name.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    );
    Ok(out)
}

fn diagnostics_of(doc: &Document, checked: &Checked) -> Vec<Diagnostic> {
    homelab_schema::to_diagnostics(doc, checked)
}

#[derive(Default)]
struct Counts {
    valid: usize,
    invalid: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(rows: &[Row]) -> Counts {
        let mut c = Counts::default();
        for r in rows {
            if r.doc.is_none() && r.status == Status::Skipped {
                continue; // a note about a file that is not Kubernetes (-verbose only)
            }
            match r.status {
                Status::Valid => c.valid += 1,
                Status::Invalid => c.invalid += 1,
                Status::Error => c.errors += 1,
                Status::Skipped => c.skipped += 1,
            }
        }
        c
    }
    fn total(&self) -> usize {
        self.valid + self.invalid + self.errors + self.skipped
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn text(
    rows: &[Row],
    sources: &HashMap<&str, &str>,
    verbose: bool,
    summary: bool,
    c: &Counts,
    nfiles: usize,
    stdin: bool,
) -> String {
    let mut out = String::new();
    for r in rows {
        let what = format!("{} {}", r.kind(), r.name()).trim().to_string();
        match r.status {
            Status::Valid if verbose => {
                let _ = writeln!(out, "{} - {what} is valid", r.file);
            }
            Status::Skipped if verbose && r.doc.is_some() => {
                let _ = writeln!(out, "{} - {what} skipped", r.file);
            }
            _ => {}
        }
        for d in &r.diagnostics {
            if d.severity == Severity::Note && !verbose {
                continue;
            }
            let at = d
                .location
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| r.file.clone());
            let verdict = match (d.severity, r.status) {
                (Severity::Warning, _) => "has a warning",
                (Severity::Note, _) => "note",
                (_, Status::Invalid) => "is invalid",
                _ => "failed validation",
            };
            let subject = if r.doc.is_some() {
                format!("{what} {verdict}")
            } else {
                verdict.to_string()
            };
            let _ = writeln!(out, "{at} - {subject}: {} [{}]", d.message, d.rule);
            if d.severity != Severity::Note {
                if let Some(loc) = &d.location {
                    snippet(
                        &mut out,
                        sources.get(loc.file.as_str()).copied(),
                        loc.line,
                        loc.column,
                    );
                }
            }
            if let Some(h) = &d.help {
                let _ = writeln!(out, "    = help: {h}");
            }
        }
    }
    if summary {
        let n = c.total();
        if stdin {
            let _ = writeln!(
                out,
                "Summary: {n} resource{} found parsing stdin - Valid: {}, Invalid: {}, Errors: {}, Skipped: {}",
                s(n), c.valid, c.invalid, c.errors, c.skipped
            );
        } else {
            let _ = writeln!(
                out,
                "Summary: {n} resource{} found in {nfiles} file{} - Valid: {}, Invalid: {}, Errors: {}, Skipped: {}",
                s(n), s(nfiles), c.valid, c.invalid, c.errors, c.skipped
            );
        }
    }
    out
}

/// The offending line with a caret under the column.
fn snippet(out: &mut String, text: Option<&str>, line: u32, column: u32) {
    let Some(text) = text else { return };
    if line == 0 {
        return;
    }
    let Some(src) = text.lines().nth(line as usize - 1) else {
        return;
    };
    let src: String = src.chars().take(200).collect();
    let width = line.to_string().len();
    let _ = writeln!(out, "{:width$} |", "");
    let _ = writeln!(out, "{line} | {src}");
    let pad: String = src
        .chars()
        .take(column.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{:width$} | {pad}^", "");
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Valid => "statusValid",
        Status::Invalid => "statusInvalid",
        Status::Error => "statusError",
        Status::Skipped => "statusSkipped",
    }
}

fn json(rows: &[Row], verbose: bool, summary: bool, c: &Counts) -> String {
    let resources: Vec<serde_json::Value> = rows
        .iter()
        .filter(|r| verbose || matches!(r.status, Status::Invalid | Status::Error))
        .filter(|r| r.doc.is_some() || r.status != Status::Skipped)
        .map(|r| {
            let errors: Vec<serde_json::Value> = r
                .diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "rule": d.rule,
                        "severity": d.severity.as_str(),
                        "path": d.path,
                        "line": d.location.as_ref().map(|l| l.line),
                        "column": d.location.as_ref().map(|l| l.column),
                        "message": d.message,
                        "help": d.help,
                    })
                })
                .collect();
            serde_json::json!({
                "filename": r.file,
                "kind": r.kind(),
                "name": r.name(),
                "version": r.api_version(),
                "status": status_name(r.status),
                "msg": r.message(),
                "errors": errors,
            })
        })
        .collect();
    let mut root = serde_json::json!({ "resources": resources });
    if summary {
        root["summary"] = serde_json::json!({
            "valid": c.valid, "invalid": c.invalid, "errors": c.errors, "skipped": c.skipped
        });
    }
    let mut s = serde_json::to_string_pretty(&root).unwrap_or_default();
    s.push('\n');
    s
}

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

fn junit(rows: &[Row], c: &Counts) -> String {
    let mut suites: Vec<(&str, Vec<&Row>)> = Vec::new();
    for r in rows {
        if r.doc.is_none() && r.status == Status::Skipped {
            continue;
        }
        match suites.iter_mut().find(|(f, _)| *f == r.file) {
            Some((_, v)) => v.push(r),
            None => suites.push((&r.file, vec![r])),
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<testsuites name=\"homelab validate\" time=\"0\" tests=\"{}\" failures=\"{}\" disabled=\"{}\" errors=\"{}\">",
        c.total(), c.invalid, c.skipped, c.errors
    );
    for (id, (file, rs)) in suites.iter().enumerate() {
        let failures = rs.iter().filter(|r| r.status == Status::Invalid).count();
        let errors = rs.iter().filter(|r| r.status == Status::Error).count();
        let skipped = rs.iter().filter(|r| r.status == Status::Skipped).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" id=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" disabled=\"0\" skipped=\"{skipped}\">",
            xml(file), id + 1, rs.len()
        );
        for r in rs {
            let name = match r.namespace() {
                Some(ns) => format!("{ns}/{}", r.name()),
                None => r.name().to_string(),
            };
            let class = format!("{}@{}", r.kind(), r.api_version());
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml(&name),
                xml(&class)
            );
            let body: String = r
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| {
                    let at = d
                        .location
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    format!("{at}: {} [{}]\n", d.message, d.rule)
                })
                .collect();
            match r.status {
                Status::Valid => out.push_str("></testcase>\n"),
                Status::Skipped => {
                    out.push_str(">\n      <skipped message=\"\"></skipped>\n    </testcase>\n")
                }
                Status::Invalid => {
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"\">{}</failure>\n    </testcase>\n",
                        xml(&r.message()),
                        xml(&body)
                    );
                }
                Status::Error => {
                    let _ = write!(
                        out,
                        ">\n      <error message=\"{}\" type=\"\">{}</error>\n    </testcase>\n",
                        xml(&r.message()),
                        xml(&body)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn tap(rows: &[Row]) -> String {
    let mut out = String::from("TAP version 13\n");
    let mut n = 0;
    for r in rows {
        if r.doc.is_none() && r.status == Status::Skipped {
            continue;
        }
        n += 1;
        let qualified = match r.namespace() {
            Some(ns) => format!("{} {ns}/{}", r.kind(), r.name()),
            None => format!("{} {}", r.kind(), r.name()),
        };
        let _ = match r.status {
            Status::Valid => writeln!(out, "ok {n} - {} ({qualified})", r.file),
            Status::Skipped => writeln!(out, "ok {n} - {} ({qualified}) # skip", r.file),
            Status::Invalid => writeln!(
                out,
                "not ok {n} - {} ({qualified}): {}",
                r.file,
                r.message()
            ),
            Status::Error => writeln!(out, "not ok {n} - {}: {}", r.file, r.message()),
        };
    }
    let _ = writeln!(out, "1..{n}");
    out
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
        assert_eq!(o.output, Output::Json);
        assert_eq!(o.validator.kubernetes_version.as_deref(), Some("1.30.0"));
        assert_eq!(o.validator.schema_locations.len(), 2);
        assert_eq!(o.validator.skip_kinds, ["A", "B"]);
        assert_eq!(o.validator.reject_kinds, ["C"]);
        assert_eq!(o.workers, 2);
        assert_eq!(o.paths, [PathBuf::from("dir"), PathBuf::from("-")]);
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
