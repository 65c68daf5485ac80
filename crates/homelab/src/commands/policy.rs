//! `homelab policy apply|test`: the Kyverno-compatible policy engine on the command line
//! (`kyverno apply` and `kyverno test` equivalents).

use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use homelab_manifest::{Class, LoadOptions};
use homelab_policy::apply::{self, ApplyInput, ApplyOptions};
use homelab_policy::engine;
use homelab_policy::testrunner;
use homelab_policy::values_file::ValuesFile;
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Apply Kyverno policies to resources, like `kyverno apply`.
    #[command(after_help = APPLY_HELP)]
    Apply(ApplyArgs),
    /// Run Kyverno CLI tests (kyverno-test.yaml), like `kyverno test`.
    #[command(after_help = TEST_HELP)]
    Test(TestArgs),
}

const APPLY_HELP: &str = "Counts are printed as `pass: N, fail: N, warn: N, error: N, skip: N`.
Policies and resources may be files or folders (searched recursively; files that are not
Kubernetes objects are skipped). Validate rules (pattern, anyPattern, deny, foreach,
podSecurity, CEL), mutate rules (patchStrategicMerge, patchesJson6902, foreach) and generate
rules with `data` are evaluated; generate `clone`, verifyImages and validate.manifests need a
cluster or registry and are reported as errors.

Exit codes (as `kyverno apply`): 1 when any rule result is fail or error (with --audit-warn,
failures of rules whose failure action is Audit count as warnings and do not fail the run),
0 otherwise; 2 on usage errors or unreadable input.

Examples:
  homelab policy apply policies/ --resource manifests/
  homelab policy apply require-labels.yaml --resource pod.yaml --table
  homelab policy apply policies/ --resource manifests/ --format json > report.json
  homelab policy apply policies/ --resource manifests/ --format yaml
  homelab policy apply pol.yaml -r pod.yaml --values values.yaml --namespace-labels prod:env=prod";

const TEST_HELP: &str =
    "Finds every kyverno-test.yaml under the given folders (a `test.yaml` holding a Test is
also accepted), loads the policies, resources, values, user info and exceptions it names
(relative to the test file) and compares each expected result like `kyverno test`:
a `name` matches resources of any namespace, `ns/name` one namespace; `autogen-` rule names
match; a policy that produced no result for the rule counts as passed (Excluded);
`patchedResources`/`generatedResource(s)` must equal the mutated/generated objects (a
resource missing from the patched file is skipped), and `checks` assertion trees are
verified. The CLI assumes request.operation CREATE unless the values file or the result's
`operation` says otherwise.

Every policy kind is evaluated: ClusterPolicy/Policy (validate, mutate incl. foreach and
mutate-existing `targets`, generate incl. clone/cloneList sources), ValidatingPolicy,
MutatingPolicy (incl. mutateExisting on `targetResources`), GeneratingPolicy,
DeletingPolicy, ImageValidatingPolicy (without registry access), ValidatingAdmission-
Policy and MutatingAdmissionPolicy with bindings and `paramResources`, CEL
PolicyExceptions. Nothing reaches a cluster, registry or the network: lookups are answered
from the test's mocks as `kyverno test` answers them: `clusterResources` (a fake cluster
of every loaded object, serving CEL resource.Get/List, apiCall urlPath and configMap
context entries), the `context` file (resources and image data for CEL lookups without a
cluster), `apiCallResponses` (HTTP and apiCall answers), `globalContextEntries`, and the
Values file (variables, namespaces).

Exit codes: 0 every result as expected, 1 any result differs (or a test could not be loaded),
2 usage error.

Examples:
  homelab policy test policies/
  homelab policy test . --format json";

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Policy files or folders.
    #[arg(required = true)]
    pub policies: Vec<PathBuf>,
    /// Resource files or folders (repeatable).
    #[arg(short = 'r', long = "resource", num_args = 1.., required = true)]
    pub resources: Vec<PathBuf>,
    /// A Kyverno Values file (globalValues, per-policy/rule/resource values, namespaceSelector).
    #[arg(short = 'f', long = "values")]
    pub values: Option<PathBuf>,
    /// A Kyverno UserInfo file (roles, clusterRoles, userInfo).
    #[arg(short = 'u', long = "userinfo")]
    pub userinfo: Option<PathBuf>,
    /// PolicyException files or folders.
    #[arg(short = 'e', long = "exception")]
    pub exceptions: Vec<PathBuf>,
    /// Namespace labels for namespaceSelector: `NAMESPACE:key=value[,key=value]` (repeatable).
    #[arg(long = "namespace-labels")]
    pub namespace_labels: Vec<String>,
    /// Print a table of every result.
    #[arg(long)]
    pub table: bool,
    /// Output format: text (default), json or yaml (a PolicyReport).
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Report failures of Audit rules as warnings.
    #[arg(long = "audit-warn")]
    pub audit_warn: bool,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Folders (or test files) to search for kyverno-test.yaml.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output format: table (default) or json (one array of result rows).
    #[arg(
        long,
        short = 'o',
        visible_alias = "output-format",
        default_value = "table"
    )]
    pub format: String,
    /// Only show results that differ.
    #[arg(long = "fail-only")]
    pub fail_only: bool,
    /// Also show each rule's message (and why a resource comparison failed).
    #[arg(long = "detailed-results")]
    pub detailed_results: bool,
    /// Fail when no test file is found.
    #[arg(long = "require-tests")]
    pub require_tests: bool,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    match args.command {
        Sub::Apply(a) => apply(a, global),
        Sub::Test(t) => test(t),
    }
}

