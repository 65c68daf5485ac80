//! Hostile or broken input: every case gives a clear diagnostic with a position, no panic,
//! bounded time and memory.

use homelab_manifest::{load, parse_source, parse_str, Class, LoadOptions, Source};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn only_rule(diags: &[homelab_diagnostics::Diagnostic]) -> &str {
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    let loc = d.location.as_ref().expect("a location");
    assert!(loc.line >= 1 && loc.column >= 1, "{loc}");
    assert!(d.help.is_some(), "{d:?}");
    &d.rule
}

#[test]
fn alias_bomb_is_stopped() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    let started = Instant::now();
    let (docs, diags) = parse_str("bomb.yaml", &text);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(only_rule(&diags), "yaml/alias-limit");
    assert!(docs.is_empty());
}

#[test]
fn nested_anchors_do_not_multiply_memory() {
    // 200 nested anchors around a list of 2,000 items: remembering every anchor would copy
    // 400,000 nodes. The document loads; only using such an anchor would hit the bound.
    let items = vec!["x"; 2000].join(", ");
    let mut text = String::from("a: ");
    for i in 0..200 {
        text.push_str(&format!("&a{i} ["));
    }
    text.push_str(&items);
    text.push_str(&"]".repeat(200));
    text.push('\n');
    let (docs, diags) = parse_str("nested.yaml", &text);
    assert!(
        diags.iter().all(|d| d.rule == "load/not-kubernetes"),
        "{diags:#?}"
    );
    assert_eq!(docs.len(), 1);
    let (_, diags) = parse_str("nested.yaml", &format!("{text}b: *a0\n"));
    assert_eq!(only_rule(&diags), "yaml/alias-limit");
}

#[test]
fn aliases_within_the_bound_expand() {
    let text = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n";
    let (docs, diags) = parse_str("ok.yaml", text);
    assert!(
        diags.iter().all(|d| d.rule == "load/not-kubernetes"),
        "{diags:#?}"
    );
    assert_eq!(docs[0].value["b"][2][1], 2);
}

#[test]
fn deep_flow_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let (docs, diags) = parse_str("deep.yaml", &text);
    assert_eq!(only_rule(&diags), "yaml/too-deep");
    assert!(docs.is_empty());
    let text = format!("{}1{}\n", "{a: ".repeat(10_000), "}".repeat(10_000));
    let (_, diags) = parse_str("deep.yaml", &text);
    assert_eq!(only_rule(&diags), "yaml/too-deep");
}

#[test]
fn deep_block_nesting_is_an_error_not_a_stack_overflow() {
    // 10,000 nested block maps, one space more per level (about 50 MB of text).
    let mut text = String::new();
    for depth in 0..10_000 {
        text.push_str(&" ".repeat(depth));
        text.push_str("k:\n");
    }
    text.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: after\n");
    let started = Instant::now();
    let (docs, diags) = parse_str("deep.yaml", &text);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(only_rule(&diags), "yaml/too-deep");
    assert_eq!(diags[0].location.as_ref().unwrap().line, 257);
    // The document after the deep one still loads.
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].id(), "v1/Namespace after");
    assert_eq!(
        docs[0].location("/metadata/name").to_string(),
        "deep.yaml:10005:3"
    );
    // Block sequences, compact on one line.
    let text = format!("{}x\n", "- ".repeat(10_000));
    let (_, diags) = parse_str("deep.yaml", &text);
    assert_eq!(only_rule(&diags), "yaml/too-deep");
}

#[test]
fn aliases_cannot_bypass_the_depth_bound() {
    let opts = LoadOptions {
        max_depth: 8,
        ..LoadOptions::default()
    };
    let text = "a: &a [[[[[1]]]]]\nb: [[[[*a]]]]\n";
    let source = Arc::new(Source {
        name: "t.yaml".into(),
        path: None,
        text: text.into(),
    });
    let (_, diags) = parse_source(source, &opts);
    assert_eq!(only_rule(&diags), "yaml/too-deep");
}

#[test]
fn recursive_alias_is_an_error() {
    let (_, diags) = parse_str("r.yaml", "a: &a [1, *a]\n");
    assert!(!diags.is_empty());
    assert!(diags.iter().all(|d| d.location.is_some()));
}

