//! The names in a directory, as a set: what `daemons.rs` and
//! `runtime_host.rs` compare before and after a runtime ran (run-dir
//! entries, links, cgroups).

use std::collections::BTreeSet;

/// The names in directory `p` (none when it cannot be read).
pub fn names_in(p: &str) -> BTreeSet<String> {
    std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}
