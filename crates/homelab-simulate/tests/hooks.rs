//! ArgoCD resource hooks and the Helm hooks ArgoCD maps to them: PreSync hooks run before
//! the rest of their Application's sync (one that never completes stops it there), PostSync
//! hooks only after a sync whose objects all became Healthy, SyncFail/Skip/Helm test hooks
//! never in a sync that succeeds; hooks deleted on success are not in the converged cluster.

use homelab_manifest::{parse_str, Class, Document};
use homelab_simulate::{class, simulate, snapshot, Input, Node, Object, Simulation};
use serde_json::Value;

const APP: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source: {repoURL: 'https://example.org/repo.git', path: apps/web}
  destination: {server: 'https://kubernetes.default.svc', namespace: web}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: 'example.org/web:1'}]
"#;

/// A Job of Application `web` with these annotations, whose pod asks for a node label
/// `disk: nvme` when `stuck` (no node has it: it never runs).
fn job(name: &str, annotations: &str, stuck: bool) -> String {
    let selector = if stuck {
        "\n      nodeSelector: {disk: nvme}"
    } else {
        ""
    };
    format!(
        "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\nspec:\n  template:\n    spec:{selector}\n      restartPolicy: Never\n      containers: [{{name: {name}, image: 'example.org/{name}:1'}}]\n"
    )
}

fn docs(yaml: &str) -> Vec<Document> {
    let (docs, problems) = parse_str("apps/web/web.yaml", yaml);
    assert!(problems.is_empty(), "{problems:?}");
    docs.into_iter()
        .filter(|d| d.class == Class::Object)
        .collect()
}

fn input(docs: &[Document]) -> Input<'_> {
    Input {
        objects: docs
            .iter()
            .map(|doc| Object {
                doc,
                application: (doc.kind() != Some("Application")).then(|| "web".to_string()),
                repo_path: None,
                origin: None,
                patches: Vec::new(),
            })
            .collect(),
        nodes: vec![Node::new("homelab", 4, 16, 0)],
        ..Input::default()
    }
}

fn healthy(sim: &Simulation) -> Vec<String> {
    sim.waves.iter().flat_map(|w| w.healthy.clone()).collect()
}

/// The snapshot's objects of `kind` named `name`.
fn in_snapshot(input: &Input<'_>, sim: &Simulation, kind: &str, name: &str) -> Vec<Value> {
    snapshot(input, sim)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .cloned()
        .collect()
}

#[test]
fn a_pre_sync_job_that_never_completes_stops_the_sync_before_its_objects() {
    let yaml = format!(
        "{APP}{}",
        job("migrate", "argocd.argoproj.io/hook: PreSync", true)
    );
    let docs = docs(&yaml);
    let input = input(&docs);
    let sim = simulate(&input);
    let stall = sim.first_stall().expect("a stall");
    assert_eq!(stall.object, "batch/v1/Job migrate", "{}", sim.to_text());
    assert_eq!(stall.class, class::UNSCHEDULABLE);
    assert!(
        stall.cause.contains("a PreSync hook of Application web"),
        "{}",
        stall.cause
    );
    // The last pod spec of the file: the Job's.
    let lines: Vec<&str> = yaml.lines().collect();
    let spec_line = lines
        .iter()
        .rposition(|l| l.trim() == "spec:" && l.starts_with("    "))
        .unwrap() as u32
        + 1;
    assert_eq!(stall.at.line, spec_line, "the Job's pod spec");
    // The Deployment is never applied: neither Healthy nor stalled, and not in the cluster.
    assert!(!healthy(&sim).iter().any(|h| h.contains("Deployment")));
    assert_eq!(sim.stalls().count(), 1, "{}", sim.to_text());
    assert!(in_snapshot(&input, &sim, "Deployment", "web").is_empty());

    // The same Job without the hook annotation is one more object of the sync: the
    // Deployment is applied and runs beside it.
    let yaml = format!("{APP}{}", job("migrate", "", true));
    let docs = self::docs(&yaml);
    let sim = simulate(&self::input(&docs));
    assert!(!sim.converges());
    assert!(
        healthy(&sim).iter().any(|h| h.contains("Deployment web")),
        "{}",
        sim.to_text()
    );
}

