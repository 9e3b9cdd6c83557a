//! The nsid scan of the run dir that `list` and `list-id` share (spec
//! 4.1, 4.2): each entry is opened once and its nsid asked once, all
//! queries pipelined, a chunk of entries at a time, on worker threads for
//! large run dirs (ARCHITECTURE.md "Invariants": the only threads besides
//! netlink's); 6.1 asks twice, and its observable effect (each kernel
//! error printed twice) is reproduced by the callers with
//! [`report_errors`]. Syscalls: openat, fstatat, flock, netlink
//! RTM_GETNSID, getrlimit.

use crate::error::{eprint_bytes, NlError};
use crate::netlink::nsid;
use crate::store;
use nix::errno::Errno;
use std::collections::HashMap;
use std::os::fd::AsRawFd;

/// The run dir's entries in readdir order and what the kernel said about
/// each.
pub struct Listing {
    names: store::NameList,
    answers: Vec<Answer>,
}

impl Listing {
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Answer)> {
        self.names.iter().zip(&self.answers)
    }
}

/// What the kernel said of one entry, in 16 bytes: a listing holds one per
/// entry, twice while the workers' parts are joined, and it shows in peak
/// RSS at thousands of entries.
pub enum Answer {
    /// The entry could not be opened (listed silently without id).
    Unopened,
    /// A namespace without an NSID in ours.
    Unset,
    Id(i32),
    Error(Box<NlError>),
}

impl Answer {
    fn of(reply: Result<Option<i32>, NlError>) -> Answer {
        match reply {
            Ok(Some(id)) => Answer::Id(id),
            Ok(None) => Answer::Unset,
            Err(e) => Answer::Error(Box::new(e)),
        }
    }
}

/// How many entries are open at once, over all workers: the nsid queries
/// are pipelined per chunk, and a run dir of any size never needs more fds
/// than this (one fd per entry hit RLIMIT_NOFILE at ~1,000 entries:
/// tests/hardening_resources.rs).
const CHUNK: usize = 256;

/// Fewest entries worth a worker thread of their own. The kernel answers
/// each RTM_GETNSID by walking our whole NSID table under RCU only
/// (`peernet2id`, no RTNL), so a listing is O(N^2) kernel work that scales
/// with cores; below this a thread's start costs more than it saves.
const PER_WORKER: usize = 128;

/// At most this many workers: beyond it the fd budget per chunk gets small.
const MAX_WORKERS: usize = 8;

/// Opens the entries a chunk at a time and asks their nsids, pipelined.
/// Large run dirs are split into contiguous parts, one per available CPU,
/// each asked on its own netlink socket by its own thread; the parts are
/// joined back in readdir order.
pub fn scan(names: store::NameList) -> Listing {
    // Without a run dir the names were read from nothing: no entry to open.
    let lock = crate::store::lock::lock_run_dir(false).ok().flatten();
    let workers = crate::sys::cpus()
        .min(MAX_WORKERS)
        .min(names.len() / PER_WORKER)
        .max(1);
    // Under a low fd limit one worker keeps every fd it needs to itself
    // (case list-low-fd-limit); workers would starve each other.
    let roomy = || {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .is_ok_and(|(soft, _)| soft >= 1024)
    };
    let workers = if workers > 1 && roomy() { workers } else { 1 };
    let answers = if workers == 1 {
        scan_part(&names, 0, 1)
    } else {
        scan_parallel(&names, workers)
    };
    drop(lock);
    Listing { names, answers }
}

