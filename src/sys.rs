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

/// How long [`fork`] waits for threads that are ending (a joined worker
/// may still be listed for a moment after its join returns).
const THREADS_END_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// fork(2), only from a single-threaded process: the child of a
/// multi-threaded one may call only async-signal-safe functions until it
/// execs, and rnetns's children run Rust code. rnetns forks from
/// single-threaded code (the `-all` and batch loops of `exec`, the batch's
/// helpers, the per-user readers), never while a tokio runtime or a
/// listing's workers exist; this checks it (/proc/self/task) and fails
/// with EDEADLK when other threads are still there after
/// [`THREADS_END_WAIT`], instead of forking a child that could deadlock.
pub fn fork() -> nix::Result<Forked> {
    let start = std::time::Instant::now();
    while !single_threaded() {
        if start.elapsed() >= THREADS_END_WAIT {
            return Err(nix::errno::Errno::EDEADLK);
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    // SAFETY: the process has one thread (checked just above, and only
    // this thread could have started another since), so the child may
    // run arbitrary code until it execs.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
    }
}

/// recvmsg(2) of one message into `buf` on `sock`, with the fds it
/// carries (SCM_RIGHTS, close-on-exec): the byte count and the first fd,
/// owned; any further fds are closed.
pub fn recv_with_fd(
    sock: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> nix::Result<(usize, Option<std::os::fd::OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let flags = MsgFlags::MSG_CMSG_CLOEXEC;
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), flags)?;
    let mut first = None;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for raw in fds {
                // SAFETY: the kernel just installed RAW in our table for
                // this message (SCM_RIGHTS): open, and owned by nobody.
                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                if first.is_none() {
                    first = Some(owned);
                }
            }
        }
    }
    Ok((msg.bytes, first))
}

/// Closes every fd of this process but KEEP (a forked helper, which must
/// not hold the run dir's lock or anything else of its parent's).
pub fn close_fds_except(keep: std::os::fd::BorrowedFd<'_>) {
    use std::os::fd::AsRawFd;
    let keep = keep.as_raw_fd() as libc::c_uint;
    // SAFETY: close_range has no memory-safety preconditions; the fds it
    // closes are not used again by this process (the caller owns only KEEP).
    unsafe {
        if keep > 0 {
            libc::close_range(0, keep - 1, 0);
        }
        libc::close_range(keep + 1, libc::c_uint::MAX, 0);
    }
}

/// Whether this process has one thread (/proc/self/task).
pub fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.take(2).count() == 1)
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

/// (st_dev, st_ino) of the user namespace that owns the namespace open
/// at `fd` (the NS_GET_USERNS ioctl); `None` when `fd` is not a namespace
/// file or its owner is outside ours.
pub fn ns_owner(fd: std::os::fd::BorrowedFd<'_>) -> Option<(u64, u64)> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // NS_GET_USERNS = _IO(0xb7, 0x1), from <linux/nsfs.h>.
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    // SAFETY: the fd is borrowed and stays open for the call; the ioctl
    // takes no argument and returns a new fd or -1.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_USERNS as _) };
    if rc < 0 {
        return None;
    }
    // SAFETY: rc is a fresh fd the kernel just installed, owned by nobody.
    let owner = unsafe { OwnedFd::from_raw_fd(rc) };
    let st = nix::sys::stat::fstat(&owner).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// openat2(2) of `path` relative to `dir` with `flags` and the
/// `RESOLVE_*` bits in `resolve` (Linux 5.6+; ENOSYS before).
pub fn openat2(
    dir: std::os::fd::BorrowedFd<'_>,
    path: &[u8],
    flags: i32,
    resolve: u64,
) -> nix::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let c = std::ffi::CString::new(path).map_err(|_| nix::errno::Errno::EINVAL)?;
    // SAFETY: open_how is plain data; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = resolve;
    // SAFETY: c is NUL-terminated, how is a valid open_how of the size
    // passed, and dir stays open for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if rc < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: rc is a fresh fd the kernel just installed, owned by nobody.
    Ok(unsafe { OwnedFd::from_raw_fd(rc as i32) })
}

/// The id of the mount an open fd (O_PATH is enough) lives on (statx
/// with AT_EMPTY_PATH, STATX_MNT_ID): a file with a mount on it, opened
/// through that mount point, is on the mount's id, not its directory's.
pub fn mount_id_fd(fd: std::os::fd::BorrowedFd<'_>) -> Option<u64> {
    use std::os::fd::AsRawFd;
    // SAFETY: zeroed statx is a valid out-buffer of the right type.
    let mut buf: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: the path is an empty NUL-terminated string, fd stays open
    // and buf is a valid statx buffer.
    let rc = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &mut buf,
        )
    };
    (rc == 0 && buf.stx_mask & libc::STATX_MNT_ID != 0).then_some(buf.stx_mnt_id)
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
    let id = statx_mnt_id(path, STATX_MNT_ID_UNIQUE)?;
    let mut sm = StatMount::default();
    sm.fetch(id, StatMount::MNT_BASIC).ok()?;
    sm.has(StatMount::MNT_BASIC)
        .then(|| (id, sm.shared().is_some()))
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

