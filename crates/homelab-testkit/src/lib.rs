//! Test support shared by the workspace's test suites.
//!
//! Many tests run a real tool (yamllint, shellcheck, helm, kubectl, chromium, btrfs on a loop
//! device, ...). On a developer's machine a missing tool may skip such a test with a printed
//! reason; in CI (`CI` set to anything but empty, `0` or `false`) `.ci/run` installs every
//! tool, so a missing one is a broken CI and the test must fail instead of passing silently.

use std::process::{Command, Stdio};

/// Whether the tests run in CI, where every tool they need is installed and required.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// A test cannot run its real check because `why` (a tool, root, a device is missing).
/// In CI this fails the test; elsewhere it prints `SKIP test: why` and the caller returns.
#[track_caller]
pub fn unavailable(test: &str, why: &str) {
    if in_ci() {
        panic!("{test}: {why}; CI must provide it (see .ci/run)");
    }
    eprintln!("SKIP {test}: {why}");
    println!("SKIP {test}: {why}");
}

/// Whether `tool` runs (`tool args...` exits, whatever its status). When it does not,
/// [`unavailable`] is called for `test`, so in CI the test fails here.
#[track_caller]
pub fn require_tool(test: &str, tool: &str, args: &[&str]) -> bool {
    let runs = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !runs {
        unavailable(test, &format!("`{tool}` is not installed"));
    }
    runs
}

/// Whether `python3` can import every module in `modules`; like [`require_tool`] otherwise.
#[track_caller]
pub fn require_python_modules(test: &str, modules: &[&str]) -> bool {
    let ok = Command::new("python3")
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        unavailable(
            test,
            &format!(
                "python3 cannot import {} (pip install ...)",
                modules.join(", ")
            ),
        );
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_that_exists_is_found() {
        assert!(require_tool("self-test", "sh", &["-c", "true"]));
    }
}
