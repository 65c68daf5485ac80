//! One regression case per stall class: a small repository (YAML text) on a two-node cluster
//! (a plain node and a GPU node tainted like the platform's), simulated; each case asserts the
//! class, the object and the line of the first stall, and that the fixed variant converges.

use homelab_manifest::{parse_str, Class, Document};
use homelab_simulate::{class, simulate, Input, Node, Object, Simulation, Taint};

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

fn run(yaml: &str) -> Simulation {
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
        nodes: nodes(),
        ..Input::default()
    };
    simulate(&input)
}

fn line_of(yaml: &str, needle: &str) -> u32 {
    yaml.lines().position(|l| l.contains(needle)).expect(needle) as u32 + 1
}

/// The first stall's class, object and line.
fn first(sim: &Simulation) -> (&'static str, String, u32) {
    let s = sim
        .first_stall()
        .unwrap_or_else(|| panic!("no stall:\n{}", sim.to_text()));
    (s.class, s.object.clone(), s.at.line)
}

const DEVICE_PLUGIN: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dp}}
  template:
    metadata: {labels: {app: dp}}
    spec:
      nodeSelector: {nvidia.com/gpu.present: "true"}
      TOLERATIONS
      containers:
        - name: dp
          image: nvcr.io/nvidia/k8s-device-plugin:v0.17.0
          resources: {requests: {cpu: 50m, memory: 64Mi}}
"#;

const OLLAMA: &str = r#"
---
apiVersion: v1
kind: Namespace
metadata: {name: ai}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ollama, namespace: ai}
spec:
  selector: {matchLabels: {app: ollama}}
  template:
    metadata: {labels: {app: ollama}}
    spec:
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
      containers:
        - name: ollama
          image: ollama/ollama:0.5.1
          resources: {requests: {cpu: "1", memory: 4Gi}, limits: {nvidia.com/gpu: 1}}
"#;

#[test]
fn a_device_plugin_daemonset_without_the_gpu_toleration_runs_nowhere_and_gpu_pods_stall() {
    let yaml = DEVICE_PLUGIN.replace("TOLERATIONS", "tolerations: []") + OLLAMA;
    let sim = run(&yaml);
    let (class, object, line) = first(&sim);
    assert_eq!(class, class::DAEMONSET_NOWHERE);
    assert_eq!(object, "apps/v1/DaemonSet kube-system/nvidia-device-plugin");
    assert_eq!(line, line_of(&yaml, "    spec:"));
    let cause = &sim.first_stall().unwrap().cause;
    assert!(
        cause.contains("taint nvidia.com/gpu=true:NoSchedule is not tolerated"),
        "{cause}"
    );
    let gpu = sim
        .stalls()
        .find(|s| s.object.ends_with("ai/ollama"))
        .expect("ollama stalls too");
    assert_eq!(gpu.class, class::NO_DEVICE_PLUGIN);
    assert!(
        gpu.cause
            .contains("the device plugin does not run on akula-prime"),
        "{}",
        gpu.cause
    );

    let fixed = DEVICE_PLUGIN.replace(
        "TOLERATIONS",
        "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]",
    ) + OLLAMA;
    let sim = run(&fixed);
    assert!(sim.converges(), "{}", sim.to_text());
    assert!(sim
        .placements
        .iter()
        .any(|(w, n)| w == "Deployment ai/ollama" && n == &["akula-prime"]));
}

#[test]
fn a_gpu_request_without_any_device_plugin_stalls() {
    let sim = run(OLLAMA);
    let (class, object, line) = first(&sim);
    assert_eq!(
        (class, object.as_str()),
        (class::NO_DEVICE_PLUGIN, "apps/v1/Deployment ai/ollama")
    );
    assert_eq!(line, line_of(OLLAMA, "    spec:"));
    assert!(sim
        .first_stall()
        .unwrap()
        .cause
        .contains("no device plugin DaemonSet runs on akula-prime"));
}

#[test]
fn a_pvc_waiting_for_a_consumer_that_never_comes_stalls() {
    let yaml = r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  storageClassName: local
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"#;
    let sim = run(yaml);
    assert_eq!(
        first(&sim),
        (
            class::PVC_NO_CONSUMER,
            "v1/PersistentVolumeClaim default/data".into(),
            line_of(yaml, "storageClassName: local")
        )
    );
    let consumer = format!("{yaml}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: user, namespace: default}}\nspec:\n  containers: [{{name: a, image: busybox:1.36}}]\n  volumes: [{{name: d, persistentVolumeClaim: {{claimName: data}}}}]\n");
    assert!(run(&consumer).converges(), "{}", run(&consumer).to_text());
}

