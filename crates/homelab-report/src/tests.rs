use super::*;
use homelab_diagnostics::Location;

fn sample() -> (Report, HashMap<String, String>) {
    let mut sources = HashMap::new();
    sources.insert(
        "apps/web.yaml".to_string(),
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  contaners: []\n".to_string(),
    );
    sources.insert(
        "secrets/leak.yaml".to_string(),
        "stringData:\n  password: hunter2-very-secret\n".to_string(),
    );
    let report = Report {
        version: "0.1.0".into(),
        title: "homelab check".into(),
        root: None,
        diagnostics: vec![
            Diagnostic::error("schema/unknown-field", "unknown field `contaners`")
                .at(Location::new("apps/web.yaml", 4, 3))
                .with_object("apps/v1/Deployment default/web")
                .with_path("/spec/contaners")
                .with_help("did you mean `containers`?"),
            Diagnostic::warning("secrets/password", "a password is committed in plain text")
                .at(Location::new("secrets/leak.yaml", 2, 13))
                .with_fingerprint("sha256:0123abcd"),
            Diagnostic::note("load/not-kubernetes", "no apiVersion/kind <values>")
                .at(Location::new("values.yaml", 1, 1)),
        ],
        files: vec![
            "apps/web.yaml".into(),
            "secrets/leak.yaml".into(),
            "values.yaml".into(),
            "clean.yaml".into(),
        ],
        objects: 3,
        rules: vec![RuleMeta {
            id: "schema/unknown-field".into(),
            summary: "A field the schema does not define".into(),
            help: "Remove or rename the field.".into(),
            severity: Severity::Error,
        }],
        suppressions: vec![],
        waves: vec![
            Wave {
                wave: -2,
                applications: vec!["namespaces".into()],
            },
            Wave {
                wave: 0,
                applications: vec!["gitlab".into(), "<script>".into()],
            },
        ],
        rollout: Some(Rollout {
            converges: false,
            waves: vec![RolloutWave {
                wave: 1,
                healthy: 3,
                stalls: vec![(
                    "apps/v1/Deployment ai/ollama".into(),
                    "no-device-plugin".into(),
                    "Pending: needs <nvidia.com/gpu>".into(),
                    "apps/ollama.yaml:12:7".into(),
                )],
                applications: vec!["ollama: Synced, <Degraded>".into()],
            }],
            warnings: vec![],
            assumptions: vec!["namespace `x` exists".into()],
        }),
    };
    (report, sources)
}

#[test]
fn format_parses_case_insensitively_and_rejects_unknown() {
    assert_eq!("SARIF".parse::<Format>().unwrap(), Format::Sarif);
    assert!("xml".parse::<Format>().unwrap_err().contains("text, json"));
}

#[test]
fn text_has_position_snippet_caret_and_help() {
    let (report, sources) = sample();
    let text = render(Format::Text, &report, &sources, RenderOptions::default());
    assert!(
        text.contains("error[schema/unknown-field]: unknown field `contaners`"),
        "{text}"
    );
    assert!(
        text.contains("--> apps/web.yaml:4:3 (apps/v1/Deployment default/web)"),
        "{text}"
    );
    assert!(text.contains(" 4 |   contaners: []"), "{text}");
    assert!(text.contains("   |   ^^^^^^^^^\n"), "{text}");
    assert!(text.contains("help: did you mean `containers`?"), "{text}");
    assert!(
        text.contains("1 error, 1 warning in 2 files (checked 4 files, 3 objects)"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour unless asked");
}

#[test]
fn color_only_when_asked() {
    let (report, sources) = sample();
    let text = render(
        Format::Text,
        &report,
        &sources,
        RenderOptions { color: true },
    );
    assert!(text.contains("\x1b[1;31merror\x1b[0m"));
}

#[test]
fn no_format_ever_shows_a_secret_line() {
    let (report, sources) = sample();
    for format in Format::ALL {
        let out = render(format, &report, &sources, RenderOptions::default());
        assert!(
            !out.contains("hunter2"),
            "{format} leaked the secret:\n{out}"
        );
        assert!(
            out.contains("0123abcd"),
            "{format} must show the fingerprint"
        );
    }
}

#[test]
fn json_is_stable_shape() {
    let (report, sources) = sample();
    let out = render(Format::Json, &report, &sources, RenderOptions::default());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["summary"]["warnings"], 1);
    assert_eq!(v["summary"]["notes"], 1);
    let first = &v["diagnostics"][0];
    assert_eq!(first["rule"], "schema/unknown-field");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["location"]["line"], 4);
    assert_eq!(first["location"]["column"], 3);
    assert_eq!(first["path"], "/spec/contaners");
}

