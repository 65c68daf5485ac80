//! Parsing `/proc/self/mountinfo` (proc(5)): which filesystem, subvolume and options are
//! really in effect at a path. Pure: takes the file's text, does no I/O.
//!
//! Line format: `id parent major:minor root mountpoint mount-opts [optional...] - fstype source
//! super-opts`. `root`, `mountpoint` and `source` escape space, tab, newline and backslash as
//! three-digit octal (`\040`, `\011`, `\012`, `\134`).

use std::path::{Component, Path};

/// One mount from mountinfo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mount {
    pub id: u64,
    pub parent: u64,
    /// `major:minor` of the filesystem (btrfs reports an anonymous `0:N`).
    pub dev: String,
    /// The path inside the filesystem that is mounted, e.g. `/@longhorn` for a btrfs subvolume.
    pub root: String,
    pub mountpoint: String,
    /// Per-mount options (`rw`, `noatime`, ...).
    pub mount_options: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Per-superblock options (`compress=zstd:1`, `space_cache=v2`, `subvol=/@longhorn`, ...).
    pub super_options: Vec<String>,
    /// 1-based line number in the mountinfo text (for evidence).
    pub line: usize,
}

impl Mount {
    /// Is `opt` (e.g. `noatime` or `compress=zstd:1`) in effect, in either option list?
    pub fn has_option(&self, opt: &str) -> bool {
        self.mount_options.iter().any(|o| o == opt) || self.super_options.iter().any(|o| o == opt)
    }

    /// Value of `key=` in the super options (e.g. `subvol`).
    pub fn super_value(&self, key: &str) -> Option<&str> {
        self.super_options
            .iter()
            .find_map(|o| o.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
    }

    /// The mounted btrfs subvolume path without its leading `/` (`@longhorn`), from
    /// `subvol=` when present, else from `root`.
    pub fn subvolume(&self) -> &str {
        self.super_value("subvol")
            .unwrap_or(&self.root)
            .trim_start_matches('/')
    }
}

/// A malformed mountinfo line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("mountinfo line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Undo the kernel's octal escaping (`\040` -> space). Anything that is not a valid three-digit
/// octal escape is kept as written.
pub fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if v <= 255 {
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse the whole file. Blank lines are skipped; a malformed line is an error (mountinfo is
/// written by the kernel, so a bad line means the wrong file was given).
pub fn parse(text: &str) -> Result<Vec<Mount>, ParseError> {
    let mut mounts = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let err = |message: &str| ParseError {
            line,
            message: message.to_string(),
        };
        let fields: Vec<&str> = raw.split(' ').filter(|f| !f.is_empty()).collect();
        let sep = fields
            .iter()
            .position(|f| *f == "-")
            .ok_or_else(|| err("no ` - ` separator before the filesystem type"))?;
        if sep < 6 {
            return Err(err("fewer than 6 fields before the ` - ` separator"));
        }
        if fields.len() < sep + 3 {
            // The source may be empty for some pseudo filesystems; accept 2 trailing fields.
            if fields.len() < sep + 2 {
                return Err(err("missing filesystem type after ` - `"));
            }
        }
        let id = fields[0]
            .parse()
            .map_err(|_| err("mount id is not a number"))?;
        let parent = fields[1]
            .parse()
            .map_err(|_| err("parent id is not a number"))?;
        let (source, super_opts) = if fields.len() >= sep + 4 {
            (fields[sep + 2], fields[sep + 3])
        } else if fields.len() == sep + 3 {
            (fields[sep + 2], "")
        } else {
            ("", "")
        };
        mounts.push(Mount {
            id,
            parent,
            dev: fields[2].to_string(),
            root: unescape_octal(fields[3]),
            mountpoint: unescape_octal(fields[4]),
            mount_options: split_opts(fields[5]),
            fstype: fields[sep + 1].to_string(),
            source: unescape_octal(source),
            super_options: split_opts(super_opts),
            line,
        });
    }
    Ok(mounts)
}

fn split_opts(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// The mount visible at exactly `mountpoint` (the last one wins: later mounts shadow earlier).
pub fn at_mountpoint<'a>(mounts: &'a [Mount], mountpoint: &Path) -> Option<&'a Mount> {
    let want = normalize(mountpoint);
    mounts
        .iter()
        .rev()
        .find(|m| normalize(Path::new(&m.mountpoint)) == want)
}

/// The mount that contains `path`: the longest mountpoint prefix, by whole path components;
/// among equal mountpoints the last one mounted.
pub fn containing<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    let want = normalize(path);
    let mut best: Option<(&Mount, usize)> = None;
    for m in mounts {
        let mp = normalize(Path::new(&m.mountpoint));
        if want.starts_with(&mp) {
            let depth = mp.len();
            if best.is_none_or(|(_, d)| depth >= d) {
                best = Some((m, depth));
            }
        }
    }
    best.map(|(m, _)| m)
}

