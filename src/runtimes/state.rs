//! Reading runtime state safely: every file is opened with openat2(2)
//! RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS relative to its runtime's root
//! directory, so no symlink (or `..`) in a state tree can lead outside it;
//! reads are capped at [`MAX_STATE`] bytes; JSON is parsed into
//! `serde_json::Value` and a file that is missing, unreadable, too big or
//! malformed yields `None` plus, except for "missing", a note.
//! Syscalls: openat2, read, getdents, fstat, open/fstat/ioctl on nsfs files.

use super::Key;
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
pub struct Root {
    dir: File,
    path: PathBuf,
}

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
            }),
            Err(e) => {
                notes.errno(&path, e);
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_beneath(&self, rel: &Path, flags: OFlag) -> Result<File, Errno> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        // EAGAIN: a mount or rename anywhere on the system raced with a
        // `..` step, and the kernel could not prove the walk stayed
        // beneath the root; openat2(2) says to retry.
        let mut tries = 0;
        loop {
            match openat2(self.dir.as_fd(), rel, how) {
                Err(Errno::EAGAIN) if tries < 16 => tries += 1,
                done => return done.map(File::from),
            }
        }
    }

    /// Entry names of the directory `rel` beneath the root (`.` for the
    /// root itself), unsorted.
    pub fn list(&self, rel: &Path, notes: &mut Notes) -> Vec<OsString> {
        let dir = match self.open_beneath(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
            Ok(d) => d,
            Err(e) => {
                notes.errno(&self.path.join(rel), e);
                return Vec::new();
            }
        };
        let Ok(mut d) = nix::dir::Dir::from_fd(dir.into()) else {
            return Vec::new();
        };
        d.iter()
            .flatten()
            .map(|e| OsString::from(std::ffi::OsStr::from_bytes(e.file_name().to_bytes())))
            .filter(|n| n != "." && n != "..")
            .collect()
    }

    /// The bytes of regular file `rel`, at most [`MAX_STATE`].
    pub fn read(&self, rel: &Path, notes: &mut Notes) -> Option<Vec<u8>> {
        let full = self.path.join(rel);
        let mut f = match self.open_beneath(rel, OFlag::O_RDONLY | OFlag::O_NONBLOCK) {
            Ok(f) => f,
            Err(e) => {
                notes.errno(&full, e);
                return None;
            }
        };
        let meta = match f.metadata() {
            Ok(m) => m,
            Err(e) => {
                notes.errno(&full, crate::store::errno_of(e));
                return None;
            }
        };
        if !meta.is_file() {
            // A FIFO, device or directory where a state file belongs: the
            // O_NONBLOCK open did not wait on it, and it is never read.
            notes.add(format!("skipping {}: not a regular file", full.display()));
            return None;
        }
        if meta.len() > MAX_STATE {
            notes.add(format!(
                "skipping {}: larger than {} bytes",
                full.display(),
                MAX_STATE
            ));
            return None;
        }
        // Sized from the stat, one byte more: the read that brings the
        // stat'd size without the spare byte has reached the end (no read
        // just to see EOF); a file that grew, or has no size, is read on.
        let size = meta.len() as usize;
        let mut buf = vec![0; size + 1];
        let mut got = 0;
        while got < size {
            match f.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    notes.errno(&full, crate::store::errno_of(e));
                    return None;
                }
            }
        }
        buf.truncate(got);
        if size == 0 || got > size {
            let rest = MAX_STATE + 1 - got as u64;
            if let Err(e) = (&mut f).take(rest).read_to_end(&mut buf) {
                notes.errno(&full, crate::store::errno_of(e));
                return None;
            }
        }
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

    /// The same, with the open file (kept for the NSID query).
    pub fn netns_file(&self, rel: &Path) -> Result<Option<(Key, File)>, Errno> {
        let f = self.open_beneath(rel, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW)?;
        Ok(netns_of(&f).map(|k| (k, f)))
    }
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

/// The identity of `f` if it is a network namespace file, else `None`.
pub fn netns_of(f: &File) -> Option<Key> {
    if crate::sys::ns_type(f.as_fd()) != Some(libc::CLONE_NEWNET) {
        return None;
    }
    let m = f.metadata().ok()?;
    Some((m.dev(), m.ino()))
}

/// Opens `path` (following symlinks, as iproute2 does for run-dir entries)
/// and returns its netns identity: `Ok(None)` when it exists but is not one.
pub fn netns_at(path: &Path) -> Result<Option<Key>, Errno> {
    Ok(netns_file_at(path)?.map(|(k, _)| k))
}

/// The same, with the open file (kept for the NSID query).
pub fn netns_file_at(path: &Path) -> Result<Option<(Key, File)>, Errno> {
    let f = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
        Mode::empty(),
    )
    .map(File::from)?;
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
