//! `doctor --fix`: the repairs, each one reported. The run dir's own mount
//! is repaired first (which can make hidden mounts visible again), then the
//! entries are checked afresh: held-elsewhere namespaces are bound back,
//! and placeholders nothing holds are unlinked.

use super::{checks, Finding, Repair};
use crate::mounts;
use crate::store::{self, entry_path, RUN_DIR};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

/// Applies every safe repair; returns what was done, one line each.
pub fn apply(findings: &[Finding]) -> Vec<String> {
    let mut done = Vec::new();
    if findings.iter().any(|f| f.repair == Repair::Rebuild) {
        done.push(rebuild());
    } else if findings.iter().any(|f| f.repair == Repair::Reshare) {
        done.push(match super::exclusive(mounts::reshare) {
            Ok(()) => format!("made {RUN_DIR} shared with a peer group of its own"),
            Err(e) => format!(
                "could not re-share {RUN_DIR}: {}",
                crate::sys::strerror(e as i32)
            ),
        });
    }
    // Found without a lock; each repaired under the locks, where its
    // last-moment re-check runs (issue 22: the scan holds nothing).
    for f in checks::run() {
        match &f.repair {
            Repair::Adopt { name, pid } => done.push(super::exclusive(|| adopt(name, *pid))),
            Repair::RemoveStale(name) => done.push(super::exclusive(|| remove_stale(name))),
            _ => {}
        }
    }
    done
}

fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(&store::entry_display(name)).into_owned()
}

/// Opens an entry if a namespace is mounted on it.
fn open_ns(path: &std::path::Path) -> Option<File> {
    let f = File::open(path).ok()?;
    mounts::is_nsfs(&f).then_some(f)
}

fn bind_fd(file: &File, name: &[u8]) -> nix::Result<()> {
    let src = format!("/proc/self/fd/{}", file.as_raw_fd());
    let none: Option<&str> = None;
    mount(
        Some(src.as_str()),
        &entry_path(name),
        Some("none"),
        MsFlags::MS_BIND,
        none,
    )
}

/// The run dir's mount rebuilt: with no window where the layout allows
/// ([`swap`]), else the legacy way under the locks.
fn rebuild() -> String {
    super::swap::rebuild().unwrap_or_else(|| super::exclusive(legacy_rebuild))
}

/// The legacy rebuild, for layouts with mounts under the run dir's top
/// (stacked run-dir mounts, copies hidden by a shared /run, no run-dir
/// mount), which cannot be removed without removing what sits on them:
/// holds every namespace the run dir names (at any layer), takes the run
/// dir's mounts apart, sets it up again (own peer group) and binds each
/// namespace back onto its name, once. Names do not resolve between the
/// first unmount and their bind (issue 22 leaves this for these layouts).
fn legacy_rebuild() -> String {
    let names = store::entries().unwrap_or_default();
    let mut held: Vec<(Vec<u8>, File)> = Vec::new();
    let grab = |held: &mut Vec<(Vec<u8>, File)>| {
        for n in &names {
            if !held.iter().any(|(h, _)| h == n) {
                if let Some(f) = open_ns(&entry_path(n)) {
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
        if bind_fd(f, n).is_ok() {
            rebound += 1;
        }
    }
    if let Err(e) = shared {
        return format!("could not set up {RUN_DIR} again: {e}; bound {rebound} namespace(s) back on the directory");
    }
    format!("rebuilt {RUN_DIR}: a shared mount with its own peer group, {rebound} namespace(s) mounted once each")
}

fn adopt(name: &[u8], pid: u32) -> String {
    let mut path = format!("/proc/{pid}/root").into_bytes();
    path.extend_from_slice(&store::entry_display(name));
    let path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&path));
    match open_ns(&path) {
        Some(f) => match bind_fd(&f, name) {
            Ok(()) => format!(
                "adopted {}: bound the namespace that process {pid} holds in its mount namespace",
                shown(name)
            ),
            Err(e) => format!(
                "could not adopt {}: {}",
                shown(name),
                crate::sys::strerror(e as i32)
            ),
        },
        None => format!(
            "could not adopt {}: process {pid} no longer holds it",
            shown(name)
        ),
    }
}

fn remove_stale(name: &[u8]) -> String {
    let path = entry_path(name);
    // Re-check at the last moment: a plain file, nothing mounted on it.
    let plain = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
    if !plain || open_ns(&path).is_some() {
        return format!("left {} alone: it changed while doctor ran", shown(name));
    }
    match std::fs::remove_file(&path) {
        Ok(()) => format!("removed stale entry {}", shown(name)),
        Err(e) => format!("could not remove {}: {e}", shown(name)),
    }
}
