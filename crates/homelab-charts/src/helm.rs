//! The real `helm` binary, run the one way this crate needs it: bounded in time and output, in
//! a private empty home (no repositories, registries, plugins or kubeconfig of the user), and,
//! unless a command is explicitly a network command, with every proxy pointed at a closed port
//! so that nothing a chart or a repository says can reach the network.

use homelab_fs::process::{self, Finished};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Bounds of one helm run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    /// Bytes of standard output kept; a render that prints more is stopped.
    pub max_output: usize,
    /// Bytes of address space helm may map (`ulimit -v`): a chart's templates can build
    /// strings of any size (`repeat`) long before anything is printed. Go reserves about
    /// 600 MiB at start; the largest charts of the platform render under 1.5 GiB.
    pub max_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(60),
            max_output: 64 * 1024 * 1024,
            max_memory: 3 << 30,
        }
    }
}

/// Why a helm run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// helm could not be started.
    Spawn(String),
    /// helm ran longer than the limit and was stopped.
    Timeout(Duration),
    /// helm printed more than the limit and was stopped.
    OutputTooLarge(usize),
    /// helm went over its memory limit and was stopped.
    OutOfMemory(u64),
    /// helm exited with an error (its standard error, trimmed).
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "helm could not be started: {e}"),
            RunError::Timeout(t) => write!(f, "helm ran over {} s and was stopped", t.as_secs()),
            RunError::OutputTooLarge(n) => {
                write!(f, "helm printed over {n} bytes and was stopped")
            }
            RunError::OutOfMemory(n) => {
                write!(
                    f,
                    "helm used over {} MiB of memory and was stopped",
                    n >> 20
                )
            }
            RunError::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// A helm binary and its version.
#[derive(Debug, Clone)]
pub struct Helm {
    pub path: PathBuf,
    /// `v4.1.4`
    pub version: String,
    pub limits: Limits,
}

/// Where helm is found: `explicit` (`--helm`), else `HOMELAB_HELM`, else `helm` on `PATH`.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("--helm {}: no such file", path.display()))
        };
    }
    if let Some(path) = std::env::var_os("HOMELAB_HELM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("HOMELAB_HELM={}: no such file", path.display()))
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        let candidate = dir.join(if cfg!(windows) { "helm.exe" } else { "helm" });
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err("helm was not found on PATH".into())
}

