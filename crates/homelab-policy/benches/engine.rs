//! Throughput: 100 policies x 10,000 resources, evaluations per second at 1 and 2 threads.
//! Run with `cargo bench -p homelab-policy --bench engine` (release profile). Set
//! `BENCH_RESOURCES` to scale the resource count.

use homelab_policy::context::EvalContext;
use homelab_policy::engine::{PolicySet, Request};
use homelab_policy::values_file::ValuesFile;
use serde_json::{json, Value};
use std::time::Instant;

fn policies() -> Vec<Value> {
    (0..100)
        .map(|i| {
            let rule = match i % 5 {
                0 => json!({"name": "labels", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"message": "label app required", "pattern": {"metadata": {"labels": {"app": "?*"}}}}}),
                1 => json!({"name": "no-latest", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}}),
                2 => json!({"name": "limits", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"anyPattern": [
                        {"spec": {"containers": [{"resources": {"limits": {"memory": "<=2Gi"}}}]}},
                        {"spec": {"=(priorityClassName)": "system-*"}}]}}),
                3 => json!({"name": "replicas", "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
                    "validate": {"message": "{{ request.object.metadata.name }} needs replicas",
                        "deny": {"conditions": {"any": [{"key": "{{ request.object.spec.replicas }}", "operator": "LessThan", "value": 2}]}}}}),
                _ => json!({"name": "privileged", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"foreach": [{"list": "request.object.spec.containers",
                        "deny": {"conditions": {"any": [{"key": "{{ element.securityContext.privileged || `false` }}", "operator": "Equals", "value": true}]}}}]}}),
            };
            json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": format!("p{i}")},
                "spec": {"rules": [rule]}})
        })
        .collect()
}

fn resources(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let pod = json!({"metadata": {"labels": if i % 3 == 0 { json!({}) } else { json!({"app": "web"}) }},
                "spec": {"containers": [{"name": "c", "image": if i % 7 == 0 { "nginx:latest" } else { "nginx:1.27" },
                    "resources": {"limits": {"memory": if i % 2 == 0 { "1Gi" } else { "4Gi" }}},
                    "securityContext": {"privileged": i % 11 == 0}}]}});
            if i % 4 == 0 {
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("d{i}"), "namespace": "apps"},
                    "spec": {"replicas": i % 3, "template": pod}})
            } else {
                let mut p = pod;
                p["apiVersion"] = json!("v1");
                p["kind"] = json!("Pod");
                p["metadata"]["name"] = json!(format!("p{i}"));
                p["metadata"]["namespace"] = json!("apps");
                p
            }
        })
        .collect()
}

fn run(threads: usize, pols: &[Value], res: &[Value]) -> (f64, usize) {
    let set = PolicySet::compile(pols);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let start = Instant::now();
    let rules: usize = pool.install(|| {
        use rayon::prelude::*;
        res.par_iter()
            .map(|r| {
                let ctx = EvalContext::default();
                let values = ValuesFile::default();
                let req = Request {
                    ctx: &ctx,
                    exceptions: &[],
                    values: &values,
                };
                set.evaluate(r, &req)
                    .iter()
                    .map(|(_, x)| x.rules.len())
                    .sum::<usize>()
            })
            .sum()
    });
    (start.elapsed().as_secs_f64(), rules)
}

fn main() {
    let n: usize = std::env::var("BENCH_RESOURCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let pols = policies();
    let res = resources(n);
    let evals = pols.len() * res.len();
    for threads in [1, 2] {
        let (secs, rules) = run(threads, &pols, &res);
        println!(
            "policy-engine: {} policies x {} resources = {} evaluations ({} rule results), {} thread(s): {:.2} s, {:.0} evaluations/s",
            pols.len(),
            res.len(),
            evals,
            rules,
            threads,
            secs,
            evals as f64 / secs
        );
    }
}
