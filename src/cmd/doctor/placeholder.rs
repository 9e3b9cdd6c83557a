//! What makes a run-dir entry a stale placeholder that `doctor --fix` may
//! remove (rnetns(8) DOCTOR), and the removal itself. `ip netns add` (6.1, no
//! lock) and `rnetns add` create `NAME` with `open(O_CREAT|O_EXCL, 0)` and
//! then bind the new namespace onto it; what a killed add leaves is a
//! regular file of size 0, mode 0000, one link, on the run dir's own
//! filesystem, with nothing mounted on it. It is only stale once its ctime
//! is older than [`GRACE`]: a younger one may be an add in flight, whose
//! placeholder doctor must not take away. Anything else in the run dir was
//! not made by an add and is reported, never removed. Syscalls: open
//! (O_PATH), fstat, fstatat, statx, unlinkat.

use nix::errno::Errno;
use nix::fcntl::{open, openat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How old a placeholder must be before it counts as stale: an add takes
/// milliseconds between creating it and mounting on it.
pub const GRACE: Duration = Duration::from_secs(10);

/// The grace period in force: [`GRACE`], or `RNETNS_DOCTOR_GRACE` seconds
/// (for an operator who has stopped every add, and for tests); the
/// variable is ignored when rnetns runs set-id.
pub fn grace() -> Duration {
    if crate::sys::is_setid() {
        return GRACE;
    }
    std::env::var("RNETNS_DOCTOR_GRACE")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(GRACE, Duration::from_secs)
}

/// What an unmounted regular entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A placeholder older than the grace period.
    Stale,
    /// A placeholder made this long ago, within the grace period (or with
    /// a ctime in the future).
    InProgress(Duration),
    /// Not what an add makes: why.
    Foreign(String),
}

/// Classifies `st`, an entry with nothing mounted on it here, on a run
/// dir whose st_dev is `run_dev`.
pub fn classify(st: &FileStat, run_dev: u64, now: SystemTime, grace: Duration) -> Kind {
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if kind != SFlag::S_IFREG {
        return Kind::Foreign("it is not a regular file".into());
    }
    if st.st_dev != run_dev {
        return Kind::Foreign("it is on another filesystem than the run dir".into());
    }
    if st.st_size != 0 {
        return Kind::Foreign(format!("it holds {} byte(s)", st.st_size));
    }
    let mode = st.st_mode & 0o7777;
    if mode != 0 {
        return Kind::Foreign(format!("its mode is {mode:04o}, where an add makes 0000"));
    }
    if st.st_nlink != 1 {
        return Kind::Foreign(format!("it has {} hard links", st.st_nlink));
    }
    let ctime = UNIX_EPOCH
        + Duration::from_secs(st.st_ctime.max(0) as u64)
        + Duration::from_nanos(st.st_ctime_nsec.clamp(0, 999_999_999) as u64);
    match now.duration_since(ctime) {
        Ok(age) if age >= grace => Kind::Stale,
        Ok(age) => Kind::InProgress(age),
        Err(_) => Kind::InProgress(Duration::ZERO),
    }
}

/// The run dir, opened again (O_PATH) after the lock was taken: the lock's
/// own fd may be the directory from before the first add's self-bind (see
/// `store::open_entry_locked`).
fn run_dir() -> Result<OwnedFd, Errno> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    open(crate::store::RUN_DIR, flags, Mode::empty())
}

/// Removes entry `name` if it is still, on the fd and at this moment, a
/// stale placeholder with nothing mounted on it here. The caller holds
/// the run dir's exclusive lock (`lock` proves it) and has found no mount
/// on it in any other mount namespace. Says why not otherwise.
pub fn remove_stale(
    _lock: &nix::fcntl::Flock<std::fs::File>,
    name: &[u8],
    grace: Duration,
) -> Result<(), String> {
    let errno = |e: Errno| crate::sys::strerror(e as i32);
    let dir = run_dir().map_err(errno)?;
    let run = fstat(&dir).map_err(errno)?;
    let os = std::ffi::OsStr::from_bytes(name);
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(&dir, os, flags, Mode::empty()).map_err(errno)?;
    let st = fstat(&fd).map_err(errno)?;
    // A mount on it (even a bind of a file of the same filesystem) puts the
    // fd on another mount than the directory's.
    let (dir_mnt, fd_mnt) = (
        crate::sys::mount_id_fd(dir.as_fd()),
        crate::sys::mount_id_fd(fd.as_fd()),
    );
    if dir_mnt.is_none() || dir_mnt != fd_mnt {
        return Err("something is mounted on it now".into());
    }
    match classify(&st, run.st_dev, SystemTime::now(), grace) {
        Kind::Stale => {}
        Kind::InProgress(_) => return Err("it was made again a moment ago".into()),
        Kind::Foreign(why) => return Err(format!("it changed: {why}")),
    }
    // The name still leads to the inode checked on the fd.
    let now = fstatat(&dir, os, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(errno)?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err("it was replaced while doctor looked at it".into());
    }
    nix::unistd::unlinkat(&dir, os, nix::unistd::UnlinkatFlags::NoRemoveDir).map_err(errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholder(age: u64) -> (FileStat, SystemTime) {
        let mut st = nix::sys::stat::stat("/").unwrap();
        st.st_mode = libc::S_IFREG;
        st.st_size = 0;
        st.st_nlink = 1;
        st.st_dev = 7;
        st.st_ctime = 1_000_000;
        st.st_ctime_nsec = 0;
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000 + age);
        (st, now)
    }

    #[test]
    fn only_an_old_empty_mode_0000_single_link_file_is_stale() {
        let g = GRACE;
        let (st, now) = placeholder(11);
        assert_eq!(classify(&st, 7, now, g), Kind::Stale);
        let (st, now) = placeholder(3);
        assert_eq!(
            classify(&st, 7, now, g),
            Kind::InProgress(Duration::from_secs(3))
        );
        let (st, _) = placeholder(0);
        let past = UNIX_EPOCH + Duration::from_secs(999_000);
        assert_eq!(classify(&st, 7, past, g), Kind::InProgress(Duration::ZERO));
        let (st, now) = placeholder(100);
        assert!(matches!(classify(&st, 8, now, g), Kind::Foreign(_)));
        let mut big = st;
        big.st_size = 14;
        assert_eq!(
            classify(&big, 7, now, g),
            Kind::Foreign("it holds 14 byte(s)".into())
        );
        let mut m = st;
        m.st_mode |= 0o644;
        assert!(matches!(classify(&m, 7, now, g), Kind::Foreign(w) if w.contains("0644")));
        let mut l = st;
        l.st_nlink = 2;
        assert!(matches!(classify(&l, 7, now, g), Kind::Foreign(_)));
        let mut d = st;
        d.st_mode = libc::S_IFDIR;
        assert!(matches!(classify(&d, 7, now, g), Kind::Foreign(_)));
    }
}
