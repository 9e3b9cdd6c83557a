//! `ip netns identify [PID]` and `ip netns pids NAME` (spec 4.8, 4.12):
//! match namespaces by (st_dev, st_ino), one pass over the run dir or over
//! /proc. Syscalls: open, fstat, getdents, fstatat.

use super::{Ctx, Status};
use crate::bytes::cat;
use crate::error::errno_of;
use crate::error::Error;
use crate::procscan;
use crate::store::{self, RUN_DIR};
use nix::errno::Errno;
use std::os::unix::fs::MetadataExt;

fn cannot_open(e: Errno) -> Error {
    Error::sys("Cannot open network namespace", e)
}

pub fn identify(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    if args.len() > 1 {
        return Err(Error::Plain("extra arguments specified", 1));
    }
    let pid: &[u8] = match args.first() {
        Some(p) if p.iter().all(u8::is_ascii_digit) => p,
        Some(p) => match crate::resolve::resolve(p) {
            // A runtime reference instead of a PID: which name has its netns.
            Ok(Some(t)) => return print_match(ctx, &t.file),
            Err(r) => return Err(r.into_error(1)),
            Ok(None) => {
                return Err(Error::Text(
                    cat(&[b"Specified string '", p, b"' is not a pid"]),
                    1,
                ))
            }
        },
        None => b"self",
    };
    let path = std::path::PathBuf::from(crate::bytes::os(&cat(&[b"/proc/", pid, b"/ns/net"])));
    let file = std::fs::File::open(&path).map_err(|e| cannot_open(errno_of(e)))?;
    print_match(ctx, &file)
}

/// Prints the last run-dir name whose netns is that of `ns_file`.
fn print_match(ctx: &mut Ctx, ns_file: &std::fs::File) -> Status {
    let ns = ns_file.metadata().map_err(|e| cannot_open(errno_of(e)))?;
    let names = match store::entries() {
        Ok(n) => n,
        Err(Errno::ENOENT) => Vec::new(),
        Err(e) => {
            // spec 4.8: no space after the colon here.
            return Err(Error::Text(
                format!(
                    "Failed to open directory {RUN_DIR}:{}",
                    crate::sys::strerror(e as i32)
                )
                .into(),
                1,
            ));
        }
    };
    // spec 4.8: only the last match in readdir order is printed.
    let stater = store::Stater::open();
    let want = Some((ns.dev(), ns.ino()));
    let found = names.iter().rev().find(|n| stater.dev_ino(n) == want);
    let mut line = found.cloned().unwrap_or_default();
    line.push(b'\n');
    ctx.out.write(&line);
    Ok(0)
}

pub fn pids(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let name = args
        .first()
        .ok_or(Error::Plain("No netns name specified", 1))?;
    if args.len() > 1 {
        return Err(Error::Plain("extra arguments specified", 1));
    }
    let file = match crate::resolve::resolve(name) {
        Ok(Some(t)) => t.file,
        Ok(None) => store::open_entry_locked(name).map_err(cannot_open)?,
        Err(r) => return Err(r.into_error(1)),
    };
    let st = file
        .metadata()
        .map_err(|e| Error::sys("Stat of netns failed", errno_of(e)))?;
    let pids =
        procscan::pids_in(st.dev(), st.ino()).map_err(|e| Error::sys("Open of /proc failed", e))?;
    let mut text = Vec::new();
    for p in pids {
        text.extend_from_slice(p.as_bytes());
        text.push(b'\n');
    }
    ctx.out.write(&text);
    Ok(0)
}