impl Helm {
    /// Finds helm and asks its version (cached in `cache_dir` by the binary's size and
    /// modification time, so that a warm check does not start helm at all).
    pub fn new(
        explicit: Option<&Path>,
        limits: Limits,
        cache_dir: Option<&Path>,
    ) -> Result<Helm, String> {
        let path = locate(explicit)?;
        let stamp = std::fs::metadata(&path).ok().map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            crate::digest::sha256_hex(
                format!("{}\0{}\0{}", path.display(), m.len(), modified).as_bytes(),
            )
        });
        let cached = match (cache_dir, &stamp) {
            (Some(dir), Some(stamp)) => {
                std::fs::read_to_string(dir.join("helm-version").join(stamp))
                    .ok()
                    .map(|v| v.trim().to_string())
                    .filter(|v| v.starts_with('v') && v.len() < 64)
            }
            _ => None,
        };
        let mut helm = Helm {
            path,
            version: String::new(),
            limits,
        };
        if let Some(version) = cached {
            helm.version = version;
            return Ok(helm);
        }
        let home =
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        let out = helm
            .run(
                &["version".into(), "--template".into(), "{{.Version}}".into()],
                home.path(),
                false,
            )
            .map_err(|e| format!("{}: {e}", helm.path.display()))?;
        let version = out.trim().to_string();
        if !version.starts_with('v') {
            return Err(format!(
                "{} does not look like helm (`helm version` printed {:?})",
                helm.path.display(),
                version.chars().take(80).collect::<String>()
            ));
        }
        if let (Some(dir), Some(stamp)) = (cache_dir, &stamp) {
            let _ = crate::cache::write_atomic(
                &dir.join("helm-version").join(stamp),
                version.as_bytes(),
            );
        }
        helm.version = version;
        Ok(helm)
    }

    /// The major version (3, 4).
    pub fn major(&self) -> u32 {
        self.version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    /// Runs helm with `args` in `home` (a private folder that becomes its home, cache, config
    /// and data folders). With `network` false every proxy points at a closed local port.
    pub fn run(&self, args: &[OsString], home: &Path, network: bool) -> Result<String, RunError> {
        // The memory limit is set by a shell in the child just before it becomes helm: no
        // `unsafe` pre-exec hook, and helm does not start at all when the limit cannot be set.
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(format!(
                "ulimit -v {} || exit 125; exec \"$0\" \"$@\"",
                self.limits.max_memory / 1024
            ))
            .arg(&self.path)
            .args(args)
            .current_dir(home)
            .env_clear()
            .env("HOME", home)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("HELM_PLUGINS", home.join("plugins"))
            .env("HELM_NO_PLUGINS", "1")
            .env("HELM_REGISTRY_CONFIG", home.join("config/registry.json"))
            .env(
                "HELM_REPOSITORY_CONFIG",
                home.join("config/repositories.yaml"),
            )
            .env("HELM_REPOSITORY_CACHE", home.join("cache/repository"))
            .env("KUBECONFIG", home.join("kubeconfig"))
            .env("NO_COLOR", "1");
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        if network {
            for key in [
                "HTTPS_PROXY",
                "HTTP_PROXY",
                "NO_PROXY",
                "https_proxy",
                "http_proxy",
                "no_proxy",
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
            ] {
                if let Some(v) = std::env::var_os(key) {
                    command.env(key, v);
                }
            }
        } else {
            process::offline(&mut command);
        }
        let max = self.limits.max_output;
        let limits = process::Limits {
            timeout: self.limits.timeout,
            max_output: max as u64,
            max_errors: 64 * 1024,
        };
        let Finished {
            status,
            stdout,
            stderr,
        } = process::run_bounded(&mut command, limits).map_err(|e| match e {
            process::RunError::Spawn(e) => RunError::Spawn(e),
            process::RunError::Timeout => RunError::Timeout(self.limits.timeout),
            process::RunError::OutputTooLarge => RunError::OutputTooLarge(max),
        })?;
        if !status.success() {
            let text = String::from_utf8_lossy(&stderr);
            if status.code() == Some(125) {
                return Err(RunError::Spawn(
                    "the memory limit for helm could not be set".into(),
                ));
            }
            if text.contains("fatal error: out of memory")
                || text.contains("failed to reserve page summary memory")
                || text.contains("cannot allocate memory")
            {
                return Err(RunError::OutOfMemory(self.limits.max_memory));
            }
            let text: String = text
                .lines()
                .filter(|l| !l.starts_with("level=") && !l.trim().is_empty())
                .filter(|l| !l.contains("Use --debug flag"))
                .collect::<Vec<_>>()
                .join("\n");
            let text = text.trim_start_matches("Error: ").trim().to_string();
            return Err(RunError::Failed(if text.is_empty() {
                format!("helm exited with {status}")
            } else {
                text
            }));
        }
        String::from_utf8(stdout)
            .map_err(|_| RunError::Failed("helm printed text that is not UTF-8".into()))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_helm(dir: &Path) -> Helm {
        let path = dir.join("helm");
        std::fs::write(
            &path,
            "#!/bin/sh\ncase \"$1\" in\n  sleep) sleep 30;;\n  flood) yes;;\n  fail) echo 'level=WARN msg=x' >&2; echo 'Error: boom' >&2; exit 1;;\n  env) env;;\n  limit) ulimit -v;;\n  oom) echo 'fatal error: out of memory' >&2; exit 2;;\n  version) echo v9.9.9;;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Helm {
            path,
            version: "v9.9.9".into(),
            limits: Limits {
                timeout: Duration::from_secs(1),
                max_output: 4096,
                max_memory: 256 << 20,
            },
        }
    }

    #[test]
    fn runs_are_bounded_in_time_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let helm = fake_helm(dir.path());
        assert_eq!(
            helm.run(&["sleep".into()], dir.path(), false),
            Err(RunError::Timeout(Duration::from_secs(1)))
        );
        assert_eq!(
            helm.run(&["flood".into()], dir.path(), false),
            Err(RunError::OutputTooLarge(4096))
        );
        assert_eq!(
            helm.run(&["fail".into()], dir.path(), false),
            Err(RunError::Failed("boom".into()))
        );
        assert_eq!(
            helm.run(&["limit".into()], dir.path(), false).as_deref(),
            Ok("262144\n"),
            "helm runs under its address-space limit"
        );
        assert_eq!(
            helm.run(&["oom".into()], dir.path(), false),
            Err(RunError::OutOfMemory(256 << 20))
        );
    }

    #[test]
    fn helm_runs_in_a_private_home_with_the_network_closed() {
        let dir = tempfile::tempdir().unwrap();
        let helm = fake_helm(dir.path());
        std::env::set_var("HOMELAB_TEST_LEAK", "x");
        let env = helm.run(&["env".into()], dir.path(), false).unwrap();
        assert!(env.contains("HTTPS_PROXY=http://127.0.0.1:9"), "{env}");
        assert!(
            env.contains(&format!("HOME={}", dir.path().display())),
            "{env}"
        );
        assert!(env.contains("HELM_NO_PLUGINS=1"));
        assert!(!env.contains("HOMELAB_TEST_LEAK"), "{env}");
        let online = helm.run(&["env".into()], dir.path(), true).unwrap();
        assert!(!online.contains("127.0.0.1:9"), "{online}");
    }

    #[test]
    fn the_version_is_asked_once_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake_helm(dir.path());
        let cache = tempfile::tempdir().unwrap();
        let helm = Helm::new(Some(&fake.path), Limits::default(), Some(cache.path())).unwrap();
        assert_eq!(helm.version, "v9.9.9");
        assert_eq!(helm.major(), 9);
        assert_eq!(
            std::fs::read_dir(cache.path().join("helm-version"))
                .unwrap()
                .count(),
            1
        );
        assert!(Helm::new(
            Some(Path::new("/nonexistent/helm")),
            Limits::default(),
            None
        )
        .is_err());
    }
}
