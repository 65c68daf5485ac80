//! Unresolved merge conflicts: the `<<<<<<<` / `=======` / `>>>>>>>` lines git (or `homelab
//! render`) writes when two edits of the same lines meet. A file that still has them is
//! neither side's version: it gets one `yaml/merge-conflict` error per conflict at its
//! `<<<<<<<` line, instead of whatever the YAML parser makes of the marker lines.

use homelab_diagnostics::{Diagnostic, Location};

/// The rule ID of an unresolved conflict.
pub const RULE: &str = "yaml/merge-conflict";

fn is_marker(line: &str, marker: &str) -> bool {
    let line = line.trim_end_matches('\r');
    match line.strip_prefix(marker) {
        Some(rest) => rest.is_empty() || rest.starts_with(' '),
        None => false,
    }
}

/// One diagnostic per complete conflict (`<<<<<<<`, then `=======`, then `>>>>>>>`, each at
/// the start of a line). A lone marker-like line is not reported: it can be content.
pub fn find(file: &str, text: &str) -> Vec<Diagnostic> {
    if !text.contains("<<<<<<<") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    let mut middle = false;
    for (index, line) in text.split('\n').enumerate() {
        let number = index + 1;
        if is_marker(line, "<<<<<<<") {
            open = Some(number);
            middle = false;
        } else if open.is_some() && is_marker(line, "=======") {
            middle = true;
        } else if is_marker(line, ">>>>>>>") {
            if let (Some(start), true) = (open, middle) {
                let line_no = u32::try_from(start).unwrap_or(u32::MAX);
                out.push(
                    Diagnostic::error(
                        RULE,
                        format!(
                            "unresolved merge conflict (lines {start}-{number}): the file holds both sides and the conflict markers, so it is neither version"
                        ),
                    )
                    .at(Location::new(file, line_no, 1))
                    .with_help(
                        "keep the side you want (or combine them), delete the `<<<<<<<`, `=======` and `>>>>>>>` lines, then check again",
                    ),
                );
            }
            open = None;
            middle = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_conflict_is_reported_at_its_opening_marker() {
        let text = "a: 1\n<<<<<<< ours\nb: 2\n=======\nb: 3\n>>>>>>> theirs\nc: 4\n<<<<<<< HEAD\nd: 1\n||||||| base\nd: 0\n=======\nd: 2\n>>>>>>> feature\n";
        let found = find("f.yaml", text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].location.as_ref().map(|l| l.line), Some(2));
        assert!(found[0].message.contains("lines 2-6"));
        assert_eq!(found[1].location.as_ref().map(|l| l.line), Some(8));
    }

    #[test]
    fn marker_like_content_alone_is_not_a_conflict() {
        assert!(find("f.yaml", "title: |\n  =======\n  heading\n").is_empty());
        assert!(find("f.yaml", "a: \"<<<<<<< not at the start\"\n").is_empty());
        assert!(find("f.yaml", "<<<<<<<\nno middle\n>>>>>>>\n").is_empty());
    }
}
