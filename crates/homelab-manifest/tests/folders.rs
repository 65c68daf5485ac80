//! Folder walking: recursion, extensions, `.gitignore`, hidden folders, Helm chart templates,
//! explicit paths, deterministic order; and loading the shared corpus when it is present.

use homelab_manifest::{load, Class, LoadOptions};
use std::path::{Path, PathBuf};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn ns(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

fn names(loaded: &homelab_manifest::Loaded) -> Vec<String> {
    loaded
        .documents
        .iter()
        .filter(|d| d.class == Class::Object)
        .map(|d| d.name().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn walks_folders_like_a_user_expects() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "b/deploy.yaml", &ns("b"));
    write(root, "a/one.yml", &ns("a1"));
    write(
        root,
        "a/two.json",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a2"}}"#,
    );
    write(root, "a/readme.md", "# not yaml\n");
    write(root, "a/notes.txt", &ns("txt"));
    write(root, "ignored/x.yaml", &ns("ignored"));
    write(root, "build.yaml", &ns("build-ignored"));
    write(root, ".gitignore", "ignored/\nbuild.yaml\n");
    write(root, ".github/workflows/ci.yaml", "on: push\njobs: {}\n");
    write(root, ".git/config.yaml", &ns("git"));
    write(
        root,
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    );
    write(root, "chart/values.yaml", "replicaCount: 1\n");
    write(
        root,
        "chart/templates/deploy.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: templated\n",
    );
    write(
        root,
        "chart/templates/sub/cm.yaml",
        "{{ include \"x\" . }}\n",
    );

    let loaded = load(&[root.to_path_buf()], &LoadOptions::default());
    assert_eq!(names(&loaded), vec!["a1", "a2", "b"]);
    let files: Vec<_> = loaded
        .sources
        .iter()
        .map(|s| {
            Path::new(&s.name)
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        files,
        vec![
            "a/one.yml",
            "a/two.json",
            "b/deploy.yaml",
            "chart/Chart.yaml",
            "chart/templates/deploy.yaml",
            "chart/templates/sub/cm.yaml",
            "chart/values.yaml",
        ]
    );
    // Names keep the path as given.
    assert!(loaded.sources[0]
        .name
        .starts_with(&root.to_string_lossy().into_owned()));
    // Chart templates are templates even when they happen to be valid YAML.
    let templates = loaded
        .documents
        .iter()
        .filter(|d| d.class == Class::Template)
        .count();
    assert_eq!(templates, 2);
    // Chart.yaml (apiVersion but no kind) and values.yaml are notes.
    let notes: Vec<_> = loaded.diagnostics.iter().map(|d| d.rule.as_str()).collect();
    assert!(notes.iter().all(|r| r.starts_with("load/")), "{notes:?}");

    // Hidden folders when asked for, and .gitignore off.
    let opts = LoadOptions {
        include_hidden: true,
        respect_gitignore: false,
        ..LoadOptions::default()
    };
    let loaded = load(&[root.to_path_buf()], &opts);
    let all = names(&loaded);
    assert!(all.contains(&"ignored".to_string()) && all.contains(&"build-ignored".to_string()));
    assert!(!all.contains(&"git".to_string()), ".git is never walked");
    assert!(loaded.sources.iter().any(|s| s.name.contains(".github")));

    // Explicit paths are read whatever their extension or ignore status.
    let loaded = load(
        &[root.join("a/notes.txt"), root.join("ignored/x.yaml")],
        &LoadOptions::default(),
    );
    assert_eq!(names(&loaded), vec!["txt", "ignored"]);
    // A hidden folder given explicitly is walked.
    write(root, ".hidden/h.yaml", &ns("hidden"));
    let loaded = load(&[root.join(".hidden")], &LoadOptions::default());
    assert_eq!(names(&loaded), vec!["hidden"]);
}

#[test]
fn the_extensionless_kustomization_file_is_read_like_kustomize_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/Kustomization",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [ns.yaml]\n",
    );
    write(root, "app/ns.yaml", &ns("app"));
    // Only that exact name: other extensionless files stay unread.
    write(root, "app/kustomization", &ns("lowercase"));
    write(root, "app/Makefile", &ns("make"));
    let kustomization_docs = |opts: &LoadOptions| -> Vec<String> {
        load(&[root.to_path_buf()], opts)
            .documents
            .iter()
            .filter(|d| d.kind() == Some("Kustomization") || d.class == Class::Object)
            .map(|d| d.source.name.rsplit('/').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        kustomization_docs(&LoadOptions::default()),
        ["Kustomization", "ns.yaml"]
    );
    let without = LoadOptions {
        kustomization_files: false,
        ..LoadOptions::default()
    };
    assert_eq!(kustomization_docs(&without), ["ns.yaml"]);
}

#[test]
fn order_is_deterministic_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..50 {
        write(
            dir.path(),
            &format!("d{}/f{i:02}.yaml", i % 7),
            &format!("{}---\n{}", ns(&format!("x{i}")), ns(&format!("y{i}"))),
        );
    }
    let first = names(&load(&[dir.path().to_path_buf()], &LoadOptions::default()));
    assert_eq!(first.len(), 100);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let single =
        pool.install(|| names(&load(&[dir.path().to_path_buf()], &LoadOptions::default())));
    assert_eq!(first, single);
    let docs = load(&[dir.path().to_path_buf()], &LoadOptions::default()).documents;
    for pair in docs.windows(2) {
        let a = (pair[0].source.name.clone(), pair[0].doc_index);
        let b = (pair[1].source.name.clone(), pair[1].doc_index);
        assert!(a < b, "{a:?} before {b:?}");
    }
}

/// Loads `../shared/corpus` (outside the repository) when it exists.
#[test]
fn loads_the_shared_corpus_if_present() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        println!("skipped: {} is not present", corpus.display());
        return;
    };
    let opts = LoadOptions {
        include_hidden: true,
        ..LoadOptions::default()
    };
    for entry in entries.flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        let loaded = load(&[entry.path()], &opts);
        let objects = loaded
            .documents
            .iter()
            .filter(|d| d.class == Class::Object)
            .count();
        println!(
            "{}: {} files, {} documents, {} objects, {} diagnostics",
            entry.path().display(),
            loaded.sources.len(),
            loaded.documents.len(),
            objects,
            loaded.diagnostics.len()
        );
        assert!(objects > 0, "no objects from {}", entry.path().display());
        for d in &loaded.diagnostics {
            let loc = d
                .location
                .as_ref()
                .expect("every diagnostic has a location");
            assert!(loc.line >= 1 && loc.column >= 1, "{d:?}");
            assert!(d.help.is_some(), "{d:?}");
        }
    }
}
