//! What rnetns believes from state that a user can write (README "Trust").
//! Root-owned trees (docker, containerd, CRI-O, rootful podman, the run
//! dir) are believed as they are. State found in a user's tree (their run
//! dir, home, pause-process view, or a cgroup they own) speaks only for
//! what that user owns:
//! - a namespace counts for uid U only if its owning user namespace (the
//!   child of ours on its chain of `NS_GET_PARENT`s) was created by U
//!   (`NS_GET_OWNER_UID`), so no file a user writes can attach a name to
//!   the host's or root's namespaces;
//! - a PID read from such state counts only if that process's real uid is
//!   U or lies in U's range in `/etc/subuid` (a rootless container's
//!   processes run as U or as one of U's subordinate uids).
//!
//! What is ignored is counted and said in one note per user. These checks
//! are applied after reading, to what the readers return.
//! Syscalls: open of /proc/PID/ns/net and /proc/self/ns/user,
//! ioctl(NS_GET_USERNS, NS_GET_PARENT, NS_GET_OWNER_UID), fstat, reads of
//! /proc/PID/status, /etc/passwd and /etc/subuid.

use super::procs::Procs;
use super::state::{netns_file_at, Notes};
use super::{Evidence, Key, Rank};
use crate::nsident::{key_of, netns_of, proc_netns};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Deepest chain of user namespaces the kernel allows (32), plus margin.
const MAX_USERNS_DEPTH: usize = 40;

/// The uid that created the user namespace owning the namespace `f`, as
/// the child of our own user namespace on its chain of parents; `None`
/// when our own user namespace owns it (root's: the host's, docker's, a
/// run-dir name's) or when the chain cannot be followed.
pub fn userns_owner(f: &File) -> Option<u32> {
    let own = key_of(&File::open("/proc/self/ns/user").ok()?)?;
    let mut ns = crate::sys::ns_relative(f.as_fd(), false).ok()?;
    for _ in 0..MAX_USERNS_DEPTH {
        if key_of(&ns)? == own {
            return None;
        }
        let parent = crate::sys::ns_relative(ns.as_fd(), true).ok()?;
        if key_of(&parent)? == own {
            return crate::sys::ns_owner_uid(ns.as_fd()).ok();
        }
        ns = parent;
    }
    None
}

/// The real uid of process `pid` (first field of `Uid:` in its status).
pub fn real_uid(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The login name of `uid` in /etc/passwd.
pub fn user_name(uid: u32) -> Option<String> {
    passwd_entry(|f| f[2].parse() == Ok(uid)).map(|f| f[0].clone())
}

/// The uid of login name (or decimal uid) `name`.
pub fn uid_of(name: &str) -> Option<u32> {
    if let Ok(uid) = name.parse() {
        return Some(uid);
    }
    passwd_entry(|f| f[0] == name).and_then(|f| f[2].parse().ok())
}

fn passwd_entry(want: impl Fn(&[String]) -> bool) -> Option<Vec<String>> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<String> = l.split(':').map(str::to_string).collect();
        (f.len() >= 7 && want(&f)).then_some(f)
    })
}

/// `uid`'s subordinate uid ranges (start, count) in a subuid file's text,
/// whose lines are `NAME-or-UID:START:COUNT` (pure).
pub fn subuid_ranges(text: &str, uid: u32, name: Option<&str>) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let who = f.next()?;
            let start = f.next()?.parse().ok()?;
            let count = f.next()?.parse().ok()?;
            let mine = who.parse() == Ok(uid) || Some(who) == name;
            mine.then_some((start, count))
        })
        .collect()
}

/// One user whose state is being read, and what of it was ignored.
pub struct User {
    pub uid: u32,
    pub name: Option<String>,
    ranges: Vec<(u32, u32)>,
    /// Containers ignored (names or short ids), and namespace paths.
    ignored: Vec<String>,
    paths: usize,
}

