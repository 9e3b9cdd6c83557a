//! Other mount namespaces, as doctor sees them (README "Bounded reads"): their
//! mountinfo, streamed, keeping only the mounts at and above the
//! directories doctor watches (the run dir, the daemons' netns dirs) and
//! under them, capped; who holds each one (a process running as root in
//! our user namespace, or the first process seen); and the one way doctor
//! ever opens a path in another namespace's view, [`open_netns`]: decided
//! from that view's mountinfo first (no FUSE, nothing a user can serve),
//! then looked up with openat2(O_PATH, no symlinks), its type checked on
//! the fd, and only then opened. Syscalls: readdir /proc, stat, read,
//! open (nsfs only), openat2, fstatfs, ioctl(NS_GET_USERNS).

use crate::mountinfo::{self, Line};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

/// Kept mountinfo lines per namespace and in all (a user can make any
/// number of namespaces with any number of mounts).
const CAP_PER_NS: usize = 4096;
const CAP_TOTAL: usize = 65536;

/// Filesystems that no user can serve, so a path lookup through them
/// never waits on a user's process. FUSE, network filesystems and autofs
/// are not among them.
const LOCAL: &[&[u8]] = &[
    b"tmpfs",
    b"ramfs",
    b"ext2",
    b"ext3",
    b"ext4",
    b"xfs",
    b"btrfs",
    b"f2fs",
    b"jfs",
    b"zfs",
    b"bcachefs",
    b"nsfs",
    b"proc",
    b"sysfs",
    b"devtmpfs",
    b"devpts",
    b"squashfs",
    b"erofs",
    b"iso9660",
    b"vfat",
    b"exfat",
    b"cgroup",
    b"cgroup2",
    b"mqueue",
];

/// Also local, but only where root made the mount: an overlay that a user
/// mounts in their own namespace can sit on FUSE (README "Bounded reads"), and
/// a VM share is the hypervisor's.
const ROOT_MADE: &[&[u8]] = &[b"overlay", b"virtiofs", b"9p"];

/// One mount namespace other than ours.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Ns {
    /// The first process seen in it.
    pub pid: u32,
    /// A process in it that runs as uid 0 in our user namespace.
    pub root_pid: Option<u32>,
    /// Whether our user namespace owns the mount namespace, so only root
    /// can have mounted anything in it.
    pub owned_by_us: bool,
    pub root_propagation: String,
    pub lines: Vec<Line>,
    /// Some lines were dropped (cap) or the mountinfo could not be read.
    pub incomplete: bool,
}

/// Who a process is, for messages: uid and user namespace.
pub struct Who {
    pub comm: String,
    pub uid: Option<u32>,
    pub userns: String,
}

/// The identity of a file as mountinfo can name it: the device of its
/// filesystem and its path inside that filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub dev: (u32, u32),
    pub fs_path: Vec<u8>,
}

/// `path`'s place inside the filesystem of a mount at `mount_point`
/// showing `root` of it.
pub fn fs_path(root: &[u8], mount_point: &[u8], path: &[u8]) -> Option<Vec<u8>> {
    let rel = if mount_point == b"/" {
        path
    } else {
        let rel = path.strip_prefix(mount_point)?;
        if !(rel.is_empty() || rel.starts_with(b"/")) {
            return None;
        }
        rel
    };
    let mut out = if root == b"/" {
        Vec::new()
    } else {
        root.to_vec()
    };
    out.extend_from_slice(rel);
    if out.is_empty() {
        out.push(b'/');
    }
    Some(out)
}

/// Whether mount point `p` matters for `watched`: at or above one of
/// those directories, or inside one.
fn matters(p: &[u8], watched: &[&[u8]]) -> bool {
    watched.iter().any(|w| {
        is_ancestor_or_self(p, w) || (w.len() < p.len() && p.starts_with(w) && p[w.len()] == b'/')
    })
}

/// `a` is `b` or a directory above it.
fn is_ancestor_or_self(a: &[u8], b: &[u8]) -> bool {
    a == b"/" || a == b || (b.starts_with(a) && b.get(a.len()) == Some(&b'/'))
}

fn user_ns_id(pid: &str) -> Option<(u64, u64)> {
    let m = std::fs::metadata(format!("/proc/{pid}/ns/user")).ok()?;
    Some((m.dev(), m.ino()))
}

/// Real and effective uid from /proc/PID/status, as seen from our user
/// namespace.
fn uids(pid: u32) -> Option<(u32, u32)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut it = line.split_whitespace().map(|n| n.parse::<u32>().ok());
    Some((it.next()??, it.next()??))
}

fn runs_as_our_root(pid: u32, ours: Option<(u64, u64)>) -> bool {
    uids(pid) == Some((0, 0)) && ours.is_some() && user_ns_id(&pid.to_string()) == ours
}

