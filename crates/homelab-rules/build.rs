//! Collects each rule's documentation from the `//!` doc comment at the top of its file in
//! `src/rules/`, so the doc comment is the single source of `homelab rules --explain`.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new("src/rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/rules exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("mod.rs"))
        .collect();
    entries.sort();
    let mut out = String::from("/// (module name, documentation) of every rule file.\npub static RULE_DOCS: &[(&str, &str)] = &[\n");
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).expect("rule file readable");
        let doc: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                l.strip_prefix("//! ")
                    .unwrap_or(l.strip_prefix("//!").unwrap_or(l))
            })
            .collect();
        let module = path.file_stem().unwrap().to_string_lossy().to_string();
        let _ = writeln!(out, "    ({:?}, {:?}),", module, doc.join("\n"));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("rule_docs.rs");
    std::fs::write(dest, out).expect("write rule_docs.rs");
}