/// Path components, ignoring `.` and trailing slashes (no filesystem access, no symlinks).
fn normalize(p: &Path) -> Vec<String> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
43 22 0:39 / /mnt/storage rw,relatime shared:20 - btrfs /dev/nvme0n1p2 rw,compress=zstd:1,space_cache=v2,subvolid=5,subvol=/
44 22 0:39 /@longhorn /var/lib/longhorn rw,noatime shared:21 - btrfs /dev/nvme0n1p2 rw,compress=zstd:1,discard=async,space_cache=v2,subvolid=256,subvol=/@longhorn
45 22 0:40 / /media/my\\040disk\\011x rw,relatime master:3 - vfat /dev/sdb1 rw,fmask=0022
46 44 0:41 / /var/lib/longhorn/sub rw - tmpfs tmpfs rw
";

    #[test]
    fn parses_fields_and_optional_fields() {
        let m = parse(SAMPLE).unwrap();
        assert_eq!(m.len(), 5);
        let lh = &m[2];
        assert_eq!(lh.id, 44);
        assert_eq!(lh.root, "/@longhorn");
        assert_eq!(lh.mountpoint, "/var/lib/longhorn");
        assert_eq!(lh.fstype, "btrfs");
        assert_eq!(lh.source, "/dev/nvme0n1p2");
        assert!(lh.has_option("noatime"));
        assert!(lh.has_option("compress=zstd:1"));
        assert!(lh.has_option("discard=async"));
        assert!(!lh.has_option("compress=zstd:3"));
        assert_eq!(lh.subvolume(), "@longhorn");
        assert_eq!(lh.line, 3);
        assert_eq!(m[1].subvolume(), "");
    }

    #[test]
    fn octal_escapes_in_mountpoint() {
        let m = parse(SAMPLE).unwrap();
        assert_eq!(m[3].mountpoint, "/media/my disk\tx");
        assert_eq!(unescape_octal("a\\134b"), "a\\b");
        assert_eq!(unescape_octal("new\\012line"), "new\nline");
        // Not an escape: kept.
        assert_eq!(unescape_octal("x\\9y\\"), "x\\9y\\");
        assert_eq!(unescape_octal("\\04"), "\\04");
        let found = at_mountpoint(&m, Path::new("/media/my disk\tx")).unwrap();
        assert_eq!(found.fstype, "vfat");
    }

    #[test]
    fn containing_uses_whole_components_and_last_mount() {
        let m = parse(SAMPLE).unwrap();
        assert_eq!(
            containing(&m, Path::new("/var/lib/longhorn/replicas/x"))
                .unwrap()
                .id,
            44
        );
        assert_eq!(
            containing(&m, Path::new("/var/lib/longhorn-other"))
                .unwrap()
                .id,
            22
        );
        assert_eq!(
            containing(&m, Path::new("/var/lib/longhorn/sub/y"))
                .unwrap()
                .id,
            46
        );
        assert_eq!(
            containing(&m, Path::new("/var/lib/longhorn/")).unwrap().id,
            44
        );
        // Overmount: a later mount on the same point shadows the earlier.
        let over = format!("{SAMPLE}47 22 0:42 / /var/lib/longhorn rw - ext4 /dev/sdc1 rw\n");
        let m = parse(&over).unwrap();
        assert_eq!(
            at_mountpoint(&m, Path::new("/var/lib/longhorn"))
                .unwrap()
                .fstype,
            "ext4"
        );
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let e = parse("22 1 0:21 / / rw\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("\nx 1 0:21 / / rw - ext4 /dev/sda rw\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("mount id"));
    }
}
