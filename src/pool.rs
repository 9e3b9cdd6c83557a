//! New network namespaces made ahead by helper processes, for the `add`
//! lines of a batch (benches/RESULTS.md). `unshare(CLONE_NEWNET)` is nearly all of an
//! `add`'s time (the kernel registers the namespace's sysctl tables, proc
//! entries and loopback device), and two processes make namespaces about
//! 1.5 times as fast as one. rnetns itself stays single-threaded and does
//! each `add` synchronously, in batch order, as a single `add` would: it
//! only binds onto the entry a namespace a helper made, which the helper
//! passes over a socket (SCM_RIGHTS).
//!
//! Helpers are forks of the single-threaded batch process that close every
//! fd but their socket (so they hold no run-dir lock), and exit on the
//! socket's end of file. They make at most as many namespaces ahead as the
//! batch has taken, and never more than [`AHEAD`], so a run of adds wastes
//! at most that many (closed, so torn down by the kernel, when the pool is
//! dropped). The pool lives only while consecutive `add` lines run: the
//! dispatcher drops it before any other line.
//!
//! Syscalls: socketpair, setsockopt(SO_RCVTIMEO), fork, waitpid, kill; per namespace, in a helper: read,
//! unshare, open(/proc/self/ns/net), sendmsg, setns back; in rnetns: write,
//! recvmsg.

use nix::errno::Errno;
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::socket::{
    sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use nix::unistd::Pid;
use std::fs::File;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// Namespaces made beyond those taken: enough to keep two helpers busy.
pub const AHEAD: usize = 4;

/// A batch's runs of `add` lines and the pool serving the current one.
#[derive(Default)]
pub struct Ahead {
    /// `add` lines in the current run so far.
    run: usize,
    pool: Option<Pool>,
    /// A pool failed (or could not start) once: every later `add` of the
    /// batch makes its own namespace.
    off: bool,
    /// When a pool was dropped: the namespaces it made ahead are being
    /// freed by the kernel (asynchronously), and still count against
    /// `user.max_net_namespaces` for a moment.
    dropped: Option<std::time::Instant>,
}

impl Ahead {
    /// For an `add` line: from the second of a run on, a namespace a
    /// helper made; `None`: the line makes its own. A pool that fails is
    /// dropped for the rest of the batch, so this line and the next make
    /// their own namespace and report any error as a single `add` does.
    pub fn take(&mut self) -> Option<File> {
        if self.off {
            return None;
        }
        self.run += 1;
        if self.pool.is_none() && self.run >= 2 {
            // Two helpers: on 2 vCPUs three were no faster (the kernel
            // registers each namespace's sysctls under one global lock).
            self.pool = (crate::sys::cpus() >= 2).then(|| Pool::start(2)).flatten();
            self.off = self.pool.is_none();
        }
        let taken = self.pool.as_mut()?.take();
        if taken.is_err() {
            self.pool = None;
            self.off = true;
            self.dropped = Some(std::time::Instant::now());
        }
        taken.ok()
    }

    /// Whether a pool was dropped within the last second: an `add` whose
    /// own `unshare` then fails with ENOSPC waits for the kernel to free
    /// the pool's namespaces and tries again, so a batch makes as many
    /// namespaces under the limit as 6.1's does (ARCHITECTURE.md "Locks").
    pub fn just_dropped(&self) -> bool {
        self.dropped
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1))
    }

    /// A line other than `add`: the run ends, the helpers go.
    pub fn end_run(&mut self) {
        self.run = 0;
        self.pool = None;
    }
}

struct Helper {
    sock: OwnedFd,
    pid: Pid,
    /// Namespaces asked of it and not yet received.
    asked: usize,
}

pub struct Pool {
    helpers: Vec<Helper>,
    /// The helper the next namespace is received from (round robin).
    next: usize,
    /// How many namespaces may be asked beyond the one being taken.
    ahead: usize,
}

impl Pool {
    /// Forks `n` helpers; `None` when the process is not single-threaded or
    /// no helper could start.
    pub fn start(n: usize) -> Option<Pool> {
        if !crate::sys::single_threaded() {
            return None;
        }
        let mut pool = Pool {
            helpers: Vec::new(),
            next: 0,
            ahead: 0,
        };
        for _ in 0..n {
            let Ok((ours, theirs)) = socketpair(
                AddressFamily::Unix,
                SockType::SeqPacket,
                None,
                SockFlag::SOCK_CLOEXEC,
            ) else {
                break;
            };
            match crate::sys::fork() {
                Ok(crate::sys::Forked::Child) => {
                    drop(ours);
                    helper(theirs)
                }
                Ok(crate::sys::Forked::Parent(pid)) => {
                    let timeout = nix::sys::time::TimeVal::new(
                        HELPER_WAIT.as_secs() as libc::time_t,
                        HELPER_WAIT.subsec_micros() as libc::suseconds_t,
                    );
                    let _ = nix::sys::socket::setsockopt(
                        &ours,
                        nix::sys::socket::sockopt::ReceiveTimeout,
                        &timeout,
                    );
                    pool.helpers.push(Helper {
                        sock: ours,
                        pid,
                        asked: 0,
                    })
                }
                Err(_) => break,
            }
        }
        (!pool.helpers.is_empty()).then_some(pool)
    }

