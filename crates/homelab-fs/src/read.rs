//! Reading a repository's file: regular files only, never a FIFO or device, with a bound.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The path is a symbolic link (and links are not followed).
    Symlink,
    /// A folder, FIFO, socket or device: never opened for reading.
    NotRegular(&'static str),
    /// Larger than the bound (the size found).
    TooLarge(u64),
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Symlink => f.write_str("is a symbolic link (not followed)"),
            ReadError::NotRegular(what) => write!(f, "is a {what}, not a regular file"),
            ReadError::TooLarge(n) => write!(f, "is too large ({n} bytes)"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

pub(crate) fn kind_name(ft: rustix::fs::FileType) -> &'static str {
    use rustix::fs::FileType as T;
    match ft {
        T::RegularFile => "regular file",
        T::Directory => "folder",
        T::Symlink => "symbolic link",
        T::Fifo => "FIFO (named pipe)",
        T::Socket => "socket",
        T::CharacterDevice => "character device",
        T::BlockDevice => "block device",
        T::Unknown => "special file",
    }
}

/// Read at most `max_bytes` of the regular file at `path`. With `follow_links: false` a
/// symbolic link at the last component is refused (`O_NOFOLLOW`). The file is opened
/// non-blocking and checked with `fstat` on the open descriptor, so what is read is what was
/// checked: a FIFO or device is never read.
pub fn read_regular(path: &Path, max_bytes: u64, follow_links: bool) -> Result<Vec<u8>, ReadError> {
    use rustix::fs::OFlags;
    let mut flags = OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if !follow_links {
        flags |= OFlags::NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| {
            if !follow_links && e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                ReadError::Symlink
            } else {
                ReadError::Io(e)
            }
        })?;
    read_open(file, max_bytes)
}

/// Check that an open file is regular and small enough, then read it.
pub(crate) fn read_open(file: std::fs::File, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let stat = rustix::fs::fstat(&file).map_err(|e| ReadError::Io(e.into()))?;
    let ft = rustix::fs::FileType::from_raw_mode(stat.st_mode);
    if ft != rustix::fs::FileType::RegularFile {
        return Err(ReadError::NotRegular(kind_name(ft)));
    }
    let size = stat.st_size as u64;
    if size > max_bytes {
        return Err(ReadError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // `take` keeps the bound if the file grows while it is read.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert!(matches!(
            read_regular(&fifo, 100, true),
            Err(ReadError::NotRegular(_))
        ));
        assert!(matches!(
            read_regular(Path::new("/dev/null"), 100, true),
            Err(ReadError::NotRegular(_))
        ));
        let file = dir.path().join("f");
        std::fs::write(&file, "hello").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(
            read_regular(&link, 100, false),
            Err(ReadError::Symlink)
        ));
        assert_eq!(read_regular(&link, 100, true).unwrap(), b"hello");
        assert!(matches!(
            read_regular(&file, 4, false),
            Err(ReadError::TooLarge(5))
        ));
    }
}