fn load_docs(paths: &[PathBuf]) -> anyhow::Result<Vec<Value>> {
    let loaded = homelab_manifest::load(paths, &LoadOptions::default());
    for d in &loaded.diagnostics {
        if d.severity == homelab_diagnostics::Severity::Error {
            let loc = d
                .location
                .as_ref()
                .map(|l| format!("{l}: "))
                .unwrap_or_default();
            anyhow::bail!("{loc}{}", d.message);
        }
    }
    Ok(loaded
        .documents
        .into_iter()
        .filter(|d| d.class == Class::Object)
        .map(|d| d.value)
        .collect())
}

/// The Kubernetes objects among resource files or folders. Unlike policies, a resource
/// folder may hold files of other tools (Talos or kind configs, templates, broken YAML):
/// each such file or document is named on stderr with why it was left out, and the run
/// goes on with the rest, as `check` does. A path that does not exist is an error.
fn load_resources(paths: &[PathBuf]) -> anyhow::Result<Vec<Value>> {
    for p in paths {
        if !p.exists() {
            anyhow::bail!("{}: no such file or folder", p.display());
        }
    }
    let loaded = homelab_manifest::load(paths, &LoadOptions::default());
    for d in &loaded.diagnostics {
        if d.severity == homelab_diagnostics::Severity::Error {
            let loc = d
                .location
                .as_ref()
                .map(|l| format!("{l}: "))
                .unwrap_or_default();
            eprintln!(
                "note: {}left out, not readable as Kubernetes manifests: {}",
                crate::term::safe(&loc),
                crate::term::safe(&d.message)
            );
        }
    }
    let mut out = Vec::new();
    for d in loaded.documents {
        match &d.class {
            Class::Object => out.push(d.value),
            Class::NotKubernetes { reason } => eprintln!(
                "note: {} (document {}): left out, not a Kubernetes object: {}",
                crate::term::safe(&d.source.name),
                d.doc_index + 1,
                crate::term::safe(reason)
            ),
            Class::Template => eprintln!(
                "note: {} (document {}): left out, a template (render it first)",
                crate::term::safe(&d.source.name),
                d.doc_index + 1
            ),
            Class::Empty => {}
        }
    }
    Ok(out)
}

fn read_one(path: &PathBuf) -> anyhow::Result<Value> {
    Ok(load_docs(std::slice::from_ref(path))?
        .into_iter()
        .next()
        .unwrap_or(Value::Null))
}

/// The text report, escaped for the terminal: its parts are escaped in parallel and written
/// in order. A part is whole lines and escaping works line by line, so this writes what
/// escaping the whole text would, without holding the text (tens of megabytes) twice.
fn write_text_report(
    report: &apply::ApplyReport,
    table: bool,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    let parts = report.text_parts(table);
    let safe: Vec<_> = parts
        .par_iter()
        .map(|part| crate::term::safe_lines(part))
        .collect();
    for part in &safe {
        out.write_all(part.as_bytes())?;
    }
    Ok(())
}

