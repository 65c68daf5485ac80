//! Loads the given paths and prints throughput: `cargo run -p homelab-manifest --example load
//! --release -- [--hidden] [--dump] PATH...` (set RAYON_NUM_THREADS to choose the thread count). With `--dump`,
//! prints every document's id and class and every diagnostic instead.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut dump = false;
    let mut hidden = false;
    let mut paths = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--dump" {
            dump = true;
        } else if arg == "--hidden" {
            hidden = true;
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    let opts = homelab_manifest::LoadOptions {
        include_hidden: hidden,
        ..Default::default()
    };
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    let loaded = homelab_manifest::load(&paths, &opts);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds().map(|after| after - cpu_before.unwrap_or(0.0));
    if dump {
        for d in &loaded.documents {
            println!("{} {:?} {}", d.start(), d.class, d.id());
        }
        for d in &loaded.diagnostics {
            println!(
                "{} {} {}: {}",
                d.location
                    .as_ref()
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                d.severity,
                d.rule,
                d.message
            );
        }
    }
    let bytes: usize = loaded.sources.iter().map(|s| s.text.len()).sum();
    let objects = loaded
        .documents
        .iter()
        .filter(|d| d.class == homelab_manifest::Class::Object)
        .count();
    let mut by_rule = std::collections::BTreeMap::<&str, usize>::new();
    for d in &loaded.diagnostics {
        *by_rule.entry(d.rule.as_str()).or_default() += 1;
    }
    println!(
        "threads={} files={} bytes={} documents={} objects={} diagnostics={:?}",
        rayon::current_num_threads(),
        loaded.sources.len(),
        bytes,
        loaded.documents.len(),
        objects,
        by_rule
    );
    println!(
        "time={:.3}s  {:.1} MB/s  {:.0} docs/s  {:.0} objects/s",
        elapsed,
        bytes as f64 / 1e6 / elapsed,
        loaded.documents.len() as f64 / elapsed,
        objects as f64 / elapsed
    );
    // CPU time is what a busy machine cannot distort (Linux only; 10 ms resolution).
    if let Some(cpu) = cpu {
        println!(
            "cpu={:.2}s  {:.1} MB per CPU-second  {:.0} docs per CPU-second",
            cpu,
            bytes as f64 / 1e6 / cpu,
            loaded.documents.len() as f64 / cpu
        );
    }
}

/// User + system CPU time of this process so far, from /proc/self/stat.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
