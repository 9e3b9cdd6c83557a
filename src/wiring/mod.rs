//! The wiring between network namespaces (README "See the wiring"): every namespace's
//! interfaces and addresses, and for each interface whose peer or lower
//! device is elsewhere, which namespace and interface that is. Read-only:
//! a thread enters each namespace (setns), dumps links and addresses on
//! a socket opened there ([`dump`]), the netavark way; on a large host a
//! few workers share the namespaces (one more than the CPUs, the main
//! thread among them, which goes back to its own netns); nothing is
//! mounted or written and RTM_NEWNSID is never sent. The kernel's own side effect of a link
//! dump (an NSID allocated for each namespace a veth, macvlan or vxlan
//! points into) is accepted, as `ip link` has it (ledger R6).
//!
//! Resolving IFLA_LINK_NETNSID: the NSID is the dumping namespace's number
//! for the other one. Candidates are found by ifindex (a veth's peer must
//! point back: the pair matches in both directions); then, inside the
//! dumping namespace, RTM_GETNSID by fd asks the kernel which candidate
//! carries that NSID, which settles it; the caller's own namespace's NSIDs
//! are the listing's, and a veth whose peer was settled from the other
//! side needs no question. Where the kernel cannot be asked,
//! a unique pair still answers; more than one candidate is reported as
//! ambiguous, never guessed. A namespace that vanishes mid-scan is a note
//! and a partial answer. Syscalls: open, setns, socket, sendto, recvfrom,
//! clone (workers).

pub mod render;
pub mod taps;

use crate::error::NlError;
use crate::netlink::dump::{self, Link};
use crate::ns::NetnsGuard;
use crate::runtimes::Namespace;
use netlink_sys::Socket;
use nix::sched::{setns, CloneFlags};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::os::fd::AsRawFd;

/// Where an interface's IFLA_LINK leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Far {
    /// Another interface of the same namespace (by ifindex).
    Same(u32),
    /// An interface of another namespace (index into the namespace list).
    Other { ns: usize, ifindex: u32 },
    /// In another namespace that could not be told: no candidate, or
    /// several (`ambiguous`).
    Unresolved {
        nsid: i32,
        ifindex: u32,
        ambiguous: bool,
    },
}

/// The interfaces of every namespace and where their links lead.
#[derive(Debug, Default)]
pub struct Wiring {
    /// Per namespace (same order as the listing); `None`: not dumped.
    pub links: Vec<Option<Vec<Link>>>,
    /// (namespace, ifindex) -> far end.
    pub far: HashMap<(usize, u32), Far>,
    /// (namespace, ifindex) of a tun/tap -> the processes holding it open.
    pub holders: HashMap<(usize, u32), Vec<u32>>,
    pub notes: Vec<String>,
}

impl Wiring {
    pub fn link(&self, ns: usize, ifindex: u32) -> Option<&Link> {
        let links = self.links.get(ns)?.as_ref()?;
        links
            .binary_search_by_key(&ifindex, |l| l.ifindex)
            .ok()
            .map(|i| &links[i])
    }

    /// The name of interface `ifindex` in namespace `ns`, if known.
    pub fn name(&self, ns: usize, ifindex: u32) -> Option<&[u8]> {
        self.link(ns, ifindex).map(|l| l.ifname.as_slice())
    }
}

/// Namespace files kept for the resolving pass while under this many
/// (far from the fd limit); past it they are opened again when needed.
pub const KEEP_OPEN: usize = 400;

/// What the first pass leaves open for the second: namespace files, and
/// the socket of the caller's own namespace (asking there needs no setns,
/// nor the privilege for it). Other namespaces' sockets are closed by the
/// worker that dumped them, beside the other workers' dumps; the few
/// namespaces the resolving pass asks NSIDs in get a new one.
#[derive(Default)]
struct Open {
    files: HashMap<usize, File>,
    /// The socket the caller's own namespace was dumped on.
    own_sock: Option<Socket>,
}