fn apply(a: ApplyArgs, _global: &Global) -> anyhow::Result<u8> {
    let format = a.format.to_ascii_lowercase();
    if format != "text" && format != "json" && format != "yaml" {
        anyhow::bail!("--format must be text, json or yaml (got {:?})", a.format);
    }
    let mut input = ApplyInput::default();
    for d in load_docs(&a.policies)? {
        if engine::is_policy(&d) {
            input.policies.push(d);
        } else if engine::is_exception(&d) {
            input.exceptions.push(d);
        }
    }
    if !a.exceptions.is_empty() {
        input.exceptions.extend(
            load_docs(&a.exceptions)?
                .into_iter()
                .filter(engine::is_exception),
        );
    }
    if input.policies.is_empty() {
        eprintln!("homelab policy apply: no Kyverno policies found in the given paths");
        return Ok(EXIT_USAGE);
    }
    input.resources = load_resources(&a.resources)?
        .into_iter()
        .filter(|d| !engine::is_policy(d) && !engine::is_exception(d))
        .collect();
    if let Some(vp) = &a.values {
        (input.values, input.namespace_labels) = ValuesFile::from_document(&read_one(vp)?);
    }
    for spec in &a.namespace_labels {
        apply::add_namespace_labels(spec, &mut input.namespace_labels)
            .map_err(|e| anyhow::anyhow!("--namespace-labels {e}"))?;
    }
    if let Some(up) = &a.userinfo {
        input.user = apply::user_info_from_document(&read_one(up)?);
    }
    let report = apply::apply(
        &input,
        ApplyOptions {
            audit_warn: a.audit_warn,
        },
    );
    match format.as_str() {
        "json" => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            report.write_policy_report_json(&mut out)?;
            writeln!(out)?;
            out.flush()?;
        }
        "yaml" => print!(
            "{}",
            homelab_report::yaml::to_string(&report.policy_report())
        ),
        _ => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write_text_report(&report, a.table, &mut out)?;
            out.flush()?;
        }
    }
    Ok(if report.failed() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn test(t: TestArgs) -> anyhow::Result<u8> {
    let format = t.format.to_ascii_lowercase();
    if format != "table" && format != "json" && format != "text" {
        anyhow::bail!("--format must be table or json (got {:?})", t.format);
    }
    let mut files = Vec::new();
    for d in &t.dirs {
        if !d.exists() {
            anyhow::bail!("{}: no such file or folder", d.display());
        }
        files.extend(testrunner::find_test_files(d));
    }
    let mut rows = Vec::new();
    let mut load_errors = 0;
    for f in &files {
        match testrunner::run_file(f) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                load_errors += 1;
                eprintln!("error: {}", crate::term::safe_lines(&e.to_string()));
            }
        }
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    if t.require_tests && files.is_empty() {
        anyhow::bail!("no kyverno-test.yaml found under the given folders");
    }
    if format == "json" {
        let arr: Vec<Value> = rows
            .iter()
            .filter(|r| !t.fail_only || !r.ok)
            .map(|r| {
                let mut row = json!({"policy": r.policy, "rule": r.rule, "resource": r.resource, "expected": r.expected,
                       "actual": r.actual, "ok": r.ok, "test": r.test, "reason": r.reason});
                if t.detailed_results {
                    row["message"] = json!(r.message);
                }
                row
            })
            .collect();
        println!("{}", serde_json::to_string(&Value::Array(arr))?);
    } else {
        if files.is_empty() {
            println!("No test files found.");
        }
        println!(
            "{:<4} {:<34} {:<34} {:<44} {:<6} REASON",
            "ID", "POLICY", "RULE", "RESOURCE", "RESULT"
        );
        for (i, r) in rows.iter().enumerate() {
            if t.fail_only && r.ok {
                continue;
            }
            let verdict = if r.ok { "Pass" } else { "Fail" };
            let safe = crate::term::safe;
            println!(
                "{:<4} {:<34} {:<34} {:<44} {:<6} {}",
                i + 1,
                safe(&r.policy),
                safe(&r.rule),
                safe(&r.resource),
                verdict,
                safe(&r.reason)
            );
            if t.detailed_results && !r.message.is_empty() {
                println!(
                    "     message: {}",
                    crate::term::safe_lines(&r.message).replace('\n', "\n              ")
                );
            }
        }
        println!(
            "\nTest summary: {} tests passed and {} tests failed ({} test files)",
            rows.len() - failed,
            failed,
            files.len()
        );
    }
    Ok(if failed > 0 || load_errors > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use homelab_policy::apply::{ApplyReport, ApplyResult};
    use homelab_policy::response::Status;

    #[test]
    fn text_report_is_written_as_the_escaped_whole_text() {
        let messages = [
            "plain",
            "::error title=x::y",
            "two\n  ::warning::lines",
            "see ##[error]x",
            "bell \u{7} and escape \u{1b}[2J",
            "tab\tand \u{202e}right-to-left",
        ];
        let mut report = ApplyReport {
            rule_count: 1,
            resource_count: 6000,
            ..ApplyReport::default()
        };
        for i in 0..6000 {
            let status = if i % 7 == 0 {
                Status::Pass
            } else {
                Status::Fail
            };
            if status == Status::Fail {
                report.summary.fail += 1;
            } else {
                report.summary.pass += 1;
            }
            report.results.push(ApplyResult {
                policy: format!("p-{}", i % 5),
                rule: "r".into(),
                status,
                message: messages[i % messages.len()].into(),
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: String::new(),
                name: format!("pod-{i}"),
            });
        }
        for table in [false, true] {
            let mut written = Vec::new();
            write_text_report(&report, table, &mut written).unwrap();
            let written = String::from_utf8(written).unwrap();
            assert_eq!(written, crate::term::safe_lines(&report.text(table)));
            assert!(written.contains("\n  \\::warning::lines"));
            assert!(written.contains("#\\#[error]x"));
            assert!(!written.contains('\u{1b}'));
        }
    }
}
