//! Longhorn's and the GPU's host prerequisites, as `homelab host check` verifies them: the
//! iSCSI initiator (open-iscsi installed, iscsid running), the NFSv4 client (nfs-common),
//! the `iscsi_tcp` and `dm_crypt` kernel modules (loaded, or loadable by the running kernel),
//! multipathd kept off Longhorn's devices, and on a node with an NVIDIA GPU the driver and
//! the container toolkit the way k3s finds them (the `nvidia-container-runtime` binary, then
//! the `nvidia` runtime in the containerd config k3s writes).
//!
//! Every path is read under a [`PrereqEnv::root`] (`/` on the host, a folder of fake `/proc`,
//! `/sys`, `/etc` and `/lib/modules` files in tests) and the one question for systemd is a
//! function the caller gives: the verdicts are pure functions of what is found there. A
//! check that cannot be answered on this host (no module index, systemd not running and no
//! process table) says so with [`Verdict::NotCheckable`] rather than guessing.

use crate::check::{Item, Verdict};
use std::path::{Path, PathBuf};

/// Whether a systemd unit is active; `None` when systemd cannot be asked.
pub type UnitActive = Box<dyn Fn(&str) -> Option<bool>>;

/// Where the checks look.
pub struct PrereqEnv {
    /// Prefix of every absolute path read (`/` on the host).
    pub root: PathBuf,
    /// Folders searched for tools, as absolute paths of the host (read under `root`).
    pub tool_dirs: Vec<PathBuf>,
    /// Whether a systemd unit is active; `None` when systemd cannot be asked.
    pub unit_active: UnitActive,
}

/// Where k3s looks for the NVIDIA container runtime besides `PATH` (the GPU Operator's
/// toolkit folder).
const K3S_NVIDIA_DIRS: [&str; 1] = ["/usr/local/nvidia/toolkit"];
/// The containerd configuration k3s generates on an agent.
const K3S_CONTAINERD_CONFIG: &str = "/var/lib/rancher/k3s/agent/etc/containerd/config.toml";

impl PrereqEnv {
    /// The running host: `PATH` and the sbin folders, `systemctl is-active` when systemd runs.
    pub fn host(systemd_running: bool) -> PrereqEnv {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut tool_dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        for d in ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            if !tool_dirs.iter().any(|t| t == Path::new(d)) {
                tool_dirs.push(PathBuf::from(d));
            }
        }
        let unit_active: UnitActive = if systemd_running {
            Box::new(|unit: &str| {
                std::process::Command::new("systemctl")
                    .args(["is-active", unit])
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "active")
            })
        } else {
            Box::new(|_: &str| None)
        };
        PrereqEnv {
            root: PathBuf::from("/"),
            tool_dirs,
            unit_active,
        }
    }

    /// `path` (absolute, as on the host) under the root.
    fn at(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.at(path)).ok()
    }

    /// The first `tool` in the tool folders (then in `extra`), as a host path.
    fn tool(&self, tool: &str, extra: &[&str]) -> Option<PathBuf> {
        self.tool_dirs
            .iter()
            .cloned()
            .chain(extra.iter().map(PathBuf::from))
            .map(|d| d.join(tool))
            .find(|p| self.at(&p.to_string_lossy()).is_file())
    }
}

fn item(id: &str, verdict: Verdict, evidence: impl Into<String>) -> Item {
    Item {
        id: id.to_string(),
        verdict,
        evidence: evidence.into(),
    }
}

/// Every prerequisite item.
pub fn items(env: &PrereqEnv) -> Vec<Item> {
    let mut out = vec![open_iscsi(env), iscsid(env), nfs_client(env)];
    out.push(module(
        env,
        "iscsi_tcp",
        "Longhorn attaches volumes over iSCSI",
    ));
    out.push(module(
        env,
        "dm_crypt",
        "Longhorn's encrypted volumes use dm-crypt",
    ));
    out.push(multipath(env));
    out.extend(gpu(env));
    out
}

