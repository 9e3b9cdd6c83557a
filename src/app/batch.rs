//! Batch files (`-batch FILE`, `-b -`; spec 2.7): each line runs as its
//! own command in this process, in order, with iproute2's rules for
//! failures (`Command failed FILE:N`, `-force`, exit 255 ends the batch).
//! A batch that names other `ip` objects goes whole to the real `ip`
//! ([`crate::handoff`]). Syscalls: open, read, netlink socket.

use super::report;
use crate::cli;
use crate::cmd::{self, Ctx};
use crate::error::{errno_of, Error};
use crate::handoff;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// spec 2.7: run each line of a batch file. A batch that holds other `ip`
/// objects is handed whole to the real `ip`, because iproute2 carries
/// state from one line to the next (e.g. `link show` changes how a later
/// `addr show` prints) that separate processes could not reproduce.
pub fn batch(ctx: &mut Ctx, file: &[u8]) -> i32 {
    ctx.in_batch = true;
    let input = if file == b"-" {
        let mut v = Vec::new();
        let _ = std::io::stdin().lock().read_to_end(&mut v);
        v
    } else {
        // 6.1 holds its rtnetlink socket before it opens the file, so with
        // a standard fd closed the socket takes that number, and
        // `-b /dev/stdin <&-` opens a socket: "No such device or address"
        // (case batch-file-stdin-closed). Not for `-b -`, which would then
        // read the socket and hang as 6.1 does (D10).
        let _rtnl = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE);
        // Open errors are reported; a read error (a directory: EISDIR) ends
        // the input like end of file, as 6.1's getline does (hardening_inputs).
        match std::fs::File::open(Path::new(std::ffi::OsStr::from_bytes(file))) {
            Ok(mut f) => {
                let mut v = Vec::new();
                let _ = f.read_to_end(&mut v);
                v
            }
            Err(e) => {
                let what = crate::bytes::cat(&[b"Cannot open file \"", file, b"\" for reading"]);
                return report(&Error::sys(what, errno_of(e)));
            }
        }
    };
    if has_other_objects(&input) {
        ctx.out.flush();
        let g = &ctx.globals;
        return handoff::batch(&g.passthrough, g.all, g.force, file, &input);
    }
    let mut reader = cli::batch::Reader::new(&input[..]);
    let mut status = 0;
    while let Some((lineno, line)) = reader.next_line() {
        let words = match cli::batch::split_words(&line) {
            Ok(w) => w,
            Err(_) => return report(&Error::UnterminatedQuote),
        };
        let Some(object) = words.first() else {
            continue;
        };
        let r = if cli::grammar::is_netns_object(object) {
            cmd::netns(ctx, &words[1..])
        } else {
            ctx.out.flush();
            handoff::run_line(&ctx.globals.passthrough, &words)
        };
        let code = match r {
            Ok(c) => c,
            Err(e) => {
                ctx.out.flush();
                let code = report(&e);
                if e.is_fatal() {
                    return code;
                }
                code
            }
        };
        if code != 0 {
            ctx.out.flush();
            status = report(&Error::BatchLine(file.to_vec(), lineno));
            if !ctx.globals.force {
                return status;
            }
        }
    }
    if reader.missing_continuation {
        report(&Error::MissingContinuation);
    }
    status
}

/// Whether a line that would run (before any unterminated quote) names an
/// object other than netns.
fn has_other_objects(input: &[u8]) -> bool {
    let mut reader = cli::batch::Reader::new(input);
    while let Some((_, line)) = reader.next_line() {
        match cli::batch::split_words(&line) {
            Err(_) => return false,
            Ok(words) => {
                if words
                    .first()
                    .is_some_and(|o| !cli::grammar::is_netns_object(o))
                {
                    return true;
                }
            }
        }
    }
    false
}
