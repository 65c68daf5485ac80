//! Prints how a YAML text is read (documents, classes, values, diagnostics): `probe FILE`.
fn main() {
    let path = std::env::args().nth(1).expect("a file");
    let text = std::fs::read_to_string(&path).expect("readable");
    let (docs, diags) = homelab_manifest::parse_str(&path, &text);
    for d in &docs {
        println!("{} {:?} {}", d.start(), d.class, d.value);
    }
    for d in &diags {
        println!(
            "{:?} {} {}: {}",
            d.location.as_ref().map(|l| l.to_string()),
            d.severity,
            d.rule,
            d.message
        );
    }
}
