//! The only module with `unsafe`: thin wrappers over the few libc calls that
//! nix does not cover in the shape iproute2 needs (strerror text, fork,
//! raw `_exit`). Each block carries a `// SAFETY:` line.

use std::ffi::CStr;

/// strerror(3) text for an errno, exactly as glibc words it (no Rust
/// "(os error N)" tail).
pub fn strerror(errno: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its whole length and strerror_r (XSI
    // version in the libc crate) NUL-terminates within it on success.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    CStr::from_bytes_until_nul(&buf)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("Unknown error {errno}"))
}

/// The result of fork(2) in the calling process.
pub enum Forked {
    Child,
    Parent(nix::unistd::Pid),
}

/// fork(2). rnetns forks only from single-threaded code (the `-all` and
/// batch loops of `exec`), never while a tokio runtime exists.
pub fn fork() -> nix::Result<Forked> {
    // SAFETY: callers are single-threaded (no tokio runtime is alive on the
    // exec paths), so the child may run arbitrary code until it execs.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
    }
}

/// Terminates the process at once without running destructors or flushing
/// Rust buffers (a forked child that failed its setup, spec D2).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// Whether the process runs set-uid or set-gid (real and effective ids differ).
pub fn is_setid() -> bool {
    // SAFETY: these getters cannot fail and touch no memory of ours.
    unsafe { libc::getuid() != libc::geteuid() || libc::getgid() != libc::getegid() }
}

/// The namespace type (a `CLONE_NEW*` flag) of an nsfs file, from the
/// NS_GET_NSTYPE ioctl; `None` when `fd` is not a namespace file.
pub fn ns_type(fd: std::os::fd::BorrowedFd<'_>) -> Option<i32> {
    use std::os::fd::AsRawFd;
    // NS_GET_NSTYPE = _IO(0xb7, 0x3), from <linux/nsfs.h>.
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: the fd is borrowed and stays open for the call; this ioctl
    // takes no argument and writes no memory of ours.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    (rc >= 0).then_some(rc)
}

/// The id of the mount that serves `path` (statx STATX_MNT_ID, not
/// following a final symlink): for a mount point, the mount on top of it.
/// Matches the first field of /proc/self/mountinfo.
pub fn mount_id(path: &std::path::Path) -> Option<u64> {
    statx_mnt_id(path, libc::STATX_MNT_ID)
}

/// statx of `path` (not following a final symlink) for one mount-id kind
/// (`STATX_MNT_ID` or `STATX_MNT_ID_UNIQUE`), when the kernel reports it.
fn statx_mnt_id(path: &std::path::Path, mask: u32) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: zeroed statx is a valid out-buffer of the right type.
    let mut buf: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: c is NUL-terminated and buf is a valid statx buffer.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            mask,
            &mut buf,
        )
    };
    (rc == 0 && buf.stx_mask & mask != 0).then_some(buf.stx_mnt_id)
}

/// How many CPUs this process may run on (its affinity mask), at least 1.
/// Not `std::thread::available_parallelism`, which also reads cgroup files
/// and /proc/self/mountinfo (thousands of lines on a host with thousands
/// of namespaces).
pub fn cpus() -> usize {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .count()
            .max(1),
        Err(_) => 1,
    }
}

/// Grows this process's fd table to hold `n` fds while it is still
/// single-threaded. Once the table is shared by threads, every growth waits
/// for an RCU grace period (`expand_files` -> `synchronize_rcu`, milliseconds
/// each); measured in `list` with two workers, it cost more than the second
/// worker saved.
pub fn reserve_fds(n: i32) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let Ok(dir) = std::fs::File::open("/") else {
        return;
    };
    if let Ok(fd) = nix::fcntl::fcntl(&dir, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(n - 1)) {
        // SAFETY: fcntl just returned this fd to us and nothing else owns it.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

/// The unique id of the mount serving `path` and whether it is shared,
/// from statx(STATX_MNT_ID_UNIQUE) and statmount(2) (Linux 6.8+); `None`
/// where the kernel has neither. Two syscalls, however many mounts exist.
pub fn mount_shared(path: &std::path::Path) -> Option<(u64, bool)> {
    const STATX_MNT_ID_UNIQUE: u32 = 0x4000;
    const SYS_STATMOUNT: libc::c_long = 457;
    const STATMOUNT_MNT_BASIC: u64 = 0x2;
    const MS_SHARED: u64 = 1 << 20;
    let id = statx_mnt_id(path, STATX_MNT_ID_UNIQUE)?;
    // struct mnt_id_req (MNT_ID_REQ_SIZE_VER0): size, spare, mnt_id, param.
    let req: [u64; 3] = [24, id, STATMOUNT_MNT_BASIC];
    // struct statmount: mask at byte 8, mnt_propagation at byte 72.
    let mut buf = [0u64; 64];
    // SAFETY: req is a valid 24-byte mnt_id_req; buf is writable for the
    // length passed; the kernel writes at most that many bytes.
    let rc = unsafe {
        libc::syscall(
            SYS_STATMOUNT,
            req.as_ptr(),
            buf.as_mut_ptr(),
            std::mem::size_of_val(&buf),
            0,
        )
    };
    (rc == 0 && buf[1] & STATMOUNT_MNT_BASIC != 0).then(|| (id, buf[9] & MS_SHARED != 0))
}

/// The unique ids of every mount in this mount namespace that is
/// reachable from our root, in id order (listmount(2), Linux 6.8+);
/// `None` where the kernel lacks it or refuses.
pub fn list_mounts() -> Option<Vec<u64>> {
    const SYS_LISTMOUNT: libc::c_long = 458;
    const LSMT_ROOT: u64 = u64::MAX;
    let mut ids = Vec::new();
    let mut chunk = vec![0u64; 1024];
    loop {
        // struct mnt_id_req: size, spare, mnt_id (whose mounts), param
        // (the last id already returned).
        let last = ids.last().copied().unwrap_or(0);
        let req: [u64; 3] = [24, LSMT_ROOT, last];
        // SAFETY: req is a valid 24-byte mnt_id_req; chunk holds
        // chunk.len() u64s and the kernel writes at most that many.
        let n = unsafe {
            libc::syscall(
                SYS_LISTMOUNT,
                req.as_ptr(),
                chunk.as_mut_ptr(),
                chunk.len(),
                0,
            )
        };
        let n = usize::try_from(n).ok()?;
        ids.extend_from_slice(&chunk[..n]);
        if n < chunk.len() {
            return Some(ids);
        }
    }
}

/// statmount(2) of mount `id` (a unique id) for the fields in `mask`, into
/// `buf` (grown when the strings do not fit); the caller reads `struct
/// statmount` by offset (strings start at byte 512). Errno on failure.
pub fn stat_mount(id: u64, mask: u64, buf: &mut Vec<u8>) -> Result<(), nix::errno::Errno> {
    const SYS_STATMOUNT: libc::c_long = 457;
    if buf.len() < 4096 {
        buf.resize(4096, 0);
    }
    loop {
        let req: [u64; 3] = [24, id, mask];
        // SAFETY: req is a valid 24-byte mnt_id_req; buf is writable for
        // the byte length passed.
        let rc =
            unsafe { libc::syscall(SYS_STATMOUNT, req.as_ptr(), buf.as_mut_ptr(), buf.len(), 0) };
        match nix::errno::Errno::result(rc) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EOVERFLOW) if buf.len() < 1 << 20 => {
                let grown = buf.len() * 2;
                buf.resize(grown, 0);
            }
            Err(e) => return Err(e),
        }
    }
}
