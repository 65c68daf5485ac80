//! CLI tests of `homelab validate` (kubeconform-compatible flags, outputs and exit codes).

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
";

const WIDGET_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer, minimum: 1}
                port: {x-kubernetes-int-or-string: true}
";

fn homelab() -> Command {
    Command::cargo_bin("homelab").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn valid_deployment_exits_zero_with_summary() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "d.yaml", DEPLOYMENT);
    homelab()
        .args(["validate", "-strict", "-summary"])
        .arg(&f)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Summary: 1 resource found in 1 file - Valid: 1, Invalid: 0, Errors: 0, Skipped: 0",
        ));
}

#[test]
fn unknown_field_has_exact_line_and_column_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let text = DEPLOYMENT.replace(
        "      containers:",
        "      hostNetwrok: true\n      containers:",
    );
    let f = write(dir.path(), "d.yaml", &text);
    let out = homelab()
        .args(["validate", "-strict"])
        .arg(&f)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("hostNetwrok"))
        .unwrap()
        + 1;
    let expected = format!("{}:{line}:7 - Deployment web is invalid: unknown field `hostNetwrok` in PodSpec: did you mean `hostNetwork`? [schema/unknown-field]", f.display());
    assert!(out.contains(&expected), "{out}");
    assert!(
        out.contains("      hostNetwrok: true"),
        "snippet missing: {out}"
    );

    // Without -strict, kubeconform accepts unknown fields.
    homelab().arg("validate").arg(&f).assert().code(0);
}

#[test]
fn wrong_type_is_reported_at_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "d.yaml",
        &DEPLOYMENT.replace("replicas: 2", "replicas: two"),
    );
    homelab()
        .args(["validate", "-strict"])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "{}:7:3 - Deployment web is invalid: expected integer, got string [schema/type]",
            f.display()
        )));
}

#[test]
fn missing_schema_is_an_error_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
    );
    homelab()
        .args(["validate", "-summary"])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2:1 - Widget w failed validation: could not find schema for example.com/v1 Widget [schema/missing]"))
        .stdout(predicate::str::contains("Errors: 1, Skipped: 0"));
    homelab()
        .args(["validate", "-summary", "-ignore-missing-schemas"])
        .arg(&f)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Valid: 0, Invalid: 0, Errors: 0, Skipped: 1",
        ));
}

#[test]
fn crd_in_the_input_validates_its_custom_resources() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "crd.yaml", WIDGET_CRD);
    write(
        dir.path(),
        "good.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\nspec: {size: 2, port: http}\n",
    );
    homelab()
        .args(["validate", "-strict", "-summary"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Valid: 2, Invalid: 0"));
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: b}\nspec:\n  size: 0\n  colour: red\n",
    );
    let out = homelab()
        .args(["validate", "-strict"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(&format!(
            "{}:5:3 - Widget b is invalid: 0 is less than the minimum 1 [schema/minimum]",
            bad.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}:6:3 - Widget b is invalid: unknown field `colour`",
            bad.display()
        )),
        "{out}"
    );

    // The same CRD given with -crd instead of in the input.
    let only = tempfile::tempdir().unwrap();
    let good = write(
        only.path(),
        "good.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\nspec: {size: 2}\n",
    );
    homelab()
        .args(["validate", "-strict", "--crd"])
        .arg(dir.path().join("crd.yaml"))
        .arg(&good)
        .assert()
        .code(0);
}

#[test]
fn skip_and_reject_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n",
        DEPLOYMENT.replace("replicas: 2", "replicas: two")
    );
    let f = write(dir.path(), "all.yaml", &text);
    homelab()
        .args([
            "validate",
            "-summary",
            "-skip",
            "Deployment",
            "-reject=v1/Secret",
        ])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "prohibited resource kind Secret [schema/rejected-kind]",
        ))
        .stdout(predicate::str::contains(
            "Valid: 0, Invalid: 0, Errors: 1, Skipped: 1",
        ));
    homelab()
        .args(["validate", "-summary", "--skip=apps/v1/Deployment,Secret"])
        .arg(&f)
        .assert()
        .code(0);
}

