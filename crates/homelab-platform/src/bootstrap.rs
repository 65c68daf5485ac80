//! The ordered bootstrap from bare hosts to the root Application: one list that both the
//! README's "Bootstrap" section and the Taskfile's `bootstrap-*` tasks are rendered from, so
//! the two can never disagree on steps or order. Each step says where it runs, what it runs
//! and the check that tells it is done (the Taskfile's `status:`, which makes it idempotent).

use crate::config::Config;
use crate::model::Platform;
use crate::values::shell_quote;
use serde::Serialize;

/// One bootstrap step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The Taskfile task (`bootstrap-hosts`).
    pub task: String,
    /// Short title for the README.
    pub title: String,
    /// Where it runs (`each node, as root`, `the workstation`).
    pub on: String,
    /// What it does and why, for the README.
    pub explain: String,
    /// The commands (Taskfile `cmds:`).
    pub run: Vec<String>,
    /// Commands that all succeed when the step is already done (Taskfile `status:`).
    pub done_when: Vec<String>,
}

fn step(task: &str, title: &str, on: &str, explain: String, run: &[&str], done: &[&str]) -> Step {
    Step {
        task: format!("bootstrap-{task}"),
        title: title.to_string(),
        on: on.to_string(),
        explain,
        run: run.iter().map(|s| s.to_string()).collect(),
        done_when: done.iter().map(|s| s.to_string()).collect(),
    }
}

/// The steps, in order.
pub fn steps(config: &Config, platform: &Platform) -> Vec<Step> {
    let c = &config.components;
    let server = &config.k3s.server;
    let agents: Vec<&str> = config
        .nodes
        .iter()
        .filter(|n| &n.name != server)
        .map(|n| n.name.as_str())
        .collect();
    let mut out = vec![
        step(
            "hosts",
            "Host prerequisites",
            "each node, as root",
            format!(
                "Longhorn's iSCSI and NFS clients, the `iscsi_tcp` and `dm_crypt` modules, multipathd kept off Longhorn's devices{}. Idempotent; `--check` only verifies.",
                if platform.gpu_node.is_some() {
                    ", and on the GPU node the NVIDIA driver and container toolkit"
                } else {
                    ""
                }
            ),
            &["sudo scripts/host-prereqs.sh \"$(hostname)\""],
            &["sudo scripts/host-prereqs.sh --check \"$(hostname)\""],
        ),
        step(
            "storage",
            "Host storage",
            "each storage node, as root",
            format!(
                "The btrfs subvolume for Longhorn, its fstab line and the weekly snapshot timer on {}. Read docs/storage.md first.",
                platform.storage_nodes.join(", ")
            ),
            &[
                "sudo scripts/setup-btrfs-longhorn.sh",
                "sudo install -m 0755 scripts/btrfs-snapshot-longhorn.sh /usr/local/sbin/btrfs-snapshot-longhorn.sh",
                "sudo install -m 0644 host/systemd/longhorn-snapshot.service host/systemd/longhorn-snapshot.timer /etc/systemd/system/",
                "sudo systemctl daemon-reload",
                "sudo systemctl enable --now longhorn-snapshot.timer",
            ],
            &[
                "homelab host check",
                "systemctl is-enabled --quiet longhorn-snapshot.timer",
            ],
        ),
        step(
            "k3s-server",
            "k3s server",
            &format!("`{server}`, as root"),
            format!(
                "Installs k3s {} with host/k3s/{server}/config.yaml (node labels, taints, tls-san, kubelet reservations, no local-path StorageClass) and host/k3s/registries.yaml.",
                config.k3s.version
            ),
            &[&format!("sudo scripts/k3s-install.sh {}", shell_quote(server))],
            &[&format!(
                "sudo scripts/k3s-install.sh --check {}",
                shell_quote(server)
            )],
        ),
    ];
    if !agents.is_empty() {
        out.push(step(
            "k3s-agents",
            "Agents join",
            &format!("{}, as root", agents.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")),
            format!(
                "Copy the join token from the server first: `ssh root@{server} cat /var/lib/rancher/k3s/server/node-token | sudo install -D -m 0600 /dev/stdin /etc/rancher/k3s/join-token`. The agent joins https://{}:6443 with it.",
                platform
                    .nodes
                    .iter()
                    .find(|n| &n.name == server)
                    .map(|n| n.address.as_str())
                    .unwrap_or_default()
            ),
            &["sudo scripts/k3s-install.sh \"$(hostname)\""],
            &["sudo scripts/k3s-install.sh --check \"$(hostname)\""],
        ));
    }
    let mut helm_wait = vec![format!(
        "kubectl -n {} rollout status deploy/argocd-server --timeout=10s",
        shell_quote(&c.argocd.namespace)
    )];
    if c.sealed_secrets.enabled {
        helm_wait.push(format!(
            "kubectl -n {} rollout status deploy/sealed-secrets-controller --timeout=10s",
            shell_quote(&c.sealed_secrets.namespace)
        ));
    }
    let helm_wait: Vec<&str> = helm_wait.iter().map(String::as_str).collect();
    out.push(step(
        "releases",
        "Bootstrap releases",
        "the workstation (kubeconfig from the server: /etc/rancher/k3s/k3s.yaml, server address set to the server's)",
        "`helmfile apply` installs Longhorn, SealedSecrets, Kyverno and ArgoCD with the same charts and values ArgoCD later manages.".into(),
        &["helmfile apply"],
        &helm_wait,
    ));
    if c.sealed_secrets.enabled {
        out.push(step(
            "secrets",
            "Seal the secrets",
            "the workstation",
            "`homelab secrets init --fetch-cert` fetches the controller's certificate (through kubectl), generates the random keys, asks for the credentials made elsewhere (the GitHub App's id, installation id and private key file; typed without echo) and replaces each placeholder of docs/secrets.md with a SealedSecret. The GitLab Runner token waits for GitLab (last step). Back up the sealing keys off-cluster, commit and push: `homelab check` reports every placeholder left as an error.".into(),
            &[
                "homelab secrets init --fetch-cert .",
                "scripts/backup-sealing-keys.sh",
                "homelab check .",
            ],
            &["homelab secrets init --check ."],
        ));
    }
    out.push(step(
        "root-app",
        "Hand over to ArgoCD",
        "the workstation, after `git push`",
        "The app-of-apps root syncs every Application wave by wave (-2 .. 3).".into(),
        &["kubectl apply -f argocd/bootstrap/root-app.yaml"],
        &[&format!(
            "kubectl -n {} get application root",
            shell_quote(&c.argocd.namespace)
        )],
    ));
    if c.gitlab_runner.enabled {
        out.push(step(
            "gitlab-runner",
            "Register the GitLab Runner",
            "the workstation, once GitLab is Healthy",
            format!(
                "Create an instance runner in GitLab (Admin > CI/CD > Runners), then `homelab secrets init --fetch-cert --only gitlab-runner-token .` (paste the runner's authentication token when asked), commit and push. The runner is in the last wave ({}), so nothing waits for it.",
                c.gitlab_runner.sync_wave
            ),
            &["homelab secrets init --fetch-cert --only gitlab-runner-token ."],
            &["homelab secrets init --check --only gitlab-runner-token ."],
        ));
    }
    out
}
