//! The second line against a user stalling root (README "Bounded reads"): each
//! user's state is read in a forked child, all users at once, and the
//! parent waits at most [`DEADLINE`] for them. A child stuck in a
//! filesystem the user serves sleeps uninterruptibly and cannot be killed,
//! so the parent does not wait for it: it goes on with what the others
//! found, notes `uid N's podman state did not answer within 2s; skipped`,
//! and leaves the child to exit (to init) when the user's server answers
//! or dies. The exit status is not changed by a skipped user.
//!
//! A child sends what it found as JSON over a pipe: paths (with the user
//! they were checked to belong to, [`super::trust`]), containers (believed
//! and ignored) and notes. Namespace files it opened stay
//! in the child; the parent opens a namespace again, through the view
//! ([`super::Namespace::open`]), only when a command needs it.
//! Syscalls: pipe2, fork, poll, read, write, waitpid(WNOHANG), _exit.

use super::{Container, Evidence, Key, Rank};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long all users' readers together may take.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// Most bytes one child may send (10,000 containers are ~2 MiB).
const MAX_REPLY: usize = 64 << 20;

#[derive(Serialize, Deserialize, Default)]
struct Found {
    paths: Vec<(Vec<u8>, Key, Option<u32>)>,
    members: Vec<(Key, Member)>,
    catalog: Vec<Member>,
    ignored: Vec<Member>,
    notes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Member {
    id: String,
    name: Option<String>,
    pod: Option<String>,
    owner: Option<u32>,
}

impl Member {
    fn of(c: &Container) -> Member {
        Member {
            id: c.id.clone(),
            name: c.name.clone(),
            pod: c.pod.clone(),
            owner: c.owner,
        }
    }

