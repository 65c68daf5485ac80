//! The file-system edge of `homelab`, shared by every command that reads a repository or
//! writes a file.
//!
//! A repository is untrusted input and `render`/`host` run as root, so three rules hold for
//! every file the tool touches:
//!
//! - **Writes are atomic and born with their final mode** ([`write_atomic`]): a temporary
//!   file is created next to the target with `O_CREAT|O_EXCL` and the final permissions (a
//!   private key is never readable by others, not even for a moment), written, fsynced and
//!   renamed over the target; then the folder is fsynced. A crash leaves the old file or the
//!   new one, never half of one.
//! - **Reads of repository files open regular files only** ([`read_regular`]): no FIFO,
//!   device or `/proc` file can stall a run, and a size bound is checked on the open file.
//! - **Writes into a repository stay inside it** ([`Tree`]): every path is a normalized
//!   relative path ([`RelPath`]); each folder on the way is opened with `O_NOFOLLOW`
//!   relative to its parent (`openat`), so a symbolic link anywhere in the path (a folder
//!   swapped for a link to `/etc`) makes the operation fail instead of escaping the tree.
//!
//! The tools it runs on a repository (helm, kubectl) run through [`process`]: offline unless
//! asked, bounded in time and output.

mod atomic;
pub mod process;
mod read;
mod relpath;
pub mod stamp;
mod tree;

pub use atomic::{create_atomic, write_atomic, Perms, TEMP_MARKER};
pub use read::{read_regular, ReadError};
pub use relpath::{RelPath, RelPathError};
pub use tree::{Entry, Tree, TreeError};
