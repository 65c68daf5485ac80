//! Reports stay proportionate to what they report: time linear in the findings of a file,
//! snippets capped whatever the length of the line.

use assert_cmd::Command;
use std::time::Duration;

fn homelab() -> Command {
    let mut c = Command::cargo_bin("homelab").expect("binary");
    // A guard against a hang, not a speed measurement (bench figures are in the notes).
    c.timeout(Duration::from_secs(120));
    c
}

#[test]
fn twenty_thousand_findings_in_one_file_are_reported_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: many\n  namespace: demo\ndata:\n",
    );
    for i in 0..20_000 {
        text.push_str(&format!("  k{i}: on\n"));
    }
    let file = tmp.path().join("many.yaml");
    std::fs::write(&file, text).unwrap();
    for format in ["text", "html", "json", "sarif", "junit"] {
        let out = homelab()
            .args(["check", "--format", format])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.matches("yaml/ambiguous-value").count() >= 20_000,
            "{format}: every finding is reported"
        );
    }
}

#[test]
fn a_huge_line_is_never_echoed_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let filler = "x".repeat(8 * 1024 * 1024);
    let file = tmp.path().join("wide.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"wide","namespace":"demo","labels":{{"a":"{filler}"}}}},"data":{{"k":"v"}},"bogus":{{"n":1}}}}"#
        ),
    )
    .unwrap();
    for (cmd, format) in [
        (&["check", "--format"][..], "text"),
        (&["check", "--format"][..], "html"),
        (&["check", "--format"][..], "json"),
        (&["check", "--format"][..], "sarif"),
        (&["validate", "-strict", "-output"][..], "text"),
    ] {
        let out = homelab().args(cmd).arg(format).arg(&file).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("bogus") || stdout.contains("label"),
            "{cmd:?} {format}: the finding is reported:\n{}",
            &stdout[..stdout.len().min(2000)]
        );
        assert!(
            out.stdout.len() < 64 * 1024,
            "{cmd:?} {format}: {} bytes printed for one finding",
            out.stdout.len()
        );
    }
}
