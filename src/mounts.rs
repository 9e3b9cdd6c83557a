//! Run-dir mount setup (spec 4.4 steps 1-4, divergence D3): create the run
//! dir (mode 0755 under the umask), lock it (`store::lock`), and make it a shared mount
//! point. rnetns binds it recursively onto itself, makes it private, then
//! shared, so it gets a peer group of its own and never joins `/run`'s.
//! Syscalls: mkdir, open, flock, mount.

use crate::error::{errno_of, Error};
use crate::store::lock::{flock_bounded, lock_own, FLOCK_WAIT};
use crate::store::RUN_DIR;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::mount::{mount, MsFlags};
use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::sync::atomic::{AtomicU64, Ordering};

/// An `add`'s locks (ARCHITECTURE.md, Locks): rnetns's own lock, held
/// from the run-dir setup to the end of the bind so that rnetns readers
/// never see the half-made entry. The run dir's own flock is not held:
/// like 6.1, rnetns takes it only around making the run dir a shared
/// mount point, so a stopped `add` or batch never holds off iproute2.
pub struct RunDirLock {
    _own: Option<Flock<File>>,
}

/// Creates the run dir if needed, takes rnetns's own lock, and makes the
/// run dir a shared mount point with its own peer group: under the run
/// dir's flock when it is not a mount point yet (the self-bind, which two
/// processes must not both make), without it when it is one already
/// (re-sharing an existing mount cannot race; 6.1 takes the flock for
/// both, and a stopped `add` holding it there would hold off every `ip
/// netns add`: with thousands of entries the recursive re-share is most of
/// an `add`'s time).
pub fn prepare_run_dir() -> Result<RunDirLock, Error> {
    // Before the mkdir: once rnetns has made the run dir, its lock file
    // exists, so a reader never finds the one without the other.
    let own = lock_own(true);
    if let Err(e) = DirBuilder::new().mode(0o755).create(RUN_DIR) {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(Error::sys(format!("mkdir {RUN_DIR} failed"), errno_of(e)));
        }
    }
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(RUN_DIR)
        .map_err(|e| {
            Error::sys(
                format!("Cannot open netns runtime directory \"{RUN_DIR}\""),
                errno_of(e),
            )
        })?;
    share_once(dir)?;
    Ok(RunDirLock { _own: own })
}

/// The run dir's flock for the self-bind, with 6.1's warning when it
/// cannot be had.
fn flock_for_setup(dir: File) -> Option<Flock<File>> {
    match flock_bounded(dir, FlockArg::LockExclusiveNonblock, FLOCK_WAIT) {
        Ok(l) => Some(l),
        Err(e) => {
            let what = format!("Warning: could not flock netns runtime directory \"{RUN_DIR}\"");
            let text = crate::error::sys_text(what.as_bytes(), e);
            crate::error::eprint_bytes(&[text, b"\n".to_vec()].concat());
            None
        }
    }
}

/// The run-dir mount this process last made shared (recursively), by its
/// unique mount id; 0 for none.
static SHARED_BY_US: AtomicU64 = AtomicU64::new(0);

/// `make_shared`, once per process and run-dir mount: a batch of adds
/// walks the run dir's mounts (`MS_SHARED|MS_REC`, O(entries)) on its first
/// line only. Later lines check with two O(1) syscalls that the run dir is
/// still that mount and still shared; the entries this process bound on it
/// since are shared already, as mounts made under a shared mount are. A
/// mount someone else makes private under the run dir in the middle of a
/// batch stays private until the next process; 6.1 would re-share it.
fn share_once(dir: File) -> Result<(), Error> {
    let done = SHARED_BY_US.load(Ordering::Relaxed);
    let path = std::path::Path::new(RUN_DIR);
    if done != 0 && crate::sys::mount_shared(path) == Some((done, true)) {
        return Ok(());
    }
    let none: Option<&str> = None;
    let flags = MsFlags::MS_SHARED | MsFlags::MS_REC;
    match mount(none, RUN_DIR, Some("none"), flags, none) {
        Ok(()) => {}
        // Not a mount point yet: the self-bind, under the flock.
        Err(Errno::EINVAL) => {
            let flock = flock_for_setup(dir);
            make_shared()?;
            drop(flock);
        }
        Err(e) => {
            return Err(Error::sys(
                format!("mount --make-shared {RUN_DIR} failed"),
                e,
            ))
        }
    }
    if let Some((id, true)) = crate::sys::mount_shared(path) {
        SHARED_BY_US.store(id, Ordering::Relaxed);
    }
    Ok(())
}

pub fn make_shared() -> Result<(), Error> {
    let none: Option<&str> = None;
    let mut bound = false;
    loop {
        match mount(
            none,
            RUN_DIR,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            none,
        ) {
            Ok(()) => return Ok(()),
            Err(Errno::EINVAL) if !bound => {
                mount(
                    Some(RUN_DIR),
                    RUN_DIR,
                    Some("none"),
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    none,
                )
                .map_err(|e| Error::sys(format!("mount --bind {RUN_DIR} {RUN_DIR} failed"), e))?;
                // D3: leave the peer group the bind inherited (a shared /run's).
                mount(none, RUN_DIR, Some("none"), MsFlags::MS_PRIVATE, none)
                    .map_err(|e| Error::sys(format!("mount --make-private {RUN_DIR} failed"), e))?;
                bound = true;
            }
            Err(e) => {
                return Err(Error::sys(
                    format!("mount --make-shared {RUN_DIR} failed"),
                    e,
                ))
            }
        }
    }
}

/// Gives an existing run-dir mount a peer group of its own (D3): private,
/// then shared again.
pub fn reshare() -> Result<(), Errno> {
    let none: Option<&str> = None;
    mount(none, RUN_DIR, Some("none"), MsFlags::MS_PRIVATE, none)?;
    mount(
        none,
        RUN_DIR,
        Some("none"),
        MsFlags::MS_SHARED | MsFlags::MS_REC,
        none,
    )
}