#[test]
fn reads_stdin() {
    homelab()
        .args(["validate", "-strict", "-summary", "-"])
        .write_stdin(DEPLOYMENT)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Summary: 1 resource found parsing stdin - Valid: 1, Invalid: 0, Errors: 0, Skipped: 0",
        ));
    homelab()
        .args(["validate", "-strict"])
        .write_stdin(DEPLOYMENT.replace("replicas: 2", "replicas: x"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "-:7:3 - Deployment web is invalid",
        ));
}

#[test]
fn json_output_has_kubeconform_shape_plus_positions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.yaml", DEPLOYMENT);
    write(
        dir.path(),
        "bad.yaml",
        &DEPLOYMENT.replace("replicas: 2", "replicas: two"),
    );
    let out = homelab()
        .args(["validate", "-strict", "-summary", "-output", "json"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["summary"],
        serde_json::json!({"valid": 1, "invalid": 1, "errors": 0, "skipped": 0})
    );
    let r = &v["resources"][0];
    assert_eq!(r["kind"], "Deployment");
    assert_eq!(r["name"], "web");
    assert_eq!(r["version"], "apps/v1");
    assert_eq!(r["status"], "statusInvalid");
    assert_eq!(r["errors"][0]["rule"], "schema/type");
    assert_eq!(r["errors"][0]["path"], "/spec/replicas");
    assert_eq!(
        (
            r["errors"][0]["line"].as_u64(),
            r["errors"][0]["column"].as_u64()
        ),
        (Some(7), Some(3))
    );
    assert!(r["msg"].as_str().unwrap().contains("/spec/replicas"));
}

#[test]
fn junit_and_tap_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.yaml",
        &DEPLOYMENT.replace("replicas: 2", "replicas: two"),
    );
    homelab()
        .args(["validate", "-output", "junit"])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "<testsuites name=\"homelab validate\"",
        ))
        .stdout(predicate::str::contains(
            "<testcase name=\"apps/web\" classname=\"Deployment@apps/v1\"",
        ))
        .stdout(predicate::str::contains("<failure message="));
    homelab()
        .args(["validate", "--output=tap"])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("TAP version 13\nnot ok 1 - "))
        .stdout(predicate::str::ends_with("1..1\n"));
}

#[test]
fn removed_api_names_replacement() {
    let text = DEPLOYMENT.replace("apps/v1", "extensions/v1beta1");
    homelab()
        .args(["validate", "-kubernetes-version", "1.29.0"])
        .write_stdin(text)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("extensions/v1beta1 Deployment was removed in Kubernetes 1.16 (target 1.29) [schema/removed-api]"))
        .stdout(predicate::str::contains("help: use apps/v1"));
}

#[test]
fn usage_errors_exit_two() {
    homelab()
        .args(["validate", "-bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown flag `-bogus`"));
    homelab()
        .args(["validate", "-kubernetes-version", "1.12", "-"])
        .write_stdin(DEPLOYMENT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown Kubernetes version `1.12`",
        ));
    homelab()
        .args(["validate", "-help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("-schema-location"));
}

#[test]
fn unparsable_file_is_an_error_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
    );
    homelab()
        .args(["validate", "-summary"])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("{}:", f.display())))
        .stdout(predicate::str::contains("Errors: 1"));
}

/// The rendered repository passes its own schema gate: the `homelab validate -strict` line of
/// its Taskfile (what its CI and pre-commit run), every object with a schema (CRDs included),
/// none skipped. The same line fails once a rendered object carries a field Kubernetes
/// does not know.
#[test]
fn the_rendered_repository_validates_strictly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    homelab().arg("init").arg(&repo).assert().success();
    let taskfile = std::fs::read_to_string(repo.join("Taskfile.yml")).expect("Taskfile");
    let line = taskfile
        .lines()
        .map(str::trim)
        // A plain or double-quoted YAML list item (the command holds no escapes).
        .find_map(|l| {
            l.strip_prefix("- \"homelab validate ")
                .and_then(|rest| rest.strip_suffix('"'))
                .or_else(|| l.strip_prefix("- homelab validate "))
        })
        .expect("the Taskfile runs homelab validate");
    let args: Vec<&str> = line.split_whitespace().collect();
    assert!(args.contains(&"-strict"), "{line}");
    let run = || {
        homelab()
            .current_dir(&repo)
            .arg("validate")
            .args(&args)
            .output()
            .expect("run")
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Invalid: 0, Errors: 0, Skipped: 0"),
        "{stdout}"
    );
    let found: u32 = stdout
        .split(" resources found")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(found > 100, "{stdout}");

    let n8n = repo.join("apps/ai-services/n8n/n8n.yaml");
    let text = std::fs::read_to_string(&n8n).expect("read");
    assert!(
        text.contains("\n  replicas: "),
        "n8n.yaml changed: update this test"
    );
    std::fs::write(
        &n8n,
        text.replacen("\n  replicas: ", "\n  replicass: 1\n  replicas: ", 1),
    )
    .expect("write");
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("replicass"), "{stdout}");
}

