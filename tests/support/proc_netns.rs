//! Which network namespace a process is in, and who is in one, from
//! `/proc`: the oracle real-runtime tests hold rnetns's listings to.
//! Shared through `#[path]` by runtime_host.rs and runtimes_daemons.rs.

use std::os::unix::fs::MetadataExt;

/// The inode of `pid`'s network namespace; `None` once it is gone.
pub fn netns_ino(pid: u64) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|m| m.ino())
}

/// Every PID in namespace `ino`, as `/proc` has them, sorted.
pub fn pids_in(ino: u64) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|p| netns_ino(*p) == Some(ino))
        .collect();
    v.sort_unstable();
    v
}
