//! `ip netns set NAME NETNSID|auto` (spec 4.6): RTM_NEWNSID with the
//! entry's fd.

use super::{Ctx, Status};
use crate::bytes::cat;
use crate::cli::grammar::parse_c_int;
use crate::error::Error;
use crate::netlink::nsid;
use std::os::fd::AsRawFd;

/// `auto` (-1: the kernel picks) or a non-negative C int.
pub fn parse_nsid(word: &[u8]) -> Result<i32, Error> {
    if word == b"auto" {
        return Ok(-1);
    }
    match parse_c_int(word) {
        None => Err(Error::BadArgument(
            word.to_vec(),
            "Invalid \"netnsid\" value".into(),
        )),
        Some(n) if n < 0 => Err(Error::BadArgument(
            word.to_vec(),
            "\"netnsid\" value should be >= 0".into(),
        )),
        Some(n) => Ok(n),
    }
}

pub fn set(_ctx: &mut Ctx, args: &[Vec<u8>]) -> Status {
    let name = args
        .first()
        .ok_or(Error::Plain("No netns name specified"))?;
    let word = args.get(1).ok_or(Error::Plain("No nsid specified"))?;
    let id = parse_nsid(word)?;
    let file = match crate::resolve::resolve(name)? {
        Some(t) => t.file,
        None => crate::store::open_entry_locked(name)
            .map_err(|e| Error::sys(cat(&[b"Cannot open network namespace \"", name, b"\""]), e))?,
    };
    nsid::set(file.as_raw_fd(), id).map_err(Error::Netlink)?;
    Ok(0)
}
