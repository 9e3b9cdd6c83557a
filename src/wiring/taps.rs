//! Which processes hold a tun/tap device open (the far end of a tap is a
//! process, such as a VM monitor): every `/proc/PID/fd/N` that links to
//! `/dev/net/tun`, and the device name from its fdinfo's `iff:` line.
//! Walked only when some namespace has a tun/tap. Unreadable processes
//! are skipped (they are gone, or not ours to read). Syscalls: getdents,
//! readlink, open, read.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::ffi::OsStrExt;

/// Device name -> PIDs holding it, for the names in `wanted`.
pub fn holders(wanted: &HashSet<Vec<u8>>) -> BTreeMap<Vec<u8>, Vec<u32>> {
    let mut out: BTreeMap<Vec<u8>, Vec<u32>> = BTreeMap::new();
    if wanted.is_empty() {
        return out;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Some(pid) = std::str::from_utf8(p.file_name().as_bytes())
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let is_tun = std::fs::read_link(fd.path())
                .is_ok_and(|t| t.as_os_str().as_bytes() == b"/dev/net/tun");
            if !is_tun {
                continue;
            }
            let info = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
            let Some(name) = std::fs::read(info).ok().and_then(|t| iff(&t)) else {
                continue;
            };
            if wanted.contains(&name) {
                let pids = out.entry(name).or_default();
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
    }
    out
}

/// The device name of a tun fd's fdinfo (`iff:\tNAME`).
pub fn iff(fdinfo: &[u8]) -> Option<Vec<u8>> {
    fdinfo
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"iff:"))
        .map(|v| v.trim_ascii().to_vec())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn iff_line_of_fdinfo() {
        let t = b"pos:\t0\nflags:\t02\nmnt_id:\t25\nino:\t5\niff:\ttap7\n";
        assert_eq!(super::iff(t), Some(b"tap7".to_vec()));
        assert_eq!(super::iff(b"pos:\t0\n"), None);
    }
}
