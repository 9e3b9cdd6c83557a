//! One pass over /proc (spec 4.12): which processes' netns is (st_dev,
//! st_ino). Every netns lives on the one nsfs device, so once the target is
//! known to be on it, each process needs only a readlinkat of `N/ns/net`
//! (`net:[INO]`) relative to an open /proc fd, cheaper than following the
//! link with stat. Threads are not listed (only all-digit entries of /proc
//! itself); processes that vanish or cannot be read (the same permission
//! check as stat) are skipped silently.

use crate::nsident::Key;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode};
use std::os::unix::ffi::OsStrExt;

/// PIDs (as their /proc names, readdir order) whose netns is `key`.
pub fn pids_in(key: Key) -> Result<Vec<String>, Errno> {
    let (dev, ino) = key;
    let mut dir = nix::dir::Dir::open(
        "/proc",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut out = Vec::new();
    let mut names = Vec::new();
    for e in dir.iter().flatten() {
        let n = e.file_name().to_bytes();
        if !n.is_empty() && n.iter().all(u8::is_ascii_digit) {
            names.push(e.file_name().to_owned());
        }
    }
    // Not on nsfs (a stale placeholder, say): no process can be in it.
    let nsfs_dev = fstatat(&dir, "self/ns/net", AtFlags::empty()).map(|s| s.st_dev);
    if nsfs_dev != Ok(dev) {
        return Ok(out);
    }
    let want = format!("net:[{ino}]");
    for n in names {
        let mut path = n.as_bytes().to_vec();
        path.extend_from_slice(b"/ns/net");
        let path = std::ffi::OsStr::from_bytes(&path);
        if nix::fcntl::readlinkat(&dir, path).is_ok_and(|l| l.as_bytes() == want.as_bytes()) {
            out.push(n.to_string_lossy().into_owned());
        }
    }
    Ok(out)
}
