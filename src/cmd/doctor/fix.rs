//! `doctor --fix`: the repairs, each one reported as done or not. The run
//! dir's own mount is repaired first (which can make hidden mounts visible
//! again), then the entries are checked afresh: namespaces that root holds
//! in another mount namespace are bound back, and placeholders proven
//! stale are unlinked (rnetns(8) DOCTOR). Nothing an add did not make is touched.

use super::{checks, holders, placeholder, Finding, Repair};
use crate::mounts;
use crate::store::{self, entry_path, RUN_DIR};
use nix::fcntl::Flock;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;

/// One repair: what was tried on which path, and whether it worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub path: Vec<u8>,
    pub fixed: bool,
    pub text: String,
}

fn done(path: &[u8], text: String) -> Action {
    Action {
        path: path.to_vec(),
        fixed: true,
        text,
    }
}

fn failed(path: &[u8], text: String) -> Action {
    Action {
        path: path.to_vec(),
        fixed: false,
        text,
    }
}

/// Applies every safe repair, each under the locks ([`super::exclusive`]);
/// a repair whose lock could not be taken leaves its entry as it is.
pub fn apply(findings: &[Finding]) -> Vec<Action> {
    let mut actions = Vec::new();
    let run_dir = RUN_DIR.as_bytes();
    // A foreign mount on an entry here (not one in another namespace).
    let run_mount = crate::sys::mount_id(std::path::Path::new(RUN_DIR));
    let foreign: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            f.check == "foreign-mount"
                && crate::sys::mount_id(std::path::Path::new(std::ffi::OsStr::from_bytes(&f.path)))
                    != run_mount
        })
        .collect();
    if findings.iter().any(|f| f.repair == Repair::Rebuild) {
        if let Some(f) = foreign.first() {
            // A rebuild unmounts every entry and binds back namespaces only.
            actions.push(failed(
                run_dir,
                format!(
                    "rebuild {RUN_DIR}: that would unmount {}, which is not a network namespace; move it out first",
                    crate::output::escape::escape(&f.path)
                ),
            ));
        } else {
            let text = rebuild();
            actions.push(match text.strip_prefix("could not ") {
                Some(rest) => failed(run_dir, rest.to_string()),
                None => done(run_dir, text),
            });
        }
    } else if findings.iter().any(|f| f.repair == Repair::Reshare) {
        actions.push(match super::exclusive(|_| mounts::reshare()) {
            Ok(()) => done(
                run_dir,
                format!("made {RUN_DIR} shared with a peer group of its own"),
            ),
            Err(e) => failed(
                run_dir,
                format!("re-share {RUN_DIR}: {}", crate::sys::strerror(e as i32)),
            ),
        });
    }
    // Found without a lock; each repaired under the locks, where its
    // last-moment re-check runs (ARCHITECTURE.md, Locks: the scan holds
    // nothing).
    let (again, world) = checks::run_with_world();
    for f in again {
        match &f.repair {
            Repair::Adopt { name, pid } => {
                actions.push(super::exclusive(|lock| adopt(&world, lock, name, *pid)))
            }
            Repair::RemoveStale(name) => {
                actions.push(super::exclusive(|lock| remove_stale(lock, name)))
            }
            _ => {}
        }
    }
    actions
}

fn shown(name: &[u8]) -> String {
    crate::output::escape::escape(&store::entry_display(name)).into_owned()
}

/// The run dir's mount rebuilt: with no window where the layout allows
/// ([`swap`]), else the legacy way under the locks.
fn rebuild() -> String {
    super::swap::rebuild().unwrap_or_else(|| super::exclusive(|_| legacy_rebuild()))
}

