//! Reading trees a user can reach without letting the user block root
//! (README "Bounded reads"). A path lookup, `stat` or `statfs` on a FUSE
//! filesystem, or on an overlay over one, waits for the user's server, in
//! uninterruptible sleep. So what a path crosses is learned first from the
//! view's `/proc/PID/mountinfo` (procfs: it never waits on a user), and a
//! lookup only ever runs in a directory whose mount is of a kind no user
//! can serve:
//!
//! - in our own view, anything but FUSE (`fuse`, `fuse.*`, `fuseblk`): only
//!   root mounts here, except through fusermount3;
//! - in another view (a rootless pause process's, `/proc/PID/root`), the
//!   in-memory filesystems a user may mount (tmpfs, proc, nsfs...), and
//!   superblocks our own view already shows (a copy of the host's mounts,
//!   recognised by device number), never FUSE; an overlay the user made has
//!   a device number of its own, so it is not trusted.
//!
//! Lookups run one mount at a time: `openat2(O_PATH|O_NOFOLLOW)` with
//! `RESOLVE_NO_XDEV` inside a trusted mount; where the kernel refuses
//! (EXDEV, a mount point), the mount there is judged from mountinfo, the
//! step is taken, and the mount the fd landed on (`/proc/self/fdinfo`'s
//! `mnt_id`) must be the one judged, so a mount swapped in since is caught.
//! Symlinks are resolved by hand inside the view (`RESOLVE_IN_ROOT`
//! semantics: an absolute target starts at the view's root, not ours).
//! Syscalls: openat2, fstat, readlinkat, open/read of /proc files.

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, FileStat, SFlag};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// The errno a walk returns when it would enter a filesystem a user can
/// serve; [`View::refused`] says which.
pub const UNSAFE: Errno = Errno::EMEDIUMTYPE;

/// Lookups stay beneath their directory and never follow /proc's links.
pub const BENEATH: ResolveFlag =
    ResolveFlag::RESOLVE_BENEATH.union(ResolveFlag::RESOLVE_NO_MAGICLINKS);

/// How many symlinks one walk follows (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Filesystems a user may mount in a user namespace that never wait on
/// a user-space server.
const IN_MEMORY: [&[u8]; 11] = [
    b"tmpfs",
    b"ramfs",
    b"proc",
    b"sysfs",
    b"mqueue",
    b"devpts",
    b"cgroup",
    b"cgroup2",
    b"nsfs",
    b"devtmpfs",
    b"binder",
];

fn is_fuse(fstype: &[u8]) -> bool {
    fstype == b"fuse" || fstype == b"fuseblk" || fstype.starts_with(b"fuse.")
}

/// One mount namespace as a process sees it: its root and which of its
/// mounts may be walked.
pub struct View {
    root: OwnedFd,
    /// `/proc/PID/root` or empty (our own view), for messages.
    prefix: Vec<u8>,
    /// Mount point -> (mount id, may be walked) of every mount there.
    at: HashMap<Vec<u8>, Vec<(u64, bool)>>,
    /// Mount ids that may be walked.
    ok: HashSet<u64>,
    /// fstype of refused mounts, by mount point (for notes).
    kind: HashMap<Vec<u8>, Vec<u8>>,
    /// The mount point a walk last refused.
    refused: std::cell::RefCell<Option<(Vec<u8>, Vec<u8>)>>,
}

/// One mountinfo line's fields a view needs.
struct Line {
    id: u64,
    dev: Vec<u8>,
    point: Vec<u8>,
    fstype: Vec<u8>,
}

/// The fields of one mountinfo line (proc(5)); `None` if malformed.
fn parse_line(line: &[u8]) -> Option<Line> {
    let mut f = line.split(|&b| b == b' ');
    let id = std::str::from_utf8(f.next()?).ok()?.parse().ok()?;
    let _parent = f.next()?;
    let dev = f.next()?.to_vec();
    let _root = f.next()?;
    let point = crate::mountinfo::unescape(f.next()?);
    let fstype = f.find(|x| *x == b"-").and_then(|_| f.next())?.to_vec();
    Some(Line {
        id,
        dev,
        point,
        fstype,
    })
}

/// Every line of `/proc/PID/mountinfo` (`self` for ours), read in a stream.
fn lines(pid: &str, mut each: impl FnMut(Line)) -> std::io::Result<()> {
    use std::io::BufRead;
    let f = std::fs::File::open(format!("/proc/{pid}/mountinfo"))?;
    let mut r = std::io::BufReader::new(f);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        if let Some(l) = parse_line(buf.strip_suffix(b"\n").unwrap_or(&buf)) {
            each(l);
        }
    }
}

