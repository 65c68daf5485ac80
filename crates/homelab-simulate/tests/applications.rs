//! Applications that wait on their children: an app-of-apps whose child Applications sit in
//! two sync waves, the first of which never becomes Healthy. With Argo CD's health check for
//! Applications the parent waits at that wave (the second child is never created); without
//! it (Argo CD's default since 1.8) the parent goes on, and the simulation says that its
//! waves do not order what the children sync.

use homelab_diagnostics::Location;
use homelab_manifest::{parse_str, Class, Document};
use homelab_simulate::{
    assign_applications, class, simulate, snapshot, Input, Node, Object, Simulation,
};
use serde_json::Value;

/// The root (applied by hand) syncs `argocd/`: child `backend` in wave 1, child `frontend`
/// in wave 2. `backend`'s Deployment asks for a node label no node has when `stuck`.
fn repository(stuck: bool) -> Vec<(&'static str, String)> {
    let child = |name: &str, wave: i64| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  project: default\n  source: {{repoURL: 'https://example.org/repo.git', path: apps/{name}}}\n  destination: {{server: 'https://kubernetes.default.svc', namespace: {name}}}\n  syncPolicy:\n    syncOptions: [CreateNamespace=true]\n"
        )
    };
    let deployment = |name: &str, selector: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {name}}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:{selector}\n      containers: [{{name: {name}, image: 'example.org/{name}:1', resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]\n"
        )
    };
    let selector = if stuck {
        "\n      nodeSelector: {disk: nvme}"
    } else {
        ""
    };
    vec![
        (
            "bootstrap/root.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: root, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: 'https://example.org/repo.git', path: argocd}\n  destination: {server: 'https://kubernetes.default.svc', namespace: argocd}\n".to_string(),
        ),
        ("argocd/backend.yaml", child("backend", 1)),
        ("argocd/frontend.yaml", child("frontend", 2)),
        ("apps/backend/deployment.yaml", deployment("backend", selector)),
        ("apps/frontend/deployment.yaml", deployment("frontend", "")),
    ]
}

