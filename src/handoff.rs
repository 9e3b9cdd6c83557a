//! The hand-off to the real iproute2 `ip` (spec 0.1): as `ip`, every
//! command line that is not `ip netns` becomes the real `ip` (exec, same
//! argv); a batch file that names other objects is handed to it whole; a
//! non-netns line of a netns batch runs it as a child. The real `ip` is the
//! first `ip` on PATH that is not rnetns itself.
//! Syscalls: stat, memfd_create, execve, fork (std::process), wait4.

use crate::error::{eprint_bytes, Error};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// Becomes the real `ip -b FILE` (stdin refilled from memory for `-`),
/// with the options that matter (`options`, the passed-through option
/// words, then `-all` and `-force`); `-n` switches were already made
/// here. The caller flushes its stdout first.
pub fn batch(options: &[OsString], all: bool, force: bool, file: &[u8], input: &[u8]) -> i32 {
    let Some(ip) = real_ip() else {
        eprint_bytes(b"rnetns: cannot find iproute2's ip\n");
        return 255;
    };
    let mut cmd = std::process::Command::new(ip);
    cmd.arg0("ip").args(options);
    if all {
        cmd.arg("-all");
    }
    if force {
        cmd.arg("-force");
    }
    cmd.arg("-batch").arg(crate::bytes::os(file));
    if file == b"-" {
        match stdin_from(input) {
            Ok(f) => {
                cmd.stdin(f);
            }
            Err(e) => {
                eprint_bytes(format!("rnetns: cannot pass the batch on: {e}\n").as_bytes());
                return 1;
            }
        }
    }
    let err = cmd.exec();
    eprint_bytes(format!("rnetns: cannot run ip: {err}\n").as_bytes());
    255
}

/// An in-memory file holding `data`, positioned at its start.
fn stdin_from(data: &[u8]) -> std::io::Result<std::fs::File> {
    use std::io::{Seek, Write};
    let fd = nix::sys::memfd::memfd_create("rnetns-batch", nix::sys::memfd::MFdFlags::empty())
        .map_err(std::io::Error::from)?;
    let mut f = std::fs::File::from(fd);
    f.write_all(data)?;
    f.rewind()?;
    Ok(f)
}

/// A non-netns batch line: run it with the real `ip` and take its status
/// (255, iproute2's exit(), ends the batch as it would in-process).
pub fn run_line(options: &[OsString], words: &[Vec<u8>]) -> Result<i32, Error> {
    let Some(ip) = real_ip() else {
        return Err(Error::Text(b"rnetns: cannot find iproute2's ip".to_vec()));
    };
    let status = std::process::Command::new(ip)
        .arg0("ip")
        .args(options)
        .args(words.iter().map(|w| crate::bytes::os(w)))
        .status()
        .map_err(|e| Error::sys("Cannot run ip", crate::error::errno_of(e)))?;
    match status.code() {
        Some(255) => Err(Error::Exit(255)),
        Some(c) => Ok(c),
        None => Err(Error::Exit(1)),
    }
}

/// The real iproute2 `ip`: the first `ip` on PATH that is not rnetns
/// itself, else the usual locations (spec 0.1).
fn real_ip() -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    // Compared by (dev, ino), so a hard-linked or copied-over rnetns named
    // `ip` is skipped as surely as a symlink to it.
    let me = std::fs::metadata("/proc/self/exe")
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let candidates = std::env::split_paths(&path)
        .map(|d| d.join("ip"))
        .chain(["/usr/sbin/ip", "/sbin/ip", "/bin/ip"].map(PathBuf::from));
    for c in candidates {
        let Ok(m) = std::fs::metadata(&c) else {
            continue;
        };
        if Some((m.dev(), m.ino())) != me && is_executable(&c) {
            return Some(c);
        }
    }
    None
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// ip mode, any object but netns: become the real `ip` with the same argv.
pub fn exec_ip(argv: &[OsString]) -> i32 {
    let Some(ip) = real_ip() else {
        eprint_bytes(
            b"rnetns: cannot find iproute2's ip (looked on PATH and in /usr/sbin, /sbin, /bin)\n",
        );
        return 255;
    };
    let err = std::process::Command::new(&ip)
        .arg0(argv.first().cloned().unwrap_or_else(|| "ip".into()))
        .args(argv.get(1..).unwrap_or(&[]))
        .exec();
    eprint_bytes(format!("rnetns: cannot run {}: {err}\n", ip.display()).as_bytes());
    255
}