#[test]
fn parse_str_survives_nasty_snippets() {
    for text in [
        "\u{feff}a: 1",
        "a: \"unterminated",
        "? ",
        ": ",
        "&a",
        "*a",
        "!!",
        "%YAML 1.1\n---\na: 1",
        "%FOO\n",
        "--- |\n  x\n...\n---\n",
        "a: b: c",
        "[",
        "]",
        "{a: 1, a: 2}",
        "- - - - -",
        "'",
        "a: |\n\tb\n",
        "\r\n\r\n---\r\na: 1\r\n",
        "a: *unknown\n",
        "a: &x 1\nb: &x 2\nc: *x\n",
        "<<: *nope\n",
        "<<: [1, 2]\n",
        "\0",
        "a:\n  - b\n c: d\n",
    ] {
        let _ = parse_str("nasty.yaml", text);
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn huge_file_is_refused_before_reading() {
    let dir = tmp();
    let path = dir.path().join("huge.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap(); // sparse: costs no disk
    let started = Instant::now();
    let loaded = load(&[path], &LoadOptions::default());
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(only_rule(&loaded.diagnostics), "yaml/file-too-large");
    assert!(loaded.documents.is_empty());
    assert!(loaded.sources.is_empty());
}

#[test]
fn binary_invalid_utf8_and_empty_files() {
    let dir = tmp();
    let bin = dir.path().join("bin.yaml");
    std::fs::write(&bin, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let bad = dir.path().join("latin1.yaml");
    std::fs::write(&bad, b"a: 1\nname: caf\xe9\n").unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, b"").unwrap();

    let loaded = load(std::slice::from_ref(&bin), &LoadOptions::default());
    assert_eq!(only_rule(&loaded.diagnostics), "yaml/binary-file");

    let loaded = load(std::slice::from_ref(&bad), &LoadOptions::default());
    assert_eq!(only_rule(&loaded.diagnostics), "yaml/invalid-utf8");
    let loc = loaded.diagnostics[0].location.clone().unwrap();
    assert_eq!((loc.line, loc.column), (2, 10));
    assert!(loaded.diagnostics[0].message.contains("byte offset 14"));

    let loaded = load(std::slice::from_ref(&empty), &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty());
    assert_eq!(loaded.documents.len(), 1);
    assert_eq!(loaded.documents[0].class, Class::Empty);
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_reported_not_followed_forever() {
    let dir = tmp();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("apps")).unwrap();
    std::fs::write(
        root.join("apps/ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("..", root.join("apps/loop")).unwrap();
    // And a self-referencing file link, given explicitly.
    std::os::unix::fs::symlink("self.yaml", root.join("self.yaml")).unwrap();
    let started = Instant::now();
    let loaded = load(std::slice::from_ref(&root), &LoadOptions::default());
    assert!(started.elapsed() < Duration::from_secs(5));
    let loops: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.rule == "yaml/symlink-loop")
        .collect();
    assert!(!loops.is_empty(), "{:#?}", loaded.diagnostics);
    assert!(loops
        .iter()
        .all(|d| d.help.is_some() && d.location.is_some()));
    assert!(loaded.documents.iter().any(|d| d.name() == Some("a")));

    let loaded = load(&[root.join("self.yaml")], &LoadOptions::default());
    assert_eq!(only_rule(&loaded.diagnostics), "yaml/symlink-loop");
}

#[cfg(unix)]
#[test]
fn unreadable_file_names_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    let path = dir.path().join("secret.yaml");
    std::fs::write(&path, "a: 1\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable_anyway = std::fs::read(&path).is_ok();
    let loaded = load(std::slice::from_ref(&path), &LoadOptions::default());
    if readable_anyway {
        // Running as root: permissions do not stop us. The file simply loads.
        println!(
            "running as root: chmod 000 does not make the file unreadable; checked that it loads"
        );
        assert!(loaded
            .diagnostics
            .iter()
            .all(|d| d.rule != "yaml/unreadable"));
        assert_eq!(loaded.documents.len(), 1);
    } else {
        assert_eq!(only_rule(&loaded.diagnostics), "yaml/unreadable");
        let loc = loaded.diagnostics[0].location.as_ref().unwrap();
        assert!(loc.file.ends_with("secret.yaml"));
    }
    // A path that does not exist is unreadable in every case.
    let missing = dir.path().join("missing.yaml");
    let loaded = load(&[missing], &LoadOptions::default());
    assert_eq!(only_rule(&loaded.diagnostics), "yaml/unreadable");
    assert!(loaded.diagnostics[0].message.contains("No such file"));
}

fn parse_with(
    text: &str,
    opts: &LoadOptions,
) -> (
    Vec<homelab_manifest::Document>,
    Vec<homelab_diagnostics::Diagnostic>,
) {
    let source = Arc::new(Source {
        name: "many.yaml".into(),
        path: None,
        text: text.to_owned(),
    });
    parse_source(source, opts)
}

#[test]
fn empty_documents_cost_no_document_each() {
    // 200,000 `---` lines used to become 200,000 kept documents (about 85 bytes of memory per
    // byte of input); they are counted, not kept, and do not count against the bound.
    let mut text = "---\n# nothing\n".repeat(200_000);
    text.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: last\n");
    let (docs, diags) = parse_with(&text, &LoadOptions::default());
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].doc_index, 200_000);
    assert_eq!(docs[0].location("/metadata/name").line, 400_005);

    // A file of only empty documents still stands for one (empty) document.
    let (docs, diags) = parse_with(&"---\n".repeat(1000), &LoadOptions::default());
    assert!(diags.is_empty());
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].class, Class::Empty);
}