/// Worker `k` of `w` takes entries k, k+w, k+2w...: a query costs the
/// position of its NSID in the kernel's table, and readdir order follows
/// creation order as NSIDs usually do, so contiguous parts would leave one
/// worker with most of the work. Worker 0 is this thread; a worker that
/// cannot be started leaves its part to this thread.
fn scan_parallel(names: &store::NameList, workers: usize) -> Vec<Answer> {
    // The chunks' fds, the workers' sockets and what is open already.
    crate::sys::reserve_fds((CHUNK + 2 * workers + 64) as i32);
    let parts: Vec<Vec<Answer>> = std::thread::scope(|s| {
        let spawned: Vec<_> = (1..workers)
            .map(|k| {
                // Workers only open files and talk netlink: a small stack.
                let worker = std::thread::Builder::new().stack_size(256 << 10);
                (
                    k,
                    worker
                        .spawn_scoped(s, move || scan_part(names, k, workers))
                        .ok(),
                )
            })
            .collect();
        let mut parts = vec![scan_part(names, 0, workers)];
        for (k, handle) in spawned {
            parts.push(match handle {
                Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                None => scan_part(names, k, workers),
            });
        }
        parts
    });
    let mut parts: Vec<_> = parts.into_iter().map(Vec::into_iter).collect();
    (0..names.len())
        .map(|i| parts[i % workers].next().unwrap_or(Answer::Unopened))
        .collect()
}

/// Entries `first`, `first + step`, ... a chunk at a time over one netlink
/// socket; each worker keeps its share of the fd budget open at most.
fn scan_part(names: &store::NameList, first: usize, step: usize) -> Vec<Answer> {
    let mine: Vec<&[u8]> = names.iter().skip(first).step_by(step).collect();
    let mut query = (!mine.is_empty()).then(nsid::FdQuery::open);
    let dir = store::EntryDir::open();
    let mut answers = Vec::with_capacity(mine.len());
    let chunk = (CHUNK / step).max(1);
    let mut rest = &mine[..];
    let mut waits = 0;
    while !rest.is_empty() {
        let part = &rest[..rest.len().min(chunk)];
        let taken = scan_chunk(&dir, part, query.as_mut(), &mut answers, &mut waits);
        rest = &rest[taken..];
    }
    answers
}

/// Opens up to a chunk of entries, asks their nsids and appends the
/// answers; returns how many entries it took. Running out of fds (a low
/// RLIMIT_NOFILE, or other workers' chunks) ends the chunk early instead
/// of failing the entry, so a listing never depends on the fd limit, as
/// 6.1's one-entry-at-a-time listing does not (case list-low-fd-limit).
fn scan_chunk(
    dir: &Result<store::EntryDir, Errno>,
    names: &[&[u8]],
    query: Option<&mut Result<nsid::FdQuery, NlError>>,
    out: &mut Vec<Answer>,
    waits: &mut u32,
) -> usize {
    let mut files: Vec<Option<std::fs::File>> = Vec::with_capacity(names.len());
    for name in names {
        let opened = match dir {
            Ok(d) => d.open_entry(name),
            Err(e) => Err(*e),
        };
        match opened {
            Err(Errno::EMFILE | Errno::ENFILE) if files.iter().any(Option::is_some) => break,
            // Another worker holds the fds: it closes them when its chunk
            // is answered; wait for that (bounded) rather than fail.
            Err(Errno::EMFILE | Errno::ENFILE) if files.is_empty() && *waits < 2000 => {
                *waits += 1;
                std::thread::sleep(std::time::Duration::from_micros(100));
                break;
            }
            opened => files.push(opened.ok()),
        }
    }
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
    let taken = files.len();
    out.extend(files.into_iter().map(|file| match file {
        Some(_) => answers.next().map_or(Answer::Unopened, Answer::of),
        None => Answer::Unopened,
    }));
    taken
}

/// Prints the kernel's complaint about each entry it rejected, as one pass
/// of 6.1's cache building does.
pub fn report_errors(listing: &Listing) {
    for (_, answer) in listing.iter() {
        if let Answer::Error(err) = answer {
            eprint_bytes(format!("{err}\n").as_bytes());
        }
    }
}

/// nsid -> first name in readdir order (spec 4.2).
pub fn cache(listing: &Listing) -> HashMap<i32, Vec<u8>> {
    let mut map = HashMap::new();
    for (name, answer) in listing.iter() {
        if let Answer::Id(id) = *answer {
            map.entry(id).or_insert_with(|| name.to_vec());
        }
    }
    map
}
