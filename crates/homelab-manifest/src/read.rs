//! Reading one input (a file or stdin) into a [`Source`], with the size bound checked before
//! reading and clear errors for binary files and invalid UTF-8. The only module that reads
//! file contents.

use crate::{LoadOptions, Source};
use homelab_diagnostics::{Diagnostic, Location};
use std::io::Read;
use std::path::Path;

/// Reads a file named `name` (as the user wrote it) at `path`. A file found by walking a
/// folder (`walked`) is opened without following a link and read only if it is a regular file;
/// a path the user named is read as given (a link, or a pipe such as `<(kustomize build)`).
pub(crate) fn read_file(
    path: &Path,
    name: &str,
    opts: &LoadOptions,
    walked: bool,
) -> Result<Source, Diagnostic> {
    if walked {
        let bytes =
            homelab_fs::read_regular(path, opts.max_file_bytes, false).map_err(|e| match e {
                homelab_fs::ReadError::TooLarge(n) => too_large(name, n, opts.max_file_bytes),
                homelab_fs::ReadError::Io(err) => io_error(name, &err),
                other => Diagnostic::error("yaml/unreadable", format!("not read: {other}"))
                    .at(Location::new(name, 1, 1))
                    .with_help("only regular files inside the checked folder are read"),
            })?;
        return Ok(Source {
            name: name.to_owned(),
            path: Some(path.to_path_buf()),
            text: decode(name, bytes)?,
        });
    }
    let meta = std::fs::metadata(path).map_err(|e| io_error(name, &e))?;
    if meta.is_dir() {
        return Err(Diagnostic::error("yaml/unreadable", "is a directory")
            .at(Location::new(name, 1, 1))
            .with_help("pass the folder itself to load every YAML/JSON file in it"));
    }
    if meta.len() > opts.max_file_bytes {
        return Err(too_large(name, meta.len(), opts.max_file_bytes));
    }
    let file = std::fs::File::open(path).map_err(|e| io_error(name, &e))?;
    // `take` keeps the bound even if the file grows, or is a pipe or device.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(opts.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(name, &e))?;
    if bytes.len() as u64 > opts.max_file_bytes {
        return Err(too_large(name, bytes.len() as u64, opts.max_file_bytes));
    }
    let text = decode(name, bytes)?;
    Ok(Source {
        name: name.to_owned(),
        path: Some(path.to_path_buf()),
        text,
    })
}

/// Reads standard input (named `-`) with the same bound.
pub(crate) fn read_stdin(opts: &LoadOptions) -> Result<Source, Diagnostic> {
    read_stream(std::io::stdin().lock(), "-", opts)
}

pub(crate) fn read_stream(
    reader: impl Read,
    name: &str,
    opts: &LoadOptions,
) -> Result<Source, Diagnostic> {
    let mut bytes = Vec::new();
    reader
        .take(opts.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(name, &e))?;
    if bytes.len() as u64 > opts.max_file_bytes {
        return Err(too_large(name, bytes.len() as u64, opts.max_file_bytes));
    }
    Ok(Source {
        name: name.to_owned(),
        path: None,
        text: decode(name, bytes)?,
    })
}

fn too_large(name: &str, size: u64, max: u64) -> Diagnostic {
    let size = if size > max {
        format!("{} bytes", size)
    } else {
        "more".into()
    };
    Diagnostic::error(
        "yaml/file-too-large",
        format!("file is too large ({size}; the limit is {max} bytes); it was not read"),
    )
    .at(Location::new(name, 1, 1))
    .with_help("split it into smaller files, or raise the limit if this really is a manifest")
}

/// An I/O error as a diagnostic naming the file.
pub(crate) fn io_error(name: &str, err: &std::io::Error) -> Diagnostic {
    if is_symlink_loop(err) {
        return Diagnostic::error(
            "yaml/symlink-loop",
            format!("cannot read: {err} (a symbolic link loop)"),
        )
        .at(Location::new(name, 1, 1))
        .with_help(
            "fix or remove the symbolic link that points back to itself or a parent folder",
        );
    }
    let help = match err.kind() {
        std::io::ErrorKind::NotFound => "check the path: no such file or folder",
        std::io::ErrorKind::PermissionDenied => {
            "make the file readable (chmod) or run as a user who may read it"
        }
        _ => "check that the file exists and is readable",
    };
    Diagnostic::error("yaml/unreadable", format!("cannot read: {err}"))
        .at(Location::new(name, 1, 1))
        .with_help(help)
}

pub(crate) fn is_symlink_loop(err: &std::io::Error) -> bool {
    // ELOOP: 40 on Linux, 62 on macOS and the BSDs.
    let eloop = if cfg!(target_os = "linux") { 40 } else { 62 };
    err.raw_os_error() == Some(eloop)
}

/// Bytes to text: binary files (a NUL byte in the first 8 KiB, as git decides) and invalid
/// UTF-8 are errors that say where.
pub(crate) fn decode(name: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    let head = &bytes[..bytes.len().min(8192)];
    if let Some(offset) = head.iter().position(|&b| b == 0) {
        let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
        let (line, col) = line_col(&bytes, offset);
        let (message, help) = if utf16 {
            (
                "file is UTF-16 encoded, not UTF-8".to_owned(),
                "convert it to UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)",
            )
        } else {
            (
                format!("binary file: NUL byte at byte offset {offset}"),
                "only YAML and JSON text files can be loaded; remove this file from the input",
            )
        };
        return Err(Diagnostic::error("yaml/binary-file", message)
            .at(Location::new(name, line, col))
            .with_help(help));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let (line, col) = line_col(e.as_bytes(), offset);
        Diagnostic::error(
            "yaml/invalid-utf8",
            format!("invalid UTF-8 at byte offset {offset}"),
        )
        .at(Location::new(name, line, col))
        .with_help("save the file as UTF-8 (YAML and JSON files must be UTF-8 for Kubernetes)")
    })
}

/// 1-based line and character column of a byte offset (counting only the valid UTF-8 prefix).
fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u32
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_invalid_utf8_say_where() {
        let d = decode("f", b"a: 1\nb: \0".to_vec()).unwrap_err();
        assert_eq!(d.rule, "yaml/binary-file");
        assert_eq!(d.location.unwrap().to_string(), "f:2:4");
        let d = decode("f", b"a: 1\nb: \xc3\x28".to_vec()).unwrap_err();
        assert_eq!(d.rule, "yaml/invalid-utf8");
        assert!(d.message.contains("byte offset 8"), "{}", d.message);
        assert_eq!(d.location.unwrap().to_string(), "f:2:4");
        let d = decode("f", vec![0xFF, 0xFE, b'a', 0]).unwrap_err();
        assert!(d.message.contains("UTF-16"));
        assert_eq!(decode("f", "é: ü".as_bytes().to_vec()).unwrap(), "é: ü");
    }

    #[test]
    fn stdin_like_streams_are_bounded() {
        let opts = LoadOptions {
            max_file_bytes: 10,
            ..LoadOptions::default()
        };
        let d = read_stream(&b"0123456789abc"[..], "-", &opts).unwrap_err();
        assert_eq!(d.rule, "yaml/file-too-large");
        let s = read_stream(&b"a: 1"[..], "-", &opts).unwrap();
        assert_eq!(s.text, "a: 1");
        assert!(s.path.is_none());
    }
}