#[test]
fn an_unsealable_sealed_secret_stalls_at_its_data() {
    let yaml = r#"
apiVersion: bitnami.com/v1alpha1
kind: CustomResourceDefinition
metadata: {name: placeholder}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, namespace: default}
spec:
  encryptedData:
    password: AgBy3i4OJSWK+PiTySYZZA==
"#;
    let sim = run(yaml);
    let (class, object, line) = first(&sim);
    assert_eq!(
        (class, object.as_str(), line),
        (
            class::UNSEALABLE,
            "bitnami.com/v1alpha1/SealedSecret default/db",
            line_of(yaml, "password:")
        )
    );
    let renamed = r#"
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, namespace: default}
spec:
  template:
    metadata: {name: other}
"#;
    let sim = run(renamed);
    assert_eq!(first(&sim).0, class::UNSEALABLE);
    assert!(sim.first_stall().unwrap().cause.contains("strict scope"));
}

#[test]
fn a_custom_resource_before_its_crds_wave_stalls() {
    let yaml = r#"
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: selfsigned
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec: {selfSigned: {}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusterissuers.cert-manager.io
  annotations: {argocd.argoproj.io/sync-wave: "2"}
spec:
  group: cert-manager.io
  names: {kind: ClusterIssuer, plural: clusterissuers}
  scope: Cluster
"#;
    let sim = run(yaml);
    assert_eq!(
        first(&sim),
        (
            class::CRD_LATER,
            "cert-manager.io/v1/ClusterIssuer selfsigned".into(),
            line_of(yaml, "kind: ClusterIssuer")
        )
    );
    // The same wave is fine: ArgoCD applies CRDs before custom resources.
    let same = yaml.replace("sync-wave: \"2\"", "sync-wave: \"1\"");
    assert!(run(&same).converges(), "{}", run(&same).to_text());
    // Not defined anywhere: an assumption, not a stall.
    let alone = run(yaml.split("---").next().unwrap());
    assert!(alone.converges());
    assert!(
        alone
            .assumptions
            .iter()
            .any(|a| a.contains("ClusterIssuer.cert-manager.io")),
        "{:?}",
        alone.assumptions
    );
}

#[test]
fn a_namespace_created_after_its_objects_stalls() {
    let yaml = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: late}
---
apiVersion: v1
kind: Namespace
metadata:
  name: late
  annotations: {argocd.argoproj.io/sync-wave: "3"}
"#;
    let sim = run(yaml);
    assert_eq!(
        first(&sim),
        (
            class::NAMESPACE_LATER,
            "v1/ConfigMap late/c".into(),
            line_of(yaml, "namespace: late")
        )
    );
}

#[test]
fn a_namespace_pod_security_level_rejects_a_privileged_pod() {
    let yaml = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels: {pod-security.kubernetes.io/enforce: baseline}
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
          image: nginx:1.27
          securityContext: {privileged: true}
"#;
    let sim = run(yaml);
    assert_eq!(
        first(&sim),
        (
            class::POD_SECURITY,
            "apps/v1/Deployment apps/web".into(),
            line_of(yaml, "    spec:")
        )
    );
    assert!(sim
        .first_stall()
        .unwrap()
        .cause
        .contains("container `web` is privileged"));
    assert!(run(&yaml.replace("privileged: true", "privileged: false")).converges());
}

#[test]
fn an_overcommitted_node_leaves_replicas_pending() {
    let yaml = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: big, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: big}}
  template:
    metadata: {labels: {app: big}}
    spec:
      containers:
        - name: big
          image: app:1.0
          resources: {requests: {cpu: "3", memory: 1Gi}}
"#;
    // One replica fits on the 4-core node; the GPU node is tainted; the second cannot fit.
    let sim = run(yaml);
    let (class, object, _) = first(&sim);
    assert_eq!(
        (class, object.as_str()),
        (class::UNSCHEDULABLE, "apps/v1/Deployment default/big")
    );
    let cause = &sim.first_stall().unwrap().cause;
    assert!(
        cause.contains("homelab: insufficient cpu (needs 3000m, 1000m free of 4000m)"),
        "{cause}"
    );
    assert!(
        cause.contains("akula-prime: taint nvidia.com/gpu=true:NoSchedule"),
        "{cause}"
    );
    assert!(run(&yaml.replace("replicas: 2", "replicas: 1")).converges());
    // Tolerating the taint: only capacity is left as the reason.
    let tolerant = yaml
        .replace(
            "      containers:",
            "      tolerations: [{operator: Exists}]\n      containers:",
        )
        .replace("replicas: 2", "replicas: 5");
    let sim = run(&tolerant);
    assert_eq!(first(&sim).0, class::OVERCOMMITTED, "{}", sim.to_text());
}

