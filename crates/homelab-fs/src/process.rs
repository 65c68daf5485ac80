//! Running an external tool (helm, kubectl) on untrusted input: offline unless asked, bounded
//! in time and in output, its standard error kept for the message.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

/// How long a tool may run and how much it may print.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    /// Bytes of standard output at most (more is [`RunError::OutputTooLarge`]).
    pub max_output: u64,
    /// Bytes of standard error kept (the rest is not read).
    pub max_errors: u64,
}

/// Why a tool gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// It could not be started (or waited for).
    Spawn(String),
    /// It ran over the time limit and was stopped.
    Timeout,
    /// It printed more than the output limit.
    OutputTooLarge,
}

/// What a tool that ended printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Points every proxy variable of `command` at a closed port of the loopback (port 9,
/// discard), so that any connection attempt fails at once, and bypasses none.
pub fn offline(command: &mut Command) -> &mut Command {
    for key in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env(key, "http://127.0.0.1:9");
    }
    command.env("NO_PROXY", "").env("no_proxy", "")
}

/// Runs `command` without input, within `limits`. A tool that prints past a limit finds its
/// pipe closed (and is stopped by it or by the timeout); one that runs over the timeout is
/// killed.
pub fn run_bounded(command: &mut Command, limits: Limits) -> Result<Finished, RunError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RunError::Spawn(e.to_string()))?;
    let read = |stream: Option<Box<dyn Read + Send>>, max: u64| {
        std::thread::spawn(move || {
            let mut data = Vec::new();
            if let Some(stream) = stream {
                let _ = stream.take(max).read_to_end(&mut data);
            }
            data
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        limits.max_output + 1,
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        limits.max_errors,
    );
    let status = match child.wait_timeout(limits.timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Timeout);
        }
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Spawn(e.to_string()));
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if stdout.len() as u64 > limits.max_output {
        return Err(RunError::OutputTooLarge);
    }
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn limits(timeout_ms: u64, max_output: u64) -> Limits {
        Limits {
            timeout: Duration::from_millis(timeout_ms),
            max_output,
            max_errors: 64,
        }
    }

    fn sh(script: &str) -> Command {
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn output_and_errors_are_returned_within_their_bounds() {
        let done = run_bounded(
            &mut sh("echo out; echo err >&2; exit 3"),
            limits(10_000, 64),
        )
        .unwrap();
        assert_eq!(done.stdout, b"out\n");
        assert_eq!(done.stderr, b"err\n");
        assert_eq!(done.status.code(), Some(3));
        let long_errors =
            run_bounded(&mut sh("yes 1>&2 | head -c 1000 >&2"), limits(10_000, 64)).unwrap();
        assert_eq!(long_errors.stderr.len(), 64);
    }

    #[test]
    fn a_flood_a_stall_and_a_missing_tool_are_errors() {
        assert_eq!(
            run_bounded(&mut sh("yes"), limits(10_000, 4096)).unwrap_err(),
            RunError::OutputTooLarge
        );
        assert_eq!(
            run_bounded(&mut sh("sleep 30"), limits(300, 64)).unwrap_err(),
            RunError::Timeout
        );
        assert!(matches!(
            run_bounded(&mut Command::new("/nonexistent/tool"), limits(1000, 64)),
            Err(RunError::Spawn(_))
        ));
    }

    #[test]
    fn offline_points_every_proxy_at_a_closed_port() {
        let mut command = sh("env");
        command.env_clear();
        offline(&mut command);
        let done = run_bounded(&mut command, limits(10_000, 1 << 16)).unwrap();
        let env = String::from_utf8(done.stdout).unwrap();
        for key in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "HTTP_PROXY"] {
            assert!(
                env.contains(&format!("{key}=http://127.0.0.1:9\n")),
                "{env}"
            );
        }
        assert!(env.contains("NO_PROXY=\n"), "{env}");
    }
}
