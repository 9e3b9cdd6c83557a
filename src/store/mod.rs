//! The store of named namespaces: iproute2's run dir (`/run/netns`, the
//! path Debian compiles in; spec 1). Entries are read in raw readdir order,
//! never sorted (spec 4.1). Syscalls: getdents via read_dir, open, fstat.

pub mod lock;

use crate::error::errno_of;
use nix::errno::Errno;
use std::ffi::OsString;
use std::fs::File;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// The compiled-in run dir every message names.
pub const RUN_DIR: &str = "/run/netns";
/// Per-namespace /etc overrides live in `ETC_DIR/NAME` (spec 1).
pub const ETC_DIR: &str = "/etc/netns";

/// `RUN_DIR/NAME`.
pub fn entry_path(name: &[u8]) -> PathBuf {
    let mut p = Vec::with_capacity(RUN_DIR.len() + 1 + name.len());
    p.extend_from_slice(RUN_DIR.as_bytes());
    p.push(b'/');
    p.extend_from_slice(name);
    PathBuf::from(OsString::from_vec(p))
}

/// `RUN_DIR/NAME` as text for messages (names are printed raw).
pub fn entry_display(name: &[u8]) -> Vec<u8> {
    entry_path(name).into_os_string().into_vec()
}

/// The run dir's entry names in readdir order (`.` and `..` skipped).
pub fn entries() -> Result<Vec<Vec<u8>>, Errno> {
    let dir = std::fs::read_dir(RUN_DIR).map_err(errno_of)?;
    let mut names = Vec::new();
    // An entry that vanishes mid-scan is simply not listed.
    for e in dir.flatten() {
        names.push(e.file_name().as_bytes().to_vec());
    }
    Ok(names)
}

/// Entry names in readdir order in one buffer: a listing of thousands of
/// entries keeps no allocation per name (`list`, `list-id`).
#[derive(Default)]
pub struct NameList {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl NameList {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// [`entries`] as a [`NameList`].
pub fn entry_names() -> Result<NameList, Errno> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let mut dir = nix::dir::Dir::open(RUN_DIR, flags, nix::sys::stat::Mode::empty())?;
    let mut list = NameList::default();
    // An entry that vanishes mid-scan is simply not listed.
    for e in dir.iter().flatten() {
        let name = e.file_name().to_bytes();
        if name != b"." && name != b".." {
            list.bytes.extend_from_slice(name);
            list.ends.push(list.bytes.len() as u32);
        }
    }
    Ok(list)
}

/// Opens an entry read-only (close-on-exec), as `ip` does for setns and
/// nsid queries. A FIFO or device node is never opened (6.1 blocks forever
/// on a FIFO and would run a device's open; README "Hardening"): it is looked at with
/// O_PATH, and the run dir itself stands in for it, an fd the kernel
/// rejects exactly as it rejects a directory entry, so setns says `Invalid
/// argument` and netlink `Peer netns reference is invalid`, as for any
/// other entry that is not a namespace.
pub fn open_entry(name: &[u8]) -> Result<File, Errno> {
    EntryDir::open()?.open_entry(name)
}

/// [`open_entry`] under the run dir's shared lock (README "Hardening"): never a
/// placeholder of an `add` in progress, never an entry half deleted.
///
/// The entry is looked up by path again, not relative to the lock's fd:
/// that fd may be the run dir from before the first `add` bound it onto
/// itself, where the entries' mounts (made under the bind) do not show,
/// so an entry would open as its bare placeholder (the first-add race
/// test fails 55 rounds in 300 that way).
pub fn open_entry_locked(name: &[u8]) -> Result<File, Errno> {
    let lock = lock::lock_run_dir(false)?;
    let opened = open_entry(name);
    drop(lock);
    opened
}

/// The run dir opened once, for opening many entries relative to it (the
/// `list` scan): one `fstatat` and one `openat` per entry, with the same
/// rules as [`open_entry`].
pub struct EntryDir(std::os::fd::OwnedFd);

impl EntryDir {
    pub fn open() -> Result<Self, Errno> {
        use nix::fcntl::{open, OFlag};
        // O_PATH: like a path walk, it needs search permission only.
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        open(RUN_DIR, flags, nix::sys::stat::Mode::empty()).map(EntryDir)
    }

    /// [`open_entry`] for `name` in this dir.
    pub fn open_entry(&self, name: &[u8]) -> Result<File, Errno> {
        use nix::fcntl::{openat, AtFlags, OFlag};
        use nix::sys::stat::{fstatat, Mode, SFlag};
        let name = std::ffi::OsStr::from_bytes(name);
        let kind = SFlag::from_bits_truncate(fstatat(&self.0, name, AtFlags::empty())?.st_mode);
        let special =
            [SFlag::S_IFIFO, SFlag::S_IFCHR, SFlag::S_IFBLK].contains(&(kind & SFlag::S_IFMT));
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let target: &std::ffi::OsStr = if special { ".".as_ref() } else { name };
        openat(&self.0, target, flags, Mode::empty()).map(File::from)
    }
}

/// (st_dev, st_ino) of what each entry refers to, following symlinks as
/// stat(2) does, resolved relative to one open run-dir fd (no path walk per
/// entry). `None` where stat fails.
pub struct Stater {
    dir: Option<File>,
}

impl Stater {
    pub fn open() -> Self {
        Stater {
            dir: File::open(RUN_DIR).ok(),
        }
    }

    pub fn dev_ino(&self, name: &[u8]) -> Option<crate::nsident::Key> {
        let dir = self.dir.as_ref()?;
        let st = nix::sys::stat::fstatat(
            dir,
            std::ffi::OsStr::from_bytes(name),
            nix::fcntl::AtFlags::empty(),
        )
        .ok()?;
        Some((st.st_dev, st.st_ino))
    }
}