/// Dumps every namespace of `spaces` (the caller's own on this thread,
/// the others entered by a few workers, see [`dump_all`]), then resolves
/// cross-namespace links. `files` are namespace files already open (by
/// index into `spaces`); the others are opened here. The thread ends in
/// its own netns.
pub fn wire(spaces: &[Namespace], mut files: HashMap<usize, File>) -> Wiring {
    let mut w = Wiring {
        links: vec![None; spaces.len()],
        ..Wiring::default()
    };
    let guard = match NetnsGuard::save() {
        Ok(g) => g,
        Err(_) => {
            w.notes
                .push("cannot open this process's own netns: no interfaces shown".into());
            return w;
        }
    };
    // The caller's own namespace needs no setns (nor the privilege for
    // it): this thread dumps it first, before it enters any other.
    let own = crate::runtimes::state::netns_at(std::path::Path::new("/proc/thread-self/ns/net"))
        .ok()
        .flatten();
    let mut todo = Vec::new();
    let mut own_at = None;
    for (i, n) in spaces.iter().enumerate() {
        match n.key {
            None => {}
            Some(k) if Some(k) == own => own_at = Some(i),
            Some(_) => todo.push((i, files.remove(&i))),
        }
    }
    let own_file = own_at.and_then(|i| files.remove(&i).or_else(|| spaces[i].open()));
    drop(files);
    let mut done = dump_all(spaces, todo, own_at.map(|i| (i, own_file)));
    let mut open = Open::default();
    let mut denied = 0usize;
    done.sort_by_key(|d| d.0);
    for (i, d) in done {
        if let Some(f) = d.file {
            open.files.insert(i, f);
        }
        match d.res {
            Ok((sock, links)) => {
                w.links[i] = Some(links);
                if let Some(sock) = sock {
                    open.own_sock = Some(sock);
                }
            }
            Err(e) if e.errno == VANISHED => w.notes.push(format!(
                "netns {} vanished before its interfaces were read",
                render::label(&spaces[i])
            )),
            Err(e) if e.errno == libc::EPERM => denied += 1,
            Err(e) => w.notes.push(format!(
                "cannot read the interfaces of netns {}: {}",
                render::label(&spaces[i]),
                crate::sys::strerror(e.errno)
            )),
        }
    }
    if denied > 0 {
        w.notes.push(format!(
            "cannot enter {denied} network namespace{} ({}): their interfaces need root",
            if denied == 1 { "" } else { "s" },
            crate::sys::strerror(libc::EPERM)
        ));
    }
    resolve(spaces, &mut w, &mut open, own_at);
    find_holders(&mut w);
    if guard.restore().is_err() {
        w.notes
            .push("could not return to this process's own netns".into());
    }
    w
}

/// One namespace's dump: its socket (kept for the NSID questions: the
/// caller's own namespace only) and interfaces, or why not; and its file
/// while under [`KEEP_OPEN`].
struct Dumped {
    res: Result<(Option<Socket>, Vec<Link>), NlError>,
    file: Option<File>,
}

/// The errno that stands for "the namespace could not be opened".
const VANISHED: i32 = libc::ENOENT;

/// Namespaces per worker before another is worth its thread.
const PER_WORKER: usize = 32;

/// At most this many workers (each holds a 64 KiB receive buffer).
const MAX_WORKERS: usize = 4;