#[test]
fn helm_install_hooks_are_argocd_phases_with_their_weight_as_wave() {
    // pre-install runs before the sync, whatever its kind's place in the order.
    let yaml = format!(
        "{APP}{}",
        job(
            "migrate",
            "helm.sh/hook: 'pre-install,pre-upgrade', helm.sh/hook-weight: '5'",
            true
        )
    );
    let docs = docs(&yaml);
    let sim = simulate(&input(&docs));
    let stall = sim.first_stall().expect("a stall");
    assert_eq!(stall.object, "batch/v1/Job migrate");
    assert!(stall.cause.contains("PreSync hook"), "{}", stall.cause);
    assert!(!healthy(&sim).iter().any(|h| h.contains("Deployment")));

    // A Helm test hook never runs in a sync: its Job would never run, yet nothing stalls.
    let yaml = format!("{APP}{}", job("smoke", "helm.sh/hook: test", true));
    let docs = self::docs(&yaml);
    let input = self::input(&docs);
    let sim = simulate(&input);
    assert!(sim.converges(), "{}", sim.to_text());
    assert!(in_snapshot(&input, &sim, "Job", "smoke").is_empty());
}

#[test]
fn sync_fail_and_skip_hooks_never_run_in_a_sync_that_succeeds() {
    let yaml = format!(
        "{APP}{}{}",
        job("cleanup", "argocd.argoproj.io/hook: SyncFail", true),
        job("manual", "argocd.argoproj.io/hook: Skip", true)
    );
    let docs = docs(&yaml);
    let input = input(&docs);
    let sim = simulate(&input);
    assert!(sim.converges(), "{}", sim.to_text());
    assert!(in_snapshot(&input, &sim, "Job", "cleanup").is_empty());
    assert!(in_snapshot(&input, &sim, "Job", "manual").is_empty());
}

#[test]
fn post_sync_hooks_run_after_a_healthy_sync_and_leave_the_cluster_by_their_delete_policy() {
    let yaml = format!(
        "{APP}{}{}",
        job(
            "notify",
            "argocd.argoproj.io/hook: PostSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded",
            false
        ),
        job("report", "argocd.argoproj.io/hook: PostSync", false)
    );
    let docs = docs(&yaml);
    let input = input(&docs);
    let sim = simulate(&input);
    assert!(sim.converges(), "{}", sim.to_text());
    let order = healthy(&sim);
    let deployment = order.iter().position(|h| h.contains("Deployment")).unwrap();
    let notify = order.iter().position(|h| h.contains("Job notify")).unwrap();
    assert!(deployment < notify, "PostSync after the sync: {order:?}");
    // HookSucceeded: deleted once done. The default (BeforeHookCreation) keeps it, Complete.
    assert!(in_snapshot(&input, &sim, "Job", "notify").is_empty());
    let report = in_snapshot(&input, &sim, "Job", "report");
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["status"]["conditions"][0]["type"], "Complete");
    // Hooks are not resources of their Application.
    let app = in_snapshot(&input, &sim, "Application", "web");
    let resources = app[0]["status"]["resources"].to_string();
    assert!(!resources.contains("report"), "{resources}");

    // When the sync's own objects stall, the PostSync hook never runs (and never stalls).
    let yaml = format!(
        "{}{}",
        APP.replace(
            "    spec:\n      containers",
            "    spec:\n      nodeSelector: {disk: nvme}\n      containers"
        ),
        job("notify", "argocd.argoproj.io/hook: PostSync", true)
    );
    let docs = self::docs(&yaml);
    let input = self::input(&docs);
    let sim = simulate(&input);
    let stalls: Vec<&str> = sim.stalls().map(|s| s.object.as_str()).collect();
    assert_eq!(stalls, ["apps/v1/Deployment web"], "{}", sim.to_text());
    assert!(in_snapshot(&input, &sim, "Job", "notify").is_empty());
}
