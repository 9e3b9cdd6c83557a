//! One pass over /proc (spec 4.12): the (st_dev, st_ino) of each process's
//! netns, compared with fstatat relative to an open /proc fd. Threads are
//! not listed (only all-digit entries of /proc itself); processes that
//! vanish or cannot be read are skipped silently.

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode};
use std::os::unix::ffi::OsStrExt;

/// PIDs (as their /proc names, readdir order) whose netns is (dev, ino).
pub fn pids_in(dev: u64, ino: u64) -> Result<Vec<String>, Errno> {
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
    for n in names {
        let mut path = n.as_bytes().to_vec();
        path.extend_from_slice(b"/ns/net");
        let path = std::ffi::OsStr::from_bytes(&path);
        if let Ok(st) = fstatat(&dir, path, AtFlags::empty()) {
            if st.st_dev == dev && st.st_ino == ino {
                out.push(n.to_string_lossy().into_owned());
            }
        }
    }
    Ok(out)
}
