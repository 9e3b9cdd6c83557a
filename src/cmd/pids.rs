//! `ip netns pids NAME` (spec 4.12): the processes whose network namespace
//! is NAME's, matched by (st_dev, st_ino) in one pass over /proc
//! ([`crate::procscan`]). Syscalls: open, fstat, getdents, readlinkat.

use super::identify::cannot_open;
use super::{Ctx, Status};
use crate::error::{errno_of, Error};
use crate::procscan;
use crate::store;
use std::os::unix::fs::MetadataExt;

pub fn pids(ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let name = args
        .first()
        .ok_or(Error::Plain("No netns name specified"))?;
    if args.len() > 1 {
        return Err(Error::Plain("extra arguments specified"));
    }
    let file = match crate::resolve::resolve(name)? {
        Some(t) => t.file,
        None => store::open_entry_locked(name).map_err(cannot_open)?,
    };
    let st = file
        .metadata()
        .map_err(|e| Error::sys("Stat of netns failed", errno_of(e)))?;
    let pids = procscan::pids_in((st.dev(), st.ino()))
        .map_err(|e| Error::sys("Open of /proc failed", e))?;
    let mut text = Vec::new();
    for p in pids {
        text.extend_from_slice(p.as_bytes());
        text.push(b'\n');
    }
    ctx.out.write(&text);
    Ok(0)
}
