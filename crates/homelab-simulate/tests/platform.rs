//! Regression cases for admission webhooks, network flows, priority and storage: each
//! asserts the class, the object and the line of the stall (or its absence once fixed).

use homelab_manifest::{parse_str, Class, Document};
use homelab_simulate::{class, simulate, Input, Node, Object, Simulation, Stall, Taint};

fn nodes() -> Vec<Node> {
    let plain = Node::new("homelab", 4, 16, 0);
    let mut gpu = Node::new("akula-prime", 8, 32, 1);
    gpu.labels
        .insert("nvidia.com/gpu.present".into(), "true".into());
    gpu.taints
        .push(Taint::parse("nvidia.com/gpu=true:NoSchedule").unwrap());
    vec![plain, gpu]
}

fn docs(yaml: &str) -> Vec<Document> {
    let (docs, problems) = parse_str("repo.yaml", yaml);
    assert!(problems.is_empty(), "{problems:?}");
    docs.into_iter()
        .filter(|d| d.class == Class::Object)
        .collect()
}

fn run_on(yaml: &str, nodes: Vec<Node>) -> Simulation {
    let docs = docs(yaml);
    let input = Input {
        objects: docs
            .iter()
            .map(|doc| Object {
                doc,
                application: None,
                repo_path: None,
                origin: None,
                patches: Vec::new(),
            })
            .collect(),
        nodes,
        ..Input::default()
    };
    simulate(&input)
}

fn run(yaml: &str) -> Simulation {
    run_on(yaml, nodes())
}

fn line_of(yaml: &str, needle: &str) -> u32 {
    yaml.lines().position(|l| l.contains(needle)).expect(needle) as u32 + 1
}

/// The line of the first `needle` after the line holding `anchor`.
fn line_after(yaml: &str, anchor: &str, needle: &str) -> u32 {
    let start = line_of(yaml, anchor) as usize;
    let offset = yaml
        .lines()
        .skip(start)
        .position(|l| l.contains(needle))
        .expect(needle);
    (start + offset) as u32 + 1
}

fn stall_of<'s>(sim: &'s Simulation, class: &str) -> &'s Stall {
    sim.stalls()
        .find(|s| s.class == class)
        .unwrap_or_else(|| panic!("no {class} stall:\n{}", sim.to_text()))
}

fn assert_converges(sim: &Simulation) {
    assert!(sim.converges(), "{}", sim.to_text());
}

const GUARD: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: guard, annotations: {argocd.argoproj.io/sync-wave: "-2"}}
---
apiVersion: v1
kind: Service
metadata: {name: guard-webhook, namespace: guard, annotations: {argocd.argoproj.io/sync-wave: "-2"}}
spec:
  selector: {app: guard}
  ports: [{port: 443, targetPort: 9443}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guard, namespace: guard, annotations: {argocd.argoproj.io/sync-wave: "BACKEND_WAVE"}}
spec:
  selector: {matchLabels: {app: guard}}
  template:
    metadata: {labels: {app: guard}}
    spec:
      containers:
        - name: guard
          image: example.org/guard:1.0
          resources: {requests: {cpu: CPU, memory: 64Mi}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: guard, annotations: {argocd.argoproj.io/sync-wave: "-2"}}
webhooks:
  - name: pods.guard.example.org
    FAILURE_POLICY
    clientConfig: {service: {namespace: guard, name: guard-webhook}}
    rules:
      - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}
    namespaceSelector:
      matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [guard, kube-system]}
    admissionReviewVersions: [v1]
    sideEffects: None
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: example.org/web:1.0
          resources: {requests: {cpu: 100m, memory: 64Mi}}
"#;

fn guard(backend_wave: &str, cpu: &str, policy: &str) -> String {
    GUARD
        .replace("BACKEND_WAVE", backend_wave)
        .replace("CPU", cpu)
        .replace("FAILURE_POLICY", policy)
}

