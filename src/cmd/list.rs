//! `ip netns list` / `show` / `lst` and bare `ip netns` (spec 4.1), and the
//! nsid cache that `list-id` shares (spec 4.2). Each entry is opened once
//! and its nsid asked once, all queries pipelined; 6.1 asks twice, and its
//! observable effect (each kernel error printed twice) is reproduced.

use super::{Ctx, Status};
use crate::error::{eprint_bytes, NlError};
use crate::nsid;
use crate::output::json::{self, Value};
use crate::store;
use std::collections::HashMap;
use std::os::fd::AsRawFd;

/// One run-dir entry and what the kernel said about it.
pub struct Entry {
    pub name: Vec<u8>,
    /// `None`: the entry could not be opened (listed silently without id).
    pub nsid: Option<Result<Option<i32>, NlError>>,
}

/// How many entries are open at once: the nsid queries are pipelined per
/// chunk, and a run dir of any size never needs more fds than this (one fd
/// per entry hit RLIMIT_NOFILE at ~1,000 entries; issue 7, resources test).
const CHUNK: usize = 256;

/// Opens the entries a chunk at a time and asks their nsids, pipelined,
/// all over one netlink socket.
pub fn scan(names: Vec<Vec<u8>>) -> Vec<Entry> {
    let lock = crate::mounts::lock_run_dir(false);
    let mut query = (!names.is_empty()).then(nsid::FdQuery::open);
    let mut entries = Vec::with_capacity(names.len());
    let mut names = names.into_iter().peekable();
    while names.peek().is_some() {
        let chunk: Vec<Vec<u8>> = names.by_ref().take(CHUNK).collect();
        entries.extend(scan_chunk(chunk, query.as_mut()));
    }
    drop(lock);
    entries
}

fn scan_chunk(
    names: Vec<Vec<u8>>,
    query: Option<&mut Result<nsid::FdQuery, NlError>>,
) -> Vec<Entry> {
    let files: Vec<Option<std::fs::File>> =
        names.iter().map(|n| store::open_entry(n).ok()).collect();
    let fds: Vec<i32> = files.iter().flatten().map(|f| f.as_raw_fd()).collect();
    let answers = match query {
        Some(Ok(q)) if !fds.is_empty() => q.query(&fds),
        Some(Err(e)) => Err(e.clone()),
        _ => Ok(Vec::new()),
    };
    let mut answers = match answers {
        Ok(a) => a.into_iter(),
        Err(e) => vec![Err(e); fds.len()].into_iter(),
    };
    names
        .into_iter()
        .zip(files)
        .map(|(name, file)| Entry {
            name,
            nsid: file.and_then(|_| answers.next()),
        })
        .collect()
}

/// Prints the kernel's complaint about each entry it rejected, as one pass
/// of 6.1's cache building does.
pub fn report_errors(entries: &[Entry]) {
    for e in entries {
        if let Some(Err(err)) = &e.nsid {
            eprint_bytes(format!("{err}\n").as_bytes());
        }
    }
}

/// nsid -> first name in readdir order (spec 4.2).
pub fn cache(entries: &[Entry]) -> HashMap<i32, Vec<u8>> {
    let mut map = HashMap::new();
    for e in entries {
        if let Some(Ok(Some(id))) = e.nsid {
            map.entry(id).or_insert_with(|| e.name.clone());
        }
    }
    map
}

fn id_of(e: &Entry) -> Option<i32> {
    match e.nsid {
        Some(Ok(id)) => id,
        _ => None,
    }
}

pub fn list(ctx: &mut Ctx) -> Status {
    // spec 4.1: a missing or unusable run dir prints nothing, even in JSON (D6).
    let Ok(names) = store::entries() else {
        return Ok(0);
    };
    let entries = scan(names);
    report_errors(&entries);
    if ctx.globals.json {
        let objects: Vec<Vec<(&str, Value)>> = entries
            .iter()
            .map(|e| {
                let mut o = vec![("name", Value::Str(&e.name))];
                o.extend(id_of(e).map(|id| ("id", Value::Int(id.into()))));
                o
            })
            .collect();
        report_errors(&entries);
        ctx.out.write(&json::array(&objects, ctx.globals.pretty));
        return Ok(0);
    }
    for e in &entries {
        let mut line = e.name.clone();
        if let Some(id) = id_of(e) {
            line.extend_from_slice(format!(" (id: {id})").as_bytes());
        }
        line.push(b'\n');
        ctx.out.write(&line);
        if let Some(Err(err)) = &e.nsid {
            eprint_bytes(format!("{err}\n").as_bytes());
        }
    }
    Ok(0)
}
