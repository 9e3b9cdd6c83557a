//! `ip netns monitor` (spec 4.10): watch the run dir with inotify and
//! print `add NAME` / `delete NAME`. Each line is flushed (D4). Syscalls:
//! inotify_init, mkdir, inotify_add_watch, read.

use super::{Ctx, Status};
use crate::bytes::cat;
use crate::error::errno_of;
use crate::error::Error;
use crate::store::RUN_DIR;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::fs::DirBuilder;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;

pub fn monitor(ctx: &mut Ctx) -> Status {
    let fd = Inotify::init(InitFlags::empty()).map_err(|e| Error::sys("inotify_init failed", e))?;
    if let Err(e) = DirBuilder::new().mode(0o755).create(RUN_DIR) {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(Error::sys(format!("mkdir {RUN_DIR} failed"), errno_of(e)));
        }
    }
    fd.add_watch(RUN_DIR, AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE)
        .map_err(|e| Error::sys("inotify_add_watch failed", e))?;
    loop {
        let events = match fd.read_events() {
            Ok(ev) => ev,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("read failed", e)),
        };
        for ev in events {
            let Some(name) = ev.name else { continue };
            let verb: &[u8] = if ev.mask.contains(AddWatchFlags::IN_CREATE) {
                b"add "
            } else if ev.mask.contains(AddWatchFlags::IN_DELETE) {
                b"delete "
            } else {
                continue;
            };
            ctx.out.write(&cat(&[verb, name.as_bytes(), b"\n"]));
            ctx.out.flush();
        }
    }
}