#[test]
fn a_fail_webhook_whose_backend_never_runs_blocks_what_it_matches() {
    // The backend asks for more CPU than any node has: it never runs, so every pod the
    // webhook matches is rejected, with the backend's own cause in the chain.
    let yaml = guard("-2", "64", "failurePolicy: Fail");
    let sim = run(&yaml);
    let s = stall_of(&sim, class::WEBHOOK_UNAVAILABLE);
    assert_eq!(s.object, "apps/v1/Deployment apps/web");
    assert_eq!(
        s.at.line,
        line_after(&yaml, "name: web, namespace: apps", "    spec:")
    );
    assert!(
        s.cause.contains("webhook `pods.guard.example.org`"),
        "{}",
        s.cause
    );
    assert!(
        s.cause.contains("repo.yaml:"),
        "names the webhook's file:line: {}",
        s.cause
    );
    assert!(
        s.cause.contains("insufficient cpu"),
        "cause chain: {}",
        s.cause
    );
    // The backend itself is in an excluded namespace: only its capacity stalls it.
    assert!(sim
        .stalls()
        .any(|s| s.object.ends_with("guard/guard") && s.cause.contains("insufficient cpu")));

    // Ignore instead of Fail: the webhook is skipped when it cannot be reached.
    let ignore = guard("-2", "64", "failurePolicy: Ignore");
    assert!(run(&ignore)
        .stalls()
        .all(|s| s.class != class::WEBHOOK_UNAVAILABLE));
    // A backend that runs: nothing is blocked.
    assert_converges(&run(&guard("-2", "100m", "")));
}

#[test]
fn a_fail_webhook_whose_backend_comes_in_a_later_wave_deadlocks() {
    let yaml = guard("5", "100m", "");
    let sim = run(&yaml);
    let s = stall_of(&sim, class::WEBHOOK_UNAVAILABLE);
    assert_eq!(s.object, "apps/v1/Deployment apps/web");
    assert_eq!(s.wave, 0);
    assert!(s.cause.contains("created only in wave 5"), "{}", s.cause);
}

#[test]
fn a_webhook_that_matches_its_own_backend_pods_blocks_them() {
    // The namespaceSelector no longer leaves the webhook's own namespace out, and the
    // configuration exists before the backend's wave.
    let yaml =
        guard("0", "100m", "").replace("values: [guard, kube-system]", "values: [kube-system]");
    let sim = run(&yaml);
    let s = sim
        .stalls()
        .find(|s| s.object.ends_with("guard/guard"))
        .unwrap_or_else(|| panic!("{}", sim.to_text()));
    assert_eq!(s.class, class::WEBHOOK_UNAVAILABLE);
    assert!(s.cause.contains("these very pods"), "{}", s.cause);
}

const FLOWS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: ai}
---
apiVersion: v1
kind: Service
metadata: {name: llm, namespace: ai}
spec:
  selector: {app: llm}
  ports: [{name: http, port: 4000, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm, namespace: ai}
spec:
  selector: {matchLabels: {app: llm}}
  template:
    metadata: {labels: {app: llm}}
    spec:
      containers:
        - name: llm
          image: example.org/llm:1.0
          ports: [{name: http, containerPort: 4000}]
          resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: chat, namespace: ai}
spec:
  selector: {matchLabels: {app: chat}}
  template:
    metadata: {labels: {app: chat}}
    spec:
      containers:
        - name: chat
          image: example.org/chat:1.0
          env:
            - name: LLM_URL
              value: http://llm.ai.svc:4000/v1
          resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ai}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: ai}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
      ports: [{protocol: UDP, port: 53}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: chat-egress, namespace: ai}
spec:
  podSelector: {matchLabels: {app: chat}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app: llm}}}]
      ports: [{port: EGRESS_PORT}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: llm-ingress, namespace: ai}
spec:
  podSelector: {matchLabels: {app: llm}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: INGRESS_FROM}}}]
      ports: [{port: http}]
"#;

fn flows(egress_port: &str, ingress_from: &str) -> String {
    FLOWS
        .replace("EGRESS_PORT", egress_port)
        .replace("INGRESS_FROM", ingress_from)
}

#[test]
fn a_network_policy_that_cuts_a_flow_named_in_an_env_value_stalls_at_the_policy() {
    assert_converges(&run(&flows("4000", "chat")));

    // Egress opened on the wrong port: the default deny is blamed.
    let yaml = flows("8080", "chat");
    let sim = run(&yaml);
    let s = stall_of(&sim, class::NETWORK_POLICY);
    assert_eq!(
        s.object,
        "networking.k8s.io/v1/NetworkPolicy ai/default-deny"
    );
    // The policy's document starts at its apiVersion line.
    assert_eq!(s.at.line, line_of(&yaml, "kind: NetworkPolicy") - 1);
    assert!(
        s.cause
            .contains("Deployment ai/chat -> Deployment ai/llm on 4000/TCP"),
        "{}",
        s.cause
    );
    assert!(s.cause.contains("env LLM_URL"), "{}", s.cause);
    assert!(!sim.converges());

    // Ingress admits another app only.
    let yaml = flows("4000", "other");
    let sim = run(&yaml);
    let s = stall_of(&sim, class::NETWORK_POLICY);
    assert!(
        s.cause.contains("ingress to Deployment ai/llm"),
        "{}",
        s.cause
    );
}

