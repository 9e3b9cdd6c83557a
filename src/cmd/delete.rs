//! `ip netns delete NAME` and `ip -all netns delete` (spec 4.7): lazily
//! detach the entry's mounts (errors ignored) and unlink it, under rnetns's
//! own lock (never the run dir's flock, which 6.1's delete does not take
//! either; ARCHITECTURE.md, Locks). rnetns detaches every stacked layer, so one delete removes
//! the entry (6.1 needs two; ledger D7), and never follows a symlink entry
//! to unmount its target (UMOUNT_NOFOLLOW). Syscalls: flock,
//! umount2(MNT_DETACH|UMOUNT_NOFOLLOW), unlink.

use super::{Ctx, Status};
use crate::bytes::cat;
use crate::error::errno_of;
use crate::error::Error;
use crate::store::{self, entry_display, entry_path, RUN_DIR};
use nix::errno::Errno;
use nix::mount::{umount2, MntFlags};

/// Detaches (optionally) and unlinks `RUN_DIR/NAME`. Each detach removes
/// the top layer; the kernel refuses to unlink a file that is still a mount
/// point here (EBUSY), so a stacked entry (D7) is found by the unlink
/// itself and detached again, and the usual single layer costs no probe.
pub fn remove_entry(name: &[u8], detach: bool) -> Result<(), Error> {
    let path = entry_path(name);
    let detach_one = || umount2(&path, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW).is_ok();
    let mut detached = detach && detach_one();
    // Bounded: a mount point cannot hold more layers than this in practice.
    for _ in 0..64 {
        match std::fs::remove_file(&path) {
            Err(e) if detached && e.raw_os_error() == Some(libc::EBUSY) => detached = detach_one(),
            done => return done.map_err(|e| unlink_error(name, e)),
        }
    }
    std::fs::remove_file(&path).map_err(|e| unlink_error(name, e))
}

fn unlink_error(name: &[u8], e: std::io::Error) -> Error {
    Error::sys(
        cat(&[
            b"Cannot remove namespace file \"",
            &entry_display(name),
            b"\"",
        ]),
        errno_of(e),
    )
}

pub fn delete(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    // Under rnetns's own lock: never between another rnetns add's
    // placeholder and its mount, and readers never see a half-deleted
    // entry (README "Hardening").
    // No run dir: nothing to delete at this instant. Going on unlocked
    // could unlink the placeholder of an add that creates the run dir now.
    let lock = crate::store::lock::lock_run_dir(true);
    if ctx.globals.all {
        return match lock {
            Err(Errno::ENOENT) => Ok(0),
            _ => delete_all(),
        };
    }
    let name = args
        .first()
        .ok_or(Error::Plain("No netns name specified"))?;
    if let Err(Errno::ENOENT) = lock {
        return Err(unlink_error(
            name,
            std::io::Error::from_raw_os_error(libc::ENOENT),
        ));
    }
    remove_entry(name, true)?;
    Ok(0)
}

/// spec 4.7: readdir order, stop at the first failure, still exit 0.
fn delete_all() -> Status {
    let names = match store::entries() {
        Ok(n) => n,
        Err(Errno::ENOENT) => return Ok(0),
        Err(e) => return Err(Error::sys(format!("Failed to open directory {RUN_DIR}"), e)),
    };
    for name in names {
        if let Err(e) = remove_entry(&name, true) {
            crate::error::eprint_bytes(&e.message());
            break;
        }
    }
    Ok(0)
}