    fn container(self) -> Container {
        Container {
            id: self.id,
            name: self.name,
            runtime: "podman",
            pod: self.pod,
            owner: self.owner,
        }
    }
}

/// What a child's [`Evidence`] holds, to send.
fn found(ev: Evidence) -> Found {
    Found {
        paths: ev
            .paths
            .into_iter()
            .filter_map(|h| Some((h.path, h.key?, h.uid)))
            .collect(),
        members: ev
            .members
            .iter()
            .map(|(k, c)| (*k, Member::of(c)))
            .collect(),
        catalog: ev.catalog.iter().map(Member::of).collect(),
        ignored: ev.ignored.iter().map(Member::of).collect(),
        notes: ev.notes.0,
    }
}

/// Adds what a child found to `ev`.
fn add(ev: &mut Evidence, f: Found) {
    for (path, key, uid) in f.paths {
        match uid {
            Some(uid) => ev.user_path(path, key, uid),
            None => ev.path(path, Some(key), Some(("podman", Rank::Runtime))),
        }
    }
    ev.members
        .extend(f.members.into_iter().map(|(k, m)| (k, m.container())));
    ev.catalog
        .extend(f.catalog.into_iter().map(Member::container));
    ev.ignored
        .extend(f.ignored.into_iter().map(Member::container));
    for n in f.notes {
        ev.notes.add(n);
    }
}

/// A forked child's answer on its way: the pipe closes when it is all
/// sent (`None` then), `got` holds what came.
struct Child {
    pid: nix::unistd::Pid,
    pipe: Option<OwnedFd>,
    got: Vec<u8>,
}

/// Why a child gave no answer.
pub enum Unanswered {
    /// None could be started (more than one thread, or fork failed).
    NoChild,
    /// Still running at the deadline: killed, left to init if it sleeps on.
    Late,
    /// It answered what does not parse (or too much).
    Unreadable,
}

/// Runs `read` in a forked child that sends its answer as JSON; `read`
/// comes back if no child could be started.
fn spawn<T: Serialize, F: FnOnce() -> T>(read: F) -> Result<Child, F> {
    let Ok((r, w)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        return Err(read);
    };
    match crate::sys::fork() {
        Ok(crate::sys::Forked::Child) => {
            drop(r);
            let out = serde_json::to_vec(&read()).unwrap_or_default();
            let ok = std::fs::File::from(w).write_all(&out).is_ok();
            crate::sys::exit_now(if ok { 0 } else { 1 })
        }
        Ok(crate::sys::Forked::Parent(pid)) => Ok(Child {
            pid,
            pipe: Some(r),
            got: Vec::new(),
        }),
        Err(_) => Err(read),
    }
}

/// The answer of a child that [`collect`] is done with.
fn finish<T: DeserializeOwned>(c: Child) -> Result<T, Unanswered> {
    if c.pipe.is_some() {
        // Ends it if it can be ended (and reaps it, so that its rusage
        // counts); in FUSE it sleeps on (state D).
        let _ = nix::sys::signal::kill(c.pid, nix::sys::signal::Signal::SIGKILL);
        reap_soon(c.pid);
        return Err(Unanswered::Late);
    }
    // A child that closed its pipe is exiting: reaped if done soon (else
    // init reaps it when we exit).
    reap_soon(c.pid);
    serde_json::from_slice(&c.got).map_err(|_| Unanswered::Unreadable)
}

/// `read()`'s answer, computed in a forked child that gets `deadline`;
/// `None` if it did not answer in time or its answer was unreadable.
/// Where fork is unsafe (more than one thread) or fails, `read` runs here.
pub fn within<T: Serialize + DeserializeOwned>(
    deadline: Duration,
    read: impl FnOnce() -> T,
) -> Option<T> {
    if !crate::sys::single_threaded() {
        return Some(read());
    }
    match spawn(read) {
        Ok(c) => answer(c, deadline).ok(),
        Err(read) => Some(read()),
    }
}

/// [`within`] for what must never run in this process (it changes the
/// process, as unsharing its mount namespace does): no child, no run.
pub fn in_child<T: Serialize + DeserializeOwned>(
    deadline: Duration,
    read: impl FnOnce() -> T,
) -> Result<T, Unanswered> {
    if !crate::sys::single_threaded() {
        return Err(Unanswered::NoChild);
    }
    let c = spawn(read).map_err(|_| Unanswered::NoChild)?;
    answer(c, deadline)
}

/// One child's answer, waited for at most `deadline`.
fn answer<T: DeserializeOwned>(c: Child, deadline: Duration) -> Result<T, Unanswered> {
    let mut kid = [c];
    collect(&mut kid, Instant::now() + deadline);
    let [c] = kid;
    finish(c)
}

/// Runs `read(uid, &mut evidence)` for each of `uids` in a forked child
/// and adds what each found within `deadline` to `ev`. In a process with
/// more than one thread (where fork is unsafe to continue in) or where
/// fork fails, the reads run here, in turn.
pub fn per_user(
    ev: &mut Evidence,
    uids: &[u32],
    deadline: Duration,
    read: impl Fn(u32, &mut Evidence),
) {
    if !crate::sys::single_threaded() {
        return uids.iter().for_each(|&u| read(u, ev));
    }
    let (mut kids, mut whose) = (Vec::new(), Vec::new());
    for &uid in uids {
        let one = || {
            let mut mine = Evidence::default();
            read(uid, &mut mine);
            found(mine)
        };
        match spawn(one) {
            Ok(c) => {
                kids.push(c);
                whose.push(uid);
            }
            Err(_) => read(uid, ev),
        }
    }
    collect(&mut kids, Instant::now() + deadline);
    for (c, uid) in kids.into_iter().zip(whose) {
        match finish::<Found>(c) {
            Ok(f) => add(ev, f),
            Err(Unanswered::Late) => ev.notes.add(format!(
                "uid {uid}'s podman state did not answer within {}s; skipped",
                deadline.as_secs_f32()
            )),
            Err(Unanswered::Unreadable | Unanswered::NoChild) => ev.notes.add(format!(
                "uid {uid}'s podman state could not be read (its reader failed); skipped"
            )),
        }
    }
}

/// Reaps `pid` if it exits within 20 ms (checked every 100 us: a reader
/// that closed its pipe is done in far less).
pub(crate) fn reap_soon(pid: nix::unistd::Pid) {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    for _ in 0..200 {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_micros(100)),
            _ => return,
        }
    }
}

/// Whether `fd` has something to read (or is closed) before `until`.
pub(crate) fn readable_by(fd: std::os::fd::BorrowedFd<'_>, until: Instant) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => {}
            Ok(_) => return true,
            Err(_) => return false,
        }
    }
}

/// Reads every child's reply until each pipe closes or `until` passes.
fn collect(kids: &mut [Child], until: Instant) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let open: Vec<usize> = (0..kids.len())
            .filter(|&i| kids[i].pipe.is_some())
            .collect();
        let left = until.saturating_duration_since(Instant::now());
        if open.is_empty() || left.is_zero() {
            return;
        }
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd> = open
                .iter()
                .filter_map(|&i| kids[i].pipe.as_ref())
                .map(|p| PollFd::new(p.as_fd(), PollFlags::POLLIN))
                .collect();
            let ms = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
            match poll(&mut fds, ms) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return,
            }
            fds.iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect()
        };
        for (&i, r) in open.iter().zip(ready) {
            if r {
                read_some(&mut kids[i]);
            }
        }
    }
}

/// One read from a ready child; its pipe is closed at EOF or on error.
fn read_some(c: &mut Child) {
    let Some(p) = &c.pipe else {
        return;
    };
    let mut buf = [0u8; 65536];
    match nix::unistd::read(p.as_fd(), &mut buf) {
        Ok(0) => c.pipe = None,
        Ok(n) if c.got.len() + n <= MAX_REPLY => c.got.extend_from_slice(&buf[..n]),
        Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
        _ => {
            // Too much, or broken: read as a failed reader.
            c.got.clear();
            c.pipe = None;
        }
    }
}