impl User {
    pub fn new(uid: u32) -> User {
        let name = user_name(uid);
        let text = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
        let ranges = subuid_ranges(&text, uid, name.as_deref());
        User {
            uid,
            name,
            ranges,
            ignored: Vec::new(),
            paths: 0,
        }
    }

    /// Whether uid `id` is this user or one of their subordinate uids.
    pub fn has_uid(&self, id: u32) -> bool {
        id == self.uid && self.uid != 0
            || self
                .ranges
                .iter()
                .any(|&(s, n)| id >= s && id - s < n && id != 0)
    }

    /// Whether process `pid` runs as this user (or a subordinate uid).
    pub fn owns_pid(&self, pid: u32) -> bool {
        real_uid(pid).is_some_and(|u| self.has_uid(u))
    }

    /// Whether namespace `f` is owned by a user namespace this user made.
    pub fn owns_netns(&self, f: &File) -> bool {
        userns_owner(f) == Some(self.uid)
    }

    /// Whether `key`, reached through process `pid` that this user's
    /// state named, is this user's: the process runs as them, and its
    /// namespace (opened again and checked to be `key`) is theirs.
    pub fn owns(&self, pid: u32, key: Key) -> bool {
        if !self.owns_pid(pid) {
            return false;
        }
        let Ok(f) = File::open(proc_netns(pid.to_string().as_bytes())) else {
            return false;
        };
        netns_of(&f) == Some(key) && self.owns_netns(&f)
    }

    /// Records a container of this user's state that was not believed.
    pub fn ignore(&mut self, label: &str) {
        self.ignored.push(label.to_string());
    }

    /// Records a namespace path in this user's view that was not believed.
    pub fn ignore_path(&mut self) {
        self.paths += 1;
    }

    /// The one note saying what of this user's `what` state was ignored.
    pub fn note(&self, what: &str, notes: &mut Notes) {
        let n = self.ignored.len();
        let mut parts = Vec::new();
        if n > 0 {
            let s = if n == 1 { "" } else { "s" };
            let mut names: Vec<String> = self.ignored.iter().take(5).cloned().collect();
            if n > 5 {
                names.push(format!("and {} more", n - 5));
            }
            parts.push(format!("{n} container{s} ({})", names.join(", ")));
        }
        if self.paths > 0 {
            let s = if self.paths == 1 { "" } else { "s" };
            parts.push(format!("{} namespace path{s}", self.paths));
        }
        if parts.is_empty() {
            return;
        }
        notes.add(format!(
            "ignoring uid {}'s {what} state for {}: their processes or namespaces are not that user's",
            self.uid,
            parts.join(" and ")
        ));
    }
}

/// The owner of the tree at `path`: the first owner other than root of
/// `path` or one of its parents (that user can replace what lies below),
/// else 0. A path that cannot be inspected counts as root's only if it
/// does not exist.
pub fn tree_owner(path: &Path) -> u32 {
    let mut at = std::path::PathBuf::new();
    for part in path.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.uid() != 0 => return m.uid(),
            Ok(_) => {}
            Err(_) => return 0,
        }
    }
    0
}

/// Runs `scan`, the reader of a root-owned runtime whose state lives in
/// `roots`, as it is when root owns those trees; when a user owns one
/// (see [`tree_owner`]), into evidence of its own, of which only what
/// that user owns is kept (README "Trust": ownership by the tree's
/// owner, not its path).
pub fn scan_tree(
    ev: &mut Evidence,
    procs: &Procs,
    roots: &[impl AsRef<Path>],
    what: &str,
    scan: impl FnOnce(&mut Evidence, &Procs),
) {
    let owner = roots.iter().map(|r| tree_owner(r.as_ref())).max();
    let Some(uid) = owner.filter(|&u| u != 0) else {
        scan(ev, procs);
        return;
    };
    let mut sub = Evidence::default();
    scan(&mut sub, procs);
    let mut user = User::new(uid);
    admit(&mut user, sub, ev, procs);
    user.note(what, &mut ev.notes);
}

