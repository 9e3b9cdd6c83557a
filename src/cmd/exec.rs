//! `ip netns exec NAME CMD...` and `ip -all netns exec CMD...` (spec 4.9).
//! Normally there is no fork: rnetns enters the namespace and execs the
//! command, which keeps rnetns's PID. Under `-all` and in batch mode each
//! command runs in a forked child; a child whose setup fails exits 1 (D2).
//! Syscalls: those of [`crate::ns::switch_to`], fork, execvp, waitpid.

use super::{Ctx, Status};
use crate::bytes::cat;
use crate::error::{eprint_bytes, Error};
use crate::ns::switch_to;
use crate::store::{self, RUN_DIR};
use crate::sys::{exit_now, fork, Forked};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitStatus};
use std::ffi::CString;

pub fn exec(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    if ctx.globals.all {
        return exec_all(ctx, args);
    }
    let name = args
        .first()
        .ok_or(Error::Plain("No netns name specified"))?;
    let cmd = &args[1..];
    if cmd.is_empty() {
        return Err(Error::Plain("No command specified"));
    }
    if ctx.in_batch {
        return exec_all_or_fork(ctx, name, cmd);
    }
    enter(name)?;
    ctx.out.flush();
    Err(exec_failure(cmd))
}

/// Enters NAME: a run-dir entry, or else a runtime reference
/// (`docker:web`, `pid:1`, ...; see [`crate::resolve`]).
fn enter(name: &[u8]) -> Result<(), Error> {
    match crate::resolve::resolve(name) {
        Ok(Some(t)) => crate::ns::switch_to_file(t.file, &t.label, false),
        Ok(None) => switch_to(name),
        Err(e) => Err(e.in_setup()),
    }
}

/// Replaces the process with `cmd` (PATH search); returns only on failure.
fn exec_failure(cmd: &[Vec<u8>]) -> Error {
    let argv: Vec<CString> = cmd
        .iter()
        .map(|a| CString::new(a.clone()).unwrap_or_default())
        .collect();
    let e = nix::unistd::execvp(&argv[0], &argv)
        .err()
        .unwrap_or(Errno::EINVAL);
    Error::sys(cat(&[b"exec of \"", &cmd[0], b"\" failed"]), e)
}

/// Runs `cmd` in NAME in a forked child and returns its exit status; a
/// child killed by a signal ends the whole run with status 1 (spec 4.9).
pub fn exec_all_or_fork(ctx: &mut Ctx, name: &[u8], cmd: &[Vec<u8>]) -> Status {
    ctx.out.flush();
    let forked = match fork() {
        Ok(f) => f,
        // 6.1 says perror("fork") and exits 1 at once, even under -force
        // and in the middle of a batch (cases exec-all-fork-fails,
        // batch-exec-fork-fails).
        Err(e) => {
            ctx.out.flush();
            eprint_bytes(format!("fork: {}\n", crate::sys::strerror(e as i32)).as_bytes());
            return Err(Error::Exit(1));
        }
    };
    let child = match forked {
        Forked::Child => {
            if let Err(e) = enter(name) {
                eprint_bytes(&e.message());
                exit_now(1);
            }
            let e = exec_failure(cmd);
            eprint_bytes(&e.message());
            exit_now(1);
        }
        Forked::Parent(pid) => pid,
    };
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(..)) => return Err(Error::Exit(1)),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("waitpid", e)),
        }
    }
}

/// spec 4.9 `-all exec`: a header per entry, statuses ignored, exit 0.
fn exec_all(ctx: &mut Ctx, cmd: &[Vec<u8>]) -> Status {
    if cmd.is_empty() {
        return Err(Error::Plain("No command specified"));
    }
    let names = match store::entries() {
        Ok(n) => n,
        Err(Errno::ENOENT) => return Ok(0),
        Err(e) => return Err(Error::sys(format!("Failed to open directory {RUN_DIR}"), e)),
    };
    for name in names {
        ctx.out.write(&cat(&[b"\nnetns: ", &name, b"\n"]));
        exec_all_or_fork(ctx, &name, cmd)?;
    }
    Ok(0)
}