fn mnt_ns_owned_by(pid: u32, ours: Option<(u64, u64)>) -> bool {
    let Ok(f) = File::open(format!("/proc/{pid}/ns/mnt")) else {
        return false;
    };
    ours.is_some() && crate::sys::ns_owner(f.as_fd()) == ours
}

/// Every mount namespace but ours, with the mounts at and under `watched`,
/// read in a forked child ([`super::bounded`]); `None` if it did not
/// answer within the deadline.
pub fn scan(watched: &[&[u8]]) -> Option<Vec<Ns>> {
    super::bounded::within(super::bounded::DEADLINE, || scan_here(watched))
}

fn scan_here(watched: &[&[u8]]) -> Vec<Ns> {
    let own = std::fs::metadata("/proc/self/ns/mnt").map(|m| m.ino()).ok();
    let ours = user_ns_id("self");
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut out: Vec<Ns> = Vec::new();
    let mut total = 0usize;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(ns) = std::fs::metadata(format!("/proc/{pid}/ns/mnt")) else {
            continue;
        };
        if Some(ns.ino()) == own {
            continue;
        }
        if let Some(&i) = index.get(&ns.ino()) {
            if out[i].root_pid.is_none() && runs_as_our_root(pid, ours) {
                out[i].root_pid = Some(pid);
            }
            continue;
        }
        let cap = CAP_PER_NS.min(CAP_TOTAL.saturating_sub(total));
        let (kept, readable) =
            match mountinfo::stream(&pid.to_string(), |p| matters(p, watched), cap) {
                Ok(k) => (k, true),
                Err(_) => (mountinfo::Kept::default(), false),
            };
        total += kept.lines.len();
        index.insert(ns.ino(), out.len());
        out.push(Ns {
            pid,
            root_pid: runs_as_our_root(pid, ours).then_some(pid),
            owned_by_us: mnt_ns_owned_by(pid, ours),
            root_propagation: kept.root_propagation.unwrap_or("unknown").into(),
            incomplete: kept.capped || !readable,
            lines: kept.lines,
        });
    }
    out
}

impl Ns {
    fn by_id(&self, id: u64) -> Option<&Line> {
        self.lines.iter().find(|l| l.mount.id == id)
    }

    /// The mounts at `path` in this namespace, bottom first: the one on the
    /// directory entry, then each mounted over the previous one.
    pub fn stack_at(&self, path: &[u8]) -> Vec<&Line> {
        // Linear in the mounts at `path`: a user can stack thousands there.
        let mut on: HashMap<u64, &Line> = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for l in self.lines.iter().filter(|l| l.mount.mount_point == path) {
            on.insert(l.mount.parent, l);
            ids.insert(l.mount.id);
        }
        let Some(bottom) = on
            .iter()
            .find(|(parent, _)| !ids.contains(*parent))
            .map(|(_, l)| *l)
        else {
            return Vec::new();
        };
        let mut out = vec![bottom];
        while out.len() < ids.len() {
            match on.get(&out[out.len() - 1].mount.id) {
                Some(next) => out.push(next),
                None => break,
            }
        }
        out
    }

    /// Whether a path lookup in this view can reach `line`: no other mount
    /// covers its mount point (on its parent, at or above the point), and
    /// its parent is reachable too. Mounts whose parent was not kept (the
    /// view's root) count as reachable.
    pub fn visible(&self, line: &Line) -> bool {
        let mut cur = line;
        for _ in 0..64 {
            let Some(parent) = self.by_id(cur.mount.parent) else {
                return true;
            };
            let covered = self.lines.iter().any(|s| {
                s.mount.parent == parent.mount.id
                    && s.mount.id != cur.mount.id
                    && s.mount.mount_point != parent.mount.mount_point
                    && is_ancestor_or_self(&s.mount.mount_point, &cur.mount.mount_point)
                    && s.mount.mount_point.len() <= cur.mount.mount_point.len()
            });
            if covered {
                return false;
            }
            // A mount stacked at the parent's own point covers the parent.
            if self.lines.iter().any(|s| {
                s.mount.parent == parent.mount.id
                    && s.mount.id != cur.mount.id
                    && s.mount.mount_point == parent.mount.mount_point
            }) {
                return false;
            }
            cur = parent;
        }
        false
    }

    /// Whether the mounts at `path` here sit on the same file as `ours`
    /// (same filesystem, same place in it): the bottom one's parent shows
    /// it. A namespace with a /run of its own (another sandbox, a
    /// container) has a different file at the same path.
    pub fn on_same_file(&self, path: &[u8], ours: &Ident) -> bool {
        let stack = self.stack_at(path);
        let Some(parent) = stack.first().and_then(|b| self.by_id(b.mount.parent)) else {
            return false;
        };
        parent.dev == ours.dev
            && fs_path(&parent.mount.root, &parent.mount.mount_point, path).as_ref()
                == Some(&ours.fs_path)
    }