/// The legacy rebuild, for layouts with mounts under the run dir's top
/// (stacked run-dir mounts, copies hidden by a shared /run, no run-dir
/// mount), which cannot be removed without removing what sits on them:
/// holds every namespace the run dir names (at any layer), takes the run
/// dir's mounts apart, sets it up again (own peer group) and binds each
/// namespace back onto its name, once. Names do not resolve between the
/// first unmount and their bind (ARCHITECTURE.md "Locks" leaves this for these layouts).
fn legacy_rebuild() -> String {
    let names = store::entries().unwrap_or_default();
    let mut held: Vec<(Vec<u8>, File)> = Vec::new();
    let grab = |held: &mut Vec<(Vec<u8>, File)>| {
        for n in &names {
            if !held.iter().any(|(h, _)| h == n) {
                if let Some(f) = crate::nsident::open_nsfs(&entry_path(n)) {
                    held.push((n.clone(), f));
                }
            }
        }
    };
    grab(&mut held);
    while umount2(RUN_DIR, MntFlags::MNT_DETACH).is_ok() {
        grab(&mut held);
    }
    for n in &names {
        while umount2(
            &entry_path(n),
            MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW,
        )
        .is_ok()
        {
            grab(&mut held);
        }
    }
    // Bound back even when the setup fails: on the bare directory the
    // names still resolve, where dropping the fds would lose them.
    let shared = mounts::make_shared();
    let mut rebound = 0;
    for (n, f) in &held {
        if super::bind_entry(f, n).is_ok() {
            rebound += 1;
        }
    }
    if let Err(e) = shared {
        return format!("could not set up {RUN_DIR} again: {e}; bound {rebound} namespace(s) back on the directory");
    }
    format!("rebuilt {RUN_DIR}: a shared mount with its own peer group, {rebound} namespace(s) mounted once each")
}

/// Binds the network namespace that `pid`'s mount namespace holds at the
/// entry's path onto the entry, if it is still root's to take (see
/// `holders::open_netns`) and the entry is still an empty regular file
/// with nothing mounted on it here. The target is the entry's O_PATH fd,
/// so a symlink swapped in meanwhile is not followed.
fn adopt(world: &checks::World, lock: Option<&Flock<File>>, name: &[u8], pid: u32) -> Action {
    use nix::fcntl::{openat, OFlag};
    let path = store::entry_display(name);
    let no = |why: String| failed(&path, format!("adopt {}: {why}", shown(name)));
    if lock.is_none() {
        return no("the run dir's lock is held by another process".into());
    }
    let Some(ns) = world
        .others
        .iter()
        .find(|n| n.actor() == pid && n.root_held())
    else {
        return no(format!("process {pid} no longer holds it"));
    };
    let held = match holders::open_netns(ns, &path) {
        Ok(f) => f,
        Err(why) => return no(why),
    };
    let errno = |e: nix::errno::Errno| crate::sys::strerror(e as i32);
    let dir = match nix::fcntl::open(
        RUN_DIR,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        Ok(d) => d,
        Err(e) => return no(errno(e)),
    };
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let os = std::ffi::OsStr::from_bytes(name);
    let target = match openat(&dir, os, flags, nix::sys::stat::Mode::empty()) {
        Ok(t) => t,
        Err(e) => return no(errno(e)),
    };
    let plain = nix::sys::stat::fstat(&target)
        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_size == 0);
    let unmounted = crate::sys::mount_id_fd(dir.as_fd()).is_some()
        && crate::sys::mount_id_fd(dir.as_fd()) == crate::sys::mount_id_fd(target.as_fd());
    if !plain || !unmounted {
        return no("the entry changed while doctor ran".into());
    }
    let src = format!("/proc/self/fd/{}", held.as_raw_fd());
    let dst = format!("/proc/self/fd/{}", target.as_raw_fd());
    let none: Option<&str> = None;
    match mount(
        Some(src.as_str()),
        dst.as_str(),
        Some("none"),
        MsFlags::MS_BIND,
        none,
    ) {
        Ok(()) => done(
            &path,
            format!(
                "adopted {}: bound the namespace that process {pid} holds in its mount namespace",
                shown(name)
            ),
        ),
        Err(e) => no(errno(e)),
    }
}

/// Unlinks a placeholder proven stale, under the run dir's lock
/// (`placeholder::remove_stale` re-checks everything on the fd first).
fn remove_stale(lock: Option<&Flock<File>>, name: &[u8]) -> Action {
    let path = store::entry_display(name);
    let Some(lock) = lock else {
        return failed(
            &path,
            format!(
                "remove {}: the run dir's lock is held by another process",
                shown(name)
            ),
        );
    };
    match placeholder::remove_stale(lock, name, placeholder::grace()) {
        Ok(()) => done(&path, format!("removed stale entry {}", shown(name))),
        Err(why) => failed(&path, format!("remove {}: {why}", shown(name))),
    }
}
