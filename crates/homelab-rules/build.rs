//! Collects each rule's documentation from the `//!` doc comment at the top of its file,
//! `src/rules/<group>/<name>.rs` for the rule `<group>/<name>` (`_` in the file name is `-`
//! in the ID), so the doc comment is the single source of `homelab rules --explain`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn rule_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut groups: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/rules exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    for group in groups {
        let group_name = group.file_name().unwrap().to_string_lossy().to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&group)
            .expect("rule group readable")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        for file in files {
            let stem = file
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .replace('_', "-");
            out.push((format!("{group_name}/{stem}"), file));
        }
    }
    out
}

fn main() {
    let dir = Path::new("src/rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut out = String::from(
        "/// (rule ID from the file's path, documentation) of every rule file.\npub static RULE_DOCS: &[(&str, &str)] = &[\n",
    );
    for (id, path) in rule_files(dir) {
        println!("cargo:rerun-if-changed={}", path.display());
        if let Some(parent) = path.parent() {
            println!("cargo:rerun-if-changed={}", parent.display());
        }
        let text = std::fs::read_to_string(&path).expect("rule file readable");
        let doc: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                l.strip_prefix("//! ")
                    .unwrap_or(l.strip_prefix("//!").unwrap_or(l))
            })
            .collect();
        let _ = writeln!(out, "    ({:?}, {:?}),", id, doc.join("\n"));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("rule_docs.rs");
    std::fs::write(dest, out).expect("write rule_docs.rs");
}