impl View {
    /// Our own view.
    pub fn own() -> std::io::Result<View> {
        let root = open_path(None, b"/", OFlag::empty(), ResolveFlag::empty())
            .map_err(std::io::Error::from)?;
        let mut v = View::empty(root, Vec::new());
        lines("self", |l| {
            let safe = !is_fuse(&l.fstype);
            v.add(l, safe);
        })?;
        Ok(v)
    }

    /// The view of process `pid` (`/proc/PID/root` and its mountinfo);
    /// `own` is ours, whose trusted superblocks are trusted there too.
    pub fn of_pid(pid: u32, own: &View) -> std::io::Result<View> {
        let mut trusted: HashSet<Vec<u8>> = HashSet::new();
        lines("self", |l| {
            if own.ok.contains(&l.id) {
                trusted.insert(l.dev);
            }
        })?;
        let path = format!("/proc/{pid}/root");
        let root = open_path(None, path.as_bytes(), OFlag::empty(), ResolveFlag::empty())
            .map_err(std::io::Error::from)?;
        let mut v = View::empty(root, path.into_bytes());
        lines(&pid.to_string(), |l| {
            let safe = !is_fuse(&l.fstype)
                && (IN_MEMORY.contains(&&l.fstype[..]) || trusted.contains(&l.dev));
            v.add(l, safe);
        })?;
        Ok(v)
    }

    fn empty(root: OwnedFd, prefix: Vec<u8>) -> View {
        View {
            root,
            prefix,
            at: HashMap::new(),
            ok: HashSet::new(),
            kind: HashMap::new(),
            refused: Default::default(),
        }
    }

    fn add(&mut self, l: Line, safe: bool) {
        if safe {
            self.ok.insert(l.id);
        } else {
            self.kind.insert(l.point.clone(), l.fstype);
        }
        self.at.entry(l.point).or_default().push((l.id, safe));
    }

    /// How a path of this view is shown (`/proc/PID/root/PATH`).
    pub fn shown(&self, path: &[u8]) -> Vec<u8> {
        let mut s = self.prefix.clone();
        s.extend_from_slice(path);
        s
    }

    /// The mount point and filesystem type of the last refused walk.
    pub fn refused(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        self.refused.borrow().clone()
    }

    fn refuse(&self, point: &[u8]) -> Errno {
        let kind = self
            .kind
            .get(point)
            .cloned()
            .unwrap_or_else(|| b"unknown".to_vec());
        *self.refused.borrow_mut() = Some((self.shown(point), kind));
        UNSAFE
    }

    /// Looks up absolute `path` in this view (`O_PATH`; a final symlink
    /// followed only with `follow`), entering only mounts that may be
    /// walked. Returns the fd, its stat, and the path it resolved to.
    pub fn walk(&self, path: &[u8], follow: bool) -> Result<(OwnedFd, FileStat, Vec<u8>), Errno> {
        let root = nix::unistd::dup(&self.root)?;
        let root_mnt = mnt_id(root.as_fd()).ok_or(Errno::EIO)?;
        if !self.ok.contains(&root_mnt) {
            return Err(self.refuse(b"/"));
        }
        let mut stack: Vec<(OwnedFd, usize)> = vec![(root, 0)];
        let mut here: Vec<u8> = Vec::new();
        let mut todo: std::collections::VecDeque<Vec<u8>> = components(path).collect();
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            if c == b".." {
                if stack.len() > 1 {
                    stack.pop();
                    here.truncate(stack.last().map_or(0, |s| s.1));
                }
                continue;
            }
            let dir = stack.last().map(|s| s.0.as_fd()).ok_or(Errno::EIO)?;
            let mut next = here.clone();
            next.push(b'/');
            next.extend_from_slice(&c);
            let fd = self.step(dir, &c, &next)?;
            let st = fstat(&fd)?;
            let is_link = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK;
            if is_link && (follow || !todo.is_empty()) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Errno::ELOOP);
                }
                let target = nix::fcntl::readlinkat(&fd, "")?;
                let target = std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str()).to_vec();
                if target.starts_with(b"/") {
                    stack.truncate(1);
                    here.clear();
                }
                for t in components(&target).rev() {
                    todo.push_front(t);
                }
                continue;
            }
            here = next;
            stack.push((fd, here.len()));
        }
        let (fd, _) = stack.pop().ok_or(Errno::EIO)?;
        let st = fstat(&fd)?;
        if here.is_empty() {
            here.push(b'/');
        }
        Ok((fd, st, here))
    }

    /// One component `c` of directory `dir`, whose path in the view is
    /// `path` once taken: inside the mount, or onto a mount judged safe.
    fn step(&self, dir: BorrowedFd, c: &[u8], path: &[u8]) -> Result<OwnedFd, Errno> {
        let no_xdev = ResolveFlag::RESOLVE_NO_XDEV | BENEATH;
        match open_path(Some(dir), c, OFlag::O_NOFOLLOW, no_xdev) {
            Err(Errno::EXDEV) => {}
            done => return done,
        }
        // `c` is a mount point: lookup in `dir` is done; only step onto a
        // mount every layer of which may be walked.
        let mounts = self.at.get(path).ok_or_else(|| self.refuse(path))?;
        if mounts.iter().any(|(_, safe)| !safe) {
            return Err(self.refuse(path));
        }
        let fd = open_path(Some(dir), c, OFlag::O_NOFOLLOW, BENEATH)?;
        match mnt_id(fd.as_fd()) {
            Some(id) if self.ok.contains(&id) => Ok(fd),
            _ => Err(self.refuse(path)),
        }
    }
}

