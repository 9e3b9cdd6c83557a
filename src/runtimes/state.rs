//! Reading runtime state safely: every file is looked up with openat2(2)
//! `O_PATH` and RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS relative to its
//! runtime's root directory, so no symlink (or `..`) in a state tree can
//! lead outside it, its type is checked on that fd before it is opened
//! through it (no FIFO, socket or device is ever opened); reads are capped
//! at [`MAX_STATE`] bytes, and a user's tree at [`TREE_BYTES`] and
//! [`TREE_ENTRIES`] (trees a user can reach are walked through a
//! [`View`], see [`super::view`]). A file that is missing, unreadable, too
//! big or malformed yields `None` plus, except for "missing", a note.
//! Syscalls: openat2, read, getdents, fstat, open of /proc/self/fd links,
//! ioctl on nsfs files.

use super::view::{self, View};
use super::Key;
use crate::nsident::netns_of;
use nix::errno::Errno;
use nix::fcntl::{OFlag, ResolveFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};
use std::cell::Cell;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Largest state file rnetns reads (docker's config.v2.json is a few KiB).
pub const MAX_STATE: u64 = 16 << 20;

/// Messages for stderr about what could not be read (a partial answer).
#[derive(Debug, Default)]
pub struct Notes(pub Vec<String>);

impl Notes {
    pub fn add(&mut self, msg: String) {
        if !self.0.contains(&msg) {
            self.0.push(msg);
        }
    }

    /// Notes an error unless it only means "this runtime is not here".
    pub fn errno(&mut self, what: &Path, e: Errno) {
        if matches!(e, Errno::EXDEV | Errno::ELOOP) {
            // openat2 refused a symlink or `..` leading out of the root.
            self.add(format!(
                "skipping {}: it leads outside its runtime's directory",
                what.display()
            ));
        } else if !matches!(e, Errno::ENOENT | Errno::ENOTDIR | Errno::ESRCH) {
            self.add(format!(
                "cannot read {}: {}",
                what.display(),
                crate::sys::strerror(e as i32)
            ));
        }
    }
}

/// A runtime's root directory, opened once; files are read beneath it.
///
/// Every file is looked up first with `O_PATH` (which opens nothing), its
/// type checked on that fd, and only then opened for reading through the
/// fd itself, never by name again: a FIFO, socket or device swapped in
/// anywhere is never opened (README "Bounded reads"). A root in a tree a user
/// can reach ([`Root::open_in`]) is walked only through mounts its
/// [`View`] trusts, and reads from it are capped ([`TREE_BYTES`],
/// [`TREE_ENTRIES`]).
pub struct Root {
    dir: File,
    path: PathBuf,
    /// For a user's tree: its view and its path there.
    guard: Option<(Rc<View>, Vec<u8>)>,
    /// Bytes a user's tree may still yield.
    budget: Cell<u64>,
}

/// Bytes read per user tree (a storage directory, a run dir) per run.
pub const TREE_BYTES: u64 = 64 << 20;
/// Entries read per directory of a user tree (containers, namespaces).
pub const TREE_ENTRIES: usize = 10_000;

impl Root {
    pub fn open(path: impl Into<PathBuf>, notes: &mut Notes) -> Option<Root> {
        let path = path.into();
        match nix::fcntl::open(
            &path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Some(Root {
                dir: File::from(fd),
                path,
                guard: None,
                budget: Cell::new(u64::MAX),
            }),
            Err(e) => {
                notes.errno(&path, e);
                None
            }
        }
    }

    /// A directory of a tree a user can reach, at absolute `path` in
    /// `view`, walked only through mounts the view trusts.
    pub fn open_in(view: &Rc<View>, path: &[u8], notes: &mut Notes) -> Option<Root> {
        let shown = PathBuf::from(OsStr::from_bytes(&view.shown(path)));
        let (fd, st, real) = match view.walk(path, true) {
            Ok(found) => found,
            Err(e) => {
                note_walk(view, &shown, e, notes);
                return None;
            }
        };
        if view::kind(&st) != SFlag::S_IFDIR {
            notes.errno(&shown, Errno::ENOTDIR);
            return None;
        }
        Some(Root {
            dir: File::from(fd),
            path: shown,
            guard: Some((Rc::clone(view), real)),
            budget: Cell::new(TREE_BYTES),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For a root in a view: the path it resolved to there (symlinks
    /// followed inside the view).
    pub fn real_path(&self) -> Option<&[u8]> {
        self.guard.as_ref().map(|(_, real)| &real[..])
    }

    /// `rel` looked up beneath the root with `O_PATH` (a final symlink
    /// followed only with `follow`), and its stat.
    fn lookup(&self, rel: &Path, follow: bool) -> Result<(OwnedFd, FileStat), Errno> {
        let nofollow = if follow {
            OFlag::empty()
        } else {
            OFlag::O_NOFOLLOW
        };
        let rel_b = rel.as_os_str().as_bytes();
        let Some((v, base)) = &self.guard else {
            let fd = view::open_path(Some(self.dir.as_fd()), rel_b, nofollow, view::BENEATH)?;
            let st = fstat(&fd)?;
            return Ok((fd, st));
        };
        // In one step while no mount is crossed; else one mount at a time.
        let flags = view::BENEATH | ResolveFlag::RESOLVE_NO_XDEV;
        match view::open_path(Some(self.dir.as_fd()), rel_b, nofollow, flags) {
            Err(Errno::EXDEV) => {}
            done => {
                let fd = done?;
                let st = fstat(&fd)?;
                return Ok((fd, st));
            }
        }
        let mut full = base.clone();
        full.push(b'/');
        full.extend_from_slice(rel_b);
        let (fd, st, real) = v.walk(&full, follow)?;
        if real != *base && !real.starts_with(&[&base[..], b"/"].concat()) {
            return Err(Errno::EXDEV);
        }
        Ok((fd, st))
    }

    /// Whether `rel` exists beneath the root (looked up, not opened).
    pub fn exists(&self, rel: &Path) -> bool {
        self.lookup(rel, true).is_ok()
    }

    /// Notes an error reading `full`, naming a refused filesystem.
    fn note(&self, full: &Path, e: Errno, notes: &mut Notes) {
        match &self.guard {
            Some((v, _)) => note_walk(v, full, e, notes),
            None => notes.errno(full, e),
        }
    }

    /// Entry names of the directory `rel` beneath the root (`.` for the
    /// root itself), unsorted; at most [`TREE_ENTRIES`] in a user's tree.
    pub fn list(&self, rel: &Path, notes: &mut Notes) -> Vec<OsString> {
        let full = self.path.join(rel);
        let dir = self.lookup(rel, true).and_then(|(fd, st)| {
            if view::kind(&st) != SFlag::S_IFDIR {
                return Err(Errno::ENOTDIR);
            }
            view::reopen(fd.as_fd(), &st, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
        });
        let dir = match dir {
            Ok(d) => d,
            Err(e) => {
                self.note(&full, e, notes);
                return Vec::new();
            }
        };
        let Ok(mut d) = nix::dir::Dir::from_fd(dir.into()) else {
            return Vec::new();
        };
        let cap = if self.guard.is_some() {
            TREE_ENTRIES
        } else {
            usize::MAX
        };
        let mut out = Vec::new();
        for e in d.iter().flatten() {
            let n = e.file_name().to_bytes();
            if n == b"." || n == b".." {
                continue;
            }
            if out.len() == cap {
                notes.add(format!(
                    "{}: more than {cap} entries; the rest were not read",
                    full.display()
                ));
                break;
            }
            out.push(OsString::from(OsStr::from_bytes(n)));
        }
        out
    }

    /// The bytes of regular file `rel`, at most [`MAX_STATE`] (and what is
    /// left of a user tree's [`TREE_BYTES`]).
    pub fn read(&self, rel: &Path, notes: &mut Notes) -> Option<Vec<u8>> {
        let full = self.path.join(rel);
        let found = self.lookup(rel, true).and_then(|(fd, st)| {
            if view::kind(&st) != SFlag::S_IFREG {
                return Ok(None);
            }
            view::reopen(fd.as_fd(), &st, OFlag::O_RDONLY).map(|f| Some((f, st.st_size)))
        });
        let (mut f, size) = match found {
            Ok(Some(found)) => found,
            Ok(None) => {
                // A FIFO, socket, device or directory where a state file
                // belongs: looked up with O_PATH, never opened.
                notes.add(format!("skipping {}: not a regular file", full.display()));
                return None;
            }
            Err(e) => {
                self.note(&full, e, notes);
                return None;
            }
        };
        let size = u64::try_from(size).unwrap_or(0);
        if size > MAX_STATE {
            notes.add(format!(
                "skipping {}: larger than {} bytes",
                full.display(),
                MAX_STATE
            ));
            return None;
        }
        let left = self.budget.get();
        if size > left {
            notes.add(format!(
                "{}: read {TREE_BYTES} bytes of this tree; the rest was not read",
                self.path.display()
            ));
            self.budget.set(0);
            return None;
        }
        let cap = MAX_STATE.min(left);
        // Sized from the stat, one byte more: the read that brings the
        // stat'd size without the spare byte has reached the end (no read
        // just to see EOF); a file that grew, or has no size, is read on.
        let size = size as usize;
        let mut buf = vec![0; size + 1];
        let mut got = 0;
        while got < size {
            match f.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    notes.errno(&full, crate::error::errno_of(e));
                    return None;
                }
            }
        }
        buf.truncate(got);
        if size == 0 || got > size {
            let rest = (cap + 1).saturating_sub(got as u64);
            if let Err(e) = (&mut f).take(rest).read_to_end(&mut buf) {
                notes.errno(&full, crate::error::errno_of(e));
                return None;
            }
        }
        self.budget.set(left.saturating_sub(buf.len() as u64));
        Some(buf)
    }

    /// File `rel` parsed as JSON.
    pub fn json(&self, rel: &Path, notes: &mut Notes) -> Option<serde_json::Value> {
        let bytes = self.read(rel, notes)?;
        let v = parse_json(&bytes);
        if v.is_none() {
            self.note_malformed(rel, notes);
        }
        v
    }

    /// Notes that file `rel` is not JSON.
    pub fn note_malformed(&self, rel: &Path, notes: &mut Notes) {
        notes.add(format!(
            "skipping {}: malformed JSON",
            self.path.join(rel).display()
        ));
    }

    /// A small text file holding a decimal PID (`pidfile`, `init.pid`).
    pub fn pid(&self, rel: &Path, notes: &mut Notes) -> Option<u32> {
        parse_pid(&self.read(rel, notes)?)
    }

    /// The network namespace at `rel`, never following a symlink.
    pub fn netns(&self, rel: &Path) -> Result<Option<Key>, Errno> {
        Ok(self.netns_file(rel)?.map(|(k, _)| k))
    }

    /// The same, with the open file (kept for the NSID query). Only a
    /// regular file (what nsfs files are) is opened.
    pub fn netns_file(&self, rel: &Path) -> Result<Option<(Key, File)>, Errno> {
        let (fd, st) = self.lookup(rel, false)?;
        if view::kind(&st) != SFlag::S_IFREG {
            return Ok(None);
        }
        let f = view::reopen(fd.as_fd(), &st, OFlag::O_RDONLY)?;
        Ok(netns_of(&f).map(|k| (k, f)))
    }
}

/// Notes a failed walk in `view`: a refused filesystem is named.
pub fn note_walk(view: &View, full: &Path, e: Errno, notes: &mut Notes) {
    if e != view::UNSAFE {
        return notes.errno(full, e);
    }
    let (point, kind) = view.refused().unwrap_or_default();
    notes.add(format!(
        "skipping {}: it crosses {} ({}), a filesystem a user can serve; not read",
        full.display(),
        crate::output::escape::escape(&point),
        crate::output::escape::escape(&kind)
    ));
}

/// A state file's bytes as JSON (serde_json's recursion limit bounds how
/// deep a hostile file can nest).
pub fn parse_json(bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(bytes).ok()
}

/// A pidfile's decimal PID.
pub fn parse_pid(bytes: &[u8]) -> Option<u32> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// Opens `path` (following symlinks, as iproute2 does for run-dir entries)
/// and returns its netns identity: `Ok(None)` when it exists but is not one.
pub fn netns_at(path: &Path) -> Result<Option<Key>, Errno> {
    Ok(netns_file_at(path)?.map(|(k, _)| k))
}

/// The same, with the open file (kept for the NSID query). Looked up with
/// `O_PATH` first: only a regular file (what nsfs files are) is opened.
pub fn netns_file_at(path: &Path) -> Result<Option<(Key, File)>, Errno> {
    let fd = view::open_path(
        None,
        path.as_os_str().as_bytes(),
        OFlag::empty(),
        ResolveFlag::empty(),
    )?;
    let st = fstat(&fd)?;
    if view::kind(&st) != SFlag::S_IFREG {
        return Ok(None);
    }
    let f = view::reopen(fd.as_fd(), &st, OFlag::O_RDONLY)?;
    Ok(netns_of(&f).map(|k| (k, f)))
}

/// The network namespace at `path`, as [`netns_file_at`] opens it, except
/// that a path in another process's view (`/proc/PID/root/REST`) is walked
/// through that view ([`View::walk`]: never through a filesystem a user
/// can serve, symlinks resolved inside it).
pub fn netns_file_by_path(path: &[u8]) -> Result<Option<(Key, File)>, Errno> {
    let in_view = path
        .strip_prefix(b"/proc/")
        .and_then(|r| {
            let slash = r.iter().position(|&b| b == b'/')?;
            let pid: u32 = std::str::from_utf8(&r[..slash]).ok()?.parse().ok()?;
            Some((pid, r[slash..].strip_prefix(b"/root/")?))
        })
        .filter(|(_, rest)| !rest.is_empty());
    let Some((pid, rest)) = in_view else {
        return netns_file_at(Path::new(OsStr::from_bytes(path)));
    };
    let own = View::own().map_err(crate::error::errno_of)?;
    let view = View::of_pid(pid, &own).map_err(crate::error::errno_of)?;
    let (fd, st, _) = view.walk(&[b"/", rest].concat(), true)?;
    if view::kind(&st) != SFlag::S_IFREG {
        return Ok(None);
    }
    let f = view::reopen(fd.as_fd(), &st, OFlag::O_RDONLY)?;
    Ok(netns_of(&f).map(|k| (k, f)))
}

/// A string field at `ptr` (JSON pointer) in `v`.
pub fn str_at<'a>(v: &'a serde_json::Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(|x| x.as_str())
}

/// The `linux.namespaces[type=network].path` of an OCI runtime spec.
pub fn oci_netns_path(spec: &serde_json::Value) -> Option<&str> {
    spec.pointer("/linux/namespaces")?
        .as_array()?
        .iter()
        .find(|n| n.get("type").and_then(|t| t.as_str()) == Some("network"))?
        .get("path")?
        .as_str()
        .filter(|p| !p.is_empty())
}

/// An OCI annotation.
pub fn annotation<'a>(spec: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    spec.get("annotations")?.get(key)?.as_str()
}

/// Whether `s` is a lowercase hex container id (64 characters).
pub fn is_hex_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
