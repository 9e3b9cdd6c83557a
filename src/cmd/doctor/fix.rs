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
        done.push(match mounts::reshare() {
            Ok(()) => format!("made {RUN_DIR} shared with a peer group of its own"),
            Err(e) => format!(
                "could not re-share {RUN_DIR}: {}",
                crate::sys::strerror(e as i32)
            ),
        });
    }
    for f in checks::run() {
        match &f.repair {
            Repair::Adopt { name, pid } => done.push(adopt(name, *pid)),
            Repair::RemoveStale(name) => done.push(remove_stale(name)),
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

/// Holds every namespace the run dir names (at any layer), takes the run
/// dir's mounts apart, sets it up again (own peer group) and binds each
/// namespace back onto its name, once.
fn rebuild() -> String {
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
    if let Err(e) = mounts::make_shared() {
        return format!("could not set up {RUN_DIR} again: {e}");
    }
    let mut rebound = 0;
    for (n, f) in &held {
        if bind_fd(f, n).is_ok() {
            rebound += 1;
        }
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
