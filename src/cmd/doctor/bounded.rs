//! Doctor's reads of other mount namespaces bounded in time (README
//! "Bounded reads", the second line behind reading only what their
//! mountinfo shows as local): a read runs in a forked child and the
//! parent waits at most [`DEADLINE`] ([`within`], the runtimes readers'
//! own: a JSON answer over a pipe). A child stuck in a filesystem a user
//! serves (FUSE) sleeps uninterruptibly and cannot be killed, so the
//! parent does not wait for it: it is sent SIGKILL (which ends it once
//! the filesystem answers or its server dies) and the read counts as not
//! answered. [`open_within`] is the same for opening a file, which comes
//! back by SCM_RIGHTS. Where fork is unsafe (more than one thread) or
//! fails, the read runs in this process.
//! Syscalls: pipe2, socketpair, fork, poll, read, recvmsg, sendmsg, kill,
//! waitpid(WNOHANG), _exit.

use crate::runtimes::reader::{readable_by, reap_soon};
use std::time::{Duration, Instant};

pub use crate::runtimes::reader::{within, DEADLINE};

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
    if !readable_by(ours.as_fd(), Instant::now() + deadline) {
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
