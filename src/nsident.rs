//! A network namespace's identity, in one shape for the whole crate: the
//! (st_dev, st_ino) of its nsfs file ([`Key`]), how a file is known to be
//! a namespace (by filesystem type, [`is_nsfs`]; as a network namespace,
//! by ioctl, [`netns_of`]), and the `/proc/PID/ns/net` path of a process's
//! namespace. Syscalls: open (O_PATH), fstatfs, fstat, ioctl(NS_GET_NSTYPE).

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// A namespace's identity: (st_dev, st_ino) of its nsfs file.
pub type Key = (u64, u64);

/// nsfs's filesystem magic (statfs f_type, and mountinfo's `nsfs`).
pub const NSFS_MAGIC: i64 = 0x6e73_6673;

/// The identity of what `f` is (any file: not checked to be a namespace).
pub fn key_of(f: &File) -> Option<Key> {
    let m = f.metadata().ok()?;
    Some((m.dev(), m.ino()))
}

/// Whether `file` is a namespace file (nsfs), checked by filesystem type
/// (an `O_PATH` fd will do).
pub fn is_nsfs(file: impl AsFd) -> bool {
    nix::sys::statfs::fstatfs(file).is_ok_and(|s| s.filesystem_type().0 == NSFS_MAGIC)
}

/// Opens the namespace file at `path`, and nothing else: looked up with
/// `O_PATH` and without following a final symlink, so a FIFO, socket or
/// device there is never opened (it could block or have side effects),
/// checked to be nsfs, then opened for real through that fd (never by
/// name again). A path an operator names, which may be a symlink, goes
/// through `runtimes::state::netns_file_at` instead.
pub fn open_nsfs(path: &std::path::Path) -> Option<File> {
    use nix::fcntl::{open, OFlag};
    use std::os::fd::AsRawFd;
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = open(path, flags, nix::sys::stat::Mode::empty()).ok()?;
    if !is_nsfs(&fd) {
        return None;
    }
    File::open(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()
}

/// The identity of `f` if it is a network namespace file, else `None`.
pub fn netns_of(f: &File) -> Option<Key> {
    if crate::sys::ns_type(f.as_fd()) != Some(libc::CLONE_NEWNET) {
        return None;
    }
    key_of(f)
}

/// `/proc/PID/ns/net`, PID as the bytes given (a decimal PID, or `self`).
pub fn proc_netns(pid: &[u8]) -> PathBuf {
    PathBuf::from(crate::bytes::os(&crate::bytes::cat(&[
        b"/proc/", pid, b"/ns/net",
    ])))
}