fn components(p: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    p.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
}

/// `openat2(dir, path, O_PATH|flags)` (`dir` `None`: the cwd), retried on
/// EAGAIN as openat2(2) asks.
pub fn open_path(
    dir: Option<BorrowedFd>,
    path: &[u8],
    flags: OFlag,
    resolve: ResolveFlag,
) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC | flags)
        .resolve(resolve);
    let path = std::ffi::OsStr::from_bytes_ext(path);
    let cwd = nix::fcntl::AT_FDCWD;
    let mut tries = 0;
    loop {
        let r = match dir {
            Some(d) => openat2(d, path, how),
            None => openat2(cwd, path, how),
        };
        match r {
            Err(Errno::EAGAIN) if tries < 16 => tries += 1,
            done => return done,
        }
    }
}

trait FromBytes {
    fn from_bytes_ext(b: &[u8]) -> &Self;
}

impl FromBytes for std::ffi::OsStr {
    fn from_bytes_ext(b: &[u8]) -> &Self {
        std::os::unix::ffi::OsStrExt::from_bytes(b)
    }
}

/// The mount an fd is on, from `/proc/self/fdinfo/N` (procfs: never asks
/// the filesystem the fd is on).
pub fn mnt_id(fd: BorrowedFd) -> Option<u64> {
    let text = std::fs::read(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    let line = text
        .split(|&b| b == b'\n')
        .find(|l| l.starts_with(b"mnt_id:"))?;
    std::str::from_utf8(&line[7..]).ok()?.trim().parse().ok()
}

/// Opens the file an `O_PATH` fd names for real (through its
/// `/proc/self/fd` link: the same file, never looked up by name again),
/// and checks that it is still the file `st` describes.
pub fn reopen(fd: BorrowedFd, st: &FileStat, flags: OFlag) -> Result<std::fs::File, Errno> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let flags = flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY | OFlag::O_NONBLOCK;
    let f = std::fs::File::from(nix::fcntl::open(
        link.as_str(),
        flags,
        nix::sys::stat::Mode::empty(),
    )?);
    let now = fstat(&f)?;
    if (now.st_dev, now.st_ino, now.st_mode) != (st.st_dev, st.st_ino, st.st_mode) {
        return Err(Errno::ESTALE);
    }
    Ok(f)
}

/// The type bits of a stat.
pub fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_fields() {
        let l =
            parse_line(b"36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 - fuse.x /dev/root rw")
                .unwrap();
        assert_eq!(
            (l.id, &l.dev[..], &l.point[..]),
            (36, &b"98:0"[..], &b"/mnt 2"[..])
        );
        assert_eq!(l.fstype, b"fuse.x");
        assert!(is_fuse(&l.fstype) && is_fuse(b"fuse") && !is_fuse(b"fusectl"));
        assert!(parse_line(b"1 2 3").is_none());
    }

    #[test]
    fn walks_our_own_view_and_follows_symlinks_inside_it() {
        let v = View::own().unwrap();
        let (_, st, path) = v.walk(b"/proc/self/../self/status", true).unwrap();
        assert_eq!(kind(&st), SFlag::S_IFREG);
        assert!(path.starts_with(b"/proc/"));
        assert_eq!(
            v.walk(b"/nonexistent-rnetns", true).err(),
            Some(Errno::ENOENT)
        );
    }
}