/// A `struct statmount` (linux/mount.h) as statmount(2) fills it, read
/// by offset: the fixed fields, then strings from byte [`Self::FIXED`] on.
#[derive(Default)]
pub struct StatMount(Vec<u8>);

impl StatMount {
    pub const SB_BASIC: u64 = 0x1;
    pub const MNT_BASIC: u64 = 0x2;
    pub const MNT_ROOT: u64 = 0x8;
    pub const MNT_POINT: u64 = 0x10;
    pub const FS_TYPE: u64 = 0x20;
    pub const MNT_OPTS: u64 = 0x80;
    /// The fields that are strings, stored after the fixed part.
    const STRINGS: u64 = Self::MNT_ROOT | Self::MNT_POINT | Self::FS_TYPE | Self::MNT_OPTS;
    /// Size of the fixed part (the strings' offsets count from its end).
    const FIXED: usize = 512;

    /// statmount(2) of mount `id` (a unique id) for the fields in `mask`,
    /// growing the buffer when the strings do not fit (a mask without
    /// strings, as every batch `add` line asks, needs the fixed part only).
    pub fn fetch(&mut self, id: u64, mask: u64) -> Result<(), nix::errno::Errno> {
        const SYS_STATMOUNT: libc::c_long = 457;
        let want = if mask & Self::STRINGS == 0 {
            Self::FIXED
        } else {
            4096
        };
        if self.0.len() < want {
            self.0.resize(want, 0);
        }
        loop {
            // struct mnt_id_req (MNT_ID_REQ_SIZE_VER0): size, spare,
            // mnt_id, param.
            let req: [u64; 3] = [24, id, mask];
            let (buf, len) = (self.0.as_mut_ptr(), self.0.len());
            // SAFETY: req is a valid 24-byte mnt_id_req; buf is writable
            // for the byte length passed.
            let rc = unsafe { libc::syscall(SYS_STATMOUNT, req.as_ptr(), buf, len, 0) };
            match nix::errno::Errno::result(rc) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EOVERFLOW) if len < 1 << 20 => self.0.resize(len * 2, 0),
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the kernel filled all of `mask`.
    pub fn has(&self, mask: u64) -> bool {
        self.u64_at(8) & mask == mask
    }

    pub fn sb_magic(&self) -> u64 {
        self.u64_at(24)
    }

    /// The old-style (mountinfo) ids of the mount and its parent.
    pub fn ids(&self) -> (u64, u64) {
        (u64::from(self.u32_at(56)), u64::from(self.u32_at(60)))
    }

    /// The peer group, when the mount is shared.
    pub fn shared(&self) -> Option<u64> {
        const MS_SHARED: u64 = 1 << 20;
        (self.u64_at(72) & MS_SHARED != 0).then(|| self.u64_at(80))
    }

    /// The peer group it receives propagation from, when a slave.
    pub fn master(&self) -> Option<u64> {
        Some(self.u64_at(88)).filter(|&m| m != 0)
    }

    pub fn fs_type(&self) -> Vec<u8> {
        self.string(36)
    }

    pub fn mnt_root(&self) -> Vec<u8> {
        self.string(104)
    }

    pub fn mnt_point(&self) -> Vec<u8> {
        self.string(108)
    }

    /// Superblock options (a v1 cgroup's controllers), when filled.
    pub fn mnt_opts(&self) -> Vec<u8> {
        if self.has(Self::MNT_OPTS) {
            self.string(4)
        } else {
            Vec::new()
        }
    }

    /// The NUL-terminated string whose offset is the u32 at `field`.
    fn string(&self, field: usize) -> Vec<u8> {
        let at = Self::FIXED + self.u32_at(field) as usize;
        let s = self.0.get(at..).unwrap_or_default();
        s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())].to_vec()
    }

    fn u64_at(&self, at: usize) -> u64 {
        let b = self.0.get(at..at + 8).and_then(|b| b.try_into().ok());
        b.map_or(0, u64::from_ne_bytes)
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = self.0.get(at..at + 4).and_then(|b| b.try_into().ok());
        b.map_or(0, u32::from_ne_bytes)
    }
}

