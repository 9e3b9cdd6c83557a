//! Which network namespace a process is in, and who is in one, from
//! `/proc`: the oracle real-runtime tests hold rnetns's listings to, and
//! the checks of a listed namespace against it. Shared through `#[path]`
//! by runtime_host.rs and runtimes_daemons.rs.
#![allow(dead_code)]

use libtest_mimic::Failed;
use serde_json::Value;
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

/// The listed namespace of inode `ino`.
pub fn listed<'a>(spaces: &'a [Value], ino: u64, what: &str) -> Result<&'a Value, Failed> {
    spaces
        .iter()
        .find(|n| n["inode"].as_u64() == Some(ino))
        .ok_or_else(|| format!("{what}: netns {ino} not listed").into())
}

/// Whether `ns` lists a container of `runtime` with this id and name (and
/// pod, when `pod` is given).
pub fn has(ns: &Value, runtime: &str, id: &str, name: &str, pod: Option<&str>) -> bool {
    ns["containers"].as_array().into_iter().flatten().any(|x| {
        x["id"].as_str() == Some(id)
            && x["name"].as_str() == Some(name)
            && x["runtime"].as_str() == Some(runtime)
            && pod.is_none_or(|p| x["pod"].as_str() == Some(p))
    })
}

/// The listed PIDs of `ns` are exactly `/proc`'s for its inode, and
/// include each of `want`.
pub fn pids_match(ns: &Value, ino: u64, want: &[u64], what: &str) -> Result<Vec<u64>, Failed> {
    let got: Vec<u64> = ns["pids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    let proc = pids_in(ino);
    if got != proc || !want.iter().all(|p| got.contains(p)) {
        return Err(format!("{what}: pids {got:?}, /proc says {proc:?} (want {want:?})").into());
    }
    Ok(got)
}