#[test]
fn dns_and_ingress_controller_flows_are_required_too() {
    // No DNS egress for a pod that reaches a Service by name.
    let yaml = flows("4000", "chat").replace(
        "ports: [{protocol: UDP, port: 53}]",
        "ports: [{protocol: UDP, port: 5353}]",
    );
    let sim = run(&yaml);
    let s = stall_of(&sim, class::NETWORK_POLICY);
    assert!(s.cause.contains("kube-dns"), "{}", s.cause);

    // An Ingress to the llm Service: Traefik has to reach it, and llm-ingress admits chat only.
    let ingress = r#"
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: llm, namespace: ai}
spec:
  rules:
    - host: llm.lan
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: llm, port: {number: 4000}}}
"#;
    let yaml = flows("4000", "chat") + ingress;
    let sim = run(&yaml);
    let s = stall_of(&sim, class::NETWORK_POLICY);
    assert!(
        s.cause
            .contains("k3s Traefik (kube-system) -> Deployment ai/llm"),
        "{}",
        s.cause
    );
    // The default deny is blamed; the cause names every policy that governs the pod.
    assert_eq!(
        s.object,
        "networking.k8s.io/v1/NetworkPolicy ai/default-deny"
    );
    assert!(s.cause.contains("`ai/llm-ingress`"), "{}", s.cause);
}

#[test]
fn priority_places_what_must_fit_first_and_preempts_what_may_wait() {
    // One 4-core node: a low-priority batch job fills it in wave 0; the critical service
    // of wave 1 preempts it.
    let yaml = r#"
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: critical, annotations: {argocd.argoproj.io/sync-wave: "-1"}}
value: 1000000
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: default}
spec:
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec:
      containers:
        - {name: b, image: example.org/b:1, resources: {requests: {cpu: "3", memory: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default, annotations: {argocd.argoproj.io/sync-wave: "1"}}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      priorityClassName: critical
      containers:
        - {name: a, image: example.org/a:1, resources: {requests: {cpu: "2", memory: 1Gi}}}
"#;
    let sim = run_on(yaml, vec![Node::new("small", 4, 16, 0)]);
    let s = stall_of(&sim, class::PREEMPTED);
    assert_eq!(s.object, "apps/v1/Deployment default/batch");
    assert_eq!(s.wave, 1);
    assert!(
        s.cause.contains("preempted by Deployment default/api"),
        "{}",
        s.cause
    );
    assert!(sim.stalls().all(|s| !s.object.ends_with("default/api")));

    // In one wave, the higher priority goes first whatever the file order.
    let same_wave = yaml.replace("argocd.argoproj.io/sync-wave: \"1\"", "x: \"y\"");
    let sim = run_on(&same_wave, vec![Node::new("small", 4, 16, 0)]);
    let pending = sim
        .stalls()
        .find(|s| s.object.ends_with("default/batch"))
        .unwrap_or_else(|| panic!("{}", sim.to_text()));
    assert_eq!(pending.class, class::OVERCOMMITTED, "{}", pending.cause);
    assert!(sim.stalls().all(|s| !s.object.ends_with("default/api")));

    // A PriorityClass created after the pods that name it: rejected at admission.
    let late = yaml.replace("sync-wave: \"-1\"", "sync-wave: \"3\"");
    let sim = run_on(&late, vec![Node::new("small", 4, 16, 0)]);
    let s = sim
        .stalls()
        .find(|s| s.object.ends_with("default/api"))
        .unwrap_or_else(|| panic!("{}", sim.to_text()));
    assert_eq!(s.class, class::ADMISSION);
    assert!(
        s.cause
            .contains("PriorityClass `critical` is created only in wave 3"),
        "{}",
        s.cause
    );
}

const STORAGE: &str = r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: replicated, annotations: {argocd.argoproj.io/sync-wave: "-2"}}
provisioner: driver.longhorn.io
parameters: {numberOfReplicas: "REPLICAS"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: longhorn-manager, namespace: kube-system, annotations: {argocd.argoproj.io/sync-wave: "-2"}}
spec:
  selector: {matchLabels: {app: lm}}
  template:
    metadata: {labels: {app: lm}}
    spec:
      TOLERATIONS
      containers:
        - {name: m, image: longhornio/longhorn-manager:v1.7.2, resources: {requests: {cpu: 50m, memory: 64Mi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: models, namespace: default}
spec:
  storageClassName: replicated
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ollama, namespace: default}
spec:
  selector: {matchLabels: {app: ollama}}
  template:
    metadata: {labels: {app: ollama}}
    spec:
      nodeSelector: {nvidia.com/gpu.present: "true"}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
      containers:
        - {name: o, image: ollama/ollama:0.5.1, resources: {requests: {cpu: "1", memory: 1Gi}}}
      volumes:
        - name: models
          persistentVolumeClaim: {claimName: models}
"#;

#[test]
fn a_volume_on_a_node_its_provisioner_does_not_run_on_never_attaches() {
    let yaml = STORAGE
        .replace("TOLERATIONS", "tolerations: []")
        .replace("REPLICAS", "1");
    let sim = run(&yaml);
    let s = stall_of(&sim, class::STORAGE_UNAVAILABLE);
    assert_eq!(s.object, "apps/v1/Deployment default/ollama");
    assert_eq!(s.at.line, line_of(&yaml, "        - name: models"));
    assert!(
        s.cause
            .contains("DaemonSet kube-system/longhorn-manager does not run on akula-prime"),
        "{}",
        s.cause
    );
    assert!(
        s.cause.contains("taint nvidia.com/gpu=true:NoSchedule"),
        "{}",
        s.cause
    );

    let fixed = STORAGE
        .replace("TOLERATIONS", "tolerations: [{operator: Exists}]")
        .replace("REPLICAS", "1");
    let sim = run(&fixed);
    assert_converges(&sim);
    assert!(sim.warnings.is_empty(), "{:?}", sim.warnings);

    // Three replicas on two storage nodes: a warning at the class's parameter.
    let sim = run(&STORAGE
        .replace("TOLERATIONS", "tolerations: [{operator: Exists}]")
        .replace("REPLICAS", "3"));
    assert_converges(&sim);
    assert_eq!(sim.warnings.len(), 1, "{:?}", sim.warnings);
    assert!(
        sim.warnings[0].contains("asks for 3 replicas but only 2 node(s)"),
        "{:?}",
        sim.warnings
    );
}

#[test]
fn a_local_volume_pins_every_pod_that_mounts_it_to_its_node() {
    let yaml = r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-path}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: default}