    /// Whether a lookup of `path` in this view crosses only filesystems no
    /// user can serve, judged from mountinfo alone (nothing is touched).
    pub fn walk_is_safe(&self, path: &[u8]) -> bool {
        !self.incomplete
            && self
                .lines
                .iter()
                .filter(|l| is_ancestor_or_self(&l.mount.mount_point, path))
                .all(|l| {
                    let t = l.mount.fstype.as_slice();
                    LOCAL.contains(&t) || (self.owned_by_us && ROOT_MADE.contains(&t))
                })
    }

    /// A mount at or under `dir` in this view on a filesystem doctor does
    /// not enter (FUSE, a network filesystem, a user's overlay), if any.
    pub fn not_entered_at(&self, dir: &[u8]) -> Option<&Line> {
        self.lines.iter().find(|l| {
            let t = l.mount.fstype.as_slice();
            is_ancestor_or_self(dir, &l.mount.mount_point)
                && !(LOCAL.contains(&t) || (self.owned_by_us && ROOT_MADE.contains(&t)))
        })
    }

    /// The pid to act through: a root one if there is one.
    pub fn actor(&self) -> u32 {
        self.root_pid.unwrap_or(self.pid)
    }

    /// Whether `--fix` may bind a namespace this one holds: root made the
    /// mount namespace and a process in it runs as root (README "Bounded reads").
    pub fn root_held(&self) -> bool {
        self.owned_by_us && self.root_pid.is_some()
    }
}