#[test]
fn sarif_has_rules_results_and_regions() {
    let (report, sources) = sample();
    let out = render(Format::Sarif, &report, &sources, RenderOptions::default());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let schema_result = results
        .iter()
        .find(|r| r["ruleId"] == "schema/unknown-field")
        .unwrap();
    let idx = schema_result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], "schema/unknown-field");
    assert_eq!(rules[idx]["help"]["text"], "Remove or rename the field.");
    let region = &schema_result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 4);
    assert_eq!(region["startColumn"], 3);
    assert_eq!(
        schema_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "apps/web.yaml"
    );
    assert_eq!(schema_result["level"], "error");
}

#[test]
fn junit_parses_back_with_one_failure_per_finding() {
    let (report, sources) = sample();
    let out = render(Format::Junit, &report, &sources, RenderOptions::default());
    let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("failures"), Some("2"));
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    // apps/web.yaml, clean.yaml, secrets/leak.yaml, values.yaml (notes are not failures)
    assert_eq!(suites.len(), 4);
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].attribute("type"), Some("schema/unknown-field"));
    let clean = suites
        .iter()
        .find(|s| s.attribute("name") == Some("clean.yaml"))
        .unwrap();
    assert_eq!(clean.attribute("failures"), Some("0"));
}

#[test]
fn html_shows_the_simulated_rollout_escaped() {
    let (report, sources) = sample();
    let out = render(Format::Html, &report, &sources, RenderOptions::default());
    assert!(out.contains("<h2>Simulated rollout</h2>"));
    assert!(out.contains("Does not converge"));
    assert!(out.contains("Pending: needs &lt;nvidia.com/gpu&gt;"));
    assert!(out.contains("apps/ollama.yaml:12:7"));
    assert!(out.contains("<div>ollama: Synced, &lt;Degraded&gt;</div>"));
    assert!(out.contains("Assumptions (1)"));
    let none = Report {
        rollout: None,
        ..report
    };
    let out = render(Format::Html, &none, &sources, RenderOptions::default());
    assert!(!out.contains("Simulated rollout"));
}

#[test]
fn html_is_self_contained_and_escaped() {
    let (report, sources) = sample();
    let out = render(Format::Html, &report, &sources, RenderOptions::default());
    assert!(out.starts_with("<!DOCTYPE html>"));
    assert!(
        !out.contains("<script"),
        "user text must be escaped, no scripts"
    );
    assert!(out.contains("&lt;script&gt;"));
    assert!(
        !out.contains("http://") && !out.contains("src="),
        "no external resources"
    );
    assert!(out.contains("id=\"wave-graph\""));
    assert!(out.contains("wave -2") && out.contains("wave 0"));
    assert!(out.contains("id=\"by-rule\"") && out.contains("id=\"by-file\""));
    assert!(out.contains("contaners: []"));
}

#[test]
fn empty_report_says_clean() {
    let report = Report {
        files: vec!["a.yaml".into()],
        objects: 1,
        ..Report::default()
    };
    let text = render(Format::Text, &report, &NoSources, RenderOptions::default());
    assert_eq!(
        text,
        "0 errors, 0 warnings in 0 files (checked 1 file, 1 object)\n"
    );
    let html = render(Format::Html, &report, &NoSources, RenderOptions::default());
    assert!(html.contains("No findings."));
}
