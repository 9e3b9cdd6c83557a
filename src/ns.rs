//! Entering namespaces (spec 4.9 steps 2-7, also used by `-n NAME`): open
//! the entry, setns into its netns, unshare the mount namespace, make `/`
//! rslave, mount a fresh sysfs named after the namespace, and bind
//! `/etc/netns/NAME/*` over `/etc`. Plus [`NetnsGuard`], which returns the
//! thread to its original netns when dropped (`add`). Syscalls: open,
//! setns, unshare, mount, umount2, statvfs, opendir.

use crate::bytes::cat;
use crate::error::errno_of;
use crate::error::{eprint_bytes, sys_text, Error};
use crate::store::ETC_DIR;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Switches the calling process into netns NAME with a private view of
/// mounts, as `ip netns exec` does before running the command.
pub fn switch_to(name: &[u8]) -> Result<(), Error> {
    let file = crate::store::open_entry_locked(name).map_err(|e| {
        Error::SetupSys(cat(&[b"Cannot open network namespace \"", name, b"\""]), e)
    })?;
    switch_to_file(file, name, true)
}

/// The same, for an already open netns file (a runtime reference, whose
/// LABEL is used in messages and as the sysfs source). `/etc/netns/LABEL`
/// is bound only for run-dir names.
pub fn switch_to_file(file: File, name: &[u8], etc: bool) -> Result<(), Error> {
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| {
        Error::SetupSys(
            cat(&[b"setting the network namespace \"", name, b"\" failed"]),
            e,
        )
    })?;
    drop(file);
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| Error::SetupSys(b"unshare failed".into(), e))?;
    let none: Option<&str> = None;
    mount(
        Some(""),
        "/",
        Some("none"),
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        none,
    )
    .map_err(|e| Error::SetupSys(b"\"mount --make-rslave /\" failed".into(), e))?;
    remount_sys(name)?;
    if etc {
        bind_etc(name);
    }
    Ok(())
}

/// spec 4.9 step 6: detach /sys (and its submounts) and mount a sysfs of
/// the new netns whose source is the namespace name; read-only only when
/// the old /sys could not be detached and was read-only.
fn remount_sys(name: &[u8]) -> Result<(), Error> {
    let mut flags = MsFlags::empty();
    if umount2("/sys", MntFlags::MNT_DETACH).is_err() {
        if let Ok(st) = nix::sys::statvfs::statvfs("/sys") {
            if st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
                flags |= MsFlags::MS_RDONLY;
            }
        }
    }
    let none: Option<&str> = None;
    mount(
        Some(std::ffi::OsStr::from_bytes(name)),
        "/sys",
        Some("sysfs"),
        flags,
        none,
    )
    .map_err(|e| Error::SetupSys(b"mount of /sys failed".into(), e))
}

/// spec 4.9 step 7: bind each `/etc/netns/NAME/E` over `/etc/E`; failures
/// are reported and ignored.
fn bind_etc(name: &[u8]) {
    if name.len() >= 255 {
        return;
    }
    let dir = PathBuf::from(std::ffi::OsStr::from_bytes(&cat(&[
        ETC_DIR.as_bytes(),
        b"/",
        name,
    ])));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let none: Option<&str> = None;
    for e in entries.flatten() {
        let file = e.file_name();
        let src = dir.join(&file);
        let dst = PathBuf::from("/etc").join(&file);
        if let Err(err) = mount(Some(&src), &dst, Some("none"), MsFlags::MS_BIND, none) {
            let what = cat(&[
                b"Bind ",
                src.as_os_str().as_bytes(),
                b" -> ",
                dst.as_os_str().as_bytes(),
                b" failed",
            ]);
            eprint_bytes(&[sys_text(&what, err), b"\n".to_vec()].concat());
        }
    }
}

/// Remembers the calling thread's netns and returns to it when dropped or
/// when [`NetnsGuard::restore`] is called (which reports failure).
pub struct NetnsGuard {
    saved: Option<File>,
}

impl NetnsGuard {
    pub fn save() -> Result<Self, Error> {
        let f = File::open("/proc/self/ns/net")
            .map_err(|e| Error::sys("open /proc/self/ns/net", errno_of(e)))?;
        Ok(NetnsGuard { saved: Some(f) })
    }

    /// Switches back now; the error is iproute2's perror text. A thread
    /// that is in the saved netns already is back, even where setns is
    /// refused (an unprivileged caller that never left).
    pub fn restore(mut self) -> Result<(), Error> {
        let Some(f) = self.saved.take() else {
            return Ok(());
        };
        let here = || {
            let h = std::fs::File::open("/proc/thread-self/ns/net").ok()?;
            crate::nsident::key_of(&h)
        };
        match setns(&f, CloneFlags::CLONE_NEWNET) {
            Err(_) if crate::nsident::key_of(&f).is_some_and(|k| here() == Some(k)) => Ok(()),
            r => r.map_err(|e| Error::sys("setns", e)),
        }
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if let Some(f) = self.saved.take() {
            let _ = setns(&f, CloneFlags::CLONE_NEWNET);
        }
    }
}