/// Enters each namespace of `todo` and dumps it, on one worker more than
/// there are CPUs (this thread is worker 0; one on a single CPU) for a
/// large host: the time is the kernel's (setns, socket, two dumps), which
/// runs on as many CPUs as there are threads asking, and link dumps hold
/// RTNL, so a worker that waits for it leaves its CPU to the extra one.
/// Measured at W = 200 on 2 vCPUs: 3 workers 12.0-13.3 ms, 2 workers
/// 13.1-15.6 ms; on 1 CPU a second worker only costs (15.8 against 15.5
/// ms). `own`, the caller's own namespace (index and file), is dumped
/// first on this thread, without setns, while the other workers start on
/// `todo`. Each worker takes the next namespace from one
/// shared queue, so a slow one (the host's, with every veth and bridge
/// port) does not leave the others idle. Workers that moved into other
/// namespaces simply end; this thread is brought back by the caller's
/// guard.
fn dump_all(
    spaces: &[Namespace],
    todo: Todo,
    own: Option<(usize, Option<File>)>,
) -> Vec<(usize, Dumped)> {
    let cpus = crate::sys::cpus();
    let workers = (if cpus > 1 { cpus + 1 } else { cpus })
        .min(MAX_WORKERS)
        .min(todo.len() / PER_WORKER)
        .max(1);
    let keep = KEEP_OPEN / workers;
    if workers > 1 {
        // Files kept, each worker's socket, and what is open already: the
        // fd table grows now, while single-threaded (crate::sys::reserve_fds).
        crate::sys::reserve_fds((KEEP_OPEN.min(todo.len()) + 64) as i32);
    }
    let queue: Queue = std::sync::Mutex::new(todo.into_iter());
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..workers)
            .filter_map(|_| {
                let worker = std::thread::Builder::new().stack_size(256 << 10);
                // A worker that cannot start leaves its share to the others.
                worker
                    .spawn_scoped(s, || {
                        dump_queue(spaces, &queue, keep, vec![0u8; dump::RECV_BUF])
                    })
                    .ok()
            })
            .collect();
        let mut buf = vec![0u8; dump::RECV_BUF];
        let mut all: Vec<_> = own
            .map(|(i, file)| {
                let res = dump::socket_here().and_then(|sock| {
                    let links = dump::links_of(&sock, &mut buf)?;
                    Ok((Some(sock), links))
                });
                (i, Dumped { res, file })
            })
            .into_iter()
            .collect();
        all.extend(dump_queue(spaces, &queue, keep, buf));
        for h in handles {
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    })
}

/// Namespaces to dump: index into the listing, and its file if open.
type Todo = Vec<(usize, Option<File>)>;

/// [`Todo`] as the workers share it, each taking the next namespace.
type Queue = std::sync::Mutex<std::vec::IntoIter<(usize, Option<File>)>>;

/// Takes namespaces from `queue` until it is empty and dumps each, on
/// the calling thread, which is left in the last namespace it entered.
/// At most `keep` files are kept; past that the resolving pass opens them
/// again. Each socket is closed here, after its dump: 200 closes at the
/// end, on one thread, took 0.5 ms of a 14 ms listing.
fn dump_queue(
    spaces: &[Namespace],
    queue: &Queue,
    keep: usize,
    mut buf: Vec<u8>,
) -> Vec<(usize, Dumped)> {
    let mut out = Vec::new();
    let next = || queue.lock().unwrap_or_else(|p| p.into_inner()).next();
    while let Some((i, file)) = next() {
        let Some(file) = file.or_else(|| spaces[i].open()) else {
            let res = Err(NlError {
                errno: VANISHED,
                extack: None,
            });
            out.push((i, Dumped { res, file: None }));
            continue;
        };
        let kept = out.len() < keep;
        let res = socket_in(&file).and_then(|sock| Ok((None, dump::links_of(&sock, &mut buf)?)));
        let file = kept.then_some(file);
        out.push((i, Dumped { res, file }));
    }
    out
}