#[test]
fn admission_denials_from_the_caller_stall_the_object() {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n";
    let docs = docs(yaml);
    let input = Input {
        objects: vec![Object {
            doc: &docs[0],
            application: None,
            repo_path: None,
            origin: None,
            patches: Vec::new(),
        }],
        nodes: nodes(),
        denials: vec![homelab_simulate::Denial {
            object: 0,
            reason: "policy x blocks it".into(),
        }],
        ..Input::default()
    };
    let sim = simulate(&input);
    assert_eq!(first(&sim).0, class::ADMISSION);
}

#[test]
fn applications_carry_their_objects_into_their_wave() {
    let app = r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: late-app
  namespace: argocd
  annotations: {argocd.argoproj.io/sync-wave: "5"}
spec:
  source: {repoURL: https://example.invalid/repo.git, path: apps/late}
  destination: {namespace: late}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
"#;
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: late}\n";
    let (a, c) = (docs(app), docs(cm));
    let mut objects = vec![
        Object {
            doc: &a[0],
            application: None,
            repo_path: Some("argocd/apps/late.yaml".into()),
            origin: None,
            patches: Vec::new(),
        },
        Object {
            doc: &c[0],
            application: None,
            repo_path: Some("apps/late/cm.yaml".into()),
            origin: None,
            patches: Vec::new(),
        },
    ];
    homelab_simulate::assign_applications(&mut objects);
    assert_eq!(objects[1].application.as_deref(), Some("late-app"));
    assert_eq!(objects[0].application, None);
    let sim = simulate(&Input {
        objects,
        nodes: nodes(),
        ..Input::default()
    });
    assert!(sim.converges(), "{}", sim.to_text());
    // The Application is applied in its own wave (5) and its objects follow it there.
    let waves: Vec<(i64, usize)> = sim
        .waves
        .iter()
        .map(|w| (w.wave, w.healthy.len()))
        .collect();
    assert_eq!(waves, vec![(5, 2)]);
    assert!(sim.to_mermaid().contains("wave 5: 2 objects, Healthy"));
    assert_eq!(sim.to_json()["converges"], true);
}

#[test]
fn a_device_plugin_rejected_at_admission_is_named_by_the_gpu_pods_that_wait_for_it() {
    let yaml = DEVICE_PLUGIN.replace(
        "TOLERATIONS",
        "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]",
    ) + OLLAMA;
    let docs = docs(&yaml);
    let plugin = docs
        .iter()
        .position(|d| d.kind() == Some("DaemonSet"))
        .unwrap();
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
        nodes: nodes(),
        denials: vec![homelab_simulate::Denial {
            object: plugin,
            reason: "hostPath volumes are not allowed".into(),
        }],
        ..Input::default()
    };
    let sim = simulate(&input);
    assert_eq!(first(&sim).0, class::ADMISSION);
    let gpu = sim
        .stalls()
        .find(|s| s.object.ends_with("ai/ollama"))
        .expect("ollama stalls too");
    assert!(
        gpu.cause
            .contains("DaemonSet kube-system/nvidia-device-plugin: rejected at admission"),
        "{}",
        gpu.cause
    );
}

#[test]
fn an_object_argocd_does_not_health_check_never_holds_its_wave() {
    let yaml = r#"
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: db
  namespace: default
  annotations: {argocd.argoproj.io/ignore-healthcheck: "true"}
spec:
  encryptedData: {password: PLACEHOLDER}
"#;
    let sim = run(yaml);
    assert!(sim.converges(), "{}", sim.to_text());
    assert!(
        sim.assumptions.iter().any(
            |a| a.contains("SealedSecret default/db never becomes Healthy")
                && a.contains("not base64")
        ),
        "{:?}",
        sim.assumptions
    );
}

#[test]
fn with_unrendered_helm_sources_a_missing_device_plugin_is_an_assumption() {
    let docs = docs(OLLAMA);
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
        nodes: nodes(),
        incomplete: true,
        ..Input::default()
    };
    let sim = simulate(&input);
    assert!(sim.converges(), "{}", sim.to_text());
    assert!(
        sim.assumptions
            .iter()
            .any(|a| a.contains("nvidia.com/gpu is advertised on akula-prime")),
        "{:?}",
        sim.assumptions
    );
}

