//! Doctor's reads of other mount namespaces bounded in time (README
//! "Bounded reads", the second line behind reading only what their
//! mountinfo shows as local): the read runs in a forked child, which sends
//! its answer as JSON over a pipe, and the parent waits at most
//! [`DEADLINE`]. A child stuck in a filesystem a user serves (FUSE) sleeps
//! uninterruptibly and cannot be killed, so the parent does not wait for
//! it: it is sent SIGKILL (which ends it once the filesystem answers or
//! its server dies) and the read counts as not answered. Where fork is
//! unsafe (more than one thread) or fails, the read runs in this process.
//! Syscalls: pipe2, fork, poll, read, write, kill, waitpid(WNOHANG), _exit.

use serde::{de::DeserializeOwned, Serialize};
use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

pub use crate::runtimes::reader::DEADLINE;

/// Most bytes a child may send: the kept mountinfo lines are capped
/// (`holders::CAP_TOTAL`), well under this.
const MAX_REPLY: usize = 64 << 20;

/// `read()`'s answer, computed in a forked child that gets `deadline`;
/// `None` if it did not answer in time (or its answer was unreadable).
pub fn within<T: Serialize + DeserializeOwned>(
    deadline: Duration,
    read: impl FnOnce() -> T,
) -> Option<T> {
    if !crate::sys::single_threaded() {
        return Some(read());
    }
    let Ok((r, w)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        return Some(read());
    };
    let pid = match crate::sys::fork() {
        Ok(crate::sys::Forked::Child) => {
            drop(r);
            let out = serde_json::to_vec(&read()).unwrap_or_default();
            let ok = std::fs::File::from(w).write_all(&out).is_ok();
            crate::sys::exit_now(if ok { 0 } else { 1 })
        }
        Ok(crate::sys::Forked::Parent(pid)) => pid,
        Err(_) => return Some(read()),
    };
    drop(w);
    let until = Instant::now() + deadline;
    let mut got = Vec::new();
    let done = loop {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        let mut fds = [PollFd::new(r.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => break false,
        }
        let mut buf = [0u8; 65536];
        match nix::unistd::read(r.as_fd(), &mut buf) {
            Ok(0) => break true,
            Ok(n) if got.len() + n <= MAX_REPLY => got.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            _ => break false,
        }
    };
    if !done {
        // Ends it if it can be ended; in FUSE it sleeps on (state D) and
        // init reaps it when this process exits.
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
    reap_soon(pid);
    if !done {
        return None;
    }
    serde_json::from_slice(&got).ok()
}

/// Reaps `pid` if it exits within 20 ms.
fn reap_soon(pid: nix::unistd::Pid) {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    for _ in 0..200 {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_micros(100)),
            _ => return,
        }
    }
}

/// `open()`'s file, opened in a forked child that gets `deadline` and
/// passes it back over a socket (SCM_RIGHTS); `None` if it did not answer
/// in time. An error is passed back as its text.
pub fn open_within(
    deadline: Duration,
    open: impl FnOnce() -> Result<std::fs::File, String>,
) -> Option<Result<std::fs::File, String>> {
    use nix::sys::socket::{
        sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
    };
    use std::io::IoSlice;
    use std::os::fd::{AsFd, AsRawFd};
    if !crate::sys::single_threaded() {
        return Some(open());
    }
    let Ok((ours, theirs)) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    ) else {
        return Some(open());
    };
    let pid = match crate::sys::fork() {
        Ok(crate::sys::Forked::Child) => {
            drop(ours);
            let sent = match open() {
                Ok(f) => {
                    let fds = [f.as_raw_fd()];
                    sendmsg::<()>(
                        theirs.as_raw_fd(),
                        &[IoSlice::new(b"")],
                        &[ControlMessage::ScmRights(&fds)],
                        MsgFlags::MSG_NOSIGNAL,
                        None,
                    )
                }
                Err(why) => sendmsg::<()>(
                    theirs.as_raw_fd(),
                    &[IoSlice::new(why.as_bytes())],
                    &[],
                    MsgFlags::MSG_NOSIGNAL,
                    None,
                ),
            };
            crate::sys::exit_now(i32::from(sent.is_err()))
        }
        Ok(crate::sys::Forked::Parent(pid)) => pid,
        Err(_) => return Some(open()),
    };
    drop(theirs);
    let ready = {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let until = Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break false;
            }
            let mut fds = [PollFd::new(ours.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
            match poll(&mut fds, ms) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => {}
                Ok(_) => break true,
                Err(_) => break false,
            }
        }
    };
    if !ready {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        reap_soon(pid);
        return None;
    }
    let mut text = vec![0u8; 4096];
    let got = crate::sys::recv_with_fd(ours.as_fd(), &mut text)
        .ok()
        .map(|(n, fd)| (fd, n));
    reap_soon(pid);
    Some(match got {
        Some((Some(fd), _)) => Ok(std::fs::File::from(fd)),
        Some((None, n)) if n > 0 => Err(String::from_utf8_lossy(&text[..n]).into_owned()),
        _ => Err("its reader failed".into()),
    })
}
