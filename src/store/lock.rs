//! The two locks on the run dir (ARCHITECTURE.md "Locks"), both flock(2)
//! with a bounded wait: rnetns's own lock ([`OWN_LOCK`], shared for
//! readers, exclusive for changes) and the run dir's own flock, the one
//! iproute2 6.1 takes around its run-dir setup. A stopped holder slows
//! rnetns down; it never hangs it.
//! Syscalls: stat, open, flock.

use super::RUN_DIR;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

/// How long rnetns waits for the run dir's flock another process holds
/// before going on without it.
pub const FLOCK_WAIT: Duration = Duration::from_secs(2);

/// How long rnetns waits for its own lock.
const OWN_WAIT: Duration = Duration::from_secs(1);

/// flock(2) with a bounded wait (polling LOCK_NB): EWOULDBLOCK when the
/// lock stayed taken for `wait`.
pub fn flock_bounded(file: File, arg: FlockArg, wait: Duration) -> Result<Flock<File>, Errno> {
    let start = Instant::now();
    let mut file = file;
    loop {
        match Flock::lock(file, arg) {
            Ok(lock) => return Ok(lock),
            Err((back, Errno::EWOULDBLOCK)) if start.elapsed() < wait => {
                file = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((_, e)) => return Err(e),
        }
    }
}

/// The run dir's own flock, exclusive, with a bounded wait: the lock
/// iproute2 6.1 takes (blocking) around its run-dir setup, before it
/// creates an entry. Held by `doctor` while it swaps the run dir's mount,
/// so that no new `add` starts meanwhile.
pub fn flock_run_dir() -> Option<Flock<File>> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(RUN_DIR)
        .ok()?;
    flock_bounded(dir, FlockArg::LockExclusiveNonblock, FLOCK_WAIT).ok()
}

/// Takes rnetns's lock on the run dir's entries ([`lock_own`]),
/// exclusive (delete) or shared (readers that open entries). Readers hold
/// it only while opening entries, so they never see the placeholder of an
/// rnetns `add` in progress or an entry that a `delete` has unmounted but
/// not yet unlinked (README "Hardening", storm test). It is not the run
/// dir's flock, which iproute2 waits on with no timeout.
///
/// `Err(ENOENT)`: there is no run dir, so there is no entry at this
/// instant; the caller answers from that instead of going on unlocked,
/// which could meet the placeholder of an `add` that creates the run dir
/// meanwhile. `Ok(None)`: the lock could not be had (or stayed taken for
/// about a second); the caller goes on without it.
pub fn lock_run_dir(exclusive: bool) -> Result<Option<Flock<File>>, Errno> {
    match std::fs::metadata(RUN_DIR) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Errno::ENOENT),
        _ => {}
    }
    Ok(lock_own(exclusive))
}

/// rnetns's own lock, outside the run dir so that iproute2 never waits on
/// it (ARCHITECTURE.md "Locks").
pub const OWN_LOCK: &str = "/run/rnetns.lock";

/// Takes rnetns's own lock ([`OWN_LOCK`]): exclusive for a change of the
/// run dir (`add`, `attach`, `delete`, a doctor repair), shared for a
/// reader that must not see one half done.
///
/// Only a writer creates the lock file (mode 0644), so read-only commands
/// leave no file behind. A reader opens an existing one and, where there
/// is none, goes on without a lock: no rnetns writer has run since /run
/// was mounted (an rnetns `add` makes the file before it makes the run
/// dir), except one starting at this instant on a run dir iproute2 made,
/// which such a reader does not wait for. A writer that may not create or
/// write the file takes it through a read-only open. The wait is bounded
/// (about a second): a stopped holder slows rnetns down, it never hangs
/// it.
pub fn lock_own(exclusive: bool) -> Option<Flock<File>> {
    let flags = libc::O_CLOEXEC | libc::O_NOFOLLOW;
    let reader = || {
        OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(OWN_LOCK)
    };
    let file = if exclusive {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o644)
            .custom_flags(flags)
            .open(OWN_LOCK)
            .or_else(|_| reader())
    } else {
        reader()
    };
    let arg = if exclusive {
        FlockArg::LockExclusiveNonblock
    } else {
        FlockArg::LockSharedNonblock
    };
    flock_bounded(file.ok()?, arg, OWN_WAIT).ok()
}
