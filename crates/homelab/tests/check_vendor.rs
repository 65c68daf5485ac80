//! `homelab check` on vendors' example, operator and workshop repositories (issue 18): sample
//! manifests that a tutorial fills in (`$IMAGE_URL`, `@NAME@`, `YOUR_KEY_HERE`), and
//! documentation that shows vendors' example credentials. Each test is a small repository of
//! its own that reproduced a false finding, and pins that it is gone while the true finding
//! beside it stays.

mod check_common;

use check_common::{check_json, write_file as write, Finding};
use std::path::Path;

/// Every diagnostic of `check ROOT`, notes included.
fn all(root: &Path) -> Vec<Finding> {
    check_common::diagnostics(&check_json(root, &[]).json, root)
}

fn of<'a>(found: &'a [Finding], rule: &str, file: &str) -> Vec<&'a Finding> {
    found
        .iter()
        .filter(|d| d.rule == rule && d.file == file)
        .collect()
}

/// Documentation that shows the vendors' own example credentials (AWS's
/// `AKIAIOSFODNN7EXAMPLE`, Slack's `xoxb-1234567890-...`) leaks nothing; a key id of the
/// same shape that is not an example stays an error.
#[test]
fn documented_example_credentials_are_not_leaks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "docs/whoami.md",
        "```\nUID    aws-iam-authenticator:1234567890:AKIAIOSFODNN7EXAMPLE\n```\n\n\
         | `token` | The app's OAuth access token. | `xoxb-1234567890-1234567890123-5n38u5ed63fgzqlvuyxvxcx6` |\n",
    );
    write(
        root,
        "docs/ci.md",
        "```\nexport AWS_ACCESS_KEY_ID=AKIAZ3MHQ5T7PLX2WQ4R\n```\n",
    );
    let found = all(root);
    assert!(
        of(&found, "secrets/leaked-credential", "docs/whoami.md").is_empty(),
        "{found:#?}"
    );
    let leaked = of(&found, "secrets/leaked-credential", "docs/ci.md");
    assert!(
        leaked.len() == 1 && leaked[0].severity == "error",
        "{found:#?}"
    );
}