#[test]
fn the_snapshot_holds_pods_on_their_nodes_statuses_and_no_secret_values() {
    let yaml = DEVICE_PLUGIN.replace(
        "TOLERATIONS",
        "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]",
    ) + OLLAMA
        + r#"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sealed-secrets-controller, namespace: kube-system}
spec:
  selector: {matchLabels: {app: ss}}
  template:
    metadata: {labels: {app: ss}}
    spec:
      containers: [{name: c, image: docker.io/bitnami/sealed-secrets-controller:0.30.0}]
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, namespace: ai}
spec:
  encryptedData: {password: PLACEHOLDER}
"#;
    let docs = docs(&yaml);
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
        nodes: nodes(),
        ..Input::default()
    };
    let sim = simulate(&input);
    let snap = homelab_simulate::snapshot(&input, &sim);
    let items = snap["items"].as_array().unwrap();
    let find = |kind: &str, name: &str| {
        items
            .iter()
            .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
    };
    let ollama = find("Deployment", "ollama").unwrap();
    assert_eq!(ollama["status"]["availableReplicas"], 1);
    let pod = find("Pod", "ollama-0").expect("a pod of ollama");
    assert_eq!(pod["spec"]["nodeName"], "akula-prime");
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["metadata"]["labels"]["app"], "ollama");
    assert_eq!(
        find("DaemonSet", "nvidia-device-plugin").unwrap()["status"]["numberReady"],
        1
    );
    assert_eq!(
        find("Node", "akula-prime").unwrap()["status"]["allocatable"]["nvidia.com/gpu"],
        "1"
    );
    // The broken SealedSecret is not Synced and makes no Secret; the controller's key exists.
    assert_eq!(
        find("SealedSecret", "db").unwrap()["status"]["conditions"][0]["status"],
        "False"
    );
    assert!(find("Secret", "db").is_none());
    let key = find("Secret", "sealed-secrets-key").unwrap();
    assert_eq!(key["data"]["tls.key"], "");
    // Secrets carry key names only (a SealedSecret's ciphertext stays in the SealedSecret).
    for secret in items.iter().filter(|i| i["kind"] == "Secret") {
        for value in secret["data"].as_object().unwrap().values() {
            assert_eq!(value, "", "{secret}");
        }
    }
}

const SECRET_USER: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: api:1.0
          env:
            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password OPTIONAL}}
"#;

#[test]
fn a_pod_whose_secret_cannot_be_unsealed_never_starts_even_when_argocd_ignores_the_secret() {
    let sealed = r#"
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: db
  namespace: default
  annotations: {argocd.argoproj.io/ignore-healthcheck: "true"}
spec:
  encryptedData: {password: PLACEHOLDER}
"#;
    let yaml = SECRET_USER.replace(" OPTIONAL", "") + sealed;
    let sim = run(&yaml);
    let (class, object, line) = first(&sim);
    assert_eq!(
        (class, object.as_str()),
        (class::SECRET_UNAVAILABLE, "apps/v1/Deployment default/api")
    );
    assert_eq!(line, line_of(&yaml, "- name: PASSWORD"));
    let cause = &sim.first_stall().unwrap().cause;
    assert!(cause.contains("Secret `default/db` comes from bitnami.com/v1alpha1/SealedSecret default/db, which the controller cannot unseal"), "{cause}");
    // An optional reference does not hold the pod.
    assert!(run(&(SECRET_USER.replace(" OPTIONAL", ", optional: true") + sealed)).converges());
    // A plain Secret in the same wave is there in time.
    let plain = SECRET_USER.replace(" OPTIONAL", "")
        + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: default}\n";
    assert!(run(&plain).converges(), "{}", run(&plain).to_text());
    // Nothing makes it: an assumption.
    let alone = run(&SECRET_USER.replace(" OPTIONAL", ""));
    assert!(alone.converges());
    assert!(
        alone
            .assumptions
            .iter()
            .any(|a| a.contains("Secret `default/db` exists")),
        "{:?}",
        alone.assumptions
    );
}

#[test]
fn a_secret_made_in_a_later_wave_deadlocks_the_pod_that_needs_it() {
    let yaml = SECRET_USER.replace(" OPTIONAL", "")
        + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: default\n  annotations: {argocd.argoproj.io/sync-wave: \"2\"}\n";
    let sim = run(&yaml);
    assert_eq!(first(&sim).0, class::SECRET_UNAVAILABLE);
    assert!(sim
        .first_stall()
        .unwrap()
        .cause
        .contains("before wave 2 creates Secret `default/db`"));
}