#[test]
fn list_schemas_names_group_kind_versions_and_source() {
    let out = homelab()
        .args(["validate", "-list-schemas"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("Kubernetes built-in kinds: versions 1.29"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("helm.toolkit.fluxcd.io ") && l.contains(" HelmRelease "))
        .unwrap_or_else(|| panic!("no HelmRelease line in {out}"));
    assert!(line.contains("v2"), "{line}");
    assert!(line.contains("Flux helm-controller v"), "{line}");
    assert!(out.contains("policies.kyverno.io"), "{out}");
}

const FLUX_KUSTOMIZATION: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";

#[test]
fn embedded_catalog_judges_custom_kinds_and_input_crds_win() {
    let dir = tempfile::tempdir().unwrap();
    let ks = write(dir.path(), "ks.yaml", FLUX_KUSTOMIZATION);
    homelab()
        .args(["validate", "-strict", "-summary"])
        .arg(&ks)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Valid: 1, Invalid: 0, Errors: 0"));
    // Without the catalog (`default-kubernetes`), the kind has no schema.
    homelab()
        .args([
            "validate",
            "-summary",
            "-schema-location",
            "default-kubernetes",
        ])
        .arg(&ks)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("could not find schema"));
    // A CRD in the input that serves the same kind replaces the embedded schema.
    let crd = WIDGET_CRD
        .replace(
            "widgets.example.com",
            "kustomizations.kustomize.toolkit.fluxcd.io",
        )
        .replace("group: example.com", "group: kustomize.toolkit.fluxcd.io")
        .replace(
            "kind: Widget, plural: widgets, singular: widget",
            "kind: Kustomization, plural: kustomizations",
        );
    write(dir.path(), "crd.yaml", &crd);
    homelab()
        .args(["validate", "-strict"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("missing required field `size`"));
}

#[test]
fn cel_rules_of_a_crd_are_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let crd = WIDGET_CRD.replace(
        "                port: {x-kubernetes-int-or-string: true}\n",
        "                port: {x-kubernetes-int-or-string: true}\n                max: {type: integer}\n              x-kubernetes-validations:\n                - rule: \"!has(self.max) || self.size <= self.max\"\n                  message: size must not exceed max\n                  fieldPath: .size\n",
    );
    write(dir.path(), "crd.yaml", &crd);
    let bad = write(
        dir.path(),
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  size: 5\n  max: 3\n",
    );
    let out = homelab()
        .args(["validate", "-strict"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(&format!(
            "{}:5:3 - Widget w is invalid: size must not exceed max [schema/cel]",
            bad.display()
        )),
        "{out}"
    );
    std::fs::write(&bad, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  size: 2\n  max: 3\n").unwrap();
    homelab()
        .args(["validate", "-strict"])
        .arg(dir.path())
        .assert()
        .code(0);
}

#[test]
fn files_stream_in_parallel_with_crds_found_first_and_rows_in_file_order() {
    // Files are validated one by one in parallel; a CRD in a file after its custom resources
    // (and on stdin, read once for both passes) still validates them.
    let dir = tempfile::tempdir().unwrap();
    let bad_widget =
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  size: 0\n";
    for i in 0..40 {
        let text = if i % 10 == 3 {
            DEPLOYMENT.replace("replicas: 2", "replicas: x")
        } else {
            DEPLOYMENT.to_string()
        };
        write(
            dir.path(),
            &format!("app-{i:02}.yaml"),
            &format!("{text}---\n{bad_widget}"),
        );
    }
    write(dir.path(), "zz-crd.yaml", WIDGET_CRD);
    let run = |workers: &str| {
        let out = homelab()
            .args(["validate", "-strict", "-summary", "-n", workers])
            .arg(dir.path())
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let out = run("2");
    assert_eq!(out, run("1"), "the output does not depend on the workers");
    assert!(
        out.contains("Valid: 37, Invalid: 44, Errors: 0"),
        "every Widget judged by the CRD of the last file: {out}"
    );
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(" is invalid")).collect();
    assert_eq!(lines.len(), 44, "{out}");
    let position = |line: &str| {
        let at = line.split(" - ").next().unwrap_or_default();
        let mut parts = at.rsplitn(3, ':');
        let (_col, row) = (parts.next(), parts.next());
        let file = parts.next().unwrap_or_default().to_owned();
        (file, row.and_then(|r| r.parse::<u32>().ok()).unwrap_or(0))
    };
    let mut sorted = lines.clone();
    sorted.sort_by_key(|l| position(l));
    assert_eq!(lines, sorted, "rows are in file order");
    assert!(
        lines[0].contains("app-00.yaml:") && lines[0].contains("Widget w is invalid"),
        "{out}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("app-03.yaml:7:3 - Deployment web is invalid")));

    let stdin = format!("{bad_widget}---\n{WIDGET_CRD}");
    homelab()
        .args(["validate", "-strict", "-summary", "-"])
        .write_stdin(stdin)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("-:5:3 - Widget w is invalid"))
        .stdout(predicate::str::contains("Valid: 1, Invalid: 1"));
}

#[test]
fn too_many_documents_in_a_file_is_an_error_not_unbounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let many = write(dir.path(), "many.yaml", &"---\na: 1\n".repeat(20_001));
    let empty = write(dir.path(), "dashes.yaml", &"---\n".repeat(300_000));
    homelab()
        .args(["validate", "-summary"])
        .arg(&many)
        .arg(&empty)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "{}:40001:1 - failed validation: the file has more than 20000 documents",
            many.display()
        )))
        .stdout(predicate::str::contains("dashes.yaml").not());
}