fn open_iscsi(env: &PrereqEnv) -> Item {
    let initiator = "/etc/iscsi/initiatorname.iscsi";
    match env.tool("iscsiadm", &[]) {
        None => item(
            "open-iscsi",
            Verdict::Fail,
            "iscsiadm not found: install open-iscsi (Debian/Ubuntu) or iscsi-initiator-utils",
        ),
        Some(p) if env.at(initiator).is_file() => item(
            "open-iscsi",
            Verdict::Pass,
            format!("{} present; {initiator} present", p.display()),
        ),
        Some(p) => item(
            "open-iscsi",
            Verdict::Fail,
            format!(
                "{} present but {initiator} is missing: reinstall open-iscsi (it generates the initiator name)",
                p.display()
            ),
        ),
    }
}

/// Names of the running processes, from `/proc/<pid>/comm` (`None`: no process table).
fn processes(env: &PrereqEnv) -> Option<Vec<String>> {
    let dir = std::fs::read_dir(env.at("/proc")).ok()?;
    let names: Vec<String> = dir
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .map(|s| s.trim().to_string())
        .collect();
    (!names.is_empty()).then_some(names)
}

fn iscsid(env: &PrereqEnv) -> Item {
    let running = processes(env).map(|p| p.iter().any(|n| n == "iscsid"));
    if running == Some(true) {
        return item("iscsid", Verdict::Pass, "an iscsid process is running");
    }
    let socket = (env.unit_active)("iscsid.socket");
    let service = (env.unit_active)("iscsid");
    match (running, service, socket) {
        (_, Some(true), _) => item("iscsid", Verdict::Pass, "iscsid.service is active"),
        (_, _, Some(true)) => item(
            "iscsid",
            Verdict::Pass,
            "iscsid.socket is active (systemd starts iscsid on the first connection)",
        ),
        (_, Some(false), _) | (_, _, Some(false)) => item(
            "iscsid",
            Verdict::Fail,
            "neither iscsid.service nor iscsid.socket is active and no iscsid runs: `systemctl enable --now iscsid`",
        ),
        (Some(false), None, None) => item(
            "iscsid",
            Verdict::Fail,
            "no iscsid process runs (systemd not running): start iscsid",
        ),
        (Some(true), None, None) => item("iscsid", Verdict::Pass, "an iscsid process is running"),
        (None, None, None) => item(
            "iscsid",
            Verdict::NotCheckable,
            "no process table under /proc and systemd cannot be asked",
        ),
    }
}

fn nfs_client(env: &PrereqEnv) -> Item {
    match env.tool("mount.nfs4", &[]).or_else(|| env.tool("mount.nfs", &[])) {
        Some(p) => item("nfs4-client", Verdict::Pass, format!("{} present", p.display())),
        None => item(
            "nfs4-client",
            Verdict::Fail,
            "mount.nfs4 not found: install nfs-common (Debian/Ubuntu) or nfs-utils (Longhorn RWX volumes and backups need the NFSv4 client)",
        ),
    }
}

/// Kernel module names use `_`; file names in the module index often use `-`.
fn same_module(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x == y || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_')))
}

/// The module name of a `modules.dep` / `modules.builtin` path (`kernel/drivers/md/dm-crypt.ko.zst`).
fn module_of(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file)
}

fn module(env: &PrereqEnv, name: &str, why: &str) -> Item {
    let id = format!("module:{name}");
    let loaded = env.read("/proc/modules").is_some_and(|m| {
        m.lines()
            .filter_map(|l| l.split_whitespace().next())
            .any(|m| same_module(m, name))
    });
    if loaded {
        return item(
            &id,
            Verdict::Pass,
            format!("{name} is loaded (/proc/modules)"),
        );
    }
    if env.at(&format!("/sys/module/{name}")).is_dir() {
        return item(
            &id,
            Verdict::Pass,
            format!("{name} is loaded (/sys/module/{name})"),
        );
    }
    let Some(release) = env.read("/proc/sys/kernel/osrelease") else {
        return item(
            &id,
            Verdict::NotCheckable,
            "the kernel release is unknown (/proc/sys/kernel/osrelease)",
        );
    };
    let release = release.trim();
    let index = format!("/lib/modules/{release}");
    let builtin = env.read(&format!("{index}/modules.builtin"));
    let dep = env.read(&format!("{index}/modules.dep"));
    if dep.is_none() && builtin.is_none() {
        return item(
            &id,
            Verdict::NotCheckable,
            format!("{name} is not loaded and {index}/modules.dep is not readable here (a container?): cannot tell whether the kernel can load it"),
        );
    }
    if let Some(path) = builtin
        .iter()
        .flat_map(|b| b.lines())
        .find(|l| same_module(module_of(l), name))
    {
        return item(
            &id,
            Verdict::Pass,
            format!("{name} is built into kernel {release} ({path})"),
        );
    }
    match dep
        .iter()
        .flat_map(|d| d.lines())
        .filter_map(|l| l.split(':').next())
        .find(|p| same_module(module_of(p), name))
    {
        Some(path) => item(
            &id,
            Verdict::Pass,
            format!("{name} is not loaded but kernel {release} can load it ({index}/{path}); load it at boot: `echo {name} > /etc/modules-load.d/longhorn.conf`"),
        ),
        None => item(
            &id,
            Verdict::Fail,
            format!("kernel {release} has no {name} module ({index}/modules.dep): {why}; install the kernel's extra modules package"),
        ),
    }
}