spec:
  storageClassName: local-path
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: writer, namespace: default}
spec:
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec:
      nodeSelector: {kubernetes.io/hostname: homelab}
      containers:
        - {name: w, image: example.org/w:1, resources: {requests: {cpu: 100m, memory: 64Mi}}}
      volumes:
        - {name: d, persistentVolumeClaim: {claimName: shared}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reader, namespace: default, annotations: {argocd.argoproj.io/sync-wave: "1"}}
spec:
  selector: {matchLabels: {app: r}}
  template:
    metadata: {labels: {app: r}}
    spec:
      nodeSelector: {kubernetes.io/hostname: akula-prime}
      tolerations: [{operator: Exists}]
      containers:
        - {name: r, image: example.org/r:1, resources: {requests: {cpu: 100m, memory: 64Mi}}}
      volumes:
        - {name: d, persistentVolumeClaim: {claimName: shared}}
"#;
    let sim = run(yaml);
    let s = sim
        .stalls()
        .find(|s| s.object.ends_with("default/reader"))
        .unwrap_or_else(|| panic!("{}", sim.to_text()));
    assert_eq!(s.class, class::UNSCHEDULABLE);
    assert!(
        s.cause.contains("claim `shared` lives on node homelab"),
        "{}",
        s.cause
    );
    let fixed = yaml.replace(
        "kubernetes.io/hostname: akula-prime",
        "kubernetes.io/hostname: homelab",
    );
    assert_converges(&run(&fixed));
}

#[test]
fn a_storage_class_created_after_its_claims_leaves_them_pending() {
    let yaml = STORAGE
        .replace("TOLERATIONS", "tolerations: [{operator: Exists}]")
        .replace("REPLICAS", "1")
        .replacen("sync-wave: \"-2\"", "sync-wave: \"2\"", 1);
    let sim = run(&yaml);
    let s = stall_of(&sim, class::STORAGE_CLASS_MISSING);
    assert_eq!(s.object, "v1/PersistentVolumeClaim default/models");
    assert_eq!(s.at.line, line_of(&yaml, "  storageClassName: replicated"));
}
