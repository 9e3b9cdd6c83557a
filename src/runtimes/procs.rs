//! Namespaces held by processes: one pass over /proc gives each process's
//! netns identity; its cgroup gives the container it belongs to (from one
//! walk of the container hierarchy, see [`super::cgroups`], or, where that
//! hierarchy is not mounted, from each `/proc/PID/cgroup`); and nsfs bind
//! mounts anywhere come from /proc/self/mountinfo. Processes that exit
//! mid-scan are simply not counted; processes the caller may not inspect
//! are counted for a note.
//! Syscalls: getdents, readlinkat, openat/read of /proc files.

use super::cgroups::{self, Members};
use super::state::{netns_at, netns_file_at, Notes};
use super::{Evidence, Key};
use crate::mountinfo::Mount;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::collections::{HashMap, HashSet};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, Default)]
pub struct Procs {
    pub by_pid: HashMap<u32, Key>,
    /// /proc, open for the per-process reads.
    proc_dir: Option<nix::dir::Dir>,
    /// `/proc/PID/cgroup` of each process read so far (discovery asks for
    /// some, membership for all).
    cgroups: std::cell::RefCell<HashMap<u32, Option<Box<[u8]>>>>,
    /// The mount point of the container hierarchy, to walk.
    hierarchy: Option<std::path::PathBuf>,
    /// Every process in a container cgroup, once the hierarchy is walked
    /// (on first need); `None`: read each `/proc/PID/cgroup` instead.
    walked: std::cell::OnceCell<Option<Members>>,
    /// The caller's own netns.
    pub own: Option<Key>,
    /// Processes whose netns could not be read (EACCES for non-root, or
    /// a process root may not trace either), in /proc order.
    pub unreadable: Vec<u32>,
}

impl Procs {
    /// Reads every process's netns; `mounts` (ours) locates the cgroup
    /// hierarchy to walk when cgroups are first asked about.
    pub fn scan(mounts: &[Mount]) -> Procs {
        let mut p = Procs {
            own: netns_at(Path::new("/proc/self/ns/net")).ok().flatten(),
            ..Procs::default()
        };
        p.hierarchy = std::fs::read("/proc/self/cgroup")
            .ok()
            .and_then(|own| cgroups::container_hierarchy(&own, mounts));
        let Ok(mut dir) = nix::dir::Dir::open(
            "/proc",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            return p;
        };
        let pids: Vec<u32> = dir
            .iter()
            .flatten()
            .filter_map(|e| e.file_name().to_str().ok()?.parse().ok())
            .collect();
        // Every netns is on nsfs, the device of our own: `N/ns/net` read as
        // a link (`net:[INO]`) is cheaper than following it with stat.
        let nsfs_dev = p.own.map(|k| k.0);
        for pid in pids {
            let rel = format!("{pid}/ns/net");
            match nix::fcntl::readlinkat(&dir, rel.as_str()) {
                Ok(link) => {
                    if let (Some(dev), Some(ino)) = (nsfs_dev, net_ino(link.as_bytes())) {
                        p.by_pid.insert(pid, (dev, ino));
                    }
                }
                Err(Errno::EACCES | Errno::EPERM) => p.unreadable.push(pid),
                Err(_) => {} // exited mid-scan, or a zombie
            }
        }
        p.proc_dir = Some(dir);
        p
    }

    /// The whole walk, done now if not yet.
    fn walked(&self) -> Option<&Members> {
        self.walked_skipping(&|_| false)
    }

    /// The walk, done now if not yet; if done now, the members of the
    /// containers `skip` names are not read (see `members::attach`).
    pub(super) fn walked_skipping(
        &self,
        skip: &dyn Fn(&super::Container) -> bool,
    ) -> Option<&Members> {
        self.walked
            .get_or_init(|| cgroups::walk(self.hierarchy.as_deref()?, skip))
            .as_ref()
    }

    /// `f` of `/proc/PID/cgroup`, read once through the open /proc fd.
    pub(super) fn with_cgroup<T>(&self, pid: u32, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let mut cache = self.cgroups.borrow_mut();
        let text = cache.entry(pid).or_insert_with(|| self.read_cgroup(pid));
        text.as_deref().map(f)
    }

    fn read_cgroup(&self, pid: u32) -> Option<Box<[u8]>> {
        let dir = self.proc_dir.as_ref()?;
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(dir, format!("{pid}/cgroup").as_str(), flags, Mode::empty());
        let text = crate::sys::read_all(fd.ok()?.as_fd(), true).ok()?;
        Some(text.into_boxed_slice())
    }

    /// Names the processes that could not be inspected (README "Tests"): `PID 1
    /// (process_api) could not be inspected (Permission denied);
    /// namespaces only it holds are missing`, at most
    /// [`NAMED_UNREADABLE`] of them, then "and N more".
    pub fn note_unreadable(&self, notes: &mut Notes) {
        let comm = |pid: u32| {
            let name = std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default();
            let name = name.strip_suffix(b"\n").unwrap_or(&name);
            match name {
                [] => format!("{pid}"),
                n => format!("{pid} ({})", crate::output::escape::escape(n)),
            }
        };
        let hint = if nix::unistd::geteuid().is_root() {
            ""
        } else {
            "; run as root for a complete list"
        };
        if let Some(note) = unreadable_note(&self.unreadable, comm, hint) {
            notes.add(note);
        }
    }