fn multipath(env: &PrereqEnv) -> Item {
    let Some(p) = env.tool("multipathd", &[]) else {
        return item(
            "multipath",
            Verdict::Pass,
            "multipathd not installed: it cannot claim Longhorn's devices",
        );
    };
    let conf = env.read("/etc/multipath.conf").unwrap_or_default();
    if crate::check::blacklists_longhorn(&conf) {
        item(
            "multipath",
            Verdict::Pass,
            format!(
                "{} installed; /etc/multipath.conf blacklists devnode \"^sd[a-z0-9]+\"",
                p.display()
            ),
        )
    } else if (env.unit_active)("multipathd") == Some(false) {
        item(
            "multipath",
            Verdict::Pass,
            format!("{} installed but multipathd is not active", p.display()),
        )
    } else {
        item(
            "multipath",
            Verdict::Fail,
            format!("{} installed but /etc/multipath.conf has no blacklist {{ devnode \"^sd[a-z0-9]+\" }}: it can grab Longhorn's iSCSI disks (Longhorn KB: troubleshooting MountVolume.SetUp failed)", p.display()),
        )
    }
}

/// PCI addresses of NVIDIA display/3D controllers (vendor 0x10de, class 0x03xxxx).
fn nvidia_gpus(env: &PrereqEnv) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(env.at("/sys/bus/pci/devices")) else {
        return Vec::new();
    };
    let mut out: Vec<String> = dir
        .filter_map(Result::ok)
        .filter(|e| {
            let read = |f: &str| std::fs::read_to_string(e.path().join(f)).unwrap_or_default();
            read("vendor").trim() == "0x10de" && read("class").trim().starts_with("0x03")
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn gpu(env: &PrereqEnv) -> Vec<Item> {
    let gpus = nvidia_gpus(env);
    if gpus.is_empty() {
        return vec![item(
            "gpu",
            Verdict::Info,
            "no NVIDIA GPU on this node (no PCI device of vendor 0x10de): driver and toolkit not needed",
        )];
    }
    let mut out = vec![item(
        "gpu",
        Verdict::Info,
        format!("NVIDIA GPU at PCI {}", gpus.join(", ")),
    )];
    out.push(match env.read("/proc/driver/nvidia/version") {
        Some(v) => item(
            "gpu:driver",
            Verdict::Pass,
            format!("driver loaded: {}", v.lines().next().unwrap_or("").trim()),
        ),
        None => item(
            "gpu:driver",
            Verdict::Fail,
            "/proc/driver/nvidia/version is missing: the NVIDIA kernel driver is not loaded (install the driver, then reboot or `modprobe nvidia`)",
        ),
    });
    let runtime = env.tool("nvidia-container-runtime", &K3S_NVIDIA_DIRS);
    out.push(match &runtime {
        Some(p) => item(
            "gpu:container-toolkit",
            Verdict::Pass,
            format!("{} present: k3s finds it and adds the `nvidia` containerd runtime", p.display()),
        ),
        None => item(
            "gpu:container-toolkit",
            Verdict::Fail,
            "nvidia-container-runtime not found on PATH nor in /usr/local/nvidia/toolkit: install nvidia-container-toolkit, then restart k3s",
        ),
    });
    out.push(match env.read(K3S_CONTAINERD_CONFIG) {
        None => item(
            "gpu:k3s-runtime",
            Verdict::NotCheckable,
            format!("{K3S_CONTAINERD_CONFIG} not found: k3s has not started on this node yet"),
        ),
        Some(conf) if conf.contains("runtimes.\"nvidia\"]") || conf.contains("runtimes.'nvidia']") => item(
            "gpu:k3s-runtime",
            Verdict::Pass,
            format!("{K3S_CONTAINERD_CONFIG} defines the `nvidia` runtime"),
        ),
        Some(_) => item(
            "gpu:k3s-runtime",
            Verdict::Fail,
            format!(
                "{K3S_CONTAINERD_CONFIG} has no `nvidia` runtime: {}restart k3s so that it detects the toolkit",
                if runtime.is_none() { "install nvidia-container-toolkit, then " } else { "" }
            ),
        ),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake root: `files` are (host path, content).
    fn fake(files: &[(&str, &str)]) -> (tempfile::TempDir, PrereqEnv) {
        let tmp = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = tmp.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let env = PrereqEnv {
            root: tmp.path().to_path_buf(),
            tool_dirs: vec!["/usr/sbin".into(), "/usr/bin".into()],
            unit_active: Box::new(|_| None),
        };
        (tmp, env)
    }

    fn find<'a>(items: &'a [Item], id: &str) -> &'a Item {
        items
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id} in {items:#?}"))
    }

    const RELEASE: (&str, &str) = ("/proc/sys/kernel/osrelease", "6.8.0-49-generic\n");

    #[test]
    fn a_prepared_longhorn_node_passes() {
        let (_t, env) = fake(&[
            ("/usr/sbin/iscsiadm", ""),
            (
                "/etc/iscsi/initiatorname.iscsi",
                "InitiatorName=iqn.2004-10.com.ubuntu:01:abc\n",
            ),
            ("/proc/812/comm", "iscsid\n"),
            ("/proc/1/comm", "systemd\n"),
            ("/usr/sbin/mount.nfs4", ""),
            (
                "/proc/modules",
                "iscsi_tcp 24576 0 - Live 0x0\nlibiscsi_tcp 32768 1 iscsi_tcp, Live 0x0\n",
            ),
            RELEASE,
            (
                "/lib/modules/6.8.0-49-generic/modules.dep",
                "kernel/drivers/md/dm-crypt.ko.zst: kernel/drivers/md/dm-mod.ko.zst\n",
            ),
            ("/usr/sbin/multipathd", ""),
            (
                "/etc/multipath.conf",
                "blacklist {\n    devnode \"^sd[a-z0-9]+\"\n}\n",
            ),
        ]);
        let items = items(&env);
        for id in [
            "open-iscsi",
            "iscsid",
            "nfs4-client",
            "module:iscsi_tcp",
            "module:dm_crypt",
            "multipath",
        ] {
            assert_eq!(
                find(&items, id).verdict,
                Verdict::Pass,
                "{:#?}",
                find(&items, id)
            );
        }
        assert!(find(&items, "module:dm_crypt")
            .evidence
            .contains("can load it"));
        assert_eq!(find(&items, "gpu").verdict, Verdict::Info);
        assert!(!items.iter().any(|i| i.id.starts_with("gpu:")));
    }

    #[test]
    fn a_bare_node_fails_with_what_to_install() {
        let (_t, env) = fake(&[
            ("/proc/1/comm", "systemd\n"),
            ("/proc/modules", "ext4 1 0 - Live 0x0\n"),
            RELEASE,
            (
                "/lib/modules/6.8.0-49-generic/modules.dep",
                "kernel/fs/ext4/ext4.ko.zst:\n",
            ),
            ("/usr/sbin/multipathd", ""),
        ]);
        let items = items(&env);
        assert!(find(&items, "open-iscsi")
            .evidence
            .contains("install open-iscsi"));
        for id in [
            "open-iscsi",
            "iscsid",
            "nfs4-client",
            "module:iscsi_tcp",
            "module:dm_crypt",
            "multipath",
        ] {
            assert_eq!(
                find(&items, id).verdict,
                Verdict::Fail,
                "{:#?}",
                find(&items, id)
            );
        }
    }

    #[test]
    fn what_cannot_be_seen_is_not_checkable() {
        // A container: no process table, no module index, systemd not asked.
        let (_t, env) = fake(&[RELEASE]);
        let items = items(&env);
        assert_eq!(find(&items, "iscsid").verdict, Verdict::NotCheckable);
        assert_eq!(
            find(&items, "module:dm_crypt").verdict,
            Verdict::NotCheckable
        );
    }

    #[test]
    fn systemd_answers_for_a_socket_activated_iscsid() {
        let (_t, mut env) = fake(&[("/proc/1/comm", "systemd\n")]);
        env.unit_active = Box::new(|unit| Some(unit == "iscsid.socket"));
        assert_eq!(find(&items(&env), "iscsid").verdict, Verdict::Pass);
        env.unit_active = Box::new(|_| Some(false));
        assert_eq!(find(&items(&env), "iscsid").verdict, Verdict::Fail);
    }

    #[test]
    fn builtin_modules_count_as_loadable() {
        let (_t, env) = fake(&[
            RELEASE,
            (
                "/lib/modules/6.8.0-49-generic/modules.builtin",
                "kernel/drivers/md/dm-crypt.ko\n",
            ),
        ]);
        let dm = module(&env, "dm_crypt", "");
        assert_eq!(dm.verdict, Verdict::Pass, "{dm:#?}");
        assert!(dm.evidence.contains("built into"));
    }

    const GPU: [(&str, &str); 2] = [
        ("/sys/bus/pci/devices/0000:01:00.0/vendor", "0x10de\n"),
        ("/sys/bus/pci/devices/0000:01:00.0/class", "0x030000\n"),
    ];

    #[test]
    fn a_gpu_node_needs_the_driver_and_the_toolkit_k3s_detects() {
        let (_t, env) = fake(&GPU);
        let found = items(&env);
        assert!(find(&found, "gpu").evidence.contains("0000:01:00.0"));
        assert_eq!(find(&found, "gpu:driver").verdict, Verdict::Fail);
        assert_eq!(find(&found, "gpu:container-toolkit").verdict, Verdict::Fail);
        assert_eq!(
            find(&found, "gpu:k3s-runtime").verdict,
            Verdict::NotCheckable
        );

        let mut files = GPU.to_vec();
        files.extend([
            ("/proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.86.16\n"),
            ("/usr/local/nvidia/toolkit/nvidia-container-runtime", ""),
            (K3S_CONTAINERD_CONFIG, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"nvidia\"]\n  runtime_type = \"io.containerd.runc.v2\"\n"),
        ]);
        let (_t, env) = fake(&files);
        let items = items(&env);
        for id in ["gpu:driver", "gpu:container-toolkit", "gpu:k3s-runtime"] {
            assert_eq!(
                find(&items, id).verdict,
                Verdict::Pass,
                "{:#?}",
                find(&items, id)
            );
        }
        assert!(find(&items, "gpu:driver").evidence.contains("570.86.16"));
    }

    #[test]
    fn k3s_without_the_nvidia_runtime_fails() {
        let mut files = GPU.to_vec();
        files.push((K3S_CONTAINERD_CONFIG, "version = 3\n"));
        let (_t, env) = fake(&files);
        let item = items(&env)
            .into_iter()
            .find(|i| i.id == "gpu:k3s-runtime")
            .expect("item");
        assert_eq!(item.verdict, Verdict::Fail);
        assert!(item.evidence.contains("install nvidia-container-toolkit"));
    }

    /// On this machine: a module the kernel lists as loaded is reported loaded.
    #[test]
    fn the_real_host_agrees_with_its_module_table() {
        let Ok(modules) = std::fs::read_to_string("/proc/modules") else {
            return;
        };
        let Some(name) = modules
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .next()
        else {
            return;
        };
        let env = PrereqEnv::host(false);
        let found = module(&env, name, "");
        assert_eq!(found.verdict, Verdict::Pass, "{found:#?}");
    }
}