#[test]
fn documents_per_file_are_bounded_with_a_finding() {
    let opts = LoadOptions {
        max_documents: 5,
        ..LoadOptions::default()
    };
    // Tiny documents: the sixth is reported where it starts, and nothing after it is kept.
    let text = (0..8)
        .map(|i| format!("---\nk{i}: {i}\n"))
        .collect::<String>();
    let (docs, diags) = parse_with(&text, &opts);
    assert_eq!(docs.len(), 5);
    let bound: Vec<_> = diags
        .iter()
        .filter(|d| d.rule == "yaml/too-many-documents")
        .collect();
    assert_eq!(bound.len(), 1, "{diags:#?}");
    assert_eq!(bound[0].severity, homelab_diagnostics::Severity::Error);
    assert_eq!(bound[0].location.as_ref().unwrap().line, 11);
    assert!(bound[0].message.contains("more than 5 documents"));
    assert!(bound[0].help.as_deref().unwrap().contains("split the file"));

    // Exactly the bound, with empty documents between: no finding.
    let text = (0..5)
        .map(|i| format!("---\n---\n# c\n---\nk{i}: {i}\n"))
        .collect::<String>();
    let (docs, diags) = parse_with(&text, &opts);
    assert_eq!(docs.len(), 5);
    assert!(
        diags.iter().all(|d| d.rule != "yaml/too-many-documents"),
        "{diags:#?}"
    );

    // The bound holds after a syntax error (parsing resumes at the next `---`).
    let text = format!(
        "a: [\n{}",
        (0..8)
            .map(|i| format!("---\nk{i}: {i}\n"))
            .collect::<String>()
    );
    let (docs, diags) = parse_with(&text, &opts);
    assert_eq!(docs.len(), 5);
    assert!(diags.iter().any(|d| d.rule == "yaml/syntax"));
    assert!(diags.iter().any(|d| d.rule == "yaml/too-many-documents"));

    // `kind: List` items count as documents.
    let mut list = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..8 {
        list.push_str(&format!(
            "- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c{i}}}}}\n"
        ));
    }
    let (docs, diags) = parse_with(&list, &opts);
    assert_eq!(docs.len(), 5);
    assert_eq!(docs[4].id(), "v1/ConfigMap c4");
    let bound: Vec<_> = diags
        .iter()
        .filter(|d| d.rule == "yaml/too-many-documents")
        .collect();
    assert_eq!(bound.len(), 1, "{diags:#?}");
    assert_eq!(bound[0].location.as_ref().unwrap().line, 9);
}