/// Moves into `ev` what of `sub` (one user's evidence) that user owns,
/// labelled as theirs; the rest is counted in `user` and dropped.
pub(super) fn admit(user: &mut User, sub: Evidence, ev: &mut Evidence, procs: &Procs) {
    let mut verdict: HashMap<Key, bool> = HashMap::new();
    let mut owns = |key: Key, path: Option<&[u8]>| -> bool {
        *verdict
            .entry(key)
            .or_insert_with(|| key_is_users(user.uid, key, &sub.held, procs, path))
    };
    let mut ignored_paths = 0;
    let mut ignored = Vec::new();
    for mut hit in sub.paths {
        if let Some(k) = hit.key {
            if !owns(k, Some(&hit.path)) {
                ignored_paths += 1;
                continue;
            }
        }
        hit.uid = Some(user.uid);
        hit.owner = hit.owner.map(|(r, _)| (r, Rank::User));
        ev.paths.push(hit);
    }
    for (k, mut c) in sub.members {
        c.owner = Some(user.uid);
        if owns(k, None) {
            ev.members.push((k, c));
        } else {
            ignored.push(c);
        }
    }
    for (k, f) in sub.held {
        if verdict.get(&k) == Some(&true) {
            ev.hold(k, f);
        }
    }
    for mut c in sub.catalog {
        c.owner = Some(user.uid);
        ev.catalog.push(c);
    }
    for n in sub.notes.0 {
        ev.notes.add(n);
    }
    for c in &ignored {
        user.ignore(c.name.as_deref().unwrap_or(c.short_id()));
    }
    for _ in 0..ignored_paths {
        user.ignore_path();
    }
    ev.ignored.extend(ignored);
    ev.ignored.extend(sub.ignored);
    ev.settled.extend(sub.settled);
}

/// Whether namespace `key` is `uid`'s, judged on a file of it: one the
/// reader held, one of its processes', or `path`.
fn key_is_users(
    uid: u32,
    key: Key,
    held: &HashMap<Key, File>,
    procs: &Procs,
    path: Option<&[u8]>,
) -> bool {
    let by_pid = || {
        procs
            .by_pid
            .iter()
            .filter(|(_, k)| **k == key)
            .find_map(|(p, _)| {
                let f = File::open(proc_netns(p.to_string().as_bytes())).ok()?;
                (netns_of(&f) == Some(key)).then_some(f)
            })
    };
    let by_path = || {
        let p = Path::new(std::ffi::OsStr::from_bytes(path?));
        netns_file_at(p)
            .ok()
            .flatten()
            .filter(|(k, _)| *k == key)
            .map(|(_, f)| f)
    };
    let owner = match held.get(&key) {
        Some(f) => userns_owner(f),
        None => by_pid().or_else(by_path).and_then(|f| userns_owner(&f)),
    };
    owner == Some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subuid_lines_match_by_name_or_uid() {
        let text = "alice:100000:65536\n1001:200000:10\nbad line\nbob:x:1\n";
        assert_eq!(subuid_ranges(text, 1000, Some("alice")), [(100000, 65536)]);
        assert_eq!(subuid_ranges(text, 1001, None), [(200000, 10)]);
        assert!(subuid_ranges(text, 1002, Some("bob")).is_empty());
    }

    #[test]
    fn root_is_never_a_users_uid() {
        let u = User {
            uid: 1000,
            name: None,
            ranges: vec![(0, 10), (100000, 65536)],
            ignored: Vec::new(),
            paths: 0,
        };
        assert!(u.has_uid(1000) && u.has_uid(100000) && u.has_uid(165535));
        assert!(!u.has_uid(0) && !u.has_uid(165536) && !u.has_uid(1001));
    }

    #[test]
    fn our_own_namespaces_belong_to_no_user() {
        let f = File::open("/proc/self/ns/net").unwrap();
        assert_eq!(userns_owner(&f), None);
        let me = User::new(1000);
        assert!(!me.owns_netns(&f));
    }
}
