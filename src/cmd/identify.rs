//! `ip netns identify [PID]` (spec 4.8): the run-dir name of a process's
//! namespace, matched by (st_dev, st_ino) in one pass over the run dir.
//! Syscalls: open, fstat, getdents, fstatat.

use super::{Ctx, Status};
use crate::bytes::cat;
use crate::error::errno_of;
use crate::error::Error;
use crate::store::{self, RUN_DIR};
use nix::errno::Errno;
use std::os::unix::fs::MetadataExt;

pub(super) fn cannot_open(e: Errno) -> Error {
    Error::sys("Cannot open network namespace", e)
}

pub fn identify(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    if args.len() > 1 {
        return Err(Error::Plain("extra arguments specified"));
    }
    let pid: &[u8] = match args.first() {
        Some(p) if p.iter().all(u8::is_ascii_digit) => p,
        Some(p) => match crate::resolve::resolve(p)? {
            // A runtime reference instead of a PID: which name has its netns.
            Some(t) => return print_match(ctx, &t.file),
            None => {
                return Err(Error::Text(cat(&[
                    b"Specified string '",
                    p,
                    b"' is not a pid",
                ])))
            }
        },
        None => b"self",
    };
    let path = crate::nsident::proc_netns(pid);
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
