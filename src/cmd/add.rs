//! `ip netns add NAME` and `ip netns attach NAME PID` (spec 4.4, 4.5):
//! prepare the run dir, create a mode-0000 placeholder, bind a netns onto
//! it (a new one made with unshare, or /proc/PID/ns/net), and undo the
//! placeholder on failure, so no placeholder is ever left without a mount.
//! Syscalls: open(O_CREAT|O_EXCL), unshare, mount(MS_BIND), setns, unlink.

use super::delete::remove_entry;
use super::{Ctx, Status};
use crate::bytes::cat;
use crate::cli::grammar::parse_c_int;
use crate::error::Error;
use crate::mounts::prepare_run_dir;
use crate::ns::NetnsGuard;
use crate::store::{entry_display, entry_path};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::Mode;
use std::os::fd::AsRawFd;

/// Creates the placeholder `RUN_DIR/NAME` (mode 0000, must not exist).
fn create_placeholder(name: &[u8]) -> Result<(), Error> {
    let flags = OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
    open(&entry_path(name), flags, Mode::empty())
        .map(drop)
        .map_err(|e| {
            Error::sys(
                cat(&[
                    b"Cannot create namespace file \"",
                    &entry_display(name),
                    b"\"",
                ]),
                e,
            )
        })
}

fn bind(src: &str, name: &[u8]) -> Result<(), Error> {
    bind_labelled(src, src.as_bytes(), name)
}

/// Binds `src` onto the entry; messages name `label` (a runtime reference
/// bound through `/proc/self/fd/N`).
fn bind_labelled(src: &str, label: &[u8], name: &[u8]) -> Result<(), Error> {
    let none: Option<&str> = None;
    mount(
        Some(src),
        &entry_path(name),
        Some("none"),
        MsFlags::MS_BIND,
        none,
    )
    .map_err(|e| {
        Error::sys(
            cat(&[b"Bind ", label, b" -> ", &entry_display(name), b" failed"]),
            e,
        )
    })
}

pub fn add(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let name = args
        .first()
        .ok_or(Error::Plain("No netns name specified"))?;
    // Taken before any lock (ARCHITECTURE.md "Locks"): the wait for a helper is bounded,
    // and a stopped or dead helper means this line makes its own.
    let made = ctx.in_batch.then(|| ctx.ahead.take()).flatten();
    let _lock = prepare_run_dir()?;
    create_placeholder(name)?;
    if let Some(made) = made {
        // The same bind as below, from the open namespace instead of the
        // process's own, under the same name in messages.
        let src = format!("/proc/self/fd/{}", made.as_raw_fd());
        if let Err(e) = bind_labelled(&src, b"/proc/self/ns/net", name) {
            crate::error::eprint_bytes(&e.message());
            remove_entry(name, true)?;
            return Ok(1);
        }
        return Ok(0);
    }
    let guard = NetnsGuard::save()?;
    let retry = ctx.in_batch && ctx.ahead.just_dropped();
    let made = unshare_newnet(retry)
        .map_err(|e| {
            Error::sys(
                cat(&[b"Failed to create a new network namespace \"", name, b"\""]),
                e,
            )
        })
        .and_then(|()| bind("/proc/self/ns/net", name));
    if let Err(e) = made {
        // Rollback: back to the caller's netns first, then drop the entry.
        drop(guard);
        crate::error::eprint_bytes(&e.message());
        remove_entry(name, true)?;
        return Ok(1);
    }
    guard.restore()?;
    Ok(0)
}

/// unshare(CLONE_NEWNET). With `retry` (a batch's pool was just dropped,
/// and the namespaces it made ahead are being freed asynchronously), an
/// ENOSPC from `user.max_net_namespaces` is retried for up to a second.
fn unshare_newnet(retry: bool) -> nix::Result<()> {
    let start = std::time::Instant::now();
    loop {
        match unshare(CloneFlags::CLONE_NEWNET) {
            Err(nix::errno::Errno::ENOSPC)
                if retry && start.elapsed() < std::time::Duration::from_secs(1) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

pub fn attach(_ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let (Some(name), Some(pid_word)) = (args.first(), args.get(1)) else {
        return Err(Error::Plain("No netns name and PID specified"));
    };
    let pid = match parse_c_int(pid_word) {
        Some(p) if p != 0 => p,
        _ => return attach_reference(name, pid_word),
    };
    let _lock = prepare_run_dir()?;
    create_placeholder(name)?;
    if let Err(e) = bind(&format!("/proc/{pid}/ns/net"), name) {
        crate::error::eprint_bytes(&e.message());
        // spec 4.5: on bind failure the placeholder is unlinked, no umount.
        remove_entry(name, false)?;
        return Ok(1);
    }
    Ok(0)
}

/// `attach NAME REF`: REF is a runtime reference (`docker:web`, `pid:1`,
/// a path as `rnetns`) instead of a PID. Its netns is bind-mounted from the
/// open file (`/proc/self/fd/N`), never symlinked, so the name keeps the
/// namespace even after the container's PID is reused.
fn attach_reference(name: &[u8], word: &[u8]) -> Status {
    let target = match crate::resolve::resolve(word)? {
        Some(t) => t,
        None => return Err(Error::Text(cat(&[b"Invalid PID: ", word]))),
    };
    let _lock = prepare_run_dir()?;
    create_placeholder(name)?;
    let src = format!("/proc/self/fd/{}", target.file.as_raw_fd());
    if let Err(e) = bind_labelled(&src, &target.label, name) {
        crate::error::eprint_bytes(&e.message());
        remove_entry(name, false)?;
        return Ok(1);
    }
    Ok(0)
}