/// A duplicate key is the fault of the object that holds it: its row is invalid and lists
/// the error, instead of a valid object beside an unnamed error entry.
#[test]
fn duplicate_key_belongs_to_its_object() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dup.yaml",
        &DEPLOYMENT.replace("  replicas: 2\n", "  replicas: 2\n  replicas: 3\n"),
    );
    let out = homelab()
        .args(["validate", "-summary", "-output", "json"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let resources = v["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{v:#}");
    let r = &resources[0];
    assert_eq!(r["kind"], "Deployment");
    assert_eq!(r["name"], "web");
    assert_eq!(r["status"], "statusInvalid");
    assert_eq!(r["errors"][0]["rule"], "yaml/duplicate-key");
    assert_eq!(r["errors"][0]["path"], "/spec/replicas");
}

#[test]
fn valid_resources_are_counted_the_same_whether_listed_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let bad = DEPLOYMENT
        .replace("name: web\n  namespace", "name: bad\n  namespace")
        .replace("replicas: 2", "replicas: two");
    let text = format!("{DEPLOYMENT}---\n{bad}---\n{DEPLOYMENT}");
    let f = write(dir.path(), "d.yaml", &text);
    let run = |args: &[&str]| -> String {
        let out = homelab()
            .arg("validate")
            .args(args)
            .arg(&f)
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let summary =
        "Summary: 3 resources found in 1 file - Valid: 2, Invalid: 1, Errors: 0, Skipped: 0";
    let quiet = run(&["-strict", "-summary"]);
    assert!(quiet.contains(summary), "{quiet}");
    assert!(!quiet.contains("is valid"), "{quiet}");
    // The invalid object's line is quoted at its own number (the file keeps only that line).
    let line = text
        .lines()
        .position(|l| l.contains("replicas: two"))
        .unwrap()
        + 1;
    assert!(
        quiet.contains(&format!("{line} |   replicas: two")),
        "{quiet}"
    );
    let verbose = run(&["-strict", "-summary", "-verbose"]);
    assert!(verbose.contains(summary), "{verbose}");
    assert_eq!(verbose.matches("is valid").count(), 2, "{verbose}");
    let json = run(&["-strict", "-summary", "-output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["valid"], 2);
    assert_eq!(v["resources"].as_array().unwrap().len(), 1);
    // JUnit and TAP list every resource.
    assert_eq!(
        run(&["-strict", "-output", "tap"]).matches("\nok ").count(),
        2
    );
    assert!(run(&["-strict", "-output", "junit"]).contains("tests=\"3\""));
}