    /// The netns of `pid` if its cgroup names container `id` (guards
    /// against a reused PID in a stale state file).
    pub fn pid_runs(&self, pid: u32, id: &str) -> Option<Key> {
        self.pid_in_cgroup(pid, id, false)
    }

    /// The same for rootless podman, whose containers on cgroup v1 get no
    /// cgroup at all: a process only in root cgroups is accepted too.
    pub fn pid_runs_rootless(&self, pid: u32, id: &str) -> Option<Key> {
        self.pid_in_cgroup(pid, id, true)
    }

    fn pid_in_cgroup(&self, pid: u32, id: &str, rootless: bool) -> Option<Key> {
        let key = *self.by_pid.get(&pid)?;
        // A process the walk placed is judged by that cgroup; the others
        // (a custom cgroup parent, rootless podman's root cgroups) by
        // their whole cgroup file.
        if let Some((path, _)) = self.walked().and_then(|w| w.get(&pid)) {
            return path.contains(id).then_some(key);
        }
        let found = self.with_cgroup(pid, |text| {
            let text = String::from_utf8_lossy(text);
            let paths = text.lines().filter_map(|l| l.splitn(3, ':').nth(2));
            let mut all_root = true;
            for p in paths {
                if p.contains(id) {
                    return true;
                }
                all_root &= p == "/";
            }
            rootless && all_root
        })?;
        found.then_some(key)
    }
}

/// Adds every nsfs mount of a network namespace listed in the caller's
/// mountinfo (bind mounts anywhere, as `lsns` finds them); a path another
/// source already opened and found to be that namespace is not opened again.
pub fn scan_mounts(ev: &mut Evidence, mounts: &[Mount]) {
    let known: HashSet<(&[u8], u64)> = ev
        .paths
        .iter()
        .filter_map(|h| Some((&h.path[..], h.key?.1)))
        .collect();
    let mut found = Vec::new();
    for m in mounts.iter().filter(|m| m.is_nsfs()) {
        let Some(ino) = net_ino(&m.root) else {
            continue;
        };
        if known.contains(&(&m.mount_point[..], ino)) {
            continue;
        }
        let p = Path::new(std::ffi::OsStr::from_bytes(&m.mount_point));
        // Only when the path still shows that mount (not overmounted).
        if let Ok(Some((key, file))) = netns_file_at(p) {
            if key.1 == ino {
                found.push((m.mount_point.clone(), key, file));
            }
        }
    }
    for (path, key, file) in found {
        ev.hold(key, file);
        ev.path(path, Some(key), None);
    }
}

/// The inode in an nsfs name (`net:[4026531833]`: a `/proc/PID/ns/net`
/// link, an nsfs mount's root).
fn net_ino(name: &[u8]) -> Option<u64> {
    let digits = name.strip_prefix(b"net:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// How many uninspectable processes a note names before "and N more".
pub const NAMED_UNREADABLE: usize = 5;

/// The note for `pids` (named by `name`), `None` when there are none.
fn unreadable_note(pids: &[u32], name: impl Fn(u32) -> String, hint: &str) -> Option<String> {
    let (first, rest) = pids.split_at(pids.len().min(NAMED_UNREADABLE));
    let mut list = first
        .iter()
        .map(|&p| name(p))
        .collect::<Vec<_>>()
        .join(", ");
    if !rest.is_empty() {
        list.push_str(&format!(" and {} more", rest.len()));
    }
    let (what, holds) = match pids.len() {
        0 => return None,
        1 => ("PID", "it holds"),
        _ => ("PIDs", "they hold"),
    };
    Some(format!(
        "{what} {list} could not be inspected (Permission denied); namespaces only {holds} are missing{hint}"
    ))
}

#[cfg(test)]
mod note_tests {
    use super::unreadable_note;

    fn name(pid: u32) -> String {
        match pid {
            1 => "1 (process_api)".into(),
            7 => "7 (a\\x1bb)".into(),
            p => p.to_string(),
        }
    }

    #[test]
    fn one_unreadable_process_is_named() {
        assert_eq!(
            unreadable_note(&[1], name, "").as_deref(),
            Some("PID 1 (process_api) could not be inspected (Permission denied); namespaces only it holds are missing")
        );
        assert_eq!(unreadable_note(&[], name, ""), None);
    }

    #[test]
    fn at_most_five_are_named_then_a_count() {
        let note = unreadable_note(
            &[1, 7, 10, 11, 12, 13, 14],
            name,
            "; run as root for a complete list",
        );
        assert_eq!(
            note.as_deref(),
            Some("PIDs 1 (process_api), 7 (a\\x1bb), 10, 11, 12 and 2 more could not be inspected (Permission denied); namespaces only they hold are missing; run as root for a complete list")
        );
    }
}