    /// The next new namespace (an open nsfs file), or the error a helper's
    /// `unshare` met (the caller then drops the pool and makes one itself,
    /// so the message is the one a single `add` gives).
    pub fn take(&mut self) -> Result<File, Errno> {
        let h = self.next;
        self.next = (h + 1) % self.helpers.len();
        if self.helpers[h].asked == 0 {
            self.ask(h)?;
        }
        // Keep the helpers busy: up to `ahead` more asked, growing by one
        // per take, to whichever helper has the fewest outstanding.
        self.ahead = (self.ahead + 1).min(AHEAD);
        while self.helpers.iter().map(|x| x.asked).sum::<usize>() < self.ahead + 1 {
            let least = (0..self.helpers.len())
                .map(|i| (i + self.next) % self.helpers.len())
                .min_by_key(|&i| self.helpers[i].asked)
                .unwrap_or(h);
            self.ask(least)?;
        }
        // Bounded by the socket's receive timeout (EAGAIN).
        let got = receive(&self.helpers[h].sock);
        self.helpers[h].asked -= 1;
        got
    }

    /// The helpers' PIDs (tests kill them to check the fallback).
    pub fn helper_pids(&self) -> Vec<i32> {
        self.helpers.iter().map(|h| h.pid.as_raw()).collect()
    }

    fn ask(&mut self, h: usize) -> Result<(), Errno> {
        // A helper that died is EPIPE here (a SEQPACKET peer raises no
        // SIGPIPE; MSG_NOSIGNAL says so, as rnetns keeps SIGPIPE's default
        // action for the commands it runs).
        let sock = self.helpers[h].sock.as_raw_fd();
        nix::sys::socket::send(sock, &[1], MsgFlags::MSG_NOSIGNAL)?;
        self.helpers[h].asked += 1;
        Ok(())
    }
}

impl Drop for Pool {
    /// Closes the sockets (each helper finishes the namespace it is making
    /// and exits; namespaces nobody took are closed with them) and reaps
    /// the helpers.
    fn drop(&mut self) {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        let pids: Vec<Pid> = self.helpers.iter().map(|h| h.pid).collect();
        self.helpers.clear();
        // A helper finishing its namespace exits within milliseconds; one
        // that is stopped or stuck is killed (it is our own child), so the
        // batch never waits on it (ARCHITECTURE.md "Locks").
        let start = std::time::Instant::now();
        for pid in pids {
            loop {
                match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) if start.elapsed() < HELPER_EXIT_WAIT => {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Ok(WaitStatus::StillAlive) => {
                        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                        let _ = waitpid(pid, None);
                        break;
                    }
                    _ => break,
                }
            }
        }
    }
}

/// How long a `take` waits for a helper's namespace before the batch
/// drops the pool and makes its own (a stopped or stuck helper).
const HELPER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// How long dropping the pool waits for the helpers to exit before it
/// kills them.
const HELPER_EXIT_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// One namespace from a helper: a 4-byte errno (0: an fd comes with it).
fn receive(sock: &OwnedFd) -> Result<File, Errno> {
    let mut word = [0u8; 4];
    let (bytes, fd) = crate::sys::recv_with_fd(sock.as_fd(), &mut word)?;
    if bytes != 4 {
        return Err(Errno::EPIPE);
    }
    match (i32::from_ne_bytes(word), fd) {
        (0, Some(fd)) => Ok(File::from(fd)),
        (0, None) => Err(Errno::EPROTO),
        (e, _) => Err(Errno::from_raw(e)),
    }
}

/// A helper's life: one namespace per byte read, until end of file.
fn helper(sock: OwnedFd) -> ! {
    crate::sys::close_fds_except(sock.as_fd());
    let Ok(home) = File::open("/proc/self/ns/net") else {
        crate::sys::exit_now(1)
    };
    let mut byte = [0u8; 1];
    while let Ok(1) = nix::unistd::read(&sock, &mut byte) {
        let made = unshare(CloneFlags::CLONE_NEWNET).and_then(|()| {
            File::open("/proc/self/ns/net")
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        });
        let sent = match &made {
            Ok(f) => {
                let fds = [f.as_raw_fd()];
                let cmsg = [ControlMessage::ScmRights(&fds)];
                sendmsg::<()>(
                    sock.as_raw_fd(),
                    &[IoSlice::new(&0i32.to_ne_bytes())],
                    &cmsg,
                    MsgFlags::MSG_NOSIGNAL,
                    None,
                )
            }
            Err(e) => sendmsg::<()>(
                sock.as_raw_fd(),
                &[IoSlice::new(&(*e as i32).to_ne_bytes())],
                &[],
                MsgFlags::MSG_NOSIGNAL,
                None,
            ),
        };
        drop(made);
        // Back home, so the helper pins no namespace it handed out.
        if sent.is_err() || setns(&home, CloneFlags::CLONE_NEWNET).is_err() {
            break;
        }
    }
    crate::sys::exit_now(0)
}