/// Fills [`Wiring::holders`]: a holder's fdinfo names its device but not
/// the namespace, so a name that is a tun/tap in several namespaces is a
/// note, never a guess.
fn find_holders(w: &mut Wiring) {
    let mut by_name: HashMap<Vec<u8>, Vec<(usize, u32)>> = HashMap::new();
    for (i, links) in w.links.iter().enumerate() {
        for l in links.iter().flatten() {
            if l.kind.as_deref() == Some("tun") {
                by_name
                    .entry(l.ifname.clone())
                    .or_default()
                    .push((i, l.ifindex));
            }
        }
    }
    let wanted = by_name.keys().cloned().collect();
    for (name, pids) in taps::holders(&wanted) {
        match by_name.get(&name).map(Vec::as_slice) {
            Some([one]) => {
                w.holders.insert(*one, pids);
            }
            _ => w.notes.push(format!(
                "tun/tap {} is held by pid {} but is in several namespaces",
                crate::output::escape::escape(&name),
                pids.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// A NETLINK_ROUTE socket in `file`'s netns (the thread stays there).
fn socket_in(file: &File) -> Result<Socket, NlError> {
    setns(file, CloneFlags::CLONE_NEWNET).map_err(|e| NlError {
        errno: e as i32,
        extack: None,
    })?;
    dump::socket_here()
}

/// Where the far ends may be: namespaces by ifindex, and the veths that
/// lead into another namespace by (ifindex, ifindex they point at), so a
/// veth's candidates are found without walking every namespace that has
/// an interface with that ifindex (all containers' eth0 share one).
#[derive(Default)]
struct Index {
    by_index: HashMap<u32, Vec<usize>>,
    veths: HashMap<(u32, u32), Vec<usize>>,
}

impl Index {
    fn of(w: &Wiring) -> Index {
        let mut x = Index::default();
        for (i, links) in w.links.iter().enumerate() {
            for l in links.iter().flatten() {
                x.by_index.entry(l.ifindex).or_default().push(i);
                if let (Some(t), Some(_), Some("veth")) =
                    (l.link, l.link_netnsid, l.kind.as_deref())
                {
                    x.veths.entry((l.ifindex, t)).or_default().push(i);
                }
            }
        }
        x
    }

    /// Namespaces other than `from` with an interface that could be the
    /// far end of `l`: the ifindex it points at, and for a veth, a veth
    /// into another namespace that points back.
    fn candidates(&self, from: usize, l: &Link) -> Vec<usize> {
        let Some(target) = l.link else {
            return Vec::new();
        };
        let found = if l.kind.as_deref() == Some("veth") {
            self.veths.get(&(target, l.ifindex))
        } else {
            self.by_index.get(&target)
        };
        found
            .into_iter()
            .flatten()
            .copied()
            .filter(|&m| m != from)
            .collect()
    }
}

/// A link of one namespace that leads into another: (ifindex, NSID,
/// far ifindex, candidate namespaces, is a veth).
type Pending = (u32, i32, u32, Vec<usize>, bool);

/// `own`: the caller's own namespace, whose NSIDs for the others the
/// listing already asked ([`Namespace::nsid`]); the kernel is asked again
/// only for an NSID that is not among them (one the dump allocated).
/// A veth's peer is its peer's peer: a veth whose far end the kernel's
/// answer settled from the other side (`sure`) needs no question of its
/// own, so a container namespace behind a host bridge costs none.
fn resolve(spaces: &[Namespace], w: &mut Wiring, open: &mut Open, own: Option<usize>) {
    let index = Index::of(w);
    // The listing's NSIDs are the caller's own namespace's: there they
    // name the far namespace even where its interfaces could not be read
    // (not entered without privilege, or vanished), so a link there that
    // no dumped interface answers is matched by NSID alone.
    let listed: HashMap<i32, usize> = spaces
        .iter()
        .enumerate()
        .filter_map(|(m, n)| Some((n.nsid?, m)))
        .collect();
    let mut far = HashMap::new();
    let mut sure: HashSet<(usize, u32)> = HashSet::new();
    for i in 0..w.links.len() {
        let Some(links) = &w.links[i] else { continue };
        let mut pending: Vec<Pending> = Vec::new();
        for l in links {
            let Some(target) = l.link else { continue };
            match l.link_netnsid {
                None => {
                    far.insert((i, l.ifindex), Far::Same(target));
                }
                Some(id) => {
                    let mut cands = index.candidates(i, l);
                    if cands.is_empty() && Some(i) == own {
                        cands.extend(listed.get(&id).filter(|&&m| m != i));
                    }
                    let veth = l.kind.as_deref() == Some("veth");
                    pending.push((l.ifindex, id, target, cands, veth));
                }
            }
        }
        pending.retain(|(ifindex, _, target, cands, veth)| {
            let back = Far::Other {
                ns: i,
                ifindex: *ifindex,
            };
            let m = cands
                .iter()
                .find(|&&m| sure.contains(&(m, *target)) && far.get(&(m, *target)) == Some(&back));
            let Some(&m) = m.filter(|_| *veth) else {
                return true;
            };
            let end = Far::Other {
                ns: m,
                ifindex: *target,
            };
            far.insert((i, *ifindex), end);
            sure.insert((i, *ifindex));
            false
        });
        if pending.is_empty() {
            continue;
        }
        let asked;
        let by_nsid = if Some(i) == own && pending.iter().all(|p| listed.contains_key(&p.1)) {
            Some(&listed)
        } else {
            let wanted: BTreeSet<usize> =
                pending.iter().flat_map(|p| p.3.iter().copied()).collect();
            let kept = if Some(i) == own {
                open.own_sock.take()
            } else {
                None
            };
            asked = ask_nsids(spaces, i, &wanted, open, kept);
            asked.as_ref()
        };
        for (ifindex, id, target, cands, _) in pending {
            let end = settle(by_nsid, id, target, &cands);
            if by_nsid.is_some() && matches!(end, Far::Other { .. }) {
                sure.insert((i, ifindex));
            }
            far.insert((i, ifindex), end);
        }
    }
    w.far = far;
}

/// The far end of a link with NSID `id` to ifindex `target`, given the
/// kernel's NSID map (`None`: it could not be asked) and the candidates.
fn settle(by_nsid: Option<&HashMap<i32, usize>>, id: i32, target: u32, cands: &[usize]) -> Far {
    let unresolved = |ambiguous| Far::Unresolved {
        nsid: id,
        ifindex: target,
        ambiguous,
    };
    match by_nsid.map(|m| m.get(&id)) {
        Some(Some(&m)) if cands.contains(&m) => Far::Other {
            ns: m,
            ifindex: target,
        },
        // The kernel named no candidate: the far end is in a namespace
        // the scan did not find (or has no such interface).
        Some(_) => unresolved(false),
        // Not asked: a unique pair answers, several are ambiguous.
        None if cands.len() == 1 => Far::Other {
            ns: cands[0],
            ifindex: target,
        },
        None => unresolved(cands.len() > 1),
    }
}

/// In namespace `at`, the NSID it has for each of `wanted`, as
/// NSID -> namespace (RTM_GETNSID by fd, which never allocates); `None`
/// when the kernel could not be asked. `kept`: a socket already open in
/// `at` (the caller's own namespace's), else one is opened there.
fn ask_nsids(
    spaces: &[Namespace],
    at: usize,
    wanted: &BTreeSet<usize>,
    open: &mut Open,
    kept: Option<Socket>,
) -> Option<HashMap<i32, usize>> {
    let sock = match kept {
        Some(s) => s,
        None => {
            let f = open
                .files
                .get(&at)
                .map(File::try_clone)
                .and_then(Result::ok);
            socket_in(&f.or_else(|| spaces[at].open())?).ok()?
        }
    };
    let mut extra: Vec<(usize, File)> = Vec::new();
    for &m in wanted {
        if !open.files.contains_key(&m) {
            if let Some(f) = spaces[m].open() {
                extra.push((m, f));
            }
        }
    }
    let asked: Vec<(usize, i32)> = wanted
        .iter()
        .filter_map(|&m| {
            let f = open
                .files
                .get(&m)
                .or_else(|| extra.iter().find(|(i, _)| *i == m).map(|(_, f)| f))?;
            Some((m, f.as_raw_fd()))
        })
        .collect();
    let fds: Vec<i32> = asked.iter().map(|a| a.1).collect();
    let answers = crate::netlink::nsid::FdQuery::with_socket(sock)
        .query(&fds)
        .ok()?;
    let mut map = HashMap::new();
    for ((m, _), a) in asked.iter().zip(answers) {
        if let Ok(Some(id)) = a {
            map.insert(id, *m);
        }
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_nsid_wins_and_a_unique_pair_answers_only_without_it() {
        let map: HashMap<i32, usize> = [(3, 7)].into();
        let other = |ns| Far::Other { ns, ifindex: 9 };
        assert_eq!(settle(Some(&map), 3, 9, &[7, 8]), other(7));
        assert!(matches!(
            settle(Some(&map), 4, 9, &[8]),
            Far::Unresolved {
                ambiguous: false,
                ..
            }
        ));
        assert_eq!(settle(None, 4, 9, &[8]), other(8));
        assert!(matches!(
            settle(None, 4, 9, &[7, 8]),
            Far::Unresolved {
                ambiguous: true,
                ..
            }
        ));
    }
}
