//! `cargo xtask bench-validate [DIR]`: schema-validation throughput over a corpus
//! (default `../shared/corpus`), at 1 and 2 threads, printing MB/s and objects/s.
//!
//! Measures the same work as `homelab validate -strict`: read + parse every YAML/JSON file
//! (hidden folders included, as kubeconform walks them), register the CRDs found, validate
//! every object. Each thread count runs on a fresh validator (schemas compiled inside the
//! timing) and the best of three runs is reported.

use anyhow::{bail, Result};
use homelab_manifest::{Class, LoadOptions};
use homelab_schema::{Validator, ValidatorOptions, Validity};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub fn run(args: &[String]) -> Result<()> {
    let dir = PathBuf::from(args.first().map_or("../shared/corpus", String::as_str));
    if !dir.is_dir() {
        println!(
            "bench-validate: {} not found, nothing to measure",
            dir.display()
        );
        return Ok(());
    }
    let opts = LoadOptions {
        include_hidden: true,
        ..LoadOptions::default()
    };
    println!("corpus: {}", dir.display());
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let mut best: Option<(Duration, Duration, usize, usize, usize, [usize; 4])> = None;
        for _ in 0..3 {
            let (elapsed, load, bytes, files, objects, counts) =
                pool.install(|| -> Result<_> {
                    let start = Instant::now();
                    let loaded = homelab_manifest::load(std::slice::from_ref(&dir), &opts);
                    let loaded_at = start.elapsed();
                    let validator = Validator::new(ValidatorOptions::default())?;
                    validator.add_crds_from(&loaded.documents, Some(dir.as_path()));
                    let results = validator.check_all(&loaded.documents);
                    let elapsed = start.elapsed();
                    let mut counts = [0usize; 4];
                    for r in results.iter().flatten() {
                        counts[match r.status {
                            Validity::Valid => 0,
                            Validity::Invalid => 1,
                            Validity::Error => 2,
                            Validity::Skipped => 3,
                        }] += 1;
                    }
                    let bytes: usize = loaded.sources.iter().map(|s| s.text.len()).sum();
                    let objects = loaded
                        .documents
                        .iter()
                        .filter(|d| d.class == Class::Object)
                        .count();
                    Ok((
                        elapsed,
                        loaded_at,
                        bytes,
                        loaded.sources.len(),
                        objects,
                        counts,
                    ))
                })?;
            if best.is_none_or(|b| elapsed < b.0) {
                best = Some((elapsed, load, bytes, files, objects, counts));
            }
        }
        let Some((elapsed, load, bytes, files, objects, c)) = best else {
            bail!("no run")
        };
        let secs = elapsed.as_secs_f64();
        println!(
            "threads={threads}: {files} files, {:.1} MB, {objects} objects in {:.3} s (load+parse {:.3} s, validate {:.3} s) -> {:.1} MB/s, {:.0} objects/s (valid {}, invalid {}, errors {}, skipped {})",
            bytes as f64 / 1e6,
            secs,
            load.as_secs_f64(),
            secs - load.as_secs_f64(),
            bytes as f64 / 1e6 / secs,
            objects as f64 / secs,
            c[0], c[1], c[2], c[3]
        );
    }
    Ok(())
}