/// Reads `fd` to its end with plain reads (`read_to_end` on a File would
/// stat and seek it for a size hint, which /proc and cgroupfs do not give).
/// With `one_record` (a file the kernel shows as a single seq_file record,
/// like `/proc/PID/cgroup`), a read that leaves room in the buffer returned
/// all of it, so no read is spent just to see EOF.
pub fn read_all(fd: std::os::fd::BorrowedFd, one_record: bool) -> nix::Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match nix::unistd::read(fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if one_record && len < buf.len() {
                    break;
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// The namespace an nsfs ioctl returns as a new fd: NS_GET_USERNS (the
/// user namespace that owns `fd`'s namespace) or NS_GET_PARENT (a user
/// namespace's parent), from <linux/nsfs.h>. EPERM when the answer lies
/// outside the caller's user namespace.
pub fn ns_relative(fd: std::os::fd::BorrowedFd<'_>, parent: bool) -> nix::Result<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // NS_GET_USERNS = _IO(0xb7, 0x1), NS_GET_PARENT = _IO(0xb7, 0x2).
    let req: libc::c_ulong = if parent { 0xb702 } else { 0xb701 };
    // SAFETY: the fd is borrowed and stays open for the call; these ioctls
    // take no argument and return a new fd (or -1) that nobody else owns.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), req as _) };
    if rc < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: rc is a fresh fd the kernel just installed for us.
    Ok(unsafe { std::fs::File::from_raw_fd(rc) })
}

/// NS_GET_OWNER_UID of a user namespace fd: the uid (in the caller's user
/// namespace) of the process that created it.
pub fn ns_owner_uid(fd: std::os::fd::BorrowedFd<'_>) -> nix::Result<u32> {
    use std::os::fd::AsRawFd;
    // NS_GET_OWNER_UID = _IO(0xb7, 0x4), writes a uid_t.
    const NS_GET_OWNER_UID: libc::c_ulong = 0xb704;
    let mut uid: libc::uid_t = 0;
    // SAFETY: the fd is borrowed for the call; the kernel writes one uid_t
    // into `uid`, which is ours and large enough.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_OWNER_UID as _, &mut uid) };
    if rc < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(uid)
}

/// A detached copy of the mount at `path` (relative to `dir`, or the
/// current directory), from open_tree(2) with OPEN_TREE_CLONE: the mount
/// alone, or with every mount under it (`recursive`, AT_RECURSIVE). With
/// an empty `path`, the mount `dir` itself is on (AT_EMPTY_PATH), e.g. an
/// open namespace file. Nothing in this mount namespace changes; dropping
/// the fd without attaching it frees the copy.
pub fn open_tree_clone(
    dir: Option<std::os::fd::BorrowedFd<'_>>,
    path: &std::path::Path,
    recursive: bool,
) -> nix::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::ffi::OsStrExt;
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| nix::Error::EINVAL)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    if path.as_os_str().is_empty() {
        flags |= libc::AT_EMPTY_PATH as libc::c_uint;
    }
    let dfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: c is NUL-terminated and outlives the call; open_tree writes
    // no memory of ours and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, dfd, c.as_ptr(), flags) };
    let fd = nix::errno::Errno::result(fd)?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// move_mount(2) of the mount `from` (an fd from [`open_tree_clone`], or
/// an attached mount) onto `to` (relative to `to_dir`, or the current
/// directory). `beneath` (MOVE_MOUNT_BENEATH, Linux 6.5): slide it under
/// the mount on top at `to` instead of on top of it, so that a later
/// unmount of the top reveals it with no moment where `to` shows neither.
pub fn move_mount(
    from: std::os::fd::BorrowedFd<'_>,
    to_dir: Option<std::os::fd::BorrowedFd<'_>>,
    to: &std::path::Path,
    beneath: bool,
) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    const MOVE_MOUNT_BENEATH: libc::c_uint = 0x200;
    let c = std::ffi::CString::new(to.as_os_str().as_bytes()).map_err(|_| nix::Error::EINVAL)?;
    let mut flags = MOVE_MOUNT_F_EMPTY_PATH;
    if beneath {
        flags |= MOVE_MOUNT_BENEATH;
    }
    if to.as_os_str().is_empty() {
        flags |= MOVE_MOUNT_T_EMPTY_PATH;
    }
    let tfd = to_dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: both paths are NUL-terminated and outlive the call; the fds
    // are borrowed and stay open; move_mount writes no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            tfd,
            c.as_ptr(),
            flags,
        )
    };
    nix::errno::Errno::result(rc).map(drop)
}

/// Propagation types for [`set_propagation`].
pub const MS_PRIVATE: u64 = libc::MS_PRIVATE;
pub const MS_SHARED: u64 = libc::MS_SHARED;

/// mount_setattr(2) of the mount `fd` is on (AT_EMPTY_PATH): its
/// propagation (MS_PRIVATE or MS_SHARED), and that of every mount under it
/// when `recursive`. Works on a detached tree, so a copy can be given a
/// peer group of its own before it is attached anywhere.
pub fn set_propagation(
    fd: std::os::fd::BorrowedFd<'_>,
    propagation: u64,
    recursive: bool,
) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    // struct mount_attr: attr_set, attr_clr, propagation, userns_fd.
    let attr: [u64; 4] = [0, 0, propagation, 0];
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: attr is a valid 32-byte struct mount_attr (MOUNT_ATTR_SIZE_VER0)
    // that outlives the call; the kernel only reads it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr.as_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    nix::errno::Errno::result(rc).map(drop)
}

#[cfg(test)]
mod tests {
    /// The unit-test harness runs tests on threads of its own, so this
    /// process has several: fork refuses it rather than fork a child that
    /// could deadlock (the multi-threaded pool test forks in a
    /// single-threaded child instead, tests/pool_helpers.rs).
    #[test]
    fn fork_refuses_a_multi_threaded_process() {
        let other = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(1)));
        assert!(!super::single_threaded());
        assert_eq!(super::fork().err(), Some(nix::errno::Errno::EDEADLK));
        other.join().unwrap();
    }
}