fn documents(files: &[(&'static str, String)]) -> Vec<(&'static str, Document)> {
    files
        .iter()
        .flat_map(|(path, text)| {
            let (docs, problems) = parse_str(path, text);
            assert!(problems.is_empty(), "{path}: {problems:?}");
            docs.into_iter()
                .filter(|d| d.class == Class::Object)
                .map(move |d| (*path, d))
        })
        .collect()
}

fn input<'d>(docs: &'d [(&'static str, Document)], assessed: bool) -> Input<'d> {
    let mut objects: Vec<Object<'_>> = docs
        .iter()
        .map(|(path, doc)| Object {
            doc,
            application: None,
            repo_path: Some(path.to_string()),
            origin: None,
            patches: Vec::new(),
        })
        .collect();
    assign_applications(&mut objects);
    Input {
        objects,
        nodes: vec![Node::new("homelab", 4, 16, 0)],
        application_health: assessed.then(|| Location {
            file: "infrastructure/argocd/values.yaml".into(),
            line: 13,
            column: 5,
        }),
        ..Input::default()
    }
}

fn app<'s>(sim: &'s Simulation, name: &str) -> &'s homelab_simulate::ApplicationState {
    sim.applications
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no Application {name}:\n{}", sim.to_text()))
}

fn healthy(sim: &Simulation) -> Vec<String> {
    sim.waves.iter().flat_map(|w| w.healthy.clone()).collect()
}

fn in_snapshot(snap: &Value, kind: &str, name: &str) -> Option<Value> {
    snap["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .cloned()
}

const FRONTEND: &str = "apps/v1/Deployment frontend/frontend";
const BACKEND: &str = "apps/v1/Deployment backend/backend";

#[test]
fn with_application_health_a_stalled_child_holds_its_parents_later_waves() {
    let files = repository(true);
    let docs = documents(&files);
    let input = input(&docs, true);
    let sim = simulate(&input);
    let text = sim.to_text();

    // The Deployment stalls inside the child, and the child itself stalls at its file:line
    // with the cause chain down to the Deployment's line.
    let stalls: Vec<_> = sim.stalls().collect();
    assert!(
        stalls
            .iter()
            .any(|s| s.object == BACKEND && s.class == class::UNSCHEDULABLE),
        "{text}"
    );
    let child = stalls
        .iter()
        .find(|s| s.class == class::APPLICATION_UNHEALTHY)
        .unwrap_or_else(|| panic!("no stall of the child Application:\n{text}"));
    assert_eq!(
        child.object,
        "argoproj.io/v1alpha1/Application argocd/backend"
    );
    assert_eq!(child.wave, 1);
    assert!(child.at.file.ends_with("argocd/backend.yaml"), "{child:?}");
    assert_eq!(child.at.line, 4, "the child's metadata.name");
    for part in [
        "Application backend is Degraded",
        BACKEND,
        "apps/backend/deployment.yaml:",
        "infrastructure/argocd/values.yaml:13",
        "Application root waits at sync wave 1",
    ] {
        assert!(child.cause.contains(part), "{part}: {}", child.cause);
    }

    // Wave 2 is never reached: the frontend child is never created, nor is what it syncs.
    assert!(!healthy(&sim).iter().any(|h| h == FRONTEND), "{text}");
    assert!(!stalls.iter().any(|s| s.object == FRONTEND), "{text}");
    let frontend = app(&sim, "frontend");
    assert!(!frontend.created);
    assert_eq!((frontend.sync, frontend.health), ("OutOfSync", "Missing"));
    let backend = app(&sim, "backend");
    assert!(backend.created);
    assert_eq!((backend.sync, backend.health), ("Synced", "Degraded"));
    let root = app(&sim, "root");
    assert_eq!((root.sync, root.health), ("OutOfSync", "Degraded"));
    assert!(
        text.contains("Application backend: Synced, Degraded"),
        "{text}"
    );
    assert!(
        text.contains("Application frontend: never created"),
        "{text}"
    );
    assert!(
        !sim.assumptions.iter().any(|a| a.contains("do not order")),
        "{:?}",
        sim.assumptions
    );

    // JSON, mermaid and dot carry the same statuses.
    let json = sim.to_json();
    let wave1 = json["waves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["wave"] == 1)
        .unwrap();
    assert_eq!(wave1["applications"][0]["name"], "backend");
    assert_eq!(
        wave1["applications"][0]["status"]["health"]["status"],
        "Degraded"
    );
    assert_eq!(json["assesses_application_health"], true);
    assert!(sim
        .to_mermaid()
        .contains("Application backend: Synced, Degraded"));
    assert!(sim.to_dot().contains("Application frontend: never created"));

    // The snapshot: Argo CD's status fields; the never-created child does not exist.
    let snap = snapshot(&input, &sim);
    let backend = in_snapshot(&snap, "Application", "backend").unwrap();
    assert_eq!(backend["status"]["health"]["status"], "Degraded");
    assert_eq!(backend["status"]["sync"]["status"], "Synced");
    assert!(in_snapshot(&snap, "Application", "frontend").is_none());
    assert!(in_snapshot(&snap, "Deployment", "frontend").is_none());
    let root = in_snapshot(&snap, "Application", "root").unwrap();
    assert_eq!(root["status"]["health"]["status"], "Degraded");
    assert_eq!(root["status"]["sync"]["status"], "OutOfSync");
    let resources = root["status"]["resources"].as_array().unwrap();
    let of = |name: &str| resources.iter().find(|r| r["name"] == name).unwrap();
    assert_eq!(of("backend")["health"]["status"], "Degraded");
    assert_eq!(of("frontend")["status"], "OutOfSync");
    assert_eq!(of("frontend")["health"]["status"], "Missing");
}

#[test]
fn with_application_health_healthy_children_let_every_wave_sync() {
    let files = repository(false);
    let docs = documents(&files);
    let input = input(&docs, true);
    let sim = simulate(&input);
    assert!(sim.converges(), "{}", sim.to_text());
    assert!(healthy(&sim).iter().any(|h| h == FRONTEND));
    for name in ["root", "backend", "frontend"] {
        let a = app(&sim, name);
        assert_eq!((a.sync, a.health, a.created), ("Synced", "Healthy", true));
    }
}

#[test]
fn without_application_health_the_parent_does_not_wait_and_says_so() {
    let files = repository(true);
    let docs = documents(&files);
    let input = input(&docs, false);
    let sim = simulate(&input);
    let text = sim.to_text();

    // The backend still stalls, but nothing waits for its Application: wave 2 syncs.
    assert!(sim.stalls().any(|s| s.object == BACKEND), "{text}");
    assert!(
        !sim.stalls()
            .any(|s| s.class == class::APPLICATION_UNHEALTHY),
        "{text}"
    );
    assert!(healthy(&sim).iter().any(|h| h == FRONTEND), "{text}");
    let frontend = app(&sim, "frontend");
    assert_eq!(
        (frontend.sync, frontend.health, frontend.created),
        ("Synced", "Healthy", true)
    );
    // The child reports its own health; the parent does not take it into its own.
    assert_eq!(app(&sim, "backend").health, "Degraded");
    assert_eq!(app(&sim, "root").health, "Healthy");
    let said = |part: &str| sim.assumptions.iter().any(|a| a.contains(part));
    assert!(
        said("Application root goes on to its next sync wave as soon as its child Applications exist, so its sync waves 1, 2 do not order"),
        "{:#?}",
        sim.assumptions
    );
    assert!(
        said("Application backend is Degraded") && said("does not wait for it"),
        "{:#?}",
        sim.assumptions
    );

    // In the snapshot the parent lists its children without health (Argo CD sets none).
    let snap = snapshot(&input, &sim);
    let root = in_snapshot(&snap, "Application", "root").unwrap();
    let resources = root["status"]["resources"].as_array().unwrap();
    for r in resources {
        assert_eq!(r["status"], "Synced");
        assert!(r.get("health").is_none(), "{r}");
    }
    assert_eq!(
        in_snapshot(&snap, "Application", "backend").unwrap()["status"]["health"]["status"],
        "Degraded"
    );
}

/// Inside one Application too, ArgoCD applies a sync wave only once the waves before it are
/// Healthy: a stalled wave 0 leaves wave 1 unapplied (OutOfSync).
#[test]
fn a_stalled_wave_inside_an_application_leaves_its_later_waves_unapplied() {
    let mut files = repository(true);
    files.push((
        "apps/backend/later.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  namespace: backend\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\ndata: {a: b}\n".to_string(),
    ));
    let docs = documents(&files);
    let sim = simulate(&input(&docs, false));
    let later = docs
        .iter()
        .position(|(_, d)| d.name() == Some("later"))
        .unwrap();
    assert!(sim.absent.contains(&later), "{}", sim.to_text());
    assert!(!healthy(&sim)
        .iter()
        .any(|h| h == "v1/ConfigMap backend/later"));
    let backend = app(&sim, "backend");
    assert_eq!((backend.sync, backend.health), ("OutOfSync", "Degraded"));
    // Without the stall, wave 1 is applied.
    let mut files = repository(false);
    files.push((
        "apps/backend/later.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  namespace: backend\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\ndata: {a: b}\n".to_string(),
    ));
    let docs = documents(&files);
    let sim = simulate(&input(&docs, false));
    assert!(healthy(&sim)
        .iter()
        .any(|h| h == "v1/ConfigMap backend/later"));
}