/// Name, uid and user namespace of `pid`, for messages.
pub fn who(pid: u32) -> Who {
    let comm = std::fs::read(format!("/proc/{pid}/comm"))
        .map(|mut b| {
            if b.last() == Some(&b'\n') {
                b.pop();
            }
            crate::output::escape::escape(&b).into_owned()
        })
        .unwrap_or_default();
    let userns = std::fs::read_link(format!("/proc/{pid}/ns/user"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown".into());
    Who {
        comm,
        uid: uids(pid).map(|(_, e)| e),
        userns,
    }
}

/// Opens the network namespace mounted at `path` in `ns`'s view, or says
/// why not. Never enters a filesystem the view's mountinfo does not show
/// as local, never follows a symlink, never opens anything but nsfs (a
/// FIFO, socket or device there is seen on an O_PATH fd and left), and
/// refuses a namespace our user namespace does not own.
///
/// The lookup runs in a forked child with a deadline
/// ([`super::bounded::open_within`]): if a filesystem on the way stalls
/// anyway, doctor goes on without this namespace.
pub fn open_netns(ns: &Ns, path: &[u8]) -> Result<File, String> {
    let deadline = super::bounded::DEADLINE;
    super::bounded::open_within(deadline, || open_netns_here(ns, path)).unwrap_or_else(|| {
        Err(format!(
            "its view did not answer within {}s; skipped",
            deadline.as_secs_f32()
        ))
    })
}

fn open_netns_here(ns: &Ns, path: &[u8]) -> Result<File, String> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    if !ns.walk_is_safe(path) {
        return Err("its path there crosses a filesystem doctor does not enter (FUSE, network or unknown), or that view was too large to read".into());
    }
    let pid = ns.actor();
    let root = open(
        format!("/proc/{pid}/root").as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("process {pid} is gone ({})", crate::sys::strerror(e as i32)))?;
    let rel = path.strip_prefix(b"/").unwrap_or(path);
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let resolve = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_BENEATH;
    let found = crate::sys::openat2(root.as_fd(), rel, flags, resolve)
        .map_err(|e| format!("it is gone there ({})", crate::sys::strerror(e as i32)))?;
    if !crate::nsident::is_nsfs(&found) {
        return Err("what is there now is not a namespace".into());
    }
    // Reopened through the fd, not by name: the same inode, checked above.
    let file = File::open(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&found)
    ))
    .map_err(|e| {
        format!(
            "it cannot be opened ({})",
            crate::sys::strerror(crate::error::errno_of(e) as i32)
        )
    })?;
    if crate::sys::ns_type(file.as_fd()) != Some(libc::CLONE_NEWNET) {
        return Err("it is not a network namespace".into());
    }
    let ours = user_ns_id("self");
    if ours.is_none() || crate::sys::ns_owner(file.as_fd()) != ours {
        return Err("that network namespace belongs to another user namespace".into());
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_path_joins_mount_root_and_relative_path() {
        let f = |r: &[u8], m: &[u8], p: &[u8]| fs_path(r, m, p);
        assert_eq!(f(b"/", b"/run", b"/run/netns/a").unwrap(), b"/netns/a");
        assert_eq!(
            f(b"/netns", b"/run/netns", b"/run/netns/a").unwrap(),
            b"/netns/a"
        );
        assert_eq!(f(b"/", b"/", b"/run/netns/a").unwrap(), b"/run/netns/a");
        assert_eq!(f(b"/", b"/run", b"/run").unwrap(), b"/");
        assert_eq!(f(b"/", b"/run", b"/running/x"), None);
    }

    #[test]
    fn only_paths_at_above_or_under_watched_dirs_matter() {
        let w: &[&[u8]] = &[b"/run/netns"];
        for p in [&b"/"[..], b"/run", b"/run/netns", b"/run/netns/a"] {
            assert!(matters(p, w), "{}", String::from_utf8_lossy(p));
        }
        for p in [&b"/run/netnsx"[..], b"/home", b"/run/user/1000"] {
            assert!(!matters(p, w), "{}", String::from_utf8_lossy(p));
        }
    }

    fn line(id: u64, parent: u64, point: &[u8], fstype: &[u8]) -> Line {
        let text = format!(
            "{id} {parent} 0:9 / {} rw - {} x rw",
            String::from_utf8_lossy(point),
            String::from_utf8_lossy(fstype)
        );
        Line {
            mount: mountinfo::parse_line(text.as_bytes()).unwrap(),
            dev: (0, 9),
        }
    }

    fn ns(lines: Vec<Line>, owned_by_us: bool) -> Ns {
        Ns {
            pid: 1,
            root_pid: None,
            owned_by_us,
            root_propagation: "private".into(),
            lines,
            incomplete: false,
        }
    }

    #[test]
    fn fuse_or_a_users_overlay_on_the_way_makes_a_walk_unsafe() {
        let p = b"/run/netns/a";
        let base = || vec![line(1, 0, b"/", b"ext4"), line(2, 1, b"/run", b"tmpfs")];
        assert!(ns(base(), false).walk_is_safe(p));
        let mut fuse = base();
        fuse.push(line(3, 2, b"/run", b"fuse.sshfs"));
        assert!(!ns(fuse, true).walk_is_safe(p));
        let mut ovl = base();
        ovl.push(line(3, 2, b"/run/netns", b"overlay"));
        assert!(!ns(ovl.clone(), false).walk_is_safe(p));
        assert!(ns(ovl, true).walk_is_safe(p));
        let mut n = ns(base(), true);
        n.incomplete = true;
        assert!(!n.walk_is_safe(p));
    }

    #[test]
    fn stacks_are_ordered_bottom_first() {
        let n = ns(
            vec![
                line(1, 0, b"/", b"ext4"),
                line(5, 4, b"/run/netns/a", b"tmpfs"),
                line(4, 1, b"/run/netns/a", b"nsfs"),
            ],
            true,
        );
        let ids: Vec<u64> = n
            .stack_at(b"/run/netns/a")
            .iter()
            .map(|l| l.mount.id)
            .collect();
        assert_eq!(ids, [4, 5]);
        let ours = Ident {
            dev: (0, 9),
            fs_path: b"/run/netns/a".to_vec(),
        };
        assert!(n.on_same_file(b"/run/netns/a", &ours));
        let other = Ident {
            dev: (0, 10),
            ..ours
        };
        assert!(!n.on_same_file(b"/run/netns/a", &other));
    }

    #[test]
    fn a_fifo_where_mountinfo_said_nsfs_is_seen_on_the_fd_and_never_opened() {
        // The swap between scan and open: the view's mountinfo (here, none:
        // nothing unsafe on the way) led doctor to a FIFO. Opening it would
        // block until a writer came; looking at it must not.
        let dir = std::env::temp_dir().join(format!("rnetns-holders-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let mut view = ns(Vec::new(), true);
        view.pid = std::process::id();
        view.root_pid = Some(view.pid);
        let path = fifo.as_os_str().as_encoded_bytes().to_vec();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(open_netns(&view, &path).map(|_| ()));
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            got.expect("open_netns blocked on a FIFO"),
            Err("what is there now is not a namespace".into())
        );
    }

    #[test]
    fn a_mount_under_a_later_bind_of_its_directory_is_hidden() {
        // /run/netns bound non-recursively over itself after "a" was mounted.
        let n = ns(
            vec![
                line(1, 0, b"/", b"ext4"),
                line(2, 1, b"/run", b"tmpfs"),
                line(3, 2, b"/run/netns", b"tmpfs"),
                line(4, 3, b"/run/netns/a", b"nsfs"),
                line(5, 3, b"/run/netns", b"tmpfs"),
                line(6, 5, b"/run/netns/b", b"nsfs"),
            ],
            true,
        );
        assert!(!n.visible(&n.lines[3]));
        assert!(n.visible(&n.lines[5]));
        assert!(n.visible(&n.lines[1]));
    }
}
